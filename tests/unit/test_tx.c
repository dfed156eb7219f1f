/*
 * mic_tx_t against a scripted fake backend: each step names the exact bytes
 * the transport must send and what the "card" answers, so every test checks
 * the wire, not just return codes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mic/tx.h>

#include "internal.h"

#define MAX_STEPS 64
#define MAX_TRACE 16
#define BIG (MIC_APDU_RSP_MAX + 4096u)

struct step {
	uint8_t *cmd;      /* NULL: any command */
	size_t cmd_len;
	uint8_t *rsp;
	size_t rsp_len;
	mic_rc rc;         /* returned instead of a response when not MIC_OK */
	unsigned repeat;   /* served this many more times */
};

struct fake {
	struct step steps[MAX_STEPS];
	size_t n;
	size_t pos;
	unsigned calls;
	int begins;
	int ends;
	int in_tx;
	int reconnects;
	int resets;
	int closes;
	mic_rc begin_rc;
	mic_rc end_rc;
	mic_rc reconnect_rc;
	mic_rc rebegin_rc;   /* begin's answer once reconnected */
	int lie;           /* report one byte more than the buffer holds */
	const uint8_t *seen; /* where the last command was, to check wiping */
	size_t seen_len;
};

struct trace_rec {
	int dir;
	uint8_t buf[1024];
	size_t len;
};

struct tracer {
	struct trace_rec rec[MAX_TRACE];
	size_t n;
};

static uint8_t *
hex(const char *s, size_t *len)
{
	uint8_t *p = malloc(strlen(s) / 2 + 1);

	assert_non_null(p);
	assert_int_equal(mici_hex_decode(s, p, strlen(s) / 2 + 1, len), MIC_OK);
	return p;
}

static uint8_t *
dup(const uint8_t *p, size_t n)
{
	uint8_t *q = malloc(n + 1);

	assert_non_null(q);
	if (n > 0)
		memcpy(q, p, n);
	return q;
}

static struct step *
step_add(struct fake *f)
{
	assert_true(f->n < MAX_STEPS);
	return &f->steps[f->n++];
}

static void
expect_bytes(struct fake *f, const uint8_t *cmd, size_t cmd_len,
    const uint8_t *rsp, size_t rsp_len)
{
	struct step *s = step_add(f);

	s->cmd = cmd != NULL ? dup(cmd, cmd_len) : NULL;
	s->cmd_len = cmd_len;
	s->rsp = dup(rsp, rsp_len);
	s->rsp_len = rsp_len;
}

static void
expect(struct fake *f, const char *cmd, const char *rsp)
{
	struct step *s = step_add(f);

	s->cmd = cmd != NULL ? hex(cmd, &s->cmd_len) : NULL;
	s->rsp = hex(rsp, &s->rsp_len);
}

static void
expect_rc(struct fake *f, const char *cmd, mic_rc rc)
{
	struct step *s = step_add(f);

	s->cmd = cmd != NULL ? hex(cmd, &s->cmd_len) : NULL;
	s->rsp = NULL;
	s->rc = rc;
}

static void
expect_repeat(struct fake *f, const char *cmd, const uint8_t *rsp,
    size_t rsp_len, unsigned times)
{
	struct step *s = step_add(f);

	s->cmd = cmd != NULL ? hex(cmd, &s->cmd_len) : NULL;
	s->rsp = dup(rsp, rsp_len);
	s->rsp_len = rsp_len;
	s->repeat = times - 1;
}

static mic_rc
fake_transmit(void *arg, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
    size_t *rsp_len)
{
	struct fake *f = arg;
	struct step *s;

	f->calls++;
	if (f->pos >= f->n)
		fail_msg("unexpected command %u (%zu bytes, INS %02X)",
		    f->calls, cmd_len, cmd_len > 1 ? cmd[1] : 0);
	s = &f->steps[f->pos];
	if (s->repeat > 0)
		s->repeat--;
	else
		f->pos++;
	f->seen = cmd;
	f->seen_len = cmd_len;
	if (s->cmd != NULL) {
		assert_int_equal(cmd_len, s->cmd_len);
		assert_memory_equal(cmd, s->cmd, cmd_len);
	}
	if (s->rc != MIC_OK)
		return s->rc;
	assert_true(s->rsp_len <= *rsp_len);
	memcpy(rsp, s->rsp, s->rsp_len);
	*rsp_len = f->lie ? *rsp_len + 1 : s->rsp_len;
	return MIC_OK;
}

/* A backend with transactions: every APDU must be inside one. */
static mic_rc
fake_transmit_locked(void *arg, const uint8_t *cmd, size_t cmd_len,
    uint8_t *rsp, size_t *rsp_len)
{
	struct fake *f = arg;

	assert_true(f->in_tx);
	return fake_transmit(arg, cmd, cmd_len, rsp, rsp_len);
}

static mic_rc
fake_begin(void *arg)
{
	struct fake *f = arg;

	if (f->begin_rc != MIC_OK)
		return f->begin_rc;
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
	return f->end_rc;
}

static mic_rc
fake_reconnect(void *arg)
{
	struct fake *f = arg;

	f->reconnects++;
	/* The contract in tx.h: no transaction survives a reconnect. */
	f->in_tx = 0;
	f->begin_rc = f->rebegin_rc;
	return f->reconnect_rc;
}

static mic_rc
fake_reset(void *arg)
{
	struct fake *f = arg;

	f->resets++;
	return MIC_OK;
}

static mic_rc
fake_atr(void *arg, uint8_t *atr, size_t *atr_len)
{
	struct fake *f = arg;

	assert_true(*atr_len >= 2);
	atr[0] = 0x3B;
	atr[1] = 0x00;
	*atr_len = f->lie ? *atr_len + 1 : 2;
	return MIC_OK;
}

static void
fake_close(void *arg)
{
	struct fake *f = arg;

	f->closes++;
}

static const mic_tx_ops min_ops = {
	.transmit = fake_transmit,
	.close = fake_close,
};

static const mic_tx_ops full_ops = {
	.transmit = fake_transmit_locked,
	.reset = fake_reset,
	.reconnect = fake_reconnect,
	.begin = fake_begin,
	.end = fake_end,
	.atr = fake_atr,
	.close = fake_close,
};

/* Only reconnect: recovery without transactions in the way. */
static const mic_tx_ops reconnect_ops = {
	.transmit = fake_transmit,
	.reset = fake_reset,
	.reconnect = fake_reconnect,
	.close = fake_close,
};

struct ctx {
	struct fake *f;
	mic_tx_t *tx;
	uint8_t *rsp;
	size_t rsp_len;
	uint16_t sw;
};

static int
open_with(void **state, const mic_tx_ops *ops)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (c == NULL || (c->f = calloc(1, sizeof(*c->f))) == NULL ||
	    (c->rsp = malloc(BIG)) == NULL)
		return -1;
	if (mic_tx_new(&c->tx, ops, c->f) != MIC_OK)
		return -1;
	*state = c;
	return 0;
}

static int
setup_min(void **state)
{
	return open_with(state, &min_ops);
}

static int
setup_full(void **state)
{
	return open_with(state, &full_ops);
}

static int
setup_reconnect(void **state)
{
	return open_with(state, &reconnect_ops);
}

static int
teardown(void **state)
{
	struct ctx *c = *state;
	size_t i;

	mic_tx_free(&c->tx);
	assert_null(c->tx);
	assert_int_equal(c->f->closes, 1);
	/* Every scripted step must have been used. */
	assert_int_equal(c->f->pos, c->f->n);
	for (i = 0; i < c->f->n; i++) {
		free(c->f->steps[i].cmd);
		free(c->f->steps[i].rsp);
	}
	free(c->f);
	free(c->rsp);
	free(c);
	return 0;
}

static mic_rc
run(struct ctx *c, const mic_apdu *a, size_t cap)
{
	return mic_tx_transmit(c->tx, a, c->rsp, cap, &c->rsp_len, &c->sw);
}

