/*
 * mic-vcard run: serve a card image in a vpcd reader slot. Every command
 * that changes the card is committed to the image before its response
 * leaves, so the file always holds what the card holds. The tear options
 * cut the power at chosen points so that tests can prove it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image.h"
#include "mic-vcard.h"

struct run_ctx {
	struct vct_log log;
	vc_image_store store;
	const char *image;         /* NULL: a card in memory only */
	unsigned flags;
	unsigned long tear_apdu;   /* --tear-after-apdus N, 0 if not given */
	int tear_after;            /* ... :after (1) or :before (0) */
	int torn;
	int failed;
};

static void
usage_run(FILE *f)
{
	fprintf(f,
	    "usage: mic-vcard run IMAGE [--host H] [--port N] [--t0-quirks] [-v]\n"
	    "                 [--tear-after-apdus N[:before|:after]] [--tear-in-write N]\n"
	    "       mic-vcard run [--serial S] [--host H] [--port N] ...\n"
	    "\n"
	    "Insert the card of IMAGE (made by 'mic-vcard new') into the vpcd\n"
	    "reader slot listening at H:N and serve it until SIGTERM or SIGINT,\n"
	    "which remove the card. Every change the card makes is saved in\n"
	    "IMAGE before its response leaves (atomically: a crash leaves the\n"
	    "old image or the new one). SIGUSR1 pulls the card out of the reader\n"
	    "and the next SIGUSR1 puts it back, its state kept. Without IMAGE\n"
	    "the card is a blank one that lives in memory only.\n"
	    "Serve one image from one process at a time.\n"
	    "\n"
	    "  --host H      where vpcd listens (default %s)\n"
	    "  --port N      the reader slot's port (default %d)\n"
	    "  --serial S    without IMAGE: the card's serial (default %s)\n"
	    "  --t0-quirks   answer like a T=0 card: 61xx and GET RESPONSE\n"
	    "                for outgoing data, 6Cxx for a wrong Le\n"
	    "  -v            trace every APDU and response to stderr (PINs are\n"
	    "                shown as **)\n"
	    "\n"
	    "Tear simulation (power cuts; the card then leaves the reader and\n"
	    "the program exits with status %d):\n"
	    "  --tear-after-apdus N[:before|:after]\n"
	    "                cut the power at the Nth command APDU (counted from\n"
	    "                1 since start): 'before' the card sees it, or\n"
	    "                'after' it was processed and committed but before\n"
	    "                the response is sent (default: after)\n"
	    "  --tear-in-write N\n"
	    "                cut the power in the middle of the Nth write of the\n"
	    "                image: half of the new image reaches a temporary\n"
	    "                file, then the process dies; IMAGE keeps the state\n"
	    "                before that command\n"
	    "\n"
	    "Exit status: 0 stopped by a signal, 1 failure, 2 usage, %d a tear\n"
	    "option cut the power.\n",
	    DEFAULT_HOST, DEFAULT_PORT, DEFAULT_SERIAL, EXIT_TORN, EXIT_TORN);
}

static int
parse_tear_apdus(const char *s, struct run_ctx *ctx)
{
	char num[32];
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n);
	num[n] = '\0';
	if (vct_parse_ulong(num, &ctx->tear_apdu) != 0 || ctx->tear_apdu == 0)
		return -1;
	if (colon == NULL || strcmp(colon, ":after") == 0)
		ctx->tear_after = 1;
	else if (strcmp(colon, ":before") == 0)
		ctx->tear_after = 0;
	else
		return -1;
	return 0;
}

/* A power cut in the middle of an image write: nothing after it runs. */
static void
tear_in_write(void *arg, unsigned long commit)
{
	const struct run_ctx *ctx = arg;

	fprintf(stderr, "%s: power cut in the middle of image write %lu "
	    "(--tear-in-write); exiting %d\n", ctx->log.prefix, commit,
	    EXIT_TORN);
	_exit(EXIT_TORN);
}

static int
on_event(void *arg, int event, vc_card **card)
{
	struct run_ctx *ctx = arg;
	vc_card *fresh = NULL;
	vc_image_rc rc;

	switch (event) {
	case VC_EV_WRITE_LOST:
		if (ctx->image == NULL)
			return VC_ACT_REINSERT;
		vct_say(&ctx->log, "image write %lu failed: %s", ctx->store.commits,
		    ctx->store.last == VC_IMAGE_E_SYS ?
		    strerror(ctx->store.last_errno) :
		    vc_image_strerror(ctx->store.last));
		/* After a lost write the card holds what its image holds. */
		if ((rc = vc_image_load_card(ctx->image, ctx->flags,
		    &fresh)) != VC_IMAGE_OK) {
			vct_say(&ctx->log, "cannot reload %s: %s", ctx->image,
			    vc_image_strerror(rc));
			ctx->failed = 1;
			return VC_ACT_STOP;
		}
		vc_card_set_commit(fresh, vc_image_commit, &ctx->store);
		vc_card_free(card);
		*card = fresh;
		vct_say(&ctx->log, "reloaded the card from %s (%s)", ctx->image,
		    vct_state_name(vc_card_state(fresh)));
		return VC_ACT_REINSERT;
	default:
		return VC_ACT_CONTINUE;
	}
}

