/*
 * mic_strerror, mic_strerror_name, mic_sw_name and mic_sw_rc: every library
 * error, every named status word, the ISO 7816-4 interindustry table and
 * its ranges, and what falls outside them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <mic/err.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define RC(x) { x, #x }

static const struct {
	mic_rc rc;
	const char *name;
} lib_errors[] = {
	RC(MIC_ERR_INVALID_ARGUMENT), RC(MIC_ERR_NOMEM), RC(MIC_ERR_INTERNAL),
	RC(MIC_ERR_BUFFER_TOO_SMALL), RC(MIC_ERR_APDU_FORMAT),
	RC(MIC_ERR_APDU_TOO_LONG), RC(MIC_ERR_TLV_TRUNCATED),
	RC(MIC_ERR_TLV_INDEFINITE), RC(MIC_ERR_TLV_NONMINIMAL),
	RC(MIC_ERR_TLV_TAG), RC(MIC_ERR_TLV_TOO_DEEP), RC(MIC_ERR_TLV_LENGTH),
	RC(MIC_ERR_NOT_FOUND), RC(MIC_ERR_RESPONSE), RC(MIC_ERR_RETRY_LIMIT),
	RC(MIC_ERR_UNSUPPORTED), RC(MIC_ERR_NO_SERVICE), RC(MIC_ERR_NO_READER),
	RC(MIC_ERR_NO_CARD), RC(MIC_ERR_CARD_REMOVED),
	RC(MIC_ERR_SHARING_VIOLATION), RC(MIC_ERR_TIMEOUT),
	RC(MIC_ERR_CARD_RESET), RC(MIC_ERR_CARD_CHANGED), RC(MIC_ERR_PCSC),
	RC(MIC_ERR_TX), RC(MIC_ERR_TRANSACTION), RC(MIC_ERR_IO),
	RC(MIC_ERR_STATE), RC(MIC_ERR_IDNUM_LENGTH), RC(MIC_ERR_IDNUM_CHAR),
	RC(MIC_ERR_IDNUM_CHECK), RC(MIC_ERR_IDNUM_DATE), RC(MIC_ERR_IDNUM_FUTURE),
	RC(MIC_ERR_IDNUM_REGION), RC(MIC_ERR_CODE), RC(MIC_ERR_FORMAT),
	RC(MIC_ERR_DATE), RC(MIC_ERR_UTF8), RC(MIC_ERR_VALUE),
	RC(MIC_ERR_MISSING), RC(MIC_ERR_MISMATCH), RC(MIC_ERR_TEMPLATE),
	RC(MIC_ERR_SM_MAC), RC(MIC_ERR_SM_FORMAT), RC(MIC_ERR_SM_CLOSED),
	RC(MIC_ERR_SM_AUTH), RC(MIC_ERR_CRYPTO), RC(MIC_ERR_KEY_URI),
	RC(MIC_ERR_KEY_PERMISSIONS), RC(MIC_ERR_PKCS11),
	RC(MIC_ERR_PKCS11_IN_USE), RC(MIC_ERR_TOKEN_NO_PIN),
	RC(MIC_ERR_TOKEN_LOGIN), RC(MIC_ERR_EXISTS), RC(MIC_ERR_CERT_FORMAT),
	RC(MIC_ERR_CERT_UNTRUSTED), RC(MIC_ERR_CERT_CHAIN),
	RC(MIC_ERR_CERT_EXPIRED), RC(MIC_ERR_CERT_PURPOSE),
	RC(MIC_ERR_CERT_SUBJECT), RC(MIC_ERR_CARD_KEY_MISMATCH),
	RC(MIC_ERR_SOD_FORMAT), RC(MIC_ERR_SOD_SIGNATURE), RC(MIC_ERR_SOD_HASH),
	RC(MIC_ERR_SOD_CHIP), RC(MIC_ERR_SOD_NOT_COVERED),
	RC(MIC_ERR_BATCH_LINE), RC(MIC_ERR_JSON), RC(MIC_ERR_FIELD_UNKNOWN),
	RC(MIC_ERR_FIELD_TYPE), RC(MIC_ERR_DUPLICATE), RC(MIC_ERR_JOURNAL),
	RC(MIC_ERR_LIVE_CARD), RC(MIC_ERR_CANCELLED),
	RC(MIC_ERR_RECEIPT_FORMAT), RC(MIC_ERR_RECEIPT_SIGNATURE),
	RC(MIC_ERR_SETTLE_LINE), RC(MIC_ERR_CLONE), RC(MIC_ERR_COUNTER_GAP),
	RC(MIC_ERR_INSUFFICIENT_BALANCE), RC(MIC_ERR_CARD_NOT_ACTIVE),
	RC(MIC_ERR_CARD_BLOCKED), RC(MIC_ERR_CARD_TERMINATED),
	RC(MIC_ERR_PIN_WRONG), RC(MIC_ERR_PIN_BLOCKED),
	RC(MIC_ERR_PAYER_NOT_BOUND), RC(MIC_ERR_PAYER_MAY_NOT_PAY),
	RC(MIC_ERR_AMOUNT), RC(MIC_ERR_REFERENCE_REUSED),
}, sw_consts[] = {
	RC(MIC_SW_WARN_UNCHANGED), RC(MIC_SW_WARN_CORRUPTED),
	RC(MIC_SW_WARN_EOF), RC(MIC_SW_WARN_DEACTIVATED),
	RC(MIC_SW_WARN_TERMINATED), RC(MIC_SW_WARN_CHANGED),
	RC(MIC_SW_MEMORY_FAILURE), RC(MIC_SW_WRONG_LENGTH),
	RC(MIC_SW_CLA_FUNCTION), RC(MIC_SW_LOGICAL_CHANNEL),
	RC(MIC_SW_SM_UNSUPPORTED), RC(MIC_SW_LAST_CHAIN_EXPECTED),
	RC(MIC_SW_CHAINING_UNSUPPORTED), RC(MIC_SW_COMMAND_NOT_ALLOWED),
	RC(MIC_SW_INCOMPATIBLE_FILE), RC(MIC_SW_SECURITY_STATUS),
	RC(MIC_SW_AUTH_BLOCKED), RC(MIC_SW_DATA_INVALIDATED),
	RC(MIC_SW_CONDITIONS), RC(MIC_SW_NO_CURRENT_EF), RC(MIC_SW_SM_MISSING),
	RC(MIC_SW_SM_INCORRECT), RC(MIC_SW_WRONG_DATA),
	RC(MIC_SW_FUNC_UNSUPPORTED), RC(MIC_SW_FILE_NOT_FOUND),
	RC(MIC_SW_RECORD_NOT_FOUND), RC(MIC_SW_NOT_ENOUGH_MEMORY),
	RC(MIC_SW_WRONG_P1P2), RC(MIC_SW_NC_INCONSISTENT),
	RC(MIC_SW_REFDATA_NOT_FOUND), RC(MIC_SW_FILE_EXISTS),
	RC(MIC_SW_WRONG_P1P2_OFFSET), RC(MIC_SW_INS_UNSUPPORTED),
	RC(MIC_SW_CLA_UNSUPPORTED), RC(MIC_SW_UNKNOWN),
};

/* The exact status words of ISO 7816-4:2020 Tables 5 and 6. */
static const struct {
	uint16_t sw;
	const char *name;
} sw_exact[] = {
	{ 0x9000, "success" },
	{ 0x6200, "warning: no information given" },
	{ 0x6281, "part of returned data may be corrupted" },
	{ 0x6282, "end of file or record reached before reading Ne bytes" },
	{ 0x6283, "selected file deactivated" },
	{ 0x6284, "file control information not correctly formatted" },
	{ 0x6285, "selected file in termination state" },
	{ 0x6286, "no input data available from a sensor on the card" },
	{ 0x6287, "at least one referenced record is deactivated" },
	{ 0x6300, "warning: card state changed, no information given" },
	{ 0x6340, "unsuccessful comparison" },
	{ 0x6381, "file filled up by the last write" },
	{ 0x6400, "execution error, card state unchanged" },
	{ 0x6401, "immediate response required by the card" },
	{ 0x6481, "logical channel shared access denied" },
	{ 0x6482, "logical channel opening denied" },
	{ 0x6500, "execution error, card state changed" },
	{ 0x6581, "memory failure" },
	{ 0x6600, "security-related issue" },
	{ 0x6700, "wrong length" },
	{ 0x6800, "function in CLA not supported" },
	{ 0x6881, "logical channel not supported" },
	{ 0x6882, "secure messaging not supported" },
	{ 0x6883, "last command of the chain expected" },
	{ 0x6884, "command chaining not supported" },
	{ 0x6900, "command not allowed" },
	{ 0x6981, "command incompatible with file structure" },
	{ 0x6982, "security status not satisfied" },
	{ 0x6983, "authentication method blocked" },
	{ 0x6984, "reference data not usable" },
	{ 0x6985, "conditions of use not satisfied" },
	{ 0x6986, "command not allowed (no current EF)" },
	{ 0x6987, "expected secure messaging data objects missing" },
	{ 0x6988, "incorrect secure messaging data objects" },
	{ 0x6A00, "wrong parameters P1-P2" },
	{ 0x6A80, "incorrect parameters in the command data field" },
	{ 0x6A81, "function not supported" },
	{ 0x6A82, "file or application not found" },
	{ 0x6A83, "record not found" },
	{ 0x6A84, "not enough memory space in the file" },
	{ 0x6A85, "Nc inconsistent with TLV structure" },
	{ 0x6A86, "incorrect parameters P1-P2" },
	{ 0x6A87, "Nc inconsistent with parameters P1-P2" },
	{ 0x6A88, "referenced data or reference data not found" },
	{ 0x6A89, "file already exists" },
	{ 0x6A8A, "DF name already exists" },
	{ 0x6B00, "wrong parameters P1-P2 (e.g. offset outside the EF)" },
	{ 0x6D00, "instruction code not supported or invalid" },
	{ 0x6E00, "class not supported" },
	{ 0x6F00, "no precise diagnosis" },
};

