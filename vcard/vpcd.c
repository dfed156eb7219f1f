/*
 * The card's end of the vsmartcard vpcd protocol.
 *
 * vpcd (the pcscd driver) listens; the card connects out. Every message in
 * both directions is a 2-byte big-endian length and that many bytes. From
 * vpcd, a 1-byte message is a control byte (00 power off, 01 power on,
 * 02 reset, 04 get ATR, which alone expects a reply); anything longer is a
 * command APDU, answered with the response APDU. Closing the socket is how
 * the card leaves the reader.
 *
 * vpcd writes its header and payload in two send() calls with Nagle on, so
 * every APDU would stall for a delayed ACK (about 40 ms). TCP_QUICKACK is
 * not sticky on Linux, so it is set again after every recv(). Our own
 * response goes out in one send() with TCP_NODELAY.
 *
 * Removal and re-insertion: vpcd finds out that a card left when its next
 * presence poll (a GET ATR) fails on the old socket, and only then accepts
 * a new connection. So closing the socket and connecting again at once
 * still shows pcscd one poll with the reader empty: a removal followed by
 * an insertion, which is what a hopper swapping cards must look like.
 *
 * Hooks (vcard.h): the event hook hears of power on, reset, power off, a
 * lost write and the card leaving, and may swap the card (the hopper, a
 * reload after a lost write); the APDU hook sees every command before and
 * after the card, and can cut the power there (tear simulation). The
 * removed flag takes the card out of the reader until it clears.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <mic/apdu.h>

#include "internal.h"
#include "vcard.h"

#define CTRL_POWER_OFF 0x00
#define CTRL_POWER_ON 0x01
#define CTRL_RESET 0x02
#define CTRL_GET_ATR 0x04

#define FRAME_MAX 0xFFFFu   /* the 2-byte length field */
#define POLL_MS 250         /* how often a blocked read looks at the flags */
/*
 * How long a card that lost power in the middle of a command stays out.
 * vpcd drops the connection itself when an exchange fails and accepts the
 * next one at its next presence poll, so a card that came straight back
 * would never be seen gone: pcscd would not power it up, and its
 * applications would not learn that the card was reset. Two polls of
 * pcscd (0.4 s each) with a margin.
 */
#define LOST_GAP_MS 1000

/*
 * How a session with vpcd ended, or goes on (IO_OK):
 *   IO_EOF       vpcd closed the connection: reconnect
 *   IO_STOP      *cfg->stop was set: end the run
 *   IO_REMOVED   *cfg->removed was set: wait for re-insertion
 *   IO_REINSERT  a hook asked to leave and come back: reconnect
 *   IO_LOST      power lost mid-command: reconnect after LOST_GAP_MS
 *   IO_CUT       a hook cut the power (VC_ACT_STOP): end the run
 *   IO_ERROR     a socket or engine failure: end the run with an error
 */
enum io_result {
	IO_OK, IO_EOF, IO_STOP, IO_REMOVED, IO_REINSERT, IO_LOST, IO_CUT,
	IO_ERROR
};

struct session {
	vc_card **card;
	const vc_vpcd_cfg *cfg;
	int fd;
	unsigned long seq;   /* command APDUs so far, over the whole run */
	int mute;            /* a hook made the card hang: no more answers */
	uint8_t in[FRAME_MAX];
	uint8_t out[2 + FRAME_MAX];
};

static void
say(const vc_vpcd_cfg *cfg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
say(const vc_vpcd_cfg *cfg, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (cfg->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cfg->log(cfg->arg, msg);
}

static int
stopped(const vc_vpcd_cfg *cfg)
{
	return cfg->stop != NULL && *cfg->stop != 0;
}

static int
removed(const vc_vpcd_cfg *cfg)
{
	return cfg->removed != NULL && *cfg->removed != 0;
}

static void
quickack(int fd)
{
	int one = 1;

	/* Best effort: without it the link is only slow, not wrong. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

/* Tell the event hook; map its answer to how the session goes on. */
static enum io_result
notify(struct session *s, int event)
{
	int act;

	if (s->cfg->event == NULL)
		act = VC_ACT_CONTINUE;
	else
		act = s->cfg->event(s->cfg->arg, event, s->card);
	if (act == VC_ACT_STOP)
		return IO_CUT;
	if (*s->card == NULL) {
		say(s->cfg, "event hook left no card in the reader");
		return IO_ERROR;
	}
	return act == VC_ACT_REINSERT ? IO_REINSERT : IO_OK;
}

static enum io_result
read_full(struct session *s, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
		ssize_t n;
		int r;

		if (stopped(s->cfg))
			return IO_STOP;
		if (removed(s->cfg))
			return IO_REMOVED;
		if ((r = poll(&pfd, 1, POLL_MS)) < 0) {
			if (errno == EINTR)
				continue;
			say(s->cfg, "poll: %s", strerror(errno));
			return IO_ERROR;
		}
		if (r == 0)
			continue;
		n = recv(s->fd, buf + got, len - got, 0);
		quickack(s->fd);
		if (n == 0)
			return IO_EOF;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno == ECONNRESET)
				return IO_EOF;
			say(s->cfg, "recv: %s", strerror(errno));
			return IO_ERROR;
		}
		got += (size_t)n;
	}
	return IO_OK;
}

