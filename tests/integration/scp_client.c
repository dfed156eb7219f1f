/*
 * scp_client READER PKI [FOREIGN_PKI]: real SCP11 sessions through pcscd
 * with the card in READER (made by 'mic-vcard new --sample --pki PKI'),
 * as a terminal of PKI does them with libmic:
 *
 *   SELECT, GET DATA BF21, CERT.SD.ECKA verified against PKI/trust
 *   SCP11b: EF.CARD read protected; EF.ACCOUNT refused (no role)
 *   SCP11a bank: EF.ACCOUNT read (balance 100000 fen)
 *   SCP11a pharmacy: CREDIT refused 6982
 *   SCP11a agency: CREDIT 1 fen accepted, with a card-signed receipt
 *   SCP11b with a key the card does not hold: fails, the transport stays
 *     lost (no plain APDU goes out) until a new channel opens
 *   FOREIGN_PKI's bureau: refused 6982
 *
 * Prints one line per step; exit 0 when everything happened as expected.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <mic/apdu.h>
#include <mic/keyprov.h>
#include <mic/pcsc.h>
#include <mic/pki.h>
#include <mic/scp.h>
#include <mic/tlv.h>
#include <mic/tx.h>

#define KVN 0x01

static const mic_scp_keyref oce = { 0x01, 0x10 };
static int failures;

static void
expect(const char *what, int ok)
{
	printf("%s: %s\n", ok ? "ok" : "FAIL", what);
	if (!ok)
		failures++;
}

static uint16_t
xmit(mic_tx_t *tx, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
    const uint8_t *data, size_t nc, size_t ne, uint8_t *rsp, size_t cap,
    size_t *len)
{
	mic_apdu a;
	uint16_t sw = 0;
	mic_rc rc;

	memset(&a, 0, sizeof(a));
	a.cla = cla;
	a.ins = ins;
	a.p1 = p1;
	a.p2 = p2;
	a.data = data;
	a.nc = nc;
	a.ne = ne;
	if ((rc = mic_tx_transmit(tx, &a, rsp, cap, len, &sw)) != MIC_OK) {
		fprintf(stderr, "transmit %02X: %s\n", ins, mic_strerror(rc));
		return 0;
	}
	return sw;
}

static X509 *
pem_cert(const char *dir, const char *rel)
{
	char path[4096];
	FILE *f;
	X509 *x;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

/* SCP11a as PKI's terminal NAME. */
static mic_rc
open_a(mic_tx_t *tx, EVP_PKEY *pk_sd, const char *pki, const char *name)
{
	uint8_t der[MIC_CERT_MAX];
	const unsigned char *q = der;
	mic_keyprov_t *kp = NULL;
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509 *issuer = pem_cert(pki, "trust/intermediates/issuer.pem");
	X509 *leaf = NULL;
	size_t len = 0;
	mic_rc rc;

	if ((rc = mic_pki_load(pki, MIC_CERT_TERMINAL, name, NULL, NULL, NULL,
	    &kp, der, sizeof(der), &len)) != MIC_OK)
		goto out;
	rc = MIC_ERR_INVALID_ARGUMENT;
	if (chain == NULL || issuer == NULL ||
	    (leaf = d2i_X509(NULL, &q, (long)len)) == NULL ||
	    !sk_X509_push(chain, issuer) || !sk_X509_push(chain, leaf))
		goto out;
	rc = mic_scp11a_open(tx, KVN, pk_sd, &oce, mic_keyprov_pkey(kp), chain);
out:
	sk_X509_free(chain);
	X509_free(issuer);
	X509_free(leaf);
	mic_keyprov_free(&kp);
	return rc;
}

/*
 * A re-open that fails (here the receipt of a key this card does not hold,
 * as a forged one would) leaves the transport lost, never plain.
 */
static void
lost_after_failed_reopen(mic_tx_t *tx, EVP_PKEY *pk)
{
	static const mic_apdu read_card = { 0x00, 0xB0, 0x81, 0x00, NULL, 0,
	    256, 0 };
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	uint8_t rsp[512];
	size_t len = 0;
	uint16_t sw = 0;

	expect("SCP11b with another card's key fails", other != NULL &&
	    mic_scp11b_open(tx, KVN, other) == MIC_ERR_SM_AUTH);
	expect("... the transport is lost", mic_tx_get_sm_state(tx) ==
	    MIC_TX_SM_LOST);
	expect("... and refuses a plain READ BINARY", mic_tx_transmit(tx,
	    &read_card, rsp, sizeof(rsp), &len, &sw) == MIC_ERR_SM_CLOSED &&
	    sw == 0);
	expect("a new SCP11b channel ends it", mic_scp11b_open(tx, KVN, pk) ==
	    MIC_OK && mic_tx_transmit(tx, &read_card, rsp, sizeof(rsp), &len,
	    &sw) == MIC_OK && sw == 0x9000 && len > 0 && rsp[0] == 0x66);
	EVP_PKEY_free(other);
}

