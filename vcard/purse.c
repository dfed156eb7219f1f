/*
 * DEBIT and CREDIT (docs/card-profile.md section 3.11), and EF.ACCOUNT.
 *
 * One command is one commit: the balance and counter in EF.ACCOUNT, the
 * new record 1 of EF.LOG and the remembered reference and receipt are
 * written together, so a card pulled mid-command has done all of it or
 * none. The receipt is signed before the commit, from the state the commit
 * will hold, so nothing after the commit can fail.
 *
 * A terminal that lost the receipt sends the same command again; the card
 * recognises its last reference and answers the same receipt, moving no
 * money twice. The resend passes the same access checks as any DEBIT
 * (section 4.3 has no exception): after a reset the terminal opens its
 * channel and takes the PIN again.
 */
#include <stdint.h>
#include <string.h>

#include "card_internal.h"
#include "internal.h"

#define INS_CREDIT 0x52
#define TYPE_DEBIT 0x01
#define TYPE_CREDIT 0x02

/* The 40-byte data field. */
#define D_AMOUNT 0
#define D_TIME 8
#define D_TERMINAL 15
#define D_REF 23
#define D_PAYER 39
#define TIME_LEN 7
#define TERMINAL_LEN 8
#define REF_LEN 16
#define LOG_REF_LEN 11

/* EF.ACCOUNT: E4 10 80 08 <balance> 81 04 <counter>, then 00. */
#define A_BALANCE 4
#define A_COUNTER 14

#define RECEIPT_MAGIC "MICR"
#define MSG_LEN (4 + CARD_ID_LEN + 4 + 1 + 8 + 8 + TIME_LEN + \
    TERMINAL_LEN + REF_LEN + 1)

