/*
 * The reference card's application (docs/card-profile.md sections 3 to 7):
 * personalization, PIN, life cycle, the access table of section 4.3 as a
 * whole matrix, records, DEBIT and CREDIT with receipts checked by OpenSSL
 * against the key from GENERATE ASYMMETRIC KEY PAIR, persistence and torn
 * commits.
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
#include <mic/tlv.h>
#include <mic/tx.h>

#include "card_internal.h"
#include "internal.h"
#include "test_vcard_util.h"

static const uint8_t AID[] = VC_MIC_AID;
static const uint8_t ACT_DATA[] = {
	0x20, 0x26, 0x03, 0x02, 0x10, 0x11, 0x12,
	'T', 'E', 'R', 'M', '0', '0', '0', '9',
};

/* --- helpers ------------------------------------------------------------ */

/* Like send_cmd(), but the transmit result is the test's to check. */
static mic_rc
try_cmd(vc_card *card, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
    const uint8_t *data, size_t nc, size_t ne, uint16_t *sw)
{
	uint8_t *cmd = malloc(MIC_APDU_CMD_MAX), *rsp = malloc(MIC_APDU_RSP_MAX);
	size_t len = 0, n = MIC_APDU_RSP_MAX;
	mic_apdu a;
	mic_rc rc;

	assert_non_null(cmd);
	assert_non_null(rsp);
	memset(&a, 0, sizeof(a));
	a.cla = cla;
	a.ins = ins;
	a.p1 = p1;
	a.p2 = p2;
	a.data = data;
	a.nc = nc;
	a.ne = ne;
	assert_int_equal(mic_apdu_encode(&a, MIC_APDU_AUTO, cmd,
	    MIC_APDU_CMD_MAX, &len), MIC_OK);
	rc = vc_card_transmit(card, cmd, len, rsp, &n);
	if (rc == MIC_OK) {
		assert_true(n >= 2);
		*sw = mici_get_u16(rsp + n - 2);
	}
	free(cmd);
	free(rsp);
	return rc;
}

static int
all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

static const struct vc_nv *
nv_of(const vc_card *card)
{
	const uint8_t *nv = NULL;
	size_t len = 0;

	vc_card_nv(card, &nv, &len);
	assert_int_equal(len, sizeof(struct vc_nv));
	return (const struct vc_nv *)(const void *)nv;
}

static uint8_t *
nv_copy(const vc_card *card)
{
	uint8_t *copy = malloc(sizeof(struct vc_nv));

	assert_non_null(copy);
	memcpy(copy, nv_of(card), sizeof(struct vc_nv));
	return copy;
}

static void
assert_nv(const vc_card *card, const uint8_t *want)
{
	assert_memory_equal(nv_of(card), want, sizeof(struct vc_nv));
}

static uint16_t
activate_cmd(vc_card *card, const uint8_t *data, size_t len)
{
	return send_cmd(card, 0x00, 0x44, 0x00, 0x00, data, len, 0, NULL);
}

static uint16_t
reason_cmd(vc_card *card, uint8_t ins, uint8_t reason)
{
	return send_cmd(card, 0x00, ins, 0x00, 0x00, &reason, 1, 0, NULL);
}

static uint16_t
rrc_cmd(vc_card *card, const char *pin)
{
	uint8_t blk[8];

	pin_block(pin, blk);
	return send_cmd(card, 0x00, 0x2C, 0x02, 0x81, blk, 8, 0, NULL);
}

static uint16_t
verify_block(vc_card *card, const uint8_t *blk, size_t len)
{
	return send_cmd(card, 0x00, 0x20, 0x00, 0x81, blk, len, 0, NULL);
}

static uint16_t
read_record(vc_card *card, uint8_t sfi, uint8_t rec, struct rsp *r)
{
	return send_cmd(card, 0x00, 0xB2, rec, (uint8_t)(sfi << 3 | 0x04),
	    NULL, 0, 256, r);
}

static uint16_t
read_binary(vc_card *card, uint8_t sfi, struct rsp *r)
{
	return send_cmd(card, 0x00, 0xB0, (uint8_t)(0x80 | sfi), 0x00, NULL,
	    0, 256, r);
}

/* One DGI in one STORE DATA block. */
static uint16_t
store_one(vc_card *card, uint8_t p1, uint8_t p2, uint16_t dgi,
    const uint8_t *data, size_t len)
{
	uint8_t *buf = malloc(4096);
	size_t off = 0;
	uint16_t sw;

	assert_non_null(buf);
	put_dgi(buf, 4096, &off, dgi, data, len);
	sw = store_data(card, p1, p2, buf, off);
	free(buf);
	return sw;
}

/* A blank card, the bureau's channel open, DF.MIC selected. */
static vc_card *
bureau_card(void)
{
	vc_card *card = card_at(ST_BLANK, 0x01, NULL);

	vc_card_test_set_role(card, VC_ROLE_BUREAU);
	select_app(card);
	return card;
}

/* --- personalization ---------------------------------------------------- */

static void
test_perso_flow(void **state)
{
	uint8_t pub[65], pub2[65], tmpl[2048], want[2048];
	struct rsp *r = rsp_new();
	vc_card *card;
	size_t n;

	(void)state;
	card = card_at(ST_PERSO_TRANSPORT, 0x01, pub);
	assert_int_equal(vc_card_state(card), VC_STATE_PERSONALIZED);
	assert_int_equal(pub[0], 0x04);
	select_app(card);
	/* Every file as stored, padded with 00 to its size. */
	n = sample_card(tmpl, sizeof(tmpl));
	memset(want, 0, sizeof(want));
	memcpy(want, tmpl, n);
	assert_int_equal(read_binary(card, 1, r), 0x9000);
	assert_int_equal(r->len, 128);
	assert_memory_equal(r->buf, want, 128);
	/* The holder's files: not in plain (card profile 4.3); any role. */
	assert_int_equal(read_binary(card, 2, r), 0x6982);
	assert_int_equal(read_binary(card, 3, r), 0x6982);
	assert_int_equal(read_binary(card, 6, r), 0x6982);
	vc_card_test_set_role(card, VC_ROLE_PHARMACY);
	n = sample_holder(tmpl, sizeof(tmpl));
	memset(want, 0, sizeof(want));
	memcpy(want, tmpl, n);
	assert_int_equal(read_binary(card, 2, r), 0x9000);
	assert_int_equal(r->len, 160);
	assert_memory_equal(r->buf, want, 160);
	n = sample_insurance(tmpl, sizeof(tmpl), 0x01);
	memset(want, 0, sizeof(want));
	memcpy(want, tmpl, n);
	assert_int_equal(read_binary(card, 3, r), 0x9000);
	assert_int_equal(r->len, 64);
	assert_memory_equal(r->buf, want, 64);
	sample_cert(want);
	assert_int_equal(send_cmd(card, 0x00, 0xB0, 0x85, 0x00, NULL, 0,
	    65536, r), 0x9000);
	assert_int_equal(r->len, CERT_LEN);
	assert_memory_equal(r->buf, want, CERT_LEN);
	sample_sod(want);
	assert_int_equal(send_cmd(card, 0x00, 0xB0, 0x84, 0x00, NULL, 0,
	    65536, r), 0x9000);
	assert_int_equal(r->len, SOD_LEN);
	assert_memory_equal(r->buf, want, SOD_LEN);
	/* EF.ACTIVATION is still empty. */
	assert_int_equal(read_binary(card, 6, r), 0x9000);
	assert_int_equal(r->len, 48);
	for (size_t i = 0; i < 48; i++)
		assert_int_equal(r->buf[i], 0);
	/* The private files need a channel before activation. */
	vc_card_test_set_role(card, VC_ROLE_NONE);
	assert_int_equal(read_binary(card, 8, r), 0x6982);
	vc_card_test_set_role(card, VC_ROLE_BANK);
	assert_int_equal(read_binary(card, 8, r), 0x9000);
	assert_memory_equal(r->buf, BYTES(0xE4, 0x10, 0x80, 0x08, 0, 0, 0, 0,
	    0, 0, 0, 0, 0x81, 0x04, 0, 0, 0, 0), 18);
	for (size_t i = 18; i < 32; i++)
		assert_int_equal(r->buf[i], 0);
	sample_member(want, 1, 0x01);
	assert_int_equal(read_record(card, 7, 1, r), 0x9000);
	assert_memory_equal(r->buf, want, FAMILY_RECLEN);
	sample_member(want, 2, 0x00);
	assert_int_equal(read_record(card, 7, 2, r), 0x9000);
	assert_memory_equal(r->buf, want, FAMILY_RECLEN);
	assert_int_equal(read_record(card, 7, 3, r), 0x9000);
	assert_true(r->len == FAMILY_RECLEN && all_zero(r->buf, 128));
	assert_int_equal(read_record(card, 9, 1, r), 0x6A83);
	/* Personalization is over. */
	vc_card_test_set_role(card, VC_ROLE_BUREAU);
	EXPECT_SW(card, 0x6985, 0x00, 0x47, 0x80, 0x00, 0x00);
	assert_int_equal(store_one(card, 0x80, 0x00, 0x0101, tmpl, 10),
	    0x6985);
	vc_card_free(&card);

	/* A second GENERATE replaces the key pair while blank. */
	card = bureau_card();
	assert_int_equal(send_cmd(card, 0x00, 0x47, 0x80, 0x00, NULL, 0, 256,
	    r), 0x9000);
	memcpy(pub, r->buf + 5, 65);
	assert_int_equal(send_cmd(card, 0x00, 0x47, 0x80, 0x00, NULL, 0, 256,
	    r), 0x9000);
	memcpy(pub2, r->buf + 5, 65);
	assert_memory_not_equal(pub, pub2, 65);
	assert_memory_equal(nv_of(card)->pub, pub2, 65);
	/* Wrong parameters and data. */
	EXPECT_SW(card, 0x6A86, 0x00, 0x47, 0x81, 0x00, 0x00);
	EXPECT_SW(card, 0x6A86, 0x00, 0x47, 0x80, 0x01, 0x00);
	EXPECT_SW(card, 0x6700, 0x00, 0x47, 0x80, 0x00, 0x01, 0xAA, 0x00);
	vc_card_free(&card);
	free(r);
}

/* The bureau's whole run through the host, which chains CLA 80 too. */
static void
test_perso_through_host(void **state)
{
	vc_card *card;
	mic_tx_t *tx = NULL;
	uint8_t *buf = malloc(4096), *tmpl = malloc(2048), rsp[256];
	mic_tx_stats st;
	mic_apdu a;
	size_t off = 0, n = 0;
	uint16_t sw = 0;

	(void)state;
	assert_non_null(buf);
	assert_non_null(tmpl);
	card = bureau_card();
	assert_int_equal(mic_tx_new_inproc(&tx, vc_card_transmit, card),
	    MIC_OK);
	memset(&a, 0, sizeof(a));
	a.ins = 0x47;
	a.p1 = 0x80;
	a.ne = 256;
	assert_int_equal(mic_tx_transmit(tx, &a, rsp, sizeof(rsp), &n, &sw),
	    MIC_OK);
	assert_int_equal(sw, 0x9000);
	assert_int_equal(n, 70);

	/* Every DGI but the family in one 3.3 KiB STORE DATA. */
	put_dgi(buf, 4096, &off, 0x0101, tmpl, sample_card(tmpl, 2048));
	put_dgi(buf, 4096, &off, 0x0102, tmpl, sample_holder(tmpl, 2048));
	put_dgi(buf, 4096, &off, 0x0103, tmpl,
	    sample_insurance(tmpl, 2048, 0x00));
	sample_sod(tmpl);
	put_dgi(buf, 4096, &off, 0x0104, tmpl, SOD_LEN);
	pin_block(TRANSPORT_PIN, tmpl);
	put_dgi(buf, 4096, &off, 0x8010, tmpl, 8);
	memset(&a, 0, sizeof(a));
	a.cla = 0x80;
	a.ins = 0xE2;
	a.data = buf;
	a.nc = off;
	assert_int_equal(mic_tx_transmit(tx, &a, NULL, 0, &n, &sw), MIC_OK);
	assert_int_equal(sw, 0x9000);
	mic_tx_get_stats(tx, &st);
	assert_true(st.apdus >= 1 + (off + 254) / 255);

	/* The last block: the certificate. */
	off = 0;
	sample_cert(tmpl);
	put_dgi(buf, 4096, &off, 0x0105, tmpl, CERT_LEN);
	a.p1 = 0x80;
	a.p2 = 0x01;
	a.nc = off;
	assert_int_equal(mic_tx_transmit(tx, &a, NULL, 0, &n, &sw), MIC_OK);
	assert_int_equal(sw, 0x9000);
	assert_int_equal(vc_card_state(card), VC_STATE_PERSONALIZED);
	mic_tx_free(&tx);
	vc_card_free(&card);
	free(buf);
	free(tmpl);
}

static void
test_perso_blocks(void **state)
{
	vc_card *card = bureau_card();
	uint8_t tmpl[256], *before;
	size_t n = sample_card(tmpl, sizeof(tmpl));

	(void)state;
	/* Numbered from 00, no gaps, no repeats. */
	assert_int_equal(store_one(card, 0x00, 0x01, 0x0101, tmpl, n), 0x6A86);
	assert_int_equal(store_one(card, 0x00, 0x00, 0x0101, tmpl, n), 0x9000);
	assert_int_equal(store_one(card, 0x00, 0x00, 0x0101, tmpl, n), 0x6A86);
	assert_int_equal(store_one(card, 0x00, 0x02, 0x0101, tmpl, n), 0x6A86);
	/* A refused block does not count: the same number again. */
	assert_int_equal(store_one(card, 0x00, 0x01, 0x0999, tmpl, n), 0x6A80);
	assert_int_equal(store_one(card, 0x00, 0x01, 0x0101, tmpl, n), 0x9000);
	/* A reset or a SELECT starts a new sequence; data stays. */
	vc_card_reset(card);
	vc_card_test_set_role(card, VC_ROLE_BUREAU);
	select_app(card);
	assert_int_equal(store_one(card, 0x00, 0x02, 0x0101, tmpl, n), 0x6A86);
	assert_int_equal(store_one(card, 0x00, 0x00, 0x0101, tmpl, n), 0x9000);
	select_app(card);
	assert_int_equal(store_one(card, 0x00, 0x00, 0x0101, tmpl, n), 0x9000);
	assert_true(nv_of(card)->perso & PERSO_CARD);
	/* Empty blocks count too. */
	assert_int_equal(store_data(card, 0x00, 0x01, NULL, 0), 0x9000);
	assert_int_equal(store_data(card, 0x00, 0x02, NULL, 0), 0x9000);
	/* P1 bits 7-1 are not for us; a wrong class or SM neither. */
	before = nv_copy(card);
	assert_int_equal(store_one(card, 0x40, 0x03, 0x0101, tmpl, n), 0x6A86);
	assert_int_equal(store_one(card, 0x01, 0x03, 0x0101, tmpl, n), 0x6A86);
	EXPECT_SW(card, 0x6E00, 0x00, 0xE2, 0x00, 0x03, 0x00);
	EXPECT_SW(card, 0x6882, 0x84, 0xE2, 0x00, 0x03, 0x00);
	assert_nv(card, before);
	/* Up to block FF, then no more. */
	for (unsigned b = 3; b <= 0xFF; b++)
		assert_int_equal(store_data(card, 0x00, (uint8_t)b, NULL, 0),
		    0x9000);
	assert_int_equal(store_data(card, 0x00, 0x00, NULL, 0), 0x6A86);
	free(before);
	vc_card_free(&card);
}

