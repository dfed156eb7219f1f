/*
 * mic card read: what a card gives its reader (docs/card-profile.md 4.3).
 * Without credentials, the public EF.CARD only; with a terminal's
 * credentials (SCP11a) or the holder's PIN, every file.
 * mic card verify: is the card genuine (docs/card-profile.md 4.6): chip
 * authentication, then passive authentication (docs/pki.md section 4) of
 * the files read inside the chip's channel, against a trust store; the
 * holder's files only with a terminal's credentials.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mic/pki.h>
#include <mic/scp.h>
#include <mic/sod.h>

#include "cardview.h"
#include "internal.h"
#include "mic-tool.h"

static void
card_usage(FILE *f)
{
	fprintf(f, "usage: mic card read [-r READER] [--terminal DIR | --pin] "
	    "[--json] [--trace]\n"
	    "       mic card verify [-r READER] --trust DIR | --terminal DIR\n"
	    "  read: without credentials, the public card data only (EF.CARD:\n"
	    "  what is printed on the card), and what it did not show. With\n"
	    "  --terminal DIR (a terminal's trust store, 'mic pki\n"
	    "  export-terminal'), the chip is authenticated and everything is\n"
	    "  read in the terminal's SCP11a channel, encrypted; with --pin,\n"
	    "  after VERIFY with the holder's PIN: every field of EF.HOLDER and\n"
	    "  EF.INSURANCE, the activation record, the personal account, the\n"
	    "  family members and the transaction log. The PIN comes from\n"
	    "  MIC_PIN or, when that is unset, from one line of standard input;\n"
	    "  never from the command line. --json prints one JSON object\n"
	    "  instead (amounts in integer fen). --trace shows every APDU on\n"
	    "  the wire on standard error: the holder's files as their header,\n"
	    "  length and status word only, never their data.\n"
	    "  verify: is the card genuine? Chip authentication: the chip's\n"
	    "  certificate CERT.SD.ECKA (GET DATA BF21) chains to the trust\n"
	    "  store and names the chip serial of the FCI, and the chip proves\n"
	    "  its key in SCP11b (SCP11a with --terminal). Then passive\n"
	    "  authentication, inside that channel: EF.SOD's signature, its\n"
	    "  signer's chain, the chip serial, and the card certificate's\n"
	    "  chain. Every file's hash with --terminal; with --trust only\n"
	    "  EF.CARD's and EF.CERT's (EF.HOLDER and EF.INSURANCE need a\n"
	    "  terminal), and it says so. The trust store DIR is a PKI\n"
	    "  directory's trust/, or the PKI directory itself.\n"
	    "  Exit status 0 when authentic, 1 otherwise.\n");
}

/* The verdict line of a failed check: which of the two authentications,
 * which check, and the library's reason. */
static int
verify_fail(mic_card_check check, mic_rc rc)
{
	const char *auth = check == MIC_CHECK_CHIP_CERT ||
	    check == MIC_CHECK_CHIP_SERIAL || check == MIC_CHECK_CHIP_KEY ?
	    "chip" : "passive";

	printf("%s authentication: FAILED: %s: %s (%s)\n", auth,
	    mic_card_check_name(check), mic_strerror(rc),
	    mic_strerror_name(rc));
	return 1;
}

