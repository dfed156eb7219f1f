/*
 * SCP11 key agreement (GlobalPlatform Card Specification v2.3 Amendment F),
 * both ends, for the P-256 / AES-128 suite of the MIC profile.
 *
 * The OCE (terminal) sends, in INTERNAL AUTHENTICATE (11b, INS 88) or
 * MUTUAL AUTHENTICATE (11a, INS 82), the data field of 7.6.2.3:
 *
 *   A6 0D                      control reference template for key agreement
 *      90 02 11 0v             SCP 11, parameter v: 00 = 11b, 01 = 11a
 *      95 01 3C                key usage: C-MAC, R-MAC, C-DEC, R-ENC
 *      80 01 88                key type: AES
 *      81 01 10                key length: 16
 *   5F49 41 04 X Y             ePK.OCE.ECKA, uncompressed
 *
 * and the card answers
 *
 *   5F49 41 04 X Y             ePK.SD.ECKA
 *   86 10 receipt
 *
 * Both ends compute (3.1.2), with ECDH the x-coordinate (SEC 1 ECDH):
 *
 *   ShSee = ECDH(eSK.OCE, ePK.SD)   = ECDH(eSK.SD, ePK.OCE)
 *   ShSes = ECDH(SK.OCE, PK.SD)     = ECDH(SK.SD, PK.OCE)
 *           where for 11b the OCE has no static key and uses eSK.OCE
 *   K     = X9.63-KDF-SHA256(ShSee || ShSes, SharedInfo = 3C 88 10), 80 bytes
 *   receipt key, S-ENC, S-MAC, S-RMAC, S-DEK = K in 16-byte pieces, in order
 *   receipt = AES-CMAC(receipt key, command data field || the card's 5F49 TLV)
 *
 * and start SCP03-style messaging with the receipt as first MAC chaining
 * value and every protection on (sm.c).
 *
 * Everything secret (shared secrets, KDF output, receipt key) is cleansed
 * before return, on every path.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>

#include <mic/tlv.h>

#include "internal.h"
#include "sm_internal.h"

#define SCP11_ID 0x11u
#define KEY_USAGE 0x3Cu
#define KEY_TYPE_AES 0x88u
#define KEY_LEN 16u
#define FIELD_LEN 32u              /* P-256 x-coordinate */
#define KDF_LEN (5u * KEY_LEN)
#define TAG_CRT 0xA6u
#define TAG_SCP_ID 0x90u
#define TAG_KEY_USAGE 0x95u
#define TAG_KEY_TYPE 0x80u
#define TAG_KEY_LEN 0x81u
#define TAG_EPK 0x5F49u
#define TAG_RECEIPT 0x86u
#define CURVE_NAME SN_X9_62_prime256v1

int
mici_scp11_key_ok(EVP_PKEY *pkey)
{
	char name[32];
	size_t n = 0;

	if (pkey == NULL || !EVP_PKEY_is_a(pkey, "EC") ||
	    EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
	    name, sizeof(name), &n) != 1)
		return 0;

	return strcmp(name, CURVE_NAME) == 0;
}

