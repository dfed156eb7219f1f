/*
 * mic-vcard: the terminals of a test PKI, for 'mic-vcard new --pki DIR
 * --sample' (DIR made by 'mic pki init'); the chip factory that gives a
 * card its SCP11 keys first is chipfactory.c.
 *
 * A sample card is personalized and activated the way a real one is,
 * through the real host side of libmic (mic_scp11a_open over an in-process
 * link to the engine) with the bureau's, the bank's and the agency's
 * certificates and keys from DIR, never through the test hook.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <mic/apdu.h>
#include <mic/keyprov.h>
#include <mic/pki.h>
#include <mic/scp.h>
#include <mic/tlv.h>
#include <mic/tx.h>

#include "internal.h"
#include "mic-vcard.h"

/* docs/card-profile.md 4.4 */
#define SD_KVN 0x01
#define OCE_KVN 0x01
#define OCE_KID 0x10

struct vct_scp {
	char *pki;
	mic_tx_t *tx;
	EVP_PKEY *pk_sd;        /* from CERT.SD.ECKA, verified */
	X509 *issuer;           /* the issuer CA: first of every chain */
	enum vc_role role;      /* of the channel open now; NONE: plain */
};

static X509 *
pem_cert(const char *dir, const char *rel)
{
	char path[4096];
	FILE *f;
	X509 *x = NULL;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, rel) >=
	    sizeof(path) || (f = fopen(path, "r")) == NULL)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

/* SELECT, GET DATA BF21, verify CERT.SD.ECKA against DIR/trust. */
int
vct_scp_open(struct vct_scp **out, vc_card *card, const char *pki,
    char *why, size_t cap)
{
	static const uint8_t aid[] = VC_MIC_AID;
	uint8_t rsp[2048], path[4096];
	mic_apdu sel = { .cla = 0x00, .ins = 0xA4, .p1 = 0x04, .p2 = 0x0C,
		.data = aid, .nc = sizeof(aid) };
	mic_apdu gd = { .cla = 0x80, .ins = 0xCA, .p1 = 0xBF, .p2 = 0x21,
		.ne = 256 };
	struct vct_scp *l;
	mic_trust_t *trust = NULL;
	const unsigned char *q;
	size_t len = 0;
	uint16_t sw = 0;
	mic_tlv t;
	X509 *x = NULL;
	mic_rc r;
	int rc = -1;

	*out = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->pki = strdup(pki)) == NULL) {
		mici_why(why, cap, "out of memory");
		goto out;
	}
	if ((l->issuer = pem_cert(pki, "trust/intermediates/issuer.pem")) ==
	    NULL) {
		mici_why(why, cap, "%s: no issuer CA certificate", pki);
		goto out;
	}
	snprintf((char *)path, sizeof(path), "%s/trust", pki);
	if ((r = mic_trust_load(&trust, (const char *)path)) != MIC_OK) {
		mici_why(why, cap, "%s: %s", path, mic_strerror(r));
		goto out;
	}
	if ((r = mic_tx_new_inproc(&l->tx, vc_card_transmit, card)) != MIC_OK ||
	    (r = mic_tx_transmit(l->tx, &sel, rsp, sizeof(rsp), &len,
	    &sw)) != MIC_OK ||
	    (r = mic_tx_command(l->tx, &gd, rsp, sizeof(rsp), &len)) !=
	    MIC_OK) {
		mici_why(why, cap, "GET DATA BF21: %s", mic_strerror(r));
		goto out;
	}
	if (mic_tlv_parse(rsp, len, &t) != MIC_OK || t.tag != 0xBF21 ||
	    (r = mic_cert_verify(trust, t.value, t.len, MIC_CERT_CARD)) !=
	    MIC_OK) {
		mici_why(why, cap, "the card's CERT.SD.ECKA does not verify");
		goto out;
	}
	q = t.value;
	if ((x = d2i_X509(NULL, &q, (long)t.len)) == NULL ||
	    (l->pk_sd = X509_get_pubkey(x)) == NULL) {
		mici_why(why, cap, "CERT.SD.ECKA has no key");
		goto out;
	}
	*out = l;
	l = NULL;
	rc = 0;
