/*
 * mic-stack-wait: readiness checks for scripts/reader-stack. Not installed.
 *
 *   mic-stack-wait list
 *       one line per reader: "present<TAB>NAME" or "empty<TAB>NAME"
 *   mic-stack-wait wait [--timeout MS] [--present NAME]... [--absent NAME]...
 *       wait, bounded, until each named reader exists and has a card
 *       (--present) or has none (--absent)
 *
 * It asks pcscd through libpcsclite (PCSCLITE_CSOCK_NAME picks the
 * instance), the way an application sees the readers, rather than parsing
 * another tool's output.
 *
 * Exit status: 0 done, 1 timeout or PC/SC failure (the current states are
 * printed), 2 usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <winscard.h>

#define EXIT_USAGE 2
#define MAX_WANT 64
#define POLL_MS 50
#define MAX_READERS PCSCLITE_MAX_READERS_CONTEXTS

struct want {
	const char *name;
	int present;
};

struct readers {
	char *buf;     /* multi-string from SCardListReaders */
	const char *name[PCSCLITE_MAX_READERS_CONTEXTS];
	size_t n;
};

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
	    .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void
readers_free(struct readers *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

/* Returns SCARD_S_SUCCESS with an empty list when there is no reader. */
static LONG
readers_list(SCARDCONTEXT ctx, struct readers *r)
{
	DWORD len = 0;
	LONG rv;

	memset(r, 0, sizeof(*r));
	rv = SCardListReaders(ctx, NULL, NULL, &len);
	if (rv == SCARD_E_NO_READERS_AVAILABLE)
		return SCARD_S_SUCCESS;
	if (rv != SCARD_S_SUCCESS)
		return rv;
	if ((r->buf = calloc(1, (size_t)len + 1)) == NULL)
		return SCARD_E_NO_MEMORY;
	rv = SCardListReaders(ctx, NULL, r->buf, &len);
	if (rv == SCARD_E_NO_READERS_AVAILABLE) {
		readers_free(r);
		return SCARD_S_SUCCESS;
	}
	if (rv != SCARD_S_SUCCESS) {
		readers_free(r);
		return rv;
	}
	/* The extra NUL from calloc ends the multi-string even if pcscd didn't. */
	for (char *p = r->buf; *p != '\0' && r->n < MAX_READERS;
	    p += strlen(p) + 1)
		r->name[r->n++] = p;
	return SCARD_S_SUCCESS;
}

static LONG
states_get(SCARDCONTEXT ctx, const struct readers *r, SCARD_READERSTATE *st)
{
	memset(st, 0, sizeof(*st) * r->n);
	for (size_t i = 0; i < r->n; i++) {
		st[i].szReader = r->name[i];
		st[i].dwCurrentState = SCARD_STATE_UNAWARE;
	}
	if (r->n == 0)
		return SCARD_S_SUCCESS;
	return SCardGetStatusChange(ctx, 0, st, (DWORD)r->n);
}

static int
is_present(const SCARD_READERSTATE *st)
{
	return (st->dwEventState & SCARD_STATE_PRESENT) != 0;
}

static void
print_states(FILE *f, const struct readers *r, const SCARD_READERSTATE *st)
{
	for (size_t i = 0; i < r->n; i++)
		fprintf(f, "%s\t%s\n", is_present(&st[i]) ? "present" : "empty",
		    r->name[i]);
}

/* One look: are all wishes met? -1 on a PC/SC error. */
static int
check(SCARDCONTEXT ctx, const struct want *w, size_t nw, FILE *report)
{
	SCARD_READERSTATE st[PCSCLITE_MAX_READERS_CONTEXTS];
	struct readers r;
	int ok = 1;
	LONG rv;

	if ((rv = readers_list(ctx, &r)) != SCARD_S_SUCCESS ||
	    (rv = states_get(ctx, &r, st)) != SCARD_S_SUCCESS) {
		if (report != NULL)
			fprintf(report, "mic-stack-wait: %s\n",
			    pcsc_stringify_error(rv));
		readers_free(&r);
		return -1;
	}
	for (size_t i = 0; i < nw && ok; i++) {
		size_t j;
		for (j = 0; j < r.n; j++)
			if (strcmp(r.name[j], w[i].name) == 0)
				break;
		ok = j < r.n && is_present(&st[j]) == w[i].present;
	}
	if (report != NULL)
		print_states(report, &r, st);
	readers_free(&r);
	return ok;
}

static LONG
establish(SCARDCONTEXT *ctx, long deadline)
{
	LONG rv;

	/* pcscd may still be starting behind its pre-bound socket. */
	while ((rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL,
	    ctx)) == SCARD_E_NO_SERVICE && now_ms() < deadline)
		sleep_ms(POLL_MS);
	return rv;
}

static int
cmd_list(void)
{
	SCARDCONTEXT ctx;
	LONG rv;
	int r;

	if ((rv = establish(&ctx, now_ms())) != SCARD_S_SUCCESS) {
		fprintf(stderr, "mic-stack-wait: %s\n",
		    pcsc_stringify_error(rv));
		return EXIT_FAILURE;
	}
	r = check(ctx, NULL, 0, stdout);
	SCardReleaseContext(ctx);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: mic-stack-wait list\n"
	    "       mic-stack-wait wait [--timeout MS] [--present READER]... "
	    "[--absent READER]...\n");
}

static int
cmd_wait(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "present", required_argument, NULL, 'p' },
		{ "absent", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct want w[MAX_WANT];
	size_t nw = 0;
	long timeout = 10000, deadline;
	SCARDCONTEXT ctx;
	char *end;
	LONG rv;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			timeout = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || timeout < 0 ||
			    timeout > 600000) {
				usage(stderr);
				return EXIT_USAGE;
			}
			break;
		case 'p':
		case 'a':
			if (nw == MAX_WANT) {
				usage(stderr);
				return EXIT_USAGE;
			}
			w[nw].name = optarg;
			w[nw++].present = c == 'p';
			break;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	deadline = now_ms() + timeout;
	if ((rv = establish(&ctx, deadline)) != SCARD_S_SUCCESS) {
		fprintf(stderr, "mic-stack-wait: %s\n",
		    pcsc_stringify_error(rv));
		return EXIT_FAILURE;
	}
	while ((r = check(ctx, w, nw, NULL)) != 1 && now_ms() < deadline)
		sleep_ms(POLL_MS);
	if (r != 1) {
		fprintf(stderr, "mic-stack-wait: readers not ready after %ld ms:"
		    "\n", timeout);
		for (size_t i = 0; i < nw; i++)
			fprintf(stderr, "  wanted %s\t%s\n",
			    w[i].present ? "present" : "empty", w[i].name);
		fprintf(stderr, "  have:\n");
		check(ctx, NULL, 0, stderr);
	}
	SCardReleaseContext(ctx);
	return r == 1 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "list") == 0 && argc == 2)
		return cmd_list();
	if (argc >= 2 && strcmp(argv[1], "wait") == 0)
		return cmd_wait(argc - 1, argv + 1);
	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return EXIT_USAGE;
}
