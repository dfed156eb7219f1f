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
 * itself, not from whatever answered in plain before.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include <mic/card.h>
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

static const struct {
	uint8_t sfi;
	size_t size;
} files_read[] = {
	{ MIC_SOD_SFI_CARD, MIC_EF_CARD_SIZE },
	{ MIC_SOD_SFI_HOLDER, MIC_EF_HOLDER_SIZE },
	{ MIC_SOD_SFI_INSURANCE, MIC_EF_INSURANCE_SIZE },
	{ MIC_SOD_SFI_CERT, MIC_EF_CERT_SIZE },
};
#define NFILES MIC_ARRAY_LEN(files_read)
#define SFI_SOD 4u

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
		return "SCP11b";
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

/* Steps 1-3: the chip proves it is the chip of @p serial. */
static mic_rc
chip_auth(mic_tx_t *tx, const mic_trust_t *trust,
    const uint8_t serial[MIC_CHIP_SERIAL_LEN], struct verify *v,
    mic_card_check *step)
{
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
	if ((rc = mic_scp11b_open(tx, SD_KVN, X509_get0_pubkey(x))) ==
	    MIC_ERR_INVALID_ARGUMENT)
		rc = MIC_ERR_UNSUPPORTED;
out:
	X509_free(x);
	return rc;
}

/* Steps 4-6, inside the chip's channel. */
static mic_rc
data_auth(mic_tx_t *tx, const mic_trust_t *trust,
    const uint8_t serial[MIC_CHIP_SERIAL_LEN], struct verify *v,
    mic_card_check *step)
{
	uint8_t *bufs[NFILES] = { v->card, v->holder, v->ins, v->cert };
	mic_sod_file files[NFILES];
	mic_cardinfo_t *ci = NULL;
	mic_rc rc;

	*step = MIC_CHECK_READ;
	for (size_t i = 0; i < NFILES; i++) {
		if ((rc = mic_card_read_file(tx, files_read[i].sfi, bufs[i],
		    files_read[i].size)) != MIC_OK)
			return rc;
		files[i].sfi = files_read[i].sfi;
		files[i].data = bufs[i];
		files[i].len = files_read[i].size;
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
	if ((rc = mic_sod_verify(trust, v->sod, v->sod_len, files, NFILES,
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

mic_rc
mic_card_verify(mic_card_t *card, const mic_trust_t *trust,
    mic_card_check *failed)
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
	if ((rc = chip_auth(tx, trust, serial, v, &step)) == MIC_OK)
		rc = data_auth(tx, trust, serial, v, &step);
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
