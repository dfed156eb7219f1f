/*
 * Fuzz passive authentication: EF.SOD and EF.CERT come from the card, so
 * every byte of them is hostile. Each input goes, as it is, through
 *   - mic_sod_verify() against a fixed trust store and fixed card files,
 *   - the MICSecurityObject parser alone,
 *   - the card-certificate checks (key match, chain and code, role).
 * The seeds (corpus/sod, made by gen_sod_seeds.sh) include a genuine
 * security object for exactly these files, so mutations start from a
 * structure that passes every check.
 *
 * Invariant: every function returns one of the codes its documentation
 * lists; anything else is a bug and aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mic/sod.h>

#include "trust_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Root, issuer CA and card issuer of the PKI that signed the seeds. */
static const char trust_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIByDCCAW6gAwIBAgIQb9wUl/BwfteZwx6jAuRiNTAKBggqhkjOPQQDAjAxMQsw\n"
	"CQYDVQQGEwJDTjEMMAoGA1UECgwDTUlDMRQwEgYDVQQDDAtNSUMgUm9vdCBDQTAg\n"
	"Fw0yNjExMjMxNDIxMThaGA8yMDUxMTEyMzE0MjExOFowMTELMAkGA1UEBhMCQ04x\n"
	"DDAKBgNVBAoMA01JQzEUMBIGA1UEAwwLTUlDIFJvb3QgQ0EwWTATBgcqhkjOPQIB\n"
	"BggqhkjOPQMBBwNCAAQ86CDOdoYpUlEepwYoNEGLR+5xGUhrAkNGG4API+kADvrS\n"
	"3a8PrB/VnvvYc1te4uC6XButPYb1MirwpPJO84iGo2YwZDASBgNVHRMBAf8ECDAG\n"
	"AQH/AgECMA4GA1UdDwEB/wQEAwIBBjAdBgNVHQ4EFgQUkSqn7e41BmLdxKfgkqOn\n"
	"b80rDe0wHwYDVR0jBBgwFoAUkSqn7e41BmLdxKfgkqOnb80rDe0wCgYIKoZIzj0E\n"
	"AwIDSAAwRQIhAJgCDDBRgxcnSL2ZUv9t/jahmO7RWA5fCXny3xs0AtLLAiB3p2MR\n"
	"zDiBCTiajQ0KPRi8wpchcZKBUj0FIUIPczD8ug==\n"
	"-----END CERTIFICATE-----\n"
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBxzCCAW6gAwIBAgIQXcSvvNjbbR+otNji+BikNTAKBggqhkjOPQQDAjAxMQsw\n"
	"CQYDVQQGEwJDTjEMMAoGA1UECgwDTUlDMRQwEgYDVQQDDAtNSUMgUm9vdCBDQTAe\n"
	"Fw0yNjExMjMxNDIxMThaFw00MTExMjMxNDIxMThaMDMxCzAJBgNVBAYTAkNOMQww\n"
	"CgYDVQQKDANNSUMxFjAUBgNVBAMMDU1JQyBJc3N1ZXIgQ0EwWTATBgcqhkjOPQIB\n"
	"BggqhkjOPQMBBwNCAAS9pm+HTuJ2VLbGrGGM4qbwJib1LolDjoJbahNKrh/92qtf\n"
	"G3j3Cz9i3QtwOMwMgFNtJ2xI6Mvi8kyJAdzmrgguo2YwZDASBgNVHRMBAf8ECDAG\n"
	"AQH/AgEBMA4GA1UdDwEB/wQEAwIBBjAdBgNVHQ4EFgQU7Z8aOtrCvIL076eL/bjq\n"
	"mz33aw4wHwYDVR0jBBgwFoAUkSqn7e41BmLdxKfgkqOnb80rDe0wCgYIKoZIzj0E\n"
	"AwIDRwAwRAIgdwl76ZtdEpQG9XLN+a3ojWSjeSs8yZEANHGXBYxRJvgCICqGtik6\n"
	"BurVMFHD5LjdBZozrOKHv91C4POfH/ThyYCr\n"
	"-----END CERTIFICATE-----\n"
	"-----BEGIN CERTIFICATE-----\n"
	"MIIB/DCCAaOgAwIBAgIQapUyqHRZVJ+2LIKj7k9avzAKBggqhkjOPQQDAjAzMQsw\n"
	"CQYDVQQGEwJDTjEMMAoGA1UECgwDTUlDMRYwFAYDVQQDDA1NSUMgSXNzdWVyIENB\n"
	"MB4XDTI2MTEyMzE0MjExOFoXDTQxMTEyMzE0MjExOFowQTELMAkGA1UEBhMCQ04x\n"
	"DDAKBgNVBAoMA01JQzEkMCIGA1UEAwwbTUlDIENhcmQgQ2VydGlmaWNhdGUgSXNz\n"
	"dWVyMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEDCW7/QOnx42uGTARm1uiLhNY\n"
	"uH06ldoEG+6rBxgIX7UxwmmxylEUR+g4x5Nq/NbhgmpOfGOK/S5TBvrzyuBApaOB\n"
	"ijCBhzASBgNVHRMBAf8ECDAGAQH/AgEAMA4GA1UdDwEB/wQEAwIBBjAdBgNVHQ4E\n"
	"FgQUMiR0lLOc9TW+tXUi94Xre9pPGAowHwYDVR0jBBgwFoAU7Z8aOtrCvIL076eL\n"
	"/bjqmz33aw4wIQYDVR0lBBowGAYWaYOquqGsi+aqtMe459Cnv+64mkADAzAKBggq\n"
	"hkjOPQQDAgNHADBEAiBOGLwKDl12n7g+vu5xeWziZClNnLrMwyWWHwbbor7p2wIg\n"
	"VHXZ9KMYtKU0tVFVeVfQZpblxnk1tRuJMYQc3cUNBkI=\n"
	"-----END CERTIFICATE-----\n";

