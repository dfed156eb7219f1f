/*
 * Certificates: issuance to the profiles of docs/pki.md, the trust store,
 * chain and purpose verification, and the small OpenSSL and file helpers
 * the trust code shares.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <mic/pki.h>
#include <mic/tlv.h>

#include "trust_int.h"

#define DAY 86400LL
#define SERIAL_LEN 16
#define KEYID_LEN 20
#define TRUST_FILE_MAX (1024 * 1024)

/*
 * A chain verified before, kept so that the next certificate under the
 * same CA costs one signature, not one per CA: the CA (and the chain above
 * it to a root) with the window of time in which every certificate of that
 * chain is valid. A leaf kind given means the entry's certificate itself
 * was verified as that kind (a document signer, the same on every card).
 */
struct vcache {
	unsigned refs;              /* the cache's, and each user's */
	X509 *x;
	uint8_t *der;               /* x as verified, for exact comparison */
	int der_len;
	mic_cert_kind kind;         /* 0: only as the CA of other certs */
	STACK_OF(X509) *chain;      /* x, then its issuers to the root */
	X509_STORE *anchor;         /* x alone, as the anchor below it */
	int64_t not_before, not_after;
};

#define VCACHE_MAX 16

struct mic_trust {
	X509_STORE *store;
	STACK_OF(X509) *inter;
	int64_t when;
	/* The cache changes under const verifiers: it is no part of what
	 * the store trusts, only a memory of what it accepted. */
	pthread_mutex_t lock;
	int lock_ready;
	struct vcache *cache[VCACHE_MAX];
	size_t ncache;
};

/* ---- shared helpers ---- */

void
mici_ossl_debug(const char *func, const char *what)
{
	unsigned long e;
	char buf[256];

	if (!mici_debug_enabled()) {
		ERR_clear_error();
		return;
	}
	mici_debug("%s: %s", func, what);
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		mici_debug("%s:   openssl: %s", func, buf);
	}
}

const char *
mici_suite_md(mic_suite suite)
{
	return suite == MIC_SUITE_SM2 ? "SM3" : "SHA256";
}

ASN1_OBJECT *
mici_oid(const char *dotted)
{
	/*
	 * libmic's own OIDs from their DER (<mic/pki.h>, which test_pki.c
	 * checks against the dotted forms): the 128-bit UUID arc costs
	 * OBJ_txt2obj() bignum arithmetic each time, and these are looked up
	 * for every certificate issued or verified. d2i_ASN1_OBJECT() is
	 * where OBJ_txt2obj() ends too.
	 */
	static const struct {
		const char *dotted;
		unsigned char der[24];
	} own[] = {
		{ MIC_OID_TERMINAL_ROLE, MIC_OID_TERMINAL_ROLE_DER },
		{ MIC_OID_SECURITY_OBJECT, MIC_OID_SECURITY_OBJECT_DER },
		{ MIC_OID_KP_DOCUMENT_SIGNER, MIC_OID_KP_DOCUMENT_SIGNER_DER },
		{ MIC_OID_KP_TERMINAL, MIC_OID_KP_TERMINAL_DER },
		{ MIC_OID_KP_CARD, MIC_OID_KP_CARD_DER },
	};
	const unsigned char *p;

	for (size_t i = 0; dotted != NULL && i < MIC_ARRAY_LEN(own); i++) {
		if (strcmp(dotted, own[i].dotted) == 0) {
			p = own[i].der;
			return d2i_ASN1_OBJECT(NULL, &p, 2 + own[i].der[1]);
		}
	}
	/* no_name = 1: numeric form only, and OpenSSL's table is left alone. */
	return OBJ_txt2obj(dotted, 1);
}

mic_rc
mici_sign_init(EVP_MD_CTX *mctx, EVP_PKEY *pkey, mic_suite suite)
{
	EVP_PKEY_CTX *pctx = NULL;

	if (EVP_DigestSignInit_ex(mctx, &pctx, mici_suite_md(suite), NULL,
	    NULL, pkey, NULL) <= 0) {
		mici_ossl_debug(__func__, "EVP_DigestSignInit_ex");
		return MIC_ERR_CRYPTO;
	}
	if (suite == MIC_SUITE_SM2 && EVP_PKEY_CTX_set1_id(pctx, MICI_SM2_ID,
	    MICI_SM2_ID_LEN) <= 0) {
		mici_ossl_debug(__func__, "EVP_PKEY_CTX_set1_id");
		return MIC_ERR_CRYPTO;
	}
	return MIC_OK;
}

static ASN1_OCTET_STRING *
sm2_id(void)
{
	ASN1_OCTET_STRING *id = ASN1_OCTET_STRING_new();

	if (id != NULL && !ASN1_OCTET_STRING_set(id,
	    (const unsigned char *)MICI_SM2_ID, MICI_SM2_ID_LEN)) {
		ASN1_OCTET_STRING_free(id);
		id = NULL;
	}
	return id;
}

mic_rc
mici_x509_sm2_id(X509 *x)
{
	ASN1_OCTET_STRING *id;

	if (x == NULL || X509_get_signature_nid(x) != NID_SM2_with_SM3)
		return MIC_OK;
	if ((id = sm2_id()) == NULL)
		return MIC_ERR_NOMEM;
	X509_set0_distinguishing_id(x, id);
	return MIC_OK;
}

mic_rc
mici_x509_req_sm2_id(X509_REQ *r)
{
	ASN1_OCTET_STRING *id;

	if (r == NULL || X509_REQ_get_signature_nid(r) != NID_SM2_with_SM3)
		return MIC_OK;
	if ((id = sm2_id()) == NULL)
		return MIC_ERR_NOMEM;
	X509_REQ_set0_distinguishing_id(r, id);
	return MIC_OK;
}

