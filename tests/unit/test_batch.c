/*
 * The batch reader: a batch of valid lines and malformed ones of every
 * kind, each error's line, field and cause asserted; duplicates naming the
 * earlier line; a 10,000-line batch streamed in bounded memory; one
 * application as JSON text (mic_application_parse, mic_application_json),
 * the journal's copy of it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <mic/batch.h>
#include <mic/idnum.h>
#include <mic/profile.h>

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
/* ASan's own count of live heap bytes (freed memory in its quarantine
 * is not counted, unlike the resident set size). */
size_t __sanitizer_get_current_allocated_bytes(void);
#define LIVE_BYTES() __sanitizer_get_current_allocated_bytes()
#else
#include <malloc.h>
#define LIVE_BYTES() mallinfo2().uordblks
#endif

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const keys[] = {
	"application_id", "channel", "name", "gender", "ssn", "birth_date",
	"birthplace", "scheme", "pooling_region", "insured_since",
};

/* Person @p i: an ID number of Beijing Chaoyang, born 1950 onwards. */
static void
person(unsigned i, char ssn[MIC_IDNUM_LEN + 1], char birth[9], char *gender)
{
	unsigned seq = 100 + i % 800;
	char body[32];
	char check;

	/* Bounded so the compiler can see the date fits its 9 bytes. */
	snprintf(birth, 9, "%04u%02u%02u", 1950 + (i / 336) % 70,
	    1 + (i / 28) % 12, 1 + i % 28);
	snprintf(body, sizeof(body), "110105%s%03u", birth, seq);
	assert_int_equal(mic_idnum_check_char(body, &check), MIC_OK);
	assert_int_equal(strlen(body), 17);
	memcpy(ssn, body, 17);
	ssn[17] = check;
	ssn[18] = '\0';
	*gender = seq % 2 ? '1' : '2';
}

/*
 * Write person @p i's line, with field @p field's JSON value replaced by
 * @p raw (NULL: left out; a field not in keys[]: added).
 */
static void
emit(FILE *f, unsigned i, const char *field, const char *raw)
{
	char ssn[MIC_IDNUM_LEN + 1], birth[9], g, val[10][64];
	const char *sep = "";
	size_t k;
	int found = 0;

	person(i, ssn, birth, &g);
	snprintf(val[0], sizeof(val[0]), "\"APP%06u\"", i);
	snprintf(val[1], sizeof(val[1]), "\"%s\"", i % 3 ? "self" : "agent");
	snprintf(val[2], sizeof(val[2]), "\"Person %u\"", i);
	snprintf(val[3], sizeof(val[3]), "\"%c\"", g);
	snprintf(val[4], sizeof(val[4]), "\"%s\"", ssn);
	snprintf(val[5], sizeof(val[5]), "\"%s\"", birth);
	snprintf(val[6], sizeof(val[6]), "\"110105\"");
	snprintf(val[7], sizeof(val[7]), "\"%s\"",
	    i % 2 ? "employee" : "resident");
	snprintf(val[8], sizeof(val[8]), "\"110100\"");
	snprintf(val[9], sizeof(val[9]), "\"20200101\"");
	fputc('{', f);
	for (k = 0; k < NELEM(keys); k++) {
		const char *v = val[k];

		if (field != NULL && strcmp(field, keys[k]) == 0) {
			found = 1;
			if ((v = raw) == NULL)
				continue;
		}
		fprintf(f, "%s\"%s\":%s", sep, keys[k], v);
		sep = ",";
	}
	if (field != NULL && !found && raw != NULL)
		fprintf(f, ",\"%s\":%s", field, raw);
	fputs("}\n", f);
}

/* An ID number of @p body17 with its right check character, quoted. */
static const char *
quoted_ssn(const char *body17, char out[32])
{
	char check;

	assert_int_equal(mic_idnum_check_char(body17, &check), MIC_OK);
	snprintf(out, 32, "\"%s%c\"", body17, check);

	return out;
}

struct expect {
	unsigned line;
	const char *field;  /* NULL: a valid line */
	mic_rc rc;
	const char *msg;    /* a part of the message, or NULL */
};

struct batch_file {
	char path[64];
	FILE *f;
};

static void
batch_create(struct batch_file *bf)
{
	int fd;

	snprintf(bf->path, sizeof(bf->path), "/tmp/test_batch_XXXXXX");
	assert_true((fd = mkstemp(bf->path)) >= 0);
	assert_non_null(bf->f = fdopen(fd, "w"));
}

