/*
 * The transport core: one logical command in, its whole response out.
 *
 * Everything above a single backend exchange lives here: choosing the
 * length form, command chaining (ISO/IEC 7816-4 5.3.3), GET RESPONSE after
 * 61xx and one resend after 6Cxx (5.3.4 and 5.6), implicit transactions,
 * recovery after a reset by another application, and a redacting trace.
 *
 * The per-APDU path is benchmarked against a bare SCardTransmit loop, so it
 * allocates nothing, clears no big buffer and reads no environment variable:
 * the two working buffers are allocated once in mic_tx_new().
 *
 * Chaining rules a caller must know:
 *   - an APDU carries at most 255 data bytes on a short-only path, 65535
 *     when both reader and card take extended APDUs, and never more than
 *     caps.max_nc when that is set; longer data is chained;
 *   - chaining needs a CLA whose bit 0x10 means chaining: the interindustry
 *     classes (b8 = 0), and the proprietary 80-9F range that GlobalPlatform
 *     (and the MIC profile, for STORE DATA, DEBIT and CREDIT) codes like the
 *     first interindustry range. Elsewhere the meaning of that bit is
 *     unknown, so a command that would need chaining fails with
 *     MIC_ERR_APDU_TOO_LONG instead;
 *   - every chunk but the last is sent with CLA | 0x10 and without Le; the
 *     last carries the caller's CLA and Le. A chunk answered with anything
 *     but 9000 ends the chain, and that response is the command's result.
 *
 * Secure messaging (mic_tx_set_sm()) sits above all of that: the logical
 * command is wrapped before the length form and chaining are chosen, and
 * the whole response is unwrapped once GET RESPONSE has collected it, as
 * GlobalPlatform's SCP03 protects the command and response "as a whole"
 * (Amendment D 6.2) and ISO/IEC 7816-4 5.3.4 leaves GET RESPONSE outside
 * secure messaging. The channel is never silently dropped: once it ends
 * (a bad response, a card reset, an exchange that failed after wrapping)
 * every transmit fails with MIC_ERR_SM_CLOSED until the caller installs a
 * new layer or explicitly goes plain.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <mic/tx.h>

#include "internal.h"

/*
 * Both working buffers hold either the largest command or the largest
 * response (the command buffer is reused to redact a response for the
 * trace), with slack for backends that report a little more than a card may
 * legally send, so such a response is still seen and rejected by length.
 */
#define TX_BUF_SIZE (MIC_APDU_CMD_MAX + 16u)

/* A remembered SELECT: any short-data SELECT, in either length form. */
#define TX_SEL_MAX (4u + 3u + MIC_APDU_NC_MAX_SHORT + 2u)

/*
 * GET RESPONSE rounds per command. 256 rounds of 256 bytes carry the
 * largest response; the rest is slack for cards (or caps.max_ne) that hand
 * out less per round.
 */
#define TX_GR_ROUNDS 512u

#define SW_OK 0x9000u
#define SW1_MORE 0x61u
#define SW1_WRONG_LE 0x6Cu
#define CLA_PROPRIETARY 0x80u
#define CLA_CHAIN 0x10u
#define CLA_SM_BITS 0x0Cu   /* b4 b3 of a first-interindustry-style CLA */
#define SW_SM_MISSING 0x6987u
#define SW_SM_INCORRECT 0x6988u
#define INS_GET_RESPONSE 0xC0u
#define INS_SELECT 0xA4u
#define P1_SELECT_DF_NAME 0x04u
#define REDACTED 0x2Au

struct mic_tx {
	mic_tx_ops ops;
	void *io;
	mic_tx_caps caps;
	unsigned depth;        /* explicit and implicit transactions */
	int held;              /* the backend holds a transaction for us */
	int recovering;        /* no recovery inside the reset hook */
	mic_tx_reset_hook *reset_hook;
	void *reset_arg;
	mic_tx_trace_fn *trace;
	void *trace_arg;
	int trace_personal;    /* the caller opted in to personal data */
	mic_tx_stats stats;
	uint8_t *cbuf;         /* the APDU handed to the backend */
	uint8_t *rbuf;         /* the backend's response */
	size_t rbuf_dirty;     /* rbuf bytes that held a sensitive response */
	uint8_t sel[TX_SEL_MAX];
	size_t sel_len;        /* 0: no application to re-select */
	mic_tx_sm_ops sm;      /* the secure messaging layer, if sm_ctx */
	void *sm_ctx;
	int sm_lost;           /* a channel ended: refuse until set_sm */
	uint8_t *sm_cbuf;      /* the protected command's data field */
	uint8_t *sm_rbuf;      /* the protected response, collected */
	int pad_known;         /* the reader's feature list was read */
	int pad;               /* it lists FEATURE_VERIFY_PIN_DIRECT */
	uint32_t pad_code;     /* that feature's control code */
};

