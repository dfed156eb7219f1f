/*
 * Paying at the counter: DEBIT and CREDIT (docs/card-profile.md 3.11) and
 * the card-signed receipt they return.
 *
 * What the host can decide it decides before a byte goes out: an amount
 * that is not positive, a card whose FCI says it is not active, a payment
 * fixed for another card, a PIN not verified. What only the card knows
 * (balance, family records, its last reference) comes back as a status
 * word, mapped to the rule a cashier understands.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include <mic/card.h>
#include <mic/receipt.h>

#include "internal.h"
#include "mici.h"

#define CLA_PROPRIETARY 0x80u
#define INS_DEBIT 0x54u
#define INS_CREDIT 0x52u
#define RSP_CAP 256u

#define SW_OK 0x9000u
#define SW_WRONG_DATA 0x6A80u
#define SW_NO_RECORD 0x6A83u
#define SW_CONDITIONS 0x6985u
#define SW_BALANCE 0x9401u

static int
printable8(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != MIC_RECEIPT_TERMINAL_LEN)
		return 0;
	for (i = 0; i < MIC_RECEIPT_TERMINAL_LEN; i++)
		if (s[i] < 0x20 || s[i] > 0x7E)
			return 0;
	return 1;
}

static int
digits14(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != 14)
		return 0;
	for (i = 0; i < 14; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

mic_rc
mic_payment_encode(const mic_payment *p, uint8_t out[MIC_PAYMENT_DATA_LEN])
{
	uint64_t a;
	size_t i;

	if (p == NULL || out == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if (p->amount <= 0)
		return MIC_ERR_AMOUNT;
	if (!digits14(p->time) || !printable8(p->terminal))
		return MIC_ERR_INVALID_ARGUMENT;
	a = (uint64_t)p->amount;
	for (i = 0; i < 8; i++)
		out[i] = (uint8_t)(a >> (56 - 8 * i));
	for (i = 0; i < 7; i++)
		out[8 + i] = (uint8_t)((p->time[2 * i] - '0') << 4 |
		    (p->time[2 * i + 1] - '0'));
	memcpy(out + 15, p->terminal, MIC_RECEIPT_TERMINAL_LEN);
	memcpy(out + 23, p->reference, MIC_RECEIPT_REF_LEN);
	out[39] = p->payer;
	return MIC_OK;
}

/* EF.CARD's identification code, read once per card. */
static mic_rc
card_id(mic_card_t *card, const char **id)
{
	mic_rc rc;

	if (mic_card_info(card) == NULL &&
	    (rc = mic_card_read(card, MIC_READ_CARD)) != MIC_OK)
		return rc;
	*id = mic_cardinfo_id(mic_card_info(card));
	if (*id == NULL || strlen(*id) != MIC_RECEIPT_CARD_ID_LEN)
		return MIC_ERR_RESPONSE;
	return MIC_OK;
}