/* The last block checks everything is there; if not, nothing happens. */
static void
test_perso_incomplete(void **state)
{
	uint8_t tmpl[2048], blk[8], *before;
	vc_card *card;

	(void)state;
	pin_block(TRANSPORT_PIN, blk);
	/* No key pair. */
	card = bureau_card();
	for (uint16_t dgi = 0x0101; dgi <= 0x0105; dgi++) {
		size_t n = 0;
		switch (dgi) {
		case 0x0101: n = sample_card(tmpl, sizeof(tmpl)); break;
		case 0x0102: n = sample_holder(tmpl, sizeof(tmpl)); break;
		case 0x0103: n = sample_insurance(tmpl, sizeof(tmpl), 1); break;
		case 0x0104: sample_sod(tmpl); n = SOD_LEN; break;
		default: sample_cert(tmpl); n = CERT_LEN; break;
		}
		assert_int_equal(store_one(card, 0x00, (uint8_t)(dgi - 0x0101),
		    dgi, tmpl, n), 0x9000);
	}
	before = nv_copy(card);
	assert_int_equal(store_one(card, 0x80, 0x05, 0x8010, blk, 8), 0x6985);
	assert_int_equal(vc_card_state(card), VC_STATE_BLANK);
	/* Nothing of the refused block was kept, its number neither. */
	assert_nv(card, before);
	assert_int_equal(store_one(card, 0x00, 0x05, 0x8010, blk, 8), 0x9000);
	assert_int_equal(store_data(card, 0x80, 0x06, NULL, 0), 0x6985);
	EXPECT_SW(card, 0x9000, 0x00, 0x47, 0x80, 0x00);
	assert_int_equal(store_data(card, 0x80, 0x06, NULL, 0), 0x9000);
	assert_int_equal(vc_card_state(card), VC_STATE_PERSONALIZED);
	vc_card_free(&card);
	free(before);

	/* Each mandatory DGI missing in turn: the transport PIN, each EF. */
	for (int miss = 0; miss < 6; miss++) {
		card = bureau_card();
		EXPECT_SW(card, 0x9000, 0x00, 0x47, 0x80, 0x00);
		for (int d = 0; d < 6; d++) {
			uint16_t dgi = d < 5 ? (uint16_t)(0x0101 + d) : 0x8010;
			size_t n = 0;
			if (d == miss)
				continue;
			switch (d) {
			case 0: n = sample_card(tmpl, sizeof(tmpl)); break;
			case 1: n = sample_holder(tmpl, sizeof(tmpl)); break;
			case 2: n = sample_insurance(tmpl, sizeof(tmpl), 1);
				break;
			case 3: sample_sod(tmpl); n = SOD_LEN; break;
			case 4: sample_cert(tmpl); n = CERT_LEN; break;
			default: memcpy(tmpl, blk, 8); n = 8; break;
			}
			assert_int_equal(store_one(card, 0x00,
			    (uint8_t)(d < miss ? d : d - 1), dgi, tmpl, n),
			    0x9000);
		}
		assert_int_equal(store_data(card, 0x80, 0x05, NULL, 0),
		    0x6985);
		assert_int_equal(vc_card_state(card), VC_STATE_BLANK);
		vc_card_free(&card);
	}
}

/* A template with one object replaced, for the format checks. */
struct obj {
	uint32_t tag;
	const char *val;   /* NULL: leave the object out */
	size_t len;        /* 0: strlen(val) */
};

static size_t
build(uint8_t *buf, size_t cap, uint32_t tmpl, const struct obj *o,
    size_t n)
{
	mic_tlv_writer w;
	size_t len = 0;

	mic_tlv_writer_init(&w, buf, cap);
	mic_tlv_open(&w, tmpl);
	for (size_t i = 0; i < n; i++)
		if (o[i].val != NULL)
			mic_tlv_put(&w, o[i].tag, (const uint8_t *)o[i].val,
			    o[i].len ? o[i].len : strlen(o[i].val));
	mic_tlv_close(&w);
	assert_int_equal(mic_tlv_writer_finish(&w, &len), MIC_OK);
	return len;
}

#define CARD_OBJS(id, num, type, ver, iin, issued, expires) { \
	{ 0x80, id, 0 }, { 0x81, num, 0 }, { 0x82, type, 1 }, \
	{ 0x83, ver, 2 }, { 0x42, iin, 0 }, { 0x5F25, issued, 4 }, \
	{ 0x5F24, expires, 4 } }
#define HOLDER_OBJS(ssn, name, gender, birth, place) { \
	{ 0x80, ssn, 0 }, { 0x5F20, name, 0 }, { 0x5F35, gender, 0 }, \
	{ 0x5F2B, birth, 4 }, { 0x81, place, 0 } }

static void
expect_body(vc_card *card, uint16_t dgi, uint32_t tmpl, const struct obj *o,
    size_t n, uint16_t want)
{
	uint8_t buf[512];
	size_t len = build(buf, sizeof(buf), tmpl, o, n);

	assert_int_equal(store_one(card, 0x00, 0x00, dgi, buf, len), want);
	if (want == 0x9000)
		select_app(card);   /* block 00 again */
}

static void
test_perso_bad_templates(void **state)
{
	vc_card *card = bureau_card();
	const char *id = CARD_ID, *ssn = "110105198001010016";
	const char d1[] = "\x20\x26\x01\x15", d2[] = "\x20\x36\x01\x14";
	const char b[] = "\x19\x80\x01\x01";
	uint8_t buf[512];
	size_t n;

	(void)state;
	{
		const struct obj ok[] = CARD_OBJS(id, "A12345678", "\x01",
		    "\x01\x00", "110100", d1, d2);
		expect_body(card, 0x0101, 0x66, ok, 7, 0x9000);
	}
	{
		/* A mandatory object missing. */
		const struct obj o[] = CARD_OBJS(id, "A12345678", "\x01",
		    "\x01\x00", "110100", d1, NULL);
		expect_body(card, 0x0101, 0x66, o, 7, 0x6A80);
	}
	{
		/* The template tag of another file. */
		const struct obj o[] = CARD_OBJS(id, "A12345678", "\x01",
		    "\x01\x00", "110100", d1, d2);
		expect_body(card, 0x0101, 0x65, o, 7, 0x6A80);
	}
	{
		/* Card id not of the issuer, a short card number, card type
		 * 02, profile 02 00, a non-BCD date, month 13. */
		const char *bad_id = "110101D1560000011100010000000001";
		const struct obj o1[] = CARD_OBJS(bad_id, "A12345678", "\x01",
		    "\x01\x00", "110100", d1, d2);
		const struct obj o2[] = CARD_OBJS(id, "A1234567", "\x01",
		    "\x01\x00", "110100", d1, d2);
		const struct obj o3[] = CARD_OBJS(id, "A12345678", "\x02",
		    "\x01\x00", "110100", d1, d2);
		const struct obj o4[] = CARD_OBJS(id, "A12345678", "\x01",
		    "\x02\x00", "110100", d1, d2);
		const struct obj o5[] = CARD_OBJS(id, "A12345678", "\x01",
		    "\x01\x00", "110100", "\x20\x2A\x01\x01", d2);
		const struct obj o6[] = CARD_OBJS(id, "A12345678", "\x01",
		    "\x01\x00", "110100", "\x20\x26\x13\x01", d2);
		const struct obj o7[] = CARD_OBJS(
		    "110100D1560000021100010000000001", "A12345678", "\x01",
		    "\x01\x00", "110100", d1, d2);
		expect_body(card, 0x0101, 0x66, o1, 7, 0x6A80);
		expect_body(card, 0x0101, 0x66, o2, 7, 0x6A80);
		expect_body(card, 0x0101, 0x66, o3, 7, 0x6A80);
		expect_body(card, 0x0101, 0x66, o4, 7, 0x6A80);
		expect_body(card, 0x0101, 0x66, o5, 7, 0x6A80);
		expect_body(card, 0x0101, 0x66, o6, 7, 0x6A80);
		expect_body(card, 0x0101, 0x66, o7, 7, 0x6A80);
	}
	{
		/* Unknown context-specific tags are ignored; another class,
		 * or a known tag twice, is not. */
		const struct obj o1[] = { { 0x80, id, 0 },
		    { 0x81, "A12345678", 0 }, { 0x82, "\x01", 1 },
		    { 0x83, "\x01\x00", 2 }, { 0x42, "110100", 0 },
		    { 0x5F25, d1, 4 }, { 0x5F24, d2, 4 }, { 0x88, "x", 0 } };
		const struct obj o2[] = { { 0x80, id, 0 },
		    { 0x81, "A12345678", 0 }, { 0x82, "\x01", 1 },
		    { 0x83, "\x01\x00", 2 }, { 0x42, "110100", 0 },
		    { 0x5F25, d1, 4 }, { 0x5F24, d2, 4 }, { 0x5F29, "x", 0 } };
		const struct obj o3[] = { { 0x80, id, 0 },
		    { 0x81, "A12345678", 0 }, { 0x82, "\x01", 1 },
		    { 0x83, "\x01\x00", 2 }, { 0x42, "110100", 0 },
		    { 0x5F25, d1, 4 }, { 0x5F24, d2, 4 }, { 0x82, "\x01", 1 } };
		expect_body(card, 0x0101, 0x66, o1, 8, 0x9000);
		expect_body(card, 0x0101, 0x66, o2, 8, 0x6A80);
		expect_body(card, 0x0101, 0x66, o3, 8, 0x6A80);
	}
	{
		const struct obj ok[] = HOLDER_OBJS(ssn, "Li", "1", b, "110105");
		/* Check digit, gender against position 17, birth date against
		 * positions 7-14, a NUL, bad UTF-8, trailing blank, a letter
		 * in the birthplace. */
		const struct obj o1[] = HOLDER_OBJS("110105198001010017", "Li",
		    "1", b, "110105");
		const struct obj o2[] = HOLDER_OBJS(ssn, "Li", "2", b,
		    "110105");
		const struct obj o3[] = HOLDER_OBJS(ssn, "Li", "1",
		    "\x19\x80\x01\x02", "110105");
		const struct obj o4[] = { { 0x80, ssn, 0 },
		    { 0x5F20, "L\0i", 3 }, { 0x5F35, "1", 0 },
		    { 0x5F2B, b, 4 }, { 0x81, "110105", 0 } };
		const struct obj o5[] = HOLDER_OBJS(ssn, "\xC0\x80", "1", b,
		    "110105");
		const struct obj o6[] = HOLDER_OBJS(ssn, "Li ", "1", b,
		    "110105");
		const struct obj o7[] = HOLDER_OBJS(ssn, "Li", "1", b,
		    "11010A");
		const struct obj o8[] = HOLDER_OBJS(ssn, "Li", "3", b,
		    "110105");
		const struct obj o9[] = HOLDER_OBJS(ssn, "Li", "9", b,
		    "110105");
		expect_body(card, 0x0102, 0x65, ok, 5, 0x9000);
		expect_body(card, 0x0102, 0x65, o1, 5, 0x6A80);
		expect_body(card, 0x0102, 0x65, o2, 5, 0x6A80);
		expect_body(card, 0x0102, 0x65, o3, 5, 0x6A80);
		expect_body(card, 0x0102, 0x65, o4, 5, 0x6A80);
		expect_body(card, 0x0102, 0x65, o5, 5, 0x6A80);
		expect_body(card, 0x0102, 0x65, o6, 5, 0x6A80);
		expect_body(card, 0x0102, 0x65, o7, 5, 0x6A80);
		expect_body(card, 0x0102, 0x65, o8, 5, 0x6A80);
		expect_body(card, 0x0102, 0x65, o9, 5, 0x9000);
	}
	{
		const struct obj ok[] = { { 0x80, "2", 0 },
		    { 0x81, "110100", 0 }, { 0x82, "\x20\x20\x07\x01", 4 },
		    { 0x83, "\x00", 1 } };
		const struct obj o1[] = { { 0x80, "3", 0 },
		    { 0x81, "110100", 0 }, { 0x82, "\x20\x20\x07\x01", 4 },
		    { 0x83, "\x00", 1 } };
		const struct obj o2[] = { { 0x80, "1", 0 },
		    { 0x81, "110100", 0 }, { 0x82, "\x20\x20\x07\x01", 4 },
		    { 0x83, "\x00\x00", 2 } };
		expect_body(card, 0x0103, 0xE1, ok, 4, 0x9000);
		expect_body(card, 0x0103, 0xE1, o1, 4, 0x6A80);
		expect_body(card, 0x0103, 0xE1, o2, 4, 0x6A80);
	}
	/* Padding must be 00; the body may not outgrow its file. */
	n = sample_card(buf, sizeof(buf));
	memset(buf + n, 0, sizeof(buf) - n);
	assert_int_equal(store_one(card, 0x00, 0x00, 0x0101, buf, 128), 0x9000);
	assert_int_equal(store_one(card, 0x00, 0x01, 0x0101, buf, 129), 0x6A80);
	buf[127] = 0x01;
	assert_int_equal(store_one(card, 0x00, 0x01, 0x0101, buf, 128), 0x6A80);
	/* SOD and certificate: a DER SEQUENCE. */
	assert_int_equal(store_one(card, 0x00, 0x01, 0x0104,
	    BYTES(0x30, 0x01, 0x00), 3), 0x9000);
	assert_int_equal(store_one(card, 0x00, 0x02, 0x0104,
	    BYTES(0x31, 0x01, 0x00), 3), 0x6A80);
	assert_int_equal(store_one(card, 0x00, 0x02, 0x0105,
	    BYTES(0x30, 0x05, 0x00), 3), 0x6A80);
	assert_int_equal(store_one(card, 0x00, 0x02, 0x0105, NULL, 0), 0x6A80);
	vc_card_free(&card);
}