static void
set_caps(struct ctx *c, int reader_ext, int card_ext, size_t max_nc,
    size_t max_ne)
{
	mic_tx_caps caps;

	caps.reader_extended = reader_ext;
	caps.card_extended = card_ext;
	caps.max_nc = max_nc;
	caps.max_ne = max_ne;
	mic_tx_set_caps(c->tx, &caps);
}

static void
pattern(uint8_t *p, size_t n, uint8_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7u);
}

/* A command image: header hex, then @p n data bytes, then trailer hex. */
static size_t
build(uint8_t *out, const char *head, const uint8_t *data, size_t n,
    const char *tail)
{
	size_t a, b = 0;

	assert_int_equal(mici_hex_decode(head, out, 16, &a), MIC_OK);
	memcpy(out + a, data, n);
	if (tail != NULL)
		assert_int_equal(mici_hex_decode(tail, out + a + n, 16, &b),
		    MIC_OK);
	return a + n + b;
}

/* Response image: @p n pattern bytes, then SW. */
static size_t
rsp_img(uint8_t *out, size_t n, uint8_t seed, uint16_t sw)
{
	pattern(out, n, seed);
	mici_put_u16(out + n, sw);
	return n + 2;
}

static const uint8_t aid[] = { 0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10 };
#define SELECT_HEX "00A4040007A0000000031010 00"

static void
do_select(struct ctx *c)
{
	mic_apdu a = { 0x00, 0xA4, 0x04, 0x00, aid, sizeof(aid), 256, 0 };

	assert_int_equal(run(c, &a, BIG), MIC_OK);
	assert_int_equal(c->sw, 0x9000);
}

/* --- cases 1 to 4, short ------------------------------------------------ */

static void
test_case1(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0x44, 0x00, 0x00, NULL, 0, 0, 0 };

	expect(c->f, "00440000", "9000");
	assert_int_equal(run(c, &a, 16), MIC_OK);
	assert_int_equal(c->rsp_len, 0);
	assert_int_equal(c->sw, 0x9000);
}

static void
test_case2(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x81, 0x00, NULL, 0, 4, 0 };
	const uint8_t want[] = { 1, 2, 3, 4 };

	expect(c->f, "00B0810004", "01020304 9000");
	assert_int_equal(run(c, &a, 16), MIC_OK);
	assert_int_equal(c->rsp_len, 4);
	assert_memory_equal(c->rsp, want, 4);
	assert_int_equal(c->sw, 0x9000);
}

static void
test_case3(void **state)
{
	struct ctx *c = *state;
	const uint8_t d[] = { 0xAA, 0xBB, 0xCC };
	mic_apdu a = { 0x00, 0xD6, 0x00, 0x02, d, sizeof(d), 0, 0 };

	expect(c->f, "00D6000203AABBCC", "6581");
	assert_int_equal(run(c, &a, 16), MIC_OK);
	assert_int_equal(c->rsp_len, 0);
	assert_int_equal(c->sw, 0x6581);
}

static void
test_case4(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xA4, 0x04, 0x00, aid, sizeof(aid), 256, 0 };

	/* Ne = 256 is Le = 00 in a short APDU. */
	expect(c->f, SELECT_HEX, "6F03840101 9000");
	assert_int_equal(run(c, &a, 5), MIC_OK);
	assert_int_equal(c->rsp_len, 5);
	assert_int_equal(c->rsp[0], 0x6F);
	assert_int_equal(c->sw, 0x9000);
}

static void
test_short_only_by_default(void **state)
{
	struct ctx *c = *state;
	mic_tx_caps caps;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 1000, 0 };
	uint8_t r[300];

	mic_tx_get_caps(c->tx, &caps);
	assert_int_equal(caps.reader_extended, 0);
	assert_int_equal(caps.card_extended, 0);
	assert_int_equal(caps.max_nc, 0);
	assert_int_equal(caps.max_ne, 0);
	/* Ne > 256 on a short path: Le = 00, then 61xx tells the rest. */
	expect_bytes(c->f, (const uint8_t *)"\x00\xB0\x00\x00\x00", 5, r,
	    rsp_img(r, 256, 1, 0x9000));
	assert_int_equal(run(c, &a, BIG), MIC_OK);
	assert_int_equal(c->rsp_len, 256);
}

/* --- extended length ---------------------------------------------------- */

static void
test_extended_both(void **state)
{
	struct ctx *c = *state;
	uint8_t d[300], cmd[320], r[1100];
	size_t n;
	mic_apdu a = { 0x00, 0xDA, 0x01, 0x01, d, sizeof(d), 0, 0 };
	mic_apdu b = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 1000, 0 };
	mic_apdu m = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 65536, 0 };

	set_caps(c, 1, 1, 0, 0);
	pattern(d, sizeof(d), 3);
	n = build(cmd, "00DA0101 00012C", d, sizeof(d), NULL);
	expect_bytes(c->f, cmd, n, (const uint8_t *)"\x90\x00", 2);
	expect_bytes(c->f, (const uint8_t *)"\x00\xB0\x00\x00\x00\x03\xE8", 7,
	    r, rsp_img(r, 1000, 9, 0x9000));
	expect(c->f, "00B00000 000000", "9000");

	assert_int_equal(run(c, &a, 16), MIC_OK);
	assert_int_equal(c->sw, 0x9000);
	assert_int_equal(run(c, &b, 1000), MIC_OK);
	assert_int_equal(c->rsp_len, 1000);
	assert_memory_equal(c->rsp, r, 1000);
	assert_int_equal(run(c, &m, BIG), MIC_OK);
}

static void
test_extended_small_stays_short(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 10, 0 };

	set_caps(c, 1, 1, 0, 0);
	expect(c->f, "00B000000A", "9000");
	assert_int_equal(run(c, &a, 16), MIC_OK);
}

/* --- chaining ----------------------------------------------------------- */

static void
test_chain_reader_only_extended(void **state)
{
	struct ctx *c = *state;
	uint8_t d[300], cmd[320];
	size_t n;
	mic_apdu a = { 0x00, 0xDA, 0x01, 0x01, d, sizeof(d), 0, 0 };

	/* The card cannot take extended APDUs: chain instead. */
	set_caps(c, 1, 0, 0, 0);
	pattern(d, sizeof(d), 5);
	n = build(cmd, "10DA0101 FF", d, 255, NULL);
	expect_bytes(c->f, cmd, n, (const uint8_t *)"\x90\x00", 2);
	n = build(cmd, "00DA0101 2D", d + 255, 45, NULL);
	expect_bytes(c->f, cmd, n, (const uint8_t *)"\x90\x00", 2);
	assert_int_equal(run(c, &a, 16), MIC_OK);
	assert_int_equal(c->sw, 0x9000);
}

static void
test_chain_case4_channel(void **state)
{
	struct ctx *c = *state;
	uint8_t d[300], cmd[320];
	size_t n;
	mic_apdu a = { 0x01, 0xDB, 0x3F, 0xFF, d, sizeof(d), 256, 0 };

	/* Channel bits survive; Le only on the last chunk. */
	pattern(d, sizeof(d), 7);
	n = build(cmd, "11DB3FFF FF", d, 255, NULL);
	expect_bytes(c->f, cmd, n, (const uint8_t *)"\x90\x00", 2);
	n = build(cmd, "01DB3FFF 2D", d + 255, 45, "00");
	expect_bytes(c->f, cmd, n, (const uint8_t *)"\x61\x02", 2);
	expect(c->f, "01C0000002", "BEEF 9000");
	assert_int_equal(run(c, &a, 16), MIC_OK);
	assert_int_equal(c->rsp_len, 2);
	assert_int_equal(c->rsp[0], 0xBE);
	assert_int_equal(c->sw, 0x9000);
}

static void
test_chain_max_nc(void **state)
{
	struct ctx *c = *state;
	uint8_t d[250], cmd[300];
	size_t n;
	mic_apdu a = { 0x00, 0xDA, 0x00, 0x00, d, sizeof(d), 0, 0 };

	set_caps(c, 1, 1, 100, 0);
	pattern(d, sizeof(d), 11);
	n = build(cmd, "10DA0000 64", d, 100, NULL);
	expect_bytes(c->f, cmd, n, (const uint8_t *)"\x90\x00", 2);
	n = build(cmd, "10DA0000 64", d + 100, 100, NULL);
	expect_bytes(c->f, cmd, n, (const uint8_t *)"\x90\x00", 2);
	n = build(cmd, "00DA0000 32", d + 200, 50, NULL);
	expect_bytes(c->f, cmd, n, (const uint8_t *)"\x90\x00", 2);
	assert_int_equal(run(c, &a, 16), MIC_OK);
}

