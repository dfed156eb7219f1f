/*
 * ATR parsing, only as far as the host needs it: which protocols the card
 * offers and what its card-capabilities object says about command chaining
 * and extended length. The ATR comes from the card, so it is parsed as
 * hostile input.
 */
#include <string.h>

#include "internal.h"

/* ISO 7816-4 12.1.1.9, third software function table (card capabilities). */
#define CAPS3_CHAINING 0x80
#define CAPS3_EXTENDED 0x40

/* Walk compact-TLV objects (tag in the high nibble, length in the low). */
static mic_rc
parse_compact_tlv(const uint8_t *p, size_t n, mici_atr_info *out)
{
	while (n > 0) {
		uint8_t tag = p[0] >> 4;
		size_t len = p[0] & 0x0F;

		if (len + 1 > n) {
			mici_debug("%s: compact-TLV overruns historical bytes", __func__);
			return MIC_ERR_RESPONSE;
		}
		if (tag == 0x7 && len == 3) {
			out->chaining = (p[3] & CAPS3_CHAINING) != 0;
			out->extended = (p[3] & CAPS3_EXTENDED) != 0;
		}
		p += len + 1;
		n -= len + 1;
	}
	return MIC_OK;
}

static mic_rc
parse_historical(const uint8_t *h, size_t k, mici_atr_info *out)
{
	if (k == 0)
		return MIC_OK;
	switch (h[0]) {
	case 0x80:
		/* Compact-TLV objects only. */
		return parse_compact_tlv(h + 1, k - 1, out);
	case 0x00:
		/* Compact-TLV, then a mandatory 3-byte status indicator. */
		if (k < 4) {
			mici_debug("%s: category 00 without status indicator", __func__);
			return MIC_ERR_RESPONSE;
		}
		return parse_compact_tlv(h + 1, k - 4, out);
	default:
		/* 10 (DIR reference) and proprietary categories say nothing we use. */
		return MIC_OK;
	}
}

mic_rc
mici_atr_parse(const uint8_t *atr, size_t len, mici_atr_info *out)
{
	size_t i = 2, k;
	uint8_t y;
	int tck_needed = 0;

	if (atr == NULL || out == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	memset(out, 0, sizeof(*out));
	if (len < 2 || len > 33 || (atr[0] != 0x3B && atr[0] != 0x3F)) {
		mici_debug("%s: bad TS or length %zu", __func__, len);
		return MIC_ERR_RESPONSE;
	}
	y = atr[1] >> 4;
	k = atr[1] & 0x0F;
	/* Interface bytes: TA, TB, TC present per Y bits; TD chains on. At most
	 * 33 bytes in all, so the loop is bounded by len. */
	for (;;) {
		int n = !!(y & 1) + !!(y & 2) + !!(y & 4);
		if (i + (size_t)n > len) {
			mici_debug("%s: interface bytes truncated", __func__);
			return MIC_ERR_RESPONSE;
		}
		i += (size_t)n;
		if (!(y & 8))
			break;
		if (i >= len) {
			mici_debug("%s: TD truncated", __func__);
			return MIC_ERR_RESPONSE;
		}
		if ((atr[i] & 0x0F) == 1)
			out->protocol_t1 = 1;
		if ((atr[i] & 0x0F) != 0)
			tck_needed = 1;
		y = atr[i] >> 4;
		i++;
	}
	if (i + k + (size_t)tck_needed != len) {
		mici_debug("%s: %zu bytes, expected %zu", __func__, len,
		    i + k + (size_t)tck_needed);
		return MIC_ERR_RESPONSE;
	}
	if (tck_needed) {
		uint8_t x = 0;
		for (size_t j = 1; j < len; j++)
			x ^= atr[j];
		if (x != 0) {
			mici_debug("%s: TCK mismatch", __func__);
			return MIC_ERR_RESPONSE;
		}
	}
	return parse_historical(atr + i, k, out);
}
