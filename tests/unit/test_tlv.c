/*
 * BER-TLV parser, validator, search and writer (ISO/IEC 7816-4:2020
 * clause 6.3): real-world encodings, every rejection, the depth limit and
 * writer round trips.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mic/tlv.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/*
 * An FCI as a payment card returns it to SELECT 1PAY.SYS.DDF01:
 * 6F { 84 DF name, A5 { 88 SFI, 5F2D language } }.
 */
static const uint8_t FCI[] = {
	0x6F, 0x1A,
	    0x84, 0x0E, '1', 'P', 'A', 'Y', '.', 'S', 'Y', 'S', '.', 'D',
		'D', 'F', '0', '1',
	    0xA5, 0x08,
		0x88, 0x01, 0x01,
		0x5F, 0x2D, 0x02, 'e', 'n',
};

static uint8_t *
pattern(size_t n)
{
	uint8_t *p = malloc(n == 0 ? 1 : n);
	size_t i;

	assert_non_null(p);
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 13 + 1);
	return p;
}

static void
assert_parse_fails(const uint8_t *buf, size_t len, mic_rc want)
{
	mic_tlv t;

	memset(&t, 0xA5, sizeof(t));
	assert_int_equal(mic_tlv_parse(buf, len, &t), want);
	assert_null(t.value);
	assert_int_equal(t.raw_len, 0);
	/* The validator and the iterator see the same error. */
	assert_int_equal(mic_tlv_validate(buf, len), want);
}

static void
test_parse_primitive(void **state)
{
	const uint8_t b[] = { 0x84, 0x02, 0xAA, 0xBB, 0xFF };
	mic_tlv t;

	(void)state;
	assert_int_equal(mic_tlv_parse(b, sizeof(b), &t), MIC_OK);
	assert_int_equal(t.tag, 0x84);
	assert_false(t.constructed);
	assert_ptr_equal(t.value, b + 2);
	assert_int_equal(t.len, 2);
	assert_int_equal(t.raw_len, 4);
}

static void
test_parse_empty_value(void **state)
{
	const uint8_t b[] = { 0x53, 0x00 };
	mic_tlv t;

	(void)state;
	assert_int_equal(mic_tlv_parse(b, sizeof(b), &t), MIC_OK);
	assert_int_equal(t.tag, 0x53);
	assert_int_equal(t.len, 0);
	assert_int_equal(t.raw_len, 2);
	assert_ptr_equal(t.value, b + 2);
}

static void
test_parse_fci(void **state)
{
	const uint32_t lang[] = { 0x6F, 0xA5, 0x5F2D };
	const uint32_t sfi[] = { 0x6F, 0xA5, 0x88 };
	const uint32_t df[] = { 0x6F, 0x84 };
	mic_tlv t, inner;

	(void)state;
	assert_int_equal(mic_tlv_validate(FCI, sizeof(FCI)), MIC_OK);
	assert_int_equal(mic_tlv_parse(FCI, sizeof(FCI), &t), MIC_OK);
	assert_int_equal(t.tag, 0x6F);
	assert_true(t.constructed);
	assert_int_equal(t.len, 0x1A);
	assert_int_equal(t.raw_len, sizeof(FCI));

	assert_int_equal(mic_tlv_find(t.value, t.len, 0x84, &inner), MIC_OK);
	assert_int_equal(inner.len, 14);
	assert_memory_equal(inner.value, "1PAY.SYS.DDF01", 14);
	assert_int_equal(mic_tlv_find(t.value, t.len, 0xA5, &inner), MIC_OK);
	assert_true(inner.constructed);
	assert_int_equal(inner.len, 8);

	assert_int_equal(mic_tlv_find_path(FCI, sizeof(FCI), lang, 3, &t),
	    MIC_OK);
	assert_int_equal(t.tag, 0x5F2D);
	assert_int_equal(t.len, 2);
	assert_memory_equal(t.value, "en", 2);
	assert_ptr_equal(t.value, FCI + sizeof(FCI) - 2);
	assert_int_equal(mic_tlv_find_path(FCI, sizeof(FCI), sfi, 3, &t),
	    MIC_OK);
	assert_int_equal(t.len, 1);
	assert_int_equal(t.value[0], 0x01);
	assert_int_equal(mic_tlv_find_path(FCI, sizeof(FCI), df, 2, &t),
	    MIC_OK);
	assert_int_equal(t.tag, 0x84);
}

static void
test_parse_two_byte_tags(void **state)
{
	/* Cardholder name 5F20 and a public key template 7F49 { 86 point }. */
	uint8_t b[3 + 10 + 3 + 2 + 65];
	const uint32_t point[] = { 0x7F49, 0x86 };
	mic_tlv t;
	size_t i;

	(void)state;
	memcpy(b, (const uint8_t[]){ 0x5F, 0x20, 0x0A }, 3);
	memcpy(b + 3, "ZHANG/SAN ", 10);
	memcpy(b + 13, (const uint8_t[]){ 0x7F, 0x49, 0x43, 0x86, 0x41 }, 5);
	b[18] = 0x04;
	for (i = 1; i < 65; i++)
		b[18 + i] = (uint8_t)i;

	assert_int_equal(mic_tlv_validate(b, sizeof(b)), MIC_OK);
	assert_int_equal(mic_tlv_parse(b, sizeof(b), &t), MIC_OK);
	assert_int_equal(t.tag, 0x5F20);
	assert_false(t.constructed);
	assert_int_equal(t.len, 10);
	assert_int_equal(t.raw_len, 13);
	assert_int_equal(mic_tlv_find(b, sizeof(b), 0x7F49, &t), MIC_OK);
	assert_true(t.constructed);
	assert_int_equal(t.len, 0x43);
	assert_int_equal(mic_tlv_find_path(b, sizeof(b), point, 2, &t),
	    MIC_OK);
	assert_int_equal(t.tag, 0x86);
	assert_int_equal(t.len, 65);
	assert_int_equal(t.value[0], 0x04);
	assert_int_equal(t.value[64], 64);
}

static void
test_parse_multibyte_tags(void **state)
{
	/* Tag number 31: the smallest that needs a second byte. */
	const uint8_t t31[] = { 0x1F, 0x1F, 0x00 };
	const uint8_t t9f36[] = { 0x9F, 0x36, 0x02, 0x00, 0x01 };
	/* Three bytes: tag number 128. */
	const uint8_t t3[] = { 0xDF, 0x81, 0x00, 0x01, 0x42 };
	/* Four bytes, with a zero group in the middle (that is minimal). */
	const uint8_t t4[] = { 0x3F, 0x81, 0x80, 0x01, 0x00 };
	const uint8_t t4max[] = { 0xDF, 0xFF, 0xFF, 0x7F, 0x00 };
	mic_tlv t;

	(void)state;
	assert_int_equal(mic_tlv_parse(t31, sizeof(t31), &t), MIC_OK);
	assert_int_equal(t.tag, 0x1F1F);
	assert_int_equal(t.raw_len, 3);
	assert_int_equal(mic_tlv_parse(t9f36, sizeof(t9f36), &t), MIC_OK);
	assert_int_equal(t.tag, 0x9F36);
	assert_int_equal(t.len, 2);
	assert_int_equal(mic_tlv_parse(t3, sizeof(t3), &t), MIC_OK);
	assert_int_equal(t.tag, 0xDF8100);
	assert_int_equal(t.len, 1);
	assert_int_equal(t.value[0], 0x42);
	assert_int_equal(mic_tlv_parse(t4, sizeof(t4), &t), MIC_OK);
	assert_int_equal(t.tag, 0x3F818001);
	assert_true(t.constructed);
	assert_int_equal(t.raw_len, 5);
	assert_int_equal(mic_tlv_parse(t4max, sizeof(t4max), &t), MIC_OK);
	assert_int_equal(t.tag, 0xDFFFFF7F);
}

