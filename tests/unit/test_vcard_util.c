#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <mic/tlv.h>

#include "internal.h"
#include "test_vcard_util.h"

struct rsp *
rsp_new(void)
{
	struct rsp *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	return r;
}

void
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

void
raw(vc_card *card, const uint8_t *cmd, size_t len, struct rsp *r)
{
	raw_cap(card, cmd, len, sizeof(r->buf), r);
}

uint16_t
send_cmd(vc_card *card, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
    const uint8_t *data, size_t nc, size_t ne, struct rsp *r)
{
	uint8_t *cmd = malloc(MIC_APDU_CMD_MAX);
	struct rsp *own = NULL;
	mic_apdu a;
	size_t len = 0;
	uint16_t sw;

	assert_non_null(cmd);
	if (r == NULL)
		r = own = rsp_new();
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
	raw(card, cmd, len, r);
	sw = r->sw;
	free(own);
	free(cmd);
	return sw;
}

void
select_app(vc_card *card)
{
	static const uint8_t aid[] = VC_MIC_AID;
	uint16_t sw = send_cmd(card, 0x00, 0xA4, 0x04, 0x0C, aid, sizeof(aid),
	    0, NULL);

	assert_true(sw == 0x9000 || sw == 0x6283 || sw == 0x6285);
}

void
select_mf(vc_card *card)
{
	assert_int_equal(send_cmd(card, 0x00, 0xA4, 0x00, 0x0C, NULL, 0, 0,
	    NULL), 0x9000);
}

void
pin_block(const char *digits, uint8_t out[8])
{
	size_t n = strlen(digits);

	assert_true(n <= 14);
	memset(out, 0xFF, 8);
	out[0] = (uint8_t)(0x20 | n);
	for (size_t i = 0; i < n; i++) {
		uint8_t v = (uint8_t)(digits[i] - '0');
		if (i % 2 == 0)
			out[1 + i / 2] = (uint8_t)((v << 4) | 0x0F);
		else
			out[1 + i / 2] = (uint8_t)((out[1 + i / 2] & 0xF0) | v);
	}
}

uint16_t
verify_pin(vc_card *card, const char *digits)
{
	uint8_t blk[8];

	pin_block(digits, blk);
	return send_cmd(card, 0x00, 0x20, 0x00, 0x81, blk, 8, 0, NULL);
}

uint16_t
change_pin(vc_card *card, const char *old, const char *next)
{
	uint8_t blk[16];

	enum vc_role was = vc_card_test_role(card);
	uint16_t sw;

	/* A PIN change is a write: it needs a bank or POS channel (4.3). */
	pin_block(old, blk);
	pin_block(next, blk + 8);
	if (was == VC_ROLE_NONE)
		vc_card_test_set_role(card, VC_ROLE_BANK);
	sw = send_cmd(card, 0x00, 0x24, 0x00, 0x81, blk, 16, 0, NULL);
	if (was == VC_ROLE_NONE)
		vc_card_test_set_role(card, VC_ROLE_NONE);
	return sw;
}

static size_t
finish(mic_tlv_writer *w)
{
	size_t len = 0;

	assert_int_equal(mic_tlv_writer_finish(w, &len), MIC_OK);
	return len;
}

size_t
sample_card(uint8_t *buf, size_t cap)
{
	mic_tlv_writer w;

	mic_tlv_writer_init(&w, buf, cap);
	mic_tlv_open(&w, 0x66);
	mic_tlv_put(&w, 0x80, (const uint8_t *)CARD_ID, 32);
	mic_tlv_put(&w, 0x81, (const uint8_t *)"A12345678", 9);
	mic_tlv_put(&w, 0x82, BYTES(0x01), 1);
	mic_tlv_put(&w, 0x83, BYTES(0x01, 0x00), 2);
	mic_tlv_put(&w, 0x42, (const uint8_t *)"110100", 6);
	mic_tlv_put(&w, 0x5F25, BYTES(0x20, 0x26, 0x01, 0x15), 4);
	mic_tlv_put(&w, 0x5F24, BYTES(0x20, 0x36, 0x01, 0x14), 4);
	mic_tlv_close(&w);
	return finish(&w);
}