static int
card_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reader", required_argument, NULL, 'r' },
		{ "trust", required_argument, NULL, 't' },
		{ "terminal", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *reader = NULL, *trust_arg = NULL, *term_arg = NULL;
	mic_trust_t *trust = NULL;
	mic_terminal_t *term = NULL;
	mic_card_t *card = NULL;
	mic_card_check check = MIC_CHECK_NONE;
	mic_tx_t *tx = NULL;
	int c, ret = 1;
	mic_rc rc;

	while ((c = getopt_long(argc, argv, "r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			reader = optarg;
			break;
		case 't':
			trust_arg = optarg;
			break;
		case 'T':
			term_arg = optarg;
			break;
		case 'h':
			card_usage(stdout);
			return 0;
		default:
			card_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || (trust_arg == NULL && term_arg == NULL)) {
		if (trust_arg == NULL && term_arg == NULL)
			fprintf(stderr, "mic card verify: --trust or --terminal "
			    "is required\n");
		card_usage(stderr);
		return EXIT_USAGE;
	}
	if (term_arg != NULL &&
	    (term = tool_terminal_load("card verify", term_arg)) == NULL)
		return 1;
	if (trust_arg == NULL)
		goto have_trust;
	/* The trust store first: no card traffic for a typo. */
	if ((trust = tool_trust_load("card verify", trust_arg)) == NULL)
		goto out;
have_trust:
	if ((tx = tool_open_reader("card", reader)) == NULL)
		goto out;
	/* One transaction: the FCI's serial and the chip that proves it
	 * come from one card. */
	if ((rc = mic_tx_begin(tx)) != MIC_OK) {
		tool_fail("card", "starting a transaction", rc);
		goto out;
	}
	if ((rc = mic_card_open(&card, tx)) != MIC_OK) {
		tool_fail("card verify", "selecting the insurance application",
		    rc);
		goto end;
	}
	if (term != NULL)
		rc = mic_card_verify_terminal(card, trust, term, &check);
	else
		rc = mic_card_verify(card, trust, &check);
	if (rc == MIC_OK) {
		printf("chip authentication: OK (%s)\n", term != NULL ?
		    "SCP11a" : "SCP11b");
		printf("passive authentication: OK\n");
		if (term != NULL)
			printf("checked: EF.CARD, EF.HOLDER, EF.INSURANCE, "
			    "EF.CERT against EF.SOD\n");
		else
			printf("checked: EF.CARD, EF.CERT against EF.SOD\n"
			    "not checked: EF.HOLDER, EF.INSURANCE (personal "
			    "data: they need a terminal certificate, "
			    "--terminal DIR)\n");
		ret = 0;
	} else if (check == MIC_CHECK_READ || check == MIC_CHECK_NONE) {
		tool_fail("card verify", mic_card_check_name(check), rc);
	} else {
		if (check > MIC_CHECK_CHIP_KEY)
			printf("chip authentication: OK\n");
		ret = verify_fail(check, rc);
	}
	mic_scp_close(tx);
end:
	mic_card_free(&card);
	mic_tx_end(tx);
out:
	mic_tx_free(&tx);
	mic_trust_free(&trust);
	mic_terminal_free(&term);
	return ret;
}

int
cmd_card(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reader", required_argument, NULL, 'r' },
		{ "pin", no_argument, NULL, 'p' },
		{ "terminal", required_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'j' },
		{ "trace", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *reader = NULL, *what = NULL, *term_arg = NULL;
	int do_trace = 0;
	mic_terminal_t *term = NULL;
	mic_card_check check = MIC_CHECK_NONE;
	card_access access = CARD_PUBLIC;
	mic_card_t *card = NULL;
	mic_tx_t *tx = NULL;
	card_view v;
	json_t *j;
	char pin[32];
	int with_pin = 0, json = 0, c, ret = 1;
	mic_rc rc;

	memset(&v, 0, sizeof(v));
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return card_verify(argc - 1, argv + 1);
	if (argc < 2 || strcmp(argv[1], "read") != 0) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
		    strcmp(argv[1], "-h") == 0)) {
			card_usage(stdout);
			return 0;
		}
		card_usage(stderr);
		return EXIT_USAGE;
	}
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			reader = optarg;
			break;
		case 'p':
			with_pin = 1;
			break;
		case 'T':
			term_arg = optarg;
			break;
		case 'x':
			do_trace = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			card_usage(stdout);
			return 0;
		default:
			card_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || (with_pin && term_arg != NULL)) {
		card_usage(stderr);
		return EXIT_USAGE;
	}
	if (term_arg != NULL) {
		if ((term = tool_terminal_load("card read", term_arg)) ==
		    NULL)
			goto wipe;
		access = CARD_TERMINAL;
	}
	if (with_pin) {
		access = CARD_PIN;
	}
	if (with_pin && tool_get_pin(pin, sizeof(pin)) != 0) {
		fprintf(stderr, "mic card: no PIN (set MIC_PIN or give it on stdin)\n");
		goto wipe;
	}
	if ((tx = tool_open_reader("card", reader)) == NULL)
		goto wipe;
	if (do_trace)
		mic_tx_set_trace(tx, tool_trace, NULL);
	/* One transaction for the whole visit, as a POS holds the card. */
	if ((rc = mic_tx_begin(tx)) != MIC_OK) {
		tool_fail("card", "starting a transaction", rc);
		goto out;
	}
	if ((rc = mic_card_open(&card, tx)) != MIC_OK) {
		tool_fail("card", "selecting the insurance application", rc);
		goto end;
	}
	/* The chip proves itself and the terminal in one SCP11a channel,
	 * and every answer after it comes encrypted. */
	if (term != NULL && (rc = mic_card_authenticate(card, NULL, term,
	    &check)) != MIC_OK) {
		tool_fail("card", mic_card_check_name(check), rc);
		goto end;
	}
	if ((rc = card_view_fetch(&v, card, access, mic_terminal_role(term),
	    with_pin ? pin : NULL, &what)) != MIC_OK) {
		if (rc == MIC_ERR_PIN_WRONG)
			fprintf(stderr, "mic card: %s: wrong PIN, %d %s left\n",
			    what, v.tries, v.tries == 1 ? "try" : "tries");
		else
			tool_fail("card", what, rc);
		goto end;
	}
	if (json) {
		if ((j = card_view_json(&v)) == NULL) {
			tool_fail("card", "JSON output", MIC_ERR_NOMEM);
			goto end;
		}
		ret = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) ==
		    0 && fputc('\n', stdout) != EOF ? 0 : 1;
		json_decref(j);
	} else {
		card_view_text(stdout, &v);
		ret = 0;
	}
end:
	card_view_free(&v);
	mic_scp_close(tx);
	mic_card_free(&card);
	mic_tx_end(tx);
out:
	mic_tx_free(&tx);
wipe:
	mic_terminal_free(&term);
	mici_wipe(pin, sizeof(pin));
	return ret;
}
