/*
 * Text for every mic_rc: library errors from a table indexed by -rc, card
 * status words through the ISO 7816-4 table in sw.c.
 */
#include <stddef.h>

#include <mic/err.h>

#include "internal.h"

#define UNKNOWN_ERROR "unknown error"

struct err_text {
	const char *name;
	const char *text;
};

#define ERR(rc, t) [-(rc)] = { #rc, t }

/* Indexed by -rc: a duplicate index fails the build (-Woverride-init). */
static const struct err_text err_table[] = {
	ERR(MIC_OK, "success"),
	ERR(MIC_ERR_INVALID_ARGUMENT,
	    "invalid argument: a NULL pointer or a value out of range"),
	ERR(MIC_ERR_NOMEM, "out of memory"),
	ERR(MIC_ERR_INTERNAL,
	    "internal error: a library invariant did not hold"),
	ERR(MIC_ERR_BUFFER_TOO_SMALL, "the buffer is too small for the result"),
	ERR(MIC_ERR_APDU_FORMAT,
	    "malformed command APDU: length fields do not match its size"),
	ERR(MIC_ERR_APDU_TOO_LONG,
	    "command data or expected length too long for the APDU form"),
	ERR(MIC_ERR_TLV_TRUNCATED,
	    "BER-TLV object runs past the end of its buffer"),
	ERR(MIC_ERR_TLV_INDEFINITE, "BER-TLV indefinite length is not allowed"),
	ERR(MIC_ERR_TLV_NONMINIMAL,
	    "BER-TLV tag or length is not in its shortest form"),
	ERR(MIC_ERR_TLV_TAG, "invalid BER-TLV tag"),
	ERR(MIC_ERR_TLV_TOO_DEEP, "BER-TLV objects nested too deeply"),
	ERR(MIC_ERR_TLV_LENGTH, "BER-TLV length field too long"),
	ERR(MIC_ERR_NOT_FOUND, "the requested item was not found"),
	ERR(MIC_ERR_RESPONSE, "malformed response from the card"),
	ERR(MIC_ERR_RETRY_LIMIT,
	    "retry limit reached while fetching the response"),
	ERR(MIC_ERR_UNSUPPORTED,
	    "operation not supported by the reader, card or build"),
	ERR(MIC_ERR_NO_SERVICE, "the PC/SC service (pcscd) stopped or is not running"),
	ERR(MIC_ERR_NO_READER, "no such reader, or no reader connected"),
	ERR(MIC_ERR_NO_CARD, "no card in the reader"),
	ERR(MIC_ERR_CARD_REMOVED, "the card was removed"),
	ERR(MIC_ERR_SHARING_VIOLATION,
	    "another application is using the card exclusively"),
	ERR(MIC_ERR_TIMEOUT, "timed out"),
	ERR(MIC_ERR_CARD_RESET,
	    "the card was reset and could not be recovered"),
	ERR(MIC_ERR_CARD_CHANGED, "a different card answered after a reset"),
	ERR(MIC_ERR_PCSC, "PC/SC error (the debug log has its code)"),
	ERR(MIC_ERR_TX, "failed to exchange data with the card"),
	ERR(MIC_ERR_TRANSACTION,
	    "card transaction begun or ended out of order"),
	ERR(MIC_ERR_IO, "file or socket I/O failed"),
	ERR(MIC_ERR_STATE, "the object is in the wrong state for this call"),
	ERR(MIC_ERR_IDNUM_LENGTH,
	    "ID number is not 18 characters long (15 for a 1989 number)"),
	ERR(MIC_ERR_IDNUM_CHAR,
	    "ID number holds a character other than digits and a final X"),
	ERR(MIC_ERR_IDNUM_CHECK, "ID number check character is wrong"),
	ERR(MIC_ERR_IDNUM_DATE, "ID number birth date is not a real date"),
	ERR(MIC_ERR_IDNUM_FUTURE, "ID number birth date is in the future"),
	ERR(MIC_ERR_IDNUM_REGION,
	    "ID number address code is not of a known province"),
	ERR(MIC_ERR_CODE, "not a code of its national code table"),
	ERR(MIC_ERR_FORMAT,
	    "a data field has the wrong size or character set"),
	ERR(MIC_ERR_DATE,
	    "a date or time is not BCD digits or not a real date"),
	ERR(MIC_ERR_UTF8,
	    "text is not valid UTF-8 or holds a NUL or control character"),
	ERR(MIC_ERR_VALUE,
	    "a value is outside what the card profile allows"),
	ERR(MIC_ERR_MISSING,
	    "a mandatory data object is missing or a field is not set"),
	ERR(MIC_ERR_MISMATCH,
	    "data fields disagree with each other (e.g. gender and ID number)"),
	ERR(MIC_ERR_TEMPLATE,
	    "wrong template, repeated or foreign object, or data after it"),
	ERR(MIC_ERR_SM_MAC,
	    "secure messaging MAC did not verify; the secure channel is closed"),
	ERR(MIC_ERR_SM_FORMAT,
	    "secure messaging data has a wrong length or padding; "
	    "the secure channel is closed"),
	ERR(MIC_ERR_SM_CLOSED,
	    "the secure channel has ended (after an error or a card reset); "
	    "open a new one"),
	ERR(MIC_ERR_SM_AUTH,
	    "secure channel authentication failed (receipt, key or certificate)"),
	ERR(MIC_ERR_CRYPTO,
	    "a cryptographic operation failed (MIC_DEBUG=1 shows OpenSSL's reason)"),
	ERR(MIC_ERR_KEY_URI,
	    "the key URI is malformed, ambiguous or of an unsupported kind "
	    "(use file:PATH or pkcs11:token=...;object=...)"),
	ERR(MIC_ERR_KEY_PERMISSIONS,
	    "a private key, PIN or personal-data file is accessible to "
	    "other users, another user's, or a symbolic link (chmod 600 it)"),
	ERR(MIC_ERR_PKCS11,
	    "the PKCS#11 module failed to load or a PKCS#11 call failed"),
	ERR(MIC_ERR_PKCS11_IN_USE,
	    "the PKCS#11 module is already in use in this process; "
	    "open further keys through the first key provider"),
	ERR(MIC_ERR_TOKEN_NO_PIN,
	    "the token needs a PIN: set MIC_PKCS11_PIN, a pin-source file, "
	    "or answer the prompt"),
	ERR(MIC_ERR_TOKEN_LOGIN,
	    "the token refused the PIN (wrong, expired or locked)"),
	ERR(MIC_ERR_EXISTS,
	    "a key or certificate is already there; refusing to overwrite it "
	    "(--force replaces it)"),
	ERR(MIC_ERR_CERT_FORMAT,
	    "not a well-formed certificate, request or public key"),
	ERR(MIC_ERR_CERT_UNTRUSTED,
	    "the certificate does not chain to a trusted root"),
	ERR(MIC_ERR_CERT_CHAIN,
	    "the certificate chain is broken (bad signature, issuer not a CA "
	    "or path too long)"),
	ERR(MIC_ERR_CERT_EXPIRED,
	    "a certificate in the chain is expired or not yet valid"),
	ERR(MIC_ERR_CERT_PURPOSE,
	    "the certificate is not for this use (key usage, extended key "
	    "usage or role)"),
	ERR(MIC_ERR_CERT_SUBJECT,
	    "the certificate names another card"),
	ERR(MIC_ERR_CARD_KEY_MISMATCH,
	    "the card's public key is not the one in its certificate"),
	ERR(MIC_ERR_SOD_FORMAT, "the security object (EF.SOD) is malformed"),
	ERR(MIC_ERR_SOD_SIGNATURE,
	    "the security object's signature does not verify"),
	ERR(MIC_ERR_SOD_HASH,
	    "a card file differs from what the security object signed"),
	ERR(MIC_ERR_SOD_CHIP,
	    "the security object belongs to another chip"),
	ERR(MIC_ERR_SOD_NOT_COVERED,
	    "a card file is not covered by the security object"),
	ERR(MIC_ERR_BATCH_LINE,
	    "a batch line is invalid (its error record names the line and "
	    "the field)"),
	ERR(MIC_ERR_JSON, "a line is not one well-formed JSON object"),
	ERR(MIC_ERR_FIELD_UNKNOWN, "a field the schema does not know"),
	ERR(MIC_ERR_FIELD_TYPE, "a field has the wrong JSON type"),
	ERR(MIC_ERR_DUPLICATE,
	    "a duplicate application id or ID number"),
	ERR(MIC_ERR_JOURNAL,
	    "the issuance journal (SQLite) failed (mic_journal_errmsg() has "
	    "SQLite's reason)"),
	ERR(MIC_ERR_LIVE_CARD,
	    "the holder already has a live card; a second is refused"),
	ERR(MIC_ERR_CANCELLED, "stopped on request before the end"),
	ERR(MIC_ERR_RECEIPT_FORMAT,
	    "the receipt is malformed; it is not a receipt a card made"),
	ERR(MIC_ERR_RECEIPT_SIGNATURE,
	    "the receipt fails verification: its card did not sign it as it "
	    "stands (altered or forged); do not settle it"),
	ERR(MIC_ERR_SETTLE_LINE,
	    "a line of the settlement file is not of its format"),
	ERR(MIC_ERR_CLONE,
	    "clone alarm: two different receipts carry one card and one "
	    "counter, so two chips share one identity; deny the card"),
	ERR(MIC_ERR_COUNTER_GAP,
	    "a card's receipt counters skip a value: a receipt is missing "
	    "from the settlement files"),
	ERR(MIC_ERR_INSUFFICIENT_BALANCE,
	    "insufficient balance: the card's account holds less than the "
	    "amount; nothing was paid"),
	ERR(MIC_ERR_CARD_NOT_ACTIVE,
	    "card not active: it was never activated; the holder activates it "
	    "at the bank or hospital first"),
	ERR(MIC_ERR_CARD_BLOCKED,
	    "card blocked (reported lost, or on the deny list); it cannot pay; "
	    "send the holder to the insurance agency"),
	ERR(MIC_ERR_CARD_TERMINATED,
	    "card terminated: it is no longer valid and cannot pay"),
	ERR(MIC_ERR_PIN_WRONG, "wrong PIN; the holder may try again"),
	ERR(MIC_ERR_PIN_BLOCKED,
	    "PIN blocked after too many wrong tries; the bank unblocks it"),
	ERR(MIC_ERR_PAYER_NOT_BOUND,
	    "payer not bound to this card: no family member in that record"),
	ERR(MIC_ERR_PAYER_MAY_NOT_PAY,
	    "this family member is bound to the card but may not pay from "
	    "the holder's account"),
	ERR(MIC_ERR_AMOUNT,
	    "invalid amount: zero, negative, or too large for the account"),
	ERR(MIC_ERR_REFERENCE_REUSED,
	    "this transaction reference was already used for another "
	    "payment; start a new one"),
};