static void
test_chain_stops_on_error(void **state)
{
	struct ctx *c = *state;
	uint8_t d[600], cmd[320];
	size_t n;
	mic_apdu a = { 0x00, 0xDA, 0x01, 0x01, d, sizeof(d), 0, 0 };

	pattern(d, sizeof(d), 13);
	n = build(cmd, "10DA0101 FF", d, 255, NULL);
	expect_bytes(c->f, cmd, n, (const uint8_t *)"\x68\x84", 2);
	/* No second chunk: the script would fail on it. */
	assert_int_equal(run(c, &a, 16), MIC_OK);
	assert_int_equal(c->sw, 0x6884);
	assert_int_equal(c->rsp_len, 0);
	assert_int_equal(c->f->calls, 1);
}

static void
test_chain_proprietary_cla(void **state)
{
	struct ctx *c = *state;
	uint8_t d[300];
	mic_apdu a = { 0xA0, 0xDA, 0x01, 0x01, d, sizeof(d), 0, 0 };

	memset(d, 0, sizeof(d));
	assert_int_equal(run(c, &a, 16), MIC_ERR_APDU_TOO_LONG);
	assert_int_equal(c->f->calls, 0);
	/* With extended length it needs no chaining and goes out whole. */
	set_caps(c, 1, 1, 0, 0);
	expect(c->f, NULL, "9000");
	assert_int_equal(run(c, &a, 16), MIC_OK);
}

static void
test_chain_gp_cla(void **state)
{
	struct ctx *c = *state;
	uint8_t d[300], cmd[320];
	size_t n;
	mic_apdu a = { 0x80, 0xE2, 0x80, 0x00, d, sizeof(d), 0, 0 };

	/* STORE DATA under CLA 80 chains as 90, like the interindustry 00/10. */
	pattern(d, sizeof(d), 3);
	n = build(cmd, "90E28000 FF", d, 255, NULL);
	expect_bytes(c->f, cmd, n, (const uint8_t *)"\x90\x00", 2);
	n = build(cmd, "80E28000 2D", d + 255, 45, NULL);
	expect_bytes(c->f, cmd, n, (const uint8_t *)"\x90\x00", 2);
	assert_int_equal(run(c, &a, 16), MIC_OK);
	assert_int_equal(c->sw, 0x9000);
}

static void
test_bad_lengths(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 65537, 0 };
	mic_apdu b = { 0x00, 0xD6, 0x00, 0x00, NULL, 5, 0, 0 };

	assert_int_equal(run(c, &a, 16), MIC_ERR_APDU_TOO_LONG);
	assert_int_equal(run(c, &b, 16), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(c->f->calls, 0);
}

static void
test_bad_args(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0x44, 0x00, 0x00, NULL, 0, 0, 0 };
	size_t len = 99;
	uint16_t sw = 99;

	assert_int_equal(mic_tx_transmit(NULL, &a, c->rsp, 1, &len, &sw),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(len, 0);
	assert_int_equal(sw, 0);
	assert_int_equal(mic_tx_transmit(c->tx, NULL, c->rsp, 1, &len, &sw),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_tx_transmit(c->tx, &a, NULL, 1, &len, &sw),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_tx_transmit(c->tx, &a, c->rsp, 1, NULL, &sw),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_tx_transmit(c->tx, &a, c->rsp, 1, &len, NULL),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(c->f->calls, 0);
	/* No response buffer at all is fine when no data comes back. */
	expect(c->f, "00440000", "9000");
	assert_int_equal(mic_tx_transmit(c->tx, &a, NULL, 0, &len, &sw),
	    MIC_OK);
	assert_int_equal(sw, 0x9000);
}

/* --- 61xx and GET RESPONSE ---------------------------------------------- */

static void
test_61xx_single(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xA4, 0x04, 0x00, aid, sizeof(aid), 256, 0 };
	uint8_t r[32];

	expect(c->f, SELECT_HEX, "6110");
	expect_bytes(c->f, (const uint8_t *)"\x00\xC0\x00\x00\x10", 5, r,
	    rsp_img(r, 16, 0x40, 0x9000));
	assert_int_equal(run(c, &a, BIG), MIC_OK);
	assert_int_equal(c->rsp_len, 16);
	assert_memory_equal(c->rsp, r, 16);
	assert_int_equal(c->sw, 0x9000);
}

static void
test_61xx_clears_chain_bit(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x13, 0xCA, 0x00, 0x66, NULL, 0, 4, 0 };

	/* A caller's own chain: GET RESPONSE drops the chaining bit. */
	expect(c->f, "13CA006604", "AABB 6102");
	expect(c->f, "03C0000002", "CCDD 6282");
	assert_int_equal(run(c, &a, 16), MIC_OK);
	assert_int_equal(c->rsp_len, 4);
	assert_int_equal(c->rsp[3], 0xDD);
	assert_int_equal(c->sw, 0x6282);
}

static void
test_61xx_multi(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 600, 0 };
	uint8_t r0[260], r1[260], r2[100];

	expect_bytes(c->f, (const uint8_t *)"\x00\xB0\x00\x00\x00", 5, r0,
	    rsp_img(r0, 256, 1, 0x6100));
	expect_bytes(c->f, (const uint8_t *)"\x00\xC0\x00\x00\x00", 5, r1,
	    rsp_img(r1, 256, 2, 0x6158));
	expect_bytes(c->f, (const uint8_t *)"\x00\xC0\x00\x00\x58", 5, r2,
	    rsp_img(r2, 88, 3, 0x9000));
	assert_int_equal(run(c, &a, 600), MIC_OK);
	assert_int_equal(c->rsp_len, 600);
	assert_memory_equal(c->rsp, r0, 256);
	assert_memory_equal(c->rsp + 256, r1, 256);
	assert_memory_equal(c->rsp + 512, r2, 88);
	assert_int_equal(c->sw, 0x9000);
}

static void
test_61xx_full_64k(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 65536, 0 };
	uint8_t r[260], last[260];

	/* The largest response, 256 bytes a round, is within the bound. */
	rsp_img(r, 256, 0, 0x6100);
	rsp_img(last, 256, 0, 0x9000);
	expect_bytes(c->f, (const uint8_t *)"\x00\xB0\x00\x00\x00", 5, r, 258);
	expect_repeat(c->f, "00C0000000", r, 258, 254);
	expect_bytes(c->f, (const uint8_t *)"\x00\xC0\x00\x00\x00", 5, last,
	    258);
	assert_int_equal(run(c, &a, BIG), MIC_OK);
	assert_int_equal(c->rsp_len, 65536);
	assert_int_equal(c->f->calls, 256);
}

static void
test_61xx_round_bound(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 1, 0 };
	const uint8_t r[] = { 0x55, 0x61, 0x01 };

	/* A card that always has "one more byte". */
	expect_bytes(c->f, (const uint8_t *)"\x00\xB0\x00\x00\x01", 5, r, 3);
	expect_repeat(c->f, "00C0000001", r, 3, 100000);
	assert_int_equal(run(c, &a, BIG), MIC_ERR_RETRY_LIMIT);
	assert_int_equal(c->rsp_len, 0);
	assert_true(c->f->calls > 256);
	assert_true(c->f->calls <= 1 + 1024);
	/* Drop the unused repeats so teardown's check holds. */
	c->f->steps[1].repeat = 0;
	c->f->pos = c->f->n;
}

static void
test_61xx_empty_rounds_bound(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 1, 0 };
	const uint8_t r[] = { 0x61, 0x00 };

	expect_bytes(c->f, (const uint8_t *)"\x00\xB0\x00\x00\x01", 5, r, 2);
	expect_repeat(c->f, "00C0000000", r, 2, 100000);
	assert_int_equal(run(c, &a, BIG), MIC_ERR_RETRY_LIMIT);
	assert_true(c->f->calls <= 1 + 1024);
	c->f->steps[1].repeat = 0;
	c->f->pos = c->f->n;
}

