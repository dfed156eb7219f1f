/*
 * The test PKI: OIDs and their DER, the certificate profiles, the role
 * extension byte for byte, the directory layout and its permissions,
 * refusal to overwrite, CSR and key-URI issuance, terminal trust stores,
 * and the SM2 suite.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <mic/pki.h>

#include "trust_int.h"
#include "trust_test.h"

static void
assert_oid(const char *dotted, const uint8_t *der, size_t len)
{
	ASN1_OBJECT *o = OBJ_txt2obj(dotted, 1);
	ASN1_OBJECT *own = mici_oid(dotted);
	unsigned char *d = NULL;
	int n;

	assert_non_null(o);
	n = i2d_ASN1_OBJECT(o, &d);
	assert_int_equal((size_t)n, len);
	assert_memory_equal(d, der, len);
	/* libmic's lookup, which takes its own OIDs from the DER. */
	assert_non_null(own);
	assert_int_equal(OBJ_cmp(own, o), 0);
	OPENSSL_free(d);
	ASN1_OBJECT_free(own);
	ASN1_OBJECT_free(o);
}

static void
test_oids(void **state)
{
	static const uint8_t role[] = MIC_OID_TERMINAL_ROLE_DER;
	static const uint8_t so[] = MIC_OID_SECURITY_OBJECT_DER;
	static const uint8_t ds[] = MIC_OID_KP_DOCUMENT_SIGNER_DER;
	static const uint8_t term[] = MIC_OID_KP_TERMINAL_DER;
	static const uint8_t card[] = MIC_OID_KP_CARD_DER;
	BIGNUM *bn = NULL;
	char *dec;

	(void)state;
	/* The arc is 2.25 and the UUID read as one unsigned integer. */
	assert_true(BN_hex2bn(&bn, "d53a42b05e654d23b8cf413bfdce0d40") > 0);
	dec = BN_bn2dec(bn);
	assert_string_equal(MIC_OID_ARC, "2.25.283428068932386601163896741507493662016");
	assert_string_equal(&MIC_OID_ARC[5], dec);
	OPENSSL_free(dec);
	BN_free(bn);

	assert_string_equal(MIC_OID_TERMINAL_ROLE, MIC_OID_ARC ".1");
	assert_string_equal(MIC_OID_SECURITY_OBJECT, MIC_OID_ARC ".2");
	assert_oid(MIC_OID_TERMINAL_ROLE, role, sizeof(role));
	assert_oid(MIC_OID_SECURITY_OBJECT, so, sizeof(so));
	assert_oid(MIC_OID_KP_DOCUMENT_SIGNER, ds, sizeof(ds));
	assert_oid(MIC_OID_KP_TERMINAL, term, sizeof(term));
	assert_oid(MIC_OID_KP_CARD, card, sizeof(card));
	/* Any other OID still goes through OpenSSL's text parser. */
	{
		static const uint8_t eku_server[] = { 0x06, 0x08, 0x2B, 0x06,
		    0x01, 0x05, 0x05, 0x07, 0x03, 0x01 };

		assert_oid("1.3.6.1.5.5.7.3.1", eku_server, sizeof(eku_server));
	}
}

static void
test_role_names(void **state)
{
	static const char *const names[] = { NULL, "hospital-pos",
	    "pharmacy-pos", "bank", "agency", "bureau" };
	mic_role r;
	int i;

	(void)state;
	for (i = 1; i <= 5; i++) {
		assert_string_equal(mic_role_name((mic_role)i), names[i]);
		assert_int_equal(mic_role_from_name(names[i], &r), MIC_OK);
		assert_int_equal(r, i);
	}
	assert_null(mic_role_name((mic_role)0));
	assert_null(mic_role_name((mic_role)6));
	assert_int_equal(mic_role_from_name("Bank", &r),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_role_from_name("", &r), MIC_ERR_INVALID_ARGUMENT);
}

static void
assert_mode(const char *dir, const char *rel, unsigned mode)
{
	char *p = tt_path(dir, rel);
	struct stat st;

	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, mode);
	free(p);
}

static void
verify_kind(mic_trust_t *t, const char *dir, const char *rel,
    mic_cert_kind kind, mic_rc want)
{
	uint8_t der[MIC_CERT_MAX];
	size_t len = 0;
	char *p = tt_path(dir, rel);

	tt_cert_der(p, der, sizeof(der), &len);
	assert_int_equal(mic_cert_verify(t, der, len, kind), want);
	free(p);
}

