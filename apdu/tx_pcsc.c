/*
 * The PC/SC backend (pcsc-lite).
 *
 * One SCARDCONTEXT per mic_tx_t: pcsc-lite contexts must not be shared
 * between threads, and a mic_tx_t belongs to one thread. A host application
 * may lend its own context and card handle instead; those are never released
 * here.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <PCSC/winscard.h>
#include <PCSC/reader.h>

#include <mic/pcsc.h>

#include "internal.h"

/* pcsc-lite's plug-and-play pseudo reader: a change in the reader list. */
#define PNP_READER "\\\\?PnP?\\Notification"

struct pcsc_io {
	SCARDCONTEXT ctx;
	SCARDHANDLE card;
	DWORD proto;
	int own_ctx;
	int own_card;
	/* A reset seen by SCardBeginTransaction, reported on the next transmit
	 * so that the transport above re-selects before anything is sent. */
	int reset_pending;
	/* pcsc-lite counts SCardBeginTransaction per handle, and a reconnect
	 * keeps the count: remember whether we hold one so a reconnect can
	 * give it back before the transport begins again. */
	int in_tx;
	DWORD disposition;     /* for SCardDisconnect at close */
	uint8_t atr[MIC_ATR_MAX];
	size_t atr_len;
	struct mici_pcsc_reader *owner;  /* lent the context; NULL if none */
};

struct mici_pcsc_reader {
	SCARDCONTEXT ctx;
	SCARD_READERSTATE st;      /* kept between waits */
	char name[MIC_READER_NAME_MAX];
	_Atomic long long *busy_since;  /* the caller's; may be NULL */
};

long long
mici_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

mic_rc
mic_pcsc_rc(LONG rv)
{
	switch (rv) {
	case SCARD_S_SUCCESS:
		return MIC_OK;
	case SCARD_E_NO_SERVICE:
	case SCARD_E_SERVICE_STOPPED:
		return MIC_ERR_NO_SERVICE;
	case SCARD_E_NO_READERS_AVAILABLE:
	case SCARD_E_UNKNOWN_READER:
	case SCARD_E_READER_UNAVAILABLE:
		return MIC_ERR_NO_READER;
	case SCARD_E_NO_SMARTCARD:
		return MIC_ERR_NO_CARD;
	case SCARD_W_REMOVED_CARD:
		return MIC_ERR_CARD_REMOVED;
	case SCARD_W_RESET_CARD:
		return MIC_ERR_CARD_RESET;
	case SCARD_E_SHARING_VIOLATION:
		return MIC_ERR_SHARING_VIOLATION;
	case SCARD_E_TIMEOUT:
		return MIC_ERR_TIMEOUT;
	case SCARD_E_INSUFFICIENT_BUFFER:
		return MIC_ERR_BUFFER_TOO_SMALL;
	case SCARD_E_NO_MEMORY:
		return MIC_ERR_NOMEM;
	case SCARD_E_INVALID_PARAMETER:
	case SCARD_E_INVALID_VALUE:
		return MIC_ERR_INVALID_ARGUMENT;
	case SCARD_W_UNRESPONSIVE_CARD:
	case SCARD_W_UNPOWERED_CARD:
	case SCARD_E_NOT_TRANSACTED:
	case SCARD_F_COMM_ERROR:
		return MIC_ERR_TX;
	default:
		return MIC_ERR_PCSC;
	}
}

/*
 * pcsc-lite's client says SCARD_F_COMM_ERROR ("RPC transport error")
 * when its socket to pcscd fails: most often pcscd is gone. A new
 * context tells: it cannot be made without the service.
 */
static int
service_gone(void)
{
	SCARDCONTEXT ctx;
	LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);

	if (rv == SCARD_S_SUCCESS) {
		SCardReleaseContext(ctx);
		return 0;
	}
	mici_debug("%s: SCardEstablishContext: 0x%08lx (%s)", __func__,
	    (unsigned long)rv, pcsc_stringify_error(rv));
	return 1;
}

