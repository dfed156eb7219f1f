/*
 * Memory of an issuance line across a large batch: it must not grow with
 * the number of cards issued.
 *
 * The whole line runs as in production (mic_perso_line_*: the batch
 * streamed into the journal, reader threads claiming, personalizing,
 * verifying and journaling each card), only the readers are in-process:
 * connecting makes a new blank card as the chip factory does, releasing
 * frees it, as a card leaves a real reader. At each issued card the live
 * heap (mallinfo2: bytes in use) is read; after every EVERY cards the
 * highest of those since the last sample, the resident set and the peak
 * resident set (/proc/self/status VmRSS, VmHWM) are recorded. The peak of
 * each window, not the heap at one instant: with several readers, the
 * instant falls anywhere in another reader's card.
 *
 * usage: bench_line_mem [CARDS [READERS [EVERY]]]
 * Prints key=value lines for scripts/bench.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include <mic/batch.h>
#include <mic/perso.h>
#include <mic/tx.h>

#include "benchutil.h"

#define SAMPLES_MAX 1000

struct sample {
	unsigned long cards;
	double heap_kb, sqlite_kb, rest_kb, rss_kb, hwm_kb, secs;
};

struct reader {
	vcf_factory *fac;
	unsigned id;
	unsigned long made;
	vc_card *card;          /* the card in the reader, if any */
};

struct run {
	unsigned long every, issued, failed, down;
	/* Bytes, highest since the last sample: the whole heap, and the
	 * heap less SQLite's own allocations. */
	size_t heap_peak, rest_peak;
	double t0;
	size_t n;
	struct sample s[SAMPLES_MAX + 1];
};

static void
heap_note(struct run *r)
{
	struct mallinfo2 mi = mallinfo2();
	sqlite3_int64 sq = sqlite3_memory_used();
	size_t rest = sq > 0 && (size_t)sq < mi.uordblks ?
	    mi.uordblks - (size_t)sq : mi.uordblks;

	if (mi.uordblks > r->heap_peak)
		r->heap_peak = mi.uordblks;
	if (rest > r->rest_peak)
		r->rest_peak = rest;
}

static void
sample(struct run *r, unsigned long cards)
{
	struct sample *s;

	if (r->n > SAMPLES_MAX)
		return;
	heap_note(r);
	s = &r->s[r->n++];
	s->cards = cards;
	s->heap_kb = (double)r->heap_peak / 1024;
	s->rest_kb = (double)r->rest_peak / 1024;
	r->heap_peak = r->rest_peak = 0;
	/* SQLite's share, its own high-water mark since the last sample:
	 * mostly the page caches of the journal's connections. */
	s->sqlite_kb = (double)sqlite3_memory_highwater(1) / 1024;
	s->rss_kb = (double)bu_status_kb("VmRSS");
	s->hwm_kb = (double)bu_status_kb("VmHWM");
	s->secs = bu_now() - r->t0;
}

static mic_rc
r_connect(void *arg, unsigned timeout_ms, mic_tx_t **tx)
{
	struct reader *rd = arg;
	char name[48];
	mic_rc rc;

	(void)timeout_ms;
	snprintf(name, sizeof(name), "LINE-%u-%lu", rd->id, rd->made++);
	if (bu_factory_card(rd->fac, name, &rd->card, NULL) != 0)
		return MIC_ERR_IO;
	if ((rc = mic_tx_new_inproc(tx, vc_card_transmit, rd->card)) !=
	    MIC_OK)
		vc_card_free(&rd->card);
	return rc;
}

static void
r_release(void *arg, mic_tx_t **tx)
{
	struct reader *rd = arg;

	mic_tx_free(tx);
	vc_card_free(&rd->card);
}

/* The card is out as soon as it is released. */
static mic_rc
r_wait_removal(void *arg, unsigned timeout_ms)
{
	(void)arg;
	(void)timeout_ms;
	return MIC_OK;
}

static const mic_perso_reader_ops ops = {
	.connect = r_connect,
	.release = r_release,
	.wait_removal = r_wait_removal,
};

/* Events come one at a time (perso.h), so no lock is needed here. */
static void
on_event(const mic_perso_event *ev, void *arg)
{
	struct run *r = arg;

	switch (ev->kind) {
	case MIC_PERSO_EV_ISSUED:
		heap_note(r);
		if (++r->issued % r->every == 0)
			sample(r, r->issued);
		break;
	case MIC_PERSO_EV_FAILED:
		if (r->failed++ < 5)
			fprintf(stderr, "bench_line_mem: %s failed: %s\n",
			    ev->app_id, ev->reason);
		break;
	case MIC_PERSO_EV_READER_DOWN:
		r->down++;
		fprintf(stderr, "bench_line_mem: %s down: %s\n", ev->reader,
		    mic_strerror(ev->rc));
		break;
	default:
		fprintf(stderr, "bench_line_mem: event %d: %s\n",
		    (int)ev->kind, ev->reason ? ev->reason : "");
		break;
	}
}