size_t
sample_holder(uint8_t *buf, size_t cap)
{
	/* 张三 */
	static const uint8_t name[] = { 0xE5, 0xBC, 0xA0, 0xE4, 0xB8, 0x89 };
	mic_tlv_writer w;

	mic_tlv_writer_init(&w, buf, cap);
	mic_tlv_open(&w, 0x65);
	mic_tlv_put(&w, 0x80, (const uint8_t *)"110105198001010016", 18);
	mic_tlv_put(&w, 0x5F20, name, sizeof(name));
	mic_tlv_put(&w, 0x5F35, (const uint8_t *)"1", 1);
	mic_tlv_put(&w, 0x5F2B, BYTES(0x19, 0x80, 0x01, 0x01), 4);
	mic_tlv_put(&w, 0x81, (const uint8_t *)"110105", 6);
	mic_tlv_put(&w, 0x82, (const uint8_t *)"01", 2);
	mic_tlv_close(&w);
	return finish(&w);
}

size_t
sample_insurance(uint8_t *buf, size_t cap, uint8_t policy)
{
	mic_tlv_writer w;

	mic_tlv_writer_init(&w, buf, cap);
	mic_tlv_open(&w, 0xE1);
	mic_tlv_put(&w, 0x80, (const uint8_t *)"1", 1);
	mic_tlv_put(&w, 0x81, (const uint8_t *)"110100", 6);
	mic_tlv_put(&w, 0x82, BYTES(0x20, 0x20, 0x07, 0x01), 4);
	mic_tlv_put(&w, 0x83, &policy, 1);
	mic_tlv_close(&w);
	return finish(&w);
}

uint8_t
sample_byte(size_t i)
{
	/* 251 is prime to 256: a read from a wrong offset never matches. */
	return (uint8_t)(i % 251);
}

static void
sample_der(uint8_t *buf, size_t len)
{
	buf[0] = 0x30;
	buf[1] = 0x82;
	mici_put_u16(buf + 2, (uint16_t)(len - 4));
	for (size_t i = 4; i < len; i++)
		buf[i] = sample_byte(i);
}

void
sample_sod(uint8_t buf[SOD_LEN])
{
	sample_der(buf, SOD_LEN);
}

void
sample_cert(uint8_t buf[CERT_LEN])
{
	sample_der(buf, CERT_LEN);
}

void
sample_member(uint8_t rec[FAMILY_RECLEN], int n, uint8_t may_pay)
{
	static const char *const ssn[] = {
		"110105201001010029", "110105198202020034",
		"11010519900303004X",
	};
	/* 李四 */
	static const uint8_t name[] = { 0xE6, 0x9D, 0x8E, 0xE5, 0x9B, 0x9B };
	mic_tlv_writer w;

	assert_true(n >= 1 && n <= 3);
	memset(rec, 0, FAMILY_RECLEN);
	mic_tlv_writer_init(&w, rec, FAMILY_RECLEN);
	mic_tlv_open(&w, 0xE3);
	mic_tlv_put(&w, 0x80, (const uint8_t *)"20", 2);
	mic_tlv_put(&w, 0x81, (const uint8_t *)ssn[n - 1], 18);
	mic_tlv_put(&w, 0x5F20, name, sizeof(name));
	mic_tlv_put(&w, 0x82, &may_pay, 1);
	mic_tlv_put(&w, 0x83, BYTES(0x20, 0x26, 0x03, 0x01), 4);
	mic_tlv_close(&w);
	finish(&w);
}

void
put_dgi(uint8_t *out, size_t cap, size_t *off, uint16_t tag,
    const uint8_t *data, size_t len)
{
	size_t hdr = len < 0xFF ? 3 : 5;

	assert_true(*off + hdr + len <= cap);
	mici_put_u16(out + *off, tag);
	if (len < 0xFF)
		out[*off + 2] = (uint8_t)len;
	else {
		out[*off + 2] = 0xFF;
		mici_put_u16(out + *off + 3, (uint16_t)len);
	}
	if (len > 0)
		memcpy(out + *off + hdr, data, len);
	*off += hdr + len;
}

uint16_t
store_data(vc_card *card, uint8_t p1, uint8_t p2, const uint8_t *data,
    size_t len)
{
	size_t off = 0;

	while (len - off > 255) {
		uint16_t sw = send_cmd(card, 0x90, 0xE2, p1, p2, data + off,
		    255, 0, NULL);
		if (sw != 0x9000)
			return sw;
		off += 255;
	}
	return send_cmd(card, 0x80, 0xE2, p1, p2, len > off ? data + off :
	    NULL, len - off, 0, NULL);
}

