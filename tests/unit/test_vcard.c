/*
 * The reference card engine, transport side: creation, ATR, SELECT, READ
 * and UPDATE BINARY, chaining, GET RESPONSE, malformed input, power, the
 * T=0 quirks. Through the host transport (mic_tx_new_inproc) where a host
 * would drive it, through vc_card_transmit() directly where the test needs
 * exact bytes on the wire or input no host would send. The application's
 * commands (PIN, personalization, life cycle, purse) are in
 * test_vcard_app.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include <mic/apdu.h>
#include <mic/tx.h>

#include "internal.h"
#include "test_vcard_util.h"
#include "vcard.h"

#define CARD_SIZE 128

static const uint8_t AID[] = VC_MIC_AID;

/* FCP of DF.MIC (SELECT P2=04) on a blank card: LCS 03. */
static const uint8_t FCP_APP[] = {
	0x62, 0x15,
	0x82, 0x01, 0x38,
	0x83, 0x02, 0xDF, 0x01,
	0x84, 0x09, 0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01,
	0x8A, 0x01, 0x03,
};

/* FCI of DF.MIC (SELECT P2=00) on a blank card, section 3.1. */
static const uint8_t FCI_APP[] = {
	0x6F, 0x1A,
	0x84, 0x09, 0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01,
	0xA5, 0x0D,
	0x80, 0x01, 0x01,
	0x81, 0x08, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
};

/* --- helpers ------------------------------------------------------------ */

static int
setup_blank(void **state)
{
	vc_card *card = NULL;

	if (vc_card_new(&card, CHIP_SERIAL, 0) != MIC_OK)
		return -1;
	*state = card;
	return 0;
}

static int
setup_blank_t0(void **state)
{
	vc_card *card = NULL;

	if (vc_card_new(&card, CHIP_SERIAL, VC_CARD_T0_QUIRKS) != MIC_OK)
		return -1;
	*state = card;
	return 0;
}

static int
setup_stage(void **state, enum stage stage, unsigned flags)
{
	vc_card *card = card_at(stage, 0x01, NULL), *copy = NULL;
	const uint8_t *nv = NULL;
	size_t len = 0;

	vc_card_nv(card, &nv, &len);
	if (vc_card_load(&copy, nv, len, flags) != MIC_OK)
		return -1;
	vc_card_free(&card);
	*state = copy;
	return 0;
}

static int
setup_perso(void **state)
{
	return setup_stage(state, ST_PERSO, 0);
}

static int
setup_perso_t0(void **state)
{
	return setup_stage(state, ST_PERSO, VC_CARD_T0_QUIRKS);
}

static int
setup_active(void **state)
{
	return setup_stage(state, ST_ACTIVE, 0);
}

static int
setup_active_t0(void **state)
{
	return setup_stage(state, ST_ACTIVE, VC_CARD_T0_QUIRKS);
}

static int
teardown(void **state)
{
	vc_card *card = *state;

	vc_card_free(&card);
	assert_null(card);
	return 0;
}

/* Byte @p i of EF.SOD as the sample personalization wrote it. */
static uint8_t
sod_byte(size_t i)
{
	static const uint8_t hdr[] = { 0x30, 0x82, 0x07, 0xFC };

	return i < sizeof(hdr) ? hdr[i] : sample_byte(i);
}

static void
assert_sod(const uint8_t *p, size_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(p[i], sod_byte(off + i));
}