static void
test_response_over_cap(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 16, 0 };
	uint8_t r[32];

	expect_bytes(c->f, (const uint8_t *)"\x00\xB0\x00\x00\x10", 5, r,
	    rsp_img(r, 16, 0, 0x9000));
	assert_int_equal(run(c, &a, 8), MIC_ERR_BUFFER_TOO_SMALL);
	assert_int_equal(c->rsp_len, 0);
	assert_int_equal(c->sw, 0);

	/* The same when the excess comes in a GET RESPONSE round. */
	expect(c->f, "00B0000010", "01020304 6108");
	expect_bytes(c->f, (const uint8_t *)"\x00\xC0\x00\x00\x08", 5, r,
	    rsp_img(r, 8, 0, 0x9000));
	memset(c->rsp, 0xEE, 16);
	assert_int_equal(run(c, &a, 10), MIC_ERR_BUFFER_TOO_SMALL);
	assert_int_equal(c->rsp_len, 0);
	/* The part that did fit is not left behind. */
	assert_memory_equal(c->rsp, "\0\0\0\0", 4);
}

static void
test_response_over_64k(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 256, 0 };
	uint8_t r[260];

	/* 256 full rounds, then one byte more than any Ne allows. */
	rsp_img(r, 256, 0, 0x6101);
	expect_bytes(c->f, (const uint8_t *)"\x00\xB0\x00\x00\x00", 5, r, 258);
	expect_repeat(c->f, NULL, r, 258, 255);
	expect(c->f, "00C0000001", "77 9000");
	assert_int_equal(run(c, &a, BIG), MIC_ERR_RESPONSE);
	assert_int_equal(c->rsp_len, 0);
}

static void
test_max_ne(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 200, 0 };
	uint8_t r[110];

	set_caps(c, 0, 0, 0, 100);
	expect_bytes(c->f, (const uint8_t *)"\x00\xB0\x00\x00\x64", 5, r,
	    rsp_img(r, 100, 0, 0x61C8));
	/* The card offers C8 = 200 more; the path takes 100 at a time. */
	expect_bytes(c->f, (const uint8_t *)"\x00\xC0\x00\x00\x64", 5, r,
	    rsp_img(r, 100, 0, 0x9000));
	assert_int_equal(run(c, &a, BIG), MIC_OK);
	assert_int_equal(c->rsp_len, 200);
}

/* --- 6Cxx --------------------------------------------------------------- */

static void
test_6cxx_once(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 256, 0 };
	mic_apdu b = { 0x00, 0xB2, 0x01, 0x04, NULL, 0, 10, 0 };
	uint8_t r[300];

	expect(c->f, "00B0000000", "6C08");
	expect(c->f, "00B0000008", "0102030405060708 9000");
	assert_int_equal(run(c, &a, 16), MIC_OK);
	assert_int_equal(c->rsp_len, 8);
	assert_int_equal(c->rsp[7], 8);
	assert_int_equal(c->sw, 0x9000);
	assert_int_equal(c->f->calls, 2);

	/* 6C00 means 256. */
	expect(c->f, "00B201040A", "6C00");
	expect_bytes(c->f, (const uint8_t *)"\x00\xB2\x01\x04\x00", 5, r,
	    rsp_img(r, 256, 0, 0x9000));
	assert_int_equal(run(c, &b, BIG), MIC_OK);
	assert_int_equal(c->rsp_len, 256);
}

static void
test_6cxx_twice(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 256, 0 };

	expect(c->f, "00B0000000", "6C08");
	expect(c->f, "00B0000008", "6C08");
	assert_int_equal(run(c, &a, 16), MIC_ERR_RETRY_LIMIT);
	assert_int_equal(c->f->calls, 2);
	assert_int_equal(c->rsp_len, 0);
}

static void
test_6cxx_then_61xx(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xCA, 0x01, 0x01, NULL, 0, 0, 0 };

	expect(c->f, "00CA0101", "6C04");
	expect(c->f, "00CA010104", "AABB 6102");
	expect(c->f, "00C0000002", "6C01");
	expect(c->f, "00C0000001", "CC 9000");
	assert_int_equal(run(c, &a, 16), MIC_OK);
	assert_int_equal(c->rsp_len, 3);
	assert_int_equal(c->rsp[2], 0xCC);
}

/* --- malformed backend answers, backend errors -------------------------- */

static void
test_response_too_short(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 4, 0 };

	expect(c->f, "00B0000004", "90");
	expect(c->f, "00B0000004", "");
	assert_int_equal(run(c, &a, 16), MIC_ERR_RESPONSE);
	assert_int_equal(run(c, &a, 16), MIC_ERR_RESPONSE);
	assert_int_equal(c->rsp_len, 0);
}

static void
test_backend_overlong(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 4, 0 };

	c->f->lie = 1;
	expect(c->f, "00B0000004", "01020304 9000");
	assert_int_equal(run(c, &a, BIG), MIC_ERR_RESPONSE);
	assert_int_equal(c->rsp_len, 0);
}

static void
test_backend_errors(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 4, 0 };

	expect_rc(c->f, "00B0000004", MIC_ERR_CARD_REMOVED);
	expect_rc(c->f, "00B0000004", MIC_ERR_NO_SERVICE);
	expect(c->f, "00B0000004", "0102 6102");
	expect_rc(c->f, "00C0000002", MIC_ERR_SHARING_VIOLATION);
	assert_int_equal(run(c, &a, 16), MIC_ERR_CARD_REMOVED);
	assert_int_equal(run(c, &a, 16), MIC_ERR_NO_SERVICE);
	/* Also in the middle of GET RESPONSE, and no data leaks out. */
	assert_int_equal(run(c, &a, 16), MIC_ERR_SHARING_VIOLATION);
	assert_int_equal(c->rsp_len, 0);
	assert_int_equal(c->sw, 0);
}

static void
test_command_rc(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 2, 0 };

	expect(c->f, "00B0000002", "0102 9000");
	expect(c->f, "00B0000002", "6982");
	expect_rc(c->f, "00B0000002", MIC_ERR_CARD_REMOVED);
	assert_int_equal(mic_tx_command(c->tx, &a, c->rsp, 16, &c->rsp_len),
	    MIC_OK);
	assert_int_equal(c->rsp_len, 2);
	assert_int_equal(mic_tx_command(c->tx, &a, c->rsp, 16, &c->rsp_len),
	    MIC_SW_SECURITY_STATUS);
	assert_int_equal(mic_tx_command(c->tx, &a, c->rsp, 16, &c->rsp_len),
	    MIC_ERR_CARD_REMOVED);
}

/* --- transactions ------------------------------------------------------- */

static void
test_tx_implicit(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 2, 0 };

	expect(c->f, "00B0000002", "0102 6102");
	expect(c->f, "00C0000002", "0304 9000");
	assert_int_equal(run(c, &a, 16), MIC_OK);
	/* One transaction around the command and its GET RESPONSE. */
	assert_int_equal(c->f->begins, 1);
	assert_int_equal(c->f->ends, 1);
	assert_false(c->f->in_tx);
}

static void
test_tx_explicit_nested(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 2, 0 };

	expect(c->f, "00B0000002", "0102 9000");
	expect(c->f, "00B0000002", "0304 9000");
	assert_int_equal(mic_tx_begin(c->tx), MIC_OK);
	assert_int_equal(mic_tx_begin(c->tx), MIC_OK);
	assert_int_equal(c->f->begins, 1);
	assert_int_equal(run(c, &a, 16), MIC_OK);
	assert_int_equal(run(c, &a, 16), MIC_OK);
	assert_int_equal(mic_tx_end(c->tx), MIC_OK);
	assert_int_equal(c->f->ends, 0);
	assert_true(c->f->in_tx);
	assert_int_equal(mic_tx_end(c->tx), MIC_OK);
	assert_int_equal(c->f->begins, 1);
	assert_int_equal(c->f->ends, 1);
	assert_int_equal(mic_tx_end(c->tx), MIC_ERR_TRANSACTION);
	assert_int_equal(c->f->ends, 1);
}

