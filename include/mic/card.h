/*
 * libmic: reading a MIC card over a transport.
 *
 * A mic_card_t is the MIC application on one card, reached through a
 * mic_tx_t that the caller owns and keeps open for the card's lifetime.
 * It speaks only what docs/card-profile.md specifies: one SELECT by AID,
 * then READ BINARY and READ RECORD by short file identifier, never a
 * probing SELECT; mic_card_verify() and mic_card_authenticate() add GET
 * DATA and SCP11b or SCP11a.
 *
 * Privacy (card profile 4.3, docs/privacy.md): in plain, a card gives
 * anyone EF.CARD, EF.CERT and EF.SOD only. The holder's files (EF.HOLDER,
 * EF.INSURANCE, EF.ACTIVATION, and the private ones) need an SCP11a
 * channel of a terminal (mic_card_authenticate() with a mic_terminal_t) or
 * the holder's PIN (mic_card_verify_pin()); without either the card
 * answers MIC_SW_SECURITY_STATUS (6982). libmic flags those reads
 * MIC_APDU_PERSONAL, so a trace hook sees no byte of them by default.
 *
 * The card installs a reset hook on the transport. After another
 * application reset the card, the transport reconnects and calls it; the
 * hook selects the application again, reads the FCI and compares the chip
 * serial, so a different card is refused with MIC_ERR_CARD_CHANGED, and a
 * PIN verified before the reset is reported with MIC_ERR_CARD_RESET rather
 * than lost silently. Only one mic_card_t may use a mic_tx_t at a time.
 *
 * A status word other than 9000 comes back as its mic_rc (mic_sw_rc()), e.g.
 * MIC_SW_SECURITY_STATUS when EF.ACCOUNT is read without the PIN. Besides
 * the errors listed per function, every function that talks to the card may
 * return the transport's errors (see mic_tx_transmit()).
 */
#ifndef MIC_CARD_H
#define MIC_CARD_H

#include <stddef.h>
#include <stdint.h>

#include <mic/err.h>
#include <mic/keyprov.h>
#include <mic/pki.h>
#include <mic/profile.h>
#include <mic/receipt.h>
#include <mic/tx.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mic_card mic_card_t;

/** What mic_card_read() reads. */
#define MIC_READ_CARD 0x01u       /**< EF.CARD */
#define MIC_READ_HOLDER 0x02u     /**< EF.HOLDER */
#define MIC_READ_INSURANCE 0x04u  /**< EF.INSURANCE */
/** The files anyone may read, without PIN or secure channel. */
#define MIC_READ_PUBLIC MIC_READ_CARD
/** The holder's files: SCP11a with any role, or the PIN (profile 4.3). */
#define MIC_READ_PERSONAL (MIC_READ_HOLDER | MIC_READ_INSURANCE)
/** Everything mic_card_read() can read. */
#define MIC_READ_ALL (MIC_READ_PUBLIC | MIC_READ_PERSONAL)

#define MIC_PIN_MIN 6   /**< fewest PIN digits */
#define MIC_PIN_MAX 12  /**< most PIN digits */

/**
 * Select the MIC application (SELECT by AID, P2 00: one APDU), parse its
 * FCI and install the reset hook on @p tx. @p tx is borrowed: it must
 * outlive the card, and mic_card_free() does not close it.
 * @param out  receives the card; NULL on failure
 * @retval MIC_OK                    selected; the state and chip serial are known
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL @p out or @p tx
 * @retval MIC_ERR_NOMEM             out of memory
 * @retval MIC_SW_FILE_NOT_FOUND     no MIC application on the card
 * @retval MIC_RC_SW(sw)             any other status word than 9000, 6283, 6285
 * @retval MIC_ERR_RESPONSE          the FCI names another AID, or its state
 *                                   contradicts the status word (9000 for
 *                                   blank or active, 6283 for personalized
 *                                   or blocked, 6285 for terminated)
 * plus every error of mic_fci_decode() for a malformed FCI.
 */
mic_rc mic_card_open(mic_card_t **out, mic_tx_t *tx);

/**
 * Remove the reset hook from the transport, wipe and free the card, and set
 * @p *card to NULL. The transport stays open. NULL-safe.
 */
void mic_card_free(mic_card_t **card);

