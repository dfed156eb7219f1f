/*
 * Fuzz the command APDU codec from both ends.
 *
 * Decode: whatever mic_apdu_decode() accepts must re-encode, in the form it
 * came in, to exactly the same bytes, and its AUTO encoding must decode to
 * the same fields.
 * Encode: the input also describes an APDU (header, form, Nc, Ne); if it
 * encodes, the bytes must decode back to it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mic/apdu.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
same_fields(const mic_apdu *a, const mic_apdu *b)
{
	return a->cla == b->cla && a->ins == b->ins && a->p1 == b->p1 &&
	    a->p2 == b->p2 && a->nc == b->nc && a->ne == b->ne &&
	    (a->nc == 0 || memcmp(a->data, b->data, a->nc) == 0);
}

static void
check_decoded(const uint8_t *data, size_t size, const mic_apdu *a)
{
	int ext = mic_apdu_is_extended(data, size);
	mic_apdu again;
	uint8_t *buf;
	size_t len;

	if (a->nc > MIC_APDU_NC_MAX_EXT || a->ne > MIC_APDU_NE_MAX_EXT)
		abort();
	if ((a->nc == 0) != (a->data == NULL))
		abort();
	if (a->nc > 0 && (a->data < data || a->nc > size ||
	    a->data > data + size - a->nc))
		abort();
	if (!ext && mic_apdu_needs_extended(a))
		abort();
	if ((buf = malloc(size)) == NULL)
		return;
	if (mic_apdu_encode(a, ext ? MIC_APDU_EXTENDED : MIC_APDU_SHORT, buf,
	    size, &len) != MIC_OK || len != size || memcmp(buf, data, size))
		abort();
	/* AUTO never needs more room than the form the input used. */
	if (mic_apdu_encode(a, MIC_APDU_AUTO, buf, size, &len) != MIC_OK ||
	    len > size)
		abort();
	if (mic_apdu_decode(buf, len, &again) != MIC_OK ||
	    !same_fields(a, &again) ||
	    mic_apdu_is_extended(buf, len) != mic_apdu_needs_extended(a))
		abort();
	free(buf);
}

/*
 * Bytes 0-3 the header, 4 the form (and a bit to reach Ne 65536), 5-6 Nc,
 * 7-8 Ne; the data comes from what follows.
 */
static void
check_encode(const uint8_t *data, size_t size)
{
	static const mic_apdu_form forms[] = { MIC_APDU_AUTO, MIC_APDU_SHORT,
	    MIC_APDU_EXTENDED };
	mic_apdu a, out;
	mic_apdu_form form;
	uint8_t *buf;
	size_t len, avail;
	mic_rc rc;

	if (size < 9)
		return;
	memset(&a, 0, sizeof(a));
	a.cla = data[0];
	a.ins = data[1];
	a.p1 = data[2];
	a.p2 = data[3];
	form = forms[(data[4] & 0x7F) % 3];
	avail = size - 9;
	a.nc = (size_t)((data[5] << 8) | data[6]);
	if (a.nc > avail)
		a.nc = avail;
	a.data = a.nc > 0 ? data + 9 : NULL;
	a.ne = (size_t)((data[7] << 8) | data[8]) + ((data[4] & 0x80) ? 1 : 0);
	if ((buf = malloc(MIC_APDU_CMD_MAX)) == NULL)
		return;
	rc = mic_apdu_encode(&a, form, buf, MIC_APDU_CMD_MAX, &len);
	if (rc == MIC_ERR_APDU_TOO_LONG) {
		/* Only a short-only request for an APDU that needs more. */
		if (form != MIC_APDU_SHORT || !mic_apdu_needs_extended(&a))
			abort();
	} else if (rc != MIC_OK)
		abort();
	else if (mic_apdu_decode(buf, len, &out) != MIC_OK ||
	    !same_fields(&a, &out) ||
	    (form == MIC_APDU_SHORT && mic_apdu_is_extended(buf, len)))
		abort();
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mic_apdu a;

	if (mic_apdu_decode(data, size, &a) == MIC_OK)
		check_decoded(data, size, &a);
	check_encode(data, size);

	return 0;
}