static void
test_tx_end_without_begin(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(mic_tx_end(c->tx), MIC_ERR_TRANSACTION);
	assert_int_equal(c->f->ends, 0);
	assert_int_equal(mic_tx_end(NULL), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_tx_begin(NULL), MIC_ERR_INVALID_ARGUMENT);
}

static void
test_tx_begin_fails(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 2, 0 };

	c->f->begin_rc = MIC_ERR_SHARING_VIOLATION;
	assert_int_equal(run(c, &a, 16), MIC_ERR_SHARING_VIOLATION);
	assert_int_equal(mic_tx_begin(c->tx), MIC_ERR_SHARING_VIOLATION);
	assert_int_equal(c->f->calls, 0);
	/* Nothing was opened, so there is nothing to end. */
	assert_int_equal(mic_tx_end(c->tx), MIC_ERR_TRANSACTION);
}

static void
test_tx_end_fails(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 2, 0 };

	c->f->end_rc = MIC_ERR_CARD_REMOVED;
	expect(c->f, "00B0000002", "0102 9000");
	/* The card has acted: the implicit release's failure is not news. */
	assert_int_equal(run(c, &a, 16), MIC_OK);
	assert_int_equal(c->rsp_len, 2);
	assert_int_equal(c->f->ends, 1);
	/* An explicit one reports it. */
	assert_int_equal(mic_tx_begin(c->tx), MIC_OK);
	assert_int_equal(mic_tx_end(c->tx), MIC_ERR_CARD_REMOVED);
	assert_int_equal(mic_tx_end(c->tx), MIC_ERR_TRANSACTION);
}

static void
test_tx_no_backend_tx(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 2, 0 };

	expect(c->f, "00B0000002", "0102 9000");
	assert_int_equal(mic_tx_begin(c->tx), MIC_OK);
	assert_int_equal(run(c, &a, 16), MIC_OK);
	assert_int_equal(mic_tx_end(c->tx), MIC_OK);
	assert_int_equal(mic_tx_end(c->tx), MIC_ERR_TRANSACTION);
}

/* --- reset recovery ----------------------------------------------------- */

struct hook_state {
	int calls;
	mic_rc rc;
	mic_tx_t *seen_tx;
	int talk;  /* send a command from the hook, as a serial check would */
};

static mic_rc
reset_hook(mic_tx_t *tx, void *arg)
{
	struct hook_state *h = arg;

	h->calls++;
	h->seen_tx = tx;
	if (h->talk) {
		mic_apdu a = { 0x00, 0xCA, 0x00, 0x5A, NULL, 0, 4, 0 };
		uint8_t r[8];
		size_t n;
		uint16_t sw;
		mic_rc rc;

		rc = mic_tx_transmit(tx, &a, r, sizeof(r), &n, &sw);
		if (rc != MIC_OK)
			return rc;
		if (sw != 0x9000 || n != 4 || memcmp(r, "\x12\x34\x56\x78", 4))
			return MIC_ERR_CARD_CHANGED;
	}
	return h->rc;
}

static void
test_reset_recovery(void **state)
{
	struct ctx *c = *state;
	struct hook_state h = { 0, MIC_OK, NULL, 1 };
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 4, 0 };
	mic_tx_stats st;

	mic_tx_set_reset_hook(c->tx, reset_hook, &h);
	expect(c->f, SELECT_HEX, "9000");
	expect_rc(c->f, "00B0000004", MIC_ERR_CARD_RESET);
	expect(c->f, SELECT_HEX, "9000");
	expect(c->f, "00CA005A04", "12345678 9000");
	expect(c->f, "00B0000004", "01020304 9000");
	do_select(c);
	assert_int_equal(run(c, &a, 16), MIC_OK);
	assert_int_equal(c->rsp_len, 4);
	assert_int_equal(c->rsp[3], 4);
	assert_int_equal(c->sw, 0x9000);
	assert_int_equal(c->f->reconnects, 1);
	assert_int_equal(h.calls, 1);
	assert_ptr_equal(h.seen_tx, c->tx);
	/* SELECT, READ, and the READ's transaction again after reconnect. */
	assert_int_equal(c->f->begins, 3);
	assert_int_equal(c->f->ends, 2);
	assert_false(c->f->in_tx);
	mic_tx_get_stats(c->tx, &st);
	assert_int_equal(st.recoveries, 1);
}

static void
test_reset_recovery_explicit_tx(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 4, 0 };

	expect_rc(c->f, "00B0000004", MIC_ERR_CARD_RESET);
	expect(c->f, "00B0000004", "01020304 9000");
	assert_int_equal(mic_tx_begin(c->tx), MIC_OK);
	assert_int_equal(run(c, &a, 16), MIC_OK);
	assert_true(c->f->in_tx);
	assert_int_equal(mic_tx_end(c->tx), MIC_OK);
	assert_int_equal(c->f->begins, 2);
	assert_int_equal(c->f->ends, 1);
}

static void
test_reset_chain_resent_whole(void **state)
{
	struct ctx *c = *state;
	uint8_t d[300], c1[320], c2[320];
	size_t n1, n2;
	mic_apdu a = { 0x00, 0xDA, 0x01, 0x01, d, sizeof(d), 0, 0 };

	/* The card lost the first chunk with the reset: start over. */
	pattern(d, sizeof(d), 17);
	n1 = build(c1, "10DA0101 FF", d, 255, NULL);
	n2 = build(c2, "00DA0101 2D", d + 255, 45, NULL);
	expect_bytes(c->f, c1, n1, (const uint8_t *)"\x90\x00", 2);
	expect_rc(c->f, NULL, MIC_ERR_CARD_RESET);
	expect_bytes(c->f, c1, n1, (const uint8_t *)"\x90\x00", 2);
	expect_bytes(c->f, c2, n2, (const uint8_t *)"\x90\x00", 2);
	assert_int_equal(run(c, &a, 16), MIC_OK);
	assert_int_equal(c->f->reconnects, 1);
}

static void
test_reset_reselect_fails(void **state)
{
	struct ctx *c = *state;
	struct hook_state h = { 0, MIC_OK, NULL, 0 };
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 4, 0 };
	mic_tx_stats st;

	mic_tx_set_reset_hook(c->tx, reset_hook, &h);
	expect(c->f, SELECT_HEX, "9000");
	expect_rc(c->f, "00B0000004", MIC_ERR_CARD_RESET);
	expect(c->f, SELECT_HEX, "6A82");
	do_select(c);
	assert_int_equal(run(c, &a, 16), MIC_ERR_CARD_CHANGED);
	assert_int_equal(h.calls, 0);
	assert_int_equal(c->rsp_len, 0);
	mic_tx_get_stats(c->tx, &st);
	assert_int_equal(st.recoveries, 0);

	/* That application is gone: the next recovery selects nothing. */
	expect_rc(c->f, "00B0000004", MIC_ERR_CARD_RESET);
	expect(c->f, "00B0000004", "01020304 9000");
	assert_int_equal(run(c, &a, 16), MIC_OK);
	assert_int_equal(h.calls, 1);
}

static void
test_reset_hook_card_changed(void **state)
{
	struct ctx *c = *state;
	struct hook_state h = { 0, MIC_ERR_CARD_CHANGED, NULL, 0 };
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 4, 0 };

	mic_tx_set_reset_hook(c->tx, reset_hook, &h);
	expect(c->f, SELECT_HEX, "9000");
	expect_rc(c->f, "00B0000004", MIC_ERR_CARD_RESET);
	expect(c->f, SELECT_HEX, "9000");
	do_select(c);
	assert_int_equal(run(c, &a, 16), MIC_ERR_CARD_CHANGED);
	assert_int_equal(h.calls, 1);

	/* A hook that held a secure channel says so; that goes through too. */
	h.rc = MIC_ERR_CARD_RESET;
	expect_rc(c->f, "00B0000004", MIC_ERR_CARD_RESET);
	expect(c->f, SELECT_HEX, "9000");
	assert_int_equal(run(c, &a, 16), MIC_ERR_CARD_RESET);
	assert_int_equal(h.calls, 2);
}