static const char *const terminals[] = { "hospital-pos", "pharmacy-pos",
    "bank", "agency", "bureau" };

static void
check_pki(const char *dir, int sm2)
{
	mic_trust_t *t = NULL;
	char *tdir = tt_path(dir, "trust");
	char rel[64];
	size_t i;

	assert_mode(dir, ".", 0700);
	assert_mode(dir, "root/key.pem", 0600);
	assert_mode(dir, "issuer/key.pem", 0600);
	assert_mode(dir, "ds/key.pem", 0600);
	assert_mode(dir, "card-issuer/key.pem", 0600);
	assert_mode(dir, "root/cert.pem", 0644);
	assert_mode(dir, "trust/roots/root.pem", 0644);
	assert_mode(dir, "trust/intermediates/issuer.pem", 0644);
	assert_mode(dir, "trust/intermediates/card-issuer.pem", 0644);

	assert_int_equal(mic_trust_load(&t, tdir), MIC_OK);
	verify_kind(t, dir, "root/cert.pem", MIC_CERT_ROOT, MIC_OK);
	verify_kind(t, dir, "issuer/cert.pem", MIC_CERT_ISSUER_CA, MIC_OK);
	verify_kind(t, dir, "ds/cert.pem", MIC_CERT_DOCUMENT_SIGNER, MIC_OK);
	verify_kind(t, dir, "card-issuer/cert.pem", MIC_CERT_CARD_ISSUER,
	    MIC_OK);
	for (i = 0; i < 5; i++) {
		uint8_t der[MIC_CERT_MAX];
		size_t len = 0;
		mic_role role;
		char *p;

		snprintf(rel, sizeof(rel), "terminals/%s/key.pem",
		    terminals[i]);
		assert_mode(dir, rel, 0600);
		snprintf(rel, sizeof(rel), "terminals/%s/cert.pem",
		    terminals[i]);
		verify_kind(t, dir, rel, MIC_CERT_TERMINAL, MIC_OK);
		/* A terminal is no document signer, and the reverse. */
		verify_kind(t, dir, rel, MIC_CERT_DOCUMENT_SIGNER,
		    MIC_ERR_CERT_PURPOSE);
		p = tt_path(dir, rel);
		tt_cert_der(p, der, sizeof(der), &len);
		free(p);
		assert_int_equal(mic_cert_role(der, len, &role), MIC_OK);
		assert_int_equal(role, (mic_role)(i + 1));
	}
	verify_kind(t, dir, "ds/cert.pem", MIC_CERT_TERMINAL,
	    MIC_ERR_CERT_PURPOSE);
	verify_kind(t, dir, "ds/cert.pem", MIC_CERT_CARD, MIC_ERR_CERT_PURPOSE);
	verify_kind(t, dir, "issuer/cert.pem", MIC_CERT_ROOT,
	    MIC_ERR_CERT_PURPOSE);
	verify_kind(t, dir, "issuer/cert.pem", MIC_CERT_CARD_ISSUER,
	    MIC_ERR_CERT_PURPOSE);
	if (sm2) {
		X509 *x;
		char *p = tt_path(dir, "ds/cert.pem");

		x = tt_cert_x509(p);
		assert_int_equal(X509_get_signature_nid(x), NID_SM2_with_SM3);
		X509_free(x);
		free(p);
	}
	mic_trust_free(&t);
	free(tdir);
}

static void
test_init_p256(void **state)
{
	char *dir = tt_pki(MIC_SUITE_P256);

	(void)state;
	check_pki(dir, 0);
	tt_rmrf(dir);
	free(dir);
}

static void
test_init_sm2(void **state)
{
	char *dir = tt_pki(MIC_SUITE_SM2);

	(void)state;
	check_pki(dir, 1);
	tt_rmrf(dir);
	free(dir);
}