/* One mic_tx_transmit() call. */
struct xfer {
	const mic_apdu *cmd;
	int sensitive;
	int executed;  /* the card has the whole command: never resend it */
	int stopped;   /* a chain chunk failed; its response is the result */
	size_t ne;     /* Ne of the last APDU sent, after clamping and 6Cxx */
	uint8_t *rsp;
	size_t cap;
	size_t len;
	uint16_t sw;
};


/* Does this CLA code b5 as command chaining (and b1-b4 as ISO does)? */
static int
cla_iso_coded(uint8_t cla)
{
	return (cla & CLA_PROPRIETARY) == 0 || (cla & 0xE0u) == 0x80u;
}

static int
ext_ok(const mic_tx_t *tx)
{
	return tx->caps.reader_extended && tx->caps.card_extended;
}

static mic_apdu_form
tx_form(const mic_tx_t *tx)
{
	return ext_ok(tx) ? MIC_APDU_AUTO : MIC_APDU_SHORT;
}

static size_t
chunk_max(const mic_tx_t *tx)
{
	size_t n = ext_ok(tx) ? MIC_APDU_NC_MAX_EXT : MIC_APDU_NC_MAX_SHORT;

	if (tx->caps.max_nc != 0 && tx->caps.max_nc < n)
		n = tx->caps.max_nc;
	return n;
}

/*
 * Ne on the wire. Asking for less than the caller wants is safe: the card
 * answers 61xx for the rest, and GET RESPONSE collects it.
 */
static size_t
clamp_ne(const mic_tx_t *tx, size_t ne)
{
	size_t max = ext_ok(tx) ? MIC_APDU_NE_MAX_EXT : MIC_APDU_NE_MAX_SHORT;

	if (tx->caps.max_ne != 0 && tx->caps.max_ne < max)
		max = tx->caps.max_ne;
	return ne > max ? max : ne;
}

static size_t
sw2_ne(uint16_t sw)
{
	return (sw & 0xFFu) == 0 ? MIC_APDU_NE_MAX_SHORT : (sw & 0xFFu);
}

static uint16_t
rsp_sw(const mic_tx_t *tx, size_t rlen)
{
	return mici_get_u16(tx->rbuf + rlen - 2);
}

/*
 * What a trace masks: a secret's command and response data, a personal
 * file's response data. Both also mark the buffers for wiping.
 */
#define TX_SECRET 0x01
#define TX_PERSONAL 0x02

static void
trace_cmd(mic_tx_t *tx, size_t len, size_t nc, int sensitive)
{
	size_t off;

	if (tx->trace == NULL)
		return;
	if ((sensitive & TX_SECRET) == 0 || nc == 0) {
		tx->trace(tx->trace_arg, MIC_TRACE_CMD, tx->cbuf, len);
		return;
	}
	/*
	 * Redact a copy in rbuf, which is free until the response arrives.
	 * A short Lc is never 00; an extended one is 00 and two bytes.
	 */
	memcpy(tx->rbuf, tx->cbuf, len);
	off = (len > 5 && tx->cbuf[4] == 0) ? 7 : 5;
	if (off < len) {
		if (nc > len - off)
			nc = len - off;
		memset(tx->rbuf + off, REDACTED, nc);
	}
	tx->trace(tx->trace_arg, MIC_TRACE_CMD, tx->rbuf, len);
}

static void
trace_rsp(mic_tx_t *tx, size_t rlen, int sensitive)
{
	if (tx->trace == NULL)
		return;
	if (!sensitive || rlen == 2) {
		tx->trace(tx->trace_arg, MIC_TRACE_RSP, tx->rbuf, rlen);
		return;
	}
	/* The command in cbuf has gone out and is wiped next: reuse it. */
	memset(tx->cbuf, REDACTED, rlen - 2);
	memcpy(tx->cbuf + rlen - 2, tx->rbuf + rlen - 2, 2);
	tx->trace(tx->trace_arg, MIC_TRACE_RSP, tx->cbuf, rlen);
}

/* Send the @p len bytes in cbuf; on success rbuf holds @p *rlen >= 2 bytes. */
static mic_rc
tx_exchange(mic_tx_t *tx, size_t len, size_t nc, int sensitive, size_t *rlen)
{
	size_t n = TX_BUF_SIZE;
	size_t used = len;
	mic_rc rc;

	trace_cmd(tx, len, nc, sensitive);
	if ((rc = tx->ops.transmit(tx->io, tx->cbuf, len, tx->rbuf,
	    &n)) != MIC_OK) {
		mici_debug("%s: transmit: %d", __func__, (int)rc);
		goto fail;
	}
	if (n < 2 || n > TX_BUF_SIZE) {
		mici_debug("%s: response of %zu bytes", __func__, n);
		rc = MIC_ERR_RESPONSE;
		goto fail;
	}
	tx->stats.apdus++;
	tx->stats.bytes_out += len;
	tx->stats.bytes_in += n;
	trace_rsp(tx, n, sensitive);
	if (sensitive) {
		if (n > used)
			used = n;
		if (n > tx->rbuf_dirty)
			tx->rbuf_dirty = n;
	}
	*rlen = n;
	rc = MIC_OK;
fail:
	if (sensitive)
		mici_wipe(tx->cbuf, used);

	return rc;
}