#define UNKNOWN_SW "unknown status word"

static void
test_ok(void **state)
{
	(void)state;
	assert_string_equal(mic_strerror(MIC_OK), "success");
	assert_string_equal(mic_strerror_name(MIC_OK), "MIC_OK");
}

static void
test_library_errors(void **state)
{
	size_t i, j;

	(void)state;
	/* The table covers -1 .. -90 with no gap; the next is unknown. */
	assert_int_equal(NELEM(lib_errors), 90);
	assert_string_equal(mic_strerror((mic_rc)-91), "unknown error");
	for (i = 0; i < NELEM(lib_errors); i++) {
		const char *text = mic_strerror(lib_errors[i].rc);

		assert_int_equal(lib_errors[i].rc, -(int)(i + 1));
		assert_string_equal(mic_strerror_name(lib_errors[i].rc),
		    lib_errors[i].name);
		assert_non_null(text);
		assert_true(strlen(text) > 8);
		assert_string_not_equal(text, "unknown error");
		/* No two errors read the same. */
		for (j = 0; j < i; j++)
			assert_string_not_equal(text,
			    mic_strerror(lib_errors[j].rc));
	}
}

static void
test_library_error_texts(void **state)
{
	(void)state;
	assert_string_equal(mic_strerror(MIC_ERR_NO_SERVICE),
	    "the PC/SC service (pcscd) stopped or is not running");
	assert_string_equal(mic_strerror(MIC_ERR_CARD_REMOVED),
	    "the card was removed");
	assert_string_equal(mic_strerror(MIC_ERR_SHARING_VIOLATION),
	    "another application is using the card exclusively");
	assert_string_equal(mic_strerror(MIC_ERR_TLV_INDEFINITE),
	    "BER-TLV indefinite length is not allowed");
}

