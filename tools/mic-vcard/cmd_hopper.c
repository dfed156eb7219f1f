/*
 * mic-vcard hopper: the card hopper of an issuance machine. A blank card
 * sits in the reader; once a terminal has worked on it (it left the blank
 * state, or it got any command APDU) and lets go of it (power off, or the
 * reader connection closes), its image is written as DIR/<serial>.img and
 * the next blank card, with the next serial, takes its place. pcscd sees a
 * removal and an insertion, as with a real hopper.
 *
 * A blank card that got no APDU stays: pcscd powers every idle card off
 * shortly after inserting it or after its last client leaves, and a
 * hopper that threw those away would empty itself. A blank card that did
 * get APDUs is one the line gave up on (a failed personalization) and is
 * set aside, never fed again.
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
#include <time.h>
#include <unistd.h>

#include "chipfactory.h"
#include "image.h"
#include "mic-vcard.h"

/* --pull options one hopper takes; more would be a test gone wrong. */
#define PULL_MAX 16
/*
 * How long a pulled card leaves the reader empty. vpcd drops a connection
 * that fails mid-exchange and takes the next one at its next presence
 * poll, so a card that came straight back would never be seen gone: two
 * polls of pcscd (0.4 s each) with a margin, as vcard/vpcd.c does for a
 * lost write.
 */
#define PULL_GAP_MS 1000
#define PAUSE_SLICE_MS 100
/*
 * A card with a garbage ATR cannot be connected to, so no terminal sends
 * it an APDU: it leaves when a terminal powers it down after giving up
 * (SCARD_UNPOWER_CARD), the issuance line's "move it on". pcscd powers a
 * new card off by itself shortly after insertion when nobody connects;
 * that one comes sooner than this and does not count.
 */
#define BAD_ATR_STAY_MS 700

/* --pull N:M: card N (from 1) leaves at its command APDU M (from 1). */
struct pull {
	unsigned long card;
	unsigned long apdu;
};

struct hopper {
	struct vct_log log;
	const char *dir;
	const char *pki;                 /* chip factory keys; NULL none */
	vcf_factory *factory;            /* of pki, read once */
	char serial[VC_SERIAL_MAX + 1];  /* of the card in the reader */
	unsigned long count;             /* stop after this many; 0 never */
	unsigned long issued;
	unsigned long inserted;          /* cards put into the reader */
	unsigned long apdus;             /* command APDUs of the card in the
	                                  * reader since it went in */
	struct pull pull[PULL_MAX];
	size_t npull;
	int pulled;                      /* the card in the reader was pulled */
	int bad_atr_off;                 /* a garbage-ATR card was let go */
	/* Fault hooks, per card: --mute N:M, --bad-atr N. */
	struct pull mute[PULL_MAX];
	size_t nmute;
	unsigned long bad_atr[PULL_MAX];
	size_t nbad_atr;
	struct timespec in_since;        /* when the card in the reader went in */
	unsigned flags;
	int failed;
};