static void
test_perso_bad_dgis(void **state)
{
	vc_card *card = bureau_card();
	uint8_t rec[3 * FAMILY_RECLEN], blk[8], *before, *buf = malloc(600);
	size_t off = 0, n;

	(void)state;
	assert_non_null(buf);
	before = nv_copy(card);
	/* Unknown DGIs, EF.ACCOUNT, EF.ACTIVATION and EF.LOG included. */
	static const uint16_t unknown[] = { 0x0000, 0x0100, 0x0106, 0x0108,
	    0x0109, 0x010A, 0x8000, 0x8011, 0x9102, 0xFFFF };
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		assert_int_equal(store_one(card, 0x00, 0x00, unknown[i],
		    BYTES(0x00), 1), 0x6A80);
	/* Cut headers and lengths running past the command. */
	assert_int_equal(store_data(card, 0x00, 0x00, BYTES(0x01), 1), 0x6A80);
	assert_int_equal(store_data(card, 0x00, 0x00, BYTES(0x01, 0x01), 2),
	    0x6A80);
	assert_int_equal(store_data(card, 0x00, 0x00,
	    BYTES(0x01, 0x01, 0xFF, 0x00), 4), 0x6A80);
	assert_int_equal(store_data(card, 0x00, 0x00,
	    BYTES(0x01, 0x01, 0x05, 0x66, 0x00), 5), 0x6A80);
	assert_int_equal(store_data(card, 0x00, 0x00,
	    BYTES(0x80, 0x10, 0xFF, 0x00, 0x09, 0x26), 6), 0x6A80);
	/* Bad PIN blocks, bad lengths. */
	pin_block("12345", blk);
	assert_int_equal(store_one(card, 0x00, 0x00, 0x8010, blk, 8), 0x6A80);
	pin_block("1234567890123", blk);
	assert_int_equal(store_one(card, 0x00, 0x00, 0x8010, blk, 8), 0x6A80);
	pin_block(TRANSPORT_PIN, blk);
	assert_int_equal(store_one(card, 0x00, 0x00, 0x8010, blk, 7), 0x6A80);
	/* Family: whole records only, each free or a good E3. */
	sample_member(rec, 1, 0x01);
	assert_int_equal(store_one(card, 0x00, 0x00, 0x0107, rec, 127), 0x6A80);
	memset(rec + FAMILY_RECLEN, 0, FAMILY_RECLEN);
	sample_member(rec + 2 * FAMILY_RECLEN, 2, 0x02);
	assert_int_equal(store_one(card, 0x00, 0x00, 0x0107, rec,
	    3 * FAMILY_RECLEN), 0x6A80);
	/* A good DGI before a bad one: the command is refused whole. */
	n = sample_card(buf, 600);
	memmove(buf + 3, buf, n);
	buf[0] = 0x01;
	buf[1] = 0x01;
	buf[2] = (uint8_t)n;
	off = 3 + n;
	put_dgi(buf, 600, &off, 0x0106, BYTES(0x00), 1);
	assert_int_equal(store_data(card, 0x00, 0x00, buf, off), 0x6A80);
	assert_nv(card, before);
	/* The long length form for a short DGI is fine; so is a free
	 * record between members. */
	assert_int_equal(store_data(card, 0x00, 0x00,
	    BYTES(0x80, 0x10, 0xFF, 0x00, 0x08, 0x26, 0x11, 0x11, 0x11, 0xFF,
	    0xFF, 0xFF, 0xFF), 13), 0x9000);
	sample_member(rec + 2 * FAMILY_RECLEN, 2, 0x00);
	assert_int_equal(store_one(card, 0x00, 0x01, 0x0107, rec,
	    3 * FAMILY_RECLEN), 0x9000);
	assert_true(nv_of(card)->perso & PERSO_FAMILY);
	assert_true(nv_of(card)->pin_transport);
	free(before);
	free(buf);
	vc_card_free(&card);
}

static void
test_perso_access(void **state)
{
	vc_card *card = card_at(ST_BLANK, 0x01, NULL);
	uint8_t tmpl[256];
	size_t n = sample_card(tmpl, sizeof(tmpl));

	(void)state;
	select_app(card);
	for (int role = VC_ROLE_NONE; role < VC_ROLE_BUREAU; role++) {
		vc_card_test_set_role(card, (enum vc_role)role);
		EXPECT_SW(card, 0x6982, 0x00, 0x47, 0x80, 0x00, 0x00);
		assert_int_equal(store_one(card, 0x00, 0x00, 0x0101, tmpl, n),
		    0x6982);
	}
	/* Nothing from blank but personalization and reading EF.DIR. */
	vc_card_test_set_role(card, VC_ROLE_BANK);
	EXPECT_SW(card, 0x6985, 0x00, 0x20, 0x00, 0x81, 0x00);
	EXPECT_SW(card, 0x6985, 0x00, 0xB0, 0x81, 0x00, 0x00);
	EXPECT_SW(card, 0x6985, 0x00, 0xB2, 0x01, 0x3C, 0x00);
	EXPECT_SW(card, 0x6985, 0x00, 0xE6, 0x00, 0x00, 0x01, 0x01);
	vc_card_free(&card);
}

/* --- PIN ---------------------------------------------------------------- */

static void
test_transport_pin(void **state)
{
	vc_card *card = card_at(ST_PERSO_TRANSPORT, 0x01, NULL);
	uint8_t blk[8];

	(void)state;
	select_app(card);
	/* The transport PIN cannot be verified, nor asked about. */
	assert_int_equal(verify_pin(card, TRANSPORT_PIN), 0x6985);
	EXPECT_SW(card, 0x6985, 0x00, 0x20, 0x00, 0x81);
	/* Activation waits for the holder's PIN. */
	vc_card_test_set_role(card, VC_ROLE_BANK);
	assert_int_equal(activate_cmd(card, ACT_DATA, sizeof(ACT_DATA)),
	    0x6985);
	/* A wrong transport PIN costs a try; the right one sets the PIN. */
	assert_int_equal(change_pin(card, "999999", HOLDER_PIN), 0x63C2);
	assert_int_equal(nv_of(card)->pin_tries, 2);
	assert_true(nv_of(card)->pin_transport);
	assert_int_equal(change_pin(card, TRANSPORT_PIN, HOLDER_PIN), 0x9000);
	assert_int_equal(nv_of(card)->pin_tries, 3);
	assert_false(nv_of(card)->pin_transport);
	/* Still personalized: VERIFY waits for activation. */
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x6985);
	/* The old transport PIN is gone. */
	assert_int_equal(change_pin(card, TRANSPORT_PIN, OTHER_PIN), 0x63C2);
	assert_int_equal(change_pin(card, HOLDER_PIN, OTHER_PIN), 0x9000);
	assert_int_equal(change_pin(card, OTHER_PIN, HOLDER_PIN), 0x9000);
	assert_int_equal(activate_cmd(card, ACT_DATA, sizeof(ACT_DATA)),
	    0x9000);
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x9000);
	vc_card_free(&card);

	/* Three wrong transport PINs block it; the bank resets it. */
	card = card_at(ST_PERSO_TRANSPORT, 0x01, NULL);
	select_app(card);
	assert_int_equal(change_pin(card, "000000", HOLDER_PIN), 0x63C2);
	assert_int_equal(change_pin(card, "000000", HOLDER_PIN), 0x63C1);
	assert_int_equal(change_pin(card, "000000", HOLDER_PIN), 0x63C0);
	assert_int_equal(change_pin(card, TRANSPORT_PIN, HOLDER_PIN), 0x6983);
	pin_block(HOLDER_PIN, blk);
	vc_card_test_set_role(card, VC_ROLE_BANK);
	assert_int_equal(send_cmd(card, 0x00, 0x2C, 0x02, 0x81, blk, 8, 0,
	    NULL), 0x9000);
	assert_false(nv_of(card)->pin_transport);
	assert_int_equal(activate_cmd(card, ACT_DATA, sizeof(ACT_DATA)),
	    0x9000);
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x9000);
	vc_card_free(&card);
}

/* Section 8's second example, then down to blocked and back. */
static void
test_verify_to_blocked(void **state)
{
	vc_card *card = card_at(ST_ACTIVE, 0x01, NULL);

	(void)state;
	select_app(card);
	EXPECT_SW(card, 0x63C2, 0x00, 0x20, 0x00, 0x81, 0x08,
	    0x26, 0x65, 0x43, 0x21, 0xFF, 0xFF, 0xFF, 0xFF);
	EXPECT_SW(card, 0x63C1, 0x00, 0x20, 0x00, 0x81, 0x08,
	    0x26, 0x65, 0x43, 0x21, 0xFF, 0xFF, 0xFF, 0xFF);
	EXPECT_SW(card, 0x63C1, 0x00, 0x20, 0x00, 0x81, 0x00);
	EXPECT_SW(card, 0x63C1, 0x00, 0x20, 0x00, 0x81);
	EXPECT_SW(card, 0x9000, 0x00, 0x20, 0x00, 0x81, 0x08,
	    0x26, 0x12, 0x34, 0x56, 0xFF, 0xFF, 0xFF, 0xFF);
	/* Verified, and the counter is full again. */
	EXPECT_SW(card, 0x9000, 0x00, 0x20, 0x00, 0x81);
	assert_int_equal(nv_of(card)->pin_tries, 3);
	/* A wrong PIN ends the verified state. */
	assert_int_equal(verify_pin(card, OTHER_PIN), 0x63C2);
	EXPECT_SW(card, 0x63C2, 0x00, 0x20, 0x00, 0x81);
	assert_int_equal(verify_pin(card, OTHER_PIN), 0x63C1);
	assert_int_equal(verify_pin(card, OTHER_PIN), 0x63C0);
	/* Blocked: the right PIN does not help; asking costs nothing. */
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x6983);
	EXPECT_SW(card, 0x6983, 0x00, 0x20, 0x00, 0x81);
	assert_int_equal(change_pin(card, HOLDER_PIN, OTHER_PIN), 0x6983);
	assert_int_equal(nv_of(card)->pin_tries, 0);
	/* The PIN is blocked, not the card: reading public data works. */
	{
		struct rsp *r = rsp_new();
		assert_int_equal(read_binary(card, 1, r), 0x9000);
		free(r);
	}
	/* Only the bank resets it. */
	vc_card_test_set_role(card, VC_ROLE_HOSPITAL);
	assert_int_equal(rrc_cmd(card, OTHER_PIN), 0x6982);
	vc_card_test_set_role(card, VC_ROLE_BANK);
	assert_int_equal(rrc_cmd(card, OTHER_PIN), 0x9000);
	EXPECT_SW(card, 0x63C3, 0x00, 0x20, 0x00, 0x81);
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x63C2);
	assert_int_equal(verify_pin(card, OTHER_PIN), 0x9000);
	vc_card_free(&card);
}

static void
test_pin_block_malformed(void **state)
{
	static const uint8_t bad[][8] = {
		{ 0x16, 0x12, 0x34, 0x56, 0xFF, 0xFF, 0xFF, 0xFF }, /* ctl 1 */
		{ 0x36, 0x12, 0x34, 0x56, 0xFF, 0xFF, 0xFF, 0xFF }, /* ctl 3 */
		{ 0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF }, /* N=4 */
		{ 0x25, 0x12, 0x34, 0x5F, 0xFF, 0xFF, 0xFF, 0xFF }, /* N=5 */
		{ 0x2D, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x3F }, /* N=13 */
		{ 0x2F, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34 }, /* N=15 */
		{ 0x20, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF }, /* N=0 */
		{ 0x26, 0x12, 0x3A, 0x56, 0xFF, 0xFF, 0xFF, 0xFF }, /* digit A */
		{ 0x26, 0x12, 0x34, 0x56, 0xF0, 0xFF, 0xFF, 0xFF }, /* pad 0 */
		{ 0x26, 0x12, 0x34, 0x56, 0xFF, 0xFF, 0xFF, 0xFE }, /* pad E */
		{ 0x26, 0x12, 0x34, 0x56, 0xEF, 0xFF, 0xFF, 0xFF }, /* pad E */
	};
	vc_card *card = card_at(ST_ACTIVE, 0x01, NULL);
	uint8_t two[16];

	(void)state;
	select_app(card);
	/* The PIN change needs a channel; the malformed block is then what
	 * the card refuses. */
	vc_card_test_set_role(card, VC_ROLE_BANK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(verify_block(card, bad[i], 8), 0x6A80);
		/* No try was spent. */
		EXPECT_SW(card, 0x63C3, 0x00, 0x20, 0x00, 0x81);
		pin_block(HOLDER_PIN, two);
		memcpy(two + 8, bad[i], 8);
		assert_int_equal(send_cmd(card, 0x00, 0x24, 0x00, 0x81, two,
		    16, 0, NULL), 0x6A80);
		memcpy(two, bad[i], 8);
		pin_block(OTHER_PIN, two + 8);
		assert_int_equal(send_cmd(card, 0x00, 0x24, 0x00, 0x81, two,
		    16, 0, NULL), 0x6A80);
		assert_int_equal(nv_of(card)->pin_tries, 3);
	}
	/* Twelve digits are fine (and wrong here). */
	assert_int_equal(verify_pin(card, "123456789012"), 0x63C2);
	/* Wrong lengths and parameters. */
	EXPECT_SW(card, 0x6700, 0x00, 0x20, 0x00, 0x81, 0x07,
	    0x26, 0x12, 0x34, 0x56, 0xFF, 0xFF, 0xFF);
	EXPECT_SW(card, 0x6700, 0x00, 0x20, 0x00, 0x81, 0x09,
	    0x26, 0x12, 0x34, 0x56, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF);
	EXPECT_SW(card, 0x6A86, 0x00, 0x20, 0x00, 0x80, 0x08,
	    0x26, 0x12, 0x34, 0x56, 0xFF, 0xFF, 0xFF, 0xFF);
	EXPECT_SW(card, 0x6A86, 0x00, 0x20, 0x01, 0x81, 0x08,
	    0x26, 0x12, 0x34, 0x56, 0xFF, 0xFF, 0xFF, 0xFF);
	EXPECT_SW(card, 0x6A86, 0x00, 0x20, 0xFF, 0x81);
	EXPECT_SW(card, 0x6700, 0x00, 0x24, 0x00, 0x81, 0x08,
	    0x26, 0x12, 0x34, 0x56, 0xFF, 0xFF, 0xFF, 0xFF);
	EXPECT_SW(card, 0x6A86, 0x00, 0x24, 0x01, 0x81, 0x00);
	EXPECT_SW(card, 0x6A86, 0x00, 0x2C, 0x00, 0x81, 0x00);
	EXPECT_SW(card, 0x6A86, 0x00, 0x2C, 0x02, 0x82, 0x00);
	assert_int_equal(nv_of(card)->pin_tries, 2);
	vc_card_free(&card);
}

static void
test_change_pin(void **state)
{
	vc_card *card = card_at(ST_ACTIVE, 0x01, NULL);

	(void)state;
	select_app(card);
	/* The new PIN must differ; that costs nothing. */
	assert_int_equal(change_pin(card, HOLDER_PIN, HOLDER_PIN), 0x6A80);
	assert_int_equal(change_pin(card, OTHER_PIN, OTHER_PIN), 0x6A80);
	assert_int_equal(nv_of(card)->pin_tries, 3);
	/* Not verified before, not verified after. */
	assert_int_equal(change_pin(card, HOLDER_PIN, "24681357"), 0x9000);
	EXPECT_SW(card, 0x63C3, 0x00, 0x20, 0x00, 0x81);
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x63C2);
	assert_int_equal(verify_pin(card, "24681357"), 0x9000);
	/* Verified before: still verified after. */
	assert_int_equal(change_pin(card, "24681357", HOLDER_PIN), 0x9000);
	EXPECT_SW(card, 0x9000, 0x00, 0x20, 0x00, 0x81);
	/* A wrong old PIN counts like a wrong VERIFY and ends it. */
	assert_int_equal(change_pin(card, OTHER_PIN, "24681357"), 0x63C2);
	EXPECT_SW(card, 0x63C2, 0x00, 0x20, 0x00, 0x81);
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x9000);
	vc_card_free(&card);
}