static void
test_reset_rebegin_fails(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 4, 0 };

	c->f->rebegin_rc = MIC_ERR_SHARING_VIOLATION;
	expect_rc(c->f, "00B0000004", MIC_ERR_CARD_RESET);
	assert_int_equal(mic_tx_begin(c->tx), MIC_OK);
	assert_int_equal(run(c, &a, 16), MIC_ERR_SHARING_VIOLATION);
	assert_int_equal(c->f->reconnects, 1);
	/* Nothing is held, so the end does not reach the backend. */
	assert_int_equal(mic_tx_end(c->tx), MIC_OK);
	assert_int_equal(c->f->ends, 0);
	assert_int_equal(mic_tx_end(c->tx), MIC_ERR_TRANSACTION);
	/* The implicit kind is no different. */
	c->f->begin_rc = MIC_OK;
	expect_rc(c->f, "00B0000004", MIC_ERR_CARD_RESET);
	assert_int_equal(run(c, &a, 16), MIC_ERR_SHARING_VIOLATION);
	assert_int_equal(c->f->begins, 2);
	assert_int_equal(c->f->ends, 0);
}

static void
test_reset_inside_hook(void **state)
{
	struct ctx *c = *state;
	struct hook_state h = { 0, MIC_OK, NULL, 1 };
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 4, 0 };

	/* Reset again while the hook checks the card: no nested recovery. */
	mic_tx_set_reset_hook(c->tx, reset_hook, &h);
	expect_rc(c->f, "00B0000004", MIC_ERR_CARD_RESET);
	expect_rc(c->f, "00CA005A04", MIC_ERR_CARD_RESET);
	assert_int_equal(run(c, &a, 16), MIC_ERR_CARD_RESET);
	assert_int_equal(c->f->reconnects, 1);
	assert_int_equal(h.calls, 1);
}

static void
test_reset_no_reconnect(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 4, 0 };

	expect_rc(c->f, "00B0000004", MIC_ERR_CARD_RESET);
	assert_int_equal(run(c, &a, 16), MIC_ERR_CARD_RESET);
	assert_int_equal(c->f->calls, 1);
}

static void
test_reset_once_per_call(void **state)
{
	struct ctx *c = *state;
	struct hook_state h = { 0, MIC_OK, NULL, 0 };
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 4, 0 };

	mic_tx_set_reset_hook(c->tx, reset_hook, &h);
	expect(c->f, SELECT_HEX, "9000");
	expect_rc(c->f, "00B0000004", MIC_ERR_CARD_RESET);
	expect(c->f, SELECT_HEX, "9000");
	expect_rc(c->f, "00B0000004", MIC_ERR_CARD_RESET);
	do_select(c);
	assert_int_equal(run(c, &a, 16), MIC_ERR_CARD_RESET);
	assert_int_equal(c->f->reconnects, 1);
	assert_int_equal(h.calls, 1);
}

static void
test_reset_during_get_response(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 4, 0 };

	/* The card ran the command already: resending could run it twice. */
	expect(c->f, "00B0000004", "6104");
	expect_rc(c->f, "00C0000004", MIC_ERR_CARD_RESET);
	assert_int_equal(run(c, &a, 16), MIC_ERR_CARD_RESET);
	assert_int_equal(c->f->reconnects, 0);
}

static void
test_reset_reconnect_fails(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 4, 0 };

	c->f->reconnect_rc = MIC_ERR_NO_CARD;
	expect_rc(c->f, "00B0000004", MIC_ERR_CARD_RESET);
	assert_int_equal(run(c, &a, 16), MIC_ERR_NO_CARD);
	assert_int_equal(c->f->reconnects, 1);
}

static void
test_reset_forgets_select(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 4, 0 };
	mic_apdu other = { 0x00, 0xA4, 0x04, 0x00, aid, 5, 0, 0 };

	/* mic_tx_reset() drops the application... */
	expect(c->f, SELECT_HEX, "9000");
	expect_rc(c->f, "00B0000004", MIC_ERR_CARD_RESET);
	expect(c->f, "00B0000004", "9000");
	do_select(c);
	assert_int_equal(mic_tx_reset(c->tx), MIC_OK);
	assert_int_equal(c->f->resets, 1);
	assert_int_equal(run(c, &a, 16), MIC_OK);

	/* ...and so does a failed SELECT by name. */
	expect(c->f, SELECT_HEX, "9000");
	expect(c->f, "00A4040005A000000003", "6A82");
	expect_rc(c->f, "00B0000004", MIC_ERR_CARD_RESET);
	expect(c->f, "00B0000004", "9000");
	do_select(c);
	assert_int_equal(run(c, &other, 16), MIC_OK);
	assert_int_equal(c->sw, 0x6A82);
	assert_int_equal(run(c, &a, 16), MIC_OK);
	assert_int_equal(c->f->reconnects, 2);
}

static void
test_reset_select_never_sent(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 4, 0 };
	mic_apdu other = { 0x00, 0xA4, 0x04, 0x0C, aid, 5, 0, 0 };

	/* A SELECT the card never got changes nothing on it. */
	expect(c->f, SELECT_HEX, "9000");
	expect_rc(c->f, "00A4040C05A000000003", MIC_ERR_TX);
	expect(c->f, "00A4040C05A000000003", "6C10");
	expect(c->f, "00A4040C05A00000000310", "6C10");
	expect_rc(c->f, "00B0000004", MIC_ERR_CARD_RESET);
	expect(c->f, SELECT_HEX, "9000");
	expect(c->f, "00B0000004", "9000");
	do_select(c);
	assert_int_equal(run(c, &other, 16), MIC_ERR_TX);
	assert_int_equal(run(c, &other, 16), MIC_ERR_RETRY_LIMIT);
	assert_int_equal(run(c, &a, 16), MIC_OK);
}

static void
test_reset_replays_latest_select(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 4, 0 };
	mic_apdu other = { 0x00, 0xA4, 0x04, 0x0C, aid, 5, 0, 0 };
	mic_apdu ef = { 0x00, 0xA4, 0x02, 0x0C,
	    (const uint8_t *)"\x00\x15", 2, 0, 0 };

	expect(c->f, SELECT_HEX, "9000");
	expect(c->f, "00A4040C05A000000003", "9000");
	/* A failed SELECT of an EF leaves the application alone. */
	expect(c->f, "00A4020C020015", "6A82");
	expect_rc(c->f, "00B0000004", MIC_ERR_CARD_RESET);
	expect(c->f, "00A4040C05A000000003", "9000");
	expect(c->f, "00B0000004", "9000");
	do_select(c);
	assert_int_equal(run(c, &other, 16), MIC_OK);
	assert_int_equal(run(c, &ef, 16), MIC_OK);
	assert_int_equal(run(c, &a, 16), MIC_OK);
}

/* --- trace and redaction ------------------------------------------------ */

static void
tracer_fn(void *arg, int dir, const uint8_t *buf, size_t len)
{
	struct tracer *t = arg;
	struct trace_rec *r;

	assert_true(t->n < MAX_TRACE);
	r = &t->rec[t->n++];
	r->dir = dir;
	assert_true(len <= sizeof(r->buf));
	memcpy(r->buf, buf, len);
	r->len = len;
}

static void
assert_trace(const struct trace_rec *r, int dir, const char *want)
{
	uint8_t w[1024];
	size_t n;

	assert_int_equal(mici_hex_decode(want, w, sizeof(w), &n), MIC_OK);
	assert_int_equal(r->dir, dir);
	assert_int_equal(r->len, n);
	assert_memory_equal(r->buf, w, n);
}

static int
has_digit(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] >= '0' && p[i] <= '9')
			return 1;
	return 0;
}

