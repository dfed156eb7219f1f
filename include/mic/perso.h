/*
 * libmic: personalization of one card by the card bureau
 * (docs/issuance.md, docs/card-profile.md sections 2, 3.8, 3.9 and 4).
 *
 * A mic_perso_cfg_t holds what the bureau needs from its PKI directory
 * (made by `mic pki init` or mic_pki_init()): its terminal's key and chain
 * for SCP11a, the card-certificate issuer, the document signer and the
 * trust store. mic_perso_card() then turns one blank card into a
 * personalized one for one application:
 *
 *   1. SELECT; the card shall be blank.
 *   2. GET DATA BF21: the card's factory certificate CERT.SD.ECKA is
 *      verified against the trust store before anything is written.
 *   3. SCP11a as the bureau; GENERATE ASYMMETRIC KEY PAIR.
 *   4. EF.CARD, EF.HOLDER, EF.INSURANCE from the application; EF.CERT, the
 *      card certificate over the generated key; EF.SOD over the four files
 *      as the card will hold them (zero padded) and the chip serial; a
 *      random 6-digit transport PIN. One STORE DATA block per DGI, the
 *      transport PIN (DGI 8010) last.
 *   5. Read back and verify before the card counts as issued: SELECT
 *      again, the card shall be personalized; the five files read in plain
 *      shall be the bytes written; passive authentication (mic_sod_verify);
 *      the card certificate's chain and subject (mic_cardcert_verify) and
 *      its key against the generated one (mic_cardcert_check_key); an
 *      SCP11b session shall open.
 *
 * The card identification code (profile 2.1.1) is built from the issuer
 * region (by default the application's pooling region: the agency of the
 * pooling region issues the card), the bureau code and the caller's serial
 * within the bureau. The printed card number is "A" and the serial's last
 * eight digits.
 *
 * Neither object is thread-safe; a cfg may be shared by readers that use
 * it one at a time (key providers on a PKCS#11 module want one thread at a
 * time anyway).
 */
#ifndef MIC_PERSO_H
#define MIC_PERSO_H

#include <stddef.h>
#include <stdint.h>

#include <mic/batch.h>
#include <mic/err.h>
#include <mic/keyprov.h>
#include <mic/profile.h>
#include <mic/tx.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Digits of the transport PIN. */
#define MIC_TRANSPORT_PIN_LEN 6
/** Default validity of a card, in years. */
#define MIC_PERSO_YEARS_DEFAULT 10
/** Largest serial within a bureau (ten digits). */
#define MIC_PERSO_SERIAL_MAX 9999999999ull

typedef struct mic_perso_cfg mic_perso_cfg_t;
typedef struct mic_perso_result mic_perso_result_t;

/**
 * Load the bureau's configuration from the PKI directory @p pki_dir: the
 * terminal @p bureau_terminal_name (a terminal of role bureau, e.g.
 * "bureau"), its issuer CA's certificate (DIR/issuer/cert.pem) for the
 * SCP11a chain, the card-certificate issuer and the document signer (key
 * and certificate, through mic_pki_load(); PKCS#11 keys share one module),
 * and the trust store DIR/trust. Bureau code "000", issue date today,
 * validity MIC_PERSO_YEARS_DEFAULT years. Token PINs come from the key
 * URI's pin-source or MIC_PKCS11_PIN (there is no prompt here).
 * @retval MIC_OK
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL @p cfg, @p pki_dir or name
 * @retval MIC_ERR_NOMEM
 * @retval MIC_ERR_CERT_PURPOSE      the terminal is not a bureau terminal
 * @retval MIC_ERR_CERT_FORMAT       a certificate does not parse
 * plus the errors of mic_pki_load() and mic_trust_load().
 */
mic_rc mic_perso_cfg_load(mic_perso_cfg_t **cfg, const char *pki_dir,
    const char *bureau_terminal_name);

/**
 * The card bureau code, three digits (profile 2.1.1).
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL
 * @retval MIC_ERR_FORMAT            not exactly three digits
 */
mic_rc mic_perso_cfg_set_bureau_code(mic_perso_cfg_t *cfg, const char *code);

