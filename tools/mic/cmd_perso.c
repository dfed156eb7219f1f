/*
 * mic perso: the card bureau's issuance line. A thin layer over
 * mic_perso_line_* (include/mic/perso.h): it loads the batch into the
 * journal, runs the readers, shows progress, writes the PIN mailer file and
 * prints the summary. Everything that decides what is issued is in libmic.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <mic/perso.h>
#include <mic/pki.h>

#include "mic-tool.h"

#define EXIT_ATTENTION 3  /* done, but some lines or applications need a person */
#define BAR_WIDTH 30

static void
perso_usage(FILE *f)
{
	fprintf(f,
	    "usage: mic perso --journal FILE.db --pki DIR [--batch FILE]\n"
	    "                 [--readers all|LIST] [--terminal NAME]\n"
	    "                 [--issuer-key URI] [--ds-key URI]\n"
	    "                 [--pin-mailer FILE] [--bureau-code NNN]\n"
	    "                 [--serial-base N] [--max-attempts N]\n"
	    "                 [--issue-date YYYYMMDD] [--years N]\n"
	    "                 [--no-recover] [--json] [-q]\n"
	    "       mic perso --check --batch FILE [--journal FILE.db] [-q]\n"
	    "       mic perso pins export --journal FILE.db --pki DIR\n"
	    "                 [--key URI] --out FILE|-\n"
	    "\n"
	    "Personalize blank cards for the approved applications of a batch\n"
	    "(JSON Lines, docs/issuance.md) on one or several readers at once.\n"
	    "Every application and card attempt is recorded in the journal; a\n"
	    "rerun after a crash, kill or Ctrl-C resumes where it stopped, and\n"
	    "running a batch twice issues nothing twice. A card that fails is\n"
	    "powered down and set aside (take it out and void it); its\n"
	    "application goes back to the queue.\n"
	    "\n"
	    "  --batch FILE        the applications ('-': standard input); may be\n"
	    "                      left out to work off what the journal holds\n"
	    "  --journal FILE.db   the issuance journal (SQLite), created if new\n"
	    "  --pki DIR           the bureau's PKI directory ('mic pki init')\n"
	    "  --readers all|LIST  all readers (default), or a comma-separated\n"
	    "                      list of reader names or indexes ('mic readers')\n"
	    "  --terminal NAME     the bureau terminal in DIR (default bureau)\n"
	    "  --issuer-key URI    the card-certificate issuer's key, a PEM file or\n"
	    "                      a pkcs11: URI, instead of DIR's (the token PIN\n"
	    "                      from the URI's pin-source or MIC_PKCS11_PIN)\n"
	    "  --ds-key URI        likewise for the document signer\n"
	    "  --pin-mailer FILE   also write the transport PINs in clear, one JSON\n"
	    "                      line per card, mode 0600, appended (default:\n"
	    "                      the journal's name with .pins.jsonl; the\n"
	    "                      journal keeps every PIN sealed to DIR's PIN\n"
	    "                      mailer key, see 'pins export')\n"
	    "  --bureau-code NNN   the card bureau's code (default 000)\n"
	    "  --serial-base N     bureau serials are N + the attempt's number\n"
	    "  --max-attempts N    card attempts before an application is\n"
	    "                      rejected (default %d)\n"
	    "  --issue-date D      the cards' issue date (default today)\n"
	    "  --years N           validity in years (default %d)\n"
	    "  --no-recover        do not end the attempts of a crashed run: for\n"
	    "                      a second process on the same journal\n"
	    "  --json              the summary as JSON on standard output\n"
	    "  -q                  no progress, only the summary\n"
	    "  --check             only check the batch: no reader, PKI or card;\n"
	    "                      with --journal, also against the holders and\n"
	    "                      applications already in it (nothing written)\n"
	    "\n"
	    "'pins export' writes every issued card's transport PIN from the\n"
	    "journal, unsealed with the PIN mailer's key (DIR/pin-mailer/key.pem\n"
	    "or --key), to a new file of mode 0600, one JSON line per card.\n"
	    "\n"
	    "Ctrl-C stops after the cards in the readers; a second one stops at\n"
	    "once (the next run ends that card's attempt as interrupted). A\n"
	    "reader whose card has not answered for 5 s is then left behind,\n"
	    "its attempt ended as interrupted (a mute card: void it).\n"
	    "Exit status: 0 every application issued (--check: every line\n"
	    "valid; pins export: every PIN written); 1 stopped before the end,\n"
	    "a reader stopped, or failed (--check: a line is bad); 2 bad usage,\n"
	    "--issue-date and --bureau-code included; 3 done, but some batch\n"
	    "lines or applications were rejected, or issued cards have no PIN\n"
	    "record (listed).\n",
	    MIC_PERSO_ATTEMPTS_DEFAULT, MIC_PERSO_YEARS_DEFAULT);
}

struct opts {
	const char *batch, *journal, *pki, *readers, *terminal;
	const char *issuer_key, *ds_key, *pin_mailer, *bureau_code;
	const char *issue_date;
	unsigned long serial_base, max_attempts, years;
	int have_serial_base, have_max_attempts, have_years;
	int no_recover, json, quiet, check;
};

/* What the run saw, for the progress line and the summary. */
struct run {
	const struct opts *o;
	int pins;                /* the PIN mailer file, or -1 */
	int tty;
	int bar_shown;
	size_t total;            /* applications open at the start */
	size_t issued, failed, rejected, set_aside, readers_down;
	size_t unusable, untouched;  /* cards: not readable; left blank */
	double t0;
	json_t *errors;          /* --json: the batch's bad lines */
	int pin_write_failed;
};

/* The signal handler's only way to the line. */
static mic_perso_line_t *volatile g_line;
static volatile sig_atomic_t g_interrupts;

