/*
 * Citizen identity numbers: the worked examples of GB 11643-1999 in
 * libmic/data/id-number.md, and each way a number can be wrong, with the
 * detail a batch validator reports.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <mic/idnum.h>

struct vector {
	const char *number;
	const char *birth;
	char gender;
	char check;
};

/* id-number.md section 3, examples 1-5. */
static const struct vector vectors[] = {
	{ "110105198001010016", "19800101", '1', '6' },
	{ "310115199212310021", "19921231", '2', '1' },
	{ "440305200002291232", "20000229", '1', '2' },
	{ "510107197506154683", "19750615", '2', '3' },
	{ "32010219881108018X", "19881108", '2', 'X' },
};

/* 17 digits plus their own check character. */
static void
make(const char *body, char out[MIC_IDNUM_LEN + 1])
{
	char check = 0;

	assert_int_equal(mic_idnum_check_char(body, &check), MIC_OK);
	memcpy(out, body, 17);
	out[17] = check;
	out[18] = '\0';
}

static void
test_vectors(void **state)
{
	mic_idnum_info info;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *v = &vectors[i];
		char check = 0;

		assert_int_equal(mic_idnum_check(v->number, "20261123", &info),
		    MIC_OK);
		assert_string_equal(info.number, v->number);
		assert_string_equal(info.birth_date, v->birth);
		assert_int_equal(info.gender, v->gender);
		assert_int_equal(info.check_expected, v->check);
		assert_int_equal(info.check_found, v->check);
		assert_int_equal(info.len, 18);
		assert_int_equal(info.bad_pos, 0);
		assert_int_equal(mic_idnum_check_char(v->number, &check),
		    MIC_OK);
		assert_int_equal(check, v->check);
		/* No reference date, no info: the same answer. */
		assert_int_equal(mic_idnum_check(v->number, NULL, NULL),
		    MIC_OK);
	}
}

static void
test_lower_x(void **state)
{
	mic_idnum_info info;

	(void)state;
	assert_int_equal(mic_idnum_check("32010219881108018x", NULL, &info),
	    MIC_OK);
	assert_string_equal(info.number, "32010219881108018X");
	assert_int_equal(info.check_found, 'X');
}

/* id-number.md: "110105198001010017 ... fails the check". */
static void
test_check_char(void **state)
{
	mic_idnum_info info;

	(void)state;
	assert_int_equal(mic_idnum_check("110105198001010017", NULL, &info),
	    MIC_ERR_IDNUM_CHECK);
	assert_int_equal(info.check_found, '7');
	assert_int_equal(info.check_expected, '6');
	/* The rest of the detail is there for the report. */
	assert_string_equal(info.birth_date, "19800101");
	assert_int_equal(info.gender, '1');
	/* X where a digit belongs, and the reverse. */
	assert_int_equal(mic_idnum_check("11010519800101001X", NULL, &info),
	    MIC_ERR_IDNUM_CHECK);
	assert_int_equal(info.check_found, 'X');
	assert_int_equal(info.check_expected, '6');
	assert_int_equal(mic_idnum_check("320102198811080180", NULL, &info),
	    MIC_ERR_IDNUM_CHECK);
	assert_int_equal(info.check_expected, 'X');
	assert_int_equal(info.check_found, '0');
}

static void
test_length(void **state)
{
	static const char *bad[] = { "", "1", "11010519800101001",
		"1101051980010100166", "110105198001010016 " };
	mic_idnum_info info;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(mic_idnum_check(bad[i], NULL, &info),
		    MIC_ERR_IDNUM_LENGTH);
		assert_int_equal(info.len, strlen(bad[i]) > 19 ? 19 :
		    strlen(bad[i]));
		assert_int_equal(info.number[0], '\0');
	}
	/* A 15-digit number is length-wrong here: convert it first. */
	assert_int_equal(mic_idnum_check("110105670401234", NULL, NULL),
	    MIC_ERR_IDNUM_LENGTH);
}

