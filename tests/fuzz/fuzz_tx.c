/*
 * Fuzz the transport against a hostile card.
 *
 * Input: two configuration bytes, then a script of card answers, each a
 * 2-byte big-endian length and that many bytes. Some lengths are actions:
 *   FFFF  the backend reports MIC_ERR_CARD_RESET
 *   FFFE  the backend reports MIC_ERR_CARD_REMOVED
 *   FFFD  the backend claims one byte more than the buffer it was given
 *   FFFC  the previous answer, forever (so only mic_tx_t's own bounds stop
 *         a 61xx or 6Cxx loop)
 * A spent script answers MIC_ERR_TX. A fixed set of commands (SELECT, case
 * 1, case 2, chained case 4, extended case 4, VERIFY) runs against it.
 *
 * Checked: no memory error; the returned length fits the caller's cap; on
 * error nothing is returned; every APDU on the wire is well formed and fits
 * the path's caps; no trace shows a PIN or a sensitive response; and each
 * call makes a bounded number of exchanges.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mic/tx.h>

#include "internal.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

#define ACT_RESET 0xFFFFu
#define ACT_REMOVED 0xFFFEu
#define ACT_LIE 0xFFFDu
#define ACT_FOREVER 0xFFFCu

/* Generous: two runs of chunks, one 6Cxx resend, every GET RESPONSE round. */
#define MAX_CALLS_PER_COMMAND 2000u

enum {
	F_READER_EXT = 0x01,
	F_CARD_EXT = 0x02,
	F_MAX_NC = 0x04,
	F_MAX_NE = 0x08,
	F_TRACE = 0x10,
	F_HOOK = 0x20,
	F_HOOK_TALKS = 0x40,
	F_FULL_OPS = 0x80,
};

struct script {
	const uint8_t *p;
	size_t left;
	const uint8_t *last;  /* the answer FFFC repeats */
	size_t last_len;
	int forever;
	unsigned calls;
	int ext;
	size_t max_nc;
	int in_tx;
	int has_tx;
	int redact_next;      /* the next traced response must be starred */
	int sensitive;        /* a sensitive command is running... */
	uint8_t hdr[3];       /* ...with this INS P1 P2 */
};

static mic_rc
script_transmit(void *arg, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
    size_t *rsp_len)
{
	struct script *s = arg;
	mic_apdu a;
	size_t n;
	uint16_t len;

	s->calls++;
	CHECK(s->calls <= MAX_CALLS_PER_COMMAND);
	/* What mic_tx_t sends must be a valid APDU that fits the path. */
	CHECK(cmd_len <= MIC_APDU_CMD_MAX);
	CHECK(mic_apdu_decode(cmd, cmd_len, &a) == MIC_OK);
	CHECK(s->ext || !mic_apdu_is_extended(cmd, cmd_len));
	CHECK(s->max_nc == 0 || a.nc <= s->max_nc);
	CHECK(!s->has_tx || s->in_tx);
	CHECK(*rsp_len >= MIC_APDU_RSP_MAX);
	if (s->forever) {
		n = s->last_len;
	} else {
		if (s->left < 2)
			return MIC_ERR_TX;
		len = mici_get_u16(s->p);
		s->p += 2;
		s->left -= 2;
		switch (len) {
		case ACT_RESET:
			return MIC_ERR_CARD_RESET;
		case ACT_REMOVED:
			return MIC_ERR_CARD_REMOVED;
		case ACT_LIE:
			*rsp_len += 1;
			return MIC_OK;
		case ACT_FOREVER:
			s->forever = 1;
			n = s->last_len;
			break;
		default:
			n = len < s->left ? len : s->left;
			s->last = s->p;
			s->last_len = n;
			s->p += n;
			s->left -= n;
			break;
		}
	}
	if (n > 0)
		memcpy(rsp, s->last, n);
	*rsp_len = n;
	return MIC_OK;
}

static mic_rc
script_begin(void *arg)
{
	struct script *s = arg;

	CHECK(!s->in_tx);
	s->in_tx = 1;
	return MIC_OK;
}

static mic_rc
script_end(void *arg)
{
	struct script *s = arg;

	CHECK(s->in_tx);
	s->in_tx = 0;
	return MIC_OK;
}

static mic_rc
script_reconnect(void *arg)
{
	struct script *s = arg;

	s->in_tx = 0;
	return MIC_OK;
}

static void
script_close(void *arg)
{
	(void)arg;
}

static const mic_tx_ops min_ops = {
	.transmit = script_transmit,
	.close = script_close,
};

static const mic_tx_ops full_ops = {
	.transmit = script_transmit,
	.reconnect = script_reconnect,
	.begin = script_begin,
	.end = script_end,
	.close = script_close,
};

static void
trace(void *arg, int dir, const uint8_t *buf, size_t len)
{
	struct script *s = arg;
	size_t i;

	CHECK(dir == MIC_TRACE_CMD || dir == MIC_TRACE_RSP);
	CHECK(buf != NULL);
	if (dir == MIC_TRACE_CMD) {
		CHECK(len >= 4);
		/*
		 * A sensitive command's data and its answers (GET RESPONSE
		 * included) are stars; the SELECT a recovery replays is not.
		 */
		s->redact_next = s->sensitive && (buf[1] == 0xC0 ||
		    memcmp(buf + 1, s->hdr, 3) == 0);
		/* VERIFY here is short: Lc, data, then maybe Le from 6Cxx. */
		if (buf[1] == 0x20 && len > 5)
			for (i = 5; i < len && i < 5u + buf[4]; i++)
				CHECK(buf[i] == 0x2A);
		return;
	}
	CHECK(len >= 2);
	if (s->redact_next)
		for (i = 0; i + 2 < len; i++)
			CHECK(buf[i] == 0x2A);
}

