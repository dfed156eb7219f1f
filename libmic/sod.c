/*
 * Passive authentication: EF.SOD, a CMS SignedData over the hashes of the
 * card's files and its chip serial (docs/card-profile.md 2.4), and the card
 * certificate of EF.CERT (2.5).
 *
 * The verifier reads card data, so everything here treats its input as
 * hostile: the CMS must re-encode to exactly the bytes given (DER, no BER
 * variants that could smuggle a second reading), the MICSecurityObject is
 * parsed strictly, and each failure has its own mic_rc so that a terminal
 * can tell a changed file from a cloned card from a forged signer.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <mic/sod.h>
#include <mic/tlv.h>

#include "trust_int.h"

/* Content of the hashAlgorithm OIDs. */
static const uint8_t oid_sha256[] = {
	0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01 };
static const uint8_t oid_sm3[] = {
	0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x01, 0x83, 0x11 };

static const uint8_t required_sfi[] = {
	MIC_SOD_SFI_CARD, MIC_SOD_SFI_HOLDER, MIC_SOD_SFI_INSURANCE,
	MIC_SOD_SFI_CERT,
};

/* Room for 30 entries of 39 bytes and the rest of the structure. */
#define CONTENT_MAX 1400
#define POINT_LEN 65
/* An ECDSA or SM2 signature, DER, of a 256-bit key: at most 72 bytes. */
#define SIG_MAX 128

/* ---- MICSecurityObject ---- */

static mic_rc
content_build(mic_suite suite, const uint8_t sfi[], uint8_t hash[][32],
    size_t n, const uint8_t chip[MIC_CHIP_SERIAL_LEN], uint8_t *out,
    size_t cap, size_t *len)
{
	const uint8_t zero = 0;
	mic_tlv_writer w;
	size_t i;

	mic_tlv_writer_init(&w, out, cap);
	mic_tlv_open(&w, 0x30);
	mic_tlv_put(&w, 0x02, &zero, 1);
	mic_tlv_open(&w, 0x30);
	if (suite == MIC_SUITE_SM2)
		mic_tlv_put(&w, 0x06, oid_sm3, sizeof(oid_sm3));
	else
		mic_tlv_put(&w, 0x06, oid_sha256, sizeof(oid_sha256));
	mic_tlv_close(&w);
	mic_tlv_open(&w, 0x30);
	for (i = 0; i < n; i++) {
		mic_tlv_open(&w, 0x30);
		mic_tlv_put(&w, 0x02, &sfi[i], 1);
		mic_tlv_put(&w, 0x04, hash[i], MICI_SOD_HASH_LEN);
		mic_tlv_close(&w);
	}
	mic_tlv_close(&w);
	mic_tlv_put(&w, 0x04, chip, MIC_CHIP_SERIAL_LEN);
	mic_tlv_close(&w);
	return mic_tlv_writer_finish(&w, len);
}

/* The next child of @p it, which shall have @p tag. */
static int
next_is(mic_tlv_iter *it, uint32_t tag, mic_tlv *t)
{
	return mic_tlv_next(it, t) == MIC_OK && t->tag == tag;
}

static mic_rc
parse_alg(const mic_tlv *alg, mic_suite *suite)
{
	mic_tlv_iter it;
	mic_tlv oid, par;

	mic_tlv_iter_init(&it, alg->value, alg->len);
	if (!next_is(&it, 0x06, &oid))
		return MIC_ERR_SOD_FORMAT;
	if (oid.len == sizeof(oid_sha256) &&
	    memcmp(oid.value, oid_sha256, oid.len) == 0)
		*suite = MIC_SUITE_P256;
	else if (oid.len == sizeof(oid_sm3) &&
	    memcmp(oid.value, oid_sm3, oid.len) == 0)
		*suite = MIC_SUITE_SM2;
	else
		return MIC_ERR_SOD_FORMAT;
	/* RFC 5754: parameters absent, and accept NULL from others. */
	if (mic_tlv_next(&it, &par) == MIC_ERR_NOT_FOUND)
		return MIC_OK;
	if (par.tag != 0x05 || par.len != 0 ||
	    mic_tlv_next(&it, &par) != MIC_ERR_NOT_FOUND)
		return MIC_ERR_SOD_FORMAT;
	return MIC_OK;
}

static mic_rc
parse_entries(const mic_tlv *seq, mici_sod_content *c)
{
	mic_tlv_iter it, eit;
	mic_tlv e, sfi, hash, extra;
	mic_rc rc;

	mic_tlv_iter_init(&it, seq->value, seq->len);
	while ((rc = mic_tlv_next(&it, &e)) == MIC_OK) {
		if (e.tag != 0x30 || c->nfiles >= MICI_SOD_MAX_FILES)
			return MIC_ERR_SOD_FORMAT;
		mic_tlv_iter_init(&eit, e.value, e.len);
		/* DER INTEGER 1..30 is exactly one content byte. */
		if (!next_is(&eit, 0x02, &sfi) || sfi.len != 1 ||
		    sfi.value[0] < 1 || sfi.value[0] > 30 ||
		    !next_is(&eit, 0x04, &hash) ||
		    hash.len != MICI_SOD_HASH_LEN ||
		    mic_tlv_next(&eit, &extra) != MIC_ERR_NOT_FOUND)
			return MIC_ERR_SOD_FORMAT;
		/* Strictly ascending: one hash per file, one encoding. */
		if (c->nfiles > 0 &&
		    sfi.value[0] <= c->files[c->nfiles - 1].sfi)
			return MIC_ERR_SOD_FORMAT;
		c->files[c->nfiles].sfi = sfi.value[0];
		c->files[c->nfiles].hash = hash.value;
		c->nfiles++;
	}
	if (rc != MIC_ERR_NOT_FOUND || c->nfiles == 0)
		return MIC_ERR_SOD_FORMAT;
	return MIC_OK;
}

static const uint8_t *
find_hash(const mici_sod_content *c, uint8_t sfi)
{
	size_t i;

	for (i = 0; i < c->nfiles; i++) {
		if (c->files[i].sfi == sfi)
			return c->files[i].hash;
	}
	return NULL;
}

