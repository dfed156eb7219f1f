/*
 * Secure messaging core shared by the host (libmic) and the card (vcard):
 * GlobalPlatform SCP03-style protection of APDUs (Card Specification v2.3
 * Amendment D, "SCP03", clause 6.2) and the SCP11 key agreement (Amendment
 * F, "SCP11", clauses 3.1.2, 7.5 and 7.6) that sets it up. Not installed.
 *
 * Every primitive comes from OpenSSL 3 (EVP_MAC "CMAC", EVP_KDF "X963KDF",
 * EVP_CIPHER AES-ECB/CBC, EVP_PKEY ECDH). Nothing here is home-made crypto;
 * this file only arranges bytes the way the two amendments say.
 *
 * A mici_sm is one session, for one role. The host wraps commands and
 * unwraps responses; the card unwraps commands and wraps responses. Any MAC
 * or format failure closes the session for good: keys and chaining value
 * are wiped and every later call fails with MIC_ERR_SM_CLOSED. Because every
 * command MAC chains over the previous one (Amd D 6.2.4) and the encryption
 * counter moves with every command (6.2.6), a replayed, dropped or
 * reordered command fails its MAC on the card.
 */
#ifndef MIC_SM_INTERNAL_H
#define MIC_SM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include <mic/apdu.h>
#include <mic/err.h>
#include <mic/tx.h>

#define MICI_SM_BLOCK 16u      /**< AES block: padding unit, chaining value */
#define MICI_SM_MAC_LEN 8u     /**< "S8" mode: C-MAC and R-MAC are 8 bytes */
#define MICI_SM_KEY_MAX 32u    /**< AES-256 */
#define MICI_SM_CLA_SM 0x04u   /**< CLA b3: GlobalPlatform secure messaging */

/*
 * Security level, coded as the P1 of EXTERNAL AUTHENTICATE (Amd D 7.1.2).
 * SCP11 with key usage 3C asks for all four.
 */
#define MICI_SM_C_MAC 0x01u
#define MICI_SM_C_DEC 0x02u
#define MICI_SM_R_MAC 0x10u
#define MICI_SM_R_ENC 0x20u
#define MICI_SM_LEVEL_ALL (MICI_SM_C_MAC | MICI_SM_C_DEC | MICI_SM_R_MAC | \
    MICI_SM_R_ENC)

/*
 * The largest plain Nc a wrapped command can carry: padded to 65520 and
 * MACed, 65528 <= 65535. The same bound holds for response data.
 */
#define MICI_SM_NC_MAX 65519u

typedef enum mici_sm_role {
	MICI_SM_HOST = 1,  /**< wraps commands, unwraps responses */
	MICI_SM_CARD = 2,  /**< unwraps commands, wraps responses */
} mici_sm_role;

/** Session keys (Amd D 6.2.1; Amd F 3.1.2 derives them for SCP11). */
typedef struct mici_sm_keys {
	uint8_t enc[MICI_SM_KEY_MAX];   /**< S-ENC */
	uint8_t mac[MICI_SM_KEY_MAX];   /**< S-MAC */
	uint8_t rmac[MICI_SM_KEY_MAX];  /**< S-RMAC */
	uint8_t dek[MICI_SM_KEY_MAX];   /**< S-DEK (for key data, not APDUs) */
	size_t len;                     /**< 16, 24 or 32 */
} mici_sm_keys;

typedef struct mici_sm mici_sm;

/**
 * Start a session with @p keys, the first MAC chaining value @p chain (16
 * bytes: zeros after SCP03 INITIALIZE UPDATE, the receipt after SCP11) and
 * the security level @p level. The encryption counter starts at 0 and
 * moves to 1 with the first command (Amd D 6.2.6).
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL pointers, a key length other than
 *                                   16/24/32, or a level without C-MAC,
 *                                   or with R-ENC but no R-MAC and C-DEC
 * @retval MIC_ERR_NOMEM, MIC_ERR_UNSUPPORTED (OpenSSL lacks AES or CMAC)
 */
mic_rc mici_sm_new(mici_sm **out, mici_sm_role role, const mici_sm_keys *keys,
    const uint8_t chain[MICI_SM_BLOCK], unsigned level);

/** Wipe and free; set @p *sm to NULL. NULL-safe. */
void mici_sm_free(mici_sm **sm);

/** End the session: wipe keys and chaining value; later calls fail. */
void mici_sm_close(mici_sm *sm);

/** Is the session still usable? */
int mici_sm_is_open(const mici_sm *sm);

/**
 * For known-answer tests and the fuzz harness only: copy out the session
 * state. Any pointer may be NULL.
 */
void mici_sm_peek(const mici_sm *sm, mici_sm_keys *keys,
    uint8_t chain[MICI_SM_BLOCK], uint64_t *counter);

