/*
 * Chip authentication internals (cardauth.c) that personalization shares:
 * the bureau checks a blank chip's factory certificate as a terminal
 * checks a card's. Not installed.
 */
#ifndef MIC_CARDAUTH_INT_H
#define MIC_CARDAUTH_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include <mic/sod.h>
#include <mic/tx.h>

/**
 * GET DATA BF21 and CERT.SD.ECKA parsed from it (not verified), into
 * @p *out, which the caller frees. @p buf (@p cap bytes) takes the answer.
 * @retval MIC_ERR_RESPONSE  not exactly one BF21
 * plus the errors of mic_tx_command() and mici_x509_parse().
 */
mic_rc mici_chipcert_get(mic_tx_t *tx, uint8_t *buf, size_t cap, X509 **out);

/**
 * Does CERT.SD.ECKA @p x name the chip @p serial: exactly one subject
 * serialNumber, a PrintableString of the serial's 16 upper-case hex digits
 * (docs/card-profile.md 4.4)?
 * @retval MIC_ERR_CERT_SUBJECT  it names another chip, or names it otherwise
 */
mic_rc mici_chipcert_serial_check(X509 *x,
    const uint8_t serial[MIC_CHIP_SERIAL_LEN]);

#endif
