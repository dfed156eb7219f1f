/*
 * Passive authentication, each way it must fail with its own code:
 * every byte of every covered file, a file or a whole card from another
 * chip, the security object itself, a signer that is not a document
 * signer, one with the wrong key usage, one outside the chain, an expired
 * one, a broken chain, and a card key that is not its certificate's.
 *
 * With MIC_TEST_PKI_DIR set (tests/integration/test_softhsm.sh), the
 * document signer and the card issuer come from that PKI, whose keys sit in
 * SoftHSM2 behind pkcs11: URIs: the same tests then pass through PKCS#11.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <mic/sod.h>
#include <mic/tlv.h>

#include "trust_int.h"
#include "trust_test.h"

#define CARD_LEN 128
#define HOLDER_LEN 160
#define INS_LEN 64
#define CERT_LEN 1024

struct card {
	uint8_t chip[MIC_CHIP_SERIAL_LEN];
	char cic[33];
	uint8_t ef_card[CARD_LEN], holder[HOLDER_LEN], ins[INS_LEN];
	uint8_t cert[CERT_LEN];
	size_t cert_der_len;
	EVP_PKEY *key;
	uint8_t gen[80];
	size_t gen_len;
	mic_sod_file files[4];
	uint8_t sod[MIC_SOD_MAX];
	size_t sod_len;
};

struct fx {
	char *dir;
	int own;
	mic_keyprov_t *ds, *ci;
	uint8_t ds_cert[MIC_CERT_MAX], ci_cert[MIC_CERT_MAX];
	size_t ds_len, ci_len;
	mic_trust_t *trust;
	struct card a, b;
};

static void
cic_for(int serial, char out[33])
{
	/* issuer 110100, RID, type 1, version 10, bureau 001, serial. */
	snprintf(out, 33, "110100D156000001110001%010d", serial);
	assert_int_equal(strlen(out), 32);
}

/* Card data in the profile's shape: a template, then 00 padding. */
static void
fill(uint8_t *buf, size_t len, uint8_t tag, int seed)
{
	size_t i, n = len / 2;

	memset(buf, 0, len);
	buf[0] = tag;
	buf[1] = (uint8_t)(n - 2);
	for (i = 2; i < n; i++)
		buf[i] = (uint8_t)(seed * 31 + i * 7);
}

static void
set_files(struct card *c)
{
	c->files[0] = (mic_sod_file){ MIC_SOD_SFI_CARD, c->ef_card, CARD_LEN };
	c->files[1] = (mic_sod_file){ MIC_SOD_SFI_HOLDER, c->holder,
	    HOLDER_LEN };
	c->files[2] = (mic_sod_file){ MIC_SOD_SFI_INSURANCE, c->ins, INS_LEN };
	c->files[3] = (mic_sod_file){ MIC_SOD_SFI_CERT, c->cert, CERT_LEN };
}

