/*
 * SCP03-style secure messaging (GlobalPlatform Card Specification v2.3
 * Amendment D, clause 6.2), both ends. SCP11 (Amendment F) ends its key
 * agreement by handing over to exactly these rules.
 *
 * Byte by byte, for a logical command CLA INS P1 P2 [Lc data] [Le]:
 *
 *   counter  += 1 for every command, with or without data      (6.2.6)
 *   ICV       = AES-ECB(S-ENC, counter as 16 bytes big-endian)  (6.2.6)
 *   data'     = AES-CBC(S-ENC, ICV, data || 80 00..)   only if data (6.2.6)
 *   Lc'       = len(data') + 8
 *   CLA'      = CLA | 04 on the wire; (CLA & F0) | 04 in the MAC, so the
 *               logical channel is left out                    (6.2.4)
 *   C-MAC     = CMAC(S-MAC, chain || CLA' INS P1 P2 Lc' || data')  (6.2.4)
 *   chain     = that full 16-byte CMAC; the APDU carries its first 8
 *   command   = CLA' INS P1 P2 Lc' data' C-MAC[0..7] [Le]
 *
 * and for the response data R and status word SW:
 *
 *   SW other than 9000, 62xx, 63xx: SW alone, no data, no R-MAC (6.2.5)
 *   ICV       = AES-ECB(S-ENC, 80 || counter on 15 bytes)       (6.2.7)
 *   R'        = AES-CBC(S-ENC, ICV, R || 80 00..)       only if R  (6.2.7)
 *   R-MAC     = CMAC(S-RMAC, chain || R' || SW)[0..7]           (6.2.5)
 *   response  = R' R-MAC SW
 *
 * Lc' inside the MAC is one byte when it is at most 255, otherwise 00 and
 * two bytes, as in an extended APDU (ISO/IEC 7816-4 5.1); it depends only
 * on the logical command, never on the length form or chaining on the wire.
 *
 * The response MAC is checked before the response is decrypted, and the
 * padding only after, so a bad padding cannot be an oracle. All MAC
 * comparisons are constant-time (CRYPTO_memcmp).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "internal.h"
#include "sm_internal.h"

#define SW_OK 0x9000u
#define PAD_BYTE 0x80u
#define RSP_ICV_MARK 0x80u
#define SCRATCH_SIZE (MIC_APDU_NE_MAX_EXT + MICI_SM_BLOCK)

struct mici_sm {
	mici_sm_role role;
	unsigned level;
	int open;
	int pending;             /* a command is waiting for its response */
	mici_sm_keys keys;
	uint8_t chain[MICI_SM_BLOCK];
	uint64_t counter;        /* encryption counter of the last command */
	char cbc_name[16];       /* "AES-128-CBC", also CMAC's cipher */
	char ecb_name[16];
	/* Fetched once per session, not per APDU (OpenSSL 3 fetch cost). */
	EVP_MAC *cmac;
	EVP_CIPHER *ecb;
	EVP_CIPHER *cbc;
	uint8_t *scratch;        /* plaintext before its padding is checked */
};

/* --- primitives ----------------------------------------------------------- */

static int
key_len_ok(size_t n)
{
	return n == 16 || n == 24 || n == 32;
}

static void
cipher_names(size_t key_len, char *cbc, char *ecb, size_t cap)
{
	/* The key length picks AES-128/192/256; CMAC runs on the CBC form. */
	snprintf(cbc, cap, "AES-%zu-CBC", key_len * 8);
	snprintf(ecb, cap, "AES-%zu-ECB", key_len * 8);
}

