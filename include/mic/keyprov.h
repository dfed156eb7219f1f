/*
 * libmic: key providers. One interface for a private key wherever it lives:
 *
 *   file:/path/key.pem                  a PEM private key, for tests and demos
 *   pkcs11:token=L;object=O[;id=%01]    a key in a PKCS#11 token (an HSM),
 *        [?module-path=/path/module.so][&pin-source=/path/pin]    RFC 7512
 *
 * A key provider hands OpenSSL an EVP_PKEY (for X509_sign, CMS_sign and the
 * like) and signs raw digests. The private key of a pkcs11: provider never
 * leaves the token: OpenSSL's signing calls reach the token through libp11.
 *
 * Suites: ECDSA P-256 with SHA-256 (default) and SM2 with SM3 (optional).
 * Both go through this interface. A PEM file may hold either; through
 * PKCS#11, SM2 needs a token and a libp11 that support it (SoftHSM2 2.6.1
 * and libp11 0.4.12 do not: such keys give MIC_ERR_UNSUPPORTED).
 *
 * PINs. A token PIN never comes from a command line or a log. It comes, in
 * this order, from the URI's pin-source (a file readable by its owner only),
 * from the environment variable MIC_PKCS11_PIN, or from the caller's
 * callback (a prompt). A pin-value in the URI is refused. libmic wipes its
 * copies of the PIN once the token has it.
 *
 * PKCS#11 is one per process: a module is initialized once. A second
 * mic_keyprov_t on the same module must be opened through the first
 * (mic_keyprov_open_ex() with @p share); otherwise its open fails with
 * MIC_ERR_PKCS11_IN_USE instead of breaking the first one's sessions.
 * Key providers that share a module must be used from one thread at a time.
 */
#ifndef MIC_KEYPROV_H
#define MIC_KEYPROV_H

#include <stddef.h>
#include <stdint.h>

#include <mic/err.h>

#ifdef __cplusplus
extern "C" {
#endif

/* OpenSSL's EVP_PKEY, declared so this header needs no OpenSSL headers. */
struct evp_pkey_st;

/** Crypto suites (docs/card-profile.md section 4.1). */
typedef enum mic_suite {
	MIC_SUITE_P256 = 1,  /**< ECDSA P-256, SHA-256 (AES-128 for messaging) */
	MIC_SUITE_SM2 = 2,   /**< SM2, SM3 (SM4 for messaging) */
} mic_suite;

/** Largest DER ECDSA or SM2 signature over a 256-bit curve. */
#define MIC_SIG_MAX 72

typedef struct mic_keyprov mic_keyprov_t;

/**
 * Asks for a token PIN, e.g. by a prompt without echo. Write at most
 * @p cap - 1 characters and a NUL into @p buf.
 * @return 0 when @p buf holds a PIN, -1 when there is none.
 */
typedef int mic_pin_cb(void *arg, const char *token_label, char *buf,
    size_t cap);

/**
 * Open the key named by @p uri. PKCS#11 tokens are logged in here.
 * @retval MIC_ERR_KEY_URI          malformed URI, an unknown attribute, a
 *                                  pin-value, no module, or several keys match
 * @retval MIC_ERR_IO               the key or PIN file cannot be read
 * @retval MIC_ERR_KEY_PERMISSIONS  the key or PIN file is open to other users
 * @retval MIC_ERR_CRYPTO           the file holds no usable private key
 * @retval MIC_ERR_UNSUPPORTED      not a P-256 or SM2 key; an SM2 key in a
 *                                  token; a build without libp11
 * @retval MIC_ERR_PKCS11           the module failed to load or to answer
 * @retval MIC_ERR_PKCS11_IN_USE    the module is already initialized in this
 *                                  process (share the first key provider)
 * @retval MIC_ERR_NOT_FOUND        no such token or key
 * @retval MIC_ERR_TOKEN_NO_PIN     the token needs a PIN and none was given
 * @retval MIC_ERR_TOKEN_LOGIN      the token refused the PIN
 */
mic_rc mic_keyprov_open(mic_keyprov_t **kp, const char *uri);

/**
 * mic_keyprov_open() with a PIN callback, and with @p share: another key
 * provider. If both are pkcs11: keys of the same module, the new one reuses
 * the module of @p share (and its login, for the same token); otherwise
 * @p share is ignored, so a caller may always pass the provider it opened
 * before. The two may be freed in any order: the module is finalized when
 * the last key provider using it is freed.
 * @retval every error of mic_keyprov_open().
 */
mic_rc mic_keyprov_open_ex(mic_keyprov_t **kp, const char *uri,
    mic_keyprov_t *share, mic_pin_cb *pin_cb, void *pin_arg);

/** Release the key (and the token session, module, when last). NULL-safe. */
void mic_keyprov_free(mic_keyprov_t **kp);

/**
 * The private key as an OpenSSL EVP_PKEY, owned by @p kp and valid until
 * mic_keyprov_free(). For pkcs11: it signs through the token.
 */
struct evp_pkey_st *mic_keyprov_pkey(mic_keyprov_t *kp);

/** The key's suite. */
mic_suite mic_keyprov_suite(const mic_keyprov_t *kp);

/**
 * The public key as a DER SubjectPublicKeyInfo.
 * @retval MIC_ERR_BUFFER_TOO_SMALL  more than @p cap bytes
 */
mic_rc mic_keyprov_spki(mic_keyprov_t *kp, uint8_t *out, size_t cap,
    size_t *len);

/**
 * Sign a 32-byte digest the caller computed: SHA-256 for P-256, and for SM2
 * the SM3 digest of Z || message (GB/T 32918.2 with the signer's
 * identifier). Tokens without CKM_ECDSA_SHA256 (SoftHSM2) need exactly
 * this: the host hashes, the token signs.
 * @param sig     receives a DER ECDSA-Sig-Value (SEQUENCE { r, s })
 * @param sig_len in: capacity of @p sig; out: its length (at most MIC_SIG_MAX)
 * @retval MIC_ERR_INVALID_ARGUMENT  @p dlen is not 32
 * @retval MIC_ERR_BUFFER_TOO_SMALL  @p *sig_len too small
 * @retval MIC_ERR_CRYPTO            the signature failed (token or OpenSSL)
 */
mic_rc mic_keyprov_sign_digest(mic_keyprov_t *kp, const uint8_t *digest,
    size_t dlen, uint8_t *sig, size_t *sig_len);

#ifdef __cplusplus
}
#endif
#endif