static void
make_card(struct fx *f, struct card *c, int seed)
{
	int i;

	for (i = 0; i < MIC_CHIP_SERIAL_LEN; i++)
		c->chip[i] = (uint8_t)(seed * 16 + i);
	cic_for(seed, c->cic);
	fill(c->ef_card, CARD_LEN, 0x66, seed);
	fill(c->holder, HOLDER_LEN, 0x65, seed);
	fill(c->ins, INS_LEN, 0xE1, seed);
	c->key = tt_genkey(mic_keyprov_suite(f->ci));
	c->gen_len = tt_gen_rsp(c->key, c->gen, sizeof(c->gen));
	memset(c->cert, 0, CERT_LEN);
	assert_int_equal(mic_cardcert_issue(f->ci, f->ci_cert, f->ci_len,
	    c->gen, c->gen_len, c->cic, 0, 0, c->cert, CERT_LEN,
	    &c->cert_der_len), MIC_OK);
	set_files(c);
	assert_int_equal(mic_sod_build(f->ds, f->ds_cert, f->ds_len, c->files,
	    4, c->chip, c->sod, sizeof(c->sod), &c->sod_len), MIC_OK);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *env = getenv("MIC_TEST_PKI_DIR");
	char *t;

	assert_non_null(f);
	if (env != NULL && *env != '\0') {
		f->dir = strdup(env);
		/* The point of this run: keys behind URIs, not PEM files. */
		t = tt_path(f->dir, "ds/key.uri");
		assert_int_equal(access(t, F_OK), 0);
		free(t);
		t = tt_path(f->dir, "card-issuer/key.uri");
		assert_int_equal(access(t, F_OK), 0);
		free(t);
	} else {
		f->dir = tt_pki(MIC_SUITE_P256);
		f->own = 1;
	}
	assert_int_equal(mic_pki_load(f->dir, MIC_CERT_DOCUMENT_SIGNER, NULL,
	    NULL, NULL, NULL, &f->ds, f->ds_cert, sizeof(f->ds_cert),
	    &f->ds_len), MIC_OK);
	/* Shares the PKCS#11 module when both keys are in one. */
	assert_int_equal(mic_pki_load(f->dir, MIC_CERT_CARD_ISSUER, NULL, f->ds,
	    NULL, NULL, &f->ci, f->ci_cert, sizeof(f->ci_cert), &f->ci_len),
	    MIC_OK);
	t = tt_path(f->dir, "trust");
	assert_int_equal(mic_trust_load(&f->trust, t), MIC_OK);
	free(t);
	make_card(f, &f->a, 1);
	make_card(f, &f->b, 2);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	EVP_PKEY_free(f->a.key);
	EVP_PKEY_free(f->b.key);
	mic_trust_free(&f->trust);
	mic_keyprov_free(&f->ci);
	mic_keyprov_free(&f->ds);
	if (f->own)
		tt_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static mic_rc
verify(struct fx *f, const struct card *c, const uint8_t *sod, size_t len)
{
	return mic_sod_verify(f->trust, sod, len, c->files, 4, c->chip);
}

/* The eContent of a SignedData, copied out. */
static size_t
econtent(const uint8_t *sod, size_t len, uint8_t *out, size_t cap)
{
	const unsigned char *p = sod;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	ASN1_OCTET_STRING **oc;
	size_t n;

	assert_non_null(cms);
	oc = CMS_get0_content(cms);
	assert_non_null(oc);
	n = (size_t)ASN1_STRING_length(*oc);
	assert_true(n <= cap);
	memcpy(out, ASN1_STRING_get0_data(*oc), n);
	CMS_ContentInfo_free(cms);
	return n;
}

static void
test_genuine(void **state)
{
	struct fx *f = *state;
	struct card *c = &f->a;
	uint8_t padded[MIC_SOD_MAX], content[512], want[512];
	size_t n, k = 0, i;
	mici_sod_content sc;

	assert_int_equal(verify(f, c, c->sod, c->sod_len), MIC_OK);
	assert_true(c->sod_len < 1400);
	/* EF.SOD as read: the object, then 00 up to 2048 bytes. */
	memset(padded, 0, sizeof(padded));
	memcpy(padded, c->sod, c->sod_len);
	assert_int_equal(verify(f, c, padded, sizeof(padded)), MIC_OK);
	/* A terminal may check fewer files than are covered. */
	assert_int_equal(mic_sod_verify(f->trust, c->sod, c->sod_len,
	    c->files + 1, 2, c->chip), MIC_OK);

	/* The MICSecurityObject, byte for byte. */
	n = econtent(c->sod, c->sod_len, content, sizeof(content));
	memcpy(want + k, "\x30\x81\xB9\x02\x01\x00\x30\x0B\x06\x09\x60\x86"
	    "\x48\x01\x65\x03\x04\x02\x01\x30\x81\x9C", 22);
	k += 22;
	for (i = 0; i < 4; i++) {
		unsigned int hl = 0;

		want[k++] = 0x30;
		want[k++] = 0x25;
		want[k++] = 0x02;
		want[k++] = 0x01;
		want[k++] = c->files[i].sfi;
		want[k++] = 0x04;
		want[k++] = 0x20;
		assert_int_equal(EVP_Digest(c->files[i].data, c->files[i].len,
		    want + k, &hl, EVP_sha256(), NULL), 1);
		k += 32;
	}
	want[k++] = 0x04;
	want[k++] = 0x08;
	memcpy(want + k, c->chip, 8);
	k += 8;
	assert_int_equal(n, k);
	assert_memory_equal(content, want, k);
	assert_int_equal(mici_sod_content_parse(content, n, &sc), MIC_OK);
	assert_int_equal(sc.nfiles, 4);
	assert_int_equal(sc.suite, MIC_SUITE_P256);
	assert_memory_equal(sc.chip_serial, c->chip, 8);
}

/* Any byte changed in any covered file, padding included. */
static void
test_every_byte(void **state)
{
	struct fx *f = *state;
	struct card *c = &f->a;
	size_t i, j;

	for (i = 0; i < 4; i++) {
		uint8_t *d = (uint8_t *)c->files[i].data;

		for (j = 0; j < c->files[i].len; j++) {
			d[j] ^= 0x01;
			if (verify(f, c, c->sod, c->sod_len) != MIC_ERR_SOD_HASH)
				fail_msg("SFI %u byte %zu: not caught",
				    c->files[i].sfi, j);
			d[j] ^= 0x01;
		}
	}
	assert_int_equal(verify(f, c, c->sod, c->sod_len), MIC_OK);
}

static void
test_other_card(void **state)
{
	struct fx *f = *state;
	struct card *a = &f->a, *b = &f->b;
	mic_sod_file mixed[4];
	uint8_t extra[16] = { 0 };
	mic_sod_file more[5];

	/* One file from card B on card A: its hash gives it away. */
	memcpy(mixed, a->files, sizeof(mixed));
	mixed[1] = b->files[1];
	assert_int_equal(mic_sod_verify(f->trust, a->sod, a->sod_len, mixed, 4,
	    a->chip), MIC_ERR_SOD_HASH);
	mixed[1] = a->files[1];
	mixed[3] = b->files[3];
	assert_int_equal(mic_sod_verify(f->trust, a->sod, a->sod_len, mixed, 4,
	    a->chip), MIC_ERR_SOD_HASH);
	/* All of card B copied onto chip A: the chip serial gives it away. */
	assert_int_equal(mic_sod_verify(f->trust, b->sod, b->sod_len, b->files,
	    4, a->chip), MIC_ERR_SOD_CHIP);
	assert_int_equal(mic_sod_verify(f->trust, b->sod, b->sod_len, b->files,
	    4, b->chip), MIC_OK);
	/* A file the object does not cover. */
	memcpy(more, a->files, sizeof(mixed));
	more[4] = (mic_sod_file){ 4, extra, sizeof(extra) };
	assert_int_equal(mic_sod_verify(f->trust, a->sod, a->sod_len, more, 5,
	    a->chip), MIC_ERR_SOD_NOT_COVERED);
}

static uint8_t *
find(uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
	size_t i;

	for (i = 0; i + m <= n; i++) {
		if (memcmp(hay + i, needle, m) == 0)
			return hay + i;
	}
	return NULL;
}

static void
test_sod_tampered(void **state)
{
	struct fx *f = *state;
	struct card *c = &f->a;
	uint8_t s[MIC_SOD_MAX + 1], h[32], *p;
	unsigned int hl = 0;

	/* The signature's last byte. */
	memcpy(s, c->sod, c->sod_len);
	s[c->sod_len - 1] ^= 0x01;
	assert_int_equal(verify(f, c, s, c->sod_len), MIC_ERR_SOD_SIGNATURE);

	/* A hash inside the signed content: the message digest breaks. */
	memcpy(s, c->sod, c->sod_len);
	assert_int_equal(EVP_Digest(c->ef_card, CARD_LEN, h, &hl, EVP_sha256(),
	    NULL), 1);
	p = find(s, c->sod_len, h, 32);
	assert_non_null(p);
	p[0] ^= 0x80;
	assert_int_equal(verify(f, c, s, c->sod_len), MIC_ERR_SOD_SIGNATURE);

	/* The chip serial inside the content. */
	memcpy(s, c->sod, c->sod_len);
	p = find(s, c->sod_len, c->chip, 8);
	assert_non_null(p);
	p[7] ^= 0x01;
	assert_int_equal(verify(f, c, s, c->sod_len), MIC_ERR_SOD_SIGNATURE);

	/* The document signer's certificate inside the SignedData: the CMS
	 * signature still holds (same key), the chain does not. */
	memcpy(s, c->sod, c->sod_len);
	p = find(s, c->sod_len, f->ds_cert, f->ds_len);
	assert_non_null(p);
	p[f->ds_len - 1] ^= 0x01;
	assert_int_equal(verify(f, c, s, c->sod_len), MIC_ERR_CERT_CHAIN);

	/* Not a security object at all. */
	assert_int_equal(verify(f, c, c->sod, c->sod_len - 1),
	    MIC_ERR_SOD_FORMAT);
	assert_int_equal(verify(f, c, (const uint8_t *)"\x30\x00", 2),
	    MIC_ERR_SOD_FORMAT);
	assert_int_equal(verify(f, c, (const uint8_t *)"", 0),
	    MIC_ERR_SOD_FORMAT);
	memset(s, 0, sizeof(s));
	assert_int_equal(verify(f, c, s, MIC_SOD_MAX), MIC_ERR_SOD_FORMAT);

	/* BER, not DER: a non-minimal length, outside and inside. */
	assert_int_equal(c->sod[0], 0x30);
	assert_int_equal(c->sod[1], 0x82);
	s[0] = 0x30;
	s[1] = 0x83;
	s[2] = 0x00;
	memcpy(s + 3, c->sod + 2, c->sod_len - 2);
	assert_int_equal(verify(f, c, s, c->sod_len + 1), MIC_ERR_SOD_FORMAT);
	/* 30 82 LL LL 06 09 <pkcs7-signedData> A0 82 LL LL ... */
	assert_int_equal(c->sod[15], 0xA0);
	assert_int_equal(c->sod[16], 0x82);
	{
		size_t outer = (size_t)((c->sod[2] << 8) | c->sod[3]) + 1;

		s[0] = 0x30;
		s[1] = 0x82;
		s[2] = (uint8_t)(outer >> 8);
		s[3] = (uint8_t)outer;
		memcpy(s + 4, c->sod + 4, 11);
		s[15] = 0xA0;
		s[16] = 0x83;
		s[17] = 0x00;
		memcpy(s + 18, c->sod + 17, c->sod_len - 17);
		assert_int_equal(verify(f, c, s, c->sod_len + 1),
		    MIC_ERR_SOD_FORMAT);
	}
}

/* A SignedData over @p content made with OpenSSL directly. */
static size_t
raw_cms(struct fx *f, const char *ctype, int detached, int two_signers,
    uint8_t *out, size_t cap)
{
	struct card *c = &f->a;
	uint8_t content[512];
	size_t clen = econtent(c->sod, c->sod_len, content, sizeof(content));
	const unsigned char *p = f->ds_cert;
	X509 *x = d2i_X509(NULL, &p, (long)f->ds_len);
	BIO *bio = BIO_new_mem_buf(content, (int)clen);
	CMS_ContentInfo *cms;
	ASN1_OBJECT *o = OBJ_txt2obj(ctype, 1);
	unsigned char *der = NULL;
	unsigned flags = CMS_BINARY | CMS_PARTIAL | (detached ? CMS_DETACHED : 0);
	int n;

	cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
	assert_non_null(cms);
	assert_true(CMS_set1_eContentType(cms, o));
	assert_non_null(CMS_add1_signer(cms, x, mic_keyprov_pkey(f->ds),
	    EVP_sha256(), CMS_BINARY));
	if (two_signers) {
		const unsigned char *q = f->ci_cert;
		X509 *y = d2i_X509(NULL, &q, (long)f->ci_len);

		assert_non_null(CMS_add1_signer(cms, y, mic_keyprov_pkey(f->ci),
		    EVP_sha256(), CMS_BINARY));
		X509_free(y);
	}
	assert_true(CMS_final(cms, bio, NULL, flags));
	n = i2d_CMS_ContentInfo(cms, &der);
	assert_true(n > 0 && (size_t)n <= cap);
	memcpy(out, der, (size_t)n);
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	ASN1_OBJECT_free(o);
	BIO_free(bio);
	X509_free(x);
	return (size_t)n;
}

static void
test_cms_shape(void **state)
{
	struct fx *f = *state;
	struct card *c = &f->a;
	const unsigned char *p = c->sod;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)c->sod_len);
	X509_ALGOR *dig = NULL;
	int ptype = -1;
	uint8_t s[4096];
	size_t n;

	/* The signer's digest algorithm: id-sha256, parameters absent, as in
	 * the MICSecurityObject (profile 2.4). */
	assert_non_null(cms);
	CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(
	    CMS_get0_SignerInfos(cms), 0), NULL, NULL, &dig, NULL);
	assert_non_null(dig);
	X509_ALGOR_get0(NULL, &ptype, NULL, dig);
	assert_int_equal(ptype, V_ASN1_UNDEF);
	CMS_ContentInfo_free(cms);
	/* The same content and signer through OpenSSL: accepted. */
	n = raw_cms(f, MIC_OID_SECURITY_OBJECT, 0, 0, s, sizeof(s));
	assert_int_equal(verify(f, c, s, n), MIC_OK);
	/* Another content type (id-data). */
	n = raw_cms(f, "1.2.840.113549.1.7.1", 0, 0, s, sizeof(s));
	assert_int_equal(verify(f, c, s, n), MIC_ERR_SOD_FORMAT);
	/* Detached content. */
	n = raw_cms(f, MIC_OID_SECURITY_OBJECT, 1, 0, s, sizeof(s));
	assert_int_equal(verify(f, c, s, n), MIC_ERR_SOD_FORMAT);
	/* Two signers. */
	n = raw_cms(f, MIC_OID_SECURITY_OBJECT, 0, 1, s, sizeof(s));
	assert_int_equal(verify(f, c, s, n), MIC_ERR_SOD_FORMAT);
}