/* "Verified until the next reset, power-off, SELECT, or DEBIT." */
static void
test_pin_verified_ends(void **state)
{
	vc_card *card = card_at(ST_ACTIVE, 0x01, NULL);
	struct rsp *r = rsp_new();
	uint8_t data[40];

	(void)state;
	select_app(card);
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x9000);
	assert_int_equal(read_binary(card, 8, r), 0x9000);
	select_app(card);
	EXPECT_SW(card, 0x63C3, 0x00, 0x20, 0x00, 0x81);
	assert_int_equal(read_binary(card, 8, r), 0x6982);
	/* A SELECT that fails changes nothing. */
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x9000);
	EXPECT_SW(card, 0x6A82, 0x00, 0xA4, 0x02, 0x0C, 0x02, 0x77, 0x77);
	EXPECT_SW(card, 0x9000, 0x00, 0x20, 0x00, 0x81);
	vc_card_reset(card);
	select_app(card);
	EXPECT_SW(card, 0x63C3, 0x00, 0x20, 0x00, 0x81);
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x9000);
	vc_card_power_off(card);
	select_app(card);
	EXPECT_SW(card, 0x63C3, 0x00, 0x20, 0x00, 0x81);
	/* One PIN per payment, the payment done or refused. */
	assert_int_equal(pay(card, 100, 1, 0x00, r), 0x9000);
	EXPECT_SW(card, 0x63C3, 0x00, 0x20, 0x00, 0x81);
	tx_data(data, 100, 2, 0x00);
	assert_int_equal(debit(card, data, r), 0x6982);
	assert_int_equal(pay(card, START_BALANCE * 2, 3, 0x00, r), 0x9401);
	EXPECT_SW(card, 0x63C3, 0x00, 0x20, 0x00, 0x81);
	/*
	 * A DEBIT refused before it ran ends it too: wrong P1-P2, a class it
	 * does not take, a chained part, protected without a channel, a
	 * wrong length.
	 */
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x9000);
	EXPECT_SW(card, 0x6A86, 0x80, 0x54, 0x01, 0x00, 0x00);
	EXPECT_SW(card, 0x63C3, 0x00, 0x20, 0x00, 0x81);
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x9000);
	EXPECT_SW(card, 0x6A86, 0x80, 0x54, 0x00, 0x01, 0x00);
	EXPECT_SW(card, 0x63C3, 0x00, 0x20, 0x00, 0x81);
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x9000);
	EXPECT_SW(card, 0x6E00, 0x00, 0x54, 0x00, 0x00, 0x00);
	EXPECT_SW(card, 0x63C3, 0x00, 0x20, 0x00, 0x81);
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x9000);
	EXPECT_SW(card, 0x6884, 0x90, 0x54, 0x00, 0x00, 0x01, 0xAA);
	EXPECT_SW(card, 0x63C3, 0x00, 0x20, 0x00, 0x81);
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x9000);
	EXPECT_SW(card, 0x6882, 0x84, 0x54, 0x00, 0x00, 0x08, 1, 2, 3, 4, 5,
	    6, 7, 8, 0x00);
	EXPECT_SW(card, 0x63C3, 0x00, 0x20, 0x00, 0x81);
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x9000);
	EXPECT_SW(card, 0x6700, 0x80, 0x54, 0x00, 0x00, 0x01, 0xAA, 0x00);
	EXPECT_SW(card, 0x63C3, 0x00, 0x20, 0x00, 0x81);
	/* Other commands of the proprietary class leave it alone. */
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x9000);
	EXPECT_SW(card, 0x6A86, 0x80, 0x52, 0x01, 0x00, 0x00);
	EXPECT_SW(card, 0x9000, 0x00, 0x20, 0x00, 0x81);
	free(r);
	vc_card_free(&card);
}

/* The card keeps SHA-256(chip serial || digits), never the PIN. */
static void
test_pin_storage(void **state)
{
	static const char pin[] = "80818283";
	vc_card *card = card_at(ST_ACTIVE, 0x01, NULL);
	const struct vc_nv *nv = nv_of(card);
	const uint8_t *p = (const uint8_t *)nv;
	uint8_t buf[8 + 8], md[32], blk[8];
	unsigned int mdlen = 0;

	(void)state;
	select_app(card);
	assert_int_equal(change_pin(card, HOLDER_PIN, pin), 0x9000);
	memcpy(buf, BYTES(0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77), 8);
	memcpy(buf + 8, pin, 8);
	assert_true(EVP_Digest(buf, sizeof(buf), md, &mdlen, EVP_sha256(),
	    NULL));
	assert_memory_equal(nv->pin_hash, md, 32);
	/* Neither the digits nor the block anywhere in the state. */
	pin_block(pin, blk);
	for (size_t i = 0; i + 8 <= sizeof(*nv); i++) {
		if (memcmp(p + i, pin, 8) == 0 || memcmp(p + i, blk, 5) == 0)
			fail_msg("the PIN in clear at offset %zu", i);
	}
	vc_card_free(&card);
}

/* --- life cycle --------------------------------------------------------- */

static void
test_lifecycle(void **state)
{
	vc_card *card = card_at(ST_PERSO, 0x01, NULL);
	struct rsp *r = rsp_new();
	uint8_t data[40];

	(void)state;
	select_app(card);
	vc_card_test_set_role(card, VC_ROLE_BANK);
	assert_int_equal(activate_cmd(card, ACT_DATA, sizeof(ACT_DATA)),
	    0x9000);
	assert_int_equal(vc_card_state(card), VC_STATE_ACTIVE);
	/* EF.ACTIVATION: E2 { 80 n14, 81 terminal, 82 role }. */
	assert_int_equal(read_binary(card, 6, r), 0x9000);
	assert_int_equal(r->len, 48);
	assert_memory_equal(r->buf, BYTES(0xE2, 0x16, 0x80, 0x07), 4);
	assert_memory_equal(r->buf + 4, ACT_DATA, 7);
	assert_memory_equal(r->buf + 11, BYTES(0x81, 0x08), 2);
	assert_memory_equal(r->buf + 13, ACT_DATA + 7, 8);
	assert_memory_equal(r->buf + 21, BYTES(0x82, 0x01, 0x03), 3);
	assert_true(all_zero(r->buf + 24, 24));
	/* Active: no second activation. */
	assert_int_equal(activate_cmd(card, ACT_DATA, sizeof(ACT_DATA)),
	    0x6985);

	/* Lost: a pharmacy blocks it. */
	vc_card_test_set_role(card, VC_ROLE_PHARMACY);
	assert_int_equal(reason_cmd(card, 0x04, 0x01), 0x9000);
	assert_int_equal(vc_card_state(card), VC_STATE_BLOCKED);
	EXPECT_SW(card, 0x6283, 0x00, 0xA4, 0x04, 0x0C, 0x09,
	    0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01);
	/* Whoever asks, a blocked card pays nothing. */
	tx_data(data, 1, 9, 0x00);
	vc_card_test_set_role(card, VC_ROLE_HOSPITAL);
	assert_int_equal(debit(card, data, r), 0x6985);
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x6985);
	assert_int_equal(reason_cmd(card, 0x04, 0x01), 0x6985);
	/* Found again: only the bank or agency unblock. */
	assert_int_equal(activate_cmd(card, ACT_DATA, sizeof(ACT_DATA)),
	    0x6982);
	vc_card_test_set_role(card, VC_ROLE_AGENCY);
	assert_int_equal(activate_cmd(card, BYTES(0x20, 0x27, 0x01, 0x01,
	    0x00, 0x00, 0x00, 'A', 'G', 'E', 'N', 'C', 'Y', '0', '1'), 15),
	    0x9000);
	assert_int_equal(vc_card_state(card), VC_STATE_ACTIVE);
	/* EF.ACTIVATION keeps the first activation. */
	assert_int_equal(read_binary(card, 6, r), 0x9000);
	assert_memory_equal(r->buf + 4, ACT_DATA, 7);
	assert_memory_equal(r->buf + 21, BYTES(0x82, 0x01, 0x03), 3);

	/* Terminated for good. */
	vc_card_test_set_role(card, VC_ROLE_PHARMACY);
	assert_int_equal(reason_cmd(card, 0xE6, 0x02), 0x6982);
	vc_card_test_set_role(card, VC_ROLE_AGENCY);
	assert_int_equal(reason_cmd(card, 0xE6, 0x02), 0x9000);
	assert_int_equal(vc_card_state(card), VC_STATE_TERMINATED);
	assert_true(all_zero(nv_of(card)->priv, 32));
	assert_true(all_zero(nv_of(card)->pin_hash, 32));
	EXPECT_SW(card, 0x6285, 0x00, 0xA4, 0x04, 0x0C, 0x09,
	    0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01);
	for (int role = VC_ROLE_NONE; role <= VC_ROLE_BUREAU; role++) {
		vc_card_test_set_role(card, (enum vc_role)role);
		assert_int_equal(read_binary(card, 1, r), 0x6985);
		assert_int_equal(read_binary(card, 8, r), 0x6985);
		assert_int_equal(read_record(card, 9, 1, r), 0x6985);
		assert_int_equal(verify_pin(card, HOLDER_PIN), 0x6985);
		assert_int_equal(change_pin(card, HOLDER_PIN, OTHER_PIN),
		    0x6985);
		assert_int_equal(rrc_cmd(card, OTHER_PIN), 0x6985);
		assert_int_equal(activate_cmd(card, ACT_DATA,
		    sizeof(ACT_DATA)), 0x6985);
		assert_int_equal(reason_cmd(card, 0x04, 0x01), 0x6985);
		assert_int_equal(reason_cmd(card, 0xE6, 0x01), 0x6985);
		assert_int_equal(debit(card, data, r), 0x6985);
		assert_int_equal(credit(card, data, r), 0x6985);
		EXPECT_SW(card, 0x6985, 0x00, 0x47, 0x80, 0x00, 0x00);
		assert_int_equal(store_data(card, 0x80, 0x00, NULL, 0),
		    0x6985);
	}
	/* EF.DIR stays readable. */
	select_mf(card);
	assert_int_equal(read_binary(card, 30, r), 0x9000);
	free(r);
	vc_card_free(&card);
}

static void
test_lifecycle_data(void **state)
{
	vc_card *card = card_at(ST_PERSO, 0x01, NULL);
	uint8_t d[16];

	(void)state;
	select_app(card);
	vc_card_test_set_role(card, VC_ROLE_BANK);
	/* Wrong lengths, parameters, date and time, terminal id. */
	assert_int_equal(activate_cmd(card, ACT_DATA, 14), 0x6700);
	memcpy(d, ACT_DATA, 15);
	d[15] = '0';
	assert_int_equal(activate_cmd(card, d, 16), 0x6700);
	assert_int_equal(activate_cmd(card, NULL, 0), 0x6700);
	assert_int_equal(send_cmd(card, 0x00, 0x44, 0x01, 0x00, ACT_DATA, 15,
	    0, NULL), 0x6A86);
	assert_int_equal(send_cmd(card, 0x00, 0x44, 0x00, 0x01, ACT_DATA, 15,
	    0, NULL), 0x6A86);
	static const struct { size_t at; uint8_t v; } bad[] = {
		{ 0, 0x2A }, { 2, 0x13 }, { 2, 0x00 }, { 3, 0x32 }, { 3, 0x00 },
		{ 4, 0x24 }, { 5, 0x60 }, { 6, 0x60 }, { 6, 0x0A },
		{ 7, 0x1F }, { 14, 0x7F }, { 10, 0x80 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(d, ACT_DATA, 15);
		d[bad[i].at] = bad[i].v;
		assert_int_equal(activate_cmd(card, d, 15), 0x6A80);
	}
	assert_int_equal(vc_card_state(card), VC_STATE_PERSONALIZED);
	assert_int_equal(activate_cmd(card, ACT_DATA, 15), 0x9000);
	/* Reasons: 01-03 to block, 01-04 to terminate. */
	assert_int_equal(reason_cmd(card, 0x04, 0x00), 0x6A80);
	assert_int_equal(reason_cmd(card, 0x04, 0x04), 0x6A80);
	assert_int_equal(send_cmd(card, 0x00, 0x04, 0x00, 0x00, NULL, 0, 0,
	    NULL), 0x6700);
	assert_int_equal(send_cmd(card, 0x00, 0x04, 0x00, 0x00,
	    BYTES(0x01, 0x01), 2, 0, NULL), 0x6700);
	assert_int_equal(send_cmd(card, 0x00, 0x04, 0x00, 0x80, BYTES(0x01),
	    1, 0, NULL), 0x6A86);
	assert_int_equal(reason_cmd(card, 0xE6, 0x00), 0x6A80);
	assert_int_equal(reason_cmd(card, 0xE6, 0x05), 0x6A80);
	assert_int_equal(send_cmd(card, 0x00, 0xE6, 0x01, 0x00, BYTES(0x01),
	    1, 0, NULL), 0x6A86);
	assert_int_equal(vc_card_state(card), VC_STATE_ACTIVE);
	assert_int_equal(reason_cmd(card, 0x04, 0x03), 0x9000);
	assert_int_equal(reason_cmd(card, 0xE6, 0x04), 0x9000);
	vc_card_free(&card);

	/* Terminating from personalized, too. */
	card = card_at(ST_PERSO_TRANSPORT, 0x01, NULL);
	select_app(card);
	vc_card_test_set_role(card, VC_ROLE_AGENCY);
	assert_int_equal(reason_cmd(card, 0xE6, 0x01), 0x9000);
	assert_int_equal(vc_card_state(card), VC_STATE_TERMINATED);
	vc_card_free(&card);
}

/* ACTIVATE from personalized at a hospital or pharmacy: policy bit 1. */
static void
test_activate_policy(void **state)
{
	static const struct {
		uint8_t policy;
		enum vc_role role;
		uint16_t sw;
	} cases[] = {
		{ 0x00, VC_ROLE_HOSPITAL, 0x6982 },
		{ 0x00, VC_ROLE_PHARMACY, 0x6982 },
		{ 0x00, VC_ROLE_BANK, 0x9000 },
		{ 0x00, VC_ROLE_AGENCY, 0x6982 },
		{ 0x02, VC_ROLE_HOSPITAL, 0x6982 },
		{ 0x01, VC_ROLE_HOSPITAL, 0x9000 },
		{ 0x03, VC_ROLE_PHARMACY, 0x9000 },
		{ 0x01, VC_ROLE_AGENCY, 0x6982 },
		{ 0xFF, VC_ROLE_BUREAU, 0x6982 },
	};
	struct rsp *r = rsp_new();

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vc_card *card = card_at(ST_PERSO, cases[i].policy, NULL);
		select_app(card);
		vc_card_test_set_role(card, cases[i].role);
		assert_int_equal(activate_cmd(card, ACT_DATA,
		    sizeof(ACT_DATA)), cases[i].sw);
		if (cases[i].sw == 0x9000) {
			assert_int_equal(read_binary(card, 6, r), 0x9000);
			assert_int_equal(r->buf[23], cases[i].role);
		}
		vc_card_free(&card);
	}
	free(r);
}

/*
 * Section 3.10, one rule: a terminated card answers SELECT, GET RESPONSE
 * and READ BINARY (of EF.DIR only, by the table of 4.3) as in any state,
 * and every other command with 6985 before it looks at its parameters or
 * data.
 */
