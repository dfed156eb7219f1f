/*
 * Fuzz the batch reader: the input is a batch file (usually one line).
 * Every line must end as either a valid application, whose holder and
 * insurance data encode, or an error record that names the line and a
 * specific cause; the reader must reach the end without an I/O error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mic/batch.h>
#include <mic/profile.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[MIC_EF_HOLDER_SIZE];
	mic_application_t *app = NULL;
	mic_batch_error err;
	mic_batch_t *b = NULL;
	size_t len, last = 0;
	FILE *fp;
	mic_rc rc;

	/* fmemopen() of 0 bytes is EINVAL on some C libraries. */
	if (size == 0 || (fp = fmemopen((void *)(uintptr_t)data, size,
	    "rb")) == NULL)
		return 0;
	if (mic_batch_open_fp(&b, fp) != MIC_OK)
		abort();
	while ((rc = mic_batch_next(b, &app, &err)) != MIC_ERR_NOT_FOUND) {
		if (rc == MIC_OK) {
			if (app == NULL || mic_application_line(app) <= last ||
			    mic_holder_encode(mic_application_holder(app), buf,
			    sizeof(buf), &len) != MIC_OK ||
			    mic_insurance_encode(mic_application_insurance(app),
			    buf, sizeof(buf), &len) != MIC_OK ||
			    strlen(mic_application_id(app)) == 0)
				abort();
			last = mic_application_line(app);
			mic_application_free(&app);
		} else if (rc == MIC_ERR_BATCH_LINE) {
			if (app != NULL || err.line <= last || err.rc >= 0 ||
			    err.rc == MIC_ERR_BATCH_LINE ||
			    strncmp(err.message, "line ", 5) != 0)
				abort();
			last = err.line;
		} else
			abort();
	}
	if (mic_batch_lines(b) < last)
		abort();
	mic_batch_free(&b);
	fclose(fp);

	return 0;
}
