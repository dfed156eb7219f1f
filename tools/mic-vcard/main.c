/*
 * mic-vcard: the reference MIC card as a program.
 *
 * One verb per job, in a table, so that "new" (create a card image) and the
 * hopper mode of later steps slot in beside "run".
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mic/err.h>
#include <mic/version.h>

#include "vcard.h"

#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_PORT 35963
#define DEFAULT_SERIAL "MIC0000000001"
/* vpcd comes up a little after pcscd: wait up to 50 x 200 ms for it. */
#define CONNECT_TRIES 50
#define RETRY_MS 200

#define EXIT_USAGE 2

/* The one piece of global state: what a signal handler may touch. */
static volatile sig_atomic_t stop_flag;

struct run_ctx {
	char prefix[32];
	int verbose;
};

static void
on_signal(int sig)
{
	stop_flag = sig;
}

static int
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocked poll() or nanosleep() must wake up. */
	sa.sa_flags = 0;
	if (sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0 ||
	    sigaction(SIGHUP, &sa, NULL) != 0)
		return -1;
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

static void
log_line(void *arg, const char *msg)
{
	const struct run_ctx *ctx = arg;

	fprintf(stderr, "%s: %s\n", ctx->prefix, msg);
}

static void
trace_apdu(void *arg, int dir, const uint8_t *buf, size_t len)
{
	const struct run_ctx *ctx = arg;

	if (!ctx->verbose)
		return;
	fprintf(stderr, "%s: %s", ctx->prefix, dir == VC_TRACE_CMD ? ">" : "<");
	for (size_t i = 0; i < len; i++)
		fprintf(stderr, " %02X", buf[i]);
	if (dir == VC_TRACE_RSP && len >= 2) {
		uint16_t sw = (uint16_t)(buf[len - 2] << 8 | buf[len - 1]);
		fprintf(stderr, "  (%s)", mic_sw_name(sw));
	}
	fputc('\n', stderr);
}

static void
usage_run(FILE *f)
{
	fprintf(f,
	    "usage: mic-vcard run [--host H] [--port N] [--serial S] "
	    "[--t0-quirks] [-v]\n"
	    "\n"
	    "Insert a card into the vpcd reader slot listening at H:N and\n"
	    "serve it until SIGTERM or SIGINT, which removes the card.\n"
	    "\n"
	    "  --host H      where vpcd listens (default %s)\n"
	    "  --port N      the reader slot's port (default %d)\n"
	    "  --serial S    card serial, 1-%d printable ASCII characters\n"
	    "                (default %s)\n"
	    "  --t0-quirks   answer like a T=0 card: 61xx and GET RESPONSE\n"
	    "                for outgoing data, 6Cxx for a wrong Le\n"
	    "  -v            trace every APDU and response to stderr\n",
	    DEFAULT_HOST, DEFAULT_PORT, VC_SERIAL_MAX, DEFAULT_SERIAL);
}

static int
parse_port(const char *s, char *out, size_t cap)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 65535)
		return -1;
	snprintf(out, cap, "%ld", v);
	return 0;
}

static int
cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "serial", required_argument, NULL, 's' },
		{ "t0-quirks", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct run_ctx ctx;
	vc_vpcd_cfg cfg;
	vc_card *card = NULL;
	const char *host = DEFAULT_HOST, *serial = DEFAULT_SERIAL;
	char port[8];
	unsigned flags = 0;
	mic_rc rc;
	int c;

	memset(&ctx, 0, sizeof(ctx));
	snprintf(port, sizeof(port), "%d", DEFAULT_PORT);
	opterr = 0;   /* our own message names the program and the verb */
	while ((c = getopt_long(argc, argv, ":vh", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			host = optarg;
			break;
		case 'p':
			if (parse_port(optarg, port, sizeof(port)) != 0) {
				fprintf(stderr, "mic-vcard: bad port '%s'\n",
				    optarg);
				usage_run(stderr);
				return EXIT_USAGE;
			}
			break;
		case 's':
			serial = optarg;
			break;
		case 'q':
			flags |= VC_CARD_T0_QUIRKS;
			break;
		case 'v':
			ctx.verbose = 1;
			break;
		case 'h':
			usage_run(stdout);
			return 0;
		case ':':
			fprintf(stderr, "mic-vcard run: %s needs a value\n",
			    argv[optind - 1]);
			usage_run(stderr);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "mic-vcard run: unknown option '%s'\n",
			    argv[optind - 1]);
			usage_run(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mic-vcard: unexpected argument '%s'\n",
		    argv[optind]);
		usage_run(stderr);
		return EXIT_USAGE;
	}
	if ((rc = vc_card_new(&card, serial, flags)) != MIC_OK) {
		if (rc == MIC_ERR_INVALID_ARGUMENT) {
			fprintf(stderr, "mic-vcard: bad serial '%s'\n", serial);
			usage_run(stderr);
			return EXIT_USAGE;
		}
		fprintf(stderr, "mic-vcard: cannot create the card: %s\n",
		    mic_strerror(rc));
		return EXIT_FAILURE;
	}
	if (install_signals() != 0) {
		perror("mic-vcard: sigaction");
		vc_card_free(&card);
		return EXIT_FAILURE;
	}
	snprintf(ctx.prefix, sizeof(ctx.prefix), "mic-vcard[%s]", port);
	memset(&cfg, 0, sizeof(cfg));
	cfg.host = host;
	cfg.port = port;
	cfg.connect_tries = CONNECT_TRIES;
	cfg.retry_ms = RETRY_MS;
	cfg.log = log_line;
	cfg.trace = trace_apdu;
	cfg.arg = &ctx;
	cfg.stop = &stop_flag;
	fprintf(stderr, "%s: card %s%s\n", ctx.prefix, serial,
	    flags & VC_CARD_T0_QUIRKS ? ", T=0 quirks on" : "");
	rc = vc_vpcd_run(card, &cfg);
	vc_card_free(&card);
	if (stop_flag != 0)
		fprintf(stderr, "%s: stopped by signal %d\n", ctx.prefix,
		    (int)stop_flag);
	return rc == MIC_OK ? EXIT_SUCCESS : EXIT_FAILURE;
}

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} verbs[] = {
	{ "run", cmd_run, "insert a card into a vpcd reader and serve it" },
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: mic-vcard COMMAND [OPTIONS]\n"
	    "       mic-vcard --help | --version\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-6s %s\n", verbs[i].name, verbs[i].help);
	fprintf(f, "\n'mic-vcard COMMAND --help' describes a command.\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("mic-vcard %s\n", MIC_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(argv[1], verbs[i].name) == 0)
			return verbs[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "mic-vcard: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