/* The big one: valid lines and every kind of bad line, in one batch. */
static void
test_batch_mixed(void **state)
{
	struct expect ex[128];
	struct batch_file bf;
	mic_application_t *app = NULL;
	mic_batch_error err;
	mic_batch_t *b = NULL;
	char q[32], name61[128];
	unsigned line = 0, n = 0, valid = 0, i, p = 0;
	size_t k;
	mic_rc rc;

	(void)state;
	batch_create(&bf);
#define OK_LINE() (ex[n++] = (struct expect){ ++line, NULL, MIC_OK, NULL })
#define BAD(fld, code, m) (ex[n++] = (struct expect){ ++line, fld, code, m })
	/* 30 valid lines, persons 0-29. */
	for (p = 0; p < 30; p++) {
		emit(bf.f, p, NULL, NULL);
		OK_LINE();
	}
	/* Line 31: a blank line is counted, not reported. */
	fputs("   \r\n", bf.f);
	line++;
	/* Not one JSON object. */
	fputs("not json\n", bf.f);
	BAD("", MIC_ERR_JSON, "not JSON");
	fputs("[1, 2]\n", bf.f);
	BAD("", MIC_ERR_JSON, "an array, expected an object");
	fputs("{\"application_id\": \"X\"\n", bf.f);
	BAD("", MIC_ERR_JSON, "not JSON");
	fputs("{\"application_id\":\"A\",\"application_id\":\"B\"}\n", bf.f);
	BAD("", MIC_ERR_JSON, "duplicate");
	fputs("{\"name\":\"\xff\xfe\"}\n", bf.f);
	BAD("", MIC_ERR_JSON, "not JSON");
	fputs("{\"name\":\"a\\u0000b\"}\n", bf.f);
	BAD("", MIC_ERR_JSON, NULL);
	/* A line over 64 KiB. */
	fputs("{\"name\":\"", bf.f);
	for (k = 0; k < MIC_BATCH_LINE_MAX; k++)
		fputc('a', bf.f);
	fputs("\"}\n", bf.f);
	BAD("", MIC_ERR_JSON, "longer than 65536 bytes");
	/* Schema: unknown fields, JSON types, missing fields. */
	emit(bf.f, p++, "nickname", "\"Bob\"");
	BAD("", MIC_ERR_FIELD_UNKNOWN, "unknown field \"nickname\"");
	emit(bf.f, p++, "application_id", "42");
	BAD("application_id", MIC_ERR_FIELD_TYPE, "is a number, expected a string");
	emit(bf.f, p++, "application_id", NULL);
	BAD("application_id", MIC_ERR_MISSING, "missing");
	emit(bf.f, p++, "name", "[\"x\"]");
	BAD("name", MIC_ERR_FIELD_TYPE, "is an array");
	emit(bf.f, p++, "gender", "1");
	BAD("gender", MIC_ERR_FIELD_TYPE, "is a number");
	emit(bf.f, p++, "ssn", "null");
	BAD("ssn", MIC_ERR_FIELD_TYPE, "is null");
	emit(bf.f, p++, "insured_since", NULL);
	BAD("insured_since", MIC_ERR_MISSING, NULL);
	emit(bf.f, p++, "first_use_activation", "\"yes\"");
	BAD("first_use_activation", MIC_ERR_FIELD_TYPE, "expected a boolean");
	/* Identifiers and enumerations. */
	emit(bf.f, p++, "application_id", "\"\"");
	BAD("application_id", MIC_ERR_FORMAT, "0 characters");
	emit(bf.f, p++, "application_id", "\"has space\"");
	BAD("application_id", MIC_ERR_FORMAT, "character 4");
	emit(bf.f, p++, "application_id",
	    "\"123456789012345678901234567890123\"");
	BAD("application_id", MIC_ERR_FORMAT, "33 characters");
	emit(bf.f, p++, "channel", "\"web\"");
	BAD("channel", MIC_ERR_VALUE, "not self, agent or employer");
	emit(bf.f, p++, "channel", "\"employer\"");
	BAD("employer_id", MIC_ERR_MISSING, NULL);
	emit(bf.f, p++, "employer_id", "\"91110000MA00000000\"");
	BAD("employer_id", MIC_ERR_MISMATCH, "channel employer");
	emit(bf.f, p++, "scheme", "\"gold\"");
	BAD("scheme", MIC_ERR_VALUE, "not employee or resident");
	/* The name. */
	strcpy(name61, "\"");
	for (i = 0; i < 21; i++)
		strcat(name61, "\xe5\xbc\xa0");	/* 21 CJK: 63 bytes */
	strcat(name61, "\"");
	emit(bf.f, p++, "name", name61);
	BAD("name", MIC_ERR_FORMAT, "63 bytes");
	emit(bf.f, p++, "name", "\"\"");
	BAD("name", MIC_ERR_FORMAT, "is 0 bytes");
	emit(bf.f, p++, "name", "\" padded\"");
	BAD("name", MIC_ERR_FORMAT, "name: has a leading or trailing blank");
	emit(bf.f, p++, "name", "\"bell\\u0007\"");
	BAD("name", MIC_ERR_UTF8, NULL);
	/* Blanks of other kinds, invisible and direction-changing
	 * characters, and text not in NFC (issue 10). */
	emit(bf.f, p++, "name", "\"\\u3000\u674e\u56db\"");
	BAD("name", MIC_ERR_FORMAT, "name: has a leading or trailing blank");
	emit(bf.f, p++, "name", "\"\u674e\u56db\\u00a0\"");
	BAD("name", MIC_ERR_FORMAT, "name: has a leading or trailing blank");
	emit(bf.f, p++, "name", "\"\u674e\\u2003\"");
	BAD("name", MIC_ERR_FORMAT, "leading or trailing blank");
	emit(bf.f, p++, "name", "\"\u674e\\u200b\u56db\"");
	BAD("name", MIC_ERR_UTF8, "name: holds an invisible or "
	    "direction-changing character");
	emit(bf.f, p++, "name", "\"\u674e\\u202e\u56db\"");
	BAD("name", MIC_ERR_UTF8, "invisible or direction-changing");
	emit(bf.f, p++, "name", "\"\\ufeff\u674e\"");
	BAD("name", MIC_ERR_UTF8, "invisible or direction-changing");
	emit(bf.f, p++, "name", "\"Jose\\u0301\"");
	BAD("name", MIC_ERR_UTF8, "name: is not in Unicode Normalization "
	    "Form C (NFC)");
	emit(bf.f, p++, "name", "\"\\u00e9\\u0323\"");
	BAD("name", MIC_ERR_UTF8, "not in Unicode Normalization Form C");
	emit(bf.f, p++, "name", "\"\\u1100\\u1161\"");
	BAD("name", MIC_ERR_UTF8, "not in Unicode Normalization Form C");
	emit(bf.f, p++, "name", "\"\\u2126\"");
	BAD("name", MIC_ERR_UTF8, "not in Unicode Normalization Form C");
	/* NFC and inner spaces are fine. */
	emit(bf.f, p++, "name", "\"Jos\\u00e9 Mar\\u00eda\"");
	OK_LINE();
	emit(bf.f, p++, "name", "\"x\\u0301\\uac00\"");
	OK_LINE();
	/* The ID number, every way it can be wrong. */
	emit(bf.f, p++, "ssn", "\"110105198001010017\"");
	BAD("ssn", MIC_ERR_IDNUM_CHECK, "ssn: check character is 7, expected 6");
	emit(bf.f, p++, "ssn", "\"11010519800101001\"");
	BAD("ssn", MIC_ERR_IDNUM_LENGTH, "is 17 characters, expected 18");
	emit(bf.f, p++, "ssn", "\"1101051980010A0016\"");
	BAD("ssn", MIC_ERR_IDNUM_CHAR, "character 14 is not a digit");
	emit(bf.f, p++, "ssn", quoted_ssn("11010519800230001", q));
	BAD("ssn", MIC_ERR_IDNUM_DATE, "19800230 is not a real date");
	emit(bf.f, p++, "ssn", quoted_ssn("11010520990101001", q));
	BAD("ssn", MIC_ERR_IDNUM_FUTURE, "20990101 is in the future");
	emit(bf.f, p++, "ssn", quoted_ssn("00010519800101001", q));
	BAD("ssn", MIC_ERR_IDNUM_REGION, "address code 000105");
	/* Birth date and gender against the number. */
	emit(bf.f, p++, "birth_date", "\"19000101\"");
	BAD("birth_date", MIC_ERR_MISMATCH, "the ID number says");
	emit(bf.f, p++, "birth_date", "\"1980-01-01\"");
	BAD("birth_date", MIC_ERR_FORMAT, "not YYYYMMDD");
	emit(bf.f, p++, "birth_date", "\"19810229\"");
	BAD("birth_date", MIC_ERR_DATE, "not a real date");
	emit(bf.f, p++, "gender", "\"3\"");
	BAD("gender", MIC_ERR_CODE, "GB/T 2261.1");
	/* Person p has an odd sequence code when p is odd: male. */
	emit(bf.f, p, "gender", (100 + p % 800) % 2 ? "\"2\"" : "\"1\"");
	p++;
	BAD("gender", MIC_ERR_MISMATCH, "the ID number says");
	/* Region codes. */
	emit(bf.f, p++, "birthplace", "\"11010\"");
	BAD("birthplace", MIC_ERR_FORMAT, NULL);
	emit(bf.f, p++, "birthplace", "\"990000\"");
	BAD("birthplace", MIC_ERR_CODE, "GB/T 2260");
	emit(bf.f, p++, "pooling_region", "\"000000\"");
	BAD("pooling_region", MIC_ERR_CODE, NULL);
	emit(bf.f, p++, "ethnicity", "\"99\"");
	BAD("ethnicity", MIC_ERR_CODE, "GB/T 3304");
	/* Insured since. */
	emit(bf.f, p++, "insured_since", "\"20201301\"");
	BAD("insured_since", MIC_ERR_DATE, NULL);
	emit(bf.f, p++, "insured_since", "\"19000101\"");
	BAD("insured_since", MIC_ERR_MISMATCH, "before the birth date");
	/* Duplicates of valid lines 3 (application id) and 5 (person 4). */
	fputs("{\"application_id\":\"APP000002\",\"channel\":\"self\","
	    "\"name\":\"Other\",\"gender\":\"9\",\"ssn\":\"110105198001010016\","
	    "\"birth_date\":\"19800101\",\"birthplace\":\"110105\","
	    "\"scheme\":\"resident\",\"pooling_region\":\"110100\","
	    "\"insured_since\":\"20200101\"}\n", bf.f);
	BAD("application_id", MIC_ERR_DUPLICATE,
	    "\"APP000002\" is already on line 3");
	emit(bf.f, 4, "application_id", "\"NEW-ID\"");
	BAD("ssn", MIC_ERR_DUPLICATE, "is already on line 5 (application "
	    "APP000004)");
	/* Valid after all that: optional fields, null, x, employer. */
	emit(bf.f, p++, "ethnicity", "\"01\"");
	OK_LINE();
	emit(bf.f, p++, "ethnicity", "null");
	OK_LINE();
	emit(bf.f, p++, "first_use_activation", "true");
	OK_LINE();
	fputs("{\"application_id\":\"EMP-1\",\"channel\":\"employer\","
	    "\"employer_id\":\"91110000MA00000000\",\"name\":\"李四\","
	    "\"gender\":\"2\",\"ssn\":\"32010219881108018x\","
	    "\"birth_date\":\"19881108\",\"birthplace\":\"320102\","
	    "\"scheme\":\"employee\",\"pooling_region\":\"320100\","
	    "\"insured_since\":\"20100301\",\"ethnicity\":\"01\","
	    "\"first_use_activation\":false}", bf.f);  /* no final newline */
	OK_LINE();
#undef OK_LINE
#undef BAD
	assert_int_equal(fclose(bf.f), 0);
	assert_true(n >= 50);
	assert_true(n < NELEM(ex));

	assert_int_equal(mic_batch_open(&b, bf.path), MIC_OK);
	for (i = 0; i < n; i++) {
		rc = mic_batch_next(b, &app, &err);
		if (ex[i].field == NULL) {
			if (rc != MIC_OK)
				fail_msg("line %u: %s", ex[i].line, err.message);
			assert_non_null(app);
			assert_int_equal(mic_application_line(app), ex[i].line);
			valid++;
			mic_application_free(&app);
			assert_null(app);
			continue;
		}
		if (rc != MIC_ERR_BATCH_LINE)
			fail_msg("line %u: expected an error, got %d",
			    ex[i].line, rc);
		assert_null(app);
		assert_int_equal(err.line, ex[i].line);
		assert_string_equal(err.field, ex[i].field);
		if (err.rc != ex[i].rc)
			fail_msg("line %u: %s: rc %d, expected %d",
			    ex[i].line, err.message, err.rc, ex[i].rc);
		if (ex[i].msg != NULL && strstr(err.message, ex[i].msg) == NULL)
			fail_msg("line %u: \"%s\" lacks \"%s\"", ex[i].line,
			    err.message, ex[i].msg);
		/* Every message starts "line N: ". */
		{
			char head[32];

			snprintf(head, sizeof(head), "line %u: ", ex[i].line);
			assert_memory_equal(err.message, head, strlen(head));
		}
	}
	assert_int_equal(mic_batch_next(b, &app, &err), MIC_ERR_NOT_FOUND);
	assert_int_equal(mic_batch_next(b, &app, &err), MIC_ERR_NOT_FOUND);
	assert_int_equal(mic_batch_lines(b), line);
	assert_int_equal(valid, 36);
	mic_batch_free(&b);
	assert_null(b);
	unlink(bf.path);
}