static void
usage_hopper(FILE *f)
{
	fprintf(f,
	    "usage: mic-vcard hopper --out DIR [--host H] [--port N] [--count N]\n"
	    "                        [--serial-base S] [--pki DIR] [--pull N:M]...\n"
	    "                        [--mute N:M]... [--bad-atr N]...\n"
	    "                        [--t0-quirks] [-v]\n"
	    "\n"
	    "Feed blank cards into the vpcd reader slot at H:N, like the hopper\n"
	    "of an issuance machine. The card in the reader leaves it when it is\n"
	    "powered off (or the reader connection closes) after a terminal\n"
	    "worked on it: it left the blank state, or it got any command APDU\n"
	    "since it went in (a blank card that did is set aside, e.g. after a\n"
	    "failed personalization). Its image is written as DIR/<serial>.img\n"
	    "and a new blank card with the next serial is inserted. A blank card\n"
	    "that got no APDU stays, however often pcscd powers it on and off.\n"
	    "Stops after --count cards, or on SIGTERM/SIGINT (a card in the\n"
	    "reader that a terminal worked on is written first). SIGUSR1 pulls\n"
	    "the card out and puts it back. Existing images are never\n"
	    "overwritten: their serials are skipped.\n"
	    "\n"
	    "  --out DIR          where the images go (must exist)\n"
	    "  --host H           where vpcd listens (default %s)\n"
	    "  --port N           the reader slot's port (default %d)\n"
	    "  --count N          stop after N cards have left (default: never)\n"
	    "  --serial-base S    the first serial; its trailing digits count up\n"
	    "                     (default %s)\n"
	    "  --pki DIR          each blank card gets the chip factory's SCP11\n"
	    "                     key, CERT.SD.ECKA, root and date from DIR (a\n"
	    "                     PKI of 'mic pki init'), as 'mic-vcard new --pki\n"
	    "                     DIR' gives them; without it cards have no SCP11\n"
	    "                     key and answer 6A88\n"
	    "  --pull N:M         the Nth card this hopper inserts (from 1) is\n"
	    "                     pulled out of the reader when its Mth command\n"
	    "                     APDU (from 1) arrives, before the card sees it:\n"
	    "                     the terminal gets no answer. The card is set\n"
	    "                     aside (its image written) and, after %d ms\n"
	    "                     with the reader empty, the next blank card goes\n"
	    "                     in. May be given up to %d times, for distinct N\n"
	    "  --mute N:M         FAULT: the Nth card goes mute at its Mth command\n"
	    "                     APDU: it stays in the reader and never answers\n"
	    "                     again (vpcd waits for ever) until the hopper\n"
	    "                     stops\n"
	    "  --bad-atr N        FAULT: the Nth card answers the reset with\n"
	    "                     bytes that are no ATR; it leaves (set aside)\n"
	    "                     when powered off %d ms or more after it went\n"
	    "                     in (a terminal giving up on it)\n"
	    "  --t0-quirks        cards answer like T=0 cards\n"
	    "  -v                 trace APDUs (PINs shown as **)\n"
	    "\n"
	    "Exit status: 0 done or stopped by a signal, 1 failure, 2 usage.\n",
	    DEFAULT_HOST, DEFAULT_PORT, DEFAULT_SERIAL, PULL_GAP_MS, PULL_MAX,
	    BAD_ATR_STAY_MS);
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
	char path[PATH_MAX], why[256];
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
	if (h->factory != NULL && vcf_card(h->factory, *card, NULL, why,
	    sizeof(why)) != 0) {
		vct_say(&h->log, "the chip factory failed for card %s: %s",
		    h->serial, why);
		vc_card_free(card);
		return -1;
	}
	h->inserted++;
	h->apdus = 0;
	h->pulled = 0;
	h->bad_atr_off = 0;
	clock_gettime(CLOCK_MONOTONIC, &h->in_since);
	vct_say(&h->log, "blank card %s in the reader%s (card %lu of this "
	    "hopper)", h->serial, h->pki != NULL ? ", with SCP11 keys" : "",
	    h->inserted);
	return 0;
}

/*
 * Does the card leave at power-off? Only a blank card no terminal sent a
 * command to stays: pcscd alone powering it up and down is not work.
 */
static long
ms_in_reader(const struct hopper *h)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - h->in_since.tv_sec) * 1000 +
	    (now.tv_nsec - h->in_since.tv_nsec) / 1000000;
}

static int
bad_atr_now(const struct hopper *h)
{
	for (size_t i = 0; i < h->nbad_atr; i++)
		if (h->bad_atr[i] == h->inserted)
			return 1;
	return 0;
}

static int
worked_on(const struct hopper *h, const vc_card *card)
{
	return h->pulled || h->apdus > 0 ||
	    h->bad_atr_off ||
	    vc_card_state(card) != VC_STATE_BLANK;
}

/* The card leaves the hopper: write its image. */
static int
eject_card(struct hopper *h, const vc_card *card)
{
	char path[PATH_MAX], what[64];
	const uint8_t *nv = NULL;
	const char *state = vct_state_name(vc_card_state(card));
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
	/* Whoever sorts the output tells issued cards from rejects here. */
	if (h->pulled)
		snprintf(what, sizeof(what), "%s, pulled out: set aside",
		    state);
	else if (vc_card_state(card) == VC_STATE_BLANK)
		snprintf(what, sizeof(what), "%s after %lu APDU(s): set aside",
		    state, h->apdus);
	else
		snprintf(what, sizeof(what), "%s", state);
	if (h->count != 0)
		vct_say(&h->log, "card %s out (%s): %s [%lu/%lu]", h->serial,
		    what, path, h->issued, h->count);
	else
		vct_say(&h->log, "card %s out (%s): %s [%lu]", h->serial,
		    what, path, h->issued);
	if (next_serial(h->serial) != 0) {
		vct_say(&h->log, "serials exhausted");
		return -1;
	}
	return 0;
}

/* After a card left: is there to be a next one? */
static int
want_next(const struct hopper *h)
{
	return (h->count == 0 || h->issued < h->count) &&
	    *vct_stop_flag() == 0;
}

