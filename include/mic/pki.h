/*
 * libmic: the MIC public-key infrastructure. Object identifiers, terminal
 * roles, certificate issuance, trust stores, and the directory layout of a
 * (test) PKI. docs/pki.md is the reference for every choice here.
 *
 *   root CA (national insurance authority)
 *   └── issuer CA
 *       ├── document signer            signs EF.SOD
 *       ├── card-certificate issuer    signs EF.CERT       (a CA, path length 0)
 *       │   └── card certificates
 *       └── terminal certificates      hospital-pos, pharmacy-pos, bank,
 *                                      agency, bureau (role extension)
 */
#ifndef MIC_PKI_H
#define MIC_PKI_H

#include <stddef.h>
#include <stdint.h>

#include <mic/err.h>
#include <mic/keyprov.h>
#include <mic/profile.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Object identifiers, under the UUID arc of ITU-T X.667 (2.25.<UUID as an
 * integer>), which needs no registration. The UUID was generated once for
 * libmic and is fixed: d53a42b0-5e65-4d23-b8cf-413bfdce0d40.
 * Each OID is also given as its DER (tag 06, length, value), for code that
 * compares bytes (a card).
 */
#define MIC_OID_ARC "2.25.283428068932386601163896741507493662016"

#define MIC_OID_ARC_DER_BODY \
	0x69, 0x83, 0xAA, 0xBA, 0xA1, 0xAC, 0x8B, 0xE6, 0xAA, 0xB4, 0xC7, \
	0xB8, 0xE7, 0xD0, 0xA7, 0xBF, 0xEE, 0xB8, 0x9A, 0x40

/**
 * id-mic-terminalRole: the X.509 extension that carries a terminal's role.
 * Non-critical. extnValue is the DER of
 *   MICTerminalRole ::= ENUMERATED { hospitalPos(1), pharmacyPos(2),
 *                                    bank(3), agency(4), bureau(5) }
 * e.g. 0A 01 03 for a bank.
 */
#define MIC_OID_TERMINAL_ROLE MIC_OID_ARC ".1"
#define MIC_OID_TERMINAL_ROLE_DER { 0x06, 0x15, MIC_OID_ARC_DER_BODY, 0x01 }

/** id-mic-securityObject: eContentType of EF.SOD (profile section 2.4). */
#define MIC_OID_SECURITY_OBJECT MIC_OID_ARC ".2"
#define MIC_OID_SECURITY_OBJECT_DER { 0x06, 0x15, MIC_OID_ARC_DER_BODY, 0x02 }

/** Extended key usages (id-mic-kp = arc.3). */
#define MIC_OID_KP_DOCUMENT_SIGNER MIC_OID_ARC ".3.1"
#define MIC_OID_KP_DOCUMENT_SIGNER_DER { 0x06, 0x16, MIC_OID_ARC_DER_BODY, 0x03, 0x01 }
#define MIC_OID_KP_TERMINAL MIC_OID_ARC ".3.2"
#define MIC_OID_KP_TERMINAL_DER { 0x06, 0x16, MIC_OID_ARC_DER_BODY, 0x03, 0x02 }
#define MIC_OID_KP_CARD MIC_OID_ARC ".3.3"
#define MIC_OID_KP_CARD_DER { 0x06, 0x16, MIC_OID_ARC_DER_BODY, 0x03, 0x03 }

/*
 * Terminal roles: mic_role of <mic/profile.h> (profile section 4.2). Its
 * values are the ENUMERATED's of the role extension.
 */

/** "hospital-pos", "pharmacy-pos", "bank", "agency", "bureau"; NULL otherwise. */
const char *mic_role_name(mic_role role);

/**
 * @retval MIC_ERR_INVALID_ARGUMENT  not one of the names of mic_role_name()
 */
mic_rc mic_role_from_name(const char *name, mic_role *role);

/** What a certificate is for; each kind has its own profile (docs/pki.md). */
typedef enum mic_cert_kind {
	MIC_CERT_ROOT = 1,
	MIC_CERT_ISSUER_CA = 2,
	MIC_CERT_DOCUMENT_SIGNER = 3,
	MIC_CERT_CARD_ISSUER = 4,
	MIC_CERT_TERMINAL = 5,
	MIC_CERT_CARD = 6,
} mic_cert_kind;

/** Largest certificate libmic issues or accepts (EF.CERT is 1024 bytes). */
#define MIC_CERT_MAX 2048

/** What to put in a certificate beyond its kind's fixed profile. */
typedef struct mic_cert_params {
	mic_cert_kind kind;
	const char *common_name;    /**< CN; NULL for the kind's default */
	const char *serial_number;  /**< subject serialNumber; the card's identification code for MIC_CERT_CARD */
	mic_role role;              /**< MIC_CERT_TERMINAL only */
	int64_t not_before;         /**< seconds since the epoch; 0: now */
	int64_t not_after;          /**< 0: not_before + the kind's default lifetime */
} mic_cert_params;