static enum io_result
write_full(struct session *s, const uint8_t *buf, size_t len)
{
	size_t sent = 0;

	while (sent < len) {
		ssize_t n = send(s->fd, buf + sent, len - sent, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				return IO_EOF;
			say(s->cfg, "send: %s", strerror(errno));
			return IO_ERROR;
		}
		sent += (size_t)n;
	}
	return IO_OK;
}

/* Frame @p len bytes already in s->out + 2 and send them in one go. */
static enum io_result
send_frame(struct session *s, size_t len)
{
	mici_put_u16(s->out, (uint16_t)len);
	return write_full(s, s->out, len + 2);
}

static enum io_result
on_control(struct session *s, uint8_t ctl)
{
	size_t n;

	switch (ctl) {
	case CTRL_POWER_OFF:
		vc_card_power_off(*s->card);
		say(s->cfg, "powered off");
		return notify(s, VC_EV_POWER_OFF);
	case CTRL_POWER_ON:
		vc_card_reset(*s->card);
		say(s->cfg, "powered on");
		return notify(s, VC_EV_POWER_ON);
	case CTRL_RESET:
		vc_card_reset(*s->card);
		say(s->cfg, "reset");
		return notify(s, VC_EV_RESET);
	case CTRL_GET_ATR:
		/* pcscd polls this a few times a second: not logged. */
		if (s->mute)
			return IO_OK;
		if (s->cfg->atr != NULL && (n = s->cfg->atr(s->cfg->arg,
		    s->out + 2, VC_ATR_MAX)) > 0 && n <= VC_ATR_MAX)
			return send_frame(s, n);
		if ((n = vc_card_atr(*s->card, s->out + 2, VC_ATR_MAX)) == 0)
			return IO_ERROR;
		return send_frame(s, n);
	default:
		say(s->cfg, "ignoring unknown control byte %02X", ctl);
		return IO_OK;
	}
}

static int
apdu_hook(struct session *s, int phase)
{
	if (s->cfg->apdu == NULL)
		return VC_ACT_CONTINUE;
	return s->cfg->apdu(s->cfg->arg, phase, s->seq);
}

static enum io_result
on_apdu(struct session *s, size_t len)
{
	size_t rlen = FRAME_MAX;
	enum io_result r;
	mic_rc rc;

	s->seq++;
	if (s->mute)
		return IO_OK;
	switch (apdu_hook(s, VC_APDU_BEFORE)) {
	case VC_ACT_STOP:
		say(s->cfg, "power cut before APDU %lu reached the card",
		    s->seq);
		return IO_CUT;
	case VC_ACT_MUTE:
		/* vpcd waits for the answer with no timeout, holding the
		 * slot: the reader is stuck until the card leaves. */
		say(s->cfg, "mute from APDU %lu on: no answer", s->seq);
		s->mute = 1;
		return IO_OK;
	default:
		break;
	}
	if (s->cfg->trace != NULL)
		s->cfg->trace(s->cfg->arg, VC_TRACE_CMD, s->in, len);
	rc = vc_card_transmit(*s->card, s->in, len, s->out + 2, &rlen);
	if (rc == MIC_ERR_IO) {
		/*
		 * The card lost power in the middle of a write: it is mute,
		 * as a torn card is, so it cannot answer. Leave the reader
		 * unless the hook ends the run; the hook may reload the card
		 * from what its image really holds.
		 */
		say(s->cfg, "APDU %lu: the card's write failed: power lost; "
		    "leaving the reader", s->seq);
		r = notify(s, VC_EV_WRITE_LOST);
		return r == IO_OK || r == IO_REINSERT ? IO_LOST : r;
	}
	if (rc != MIC_OK) {
		/* Cannot happen with a valid card; answer rather than hang. */
		say(s->cfg, "card engine failed (%d)", (int)rc);
		mici_put_u16(s->out + 2, 0x6F00);
		rlen = 2;
	}
	if (apdu_hook(s, VC_APDU_AFTER) == VC_ACT_STOP) {
		say(s->cfg, "power cut after APDU %lu, before its response",
		    s->seq);
		return IO_CUT;
	}
	if (s->cfg->trace != NULL)
		s->cfg->trace(s->cfg->arg, VC_TRACE_RSP, s->out + 2, rlen);
	return send_frame(s, rlen);
}

