/*
 * Command APDU codec, ISO/IEC 7816-4:2020 clause 5.1.
 *
 * Short form:    Lc = 1 byte (01..FF), Le = 1 byte (00 means 256).
 * Extended form: Lc = 00 XX XX (0001..FFFF); Le = XX XX after an Lc field,
 *                00 XX XX without one; Le 0000 means 65536.
 *
 * Decoding is the card's side of the wire, so it trusts nothing: the length
 * fields must account for every byte of the buffer, no more and no less.
 */
#include <string.h>

#include <mic/apdu.h>

#include "internal.h"

#define APDU_HDR_LEN 4

int
mic_apdu_case(const mic_apdu *apdu)
{
	if (apdu == NULL)
		return 0;
	if (apdu->nc == 0)
		return apdu->ne == 0 ? 1 : 2;
	return apdu->ne == 0 ? 3 : 4;
}

int
mic_apdu_needs_extended(const mic_apdu *apdu)
{
	if (apdu == NULL)
		return 0;
	return apdu->nc > MIC_APDU_NC_MAX_SHORT ||
	    apdu->ne > MIC_APDU_NE_MAX_SHORT;
}

int
mic_apdu_is_sensitive(const mic_apdu *apdu)
{
	if (apdu == NULL)
		return 0;
	if (apdu->flags & MIC_APDU_SENSITIVE)
		return 1;
	/* The PIN commands of ISO 7816-4 clause 11.5, whatever the CLA; the
	 * odd INS of each pair is the same command with BER-TLV data. */
	switch (apdu->ins & 0xFEu) {
	case 0x20:
	case 0x24:
	case 0x2C:
		return 1;
	default:
		return 0;
	}
}

static int
choose_extended(const mic_apdu *apdu, mic_apdu_form form, int *ext)
{
	switch (form) {
	case MIC_APDU_AUTO:
		*ext = mic_apdu_needs_extended(apdu);
		return 0;
	case MIC_APDU_SHORT:
		if (mic_apdu_needs_extended(apdu))
			return -1;
		*ext = 0;
		return 0;
	case MIC_APDU_EXTENDED:
		*ext = 1;
		return 0;
	}
	return -1;
}

/* Length of the encoding, given that Nc and Ne fit the chosen form. */
static size_t
encoded_len(const mic_apdu *apdu, int ext)
{
	size_t n = APDU_HDR_LEN;

	if (apdu->nc > 0)
		n += (ext ? 3 : 1) + apdu->nc;
	if (apdu->ne > 0) {
		if (!ext)
			n += 1;
		else
			n += apdu->nc > 0 ? 2 : 3;
	}
	return n;
}

static void
write_apdu(const mic_apdu *apdu, int ext, uint8_t *p)
{
	*p++ = apdu->cla;
	*p++ = apdu->ins;
	*p++ = apdu->p1;
	*p++ = apdu->p2;
	if (apdu->nc > 0) {
		if (ext) {
			*p++ = 0x00;
			mici_put_u16(p, (uint16_t)apdu->nc);
			p += 2;
		} else
			*p++ = (uint8_t)apdu->nc;
		memcpy(p, apdu->data, apdu->nc);
		p += apdu->nc;
	}
	if (apdu->ne > 0) {
		/* The maximum Ne encodes as all-zero bytes (7816-4). */
		if (!ext)
			*p = (uint8_t)apdu->ne;
		else {
			if (apdu->nc == 0)
				*p++ = 0x00;
			mici_put_u16(p, (uint16_t)apdu->ne);
		}
	}
}

