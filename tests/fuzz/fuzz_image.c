/*
 * The card image parser, and the card engine's loader behind it, against
 * arbitrary files.
 *
 * Input: one option byte, then the image bytes. Option bit 0: put a
 * correct SHA-256 over the image before parsing (when the length field
 * fits the input), so that the fuzzer gets past the checksum and into
 * vc_card_load()'s own checks of the card state, which a real attacker
 * with a text editor and sha256sum reaches just as easily.
 *
 * Invariants: a parse that succeeds points into the input at the right
 * place, and encoding its state again gives back the same bytes; a state
 * the engine loads gives back the same bytes from vc_card_nv(), and the
 * loaded card answers a SELECT.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "image.h"
#include "vcard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fix_checksum(uint8_t *buf, size_t len)
{
	size_t n, body;

	if (len < VC_IMAGE_HEADER_LEN)
		return;
	n = (size_t)buf[12] << 24 | (size_t)buf[13] << 16 |
	    (size_t)buf[14] << 8 | buf[15];
	body = VC_IMAGE_HEADER_LEN + n;
	if (n > VC_IMAGE_NV_MAX || len < body + VC_IMAGE_HASH_LEN)
		return;
	if (EVP_Digest(buf, body, buf + body, NULL, EVP_sha256(), NULL) != 1)
		abort();
}

static void
check_card(const uint8_t *nv, size_t nv_len)
{
	static const uint8_t select[] = { 0x00, 0xA4, 0x04, 0x00, 0x09, 0xD1,
		0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01, 0x00 };
	uint8_t rsp[512];
	vc_card *card = NULL;
	const uint8_t *back;
	size_t back_len, n = sizeof(rsp);

	if (vc_card_load(&card, nv, nv_len, 0) != MIC_OK) {
		if (card != NULL)
			abort();
		return;
	}
	vc_card_nv(card, &back, &back_len);
	if (back_len != nv_len || memcmp(back, nv, nv_len) != 0)
		abort();
	if (vc_card_transmit(card, select, sizeof(select), rsp, &n) != MIC_OK ||
	    n < 2)
		abort();
	vc_card_free(&card);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf, *again;
	const uint8_t *nv = NULL;
	size_t nv_len = 0, len, again_len = 0;

	if (size < 1 || size > VC_IMAGE_MAX + 1)
		return 0;
	len = size - 1;
	if ((buf = malloc(len + 1)) == NULL)
		return 0;
	memcpy(buf, data + 1, len);
	if (data[0] & 0x01)
		fix_checksum(buf, len);
	if (vc_image_parse(buf, len, &nv, &nv_len) != VC_IMAGE_OK) {
		if (nv != NULL || nv_len != 0)
			abort();
		free(buf);
		return 0;
	}
	if (nv != buf + VC_IMAGE_HEADER_LEN ||
	    nv_len + VC_IMAGE_HEADER_LEN + VC_IMAGE_HASH_LEN != len)
		abort();
	if ((again = malloc(len)) == NULL)
		abort();
	if (vc_image_encode(nv, nv_len, again, len, &again_len) !=
	    VC_IMAGE_OK || again_len != len || memcmp(again, buf, len) != 0)
		abort();
	free(again);
	check_card(nv, nv_len);
	free(buf);
	return 0;
}