/* What a valid line gives: the objects ready for the card. */
static void
test_batch_values(void **state)
{
	static const char text[] =
	    "{\"application_id\":\"EMP-1\",\"channel\":\"employer\","
	    "\"employer_id\":\"91110000MA00000000\",\"name\":\"李四\","
	    "\"gender\":\"2\",\"ssn\":\"32010219881108018x\","
	    "\"birth_date\":\"19881108\",\"birthplace\":\"320102\","
	    "\"scheme\":\"employee\",\"pooling_region\":\"320100\","
	    "\"insured_since\":\"20100301\",\"ethnicity\":\"01\","
	    "\"first_use_activation\":true}\n";
	uint8_t buf[MIC_EF_HOLDER_SIZE];
	mic_application_t *app = NULL;
	const mic_holder_t *h;
	const mic_insurance_t *ins;
	mic_batch_error err;
	mic_batch_t *b = NULL;
	size_t len;
	FILE *fp;

	(void)state;
	assert_non_null(fp = fmemopen((void *)(uintptr_t)text,
	    strlen(text), "rb"));
	assert_int_equal(mic_batch_open_fp(&b, fp), MIC_OK);
	assert_int_equal(mic_batch_next(b, &app, &err), MIC_OK);
	assert_string_equal(mic_application_id(app), "EMP-1");
	assert_int_equal(mic_application_channel(app), MIC_CHANNEL_EMPLOYER);
	assert_string_equal(mic_channel_name(MIC_CHANNEL_EMPLOYER), "employer");
	assert_string_equal(mic_application_employer(app),
	    "91110000MA00000000");
	h = mic_application_holder(app);
	assert_string_equal(mic_holder_ssn(h), "32010219881108018X");
	assert_string_equal(mic_holder_name(h), "李四");
	assert_string_equal(mic_holder_gender(h), "2");
	assert_string_equal(mic_holder_birth_date(h), "19881108");
	assert_string_equal(mic_holder_birthplace(h), "320102");
	assert_string_equal(mic_holder_ethnicity(h), "01");
	ins = mic_application_insurance(app);
	assert_int_equal(mic_insurance_scheme(ins), MIC_SCHEME_EMPLOYEE);
	assert_string_equal(mic_insurance_region(ins), "320100");
	assert_string_equal(mic_insurance_since(ins), "20100301");
	assert_int_equal(mic_insurance_policy(ins), MIC_POLICY_FIRST_USE);
	assert_int_equal(mic_holder_encode(h, buf, sizeof(buf), &len), MIC_OK);
	assert_int_equal(mic_insurance_encode(ins, buf, sizeof(buf), &len),
	    MIC_OK);
	mic_application_free(&app);
	assert_int_equal(mic_batch_next(b, &app, &err), MIC_ERR_NOT_FOUND);
	assert_null(app);
	mic_batch_free(&b);
	/* The stream stays the caller's. */
	assert_int_equal(fclose(fp), 0);

	assert_int_equal(mic_batch_open(&b, "/nonexistent/batch.jsonl"),
	    MIC_ERR_IO);
	assert_null(b);
	assert_int_equal(mic_batch_open(NULL, "x"), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_batch_next(NULL, &app, &err),
	    MIC_ERR_INVALID_ARGUMENT);
	mic_batch_free(NULL);
	mic_application_free(NULL);
}