static mic_rc
pcsc_fail(const char *func, const char *call, LONG rv)
{
	mici_debug("%s: %s: 0x%08lx (%s)", func, call, (unsigned long)rv,
	    pcsc_stringify_error(rv));
	if (rv == SCARD_F_COMM_ERROR && service_gone())
		return MIC_ERR_NO_SERVICE;
	return mic_pcsc_rc(rv);
}

static const SCARD_IO_REQUEST *
send_pci(DWORD proto)
{
	return proto == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0;
}

/*
 * After a failed exchange pcsc-lite may report a generic error although the
 * card is simply gone; ask for the card state so the caller gets "removed".
 */
static mic_rc
refine_tx_error(struct pcsc_io *io, mic_rc rc)
{
	DWORD state = 0, proto = 0, atr_len = MIC_ATR_MAX, name_len = 0;
	uint8_t atr[MIC_ATR_MAX];
	LONG rv;

	if (rc != MIC_ERR_TX && rc != MIC_ERR_PCSC)
		return rc;
	rv = SCardStatus(io->card, NULL, &name_len, &state, &proto, atr, &atr_len);
	if (rv == SCARD_W_REMOVED_CARD || rv == SCARD_E_NO_SMARTCARD ||
	    (rv == SCARD_S_SUCCESS && (state & SCARD_ABSENT)))
		return MIC_ERR_CARD_REMOVED;
	if (rv == SCARD_E_NO_SERVICE || (rv == SCARD_F_COMM_ERROR &&
	    service_gone()))
		return MIC_ERR_NO_SERVICE;
	return rc;
}

#define GONE_POLLS 5           /* SCardStatus polls for a vanished card */
#define GONE_POLL_NS 100000000L

/*
 * A failed exchange: the card may be gone without pcscd knowing yet (its
 * presence poll runs a few times a second). Ask a few times, bounded,
 * before calling it a transport failure.
 */
static mic_rc
gone_or(struct pcsc_io *io, mic_rc rc)
{
	struct timespec pause = { 0, GONE_POLL_NS };
	mic_rc r;
	int i;

	if (rc != MIC_ERR_TX && rc != MIC_ERR_PCSC)
		return rc;
	for (i = 0; i < GONE_POLLS; i++) {
		r = refine_tx_error(io, rc);
		if (r != rc)
			return r;
		nanosleep(&pause, NULL);
	}
	return rc;
}

static mic_rc
no_status_word(struct pcsc_io *io)
{
	if (gone_or(io, MIC_ERR_TX) != MIC_ERR_TX)
		return MIC_ERR_CARD_REMOVED;
	mici_debug("%s: the reader returned no status word", __func__);
	return MIC_ERR_TX;
}

static mic_rc
pcsc_transmit(void *arg, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
    size_t *rsp_len)
{
	struct pcsc_io *io = arg;
	DWORD n;
	LONG rv;

	if (io->reset_pending) {
		io->reset_pending = 0;
		return MIC_ERR_CARD_RESET;
	}
	if (cmd_len > MAX_BUFFER_SIZE_EXTENDED)
		return MIC_ERR_APDU_TOO_LONG;
	/* DWORD is 32-bit on 64-bit pcsc-lite; clamp rather than truncate. */
	n = *rsp_len > MAX_BUFFER_SIZE_EXTENDED ? MAX_BUFFER_SIZE_EXTENDED :
	    (DWORD)*rsp_len;
	/* A mute card holds SCardTransmit for ever (vpcd has no timeout):
	 * the owner's thread cannot say so, another can see it. */
	if (io->owner != NULL && io->owner->busy_since != NULL)
		atomic_store(io->owner->busy_since, mici_mono_ms());
	rv = SCardTransmit(io->card, send_pci(io->proto), cmd, (DWORD)cmd_len,
	    NULL, rsp, &n);
	if (io->owner != NULL && io->owner->busy_since != NULL)
		atomic_store(io->owner->busy_since, 0);
	if (rv != SCARD_S_SUCCESS)
		return gone_or(io, pcsc_fail(__func__, "SCardTransmit", rv));
	if (n > *rsp_len) {
		mici_debug("%s: pcsc-lite returned %lu bytes > %zu", __func__,
		    (unsigned long)n, *rsp_len);
		return MIC_ERR_RESPONSE;
	}
	/*
	 * vpcd (and some drivers) report success with no bytes when the card
	 * went away mid-command, before pcscd has seen it go. No card answers
	 * without a status word: give pcscd a moment to notice, and say
	 * "removed", or at least "no answer", rather than "malformed".
	 */
	if (n < 2)
		return no_status_word(io);
	*rsp_len = n;
	return MIC_OK;
}

