/* Choosing a reader, the same way for every verb. */
#include <stdlib.h>

#include "mic-tool.h"

mic_tx_t *
tool_open_reader(const char *verb, const char *reader)
{
	mic_reader_info *r = NULL;
	mic_tx_t *tx = NULL;
	size_t n = 0;
	char *end;
	long idx;
	mic_rc rc;

	if (reader == NULL || *reader == '\0') {
		rc = mic_pcsc_open(&tx, NULL);
	} else if ((idx = strtol(reader, &end, 10)), *end != '\0') {
		rc = mic_pcsc_open(&tx, reader);
	} else {
		/* An index as "mic readers" numbers them. */
		if ((rc = mic_reader_list(&r, &n)) != MIC_OK) {
			tool_fail(verb, "listing readers", rc);
			return NULL;
		}
		if (idx < 0 || (size_t)idx >= n) {
			fprintf(stderr, "mic %s: no reader %ld (%zu readers)\n",
			    verb, idx, n);
			mic_reader_list_free(&r);
			return NULL;
		}
		rc = mic_pcsc_open(&tx, r[idx].name);
		mic_reader_list_free(&r);
	}
	if (rc != MIC_OK) {
		tool_fail(verb, "connecting to the card", rc);
		return NULL;
	}
	return tx;
}