/*
 * 10,000 lines through the reader: the live heap may grow only by the
 * duplicate sets (tens of bytes a line), never by the lines themselves.
 */
static void
test_batch_streams_flat(void **state)
{
	enum { LINES = 10000, LONG_EVERY = 1000 };
	struct batch_file bf;
	mic_application_t *app = NULL;
	mic_batch_error err;
	mic_batch_t *b = NULL;
	size_t base, peak = 0, at_1000 = 0, live, errors = 0, ok = 0;
	unsigned i;
	mic_rc rc;

	(void)state;
	batch_create(&bf);
	for (i = 0; i < LINES; i++) {
		if (i % LONG_EVERY == LONG_EVERY - 1) {
			/* A line of 100 KiB now and then: no growth either. */
			size_t k;

			fputs("{\"pad\":\"", bf.f);
			for (k = 0; k < 100 * 1024; k++)
				fputc('x', bf.f);
			fputs("\"}\n", bf.f);
		} else
			emit(bf.f, i, NULL, NULL);
	}
	assert_int_equal(fclose(bf.f), 0);

	base = LIVE_BYTES();
	assert_int_equal(mic_batch_open(&b, bf.path), MIC_OK);
	while ((rc = mic_batch_next(b, &app, &err)) != MIC_ERR_NOT_FOUND) {
		if (rc == MIC_OK) {
			ok++;
			mic_application_free(&app);
		} else {
			assert_int_equal(rc, MIC_ERR_BATCH_LINE);
			assert_int_equal(err.rc, MIC_ERR_JSON);
			errors++;
		}
		live = LIVE_BYTES() - base;
		if (live > peak)
			peak = live;
		if (mic_batch_lines(b) == 1000)
			at_1000 = live;
	}
	assert_int_equal(ok, LINES - LINES / LONG_EVERY);
	assert_int_equal(errors, LINES / LONG_EVERY);
	/* The reader's buffer (64 KiB) and handle, the sets (two of 16384
	 * slots of 24 bytes at 10,000 ids) and the id arena (128 KiB). */
	print_message("batch: live heap peak %zu bytes, %zu at line 1000\n",
	    peak, at_1000);
	assert_true(peak < 2u * 1024 * 1024);
	/* From line 1000 to 10000: only the sets may grow, < 128 B a line. */
	assert_true(peak - at_1000 < 9000u * 128);
	mic_batch_free(&b);
	assert_true(LIVE_BYTES() <= base + 4096);
	unlink(bf.path);
}