mic_rc
mici_sod_content_parse(const uint8_t *buf, size_t len, mici_sod_content *c)
{
	mic_tlv top, ver, alg, seq, chip, extra;
	mic_tlv_iter it;
	size_t i;

	if (buf == NULL || c == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	memset(c, 0, sizeof(*c));
	if (mic_tlv_parse(buf, len, &top) != MIC_OK || top.tag != 0x30 ||
	    top.raw_len != len)
		goto bad;
	mic_tlv_iter_init(&it, top.value, top.len);
	if (!next_is(&it, 0x02, &ver) || ver.len != 1 || ver.value[0] != 0 ||
	    !next_is(&it, 0x30, &alg) || parse_alg(&alg, &c->suite) != MIC_OK ||
	    !next_is(&it, 0x30, &seq) || parse_entries(&seq, c) != MIC_OK ||
	    !next_is(&it, 0x04, &chip) || chip.len != MIC_CHIP_SERIAL_LEN ||
	    mic_tlv_next(&it, &extra) != MIC_ERR_NOT_FOUND)
		goto bad;
	c->chip_serial = chip.value;
	for (i = 0; i < sizeof(required_sfi); i++) {
		if (find_hash(c, required_sfi[i]) == NULL) {
			mici_debug("%s: SFI %u not covered", __func__,
			    required_sfi[i]);
			goto bad;
		}
	}
	return MIC_OK;
bad:
	mici_debug("%s: malformed MICSecurityObject", __func__);
	memset(c, 0, sizeof(*c));
	return MIC_ERR_SOD_FORMAT;
}

/* ---- building ---- */

static int
key_matches_cert(mic_keyprov_t *kp, X509 *x)
{
	uint8_t a[256];
	unsigned char *b = NULL;
	size_t alen = 0;
	int blen, same;

	if (mic_keyprov_spki(kp, a, sizeof(a), &alen) != MIC_OK)
		return 0;
	blen = i2d_PUBKEY(X509_get0_pubkey(x), &b);
	same = blen > 0 && (size_t)blen == alen && memcmp(a, b, alen) == 0;
	OPENSSL_free(b);
	return same;
}

static mic_rc
check_files(const mic_sod_file *files, size_t n, uint8_t order[])
{
	uint8_t seen[31] = { 0 };
	size_t i, j, k = 0;

	if (n > MICI_SOD_MAX_FILES)
		return MIC_ERR_INVALID_ARGUMENT;
	for (i = 0; i < n; i++) {
		if (files[i].sfi < 1 || files[i].sfi > 30 ||
		    seen[files[i].sfi] || (files[i].data == NULL &&
		    files[i].len > 0)) {
			mici_debug("%s: SFI %u out of range or repeated",
			    __func__, files[i].sfi);
			return MIC_ERR_INVALID_ARGUMENT;
		}
		seen[files[i].sfi] = 1;
	}
	for (i = 0; i < sizeof(required_sfi); i++) {
		if (!seen[required_sfi[i]]) {
			mici_debug("%s: SFI %u is required", __func__,
			    required_sfi[i]);
			return MIC_ERR_INVALID_ARGUMENT;
		}
	}
	/* Index of the files in ascending SFI order. */
	for (j = 1; j <= 30; j++) {
		for (i = 0; i < n; i++) {
			if (files[i].sfi == j)
				order[k++] = (uint8_t)i;
		}
	}
	return MIC_OK;
}

static mic_rc
hash_file(EVP_MD *md, const uint8_t *data, size_t len, uint8_t out[32])
{
	unsigned int n = 0;

	if (EVP_Digest(data != NULL ? data : (const uint8_t *)"", len, out, &n,
	    md, NULL) != 1 || n != MICI_SOD_HASH_LEN) {
		mici_ossl_debug(__func__, "EVP_Digest");
		return MIC_ERR_CRYPTO;
	}
	return MIC_OK;
}

/*
 * OpenSSL 3.0's CMS leaves an SM2 signer's signatureAlgorithm unset and
 * gives it no SM2 identifier; set both (GM/T 0010 with SM2-with-SM3).
 */
static mic_rc
sm2_signer_setup(CMS_SignerInfo *si)
{
	EVP_PKEY_CTX *pctx = CMS_SignerInfo_get0_pkey_ctx(si);
	X509_ALGOR *alg = NULL;

	if (pctx == NULL || EVP_PKEY_CTX_set1_id(pctx, MICI_SM2_ID,
	    MICI_SM2_ID_LEN) <= 0) {
		mici_ossl_debug(__func__, "SM2 identifier");
		return MIC_ERR_CRYPTO;
	}
	CMS_SignerInfo_get0_algs(si, NULL, NULL, NULL, &alg);
	if (alg == NULL || !X509_ALGOR_set0(alg, OBJ_nid2obj(NID_SM2_with_SM3),
	    V_ASN1_UNDEF, NULL))
		return MIC_ERR_CRYPTO;
	return MIC_OK;
}

/*
 * The MICSecurityObject of EF.SOD: the hashes of @p files and
 * @p chip_serial, encoded into @p content (CONTENT_MAX bytes).
 */
static mic_rc
sod_content(mic_suite suite, EVP_MD *md, const mic_sod_file *files,
    size_t nfiles, const uint8_t chip_serial[MIC_CHIP_SERIAL_LEN],
    uint8_t content[CONTENT_MAX], size_t *clen)
{
	uint8_t order[MICI_SOD_MAX_FILES], sfi[MICI_SOD_MAX_FILES];
	uint8_t hash[MICI_SOD_MAX_FILES][MICI_SOD_HASH_LEN];
	size_t i;
	mic_rc rc;

	if ((rc = check_files(files, nfiles, order)) != MIC_OK)
		return rc;
	for (i = 0; i < nfiles; i++) {
		const mic_sod_file *f = &files[order[i]];

		sfi[i] = f->sfi;
		if ((rc = hash_file(md, f->data, f->len, hash[i])) != MIC_OK)
			return rc;
	}
	return content_build(suite, sfi, hash, nfiles, chip_serial, content,
	    CONTENT_MAX, clen);
}

/*
 * The SignedData of EF.SOD over @p content, signed by @p pkey of suite
 * @p suite whose certificate is @p x (checked to be the key's by the
 * caller): the one CMS code path of mic_sod_build() and of a line's
 * mici_sod_build().
 */
static mic_rc
sod_cms(X509 *x, EVP_PKEY *pkey, mic_suite suite, EVP_MD *md,
    const uint8_t *content, size_t clen, CMS_ContentInfo **out)
{
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;
	ASN1_OBJECT *ctype = NULL;
	BIO *bio = NULL;
	mic_rc rc = MIC_ERR_CRYPTO;

	if ((ctype = mici_oid(MIC_OID_SECURITY_OBJECT)) == NULL ||
	    (cms = CMS_sign(NULL, NULL, NULL, NULL,
	    CMS_PARTIAL | CMS_BINARY)) == NULL ||
	    !CMS_set1_eContentType(cms, ctype))
		goto fail_ossl;
	/* Attributes: contentType, signingTime, messageDigest; no S/MIME
	 * capabilities, which mean nothing to a card. */
	si = CMS_add1_signer(cms, x, pkey, md, CMS_BINARY | CMS_NOSMIMECAP |
	    (suite == MIC_SUITE_SM2 ? CMS_KEY_PARAM : 0));
	if (si == NULL)
		goto fail_ossl;
	if (suite == MIC_SUITE_SM2 && (rc = sm2_signer_setup(si)) != MIC_OK)
		goto out;
	rc = MIC_ERR_CRYPTO;
	if ((bio = BIO_new_mem_buf(content, (int)clen)) == NULL ||
	    !CMS_final(cms, bio, NULL, CMS_BINARY))
		goto fail_ossl;
	*out = cms;
	cms = NULL;
	rc = MIC_OK;
	goto out;
fail_ossl:
	mici_ossl_debug(__func__, "CMS signing");
out:
	BIO_free(bio);
	CMS_ContentInfo_free(cms);
	ASN1_OBJECT_free(ctype);
	return rc;
}

/* @p cms as DER, straight into the caller's buffer once it is known to
 * fit. */
static mic_rc
sod_encode(CMS_ContentInfo *cms, uint8_t *out, size_t cap, size_t *len)
{
	unsigned char *p = out;
	int n;

	if ((n = i2d_CMS_ContentInfo(cms, NULL)) <= 0) {
		mici_ossl_debug(__func__, "i2d_CMS_ContentInfo");
		return MIC_ERR_CRYPTO;
	}
	if ((size_t)n > cap) {
		mici_debug("%s: %d bytes do not fit %zu", __func__, n, cap);
		return MIC_ERR_BUFFER_TOO_SMALL;
	}
	if (i2d_CMS_ContentInfo(cms, &p) != n)
		return MIC_ERR_CRYPTO;
	*len = (size_t)n;
	return MIC_OK;
}

static mic_rc
sod_sign(X509 *x, EVP_PKEY *pkey, mic_suite suite, EVP_MD *md,
    const mic_sod_file *files, size_t nfiles,
    const uint8_t chip_serial[MIC_CHIP_SERIAL_LEN], uint8_t *out, size_t cap,
    size_t *len)
{
	uint8_t content[CONTENT_MAX];
	size_t clen = 0;
	CMS_ContentInfo *cms = NULL;
	mic_rc rc;

	if ((rc = sod_content(suite, md, files, nfiles, chip_serial, content,
	    &clen)) != MIC_OK ||
	    (rc = sod_cms(x, pkey, suite, md, content, clen, &cms)) != MIC_OK)
		return rc;
	rc = sod_encode(cms, out, cap, len);
	CMS_ContentInfo_free(cms);
	return rc;
}

mic_rc
mic_sod_build(mic_keyprov_t *ds_key, const uint8_t *ds_cert,
    size_t ds_cert_len, const mic_sod_file *files, size_t nfiles,
    const uint8_t chip_serial[MIC_CHIP_SERIAL_LEN], uint8_t *out, size_t cap,
    size_t *len)
{
	uint8_t order[MICI_SOD_MAX_FILES];
	EVP_MD *md = NULL;
	X509 *x = NULL;
	mic_suite suite;
	mic_rc rc;

	if (ds_key == NULL || ds_cert == NULL || files == NULL ||
	    chip_serial == NULL || len == NULL || (out == NULL && cap > 0))
		return MIC_ERR_INVALID_ARGUMENT;
	/* The files' errors before the certificate's, as ever. */
	if ((rc = check_files(files, nfiles, order)) != MIC_OK)
		return rc;
	suite = mic_keyprov_suite(ds_key);
	if ((md = EVP_MD_fetch(NULL, mici_suite_md(suite), NULL)) == NULL) {
		mici_ossl_debug(__func__, "digest");
		return MIC_ERR_UNSUPPORTED;
	}
	if ((rc = mici_x509_parse(ds_cert, ds_cert_len, &x)) != MIC_OK)
		goto out;
	if (!key_matches_cert(ds_key, x)) {
		mici_debug("%s: the certificate is not the key's", __func__);
		rc = MIC_ERR_CERT_PURPOSE;
		goto out;
	}
	rc = sod_sign(x, mic_keyprov_pkey(ds_key), suite, md, files, nfiles,
	    chip_serial, out, cap, len);
out:
	X509_free(x);
	EVP_MD_free(md);
	return rc;
}

/* ---- verifying ---- */

/*
 * The signedAttrs of the one SignerInfo, as they are in the DER input.
 * RFC 5652 5.4: the signature covers them with the [0] tag read as SET.
 * The input is known to be DER (it re-encoded identically), so these bytes
 * are the ones the signer signed.
 */
static mic_rc
raw_signed_attrs(const uint8_t *der, size_t len, const uint8_t **attrs,
    size_t *alen)
{
	mic_tlv ci, wrap, sd, si_set, si, c, last;
	mic_tlv_iter it;
	int found = 0;

	memset(&last, 0, sizeof(last));
	if (mic_tlv_parse(der, len, &ci) != MIC_OK || ci.tag != 0x30)
		return MIC_ERR_SOD_FORMAT;
	mic_tlv_iter_init(&it, ci.value, ci.len);
	if (!next_is(&it, 0x06, &c) || !next_is(&it, 0xA0, &wrap) ||
	    mic_tlv_parse(wrap.value, wrap.len, &sd) != MIC_OK ||
	    sd.tag != 0x30)
		return MIC_ERR_SOD_FORMAT;
	/* signerInfos is the last child of SignedData. */
	mic_tlv_iter_init(&it, sd.value, sd.len);
	while (mic_tlv_next(&it, &c) == MIC_OK) {
		last = c;
		found = 1;
	}
	if (!found || last.tag != 0x31 ||
	    mic_tlv_parse(last.value, last.len, &si_set) != MIC_OK ||
	    si_set.tag != 0x30 || si_set.raw_len != last.len)
		return MIC_ERR_SOD_FORMAT;
	si = si_set;
	mic_tlv_iter_init(&it, si.value, si.len);
	if (!next_is(&it, 0x02, &c) || mic_tlv_next(&it, &c) != MIC_OK ||
	    !next_is(&it, 0x30, &c) || !next_is(&it, 0xA0, &c))
		return MIC_ERR_SOD_FORMAT;
	*attrs = c.value - (c.raw_len - c.len);
	*alen = c.raw_len;
	return MIC_OK;
}

static mic_rc
sm2_verify_attrs(const uint8_t *der, size_t len, CMS_SignerInfo *si,
    EVP_PKEY *pub)
{
	const uint8_t *attrs = NULL;
	ASN1_OCTET_STRING *sig = CMS_SignerInfo_get0_signature(si);
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t *buf = NULL;
	size_t alen = 0;
	mic_rc rc;

	if ((rc = raw_signed_attrs(der, len, &attrs, &alen)) != MIC_OK)
		return rc;
	if ((buf = malloc(alen)) == NULL)
		return MIC_ERR_NOMEM;
	memcpy(buf, attrs, alen);
	buf[0] = 0x31;
	rc = MIC_ERR_SOD_SIGNATURE;
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(mctx, &pctx, "SM3", NULL, NULL, pub,
	    NULL) <= 0 ||
	    EVP_PKEY_CTX_set1_id(pctx, MICI_SM2_ID, MICI_SM2_ID_LEN) <= 0 ||
	    EVP_DigestVerify(mctx, ASN1_STRING_get0_data(sig),
	    (size_t)ASN1_STRING_length(sig), buf, alen) != 1) {
		mici_ossl_debug(__func__, "SM2 signature");
		goto out;
	}
	rc = MIC_OK;
out:
	EVP_MD_CTX_free(mctx);
	free(buf);
	return rc;
}

