/*
 * Paying at the counter with libmic's host side against the in-process
 * card: cards of a test PKI's chip factory personalized by the bureau code,
 * activated and credited, then mic_card_pay() / mic_card_credit() in real
 * SCP11a channels of the PKI's hospital and agency terminals. Every rule of
 * the point of sale has its own mic_rc; a card pulled before the receipt
 * arrived is resumed with the same mic_payment and debited once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mic/batch.h>
#include <mic/card.h>
#include <mic/perso.h>
#include <mic/pki.h>
#include <mic/receipt.h>
#include <mic/scp.h>
#include <mic/tx.h>

#include "internal.h"
#include "vcard.h"
#include "chipfactory.h"
#include "test_vcard_util.h"
#include "perso_test.h"
#include "trust_test.h"

static const uint8_t REF1[16] = { 0x50, 0x4F, 0x53, 1, 2, 3, 4, 5, 6, 7, 8,
	9, 10, 11, 12, 13 };
#define WHEN "20261206093000"
#define TERM "POS00042"

struct fix {
	char *dir, *tmp;
	vcf_factory *ours;
	mic_perso_cfg_t *cfg;
	mic_application_t *app;
	mic_trust_t *trust;
	mic_terminal_t *hospital, *agency;
	uint64_t next;
};

static struct fix *F;

/* A session on @p vc: the transport, the card; pulls after a DEBIT when
 * pull_debit is set (the card did it, the host never saw the answer). */
struct sess {
	vc_card *vc;
	mic_tx_t *tx;
	mic_card_t *card;
	int pull_debit;
	unsigned sent;     /* DEBITs and CREDITs the card got */
	unsigned apdus;    /* every APDU the card got */
	/* A PIN pad reader (sess_open_pad): what the holder types, or the
	 * reader's own answer (pad_sw) without the card. */
	const char *typed;
	uint16_t pad_sw;
	unsigned pad_calls;
};

static mic_rc
sess_transmit(void *arg, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
    size_t *rsp_len)
{
	struct sess *s = arg;
	mic_rc rc;

	if (cmd_len > 2 && (cmd[1] == 0x54 || cmd[1] == 0x52))
		s->sent++;
	s->apdus++;
	rc = vc_card_transmit(s->vc, cmd, cmd_len, rsp, rsp_len);
	if (rc == MIC_OK && s->pull_debit && cmd_len > 2 && cmd[1] == 0x54) {
		vc_card_power_off(s->vc);
		return MIC_ERR_CARD_REMOVED;
	}
	return rc;
}

#define PAD_CODE 0x42330012u

/* Set the @p nbits-bit field at bit @p bit (from the MSB of buf[0]). */
static void
put_bits(uint8_t *buf, unsigned bit, unsigned nbits, unsigned v)
{
	for (unsigned i = 0; i < nbits; i++) {
		unsigned b = bit + i, on = v >> (nbits - 1 - i) & 1;
		uint8_t m = (uint8_t)(0x80u >> (b % 8));

		buf[b / 8] = on ? (uint8_t)(buf[b / 8] | m) :
		    (uint8_t)(buf[b / 8] & ~m);
	}
}

/*
 * The reader: it lists FEATURE_VERIFY_PIN_DIRECT, and for it does what a
 * CCID reader does with the PIN_VERIFY_STRUCTURE: the typed digits go into
 * the APDU where bmFormatString says (bit units, BCD), their count where
 * bmPINLengthFormat and bmPINBlockString say, and the APDU to the card.
 */