static mic_rc
read_atr(struct pcsc_io *io)
{
	DWORD state, proto, atr_len = MIC_ATR_MAX, name_len = 0;
	LONG rv;

	rv = SCardStatus(io->card, NULL, &name_len, &state, &proto, io->atr,
	    &atr_len);
	if (rv != SCARD_S_SUCCESS)
		return pcsc_fail(__func__, "SCardStatus", rv);
	io->proto = proto;
	io->atr_len = atr_len > MIC_ATR_MAX ? MIC_ATR_MAX : atr_len;
	return MIC_OK;
}

static mic_rc
do_reconnect(struct pcsc_io *io, DWORD init)
{
	DWORD proto = 0;
	LONG rv;

	rv = SCardReconnect(io->card, SCARD_SHARE_SHARED,
	    SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, init, &proto);
	if (rv != SCARD_S_SUCCESS)
		return pcsc_fail(__func__, "SCardReconnect", rv);
	io->proto = proto;
	return read_atr(io);
}

static mic_rc
pcsc_reconnect(void *arg)
{
	struct pcsc_io *io = arg;
	mic_rc rc;

	io->reset_pending = 0;
	rc = do_reconnect(io, SCARD_LEAVE_CARD);
	/* The transport holds no transaction after reconnect (tx.h). */
	if (io->in_tx) {
		SCardEndTransaction(io->card, SCARD_LEAVE_CARD);
		io->in_tx = 0;
	}
	return rc;
}

static mic_rc
pcsc_reset(void *arg)
{
	struct pcsc_io *io = arg;

	io->reset_pending = 0;
	return do_reconnect(io, SCARD_RESET_CARD);
}

static mic_rc
pcsc_begin(void *arg)
{
	struct pcsc_io *io = arg;
	LONG rv;

	rv = SCardBeginTransaction(io->card);
	if (rv == SCARD_W_RESET_CARD) {
		/*
		 * Someone else reset the card. Take the handle back now, so the
		 * transaction is held, and let the next transmit tell the
		 * transport, which re-selects and checks the card's identity
		 * before sending the caller's command.
		 */
		mic_rc rc = do_reconnect(io, SCARD_LEAVE_CARD);
		if (rc != MIC_OK)
			return rc;
		rv = SCardBeginTransaction(io->card);
		if (rv == SCARD_S_SUCCESS)
			io->reset_pending = 1;
	}
	if (rv != SCARD_S_SUCCESS)
		return pcsc_fail(__func__, "SCardBeginTransaction", rv);
	io->in_tx = 1;
	return MIC_OK;
}

static mic_rc
pcsc_end(void *arg)
{
	struct pcsc_io *io = arg;
	LONG rv;

	rv = SCardEndTransaction(io->card, SCARD_LEAVE_CARD);
	io->in_tx = 0;
	if (rv != SCARD_S_SUCCESS)
		return pcsc_fail(__func__, "SCardEndTransaction", rv);
	return MIC_OK;
}

static mic_rc
pcsc_atr(void *arg, uint8_t *atr, size_t *atr_len)
{
	struct pcsc_io *io = arg;

	if (*atr_len < io->atr_len)
		return MIC_ERR_BUFFER_TOO_SMALL;
	memcpy(atr, io->atr, io->atr_len);
	*atr_len = io->atr_len;
	return MIC_OK;
}