static void
test_terminated_rule(void **state)
{
	vc_card *card = card_at(ST_TERMINATED, 0x01, NULL);
	struct rsp *r = rsp_new();

	(void)state;
	/* Not even the strongest role changes it. */
	vc_card_test_set_role(card, VC_ROLE_BANK);
	RAW(card, r, 0x00, 0xA4, 0x04, 0x00, 0x09, 0xD1, 0x56, 0x00, 0x00,
	    0x01, 0x4D, 0x49, 0x43, 0x01, 0x00);
	assert_int_equal(r->sw, 0x6285);
	assert_true(r->len > 0 && r->buf[0] == 0x6F);
	EXPECT_SW(card, 0x6985, 0x00, 0x20, 0x01, 0x81);
	EXPECT_SW(card, 0x6985, 0x00, 0x20, 0x00, 0x81, 0x01, 0xAA);
	EXPECT_SW(card, 0x6985, 0x00, 0x24, 0x00, 0x82);
	EXPECT_SW(card, 0x6985, 0x00, 0x2C, 0x00, 0x81);
	EXPECT_SW(card, 0x6985, 0x80, 0xCA, 0x00, 0x66, 0x00);
	EXPECT_SW(card, 0x6985, 0x80, 0xCA, 0xBF, 0x21, 0x00);
	EXPECT_SW(card, 0x6985, 0x80, 0x88, 0x07, 0x13, 0x01, 0x00, 0x00);
	EXPECT_SW(card, 0x6985, 0x80, 0x82, 0x01, 0x11, 0x01, 0x00, 0x00);
	EXPECT_SW(card, 0x6985, 0x80, 0x2A, 0x07, 0x10, 0x01, 0x30);
	EXPECT_SW(card, 0x6985, 0x00, 0xE6, 0x00, 0x00, 0x01, 0x01);
	EXPECT_SW(card, 0x6985, 0x00, 0xE6, 0x01, 0x00);
	EXPECT_SW(card, 0x6985, 0x00, 0x44, 0x00, 0x00);
	EXPECT_SW(card, 0x6985, 0x00, 0x04, 0x00, 0x00, 0x01, 0x09);
	EXPECT_SW(card, 0x6985, 0x00, 0xD6, 0x81, 0x00, 0x01, 0x66);
	EXPECT_SW(card, 0x6985, 0x00, 0xD6, 0x81, 0x00);
	EXPECT_SW(card, 0x6985, 0x00, 0xDC, 0x01, 0x3C, 0x01, 0x00);
	EXPECT_SW(card, 0x6985, 0x00, 0xB2, 0x00, 0x3C, 0x00);
	EXPECT_SW(card, 0x6985, 0x80, 0x54, 0x01, 0x00, 0x00);
	EXPECT_SW(card, 0x6985, 0x80, 0x52, 0x00, 0x00, 0x00);
	EXPECT_SW(card, 0x6985, 0x00, 0x47, 0x81, 0x00, 0x00);
	EXPECT_SW(card, 0x6985, 0x80, 0xE2, 0x00, 0x07);
	/* READ BINARY: the table's 6985 for the application's files... */
	assert_int_equal(read_binary(card, 1, r), 0x6985);
	/* ... and EF.DIR under the MF, as in every state. */
	assert_int_equal(send_cmd(card, 0x00, 0xA4, 0x03, 0x0C, NULL, 0, 0,
	    NULL), 0x9000);
	assert_int_equal(read_binary(card, 30, r), 0x9000);
	assert_true(r->len > 0 && r->buf[0] == 0x61);
	/* What the card does not know stays unknown. */
	EXPECT_SW(card, 0x6D00, 0x00, 0x12, 0x00, 0x00);
	EXPECT_SW(card, 0x6E00, 0x00, 0x54, 0x00, 0x00);
	free(r);
	vc_card_free(&card);
}

/* --- the access table of section 4.3 ------------------------------------ */

struct matrix_state {
	uint8_t *nv[5];   /* blank, personalized, active, blocked, terminated */
	size_t len;
};

static int
matrix_setup(void **state)
{
	static const enum stage stages[5] = { ST_BLANK, ST_PERSO, ST_ACTIVE,
	    ST_BLOCKED, ST_TERMINATED };
	struct matrix_state *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return -1;
	for (size_t i = 0; i < 5; i++) {
		vc_card *card = card_at(stages[i], 0x01, NULL);
		const uint8_t *nv = NULL;

		vc_card_nv(card, &nv, &m->len);
		if ((m->nv[i] = malloc(m->len)) == NULL)
			return -1;
		memcpy(m->nv[i], nv, m->len);
		vc_card_free(&card);
	}
	*state = m;
	return 0;
}

static int
matrix_teardown(void **state)
{
	struct matrix_state *m = *state;

	for (size_t i = 0; i < 5; i++)
		free(m->nv[i]);
	free(m);
	return 0;
}

static uint16_t
op_read_dir(vc_card *card, struct rsp *r)
{
	return read_binary(card, 30, r);
}

static uint16_t
op_read_card(vc_card *card, struct rsp *r)
{
	return read_binary(card, 1, r);
}

static uint16_t
op_read_cert(vc_card *card, struct rsp *r)
{
	return read_binary(card, 5, r);
}

static uint16_t
op_read_sod(vc_card *card, struct rsp *r)
{
	return read_binary(card, 4, r);
}

static uint16_t
op_read_holder(vc_card *card, struct rsp *r)
{
	return read_binary(card, 2, r);
}

static uint16_t
op_read_insurance(vc_card *card, struct rsp *r)
{
	return read_binary(card, 3, r);
}

static uint16_t
op_read_activation(vc_card *card, struct rsp *r)
{
	return read_binary(card, 6, r);
}

static uint16_t
op_read_account(vc_card *card, struct rsp *r)
{
	return read_binary(card, 8, r);
}

static uint16_t
op_read_family(vc_card *card, struct rsp *r)
{
	return read_record(card, 7, 1, r);
}

static uint16_t
op_update_binary(vc_card *card, struct rsp *r)
{
	return send_cmd(card, 0x00, 0xD6, 0x81, 0x00, BYTES(0x66), 1, 0, r);
}

static uint16_t
op_update_family(vc_card *card, struct rsp *r)
{
	uint8_t rec[FAMILY_RECLEN];

	sample_member(rec, 3, 0x01);
	return send_cmd(card, 0x00, 0xDC, 0x03, 0x3C, rec, sizeof(rec), 0, r);
}

static uint16_t
op_update_log(vc_card *card, struct rsp *r)
{
	uint8_t rec[LOG_RECLEN];

	memset(rec, 0x11, sizeof(rec));
	return send_cmd(card, 0x00, 0xDC, 0x01, 0x4C, rec, sizeof(rec), 0, r);
}

static uint16_t
op_generate(vc_card *card, struct rsp *r)
{
	return send_cmd(card, 0x00, 0x47, 0x80, 0x00, NULL, 0, 256, r);
}

static uint16_t
op_store(vc_card *card, struct rsp *r)
{
	uint8_t tmpl[256], buf[300];
	size_t off = 0;

	put_dgi(buf, sizeof(buf), &off, 0x0101, tmpl,
	    sample_card(tmpl, sizeof(tmpl)));
	(void)r;
	return store_data(card, 0x00, 0x00, buf, off);
}

static uint16_t
op_verify(vc_card *card, struct rsp *r)
{
	(void)r;
	return verify_pin(card, HOLDER_PIN);
}

static uint16_t
op_change(vc_card *card, struct rsp *r)
{
	uint8_t blk[16];

	/* Raw, with whatever role the matrix set: change_pin() would lend
	 * the bank's. */
	(void)r;
	pin_block(HOLDER_PIN, blk);
	pin_block(OTHER_PIN, blk + 8);
	return send_cmd(card, 0x00, 0x24, 0x00, 0x81, blk, 16, 0, NULL);
}

static uint16_t
op_rrc(vc_card *card, struct rsp *r)
{
	(void)r;
	return rrc_cmd(card, OTHER_PIN);
}

static uint16_t
op_activate(vc_card *card, struct rsp *r)
{
	(void)r;
	return activate_cmd(card, ACT_DATA, sizeof(ACT_DATA));
}

static uint16_t
op_deactivate(vc_card *card, struct rsp *r)
{
	(void)r;
	return reason_cmd(card, 0x04, 0x01);
}

static uint16_t
op_terminate(vc_card *card, struct rsp *r)
{
	(void)r;
	return reason_cmd(card, 0xE6, 0x01);
}

static uint16_t
op_debit(vc_card *card, struct rsp *r)
{
	uint8_t data[40];

	tx_data(data, 100, 0x5001, 0x00);
	return debit(card, data, r);
}

static uint16_t
op_credit(vc_card *card, struct rsp *r)
{
	uint8_t data[40];

	tx_data(data, 100, 0x5002, 0x00);
	return credit(card, data, r);
}

/*
 * The table as the profile prints it. A cell is Y (allowed), S (6985),
 * D (6982 whoever asks), or the roles that may (H hospital, P pharmacy,
 * B bank, A agency, U bureau), with "|pin" when the PIN alone also does
 * and "&pin" when the PIN is needed too.
 */
static const struct {
	const char *name;
	uint16_t (*op)(vc_card *, struct rsp *);
	int in_mf;
	const char *cell[5];
} matrix[] = {
	{ "READ EF.DIR", op_read_dir, 1, { "Y", "Y", "Y", "Y", "Y" } },
	{ "READ EF.CARD", op_read_card, 0, { "S", "Y", "Y", "Y", "S" } },
	{ "READ EF.CERT", op_read_cert, 0, { "S", "Y", "Y", "Y", "S" } },
	{ "READ EF.SOD", op_read_sod, 0, { "S", "Y", "Y", "Y", "S" } },
	{ "READ EF.HOLDER", op_read_holder, 0,
	    { "S", "HPBAU", "HPBAU|pin", "HPBAU", "S" } },
	{ "READ EF.INSURANCE", op_read_insurance, 0,
	    { "S", "HPBAU", "HPBAU|pin", "HPBAU", "S" } },
	{ "READ EF.ACTIVATION", op_read_activation, 0,
	    { "S", "HPBAU", "HPBAU|pin", "HPBAU", "S" } },
	{ "READ EF.ACCOUNT", op_read_account, 0,
	    { "S", "HPBAU", "HPBAU|pin", "HPBAU", "S" } },
	{ "READ EF.FAMILY", op_read_family, 0,
	    { "S", "HPBAU", "HPBAU|pin", "HPBAU", "S" } },
	{ "UPDATE BINARY", op_update_binary, 0, { "D", "D", "D", "D", "S" } },
	{ "UPDATE RECORD EF.FAMILY", op_update_family, 0,
	    { "S", "S", "B", "S", "S" } },
	{ "UPDATE RECORD EF.LOG", op_update_log, 0,
	    { "D", "D", "D", "D", "S" } },
	{ "GENERATE KEY", op_generate, 0, { "U", "S", "S", "S", "S" } },
	{ "STORE DATA", op_store, 0, { "U", "S", "S", "S", "S" } },
	{ "VERIFY", op_verify, 0, { "S", "S", "Y", "S", "S" } },
	{ "CHANGE REFERENCE DATA", op_change, 0,
	    { "S", "BHP", "BHP", "S", "S" } },
	{ "RESET RETRY COUNTER", op_rrc, 0, { "S", "B", "B", "S", "S" } },
	{ "ACTIVATE FILE", op_activate, 0, { "S", "BHP", "S", "BA", "S" } },
	{ "DEACTIVATE FILE", op_deactivate, 0,
	    { "S", "S", "BAHP", "S", "S" } },
	{ "TERMINATE DF", op_terminate, 0, { "S", "BA", "BA", "BA", "S" } },
	{ "DEBIT", op_debit, 0, { "S", "S", "HP&pin", "S", "S" } },
	{ "CREDIT", op_credit, 0, { "S", "S", "A", "S", "S" } },
};

static uint16_t
expected(const char *cell, enum vc_role role, int pin)
{
	static const char letter[] = " HPBAU";
	const char *how = strpbrk(cell, "|&");
	size_t nroles = how != NULL ? (size_t)(how - cell) : strlen(cell);
	int has = role != VC_ROLE_NONE &&
	    memchr(cell, letter[role], nroles) != NULL;

	if (strcmp(cell, "Y") == 0)
		return 0x9000;
	if (strcmp(cell, "S") == 0)
		return 0x6985;
	if (strcmp(cell, "D") == 0)
		return 0x6982;
	if (how != NULL && *how == '|')
		return has || pin ? 0x9000 : 0x6982;
	if (how != NULL && *how == '&')
		return has && pin ? 0x9000 : 0x6982;
	return has ? 0x9000 : 0x6982;
}

static void
test_access_matrix(void **state)
{
	const struct matrix_state *m = *state;
	struct rsp *r = rsp_new();
	size_t cases = 0;

	for (size_t op = 0; op < sizeof(matrix) / sizeof(matrix[0]); op++) {
		for (size_t st = 0; st < 5; st++) {
			for (int role = VC_ROLE_NONE; role <= VC_ROLE_BUREAU;
			    role++) {
				/* Only an active card can have the PIN. */
				for (int pin = 0; pin <= (st == 2); pin++) {
					vc_card *card = NULL;
					uint16_t want, sw;

					assert_int_equal(vc_card_load(&card,
					    m->nv[st], m->len, 0), MIC_OK);
					select_app(card);
					if (pin)
						assert_int_equal(verify_pin(
						    card, HOLDER_PIN), 0x9000);
					vc_card_test_set_role(card,
					    (enum vc_role)role);
					if (matrix[op].in_mf)
						assert_int_equal(send_cmd(card,
						    0x00, 0xA4, 0x03, 0x0C,
						    NULL, 0, 0, NULL), 0x9000);
					want = expected(matrix[op].cell[st],
					    (enum vc_role)role, pin);
					sw = matrix[op].op(card, r);
					if (sw != want)
						fail_msg("%s, state %zu, role "
						    "%d, PIN %d: SW %04X, want "
						    "%04X", matrix[op].name,
						    st + 1, role, pin, sw,
						    want);
					vc_card_free(&card);
					cases++;
				}
			}
		}
	}
	assert_int_equal(cases, sizeof(matrix) / sizeof(matrix[0]) * 36);
	free(r);
}

/* --- records ------------------------------------------------------------ */

