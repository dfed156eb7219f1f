/*
 * The card-signed receipt of docs/card-profile.md section 3.11.
 *
 * The receipt is kept as the card signed it: the 89-byte message and the
 * DER signature. Every getter reads the decoded copy of those bytes, so
 * what a back office shows is what the signature covers, never a field
 * taken from elsewhere.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <mic/receipt.h>
#include <mic/sod.h>

#include "internal.h"
#include "mici.h"
#include "trust_int.h"

#define MAGIC "MICR"
/* Offsets in the signed message. */
#define M_CARD 4
#define M_COUNTER 36
#define M_TYPE 40
#define M_AMOUNT 41
#define M_BALANCE 49
#define M_TIME 57
#define M_TERMINAL 64
#define M_REF 72
#define M_PAYER 88
#define TIME_BCD 7
/* Offsets in the command data. */
#define C_AMOUNT 0
#define C_TIME 8
/* The card's response: counter || balance after || signature. */
#define R_SIG 12
#define SIG_MIN 8
#define SIG_MAX 72

struct mic_receipt {
	uint8_t enc[MIC_RECEIPT_MAX];
	size_t enc_len;
	char card_id[MIC_RECEIPT_CARD_ID_LEN + 1];
	char time[15];
	char terminal[MIC_RECEIPT_TERMINAL_LEN + 1];
	uint32_t counter;
	int64_t amount, balance;
};

static uint64_t
get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (size_t i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static int
printable(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7E)
			return 0;
	return 1;
}

/* n14 as 7 BCD bytes, a real date and time. */
static int
time_ok(const uint8_t *p, char out[15])
{
	for (size_t i = 0; i < TIME_BCD; i++) {
		if ((p[i] >> 4) > 9 || (p[i] & 0x0F) > 9)
			return 0;
		out[2 * i] = (char)('0' + (p[i] >> 4));
		out[2 * i + 1] = (char)('0' + (p[i] & 0x0F));
	}
	out[14] = '\0';
	return mici_date_real(out, 14);
}

/* One DER SEQUENCE filling exactly @p len bytes (short or 81 length). */
static int
der_seq(const uint8_t *p, size_t len)
{
	if (len < SIG_MIN || len > SIG_MAX || p[0] != 0x30)
		return 0;
	if (p[1] < 0x80)
		return (size_t)p[1] + 2 == len;
	return p[1] == 0x81 && p[2] >= 0x80 && (size_t)p[2] + 3 == len;
}

/* Decode the fields of r->enc, checking each as the card would. */
static mic_rc
parse(struct mic_receipt *r)
{
	const uint8_t *m = r->enc;
	uint64_t amount, balance;

	if (r->enc_len < MIC_RECEIPT_MSG_LEN + SIG_MIN ||
	    memcmp(m, MAGIC, 4) != 0 ||
	    !printable(m + M_CARD, MIC_RECEIPT_CARD_ID_LEN) ||
	    (m[M_TYPE] != MIC_RECEIPT_DEBIT && m[M_TYPE] != MIC_RECEIPT_CREDIT) ||
	    !time_ok(m + M_TIME, r->time) ||
	    !printable(m + M_TERMINAL, MIC_RECEIPT_TERMINAL_LEN) ||
	    !der_seq(m + MIC_RECEIPT_MSG_LEN, r->enc_len - MIC_RECEIPT_MSG_LEN)) {
		mici_debug("%s: not a receipt of the profile's form", __func__);
		return MIC_ERR_RECEIPT_FORMAT;
	}
	amount = get_u64(m + M_AMOUNT);
	balance = get_u64(m + M_BALANCE);
	/* The card refuses 0 and anything with the sign bit (3.11). */
	if (amount == 0 || amount > INT64_MAX || balance > INT64_MAX) {
		mici_debug("%s: amount or balance out of range", __func__);
		return MIC_ERR_RECEIPT_FORMAT;
	}
	/* A counter is the value after an operation: never 0. */
	if ((r->counter = mici_get_u32(m + M_COUNTER)) == 0) {
		mici_debug("%s: counter 0", __func__);
		return MIC_ERR_RECEIPT_FORMAT;
	}
	r->amount = (int64_t)amount;
	r->balance = (int64_t)balance;
	memcpy(r->card_id, m + M_CARD, MIC_RECEIPT_CARD_ID_LEN);
	r->card_id[MIC_RECEIPT_CARD_ID_LEN] = '\0';
	memcpy(r->terminal, m + M_TERMINAL, MIC_RECEIPT_TERMINAL_LEN);
	r->terminal[MIC_RECEIPT_TERMINAL_LEN] = '\0';
	return MIC_OK;
}

static mic_rc
finish(mic_receipt_t **out, struct mic_receipt *r)
{
	mic_rc rc;

	if ((rc = parse(r)) != MIC_OK) {
		free(r);
		return rc;
	}
	*out = r;
	return MIC_OK;
}

