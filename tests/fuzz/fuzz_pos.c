/*
 * Fuzz what the point of sale reads: the card's answer to a DEBIT, made a
 * receipt by mic_receipt_from_card() (first byte 0), and the pending
 * payment file of mic pay that --resume sends to a card again (first byte
 * 1). Each is refused, or gives values within the profile's ranges; never
 * a crash or a leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mic/card.h>
#include <mic/receipt.h>

#include "pending.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The DEBIT data of card profile section 8. */
static const uint8_t cmd[MIC_RECEIPT_CMD_LEN] = {
	0, 0, 0, 0, 0, 0, 0x0B, 0xB8, 0x20, 0x26, 0x11, 0x23, 0x09, 0x30,
	0x00, 'H', 'O', 'S', 'P', '0', '0', '0', '1', 0, 1, 2, 3, 4, 5, 6, 7,
	8, 9, 10, 11, 12, 13, 14, 15, 0,
};

static void
answer(const uint8_t *data, size_t size)
{
	mic_receipt_t *r = NULL, *again = NULL;
	const uint8_t *enc, *enc2;
	size_t len, len2;

	if (mic_receipt_from_card(&r, "110100D1560000011100010000000001",
	    MIC_RECEIPT_DEBIT, cmd, data, size) != MIC_OK) {
		if (r != NULL)
			abort();
		return;
	}
	if (mic_receipt_amount(r) != 3000 || mic_receipt_balance(r) < 0)
		abort();
	enc = mic_receipt_encoding(r, &len);
	if (mic_receipt_decode(&again, enc, len) != MIC_OK)
		abort();
	enc2 = mic_receipt_encoding(again, &len2);
	if (len != len2 || memcmp(enc, enc2, len) != 0)
		abort();
	mic_receipt_free(&again);
	mic_receipt_free(&r);
}

static void
pending(const uint8_t *data, size_t size)
{
	uint8_t out[MIC_PAYMENT_DATA_LEN];
	mic_payment p;
	int credit = 0;

	if (pending_parse((const char *)data, size, &p, &credit) != 0)
		return;
	if (p.amount <= 0 || strlen(p.card_id) != MIC_RECEIPT_CARD_ID_LEN ||
	    strlen(p.terminal) != MIC_RECEIPT_TERMINAL_LEN ||
	    mic_payment_encode(&p, out) != MIC_OK)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] == 0)
		answer(data + 1, size - 1);
	else if (data[0] == 1)
		pending(data + 1, size - 1);
	return 0;
}
