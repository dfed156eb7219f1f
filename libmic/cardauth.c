/*
 * Is a card genuine (docs/card-profile.md 4.6)? Passive authentication
 * proves that the issuer wrote these files for the chip serial they name;
 * only the chip can prove that it is the chip with that serial. It does so
 * with its SCP11 key: CERT.SD.ECKA, from the chip factory, names the
 * serial, and SCP11b succeeds only with the private key. Without that step
 * a keyless card replaying a genuine card's FCI and files passes.
 *
 * The chip is authenticated first, and the files are read inside its
 * channel, so every byte checked comes MACed from the chip that proved
 * itself, not from whatever answered in plain before. An anonymous
 * terminal (SCP11b) reads only the public files: EF.HOLDER and
 * EF.INSURANCE need a terminal's SCP11a channel (card profile 4.3), so
 * their hashes are checked only with terminal credentials.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <mic/card.h>
#include <mic/keyprov.h>
#include <mic/pki.h>
#include <mic/scp.h>
#include <mic/sod.h>
#include <mic/tlv.h>

#include "cardauth_int.h"
#include "internal.h"
#include "mici.h"
#include "trust_int.h"

/* docs/card-profile.md 4.4: the card's SCP11 key version. */
#define SD_KVN 0x01u
#define TAG_CERT_STORE 0xBF21u
#define BF21_MAX 2048u

/* docs/card-profile.md 4.4: the card's key that verifies the chain. */
#define OCE_KVN 0x01u
#define OCE_KID 0x10u

static const struct {
	uint8_t sfi;
	size_t size;
	int personal;    /* needs SCP11a (card profile 4.3) */
} files_read[] = {
	{ MIC_SOD_SFI_CARD, MIC_EF_CARD_SIZE, 0 },
	{ MIC_SOD_SFI_HOLDER, MIC_EF_HOLDER_SIZE, 1 },
	{ MIC_SOD_SFI_INSURANCE, MIC_EF_INSURANCE_SIZE, 1 },
	{ MIC_SOD_SFI_CERT, MIC_EF_CERT_SIZE, 0 },
};
#define NFILES MIC_ARRAY_LEN(files_read)
#define SFI_SOD 4u

struct mic_terminal {
	mic_trust_t *trust;
	mic_keyprov_t *kp;
	STACK_OF(X509) *chain;   /* under the root down to the terminal */
	mic_role role;
};

/* Heap, not stack: about 4 KB of files, and POS threads. */
struct verify {
	uint8_t rsp[BF21_MAX];
	uint8_t card[MIC_EF_CARD_SIZE];
	uint8_t holder[MIC_EF_HOLDER_SIZE];
	uint8_t ins[MIC_EF_INSURANCE_SIZE];
	uint8_t cert[MIC_EF_CERT_SIZE];
	uint8_t sod[MIC_SOD_MAX];
	size_t sod_len;
};

const char *
mic_card_check_name(mic_card_check check)
{
	switch (check) {
	case MIC_CHECK_NONE:
		return "none";
	case MIC_CHECK_CHIP_CERT:
		return "CERT.SD.ECKA";
	case MIC_CHECK_CHIP_SERIAL:
		return "chip serial";
	case MIC_CHECK_CHIP_KEY:
		return "the chip's key (SCP11)";
	case MIC_CHECK_READ:
		return "reading the files";
	case MIC_CHECK_SOD:
		return "EF.SOD";
	case MIC_CHECK_CARD_CERT:
		return "EF.CERT";
	}
	return "?";
}

mic_rc
mici_chipcert_serial_check(X509 *x, const uint8_t serial[MIC_CHIP_SERIAL_LEN])
{
	static const char hex[] = "0123456789ABCDEF";
	char want[2 * MIC_CHIP_SERIAL_LEN];
	const X509_NAME *subj = X509_get_subject_name(x);
	const ASN1_STRING *sn;
	int idx;

	for (size_t i = 0; i < MIC_CHIP_SERIAL_LEN; i++) {
		want[2 * i] = hex[serial[i] >> 4];
		want[2 * i + 1] = hex[serial[i] & 0x0F];
	}
	/* Exactly one serialNumber, a PrintableString of exactly these 16
	 * upper-case digits: one spelling, so no two certificates can name
	 * one chip in different ways. */
	if (subj == NULL ||
	    (idx = X509_NAME_get_index_by_NID(subj, NID_serialNumber, -1)) < 0 ||
	    X509_NAME_get_index_by_NID(subj, NID_serialNumber, idx) >= 0 ||
	    (sn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj,
	    idx))) == NULL || ASN1_STRING_type(sn) != V_ASN1_PRINTABLESTRING ||
	    ASN1_STRING_length(sn) != (int)sizeof(want) ||
	    memcmp(ASN1_STRING_get0_data(sn), want, sizeof(want)) != 0) {
		mici_debug("%s: CERT.SD.ECKA names another chip", __func__);
		return MIC_ERR_CERT_SUBJECT;
	}
	return MIC_OK;
}