static void
on_signal(int sig)
{
	g_interrupts++;
	if (g_interrupts > 1) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	if (g_line != NULL)
		mic_perso_line_stop(g_line);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static void
clear_bar(struct run *r)
{
	if (r->tty && r->bar_shown) {
		fputs("\r\033[K", stderr);
		r->bar_shown = 0;
	}
}

static void
show_bar(struct run *r)
{
	size_t done = r->issued + r->rejected;
	double el = now_s() - r->t0, rate = el > 0 ? r->issued / el : 0;
	size_t left = r->total > done ? r->total - done : 0;
	char eta[32] = "--:--";
	int fill = r->total ? (int)(BAR_WIDTH * done / r->total) : 0;
	char bar[BAR_WIDTH + 1];

	if (!r->tty || r->o->quiet)
		return;
	if (fill > BAR_WIDTH)
		fill = BAR_WIDTH;
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, '-', (size_t)(BAR_WIDTH - fill));
	bar[BAR_WIDTH] = '\0';
	if (rate > 0) {
		unsigned long s = (unsigned long)(left / rate + 0.5);

		snprintf(eta, sizeof(eta), "%02lu:%02lu:%02lu", s / 3600,
		    s / 60 % 60, s % 60);
	}
	fprintf(stderr, "\r\033[K[%s] %zu/%zu issued %zu failed %zu rejected "
	    "%.1f cards/min ETA %s", bar, r->issued, r->total, r->failed,
	    r->rejected, rate * 60, eta);
	r->bar_shown = 1;
}

/* One line above the bar (or in the log when not a terminal). */
static void
say(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(struct run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->o->quiet)
		return;
	clear_bar(r);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * The PIN mailer's line; fsync'd, since a lost PIN means a bank visit.
 * The PIN goes from the event into one stack buffer, written with
 * write(2) and wiped: no copy in jansson's heap or in a stdio buffer.
 */
static void
write_pin(struct run *r, const mic_perso_event *ev)
{
	char line[1024];
	json_t *o;
	char *s;
	size_t n;
	int k;

	o = json_pack("{s:s, s:s, s:s, s:s}", "application_id", ev->app_id,
	    "card_number", ev->card_number, "card_id", ev->card_id,
	    "chip_serial", ev->chip_serial);
	s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) :
	    NULL;
	json_decref(o);
	/* The object without the PIN ends in '}': the PIN (digits only,
	 * nothing to escape) goes in before it. */
	k = s != NULL && (n = strlen(s)) > 2 ? snprintf(line, sizeof(line),
	    "%.*s,\"transport_pin\":\"%s\"}\n", (int)(n - 1), s,
	    ev->transport_pin) : -1;
	free(s);
	if (k < 0 || (size_t)k >= sizeof(line) ||
	    write(r->pins, line, (size_t)k) != (ssize_t)k ||
	    fsync(r->pins) != 0)
		r->pin_write_failed = 1;
	explicit_bzero(line, sizeof(line));
}

static void
on_event(const mic_perso_event *ev, void *arg)
{
	struct run *r = arg;

	switch (ev->kind) {
	case MIC_PERSO_EV_ISSUED:
		r->issued++;
		write_pin(r, ev);
		if (!r->tty)
			say(r, "issued %s: card %s, chip %s, reader %s, "
			    "%.2f s", ev->app_id, ev->card_number,
			    ev->chip_serial, ev->reader, ev->seconds);
		break;
	case MIC_PERSO_EV_FAILED:
		r->failed++;
		if (ev->rejected)
			r->rejected++;
		say(r, "FAILED %s on chip %s, reader %s: %s; %s", ev->app_id,
		    ev->chip_serial, ev->reader, ev->reason, ev->rejected ?
		    "application rejected" : "application queued again");
		say(r, "  set the card %s aside and void it", ev->chip_serial);
		break;
	case MIC_PERSO_EV_REJECTED:
		r->rejected++;
		say(r, "rejected %s: %s", ev->app_id, ev->reason);
		break;
	case MIC_PERSO_EV_SET_ASIDE:
		if (!ev->reminder && ev->unusable)
			r->unusable++;
		else if (!ev->reminder)
			r->set_aside++;
		say(r, "reader %s: take card %s out: %s", ev->reader,
		    ev->chip_serial, ev->reason);
		break;
	case MIC_PERSO_EV_READER_DOWN:
		r->readers_down++;
		/* SQLite's reason details a journal error; a mute card's
		 * reason says it all. */
		if (ev->reason != NULL && ev->rc != MIC_ERR_JOURNAL)
			say(r, "reader %s stopped: %s", ev->reader, ev->reason);
		else
			say(r, "reader %s stopped: %s%s%s", ev->reader,
			    mic_strerror(ev->rc), ev->reason != NULL ? ": " : "",
			    ev->reason != NULL ? ev->reason : "");
		break;
	case MIC_PERSO_EV_UNTOUCHED:
		r->untouched++;
		say(r, "reader %s: blank card %s stays in the reader, untouched",
		    ev->reader, ev->chip_serial);
		break;
	}
	show_bar(r);
}

static void
on_bad_line(const mic_batch_error *e, void *arg)
{
	struct run *r = arg;

	if (!r->o->json || !r->o->quiet)
		fprintf(stderr, "mic perso: %s\n", e->message);
	if (r->errors != NULL)
		json_array_append_new(r->errors, json_pack("{s:I, s:s, s:s, "
		    "s:s}", "line", (json_int_t)e->line, "field", e->field,
		    "code", mic_strerror_name(e->rc), "message", e->message));
}

