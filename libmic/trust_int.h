/*
 * Internal interfaces of the trust code (pki.c, keyprov.c, sod.c): shared
 * OpenSSL helpers, the PKCS#11 URI parser and the security-object codec.
 * Not installed. Every function here is mici_-prefixed and stays local to
 * libmic.so.
 */
#ifndef MIC_TRUST_INT_H
#define MIC_TRUST_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>
#include <openssl/x509.h>

#include <mic/keyprov.h>
#include <mic/pki.h>
#include <mic/sod.h>

#include "internal.h"

/* The GB/T 32918.2 (GM/T 0009) default signer identifier for SM2. */
#define MICI_SM2_ID "1234567812345678"
#define MICI_SM2_ID_LEN 16

/** The one digest of a suite: "SHA256" or "SM3". */
const char *mici_suite_md(mic_suite suite);

/** Log OpenSSL's error queue through mici_debug, then clear it. */
void mici_ossl_debug(const char *func, const char *what);

/** A key provider over @p pkey, which it takes (MIC_ERR_UNSUPPORTED: no suite's). */
mic_rc mici_keyprov_wrap(EVP_PKEY *pkey, mic_keyprov_t **out);

/** Which suite @p pkey belongs to; 0 if neither (not P-256, not SM2). */
mic_suite mici_pkey_suite(const EVP_PKEY *pkey);

/**
 * Initialize @p mctx to sign with @p pkey under its suite's digest, with the
 * SM2 identifier set for SM2 keys.
 */
mic_rc mici_sign_init(EVP_MD_CTX *mctx, EVP_PKEY *pkey, mic_suite suite);

/**
 * An SM2-signed certificate or request is verified with the signer's
 * identifier, which OpenSSL 3.0 does not default: set it on @p x if its
 * signature is SM2-with-SM3. NULL-safe.
 */
mic_rc mici_x509_sm2_id(X509 *x);
mic_rc mici_x509_req_sm2_id(X509_REQ *r);

/**
 * The certificate at the start of @p buf (DER; what follows its outer TLV
 * is ignored, as padding of a transparent EF).
 * @retval MIC_ERR_CERT_FORMAT  not a certificate
 */
mic_rc mici_x509_parse(const uint8_t *buf, size_t len, X509 **out);

/** An OID from its dotted text, without touching OpenSSL's global table. */
ASN1_OBJECT *mici_oid(const char *dotted);

/**
 * Chain and purpose checks shared by mic_cert_verify() and
 * mic_sod_verify(); @p extra (may be NULL) are further untrusted CAs.
 */
mic_rc mici_cert_verify(const mic_trust_t *t, X509 *leaf,
    STACK_OF(X509) *extra, mic_cert_kind kind);

/**
 * The certificate every libmic issuer makes (mic_cert_issue(), the card
 * certificates of a personalization line): the fields of @p x under the
 * profile of @p prm's kind (docs/pki.md), its subject public key already
 * set by the caller, then its signature by @p ikey of suite @p isuite.
 * The issuer is @p ix, or for a root (@p ix NULL) @p x itself. @p sign,
 * if not NULL, is a context that mici_sign_init() set up for @p ikey, to
 * be copied rather than set up again. The caller checks, before, that
 * @p ikey is @p ix's key and @p ix a CA, and verifies the signature if it
 * is to be relied on before anyone else verifies it.
 * @retval MIC_ERR_INVALID_ARGUMENT  @p prm incomplete for its kind, an
 *                                   empty lifetime, a serial number that
 *                                   is not a PrintableString
 * @retval MIC_ERR_CRYPTO            encoding or signing failed
 */
mic_rc mici_cert_build(X509 *x, const mic_cert_params *prm, X509 *ix,
    EVP_PKEY *ikey, mic_suite isuite, const EVP_MD_CTX *sign);

/**
 * The next card certificate from @p x, a card certificate that
 * mici_cert_build() made for the same issuer and whose public key the
 * caller has just replaced: new dates, serial number, subject serialNumber
 * (@p prm->serial_number) and subject key identifier, the rest as it was,
 * then signed as mici_cert_build() signs. On an error @p x is left half
 * changed and must not be used again.
 * @retval MIC_ERR_INVALID_ARGUMENT  not a card's parameters, an empty
 *                                   lifetime, a serial number that is not a
 *                                   PrintableString
 * @retval MIC_ERR_CRYPTO            encoding or signing failed
 */
mic_rc mici_cert_reissue(X509 *x, const mic_cert_params *prm, EVP_PKEY *ikey,
    mic_suite isuite, const EVP_MD_CTX *sign);

/** Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t mici_days_from_civil(int64_t y, unsigned m, unsigned d);

/** Write @p len bytes to @p path atomically (temp file, fsync, rename). */
mic_rc mici_write_file(const char *path, const void *data, size_t len,
    unsigned mode, int force);

/**
 * Read a whole regular file of at most @p max bytes into a new buffer.
 * With @p private_only, refuse a file group or others may access.
 * @retval MIC_ERR_IO               missing, unreadable, not regular, too big
 * @retval MIC_ERR_KEY_PERMISSIONS  @p private_only and mode & 077
 */
mic_rc mici_read_file(const char *path, size_t max, int private_only,
    uint8_t **data, size_t *len);

/* ---- PKCS#11 URIs (RFC 7512), the subset libmic understands ---- */

#define MICI_P11_LABEL_MAX 32    /* CK_TOKEN_INFO label */
#define MICI_P11_SHORT_MAX 32    /* manufacturer, model, serial */
#define MICI_P11_OBJECT_MAX 128
#define MICI_P11_ID_MAX 64
#define MICI_P11_PATH_MAX 1024

