/*
 * Command APDU codec: known answers for cases 1-4 in short and extended
 * form (ISO/IEC 7816-4:2020 clause 5.1), every length boundary, round trips
 * and every rejection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mic/apdu.h>

static const uint8_t DATA3[] = { 0xA0, 0x00, 0x01 };

static mic_apdu
mk(uint8_t ins, const uint8_t *data, size_t nc, size_t ne)
{
	mic_apdu a;

	memset(&a, 0, sizeof(a));
	a.cla = 0x00;
	a.ins = ins;
	a.p1 = 0x04;
	a.p2 = 0x0C;
	a.data = data;
	a.nc = nc;
	a.ne = ne;
	return a;
}

/* A buffer of n bytes whose content depends on the position. */
static uint8_t *
pattern(size_t n)
{
	uint8_t *p = malloc(n == 0 ? 1 : n);
	size_t i;

	assert_non_null(p);
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + 3);
	return p;
}

static void
assert_same_apdu(const mic_apdu *got, const mic_apdu *want)
{
	assert_int_equal(got->cla, want->cla);
	assert_int_equal(got->ins, want->ins);
	assert_int_equal(got->p1, want->p1);
	assert_int_equal(got->p2, want->p2);
	assert_int_equal(got->nc, want->nc);
	assert_int_equal(got->ne, want->ne);
	if (want->nc > 0)
		assert_memory_equal(got->data, want->data, want->nc);
	else
		assert_null(got->data);
}

/*
 * Encode into a buffer of exactly the expected size and compare bytes; one
 * byte less must fail; decoding the expected bytes must give the APDU back.
 */
static void
check_encoding(const mic_apdu *a, mic_apdu_form form, const uint8_t *want,
    size_t want_len, int want_ext)
{
	uint8_t *buf = malloc(want_len);
	mic_apdu dec;
	size_t len = 1234;

	assert_non_null(buf);
	assert_int_equal(mic_apdu_encode(a, form, buf, want_len, &len), MIC_OK);
	assert_int_equal(len, want_len);
	assert_memory_equal(buf, want, want_len);

	len = 1234;
	assert_int_equal(mic_apdu_encode(a, form, buf, want_len - 1, &len),
	    MIC_ERR_BUFFER_TOO_SMALL);
	assert_int_equal(len, 0);

	assert_int_equal(mic_apdu_decode(want, want_len, &dec), MIC_OK);
	assert_same_apdu(&dec, a);
	assert_int_equal(dec.flags, 0);
	if (a->nc > 0)
		assert_ptr_equal(dec.data, want + want_len - a->nc -
		    (a->ne == 0 ? 0 : want_ext ? 2 : 1));
	assert_int_equal(mic_apdu_is_extended(want, want_len), want_ext);
	free(buf);
}

static void
test_case_number(void **state)
{
	mic_apdu a;

	(void)state;
	a = mk(0xA4, NULL, 0, 0);
	assert_int_equal(mic_apdu_case(&a), 1);
	a = mk(0xB0, NULL, 0, 1);
	assert_int_equal(mic_apdu_case(&a), 2);
	a = mk(0xD6, DATA3, 3, 0);
	assert_int_equal(mic_apdu_case(&a), 3);
	a = mk(0xA4, DATA3, 3, 256);
	assert_int_equal(mic_apdu_case(&a), 4);
	a = mk(0xA4, DATA3, 65535, 65536);
	assert_int_equal(mic_apdu_case(&a), 4);
	assert_int_equal(mic_apdu_case(NULL), 0);
}

static void
test_needs_extended(void **state)
{
	mic_apdu a;

	(void)state;
	a = mk(0xA4, NULL, 0, 0);
	assert_false(mic_apdu_needs_extended(&a));
	a.nc = 255;
	a.ne = 256;
	assert_false(mic_apdu_needs_extended(&a));
	a.nc = 256;
	assert_true(mic_apdu_needs_extended(&a));
	a.nc = 255;
	a.ne = 257;
	assert_true(mic_apdu_needs_extended(&a));
	a.nc = 65535;
	a.ne = 0;
	assert_true(mic_apdu_needs_extended(&a));
	assert_false(mic_apdu_needs_extended(NULL));
}