/* The readers of --readers; 0 when all were added. */
static int
add_readers(mic_perso_line_t *line, const char *spec)
{
	mic_reader_info *list = NULL;
	size_t n = 0, i, added = 0;
	char *copy, *tok, *save = NULL, *end;
	unsigned long idx;
	mic_rc rc;

	if ((rc = mic_reader_list(&list, &n)) != MIC_OK)
		return tool_fail("perso", "listing readers", rc);
	if (strcmp(spec, "all") == 0) {
		for (i = 0; i < n; i++)
			if ((rc = mic_perso_line_add_reader(line,
			    list[i].name)) != MIC_OK) {
				mic_reader_list_free(&list);
				return tool_fail("perso", list[i].name, rc);
			}
		mic_reader_list_free(&list);
		return 0;
	}
	if ((copy = strdup(spec)) == NULL) {
		mic_reader_list_free(&list);
		return tool_fail("perso", "--readers", MIC_ERR_NOMEM);
	}
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		const char *name = NULL;

		errno = 0;
		idx = strtoul(tok, &end, 10);
		if (*tok >= '0' && *tok <= '9' && *end == '\0' && errno == 0) {
			if (idx < n)
				name = list[idx].name;
		} else {
			for (i = 0; i < n; i++)
				if (strcmp(list[i].name, tok) == 0)
					name = list[i].name;
		}
		if (name == NULL) {
			fprintf(stderr, "mic perso: no reader '%s' (see 'mic "
			    "readers')\n", tok);
			free(copy);
			mic_reader_list_free(&list);
			return 1;
		}
		if ((rc = mic_perso_line_add_reader(line, name)) != MIC_OK) {
			fprintf(stderr, "mic perso: reader '%s': %s\n", name,
			    rc == MIC_ERR_DUPLICATE ? "given twice" :
			    mic_strerror(rc));
			free(copy);
			mic_reader_list_free(&list);
			return 1;
		}
		added++;
	}
	free(copy);
	mic_reader_list_free(&list);
	if (added == 0) {
		fprintf(stderr, "mic perso: --readers lists no reader\n");
		return 1;
	}
	return 0;
}

struct fail_walk {
	json_t *arr;
	size_t n;
};

static int
on_failure(const mic_journal_failure *f, void *arg)
{
	struct fail_walk *w = arg;

	w->n++;
	if (w->arr != NULL)
		json_array_append_new(w->arr, json_pack("{s:I, s:s, s:s, s:s, "
		    "s:s, s:s, s:s}", "attempt", (json_int_t)f->attempt,
		    "application_id", f->app_id, "chip_serial", f->chip_serial,
		    "reader", f->reader, "started", f->started, "finished",
		    f->finished ? f->finished : "", "reason", f->reason));
	else
		fprintf(stderr, "  attempt %lld: %s on chip %s (%s): %s\n",
		    (long long)f->attempt, f->app_id, f->chip_serial,
		    f->reader, f->reason);
	return 0;
}

/* The clear PIN file: 0600, never through a symlink, never another's. */
static int
open_pin_mailer(const struct opts *o, char *path, size_t cap)
{
	char why[512];
	int fd;
	mic_rc rc;

	if (o->pin_mailer != NULL)
		snprintf(path, cap, "%s", o->pin_mailer);
	else if ((size_t)snprintf(path, cap, "%s.pins.jsonl", o->journal) >=
	    cap) {
		fprintf(stderr, "mic perso: the PIN mailer file's name is too "
		    "long\n");
		return -1;
	}
	if ((rc = mic_private_file_open(path, 0, &fd, why, sizeof(why))) !=
	    MIC_OK) {
		fprintf(stderr, "mic perso: the PIN mailer file: %s\n", why);
		return -1;
	}
	return fd;
}

/*
 * The batch, opened before anything is created: a path that cannot be
 * read is named with the system's reason, and no journal or PIN file is
 * left behind for a typo.
 */
static int
open_batch(const char *path, mic_batch_t **batch, FILE **fpp)
{
	struct stat st;
	FILE *fp;
	mic_rc rc;

	*fpp = NULL;
	if (strcmp(path, "-") == 0) {
		if ((rc = mic_batch_open_fp(batch, stdin)) != MIC_OK)
			return tool_fail("perso", "standard input", rc);
		return 0;
	}
	if ((fp = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "mic perso: cannot read the batch %s: %s\n",
		    path, strerror(errno));
		return 1;
	}
	if (fstat(fileno(fp), &st) != 0 || S_ISDIR(st.st_mode)) {
		fprintf(stderr, "mic perso: cannot read the batch %s: %s\n",
		    path, strerror(S_ISDIR(st.st_mode) ? EISDIR : errno));
		fclose(fp);
		return 1;
	}
	if ((rc = mic_batch_open_fp(batch, fp)) != MIC_OK) {
		fclose(fp);
		return tool_fail("perso", path, rc);
	}
	/* mic_batch_free() leaves a caller's FILE alone: closed by us. */
	*fpp = fp;
	return 0;
}