/* CMAC over the concatenation of @p n parts; @p alg NULL fetches CMAC. */
static mic_rc
cmac_parts(EVP_MAC *alg, const uint8_t *key, size_t key_len,
    const uint8_t *const *part, const size_t *part_len, size_t n,
    uint8_t mac[MICI_SM_BLOCK])
{
	EVP_MAC *m = NULL;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	char cbc[16], ecb[16];
	size_t i, out = 0;
	mic_rc rc = MIC_ERR_INTERNAL;

	cipher_names(key_len, cbc, ecb, sizeof(cbc));
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cbc,
	    0);
	params[1] = OSSL_PARAM_construct_end();
	if (alg == NULL && (alg = m = EVP_MAC_fetch(NULL, "CMAC", NULL)) ==
	    NULL) {
		mici_debug("%s: EVP_MAC CMAC", __func__);
		rc = MIC_ERR_UNSUPPORTED;
		goto fail;
	}
	if ((ctx = EVP_MAC_CTX_new(alg)) == NULL ||
	    EVP_MAC_init(ctx, key, key_len, params) != 1) {
		mici_debug("%s: init", __func__);
		goto fail;
	}
	for (i = 0; i < n; i++) {
		if (part_len[i] > 0 &&
		    EVP_MAC_update(ctx, part[i], part_len[i]) != 1) {
			mici_debug("%s: update", __func__);
			goto fail;
		}
	}
	if (EVP_MAC_final(ctx, mac, &out, MICI_SM_BLOCK) != 1 ||
	    out != MICI_SM_BLOCK) {
		mici_debug("%s: final", __func__);
		goto fail;
	}
	rc = MIC_OK;
fail:
	/* EVP_MAC_CTX_free cleanses the expanded key. */
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(m);

	return rc;
}