static mic_rc
sign_with(struct fx *f, mic_keyprov_t *kp, const uint8_t *cert, size_t len,
    uint8_t *sod, size_t *sod_len)
{
	return mic_sod_build(kp, cert, len, f->a.files, 4, f->a.chip, sod,
	    MIC_SOD_MAX, sod_len);
}

/* A terminal key and certificate: a valid chain, the wrong purpose. */
static void
test_signer_terminal(void **state)
{
	struct fx *f = *state;
	uint8_t cert[MIC_CERT_MAX], sod[MIC_SOD_MAX];
	size_t clen = 0, slen = 0;
	mic_keyprov_t *kp = NULL;

	assert_int_equal(mic_pki_load(f->dir, MIC_CERT_TERMINAL, "bank", NULL,
	    NULL, NULL, &kp, cert, sizeof(cert), &clen), MIC_OK);
	assert_int_equal(sign_with(f, kp, cert, clen, sod, &slen), MIC_OK);
	assert_int_equal(verify(f, &f->a, sod, slen), MIC_ERR_CERT_PURPOSE);
	mic_keyprov_free(&kp);
}

/* A key and a certificate made here, signed by DIR/issuer's file key. */
static mic_keyprov_t *
raw_signer(struct fx *f, const char *const *exts, uint8_t *cert, size_t *len,
    char **tmp)
{
	char *ip = tt_path(f->dir, "issuer/cert.pem");
	char *kp = tt_path(f->dir, "issuer/key.pem");
	X509 *issuer = tt_cert_x509(ip);
	EVP_PKEY *ikey = tt_key(kp);
	EVP_PKEY *k = tt_genkey(MIC_SUITE_P256);
	X509 *x = tt_issue_raw(issuer, ikey, k, "odd signer", exts);
	mic_keyprov_t *prov = NULL;
	char uri[600], *path;

	*tmp = tt_tmpdir();
	path = tt_path(*tmp, "k.pem");
	tt_write_key(k, path, 0600);
	snprintf(uri, sizeof(uri), "file:%s", path);
	assert_int_equal(mic_keyprov_open(&prov, uri), MIC_OK);
	tt_der(x, cert, MIC_CERT_MAX, len);
	free(path);
	X509_free(x);
	EVP_PKEY_free(k);
	EVP_PKEY_free(ikey);
	X509_free(issuer);
	free(kp);
	free(ip);
	return prov;
}

static void
check_raw_signer(struct fx *f, const char *const *exts, mic_rc want)
{
	uint8_t cert[MIC_CERT_MAX], sod[MIC_SOD_MAX];
	size_t clen = 0, slen = 0;
	char *tmp = NULL;
	mic_keyprov_t *kp = raw_signer(f, exts, cert, &clen, &tmp);

	assert_int_equal(sign_with(f, kp, cert, clen, sod, &slen), MIC_OK);
	assert_int_equal(verify(f, &f->a, sod, slen), want);
	mic_keyprov_free(&kp);
	tt_rmrf(tmp);
	free(tmp);
}

static void
test_signer_key_usage(void **state)
{
	struct fx *f = *state;
	static const char *const good[] = {
		"basicConstraints", "critical,CA:FALSE",
		"keyUsage", "critical,digitalSignature",
		"extendedKeyUsage", MIC_OID_KP_DOCUMENT_SIGNER,
		"subjectKeyIdentifier", "hash",
		"authorityKeyIdentifier", "keyid",
		NULL,
	};
	static const char *const wrong_ku[] = {
		"basicConstraints", "critical,CA:FALSE",
		"keyUsage", "critical,keyEncipherment",
		"extendedKeyUsage", MIC_OID_KP_DOCUMENT_SIGNER,
		"subjectKeyIdentifier", "hash",
		"authorityKeyIdentifier", "keyid",
		NULL,
	};
	static const char *const no_ku[] = {
		"basicConstraints", "critical,CA:FALSE",
		"extendedKeyUsage", MIC_OID_KP_DOCUMENT_SIGNER,
		"subjectKeyIdentifier", "hash",
		"authorityKeyIdentifier", "keyid",
		NULL,
	};
	static const char *const no_eku[] = {
		"basicConstraints", "critical,CA:FALSE",
		"keyUsage", "critical,digitalSignature",
		"subjectKeyIdentifier", "hash",
		"authorityKeyIdentifier", "keyid",
		NULL,
	};
	static const char *const other_eku[] = {
		"basicConstraints", "critical,CA:FALSE",
		"keyUsage", "critical,digitalSignature",
		"extendedKeyUsage", "codeSigning",
		"subjectKeyIdentifier", "hash",
		"authorityKeyIdentifier", "keyid",
		NULL,
	};

	/* The control: made the same way, right usages, accepted. */
	check_raw_signer(f, good, MIC_OK);
	check_raw_signer(f, wrong_ku, MIC_ERR_CERT_PURPOSE);
	check_raw_signer(f, no_ku, MIC_ERR_CERT_PURPOSE);
	check_raw_signer(f, no_eku, MIC_ERR_CERT_PURPOSE);
	check_raw_signer(f, other_eku, MIC_ERR_CERT_PURPOSE);
}

/* A document signer the card issuer minted: its EKU forbids it. */
static void
test_signer_under_card_issuer(void **state)
{
	struct fx *f = *state;
	uint8_t spki[256], cert[MIC_CERT_MAX], sod[MIC_SOD_MAX];
	size_t slen = 0, clen = 0, olen = 0;
	mic_cert_params prm = { MIC_CERT_DOCUMENT_SIGNER, NULL, NULL, 0, 0, 0 };
	EVP_PKEY *k = tt_genkey(mic_keyprov_suite(f->ci));
	mic_keyprov_t *kp = NULL;

	assert_int_equal(mici_keyprov_wrap(k, &kp), MIC_OK);
	assert_int_equal(mic_keyprov_spki(kp, spki, sizeof(spki), &slen),
	    MIC_OK);
	assert_int_equal(mic_cert_issue(&prm, spki, slen, f->ci_cert,
	    f->ci_len, f->ci, cert, sizeof(cert), &clen), MIC_OK);
	assert_int_equal(sign_with(f, kp, cert, clen, sod, &olen), MIC_OK);
	assert_int_equal(verify(f, &f->a, sod, olen), MIC_ERR_CERT_PURPOSE);
	mic_keyprov_free(&kp);
}

/* A document signer of another PKI, complete with its own root. */
static void
test_signer_foreign(void **state)
{
	struct fx *f = *state;
	char *other = tt_pki(MIC_SUITE_P256);
	uint8_t cert[MIC_CERT_MAX], sod[MIC_SOD_MAX];
	size_t clen = 0, slen = 0;
	mic_keyprov_t *kp = NULL;

	assert_int_equal(mic_pki_load(other, MIC_CERT_DOCUMENT_SIGNER, NULL,
	    NULL, NULL, NULL, &kp, cert, sizeof(cert), &clen), MIC_OK);
	assert_int_equal(sign_with(f, kp, cert, clen, sod, &slen), MIC_OK);
	assert_int_equal(verify(f, &f->a, sod, slen), MIC_ERR_CERT_UNTRUSTED);
	mic_keyprov_free(&kp);
	tt_rmrf(other);
	free(other);
}

static void
dated_signer(struct fx *f, int64_t nb, int64_t na, mic_rc want)
{
	uint8_t icert[MIC_CERT_MAX], spki[256], cert[MIC_CERT_MAX];
	uint8_t sod[MIC_SOD_MAX];
	size_t ilen = 0, slen = 0, clen = 0, olen = 0;
	mic_cert_params prm = { MIC_CERT_DOCUMENT_SIGNER, NULL, NULL, 0, nb,
	    na };
	mic_keyprov_t *ikey = NULL, *kp = NULL;

	assert_int_equal(mic_pki_load(f->dir, MIC_CERT_ISSUER_CA, NULL, f->ds,
	    NULL, NULL, &ikey, icert, sizeof(icert), &ilen), MIC_OK);
	assert_int_equal(mici_keyprov_wrap(tt_genkey(MIC_SUITE_P256), &kp),
	    MIC_OK);
	assert_int_equal(mic_keyprov_spki(kp, spki, sizeof(spki), &slen),
	    MIC_OK);
	assert_int_equal(mic_cert_issue(&prm, spki, slen, icert, ilen, ikey,
	    cert, sizeof(cert), &clen), MIC_OK);
	assert_int_equal(sign_with(f, kp, cert, clen, sod, &olen), MIC_OK);
	assert_int_equal(verify(f, &f->a, sod, olen), want);
	mic_keyprov_free(&kp);
	mic_keyprov_free(&ikey);
}

