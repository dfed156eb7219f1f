/*
 * libmic: the one error type.
 *
 * mic_rc has three families, so a caller can tell at a glance where a failure
 * came from:
 *   MIC_OK (0)            success;
 *   negative values       the library's own errors (bad input, PC/SC, memory);
 *   MIC_RC_SW(sw) values  the card answered with status word sw.
 * mic_strerror() explains every value of every family.
 */
#ifndef MIC_ERR_H
#define MIC_ERR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Base of the status-word family: rc = MIC_RC_SW_BASE | SW1SW2. */
#define MIC_RC_SW_BASE 0x10000
/** The mic_rc that stands for the card's status word @p sw. */
#define MIC_RC_SW(sw) (MIC_RC_SW_BASE | ((sw) & 0xFFFF))

typedef enum mic_rc {
	MIC_OK = 0,

	/* Library errors: negative, stable numbers (they are ABI). */
	MIC_ERR_INVALID_ARGUMENT = -1,  /**< a NULL or out-of-range argument */
	MIC_ERR_NOMEM = -2,             /**< allocation failed */
	MIC_ERR_INTERNAL = -3,          /**< a bug: an invariant did not hold */
	MIC_ERR_BUFFER_TOO_SMALL = -4,  /**< the caller's buffer cannot hold the result */
	MIC_ERR_APDU_FORMAT = -5,       /**< a command APDU is malformed */
	MIC_ERR_APDU_TOO_LONG = -6,     /**< data or Le exceed what the APDU case allows */
	MIC_ERR_TLV_TRUNCATED = -7,     /**< a BER-TLV runs past the end of its buffer */
	MIC_ERR_TLV_INDEFINITE = -8,    /**< BER indefinite length (0x80), not allowed */
	MIC_ERR_TLV_NONMINIMAL = -9,    /**< a tag or length not in its shortest form */
	MIC_ERR_TLV_TAG = -10,          /**< a tag longer than 4 bytes or otherwise invalid */
	MIC_ERR_TLV_TOO_DEEP = -11,     /**< constructed objects nested beyond the limit */
	MIC_ERR_TLV_LENGTH = -12,       /**< a length field longer than 4 bytes */
	MIC_ERR_NOT_FOUND = -13,        /**< the requested item is not there */
	MIC_ERR_RESPONSE = -14,         /**< the card's response is malformed (e.g. no SW) */
	MIC_ERR_RETRY_LIMIT = -15,      /**< a bounded retry loop (61xx, 6Cxx) ran out */
	MIC_ERR_UNSUPPORTED = -16,      /**< the reader, card or build cannot do this */
	MIC_ERR_NO_SERVICE = -17,       /**< the PC/SC service (pcscd) stopped or is not running */
	MIC_ERR_NO_READER = -18,        /**< no such reader, or no reader at all */
	MIC_ERR_NO_CARD = -19,          /**< no card in the reader */
	MIC_ERR_CARD_REMOVED = -20,     /**< the card was removed during the session */
	MIC_ERR_SHARING_VIOLATION = -21,/**< another application holds the card exclusively */
	MIC_ERR_TIMEOUT = -22,          /**< a bounded wait expired */
	MIC_ERR_CARD_RESET = -23,       /**< the card was reset and could not be recovered */
	MIC_ERR_CARD_CHANGED = -24,     /**< after a reset, a different card answered */
	MIC_ERR_PCSC = -25,             /**< another PC/SC failure (logged with its code) */
	MIC_ERR_TX = -26,               /**< the transport failed to send or receive */
	MIC_ERR_TRANSACTION = -27,      /**< begin/end of a transaction out of order */
	MIC_ERR_IO = -28,               /**< a file or socket operation failed */
	MIC_ERR_STATE = -29,            /**< the object is in the wrong state for the call */
	/* Card data (profile.h, idnum.h): what is wrong with a value. */
	MIC_ERR_IDNUM_LENGTH = -30,     /**< an ID number is not 18 characters (15 for 1989) */
	MIC_ERR_IDNUM_CHAR = -31,       /**< an ID number holds a character other than digits and a final X */
	MIC_ERR_IDNUM_CHECK = -32,      /**< an ID number's MOD 11-2 check character is wrong */
	MIC_ERR_IDNUM_DATE = -33,       /**< an ID number's birth date is not a real date */
	MIC_ERR_IDNUM_FUTURE = -34,     /**< an ID number's birth date is in the future */
	MIC_ERR_IDNUM_REGION = -35,     /**< an ID number's address code is of no known province */
	MIC_ERR_CODE = -36,             /**< not a code of its national code table */
	MIC_ERR_FORMAT = -37,           /**< a value of the wrong size or character set */
	MIC_ERR_DATE = -38,             /**< a date or time that is not BCD digits or not a real date */
	MIC_ERR_UTF8 = -39,             /**< text that is not valid UTF-8 or holds a NUL or control character */
	MIC_ERR_VALUE = -40,            /**< a number or code outside what the card profile allows */
	MIC_ERR_MISSING = -41,          /**< a mandatory data object is missing or a field is not set */
	MIC_ERR_MISMATCH = -42,         /**< fields disagree, e.g. gender or birth date and the ID number */
	MIC_ERR_TEMPLATE = -43,         /**< wrong template tag, a repeated or foreign object, or data after the template */
	/* Secure channel (scp.h, tx.h): SCP11 authentication, SCP03-style messaging. */
	MIC_ERR_SM_MAC = -44,           /**< a MAC did not verify; the secure channel is closed */
	MIC_ERR_SM_FORMAT = -45,        /**< protected data of the wrong length or padding; the channel is closed */
	MIC_ERR_SM_CLOSED = -46,        /**< the secure channel ended (error or reset); open a new one or clear it */
	MIC_ERR_SM_AUTH = -47,          /**< secure channel authentication failed (receipt, key or certificate) */
	/* Trust (pki.h, keyprov.h, sod.h): key providers, certificates, passive authentication. */
	MIC_ERR_CRYPTO = -48,           /**< an OpenSSL operation failed (the debug log has OpenSSL's reason) */
	MIC_ERR_KEY_URI = -49,          /**< a key URI is malformed, ambiguous, or of an unsupported kind */
	MIC_ERR_KEY_PERMISSIONS = -50,  /**< a private key, PIN or personal-data file is accessible to other users, another user's, or a symlink */
	MIC_ERR_PKCS11 = -51,           /**< the PKCS#11 module failed to load, or one of its calls failed */
	MIC_ERR_PKCS11_IN_USE = -52,    /**< the PKCS#11 module is already initialized by someone else in this process */
	MIC_ERR_TOKEN_NO_PIN = -53,     /**< the token needs a PIN and no PIN source gave one */
	MIC_ERR_TOKEN_LOGIN = -54,      /**< the token refused the PIN (wrong, expired or locked) */
	MIC_ERR_EXISTS = -55,           /**< a key or certificate is already there; refusing to overwrite it */
	MIC_ERR_CERT_FORMAT = -56,      /**< not a well-formed certificate, request or public key */
	MIC_ERR_CERT_UNTRUSTED = -57,   /**< no chain from the certificate to a trusted root */
	MIC_ERR_CERT_CHAIN = -58,       /**< a chain was found but is broken (bad signature, issuer not a CA, path length) */
	MIC_ERR_CERT_EXPIRED = -59,     /**< a certificate in the chain is expired or not yet valid */
	MIC_ERR_CERT_PURPOSE = -60,     /**< the certificate is not for this use (extended key usage, key usage, role) */
	MIC_ERR_CERT_SUBJECT = -61,     /**< the certificate names another card (serialNumber is not the card's code) */
	MIC_ERR_CARD_KEY_MISMATCH = -62,/**< the card's public key is not the one in its certificate */
	MIC_ERR_SOD_FORMAT = -63,       /**< the security object is malformed (CMS, content type or MICSecurityObject) */
	MIC_ERR_SOD_SIGNATURE = -64,    /**< the security object's signature does not verify */
	MIC_ERR_SOD_HASH = -65,         /**< a file's hash differs from the security object's: the file was changed */
	MIC_ERR_SOD_CHIP = -66,         /**< the security object belongs to another chip (chip serial differs) */
	MIC_ERR_SOD_NOT_COVERED = -67,  /**< a file to check is not covered by the security object */
	/* Issuance (batch.h, journal.h): the bureau's batch input and the journal. */
	MIC_ERR_BATCH_LINE = -68,       /**< a batch line is invalid; its error record names the line, the field and the cause */
	MIC_ERR_JSON = -69,             /**< a line is not one JSON object (syntax, a repeated key, a NUL, or over the length limit) */
	MIC_ERR_FIELD_UNKNOWN = -70,    /**< an object has a field the schema does not know */
	MIC_ERR_FIELD_TYPE = -71,       /**< a field has the wrong JSON type (a number where a string goes, say) */
	MIC_ERR_DUPLICATE = -72,        /**< an application id or ID number already seen (in the batch, or in the journal with other data) */
	MIC_ERR_JOURNAL = -73,          /**< the issuance journal (SQLite) failed or is not a journal */
	MIC_ERR_LIVE_CARD = -74,        /**< the holder already has a live card; a second one is refused */
	MIC_ERR_CANCELLED = -75,        /**< stopped on request (a signal, mic_perso_line_stop()) before the end */
	/* Settlement (receipt.h): the card-signed receipts and the settlement file. */
	MIC_ERR_RECEIPT_FORMAT = -76,   /**< a receipt is malformed (length, type, amount, time, terminal id) */
	MIC_ERR_RECEIPT_SIGNATURE = -77,/**< a receipt's signature does not verify against its card certificate: altered or forged */
	MIC_ERR_SETTLE_LINE = -78,      /**< a settlement file line is not of the format (docs/settlement.md) */
	MIC_ERR_CLONE = -79,            /**< two different receipts with one card and one counter: two chips with one identity */
	MIC_ERR_COUNTER_GAP = -80,      /**< a card's receipt counters skip a value: a receipt is missing */
	/* Point of sale (card.h: mic_card_verify_pin(), mic_card_pay(), mic_card_credit()). */
	MIC_ERR_INSUFFICIENT_BALANCE = -81, /**< the account holds less than the amount (card: 9401) */
	MIC_ERR_CARD_NOT_ACTIVE = -82,  /**< the card is personalized but not yet activated */
	MIC_ERR_CARD_BLOCKED = -83,     /**< the card is blocked (reported lost, or deny-listed) */
	MIC_ERR_CARD_TERMINATED = -84,  /**< the card is terminated, for good */
	MIC_ERR_PIN_WRONG = -85,        /**< wrong PIN; the tries left come with it */
	MIC_ERR_PIN_BLOCKED = -86,      /**< the PIN is blocked after too many wrong tries */
	MIC_ERR_PAYER_NOT_BOUND = -87,  /**< no family member is bound in the payer's record */
	MIC_ERR_PAYER_MAY_NOT_PAY = -88,/**< the family member is bound but may not pay from the account */
	MIC_ERR_AMOUNT = -89,           /**< an amount that is zero, negative, or overflows the balance */
	MIC_ERR_REFERENCE_REUSED = -90, /**< the transaction reference is the card's last, with other data */

	/* Card status words (ISO/IEC 7816-4 clause 5.6), named for convenience.
	 * Any other SW is MIC_RC_SW(sw). */
	MIC_SW_WARN_UNCHANGED = MIC_RC_SW(0x6200),
	MIC_SW_WARN_CORRUPTED = MIC_RC_SW(0x6281),
	MIC_SW_WARN_EOF = MIC_RC_SW(0x6282),
	MIC_SW_WARN_DEACTIVATED = MIC_RC_SW(0x6283),
	MIC_SW_WARN_TERMINATED = MIC_RC_SW(0x6285),
	MIC_SW_WARN_CHANGED = MIC_RC_SW(0x6300),
	MIC_SW_MEMORY_FAILURE = MIC_RC_SW(0x6581),
	MIC_SW_WRONG_LENGTH = MIC_RC_SW(0x6700),
	MIC_SW_CLA_FUNCTION = MIC_RC_SW(0x6800),
	MIC_SW_LOGICAL_CHANNEL = MIC_RC_SW(0x6881),
	MIC_SW_SM_UNSUPPORTED = MIC_RC_SW(0x6882),
	MIC_SW_LAST_CHAIN_EXPECTED = MIC_RC_SW(0x6883),
	MIC_SW_CHAINING_UNSUPPORTED = MIC_RC_SW(0x6884),
	MIC_SW_COMMAND_NOT_ALLOWED = MIC_RC_SW(0x6900),
	MIC_SW_INCOMPATIBLE_FILE = MIC_RC_SW(0x6981),
	MIC_SW_SECURITY_STATUS = MIC_RC_SW(0x6982),
	MIC_SW_AUTH_BLOCKED = MIC_RC_SW(0x6983),
	MIC_SW_DATA_INVALIDATED = MIC_RC_SW(0x6984),
	MIC_SW_CONDITIONS = MIC_RC_SW(0x6985),
	MIC_SW_NO_CURRENT_EF = MIC_RC_SW(0x6986),
	MIC_SW_SM_MISSING = MIC_RC_SW(0x6987),
	MIC_SW_SM_INCORRECT = MIC_RC_SW(0x6988),
	MIC_SW_WRONG_DATA = MIC_RC_SW(0x6A80),
	MIC_SW_FUNC_UNSUPPORTED = MIC_RC_SW(0x6A81),
	MIC_SW_FILE_NOT_FOUND = MIC_RC_SW(0x6A82),
	MIC_SW_RECORD_NOT_FOUND = MIC_RC_SW(0x6A83),
	MIC_SW_NOT_ENOUGH_MEMORY = MIC_RC_SW(0x6A84),
	MIC_SW_WRONG_P1P2 = MIC_RC_SW(0x6A86),
	MIC_SW_NC_INCONSISTENT = MIC_RC_SW(0x6A87),
	MIC_SW_REFDATA_NOT_FOUND = MIC_RC_SW(0x6A88),
	MIC_SW_FILE_EXISTS = MIC_RC_SW(0x6A89),
	MIC_SW_WRONG_P1P2_OFFSET = MIC_RC_SW(0x6B00),
	MIC_SW_INS_UNSUPPORTED = MIC_RC_SW(0x6D00),
	MIC_SW_CLA_UNSUPPORTED = MIC_RC_SW(0x6E00),
	MIC_SW_UNKNOWN = MIC_RC_SW(0x6F00),
} mic_rc;

