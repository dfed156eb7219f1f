/*
 * The PIN mailer's key (docs/pki.md section 6.1): each transport PIN is
 * stored in the journal as a CMS AuthEnvelopedData (RFC 5083) for one
 * recipient, the PIN mailer's P-256 certificate, by key agreement
 * (KeyAgreeRecipientInfo, ephemeral-static ECDH with the X9.63 KDF over
 * SHA-256, AES-256 key wrap, RFC 5753) and AES-256-GCM. The content is
 * "<card id> <PIN>": a PIN moved to another card's row does not open as
 * that card's, and GCM refuses any changed byte. The line needs only the
 * certificate: a stolen journal or line machine gives no PIN. The print
 * shop, holding the private key, opens them with mic_pin_mailer_unseal()
 * or with 'openssl cms -decrypt'.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <mic/keyprov.h>
#include <mic/perso.h>

#include "internal.h"
#include "mici.h"
#include "perso_int.h"
#include "trust_int.h"

struct mic_pin_mailer {
	X509 *cert;
	mic_keyprov_t *kp;   /* NULL: seal only */
};

/* The sealed text: the card id, a space, the PIN. */
#define CONTENT_MAX (MIC_CARDID_LEN + 1 + MIC_TRANSPORT_PIN_LEN)

static int
pin_ok(const char *pin, size_t n)
{
	size_t i;

	if (n != MIC_TRANSPORT_PIN_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (pin[i] < '0' || pin[i] > '9')
			return 0;
	return 1;
}

static int
card_id_ok(const char *id)
{
	size_t n;

	return id != NULL && (n = strlen(id)) > 0 && n <= MIC_CARDID_LEN &&
	    strchr(id, ' ') == NULL;
}

mic_rc
mici_pin_seal(X509 *cert, const char *card_id, const char *pin, uint8_t **der,
    size_t *der_len)
{
	CMS_ContentInfo *cms = NULL;
	CMS_RecipientInfo *ri;
	EVP_PKEY_CTX *pctx;
	char text[CONTENT_MAX + 1];
	BIO *in = NULL;
	unsigned char *p = NULL;
	int n;
	mic_rc rc = MIC_ERR_CRYPTO;

	*der = NULL;
	*der_len = 0;
	if (cert == NULL || pin == NULL || !pin_ok(pin, strlen(pin)) ||
	    !card_id_ok(card_id))
		return MIC_ERR_INVALID_ARGUMENT;
	n = snprintf(text, sizeof(text), "%s %s", card_id, pin);
	/* A read-only BIO over the stack buffer, wiped below. */
	if (n <= 0 || (size_t)n >= sizeof(text) ||
	    (in = BIO_new_mem_buf(text, n)) == NULL) {
		mici_ossl_debug(__func__, "setup");
		goto out;
	}
	/* AES-GCM makes it an AuthEnvelopedData; the KDF over SHA-256
	 * (dhSinglePass-stdDH-sha256kdf-scheme), not OpenSSL's SHA-1
	 * default, set on the recipient before the final. */
	if ((cms = CMS_encrypt(NULL, NULL, EVP_aes_256_gcm(), CMS_BINARY |
	    CMS_PARTIAL)) == NULL || (ri = CMS_add1_recipient_cert(cms, cert,
	    CMS_KEY_PARAM)) == NULL ||
	    (pctx = CMS_RecipientInfo_get0_pkey_ctx(ri)) == NULL ||
	    EVP_PKEY_CTX_set_ecdh_kdf_md(pctx, EVP_sha256()) <= 0 ||
	    CMS_final(cms, in, NULL, CMS_BINARY) != 1) {
		mici_ossl_debug(__func__, "CMS_encrypt");
		goto out;
	}
	if ((n = i2d_CMS_ContentInfo(cms, &p)) <= 0) {
		mici_ossl_debug(__func__, "i2d_CMS_ContentInfo");
		goto out;
	}
	if ((*der = malloc((size_t)n)) == NULL) {
		rc = MIC_ERR_NOMEM;
		goto out;
	}
	memcpy(*der, p, (size_t)n);
	*der_len = (size_t)n;
	rc = MIC_OK;
out:
	OPENSSL_cleanse(text, sizeof(text));
	OPENSSL_free(p);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return rc;
}

mic_rc
mici_pin_mailer_cert(const char *path, X509 **out)
{
	FILE *fp;
	EVP_PKEY *pub;
	int ok;

	*out = NULL;
	if ((fp = fopen(path, "r")) == NULL) {
		mici_debug("%s: %s: cannot open", __func__, path);
		return MIC_ERR_NOT_FOUND;
	}
	*out = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (*out == NULL) {
		mici_debug("%s: %s: no PEM certificate", __func__, path);
		return MIC_ERR_CERT_FORMAT;
	}
	/* A P-256 key that may agree keys: anything else cannot be a
	 * KeyAgreeRecipientInfo recipient of this profile. */
	pub = X509_get0_pubkey(*out);
	ok = pub != NULL && EVP_PKEY_is_a(pub, "EC") &&
	    EVP_PKEY_get_bits(pub) == 256 &&
	    (X509_get_key_usage(*out) & KU_KEY_AGREEMENT) != 0;
	if (!ok) {
		mici_debug("%s: %s: not a P-256 key-agreement certificate",
		    __func__, path);
		X509_free(*out);
		*out = NULL;
		return MIC_ERR_CERT_PURPOSE;
	}
	return MIC_OK;
}

mic_rc
mic_pin_mailer_open(mic_pin_mailer_t **out, const char *cert_path,
    const char *key_uri)
{
	mic_pin_mailer_t *pm;
	mic_rc rc;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || cert_path == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if ((pm = calloc(1, sizeof(*pm))) == NULL)
		return MIC_ERR_NOMEM;
	if ((rc = mici_pin_mailer_cert(cert_path, &pm->cert)) != MIC_OK)
		goto fail;
	if (key_uri != NULL) {
		if ((rc = mic_keyprov_open(&pm->kp, key_uri)) != MIC_OK)
			goto fail;
		if (X509_check_private_key(pm->cert,
		    mic_keyprov_pkey(pm->kp)) != 1) {
			mici_debug("%s: the key is not the certificate's",
			    __func__);
			rc = MIC_ERR_MISMATCH;
			goto fail;
		}
	}
	*out = pm;
	return MIC_OK;
fail:
	mic_pin_mailer_free(&pm);
	return rc;
}

void
mic_pin_mailer_free(mic_pin_mailer_t **pmp)
{
	mic_pin_mailer_t *pm;

	if (pmp == NULL || (pm = *pmp) == NULL)
		return;
	X509_free(pm->cert);
	mic_keyprov_free(&pm->kp);
	free(pm);
	*pmp = NULL;
}

mic_rc
mic_pin_mailer_seal(mic_pin_mailer_t *pm, const char *card_id,
    const char *pin, uint8_t **cms, size_t *cms_len)
{
	if (cms != NULL)
		*cms = NULL;
	if (pm == NULL || pin == NULL || cms == NULL || cms_len == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	return mici_pin_seal(pm->cert, card_id, pin, cms, cms_len);
}

mic_rc
mic_pin_mailer_unseal(mic_pin_mailer_t *pm, const uint8_t *der, size_t len,
    const char *card_id, char pin[MIC_TRANSPORT_PIN_LEN + 1])
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = NULL;
	BIO *out = NULL;
	char buf[CONTENT_MAX + 2];
	size_t idlen;
	int n;
	mic_rc rc = MIC_ERR_CRYPTO;

	if (pin != NULL)
		memset(pin, 0, MIC_TRANSPORT_PIN_LEN + 1);
	if (pm == NULL || der == NULL || pin == NULL || len == 0 ||
	    len > MIC_PIN_CMS_MAX || !card_id_ok(card_id))
		return MIC_ERR_INVALID_ARGUMENT;
	if (pm->kp == NULL)
		return MIC_ERR_STATE;
	if ((cms = d2i_CMS_ContentInfo(NULL, &p, (long)len)) == NULL ||
	    p != der + len) {
		mici_ossl_debug(__func__, "not one CMS message");
		rc = MIC_ERR_RESPONSE;
		goto out;
	}
	/* Secure memory: the PIN never sits in an ordinary heap buffer. */
	if ((out = BIO_new(BIO_s_secmem())) == NULL)
		goto out;
	if (CMS_decrypt(cms, mic_keyprov_pkey(pm->kp), pm->cert, NULL, out,
	    CMS_BINARY) != 1) {
		mici_ossl_debug(__func__, "CMS_decrypt");
		goto out;
	}
	n = BIO_read(out, buf, sizeof(buf));
	idlen = strlen(card_id);
	if (n < 0 || (size_t)n != idlen + 1 + MIC_TRANSPORT_PIN_LEN ||
	    buf[idlen] != ' ' || !pin_ok(buf + idlen + 1,
	    MIC_TRANSPORT_PIN_LEN)) {
		mici_debug("%s: not a card id and a transport PIN", __func__);
		rc = MIC_ERR_RESPONSE;
		goto out;
	}
	/* Sealed for another card: moved from another row. */
	if (memcmp(buf, card_id, idlen) != 0) {
		mici_debug("%s: the PIN of another card", __func__);
		rc = MIC_ERR_MISMATCH;
		goto out;
	}
	memcpy(pin, buf + idlen + 1, MIC_TRANSPORT_PIN_LEN);
	pin[MIC_TRANSPORT_PIN_LEN] = '\0';
	rc = MIC_OK;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	BIO_free(out);
	CMS_ContentInfo_free(cms);
	return rc;
}