static int
on_event(void *arg, int event, vc_card **card)
{
	struct hopper *h = arg;

	switch (event) {
	case VC_EV_POWER_OFF:
		if (bad_atr_now(h) && ms_in_reader(h) >= BAD_ATR_STAY_MS)
			h->bad_atr_off = 1;
		break;
	case VC_EV_LEFT:
		break;
	default:
		return VC_ACT_CONTINUE;
	}
	if (!worked_on(h, *card))
		return VC_ACT_CONTINUE;
	if (eject_card(h, *card) != 0) {
		h->failed = 1;
		return VC_ACT_STOP;
	}
	vc_card_free(card);
	/* Done, or stopping: no next card. */
	if (!want_next(h))
		return VC_ACT_STOP;
	if (new_card(h, card) != 0) {
		h->failed = 1;
		return VC_ACT_STOP;
	}
	/* Off the contacts: out of the reader, and the next one in. A
	 * closed connection already took the card out. */
	return event == VC_EV_POWER_OFF ? VC_ACT_REINSERT : VC_ACT_CONTINUE;
}

/*
 * Every command APDU, before the card sees it: it counts as work on the
 * card, and it is where --pull takes the card out. vpcd's sequence number
 * runs over the whole run; the pull counts per card.
 */
static int
on_apdu(void *arg, int phase, unsigned long seq)
{
	struct hopper *h = arg;

	(void)seq;
	if (phase != VC_APDU_BEFORE)
		return VC_ACT_CONTINUE;
	h->apdus++;
	for (size_t i = 0; i < h->npull; i++) {
		if (h->pull[i].card != h->inserted ||
		    h->pull[i].apdu != h->apdus)
			continue;
		vct_say(&h->log, "--pull %lu:%lu: card %s pulled out of the "
		    "reader at its APDU %lu, unanswered", h->pull[i].card,
		    h->pull[i].apdu, h->serial, h->apdus);
		h->pulled = 1;
		/* Ends the run with no answer sent; cmd_hopper goes on. */
		return VC_ACT_STOP;
	}
	for (size_t i = 0; i < h->nmute; i++) {
		if (h->mute[i].card != h->inserted ||
		    h->mute[i].apdu != h->apdus)
			continue;
		vct_say(&h->log, "--mute %lu:%lu: card %s hangs at its APDU "
		    "%lu", h->mute[i].card, h->mute[i].apdu, h->serial,
		    h->apdus);
		return VC_ACT_MUTE;
	}
	return VC_ACT_CONTINUE;
}

/* Not an ATR: TS is neither 3B nor 3F (ISO/IEC 7816-3 8.1). */
static size_t
on_atr(void *arg, uint8_t *atr, size_t cap)
{
	static const uint8_t junk[] = { 0x00, 0xFF, 0x13, 0x37 };
	const struct hopper *h = arg;

	if (!bad_atr_now(h) || cap < sizeof(junk))
		return 0;
	memcpy(atr, junk, sizeof(junk));
	return sizeof(junk);
}

/* N:M, both from 1, into @p set of @p *n, N not in it yet; 0 ok. */
static int
parse_card_apdu(struct pull *set, size_t *n, const char *s)
{
	char num[32];
	const char *colon = strchr(s, ':');
	size_t len = colon != NULL ? (size_t)(colon - s) : 0;
	struct pull p;

	if (colon == NULL || len == 0 || len >= sizeof(num) ||
	    *n >= PULL_MAX)
		return -1;
	memcpy(num, s, len);
	num[len] = '\0';
	if (vct_parse_ulong(num, &p.card) != 0 || p.card == 0 ||
	    vct_parse_ulong(colon + 1, &p.apdu) != 0 || p.apdu == 0)
		return -1;
	for (size_t i = 0; i < *n; i++)
		if (set[i].card == p.card)
			return -1;
	set[(*n)++] = p;
	return 0;
}

static int
parse_pull(struct hopper *h, const char *s)
{
	return parse_card_apdu(h->pull, &h->npull, s);
}

static int
parse_bad_atr(struct hopper *h, const char *s)
{
	unsigned long n;

	if (vct_parse_ulong(s, &n) != 0 || n == 0 || h->nbad_atr >= PULL_MAX)
		return -1;
	h->bad_atr[h->nbad_atr++] = n;
	return 0;
}

/* Sleep @p ms in slices, waking early when a signal asks to stop. */
static void
pause_ms(unsigned ms)
{
	for (unsigned t = 0; t < ms && *vct_stop_flag() == 0;
	    t += PAUSE_SLICE_MS) {
		unsigned d = ms - t < PAUSE_SLICE_MS ? ms - t : PAUSE_SLICE_MS;
		struct timespec ts = { .tv_sec = 0,
		    .tv_nsec = (long)d * 1000000L };

		/* A signal cuts the slice short; the loop looks at the flag. */
		(void)nanosleep(&ts, NULL);
	}
}

/*
 * A pulled card is out of the reader and the run is over: set it aside,
 * leave the reader empty long enough for pcscd to see it, and put the
 * next blank card in. 0: a next card is in *card; 1: none is wanted;
 * -1: failure.
 */