/* When the seeds were made: inside every certificate's validity. */
#define VERIFY_AT 1795530079LL

/* The card key the card-cert seed was issued over, as 7F49 { 86 point }. */
static const uint8_t card_gen[] = {
	0x7F, 0x49, 0x43, 0x86, 0x41, 0x04, 0x5A, 0x7F, 0x38, 0xB1, 0xDD, 0x98,
	0x0B, 0x36, 0xD1, 0xA2, 0x3C, 0xE5, 0xC7, 0x2B, 0xC1, 0x45, 0xFE, 0xE5,
	0xF8, 0x0F, 0xFC, 0x07, 0xE5, 0xDF, 0xAC, 0xF9, 0x2B, 0xEA, 0x08, 0x5A,
	0x93, 0x5F, 0xE0, 0xB5, 0xC3, 0xD4, 0xB6, 0xAC, 0x31, 0x9E, 0xE7, 0x81,
	0x90, 0x5D, 0x5A, 0x6E, 0x9A, 0x51, 0x9E, 0x4C, 0xE4, 0x69, 0x4C, 0x68,
	0x50, 0x89, 0x66, 0xD2, 0xD6, 0xAA, 0x18, 0x11, 0xA1, 0xAA,
};

static const uint8_t chip[MIC_CHIP_SERIAL_LEN] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
};

#define CIC "110100D1560000011100010000000001"

/* Byte k of the file with SFI s is (s * 37 + k * 13) mod 256. */
static void
pattern(uint8_t *buf, size_t len, uint8_t sfi)
{
	size_t k;

	for (k = 0; k < len; k++)
		buf[k] = (uint8_t)((sfi * 37 + k * 13) % 256);
}

