/*
 * Fuzz the batch reader: the input is a batch file (usually one line).
 * Every line must end as either a valid application, whose holder and
 * insurance data encode, or an error record that names the line and a
 * specific cause; the reader must reach the end without an I/O error.
 *
 * The same input is also one application's JSON text for
 * mic_application_parse(), the parser of the journal's stored copy: it
 * must give a valid application or an error record without a line, and
 * an application's canonical JSON (what the journal stores) must parse
 * back to the very same text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mic/batch.h>
#include <mic/profile.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A valid application's JSON: ASCII, one line, and a fixed point. */
static void
check_json(const mic_application_t *app)
{
	const char *json = mic_application_json(app);
	mic_application_t *again = NULL;
	mic_batch_error err;
	size_t i, n;

	if (json == NULL || (n = strlen(json)) < 2 || json[0] != '{' ||
	    json[n - 1] != '}')
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)json[i] < 0x20 ||
		    (unsigned char)json[i] > 0x7E)
			abort();
	if (mic_application_parse(json, n, &again, &err) != MIC_OK ||
	    again == NULL || strcmp(mic_application_json(again), json) != 0 ||
	    strcmp(mic_application_id(again), mic_application_id(app)) != 0 ||
	    strcmp(mic_holder_ssn(mic_application_holder(again)),
	    mic_holder_ssn(mic_application_holder(app))) != 0)
		abort();
	mic_application_free(&again);
}

static void
fuzz_parse(const uint8_t *data, size_t size)
{
	uint8_t buf[MIC_EF_HOLDER_SIZE];
	mic_application_t *app = NULL;
	mic_batch_error err;
	size_t len, flen;
	mic_rc rc;

	rc = mic_application_parse((const char *)data, size, &app, &err);
	if (rc == MIC_OK) {
		if (app == NULL || mic_application_line(app) != 0 ||
		    strlen(mic_application_id(app)) == 0 ||
		    mic_holder_encode(mic_application_holder(app), buf,
		    sizeof(buf), &len) != MIC_OK ||
		    mic_insurance_encode(mic_application_insurance(app), buf,
		    sizeof(buf), &len) != MIC_OK)
			abort();
		check_json(app);
		mic_application_free(&app);
	} else if (rc == MIC_ERR_BATCH_LINE) {
		/* No line: the message starts with the field, if any. */
		flen = strlen(err.field);
		if (app != NULL || err.line != 0 || err.rc >= 0 ||
		    err.rc == MIC_ERR_BATCH_LINE ||
		    strncmp(err.message, "line ", 5) == 0 ||
		    (flen > 0 && (strncmp(err.message, err.field, flen) != 0 ||
		    err.message[flen] != ':')))
			abort();
		if (size > MIC_BATCH_LINE_MAX && err.rc != MIC_ERR_JSON)
			abort();
	} else
		abort();
}

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

	fuzz_parse(data, size);
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
			/* What the journal stores of it reads back the same. */
			check_json(app);
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