static void
test_trace_verify(void **state)
{
	struct ctx *c = *state;
	struct tracer t;
	const uint8_t pin[] = "123456";
	mic_apdu a = { 0x00, 0x20, 0x00, 0x81, pin, 6, 0, 0 };
	size_t i;

	memset(&t, 0, sizeof(t));
	mic_tx_set_trace(c->tx, tracer_fn, &t);
	/* The card itself gets the PIN. */
	expect(c->f, "0020008106313233343536", "63C2");
	assert_int_equal(run(c, &a, 16), MIC_OK);
	assert_int_equal(c->sw, 0x63C2);
	assert_int_equal(t.n, 2);
	assert_trace(&t.rec[0], MIC_TRACE_CMD, "0020008106 2A2A2A2A2A2A");
	assert_trace(&t.rec[1], MIC_TRACE_RSP, "63C2");
	for (i = 0; i < t.n; i++)
		assert_false(has_digit(t.rec[i].buf, t.rec[i].len));
	/* And the transport's own copy of it is gone. */
	assert_non_null(c->f->seen);
	assert_false(has_digit(c->f->seen, c->f->seen_len));

	/* The other PIN commands, odd INS included. */
	{
		static const char *const cmds[] = { "24", "2C", "21" };
		for (i = 0; i < MIC_ARRAY_LEN(cmds); i++) {
			char want[64];
			mic_apdu b = a;
			uint8_t ins;
			size_t n;

			assert_int_equal(mici_hex_decode(cmds[i], &ins, 1, &n),
			    MIC_OK);
			b.ins = ins;
			t.n = 0;
			expect(c->f, NULL, "9000");
			assert_int_equal(run(c, &b, 16), MIC_OK);
			snprintf(want, sizeof(want), "00%s008106 2A2A2A2A2A2A",
			    cmds[i]);
			assert_trace(&t.rec[0], MIC_TRACE_CMD, want);
			assert_false(has_digit(c->f->seen, c->f->seen_len));
		}
	}
}

static void
test_trace_sensitive_flag(void **state)
{
	struct ctx *c = *state;
	struct tracer t;
	const uint8_t key[] = "0123456789abcdef";
	mic_apdu a = { 0x00, 0xDA, 0x01, 0x02, key, 16, 0, MIC_APDU_SENSITIVE };
	mic_apdu g = { 0x00, 0xCA, 0x01, 0x02, NULL, 0, 4, MIC_APDU_SENSITIVE };

	memset(&t, 0, sizeof(t));
	mic_tx_set_trace(c->tx, tracer_fn, &t);
	expect(c->f, NULL, "9000");
	expect(c->f, "00CA010204", "35353535 6102");
	expect(c->f, "00C0000002", "3636 9000");
	assert_int_equal(run(c, &a, 16), MIC_OK);
	assert_int_equal(run(c, &g, 16), MIC_OK);
	/* The caller gets the real data... */
	assert_int_equal(c->rsp_len, 6);
	assert_memory_equal(c->rsp, "555566", 6);
	/* ...the hook only stars. */
	assert_int_equal(t.n, 6);
	assert_trace(&t.rec[0], MIC_TRACE_CMD,
	    "00DA010210 2A2A2A2A2A2A2A2A2A2A2A2A2A2A2A2A");
	assert_trace(&t.rec[1], MIC_TRACE_RSP, "9000");
	assert_trace(&t.rec[2], MIC_TRACE_CMD, "00CA010204");
	assert_trace(&t.rec[3], MIC_TRACE_RSP, "2A2A2A2A 6102");
	assert_trace(&t.rec[4], MIC_TRACE_CMD, "00C0000002");
	assert_trace(&t.rec[5], MIC_TRACE_RSP, "2A2A 9000");
}

static void
test_trace_sensitive_extended_and_chained(void **state)
{
	struct ctx *c = *state;
	struct tracer t;
	uint8_t d[300];
	mic_apdu a = { 0x00, 0xDA, 0x01, 0x02, d, sizeof(d), 0,
	    MIC_APDU_SENSITIVE };
	size_t i;

	memset(d, '7', sizeof(d));
	memset(&t, 0, sizeof(t));
	mic_tx_set_trace(c->tx, tracer_fn, &t);

	/* Chained: every chunk is redacted. */
	expect(c->f, NULL, "9000");
	expect(c->f, NULL, "9000");
	assert_int_equal(run(c, &a, 16), MIC_OK);
	assert_int_equal(t.n, 4);
	assert_int_equal(t.rec[0].len, 5 + 255);
	assert_int_equal(t.rec[0].buf[0], 0x10);
	assert_int_equal(t.rec[2].len, 5 + 45);
	for (i = 0; i < t.n; i++)
		assert_false(has_digit(t.rec[i].buf, t.rec[i].len));

	/* Extended: the data starts after a 3-byte Lc. */
	set_caps(c, 1, 1, 0, 0);
	t.n = 0;
	expect(c->f, NULL, "9000");
	assert_int_equal(run(c, &a, 16), MIC_OK);
	assert_int_equal(t.rec[0].len, 7 + 300);
	assert_memory_equal(t.rec[0].buf, "\x00\xDA\x01\x02\x00\x01\x2C", 7);
	for (i = 7; i < t.rec[0].len; i++)
		assert_int_equal(t.rec[0].buf[i], 0x2A);
	assert_false(has_digit(c->f->seen, c->f->seen_len));
}

static void
test_trace_verbatim(void **state)
{
	struct ctx *c = *state;
	struct tracer t;
	const uint8_t d[] = { 0x31, 0x32 };
	mic_apdu a = { 0x00, 0xD6, 0x00, 0x00, d, 2, 2, 0 };

	memset(&t, 0, sizeof(t));
	mic_tx_set_trace(c->tx, tracer_fn, &t);
	expect(c->f, "00D6000002313202", "6101");
	expect(c->f, "00C0000001", "39 9000");
	assert_int_equal(run(c, &a, 16), MIC_OK);
	assert_int_equal(t.n, 4);
	assert_trace(&t.rec[0], MIC_TRACE_CMD, "00D6000002313202");
	assert_trace(&t.rec[1], MIC_TRACE_RSP, "6101");
	assert_trace(&t.rec[2], MIC_TRACE_CMD, "00C0000001");
	assert_trace(&t.rec[3], MIC_TRACE_RSP, "39 9000");
	/* Switched off, nothing more is seen. */
	mic_tx_set_trace(c->tx, NULL, NULL);
	expect(c->f, NULL, "9000");
	assert_int_equal(run(c, &a, 16), MIC_OK);
	assert_int_equal(t.n, 4);
}

/* --- stats, caps, ATR, reset -------------------------------------------- */

static void
test_stats(void **state)
{
	struct ctx *c = *state;
	mic_apdu a = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, 2, 0 };
	mic_tx_stats st;

	mic_tx_get_stats(c->tx, &st);
	assert_int_equal(st.apdus, 0);
	expect(c->f, "00B0000002", "0102 6101");
	expect(c->f, "00C0000001", "03 9000");
	assert_int_equal(run(c, &a, 16), MIC_OK);
	mic_tx_get_stats(c->tx, &st);
	assert_int_equal(st.apdus, 2);
	assert_int_equal(st.bytes_out, 10);
	assert_int_equal(st.bytes_in, 7);
	assert_int_equal(st.recoveries, 0);
	mic_tx_get_stats(NULL, &st);
	assert_int_equal(st.apdus, 0);
	mic_tx_get_stats(c->tx, NULL);
}

static void
test_atr_and_reset(void **state)
{
	struct ctx *c = *state;
	uint8_t atr[33];
	size_t n = sizeof(atr);

	assert_int_equal(mic_tx_atr(c->tx, atr, &n), MIC_OK);
	assert_int_equal(n, 2);
	assert_int_equal(atr[0], 0x3B);
	c->f->lie = 1;
	n = sizeof(atr);
	assert_int_equal(mic_tx_atr(c->tx, atr, &n), MIC_ERR_RESPONSE);
	assert_int_equal(n, 0);
	assert_int_equal(mic_tx_atr(c->tx, NULL, &n), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_tx_reset(c->tx), MIC_OK);
	assert_int_equal(c->f->resets, 1);
	assert_int_equal(mic_tx_reset(NULL), MIC_ERR_INVALID_ARGUMENT);
}

