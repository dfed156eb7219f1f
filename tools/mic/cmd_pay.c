/*
 * mic pay, mic credit: a DEBIT (or the agency's CREDIT) in the terminal's
 * SCP11a channel, its card-signed receipt verified and appended to the
 * settlement file (fsync'd) before the payment is reported done.
 * mic log: a card's balance and transaction log.
 *
 * The payment is fixed before the DEBIT goes out and kept, fsync'd, in
 * SETTLE.pending until the card's answer is known: a card pulled or a
 * power cut in between leaves it there, and 'mic pay --resume' sends the
 * very same DEBIT again, which the card answers with the same receipt
 * and no second debit (docs/card-profile.md 3.11).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include <mic/card.h>
#include <mic/receipt.h>
#include <mic/scp.h>

#include "internal.h"
#include "mic-tool.h"
#include "pending.h"

/* Exit status of a payment whose outcome the card has not told yet. */
#define EXIT_PENDING 3
/* Exit statuses of a card that is not genuine: a counter treats a clone
 * (the chip) and altered files (the data) differently, so it must tell. */
#define EXIT_NOT_GENUINE_CHIP 4
#define EXIT_NOT_GENUINE_DATA 5

enum mode { MODE_PAY, MODE_CREDIT };

struct opts {
	enum mode mode;
	const char *verb, *reader, *term_dir, *term_id, *settle, *resume_ref;
	const char *ref_hex;
	int64_t amount;
	int have_amount, resume, json;
	int pinpad;                  /* the PIN on the reader's pad */
	unsigned payer;
};

static void
pay_usage(FILE *f, enum mode m)
{
	if (m == MODE_PAY)
		fprintf(f, "usage: mic pay --terminal DIR --id TERMID --settle FILE "
		    "--amount YUAN [--payer N]\n"
		    "               [--ref HEX] [--pinpad] [-r READER] [--json]\n"
		    "       mic pay --terminal DIR --settle FILE --resume[=REF] "
		    "[--pinpad] [-r READER] [--json]\n");
	else
		fprintf(f, "usage: mic credit --terminal DIR --id TERMID --settle "
		    "FILE --amount YUAN [--ref HEX]\n"
		    "                  [-r READER] [--json]\n"
		    "       mic credit --terminal DIR --settle FILE --resume[=REF] "
		    "[-r READER] [--json]\n");
	fprintf(f, "  DIR: %s terminal's trust store ('mic pki export-terminal').\n"
	    "  TERMID: the terminal id the card logs and signs (8 characters).\n"
	    "  YUAN: the amount, e.g. 30 or 12.50 (at most two decimals).\n",
	    m == MODE_PAY ? "a hospital's or pharmacy's" : "the agency's");
	if (m == MODE_PAY)
		fprintf(f, "  --payer N: 0 the holder (default), or the family "
		    "member bound in EF.FAMILY record N.\n"
		    "  The PIN comes from MIC_PIN or one line of standard input;\n"
		    "  --pinpad: the holder types it on the reader's PIN pad (PC/SC\n"
		    "  part 10), and it never passes through this host.\n");
	fprintf(f, "  The receipt is verified and appended to FILE (fsync'd) "
	    "before the result.\n"
	    "  Until the card answers, the operation waits in FILE.pending:\n"
	    "  after a card pulled or a power cut (exit status 3), present "
	    "the card\n"
	    "  again and run with --resume: the card returns the receipt of "
	    "what it did,\n"
	    "  never a second %s. Exit status: 0 done, 1 refused or failed, 2 "
	    "usage,\n"
	    "  3 not finished (resume it), 4 not genuine: the chip failed "
	    "chip\n"
	    "  authentication, 5 not genuine: the card's data failed passive\n"
	    "  authentication (EF.SOD, EF.CERT).\n", m == MODE_PAY ? "debit" :
	    "credit");
}

/* "12", "12.5", "12.50" yuan to fen; -1 not a number, -2 not > 0 or too
 * large. */