static void
test_records(void **state)
{
	vc_card *card = card_at(ST_ACTIVE, 0x01, NULL);
	struct rsp *r = rsp_new();
	uint8_t rec[FAMILY_RECLEN], free_rec[FAMILY_RECLEN];

	(void)state;
	memset(free_rec, 0, sizeof(free_rec));
	select_app(card);
	vc_card_test_set_role(card, VC_ROLE_BANK);
	/* Bind member 3, then read it by SFI and as the current EF. */
	sample_member(rec, 3, 0x01);
	assert_int_equal(send_cmd(card, 0x00, 0xDC, 0x03, 0x3C, rec,
	    sizeof(rec), 0, NULL), 0x9000);
	assert_int_equal(read_record(card, 7, 3, r), 0x9000);
	assert_memory_equal(r->buf, rec, sizeof(rec));
	assert_int_equal(send_cmd(card, 0x00, 0xB2, 0x01, 0x04, NULL, 0, 256,
	    r), 0x9000);
	assert_int_equal(r->buf[0], 0xE3);
	/* Le: a part with 9000, too much with 6282. */
	assert_int_equal(send_cmd(card, 0x00, 0xB2, 0x03, 0x04, NULL, 0, 16,
	    r), 0x9000);
	assert_int_equal(r->len, 16);
	assert_memory_equal(r->buf, rec, 16);
	assert_int_equal(send_cmd(card, 0x00, 0xB2, 0x03, 0x04, NULL, 0, 200,
	    r), 0x6282);
	assert_int_equal(r->len, FAMILY_RECLEN);
	/* Unbind: a free record. Record 8 is the last. */
	assert_int_equal(send_cmd(card, 0x00, 0xDC, 0x03, 0x04, free_rec,
	    sizeof(free_rec), 0, NULL), 0x9000);
	assert_int_equal(read_record(card, 7, 3, r), 0x9000);
	assert_memory_equal(r->buf, free_rec, sizeof(free_rec));
	assert_int_equal(send_cmd(card, 0x00, 0xDC, 0x08, 0x3C, rec,
	    sizeof(rec), 0, NULL), 0x9000);
	/* Records 0 and 9; wrong length; a bad template. */
	assert_int_equal(read_record(card, 7, 0, r), 0x6A83);
	assert_int_equal(read_record(card, 7, 9, r), 0x6A83);
	assert_int_equal(read_record(card, 7, 0xFF, r), 0x6A83);
	assert_int_equal(send_cmd(card, 0x00, 0xDC, 0x00, 0x3C, rec,
	    sizeof(rec), 0, NULL), 0x6A83);
	assert_int_equal(send_cmd(card, 0x00, 0xDC, 0x09, 0x3C, rec,
	    sizeof(rec), 0, NULL), 0x6A83);
	assert_int_equal(send_cmd(card, 0x00, 0xDC, 0x04, 0x3C, rec, 127, 0,
	    NULL), 0x6700);
	assert_int_equal(send_cmd(card, 0x00, 0xDC, 0x04, 0x3C, rec,
	    sizeof(rec), 256, NULL), 0x6700);
	rec[4] = 'X';   /* kinship not digits */
	assert_int_equal(send_cmd(card, 0x00, 0xDC, 0x04, 0x3C, rec,
	    sizeof(rec), 0, NULL), 0x6A80);
	sample_member(rec, 3, 0x01);
	rec[127] = 0x01;   /* garbage after the template */
	assert_int_equal(send_cmd(card, 0x00, 0xDC, 0x04, 0x3C, rec,
	    sizeof(rec), 0, NULL), 0x6A80);
	sample_member(rec, 3, 0x02);   /* may-pay 02 */
	assert_int_equal(send_cmd(card, 0x00, 0xDC, 0x04, 0x3C, rec,
	    sizeof(rec), 0, NULL), 0x6A80);
	/* A member's number passes its check character (section 2.7). */
	sample_member(rec, 3, 0x01);
	assert_int_equal(rec[6], 0x81);
	rec[8 + 17] = '1';
	assert_int_equal(send_cmd(card, 0x00, 0xDC, 0x06, 0x3C, rec,
	    sizeof(rec), 0, NULL), 0x6A80);
	/* Unknown tags (section 2): context-specific ones are skipped, any
	 * other class refused. */
	{
		static const uint32_t extra[] = { 0x8F, 0x9F20, 0xBF20, 0x04,
			0x5F30, 0xC1, 0x30 };
		static const uint16_t want[] = { 0x9000, 0x9000, 0x9000, 0x6A80,
			0x6A80, 0x6A80, 0x6A80 };
		static const uint8_t inner[] = { 0x80, 0x00 };
		mic_tlv_writer w;
		mic_tlv_iter it;
		mic_tlv c;
		size_t len = 0;

		for (size_t i = 0; i < MIC_ARRAY_LEN(extra); i++) {
			uint8_t m[FAMILY_RECLEN];

			sample_member(m, 3, 0x01);
			memset(rec, 0, sizeof(rec));
			mic_tlv_writer_init(&w, rec, sizeof(rec));
			mic_tlv_open(&w, 0xE3);
			/* Constructed ones hold a well-formed object. */
			mic_tlv_put(&w, extra[i], inner, sizeof(inner));
			/* The member's own objects after it, as they were. */
			mic_tlv_iter_init(&it, m + 2, m[1]);
			while (mic_tlv_next(&it, &c) == MIC_OK)
				mic_tlv_put(&w, c.tag, c.value, c.len);
			mic_tlv_close(&w);
			assert_int_equal(mic_tlv_writer_finish(&w, &len),
			    MIC_OK);
			assert_int_equal(send_cmd(card, 0x00, 0xDC, 0x06, 0x3C,
			    rec, sizeof(rec), 0, NULL), want[i]);
		}
		assert_int_equal(send_cmd(card, 0x00, 0xDC, 0x06, 0x3C,
		    free_rec, sizeof(free_rec), 0, NULL), 0x9000);
	}
	memset(rec, 0, sizeof(rec));
	rec[0] = 0xE3;
	assert_int_equal(send_cmd(card, 0x00, 0xDC, 0x04, 0x3C, rec,
	    sizeof(rec), 0, NULL), 0x6A80);
	/* Record 4 was never written. */
	assert_int_equal(read_record(card, 7, 4, r), 0x9000);
	assert_memory_equal(r->buf, free_rec, sizeof(free_rec));
	/* P2 other than SFI<<3|04; SFI 31; transparent files. */
	assert_int_equal(send_cmd(card, 0x00, 0xB2, 0x01, 0x3D, NULL, 0, 256,
	    r), 0x6A86);
	assert_int_equal(send_cmd(card, 0x00, 0xB2, 0x01, 0x38, NULL, 0, 256,
	    r), 0x6A86);
	assert_int_equal(send_cmd(card, 0x00, 0xB2, 0x01, 0xFC, NULL, 0, 256,
	    r), 0x6A86);
	assert_int_equal(send_cmd(card, 0x00, 0xDC, 0x01, 0x3F, rec,
	    sizeof(rec), 0, NULL), 0x6A86);
	assert_int_equal(read_record(card, 1, 1, r), 0x6981);
	assert_int_equal(read_record(card, 8, 1, r), 0x6981);
	assert_int_equal(read_record(card, 10, 1, r), 0x6A82);
	assert_int_equal(send_cmd(card, 0x00, 0xDC, 0x01, 0x0C, rec,
	    sizeof(rec), 0, NULL), 0x6982);
	/* READ RECORD wants Le and no data. */
	EXPECT_SW(card, 0x6700, 0x00, 0xB2, 0x01, 0x3C);
	EXPECT_SW(card, 0x6700, 0x00, 0xB2, 0x01, 0x3C, 0x01, 0x00, 0x00);
	/* No current EF after a SELECT of the DF. */
	select_app(card);
	EXPECT_SW(card, 0x6986, 0x00, 0xB2, 0x01, 0x04, 0x00);
	free(r);
	vc_card_free(&card);
}

/* --- DEBIT and CREDIT --------------------------------------------------- */

static void
assert_log(vc_card *card, uint8_t recno, uint32_t counter, uint8_t type,
    int64_t amount, int64_t balance, const uint8_t data[40])
{
	struct rsp *r = rsp_new();

	assert_int_equal(read_record(card, 9, recno, r), 0x9000);
	assert_int_equal(r->len, LOG_RECLEN);
	assert_int_equal(be32(r->buf), counter);
	assert_int_equal(r->buf[4], type);
	assert_int_equal(be64(r->buf + 5), (uint64_t)amount);
	assert_int_equal(be64(r->buf + 13), (uint64_t)balance);
	assert_memory_equal(r->buf + 21, data + 8, 7);
	assert_memory_equal(r->buf + 28, data + 15, 8);
	assert_int_equal(r->buf[36], data[39]);
	assert_memory_equal(r->buf + 37, data + 23, 11);
	free(r);
}

static void
test_debit_credit(void **state)
{
	uint8_t pub[65], data[40], data2[40];
	vc_card *card = card_at(ST_ACTIVE, 0x01, pub);
	struct rsp *r = rsp_new();
	int64_t bal;
	uint32_t ctr;

	(void)state;
	select_app(card);
	/* The opening credit of card_at(). */
	vc_card_test_set_role(card, VC_ROLE_AGENCY);
	read_account(card, &bal, &ctr);
	assert_int_equal(bal, START_BALANCE);
	assert_int_equal(ctr, 1);
	/* A payment: receipt counter 2, balance after, signature. */
	assert_int_equal(pay(card, 2500, 0x1001, 0x00, r), 0x9000);
	tx_data(data, 2500, 0x1001, 0x00);
	assert_int_equal(be32(r->buf), 2);
	assert_int_equal(be64(r->buf + 4), START_BALANCE - 2500);
	assert_true(r->len > 12 + 8 && r->len <= 12 + 72);
	assert_int_equal(r->buf[12], 0x30);
	assert_true(receipt_ok(pub, 0x01, data, r->buf, r->len));
	/* The signature is over the exact data: a changed byte fails. */
	data[39] = 0x01;
	assert_false(receipt_ok(pub, 0x01, data, r->buf, r->len));
	data[39] = 0x00;
	assert_false(receipt_ok(pub, 0x02, data, r->buf, r->len));
	/* A credit by the agency. */
	vc_card_test_set_role(card, VC_ROLE_AGENCY);
	tx_data(data2, 1000, 0x1002, 0x00);
	assert_int_equal(credit(card, data2, r), 0x9000);
	assert_int_equal(be32(r->buf), 3);
	assert_int_equal(be64(r->buf + 4), START_BALANCE - 1500);
	assert_true(receipt_ok(pub, 0x02, data2, r->buf, r->len));
	read_account(card, &bal, &ctr);
	assert_int_equal(bal, START_BALANCE - 1500);
	assert_int_equal(ctr, 3);
	/* The log, newest first. */
	assert_log(card, 1, 3, 0x02, 1000, START_BALANCE - 1500, data2);
	assert_log(card, 2, 2, 0x01, 2500, START_BALANCE - 2500, data);
	assert_int_equal(read_record(card, 9, 3, r), 0x9000);
	assert_int_equal(be32(r->buf), 1);
	assert_int_equal(read_record(card, 9, 4, r), 0x6A83);
	/* Section 8: the account as the POS reads it after the PIN. */
	vc_card_test_set_role(card, VC_ROLE_NONE);
	assert_int_equal(read_binary(card, 8, r), 0x6982);
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x9000);
	read_account(card, &bal, &ctr);
	assert_int_equal(bal, START_BALANCE - 1500);
	free(r);
	vc_card_free(&card);
}

static void
test_debit_checks(void **state)
{
	uint8_t pub[65], data[40], *before;
	vc_card *card = card_at(ST_ACTIVE, 0x01, pub);
	struct rsp *r = rsp_new();
	int64_t bal;
	uint32_t ctr;

	(void)state;
	select_app(card);
	before = nv_copy(card);
	/* Amount 0, negative, the smallest negative. */
	assert_int_equal(pay(card, 0, 0x2001, 0x00, r), 0x6A80);
	assert_int_equal(pay(card, -5, 0x2002, 0x00, r), 0x6A80);
	assert_int_equal(pay(card, INT64_MIN, 0x2003, 0x00, r), 0x6A80);
	/* Not enough money: 9401, as JR/T 0025. */
	assert_int_equal(pay(card, START_BALANCE + 1, 0x2004, 0x00, r),
	    0x9401);
	assert_int_equal(r->len, 0);
	/* Payers: a free record, a member who may not pay, no record. */
	assert_int_equal(pay(card, 100, 0x2005, 0x03, r), 0x6A83);
	assert_int_equal(pay(card, 100, 0x2006, 0x02, r), 0x6985);
	assert_int_equal(pay(card, 100, 0x2007, 0x09, r), 0x6A83);
	assert_int_equal(pay(card, 100, 0x2008, 0xFF, r), 0x6A83);
	/* A bad date or terminal id. */
	vc_card_test_set_role(card, VC_ROLE_HOSPITAL);
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x9000);
	tx_data(data, 100, 0x2009, 0x00);
	data[10] = 0x13;
	assert_int_equal(debit(card, data, r), 0x6A80);
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x9000);
	tx_data(data, 100, 0x2009, 0x00);
	data[15] = 0x00;
	assert_int_equal(debit(card, data, r), 0x6A80);
	/* Lengths and parameters. */
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x9000);
	assert_int_equal(send_cmd(card, 0x80, 0x54, 0x00, 0x00, data, 39, 256,
	    r), 0x6700);
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x9000);
	assert_int_equal(send_cmd(card, 0x80, 0x54, 0x01, 0x00, data, 40, 256,
	    r), 0x6A86);
	/* None of it touched the card but the try counter's writes. */
	assert_memory_equal((const uint8_t *)nv_of(card) +
	    offsetof(struct vc_nv, last_valid),
	    before + offsetof(struct vc_nv, last_valid),
	    sizeof(struct vc_nv) - offsetof(struct vc_nv, last_valid));
	/* A member who may pay. */
	assert_int_equal(pay(card, 700, 0x200A, 0x01, r), 0x9000);
	tx_data(data, 700, 0x200A, 0x01);
	assert_true(receipt_ok(pub, 0x01, data, r->buf, r->len));
	assert_log(card, 1, 2, 0x01, 700, START_BALANCE - 700, data);
	/* The whole balance, to zero. */
	assert_int_equal(pay(card, START_BALANCE - 700, 0x200B, 0x00, r),
	    0x9000);
	assert_int_equal(be64(r->buf + 4), 0);
	assert_int_equal(pay(card, 1, 0x200C, 0x00, r), 0x9401);
	/* Credits up to the largest balance, not one fen more. */
	vc_card_test_set_role(card, VC_ROLE_AGENCY);
	tx_data(data, INT64_MAX, 0x200D, 0x00);
	assert_int_equal(credit(card, data, r), 0x9000);
	tx_data(data, 1, 0x200E, 0x00);
	assert_int_equal(credit(card, data, r), 0x6A80);
	read_account(card, &bal, &ctr);
	assert_int_equal(bal, INT64_MAX);
	assert_int_equal(ctr, 4);
	/* Credit needs the agency; debit a hospital or pharmacy. */
	vc_card_test_set_role(card, VC_ROLE_BANK);
	tx_data(data, 1, 0x200F, 0x00);
	assert_int_equal(credit(card, data, r), 0x6982);
	vc_card_test_set_role(card, VC_ROLE_PHARMACY);
	assert_int_equal(credit(card, data, r), 0x6982);
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x9000);
	assert_int_equal(debit(card, data, r), 0x9000);
	free(before);
	free(r);
	vc_card_free(&card);
}

static void
test_debit_resend(void **state)
{
	uint8_t pub[65], data[40], first[128];
	vc_card *card = card_at(ST_ACTIVE, 0x01, pub), *copy;
	struct rsp *r = rsp_new();
	size_t first_len;
	int64_t bal;
	uint32_t ctr;

	(void)state;
	select_app(card);
	assert_int_equal(pay(card, 1234, 0x3001, 0x00, r), 0x9000);
	memcpy(first, r->buf, r->len);
	first_len = r->len;
	/* The receipt was lost; the terminal sends the same again. */
	assert_int_equal(pay(card, 1234, 0x3001, 0x00, r), 0x9000);
	assert_int_equal(r->len, first_len);
	assert_memory_equal(r->buf, first, first_len);
	/* After a power cycle too (the card remembers in EEPROM). */
	copy = card_clone(card);
	vc_card_free(&card);
	card = copy;
	select_app(card);
	/* Without the PIN, the resend is a DEBIT like any other. */
	vc_card_test_set_role(card, VC_ROLE_HOSPITAL);
	tx_data(data, 1234, 0x3001, 0x00);
	assert_int_equal(debit(card, data, r), 0x6982);
	assert_int_equal(pay(card, 1234, 0x3001, 0x00, r), 0x9000);
	assert_memory_equal(r->buf, first, first_len);
	vc_card_test_set_role(card, VC_ROLE_AGENCY);
	read_account(card, &bal, &ctr);
	assert_int_equal(bal, START_BALANCE - 1234);
	assert_int_equal(ctr, 2);
	assert_int_equal(read_record(card, 9, 3, r), 0x6A83);
	/* The same reference with other data: 6A80, nothing moves. */
	assert_int_equal(pay(card, 1235, 0x3001, 0x00, r), 0x6A80);
	assert_int_equal(pay(card, 1234, 0x3001, 0x01, r), 0x6A80);
	vc_card_test_set_role(card, VC_ROLE_AGENCY);
	assert_int_equal(credit(card, data, r), 0x6A80);
	/* Even one that would fail anew gets its receipt: the balance
	 * check does not run again. */
	vc_card_test_set_role(card, VC_ROLE_AGENCY);
	tx_data(data, START_BALANCE, 0x3002, 0x00);
	assert_int_equal(credit(card, data, r), 0x9000);
	memcpy(first, r->buf, r->len);
	first_len = r->len;
	assert_int_equal(pay(card, START_BALANCE * 2 - 1234, 0x3003, 0x00, r),
	    0x9000);
	assert_int_equal(be64(r->buf + 4), 0);
	vc_card_test_set_role(card, VC_ROLE_AGENCY);
	assert_int_equal(pay(card, START_BALANCE * 2 - 1234, 0x3003, 0x00, r),
	    0x9000);
	assert_int_equal(be64(r->buf + 4), 0);
	/* Only the last reference is remembered. */
	vc_card_test_set_role(card, VC_ROLE_AGENCY);
	assert_int_equal(credit(card, data, r), 0x9000);
	assert_int_equal(be32(r->buf), 5);
	read_account(card, &bal, &ctr);
	assert_int_equal(bal, START_BALANCE);
	assert_int_equal(ctr, 5);
	free(r);
	vc_card_free(&card);
}