static mic_rc
tx_send(mic_tx_t *tx, const mic_apdu *a, int sensitive, size_t *rlen)
{
	size_t len;
	mic_rc rc;

	if ((rc = mic_apdu_encode(a, tx_form(tx), tx->cbuf, TX_BUF_SIZE,
	    &len)) != MIC_OK) {
		mici_debug("%s: mic_apdu_encode", __func__);
		return rc;
	}

	return tx_exchange(tx, len, a->nc, sensitive, rlen);
}

static mic_rc
xfer_append(struct xfer *x, const uint8_t *p, size_t n)
{
	if (n > MIC_APDU_NE_MAX_EXT - x->len) {
		mici_debug("%s: more than %u response bytes", __func__,
		    MIC_APDU_NE_MAX_EXT);
		return MIC_ERR_RESPONSE;
	}
	if (n > x->cap - x->len) {
		mici_debug("%s: %zu + %zu bytes exceed cap %zu", __func__,
		    x->len, n, x->cap);
		return MIC_ERR_BUFFER_TOO_SMALL;
	}
	if (n > 0) {
		memcpy(x->rsp + x->len, p, n);
		x->len += n;
	}

	return MIC_OK;
}

/*
 * Send the command, chained if it must be, with Le = @p ne on the last
 * APDU. On return rbuf holds the response to the last APDU sent.
 */
static mic_rc
tx_send_command(mic_tx_t *tx, struct xfer *x, size_t ne, size_t *rlen)
{
	const mic_apdu *c = x->cmd;
	size_t chunk = chunk_max(tx);
	size_t off = 0;
	mic_apdu a = *c;
	mic_rc rc;

	a.cla = c->cla | CLA_CHAIN;
	a.nc = chunk;
	a.ne = 0;
	while (c->nc - off > chunk) {
		a.data = c->data + off;
		if ((rc = tx_send(tx, &a, x->sensitive, rlen)) != MIC_OK)
			return rc;
		if (rsp_sw(tx, *rlen) != SW_OK) {
			mici_debug("%s: chunk at %zu: SW %04X", __func__, off,
			    rsp_sw(tx, *rlen));
			x->stopped = 1;
			return MIC_OK;
		}
		off += chunk;
	}
	a.cla = c->cla;
	a.data = off > 0 ? c->data + off : c->data;
	a.nc = c->nc - off;
	a.ne = ne;

	return tx_send(tx, &a, x->sensitive, rlen);
}

/*
 * Collect the response whose first part is in rbuf: GET RESPONSE while the
 * card says 61xx, bounded by rounds, by the caller's cap and by the largest
 * Ne. A GET RESPONSE answered 6Cxx is repeated with that Le, within the same
 * bound.
 */
static mic_rc
tx_collect(mic_tx_t *tx, struct xfer *x, size_t rlen)
{
	mic_apdu gr;
	unsigned round;
	uint16_t sw;
	mic_rc rc;

	memset(&gr, 0, sizeof(gr));
	gr.cla = x->cmd->cla;
	if (cla_iso_coded(gr.cla))
		gr.cla &= (uint8_t)~CLA_CHAIN;
	/* GET RESPONSE is not protected (ISO/IEC 7816-4 5.3.4). */
	if ((gr.cla & 0x60u) == 0)
		gr.cla &= (uint8_t)~CLA_SM_BITS;
	gr.ins = INS_GET_RESPONSE;
	for (round = 0;; round++) {
		sw = rsp_sw(tx, rlen);
		if (round > 0 && (sw >> 8) == SW1_WRONG_LE) {
			gr.ne = sw2_ne(sw);
		} else {
			if ((rc = xfer_append(x, tx->rbuf, rlen - 2)) != MIC_OK)
				return rc;
			if ((sw >> 8) != SW1_MORE) {
				x->sw = sw;
				return MIC_OK;
			}
			gr.ne = sw2_ne(sw);
		}
		if (round == TX_GR_ROUNDS) {
			mici_debug("%s: still %04X after %u rounds", __func__,
			    sw, round);
			return MIC_ERR_RETRY_LIMIT;
		}
		gr.ne = clamp_ne(tx, gr.ne);
		if ((rc = tx_send(tx, &gr, x->sensitive, &rlen)) != MIC_OK)
			return rc;
	}
}