/**
 * Read the first @p size bytes of the file with short identifier @p sfi
 * of the selected application (after mic_card_open(), or a SELECT):
 * READ BINARY by SFI for the first part, then by offset in P1-P2, as many
 * commands as the path needs (one with extended length, 256 bytes each
 * otherwise). For passive authentication and read-back, which need the
 * files as the card holds them, padding included.
 * @retval MIC_OK
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL, an SFI not 1-30, or @p size over
 *                                   32768 (P1-P2 offsets end there)
 * @retval MIC_ERR_RESPONSE          the card answered no data
 * plus the errors of mic_tx_command().
 */
mic_rc mic_card_read_file(mic_tx_t *tx, uint8_t sfi, uint8_t *buf,
    size_t size);

/**
 * Read the DER object at the start of the transparent file @p sfi and
 * nothing after it: the first part (at most 256 bytes) by SFI, then, by
 * offset, up to the end its length field names. For EF.SOD, whose object
 * is about half the file: the padding after it is never read. @p cap
 * should not exceed the file's size (the first command asks for up to
 * @p cap bytes, and a card may answer a request past the end with 6282).
 * @param len  receives the object's length, header included
 * @retval MIC_OK
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL, an SFI not 1-30, or @p cap under 4
 *                                   or over 32768
 * @retval MIC_ERR_RESPONSE          the file does not start with a DER
 *                                   SEQUENCE (30) whose definite length fits
 *                                   in @p cap, or the card answered no data
 * plus the errors of mic_tx_command().
 */
mic_rc mic_card_read_der(mic_tx_t *tx, uint8_t sfi, uint8_t *buf, size_t cap,
    size_t *len);

/** The lifecycle state of the last FCI (at open or after a reset); 0 for NULL. */
mic_state mic_card_state(const mic_card_t *card);

/**
 * Copy the chip serial, which identifies the chip for life.
 * @retval MIC_OK
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL pointers
 * @retval MIC_ERR_BUFFER_TOO_SMALL  @p cap < MIC_CHIP_SERIAL_LEN
 */
mic_rc mic_card_chip_serial(const mic_card_t *card, uint8_t *out, size_t cap);

/**
 * Read and decode the files named by @p what (MIC_READ_*) with one READ
 * BINARY by SFI each, all inside one transaction. Either every file is read
 * and decoded and the card's objects are replaced, or none is.
 * @retval MIC_OK
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL @p card, or @p what empty or with
 *                                   bits outside MIC_READ_ALL
 * @retval MIC_ERR_NOMEM             out of memory
 * @retval MIC_SW_CONDITIONS         the card is blank or terminated
 * @retval MIC_SW_SECURITY_STATUS    MIC_READ_PERSONAL without an SCP11a
 *                                   channel or the PIN
 * @retval MIC_RC_SW(sw)             another status word than 9000 or 6282
 * plus every error of the decoders (MIC_ERR_NOT_FOUND for a file never
 * written, MIC_ERR_TEMPLATE, MIC_ERR_IDNUM_CHECK, ...).
 */
mic_rc mic_card_read(mic_card_t *card, unsigned what);

/** EF.CARD as last read by mic_card_read(), owned by the card; NULL before. */
const mic_cardinfo_t *mic_card_info(const mic_card_t *card);
/** EF.HOLDER as last read, owned by the card; NULL before. */
const mic_holder_t *mic_card_holder(const mic_card_t *card);
/** EF.INSURANCE as last read, owned by the card; NULL before. */
const mic_insurance_t *mic_card_insurance(const mic_card_t *card);

/**
 * The checks of mic_card_verify(), in the order it runs them. A card is
 * genuine when all pass (docs/card-profile.md 4.6): the first three
 * authenticate the chip, the last two the data.
 */
typedef enum mic_card_check {
	MIC_CHECK_NONE = 0,        /**< nothing failed */
	MIC_CHECK_CHIP_CERT = 1,   /**< GET DATA BF21: CERT.SD.ECKA is there and chains to the trust store */
	MIC_CHECK_CHIP_SERIAL = 2, /**< CERT.SD.ECKA's serialNumber is the FCI's chip serial */
	MIC_CHECK_CHIP_KEY = 3,    /**< SCP11b (SCP11a with a terminal): the chip holds the private key of CERT.SD.ECKA */
	MIC_CHECK_READ = 4,        /**< reading EF.CARD, EF.CERT, EF.SOD (and in SCP11a EF.HOLDER, EF.INSURANCE) */
	MIC_CHECK_SOD = 5,         /**< EF.SOD: its signer, the chip serial it binds, every file's hash */
	MIC_CHECK_CARD_CERT = 6,   /**< EF.CERT: its chain, and it names EF.CARD's identification code */
} mic_card_check;