/* EF.CARD as personalized: the template, then zeros. */
static void
assert_ef_card(const uint8_t *p, size_t n)
{
	uint8_t want[CARD_SIZE];
	size_t len;

	memset(want, 0, sizeof(want));
	len = sample_card(want, sizeof(want));
	assert_true(len > 40);
	assert_memory_equal(p, want, n);
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
	assert_int_equal(vc_card_new(NULL, CHIP_SERIAL, 0),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(vc_card_new(&card, NULL, 0), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(vc_card_new(&card, "", 0), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(vc_card_new(&card, "AB\nC", 0),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(vc_card_new(&card, CHIP_SERIAL, 0x80),
	    MIC_ERR_INVALID_ARGUMENT);
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(vc_card_new(&card, big, 0), MIC_ERR_INVALID_ARGUMENT);
	big[VC_SERIAL_MAX] = '\0';
	assert_int_equal(vc_card_new(&card, big, 0), MIC_OK);
	/* A new card is blank. */
	assert_int_equal(vc_card_state(card), VC_STATE_BLANK);
	vc_card_free(&card);
	vc_card_free(&card);   /* NULL-safe */
	vc_card_free(NULL);
	assert_int_equal(vc_card_state(NULL), 0);
	/* The other entry points take NULL without harm. */
	vc_card_power_off(NULL);
	vc_card_reset(NULL);
	vc_card_test_set_role(NULL, VC_ROLE_BANK);
	vc_card_set_commit(NULL, NULL, NULL);
}

/* The chip serial in FCI A5/81 for a serial string. */
static void
fci_serial(const char *serial, uint8_t out[8])
{
	vc_card *card = NULL;
	struct rsp *r = rsp_new();

	assert_int_equal(vc_card_new(&card, serial, 0), MIC_OK);
	assert_int_equal(send_cmd(card, 0x00, 0xA4, 0x04, 0x00, AID,
	    sizeof(AID), 256, r), 0x9000);
	assert_int_equal(r->len, sizeof(FCI_APP));
	assert_memory_equal(r->buf + 18, BYTES(0x81, 0x08), 2);
	memcpy(out, r->buf + 20, 8);
	vc_card_free(&card);
	free(r);
}

static void
test_serial_mapping(void **state)
{
	uint8_t s[8], md[32];
	unsigned int mdlen = 0;

	(void)state;
	/* 16 hex digits are the chip serial itself, either case. */
	fci_serial("0011223344556677", s);
	assert_memory_equal(s, BYTES(0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
	    0x77), 8);
	fci_serial("a0b1c2d3e4f5A6B7", s);
	assert_memory_equal(s, BYTES(0xA0, 0xB1, 0xC2, 0xD3, 0xE4, 0xF5, 0xA6,
	    0xB7), 8);
	/* Anything else: the first 8 bytes of its SHA-256. */
	assert_true(EVP_Digest("MIC0000000001", 13, md, &mdlen, EVP_sha256(),
	    NULL));
	fci_serial("MIC0000000001", s);
	assert_memory_equal(s, md, 8);
	/* 16 characters that are not all hex, or hex with a separator. */
	assert_true(EVP_Digest("00112233445566 7", 16, md, &mdlen,
	    EVP_sha256(), NULL));
	fci_serial("00112233445566 7", s);
	assert_memory_equal(s, md, 8);
}

static void
test_transmit_args(void **state)
{
	vc_card *card = *state;
	const uint8_t cmd[] = { 0x00, 0xB0, 0x9E, 0x00, 0x00 };
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
	/* Exactly room for a SW: EF.DIR waits for GET RESPONSE. */
	n = 2;
	assert_int_equal(vc_card_transmit(card, cmd, sizeof(cmd), rsp, &n),
	    MIC_OK);
	assert_int_equal(n, 2);
	assert_int_equal(mici_get_u16(rsp), 0x6120);
}

/* --- ATR ---------------------------------------------------------------- */

static void
assert_atr(const vc_card *card)
{
	static const uint8_t want[] = {
		0x3B, 0x87, 0x81, 0x31, 0xFE, 0x45,
		0x80, 0x73, 0xD4, 0x21, 0xC0, 0x81, 0x05, 0xCE,
	};
	uint8_t atr[VC_ATR_MAX];
	size_t n = vc_card_atr(card, atr, sizeof(atr));

	assert_int_equal(n, sizeof(want));
	assert_memory_equal(atr, want, sizeof(want));
}

static void
test_atr(void **state)
{
	vc_card *card = *state, *other;
	uint8_t atr[VC_ATR_MAX];
	mici_atr_info info;
	uint8_t x = 0;
	size_t n;

	n = vc_card_atr(card, atr, sizeof(atr));
	assert_atr(card);
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
	/* Section 6: the same ATR in every life cycle state. */
	for (int s = ST_PERSO; s < ST_COUNT; s++) {
		other = card_at((enum stage)s, 0x01, NULL);
		assert_atr(other);
		vc_card_free(&other);
	}
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
	assert_int_equal(n, sizeof(FCI_APP));
	assert_memory_equal(buf, FCI_APP, sizeof(FCI_APP));
	/* By FID with P2=00, the same FCI. */
	a = apdu(0xA4, 0x00, 0x00, BYTES(0xDF, 0x01), 2, 256);
	assert_int_equal(mic_tx_transmit(tx, &a, buf, sizeof(buf), &n, &sw),
	    MIC_OK);
	assert_int_equal(sw, 0x9000);
	assert_int_equal(n, sizeof(FCI_APP));
	assert_memory_equal(buf, FCI_APP, sizeof(FCI_APP));
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
	EXPECT_SW(card, 0x9000, 0x00, 0xA4, 0x02, 0x0C, 0x02, 0x2F, 0x00);
	EXPECT_SW(card, 0x6A82, 0x00, 0xA4, 0x00, 0x0C, 0x02, 0x77, 0x77);
	RAW(card, r, 0x00, 0xB0, 0x00, 0x00, 0x04);
	assert_int_equal(r->sw, 0x9000);
	assert_memory_equal(r->buf, BYTES(0x61, 0x10, 0x4F, 0x09), 4);
	free(r);
}

static void
test_select_fid(void **state)
{
	vc_card *card = *state;
	struct rsp *r = rsp_new();
	static const uint8_t fcp_dir[] = {
		0x62, 0x11, 0x82, 0x01, 0x01, 0x83, 0x02, 0x2F, 0x00,
		0x80, 0x02, 0x00, 0x20, 0x88, 0x01, 0xF0, 0x8A, 0x01, 0x05,
	};
	static const uint8_t fcp_log[] = {
		0x62, 0x15, 0x82, 0x05, 0x06, 0x21, 0x00, 0x30, 0x1E,
		0x83, 0x02, 0x01, 0x09, 0x80, 0x02, 0x05, 0xA0,
		0x88, 0x01, 0x48, 0x8A, 0x01, 0x03,
	};
	static const uint8_t fcp_family[] = {
		0x62, 0x15, 0x82, 0x05, 0x02, 0x21, 0x00, 0x80, 0x08,
		0x83, 0x02, 0x01, 0x07, 0x80, 0x02, 0x04, 0x00,
		0x88, 0x01, 0x38, 0x8A, 0x01, 0x03,
	};

	/* No data: the MF. Then 3F00 explicitly, with its FCP. */
	EXPECT_SW(card, 0x9000, 0x00, 0xA4, 0x00, 0x0C);
	RAW(card, r, 0x00, 0xA4, 0x00, 0x04, 0x02, 0x3F, 0x00, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_memory_equal(r->buf,
	    BYTES(0x62, 0x0A, 0x82, 0x01, 0x38, 0x83, 0x02, 0x3F, 0x00,
	    0x8A, 0x01, 0x05), 12);
	assert_int_equal(r->len, 12);

	/* EF.DIR by FID: transparent, 32 bytes, SFI 30. */
	RAW(card, r, 0x00, 0xA4, 0x00, 0x04, 0x02, 0x2F, 0x00, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, sizeof(fcp_dir));
	assert_memory_equal(r->buf, fcp_dir, sizeof(fcp_dir));
	RAW(card, r, 0x00, 0xB0, 0x00, 0x00, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, 32);
	assert_memory_equal(r->buf, BYTES(0x61, 0x10, 0x4F, 0x09), 4);
	assert_memory_equal(r->buf + 4, AID, sizeof(AID));
	assert_memory_equal(r->buf + 13, BYTES(0x50, 0x03, 'M', 'I', 'C'), 5);
	for (size_t i = 18; i < 32; i++)
		assert_int_equal(r->buf[i], 0x00);

	/* The application DF as a child DF (P1=01), then an EF in it. */
	EXPECT_SW(card, 0x9000, 0x00, 0xA4, 0x01, 0x0C, 0x02, 0xDF, 0x01);
	EXPECT_SW(card, 0x6A82, 0x00, 0xA4, 0x01, 0x0C, 0x02, 0x01, 0x02);
	EXPECT_SW(card, 0x9000, 0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x02);
	/* Blank: EF.HOLDER is not readable yet. */
	EXPECT_SW(card, 0x6985, 0x00, 0xB0, 0x00, 0x10, 0x08);

	/* Sibling EFs by P1=00, the record EFs' descriptors. */
	RAW(card, r, 0x00, 0xA4, 0x00, 0x04, 0x02, 0x01, 0x09, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, sizeof(fcp_log));
	assert_memory_equal(r->buf, fcp_log, sizeof(fcp_log));
	RAW(card, r, 0x00, 0xA4, 0x00, 0x04, 0x02, 0x01, 0x07, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, sizeof(fcp_family));
	assert_memory_equal(r->buf, fcp_family, sizeof(fcp_family));

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

/*
 * Section 3.1 and 5 in every state: SW, FCI A5/80, FCP 8A of the DF and
 * of an EF in it; the MF and EF.DIR stay operational.
 */
static void
test_select_states(void **state)
{
	static const struct {
		enum stage stage;
		uint16_t sw;
		uint8_t mic_state;
		uint8_t lcs;
	} want[] = {
		{ ST_BLANK, 0x9000, 0x01, 0x03 },
		{ ST_PERSO_TRANSPORT, 0x6283, 0x02, 0x04 },
		{ ST_PERSO, 0x6283, 0x02, 0x04 },
		{ ST_ACTIVE, 0x9000, 0x03, 0x05 },
		{ ST_BLOCKED, 0x6283, 0x04, 0x04 },
		{ ST_TERMINATED, 0x6285, 0x05, 0x0C },
	};
	struct rsp *r = rsp_new();

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		vc_card *card = card_at(want[i].stage, 0x01, NULL);

		/* FCI with the warning: the data still comes. */
		assert_int_equal(send_cmd(card, 0x00, 0xA4, 0x04, 0x00, AID,
		    sizeof(AID), 256, r), want[i].sw);
		assert_int_equal(r->len, sizeof(FCI_APP));
		assert_memory_equal(r->buf, FCI_APP, 17);
		assert_int_equal(r->buf[17], want[i].mic_state);
		assert_memory_equal(r->buf + 18, FCI_APP + 18, 10);
		/* FCP and no data. */
		assert_int_equal(send_cmd(card, 0x00, 0xA4, 0x04, 0x04, AID,
		    sizeof(AID), 256, r), want[i].sw);
		assert_int_equal(r->len, sizeof(FCP_APP));
		assert_memory_equal(r->buf, FCP_APP, sizeof(FCP_APP) - 1);
		assert_int_equal(r->buf[sizeof(FCP_APP) - 1], want[i].lcs);
		assert_int_equal(send_cmd(card, 0x00, 0xA4, 0x04, 0x0C, AID,
		    sizeof(AID), 0, r), want[i].sw);
		assert_int_equal(r->len, 0);
		/* An EF of the application follows it. */
		assert_int_equal(send_cmd(card, 0x00, 0xA4, 0x02, 0x04,
		    BYTES(0x01, 0x08), 2, 256, r), want[i].sw);
		assert_int_equal(r->buf[r->len - 1], want[i].lcs);
		/* The MF and EF.DIR do not. */
		assert_int_equal(send_cmd(card, 0x00, 0xA4, 0x00, 0x04, NULL,
		    0, 256, r), 0x9000);
		assert_int_equal(r->buf[r->len - 1], 0x05);
		assert_int_equal(send_cmd(card, 0x00, 0xA4, 0x02, 0x0C,
		    BYTES(0x2F, 0x00), 2, 0, r), 0x9000);
		assert_int_equal(send_cmd(card, 0x00, 0xB0, 0x00, 0x00, NULL,
		    0, 256, r), 0x9000);
		assert_int_equal(r->len, 32);
		vc_card_free(&card);
	}
	free(r);
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
	assert_ef_card(buf, CARD_SIZE);

	/* Reading by SFI made EF.CARD current: offsets on it now. */
	RAW(card, r, 0x00, 0xB0, 0x00, 0x04, 0x04);
	assert_int_equal(r->sw, 0x9000);
	assert_memory_equal(r->buf, CARD_ID, 4);

	/* SFI offset in P2, up to 255. */
	RAW(card, r, 0x00, 0xB0, 0x84, 0xFF, 0x10);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, 16);
	assert_sod(r->buf, 255, 16);

	/* 15-bit offsets beyond 255 on the (now) current EF.SOD. */
	RAW(card, r, 0x00, 0xB0, 0x01, 0x00, 0x10);
	assert_int_equal(r->sw, 0x9000);
	assert_sod(r->buf, 256, 16);
	RAW(card, r, 0x00, 0xB0, 0x07, 0xF0, 0x10);
	assert_int_equal(r->sw, 0x9000);
	assert_sod(r->buf, 0x7F0, 16);

	/* The whole 2 KiB in short APDUs through the host. */
	for (size_t off = 0; off < SOD_LEN; off += 256) {
		a = apdu(0xB0, (uint8_t)(off >> 8), (uint8_t)off, NULL, 0, 256);
		assert_int_equal(mic_tx_transmit(tx, &a, buf, sizeof(buf), &n,
		    &sw), MIC_OK);
		assert_int_equal(sw, 0x9000);
		assert_int_equal(n, 256);
		assert_sod(buf, off, 256);
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
	RAW(card, r, 0x00, 0xB0, 0x84, 0x00, 0x01);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, 1);
	/* Offset at and beyond the end of EF.SOD. */
	EXPECT_SW(card, 0x6B00, 0x00, 0xB0, 0x08, 0x00, 0x01);
	EXPECT_SW(card, 0x6B00, 0x00, 0xB0, 0x7F, 0xFF, 0x01);
	/* EF.CARD by SFI: offset 128 is its size. */
	EXPECT_SW(card, 0x6B00, 0x00, 0xB0, 0x81, 0x80, 0x01);
	RAW(card, r, 0x00, 0xB0, 0x81, 0x7F, 0x01);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, 1);

	/* An explicit Le past the end: what there is, and 6282. */
	RAW(card, r, 0x00, 0xB0, 0x84, 0x00, 0x00);   /* back to EF.SOD */
	RAW(card, r, 0x00, 0xB0, 0x07, 0xFC, 0x10);
	assert_int_equal(r->sw, 0x6282);
	assert_int_equal(r->len, 4);
	assert_sod(r->buf, 2044, 4);
	RAW(card, r, 0x00, 0xB0, 0x81, 0x00, 0x90);
	assert_int_equal(r->sw, 0x6282);
	assert_int_equal(r->len, CARD_SIZE);
	assert_ef_card(r->buf, CARD_SIZE);

	/* Le=00 means "up to 256": the rest of the file, with 9000. */
	RAW(card, r, 0x00, 0xB0, 0x81, 0x00, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, CARD_SIZE);
	RAW(card, r, 0x00, 0xB0, 0x84, 0x00, 0x01);   /* EF.SOD current */
	RAW(card, r, 0x00, 0xB0, 0x07, 0xE8, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, 24);
	assert_sod(r->buf, 2024, 24);
	free(r);
}

static void
test_read_extended(void **state)
{
	vc_card *card = *state;
	struct rsp *r = rsp_new();
	mic_tx_t *tx = tx_new(card, 1);
	mic_apdu a = apdu(0xB0, 0x84, 0x00, NULL, 0, MIC_APDU_NE_MAX_EXT);
	uint8_t *buf = malloc(MIC_APDU_NE_MAX_EXT);
	size_t n = 0;
	uint16_t sw = 0;

	assert_non_null(buf);
	select_app(card);
	/* Le=0000: the whole file in one response. */
	RAW(card, r, 0x00, 0xB0, 0x84, 0x00, 0x00, 0x00, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, SOD_LEN);
	assert_sod(r->buf, 0, SOD_LEN);
	/* Le=0800 exactly; Le=0900 is more than there is. */
	RAW(card, r, 0x00, 0xB0, 0x84, 0x00, 0x00, 0x08, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, SOD_LEN);
	RAW(card, r, 0x00, 0xB0, 0x84, 0x00, 0x00, 0x09, 0x00);
	assert_int_equal(r->sw, 0x6282);
	assert_int_equal(r->len, SOD_LEN);
	/* Extended Le=0100 is an explicit 256, not "everything". */
	RAW(card, r, 0x00, 0xB0, 0x07, 0x00, 0x00, 0x01, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, 256);
	assert_sod(r->buf, 0x700, 256);
	RAW(card, r, 0x00, 0xB0, 0x07, 0x80, 0x00, 0x01, 0x00);
	assert_int_equal(r->sw, 0x6282);
	assert_int_equal(r->len, 128);
	assert_sod(r->buf, 0x780, 128);

	/* Through the host with extended length on both ends. */
	assert_int_equal(mic_tx_transmit(tx, &a, buf, MIC_APDU_NE_MAX_EXT,
	    &n, &sw), MIC_OK);
	assert_int_equal(sw, 0x9000);
	assert_int_equal(n, SOD_LEN);
	assert_sod(buf, 0, SOD_LEN);
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
	/* The record EFs, with a role that may read them; no SFI 10. */
	vc_card_test_set_role(card, VC_ROLE_BANK);
	EXPECT_SW(card, 0x6981, 0x00, 0xB0, 0x89, 0x00, 0x10);
	EXPECT_SW(card, 0x6981, 0x00, 0xB0, 0x87, 0x00, 0x10);
	EXPECT_SW(card, 0x6A82, 0x00, 0xB0, 0x8A, 0x00, 0x10);
	EXPECT_SW(card, 0x6283, 0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x09);
	EXPECT_SW(card, 0x6981, 0x00, 0xB0, 0x00, 0x00, 0x10);
	/* Without the role the access check comes first. */
	vc_card_test_set_role(card, VC_ROLE_NONE);
	EXPECT_SW(card, 0x6982, 0x00, 0xB0, 0x89, 0x00, 0x10);
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

/* Section 3: an application EF by SFI while the MF is current is 6986. */
static void
test_read_app_not_selected(void **state)
{
	vc_card *card = *state;
	struct rsp *r = rsp_new();

	for (uint8_t sfi = 1; sfi <= 9; sfi++) {
		uint8_t cmd[] = { 0x00, 0xB0, (uint8_t)(0x80 | sfi), 0x00,
		    0x00 };
		raw(card, cmd, sizeof(cmd), r);
		assert_int_equal(r->sw, 0x6986);
	}
	EXPECT_SW(card, 0x6986, 0x00, 0xB2, 0x01, 0x3C, 0x00);
	EXPECT_SW(card, 0x6A82, 0x00, 0xB0, 0x8A, 0x00, 0x00);
	/* EF.DIR is the MF's, and not seen from the application. */
	RAW(card, r, 0x00, 0xB0, 0x9E, 0x00, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, 32);
	select_app(card);
	EXPECT_SW(card, 0x6A82, 0x00, 0xB0, 0x9E, 0x00, 0x00);
	/* Application commands too. */
	select_mf(card);
	EXPECT_SW(card, 0x6986, 0x00, 0x20, 0x00, 0x81);
	EXPECT_SW(card, 0x6986, 0x00, 0x47, 0x80, 0x00, 0x00);
	EXPECT_SW(card, 0x6986, 0x00, 0xE6, 0x00, 0x00, 0x01, 0x01);
	free(r);
}

/* --- UPDATE BINARY ------------------------------------------------------ */

/* Section 4.3: UPDATE BINARY is refused on every EF in every state. */
static void
test_update_binary_refused(void **state)
{
	struct rsp *r = rsp_new();

	(void)state;
	for (int s = ST_BLANK; s < ST_COUNT; s++) {
		vc_card *card = card_at((enum stage)s, 0x01, NULL);
		uint16_t want = s == ST_TERMINATED ? 0x6985 : 0x6982;
		const uint8_t *before = NULL, *after = NULL;
		uint8_t *copy;
		size_t len = 0;

		vc_card_nv(card, &before, &len);
		assert_non_null(copy = malloc(len));
		memcpy(copy, before, len);
		for (int role = VC_ROLE_NONE; role <= VC_ROLE_BUREAU; role++) {
			vc_card_test_set_role(card, (enum vc_role)role);
			select_app(card);
			for (uint8_t sfi = 1; sfi <= 9; sfi++) {
				assert_int_equal(send_cmd(card, 0x00, 0xD6,
				    (uint8_t)(0x80 | sfi), 0x00, BYTES(0x42), 1,
				    0, r), want);
			}
			assert_int_equal(send_cmd(card, 0x00, 0xA4, 0x02,
			    0x0C, BYTES(0x01, 0x08), 2, 0, NULL),
			    s == ST_BLANK || s == ST_ACTIVE ? 0x9000 :
			    s == ST_TERMINATED ? 0x6285 : 0x6283);
			assert_int_equal(send_cmd(card, 0x00, 0xD6, 0x00, 0x00,
			    BYTES(0x42), 1, 0, r), want);
			/* Offsets past the end are refused the same way. */
			assert_int_equal(send_cmd(card, 0x00, 0xD6, 0x7F, 0xFF,
			    BYTES(0x42), 1, 0, r), want);
			/* "Any EF": EF.DIR too. */
			select_mf(card);
			assert_int_equal(send_cmd(card, 0x00, 0xD6, 0x9E, 0x00,
			    BYTES(0x42), 1, 0, r), want);
		}
		/* Nothing was written. */
		vc_card_nv(card, &after, &len);
		assert_memory_equal(copy, after, len);
		/* Lengths are checked first, but a terminated card refuses
		 * it at once (section 3.10). */
		want = s == ST_TERMINATED ? 0x6985 : 0x6700;
		EXPECT_SW(card, want, 0x00, 0xD6, 0x82, 0x00);
		EXPECT_SW(card, want, 0x00, 0xD6, 0x82, 0x00, 0x01, 0x00,
		    0x00);
		free(copy);
		vc_card_free(&card);
	}
	free(r);
}

/* --- command chaining --------------------------------------------------- */

/* UPDATE RECORD of EF.FAMILY record 3, in @p parts parts. */
static void
family_chain(vc_card *card, const uint8_t rec[FAMILY_RECLEN], size_t split)
{
	uint8_t cmd[5 + FAMILY_RECLEN];

	cmd[0] = 0x10;
	cmd[1] = 0xDC;
	cmd[2] = 0x03;
	cmd[3] = 0x3C;
	cmd[4] = (uint8_t)split;
	memcpy(cmd + 5, rec, split);
	{
		struct rsp *r = rsp_new();
		raw(card, cmd, 5 + split, r);
		assert_int_equal(r->sw, 0x9000);
		free(r);
	}
}

static void
test_chaining(void **state)
{
	vc_card *card = *state;
	struct rsp *r = rsp_new();
	uint8_t rec[FAMILY_RECLEN], cmd[5 + FAMILY_RECLEN];

	sample_member(rec, 3, 0x01);
	vc_card_test_set_role(card, VC_ROLE_BANK);
	select_app(card);
	family_chain(card, rec, 100);
	/* Not yet written: the chain is held on the card. */
	RAW(card, r, 0x00, 0xB2, 0x03, 0x3C, 0x00);
	assert_int_equal(r->sw, 0x6883);
	RAW(card, r, 0x00, 0xB2, 0x03, 0x3C, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_true(r->len == FAMILY_RECLEN && r->buf[0] == 0x00);
	/* That ended the chain; start again and finish it. */
	family_chain(card, rec, 100);
	EXPECT_SW(card, 0x9000, 0x10, 0xDC, 0x03, 0x3C);   /* empty part */
	cmd[0] = 0x00;
	cmd[1] = 0xDC;
	cmd[2] = 0x03;
	cmd[3] = 0x3C;
	cmd[4] = FAMILY_RECLEN - 100;
	memcpy(cmd + 5, rec + 100, FAMILY_RECLEN - 100);
	raw(card, cmd, 5 + FAMILY_RECLEN - 100, r);
	assert_int_equal(r->sw, 0x9000);
	RAW(card, r, 0x00, 0xB2, 0x03, 0x3C, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, FAMILY_RECLEN);
	assert_memory_equal(r->buf, rec, FAMILY_RECLEN);

	/* A part with other parameters ends the chain with 6883. */
	EXPECT_SW(card, 0x9000, 0x10, 0xDC, 0x04, 0x3C, 0x01, 0x00);
	EXPECT_SW(card, 0x6883, 0x00, 0xDC, 0x05, 0x3C, 0x01, 0x00);
	EXPECT_SW(card, 0x9000, 0x10, 0xDC, 0x04, 0x3C, 0x01, 0x00);
	EXPECT_SW(card, 0x6883, 0x00, 0xDC, 0x04, 0x04, 0x01, 0x00);
	EXPECT_SW(card, 0x9000, 0x10, 0xDC, 0x04, 0x3C, 0x01, 0x00);
	EXPECT_SW(card, 0x6883, 0x00, 0xB0, 0x82, 0x00, 0x01);
	/* The proprietary class is wrong for UPDATE RECORD: that ends it. */
	EXPECT_SW(card, 0x9000, 0x10, 0xDC, 0x04, 0x3C, 0x01, 0x00);
	EXPECT_SW(card, 0x6E00, 0x90, 0xDC, 0x04, 0x3C, 0x01, 0x00);
	EXPECT_SW(card, 0x6700, 0x00, 0xDC, 0x04, 0x3C, 0x01, 0x00);
	/* Record 4 stayed free through all of it. */
	RAW(card, r, 0x00, 0xB2, 0x04, 0x3C, 0x00);
	assert_int_equal(r->sw, 0x9000);
	for (size_t i = 0; i < FAMILY_RECLEN; i++)
		assert_int_equal(r->buf[i], 0x00);

	/* Commands without chaining support refuse a chained part. */
	EXPECT_SW(card, 0x6884, 0x10, 0xA4, 0x04, 0x0C, 0x09,
	    0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01);
	EXPECT_SW(card, 0x6884, 0x10, 0xB0, 0x82, 0x00, 0x01);
	EXPECT_SW(card, 0x6884, 0x10, 0xC0, 0x00, 0x00, 0x01);
	EXPECT_SW(card, 0x6884, 0x10, 0x20, 0x00, 0x81, 0x01, 0x00);
	EXPECT_SW(card, 0x6884, 0x90, 0x54, 0x00, 0x00, 0x01, 0x00);
	free(r);
}

static void
test_chaining_overflow(void **state)
{
	vc_card *card = *state;
	uint8_t cmd[5 + 255];
	struct rsp *r = rsp_new();
	size_t parts = VC_CHAIN_MAX / 255;   /* 16 parts fit, 4080 bytes */

	vc_card_test_set_role(card, VC_ROLE_BANK);
	select_app(card);
	cmd[0] = 0x10;
	cmd[1] = 0xDC;
	cmd[2] = 0x01;
	cmd[3] = 0x3C;
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
	EXPECT_SW(card, 0x6700, 0x00, 0xDC, 0x01, 0x3C, 0x01, 0x77);

	/* 4096 bytes fit exactly; one more does not. */
	for (size_t i = 0; i < parts; i++) {
		raw(card, cmd, sizeof(cmd), r);
		assert_int_equal(r->sw, 0x9000);
	}
	EXPECT_SW(card, 0x9000, 0x10, 0xDC, 0x01, 0x3C, 0x10,
	    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
	EXPECT_SW(card, 0x6A84, 0x10, 0xDC, 0x01, 0x3C, 0x01, 0x00);

	/* Again up to 4096 bytes, ended by an extended final part. */
	for (size_t i = 0; i < parts; i++) {
		raw(card, cmd, sizeof(cmd), r);
		assert_int_equal(r->sw, 0x9000);
	}
	/* The assembled 4096 bytes are not one record: 6700, nothing
	 * written. */
	EXPECT_SW(card, 0x6700, 0x00, 0xDC, 0x01, 0x3C, 0x00, 0x00, 0x10,
	    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
	RAW(card, r, 0x00, 0xB2, 0x01, 0x3C, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_memory_equal(r->buf, BYTES(0xE3), 1);
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
	EXPECT_SW(card, 0x6700, 0x80, 0x54, 0x00, 0x00, 0x00, 0x00, 0x28, 0x01);
	free(r);
}

static void
test_malformed_cla_ins(void **state)
{
	vc_card *card = *state;

	EXPECT_SW(card, 0x6E00, 0xFF, 0xA4, 0x00, 0x0C);
	EXPECT_SW(card, 0x6E00, 0xA0, 0xB0, 0x81, 0x00, 0x00);
	EXPECT_SW(card, 0x6E00, 0xE0, 0x54, 0x00, 0x00);
	EXPECT_SW(card, 0x6E00, 0x20, 0xA4, 0x00, 0x0C);
	/* Interindustry commands in the proprietary class, and back. */
	EXPECT_SW(card, 0x6E00, 0x80, 0xA4, 0x00, 0x0C);
	EXPECT_SW(card, 0x6E00, 0x80, 0x20, 0x00, 0x81);
	EXPECT_SW(card, 0x6E00, 0x00, 0xE2, 0x80, 0x00);
	EXPECT_SW(card, 0x6E00, 0x00, 0x54, 0x00, 0x00);
	EXPECT_SW(card, 0x6E00, 0x00, 0x52, 0x00, 0x00);
	/* Logical channels 1-3 and 4-19 are not open, in either class. */
	EXPECT_SW(card, 0x6881, 0x01, 0xA4, 0x00, 0x0C);
	EXPECT_SW(card, 0x6881, 0x03, 0xA4, 0x00, 0x0C);
	EXPECT_SW(card, 0x6881, 0x40, 0xA4, 0x00, 0x0C);
	EXPECT_SW(card, 0x6881, 0x4F, 0xA4, 0x00, 0x0C);
	EXPECT_SW(card, 0x6881, 0x81, 0x54, 0x00, 0x00);
	/* Secure messaging without a channel, or not GlobalPlatform's. */
	EXPECT_SW(card, 0x6882, 0x04, 0xA4, 0x00, 0x0C);
	EXPECT_SW(card, 0x6882, 0x0C, 0xA4, 0x00, 0x0C);
	EXPECT_SW(card, 0x6882, 0x08, 0xA4, 0x00, 0x0C);
	EXPECT_SW(card, 0x6882, 0x84, 0xE2, 0x00, 0x00);
	EXPECT_SW(card, 0x6882, 0x8C, 0x54, 0x00, 0x00);
	/* GET DATA exists now (BF21, SCP11), other data objects do not. */
	EXPECT_SW(card, 0x6A88, 0x00, 0xCA, 0x9F, 0x7F, 0x00);
	EXPECT_SW(card, 0x6A88, 0x80, 0xCA, 0x00, 0x00);
	/* Unknown and invalid instructions. */
	EXPECT_SW(card, 0x6D00, 0x00, 0x60, 0x00, 0x00);
	EXPECT_SW(card, 0x6D00, 0x00, 0x90, 0x00, 0x00);
	EXPECT_SW(card, 0x6D00, 0x00, 0x00, 0x00, 0x00);
	EXPECT_SW(card, 0x6D00, 0x80, 0x50, 0x00, 0x00);
	EXPECT_SW(card, 0x6D00, 0x80, 0x86, 0x00, 0x00);
}

/* Every 4-byte header and a few bodies: always a SW, never a crash. */
static void
test_malformed_sweep(void **state)
{
	vc_card *card = *state;
	uint8_t cmd[8];
	uint8_t rsp[300];

	/* With a role, more paths get past the access checks. */
	vc_card_test_set_role(card, VC_ROLE_BANK);
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
		/* Now and then, from inside the application. */
		if ((v & 0xFF) == 0)
			select_app(card);
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
	/* GET DATA of a data object the card does not have. */
	EXPECT_SW(card, 0x6A88, 0x00, 0xCA, 0x00, 0x00, 0x00);
	EXPECT_SW(card, 0x6985, 0x00, 0xC0, 0x00, 0x00, 0x00);

	/* Wrong P1-P2 or a data field. */
	EXPECT_SW(card, 0x6A86, 0x00, 0xC0, 0x01, 0x00, 0x00);
	EXPECT_SW(card, 0x6700, 0x00, 0xC0, 0x00, 0x00);
	EXPECT_SW(card, 0x6700, 0x00, 0xC0, 0x00, 0x00, 0x01, 0x00);
	free(r);
}

/* A warning survives GET RESPONSE: a terminated card's FCI in parts. */
static void
test_get_response_warning(void **state)
{
	vc_card *card = card_at(ST_TERMINATED, 0x01, NULL);
	struct rsp *r = rsp_new();

	(void)state;
	RAW(card, r, 0x00, 0xA4, 0x04, 0x00, 0x09,
	    0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01, 0x10);
	assert_int_equal(r->sw, 0x610C);
	assert_int_equal(r->len, 16);
	RAW(card, r, 0x00, 0xC0, 0x00, 0x00, 0x0C);
	assert_int_equal(r->sw, 0x6285);
	assert_int_equal(r->len, 12);
	assert_memory_equal(r->buf + 1, BYTES(0x05, 0x81, 0x08), 3);
	vc_card_free(&card);
	free(r);
}

/* A response buffer smaller than the data: the rest via GET RESPONSE. */
static void
test_small_buffer(void **state)
{
	vc_card *card = *state;
	struct rsp *r = rsp_new();
	const uint8_t rb[] = { 0x00, 0xB0, 0x84, 0x00, 0x00, 0x00, 0x00 };
	const uint8_t gr[] = { 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00 };
	size_t got = 0;

	select_app(card);
	raw_cap(card, rb, sizeof(rb), 302, r);
	assert_int_equal(r->sw, 0x6100);   /* 1748 left: 256 or more */
	assert_int_equal(r->len, 300);
	assert_sod(r->buf, 0, 300);
	got = 300;
	while (r->sw != 0x9000) {
		assert_int_equal(r->sw >> 8, 0x61);
		raw_cap(card, gr, sizeof(gr), 302, r);
		assert_sod(r->buf, got, r->len);
		got += r->len;
	}
	assert_int_equal(got, SOD_LEN);
	free(r);
}

/* --- power and reset ---------------------------------------------------- */

static void
test_power_off_clears_ram(void **state)
{
	vc_card *card = *state;
	struct rsp *r = rsp_new();
	uint8_t rec[FAMILY_RECLEN];

	sample_member(rec, 3, 0x00);
	vc_card_test_set_role(card, VC_ROLE_BANK);
	select_app(card);
	EXPECT_SW(card, 0x9000, 0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x02);
	/* Leave a chain behind, and the PIN verified. */
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x9000);
	EXPECT_SW(card, 0x9000, 0x10, 0xDC, 0x03, 0x3C, 0x01, 0xE3);
	vc_card_power_off(card);
	/* Current DF is the MF again, no current EF. */
	EXPECT_SW(card, 0x6986, 0x00, 0xB0, 0x00, 0x00, 0x01);
	EXPECT_SW(card, 0x6986, 0x00, 0xB0, 0x82, 0x00, 0x01);
	/* The role and the PIN are gone; the chain too. */
	select_app(card);
	EXPECT_SW(card, 0x63C3, 0x00, 0x20, 0x00, 0x81);
	EXPECT_SW(card, 0x6982, 0x00, 0xB0, 0x88, 0x00, 0x00);
	EXPECT_SW(card, 0x6982, 0x00, 0xDC, 0x03, 0x3C, 0x01, 0xE3);
	vc_card_test_set_role(card, VC_ROLE_BANK);
	assert_int_equal(send_cmd(card, 0x00, 0xDC, 0x03, 0x3C, rec,
	    FAMILY_RECLEN, 0, r), 0x9000);

	RAW(card, r, 0x00, 0xA4, 0x04, 0x04, 0x09,
	    0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01, 0x05);
	assert_int_equal(r->sw, 0x6112);
	vc_card_reset(card);
	EXPECT_SW(card, 0x6985, 0x00, 0xC0, 0x00, 0x00, 0x00);
	EXPECT_SW(card, 0x6986, 0x00, 0xB0, 0x81, 0x00, 0x00);
	/* The record written before the reset is still there. */
	select_app(card);
	vc_card_test_set_role(card, VC_ROLE_AGENCY);
	RAW(card, r, 0x00, 0xB2, 0x03, 0x3C, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_memory_equal(r->buf, rec, FAMILY_RECLEN);
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
	assert_int_equal(r->sw, 0x611C);
	RAW(card, r, 0x00, 0xC0, 0x00, 0x00, 0x1C);
	assert_int_equal(r->sw, 0x9000);
	assert_memory_equal(r->buf, FCI_APP, sizeof(FCI_APP));
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
	assert_ef_card(r->buf, CARD_SIZE);
	/* An Le within the file is no error: 61xx at once. */
	EXPECT_SW(card, 0x6104, 0x00, 0xB0, 0x81, 0x04, 0x04);
	RAW(card, r, 0x00, 0xC0, 0x00, 0x00, 0x04);
	assert_int_equal(r->sw, 0x9000);
	assert_memory_equal(r->buf, CARD_ID, 4);
	/* 256 bytes available for Le=00: 6100. */
	EXPECT_SW(card, 0x6100, 0x00, 0xB0, 0x84, 0x00, 0x00);
	RAW(card, r, 0x00, 0xC0, 0x00, 0x00, 0x00);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(r->len, 256);
	assert_sod(r->buf, 0, 256);
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
	assert_int_equal(sw, 0x6283);   /* personalized */
	assert_int_equal(n, sizeof(FCP_APP));
	assert_memory_equal(buf, FCP_APP, sizeof(FCP_APP) - 1);

	a = apdu(0xB0, 0x81, 0x00, NULL, 0, 256);
	assert_int_equal(mic_tx_transmit(tx, &a, buf, sizeof(buf), &n, &sw),
	    MIC_OK);
	assert_int_equal(sw, 0x9000);
	assert_int_equal(n, CARD_SIZE);
	assert_ef_card(buf, CARD_SIZE);

	a = apdu(0xB0, 0x89, 0x00, NULL, 0, 256);
	assert_int_equal(mic_tx_transmit(tx, &a, buf, sizeof(buf), &n, &sw),
	    MIC_OK);
	assert_int_equal(sw, 0x6982);

	a = apdu(0xB0, 0x84, 0x10, NULL, 0, 256);
	assert_int_equal(mic_tx_transmit(tx, &a, buf, sizeof(buf), &n, &sw),
	    MIC_OK);
	assert_int_equal(sw, 0x9000);
	assert_int_equal(n, 256);
	assert_sod(buf, 0x10, 256);
	mic_tx_free(&tx);
}

/* A DEBIT's receipt through 61xx on a T=0 card. */
static void
test_t0_debit(void **state)
{
	vc_card *card = *state;
	mic_tx_t *tx = tx_new(card, 0);
	uint8_t data[40], buf[256];
	mic_apdu a;
	size_t n = 0;
	uint16_t sw = 0;

	select_app(card);
	vc_card_test_set_role(card, VC_ROLE_PHARMACY);
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x9000);
	tx_data(data, 250, 77, 0x00);
	a = apdu(0x54, 0x00, 0x00, data, sizeof(data), 256);
	a.cla = 0x80;
	assert_int_equal(mic_tx_transmit(tx, &a, buf, sizeof(buf), &n, &sw),
	    MIC_OK);
	assert_int_equal(sw, 0x9000);
	assert_true(n > 12);
	assert_int_equal(be32(buf), 2);
	assert_int_equal(be64(buf + 4), START_BALANCE - 250);
	mic_tx_free(&tx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_args),
		cmocka_unit_test(test_serial_mapping),
		cmocka_unit_test_setup_teardown(test_transmit_args, setup_blank, teardown),
		cmocka_unit_test_setup_teardown(test_atr, setup_blank, teardown),
		cmocka_unit_test_setup_teardown(test_select_aid_fci, setup_blank, teardown),
		cmocka_unit_test_setup_teardown(test_select_aid_fcp_fmd_none, setup_blank, teardown),
		cmocka_unit_test_setup_teardown(test_select_aid_partial_next, setup_blank, teardown),
		cmocka_unit_test_setup_teardown(test_select_not_found, setup_blank, teardown),
		cmocka_unit_test_setup_teardown(test_select_fid, setup_blank, teardown),
		cmocka_unit_test_setup_teardown(test_select_bad_params, setup_blank, teardown),
		cmocka_unit_test(test_select_states),
		cmocka_unit_test_setup_teardown(test_read_sfi_and_current, setup_perso, teardown),
		cmocka_unit_test_setup_teardown(test_read_beyond, setup_perso, teardown),
		cmocka_unit_test_setup_teardown(test_read_extended, setup_perso, teardown),
		cmocka_unit_test_setup_teardown(test_read_errors, setup_perso, teardown),
		cmocka_unit_test_setup_teardown(test_read_app_not_selected, setup_active, teardown),
		cmocka_unit_test(test_update_binary_refused),
		cmocka_unit_test_setup_teardown(test_chaining, setup_active, teardown),
		cmocka_unit_test_setup_teardown(test_chaining_overflow, setup_active, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_length, setup_blank, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_cla_ins, setup_blank, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_sweep, setup_blank, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_sweep, setup_blank_t0, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_sweep, setup_active, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_sweep, setup_active_t0, teardown),
		cmocka_unit_test_setup_teardown(test_get_response, setup_blank, teardown),
		cmocka_unit_test(test_get_response_warning),
		cmocka_unit_test_setup_teardown(test_small_buffer, setup_perso, teardown),
		cmocka_unit_test_setup_teardown(test_power_off_clears_ram, setup_active, teardown),
		cmocka_unit_test_setup_teardown(test_t0_select, setup_blank_t0, teardown),
		cmocka_unit_test_setup_teardown(test_t0_read, setup_perso_t0, teardown),
		cmocka_unit_test_setup_teardown(test_t0_through_host, setup_perso_t0, teardown),
		cmocka_unit_test_setup_teardown(test_t0_debit, setup_active_t0, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