static mic_rc
sess_control(void *arg, uint32_t code, const uint8_t *in, size_t in_len,
    uint8_t *out, size_t *out_len)
{
	static const uint8_t features[] = {
		0x01, 0x04, 0x42, 0x33, 0x00, 0x10,
		0x06, 0x04, 0x42, 0x33, 0x00, 0x12,
	};
	struct sess *s = arg;
	uint8_t apdu[64], rsp[MIC_APDU_RSP_MAX];
	size_t n, rlen = sizeof(rsp), digits;
	unsigned pos, lpos, lbits;
	mic_rc rc;

	if (code == MIC_TX_CTL_GET_FEATURE_REQUEST) {
		memcpy(out, features, sizeof(features));
		*out_len = sizeof(features);
		return MIC_OK;
	}
	assert_int_equal(code, PAD_CODE);
	s->pad_calls++;
	if (s->pad_sw != 0) {
		out[0] = (uint8_t)(s->pad_sw >> 8);
		out[1] = (uint8_t)s->pad_sw;
		*out_len = 2;
		return MIC_OK;
	}
	assert_true(in_len > 19);
	n = (size_t)in[15] | (size_t)in[16] << 8;
	assert_int_equal(in[17] | in[18], 0);
	assert_int_equal(n, in_len - 19);
	assert_true(n <= sizeof(apdu));
	memcpy(apdu, in + 19, n);
	assert_int_equal(in[2] & 0x83, 0x01);   /* bits, BCD */
	assert_int_equal(in[4] & 0x10, 0x00);   /* bits */
	pos = (in[2] >> 3 & 0x0F) + 40;         /* after CLA INS P1 P2 Lc */
	lpos = (in[4] & 0x0F) + 40;
	lbits = in[3] >> 4;
	digits = strlen(s->typed);
	put_bits(apdu, lpos, lbits, (unsigned)digits);
	for (size_t i = 0; i < digits; i++)
		put_bits(apdu, pos + 4 * (unsigned)i, 4,
		    (unsigned)(s->typed[i] - '0'));
	s->apdus++;
	rc = vc_card_transmit(s->vc, apdu, n, rsp, &rlen);
	mici_wipe(apdu, sizeof(apdu));
	if (rc != MIC_OK)
		return rc;
	assert_true(rlen >= 2);
	memcpy(out, rsp + rlen - 2, 2);
	*out_len = 2;
	return MIC_OK;
}

static void
sess_nop_close(void *io)
{
	(void)io;
}

static const mic_tx_ops pad_ops = {
	.transmit = sess_transmit,
	.close = sess_nop_close,
	.control = sess_control,
};

static mic_terminal_t *
terminal(const char *name)
{
	char *out = tt_path(F->tmp, name);
	mic_terminal_t *t = NULL;

	assert_int_equal(mic_pki_export_terminal(F->dir, name, out, 0),
	    MIC_OK);
	assert_int_equal(mic_terminal_load(&t, out, NULL, NULL), MIC_OK);
	free(out);
	return t;
}

static int
group_setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	char *trust;

	(void)state;
	assert_non_null(f);
	F = f;
	f->dir = tt_pki(MIC_SUITE_P256);
	f->tmp = tt_tmpdir();
	assert_int_equal(vcf_new(&f->ours, f->dir, NULL, 0), 0);
	assert_int_equal(mic_perso_cfg_load(&f->cfg, f->dir, "bureau"),
	    MIC_OK);
	assert_int_equal(mic_perso_cfg_set_bureau_code(f->cfg, "001"), MIC_OK);
	f->app = pt_app();
	trust = tt_path(f->dir, "trust");
	assert_int_equal(mic_trust_load(&f->trust, trust), MIC_OK);
	free(trust);
	f->hospital = terminal("hospital-pos");
	f->agency = terminal("agency");
	f->next = 1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	mic_terminal_free(&F->hospital);
	mic_terminal_free(&F->agency);
	mic_trust_free(&F->trust);
	mic_perso_cfg_free(&F->cfg);
	mic_application_free(&F->app);
	vcf_free(&F->ours);
	tt_rmrf(F->dir);
	tt_rmrf(F->tmp);
	free(F->dir);
	free(F->tmp);
	free(F);
	return 0;
}

/*
 * A card personalized by the bureau, its PIN changed, activated, credited
 * START_BALANCE, with family member 1 (may pay) and 2 (may not) bound;
 * record 3 is free.
 */