mic_rc
mici_x509_parse(const uint8_t *buf, size_t len, X509 **out)
{
	const unsigned char *p = buf;
	mic_tlv t;
	X509 *x;
	mic_rc rc;

	*out = NULL;
	if (buf == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	/* The outer TLV bounds the certificate; padding after it is not ours. */
	if (mic_tlv_parse(buf, len, &t) != MIC_OK || t.tag != 0x30 ||
	    t.raw_len > LONG_MAX) {
		mici_debug("%s: not a DER SEQUENCE", __func__);
		return MIC_ERR_CERT_FORMAT;
	}
	if ((x = d2i_X509(NULL, &p, (long)t.raw_len)) == NULL ||
	    p != buf + t.raw_len) {
		mici_ossl_debug(__func__, "not a certificate");
		X509_free(x);
		return MIC_ERR_CERT_FORMAT;
	}
	if ((rc = mici_x509_sm2_id(x)) != MIC_OK) {
		X509_free(x);
		return rc;
	}
	*out = x;
	return MIC_OK;
}

mic_rc
mici_read_file(const char *path, size_t max, int private_only, uint8_t **data,
    size_t *len)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	ssize_t r;
	int fd;
	mic_rc rc;

	*data = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		mici_debug("%s: %s: %s", __func__, path, strerror(errno));
		return MIC_ERR_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uintmax_t)st.st_size > max) {
		mici_debug("%s: %s: not a regular file of at most %zu bytes",
		    __func__, path, max);
		rc = MIC_ERR_IO;
		goto fail;
	}
	if (private_only && (st.st_mode & 077) != 0) {
		mici_debug("%s: %s: mode %03o lets other users in", __func__,
		    path, (unsigned)(st.st_mode & 0777));
		rc = MIC_ERR_KEY_PERMISSIONS;
		goto fail;
	}
	/* One spare byte lets a caller NUL-terminate text. */
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		rc = MIC_ERR_NOMEM;
		goto fail;
	}
	while (got < (size_t)st.st_size) {
		r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			mici_debug("%s: %s: short read", __func__, path);
			rc = MIC_ERR_IO;
			goto fail;
		}
		got += (size_t)r;
	}
	buf[got] = 0;
	close(fd);
	*data = buf;
	*len = got;
	return MIC_OK;
fail:
	if (buf != NULL) {
		mici_wipe(buf, got);
		free(buf);
	}
	close(fd);
	return rc;
}

/*
 * Atomic replacement: a reader sees the old file or the new one, and a
 * crash leaves no half-written key. Without @p force, link() refuses an
 * existing path atomically, so two runs racing cannot both "create".
 */