static void
test_signer_expired(void **state)
{
	struct fx *f = *state;
	int64_t now = (int64_t)time(NULL);

	dated_signer(f, now - 3 * 365 * 86400LL, now - 86400, MIC_ERR_CERT_EXPIRED);
	dated_signer(f, now + 86400, now + 365 * 86400LL, MIC_ERR_CERT_EXPIRED);
	dated_signer(f, now - 86400, now + 86400, MIC_OK);
	/* The genuine object, verified in 2100: its signer has long expired. */
	mic_trust_set_time(f->trust, 4102444800LL);
	assert_int_equal(verify(f, &f->a, f->a.sod, f->a.sod_len),
	    MIC_ERR_CERT_EXPIRED);
	mic_trust_set_time(f->trust, 0);
	assert_int_equal(verify(f, &f->a, f->a.sod, f->a.sod_len), MIC_OK);
}

/* Trust stores whose chain is broken, or missing a link. */
static void
test_chain(void **state)
{
	struct fx *f = *state;
	struct card *c = &f->a;
	char *root = tt_path(f->dir, "trust/roots/root.pem");
	char *inter = tt_path(f->dir, "trust/intermediates/issuer.pem");
	uint8_t r[MIC_CERT_MAX], i[MIC_CERT_MAX];
	size_t rl = 0, il = 0;
	mic_trust_t *t = NULL;

	tt_cert_der(root, r, sizeof(r), &rl);
	tt_cert_der(inter, i, sizeof(i), &il);

	/* The issuer CA's certificate with its signature damaged. */
	i[il - 1] ^= 0x01;
	assert_int_equal(mic_trust_new(&t), MIC_OK);
	assert_int_equal(mic_trust_add(t, r, rl, 1), MIC_OK);
	assert_int_equal(mic_trust_add(t, i, il, 0), MIC_OK);
	assert_int_equal(mic_sod_verify(t, c->sod, c->sod_len, c->files, 4,
	    c->chip), MIC_ERR_CERT_CHAIN);
	mic_trust_free(&t);

	/* No issuer CA at all: no chain. */
	assert_int_equal(mic_trust_new(&t), MIC_OK);
	assert_int_equal(mic_trust_add(t, r, rl, 1), MIC_OK);
	assert_int_equal(mic_sod_verify(t, c->sod, c->sod_len, c->files, 4,
	    c->chip), MIC_ERR_CERT_UNTRUSTED);
	/* The issuer CA as a trust anchor is not enough either: libmic
	 * wants the chain to end at a root. */
	mic_trust_free(&t);
	i[il - 1] ^= 0x01;
	assert_int_equal(mic_trust_new(&t), MIC_OK);
	assert_int_equal(mic_trust_add(t, i, il, 1), MIC_OK);
	assert_int_equal(mic_sod_verify(t, c->sod, c->sod_len, c->files, 4,
	    c->chip), MIC_ERR_CERT_UNTRUSTED);
	mic_trust_free(&t);
	free(root);
	free(inter);
}

static void
test_build_errors(void **state)
{
	struct fx *f = *state;
	struct card *c = &f->a;
	mic_sod_file files[4];
	uint8_t sod[MIC_SOD_MAX], cert[MIC_CERT_MAX];
	size_t len = 0, clen = 0;
	mic_keyprov_t *kp = NULL;

	memcpy(files, c->files, sizeof(files));
	assert_int_equal(mic_sod_build(f->ds, f->ds_cert, f->ds_len, files, 3,
	    c->chip, sod, sizeof(sod), &len), MIC_ERR_INVALID_ARGUMENT);
	files[3].sfi = 2;
	assert_int_equal(mic_sod_build(f->ds, f->ds_cert, f->ds_len, files, 4,
	    c->chip, sod, sizeof(sod), &len), MIC_ERR_INVALID_ARGUMENT);
	files[3].sfi = 31;
	assert_int_equal(mic_sod_build(f->ds, f->ds_cert, f->ds_len, files, 4,
	    c->chip, sod, sizeof(sod), &len), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_sod_build(f->ds, f->ds_cert, f->ds_len, c->files,
	    4, c->chip, sod, 200, &len), MIC_ERR_BUFFER_TOO_SMALL);
	/* The card issuer's certificate with the document signer's key. */
	assert_int_equal(mic_sod_build(f->ds, f->ci_cert, f->ci_len, c->files,
	    4, c->chip, sod, sizeof(sod), &len), MIC_ERR_CERT_PURPOSE);
	assert_int_equal(mic_sod_build(f->ds, (const uint8_t *)"\x30\x00", 2,
	    c->files, 4, c->chip, sod, sizeof(sod), &len), MIC_ERR_CERT_FORMAT);
	(void)kp;
	(void)cert;
	(void)clen;
}

/* The card certificate and the card's key. */
static void
test_card_cert(void **state)
{
	struct fx *f = *state;
	struct card *a = &f->a, *b = &f->b;
	uint8_t g[80], cert[MIC_CERT_MAX];
	size_t glen, clen = 0;
	X509 *x;
	const unsigned char *p;
	char sn[64];

	assert_int_equal(mic_cardcert_check_key(a->cert, CERT_LEN, a->gen,
	    a->gen_len), MIC_OK);
	assert_int_equal(mic_cardcert_check_key(a->cert, a->cert_der_len,
	    a->gen, a->gen_len), MIC_OK);
	/* Card B's key against card A's certificate. */
	assert_int_equal(mic_cardcert_check_key(a->cert, CERT_LEN, b->gen,
	    b->gen_len), MIC_ERR_CARD_KEY_MISMATCH);
	/* One bit of the point. */
	memcpy(g, a->gen, a->gen_len);
	g[40] ^= 0x01;
	assert_int_equal(mic_cardcert_check_key(a->cert, CERT_LEN, g,
	    a->gen_len), MIC_ERR_CARD_KEY_MISMATCH);

	/* Malformed GENERATE responses. */
	memcpy(g, a->gen, a->gen_len);
	g[5] = 0x02;                                   /* compressed */
	assert_int_equal(mic_cardcert_check_key(a->cert, CERT_LEN, g,
	    a->gen_len), MIC_ERR_RESPONSE);
	memcpy(g, a->gen, a->gen_len);
	g[3] = 0x87;                                   /* not 86 */
	assert_int_equal(mic_cardcert_check_key(a->cert, CERT_LEN, g,
	    a->gen_len), MIC_ERR_RESPONSE);
	memcpy(g, a->gen, a->gen_len);
	g[a->gen_len] = 0x00;                          /* trailing byte */
	assert_int_equal(mic_cardcert_check_key(a->cert, CERT_LEN, g,
	    a->gen_len + 1), MIC_ERR_RESPONSE);
	assert_int_equal(mic_cardcert_check_key(a->cert, CERT_LEN, g,
	    a->gen_len - 1), MIC_ERR_RESPONSE);
	memcpy(g, "\x7F\x49\x03\x86\x01\x04", 6);     /* short point */
	assert_int_equal(mic_cardcert_check_key(a->cert, CERT_LEN, g, 6),
	    MIC_ERR_RESPONSE);
	assert_int_equal(mic_cardcert_check_key((const uint8_t *)"\x30\x00", 2,
	    a->gen, a->gen_len), MIC_ERR_CERT_FORMAT);

	/* Issuing: a point off the curve, a bad code. */
	memcpy(g, a->gen, a->gen_len);
	g[69] ^= 0x01;
	assert_int_equal(mic_cardcert_issue(f->ci, f->ci_cert, f->ci_len, g,
	    a->gen_len, a->cic, 0, 0, cert, sizeof(cert), &clen),
	    MIC_ERR_CERT_FORMAT);
	assert_int_equal(mic_cardcert_issue(f->ci, f->ci_cert, f->ci_len,
	    a->gen, a->gen_len, "110100", 0, 0, cert, sizeof(cert), &clen),
	    MIC_ERR_INVALID_ARGUMENT);
	/* The document signer is no CA: it cannot issue cards. */
	assert_int_equal(mic_cardcert_issue(f->ds, f->ds_cert, f->ds_len,
	    a->gen, a->gen_len, a->cic, 0, 0, cert, sizeof(cert), &clen),
	    MIC_ERR_CERT_PURPOSE);

	/* Verifying: chain, purpose, and the card's code. */
	assert_int_equal(mic_cardcert_verify(f->trust, a->cert, CERT_LEN,
	    a->cic), MIC_OK);
	assert_int_equal(mic_cardcert_verify(f->trust, a->cert, CERT_LEN,
	    NULL), MIC_OK);
	assert_int_equal(mic_cardcert_verify(f->trust, a->cert, CERT_LEN,
	    b->cic), MIC_ERR_CERT_SUBJECT);
	assert_int_equal(mic_cert_verify(f->trust, a->cert, CERT_LEN,
	    MIC_CERT_DOCUMENT_SIGNER), MIC_ERR_CERT_PURPOSE);
	assert_int_equal(mic_cert_verify(f->trust, f->ds_cert, f->ds_len,
	    MIC_CERT_CARD), MIC_ERR_CERT_PURPOSE);

	/* Subject serialNumber is the code, as a PrintableString. */
	p = a->cert;
	x = d2i_X509(NULL, &p, (long)a->cert_der_len);
	assert_non_null(x);
	assert_int_equal(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_serialNumber, sn, sizeof(sn)), 32);
	assert_string_equal(sn, a->cic);
	assert_int_equal(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(
	    X509_get_subject_name(x), X509_NAME_get_index_by_NID(
	    X509_get_subject_name(x), NID_serialNumber, -1)))->type,
	    V_ASN1_PRINTABLESTRING);
	X509_free(x);
	glen = a->gen_len;
	(void)glen;
}