static vc_card *
active_card(void)
{
	static const uint8_t act[] = {
		0x20, 0x26, 0x03, 0x01, 0x09, 0x30, 0x00,
		'B', 'A', 'N', 'K', '0', '0', '0', '1',
	};
	mic_perso_result_t *res = NULL;
	uint8_t rec[FAMILY_RECLEN], data[40];
	char serial[32], why[256] = "";
	mic_tx_t *tx = NULL;
	vc_card *vc = NULL;

	snprintf(serial, sizeof(serial), "00112233445500%02u",
	    (unsigned)F->next);
	assert_int_equal(vc_card_new(&vc, serial, 0), MIC_OK);
	if (vcf_card(F->ours, vc, NULL, why, sizeof(why)) != 0)
		fail_msg("factory card %s: %s", serial, why);
	assert_int_equal(mic_tx_new_inproc(&tx, vc_card_transmit, vc), MIC_OK);
	assert_int_equal(mic_perso_card(F->cfg, tx, F->app, F->next++, &res),
	    MIC_OK);
	mic_tx_free(&tx);
	vc_card_reset(vc);
	select_app(vc);
	assert_int_equal(change_pin(vc, mic_perso_result_transport_pin(res),
	    HOLDER_PIN), 0x9000);
	mic_perso_result_free(&res);
	vc_card_test_set_role(vc, VC_ROLE_BANK);
	assert_int_equal(send_cmd(vc, 0x00, 0x44, 0x00, 0x00, act,
	    sizeof(act), 0, NULL), 0x9000);
	sample_member(rec, 1, 0x01);
	assert_int_equal(send_cmd(vc, 0x00, 0xDC, 1, MIC_SFI_FAMILY << 3 | 4,
	    rec, sizeof(rec), 0, NULL), 0x9000);
	sample_member(rec, 2, 0x00);
	assert_int_equal(send_cmd(vc, 0x00, 0xDC, 2, MIC_SFI_FAMILY << 3 | 4,
	    rec, sizeof(rec), 0, NULL), 0x9000);
	vc_card_test_set_role(vc, VC_ROLE_AGENCY);
	tx_data(data, START_BALANCE, 0xC0000001u, 0x00);
	assert_int_equal(credit(vc, data, NULL), 0x9000);
	vc_card_reset(vc);
	return vc;
}

/* Power on, SELECT, and SCP11a as @p term (NULL: no channel). */
static void
sess_open(struct sess *s, vc_card *vc, const mic_terminal_t *term)
{
	mic_card_check check;

	memset(s, 0, sizeof(*s));
	s->vc = vc;
	vc_card_reset(vc);
	assert_int_equal(mic_tx_new_inproc(&s->tx, sess_transmit, s), MIC_OK);
	assert_int_equal(mic_card_open(&s->card, s->tx), MIC_OK);
	if (term != NULL)
		assert_int_equal(mic_card_authenticate(s->card, NULL, term,
		    &check), MIC_OK);
}

/* As sess_open(), through a PIN pad reader. */
static void
sess_open_pad(struct sess *s, vc_card *vc, const mic_terminal_t *term)
{
	mic_card_check check;

	memset(s, 0, sizeof(*s));
	s->vc = vc;
	vc_card_reset(vc);
	assert_int_equal(mic_tx_new(&s->tx, &pad_ops, s), MIC_OK);
	assert_int_equal(mic_card_open(&s->card, s->tx), MIC_OK);
	if (term != NULL)
		assert_int_equal(mic_card_authenticate(s->card, NULL, term,
		    &check), MIC_OK);
}

static void
sess_close(struct sess *s)
{
	mic_scp_close(s->tx);
	mic_card_free(&s->card);
	mic_tx_free(&s->tx);
}

static void
account(struct sess *s, int64_t *balance, uint32_t *counter)
{
	mic_account_t *a = mic_account_new();

	assert_non_null(a);
	assert_int_equal(mic_card_read_account(s->card, a), MIC_OK);
	*balance = mic_account_balance(a);
	*counter = mic_account_counter(a);
	mic_account_free(&a);
}