static int
on_apdu(void *arg, int phase, unsigned long seq)
{
	struct run_ctx *ctx = arg;

	if (ctx->tear_apdu == 0 || seq != ctx->tear_apdu ||
	    (phase == VC_APDU_AFTER) != ctx->tear_after)
		return VC_ACT_CONTINUE;
	ctx->torn = 1;
	return VC_ACT_STOP;
}

static int
load(struct run_ctx *ctx, const char *serial, vc_card **card)
{
	vc_image_rc rc;
	mic_rc r;

	if (ctx->image == NULL) {
		if ((r = vc_card_new(card, serial, ctx->flags)) != MIC_OK) {
			fprintf(stderr, "mic-vcard: cannot create the card: "
			    "%s\n", mic_strerror(r));
			return -1;
		}
		return 0;
	}
	/* Leftovers of writes a power cut interrupted. */
	(void)vc_image_clean_temps(ctx->image);
	if ((rc = vc_image_load_card(ctx->image, ctx->flags, card)) !=
	    VC_IMAGE_OK) {
		fprintf(stderr, "mic-vcard: %s: %s\n", ctx->image,
		    rc == VC_IMAGE_E_SYS ? strerror(errno) :
		    vc_image_strerror(rc));
		return -1;
	}
	vc_card_set_commit(*card, vc_image_commit, &ctx->store);
	return 0;
}

int
cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "serial", required_argument, NULL, 's' },
		{ "t0-quirks", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "tear-after-apdus", required_argument, NULL, 'A' },
		{ "tear-in-write", required_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct run_ctx ctx;
	vc_vpcd_cfg cfg;
	vc_card *card = NULL;
	const char *host = DEFAULT_HOST, *serial = NULL;
	char port[PORT_STR_MAX];
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
			if (vct_parse_port(optarg, port, sizeof(port)) != 0) {
				fprintf(stderr, "mic-vcard run: bad port '%s'\n",
				    optarg);
				usage_run(stderr);
				return EXIT_USAGE;
			}
			break;
		case 's':
			serial = optarg;
			break;
		case 'q':
			ctx.flags |= VC_CARD_T0_QUIRKS;
			break;
		case 'v':
			ctx.log.verbose = 1;
			break;
		case 'A':
			if (parse_tear_apdus(optarg, &ctx) != 0) {
				fprintf(stderr, "mic-vcard run: bad "
				    "--tear-after-apdus '%s' (N, N:before or "
				    "N:after, N >= 1)\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'W':
			if (vct_parse_ulong(optarg, &ctx.store.tear_at) != 0 ||
			    ctx.store.tear_at == 0) {
				fprintf(stderr, "mic-vcard run: bad "
				    "--tear-in-write '%s' (N >= 1)\n", optarg);
				return EXIT_USAGE;
			}
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
	if (optind < argc)
		ctx.image = argv[optind++];
	if (optind != argc) {
		fprintf(stderr, "mic-vcard run: unexpected argument '%s'\n",
		    argv[optind]);
		usage_run(stderr);
		return EXIT_USAGE;
	}
	if (ctx.image != NULL && serial != NULL) {
		fprintf(stderr, "mic-vcard run: the serial of an image is its "
		    "own; --serial goes without IMAGE\n");
		return EXIT_USAGE;
	}
	if (ctx.image == NULL && ctx.store.tear_at != 0) {
		fprintf(stderr, "mic-vcard run: --tear-in-write needs IMAGE\n");
		return EXIT_USAGE;
	}
	if (serial == NULL)
		serial = DEFAULT_SERIAL;
	if (ctx.image == NULL && !vct_serial_ok(serial)) {
		fprintf(stderr, "mic-vcard run: bad serial '%s'\n", serial);
		usage_run(stderr);
		return EXIT_USAGE;
	}
	ctx.store.path = ctx.image;
	ctx.store.tear = tear_in_write;
	ctx.store.tear_arg = &ctx;
	snprintf(ctx.log.prefix, sizeof(ctx.log.prefix), "mic-vcard[%s]", port);
	if (load(&ctx, serial, &card) != 0)
		return EXIT_FAILURE;
	if (vct_signals_install() != 0) {
		perror("mic-vcard: sigaction");
		vc_card_free(&card);
		return EXIT_FAILURE;
	}
	vct_vpcd_cfg(&cfg, host, port, on_event, on_apdu, &ctx);
	vct_say(&ctx.log, "card %s%s (%s)%s", ctx.image ? ctx.image : serial,
	    ctx.image ? "" : " in memory only",
	    vct_state_name(vc_card_state(card)),
	    ctx.flags & VC_CARD_T0_QUIRKS ? ", T=0 quirks on" : "");
	if (ctx.tear_apdu != 0)
		vct_say(&ctx.log, "tear: power cut %s APDU %lu",
		    ctx.tear_after ? "after" : "before", ctx.tear_apdu);
	if (ctx.store.tear_at != 0)
		vct_say(&ctx.log, "tear: power cut in image write %lu",
		    ctx.store.tear_at);
	rc = vc_vpcd_run(&card, &cfg);
	vc_card_free(&card);
	if (ctx.torn) {
		vct_say(&ctx.log, "power cut (tear simulation); exiting %d",
		    EXIT_TORN);
		return EXIT_TORN;
	}
	if (*vct_stop_flag() != 0)
		vct_say(&ctx.log, "stopped by signal %d", (int)*vct_stop_flag());
	return rc == MIC_OK && !ctx.failed ? EXIT_SUCCESS : EXIT_FAILURE;
}
