/* mic apdu scripts are files a user or another program hands in. */
#include <stdlib.h>
#include <string.h>

#include "mic-tool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	script_step *st;
	const char *why = NULL;
	char *line;
	int r;

	if ((line = malloc(size + 1)) == NULL)
		return 0;
	/* 64 KiB: too big for a fuzzer's stack. */
	if ((st = malloc(sizeof(*st))) == NULL) {
		free(line);
		return 0;
	}
	memcpy(line, data, size);
	line[size] = '\0';
	r = script_parse_line(line, st, &why);
	if (r < 0 && why == NULL)
		abort();  /* every rejection must say why */
	if (r > 0 && st->kind == STEP_APDU && (st->len < 4 || st->len > MIC_APDU_CMD_MAX))
		abort();
	free(st);
	free(line);
	return 0;
}