/* --- issuing card after card: mici_issuer ------------------------------- */

/*
 * A line's issuers (mici_issuer) make the card certificate and EF.SOD with
 * OpenSSL, by the same code as mic_cardcert_issue() and mic_sod_build(),
 * from objects set up once; the card's key goes in as the point it sent.
 * Their output is checked as OpenSSL reads it, as a terminal verifies it,
 * and against the public functions' output wherever that is deterministic.
 */

/*
 * Two DER trees alike but for what must differ between two signings: the
 * SignerInfo's signature (an OCTET STRING of 64 to 80 bytes) and the
 * times (signingTime; the certificate's dates are the same bytes).
 */
static void
same_tree(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	mic_tlv_iter ia, ib;
	mic_tlv ta, tb;
	mic_rc ra, rb;

	mic_tlv_iter_init(&ia, a, an);
	mic_tlv_iter_init(&ib, b, bn);
	for (;;) {
		ra = mic_tlv_next(&ia, &ta);
		rb = mic_tlv_next(&ib, &tb);
		assert_int_equal(ra, rb);
		if (ra != MIC_OK)
			return;
		assert_int_equal(ta.tag, tb.tag);
		if (ta.constructed) {
			same_tree(ta.value, ta.len, tb.value, tb.len);
			continue;
		}
		if (ta.tag == 0x17 || ta.tag == 0x18 || (ta.tag == 0x04 &&
		    ta.len >= 64 && ta.len <= 80 && tb.len >= 64 &&
		    tb.len <= 80))
			continue;
		assert_int_equal(ta.len, tb.len);
		assert_memory_equal(ta.value, tb.value, ta.len);
	}
}

/* The TBSCertificate of a certificate: value offset and length. */
static void
tbs_of(const uint8_t *cert, size_t len, const uint8_t **tbs, size_t *tlen)
{
	mic_tlv c, t;

	assert_int_equal(mic_tlv_parse(cert, len, &c), MIC_OK);
	assert_int_equal(mic_tlv_parse(c.value, c.len, &t), MIC_OK);
	*tbs = c.value;
	*tlen = t.raw_len;
}

/*
 * Two certificates over the same key, names and dates: the same
 * TBSCertificate but for the random serial number (16 bytes, positive,
 * top bits 01), which differs.
 */
static void
same_tbs(const uint8_t *ref, size_t rlen, const uint8_t *cert, size_t len)
{
	const uint8_t *rt, *ft;
	size_t rtl = 0, ftl = 0, off;

	tbs_of(ref, rlen, &rt, &rtl);
	tbs_of(cert, len, &ft, &ftl);
	assert_int_equal(rtl, ftl);
	/* The serial: after the TBS header, A0 03 02 01 02, 02 10. */
	off = (size_t)(ft[1] & 0x80 ? 2 + (ft[1] & 0x7F) : 2) + 5 + 2;
	assert_int_equal(ft[off - 1], 0x10);
	assert_memory_equal(rt, ft, off);
	assert_memory_not_equal(rt + off, ft + off, 16);
	assert_memory_equal(rt + off + 16, ft + off + 16, rtl - off - 16);
	assert_true(ft[off] >= 0x40 && ft[off] <= 0x7F);
}

/*
 * A card certificate as OpenSSL reads it: DER, signed by the issuer's
 * key, the card's key encoded as i2d_PUBKEY() encodes it, and the card
 * profile (docs/pki.md): v3, basicConstraints cA false and keyUsage
 * digitalSignature and keyAgreement, both critical; the card EKU; RFC 7093
 * key identifiers; serialNumber the code as a PrintableString; ten years.
 */
static void
check_card_x509(const uint8_t *der, size_t len, const uint8_t *issuer,
    size_t ilen, const struct card *c)
{
	const unsigned char *p = der, *q = issuer;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	X509 *ix = d2i_X509(NULL, &q, (long)ilen);
	unsigned char *spki = NULL, *want = NULL, *re = NULL, dg[32];
	EXTENDED_KEY_USAGE *eku;
	BASIC_CONSTRAINTS *bc;
	const X509_NAME *subj;
	char oid[128], sn[64];
	unsigned int dl = 0;
	int n, m, days = 0, secs = 0, crit = -1;

	assert_non_null(x);
	assert_non_null(ix);
	assert_ptr_equal(p, der + len);
	n = i2d_X509(x, &re);
	assert_int_equal((size_t)n, len);
	assert_memory_equal(re, der, len);
	assert_int_equal(mici_x509_sm2_id(x), MIC_OK);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(ix)), 1);
	assert_int_equal(X509_check_issued(ix, x), X509_V_OK);
	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
	m = i2d_PUBKEY(c->key, &want);
	assert_true(n > 0);
	assert_int_equal(n, m);
	assert_memory_equal(spki, want, (size_t)n);
	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	assert_false(X509_get_extension_flags(x) & EXFLAG_CA);
	assert_int_equal(X509_get_key_usage(x),
	    KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT);
	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_int_equal(crit, 1);
	assert_false(bc->ca);
	assert_null(bc->pathlen);
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING_free(X509_get_ext_d2i(x, NID_key_usage, &crit, NULL));
	assert_int_equal(crit, 1);
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
	assert_non_null(eku);
	assert_int_equal(crit, 0);
	assert_int_equal(sk_ASN1_OBJECT_num(eku), 1);
	assert_true(OBJ_obj2txt(oid, sizeof(oid), sk_ASN1_OBJECT_value(eku, 0),
	    1) > 0);
	assert_string_equal(oid, MIC_OID_KP_CARD);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	assert_int_equal(EVP_Digest(c->gen + 5, 65, dg, &dl, EVP_sha256(),
	    NULL), 1);
	assert_non_null(X509_get0_subject_key_id(x));
	assert_int_equal(ASN1_STRING_length(X509_get0_subject_key_id(x)), 20);
	assert_memory_equal(ASN1_STRING_get0_data(X509_get0_subject_key_id(x)),
	    dg, 20);
	assert_non_null(X509_get0_authority_key_id(x));
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x),
	    X509_get0_subject_key_id(ix)), 0);
	subj = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_entry_count(subj), 4);
	assert_int_equal(X509_NAME_get_text_by_NID((X509_NAME *)subj,
	    NID_serialNumber, sn, sizeof(sn)), 32);
	assert_string_equal(sn, c->cic);
	assert_int_equal(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj,
	    X509_NAME_get_index_by_NID(subj, NID_serialNumber, -1)))->type,
	    V_ASN1_PRINTABLESTRING);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x),
	    X509_get_subject_name(ix)), 0);
	assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
	    X509_get0_notAfter(x)), 1);
	assert_int_equal(days, 3653);
	assert_int_equal(secs, 0);
	OPENSSL_free(re);
	OPENSSL_free(spki);
	OPENSSL_free(want);
	X509_free(ix);
	X509_free(x);
}

/*
 * The card certificate of a line's issuer: the TBSCertificate
 * mic_cardcert_issue() makes, with UTCTime and GeneralizedTime dates; it
 * reads as the card profile in OpenSSL and verifies as a terminal checks
 * it; the same refusals hold.
 */