/**
 * What @p check verifies, in a few words ("CERT.SD.ECKA", "EF.SOD", ...);
 * "?" for a value not in mic_card_check.
 */
const char *mic_card_check_name(mic_card_check check);

/**
 * Is this card genuine? Chip authentication, then passive authentication,
 * against @p trust, in one transaction:
 *   1. GET DATA BF21 gives CERT.SD.ECKA, which shall verify as a card
 *      certificate against @p trust;
 *   2. its subject serialNumber shall be the chip serial of the FCI, as 16
 *      upper-case hex digits in a PrintableString;
 *   3. SCP11b with its key (KVN 01): the chip proves it holds the private
 *      key, so the serial is this chip's and not a copy's;
 *   4. inside that channel (every response MACed by the chip), EF.CARD
 *      and EF.CERT whole, and EF.SOD to its DER length;
 *   5. mic_sod_verify() with the FCI's chip serial: the issuer's document
 *      signer bound those files to this chip. An anonymous SCP11b channel
 *      may not read EF.HOLDER and EF.INSURANCE (card profile 4.3), so their
 *      hashes are NOT checked here: mic_card_verify_terminal() checks them;
 *   6. mic_cardcert_verify() of EF.CERT with EF.CARD's identification code.
 * On MIC_OK the SCP11b channel stays open on the card's transport, so what
 * the caller reads next also comes from the authenticated chip;
 * mic_scp_close() goes on in plain. On failure no channel is left open.
 *
 * A bit-exact copy of a whole chip, its private key included, passes: no
 * card protocol can tell it from the original. Settlement catches it, by
 * two receipts with one card identification code and one transaction
 * counter (docs/card-profile.md 4.6).
 *
 * @param failed  receives the check that failed, MIC_CHECK_NONE on MIC_OK
 *                (and for an invalid argument); may be NULL
 * @retval MIC_OK                    the chip and its data are genuine
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL @p card or @p trust
 * @retval MIC_ERR_NOMEM             out of memory
 * and, with @p failed:
 *   MIC_CHECK_CHIP_CERT    MIC_SW_REFDATA_NOT_FOUND (6A88, no SCP11 key) or
 *                          another status word, MIC_ERR_RESPONSE (not one
 *                          BF21), the errors of mic_cert_verify()
 *   MIC_CHECK_CHIP_SERIAL  MIC_ERR_CERT_SUBJECT
 *   MIC_CHECK_CHIP_KEY     MIC_ERR_SM_AUTH (the receipt does not verify:
 *                          not the chip that holds the key), a status word,
 *                          MIC_ERR_RESPONSE, MIC_ERR_UNSUPPORTED (the
 *                          certified key is not P-256, the only SCP11
 *                          suite implemented)
 *   MIC_CHECK_READ         a status word or transport error
 *   MIC_CHECK_SOD          the errors of mic_sod_verify(); MIC_ERR_SOD_FORMAT
 *                          also when EF.SOD does not start with a DER object
 *   MIC_CHECK_CARD_CERT    the errors of mic_cardinfo_decode() for EF.CARD,
 *                          and of mic_cardcert_verify()
 */
mic_rc mic_card_verify(mic_card_t *card, const mic_trust_t *trust,
    mic_card_check *failed);

/**
 * A terminal's credentials, from a terminal's trust store (docs/pki.md
 * 5.1, 'mic pki export-terminal'): DIR/roots and DIR/intermediates, and
 * DIR/terminal/cert.pem with key.pem or key.uri. The certificate shall
 * verify as a terminal's against that store; the chain a card gets is
 * built from DIR/intermediates up to the root (the card holds the root).
 */
typedef struct mic_terminal mic_terminal_t;

/**
 * Load a terminal's credentials from @p dir.
 * @param pin_cb  asks for a token PIN (key.uri); may be NULL
 * @retval MIC_OK
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL @p out or @p dir
 * @retval MIC_ERR_NOT_FOUND         no DIR/terminal/cert.pem or no key
 * @retval MIC_ERR_NOMEM             out of memory
 * plus the errors of mic_trust_load(), mic_keyprov_open_ex(), and of
 * mic_cert_verify() for a certificate that is not a terminal's.
 */
mic_rc mic_terminal_load(mic_terminal_t **out, const char *dir,
    mic_pin_cb *pin_cb, void *pin_arg);