static mic_rc
hook(mic_tx_t *tx, void *arg)
{
	const mic_apdu get = { 0x00, 0xCA, 0x00, 0x5A, NULL, 0, 8, 0 };
	struct script *s = arg;
	uint8_t r[8];
	size_t n;
	uint16_t sw;
	int sensitive;
	mic_rc rc;

	if (s == NULL)
		return MIC_OK;
	/* Like a serial check: a command of its own, in the middle. */
	sensitive = s->sensitive;
	s->sensitive = 0;
	rc = mic_tx_transmit(tx, &get, r, sizeof(r), &n, &sw);
	s->sensitive = sensitive;
	if (rc != MIC_OK)
		return rc;
	CHECK(n <= sizeof(r));
	return sw == 0x9000 ? MIC_OK : MIC_ERR_CARD_CHANGED;
}

static void
run(mic_tx_t *tx, struct script *s, const mic_apdu *cmd, uint8_t *rsp,
    size_t cap)
{
	size_t len = 12345;
	uint16_t sw = 0x1234;
	mic_rc rc;

	s->calls = 0;
	s->sensitive = cmd->ins == 0x20 || (cmd->flags & MIC_APDU_SENSITIVE);
	s->hdr[0] = cmd->ins;
	s->hdr[1] = cmd->p1;
	s->hdr[2] = cmd->p2;
	rc = mic_tx_transmit(tx, cmd, rsp, cap, &len, &sw);
	s->sensitive = 0;
	CHECK(!s->has_tx || !s->in_tx);
	if (rc == MIC_OK) {
		CHECK(len <= cap);
		CHECK(len <= MIC_APDU_NE_MAX_EXT);
	} else {
		/* A library error, never a status word, and nothing returned. */
		CHECK(rc < 0);
		CHECK(len == 0);
		CHECK(sw == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t aid[] = { 0xA0, 0x00, 0x00, 0x04, 0x56, 0x4D,
	    0x49, 0x43 };
	static const uint8_t pin[] = { '1', '2', '3', '4', '5', '6' };
	static const size_t caps_of[] = { 0, 16, 300, MIC_APDU_RSP_MAX };
	struct script s;
	mic_tx_caps caps;
	mic_tx_t *tx = NULL;
	uint8_t *body = NULL, *rsp = NULL;
	size_t cap;
	uint8_t flags;

	if (size < 2)
		return 0;
	flags = data[0];
	cap = caps_of[data[1] & 3];
	memset(&s, 0, sizeof(s));
	s.p = data + 2;
	s.left = size - 2;
	s.has_tx = (flags & F_FULL_OPS) != 0;
	if ((body = malloc(1200)) == NULL ||
	    (rsp = malloc(MIC_APDU_RSP_MAX)) == NULL)
		goto out;
	memset(body, 0x5A, 1200);
	if (mic_tx_new(&tx, s.has_tx ? &full_ops : &min_ops, &s) != MIC_OK)
		goto out;
	memset(&caps, 0, sizeof(caps));
	caps.reader_extended = (flags & F_READER_EXT) != 0;
	caps.card_extended = (flags & F_CARD_EXT) != 0;
	caps.max_nc = (flags & F_MAX_NC) ? 64 : 0;
	caps.max_ne = (flags & F_MAX_NE) ? 32 : 0;
	mic_tx_set_caps(tx, &caps);
	s.ext = caps.reader_extended && caps.card_extended;
	s.max_nc = caps.max_nc;
	if (flags & F_TRACE)
		mic_tx_set_trace(tx, trace, &s);
	if (flags & F_HOOK)
		mic_tx_set_reset_hook(tx, hook,
		    (flags & F_HOOK_TALKS) ? &s : NULL);

	{
		const mic_apdu cmds[] = {
			{ 0x00, 0xA4, 0x04, 0x00, aid, sizeof(aid), 256, 0 },
			{ 0x00, 0x44, 0x00, 0x00, NULL, 0, 0, 0 },
			{ 0x00, 0xB0, 0x81, 0x00, NULL, 0, 256, 0 },
			{ 0x00, 0xDA, 0x01, 0x02, body, 600, 300, 0 },
			{ 0x00, 0xDB, 0x3F, 0xFF, body, 1200, 1000, 0 },
			{ 0x00, 0x20, 0x00, 0x81, pin, sizeof(pin), 0, 0 },
			{ 0x00, 0xCA, 0x01, 0x02, NULL, 0, 64,
			    MIC_APDU_SENSITIVE },
		};
		size_t i;

		for (i = 0; i < MIC_ARRAY_LEN(cmds); i++) {
			/* Everything after a spent script is the same story. */
			if (s.left < 2 && !s.forever && i > 0)
				break;
			run(tx, &s, &cmds[i], rsp, cap);
		}
	}
out:
	mic_tx_free(&tx);
	free(body);
	free(rsp);
	return 0;
}