static void
test_case1(void **state)
{
	const uint8_t want[] = { 0x00, 0xA4, 0x04, 0x0C };
	mic_apdu a = mk(0xA4, NULL, 0, 0);

	(void)state;
	a.cla = 0x00;
	check_encoding(&a, MIC_APDU_AUTO, want, sizeof(want), 0);
	check_encoding(&a, MIC_APDU_SHORT, want, sizeof(want), 0);
	/* Case 1 has no length field, so "extended" changes nothing. */
	check_encoding(&a, MIC_APDU_EXTENDED, want, sizeof(want), 0);
}

static void
test_case1_header_bytes(void **state)
{
	const uint8_t want[] = { 0x8C, 0xE2, 0xFF, 0x01 };
	mic_apdu a = mk(0xE2, NULL, 0, 0);

	(void)state;
	a.cla = 0x8C;
	a.p1 = 0xFF;
	a.p2 = 0x01;
	check_encoding(&a, MIC_APDU_AUTO, want, sizeof(want), 0);
}

static void
test_case2_short(void **state)
{
	const uint8_t le1[] = { 0x00, 0xB0, 0x04, 0x0C, 0x01 };
	const uint8_t le255[] = { 0x00, 0xB0, 0x04, 0x0C, 0xFF };
	const uint8_t le256[] = { 0x00, 0xB0, 0x04, 0x0C, 0x00 };
	mic_apdu a = mk(0xB0, NULL, 0, 1);

	(void)state;
	check_encoding(&a, MIC_APDU_AUTO, le1, sizeof(le1), 0);
	check_encoding(&a, MIC_APDU_SHORT, le1, sizeof(le1), 0);
	a.ne = 255;
	check_encoding(&a, MIC_APDU_AUTO, le255, sizeof(le255), 0);
	a.ne = 256;
	check_encoding(&a, MIC_APDU_AUTO, le256, sizeof(le256), 0);
	check_encoding(&a, MIC_APDU_SHORT, le256, sizeof(le256), 0);
}

static void
test_case2_extended(void **state)
{
	const uint8_t le1[] = { 0x00, 0xB0, 0x04, 0x0C, 0x00, 0x00, 0x01 };
	const uint8_t le256[] = { 0x00, 0xB0, 0x04, 0x0C, 0x00, 0x01, 0x00 };
	const uint8_t le257[] = { 0x00, 0xB0, 0x04, 0x0C, 0x00, 0x01, 0x01 };
	const uint8_t le65535[] = { 0x00, 0xB0, 0x04, 0x0C, 0x00, 0xFF, 0xFF };
	const uint8_t le65536[] = { 0x00, 0xB0, 0x04, 0x0C, 0x00, 0x00, 0x00 };
	mic_apdu a = mk(0xB0, NULL, 0, 1);

	(void)state;
	check_encoding(&a, MIC_APDU_EXTENDED, le1, sizeof(le1), 1);
	a.ne = 256;
	check_encoding(&a, MIC_APDU_EXTENDED, le256, sizeof(le256), 1);
	a.ne = 257;
	check_encoding(&a, MIC_APDU_AUTO, le257, sizeof(le257), 1);
	check_encoding(&a, MIC_APDU_EXTENDED, le257, sizeof(le257), 1);
	a.ne = 65535;
	check_encoding(&a, MIC_APDU_AUTO, le65535, sizeof(le65535), 1);
	a.ne = 65536;
	check_encoding(&a, MIC_APDU_AUTO, le65536, sizeof(le65536), 1);
	check_encoding(&a, MIC_APDU_EXTENDED, le65536, sizeof(le65536), 1);
}

static void
test_case3_short(void **state)
{
	const uint8_t want[] = { 0x00, 0xD6, 0x04, 0x0C, 0x03, 0xA0, 0x00,
	    0x01 };
	const uint8_t one[] = { 0x00, 0xD6, 0x04, 0x0C, 0x01, 0xA0 };
	uint8_t *data = pattern(255);
	uint8_t want255[4 + 1 + 255];
	mic_apdu a = mk(0xD6, DATA3, 3, 0);

	(void)state;
	check_encoding(&a, MIC_APDU_AUTO, want, sizeof(want), 0);
	check_encoding(&a, MIC_APDU_SHORT, want, sizeof(want), 0);
	a.nc = 1;
	check_encoding(&a, MIC_APDU_AUTO, one, sizeof(one), 0);

	memcpy(want255, (const uint8_t[]){ 0x00, 0xD6, 0x04, 0x0C, 0xFF }, 5);
	memcpy(want255 + 5, data, 255);
	a = mk(0xD6, data, 255, 0);
	check_encoding(&a, MIC_APDU_AUTO, want255, sizeof(want255), 0);
	free(data);
}