/** Wipe and free, and set @p *t to NULL. NULL-safe. */
void mic_terminal_free(mic_terminal_t **t);

/** The role of the terminal's certificate; 0 for NULL. */
mic_role mic_terminal_role(const mic_terminal_t *t);

/** The trust store loaded with the terminal, owned by it; NULL for NULL. */
const mic_trust_t *mic_terminal_trust(const mic_terminal_t *t);

/**
 * mic_card_verify() as a terminal: checks 1-2, then SCP11a with @p term's
 * chain and key (whose receipt is check 3), then inside that channel
 * EF.CARD, EF.HOLDER, EF.INSURANCE and EF.CERT whole and EF.SOD to its DER
 * length, and checks 5-6 over all of them: every file's hash. @p trust
 * NULL uses the terminal's own store. On MIC_OK the SCP11a channel stays
 * open, with the terminal's role. Errors as mic_card_verify(), and
 * MIC_ERR_INVALID_ARGUMENT for a NULL @p term.
 */
mic_rc mic_card_verify_terminal(mic_card_t *card, const mic_trust_t *trust,
    const mic_terminal_t *term, mic_card_check *failed);

/**
 * Checks 1-3 of mic_card_verify() only, and leave the channel open: SCP11a
 * with @p term (then the holder's files may be read), or SCP11b with
 * @p term NULL (the public files only, protected). @p trust NULL uses the
 * terminal's store. On failure no channel is left open.
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL @p card, or no trust store
 * and the errors of checks 1-3 of mic_card_verify().
 */
mic_rc mic_card_authenticate(mic_card_t *card, const mic_trust_t *trust,
    const mic_terminal_t *term, mic_card_check *failed);

/**
 * VERIFY the PIN (reference 81) with an ISO 9564-1 format 2 PIN block. The
 * APDU is flagged MIC_APDU_SENSITIVE, and the block is wiped after use. With
 * @p pin NULL, VERIFY without data asks whether the PIN is verified; it
 * costs no try. On a reader with a PIN pad (mic_tx_has_pinpad()),
 * mic_card_verify_pin_pad() keeps the PIN off the host altogether.
 * @param pin         6-12 decimal digits, or NULL to ask
 * @param tries_left  receives the tries left after 63Cx, 0 after 6983, and
 *                    -1 when the card did not say; may be NULL
 * @retval MIC_OK                    verified
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL @p card, or a PIN that is not
 *                                   6-12 digits (nothing sent)
 * @retval MIC_ERR_PIN_WRONG         wrong PIN (63Cx, x > 0): @p tries_left
 *                                   says how many tries are left
 * @retval MIC_ERR_PIN_BLOCKED       the PIN is blocked (6983), or this wrong
 *                                   PIN used the last try (63C0)
 * @retval MIC_RC_SW(0x63Cx)         asked with @p pin NULL: not verified,
 *                                   x tries left
 * @retval MIC_ERR_CARD_NOT_ACTIVE   6985 from a personalized card (VERIFY
 *                                   needs an active card, profile 4.3)
 * @retval MIC_ERR_CARD_BLOCKED      6985 from a blocked card
 * @retval MIC_ERR_CARD_TERMINATED   6985 from a terminated card
 * @retval MIC_SW_WRONG_DATA         the card found the PIN block malformed
 */
mic_rc mic_card_verify_pin(mic_card_t *card, const char *pin, int *tries_left);

/**
 * VERIFY the PIN typed on the reader's PIN pad (PC/SC part 10
 * FEATURE_VERIFY_PIN_DIRECT): the reader builds the format 2 block and
 * sends the APDU itself, so the PIN never passes through the host, nor
 * through the trace hook. The holder has 30 seconds; 6 to 12 digits.
 *
 * Inside a secure channel the reader's VERIFY goes in plain: the host's
 * layer cannot protect what it never sees. The card profile allows that
 * (VERIFY stays in clear, 3.6; a plain command leaves the channel open,
 * 4.2), and the PIN verified this way counts for the session, DEBIT
 * included. The channel stays as it was; after a lost channel
 * (MIC_TX_SM_LOST) nothing is sent, as with every command.
 * @param tries_left  as for mic_card_verify_pin()
 * @retval MIC_OK                    verified
 * @retval MIC_ERR_UNSUPPORTED       the reader has no pad (mic_tx_has_pinpad()
 *                                   is 0): nothing sent; ask for the PIN
 *                                   and call mic_card_verify_pin()
 * @retval MIC_ERR_TIMEOUT           nobody typed in time (reader: 6400)
 * @retval MIC_ERR_CANCELLED         the holder pressed Cancel (6401)
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL @p card, or the reader found the
 *                                   PIN's length out of range (6403)
 * @retval MIC_ERR_SM_CLOSED         a secure channel was lost earlier
 * @retval MIC_ERR_RESPONSE          the reader's answer is not a status word
 * plus the card's answers as for mic_card_verify_pin() with a PIN
 * (MIC_ERR_PIN_WRONG, MIC_ERR_PIN_BLOCKED, the 6985 states, ...). The
 * first three cost no try.
 */