static void
test_issuer_cardcert(void **state)
{
	struct fx *f = *state;
	struct card *a = &f->a;
	static const int64_t nb = 1700000000, na[] = { 2000000000,
	    2700000000LL };
	uint8_t ref[MIC_CERT_MAX], fast[MIC_CERT_MAX], again[MIC_CERT_MAX];
	uint8_t g[80];
	size_t rlen = 0, flen = 0, alen = 0;
	mici_issuer *ci = NULL, *ds = NULL;
	int64_t now;

	assert_int_equal(mici_issuer_new(f->ci, f->ci_cert, f->ci_len, &ci),
	    MIC_OK);
	assert_int_equal(mici_issuer_new(f->ds, f->ds_cert, f->ds_len, &ds),
	    MIC_OK);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(mic_cardcert_issue(f->ci, f->ci_cert,
		    f->ci_len, a->gen, a->gen_len, a->cic, nb, na[i], ref,
		    sizeof(ref), &rlen), MIC_OK);
		assert_int_equal(mici_cardcert_issue(ci, a->gen, a->gen_len,
		    a->cic, nb, na[i], fast, sizeof(fast), &flen), MIC_OK);
		same_tbs(ref, rlen, fast, flen);
		assert_int_equal(mici_cardcert_check(f->trust, fast, flen,
		    a->cic, a->gen, a->gen_len), MIC_OK);
		assert_int_equal(mic_cardcert_verify(f->trust, fast, flen,
		    a->cic), MIC_OK);
	}
	/* From a given time to ten years on: each time a new serial number,
	 * everything else the same. */
	now = (int64_t)time(NULL);
	assert_int_equal(mici_cardcert_issue(ci, a->gen, a->gen_len, a->cic,
	    now, 0, fast, sizeof(fast), &flen), MIC_OK);
	assert_int_equal(mici_cardcert_issue(ci, a->gen, a->gen_len, a->cic,
	    now, 0, again, sizeof(again), &alen), MIC_OK);
	same_tbs(fast, flen, again, alen);
	check_card_x509(fast, flen, f->ci_cert, f->ci_len, a);
	/* From now, as mic_perso_card() issues. */
	assert_int_equal(mici_cardcert_issue(ci, a->gen, a->gen_len, a->cic,
	    0, 0, fast, sizeof(fast), &flen), MIC_OK);
	check_card_x509(fast, flen, f->ci_cert, f->ci_len, a);
	assert_int_equal(mici_cardcert_check(f->trust, fast, flen, a->cic,
	    a->gen, a->gen_len), MIC_OK);
	assert_int_equal(mic_cardcert_check_key(fast, flen, a->gen,
	    a->gen_len), MIC_OK);
	assert_int_equal(mici_cardcert_check(f->trust, fast, flen, a->cic,
	    f->b.gen, f->b.gen_len), MIC_ERR_CARD_KEY_MISMATCH);
	assert_int_equal(mici_cardcert_check(f->trust, fast, flen, f->b.cic,
	    a->gen, a->gen_len), MIC_ERR_CERT_SUBJECT);
	/* One bit of the signature. */
	memcpy(again, fast, flen);
	again[flen - 1] ^= 0x01;
	assert_int_not_equal(mic_cardcert_verify(f->trust, again, flen,
	    a->cic), MIC_OK);
	/* A point off the curve, bad codes, no dates, not a CA. */
	memcpy(g, a->gen, a->gen_len);
	g[69] ^= 0x01;
	assert_int_equal(mici_cardcert_issue(ci, g, a->gen_len, a->cic, 0, 0,
	    fast, sizeof(fast), &flen), MIC_ERR_CERT_FORMAT);
	g[69] ^= 0x01;
	g[5] = 0x02;
	assert_int_equal(mici_cardcert_issue(ci, g, a->gen_len, a->cic, 0, 0,
	    fast, sizeof(fast), &flen), MIC_ERR_RESPONSE);
	assert_int_equal(mici_cardcert_issue(ci, a->gen, a->gen_len, "110100",
	    0, 0, fast, sizeof(fast), &flen), MIC_ERR_INVALID_ARGUMENT);
	/* Printable ASCII, but not a PrintableString: OpenSSL refuses it
	 * for a serialNumber, on either way in. */
	assert_int_equal(mic_cardcert_issue(f->ci, f->ci_cert, f->ci_len,
	    a->gen, a->gen_len, "110100D156000001110001000000004_", 0, 0, ref,
	    sizeof(ref), &rlen), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mici_cardcert_issue(ci, a->gen, a->gen_len,
	    "110100D156000001110001000000004_", 0, 0, fast, sizeof(fast),
	    &flen), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mici_cardcert_issue(ci, a->gen, a->gen_len, a->cic,
	    nb, nb, fast, sizeof(fast), &flen), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mici_cardcert_issue(ci, a->gen, a->gen_len, a->cic,
	    0, 0, fast, 300, &flen), MIC_ERR_BUFFER_TOO_SMALL);
	assert_int_equal(mici_cardcert_issue(ds, a->gen, a->gen_len, a->cic,
	    0, 0, fast, sizeof(fast), &flen), MIC_ERR_CERT_PURPOSE);
	/* Card after card, each certificate is made from the last one: the
	 * key, its identifier, the code and the dates of the card at hand
	 * and nothing of the card before, also after a refusal. */
	for (size_t i = 0; i < 4; i++) {
		struct card *c = i % 2 ? &f->b : a;

		assert_int_equal(mic_cardcert_issue(f->ci, f->ci_cert,
		    f->ci_len, c->gen, c->gen_len, c->cic, nb, na[i % 2], ref,
		    sizeof(ref), &rlen), MIC_OK);
		assert_int_equal(mici_cardcert_issue(ci, c->gen, c->gen_len,
		    c->cic, nb, na[i % 2], fast, sizeof(fast), &flen), MIC_OK);
		same_tbs(ref, rlen, fast, flen);
		assert_int_equal(mici_cardcert_check(f->trust, fast, flen,
		    c->cic, c->gen, c->gen_len), MIC_OK);
		assert_int_equal(mici_cardcert_issue(ci, c->gen, c->gen_len,
		    c->cic, 0, 0, fast, sizeof(fast), &flen), MIC_OK);
		check_card_x509(fast, flen, f->ci_cert, f->ci_len, c);
		if (i == 1)
			assert_int_equal(mici_cardcert_issue(ci, a->gen,
			    a->gen_len, "110100D156000001110001000000004_", 0,
			    0, fast, sizeof(fast), &flen),
			    MIC_ERR_INVALID_ARGUMENT);
	}
	mici_issuer_free(&ci);
	mici_issuer_free(&ds);
	mici_issuer_free(&ds);
}

/*
 * OpenSSL's own verification of a SignedData's signature and content
 * digest (as "openssl cms -verify -binary -no_signer_cert_verify"; the
 * chain is mic_sod_verify()'s): the eContent it gives back.
 */
static size_t
cms_verified(const uint8_t *sod, size_t len, uint8_t *out, size_t cap)
{
	const unsigned char *p = sod;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n;

	assert_non_null(cms);
	assert_non_null(bio);
	assert_ptr_equal(p, sod + len);
	assert_int_equal(CMS_verify(cms, NULL, NULL, NULL, bio,
	    CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY), 1);
	n = BIO_get_mem_data(bio, &data);
	assert_true(n > 0 && (size_t)n <= cap);
	memcpy(out, data, (size_t)n);
	BIO_free(bio);
	CMS_ContentInfo_free(cms);
	return (size_t)n;
}

/*
 * @p sod, made for card @p c by a line's document signer, is the public
 * function's structure over the same security object, and verifies as
 * OpenSSL and as a terminal verify it.
 */
static void
line_sod_ok(struct fx *f, struct card *c, const uint8_t *sod, size_t len)
{
	uint8_t got[512], want[512];
	size_t n, k;

	same_tree(sod, len, c->sod, c->sod_len);
	n = cms_verified(sod, len, got, sizeof(got));
	k = econtent(c->sod, c->sod_len, want, sizeof(want));
	assert_int_equal(n, k);
	assert_memory_equal(got, want, k);
	assert_int_equal(verify(f, c, sod, len), MIC_OK);
}

/* EF.SOD of a line's document signer: mic_sod_build()'s SignedData. */
static void
test_issuer_sod(void **state)
{
	struct fx *f = *state;
	struct card *a = &f->a;
	uint8_t sod[MIC_SOD_MAX], padded[MIC_SOD_MAX];
	size_t len = 0;
	mici_issuer *ds = NULL, *bad = NULL;
	const unsigned char *p;
	CMS_ContentInfo *cms;
	STACK_OF(X509) *certs;
	unsigned char *der = NULL;

	assert_int_equal(mici_issuer_new(f->ds, f->ds_cert, f->ds_len, &ds),
	    MIC_OK);
	assert_int_equal(mici_sod_build(ds, a->files, 4, a->chip, sod,
	    sizeof(sod), &len), MIC_OK);
	line_sod_ok(f, a, sod, len);
	/* The one certificate in it is the document signer's, as given. */
	p = sod;
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	assert_non_null(cms);
	certs = CMS_get1_certs(cms);
	assert_int_equal(sk_X509_num(certs), 1);
	assert_int_equal(i2d_X509(sk_X509_value(certs, 0), &der),
	    (int)f->ds_len);
	assert_memory_equal(der, f->ds_cert, f->ds_len);
	OPENSSL_free(der);
	sk_X509_pop_free(certs, X509_free);
	CMS_ContentInfo_free(cms);
	/* As a card holds it, zero padded. */
	memset(padded, 0, sizeof(padded));
	memcpy(padded, sod, len);
	assert_int_equal(verify(f, a, padded, sizeof(padded)), MIC_OK);
	assert_int_equal(verify(f, &f->b, sod, len), MIC_ERR_SOD_CHIP);
	sod[len - 1] ^= 0x01;
	assert_int_equal(verify(f, a, sod, len), MIC_ERR_SOD_SIGNATURE);
	assert_int_equal(mici_sod_build(ds, a->files, 3, a->chip, sod,
	    sizeof(sod), &len), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mici_sod_build(ds, a->files, 4, a->chip, sod, 200,
	    &len), MIC_ERR_BUFFER_TOO_SMALL);
	/* Card after card, each SignedData is made from the last one: the
	 * content, digest and signature of the card at hand, also after a
	 * refusal and after a buffer too small. */
	for (size_t i = 0; i < 4; i++) {
		struct card *c = i % 2 ? &f->b : a;
		struct card *other = i % 2 ? a : &f->b;

		assert_int_equal(mici_sod_build(ds, c->files, 4, c->chip, sod,
		    sizeof(sod), &len), MIC_OK);
		line_sod_ok(f, c, sod, len);
		assert_int_equal(verify(f, other, sod, len), MIC_ERR_SOD_CHIP);
		if (i == 1)
			assert_int_equal(mici_sod_build(ds, c->files, 3,
			    c->chip, sod, sizeof(sod), &len),
			    MIC_ERR_INVALID_ARGUMENT);
		if (i == 2)
			assert_int_equal(mici_sod_build(ds, c->files, 4,
			    c->chip, sod, 200, &len), MIC_ERR_BUFFER_TOO_SMALL);
	}
	/* A certificate that is not the key's is refused once, at set-up. */
	assert_int_equal(mici_issuer_new(f->ds, f->ci_cert, f->ci_len, &bad),
	    MIC_ERR_CERT_PURPOSE);
	assert_null(bad);
	assert_int_equal(mici_issuer_new(f->ds, (const uint8_t *)"\x30\x00", 2,
	    &bad), MIC_ERR_CERT_FORMAT);
	mici_issuer_free(&ds);
}