static void
test_chars(void **state)
{
	static const struct {
		const char *s;
		size_t pos;
	} bad[] = {
		{ "A10105198001010016", 1 },
		{ "110105198001010 16", 16 },
		{ "1101051980010100X6", 17 },
		{ "11010519800101001Y", 18 },
		{ "11010519800101001-", 18 },
		{ "1101051980-1010016", 11 },
		{ "11010519800101001\xC3", 18 },
	};
	mic_idnum_info info;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(mic_idnum_check(bad[i].s, NULL, &info),
		    MIC_ERR_IDNUM_CHAR);
		assert_int_equal(info.bad_pos, bad[i].pos);
		assert_int_equal(info.check_expected, 0);
	}
}

static void
test_dates(void **state)
{
	static const char *bad[] = {
		"11010519800230001",  /* 30 February */
		"11010519000229001",  /* 1900 is not a leap year */
		"11010520010229001",
		"11010519801301001",  /* month 13 */
		"11010519800001001",  /* month 00 */
		"11010519800100001",  /* day 00 */
		"11010519800431001",  /* 31 April */
		"11010500000101001",  /* year 0000 */
	};
	char num[MIC_IDNUM_LEN + 1];
	mic_idnum_info info;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make(bad[i], num);
		assert_int_equal(mic_idnum_check(num, NULL, &info),
		    MIC_ERR_IDNUM_DATE);
		assert_int_equal(info.check_expected, info.check_found);
	}
	/* Leap days that exist. */
	make("11010520000229001", num);
	assert_int_equal(mic_idnum_check(num, NULL, NULL), MIC_OK);
	make("11010519960229001", num);
	assert_int_equal(mic_idnum_check(num, NULL, NULL), MIC_OK);
	make("11010519801231001", num);
	assert_int_equal(mic_idnum_check(num, NULL, NULL), MIC_OK);
}

static void
test_future(void **state)
{
	mic_idnum_info info;

	(void)state;
	assert_int_equal(mic_idnum_check(vectors[0].number, "19791231", &info),
	    MIC_ERR_IDNUM_FUTURE);
	assert_string_equal(info.birth_date, "19800101");
	/* Born today is not the future. */
	assert_int_equal(mic_idnum_check(vectors[0].number, "19800101", NULL),
	    MIC_OK);
	assert_int_equal(mic_idnum_check(vectors[2].number, "20000228", NULL),
	    MIC_ERR_IDNUM_FUTURE);
	/* A reference date that is none is the caller's bug. */
	assert_int_equal(mic_idnum_check(vectors[0].number, "2026112", NULL),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_idnum_check(vectors[0].number, "20260230", NULL),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_idnum_check(vectors[0].number, "2026-11-23",
	    NULL), MIC_ERR_INVALID_ARGUMENT);
}

static void
test_region(void **state)
{
	static const char *bad[] = { "00010519800101001", "99010519800101001",
		"72010519800101001", "10010519800101001", "84010519800101001" };
	static const char *good[] = { "71010519800101001",
		"81000019800101001", "82000019800101001", "83000019800101001",
		"65010519800101001" };
	char num[MIC_IDNUM_LEN + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make(bad[i], num);
		assert_int_equal(mic_idnum_check(num, NULL, NULL),
		    MIC_ERR_IDNUM_REGION);
	}
	/*
	 * Only the province is checked: 371200 (Laiwu, abolished 2019) and
	 * codes of counties not in any table are still good.
	 */
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		make(good[i], num);
		assert_int_equal(mic_idnum_check(num, NULL, NULL), MIC_OK);
	}
	make("37120219800101001", num);
	assert_int_equal(mic_idnum_check(num, NULL, NULL), MIC_OK);
}

/* The order a batch report relies on: the first failure wins. */
static void
test_order(void **state)
{
	char num[MIC_IDNUM_LEN + 1];
	mic_idnum_info info;

	(void)state;
	/* A wrong check character hides a bad date: mistyped, not made up. */
	make("11010519800230001", num);
	num[17] = num[17] == '0' ? '1' : '0';
	assert_int_equal(mic_idnum_check(num, NULL, &info),
	    MIC_ERR_IDNUM_CHECK);
	/* The date, then the future, then the province. */
	make("99010519800230001", num);
	assert_int_equal(mic_idnum_check(num, NULL, &info),
	    MIC_ERR_IDNUM_DATE);
	make("99010520990101001", num);
	assert_int_equal(mic_idnum_check(num, "20261123", &info),
	    MIC_ERR_IDNUM_FUTURE);
	assert_int_equal(mic_idnum_check(num, NULL, &info),
	    MIC_ERR_IDNUM_REGION);
	/* Characters before length-independent checks. */
	assert_int_equal(mic_idnum_check("9901052099010100xx", NULL, &info),
	    MIC_ERR_IDNUM_CHAR);
	assert_int_equal(info.bad_pos, 17);
}