int
main(int argc, char **argv)
{
	static const uint8_t aid[] = { 0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D,
	    0x49, 0x43, 0x01 };
	uint8_t rsp[4096], data[40];
	char path[4096];
	mic_tx_t *tx = NULL;
	mic_trust_t *trust = NULL;
	const unsigned char *q;
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	size_t len = 0;
	mic_tlv t;
	mic_rc rc;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: scp_client READER PKI [FOREIGN_PKI]\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/trust", argv[2]);
	if ((rc = mic_trust_load(&trust, path)) != MIC_OK ||
	    (rc = mic_pcsc_open(&tx, argv[1])) != MIC_OK) {
		fprintf(stderr, "setup: %s\n", mic_strerror(rc));
		return 1;
	}
	expect("SELECT", xmit(tx, 0x00, 0xA4, 0x04, 0x0C, aid, sizeof(aid), 0,
	    rsp, sizeof(rsp), &len) == 0x9000);
	expect("GET DATA BF21", xmit(tx, 0x80, 0xCA, 0xBF, 0x21, NULL, 0, 256,
	    rsp, sizeof(rsp), &len) == 0x9000 &&
	    mic_tlv_parse(rsp, len, &t) == MIC_OK && t.tag == 0xBF21);
	expect("CERT.SD.ECKA verifies", mic_cert_verify(trust, t.value, t.len,
	    MIC_CERT_CARD) == MIC_OK);
	q = t.value;
	if ((x = d2i_X509(NULL, &q, (long)t.len)) == NULL ||
	    (pk = X509_get_pubkey(x)) == NULL) {
		fprintf(stderr, "no card key\n");
		return 1;
	}
	expect("SCP11b opens", (rc = mic_scp11b_open(tx, KVN, pk)) == MIC_OK);
	expect("SCP11b: EF.CARD reads", xmit(tx, 0x00, 0xB0, 0x81, 0x00, NULL,
	    0, 256, rsp, sizeof(rsp), &len) == 0x9000 && len > 0 &&
	    rsp[0] == 0x66);
	expect("SCP11b: EF.ACCOUNT refused (no role)", xmit(tx, 0x00, 0xB0,
	    0x88, 0x00, NULL, 0, 256, rsp, sizeof(rsp), &len) == 0x6982);
	expect("SCP11a bank opens", open_a(tx, pk, argv[2], "bank") == MIC_OK);
	expect("SCP11a bank: EF.ACCOUNT reads", xmit(tx, 0x00, 0xB0, 0x88,
	    0x00, NULL, 0, 256, rsp, sizeof(rsp), &len) == 0x9000 &&
	    len >= 12 && rsp[0] == 0xE4);
	memset(data, 0, sizeof(data));
	data[7] = 0x01;                                   /* 1 fen */
	memcpy(data + 8, "\x20\x26\x11\x23\x12\x00\x00", 7);
	memcpy(data + 15, "SCPTEST1", 8);
	memcpy(data + 23, "SCP-INTEGRATION1", 16);
	expect("SCP11a pharmacy opens", open_a(tx, pk, argv[2],
	    "pharmacy-pos") == MIC_OK);
	expect("SCP11a pharmacy: CREDIT refused 6982", xmit(tx, 0x80, 0x52,
	    0x00, 0x00, data, sizeof(data), 256, rsp, sizeof(rsp), &len) ==
	    0x6982);
	expect("SCP11a agency opens", open_a(tx, pk, argv[2], "agency") ==
	    MIC_OK);
	expect("SCP11a agency: CREDIT accepted", xmit(tx, 0x80, 0x52, 0x00,
	    0x00, data, sizeof(data), 256, rsp, sizeof(rsp), &len) == 0x9000 &&
	    len > 12);
	lost_after_failed_reopen(tx, pk);
	if (argc == 4)
		expect("a foreign PKI's bureau is refused", open_a(tx, pk,
		    argv[3], "bureau") == MIC_RC_SW(0x6982));
	mic_scp_close(tx);
	mic_tx_free(&tx);
	mic_trust_free(&trust);
	EVP_PKEY_free(pk);
	X509_free(x);
	return failures == 0 ? 0 : 1;
}