static int
parse_yuan(const char *s, int64_t *fen)
{
	int64_t v = 0;
	int frac = -1, neg = 0;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s == '.' && frac < 0) {
			frac = 0;
			continue;
		}
		if (*s < '0' || *s > '9' || frac == 2)
			return -1;
		if (frac >= 0)
			frac++;
		if (v > (INT64_MAX - 9) / 10)
			return -2;
		v = v * 10 + (*s - '0');
	}
	for (frac = frac < 0 ? 0 : frac; frac < 2; frac++) {
		if (v > INT64_MAX / 10)
			return -2;
		v *= 10;
	}
	if (neg || v == 0)
		return -2;
	*fen = v;
	return 0;
}

static int
unhex16(const char *s, uint8_t out[MIC_RECEIPT_REF_LEN])
{
	size_t n = 0;

	if (s == NULL || mici_hex_decode(s, out, MIC_RECEIPT_REF_LEN, &n) !=
	    MIC_OK || n != MIC_RECEIPT_REF_LEN)
		return -1;
	return 0;
}

static void
hex16(const uint8_t *ref, char out[2 * MIC_RECEIPT_REF_LEN + 1])
{
	for (size_t i = 0; i < MIC_RECEIPT_REF_LEN; i++)
		snprintf(out + 2 * i, 3, "%02X", ref[i]);
}

static void
yuan(char *buf, size_t cap, int64_t fen)
{
	snprintf(buf, cap, "%" PRId64 ".%02" PRId64 " yuan", fen / 100,
	    fen % 100);
}

/* --- the pending operation -------------------------------------------- */

static char *
pending_path(const char *settle)
{
	size_t n = strlen(settle) + sizeof(".pending");
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s.pending", settle);
	return p;
}

static int
sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, ret = -1;

	if (copy == NULL)
		return -1;
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY)) >= 0) {
		ret = fsync(fd);
		close(fd);
	}
	free(copy);
	return ret;
}

/* Write @p p to @p path, 0600, fsync'd with its directory: it must
 * survive a power cut of the terminal as much as of the card. */
static int
pending_save(const char *path, const mic_payment *p, enum mode m)
{
	char ref[2 * MIC_RECEIPT_REF_LEN + 1];
	json_t *o;
	char *text;
	int fd = -1, ret = -1;
	size_t len;

	hex16(p->reference, ref);
	o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:i}", "type",
	    m == MODE_PAY ? "debit" : "credit", "card", p->card_id, "amount",
	    (json_int_t)p->amount, "time", p->time, "terminal", p->terminal,
	    "reference", ref, "payer", (int)p->payer);
	if (o == NULL || (text = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		return -1;
	}
	json_decref(o);
	len = strlen(text);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd >= 0 && write(fd, text, len) == (ssize_t)len &&
	    write(fd, "\n", 1) == 1 && fsync(fd) == 0 && sync_dir(path) == 0)
		ret = 0;
	if (fd >= 0)
		close(fd);
	free(text);
	return ret;
}

/* 0 loaded, 1 none, -1 unreadable or not ours. */
static int
pending_load(const char *path, mic_payment *p, enum mode *m)
{
	char buf[PENDING_MAX];
	ssize_t n;
	int fd, credit = 0, ret;

	memset(p, 0, sizeof(*p));
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 1 : -1;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0 || (size_t)n == sizeof(buf))
		return -1;
	ret = pending_parse(buf, (size_t)n, p, &credit);
	*m = credit ? MODE_CREDIT : MODE_PAY;
	return ret == 0 ? 0 : -1;
}

/* --- output ------------------------------------------------------------ */

struct outcome {
	const char *name, *state, *result;   /* result: paid, refused, pending */
	mic_rc rc;
	int tries;                           /* after a wrong PIN */
	int64_t balance;                     /* read after a refusal ... */
	int have_balance;                    /* ... when the card gave it */
	const mic_payment *p;
	const mic_receipt_t *r;
	char payer_name[128];
	mic_card_check check;                /* a card not genuine: which */
};