static void
card_cert(struct sess *s, uint8_t *cert, size_t *len)
{
	assert_int_equal(mic_card_read_der(s->tx, MIC_SFI_CERT, cert,
	    CERT_LEN, len), MIC_OK);
}

static void
test_pay(void **state)
{
	vc_card *vc = active_card();
	uint8_t cert[CERT_LEN];
	mic_receipt_t *r = NULL;
	struct sess s;
	mic_payment p;
	size_t cert_len;
	int64_t bal;
	uint32_t ctr;
	unsigned sent;

	(void)state;
	sess_open(&s, vc, F->hospital);
	assert_int_equal(mic_payment_init(&p, s.card, 3000, 0, TERM, REF1,
	    WHEN), MIC_OK);
	assert_int_equal(strlen(p.card_id), 32);
	/* Without the PIN nothing is sent. */
	sent = s.sent;
	assert_int_equal(mic_card_pay(s.card, &p, &r), MIC_ERR_STATE);
	assert_int_equal(s.sent, sent);
	assert_null(r);
	assert_int_equal(mic_card_verify_pin(s.card, HOLDER_PIN, NULL), MIC_OK);
	assert_int_equal(mic_card_pay(s.card, &p, &r), MIC_OK);
	assert_non_null(r);
	assert_int_equal(mic_receipt_get_type(r), MIC_RECEIPT_DEBIT);
	assert_int_equal(mic_receipt_amount(r), 3000);
	assert_int_equal(mic_receipt_balance(r), START_BALANCE - 3000);
	assert_int_equal(mic_receipt_counter(r), 2);
	assert_int_equal(mic_receipt_payer(r), 0);
	assert_string_equal(mic_receipt_terminal(r), TERM);
	assert_string_equal(mic_receipt_time(r), WHEN);
	assert_memory_equal(mic_receipt_reference(r), REF1, 16);
	assert_string_equal(mic_receipt_card_id(r), p.card_id);
	card_cert(&s, cert, &cert_len);
	assert_int_equal(mic_receipt_verify(r, F->trust, cert, cert_len),
	    MIC_OK);
	/* One PIN per payment. */
	assert_false(mic_card_pin_verified(s.card));
	account(&s, &bal, &ctr);
	assert_int_equal(bal, START_BALANCE - 3000);
	assert_int_equal(ctr, 2);
	mic_receipt_free(&r);
	sess_close(&s);
	vc_card_free(&vc);
}

/* Pulled after the card debited and before the receipt came: the same
 * payment resent gives the same receipt, and one debit. */