static void
test_unknown(void **state)
{
	static const int bad[] = { -91, -92, -1000, -0xFFFF, INT_MIN, 1, 2,
	    0xFFFF, 0x20000, 0x20000 | 0x9000, INT_MAX, -0x10000,
	    -(0x10000 | 0x6982) };
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(bad); i++) {
		assert_string_equal(mic_strerror((mic_rc)bad[i]),
		    "unknown error");
		assert_string_equal(mic_strerror_name((mic_rc)bad[i]),
		    "unknown error");
	}
}

static void
test_sw_constants(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(sw_consts); i++) {
		uint16_t sw = mic_rc_sw(sw_consts[i].rc);

		assert_true(mic_rc_is_sw(sw_consts[i].rc));
		assert_string_equal(mic_strerror_name(sw_consts[i].rc),
		    sw_consts[i].name);
		assert_string_equal(mic_strerror(sw_consts[i].rc),
		    mic_sw_name(sw));
		assert_string_not_equal(mic_sw_name(sw), UNKNOWN_SW);
		assert_int_equal(mic_sw_rc(sw), sw_consts[i].rc);
	}
	assert_string_equal(mic_strerror(MIC_SW_SECURITY_STATUS),
	    "security status not satisfied");
	assert_string_equal(mic_strerror(MIC_SW_WARN_TERMINATED),
	    "selected file in termination state");
	assert_string_equal(mic_strerror(MIC_SW_AUTH_BLOCKED),
	    "authentication method blocked");
}