/* The messageDigest attribute against the eContent, through CMS's own
 * digest BIOs. */
static mic_rc
verify_content_digest(CMS_ContentInfo *cms, CMS_SignerInfo *si)
{
	char sink[256];
	BIO *cmsbio;
	int r;

	if ((cmsbio = CMS_dataInit(cms, NULL)) == NULL)
		return MIC_ERR_SOD_FORMAT;
	while ((r = BIO_read(cmsbio, sink, sizeof(sink))) > 0)
		;
	r = CMS_SignerInfo_verify_content(si, cmsbio);
	BIO_free_all(cmsbio);
	if (r != 1) {
		mici_ossl_debug(__func__, "message digest");
		return MIC_ERR_SOD_SIGNATURE;
	}
	return MIC_OK;
}

static int
content_type_attr_ok(CMS_ContentInfo *cms, CMS_SignerInfo *si)
{
	const ASN1_OBJECT *ct = CMS_get0_eContentType(cms);
	ASN1_OBJECT *attr;

	attr = CMS_signed_get0_data_by_OBJ(si,
	    OBJ_nid2obj(NID_pkcs9_contentType), -3, V_ASN1_OBJECT);
	return attr != NULL && ct != NULL && OBJ_cmp(attr, ct) == 0;
}

/*
 * Everything about the CMS up to the signer's certificate; on success
 * @p *signer points into @p cms and @p *certs holds its certificates.
 */
