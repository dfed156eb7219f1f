/*
 * Helpers shared by the trust tests (test_pki.c, test_keyprov.c,
 * test_sod.c): temporary PKIs, files, and certificates made directly with
 * OpenSSL where libmic rightly refuses to make them (a document signer with
 * the wrong key usage, a forged chain).
 */
#ifndef MIC_TRUST_TEST_H
#define MIC_TRUST_TEST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <mic/pki.h>

/* A fresh directory under $TMPDIR (or /tmp); the caller removes it. */
char *tt_tmpdir(void);
/* rm -rf */
void tt_rmrf(const char *path);

/* A complete P-256 (or SM2) PKI in a new temporary directory. */
char *tt_pki(mic_suite suite);

/* Whole file; asserts on failure. Free with free(). */
uint8_t *tt_read(const char *path, size_t *len);
void tt_write(const char *path, const void *data, size_t len, unsigned mode);
/* "DIR/REL" in a static-free, caller-freed string. */
char *tt_path(const char *dir, const char *rel);

/* The DER of the first certificate in a PEM file. */
void tt_cert_der(const char *pem_path, uint8_t *der, size_t cap, size_t *len);
X509 *tt_cert_x509(const char *pem_path);
EVP_PKEY *tt_key(const char *pem_path);

/* A new P-256 or SM2 key, and its PEM written with @p mode at @p path. */
EVP_PKEY *tt_genkey(mic_suite suite);
void tt_write_key(EVP_PKEY *k, const char *path, unsigned mode);

/*
 * A certificate for @p subject_key signed by @p issuer (NULL: self) with
 * key @p issuer_key, with OpenSSL extension strings @p exts as
 * "name=value" pairs (e.g. "keyUsage", "critical,keyCertSign"), ended by
 * NULL. Validity: now-1h .. now+1y.
 */
X509 *tt_issue_raw(X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *subject_key,
    const char *cn, const char *const *exts);

/* DER of @p x into @p out. */
void tt_der(X509 *x, uint8_t *out, size_t cap, size_t *len);

/* 7F49 { 86 point } for @p k's public key; returns the length. */
size_t tt_gen_rsp(EVP_PKEY *k, uint8_t *out, size_t cap);

#endif