mic_rc
mic_receipt_decode(mic_receipt_t **out, const uint8_t *buf, size_t len)
{
	struct mic_receipt *r;

	if (out == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if (buf == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if (len < MIC_RECEIPT_MSG_LEN + SIG_MIN || len > MIC_RECEIPT_MAX)
		return MIC_ERR_RECEIPT_FORMAT;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return MIC_ERR_NOMEM;
	memcpy(r->enc, buf, len);
	r->enc_len = len;
	return finish(out, r);
}

mic_rc
mic_receipt_from_card(mic_receipt_t **out, const char *card_id,
    mic_receipt_type type, const uint8_t cmd[MIC_RECEIPT_CMD_LEN],
    const uint8_t *rsp, size_t rsp_len)
{
	struct mic_receipt *r;
	uint8_t *m;

	if (out == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if (card_id == NULL || cmd == NULL || rsp == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if (strlen(card_id) != MIC_RECEIPT_CARD_ID_LEN ||
	    rsp_len < R_SIG + SIG_MIN || rsp_len > R_SIG + SIG_MAX ||
	    (type != MIC_RECEIPT_DEBIT && type != MIC_RECEIPT_CREDIT))
		return MIC_ERR_RECEIPT_FORMAT;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return MIC_ERR_NOMEM;
	m = r->enc;
	memcpy(m, MAGIC, 4);
	memcpy(m + M_CARD, card_id, MIC_RECEIPT_CARD_ID_LEN);
	memcpy(m + M_COUNTER, rsp, 4);
	m[M_TYPE] = (uint8_t)type;
	memcpy(m + M_AMOUNT, cmd + C_AMOUNT, 8);
	memcpy(m + M_BALANCE, rsp + 4, 8);
	/* Time, terminal, reference and payer follow each other in both. */
	memcpy(m + M_TIME, cmd + C_TIME, MIC_RECEIPT_MSG_LEN - M_TIME);
	memcpy(m + MIC_RECEIPT_MSG_LEN, rsp + R_SIG, rsp_len - R_SIG);
	r->enc_len = MIC_RECEIPT_MSG_LEN + rsp_len - R_SIG;
	return finish(out, r);
}

void
mic_receipt_free(mic_receipt_t **r)
{
	if (r == NULL || *r == NULL)
		return;
	free(*r);
	*r = NULL;
}

const uint8_t *
mic_receipt_encoding(const mic_receipt_t *r, size_t *len)
{
	if (len != NULL)
		*len = r->enc_len;
	return r->enc;
}

const uint8_t *
mic_receipt_message(const mic_receipt_t *r)
{
	return r->enc;
}

const uint8_t *
mic_receipt_signature(const mic_receipt_t *r, size_t *len)
{
	if (len != NULL)
		*len = r->enc_len - MIC_RECEIPT_MSG_LEN;
	return r->enc + MIC_RECEIPT_MSG_LEN;
}

const char *
mic_receipt_card_id(const mic_receipt_t *r)
{
	return r->card_id;
}

mic_receipt_type
mic_receipt_get_type(const mic_receipt_t *r)
{
	return (mic_receipt_type)r->enc[M_TYPE];
}

uint32_t
mic_receipt_counter(const mic_receipt_t *r)
{
	return r->counter;
}

int64_t
mic_receipt_amount(const mic_receipt_t *r)
{
	return r->amount;
}

int64_t
mic_receipt_balance(const mic_receipt_t *r)
{
	return r->balance;
}

const char *
mic_receipt_time(const mic_receipt_t *r)
{
	return r->time;
}

const char *
mic_receipt_terminal(const mic_receipt_t *r)
{
	return r->terminal;
}

const uint8_t *
mic_receipt_reference(const mic_receipt_t *r)
{
	return r->enc + M_REF;
}

uint8_t
mic_receipt_payer(const mic_receipt_t *r)
{
	return r->enc[M_PAYER];
}

mic_rc
mic_receipt_verify(const mic_receipt_t *r, const mic_trust_t *trust,
    const uint8_t *cert, size_t cert_len)
{
	const unsigned char *p = cert;
	EVP_MD_CTX *md = NULL;
	X509 *x = NULL;
	EVP_PKEY *pk;
	mic_rc rc;

	if (r == NULL || trust == NULL || cert == NULL || cert_len == 0 ||
	    cert_len > (size_t)MIC_CERT_MAX)
		return MIC_ERR_INVALID_ARGUMENT;
	/* The chain, the card purpose, and the card the receipt names. */
	if ((rc = mic_cardcert_verify(trust, cert, cert_len,
	    r->card_id)) != MIC_OK)
		return rc;
	if ((x = d2i_X509(NULL, &p, (long)cert_len)) == NULL ||
	    (pk = X509_get0_pubkey(x)) == NULL) {
		mici_ossl_debug(__func__, "card certificate");
		rc = MIC_ERR_CERT_FORMAT;
		goto fail;
	}
	/* Profile 3.11 names ECDSA P-256; the SM2 suite's receipts are
	 * not defined yet, which is no proof of a forgery. */
	if (EVP_PKEY_is_a(pk, "SM2")) {
		mici_debug("%s: an SM2 card key: receipts of the SM2 suite are "
		    "not supported", __func__);
		rc = MIC_ERR_UNSUPPORTED;
		goto fail;
	}
	if (!EVP_PKEY_is_a(pk, "EC")) {
		mici_debug("%s: the card key is not an EC key", __func__);
		rc = MIC_ERR_RECEIPT_SIGNATURE;
		goto fail;
	}
	if ((md = EVP_MD_CTX_new()) == NULL) {
		rc = MIC_ERR_NOMEM;
		goto fail;
	}
	if (EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, pk,
	    NULL) != 1) {
		mici_ossl_debug(__func__, "EVP_DigestVerifyInit_ex");
		rc = MIC_ERR_CRYPTO;
		goto fail;
	}
	if (EVP_DigestVerify(md, r->enc + MIC_RECEIPT_MSG_LEN,
	    r->enc_len - MIC_RECEIPT_MSG_LEN, r->enc,
	    MIC_RECEIPT_MSG_LEN) != 1) {
		/* Also empties OpenSSL's error queue of the failure. */
		mici_ossl_debug(__func__, "receipt signature");
		rc = MIC_ERR_RECEIPT_SIGNATURE;
		goto fail;
	}
	rc = MIC_OK;
fail:
	EVP_MD_CTX_free(md);
	X509_free(x);
	return rc;
}