/*
 * Readers of a line share their issuers: threads issuing at once each get
 * a certificate and an EF.SOD of their own card, whole.
 */
#define SHARE_THREADS 4
#define SHARE_CARDS 12

struct share {
	struct fx *f;
	mici_issuer *ci, *ds;
	int id;
	mic_rc rc;
	uint8_t cert[SHARE_CARDS][MIC_CERT_MAX];
	size_t cert_len[SHARE_CARDS];
	uint8_t sod[SHARE_CARDS][MIC_SOD_MAX];
	size_t sod_len[SHARE_CARDS];
};

static void *
share_run(void *arg)
{
	struct share *sh = arg;

	for (int i = 0; i < SHARE_CARDS && sh->rc == MIC_OK; i++) {
		struct card *c = (sh->id + i) % 2 ? &sh->f->b : &sh->f->a;

		sh->rc = mici_cardcert_issue(sh->ci, c->gen, c->gen_len,
		    c->cic, 0, 0, sh->cert[i], sizeof(sh->cert[i]),
		    &sh->cert_len[i]);
		if (sh->rc == MIC_OK)
			sh->rc = mici_sod_build(sh->ds, c->files, 4, c->chip,
			    sh->sod[i], sizeof(sh->sod[i]), &sh->sod_len[i]);
	}
	return NULL;
}

static void
test_issuer_threads(void **state)
{
	struct fx *f = *state;
	struct share *sh = calloc(SHARE_THREADS, sizeof(*sh));
	pthread_t th[SHARE_THREADS];
	mici_issuer *ci = NULL, *ds = NULL;

	assert_non_null(sh);
	assert_int_equal(mici_issuer_new(f->ci, f->ci_cert, f->ci_len, &ci),
	    MIC_OK);
	assert_int_equal(mici_issuer_new(f->ds, f->ds_cert, f->ds_len, &ds),
	    MIC_OK);
	for (int t = 0; t < SHARE_THREADS; t++) {
		sh[t] = (struct share){ .f = f, .ci = ci, .ds = ds, .id = t };
		assert_int_equal(pthread_create(&th[t], NULL, share_run,
		    &sh[t]), 0);
	}
	for (int t = 0; t < SHARE_THREADS; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
	for (int t = 0; t < SHARE_THREADS; t++) {
		assert_int_equal(sh[t].rc, MIC_OK);
		for (int i = 0; i < SHARE_CARDS; i++) {
			struct card *c = (t + i) % 2 ? &f->b : &f->a;

			check_card_x509(sh[t].cert[i], sh[t].cert_len[i],
			    f->ci_cert, f->ci_len, c);
			line_sod_ok(f, c, sh[t].sod[i], sh[t].sod_len[i]);
		}
	}
	mici_issuer_free(&ci);
	mici_issuer_free(&ds);
	free(sh);
}

/*
 * The trust store remembers verified chains: what it answers from memory
 * is what it answers afresh, for good certificates and bad ones, at other
 * times, and after the store changes.
 */
static void
test_trust_cache(void **state)
{
	struct fx *f = *state;
	struct card *a = &f->a;
	static const char *const card_exts[] = {
		"basicConstraints", "critical,CA:FALSE",
		"keyUsage", "critical,digitalSignature,keyAgreement",
		"subjectKeyIdentifier", "hash",
		"authorityKeyIdentifier", "keyid:always",
		"extendedKeyUsage", MIC_OID_KP_CARD,
		NULL };
	char *p = tt_path(f->dir, "card-issuer/cert.pem"), *tdir;
	X509 *ci = tt_cert_x509(p), *forged;
	EVP_PKEY *other = tt_genkey(MIC_SUITE_P256);
	uint8_t der[MIC_CERT_MAX];
	size_t dlen = 0;
	mic_trust_t *warm = NULL, *cold = NULL;
	mic_rc want;

	free(p);
	tdir = tt_path(f->dir, "trust");
	assert_int_equal(mic_trust_load(&warm, tdir), MIC_OK);
	/* Twice each: the second time from what the first one learned. */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(mic_sod_verify(warm, a->sod, a->sod_len,
		    a->files, 4, a->chip), MIC_OK);
		assert_int_equal(mic_cardcert_verify(warm, a->cert, CERT_LEN,
		    a->cic), MIC_OK);
		assert_int_equal(mic_cert_verify(warm, a->cert, CERT_LEN,
		    MIC_CERT_DOCUMENT_SIGNER), MIC_ERR_CERT_PURPOSE);
		assert_int_equal(mic_cert_verify(warm, f->ds_cert, f->ds_len,
		    MIC_CERT_CARD), MIC_ERR_CERT_PURPOSE);
		assert_int_equal(mic_cert_verify(warm, f->ds_cert, f->ds_len,
		    MIC_CERT_DOCUMENT_SIGNER), MIC_OK);
	}
	/* A card certificate in the card issuer's name, signed by another
	 * key: the remembered issuer does not make it good. */
	forged = tt_issue_raw(ci, other, other, "MIC Card", card_exts);
	tt_der(forged, der, sizeof(der), &dlen);
	assert_int_equal(mic_trust_load(&cold, tdir), MIC_OK);
	want = mic_cert_verify(cold, der, dlen, MIC_CERT_CARD);
	assert_int_not_equal(want, MIC_OK);
	assert_int_equal(mic_cert_verify(warm, der, dlen, MIC_CERT_CARD), want);
	/* In 2100 everything has expired, remembered or not. */
	mic_trust_set_time(warm, 4102444800LL);
	assert_int_equal(mic_cardcert_verify(warm, a->cert, CERT_LEN, a->cic),
	    MIC_ERR_CERT_EXPIRED);
	assert_int_equal(mic_cert_verify(warm, f->ds_cert, f->ds_len,
	    MIC_CERT_DOCUMENT_SIGNER), MIC_ERR_CERT_EXPIRED);
	assert_int_equal(mic_sod_verify(warm, a->sod, a->sod_len, a->files, 4,
	    a->chip), MIC_ERR_CERT_EXPIRED);
	/* Before the card was issued, too. */
	mic_trust_set_time(warm, 946684800LL);
	assert_int_equal(mic_cardcert_verify(warm, a->cert, CERT_LEN, a->cic),
	    MIC_ERR_CERT_EXPIRED);
	mic_trust_set_time(warm, 0);
	assert_int_equal(mic_cardcert_verify(warm, a->cert, CERT_LEN, a->cic),
	    MIC_OK);
	/* A store that changes forgets; what it holds still verifies. */
	assert_int_equal(mic_trust_add(warm, f->ci_cert, f->ci_len, 0),
	    MIC_OK);
	assert_int_equal(mic_sod_verify(warm, a->sod, a->sod_len, a->files, 4,
	    a->chip), MIC_OK);
	assert_int_equal(mic_cardcert_verify(warm, a->cert, CERT_LEN, a->cic),
	    MIC_OK);
	mic_trust_free(&cold);
	mic_trust_free(&warm);
	X509_free(forged);
	X509_free(ci);
	EVP_PKEY_free(other);
	free(tdir);
}