/* A real calendar date, YYYYMMDD. */
static int
date_ok(const char *s)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
		30, 31 };
	int y, m, d, i;

	for (i = 0; i < 8; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	if (s[8] != '\0')
		return 0;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	    (s[3] - '0');
	m = (s[4] - '0') * 10 + (s[5] - '0');
	d = (s[6] - '0') * 10 + (s[7] - '0');
	if (y < 1900 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return 0;
	return m != 2 || d < 29 || (y % 4 == 0 && (y % 100 != 0 ||
	    y % 400 == 0));
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "batch", required_argument, NULL, 'b' },
		{ "journal", required_argument, NULL, 'j' },
		{ "pki", required_argument, NULL, 'k' },
		{ "readers", required_argument, NULL, 'r' },
		{ "terminal", required_argument, NULL, 't' },
		{ "issuer-key", required_argument, NULL, 'I' },
		{ "ds-key", required_argument, NULL, 'D' },
		{ "pin-mailer", required_argument, NULL, 'P' },
		{ "bureau-code", required_argument, NULL, 'B' },
		{ "serial-base", required_argument, NULL, 'S' },
		{ "max-attempts", required_argument, NULL, 'M' },
		{ "issue-date", required_argument, NULL, 'd' },
		{ "years", required_argument, NULL, 'y' },
		{ "no-recover", no_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'J' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "check", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->readers = "all";
	o->terminal = "bureau";
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'b': o->batch = optarg; break;
		case 'j': o->journal = optarg; break;
		case 'k': o->pki = optarg; break;
		case 'r': o->readers = optarg; break;
		case 't': o->terminal = optarg; break;
		case 'I': o->issuer_key = optarg; break;
		case 'D': o->ds_key = optarg; break;
		case 'P': o->pin_mailer = optarg; break;
		case 'B':
			if (strlen(optarg) != 3 || strspn(optarg,
			    "0123456789") != 3) {
				fprintf(stderr, "mic perso: bad --bureau-code "
				    "'%s' (three digits)\n", optarg);
				return EXIT_USAGE;
			}
			o->bureau_code = optarg;
			break;
		case 'd':
			if (!date_ok(optarg)) {
				fprintf(stderr, "mic perso: bad --issue-date "
				    "'%s' (a real date, YYYYMMDD)\n", optarg);
				return EXIT_USAGE;
			}
			o->issue_date = optarg;
			break;
		case 'C': o->check = 1; break;
		case 'S':
			if (parse_ulong(optarg, MIC_PERSO_SERIAL_MAX,
			    &o->serial_base) != 0) {
				fprintf(stderr, "mic perso: bad --serial-base "
				    "'%s'\n", optarg);
				return EXIT_USAGE;
			}
			o->have_serial_base = 1;
			break;
		case 'M':
			if (parse_ulong(optarg, 100, &o->max_attempts) != 0 ||
			    o->max_attempts == 0) {
				fprintf(stderr, "mic perso: bad --max-attempts "
				    "'%s' (1-100)\n", optarg);
				return EXIT_USAGE;
			}
			o->have_max_attempts = 1;
			break;
		case 'y':
			if (parse_ulong(optarg, 30, &o->years) != 0 ||
			    o->years == 0) {
				fprintf(stderr, "mic perso: bad --years '%s' "
				    "(1-30)\n", optarg);
				return EXIT_USAGE;
			}
			o->have_years = 1;
			break;
		case 'R': o->no_recover = 1; break;
		case 'J': o->json = 1; break;
		case 'q': o->quiet = 1; break;
		case 'h':
			perso_usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "mic perso: %s needs a value\n",
			    argv[optind - 1]);
			perso_usage(stderr);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "mic perso: unknown option '%s'\n",
			    argv[optind - 1]);
			perso_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mic perso: unexpected argument '%s'\n",
		    argv[optind]);
		perso_usage(stderr);
		return EXIT_USAGE;
	}
	if (o->check ? o->batch == NULL : o->journal == NULL ||
	    o->pki == NULL) {
		fprintf(stderr, "mic perso: %s\n", o->check ? "--check needs "
		    "--batch" : "--journal and --pki are required");
		perso_usage(stderr);
		return EXIT_USAGE;
	}
	return -1;
}

/* A plain path is a PEM file: the key URI wants "file:" before it. */
static const char *
key_uri(const char *arg, char *buf, size_t cap)
{
	if (strncmp(arg, "pkcs11:", 7) == 0 || strncmp(arg, "file:", 5) == 0)
		return arg;
	if ((size_t)snprintf(buf, cap, "file:%s", arg) >= cap)
		return arg;
	return buf;
}

static mic_rc
setup_cfg(const struct opts *o, mic_perso_cfg_t **cfg)
{
	char uri[4096], why[1024];
	mic_rc rc;

	if ((rc = mic_perso_cfg_load_ex(cfg, o->pki, o->terminal, why,
	    sizeof(why))) != MIC_OK) {
		fprintf(stderr, "mic perso: the bureau's PKI %s (terminal %s): "
		    "%s\n", o->pki, o->terminal, why);
		return rc;
	}
	if (o->issuer_key != NULL && (rc = mic_perso_cfg_set_key(*cfg,
	    MIC_CERT_CARD_ISSUER, key_uri(o->issuer_key, uri,
	    sizeof(uri)))) != MIC_OK) {
		if (rc == MIC_ERR_MISMATCH)
			fprintf(stderr, "mic perso: --issuer-key: not the key "
			    "of the card issuer's certificate in %s\n", o->pki);
		else
			tool_fail("perso", "--issuer-key", rc);
		return rc;
	}
	if (o->ds_key != NULL && (rc = mic_perso_cfg_set_key(*cfg,
	    MIC_CERT_DOCUMENT_SIGNER, key_uri(o->ds_key, uri,
	    sizeof(uri)))) != MIC_OK) {
		if (rc == MIC_ERR_MISMATCH)
			fprintf(stderr, "mic perso: --ds-key: not the key of "
			    "the document signer's certificate in %s\n",
			    o->pki);
		else
			tool_fail("perso", "--ds-key", rc);
		return rc;
	}
	if (o->bureau_code != NULL && (rc = mic_perso_cfg_set_bureau_code(*cfg,
	    o->bureau_code)) != MIC_OK) {
		fprintf(stderr, "mic perso: bad --bureau-code '%s' (three "
		    "digits)\n", o->bureau_code);
		return rc;
	}
	if (o->issue_date != NULL && (rc = mic_perso_cfg_set_issue_date(*cfg,
	    o->issue_date)) != MIC_OK) {
		fprintf(stderr, "mic perso: bad --issue-date '%s' (YYYYMMDD)\n",
		    o->issue_date);
		return rc;
	}
	if (o->have_years && (rc = mic_perso_cfg_set_validity_years(*cfg,
	    (unsigned)o->years)) != MIC_OK)
		return rc;
	return MIC_OK;
}

