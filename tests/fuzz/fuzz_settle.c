/*
 * Fuzz the settlement file's line parser (mic_settle_parse_line()) and the
 * receipt decoder under it (mic_receipt_decode()), which read files
 * uploaded from terminals. A line is refused, or gives a receipt whose
 * fields are within the profile's ranges and whose encoding decodes to
 * itself; never a crash or a leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mic/pki.h>
#include <mic/receipt.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const mic_receipt_t *r)
{
	mic_receipt_t *again = NULL;
	const uint8_t *enc, *enc2;
	size_t len, len2;

	if (mic_receipt_amount(r) <= 0 || mic_receipt_balance(r) < 0 ||
	    mic_receipt_counter(r) == 0 ||
	    strlen(mic_receipt_card_id(r)) != MIC_RECEIPT_CARD_ID_LEN ||
	    strlen(mic_receipt_terminal(r)) != MIC_RECEIPT_TERMINAL_LEN ||
	    strlen(mic_receipt_time(r)) != 14 ||
	    (mic_receipt_get_type(r) != MIC_RECEIPT_DEBIT &&
	    mic_receipt_get_type(r) != MIC_RECEIPT_CREDIT))
		abort();
	enc = mic_receipt_encoding(r, &len);
	if (mic_receipt_decode(&again, enc, len) != MIC_OK)
		abort();
	enc2 = mic_receipt_encoding(again, &len2);
	if (len != len2 || memcmp(enc, enc2, len) != 0)
		abort();
	mic_receipt_free(&again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t cert[MIC_CERT_MAX];
	mic_receipt_t *r = NULL;
	size_t cert_len = 0;
	char why[160];

	if (mic_settle_parse_line((const char *)data, size, &r, cert,
	    sizeof(cert), &cert_len, why, sizeof(why)) == MIC_OK) {
		if (r == NULL || cert_len == 0 || cert_len > sizeof(cert) ||
		    cert[0] != 0x30)
			abort();
		check(r);
		mic_receipt_free(&r);
	} else if (r != NULL) {
		abort();
	}
	if (mic_receipt_decode(&r, data, size) == MIC_OK) {
		check(r);
		mic_receipt_free(&r);
	} else if (r != NULL) {
		abort();
	}
	return 0;
}
