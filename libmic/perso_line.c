/*
 * libmic: the issuance line (see perso.h and docs/issuance.md section 3).
 *
 * One thread per reader, each with its own PC/SC context and journal
 * connection: the journal hands out applications (one write transaction
 * per claim), so the threads share nothing but the configuration, the stop
 * flag and the event callback's mutex.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mic/card.h>
#include <mic/pcsc.h>
#include <mic/perso.h>

#include "internal.h"
#include "mici.h"
#include "perso_int.h"

#define WAIT_SLICE_MS 250u     /* how often a waiting reader sees a stop */
#define IDLE_MS 200            /* a reader with nothing to claim, yet */
#define REMIND_MS 30000u       /* repeat "take the card out" this often */
#define HEX_LEN (2 * MIC_CHIP_SERIAL_LEN)
#define CONNECT_IO_TRIES 50    /* about 10 s of a card that will not power up */
#define READ_TRIES 5           /* SELECTs of a new card before it is set aside */
#define LEFT_CHECK_MS 1000u    /* how often a waiting reader asks if work is left */
#define CONNECT_TRIES 5        /* connects of a card with no protocol (a garbage
                                * ATR) before it is set aside as unusable */
/*
 * After a stop, a reader whose card has not answered one command for this
 * long is left behind: the card is mute and the driver (vpcd) waits for
 * ever. Longer than any one command of a working card.
 */
#define MUTE_MS 5000
#define JOIN_POLL_NS 100000000L

struct reader {
	struct mic_perso_line *line;
	char name[MIC_READER_NAME_MAX + 1];
	const mic_perso_reader_ops *ops;
	void *ops_arg;             /* the reader itself for PC/SC */
	pthread_t thread;
	int started;
	int joined;
	int down;              /* the thread ended on a reader failure */
	mic_rc down_rc;        /* why */
	atomic_int finished;   /* the thread is about to return */
	atomic_int abandoned;  /* the run left it stuck on a mute card */
	unsigned io_errs;      /* connects in a row that found a card mute */
	/* The PC/SC reader, one context for the whole run (reader thread). */
	mici_pcsc_reader *pr;
	/* Read by the run's thread: a transmit waiting since (ms), and the
	 * card attempt in progress (0 none). */
	_Atomic long long busy_since;
	_Atomic int_least64_t att;
	/* The card in the reader, once read. */
	mic_tx_t *tx;
	uint8_t chip[MIC_CHIP_SERIAL_LEN];
	char chip_hex[HEX_LEN + 1];
	mic_journal_t *j;
};