/**
 * The issue date "YYYYMMDD" (EF.CARD 5F25); the expiry is the same day
 * the validity's years later (29 February becomes 28).
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL
 * @retval MIC_ERR_DATE              not a real date
 */
mic_rc mic_perso_cfg_set_issue_date(mic_perso_cfg_t *cfg, const char *date);

/**
 * The card's validity in years, 1-30.
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL, or out of range
 */
mic_rc mic_perso_cfg_set_validity_years(mic_perso_cfg_t *cfg, unsigned years);

/**
 * The issuer region (EF.CARD 42 and the card identification code's first
 * six characters), a GB/T 2260 code; NULL goes back to the default, the
 * application's pooling region.
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL @p cfg
 * @retval MIC_ERR_CODE              not a region code
 */
mic_rc mic_perso_cfg_set_issuer(mic_perso_cfg_t *cfg, const char *region);

/** Free the keys, certificates and trust store; sets @p *cfg to NULL. NULL-safe. */
void mic_perso_cfg_free(mic_perso_cfg_t **cfg);

/**
 * Personalize the blank card behind @p tx for @p app, with the serial
 * within the bureau @p bureau_serial, and verify it (see the file comment).
 * The whole operation runs in one transaction of @p tx. On failure
 * @p *out is NULL, no secure channel is left open, and the card is either
 * still blank or must be voided (a failure after the last STORE DATA); the
 * caller records the chip serial it read before, as docs/issuance.md asks.
 * @retval MIC_OK                    @p *out holds the result
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL argument, or a serial over
 *                                   MIC_PERSO_SERIAL_MAX
 * @retval MIC_SW_CONDITIONS         the card is not blank (what the card
 *                                   itself answers to STORE DATA then)
 * @retval MIC_ERR_CERT_UNTRUSTED    the factory certificate does not chain to
 *                                   the trust store (nothing was written)
 * @retval MIC_ERR_CERT_CHAIN, MIC_ERR_CERT_EXPIRED, MIC_ERR_CERT_PURPOSE
 *                                   likewise, for the factory certificate
 * @retval MIC_ERR_RESPONSE          a malformed answer (FCI, BF21, 7F49, a file)
 * @retval MIC_ERR_STATE             a secure channel is open on @p tx at the
 *                                   call; or the card is not personalized
 *                                   after the last STORE DATA
 * @retval MIC_ERR_MISMATCH          a file read back differs from what was
 *                                   written
 * @retval MIC_ERR_CARD_KEY_MISMATCH EF.CERT does not hold the generated key
 * @retval MIC_RC_SW(sw)             the card refused a command
 * plus the errors of the profile encoders (a bad application),
 * mic_cardid_build(), mic_scp11a_open(), mic_scp11b_open(),
 * mic_cardcert_issue(), mic_sod_build(), mic_sod_verify(),
 * mic_cardcert_verify() and mic_tx_transmit().
 */
mic_rc mic_perso_card(mic_perso_cfg_t *cfg, mic_tx_t *tx,
    const mic_application_t *app, uint64_t bureau_serial,
    mic_perso_result_t **out);

/** Wipe (the transport PIN) and free; sets @p *res to NULL. NULL-safe. */
void mic_perso_result_free(mic_perso_result_t **res);

/** The 8-byte chip serial. */
const uint8_t *mic_perso_result_chip_serial(const mic_perso_result_t *res);
/** The card identification code, 32 characters. */
const char *mic_perso_result_card_id(const mic_perso_result_t *res);
/** The printed card number, 9 characters. */
const char *mic_perso_result_card_number(const mic_perso_result_t *res);
/**
 * The transport PIN, MIC_TRANSPORT_PIN_LEN digits, for the PIN mailer.
 * Sensitive: valid until mic_perso_result_free(), which wipes it.
 */
const char *mic_perso_result_transport_pin(const mic_perso_result_t *res);
/** APDUs exchanged with the card for this card (mic_tx_get_stats()). */
uint64_t mic_perso_result_apdus(const mic_perso_result_t *res);
/** Bytes sent plus bytes received for this card. */
uint64_t mic_perso_result_bytes(const mic_perso_result_t *res);

#ifdef __cplusplus
}
#endif
#endif
