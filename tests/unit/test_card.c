/*
 * mic_card_t against a scripted fake reader: each step names the exact
 * APDU libmic must send and what the "card" answers, so the tests check the
 * wire (one SELECT and READ BINARY by SFI, never a probe), the PIN block,
 * the transactions, and the reset hook's verdicts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mic/card.h>
#include <mic/tx.h>

#include "internal.h"

#define MAX_STEPS 32
#define HEX_MAX 1024

#define SELECT_MIC "00A4040009D1560000014D494301 00"
#define SERIAL_A "0102030405060708"
#define SERIAL_B "0102030405060709"

#define CARD_TMPL "664A" \
	"8020343430333030443135363030303030313131303030313030303030303030" \
	"3432" "8109413132333435363738" "820101" "83020100" \
	"4206343430333030" "5F250420261123" "5F240420361122"
#define HOLDER_TMPL "6534" \
	"8012343430333035323030303032323931323332" "5F2006E5BCA0E4B889" \
	"5F350131" "5F2B0420000229" "8106343430333035" "82023031"
#define INSURANCE_TMPL "E114" "800131" "8106343430333030" "820420200101" \
	"830101"
#define ACCOUNT_TMPL "E410" "800800000000000186A0" "810400000007"
#define ACTIVATION_TMPL "E216" "800720261123093000" "8108504F533030303031" \
	"820103"
#define MEMBER_TMPL "E32A" "80023330" \
	"8112333130313135313939323132333130303231" "5F2006E69D8EE59B9B" \
	"820101" "830420261201"
#define LOG_REC "00000007" "01" "00000000000004D2" "00000000000181CE" \
	"20261123093000" "504F533030303031" "00" "0102030405060708090A0B"

struct step {
	uint8_t *cmd;    /* NULL: any command */
	size_t cmd_len;
	uint8_t *rsp;
	size_t rsp_len;
	mic_rc rc;       /* returned instead of a response when not MIC_OK */
};

struct fake {
	struct step steps[MAX_STEPS];
	size_t n, pos;
	int in_tx, begins, ends, reconnects, closes;
};

struct ctx {
	struct fake f;
	mic_tx_t *tx;
	mic_card_t *card;
	uint8_t trace[8][64];  /* the commands the trace hook saw */
	size_t trace_len[8];
	size_t ntrace;
};

static uint8_t *
hex(const char *s, size_t *len)
{
	uint8_t *p = malloc(strlen(s) / 2 + 1);

	assert_non_null(p);
	assert_int_equal(mici_hex_decode(s, p, strlen(s) / 2 + 1, len), MIC_OK);
	return p;
}

static void
expect(struct ctx *c, const char *cmd, const char *rsp)
{
	struct step *s;

	assert_true(c->f.n < MAX_STEPS);
	s = &c->f.steps[c->f.n++];
	s->cmd = cmd != NULL ? hex(cmd, &s->cmd_len) : NULL;
	s->rsp = hex(rsp, &s->rsp_len);
}

static void
expect_rc(struct ctx *c, const char *cmd, mic_rc rc)
{
	struct step *s;

	assert_true(c->f.n < MAX_STEPS);
	s = &c->f.steps[c->f.n++];
	s->cmd = hex(cmd, &s->cmd_len);
	s->rc = rc;
}

/* A response: a template padded with 00 to @p size, then @p sw. */
static void
expect_file(struct ctx *c, const char *cmd, const char *tmpl, size_t size,
    const char *sw)
{
	char buf[HEX_MAX];
	size_t n = strlen(tmpl);

	assert_true(2 * size + 5 < sizeof(buf) && n <= 2 * size);
	memcpy(buf, tmpl, n);
	memset(buf + n, '0', 2 * size - n);
	snprintf(buf + 2 * size, sizeof(buf) - 2 * size, "%s", sw);
	expect(c, cmd, buf);
}

/* The FCI of the MIC application in @p state with @p serial, then @p sw. */
static void
expect_select(struct ctx *c, int state, const char *serial, const char *sw)
{
	char buf[HEX_MAX];

	snprintf(buf, sizeof(buf), "6F1A 8409D1560000014D494301 A50D 8001%02X"
	    "8108%s %s", state, serial, sw);
	expect(c, SELECT_MIC, buf);
}