static mic_rc
parse_cms(const uint8_t *der, size_t len, CMS_ContentInfo **out,
    STACK_OF(X509) **certs, CMS_SignerInfo **sip, X509 **signer)
{
	const unsigned char *p = der;
	unsigned char *re = NULL;
	CMS_ContentInfo *cms = NULL;
	STACK_OF(CMS_SignerInfo) *sis;
	ASN1_OCTET_STRING **content;
	ASN1_OBJECT *want = NULL;
	EVP_PKEY *pk = NULL;
	X509_ALGOR *dig = NULL;
	int n, i;
	mic_rc rc = MIC_ERR_SOD_FORMAT;

	*out = NULL;
	*certs = NULL;
	if (len > LONG_MAX || (cms = d2i_CMS_ContentInfo(NULL, &p,
	    (long)len)) == NULL || p != der + len) {
		mici_ossl_debug(__func__, "not a CMS ContentInfo");
		goto fail;
	}
	if ((n = i2d_CMS_ContentInfo(cms, &re)) <= 0 || (size_t)n != len ||
	    memcmp(re, der, len) != 0) {
		mici_debug("%s: not DER", __func__);
		goto fail;
	}
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed ||
	    (want = mici_oid(MIC_OID_SECURITY_OBJECT)) == NULL ||
	    CMS_get0_eContentType(cms) == NULL ||
	    OBJ_cmp(CMS_get0_eContentType(cms), want) != 0) {
		mici_debug("%s: not a SignedData of a MIC security object",
		    __func__);
		goto fail;
	}
	if ((content = CMS_get0_content(cms)) == NULL || *content == NULL) {
		mici_debug("%s: detached content", __func__);
		goto fail;
	}
	if ((sis = CMS_get0_SignerInfos(cms)) == NULL ||
	    sk_CMS_SignerInfo_num(sis) != 1) {
		mici_debug("%s: not exactly one signer", __func__);
		goto fail;
	}
	*sip = sk_CMS_SignerInfo_value(sis, 0);
	if ((*certs = CMS_get1_certs(cms)) == NULL) {
		mici_debug("%s: no certificates", __func__);
		goto fail;
	}
	for (i = 0; i < sk_X509_num(*certs); i++) {
		if (mici_x509_sm2_id(sk_X509_value(*certs, i)) != MIC_OK) {
			rc = MIC_ERR_NOMEM;
			goto fail;
		}
	}
	if (CMS_set1_signers_certs(cms, NULL, 0) != 1) {
		mici_ossl_debug(__func__, "no certificate for the signer");
		goto fail;
	}
	CMS_SignerInfo_get0_algs(*sip, &pk, signer, &dig, NULL);
	if (*signer == NULL || pk == NULL || dig == NULL) {
		mici_debug("%s: signer without certificate", __func__);
		goto fail;
	}
	if (CMS_signed_get_attr_count(*sip) <= 0 ||
	    !content_type_attr_ok(cms, *sip)) {
		mici_debug("%s: no signed attributes or a wrong content type "
		    "attribute", __func__);
		goto fail;
	}
	*out = cms;
	cms = NULL;
	rc = MIC_OK;
fail:
	if (rc != MIC_OK) {
		sk_X509_pop_free(*certs, X509_free);
		*certs = NULL;
	}
	ASN1_OBJECT_free(want);
	OPENSSL_free(re);
	CMS_ContentInfo_free(cms);
	return rc;
}