/* Each certificate's profile, read back with OpenSSL. */
static void
test_profiles(void **state)
{
	static const uint8_t role_der[] = MIC_OID_TERMINAL_ROLE_DER;
	char *dir = tt_pki(MIC_SUITE_P256);
	char *p;
	X509 *x;
	ASN1_OBJECT *o;
	X509_EXTENSION *e;
	const ASN1_OCTET_STRING *v;
	int idx;

	(void)state;
	/* The bank terminal: role extension 0A 01 03, not critical. */
	p = tt_path(dir, "terminals/bank/cert.pem");
	x = tt_cert_x509(p);
	o = d2i_ASN1_OBJECT(NULL, &(const unsigned char *){ role_der },
	    sizeof(role_der));
	assert_non_null(o);
	idx = X509_get_ext_by_OBJ(x, o, -1);
	assert_true(idx >= 0);
	e = X509_get_ext(x, idx);
	assert_int_equal(X509_EXTENSION_get_critical(e), 0);
	v = X509_EXTENSION_get_data(e);
	assert_int_equal(ASN1_STRING_length(v), 3);
	assert_memory_equal(ASN1_STRING_get0_data(v), "\x0A\x01\x03", 3);
	assert_true(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE);
	assert_true(X509_get_key_usage(x) & KU_KEY_AGREEMENT);
	assert_false(X509_get_extension_flags(x) & EXFLAG_CA);
	ASN1_OBJECT_free(o);
	X509_free(x);
	free(p);

	/* The card issuer: a CA of path length 0 held to card certificates. */
	p = tt_path(dir, "card-issuer/cert.pem");
	x = tt_cert_x509(p);
	assert_true(X509_get_extension_flags(x) & EXFLAG_CA);
	assert_int_equal(X509_get_pathlen(x), 0);
	assert_true(X509_get_extension_flags(x) & EXFLAG_XKUSAGE);
	assert_int_equal(X509_get_key_usage(x), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	X509_free(x);
	free(p);

	p = tt_path(dir, "issuer/cert.pem");
	x = tt_cert_x509(p);
	assert_int_equal(X509_get_pathlen(x), 1);
	assert_false(X509_get_extension_flags(x) & EXFLAG_XKUSAGE);
	X509_free(x);
	free(p);

	p = tt_path(dir, "root/cert.pem");
	x = tt_cert_x509(p);
	assert_int_equal(X509_get_pathlen(x), 2);
	assert_true(X509_get_extension_flags(x) & EXFLAG_SS);
	X509_free(x);
	free(p);

	p = tt_path(dir, "ds/cert.pem");
	x = tt_cert_x509(p);
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	assert_int_equal(mic_cert_role((const uint8_t *)"\x30\x00", 2,
	    &(mic_role){ 0 }), MIC_ERR_CERT_FORMAT);
	X509_free(x);
	free(p);

	tt_rmrf(dir);
	free(dir);
}

static void
test_refuse_overwrite(void **state)
{
	char *dir = tt_pki(MIC_SUITE_P256);
	char *kp = tt_path(dir, "ds/key.pem");
	char *cp = tt_path(dir, "ds/cert.pem");
	mic_pki_opts o = { 0 };
	uint8_t *k1, *k2, *c1, *c2;
	size_t k1l, k2l, c1l, c2l;

	(void)state;
	k1 = tt_read(kp, &k1l);
	c1 = tt_read(cp, &c1l);
	assert_int_equal(mic_pki_init(dir, &o), MIC_ERR_EXISTS);
	assert_int_equal(mic_pki_create(dir, MIC_CERT_DOCUMENT_SIGNER, &o),
	    MIC_ERR_EXISTS);
	assert_int_equal(mic_pki_create(dir, MIC_CERT_ROOT, &o),
	    MIC_ERR_EXISTS);
	o.role = MIC_ROLE_BANK;
	o.name = "bank";
	assert_int_equal(mic_pki_create(dir, MIC_CERT_TERMINAL, &o),
	    MIC_ERR_EXISTS);
	k2 = tt_read(kp, &k2l);
	assert_int_equal(k1l, k2l);
	assert_memory_equal(k1, k2, k1l);
	free(k2);

	/* With force, a new key and a new certificate. */
	o.force = 1;
	o.name = NULL;
	o.role = 0;
	assert_int_equal(mic_pki_create(dir, MIC_CERT_DOCUMENT_SIGNER, &o),
	    MIC_OK);
	k2 = tt_read(kp, &k2l);
	c2 = tt_read(cp, &c2l);
	assert_false(k1l == k2l && memcmp(k1, k2, k1l) == 0);
	assert_false(c1l == c2l && memcmp(c1, c2, c1l) == 0);
	assert_mode(dir, "ds/key.pem", 0600);
	free(k1);
	free(k2);
	free(c1);
	free(c2);
	free(kp);
	free(cp);
	tt_rmrf(dir);
	free(dir);
}

static void
test_create_errors(void **state)
{
	char *dir = tt_tmpdir();
	mic_pki_opts o = { 0 };

	(void)state;
	/* No root yet: nothing to issue with. */
	assert_int_equal(mic_pki_create(dir, MIC_CERT_ISSUER_CA, &o),
	    MIC_ERR_NOT_FOUND);
	assert_int_equal(mic_pki_create(dir, MIC_CERT_CARD, &o),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_pki_create(dir, MIC_CERT_ROOT, &o), MIC_OK);
	assert_int_equal(mic_pki_create(dir, MIC_CERT_ISSUER_CA, &o), MIC_OK);
	o.name = "Bad/Name";
	o.role = MIC_ROLE_BANK;
	assert_int_equal(mic_pki_create(dir, MIC_CERT_TERMINAL, &o),
	    MIC_ERR_INVALID_ARGUMENT);
	o.name = "counter-7";
	o.role = 0;
	assert_int_equal(mic_pki_create(dir, MIC_CERT_TERMINAL, &o),
	    MIC_ERR_INVALID_ARGUMENT);
	o.role = MIC_ROLE_PHARMACY;
	o.key_uri = "file:/x";
	o.csr_path = "/y";
	assert_int_equal(mic_pki_create(dir, MIC_CERT_TERMINAL, &o),
	    MIC_ERR_INVALID_ARGUMENT);
	o.key_uri = NULL;
	o.csr_path = NULL;
	assert_int_equal(mic_pki_create(dir, MIC_CERT_TERMINAL, &o), MIC_OK);
	o.name = NULL;
	assert_int_equal(mic_pki_init(dir, &o), MIC_ERR_EXISTS);
	tt_rmrf(dir);
	free(dir);
}

/* A key made elsewhere: its request, then a certificate over it. */
static void
test_csr_and_key_uri(void **state)
{
	char *dir = tt_pki(MIC_SUITE_P256);
	char *keyp = tt_path(dir, "hsm-key.pem");
	char *csr = tt_path(dir, "ds.csr");
	char uri[512], got[MIC_CERT_MAX];
	uint8_t der[MIC_CERT_MAX], spki[256];
	size_t len = 0, slen = 0;
	mic_keyprov_t *kp = NULL, *kp2 = NULL;
	mic_pki_opts o = { 0 };
	EVP_PKEY *k = tt_genkey(MIC_SUITE_P256);
	char *p;
	X509 *x;

	(void)state;
	tt_write_key(k, keyp, 0600);
	snprintf(uri, sizeof(uri), "file:%s", keyp);
	assert_int_equal(mic_keyprov_open(&kp, uri), MIC_OK);
	assert_int_equal(mic_pki_csr(kp, "MIC Document Signer 2", csr, 0),
	    MIC_OK);
	assert_int_equal(mic_pki_csr(kp, "again", csr, 0), MIC_ERR_EXISTS);

	o.csr_path = csr;
	assert_int_equal(mic_pki_create(dir, MIC_CERT_DOCUMENT_SIGNER, &o),
	    MIC_ERR_EXISTS);
	o.force = 1;
	assert_int_equal(mic_pki_create(dir, MIC_CERT_DOCUMENT_SIGNER, &o),
	    MIC_OK);
	/* The key is elsewhere: no stale key beside the new certificate. */
	p = tt_path(dir, "ds/key.pem");
	assert_int_equal(access(p, F_OK), -1);
	free(p);
	p = tt_path(dir, "ds/cert.pem");
	x = tt_cert_x509(p);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), k), 1);
	X509_free(x);
	free(p);

	/* A key named by URI: key.uri says where it is. */
	o.csr_path = NULL;
	o.key_uri = uri;
	assert_int_equal(mic_pki_create(dir, MIC_CERT_DOCUMENT_SIGNER, &o),
	    MIC_OK);
	p = tt_path(dir, "ds/key.uri");
	{
		size_t n = 0;
		uint8_t *u = tt_read(p, &n);

		assert_int_equal(n, strlen(uri) + 1);
		assert_memory_equal(u, uri, strlen(uri));
		free(u);
	}
	free(p);
	assert_int_equal(mic_pki_load(dir, MIC_CERT_DOCUMENT_SIGNER, NULL,
	    NULL, NULL, NULL, &kp2, der, sizeof(der), &len), MIC_OK);
	assert_int_equal(mic_keyprov_spki(kp2, spki, sizeof(spki), &slen),
	    MIC_OK);
	{
		mic_trust_t *t = NULL;
		char *td = tt_path(dir, "trust");

		assert_int_equal(mic_trust_load(&t, td), MIC_OK);
		assert_int_equal(mic_cert_verify(t, der, len,
		    MIC_CERT_DOCUMENT_SIGNER), MIC_OK);
		mic_trust_free(&t);
		free(td);
	}
	(void)got;
	mic_keyprov_free(&kp2);
	mic_keyprov_free(&kp);
	EVP_PKEY_free(k);
	free(keyp);
	free(csr);
	tt_rmrf(dir);
	free(dir);
}

