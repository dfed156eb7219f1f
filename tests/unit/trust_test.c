#define _XOPEN_SOURCE 700   /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "trust_test.h"

char *
tt_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *p;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	if ((p = malloc(strlen(base) + 32)) == NULL)
		abort();
	snprintf(p, strlen(base) + 32, "%s/mic-trust-XXXXXX", base);
	assert_non_null(mkdtemp(p));
	return p;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
tt_rmrf(const char *path)
{
	if (path != NULL)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *
tt_pki(mic_suite suite)
{
	char *dir = tt_tmpdir();
	mic_pki_opts o = { 0 };

	o.suite = suite;
	assert_int_equal(mic_pki_init(dir, &o), MIC_OK);
	return dir;
}

char *
tt_path(const char *dir, const char *rel)
{
	size_t n = strlen(dir) + strlen(rel) + 2;
	char *p = malloc(n);

	if (p == NULL)
		abort();
	snprintf(p, n, "%s/%s", dir, rel);
	return p;
}

uint8_t *
tt_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

void
tt_write(const char *path, const void *data, size_t len, unsigned mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

X509 *
tt_cert_x509(const char *pem_path)
{
	FILE *f = fopen(pem_path, "r");
	X509 *x;

	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

void
tt_der(X509 *x, uint8_t *out, size_t cap, size_t *len)
{
	unsigned char *d = NULL;
	int n = i2d_X509(x, &d);

	assert_true(n > 0 && (size_t)n <= cap);
	memcpy(out, d, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(d);
}

void
tt_cert_der(const char *pem_path, uint8_t *der, size_t cap, size_t *len)
{
	X509 *x = tt_cert_x509(pem_path);

	tt_der(x, der, cap, len);
	X509_free(x);
}

EVP_PKEY *
tt_key(const char *pem_path)
{
	FILE *f = fopen(pem_path, "r");
	EVP_PKEY *k;

	assert_non_null(f);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(k);
	return k;
}

EVP_PKEY *
tt_genkey(mic_suite suite)
{
	EVP_PKEY *k = suite == MIC_SUITE_SM2 ?
	    EVP_PKEY_Q_keygen(NULL, NULL, "SM2") :
	    EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	assert_non_null(k);
	return k;
}

void
tt_write_key(EVP_PKEY *k, const char *path, unsigned mode)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;

	assert_non_null(b);
	assert_true(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL));
	n = BIO_get_mem_data(b, &data);
	tt_write(path, data, (size_t)n, mode);
	BIO_free(b);
}

X509 *
tt_issue_raw(X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *subject_key,
    const char *cn, const char *const *exts)
{
	X509 *x = X509_new();
	X509V3_CTX ctx;
	X509_NAME *n;
	size_t i;

	assert_non_null(x);
	assert_true(X509_set_version(x, X509_VERSION_3));
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), 4242));
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -3600));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400));
	n = X509_get_subject_name(x);
	assert_true(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0));
	assert_true(X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : n));
	assert_true(X509_set_pubkey(x, subject_key));
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	for (i = 0; exts != NULL && exts[i] != NULL; i += 2) {
		X509_EXTENSION *e = X509V3_EXT_conf(NULL, &ctx, exts[i],
		    exts[i + 1]);

		assert_non_null(e);
		assert_true(X509_add_ext(x, e, -1));
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
	return x;
}

size_t
tt_gen_rsp(EVP_PKEY *k, uint8_t *out, size_t cap)
{
	size_t n = 0;

	assert_true(cap >= 70);
	out[0] = 0x7F;
	out[1] = 0x49;
	out[2] = 0x43;
	out[3] = 0x86;
	out[4] = 0x41;
	assert_int_equal(EVP_PKEY_get_octet_string_param(k,
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out + 5, 65, &n), 1);
	assert_int_equal(n, 65);
	return 70;
}