static int
after_pull(struct hopper *h, vc_card **card)
{
	if (eject_card(h, *card) != 0)
		return -1;
	vc_card_free(card);
	if (!want_next(h))
		return 1;
	vct_say(&h->log, "reader empty for %d ms", PULL_GAP_MS);
	pause_ms(PULL_GAP_MS);
	if (!want_next(h))
		return 1;
	return new_card(h, card) == 0 ? 0 : -1;
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
		{ "pki", required_argument, NULL, 'K' },
		{ "pull", required_argument, NULL, 'P' },
		{ "mute", required_argument, NULL, 'M' },
		{ "bad-atr", required_argument, NULL, 'B' },
		{ "t0-quirks", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct hopper h;
	vc_vpcd_cfg cfg;
	vc_card *card = NULL;
	const char *host = DEFAULT_HOST, *base = DEFAULT_SERIAL;
	char port[PORT_STR_MAX], why[256];
	mic_rc rc;
	int c, next;

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
		case 'K':
			h.pki = optarg;
			break;
		case 'P':
			if (parse_pull(&h, optarg) != 0) {
				fprintf(stderr, "mic-vcard hopper: bad --pull "
				    "'%s' (N:M, both from 1; at most %d, each "
				    "for another card N)\n", optarg, PULL_MAX);
				return EXIT_USAGE;
			}
			break;
		case 'M':
			if (parse_card_apdu(h.mute, &h.nmute, optarg) != 0) {
				fprintf(stderr, "mic-vcard hopper: bad --mute "
				    "'%s' (N:M, both from 1; at most %d, each "
				    "for another card N)\n", optarg, PULL_MAX);
				return EXIT_USAGE;
			}
			break;
		case 'B':
			if (parse_bad_atr(&h, optarg) != 0) {
				fprintf(stderr, "mic-vcard hopper: bad --bad-atr "
				    "'%s' (N, from 1; at most %d)\n", optarg,
				    PULL_MAX);
				return EXIT_USAGE;
			}
			break;
		case 'q':
			h.flags |= VC_CARD_T0_QUIRKS;
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
	vct_say(&h.log, "hopper into %s%s%s%s", h.dir,
	    h.pki != NULL ? ", chip factory keys from " : "",
	    h.pki != NULL ? h.pki : "",
	    h.flags & VC_CARD_T0_QUIRKS ? ", T=0 quirks on" : "");
	for (size_t i = 0; i < h.npull; i++)
		vct_say(&h.log, "--pull: card %lu of this hopper leaves at its "
		    "APDU %lu", h.pull[i].card, h.pull[i].apdu);
	for (size_t i = 0; i < h.nmute; i++)
		vct_say(&h.log, "--mute: card %lu of this hopper hangs at its "
		    "APDU %lu", h.mute[i].card, h.mute[i].apdu);
	for (size_t i = 0; i < h.nbad_atr; i++)
		vct_say(&h.log, "--bad-atr: card %lu of this hopper has a "
		    "garbage ATR", h.bad_atr[i]);
	/* The PKI is read once, and the first card is its check: a PKI
	 * that cannot make one fails here, before any reader sees a card. */
	if (h.pki != NULL && vcf_new(&h.factory, h.pki, why,
	    sizeof(why)) != 0) {
		fprintf(stderr, "mic-vcard hopper: the chip factory: %s\n",
		    why);
		return EXIT_FAILURE;
	}
	if (new_card(&h, &card) != 0) {
		fprintf(stderr, "mic-vcard hopper: no first card%s\n",
		    h.pki != NULL ? " (see above: is --pki a directory of "
		    "'mic pki init'?)" : "");
		vcf_free(&h.factory);
		return EXIT_FAILURE;
	}
	vct_vpcd_cfg(&cfg, host, port, on_event, on_apdu, &h);
	cfg.atr = on_atr;
	/* A pull ends the run (the only way the APDU hook can take a card
	 * out unanswered); the hopper then starts a new run with the next
	 * card, a new connection that pcscd sees as an insertion. */
	for (;;) {
		rc = vc_vpcd_run(&card, &cfg);
		if (rc != MIC_OK || !h.pulled || card == NULL)
			break;
		if ((next = after_pull(&h, &card)) != 0) {
			if (next < 0)
				h.failed = 1;
			break;
		}
	}
	/* Stopped with a card that was worked on: it is not lost. */
	if (card != NULL && worked_on(&h, card) && eject_card(&h, card) != 0)
		h.failed = 1;
	vc_card_free(&card);
	vcf_free(&h.factory);
	vct_say(&h.log, "hopper stops: %lu card(s) written to %s", h.issued,
	    h.dir);
	return rc == MIC_OK && !h.failed ? EXIT_SUCCESS : EXIT_FAILURE;
}