mic_rc mic_card_verify_pin_pad(mic_card_t *card, int *tries_left);

/** Did the last mic_card_verify_pin() succeed, with no reset or SELECT since? */
int mic_card_pin_verified(const mic_card_t *card);

/**
 * Read EF.ACCOUNT into @p acct (after the PIN, or in an SCP11a channel).
 * @retval MIC_OK
 * @retval MIC_SW_SECURITY_STATUS  neither PIN nor SCP11a channel
 * plus every error of mic_account_decode().
 */
mic_rc mic_card_read_account(mic_card_t *card, mic_account_t *acct);

/**
 * Read EF.ACTIVATION into @p act (after the PIN, or in an SCP11a channel).
 * @retval MIC_OK
 * @retval MIC_SW_SECURITY_STATUS  neither PIN nor SCP11a channel
 * @retval MIC_ERR_NOT_FOUND  the card was never activated (the file is all 00)
 * plus every error of mic_activation_decode().
 */
mic_rc mic_card_read_activation(mic_card_t *card, mic_activation_t *act);

/**
 * Read EF.LOG record @p index (1 is the newest) into @p rec.
 * @retval MIC_OK
 * @retval MIC_ERR_INVALID_ARGUMENT  @p index outside 1-MIC_LOG_RECORDS (nothing sent)
 * @retval MIC_SW_RECORD_NOT_FOUND   no transaction logged there yet
 * @retval MIC_SW_SECURITY_STATUS    neither PIN nor SCP11a channel
 * plus every error of mic_logrec_decode().
 */
mic_rc mic_card_read_log(mic_card_t *card, unsigned index, mic_logrec_t *rec);

/**
 * Read EF.FAMILY record @p record into @p m.
 * @retval MIC_OK
 * @retval MIC_ERR_INVALID_ARGUMENT  @p record outside 1-MIC_FAMILY_RECORDS (nothing sent)
 * @retval MIC_ERR_NOT_FOUND         a free record: no member bound there
 * @retval MIC_SW_SECURITY_STATUS    neither PIN nor SCP11a channel
 * plus every error of mic_member_decode().
 */
mic_rc mic_card_read_family(mic_card_t *card, unsigned record, mic_member_t *m);

/*
 * Paying at the counter (card profile 3.11): a payment is fixed before the
 * first DEBIT is sent, and a resend is the same 40 bytes, so a card pulled
 * or a power cut before the receipt arrived is resumed by presenting the
 * card again and calling mic_card_pay() with the same mic_payment: the card
 * returns the receipt of the DEBIT it already did, never a second debit.
 *
 *   mic_payment_init(&p, card, amount, payer, "POS00042", NULL, NULL);
 *   persist p (it is plain data), then for each attempt:
 *     open, mic_card_authenticate() as the terminal, mic_card_verify_pin(),
 *     mic_card_pay(card, &p, &receipt)
 *   until MIC_OK or a refusal; then drop the persisted p.
 */

/** The DEBIT or CREDIT data, b8 amount || n14 time || an8 terminal ||
 * b16 reference || b1 payer: what the card gets and signs. */
#define MIC_PAYMENT_DATA_LEN 40

/** A payment (or credit) in progress: plain data the caller persists. */
typedef struct mic_payment {
	int64_t amount;         /**< fen, > 0 */
	char time[15];          /**< "YYYYMMDDhhmmss", sent as n14 */
	char terminal[MIC_RECEIPT_TERMINAL_LEN + 1]; /**< an8 */
	uint8_t reference[MIC_RECEIPT_REF_LEN];      /**< unique per terminal */
	uint8_t payer;          /**< 0 the holder, else an EF.FAMILY record */
	char card_id[MIC_RECEIPT_CARD_ID_LEN + 1];   /**< the card it is for; "" not checked */
} mic_payment;