static mic_rc
fake_transmit(void *arg, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
    size_t *rsp_len)
{
	struct fake *f = arg;
	struct step *s;

	assert_true(f->in_tx);
	if (f->pos >= f->n)
		fail_msg("unexpected command %zu (INS %02X)", f->pos + 1,
		    cmd_len > 1 ? cmd[1] : 0);
	s = &f->steps[f->pos++];
	if (s->cmd != NULL) {
		if (cmd_len != s->cmd_len || memcmp(cmd, s->cmd, cmd_len)) {
			char got[HEX_MAX] = "";

			for (size_t i = 0; i < cmd_len && i < 200; i++)
				snprintf(got + 2 * i, 3, "%02X", cmd[i]);
			fail_msg("step %zu: sent %s", f->pos, got);
		}
	}
	if (s->rc != MIC_OK)
		return s->rc;
	assert_true(s->rsp_len <= *rsp_len);
	memcpy(rsp, s->rsp, s->rsp_len);
	*rsp_len = s->rsp_len;
	return MIC_OK;
}

static mic_rc
fake_begin(void *arg)
{
	struct fake *f = arg;

	assert_false(f->in_tx);
	f->in_tx = 1;
	f->begins++;
	return MIC_OK;
}

static mic_rc
fake_end(void *arg)
{
	struct fake *f = arg;

	assert_true(f->in_tx);
	f->in_tx = 0;
	f->ends++;
	return MIC_OK;
}

static mic_rc
fake_reconnect(void *arg)
{
	struct fake *f = arg;

	f->reconnects++;
	f->in_tx = 0;
	return MIC_OK;
}

static void
fake_close(void *arg)
{
	struct fake *f = arg;

	f->closes++;
}

static const mic_tx_ops fake_ops = {
	.transmit = fake_transmit,
	.reconnect = fake_reconnect,
	.begin = fake_begin,
	.end = fake_end,
	.close = fake_close,
};

static void
trace(void *arg, int dir, const uint8_t *buf, size_t len)
{
	struct ctx *c = arg;

	if (dir != MIC_TRACE_CMD || c->ntrace >= 8 || len > 64)
		return;
	memcpy(c->trace[c->ntrace], buf, len);
	c->trace_len[c->ntrace++] = len;
}

static int
setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (c == NULL || mic_tx_new(&c->tx, &fake_ops, &c->f) != MIC_OK)
		return -1;
	mic_tx_set_trace(c->tx, trace, c);
	*state = c;
	return 0;
}

static int
teardown(void **state)
{
	struct ctx *c = *state;
	size_t i;

	mic_card_free(&c->card);
	assert_null(c->card);
	mic_tx_free(&c->tx);
	assert_int_equal(c->f.closes, 1);
	/* Every scripted APDU was sent; every transaction was closed. */
	assert_int_equal(c->f.pos, c->f.n);
	assert_false(c->f.in_tx);
	for (i = 0; i < c->f.n; i++) {
		free(c->f.steps[i].cmd);
		free(c->f.steps[i].rsp);
	}
	free(c);
	return 0;
}

/* Open an active card with serial A: one SELECT. */
static void
open_active(struct ctx *c)
{
	expect_select(c, MIC_STATE_ACTIVE, SERIAL_A, "9000");
	assert_int_equal(mic_card_open(&c->card, c->tx), MIC_OK);
	assert_non_null(c->card);
}

/* --- open ------------------------------------------------------------------ */