/* One integer PRAGMA of a new read-only connection; -1 if unknown. */
static long long
pragma(const char *journal, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long v = -1;

	if (sqlite3_open_v2(journal, &db, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK && sqlite3_prepare_v2(db, sql, -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* The page-cache limit of a connection in KiB, as the journal's get it
 * (libmic leaves SQLite's default): negative is KiB, positive pages. */
static long long
cache_kib(const char *journal)
{
	long long c = pragma(journal, "PRAGMA cache_size");

	return c < 0 ? -c : c * pragma(journal, "PRAGMA page_size") / 1024;
}

static void
on_bad_line(const mic_batch_error *err, void *arg)
{
	(void)arg;
	fprintf(stderr, "bench_line_mem: %s\n", err->message);
}

int
main(int argc, char **argv)
{
	unsigned long cards = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
	unsigned nr = argc > 2 ? (unsigned)atoi(argv[2]) : 2;
	unsigned long every = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000;
	struct reader rd[MIC_PERSO_READERS_MAX];
	struct run *r = calloc(1, sizeof(*r));
	mic_perso_cfg_t *cfg = NULL;
	mic_perso_line_t *line = NULL;
	mic_perso_load_stats st;
	mic_batch_t *b = NULL;
	vcf_factory *fac = NULL;
	char *dir = NULL, *batch = NULL, *journal = NULL, name[32];
	struct sample *first, *last;
	mic_rc rc;
	int ret = 1;

	if (r == NULL || cards < 1 || cards > 10000000 || nr < 1 ||
	    nr > MIC_PERSO_READERS_MAX || every < 1 ||
	    cards / every > SAMPLES_MAX) {
		fprintf(stderr, "usage: bench_line_mem [CARDS [READERS "
		    "[EVERY]]]\n");
		return 2;
	}
	memset(rd, 0, sizeof(rd));
	r->every = every;
	if ((dir = bu_tmpdir("bench-line-mem")) == NULL || bu_pki(dir) != 0 ||
	    bu_factory_new(&fac, dir) != 0)
		goto out;
	batch = bu_path(dir, "batch.jsonl");
	journal = bu_path(dir, "journal.db");
	if (bu_batch_file(batch, (unsigned)cards) != 0)
		goto out;
	if ((rc = mic_perso_cfg_load(&cfg, dir, "bureau")) != MIC_OK ||
	    (rc = mic_perso_cfg_set_bureau_code(cfg, "001")) != MIC_OK ||
	    (rc = mic_perso_line_new(&line, cfg, journal)) != MIC_OK ||
	    (rc = mic_batch_open(&b, batch)) != MIC_OK ||
	    (rc = mic_perso_line_enqueue(line, b, on_bad_line, NULL, &st)) !=
	    MIC_OK) {
		fprintf(stderr, "bench_line_mem: setting up the line: %s\n",
		    mic_strerror(rc));
		goto out;
	}
	mic_batch_free(&b);
	if (st.queued != cards) {
		fprintf(stderr, "bench_line_mem: %zu of %lu queued\n",
		    st.queued, cards);
		goto out;
	}
	for (unsigned i = 0; i < nr; i++) {
		rd[i].fac = fac;
		rd[i].id = i;
		snprintf(name, sizeof(name), "inproc-%u", i);
		if (mic_perso_line_add_reader_ops(line, name, &ops, &rd[i]) !=
		    MIC_OK)
			goto out;
	}
	mic_perso_line_set_event_cb(line, on_event, r);
	r->t0 = bu_now();
	sample(r, 0);
	rc = mic_perso_line_run(line);
	if (rc != MIC_OK || r->issued != cards || r->failed || r->down) {
		fprintf(stderr, "bench_line_mem: run: %s, %lu issued, %lu "
		    "failed\n", mic_strerror(rc), r->issued, r->failed);
		goto out;
	}
	/* The first sample after cards is the reference: by then every
	 * per-process cache (OpenSSL's, SQLite's, each thread's arena) has
	 * been set up, so later growth is growth with the cards. */
	first = &r->s[1];
	last = &r->s[r->n - 1];
	printf("cards=%lu readers=%u every=%lu\n", cards, nr, every);
	printf("seconds=%.1f\n", last->secs);
	printf("cards_per_s=%.1f\n", (double)cards / last->secs);
	for (size_t i = 0; i < r->n; i++)
		printf("sample=%lu %.0f %.0f %.0f %.0f %.0f %.1f\n",
		    r->s[i].cards, r->s[i].heap_kb, r->s[i].sqlite_kb,
		    r->s[i].rest_kb, r->s[i].rss_kb, r->s[i].hwm_kb,
		    r->s[i].secs);
	printf("ratio_heap=%.3f\nratio_rss=%.3f\nratio_hwm=%.3f\n",
	    last->heap_kb / first->heap_kb, last->rss_kb / first->rss_kb,
	    last->hwm_kb / first->hwm_kb);
	/* The second half of the batch alone: whether growth has stopped. */
	for (size_t i = 1; i < r->n; i++)
		if (r->s[i].cards * 2 >= cards) {
			printf("half_cards=%lu\nratio_heap_half=%.3f\n"
			    "ratio_rss_half=%.3f\n", r->s[i].cards,
			    last->heap_kb / r->s[i].heap_kb,
			    last->rss_kb / r->s[i].rss_kb);
			break;
		}
	/* Each reader has its own journal connection, the line one more. */
	printf("sqlite_connections=%u\nsqlite_cache_kib=%lld\n", nr + 1,
	    cache_kib(journal));
	printf("ratio_sqlite=%.3f\nratio_heap_without_sqlite=%.3f\n",
	    last->sqlite_kb / first->sqlite_kb, last->rest_kb / first->rest_kb);
	ret = 0;
out:
	mic_batch_free(&b);
	mic_perso_line_free(&line);
	/* A card taken but not used stays in its reader at the end. */
	for (unsigned i = 0; i < nr; i++)
		vc_card_free(&rd[i].card);
	mic_perso_cfg_free(&cfg);
	vcf_free(&fac);
	if (dir != NULL)
		bu_rmrf(dir);
	free(dir);
	free(batch);
	free(journal);
	free(r);
	return ret;
}