/**
 * Issue a certificate over the public key @p spki (DER SubjectPublicKeyInfo)
 * signed by @p issuer_key, whose certificate is @p issuer_cert (DER). For a
 * root, @p issuer_cert is NULL and @p spki must be @p issuer_key's own.
 * The signature follows the issuer's suite (ECDSA-with-SHA256, or SM2-with-
 * SM3 with the GB/T 32918 default identifier 1234567812345678).
 * @retval MIC_ERR_INVALID_ARGUMENT  a missing field (no role for a terminal,
 *                                   no serial number for a card), a lifetime
 *                                   that ends before it starts, or
 *                                   @p issuer_key is not @p issuer_cert's key
 *                                   (for a root: not @p spki's)
 * @retval MIC_ERR_CERT_FORMAT       @p spki or @p issuer_cert does not parse,
 *                                   or the subject key is not of the issuer's suite
 * @retval MIC_ERR_CERT_PURPOSE      @p issuer_cert is not a CA
 * @retval MIC_ERR_BUFFER_TOO_SMALL  more than @p cap bytes
 * @retval MIC_ERR_CRYPTO            signing failed
 */
mic_rc mic_cert_issue(const mic_cert_params *params, const uint8_t *spki,
    size_t spki_len, const uint8_t *issuer_cert, size_t issuer_len,
    mic_keyprov_t *issuer_key, uint8_t *out, size_t cap, size_t *len);

/**
 * The role in a terminal certificate's role extension.
 * @retval MIC_ERR_NOT_FOUND     the certificate has no role extension
 * @retval MIC_ERR_CERT_FORMAT   not a certificate, or the extension's value is
 *                               not exactly a DER ENUMERATED of a known role
 */
mic_rc mic_cert_role(const uint8_t *cert, size_t len, mic_role *role);

/*
 * Trust store: the trust anchors (roots) and the intermediate CA
 * certificates a verifier knows. docs/pki.md describes the directory.
 *
 * A store remembers the chains it verified: each CA of such a chain, and a
 * CA's or document signer's own certificate (by its exact DER), with the
 * time window in which every certificate of that chain is valid. The next
 * certificate under such a CA is verified against that CA alone (its own
 * signature, dates, profile and purpose in full), and a remembered
 * document signer is not verified again. Outside the window, or once
 * mic_trust_add() has changed the store, everything is verified afresh.
 * Several threads may verify against one store at once; adding to it
 * while others verify is not safe.
 */
typedef struct mic_trust mic_trust_t;

mic_rc mic_trust_new(mic_trust_t **t);

/**
 * A trust store from a directory: every *.pem under DIR/roots/ is a trust
 * anchor, every *.pem under DIR/intermediates/ an untrusted CA certificate
 * that may complete a chain.
 * @retval MIC_ERR_IO           DIR/roots/ cannot be read
 * @retval MIC_ERR_NOT_FOUND    no root at all
 * @retval MIC_ERR_CERT_FORMAT  a .pem file holds no certificate
 */
mic_rc mic_trust_load(mic_trust_t **t, const char *dir);

/**
 * Add one certificate, DER or PEM: a trust anchor if @p anchor, else an
 * intermediate.
 * @retval MIC_ERR_CERT_FORMAT  not a certificate
 */
mic_rc mic_trust_add(mic_trust_t *t, const uint8_t *cert, size_t len,
    int anchor);

/** Verify at @p when (seconds since the epoch) instead of now; 0: now. */
void mic_trust_set_time(mic_trust_t *t, int64_t when);

void mic_trust_free(mic_trust_t **t);

/**
 * Verify @p cert (DER; trailing 00 padding after it is ignored, as in a
 * transparent EF) against @p t as a certificate of @p kind: the chain to a
 * root, validity, and the kind's key usage and extended key usage (a
 * terminal also needs its role). @p extra holds further untrusted CA
 * certificates (DER), e.g. those a SignedData carries; it may be NULL.
 * @retval MIC_ERR_CERT_FORMAT     not a certificate
 * @retval MIC_ERR_CERT_UNTRUSTED  no chain to a root of @p t
 * @retval MIC_ERR_CERT_CHAIN      the chain is broken
 * @retval MIC_ERR_CERT_EXPIRED    a certificate in the chain is out of date
 * @retval MIC_ERR_CERT_PURPOSE    not a certificate of @p kind
 */
mic_rc mic_cert_verify(const mic_trust_t *t, const uint8_t *cert, size_t len,
    mic_cert_kind kind);