mic_rc
mici_write_file(const char *path, const void *data, size_t len, unsigned mode,
    int force)
{
	char tmp[PATH_MAX];
	const uint8_t *p = data;
	size_t off = 0;
	ssize_t w;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >=
	    (int)sizeof(tmp))
		return MIC_ERR_INVALID_ARGUMENT;
	if ((fd = mkstemp(tmp)) < 0) {
		mici_debug("%s: %s: %s", __func__, tmp, strerror(errno));
		return MIC_ERR_IO;
	}
	if (fchmod(fd, (mode_t)mode) != 0)
		goto fail;
	while (off < len) {
		w = write(fd, p + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		off += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (force) {
		if (rename(tmp, path) != 0)
			goto fail;
	} else {
		if (link(tmp, path) != 0) {
			if (errno == EEXIST) {
				unlink(tmp);
				mici_debug("%s: %s exists", __func__, path);
				return MIC_ERR_EXISTS;
			}
			goto fail;
		}
		unlink(tmp);
	}
	return MIC_OK;
fail:
	mici_debug("%s: %s: %s", __func__, path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return MIC_ERR_IO;
}

/* ---- roles ---- */

static const char *const role_names[] = {
	[MIC_ROLE_HOSPITAL] = "hospital-pos",
	[MIC_ROLE_PHARMACY] = "pharmacy-pos",
	[MIC_ROLE_BANK] = "bank",
	[MIC_ROLE_AGENCY] = "agency",
	[MIC_ROLE_BUREAU] = "bureau",
};

const char *
mic_role_name(mic_role role)
{
	if (role < MIC_ROLE_HOSPITAL || role > MIC_ROLE_BUREAU)
		return NULL;
	return role_names[role];
}

mic_rc
mic_role_from_name(const char *name, mic_role *role)
{
	int r;

	if (name == NULL || role == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	for (r = MIC_ROLE_HOSPITAL; r <= MIC_ROLE_BUREAU; r++) {
		if (strcmp(name, role_names[r]) == 0) {
			*role = (mic_role)r;
			return MIC_OK;
		}
	}
	return MIC_ERR_INVALID_ARGUMENT;
}

/* The role extension of @p x: MIC_OK, MIC_ERR_NOT_FOUND or MIC_ERR_CERT_FORMAT. */
static mic_rc
x509_role(X509 *x, mic_role *role)
{
	ASN1_OBJECT *obj = NULL;
	const ASN1_OCTET_STRING *v;
	const unsigned char *d;
	int idx;
	mic_rc rc;

	if ((obj = mici_oid(MIC_OID_TERMINAL_ROLE)) == NULL)
		return MIC_ERR_NOMEM;
	if ((idx = X509_get_ext_by_OBJ(x, obj, -1)) < 0) {
		rc = MIC_ERR_NOT_FOUND;
		goto out;
	}
	if (X509_get_ext_by_OBJ(x, obj, idx) >= 0) {
		mici_debug("%s: two role extensions", __func__);
		rc = MIC_ERR_CERT_FORMAT;
		goto out;
	}
	v = X509_EXTENSION_get_data(X509_get_ext(x, idx));
	d = ASN1_STRING_get0_data(v);
	/* Exactly one DER ENUMERATED of one content byte: 0A 01 role. */
	if (ASN1_STRING_length(v) != 3 || d[0] != 0x0A || d[1] != 0x01 ||
	    d[2] < MIC_ROLE_HOSPITAL || d[2] > MIC_ROLE_BUREAU) {
		mici_debug("%s: malformed or unknown role", __func__);
		rc = MIC_ERR_CERT_FORMAT;
		goto out;
	}
	*role = (mic_role)d[2];
	rc = MIC_OK;
out:
	ASN1_OBJECT_free(obj);
	return rc;
}

mic_rc
mic_cert_role(const uint8_t *cert, size_t len, mic_role *role)
{
	X509 *x = NULL;
	mic_rc rc;

	if (cert == NULL || role == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if ((rc = mici_x509_parse(cert, len, &x)) != MIC_OK)
		return rc;
	rc = x509_role(x, role);
	X509_free(x);
	return rc;
}

/* ---- issuance ---- */

struct kind_profile {
	const char *cn;          /* default CN */
	long long days;          /* default lifetime */
	int ca;
	int pathlen;             /* -1: none */
	uint32_t ku_bits;        /* KeyUsage bit numbers as a mask of 1 << bit */
	const char *eku;         /* extended key usage OID, or NULL */
};

#define KU_MASK(n) (1u << (n))
#define BIT_DIGITAL_SIGNATURE KU_MASK(0)
#define BIT_KEY_AGREEMENT KU_MASK(4)
#define BIT_KEY_CERT_SIGN KU_MASK(5)
#define BIT_CRL_SIGN KU_MASK(6)

/*
 * The certificate profiles (docs/pki.md). Path lengths count the CAs that
 * may follow: root -> issuer CA -> card issuer -> card. The card issuer
 * carries the card EKU so that a verifier can hold it to card
 * certificates: libmic refuses a document signer or terminal under it.
 */
static const struct kind_profile profiles[] = {
	[MIC_CERT_ROOT] = { "MIC Root CA", 9131, 1, 2,
	    BIT_KEY_CERT_SIGN | BIT_CRL_SIGN, NULL },
	[MIC_CERT_ISSUER_CA] = { "MIC Issuer CA", 5479, 1, 1,
	    BIT_KEY_CERT_SIGN | BIT_CRL_SIGN, NULL },
	[MIC_CERT_DOCUMENT_SIGNER] = { "MIC Document Signer", 4018, 0, -1,
	    BIT_DIGITAL_SIGNATURE, MIC_OID_KP_DOCUMENT_SIGNER },
	[MIC_CERT_CARD_ISSUER] = { "MIC Card Certificate Issuer", 5479, 1, 0,
	    BIT_KEY_CERT_SIGN | BIT_CRL_SIGN, MIC_OID_KP_CARD },
	[MIC_CERT_TERMINAL] = { NULL, 730, 0, -1,
	    BIT_DIGITAL_SIGNATURE | BIT_KEY_AGREEMENT, MIC_OID_KP_TERMINAL },
	[MIC_CERT_CARD] = { "MIC Card", 3653, 0, -1,
	    BIT_DIGITAL_SIGNATURE | BIT_KEY_AGREEMENT, MIC_OID_KP_CARD },
};

static int
add_ext(X509 *x, int nid, void *value, int crit)
{
	return X509_add1_ext_i2d(x, nid, value, crit, X509V3_ADD_DEFAULT) == 1;
}

static mic_rc
add_basic_constraints(X509 *x, const struct kind_profile *p)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	mic_rc rc = MIC_ERR_CRYPTO;

	if (bc == NULL)
		return MIC_ERR_NOMEM;
	bc->ca = p->ca ? 0xFF : 0;
	if (p->ca && p->pathlen >= 0) {
		if ((bc->pathlen = ASN1_INTEGER_new()) == NULL ||
		    !ASN1_INTEGER_set(bc->pathlen, p->pathlen))
			goto out;
	}
	if (add_ext(x, NID_basic_constraints, bc, 1))
		rc = MIC_OK;
out:
	BASIC_CONSTRAINTS_free(bc);
	return rc;
}

static mic_rc
add_key_usage(X509 *x, uint32_t bits)
{
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
	mic_rc rc = MIC_ERR_CRYPTO;
	int i;

	if (ku == NULL)
		return MIC_ERR_NOMEM;
	for (i = 0; i < 9; i++) {
		if ((bits & KU_MASK(i)) && !ASN1_BIT_STRING_set_bit(ku, i, 1))
			goto out;
	}
	if (add_ext(x, NID_key_usage, ku, 1))
		rc = MIC_OK;
out:
	ASN1_BIT_STRING_free(ku);
	return rc;
}

static mic_rc
add_eku(X509 *x, const char *oid)
{
	EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
	ASN1_OBJECT *o = mici_oid(oid);
	mic_rc rc = MIC_ERR_CRYPTO;

	if (eku == NULL || o == NULL || !sk_ASN1_OBJECT_push(eku, o))
		goto out;
	o = NULL;
	if (add_ext(x, NID_ext_key_usage, eku, 0))
		rc = MIC_OK;
out:
	ASN1_OBJECT_free(o);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return rc;
}

/*
 * The role extension. Non-critical, and docs/pki.md says why: the role
 * grants rights, it does not restrict them, so a relying party that does
 * not know the extension grants nothing by ignoring it; marking it critical
 * would only make every standard verifier (openssl verify, a TLS stack on
 * a back office) reject terminal certificates outright.
 */
static mic_rc
add_role(X509 *x, mic_role role)
{
	unsigned char der[3] = { 0x0A, 0x01, (unsigned char)role };
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	ASN1_OBJECT *obj = mici_oid(MIC_OID_TERMINAL_ROLE);
	X509_EXTENSION *ext = NULL;
	mic_rc rc = MIC_ERR_CRYPTO;

	if (os == NULL || obj == NULL || !ASN1_OCTET_STRING_set(os, der, 3))
		goto out;
	if ((ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) == NULL ||
	    !X509_add_ext(x, ext, -1))
		goto out;
	rc = MIC_OK;
out:
	X509_EXTENSION_free(ext);
	ASN1_OBJECT_free(obj);
	ASN1_OCTET_STRING_free(os);
	return rc;
}

/* RFC 7093 method 1: the leftmost 160 bits of SHA-256 over the key bits. */
static mic_rc
add_key_ids(X509 *x, const X509 *issuer)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	ASN1_OCTET_STRING *skid = ASN1_OCTET_STRING_new();
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	const ASN1_OCTET_STRING *ikid;
	mic_rc rc = MIC_ERR_CRYPTO;

	if (skid == NULL || akid == NULL)
		goto out;
	if (!X509_pubkey_digest(x, EVP_sha256(), md, &mdlen) ||
	    !ASN1_OCTET_STRING_set(skid, md, KEYID_LEN) ||
	    !add_ext(x, NID_subject_key_identifier, skid, 0))
		goto out;
	ikid = issuer != NULL ? X509_get0_subject_key_id((X509 *)issuer) : skid;
	if (ikid == NULL) {
		mici_debug("%s: issuer has no subject key identifier",
		    __func__);
		goto out;
	}
	if ((akid->keyid = ASN1_OCTET_STRING_dup(ikid)) == NULL ||
	    !add_ext(x, NID_authority_key_identifier, akid, 0))
		goto out;
	rc = MIC_OK;
out:
	AUTHORITY_KEYID_free(akid);
	ASN1_OCTET_STRING_free(skid);
	return rc;
}

static mic_rc
set_subject(X509 *x, const mic_cert_params *prm, const char *cn)
{
	X509_NAME *n = X509_get_subject_name(x);
	const char *ou = prm->kind == MIC_CERT_TERMINAL ?
	    mic_role_name(prm->role) : NULL;

	if (!X509_NAME_add_entry_by_NID(n, NID_countryName, MBSTRING_ASC,
	    (const unsigned char *)"CN", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_NID(n, NID_organizationName, MBSTRING_UTF8,
	    (const unsigned char *)"MIC", -1, -1, 0) ||
	    (ou != NULL && !X509_NAME_add_entry_by_NID(n,
	    NID_organizationalUnitName, MBSTRING_ASC,
	    (const unsigned char *)ou, -1, -1, 0)) ||
	    !X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) ||
	    (prm->serial_number != NULL && !X509_NAME_add_entry_by_NID(n,
	    NID_serialNumber, MBSTRING_ASC,
	    (const unsigned char *)prm->serial_number, -1, -1, 0))) {
		mici_ossl_debug(__func__, "subject name");
		return MIC_ERR_INVALID_ARGUMENT;
	}
	return MIC_OK;
}

static mic_rc
set_serial(X509 *x)
{
	unsigned char b[SERIAL_LEN];
	BIGNUM *bn = NULL;
	mic_rc rc = MIC_ERR_CRYPTO;

	if (RAND_bytes(b, sizeof(b)) != 1)
		goto out;
	/* Positive, and 16 bytes long with its top bit clear. */
	b[0] = (unsigned char)((b[0] & 0x7F) | 0x40);
	if ((bn = BN_bin2bn(b, sizeof(b), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto out;
	rc = MIC_OK;
out:
	BN_free(bn);
	return rc;
}

static int
same_spki(EVP_PKEY *a, EVP_PKEY *b)
{
	unsigned char *da = NULL, *db = NULL;
	int la, lb, same;

	la = i2d_PUBKEY(a, &da);
	lb = i2d_PUBKEY(b, &db);
	same = la > 0 && la == lb && memcmp(da, db, (size_t)la) == 0;
	OPENSSL_free(da);
	OPENSSL_free(db);
	return same;
}

/* Is @p prm complete for its kind, with an issuer certificate or not? */
static int
params_ok(const mic_cert_params *prm, int has_issuer)
{
	if (prm == NULL || prm->kind < MIC_CERT_ROOT ||
	    prm->kind > MIC_CERT_CARD)
		return 0;
	if ((prm->kind == MIC_CERT_ROOT) == has_issuer ||
	    (prm->kind == MIC_CERT_TERMINAL &&
	    mic_role_name(prm->role) == NULL) ||
	    (prm->kind == MIC_CERT_CARD && prm->serial_number == NULL)) {
		mici_debug("%s: issuer, role or serial number missing",
		    __func__);
		return 0;
	}
	return 1;
}

/* The lifetime @p prm asks for: from now unless given, the kind's days
 * unless given. */
static mic_rc
cert_dates(X509 *x, const mic_cert_params *prm, const struct kind_profile
    *prof)
{
	int64_t nb, na;

	nb = prm->not_before != 0 ? prm->not_before : (int64_t)time(NULL);
	na = prm->not_after != 0 ? prm->not_after : nb + prof->days * DAY;
	if (na <= nb)
		return MIC_ERR_INVALID_ARGUMENT;
	if (ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na) == NULL)
		return MIC_ERR_CRYPTO;
	return MIC_OK;
}

static mic_rc
cert_sign(X509 *x, EVP_PKEY *ikey, mic_suite isuite, const EVP_MD_CTX *sign)
{
	EVP_MD_CTX *mctx;
	mic_rc rc = MIC_OK;

	if ((mctx = EVP_MD_CTX_new()) == NULL)
		return MIC_ERR_NOMEM;
	/* A copy of a context set up once saves fetching the algorithms;
	 * a key whose context does not copy is set up here. */
	if (sign == NULL || !EVP_MD_CTX_copy_ex(mctx, sign)) {
		ERR_clear_error();
		if ((rc = mici_sign_init(mctx, ikey, isuite)) != MIC_OK)
			goto out;
	}
	if (X509_sign_ctx(x, mctx) <= 0) {
		mici_ossl_debug(__func__, "X509_sign_ctx");
		rc = MIC_ERR_CRYPTO;
		goto out;
	}
	rc = mici_x509_sm2_id(x);
out:
	EVP_MD_CTX_free(mctx);
	return rc;
}

mic_rc
mici_cert_build(X509 *x, const mic_cert_params *prm, X509 *ix,
    EVP_PKEY *ikey, mic_suite isuite, const EVP_MD_CTX *sign)
{
	const struct kind_profile *prof;
	const char *cn;
	mic_rc rc;

	if (x == NULL || ikey == NULL || !params_ok(prm, ix != NULL))
		return MIC_ERR_INVALID_ARGUMENT;
	prof = &profiles[prm->kind];
	cn = prm->common_name != NULL ? prm->common_name :
	    prm->kind == MIC_CERT_TERMINAL ? mic_role_name(prm->role) :
	    prof->cn;
	if (!X509_set_version(x, X509_VERSION_3))
		return MIC_ERR_CRYPTO;
	if ((rc = cert_dates(x, prm, prof)) != MIC_OK ||
	    (rc = set_serial(x)) != MIC_OK ||
	    (rc = set_subject(x, prm, cn)) != MIC_OK)
		return rc;
	if (!X509_set_issuer_name(x, ix != NULL ? X509_get_subject_name(ix) :
	    X509_get_subject_name(x)))
		return MIC_ERR_CRYPTO;
	if ((rc = add_basic_constraints(x, prof)) != MIC_OK ||
	    (rc = add_key_usage(x, prof->ku_bits)) != MIC_OK ||
	    (rc = add_key_ids(x, ix)) != MIC_OK ||
	    (prof->eku != NULL && (rc = add_eku(x, prof->eku)) != MIC_OK) ||
	    (prm->kind == MIC_CERT_TERMINAL &&
	    (rc = add_role(x, prm->role)) != MIC_OK))
		return rc;
	return cert_sign(x, ikey, isuite, sign);
}

/*
 * Between two card certificates of one issuer only the key, its
 * identifier, the serial numbers and the dates differ; everything else
 * (names, extensions, algorithms) OpenSSL already holds in @p x, so it is
 * changed in place rather than built again, and X509_sign_ctx() encodes
 * the whole TBSCertificate afresh before it signs.
 */
mic_rc
mici_cert_reissue(X509 *x, const mic_cert_params *prm, EVP_PKEY *ikey,
    mic_suite isuite, const EVP_MD_CTX *sign)
{
	unsigned char md[EVP_MAX_MD_SIZE], der[2 + KEYID_LEN], *p = der;
	unsigned int mdlen = 0;
	ASN1_OCTET_STRING *skid = NULL;
	X509_NAME *n;
	X509_NAME_ENTRY *old;
	X509_EXTENSION *ext;
	int loc, len;
	mic_rc rc;

	if (x == NULL || ikey == NULL || !params_ok(prm, 1) ||
	    prm->kind != MIC_CERT_CARD || prm->common_name != NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if ((rc = cert_dates(x, prm, &profiles[prm->kind])) != MIC_OK ||
	    (rc = set_serial(x)) != MIC_OK)
		return rc;
	n = X509_get_subject_name(x);
	if ((loc = X509_NAME_get_index_by_NID(n, NID_serialNumber, -1)) < 0 ||
	    (old = X509_NAME_delete_entry(n, loc)) == NULL)
		return MIC_ERR_CRYPTO;
	X509_NAME_ENTRY_free(old);
	if (!X509_NAME_add_entry_by_NID(n, NID_serialNumber, MBSTRING_ASC,
	    (const unsigned char *)prm->serial_number, -1, loc, 0)) {
		mici_ossl_debug(__func__, "subject name");
		return MIC_ERR_INVALID_ARGUMENT;
	}
	/* The subject key identifier as add_key_ids() makes it. */
	rc = MIC_ERR_CRYPTO;
	if ((loc = X509_get_ext_by_NID(x, NID_subject_key_identifier,
	    -1)) < 0 || (ext = X509_get_ext(x, loc)) == NULL ||
	    !X509_pubkey_digest(x, EVP_sha256(), md, &mdlen) ||
	    (skid = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(skid, md, KEYID_LEN) ||
	    (len = i2d_ASN1_OCTET_STRING(skid, NULL)) != (int)sizeof(der) ||
	    i2d_ASN1_OCTET_STRING(skid, &p) != len ||
	    !ASN1_OCTET_STRING_set(X509_EXTENSION_get_data(ext), der, len))
		goto out;
	rc = cert_sign(x, ikey, isuite, sign);
out:
	ASN1_OCTET_STRING_free(skid);
	return rc;
}

mic_rc
mic_cert_issue(const mic_cert_params *prm, const uint8_t *spki,
    size_t spki_len, const uint8_t *issuer_cert, size_t issuer_len,
    mic_keyprov_t *issuer_key, uint8_t *out, size_t cap, size_t *len)
{
	const unsigned char *p = spki;
	EVP_PKEY *pub = NULL, *ikey;
	X509 *x = NULL, *ix = NULL;
	unsigned char *der = NULL;
	mic_suite isuite;
	int n;
	mic_rc rc;

	if (prm == NULL || spki == NULL || issuer_key == NULL || len == NULL ||
	    (out == NULL && cap > 0) || spki_len > LONG_MAX ||
	    !params_ok(prm, issuer_cert != NULL))
		return MIC_ERR_INVALID_ARGUMENT;
	ikey = mic_keyprov_pkey(issuer_key);
	isuite = mic_keyprov_suite(issuer_key);

	if ((pub = d2i_PUBKEY(NULL, &p, (long)spki_len)) == NULL ||
	    p != spki + spki_len) {
		mici_ossl_debug(__func__, "subject public key");
		rc = MIC_ERR_CERT_FORMAT;
		goto out;
	}
	if (mici_pkey_suite(pub) != isuite) {
		mici_debug("%s: the subject key is not of the issuer's suite",
		    __func__);
		rc = MIC_ERR_CERT_FORMAT;
		goto out;
	}
	if (issuer_cert != NULL) {
		if ((rc = mici_x509_parse(issuer_cert, issuer_len, &ix)) !=
		    MIC_OK)
			goto out;
		if (!(X509_get_extension_flags(ix) & EXFLAG_CA) ||
		    !(X509_get_key_usage(ix) & KU_KEY_CERT_SIGN)) {
			mici_debug("%s: the issuer is not a CA", __func__);
			rc = MIC_ERR_CERT_PURPOSE;
			goto out;
		}
	}
	/* Signing with a key other than the issuer's would make a
	 * certificate no chain accepts; catch it here, by name. */
	if (!same_spki(ikey, ix != NULL ? X509_get0_pubkey(ix) : pub)) {
		mici_debug("%s: the issuer key is not the issuer "
		    "certificate's (or, for a root, the subject's)", __func__);
		rc = MIC_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((x = X509_new()) == NULL) {
		rc = MIC_ERR_NOMEM;
		goto out;
	}
	if (!X509_set_pubkey(x, pub)) {
		rc = MIC_ERR_CRYPTO;
		goto out;
	}
	if ((rc = mici_cert_build(x, prm, ix, ikey, isuite, NULL)) != MIC_OK)
		goto out;
	/* A token that signed with the wrong key, or garbage, is caught now
	 * rather than by the first terminal in the field. */
	if (X509_verify(x, ix != NULL ? X509_get0_pubkey(ix) : pub) != 1) {
		mici_ossl_debug(__func__, "the new signature does not verify");
		rc = MIC_ERR_CRYPTO;
		goto out;
	}
	if ((n = i2d_X509(x, &der)) <= 0) {
		rc = MIC_ERR_CRYPTO;
		goto out;
	}
	if ((size_t)n > cap) {
		rc = MIC_ERR_BUFFER_TOO_SMALL;
		goto out;
	}
	memcpy(out, der, (size_t)n);
	*len = (size_t)n;
	rc = MIC_OK;
out:
	OPENSSL_free(der);
	X509_free(x);
	X509_free(ix);
	EVP_PKEY_free(pub);
	return rc;
}

/* ---- chains verified before ---- */

static void
vcache_free(struct vcache *e)
{
	X509_free(e->x);
	OPENSSL_free(e->der);
	sk_X509_pop_free(e->chain, X509_free);
	X509_STORE_free(e->anchor);
	free(e);
}

/* Drop a reference; the last one frees. */
static void
vcache_put(mic_trust_t *t, struct vcache *e)
{
	int last;

	pthread_mutex_lock(&t->lock);
	last = --e->refs == 0;
	pthread_mutex_unlock(&t->lock);
	if (last)
		vcache_free(e);
}

/* Forget every chain (the store changed); under t->lock. */
static void
vcache_clear(mic_trust_t *t)
{
	for (size_t i = 0; i < t->ncache; i++)
		if (--t->cache[i]->refs == 0)
			vcache_free(t->cache[i]);
	t->ncache = 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * algorithm): timegm() is not C11, and mktime() would add the zone. */
int64_t
mici_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int
asn1_seconds(const ASN1_TIME *a, int64_t *out)
{
	struct tm tm;

	if (a == NULL || ASN1_TIME_to_tm(a, &tm) != 1)
		return 0;
	*out = mici_days_from_civil((int64_t)tm.tm_year + 1900,
	    (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday) * 86400 +
	    tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	return 1;
}

/* The time X509_verify_cert() verifies at. */
static int64_t
trust_now(const mic_trust_t *t)
{
	return t->when != 0 ? t->when : (int64_t)time(NULL);
}

/*
 * Constraints that a CA puts on everything below it, and that a chain
 * starting at the CA would not see again: such a CA is not cached.
 */
static int
constrains_below(X509 *x)
{
	return X509_get_ext_by_NID(x, NID_name_constraints, -1) >= 0 ||
	    X509_get_ext_by_NID(x, NID_policy_constraints, -1) >= 0 ||
	    X509_get_ext_by_NID(x, NID_policy_mappings, -1) >= 0 ||
	    X509_get_ext_by_NID(x, NID_inhibit_any_policy, -1) >= 0;
}

/* An entry for chain[from..], the first certificate verified as @p kind
 * (0: as a CA only); NULL when it cannot be made. */
static struct vcache *
vcache_new(STACK_OF(X509) *chain, int from, mic_cert_kind kind)
{
	struct vcache *e;
	int64_t nb, na;
	int i;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->refs = 1;
	e->kind = kind;
	e->not_before = INT64_MIN;
	e->not_after = INT64_MAX;
	if ((e->chain = sk_X509_new_null()) == NULL)
		goto fail;
	for (i = from; i < sk_X509_num(chain); i++) {
		X509 *c = sk_X509_value(chain, i);

		if (!asn1_seconds(X509_get0_notBefore(c), &nb) ||
		    !asn1_seconds(X509_get0_notAfter(c), &na) ||
		    !X509_up_ref(c))
			goto fail;
		if (!sk_X509_push(e->chain, c)) {
			X509_free(c);
			goto fail;
		}
		if (nb > e->not_before)
			e->not_before = nb;
		if (na < e->not_after)
			e->not_after = na;
	}
	e->x = sk_X509_value(e->chain, 0);
	if (e->x == NULL || !X509_up_ref(e->x)) {
		e->x = NULL;
		goto fail;
	}
	if ((e->der_len = i2d_X509(e->x, &e->der)) <= 0 ||
	    (e->anchor = X509_STORE_new()) == NULL ||
	    !X509_STORE_add_cert(e->anchor, e->x))
		goto fail;
	return e;
fail:
	ERR_clear_error();
	vcache_free(e);
	return NULL;
}

/* Is there an entry for exactly this certificate and kind? */
static int
vcache_has(const mic_trust_t *t, const unsigned char *der, int len,
    mic_cert_kind kind)
{
	for (size_t i = 0; i < t->ncache; i++) {
		const struct vcache *e = t->cache[i];

		if (e->kind == kind && e->der_len == len &&
		    memcmp(e->der, der, (size_t)len) == 0)
			return 1;
	}
	return 0;
}

static void
vcache_add(mic_trust_t *t, struct vcache *e)
{
	pthread_mutex_lock(&t->lock);
	if (vcache_has(t, e->der, e->der_len, e->kind)) {
		pthread_mutex_unlock(&t->lock);
		vcache_free(e);
		return;
	}
	/* Full: the oldest goes. A line has a handful of CAs. */
	if (t->ncache == VCACHE_MAX) {
		if (--t->cache[0]->refs == 0)
			vcache_free(t->cache[0]);
		memmove(t->cache, t->cache + 1,
		    (VCACHE_MAX - 1) * sizeof(t->cache[0]));
		t->ncache--;
	}
	t->cache[t->ncache++] = e;
	pthread_mutex_unlock(&t->lock);
}

/* Kinds whose certificate comes back unchanged, card after card. */
static int
recurs(mic_cert_kind kind)
{
	return kind == MIC_CERT_DOCUMENT_SIGNER || kind == MIC_CERT_ROOT ||
	    kind == MIC_CERT_ISSUER_CA || kind == MIC_CERT_CARD_ISSUER;
}

/*
 * Remember a chain X509_verify_cert() accepted for a leaf of @p kind:
 * each CA in it, and the leaf itself when it is one that recurs (a
 * document signer, a CA), never a card's or a terminal's own certificate.
 */
static void
vcache_learn(mic_trust_t *t, STACK_OF(X509) *chain, mic_cert_kind kind)
{
	int n = sk_X509_num(chain), i, clean = 1;
	struct vcache *e;

	for (i = n - 1; i >= 1; i--) {
		clean = clean && !constrains_below(sk_X509_value(chain, i));
		if (clean && (e = vcache_new(chain, i, 0)) != NULL)
			vcache_add(t, e);
	}
	if (clean && !constrains_below(sk_X509_value(chain, 0)) &&
	    recurs(kind) && (e = vcache_new(chain, 0, kind)) != NULL)
		vcache_add(t, e);
}

/*
 * An entry that settles @p leaf at @p now: the leaf itself verified as
 * @p kind before (*whole set), or a CA of the cache that issued it. The
 * caller holds a reference to what is returned.
 */
static struct vcache *
vcache_find(mic_trust_t *t, X509 *leaf, mic_cert_kind kind, int64_t now,
    int *whole)
{
	struct vcache *found = NULL;
	unsigned char *der = NULL;
	int len = i2d_X509(leaf, &der);
	size_t i;

	*whole = 0;
	pthread_mutex_lock(&t->lock);
	for (i = 0; len > 0 && i < t->ncache && found == NULL; i++) {
		struct vcache *e = t->cache[i];

		if (now < e->not_before || now > e->not_after)
			continue;
		if (e->kind != 0 && e->kind == kind && e->der_len == len &&
		    memcmp(e->der, der, (size_t)len) == 0) {
			found = e;
			*whole = 1;
		}
	}
	for (i = 0; len > 0 && i < t->ncache && found == NULL; i++) {
		struct vcache *e = t->cache[i];

		if (e->kind == 0 && now >= e->not_before &&
		    now <= e->not_after &&
		    X509_check_issued(e->x, leaf) == X509_V_OK)
			found = e;
	}
	if (found != NULL)
		found->refs++;
	pthread_mutex_unlock(&t->lock);
	OPENSSL_free(der);
	return found;
}

/* ---- trust store ---- */

mic_rc
mic_trust_new(mic_trust_t **out)
{
	mic_trust_t *t;

	if (out == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return MIC_ERR_NOMEM;
	if (pthread_mutex_init(&t->lock, NULL) != 0) {
		free(t);
		return MIC_ERR_NOMEM;
	}
	t->lock_ready = 1;
	if ((t->store = X509_STORE_new()) == NULL ||
	    (t->inter = sk_X509_new_null()) == NULL) {
		mic_trust_free(&t);
		return MIC_ERR_NOMEM;
	}
	*out = t;
	return MIC_OK;
}

void
mic_trust_free(mic_trust_t **tp)
{
	mic_trust_t *t;

	if (tp == NULL || (t = *tp) == NULL)
		return;
	*tp = NULL;
	if (t->lock_ready) {
		pthread_mutex_lock(&t->lock);
		vcache_clear(t);
		pthread_mutex_unlock(&t->lock);
		pthread_mutex_destroy(&t->lock);
	}
	X509_STORE_free(t->store);
	sk_X509_pop_free(t->inter, X509_free);
	free(t);
}

void
mic_trust_set_time(mic_trust_t *t, int64_t when)
{
	if (t != NULL)
		t->when = when;
}

static mic_rc
trust_add_x509(mic_trust_t *t, X509 *x, int anchor)
{
	if (anchor) {
		/* The store takes its own reference. */
		if (!X509_STORE_add_cert(t->store, x)) {
			mici_ossl_debug(__func__, "X509_STORE_add_cert");
			return MIC_ERR_CRYPTO;
		}
		return MIC_OK;
	}
	if (!X509_up_ref(x))
		return MIC_ERR_CRYPTO;
	if (!sk_X509_push(t->inter, x)) {
		X509_free(x);
		return MIC_ERR_NOMEM;
	}
	return MIC_OK;
}

mic_rc
mic_trust_add(mic_trust_t *t, const uint8_t *cert, size_t len, int anchor)
{
	static const char pem_head[] = "-----BEGIN";
	BIO *bio = NULL;
	X509 *x = NULL;
	int count = 0;
	mic_rc rc;

	if (t == NULL || cert == NULL || len > INT_MAX)
		return MIC_ERR_INVALID_ARGUMENT;
	/* What chained before may chain differently now: verify afresh. */
	pthread_mutex_lock(&t->lock);
	vcache_clear(t);
	pthread_mutex_unlock(&t->lock);
	if (len < sizeof(pem_head) - 1 ||
	    memcmp(cert, pem_head, sizeof(pem_head) - 1) != 0) {
		if ((rc = mici_x509_parse(cert, len, &x)) != MIC_OK)
			return rc;
		rc = trust_add_x509(t, x, anchor);
		X509_free(x);
		return rc;
	}
	/* PEM: every certificate in the bundle. */
	if ((bio = BIO_new_mem_buf(cert, (int)len)) == NULL)
		return MIC_ERR_NOMEM;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if ((rc = mici_x509_sm2_id(x)) != MIC_OK ||
		    (rc = trust_add_x509(t, x, anchor)) != MIC_OK)
			goto out;
		X509_free(x);
		x = NULL;
		count++;
	}
	ERR_clear_error();   /* the loop ends on "no start line" */
	rc = count > 0 ? MIC_OK : MIC_ERR_CERT_FORMAT;
out:
	X509_free(x);
	BIO_free(bio);
	return rc;
}

static int
is_pem_name(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && name[0] != '.' && strcmp(name + n - 4, ".pem") == 0;
}

/* Add every *.pem of @p dir; *count gets how many files. */
static mic_rc
trust_add_dir(mic_trust_t *t, const char *dir, int anchor, int *count)
{
	char path[PATH_MAX];
	struct dirent *de;
	uint8_t *buf;
	size_t len;
	DIR *d;
	mic_rc rc = MIC_OK;

	*count = 0;
	if ((d = opendir(dir)) == NULL) {
		mici_debug("%s: %s: %s", __func__, dir, strerror(errno));
		return MIC_ERR_IO;
	}
	while ((de = readdir(d)) != NULL) {
		if (!is_pem_name(de->d_name))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path)) {
			rc = MIC_ERR_IO;
			break;
		}
		if ((rc = mici_read_file(path, TRUST_FILE_MAX, 0, &buf,
		    &len)) != MIC_OK)
			break;
		rc = mic_trust_add(t, buf, len, anchor);
		free(buf);
		if (rc != MIC_OK) {
			mici_debug("%s: %s: no certificate", __func__, path);
			break;
		}
		(*count)++;
	}
	closedir(d);
	return rc;
}

mic_rc
mic_trust_load(mic_trust_t **out, const char *dir)
{
	char sub[PATH_MAX];
	mic_trust_t *t = NULL;
	struct stat st;
	int n = 0;
	mic_rc rc;

	if (out == NULL || dir == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if ((rc = mic_trust_new(&t)) != MIC_OK)
		return rc;
	snprintf(sub, sizeof(sub), "%s/roots", dir);
	if ((rc = trust_add_dir(t, sub, 1, &n)) != MIC_OK)
		goto fail;
	if (n == 0) {
		mici_debug("%s: no root under %s", __func__, sub);
		rc = MIC_ERR_NOT_FOUND;
		goto fail;
	}
	snprintf(sub, sizeof(sub), "%s/intermediates", dir);
	if (stat(sub, &st) == 0 &&
	    (rc = trust_add_dir(t, sub, 0, &n)) != MIC_OK)
		goto fail;
	*out = t;
	return MIC_OK;
fail:
	mic_trust_free(&t);
	return rc;
}

/* ---- verification ---- */

static int
has_eku(X509 *x, const char *oid, int any_ok)
{
	EXTENDED_KEY_USAGE *eku;
	ASN1_OBJECT *want;
	int i, found = 0;

	if ((eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL)) == NULL)
		return 0;
	if ((want = mici_oid(oid)) != NULL) {
		for (i = 0; i < sk_ASN1_OBJECT_num(eku) && !found; i++) {
			ASN1_OBJECT *o = sk_ASN1_OBJECT_value(eku, i);

			found = OBJ_cmp(o, want) == 0 || (any_ok &&
			    OBJ_obj2nid(o) == NID_anyExtendedKeyUsage);
		}
	}
	ASN1_OBJECT_free(want);
	EXTENDED_KEY_USAGE_free(eku);
	return found;
}

static const char *
kind_eku(mic_cert_kind kind)
{
	switch (kind) {
	case MIC_CERT_DOCUMENT_SIGNER:
		return MIC_OID_KP_DOCUMENT_SIGNER;
	case MIC_CERT_TERMINAL:
		return MIC_OID_KP_TERMINAL;
	case MIC_CERT_CARD:
	case MIC_CERT_CARD_ISSUER:
		return MIC_OID_KP_CARD;
	default:
		return NULL;
	}
}

/* Is @p x a certificate of @p kind by its own extensions? */
static mic_rc
check_kind(X509 *x, mic_cert_kind kind)
{
	uint32_t fl = X509_get_extension_flags(x);
	uint32_t ku = (fl & EXFLAG_KUSAGE) ? X509_get_key_usage(x) : 0;
	int ca = (fl & EXFLAG_BCONS) && (fl & EXFLAG_CA);
	const char *eku = kind_eku(kind);
	mic_role role;

	switch (kind) {
	case MIC_CERT_ROOT:
	case MIC_CERT_ISSUER_CA:
	case MIC_CERT_CARD_ISSUER:
		if (!ca || !(ku & KU_KEY_CERT_SIGN))
			goto no;
		if (kind == MIC_CERT_ROOT && !(fl & EXFLAG_SS))
			goto no;
		break;
	case MIC_CERT_DOCUMENT_SIGNER:
	case MIC_CERT_CARD:
	case MIC_CERT_TERMINAL:
		if (ca || !(ku & KU_DIGITAL_SIGNATURE))
			goto no;
		break;
	default:
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (eku != NULL && !has_eku(x, eku, 0))
		goto no;
	if (kind == MIC_CERT_TERMINAL && x509_role(x, &role) != MIC_OK)
		goto no;
	return MIC_OK;
no:
	mici_debug("%s: not a certificate of kind %d (CA, key usage, extended "
	    "key usage or role)", __func__, (int)kind);
	return MIC_ERR_CERT_PURPOSE;
}

static mic_rc
map_verify_error(int err)
{
	switch (err) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_REJECTED:
		return MIC_ERR_CERT_UNTRUSTED;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return MIC_ERR_CERT_EXPIRED;
	default:
		/* A signature that fails, an issuer that is not a CA, a path
		 * too long, a strict-profile violation: the chain was found
		 * and it is wrong. */
		return MIC_ERR_CERT_CHAIN;
	}
}

/* Does every CA of @p chain from @p from on allow the purpose @p eku? */
static mic_rc
cas_allow(STACK_OF(X509) *chain, int from, const char *eku)
{
	/*
	 * A CA whose own EKU lists purposes may only certify those (the
	 * card issuer: cards). Without this a card-issuer key could mint a
	 * document signer that chains to the root.
	 */
	for (int i = from; eku != NULL && i < sk_X509_num(chain); i++) {
		X509 *ca = sk_X509_value(chain, i);

		if ((X509_get_extension_flags(ca) & EXFLAG_XKUSAGE) &&
		    !has_eku(ca, eku, 1)) {
			mici_debug("%s: CA at depth %d may not certify this "
			    "purpose", __func__, i);
			return MIC_ERR_CERT_PURPOSE;
		}
	}
	return MIC_OK;
}

static void
verify_params(const mic_trust_t *t, X509_STORE_CTX *ctx, int partial)
{
	X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);

	/* RFC 5280 strictly (key identifiers, critical basic constraints,
	 * named curves), and never a chain that stops short of a root but
	 * at a CA whose chain to one was verified (vcache). */
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
	if (partial)
		X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
	else
		X509_VERIFY_PARAM_clear_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
	if (t->when != 0)
		X509_VERIFY_PARAM_set_time(param, (time_t)t->when);
}

/*
 * @p leaf under the cached CA @p e: X509_verify_cert() over the two of
 * them only, the CA standing in for its chain, which was verified and is
 * valid now; the leaf's own signature, dates and profile are checked as
 * in full. Any failure goes back to the full verification, whose error
 * is the one reported.
 */
static mic_rc
verify_under(mic_trust_t *t, struct vcache *e, X509 *leaf,
    mic_cert_kind kind)
{
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *chain, *whole;
	mic_rc rc = MIC_ERR_CERT_CHAIN;

	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    !X509_STORE_CTX_init(ctx, e->anchor, leaf, NULL))
		goto out;
	verify_params(t, ctx, 1);
	if (X509_verify_cert(ctx) != 1)
		goto out;
	chain = X509_STORE_CTX_get0_chain(ctx);
	if (sk_X509_num(chain) != 2 || X509_cmp(sk_X509_value(chain, 1),
	    e->x) != 0)
		goto out;
	if ((rc = check_kind(leaf, kind)) != MIC_OK ||
	    (rc = cas_allow(e->chain, 0, kind_eku(kind))) != MIC_OK)
		goto out;
	/* The whole chain, the leaf on the verified one, for a leaf that
	 * will be back (the document signer of every EF.SOD). */
	if (recurs(kind) && (whole = sk_X509_dup(e->chain)) != NULL) {
		if (sk_X509_unshift(whole, leaf) > 0)
			vcache_learn(t, whole, kind);
		sk_X509_free(whole);
	}
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	return rc;
}

static mic_rc
verify_full(mic_trust_t *t, X509 *leaf, STACK_OF(X509) *extra,
    mic_cert_kind kind)
{
	STACK_OF(X509) *untrusted = NULL, *chain;
	X509_STORE_CTX *ctx = NULL;
	int i, err;
	mic_rc rc;

	if ((untrusted = sk_X509_dup(t->inter)) == NULL) {
		rc = MIC_ERR_NOMEM;
		goto out;
	}
	for (i = 0; extra != NULL && i < sk_X509_num(extra); i++) {
		if (!sk_X509_push(untrusted, sk_X509_value(extra, i))) {
			rc = MIC_ERR_NOMEM;
			goto out;
		}
	}
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    !X509_STORE_CTX_init(ctx, t->store, leaf, untrusted)) {
		rc = MIC_ERR_NOMEM;
		goto out;
	}
	verify_params(t, ctx, 0);
	if (X509_verify_cert(ctx) != 1) {
		err = X509_STORE_CTX_get_error(ctx);
		mici_debug("%s: depth %d: %s", __func__,
		    X509_STORE_CTX_get_error_depth(ctx),
		    X509_verify_cert_error_string(err));
		ERR_clear_error();
		rc = map_verify_error(err);
		goto out;
	}
	if ((rc = check_kind(leaf, kind)) != MIC_OK)
		goto out;
	chain = X509_STORE_CTX_get0_chain(ctx);
	if ((rc = cas_allow(chain, 1, kind_eku(kind))) != MIC_OK)
		goto out;
	vcache_learn(t, chain, kind);
	rc = MIC_OK;
out:
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	return rc;
}

mic_rc
mici_cert_verify(const mic_trust_t *ct, X509 *leaf, STACK_OF(X509) *extra,
    mic_cert_kind kind)
{
	/* Not a const object: every mic_trust_t is allocated by
	 * mic_trust_new(); only its cache changes here. */
	mic_trust_t *t = (mic_trust_t *)(uintptr_t)ct;
	struct vcache *e;
	int whole = 0;
	mic_rc rc;

	if (t == NULL || leaf == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if ((e = vcache_find(t, leaf, kind, trust_now(t), &whole)) != NULL) {
		/* Safe: the same bytes passed every check of this kind
		 * against this store, and every certificate of that chain
		 * is still in its validity period. */
		rc = whole ? MIC_OK : verify_under(t, e, leaf, kind);
		vcache_put(t, e);
		if (rc == MIC_OK)
			return MIC_OK;
	}
	return verify_full(t, leaf, extra, kind);
}

mic_rc
mici_trust_chain(const mic_trust_t *t, X509 *leaf, STACK_OF(X509) **out)
{
	STACK_OF(X509) *sk = NULL;
	X509 *cur = leaf, *up;
	int found;

	if (t == NULL || leaf == NULL || out == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if ((sk = sk_X509_new_null()) == NULL || !X509_up_ref(leaf))
		goto nomem;
	if (!sk_X509_push(sk, leaf)) {
		X509_free(leaf);
		goto nomem;
	}
	/* Up through the intermediates only: the card holds the root. */
	do {
		found = 0;
		for (int i = 0; t->inter != NULL &&
		    i < sk_X509_num(t->inter); i++) {
			up = sk_X509_value(t->inter, i);
			if (up == cur || X509_check_issued(up, cur) != X509_V_OK)
				continue;
			if (sk_X509_num(sk) >= 3) {
				mici_debug("%s: chain too long", __func__);
				sk_X509_pop_free(sk, X509_free);
				return MIC_ERR_CERT_CHAIN;
			}
			if (!X509_up_ref(up))
				goto nomem;
			if (!sk_X509_unshift(sk, up)) {
				X509_free(up);
				goto nomem;
			}
			cur = up;
			found = 1;
			break;
		}
	} while (found);
	*out = sk;
	return MIC_OK;
nomem:
	sk_X509_pop_free(sk, X509_free);
	return MIC_ERR_NOMEM;
}

mic_rc
mic_cert_verify(const mic_trust_t *t, const uint8_t *cert, size_t len,
    mic_cert_kind kind)
{
	X509 *x = NULL;
	mic_rc rc;

	if (t == NULL || cert == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if ((rc = mici_x509_parse(cert, len, &x)) != MIC_OK)
		return rc;
	rc = mici_cert_verify(t, x, NULL, kind);
	X509_free(x);
	return rc;
}
