/*
 * Fuzz the secure messaging parsers (apdu/sm.c, apdu/scp11.c) with hostile
 * bytes, from both ends.
 *
 * The first input byte picks what the rest feeds, modulo 6:
 *   0  host: unwrap a response (bytes 1-2 the SW, then the data) to a
 *      command just wrapped;
 *   1  host: the same, but the harness appends a correct R-MAC over the
 *      data, so decryption and the padding check see hostile cryptograms;
 *   2  card: decode the rest as a command APDU and unwrap it;
 *   3  card: a command (bytes 1-4 the header, then the body) with a correct
 *      C-MAC appended, so the card's decryption and padding check run;
 *   4  card: the SCP11 authenticate data field (byte 1 picks 11a or 11b);
 *   5  host: the card's answer to a fixed authenticate command.
 *
 * Checked: no memory error or undefined behaviour; a MAC or format failure
 * always closes the session (and wipes its keys); nothing is returned on
 * failure; a closed session refuses everything after; a session that
 * survives still talks to its peer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "internal.h"
#include "sm_internal.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Scalars of fixed test keys (not secret: fuzzing only). */
#define SK_SD "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721"
#define ESK_SD "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0"
#define SK_OCE "1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a"
#define ESK_OCE "2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70819"

static EVP_PKEY *
scalar_key(const char *hex)
{
	char der[200];
	uint8_t bin[100];
	const unsigned char *p = bin;
	size_t n;

	memcpy(der, "30310201010420", 14);
	memcpy(der + 14, hex, 64);
	memcpy(der + 78, "a00a06082a8648ce3d030107", 25);
	if (mici_hex_decode(der, bin, sizeof(bin), &n) != MIC_OK)
		abort();
	return d2i_AutoPrivateKey(NULL, &p, (long)n);
}

static void
fixed_keys(mici_sm_keys *k)
{
	size_t i;

	memset(k, 0, sizeof(*k));
	k->len = 16;
	for (i = 0; i < 16; i++) {
		k->enc[i] = (uint8_t)(0x10 + i);
		k->mac[i] = (uint8_t)(0x20 + i);
		k->rmac[i] = (uint8_t)(0x30 + i);
		k->dek[i] = (uint8_t)(0x40 + i);
	}
}

static int
ends_session(mic_rc rc)
{
	return rc == MIC_ERR_SM_MAC || rc == MIC_ERR_SM_FORMAT;
}

/* A closed session refuses everything, with its keys wiped. */
static void
check_closed(mici_sm *sm, mici_sm_role role)
{
	uint8_t buf[64], chain[16], zero[16];
	mici_sm_keys keys;
	mic_apdu a = { 0x80, 0xCA, 0, 0, buf, 8, 0, 0 }, w;
	size_t n;

	memset(buf, 0, sizeof(buf));
	memset(zero, 0, sizeof(zero));
	CHECK(!mici_sm_is_open(sm));
	mici_sm_peek(sm, &keys, chain, NULL);
	CHECK(memcmp(keys.mac, zero, 16) == 0 && memcmp(chain, zero, 16) == 0);
	if (role == MICI_SM_HOST) {
		CHECK(mici_sm_wrap_command(sm, &a, &w, buf, sizeof(buf)) ==
		    MIC_ERR_SM_CLOSED);
	} else {
		a.cla = 0x84;
		CHECK(mici_sm_unwrap_command(sm, &a, &w, buf, sizeof(buf)) ==
		    MIC_ERR_SM_CLOSED);
		CHECK(mici_sm_wrap_response(sm, NULL, 0, 0x9000, buf,
		    sizeof(buf), &n) == MIC_ERR_SM_CLOSED);
	}
}