static void
test_resume(void **state)
{
	vc_card *vc = active_card(), *other = active_card();
	mic_receipt_t *r = NULL, *again = NULL;
	mic_logrec_t *log = mic_logrec_new();
	struct sess s;
	mic_payment p, saved;
	size_t len1, len2;
	const uint8_t *e1, *e2;
	int64_t bal;
	uint32_t ctr;
	unsigned sent;

	(void)state;
	assert_non_null(log);
	sess_open(&s, vc, F->hospital);
	assert_int_equal(mic_payment_init(&p, s.card, 1250, 0, TERM, NULL,
	    NULL), MIC_OK);
	memcpy(&saved, &p, sizeof(p));     /* what a POS persists */
	assert_int_equal(mic_card_verify_pin(s.card, HOLDER_PIN, NULL), MIC_OK);
	s.pull_debit = 1;
	assert_int_equal(mic_card_pay(s.card, &p, &r), MIC_ERR_CARD_REMOVED);
	assert_null(r);
	sess_close(&s);

	/* Another card presented: refused before anything is sent. */
	sess_open(&s, other, F->hospital);
	assert_int_equal(mic_card_verify_pin(s.card, HOLDER_PIN, NULL), MIC_OK);
	sent = s.sent;
	assert_int_equal(mic_card_pay(s.card, &saved, &r),
	    MIC_ERR_CARD_CHANGED);
	assert_int_equal(s.sent, sent);
	account(&s, &bal, &ctr);
	assert_int_equal(bal, START_BALANCE);
	sess_close(&s);

	/* The right card again: the receipt of the DEBIT it did. */
	sess_open(&s, vc, F->hospital);
	assert_int_equal(mic_card_verify_pin(s.card, HOLDER_PIN, NULL), MIC_OK);
	assert_int_equal(mic_card_pay(s.card, &saved, &r), MIC_OK);
	assert_int_equal(mic_receipt_counter(r), 2);
	assert_int_equal(mic_receipt_balance(r), START_BALANCE - 1250);
	/* And once more: byte for byte the same receipt. */
	assert_int_equal(mic_card_verify_pin(s.card, HOLDER_PIN, NULL), MIC_OK);
	assert_int_equal(mic_card_pay(s.card, &saved, &again), MIC_OK);
	e1 = mic_receipt_encoding(r, &len1);
	e2 = mic_receipt_encoding(again, &len2);
	assert_int_equal(len1, len2);
	assert_memory_equal(e1, e2, len1);
	account(&s, &bal, &ctr);
	assert_int_equal(bal, START_BALANCE - 1250);
	assert_int_equal(ctr, 2);
	assert_int_equal(mic_card_read_log(s.card, 1, log), MIC_OK);
	assert_int_equal(mic_logrec_counter(log), 2);
	assert_int_equal(mic_logrec_amount(log), 1250);
	assert_int_equal(mic_card_read_log(s.card, 3, log),
	    MIC_SW_RECORD_NOT_FOUND);
	mic_receipt_free(&r);
	mic_receipt_free(&again);
	mic_logrec_free(&log);
	sess_close(&s);
	vc_card_free(&vc);
	vc_card_free(&other);
}

/* Pay @p amount by @p payer (reference byte @p ref) after the PIN. */
static mic_rc
pin_pay(struct sess *s, int64_t amount, uint8_t payer, uint8_t ref,
    mic_receipt_t **r)
{
	uint8_t reference[16];
	mic_payment p;

	memcpy(reference, REF1, 16);
	reference[15] = ref;
	assert_int_equal(mic_payment_init(&p, s->card, 1, payer, TERM,
	    reference, WHEN), MIC_OK);
	p.amount = amount;
	assert_int_equal(mic_card_verify_pin(s->card, HOLDER_PIN, NULL),
	    MIC_OK);
	return mic_card_pay(s->card, &p, r);
}

