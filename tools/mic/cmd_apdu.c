#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "mic-tool.h"

static void
apdu_usage(FILE *f)
{
	fprintf(f, "usage: mic apdu [-r READER] [-f SCRIPT] [--trace] [--strict] [APDU ...]\n"
	    "  Send APDUs (hex, e.g. '00 A4 04 00 09 D1 56 00 00 01 4D 49 43 01')\n"
	    "  given as arguments or, one per line, in SCRIPT ('-' for stdin).\n"
	    "  A script line 'reset' resets the card; '#' starts a comment.\n"
	    "  GET RESPONSE (61xx), wrong Le (6Cxx) and chaining are handled by\n"
	    "  libmic; the output shows each logical command and its answer.\n"
	    "  -r, --reader NAME|INDEX  reader (default: first with a card)\n"
	    "  -f, --script FILE        read APDUs from FILE\n"
	    "      --trace              also show every APDU on the wire (stderr)\n"
	    "      --strict             exit 1 on the first status word other than 9000\n");
}

/* Run one step; 0 ok, 1 transport failure or (strict) a non-9000 SW. */
static int
run_step(mic_tx_t *tx, const script_step *st, int strict, uint8_t *rsp,
    size_t cap)
{
	mic_apdu a;
	size_t n = 0;
	uint16_t sw = 0;
	mic_rc rc;

	if (st->kind == STEP_RESET) {
		printf("reset\n");
		if ((rc = mic_tx_reset(tx)) != MIC_OK)
			return tool_fail("apdu", "reset", rc);
		return 0;
	}
	if ((rc = mic_apdu_decode(st->apdu, st->len, &a)) != MIC_OK)
		return tool_fail("apdu", "malformed APDU", rc);
	printf("> ");
	if (mic_apdu_is_sensitive(&a)) {
		/* The header only: a PIN never reaches a terminal or a log. */
		tool_hex(stdout, st->apdu, 4);
		printf(" [%zu bytes hidden]", st->len - 4);
	} else {
		tool_hex(stdout, st->apdu, st->len);
	}
	printf("\n");
	rc = mic_tx_transmit(tx, &a, rsp, cap, &n, &sw);
	if (rc != MIC_OK)
		return tool_fail("apdu", "transmit", rc);
	printf("< ");
	if (n > 0) {
		tool_hex(stdout, rsp, n);
		printf(" ");
	}
	printf("%04X  %s\n", sw, mic_sw_name(sw));
	fflush(stdout);
	return strict && sw != 0x9000;
}

static int
run_script(mic_tx_t *tx, const char *path, int strict, uint8_t *rsp,
    size_t cap, script_step *st)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *line = NULL;
	size_t linecap = 0;
	unsigned lineno = 0;
	int ret = 0;

	if (f == NULL) {
		fprintf(stderr, "mic apdu: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while (ret == 0 && getline(&line, &linecap, f) != -1) {
		const char *why = NULL;
		int r;
		lineno++;
		if ((r = script_parse_line(line, st, &why)) < 0) {
			fprintf(stderr, "mic apdu: %s:%u: %s\n", path, lineno, why);
			ret = 1;
		} else if (r > 0) {
			ret = run_step(tx, st, strict, rsp, cap);
		}
	}
	if (ret == 0 && ferror(f)) {
		fprintf(stderr, "mic apdu: %s: read error\n", path);
		ret = 1;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return ret;
}

int
cmd_apdu(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reader", required_argument, NULL, 'r' },
		{ "script", required_argument, NULL, 'f' },
		{ "trace", no_argument, NULL, 't' },
		{ "strict", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *reader = NULL, *script = NULL;
	script_step *st = NULL;
	uint8_t *rsp = NULL;
	mic_tx_t *tx = NULL;
	int do_trace = 0, strict = 0, c, ret = 1;

	while ((c = getopt_long(argc, argv, "r:f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			reader = optarg;
			break;
		case 'f':
			script = optarg;
			break;
		case 't':
			do_trace = 1;
			break;
		case 's':
			strict = 1;
			break;
		case 'h':
			apdu_usage(stdout);
			return 0;
		default:
			apdu_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if ((script == NULL) == (optind == argc)) {
		fprintf(stderr, "mic apdu: give APDUs as arguments or -f SCRIPT, "
		    "not both or neither\n");
		apdu_usage(stderr);
		return EXIT_USAGE;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (rsp = malloc(MIC_APDU_RSP_MAX)) == NULL) {
		fprintf(stderr, "mic apdu: out of memory\n");
		goto out;
	}
	/* Check every argument before touching the card. */
	for (int i = optind; i < argc; i++) {
		const char *why = NULL;
		if (script_parse_line(argv[i], st, &why) <= 0) {
			fprintf(stderr, "mic apdu: argument %d: %s\n", i - optind + 1,
			    why != NULL ? why : "empty");
			ret = EXIT_USAGE;
			goto out;
		}
	}
	if ((tx = tool_open_reader("apdu", reader)) == NULL)
		goto out;
	if (do_trace)
		mic_tx_set_trace(tx, tool_trace, NULL);
	if (script != NULL) {
		ret = run_script(tx, script, strict, rsp, MIC_APDU_RSP_MAX, st);
	} else {
		ret = 0;
		for (int i = optind; ret == 0 && i < argc; i++) {
			const char *why;
			script_parse_line(argv[i], st, &why);
			ret = run_step(tx, st, strict, rsp, MIC_APDU_RSP_MAX);
		}
	}
out:
	mic_tx_free(&tx);
	free(rsp);
	free(st);
	return ret;
}