/* The SM2 suite, end to end. */
static void
test_sm2(void **state)
{
	char *dir = tt_pki(MIC_SUITE_SM2);
	struct fx f2;
	char *t;
	uint8_t s[MIC_SOD_MAX], content[512];
	size_t n;
	mici_sod_content sc;

	(void)state;
	memset(&f2, 0, sizeof(f2));
	f2.dir = dir;
	assert_int_equal(mic_pki_load(dir, MIC_CERT_DOCUMENT_SIGNER, NULL, NULL,
	    NULL, NULL, &f2.ds, f2.ds_cert, sizeof(f2.ds_cert), &f2.ds_len),
	    MIC_OK);
	assert_int_equal(mic_keyprov_suite(f2.ds), MIC_SUITE_SM2);
	assert_int_equal(mic_pki_load(dir, MIC_CERT_CARD_ISSUER, NULL, NULL,
	    NULL, NULL, &f2.ci, f2.ci_cert, sizeof(f2.ci_cert), &f2.ci_len),
	    MIC_OK);
	t = tt_path(dir, "trust");
	assert_int_equal(mic_trust_load(&f2.trust, t), MIC_OK);
	free(t);
	make_card(&f2, &f2.a, 7);
	assert_int_equal(verify(&f2, &f2.a, f2.a.sod, f2.a.sod_len), MIC_OK);
	{
		/* A line's issuers, SM2: the public functions' structures. */
		mici_issuer *ci = NULL, *ds = NULL;
		uint8_t c2[MIC_CERT_MAX], r2[MIC_CERT_MAX];
		size_t c2len = 0, r2len = 0, s2len = 0;
		int64_t now = (int64_t)time(NULL);

		assert_int_equal(mici_issuer_new(f2.ci, f2.ci_cert, f2.ci_len,
		    &ci), MIC_OK);
		assert_int_equal(mici_issuer_new(f2.ds, f2.ds_cert, f2.ds_len,
		    &ds), MIC_OK);
		assert_int_equal(mic_cardcert_issue(f2.ci, f2.ci_cert,
		    f2.ci_len, f2.a.gen, f2.a.gen_len, f2.a.cic, now, 0, r2,
		    sizeof(r2), &r2len), MIC_OK);
		assert_int_equal(mici_cardcert_issue(ci, f2.a.gen, f2.a.gen_len,
		    f2.a.cic, now, 0, c2, sizeof(c2), &c2len), MIC_OK);
		same_tbs(r2, r2len, c2, c2len);
		check_card_x509(c2, c2len, f2.ci_cert, f2.ci_len, &f2.a);
		assert_int_equal(mici_cardcert_check(f2.trust, c2, c2len,
		    f2.a.cic, f2.a.gen, f2.a.gen_len), MIC_OK);
		/* Twice: the second from the first. */
		for (int i = 0; i < 2; i++) {
			assert_int_equal(mici_sod_build(ds, f2.a.files, 4,
			    f2.a.chip, s, sizeof(s), &s2len), MIC_OK);
			same_tree(s, s2len, f2.a.sod, f2.a.sod_len);
			assert_int_equal(verify(&f2, &f2.a, s, s2len), MIC_OK);
		}
		assert_int_equal(mici_cardcert_issue(ci, f2.a.gen, f2.a.gen_len,
		    f2.a.cic, now, 0, c2, sizeof(c2), &c2len), MIC_OK);
		same_tbs(r2, r2len, c2, c2len);
		check_card_x509(c2, c2len, f2.ci_cert, f2.ci_len, &f2.a);
		mici_issuer_free(&ci);
		mici_issuer_free(&ds);
	}
	n = econtent(f2.a.sod, f2.a.sod_len, content, sizeof(content));
	assert_int_equal(mici_sod_content_parse(content, n, &sc), MIC_OK);
	assert_int_equal(sc.suite, MIC_SUITE_SM2);

	f2.a.holder[5] ^= 0x01;
	assert_int_equal(verify(&f2, &f2.a, f2.a.sod, f2.a.sod_len),
	    MIC_ERR_SOD_HASH);
	f2.a.holder[5] ^= 0x01;
	memcpy(s, f2.a.sod, f2.a.sod_len);
	s[f2.a.sod_len - 1] ^= 0x01;
	assert_int_equal(verify(&f2, &f2.a, s, f2.a.sod_len),
	    MIC_ERR_SOD_SIGNATURE);
	assert_int_equal(verify(&f2, &f2.a, f2.a.sod, f2.a.sod_len - 0),
	    MIC_OK);
	assert_int_equal(mic_sod_verify(f2.trust, f2.a.sod, f2.a.sod_len,
	    f2.a.files, 4, (const uint8_t *)"\0\0\0\0\0\0\0\0"),
	    MIC_ERR_SOD_CHIP);
	assert_int_equal(mic_cardcert_check_key(f2.a.cert, CERT_LEN, f2.a.gen,
	    f2.a.gen_len), MIC_OK);
	assert_int_equal(mic_cardcert_verify(f2.trust, f2.a.cert, CERT_LEN,
	    f2.a.cic), MIC_OK);
	/* An SM2 object against a P-256 trust store. */
	assert_int_equal(verify(*state, &f2.a, f2.a.sod, f2.a.sod_len),
	    MIC_ERR_CERT_UNTRUSTED);

	EVP_PKEY_free(f2.a.key);
	mic_trust_free(&f2.trust);
	mic_keyprov_free(&f2.ci);
	mic_keyprov_free(&f2.ds);
	tt_rmrf(dir);
	free(dir);
}

/* The MICSecurityObject parser, strictly DER. */
static void
test_content_parser(void **state)
{
	struct fx *f = *state;
	uint8_t good[512], b[520];
	size_t n = econtent(f->a.sod, f->a.sod_len, good, sizeof(good));
	mici_sod_content c;

	assert_int_equal(mici_sod_content_parse(good, n, &c), MIC_OK);
	/* hashAlgorithm as written: id-sha256, parameters absent (profile
	 * 2.4, RFC 5754). */
	assert_memory_equal(good + 6, "\x30\x0B\x06\x09\x60\x86\x48\x01"
	    "\x65\x03\x04\x02\x01\x30", 14);
#define BAD(mutate) do { \
		memcpy(b, good, n); \
		mutate; \
		assert_int_equal(mici_sod_content_parse(b, n, &c), \
		    MIC_ERR_SOD_FORMAT); \
	} while (0)
	BAD(b[5] = 0x01);                      /* version 1 */
	BAD(b[18] = 0x02);                     /* SHA-224's OID */
	BAD(b[26] = 0x03);                     /* SFIs 1, 3, 3, 5 */
	BAD(b[26] = 0x00);                     /* SFI 0 */
	/* Entries are 39 bytes: 30 25 02 01 sfi 04 20 hash. */
	BAD(b[26 + 39] = 0x01);                /* SFIs 1, 1, 3, 5 */
	BAD(b[26 + 39] = 0x05);                /* SFIs 1, 5, 3, 5 */
	BAD(b[26 + 3 * 39] = 0x04);            /* no SFI 5 */
	BAD(b[26 + 3 * 39] = 0x1F);            /* SFI 31 */
	BAD(b[26 + 3 * 39 - 1] = 0x02);        /* INTEGER of 2 bytes */
	BAD(b[26 + 3 * 39 + 2] = 0x1F);        /* a 31-byte hash */
	BAD(b[n - 9] = 0x07);                  /* chip serial of 7 bytes */
	BAD(b[1] = 0x81; b[2] = 0xB8);         /* wrong outer length */
#undef BAD
	assert_int_equal(mici_sod_content_parse(good, n - 1, &c),
	    MIC_ERR_SOD_FORMAT);
	memcpy(b, good, n);
	b[n] = 0x00;                           /* a trailing byte */
	assert_int_equal(mici_sod_content_parse(b, n + 1, &c),
	    MIC_ERR_SOD_FORMAT);
	/* hashAlgorithm with NULL parameters is accepted (RFC 5754). */
	memcpy(b, good, 6);
	b[2] = (uint8_t)(good[2] + 2);
	memcpy(b + 6, "\x30\x0D", 2);
	memcpy(b + 8, good + 8, 11);
	memcpy(b + 19, "\x05\x00", 2);
	memcpy(b + 21, good + 19, n - 19);
	assert_int_equal(mici_sod_content_parse(b, n + 2, &c), MIC_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_genuine),
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_other_card),
		cmocka_unit_test(test_sod_tampered),
		cmocka_unit_test(test_cms_shape),
		cmocka_unit_test(test_signer_terminal),
		cmocka_unit_test(test_signer_key_usage),
		cmocka_unit_test(test_signer_under_card_issuer),
		cmocka_unit_test(test_signer_foreign),
		cmocka_unit_test(test_signer_expired),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_build_errors),
		cmocka_unit_test(test_card_cert),
		cmocka_unit_test(test_content_parser),
		cmocka_unit_test(test_sm2),
		cmocka_unit_test(test_issuer_cardcert),
		cmocka_unit_test(test_issuer_sod),
		cmocka_unit_test(test_issuer_threads),
		cmocka_unit_test(test_trust_cache),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
