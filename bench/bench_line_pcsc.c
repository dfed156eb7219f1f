/*
 * Cards per hour of an issuance line through the real PC/SC stack: pcscd,
 * the vpcd driver and one 'mic-vcard hopper' per reader, which takes each
 * personalized card out and inserts the next blank one, as an issuance
 * machine does (scripts/reader-stack start --hopper OUT --pki DIR).
 *
 * The line is libmic's own (mic_perso_line_*) over the first READERS
 * readers pcscd lists, with a fresh journal and a synthetic batch of CARDS
 * applications. The time is the whole run, from mic_perso_line_run() to
 * its return: start-up, every card swap, and the end of the queue.
 *
 * usage: bench_line_pcsc PKI_DIR READERS CARDS
 * PCSCLITE_CSOCK_NAME must point at the stack. Prints key=value lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mic/batch.h>
#include <mic/pcsc.h>
#include <mic/perso.h>

#include "benchutil.h"

struct run {
	unsigned long issued, failed, other;
	unsigned long long apdus, bytes;
	double perso_s;         /* time in mic_perso_card, all cards */
};

/* Events come one at a time (perso.h). */
static void
on_event(const mic_perso_event *ev, void *arg)
{
	struct run *r = arg;

	switch (ev->kind) {
	case MIC_PERSO_EV_ISSUED:
		r->issued++;
		r->apdus += ev->apdus;
		r->bytes += ev->bytes;
		r->perso_s += ev->seconds;
		break;
	case MIC_PERSO_EV_FAILED:
		r->failed++;
		fprintf(stderr, "bench_line_pcsc: %s on %s failed: %s\n",
		    ev->app_id, ev->reader, ev->reason);
		break;
	default:
		r->other++;
		fprintf(stderr, "bench_line_pcsc: %s: event %d: %s (%s)\n",
		    ev->reader, (int)ev->kind, ev->reason ? ev->reason : "",
		    mic_strerror(ev->rc));
		break;
	}
}

static void
on_bad_line(const mic_batch_error *err, void *arg)
{
	(void)arg;
	fprintf(stderr, "bench_line_pcsc: %s\n", err->message);
}

int
main(int argc, char **argv)
{
	mic_reader_info *ri = NULL;
	mic_perso_cfg_t *cfg = NULL;
	mic_perso_line_t *line = NULL;
	mic_perso_load_stats st;
	mic_batch_t *b = NULL;
	struct run r;
	char *dir = NULL, *batch = NULL, *journal = NULL;
	unsigned nr;
	unsigned long cards;
	size_t n = 0;
	double t0, secs;
	mic_rc rc;
	int ret = 1;

	if (argc != 4 || (nr = (unsigned)atoi(argv[2])) < 1 ||
	    nr > MIC_PERSO_READERS_MAX ||
	    (cards = strtoul(argv[3], NULL, 10)) < 1 || cards > 1000000) {
		fprintf(stderr, "usage: bench_line_pcsc PKI_DIR READERS "
		    "CARDS\n");
		return 2;
	}
	memset(&r, 0, sizeof(r));
	if ((dir = bu_tmpdir("bench-line-pcsc")) == NULL)
		goto out;
	batch = bu_path(dir, "batch.jsonl");
	journal = bu_path(dir, "journal.db");
	if (bu_batch_file(batch, (unsigned)cards) != 0)
		goto out;
	if ((rc = mic_reader_list(&ri, &n)) != MIC_OK || n < nr) {
		fprintf(stderr, "bench_line_pcsc: %zu readers, %u wanted%s%s\n",
		    n, nr, rc != MIC_OK ? ": " : "",
		    rc != MIC_OK ? mic_strerror(rc) : "");
		goto out;
	}
	if ((rc = mic_perso_cfg_load(&cfg, argv[1], "bureau")) != MIC_OK ||
	    (rc = mic_perso_cfg_set_bureau_code(cfg, "001")) != MIC_OK ||
	    (rc = mic_perso_line_new(&line, cfg, journal)) != MIC_OK ||
	    (rc = mic_batch_open(&b, batch)) != MIC_OK ||
	    (rc = mic_perso_line_enqueue(line, b, on_bad_line, NULL, &st)) !=
	    MIC_OK) {
		fprintf(stderr, "bench_line_pcsc: setting up the line: %s\n",
		    mic_strerror(rc));
		goto out;
	}
	if (st.queued != cards) {
		fprintf(stderr, "bench_line_pcsc: %zu of %lu queued\n",
		    st.queued, cards);
		goto out;
	}
	for (unsigned i = 0; i < nr; i++)
		if ((rc = mic_perso_line_add_reader(line, ri[i].name)) !=
		    MIC_OK) {
			fprintf(stderr, "bench_line_pcsc: %s: %s\n", ri[i].name,
			    mic_strerror(rc));
			goto out;
		}
	mic_perso_line_set_event_cb(line, on_event, &r);
	t0 = bu_now();
	rc = mic_perso_line_run(line);
	secs = bu_now() - t0;
	if (rc != MIC_OK || r.issued != cards || r.failed != 0) {
		fprintf(stderr, "bench_line_pcsc: run: %s, %lu of %lu issued, "
		    "%lu failed\n", mic_strerror(rc), r.issued, cards,
		    r.failed);
		goto out;
	}
	printf("readers=%u cards=%lu\n", nr, cards);
	printf("seconds=%.2f\n", secs);
	printf("cards_per_hour=%.0f\n", (double)cards / secs * 3600);
	/* Per card and reader: the time in mic_perso_card, and the rest of
	 * the reader's cycle (journal, card swap, waiting). */
	printf("perso_s_per_card=%.3f\n", r.perso_s / (double)cards);
	printf("cycle_s_per_card=%.3f\n", secs * nr / (double)cards);
	printf("apdus_per_card=%.1f\nbytes_per_card=%.0f\n",
	    (double)r.apdus / (double)cards, (double)r.bytes / (double)cards);
	ret = 0;
out:
	mic_batch_free(&b);
	mic_perso_line_free(&line);
	mic_perso_cfg_free(&cfg);
	mic_reader_list_free(&ri);
	if (dir != NULL)
		bu_rmrf(dir);
	free(dir);
	free(batch);
	free(journal);
	return ret;
}
