/*
 * Key providers: PEM files of both suites, URI parsing (file: and the
 * RFC 7512 subset), every refusal, and, when the integration test points
 * MIC_TEST_P11_URI at a SoftHSM2 token, the same through PKCS#11: login,
 * each PIN source, a wrong PIN, module sharing, raw digest signing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <mic/keyprov.h>

#include "trust_int.h"
#include "trust_test.h"

/* Verify a DER signature over a 32-byte digest with the provider's SPKI. */
static void
assert_sig_ok(mic_keyprov_t *kp, const uint8_t *dg, const uint8_t *sig,
    size_t sig_len)
{
	uint8_t spki[256];
	size_t slen = 0;
	const unsigned char *p = spki;
	EVP_PKEY *pub;
	EVP_PKEY_CTX *ctx;

	assert_int_equal(mic_keyprov_spki(kp, spki, sizeof(spki), &slen),
	    MIC_OK);
	pub = d2i_PUBKEY(NULL, &p, (long)slen);
	assert_non_null(pub);
	ctx = EVP_PKEY_CTX_new(pub, NULL);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
	assert_int_equal(EVP_PKEY_verify(ctx, sig, sig_len, dg, 32), 1);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pub);
}

static void
sign_and_check(mic_keyprov_t *kp)
{
	uint8_t dg[32], sig[MIC_SIG_MAX];
	size_t n = sizeof(sig);

	assert_int_equal(RAND_bytes(dg, sizeof(dg)), 1);
	assert_int_equal(mic_keyprov_sign_digest(kp, dg, 32, sig, &n), MIC_OK);
	assert_true(n >= 8 && n <= MIC_SIG_MAX);
	assert_int_equal(sig[0], 0x30);
	assert_sig_ok(kp, dg, sig, n);
	/* The signature is over the digest: another digest fails. */
	dg[0] ^= 1;
	{
		uint8_t spki[256];
		size_t slen = 0;
		const unsigned char *p = spki;
		EVP_PKEY *pub;
		EVP_PKEY_CTX *ctx;

		assert_int_equal(mic_keyprov_spki(kp, spki, sizeof(spki),
		    &slen), MIC_OK);
		pub = d2i_PUBKEY(NULL, &p, (long)slen);
		ctx = EVP_PKEY_CTX_new(pub, NULL);
		assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
		assert_int_not_equal(EVP_PKEY_verify(ctx, sig, n, dg, 32), 1);
		EVP_PKEY_CTX_free(ctx);
		EVP_PKEY_free(pub);
	}
	n = 4;
	assert_int_equal(mic_keyprov_sign_digest(kp, dg, 32, sig, &n),
	    MIC_ERR_BUFFER_TOO_SMALL);
	n = sizeof(sig);
	assert_int_equal(mic_keyprov_sign_digest(kp, dg, 20, sig, &n),
	    MIC_ERR_INVALID_ARGUMENT);
}

static void
file_suite(mic_suite suite)
{
	char *dir = tt_tmpdir();
	char *path = tt_path(dir, "k.pem");
	char uri[600];
	EVP_PKEY *k = tt_genkey(suite);
	mic_keyprov_t *kp = NULL;

	tt_write_key(k, path, 0600);
	snprintf(uri, sizeof(uri), "file:%s", path);
	assert_int_equal(mic_keyprov_open(&kp, uri), MIC_OK);
	assert_int_equal(mic_keyprov_suite(kp), suite);
	assert_non_null(mic_keyprov_pkey(kp));
	assert_int_equal(EVP_PKEY_eq(mic_keyprov_pkey(kp), k), 1);
	sign_and_check(kp);
	mic_keyprov_free(&kp);
	assert_null(kp);
	mic_keyprov_free(&kp);

	/* The other spellings of a local file URI. */
	snprintf(uri, sizeof(uri), "file://%s", path);
	assert_int_equal(mic_keyprov_open(&kp, uri), MIC_OK);
	mic_keyprov_free(&kp);
	snprintf(uri, sizeof(uri), "file://localhost%s", path);
	assert_int_equal(mic_keyprov_open(&kp, uri), MIC_OK);
	mic_keyprov_free(&kp);

	EVP_PKEY_free(k);
	free(path);
	tt_rmrf(dir);
	free(dir);
}

static void
test_file_p256(void **state)
{
	(void)state;
	file_suite(MIC_SUITE_P256);
}

static void
test_file_sm2(void **state)
{
	(void)state;
	file_suite(MIC_SUITE_SM2);
}