/* A session that survived must still work with its peer. */
static void
check_alive(mici_sm *host, mici_sm *card)
{
	static const uint8_t d[3] = { 1, 2, 3 };
	mic_apdu a = { 0x80, 0xE2, 0, 0, d, 3, 0, 0 }, w, got;
	uint8_t cbuf[64], pbuf[64], rbuf[64], out[64];
	size_t len, olen;

	CHECK(mici_sm_wrap_command(host, &a, &w, cbuf, sizeof(cbuf)) ==
	    MIC_OK);
	CHECK(mici_sm_unwrap_command(card, &w, &got, pbuf, sizeof(pbuf)) ==
	    MIC_OK);
	CHECK(got.nc == 3 && memcmp(got.data, d, 3) == 0);
	CHECK(mici_sm_wrap_response(card, d, 3, 0x9000, rbuf, sizeof(rbuf),
	    &len) == MIC_OK);
	CHECK(mici_sm_unwrap_response(host, rbuf, len - 2, 0x9000, out,
	    sizeof(out), &olen) == MIC_OK);
	CHECK(olen == 3 && memcmp(out, d, 3) == 0);
}

static void
host_response(mici_sm *host, mici_sm *card, const uint8_t *data,
    size_t size, int good_mac)
{
	static const uint8_t d[2] = { 0x4F, 0x00 };
	mic_apdu a = { 0x80, 0xF2, 0x20, 0x00, d, 2, 0, 0 }, w, got;
	uint8_t cbuf[64], pbuf[64], chain[16], tail[2];
	mici_sm_keys keys;
	uint8_t *rsp, out[512];
	size_t len, olen = 1;
	uint16_t sw;
	mic_rc rc;

	if (size < 2)
		return;
	sw = mici_get_u16(data);
	data += 2;
	size -= 2;
	CHECK(mici_sm_wrap_command(host, &a, &w, cbuf, sizeof(cbuf)) ==
	    MIC_OK);
	CHECK(mici_sm_unwrap_command(card, &w, &got, pbuf, sizeof(pbuf)) ==
	    MIC_OK);
	if ((rsp = malloc(size + 8 + 1)) == NULL)
		return;
	memcpy(rsp, data, size);
	len = size;
	if (good_mac) {
		mici_sm_peek(host, &keys, chain, NULL);
		mici_put_u16(tail, sw);
		{
			uint8_t pre[16 + 512], mac[16];

			if (size > 512) {
				free(rsp);
				return;
			}
			memcpy(pre, chain, 16);
			memcpy(pre + 16, data, size);
			CHECK(mici_aes_cmac(keys.rmac, 16, pre, 16 + size, tail,
			    2, mac) == MIC_OK);
			memcpy(rsp + size, mac, 8);
			len = size + 8;
		}
	}
	rc = mici_sm_unwrap_response(host, rsp, len, sw, out, sizeof(out),
	    &olen);
	free(rsp);
	if (rc != MIC_OK)
		CHECK(olen == 0);
	if (ends_session(rc)) {
		check_closed(host, MICI_SM_HOST);
		return;
	}
	CHECK(rc == MIC_OK || rc == MIC_ERR_BUFFER_TOO_SMALL);
	/* The card answered nothing: give it its turn, then talk again. */
	CHECK(mici_sm_wrap_response(card, NULL, 0, 0x6F00, pbuf, sizeof(pbuf),
	    &len) == MIC_OK);
	check_alive(host, card);
}

static void
card_command(mici_sm *host, mici_sm *card, const uint8_t *data, size_t size,
    int good_mac)
{
	static uint8_t pbuf[MIC_APDU_NC_MAX_EXT];
	uint8_t chain[16], pre[23], mac[16], *body = NULL;
	mici_sm_keys keys;
	mic_apdu a, got;
	size_t hl;
	mic_rc rc;

	(void)host;
	if (!good_mac) {
		if (mic_apdu_decode(data, size, &a) != MIC_OK ||
		    (a.cla & MICI_SM_CLA_SM) == 0)
			return;
	} else {
		if (size < 4 || size - 4 > 4096)
			return;
		memset(&a, 0, sizeof(a));
		a.cla = (uint8_t)((data[0] & 0x83) | 0x04);
		a.ins = data[1];
		a.p1 = data[2];
		a.p2 = data[3];
		a.nc = size - 4 + 8;
		if ((body = malloc(a.nc)) == NULL)
			return;
		memcpy(body, data + 4, size - 4);
		mici_sm_peek(card, &keys, chain, NULL);
		memcpy(pre, chain, 16);
		pre[16] = (uint8_t)((a.cla & 0xF0) | 0x04);
		pre[17] = a.ins;
		pre[18] = a.p1;
		pre[19] = a.p2;
		if (a.nc <= 255) {
			pre[20] = (uint8_t)a.nc;
			hl = 21;
		} else {
			pre[20] = 0;
			mici_put_u16(pre + 21, (uint16_t)a.nc);
			hl = 23;
		}
		CHECK(mici_aes_cmac(keys.mac, 16, pre, hl, body, size - 4,
		    mac) == MIC_OK);
		memcpy(body + size - 4, mac, 8);
		a.data = body;
	}
	rc = mici_sm_unwrap_command(card, &a, &got, pbuf, sizeof(pbuf));
	free(body);
	if (ends_session(rc)) {
		check_closed(card, MICI_SM_CARD);
		return;
	}
	CHECK(rc == MIC_OK);
	CHECK(got.nc <= a.nc && (got.cla & MICI_SM_CLA_SM) == 0);
}