/* More than 30 operations: record 1 is always the newest. */
static void
test_log_wrap(void **state)
{
	uint8_t data[40];
	vc_card *card = card_at(ST_ACTIVE, 0x01, NULL);
	struct rsp *r = rsp_new();

	(void)state;
	select_app(card);
	for (uint32_t i = 0; i < 35; i++) {
		if (i % 3 == 0) {
			assert_int_equal(pay(card, 10 + i, 0x4000 + i, 0x00, r),
			    0x9000);
		} else {
			vc_card_test_set_role(card, VC_ROLE_AGENCY);
			tx_data(data, 10 + i, 0x4000 + i, 0x00);
			assert_int_equal(credit(card, data, r), 0x9000);
		}
		assert_int_equal(be32(r->buf), i + 2);
		vc_card_test_set_role(card, VC_ROLE_AGENCY);
		/* Before the wrap, only what was written exists. */
		if (i + 2 < LOG_RECORDS)
			assert_int_equal(read_record(card, 9,
			    (uint8_t)(i + 3), r), 0x6A83);
	}
	for (uint8_t n = 1; n <= LOG_RECORDS; n++) {
		uint32_t counter = 37 - n, i = counter - 2;
		assert_int_equal(read_record(card, 9, n, r), 0x9000);
		assert_int_equal(be32(r->buf), counter);
		assert_int_equal(r->buf[4], i % 3 == 0 ? 0x01 : 0x02);
		assert_int_equal(be64(r->buf + 5), 10 + i);
		assert_memory_equal(r->buf + 37, BYTES(0xA0, 0xA1, 0xA2, 0xA3,
		    0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA), 11);
	}
	assert_int_equal(read_record(card, 9, 31, r), 0x6A83);
	assert_int_equal(read_record(card, 9, 0, r), 0x6A83);
	/* Reading through the current EF, after a power cycle. */
	vc_card_power_off(card);
	select_app(card);
	vc_card_test_set_role(card, VC_ROLE_HOSPITAL);
	assert_int_equal(send_cmd(card, 0x00, 0xA4, 0x02, 0x0C,
	    BYTES(0x01, 0x09), 2, 0, NULL), 0x9000);
	assert_int_equal(send_cmd(card, 0x00, 0xB2, 0x1E, 0x04, NULL, 0, 0x30,
	    r), 0x9000);
	assert_int_equal(be32(r->buf), 7);
	free(r);
	vc_card_free(&card);
}

/* --- persistence -------------------------------------------------------- */

struct commits {
	unsigned calls;
	unsigned fail_at;      /* 1-based; 0 = never */
	uint8_t *last;         /* a copy of the last state committed */
	size_t len;
};

static mic_rc
commit_cb(void *arg, const uint8_t *nv, size_t len)
{
	struct commits *c = arg;

	c->calls++;
	if (c->fail_at != 0 && c->calls == c->fail_at)
		return MIC_ERR_IO;
	free(c->last);
	assert_non_null(c->last = malloc(len));
	memcpy(c->last, nv, len);
	c->len = len;
	return MIC_OK;
}

static void
test_commit_calls(void **state)
{
	vc_card *card = card_at(ST_ACTIVE, 0x01, NULL);
	struct commits c;
	struct rsp *r = rsp_new();
	const uint8_t *nv = NULL;
	size_t len = 0;

	(void)state;
	memset(&c, 0, sizeof(c));
	vc_card_set_commit(card, commit_cb, &c);
	select_app(card);
	vc_card_test_set_role(card, VC_ROLE_HOSPITAL);
	/* Reads, queries and refusals write nothing. */
	assert_int_equal(read_binary(card, 1, r), 0x9000);
	assert_int_equal(read_record(card, 9, 1, r), 0x9000);
	EXPECT_SW(card, 0x63C3, 0x00, 0x20, 0x00, 0x81);
	EXPECT_SW(card, 0x6A80, 0x00, 0x20, 0x00, 0x81, 0x08,
	    0x36, 0x12, 0x34, 0x56, 0xFF, 0xFF, 0xFF, 0xFF);
	assert_int_equal(reason_cmd(card, 0xE6, 0x01), 0x6982);
	assert_int_equal(pay(card, START_BALANCE + 1, 1, 0x00, r), 0x9401);
	/* That pay() had one VERIFY: a comparison always writes. */
	assert_int_equal(c.calls, 1);
	/* A right PIN writes once, a payment once more. */
	assert_int_equal(pay(card, 5, 2, 0x00, r), 0x9000);
	assert_int_equal(c.calls, 3);
	vc_card_nv(card, &nv, &len);
	assert_int_equal(c.len, len);
	assert_memory_equal(c.last, nv, len);
	/* A resend writes nothing. */
	assert_int_equal(pay(card, 5, 2, 0x00, r), 0x9000);
	assert_int_equal(c.calls, 4);
	/* Taking the commit function away: a RAM card. */
	vc_card_set_commit(card, NULL, NULL);
	assert_int_equal(pay(card, 6, 3, 0x00, r), 0x9000);
	assert_int_equal(c.calls, 4);
	free(c.last);
	free(r);
	vc_card_free(&card);
}

/* A restart from the stored state behaves as the card did. */
static void
test_restart(void **state)
{
	uint8_t pub[65], data[40], fci1[64], fci2[64];
	vc_card *card = card_at(ST_ACTIVE, 0x01, pub), *again = NULL;
	struct rsp *r = rsp_new(), *r2 = rsp_new();
	struct commits c;
	int64_t bal;
	uint32_t ctr;

	(void)state;
	memset(&c, 0, sizeof(c));
	vc_card_set_commit(card, commit_cb, &c);
	select_app(card);
	assert_int_equal(pay(card, 300, 0x6001, 0x01, r), 0x9000);
	vc_card_test_set_role(card, VC_ROLE_BANK);
	assert_int_equal(verify_pin(card, OTHER_PIN), 0x63C2);
	/* Restart from what the commit function stored. */
	assert_int_equal(vc_card_load(&again, c.last, c.len, 0), MIC_OK);
	assert_int_equal(vc_card_state(again), VC_STATE_ACTIVE);
	assert_int_equal(send_cmd(card, 0x00, 0xA4, 0x04, 0x00, AID,
	    sizeof(AID), 256, r), 0x9000);
	memcpy(fci1, r->buf, r->len);
	assert_int_equal(send_cmd(again, 0x00, 0xA4, 0x04, 0x00, AID,
	    sizeof(AID), 256, r2), 0x9000);
	memcpy(fci2, r2->buf, r2->len);
	assert_int_equal(r->len, r2->len);
	assert_memory_equal(fci1, fci2, r->len);
	/* The try counter came along; RAM state did not. */
	EXPECT_SW(again, 0x63C2, 0x00, 0x20, 0x00, 0x81);
	assert_int_equal(read_binary(again, 8, r), 0x6982);
	vc_card_test_set_role(again, VC_ROLE_AGENCY);
	read_account(again, &bal, &ctr);
	assert_int_equal(bal, START_BALANCE - 300);
	assert_int_equal(ctr, 2);
	for (uint8_t n = 1; n <= 3; n++) {
		vc_card_test_set_role(card, VC_ROLE_AGENCY);
		assert_int_equal(read_record(card, 9, n, r), n < 3 ? 0x9000 :
		    0x6A83);
		assert_int_equal(read_record(again, 9, n, r2), r->sw);
		assert_int_equal(r->len, r2->len);
		assert_memory_equal(r->buf, r2->buf, r->len);
	}
	/* The same key signs; the same PIN pays. */
	assert_int_equal(pay(again, 400, 0x6002, 0x00, r), 0x9000);
	tx_data(data, 400, 0x6002, 0x00);
	assert_true(receipt_ok(pub, 0x01, data, r->buf, r->len));
	assert_int_equal(be32(r->buf), 3);
	assert_int_equal(pay(again, 400, 0x6002, 0x00, r2), 0x9000);
	assert_memory_equal(r->buf, r2->buf, r->len);
	/* The original remembers its own last payment. */
	assert_int_equal(pay(card, 300, 0x6001, 0x01, r2), 0x9000);
	assert_int_equal(be32(r2->buf), 2);
	free(c.last);
	free(r);
	free(r2);
	vc_card_free(&again);
	vc_card_free(&card);
}

