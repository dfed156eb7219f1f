/*
 * An issuance line in a card bureau: personalize the applications of a
 * batch on every PC/SC reader at once, with a journal that makes a crash
 * harmless. This is `mic perso` without the options and the progress bar.
 *
 *   cc issuance_line.c $(pkg-config --cflags --libs libmic) -o issuance_line
 *   ./issuance_line PKI_DIR BATCH.jsonl JOURNAL.db
 *
 * PKI_DIR is the bureau's PKI ('mic pki init' makes a test one). Run it
 * again after a crash or Ctrl-C: it resumes, and issues nobody twice.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <mic/mic.h>

static mic_perso_line_t *volatile running_line;

static void
on_sigint(int sig)
{
	(void)sig;
	/* Async-signal-safe: the readers finish the cards they hold. */
	if (running_line != NULL)
		mic_perso_line_stop(running_line);
}

/* Called from the reader threads, one call at a time. */
static void
on_event(const mic_perso_event *ev, void *arg)
{
	FILE *mailer = arg;

	switch (ev->kind) {
	case MIC_PERSO_EV_ISSUED:
		printf("%-20s issued %s to %s\n", ev->reader, ev->card_number,
		    ev->app_id);
		/* Hand the transport PIN to the PIN mailer at once: it is
		 * wiped when this callback returns. */
		fprintf(mailer, "%s %s %s\n", ev->app_id, ev->card_number,
		    ev->transport_pin);
		fflush(mailer);
		break;
	case MIC_PERSO_EV_FAILED:
		printf("%-20s FAILED %s on chip %s: %s (void the card)\n",
		    ev->reader, ev->app_id, ev->chip_serial, ev->reason);
		break;
	case MIC_PERSO_EV_REJECTED:
		printf("%-20s rejected %s: %s\n", ev->reader, ev->app_id,
		    ev->reason);
		break;
	case MIC_PERSO_EV_SET_ASIDE:
		printf("%-20s take card %s out: %s\n", ev->reader,
		    ev->chip_serial, ev->reason);
		break;
	case MIC_PERSO_EV_READER_DOWN:
		printf("%-20s reader down: %s\n", ev->reader,
		    ev->reason != NULL ? ev->reason : mic_strerror(ev->rc));
		break;
	case MIC_PERSO_EV_UNTOUCHED:
		printf("%-20s blank card %s stays, untouched\n", ev->reader,
		    ev->chip_serial);
		break;
	}
}

/* Bad batch lines are reported, never skipped in silence. */
static void
on_bad_line(const mic_batch_error *err, void *arg)
{
	(void)arg;
	fprintf(stderr, "batch: %s\n", err->message);
}

int
main(int argc, char **argv)
{
	mic_perso_cfg_t *cfg = NULL;
	mic_perso_line_t *line = NULL;
	mic_batch_t *batch = NULL;
	mic_reader_info *readers = NULL;
	mic_perso_load_stats load;
	mic_journal_stats st;
	size_t n = 0, i, interrupted = 0;
	FILE *mailer = NULL;
	char why[512];
	int fd;
	mic_rc rc;
	int ret = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: %s PKI_DIR BATCH.jsonl JOURNAL.db\n",
		    argv[0]);
		return 2;
	}
	/* The bureau's keys and trust store; the terminal named "bureau". */
	if ((rc = mic_perso_cfg_load(&cfg, argv[1], "bureau")) != MIC_OK) {
		fprintf(stderr, "PKI %s: %s\n", argv[1], mic_strerror(rc));
		goto out;
	}
	if ((rc = mic_perso_line_new(&line, cfg, argv[3])) != MIC_OK) {
		fprintf(stderr, "journal %s: %s\n", argv[3], mic_strerror(rc));
		goto out;
	}
	if ((rc = mic_reader_list(&readers, &n)) != MIC_OK) {
		fprintf(stderr, "readers: %s\n", mic_strerror(rc));
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((rc = mic_perso_line_add_reader(line, readers[i].name)) !=
		    MIC_OK) {
			fprintf(stderr, "%s: %s\n", readers[i].name,
			    mic_strerror(rc));
			goto out;
		}
	/* A previous run that crashed left attempts open: end them first. */
	if ((rc = mic_perso_line_recover(line, &interrupted)) != MIC_OK) {
		fprintf(stderr, "recover: %s\n", mic_strerror(rc));
		goto out;
	}
	if ((rc = mic_batch_open(&batch, argv[2])) != MIC_OK ||
	    (rc = mic_perso_line_enqueue(line, batch, on_bad_line, NULL,
	    &load)) != MIC_OK) {
		fprintf(stderr, "batch %s: %s\n", argv[2], mic_strerror(rc));
		goto out;
	}
	printf("batch: %zu valid, %zu bad, %zu queued; %zu interrupted "
	    "attempt(s) recovered\n", load.valid, load.bad, load.queued,
	    interrupted);
	/* A real line hands PINs to a mailer process; a file will do here,
	 * owner-only and never through a symlink. (The journal keeps each
	 * PIN sealed to the PIN mailer anyway: 'mic perso pins export'.) */
	if ((rc = mic_private_file_open("pins.txt", 0, &fd, why,
	    sizeof(why))) != MIC_OK || (mailer = fdopen(fd, "a")) == NULL) {
		fprintf(stderr, "%s\n", rc != MIC_OK ? why : "pins.txt");
		if (rc == MIC_OK)
			close(fd);
		goto out;
	}
	mic_perso_line_set_event_cb(line, on_event, mailer);
	running_line = line;
	signal(SIGINT, on_sigint);
	rc = mic_perso_line_run(line);
	signal(SIGINT, SIG_DFL);
	running_line = NULL;
	if (rc != MIC_OK) {
		fprintf(stderr, "run: %s\n", mic_strerror(rc));
		goto out;
	}
	if ((rc = mic_perso_line_stats(line, &st)) != MIC_OK) {
		fprintf(stderr, "stats: %s\n", mic_strerror(rc));
		goto out;
	}
	printf("journal: %zu issued, %zu rejected, %zu left\n", st.issued,
	    st.rejected, st.queued + st.in_progress + st.failed_retryable);
	ret = st.queued + st.in_progress + st.failed_retryable == 0 ? 0 : 1;
out:
	if (mailer != NULL)
		fclose(mailer);
	mic_batch_free(&batch);
	mic_reader_list_free(&readers);
	mic_perso_line_free(&line);
	mic_perso_cfg_free(&cfg);
	return ret;
}
