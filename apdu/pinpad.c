/*
 * PC/SC part 10 (v2.02.09) secure PIN entry, the host's half: reading the
 * reader's feature list, and the PIN_VERIFY_STRUCTURE that asks the reader
 * to take the PIN on its own pad and put it into a VERIFY APDU.
 *
 * Both sit apart from any PC/SC header so that a unit test's fake reader
 * and the fuzzer exercise the same bytes the PC/SC backend sends. The
 * feature list comes from the reader's driver: every length is checked.
 */
#include <string.h>

#include "internal.h"

#define TLV_HDR 2u        /* tag, length */
#define CTL_CODE_LEN 4u   /* a control code, big-endian (part 10, 2.2) */

mic_rc
mici_pcsc_feature_find(const uint8_t *buf, size_t len, uint8_t tag,
    uint32_t *code)
{
	size_t off = 0;
	int found = 0;

	if (buf == NULL && len > 0)
		return MIC_ERR_INVALID_ARGUMENT;
	/* The whole list first: a list broken after our tag is still broken. */
	while (off < len) {
		if (len - off < TLV_HDR || buf[off + 1] != CTL_CODE_LEN ||
		    len - off - TLV_HDR < CTL_CODE_LEN) {
			mici_debug("%s: malformed entry at %zu", __func__, off);
			return MIC_ERR_RESPONSE;
		}
		if (buf[off] == tag && !found) {
			found = 1;
			if (code != NULL)
				*code = mici_get_u32(buf + off + TLV_HDR);
		}
		off += TLV_HDR + CTL_CODE_LEN;
	}

	return found ? MIC_OK : MIC_ERR_NOT_FOUND;
}

/* The fixed part of PIN_VERIFY_STRUCTURE, before ulDataLength and abData. */
#define PVS_HEAD 15u
#define PVS_LEN_FIELD 4u
#define APDU_HDR 5u
#define FMT2_BLOCK 8u

/*
 * Field by field (PC/SC part 10 2.5.2; the CCID 1.1 PIN verification
 * block). Multi-byte fields are little-endian, as CCID carries them.
 *   bmFormatString 0x41: system units are bits (b7 0), the first digit
 *     at bit 8 of the data field (b6-b3 = 8), left justified (b2 0), BCD
 *     (b1-b0 01): after format 2's control and length nibbles.
 *   bmPINBlockString 0x48: the PIN length takes 4 bits (b7-b4), and the
 *     block is 8 bytes (b3-b0).
 *   bmPINLengthFormat 0x04: units are bits (b4 0), the length at bit 4:
 *     the low nibble of format 2's first byte.
 *   wPINMaxExtraDigit: minimum digits in the high byte, maximum in the low.
 *   bEntryValidationCondition 0x02: entry ends with the pad's OK key.
 *   bNumberMessage 0x01 with wLangId 0x0409 and bMsgIndex 0: the reader's
 *     own "enter PIN" prompt.
 *   bTeoPrologue: zero, as T=1 readers fill it in themselves.
 * abData is the VERIFY APDU with a format 2 template the reader fills in:
 * control nibble 2, length 0, every digit nibble F.
 */
mic_rc
mici_pinpad_verify_fmt2(uint8_t p2, unsigned min_digits, unsigned max_digits,
    uint8_t timeout_s, uint8_t *out, size_t cap, size_t *len)
{
	const size_t data_len = APDU_HDR + FMT2_BLOCK;
	uint8_t *p = out;

	if (out == NULL || len == NULL || min_digits == 0 ||
	    min_digits > max_digits || max_digits > 14)
		return MIC_ERR_INVALID_ARGUMENT;
	if (cap < PVS_HEAD + PVS_LEN_FIELD + data_len)
		return MIC_ERR_BUFFER_TOO_SMALL;
	*p++ = timeout_s;                  /* bTimerOut */
	*p++ = 0x00;                       /* bTimerOut2: the reader's default */
	*p++ = 0x41;                       /* bmFormatString */
	*p++ = 0x48;                       /* bmPINBlockString */
	*p++ = 0x04;                       /* bmPINLengthFormat */
	*p++ = (uint8_t)max_digits;        /* wPINMaxExtraDigit, LE */
	*p++ = (uint8_t)min_digits;
	*p++ = 0x02;                       /* bEntryValidationCondition */
	*p++ = 0x01;                       /* bNumberMessage */
	*p++ = 0x09;                       /* wLangId 0x0409, LE */
	*p++ = 0x04;
	*p++ = 0x00;                       /* bMsgIndex */
	*p++ = 0x00;                       /* bTeoPrologue[3] */
	*p++ = 0x00;
	*p++ = 0x00;
	*p++ = (uint8_t)data_len;          /* ulDataLength, LE */
	*p++ = 0x00;
	*p++ = 0x00;
	*p++ = 0x00;
	*p++ = 0x00;                       /* VERIFY: CLA INS P1 P2 Lc */
	*p++ = 0x20;
	*p++ = 0x00;
	*p++ = p2;
	*p++ = FMT2_BLOCK;
	*p++ = 0x20;                       /* control 2, length 0 */
	memset(p, 0xFF, FMT2_BLOCK - 1);
	p += FMT2_BLOCK - 1;
	*len = (size_t)(p - out);

	return MIC_OK;
}