/*
 * The harness's fixed keys, decoded once: the harness may keep state, the
 * library may not. They stay reachable, so LeakSanitizer is quiet.
 */
static struct {
	EVP_PKEY *sk_sd, *esk_sd, *sk_oce, *esk_oce;
} pkeys;

static void
scp11(const uint8_t *data, size_t size, int card_side)
{
	EVP_PKEY *sk_sd, *esk_sd, *sk_oce, *esk_oce;
	uint8_t cmd[MICI_SCP11_AUTH_DATA_LEN], rsp[128];
	mici_scp11_variant v;
	mici_sm *sm = NULL;
	size_t len, rlen = 1;
	mic_rc rc;

	if (pkeys.sk_sd == NULL) {
		pkeys.sk_sd = scalar_key(SK_SD);
		pkeys.esk_sd = scalar_key(ESK_SD);
		pkeys.sk_oce = scalar_key(SK_OCE);
		pkeys.esk_oce = scalar_key(ESK_OCE);
	}
	sk_sd = pkeys.sk_sd;
	esk_sd = pkeys.esk_sd;
	sk_oce = pkeys.sk_oce;
	esk_oce = pkeys.esk_oce;
	if (sk_sd == NULL || esk_sd == NULL || sk_oce == NULL ||
	    esk_oce == NULL || size < 1)
		return;
	v = (data[0] & 1) != 0 ? MICI_SCP11A : MICI_SCP11B;
	if (card_side) {
		rc = mici_scp11_card_session(v, sk_sd, v == MICI_SCP11A ?
		    sk_oce : NULL, esk_sd, data + 1, size - 1, rsp, sizeof(rsp),
		    &rlen, &sm);
		CHECK((rc == MIC_OK) == (sm != NULL));
		CHECK(rc == MIC_OK ? rlen == MICI_SCP11_AUTH_RSP_LEN :
		    rlen == 0);
	} else {
		CHECK(mici_scp11_auth_data(v, esk_oce, cmd, sizeof(cmd),
		    &len) == MIC_OK);
		rc = mici_scp11_host_session(v, esk_oce, v == MICI_SCP11A ?
		    sk_oce : NULL, sk_sd, cmd, len, data + 1, size - 1, &sm);
		CHECK((rc == MIC_OK) == (sm != NULL));
	}
	mici_sm_free(&sm);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mici_sm *host = NULL, *card = NULL;
	mici_sm_keys sk;
	uint8_t chain[16];

	if (size < 1)
		return 0;
	if (data[0] % 6 >= 4) {
		scp11(data + 1, size - 1, data[0] % 6 == 4);
		return 0;
	}
	fixed_keys(&sk);
	memset(chain, 0xA5, sizeof(chain));
	if (mici_sm_new(&host, MICI_SM_HOST, &sk, chain,
	    MICI_SM_LEVEL_ALL) != MIC_OK ||
	    mici_sm_new(&card, MICI_SM_CARD, &sk, chain,
	    MICI_SM_LEVEL_ALL) != MIC_OK)
		goto done;
	switch (data[0] % 6) {
	case 0:
	case 1:
		host_response(host, card, data + 1, size - 1, data[0] % 6 == 1);
		break;
	default:
		card_command(host, card, data + 1, size - 1, data[0] % 6 == 3);
		break;
	}
done:
	mici_sm_free(&host);
	mici_sm_free(&card);
	return 0;
}