static void
pcsc_close(void *arg)
{
	struct pcsc_io *io = arg;

	if (io == NULL)
		return;
	if (io->own_card)
		SCardDisconnect(io->card, io->disposition);
	if (io->own_ctx)
		SCardReleaseContext(io->ctx);
	free(io);
}

/*
 * SCardControl on the card's handle. No busy_since here: a PIN typed on
 * the pad takes as long as the holder takes, which is no mute card.
 */
static mic_rc
pcsc_control(void *arg, uint32_t code, const uint8_t *in, size_t in_len,
    uint8_t *out, size_t *out_len)
{
	struct pcsc_io *io = arg;
	DWORD n = 0, cap;
	LONG rv;

	/* Left for the next transmit, which re-selects (see pcsc_begin). */
	if (io->reset_pending)
		return MIC_ERR_CARD_RESET;
	if (in_len > MAX_BUFFER_SIZE_EXTENDED)
		return MIC_ERR_APDU_TOO_LONG;
	cap = *out_len > MAX_BUFFER_SIZE_EXTENDED ? MAX_BUFFER_SIZE_EXTENDED :
	    (DWORD)*out_len;
	rv = SCardControl(io->card, (DWORD)code, in, (DWORD)in_len, out, cap,
	    &n);
	/* A driver without the request: no card question, no polling. */
	if (rv == SCARD_E_UNSUPPORTED_FEATURE) {
		mici_debug("%s: control code 0x%08lx not supported", __func__,
		    (unsigned long)code);
		return MIC_ERR_UNSUPPORTED;
	}
	if (rv != SCARD_S_SUCCESS)
		return gone_or(io, pcsc_fail(__func__, "SCardControl", rv));
	if (n > cap) {
		mici_debug("%s: pcsc-lite returned %lu bytes > %lu", __func__,
		    (unsigned long)n, (unsigned long)cap);
		return MIC_ERR_RESPONSE;
	}
	*out_len = n;
	return MIC_OK;
}

static const mic_tx_ops pcsc_ops = {
	.control = pcsc_control,
	.transmit = pcsc_transmit,
	.reset = pcsc_reset,
	.reconnect = pcsc_reconnect,
	.begin = pcsc_begin,
	.end = pcsc_end,
	.atr = pcsc_atr,
	.close = pcsc_close,
};

/*
 * Does the reader pass extended APDUs? Drivers that know say so through
 * SCARD_ATTR_MAXINPUT; a driver that does not answer is taken as short-only,
 * which is always safe because longer data is then chained.
 */
static int
reader_extended(struct pcsc_io *io)
{
	uint8_t buf[8];
	DWORD len = sizeof(buf);
	uint32_t max = 0;

	if (SCardGetAttrib(io->card, SCARD_ATTR_MAXINPUT, buf, &len) !=
	    SCARD_S_SUCCESS || len < sizeof(uint32_t))
		return 0;
	memcpy(&max, buf, sizeof(max));
	return max > MAX_BUFFER_SIZE;
}

static mic_rc
wrap(mic_tx_t **out, struct pcsc_io *io)
{
	mici_atr_info info;
	mic_tx_caps caps;
	mic_rc rc;

	if ((rc = read_atr(io)) != MIC_OK)
		return rc;
	if ((rc = mic_tx_new(out, &pcsc_ops, io)) != MIC_OK)
		return rc;
	mic_tx_get_caps(*out, &caps);
	caps.reader_extended = reader_extended(io);
	caps.card_extended = 0;
	if (mici_atr_parse(io->atr, io->atr_len, &info) == MIC_OK)
		caps.card_extended = info.extended;
	mic_tx_set_caps(*out, &caps);
	return MIC_OK;
}