static void
test_rules(void **state)
{
	vc_card *vc = active_card();
	mic_receipt_t *r = NULL;
	struct sess s;
	mic_payment p;
	int64_t bal;
	uint32_t ctr;
	unsigned sent;
	int tries;

	(void)state;
	sess_open(&s, vc, F->hospital);
	/* The amount, on the host. */
	assert_int_equal(mic_payment_init(&p, s.card, 0, 0, TERM, NULL, NULL),
	    MIC_ERR_AMOUNT);
	assert_int_equal(mic_payment_init(&p, s.card, -5, 0, TERM, NULL, NULL),
	    MIC_ERR_AMOUNT);
	assert_int_equal(mic_payment_init(&p, s.card, INT64_MIN, 0, TERM, NULL,
	    NULL), MIC_ERR_AMOUNT);
	assert_int_equal(mic_payment_init(&p, s.card, 5, 0, "POS", NULL, NULL),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_card_verify_pin(s.card, HOLDER_PIN, NULL), MIC_OK);
	assert_int_equal(mic_payment_init(&p, s.card, 5, 0, TERM, NULL, NULL),
	    MIC_OK);
	p.amount = 0;
	sent = s.sent;
	assert_int_equal(mic_card_pay(s.card, &p, &r), MIC_ERR_AMOUNT);
	assert_int_equal(s.sent, sent);
	/* The card's rules. */
	assert_int_equal(pin_pay(&s, START_BALANCE + 1, 0, 1, &r),
	    MIC_ERR_INSUFFICIENT_BALANCE);
	assert_int_equal(pin_pay(&s, INT64_MAX, 0, 2, &r),
	    MIC_ERR_INSUFFICIENT_BALANCE);
	assert_int_equal(pin_pay(&s, 100, 2, 3, &r), MIC_ERR_PAYER_MAY_NOT_PAY);
	assert_int_equal(pin_pay(&s, 100, 3, 4, &r), MIC_ERR_PAYER_NOT_BOUND);
	assert_int_equal(pin_pay(&s, 100, 200, 5, &r), MIC_ERR_PAYER_NOT_BOUND);
	assert_null(r);
	/* A family member who may pay. */
	assert_int_equal(pin_pay(&s, 700, 1, 6, &r), MIC_OK);
	assert_int_equal(mic_receipt_payer(r), 1);
	assert_int_equal(mic_receipt_balance(r), START_BALANCE - 700);
	mic_receipt_free(&r);
	/* The same reference with another amount. */
	assert_int_equal(pin_pay(&s, 701, 1, 6, &r), MIC_ERR_REFERENCE_REUSED);
	account(&s, &bal, &ctr);
	assert_int_equal(bal, START_BALANCE - 700);
	assert_int_equal(ctr, 2);
	/* Not a payment terminal's channel: the card says so. */
	sess_close(&s);
	sess_open(&s, vc, F->agency);
	assert_int_equal(pin_pay(&s, 100, 0, 7, &r), MIC_SW_SECURITY_STATUS);
	sess_close(&s);
	/* Wrong PINs, then blocked. */
	sess_open(&s, vc, F->hospital);
	assert_int_equal(mic_card_verify_pin(s.card, OTHER_PIN, &tries),
	    MIC_ERR_PIN_WRONG);
	assert_int_equal(tries, 2);
	assert_int_equal(mic_card_verify_pin(s.card, OTHER_PIN, &tries),
	    MIC_ERR_PIN_WRONG);
	assert_int_equal(tries, 1);
	assert_int_equal(mic_card_verify_pin(s.card, OTHER_PIN, &tries),
	    MIC_ERR_PIN_BLOCKED);
	assert_int_equal(tries, 0);
	assert_int_equal(mic_card_verify_pin(s.card, HOLDER_PIN, &tries),
	    MIC_ERR_PIN_BLOCKED);
	sess_close(&s);
	vc_card_free(&vc);
}

/* Blocked, terminated, not yet active: refused before any DEBIT. */
static void
test_states(void **state)
{
	static const struct {
		uint8_t ins;
		mic_rc want;
	} st[] = {
		{ 0x04, MIC_ERR_CARD_BLOCKED },     /* DEACTIVATE FILE */
		{ 0xE6, MIC_ERR_CARD_TERMINATED },  /* TERMINATE DF */
	};
	mic_receipt_t *r = NULL;
	struct sess s;
	mic_payment p;
	size_t i;
	unsigned sent;

	(void)state;
	for (i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		vc_card *vc = active_card();

		sess_open(&s, vc, F->hospital);
		assert_int_equal(mic_payment_init(&p, s.card, 100, 0, TERM,
		    NULL, NULL), MIC_OK);
		sess_close(&s);
		select_app(vc);
		vc_card_test_set_role(vc, VC_ROLE_BANK);
		assert_int_equal(send_cmd(vc, 0x00, st[i].ins, 0, 0,
		    BYTES(0x01), 1, 0, NULL), 0x9000);
		memset(&s, 0, sizeof(s));
		s.vc = vc;
		vc_card_reset(vc);
		assert_int_equal(mic_tx_new_inproc(&s.tx, sess_transmit, &s),
		    MIC_OK);
		assert_int_equal(mic_card_open(&s.card, s.tx), MIC_OK);
		assert_int_equal(mic_card_verify_pin(s.card, HOLDER_PIN, NULL),
		    st[i].want);
		sent = s.sent;
		assert_int_equal(mic_card_pay(s.card, &p, &r), st[i].want);
		assert_int_equal(mic_card_credit(s.card, &p, &r), st[i].want);
		assert_int_equal(s.sent, sent);
		sess_close(&s);
		vc_card_free(&vc);
	}
}