static void
test_export_terminal(void **state)
{
	char *dir = tt_pki(MIC_SUITE_P256);
	char *out = tt_path(dir, "bank-ts");
	char *p;
	mic_trust_t *t = NULL;
	uint8_t der[MIC_CERT_MAX];
	size_t len = 0;
	struct stat st;

	(void)state;
	assert_int_equal(mic_pki_export_terminal(dir, "bank", out, 0), MIC_OK);
	assert_int_equal(mic_pki_export_terminal(dir, "bank", out, 0),
	    MIC_ERR_EXISTS);
	assert_int_equal(mic_pki_export_terminal(dir, "nobody", out, 1),
	    MIC_ERR_NOT_FOUND);
	assert_int_equal(mic_pki_export_terminal(dir, "bank", out, 1), MIC_OK);
	p = tt_path(out, "terminal/key.pem");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(p);
	assert_int_equal(mic_trust_load(&t, out), MIC_OK);
	p = tt_path(out, "terminal/cert.pem");
	tt_cert_der(p, der, sizeof(der), &len);
	free(p);
	assert_int_equal(mic_cert_verify(t, der, len, MIC_CERT_TERMINAL),
	    MIC_OK);
	mic_trust_free(&t);
	free(out);
	tt_rmrf(dir);
	free(dir);
}