#undef ERR

#define SWN(rc) { rc, #rc }

/* The status words err.h names; any other is plain MIC_RC_SW. */
static const struct {
	mic_rc rc;
	const char *name;
} sw_names[] = {
	SWN(MIC_SW_WARN_UNCHANGED),
	SWN(MIC_SW_WARN_CORRUPTED),
	SWN(MIC_SW_WARN_EOF),
	SWN(MIC_SW_WARN_DEACTIVATED),
	SWN(MIC_SW_WARN_TERMINATED),
	SWN(MIC_SW_WARN_CHANGED),
	SWN(MIC_SW_MEMORY_FAILURE),
	SWN(MIC_SW_WRONG_LENGTH),
	SWN(MIC_SW_CLA_FUNCTION),
	SWN(MIC_SW_LOGICAL_CHANNEL),
	SWN(MIC_SW_SM_UNSUPPORTED),
	SWN(MIC_SW_LAST_CHAIN_EXPECTED),
	SWN(MIC_SW_CHAINING_UNSUPPORTED),
	SWN(MIC_SW_COMMAND_NOT_ALLOWED),
	SWN(MIC_SW_INCOMPATIBLE_FILE),
	SWN(MIC_SW_SECURITY_STATUS),
	SWN(MIC_SW_AUTH_BLOCKED),
	SWN(MIC_SW_DATA_INVALIDATED),
	SWN(MIC_SW_CONDITIONS),
	SWN(MIC_SW_NO_CURRENT_EF),
	SWN(MIC_SW_SM_MISSING),
	SWN(MIC_SW_SM_INCORRECT),
	SWN(MIC_SW_WRONG_DATA),
	SWN(MIC_SW_FUNC_UNSUPPORTED),
	SWN(MIC_SW_FILE_NOT_FOUND),
	SWN(MIC_SW_RECORD_NOT_FOUND),
	SWN(MIC_SW_NOT_ENOUGH_MEMORY),
	SWN(MIC_SW_WRONG_P1P2),
	SWN(MIC_SW_NC_INCONSISTENT),
	SWN(MIC_SW_REFDATA_NOT_FOUND),
	SWN(MIC_SW_FILE_EXISTS),
	SWN(MIC_SW_WRONG_P1P2_OFFSET),
	SWN(MIC_SW_INS_UNSUPPORTED),
	SWN(MIC_SW_CLA_UNSUPPORTED),
	SWN(MIC_SW_UNKNOWN),
};

#undef SWN

static const struct err_text *
lib_error(mic_rc rc)
{
	/* Widen before negating so that INT_MIN cannot overflow. */
	long long idx = -(long long)rc;

	if (idx < 0 || idx >= (long long)MIC_ARRAY_LEN(err_table) ||
	    err_table[idx].name == NULL)
		return NULL;
	return &err_table[idx];
}

const char *
mic_strerror(mic_rc rc)
{
	const struct err_text *e;

	if (mic_rc_is_sw(rc))
		return mic_sw_name(mic_rc_sw(rc));
	if ((e = lib_error(rc)) != NULL)
		return e->text;

	return UNKNOWN_ERROR;
}

const char *
mic_strerror_name(mic_rc rc)
{
	const struct err_text *e;
	size_t i;

	if (mic_rc_is_sw(rc)) {
		for (i = 0; i < MIC_ARRAY_LEN(sw_names); i++) {
			if (sw_names[i].rc == rc)
				return sw_names[i].name;
		}
		return "MIC_RC_SW";
	}
	if ((e = lib_error(rc)) != NULL)
		return e->name;

	return UNKNOWN_ERROR;
}
