/*
 * The card profile's data objects and code tables: every template built
 * through its setters must encode to the exact bytes of the profile
 * (the expected bytes were computed independently of libmic), decode back,
 * and every malformed input and bad value must get its own mic_rc.
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

#include <mic/profile.h>
#include <mic/idnum.h>
#include <mic/tlv.h>

#include "internal.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define BUF 512

/* EF.CARD: 440300 / D156000001 / 1 / 10 / 001 / 0000000042. */
#define CARD_ID "440300D1560000011100010000000042"
#define CARD_HEX "664A" \
	"8020343430333030443135363030303030313131303030313030303030303030" \
	"3432" "8109413132333435363738" "820101" "83020100" \
	"4206343430333030" "5F250420261123" "5F240420361122"
#define HOLDER_HEX "6534" \
	"8012343430333035323030303032323931323332" "5F2006E5BCA0E4B889" \
	"5F350131" "5F2B0420000229" "8106343430333035" "82023031"
#define INSURANCE_HEX "E114" "800131" "8106343430333030" "820420200101" \
	"830101"
#define ACTIVATION_HEX "E216" "800720261123093000" \
	"8108504F533030303031" "820101"
#define MEMBER_HEX "E32A" "80023330" \
	"8112333130313135313939323132333130303231" "5F2006E69D8EE59B9B" \
	"820101" "830420261201"
/*
 * 1000.00 CNY, counter 7, as in docs/card-profile.md section 8, whose
 * example writes the template length as 0E: the value is 16 bytes, 10.
 */
#define ACCOUNT_HEX "E410" "80080000000000" "0186A0" "810400000007"
#define LOG_HEX "00000007" "01" "00000000000004D2" "00000000000181CE" \
	"20261123093000" "504F533030303031" "00" "0102030405060708090A0B"
#define FCI_HEX "6F1A" "8409D1560000014D494301" "A50D" "800103" \
	"81080102030405060708"

#define SSN_MALE "440305200002291232"    /* id-number.md example 3 */
#define SSN_FEMALE "310115199212310021"  /* example 2 */
#define NAME_ZS "\xE5\xBC\xA0\xE4\xB8\x89"  /* 张三 */

struct bytes {
	uint8_t b[BUF];
	size_t n;
};

static void
hex(struct bytes *out, const char *s)
{
	assert_int_equal(mici_hex_decode(s, out->b, sizeof(out->b), &out->n),
	    MIC_OK);
}

/* @p b padded with 00 to @p size, as a file reads. */
static void
pad(struct bytes *b, size_t size)
{
	assert_true(b->n <= size && size <= sizeof(b->b));
	memset(b->b + b->n, 0, size - b->n);
	b->n = size;
}

/*
 * A template from items, so a test can vary one object: each item is a tag
 * and its value in hex, or NULL to leave the object out.
 */
struct item {
	uint32_t tag;
	const char *hex;
};

static void
build(struct bytes *out, uint32_t tmpl, const struct item *items, size_t n)
{
	mic_tlv_writer w;
	uint8_t v[128];
	size_t i, vn;

	mic_tlv_writer_init(&w, out->b, sizeof(out->b));
	mic_tlv_open(&w, tmpl);
	for (i = 0; i < n; i++) {
		if (items[i].hex == NULL)
			continue;
		assert_int_equal(mici_hex_decode(items[i].hex, v, sizeof(v),
		    &vn), MIC_OK);
		mic_tlv_put(&w, items[i].tag, v, vn);
	}
	mic_tlv_close(&w);
	assert_int_equal(mic_tlv_writer_finish(&w, &out->n), MIC_OK);
}

/* Build with item @p idx's value replaced by @p value (NULL: dropped). */
static void
build_with(struct bytes *out, uint32_t tmpl, const struct item *items,
    size_t n, size_t idx, const char *value)
{
	struct item copy[16];

	assert_true(n <= NELEM(copy) && idx < n);
	memcpy(copy, items, n * sizeof(*items));
	copy[idx].hex = value;
	build(out, tmpl, copy, n);
}

/* Build with one more item at the end. */
static void
build_plus(struct bytes *out, uint32_t tmpl, const struct item *items,
    size_t n, uint32_t tag, const char *value)
{
	struct item copy[16];

	assert_true(n + 1 <= NELEM(copy));
	memcpy(copy, items, n * sizeof(*items));
	copy[n].tag = tag;
	copy[n].hex = value;
	build(out, tmpl, copy, n + 1);
}

/* ASCII text as hex, for an item's value; one call per statement. */
static const char *
asc(const char *s)
{
	static char out[2 * 64 + 1];
	size_t i;

	assert_true(strlen(s) <= 64);
	for (i = 0; s[i] != '\0'; i++)
		snprintf(out + 2 * i, 3, "%02X", (unsigned char)s[i]);
	out[2 * i] = '\0';
	return out;
}

/* --- code tables ------------------------------------------------------- */

