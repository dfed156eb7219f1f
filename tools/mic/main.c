#include <stdio.h>
#include <string.h>

#include "mic-tool.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} verbs[] = {
	{ "readers", cmd_readers, "list readers and whether a card is present" },
	{ "apdu", cmd_apdu, "send raw APDUs from arguments or a script file" },
	{ "card", cmd_card, "read a card as a point of sale does" },
	{ "pki", cmd_pki, "test PKI, certificates and security objects (EF.SOD)" },
	{ "perso", cmd_perso, "the card bureau's issuance line: personalize a batch" },
	{ "pay", cmd_pay, "take a payment from a card, its receipt to the settlement file" },
	{ "credit", cmd_credit, "the agency's allocation onto a card, with its receipt" },
	{ "log", cmd_log, "a card's balance and transaction log" },
	{ "receipt", cmd_receipt, "verify one card-signed receipt" },
	{ "settle", cmd_settle, "verify settlement files: receipts, clone alarms, totals" },
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: mic VERB [options]\n\nverbs:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].help);
	fprintf(f, "\n'mic VERB --help' describes a verb. Set MIC_DEBUG=1 for "
	    "library debug lines.\n");
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
	if (strcmp(argv[1], "--version") == 0) {
		printf("mic %s\n", mic_version());
		return 0;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(argv[1], verbs[i].name) == 0)
			return verbs[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "mic: unknown verb '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