static void
test_parse_long_lengths(void **state)
{
	static const struct {
		uint8_t hdr[6];
		size_t hlen;
		size_t vlen;
	} cases[] = {
		{ { 0x53, 0x7F }, 2, 127 },
		{ { 0x53, 0x81, 0x80 }, 3, 128 },
		{ { 0x53, 0x81, 0xFF }, 3, 255 },
		{ { 0x53, 0x82, 0x01, 0x00 }, 4, 256 },
		{ { 0x53, 0x82, 0xFF, 0xFF }, 4, 65535 },
		{ { 0x53, 0x83, 0x01, 0x00, 0x00 }, 5, 65536 },
		{ { 0x53, 0x84, 0x01, 0x00, 0x00, 0x00 }, 6, 0x1000000 },
	};
	uint8_t *buf = pattern(6 + 0x1000000);
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		size_t total = cases[i].hlen + cases[i].vlen;
		mic_tlv t;

		memcpy(buf, cases[i].hdr, cases[i].hlen);
		assert_int_equal(mic_tlv_parse(buf, total, &t), MIC_OK);
		assert_int_equal(t.tag, 0x53);
		assert_int_equal(t.len, cases[i].vlen);
		assert_int_equal(t.raw_len, total);
		assert_ptr_equal(t.value, buf + cases[i].hlen);
		assert_int_equal(mic_tlv_len_size(t.len), cases[i].hlen - 1);
		/* One byte short is truncated. */
		assert_parse_fails(buf, total - 1, MIC_ERR_TLV_TRUNCATED);
	}
	free(buf);
}

static void
test_reject_empty_and_null(void **state)
{
	const uint8_t b[] = { 0x84, 0x00 };
	mic_tlv t;

	(void)state;
	assert_int_equal(mic_tlv_parse(b, 0, &t), MIC_ERR_TLV_TRUNCATED);
	assert_int_equal(mic_tlv_parse(NULL, 0, &t), MIC_ERR_TLV_TRUNCATED);
	assert_int_equal(mic_tlv_parse(NULL, 2, &t), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_tlv_parse(b, sizeof(b), NULL),
	    MIC_ERR_INVALID_ARGUMENT);
}

static void
test_reject_tag(void **state)
{
	const uint8_t zero[] = { 0x00, 0x01, 0xAA };
	const uint8_t ff[] = { 0xFF, 0x01, 0xAA };
	/* Five tag bytes. */
	const uint8_t five[] = { 0x1F, 0x81, 0x81, 0x81, 0x01, 0x00 };
	/* A fourth byte that promises a fifth: too long, not truncated. */
	const uint8_t four_more[] = { 0x1F, 0x81, 0x81, 0x81 };

	(void)state;
	assert_parse_fails(zero, sizeof(zero), MIC_ERR_TLV_TAG);
	assert_parse_fails(ff, sizeof(ff), MIC_ERR_TLV_TAG);
	assert_parse_fails(five, sizeof(five), MIC_ERR_TLV_TAG);
	assert_parse_fails(four_more, sizeof(four_more), MIC_ERR_TLV_TAG);
}

static void
test_reject_tag_nonminimal(void **state)
{
	/* Tag number 30 fits the first byte (1E). */
	const uint8_t n30[] = { 0x1F, 0x1E, 0x00 };
	const uint8_t n0[] = { 0x1F, 0x00, 0x00 };
	/* 5F 1E would be 5E. */
	const uint8_t app30[] = { 0x5F, 0x1E, 0x00 };
	/* A leading group of seven zero bits. */
	const uint8_t lead0[] = { 0x1F, 0x80, 0x20, 0x00 };
	const uint8_t lead0_3[] = { 0x9F, 0x80, 0x81, 0x01, 0x00 };

	(void)state;
	assert_parse_fails(n30, sizeof(n30), MIC_ERR_TLV_NONMINIMAL);
	assert_parse_fails(n0, sizeof(n0), MIC_ERR_TLV_NONMINIMAL);
	assert_parse_fails(app30, sizeof(app30), MIC_ERR_TLV_NONMINIMAL);
	assert_parse_fails(lead0, sizeof(lead0), MIC_ERR_TLV_NONMINIMAL);
	assert_parse_fails(lead0_3, sizeof(lead0_3), MIC_ERR_TLV_NONMINIMAL);
}

static void
test_reject_truncated_tag(void **state)
{
	const uint8_t b1[] = { 0x1F };
	const uint8_t b2[] = { 0x5F, 0x81 };
	const uint8_t b3[] = { 0x5F, 0x81, 0x81 };

	(void)state;
	assert_parse_fails(b1, sizeof(b1), MIC_ERR_TLV_TRUNCATED);
	assert_parse_fails(b2, sizeof(b2), MIC_ERR_TLV_TRUNCATED);
	assert_parse_fails(b3, sizeof(b3), MIC_ERR_TLV_TRUNCATED);
}

static void
test_reject_truncated_length(void **state)
{
	const uint8_t nolen[] = { 0x84 };
	const uint8_t nolen2[] = { 0x5F, 0x20 };
	const uint8_t l81[] = { 0x84, 0x81 };
	const uint8_t l82[] = { 0x84, 0x82, 0x01 };
	const uint8_t l84[] = { 0x84, 0x84, 0x01, 0x00, 0x00 };

	(void)state;
	assert_parse_fails(nolen, sizeof(nolen), MIC_ERR_TLV_TRUNCATED);
	assert_parse_fails(nolen2, sizeof(nolen2), MIC_ERR_TLV_TRUNCATED);
	assert_parse_fails(l81, sizeof(l81), MIC_ERR_TLV_TRUNCATED);
	assert_parse_fails(l82, sizeof(l82), MIC_ERR_TLV_TRUNCATED);
	assert_parse_fails(l84, sizeof(l84), MIC_ERR_TLV_TRUNCATED);
}

static void
test_reject_truncated_value(void **state)
{
	const uint8_t b[] = { 0x84, 0x03, 0xAA, 0xBB };
	/* The largest length there is, over a handful of bytes. */
	const uint8_t huge[] = { 0x84, 0x84, 0xFF, 0xFF, 0xFF, 0xFF, 0x00 };
	/* 81 80 with 127 value bytes. */
	uint8_t *l128 = pattern(3 + 127);

	(void)state;
	assert_parse_fails(b, sizeof(b), MIC_ERR_TLV_TRUNCATED);
	assert_parse_fails(huge, sizeof(huge), MIC_ERR_TLV_TRUNCATED);
	memcpy(l128, (const uint8_t[]){ 0x84, 0x81, 0x80 }, 3);
	assert_parse_fails(l128, 3 + 127, MIC_ERR_TLV_TRUNCATED);
	free(l128);
}