static void
test_sw_unnamed(void **state)
{
	(void)state;
	assert_string_equal(mic_strerror_name(MIC_RC_SW(0x6A8A)), "MIC_RC_SW");
	assert_string_equal(mic_strerror_name(MIC_RC_SW(0x63C2)), "MIC_RC_SW");
	assert_string_equal(mic_strerror_name(MIC_RC_SW(0x6110)), "MIC_RC_SW");
	assert_string_equal(mic_strerror_name(MIC_RC_SW(0x9000)), "MIC_RC_SW");
	assert_string_equal(mic_strerror_name(MIC_RC_SW(0x9123)), "MIC_RC_SW");
	assert_string_equal(mic_strerror(MIC_RC_SW(0x63C2)),
	    "verification failed, 2 tries left");
	assert_string_equal(mic_strerror(MIC_RC_SW(0x6A8A)),
	    "DF name already exists");
	assert_string_equal(mic_strerror(MIC_RC_SW(0x6C10)),
	    "wrong Le field; SW2 gives the exact length");
	assert_string_equal(mic_strerror(MIC_RC_SW(0x9123)), UNKNOWN_SW);
}

static void
test_sw_rc(void **state)
{
	(void)state;
	assert_int_equal(mic_sw_rc(0x9000), MIC_OK);
	assert_int_equal(mic_sw_rc(0x6982), MIC_SW_SECURITY_STATUS);
	/* Warnings are not success. */
	assert_int_equal(mic_sw_rc(0x6283), MIC_SW_WARN_DEACTIVATED);
	assert_int_equal(mic_sw_rc(0x63C1), MIC_RC_SW(0x63C1));
	assert_int_equal(mic_sw_rc(0x6100), MIC_RC_SW(0x6100));
	assert_int_equal(mic_sw_rc(0x0000), MIC_RC_SW_BASE);
	assert_int_equal(mic_sw_rc(0xFFFF), MIC_RC_SW_BASE | 0xFFFF);
	assert_true(mic_rc_is_sw(mic_sw_rc(0x0000)));
	assert_int_equal(mic_rc_sw(mic_sw_rc(0x6A82)), 0x6A82);
	assert_int_equal(mic_rc_sw(MIC_ERR_PCSC), 0);
	assert_false(mic_rc_is_sw(MIC_OK));
	assert_false(mic_rc_is_sw(MIC_ERR_STATE));
}

static void
test_sw_exact(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(sw_exact); i++) {
		if (strcmp(mic_sw_name(sw_exact[i].sw), sw_exact[i].name) != 0)
			fail_msg("%04X: \"%s\", want \"%s\"",
			    (unsigned)sw_exact[i].sw,
			    mic_sw_name(sw_exact[i].sw), sw_exact[i].name);
	}
}