mic_rc
mici_chipcert_get(mic_tx_t *tx, uint8_t *buf, size_t cap, X509 **out)
{
	/* All of it in one answer where extended Le is there; mic_tx
	 * clamps Ne to what the path carries (256 and GET RESPONSE). */
	mic_apdu a = { .cla = 0x80, .ins = 0xCA, .p1 = 0xBF, .p2 = 0x21,
		.ne = MIC_APDU_NE_MAX_EXT };
	size_t n = 0;
	mic_tlv t;
	mic_rc rc;

	*out = NULL;
	if ((rc = mic_tx_command(tx, &a, buf, cap, &n)) != MIC_OK)
		return rc;
	if (mic_tlv_parse(buf, n, &t) != MIC_OK || t.tag != TAG_CERT_STORE ||
	    t.raw_len != n) {
		mici_debug("%s: not one BF21", __func__);
		return MIC_ERR_RESPONSE;
	}
	return mici_x509_parse(t.value, t.len, out);
}

#define TERM_CERT_MAX 4096u

mic_rc
mic_terminal_load(mic_terminal_t **out, const char *dir, mic_pin_cb *pin_cb,
    void *pin_arg)
{
	mic_terminal_t *t = NULL;
	uint8_t cert[TERM_CERT_MAX];
	char edir[4096];
	size_t len = 0;
	X509 *x = NULL;
	mic_rc rc;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || dir == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (snprintf(edir, sizeof(edir), "%s/terminal", dir) >=
	    (int)sizeof(edir))
		return MIC_ERR_INVALID_ARGUMENT;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return MIC_ERR_NOMEM;
	if ((rc = mic_trust_load(&t->trust, dir)) != MIC_OK ||
	    (rc = mici_pki_load_dir(edir, pin_cb, pin_arg, &t->kp, cert,
	    sizeof(cert), &len)) != MIC_OK ||
	    (rc = mici_x509_parse(cert, len, &x)) != MIC_OK)
		goto fail;
	/* Refused here, once, rather than by every card it meets. */
	if ((rc = mici_cert_verify(t->trust, x, NULL, MIC_CERT_TERMINAL)) !=
	    MIC_OK || (rc = mic_cert_role(cert, len, &t->role)) != MIC_OK ||
	    (rc = mici_trust_chain(t->trust, x, &t->chain)) != MIC_OK)
		goto fail;
	X509_free(x);
	*out = t;
	return MIC_OK;
fail:
	mici_debug("%s: %s: %d", __func__, dir, (int)rc);
	X509_free(x);
	mic_terminal_free(&t);
	return rc;
}

void
mic_terminal_free(mic_terminal_t **t)
{
	if (t == NULL || *t == NULL)
		return;
	mic_trust_free(&(*t)->trust);
	mic_keyprov_free(&(*t)->kp);
	sk_X509_pop_free((*t)->chain, X509_free);
	free(*t);
	*t = NULL;
}

mic_role
mic_terminal_role(const mic_terminal_t *t)
{
	return t != NULL ? t->role : (mic_role)0;
}

const mic_trust_t *
mic_terminal_trust(const mic_terminal_t *t)
{
	return t != NULL ? t->trust : NULL;
}

/*
 * Steps 1-3: the chip proves it is the chip of @p serial, in SCP11b, or
 * in SCP11a with @p term's chain (its receipt authenticates the chip
 * exactly as SCP11b's does).
 */
static mic_rc
chip_auth(mic_tx_t *tx, const mic_trust_t *trust,
    const mic_terminal_t *term, const uint8_t serial[MIC_CHIP_SERIAL_LEN],
    struct verify *v, mic_card_check *step)
{
	mic_scp_keyref oce = { OCE_KVN, OCE_KID };

	X509 *x = NULL;
	mic_rc rc;

	*step = MIC_CHECK_CHIP_CERT;
	if ((rc = mici_chipcert_get(tx, v->rsp, sizeof(v->rsp), &x)) !=
	    MIC_OK ||
	    (rc = mici_cert_verify(trust, x, NULL, MIC_CERT_CARD)) != MIC_OK)
		goto out;
	*step = MIC_CHECK_CHIP_SERIAL;
	if ((rc = mici_chipcert_serial_check(x, serial)) != MIC_OK)
		goto out;
	if (X509_get0_pubkey(x) == NULL) {
		*step = MIC_CHECK_CHIP_CERT;
		rc = MIC_ERR_CERT_FORMAT;
		goto out;
	}
	*step = MIC_CHECK_CHIP_KEY;
	/* A certified key that is not P-256 (an SM2 PKI's chip): the SCP11
	 * suite here is P-256 only (card profile 4.1). */
	if (term != NULL)
		rc = mic_scp11a_open(tx, SD_KVN, X509_get0_pubkey(x), &oce,
		    mic_keyprov_pkey(term->kp), term->chain);
	else
		rc = mic_scp11b_open(tx, SD_KVN, X509_get0_pubkey(x));
	if (rc == MIC_ERR_INVALID_ARGUMENT)
		rc = MIC_ERR_UNSUPPORTED;
out:
	X509_free(x);
	return rc;
}

