/*
 * Fuzz the sealed-PIN reader: the input is a journal's `pin.cms` value
 * (DER CMS EnvelopedData), opened with a PIN mailer key made once per
 * process. It must be refused, or give exactly MIC_TRANSPORT_PIN_LEN
 * digits; never a crash, a leak or a half-written PIN.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mic/perso.h>
#include <mic/pki.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CARD_ID "320100D1560000011100000000000001"

static mic_pin_mailer_t *pm;

static void
setup(void)
{
	char dir[] = "/tmp/fuzz_pin_XXXXXX", cert[64], key[80];
	char pin[MIC_TRANSPORT_PIN_LEN + 1];
	uint8_t *cms = NULL;
	size_t len = 0;

	if (mkdtemp(dir) == NULL || mic_pki_pin_mailer(dir, 0) != MIC_OK)
		abort();
	snprintf(cert, sizeof(cert), "%s/pin-mailer/cert.pem", dir);
	snprintf(key, sizeof(key), "file:%s/pin-mailer/key.pem", dir);
	if (mic_pin_mailer_open(&pm, cert, key) != MIC_OK)
		abort();
	/* The harness itself works: a sealed PIN opens. */
	if (mic_pin_mailer_seal(pm, CARD_ID, "042137", &cms, &len) !=
	    MIC_OK || mic_pin_mailer_unseal(pm, cms, len, CARD_ID, pin) !=
	    MIC_OK ||
	    strcmp(pin, "042137") != 0)
		abort();
	free(cms);
	snprintf(key, sizeof(key), "%s/pin-mailer/key.pem", dir);
	remove(key);
	remove(cert);
	snprintf(key, sizeof(key), "%s/pin-mailer", dir);
	remove(key);
	remove(dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char pin[MIC_TRANSPORT_PIN_LEN + 1];
	size_t i;

	if (pm == NULL)
		setup();
	memset(pin, 'x', sizeof(pin));
	if (mic_pin_mailer_unseal(pm, data, size, CARD_ID, pin) == MIC_OK) {
		for (i = 0; i < MIC_TRANSPORT_PIN_LEN; i++)
			if (pin[i] < '0' || pin[i] > '9')
				abort();
		if (pin[MIC_TRANSPORT_PIN_LEN] != '\0')
			abort();
	} else if (pin[0] != '\0') {
		abort();  /* a refusal leaves no partial PIN */
	}
	return 0;
}