static void
test_open(void **state)
{
	struct ctx *c = *state;
	uint8_t serial[8], want[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	open_active(c);
	assert_int_equal(c->f.pos, 1);
	assert_int_equal(mic_card_state(c->card), MIC_STATE_ACTIVE);
	assert_int_equal(mic_card_chip_serial(c->card, serial, sizeof(serial)),
	    MIC_OK);
	assert_memory_equal(serial, want, 8);
	assert_int_equal(mic_card_chip_serial(c->card, serial, 7),
	    MIC_ERR_BUFFER_TOO_SMALL);
	assert_int_equal(mic_card_chip_serial(NULL, serial, 8),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_false(mic_card_pin_verified(c->card));
	assert_null(mic_card_info(c->card));
	assert_null(mic_card_holder(c->card));
	assert_null(mic_card_insurance(c->card));
	assert_int_equal(mic_card_state(NULL), 0);
}

static void
test_open_states(void **state)
{
	static const struct {
		int st;
		const char *sw;
	} ok[] = {
		{ MIC_STATE_BLANK, "9000" },
		{ MIC_STATE_PERSONALIZED, "6283" },
		{ MIC_STATE_BLOCKED, "6283" },
		{ MIC_STATE_TERMINATED, "6285" },
	};
	struct ctx *c = *state;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		expect_select(c, ok[i].st, SERIAL_A, ok[i].sw);
		assert_int_equal(mic_card_open(&c->card, c->tx), MIC_OK);
		assert_int_equal(mic_card_state(c->card), ok[i].st);
		mic_card_free(&c->card);
	}
}

static void
test_open_refused(void **state)
{
	struct ctx *c = *state;
	mic_card_t *card = (mic_card_t *)c;

	/* No such application, and other status words. */
	expect(c, SELECT_MIC, "6A82");
	assert_int_equal(mic_card_open(&card, c->tx), MIC_SW_FILE_NOT_FOUND);
	assert_null(card);
	expect(c, SELECT_MIC, "6D00");
	assert_int_equal(mic_card_open(&card, c->tx),
	    MIC_RC_SW(0x6D00));
	/* State and status word disagree. */
	expect_select(c, MIC_STATE_ACTIVE, SERIAL_A, "6283");
	assert_int_equal(mic_card_open(&card, c->tx), MIC_ERR_RESPONSE);
	expect_select(c, MIC_STATE_BLOCKED, SERIAL_A, "9000");
	assert_int_equal(mic_card_open(&card, c->tx), MIC_ERR_RESPONSE);
	expect_select(c, MIC_STATE_ACTIVE, SERIAL_A, "6285");
	assert_int_equal(mic_card_open(&card, c->tx), MIC_ERR_RESPONSE);
	/* Another application's FCI. */
	expect(c, SELECT_MIC, "6F1A 8409D1560000014D494302 A50D 800103"
	    "8108" SERIAL_A " 9000");
	assert_int_equal(mic_card_open(&card, c->tx), MIC_ERR_RESPONSE);
	/* Hostile FCIs. */
	expect(c, SELECT_MIC, "6F1A 8409D1560000014D494301 9000");
	assert_int_equal(mic_card_open(&card, c->tx), MIC_ERR_TLV_TRUNCATED);
	expect(c, SELECT_MIC, "9000");
	assert_int_equal(mic_card_open(&card, c->tx), MIC_ERR_NOT_FOUND);
	expect(c, SELECT_MIC, "6F0B 8409D1560000014D494301 9000");
	assert_int_equal(mic_card_open(&card, c->tx), MIC_ERR_MISSING);
	expect(c, SELECT_MIC, "6F1A 8409D1560000014D494301 A50D 800109"
	    "8108" SERIAL_A " 9000");
	assert_int_equal(mic_card_open(&card, c->tx), MIC_ERR_VALUE);
	/* The reader fails. */
	expect_rc(c, SELECT_MIC, MIC_ERR_CARD_REMOVED);
	assert_int_equal(mic_card_open(&card, c->tx), MIC_ERR_CARD_REMOVED);
	assert_null(card);
	assert_int_equal(mic_card_open(NULL, c->tx), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_card_open(&card, NULL), MIC_ERR_INVALID_ARGUMENT);
}

/* --- reading the public files ---------------------------------------------- */

/* EF.CARD, EF.HOLDER, EF.INSURANCE: MIC_READ_ALL. */
static void
expect_all(struct ctx *c)
{
	expect_file(c, "00B0810000", CARD_TMPL, MIC_EF_CARD_SIZE, "9000");
	expect_file(c, "00B0820000", HOLDER_TMPL, MIC_EF_HOLDER_SIZE, "9000");
	expect_file(c, "00B0830000", INSURANCE_TMPL, MIC_EF_INSURANCE_SIZE,
	    "9000");
}

/* Without a channel or the PIN, the card gives EF.CARD only. */
static void
test_read_public(void **state)
{
	struct ctx *c = *state;

	open_active(c);
	expect_file(c, "00B0810000", CARD_TMPL, MIC_EF_CARD_SIZE, "9000");
	assert_int_equal(mic_card_read(c->card, MIC_READ_PUBLIC), MIC_OK);
	assert_string_equal(mic_cardinfo_id(mic_card_info(c->card)),
	    "440300D1560000011100010000000042");
	assert_null(mic_card_holder(c->card));
	/* The holder's files: 6982, and nothing replaced. */
	expect(c, "00B0820000", "6982");
	assert_int_equal(mic_card_read(c->card, MIC_READ_PERSONAL),
	    MIC_SW_SECURITY_STATUS);
	assert_null(mic_card_holder(c->card));
	assert_null(mic_card_insurance(c->card));
}

/*
 * A trace shows a personal file's header, length and status word, its
 * data as '*'; EF.CARD as it is. mic_tx_set_trace_personal() opts in.
 */
struct rsp_trace {
	uint8_t buf[512];
	size_t len;
};

static void
trace_rsp(void *arg, int dir, const uint8_t *buf, size_t len)
{
	struct rsp_trace *t = arg;

	if (dir != MIC_TRACE_RSP || len > sizeof(t->buf))
		return;
	memcpy(t->buf, buf, len);
	t->len = len;
}

static void
test_trace_personal(void **state)
{
	struct ctx *c = *state;
	struct rsp_trace t;
	mic_activation_t *act = mic_activation_new();

	assert_non_null(act);
	open_active(c);
	memset(&t, 0, sizeof(t));
	mic_tx_set_trace(c->tx, trace_rsp, &t);
	expect_file(c, "00B0820000", HOLDER_TMPL, MIC_EF_HOLDER_SIZE, "9000");
	assert_int_equal(mic_card_read(c->card, MIC_READ_HOLDER), MIC_OK);
	assert_string_equal(mic_holder_ssn(mic_card_holder(c->card)),
	    "440305200002291232");
	assert_int_equal(t.len, MIC_EF_HOLDER_SIZE + 2);
	for (size_t i = 0; i < MIC_EF_HOLDER_SIZE; i++)
		assert_int_equal(t.buf[i], '*');
	assert_memory_equal(t.buf + MIC_EF_HOLDER_SIZE, "\x90\x00", 2);
	/* EF.ACTIVATION, read on its own, likewise. */
	expect_file(c, "00B0860000", "", 48, "9000");
	t.len = 0;
	(void)mic_card_read_activation(c->card, act);
	assert_int_equal(t.len, 48 + 2);
	assert_int_equal(t.buf[0], '*');
	/* EF.CARD is public. */
	expect_file(c, "00B0810000", CARD_TMPL, MIC_EF_CARD_SIZE, "9000");
	assert_int_equal(mic_card_read(c->card, MIC_READ_CARD), MIC_OK);
	assert_int_equal(t.buf[0], 0x66);
	/* The caller opts in. */
	mic_tx_set_trace_personal(c->tx, 1);
	expect_file(c, "00B0820000", HOLDER_TMPL, MIC_EF_HOLDER_SIZE, "9000");
	assert_int_equal(mic_card_read(c->card, MIC_READ_HOLDER), MIC_OK);
	assert_int_equal(t.buf[0], 0x65);
	mic_tx_set_trace_personal(c->tx, 0);
	mic_tx_set_trace(c->tx, trace, c);
	mic_activation_free(&act);
}

static void
test_read_all(void **state)
{
	struct ctx *c = *state;
	const mic_holder_t *h;
	int begins;

	open_active(c);
	begins = c->f.begins;
	expect_all(c);
	assert_int_equal(mic_card_read(c->card, MIC_READ_ALL), MIC_OK);
	/* One SELECT and three READ BINARY by SFI, the reads in one transaction. */
	assert_int_equal(c->f.pos, 4);
	assert_int_equal(c->f.begins, begins + 1);
	assert_int_equal(c->f.ends, c->f.begins);
	assert_string_equal(mic_cardinfo_id(mic_card_info(c->card)),
	    "440300D1560000011100010000000042");
	assert_string_equal(mic_cardinfo_expiry_date(mic_card_info(c->card)),
	    "20361122");
	assert_non_null(h = mic_card_holder(c->card));
	assert_string_equal(mic_holder_ssn(h), "440305200002291232");
	assert_string_equal(mic_holder_name(h), "\xE5\xBC\xA0\xE4\xB8\x89");
	assert_string_equal(mic_holder_gender(h), "1");
	assert_int_equal(mic_insurance_scheme(mic_card_insurance(c->card)),
	    MIC_SCHEME_EMPLOYEE);
}

static void
test_read_some(void **state)
{
	struct ctx *c = *state;

	open_active(c);
	expect_file(c, "00B0820000", HOLDER_TMPL, MIC_EF_HOLDER_SIZE, "9000");
	assert_int_equal(mic_card_read(c->card, MIC_READ_HOLDER), MIC_OK);
	assert_null(mic_card_info(c->card));
	assert_non_null(mic_card_holder(c->card));
	/* Le 00 past the file's end: some cards say 6282; the data is whole. */
	expect(c, "00B0810000", CARD_TMPL "6282");
	assert_int_equal(mic_card_read(c->card, MIC_READ_CARD), MIC_OK);
	assert_string_equal(mic_cardinfo_number(mic_card_info(c->card)),
	    "A12345678");
	/* Nothing to read, or bits this version does not know: no APDU. */
	assert_int_equal(mic_card_read(c->card, 0), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_card_read(c->card, 0x08),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_card_read(NULL, MIC_READ_PUBLIC),
	    MIC_ERR_INVALID_ARGUMENT);
}

/* A whole file by SFI, then by offset: two short READ BINARY for 300 bytes. */
static void
test_read_file(void **state)
{
	struct ctx *c = *state;
	uint8_t buf[300];
	size_t i;

	expect_file(c, "00B0850000", "AA", 256, "9000");
	expect_file(c, "00B001002C", "BB", 44, "9000");
	assert_int_equal(mic_card_read_file(c->tx, 5, buf, sizeof(buf)),
	    MIC_OK);
	assert_int_equal(c->f.pos, 2);
	assert_int_equal(buf[0], 0xAA);
	assert_int_equal(buf[256], 0xBB);
	for (i = 1; i < 256; i++)
		assert_int_equal(buf[i], 0);
	/* An answer without data would loop for ever: refused. */
	expect(c, "00B0850010", "9000");
	assert_int_equal(mic_card_read_file(c->tx, 5, buf, 16),
	    MIC_ERR_RESPONSE);
	/* No APDU for bad arguments. */
	assert_int_equal(mic_card_read_file(c->tx, 0, buf, 16),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_card_read_file(c->tx, 31, buf, 16),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_card_read_file(NULL, 5, buf, 16),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_card_read_file(c->tx, 5, NULL, 16),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(c->f.pos, 3);
}

/* A read that fails part-way replaces nothing. */
static void
test_read_atomic(void **state)
{
	struct ctx *c = *state;
	const mic_holder_t *before;

	open_active(c);
	expect_all(c);
	assert_int_equal(mic_card_read(c->card, MIC_READ_ALL), MIC_OK);
	before = mic_card_holder(c->card);

	/* The card refuses the third file. */
	expect_file(c, "00B0810000", CARD_TMPL, MIC_EF_CARD_SIZE, "9000");
	expect_file(c, "00B0820000", HOLDER_TMPL, MIC_EF_HOLDER_SIZE, "9000");
	expect(c, "00B0830000", "6985");
	assert_int_equal(mic_card_read(c->card, MIC_READ_ALL),
	    MIC_SW_CONDITIONS);
	assert_ptr_equal(mic_card_holder(c->card), before);
	assert_int_equal(c->f.ends, c->f.begins);

	/* A holder file with the gender of another number. */
	expect_file(c, "00B0810000", CARD_TMPL, MIC_EF_CARD_SIZE, "9000");
	expect_file(c, "00B0820000", "6534"
	    "8012343430333035323030303032323931323332" "5F2006E5BCA0E4B889"
	    "5F350132" "5F2B0420000229" "8106343430333035" "82023031",
	    MIC_EF_HOLDER_SIZE, "9000");
	assert_int_equal(mic_card_read(c->card, MIC_READ_ALL),
	    MIC_ERR_MISMATCH);
	assert_ptr_equal(mic_card_holder(c->card), before);

	/* A blank card: never written, all 00; it stops at the first file. */
	expect_file(c, "00B0810000", "", MIC_EF_CARD_SIZE, "9000");
	assert_int_equal(mic_card_read(c->card, MIC_READ_ALL),
	    MIC_ERR_NOT_FOUND);
	/* The reader fails mid-way. */
	expect_rc(c, "00B0810000", MIC_ERR_CARD_REMOVED);
	assert_int_equal(mic_card_read(c->card, MIC_READ_ALL),
	    MIC_ERR_CARD_REMOVED);
	assert_ptr_equal(mic_card_holder(c->card), before);
	assert_int_equal(c->f.ends, c->f.begins);
}

/* --- PIN --------------------------------------------------------------------- */

static void
test_verify_pin(void **state)
{
	struct ctx *c = *state;
	int tries = 99;

	open_active(c);
	c->ntrace = 0;
	expect(c, "0020008108 2612 3456 FFFF FFFF", "9000");
	assert_int_equal(mic_card_verify_pin(c->card, "123456", &tries),
	    MIC_OK);
	assert_int_equal(tries, -1);
	assert_true(mic_card_pin_verified(c->card));
	/* The trace saw the header, never the block. */
	assert_int_equal(c->ntrace, 1);
	assert_int_equal(c->trace_len[0], 13);
	assert_memory_equal(c->trace[0], "\x00\x20\x00\x81\x08", 5);
	assert_memory_equal(c->trace[0] + 5, "********", 8);

	/* Odd and even lengths, up to 12 digits. */
	expect(c, "0020008108 2712 3456 7FFF FFFF", "9000");
	assert_int_equal(mic_card_verify_pin(c->card, "1234567", NULL),
	    MIC_OK);
	expect(c, "0020008108 2C98 7654 3210 98FF", "9000");
	assert_int_equal(mic_card_verify_pin(c->card, "987654321098", NULL),
	    MIC_OK);
}

static void
test_verify_pin_wrong(void **state)
{
	struct ctx *c = *state;
	int tries = 99;

	open_active(c);
	expect(c, "0020008108 2612 3456 FFFF FFFF", "9000");
	assert_int_equal(mic_card_verify_pin(c->card, "123456", &tries),
	    MIC_OK);
	/* docs/card-profile.md section 8: twice wrong, then ask. */
	expect(c, "0020008108 2665 4321 FFFF FFFF", "63C2");
	assert_int_equal(mic_card_verify_pin(c->card, "654321", &tries),
	    MIC_ERR_PIN_WRONG);
	assert_int_equal(tries, 2);
	assert_false(mic_card_pin_verified(c->card));
	expect(c, "0020008108 2665 4321 FFFF FFFF", "63C1");
	assert_int_equal(mic_card_verify_pin(c->card, "654321", &tries),
	    MIC_ERR_PIN_WRONG);
	assert_int_equal(tries, 1);
	expect(c, "00200081", "63C1");
	assert_int_equal(mic_card_verify_pin(c->card, NULL, &tries),
	    MIC_RC_SW(0x63C1));
	assert_int_equal(tries, 1);
	expect(c, "0020008108 2665 4321 FFFF FFFF", "63C0");
	assert_int_equal(mic_card_verify_pin(c->card, "654321", &tries),
	    MIC_ERR_PIN_BLOCKED);
	assert_int_equal(tries, 0);
	expect(c, "0020008108 2612 3456 FFFF FFFF", "6983");
	assert_int_equal(mic_card_verify_pin(c->card, "123456", &tries),
	    MIC_ERR_PIN_BLOCKED);
	assert_int_equal(tries, 0);
	/* 6985 from a card whose FCI said active: the card did not say why. */
	expect(c, "0020008108 2612 3456 FFFF FFFF", "6985");
	assert_int_equal(mic_card_verify_pin(c->card, "123456", &tries),
	    MIC_SW_CONDITIONS);
	assert_int_equal(tries, -1);
	/* Asked while verified. */
	expect(c, "0020008108 2612 3456 FFFF FFFF", "9000");
	assert_int_equal(mic_card_verify_pin(c->card, "123456", NULL), MIC_OK);
	expect(c, "00200081", "9000");
	assert_int_equal(mic_card_verify_pin(c->card, NULL, &tries), MIC_OK);
	assert_true(mic_card_pin_verified(c->card));
}

static void
test_verify_pin_malformed(void **state)
{
	static const char *bad[] = { "", "12345", "1234567890123", "12345a",
		"12 3456", "\xEF\xBC\x91\x32\x33\x34\x35\x36" };
	struct ctx *c = *state;
	int tries = 99;
	size_t i;

	open_active(c);
	/* Refused before anything is sent: no try is spent on a typo. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(mic_card_verify_pin(c->card, bad[i], &tries),
		    MIC_ERR_INVALID_ARGUMENT);
		assert_int_equal(tries, -1);
	}
	assert_int_equal(mic_card_verify_pin(NULL, "123456", &tries),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(c->f.pos, 1);
}

/* --- the other files ----------------------------------------------------------- */

static void
test_read_account(void **state)
{
	struct ctx *c = *state;
	mic_account_t *a = mic_account_new();

	open_active(c);
	expect(c, "00B0880000", "6982");
	assert_int_equal(mic_card_read_account(c->card, a),
	    MIC_SW_SECURITY_STATUS);
	expect_file(c, "00B0880000", ACCOUNT_TMPL, MIC_EF_ACCOUNT_SIZE,
	    "9000");
	assert_int_equal(mic_card_read_account(c->card, a), MIC_OK);
	assert_int_equal(mic_account_balance(a), 100000);
	assert_int_equal(mic_account_counter(a), 7);
	assert_int_equal(mic_card_read_account(c->card, NULL),
	    MIC_ERR_INVALID_ARGUMENT);
	mic_account_free(&a);
}

static void
test_read_activation(void **state)
{
	struct ctx *c = *state;
	mic_activation_t *a = mic_activation_new();

	open_active(c);
	expect_file(c, "00B0860000", ACTIVATION_TMPL, MIC_EF_ACTIVATION_SIZE,
	    "9000");
	assert_int_equal(mic_card_read_activation(c->card, a), MIC_OK);
	assert_string_equal(mic_activation_terminal(a), "POS00001");
	assert_int_equal(mic_activation_role(a), MIC_ROLE_BANK);
	expect_file(c, "00B0860000", "", MIC_EF_ACTIVATION_SIZE, "9000");
	assert_int_equal(mic_card_read_activation(c->card, a),
	    MIC_ERR_NOT_FOUND);
	mic_activation_free(&a);
}

static void
test_read_log(void **state)
{
	struct ctx *c = *state;
	mic_logrec_t *l = mic_logrec_new();

	open_active(c);
	/* Record 1 is the newest; SFI 9 in P2 as 9 << 3 | 4. */
	expect(c, "00B2014C00", LOG_REC "9000");
	assert_int_equal(mic_card_read_log(c->card, 1, l), MIC_OK);
	assert_int_equal(mic_logrec_amount(l), 1234);
	assert_int_equal(mic_logrec_balance(l), 98766);
	expect(c, "00B21E4C00", "6A83");
	assert_int_equal(mic_card_read_log(c->card, 30, l),
	    MIC_SW_RECORD_NOT_FOUND);
	expect(c, "00B2024C00", "00000007 9000");
	assert_int_equal(mic_card_read_log(c->card, 2, l), MIC_ERR_FORMAT);
	assert_int_equal(mic_logrec_amount(l), 1234);
	/* Record 0 would mean "current" to the card: never sent. */
	assert_int_equal(mic_card_read_log(c->card, 0, l),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_card_read_log(c->card, 31, l),
	    MIC_ERR_INVALID_ARGUMENT);
	mic_logrec_free(&l);
}

static void
test_read_family(void **state)
{
	struct ctx *c = *state;
	mic_member_t *m = mic_member_new();

	open_active(c);
	expect_file(c, "00B2023C00", MEMBER_TMPL, MIC_FAMILY_RECORD_SIZE,
	    "9000");
	assert_int_equal(mic_card_read_family(c->card, 2, m), MIC_OK);
	assert_string_equal(mic_member_kinship(m), "30");
	assert_int_equal(mic_member_may_pay(m), 1);
	expect_file(c, "00B2083C00", "", MIC_FAMILY_RECORD_SIZE, "9000");
	assert_int_equal(mic_card_read_family(c->card, 8, m),
	    MIC_ERR_NOT_FOUND);
	expect(c, "00B2013C00", "6982");
	assert_int_equal(mic_card_read_family(c->card, 1, m),
	    MIC_SW_SECURITY_STATUS);
	assert_int_equal(mic_card_read_family(c->card, 0, m),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_card_read_family(c->card, 9, m),
	    MIC_ERR_INVALID_ARGUMENT);
	mic_member_free(&m);
}

/* --- the reset hook -------------------------------------------------------------- */

/*
 * Another application resets the card before a read reaches it: the
 * transport reconnects and replays its SELECT, the hook selects again for
 * the FCI, and the read goes out once more.
 */
static void
test_reset_same_card(void **state)
{
	struct ctx *c = *state;
	mic_tx_stats st;

	open_active(c);
	expect_rc(c, "00B0820000", MIC_ERR_CARD_RESET);
	expect_select(c, MIC_STATE_ACTIVE, SERIAL_A, "9000");   /* replay */
	expect_select(c, MIC_STATE_ACTIVE, SERIAL_A, "9000");   /* hook */
	expect_file(c, "00B0820000", HOLDER_TMPL, MIC_EF_HOLDER_SIZE, "9000");
	assert_int_equal(mic_card_read(c->card, MIC_READ_HOLDER), MIC_OK);
	assert_non_null(mic_card_holder(c->card));
	assert_int_equal(c->f.reconnects, 1);
	mic_tx_get_stats(c->tx, &st);
	assert_int_equal(st.recoveries, 1);
}

static void
test_reset_other_card(void **state)
{
	struct ctx *c = *state;

	open_active(c);
	expect_rc(c, "00B0820000", MIC_ERR_CARD_RESET);
	expect_select(c, MIC_STATE_ACTIVE, SERIAL_B, "9000");
	expect_select(c, MIC_STATE_ACTIVE, SERIAL_B, "9000");
	assert_int_equal(mic_card_read(c->card, MIC_READ_HOLDER),
	    MIC_ERR_CARD_CHANGED);
	assert_null(mic_card_holder(c->card));
	/* The reconnect dropped one transaction; the re-opened one is closed. */
	assert_int_equal(c->f.ends + c->f.reconnects, c->f.begins);
	assert_false(c->f.in_tx);
}

/* A card with another application in the place of MIC's. */
static void
test_reset_no_app(void **state)
{
	struct ctx *c = *state;

	expect_select(c, MIC_STATE_BLOCKED, SERIAL_A, "6283");
	assert_int_equal(mic_card_open(&c->card, c->tx), MIC_OK);
	/* 6283 is not remembered for replay: only the hook selects. */
	expect_rc(c, "00B0820000", MIC_ERR_CARD_RESET);
	expect(c, SELECT_MIC, "6A82");
	assert_int_equal(mic_card_read(c->card, MIC_READ_HOLDER),
	    MIC_ERR_CARD_CHANGED);
}

/* The state after a reset is the state the card now reports. */
static void
test_reset_state(void **state)
{
	struct ctx *c = *state;

	expect_select(c, MIC_STATE_PERSONALIZED, SERIAL_A, "6283");
	assert_int_equal(mic_card_open(&c->card, c->tx), MIC_OK);
	expect_rc(c, "00B0820000", MIC_ERR_CARD_RESET);
	expect_select(c, MIC_STATE_ACTIVE, SERIAL_A, "9000");
	expect_file(c, "00B0820000", HOLDER_TMPL, MIC_EF_HOLDER_SIZE, "9000");
	assert_int_equal(mic_card_read(c->card, MIC_READ_HOLDER), MIC_OK);
	assert_int_equal(mic_card_state(c->card), MIC_STATE_ACTIVE);
}

/* A verified PIN does not survive a reset, and the caller hears of it. */
static void
test_reset_pin_lost(void **state)
{
	struct ctx *c = *state;
	mic_account_t *a = mic_account_new();

	open_active(c);
	expect(c, "0020008108 2612 3456 FFFF FFFF", "9000");
	assert_int_equal(mic_card_verify_pin(c->card, "123456", NULL), MIC_OK);
	expect_rc(c, "00B0880000", MIC_ERR_CARD_RESET);
	expect_select(c, MIC_STATE_ACTIVE, SERIAL_A, "9000");
	expect_select(c, MIC_STATE_ACTIVE, SERIAL_A, "9000");
	assert_int_equal(mic_card_read_account(c->card, a),
	    MIC_ERR_CARD_RESET);
	assert_false(mic_card_pin_verified(c->card));
	/* Without the PIN the card says so; the session is not stuck. */
	expect(c, "00B0880000", "6982");
	assert_int_equal(mic_card_read_account(c->card, a),
	    MIC_SW_SECURITY_STATUS);
	/* Another reset, with nothing held now: a quiet recovery. */
	expect_rc(c, "00B0880000", MIC_ERR_CARD_RESET);
	expect_select(c, MIC_STATE_ACTIVE, SERIAL_A, "9000");
	expect_select(c, MIC_STATE_ACTIVE, SERIAL_A, "9000");
	expect(c, "00B0880000", "6982");
	assert_int_equal(mic_card_read_account(c->card, a),
	    MIC_SW_SECURITY_STATUS);
	mic_account_free(&a);
}

/* A changed card wins over a lost PIN: it is the graver news. */
static void
test_reset_pin_other_card(void **state)
{
	struct ctx *c = *state;
	mic_account_t *a = mic_account_new();

	open_active(c);
	expect(c, "0020008108 2612 3456 FFFF FFFF", "9000");
	assert_int_equal(mic_card_verify_pin(c->card, "123456", NULL), MIC_OK);
	expect_rc(c, "00B0880000", MIC_ERR_CARD_RESET);
	expect_select(c, MIC_STATE_ACTIVE, SERIAL_B, "9000");
	expect_select(c, MIC_STATE_ACTIVE, SERIAL_B, "9000");
	assert_int_equal(mic_card_read_account(c->card, a),
	    MIC_ERR_CARD_CHANGED);
	assert_false(mic_card_pin_verified(c->card));
	mic_account_free(&a);
}

/* Once the card is freed its hook is gone from the transport. */
static void
test_free_removes_hook(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x81, 0x00, NULL, 0, 256, 0 };
	uint8_t rsp[300];
	size_t n;
	uint16_t sw;

	open_active(c);
	mic_card_free(&c->card);
	assert_null(c->card);
	expect_rc(c, "00B0810000", MIC_ERR_CARD_RESET);
	expect_select(c, MIC_STATE_ACTIVE, SERIAL_B, "9000");   /* replay */
	expect(c, "00B0810000", "9000");
	assert_int_equal(mic_tx_transmit(c->tx, &a, rsp, sizeof(rsp), &n, &sw),
	    MIC_OK);
	assert_int_equal(sw, 0x9000);
	mic_card_free(&c->card);
	mic_card_free(NULL);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_open),
		T(test_open_states),
		T(test_open_refused),
		T(test_read_public),
		T(test_trace_personal),
		T(test_read_all),
		T(test_read_some),
		T(test_read_file),
		T(test_read_atomic),
		T(test_verify_pin),
		T(test_verify_pin_wrong),
		T(test_verify_pin_malformed),
		T(test_read_account),
		T(test_read_activation),
		T(test_read_log),
		T(test_read_family),
		T(test_reset_same_card),
		T(test_reset_other_card),
		T(test_reset_no_app),
		T(test_reset_state),
		T(test_reset_pin_lost),
		T(test_reset_pin_other_card),
		T(test_free_removes_hook),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