/**
 * Fix a payment of @p amount fen by @p payer at @p terminal for @p card:
 * the card identification code (EF.CARD, read if mic_card_read() has not
 * yet), the time (@p when "YYYYMMDDhhmmss", or NULL for the local time now)
 * and the reference (@p reference, or NULL for 16 random bytes). Nothing
 * but EF.CARD is sent to the card.
 * @retval MIC_OK
 * @retval MIC_ERR_INVALID_ARGUMENT  a NULL @p p or @p card, a terminal id
 *                                   not 8 printable characters, a @p when
 *                                   not 14 digits
 * @retval MIC_ERR_AMOUNT            @p amount is zero or negative
 * @retval MIC_ERR_CRYPTO            no random reference could be drawn
 * plus the errors of mic_card_read() for EF.CARD.
 */
mic_rc mic_payment_init(mic_payment *p, mic_card_t *card, int64_t amount,
    uint8_t payer, const char *terminal, const uint8_t *reference,
    const char *when);

/**
 * The 40 bytes of DEBIT / CREDIT data of @p p (card profile 3.11).
 * @retval MIC_ERR_AMOUNT            an amount not > 0
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL, or a time or terminal id of the
 *                                   wrong form
 */
mic_rc mic_payment_encode(const mic_payment *p,
    uint8_t out[MIC_PAYMENT_DATA_LEN]);

/**
 * DEBIT @p p from the card (needs a hospital's or pharmacy's SCP11a channel,
 * mic_card_authenticate(), and the PIN verified since the last DEBIT) and
 * return its card-signed receipt in @p out. Sent again with the same @p p
 * after the card was pulled or powered off, it gives back the receipt of
 * the DEBIT the card already did and debits nothing (profile 3.11). The
 * DEBIT ends the PIN's verified state whatever the outcome: one PIN per
 * payment. The receipt's signature is not checked here: mic_receipt_verify()
 * with EF.CERT does that.
 * @retval MIC_OK                        paid; @p *out is the receipt
 * @retval MIC_ERR_INVALID_ARGUMENT      NULL argument
 * @retval MIC_ERR_AMOUNT                the amount is zero or negative
 *                                       (no DEBIT sent, nor any below
 *                                       marked so)
 * @retval MIC_ERR_CARD_NOT_ACTIVE       the card is blank or personalized
 *                                       (its FCI said; no DEBIT)
 * @retval MIC_ERR_CARD_BLOCKED          the card is blocked (no DEBIT)
 * @retval MIC_ERR_CARD_TERMINATED       the card is terminated (no DEBIT)
 * @retval MIC_ERR_CARD_CHANGED          @p p belongs to another card: its
 *                                       EF.CARD names another (no DEBIT)
 * @retval MIC_ERR_STATE                 the PIN is not verified (no DEBIT)
 * @retval MIC_ERR_INSUFFICIENT_BALANCE  the card refused: balance too low (9401)
 * @retval MIC_ERR_PAYER_NOT_BOUND       no family member in the payer's
 *                                       record (6A83)
 * @retval MIC_ERR_PAYER_MAY_NOT_PAY     the member may not pay (6985)
 * @retval MIC_ERR_REFERENCE_REUSED      the reference is the card's last
 *                                       with other data (6A80)
 * @retval MIC_SW_SECURITY_STATUS        not a hospital's or pharmacy's
 *                                       channel, or the PIN was not verified
 *                                       on the card
 * plus the errors of mic_tx_transmit() (a card pulled mid-command: resend),
 * and MIC_ERR_RECEIPT_FORMAT for a malformed answer.
 */
mic_rc mic_card_pay(mic_card_t *card, const mic_payment *p,
    mic_receipt_t **out);

/**
 * CREDIT @p p to the card: the agency's allocation, in the agency's SCP11a
 * channel (no PIN). Resumed as mic_card_pay(). Errors as mic_card_pay()
 * without the PIN and balance ones, and:
 * @retval MIC_ERR_AMOUNT            the amount is zero or negative (nothing
 *                                   sent), or the card refused it because
 *                                   the balance would overflow (6A80 with
 *                                   EF.ACCOUNT too full for it)
 * @retval MIC_ERR_REFERENCE_REUSED  6A80 otherwise
 * @retval MIC_SW_SECURITY_STATUS    not the agency's channel
 */
mic_rc mic_card_credit(mic_card_t *card, const mic_payment *p,
    mic_receipt_t **out);

#ifdef __cplusplus
}
#endif
#endif