typedef struct mici_p11uri {
	char token[MICI_P11_LABEL_MAX + 1];
	char manufacturer[MICI_P11_SHORT_MAX + 1];
	char model[MICI_P11_SHORT_MAX + 1];
	char serial[MICI_P11_SHORT_MAX + 1];
	char object[MICI_P11_OBJECT_MAX + 1];
	uint8_t id[MICI_P11_ID_MAX];
	size_t id_len;
	int has_token, has_manufacturer, has_model, has_serial, has_object;
	int has_id;
	char module_path[MICI_P11_PATH_MAX];
	char pin_source[MICI_P11_PATH_MAX];
} mici_p11uri;

/**
 * Parse a pkcs11: URI. Path attributes: token, manufacturer, model, serial,
 * object, id, type (only "private"). Query attributes: module-path,
 * pin-source (a file path, or file: URI). pin-value is refused, and so is
 * any other attribute: an attribute libmic ignored could make it pick a
 * key the operator did not mean.
 * @retval MIC_ERR_KEY_URI  malformed, unknown or refused attribute, a value
 *                          too long, or neither object nor id
 */
mic_rc mici_p11uri_parse(const char *uri, mici_p11uri *out);

/* ---- the security object's content (MICSecurityObject) ---- */

#define MICI_SOD_MAX_FILES 30
#define MICI_SOD_HASH_LEN 32

typedef struct mici_sod_content {
	mic_suite suite;          /* from hashAlgorithm: SHA-256 or SM3 */
	size_t nfiles;
	struct {
		uint8_t sfi;
		const uint8_t *hash;  /* MICI_SOD_HASH_LEN bytes, into the input */
	} files[MICI_SOD_MAX_FILES];
	const uint8_t *chip_serial;  /* MIC_CHIP_SERIAL_LEN bytes, into the input */
} mici_sod_content;

/**
 * Parse a MICSecurityObject, strictly DER: exactly one SEQUENCE filling
 * @p len, version 0, id-sha256 or id-sm3 (parameters absent or NULL),
 * 1-30 entries of strictly ascending SFI 1..30 with 32-byte hashes, an
 * 8-byte chip serial, and the four required SFIs present.
 * @retval MIC_ERR_SOD_FORMAT  anything else
 */
mic_rc mici_sod_content_parse(const uint8_t *buf, size_t len,
    mici_sod_content *out);

/**
 * mic_cardcert_verify() and then mic_cardcert_check_key() on one parse of
 * @p cert: the errors of either, in that order.
 */
mic_rc mici_cardcert_check(const mic_trust_t *trust, const uint8_t *cert,
    size_t cert_len, const char *cic, const uint8_t *gen_rsp,
    size_t gen_len);

/* ---- issuing card after card (sod.c) ---- */

/**
 * A key that signs for card after card (the card-certificate issuer, the
 * document signer) with its certificate, parsed and checked once: the
 * certificate matches the key, and its X509, the suite's digest and a
 * signing context every card needs are ready. It keeps the last objects
 * it signed to make the next ones from; threads may share one (a line's
 * readers do), each taking those objects out while it uses them. @p kp is
 * borrowed and must outlive it, and a key on a token is the caller's to
 * serialize.
 * @retval MIC_ERR_CERT_FORMAT   @p cert is not a certificate
 * @retval MIC_ERR_CERT_PURPOSE  @p cert is not @p kp's
 */
typedef struct mici_issuer mici_issuer;
mic_rc mici_issuer_new(mic_keyprov_t *kp, const uint8_t *cert, size_t len,
    mici_issuer **out);
void mici_issuer_free(mici_issuer **is);

/**
 * mic_cardcert_issue() by @p ci: the same certificate, made by the same
 * OpenSSL code (mici_cert_build()), with the same refusals, but without
 * parsing anything but the card's answer, without decoding the card's
 * point into a key (it goes into the certificate as sent, after the quick
 * public-key check), and without verifying the new signature: only for a
 * caller that verifies the certificate itself before anyone relies on it,
 * as mic_perso_card() does when it reads the card back. After the first
 * certificate, the X509 OpenSSL built is kept and the next one made from
 * it (mici_cert_reissue()).
 */
mic_rc mici_cardcert_issue(mici_issuer *ci, const uint8_t *gen_rsp,
    size_t gen_len, const char *cic, int64_t not_before, int64_t not_after,
    uint8_t *out, size_t cap, size_t *len);

/**
 * mic_sod_build() by @p ds: the same SignedData by the same CMS code,
 * with the signer's certificate and key as mici_issuer_new() set them up.
 * After the first one, the CMS_ContentInfo OpenSSL built is kept and only
 * what differs between cards (the eContent, its messageDigest, the
 * signingTime, the signature) is set in it.
 */
mic_rc mici_sod_build(mici_issuer *ds, const mic_sod_file *files,
    size_t nfiles, const uint8_t chip_serial[MIC_CHIP_SERIAL_LEN],
    uint8_t *out, size_t cap, size_t *len);

/**
 * The entity in directory @p edir (cert.pem, and key.uri or key.pem):
 * mic_pki_load() for a directory of any layout, e.g. TRUSTDIR/terminal.
 */
mic_rc mici_pki_load_dir(const char *edir, mic_pin_cb *pin_cb, void *pin_arg,
    mic_keyprov_t **kp, uint8_t *cert, size_t cap, size_t *cert_len);

/**
 * The chain a card needs for @p leaf: the CAs of @p t's intermediates from
 * the one under the root down to @p leaf's issuer, then @p leaf (taken
 * up by reference). At most 3 certificates (card profile 4.4).
 */
mic_rc mici_trust_chain(const mic_trust_t *t, X509 *leaf,
    STACK_OF(X509) **out);

#endif