static void
test_case3_extended(void **state)
{
	const uint8_t want[] = { 0x00, 0xD6, 0x04, 0x0C, 0x00, 0x00, 0x03,
	    0xA0, 0x00, 0x01 };
	uint8_t *data = pattern(65535);
	uint8_t *want_big = malloc(4 + 3 + 65535);
	mic_apdu a = mk(0xD6, DATA3, 3, 0);

	(void)state;
	assert_non_null(want_big);
	check_encoding(&a, MIC_APDU_EXTENDED, want, sizeof(want), 1);

	/* Nc = 256: the first length that needs the extended form. */
	memcpy(want_big, (const uint8_t[]){ 0x00, 0xD6, 0x04, 0x0C, 0x00,
	    0x01, 0x00 }, 7);
	memcpy(want_big + 7, data, 256);
	a = mk(0xD6, data, 256, 0);
	check_encoding(&a, MIC_APDU_AUTO, want_big, 7 + 256, 1);

	memcpy(want_big, (const uint8_t[]){ 0x00, 0xD6, 0x04, 0x0C, 0x00,
	    0xFF, 0xFF }, 7);
	memcpy(want_big + 7, data, 65535);
	a = mk(0xD6, data, 65535, 0);
	check_encoding(&a, MIC_APDU_AUTO, want_big, 7 + 65535, 1);
	check_encoding(&a, MIC_APDU_EXTENDED, want_big, 7 + 65535, 1);
	free(want_big);
	free(data);
}

static void
test_case4_short(void **state)
{
	const uint8_t want[] = { 0x00, 0xA4, 0x04, 0x0C, 0x03, 0xA0, 0x00,
	    0x01, 0x00 };
	const uint8_t want_le1[] = { 0x00, 0xA4, 0x04, 0x0C, 0x03, 0xA0, 0x00,
	    0x01, 0x01 };
	uint8_t *data = pattern(255);
	uint8_t want255[4 + 1 + 255 + 1];
	mic_apdu a = mk(0xA4, DATA3, 3, 256);

	(void)state;
	check_encoding(&a, MIC_APDU_AUTO, want, sizeof(want), 0);
	check_encoding(&a, MIC_APDU_SHORT, want, sizeof(want), 0);
	a.ne = 1;
	check_encoding(&a, MIC_APDU_AUTO, want_le1, sizeof(want_le1), 0);

	want255[0] = 0x00;
	want255[1] = 0xA4;
	want255[2] = 0x04;
	want255[3] = 0x0C;
	want255[4] = 0xFF;
	memcpy(want255 + 5, data, 255);
	want255[5 + 255] = 0x00;
	a = mk(0xA4, data, 255, 256);
	check_encoding(&a, MIC_APDU_AUTO, want255, sizeof(want255), 0);
	free(data);
}

static void
test_case4_extended(void **state)
{
	const uint8_t want[] = { 0x00, 0xA4, 0x04, 0x0C, 0x00, 0x00, 0x03,
	    0xA0, 0x00, 0x01, 0x00, 0x01 };
	const uint8_t want_le257[] = { 0x00, 0xA4, 0x04, 0x0C, 0x00, 0x00,
	    0x03, 0xA0, 0x00, 0x01, 0x01, 0x01 };
	const uint8_t want_le65536[] = { 0x00, 0xA4, 0x04, 0x0C, 0x00, 0x00,
	    0x03, 0xA0, 0x00, 0x01, 0x00, 0x00 };
	uint8_t *data = pattern(65535);
	uint8_t *want_big = malloc(4 + 3 + 65535 + 2);
	mic_apdu a = mk(0xA4, DATA3, 3, 1);

	(void)state;
	assert_non_null(want_big);
	check_encoding(&a, MIC_APDU_EXTENDED, want, sizeof(want), 1);
	a.ne = 257;
	check_encoding(&a, MIC_APDU_AUTO, want_le257, sizeof(want_le257), 1);
	a.ne = 65536;
	check_encoding(&a, MIC_APDU_AUTO, want_le65536, sizeof(want_le65536),
	    1);

	/* Nc 256 forces the extended form for a small Ne as well. */
	memcpy(want_big, (const uint8_t[]){ 0x00, 0xA4, 0x04, 0x0C, 0x00,
	    0x01, 0x00 }, 7);
	memcpy(want_big + 7, data, 256);
	want_big[7 + 256] = 0x00;
	want_big[7 + 256 + 1] = 0x10;
	a = mk(0xA4, data, 256, 16);
	check_encoding(&a, MIC_APDU_AUTO, want_big, 7 + 256 + 2, 1);

	memcpy(want_big, (const uint8_t[]){ 0x00, 0xA4, 0x04, 0x0C, 0x00,
	    0xFF, 0xFF }, 7);
	memcpy(want_big + 7, data, 65535);
	want_big[7 + 65535] = 0x00;
	want_big[7 + 65535 + 1] = 0x00;
	a = mk(0xA4, data, 65535, 65536);
	check_encoding(&a, MIC_APDU_AUTO, want_big, 7 + 65535 + 2, 1);
	free(want_big);
	free(data);
}