/* Could the card or the host not finish talking, whatever the card is? A
 * card pulled or a power cut during the checks says nothing about it. */
static int
no_answer(mic_rc rc)
{
	return rc == MIC_ERR_NOMEM || rc == MIC_ERR_INTERNAL ||
	    rc == MIC_ERR_IO || rc == MIC_ERR_SM_CLOSED ||
	    rc == MIC_ERR_CRYPTO || rc == MIC_ERR_RETRY_LIMIT ||
	    (rc <= MIC_ERR_NO_SERVICE && rc >= MIC_ERR_TRANSACTION);
}

/* Which authentication a failed check belongs to: "chip" (the chip does
 * not prove the certified key of its serial: a clone), "data" (the files
 * are not what the issuer signed for this chip), or NULL (neither: the
 * card could not be read, or did not finish answering). */
static const char *
not_genuine(mic_card_check check, mic_rc rc)
{
	if (no_answer(rc))
		return NULL;
	switch (check) {
	case MIC_CHECK_CHIP_CERT:
	case MIC_CHECK_CHIP_SERIAL:
	case MIC_CHECK_CHIP_KEY:
		return "chip";
	case MIC_CHECK_SOD:
	case MIC_CHECK_CARD_CERT:
		return "data";
	default:
		return NULL;
	}
}

static int
report(const struct opts *o, const struct outcome *out)
{
	const char *forged = not_genuine(out->check, out->rc);
	char ref[2 * MIC_RECEIPT_REF_LEN + 1] = "", a[48], b[48];
	int paid = strcmp(out->result, "done") == 0;

	if (out->p != NULL)
		hex16(out->p->reference, ref);
	if (o->json) {
		json_t *j = json_object();

		json_object_set_new(j, "result", json_string(out->result));
		if (out->name != NULL)
			json_object_set_new(j, "name", json_string(out->name));
		if (out->state != NULL)
			json_object_set_new(j, "state",
			    json_string(out->state));
		if (out->p != NULL) {
			json_object_set_new(j, "card",
			    json_string(out->p->card_id));
			json_object_set_new(j, "amount",
			    json_integer(out->p->amount));
			json_object_set_new(j, "payer",
			    json_integer(out->p->payer));
			json_object_set_new(j, "reference", json_string(ref));
		}
		if (out->r != NULL) {
			json_object_set_new(j, "balance",
			    json_integer(mic_receipt_balance(out->r)));
			json_object_set_new(j, "counter",
			    json_integer(mic_receipt_counter(out->r)));
		} else if (out->have_balance) {
			json_object_set_new(j, "balance",
			    json_integer(out->balance));
		}
		if (!paid) {
			json_object_set_new(j, "error",
			    json_string(mic_strerror_name(out->rc)));
			json_object_set_new(j, "message",
			    json_string(mic_strerror(out->rc)));
		}
		if (forged != NULL) {
			json_object_set_new(j, "not_genuine",
			    json_string(forged));
			json_object_set_new(j, "check",
			    json_string(mic_card_check_name(out->check)));
		}
		if (out->rc == MIC_ERR_PIN_WRONG)
			json_object_set_new(j, "tries_left",
			    json_integer(out->tries));
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
		json_decref(j);
	} else {
		if (out->name != NULL)
			printf("name: %s\n", out->name);
		if (out->state != NULL)
			printf("card state: %s\n", out->state);
		if (out->p != NULL && o->mode == MODE_PAY)
			printf("payer: %s\n", out->p->payer == 0 ? "the holder" :
			    out->payer_name);
		if (out->p != NULL)
			printf("reference: %s\n", ref);
		if (out->r != NULL || out->have_balance) {
			yuan(b, sizeof(b), out->r != NULL ?
			    mic_receipt_balance(out->r) : out->balance);
			printf("balance: %s\n", b);
		}
		if (paid) {
			yuan(a, sizeof(a), out->p->amount);
			printf("%s %s; balance %s (receipt %u in the settlement "
			    "file)\n", o->mode == MODE_PAY ? "PAID" : "CREDITED",
			    a, b, (unsigned)mic_receipt_counter(out->r));
		} else if (strcmp(out->result, "pending") == 0) {
			printf("NOT FINISHED: %s; present the card again and run "
			    "'mic %s --resume'\n", mic_strerror(out->rc),
			    o->mode == MODE_PAY ? "pay" : "credit");
		} else if (forged != NULL) {
			printf("REFUSED: card not genuine: %s: %s: %s (%s)\n",
			    strcmp(forged, "chip") == 0 ?
			    "chip authentication failed" :
			    "its data failed passive authentication",
			    mic_card_check_name(out->check),
			    mic_strerror(out->rc), mic_strerror_name(out->rc));
		} else if (out->rc == MIC_ERR_PIN_WRONG) {
			printf("REFUSED: wrong PIN, %d %s left\n", out->tries,
			    out->tries == 1 ? "try" : "tries");
		} else {
			printf("REFUSED: %s\n", mic_strerror(out->rc));
		}
	}
	fflush(stdout);
	if (forged != NULL)
		return strcmp(forged, "chip") == 0 ? EXIT_NOT_GENUINE_CHIP :
		    EXIT_NOT_GENUINE_DATA;
	return paid ? 0 : strcmp(out->result, "pending") == 0 ? EXIT_PENDING :
	    1;
}