static void
test_min_backend_unsupported(void **state)
{
	struct ctx *c = *state;
	uint8_t atr[33];
	size_t n = sizeof(atr);

	assert_int_equal(mic_tx_atr(c->tx, atr, &n), MIC_ERR_UNSUPPORTED);
	assert_int_equal(mic_tx_reset(c->tx), MIC_ERR_UNSUPPORTED);
	/* NULL-safe setters and getters. */
	mic_tx_set_caps(NULL, NULL);
	mic_tx_set_trace(NULL, NULL, NULL);
	mic_tx_set_reset_hook(NULL, NULL, NULL);
	mic_tx_get_caps(c->tx, NULL);
}

/* --- lifetime ----------------------------------------------------------- */

static void
test_new_free(void **state)
{
	struct fake f;
	mic_tx_ops bad = min_ops;
	mic_tx_t *tx = (mic_tx_t *)&f;

	(void)state;
	memset(&f, 0, sizeof(f));
	assert_int_equal(mic_tx_new(NULL, &min_ops, &f),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_tx_new(&tx, NULL, &f), MIC_ERR_INVALID_ARGUMENT);
	assert_null(tx);
	bad.close = NULL;
	assert_int_equal(mic_tx_new(&tx, &bad, &f), MIC_ERR_INVALID_ARGUMENT);
	bad = min_ops;
	bad.transmit = NULL;
	assert_int_equal(mic_tx_new(&tx, &bad, &f), MIC_ERR_INVALID_ARGUMENT);
	/* On failure the backend is still the caller's: not closed. */
	assert_int_equal(f.closes, 0);

	mic_tx_free(NULL);
	tx = NULL;
	mic_tx_free(&tx);
	assert_int_equal(mic_tx_new(&tx, &min_ops, &f), MIC_OK);
	assert_non_null(tx);
	assert_int_equal(f.closes, 0);
	mic_tx_free(&tx);
	assert_null(tx);
	assert_int_equal(f.closes, 1);
	mic_tx_free(&tx);
	assert_int_equal(f.closes, 1);
}

/* A tiny card: INS EE echoes its data, anything else is unknown. */
static mic_rc
echo_card(void *card, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
    size_t *rsp_len)
{
	int *calls = card;
	mic_apdu a;

	(*calls)++;
	if (mic_apdu_decode(cmd, cmd_len, &a) != MIC_OK)
		return MIC_ERR_INTERNAL;
	if (a.ins == 0xFF)
		return MIC_ERR_CARD_REMOVED;
	if (a.ins != 0xEE) {
		assert_true(*rsp_len >= 2);
		mici_put_u16(rsp, 0x6D00);
		*rsp_len = 2;
		return MIC_OK;
	}
	assert_true(*rsp_len >= a.nc + 2);
	memcpy(rsp, a.data, a.nc);
	mici_put_u16(rsp + a.nc, 0x9000);
	*rsp_len = a.nc + 2;
	return MIC_OK;
}

static void
test_inproc(void **state)
{
	int calls = 0;
	mic_tx_t *tx = NULL;
	const uint8_t d[] = { 1, 2, 3 };
	mic_apdu a = { 0x00, 0xEE, 0x00, 0x00, d, 3, 256, 0 };
	mic_apdu u = { 0x00, 0x01, 0x00, 0x00, NULL, 0, 0, 0 };
	mic_apdu x = { 0x00, 0xFF, 0x00, 0x00, NULL, 0, 0, 0 };
	uint8_t r[16], atr[33];
	size_t n = sizeof(atr);
	uint16_t sw;

	(void)state;
	assert_int_equal(mic_tx_new_inproc(NULL, echo_card, &calls),
	    MIC_ERR_INVALID_ARGUMENT);
	tx = (mic_tx_t *)r;
	assert_int_equal(mic_tx_new_inproc(&tx, NULL, &calls),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_null(tx);
	assert_int_equal(mic_tx_new_inproc(&tx, echo_card, &calls), MIC_OK);
	assert_int_equal(mic_tx_transmit(tx, &a, r, sizeof(r), &n, &sw),
	    MIC_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(r, d, 3);
	assert_int_equal(sw, 0x9000);
	assert_int_equal(mic_tx_command(tx, &u, r, sizeof(r), &n),
	    MIC_SW_INS_UNSUPPORTED);
	assert_int_equal(mic_tx_command(tx, &x, r, sizeof(r), &n),
	    MIC_ERR_CARD_REMOVED);
	assert_int_equal(calls, 3);
	/* No reader behind it: no ATR, no reset; transactions still count. */
	n = sizeof(atr);
	assert_int_equal(mic_tx_atr(tx, atr, &n), MIC_ERR_UNSUPPORTED);
	assert_int_equal(mic_tx_reset(tx), MIC_ERR_UNSUPPORTED);
	assert_int_equal(mic_tx_begin(tx), MIC_OK);
	assert_int_equal(mic_tx_end(tx), MIC_OK);
	assert_int_equal(mic_tx_end(tx), MIC_ERR_TRANSACTION);
	mic_tx_free(&tx);
	assert_null(tx);
	assert_int_equal(calls, 3);
}

#define T_MIN(f) cmocka_unit_test_setup_teardown(f, setup_min, teardown)
#define T_FULL(f) cmocka_unit_test_setup_teardown(f, setup_full, teardown)
#define T_RECON(f) cmocka_unit_test_setup_teardown(f, setup_reconnect, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T_MIN(test_case1),
		T_MIN(test_case2),
		T_MIN(test_case3),
		T_MIN(test_case4),
		T_MIN(test_short_only_by_default),
		T_MIN(test_extended_both),
		T_MIN(test_extended_small_stays_short),
		T_MIN(test_chain_reader_only_extended),
		T_MIN(test_chain_case4_channel),
		T_MIN(test_chain_max_nc),
		T_MIN(test_chain_stops_on_error),
		T_MIN(test_chain_proprietary_cla),
		T_MIN(test_chain_gp_cla),
		T_MIN(test_bad_lengths),
		T_MIN(test_bad_args),
		T_MIN(test_61xx_single),
		T_MIN(test_61xx_clears_chain_bit),
		T_MIN(test_61xx_multi),
		T_MIN(test_61xx_full_64k),
		T_MIN(test_61xx_round_bound),
		T_MIN(test_61xx_empty_rounds_bound),
		T_MIN(test_response_over_cap),
		T_MIN(test_response_over_64k),
		T_MIN(test_max_ne),
		T_MIN(test_6cxx_once),
		T_MIN(test_6cxx_twice),
		T_MIN(test_6cxx_then_61xx),
		T_MIN(test_response_too_short),
		T_MIN(test_backend_overlong),
		T_MIN(test_backend_errors),
		T_MIN(test_command_rc),
		T_FULL(test_tx_implicit),
		T_FULL(test_tx_explicit_nested),
		T_FULL(test_tx_end_without_begin),
		T_FULL(test_tx_begin_fails),
		T_FULL(test_tx_end_fails),
		T_MIN(test_tx_no_backend_tx),
		T_FULL(test_reset_recovery),
		T_FULL(test_reset_recovery_explicit_tx),
		T_RECON(test_reset_chain_resent_whole),
		T_RECON(test_reset_reselect_fails),
		T_RECON(test_reset_hook_card_changed),
		T_FULL(test_reset_rebegin_fails),
		T_RECON(test_reset_inside_hook),
		T_MIN(test_reset_no_reconnect),
		T_RECON(test_reset_once_per_call),
		T_RECON(test_reset_during_get_response),
		T_RECON(test_reset_reconnect_fails),
		T_RECON(test_reset_forgets_select),
		T_RECON(test_reset_select_never_sent),
		T_RECON(test_reset_replays_latest_select),
		T_MIN(test_trace_verify),
		T_MIN(test_trace_sensitive_flag),
		T_MIN(test_trace_sensitive_extended_and_chained),
		T_MIN(test_trace_verbatim),
		T_MIN(test_stats),
		T_FULL(test_atr_and_reset),
		T_MIN(test_min_backend_unsupported),
		cmocka_unit_test(test_new_free),
		cmocka_unit_test(test_inproc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
