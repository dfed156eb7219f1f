/*
 * libmic: the card-signed receipt of a DEBIT or CREDIT
 * (docs/card-profile.md section 3.11), and the settlement file a terminal
 * keeps of them (docs/settlement.md).
 *
 * A receipt is the 89-byte message the card signs followed by the card's
 * DER signature; mic_receipt_from_card() builds it from what a terminal
 * sent and got, mic_receipt_decode() from those bytes, and
 * mic_receipt_verify() checks it against the card certificate (EF.CERT)
 * and a trust store, as a settlement back office does.
 */
#ifndef MIC_RECEIPT_H
#define MIC_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

#include <mic/err.h>
#include <mic/pki.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The DEBIT / CREDIT command data: amount, time, terminal, reference, payer. */
#define MIC_RECEIPT_CMD_LEN 40
/** The signed message: "MICR" || card id || counter || type || ... || payer. */
#define MIC_RECEIPT_MSG_LEN 89
/** The longest encoded receipt: the message and a DER P-256 signature. */
#define MIC_RECEIPT_MAX (MIC_RECEIPT_MSG_LEN + 72)
/** The card identification code (an32). */
#define MIC_RECEIPT_CARD_ID_LEN 32
#define MIC_RECEIPT_TERMINAL_LEN 8
#define MIC_RECEIPT_REF_LEN 16

typedef enum mic_receipt_type {
	MIC_RECEIPT_DEBIT = 0x01,   /**< a payment (DEBIT) */
	MIC_RECEIPT_CREDIT = 0x02,  /**< the agency's allocation (CREDIT) */
} mic_receipt_type;

typedef struct mic_receipt mic_receipt_t;

/**
 * The receipt of one DEBIT or CREDIT, from the card identification code
 * @p card_id (32 characters, EF.CARD tag 80), the @p type, the 40 bytes of
 * command data the terminal sent and the card's response data @p rsp
 * (counter b4 || balance after b8 || DER signature, status word removed).
 * Nothing is verified here but the form; see mic_receipt_verify().
 * @retval MIC_ERR_RECEIPT_FORMAT    a field is malformed (amount not > 0,
 *                                   a time that is no real date, a
 *                                   terminal id not printable, a type,
 *                                   a payer or a length the profile does
 *                                   not allow, a balance above INT64_MAX)
 * @retval MIC_ERR_INVALID_ARGUMENT  a NULL argument
 */
mic_rc mic_receipt_from_card(mic_receipt_t **out, const char *card_id,
    mic_receipt_type type, const uint8_t cmd[MIC_RECEIPT_CMD_LEN],
    const uint8_t *rsp, size_t rsp_len);

/**
 * A receipt from its encoding (mic_receipt_encoding()): the 89-byte
 * signed message followed by the DER signature, nothing after it.
 * @retval MIC_ERR_RECEIPT_FORMAT  as for mic_receipt_from_card(), or the
 *                                 magic is not "MICR", or the signature
 *                                 is not one DER SEQUENCE
 */
mic_rc mic_receipt_decode(mic_receipt_t **out, const uint8_t *buf,
    size_t len);

void mic_receipt_free(mic_receipt_t **r);

/** The encoding: the signed message, then the signature. */
const uint8_t *mic_receipt_encoding(const mic_receipt_t *r, size_t *len);
/** The 89 bytes the card signed (SHA-256, ECDSA). */
const uint8_t *mic_receipt_message(const mic_receipt_t *r);
const uint8_t *mic_receipt_signature(const mic_receipt_t *r, size_t *len);

/** The card identification code, NUL-terminated. */
const char *mic_receipt_card_id(const mic_receipt_t *r);
mic_receipt_type mic_receipt_get_type(const mic_receipt_t *r);
/** The card's transaction counter after this operation. */
uint32_t mic_receipt_counter(const mic_receipt_t *r);
/** Amount in fen, > 0. */
int64_t mic_receipt_amount(const mic_receipt_t *r);
/** Balance after the operation, in fen. */
int64_t mic_receipt_balance(const mic_receipt_t *r);
/** Date and time the terminal sent, "YYYYMMDDhhmmss", NUL-terminated. */
const char *mic_receipt_time(const mic_receipt_t *r);
/** Terminal id (an8), NUL-terminated. */
const char *mic_receipt_terminal(const mic_receipt_t *r);
/** The transaction reference, MIC_RECEIPT_REF_LEN bytes. */
const uint8_t *mic_receipt_reference(const mic_receipt_t *r);
/** 0: the holder; 1-255: the EF.FAMILY record of the member who paid. */
uint8_t mic_receipt_payer(const mic_receipt_t *r);

