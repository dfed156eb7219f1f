/*
 * libmic: the secure channel, GlobalPlatform SCP11 (Card Specification
 * v2.3 Amendment F) with X.509 certificates, then SCP03-style AES secure
 * messaging (Amendment D) on every APDU of the mic_tx_t.
 *
 *   SCP11b  the card proves it holds the private key of PK.SD.ECKA; the
 *           terminal stays anonymous. For reading.
 *   SCP11a  mutual: the terminal also sends its certificate chain (its
 *           role is in the leaf) and proves it holds the leaf's key.
 *
 * Opening a channel installs a secure messaging layer in the mic_tx_t
 * (mic_tx_set_sm()): from then on every mic_tx_transmit() is protected with
 * C-MAC, C-DECRYPTION, R-MAC and R-ENCRYPTION, transparently. If the
 * channel ends (a response fails its MAC, the card is reset, the card drops
 * it), the mic_tx_t refuses every APDU with MIC_ERR_SM_CLOSED until the
 * caller opens a new channel or calls mic_scp_close() to go on in plain
 * APDUs: nothing ever continues unprotected by surprise.
 *
 * The session keys live only inside the mic_tx_t and are wiped when the
 * channel ends, when it is closed, and by mic_tx_free().
 *
 * Suite: ECDH on P-256, X9.63 KDF with SHA-256, AES-128 (card-profile 4.1).
 * The wire format, byte by byte, is in docs/secure-messaging.md.
 */
#ifndef MIC_SCP_H
#define MIC_SCP_H

#include <stdint.h>

#include <mic/err.h>
#include <mic/tx.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * OpenSSL's EVP_PKEY and STACK_OF(X509), declared so that this header needs
 * no OpenSSL headers (as <mic/keyprov.h>): pass an EVP_PKEY * and a
 * STACK_OF(X509) * as they are.
 */
struct evp_pkey_st;
struct stack_st_X509;

/** Key identifiers of the card's SCP11 keys (Amd F 7.1.1). */
#define MIC_SCP11A_KID 0x11
#define MIC_SCP11B_KID 0x13

/** A key reference on the card: key version number and key identifier. */
typedef struct mic_scp_keyref {
	uint8_t kvn;
	uint8_t kid;
} mic_scp_keyref;

/**
 * Open an SCP11b channel: INTERNAL AUTHENTICATE 80 88 @p kvn 13 with a
 * fresh ephemeral key, then check the card's receipt.
 *
 * @p pk_sd_ecka is the card's static key agreement key. It authenticates the
 * card only if the caller trusts it, i.e. took it from a card certificate
 * verified against the trust store. The caller keeps ownership of it.
 *
 * Any channel already open on @p tx is closed first. The handshake runs in
 * one transaction. If it fails (any error but MIC_ERR_INVALID_ARGUMENT, which
 * changes nothing) after a channel was open or lost on @p tx, @p tx is left
 * lost: every APDU is refused with MIC_ERR_SM_CLOSED until a new channel
 * opens or mic_scp_close(). A failed first open leaves plain APDUs plain.
 * @retval MIC_OK                    every later APDU on @p tx is protected
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL @p tx, or @p pk_sd_ecka not P-256
 * @retval MIC_ERR_SM_AUTH           the receipt did not verify, or the card's
 *                                   ephemeral key is not a valid point: this
 *                                   is not the card that holds the key
 * @retval MIC_ERR_RESPONSE          the card's answer is malformed
 * @retval MIC_RC_SW(sw)             the card refused (e.g. 6A88: no such key)
 * plus the errors of mic_tx_transmit().
 */
mic_rc mic_scp11b_open(mic_tx_t *tx, uint8_t kvn,
    struct evp_pkey_st *pk_sd_ecka);

/**
 * Open an SCP11a channel: PERFORM SECURITY OPERATION 80 2A with each
 * certificate of @p oce_chain (DER, first element first, the terminal's own
 * certificate last; P1 P2 = @p oce->kvn, @p oce->kid, with P2 b8 set while
 * more follow), then MUTUAL AUTHENTICATE 80 82 @p kvn 11, then check the
 * receipt. @p oce names the card's key that verifies the first certificate.
 *
 * @p sk_oce_ecka is the private key of the last certificate. It is used only
 * through EVP_PKEY_derive(), so a key from a provider (a PKCS#11 token, the
 * key provider interface of libmic) works as well as one loaded from a PEM
 * file: mic_keyprov_pkey() gives such a key. The caller keeps ownership of
 * every argument.
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL arguments, an empty chain, keys not
 *                                   P-256, or @p sk_oce_ecka not the key of
 *                                   the last certificate
 * @retval MIC_RC_SW(sw)             the card refused a certificate or the
 *                                   authentication (e.g. 6982, 6A80)
 * plus what mic_scp11b_open() returns.
 */
mic_rc mic_scp11a_open(mic_tx_t *tx, uint8_t kvn,
    struct evp_pkey_st *pk_sd_ecka, const mic_scp_keyref *oce,
    struct evp_pkey_st *sk_oce_ecka, struct stack_st_X509 *oce_chain);

/**
 * Close the channel and wipe its keys; @p tx goes on with plain APDUs. Also
 * acknowledges a channel that ended on its own. NULL-safe.
 */
void mic_scp_close(mic_tx_t *tx);

/** Is a secure channel protecting @p tx right now? */
int mic_scp_is_open(const mic_tx_t *tx);

#ifdef __cplusplus
}
#endif
#endif