mic_rc
mic_sod_verify(const mic_trust_t *trust, const uint8_t *sod, size_t sod_len,
    const mic_sod_file *files, size_t nfiles,
    const uint8_t chip_serial[MIC_CHIP_SERIAL_LEN])
{
	CMS_ContentInfo *cms = NULL;
	STACK_OF(X509) *certs = NULL;
	CMS_SignerInfo *si = NULL;
	X509 *signer = NULL;
	X509_ALGOR *dig = NULL;
	ASN1_OCTET_STRING **content;
	mici_sod_content c;
	uint8_t h[MICI_SOD_HASH_LEN];
	const uint8_t *want;
	EVP_MD *md = NULL;
	mic_suite suite;
	mic_tlv t;
	size_t i;
	mic_rc rc;

	if (trust == NULL || sod == NULL || (files == NULL && nfiles > 0) ||
	    chip_serial == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	/* EF.SOD is the one DER object and then padding. */
	if (mic_tlv_parse(sod, sod_len, &t) != MIC_OK || t.tag != 0x30) {
		mici_debug("%s: EF.SOD does not start with a SEQUENCE",
		    __func__);
		return MIC_ERR_SOD_FORMAT;
	}
	if ((rc = parse_cms(sod, t.raw_len, &cms, &certs, &si, &signer)) !=
	    MIC_OK)
		goto out;

	/* The suite is the signer's key's; the digest must be its one. */
	suite = mici_pkey_suite(X509_get0_pubkey(signer));
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, NULL);
	if (suite == 0 || OBJ_obj2nid(dig->algorithm) !=
	    (suite == MIC_SUITE_SM2 ? NID_sm3 : NID_sha256)) {
		mici_debug("%s: algorithms outside the suites", __func__);
		rc = MIC_ERR_SOD_FORMAT;
		goto out;
	}

	/* Signature: message digest, then the signature over the attributes. */
	if ((rc = verify_content_digest(cms, si)) != MIC_OK)
		goto out;
	if (suite == MIC_SUITE_SM2) {
		rc = sm2_verify_attrs(sod, t.raw_len, si,
		    X509_get0_pubkey(signer));
		if (rc != MIC_OK)
			goto out;
	} else if (CMS_SignerInfo_verify(si) != 1) {
		mici_ossl_debug(__func__, "signature");
		rc = MIC_ERR_SOD_SIGNATURE;
		goto out;
	}

	/* The signer: its chain, dates and purpose. */
	if ((rc = mici_cert_verify(trust, signer, certs,
	    MIC_CERT_DOCUMENT_SIGNER)) != MIC_OK)
		goto out;

	content = CMS_get0_content(cms);
	if ((rc = mici_sod_content_parse(ASN1_STRING_get0_data(*content),
	    (size_t)ASN1_STRING_length(*content), &c)) != MIC_OK)
		goto out;
	if (c.suite != suite) {
		mici_debug("%s: file hashes of another suite", __func__);
		rc = MIC_ERR_SOD_FORMAT;
		goto out;
	}
	if (memcmp(c.chip_serial, chip_serial, MIC_CHIP_SERIAL_LEN) != 0) {
		mici_debug("%s: made for another chip", __func__);
		rc = MIC_ERR_SOD_CHIP;
		goto out;
	}
	if ((md = EVP_MD_fetch(NULL, mici_suite_md(suite), NULL)) == NULL) {
		rc = MIC_ERR_UNSUPPORTED;
		goto out;
	}
	for (i = 0; i < nfiles; i++) {
		if ((want = find_hash(&c, files[i].sfi)) == NULL) {
			mici_debug("%s: SFI %u not covered", __func__,
			    files[i].sfi);
			rc = MIC_ERR_SOD_NOT_COVERED;
			goto out;
		}
		if ((rc = hash_file(md, files[i].data, files[i].len, h)) !=
		    MIC_OK)
			goto out;
		if (CRYPTO_memcmp(h, want, sizeof(h)) != 0) {
			mici_debug("%s: SFI %u changed", __func__,
			    files[i].sfi);
			rc = MIC_ERR_SOD_HASH;
			goto out;
		}
	}
	rc = MIC_OK;
out:
	EVP_MD_free(md);
	sk_X509_pop_free(certs, X509_free);
	CMS_ContentInfo_free(cms);
	return rc;
}

/* ---- the card certificate ---- */

/* 7F49 { 86 04||X||Y }, and nothing else. */
static mic_rc
parse_gen_rsp(const uint8_t *rsp, size_t len, const uint8_t **point)
{
	mic_tlv t, p;

	if (rsp == NULL || mic_tlv_parse(rsp, len, &t) != MIC_OK ||
	    t.tag != 0x7F49 || t.raw_len != len ||
	    mic_tlv_parse(t.value, t.len, &p) != MIC_OK || p.tag != 0x86 ||
	    p.raw_len != t.len || p.len != POINT_LEN || p.value[0] != 0x04) {
		mici_debug("%s: not 7F49 { 86 uncompressed point }", __func__);
		return MIC_ERR_RESPONSE;
	}
	*point = p.value;
	return MIC_OK;
}

/*
 * The SubjectPublicKeyInfo of the card's point. The quick check is SP
 * 800-56A r3 5.6.2.3.4 (not infinity, coordinates in range, on the curve);
 * the full one adds n*Q = O, which P-256 and the SM2 curve, of cofactor 1,
 * give every such point already.
 */
static mic_rc
point_spki(const uint8_t *pt, mic_suite suite, uint8_t *spki, size_t cap,
    size_t *len)
{
	const char *type = suite == MIC_SUITE_SM2 ? "SM2" : "EC";
	char group[16];
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
	EVP_PKEY *pkey = NULL;
	unsigned char *der = NULL;
	int n;
	mic_rc rc = MIC_ERR_CERT_FORMAT;

	strcpy(group, suite == MIC_SUITE_SM2 ? "SM2" : "prime256v1");
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)pt, POINT_LEN);
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0 ||
	    (chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    EVP_PKEY_public_check_quick(chk) != 1) {
		mici_ossl_debug(__func__, "the card's point is not on the curve");
		goto out;
	}
	if ((n = i2d_PUBKEY(pkey, &der)) <= 0 || (size_t)n > cap)
		goto out;
	memcpy(spki, der, (size_t)n);
	*len = (size_t)n;
	rc = MIC_OK;
out:
	OPENSSL_free(der);
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return rc;
}

static int
cic_ok(const char *cic)
{
	size_t i;

	if (cic == NULL || strlen(cic) != 32)
		return 0;
	for (i = 0; i < 32; i++) {
		if (cic[i] < 0x21 || cic[i] > 0x7E)
			return 0;
	}
	return 1;
}