/* The whole logical command once: chain, at most one 6Cxx resend, collect. */
static mic_rc
tx_run(mic_tx_t *tx, struct xfer *x)
{
	size_t ne = clamp_ne(tx, x->cmd->ne);
	size_t rlen;
	uint16_t sw;
	int resent = 0;
	mic_rc rc;

	x->len = 0;
	x->sw = 0;
	x->executed = 0;
	x->stopped = 0;
	for (;;) {
		if ((rc = tx_send_command(tx, x, ne, &rlen)) != MIC_OK)
			return rc;
		if (x->stopped) {
			x->sw = rsp_sw(tx, rlen);
			return xfer_append(x, tx->rbuf, rlen - 2);
		}
		sw = rsp_sw(tx, rlen);
		if ((sw >> 8) != SW1_WRONG_LE)
			break;
		/* 6Cxx: the card refused Le and did nothing; resend once. */
		if (resent) {
			mici_debug("%s: second %04X", __func__, sw);
			return MIC_ERR_RETRY_LIMIT;
		}
		resent = 1;
		ne = clamp_ne(tx, sw2_ne(sw));
	}
	x->executed = 1;
	x->ne = ne;

	return tx_collect(tx, x, rlen);
}

static mic_rc
tx_reselect(mic_tx_t *tx)
{
	size_t rlen;
	uint16_t sw;
	mic_rc rc;

	memcpy(tx->cbuf, tx->sel, tx->sel_len);
	if ((rc = tx_exchange(tx, tx->sel_len, 0, 0, &rlen)) != MIC_OK) {
		mici_debug("%s: SELECT", __func__);
		return rc;
	}
	sw = rsp_sw(tx, rlen);
	/* 61xx is success too (T=0, FCI): the next APDU drops the rest. */
	if (sw != SW_OK && (sw >> 8) != SW1_MORE) {
		mici_debug("%s: SELECT answered %04X", __func__, sw);
		tx->sel_len = 0;
		return MIC_ERR_CARD_CHANGED;
	}

	return MIC_OK;
}

/*
 * After another application reset the card: reconnect, re-open the
 * transaction we were in, re-select the application and let the caller
 * check that it is still the same card.
 */
static mic_rc
tx_recover(mic_tx_t *tx)
{
	mic_rc rc;

	if (tx->ops.reconnect == NULL) {
		mici_debug("%s: backend cannot reconnect", __func__);
		return MIC_ERR_CARD_RESET;
	}
	tx->recovering = 1;
	tx->held = 0;
	if ((rc = tx->ops.reconnect(tx->io)) != MIC_OK) {
		mici_debug("%s: reconnect: %d", __func__, (int)rc);
		goto fail;
	}
	if (tx->depth > 0 && tx->ops.begin != NULL) {
		if ((rc = tx->ops.begin(tx->io)) != MIC_OK) {
			mici_debug("%s: begin: %d", __func__, (int)rc);
			goto fail;
		}
		tx->held = 1;
	}
	if (tx->sel_len > 0 && (rc = tx_reselect(tx)) != MIC_OK)
		goto fail;
	if (tx->reset_hook != NULL &&
	    (rc = tx->reset_hook(tx, tx->reset_arg)) != MIC_OK) {
		mici_debug("%s: reset hook: %d", __func__, (int)rc);
		goto fail;
	}
	tx->stats.recoveries++;
	rc = MIC_OK;
fail:
	tx->recovering = 0;

	return rc;
}

/*
 * Remember a SELECT by DF name that ended in 9000, for replay after a
 * reset. A failed one leaves no application selected on many cards, and
 * one whose outcome is unknown after the card got it may have selected
 * anything, so both are forgotten. A SELECT the card never saw changes
 * nothing.
 */
static void
tx_note_select(mic_tx_t *tx, const mic_apdu *c, const struct xfer *x,
    mic_rc rc)
{
	mic_apdu a;
	size_t len;

	if (c->ins != INS_SELECT || c->p1 != P1_SELECT_DF_NAME ||
	    (c->cla & CLA_PROPRIETARY) != 0 || (rc != MIC_OK && !x->executed))
		return;
	tx->sel_len = 0;
	if (rc != MIC_OK || x->sw != SW_OK || x->sensitive ||
	    c->nc > MIC_APDU_NC_MAX_SHORT || c->nc > chunk_max(tx))
		return;
	a = *c;
	a.ne = x->ne;
	if (mic_apdu_encode(&a, tx_form(tx), tx->sel, sizeof(tx->sel),
	    &len) != MIC_OK) {
		mici_debug("%s: mic_apdu_encode", __func__);
		return;
	}
	tx->sel_len = len;
}

