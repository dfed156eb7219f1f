#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mic-tool.h"

static void
readers_usage(FILE *f)
{
	fprintf(f, "usage: mic readers [--json] [--wait MS]\n"
	    "  List PC/SC readers and whether each holds a card.\n"
	    "  --json     machine-readable output\n"
	    "  --wait MS  first wait up to MS milliseconds for a card\n");
}

static int
print_json(const mic_reader_info *r, size_t n)
{
	json_t *root = json_object(), *arr = json_array();
	char atr[2 * MIC_ATR_MAX + 1];
	char *s;

	if (root == NULL || arr == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < r[i].atr_len; j++)
			snprintf(atr + 2 * j, 3, "%02X", r[i].atr[j]);
		atr[2 * r[i].atr_len] = '\0';
		json_t *o = json_pack("{s:I, s:s, s:b, s:s?}", "index",
		    (json_int_t)i, "name", r[i].name, "card_present",
		    r[i].card_present, "atr", r[i].card_present ? atr : NULL);
		if (o == NULL || json_array_append_new(arr, o) != 0)
			goto fail;
	}
	if (json_object_set_new(root, "readers", arr) != 0) {
		arr = NULL;
		goto fail;
	}
	arr = NULL;
	if ((s = json_dumps(root, JSON_INDENT(2))) == NULL)
		goto fail;
	puts(s);
	free(s);
	json_decref(root);
	return 0;
fail:
	json_decref(arr);
	json_decref(root);
	fprintf(stderr, "mic readers: out of memory\n");
	return 1;
}

int
cmd_readers(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "wait", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	mic_reader_info *r = NULL;
	size_t n = 0;
	int json = 0, c, ret;
	long wait_ms = -1;
	char *end;
	mic_rc rc;

	while ((c = getopt_long(argc, argv, "jw:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'w':
			wait_ms = strtol(optarg, &end, 10);
			if (*end != '\0' || wait_ms < 0 || wait_ms > 3600000) {
				fprintf(stderr, "mic readers: --wait takes 0..3600000 ms\n");
				return EXIT_USAGE;
			}
			break;
		case 'h':
			readers_usage(stdout);
			return 0;
		default:
			readers_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		readers_usage(stderr);
		return EXIT_USAGE;
	}
	if (wait_ms >= 0) {
		rc = mic_pcsc_wait_card(NULL, (unsigned)wait_ms, NULL, 0);
		if (rc != MIC_OK)
			return tool_fail("readers", "waiting for a card", rc);
	}
	rc = mic_reader_list(&r, &n);
	if (rc == MIC_ERR_NO_READER) {
		n = 0;
	} else if (rc != MIC_OK) {
		return tool_fail("readers", "listing readers", rc);
	}
	if (json) {
		ret = print_json(r, n);
	} else {
		if (n == 0)
			printf("no readers\n");
		for (size_t i = 0; i < n; i++) {
			printf("%zu: %s: %s", i, r[i].name,
			    r[i].card_present ? "card " : "empty");
			if (r[i].card_present) {
				printf("  ATR ");
				tool_hex(stdout, r[i].atr, r[i].atr_len);
			}
			printf("\n");
		}
		ret = 0;
	}
	mic_reader_list_free(&r);
	return ret;
}
