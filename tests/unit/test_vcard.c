/*
 * The reference card engine: every command path, through the host transport
 * (mic_tx_new_inproc) where the host would normally drive it, and through
 * vc_card_transmit() directly where the test needs exact bytes on the wire
 * or input no host would send.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mic/apdu.h>
#include <mic/tx.h>

#include "internal.h"
#include "vcard.h"

#define SERIAL "TESTCARD01"
#define DATA_SIZE 1024

static const uint8_t AID[] = VC_MIC_AID;

/* FCP of DF.MIC (SELECT P2=04). */
static const uint8_t FCP_APP[] = {
	0x62, 0x15,
	0x82, 0x01, 0x38,
	0x83, 0x02, 0xDF, 0x01,
	0x84, 0x09, 0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01,
	0x8A, 0x01, 0x05,
};

/* EF.CARD: 66 { 80 "TESTCARD01" }, then zeros up to 128 bytes. */
static const uint8_t EF_CARD[] = {
	0x66, 0x0C, 0x80, 0x0A,
	'T', 'E', 'S', 'T', 'C', 'A', 'R', 'D', '0', '1',
};
#define CARD_SIZE 128

struct rsp {
	uint8_t buf[MIC_APDU_RSP_MAX];
	size_t len;       /* data only */
	uint16_t sw;
};

/* --- helpers ------------------------------------------------------------ */

static int
setup(void **state)
{
	vc_card *card = NULL;

	if (vc_card_new(&card, SERIAL, 0) != MIC_OK)
		return -1;
	*state = card;
	return 0;
}

static int
setup_t0(void **state)
{
	vc_card *card = NULL;

	if (vc_card_new(&card, SERIAL, VC_CARD_T0_QUIRKS) != MIC_OK)
		return -1;
	*state = card;
	return 0;
}

static int
teardown(void **state)
{
	vc_card *card = *state;

	vc_card_free(&card);
	assert_null(card);
	return 0;
}

/* One raw APDU with a response buffer of @p cap bytes. */
static void
raw_cap(vc_card *card, const uint8_t *cmd, size_t len, size_t cap,
    struct rsp *r)
{
	size_t n = cap;

	assert_true(cap <= sizeof(r->buf));
	memset(r->buf, 0xEE, sizeof(r->buf));
	assert_int_equal(vc_card_transmit(card, cmd, len, r->buf, &n), MIC_OK);
	assert_true(n >= 2);
	assert_true(n <= cap);
	r->len = n - 2;
	r->sw = mici_get_u16(r->buf + n - 2);
}

static void
raw(vc_card *card, const uint8_t *cmd, size_t len, struct rsp *r)
{
	raw_cap(card, cmd, len, sizeof(r->buf), r);
}

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ })
#define NBYTES(...) sizeof((const uint8_t[]){ __VA_ARGS__ })
/* Send the listed bytes as one APDU. */
#define RAW(card, r, ...) raw((card), BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__), (r))

/* Send an APDU, expect status word @p sw and no data. */
#define EXPECT_SW(card, want_sw, ...) do {                                   \
	struct rsp *r_ = malloc(sizeof(*r_));                           \
	assert_non_null(r_);                                            \
	RAW((card), r_, __VA_ARGS__);                                   \
	assert_int_equal(r_->sw, (want_sw));                            \
	assert_int_equal(r_->len, 0);                                   \
	free(r_);                                                       \
} while (0)

static struct rsp *
rsp_new(void)
{
	struct rsp *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	return r;
}

static void
select_app(vc_card *card)
{
	struct rsp *r = rsp_new();

	RAW(card, r, 0x00, 0xA4, 0x04, 0x0C, 0x09,
	    0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, 0);
	free(r);
}

static uint8_t
data_byte(size_t i)
{
	return (uint8_t)(i % 251);
}

static void
assert_data(const uint8_t *p, size_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(p[i], data_byte(off + i));
}

static mic_tx_t *
tx_new(vc_card *card, int extended)
{
	mic_tx_t *tx = NULL;
	mic_tx_caps caps;

	assert_int_equal(mic_tx_new_inproc(&tx, vc_card_transmit, card),
	    MIC_OK);
	mic_tx_get_caps(tx, &caps);
	caps.reader_extended = extended;
	caps.card_extended = extended;
	mic_tx_set_caps(tx, &caps);
	return tx;
}

static mic_apdu
apdu(uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data, size_t nc,
    size_t ne)
{
	mic_apdu a;

	memset(&a, 0, sizeof(a));
	a.ins = ins;
	a.p1 = p1;
	a.p2 = p2;
	a.data = data;
	a.nc = nc;
	a.ne = ne;
	return a;
}

/* --- card creation and arguments ---------------------------------------- */