mic_rc
mic_cardcert_issue(mic_keyprov_t *issuer_key, const uint8_t *issuer_cert,
    size_t issuer_len, const uint8_t *gen_rsp, size_t gen_len,
    const char *cic, int64_t not_before, int64_t not_after, uint8_t *out,
    size_t cap, size_t *len)
{
	mic_cert_params prm = { 0 };
	const uint8_t *pt = NULL;
	uint8_t spki[256];
	size_t slen = 0;
	mic_rc rc;

	if (issuer_key == NULL || issuer_cert == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if (!cic_ok(cic)) {
		mici_debug("%s: the card identification code is an32",
		    __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((rc = parse_gen_rsp(gen_rsp, gen_len, &pt)) != MIC_OK)
		return rc;
	if ((rc = point_spki(pt, mic_keyprov_suite(issuer_key), spki,
	    sizeof(spki), &slen)) != MIC_OK)
		return rc;
	prm.kind = MIC_CERT_CARD;
	prm.serial_number = cic;
	prm.not_before = not_before;
	prm.not_after = not_after;
	return mic_cert_issue(&prm, spki, slen, issuer_cert, issuer_len,
	    issuer_key, out, cap, len);
}

/* The certificate's point, uncompressed, against the card's. */
static mic_rc
x509_check_key(X509 *x, const uint8_t *gen_rsp, size_t gen_len)
{
	uint8_t pt[POINT_LEN + 8];
	const uint8_t *card_pt = NULL;
	size_t n = 0;
	mic_rc rc;

	if ((rc = parse_gen_rsp(gen_rsp, gen_len, &card_pt)) != MIC_OK)
		return rc;
	if (mici_pkey_suite(X509_get0_pubkey(x)) == 0 ||
	    EVP_PKEY_get_octet_string_param(X509_get0_pubkey(x),
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt), &n) != 1) {
		mici_ossl_debug(__func__, "certificate key");
		return MIC_ERR_CERT_FORMAT;
	}
	if (n != POINT_LEN || CRYPTO_memcmp(pt, card_pt, POINT_LEN) != 0) {
		mici_debug("%s: the card's key is not the certificate's",
		    __func__);
		return MIC_ERR_CARD_KEY_MISMATCH;
	}
	return MIC_OK;
}

mic_rc
mic_cardcert_check_key(const uint8_t *cert, size_t cert_len,
    const uint8_t *gen_rsp, size_t gen_len)
{
	const uint8_t *pt = NULL;
	X509 *x = NULL;
	mic_rc rc;

	if (cert == NULL || gen_rsp == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	/* A bad answer is reported as such before the certificate. */
	if ((rc = parse_gen_rsp(gen_rsp, gen_len, &pt)) != MIC_OK)
		return rc;
	if ((rc = mici_x509_parse(cert, cert_len, &x)) != MIC_OK)
		return rc;
	rc = x509_check_key(x, gen_rsp, gen_len);
	X509_free(x);
	return rc;
}

/* The chain of @p x and that it names the card @p cic (NULL: any). */
static mic_rc
x509_cardcert_verify(const mic_trust_t *trust, X509 *x, const char *cic)
{
	const X509_NAME *subj;
	const ASN1_STRING *sn;
	int idx;
	mic_rc rc;

	if ((rc = mici_cert_verify(trust, x, NULL, MIC_CERT_CARD)) != MIC_OK)
		return rc;
	if (cic == NULL)
		return MIC_OK;
	subj = X509_get_subject_name(x);
	/* Exactly one serialNumber, and it is this card's code. */
	if ((idx = X509_NAME_get_index_by_NID(subj, NID_serialNumber, -1)) < 0 ||
	    X509_NAME_get_index_by_NID(subj, NID_serialNumber, idx) >= 0 ||
	    (sn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj,
	    idx))) == NULL || (size_t)ASN1_STRING_length(sn) != strlen(cic) ||
	    memcmp(ASN1_STRING_get0_data(sn), cic, strlen(cic)) != 0) {
		mici_debug("%s: the certificate names another card", __func__);
		return MIC_ERR_CERT_SUBJECT;
	}
	return MIC_OK;
}

mic_rc
mic_cardcert_verify(const mic_trust_t *trust, const uint8_t *cert,
    size_t cert_len, const char *cic)
{
	X509 *x = NULL;
	mic_rc rc;

	if (trust == NULL || cert == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if ((rc = mici_x509_parse(cert, cert_len, &x)) != MIC_OK)
		return rc;
	rc = x509_cardcert_verify(trust, x, cic);
	X509_free(x);
	return rc;
}

mic_rc
mici_cardcert_check(const mic_trust_t *trust, const uint8_t *cert,
    size_t cert_len, const char *cic, const uint8_t *gen_rsp, size_t gen_len)
{
	X509 *x = NULL;
	mic_rc rc;

	if (trust == NULL || cert == NULL || gen_rsp == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	/* One parse for both checks: OpenSSL 3.0 decodes the key each time. */
	if ((rc = mici_x509_parse(cert, cert_len, &x)) != MIC_OK)
		return rc;
	if ((rc = x509_cardcert_verify(trust, x, cic)) == MIC_OK)
		rc = x509_check_key(x, gen_rsp, gen_len);
	X509_free(x);
	return rc;
}

/* ---- issuing card after card ---- */

/*
 * A bureau signs the same two kinds of object for every card with the
 * same two keys. OpenSSL 3.0 decodes a certificate's public key through
 * its provider decoders whenever it parses one, and encodes keys the same
 * slow way, which costs several ECDSA signatures per card; so the signers'
 * certificates are parsed once here, with the digest and a signing context
 * ready, and the card's key goes into its certificate as the point the
 * card sent, never decoded into a key and encoded again. The certificate
 * and the SignedData are OpenSSL's own: the first ones by the same code as
 * mic_cert_issue() (mici_cert_build()) and mic_sod_build() (sod_cms()),
 * each next one made from the last, with only what differs between cards
 * set in it. Neither signature is verified here: mic_perso_card() verifies
 * both, as a terminal does, before a card counts.
 */

struct mici_issuer {
	mic_keyprov_t *kp;
	mic_suite suite;
	X509 *x;                  /* its certificate, parsed once */
	int ca;                   /* a CA with a key identifier */
	EVP_MD *md;               /* the suite's digest */
	EVP_MD_CTX *sign;         /* set up once, copied per signature */
	EC_GROUP *group;          /* the curve of the keys it certifies */
	/* The last objects it signed, to make the next ones from. A thread
	 * takes one out under the lock and puts it back when done; a thread
	 * that finds none there builds its own. */
	pthread_mutex_t mu;
	X509 *card;               /* the last card certificate */
	CMS_ContentInfo *sod;     /* the last SignedData */
	time_t sod_time;          /* and that SignedData's signingTime */
};

void
mici_issuer_free(mici_issuer **isp)
{
	mici_issuer *is;

	if (isp == NULL || (is = *isp) == NULL)
		return;
	*isp = NULL;
	X509_free(is->x);
	EVP_MD_free(is->md);
	EVP_MD_CTX_free(is->sign);
	EC_GROUP_free(is->group);
	X509_free(is->card);
	CMS_ContentInfo_free(is->sod);
	pthread_mutex_destroy(&is->mu);
	free(is);
}

static int
suite_curve(mic_suite suite)
{
	return suite == MIC_SUITE_SM2 ? NID_sm2 : NID_X9_62_prime256v1;
}

mic_rc
mici_issuer_new(mic_keyprov_t *kp, const uint8_t *cert, size_t len,
    mici_issuer **out)
{
	mici_issuer *is;
	mic_rc rc;

	if (out != NULL)
		*out = NULL;
	if (kp == NULL || cert == NULL || out == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if ((is = calloc(1, sizeof(*is))) == NULL)
		return MIC_ERR_NOMEM;
	if (pthread_mutex_init(&is->mu, NULL) != 0) {
		free(is);
		return MIC_ERR_NOMEM;
	}
	is->kp = kp;
	is->suite = mic_keyprov_suite(kp);
	if ((rc = mici_x509_parse(cert, len, &is->x)) != MIC_OK)
		goto fail;
	if (!key_matches_cert(kp, is->x)) {
		mici_debug("%s: the certificate is not the key's", __func__);
		rc = MIC_ERR_CERT_PURPOSE;
		goto fail;
	}
	is->ca = (X509_get_extension_flags(is->x) & EXFLAG_CA) &&
	    (X509_get_key_usage(is->x) & KU_KEY_CERT_SIGN) &&
	    X509_get0_subject_key_id(is->x) != NULL;
	rc = MIC_ERR_CRYPTO;
	if ((is->md = EVP_MD_fetch(NULL, mici_suite_md(is->suite),
	    NULL)) == NULL || (is->group = EC_GROUP_new_by_curve_name(
	    suite_curve(is->suite))) == NULL ||
	    (is->sign = EVP_MD_CTX_new()) == NULL) {
		mici_ossl_debug(__func__, "signer set-up");
		goto fail;
	}
	if ((rc = mici_sign_init(is->sign, mic_keyprov_pkey(kp),
	    is->suite)) != MIC_OK)
		goto fail;
	*out = is;
	return MIC_OK;
fail:
	mici_issuer_free(&is);
	return rc;
}

/*
 * The card's point as EVP_PKEY_public_check_quick() checks a key (SP
 * 800-56A r3 5.6.2.3.4): decoding refuses coordinates out of range, and
 * the point must be on the curve and not infinity. With cofactor 1 (P-256
 * and the SM2 curve) that is the full check: every other point has the
 * group's order.
 */
static mic_rc
point_ok(const EC_GROUP *g, const uint8_t *pt)
{
	EC_POINT *p = EC_POINT_new(g);
	int ok = p != NULL &&
	    EC_POINT_oct2point(g, p, pt, POINT_LEN, NULL) == 1 &&
	    !EC_POINT_is_at_infinity(g, p) &&
	    EC_POINT_is_on_curve(g, p, NULL) == 1;

	EC_POINT_free(p);
	if (!ok) {
		mici_ossl_debug(__func__, "the card's point is not on the curve");
		return MIC_ERR_CERT_FORMAT;
	}
	return MIC_OK;
}

/*
 * The card's key into @p x as RFC 5480 has it, id-ecPublicKey with the
 * named curve and the uncompressed point as the card sent it: what
 * i2d_PUBKEY() writes for such a key, without making one.
 */
static mic_rc
set_card_key(X509 *x, mic_suite suite, const uint8_t *pt)
{
	unsigned char *bits = OPENSSL_memdup(pt, POINT_LEN);

	if (bits == NULL)
		return MIC_ERR_NOMEM;
	if (!X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x),
	    OBJ_nid2obj(NID_X9_62_id_ecPublicKey), V_ASN1_OBJECT,
	    OBJ_nid2obj(suite_curve(suite)), bits, POINT_LEN)) {
		OPENSSL_free(bits);
		mici_ossl_debug(__func__, "X509_PUBKEY_set0_param");
		return MIC_ERR_CRYPTO;
	}
	return MIC_OK;
}

/*
 * The card certificate over @p pt: the first one built by
 * mici_cert_build(), each next one from the last (mici_cert_reissue()).
 * The caller owns *@p out and gives it back with cardcert_put().
 */
static mic_rc
cardcert_sign(mici_issuer *ci, const uint8_t *pt, const mic_cert_params *prm,
    X509 **out)
{
	EVP_PKEY *pkey = mic_keyprov_pkey(ci->kp);
	X509 *x;
	mic_rc rc;

	pthread_mutex_lock(&ci->mu);
	x = ci->card;
	ci->card = NULL;
	pthread_mutex_unlock(&ci->mu);
	if (x != NULL) {
		if ((rc = set_card_key(x, ci->suite, pt)) == MIC_OK)
			rc = mici_cert_reissue(x, prm, pkey, ci->suite,
			    ci->sign);
	} else if ((x = X509_new()) == NULL) {
		return MIC_ERR_NOMEM;
	} else if ((rc = set_card_key(x, ci->suite, pt)) == MIC_OK) {
		rc = mici_cert_build(x, prm, ci->x, pkey, ci->suite, ci->sign);
	}
	/* A failure leaves it half changed: the next card starts afresh. */
	if (rc != MIC_OK) {
		X509_free(x);
		return rc;
	}
	*out = x;
	return MIC_OK;
}

static void
cardcert_put(mici_issuer *ci, X509 *x)
{
	pthread_mutex_lock(&ci->mu);
	if (ci->card == NULL) {
		ci->card = x;
		x = NULL;
	}
	pthread_mutex_unlock(&ci->mu);
	X509_free(x);
}

mic_rc
mici_cardcert_issue(mici_issuer *ci, const uint8_t *gen_rsp,
    size_t gen_len, const char *cic, int64_t not_before, int64_t not_after,
    uint8_t *out, size_t cap, size_t *len)
{
	mic_cert_params prm = { 0 };
	const uint8_t *pt = NULL;
	unsigned char *p;
	X509 *x = NULL;
	int n;
	mic_rc rc;

	if (ci == NULL || len == NULL || (out == NULL && cap > 0))
		return MIC_ERR_INVALID_ARGUMENT;
	if (!cic_ok(cic)) {
		mici_debug("%s: the card identification code is an32",
		    __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((rc = parse_gen_rsp(gen_rsp, gen_len, &pt)) != MIC_OK)
		return rc;
	if (!ci->ca) {
		mici_debug("%s: the issuer is not a CA with a key identifier",
		    __func__);
		return MIC_ERR_CERT_PURPOSE;
	}
	if ((rc = point_ok(ci->group, pt)) != MIC_OK)
		return rc;
	prm.kind = MIC_CERT_CARD;
	prm.serial_number = cic;
	prm.not_before = not_before;
	prm.not_after = not_after;
	if ((rc = cardcert_sign(ci, pt, &prm, &x)) != MIC_OK)
		return rc;
	rc = MIC_ERR_CRYPTO;
	if ((n = i2d_X509(x, NULL)) <= 0)
		goto out;
	if ((size_t)n > cap) {
		rc = MIC_ERR_BUFFER_TOO_SMALL;
		goto out;
	}
	p = out;
	if (i2d_X509(x, &p) != n)
		goto out;
	*len = (size_t)n;
	rc = MIC_OK;
out:
	cardcert_put(ci, x);
	return rc;
}

/* One signature by @p is over @p data, into @p sig of *@p siglen bytes. */
static mic_rc
issuer_sign(mici_issuer *is, const uint8_t *data, size_t len, uint8_t *sig,
    size_t *siglen)
{
	EVP_MD_CTX *mctx;
	size_t need = 0;
	mic_rc rc = MIC_ERR_CRYPTO;

	if ((mctx = EVP_MD_CTX_new()) == NULL)
		return MIC_ERR_NOMEM;
	if (!EVP_MD_CTX_copy_ex(mctx, is->sign)) {
		ERR_clear_error();
		if ((rc = mici_sign_init(mctx, mic_keyprov_pkey(is->kp),
		    is->suite)) != MIC_OK)
			goto out;
		rc = MIC_ERR_CRYPTO;
	}
	if (EVP_DigestSignUpdate(mctx, data, len) <= 0 ||
	    EVP_DigestSignFinal(mctx, NULL, &need) <= 0 || need > *siglen ||
	    EVP_DigestSignFinal(mctx, sig, siglen) <= 0) {
		mici_ossl_debug(__func__, "signing");
		goto out;
	}
	rc = MIC_OK;
out:
	EVP_MD_CTX_free(mctx);
	return rc;
}

/* The one value of @p si's signed attribute @p nid. */
static ASN1_TYPE *
signed_attr(CMS_SignerInfo *si, int nid)
{
	int loc = CMS_signed_get_attr_by_NID(si, nid, -1);
	X509_ATTRIBUTE *a = loc >= 0 ? CMS_signed_get_attr(si, loc) : NULL;

	return a != NULL && X509_ATTRIBUTE_count(a) == 1 ?
	    X509_ATTRIBUTE_get0_type(a, 0) : NULL;
}

/*
 * The next SignedData from the last one @p ds signed: between two cards
 * only the eContent, its messageDigest, the signingTime and the signature
 * differ. The signature covers the signed attributes as RFC 5652 5.4 has
 * it, DER with the SET tag, which is how OpenSSL's PKCS7_ATTR_SIGN
 * encodes a SET OF Attribute (what CMS_SignerInfo_sign() signs);
 * CMS_SignerInfo_sign() itself cannot sign one SignerInfo twice.
 */
static mic_rc
sod_resign(mici_issuer *ds, CMS_ContentInfo *cms, const uint8_t *content,
    size_t clen, time_t *when)
{
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(
	    CMS_get0_SignerInfos(cms), 0);
	ASN1_OCTET_STRING **ec = CMS_get0_content(cms);
	STACK_OF(X509_ATTRIBUTE) *attrs = NULL;
	ASN1_TYPE *md_attr, *time_attr;
	ASN1_TIME *now = NULL;
	unsigned char dg[EVP_MAX_MD_SIZE], *der = NULL;
	uint8_t sig[SIG_MAX];
	unsigned int dlen = 0;
	size_t siglen = sizeof(sig);
	time_t t = time(NULL);
	int i, n;
	mic_rc rc = MIC_ERR_CRYPTO;

	if (si == NULL || ec == NULL || *ec == NULL ||
	    (md_attr = signed_attr(si, NID_pkcs9_messageDigest)) == NULL ||
	    md_attr->type != V_ASN1_OCTET_STRING ||
	    (time_attr = signed_attr(si, NID_pkcs9_signingTime)) == NULL)
		goto fail_ossl;
	if (!ASN1_OCTET_STRING_set(*ec, content, (int)clen) ||
	    !EVP_Digest(content, clen, dg, &dlen, ds->md, NULL) ||
	    !ASN1_OCTET_STRING_set(md_attr->value.octet_string, dg,
	    (int)dlen))
		goto fail_ossl;
	/* The time as CMS_SignerInfo_sign() sets it: UTCTime until 2049. */
	if (t != *when) {
		if ((now = ASN1_TIME_set(NULL, t)) == NULL)
			goto fail_ossl;
		ASN1_TYPE_set(time_attr, now->type, now);
		*when = t;
	}
	if ((attrs = sk_X509_ATTRIBUTE_new_null()) == NULL)
		goto fail_ossl;
	for (i = 0; i < CMS_signed_get_attr_count(si); i++)
		if (!sk_X509_ATTRIBUTE_push(attrs, CMS_signed_get_attr(si, i)))
			goto fail_ossl;
	if ((n = ASN1_item_i2d((ASN1_VALUE *)attrs, &der,
	    ASN1_ITEM_rptr(PKCS7_ATTR_SIGN))) <= 0)
		goto fail_ossl;
	if ((rc = issuer_sign(ds, der, (size_t)n, sig, &siglen)) != MIC_OK)
		goto out;
	rc = MIC_ERR_CRYPTO;
	if (!ASN1_OCTET_STRING_set(CMS_SignerInfo_get0_signature(si), sig,
	    (int)siglen))
		goto fail_ossl;
	rc = MIC_OK;
	goto out;
fail_ossl:
	mici_ossl_debug(__func__, "CMS signing");
out:
	OPENSSL_free(der);
	sk_X509_ATTRIBUTE_free(attrs);
	return rc;
}

mic_rc
mici_sod_build(mici_issuer *ds, const mic_sod_file *files,
    size_t nfiles, const uint8_t chip_serial[MIC_CHIP_SERIAL_LEN],
    uint8_t *out, size_t cap, size_t *len)
{
	uint8_t content[CONTENT_MAX];
	size_t clen = 0;
	CMS_ContentInfo *cms;
	time_t t;
	mic_rc rc;

	if (ds == NULL || files == NULL || chip_serial == NULL ||
	    len == NULL || (out == NULL && cap > 0))
		return MIC_ERR_INVALID_ARGUMENT;
	if ((rc = sod_content(ds->suite, ds->md, files, nfiles, chip_serial,
	    content, &clen)) != MIC_OK)
		return rc;
	pthread_mutex_lock(&ds->mu);
	cms = ds->sod;
	t = ds->sod_time;
	ds->sod = NULL;
	pthread_mutex_unlock(&ds->mu);
	if (cms != NULL) {
		rc = sod_resign(ds, cms, content, clen, &t);
	} else {
		rc = sod_cms(ds->x, mic_keyprov_pkey(ds->kp), ds->suite, ds->md,
		    content, clen, &cms);
		t = 0;
	}
	if (rc == MIC_OK)
		rc = sod_encode(cms, out, cap, len);
	/* A failure to sign leaves it half changed: the next card starts
	 * afresh. */
	if (rc != MIC_OK && rc != MIC_ERR_BUFFER_TOO_SMALL) {
		CMS_ContentInfo_free(cms);
		return rc;
	}
	pthread_mutex_lock(&ds->mu);
	if (ds->sod == NULL) {
		ds->sod = cms;
		ds->sod_time = t;
		cms = NULL;
	}
	pthread_mutex_unlock(&ds->mu);
	CMS_ContentInfo_free(cms);
	return rc;
}