static void
test_reject_indefinite(void **state)
{
	const uint8_t b[] = { 0x6F, 0x80, 0x84, 0x01, 0xAA, 0x00, 0x00 };
	const uint8_t bare[] = { 0x6F, 0x80 };

	(void)state;
	assert_parse_fails(b, sizeof(b), MIC_ERR_TLV_INDEFINITE);
	assert_parse_fails(bare, sizeof(bare), MIC_ERR_TLV_INDEFINITE);
}

static void
test_reject_length_too_long(void **state)
{
	const uint8_t l85[] = { 0x84, 0x85, 0x00, 0x00, 0x00, 0x00, 0x01,
	    0xAA };
	const uint8_t lff[] = { 0x84, 0xFF };

	(void)state;
	assert_parse_fails(l85, sizeof(l85), MIC_ERR_TLV_LENGTH);
	assert_parse_fails(lff, sizeof(lff), MIC_ERR_TLV_LENGTH);
}

static void
test_reject_length_nonminimal(void **state)
{
	const uint8_t l81_05[] = { 0x84, 0x81, 0x05, 1, 2, 3, 4, 5 };
	const uint8_t l81_7f[] = { 0x84, 0x81, 0x7F };
	const uint8_t l81_00[] = { 0x84, 0x81, 0x00 };
	const uint8_t l82_0080[] = { 0x84, 0x82, 0x00, 0x80 };
	const uint8_t l82_0000[] = { 0x84, 0x82, 0x00, 0x00 };
	const uint8_t l83[] = { 0x84, 0x83, 0x00, 0xFF, 0xFF };
	const uint8_t l84[] = { 0x84, 0x84, 0x00, 0x01, 0x00, 0x00 };
	uint8_t *big = pattern(4 + 0x80);

	(void)state;
	assert_parse_fails(l81_05, sizeof(l81_05), MIC_ERR_TLV_NONMINIMAL);
	assert_parse_fails(l81_7f, sizeof(l81_7f), MIC_ERR_TLV_NONMINIMAL);
	assert_parse_fails(l81_00, sizeof(l81_00), MIC_ERR_TLV_NONMINIMAL);
	assert_parse_fails(l82_0000, sizeof(l82_0000), MIC_ERR_TLV_NONMINIMAL);
	assert_parse_fails(l83, sizeof(l83), MIC_ERR_TLV_NONMINIMAL);
	assert_parse_fails(l84, sizeof(l84), MIC_ERR_TLV_NONMINIMAL);
	/* 82 00 80 with all 128 value bytes present: only the form is wrong. */
	memcpy(big, l82_0080, sizeof(l82_0080));
	assert_parse_fails(big, 4 + 0x80, MIC_ERR_TLV_NONMINIMAL);
	free(big);
}

static void
test_validate_sequence(void **state)
{
	const uint8_t seq[] = { 0x84, 0x01, 0xAA, 0x53, 0x00, 0x5F, 0x20,
	    0x01, 'X' };
	/* A primitive's value is opaque, even if it looks like bad TLV. */
	const uint8_t opaque[] = { 0x04, 0x03, 0x00, 0x80, 0xFF };

	(void)state;
	assert_int_equal(mic_tlv_validate(seq, sizeof(seq)), MIC_OK);
	assert_int_equal(mic_tlv_validate(seq, 0), MIC_OK);
	assert_int_equal(mic_tlv_validate(NULL, 0), MIC_OK);
	assert_int_equal(mic_tlv_validate(NULL, 1), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_tlv_validate(opaque, sizeof(opaque)), MIC_OK);
	assert_int_equal(mic_tlv_validate(FCI, sizeof(FCI)), MIC_OK);
}

static void
test_validate_trailing(void **state)
{
	uint8_t b[sizeof(FCI) + 2];

	(void)state;
	memcpy(b, FCI, sizeof(FCI));
	/* Padding after the last object is not a TLV. */
	b[sizeof(FCI)] = 0x00;
	assert_int_equal(mic_tlv_validate(b, sizeof(FCI) + 1),
	    MIC_ERR_TLV_TAG);
	/* Half an object after the last one. */
	b[sizeof(FCI)] = 0x84;
	assert_int_equal(mic_tlv_validate(b, sizeof(FCI) + 1),
	    MIC_ERR_TLV_TRUNCATED);
	b[sizeof(FCI) + 1] = 0x01;
	assert_int_equal(mic_tlv_validate(b, sizeof(FCI) + 2),
	    MIC_ERR_TLV_TRUNCATED);
}

static void
test_validate_nested_errors(void **state)
{
	/* The child runs past the end of its parent, not of the buffer. */
	const uint8_t child_past[] = { 0x6F, 0x03, 0x84, 0x05, 0xAA, 0xBB,
	    0xCC, 0xDD, 0xEE };
	const uint8_t child_nonmin[] = { 0x6F, 0x04, 0x84, 0x81, 0x01, 0xAA };
	const uint8_t child_indef[] = { 0x6F, 0x04, 0xA5, 0x80, 0x00, 0x00 };
	const uint8_t child_tag[] = { 0x6F, 0x03, 0x1F, 0x1E, 0x00 };
	const uint8_t child_pad[] = { 0x6F, 0x04, 0x84, 0x00, 0x00, 0x00 };
	const uint8_t grandchild[] = { 0x6F, 0x06, 0xA5, 0x04, 0x88, 0x03,
	    0x01, 0x02 };

	(void)state;
	assert_int_equal(mic_tlv_validate(child_past, sizeof(child_past)),
	    MIC_ERR_TLV_TRUNCATED);
	assert_int_equal(mic_tlv_validate(child_nonmin, sizeof(child_nonmin)),
	    MIC_ERR_TLV_NONMINIMAL);
	assert_int_equal(mic_tlv_validate(child_indef, sizeof(child_indef)),
	    MIC_ERR_TLV_INDEFINITE);
	assert_int_equal(mic_tlv_validate(child_tag, sizeof(child_tag)),
	    MIC_ERR_TLV_NONMINIMAL);
	assert_int_equal(mic_tlv_validate(child_pad, sizeof(child_pad)),
	    MIC_ERR_TLV_TAG);
	assert_int_equal(mic_tlv_validate(grandchild, sizeof(grandchild)),
	    MIC_ERR_TLV_TRUNCATED);
}

/*
 * Build @p levels nested constructed objects (tag A1 .. ) around @p inner;
 * returns the total length.
 */
static size_t
nest(uint8_t *buf, size_t cap, size_t levels, const uint8_t *inner,
    size_t inner_len)
{
	size_t len = inner_len, i;

	assert_true(2 * levels + inner_len <= cap);
	memcpy(buf + 2 * levels, inner, inner_len);
	for (i = levels; i > 0; i--) {
		assert_true(len < 0x80);
		buf[2 * (i - 1)] = (uint8_t)(0xA0 + i);
		buf[2 * (i - 1) + 1] = (uint8_t)len;
		len += 2;
	}
	return len;
}