static int
one_of(mic_rc rc, const mic_rc *ok, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (rc == ok[i])
			return 1;
	}
	return rc == MIC_ERR_NOMEM;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const mic_rc sod_ok[] = {
		MIC_OK, MIC_ERR_SOD_FORMAT, MIC_ERR_SOD_SIGNATURE,
		MIC_ERR_CERT_UNTRUSTED, MIC_ERR_CERT_CHAIN,
		MIC_ERR_CERT_EXPIRED, MIC_ERR_CERT_PURPOSE, MIC_ERR_SOD_CHIP,
		MIC_ERR_SOD_NOT_COVERED, MIC_ERR_SOD_HASH,
	};
	static const mic_rc cert_ok[] = {
		MIC_OK, MIC_ERR_CERT_FORMAT, MIC_ERR_CERT_UNTRUSTED,
		MIC_ERR_CERT_CHAIN, MIC_ERR_CERT_EXPIRED, MIC_ERR_CERT_PURPOSE,
		MIC_ERR_CERT_SUBJECT, MIC_ERR_CARD_KEY_MISMATCH,
		MIC_ERR_NOT_FOUND,
	};
	uint8_t f1[128], f2[160], f3[64], f5[1024];
	mic_sod_file files[4] = {
		{ 1, f1, sizeof(f1) }, { 2, f2, sizeof(f2) },
		{ 3, f3, sizeof(f3) }, { 5, f5, sizeof(f5) },
	};
	mici_sod_content c;
	mic_trust_t *t = NULL;
	mic_role role;
	mic_rc rc;

	pattern(f1, sizeof(f1), 1);
	pattern(f2, sizeof(f2), 2);
	pattern(f3, sizeof(f3), 3);
	pattern(f5, sizeof(f5), 5);
	/* Built per input: no state survives from one input to the next. */
	if (mic_trust_new(&t) != MIC_OK)
		return 0;
	/* The first certificate of the bundle is the root. */
	{
		const char *second = strstr(trust_pem + 1, "-----BEGIN");

		if (second == NULL ||
		    mic_trust_add(t, (const uint8_t *)trust_pem,
		    (size_t)(second - trust_pem), 1) != MIC_OK ||
		    mic_trust_add(t, (const uint8_t *)second,
		    strlen(second), 0) != MIC_OK)
			abort();
	}
	mic_trust_set_time(t, VERIFY_AT);

	rc = mic_sod_verify(t, data, size, files, 4, chip);
	if (!one_of(rc, sod_ok, sizeof(sod_ok) / sizeof(sod_ok[0])))
		abort();

	rc = mici_sod_content_parse(data, size, &c);
	if (rc != MIC_OK && rc != MIC_ERR_SOD_FORMAT)
		abort();
	if (rc == MIC_OK && (c.nfiles < 4 || c.nfiles > 30 ||
	    c.chip_serial < data || c.chip_serial + 8 > data + size))
		abort();

	rc = mic_cardcert_check_key(data, size, card_gen, sizeof(card_gen));
	if (!one_of(rc, cert_ok, sizeof(cert_ok) / sizeof(cert_ok[0])))
		abort();
	rc = mic_cardcert_verify(t, data, size, CIC);
	if (!one_of(rc, cert_ok, sizeof(cert_ok) / sizeof(cert_ok[0])))
		abort();
	rc = mic_cert_role(data, size, &role);
	if (!one_of(rc, cert_ok, sizeof(cert_ok) / sizeof(cert_ok[0])))
		abort();
	if (rc == MIC_OK && (role < MIC_ROLE_HOSPITAL || role > MIC_ROLE_BUREAU))
		abort();
	/* The input as a GENERATE response: refused, or it gets as far as the
	 * (empty) certificate. */
	rc = mic_cardcert_check_key(card_gen, 0, data, size);
	if (rc != MIC_ERR_RESPONSE && rc != MIC_ERR_CERT_FORMAT)
		abort();

	mic_trust_free(&t);
	return 0;
}