static void
summary(struct run *r, const mic_perso_load_stats *ls, int loaded,
    const mic_journal_stats *js, mic_perso_line_t *line, size_t interrupted,
    const char *pin_path, mic_rc run_rc, size_t no_pin)
{
	const struct opts *o = r->o;
	double el = now_s() - r->t0;
	struct fail_walk w = { NULL, 0 };
	size_t left = js->queued + js->in_progress + js->failed_retryable;
	json_t *out;
	char *s;

	(void)line;
	if (!o->json) {
		fprintf(stderr, "\n");
		if (loaded)
			fprintf(stderr, "batch:    %zu lines, %zu valid, %zu "
			    "bad, %zu in the journal, %zu refused\n", ls->lines,
			    ls->valid, ls->bad, ls->queued, ls->refused);
		if (interrupted)
			fprintf(stderr, "recovered: %zu attempt(s) of a "
			    "crashed run ended as interrupted\n", interrupted);
		fprintf(stderr, "this run: %zu issued, %zu failed attempts, "
		    "%zu rejected, %zu cards set aside, %.1f s (%.0f "
		    "cards/hour)\n", r->issued, r->failed, r->rejected,
		    r->set_aside, el, el > 0 ? r->issued * 3600.0 / el : 0);
		fprintf(stderr, "cards:    %zu through the readers: %zu issued, "
		    "%zu failed (void them), %zu set aside, %zu unusable, %zu "
		    "left in the readers untouched\n", r->issued + r->failed +
		    r->set_aside + r->unusable + r->untouched, r->issued,
		    r->failed, r->set_aside, r->unusable, r->untouched);
		fprintf(stderr, "journal:  %zu issued, %zu rejected, %zu left "
		    "(%zu queued, %zu in progress, %zu to retry); %zu "
		    "attempts, %zu failed\n", js->issued, js->rejected, left,
		    js->queued, js->in_progress, js->failed_retryable,
		    js->attempts, js->attempts_failed);
		fprintf(stderr, "PINs:     sealed in the journal ('mic perso "
		    "pins export'); in clear in %s\n", pin_path);
		if (no_pin > 0)
			fprintf(stderr, "PINs:     %zu issued card(s) have no "
			    "PIN record (listed at the start)\n", no_pin);
		if (r->readers_down > 0)
			fprintf(stderr, "readers:  %zu stopped during the run "
			    "(said above); check them\n", r->readers_down);
		if (js->attempts_failed > 0) {
			fprintf(stderr, "failed attempts (void these cards):\n");
			(void)mic_perso_line_failures(line, on_failure, &w);
		}
		if (run_rc != MIC_OK)
			fprintf(stderr, "the line stopped: %s\n",
			    mic_strerror(run_rc));
		return;
	}
	w.arr = json_array();
	(void)mic_perso_line_failures(line, on_failure, &w);
	out = json_pack("{s:o, s:{s:I, s:I, s:I, s:I, s:f, s:f, s:I}, "
	    "s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:o, s:b, s:o, s:s, "
	    "s:s}",
	    "batch", loaded ? json_pack("{s:I, s:I, s:I, s:I, s:I, s:O}",
	    "lines", (json_int_t)ls->lines, "valid", (json_int_t)ls->valid,
	    "bad", (json_int_t)ls->bad, "queued", (json_int_t)ls->queued,
	    "refused", (json_int_t)ls->refused, "errors", r->errors) :
	    json_null(),
	    "run", "issued", (json_int_t)r->issued, "failed_attempts",
	    (json_int_t)r->failed, "rejected", (json_int_t)r->rejected,
	    "recovered_interrupted", (json_int_t)interrupted, "seconds", el,
	    "cards_per_hour", el > 0 ? r->issued * 3600.0 / el : 0.0,
	    "readers_down", (json_int_t)r->readers_down,
	    "journal", "queued", (json_int_t)js->queued, "in_progress",
	    (json_int_t)js->in_progress, "issued", (json_int_t)js->issued,
	    "failed_retryable", (json_int_t)js->failed_retryable, "rejected",
	    (json_int_t)js->rejected, "attempts", (json_int_t)js->attempts,
	    "attempts_failed", (json_int_t)js->attempts_failed, "left",
	    (json_int_t)left, "issued_without_pin", (json_int_t)no_pin,
	    "failures", w.arr,
	    "complete", left == 0 && run_rc == MIC_OK && r->readers_down == 0,
	    "cards", json_pack("{s:I, s:I, s:I, s:I, s:I}", "issued",
	    (json_int_t)r->issued, "failed", (json_int_t)r->failed,
	    "set_aside", (json_int_t)r->set_aside, "unusable",
	    (json_int_t)r->unusable, "untouched", (json_int_t)r->untouched),
	    "pin_mailer", pin_path,
	    "stopped", run_rc == MIC_OK ? "" : mic_strerror_name(run_rc));
	if (out != NULL && (s = json_dumps(out, JSON_INDENT(2))) != NULL) {
		printf("%s\n", s);
		free(s);
	}
	json_decref(out);
}

/* Say what a journal failure was, in SQLite's words. */
static void
journal_fail(mic_perso_line_t *line, const char *what, mic_rc rc)
{
	const char *why = mic_perso_line_journal_errmsg(line);

	if (rc == MIC_ERR_JOURNAL && why[0] != '\0')
		fprintf(stderr, "mic perso: %s: the journal (SQLite) failed: "
		    "%s\n", what, why);
	else
		tool_fail("perso", what, rc);
}

struct missing_walk {
	size_t n;
	json_t *arr;
	int print;
};