/* --- one application as JSON text (the journal's copy) ----------------- */

/* docs/issuance.md's example, keys in the document's order. */
static const char example[] =
    "{\"application_id\":\"2026-000017\",\"channel\":\"employer\","
    "\"employer_id\":\"91110000MA00000000\",\"name\":\"李四\","
    "\"gender\":\"2\",\"ssn\":\"32010219881108018X\","
    "\"birth_date\":\"19881108\",\"birthplace\":\"320102\","
    "\"ethnicity\":\"01\",\"scheme\":\"employee\","
    "\"pooling_region\":\"320100\",\"insured_since\":\"20100301\","
    "\"first_use_activation\":true}";

/* The same application, keys reversed, spaces between tokens. */
static const char example_reordered[] =
    "{ \"first_use_activation\" : true, \"insured_since\": \"20100301\", "
    "\"pooling_region\": \"320100\", \"scheme\": \"employee\", "
    "\"ethnicity\": \"01\", \"birthplace\": \"320102\", "
    "\"birth_date\": \"19881108\", \"ssn\": \"32010219881108018X\", "
    "\"gender\": \"2\", \"name\": \"\\u674e\\u56db\", "
    "\"employer_id\": \"91110000MA00000000\", \"channel\": \"employer\", "
    "\"application_id\": \"2026-000017\" }";

