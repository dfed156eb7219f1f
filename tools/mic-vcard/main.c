/*
 * mic-vcard: the reference MIC card as a program.
 *
 * One verb per job, in a table: "new" makes a card image, "run" serves one
 * in a vpcd reader, "show" prints what one holds, "hopper" feeds blank
 * cards to an issuance line, "perso-script" prints a personalization.
 * Each verb lives in its own cmd_*.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mic/version.h>

#include "mic-vcard.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} verbs[] = {
	{ "new", cmd_new, "create a card image: blank, or a sample card" },
	{ "run", cmd_run, "insert a card image into a vpcd reader and serve it" },
	{ "show", cmd_show, "print what a card image holds" },
	{ "hopper", cmd_hopper, "feed blank cards to a reader, keep each "
	    "personalized one" },
	{ "perso-script", cmd_perso_script, "print the sample "
	    "personalization as a 'mic apdu -f' script" },
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: mic-vcard COMMAND [OPTIONS]\n"
	    "       mic-vcard --help | --version\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-13s %s\n", verbs[i].name, verbs[i].help);
	fprintf(f, "\n'mic-vcard COMMAND --help' describes a command.\n"
	    "Exit status: 0 ok, 1 failure, 2 usage, %d a tear option cut the "
	    "power (run).\n", EXIT_TORN);
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