static int
on_missing_pin(const mic_journal_pin *p, void *arg)
{
	struct missing_walk *w = arg;

	w->n++;
	if (w->print)
		fprintf(stderr, "  attempt %lld: %s, card %s, chip %s\n",
		    (long long)p->attempt, p->app_id, p->card_number,
		    p->chip_serial);
	if (w->arr != NULL)
		json_array_append_new(w->arr, json_pack("{s:I, s:s, s:s, s:s}",
		    "attempt", (json_int_t)p->attempt, "application_id",
		    p->app_id, "card_number", p->card_number, "chip_serial",
		    p->chip_serial));
	return 0;
}

/*
 * Issued cards without a PIN record (a journal from before PINs were
 * kept in it): their holders need a PIN set at the bank. Listed at every
 * run, so that a resume never passes over them.
 */
static size_t
report_missing_pins(const char *journal, int quiet, json_t *arr)
{
	struct missing_walk w = { 0, arr, 0 };
	mic_journal_t *j = NULL;
	char why[512];

	if (mic_journal_open_ex(&j, journal, why, sizeof(why)) != MIC_OK)
		return 0;
	if (mic_journal_pins(j, 1, on_missing_pin, &w) == MIC_OK && w.n > 0 &&
	    !quiet) {
		fprintf(stderr, "mic perso: %zu issued card(s) have no transport "
		    "PIN record; their holders need a PIN set at the bank:\n",
		    w.n);
		w.n = 0;
		w.print = 1;
		w.arr = NULL;
		(void)mic_journal_pins(j, 1, on_missing_pin, &w);
	}
	mic_journal_free(&j);
	return w.n;
}

/* mic perso --check: the batch alone, or against a journal. */
static int
perso_check(const struct opts *o)
{
	mic_batch_t *batch = NULL;
	mic_application_t *app = NULL;
	mic_journal_t *j = NULL;
	mic_batch_error err;
	FILE *fp = NULL;
	char why[1024];
	size_t valid = 0, bad = 0, refused = 0;
	int ret = 1;
	mic_rc rc;

	if (o->journal != NULL) {
		/* Checking must not create a journal. */
		rc = mic_private_file_check(o->journal, why, sizeof(why));
		if (rc == MIC_ERR_NOT_FOUND) {
			fprintf(stderr, "mic perso: --journal %s: %s\n",
			    o->journal, strerror(ENOENT));
			return 1;
		}
		if (rc != MIC_OK) {
			fprintf(stderr, "mic perso: %s\n", why);
			return 1;
		}
	}
	if (open_batch(o->batch, &batch, &fp) != 0)
		return 1;
	if (o->journal != NULL) {
		if ((rc = mic_journal_open_ex(&j, o->journal, why,
		    sizeof(why))) != MIC_OK) {
			fprintf(stderr, "mic perso: the journal %s\n", why);
			goto out;
		}
		/* Every line enqueued as the line would, then all rolled
		 * back: the journal's own rules decide, nothing is kept. */
		if ((rc = mic_journal_bulk_begin(j)) != MIC_OK) {
			fprintf(stderr, "mic perso: the journal %s: %s\n",
			    o->journal, mic_journal_errmsg(j)[0] ?
			    mic_journal_errmsg(j) : mic_strerror(rc));
			goto out;
		}
	}
	for (;;) {
		rc = mic_batch_next(batch, &app, &err);
		if (rc == MIC_ERR_NOT_FOUND)
			break;
		if (rc == MIC_ERR_BATCH_LINE) {
			bad++;
			if (!o->quiet)
				fprintf(stderr, "%s\n", err.message);
			continue;
		}
		if (rc != MIC_OK) {
			fprintf(stderr, "mic perso: reading the batch %s: %s\n",
			    o->batch, mic_strerror(rc));
			goto out;
		}
		valid++;
		if (j != NULL) {
			rc = mic_journal_enqueue_app(j, app);
			if (rc == MIC_ERR_LIVE_CARD || rc == MIC_ERR_DUPLICATE) {
				refused++;
				if (!o->quiet)
					fprintf(stderr, "line %zu: "
					    "application_id: %s: %s\n",
					    mic_application_line(app),
					    mic_application_id(app),
					    rc == MIC_ERR_LIVE_CARD ? "the "
					    "holder already has a live card" :
					    "in the journal with another ID "
					    "number or other data");
			} else if (rc != MIC_OK) {
				fprintf(stderr, "mic perso: the journal %s: "
				    "%s\n", o->journal,
				    mic_journal_errmsg(j)[0] ?
				    mic_journal_errmsg(j) : mic_strerror(rc));
				mic_application_free(&app);
				goto out;
			}
		}
		mic_application_free(&app);
	}
	if (mic_batch_bom(batch))
		fprintf(stderr, "mic perso: warning: %s begins with a UTF-8 byte "
		    "order mark (EF BB BF); it was skipped\n", o->batch);
	if (valid + bad == 0)
		fprintf(stderr, "mic perso: warning: %s is an empty batch: no "
		    "application in it\n", o->batch);
	if (!o->quiet)
		fprintf(stderr, "%s: %zu lines, %zu valid, %zu bad%s", o->batch,
		    mic_batch_lines(batch), valid, bad, j != NULL ? "" : "\n");
	if (!o->quiet && j != NULL)
		fprintf(stderr, ", %zu refused by the journal\n", refused);
	ret = bad + refused == 0 ? 0 : 1;
out:
	if (j != NULL)
		(void)mic_journal_bulk_end(j, 0);
	mic_journal_free(&j);
	mic_batch_free(&batch);
	if (fp != NULL)
		fclose(fp);
	return ret;
}

struct export_walk {
	mic_pin_mailer_t *pm;
	int fd;
	size_t written, missing, failed;
};