static void
test_sw_tries(void **state)
{
	char want[64];
	unsigned x;

	(void)state;
	for (x = 0; x < 16; x++) {
		if (x == 1)
			snprintf(want, sizeof(want),
			    "verification failed, 1 try left");
		else
			snprintf(want, sizeof(want),
			    "verification failed, %u tries left", x);
		assert_string_equal(mic_sw_name((uint16_t)(0x63C0 + x)), want);
		/* Static storage: the same pointer every time. */
		assert_ptr_equal(mic_sw_name((uint16_t)(0x63C0 + x)),
		    mic_sw_name((uint16_t)(0x63C0 + x)));
	}
	/* 63Bx and 63Dx are not counters. */
	assert_string_equal(mic_sw_name(0x63BF), "warning: card state changed");
	assert_string_equal(mic_sw_name(0x63D0), "warning: card state changed");
}

static void
test_sw_ranges(void **state)
{
	unsigned x;

	(void)state;
	for (x = 0; x <= 0xFF; x++) {
		assert_string_equal(mic_sw_name((uint16_t)(0x6100 | x)),
		    "response bytes still available");
		assert_string_equal(mic_sw_name((uint16_t)(0x6C00 | x)),
		    "wrong Le field; SW2 gives the exact length");
	}
	for (x = 0x02; x <= 0x80; x++) {
		assert_string_equal(mic_sw_name((uint16_t)(0x6200 | x)),
		    "warning: triggering by the card");
		assert_string_equal(mic_sw_name((uint16_t)(0x6400 | x)),
		    "execution error: triggering by the card");
	}
}

static void
test_sw_group_fallback(void **state)
{
	(void)state;
	/* An SW2 the standard leaves open still names its SW1 group. */
	assert_string_equal(mic_sw_name(0x6201),
	    "warning: card state unchanged");
	assert_string_equal(mic_sw_name(0x62FF),
	    "warning: card state unchanged");
	assert_string_equal(mic_sw_name(0x6301), "warning: card state changed");
	assert_string_equal(mic_sw_name(0x6499),
	    "execution error, card state unchanged");
	assert_string_equal(mic_sw_name(0x6582),
	    "execution error, card state changed");
	assert_string_equal(mic_sw_name(0x66FF), "security-related issue");
	assert_string_equal(mic_sw_name(0x6885),
	    "function in CLA not supported");
	assert_string_equal(mic_sw_name(0x6989), "command not allowed");
	assert_string_equal(mic_sw_name(0x6A8B), "wrong parameters P1-P2");
}

static void
test_sw_unknown(void **state)
{
	static const uint16_t bad[] = { 0x0000, 0x1234, 0x6000, 0x60FF,
	    0x6701, 0x67FF, 0x6B01, 0x6D01, 0x6E01, 0x6F01, 0x6FFF, 0x7000,
	    0x9001, 0x9100, 0x9FFF, 0xFFFF };
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(bad); i++) {
		if (strcmp(mic_sw_name(bad[i]), UNKNOWN_SW) != 0)
			fail_msg("%04X: \"%s\"", (unsigned)bad[i],
			    mic_sw_name(bad[i]));
	}
}

/* Outside SW1 61..6F and 9000 the standard defines nothing. */
static void
test_sw_exhaustive(void **state)
{
	unsigned sw;

	(void)state;
	for (sw = 0; sw <= 0xFFFF; sw++) {
		const char *n = mic_sw_name((uint16_t)sw);
		unsigned sw1 = sw >> 8;

		assert_non_null(n);
		assert_true(n[0] != '\0');
		if (sw != 0x9000 && (sw1 < 0x61 || sw1 > 0x6F))
			assert_string_equal(n, UNKNOWN_SW);
		assert_string_equal(mic_strerror(MIC_RC_SW(sw)), n);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok),
		cmocka_unit_test(test_library_errors),
		cmocka_unit_test(test_library_error_texts),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_sw_constants),
		cmocka_unit_test(test_sw_unnamed),
		cmocka_unit_test(test_sw_rc),
		cmocka_unit_test(test_sw_exact),
		cmocka_unit_test(test_sw_tries),
		cmocka_unit_test(test_sw_ranges),
		cmocka_unit_test(test_sw_group_fallback),
		cmocka_unit_test(test_sw_unknown),
		cmocka_unit_test(test_sw_exhaustive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