/** Is @p rc a card status word rather than a library error? */
static inline int mic_rc_is_sw(mic_rc rc) { return ((int)rc & ~0xFFFF) == MIC_RC_SW_BASE; }
/** The status word inside @p rc, or 0 when rc is not of the SW family. */
static inline uint16_t mic_rc_sw(mic_rc rc) { return mic_rc_is_sw(rc) ? (uint16_t)((int)rc & 0xFFFF) : 0; }

/**
 * A human-readable explanation of any mic_rc. Never NULL; the string is static.
 * For a status word it names the ISO 7816-4 meaning, e.g. for 63C2
 * "verification failed, 2 tries left".
 */
const char *mic_strerror(mic_rc rc);

/**
 * The symbolic name of @p rc, e.g. "MIC_ERR_NO_SERVICE" or "MIC_SW_SECURITY_STATUS";
 * "MIC_RC_SW" for a status word without its own constant. Never NULL.
 */
const char *mic_strerror_name(mic_rc rc);

/**
 * Map a status word to a mic_rc.
 * @retval MIC_OK          for 9000 (and only 9000)
 * @retval MIC_RC_SW(sw)   for every other status word, warnings included
 */
mic_rc mic_sw_rc(uint16_t sw);

/**
 * The ISO 7816-4 name of a status word, e.g. "security status not satisfied"
 * for 6982. Interindustry ranges (61xx, 63Cx, 6Cxx) are handled. Never NULL;
 * unknown proprietary values give "unknown status word".
 */
const char *mic_sw_name(uint16_t sw);

#ifdef __cplusplus
}
#endif
#endif