static void
test_encode_null_args(void **state)
{
	mic_apdu a = mk(0xA4, DATA3, 3, 0);
	uint8_t buf[16];
	size_t len = 99;

	(void)state;
	assert_int_equal(mic_apdu_encode(NULL, MIC_APDU_AUTO, buf,
	    sizeof(buf), &len), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(len, 0);
	assert_int_equal(mic_apdu_encode(&a, MIC_APDU_AUTO, NULL,
	    sizeof(buf), &len), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_apdu_encode(&a, MIC_APDU_AUTO, buf,
	    sizeof(buf), NULL), MIC_ERR_INVALID_ARGUMENT);
	a.data = NULL;
	len = 99;
	assert_int_equal(mic_apdu_encode(&a, MIC_APDU_AUTO, buf,
	    sizeof(buf), &len), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(len, 0);
	/* No data is fine when there is nothing to send. */
	a.nc = 0;
	assert_int_equal(mic_apdu_encode(&a, MIC_APDU_AUTO, buf,
	    sizeof(buf), &len), MIC_OK);
	assert_int_equal(len, 4);
}

static void
test_encode_bad_form(void **state)
{
	mic_apdu a = mk(0xA4, NULL, 0, 0);
	uint8_t buf[16];
	size_t len = 99;

	(void)state;
	assert_int_equal(mic_apdu_encode(&a, (mic_apdu_form)3, buf,
	    sizeof(buf), &len), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(len, 0);
	assert_int_equal(mic_apdu_encode(&a, (mic_apdu_form)-1, buf,
	    sizeof(buf), &len), MIC_ERR_INVALID_ARGUMENT);
}

static void
test_encode_too_long(void **state)
{
	uint8_t *data = pattern(65536);
	uint8_t *buf = malloc(MIC_APDU_CMD_MAX + 16);
	mic_apdu a;
	size_t len = 99;

	(void)state;
	assert_non_null(buf);
	/* Beyond the extended limits nothing can encode it. */
	a = mk(0xD6, data, 65536, 0);
	assert_int_equal(mic_apdu_encode(&a, MIC_APDU_AUTO, buf,
	    MIC_APDU_CMD_MAX + 16, &len), MIC_ERR_APDU_TOO_LONG);
	assert_int_equal(len, 0);
	assert_int_equal(mic_apdu_encode(&a, MIC_APDU_EXTENDED, buf,
	    MIC_APDU_CMD_MAX + 16, &len), MIC_ERR_APDU_TOO_LONG);
	a = mk(0xB0, NULL, 0, 65537);
	assert_int_equal(mic_apdu_encode(&a, MIC_APDU_AUTO, buf,
	    MIC_APDU_CMD_MAX, &len), MIC_ERR_APDU_TOO_LONG);
	assert_int_equal(mic_apdu_encode(&a, MIC_APDU_EXTENDED, buf,
	    MIC_APDU_CMD_MAX, &len), MIC_ERR_APDU_TOO_LONG);
	a = mk(0xA4, data, 65535, 65537);
	assert_int_equal(mic_apdu_encode(&a, MIC_APDU_AUTO, buf,
	    MIC_APDU_CMD_MAX, &len), MIC_ERR_APDU_TOO_LONG);

	/* The short form stops at Nc 255 and Ne 256. */
	a = mk(0xD6, data, 256, 0);
	assert_int_equal(mic_apdu_encode(&a, MIC_APDU_SHORT, buf,
	    MIC_APDU_CMD_MAX, &len), MIC_ERR_APDU_TOO_LONG);
	a = mk(0xB0, NULL, 0, 257);
	assert_int_equal(mic_apdu_encode(&a, MIC_APDU_SHORT, buf,
	    MIC_APDU_CMD_MAX, &len), MIC_ERR_APDU_TOO_LONG);
	a = mk(0xA4, data, 255, 257);
	assert_int_equal(mic_apdu_encode(&a, MIC_APDU_SHORT, buf,
	    MIC_APDU_CMD_MAX, &len), MIC_ERR_APDU_TOO_LONG);
	a = mk(0xA4, data, 255, 256);
	assert_int_equal(mic_apdu_encode(&a, MIC_APDU_SHORT, buf,
	    MIC_APDU_CMD_MAX, &len), MIC_OK);
	assert_int_equal(len, 4 + 1 + 255 + 1);
	free(buf);
	free(data);
}

static void
test_encode_max_fits_cmd_max(void **state)
{
	uint8_t *data = pattern(65535);
	uint8_t *buf = malloc(MIC_APDU_CMD_MAX);
	mic_apdu a = mk(0xA4, data, 65535, 65536);
	size_t len = 0;

	(void)state;
	assert_non_null(buf);
	assert_int_equal(mic_apdu_encode(&a, MIC_APDU_AUTO, buf,
	    MIC_APDU_CMD_MAX, &len), MIC_OK);
	assert_int_equal(len, MIC_APDU_CMD_MAX);
	free(buf);
	free(data);
}

static void
test_encode_buffer_too_small(void **state)
{
	mic_apdu a = mk(0xA4, DATA3, 3, 256);
	uint8_t buf[16];
	size_t len = 99;

	(void)state;
	assert_int_equal(mic_apdu_encode(&a, MIC_APDU_AUTO, buf, 0, &len),
	    MIC_ERR_BUFFER_TOO_SMALL);
	assert_int_equal(len, 0);
	assert_int_equal(mic_apdu_encode(&a, MIC_APDU_AUTO, buf, 8, &len),
	    MIC_ERR_BUFFER_TOO_SMALL);
	assert_int_equal(mic_apdu_encode(&a, MIC_APDU_AUTO, buf, 9, &len),
	    MIC_OK);
	assert_int_equal(len, 9);
	assert_int_equal(mic_apdu_encode(&a, MIC_APDU_EXTENDED, buf, 11, &len),
	    MIC_ERR_BUFFER_TOO_SMALL);
	assert_int_equal(mic_apdu_encode(&a, MIC_APDU_EXTENDED, buf, 12, &len),
	    MIC_OK);
	assert_int_equal(len, 12);
}

static void
test_encode_ignores_flags(void **state)
{
	const uint8_t want[] = { 0x00, 0x20, 0x04, 0x0C, 0x03, 0xA0, 0x00,
	    0x01 };
	mic_apdu a = mk(0x20, DATA3, 3, 0);

	(void)state;
	a.flags = MIC_APDU_SENSITIVE;
	check_encoding(&a, MIC_APDU_AUTO, want, sizeof(want), 0);
}

static void
assert_decode_fails(const uint8_t *buf, size_t len)
{
	mic_apdu out;

	memset(&out, 0xA5, sizeof(out));
	assert_int_equal(mic_apdu_decode(buf, len, &out), MIC_ERR_APDU_FORMAT);
	/* A failed decode leaves nothing that could be mistaken for data. */
	assert_null(out.data);
	assert_int_equal(out.nc, 0);
	assert_int_equal(out.ne, 0);
}

static void
test_decode_null_args(void **state)
{
	const uint8_t b[] = { 0x00, 0xA4, 0x04, 0x00 };
	mic_apdu out;

	(void)state;
	assert_int_equal(mic_apdu_decode(NULL, 4, &out),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_apdu_decode(b, sizeof(b), NULL),
	    MIC_ERR_INVALID_ARGUMENT);
}

static void
test_decode_too_short(void **state)
{
	const uint8_t b[] = { 0x00, 0xA4, 0x04, 0x00 };

	(void)state;
	assert_decode_fails(b, 0);
	assert_decode_fails(b, 1);
	assert_decode_fails(b, 2);
	assert_decode_fails(b, 3);
}

static void
test_decode_short_inconsistent(void **state)
{
	/* Lc = 5 but only 2 data bytes follow. */
	const uint8_t lc_short[] = { 0x00, 0xD6, 0x00, 0x00, 0x05, 0x01,
	    0x02 };
	/* Lc = 1, one data byte, then two more: neither case 3 nor case 4. */
	const uint8_t lc_trail[] = { 0x00, 0xD6, 0x00, 0x00, 0x01, 0x01,
	    0x02, 0x03 };
	/* Lc = 2 with one data byte missing, so the "Le" is really data. */
	const uint8_t lc_one_short[] = { 0x00, 0xD6, 0x00, 0x00, 0x02, 0x01 };
	/* Lc = FF with only 10 bytes. */
	const uint8_t lc_ff[] = { 0x00, 0xD6, 0x00, 0x00, 0xFF, 1, 2, 3, 4,
	    5, 6, 7, 8, 9, 10 };

	(void)state;
	assert_decode_fails(lc_short, sizeof(lc_short));
	assert_decode_fails(lc_trail, sizeof(lc_trail));
	assert_decode_fails(lc_one_short, sizeof(lc_one_short));
	assert_decode_fails(lc_ff, sizeof(lc_ff));
}

static void
test_decode_short_lc_zero(void **state)
{
	/*
	 * A short Lc of 00 cannot exist: 00 after the header followed by
	 * more bytes is the extended marker, and these do not add up.
	 */
	const uint8_t b1[] = { 0x00, 0xD6, 0x00, 0x00, 0x00, 0xAA };
	const uint8_t b2[] = { 0x00, 0xD6, 0x00, 0x00, 0x00, 0xAA, 0xBB,
	    0xCC };
	const uint8_t b3[] = { 0x00, 0xD6, 0x00, 0x00, 0x00, 0x00 };

	(void)state;
	assert_decode_fails(b1, sizeof(b1));
	assert_decode_fails(b2, sizeof(b2));
	assert_decode_fails(b3, sizeof(b3));
}

static void
test_decode_extended_inconsistent(void **state)
{
	/* Extended Lc = 0003 with two data bytes. */
	const uint8_t short_data[] = { 0x00, 0xD6, 0x00, 0x00, 0x00, 0x00,
	    0x03, 0x01, 0x02 };
	/* Extended Lc = 0001, one data byte and one stray byte. */
	const uint8_t trail1[] = { 0x00, 0xD6, 0x00, 0x00, 0x00, 0x00, 0x01,
	    0xAA, 0x00 };
	/* Extended Lc = 0001, one data byte and a three-byte tail. */
	const uint8_t trail3[] = { 0x00, 0xD6, 0x00, 0x00, 0x00, 0x00, 0x01,
	    0xAA, 0x00, 0x00, 0x01 };
	/* Extended Lc = 0000 followed by bytes: no case means that. */
	const uint8_t lc0[] = { 0x00, 0xD6, 0x00, 0x00, 0x00, 0x00, 0x00,
	    0xAA };
	const uint8_t lc0_le[] = { 0x00, 0xD6, 0x00, 0x00, 0x00, 0x00, 0x00,
	    0x00, 0x01 };
	/* Extended case 2 with a trailing byte. */
	const uint8_t le_trail[] = { 0x00, 0xB0, 0x00, 0x00, 0x00, 0x01, 0x00,
	    0x00 };
	/* Extended marker and one byte of Le only. */
	const uint8_t le_cut[] = { 0x00, 0xB0, 0x00, 0x00, 0x00, 0x01 };
	/* Extended Lc = FFFF with a few bytes. */
	const uint8_t lc_ffff[] = { 0x00, 0xD6, 0x00, 0x00, 0x00, 0xFF, 0xFF,
	    1, 2, 3 };

	(void)state;
	assert_decode_fails(short_data, sizeof(short_data));
	assert_decode_fails(trail1, sizeof(trail1));
	assert_decode_fails(trail3, sizeof(trail3));
	assert_decode_fails(lc0, sizeof(lc0));
	assert_decode_fails(lc0_le, sizeof(lc0_le));
	assert_decode_fails(le_trail, sizeof(le_trail));
	assert_decode_fails(le_cut, sizeof(le_cut));
	assert_decode_fails(lc_ffff, sizeof(lc_ffff));
}

static void
test_decode_extended_one_missing(void **state)
{
	uint8_t *data = pattern(300);
	uint8_t *buf = malloc(4 + 3 + 300 + 2);
	mic_apdu a = mk(0xA4, data, 300, 300);
	size_t len, cut;

	(void)state;
	assert_non_null(buf);
	assert_int_equal(mic_apdu_encode(&a, MIC_APDU_AUTO, buf,
	    4 + 3 + 300 + 2, &len), MIC_OK);
	assert_int_equal(len, 4 + 3 + 300 + 2);
	/*
	 * Every truncation of a valid case 4E must be refused except three
	 * that happen to be other valid APDUs: 00 alone (case 2S, Ne 256),
	 * 00 01 2C (case 2E, Ne 300), and all but the Le field (case 3E).
	 */
	for (cut = 5; cut < len; cut++) {
		mic_apdu out;
		mic_rc rc = mic_apdu_decode(buf, cut, &out);

		if (cut == 5) {
			assert_int_equal(rc, MIC_OK);
			assert_int_equal(out.nc, 0);
			assert_int_equal(out.ne, 256);
		} else if (cut == 7) {
			assert_int_equal(rc, MIC_OK);
			assert_int_equal(out.nc, 0);
			assert_int_equal(out.ne, 300);
		} else if (cut == 4 + 3 + 300) {
			assert_int_equal(rc, MIC_OK);
			assert_int_equal(out.nc, 300);
			assert_int_equal(out.ne, 0);
		} else
			assert_int_equal(rc, MIC_ERR_APDU_FORMAT);
	}
	free(buf);
	free(data);
}

static void
test_decode_short_every_length(void **state)
{
	uint8_t buf[4 + 1 + 255 + 1 + 1];
	size_t lc, n;

	(void)state;
	memset(buf, 0x5A, sizeof(buf));
	buf[0] = 0x00;
	buf[1] = 0xD6;
	buf[2] = 0x00;
	buf[3] = 0x00;
	/* For each short Lc only bodies of exactly Lc+1 or Lc+2 bytes pass. */
	for (lc = 1; lc <= 255; lc++) {
		buf[4] = (uint8_t)lc;
		for (n = 6; n <= 4 + 1 + lc + 2; n++) {
			mic_apdu out;
			mic_rc rc = mic_apdu_decode(buf, n, &out);

			if (n == 5 + lc) {
				assert_int_equal(rc, MIC_OK);
				assert_int_equal(out.nc, lc);
				assert_int_equal(out.ne, 0);
				assert_ptr_equal(out.data, buf + 5);
			} else if (n == 6 + lc) {
				assert_int_equal(rc, MIC_OK);
				assert_int_equal(out.nc, lc);
				assert_int_equal(out.ne, 0x5A);
			} else
				assert_int_equal(rc, MIC_ERR_APDU_FORMAT);
		}
	}
}

static void
test_decode_fields(void **state)
{
	const uint8_t b[] = { 0x84, 0x82, 0x11, 0x22, 0x02, 0xDE, 0xAD, 0x7F };
	mic_apdu out;

	(void)state;
	assert_int_equal(mic_apdu_decode(b, sizeof(b), &out), MIC_OK);
	assert_int_equal(out.cla, 0x84);
	assert_int_equal(out.ins, 0x82);
	assert_int_equal(out.p1, 0x11);
	assert_int_equal(out.p2, 0x22);
	assert_int_equal(out.nc, 2);
	assert_ptr_equal(out.data, b + 5);
	assert_int_equal(out.ne, 0x7F);
	assert_int_equal(out.flags, 0);
	assert_int_equal(mic_apdu_case(&out), 4);
}

static void
test_is_extended(void **state)
{
	const uint8_t c1[] = { 0x00, 0xA4, 0x04, 0x00 };
	const uint8_t c2s[] = { 0x00, 0xB0, 0x00, 0x00, 0x00 };
	const uint8_t c2e[] = { 0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00 };
	const uint8_t c3s[] = { 0x00, 0xD6, 0x00, 0x00, 0x02, 0x00, 0x00 };
	const uint8_t c3e[] = { 0x00, 0xD6, 0x00, 0x00, 0x00, 0x00, 0x01,
	    0x00 };

	(void)state;
	assert_false(mic_apdu_is_extended(NULL, 7));
	assert_false(mic_apdu_is_extended(c1, sizeof(c1)));
	assert_false(mic_apdu_is_extended(c2s, sizeof(c2s)));
	assert_true(mic_apdu_is_extended(c2e, sizeof(c2e)));
	assert_false(mic_apdu_is_extended(c3s, sizeof(c3s)));
	assert_true(mic_apdu_is_extended(c3e, sizeof(c3e)));
}

/* Every Nc/Ne boundary in every form: encode, decode, compare. */
static void
test_round_trip(void **state)
{
	static const size_t ncs[] = { 0, 1, 2, 254, 255, 256, 257, 4096,
	    65534, 65535 };
	static const size_t nes[] = { 0, 1, 2, 255, 256, 257, 4096, 65535,
	    65536 };
	static const mic_apdu_form forms[] = { MIC_APDU_AUTO, MIC_APDU_SHORT,
	    MIC_APDU_EXTENDED };
	uint8_t *data = pattern(65535);
	uint8_t *buf = malloc(MIC_APDU_CMD_MAX);
	size_t i, j, k, ok = 0;

	(void)state;
	assert_non_null(buf);
	for (i = 0; i < sizeof(ncs) / sizeof(ncs[0]); i++)
	for (j = 0; j < sizeof(nes) / sizeof(nes[0]); j++)
	for (k = 0; k < sizeof(forms) / sizeof(forms[0]); k++) {
		mic_apdu a = mk(0xCB, data, ncs[i], nes[j]), out;
		int need_ext = ncs[i] > 255 || nes[j] > 256;
		int ext;
		size_t len;
		mic_rc rc;

		rc = mic_apdu_encode(&a, forms[k], buf, MIC_APDU_CMD_MAX,
		    &len);
		if (forms[k] == MIC_APDU_SHORT && need_ext) {
			assert_int_equal(rc, MIC_ERR_APDU_TOO_LONG);
			continue;
		}
		assert_int_equal(rc, MIC_OK);
		ext = (need_ext || forms[k] == MIC_APDU_EXTENDED) &&
		    (ncs[i] > 0 || nes[j] > 0);
		assert_int_equal(len, 4 + (ncs[i] ? (ext ? 3 : 1) + ncs[i] :
		    0) + (nes[j] ? (ext ? (ncs[i] ? 2 : 3) : 1) : 0));
		assert_int_equal(mic_apdu_is_extended(buf, len), ext);
		assert_int_equal(mic_apdu_decode(buf, len, &out), MIC_OK);
		assert_same_apdu(&out, &a);
		ok++;
	}
	assert_int_equal(ok, 10 * 9 * 2 + 5 * 5);
	free(buf);
	free(data);
}

static void
test_is_sensitive(void **state)
{
	mic_apdu a = { .cla = 0x00, .ins = 0xB0 };

	(void)state;
	assert_false(mic_apdu_is_sensitive(&a));
	assert_false(mic_apdu_is_sensitive(NULL));
	a.ins = 0x20;
	assert_true(mic_apdu_is_sensitive(&a));
	a.ins = 0x24;
	assert_true(mic_apdu_is_sensitive(&a));
	a.cla = 0x0C; /* under secure messaging it is still a PIN command */
	a.ins = 0x2C;
	assert_true(mic_apdu_is_sensitive(&a));
	a.ins = 0x21; /* VERIFY with BER-TLV data */
	assert_true(mic_apdu_is_sensitive(&a));
	a.ins = 0x22; /* MANAGE SECURITY ENVIRONMENT: no secret */
	assert_false(mic_apdu_is_sensitive(&a));
	a.ins = 0xE2;
	assert_false(mic_apdu_is_sensitive(&a));
	a.flags = MIC_APDU_SENSITIVE;
	assert_true(mic_apdu_is_sensitive(&a));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_case_number),
		cmocka_unit_test(test_needs_extended),
		cmocka_unit_test(test_case1),
		cmocka_unit_test(test_case1_header_bytes),
		cmocka_unit_test(test_case2_short),
		cmocka_unit_test(test_case2_extended),
		cmocka_unit_test(test_case3_short),
		cmocka_unit_test(test_case3_extended),
		cmocka_unit_test(test_case4_short),
		cmocka_unit_test(test_case4_extended),
		cmocka_unit_test(test_encode_null_args),
		cmocka_unit_test(test_encode_bad_form),
		cmocka_unit_test(test_encode_too_long),
		cmocka_unit_test(test_encode_max_fits_cmd_max),
		cmocka_unit_test(test_encode_buffer_too_small),
		cmocka_unit_test(test_encode_ignores_flags),
		cmocka_unit_test(test_decode_null_args),
		cmocka_unit_test(test_decode_too_short),
		cmocka_unit_test(test_decode_short_inconsistent),
		cmocka_unit_test(test_decode_short_lc_zero),
		cmocka_unit_test(test_decode_extended_inconsistent),
		cmocka_unit_test(test_decode_extended_one_missing),
		cmocka_unit_test(test_decode_short_every_length),
		cmocka_unit_test(test_decode_fields),
		cmocka_unit_test(test_is_extended),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_is_sensitive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