/* Split a PC/SC multi-string, checking that it is properly terminated. */
static mic_rc
list_names(SCARDCONTEXT ctx, char **names, DWORD *names_len)
{
	DWORD len = 0;
	char *buf = NULL;
	LONG rv;

	*names = NULL;
	rv = SCardListReaders(ctx, NULL, NULL, &len);
	if (rv != SCARD_S_SUCCESS)
		return pcsc_fail(__func__, "SCardListReaders", rv);
	if (len < 2 || len > 65536) {
		mici_debug("%s: implausible length %lu", __func__, (unsigned long)len);
		return MIC_ERR_PCSC;
	}
	if ((buf = calloc(1, len)) == NULL)
		return MIC_ERR_NOMEM;
	rv = SCardListReaders(ctx, NULL, buf, &len);
	if (rv != SCARD_S_SUCCESS) {
		free(buf);
		return pcsc_fail(__func__, "SCardListReaders", rv);
	}
	if (len < 2 || buf[len - 1] != '\0' || buf[len - 2] != '\0') {
		/* A reader list that changed between the calls, or a bad one. */
		mici_debug("%s: multi-string not double-NUL terminated", __func__);
		free(buf);
		return MIC_ERR_PCSC;
	}
	*names = buf;
	*names_len = len;
	return MIC_OK;
}

static size_t
count_names(const char *names)
{
	size_t n = 0;

	for (const char *p = names; *p != '\0'; p += strlen(p) + 1)
		n++;
	return n;
}

static mic_rc
establish(SCARDCONTEXT *ctx)
{
	LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, ctx);

	if (rv != SCARD_S_SUCCESS)
		return pcsc_fail(__func__, "SCardEstablishContext", rv);
	return MIC_OK;
}

static mic_rc
reader_states(SCARDCONTEXT ctx, const char *names, size_t n,
    SCARD_READERSTATE **out)
{
	SCARD_READERSTATE *st;
	const char *p = names;
	LONG rv;

	if ((st = calloc(n, sizeof(*st))) == NULL)
		return MIC_ERR_NOMEM;
	for (size_t i = 0; i < n; i++, p += strlen(p) + 1) {
		st[i].szReader = p;
		st[i].dwCurrentState = SCARD_STATE_UNAWARE;
	}
	rv = SCardGetStatusChange(ctx, 0, st, (DWORD)n);
	if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT) {
		free(st);
		return pcsc_fail(__func__, "SCardGetStatusChange", rv);
	}
	*out = st;
	return MIC_OK;
}

static int
state_has_card(DWORD s)
{
	return (s & SCARD_STATE_PRESENT) && !(s & SCARD_STATE_MUTE);
}