mic_rc
mici_aes_cmac(const uint8_t *key, size_t key_len, const uint8_t *a,
    size_t a_len, const uint8_t *b, size_t b_len, uint8_t mac[MICI_SM_BLOCK])
{
	const uint8_t *part[2];
	size_t part_len[2];

	if (key == NULL || mac == NULL || !key_len_ok(key_len) ||
	    (a == NULL && a_len > 0) || (b == NULL && b_len > 0)) {
		mici_debug("%s: invalid argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	part[0] = a;
	part_len[0] = a_len;
	part[1] = b;
	part_len[1] = b_len;

	return cmac_parts(NULL, key, key_len, part, part_len, 2, mac);
}

mic_rc
mici_x963_sha256(const uint8_t *z, size_t z_len, const uint8_t *info,
    size_t info_len, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *ctx = NULL;
	OSSL_PARAM params[4], *p = params;
	char digest[] = "SHA256";
	mic_rc rc = MIC_ERR_INTERNAL;

	if (z == NULL || z_len == 0 || out == NULL || out_len == 0 ||
	    (info == NULL && info_len > 0)) {
		mici_debug("%s: invalid argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest,
	    0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)(uintptr_t)z, z_len);
	if (info_len > 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
		    (void *)(uintptr_t)info, info_len);
	*p = OSSL_PARAM_construct_end();
	if ((kdf = EVP_KDF_fetch(NULL, "X963KDF", NULL)) == NULL ||
	    (ctx = EVP_KDF_CTX_new(kdf)) == NULL) {
		mici_debug("%s: EVP_KDF X963KDF", __func__);
		rc = MIC_ERR_UNSUPPORTED;
		goto fail;
	}
	if (EVP_KDF_derive(ctx, out, out_len, params) != 1) {
		mici_debug("%s: derive failed", __func__);
		OPENSSL_cleanse(out, out_len);
		goto fail;
	}
	rc = MIC_OK;
fail:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);

	return rc;
}

/*
 * AES with S-ENC: the ICV is AES-ECB of the counter block (6.2.6, 6.2.7),
 * then CBC over whole blocks, no padding by OpenSSL (the caller pads per
 * ISO/IEC 9797-1 method 2).
 */
static mic_rc
sm_cbc(const mici_sm *sm, int encrypt, int response, const uint8_t *in,
    size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t block[MICI_SM_BLOCK], icv[MICI_SM_BLOCK];
	uint64_t c = sm->counter;
	int n, fin;
	size_t i;
	mic_rc rc = MIC_ERR_INTERNAL;

	if (len == 0 || len % MICI_SM_BLOCK != 0 || len > INT32_MAX)
		return MIC_ERR_INTERNAL;
	memset(block, 0, sizeof(block));
	for (i = 0; i < 8; i++)
		block[MICI_SM_BLOCK - 1 - i] = (uint8_t)(c >> (8 * i));
	/* 6.2.7: the response ICV's block starts with 80. */
	if (response)
		block[0] = RSP_ICV_MARK;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL) {
		mici_debug("%s: EVP_CIPHER_CTX_new", __func__);
		goto fail;
	}
	if (EVP_EncryptInit_ex2(ctx, sm->ecb, sm->keys.enc, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
	    EVP_EncryptUpdate(ctx, icv, &n, block, MICI_SM_BLOCK) != 1 ||
	    n != MICI_SM_BLOCK ||
	    EVP_EncryptFinal_ex(ctx, icv + n, &fin) != 1 || fin != 0) {
		mici_debug("%s: ICV", __func__);
		goto fail;
	}
	if (EVP_CipherInit_ex2(ctx, sm->cbc, sm->keys.enc, icv, encrypt,
	    NULL) != 1 || EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
	    EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1 ||
	    (size_t)n != len || EVP_CipherFinal_ex(ctx, out + n, &fin) != 1 ||
	    fin != 0) {
		mici_debug("%s: CBC", __func__);
		goto fail;
	}
	rc = MIC_OK;
fail:
	/* EVP_CIPHER_CTX_free cleanses the key schedule. */
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_cleanse(icv, sizeof(icv));

	return rc;
}

/* ISO/IEC 9797-1 padding method 2 (GP CS B.2.3): 80, then 00 to a block. */
static size_t
pad_len(size_t n)
{
	return (n / MICI_SM_BLOCK + 1) * MICI_SM_BLOCK;
}

static size_t
pad(uint8_t *buf, size_t n)
{
	size_t total = pad_len(n);

	buf[n] = PAD_BYTE;
	memset(buf + n + 1, 0, total - n - 1);
	return total;
}

/*
 * Strip method-2 padding from whole blocks: at most 15 zeros after the 80,
 * all within the last block. Anything else is a malformed cryptogram.
 */
static int
unpad(const uint8_t *buf, size_t n, size_t *plain)
{
	size_t i = n;

	while (i > 0 && n - i < MICI_SM_BLOCK && buf[i - 1] == 0)
		i--;
	if (i == 0 || n - i >= MICI_SM_BLOCK || buf[i - 1] != PAD_BYTE)
		return 0;
	*plain = i - 1;
	return 1;
}

/* The C-MAC header: class with SM and without channel (6.2.4), and Lc'. */
static size_t
mac_header(const mic_apdu *a, uint8_t cla, size_t lc, uint8_t *h)
{
	h[0] = (uint8_t)((cla & 0xF0u) | MICI_SM_CLA_SM);
	h[1] = a->ins;
	h[2] = a->p1;
	h[3] = a->p2;
	if (lc <= MIC_APDU_NC_MAX_SHORT) {
		h[4] = (uint8_t)lc;
		return 5;
	}
	h[4] = 0;
	mici_put_u16(h + 5, (uint16_t)lc);
	return 7;
}

/* CMAC(key, chain || a || b): C-MAC (6.2.4) and R-MAC (6.2.5) alike. */
static mic_rc
sm_mac(const mici_sm *sm, const uint8_t *key, const uint8_t *a, size_t a_len,
    const uint8_t *b, size_t b_len, uint8_t mac[MICI_SM_BLOCK])
{
	const uint8_t *part[3];
	size_t part_len[3];

	part[0] = sm->chain;
	part_len[0] = MICI_SM_BLOCK;
	part[1] = a;
	part_len[1] = a_len;
	part[2] = b;
	part_len[2] = b_len;

	return cmac_parts(sm->cmac, key, sm->keys.len, part, part_len, 3, mac);
}

/* --- the session ---------------------------------------------------------- */

static int
level_ok(unsigned level)
{
	if ((level & ~MICI_SM_LEVEL_ALL) != 0 || (level & MICI_SM_C_MAC) == 0)
		return 0;
	/* Amd D 7.1.2: R-ENCRYPTION only with C-DECRYPTION and R-MAC. */
	if ((level & MICI_SM_R_ENC) != 0 && ((level & MICI_SM_R_MAC) == 0 ||
	    (level & MICI_SM_C_DEC) == 0))
		return 0;
	return 1;
}

mic_rc
mici_sm_new(mici_sm **out, mici_sm_role role, const mici_sm_keys *keys,
    const uint8_t chain[MICI_SM_BLOCK], unsigned level)
{
	mici_sm *sm = NULL;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || keys == NULL || chain == NULL ||
	    !key_len_ok(keys->len) || !level_ok(level) ||
	    (role != MICI_SM_HOST && role != MICI_SM_CARD)) {
		mici_debug("%s: invalid argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((sm = OPENSSL_zalloc(sizeof(*sm))) == NULL ||
	    (sm->scratch = OPENSSL_malloc(SCRATCH_SIZE)) == NULL) {
		mici_debug("%s: malloc", __func__);
		OPENSSL_free(sm);
		return MIC_ERR_NOMEM;
	}
	sm->role = role;
	sm->level = level;
	sm->keys = *keys;
	memcpy(sm->chain, chain, MICI_SM_BLOCK);
	cipher_names(keys->len, sm->cbc_name, sm->ecb_name,
	    sizeof(sm->cbc_name));
	if ((sm->cmac = EVP_MAC_fetch(NULL, "CMAC", NULL)) == NULL ||
	    (sm->ecb = EVP_CIPHER_fetch(NULL, sm->ecb_name, NULL)) == NULL ||
	    (sm->cbc = EVP_CIPHER_fetch(NULL, sm->cbc_name, NULL)) == NULL) {
		mici_debug("%s: OpenSSL has no %s or CMAC", __func__,
		    sm->cbc_name);
		mici_sm_free(&sm);
		return MIC_ERR_UNSUPPORTED;
	}
	sm->open = 1;
	*out = sm;

	return MIC_OK;
}

void
mici_sm_close(mici_sm *sm)
{
	if (sm == NULL)
		return;
	OPENSSL_cleanse(&sm->keys, sizeof(sm->keys));
	OPENSSL_cleanse(sm->chain, sizeof(sm->chain));
	OPENSSL_cleanse(sm->scratch, SCRATCH_SIZE);
	sm->counter = 0;
	sm->pending = 0;
	sm->open = 0;
}

void
mici_sm_free(mici_sm **smp)
{
	mici_sm *sm;

	if (smp == NULL || (sm = *smp) == NULL)
		return;
	mici_sm_close(sm);
	EVP_MAC_free(sm->cmac);
	EVP_CIPHER_free(sm->ecb);
	EVP_CIPHER_free(sm->cbc);
	OPENSSL_free(sm->scratch);
	OPENSSL_clear_free(sm, sizeof(*sm));
	*smp = NULL;
}

int
mici_sm_is_open(const mici_sm *sm)
{
	return sm != NULL && sm->open;
}

void
mici_sm_peek(const mici_sm *sm, mici_sm_keys *keys,
    uint8_t chain[MICI_SM_BLOCK], uint64_t *counter)
{
	if (sm == NULL)
		return;
	if (keys != NULL)
		*keys = sm->keys;
	if (chain != NULL)
		memcpy(chain, sm->chain, MICI_SM_BLOCK);
	if (counter != NULL)
		*counter = sm->counter;
}

int
mici_sm_sw_is_error(uint16_t sw)
{
	uint8_t sw1 = (uint8_t)(sw >> 8);

	return sw != SW_OK && sw1 != 0x62u && sw1 != 0x63u;
}

static mic_rc
sm_check(const mici_sm *sm, mici_sm_role role, const char *fn)
{
	if (!sm->open) {
		mici_debug("%s: session closed", fn);
		return MIC_ERR_SM_CLOSED;
	}
	if (sm->role != role) {
		mici_debug("%s: wrong role", fn);
		return MIC_ERR_STATE;
	}
	return MIC_OK;
}

/* A failure that ends the session: log it, wipe everything. */
static mic_rc
sm_fail(mici_sm *sm, mic_rc rc, const char *fn, const char *what)
{
	mici_debug("%s: %s; session closed", fn, what);
	mici_sm_close(sm);
	return rc;
}

/* --- host ----------------------------------------------------------------- */

mic_rc
mici_sm_wrap_command(mici_sm *sm, const mic_apdu *in, mic_apdu *out,
    uint8_t *buf, size_t cap)
{
	uint8_t hdr[7], mac[MICI_SM_BLOCK];
	size_t body, lc, hlen;
	mic_rc rc;

	if (sm == NULL || in == NULL || out == NULL || buf == NULL ||
	    (in->data == NULL && in->nc > 0)) {
		mici_debug("%s: invalid argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((rc = sm_check(sm, MICI_SM_HOST, __func__)) != MIC_OK)
		return rc;
	/*
	 * Only classes whose b4 b3 carry secure messaging and b5 chaining,
	 * still unset: the interindustry 00-03 and GlobalPlatform's 80-83.
	 */
	if ((in->cla & 0x7Cu) != 0) {
		mici_debug("%s: CLA %02X", __func__, in->cla);
		return MIC_ERR_UNSUPPORTED;
	}
	if (in->nc > MICI_SM_NC_MAX) {
		mici_debug("%s: nc=%zu", __func__, in->nc);
		return MIC_ERR_APDU_TOO_LONG;
	}
	body = (sm->level & MICI_SM_C_DEC) != 0 && in->nc > 0 ?
	    pad_len(in->nc) : in->nc;
	lc = body + MICI_SM_MAC_LEN;
	if (cap < lc) {
		mici_debug("%s: %zu bytes in %zu", __func__, lc, cap);
		return MIC_ERR_BUFFER_TOO_SMALL;
	}
	/* 6.2.6: the counter moves for every command, data or not. */
	sm->counter++;
	if (in->nc > 0)
		memcpy(buf, in->data, in->nc);
	if (body != in->nc) {
		pad(buf, in->nc);
		if ((rc = sm_cbc(sm, 1, 0, buf, body, buf)) != MIC_OK) {
			OPENSSL_cleanse(buf, body);
			return sm_fail(sm, rc, __func__, "encrypt");
		}
	}
	hlen = mac_header(in, in->cla, lc, hdr);
	if ((rc = sm_mac(sm, sm->keys.mac, hdr, hlen, buf, body, mac)) !=
	    MIC_OK)
		return sm_fail(sm, rc, __func__, "C-MAC");
	memcpy(sm->chain, mac, MICI_SM_BLOCK);
	memcpy(buf + body, mac, MICI_SM_MAC_LEN);
	OPENSSL_cleanse(mac, sizeof(mac));
	out->cla = (uint8_t)(in->cla | MICI_SM_CLA_SM);
	out->ins = in->ins;
	out->p1 = in->p1;
	out->p2 = in->p2;
	out->data = buf;
	out->nc = lc;
	out->ne = in->ne;
	out->flags = in->flags;
	sm->pending = 1;

	return MIC_OK;
}

mic_rc
mici_sm_unwrap_response(mici_sm *sm, const uint8_t *rsp, size_t len,
    uint16_t sw, uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t tail[2], mac[MICI_SM_BLOCK];
	size_t body = len, plain = len;
	const uint8_t *src = rsp;
	int bad;
	mic_rc rc;

	if (out_len != NULL)
		*out_len = 0;
	if (sm == NULL || out_len == NULL || (rsp == NULL && len > 0) ||
	    (out == NULL && cap > 0)) {
		mici_debug("%s: invalid argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((rc = sm_check(sm, MICI_SM_HOST, __func__)) != MIC_OK)
		return rc;
	if (!sm->pending) {
		mici_debug("%s: no command outstanding", __func__);
		return MIC_ERR_STATE;
	}
	sm->pending = 0;
	/* 6.2.5: an error status word travels alone and unprotected. */
	if (mici_sm_sw_is_error(sw)) {
		if (len != 0)
			return sm_fail(sm, MIC_ERR_SM_FORMAT, __func__,
			    "data with an error status word");
		return MIC_OK;
	}
	if ((sm->level & MICI_SM_R_MAC) != 0) {
		if (len < MICI_SM_MAC_LEN)
			return sm_fail(sm, MIC_ERR_SM_FORMAT, __func__,
			    "no room for an R-MAC");
		body = len - MICI_SM_MAC_LEN;
		mici_put_u16(tail, sw);
		if ((rc = sm_mac(sm, sm->keys.rmac, rsp, body, tail,
		    sizeof(tail), mac)) != MIC_OK)
			return sm_fail(sm, rc, __func__, "R-MAC");
		bad = CRYPTO_memcmp(mac, rsp + body, MICI_SM_MAC_LEN);
		OPENSSL_cleanse(mac, sizeof(mac));
		if (bad)
			return sm_fail(sm, MIC_ERR_SM_MAC, __func__,
			    "R-MAC does not verify");
		plain = body;
	}
	/* 6.2.7: a response without data is not encrypted. */
	if ((sm->level & MICI_SM_R_ENC) != 0 && body > 0) {
		if (body % MICI_SM_BLOCK != 0)
			return sm_fail(sm, MIC_ERR_SM_FORMAT, __func__,
			    "cryptogram not whole blocks");
		if ((rc = sm_cbc(sm, 0, 1, rsp, body, sm->scratch)) != MIC_OK)
			return sm_fail(sm, rc, __func__, "decrypt");
		if (!unpad(sm->scratch, body, &plain))
			return sm_fail(sm, MIC_ERR_SM_FORMAT, __func__,
			    "bad padding");
		src = sm->scratch;
	}
	if (plain > cap) {
		mici_debug("%s: %zu bytes in %zu", __func__, plain, cap);
		rc = MIC_ERR_BUFFER_TOO_SMALL;
		goto done;
	}
	if (plain > 0)
		memcpy(out, src, plain);
	*out_len = plain;
	rc = MIC_OK;
done:
	if (src == sm->scratch)
		OPENSSL_cleanse(sm->scratch, body);

	return rc;
}

/* --- card ----------------------------------------------------------------- */

mic_rc
mici_sm_unwrap_command(mici_sm *sm, const mic_apdu *in, mic_apdu *out,
    uint8_t *buf, size_t cap)
{
	uint8_t hdr[7], mac[MICI_SM_BLOCK];
	size_t body, hlen, plain;
	int bad;
	mic_rc rc;

	if (sm == NULL || in == NULL || out == NULL ||
	    (in->data == NULL && in->nc > 0) || (buf == NULL && cap > 0) ||
	    (in->cla & MICI_SM_CLA_SM) == 0) {
		mici_debug("%s: invalid argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((rc = sm_check(sm, MICI_SM_CARD, __func__)) != MIC_OK)
		return rc;
	/*
	 * GlobalPlatform's indication only (b4 = 0), no chaining bit (the
	 * chain is reassembled), the classes wrap_command produces.
	 */
	if ((in->cla & 0x7Cu) != MICI_SM_CLA_SM)
		return sm_fail(sm, MIC_ERR_SM_FORMAT, __func__, "CLA");
	if (in->nc < MICI_SM_MAC_LEN || in->nc > MIC_APDU_NC_MAX_EXT)
		return sm_fail(sm, MIC_ERR_SM_FORMAT, __func__,
		    "no room for a C-MAC");
	body = in->nc - MICI_SM_MAC_LEN;
	hlen = mac_header(in, in->cla, in->nc, hdr);
	if ((rc = sm_mac(sm, sm->keys.mac, hdr, hlen, in->data, body, mac)) !=
	    MIC_OK)
		return sm_fail(sm, rc, __func__, "C-MAC");
	bad = CRYPTO_memcmp(mac, in->data + body, MICI_SM_MAC_LEN);
	if (bad) {
		OPENSSL_cleanse(mac, sizeof(mac));
		return sm_fail(sm, MIC_ERR_SM_MAC, __func__,
		    "C-MAC does not verify");
	}
	/* The command counts from here on, whatever happens to its data. */
	memcpy(sm->chain, mac, MICI_SM_BLOCK);
	OPENSSL_cleanse(mac, sizeof(mac));
	sm->counter++;
	sm->pending = 1;
	plain = body;
	if ((sm->level & MICI_SM_C_DEC) != 0 && body > 0) {
		if (body % MICI_SM_BLOCK != 0)
			return sm_fail(sm, MIC_ERR_SM_FORMAT, __func__,
			    "cryptogram not whole blocks");
		if ((rc = sm_cbc(sm, 0, 0, in->data, body, sm->scratch)) !=
		    MIC_OK)
			return sm_fail(sm, rc, __func__, "decrypt");
		if (!unpad(sm->scratch, body, &plain)) {
			OPENSSL_cleanse(sm->scratch, body);
			return sm_fail(sm, MIC_ERR_SM_FORMAT, __func__,
			    "bad padding");
		}
		if (plain > cap) {
			OPENSSL_cleanse(sm->scratch, body);
			mici_debug("%s: %zu bytes in %zu", __func__, plain,
			    cap);
			return MIC_ERR_BUFFER_TOO_SMALL;
		}
		if (plain > 0)
			memcpy(buf, sm->scratch, plain);
		OPENSSL_cleanse(sm->scratch, body);
	} else {
		if (plain > cap) {
			mici_debug("%s: %zu bytes in %zu", __func__, plain,
			    cap);
			return MIC_ERR_BUFFER_TOO_SMALL;
		}
		if (plain > 0)
			memcpy(buf, in->data, plain);
	}
	out->cla = (uint8_t)(in->cla & ~MICI_SM_CLA_SM);
	out->ins = in->ins;
	out->p1 = in->p1;
	out->p2 = in->p2;
	out->data = plain > 0 ? buf : NULL;
	out->nc = plain;
	out->ne = in->ne;
	out->flags = 0;

	return MIC_OK;
}

mic_rc
mici_sm_wrap_response(mici_sm *sm, const uint8_t *data, size_t len,
    uint16_t sw, uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t tail[2], mac[MICI_SM_BLOCK];
	size_t body, total;
	mic_rc rc;

	if (out_len != NULL)
		*out_len = 0;
	if (sm == NULL || out == NULL || out_len == NULL ||
	    (data == NULL && len > 0)) {
		mici_debug("%s: invalid argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((rc = sm_check(sm, MICI_SM_CARD, __func__)) != MIC_OK)
		return rc;
	if (!sm->pending) {
		mici_debug("%s: no command to answer", __func__);
		return MIC_ERR_STATE;
	}
	mici_put_u16(tail, sw);
	/* 6.2.5: an error status word goes alone, without protection. */
	if (mici_sm_sw_is_error(sw)) {
		if (cap < 2) {
			mici_debug("%s: no room for a SW", __func__);
			return MIC_ERR_BUFFER_TOO_SMALL;
		}
		memcpy(out, tail, 2);
		*out_len = 2;
		sm->pending = 0;
		return MIC_OK;
	}
	if (len > MICI_SM_NC_MAX) {
		mici_debug("%s: %zu bytes", __func__, len);
		return MIC_ERR_APDU_TOO_LONG;
	}
	body = (sm->level & MICI_SM_R_ENC) != 0 && len > 0 ? pad_len(len) : len;
	total = body + ((sm->level & MICI_SM_R_MAC) != 0 ? MICI_SM_MAC_LEN : 0);
	if (cap < total + 2) {
		mici_debug("%s: %zu bytes in %zu", __func__, total + 2, cap);
		return MIC_ERR_BUFFER_TOO_SMALL;
	}
	sm->pending = 0;
	if (len > 0)
		memmove(out, data, len);
	if (body != len) {
		pad(out, len);
		if ((rc = sm_cbc(sm, 1, 1, out, body, out)) != MIC_OK) {
			OPENSSL_cleanse(out, body);
			return sm_fail(sm, rc, __func__, "encrypt");
		}
	}
	if ((sm->level & MICI_SM_R_MAC) != 0) {
		if ((rc = sm_mac(sm, sm->keys.rmac, out, body, tail,
		    sizeof(tail), mac)) != MIC_OK)
			return sm_fail(sm, rc, __func__, "R-MAC");
		memcpy(out + body, mac, MICI_SM_MAC_LEN);
		OPENSSL_cleanse(mac, sizeof(mac));
	}
	memcpy(out + total, tail, 2);
	*out_len = total + 2;

	return MIC_OK;
}

/* --- the mic_tx_t layer --------------------------------------------------- */

static mic_rc
host_wrap(void *ctx, const mic_apdu *cmd, mic_apdu *out, uint8_t *buf,
    size_t cap)
{
	return mici_sm_wrap_command(ctx, cmd, out, buf, cap);
}

static mic_rc
host_unwrap(void *ctx, const uint8_t *rsp, size_t rsp_len, uint16_t sw,
    uint8_t *out, size_t cap, size_t *out_len)
{
	return mici_sm_unwrap_response(ctx, rsp, rsp_len, sw, out, cap,
	    out_len);
}

static void
host_close(void *ctx)
{
	mici_sm *sm = ctx;

	mici_sm_free(&sm);
}

static const mic_tx_sm_ops host_ops = {
	.wrap = host_wrap,
	.unwrap = host_unwrap,
	.close = host_close,
};

const mic_tx_sm_ops *
mici_sm_host_ops(void)
{
	return &host_ops;
}