/* A card that is not active pays nothing; its FCI said which rule. */
static mic_rc
state_rc(mic_state st)
{
	return st == MIC_STATE_BLOCKED ? MIC_ERR_CARD_BLOCKED :
	    st == MIC_STATE_TERMINATED ? MIC_ERR_CARD_TERMINATED :
	    MIC_ERR_CARD_NOT_ACTIVE;
}

/*
 * The balance for the cashier after a refusal (a receipt carries it after
 * a payment): read in the terminal's channel, only on this path, so a
 * payment costs no extra APDU.
 */
static void
refusal_balance(mic_card_t *card, struct outcome *out)
{
	mic_account_t *a = mic_account_new();

	if (a != NULL && mic_card_read_account(card, a) == MIC_OK) {
		out->balance = mic_account_balance(a);
		out->have_balance = 1;
	}
	mic_account_free(&a);
}

/* Did the card decide (a status word, a rule), or is the outcome unknown
 * (the card gone, the channel broken, an answer that did not arrive)? */
static int
card_decided(mic_rc rc)
{
	return mic_rc_is_sw(rc) || (rc <= MIC_ERR_INSUFFICIENT_BALANCE &&
	    rc >= MIC_ERR_REFERENCE_REUSED);
}

/* --- the operation ----------------------------------------------------- */

