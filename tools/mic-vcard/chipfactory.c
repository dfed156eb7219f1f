/* The chip factory of a test PKI: see chipfactory.h. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <mic/keyprov.h>
#include <mic/pki.h>

#include "chipfactory.h"
#include "internal.h"

struct vcf_factory {
	pthread_mutex_t lock;        /* around the issuer's key */
	mic_keyprov_t *ci_kp;        /* the card-certificate issuer */
	uint8_t ci[MIC_CERT_MAX];
	size_t ci_len;
	uint8_t root[MIC_CERT_MAX];
	size_t root_len;
};

/* The DER of the certificate in the PEM file DIR/REL. */
static int
pem_der(const char *dir, const char *rel, uint8_t *out, size_t cap,
    size_t *len)
{
	char path[4096];
	unsigned char *p = out;
	FILE *fp;
	X509 *x = NULL;
	int n = -1;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, rel) >=
	    sizeof(path) || (fp = fopen(path, "r")) == NULL)
		return -1;
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (x != NULL && (n = i2d_X509(x, NULL)) > 0 && (size_t)n <= cap &&
	    i2d_X509(x, &p) == n)
		*len = (size_t)n;
	else
		n = -1;
	X509_free(x);
	return n > 0 ? 0 : -1;
}

int
vcf_new(vcf_factory **out, const char *pki, char *why, size_t cap)
{
	vcf_factory *f;
	mic_rc rc;

	*out = NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		mici_why(why, cap, "out of memory");
		return -1;
	}
	if (pthread_mutex_init(&f->lock, NULL) != 0) {
		free(f);
		mici_why(why, cap, "out of memory");
		return -1;
	}
	if (pem_der(pki, "trust/roots/root.pem", f->root, sizeof(f->root),
	    &f->root_len) != 0) {
		mici_why(why, cap, "%s/trust/roots/root.pem: no root "
		    "certificate (make DIR with 'mic pki init')", pki);
		goto fail;
	}
	if ((rc = mic_pki_load(pki, MIC_CERT_CARD_ISSUER, NULL, NULL, NULL,
	    NULL, &f->ci_kp, f->ci, sizeof(f->ci), &f->ci_len)) != MIC_OK) {
		mici_why(why, cap, "%s: the card-certificate issuer: %s", pki,
		    mic_strerror(rc));
		goto fail;
	}
	*out = f;
	return 0;
fail:
	vcf_free(&f);
	return -1;
}

void
vcf_free(vcf_factory **fp)
{
	vcf_factory *f;

	if (fp == NULL || (f = *fp) == NULL)
		return;
	*fp = NULL;
	mic_keyprov_free(&f->ci_kp);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

/* PK.SD.ECKA as a SubjectPublicKeyInfo, by OpenSSL. */
static int
point_spki(const uint8_t pub[65], uint8_t *out, size_t cap, size_t *len)
{
	char group[] = "prime256v1";
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *k = NULL;
	unsigned char *p = out;
	int n = -1;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)pub, 65);
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) != NULL &&
	    EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) == 1 &&
	    (n = i2d_PUBKEY(k, NULL)) > 0 && (size_t)n <= cap &&
	    i2d_PUBKEY(k, &p) == n)
		*len = (size_t)n;
	else
		n = -1;
	EVP_PKEY_free(k);
	EVP_PKEY_CTX_free(ctx);
	return n > 0 ? 0 : -1;
}

int
vcf_card(vcf_factory *f, vc_card *card, uint8_t pub_out[65], char *why,
    size_t cap)
{
	uint8_t pub[65], chip[VC_CHIP_SERIAL_LEN], spki[128];
	uint8_t cert[MIC_CERT_MAX];
	char hex[2 * VC_CHIP_SERIAL_LEN + 1];
	mic_cert_params prm;
	size_t slen = 0, clen = 0;
	mic_rc rc;

	if ((rc = vc_card_factory_key(card, pub)) != MIC_OK) {
		mici_why(why, cap, "the card did not generate its key: %s",
		    mic_strerror(rc));
		return -1;
	}
	if (point_spki(pub, spki, sizeof(spki), &slen) != 0) {
		mici_why(why, cap, "PK.SD.ECKA does not encode");
		return -1;
	}
	vc_card_chip_serial(card, chip);
	for (size_t i = 0; i < sizeof(chip); i++)
		snprintf(hex + 2 * i, 3, "%02X", chip[i]);
	/* No card identification code yet: the chip serial names the chip. */
	memset(&prm, 0, sizeof(prm));
	prm.kind = MIC_CERT_CARD;
	prm.common_name = "MIC chip SD.ECKA";
	prm.serial_number = hex;
	pthread_mutex_lock(&f->lock);
	rc = mic_cert_issue(&prm, spki, slen, f->ci, f->ci_len, f->ci_kp,
	    cert, sizeof(cert), &clen);
	pthread_mutex_unlock(&f->lock);
	if (rc != MIC_OK) {
		mici_why(why, cap, "CERT.SD.ECKA: %s", mic_strerror(rc));
		return -1;
	}
	if ((rc = vc_card_factory_finish(card, cert, clen, f->root,
	    f->root_len, (int64_t)time(NULL))) != MIC_OK) {
		mici_why(why, cap, "the card refused its factory data: %s",
		    mic_strerror(rc));
		return -1;
	}
	if (pub_out != NULL)
		memcpy(pub_out, pub, sizeof(pub));
	return 0;
}