mic_rc
mic_reader_list(mic_reader_info **out, size_t *count)
{
	SCARDCONTEXT ctx;
	SCARD_READERSTATE *st = NULL;
	mic_reader_info *list = NULL;
	char *names = NULL;
	DWORD names_len;
	size_t n;
	mic_rc rc;

	if (out == NULL || count == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	*out = NULL;
	*count = 0;
	if ((rc = establish(&ctx)) != MIC_OK)
		return rc;
	if ((rc = list_names(ctx, &names, &names_len)) != MIC_OK)
		goto fail;
	n = count_names(names);
	if ((rc = reader_states(ctx, names, n, &st)) != MIC_OK)
		goto fail;
	if ((list = calloc(n ? n : 1, sizeof(*list))) == NULL) {
		rc = MIC_ERR_NOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(list[i].name, sizeof(list[i].name), "%s", st[i].szReader);
		list[i].card_present = state_has_card(st[i].dwEventState);
		if (list[i].card_present && st[i].cbAtr <= MIC_ATR_MAX) {
			memcpy(list[i].atr, st[i].rgbAtr, st[i].cbAtr);
			list[i].atr_len = st[i].cbAtr;
		}
	}
	*out = list;
	*count = n;
	list = NULL;
	rc = MIC_OK;
fail:
	free(list);
	free(st);
	free(names);
	SCardReleaseContext(ctx);
	return rc;
}

void
mic_reader_list_free(mic_reader_info **list)
{
	if (list == NULL || *list == NULL)
		return;
	free(*list);
	*list = NULL;
}

static mic_rc
first_with_card(SCARDCONTEXT ctx, char *name, size_t cap)
{
	SCARD_READERSTATE *st = NULL;
	char *names = NULL;
	DWORD names_len;
	size_t n;
	mic_rc rc;

	if ((rc = list_names(ctx, &names, &names_len)) != MIC_OK)
		return rc;
	n = count_names(names);
	if ((rc = reader_states(ctx, names, n, &st)) != MIC_OK)
		goto out;
	rc = MIC_ERR_NO_CARD;
	for (size_t i = 0; i < n; i++) {
		if (state_has_card(st[i].dwEventState)) {
			snprintf(name, cap, "%s", st[i].szReader);
			rc = MIC_OK;
			break;
		}
	}
out:
	free(st);
	free(names);
	return rc;
}

mic_rc
mic_pcsc_open(mic_tx_t **out, const char *reader)
{
	struct pcsc_io *io = NULL;
	char name[MIC_READER_NAME_MAX];
	mic_rc rc;
	LONG rv;

	if (out == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if ((io = calloc(1, sizeof(*io))) == NULL)
		return MIC_ERR_NOMEM;
	if ((rc = establish(&io->ctx)) != MIC_OK)
		goto fail;
	io->own_ctx = 1;
	if (reader == NULL) {
		if ((rc = first_with_card(io->ctx, name, sizeof(name))) != MIC_OK)
			goto fail;
		reader = name;
	}
	rv = SCardConnect(io->ctx, reader, SCARD_SHARE_SHARED,
	    SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &io->card, &io->proto);
	if (rv != SCARD_S_SUCCESS) {
		rc = pcsc_fail(__func__, "SCardConnect", rv);
		goto fail;
	}
	io->own_card = 1;
	if ((rc = wrap(out, io)) != MIC_OK)
		goto fail;
	return MIC_OK;
fail:
	pcsc_close(io);
	return rc;
}

mic_rc
mic_pcsc_open_external(mic_tx_t **out, SCARDCONTEXT ctx, SCARDHANDLE card)
{
	struct pcsc_io *io;
	mic_rc rc;

	if (out == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if ((io = calloc(1, sizeof(*io))) == NULL)
		return MIC_ERR_NOMEM;
	io->ctx = ctx;
	io->card = card;
	if ((rc = wrap(out, io)) != MIC_OK) {
		pcsc_close(io);
		return rc;
	}
	return MIC_OK;
}

/* @p d becomes now plus @p ms on the monotonic clock. */
static void
deadline_in(struct timespec *d, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += ms / 1000;
	d->tv_nsec += (long)(ms % 1000) * 1000000;
	if (d->tv_nsec >= 1000000000) {
		d->tv_sec++;
		d->tv_nsec -= 1000000000;
	}
}

static long
ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/*
 * One wait round: the readers as they are now plus the PnP pseudo reader, so
 * a reader plugged in during the wait wakes us up too.
 */
static mic_rc
wait_round(SCARDCONTEXT ctx, const char *reader, long timeout, char *name,
    size_t cap)
{
	SCARD_READERSTATE *st = NULL;
	char *names = NULL;
	DWORD names_len;
	size_t n = 0, i;
	const char *p;
	mic_rc rc;
	LONG rv;

	rc = list_names(ctx, &names, &names_len);
	if (rc != MIC_OK && rc != MIC_ERR_NO_READER)
		return rc;
	if (rc == MIC_OK)
		n = count_names(names);
	if ((st = calloc(n + 1, sizeof(*st))) == NULL) {
		free(names);
		return MIC_ERR_NOMEM;
	}
	for (i = 0, p = names; i < n; i++, p += strlen(p) + 1)
		st[i].szReader = p;
	st[n].szReader = PNP_READER;
	/* First learn the current state, then wait for a change. */
	rv = SCardGetStatusChange(ctx, 0, st, (DWORD)(n + 1));
	for (int round = 0; round < 2; round++) {
		if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT) {
			rc = pcsc_fail(__func__, "SCardGetStatusChange", rv);
			goto out;
		}
		for (i = 0; i < n; i++) {
			if ((reader == NULL || strcmp(reader, st[i].szReader) == 0) &&
			    state_has_card(st[i].dwEventState)) {
				if (name != NULL)
					snprintf(name, cap, "%s", st[i].szReader);
				rc = MIC_OK;
				goto out;
			}
		}
		if (round == 1 || timeout <= 0)
			break;
		for (i = 0; i <= n; i++)
			st[i].dwCurrentState = st[i].dwEventState & ~SCARD_STATE_CHANGED;
		rv = SCardGetStatusChange(ctx, (DWORD)timeout, st, (DWORD)(n + 1));
	}
	rc = MIC_ERR_TIMEOUT;
out:
	free(st);
	free(names);
	return rc;
}

mic_rc
mic_pcsc_wait_card(const char *reader, unsigned timeout_ms, char *name,
    size_t name_cap)
{
	struct timespec deadline;
	SCARDCONTEXT ctx;
	mic_rc rc;

	if (name != NULL && name_cap == 0)
		return MIC_ERR_INVALID_ARGUMENT;
	deadline_in(&deadline, timeout_ms);
	if ((rc = establish(&ctx)) != MIC_OK)
		return rc;
	/* Each round ends on a state change or the deadline; both bounded. */
	do {
		rc = wait_round(ctx, reader, ms_left(&deadline), name, name_cap);
	} while (rc == MIC_ERR_TIMEOUT && ms_left(&deadline) > 0);
	SCardReleaseContext(ctx);
	return rc;
}

void
mic_pcsc_close_unpower(mic_tx_t **tx)
{
	struct pcsc_io *io;

	if (tx == NULL || *tx == NULL)
		return;
	if ((io = mici_tx_io(*tx, pcsc_close)) != NULL)
		io->disposition = SCARD_UNPOWER_CARD;
	mic_tx_free(tx);
}

mic_rc
mic_pcsc_wait_removal(const char *reader, unsigned timeout_ms)
{
	SCARD_READERSTATE st;
	struct timespec deadline;
	SCARDCONTEXT ctx;
	long left;
	mic_rc rc;
	LONG rv;

	if (reader == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	deadline_in(&deadline, timeout_ms);
	if ((rc = establish(&ctx)) != MIC_OK)
		return rc;
	memset(&st, 0, sizeof(st));
	st.szReader = reader;
	st.dwCurrentState = SCARD_STATE_UNAWARE;
	rv = SCardGetStatusChange(ctx, 0, &st, 1);
	for (;;) {
		if (rv == SCARD_E_TIMEOUT) {
			rc = MIC_ERR_TIMEOUT;
		} else if (rv != SCARD_S_SUCCESS) {
			rc = rv == SCARD_E_UNKNOWN_READER ? MIC_ERR_NO_READER :
			    pcsc_fail(__func__, "SCardGetStatusChange", rv);
			break;
		} else if (st.dwEventState & (SCARD_STATE_UNKNOWN |
		    SCARD_STATE_UNAVAILABLE)) {
			rc = MIC_ERR_NO_READER;
			break;
		} else if (!(st.dwEventState & SCARD_STATE_PRESENT)) {
			/* A mute card is still in the reader. */
			rc = MIC_OK;
			break;
		}
		if ((left = ms_left(&deadline)) <= 0) {
			rc = MIC_ERR_TIMEOUT;
			break;
		}
		if (rv == SCARD_S_SUCCESS)
			st.dwCurrentState = st.dwEventState &
			    ~SCARD_STATE_CHANGED;
		rv = SCardGetStatusChange(ctx, (DWORD)left, &st, 1);
	}
	SCardReleaseContext(ctx);
	return rc;
}

/* --- one reader, one context, for a whole run ------------------------- */

mic_rc
mici_pcsc_reader_new(mici_pcsc_reader **out, const char *name,
    _Atomic long long *busy_since)
{
	mici_pcsc_reader *r;
	mic_rc rc;

	*out = NULL;
	if (name == NULL || strlen(name) >= MIC_READER_NAME_MAX)
		return MIC_ERR_INVALID_ARGUMENT;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return MIC_ERR_NOMEM;
	if ((rc = establish(&r->ctx)) != MIC_OK) {
		free(r);
		return rc;
	}
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->st.szReader = r->name;
	r->st.dwCurrentState = SCARD_STATE_UNAWARE;
	r->busy_since = busy_since;
	*out = r;
	return MIC_OK;
}

void
mici_pcsc_reader_free(mici_pcsc_reader **rp)
{
	if (rp == NULL || *rp == NULL)
		return;
	SCardReleaseContext((*rp)->ctx);
	free(*rp);
	*rp = NULL;
}

/* Has the reader's last known state what the caller waits for? */
static mic_rc
reader_state_rc(DWORD s, int want_card)
{
	if (s & (SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE |
	    SCARD_STATE_IGNORE))
		return MIC_ERR_NO_READER;
	if (!want_card)
		return s & SCARD_STATE_PRESENT ? MIC_ERR_TIMEOUT : MIC_OK;
	if (!(s & SCARD_STATE_PRESENT))
		return MIC_ERR_TIMEOUT;
	/* Present without an ATR: a card that does not answer the reset. */
	return s & SCARD_STATE_MUTE ? MIC_ERR_TX : MIC_OK;
}

mic_rc
mici_pcsc_reader_wait(mici_pcsc_reader *r, int want_card, unsigned timeout_ms)
{
	struct timespec deadline;
	long wait;
	mic_rc rc;
	LONG rv;

	deadline_in(&deadline, timeout_ms);
	for (;;) {
		/*
		 * A known state that already has what the caller waits for
		 * is checked without waiting (it may be stale); one that has
		 * not is waited on, to the deadline: pcscd answers at once
		 * when the reader is no longer in it. One call a round.
		 */
		wait = 0;
		if (r->st.dwCurrentState != SCARD_STATE_UNAWARE &&
		    reader_state_rc(r->st.dwCurrentState, want_card) ==
		    MIC_ERR_TIMEOUT && (wait = ms_left(&deadline)) < 0)
			wait = 0;
		rv = SCardGetStatusChange(r->ctx, (DWORD)wait, &r->st, 1);
		if (rv == SCARD_S_SUCCESS) {
			r->st.dwCurrentState = r->st.dwEventState &
			    ~SCARD_STATE_CHANGED;
		} else if (rv != SCARD_E_TIMEOUT) {
			/* The next wait starts afresh. */
			r->st.dwCurrentState = SCARD_STATE_UNAWARE;
			if (rv == SCARD_E_UNKNOWN_READER)
				return MIC_ERR_NO_READER;
			return pcsc_fail(__func__, "SCardGetStatusChange", rv);
		}
		rc = reader_state_rc(r->st.dwCurrentState, want_card);
		if (rc != MIC_ERR_TIMEOUT || ms_left(&deadline) <= 0)
			return rc;
	}
}

mic_rc
mici_pcsc_reader_connect(mici_pcsc_reader *r, mic_tx_t **out)
{
	struct pcsc_io *io;
	mic_rc rc;
	LONG rv;

	*out = NULL;
	if ((io = calloc(1, sizeof(*io))) == NULL)
		return MIC_ERR_NOMEM;
	io->ctx = r->ctx;
	io->owner = r;
	rv = SCardConnect(r->ctx, r->name, SCARD_SHARE_SHARED,
	    SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &io->card, &io->proto);
	if (rv != SCARD_S_SUCCESS) {
		free(io);
		return pcsc_fail(__func__, "SCardConnect", rv);
	}
	io->own_card = 1;
	if ((rc = wrap(out, io)) != MIC_OK) {
		pcsc_close(io);
		return rc;
	}
	return MIC_OK;
}

void
mici_pcsc_reader_unpower(mici_pcsc_reader *r)
{
	SCARDHANDLE h;
	DWORD proto = 0;

	if (SCardConnect(r->ctx, r->name, SCARD_SHARE_DIRECT, 0, &h,
	    &proto) == SCARD_S_SUCCESS)
		SCardDisconnect(h, SCARD_UNPOWER_CARD);
}

