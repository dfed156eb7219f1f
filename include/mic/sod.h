/*
 * libmic: passive authentication (docs/card-profile.md sections 2.4, 2.5),
 * in the pattern of ICAO 9303 part 10 and 11.
 *
 * EF.SOD holds a DER CMS SignedData whose content, of type
 * id-mic-securityObject, is
 *
 *   MICSecurityObject ::= SEQUENCE {
 *       version        INTEGER (0),
 *       hashAlgorithm  AlgorithmIdentifier,      -- id-sha256 or id-sm3
 *       fileHashes     SEQUENCE OF SEQUENCE {
 *           sfi        INTEGER (1..30),
 *           hash       OCTET STRING },           -- whole file, padding included
 *       chipSerial     OCTET STRING (SIZE (8)) }
 *
 * signed by a document signer. A terminal that read the files checks the
 * signature, the signer's chain to its trust store, the signer's purpose,
 * the chip serial (from SELECT's FCI) and every file's hash. Each way this
 * can fail has its own mic_rc.
 *
 * EF.CERT holds the card's certificate over the key the card generated; the
 * card-certificate issuer issues it during personalization.
 */
#ifndef MIC_SOD_H
#define MIC_SOD_H

#include <stddef.h>
#include <stdint.h>

#include <mic/err.h>
#include <mic/keyprov.h>
#include <mic/pki.h>

#ifdef __cplusplus
extern "C" {
#endif

/** EF.SOD's size: a security object never exceeds it. */
#define MIC_SOD_MAX 2048
/** The chip serial's size (FCI tag 81 under A5). */
#define MIC_CHIP_SERIAL_LEN 8

/** SFIs of the files the security object shall cover (profile 2.4). */
#define MIC_SOD_SFI_CARD 1
#define MIC_SOD_SFI_HOLDER 2
#define MIC_SOD_SFI_INSURANCE 3
#define MIC_SOD_SFI_CERT 5

/** One file's whole content as read, padding included. */
typedef struct mic_sod_file {
	uint8_t sfi;
	const uint8_t *data;
	size_t len;
} mic_sod_file;

/**
 * Build EF.SOD: hash @p files (which shall include SFIs 1, 2, 3 and 5), bind
 * them to @p chip_serial, and sign with the document signer's key @p ds_key
 * and certificate @p ds_cert (DER), which goes into the SignedData. The
 * digest follows the key's suite (SHA-256 or SM3).
 * @retval MIC_ERR_INVALID_ARGUMENT  an SFI outside 1..30 or repeated, or a
 *                                   required file missing
 * @retval MIC_ERR_CERT_FORMAT       @p ds_cert does not parse
 * @retval MIC_ERR_CERT_PURPOSE      @p ds_cert is not @p ds_key's
 * @retval MIC_ERR_BUFFER_TOO_SMALL  more than @p cap bytes
 * @retval MIC_ERR_CRYPTO            signing failed
 */
mic_rc mic_sod_build(mic_keyprov_t *ds_key, const uint8_t *ds_cert,
    size_t ds_cert_len, const mic_sod_file *files, size_t nfiles,
    const uint8_t chip_serial[MIC_CHIP_SERIAL_LEN], uint8_t *out, size_t cap,
    size_t *len);

/**
 * Passive authentication. @p sod is EF.SOD as read (trailing padding is
 * ignored); @p files are the files the terminal read, each of which the
 * security object shall cover; @p chip_serial is the chip serial from
 * SELECT's FCI. The checks run in this order, and the first failure is
 * returned:
 * @retval MIC_ERR_SOD_FORMAT       not a DER CMS SignedData of content type
 *                                  id-mic-securityObject with one signer and
 *                                  its certificate; a malformed
 *                                  MICSecurityObject; a required file not covered
 * @retval MIC_ERR_SOD_SIGNATURE    the signature (or the message digest) does not verify
 * @retval MIC_ERR_CERT_UNTRUSTED   the signer does not chain to a root of @p trust
 * @retval MIC_ERR_CERT_CHAIN       its chain is broken
 * @retval MIC_ERR_CERT_EXPIRED     the signer or a CA above it is out of date
 * @retval MIC_ERR_CERT_PURPOSE     the signer is not a document signer
 * @retval MIC_ERR_SOD_CHIP         the object was made for another chip
 * @retval MIC_ERR_SOD_NOT_COVERED  a file in @p files is not covered
 * @retval MIC_ERR_SOD_HASH         a file differs from what was signed
 */
mic_rc mic_sod_verify(const mic_trust_t *trust, const uint8_t *sod,
    size_t sod_len, const mic_sod_file *files, size_t nfiles,
    const uint8_t chip_serial[MIC_CHIP_SERIAL_LEN]);

/**
 * Issue the card certificate (profile 2.5) over the public key the card
 * returned to GENERATE ASYMMETRIC KEY PAIR, @p gen_rsp = 7F49 { 86 point }
 * (uncompressed point on the issuer's curve), with subject serialNumber
 * @p cic (the card identification code, an32), signed through the card
 * issuer's key provider. @p not_before and @p not_after are seconds since
 * the epoch (0: now, and now + 10 years); they should span the card's
 * validity.
 * @retval MIC_ERR_RESPONSE          @p gen_rsp is not a well-formed 7F49
 * @retval MIC_ERR_CERT_FORMAT       the point is not on the curve
 * @retval MIC_ERR_INVALID_ARGUMENT  @p cic is not 32 printable characters
 * plus the errors of mic_cert_issue().
 */
mic_rc mic_cardcert_issue(mic_keyprov_t *issuer_key,
    const uint8_t *issuer_cert, size_t issuer_len, const uint8_t *gen_rsp,
    size_t gen_len, const char *cic, int64_t not_before, int64_t not_after,
    uint8_t *out, size_t cap, size_t *len);

/**
 * Does the card's public key @p gen_rsp (7F49 { 86 point }, as GENERATE
 * ASYMMETRIC KEY PAIR returns it) match the certificate @p cert (EF.CERT;
 * trailing padding ignored)?
 * @retval MIC_OK                     it does
 * @retval MIC_ERR_CARD_KEY_MISMATCH  it does not
 * @retval MIC_ERR_RESPONSE           @p gen_rsp is malformed
 * @retval MIC_ERR_CERT_FORMAT        @p cert does not parse
 */
mic_rc mic_cardcert_check_key(const uint8_t *cert, size_t cert_len,
    const uint8_t *gen_rsp, size_t gen_len);

/**
 * Verify a card certificate (EF.CERT, padding ignored): its chain through
 * the card-certificate issuer, its purpose, and, if @p cic is not NULL,
 * that its subject serialNumber is @p cic.
 * @retval MIC_ERR_CERT_SUBJECT  the certificate names another card
 * plus the errors of mic_cert_verify().
 */
mic_rc mic_cardcert_verify(const mic_trust_t *trust, const uint8_t *cert,
    size_t cert_len, const char *cic);

#ifdef __cplusplus
}
#endif
#endif