static void
test_new_args(void **state)
{
	vc_card *card = NULL;
	char big[VC_SERIAL_MAX + 2];

	(void)state;
	assert_int_equal(vc_card_new(NULL, SERIAL, 0), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(vc_card_new(&card, NULL, 0), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(vc_card_new(&card, "", 0), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(vc_card_new(&card, "AB\nC", 0),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(vc_card_new(&card, SERIAL, 0x80),
	    MIC_ERR_INVALID_ARGUMENT);
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(vc_card_new(&card, big, 0), MIC_ERR_INVALID_ARGUMENT);
	big[VC_SERIAL_MAX] = '\0';
	assert_int_equal(vc_card_new(&card, big, 0), MIC_OK);
	vc_card_free(&card);
	vc_card_free(&card);   /* NULL-safe */
	vc_card_free(NULL);
}

static void
test_transmit_args(void **state)
{
	vc_card *card = *state;
	const uint8_t cmd[] = { 0x00, 0xB0, 0x81, 0x00, 0x00 };
	uint8_t rsp[4];
	size_t n = sizeof(rsp);

	assert_int_equal(vc_card_transmit(NULL, cmd, sizeof(cmd), rsp, &n),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(vc_card_transmit(card, NULL, 5, rsp, &n),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(vc_card_transmit(card, cmd, sizeof(cmd), NULL, &n),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(vc_card_transmit(card, cmd, sizeof(cmd), rsp, NULL),
	    MIC_ERR_INVALID_ARGUMENT);
	n = 1;
	assert_int_equal(vc_card_transmit(card, cmd, sizeof(cmd), rsp, &n),
	    MIC_ERR_BUFFER_TOO_SMALL);
	select_app(card);
	/* Exactly room for a SW: the data waits for GET RESPONSE. */
	n = 2;
	assert_int_equal(vc_card_transmit(card, cmd, sizeof(cmd), rsp, &n),
	    MIC_OK);
	assert_int_equal(n, 2);
	assert_int_equal(mici_get_u16(rsp), 0x6180);
}

/* --- ATR ---------------------------------------------------------------- */

static void
test_atr(void **state)
{
	static const uint8_t want[] = {
		0x3B, 0x87, 0x81, 0x31, 0xFE, 0x45,
		0x80, 0x73, 0xD4, 0x21, 0xC0, 0x81, 0x05, 0xCE,
	};
	vc_card *card = *state;
	uint8_t atr[VC_ATR_MAX];
	mici_atr_info info;
	uint8_t x = 0;
	size_t n;

	n = vc_card_atr(card, atr, sizeof(atr));
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(atr, want, sizeof(want));
	/* TCK: T0 through TCK exclusive-ors to zero. */
	for (size_t i = 1; i < n; i++)
		x ^= atr[i];
	assert_int_equal(x, 0);
	/* Historical bytes: K = 7 from T0, after TS T0 TD1 TD2 TA3 TB3. */
	assert_int_equal(atr[1] & 0x0F, 7);
	assert_int_equal(atr[6], 0x80);
	assert_int_equal(atr[7], 0x73);
	assert_int_equal(atr[10] & 0xC0, 0xC0);   /* chaining, extended */
	/* And the host's own parser agrees. */
	assert_int_equal(mici_atr_parse(atr, n, &info), MIC_OK);
	assert_true(info.protocol_t1);
	assert_true(info.chaining);
	assert_true(info.extended);
	/* Too small a buffer gives nothing rather than a cut ATR. */
	assert_int_equal(vc_card_atr(card, atr, 13), 0);
	assert_int_equal(vc_card_atr(NULL, atr, sizeof(atr)), 0);
}

/* --- SELECT ------------------------------------------------------------- */

static void
test_select_aid_fci(void **state)
{
	vc_card *card = *state;
	mic_tx_t *tx = tx_new(card, 0);
	mic_apdu a = apdu(0xA4, 0x04, 0x00, AID, sizeof(AID), 256);
	uint8_t buf[256];
	size_t n = 0;
	uint16_t sw = 0;

	assert_int_equal(mic_tx_transmit(tx, &a, buf, sizeof(buf), &n, &sw),
	    MIC_OK);
	assert_int_equal(sw, 0x9000);
	/* FCI: 6F with the FCP data objects directly inside. */
	assert_int_equal(n, sizeof(FCP_APP));
	assert_int_equal(buf[0], 0x6F);
	assert_memory_equal(buf + 1, FCP_APP + 1, sizeof(FCP_APP) - 1);
	mic_tx_free(&tx);
}

static void
test_select_aid_fcp_fmd_none(void **state)
{
	vc_card *card = *state;
	struct rsp *r = rsp_new();

	RAW(card, r, 0x00, 0xA4, 0x04, 0x04, 0x09,
	    0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, sizeof(FCP_APP));
	assert_memory_equal(r->buf, FCP_APP, sizeof(FCP_APP));

	RAW(card, r, 0x00, 0xA4, 0x04, 0x08, 0x09,
	    0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, 13);
	assert_memory_equal(r->buf, BYTES(0x64, 0x0B, 0x84, 0x09), 4);
	assert_memory_equal(r->buf + 4, AID, sizeof(AID));

	/* P2=0C: no data even when Le asks for it. */
	RAW(card, r, 0x00, 0xA4, 0x04, 0x0C, 0x09,
	    0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, 0);

	/* P2=04 without Le (case 3): no data is expected, none is sent. */
	RAW(card, r, 0x00, 0xA4, 0x04, 0x04, 0x09,
	    0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, 0);
	free(r);
}

static void
test_select_aid_partial_next(void **state)
{
	vc_card *card = *state;
	struct rsp *r = rsp_new();

	/* Right-truncated DF name: the RID alone finds the application. */
	RAW(card, r, 0x00, 0xA4, 0x04, 0x04, 0x05,
	    0xD1, 0x56, 0x00, 0x00, 0x01, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_memory_equal(r->buf, FCP_APP, sizeof(FCP_APP));
	/* Next occurrence: there is only one. */
	EXPECT_SW(card, 0x6A82, 0x00, 0xA4, 0x04, 0x02, 0x05,
	    0xD1, 0x56, 0x00, 0x00, 0x01);
	/* Last and previous occurrence are not offered. */
	EXPECT_SW(card, 0x6A86, 0x00, 0xA4, 0x04, 0x01, 0x05,
	    0xD1, 0x56, 0x00, 0x00, 0x01);
	EXPECT_SW(card, 0x6A86, 0x00, 0xA4, 0x04, 0x03, 0x05,
	    0xD1, 0x56, 0x00, 0x00, 0x01);
	free(r);
}

static void
test_select_not_found(void **state)
{
	vc_card *card = *state;
	struct rsp *r = rsp_new();

	/* A longer name than the AID, a different one, an unknown FID. */
	EXPECT_SW(card, 0x6A82, 0x00, 0xA4, 0x04, 0x00, 0x0A,
	    0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01, 0x02);
	EXPECT_SW(card, 0x6A82, 0x00, 0xA4, 0x04, 0x00, 0x07,
	    0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10);
	EXPECT_SW(card, 0x6A82, 0x00, 0xA4, 0x00, 0x0C, 0x02, 0x12, 0x34);
	/* EF.CARD is not visible from the MF. */
	EXPECT_SW(card, 0x6A82, 0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x01);
	/* MF has no parent. */
	EXPECT_SW(card, 0x6A82, 0x00, 0xA4, 0x03, 0x0C);

	/* A failed SELECT leaves the current EF alone. */
	select_app(card);
	EXPECT_SW(card, 0x9000, 0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x02);
	EXPECT_SW(card, 0x6A82, 0x00, 0xA4, 0x00, 0x0C, 0x02, 0x77, 0x77);
	RAW(card, r, 0x00, 0xB0, 0x00, 0x00, 0x04);
	assert_int_equal(r->sw, 0x9000);
	assert_data(r->buf, 0, 4);
	free(r);
}

static void
test_select_fid(void **state)
{
	vc_card *card = *state;
	struct rsp *r = rsp_new();
	static const uint8_t fcp_dir[] = {
		0x62, 0x11, 0x82, 0x01, 0x01, 0x83, 0x02, 0x2F, 0x00,
		0x80, 0x02, 0x00, 0x12, 0x88, 0x01, 0xF0, 0x8A, 0x01, 0x05,
	};
	static const uint8_t fcp_log[] = {
		0x62, 0x15, 0x82, 0x05, 0x06, 0x21, 0x00, 0x30, 0x1E,
		0x83, 0x02, 0x01, 0x09, 0x80, 0x02, 0x05, 0xA0,
		0x88, 0x01, 0x48, 0x8A, 0x01, 0x05,
	};

	/* No data: the MF. Then 3F00 explicitly, with its FCP. */
	EXPECT_SW(card, 0x9000, 0x00, 0xA4, 0x00, 0x0C);
	RAW(card, r, 0x00, 0xA4, 0x00, 0x04, 0x02, 0x3F, 0x00, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_memory_equal(r->buf,
	    BYTES(0x62, 0x0A, 0x82, 0x01, 0x38, 0x83, 0x02, 0x3F, 0x00,
	    0x8A, 0x01, 0x05), 12);
	assert_int_equal(r->len, 12);

	/* EF.DIR by FID: transparent, 18 bytes, SFI 30. */
	RAW(card, r, 0x00, 0xA4, 0x00, 0x04, 0x02, 0x2F, 0x00, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, sizeof(fcp_dir));
	assert_memory_equal(r->buf, fcp_dir, sizeof(fcp_dir));
	RAW(card, r, 0x00, 0xB0, 0x00, 0x00, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, 18);
	assert_memory_equal(r->buf, BYTES(0x61, 0x10, 0x4F, 0x09), 4);
	assert_memory_equal(r->buf + 4, AID, sizeof(AID));
	assert_memory_equal(r->buf + 13, BYTES(0x50, 0x03, 'M', 'I', 'C'), 5);

	/* The application DF as a child DF (P1=01), then an EF in it. */
	EXPECT_SW(card, 0x9000, 0x00, 0xA4, 0x01, 0x0C, 0x02, 0xDF, 0x01);
	EXPECT_SW(card, 0x6A82, 0x00, 0xA4, 0x01, 0x0C, 0x02, 0x01, 0x02);
	EXPECT_SW(card, 0x9000, 0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x02);
	RAW(card, r, 0x00, 0xB0, 0x00, 0x10, 0x08);
	assert_int_equal(r->sw, 0x9000);
	assert_data(r->buf, 0x10, 8);

	/* A sibling EF by P1=00, the record EF's descriptor. */
	RAW(card, r, 0x00, 0xA4, 0x00, 0x04, 0x02, 0x01, 0x09, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, sizeof(fcp_log));
	assert_memory_equal(r->buf, fcp_log, sizeof(fcp_log));

	/* P1=00 finds the parent DF and its siblings too. */
	EXPECT_SW(card, 0x9000, 0x00, 0xA4, 0x00, 0x0C, 0x02, 0xDF, 0x01);
	EXPECT_SW(card, 0x9000, 0x00, 0xA4, 0x00, 0x0C, 0x02, 0x2F, 0x00);
	/* Parent of DF.MIC is the MF. */
	EXPECT_SW(card, 0x9000, 0x00, 0xA4, 0x00, 0x0C, 0x02, 0xDF, 0x01);
	EXPECT_SW(card, 0x9000, 0x00, 0xA4, 0x03, 0x0C);
	EXPECT_SW(card, 0x6986, 0x00, 0xB0, 0x00, 0x00, 0x01);
	EXPECT_SW(card, 0x9000, 0x00, 0xA4, 0x02, 0x0C, 0x02, 0x2F, 0x00);
	free(r);
}

static void
test_select_bad_params(void **state)
{
	vc_card *card = *state;

	EXPECT_SW(card, 0x6A86, 0x00, 0xA4, 0x05, 0x0C, 0x02, 0x3F, 0x00);
	EXPECT_SW(card, 0x6A86, 0x00, 0xA4, 0x08, 0x0C, 0x02, 0x3F, 0x00);
	EXPECT_SW(card, 0x6A86, 0x00, 0xA4, 0x00, 0x1C, 0x02, 0x3F, 0x00);
	EXPECT_SW(card, 0x6A86, 0x00, 0xA4, 0x00, 0x0E, 0x02, 0x3F, 0x00);
	EXPECT_SW(card, 0x6A86, 0x00, 0xA4, 0x00, 0x02, 0x02, 0x3F, 0x00);
	/* Wrong Nc for the selection method. */
	EXPECT_SW(card, 0x6700, 0x00, 0xA4, 0x00, 0x0C, 0x01, 0x3F);
	EXPECT_SW(card, 0x6700, 0x00, 0xA4, 0x00, 0x0C, 0x03, 0x3F, 0x00, 0x00);
	EXPECT_SW(card, 0x6700, 0x00, 0xA4, 0x01, 0x0C);
	EXPECT_SW(card, 0x6700, 0x00, 0xA4, 0x02, 0x0C, 0x01, 0x00);
	EXPECT_SW(card, 0x6700, 0x00, 0xA4, 0x03, 0x0C, 0x02, 0x3F, 0x00);
	EXPECT_SW(card, 0x6700, 0x00, 0xA4, 0x04, 0x00);
	EXPECT_SW(card, 0x6700, 0x00, 0xA4, 0x04, 0x00, 0x11,
	    0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01,
	    0, 0, 0, 0, 0, 0, 0, 0);
}

/* --- READ BINARY -------------------------------------------------------- */

static void
test_read_sfi_and_current(void **state)
{
	vc_card *card = *state;
	mic_tx_t *tx = tx_new(card, 0);
	mic_apdu a = apdu(0xB0, 0x81, 0x00, NULL, 0, 256);
	uint8_t buf[256];
	size_t n = 0;
	uint16_t sw = 0;
	struct rsp *r = rsp_new();

	select_app(card);
	assert_int_equal(mic_tx_transmit(tx, &a, buf, sizeof(buf), &n, &sw),
	    MIC_OK);
	assert_int_equal(sw, 0x9000);
	assert_int_equal(n, CARD_SIZE);
	assert_memory_equal(buf, EF_CARD, sizeof(EF_CARD));
	for (size_t i = sizeof(EF_CARD); i < CARD_SIZE; i++)
		assert_int_equal(buf[i], 0x00);

	/* Reading by SFI made EF.CARD current: offsets on it now. */
	RAW(card, r, 0x00, 0xB0, 0x00, 0x04, 0x04);
	assert_int_equal(r->sw, 0x9000);
	assert_memory_equal(r->buf, "TEST", 4);

	/* SFI offset in P2, up to 255. */
	RAW(card, r, 0x00, 0xB0, 0x82, 0xFF, 0x10);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, 16);
	assert_data(r->buf, 255, 16);

	/* 15-bit offsets beyond 255 on the (now) current EF.DATA. */
	RAW(card, r, 0x00, 0xB0, 0x01, 0x00, 0x10);
	assert_int_equal(r->sw, 0x9000);
	assert_data(r->buf, 256, 16);
	RAW(card, r, 0x00, 0xB0, 0x03, 0xF0, 0x10);
	assert_int_equal(r->sw, 0x9000);
	assert_data(r->buf, 0x3F0, 16);

	/* The whole 1 KiB in short APDUs through the host. */
	for (size_t off = 0; off < DATA_SIZE; off += 256) {
		a = apdu(0xB0, (uint8_t)(off >> 8), (uint8_t)off, NULL, 0, 256);
		assert_int_equal(mic_tx_transmit(tx, &a, buf, sizeof(buf), &n,
		    &sw), MIC_OK);
		assert_int_equal(sw, 0x9000);
		assert_int_equal(n, 256);
		assert_data(buf, off, 256);
	}
	mic_tx_free(&tx);
	free(r);
}

static void
test_read_beyond(void **state)
{
	vc_card *card = *state;
	struct rsp *r = rsp_new();

	select_app(card);
	RAW(card, r, 0x00, 0xB0, 0x82, 0x00, 0x01);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, 1);
	/* Offset at and beyond the end of EF.DATA. */
	EXPECT_SW(card, 0x6B00, 0x00, 0xB0, 0x04, 0x00, 0x01);
	EXPECT_SW(card, 0x6B00, 0x00, 0xB0, 0x7F, 0xFF, 0x01);
	/* EF.CARD by SFI: offset 128 is its size. */
	EXPECT_SW(card, 0x6B00, 0x00, 0xB0, 0x81, 0x80, 0x01);
	RAW(card, r, 0x00, 0xB0, 0x81, 0x7F, 0x01);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, 1);

	/* An explicit Le past the end: what there is, and 6282. */
	RAW(card, r, 0x00, 0xB0, 0x82, 0x00, 0x00);   /* back to EF.DATA */
	RAW(card, r, 0x00, 0xB0, 0x03, 0xFC, 0x10);
	assert_int_equal(r->sw, 0x6282);
	assert_int_equal(r->len, 4);
	assert_data(r->buf, 1020, 4);
	RAW(card, r, 0x00, 0xB0, 0x81, 0x00, 0x90);
	assert_int_equal(r->sw, 0x6282);
	assert_int_equal(r->len, CARD_SIZE);
	assert_memory_equal(r->buf, EF_CARD, sizeof(EF_CARD));

	/* Le=00 means "up to 256": the rest of the file, with 9000. */
	RAW(card, r, 0x00, 0xB0, 0x81, 0x00, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, CARD_SIZE);
	RAW(card, r, 0x00, 0xB0, 0x82, 0x00, 0x01);   /* EF.DATA current */
	RAW(card, r, 0x00, 0xB0, 0x03, 0xE8, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, 24);
	assert_data(r->buf, 1000, 24);
	free(r);
}

static void
test_read_extended(void **state)
{
	vc_card *card = *state;
	struct rsp *r = rsp_new();
	mic_tx_t *tx = tx_new(card, 1);
	mic_apdu a = apdu(0xB0, 0x82, 0x00, NULL, 0, MIC_APDU_NE_MAX_EXT);
	uint8_t *buf = malloc(MIC_APDU_NE_MAX_EXT);
	size_t n = 0;
	uint16_t sw = 0;

	assert_non_null(buf);
	select_app(card);
	/* Le=0000: the whole file in one response. */
	RAW(card, r, 0x00, 0xB0, 0x82, 0x00, 0x00, 0x00, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, DATA_SIZE);
	assert_data(r->buf, 0, DATA_SIZE);
	/* Le=0400 exactly; Le=0500 is more than there is. */
	RAW(card, r, 0x00, 0xB0, 0x82, 0x00, 0x00, 0x04, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, DATA_SIZE);
	RAW(card, r, 0x00, 0xB0, 0x82, 0x00, 0x00, 0x05, 0x00);
	assert_int_equal(r->sw, 0x6282);
	assert_int_equal(r->len, DATA_SIZE);
	/* Extended Le=0100 is an explicit 256, not "everything". */
	RAW(card, r, 0x00, 0xB0, 0x03, 0x00, 0x00, 0x01, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, 256);
	assert_data(r->buf, 0x300, 256);
	RAW(card, r, 0x00, 0xB0, 0x03, 0x80, 0x00, 0x01, 0x00);
	assert_int_equal(r->sw, 0x6282);
	assert_int_equal(r->len, 128);
	assert_data(r->buf, 0x380, 128);

	/* Through the host with extended length on both ends. */
	assert_int_equal(mic_tx_transmit(tx, &a, buf, MIC_APDU_NE_MAX_EXT,
	    &n, &sw), MIC_OK);
	assert_int_equal(sw, 0x9000);
	assert_int_equal(n, DATA_SIZE);
	assert_data(buf, 0, DATA_SIZE);
	mic_tx_free(&tx);
	free(buf);
	free(r);
}

static void
test_read_errors(void **state)
{
	vc_card *card = *state;

	/* No current EF after reset, nor after selecting a DF. */
	EXPECT_SW(card, 0x6986, 0x00, 0xB0, 0x00, 0x00, 0x10);
	select_app(card);
	EXPECT_SW(card, 0x6986, 0x00, 0xB0, 0x00, 0x00, 0x10);
	/* SFI 9 is the cyclic record EF; SFI 5 does not exist. */
	EXPECT_SW(card, 0x6981, 0x00, 0xB0, 0x89, 0x00, 0x10);
	EXPECT_SW(card, 0x6A82, 0x00, 0xB0, 0x85, 0x00, 0x10);
	EXPECT_SW(card, 0x9000, 0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x09);
	EXPECT_SW(card, 0x6981, 0x00, 0xB0, 0x00, 0x00, 0x10);
	/* P1 bits 7-6 must be zero with an SFI; SFI 0 and 31 are invalid. */
	EXPECT_SW(card, 0x6A86, 0x00, 0xB0, 0xA1, 0x00, 0x10);
	EXPECT_SW(card, 0x6A86, 0x00, 0xB0, 0xC1, 0x00, 0x10);
	EXPECT_SW(card, 0x6A86, 0x00, 0xB0, 0x80, 0x00, 0x10);
	EXPECT_SW(card, 0x6A86, 0x00, 0xB0, 0x9F, 0x00, 0x10);
	/* READ BINARY needs Le and no data. */
	EXPECT_SW(card, 0x6700, 0x00, 0xB0, 0x81, 0x00);
	EXPECT_SW(card, 0x6700, 0x00, 0xB0, 0x81, 0x00, 0x01, 0x00);
	EXPECT_SW(card, 0x6700, 0x00, 0xB0, 0x81, 0x00, 0x01, 0x00, 0x10);
	/* Odd INS B1 (offset in a data object) is not offered. */
	EXPECT_SW(card, 0x6D00, 0x00, 0xB1, 0x00, 0x00, 0x03,
	    0x54, 0x01, 0x00, 0x00);
}

/* --- UPDATE BINARY ------------------------------------------------------ */

static void
test_update(void **state)
{
	vc_card *card = *state;
	struct rsp *r = rsp_new();
	mic_tx_t *tx = tx_new(card, 0);
	static const uint8_t three[] = { 0xA1, 0xA2, 0xA3 };
	mic_apdu a = apdu(0xD6, 0x82, 0x10, three, sizeof(three), 0);
	uint8_t buf[8];
	size_t n = 0;
	uint16_t sw = 0;

	select_app(card);
	assert_int_equal(mic_tx_transmit(tx, &a, buf, sizeof(buf), &n, &sw),
	    MIC_OK);
	assert_int_equal(sw, 0x9000);
	assert_int_equal(n, 0);
	RAW(card, r, 0x00, 0xB0, 0x00, 0x0F, 0x05);
	assert_int_equal(r->sw, 0x9000);
	assert_memory_equal(r->buf,
	    BYTES(data_byte(15), 0xA1, 0xA2, 0xA3, data_byte(19)), 5);

	/* Current EF with a 15-bit offset. */
	EXPECT_SW(card, 0x9000, 0x00, 0xD6, 0x03, 0xFE, 0x02, 0xB1, 0xB2);
	RAW(card, r, 0x00, 0xB0, 0x03, 0xFD, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_memory_equal(r->buf, BYTES(data_byte(1021), 0xB1, 0xB2), 3);

	/* Past the end: nothing is written. */
	EXPECT_SW(card, 0x6A84, 0x00, 0xD6, 0x03, 0xFE, 0x03, 0xC1, 0xC2, 0xC3);
	EXPECT_SW(card, 0x6B00, 0x00, 0xD6, 0x04, 0x00, 0x01, 0xC1);
	RAW(card, r, 0x00, 0xB0, 0x03, 0xFD, 0x00);
	assert_memory_equal(r->buf, BYTES(data_byte(1021), 0xB1, 0xB2), 3);

	/* No data, or an Le: wrong length. */
	EXPECT_SW(card, 0x6700, 0x00, 0xD6, 0x82, 0x00);
	EXPECT_SW(card, 0x6700, 0x00, 0xD6, 0x82, 0x00, 0x01, 0x00, 0x00);
	/* The record EF; a missing SFI; EF.DIR may never be updated. */
	EXPECT_SW(card, 0x6981, 0x00, 0xD6, 0x89, 0x00, 0x01, 0x00);
	EXPECT_SW(card, 0x6A82, 0x00, 0xD6, 0x86, 0x00, 0x01, 0x00);
	EXPECT_SW(card, 0x9000, 0x00, 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00);
	EXPECT_SW(card, 0x6982, 0x00, 0xD6, 0x9E, 0x00, 0x01, 0x00);
	EXPECT_SW(card, 0x6986, 0x00, 0xD6, 0x00, 0x00, 0x01, 0x00);

	/* The update is in the card image: it survives a power cycle. */
	vc_card_power_off(card);
	select_app(card);
	RAW(card, r, 0x00, 0xB0, 0x82, 0x10, 0x03);
	assert_memory_equal(r->buf, three, 3);
	mic_tx_free(&tx);
	free(r);
}

/* --- command chaining --------------------------------------------------- */

static void
test_chaining(void **state)
{
	vc_card *card = *state;
	struct rsp *r = rsp_new();

	select_app(card);
	EXPECT_SW(card, 0x9000, 0x10, 0xD6, 0x82, 0x00, 0x04,
	    0x01, 0x02, 0x03, 0x04);
	EXPECT_SW(card, 0x9000, 0x10, 0xD6, 0x82, 0x00, 0x01, 0x05);
	/* Not yet written: the chain is held on the card. */
	RAW(card, r, 0x00, 0xB0, 0x00, 0x00, 0x00);
	assert_int_equal(r->sw, 0x6883);
	/* That ended the chain; start again and finish it. */
	EXPECT_SW(card, 0x9000, 0x10, 0xD6, 0x82, 0x00, 0x04,
	    0x01, 0x02, 0x03, 0x04);
	EXPECT_SW(card, 0x9000, 0x10, 0xD6, 0x82, 0x00, 0x00);
	EXPECT_SW(card, 0x9000, 0x00, 0xD6, 0x82, 0x00, 0x02, 0x05, 0x06);
	RAW(card, r, 0x00, 0xB0, 0x82, 0x00, 0x07);
	assert_int_equal(r->sw, 0x9000);
	assert_memory_equal(r->buf,
	    BYTES(0x01, 0x02, 0x03, 0x04, 0x05, 0x06, data_byte(6)), 7);

	/* A part with other parameters ends the chain with 6883. */
	EXPECT_SW(card, 0x9000, 0x10, 0xD6, 0x82, 0x00, 0x01, 0xAA);
	EXPECT_SW(card, 0x6883, 0x00, 0xD6, 0x82, 0x01, 0x01, 0xBB);
	EXPECT_SW(card, 0x9000, 0x10, 0xD6, 0x82, 0x00, 0x01, 0xAA);
	EXPECT_SW(card, 0x6883, 0x00, 0xD6, 0x00, 0x00, 0x01, 0xBB);
	EXPECT_SW(card, 0x9000, 0x10, 0xD6, 0x82, 0x00, 0x01, 0xAA);
	EXPECT_SW(card, 0x6883, 0x00, 0xB0, 0x82, 0x00, 0x01);
	EXPECT_SW(card, 0x9000, 0x10, 0xD6, 0x82, 0x00, 0x01, 0xAA);
	EXPECT_SW(card, 0x6883, 0x10, 0xD6, 0x81, 0x00, 0x01, 0xBB);
	RAW(card, r, 0x00, 0xB0, 0x82, 0x00, 0x02);
	assert_memory_equal(r->buf, BYTES(0x01, 0x02), 2);

	/* Commands without chaining support refuse a chained part. */
	EXPECT_SW(card, 0x6884, 0x10, 0xA4, 0x04, 0x0C, 0x09,
	    0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01);
	EXPECT_SW(card, 0x6884, 0x10, 0xB0, 0x82, 0x00, 0x01);
	EXPECT_SW(card, 0x6884, 0x10, 0xC0, 0x00, 0x00, 0x01);
	free(r);
}

static void
test_chaining_tx(void **state)
{
	vc_card *card = *state;
	mic_tx_t *tx = tx_new(card, 0);
	uint8_t *data = malloc(DATA_SIZE), *back = malloc(DATA_SIZE);
	mic_apdu a;
	mic_tx_stats st;
	size_t n = 0;
	uint16_t sw = 0;

	assert_non_null(data);
	assert_non_null(back);
	for (size_t i = 0; i < DATA_SIZE; i++)
		data[i] = (uint8_t)(0xFF - i);
	select_app(card);
	/* 1 KiB in one logical UPDATE: the host chains it in 255-byte parts. */
	a = apdu(0xD6, 0x82, 0x00, data, DATA_SIZE, 0);
	assert_int_equal(mic_tx_transmit(tx, &a, NULL, 0, &n, &sw), MIC_OK);
	assert_int_equal(sw, 0x9000);
	mic_tx_get_stats(tx, &st);
	assert_int_equal(st.apdus, 5);
	for (size_t off = 0; off < DATA_SIZE; off += 256) {
		a = apdu(0xB0, (uint8_t)(off >> 8), (uint8_t)off, NULL, 0, 256);
		assert_int_equal(mic_tx_transmit(tx, &a, back + off, 256, &n,
		    &sw), MIC_OK);
		assert_int_equal(sw, 0x9000);
		assert_int_equal(n, 256);
	}
	assert_memory_equal(back, data, DATA_SIZE);
	mic_tx_free(&tx);
	free(data);
	free(back);
}

static void
test_chaining_overflow(void **state)
{
	vc_card *card = *state;
	uint8_t cmd[5 + 255];
	struct rsp *r = rsp_new();
	size_t parts = VC_CHAIN_MAX / 255;   /* 16 parts fit, 4080 bytes */

	select_app(card);
	cmd[0] = 0x10;
	cmd[1] = 0xD6;
	cmd[2] = 0x82;
	cmd[3] = 0x00;
	cmd[4] = 0xFF;
	memset(cmd + 5, 0x5A, 255);
	for (size_t i = 0; i < parts; i++) {
		raw(card, cmd, sizeof(cmd), r);
		assert_int_equal(r->sw, 0x9000);
	}
	raw(card, cmd, sizeof(cmd), r);
	assert_int_equal(r->sw, 0x6A84);
	assert_int_equal(r->len, 0);
	/* The chain is gone: a final part alone is an ordinary command. */
	EXPECT_SW(card, 0x9000, 0x00, 0xD6, 0x82, 0x00, 0x01, 0x77);
	RAW(card, r, 0x00, 0xB0, 0x82, 0x00, 0x02);
	assert_memory_equal(r->buf, BYTES(0x77, data_byte(1)), 2);

	/* 4096 bytes fit exactly; one more does not. */
	for (size_t i = 0; i < parts; i++) {
		raw(card, cmd, sizeof(cmd), r);
		assert_int_equal(r->sw, 0x9000);
	}
	EXPECT_SW(card, 0x9000, 0x10, 0xD6, 0x82, 0x00, 0x10,
	    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
	EXPECT_SW(card, 0x6A84, 0x10, 0xD6, 0x82, 0x00, 0x01, 0x00);

	/* Again up to 4096 bytes, ended by an extended final part. */
	for (size_t i = 0; i < parts; i++) {
		raw(card, cmd, sizeof(cmd), r);
		assert_int_equal(r->sw, 0x9000);
	}
	/* The assembled 4096 bytes do not fit the 1 KiB file: 6A84 again,
	 * now from UPDATE BINARY, and nothing is written. */
	EXPECT_SW(card, 0x6A84, 0x00, 0xD6, 0x82, 0x00, 0x00, 0x00, 0x10,
	    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
	RAW(card, r, 0x00, 0xB0, 0x82, 0x00, 0x01);
	assert_int_equal(r->buf[0], 0x77);
	free(r);
}

/* --- malformed input ---------------------------------------------------- */

static void
test_malformed_length(void **state)
{
	vc_card *card = *state;
	struct rsp *r = rsp_new();
	const uint8_t hdr[] = { 0x00, 0xA4, 0x04, 0x00 };

	for (size_t n = 0; n < 4; n++) {
		raw(card, hdr, n, r);
		assert_int_equal(r->sw, 0x6700);
		assert_int_equal(r->len, 0);
	}
	/* Lc promising more than there is, or less. */
	EXPECT_SW(card, 0x6700, 0x00, 0xA4, 0x04, 0x00, 0x09, 0xD1, 0x56);
	EXPECT_SW(card, 0x6700, 0x00, 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00,
	    0x00, 0x00);
	/* An extended length field cut short. */
	EXPECT_SW(card, 0x6700, 0x00, 0xB0, 0x82, 0x00, 0x00, 0x00);
	EXPECT_SW(card, 0x6700, 0x00, 0xD6, 0x82, 0x00, 0x00, 0x00, 0x05, 0x01);
	free(r);
}

static void
test_malformed_cla_ins(void **state)
{
	vc_card *card = *state;

	EXPECT_SW(card, 0x6E00, 0xFF, 0xA4, 0x00, 0x0C);
	EXPECT_SW(card, 0x6E00, 0x80, 0xA4, 0x00, 0x0C);
	EXPECT_SW(card, 0x6E00, 0xA0, 0xB0, 0x81, 0x00, 0x00);
	EXPECT_SW(card, 0x6E00, 0x20, 0xA4, 0x00, 0x0C);
	/* Logical channels 1-3 and 4-19 are not open. */
	EXPECT_SW(card, 0x6881, 0x01, 0xA4, 0x00, 0x0C);
	EXPECT_SW(card, 0x6881, 0x03, 0xA4, 0x00, 0x0C);
	EXPECT_SW(card, 0x6881, 0x40, 0xA4, 0x00, 0x0C);
	EXPECT_SW(card, 0x6881, 0x4F, 0xA4, 0x00, 0x0C);
	/* Secure messaging is not there yet. */
	EXPECT_SW(card, 0x6882, 0x04, 0xA4, 0x00, 0x0C);
	EXPECT_SW(card, 0x6882, 0x0C, 0xA4, 0x00, 0x0C);
	EXPECT_SW(card, 0x6882, 0x08, 0xA4, 0x00, 0x0C);
	/* Unknown and invalid instructions. */
	EXPECT_SW(card, 0x6D00, 0x00, 0xCA, 0x9F, 0x7F, 0x00);
	EXPECT_SW(card, 0x6D00, 0x00, 0x60, 0x00, 0x00);
	EXPECT_SW(card, 0x6D00, 0x00, 0x90, 0x00, 0x00);
	EXPECT_SW(card, 0x6D00, 0x00, 0x00, 0x00, 0x00);
}

/* Every 4-byte header and a few bodies: always a SW, never a crash. */
static void
test_malformed_sweep(void **state)
{
	vc_card *card = *state;
	uint8_t cmd[8];
	uint8_t rsp[300];

	for (unsigned v = 0; v < 0x10000; v++) {
		size_t n = sizeof(rsp);
		cmd[0] = (uint8_t)(v >> 8);
		cmd[1] = (uint8_t)v;
		cmd[2] = (uint8_t)(v * 7);
		cmd[3] = (uint8_t)(v * 13);
		cmd[4] = (uint8_t)(v >> 3);
		cmd[5] = 0x3F;
		cmd[6] = 0x00;
		cmd[7] = 0x00;
		for (size_t len = 4; len <= sizeof(cmd); len += 2) {
			n = sizeof(rsp);
			assert_int_equal(vc_card_transmit(card, cmd, len, rsp,
			    &n), MIC_OK);
			assert_true(n >= 2 && n <= sizeof(rsp));
		}
	}
}

/* --- GET RESPONSE ------------------------------------------------------- */

static void
test_get_response(void **state)
{
	vc_card *card = *state;
	struct rsp *r = rsp_new();

	EXPECT_SW(card, 0x6985, 0x00, 0xC0, 0x00, 0x00, 0x00);
	/* An Le shorter than the FCP: the first part and 61xx. */
	RAW(card, r, 0x00, 0xA4, 0x04, 0x04, 0x09,
	    0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01, 0x05);
	assert_int_equal(r->sw, 0x6112);
	assert_int_equal(r->len, 5);
	assert_memory_equal(r->buf, FCP_APP, 5);
	RAW(card, r, 0x00, 0xC0, 0x00, 0x00, 0x08);
	assert_int_equal(r->sw, 0x610A);
	assert_memory_equal(r->buf, FCP_APP + 5, 8);
	RAW(card, r, 0x00, 0xC0, 0x00, 0x00, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, 10);
	assert_memory_equal(r->buf, FCP_APP + 13, 10);
	EXPECT_SW(card, 0x6985, 0x00, 0xC0, 0x00, 0x00, 0x00);

	/* Any other command in between drops the data. */
	RAW(card, r, 0x00, 0xA4, 0x04, 0x04, 0x09,
	    0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01, 0x05);
	assert_int_equal(r->sw, 0x6112);
	EXPECT_SW(card, 0x6D00, 0x00, 0xCA, 0x00, 0x00, 0x00);
	EXPECT_SW(card, 0x6985, 0x00, 0xC0, 0x00, 0x00, 0x00);

	/* Wrong P1-P2 or a data field. */
	EXPECT_SW(card, 0x6A86, 0x00, 0xC0, 0x01, 0x00, 0x00);
	EXPECT_SW(card, 0x6700, 0x00, 0xC0, 0x00, 0x00);
	EXPECT_SW(card, 0x6700, 0x00, 0xC0, 0x00, 0x00, 0x01, 0x00);
	free(r);
}

/* A response buffer smaller than the data: the rest via GET RESPONSE. */
static void
test_small_buffer(void **state)
{
	vc_card *card = *state;
	struct rsp *r = rsp_new();
	const uint8_t rb[] = { 0x00, 0xB0, 0x82, 0x00, 0x00, 0x00, 0x00 };
	const uint8_t gr[] = { 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00 };
	size_t got = 0;

	select_app(card);
	raw_cap(card, rb, sizeof(rb), 302, r);
	assert_int_equal(r->sw, 0x6100);   /* 724 left: 256 or more */
	assert_int_equal(r->len, 300);
	assert_data(r->buf, 0, 300);
	got = 300;
	while (r->sw != 0x9000) {
		assert_int_equal(r->sw >> 8, 0x61);
		raw_cap(card, gr, sizeof(gr), 302, r);
		assert_data(r->buf, got, r->len);
		got += r->len;
	}
	assert_int_equal(got, DATA_SIZE);
	free(r);
}

/* --- power and reset ---------------------------------------------------- */

static void
test_power_off_clears_ram(void **state)
{
	vc_card *card = *state;
	struct rsp *r = rsp_new();

	select_app(card);
	EXPECT_SW(card, 0x9000, 0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x02);
	/* Leave a chain and a pending response behind. */
	EXPECT_SW(card, 0x9000, 0x10, 0xD6, 0x00, 0x00, 0x01, 0x99);
	vc_card_power_off(card);
	/* Current DF is the MF again, no current EF. */
	EXPECT_SW(card, 0x6986, 0x00, 0xB0, 0x00, 0x00, 0x01);
	EXPECT_SW(card, 0x6A82, 0x00, 0xB0, 0x82, 0x00, 0x01);
	/* The chain is gone: a lone final part is a new command. */
	select_app(card);
	EXPECT_SW(card, 0x9000, 0x00, 0xD6, 0x82, 0x01, 0x01, 0x42);
	RAW(card, r, 0x00, 0xB0, 0x82, 0x00, 0x02);
	assert_int_equal(r->sw, 0x9000);
	assert_memory_equal(r->buf, BYTES(data_byte(0), 0x42), 2);

	RAW(card, r, 0x00, 0xA4, 0x04, 0x04, 0x09,
	    0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01, 0x05);
	assert_int_equal(r->sw, 0x6112);
	vc_card_reset(card);
	EXPECT_SW(card, 0x6985, 0x00, 0xC0, 0x00, 0x00, 0x00);
	EXPECT_SW(card, 0x6A82, 0x00, 0xB0, 0x81, 0x00, 0x00);
	/* The update made before the reset is still there. */
	select_app(card);
	RAW(card, r, 0x00, 0xB0, 0x82, 0x01, 0x01);
	assert_int_equal(r->buf[0], 0x42);
	free(r);
}

/* --- T=0 quirk mode ----------------------------------------------------- */

static void
test_t0_select(void **state)
{
	vc_card *card = *state;
	struct rsp *r = rsp_new();

	/* Case 4: 61xx, data only through GET RESPONSE. */
	RAW(card, r, 0x00, 0xA4, 0x04, 0x04, 0x09,
	    0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01, 0x00);
	assert_int_equal(r->sw, 0x6117);
	assert_int_equal(r->len, 0);
	/* Le beyond the data: 6C with the exact length; data kept. */
	EXPECT_SW(card, 0x6C17, 0x00, 0xC0, 0x00, 0x00, 0x00);
	RAW(card, r, 0x00, 0xC0, 0x00, 0x00, 0x10);
	assert_int_equal(r->sw, 0x6107);
	assert_memory_equal(r->buf, FCP_APP, 16);
	RAW(card, r, 0x00, 0xC0, 0x00, 0x00, 0x07);
	assert_int_equal(r->sw, 0x9000);
	assert_memory_equal(r->buf, FCP_APP + 16, 7);

	/* Case 3 with response data (P2=00, no Le): 61xx too. */
	RAW(card, r, 0x00, 0xA4, 0x04, 0x00, 0x09,
	    0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01);
	assert_int_equal(r->sw, 0x6117);
	RAW(card, r, 0x00, 0xC0, 0x00, 0x00, 0x17);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->buf[0], 0x6F);
	/* No data, no 61xx. */
	EXPECT_SW(card, 0x9000, 0x00, 0xA4, 0x04, 0x0C, 0x09,
	    0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01);
	free(r);
}

static void
test_t0_read(void **state)
{
	vc_card *card = *state;
	struct rsp *r = rsp_new();

	select_app(card);
	/* Case 2, Le beyond the file: 6Cxx, then the exact Le gives 61xx. */
	EXPECT_SW(card, 0x6C80, 0x00, 0xB0, 0x81, 0x00, 0x00);
	EXPECT_SW(card, 0x6C80, 0x00, 0xB0, 0x81, 0x00, 0x90);
	EXPECT_SW(card, 0x6C08, 0x00, 0xB0, 0x81, 0x78, 0x10);
	EXPECT_SW(card, 0x6180, 0x00, 0xB0, 0x81, 0x00, 0x80);
	RAW(card, r, 0x00, 0xC0, 0x00, 0x00, 0x80);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, CARD_SIZE);
	assert_memory_equal(r->buf, EF_CARD, sizeof(EF_CARD));
	/* An Le within the file is no error: 61xx at once. */
	EXPECT_SW(card, 0x6104, 0x00, 0xB0, 0x81, 0x04, 0x04);
	RAW(card, r, 0x00, 0xC0, 0x00, 0x00, 0x04);
	assert_int_equal(r->sw, 0x9000);
	assert_memory_equal(r->buf, "TEST", 4);
	/* 256 bytes available for Le=00: 6100. */
	EXPECT_SW(card, 0x6100, 0x00, 0xB0, 0x82, 0x00, 0x00);
	RAW(card, r, 0x00, 0xC0, 0x00, 0x00, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, 256);
	assert_data(r->buf, 0, 256);
	/* Errors stay errors. */
	EXPECT_SW(card, 0x6B00, 0x00, 0xB0, 0x81, 0x80, 0x01);
	free(r);
}

/* The host's bounded 61xx / 6Cxx handling against the quirky card. */
static void
test_t0_through_host(void **state)
{
	vc_card *card = *state;
	mic_tx_t *tx = tx_new(card, 0);
	mic_apdu a = apdu(0xA4, 0x04, 0x04, AID, sizeof(AID), 256);
	uint8_t buf[256];
	size_t n = 0;
	uint16_t sw = 0;

	assert_int_equal(mic_tx_transmit(tx, &a, buf, sizeof(buf), &n, &sw),
	    MIC_OK);
	assert_int_equal(sw, 0x9000);
	assert_int_equal(n, sizeof(FCP_APP));
	assert_memory_equal(buf, FCP_APP, sizeof(FCP_APP));

	a = apdu(0xB0, 0x81, 0x00, NULL, 0, 256);
	assert_int_equal(mic_tx_transmit(tx, &a, buf, sizeof(buf), &n, &sw),
	    MIC_OK);
	assert_int_equal(sw, 0x9000);
	assert_int_equal(n, CARD_SIZE);
	assert_memory_equal(buf, EF_CARD, sizeof(EF_CARD));

	a = apdu(0xB0, 0x89, 0x00, NULL, 0, 256);
	assert_int_equal(mic_tx_transmit(tx, &a, buf, sizeof(buf), &n, &sw),
	    MIC_OK);
	assert_int_equal(sw, 0x6981);

	a = apdu(0xB0, 0x82, 0x10, NULL, 0, 256);
	assert_int_equal(mic_tx_transmit(tx, &a, buf, sizeof(buf), &n, &sw),
	    MIC_OK);
	assert_int_equal(sw, 0x9000);
	assert_int_equal(n, 256);
	assert_data(buf, 0x10, 256);
	mic_tx_free(&tx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_args),
		cmocka_unit_test_setup_teardown(test_transmit_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_select_aid_fci, setup, teardown),
		cmocka_unit_test_setup_teardown(test_select_aid_fcp_fmd_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_select_aid_partial_next, setup, teardown),
		cmocka_unit_test_setup_teardown(test_select_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_select_fid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_select_bad_params, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_sfi_and_current, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_beyond, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_extended, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chaining, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chaining_tx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chaining_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_cla_ins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_sweep, setup_t0, teardown),
		cmocka_unit_test_setup_teardown(test_get_response, setup, teardown),
		cmocka_unit_test_setup_teardown(test_small_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_power_off_clears_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_t0_select, setup_t0, teardown),
		cmocka_unit_test_setup_teardown(test_t0_read, setup_t0, teardown),
		cmocka_unit_test_setup_teardown(test_t0_through_host, setup_t0, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
