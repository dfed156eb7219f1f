/*
 * mic-vcard: helpers the verbs share. Signal flags, one-line logs, the
 * APDU trace (which never shows a PIN), option parsing, and a transmit
 * wrapper for verbs that drive the card engine directly.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <mic/apdu.h>

#include "internal.h"
#include "mic-vcard.h"

/*
 * The only global state: what a signal handler may touch. SIGUSR1 flips
 * removed_flag; a handler is not re-entered for its own signal, so the
 * read-modify-write cannot race with itself.
 */
static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t removed_flag;

static void
on_stop(int sig)
{
	stop_flag = sig;
}

static void
on_usr1(int sig)
{
	(void)sig;
	removed_flag = !removed_flag;
}

int
vct_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocked poll() or nanosleep() must wake up. */
	sa.sa_flags = 0;
	if (sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0 ||
	    sigaction(SIGHUP, &sa, NULL) != 0)
		return -1;
	sa.sa_handler = on_usr1;
	if (sigaction(SIGUSR1, &sa, NULL) != 0)
		return -1;
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

volatile sig_atomic_t *
vct_stop_flag(void)
{
	return &stop_flag;
}

volatile sig_atomic_t *
vct_removed_flag(void)
{
	return &removed_flag;
}

void
vct_log_line(void *arg, const char *msg)
{
	const struct vct_log *log = arg;

	fprintf(stderr, "%s: %s\n", log->prefix, msg);
}

void
vct_say(const struct vct_log *log, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", log->prefix, msg);
}

/* --- the trace, with secrets masked ------------------------------------ */

#define MAX_SPANS 16

struct span {
	size_t from;
	size_t to;   /* exclusive */
};

static int
is_pin_ins(uint8_t ins)
{
	/* VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER, even and odd. */
	return ins == 0x20 || ins == 0x21 || ins == 0x24 || ins == 0x25 ||
	    ins == 0x2C || ins == 0x2D;
}

/*
 * The PIN DGI (8010) in a STORE DATA data field: its value is a PIN block.
 * Returns the number of spans, or MAX_SPANS + 1 when the field cannot be
 * walked, so that the caller hides all of it.
 */
static size_t
store_data_spans(const uint8_t *d, size_t n, size_t base, struct span *sp)
{
	size_t off = 0, k = 0;

	while (off < n) {
		uint16_t dgi;
		size_t len;

		if (n - off < 3)
			return MAX_SPANS + 1;
		dgi = mici_get_u16(d + off);
		len = d[off + 2];
		off += 3;
		if (len == 0xFF) {
			if (n - off < 2)
				return MAX_SPANS + 1;
			len = mici_get_u16(d + off);
			off += 2;
		}
		if (len > n - off)
			return MAX_SPANS + 1;
		if (dgi == 0x8010) {
			if (k == MAX_SPANS)
				return MAX_SPANS + 1;
			sp[k].from = base + off;
			sp[k].to = base + off + len;
			k++;
		}
		off += len;
	}
	return k;
}

/*
 * Which bytes of command @p buf are secret. A chained STORE DATA is split
 * wherever the terminal liked, so a PIN DGI may straddle two parts: every
 * part of such a chain is hidden whole. @p in_chain says whether the
 * previous command opened or continued a STORE DATA chain.
 */
static size_t
secret_spans(const uint8_t *buf, size_t len, int *in_chain, struct span *sp)
{
	mic_apdu a;
	size_t off;
	int chained = *in_chain;

	if (len < 4)
		return 0;
	*in_chain = (buf[0] & 0x90) == 0x90 && buf[1] == 0xE2;
	if (mic_apdu_decode(buf, len, &a) != MIC_OK) {
		/* Malformed: hide everything after the header of a PIN
		 * command or a STORE DATA rather than guess. */
		if (!is_pin_ins(buf[1]) && buf[1] != 0xE2)
			return 0;
		sp[0].from = 4;
		sp[0].to = len;
		return 1;
	}
	if (a.nc == 0)
		return 0;
	off = (size_t)(a.data - buf);
	if (mic_apdu_is_sensitive(&a)) {
		sp[0].from = off;
		sp[0].to = off + a.nc;
		return 1;
	}
	if ((a.cla & 0x80) && a.ins == 0xE2) {
		size_t k = store_data_spans(a.data, a.nc, off, sp);
		if (k > MAX_SPANS || chained || *in_chain) {
			sp[0].from = off;
			sp[0].to = off + a.nc;
			return 1;
		}
		return k;
	}
	return 0;
}

static int
in_spans(const struct span *sp, size_t n, size_t i)
{
	for (size_t k = 0; k < n; k++)
		if (i >= sp[k].from && i < sp[k].to)
			return 1;
	return 0;
}

void
vct_trace(void *arg, int dir, const uint8_t *buf, size_t len)
{
	struct vct_log *log = arg;
	struct span sp[MAX_SPANS];
	size_t nsp = 0;

	if (!log->verbose)
		return;
	if (dir == VC_TRACE_CMD)
		nsp = secret_spans(buf, len, &log->store_chain, sp);
	fprintf(stderr, "%s: %s", log->prefix, dir == VC_TRACE_CMD ? ">" : "<");
	for (size_t i = 0; i < len; i++) {
		if (in_spans(sp, nsp, i))
			fputs(" **", stderr);
		else
			fprintf(stderr, " %02X", buf[i]);
	}
	if (dir == VC_TRACE_RSP && len >= 2) {
		uint16_t sw = (uint16_t)(buf[len - 2] << 8 | buf[len - 1]);
		fprintf(stderr, "  (%s)", mic_sw_name(sw));
	}
	fputc('\n', stderr);
}

/* --- parsing ------------------------------------------------------------ */

int
vct_parse_port(const char *s, char *out, size_t cap)
{
	unsigned long v;

	if (vct_parse_ulong(s, &v) != 0 || v < 1 || v > 65535)
		return -1;
	snprintf(out, cap, "%lu", v);
	return 0;
}

int
vct_parse_ulong(const char *s, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

const char *
vct_state_name(enum vc_state state)
{
	switch (state) {
	case VC_STATE_BLANK:
		return "blank";
	case VC_STATE_PERSONALIZED:
		return "personalized";
	case VC_STATE_ACTIVE:
		return "active";
	case VC_STATE_BLOCKED:
		return "blocked";
	case VC_STATE_TERMINATED:
		return "terminated";
	}
	return "unknown";
}

int
vct_serial_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > VC_SERIAL_MAX || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

uint16_t
vct_xmit(vc_card *card, const uint8_t *cmd, size_t len, uint8_t *rsp,
    size_t cap, size_t *rlen)
{
	size_t n = cap;
	mic_rc rc;

	*rlen = 0;
	if ((rc = vc_card_transmit(card, cmd, len, rsp, &n)) != MIC_OK ||
	    n < 2) {
		mici_debug("%s: vc_card_transmit: %s", __func__,
		    mic_strerror(rc));
		return 0;
	}
	*rlen = n - 2;
	return mici_get_u16(rsp + n - 2);
}

void
vct_vpcd_cfg(vc_vpcd_cfg *cfg, const char *host, const char *port,
    vc_event_fn *event, vc_apdu_fn *apdu, void *arg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->host = host;
	cfg->port = port;
	cfg->connect_tries = CONNECT_TRIES;
	cfg->retry_ms = RETRY_MS;
	cfg->log = vct_log_line;
	cfg->trace = vct_trace;
	cfg->event = event;
	cfg->apdu = apdu;
	cfg->arg = arg;
	cfg->stop = vct_stop_flag();
	cfg->removed = vct_removed_flag();
}
