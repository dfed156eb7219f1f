/*
 * A PKI directory as `mic pki` keeps it (docs/pki.md): one subdirectory per
 * entity with its certificate and its key (a 0600 PEM file, or key.uri naming
 * a key in an HSM), plus trust/, the part of the trust store every terminal
 * gets.
 *
 * Nothing is ever overwritten by accident: without force, an entity that
 * exists is refused before anything is generated, and the files are created
 * with link(), which fails atomically if a concurrent run got there first.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <mic/pki.h>

#include "trust_int.h"

#define CERT_PEM "cert.pem"
#define KEY_PEM "key.pem"
#define KEY_URI "key.uri"
#define NAME_MAX_LEN 32
#define URI_FILE_MAX 4096
#define CSR_MAX (64 * 1024)

static const char *
entity_dir(mic_cert_kind kind)
{
	switch (kind) {
	case MIC_CERT_ROOT:
		return "root";
	case MIC_CERT_ISSUER_CA:
		return "issuer";
	case MIC_CERT_DOCUMENT_SIGNER:
		return "ds";
	case MIC_CERT_CARD_ISSUER:
		return "card-issuer";
	case MIC_CERT_TERMINAL:
		return "terminals";
	default:
		return NULL;
	}
}

static mic_cert_kind
issuer_of(mic_cert_kind kind)
{
	return kind == MIC_CERT_ISSUER_CA ? MIC_CERT_ROOT :
	    kind == MIC_CERT_ROOT ? 0 : MIC_CERT_ISSUER_CA;
}

/* A terminal's name becomes a directory: keep it to [a-z0-9-]. */
static int
name_ok(const char *s)
{
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > NAME_MAX_LEN || s[0] == '-')
		return 0;
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '-'))
			return 0;
	}
	return 1;
}