static void
test_validate_depth_limit(void **state)
{
	const uint8_t prim[] = { 0x84, 0x01, 0x42 };
	const uint8_t empty_cons[] = { 0xA9, 0x00 };
	uint8_t b[64];
	size_t n;

	(void)state;
	/* Exactly MIC_TLV_MAX_DEPTH constructed levels, primitive inside. */
	n = nest(b, sizeof(b), MIC_TLV_MAX_DEPTH, prim, sizeof(prim));
	assert_int_equal(mic_tlv_validate(b, n), MIC_OK);
	/* The same, but the innermost is an empty constructed object. */
	n = nest(b, sizeof(b), MIC_TLV_MAX_DEPTH - 1, empty_cons,
	    sizeof(empty_cons));
	assert_int_equal(mic_tlv_validate(b, n), MIC_OK);
	/* One over: even an empty constructed object counts. */
	n = nest(b, sizeof(b), MIC_TLV_MAX_DEPTH, empty_cons,
	    sizeof(empty_cons));
	assert_int_equal(mic_tlv_validate(b, n), MIC_ERR_TLV_TOO_DEEP);
	n = nest(b, sizeof(b), MIC_TLV_MAX_DEPTH + 1, prim, sizeof(prim));
	assert_int_equal(mic_tlv_validate(b, n), MIC_ERR_TLV_TOO_DEEP);
	n = nest(b, sizeof(b), 20, prim, sizeof(prim));
	assert_int_equal(mic_tlv_validate(b, n), MIC_ERR_TLV_TOO_DEEP);
}

static void
test_validate_depth_siblings(void **state)
{
	const uint8_t prim[] = { 0x84, 0x01, 0x42 };
	uint8_t b[128];
	size_t n, m;

	(void)state;
	/* Two maximal trees side by side: the depth resets between them. */
	n = nest(b, sizeof(b), MIC_TLV_MAX_DEPTH, prim, sizeof(prim));
	m = nest(b + n, sizeof(b) - n, MIC_TLV_MAX_DEPTH, prim, sizeof(prim));
	assert_int_equal(mic_tlv_validate(b, n + m), MIC_OK);
	/* A second tree one level deeper fails. */
	m = nest(b + n, sizeof(b) - n, MIC_TLV_MAX_DEPTH + 1, prim,
	    sizeof(prim));
	assert_int_equal(mic_tlv_validate(b, n + m), MIC_ERR_TLV_TOO_DEEP);
}

static void
test_iter(void **state)
{
	const uint8_t seq[] = { 0x84, 0x01, 0xAA, 0x5F, 0x20, 0x00, 0xA5,
	    0x03, 0x88, 0x01, 0x02 };
	mic_tlv_iter it;
	mic_tlv t;

	(void)state;
	mic_tlv_iter_init(&it, seq, sizeof(seq));
	assert_int_equal(mic_tlv_next(&it, &t), MIC_OK);
	assert_int_equal(t.tag, 0x84);
	assert_int_equal(t.value[0], 0xAA);
	assert_int_equal(mic_tlv_next(&it, &t), MIC_OK);
	assert_int_equal(t.tag, 0x5F20);
	assert_int_equal(t.len, 0);
	assert_int_equal(mic_tlv_next(&it, &t), MIC_OK);
	assert_int_equal(t.tag, 0xA5);
	assert_true(t.constructed);
	assert_int_equal(t.len, 3);
	assert_int_equal(mic_tlv_next(&it, &t), MIC_ERR_NOT_FOUND);
	assert_int_equal(mic_tlv_next(&it, &t), MIC_ERR_NOT_FOUND);
	assert_int_equal(it.left, 0);
}

static void
test_iter_error_stays_put(void **state)
{
	const uint8_t seq[] = { 0x84, 0x01, 0xAA, 0x84, 0x81, 0x01, 0xBB };
	mic_tlv_iter it;
	const uint8_t *p;
	mic_tlv t;
	size_t left;

	(void)state;
	mic_tlv_iter_init(&it, seq, sizeof(seq));
	assert_int_equal(mic_tlv_next(&it, &t), MIC_OK);
	p = it.p;
	left = it.left;
	assert_ptr_equal(p, seq + 3);
	assert_int_equal(left, 4);
	assert_int_equal(mic_tlv_next(&it, &t), MIC_ERR_TLV_NONMINIMAL);
	assert_ptr_equal(it.p, p);
	assert_int_equal(it.left, left);
	assert_int_equal(mic_tlv_next(&it, &t), MIC_ERR_TLV_NONMINIMAL);
}

static void
test_iter_null(void **state)
{
	mic_tlv_iter it;
	mic_tlv t;

	(void)state;
	mic_tlv_iter_init(NULL, FCI, sizeof(FCI));
	mic_tlv_iter_init(&it, NULL, 5);
	assert_int_equal(it.left, 0);
	assert_int_equal(mic_tlv_next(&it, &t), MIC_ERR_NOT_FOUND);
	mic_tlv_iter_init(&it, FCI, sizeof(FCI));
	assert_int_equal(mic_tlv_next(NULL, &t), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_tlv_next(&it, NULL), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(it.left, sizeof(FCI));
}

static void
test_find(void **state)
{
	const uint8_t seq[] = { 0x84, 0x01, 0xAA, 0xA5, 0x03, 0x88, 0x01,
	    0x02, 0x84, 0x01, 0xBB };
	mic_tlv t;

	(void)state;
	/* The first of two 84s. */
	assert_int_equal(mic_tlv_find(seq, sizeof(seq), 0x84, &t), MIC_OK);
	assert_int_equal(t.value[0], 0xAA);
	assert_int_equal(mic_tlv_find(seq, sizeof(seq), 0xA5, &t), MIC_OK);
	assert_int_equal(t.len, 3);
	/* 88 is only inside A5: find does not descend. */
	assert_int_equal(mic_tlv_find(seq, sizeof(seq), 0x88, &t),
	    MIC_ERR_NOT_FOUND);
	assert_int_equal(mic_tlv_find(seq, 0, 0x84, &t), MIC_ERR_NOT_FOUND);
	assert_int_equal(mic_tlv_find(NULL, 0, 0x84, &t), MIC_ERR_NOT_FOUND);
	assert_int_equal(mic_tlv_find(NULL, 3, 0x84, &t),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_tlv_find(seq, sizeof(seq), 0x84, NULL),
	    MIC_ERR_INVALID_ARGUMENT);
}

static void
test_find_errors(void **state)
{
	/* 84 then a malformed object then 53. */
	const uint8_t seq[] = { 0x84, 0x01, 0xAA, 0x85, 0x80, 0x53, 0x00 };
	mic_tlv t;

	(void)state;
	/* Found before the bad object: no need to look further. */
	assert_int_equal(mic_tlv_find(seq, sizeof(seq), 0x84, &t), MIC_OK);
	/* Behind it: the error, not "not found". */
	assert_int_equal(mic_tlv_find(seq, sizeof(seq), 0x53, &t),
	    MIC_ERR_TLV_INDEFINITE);
	assert_int_equal(mic_tlv_find(seq, sizeof(seq), 0x99, &t),
	    MIC_ERR_TLV_INDEFINITE);
}

static void
test_find_path_errors(void **state)
{
	const uint32_t missing[] = { 0x6F, 0xA5, 0x9F0C };
	const uint32_t through_prim[] = { 0x6F, 0x84, 0x88 };
	const uint32_t top_missing[] = { 0x70 };
	uint32_t deep[MIC_TLV_MAX_DEPTH + 1];
	const uint8_t bad_inner[] = { 0x6F, 0x03, 0xA5, 0x01, 0x88 };
	const uint32_t into_bad[] = { 0x6F, 0xA5, 0x88 };
	mic_tlv t;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(deep); i++)
		deep[i] = 0x6F;
	assert_int_equal(mic_tlv_find_path(FCI, sizeof(FCI), missing, 3, &t),
	    MIC_ERR_NOT_FOUND);
	assert_int_equal(mic_tlv_find_path(FCI, sizeof(FCI), through_prim, 3,
	    &t), MIC_ERR_NOT_FOUND);
	assert_int_equal(mic_tlv_find_path(FCI, sizeof(FCI), top_missing, 1,
	    &t), MIC_ERR_NOT_FOUND);
	assert_int_equal(mic_tlv_find_path(FCI, sizeof(FCI), deep,
	    MIC_TLV_MAX_DEPTH + 1, &t), MIC_ERR_TLV_TOO_DEEP);
	assert_int_equal(mic_tlv_find_path(FCI, sizeof(FCI), deep, 0, &t),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_tlv_find_path(FCI, sizeof(FCI), NULL, 1, &t),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_tlv_find_path(FCI, sizeof(FCI), deep, 1, NULL),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_tlv_find_path(NULL, 4, deep, 1, &t),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_tlv_find_path(bad_inner, sizeof(bad_inner),
	    into_bad, 3, &t), MIC_ERR_TLV_TRUNCATED);
}