static enum io_result
serve(struct session *s)
{
	for (;;) {
		uint8_t hdr[2];
		size_t len;
		enum io_result r;

		if ((r = read_full(s, hdr, 2)) != IO_OK)
			return r;
		len = mici_get_u16(hdr);
		if (len == 0)
			continue;
		if ((r = read_full(s, s->in, len)) != IO_OK)
			return r;
		r = len == 1 ? on_control(s, s->in[0]) : on_apdu(s, len);
		if (r != IO_OK)
			return r;
	}
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
	    .tv_nsec = (long)(ms % 1000) * 1000000L };

	/* A signal cuts the pause short; the caller then looks at *stop. */
	(void)nanosleep(&ts, NULL);
}

static int
try_connect(const struct addrinfo *ai, int *err)
{
	int fd, one = 1;

	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
	    ai->ai_protocol)) < 0) {
		*err = errno;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		*err = errno;
		close(fd);
		return -1;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	quickack(fd);
	return fd;
}

/* Connect, retrying within the configured bounds while nobody listens. */
static int
connect_bounded(const vc_vpcd_cfg *cfg)
{
	struct addrinfo hints, *res = NULL;
	unsigned tries = cfg->connect_tries == 0 ? 1 : cfg->connect_tries;
	int fd = -1, err = 0, gai;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((gai = getaddrinfo(cfg->host, cfg->port, &hints, &res)) != 0) {
		say(cfg, "cannot resolve %s port %s: %s", cfg->host,
		    cfg->port, gai_strerror(gai));
		return -1;
	}
	for (unsigned t = 0; t < tries && !stopped(cfg); t++) {
		if (t > 0)
			sleep_ms(cfg->retry_ms);
		for (const struct addrinfo *ai = res; ai != NULL && fd < 0 &&
		    !stopped(cfg); ai = ai->ai_next)
			fd = try_connect(ai, &err);
		if (fd >= 0)
			break;
		if (t == 0)
			say(cfg, "waiting for vpcd on %s:%s (%s)", cfg->host,
			    cfg->port, strerror(err));
	}
	freeaddrinfo(res);
	if (fd < 0 && !stopped(cfg))
		say(cfg, "cannot connect to vpcd on %s:%s after %u tries: %s",
		    cfg->host, cfg->port, tries, strerror(err));
	return fd;
}

/* Sleep @p ms in slices, waking early when the run stops. */
static void
pause_ms(const vc_vpcd_cfg *cfg, unsigned ms)
{
	for (unsigned t = 0; t < ms && !stopped(cfg); t += POLL_MS)
		sleep_ms(ms - t < POLL_MS ? ms - t : POLL_MS);
}

/* Out of the reader until *cfg->removed clears (or the run stops). */
static void
wait_reinserted(const vc_vpcd_cfg *cfg)
{
	while (removed(cfg) && !stopped(cfg))
		sleep_ms(POLL_MS);
	if (!stopped(cfg))
		say(cfg, "inserted again");
}

mic_rc
vc_vpcd_run(vc_card **card, const vc_vpcd_cfg *cfg)
{
	struct session *s = NULL;
	mic_rc rc = MIC_ERR_IO;
	enum io_result r;

	if (card == NULL || *card == NULL || cfg == NULL ||
	    cfg->host == NULL || cfg->port == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return MIC_ERR_NOMEM;
	s->card = card;
	s->cfg = cfg;
	s->fd = -1;
	for (;;) {
		if (removed(cfg))
			wait_reinserted(cfg);
		if ((s->fd = connect_bounded(cfg)) < 0) {
			rc = stopped(cfg) ? MIC_OK : MIC_ERR_IO;
			goto out;
		}
		say(cfg, "connected to vpcd on %s:%s", cfg->host, cfg->port);
		r = serve(s);
		s->mute = 0;
		/* Closing is what pcscd sees as the card leaving. */
		close(s->fd);
		s->fd = -1;
		/* Whatever happened, the card left the reader: RAM is gone.
		 * (A hook that ended the run may have taken the card.) */
		if (*card != NULL)
			vc_card_power_off(*card);
		switch (r) {
		case IO_CUT:
			rc = MIC_OK;
			goto out;
		case IO_REINSERT:
			say(cfg, "left the reader; inserting the card again");
			continue;
		case IO_LOST:
			say(cfg, "out of the reader for %u ms, then back",
			    LOST_GAP_MS);
			pause_ms(cfg, LOST_GAP_MS);
			continue;
		case IO_STOP:
			say(cfg, "removed from the reader");
			break;
		case IO_REMOVED:
			say(cfg, "removed from the reader; waiting to be "
			    "inserted again");
			break;
		case IO_EOF:
			say(cfg, "vpcd closed the connection; reconnecting");
			break;
		default:
			break;
		}
		/* The hook hears of every departure it did not ask for. */
		if (notify(s, VC_EV_LEFT) == IO_CUT || r == IO_STOP) {
			rc = MIC_OK;
			goto out;
		}
		if (r == IO_ERROR || *card == NULL)
			goto out;
	}
out:
	if (s->fd >= 0)
		close(s->fd);
	mici_wipe(s, sizeof(*s));
	free(s);
	return rc;
}
