/*
 * PC/SC part 10 secure PIN entry in the transport, against a fake reader:
 * the feature list and what it means, the exact PIN_VERIFY_STRUCTURE, and
 * the reader's answer carried back as a status word.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mic/tx.h>

#include "internal.h"

#define PAD_CODE 0x42330012u

struct reader {
	uint8_t features[64];
	size_t features_len;
	mic_rc features_rc;     /* instead of the list when not MIC_OK */
	unsigned asked;         /* GET_FEATURE_REQUEST calls */
	uint8_t sent[64];       /* the last VERIFY_PIN_DIRECT input */
	size_t sent_len;
	unsigned verifies;
	uint8_t answer[4];
	size_t answer_len;
	unsigned transmits, begins, ends;
};

static mic_rc
r_transmit(void *io, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
    size_t *rsp_len)
{
	struct reader *r = io;

	(void)cmd;
	(void)cmd_len;
	r->transmits++;
	rsp[0] = 0x90;
	rsp[1] = 0x00;
	*rsp_len = 2;
	return MIC_OK;
}

static mic_rc
r_begin(void *io)
{
	((struct reader *)io)->begins++;
	return MIC_OK;
}

static mic_rc
r_end(void *io)
{
	((struct reader *)io)->ends++;
	return MIC_OK;
}

static mic_rc
r_control(void *io, uint32_t code, const uint8_t *in, size_t in_len,
    uint8_t *out, size_t *out_len)
{
	struct reader *r = io;

	if (code == MIC_TX_CTL_GET_FEATURE_REQUEST) {
		r->asked++;
		if (r->features_rc != MIC_OK)
			return r->features_rc;
		assert_true(*out_len >= r->features_len);
		memcpy(out, r->features, r->features_len);
		*out_len = r->features_len;
		return MIC_OK;
	}
	assert_int_equal(code, PAD_CODE);
	assert_true(in_len <= sizeof(r->sent));
	memcpy(r->sent, in, in_len);
	r->sent_len = in_len;
	r->verifies++;
	assert_true(*out_len >= r->answer_len);
	memcpy(out, r->answer, r->answer_len);
	*out_len = r->answer_len;
	return MIC_OK;
}

static void
r_close(void *io)
{
	(void)io;
}

static const mic_tx_ops pad_ops = {
	.transmit = r_transmit,
	.begin = r_begin,
	.end = r_end,
	.close = r_close,
	.control = r_control,
};

/* A pcsc-lite CCID reader's list: VERIFY_PIN_START, _DIRECT, MODIFY_DIRECT. */
static const uint8_t with_pad[] = {
	0x01, 0x04, 0x42, 0x33, 0x00, 0x10,
	0x06, 0x04, 0x42, 0x33, 0x00, 0x12,
	0x07, 0x04, 0x42, 0x33, 0x00, 0x13,
};

static mic_tx_t *
open_reader(struct reader *r, const uint8_t *features, size_t len)
{
	mic_tx_t *tx = NULL;

	memset(r, 0, sizeof(*r));
	memcpy(r->features, features, len);
	r->features_len = len;
	r->answer[0] = 0x90;
	r->answer_len = 2;
	assert_int_equal(mic_tx_new(&tx, &pad_ops, r), MIC_OK);
	return tx;
}

static void
test_feature_find(void **state)
{
	static const uint8_t bad_len[] = { 0x06, 0x02, 0x42, 0x33 };
	static const uint8_t cut[] = { 0x06, 0x04, 0x42, 0x33, 0x00 };
	static const uint8_t tail[] = {
		0x06, 0x04, 0x42, 0x33, 0x00, 0x12, 0x07,
	};
	uint32_t code = 0;

	(void)state;
	assert_int_equal(mici_pcsc_feature_find(with_pad, sizeof(with_pad),
	    0x06, &code), MIC_OK);
	assert_int_equal(code, PAD_CODE);
	assert_int_equal(mici_pcsc_feature_find(with_pad, sizeof(with_pad),
	    0x0A, &code), MIC_ERR_NOT_FOUND);
	assert_int_equal(mici_pcsc_feature_find(NULL, 0, 0x06, &code),
	    MIC_ERR_NOT_FOUND);
	assert_int_equal(mici_pcsc_feature_find(bad_len, sizeof(bad_len),
	    0x06, &code), MIC_ERR_RESPONSE);
	assert_int_equal(mici_pcsc_feature_find(cut, sizeof(cut), 0x06,
	    &code), MIC_ERR_RESPONSE);
	/* Our tag first, then garbage: the list is still refused. */
	assert_int_equal(mici_pcsc_feature_find(tail, sizeof(tail), 0x06,
	    &code), MIC_ERR_RESPONSE);
}

