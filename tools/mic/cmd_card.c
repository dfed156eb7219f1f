/*
 * mic card: read a card as a point of sale does. One SELECT and three READ
 * BINARY for the public data; with --pin, VERIFY and the account.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "mic-tool.h"

static void
card_usage(FILE *f)
{
	fprintf(f, "usage: mic card read [-r READER] [--pin]\n"
	    "  Read the card's public data; with --pin also verify the PIN and\n"
	    "  read the personal account. The PIN comes from MIC_PIN or, when\n"
	    "  that is unset, from one line of standard input; never from the\n"
	    "  command line.\n");
}

static const char *
name_of(mic_code_table t, const char *code)
{
	const char *n = mic_code_name(t, code, MIC_LANG_ZH);
	char up[7];

	/* County codes are not in the tables: name the prefecture, then the
	 * province, that contains them. */
	if (n == NULL && t == MIC_CODE_REGION && strlen(code) == 6) {
		memcpy(up, code, 4);
		memcpy(up + 4, "00", 3);
		if ((n = mic_code_name(t, up, MIC_LANG_ZH)) == NULL) {
			memcpy(up + 2, "0000", 5);
			n = mic_code_name(t, up, MIC_LANG_ZH);
		}
	}
	return n != NULL ? n : "?";
}

static void
print_public(const mic_card_t *card)
{
	const mic_cardinfo_t *ci = mic_card_info(card);
	const mic_holder_t *h = mic_card_holder(card);
	const mic_insurance_t *ins = mic_card_insurance(card);

	printf("state:        %s\n", mic_state_name(mic_card_state(card)));
	printf("card id:      %s\n", mic_cardinfo_id(ci));
	printf("card number:  %s\n", mic_cardinfo_number(ci));
	printf("valid:        %s to %s\n", mic_cardinfo_issue_date(ci),
	    mic_cardinfo_expiry_date(ci));
	printf("name:         %s\n", mic_holder_name(h));
	printf("ssn:          %s\n", mic_holder_ssn(h));
	printf("gender:       %s (%s)\n", mic_holder_gender(h),
	    name_of(MIC_CODE_GENDER, mic_holder_gender(h)));
	printf("birth date:   %s\n", mic_holder_birth_date(h));
	printf("birthplace:   %s (%s)\n", mic_holder_birthplace(h),
	    name_of(MIC_CODE_REGION, mic_holder_birthplace(h)));
	printf("scheme:       %s\n", mic_insurance_scheme(ins) == 1 ?
	    "employee" : "resident");
	printf("pooling:      %s (%s)\n", mic_insurance_region(ins),
	    name_of(MIC_CODE_REGION, mic_insurance_region(ins)));
}

/* The PIN from MIC_PIN or stdin, into @p pin; wiped by the caller. */
static int
get_pin(char *pin, size_t cap)
{
	const char *env = getenv("MIC_PIN");
	size_t n;

	if (env != NULL) {
		if (strlen(env) >= cap)
			return -1;
		memcpy(pin, env, strlen(env) + 1);
		return 0;
	}
	if (isatty(STDIN_FILENO))
		fprintf(stderr, "PIN: ");
	if (fgets(pin, (int)cap, stdin) == NULL)
		return -1;
	n = strcspn(pin, "\r\n");
	pin[n] = '\0';
	return 0;
}

static int
read_account(mic_card_t *card)
{
	mic_account_t *acct = mic_account_new();
	char pin[32];
	int tries, ret = 1;
	mic_rc rc;

	if (acct == NULL)
		return tool_fail("card", "reading the account", MIC_ERR_NOMEM);
	if (get_pin(pin, sizeof(pin)) != 0) {
		fprintf(stderr, "mic card: no PIN (set MIC_PIN or give it on stdin)\n");
		goto out;
	}
	rc = mic_card_verify_pin(card, pin, &tries);
	if (rc != MIC_OK) {
		tool_fail("card", "verifying the PIN", rc);
		goto out;
	}
	if ((rc = mic_card_read_account(card, acct)) != MIC_OK) {
		tool_fail("card", "reading the account", rc);
		goto out;
	}
	/* Integer fen; yuan only for display. */
	int64_t fen = mic_account_balance(acct);
	printf("balance:      %lld.%02lld CNY\n", (long long)(fen / 100),
	    (long long)(fen % 100));
	printf("transactions: %u\n", (unsigned)mic_account_counter(acct));
	ret = 0;
out:
	mici_wipe(pin, sizeof(pin));
	mic_account_free(&acct);
	return ret;
}

int
cmd_card(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reader", required_argument, NULL, 'r' },
		{ "pin", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *reader = NULL;
	mic_card_t *card = NULL;
	mic_tx_t *tx = NULL;
	int with_pin = 0, c, ret = 1;
	mic_rc rc;

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
		case 'h':
			card_usage(stdout);
			return 0;
		default:
			card_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		card_usage(stderr);
		return EXIT_USAGE;
	}
	if ((rc = mic_pcsc_open(&tx, reader)) != MIC_OK)
		return tool_fail("card", "connecting to the card", rc);
	/* One transaction for the whole visit, as a POS holds the card. */
	if ((rc = mic_tx_begin(tx)) != MIC_OK) {
		tool_fail("card", "starting a transaction", rc);
		goto out;
	}
	if ((rc = mic_card_open(&card, tx)) != MIC_OK) {
		tool_fail("card", "selecting the insurance application", rc);
		goto end;
	}
	if ((rc = mic_card_read(card, MIC_READ_PUBLIC)) != MIC_OK) {
		tool_fail("card", "reading the card", rc);
		goto end;
	}
	print_public(card);
	ret = with_pin ? read_account(card) : 0;
end:
	mic_card_free(&card);
	mic_tx_end(tx);
out:
	mic_tx_free(&tx);
	return ret;
}