static void
test_code_valid(void **state)
{
	static const struct {
		mic_code_table t;
		const char *code;
		int valid;
	} cases[] = {
		{ MIC_CODE_GENDER, "0", 1 }, { MIC_CODE_GENDER, "1", 1 },
		{ MIC_CODE_GENDER, "2", 1 }, { MIC_CODE_GENDER, "9", 1 },
		{ MIC_CODE_GENDER, "3", 0 }, { MIC_CODE_GENDER, "01", 0 },
		{ MIC_CODE_GENDER, "", 0 },
		{ MIC_CODE_KINSHIP, "01", 1 }, { MIC_CODE_KINSHIP, "10", 1 },
		{ MIC_CODE_KINSHIP, "99", 1 }, { MIC_CODE_KINSHIP, "03", 0 },
		{ MIC_CODE_KINSHIP, "98", 0 }, { MIC_CODE_KINSHIP, "00", 0 },
		{ MIC_CODE_KINSHIP, "1", 0 }, { MIC_CODE_KINSHIP, "010", 0 },
		{ MIC_CODE_ETHNICITY, "01", 1 }, { MIC_CODE_ETHNICITY, "56", 1 },
		{ MIC_CODE_ETHNICITY, "57", 0 }, { MIC_CODE_ETHNICITY, "97", 0 },
		{ MIC_CODE_ETHNICITY, "00", 0 },
		{ MIC_CODE_PROVINCE, "110000", 1 },
		{ MIC_CODE_PROVINCE, "820000", 1 },
		{ MIC_CODE_PROVINCE, "440300", 0 },
		{ MIC_CODE_PROVINCE, "830000", 0 },
		{ MIC_CODE_PREFECTURE, "440300", 1 },
		{ MIC_CODE_PREFECTURE, "460400", 1 },
		{ MIC_CODE_PREFECTURE, "440000", 0 },
		{ MIC_CODE_PREFECTURE, "371200", 0 },  /* Laiwu, gone in 2019 */
		{ MIC_CODE_PREFECTURE, "110100", 0 },
		{ MIC_CODE_REGION, "440305", 1 },  /* a county: province checked */
		{ MIC_CODE_REGION, "110105", 1 }, { MIC_CODE_REGION, "440000", 1 },
		{ MIC_CODE_REGION, "371202", 1 }, { MIC_CODE_REGION, "990000", 0 },
		{ MIC_CODE_REGION, "830000", 0 }, { MIC_CODE_REGION, "44030", 0 },
		{ MIC_CODE_REGION, "4403051", 0 },
		{ MIC_CODE_REGION, "44030A", 0 }, { MIC_CODE_REGION, "", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		if (mic_code_valid(cases[i].t, cases[i].code) != cases[i].valid)
			fail_msg("table %d, \"%s\": want %d", (int)cases[i].t,
			    cases[i].code, cases[i].valid);
	}
	assert_false(mic_code_valid(MIC_CODE_KINSHIP, NULL));
	assert_false(mic_code_valid((mic_code_table)99, "01"));
}

static void
test_code_tables(void **state)
{
	static const struct {
		mic_code_table t;
		size_t n;
	} counts[] = {
		{ MIC_CODE_GENDER, 4 }, { MIC_CODE_KINSHIP, 84 },
		{ MIC_CODE_ETHNICITY, 56 }, { MIC_CODE_PROVINCE, 34 },
		{ MIC_CODE_PREFECTURE, 333 }, { MIC_CODE_REGION, 367 },
	};
	size_t i, j;

	(void)state;
	for (i = 0; i < NELEM(counts); i++) {
		const mic_code_entry *prev = NULL, *e;

		assert_int_equal(mic_code_count(counts[i].t), counts[i].n);
		for (j = 0; j < counts[i].n; j++) {
			assert_non_null(e = mic_code_at(counts[i].t, j));
			assert_non_null(e->code);
			assert_non_null(e->name_zh);
			/* Sorted, unique, and found by its own code. */
			if (prev != NULL)
				assert_true(strcmp(prev->code, e->code) < 0);
			assert_ptr_equal(mic_code_find(counts[i].t, e->code),
			    e);
			assert_true(mic_code_valid(counts[i].t, e->code));
			prev = e;
		}
		assert_null(mic_code_at(counts[i].t, counts[i].n));
	}
	assert_int_equal(mic_code_count((mic_code_table)0), 0);
	assert_null(mic_code_at((mic_code_table)0, 0));
}

static void
test_code_names(void **state)
{
	const mic_code_entry *e;

	(void)state;
	assert_string_equal(mic_code_name(MIC_CODE_KINSHIP, "10", MIC_LANG_ZH),
	    "\xE9\x85\x8D\xE5\x81\xB6");  /* 配偶 */
	assert_string_equal(mic_code_name(MIC_CODE_KINSHIP, "10", MIC_LANG_EN),
	    "spouse");
	assert_string_equal(mic_code_name(MIC_CODE_GENDER, "2", MIC_LANG_EN),
	    "female");
	assert_string_equal(mic_code_name(MIC_CODE_ETHNICITY, "04",
	    MIC_LANG_EN), "Zang");
	assert_non_null(e = mic_code_find(MIC_CODE_ETHNICITY, "04"));
	assert_string_equal(e->alpha, "ZA");
	assert_non_null(e = mic_code_find(MIC_CODE_PROVINCE, "440000"));
	assert_string_equal(e->name_en, "Guangdong Province");
	assert_string_equal(e->alpha, "GD");
	assert_string_equal(mic_code_name(MIC_CODE_PREFECTURE, "440300",
	    MIC_LANG_ZH), "\xE6\xB7\xB1\xE5\x9C\xB3\xE5\xB8\x82");  /* 深圳市 */
	assert_null(mic_code_name(MIC_CODE_PREFECTURE, "440300", MIC_LANG_EN));
	/* A county has no row, though the code is valid. */
	assert_null(mic_code_find(MIC_CODE_REGION, "440305"));
	assert_non_null(mic_code_find(MIC_CODE_REGION, "440300"));
	assert_null(mic_code_name(MIC_CODE_KINSHIP, "03", MIC_LANG_ZH));
	assert_null(mic_code_name(MIC_CODE_KINSHIP, NULL, MIC_LANG_ZH));
	assert_null(mic_code_name(MIC_CODE_KINSHIP, "10", (mic_lang)7));
}

static void
test_region_names(void **state)
{
	const char *prov = "x", *pref = "x";

	(void)state;
	assert_int_equal(mic_region_names("440305", MIC_LANG_ZH, &prov, &pref),
	    MIC_OK);
	assert_string_equal(prov, "\xE5\xB9\xBF\xE4\xB8\x9C\xE7\x9C\x81");
	assert_string_equal(pref, "\xE6\xB7\xB1\xE5\x9C\xB3\xE5\xB8\x82");
	assert_int_equal(mic_region_names("440305", MIC_LANG_EN, &prov, &pref),
	    MIC_OK);
	assert_string_equal(prov, "Guangdong Province");
	assert_null(pref);
	/* Municipality districts have no prefecture row. */
	assert_int_equal(mic_region_names("110105", MIC_LANG_ZH, &prov, &pref),
	    MIC_OK);
	assert_string_equal(prov, "\xE5\x8C\x97\xE4\xBA\xAC\xE5\xB8\x82");
	assert_null(pref);
	assert_int_equal(mic_region_names("440000", MIC_LANG_ZH, &prov, &pref),
	    MIC_OK);
	assert_null(pref);
	prov = pref = "x";
	assert_int_equal(mic_region_names("990000", MIC_LANG_ZH, &prov, &pref),
	    MIC_ERR_CODE);
	assert_null(prov);
	assert_null(pref);
	assert_int_equal(mic_region_names(NULL, MIC_LANG_ZH, &prov, &pref),
	    MIC_ERR_CODE);
	assert_int_equal(mic_region_names("440305", MIC_LANG_ZH, NULL, &pref),
	    MIC_ERR_INVALID_ARGUMENT);
}

/* --- AID, state, card identification code ------------------------------ */

static void
test_aid_state(void **state)
{
	static const uint8_t want[] = { 0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D,
		0x49, 0x43, 0x01 };
	size_t n = 0;
	const uint8_t *aid = mic_aid(&n);

	(void)state;
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(aid, want, sizeof(want));
	assert_ptr_equal(mic_aid(NULL), aid);
	assert_string_equal(mic_state_name(MIC_STATE_BLANK), "blank");
	assert_string_equal(mic_state_name(MIC_STATE_PERSONALIZED),
	    "personalized");
	assert_string_equal(mic_state_name(MIC_STATE_ACTIVE), "active");
	assert_string_equal(mic_state_name(MIC_STATE_BLOCKED), "blocked");
	assert_string_equal(mic_state_name(MIC_STATE_TERMINATED),
	    "terminated");
	assert_string_equal(mic_state_name((mic_state)0), "unknown");
	assert_string_equal(mic_state_name((mic_state)6), "unknown");
}

static void
base_cardid(mic_cardid *id)
{
	memset(id, 0, sizeof(*id));
	memcpy(id->issuer, "440300", 7);
	id->card_type = 1;
	id->version_major = 1;
	id->version_minor = 0;
	id->bureau = 1;
	id->serial = 42;
}

static void
test_cardid(void **state)
{
	char out[MIC_CARDID_LEN + 1];
	mic_cardid id, back;

	(void)state;
	base_cardid(&id);
	assert_int_equal(mic_cardid_build(&id, out, sizeof(out)), MIC_OK);
	assert_string_equal(out, CARD_ID);
	assert_int_equal(mic_cardid_parse(out, &back), MIC_OK);
	assert_string_equal(back.issuer, "440300");
	assert_int_equal(back.card_type, 1);
	assert_int_equal(back.version_major, 1);
	assert_int_equal(back.version_minor, 0);
	assert_int_equal(back.bureau, 1);
	assert_int_equal(back.serial, 42);

	id.bureau = 999;
	id.serial = UINT64_C(9999999999);
	id.version_minor = 9;
	assert_int_equal(mic_cardid_build(&id, out, sizeof(out)), MIC_OK);
	assert_string_equal(out, "440300D156000001119999" "9999999999");
	assert_int_equal(mic_cardid_parse(out, &back), MIC_OK);
	assert_int_equal(back.serial, UINT64_C(9999999999));
	assert_int_equal(back.bureau, 999);
	assert_int_equal(back.version_minor, 9);
}

static void
test_cardid_build_bad(void **state)
{
	char out[MIC_CARDID_LEN + 1];
	mic_cardid id;

	(void)state;
	base_cardid(&id);
	assert_int_equal(mic_cardid_build(&id, out, MIC_CARDID_LEN),
	    MIC_ERR_BUFFER_TOO_SMALL);
	memcpy(id.issuer, "990000", 7);
	assert_int_equal(mic_cardid_build(&id, out, sizeof(out)),
	    MIC_ERR_CODE);
	memcpy(id.issuer, "44030", 6);
	assert_int_equal(mic_cardid_build(&id, out, sizeof(out)),
	    MIC_ERR_CODE);
	base_cardid(&id);
	id.card_type = 2;
	assert_int_equal(mic_cardid_build(&id, out, sizeof(out)),
	    MIC_ERR_VALUE);
	base_cardid(&id);
	id.version_major = 2;
	assert_int_equal(mic_cardid_build(&id, out, sizeof(out)),
	    MIC_ERR_VALUE);
	base_cardid(&id);
	id.version_minor = 10;
	assert_int_equal(mic_cardid_build(&id, out, sizeof(out)),
	    MIC_ERR_VALUE);
	base_cardid(&id);
	id.bureau = 1000;
	assert_int_equal(mic_cardid_build(&id, out, sizeof(out)),
	    MIC_ERR_VALUE);
	base_cardid(&id);
	id.serial = UINT64_C(10000000000);
	assert_int_equal(mic_cardid_build(&id, out, sizeof(out)),
	    MIC_ERR_VALUE);
	assert_int_equal(mic_cardid_build(NULL, out, sizeof(out)),
	    MIC_ERR_INVALID_ARGUMENT);
}

static void
test_cardid_parse_bad(void **state)
{
	static const struct {
		const char *s;
		mic_rc rc;
	} bad[] = {
		{ "440300D156000001110001000000004", MIC_ERR_FORMAT },
		{ CARD_ID "0", MIC_ERR_FORMAT },
		{ "440300D15600000111000100000000A2", MIC_ERR_FORMAT },
		{ "44030AD1560000011100010000000042", MIC_ERR_FORMAT },
		{ "440300D1560000\x01" "11100010000000042", MIC_ERR_FORMAT },
		{ "440300D1560000021100010000000042", MIC_ERR_VALUE },
		{ "440300d1560000011100010000000042", MIC_ERR_VALUE },
		{ "990000D1560000011100010000000042", MIC_ERR_CODE },
		{ "440300D1560000012100010000000042", MIC_ERR_VALUE },
		{ "440300D1560000011200010000000042", MIC_ERR_VALUE },
	};
	mic_cardid id;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(bad); i++) {
		if (mic_cardid_parse(bad[i].s, &id) != bad[i].rc)
			fail_msg("\"%s\": want %s", bad[i].s,
			    mic_strerror_name(bad[i].rc));
	}
	assert_int_equal(mic_cardid_parse(NULL, &id),
	    MIC_ERR_INVALID_ARGUMENT);
}

/* --- EF.CARD ------------------------------------------------------------ */

static const struct item card_items[] = {
	{ 0x80, "34343033303044313536303030303031"
	    "31313030303130303030303030303432" },
	{ 0x81, "413132333435363738" },
	{ 0x82, "01" },
	{ 0x83, "0100" },
	{ 0x42, "343430333030" },
	{ 0x5F25, "20261123" },
	{ 0x5F24, "20361122" },
};

static mic_cardinfo_t *
make_cardinfo(void)
{
	mic_cardinfo_t *ci = mic_cardinfo_new();

	assert_non_null(ci);
	assert_int_equal(mic_cardinfo_set_id(ci, CARD_ID), MIC_OK);
	assert_int_equal(mic_cardinfo_set_number(ci, "A12345678"), MIC_OK);
	assert_int_equal(mic_cardinfo_set_issuer(ci, "440300"), MIC_OK);
	assert_int_equal(mic_cardinfo_set_issue_date(ci, "20261123"), MIC_OK);
	assert_int_equal(mic_cardinfo_set_expiry_date(ci, "20361122"),
	    MIC_OK);
	return ci;
}