/* Every byte of the structure, from PC/SC part 10 2.5.2 and CCID 1.1. */
static void
test_verify_structure(void **state)
{
	static const uint8_t want[] = {
		0x1E,             /* bTimerOut 30 s */
		0x00,             /* bTimerOut2 */
		0x41,             /* bmFormatString: bits, at bit 8, BCD */
		0x48,             /* bmPINBlockString: 4-bit length, 8 bytes */
		0x04,             /* bmPINLengthFormat: at bit 4 */
		0x0C, 0x06,       /* wPINMaxExtraDigit 0x060C, LE */
		0x02,             /* bEntryValidationCondition: OK key */
		0x01,             /* bNumberMessage */
		0x09, 0x04,       /* wLangId 0x0409 */
		0x00,             /* bMsgIndex */
		0x00, 0x00, 0x00, /* bTeoPrologue */
		0x0D, 0x00, 0x00, 0x00,  /* ulDataLength 13 */
		0x00, 0x20, 0x00, 0x81, 0x08,
		0x20, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	};
	uint8_t out[MICI_PINPAD_PVS_MAX];
	size_t len = 0;

	(void)state;
	assert_int_equal(mici_pinpad_verify_fmt2(0x81, 6, 12, 30, out,
	    sizeof(out), &len), MIC_OK);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(mici_pinpad_verify_fmt2(0x81, 6, 12, 30, out,
	    sizeof(want) - 1, &len), MIC_ERR_BUFFER_TOO_SMALL);
	assert_int_equal(mici_pinpad_verify_fmt2(0x81, 13, 12, 30, out,
	    sizeof(out), &len), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mici_pinpad_verify_fmt2(0x81, 0, 12, 30, out,
	    sizeof(out), &len), MIC_ERR_INVALID_ARGUMENT);
}

static void
test_has_pinpad(void **state)
{
	static const uint8_t no_pad[] = { 0x01, 0x04, 0x42, 0x33, 0x00, 0x10 };
	static const uint8_t broken[] = { 0x06, 0x05, 0x42, 0x33, 0x00, 0x12 };
	struct reader r;
	mic_tx_t *tx;

	(void)state;
	tx = open_reader(&r, with_pad, sizeof(with_pad));
	assert_int_equal(mic_tx_has_pinpad(tx), 1);
	assert_int_equal(mic_tx_has_pinpad(tx), 1);
	assert_int_equal(r.asked, 1);   /* asked once, then kept */
	mic_tx_free(&tx);

	tx = open_reader(&r, no_pad, sizeof(no_pad));
	assert_int_equal(mic_tx_has_pinpad(tx), 0);
	mic_tx_free(&tx);

	tx = open_reader(&r, broken, sizeof(broken));
	assert_int_equal(mic_tx_has_pinpad(tx), 0);
	mic_tx_free(&tx);

	/* A reader that knows no such request has no pad, for good. */
	tx = open_reader(&r, with_pad, sizeof(with_pad));
	r.features_rc = MIC_ERR_UNSUPPORTED;
	assert_int_equal(mic_tx_has_pinpad(tx), 0);
	r.features_rc = MIC_OK;
	assert_int_equal(mic_tx_has_pinpad(tx), 0);
	assert_int_equal(r.asked, 1);
	mic_tx_free(&tx);

	/* A card pulled says nothing of the reader: asked again. */
	tx = open_reader(&r, with_pad, sizeof(with_pad));
	r.features_rc = MIC_ERR_CARD_REMOVED;
	assert_int_equal(mic_tx_has_pinpad(tx), 0);
	r.features_rc = MIC_OK;
	assert_int_equal(mic_tx_has_pinpad(tx), 1);
	assert_int_equal(r.asked, 2);
	mic_tx_free(&tx);

	assert_int_equal(mic_tx_has_pinpad(NULL), 0);
}

static void
test_inproc_no_pad(void **state)
{
	mic_tx_t *tx = NULL;
	uint8_t pvs[MICI_PINPAD_PVS_MAX];
	uint16_t sw = 0;

	(void)state;
	assert_int_equal(mic_tx_new_inproc(&tx, r_transmit, NULL), MIC_OK);
	assert_int_equal(mic_tx_has_pinpad(tx), 0);
	memset(pvs, 0, sizeof(pvs));
	assert_int_equal(mici_tx_pinpad_verify(tx, pvs, sizeof(pvs), &sw),
	    MIC_ERR_UNSUPPORTED);
	mic_tx_free(&tx);
}

static void
test_pinpad_verify(void **state)
{
	uint8_t pvs[MICI_PINPAD_PVS_MAX];
	struct reader r;
	mic_tx_stats st;
	mic_tx_t *tx;
	uint16_t sw = 0;
	size_t len;

	(void)state;
	tx = open_reader(&r, with_pad, sizeof(with_pad));
	assert_int_equal(mici_pinpad_verify_fmt2(0x81, 6, 12, 30, pvs,
	    sizeof(pvs), &len), MIC_OK);
	r.answer[0] = 0x63;
	r.answer[1] = 0xC2;
	assert_int_equal(mici_tx_pinpad_verify(tx, pvs, len, &sw), MIC_OK);
	assert_int_equal(sw, 0x63C2);
	/* The structure reached the feature's code as it was built. */
	assert_int_equal(r.sent_len, len);
	assert_memory_equal(r.sent, pvs, len);
	/* In a transaction of its own; no APDU through transmit. */
	assert_int_equal(r.begins, 1);
	assert_int_equal(r.ends, 1);
	assert_int_equal(r.transmits, 0);
	mic_tx_get_stats(tx, &st);
	assert_int_equal(st.apdus, 1);

	/* Anything but a status word is refused. */
	r.answer_len = 3;
	assert_int_equal(mici_tx_pinpad_verify(tx, pvs, len, &sw),
	    MIC_ERR_RESPONSE);
	r.answer_len = 0;
	assert_int_equal(mici_tx_pinpad_verify(tx, pvs, len, &sw),
	    MIC_ERR_RESPONSE);
	assert_int_equal(r.begins, r.ends);
	mic_tx_free(&tx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_feature_find),
		cmocka_unit_test(test_verify_structure),
		cmocka_unit_test(test_has_pinpad),
		cmocka_unit_test(test_inproc_no_pad),
		cmocka_unit_test(test_pinpad_verify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