static void
test_check_char_api(void **state)
{
	char c = 0;

	(void)state;
	assert_int_equal(mic_idnum_check_char("11010519800101001", &c),
	    MIC_OK);
	assert_int_equal(c, '6');
	assert_int_equal(mic_idnum_check_char("32010219881108018", &c),
	    MIC_OK);
	assert_int_equal(c, 'X');
	assert_int_equal(mic_idnum_check_char("1101051980010100", &c),
	    MIC_ERR_IDNUM_LENGTH);
	assert_int_equal(mic_idnum_check_char("1101051980010100A", &c),
	    MIC_ERR_IDNUM_CHAR);
	assert_int_equal(mic_idnum_check_char(NULL, &c),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_idnum_check_char("11010519800101001", NULL),
	    MIC_ERR_INVALID_ARGUMENT);
}

static void
test_1989(void **state)
{
	char out[MIC_IDNUM_LEN + 1];
	mic_idnum_info info;

	(void)state;
	/* id-number.md section 4. */
	assert_int_equal(mic_idnum_from_1989("110105670401234", out,
	    sizeof(out)), MIC_OK);
	assert_string_equal(out, "110105196704012342");
	assert_int_equal(mic_idnum_check(out, NULL, &info), MIC_OK);
	assert_int_equal(info.gender, '2');
	assert_string_equal(info.birth_date, "19670401");

	memset(out, 'Z', sizeof(out));
	assert_int_equal(mic_idnum_from_1989("11010567040123", out,
	    sizeof(out)), MIC_ERR_IDNUM_LENGTH);
	assert_int_equal(mic_idnum_from_1989("1101056704012345", out,
	    sizeof(out)), MIC_ERR_IDNUM_LENGTH);
	assert_int_equal(mic_idnum_from_1989("11010567040123X", out,
	    sizeof(out)), MIC_ERR_IDNUM_CHAR);
	assert_int_equal(mic_idnum_from_1989("110105670230123", out,
	    sizeof(out)), MIC_ERR_IDNUM_DATE);
	/* 1900 was no leap year. */
	assert_int_equal(mic_idnum_from_1989("110105000229123", out,
	    sizeof(out)), MIC_ERR_IDNUM_DATE);
	assert_int_equal(mic_idnum_from_1989("990105670401234", out,
	    sizeof(out)), MIC_ERR_IDNUM_REGION);
	/* Nothing written on failure. */
	assert_int_equal(out[0], 'Z');
	assert_int_equal(mic_idnum_from_1989("110105670401234", out,
	    MIC_IDNUM_LEN), MIC_ERR_BUFFER_TOO_SMALL);
	assert_int_equal(mic_idnum_from_1989(NULL, out, sizeof(out)),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_idnum_from_1989("110105670401234", NULL, 19),
	    MIC_ERR_INVALID_ARGUMENT);
}

static void
test_null(void **state)
{
	mic_idnum_info info;

	(void)state;
	assert_int_equal(mic_idnum_check(NULL, NULL, &info),
	    MIC_ERR_INVALID_ARGUMENT);
}

static void
test_strerror(void **state)
{
	(void)state;
	assert_string_equal(mic_strerror(MIC_ERR_IDNUM_CHECK),
	    "ID number check character is wrong");
	assert_string_equal(mic_strerror_name(MIC_ERR_IDNUM_REGION),
	    "MIC_ERR_IDNUM_REGION");
	assert_string_equal(mic_strerror_name(MIC_ERR_TEMPLATE),
	    "MIC_ERR_TEMPLATE");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_lower_x),
		cmocka_unit_test(test_check_char),
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_chars),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_future),
		cmocka_unit_test(test_region),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_check_char_api),
		cmocka_unit_test(test_1989),
		cmocka_unit_test(test_null),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