/**
 * Host: protect one logical command (before chaining). @p out gets
 * CLA | 04 and a data field of [AES-CBC(padded data)] || C-MAC written to
 * @p buf (at most @p cap bytes, and not overlapping @p in->data); Ne is
 * kept (Le is not part of the C-MAC, Amd D 6.2.4).
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL pointers or data NULL with nc > 0
 * @retval MIC_ERR_UNSUPPORTED       a CLA other than 00-03 or 80-83 (a CLA
 *                                   that already has SM or chaining bits)
 * @retval MIC_ERR_APDU_TOO_LONG     Nc > MICI_SM_NC_MAX
 * @retval MIC_ERR_BUFFER_TOO_SMALL  @p cap too small
 * @retval MIC_ERR_STATE             a card session
 * @retval MIC_ERR_SM_CLOSED         the session has ended
 * The errors above leave the session as it was; MIC_ERR_INTERNAL (an
 * OpenSSL failure) ends it.
 */
mic_rc mici_sm_wrap_command(mici_sm *sm, const mic_apdu *in, mic_apdu *out,
    uint8_t *buf, size_t cap);

/**
 * Host: check and strip the protection of the whole response to the last
 * wrapped command: @p len data bytes at @p rsp and status word @p sw. The
 * plain data goes to @p out.
 * An error status word (anything but 9000, 62xx, 63xx) comes without
 * protection and without data (Amd D 6.2.5).
 * @retval MIC_ERR_SM_MAC            R-MAC wrong: the session is closed
 * @retval MIC_ERR_SM_FORMAT         too short, not whole blocks, bad
 *                                   padding, data with an error SW: closed
 * @retval MIC_ERR_BUFFER_TOO_SMALL  the plain data does not fit @p cap; the
 *                                   response verified and the session stays
 * @retval MIC_ERR_STATE             no command outstanding, or a card session
 * @retval MIC_ERR_SM_CLOSED
 */
mic_rc mici_sm_unwrap_response(mici_sm *sm, const uint8_t *rsp, size_t len,
    uint16_t sw, uint8_t *out, size_t cap, size_t *out_len);

/**
 * Card: verify and strip the protection of one whole command (chaining
 * already undone, so @p in->cla has no chaining bit). The plain data goes
 * to @p buf; @p out->cla loses the SM bit.
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL pointers, or a CLA without the SM
 *                                   bit (the caller decides what an
 *                                   unprotected command means); no change
 * @retval MIC_ERR_SM_MAC            C-MAC wrong (also a replayed or
 *                                   reordered command): session closed
 * @retval MIC_ERR_SM_FORMAT         no room for a MAC, not whole blocks, bad
 *                                   padding, a CLA with other SM bits: closed
 * @retval MIC_ERR_BUFFER_TOO_SMALL  the plain data does not fit @p cap; the
 *                                   command counts (answer it with an error
 *                                   status word through wrap_response)
 * @retval MIC_ERR_STATE             a host session
 * @retval MIC_ERR_SM_CLOSED
 */
mic_rc mici_sm_unwrap_command(mici_sm *sm, const mic_apdu *in, mic_apdu *out,
    uint8_t *buf, size_t cap);

/**
 * Card: protect the response to the last unwrapped command. @p out gets
 * the whole response APDU: [AES-CBC(padded data)] || R-MAC || SW1 SW2, or
 * only SW1 SW2 for an error status word (its data, if any, is dropped).
 * @retval MIC_ERR_APDU_TOO_LONG     @p len > MICI_SM_NC_MAX
 * @retval MIC_ERR_BUFFER_TOO_SMALL  @p cap too small
 * @retval MIC_ERR_STATE             no command unwrapped, or a host session
 * @retval MIC_ERR_SM_CLOSED
 */
mic_rc mici_sm_wrap_response(mici_sm *sm, const uint8_t *data, size_t len,
    uint16_t sw, uint8_t *out, size_t cap, size_t *out_len);

/**
 * Does @p sw come without secure messaging (Amd D 6.2.5: every SW but
 * 9000 and the warnings 62xx and 63xx)?
 */
int mici_sm_sw_is_error(uint16_t sw);

/**
 * The mic_tx_t layer for a host session: wrap and unwrap as above, close
 * frees the mici_sm. Install with mic_tx_set_sm(tx, ops, sm).
 */
const mic_tx_sm_ops *mici_sm_host_ops(void);

/* --- primitives, through OpenSSL ------------------------------------------ */

/**
 * AES-CMAC (NIST SP 800-38B, RFC 4493) of @p a || @p b with a 16, 24 or
 * 32 byte key, full 16-byte output.
 */
mic_rc mici_aes_cmac(const uint8_t *key, size_t key_len, const uint8_t *a,
    size_t a_len, const uint8_t *b, size_t b_len, uint8_t mac[MICI_SM_BLOCK]);

/** ANSI X9.63 KDF with SHA-256 (the one SCP11 uses, Amd F 3.1.2). */
mic_rc mici_x963_sha256(const uint8_t *z, size_t z_len, const uint8_t *info,
    size_t info_len, uint8_t *out, size_t out_len);