/* One JSON line, as the PIN mailer file has it; the PIN wiped after. */
static int
on_export(const mic_journal_pin *p, void *arg)
{
	struct export_walk *w = arg;
	char pin[MIC_TRANSPORT_PIN_LEN + 1], line[1024];
	mic_rc rc;
	int k;

	if (p->pin_cms == NULL) {
		w->missing++;
		fprintf(stderr, "mic perso: no PIN record for attempt %lld (%s, "
		    "card %s): its holder needs a PIN set at the bank\n",
		    (long long)p->attempt, p->app_id, p->card_number);
		return 0;
	}
	if ((rc = mic_pin_mailer_unseal(w->pm, p->pin_cms, p->pin_cms_len,
	    p->card_id, pin)) != MIC_OK) {
		w->failed++;
		if (rc == MIC_ERR_MISMATCH)
			fprintf(stderr, "mic perso: attempt %lld (%s): the sealed "
			    "PIN is another card's: the journal was changed\n",
			    (long long)p->attempt, p->app_id);
		else
			fprintf(stderr, "mic perso: attempt %lld (%s): the PIN "
			    "does not open with this key: %s\n",
			    (long long)p->attempt, p->app_id, mic_strerror(rc));
		return 0;
	}
	k = snprintf(line, sizeof(line), "{\"application_id\":\"%s\","
	    "\"card_number\":\"%s\",\"card_id\":\"%s\",\"chip_serial\":"
	    "\"%s\",\"transport_pin\":\"%s\"}\n", p->app_id, p->card_number,
	    p->card_id, p->chip_serial, pin);
	explicit_bzero(pin, sizeof(pin));
	if (k < 0 || (size_t)k >= sizeof(line) ||
	    write(w->fd, line, (size_t)k) != (ssize_t)k) {
		explicit_bzero(line, sizeof(line));
		w->failed++;
		return 1;
	}
	explicit_bzero(line, sizeof(line));
	w->written++;
	return 0;
}

/* mic perso pins export: the print shop's PINs, from the journal. */
static int
perso_pins(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "journal", required_argument, NULL, 'j' },
		{ "pki", required_argument, NULL, 'k' },
		{ "key", required_argument, NULL, 'K' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *journal = NULL, *pki = NULL, *key = NULL, *out = NULL;
	char cert[4096], uri[4096], why[1024];
	struct export_walk w = { NULL, -1, 0, 0, 0 };
	mic_journal_t *j = NULL;
	int c, ret = 1;
	mic_rc rc;

	opterr = 0;
	optind = 1;
	if (argc < 2 || strcmp(argv[1], "export") != 0) {
		fprintf(stderr, "usage: mic perso pins export --journal FILE.db "
		    "--pki DIR [--key URI] --out FILE|-\n");
		return EXIT_USAGE;
	}
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': journal = optarg; break;
		case 'k': pki = optarg; break;
		case 'K': key = optarg; break;
		case 'o': out = optarg; break;
		case 'h':
			printf("usage: mic perso pins export --journal FILE.db "
			    "--pki DIR [--key URI] --out FILE|-\n");
			return 0;
		default:
			fprintf(stderr, "mic perso pins export: bad option "
			    "'%s'\n", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || journal == NULL || pki == NULL || out == NULL) {
		fprintf(stderr, "mic perso pins export: --journal, --pki and "
		    "--out are required\n");
		return EXIT_USAGE;
	}
	if ((size_t)snprintf(cert, sizeof(cert), "%s/pin-mailer/cert.pem",
	    pki) >= sizeof(cert) || (size_t)(key != NULL ? snprintf(uri,
	    sizeof(uri), "%s%s", strncmp(key, "pkcs11:", 7) == 0 ||
	    strncmp(key, "file:", 5) == 0 ? "" : "file:", key) :
	    snprintf(uri, sizeof(uri), "file:%s/pin-mailer/key.pem", pki)) >=
	    sizeof(uri)) {
		fprintf(stderr, "mic perso pins export: path too long\n");
		return EXIT_USAGE;
	}
	if (mic_private_file_check(journal, why, sizeof(why)) ==
	    MIC_ERR_NOT_FOUND) {
		fprintf(stderr, "mic perso pins export: --journal %s: %s\n",
		    journal, strerror(ENOENT));
		return 1;
	}
	if ((rc = mic_pin_mailer_open(&w.pm, cert, uri)) != MIC_OK) {
		fprintf(stderr, "mic perso pins export: the PIN mailer's key "
		    "(%s, %s): %s\n", cert, uri + (strncmp(uri, "file:", 5) ==
		    0 ? 5 : 0), rc == MIC_ERR_NOT_FOUND ? "not found" :
		    mic_strerror(rc));
		return 1;
	}
	if ((rc = mic_journal_open_ex(&j, journal, why, sizeof(why))) !=
	    MIC_OK) {
		fprintf(stderr, "mic perso pins export: the journal %s\n", why);
		goto done;
	}
	if (strcmp(out, "-") == 0)
		w.fd = STDOUT_FILENO;
	else if ((rc = mic_private_file_open(out, MIC_PRIVATE_NEW, &w.fd,
	    why, sizeof(why))) != MIC_OK) {
		fprintf(stderr, "mic perso pins export: %s\n", why);
		goto done;
	}
	if ((rc = mic_journal_pins(j, 0, on_export, &w)) != MIC_OK) {
		fprintf(stderr, "mic perso pins export: the journal: %s\n",
		    mic_journal_errmsg(j)[0] ? mic_journal_errmsg(j) :
		    mic_strerror(rc));
		goto done;
	}
	if (w.fd != STDOUT_FILENO && fsync(w.fd) != 0) {
		fprintf(stderr, "mic perso pins export: %s: %s\n", out,
		    strerror(errno));
		goto done;
	}
	fprintf(stderr, "mic perso pins export: %zu PIN(s) written to %s%s\n",
	    w.written, strcmp(out, "-") == 0 ? "standard output" : out,
	    w.missing ? "; some issued cards have no PIN record (above)" : "");
	ret = w.failed > 0 ? 1 : w.missing > 0 ? EXIT_ATTENTION : 0;
done:
	if (w.fd >= 0 && w.fd != STDOUT_FILENO)
		close(w.fd);
	mic_journal_free(&j);
	mic_pin_mailer_free(&w.pm);
	return ret;
}