static mic_application_t *
parse_ok(const char *text, size_t len)
{
	mic_application_t *app = NULL;
	mic_batch_error err;
	mic_rc rc;

	rc = mic_application_parse(text, len, &app, &err);
	if (rc != MIC_OK)
		fail_msg("parse: rc %d: %s", rc, err.message);
	assert_non_null(app);
	assert_non_null(mic_application_json(app));
	return app;
}

/* Every key of the object, in the order they appear in @p json. */
static void
assert_sorted_keys(const char *json)
{
	const char *known[] = {
		"application_id", "birth_date", "birthplace", "channel",
		"employer_id", "ethnicity", "first_use_activation", "gender",
		"insured_since", "name", "pooling_region", "scheme", "ssn",
	};
	const char *last = json;
	char key[40];
	size_t k;

	for (k = 0; k < NELEM(known); k++) {
		const char *at;

		snprintf(key, sizeof(key), "\"%s\":", known[k]);
		if ((at = strstr(json, key)) == NULL)
			continue;
		if (at < last)
			fail_msg("%s out of order in %s", key, json);
		last = at;
	}
}

static void
test_application_json(void **state)
{
	mic_application_t *a = NULL, *b = NULL, *c = NULL;
	const char *j;
	size_t k;

	(void)state;
	a = parse_ok(example, strlen(example));
	j = mic_application_json(a);
	/* Compact, one line, ASCII only: CJK as \u escapes. */
	for (k = 0; j[k] != '\0'; k++) {
		assert_true((unsigned char)j[k] >= 0x20);
		assert_true((unsigned char)j[k] < 0x80);
	}
	assert_null(strstr(j, ": "));
	assert_null(strstr(j, ", "));
	assert_non_null(strstr(j, "\"name\":\"\\u674E\\u56DB\""));
	assert_int_equal(j[0], '{');
	assert_int_equal(j[strlen(j) - 1], '}');
	assert_sorted_keys(j);
	assert_true(strncmp(j, "{\"application_id\":\"2026-000017\",", 32) ==
	    0);

	/* json -> parse -> json is the same text, and the same values. */
	b = parse_ok(j, strlen(j));
	assert_string_equal(mic_application_json(b), j);
	assert_string_equal(mic_application_id(b), "2026-000017");
	assert_int_equal(mic_application_channel(b), MIC_CHANNEL_EMPLOYER);
	assert_string_equal(mic_application_employer(b), "91110000MA00000000");
	assert_string_equal(mic_holder_name(mic_application_holder(b)),
	    "李四");
	assert_string_equal(mic_holder_ssn(mic_application_holder(b)),
	    "32010219881108018X");
	assert_string_equal(mic_holder_ethnicity(mic_application_holder(b)),
	    "01");
	assert_int_equal(mic_insurance_policy(mic_application_insurance(b)),
	    MIC_POLICY_FIRST_USE);
	/* Not from a batch: no line. */
	assert_int_equal(mic_application_line(b), 0);

	/* The order of the keys and the spacing do not matter. */
	c = parse_ok(example_reordered, strlen(example_reordered));
	assert_string_equal(mic_application_json(c), j);
	mic_application_free(&c);

	/* What the batch reader hands out is the same text. */
	{
		char line[sizeof(example) + 1];
		mic_batch_t *bt = NULL;
		mic_batch_error err;
		FILE *fp;

		snprintf(line, sizeof(line), "%s\n", example);
		assert_non_null(fp = fmemopen(line, strlen(line), "rb"));
		assert_int_equal(mic_batch_open_fp(&bt, fp), MIC_OK);
		assert_int_equal(mic_batch_next(bt, &c, &err), MIC_OK);
		assert_string_equal(mic_application_json(c), j);
		assert_int_equal(mic_application_line(c), 1);
		mic_application_free(&c);
		mic_batch_free(&bt);
		fclose(fp);
	}

	/* The text need not end in NUL: only len bytes count. */
	{
		char buf[sizeof(example) + 8];

		memcpy(buf, example, strlen(example));
		memcpy(buf + strlen(example), "garbage!", 8);
		c = parse_ok(buf, strlen(example));
		assert_string_equal(mic_application_json(c), j);
		mic_application_free(&c);
	}
	mic_application_free(&a);
	mic_application_free(&b);
	assert_null(mic_application_json(NULL));
}