mic_rc
mic_payment_init(mic_payment *p, mic_card_t *card, int64_t amount,
    uint8_t payer, const char *terminal, const uint8_t *reference,
    const char *when)
{
	const char *id = NULL;
	struct tm tm;
	time_t now;
	mic_rc rc;

	if (p == NULL || card == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	memset(p, 0, sizeof(*p));
	if (amount <= 0)
		return MIC_ERR_AMOUNT;
	if (!printable8(terminal) || (when != NULL && !digits14(when)))
		return MIC_ERR_INVALID_ARGUMENT;
	p->amount = amount;
	p->payer = payer;
	memcpy(p->terminal, terminal, MIC_RECEIPT_TERMINAL_LEN);
	if (when != NULL) {
		memcpy(p->time, when, 14);
	} else {
		now = time(NULL);
		if (localtime_r(&now, &tm) == NULL ||
		    strftime(p->time, sizeof(p->time), "%Y%m%d%H%M%S",
		    &tm) != 14)
			return MIC_ERR_INTERNAL;
	}
	if (reference != NULL)
		memcpy(p->reference, reference, MIC_RECEIPT_REF_LEN);
	else if (RAND_bytes(p->reference, MIC_RECEIPT_REF_LEN) != 1)
		return MIC_ERR_CRYPTO;
	if ((rc = card_id(card, &id)) != MIC_OK) {
		memset(p, 0, sizeof(*p));
		return rc;
	}
	memcpy(p->card_id, id, MIC_RECEIPT_CARD_ID_LEN);
	return MIC_OK;
}

/* CREDIT's 6A80: the balance too full for the amount, or a reused
 * reference; EF.ACCOUNT (the agency's channel may read it) tells which. */
static mic_rc
credit_wrong_data(mic_card_t *card, int64_t amount)
{
	mic_account_t *acct = mic_account_new();
	mic_rc rc = MIC_ERR_REFERENCE_REUSED;

	if (acct == NULL)
		return MIC_ERR_NOMEM;
	if (mic_card_read_account(card, acct) == MIC_OK &&
	    mic_account_balance(acct) > INT64_MAX - amount)
		rc = MIC_ERR_AMOUNT;
	mic_account_free(&acct);
	return rc;
}

static mic_rc
sw_to_rc(mic_card_t *card, const mic_payment *p, uint8_t ins, uint16_t sw)
{
	switch (sw) {
	case SW_BALANCE:
		return ins == INS_DEBIT ? MIC_ERR_INSUFFICIENT_BALANCE :
		    mic_sw_rc(sw);
	case SW_NO_RECORD:
		return p->payer != 0 ? MIC_ERR_PAYER_NOT_BOUND : mic_sw_rc(sw);
	case SW_CONDITIONS:
		/* The state was active at SELECT; 6985 then is the payer's
		 * may-pay flag (profile 3.11 step 1). */
		if (mic_card_state(card) != MIC_STATE_ACTIVE)
			return mici_state_rc(mic_card_state(card));
		return p->payer != 0 ? MIC_ERR_PAYER_MAY_NOT_PAY :
		    mic_sw_rc(sw);
	case SW_WRONG_DATA:
		return ins == INS_CREDIT ? credit_wrong_data(card, p->amount) :
		    MIC_ERR_REFERENCE_REUSED;
	}
	return mic_sw_rc(sw);
}

static mic_rc
purse(mic_card_t *card, const mic_payment *p, uint8_t ins,
    mic_receipt_t **out)
{
	uint8_t data[MIC_PAYMENT_DATA_LEN], rsp[RSP_CAP];
	const char *id = NULL;
	mic_state st;
	mic_apdu a;
	size_t n = 0;
	uint16_t sw = 0;
	mic_rc rc;

	if (out != NULL)
		*out = NULL;
	if (card == NULL || p == NULL || out == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if ((rc = mic_payment_encode(p, data)) != MIC_OK)
		return rc;
	if ((st = mic_card_state(card)) != MIC_STATE_ACTIVE)
		return mici_state_rc(st);
	if ((rc = card_id(card, &id)) != MIC_OK)
		return rc;
	if (p->card_id[0] != '\0' && strncmp(p->card_id, id,
	    sizeof(p->card_id)) != 0) {
		mici_debug("%s: the payment is another card's", __func__);
		return MIC_ERR_CARD_CHANGED;
	}
	if (ins == INS_DEBIT && !mic_card_pin_verified(card)) {
		mici_debug("%s: PIN not verified", __func__);
		return MIC_ERR_STATE;
	}
	memset(&a, 0, sizeof(a));
	a.cla = CLA_PROPRIETARY;
	a.ins = ins;
	a.data = data;
	a.nc = sizeof(data);
	a.ne = RSP_CAP;
	rc = mic_tx_transmit(mici_card_tx(card), &a, rsp, sizeof(rsp), &n, &sw);
	if (ins == INS_DEBIT)
		mici_card_pin_spent(card);
	if (rc != MIC_OK) {
		mici_debug("%s: transmit: %d", __func__, (int)rc);
		return rc;
	}
	if (sw != SW_OK) {
		mici_debug("%s: SW %04X", __func__, sw);
		return sw_to_rc(card, p, ins, sw);
	}
	return mic_receipt_from_card(out, id, ins == INS_DEBIT ?
	    MIC_RECEIPT_DEBIT : MIC_RECEIPT_CREDIT, data, rsp, n);
}

mic_rc
mic_card_pay(mic_card_t *card, const mic_payment *p, mic_receipt_t **out)
{
	return purse(card, p, INS_DEBIT, out);
}

mic_rc
mic_card_credit(mic_card_t *card, const mic_payment *p, mic_receipt_t **out)
{
	return purse(card, p, INS_CREDIT, out);
}