out:
	X509_free(x);
	mic_trust_free(&trust);
	vct_scp_free(&l);
	return rc;
}

void
vct_scp_free(struct vct_scp **l)
{
	if (l == NULL || *l == NULL)
		return;
	mic_tx_free(&(*l)->tx);
	EVP_PKEY_free((*l)->pk_sd);
	X509_free((*l)->issuer);
	free((*l)->pki);
	free(*l);
	*l = NULL;
}

/* SCP11a with DIR's terminal of @p role. */
static int
open_role(struct vct_scp *l, enum vc_role role, char *why, size_t cap)
{
	static const mic_scp_keyref oce = { OCE_KVN, OCE_KID };
	const char *name = mic_role_name((mic_role)role);
	uint8_t der[MIC_CERT_MAX];
	const unsigned char *q = der;
	mic_keyprov_t *kp = NULL;
	STACK_OF(X509) *chain = NULL;
	X509 *leaf = NULL;
	size_t len = 0;
	mic_rc r;
	int rc = -1;

	if (name == NULL || (r = mic_pki_load(l->pki, MIC_CERT_TERMINAL, name,
	    NULL, NULL, NULL, &kp, der, sizeof(der), &len)) != MIC_OK) {
		mici_why(why, cap, "%s: terminal %s: %s", l->pki,
		    name ? name : "?", name ? mic_strerror(r) : "no role");
		goto out;
	}
	if ((leaf = d2i_X509(NULL, &q, (long)len)) == NULL ||
	    (chain = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(chain, l->issuer) || !sk_X509_push(chain, leaf)) {
		mici_why(why, cap, "terminal %s: bad certificate", name);
		goto out;
	}
	if ((r = mic_scp11a_open(l->tx, SD_KVN, l->pk_sd, &oce,
	    mic_keyprov_pkey(kp), chain)) != MIC_OK) {
		mici_why(why, cap, "SCP11a as %s: %s", name, mic_strerror(r));
		goto out;
	}
	l->role = role;
	rc = 0;
out:
	sk_X509_free(chain);
	X509_free(leaf);
	mic_keyprov_free(&kp);
	return rc;
}

uint16_t
vct_scp_xmit_rsp(struct vct_scp *l, enum vc_role role, const uint8_t *cmd,
    size_t len, uint8_t *rsp, size_t rsp_cap, size_t *n, char *why,
    size_t cap)
{
	mic_apdu a;
	uint16_t sw = 0;
	mic_rc r;

	*n = 0;
	if (mic_apdu_decode(cmd, len, &a) != MIC_OK) {
		mici_why(why, cap, "internal: a step does not decode");
		return 0;
	}
	if (role == VC_ROLE_NONE) {
		mic_scp_close(l->tx);
		l->role = VC_ROLE_NONE;
	} else if (role != l->role && open_role(l, role, why, cap) != 0)
		return 0;
	if ((r = mic_tx_transmit(l->tx, &a, rsp, rsp_cap, n, &sw)) != MIC_OK) {
		mici_why(why, cap, "%s", mic_strerror(r));
		return 0;
	}
	return sw;
}

uint16_t
vct_scp_xmit(struct vct_scp *l, enum vc_role role, const uint8_t *cmd,
    size_t len, char *why, size_t cap)
{
	uint8_t rsp[MIC_APDU_RSP_MAX];
	size_t n = 0;
	uint16_t sw;

	sw = vct_scp_xmit_rsp(l, role, cmd, len, rsp, sizeof(rsp), &n, why,
	    cap);
	mici_wipe(rsp, sizeof(rsp));
	return sw;
}