/*
 * One meaning, one text: what the schema says is the same application
 * (an optional field null or left out, first_use_activation false or
 * left out, a lower-case x in the ID number) is the same JSON, so that a
 * batch exported again by another system is not taken for a changed one.
 */
static void
test_application_json_canonical(void **state)
{
	static const char plain[] =
	    "{\"application_id\":\"C-1\",\"channel\":\"self\","
	    "\"name\":\"Wang\",\"gender\":\"2\","
	    "\"ssn\":\"32010219881108018X\",\"birth_date\":\"19881108\","
	    "\"birthplace\":\"320102\",\"scheme\":\"resident\","
	    "\"pooling_region\":\"320100\",\"insured_since\":\"20100301\"}";
	static const char spelled[] =
	    "{\"application_id\":\"C-1\",\"channel\":\"self\","
	    "\"employer_id\":null,\"name\":\"Wang\",\"gender\":\"2\","
	    "\"ssn\":\"32010219881108018x\",\"birth_date\":\"19881108\","
	    "\"birthplace\":\"320102\",\"ethnicity\":null,"
	    "\"scheme\":\"resident\",\"pooling_region\":\"320100\","
	    "\"insured_since\":\"20100301\","
	    "\"first_use_activation\":false}";
	mic_application_t *a, *b, *c;

	(void)state;
	a = parse_ok(plain, strlen(plain));
	b = parse_ok(spelled, strlen(spelled));
	assert_string_equal(mic_application_json(b), mic_application_json(a));
	assert_null(strstr(mic_application_json(a), "null"));
	assert_non_null(strstr(mic_application_json(a),
	    "\"ssn\":\"32010219881108018X\""));
	/* The canonical text still parses to the same text. */
	c = parse_ok(mic_application_json(b), strlen(mic_application_json(b)));
	assert_string_equal(mic_application_json(c), mic_application_json(a));
	assert_int_equal(mic_insurance_policy(mic_application_insurance(c)),
	    0);
	mic_application_free(&a);
	mic_application_free(&b);
	mic_application_free(&c);
}

struct parse_case {
	const char *text;
	const char *field;
	mic_rc rc;
	const char *msg;    /* the message's start */
};

static void
test_application_parse_errors(void **state)
{
	static const struct parse_case cases[] = {
		{ "not json", "", MIC_ERR_JSON, "not JSON" },
		{ "[1]", "", MIC_ERR_JSON, "an array, expected an object" },
		{ "\"x\"", "", MIC_ERR_JSON, "not JSON" },
		{ "", "", MIC_ERR_JSON, "not JSON" },
		{ "{\"a\":1,\"a\":2}", "", MIC_ERR_JSON, "not JSON" },
		{ "{\"nickname\":\"Bob\"}", "", MIC_ERR_FIELD_UNKNOWN,
		    "unknown field \"nickname\"" },
		{ "{}", "application_id", MIC_ERR_MISSING,
		    "application_id: missing" },
		{ "{\"application_id\":7}", "application_id",
		    MIC_ERR_FIELD_TYPE, "application_id: is a number" },
		{ "{\"application_id\":\"A 1\"}", "application_id",
		    MIC_ERR_FORMAT, "application_id: character 2" },
		{ "{\"application_id\":\"A1\",\"channel\":\"web\"}",
		    "channel", MIC_ERR_VALUE, "channel: \"web\" is not" },
		{ "{\"application_id\":\"A1\",\"channel\":\"self\","
		    "\"name\":\"Li\",\"ssn\":\"32010219881108018Y\"}",
		    "ssn", MIC_ERR_IDNUM_CHAR, "ssn: character 18" },
		{ "{\"application_id\":\"A1\",\"channel\":\"self\","
		    "\"name\":\"Li\",\"ssn\":\"320102198811080181\"}",
		    "ssn", MIC_ERR_IDNUM_CHECK,
		    "ssn: check character is 1, expected X" },
		{ "{\"application_id\":\"A1\",\"channel\":\"self\","
		    "\"name\":\"Li\",\"ssn\":\"32010219881108018X\","
		    "\"birth_date\":\"19881109\"}",
		    "birth_date", MIC_ERR_MISMATCH, "birth_date: 19881109, "
		    "the ID number says 19881108" },
	};
	mic_application_t *app = NULL;
	mic_batch_error err;
	size_t i;
	mic_rc rc;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		const struct parse_case *c = &cases[i];

		memset(&err, 0x55, sizeof(err));
		app = (mic_application_t *)(uintptr_t)1;
		rc = mic_application_parse(c->text, strlen(c->text), &app,
		    &err);
		if (rc != MIC_ERR_BATCH_LINE)
			fail_msg("case %zu: rc %d", i, rc);
		assert_null(app);
		assert_int_equal(err.line, 0);
		assert_string_equal(err.field, c->field);
		if (err.rc != c->rc)
			fail_msg("case %zu: %s: rc %d, expected %d", i,
			    err.message, err.rc, c->rc);
		/* No "line N: " prefix, the field first when there is one. */
		if (strncmp(err.message, c->msg, strlen(c->msg)) != 0)
			fail_msg("case %zu: \"%s\" does not start \"%s\"", i,
			    err.message, c->msg);
		assert_null(strstr(err.message, "line "));
	}
	/* Without an error record: still refused. */
	assert_int_equal(mic_application_parse("{}", 2, &app, NULL),
	    MIC_ERR_BATCH_LINE);
	assert_null(app);
}