static mic_rc
check_cmd(const mic_tx_t *tx, const mic_apdu *cmd)
{
	if (cmd->data == NULL && cmd->nc > 0) {
		mici_debug("%s: nc=%zu without data", __func__, cmd->nc);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (cmd->ne > MIC_APDU_NE_MAX_EXT) {
		mici_debug("%s: ne=%zu", __func__, cmd->ne);
		return MIC_ERR_APDU_TOO_LONG;
	}
	if (cmd->nc > chunk_max(tx) && !cla_iso_coded(cmd->cla)) {
		mici_debug("%s: nc=%zu needs chaining, CLA %02X cannot",
		    __func__, cmd->nc, cmd->cla);
		return MIC_ERR_APDU_TOO_LONG;
	}

	return MIC_OK;
}

/*
 * End the secure messaging layer: the session's keys are wiped by its close
 * function. @p lost: the channel ended without the caller asking, so
 * transmits are refused until mic_tx_set_sm() acknowledges it.
 */
static void
sm_end(mic_tx_t *tx, int lost)
{
	void *ctx = tx->sm_ctx;

	if (ctx != NULL) {
		tx->sm_ctx = NULL;
		tx->sm.close(ctx);
		memset(&tx->sm, 0, sizeof(tx->sm));
		if (lost)
			tx->sm_lost = 1;
	}
}

/* Wrap @p cmd into @p w; errors that leave the session intact keep it. */
static mic_rc
sm_wrap(mic_tx_t *tx, const mic_apdu *cmd, mic_apdu *w)
{
	mic_rc rc;

	if ((rc = tx->sm.wrap(tx->sm_ctx, cmd, w, tx->sm_cbuf,
	    MIC_APDU_NC_MAX_EXT)) == MIC_OK)
		return MIC_OK;
	mici_debug("%s: wrap: %d", __func__, (int)rc);
	if (rc != MIC_ERR_APDU_TOO_LONG && rc != MIC_ERR_INVALID_ARGUMENT &&
	    rc != MIC_ERR_UNSUPPORTED)
		sm_end(tx, 1);

	return rc;
}

/*
 * The response to a wrapped command is in sm_rbuf: unwrap it into the
 * caller's buffer. Only a response that verified but does not fit keeps
 * the channel; a card that answers 6987/6988 has dropped it already, and
 * one that refused part of a chain is out of step with us.
 */
static mic_rc
sm_unwrap(mic_tx_t *tx, const struct xfer *x, uint8_t *rsp, size_t cap,
    size_t *len)
{
	mic_rc rc;

	rc = tx->sm.unwrap(tx->sm_ctx, tx->sm_rbuf, x->len, x->sw, rsp, cap,
	    len);
	if (rc != MIC_OK) {
		mici_debug("%s: unwrap: %d", __func__, (int)rc);
		if (rc != MIC_ERR_BUFFER_TOO_SMALL)
			sm_end(tx, 1);
		return rc;
	}
	if (x->sw == SW_SM_MISSING || x->sw == SW_SM_INCORRECT) {
		mici_debug("%s: the card dropped the channel (%04X)", __func__,
		    x->sw);
		sm_end(tx, 1);
	} else if (x->stopped) {
		/*
		 * The card refused a chunk of the chain: it never checked the
		 * command, so its MAC chain stayed where ours moved on.
		 */
		mici_debug("%s: chain refused (%04X): ends out of step",
		    __func__, x->sw);
		sm_end(tx, 1);
	}

	return MIC_OK;
}

mic_rc
mic_tx_transmit(mic_tx_t *tx, const mic_apdu *cmd, uint8_t *rsp,
    size_t cap, size_t *rsp_len, uint16_t *sw)
{
	struct xfer x;
	mic_apdu w;
	size_t len = 0;
	int implicit = 0;
	int sm, unwrap;
	mic_rc rc;

	if (rsp_len != NULL)
		*rsp_len = 0;
	if (sw != NULL)
		*sw = 0;
	if (tx == NULL || cmd == NULL || rsp_len == NULL || sw == NULL ||
	    (rsp == NULL && cap > 0)) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (tx->sm_lost) {
		mici_debug("%s: the secure channel has ended", __func__);
		return MIC_ERR_SM_CLOSED;
	}
	if ((rc = check_cmd(tx, cmd)) != MIC_OK)
		return rc;
	memset(&x, 0, sizeof(x));
	memset(&w, 0, sizeof(w));
	x.cmd = cmd;
	x.sensitive = mic_apdu_is_sensitive(cmd) ? TX_SECRET : 0;
	if ((cmd->flags & MIC_APDU_PERSONAL) != 0 && !tx->trace_personal)
		x.sensitive |= TX_PERSONAL;
	x.rsp = rsp;
	x.cap = cap;
	if ((unwrap = sm = tx->sm_ctx != NULL)) {
		if ((rc = sm_wrap(tx, cmd, &w)) != MIC_OK)
			return rc;
		/* Wrapping changes neither the class nor Ne: no new limit. */
		if ((rc = check_cmd(tx, &w)) != MIC_OK) {
			sm_end(tx, 1);
			return rc;
		}
		x.cmd = &w;
		x.rsp = tx->sm_rbuf;
		x.cap = MIC_APDU_NE_MAX_EXT;
	}
	if (tx->depth == 0 && tx->ops.begin != NULL) {
		if ((rc = mic_tx_begin(tx)) != MIC_OK) {
			/* The card never saw it, but the session counted it. */
			sm_end(tx, sm);
			return rc;
		}
		implicit = 1;
	}
	rc = tx_run(tx, &x);
	/*
	 * The backend reports a reset before the APDU reaches the card, so
	 * a command the card has not fully received can be sent again. Once
	 * it has (a reset during GET RESPONSE), resending could run it twice.
	 * Inside a secure channel nothing is resent: the reset took the
	 * card's session with it, and the caller must know it now runs
	 * unauthenticated. The link is still recovered for the next call.
	 */
	if (rc == MIC_ERR_CARD_RESET && !tx->recovering) {
		if (sm) {
			/* Ended first, so the reset hook runs in plain APDUs. */
			sm_end(tx, 0);
			if (!x.executed && (rc = tx_recover(tx)) == MIC_OK)
				rc = MIC_ERR_CARD_RESET;
			/* Unless the hook opened a new channel, refuse. */
			if (tx->sm_ctx == NULL)
				tx->sm_lost = 1;
			unwrap = 0;
		} else if (!x.executed && (rc = tx_recover(tx)) == MIC_OK)
			rc = tx_run(tx, &x);
	}
	if (tx->rbuf_dirty > 0) {
		mici_wipe(tx->rbuf, tx->rbuf_dirty);
		tx->rbuf_dirty = 0;
	}
	if (unwrap) {
		if (rc == MIC_OK)
			rc = sm_unwrap(tx, &x, rsp, cap, &len);
		else
			sm_end(tx, 1);
	} else
		len = x.len;
	/*
	 * A layer that does not encrypt leaves a PIN or key in plain in the
	 * protected buffers; wipe them for the commands the trace masks.
	 */
	if (sm && x.sensitive) {
		mici_wipe(tx->sm_cbuf, w.nc);
		mici_wipe(tx->sm_rbuf, x.len);
	}
	tx_note_select(tx, cmd, &x, rc);
	/*
	 * The exchange's outcome is what the caller needs: the card has
	 * acted on the command whatever happens to the release.
	 */
	if (implicit && mic_tx_end(tx) != MIC_OK)
		mici_debug("%s: implicit end failed", __func__);
	if (rc != MIC_OK) {
		/* No half response for a caller that only checks rsp_len. */
		if (x.rsp == rsp)
			mici_wipe(rsp, x.len);
		return rc;
	}
	*rsp_len = len;
	*sw = x.sw;

	return MIC_OK;
}

mic_rc
mic_tx_command(mic_tx_t *tx, const mic_apdu *cmd, uint8_t *rsp, size_t cap,
    size_t *rsp_len)
{
	uint16_t sw = 0;
	mic_rc rc;

	if ((rc = mic_tx_transmit(tx, cmd, rsp, cap, rsp_len, &sw)) != MIC_OK)
		return rc;

	return mic_sw_rc(sw);
}

mic_rc
mic_tx_new(mic_tx_t **out, const mic_tx_ops *ops, void *io)
{
	mic_tx_t *tx = NULL;
	mic_rc rc = MIC_ERR_NOMEM;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || ops == NULL || ops->transmit == NULL ||
	    ops->close == NULL) {
		mici_debug("%s: invalid argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((tx = calloc(1, sizeof(*tx))) == NULL ||
	    (tx->cbuf = malloc(TX_BUF_SIZE)) == NULL ||
	    (tx->rbuf = malloc(TX_BUF_SIZE)) == NULL) {
		mici_debug("%s: calloc", __func__);
		goto fail;
	}
	tx->ops = *ops;
	tx->io = io;
	*out = tx;
	tx = NULL;
	rc = MIC_OK;
fail:
	if (tx != NULL) {
		free(tx->cbuf);
		free(tx->rbuf);
		free(tx);
	}

	return rc;
}

void *
mici_tx_io(struct mic_tx *tx, void (*close)(void *))
{
	return tx != NULL && tx->ops.close == close ? tx->io : NULL;
}

void
mic_tx_free(mic_tx_t **txp)
{
	mic_tx_t *tx;

	if (txp == NULL || (tx = *txp) == NULL)
		return;
	sm_end(tx, 0);
	tx->ops.close(tx->io);
	mici_wipe(tx->cbuf, TX_BUF_SIZE);
	mici_wipe(tx->rbuf, TX_BUF_SIZE);
	free(tx->cbuf);
	free(tx->rbuf);
	if (tx->sm_cbuf != NULL)
		mici_wipe(tx->sm_cbuf, MIC_APDU_NC_MAX_EXT);
	if (tx->sm_rbuf != NULL)
		mici_wipe(tx->sm_rbuf, MIC_APDU_NE_MAX_EXT);
	free(tx->sm_cbuf);
	free(tx->sm_rbuf);
	mici_wipe(tx, sizeof(*tx));
	free(tx);
	*txp = NULL;
}

void
mic_tx_get_caps(const mic_tx_t *tx, mic_tx_caps *caps)
{
	if (caps == NULL)
		return;
	if (tx == NULL) {
		memset(caps, 0, sizeof(*caps));
		return;
	}
	*caps = tx->caps;
}

void
mic_tx_set_caps(mic_tx_t *tx, const mic_tx_caps *caps)
{
	if (tx == NULL || caps == NULL)
		return;
	tx->caps = *caps;
}

mic_rc
mic_tx_begin(mic_tx_t *tx)
{
	mic_rc rc;

	if (tx == NULL) {
		mici_debug("%s: NULL tx", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (tx->depth == UINT_MAX) {
		mici_debug("%s: nested too deep", __func__);
		return MIC_ERR_TRANSACTION;
	}
	if (tx->depth == 0 && tx->ops.begin != NULL) {
		if ((rc = tx->ops.begin(tx->io)) != MIC_OK) {
			mici_debug("%s: begin: %d", __func__, (int)rc);
			return rc;
		}
		tx->held = 1;
	}
	tx->depth++;

	return MIC_OK;
}

mic_rc
mic_tx_end(mic_tx_t *tx)
{
	mic_rc rc;

	if (tx == NULL) {
		mici_debug("%s: NULL tx", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (tx->depth == 0) {
		mici_debug("%s: no transaction open", __func__);
		return MIC_ERR_TRANSACTION;
	}
	/* A recovery that could not re-open it left nothing to release. */
	if (--tx->depth > 0 || !tx->held)
		return MIC_OK;
	tx->held = 0;
	if (tx->ops.end != NULL && (rc = tx->ops.end(tx->io)) != MIC_OK) {
		mici_debug("%s: end: %d", __func__, (int)rc);
		return rc;
	}

	return MIC_OK;
}

mic_rc
mic_tx_reset(mic_tx_t *tx)
{
	mic_rc rc;

	if (tx == NULL) {
		mici_debug("%s: NULL tx", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (tx->ops.reset == NULL) {
		mici_debug("%s: backend cannot reset", __func__);
		return MIC_ERR_UNSUPPORTED;
	}
	tx->sel_len = 0;
	/* A reset ends the card's secure channel whatever the outcome. */
	sm_end(tx, 1);
	if ((rc = tx->ops.reset(tx->io)) != MIC_OK) {
		mici_debug("%s: reset: %d", __func__, (int)rc);
		return rc;
	}

	return MIC_OK;
}

mic_rc
mic_tx_atr(mic_tx_t *tx, uint8_t *atr, size_t *atr_len)
{
	size_t cap;
	mic_rc rc;

	if (tx == NULL || atr == NULL || atr_len == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (tx->ops.atr == NULL) {
		mici_debug("%s: backend has no ATR", __func__);
		return MIC_ERR_UNSUPPORTED;
	}
	cap = *atr_len;
	if ((rc = tx->ops.atr(tx->io, atr, atr_len)) != MIC_OK) {
		mici_debug("%s: atr: %d", __func__, (int)rc);
		return rc;
	}
	if (*atr_len > cap) {
		mici_debug("%s: ATR of %zu bytes in %zu", __func__, *atr_len,
		    cap);
		*atr_len = 0;
		return MIC_ERR_RESPONSE;
	}

	return MIC_OK;
}

void
mic_tx_set_reset_hook(mic_tx_t *tx, mic_tx_reset_hook *hook, void *arg)
{
	if (tx == NULL)
		return;
	tx->reset_hook = hook;
	tx->reset_arg = arg;
}

void
mic_tx_set_trace(mic_tx_t *tx, mic_tx_trace_fn *fn, void *arg)
{
	if (tx == NULL)
		return;
	tx->trace = fn;
	tx->trace_arg = arg;
}

void
mic_tx_set_trace_personal(mic_tx_t *tx, int show)
{
	if (tx != NULL)
		tx->trace_personal = show != 0;
}

mic_rc
mic_tx_set_sm(mic_tx_t *tx, const mic_tx_sm_ops *ops, void *ctx)
{
	if (tx == NULL || (ops != NULL && (ops->wrap == NULL ||
	    ops->unwrap == NULL || ops->close == NULL || ctx == NULL))) {
		mici_debug("%s: invalid argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	/*
	 * Allocated once, with the first layer, so that a transmit inside a
	 * channel allocates nothing either. Protected data are ciphertext:
	 * they are not wiped per APDU.
	 */
	if (ops != NULL && tx->sm_cbuf == NULL) {
		if ((tx->sm_cbuf = malloc(MIC_APDU_NC_MAX_EXT)) == NULL) {
			mici_debug("%s: malloc", __func__);
			return MIC_ERR_NOMEM;
		}
	}
	if (ops != NULL && tx->sm_rbuf == NULL) {
		if ((tx->sm_rbuf = malloc(MIC_APDU_NE_MAX_EXT)) == NULL) {
			mici_debug("%s: malloc", __func__);
			return MIC_ERR_NOMEM;
		}
	}
	sm_end(tx, 0);
	tx->sm_lost = 0;
	if (ops != NULL) {
		tx->sm = *ops;
		tx->sm_ctx = ctx;
	}

	return MIC_OK;
}

void
mici_tx_sm_lose(mic_tx_t *tx)
{
	if (tx == NULL)
		return;
	sm_end(tx, 1);
	tx->sm_lost = 1;
}

mic_tx_sm_state
mic_tx_get_sm_state(const mic_tx_t *tx)
{
	if (tx == NULL)
		return MIC_TX_SM_OFF;
	if (tx->sm_ctx != NULL)
		return MIC_TX_SM_ON;

	return tx->sm_lost ? MIC_TX_SM_LOST : MIC_TX_SM_OFF;
}

void
mic_tx_get_stats(const mic_tx_t *tx, mic_tx_stats *st)
{
	if (st == NULL)
		return;
	if (tx == NULL) {
		memset(st, 0, sizeof(*st));
		return;
	}
	*st = tx->stats;
}

/* A feature list holds a few dozen 6-byte entries at most. */
#define FEATURES_MAX 256u

/*
 * Errors that say nothing about the reader's features, only that it could
 * not be asked now: not kept, so the next call asks again.
 */
static int
transient(mic_rc rc)
{
	return rc == MIC_ERR_CARD_REMOVED || rc == MIC_ERR_CARD_RESET ||
	    rc == MIC_ERR_NO_SERVICE || rc == MIC_ERR_NO_CARD ||
	    rc == MIC_ERR_NOMEM || rc == MIC_ERR_SHARING_VIOLATION;
}

int
mic_tx_has_pinpad(mic_tx_t *tx)
{
	uint8_t buf[FEATURES_MAX];
	size_t n = sizeof(buf);
	uint32_t code = 0;
	mic_rc rc;

	if (tx == NULL || tx->ops.control == NULL)
		return 0;
	if (tx->pad_known)
		return tx->pad;
	rc = tx->ops.control(tx->io, MIC_TX_CTL_GET_FEATURE_REQUEST, NULL, 0,
	    buf, &n);
	if (rc != MIC_OK) {
		mici_debug("%s: GET_FEATURE_REQUEST: %d", __func__, (int)rc);
		if (transient(rc))
			return 0;
		n = 0;   /* a reader that has no such request has no pad */
	} else if (n > sizeof(buf)) {
		mici_debug("%s: the backend overran the buffer", __func__);
		return 0;
	}
	rc = mici_pcsc_feature_find(buf, n, MIC_TX_FEATURE_VERIFY_PIN_DIRECT,
	    &code);
	if (rc == MIC_ERR_RESPONSE)
		mici_debug("%s: malformed feature list: no pad", __func__);
	tx->pad_known = 1;
	tx->pad = rc == MIC_OK;
	tx->pad_code = code;

	return tx->pad;
}

mic_rc
mici_tx_pinpad_verify(mic_tx_t *tx, const uint8_t *pvs, size_t pvs_len,
    uint16_t *sw)
{
	uint8_t rsp[8];
	size_t n = sizeof(rsp);
	mic_rc rc, end_rc;

	if (tx == NULL || pvs == NULL || sw == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if (!mic_tx_has_pinpad(tx))
		return MIC_ERR_UNSUPPORTED;
	/* As mic_tx_transmit(): after a lost channel, nothing goes out until
	 * the caller decides. */
	if (tx->sm_lost) {
		mici_debug("%s: the secure channel was lost", __func__);
		return MIC_ERR_SM_CLOSED;
	}
	if ((rc = mic_tx_begin(tx)) != MIC_OK)
		return rc;
	rc = tx->ops.control(tx->io, tx->pad_code, pvs, pvs_len, rsp, &n);
	end_rc = mic_tx_end(tx);
	if (rc != MIC_OK) {
		mici_debug("%s: VERIFY_PIN_DIRECT: %d", __func__, (int)rc);
		return rc;
	}
	tx->stats.apdus++;
	tx->stats.bytes_out += pvs_len;
	tx->stats.bytes_in += n;
	/* The reader answers with the card's status word, or its own. */
	if (n != 2) {
		mici_debug("%s: %zu bytes, not a status word", __func__, n);
		return MIC_ERR_RESPONSE;
	}
	*sw = mici_get_u16(rsp);

	return end_rc;
}