struct mic_perso_line {
	mic_perso_cfg_t *cfg;
	char *journal_path;
	mic_journal_t *j;          /* the caller's thread: enqueue, stats */
	pthread_mutex_t j_lock;    /* stats from a progress thread */
	pthread_mutex_t ev_lock;   /* one event callback at a time */
	mic_perso_event_cb *ev_cb;
	void *ev_arg;
	unsigned max_attempts;
	uint64_t serial_base;
	atomic_int stop;
	atomic_int running;
	atomic_int busy;           /* reader threads still working */
	size_t abandoned;          /* readers left stuck on a mute card */
	size_t nreaders;
	struct reader readers[MIC_PERSO_READERS_MAX];
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
emit(struct mic_perso_line *line, mic_perso_event *ev)
{
	if (line->ev_cb == NULL)
		return;
	pthread_mutex_lock(&line->ev_lock);
	line->ev_cb(ev, line->ev_arg);
	pthread_mutex_unlock(&line->ev_lock);
}

mic_rc
mic_perso_line_new(mic_perso_line_t **out, mic_perso_cfg_t *cfg,
    const char *journal_path)
{
	mic_perso_line_t *line;
	mic_rc rc;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || cfg == NULL || journal_path == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((line = calloc(1, sizeof(*line))) == NULL)
		return MIC_ERR_NOMEM;
	if ((line->journal_path = strdup(journal_path)) == NULL) {
		free(line);
		return MIC_ERR_NOMEM;
	}
	if (pthread_mutex_init(&line->j_lock, NULL) != 0) {
		free(line->journal_path);
		free(line);
		return MIC_ERR_NOMEM;
	}
	if (pthread_mutex_init(&line->ev_lock, NULL) != 0) {
		pthread_mutex_destroy(&line->j_lock);
		free(line->journal_path);
		free(line);
		return MIC_ERR_NOMEM;
	}
	line->cfg = cfg;
	line->max_attempts = MIC_PERSO_ATTEMPTS_DEFAULT;
	atomic_init(&line->stop, 0);
	atomic_init(&line->running, 0);
	if ((rc = mic_journal_open(&line->j, journal_path)) != MIC_OK) {
		mic_perso_line_free(&line);
		return rc;
	}
	*out = line;
	return MIC_OK;
}

void
mic_perso_line_free(mic_perso_line_t **linep)
{
	mic_perso_line_t *line;

	if (linep == NULL || (line = *linep) == NULL)
		return;
	*linep = NULL;
	/* A thread stuck on a mute card still uses the line, and may wake
	 * when the card goes: it is left to the end of the process. */
	if (line->abandoned > 0)
		return;
	mic_journal_free(&line->j);
	pthread_mutex_destroy(&line->j_lock);
	pthread_mutex_destroy(&line->ev_lock);
	free(line->journal_path);
	free(line);
}

/* --- PC/SC readers --- */

/*
 * A connect that failed for the card in the reader (no answer, no
 * protocol: a garbage ATR), not for the reader: the card is set aside and
 * the reader goes on. Anything else stops the reader.
 */
static int
card_failure(mic_rc rc)
{
	return rc == MIC_ERR_TX || rc == MIC_ERR_PCSC ||
	    rc == MIC_ERR_RESPONSE || rc == MIC_ERR_CARD_RESET;
}

/* The reader's one PC/SC context, made on first use in its thread. */
static mic_rc
pcsc_reader(struct reader *r)
{
	if (r->pr != NULL)
		return MIC_OK;
	return mici_pcsc_reader_new(&r->pr, r->name, &r->busy_since);
}

static mic_rc
pcsc_connect(void *arg, unsigned timeout_ms, mic_tx_t **tx)
{
	struct reader *r = arg;
	struct timespec pause = { 0, IDLE_MS * 1000000L };
	mic_rc rc;

	if ((rc = pcsc_reader(r)) != MIC_OK)
		return rc;
	if ((rc = mici_pcsc_reader_wait(r->pr, 1, timeout_ms)) == MIC_OK)
		rc = mici_pcsc_reader_connect(r->pr, tx);
	if (rc == MIC_OK)
		r->io_errs = 0;
	/* Gone between the wait and the connect: still waiting. */
	if (rc == MIC_ERR_NO_CARD || rc == MIC_ERR_CARD_REMOVED)
		return MIC_ERR_TIMEOUT;
	if (rc == MIC_OK || !card_failure(rc))
		return rc;
	/*
	 * A card that does not power up (SCARD_W_UNPOWERED_CARD) is often one
	 * on its way out: a hopper moving it on, a hand pulling it. Give the
	 * reader time to see that before calling the card unusable; a card
	 * pcscd finds no protocol in (a garbage ATR) fails the same way each
	 * time and needs fewer tries.
	 */
	if (++r->io_errs < (rc == MIC_ERR_TX ? CONNECT_IO_TRIES :
	    CONNECT_TRIES)) {
		nanosleep(&pause, NULL);
		return MIC_ERR_TIMEOUT;
	}
	r->io_errs = 0;
	/* Powered down, as every card the line is done with. */
	mici_pcsc_reader_unpower(r->pr);
	return rc;
}

static void
pcsc_release(void *arg, mic_tx_t **tx)
{
	(void)arg;
	mic_pcsc_close_unpower(tx);
}

static mic_rc
pcsc_wait_removal(void *arg, unsigned timeout_ms)
{
	struct reader *r = arg;
	mic_rc rc;

	if ((rc = pcsc_reader(r)) != MIC_OK)
		return rc;
	return mici_pcsc_reader_wait(r->pr, 0, timeout_ms);
}

static const mic_perso_reader_ops pcsc_reader_ops = {
	.connect = pcsc_connect,
	.release = pcsc_release,
	.wait_removal = pcsc_wait_removal,
};

mic_rc
mic_perso_line_add_reader(mic_perso_line_t *line, const char *name)
{
	return mic_perso_line_add_reader_ops(line, name, &pcsc_reader_ops,
	    NULL);
}

mic_rc
mic_perso_line_add_reader_ops(mic_perso_line_t *line, const char *name,
    const mic_perso_reader_ops *ops, void *arg)
{
	struct reader *r;
	size_t i, n;

	if (line == NULL || name == NULL || (n = strlen(name)) == 0 ||
	    n > MIC_READER_NAME_MAX || ops == NULL || ops->connect == NULL ||
	    ops->release == NULL || ops->wait_removal == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if (atomic_load(&line->running))
		return MIC_ERR_STATE;
	for (i = 0; i < line->nreaders; i++)
		if (strcmp(line->readers[i].name, name) == 0)
			return MIC_ERR_DUPLICATE;
	if (line->nreaders == MIC_PERSO_READERS_MAX)
		return MIC_ERR_BUFFER_TOO_SMALL;
	r = &line->readers[line->nreaders];
	memcpy(r->name, name, n + 1);
	r->ops = ops;
	/* A PC/SC reader's functions need its name: the reader itself. */
	r->ops_arg = ops == &pcsc_reader_ops ? r : arg;
	line->nreaders++;
	return MIC_OK;
}

mic_rc
mic_perso_line_set_max_attempts(mic_perso_line_t *line, unsigned n)
{
	if (line == NULL || n < 1 || n > 100)
		return MIC_ERR_INVALID_ARGUMENT;
	line->max_attempts = n;
	return MIC_OK;
}

mic_rc
mic_perso_line_set_serial_base(mic_perso_line_t *line, uint64_t base)
{
	if (line == NULL || base > MIC_PERSO_SERIAL_MAX)
		return MIC_ERR_INVALID_ARGUMENT;
	line->serial_base = base;
	return MIC_OK;
}

void
mic_perso_line_set_event_cb(mic_perso_line_t *line, mic_perso_event_cb *cb,
    void *arg)
{
	if (line == NULL)
		return;
	line->ev_cb = cb;
	line->ev_arg = arg;
}

void
mic_perso_line_stop(mic_perso_line_t *line)
{
	if (line != NULL)
		atomic_store(&line->stop, 1);
}

mic_rc
mic_perso_line_stats(mic_perso_line_t *line, mic_journal_stats *st)
{
	mic_rc rc;

	if (line == NULL || st == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	pthread_mutex_lock(&line->j_lock);
	rc = mic_journal_stats_get(line->j, st);
	pthread_mutex_unlock(&line->j_lock);
	return rc;
}

size_t
mic_perso_line_readers_down(const mic_perso_line_t *line)
{
	size_t i, n = 0;

	if (line == NULL || atomic_load(&line->running))
		return 0;
	for (i = 0; i < line->nreaders; i++)
		n += line->readers[i].down != 0;
	return n;
}

const char *
mic_perso_line_journal_errmsg(mic_perso_line_t *line)
{
	return line == NULL ? "" : mic_journal_errmsg(line->j);
}

mic_rc
mic_perso_line_failures(mic_perso_line_t *line, mic_journal_failure_cb *cb,
    void *arg)
{
	mic_rc rc;

	if (line == NULL || cb == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	pthread_mutex_lock(&line->j_lock);
	rc = mic_journal_failures(line->j, cb, arg);
	pthread_mutex_unlock(&line->j_lock);
	return rc;
}

mic_rc
mic_perso_line_recover(mic_perso_line_t *line, size_t *interrupted)
{
	mic_rc rc;

	if (line == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if (atomic_load(&line->running))
		return MIC_ERR_STATE;
	pthread_mutex_lock(&line->j_lock);
	rc = mic_journal_recover(line->j, interrupted);
	pthread_mutex_unlock(&line->j_lock);
	return rc;
}

/* A journal refusal reported like a bad line, so the caller has one list. */
static void
refusal(mic_perso_line_error_cb *cb, void *arg, const mic_application_t *app,
    mic_rc rc)
{
	mic_batch_error e;

	if (cb == NULL)
		return;
	memset(&e, 0, sizeof(e));
	e.line = mic_application_line(app);
	e.rc = rc;
	snprintf(e.field, sizeof(e.field), "application_id");
	snprintf(e.message, sizeof(e.message), "line %zu: application_id: "
	    "%s: %s", e.line, mic_application_id(app),
	    rc == MIC_ERR_LIVE_CARD ? "the holder already has a live card; "
	    "recorded as rejected" : rc == MIC_ERR_DUPLICATE ? "in the "
	    "journal with another ID number or other data" :
	    mic_strerror(rc));
	cb(&e, arg);
}

mic_rc
mic_perso_line_enqueue(mic_perso_line_t *line, mic_batch_t *batch,
    mic_perso_line_error_cb *cb, void *arg, mic_perso_load_stats *stp)
{
	mic_perso_load_stats st;
	mic_application_t *app = NULL;
	mic_batch_error err;
	mic_rc rc;

	if (stp != NULL)
		memset(stp, 0, sizeof(*stp));
	if (line == NULL || batch == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	memset(&st, 0, sizeof(st));
	pthread_mutex_lock(&line->j_lock);
	/* One transaction for the batch: one fsync, and a batch that cannot
	 * be read to its end queues nothing rather than a part. */
	if ((rc = mic_journal_bulk_begin(line->j)) != MIC_OK)
		goto out;
	for (;;) {
		rc = mic_batch_next(batch, &app, &err);
		if (rc == MIC_ERR_NOT_FOUND)
			break;
		if (rc == MIC_ERR_BATCH_LINE) {
			st.bad++;
			if (cb != NULL)
				cb(&err, arg);
			continue;
		}
		if (rc != MIC_OK)
			goto fail;
		st.valid++;
		rc = mic_journal_enqueue_app(line->j, app);
		if (rc == MIC_OK) {
			st.queued++;
		} else if (rc == MIC_ERR_LIVE_CARD || rc == MIC_ERR_DUPLICATE) {
			st.refused++;
			refusal(cb, arg, app, rc);
		} else {
			goto fail;
		}
		mic_application_free(&app);
	}
	st.lines = mic_batch_lines(batch);
	if ((rc = mic_journal_bulk_end(line->j, 1)) != MIC_OK)
		goto out;
	if (stp != NULL)
		*stp = st;
	rc = MIC_OK;
	goto out;
fail:
	mic_application_free(&app);
	(void)mic_journal_bulk_end(line->j, 0);
out:
	pthread_mutex_unlock(&line->j_lock);
	return rc;
}

/* --- one reader ------------------------------------------------------ */

static int
stopping(const struct reader *r)
{
	return atomic_load(&r->line->stop) != 0;
}

/*
 * Is there anything this reader could still do? Applications queued, or
 * in progress on another reader, whose card may fail and requeue them.
 * A reader waiting for a card, or for a card to leave, gives up when not:
 * an empty hopper or a card nobody takes out must not keep the line from
 * ending. A journal error counts as work left: the caller keeps waiting.
 */
static int
work_left(struct reader *r)
{
	mic_journal_stats st;

	if (mic_journal_stats_get(r->j, &st) != MIC_OK)
		return 1;
	return st.queued + st.failed_retryable > 0 || (st.in_progress > 0 &&
	    atomic_load(&r->line->busy) > 1);
}

static void
reader_down(struct reader *r, mic_rc rc)
{
	mic_perso_event ev = { .kind = MIC_PERSO_EV_READER_DOWN,
		.reader = r->name, .rc = rc };

	/* SQLite's own words, not "see the debug log". */
	if (rc == MIC_ERR_JOURNAL && r->j != NULL &&
	    mic_journal_errmsg(r->j)[0] != '\0')
		ev.reason = mic_journal_errmsg(r->j);

	r->down = 1;
	r->down_rc = rc;
	emit(r->line, &ev);
}

/*
 * The card leaves: powered down, so a machine moves it on, and the reader
 * waits until it is out. 0 when it is; -1 on stop, when nothing is left
 * to do, or on a reader failure (then r->down).
 */
static int
let_go(struct reader *r, const char *why)
{
	unsigned waited = 0;
	mic_rc rc;

	if (r->tx != NULL)
		r->ops->release(r->ops_arg, &r->tx);
	for (;;) {
		if (stopping(r))
			return -1;
		/* Nothing left to do: no need to see the card go. */
		if (waited > 0 && waited % LEFT_CHECK_MS == 0 && !work_left(r))
			return -1;
		rc = r->ops->wait_removal(r->ops_arg, WAIT_SLICE_MS);
		if (rc == MIC_OK)
			return 0;
		if (rc != MIC_ERR_TIMEOUT) {
			reader_down(r, rc);
			return -1;
		}
		waited += WAIT_SLICE_MS;
		if (why != NULL && waited % REMIND_MS == 0) {
			mic_perso_event ev = { .kind = MIC_PERSO_EV_SET_ASIDE,
				.reader = r->name, .chip_serial = r->chip_hex,
				.reason = why, .reminder = 1 };

			emit(r->line, &ev);
		}
	}
}

static void
set_aside(struct reader *r, const char *why, int unusable)
{
	mic_perso_event ev = { .kind = MIC_PERSO_EV_SET_ASIDE,
		.reader = r->name, .chip_serial = r->chip_hex, .reason = why,
		.unusable = unusable };

	emit(r->line, &ev);
}

/*
 * A usable card in the reader, read: 0, with r->tx and r->chip; -1 on stop,
 * when nothing is left to do, or on a reader failure (then r->down).
 */
static int
take_card(struct reader *r)
{
	char why[MIC_REASON_MAX];
	mic_card_t *card = NULL;
	unsigned failed = 0, issued = 0, polls = 0, bad_reads = 0;
	struct timespec pause = { 0, IDLE_MS * 1000000L };
	mic_state state;
	mic_rc rc;
	size_t i;

	while (r->tx == NULL) {
		if (stopping(r))
			return -1;
		if (polls++ % (LEFT_CHECK_MS / WAIT_SLICE_MS) == 0 &&
		    !work_left(r))
			return -1;
		rc = r->ops->connect(r->ops_arg, WAIT_SLICE_MS, &r->tx);
		if (rc == MIC_ERR_TIMEOUT)
			continue;
		if (rc != MIC_OK && !card_failure(rc)) {
			reader_down(r, rc);
			return -1;
		}
		if (rc != MIC_OK) {
			/* No protocol, no answer to the reset: the card, not
			 * the reader, is at fault. */
			snprintf(r->chip_hex, sizeof(r->chip_hex), "?");
			snprintf(why, sizeof(why), "unusable card: cannot "
			    "connect: %s", rc == MIC_ERR_PCSC ? "no protocol "
			    "in common (a garbage ATR?)" : mic_strerror(rc));
			set_aside(r, why, 1);
			if (let_go(r, why) != 0)
				return -1;
			continue;
		}
		if ((rc = mic_card_open(&card, r->tx)) == MIC_OK)
			rc = mic_card_chip_serial(card, r->chip,
			    sizeof(r->chip));
		state = rc == MIC_OK ? mic_card_state(card) : 0;
		mic_card_free(&card);
		/* The run went on without this reader (a mute card). */
		if (atomic_load(&r->abandoned))
			return -1;
		if (rc == MIC_ERR_CARD_REMOVED || rc == MIC_ERR_NO_CARD) {
			r->ops->release(r->ops_arg, &r->tx);
			continue;
		}
		/* A card just inserted may not answer at once (a reader
		 * still settling it): a few tries before it is set aside. */
		if (rc != MIC_OK && ++bad_reads < READ_TRIES) {
			mic_tx_free(&r->tx);
			nanosleep(&pause, NULL);
			continue;
		}
		if (rc != MIC_OK) {
			/* Not our application, or mute: not a card for us. */
			bad_reads = 0;
			snprintf(r->chip_hex, sizeof(r->chip_hex), "?");
			snprintf(why, sizeof(why), "unusable card: cannot read "
			    "it: %s", mic_strerror(rc));
			set_aside(r, why, 1);
			if (let_go(r, why) != 0)
				return -1;
			continue;
		}
		bad_reads = 0;
		for (i = 0; i < MIC_CHIP_SERIAL_LEN; i++)
			snprintf(r->chip_hex + 2 * i, 3, "%02X", r->chip[i]);
		if ((rc = mic_journal_chip_history(r->j, r->chip, &failed,
		    &issued)) != MIC_OK) {
			r->ops->release(r->ops_arg, &r->tx);
			reader_down(r, rc);
			return -1;
		}
		if (state == MIC_STATE_BLANK && failed == 0 && issued == 0)
			return 0;
		if (state != MIC_STATE_BLANK)
			snprintf(why, sizeof(why), "the card is %s, not blank",
			    mic_state_name(state));
		else
			snprintf(why, sizeof(why), "the card failed an attempt "
			    "before: it was set aside");
		set_aside(r, why, 0);
		if (let_go(r, why) != 0)
			return -1;
	}
	return 0;
}

/* Reject a claimed application whose stored data does not parse. */
static int
reject_data(struct reader *r, const char *id, mic_rc why_rc,
    const mic_batch_error *err)
{
	char reason[MIC_REASON_MAX];
	mic_perso_event ev = { .kind = MIC_PERSO_EV_REJECTED,
		.reader = r->name, .app_id = id, .rc = why_rc,
		.reason = reason };
	mic_rc rc;

	if (why_rc == MIC_ERR_BATCH_LINE)
		snprintf(reason, sizeof(reason), "the journal's data: %.200s",
		    err->message);
	else
		snprintf(reason, sizeof(reason), "enqueued without data");
	if ((rc = mic_journal_reject(r->j, id, reason)) != MIC_OK) {
		reader_down(r, rc);
		return -1;
	}
	emit(r->line, &ev);
	return 0;
}

/* The next application, parsed: 1, 0 when none is left, -1 on failure. */
static int
claim(struct reader *r, mic_application_t **app)
{
	char id[MIC_APP_ID_MAX + 1], *json = NULL;
	mic_batch_error err;
	mic_journal_stats st;
	struct timespec pause = { 0, IDLE_MS * 1000000L };
	mic_rc rc;

	while (!stopping(r)) {
		rc = mic_journal_claim(r->j, r->name, id);
		if (rc == MIC_ERR_NOT_FOUND) {
			/* Another reader's card may still fail and requeue
			 * its application: done only when nothing is in
			 * progress. */
			if ((rc = mic_journal_stats_get(r->j, &st)) !=
			    MIC_OK) {
				reader_down(r, rc);
				return -1;
			}
			/* In progress with no other reader working: left
			 * by a reader that went down; recovery's business. */
			if (st.queued + st.failed_retryable == 0 &&
			    (st.in_progress == 0 ||
			    atomic_load(&r->line->busy) <= 1))
				return 0;
			nanosleep(&pause, NULL);
			continue;
		}
		if (rc != MIC_OK) {
			reader_down(r, rc);
			return -1;
		}
		rc = mic_journal_app_data(r->j, id, &json);
		if (rc == MIC_OK) {
			rc = mic_application_parse(json, strlen(json), app,
			    &err);
			mici_wipe(json, strlen(json));
			free(json);
			json = NULL;
		}
		if (rc == MIC_OK)
			return 1;
		if (rc != MIC_ERR_BATCH_LINE && rc != MIC_ERR_NOT_FOUND) {
			(void)mic_journal_release(r->j, id);
			reader_down(r, rc);
			return -1;
		}
		if (reject_data(r, id, rc, &err) != 0)
			return -1;
	}
	return 0;
}

/*
 * One card attempt for @p app on the card in the reader. 0 to go on, -1
 * when the reader is down.
 */
static int
attempt(struct reader *r, const mic_application_t *app)
{
	mic_perso_line_t *line = r->line;
	const char *id = mic_application_id(app);
	char reason[MIC_REASON_MAX];
	mic_perso_result_t *res = NULL;
	mic_perso_event ev;
	int64_t att = 0;
	unsigned tries = 0;
	mic_app_state state;
	double t0;
	mic_rc rc, prc;

	memset(&ev, 0, sizeof(ev));
	ev.reader = r->name;
	ev.app_id = id;
	ev.chip_serial = r->chip_hex;
	rc = mic_journal_attempt_begin(r->j, id, r->chip, r->name, &att);
	if (rc == MIC_ERR_LIVE_CARD) {
		/* Journal rejected it; the card is untouched and stays. */
		ev.kind = MIC_PERSO_EV_REJECTED;
		ev.chip_serial = NULL;
		ev.rc = rc;
		ev.reason = "the holder already has a live card";
		emit(line, &ev);
		return 0;
	}
	if (rc != MIC_OK) {
		(void)mic_journal_release(r->j, id);
		reader_down(r, rc);
		return -1;
	}
	atomic_store(&r->att, att);
	t0 = now_s();
	if (line->serial_base + (uint64_t)att > MIC_PERSO_SERIAL_MAX)
		prc = MIC_ERR_INVALID_ARGUMENT;
	else
		prc = mic_perso_card(line->cfg, r->tx, app,
		    line->serial_base + (uint64_t)att, &res);
	if (prc == MIC_OK && memcmp(mic_perso_result_chip_serial(res),
	    r->chip, sizeof(r->chip)) != 0)
		prc = MIC_ERR_MISMATCH;  /* another card than the one read */
	/* A card mute for so long that the run ended this attempt itself
	 * and went on without the reader: nothing more to record. */
	if (atomic_load(&r->abandoned)) {
		mic_perso_result_free(&res);
		return -1;
	}
	ev.seconds = now_s() - t0;
	if (prc == MIC_OK) {
		uint8_t *pin_cms = NULL;
		size_t pin_len = 0;

		/* The PIN, sealed to the PIN mailer, goes into the
		 * journal in the transaction that records the card issued:
		 * no card counts as issued without its PIN on disk. */
		rc = mici_perso_cfg_seal_pin(line->cfg,
		    mic_perso_result_card_id(res),
		    mic_perso_result_transport_pin(res), &pin_cms, &pin_len);
		if (rc == MIC_OK)
			rc = mic_journal_attempt_issued_pin(r->j, att,
			    mic_perso_result_card_id(res),
			    mic_perso_result_card_number(res), pin_cms,
			    pin_len);
		free(pin_cms);
		if (rc == MIC_OK && mici_fault("line-after-issued"))
			mici_fault_kill();
		if (rc == MIC_OK) {
			(void)mic_journal_state(r->j, id, &state, &tries);
			ev.kind = MIC_PERSO_EV_ISSUED;
			ev.card_id = mic_perso_result_card_id(res);
			ev.card_number = mic_perso_result_card_number(res);
			ev.transport_pin = mic_perso_result_transport_pin(res);
			ev.apdus = mic_perso_result_apdus(res);
			ev.bytes = mic_perso_result_bytes(res);
			ev.attempt_no = tries;
			emit(line, &ev);
			mic_perso_result_free(&res);
			return let_go(r, NULL) == 0 || !r->down ? 0 : -1;
		}
		mic_perso_result_free(&res);
		if (rc != MIC_ERR_LIVE_CARD && rc != MIC_ERR_DUPLICATE) {
			/* Left running: the next run's recovery ends it as
			 * interrupted and lists the card to void. */
			reader_down(r, rc);
			return -1;
		}
		/* The schema refused a second issued card: for the holder
		 * (two readers raced; the application is rejected), or for
		 * the chip or card id (the application is queued again).
		 * The journal failed this attempt: void the card. */
		ev.kind = MIC_PERSO_EV_FAILED;
		ev.rc = rc;
		ev.rejected = rc == MIC_ERR_LIVE_CARD;
		ev.reason = rc == MIC_ERR_LIVE_CARD ? "the holder was issued a "
		    "card by another reader meanwhile: void this card" :
		    "the chip or the card id already has an issued card: "
		    "void this card";
		emit(line, &ev);
		return let_go(r, ev.reason) == 0 || !r->down ? 0 : -1;
	}
	snprintf(reason, sizeof(reason), "%s", mic_strerror(prc));
	/*
	 * The failure and, after the last attempt, the rejection in one
	 * transaction. Between the two, the application would be queued again
	 * for a moment: another reader could claim it, and then either see
	 * it rejected under its feet or make the rejection fail with its
	 * own attempt running; either reader would go down.
	 */
	if ((rc = mic_journal_bulk_begin(r->j)) != MIC_OK) {
		reader_down(r, rc);
		return -1;
	}
	if ((rc = mic_journal_attempt_end(r->j, att, MIC_OUTCOME_FAILED,
	    reason)) == MIC_OK && (rc = mic_journal_state(r->j, id, &state,
	    &tries)) == MIC_OK && tries >= line->max_attempts) {
		char why[MIC_REASON_MAX];

		snprintf(why, sizeof(why), "%u card attempts failed, the last: "
		    "%.180s", tries, reason);
		rc = mic_journal_reject(r->j, id, why);
		ev.rejected = 1;
	}
	if (rc == MIC_OK)
		rc = mic_journal_bulk_end(r->j, 1);
	if (rc != MIC_OK) {
		(void)mic_journal_bulk_end(r->j, 0);
		reader_down(r, rc);
		return -1;
	}
	ev.kind = MIC_PERSO_EV_FAILED;
	ev.rc = prc;
	ev.reason = reason;
	ev.attempt_no = tries;
	emit(line, &ev);
	return let_go(r, "a failed card: set it aside") == 0 || !r->down ?
	    0 : -1;
}

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	mic_application_t *app = NULL;
	mic_rc rc;
	int got;

	if ((rc = mic_journal_open(&r->j, r->line->journal_path)) != MIC_OK) {
		reader_down(r, rc);
		atomic_fetch_sub(&r->line->busy, 1);
		return NULL;
	}
	/* The card first, then the application: an empty reader holds no
	 * application that another reader could take. */
	while (!stopping(r)) {
		if (take_card(r) != 0)
			break;
		if ((got = claim(r, &app)) <= 0)
			break;
		rc = attempt(r, app) == 0 ? MIC_OK : MIC_ERR_IO;
		atomic_store(&r->att, 0);
		mic_application_free(&app);
		if (rc != MIC_OK)
			break;
	}
	mic_application_free(&app);
	/* A blank card read but not used stays for the next run: not
	 * released (powered down), only disconnected. */
	if (r->tx != NULL && !atomic_load(&r->abandoned) && !r->down) {
		mic_perso_event ev = { .kind = MIC_PERSO_EV_UNTOUCHED,
			.reader = r->name, .chip_serial = r->chip_hex };

		emit(r->line, &ev);
	}
	mic_tx_free(&r->tx);
	mic_journal_free(&r->j);
	mici_pcsc_reader_free(&r->pr);
	atomic_fetch_sub(&r->line->busy, 1);
	atomic_store(&r->finished, 1);
	return NULL;
}

/*
 * Leave a reader stuck on a mute card behind: its attempt ends as
 * interrupted, as recovery would end it after a crash, and the thread is
 * detached; it never reports again. The line is then not freed (the
 * thread still uses it).
 */
static void
abandon(struct mic_perso_line *line, struct reader *r)
{
	int_least64_t att = atomic_load(&r->att);
	mic_perso_event ev = { .kind = MIC_PERSO_EV_READER_DOWN,
		.reader = r->name, .rc = MIC_ERR_TIMEOUT,
		.chip_serial = r->chip_hex, .reason = "the card does not "
		"answer (mute); its attempt ended as interrupted: take it out "
		"and void it" };
	mic_rc rc;

	atomic_store(&r->abandoned, 1);
	pthread_detach(r->thread);
	r->joined = 1;
	r->down = 1;
	if (att > 0) {
		pthread_mutex_lock(&line->j_lock);
		rc = mic_journal_attempt_end(line->j, att, MIC_OUTCOME_FAILED,
		    "interrupted");
		pthread_mutex_unlock(&line->j_lock);
		if (rc != MIC_OK)
			mici_debug("%s: ending attempt %lld: %s", __func__,
			    (long long)att, mic_strerror(rc));
	}
	line->abandoned++;
	emit(line, &ev);
}

/*
 * Join the reader threads. After a stop, those that wait on a mute card
 * (a transmit of MUTE_MS or more) are left behind: SCardTransmit has no
 * timeout, and vpcd none either.
 */
static void
join_readers(struct mic_perso_line *line)
{
	struct timespec pause = { 0, JOIN_POLL_NS };
	size_t i, alive, stuck;
	long long since;

	for (;;) {
		alive = stuck = 0;
		for (i = 0; i < line->nreaders; i++) {
			struct reader *r = &line->readers[i];

			if (!r->started || r->joined)
				continue;
			if (atomic_load(&r->finished)) {
				pthread_join(r->thread, NULL);
				r->joined = 1;
				continue;
			}
			alive++;
			since = atomic_load(&r->busy_since);
			if (since != 0 && mici_mono_ms() - since >= MUTE_MS)
				stuck++;
		}
		if (alive == 0)
			return;
		if (stuck == alive && atomic_load(&line->stop))
			break;
		nanosleep(&pause, NULL);
	}
	for (i = 0; i < line->nreaders; i++) {
		struct reader *r = &line->readers[i];

		if (r->started && !r->joined)
			abandon(line, r);
	}
}

mic_rc
mic_perso_line_run(mic_perso_line_t *line)
{
	mic_journal_stats st;
	size_t i, down = 0, no_service = 0;
	int expected = 0, stopped;
	mic_rc rc = MIC_OK;

	if (line == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if (line->nreaders == 0)
		return MIC_ERR_NO_READER;
	if (!atomic_compare_exchange_strong(&line->running, &expected, 1))
		return MIC_ERR_STATE;
	/* A reader left stuck by an earlier run still holds its thread. */
	if (line->abandoned > 0) {
		atomic_store(&line->running, 0);
		return MIC_ERR_STATE;
	}
	/* All of them before the first thread: a failed pthread_create
	 * must not leave a later reader marked started by an earlier run. */
	for (i = 0; i < line->nreaders; i++) {
		line->readers[i].line = line;
		line->readers[i].down = 0;
		line->readers[i].down_rc = MIC_OK;
		line->readers[i].started = 0;
		line->readers[i].joined = 0;
		atomic_store(&line->readers[i].finished, 0);
		atomic_store(&line->readers[i].busy_since, 0);
		atomic_store(&line->readers[i].att, 0);
	}
	atomic_store(&line->busy, (int)line->nreaders);
	for (i = 0; i < line->nreaders; i++) {
		struct reader *r = &line->readers[i];

		if (pthread_create(&r->thread, NULL, reader_main, r) != 0) {
			atomic_fetch_sub(&line->busy, (int)(line->nreaders - i));
			mici_debug("%s: pthread_create", __func__);
			mic_perso_line_stop(line);
			rc = MIC_ERR_INTERNAL;
			break;
		}
		r->started = 1;
	}
	join_readers(line);
	for (i = 0; i < line->nreaders; i++) {
		down += line->readers[i].down != 0;
		no_service += line->readers[i].down &&
		    line->readers[i].down_rc == MIC_ERR_NO_SERVICE;
	}
	/* A stop ends this run, not the line: the next run goes on with
	 * what is left. (A stop asked before the run still ends that run.) */
	stopped = atomic_exchange(&line->stop, 0);
	atomic_store(&line->running, 0);
	if (rc != MIC_OK)
		return rc;
	if (line->abandoned > 0)
		return MIC_ERR_TIMEOUT;
	/* pcscd stopped: say so, not that the readers are gone. */
	if (down == line->nreaders && no_service > 0)
		return MIC_ERR_NO_SERVICE;
	if (down == line->nreaders && !stopped &&
	    mic_perso_line_stats(line, &st) == MIC_OK &&
	    st.queued + st.failed_retryable + st.in_progress > 0)
		return MIC_ERR_NO_READER;
	return MIC_OK;
}