static mic_rc
join(char *out, size_t cap, const char *a, const char *b)
{
	if (snprintf(out, cap, "%s/%s", a, b) >= (int)cap) {
		mici_debug("%s: path too long", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	return MIC_OK;
}

static mic_rc
mkdir_one(const char *path, mode_t mode)
{
	if (mkdir(path, mode) != 0 && errno != EEXIST) {
		mici_debug("%s: %s: %s", __func__, path, strerror(errno));
		return MIC_ERR_IO;
	}
	return MIC_OK;
}

/* The entity's directory under @p dir. */
static mic_rc
entity_path(const char *dir, mic_cert_kind kind, const char *name, char *out,
    size_t cap)
{
	char tmp[PATH_MAX];
	mic_rc rc;

	if (kind != MIC_CERT_TERMINAL)
		return join(out, cap, dir, entity_dir(kind));
	if (name == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if ((rc = join(tmp, sizeof(tmp), dir, "terminals")) != MIC_OK)
		return rc;
	return join(out, cap, tmp, name);
}

static int
exists(const char *dir, const char *file)
{
	char p[PATH_MAX];
	struct stat st;

	return join(p, sizeof(p), dir, file) == MIC_OK && lstat(p, &st) == 0;
}

static int
entity_exists(const char *edir)
{
	return exists(edir, CERT_PEM) || exists(edir, KEY_PEM) ||
	    exists(edir, KEY_URI);
}

static void
remove_file(const char *dir, const char *file)
{
	char p[PATH_MAX];

	if (join(p, sizeof(p), dir, file) == MIC_OK && unlink(p) != 0 &&
	    errno != ENOENT)
		mici_debug("%s: %s: %s", __func__, p, strerror(errno));
}

static mic_rc
write_in(const char *dir, const char *file, const void *data, size_t len,
    unsigned mode, int force)
{
	char p[PATH_MAX];
	mic_rc rc;

	if ((rc = join(p, sizeof(p), dir, file)) != MIC_OK)
		return rc;
	return mici_write_file(p, data, len, mode, force);
}

/* A memory BIO's contents in a new buffer the caller frees. */
static mic_rc
bio_copy(BIO *bio, char **out, size_t *len)
{
	char *data;
	long n;

	if ((n = BIO_get_mem_data(bio, &data)) <= 0)
		return MIC_ERR_CRYPTO;
	if ((*out = malloc((size_t)n)) == NULL)
		return MIC_ERR_NOMEM;
	memcpy(*out, data, (size_t)n);
	*len = (size_t)n;
	return MIC_OK;
}

/* PEM of a certificate (DER in). */
static mic_rc
cert_pem(const uint8_t *der, size_t len, char **pem, size_t *pem_len)
{
	const unsigned char *p = der;
	X509 *x = NULL;
	BIO *bio = NULL;
	mic_rc rc = MIC_ERR_CRYPTO;

	if ((x = d2i_X509(NULL, &p, (long)len)) != NULL &&
	    (bio = BIO_new(BIO_s_mem())) != NULL && PEM_write_bio_X509(bio, x))
		rc = bio_copy(bio, pem, pem_len);
	BIO_free(bio);
	X509_free(x);
	return rc;
}

static mic_rc
write_cert(const char *dir, const char *file, const uint8_t *der, size_t len,
    int force)
{
	char *pem = NULL;
	size_t n = 0;
	mic_rc rc;

	if ((rc = cert_pem(der, len, &pem, &n)) != MIC_OK)
		return rc;
	rc = write_in(dir, file, pem, n, 0644, force);
	free(pem);
	return rc;
}

/* DER of the first certificate in a PEM file. */
static mic_rc
read_cert(const char *path, uint8_t *der, size_t cap, size_t *len)
{
	uint8_t *buf = NULL;
	size_t blen = 0;
	unsigned char *d = NULL;
	BIO *bio = NULL;
	X509 *x = NULL;
	int n;
	mic_rc rc;

	if ((rc = mici_read_file(path, CSR_MAX, 0, &buf, &blen)) != MIC_OK)
		return rc == MIC_ERR_IO ? MIC_ERR_NOT_FOUND : rc;
	rc = MIC_ERR_CERT_FORMAT;
	if ((bio = BIO_new_mem_buf(buf, (int)blen)) == NULL ||
	    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL ||
	    (n = i2d_X509(x, &d)) <= 0) {
		mici_ossl_debug(__func__, path);
		goto out;
	}
	if ((size_t)n > cap) {
		rc = MIC_ERR_BUFFER_TOO_SMALL;
		goto out;
	}
	memcpy(der, d, (size_t)n);
	*len = (size_t)n;
	rc = MIC_OK;
out:
	OPENSSL_free(d);
	X509_free(x);
	BIO_free(bio);
	free(buf);
	return rc;
}

/* The URI of an entity's key: its key.uri, or file: of its key.pem. */
static mic_rc
key_uri_of(const char *edir, char *uri, size_t cap)
{
	char p[PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;
	mic_rc rc;

	if ((rc = join(p, sizeof(p), edir, KEY_URI)) != MIC_OK)
		return rc;
	if (access(p, F_OK) != 0) {
		if ((rc = join(p, sizeof(p), edir, KEY_PEM)) != MIC_OK)
			return rc;
		if (access(p, F_OK) != 0) {
			mici_debug("%s: %s has no key", __func__, edir);
			return MIC_ERR_NOT_FOUND;
		}
		if (snprintf(uri, cap, "file:%s", p) >= (int)cap)
			return MIC_ERR_INVALID_ARGUMENT;
		return MIC_OK;
	}
	if ((rc = mici_read_file(p, URI_FILE_MAX, 0, &buf, &len)) != MIC_OK)
		return rc;
	/* One line; a trailing newline and blanks are not part of it. */
	while (len > 0 && isspace(buf[len - 1]))
		len--;
	if (len == 0 || len >= cap || memchr(buf, '\0', len) != NULL ||
	    memchr(buf, '\n', len) != NULL) {
		mici_debug("%s: %s is not one URI", __func__, p);
		rc = MIC_ERR_KEY_URI;
		goto out;
	}
	memcpy(uri, buf, len);
	uri[len] = '\0';
	rc = MIC_OK;
out:
	free(buf);
	return rc;
}

static mic_rc
generate(mic_suite suite, EVP_PKEY **out)
{
	EVP_MD *sm3;

	*out = NULL;
	if (suite == MIC_SUITE_SM2) {
		/* Both halves of the suite, or a clear "unsupported" now
		 * rather than a signing failure later. */
		if ((sm3 = EVP_MD_fetch(NULL, "SM3", NULL)) == NULL) {
			mici_ossl_debug(__func__, "this OpenSSL has no SM3");
			return MIC_ERR_UNSUPPORTED;
		}
		EVP_MD_free(sm3);
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	} else {
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	}
	if (*out == NULL) {
		mici_ossl_debug(__func__, suite == MIC_SUITE_SM2 ?
		    "this OpenSSL cannot make SM2 keys" : "P-256 key");
		return suite == MIC_SUITE_SM2 ? MIC_ERR_UNSUPPORTED :
		    MIC_ERR_CRYPTO;
	}
	return MIC_OK;
}

/* PKCS#8 PEM of a private key, in a buffer the caller wipes and frees. */
static mic_rc
key_pem(EVP_PKEY *pkey, char **pem, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	mic_rc rc = MIC_ERR_CRYPTO;

	if (bio != NULL && PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0,
	    NULL, NULL))
		rc = bio_copy(bio, pem, len);
	BIO_free(bio);
	return rc;
}

/* The public key of a PKCS#10 request, after checking its self-signature. */
static mic_rc
csr_spki(const char *path, uint8_t *spki, size_t cap, size_t *len)
{
	uint8_t *buf = NULL;
	size_t blen = 0;
	const unsigned char *p;
	unsigned char *d = NULL;
	X509_REQ *req = NULL;
	EVP_PKEY *pub;
	BIO *bio = NULL;
	int n;
	mic_rc rc;

	if ((rc = mici_read_file(path, CSR_MAX, 0, &buf, &blen)) != MIC_OK)
		return rc;
	rc = MIC_ERR_CERT_FORMAT;
	if ((bio = BIO_new_mem_buf(buf, (int)blen)) == NULL)
		goto out;
	if ((req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL)) == NULL) {
		p = buf;
		ERR_clear_error();
		if ((req = d2i_X509_REQ(NULL, &p, (long)blen)) == NULL)
			goto bad;
	}
	if (mici_x509_req_sm2_id(req) != MIC_OK ||
	    (pub = X509_REQ_get0_pubkey(req)) == NULL ||
	    X509_REQ_verify(req, pub) != 1) {
		mici_debug("%s: the request's signature does not verify",
		    __func__);
		goto bad;
	}
	if ((n = i2d_PUBKEY(pub, &d)) <= 0 || (size_t)n > cap)
		goto bad;
	memcpy(spki, d, (size_t)n);
	*len = (size_t)n;
	rc = MIC_OK;
	goto out;
bad:
	mici_ossl_debug(__func__, path);
out:
	OPENSSL_free(d);
	X509_REQ_free(req);
	BIO_free(bio);
	free(buf);
	return rc;
}

/* Copy the trust-store copy of a CA certificate into DIR/trust/. */
static mic_rc
publish(const char *dir, mic_cert_kind kind, const uint8_t *der, size_t len)
{
	char t[PATH_MAX], sub[PATH_MAX];
	const char *file;
	mic_rc rc;

	if (kind == MIC_CERT_ROOT)
		file = "root.pem";
	else if (kind == MIC_CERT_ISSUER_CA)
		file = "issuer.pem";
	else if (kind == MIC_CERT_CARD_ISSUER)
		file = "card-issuer.pem";
	else
		return MIC_OK;
	if ((rc = join(t, sizeof(t), dir, "trust")) != MIC_OK ||
	    (rc = mkdir_one(t, 0755)) != MIC_OK ||
	    (rc = join(sub, sizeof(sub), t, kind == MIC_CERT_ROOT ? "roots" :
	    "intermediates")) != MIC_OK ||
	    (rc = mkdir_one(sub, 0755)) != MIC_OK)
		return rc;
	/* A derived copy: always the latest. */
	return write_cert(sub, file, der, len, 1);
}

static mic_rc
check_opts(mic_cert_kind kind, const mic_pki_opts *o)
{
	if (entity_dir(kind) == NULL) {
		mici_debug("%s: kind %d is not a PKI entity", __func__,
		    (int)kind);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (o->key_uri != NULL && o->csr_path != NULL) {
		mici_debug("%s: a key URI or a request, not both", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (kind == MIC_CERT_ROOT && o->csr_path != NULL) {
		mici_debug("%s: a root signs itself; it has no request",
		    __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (kind == MIC_CERT_TERMINAL &&
	    (!name_ok(o->name) || mic_role_name(o->role) == NULL)) {
		mici_debug("%s: a terminal needs a name of 1-32 [a-z0-9-] and "
		    "a role", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (o->suite != 0 && o->suite != MIC_SUITE_P256 &&
	    o->suite != MIC_SUITE_SM2)
		return MIC_ERR_INVALID_ARGUMENT;
	return MIC_OK;
}

/*
 * The subject's public key, from a key URI, a request, or a key generated
 * now (@p *gen, written by the caller after the certificate is issued).
 */
static mic_rc
subject_key(const mic_pki_opts *o, mic_suite suite, mic_keyprov_t *issuer,
    mic_keyprov_t **subject, EVP_PKEY **gen, uint8_t *spki, size_t cap,
    size_t *len)
{
	mic_rc rc;

	if (o->csr_path != NULL)
		return csr_spki(o->csr_path, spki, cap, len);
	if (o->key_uri != NULL) {
		if ((rc = mic_keyprov_open_ex(subject, o->key_uri, issuer,
		    o->pin_cb, o->pin_arg)) != MIC_OK)
			return rc;
	} else {
		if ((rc = generate(suite, gen)) != MIC_OK)
			return rc;
		if (!EVP_PKEY_up_ref(*gen))
			return MIC_ERR_CRYPTO;
		if ((rc = mici_keyprov_wrap(*gen, subject)) != MIC_OK) {
			EVP_PKEY_free(*gen);
			return rc;
		}
	}
	return mic_keyprov_spki(*subject, spki, cap, len);
}

static mic_rc
write_key(const char *edir, const mic_pki_opts *o, EVP_PKEY *gen)
{
	char *pem = NULL;
	size_t n = 0;
	mic_rc rc;

	if (o->csr_path != NULL) {
		/* The key is elsewhere; a stale one here would mislead. */
		remove_file(edir, KEY_PEM);
		remove_file(edir, KEY_URI);
		return MIC_OK;
	}
	if (o->key_uri != NULL) {
		char line[URI_FILE_MAX];

		if (snprintf(line, sizeof(line), "%s\n", o->key_uri) >=
		    (int)sizeof(line))
			return MIC_ERR_KEY_URI;
		if ((rc = write_in(edir, KEY_URI, line, strlen(line), 0644,
		    o->force)) != MIC_OK)
			return rc;
		remove_file(edir, KEY_PEM);
		return MIC_OK;
	}
	if ((rc = key_pem(gen, &pem, &n)) != MIC_OK)
		return rc;
	rc = write_in(edir, KEY_PEM, pem, n, 0600, o->force);
	mici_wipe(pem, n);
	free(pem);
	if (rc == MIC_OK)
		remove_file(edir, KEY_URI);
	return rc;
}

static int64_t
lifetime_end(unsigned days)
{
	return days == 0 ? 0 : (int64_t)time(NULL) + (int64_t)days * 86400;
}

mic_rc
mic_pki_create(const char *dir, mic_cert_kind kind, const mic_pki_opts *o)
{
	char edir[PATH_MAX], idir[PATH_MAX], p[PATH_MAX], uri[URI_FILE_MAX];
	uint8_t icert[MIC_CERT_MAX], cert[MIC_CERT_MAX], spki[512];
	size_t ilen = 0, clen = 0, slen = 0;
	mic_keyprov_t *ikey = NULL, *skey = NULL;
	mic_cert_params prm = { 0 };
	EVP_PKEY *gen = NULL;
	mic_suite suite;
	mic_rc rc;

	if (dir == NULL || o == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if ((rc = check_opts(kind, o)) != MIC_OK)
		return rc;
	if ((rc = entity_path(dir, kind, o->name, edir, sizeof(edir))) !=
	    MIC_OK)
		return rc;
	if (!o->force && entity_exists(edir)) {
		mici_debug("%s: %s exists", __func__, edir);
		return MIC_ERR_EXISTS;
	}
	suite = o->suite != 0 ? o->suite : MIC_SUITE_P256;

	/* The issuer: its certificate and its key. */
	if (kind != MIC_CERT_ROOT) {
		if ((rc = entity_path(dir, issuer_of(kind), NULL, idir,
		    sizeof(idir))) != MIC_OK ||
		    (rc = join(p, sizeof(p), idir, CERT_PEM)) != MIC_OK)
			goto out;
		if ((rc = read_cert(p, icert, sizeof(icert), &ilen)) != MIC_OK) {
			mici_debug("%s: issuer %s not there yet", __func__, p);
			goto out;
		}
		if ((rc = key_uri_of(idir, uri, sizeof(uri))) != MIC_OK ||
		    (rc = mic_keyprov_open_ex(&ikey, uri, NULL, o->pin_cb,
		    o->pin_arg)) != MIC_OK)
			goto out;
		suite = mic_keyprov_suite(ikey);
	}
	if ((rc = subject_key(o, suite, ikey, &skey, &gen, spki, sizeof(spki),
	    &slen)) != MIC_OK)
		goto out;

	prm.kind = kind;
	prm.common_name = o->name;
	prm.role = o->role;
	prm.not_after = lifetime_end(o->days);
	if (kind == MIC_CERT_ROOT)
		rc = mic_cert_issue(&prm, spki, slen, NULL, 0, skey, cert,
		    sizeof(cert), &clen);
	else
		rc = mic_cert_issue(&prm, spki, slen, icert, ilen, ikey, cert,
		    sizeof(cert), &clen);
	if (rc != MIC_OK)
		goto out;

	if (kind == MIC_CERT_TERMINAL) {
		if ((rc = join(p, sizeof(p), dir, "terminals")) != MIC_OK ||
		    (rc = mkdir_one(p, 0755)) != MIC_OK)
			goto out;
	}
	if ((rc = mkdir_one(edir, 0755)) != MIC_OK ||
	    (rc = write_key(edir, o, gen)) != MIC_OK ||
	    (rc = write_cert(edir, CERT_PEM, cert, clen, o->force)) != MIC_OK ||
	    (rc = publish(dir, kind, cert, clen)) != MIC_OK)
		goto out;
	rc = MIC_OK;
out:
	mic_keyprov_free(&skey);
	mic_keyprov_free(&ikey);
	EVP_PKEY_free(gen);
	return rc;
}

#define PIN_MAILER_DIR "pin-mailer"
#define PIN_MAILER_DAYS 3653

/*
 * The PIN mailer's certificate: self-signed, because nobody chains
 * anything to it and no terminal trusts it; it only names the key that
 * transport PINs are sealed to (CMS KeyAgreeRecipientInfo), so its key
 * usage is keyAgreement alone. Always P-256: the SM2 suite has no CMS key
 * agreement in OpenSSL 3.0.
 */
static mic_rc
pin_mailer_cert(EVP_PKEY *key, uint8_t *der, size_t cap, size_t *len)
{
	X509 *x = NULL;
	X509_NAME *nm;
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	BIGNUM *bn = NULL;
	unsigned char rnd[16], *p;
	static const char *const exts[][2] = {
		{ "basicConstraints", "critical,CA:FALSE" },
		{ "keyUsage", "critical,keyAgreement" },
		{ "subjectKeyIdentifier", "hash" },
	};
	size_t i;
	int n;
	mic_rc rc = MIC_ERR_CRYPTO;

	if ((x = X509_new()) == NULL || !X509_set_version(x, 2) ||
	    RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto out;
	rnd[0] &= 0x7F;
	rnd[0] |= 0x40;
	if ((bn = BN_bin2bn(rnd, sizeof(rnd), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto out;
	nm = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(nm, "C", MBSTRING_ASC,
	    (const unsigned char *)"CN", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_ASC,
	    (const unsigned char *)"MIC", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
	    (const unsigned char *)"MIC PIN mailer", -1, -1, 0) ||
	    !X509_set_issuer_name(x, nm) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), PIN_MAILER_DAYS, 0,
	    NULL) == NULL || !X509_set_pubkey(x, key))
		goto out;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	for (i = 0; i < MIC_ARRAY_LEN(exts); i++) {
		if ((ext = X509V3_EXT_conf(NULL, &ctx, exts[i][0],
		    exts[i][1])) == NULL)
			goto out;
		n = X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
		if (!n)
			goto out;
	}
	if (!X509_sign(x, key, EVP_sha256()) ||
	    (n = i2d_X509(x, NULL)) <= 0 || (size_t)n > cap)
		goto out;
	p = der;
	*len = (size_t)i2d_X509(x, &p);
	rc = MIC_OK;
out:
	if (rc != MIC_OK)
		mici_ossl_debug(__func__, "PIN mailer certificate");
	BN_free(bn);
	X509_free(x);
	return rc;
}

mic_rc
mic_pki_pin_mailer(const char *dir, int force)
{
	char edir[PATH_MAX], *pem = NULL;
	uint8_t cert[2048];
	size_t clen = 0, n = 0;
	EVP_PKEY *key = NULL;
	mic_rc rc;

	if (dir == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if ((rc = join(edir, sizeof(edir), dir, PIN_MAILER_DIR)) != MIC_OK)
		return rc;
	/* Refused before a key is made, as every entity. */
	if (!force && entity_exists(edir)) {
		mici_debug("%s: %s exists", __func__, edir);
		return MIC_ERR_EXISTS;
	}
	if ((rc = mkdir_one(edir, 0700)) != MIC_OK ||
	    (rc = generate(MIC_SUITE_P256, &key)) != MIC_OK ||
	    (rc = pin_mailer_cert(key, cert, sizeof(cert), &clen)) !=
	    MIC_OK || (rc = key_pem(key, &pem, &n)) != MIC_OK)
		goto out;
	rc = write_in(edir, KEY_PEM, pem, n, 0600, force);
	mici_wipe(pem, n);
	free(pem);
	if (rc == MIC_OK)
		rc = write_cert(edir, CERT_PEM, cert, clen, force);
out:
	EVP_PKEY_free(key);
	return rc;
}

mic_rc
mic_pki_init(const char *dir, const mic_pki_opts *o)
{
	static const mic_cert_kind cas[] = {
		MIC_CERT_ROOT, MIC_CERT_ISSUER_CA, MIC_CERT_DOCUMENT_SIGNER,
		MIC_CERT_CARD_ISSUER,
	};
	char edir[PATH_MAX];
	mic_pki_opts eo;
	size_t i;
	int r;
	mic_rc rc;

	if (dir == NULL || o == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if (o->key_uri != NULL || o->csr_path != NULL || o->name != NULL) {
		mici_debug("%s: init generates every key and names every "
		    "entity itself", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	/* All or nothing: refuse before the first key is made. */
	if (!o->force) {
		for (i = 0; i < MIC_ARRAY_LEN(cas); i++) {
			if (entity_path(dir, cas[i], NULL, edir,
			    sizeof(edir)) == MIC_OK && entity_exists(edir))
				goto exists;
		}
		for (r = MIC_ROLE_HOSPITAL; r <= MIC_ROLE_BUREAU; r++) {
			if (entity_path(dir, MIC_CERT_TERMINAL,
			    mic_role_name((mic_role)r), edir,
			    sizeof(edir)) == MIC_OK && entity_exists(edir))
				goto exists;
		}
		if (join(edir, sizeof(edir), dir, PIN_MAILER_DIR) == MIC_OK &&
		    entity_exists(edir))
			goto exists;
	}
	/* A directory of CA keys is its owner's alone. */
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		mici_debug("%s: %s: %s", __func__, dir, strerror(errno));
		return MIC_ERR_IO;
	}
	for (i = 0; i < MIC_ARRAY_LEN(cas); i++) {
		eo = *o;
		if ((rc = mic_pki_create(dir, cas[i], &eo)) != MIC_OK)
			return rc;
	}
	for (r = MIC_ROLE_HOSPITAL; r <= MIC_ROLE_BUREAU; r++) {
		eo = *o;
		eo.role = (mic_role)r;
		eo.name = mic_role_name((mic_role)r);
		if ((rc = mic_pki_create(dir, MIC_CERT_TERMINAL, &eo)) != MIC_OK)
			return rc;
	}
	return mic_pki_pin_mailer(dir, o->force);
exists:
	mici_debug("%s: %s exists", __func__, edir);
	return MIC_ERR_EXISTS;
}

mic_rc
mic_pki_load(const char *dir, mic_cert_kind kind, const char *name,
    mic_keyprov_t *share, mic_pin_cb *pin_cb, void *pin_arg,
    mic_keyprov_t **kp, uint8_t *cert, size_t cap, size_t *cert_len)
{
	char edir[PATH_MAX], p[PATH_MAX], uri[URI_FILE_MAX];
	mic_rc rc;

	if (dir == NULL || kp == NULL || cert == NULL || cert_len == NULL ||
	    entity_dir(kind) == NULL ||
	    (kind == MIC_CERT_TERMINAL && !name_ok(name)))
		return MIC_ERR_INVALID_ARGUMENT;
	*kp = NULL;
	if ((rc = entity_path(dir, kind, name, edir, sizeof(edir))) != MIC_OK ||
	    (rc = join(p, sizeof(p), edir, CERT_PEM)) != MIC_OK ||
	    (rc = read_cert(p, cert, cap, cert_len)) != MIC_OK ||
	    (rc = key_uri_of(edir, uri, sizeof(uri))) != MIC_OK)
		return rc;
	return mic_keyprov_open_ex(kp, uri, share, pin_cb, pin_arg);
}

mic_rc
mici_pki_load_dir(const char *edir, mic_pin_cb *pin_cb, void *pin_arg,
    mic_keyprov_t **kp, uint8_t *cert, size_t cap, size_t *cert_len)
{
	char p[PATH_MAX], uri[URI_FILE_MAX];
	mic_rc rc;

	if (edir == NULL || kp == NULL || cert == NULL || cert_len == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	*kp = NULL;
	if ((rc = join(p, sizeof(p), edir, CERT_PEM)) != MIC_OK ||
	    (rc = read_cert(p, cert, cap, cert_len)) != MIC_OK ||
	    (rc = key_uri_of(edir, uri, sizeof(uri))) != MIC_OK)
		return rc;
	return mic_keyprov_open_ex(kp, uri, NULL, pin_cb, pin_arg);
}

static mic_rc
copy_file(const char *from_dir, const char *name, const char *to_dir,
    const char *to_name, int private_only, int force)
{
	char p[PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;
	mic_rc rc;

	if ((rc = join(p, sizeof(p), from_dir, name)) != MIC_OK)
		return rc;
	if ((rc = mici_read_file(p, URI_FILE_MAX * 16, private_only, &buf,
	    &len)) != MIC_OK)
		return rc;
	rc = write_in(to_dir, to_name, buf, len, private_only ? 0600 : 0644,
	    force);
	mici_wipe(buf, len);
	free(buf);
	return rc;
}

mic_rc
mic_pki_export_terminal(const char *dir, const char *name, const char *out,
    int force)
{
	static const char *const inter[] = { "issuer.pem", "card-issuer.pem" };
	char edir[PATH_MAX], src[PATH_MAX], dst[PATH_MAX], t[PATH_MAX];
	size_t i;
	mic_rc rc;

	if (dir == NULL || out == NULL || !name_ok(name))
		return MIC_ERR_INVALID_ARGUMENT;
	if ((rc = entity_path(dir, MIC_CERT_TERMINAL, name, edir,
	    sizeof(edir))) != MIC_OK)
		return rc;
	if (!exists(edir, CERT_PEM)) {
		mici_debug("%s: no terminal %s", __func__, name);
		return MIC_ERR_NOT_FOUND;
	}
	if ((rc = join(dst, sizeof(dst), out, "terminal")) != MIC_OK)
		return rc;
	if (!force && entity_exists(dst)) {
		mici_debug("%s: %s holds a terminal already", __func__, out);
		return MIC_ERR_EXISTS;
	}
	if ((rc = mkdir_one(out, 0700)) != MIC_OK ||
	    (rc = mkdir_one(dst, 0700)) != MIC_OK ||
	    (rc = copy_file(edir, CERT_PEM, dst, CERT_PEM, 0, 1)) != MIC_OK)
		return rc;
	if (exists(edir, KEY_URI))
		rc = copy_file(edir, KEY_URI, dst, KEY_URI, 0, 1);
	else
		rc = copy_file(edir, KEY_PEM, dst, KEY_PEM, 1, 1);
	if (rc != MIC_OK)
		return rc;
	if ((rc = join(t, sizeof(t), dir, "trust")) != MIC_OK ||
	    (rc = join(src, sizeof(src), t, "roots")) != MIC_OK ||
	    (rc = join(dst, sizeof(dst), out, "roots")) != MIC_OK ||
	    (rc = mkdir_one(dst, 0755)) != MIC_OK ||
	    (rc = copy_file(src, "root.pem", dst, "root.pem", 0, 1)) != MIC_OK)
		return rc;
	if ((rc = join(src, sizeof(src), t, "intermediates")) != MIC_OK ||
	    (rc = join(dst, sizeof(dst), out, "intermediates")) != MIC_OK ||
	    (rc = mkdir_one(dst, 0755)) != MIC_OK)
		return rc;
	for (i = 0; i < MIC_ARRAY_LEN(inter); i++) {
		if (exists(src, inter[i]) && (rc = copy_file(src, inter[i], dst,
		    inter[i], 0, 1)) != MIC_OK)
			return rc;
	}
	return MIC_OK;
}

mic_rc
mic_pki_csr(mic_keyprov_t *kp, const char *cn, const char *path, int force)
{
	uint8_t spki[512];
	size_t slen = 0;
	const unsigned char *p = spki;
	X509_REQ *req = NULL;
	EVP_PKEY *pub = NULL;
	EVP_MD_CTX *mctx = NULL;
	X509_NAME *n;
	BIO *bio = NULL;
	char *data;
	long dlen;
	mic_rc rc;

	if (kp == NULL || cn == NULL || path == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if (!force && access(path, F_OK) == 0) {
		mici_debug("%s: %s exists", __func__, path);
		return MIC_ERR_EXISTS;
	}
	if ((rc = mic_keyprov_spki(kp, spki, sizeof(spki), &slen)) != MIC_OK)
		return rc;
	rc = MIC_ERR_CRYPTO;
	if ((pub = d2i_PUBKEY(NULL, &p, (long)slen)) == NULL ||
	    (req = X509_REQ_new()) == NULL ||
	    !X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_pubkey(req, pub))
		goto fail;
	n = X509_REQ_get_subject_name(req);
	if (!X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC,
	    (const unsigned char *)"CN", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
	    (const unsigned char *)"MIC", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0))
		goto fail;
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    (rc = mici_sign_init(mctx, mic_keyprov_pkey(kp),
	    mic_keyprov_suite(kp))) != MIC_OK)
		goto out;
	rc = MIC_ERR_CRYPTO;
	if (X509_REQ_sign_ctx(req, mctx) <= 0 ||
	    (bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_X509_REQ(bio, req) ||
	    (dlen = BIO_get_mem_data(bio, &data)) <= 0)
		goto fail;
	rc = mici_write_file(path, data, (size_t)dlen, 0644, force);
	goto out;
fail:
	mici_ossl_debug(__func__, "certificate request");
out:
	BIO_free(bio);
	EVP_MD_CTX_free(mctx);
	X509_REQ_free(req);
	EVP_PKEY_free(pub);
	return rc;
}