static void
test_credit(void **state)
{
	vc_card *vc = active_card();
	mic_receipt_t *r = NULL;
	struct sess s;
	mic_payment p;
	int64_t bal;
	uint32_t ctr;

	(void)state;
	sess_open(&s, vc, F->agency);
	assert_int_equal(mic_payment_init(&p, s.card, 50000, 0, "AGENCY01",
	    NULL, WHEN), MIC_OK);
	assert_int_equal(mic_card_credit(s.card, &p, &r), MIC_OK);
	assert_int_equal(mic_receipt_get_type(r), MIC_RECEIPT_CREDIT);
	assert_int_equal(mic_receipt_balance(r), START_BALANCE + 50000);
	mic_receipt_free(&r);
	/* Resent: the same receipt, one credit. */
	assert_int_equal(mic_card_credit(s.card, &p, &r), MIC_OK);
	assert_int_equal(mic_receipt_balance(r), START_BALANCE + 50000);
	mic_receipt_free(&r);
	/* A credit the balance cannot hold. */
	assert_int_equal(mic_payment_init(&p, s.card, INT64_MAX, 0,
	    "AGENCY01", NULL, WHEN), MIC_OK);
	assert_int_equal(mic_card_credit(s.card, &p, &r), MIC_ERR_AMOUNT);
	account(&s, &bal, &ctr);
	assert_int_equal(bal, START_BALANCE + 50000);
	assert_int_equal(ctr, 2);
	sess_close(&s);
	/* A hospital may not credit. */
	sess_open(&s, vc, F->hospital);
	assert_int_equal(mic_payment_init(&p, s.card, 10, 0, TERM, NULL, WHEN),
	    MIC_OK);
	assert_int_equal(mic_card_credit(s.card, &p, &r),
	    MIC_SW_SECURITY_STATUS);
	sess_close(&s);
	vc_card_free(&vc);
}

static void
test_invalid(void **state)
{
	mic_receipt_t *r = (mic_receipt_t *)state;
	mic_payment p;
	uint8_t d[40];

	memset(&p, 0, sizeof(p));
	assert_int_equal(mic_card_pay(NULL, &p, &r), MIC_ERR_INVALID_ARGUMENT);
	assert_null(r);
	assert_int_equal(mic_card_credit(NULL, &p, NULL),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_payment_init(NULL, NULL, 1, 0, TERM, NULL, NULL),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_payment_encode(&p, d), MIC_ERR_AMOUNT);
	p.amount = 0x0BB8;
	memcpy(p.time, "20261123093000", 15);
	memcpy(p.terminal, "HOSP0001", 9);
	for (int i = 0; i < 16; i++)
		p.reference[i] = (uint8_t)i;
	/* The DEBIT data of card profile section 8. */
	assert_int_equal(mic_payment_encode(&p, d), MIC_OK);
	assert_memory_equal(d, BYTES(0, 0, 0, 0, 0, 0, 0x0B, 0xB8, 0x20, 0x26,
	    0x11, 0x23, 0x09, 0x30, 0x00, 'H', 'O', 'S', 'P', '0', '0', '0',
	    '1', 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0), 40);
	memcpy(p.time, "2026112309300A", 15);
	assert_int_equal(mic_payment_encode(&p, d), MIC_ERR_INVALID_ARGUMENT);
}

/*
 * The PIN on the reader's pad, inside the hospital's SCP11a channel: the
 * reader sends VERIFY in plain, the channel stays, and the PIN counts for
 * the DEBIT. Every answer of the card and of the reader has its mic_rc.
 */