static void
test_load_rejects(void **state)
{
	vc_card *card = card_at(ST_ACTIVE, 0x01, NULL), *out = NULL;
	const uint8_t *nv = NULL;
	uint8_t *bad;
	size_t len = 0;
	static const struct {
		size_t off;
		uint8_t xor;
	} flips[] = {
		{ 0, 0x01 },                                   /* magic */
		{ 5, 0x01 },                                   /* version */
		{ 4, 0x01 },
		{ offsetof(struct vc_nv, byte_order), 0xFF },
		{ offsetof(struct vc_nv, size), 0x01 },
		{ offsetof(struct vc_nv, state), 0x03 },       /* 3 -> 0 */
		{ offsetof(struct vc_nv, state), 0x05 },       /* 3 -> 6 */
		{ offsetof(struct vc_nv, perso), 0x80 },
		{ offsetof(struct vc_nv, pin_tries), 0x04 },   /* 3 -> 7 */
		{ offsetof(struct vc_nv, pin_set), 0x01 },     /* no PIN */
		{ offsetof(struct vc_nv, pin_transport), 0x02 },
		{ offsetof(struct vc_nv, key_set), 0x01 },     /* no key */
		{ offsetof(struct vc_nv, last_valid), 0x02 },
		{ offsetof(struct vc_nv, last_ins), 0x01 },
		{ offsetof(struct vc_nv, last_rsp_len), 0x80 },
		/* The file table: a size, an offset, a parent, a count. */
		{ offsetof(struct vc_nv, fs) + offsetof(struct vc_fs, file) +
		    3 * sizeof(struct vc_file) + offsetof(struct vc_file,
		    size), 0x40 },
		{ offsetof(struct vc_nv, fs) + offsetof(struct vc_fs, file) +
		    5 * sizeof(struct vc_file) + offsetof(struct vc_file,
		    off), 0x10 },
		{ offsetof(struct vc_nv, fs) + offsetof(struct vc_fs, file) +
		    4 * sizeof(struct vc_file) + offsetof(struct vc_file,
		    parent), 0x07 },
		{ offsetof(struct vc_nv, fs) + offsetof(struct vc_fs, nfiles),
		    0x20 },
		{ offsetof(struct vc_nv, fs) + offsetof(struct vc_fs,
		    pool_used), 0x01 },
		/* Record positions of EF.LOG (index 11) and EF.FAMILY. */
		{ offsetof(struct vc_nv, fs) + offsetof(struct vc_fs, rec) +
		    11 * sizeof(struct vc_recstate), 0x40 },
		{ offsetof(struct vc_nv, fs) + offsetof(struct vc_fs, rec) +
		    11 * sizeof(struct vc_recstate) + 1, 0x40 },
		{ offsetof(struct vc_nv, fs) + offsetof(struct vc_fs, rec) +
		    11 * sizeof(struct vc_recstate), 0x02 },
		{ offsetof(struct vc_nv, fs) + offsetof(struct vc_fs, rec) +
		    9 * sizeof(struct vc_recstate), 0x01 },
	};

	(void)state;
	vc_card_nv(card, &nv, &len);
	assert_non_null(bad = malloc(len + 1));
	/* The state as given loads. */
	assert_int_equal(vc_card_load(&out, nv, len, 0), MIC_OK);
	vc_card_free(&out);
	assert_int_equal(vc_card_load(&out, nv, len, VC_CARD_T0_QUIRKS),
	    MIC_OK);
	vc_card_free(&out);
	assert_int_equal(vc_card_load(NULL, nv, len, 0),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(vc_card_load(&out, NULL, len, 0),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(vc_card_load(&out, nv, len, 0x80),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(vc_card_load(&out, nv, len - 1, 0),
	    MIC_ERR_INVALID_ARGUMENT);
	memcpy(bad, nv, len);
	bad[len] = 0;
	assert_int_equal(vc_card_load(&out, bad, len + 1, 0),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(vc_card_load(&out, bad, 0, 0),
	    MIC_ERR_INVALID_ARGUMENT);
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		memcpy(bad, nv, len);
		bad[flips[i].off] ^= flips[i].xor;
		if (vc_card_load(&out, bad, len, 0) != MIC_ERR_INVALID_ARGUMENT)
			fail_msg("flip %zu at offset %zu was accepted", i,
			    flips[i].off);
		assert_null(out);
	}
	/* The pool's bytes are data, not structure: they load. */
	memcpy(bad, nv, len);
	bad[len - 1] ^= 0x01;
	assert_int_equal(vc_card_load(&out, bad, len, 0), MIC_OK);
	vc_card_free(&out);
	free(bad);
	vc_card_free(&card);
}

/* The bytes stored start with the magic and layout version. */
static void
test_nv_header(void **state)
{
	vc_card *card = NULL;
	const uint8_t *nv = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(vc_card_new(&card, CHIP_SERIAL, 0), MIC_OK);
	vc_card_nv(card, &nv, &len);
	assert_int_equal(len, sizeof(struct vc_nv));
	assert_memory_equal(nv, "MICV", 4);
	assert_memory_equal(nv + 4, BYTES(0x00, 0x03), 2);
	assert_int_equal(nv[6], VC_STATE_BLANK);
	assert_memory_equal(nv + offsetof(struct vc_nv, serial),
	    BYTES(0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77), 8);
	vc_card_nv(NULL, &nv, &len);
	assert_null(nv);
	assert_int_equal(len, 0);
	vc_card_free(&card);
}

/* --- torn commits ------------------------------------------------------- */

/* A DEBIT whose commit fails: mute, then all of it undone. */
static void
test_torn_debit(void **state)
{
	uint8_t pub[65], data[40], blk[8], *before;
	vc_card *card = card_at(ST_ACTIVE, 0x01, pub);
	struct rsp *r = rsp_new();
	struct commits c;
	int64_t bal;
	uint32_t ctr;
	uint16_t sw = 0;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.fail_at = 2;     /* the VERIFY passes, the DEBIT is torn */
	vc_card_set_commit(card, commit_cb, &c);
	select_app(card);
	vc_card_test_set_role(card, VC_ROLE_HOSPITAL);
	assert_int_equal(verify_pin(card, HOLDER_PIN), 0x9000);
	before = nv_copy(card);
	tx_data(data, 999, 0x7001, 0x00);
	assert_int_equal(try_cmd(card, 0x80, 0x54, 0x00, 0x00, data, 40, 256,
	    &sw), MIC_ERR_IO);
	/* Balance, counter, log and remembered receipt: all as before. */
	assert_nv(card, before);
	/* Mute until the next power-on, whatever comes. */
	assert_int_equal(try_cmd(card, 0x00, 0xA4, 0x04, 0x0C, AID,
	    sizeof(AID), 0, &sw), MIC_ERR_IO);
	assert_int_equal(try_cmd(card, 0x00, 0xC0, 0x00, 0x00, NULL, 0, 256,
	    &sw), MIC_ERR_IO);
	/* A mute card does not act either: not a payment, not a PIN try. */
	assert_int_equal(try_cmd(card, 0x80, 0x54, 0x00, 0x00, data, 40, 256,
	    &sw), MIC_ERR_IO);
	pin_block(OTHER_PIN, blk);
	assert_int_equal(try_cmd(card, 0x00, 0x20, 0x00, 0x81, blk, 8, 0, &sw),
	    MIC_ERR_IO);
	assert_nv(card, before);
	assert_int_equal(c.calls, 2);
	vc_card_power_off(card);
	select_app(card);
	vc_card_test_set_role(card, VC_ROLE_AGENCY);
	read_account(card, &bal, &ctr);
	assert_int_equal(bal, START_BALANCE);
	assert_int_equal(ctr, 1);
	assert_int_equal(read_record(card, 9, 2, r), 0x6A83);
	/* The terminal sends it again: done once, and only once. */
	assert_int_equal(pay(card, 999, 0x7001, 0x00, r), 0x9000);
	assert_int_equal(be32(r->buf), 2);
	assert_true(receipt_ok(pub, 0x01, data, r->buf, r->len));
	assert_int_equal(pay(card, 999, 0x7001, 0x00, r), 0x9000);
	vc_card_test_set_role(card, VC_ROLE_AGENCY);
	read_account(card, &bal, &ctr);
	assert_int_equal(bal, START_BALANCE - 999);
	assert_int_equal(ctr, 2);
	free(before);
	free(c.last);
	free(r);
	vc_card_free(&card);
}

/* A wrong PIN whose commit fails tells nothing and costs nothing. */
static void
test_torn_verify(void **state)
{
	vc_card *card = card_at(ST_ACTIVE, 0x01, NULL);
	struct commits c;
	uint8_t blk[8];
	uint16_t sw = 0;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.fail_at = 1;
	vc_card_set_commit(card, commit_cb, &c);
	select_app(card);
	pin_block(OTHER_PIN, blk);
	assert_int_equal(try_cmd(card, 0x00, 0x20, 0x00, 0x81, blk, 8, 0, &sw),
	    MIC_ERR_IO);
	assert_int_equal(nv_of(card)->pin_tries, 3);
	vc_card_power_off(card);
	select_app(card);
	EXPECT_SW(card, 0x63C3, 0x00, 0x20, 0x00, 0x81);
	/* A right PIN torn the same way: not verified either. */
	c.fail_at = c.calls + 1;
	pin_block(HOLDER_PIN, blk);
	assert_int_equal(try_cmd(card, 0x00, 0x20, 0x00, 0x81, blk, 8, 0, &sw),
	    MIC_ERR_IO);
	vc_card_reset(card);
	select_app(card);
	EXPECT_SW(card, 0x63C3, 0x00, 0x20, 0x00, 0x81);
	free(c.last);
	vc_card_free(&card);
}

/*
 * The whole life of a card with the Nth commit torn, for every N: the
 * card keeps the state before the torn command and works after a power
 * cycle.
 */
struct step {
	enum vc_role role;
	uint8_t cla, ins, p1, p2;
	int data;      /* which data, see step_data() */
	size_t ne;
	size_t resume; /* after a power cycle, start again here */
};

enum { D_NONE, D_BLOCK0, D_SOD, D_CERT, D_LAST, D_CHANGE, D_ACT, D_CREDIT,
    D_VERIFY, D_DEBIT, D_REASON };

static size_t
step_data(int which, uint8_t *buf, size_t cap)
{
	uint8_t tmpl[2048];
	size_t off = 0;

	switch (which) {
	case D_BLOCK0:
		put_dgi(buf, cap, &off, 0x0101, tmpl, sample_card(tmpl, 2048));
		put_dgi(buf, cap, &off, 0x0102, tmpl,
		    sample_holder(tmpl, 2048));
		put_dgi(buf, cap, &off, 0x0103, tmpl,
		    sample_insurance(tmpl, 2048, 0x01));
		return off;
	case D_SOD:
		sample_sod(tmpl);
		put_dgi(buf, cap, &off, 0x0104, tmpl, SOD_LEN);
		return off;
	case D_CERT:
		sample_cert(tmpl);
		put_dgi(buf, cap, &off, 0x0105, tmpl, CERT_LEN);
		return off;
	case D_LAST:
		sample_member(tmpl, 1, 0x01);
		put_dgi(buf, cap, &off, 0x0107, tmpl, FAMILY_RECLEN);
		pin_block(TRANSPORT_PIN, tmpl);
		put_dgi(buf, cap, &off, 0x8010, tmpl, 8);
		return off;
	case D_CHANGE:
		pin_block(TRANSPORT_PIN, buf);
		pin_block(HOLDER_PIN, buf + 8);
		return 16;
	case D_ACT:
		memcpy(buf, ACT_DATA, sizeof(ACT_DATA));
		return sizeof(ACT_DATA);
	case D_CREDIT:
		tx_data(buf, 5000, 0x8001, 0x00);
		return 40;
	case D_VERIFY:
		pin_block(HOLDER_PIN, buf);
		return 8;
	case D_DEBIT:
		tx_data(buf, 1200, 0x8002, 0x01);
		return 40;
	case D_REASON:
		buf[0] = 0x01;
		return 1;
	default:
		return 0;
	}
}

/*
 * STORE DATA blocks and the PIN live in RAM: after a power cycle the
 * bureau starts again at block 00, the POS asks the PIN again.
 */
static const struct step life[] = {
	{ VC_ROLE_BUREAU, 0x00, 0x47, 0x80, 0x00, D_NONE, 256, 0 },
	{ VC_ROLE_BUREAU, 0x80, 0xE2, 0x00, 0x00, D_BLOCK0, 0, 1 },
	{ VC_ROLE_BUREAU, 0x80, 0xE2, 0x00, 0x01, D_SOD, 0, 1 },
	{ VC_ROLE_BUREAU, 0x80, 0xE2, 0x00, 0x02, D_CERT, 0, 1 },
	{ VC_ROLE_BUREAU, 0x80, 0xE2, 0x80, 0x03, D_LAST, 0, 1 },
	{ VC_ROLE_BANK, 0x00, 0x24, 0x00, 0x81, D_CHANGE, 0, 5 },
	{ VC_ROLE_BANK, 0x00, 0x44, 0x00, 0x00, D_ACT, 0, 6 },
	{ VC_ROLE_AGENCY, 0x80, 0x52, 0x00, 0x00, D_CREDIT, 256, 7 },
	{ VC_ROLE_HOSPITAL, 0x00, 0x20, 0x00, 0x81, D_VERIFY, 0, 8 },
	{ VC_ROLE_HOSPITAL, 0x80, 0x54, 0x00, 0x00, D_DEBIT, 256, 8 },
	{ VC_ROLE_AGENCY, 0x00, 0x04, 0x00, 0x00, D_REASON, 0, 10 },
	{ VC_ROLE_BANK, 0x00, 0x44, 0x00, 0x00, D_ACT, 0, 11 },
	{ VC_ROLE_BANK, 0x00, 0xE6, 0x00, 0x00, D_REASON, 0, 12 },
};
#define LIFE_STEPS (sizeof(life) / sizeof(life[0]))

/*
 * Run the steps from @p from; the extended APDUs carry the long DGIs in
 * one piece. Returns the index of the step whose commit was torn, or
 * LIFE_STEPS.
 */
static size_t
run_life(vc_card *card, size_t from, uint8_t *before)
{
	uint8_t *buf = malloc(4096);

	assert_non_null(buf);
	for (size_t i = from; i < LIFE_STEPS; i++) {
		size_t n = step_data(life[i].data, buf, 4096);
		uint16_t sw = 0;
		mic_rc rc;

		vc_card_test_set_role(card, life[i].role);
		memcpy(before, nv_of(card), sizeof(struct vc_nv));
		rc = try_cmd(card, life[i].cla, life[i].ins, life[i].p1,
		    life[i].p2, n ? buf : NULL, n, life[i].ne, &sw);
		if (rc == MIC_ERR_IO) {
			free(buf);
			return i;
		}
		assert_int_equal(rc, MIC_OK);
		if (sw != 0x9000)
			fail_msg("step %zu: SW %04X", i, sw);
	}
	free(buf);
	return LIFE_STEPS;
}

static void
test_torn_everywhere(void **state)
{
	uint8_t *before = malloc(sizeof(struct vc_nv));

	(void)state;
	assert_non_null(before);
	/* One commit per step: 13 commits, so N = 14 tears none. */
	for (unsigned n = 1; n <= LIFE_STEPS + 1; n++) {
		vc_card *card = NULL;
		struct commits c;
		size_t torn;
		uint16_t sw = 0;

		memset(&c, 0, sizeof(c));
		c.fail_at = n;
		assert_int_equal(vc_card_new(&card, CHIP_SERIAL, 0), MIC_OK);
		vc_card_set_commit(card, commit_cb, &c);
		select_app(card);
		torn = run_life(card, 0, before);
		if (n > LIFE_STEPS) {
			assert_int_equal(torn, LIFE_STEPS);
			assert_int_equal(vc_card_state(card),
			    VC_STATE_TERMINATED);
			assert_int_equal(c.calls, LIFE_STEPS);
		} else {
			assert_int_equal(torn, n - 1);
			/* The state before the torn command, to the byte. */
			assert_nv(card, before);
			assert_int_equal(try_cmd(card, 0x00, 0xA4, 0x04, 0x0C,
			    AID, sizeof(AID), 0, &sw), MIC_ERR_IO);
			/* Power on again: the rest of the life goes on. */
			vc_card_power_off(card);
			select_app(card);
			assert_int_equal(run_life(card, life[torn].resume,
			    before), LIFE_STEPS);
			assert_int_equal(vc_card_state(card),
			    VC_STATE_TERMINATED);
		}
		free(c.last);
		vc_card_free(&card);
	}
	free(before);
}

/* --- through the host transport ----------------------------------------- */

static void
test_pos_through_host(void **state)
{
	uint8_t pub[65], data[40], buf[256];
	vc_card *card = card_at(ST_ACTIVE, 0x01, pub);
	mic_tx_t *tx = NULL;
	mic_apdu a;
	size_t n = 0;
	uint16_t sw = 0;

	(void)state;
	assert_int_equal(mic_tx_new_inproc(&tx, vc_card_transmit, card),
	    MIC_OK);
	/* Section 8: SELECT, the reads, VERIFY, EF.ACCOUNT. */
	memset(&a, 0, sizeof(a));
	a.ins = 0xA4;
	a.p1 = 0x04;
	a.data = AID;
	a.nc = sizeof(AID);
	a.ne = 256;
	assert_int_equal(mic_tx_transmit(tx, &a, buf, sizeof(buf), &n, &sw),
	    MIC_OK);
	assert_int_equal(sw, 0x9000);
	assert_int_equal(n, 28);
	assert_memory_equal(buf, BYTES(0x6F, 0x1A, 0x84, 0x09), 4);
	assert_memory_equal(buf + 13, BYTES(0xA5, 0x0D, 0x80, 0x01, 0x03,
	    0x81, 0x08, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77), 15);
	/* In plain, EF.CARD only; the holder's files in the pharmacy's
	 * channel (the in-process hook stands in for its SCP11a). */
	for (uint8_t sfi = 1; sfi <= 3; sfi++) {
		memset(&a, 0, sizeof(a));
		a.ins = 0xB0;
		a.p1 = (uint8_t)(0x80 | sfi);
		a.ne = 256;
		assert_int_equal(mic_tx_transmit(tx, &a, buf, sizeof(buf), &n,
		    &sw), MIC_OK);
		assert_int_equal(sw, sfi == 1 ? 0x9000 : 0x6982);
		vc_card_test_set_role(card, VC_ROLE_PHARMACY);
		assert_int_equal(mic_tx_transmit(tx, &a, buf, sizeof(buf), &n,
		    &sw), MIC_OK);
		vc_card_test_set_role(card, VC_ROLE_NONE);
		assert_int_equal(sw, 0x9000);
		assert_int_equal(buf[0], sfi == 1 ? 0x66 : sfi == 2 ? 0x65 :
		    0xE1);
	}
	vc_card_test_set_role(card, VC_ROLE_PHARMACY);
	memset(&a, 0, sizeof(a));
	a.ins = 0x20;
	a.p2 = 0x81;
	a.data = BYTES(0x26, 0x12, 0x34, 0x56, 0xFF, 0xFF, 0xFF, 0xFF);
	a.nc = 8;
	assert_int_equal(mic_tx_transmit(tx, &a, NULL, 0, &n, &sw), MIC_OK);
	assert_int_equal(sw, 0x9000);
	memset(&a, 0, sizeof(a));
	a.ins = 0xB0;
	a.p1 = 0x88;
	a.ne = 256;
	assert_int_equal(mic_tx_transmit(tx, &a, buf, sizeof(buf), &n, &sw),
	    MIC_OK);
	assert_int_equal(sw, 0x9000);
	assert_int_equal(n, 32);
	assert_int_equal(be64(buf + 4), START_BALANCE);
	/* The payment, its receipt checked. */
	tx_data(data, 4321, 0x9001, 0x00);
	memset(&a, 0, sizeof(a));
	a.cla = 0x80;
	a.ins = 0x54;
	a.data = data;
	a.nc = 40;
	a.ne = 256;
	assert_int_equal(mic_tx_transmit(tx, &a, buf, sizeof(buf), &n, &sw),
	    MIC_OK);
	assert_int_equal(sw, 0x9000);
	assert_true(receipt_ok(pub, 0x01, data, buf, n));
	/* mic_tx_command folds a refusal into the mic_rc. */
	assert_int_equal(mic_tx_command(tx, &a, buf, sizeof(buf), &n),
	    MIC_SW_SECURITY_STATUS);
	mic_tx_free(&tx);
	vc_card_free(&card);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_perso_flow),
		cmocka_unit_test(test_perso_through_host),
		cmocka_unit_test(test_perso_blocks),
		cmocka_unit_test(test_perso_incomplete),
		cmocka_unit_test(test_perso_bad_templates),
		cmocka_unit_test(test_perso_bad_dgis),
		cmocka_unit_test(test_perso_access),
		cmocka_unit_test(test_transport_pin),
		cmocka_unit_test(test_verify_to_blocked),
		cmocka_unit_test(test_pin_block_malformed),
		cmocka_unit_test(test_change_pin),
		cmocka_unit_test(test_pin_verified_ends),
		cmocka_unit_test(test_pin_storage),
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_lifecycle_data),
		cmocka_unit_test(test_terminated_rule),
		cmocka_unit_test(test_activate_policy),
		cmocka_unit_test_setup_teardown(test_access_matrix, matrix_setup,
		    matrix_teardown),
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_debit_credit),
		cmocka_unit_test(test_debit_checks),
		cmocka_unit_test(test_debit_resend),
		cmocka_unit_test(test_log_wrap),
		cmocka_unit_test(test_commit_calls),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_load_rejects),
		cmocka_unit_test(test_nv_header),
		cmocka_unit_test(test_torn_debit),
		cmocka_unit_test(test_torn_verify),
		cmocka_unit_test(test_torn_everywhere),
		cmocka_unit_test(test_pos_through_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
