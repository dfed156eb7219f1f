/*
 * mic-vcard hopper: the card hopper of an issuance machine. A blank card
 * sits in the reader; once it has been personalized (it left the blank
 * state) and the terminal lets go of it (power off, or the reader
 * connection closes), its image is written as DIR/<serial>.img and the
 * next blank card, with the next serial, takes its place. pcscd sees a
 * removal and an insertion, as with a real hopper.
 *
 * One card lives at a time and each is freed when it leaves, so memory
 * stays flat however many cards pass. Images are never overwritten: a
 * serial whose image exists is skipped, so a restarted hopper carries on.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image.h"
#include "mic-vcard.h"

struct hopper {
	struct vct_log log;
	const char *dir;
	char serial[VC_SERIAL_MAX + 1];  /* of the card in the reader */
	unsigned long count;             /* stop after this many; 0 never */
	unsigned long issued;
	unsigned flags;
	enum vc_role role;
	int failed;
};

static void
usage_hopper(FILE *f)
{
	fprintf(f,
	    "usage: mic-vcard hopper --out DIR [--host H] [--port N] [--count N]\n"
	    "                        [--serial-base S] [--t0-quirks]\n"
	    "                        [--test-role ROLE] [-v]\n"
	    "\n"
	    "Feed blank cards into the vpcd reader slot at H:N, like the hopper\n"
	    "of an issuance machine. When the card in the reader has left the\n"
	    "blank state and is powered off (or the reader connection closes),\n"
	    "its image is written as DIR/<serial>.img and a new blank card with\n"
	    "the next serial is inserted. Stops after --count cards, or on\n"
	    "SIGTERM/SIGINT (a personalized card still in the reader is written\n"
	    "first). SIGUSR1 pulls the card out and puts it back. Existing\n"
	    "images are never overwritten: their serials are skipped.\n"
	    "\n"
	    "  --out DIR          where the images go (must exist)\n"
	    "  --host H           where vpcd listens (default %s)\n"
	    "  --port N           the reader slot's port (default %d)\n"
	    "  --count N          stop after N cards (default: never)\n"
	    "  --serial-base S    the first serial; its trailing digits count up\n"
	    "                     (default %s)\n"
	    "  --t0-quirks        cards answer like T=0 cards\n"
	    "  --test-role ROLE   TEST CRUTCH: each card acts as if a secure\n"
	    "                     channel with ROLE were open after every power-on\n"
	    "                     (DEPRECATED: cards made with --pki do real SCP11)\n"
	    "  -v                 trace APDUs (PINs shown as **)\n"
	    "\n"
	    "Exit status: 0 done or stopped by a signal, 1 failure, 2 usage.\n",
	    DEFAULT_HOST, DEFAULT_PORT, DEFAULT_SERIAL);
}

/* Count the serial's trailing digits up by one; -1 when they run out. */
static int
next_serial(char *s)
{
	size_t i = strlen(s);

	while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9') {
		if (s[i - 1] != '9') {
			s[i - 1]++;
			return 0;
		}
		s[i - 1] = '0';
		i--;
	}
	return -1;
}

static int
has_digit_tail(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && s[n - 1] >= '0' && s[n - 1] <= '9';
}