mic_rc
mici_scp11_point(EVP_PKEY *pkey, uint8_t point[MICI_SCP11_POINT_LEN])
{
	size_t n = 0;

	if (!mici_scp11_key_ok(pkey) || point == NULL) {
		mici_debug("%s: not a P-256 key", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (EVP_PKEY_get_octet_string_param(pkey,
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point, MICI_SCP11_POINT_LEN,
	    &n) != 1 || n != MICI_SCP11_POINT_LEN || point[0] != 0x04) {
		mici_debug("%s: no uncompressed point", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}

	return MIC_OK;
}

/*
 * A peer's public key from its uncompressed point. OpenSSL checks that the
 * point is on the curve when it decodes it; the quick public-key check is
 * SP 800-56A r3 5.6.2.3.4 (not infinity, coordinates in range, on the
 * curve), so no invalid-curve point reaches ECDH. The full check's last
 * step, n*Q = O, adds nothing on P-256: its cofactor is 1, so every point
 * on the curve but infinity has order n.
 */
static mic_rc
point_key(const uint8_t *pt, size_t len, EVP_PKEY **out)
{
	EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
	OSSL_PARAM params[3];
	char group[] = CURVE_NAME;
	mic_rc rc = MIC_ERR_SM_AUTH;

	*out = NULL;
	if (len != MICI_SCP11_POINT_LEN || pt[0] != 0x04) {
		mici_debug("%s: not an uncompressed P-256 point", __func__);
		return MIC_ERR_SM_AUTH;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)(uintptr_t)pt, len);
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1) {
		mici_debug("%s: EVP_PKEY_fromdata_init", __func__);
		rc = MIC_ERR_INTERNAL;
		goto fail;
	}
	if (EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		mici_debug("%s: point not on the curve", __func__);
		goto fail;
	}
	if ((chk = EVP_PKEY_CTX_new_from_pkey(NULL, *out, NULL)) == NULL ||
	    EVP_PKEY_public_check_quick(chk) != 1) {
		mici_debug("%s: public key check", __func__);
		goto fail;
	}
	rc = MIC_OK;
fail:
	if (rc != MIC_OK) {
		EVP_PKEY_free(*out);
		*out = NULL;
	}
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);

	return rc;
}

/*
 * ECDH (SEC 1 3.3.1): the x-coordinate, 32 bytes. A @p peer not
 * @p checked by point_key() gets the same quick check here: a caller's
 * static key may come from anywhere. EVP_PKEY_derive_set_peer's own
 * check would be the full one, whose extra multiplication point_key()
 * says P-256 does not need.
 */
static mic_rc
ecdh(EVP_PKEY *priv, EVP_PKEY *peer, int checked, uint8_t out[FIELD_LEN])
{
	EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
	size_t n = FIELD_LEN;
	mic_rc rc = MIC_ERR_SM_AUTH;

	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL)) == NULL ||
	    EVP_PKEY_derive_init(ctx) != 1) {
		mici_debug("%s: derive init", __func__);
		rc = MIC_ERR_INTERNAL;
		goto fail;
	}
	if ((!checked &&
	    ((chk = EVP_PKEY_CTX_new_from_pkey(NULL, peer, NULL)) == NULL ||
	    EVP_PKEY_public_check_quick(chk) != 1)) ||
	    EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) != 1 ||
	    EVP_PKEY_derive(ctx, out, &n) != 1 || n != FIELD_LEN) {
		mici_debug("%s: ECDH failed", __func__);
		OPENSSL_cleanse(out, FIELD_LEN);
		goto fail;
	}
	rc = MIC_OK;
fail:
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);

	return rc;
}

/*
 * 3.1.2: K = X9.63(ShSee || ShSes, 3C 88 10); the receipt key first, then
 * S-ENC, S-MAC, S-RMAC, S-DEK. @p z is cleansed here.
 */
static mic_rc
derive(uint8_t z[2 * FIELD_LEN], uint8_t receipt_key[KEY_LEN],
    mici_sm_keys *keys)
{
	static const uint8_t shared_info[] = {
	    KEY_USAGE, KEY_TYPE_AES, KEY_LEN
	};
	uint8_t k[KDF_LEN];
	mic_rc rc;

	rc = mici_x963_sha256(z, 2 * FIELD_LEN, shared_info,
	    sizeof(shared_info), k, sizeof(k));
	OPENSSL_cleanse(z, 2 * FIELD_LEN);
	if (rc != MIC_OK) {
		mici_debug("%s: X9.63 KDF", __func__);
		return rc;
	}
	memset(keys, 0, sizeof(*keys));
	memcpy(receipt_key, k, KEY_LEN);
	memcpy(keys->enc, k + KEY_LEN, KEY_LEN);
	memcpy(keys->mac, k + 2 * KEY_LEN, KEY_LEN);
	memcpy(keys->rmac, k + 3 * KEY_LEN, KEY_LEN);
	memcpy(keys->dek, k + 4 * KEY_LEN, KEY_LEN);
	keys->len = KEY_LEN;
	OPENSSL_cleanse(k, sizeof(k));

	return MIC_OK;
}