static void
test_find_path_depth_limit(void **state)
{
	const uint8_t prim[] = { 0x84, 0x01, 0x42 };
	uint32_t path[MIC_TLV_MAX_DEPTH];
	uint8_t b[64];
	mic_tlv t;
	size_t n, i;

	(void)state;
	/* MIC_TLV_MAX_DEPTH - 1 constructed levels and the primitive. */
	n = nest(b, sizeof(b), MIC_TLV_MAX_DEPTH - 1, prim, sizeof(prim));
	for (i = 0; i + 1 < MIC_TLV_MAX_DEPTH; i++)
		path[i] = 0xA1 + (uint32_t)i;
	path[MIC_TLV_MAX_DEPTH - 1] = 0x84;
	assert_int_equal(mic_tlv_find_path(b, n, path, MIC_TLV_MAX_DEPTH, &t),
	    MIC_OK);
	assert_int_equal(t.tag, 0x84);
	assert_int_equal(t.value[0], 0x42);
	assert_ptr_equal(t.value, b + n - 1);
}

static void
test_tag_size(void **state)
{
	static const struct {
		uint32_t tag;
		size_t size;
	} cases[] = {
		{ 0x00, 0 }, { 0x01, 1 }, { 0x84, 1 }, { 0x6F, 1 },
		{ 0x1E, 1 }, { 0xDE, 1 },
		{ 0x1F, 0 }, { 0x5F, 0 }, { 0xFF, 0 },
		{ 0x1F1F, 2 }, { 0x5F20, 2 }, { 0x7F49, 2 }, { 0x9F36, 2 },
		{ 0x5F7F, 2 },
		{ 0x1F1E, 0 }, { 0x5F00, 0 }, { 0x5F80, 0 }, { 0x5F81, 0 },
		{ 0x8420, 0 }, { 0xFF20, 0 },
		{ 0x9F8100, 3 }, { 0xDF817F, 3 },
		{ 0x9F8001, 0 }, { 0x9F0101, 0 }, { 0x9F8181, 0 },
		{ 0x3F818001, 4 }, { 0xDFFFFF7F, 4 },
		{ 0x1F818181, 0 }, { 0x1F800101, 0 }, { 0x84818101, 0 },
		{ 0x1F1F0A, 0 }, { 0x5F2000, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		if (mic_tlv_tag_size(cases[i].tag) != cases[i].size)
			fail_msg("tag %x: size %zu, want %zu",
			    (unsigned)cases[i].tag,
			    mic_tlv_tag_size(cases[i].tag), cases[i].size);
	}
}

static void
test_len_size(void **state)
{
	(void)state;
	assert_int_equal(mic_tlv_len_size(0), 1);
	assert_int_equal(mic_tlv_len_size(127), 1);
	assert_int_equal(mic_tlv_len_size(128), 2);
	assert_int_equal(mic_tlv_len_size(255), 2);
	assert_int_equal(mic_tlv_len_size(256), 3);
	assert_int_equal(mic_tlv_len_size(65535), 3);
	assert_int_equal(mic_tlv_len_size(65536), 4);
	assert_int_equal(mic_tlv_len_size(0xFFFFFF), 4);
	assert_int_equal(mic_tlv_len_size(0x1000000), 5);
	assert_int_equal(mic_tlv_len_size(0xFFFFFFFF), 5);
#if SIZE_MAX > UINT32_MAX
	assert_int_equal(mic_tlv_len_size((size_t)0xFFFFFFFF + 1), 0);
#endif
}

static void
check_finish(mic_tlv_writer *w, const uint8_t *want, size_t want_len)
{
	size_t len = 999;

	assert_int_equal(mic_tlv_writer_finish(w, &len), MIC_OK);
	assert_int_equal(len, want_len);
	assert_memory_equal(w->buf, want, want_len);
	assert_int_equal(mic_tlv_validate(w->buf, len), MIC_OK);
}

static void
check_fails(mic_tlv_writer *w, mic_rc want)
{
	size_t len = 999;

	assert_int_equal(mic_tlv_writer_finish(w, &len), want);
	assert_int_equal(len, 0);
}

static void
test_writer_put(void **state)
{
	const uint8_t v[] = { 0xAA, 0xBB };
	const uint8_t want[] = { 0x84, 0x02, 0xAA, 0xBB, 0x5F, 0x20, 0x00,
	    0xDF, 0x81, 0x00, 0x01, 0xCC };
	uint8_t buf[32];
	mic_tlv_writer w;

	(void)state;
	mic_tlv_writer_init(&w, buf, sizeof(buf));
	mic_tlv_put(&w, 0x84, v, sizeof(v));
	mic_tlv_put(&w, 0x5F20, NULL, 0);
	mic_tlv_put(&w, 0xDF8100, (const uint8_t[]){ 0xCC }, 1);
	check_finish(&w, want, sizeof(want));
}

static void
test_writer_put_long(void **state)
{
	static const size_t lens[] = { 127, 128, 255, 256, 65535, 65536 };
	uint8_t *v = pattern(65536);
	uint8_t *buf = malloc(65536 + 8);
	size_t i;

	(void)state;
	assert_non_null(buf);
	for (i = 0; i < NELEM(lens); i++) {
		mic_tlv_writer w;
		mic_tlv t;
		size_t len, ln = mic_tlv_len_size(lens[i]);

		mic_tlv_writer_init(&w, buf, 2 + ln + lens[i]);
		mic_tlv_put(&w, 0x5F20, v, lens[i]);
		assert_int_equal(mic_tlv_writer_finish(&w, &len), MIC_OK);
		assert_int_equal(len, 2 + ln + lens[i]);
		assert_int_equal(buf[2], ln == 1 ? lens[i] : 0x80 + ln - 1);
		assert_int_equal(mic_tlv_parse(buf, len, &t), MIC_OK);
		assert_int_equal(t.len, lens[i]);
		assert_memory_equal(t.value, v, lens[i]);

		/* One byte less does not fit. */
		mic_tlv_writer_init(&w, buf, 2 + ln + lens[i] - 1);
		mic_tlv_put(&w, 0x5F20, v, lens[i]);
		check_fails(&w, MIC_ERR_BUFFER_TOO_SMALL);
	}
	free(buf);
	free(v);
}

static void
test_writer_put_known_lengths(void **state)
{
	uint8_t *v = pattern(256);
	uint8_t buf[300];
	mic_tlv_writer w;
	size_t len;

	(void)state;
	mic_tlv_writer_init(&w, buf, sizeof(buf));
	mic_tlv_put(&w, 0x53, v, 0x80);
	assert_int_equal(mic_tlv_writer_finish(&w, &len), MIC_OK);
	assert_memory_equal(buf, ((const uint8_t[]){ 0x53, 0x81, 0x80 }), 3);
	assert_memory_equal(buf + 3, v, 0x80);

	mic_tlv_writer_init(&w, buf, sizeof(buf));
	mic_tlv_put(&w, 0x53, v, 0x100);
	assert_int_equal(mic_tlv_writer_finish(&w, &len), MIC_OK);
	assert_int_equal(len, 4 + 0x100);
	assert_memory_equal(buf, ((const uint8_t[]){ 0x53, 0x82, 0x01, 0x00 }),
	    4);
	free(v);
}

static void
test_writer_put_uint(void **state)
{
	const uint8_t want[] = {
		0x9F, 0x36, 0x02, 0x12, 0x34,
		0x81, 0x04, 0x00, 0x00, 0x01, 0x02,
		0x82, 0x01, 0x00,
		0x83, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
		0x84, 0x01, 0xFF,
	};
	uint8_t buf[64];
	mic_tlv_writer w;

	(void)state;
	mic_tlv_writer_init(&w, buf, sizeof(buf));
	mic_tlv_put_uint(&w, 0x9F36, 0x1234, 2);
	mic_tlv_put_uint(&w, 0x81, 0x0102, 4);
	mic_tlv_put_uint(&w, 0x82, 0, 1);
	mic_tlv_put_uint(&w, 0x83, UINT64_MAX, 8);
	mic_tlv_put_uint(&w, 0x84, 0xFF, 1);
	check_finish(&w, want, sizeof(want));
}

static void
test_writer_put_uint_errors(void **state)
{
	uint8_t buf[64];
	mic_tlv_writer w;

	(void)state;
	mic_tlv_writer_init(&w, buf, sizeof(buf));
	mic_tlv_put_uint(&w, 0x81, 0x100, 1);
	check_fails(&w, MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(w.len, 0);
	mic_tlv_writer_init(&w, buf, sizeof(buf));
	mic_tlv_put_uint(&w, 0x81, 0, 0);
	check_fails(&w, MIC_ERR_INVALID_ARGUMENT);
	mic_tlv_writer_init(&w, buf, sizeof(buf));
	mic_tlv_put_uint(&w, 0x81, 1, 9);
	check_fails(&w, MIC_ERR_INVALID_ARGUMENT);
	mic_tlv_writer_init(&w, buf, sizeof(buf));
	mic_tlv_put_uint(&w, 0x1F, 1, 1);
	check_fails(&w, MIC_ERR_TLV_TAG);
	mic_tlv_writer_init(&w, buf, 4);
	mic_tlv_put_uint(&w, 0x81, 1, 4);
	check_fails(&w, MIC_ERR_BUFFER_TOO_SMALL);
}

static void
test_writer_nested(void **state)
{
	uint8_t buf[64];
	mic_tlv_writer w;

	(void)state;
	/* Rebuild the FCI from its parts. */
	mic_tlv_writer_init(&w, buf, sizeof(buf));
	mic_tlv_open(&w, 0x6F);
	mic_tlv_put(&w, 0x84, (const uint8_t *)"1PAY.SYS.DDF01", 14);
	mic_tlv_open(&w, 0xA5);
	mic_tlv_put_uint(&w, 0x88, 1, 1);
	mic_tlv_put(&w, 0x5F2D, (const uint8_t *)"en", 2);
	mic_tlv_close(&w);
	mic_tlv_close(&w);
	check_finish(&w, FCI, sizeof(FCI));
}

static void
test_writer_empty_constructed(void **state)
{
	const uint8_t want[] = { 0x6F, 0x00, 0x7F, 0x49, 0x00 };
	uint8_t buf[8];
	mic_tlv_writer w;

	(void)state;
	mic_tlv_writer_init(&w, buf, sizeof(buf));
	mic_tlv_open(&w, 0x6F);
	mic_tlv_close(&w);
	mic_tlv_open(&w, 0x7F49);
	mic_tlv_close(&w);
	check_finish(&w, want, sizeof(want));
}

/*
 * 70 { 5F20 "name", 7F49 { 86 (200 bytes) }, 53 01 }: the inner value
 * passes 127 bytes so both lengths grow and the values must move.
 */
static void
test_writer_nested_growth(void **state)
{
	uint8_t *pt = pattern(200);
	uint8_t want[3 + 7 + 4 + 3 + 200 + 3];
	const uint32_t path[] = { 0x70, 0x7F49, 0x86 };
	uint8_t buf[sizeof(want)];
	mic_tlv_writer w;
	mic_tlv t;
	size_t p = 0, len;

	(void)state;
	/* 70 81 D9: 7 + 207 + 3 = 217 bytes of value. */
	memcpy(want + p, ((const uint8_t[]){ 0x70, 0x81, 0xD9 }), 3);
	p += 3;
	memcpy(want + p, ((const uint8_t[]){ 0x5F, 0x20, 0x04, 'Z', 'H', 'A',
	    'O' }), 7);
	p += 7;
	memcpy(want + p, ((const uint8_t[]){ 0x7F, 0x49, 0x81, 0xCB }), 4);
	p += 4;
	memcpy(want + p, ((const uint8_t[]){ 0x86, 0x81, 0xC8 }), 3);
	p += 3;
	memcpy(want + p, pt, 200);
	p += 200;
	memcpy(want + p, ((const uint8_t[]){ 0x53, 0x01, 0x07 }), 3);
	p += 3;
	assert_int_equal(p, 3 + 7 + 4 + 3 + 200 + 3);

	mic_tlv_writer_init(&w, buf, p);
	mic_tlv_open(&w, 0x70);
	mic_tlv_put(&w, 0x5F20, (const uint8_t *)"ZHAO", 4);
	mic_tlv_open(&w, 0x7F49);
	mic_tlv_put(&w, 0x86, pt, 200);
	mic_tlv_close(&w);
	mic_tlv_put_uint(&w, 0x53, 7, 1);
	mic_tlv_close(&w);
	assert_int_equal(mic_tlv_writer_finish(&w, &len), MIC_OK);
	assert_int_equal(len, p);
	assert_memory_equal(buf, want, p);

	assert_int_equal(mic_tlv_validate(buf, len), MIC_OK);
	assert_int_equal(mic_tlv_find_path(buf, len, path, 3, &t), MIC_OK);
	assert_int_equal(t.len, 200);
	assert_memory_equal(t.value, pt, 200);
	free(pt);
}

static void
test_writer_growth_three_bytes(void **state)
{
	uint8_t *pt = pattern(300);
	uint8_t buf[5 + 4 + 4 + 300];
	mic_tlv_writer w;
	mic_tlv outer, inner;
	size_t len;

	(void)state;
	mic_tlv_writer_init(&w, buf, sizeof(buf));
	mic_tlv_open(&w, 0x7F4E);
	mic_tlv_put(&w, 0x5F29, pt, 1);
	mic_tlv_put(&w, 0x53, pt, 300);
	mic_tlv_close(&w);
	assert_int_equal(mic_tlv_writer_finish(&w, &len), MIC_OK);
	/* 7F4E 82 0134: 4 + 4 + 300 bytes inside. */
	assert_int_equal(len, 2 + 3 + 4 + 4 + 300);
	assert_memory_equal(buf, ((const uint8_t[]){ 0x7F, 0x4E, 0x82, 0x01,
	    0x34, 0x5F, 0x29, 0x01, pt[0], 0x53, 0x82, 0x01, 0x2C }), 13);
	assert_memory_equal(buf + 13, pt, 300);
	assert_int_equal(mic_tlv_parse(buf, len, &outer), MIC_OK);
	assert_int_equal(outer.len, 308);
	assert_int_equal(mic_tlv_find(outer.value, outer.len, 0x53, &inner),
	    MIC_OK);
	assert_memory_equal(inner.value, pt, 300);
	free(pt);
}

static void
test_writer_growth_no_room(void **state)
{
	uint8_t *pt = pattern(126);
	uint8_t buf[3 + 2 + 126];
	mic_tlv_writer w;

	(void)state;
	/* Room for 6F 00 and the 128-byte child, not for 6F 81 80. */
	mic_tlv_writer_init(&w, buf, sizeof(buf) - 1);
	mic_tlv_open(&w, 0x6F);
	mic_tlv_put(&w, 0x53, pt, 126);
	assert_int_equal(w.len, sizeof(buf) - 1);
	mic_tlv_close(&w);
	check_fails(&w, MIC_ERR_BUFFER_TOO_SMALL);

	/* Exactly enough room. */
	mic_tlv_writer_init(&w, buf, sizeof(buf));
	mic_tlv_open(&w, 0x6F);
	mic_tlv_put(&w, 0x53, pt, 126);
	mic_tlv_close(&w);
	assert_int_equal(w.err, MIC_OK);
	assert_int_equal(w.len, sizeof(buf));
	assert_memory_equal(buf, ((const uint8_t[]){ 0x6F, 0x81, 0x80, 0x53,
	    0x7E }), 5);
	assert_memory_equal(buf + 5, pt, 126);
	free(pt);
}

static void
test_writer_depth_limit(void **state)
{
	uint8_t buf[64];
	mic_tlv_writer w;
	size_t i, len;
	mic_tlv t;
	uint32_t path[MIC_TLV_MAX_DEPTH];

	(void)state;
	mic_tlv_writer_init(&w, buf, sizeof(buf));
	for (i = 0; i < MIC_TLV_MAX_DEPTH; i++)
		mic_tlv_open(&w, 0xA1 + (uint32_t)i);
	mic_tlv_put(&w, 0x84, (const uint8_t[]){ 0x42 }, 1);
	for (i = 0; i < MIC_TLV_MAX_DEPTH; i++)
		mic_tlv_close(&w);
	assert_int_equal(mic_tlv_writer_finish(&w, &len), MIC_OK);
	/* Whatever the writer can nest, the validator accepts. */
	assert_int_equal(mic_tlv_validate(buf, len), MIC_OK);
	for (i = 0; i < MIC_TLV_MAX_DEPTH; i++)
		path[i] = 0xA1 + (uint32_t)i;
	assert_int_equal(mic_tlv_find_path(buf, len, path, MIC_TLV_MAX_DEPTH,
	    &t), MIC_OK);
	assert_int_equal(t.len, 3);

	mic_tlv_writer_init(&w, buf, sizeof(buf));
	for (i = 0; i < MIC_TLV_MAX_DEPTH + 1; i++)
		mic_tlv_open(&w, 0xA1);
	assert_int_equal(w.depth, MIC_TLV_MAX_DEPTH);
	check_fails(&w, MIC_ERR_TLV_TOO_DEEP);
}

static void
test_writer_state_errors(void **state)
{
	uint8_t buf[16];
	mic_tlv_writer w;

	(void)state;
	mic_tlv_writer_init(&w, buf, sizeof(buf));
	mic_tlv_close(&w);
	check_fails(&w, MIC_ERR_STATE);

	mic_tlv_writer_init(&w, buf, sizeof(buf));
	mic_tlv_open(&w, 0x6F);
	mic_tlv_put(&w, 0x84, NULL, 0);
	check_fails(&w, MIC_ERR_STATE);
	/* Closing it afterwards makes the same writer finish cleanly. */
	mic_tlv_close(&w);
	check_finish(&w, ((const uint8_t[]){ 0x6F, 0x02, 0x84, 0x00 }), 4);
}

static void
test_writer_bad_tags(void **state)
{
	uint8_t buf[16];
	mic_tlv_writer w;

	(void)state;
	mic_tlv_writer_init(&w, buf, sizeof(buf));
	mic_tlv_put(&w, 0, NULL, 0);
	check_fails(&w, MIC_ERR_TLV_TAG);
	mic_tlv_writer_init(&w, buf, sizeof(buf));
	mic_tlv_put(&w, 0x1F1E, NULL, 0);
	check_fails(&w, MIC_ERR_TLV_TAG);
	/* A primitive tag cannot be opened. */
	mic_tlv_writer_init(&w, buf, sizeof(buf));
	mic_tlv_open(&w, 0x84);
	check_fails(&w, MIC_ERR_TLV_TAG);
	mic_tlv_writer_init(&w, buf, sizeof(buf));
	mic_tlv_open(&w, 0x5F20);
	check_fails(&w, MIC_ERR_TLV_TAG);
	mic_tlv_writer_init(&w, buf, sizeof(buf));
	mic_tlv_open(&w, 0);
	check_fails(&w, MIC_ERR_TLV_TAG);
	mic_tlv_writer_init(&w, buf, sizeof(buf));
	mic_tlv_open(&w, 0x7F1E);
	check_fails(&w, MIC_ERR_TLV_TAG);
	assert_int_equal(w.len, 0);
}

static void
test_writer_sticky(void **state)
{
	uint8_t buf[8];
	mic_tlv_writer w;

	(void)state;
	mic_tlv_writer_init(&w, buf, sizeof(buf));
	mic_tlv_put(&w, 0x84, (const uint8_t[]){ 1, 2, 3 }, 3);
	/* Too big: 2 + 4 > 3 bytes left. */
	mic_tlv_put(&w, 0x85, (const uint8_t[]){ 1, 2, 3, 4 }, 4);
	assert_int_equal(w.len, 5);
	/* Would fit, but the writer has failed already. */
	mic_tlv_put(&w, 0x86, NULL, 0);
	mic_tlv_open(&w, 0x6F);
	mic_tlv_close(&w);
	mic_tlv_put_uint(&w, 0x87, 1, 1);
	assert_int_equal(w.len, 5);
	assert_int_equal(w.depth, 0);
	check_fails(&w, MIC_ERR_BUFFER_TOO_SMALL);

	/* The first error wins over later, different ones. */
	mic_tlv_writer_init(&w, buf, sizeof(buf));
	mic_tlv_put(&w, 0x1F, NULL, 0);
	mic_tlv_close(&w);
	mic_tlv_put(&w, 0x84, NULL, 5);
	check_fails(&w, MIC_ERR_TLV_TAG);
}

static void
test_writer_null_args(void **state)
{
	uint8_t buf[8];
	mic_tlv_writer w;
	size_t len = 5;

	(void)state;
	mic_tlv_writer_init(NULL, buf, sizeof(buf));
	mic_tlv_put(NULL, 0x84, NULL, 0);
	mic_tlv_put_uint(NULL, 0x84, 0, 1);
	mic_tlv_open(NULL, 0x6F);
	mic_tlv_close(NULL);
	assert_int_equal(mic_tlv_writer_finish(NULL, &len),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(len, 0);

	mic_tlv_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(mic_tlv_writer_finish(&w, NULL),
	    MIC_ERR_INVALID_ARGUMENT);
	mic_tlv_put(&w, 0x84, NULL, 2);
	check_fails(&w, MIC_ERR_INVALID_ARGUMENT);

	/* No buffer: every byte is too many. */
	mic_tlv_writer_init(&w, NULL, 100);
	mic_tlv_put(&w, 0x84, NULL, 0);
	check_fails(&w, MIC_ERR_BUFFER_TOO_SMALL);
	mic_tlv_writer_init(&w, NULL, 0);
	assert_int_equal(mic_tlv_writer_finish(&w, &len), MIC_OK);
	assert_int_equal(len, 0);
}

static void
test_writer_value_too_long(void **state)
{
#if SIZE_MAX > UINT32_MAX
	uint8_t buf[8], v[1] = { 0 };
	mic_tlv_writer w;

	(void)state;
	/* The length field alone would need five bytes; nothing is read. */
	mic_tlv_writer_init(&w, buf, sizeof(buf));
	mic_tlv_put(&w, 0x84, v, (size_t)UINT32_MAX + 1);
	check_fails(&w, MIC_ERR_TLV_LENGTH);
#else
	(void)state;
	skip();
#endif
}

static void
test_writer_overlapping_value(void **state)
{
	const uint8_t want[] = { 0x84, 0x02, 0xAA, 0xBB, 0x85, 0x02, 0xAA,
	    0xBB };
	uint8_t buf[8];
	mic_tlv_writer w;

	(void)state;
	mic_tlv_writer_init(&w, buf, sizeof(buf));
	mic_tlv_put(&w, 0x84, (const uint8_t[]){ 0xAA, 0xBB }, 2);
	/* Copy a value out of the writer's own buffer. */
	mic_tlv_put(&w, 0x85, buf + 2, 2);
	check_finish(&w, want, sizeof(want));
}

/* Parse every object of a valid tree and write it back: same bytes. */
static void
rewrite(mic_tlv_writer *w, const uint8_t *buf, size_t len)
{
	mic_tlv_iter it;
	mic_tlv t;

	mic_tlv_iter_init(&it, buf, len);
	while (mic_tlv_next(&it, &t) == MIC_OK) {
		if (t.constructed) {
			mic_tlv_open(w, t.tag);
			rewrite(w, t.value, t.len);
			mic_tlv_close(w);
		} else
			mic_tlv_put(w, t.tag, t.value, t.len);
	}
	assert_int_equal(it.left, 0);
}

static void
test_writer_rewrite(void **state)
{
	uint8_t *pt = pattern(70000);
	uint8_t *src = malloc(80000), *dst = malloc(80000);
	mic_tlv_writer w;
	size_t n, m;

	(void)state;
	assert_non_null(src);
	assert_non_null(dst);
	/* Build something with every length form, then rewrite it. */
	mic_tlv_writer_init(&w, src, 80000);
	mic_tlv_open(&w, 0x70);
	mic_tlv_put(&w, 0x5A, pt, 10);
	mic_tlv_open(&w, 0x3F818001);
	mic_tlv_put(&w, 0x9F8100, pt, 0x80);
	mic_tlv_open(&w, 0xA5);
	mic_tlv_put(&w, 0x53, pt, 0x100);
	mic_tlv_close(&w);
	mic_tlv_close(&w);
	mic_tlv_put(&w, 0x5F20, pt, 65536);
	mic_tlv_close(&w);
	mic_tlv_put(&w, 0x84, pt, 3);
	assert_int_equal(mic_tlv_writer_finish(&w, &n), MIC_OK);
	assert_int_equal(mic_tlv_validate(src, n), MIC_OK);
	assert_memory_equal(src, ((const uint8_t[]){ 0x70, 0x83, 0x01, 0x01 }),
	    4);

	mic_tlv_writer_init(&w, dst, 80000);
	rewrite(&w, src, n);
	assert_int_equal(mic_tlv_writer_finish(&w, &m), MIC_OK);
	assert_int_equal(m, n);
	assert_memory_equal(dst, src, n);
	free(dst);
	free(src);
	free(pt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_primitive),
		cmocka_unit_test(test_parse_empty_value),
		cmocka_unit_test(test_parse_fci),
		cmocka_unit_test(test_parse_two_byte_tags),
		cmocka_unit_test(test_parse_multibyte_tags),
		cmocka_unit_test(test_parse_long_lengths),
		cmocka_unit_test(test_reject_empty_and_null),
		cmocka_unit_test(test_reject_tag),
		cmocka_unit_test(test_reject_tag_nonminimal),
		cmocka_unit_test(test_reject_truncated_tag),
		cmocka_unit_test(test_reject_truncated_length),
		cmocka_unit_test(test_reject_truncated_value),
		cmocka_unit_test(test_reject_indefinite),
		cmocka_unit_test(test_reject_length_too_long),
		cmocka_unit_test(test_reject_length_nonminimal),
		cmocka_unit_test(test_validate_sequence),
		cmocka_unit_test(test_validate_trailing),
		cmocka_unit_test(test_validate_nested_errors),
		cmocka_unit_test(test_validate_depth_limit),
		cmocka_unit_test(test_validate_depth_siblings),
		cmocka_unit_test(test_iter),
		cmocka_unit_test(test_iter_error_stays_put),
		cmocka_unit_test(test_iter_null),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_find_errors),
		cmocka_unit_test(test_find_path_errors),
		cmocka_unit_test(test_find_path_depth_limit),
		cmocka_unit_test(test_tag_size),
		cmocka_unit_test(test_len_size),
		cmocka_unit_test(test_writer_put),
		cmocka_unit_test(test_writer_put_long),
		cmocka_unit_test(test_writer_put_known_lengths),
		cmocka_unit_test(test_writer_put_uint),
		cmocka_unit_test(test_writer_put_uint_errors),
		cmocka_unit_test(test_writer_nested),
		cmocka_unit_test(test_writer_empty_constructed),
		cmocka_unit_test(test_writer_nested_growth),
		cmocka_unit_test(test_writer_growth_three_bytes),
		cmocka_unit_test(test_writer_growth_no_room),
		cmocka_unit_test(test_writer_depth_limit),
		cmocka_unit_test(test_writer_state_errors),
		cmocka_unit_test(test_writer_bad_tags),
		cmocka_unit_test(test_writer_sticky),
		cmocka_unit_test(test_writer_null_args),
		cmocka_unit_test(test_writer_value_too_long),
		cmocka_unit_test(test_writer_overlapping_value),
		cmocka_unit_test(test_writer_rewrite),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