/*
 * A PKI directory, as `mic pki` makes it (docs/pki.md):
 *   DIR/root/ DIR/issuer/ DIR/ds/ DIR/card-issuer/ DIR/terminals/NAME/
 * each with cert.pem and either key.pem (0600) or key.uri (a key-provider
 * URI, for keys in an HSM); and DIR/trust/{roots,intermediates}/, the part
 * of the trust store every terminal gets.
 */
typedef struct mic_pki_opts {
	mic_suite suite;          /**< for the root; 0: P-256. Others follow their issuer. */
	const char *name;         /**< CN, and for a terminal the directory name */
	mic_role role;            /**< for a terminal */
	const char *key_uri;      /**< use this existing key (e.g. in an HSM), do not generate one */
	const char *csr_path;     /**< or take the public key from this PKCS#10 request (PEM or DER) */
	unsigned days;            /**< lifetime; 0: the kind's default */
	int force;                /**< replace what exists */
	mic_pin_cb *pin_cb;       /**< asks for token PINs; may be NULL */
	void *pin_arg;
} mic_pki_opts;

/**
 * Create one entity of the PKI in @p dir and issue its certificate with its
 * issuer's key (DIR/<issuer>/key.pem or key.uri). Kinds: root, issuer CA,
 * document signer, card issuer, terminal (MIC_CERT_CARD: see
 * mic_cardcert_issue()). Without @p o->force an existing key or certificate
 * is left alone and MIC_ERR_EXISTS returned, before anything is written.
 * Private keys are written with mode 0600, atomically.
 * @retval MIC_ERR_EXISTS           the entity exists and force is not set
 * @retval MIC_ERR_NOT_FOUND        its issuer is not in @p dir yet
 * @retval MIC_ERR_INVALID_ARGUMENT a bad name (a terminal's: 1-32 of [a-z0-9-]) or no role
 * @retval MIC_ERR_UNSUPPORTED      SM2 asked for and this OpenSSL lacks it
 * @retval MIC_ERR_IO               a file could not be written
 * plus the errors of mic_keyprov_open_ex() and mic_cert_issue().
 */
mic_rc mic_pki_create(const char *dir, mic_cert_kind kind,
    const mic_pki_opts *o);

/**
 * A complete test PKI in @p dir: root, issuer CA, document signer, card
 * issuer, a terminal per role, named after the role, and the PIN mailer's
 * key pair (mic_pki_pin_mailer()).
 * Errors as mic_pki_create(); nothing is overwritten without force.
 */
mic_rc mic_pki_init(const char *dir, const mic_pki_opts *o);

/**
 * The PIN mailer's key pair in DIR/pin-mailer/ (docs/pki.md 6.1): a P-256
 * key (key.pem, 0600) and its self-signed keyAgreement certificate
 * (cert.pem), to which the issuance line seals transport PINs. For a PKI
 * made before PINs were sealed, or on the print shop's own machine.
 * @retval MIC_ERR_EXISTS  a key or certificate is there and @p force is 0
 * @retval MIC_ERR_IO, MIC_ERR_CRYPTO, MIC_ERR_INVALID_ARGUMENT
 */
mic_rc mic_pki_pin_mailer(const char *dir, int force);

/**
 * Open an entity of the PKI in @p dir (a terminal by @p name): its key
 * provider, through key.uri or key.pem, and its certificate as DER. This is
 * how a bureau's personalization gets the document signer and the card
 * issuer. @p share and the PIN callback are passed to mic_keyprov_open_ex().
 * @retval MIC_ERR_NOT_FOUND         no such entity, or it has no key here
 * @retval MIC_ERR_BUFFER_TOO_SMALL  the certificate exceeds @p cap
 * plus the errors of mic_keyprov_open_ex().
 */
mic_rc mic_pki_load(const char *dir, mic_cert_kind kind, const char *name,
    mic_keyprov_t *share, mic_pin_cb *pin_cb, void *pin_arg,
    mic_keyprov_t **kp, uint8_t *cert, size_t cap, size_t *cert_len);

/**
 * A terminal's trust store in @p out: roots/, intermediates/, and
 * terminal/cert.pem with terminal/key.pem or terminal/key.uri.
 * @retval MIC_ERR_NOT_FOUND  no such terminal in @p dir
 * @retval MIC_ERR_EXISTS     @p out holds a terminal already and force is not set
 */
mic_rc mic_pki_export_terminal(const char *dir, const char *name,
    const char *out, int force);

/**
 * Write a PKCS#10 request (PEM) for the key @p kp, with CN @p cn, to
 * @p path. It proves possession of the key to the issuing CA.
 * @retval MIC_ERR_EXISTS  @p path exists and @p force is not set
 */
mic_rc mic_pki_csr(mic_keyprov_t *kp, const char *cn, const char *path,
    int force);

#ifdef __cplusplus
}
#endif
#endif