static void
test_card_encode(void **state)
{
	mic_cardinfo_t *ci = make_cardinfo();
	struct bytes want, got;

	(void)state;
	hex(&want, CARD_HEX);
	assert_int_equal(want.n, 76);
	assert_int_equal(mic_cardinfo_encode(ci, got.b, sizeof(got.b),
	    &got.n), MIC_OK);
	assert_int_equal(got.n, want.n);
	assert_memory_equal(got.b, want.b, want.n);
	/* The items the variant tests use build the same bytes. */
	build(&got, 0x66, card_items, NELEM(card_items));
	assert_int_equal(got.n, want.n);
	assert_memory_equal(got.b, want.b, want.n);
	/* One byte short of room. */
	assert_int_equal(mic_cardinfo_encode(ci, got.b, want.n - 1, &got.n),
	    MIC_ERR_BUFFER_TOO_SMALL);
	assert_int_equal(got.n, 0);
	assert_int_equal(mic_cardinfo_encode(ci, NULL, 0, &got.n),
	    MIC_ERR_BUFFER_TOO_SMALL);
	assert_int_equal(mic_cardinfo_encode(ci, got.b, sizeof(got.b), NULL),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_cardinfo_encode(NULL, got.b, sizeof(got.b),
	    &got.n), MIC_ERR_INVALID_ARGUMENT);
	mic_cardinfo_free(&ci);
	assert_null(ci);
	mic_cardinfo_free(&ci);
	mic_cardinfo_free(NULL);
}

static void
test_card_decode(void **state)
{
	mic_cardinfo_t *ci = mic_cardinfo_new();
	struct bytes in, out;

	(void)state;
	hex(&in, CARD_HEX);
	pad(&in, MIC_EF_CARD_SIZE);
	assert_int_equal(mic_cardinfo_decode(ci, in.b, in.n), MIC_OK);
	assert_string_equal(mic_cardinfo_id(ci), CARD_ID);
	assert_string_equal(mic_cardinfo_number(ci), "A12345678");
	assert_int_equal(mic_cardinfo_type(ci), 1);
	assert_int_equal(mic_cardinfo_version(ci), 0x0100);
	assert_string_equal(mic_cardinfo_issuer(ci), "440300");
	assert_string_equal(mic_cardinfo_issue_date(ci), "20261123");
	assert_string_equal(mic_cardinfo_expiry_date(ci), "20361122");
	/* And back to the very bytes, without the padding. */
	assert_int_equal(mic_cardinfo_encode(ci, out.b, sizeof(out.b),
	    &out.n), MIC_OK);
	assert_int_equal(out.n, 76);
	assert_memory_equal(out.b, in.b, out.n);
	mic_cardinfo_free(&ci);
}

static void
expect_card(const struct bytes *in, mic_rc want)
{
	mic_cardinfo_t *ci = make_cardinfo();
	mic_rc rc = mic_cardinfo_decode(ci, in->b, in->n);

	if (rc != want)
		fail_msg("got %s, want %s", mic_strerror_name(rc),
		    mic_strerror_name(want));
	/* A failed decode leaves the object as it was. */
	if (want != MIC_OK)
		assert_string_equal(mic_cardinfo_number(ci), "A12345678");
	mic_cardinfo_free(&ci);
}

static void
test_card_reject(void **state)
{
	const size_t n = NELEM(card_items);
	struct bytes b;

	(void)state;
	/* A file never written, and nothing at all. */
	memset(b.b, 0, MIC_EF_CARD_SIZE);
	b.n = MIC_EF_CARD_SIZE;
	expect_card(&b, MIC_ERR_NOT_FOUND);
	b.n = 0;
	expect_card(&b, MIC_ERR_NOT_FOUND);
	/* Truncated: one byte short, and only the header. */
	hex(&b, CARD_HEX);
	b.n--;
	expect_card(&b, MIC_ERR_TLV_TRUNCATED);
	b.n = 2;
	expect_card(&b, MIC_ERR_TLV_TRUNCATED);
	/* Padding must be 00. */
	hex(&b, CARD_HEX);
	pad(&b, MIC_EF_CARD_SIZE);
	b.b[100] = 0xFF;
	expect_card(&b, MIC_ERR_TEMPLATE);
	/* Leading padding is not allowed: the template starts the file. */
	hex(&b, "00" CARD_HEX);
	expect_card(&b, MIC_ERR_TLV_TAG);
	/* Another template, and a second template after the first. */
	hex(&b, CARD_HEX);
	b.b[0] = 0x65;
	expect_card(&b, MIC_ERR_TEMPLATE);
	hex(&b, CARD_HEX "6600");
	expect_card(&b, MIC_ERR_TEMPLATE);
	/* Malformed BER inside and out. */
	hex(&b, "6680");
	expect_card(&b, MIC_ERR_TLV_INDEFINITE);
	{
		char s[2 * BUF];

		snprintf(s, sizeof(s), "66814A%s", &CARD_HEX[4]);
		hex(&b, s);
		expect_card(&b, MIC_ERR_TLV_NONMINIMAL);
	}
	hex(&b, "6603800501");
	expect_card(&b, MIC_ERR_TLV_TRUNCATED);
	/* Each mandatory object missing. */
	for (size_t i = 0; i < n; i++) {
		build_with(&b, 0x66, card_items, n, i, NULL);
		expect_card(&b, MIC_ERR_MISSING);
	}
	/* A repeated object; a foreign one; an unknown context one is fine. */
	build_plus(&b, 0x66, card_items, n, 0x82, "01");
	expect_card(&b, MIC_ERR_TEMPLATE);
	build_plus(&b, 0x66, card_items, n, 0x4F, "01");
	expect_card(&b, MIC_ERR_TEMPLATE);
	build_plus(&b, 0x66, card_items, n, 0x5F30, "01");
	expect_card(&b, MIC_ERR_TEMPLATE);
	build_plus(&b, 0x66, card_items, n, 0x85, "0102");
	expect_card(&b, MIC_OK);
	build_plus(&b, 0x66, card_items, n, 0x9F30, "");
	expect_card(&b, MIC_OK);
	build_plus(&b, 0x66, card_items, n, 0xA7, "8000");
	expect_card(&b, MIC_OK);
	/* Sizes. */
	build_with(&b, 0x66, card_items, n, 2, "0001");
	expect_card(&b, MIC_ERR_FORMAT);
	build_with(&b, 0x66, card_items, n, 3, "01");
	expect_card(&b, MIC_ERR_FORMAT);
	build_with(&b, 0x66, card_items, n, 1, "4131323334353637");
	expect_card(&b, MIC_ERR_FORMAT);
	build_with(&b, 0x66, card_items, n, 1, "41313233343536373839");
	expect_card(&b, MIC_ERR_FORMAT);
	build_with(&b, 0x66, card_items, n, 1, "413132333435363700");
	expect_card(&b, MIC_ERR_FORMAT);
	build_with(&b, 0x66, card_items, n, 4, "3434303330");
	expect_card(&b, MIC_ERR_FORMAT);
	build_with(&b, 0x66, card_items, n, 5, "202611");
	expect_card(&b, MIC_ERR_FORMAT);
	/* Values. */
	build_with(&b, 0x66, card_items, n, 2, "02");
	expect_card(&b, MIC_ERR_VALUE);
	build_with(&b, 0x66, card_items, n, 3, "0200");
	expect_card(&b, MIC_ERR_VALUE);
	build_with(&b, 0x66, card_items, n, 3, "010A");
	expect_card(&b, MIC_ERR_VALUE);
	build_with(&b, 0x66, card_items, n, 4, "393930303030");
	expect_card(&b, MIC_ERR_CODE);
	build_with(&b, 0x66, card_items, n, 5, "20230230");
	expect_card(&b, MIC_ERR_DATE);
	build_with(&b, 0x66, card_items, n, 5, "2026112A");
	expect_card(&b, MIC_ERR_DATE);
	build_with(&b, 0x66, card_items, n, 5, "20261323");
	expect_card(&b, MIC_ERR_DATE);
	build_with(&b, 0x66, card_items, n, 6, "00001122");
	expect_card(&b, MIC_ERR_DATE);
	/* Fields that must agree. */
	build_with(&b, 0x66, card_items, n, 6, "20261123");
	expect_card(&b, MIC_ERR_MISMATCH);
	build_with(&b, 0x66, card_items, n, 4, "343430303030");
	expect_card(&b, MIC_ERR_MISMATCH);
	build_with(&b, 0x66, card_items, n, 3, "0101");
	expect_card(&b, MIC_ERR_MISMATCH);
	/* The card identification code itself. */
	build_with(&b, 0x66, card_items, n, 0,
	    asc("440300D156000001110001000000004"));
	expect_card(&b, MIC_ERR_FORMAT);
	build_with(&b, 0x66, card_items, n, 0,
	    asc("440300D156000002110001000000004" "2"));
	expect_card(&b, MIC_ERR_VALUE);
	build_with(&b, 0x66, card_items, n, 0,
	    asc("440300D15600000111000100000000X2"));
	expect_card(&b, MIC_ERR_FORMAT);
	build_with(&b, 0x66, card_items, n, 0,
	    asc("440300D156000001110999" "9999999999"));
	expect_card(&b, MIC_OK);
	assert_int_equal(mic_cardinfo_decode(NULL, b.b, b.n),
	    MIC_ERR_INVALID_ARGUMENT);
}