/* The bureau's run: key pair, then every DGI, family in the last block. */
static void
personalize(vc_card *card, uint8_t policy, uint8_t pub[65])
{
	uint8_t *buf = malloc(4096), *tmpl = malloc(2048);
	struct rsp *r = rsp_new();
	uint8_t blk[8];
	size_t off = 0, n;

	assert_non_null(buf);
	assert_non_null(tmpl);
	vc_card_test_set_role(card, VC_ROLE_BUREAU);
	select_app(card);
	assert_int_equal(send_cmd(card, 0x00, 0x47, 0x80, 0x00, NULL, 0, 256,
	    r), 0x9000);
	assert_int_equal(r->len, 70);
	assert_memory_equal(r->buf, BYTES(0x7F, 0x49, 0x43, 0x86, 0x41, 0x04),
	    6);
	if (pub != NULL)
		memcpy(pub, r->buf + 5, 65);

	n = sample_card(tmpl, 2048);
	put_dgi(buf, 4096, &off, 0x0101, tmpl, n);
	n = sample_holder(tmpl, 2048);
	put_dgi(buf, 4096, &off, 0x0102, tmpl, n);
	n = sample_insurance(tmpl, 2048, policy);
	put_dgi(buf, 4096, &off, 0x0103, tmpl, n);
	assert_int_equal(store_data(card, 0x00, 0x00, buf, off), 0x9000);

	off = 0;
	sample_sod(tmpl);
	put_dgi(buf, 4096, &off, 0x0104, tmpl, SOD_LEN);
	assert_int_equal(store_data(card, 0x00, 0x01, buf, off), 0x9000);

	off = 0;
	sample_cert(tmpl);
	put_dgi(buf, 4096, &off, 0x0105, tmpl, CERT_LEN);
	assert_int_equal(store_data(card, 0x00, 0x02, buf, off), 0x9000);

	off = 0;
	sample_member(tmpl, 1, 0x01);
	sample_member(tmpl + FAMILY_RECLEN, 2, 0x00);
	put_dgi(buf, 4096, &off, 0x0107, tmpl, 2 * FAMILY_RECLEN);
	pin_block(TRANSPORT_PIN, blk);
	put_dgi(buf, 4096, &off, 0x8010, blk, 8);
	assert_int_equal(store_data(card, 0x80, 0x03, buf, off), 0x9000);
	assert_int_equal(vc_card_state(card), VC_STATE_PERSONALIZED);
	vc_card_power_off(card);
	free(r);
	free(tmpl);
	free(buf);
}

static void
activate(vc_card *card)
{
	static const uint8_t data[] = {
		0x20, 0x26, 0x03, 0x01, 0x09, 0x30, 0x00,
		'B', 'A', 'N', 'K', '0', '0', '0', '1',
	};

	vc_card_test_set_role(card, VC_ROLE_BANK);
	select_app(card);
	assert_int_equal(send_cmd(card, 0x00, 0x44, 0x00, 0x00, data,
	    sizeof(data), 0, NULL), 0x9000);
}

vc_card *
card_at(enum stage stage, uint8_t policy, uint8_t pub[65])
{
	vc_card *card = NULL;
	uint8_t data[40];

	assert_int_equal(vc_card_new(&card, CHIP_SERIAL, 0), MIC_OK);
	if (stage == ST_BLANK)
		return card;
	personalize(card, policy, pub);
	if (stage == ST_PERSO_TRANSPORT)
		return card;
	select_app(card);
	assert_int_equal(change_pin(card, TRANSPORT_PIN, HOLDER_PIN), 0x9000);
	vc_card_power_off(card);
	if (stage == ST_PERSO)
		return card;
	activate(card);
	vc_card_test_set_role(card, VC_ROLE_AGENCY);
	tx_data(data, START_BALANCE, 0xC0000001u, 0x00);
	assert_int_equal(credit(card, data, NULL), 0x9000);
	if (stage == ST_BLOCKED || stage == ST_TERMINATED) {
		assert_int_equal(send_cmd(card, 0x00, 0x04, 0x00, 0x00,
		    BYTES(0x01), 1, 0, NULL), 0x9000);
		assert_int_equal(vc_card_state(card), VC_STATE_BLOCKED);
	}
	if (stage == ST_TERMINATED) {
		assert_int_equal(send_cmd(card, 0x00, 0xE6, 0x00, 0x00,
		    BYTES(0x04), 1, 0, NULL), 0x9000);
		assert_int_equal(vc_card_state(card), VC_STATE_TERMINATED);
	}
	vc_card_power_off(card);
	return card;
}