/* mic_cert_issue's own refusals. */
static void
test_issue_errors(void **state)
{
	char *dir = tt_pki(MIC_SUITE_P256);
	char *p, uri[512];
	uint8_t icert[MIC_CERT_MAX], tcert[MIC_CERT_MAX], out[MIC_CERT_MAX];
	uint8_t spki[256];
	size_t ilen = 0, tlen = 0, olen = 0, slen = 0;
	mic_keyprov_t *ikey = NULL, *tkey = NULL, *skey = NULL;
	mic_cert_params prm = { 0 };
	EVP_PKEY *sm2 = tt_genkey(MIC_SUITE_SM2);
	unsigned char *d = NULL;
	int n;

	(void)state;
	assert_int_equal(mic_pki_load(dir, MIC_CERT_ISSUER_CA, NULL, NULL,
	    NULL, NULL, &ikey, icert, sizeof(icert), &ilen), MIC_OK);
	assert_int_equal(mic_pki_load(dir, MIC_CERT_TERMINAL, "bank", NULL,
	    NULL, NULL, &tkey, tcert, sizeof(tcert), &tlen), MIC_OK);
	p = tt_path(dir, "ds/key.pem");
	snprintf(uri, sizeof(uri), "file:%s", p);
	free(p);
	assert_int_equal(mic_keyprov_open(&skey, uri), MIC_OK);
	assert_int_equal(mic_keyprov_spki(skey, spki, sizeof(spki), &slen),
	    MIC_OK);

	prm.kind = MIC_CERT_DOCUMENT_SIGNER;
	assert_int_equal(mic_cert_issue(&prm, spki, slen, icert, ilen, ikey,
	    out, sizeof(out), &olen), MIC_OK);
	assert_int_equal(mic_cert_issue(&prm, spki, slen, icert, ilen, ikey,
	    out, 100, &olen), MIC_ERR_BUFFER_TOO_SMALL);
	/* The issuer's key is not its certificate's. */
	assert_int_equal(mic_cert_issue(&prm, spki, slen, icert, ilen, skey,
	    out, sizeof(out), &olen), MIC_ERR_INVALID_ARGUMENT);
	/* A terminal is no CA. */
	assert_int_equal(mic_cert_issue(&prm, spki, slen, tcert, tlen, tkey,
	    out, sizeof(out), &olen), MIC_ERR_CERT_PURPOSE);
	/* An SM2 key under a P-256 issuer. */
	n = i2d_PUBKEY(sm2, &d);
	assert_true(n > 0);
	assert_int_equal(mic_cert_issue(&prm, d, (size_t)n, icert, ilen, ikey,
	    out, sizeof(out), &olen), MIC_ERR_CERT_FORMAT);
	OPENSSL_free(d);
	assert_int_equal(mic_cert_issue(&prm, (const uint8_t *)"\x30\x00", 2,
	    icert, ilen, ikey, out, sizeof(out), &olen), MIC_ERR_CERT_FORMAT);
	/* A terminal needs a role, a card its code, a root no issuer. */
	prm.kind = MIC_CERT_TERMINAL;
	assert_int_equal(mic_cert_issue(&prm, spki, slen, icert, ilen, ikey,
	    out, sizeof(out), &olen), MIC_ERR_INVALID_ARGUMENT);
	prm.kind = MIC_CERT_CARD;
	assert_int_equal(mic_cert_issue(&prm, spki, slen, icert, ilen, ikey,
	    out, sizeof(out), &olen), MIC_ERR_INVALID_ARGUMENT);
	prm.kind = MIC_CERT_ROOT;
	assert_int_equal(mic_cert_issue(&prm, spki, slen, icert, ilen, ikey,
	    out, sizeof(out), &olen), MIC_ERR_INVALID_ARGUMENT);
	/* Dates: a lifetime that ends before it starts. */
	prm.kind = MIC_CERT_DOCUMENT_SIGNER;
	prm.not_before = 2000000000;
	prm.not_after = 1999999999;
	assert_int_equal(mic_cert_issue(&prm, spki, slen, icert, ilen, ikey,
	    out, sizeof(out), &olen), MIC_ERR_INVALID_ARGUMENT);

	EVP_PKEY_free(sm2);
	mic_keyprov_free(&skey);
	mic_keyprov_free(&tkey);
	mic_keyprov_free(&ikey);
	tt_rmrf(dir);
	free(dir);
}