static uint64_t
get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (size_t i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void
put_u64(uint8_t *p, uint64_t v)
{
	for (size_t i = 8; i-- > 0; v >>= 8)
		p[i] = (uint8_t)v;
}



void
vc_account_put(uint8_t body[ACCOUNT_SIZE], uint64_t balance,
    uint32_t counter)
{
	static const uint8_t head[] = { 0xE4, 0x10, 0x80, 0x08 };

	memset(body, 0, ACCOUNT_SIZE);
	memcpy(body, head, sizeof(head));
	put_u64(body + A_BALANCE, balance);
	body[A_BALANCE + 8] = 0x81;
	body[A_BALANCE + 9] = 0x04;
	mici_put_u32(body + A_COUNTER, counter);
}

int
vc_account_get(const uint8_t body[ACCOUNT_SIZE], uint64_t *balance,
    uint32_t *counter)
{
	if (body[0] != 0xE4 || body[1] != 0x10 || body[2] != 0x80 ||
	    body[3] != 0x08 || body[12] != 0x81 || body[13] != 0x04) {
		mici_debug("%s: EF.ACCOUNT is not the card's layout", __func__);
		return -1;
	}
	*balance = get_u64(body + A_BALANCE);
	*counter = mici_get_u32(body + A_COUNTER);
	/* Two's complement, never negative. */
	return *balance > INT64_MAX ? -1 : 0;
}

/* One operation, as the card computes it before writing anything. */
struct op {
	uint8_t ins;
	uint8_t type;
	const uint8_t *data;     /* the 40 bytes of the command */
	uint64_t amount;
	uint64_t balance;        /* after */
	uint32_t counter;        /* after */
	uint8_t log[LOG_RECLEN];
	uint8_t receipt[RECEIPT_MAX];
	size_t receipt_len;
};

/* Payer 00 is the holder; otherwise a bound member who may pay. */
static uint16_t
check_payer(const struct vc_card *card, uint8_t payer)
{
	const uint8_t *rec;
	uint8_t may_pay = 0;

	if (payer == 0)
		return SW_OK;
	rec = vc_fs_record(&card->nv.fs, vc_app_file(card, FID_FAMILY), payer);
	if (rec == NULL || vc_tmpl_is_free(rec, FAMILY_RECLEN))
		return SW_NO_RECORD;
	if (vc_tmpl_may_pay(rec, FAMILY_RECLEN, &may_pay) < 0 || may_pay != 1)
		return SW_CONDITIONS;
	return SW_OK;
}

/* Step 1 of section 3.11: amount, payer, balance; then the new values. */
static uint16_t
compute(const struct vc_card *card, struct op *op)
{
	const uint8_t *d = op->data;
	int idx = vc_app_file(card, FID_ACCOUNT);
	uint64_t balance;
	uint32_t counter;
	uint16_t sw;

	op->amount = get_u64(d + D_AMOUNT);
	if (op->amount == 0 || op->amount > INT64_MAX ||
	    !vc_fmt_n14(d + D_TIME) || !vc_fmt_an(d + D_TERMINAL, TERMINAL_LEN))
		return SW_WRONG_DATA;
	if ((sw = check_payer(card, d[D_PAYER])) != SW_OK)
		return sw;
	if (idx < 0 || vc_account_get(vc_fs_cbody(&card->nv.fs, idx), &balance,
	    &counter) < 0)
		return SW_UNKNOWN;
	if (op->ins == INS_DEBIT) {
		if (op->amount > balance)
			return SW_BALANCE;
		op->balance = balance - op->amount;
	} else {
		if (op->amount > (uint64_t)INT64_MAX - balance)
			return SW_WRONG_DATA;
		op->balance = balance + op->amount;
	}
	/* A counter that would wrap could repeat a receipt's counter. */
	if (counter == UINT32_MAX)
		return SW_CONDITIONS;
	op->counter = counter + 1;
	return SW_OK;
}

/* Section 2.9. */
static void
make_log(struct op *op)
{
	const uint8_t *d = op->data;
	uint8_t *p = op->log;

	mici_put_u32(p, op->counter);
	p[4] = op->type;
	put_u64(p + 5, op->amount);
	put_u64(p + 13, op->balance);
	memcpy(p + 21, d + D_TIME, TIME_LEN);
	memcpy(p + 28, d + D_TERMINAL, TERMINAL_LEN);
	p[36] = d[D_PAYER];
	memcpy(p + 37, d + D_REF, LOG_REF_LEN);
}

/*
 * Section 3.11 step 5: counter || balance after || ECDSA over SHA-256 of
 * "MICR" || card identification code || counter || type || amount ||
 * balance after || date and time || terminal id || reference || payer.
 */
static uint16_t
make_receipt(const struct vc_card *card, struct op *op)
{
	const uint8_t *d = op->data, *id = NULL;
	int idx = vc_app_file(card, FID_CARD);
	uint8_t msg[MSG_LEN], *p = msg;
	size_t sig_len = 0;

	if (!card->nv.key_set || idx < 0 ||
	    vc_tmpl_card_id(vc_fs_cbody(&card->nv.fs, idx), CARD_SIZE,
	    &id) < 0)
		return SW_UNKNOWN;
	memcpy(p, RECEIPT_MAGIC, 4);
	p += 4;
	memcpy(p, id, CARD_ID_LEN);
	p += CARD_ID_LEN;
	mici_put_u32(p, op->counter);
	p += 4;
	*p++ = op->type;
	put_u64(p, op->amount);
	p += 8;
	put_u64(p, op->balance);
	p += 8;
	memcpy(p, d + D_TIME, TIME_LEN + TERMINAL_LEN + REF_LEN + 1);
	mici_put_u32(op->receipt, op->counter);
	put_u64(op->receipt + 4, op->balance);
	if (vc_key_sign(card->nv.priv, card->nv.pub, msg, sizeof(msg),
	    op->receipt + 12, &sig_len) < 0)
		return SW_UNKNOWN;
	op->receipt_len = 12 + sig_len;
	return SW_OK;
}

static uint16_t
apply(struct vc_card *card, const struct op *op)
{
	struct vc_nv *w = vc_nv_begin(card);
	int acct = vc_app_file(card, FID_ACCOUNT);
	int log = vc_app_file(card, FID_LOG);

	if (acct < 0 || vc_fs_cyclic_append(&w->fs, log, op->log,
	    sizeof(op->log)) < 0) {
		vc_nv_abort(card);
		return SW_UNKNOWN;
	}
	vc_account_put(vc_fs_body(&w->fs, acct), op->balance, op->counter);
	w->last_valid = 1;
	w->last_ins = op->ins;
	memcpy(w->last_data, op->data, TX_DATA_LEN);
	memcpy(w->last_rsp, op->receipt, op->receipt_len);
	w->last_rsp_len = (uint8_t)op->receipt_len;
	return vc_nv_commit(card);
}

/*
 * The same reference as the last operation: the same command again gets
 * the same receipt; anything else under that reference is 6A80.
 */
static int
resend(const struct vc_card *card, const struct op *op, uint16_t *sw)
{
	const struct vc_nv *nv = &card->nv;

	if (!nv->last_valid ||
	    memcmp(nv->last_data + D_REF, op->data + D_REF, REF_LEN) != 0)
		return 0;
	if (nv->last_ins != op->ins ||
	    memcmp(nv->last_data, op->data, TX_DATA_LEN) != 0)
		*sw = SW_WRONG_DATA;
	else
		*sw = SW_OK;
	return 1;
}

static uint16_t
purse(struct vc_card *card, struct vc_req *req, struct vc_rsp *r)
{
	const mic_apdu *a = &req->a;
	struct op op;
	uint16_t sw;

	if (a->p1 != 0x00 || a->p2 != 0x00)
		return SW_P1P2;
	/* The DEBIT ends the PIN's verified state when it returns (card.c). */
	if ((sw = vc_app_access(card, a->ins == INS_DEBIT ? ACC_DEBIT :
	    ACC_CREDIT)) != SW_OK)
		return sw;
	if (a->nc != TX_DATA_LEN)
		return SW_WRONG_LENGTH;
	memset(&op, 0, sizeof(op));
	op.ins = a->ins;
	op.type = a->ins == INS_DEBIT ? TYPE_DEBIT : TYPE_CREDIT;
	op.data = a->data;
	if (resend(card, &op, &sw)) {
		if (sw == SW_OK && vc_rsp_put(r, card->nv.last_rsp,
		    card->nv.last_rsp_len) < 0)
			return SW_UNKNOWN;
		return sw;
	}
	if ((sw = compute(card, &op)) != SW_OK)
		return sw;
	make_log(&op);
	if ((sw = make_receipt(card, &op)) != SW_OK ||
	    (sw = apply(card, &op)) != SW_OK)
		return sw;
	if (vc_rsp_put(r, card->nv.last_rsp, card->nv.last_rsp_len) < 0)
		return SW_UNKNOWN;
	return SW_OK;
}

/* DEBIT 80 54 00 00: the holder or a member pays at a hospital or pharmacy. */
uint16_t
vc_cmd_debit(struct vc_card *card, struct vc_req *req, struct vc_rsp *r)
{
	return purse(card, req, r);
}

/* CREDIT 80 52 00 00: the agency credits the yearly allocation. */
uint16_t
vc_cmd_credit(struct vc_card *card, struct vc_req *req, struct vc_rsp *r)
{
	return purse(card, req, r);
}