int
cmd_perso(int argc, char **argv)
{
	struct opts o;
	struct run r;
	mic_perso_cfg_t *cfg = NULL;
	mic_perso_line_t *line = NULL;
	mic_journal_t *jcheck = NULL;
	mic_batch_t *batch = NULL;
	FILE *batch_fp = NULL;
	mic_perso_load_stats ls;
	mic_journal_stats js;
	struct sigaction sa, old_int, old_term;
	char pin_path[4096] = "", why[1024];
	size_t interrupted = 0, no_pin = 0;
	int ret, loaded = 0;
	mic_rc rc, run_rc = MIC_OK;

	if (argc > 1 && strcmp(argv[1], "pins") == 0)
		return perso_pins(argc - 1, argv + 1);
	if ((ret = parse_opts(argc, argv, &o)) >= 0)
		return ret;
	if (o.check)
		return perso_check(&o);
	memset(&r, 0, sizeof(r));
	memset(&ls, 0, sizeof(ls));
	r.pins = -1;
	r.o = &o;
	r.tty = isatty(STDERR_FILENO);
	r.t0 = now_s();
	ret = 1;
	/* Everything that can be refused before a file is created. */
	if (o.batch != NULL && open_batch(o.batch, &batch, &batch_fp) != 0)
		goto out;
	if (setup_cfg(&o, &cfg) != MIC_OK)
		goto out;
	if ((rc = mic_journal_open_ex(&jcheck, o.journal, why,
	    sizeof(why))) != MIC_OK) {
		fprintf(stderr, "mic perso: the journal %s\n", why);
		goto out;
	}
	mic_journal_free(&jcheck);
	if ((rc = mic_perso_line_new(&line, cfg, o.journal)) != MIC_OK) {
		tool_fail("perso", o.journal, rc);
		goto out;
	}
	mic_perso_line_set_event_cb(line, on_event, &r);
	if (o.have_max_attempts)
		(void)mic_perso_line_set_max_attempts(line,
		    (unsigned)o.max_attempts);
	if (o.have_serial_base)
		(void)mic_perso_line_set_serial_base(line, o.serial_base);
	if (add_readers(line, o.readers) != 0)
		goto out;
	if ((r.pins = open_pin_mailer(&o, pin_path, sizeof(pin_path))) < 0)
		goto out;
	if (!o.no_recover && (rc = mic_perso_line_recover(line,
	    &interrupted)) != MIC_OK) {
		journal_fail(line, "recovering the journal", rc);
		goto out;
	}
	if (interrupted > 0 && !o.quiet)
		fprintf(stderr, "mic perso: %zu card attempt(s) of an earlier "
		    "run were interrupted; their cards are void (listed at the "
		    "end) and their applications queued again\n", interrupted);
	no_pin = report_missing_pins(o.journal, o.quiet, NULL);
	if (batch != NULL) {
		if (o.json)
			r.errors = json_array();
		if ((rc = mic_perso_line_enqueue(line, batch, on_bad_line, &r,
		    &ls)) != MIC_OK) {
			journal_fail(line, "loading the batch into the journal",
			    rc);
			goto out;
		}
		loaded = 1;
		if (mic_batch_bom(batch))
			fprintf(stderr, "mic perso: warning: %s begins with a "
			    "UTF-8 byte order mark (EF BB BF); it was skipped\n",
			    o.batch);
		if (ls.lines == 0 || ls.valid + ls.bad == 0)
			fprintf(stderr, "mic perso: warning: %s is an empty "
			    "batch: no application in it\n", o.batch);
	}
	if ((rc = mic_perso_line_stats(line, &js)) != MIC_OK) {
		journal_fail(line, "reading the journal", rc);
		goto out;
	}
	r.total = js.queued + js.failed_retryable + js.in_progress;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	g_line = line;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	r.t0 = now_s();
	show_bar(&r);
	run_rc = r.total > 0 ? mic_perso_line_run(line) : MIC_OK;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	g_line = NULL;
	clear_bar(&r);
	if (g_interrupts > 0 && run_rc == MIC_OK)
		run_rc = MIC_ERR_CANCELLED;
	if ((rc = mic_perso_line_stats(line, &js)) != MIC_OK) {
		journal_fail(line, "reading the journal", rc);
		goto out;
	}
	r.readers_down = mic_perso_line_readers_down(line);
	summary(&r, &ls, loaded, &js, line, interrupted, pin_path, run_rc,
	    no_pin);
	if (r.pin_write_failed) {
		fprintf(stderr, "mic perso: writing %s failed: some transport "
		    "PINs are not in it; 'mic perso pins export' has them all "
		    "from the journal\n", pin_path);
		ret = 1;
	} else if (run_rc != MIC_OK || r.readers_down > 0 ||
	    js.queued + js.in_progress + js.failed_retryable > 0) {
		ret = 1;
	} else if (ls.bad > 0 || ls.refused > 0 || js.rejected > 0 ||
	    no_pin > 0) {
		ret = EXIT_ATTENTION;
	} else {
		ret = 0;
	}
out:
	if (r.pins >= 0)
		close(r.pins);
	json_decref(r.errors);
	mic_batch_free(&batch);
	if (batch_fp != NULL)
		fclose(batch_fp);
	mic_perso_line_free(&line);
	/* A reader left stuck on a mute card still uses the configuration
	 * (mic_perso_line_run()): the process ends with it. */
	if (run_rc != MIC_ERR_TIMEOUT)
		mic_perso_cfg_free(&cfg);
	return ret;
}