vc_card *
card_clone(const vc_card *card)
{
	const uint8_t *nv = NULL;
	vc_card *copy = NULL;
	size_t len = 0;

	vc_card_nv(card, &nv, &len);
	assert_int_equal(vc_card_load(&copy, nv, len, 0), MIC_OK);
	return copy;
}

uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

uint64_t
be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

void
tx_data(uint8_t out[40], int64_t amount, uint32_t ref, uint8_t payer)
{
	static const uint8_t when[] = { 0x20, 0x26, 0x11, 0x23, 0x14, 0x05,
	    0x59 };
	uint64_t a = (uint64_t)amount;

	for (size_t i = 0; i < 8; i++)
		out[i] = (uint8_t)(a >> (56 - 8 * i));
	memcpy(out + 8, when, sizeof(when));
	memcpy(out + 15, "POS00042", 8);
	/* A0 A1 .. AB, then @p ref: every byte of the reference differs. */
	for (size_t i = 0; i < 12; i++)
		out[23 + i] = (uint8_t)(0xA0 + i);
	out[35] = (uint8_t)(ref >> 24);
	out[36] = (uint8_t)(ref >> 16);
	out[37] = (uint8_t)(ref >> 8);
	out[38] = (uint8_t)ref;
	out[39] = payer;
}

uint16_t
debit(vc_card *card, const uint8_t data[40], struct rsp *r)
{
	return send_cmd(card, 0x80, 0x54, 0x00, 0x00, data, 40, 256, r);
}

uint16_t
credit(vc_card *card, const uint8_t data[40], struct rsp *r)
{
	return send_cmd(card, 0x80, 0x52, 0x00, 0x00, data, 40, 256, r);
}

uint16_t
pay(vc_card *card, int64_t amount, uint32_t ref, uint8_t payer,
    struct rsp *r)
{
	uint8_t data[40];
	uint16_t sw;

	vc_card_test_set_role(card, VC_ROLE_HOSPITAL);
	if ((sw = verify_pin(card, HOLDER_PIN)) != 0x9000)
		return sw;
	tx_data(data, amount, ref, payer);
	return debit(card, data, r);
}

static EVP_PKEY *
public_key(const uint8_t pub[65])
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;

	assert_non_null(bld);
	assert_true(OSSL_PARAM_BLD_push_utf8_string(bld,
	    OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0));
	assert_true(OSSL_PARAM_BLD_push_octet_string(bld,
	    OSSL_PKEY_PARAM_PUB_KEY, pub, 65));
	assert_non_null(params = OSSL_PARAM_BLD_to_param(bld));
	assert_non_null(ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL));
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY,
	    params), 1);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return pk;
}

int
receipt_ok(const uint8_t pub[65], uint8_t type, const uint8_t data[40],
    const uint8_t *rsp, size_t len)
{
	uint8_t msg[4 + 32 + 4 + 1 + 8 + 8 + 7 + 8 + 16 + 1];
	EVP_PKEY *pk = public_key(pub);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok;

	assert_non_null(md);
	assert_true(len > 12 && len <= 12 + 72);
	/* Built from the profile's words, not from the card's code. */
	memcpy(msg, "MICR", 4);
	memcpy(msg + 4, CARD_ID, 32);
	memcpy(msg + 36, rsp, 4);             /* counter */
	msg[40] = type;
	memcpy(msg + 41, data, 8);            /* amount */
	memcpy(msg + 49, rsp + 4, 8);         /* balance after */
	memcpy(msg + 57, data + 8, 7);        /* date and time */
	memcpy(msg + 64, data + 15, 8);       /* terminal id */
	memcpy(msg + 72, data + 23, 16);      /* reference */
	msg[88] = data[39];                   /* payer */
	assert_int_equal(EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL,
	    NULL, pk, NULL), 1);
	ok = EVP_DigestVerify(md, rsp + 12, len - 12, msg, sizeof(msg)) == 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	return ok;
}

void
read_account(vc_card *card, int64_t *balance, uint32_t *counter)
{
	struct rsp *r = rsp_new();

	assert_int_equal(send_cmd(card, 0x00, 0xB0, 0x88, 0x00, NULL, 0, 256,
	    r), 0x9000);
	assert_int_equal(r->len, 32);
	assert_memory_equal(r->buf, BYTES(0xE4, 0x10, 0x80, 0x08), 4);
	assert_memory_equal(r->buf + 12, BYTES(0x81, 0x04), 2);
	*balance = (int64_t)be64(r->buf + 4);
	*counter = be32(r->buf + 14);
	free(r);
}