static int
parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "reader", required_argument, NULL, 'r' },
		{ "terminal", required_argument, NULL, 'T' },
		{ "id", required_argument, NULL, 'i' },
		{ "settle", required_argument, NULL, 's' },
		{ "amount", required_argument, NULL, 'a' },
		{ "payer", required_argument, NULL, 'p' },
		{ "ref", required_argument, NULL, 'R' },
		{ "resume", optional_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ "pinpad", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	unsigned long v;
	int c, e;

	while ((c = getopt_long(argc, argv, "r:h", lo, NULL)) != -1) {
		switch (c) {
		case 'r': o->reader = optarg; break;
		case 'T': o->term_dir = optarg; break;
		case 'i': o->term_id = optarg; break;
		case 's': o->settle = optarg; break;
		case 'R': o->ref_hex = optarg; break;
		case 'j': o->json = 1; break;
		case 'P':
			if (o->mode != MODE_PAY) {
				fprintf(stderr, "mic %s: --pinpad: a credit "
				    "takes no PIN\n", o->verb);
				return EXIT_USAGE;
			}
			o->pinpad = 1;
			break;
		case 'u':
			o->resume = 1;
			o->resume_ref = optarg;
			break;
		case 'a':
			if ((e = parse_yuan(optarg, &o->amount)) == -2) {
				fprintf(stderr, "mic %s: %s: %s\n", o->verb,
				    optarg, mic_strerror(MIC_ERR_AMOUNT));
				return 1;
			}
			if (e != 0) {
				fprintf(stderr, "mic %s: --amount %s: not an "
				    "amount in yuan (e.g. 30 or 12.50)\n",
				    o->verb, optarg);
				return EXIT_USAGE;
			}
			o->have_amount = 1;
			break;
		case 'p':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (o->mode != MODE_PAY || errno != 0 || *end != '\0' ||
			    end == optarg || v > 255) {
				fprintf(stderr, "mic %s: --payer: 0 (the holder) "
				    "or an EF.FAMILY record 1-255\n", o->verb);
				return EXIT_USAGE;
			}
			o->payer = (unsigned)v;
			break;
		case 'h':
			pay_usage(stdout, o->mode);
			return -1;
		default:
			pay_usage(stderr, o->mode);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || o->term_dir == NULL || o->settle == NULL ||
	    (o->resume && (o->have_amount || o->term_id != NULL ||
	    o->ref_hex != NULL || o->payer != 0)) ||
	    (!o->resume && (!o->have_amount || o->term_id == NULL))) {
		pay_usage(stderr, o->mode);
		return EXIT_USAGE;
	}
	return 0;
}

static int
run(struct opts *o)
{
	uint8_t ref[MIC_RECEIPT_REF_LEN], cert[MIC_CERT_MAX];
	struct outcome out;
	mic_terminal_t *term = NULL;
	mic_card_t *card = NULL;
	mic_receipt_t *r = NULL;
	mic_card_check check = MIC_CHECK_NONE;
	mic_tx_t *tx = NULL;
	mic_payment p;
	enum mode pm = o->mode;
	char *pend = NULL, pin[32] = "", why[256] = "";
	size_t cert_len = 0;
	int ret = 1, have;
	mic_rc rc;

	memset(&out, 0, sizeof(out));
	out.result = "refused";
	out.tries = -1;
	if ((pend = pending_path(o->settle)) == NULL)
		return tool_fail(o->verb, "memory", MIC_ERR_NOMEM);
	if (o->ref_hex != NULL && unhex16(o->ref_hex, ref) != 0) {
		fprintf(stderr, "mic %s: --ref: 32 hex digits\n", o->verb);
		ret = EXIT_USAGE;
		goto out;
	}
	/* A pending operation is finished first: another one could be the
	 * second debit of a customer whose first went through. */
	have = pending_load(pend, &p, &pm);
	if (have < 0) {
		fprintf(stderr, "mic %s: %s: unreadable; it holds an "
		    "unfinished operation\n", o->verb, pend);
		goto out;
	}
	if (o->resume) {
		char hex[2 * MIC_RECEIPT_REF_LEN + 1];

		if (have != 0 || pm != o->mode) {
			fprintf(stderr, "mic %s: nothing to resume in %s\n",
			    o->verb, pend);
			goto out;
		}
		hex16(p.reference, hex);
		if (o->resume_ref != NULL &&
		    strcasecmp(o->resume_ref, hex) != 0) {
			fprintf(stderr, "mic %s: the pending operation is "
			    "reference %s, not %s\n", o->verb, hex,
			    o->resume_ref);
			goto out;
		}
	} else if (have == 0) {
		char hex[2 * MIC_RECEIPT_REF_LEN + 1];

		hex16(p.reference, hex);
		fprintf(stderr, "mic %s: an unfinished %s (reference %s) waits "
		    "in %s: finish it first with --resume\n", o->verb,
		    pm == MODE_PAY ? "payment" : "credit", hex, pend);
		goto out;
	}
	if ((term = tool_terminal_load(o->verb, o->term_dir)) == NULL)
		goto out;
	if (o->mode == MODE_PAY && !o->pinpad &&
	    tool_get_pin(pin, sizeof(pin)) != 0) {
		fprintf(stderr, "mic %s: no PIN (set MIC_PIN or give it on "
		    "stdin)\n", o->verb);
		goto out;
	}
	if ((tx = tool_open_reader(o->verb, o->reader)) == NULL)
		goto out;
	if ((rc = mic_tx_begin(tx)) != MIC_OK) {
		tool_fail(o->verb, "starting a transaction", rc);
		goto out;
	}
	if ((rc = mic_card_open(&card, tx)) != MIC_OK) {
		tool_fail(o->verb, "selecting the insurance application", rc);
		goto end;
	}
	out.state = mic_state_name(mic_card_state(card));
	if (mic_card_state(card) != MIC_STATE_ACTIVE) {
		out.rc = state_rc(mic_card_state(card));
		ret = report(o, &out);
		goto end;
	}
	/* Genuine in chip and in data before the PIN: the chip proves its
	 * certified key and the terminal its role, then every file, the
	 * holder's too, is checked against EF.SOD inside that channel; all
	 * that follows stays in it. */
	if ((rc = mic_card_verify_terminal(card, NULL, term, &check)) !=
	    MIC_OK) {
		if (not_genuine(check, rc) == NULL) {
			fprintf(stderr, "mic %s: the card could not be read: "
			    "%s: %s (%s)\n", o->verb,
			    mic_card_check_name(check), mic_strerror(rc),
			    mic_strerror_name(rc));
			goto end;
		}
		out.rc = rc;
		out.check = check;
		ret = report(o, &out);
		goto end;
	}
	if ((rc = mic_card_read(card, MIC_READ_CARD | MIC_READ_HOLDER)) !=
	    MIC_OK) {
		tool_fail(o->verb, "reading the card", rc);
		goto end;
	}
	out.name = mic_holder_name(mic_card_holder(card));
	if ((rc = mic_card_read_der(tx, MIC_SFI_CERT, cert, 1024,
	    &cert_len)) != MIC_OK) {
		tool_fail(o->verb, "reading EF.CERT", rc);
		goto end;
	}
	if (!o->resume && (rc = mic_payment_init(&p, card, o->amount,
	    (uint8_t)o->payer, o->term_id, o->ref_hex != NULL ? ref : NULL,
	    NULL)) != MIC_OK) {
		if (rc != MIC_ERR_AMOUNT)
			tool_fail(o->verb, "--id: 8 printable characters", rc);
		out.rc = rc;
		ret = rc == MIC_ERR_AMOUNT ? report(o, &out) : 1;
		goto end;
	}
	out.p = &p;
	if (p.payer != 0) {
		mic_member_t *m = mic_member_new();

		if (m != NULL && mic_card_read_family(card, p.payer, m) ==
		    MIC_OK)
			snprintf(out.payer_name, sizeof(out.payer_name),
			    "family member %u, %s", (unsigned)p.payer,
			    mic_member_name(m));
		else
			snprintf(out.payer_name, sizeof(out.payer_name),
			    "family member %u", (unsigned)p.payer);
		mic_member_free(&m);
	}
	if (o->mode == MODE_PAY && o->pinpad &&
	    (rc = mic_card_verify_pin_pad(card, &out.tries)) ==
	    MIC_ERR_UNSUPPORTED) {
		fprintf(stderr, "mic %s: the reader has no PIN pad (PC/SC part "
		    "10 FEATURE_VERIFY_PIN_DIRECT): run without --pinpad and "
		    "give the PIN through MIC_PIN or standard input\n",
		    o->verb);
		goto end;
	}
	if (o->mode == MODE_PAY && !o->pinpad)
		rc = mic_card_verify_pin(card, pin, &out.tries);
	if (o->mode == MODE_PAY && rc != MIC_OK) {
		out.rc = rc;
		refusal_balance(card, &out);
		ret = report(o, &out);
		goto end;
	}
	/* Kept before the command leaves: from here the outcome may be
	 * known to the card only. */
	if (!o->resume && pending_save(pend, &p, o->mode) != 0) {
		fprintf(stderr, "mic %s: %s: %s\n", o->verb, pend,
		    strerror(errno));
		goto end;
	}
	rc = o->mode == MODE_PAY ? mic_card_pay(card, &p, &r) :
	    mic_card_credit(card, &p, &r);
	if (rc == MIC_ERR_CARD_CHANGED) {
		out.rc = rc;
		fprintf(stderr, "mic %s: the pending operation is card %s's; "
		    "present that card\n", o->verb, p.card_id);
		ret = report(o, &out);
		goto end;
	}
	if (rc != MIC_OK) {
		out.rc = rc;
		if (card_decided(rc)) {
			unlink(pend);
			sync_dir(pend);
			refusal_balance(card, &out);
		} else {
			out.result = "pending";
		}
		ret = report(o, &out);
		goto end;
	}
	out.r = r;
	if ((rc = mic_receipt_verify(r, mic_terminal_trust(term), cert,
	    cert_len)) != MIC_OK) {
		out.rc = rc;
		ret = report(o, &out);
		goto end;
	}
	if ((rc = mic_settle_append(o->settle, r, cert, cert_len, why,
	    sizeof(why))) != MIC_OK) {
		fprintf(stderr, "mic %s: %s: %s %s\n", o->verb, o->settle,
		    mic_strerror(rc), why);
		out.rc = rc;
		out.result = "pending";
		ret = report(o, &out);
		goto end;
	}
	/* The receipt is on disk: the operation is done. */
	unlink(pend);
	sync_dir(pend);
	out.result = "done";
	ret = report(o, &out);
end:
	mic_scp_close(tx);
	mic_card_free(&card);
	mic_tx_end(tx);
out:
	mic_receipt_free(&r);
	mic_tx_free(&tx);
	mic_terminal_free(&term);
	mici_wipe(pin, sizeof(pin));
	free(pend);
	return ret;
}

static int
purse_cmd(int argc, char **argv, enum mode m)
{
	struct opts o;
	int rc;

	memset(&o, 0, sizeof(o));
	o.mode = m;
	o.verb = m == MODE_PAY ? "pay" : "credit";
	if ((rc = parse(argc, argv, &o)) != 0)
		return rc < 0 ? 0 : rc;
	return run(&o);
}

int
cmd_pay(int argc, char **argv)
{
	return purse_cmd(argc, argv, MODE_PAY);
}

int
cmd_credit(int argc, char **argv)
{
	return purse_cmd(argc, argv, MODE_CREDIT);
}

/* --- mic log ----------------------------------------------------------- */

int
cmd_log(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "reader", required_argument, NULL, 'r' },
		{ "terminal", required_argument, NULL, 'T' },
		{ "pin", no_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *reader = NULL, *term_dir = NULL, *t;
	mic_terminal_t *term = NULL;
	mic_account_t *acct = NULL;
	mic_logrec_t *l = NULL;
	mic_card_t *card = NULL;
	mic_card_check check;
	mic_tx_t *tx = NULL;
	json_t *j = NULL, *arr = NULL;
	char pin[32] = "", a[48];
	int with_pin = 0, json = 0, c, ret = 1;
	mic_rc rc;

	while ((c = getopt_long(argc, argv, "r:h", lo, NULL)) != -1) {
		switch (c) {
		case 'r': reader = optarg; break;
		case 'T': term_dir = optarg; break;
		case 'p': with_pin = 1; break;
		case 'j': json = 1; break;
		case 'h':
			printf("usage: mic log (--terminal DIR | --pin) "
			    "[-r READER] [--json]\n"
			    "  The balance, the transaction counter and every "
			    "EF.LOG record, newest first,\n"
			    "  in a terminal's SCP11a channel or after the "
			    "holder's PIN (MIC_PIN or stdin).\n");
			return 0;
		default:
			fprintf(stderr, "usage: mic log (--terminal DIR | --pin) "
			    "[-r READER] [--json]\n");
			return EXIT_USAGE;
		}
	}
	if (optind != argc || (term_dir == NULL) == (with_pin == 0)) {
		fprintf(stderr, "usage: mic log (--terminal DIR | --pin) "
		    "[-r READER] [--json]\n");
		return EXIT_USAGE;
	}
	if (term_dir != NULL &&
	    (term = tool_terminal_load("log", term_dir)) == NULL)
		goto out;
	if (with_pin && tool_get_pin(pin, sizeof(pin)) != 0) {
		fprintf(stderr, "mic log: no PIN (set MIC_PIN or give it on "
		    "stdin)\n");
		goto out;
	}
	if ((acct = mic_account_new()) == NULL || (l = mic_logrec_new()) ==
	    NULL || (j = json_object()) == NULL || (arr = json_array()) ==
	    NULL) {
		tool_fail("log", "memory", MIC_ERR_NOMEM);
		goto out;
	}
	if ((tx = tool_open_reader("log", reader)) == NULL)
		goto out;
	if ((rc = mic_tx_begin(tx)) != MIC_OK) {
		tool_fail("log", "starting a transaction", rc);
		goto out;
	}
	if ((rc = mic_card_open(&card, tx)) != MIC_OK) {
		tool_fail("log", "selecting the insurance application", rc);
		goto end;
	}
	if (term != NULL && (rc = mic_card_authenticate(card, NULL, term,
	    &check)) != MIC_OK) {
		tool_fail("log", mic_card_check_name(check), rc);
		goto end;
	}
	if (with_pin && (rc = mic_card_verify_pin(card, pin, NULL)) !=
	    MIC_OK) {
		tool_fail("log", "verifying the PIN", rc);
		goto end;
	}
	if ((rc = mic_card_read_account(card, acct)) != MIC_OK) {
		tool_fail("log", "reading the account", rc);
		goto end;
	}
	yuan(a, sizeof(a), mic_account_balance(acct));
	if (!json)
		printf("balance: %s\ncounter: %u\n", a,
		    (unsigned)mic_account_counter(acct));
	for (unsigned i = 1; i <= MIC_LOG_RECORDS; i++) {
		rc = mic_card_read_log(card, i, l);
		if (rc == MIC_SW_RECORD_NOT_FOUND)
			break;
		if (rc != MIC_OK) {
			tool_fail("log", "reading the log", rc);
			goto end;
		}
		if (json) {
			json_array_append_new(arr, json_pack(
			    "{s:I, s:s, s:I, s:I, s:s, s:s, s:i}", "counter",
			    (json_int_t)mic_logrec_counter(l), "type",
			    mic_logrec_type(l) == MIC_LOG_DEBIT ? "debit" :
			    "credit", "amount", (json_int_t)mic_logrec_amount(l),
			    "balance", (json_int_t)mic_logrec_balance(l),
			    "time", mic_logrec_time(l), "terminal",
			    mic_logrec_terminal(l), "payer",
			    (int)mic_logrec_payer(l)));
			continue;
		}
		yuan(a, sizeof(a), mic_logrec_amount(l));
		t = mic_logrec_time(l);
		printf("%4u  %.4s-%.2s-%.2s %.2s:%.2s:%.2s  %-6s %14s  %s  "
		    "payer %u\n", (unsigned)mic_logrec_counter(l), t, t + 4,
		    t + 6, t + 8, t + 10, t + 12,
		    mic_logrec_type(l) == MIC_LOG_DEBIT ? "debit" : "credit",
		    a, mic_logrec_terminal(l), (unsigned)mic_logrec_payer(l));
	}
	if (json) {
		json_object_set_new(j, "balance",
		    json_integer(mic_account_balance(acct)));
		json_object_set_new(j, "counter",
		    json_integer(mic_account_counter(acct)));
		json_object_set(j, "log", arr);
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
	}
	ret = 0;
end:
	mic_scp_close(tx);
	mic_card_free(&card);
	mic_tx_end(tx);
out:
	json_decref(arr);
	json_decref(j);
	mic_logrec_free(&l);
	mic_account_free(&acct);
	mic_tx_free(&tx);
	mic_terminal_free(&term);
	mici_wipe(pin, sizeof(pin));
	return ret;
}