static void
test_file_errors(void **state)
{
	char *dir = tt_tmpdir();
	char *path = tt_path(dir, "k.pem");
	char *pct = tt_path(dir, "a b.pem");
	char uri[600];
	EVP_PKEY *k = tt_genkey(MIC_SUITE_P256);
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	mic_keyprov_t *kp = NULL;
	FILE *f;

	(void)state;
	snprintf(uri, sizeof(uri), "file:%s", path);
	assert_int_equal(mic_keyprov_open(&kp, uri), MIC_ERR_IO);
	tt_write_key(k, path, 0644);
	assert_int_equal(mic_keyprov_open(&kp, uri), MIC_ERR_KEY_PERMISSIONS);
	tt_write_key(k, path, 0640);
	assert_int_equal(mic_keyprov_open(&kp, uri), MIC_ERR_KEY_PERMISSIONS);
	tt_write(path, "not a key\n", 10, 0600);
	assert_int_equal(mic_keyprov_open(&kp, uri), MIC_ERR_CRYPTO);
	/* An encrypted key is refused, never prompted for. */
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(PEM_write_PrivateKey(f, k, EVP_aes_128_cbc(),
	    (unsigned char *)"secret", 6, NULL, NULL));
	fclose(f);
	assert_int_equal(mic_keyprov_open(&kp, uri), MIC_ERR_CRYPTO);
	assert_non_null(p384);
	tt_write_key(p384, path, 0600);
	assert_int_equal(mic_keyprov_open(&kp, uri), MIC_ERR_UNSUPPORTED);
	assert_null(kp);

	/* Percent-encoding in the path. */
	tt_write_key(k, pct, 0600);
	snprintf(uri, sizeof(uri), "file:%s/a%%20b.pem", dir);
	assert_int_equal(mic_keyprov_open(&kp, uri), MIC_OK);
	mic_keyprov_free(&kp);
	snprintf(uri, sizeof(uri), "file:%s/a%%2", dir);
	assert_int_equal(mic_keyprov_open(&kp, uri), MIC_ERR_KEY_URI);

	assert_int_equal(mic_keyprov_open(&kp, "file:"), MIC_ERR_KEY_URI);
	assert_int_equal(mic_keyprov_open(&kp, "file://host/k.pem"),
	    MIC_ERR_KEY_URI);
	assert_int_equal(mic_keyprov_open(&kp, "/plain/path.pem"),
	    MIC_ERR_KEY_URI);
	assert_int_equal(mic_keyprov_open(&kp, "engine:pkcs11"),
	    MIC_ERR_KEY_URI);
	assert_int_equal(mic_keyprov_open(&kp, NULL), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_keyprov_open(NULL, "file:/x"),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_null(mic_keyprov_pkey(NULL));

	EVP_PKEY_free(p384);
	EVP_PKEY_free(k);
	free(pct);
	free(path);
	tt_rmrf(dir);
	free(dir);
}

static void
test_p11_uri(void **state)
{
	mici_p11uri u;

	(void)state;
	assert_int_equal(mici_p11uri_parse("pkcs11:token=MIC%20HSM;object=ds;"
	    "id=%01%a0;type=private;serial=0123;manufacturer=SoftHSM%20project;"
	    "model=SoftHSM%20v2?module-path=/usr/lib/x.so&pin-source=file:/p",
	    &u), MIC_OK);
	assert_string_equal(u.token, "MIC HSM");
	assert_string_equal(u.object, "ds");
	assert_int_equal(u.id_len, 2);
	assert_memory_equal(u.id, "\x01\xa0", 2);
	assert_string_equal(u.serial, "0123");
	assert_string_equal(u.manufacturer, "SoftHSM project");
	assert_string_equal(u.model, "SoftHSM v2");
	assert_string_equal(u.module_path, "/usr/lib/x.so");
	assert_string_equal(u.pin_source, "file:/p");
	assert_true(u.has_token && u.has_object && u.has_id);

	assert_int_equal(mici_p11uri_parse("pkcs11:id=%01", &u), MIC_OK);
	assert_false(u.has_object);

	/* Each refusal. */
	static const char *const bad[] = {
		"pkcs11:token=a",                       /* no object, no id */
		"pkcs11:object=ds?pin-value=1234",      /* a PIN in a URI */
		"pkcs11:object=ds;slot-id=1",           /* unknown path attr */
		"pkcs11:object=ds?module-name=softhsm", /* unknown query attr */
		"pkcs11:object=ds;type=public",
		"pkcs11:object=ds;object=ca",
		"pkcs11:object=ds;;token=a",
		"pkcs11:object=ds;token",
		"pkcs11:object=d%G1",
		"pkcs11:object=d%4",
		"pkcs11:object=d%00s",
		"pkcs11:id=",
		"pkcs11:object=ds;token=0123456789012345678901234567890123",
		"pkcs11:object=ds?module-path=/a&module-path=/b",
		"pkcs11:object=ds?&",
		"pkcs:object=ds",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (mici_p11uri_parse(bad[i], &u) != MIC_ERR_KEY_URI)
			fail_msg("accepted %s", bad[i]);
	}
	assert_int_equal(mici_p11uri_parse(NULL, &u), MIC_ERR_INVALID_ARGUMENT);
}

static void
test_p11_no_module(void **state)
{
	mic_keyprov_t *kp = NULL;
	char *saved = getenv("MIC_PKCS11_MODULE");

	(void)state;
	saved = saved != NULL ? strdup(saved) : NULL;
	unsetenv("MIC_PKCS11_MODULE");
	assert_int_equal(mic_keyprov_open(&kp, "pkcs11:token=t;object=ds"),
	    MIC_ERR_KEY_URI);
	assert_int_equal(mic_keyprov_open(&kp, "pkcs11:token=t;object=ds?"
	    "module-path=/nonexistent/module.so"), MIC_ERR_PKCS11);
	assert_null(kp);
	if (saved != NULL) {
		setenv("MIC_PKCS11_MODULE", saved, 1);
		free(saved);
	}
}

/* ---- PKCS#11, when the integration test provides a token ---- */

static int
pin_from_arg(void *arg, const char *label, char *buf, size_t cap)
{
	(void)label;
	if (arg == NULL || strlen(arg) >= cap)
		return -1;
	strcpy(buf, arg);
	return 0;
}

static void
test_p11(void **state)
{
	const char *uri = getenv("MIC_TEST_P11_URI");
	const char *uri2 = getenv("MIC_TEST_P11_URI2");
	const char *pin = getenv("MIC_TEST_P11_PIN");
	char *saved_pin, *dir, *pinfile, buf[1024];
	mic_keyprov_t *kp = NULL, *kp2 = NULL, *kp3 = NULL;

	(void)state;
	if (uri == NULL || uri2 == NULL || pin == NULL)
		skip();
	saved_pin = getenv("MIC_PKCS11_PIN");
	saved_pin = saved_pin != NULL ? strdup(saved_pin) : NULL;
	unsetenv("MIC_PKCS11_PIN");

	/* No PIN at all, then a wrong one. */
	assert_int_equal(mic_keyprov_open(&kp, uri), MIC_ERR_TOKEN_NO_PIN);
	assert_int_equal(mic_keyprov_open_ex(&kp, uri, NULL, pin_from_arg,
	    "000000"), MIC_ERR_TOKEN_LOGIN);
	assert_null(kp);

	/* The callback. */
	assert_int_equal(mic_keyprov_open_ex(&kp, uri, NULL, pin_from_arg,
	    (void *)pin), MIC_OK);
	assert_int_equal(mic_keyprov_suite(kp), MIC_SUITE_P256);
	sign_and_check(kp);

	/* A second provider on the module must share it... */
	assert_int_equal(mic_keyprov_open_ex(&kp2, uri2, NULL, pin_from_arg,
	    (void *)pin), MIC_ERR_PKCS11_IN_USE);
	assert_int_equal(mic_keyprov_open_ex(&kp2, uri2, kp, NULL, NULL),
	    MIC_OK);
	sign_and_check(kp2);
	/* ...and outlives the first. */
	mic_keyprov_free(&kp);
	sign_and_check(kp2);
	mic_keyprov_free(&kp2);

	/* The environment, then a pin-source file (owner-only). */
	setenv("MIC_PKCS11_PIN", pin, 1);
	assert_int_equal(mic_keyprov_open(&kp, uri), MIC_OK);
	/* No such key on the token. */
	snprintf(buf, sizeof(buf), "%s", uri);
	{
		char *o = strstr(buf, "object=");
		assert_non_null(o);
		memcpy(o, "object=X", 8);
	}
	assert_int_equal(mic_keyprov_open_ex(&kp3, buf, kp, NULL, NULL),
	    MIC_ERR_NOT_FOUND);
	mic_keyprov_free(&kp);
	unsetenv("MIC_PKCS11_PIN");

	dir = tt_tmpdir();
	pinfile = tt_path(dir, "pin");
	/* One line, as an operator writes it; the newline is not the PIN. */
	snprintf(buf, sizeof(buf), "%s\n", pin);
	tt_write(pinfile, buf, strlen(buf), 0644);
	snprintf(buf, sizeof(buf), "%s%spin-source=file:%s", uri,
	    strchr(uri, '?') ? "&" : "?", pinfile);
	assert_int_equal(mic_keyprov_open(&kp, buf), MIC_ERR_KEY_PERMISSIONS);
	assert_int_equal(chmod(pinfile, 0600), 0);
	assert_int_equal(mic_keyprov_open(&kp, buf), MIC_OK);
	sign_and_check(kp);
	mic_keyprov_free(&kp);

	tt_rmrf(dir);
	free(dir);
	free(pinfile);
	if (saved_pin != NULL) {
		setenv("MIC_PKCS11_PIN", saved_pin, 1);
		free(saved_pin);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_p256),
		cmocka_unit_test(test_file_sm2),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_p11_uri),
		cmocka_unit_test(test_p11_no_module),
		cmocka_unit_test(test_p11),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
