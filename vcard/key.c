/*
 * The card's P-256 key pair, through OpenSSL 3's EVP interface. The card
 * keeps the raw private scalar and the uncompressed public point in its
 * persistent state; an EVP_PKEY exists only for the length of one
 * operation, and every temporary copy of the scalar is cleared.
 */
#include <stdint.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "card_internal.h"
#include "internal.h"

#define CURVE "P-256"

int
vc_key_generate(uint8_t priv[P256_PRIV_LEN], uint8_t pub[P256_POINT_LEN])
{
	EVP_PKEY *pk = NULL;
	BIGNUM *d = NULL;
	size_t n = 0;
	int rc = -1;

	if ((pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", CURVE)) == NULL) {
		mici_debug("%s: EVP_PKEY_Q_keygen", __func__);
		goto fail;
	}
	if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &d) ||
	    BN_bn2binpad(d, priv, P256_PRIV_LEN) != P256_PRIV_LEN) {
		mici_debug("%s: private key", __func__);
		goto fail;
	}
	if (!EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pub,
	    P256_POINT_LEN, &n) || n != P256_POINT_LEN || pub[0] != 0x04) {
		mici_debug("%s: public key", __func__);
		goto fail;
	}
	rc = 0;
fail:
	if (rc < 0)
		OPENSSL_cleanse(priv, P256_PRIV_LEN);
	BN_clear_free(d);
	EVP_PKEY_free(pk);
	return rc;
}

EVP_PKEY *
vc_key_pkey(const uint8_t priv[P256_PRIV_LEN],
    const uint8_t pub[P256_POINT_LEN])
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	BIGNUM *d = NULL;

	if ((d = BN_secure_new()) == NULL ||
	    BN_bin2bn(priv, P256_PRIV_LEN, d) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pub, P256_POINT_LEN) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL) {
		mici_debug("%s: key parameters", __func__);
		goto fail;
	}
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR, params) <= 0) {
		mici_debug("%s: EVP_PKEY_fromdata", __func__);
		pk = NULL;
		goto fail;
	}
fail:
	EVP_PKEY_CTX_free(ctx);
	/*
	 * The scalar went in as a secure BIGNUM, so the builder put it in
	 * its secure block, which OSSL_PARAM_free() clears.
	 */
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(d);
	return pk;
}

int
vc_key_sign(const uint8_t priv[P256_PRIV_LEN],
    const uint8_t pub[P256_POINT_LEN], const uint8_t *msg, size_t len,
    uint8_t sig[SIG_MAX], size_t *sig_len)
{
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *md = NULL;
	int rc = -1;

	*sig_len = SIG_MAX;
	if ((pk = vc_key_pkey(priv, pub)) == NULL)
		goto fail;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, pk,
	    NULL) != 1 ||
	    EVP_DigestSign(md, sig, sig_len, msg, len) != 1) {
		mici_debug("%s: ECDSA signature", __func__);
		goto fail;
	}
	rc = 0;
fail:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	return rc;
}

/* A peer's (or our own) public key; OpenSSL checks the point is on P-256. */
EVP_PKEY *
vc_key_public(const uint8_t pub[P256_POINT_LEN])
{
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	char group[] = "prime256v1";

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)(uintptr_t)pub, P256_POINT_LEN);
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		mici_debug("%s: not a P-256 point", __func__);
		pk = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	return pk;
}