/**
 * Verify @p r for settlement: @p cert (EF.CERT, DER, trailing padding
 * ignored) chains to @p trust as a card certificate and names the
 * receipt's card (mic_cardcert_verify()), and its key signed the receipt.
 * @retval MIC_OK                     the card named in the receipt signed
 *                                    exactly this receipt
 * @retval MIC_ERR_RECEIPT_SIGNATURE  the signature does not verify: the
 *                                    receipt was altered or forged, or
 *                                    another card signed it
 * @retval MIC_ERR_CERT_SUBJECT       the certificate is another card's
 * @retval MIC_ERR_UNSUPPORTED        the card key is an SM2 key: profile
 *                                    3.11 defines ECDSA P-256 receipts only
 * plus the errors of mic_cardcert_verify().
 */
mic_rc mic_receipt_verify(const mic_receipt_t *r, const mic_trust_t *trust,
    const uint8_t *cert, size_t cert_len);

/*
 * The settlement file (docs/settlement.md): JSON Lines, one receipt and
 * its card certificate a line, appended by the terminal and uploaded at
 * the end of the day.
 */

/**
 * Append @p r and the card certificate @p cert (EF.CERT; padding after the
 * DER is dropped) as one line to the settlement file @p path, created
 * 0600 if missing, and fsync it (and the directory when the file is new)
 * before returning. The file must be a regular file of this user that
 * nobody else may use (no symlink), as every private file of libmic.
 * @p why (may be NULL) gets the reason of a refusal.
 * @retval MIC_ERR_KEY_PERMISSIONS  a symlink, another user's file, or a
 *                                  mode wider than 0600
 * @retval MIC_ERR_CERT_FORMAT      @p cert is not one DER certificate
 * @retval MIC_ERR_IO               the write or the fsync failed
 */
mic_rc mic_settle_append(const char *path, const mic_receipt_t *r,
    const uint8_t *cert, size_t cert_len, char *why, size_t cap);

/** The longest settlement line accepted, newline excluded. */
#define MIC_SETTLE_LINE_MAX 8192

/**
 * Parse one line (without its newline) of a settlement file.
 * On success @p *r is the receipt, @p cert (capacity @p cap, at least
 * MIC_CERT_MAX) its card certificate's DER. @p why (may be NULL) says
 * which field is wrong.
 * @retval MIC_ERR_SETTLE_LINE  not a line of the format: JSON, a missing,
 *                              unknown or repeated field, bad hex, a
 *                              version other than 1, "card" or
 *                              "terminal" other than the receipt's
 * plus MIC_ERR_RECEIPT_FORMAT from mic_receipt_decode().
 */
mic_rc mic_settle_parse_line(const char *line, size_t len,
    mic_receipt_t **r, uint8_t *cert, size_t cap, size_t *cert_len,
    char *why, size_t why_cap);

/** A settlement file read line by line. */
typedef struct mic_settle mic_settle_t;

/**
 * Open a settlement file for reading (an uploaded file need not be ours).
 * @retval MIC_ERR_NOT_FOUND  no such file
 * @retval MIC_ERR_IO         it cannot be read
 */
mic_rc mic_settle_open(mic_settle_t **s, const char *path);

/**
 * The next line: its number (from 1) in @p *line, and, as
 * mic_settle_parse_line(), its receipt and card certificate.
 * @retval MIC_ERR_NOT_FOUND    no more lines
 * @retval MIC_ERR_SETTLE_LINE  this line is malformed (@p why says how),
 *                              or the last line has no newline (torn);
 *                              the next call reads the following line
 * plus the errors of mic_settle_parse_line().
 */
mic_rc mic_settle_next(mic_settle_t *s, mic_receipt_t **r, uint8_t *cert,
    size_t cap, size_t *cert_len, size_t *line, char *why, size_t why_cap);

void mic_settle_free(mic_settle_t **s);

#ifdef __cplusplus
}
#endif
#endif