static void
test_pinpad(void **state)
{
	vc_card *vc = active_card();
	mic_receipt_t *r = NULL;
	struct sess s;
	mic_payment p;
	unsigned apdus;
	int tries;

	(void)state;
	/* No pad: nothing sent, the caller asks for the PIN itself. */
	sess_open(&s, vc, F->hospital);
	assert_false(mic_tx_has_pinpad(s.tx));
	apdus = s.apdus;
	assert_int_equal(mic_card_verify_pin_pad(s.card, &tries),
	    MIC_ERR_UNSUPPORTED);
	assert_int_equal(tries, -1);
	assert_int_equal(s.apdus, apdus);
	sess_close(&s);

	sess_open_pad(&s, vc, F->hospital);
	assert_true(mic_tx_has_pinpad(s.tx));
	assert_int_equal(mic_tx_get_sm_state(s.tx), MIC_TX_SM_ON);
	/* The reader's own answers: the card never saw a VERIFY. */
	apdus = s.apdus;
	s.pad_sw = 0x6400;
	assert_int_equal(mic_card_verify_pin_pad(s.card, &tries),
	    MIC_ERR_TIMEOUT);
	assert_int_equal(tries, -1);
	s.pad_sw = 0x6401;
	assert_int_equal(mic_card_verify_pin_pad(s.card, &tries),
	    MIC_ERR_CANCELLED);
	s.pad_sw = 0x6403;
	assert_int_equal(mic_card_verify_pin_pad(s.card, &tries),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(s.apdus, apdus);
	assert_int_equal(s.pad_calls, 3);
	s.pad_sw = 0;
	/* The card's: a wrong PIN, then the right one. */
	s.typed = "654321";
	assert_int_equal(mic_card_verify_pin_pad(s.card, &tries),
	    MIC_ERR_PIN_WRONG);
	assert_int_equal(tries, 2);
	assert_false(mic_card_pin_verified(s.card));
	s.typed = HOLDER_PIN;
	assert_int_equal(mic_card_verify_pin_pad(s.card, &tries), MIC_OK);
	assert_true(mic_card_pin_verified(s.card));
	assert_int_equal(mic_tx_get_sm_state(s.tx), MIC_TX_SM_ON);
	/* The card resets the counter to 3: asked without a PIN, 9000. */
	assert_int_equal(mic_card_verify_pin(s.card, NULL, &tries), MIC_OK);
	/* The PIN from the pad and the protected DEBIT, in one session. */
	assert_int_equal(mic_payment_init(&p, s.card, 700, 0, TERM, REF1,
	    WHEN), MIC_OK);
	assert_int_equal(mic_card_pay(s.card, &p, &r), MIC_OK);
	assert_int_equal(mic_receipt_amount(r), 700);
	assert_int_equal(mic_receipt_balance(r), START_BALANCE - 700);
	mic_receipt_free(&r);
	/* A lost channel: nothing goes out, not even through the pad. */
	mici_tx_sm_lose(s.tx);
	apdus = s.pad_calls;
	assert_int_equal(mic_card_verify_pin_pad(s.card, &tries),
	    MIC_ERR_SM_CLOSED);
	assert_int_equal(s.pad_calls, apdus);
	sess_close(&s);

	/* Three wrong PINs block it; then 6983. */
	sess_open_pad(&s, vc, NULL);
	s.typed = "111111";
	assert_int_equal(mic_card_verify_pin_pad(s.card, &tries),
	    MIC_ERR_PIN_WRONG);
	assert_int_equal(tries, 2);
	assert_int_equal(mic_card_verify_pin_pad(s.card, &tries),
	    MIC_ERR_PIN_WRONG);
	assert_int_equal(tries, 1);
	assert_int_equal(mic_card_verify_pin_pad(s.card, &tries),
	    MIC_ERR_PIN_BLOCKED);
	assert_int_equal(tries, 0);
	s.typed = HOLDER_PIN;
	assert_int_equal(mic_card_verify_pin_pad(s.card, &tries),
	    MIC_ERR_PIN_BLOCKED);
	assert_int_equal(tries, 0);
	assert_false(mic_card_pin_verified(s.card));
	sess_close(&s);
	vc_card_free(&vc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_pay),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_credit),
		cmocka_unit_test(test_pinpad),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