static int
image_path(const struct hopper *h, char *path, size_t cap)
{
	int n = snprintf(path, cap, "%s/%s.img", h->dir, h->serial);

	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* A blank card with the first serial that has no image yet. */
static int
new_card(struct hopper *h, vc_card **card)
{
	char path[PATH_MAX];
	mic_rc rc;

	for (;;) {
		if (image_path(h, path, sizeof(path)) != 0) {
			vct_say(&h->log, "image path too long in %s", h->dir);
			return -1;
		}
		if (access(path, F_OK) != 0)
			break;
		if (next_serial(h->serial) != 0) {
			vct_say(&h->log, "serials exhausted after %s", path);
			return -1;
		}
	}
	if ((rc = vc_card_new(card, h->serial, h->flags)) != MIC_OK) {
		vct_say(&h->log, "cannot create card %s: %s", h->serial,
		    mic_strerror(rc));
		return -1;
	}
	vct_say(&h->log, "blank card %s in the reader", h->serial);
	return 0;
}

/* The card leaves the hopper: write its image. */
static int
eject_card(struct hopper *h, const vc_card *card)
{
	char path[PATH_MAX];
	const uint8_t *nv = NULL;
	size_t len = 0;
	vc_image_rc rc;

	if (image_path(h, path, sizeof(path)) != 0)
		return -1;
	vc_card_nv(card, &nv, &len);
	if ((rc = vc_image_save(path, nv, len, VC_IMAGE_NOCLOBBER)) !=
	    VC_IMAGE_OK) {
		vct_say(&h->log, "cannot write %s: %s", path,
		    rc == VC_IMAGE_E_SYS ? strerror(errno) :
		    vc_image_strerror(rc));
		return -1;
	}
	h->issued++;
	if (h->count != 0)
		vct_say(&h->log, "card %s out (%s): %s [%lu/%lu]", h->serial,
		    vct_state_name(vc_card_state(card)), path, h->issued,
		    h->count);
	else
		vct_say(&h->log, "card %s out (%s): %s [%lu]", h->serial,
		    vct_state_name(vc_card_state(card)), path, h->issued);
	if (next_serial(h->serial) != 0) {
		vct_say(&h->log, "serials exhausted");
		return -1;
	}
	return 0;
}

static int
on_event(void *arg, int event, vc_card **card)
{
	struct hopper *h = arg;

	switch (event) {
	case VC_EV_POWER_ON:
	case VC_EV_RESET:
		if (h->role != VC_ROLE_NONE)
			vc_card_test_set_role(*card, h->role);
		return VC_ACT_CONTINUE;
	case VC_EV_POWER_OFF:
	case VC_EV_LEFT:
		break;
	default:
		return VC_ACT_CONTINUE;
	}
	if (vc_card_state(*card) == VC_STATE_BLANK)
		return VC_ACT_CONTINUE;
	if (eject_card(h, *card) != 0) {
		h->failed = 1;
		return VC_ACT_STOP;
	}
	vc_card_free(card);
	/* Done, or stopping: no next card. */
	if ((h->count != 0 && h->issued >= h->count) || *vct_stop_flag() != 0)
		return VC_ACT_STOP;
	if (new_card(h, card) != 0) {
		h->failed = 1;
		return VC_ACT_STOP;
	}
	/* Off the contacts: out of the reader, and the next one in. A
	 * closed connection already took the card out. */
	return event == VC_EV_POWER_OFF ? VC_ACT_REINSERT : VC_ACT_CONTINUE;
}

int
cmd_hopper(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'c' },
		{ "serial-base", required_argument, NULL, 's' },
		{ "t0-quirks", no_argument, NULL, 'q' },
		{ "test-role", required_argument, NULL, 'R' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct hopper h;
	vc_vpcd_cfg cfg;
	vc_card *card = NULL;
	const char *host = DEFAULT_HOST, *base = DEFAULT_SERIAL;
	char port[PORT_STR_MAX];
	mic_rc rc;
	int c;

	memset(&h, 0, sizeof(h));
	snprintf(port, sizeof(port), "%d", DEFAULT_PORT);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vh", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			h.dir = optarg;
			break;
		case 'H':
			host = optarg;
			break;
		case 'p':
			if (vct_parse_port(optarg, port, sizeof(port)) != 0) {
				fprintf(stderr, "mic-vcard hopper: bad port "
				    "'%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'c':
			if (vct_parse_ulong(optarg, &h.count) != 0) {
				fprintf(stderr, "mic-vcard hopper: bad count "
				    "'%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 's':
			base = optarg;
			break;
		case 'q':
			h.flags |= VC_CARD_T0_QUIRKS;
			break;
		case 'R':
			if (vct_parse_role(optarg, &h.role) != 0) {
				fprintf(stderr, "mic-vcard hopper: bad role "
				    "'%s' (hospital, pharmacy, bank, agency, "
				    "bureau)\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'v':
			h.log.verbose = 1;
			break;
		case 'h':
			usage_hopper(stdout);
			return 0;
		case ':':
			fprintf(stderr, "mic-vcard hopper: %s needs a value\n",
			    argv[optind - 1]);
			usage_hopper(stderr);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "mic-vcard hopper: unknown option "
			    "'%s'\n", argv[optind - 1]);
			usage_hopper(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || h.dir == NULL) {
		fprintf(stderr, "mic-vcard hopper: %s\n", optind != argc ?
		    "unexpected argument" : "--out DIR is required");
		usage_hopper(stderr);
		return EXIT_USAGE;
	}
	if (!vct_serial_ok(base) || !has_digit_tail(base)) {
		fprintf(stderr, "mic-vcard hopper: bad --serial-base '%s': "
		    "1-%d of A-Z a-z 0-9 . _ -, ending in digits\n", base,
		    VC_SERIAL_MAX);
		return EXIT_USAGE;
	}
	if (access(h.dir, W_OK | X_OK) != 0) {
		fprintf(stderr, "mic-vcard hopper: %s: %s\n", h.dir,
		    strerror(errno));
		return EXIT_FAILURE;
	}
	snprintf(h.serial, sizeof(h.serial), "%s", base);
	snprintf(h.log.prefix, sizeof(h.log.prefix), "mic-vcard[%s]", port);
	if (vct_signals_install() != 0) {
		perror("mic-vcard: sigaction");
		return EXIT_FAILURE;
	}
	if (h.role != VC_ROLE_NONE)
		vct_say(&h.log, "TEST ONLY: cards act as if a secure channel "
		    "with role %s were open", vct_role_name(h.role));
	if (h.role != VC_ROLE_NONE)
		fprintf(stderr, "mic-vcard hopper: --test-role is deprecated: "
		    "make cards with 'mic-vcard new --pki DIR' and open a real "
		    "SCP11a channel\n");
	vct_say(&h.log, "hopper into %s%s", h.dir,
	    h.flags & VC_CARD_T0_QUIRKS ? ", T=0 quirks on" : "");
	if (new_card(&h, &card) != 0)
		return EXIT_FAILURE;
	memset(&cfg, 0, sizeof(cfg));
	cfg.host = host;
	cfg.port = port;
	cfg.connect_tries = CONNECT_TRIES;
	cfg.retry_ms = RETRY_MS;
	cfg.log = vct_log_line;
	cfg.trace = vct_trace;
	cfg.event = on_event;
	cfg.arg = &h;
	cfg.stop = vct_stop_flag();
	cfg.removed = vct_removed_flag();
	rc = vc_vpcd_run(&card, &cfg);
	/* Stopped with a card that was worked on: it is not lost. */
	if (card != NULL && vc_card_state(card) != VC_STATE_BLANK &&
	    eject_card(&h, card) != 0)
		h.failed = 1;
	vc_card_free(&card);
	vct_say(&h.log, "hopper stops: %lu card(s) written to %s", h.issued,
	    h.dir);
	return rc == MIC_OK && !h.failed ? EXIT_SUCCESS : EXIT_FAILURE;
}