mic_rc
mici_scp11_auth_data(mici_scp11_variant v, EVP_PKEY *epk_oce, uint8_t *buf,
    size_t cap, size_t *len)
{
	uint8_t point[MICI_SCP11_POINT_LEN];
	uint8_t param[2];
	uint8_t byte;
	mic_tlv_writer w;
	mic_rc rc;

	if (buf == NULL || len == NULL ||
	    (v != MICI_SCP11A && v != MICI_SCP11B)) {
		mici_debug("%s: invalid argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	*len = 0;
	if ((rc = mici_scp11_point(epk_oce, point)) != MIC_OK)
		return rc;
	param[0] = SCP11_ID;
	param[1] = (uint8_t)v;
	mic_tlv_writer_init(&w, buf, cap);
	mic_tlv_open(&w, TAG_CRT);
	mic_tlv_put(&w, TAG_SCP_ID, param, sizeof(param));
	byte = KEY_USAGE;
	mic_tlv_put(&w, TAG_KEY_USAGE, &byte, 1);
	byte = KEY_TYPE_AES;
	mic_tlv_put(&w, TAG_KEY_TYPE, &byte, 1);
	byte = KEY_LEN;
	mic_tlv_put(&w, TAG_KEY_LEN, &byte, 1);
	mic_tlv_close(&w);
	mic_tlv_put(&w, TAG_EPK, point, sizeof(point));
	if ((rc = mic_tlv_writer_finish(&w, len)) != MIC_OK) {
		mici_debug("%s: %d", __func__, (int)rc);
		*len = 0;
		return rc;
	}

	return MIC_OK;
}

/* Exactly one TLV with @p tag and @p vlen value bytes at the start of p. */
static int
take_tlv(const uint8_t **p, size_t *left, uint32_t tag, size_t vlen,
    mic_tlv *t)
{
	if (mic_tlv_parse(*p, *left, t) != MIC_OK || t->tag != tag ||
	    t->len != vlen)
		return 0;
	*p += t->raw_len;
	*left -= t->raw_len;
	return 1;
}

/*
 * Parse the authenticate data field strictly: the template exactly as
 * 7.6.2.3 has it, in that order, for the expected variant, then the point,
 * then nothing. A card accepts no other parameters (6A80).
 */
static int
parse_auth_data(mici_scp11_variant v, const uint8_t *cmd, size_t len,
    const uint8_t **point)
{
	const uint8_t *p = cmd, *q;
	size_t left = len, qleft;
	mic_tlv crt, t;

	if (cmd == NULL || !take_tlv(&p, &left, TAG_CRT, 13, &crt))
		return 0;
	q = crt.value;
	qleft = crt.len;
	if (!take_tlv(&q, &qleft, TAG_SCP_ID, 2, &t) ||
	    t.value[0] != SCP11_ID || t.value[1] != (uint8_t)v ||
	    !take_tlv(&q, &qleft, TAG_KEY_USAGE, 1, &t) ||
	    t.value[0] != KEY_USAGE ||
	    !take_tlv(&q, &qleft, TAG_KEY_TYPE, 1, &t) ||
	    t.value[0] != KEY_TYPE_AES ||
	    !take_tlv(&q, &qleft, TAG_KEY_LEN, 1, &t) ||
	    t.value[0] != KEY_LEN || qleft != 0)
		return 0;
	if (!take_tlv(&p, &left, TAG_EPK, MICI_SCP11_POINT_LEN, &t) ||
	    left != 0)
		return 0;
	*point = t.value;
	return 1;
}

/* receipt = CMAC(receipt key, command data || the card's 5F49 TLV). */
static mic_rc
receipt_of(const uint8_t receipt_key[KEY_LEN], const uint8_t *cmd,
    size_t cmd_len, const uint8_t *epk_tlv, size_t epk_tlv_len,
    uint8_t receipt[MICI_SCP11_RECEIPT_LEN])
{
	return mici_aes_cmac(receipt_key, KEY_LEN, cmd, cmd_len, epk_tlv,
	    epk_tlv_len, receipt);
}

mic_rc
mici_scp11_host_session(mici_scp11_variant v, EVP_PKEY *esk_oce,
    EVP_PKEY *sk_oce, EVP_PKEY *pk_sd, const uint8_t *cmd, size_t cmd_len,
    const uint8_t *rsp, size_t rsp_len, mici_sm **out)
{
	uint8_t z[2 * FIELD_LEN], rkey[KEY_LEN];
	uint8_t receipt[MICI_SCP11_RECEIPT_LEN];
	mici_sm_keys keys;
	EVP_PKEY *epk_sd = NULL;
	const uint8_t *p = rsp, *own_point;
	size_t left = rsp_len;
	mic_tlv epk, rcpt;
	mic_rc rc;

	if (out != NULL)
		*out = NULL;
	memset(&keys, 0, sizeof(keys));
	if (out == NULL || (rsp == NULL && rsp_len > 0) ||
	    (v != MICI_SCP11A && v != MICI_SCP11B) ||
	    !mici_scp11_key_ok(esk_oce) || !mici_scp11_key_ok(pk_sd) ||
	    (v == MICI_SCP11A) != (sk_oce != NULL) ||
	    (sk_oce != NULL && !mici_scp11_key_ok(sk_oce)) ||
	    !parse_auth_data(v, cmd, cmd_len, &own_point)) {
		mici_debug("%s: invalid argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (rsp == NULL || !take_tlv(&p, &left, TAG_EPK, MICI_SCP11_POINT_LEN,
	    &epk) || !take_tlv(&p, &left, TAG_RECEIPT, MICI_SCP11_RECEIPT_LEN,
	    &rcpt) || left != 0) {
		mici_debug("%s: response is not 5F49 41 .. 86 10 ..", __func__);
		return MIC_ERR_RESPONSE;
	}
	if ((rc = point_key(epk.value, epk.len, &epk_sd)) != MIC_OK)
		goto fail;
	/* 11b has no static OCE key: ShSes uses the ephemeral one. */
	if ((rc = ecdh(esk_oce, epk_sd, 1, z)) != MIC_OK ||
	    (rc = ecdh(sk_oce != NULL ? sk_oce : esk_oce, pk_sd, 0,
	    z + FIELD_LEN)) != MIC_OK) {
		OPENSSL_cleanse(z, sizeof(z));
		goto fail;
	}
	if ((rc = derive(z, rkey, &keys)) != MIC_OK)
		goto fail;
	if ((rc = receipt_of(rkey, cmd, cmd_len, rsp, epk.raw_len,
	    receipt)) != MIC_OK)
		goto fail;
	if (CRYPTO_memcmp(receipt, rcpt.value, MICI_SCP11_RECEIPT_LEN) != 0) {
		mici_debug("%s: receipt does not verify", __func__);
		rc = MIC_ERR_SM_AUTH;
		goto fail;
	}
	rc = mici_sm_new(out, MICI_SM_HOST, &keys, receipt, MICI_SM_LEVEL_ALL);
fail:
	OPENSSL_cleanse(rkey, sizeof(rkey));
	OPENSSL_cleanse(receipt, sizeof(receipt));
	OPENSSL_cleanse(&keys, sizeof(keys));
	EVP_PKEY_free(epk_sd);

	return rc;
}

mic_rc
mici_scp11_card_session(mici_scp11_variant v, EVP_PKEY *sk_sd,
    EVP_PKEY *pk_oce, EVP_PKEY *esk_sd, const uint8_t *cmd, size_t cmd_len,
    uint8_t *rsp, size_t cap, size_t *rsp_len, mici_sm **out)
{
	uint8_t z[2 * FIELD_LEN], rkey[KEY_LEN];
	uint8_t receipt[MICI_SCP11_RECEIPT_LEN];
	uint8_t point[MICI_SCP11_POINT_LEN];
	mici_sm_keys keys;
	EVP_PKEY *epk_oce = NULL, *own_esk = NULL;
	const uint8_t *oce_point;
	mic_tlv_writer w;
	size_t len = 0;
	mic_rc rc;

	if (out != NULL)
		*out = NULL;
	if (rsp_len != NULL)
		*rsp_len = 0;
	memset(&keys, 0, sizeof(keys));
	if (out == NULL || rsp == NULL || rsp_len == NULL ||
	    (v != MICI_SCP11A && v != MICI_SCP11B) ||
	    !mici_scp11_key_ok(sk_sd) ||
	    (v == MICI_SCP11A) != (pk_oce != NULL) ||
	    (pk_oce != NULL && !mici_scp11_key_ok(pk_oce)) ||
	    (esk_sd != NULL && !mici_scp11_key_ok(esk_sd))) {
		mici_debug("%s: invalid argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (cap < MICI_SCP11_AUTH_RSP_LEN) {
		mici_debug("%s: cap %zu", __func__, cap);
		return MIC_ERR_BUFFER_TOO_SMALL;
	}
	if (!parse_auth_data(v, cmd, cmd_len, &oce_point)) {
		mici_debug("%s: not the data field of 7.6.2.3", __func__);
		return MIC_ERR_SM_FORMAT;
	}
	if ((rc = point_key(oce_point, MICI_SCP11_POINT_LEN, &epk_oce)) !=
	    MIC_OK)
		goto fail;
	if (esk_sd == NULL) {
		if ((own_esk = EVP_PKEY_Q_keygen(NULL, NULL, "EC",
		    "P-256")) == NULL) {
			mici_debug("%s: keygen", __func__);
			rc = MIC_ERR_INTERNAL;
			goto fail;
		}
		esk_sd = own_esk;
	}
	if ((rc = mici_scp11_point(esk_sd, point)) != MIC_OK)
		goto fail;
	if ((rc = ecdh(esk_sd, epk_oce, 1, z)) != MIC_OK ||
	    (rc = ecdh(sk_sd, pk_oce != NULL ? pk_oce : epk_oce,
	    pk_oce == NULL, z + FIELD_LEN)) != MIC_OK) {
		OPENSSL_cleanse(z, sizeof(z));
		goto fail;
	}
	if ((rc = derive(z, rkey, &keys)) != MIC_OK)
		goto fail;
	/* The response: 5F49 first, so its TLV is the receipt's input. */
	mic_tlv_writer_init(&w, rsp, cap);
	mic_tlv_put(&w, TAG_EPK, point, sizeof(point));
	if ((rc = mic_tlv_writer_finish(&w, &len)) != MIC_OK)
		goto fail;
	if ((rc = receipt_of(rkey, cmd, cmd_len, rsp, len, receipt)) !=
	    MIC_OK)
		goto fail;
	mic_tlv_put(&w, TAG_RECEIPT, receipt, sizeof(receipt));
	if ((rc = mic_tlv_writer_finish(&w, &len)) != MIC_OK)
		goto fail;
	if ((rc = mici_sm_new(out, MICI_SM_CARD, &keys, receipt,
	    MICI_SM_LEVEL_ALL)) != MIC_OK)
		goto fail;
	*rsp_len = len;
fail:
	if (rc != MIC_OK)
		OPENSSL_cleanse(rsp, cap < MICI_SCP11_AUTH_RSP_LEN ? cap :
		    MICI_SCP11_AUTH_RSP_LEN);
	OPENSSL_cleanse(rkey, sizeof(rkey));
	OPENSSL_cleanse(receipt, sizeof(receipt));
	OPENSSL_cleanse(&keys, sizeof(keys));
	EVP_PKEY_free(epk_oce);
	EVP_PKEY_free(own_esk);

	return rc;
}
