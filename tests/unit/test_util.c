/* ATR parsing, hex decoding and the mic apdu script format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "mic-tool.h"

/* T=1, historical bytes 80 73 00 00 C0: chaining and extended length. */
static const uint8_t atr_caps[] = { 0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0x00,
	0x00, 0xC0, 0x37 };

static void
atr_t1_caps(void **state)
{
	mici_atr_info info;

	(void)state;
	assert_int_equal(mici_atr_parse(atr_caps, sizeof(atr_caps), &info), MIC_OK);
	assert_true(info.protocol_t1);
	assert_true(info.chaining);
	assert_true(info.extended);
}

static void
atr_chaining_only(void **state)
{
	const uint8_t atr[] = { 0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0x00, 0x00,
		0x80, 0x77 };
	mici_atr_info info;

	(void)state;
	assert_int_equal(mici_atr_parse(atr, sizeof(atr), &info), MIC_OK);
	assert_true(info.chaining);
	assert_false(info.extended);
}

static void
atr_t0_no_tck(void **state)
{
	/* T=0 only: no TD, no TCK; TA1 present; historical "MIC". */
	const uint8_t atr[] = { 0x3B, 0x13, 0x11, 'M', 'I', 'C' };
	mici_atr_info info;

	(void)state;
	assert_int_equal(mici_atr_parse(atr, sizeof(atr), &info), MIC_OK);
	assert_false(info.protocol_t1);
	assert_false(info.extended);
}

static void
atr_rejects(void **state)
{
	uint8_t bad[sizeof(atr_caps)];
	mici_atr_info info;
	const uint8_t big[34] = { 0x3B };
	const uint8_t td_trunc[] = { 0x3B, 0x80 };
	const uint8_t hist_trunc[] = { 0x3B, 0x05, 0x80 };
	const uint8_t ctlv_over[] = { 0x3B, 0x02, 0x80, 0x75 };

	(void)state;
	memcpy(bad, atr_caps, sizeof(bad));
	bad[sizeof(bad) - 1] ^= 1; /* TCK */
	assert_int_equal(mici_atr_parse(bad, sizeof(bad), &info), MIC_ERR_RESPONSE);
	bad[sizeof(bad) - 1] ^= 1;
	bad[0] = 0x3C; /* TS */
	assert_int_equal(mici_atr_parse(bad, sizeof(bad), &info), MIC_ERR_RESPONSE);
	assert_int_equal(mici_atr_parse(big, sizeof(big), &info), MIC_ERR_RESPONSE);
	assert_int_equal(mici_atr_parse(td_trunc, sizeof(td_trunc), &info),
	    MIC_ERR_RESPONSE);
	assert_int_equal(mici_atr_parse(hist_trunc, sizeof(hist_trunc), &info),
	    MIC_ERR_RESPONSE);
	assert_int_equal(mici_atr_parse(ctlv_over, sizeof(ctlv_over), &info),
	    MIC_ERR_RESPONSE);
	assert_int_equal(mici_atr_parse(atr_caps, 1, &info), MIC_ERR_RESPONSE);
	assert_int_equal(mici_atr_parse(NULL, 3, &info), MIC_ERR_INVALID_ARGUMENT);
}

static void
hex_decode(void **state)
{
	uint8_t b[4];
	size_t n = 99;

	(void)state;
	assert_int_equal(mici_hex_decode("00 a4:0C\t7f", b, sizeof(b), &n), MIC_OK);
	assert_int_equal(n, 4);
	assert_memory_equal(b, "\x00\xA4\x0C\x7F", 4);
	assert_int_equal(mici_hex_decode("", b, sizeof(b), &n), MIC_OK);
	assert_int_equal(n, 0);
	assert_int_equal(mici_hex_decode("0", b, sizeof(b), &n),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mici_hex_decode("0 0", b, sizeof(b), &n),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mici_hex_decode("zz", b, sizeof(b), &n),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mici_hex_decode("0011223344", b, sizeof(b), &n),
	    MIC_ERR_BUFFER_TOO_SMALL);
}

static void
script_lines(void **state)
{
	static script_step st;
	const char *why = NULL;

	(void)state;
	assert_int_equal(script_parse_line("   \n", &st, &why), 0);
	assert_int_equal(script_parse_line("# 00 A4", &st, &why), 0);
	assert_int_equal(script_parse_line("  RESET \n", &st, &why), 1);
	assert_int_equal(st.kind, STEP_RESET);
	assert_int_equal(script_parse_line("00 B0 81 00 00\r\n", &st, &why), 1);
	assert_int_equal(st.kind, STEP_APDU);
	assert_int_equal(st.len, 5);
	assert_memory_equal(st.apdu, "\x00\xB0\x81\x00\x00", 5);
	why = NULL;
	assert_int_equal(script_parse_line("00 B0 81", &st, &why), -1);
	assert_non_null(why);
	why = NULL;
	assert_int_equal(script_parse_line("00 B0 8100 0", &st, &why), -1);
	assert_non_null(why);
	why = NULL;
	assert_int_equal(script_parse_line("send 00 B0", &st, &why), -1);
	assert_non_null(why);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(atr_t1_caps),
		cmocka_unit_test(atr_chaining_only),
		cmocka_unit_test(atr_t0_no_tck),
		cmocka_unit_test(atr_rejects),
		cmocka_unit_test(hex_decode),
		cmocka_unit_test(script_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