/* --- SCP11 (Amendment F) -------------------------------------------------- */

#define MICI_SCP11_KID_A 0x11u    /**< Amd F 7.1.1: key identifier for SCP11a */
#define MICI_SCP11_KID_B 0x13u    /**< ... and for SCP11b */
#define MICI_SCP11_INS_MUTUAL_AUTH 0x82u
#define MICI_SCP11_INS_INTERNAL_AUTH 0x88u
#define MICI_SCP11_INS_PSO 0x2Au
#define MICI_SCP11_PSO_MORE 0x80u /**< PSO P2 b8: more certificates follow */
#define MICI_SCP11_POINT_LEN 65u  /**< uncompressed P-256 point */
#define MICI_SCP11_RECEIPT_LEN 16u
/** A6 (15 bytes) and 5F49 (3 + 65) */
#define MICI_SCP11_AUTH_DATA_LEN 83u
/** 5F49 (3 + 65) and 86 (2 + 16) */
#define MICI_SCP11_AUTH_RSP_LEN 86u

typedef enum mici_scp11_variant {
	MICI_SCP11B = 0x00,  /**< card authentication only */
	MICI_SCP11A = 0x01,  /**< mutual, with the OCE certificate chain */
} mici_scp11_variant;

/**
 * The data field of INTERNAL AUTHENTICATE (11b) or MUTUAL AUTHENTICATE
 * (11a), Amd F 7.6.2.3:
 *   A6 0D { 90 02 11 0v, 95 01 3C, 80 01 88, 81 01 10 } 5F49 41 ePK.OCE.ECKA
 * @retval MIC_ERR_INVALID_ARGUMENT  not a P-256 key
 * @retval MIC_ERR_BUFFER_TOO_SMALL  @p cap < MICI_SCP11_AUTH_DATA_LEN
 */
mic_rc mici_scp11_auth_data(mici_scp11_variant v, EVP_PKEY *epk_oce,
    uint8_t *buf, size_t cap, size_t *len);

/**
 * Host: check the card's answer @p rsp (5F49 ePK.SD.ECKA, 86 receipt) to
 * the authenticate command whose data field was @p cmd, and start the
 * session (Amd F 3.1.2):
 *   ShSee = ECDH(eSK.OCE, ePK.SD), ShSes = ECDH(SK.OCE, PK.SD)
 * with SK.OCE = @p sk_oce for 11a and eSK.OCE for 11b (@p sk_oce NULL).
 * @retval MIC_ERR_RESPONSE          the answer is not 5F49 41 .. 86 10 ..
 * @retval MIC_ERR_SM_AUTH           the receipt is wrong, or the card's point
 *                                   is not on the curve
 * @retval MIC_ERR_INVALID_ARGUMENT  keys missing, not P-256, or @p cmd not
 *                                   an authenticate data field of @p v
 */
mic_rc mici_scp11_host_session(mici_scp11_variant v, EVP_PKEY *esk_oce,
    EVP_PKEY *sk_oce, EVP_PKEY *pk_sd, const uint8_t *cmd, size_t cmd_len,
    const uint8_t *rsp, size_t rsp_len, mici_sm **out);

/**
 * Card: answer an INTERNAL AUTHENTICATE (11b) or MUTUAL AUTHENTICATE (11a)
 * whose data field is @p cmd, and start the card's session:
 *   ShSee = ECDH(eSK.SD, ePK.OCE), ShSes = ECDH(SK.SD, PK.OCE)
 * with PK.OCE = @p pk_oce (11a: from the certificate chain the card has
 * verified) or ePK.OCE (11b: @p pk_oce NULL). @p esk_sd is the card's
 * ephemeral key; NULL generates one (only tests pass a fixed key).
 * @p rsp gets the response data (without SW), MICI_SCP11_AUTH_RSP_LEN bytes.
 * @retval MIC_ERR_SM_FORMAT  the data field is not the one of 7.6.2.3, or
 *                            asks for parameters other than 11a/11b, key
 *                            usage 3C, AES, 16-byte keys (the card answers
 *                            6A80)
 * @retval MIC_ERR_SM_AUTH    ePK.OCE is not a valid P-256 point (6A80)
 */
mic_rc mici_scp11_card_session(mici_scp11_variant v, EVP_PKEY *sk_sd,
    EVP_PKEY *pk_oce, EVP_PKEY *esk_sd, const uint8_t *cmd, size_t cmd_len,
    uint8_t *rsp, size_t cap, size_t *rsp_len, mici_sm **out);

/** Is @p pkey an EC key on P-256 (the default suite, card-profile 4.1)? */
int mici_scp11_key_ok(EVP_PKEY *pkey);

/** The uncompressed point of a P-256 key. */
mic_rc mici_scp11_point(EVP_PKEY *pkey, uint8_t point[MICI_SCP11_POINT_LEN]);

#endif