/* Steps 4-6, inside the chip's channel; @p personal: SCP11a. */
static mic_rc
data_auth(mic_tx_t *tx, const mic_trust_t *trust,
    const uint8_t serial[MIC_CHIP_SERIAL_LEN], int personal,
    struct verify *v, mic_card_check *step)
{
	uint8_t *bufs[NFILES] = { v->card, v->holder, v->ins, v->cert };
	mic_sod_file files[NFILES];
	mic_cardinfo_t *ci = NULL;
	size_t n = 0;
	mic_rc rc;

	*step = MIC_CHECK_READ;
	for (size_t i = 0; i < NFILES; i++) {
		if (files_read[i].personal && !personal)
			continue;
		if ((rc = mic_card_read_file(tx, files_read[i].sfi, bufs[i],
		    files_read[i].size)) != MIC_OK)
			return rc;
		files[n].sfi = files_read[i].sfi;
		files[n].data = bufs[i];
		files[n].len = files_read[i].size;
		n++;
	}
	rc = mic_card_read_der(tx, SFI_SOD, v->sod, sizeof(v->sod),
	    &v->sod_len);
	if (rc == MIC_ERR_RESPONSE) {
		/* The card answered; what it holds is no security object. */
		*step = MIC_CHECK_SOD;
		return MIC_ERR_SOD_FORMAT;
	}
	if (rc != MIC_OK)
		return rc;
	*step = MIC_CHECK_SOD;
	if ((rc = mic_sod_verify(trust, v->sod, v->sod_len, files, n,
	    serial)) != MIC_OK)
		return rc;
	/* EF.SOD vouches for EF.CERT's bytes; this vouches for its issuer
	 * and that it names this card. */
	*step = MIC_CHECK_CARD_CERT;
	if ((ci = mic_cardinfo_new()) == NULL)
		return MIC_ERR_NOMEM;
	if ((rc = mic_cardinfo_decode(ci, v->card, sizeof(v->card))) ==
	    MIC_OK)
		rc = mic_cardcert_verify(trust, v->cert, sizeof(v->cert),
		    mic_cardinfo_id(ci));
	mic_cardinfo_free(&ci);
	return rc;
}

/* Chip authentication, then with @p data passive authentication. */
static mic_rc
card_auth(mic_card_t *card, const mic_trust_t *trust,
    const mic_terminal_t *term, int data, mic_card_check *failed)
{
	uint8_t serial[MIC_CHIP_SERIAL_LEN];
	mic_card_check step = MIC_CHECK_NONE;
	struct verify *v = NULL;
	mic_tx_t *tx;
	mic_rc rc, erc;

	if (failed != NULL)
		*failed = MIC_CHECK_NONE;
	if (card == NULL || trust == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	tx = mici_card_tx(card);
	if ((rc = mic_card_chip_serial(card, serial, sizeof(serial))) != MIC_OK)
		return rc;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return MIC_ERR_NOMEM;
	/* One transaction: the chip that proves itself is the one read. */
	if ((rc = mic_tx_begin(tx)) != MIC_OK) {
		step = MIC_CHECK_READ;
		goto out;
	}
	if ((rc = chip_auth(tx, trust, term, serial, v, &step)) == MIC_OK &&
	    data)
		rc = data_auth(tx, trust, serial, term != NULL, v, &step);
	if ((erc = mic_tx_end(tx)) != MIC_OK)
		mici_debug("%s: end: %d", __func__, (int)erc);
	if (rc != MIC_OK) {
		mici_debug("%s: %s: %d", __func__, mic_card_check_name(step),
		    (int)rc);
		/* Nothing goes on in a channel with a chip that failed. */
		mic_scp_close(tx);
		goto out;
	}
	step = MIC_CHECK_NONE;
out:
	if (failed != NULL)
		*failed = step;
	mici_wipe(v, sizeof(*v));
	free(v);
	return rc;
}

mic_rc
mic_card_verify(mic_card_t *card, const mic_trust_t *trust,
    mic_card_check *failed)
{
	return card_auth(card, trust, NULL, 1, failed);
}

mic_rc
mic_card_verify_terminal(mic_card_t *card, const mic_trust_t *trust,
    const mic_terminal_t *term, mic_card_check *failed)
{
	if (term == NULL) {
		if (failed != NULL)
			*failed = MIC_CHECK_NONE;
		return MIC_ERR_INVALID_ARGUMENT;
	}
	return card_auth(card, trust != NULL ? trust : term->trust, term, 1,
	    failed);
}

mic_rc
mic_card_authenticate(mic_card_t *card, const mic_trust_t *trust,
    const mic_terminal_t *term, mic_card_check *failed)
{
	if (trust == NULL && term != NULL)
		trust = term->trust;
	return card_auth(card, trust, term, 0, failed);
}