static void
test_card_setters(void **state)
{
	mic_cardinfo_t *ci = mic_cardinfo_new();
	struct bytes b;

	(void)state;
	/* Defaults: a holder card of profile 1.0. */
	assert_int_equal(mic_cardinfo_type(ci), 1);
	assert_int_equal(mic_cardinfo_version(ci), 0x0100);
	assert_null(mic_cardinfo_id(ci));
	assert_int_equal(mic_cardinfo_encode(ci, b.b, sizeof(b.b), &b.n),
	    MIC_ERR_MISSING);
	assert_int_equal(mic_cardinfo_set_type(ci, 2), MIC_ERR_VALUE);
	assert_int_equal(mic_cardinfo_set_version(ci, 2, 0), MIC_ERR_VALUE);
	assert_int_equal(mic_cardinfo_set_version(ci, 1, 10), MIC_ERR_VALUE);
	assert_int_equal(mic_cardinfo_set_version(ci, 1, 256), MIC_ERR_VALUE);
	assert_int_equal(mic_cardinfo_set_number(ci, "A1234567"),
	    MIC_ERR_FORMAT);
	assert_int_equal(mic_cardinfo_set_number(ci, "A123456789"),
	    MIC_ERR_FORMAT);
	assert_int_equal(mic_cardinfo_set_number(ci, "A1234567\x7F"),
	    MIC_ERR_FORMAT);
	assert_int_equal(mic_cardinfo_set_issuer(ci, "990000"), MIC_ERR_CODE);
	assert_int_equal(mic_cardinfo_set_issuer(ci, "44030"), MIC_ERR_FORMAT);
	assert_int_equal(mic_cardinfo_set_issue_date(ci, "2026-11-23"),
	    MIC_ERR_FORMAT);
	assert_int_equal(mic_cardinfo_set_issue_date(ci, "20230229"),
	    MIC_ERR_DATE);
	assert_int_equal(mic_cardinfo_set_issue_date(ci, "20240229"), MIC_OK);
	/* The expiry must come after the issue, whichever is set first. */
	assert_int_equal(mic_cardinfo_set_expiry_date(ci, "20240229"),
	    MIC_ERR_MISMATCH);
	assert_null(mic_cardinfo_expiry_date(ci));
	assert_int_equal(mic_cardinfo_set_expiry_date(ci, "20340228"), MIC_OK);
	assert_int_equal(mic_cardinfo_set_issue_date(ci, "20350101"),
	    MIC_ERR_MISMATCH);
	assert_string_equal(mic_cardinfo_issue_date(ci), "20240229");
	/* The card id carries issuer, type and version. */
	assert_int_equal(mic_cardinfo_set_issuer(ci, "110000"), MIC_OK);
	assert_int_equal(mic_cardinfo_set_id(ci, CARD_ID), MIC_ERR_MISMATCH);
	assert_null(mic_cardinfo_id(ci));
	assert_int_equal(mic_cardinfo_set_issuer(ci, "440300"), MIC_OK);
	assert_int_equal(mic_cardinfo_set_id(ci, CARD_ID), MIC_OK);
	assert_int_equal(mic_cardinfo_set_version(ci, 1, 1), MIC_ERR_MISMATCH);
	assert_int_equal(mic_cardinfo_version(ci), 0x0100);
	assert_int_equal(mic_cardinfo_set_issuer(ci, "440000"),
	    MIC_ERR_MISMATCH);
	assert_string_equal(mic_cardinfo_issuer(ci), "440300");
	assert_int_equal(mic_cardinfo_set_id(ci, "nonsense"), MIC_ERR_FORMAT);
	assert_string_equal(mic_cardinfo_id(ci), CARD_ID);
	assert_int_equal(mic_cardinfo_set_id(ci, NULL),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_cardinfo_set_id(NULL, CARD_ID),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_null(mic_cardinfo_id(NULL));
	assert_int_equal(mic_cardinfo_type(NULL), 0);
	mic_cardinfo_free(&ci);
}

/* --- EF.HOLDER ---------------------------------------------------------- */

static const struct item holder_items[] = {
	{ 0x80, "343430333035323030303032323931323332" },
	{ 0x5F20, "E5BCA0E4B889" },
	{ 0x5F35, "31" },
	{ 0x5F2B, "20000229" },
	{ 0x81, "343430333035" },
	{ 0x82, "3031" },
};

static mic_holder_t *
make_holder(void)
{
	mic_holder_t *h = mic_holder_new();

	assert_non_null(h);
	assert_int_equal(mic_holder_set_ssn(h, SSN_MALE), MIC_OK);
	assert_int_equal(mic_holder_set_name(h, NAME_ZS), MIC_OK);
	assert_int_equal(mic_holder_set_gender(h, "1"), MIC_OK);
	assert_int_equal(mic_holder_set_birthplace(h, "440305"), MIC_OK);
	assert_int_equal(mic_holder_set_ethnicity(h, "01"), MIC_OK);
	return h;
}

static void
test_holder_roundtrip(void **state)
{
	mic_holder_t *h = make_holder(), *d = mic_holder_new();
	struct bytes want, got, padded;

	(void)state;
	hex(&want, HOLDER_HEX);
	assert_int_equal(mic_holder_encode(h, got.b, sizeof(got.b), &got.n),
	    MIC_OK);
	assert_int_equal(got.n, want.n);
	assert_memory_equal(got.b, want.b, want.n);
	build(&got, 0x65, holder_items, NELEM(holder_items));
	assert_memory_equal(got.b, want.b, want.n);

	padded = want;
	pad(&padded, MIC_EF_HOLDER_SIZE);
	assert_int_equal(mic_holder_decode(d, padded.b, padded.n), MIC_OK);
	assert_string_equal(mic_holder_ssn(d), SSN_MALE);
	assert_string_equal(mic_holder_name(d), NAME_ZS);
	assert_string_equal(mic_holder_gender(d), "1");
	assert_string_equal(mic_holder_birth_date(d), "20000229");
	assert_string_equal(mic_holder_birthplace(d), "440305");
	assert_string_equal(mic_holder_ethnicity(d), "01");
	assert_int_equal(mic_holder_encode(d, got.b, sizeof(got.b), &got.n),
	    MIC_OK);
	assert_int_equal(got.n, want.n);
	assert_memory_equal(got.b, want.b, want.n);

	/* The optional ethnicity: removed, and gone from the encoding. */
	assert_int_equal(mic_holder_set_ethnicity(h, NULL), MIC_OK);
	assert_null(mic_holder_ethnicity(h));
	assert_int_equal(mic_holder_encode(h, got.b, sizeof(got.b), &got.n),
	    MIC_OK);
	assert_int_equal(got.n, want.n - 4);
	assert_int_equal(got.b[1], want.b[1] - 4);
	assert_int_equal(mic_holder_decode(d, got.b, got.n), MIC_OK);
	assert_null(mic_holder_ethnicity(d));
	mic_holder_free(&h);
	mic_holder_free(&d);
	assert_null(d);
}

static void
test_holder_setters(void **state)
{
	mic_holder_t *h = mic_holder_new();
	char name[80];
	struct bytes b;

	(void)state;
	assert_int_equal(mic_holder_encode(h, b.b, sizeof(b.b), &b.n),
	    MIC_ERR_MISSING);
	/* The number, with its own errors, and the birth date it brings. */
	assert_int_equal(mic_holder_set_ssn(h, "440305200002291233"),
	    MIC_ERR_IDNUM_CHECK);
	assert_int_equal(mic_holder_set_ssn(h, "44030520000229123"),
	    MIC_ERR_IDNUM_LENGTH);
	assert_int_equal(mic_holder_set_ssn(h, "4403052000022912321234567"),
	    MIC_ERR_IDNUM_LENGTH);
	assert_int_equal(mic_holder_set_ssn(h, "44030520000229123\x01"),
	    MIC_ERR_IDNUM_CHAR);
	{
		char num[MIC_IDNUM_LEN + 1] = "99030520000229123";
		assert_int_equal(mic_idnum_check_char(num, &num[17]), MIC_OK);
		num[18] = '\0';
		assert_int_equal(mic_holder_set_ssn(h, num),
		    MIC_ERR_IDNUM_REGION);
	}
	assert_null(mic_holder_ssn(h));
	assert_null(mic_holder_birth_date(h));
	/* Born in 2999: the setter compares with today's date. */
	{
		char num[MIC_IDNUM_LEN + 1] = "11010529990101001";
		assert_int_equal(mic_idnum_check_char(num, &num[17]), MIC_OK);
		num[18] = '\0';
		assert_int_equal(mic_holder_set_ssn(h, num),
		    MIC_ERR_IDNUM_FUTURE);
	}
	assert_int_equal(mic_holder_set_ssn(h, "32010219881108018x"), MIC_OK);
	assert_string_equal(mic_holder_ssn(h), "32010219881108018X");
	assert_string_equal(mic_holder_birth_date(h), "19881108");
	/* Gender against the number: 8 is even, so female. */
	assert_int_equal(mic_holder_set_gender(h, "1"), MIC_ERR_MISMATCH);
	assert_null(mic_holder_gender(h));
	assert_int_equal(mic_holder_set_gender(h, "3"), MIC_ERR_CODE);
	assert_int_equal(mic_holder_set_gender(h, "0"), MIC_OK);
	assert_int_equal(mic_holder_set_gender(h, "9"), MIC_OK);
	assert_int_equal(mic_holder_set_gender(h, "2"), MIC_OK);
	/* A new number must agree with the gender set. */
	assert_int_equal(mic_holder_set_ssn(h, SSN_MALE), MIC_ERR_MISMATCH);
	assert_string_equal(mic_holder_ssn(h), "32010219881108018X");
	assert_string_equal(mic_holder_birth_date(h), "19881108");
	assert_int_equal(mic_holder_set_ssn(h, SSN_FEMALE), MIC_OK);
	assert_string_equal(mic_holder_birth_date(h), "19921231");
	/* Names. */
	assert_int_equal(mic_holder_set_name(h, ""), MIC_ERR_FORMAT);
	assert_int_equal(mic_holder_set_name(h, " Li"), MIC_ERR_FORMAT);
	assert_int_equal(mic_holder_set_name(h, "Li "), MIC_ERR_FORMAT);
	assert_int_equal(mic_holder_set_name(h, "\xC3\x28"), MIC_ERR_UTF8);
	assert_int_equal(mic_holder_set_name(h, "\xC0\xAF"), MIC_ERR_UTF8);
	assert_int_equal(mic_holder_set_name(h, "\xE0\x80\xAF"), MIC_ERR_UTF8);
	assert_int_equal(mic_holder_set_name(h, "\xED\xA0\x80"), MIC_ERR_UTF8);
	assert_int_equal(mic_holder_set_name(h, "\xF4\x90\x80\x80"),
	    MIC_ERR_UTF8);
	assert_int_equal(mic_holder_set_name(h, "\xE5\xBC"), MIC_ERR_UTF8);
	assert_int_equal(mic_holder_set_name(h, "a\nb"), MIC_ERR_UTF8);
	assert_int_equal(mic_holder_set_name(h, "a\xC2\x85" "b"),
	    MIC_ERR_UTF8);
	assert_int_equal(mic_holder_set_name(h, "\xFF"), MIC_ERR_UTF8);
	assert_null(mic_holder_name(h));
	/* 20 CJK characters are 60 bytes: the most. */
	name[0] = '\0';
	for (int i = 0; i < 20; i++)
		strcat(name, "\xE4\xB8\x89");  /* 三 */
	assert_int_equal(mic_holder_set_name(h, name), MIC_OK);
	strcat(name, "a");
	assert_int_equal(mic_holder_set_name(h, name), MIC_ERR_FORMAT);
	assert_int_equal(mic_holder_set_name(h, "Mary Ann O'Neil"), MIC_OK);
	assert_string_equal(mic_holder_name(h), "Mary Ann O'Neil");
	/* Codes. */
	assert_int_equal(mic_holder_set_birthplace(h, "990000"), MIC_ERR_CODE);
	assert_int_equal(mic_holder_set_birthplace(h, "4403"), MIC_ERR_FORMAT);
	assert_int_equal(mic_holder_set_birthplace(h, "310115"), MIC_OK);
	assert_int_equal(mic_holder_set_ethnicity(h, "57"), MIC_ERR_CODE);
	assert_int_equal(mic_holder_set_ethnicity(h, "1"), MIC_ERR_FORMAT);
	assert_null(mic_holder_ethnicity(h));
	assert_int_equal(mic_holder_encode(h, b.b, sizeof(b.b), &b.n), MIC_OK);
	assert_int_equal(mic_holder_set_name(NULL, "x"),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_holder_set_ssn(h, NULL),
	    MIC_ERR_INVALID_ARGUMENT);
	mic_holder_free(&h);
}

static void
expect_holder(const struct bytes *in, mic_rc want)
{
	mic_holder_t *h = make_holder();
	mic_rc rc = mic_holder_decode(h, in->b, in->n);

	if (rc != want)
		fail_msg("got %s, want %s", mic_strerror_name(rc),
		    mic_strerror_name(want));
	if (want != MIC_OK)
		assert_string_equal(mic_holder_name(h), NAME_ZS);
	mic_holder_free(&h);
}

/*
 * MIC_DEBUG explains why a holder file is refused without quoting it
 * (docs/privacy.md): no ID number, birth date, gender or birthplace.
 */
static void
test_holder_debug_private(void **state)
{
	const size_t n = NELEM(holder_items);
	const char *old = getenv("MIC_DEBUG");
	char *saved = old != NULL ? strdup(old) : NULL;
	char log[4096];
	struct bytes b;
	FILE *f = tmpfile();
	int err = dup(2);
	size_t len;

	(void)state;
	assert_non_null(f);
	assert_true(err >= 0);
	setenv("MIC_DEBUG", "1", 1);
	fflush(stderr);
	assert_true(dup2(fileno(f), 2) >= 0);
	build_with(&b, 0x65, holder_items, n, 3, "20000228");
	expect_holder(&b, MIC_ERR_MISMATCH);
	build_with(&b, 0x65, holder_items, n, 2, "32");
	expect_holder(&b, MIC_ERR_MISMATCH);
	build_with(&b, 0x65, holder_items, n, 4, "393939393939");
	expect_holder(&b, MIC_ERR_CODE);
	fflush(stderr);
	assert_true(dup2(err, 2) >= 0);
	close(err);
	if (saved != NULL)
		setenv("MIC_DEBUG", saved, 1);
	else
		unsetenv("MIC_DEBUG");
	free(saved);
	rewind(f);
	len = fread(log, 1, sizeof(log) - 1, f);
	fclose(f);
	log[len] = '\0';
	/* It did explain, three times. */
	assert_non_null(strstr(log, "birth date and ID number differ"));
	assert_non_null(strstr(log, "gender and ID number differ"));
	assert_non_null(strstr(log, "not in its table"));
	if (strstr(log, "2000022") != NULL || strstr(log, "440305") != NULL ||
	    strstr(log, "999999") != NULL || strstr(log, "number says") != NULL)
		fail_msg("personal data in MIC_DEBUG:\n%s", log);
}

static void
test_holder_reject(void **state)
{
	const size_t n = NELEM(holder_items);
	struct bytes b;
	char big[200];

	(void)state;
	memset(b.b, 0, MIC_EF_HOLDER_SIZE);
	b.n = MIC_EF_HOLDER_SIZE;
	expect_holder(&b, MIC_ERR_NOT_FOUND);
	hex(&b, HOLDER_HEX);
	b.n -= 3;
	expect_holder(&b, MIC_ERR_TLV_TRUNCATED);
	for (size_t i = 0; i < n; i++) {
		build_with(&b, 0x65, holder_items, n, i, NULL);
		/* The ethnicity alone is optional. */
		expect_holder(&b, i == 5 ? MIC_OK : MIC_ERR_MISSING);
	}
	/* Gender and birth date against the number. */
	build_with(&b, 0x65, holder_items, n, 2, "32");
	expect_holder(&b, MIC_ERR_MISMATCH);
	build_with(&b, 0x65, holder_items, n, 2, "30");
	expect_holder(&b, MIC_OK);
	build_with(&b, 0x65, holder_items, n, 2, "39");
	expect_holder(&b, MIC_OK);
	build_with(&b, 0x65, holder_items, n, 2, "33");
	expect_holder(&b, MIC_ERR_CODE);
	build_with(&b, 0x65, holder_items, n, 2, "3131");
	expect_holder(&b, MIC_ERR_FORMAT);
	build_with(&b, 0x65, holder_items, n, 3, "20000228");
	expect_holder(&b, MIC_ERR_MISMATCH);
	build_with(&b, 0x65, holder_items, n, 3, "20230230");
	expect_holder(&b, MIC_ERR_DATE);
	build_with(&b, 0x65, holder_items, n, 3, "200002");
	expect_holder(&b, MIC_ERR_FORMAT);
	/* The number: check character, a lower-case x, its size. */
	build_with(&b, 0x65, holder_items, n, 0,
	    "343430333035323030303032323931323333");
	expect_holder(&b, MIC_ERR_IDNUM_CHECK);
	build_with(&b, 0x65, holder_items, n, 0,
	    "333230313032313938383131303830313878");
	expect_holder(&b, MIC_ERR_IDNUM_CHAR);
	build_with(&b, 0x65, holder_items, n, 0,
	    "3434303330353230303030323239313233");
	expect_holder(&b, MIC_ERR_IDNUM_LENGTH);
	build_with(&b, 0x65, holder_items, n, 0,
	    "34343033303532303030303232393132333232");
	expect_holder(&b, MIC_ERR_IDNUM_LENGTH);
	build_with(&b, 0x65, holder_items, n, 0,
	    "343430333035323030303032323900313233");
	expect_holder(&b, MIC_ERR_IDNUM_CHAR);
	/* The name: empty, too long, NUL, invalid, padded. */
	build_with(&b, 0x65, holder_items, n, 1, "");
	expect_holder(&b, MIC_ERR_FORMAT);
	memset(big, 0, sizeof(big));
	for (int i = 0; i < 61; i++)
		memcpy(big + 2 * i, "41", 2);
	build_with(&b, 0x65, holder_items, n, 1, big);
	expect_holder(&b, MIC_ERR_FORMAT);
	big[120] = '\0';
	build_with(&b, 0x65, holder_items, n, 1, big);
	expect_holder(&b, MIC_OK);
	build_with(&b, 0x65, holder_items, n, 1, "E5BCA000E4B889");
	expect_holder(&b, MIC_ERR_UTF8);
	build_with(&b, 0x65, holder_items, n, 1, "E5BCA0E4B8");
	expect_holder(&b, MIC_ERR_UTF8);
	build_with(&b, 0x65, holder_items, n, 1, "C0AF");
	expect_holder(&b, MIC_ERR_UTF8);
	build_with(&b, 0x65, holder_items, n, 1, "E5BCA0E4B88920");
	expect_holder(&b, MIC_ERR_FORMAT);
	/* Codes. */
	build_with(&b, 0x65, holder_items, n, 4, "393930303030");
	expect_holder(&b, MIC_ERR_CODE);
	build_with(&b, 0x65, holder_items, n, 5, "3537");
	expect_holder(&b, MIC_ERR_CODE);
	build_with(&b, 0x65, holder_items, n, 5, "30");
	expect_holder(&b, MIC_ERR_FORMAT);
	/* Room for later versions; no room for foreign objects. */
	build_plus(&b, 0x65, holder_items, n, 0x9F21, "00");
	expect_holder(&b, MIC_OK);
	build_plus(&b, 0x65, holder_items, n, 0x5F2D, "7A68");
	expect_holder(&b, MIC_ERR_TEMPLATE);
	build_plus(&b, 0x65, holder_items, n, 0x5F20, "41");
	expect_holder(&b, MIC_ERR_TEMPLATE);
}

/* A card with a birth date after today's is still read. */
static void
test_holder_no_clock(void **state)
{
	char num[MIC_IDNUM_LEN + 1] = "11010529990101001";
	char numhex[40];
	struct item items[NELEM(holder_items)];
	mic_holder_t *h = mic_holder_new();
	struct bytes b;
	size_t i;

	(void)state;
	assert_int_equal(mic_idnum_check_char(num, &num[17]), MIC_OK);
	num[18] = '\0';
	for (i = 0; i < 18; i++)
		snprintf(numhex + 2 * i, 3, "%02X", (unsigned)num[i]);
	memcpy(items, holder_items, sizeof(items));
	items[0].hex = numhex;
	items[3].hex = "29990101";
	items[2].hex = "31";
	build(&b, 0x65, items, NELEM(items));
	assert_int_equal(mic_holder_decode(h, b.b, b.n), MIC_OK);
	assert_string_equal(mic_holder_ssn(h), num);
	mic_holder_free(&h);
}

/* --- EF.INSURANCE -------------------------------------------------------- */

static const struct item insurance_items[] = {
	{ 0x80, "31" },
	{ 0x81, "343430333030" },
	{ 0x82, "20200101" },
	{ 0x83, "01" },
};

static void
test_insurance(void **state)
{
	mic_insurance_t *ins = mic_insurance_new(), *d = mic_insurance_new();
	const size_t n = NELEM(insurance_items);
	struct bytes want, got;

	(void)state;
	assert_int_equal(mic_insurance_scheme(ins), 0);
	assert_int_equal(mic_insurance_encode(ins, got.b, sizeof(got.b),
	    &got.n), MIC_ERR_MISSING);
	assert_int_equal(mic_insurance_set_scheme(ins, (mic_scheme)3),
	    MIC_ERR_VALUE);
	assert_int_equal(mic_insurance_set_scheme(ins, (mic_scheme)0),
	    MIC_ERR_VALUE);
	assert_int_equal(mic_insurance_set_scheme(ins, MIC_SCHEME_EMPLOYEE),
	    MIC_OK);
	assert_int_equal(mic_insurance_set_region(ins, "990000"),
	    MIC_ERR_CODE);
	assert_int_equal(mic_insurance_set_region(ins, "440300"), MIC_OK);
	assert_int_equal(mic_insurance_set_since(ins, "20200230"),
	    MIC_ERR_DATE);
	assert_int_equal(mic_insurance_set_since(ins, "20200101"), MIC_OK);
	assert_int_equal(mic_insurance_set_policy(ins, MIC_POLICY_FIRST_USE),
	    MIC_OK);
	hex(&want, INSURANCE_HEX);
	assert_int_equal(mic_insurance_encode(ins, got.b, sizeof(got.b),
	    &got.n), MIC_OK);
	assert_int_equal(got.n, want.n);
	assert_memory_equal(got.b, want.b, want.n);

	pad(&want, MIC_EF_INSURANCE_SIZE);
	assert_int_equal(mic_insurance_decode(d, want.b, want.n), MIC_OK);
	assert_int_equal(mic_insurance_scheme(d), MIC_SCHEME_EMPLOYEE);
	assert_string_equal(mic_insurance_region(d), "440300");
	assert_string_equal(mic_insurance_since(d), "20200101");
	assert_int_equal(mic_insurance_policy(d), MIC_POLICY_FIRST_USE);

	/* Unknown policy bits are kept, not refused. */
	build_with(&got, 0xE1, insurance_items, n, 3, "FF");
	assert_int_equal(mic_insurance_decode(d, got.b, got.n), MIC_OK);
	assert_int_equal(mic_insurance_policy(d), 0xFF);
	build_with(&got, 0xE1, insurance_items, n, 0, "32");
	assert_int_equal(mic_insurance_decode(d, got.b, got.n), MIC_OK);
	assert_int_equal(mic_insurance_scheme(d), MIC_SCHEME_RESIDENT);
	build_with(&got, 0xE1, insurance_items, n, 0, "33");
	assert_int_equal(mic_insurance_decode(d, got.b, got.n), MIC_ERR_VALUE);
	assert_int_equal(mic_insurance_scheme(d), MIC_SCHEME_RESIDENT);
	build_with(&got, 0xE1, insurance_items, n, 0, "01");
	assert_int_equal(mic_insurance_decode(d, got.b, got.n), MIC_ERR_FORMAT);
	build_with(&got, 0xE1, insurance_items, n, 3, "0100");
	assert_int_equal(mic_insurance_decode(d, got.b, got.n), MIC_ERR_FORMAT);
	build_with(&got, 0xE1, insurance_items, n, 1, "343430333039");
	assert_int_equal(mic_insurance_decode(d, got.b, got.n), MIC_OK);
	build_with(&got, 0xE1, insurance_items, n, 1, "383330303030");
	assert_int_equal(mic_insurance_decode(d, got.b, got.n), MIC_ERR_CODE);
	build_with(&got, 0xE1, insurance_items, n, 2, "20200100");
	assert_int_equal(mic_insurance_decode(d, got.b, got.n), MIC_ERR_DATE);
	for (size_t i = 0; i < n; i++) {
		build_with(&got, 0xE1, insurance_items, n, i, NULL);
		assert_int_equal(mic_insurance_decode(d, got.b, got.n),
		    MIC_ERR_MISSING);
	}
	hex(&got, "E100");
	assert_int_equal(mic_insurance_decode(d, got.b, got.n),
	    MIC_ERR_MISSING);
	hex(&got, HOLDER_HEX);
	assert_int_equal(mic_insurance_decode(d, got.b, got.n),
	    MIC_ERR_TEMPLATE);
	mic_insurance_free(&ins);
	mic_insurance_free(&d);
}

/* --- EF.ACTIVATION ------------------------------------------------------- */

static const struct item activation_items[] = {
	{ 0x80, "20261123093000" },
	{ 0x81, "504F533030303031" },
	{ 0x82, "01" },
};

static void
test_activation(void **state)
{
	mic_activation_t *a = mic_activation_new(), *d = mic_activation_new();
	const size_t n = NELEM(activation_items);
	struct bytes want, got;

	(void)state;
	assert_int_equal(mic_activation_set_time(a, "2026112309300"),
	    MIC_ERR_FORMAT);
	assert_int_equal(mic_activation_set_time(a, "20261123240000"),
	    MIC_ERR_DATE);
	assert_int_equal(mic_activation_set_time(a, "20261123236000"),
	    MIC_ERR_DATE);
	assert_int_equal(mic_activation_set_time(a, "20261123235960"),
	    MIC_ERR_DATE);
	assert_int_equal(mic_activation_set_time(a, "20261131000000"),
	    MIC_ERR_DATE);
	assert_int_equal(mic_activation_set_time(a, "20261123093000"), MIC_OK);
	assert_int_equal(mic_activation_set_terminal(a, "POS0001"),
	    MIC_ERR_FORMAT);
	assert_int_equal(mic_activation_set_terminal(a, "POS00001"), MIC_OK);
	assert_int_equal(mic_activation_set_role(a, (mic_role)0),
	    MIC_ERR_VALUE);
	assert_int_equal(mic_activation_set_role(a, (mic_role)6),
	    MIC_ERR_VALUE);
	assert_int_equal(mic_activation_encode(a, got.b, sizeof(got.b),
	    &got.n), MIC_ERR_MISSING);
	assert_int_equal(mic_activation_set_role(a, MIC_ROLE_HOSPITAL), MIC_OK);
	hex(&want, ACTIVATION_HEX);
	assert_int_equal(mic_activation_encode(a, got.b, sizeof(got.b),
	    &got.n), MIC_OK);
	assert_int_equal(got.n, want.n);
	assert_memory_equal(got.b, want.b, want.n);

	pad(&want, MIC_EF_ACTIVATION_SIZE);
	assert_int_equal(mic_activation_decode(d, want.b, want.n), MIC_OK);
	assert_string_equal(mic_activation_time(d), "20261123093000");
	assert_string_equal(mic_activation_terminal(d), "POS00001");
	assert_int_equal(mic_activation_role(d), MIC_ROLE_HOSPITAL);
	/* Never activated: the file is all 00. */
	memset(got.b, 0, MIC_EF_ACTIVATION_SIZE);
	assert_int_equal(mic_activation_decode(d, got.b,
	    MIC_EF_ACTIVATION_SIZE), MIC_ERR_NOT_FOUND);
	build_with(&got, 0xE2, activation_items, n, 2, "06");
	assert_int_equal(mic_activation_decode(d, got.b, got.n),
	    MIC_ERR_VALUE);
	build_with(&got, 0xE2, activation_items, n, 2, "00");
	assert_int_equal(mic_activation_decode(d, got.b, got.n),
	    MIC_ERR_VALUE);
	build_with(&got, 0xE2, activation_items, n, 0, "202611230930");
	assert_int_equal(mic_activation_decode(d, got.b, got.n),
	    MIC_ERR_FORMAT);
	build_with(&got, 0xE2, activation_items, n, 0, "2026112309300F");
	assert_int_equal(mic_activation_decode(d, got.b, got.n),
	    MIC_ERR_DATE);
	build_with(&got, 0xE2, activation_items, n, 1, "504F5330303030");
	assert_int_equal(mic_activation_decode(d, got.b, got.n),
	    MIC_ERR_FORMAT);
	build_with(&got, 0xE2, activation_items, n, 1, "504F5330303030FF");
	assert_int_equal(mic_activation_decode(d, got.b, got.n),
	    MIC_ERR_FORMAT);
	assert_string_equal(mic_activation_terminal(d), "POS00001");
	mic_activation_free(&a);
	mic_activation_free(&d);
}

/* --- EF.FAMILY ------------------------------------------------------------ */

static const struct item member_items[] = {
	{ 0x80, "3330" },
	{ 0x81, "333130313135313939323132333130303231" },
	{ 0x5F20, "E69D8EE59B9B" },
	{ 0x82, "01" },
	{ 0x83, "20261201" },
};

static void
test_member(void **state)
{
	mic_member_t *m = mic_member_new(), *d = mic_member_new();
	const size_t n = NELEM(member_items);
	struct bytes want, got;

	(void)state;
	assert_int_equal(mic_member_set_kinship(m, "03"), MIC_ERR_CODE);
	assert_int_equal(mic_member_set_kinship(m, "30"), MIC_OK);
	assert_int_equal(mic_member_set_ssn(m, "310115199212310022"),
	    MIC_ERR_IDNUM_CHECK);
	assert_int_equal(mic_member_set_ssn(m, SSN_FEMALE), MIC_OK);
	assert_int_equal(mic_member_set_name(m, "\xE6\x9D\x8E\xE5\x9B\x9B"),
	    MIC_OK);
	assert_int_equal(mic_member_set_may_pay(m, 2), MIC_ERR_VALUE);
	assert_int_equal(mic_member_set_may_pay(m, -1), MIC_ERR_VALUE);
	assert_int_equal(mic_member_encode(m, got.b, sizeof(got.b), &got.n),
	    MIC_ERR_MISSING);
	assert_int_equal(mic_member_set_may_pay(m, 1), MIC_OK);
	assert_int_equal(mic_member_set_bind_date(m, "20261301"),
	    MIC_ERR_DATE);
	assert_int_equal(mic_member_set_bind_date(m, "20261201"), MIC_OK);
	hex(&want, MEMBER_HEX);
	assert_int_equal(mic_member_encode(m, got.b, sizeof(got.b), &got.n),
	    MIC_OK);
	assert_int_equal(got.n, want.n);
	assert_memory_equal(got.b, want.b, want.n);

	pad(&want, MIC_FAMILY_RECORD_SIZE);
	assert_int_equal(mic_member_decode(d, want.b, want.n), MIC_OK);
	assert_string_equal(mic_member_kinship(d), "30");
	assert_string_equal(mic_member_ssn(d), SSN_FEMALE);
	assert_string_equal(mic_member_name(d), "\xE6\x9D\x8E\xE5\x9B\x9B");
	assert_int_equal(mic_member_may_pay(d), 1);
	assert_string_equal(mic_member_bind_date(d), "20261201");
	/* A free record. */
	memset(got.b, 0, MIC_FAMILY_RECORD_SIZE);
	assert_int_equal(mic_member_decode(d, got.b, MIC_FAMILY_RECORD_SIZE),
	    MIC_ERR_NOT_FOUND);
	build_with(&got, 0xE3, member_items, n, 3, "02");
	assert_int_equal(mic_member_decode(d, got.b, got.n), MIC_ERR_VALUE);
	build_with(&got, 0xE3, member_items, n, 3, "00");
	assert_int_equal(mic_member_decode(d, got.b, got.n), MIC_OK);
	assert_int_equal(mic_member_may_pay(d), 0);
	build_with(&got, 0xE3, member_items, n, 0, "3033");
	assert_int_equal(mic_member_decode(d, got.b, got.n), MIC_ERR_CODE);
	build_with(&got, 0xE3, member_items, n, 1,
	    "333130313135313939323132333130303232");
	assert_int_equal(mic_member_decode(d, got.b, got.n),
	    MIC_ERR_IDNUM_CHECK);
	build_with(&got, 0xE3, member_items, n, 2, "FF");
	assert_int_equal(mic_member_decode(d, got.b, got.n), MIC_ERR_UTF8);
	build_with(&got, 0xE3, member_items, n, 4, "20230230");
	assert_int_equal(mic_member_decode(d, got.b, got.n), MIC_ERR_DATE);
	for (size_t i = 0; i < n; i++) {
		build_with(&got, 0xE3, member_items, n, i, NULL);
		assert_int_equal(mic_member_decode(d, got.b, got.n),
		    MIC_ERR_MISSING);
	}
	assert_int_equal(mic_member_may_pay(d), 0);
	mic_member_free(&m);
	mic_member_free(&d);
}

/* --- EF.ACCOUNT ------------------------------------------------------------ */

static void
test_account(void **state)
{
	mic_account_t *a = mic_account_new(), *d = mic_account_new();
	struct bytes want, got;

	(void)state;
	assert_int_equal(mic_account_set_balance(a, -1), MIC_ERR_VALUE);
	assert_int_equal(mic_account_set_balance(a, 100000), MIC_OK);
	assert_int_equal(mic_account_encode(a, got.b, sizeof(got.b), &got.n),
	    MIC_ERR_MISSING);
	assert_int_equal(mic_account_set_counter(a, 7), MIC_OK);
	hex(&want, ACCOUNT_HEX);
	assert_int_equal(mic_account_encode(a, got.b, sizeof(got.b), &got.n),
	    MIC_OK);
	assert_int_equal(got.n, want.n);
	assert_memory_equal(got.b, want.b, want.n);
	pad(&want, MIC_EF_ACCOUNT_SIZE);
	assert_int_equal(mic_account_decode(d, want.b, want.n), MIC_OK);
	assert_int_equal(mic_account_balance(d), 100000);
	assert_int_equal(mic_account_counter(d), 7);

	/* The extremes survive the trip. */
	assert_int_equal(mic_account_set_balance(a, INT64_MAX), MIC_OK);
	assert_int_equal(mic_account_set_counter(a, UINT32_MAX), MIC_OK);
	assert_int_equal(mic_account_encode(a, got.b, sizeof(got.b), &got.n),
	    MIC_OK);
	hex(&want, "E410 80087FFFFFFFFFFFFFFF 8104FFFFFFFF");
	assert_int_equal(got.n, want.n);
	assert_memory_equal(got.b, want.b, want.n);
	assert_int_equal(mic_account_decode(d, got.b, got.n), MIC_OK);
	assert_int_equal(mic_account_balance(d), INT64_MAX);
	assert_int_equal(mic_account_counter(d), UINT32_MAX);

	/* Never negative; sizes exact. */
	hex(&got, "E410 8008FFFFFFFFFFFFFFFF 810400000007");
	assert_int_equal(mic_account_decode(d, got.b, got.n), MIC_ERR_VALUE);
	hex(&got, "E410 80088000000000000000 810400000007");
	assert_int_equal(mic_account_decode(d, got.b, got.n), MIC_ERR_VALUE);
	hex(&got, "E40F 800700000000000001 810400000007");
	assert_int_equal(mic_account_decode(d, got.b, got.n), MIC_ERR_FORMAT);
	hex(&got, "E40F 80080000000000000001 8103000007");
	assert_int_equal(mic_account_decode(d, got.b, got.n), MIC_ERR_FORMAT);
	hex(&got, "E40A 80080000000000000001");
	assert_int_equal(mic_account_decode(d, got.b, got.n), MIC_ERR_MISSING);
	assert_int_equal(mic_account_balance(d), INT64_MAX);
	assert_int_equal(mic_account_balance(NULL), 0);
	mic_account_free(&a);
	mic_account_free(&d);
}

/* --- EF.LOG ----------------------------------------------------------------- */

static mic_logrec_t *
make_log(void)
{
	static const uint8_t ref[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
	mic_logrec_t *l = mic_logrec_new();

	assert_non_null(l);
	assert_int_equal(mic_logrec_set_counter(l, 7), MIC_OK);
	assert_int_equal(mic_logrec_set_type(l, MIC_LOG_DEBIT), MIC_OK);
	assert_int_equal(mic_logrec_set_amount(l, 1234), MIC_OK);
	assert_int_equal(mic_logrec_set_balance(l, 98766), MIC_OK);
	assert_int_equal(mic_logrec_set_time(l, "20261123093000"), MIC_OK);
	assert_int_equal(mic_logrec_set_terminal(l, "POS00001"), MIC_OK);
	assert_int_equal(mic_logrec_set_payer(l, 0), MIC_OK);
	assert_int_equal(mic_logrec_set_reference(l, ref, sizeof(ref)),
	    MIC_OK);
	return l;
}

static void
test_log(void **state)
{
	mic_logrec_t *l = make_log(), *d = mic_logrec_new();
	struct bytes want, got;

	(void)state;
	hex(&want, LOG_HEX);
	assert_int_equal(want.n, MIC_LOG_RECORD_SIZE);
	assert_int_equal(mic_logrec_encode(l, got.b, sizeof(got.b), &got.n),
	    MIC_OK);
	assert_int_equal(got.n, MIC_LOG_RECORD_SIZE);
	assert_memory_equal(got.b, want.b, want.n);
	assert_int_equal(mic_logrec_encode(l, got.b, MIC_LOG_RECORD_SIZE - 1,
	    &got.n), MIC_ERR_BUFFER_TOO_SMALL);

	assert_int_equal(mic_logrec_decode(d, want.b, want.n), MIC_OK);
	assert_int_equal(mic_logrec_counter(d), 7);
	assert_int_equal(mic_logrec_type(d), MIC_LOG_DEBIT);
	assert_int_equal(mic_logrec_amount(d), 1234);
	assert_int_equal(mic_logrec_balance(d), 98766);
	assert_string_equal(mic_logrec_time(d), "20261123093000");
	assert_string_equal(mic_logrec_terminal(d), "POS00001");
	assert_int_equal(mic_logrec_payer(d), 0);
	assert_memory_equal(mic_logrec_reference(d), want.b + 37, 11);
	mic_logrec_free(&l);
	mic_logrec_free(&d);
	assert_null(d);
}

static void
expect_log(const char *h, size_t off, uint8_t b, mic_rc want)
{
	mic_logrec_t *l = make_log();
	struct bytes in;

	hex(&in, h);
	if (off < in.n)
		in.b[off] = b;
	assert_int_equal(mic_logrec_decode(l, in.b, in.n), want);
	if (want != MIC_OK)
		assert_int_equal(mic_logrec_amount(l), 1234);
	mic_logrec_free(&l);
}

static void
test_log_reject(void **state)
{
	mic_logrec_t *l = mic_logrec_new();
	uint8_t ref[11] = { 0 }, buf[64];
	size_t n;

	(void)state;
	expect_log(LOG_HEX "00", 99, 0, MIC_ERR_FORMAT);
	expect_log(LOG_HEX, 99, 0, MIC_OK);
	{
		mic_logrec_t *d = make_log();
		struct bytes in;

		hex(&in, LOG_HEX);
		assert_int_equal(mic_logrec_decode(d, in.b, 47),
		    MIC_ERR_FORMAT);
		mic_logrec_free(&d);
	}
	expect_log(LOG_HEX, 4, 0x02, MIC_OK);
	expect_log(LOG_HEX, 4, 0x00, MIC_ERR_VALUE);
	expect_log(LOG_HEX, 4, 0x03, MIC_ERR_VALUE);
	expect_log("00000007 01 0000000000000000 00000000000181CE"
	    "20261123093000 504F533030303031 00 0102030405060708090A0B", 99, 0,
	    MIC_ERR_VALUE);
	expect_log(LOG_HEX, 5, 0x80, MIC_ERR_VALUE);
	expect_log(LOG_HEX, 13, 0xFF, MIC_ERR_VALUE);
	expect_log(LOG_HEX, 36, 8, MIC_OK);
	expect_log(LOG_HEX, 36, 9, MIC_ERR_VALUE);
	expect_log(LOG_HEX, 21, 0x2A, MIC_ERR_DATE);
	expect_log(LOG_HEX, 23, 0x13, MIC_ERR_DATE);
	expect_log(LOG_HEX, 24, 0x30, MIC_OK);
	expect_log(LOG_HEX, 24, 0x31, MIC_ERR_DATE);  /* 31 November */
	expect_log(LOG_HEX, 25, 0x24, MIC_ERR_DATE);
	expect_log(LOG_HEX, 28, 0x00, MIC_ERR_FORMAT);
	expect_log(LOG_HEX, 35, 0x80, MIC_ERR_FORMAT);

	assert_int_equal(mic_logrec_encode(l, buf, sizeof(buf), &n),
	    MIC_ERR_MISSING);
	assert_int_equal(mic_logrec_set_type(l, (mic_logtype)3),
	    MIC_ERR_VALUE);
	assert_int_equal(mic_logrec_set_amount(l, 0), MIC_ERR_VALUE);
	assert_int_equal(mic_logrec_set_amount(l, -5), MIC_ERR_VALUE);
	assert_int_equal(mic_logrec_set_balance(l, -1), MIC_ERR_VALUE);
	assert_int_equal(mic_logrec_set_payer(l, 9), MIC_ERR_VALUE);
	assert_int_equal(mic_logrec_set_time(l, "20261123093060"),
	    MIC_ERR_DATE);
	assert_int_equal(mic_logrec_set_terminal(l, "POS000012"),
	    MIC_ERR_FORMAT);
	assert_int_equal(mic_logrec_set_reference(l, ref, 10), MIC_ERR_FORMAT);
	assert_int_equal(mic_logrec_set_reference(l, ref, 16), MIC_ERR_FORMAT);
	assert_null(mic_logrec_reference(l));
	assert_null(mic_logrec_time(l));
	assert_int_equal(mic_logrec_type(l), 0);
	assert_int_equal(mic_logrec_set_counter(NULL, 1),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_logrec_decode(l, NULL, 48),
	    MIC_ERR_INVALID_ARGUMENT);
	mic_logrec_free(&l);
}

/* --- FCI ----------------------------------------------------------------- */

static void
test_fci(void **state)
{
	mic_fci f, d;
	struct bytes want, got;
	const uint8_t *aid;
	size_t aid_len;

	(void)state;
	memset(&f, 0, sizeof(f));
	aid = mic_aid(&aid_len);
	memcpy(f.aid, aid, aid_len);
	f.aid_len = aid_len;
	f.state = MIC_STATE_ACTIVE;
	memcpy(f.chip_serial, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	hex(&want, FCI_HEX);
	assert_int_equal(mic_fci_encode(&f, got.b, sizeof(got.b), &got.n),
	    MIC_OK);
	assert_int_equal(got.n, want.n);
	assert_memory_equal(got.b, want.b, want.n);
	assert_int_equal(mic_fci_decode(&d, want.b, want.n), MIC_OK);
	assert_int_equal(d.aid_len, aid_len);
	assert_memory_equal(d.aid, f.aid, aid_len);
	assert_int_equal(d.state, MIC_STATE_ACTIVE);
	assert_memory_equal(d.chip_serial, f.chip_serial, 8);

	f.state = (mic_state)6;
	assert_int_equal(mic_fci_encode(&f, got.b, sizeof(got.b), &got.n),
	    MIC_ERR_VALUE);
	f.state = MIC_STATE_BLANK;
	f.aid_len = 4;
	assert_int_equal(mic_fci_encode(&f, got.b, sizeof(got.b), &got.n),
	    MIC_ERR_VALUE);
	f.aid_len = 17;
	assert_int_equal(mic_fci_encode(&f, got.b, sizeof(got.b), &got.n),
	    MIC_ERR_VALUE);
	f.aid_len = aid_len;
	assert_int_equal(mic_fci_encode(&f, got.b, 27, &got.n),
	    MIC_ERR_BUFFER_TOO_SMALL);
}

static void
expect_fci(const char *h, mic_rc want)
{
	struct bytes in;
	mic_fci d;

	hex(&in, h);
	memset(&d, 0x5A, sizeof(d));
	if (mic_fci_decode(&d, in.b, in.n) != want)
		fail_msg("%s: want %s", h, mic_strerror_name(want));
	if (want != MIC_OK)
		assert_int_equal(d.aid[0], 0x5A);
}

static void
test_fci_reject(void **state)
{
	(void)state;
	expect_fci(FCI_HEX "0000", MIC_OK);
	expect_fci(FCI_HEX "01", MIC_ERR_TEMPLATE);
	expect_fci("", MIC_ERR_NOT_FOUND);
	expect_fci("621A" "8409D1560000014D494301" "A50D" "800103"
	    "81080102030405060708", MIC_ERR_TEMPLATE);
	expect_fci("6F0F 8409D1560000014D494301 A502 8000", MIC_ERR_MISSING);
	expect_fci("6F0F A50D 80010381080102030405060708", MIC_ERR_MISSING);
	expect_fci("6F0B 8409D1560000014D494301", MIC_ERR_MISSING);
	expect_fci("6F0D 8409D1560000014D494301 A500", MIC_ERR_MISSING);
	expect_fci("6F10 8409D1560000014D494301 A503 800103", MIC_ERR_MISSING);
	expect_fci("6F1A 8409D1560000014D494301 A50D 800106"
	    "81080102030405060708", MIC_ERR_VALUE);
	expect_fci("6F1A 8409D1560000014D494301 A50D 800100"
	    "81080102030405060708", MIC_ERR_VALUE);
	expect_fci("6F1B 8409D1560000014D494301 A50E 80020003"
	    "81080102030405060708", MIC_ERR_FORMAT);
	expect_fci("6F19 8409D1560000014D494301 A50C 800103"
	    "810701020304050607", MIC_ERR_FORMAT);
	expect_fci("6F15 8404D1560000 A50D 800103 81080102030405060708",
	    MIC_ERR_FORMAT);
	/* Other AIDs decode; the card layer compares. */
	expect_fci("6F16 8405D156000001 A50D 800103 81080102030405060708",
	    MIC_OK);
	/* Extra ISO objects in 6F are foreign to this profile... */
	expect_fci("6F1F 8409D1560000014D494301 5003414243"
	    "A50D 800103 81080102030405060708", MIC_ERR_TEMPLATE);
	/* ...unknown context-specific ones are room for later versions. */
	expect_fci("6F1D 8409D1560000014D494301 870101 A50D 800103"
	    "81080102030405060708", MIC_OK);
	expect_fci("6F1D 8409D1560000014D494301 A510 800103"
	    "81080102030405060708 820100", MIC_OK);
	expect_fci("6F1D 8409D1560000014D494301 A510 800103"
	    "81080102030405060708 800103", MIC_ERR_TEMPLATE);
	expect_fci("6F25 8409D1560000014D494301 8409D1560000014D494301"
	    "A50D 800103 81080102030405060708", MIC_ERR_TEMPLATE);
	expect_fci("6F1A 8409D1560000014D494301 A50D 800103"
	    "81090102030405060708", MIC_ERR_TLV_TRUNCATED);
}

/* Every setter and getter refuses NULL without crashing. */
static void
test_nulls(void **state)
{
	uint8_t buf[8] = { 0 };
	size_t n;

	(void)state;
	assert_int_equal(mic_holder_decode(NULL, buf, 1),
	    MIC_ERR_INVALID_ARGUMENT);
	{
		mic_member_t *m = mic_member_new();

		assert_int_equal(mic_member_decode(m, NULL, 0),
		    MIC_ERR_NOT_FOUND);
		mic_member_free(&m);
	}
	assert_int_equal(mic_account_encode(NULL, buf, 8, &n),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_fci_decode(NULL, buf, 8),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_fci_encode(NULL, buf, 8, &n),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_null(mic_holder_name(NULL));
	assert_null(mic_member_name(NULL));
	assert_null(mic_activation_time(NULL));
	assert_int_equal(mic_insurance_policy(NULL), 0);
	assert_int_equal(mic_logrec_counter(NULL), 0);
	assert_int_equal(mic_activation_set_role(NULL, MIC_ROLE_BANK),
	    MIC_ERR_INVALID_ARGUMENT);
	mic_holder_free(NULL);
	mic_member_free(NULL);
	mic_account_free(NULL);
	mic_insurance_free(NULL);
	mic_activation_free(NULL);
	mic_logrec_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_code_valid),
		cmocka_unit_test(test_code_tables),
		cmocka_unit_test(test_code_names),
		cmocka_unit_test(test_region_names),
		cmocka_unit_test(test_aid_state),
		cmocka_unit_test(test_cardid),
		cmocka_unit_test(test_cardid_build_bad),
		cmocka_unit_test(test_cardid_parse_bad),
		cmocka_unit_test(test_card_encode),
		cmocka_unit_test(test_card_decode),
		cmocka_unit_test(test_card_reject),
		cmocka_unit_test(test_card_setters),
		cmocka_unit_test(test_holder_roundtrip),
		cmocka_unit_test(test_holder_setters),
		cmocka_unit_test(test_holder_reject),
		cmocka_unit_test(test_holder_debug_private),
		cmocka_unit_test(test_holder_no_clock),
		cmocka_unit_test(test_insurance),
		cmocka_unit_test(test_activation),
		cmocka_unit_test(test_member),
		cmocka_unit_test(test_account),
		cmocka_unit_test(test_log),
		cmocka_unit_test(test_log_reject),
		cmocka_unit_test(test_fci),
		cmocka_unit_test(test_fci_reject),
		cmocka_unit_test(test_nulls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