static void
test_trust_errors(void **state)
{
	char *dir = tt_tmpdir();
	char *roots = tt_path(dir, "roots");
	mic_trust_t *t = NULL;

	(void)state;
	assert_int_equal(mic_trust_load(&t, dir), MIC_ERR_IO);
	assert_int_equal(mkdir(roots, 0755), 0);
	assert_int_equal(mic_trust_load(&t, dir), MIC_ERR_NOT_FOUND);
	assert_null(t);
	assert_int_equal(mic_trust_new(&t), MIC_OK);
	assert_int_equal(mic_trust_add(t, (const uint8_t *)"-----BEGIN x", 12,
	    1), MIC_ERR_CERT_FORMAT);
	assert_int_equal(mic_trust_add(t, (const uint8_t *)"\x30\x03\x02\x01"
	    "\x00", 5, 1), MIC_ERR_CERT_FORMAT);
	mic_trust_free(&t);
	mic_trust_free(&t);
	free(roots);
	tt_rmrf(dir);
	free(dir);
}

static void
test_err_strings(void **state)
{
	mic_rc rc;

	(void)state;
	for (rc = MIC_ERR_CRYPTO; rc >= MIC_ERR_SOD_NOT_COVERED; rc--) {
		assert_string_not_equal(mic_strerror(rc), "unknown error");
		assert_true(strncmp(mic_strerror_name(rc), "MIC_ERR_", 8) == 0);
	}
	assert_string_equal(mic_strerror_name(MIC_ERR_SOD_HASH),
	    "MIC_ERR_SOD_HASH");
	assert_string_equal(mic_strerror_name(MIC_ERR_CERT_EXPIRED),
	    "MIC_ERR_CERT_EXPIRED");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oids),
		cmocka_unit_test(test_role_names),
		cmocka_unit_test(test_init_p256),
		cmocka_unit_test(test_init_sm2),
		cmocka_unit_test(test_profiles),
		cmocka_unit_test(test_refuse_overwrite),
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_csr_and_key_uri),
		cmocka_unit_test(test_export_terminal),
		cmocka_unit_test(test_issue_errors),
		cmocka_unit_test(test_trust_errors),
		cmocka_unit_test(test_err_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