static void
test_application_parse_limits(void **state)
{
	const size_t max = MIC_BATCH_LINE_MAX;
	mic_application_t *app = NULL;
	mic_batch_error err;
	char *buf;
	size_t n = strlen(example);

	(void)state;
	/* The example padded with blanks to exactly the limit: fine. */
	assert_non_null(buf = malloc(max + 2));
	memset(buf, ' ', max + 1);
	memcpy(buf, example, n);
	buf[max + 1] = '\0';
	app = parse_ok(buf, max);
	mic_application_free(&app);
	/* One byte more: refused as a whole, before JSON is parsed. */
	assert_int_equal(mic_application_parse(buf, max + 1, &app, &err),
	    MIC_ERR_BATCH_LINE);
	assert_null(app);
	assert_int_equal(err.rc, MIC_ERR_JSON);
	assert_int_equal(err.line, 0);
	assert_string_equal(err.field, "");
	assert_string_equal(err.message, "longer than 65536 bytes");
	free(buf);
	/* A NUL inside the length is not the end of the text. */
	{
		char nul[sizeof(example) + 1];

		memcpy(nul, example, n);
		nul[n] = '\0';
		nul[n - 1] = '\0';  /* the closing brace */
		assert_int_equal(mic_application_parse(nul, n + 1, &app,
		    &err), MIC_ERR_BATCH_LINE);
		assert_null(app);
		assert_int_equal(err.rc, MIC_ERR_JSON);
	}

	/* NULL arguments. */
	assert_int_equal(mic_application_parse(NULL, 2, &app, &err),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_null(app);
	assert_int_equal(mic_application_parse(example, n, NULL, &err),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_application_parse(NULL, 0, NULL, NULL),
	    MIC_ERR_INVALID_ARGUMENT);
	/* No error record needed for a good one. */
	assert_int_equal(mic_application_parse(example, n, &app, NULL),
	    MIC_OK);
	assert_non_null(app);
	mic_application_free(&app);
	assert_null(app);
}

/*
 * The caller gets the whole message in its error record; MIC_DEBUG only
 * the line and the field, never the ID number or birth date it quotes
 * (docs/privacy.md).
 */
static void
test_debug_private(void **state)
{
	static const char text[] = "{\"application_id\":\"A1\","
	    "\"channel\":\"self\",\"name\":\"Li\","
	    "\"ssn\":\"32010219881108018X\",\"birth_date\":\"19881109\"}";
	const char *old = getenv("MIC_DEBUG");
	char *saved = old != NULL ? strdup(old) : NULL;
	mic_application_t *app = NULL;
	mic_batch_error err;
	char log[2048];
	FILE *f = tmpfile();
	int fd = dup(2);
	size_t len;

	(void)state;
	assert_non_null(f);
	assert_true(fd >= 0);
	setenv("MIC_DEBUG", "1", 1);
	fflush(stderr);
	assert_true(dup2(fileno(f), 2) >= 0);
	assert_int_equal(mic_application_parse(text, strlen(text), &app, &err),
	    MIC_ERR_BATCH_LINE);
	fflush(stderr);
	assert_true(dup2(fd, 2) >= 0);
	close(fd);
	if (saved != NULL)
		setenv("MIC_DEBUG", saved, 1);
	else
		unsetenv("MIC_DEBUG");
	free(saved);
	rewind(f);
	len = fread(log, 1, sizeof(log) - 1, f);
	fclose(f);
	log[len] = '\0';
	assert_non_null(strstr(err.message, "19881108"));
	assert_non_null(strstr(log, "batch: line 0: birth_date"));
	if (strstr(log, "1988110") != NULL || strstr(log, "320102") != NULL)
		fail_msg("personal data in MIC_DEBUG:\n%s", log);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_mixed),
		cmocka_unit_test(test_batch_values),
		cmocka_unit_test(test_batch_streams_flat),
		cmocka_unit_test(test_application_json),
		cmocka_unit_test(test_application_json_canonical),
		cmocka_unit_test(test_application_parse_errors),
		cmocka_unit_test(test_debug_private),
		cmocka_unit_test(test_application_parse_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