mic_rc
mic_apdu_encode(const mic_apdu *apdu, mic_apdu_form form, uint8_t *buf,
    size_t cap, size_t *len)
{
	size_t need;
	int ext = 0;

	if (len != NULL)
		*len = 0;
	if (apdu == NULL || buf == NULL || len == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (apdu->data == NULL && apdu->nc > 0) {
		mici_debug("%s: nc=%zu without data", __func__, apdu->nc);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (form != MIC_APDU_AUTO && form != MIC_APDU_SHORT &&
	    form != MIC_APDU_EXTENDED) {
		mici_debug("%s: form %d", __func__, (int)form);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (apdu->nc > MIC_APDU_NC_MAX_EXT || apdu->ne > MIC_APDU_NE_MAX_EXT ||
	    choose_extended(apdu, form, &ext) != 0) {
		mici_debug("%s: nc=%zu ne=%zu too long for form %d", __func__,
		    apdu->nc, apdu->ne, (int)form);
		return MIC_ERR_APDU_TOO_LONG;
	}
	need = encoded_len(apdu, ext);
	if (cap < need) {
		mici_debug("%s: need %zu bytes, have %zu", __func__, need, cap);
		return MIC_ERR_BUFFER_TOO_SMALL;
	}
	write_apdu(apdu, ext, buf);
	*len = need;

	return MIC_OK;
}

/* Le in its short or extended coding; all zeros stands for the maximum. */
static size_t
short_ne(uint8_t b)
{
	return b == 0 ? MIC_APDU_NE_MAX_SHORT : b;
}

static size_t
ext_ne(const uint8_t *p)
{
	uint16_t v = mici_get_u16(p);

	return v == 0 ? MIC_APDU_NE_MAX_EXT : v;
}

/* Body = everything after the header; b[0] is the first length byte. */
static mic_rc
decode_short(const uint8_t *b, size_t n, mic_apdu *out)
{
	size_t lc;

	if (n == 1) {
		out->ne = short_ne(b[0]);
		return MIC_OK;
	}
	lc = b[0];
	if (n == 1 + lc) {
		out->data = b + 1;
		out->nc = lc;
		return MIC_OK;
	}
	if (n == 1 + lc + 1) {
		out->data = b + 1;
		out->nc = lc;
		out->ne = short_ne(b[1 + lc]);
		return MIC_OK;
	}
	mici_debug("%s: short Lc=%zu does not match %zu body bytes", __func__,
	    lc, n);
	return MIC_ERR_APDU_FORMAT;
}

static mic_rc
decode_extended(const uint8_t *b, size_t n, mic_apdu *out)
{
	size_t lc;

	if (n < 3) {
		mici_debug("%s: extended marker with %zu body bytes", __func__,
		    n);
		return MIC_ERR_APDU_FORMAT;
	}
	if (n == 3) {
		out->ne = ext_ne(b + 1);
		return MIC_OK;
	}
	lc = mici_get_u16(b + 1);
	/* 00 0000 followed by more bytes has no meaning in any case. */
	if (lc == 0) {
		mici_debug("%s: extended Lc=0 with %zu body bytes", __func__,
		    n);
		return MIC_ERR_APDU_FORMAT;
	}
	if (n == 3 + lc) {
		out->data = b + 3;
		out->nc = lc;
		return MIC_OK;
	}
	if (n == 3 + lc + 2) {
		out->data = b + 3;
		out->nc = lc;
		out->ne = ext_ne(b + 3 + lc);
		return MIC_OK;
	}
	mici_debug("%s: extended Lc=%zu does not match %zu body bytes",
	    __func__, lc, n);
	return MIC_ERR_APDU_FORMAT;
}

mic_rc
mic_apdu_decode(const uint8_t *buf, size_t len, mic_apdu *out)
{
	mic_rc rc;

	if (buf == NULL || out == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	memset(out, 0, sizeof(*out));
	if (len < APDU_HDR_LEN) {
		mici_debug("%s: %zu bytes, shorter than a header", __func__,
		    len);
		return MIC_ERR_APDU_FORMAT;
	}
	if (len == APDU_HDR_LEN)
		rc = MIC_OK;
	else if (len == APDU_HDR_LEN + 1 || buf[APDU_HDR_LEN] != 0x00)
		rc = decode_short(buf + APDU_HDR_LEN, len - APDU_HDR_LEN, out);
	else
		rc = decode_extended(buf + APDU_HDR_LEN, len - APDU_HDR_LEN,
		    out);
	if (rc != MIC_OK) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	out->cla = buf[0];
	out->ins = buf[1];
	out->p1 = buf[2];
	out->p2 = buf[3];

	return MIC_OK;
}

int
mic_apdu_is_extended(const uint8_t *buf, size_t len)
{
	/* A lone fifth byte 00 is a short Le of 256, not an extended marker. */
	return buf != NULL && len >= APDU_HDR_LEN + 3 &&
	    buf[APDU_HDR_LEN] == 0x00;
}
