/*
 * The card engine against arbitrary APDU sequences.
 *
 * Input: one option byte, then frames of a 2-byte big-endian length and
 * that many bytes. A frame is a command APDU; a frame of length 0 is a power
 * cycle. A length past the end of the input takes what is left. Options:
 *   bit 0  T=0 quirk mode
 *   bit 1  a response buffer of 258 bytes instead of the largest one, to
 *          exercise the card's own limit on what it returns at once
 *
 * Invariants: every APDU gets MIC_OK and a response of 2 bytes or more that
 * fits the buffer; only 9000, 61xx, 62xx and 63xx carry data, and a 6Cxx
 * or error never does; the ATR keeps its shape.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mic/apdu.h>

#include "vcard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_response(const uint8_t *rsp, size_t len, size_t cap)
{
	uint8_t sw1;

	if (len < 2 || len > cap)
		abort();
	sw1 = rsp[len - 2];
	if (len > 2 && sw1 != 0x90 && sw1 != 0x61 && sw1 != 0x62 &&
	    sw1 != 0x63)
		abort();
	if (sw1 == 0x90 && rsp[len - 1] != 0x00)
		abort();
}

static void
check_atr(const vc_card *card)
{
	uint8_t atr[VC_ATR_MAX];
	uint8_t x = 0;
	size_t n = vc_card_atr(card, atr, sizeof(atr));

	if (n < 2 || atr[0] != 0x3B)
		abort();
	for (size_t i = 1; i < n; i++)
		x ^= atr[i];
	if (x != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t rsp[MIC_APDU_RSP_MAX];
	vc_card *card = NULL;
	unsigned flags;
	size_t cap;

	if (size < 1)
		return 0;
	flags = (data[0] & 0x01) ? VC_CARD_T0_QUIRKS : 0;
	cap = (data[0] & 0x02) ? 258 : sizeof(rsp);
	data++;
	size--;
	if (vc_card_new(&card, "FUZZ0001", flags) != MIC_OK)
		abort();
	while (size >= 2) {
		size_t len = (size_t)data[0] << 8 | data[1];
		size_t n = cap;

		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		if (len == 0) {
			vc_card_power_off(card);
			continue;
		}
		if (vc_card_transmit(card, data, len, rsp, &n) != MIC_OK)
			abort();
		check_response(rsp, n, cap);
		data += len;
		size -= len;
	}
	check_atr(card);
	vc_card_free(&card);
	return 0;
}
