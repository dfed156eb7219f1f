/*
 * SCP11 over a mic_tx_t: the host protocol (libmic/scp.c) against a
 * published transcript, then against a test card built on the card half of
 * the shared core (apdu/scp11.c, apdu/sm.c), for the ordinary exchanges and
 * for everything that must end the channel.
 *
 * Known answers: Samsung OpenSCP-Java, src/test/java/com/samsung/openscp/
 * testdata/ (commit 6696c01834b7), the SCP11a P-256 AES-128 S8 emulation:
 * Scp11TestData.java (SK.OCE.ECKA, eSK.OCE.ECKA, ePK.OCE.ECKA, the OCE
 * certificate), Scp11Nist256TestData.java (the card's certificate, which
 * holds PK.SD.ECKA, and the PERFORM SECURITY OPERATION chunks) and
 * SmartCardScp11aP256Aes128S8ModeEmulation.java (MUTUAL AUTHENTICATE and a
 * protected GET STATUS, both ways). With the same fixed keys, libmic must
 * send exactly that MUTUAL AUTHENTICATE, accept the card's receipt, send
 * exactly that protected GET STATUS and recover the plain response listed
 * in OutputTestData.java. (Samsung sets P1 b8 on all but the last chunk of
 * a chained PERFORM SECURITY OPERATION; libmic chains by ISO/IEC 7816-4
 * alone and leaves P1 alone, so only those two header bytes differ.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include <mic/scp.h>
#include <mic/tx.h>

#include "internal.h"
#include "scp_int.h"
#include "sm_internal.h"

#define BIG (MIC_APDU_RSP_MAX + 64u)

static size_t
unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	assert_int_equal(mici_hex_decode(s, out, cap, &n), MIC_OK);
	return n;
}

static EVP_PKEY *
der_key(const char *hex)
{
	uint8_t der[512];
	const unsigned char *p = der;
	size_t n = unhex(hex, der, sizeof(der));
	EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &p, (long)n);

	assert_non_null(k);
	return k;
}

/* A P-256 private key from its scalar, as a SEC 1 ECPrivateKey. */
static EVP_PKEY *
scalar_key(const char *hex)
{
	char der[200];

	snprintf(der, sizeof(der), "30310201010420%sa00a06082a8648ce3d030107",
	    hex);
	return der_key(der);
}

static EVP_PKEY *
point_key(const char *hex)
{
	uint8_t pt[65];
	char group[] = "prime256v1";
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *k = NULL;

	assert_int_equal(unhex(hex, pt, sizeof(pt)), 65);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    pt, sizeof(pt));
	params[2] = OSSL_PARAM_construct_end();
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY,
	    params), 1);
	EVP_PKEY_CTX_free(ctx);
	return k;
}

/* A self-signed certificate for @p key, enough for the PSO path. */
static X509 *
make_cert(EVP_PKEY *key, const char *cn)
{
	X509 *x = X509_new();
	X509_NAME *name;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	assert_int_equal(X509_set_issuer_name(x, name), 1);
	assert_int_equal(X509_set_pubkey(x, key), 1);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

/* --- a scripted backend for the transcript -------------------------------- */

#define MAX_STEPS 16

struct script {
	uint8_t *cmd[MAX_STEPS];
	size_t cmd_len[MAX_STEPS];
	uint8_t *rsp[MAX_STEPS];
	size_t rsp_len[MAX_STEPS];
	size_t n, pos;
};

static void
script_add(struct script *s, const uint8_t *cmd, size_t cl, const char *rsp)
{
	uint8_t buf[600];
	size_t n = unhex(rsp, buf, sizeof(buf));

	assert_true(s->n < MAX_STEPS);
	s->cmd[s->n] = malloc(cl);
	s->rsp[s->n] = malloc(n);
	assert_non_null(s->cmd[s->n]);
	assert_non_null(s->rsp[s->n]);
	memcpy(s->cmd[s->n], cmd, cl);
	memcpy(s->rsp[s->n], buf, n);
	s->cmd_len[s->n] = cl;
	s->rsp_len[s->n] = n;
	s->n++;
}

static mic_rc
script_transmit(void *io, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
    size_t *rsp_len)
{
	struct script *s = io;

	assert_true(s->pos < s->n);
	if (cmd_len != s->cmd_len[s->pos] ||
	    memcmp(cmd, s->cmd[s->pos], cmd_len) != 0) {
		size_t i;

		for (i = 0; i < cmd_len; i++)
			fprintf(stderr, "%02X", cmd[i]);
		fprintf(stderr, "\n");
		fail_msg("step %zu: unexpected command", s->pos);
	}
	assert_true(s->rsp_len[s->pos] <= *rsp_len);
	memcpy(rsp, s->rsp[s->pos], s->rsp_len[s->pos]);
	*rsp_len = s->rsp_len[s->pos];
	s->pos++;
	return MIC_OK;
}

static void
script_close(void *io)
{
	(void)io;
}

static const mic_tx_ops script_ops = {
	.transmit = script_transmit,
	.close = script_close,
};

/* Samsung OpenSCP-Java test data (see the top of this file). */
#define OCE_CERT \
	"30820211308201B6A00302010202146DBC19AFE3782C7C0053F19E86DF2F0F00B559EA300A06082A8648CE3D0403023051310B30" \
	"09060355040613024B52310B300906035504080C0253553110300E060355040A0C0753616D73756E673123302106035504030C1A" \
	"43412D4B4C4F4320436572746966696361746520285445535429301E170D3235303230363130323135365A170D32363035303931" \
	"30323135365A304D310B3009060355040613024B52310B300906035504080C0253553110300E060355040A0C0753616D73756E67" \
	"311F301D06035504030C164F4345204365727469666963617465202854455354293059301306072A8648CE3D020106082A8648CE" \
	"3D03010703420004B5C2598092609EFEFBA7A2FBED2F6E9142CA3882E7DE69D47D29476E7F0CE85077480CAC6AD5C156CE459F25" \
	"92DA0EECDCB0DE2E8F112C9E49C4655A11C59620A370306E301D0603551D0E04160414E225C62F5E33CA02D23D9D83D0685B4EB2" \
	"FEBC11301F0603551D23041830168014851A6F60A6B45534647260877A357F3676C35686300E0603551D0F0101FF040403020308" \
	"301C0603551D200101FF04123010300E060C2A864886FC6B64000A020100300A06082A8648CE3D0403020349003046022100A0D2" \
	"76B639EE863758B5568ADFA9D3B7F3D906A557C4C7675607FC82A9596EC6022100D7044BDE4CB536055CF93D5C7FCF5C7C5298EB" \
	"1D4646357CE6515BC0CD9E10FF"
#define SK_OCE \
	"308187020100301306072A8648CE3D020106082A8648CE3D030107046D306B0201010420A5116B848D41BD93737F187ABC03886B" \
	"F7A80422D150025109C6749F45BB9B6DA14403420004B5C2598092609EFEFBA7A2FBED2F6E9142CA3882E7DE69D47D29476E7F0C" \
	"E85077480CAC6AD5C156CE459F2592DA0EECDCB0DE2E8F112C9E49C4655A11C59620"
#define ESK_OCE_SCALAR \
	"B69D2D4A2544B5938ED3C4F6319810837E4DBBEFF115BD9955607E8CDBBBACE5"
#define EPK_OCE \
	"0470B0BD7863E90E32DA5401188354D1F41999442FDFDCBA7472B7F1E5DBBF8A32F92D9D4F9D55C60D57D39BD6D7973306CEA55F" \
	"7A86884096651A9CCAC8239C92"
/* PK.SD.ECKA: the key in the card's certificate (GET DATA BF21). */
#define PK_SD \
	"044F92A07D168C309959EED99E288381DD192979CD452D8FBE1F163447979207C5E6CD1F4DD11609E2100C033BBD723BE78B7147" \
	"7E64883EB41EC366713E44AF1E"
#define MUTUAL_AUTH_CMD \
	"8082031153A60D9002110195013C8001888101105F49410470B0BD7863E90E32DA5401188354D1F41999442FDFDCBA7472B7F1E5" \
	"DBBF8A32F92D9D4F9D55C60D57D39BD6D7973306CEA55F7A86884096651A9CCAC8239C9200"
#define MUTUAL_AUTH_RSP \
	"5F49410492CAFD79D7E39EA433611E9AAD9742D85B3BD06F3D6055D7CDE28FC44D0AB556BC0F94D2100D87727FDFA2B49033C78F" \
	"07A30AA8D5A6A505E59F99FCDFB2526686100B63C42C2D5138936FF5894F10C1234F9000"
#define GET_STATUS_CMD "84F2200018E1EE3A92EF45551E8464A252F997230DC4E84F41BA692405"
#define GET_STATUS_RSP \
	"DC8D7D92F77BB20F4AEA2C2EB70A7D93C5F0EA0F27D193679C3D1C970BED8F73C394C63A201C8D367A9F0990146D1FF5CEC2" \
	"E5F90F6956EF241D2CC899BA25B964FFFB799F4C42469000"
#define GET_STATUS_PLAIN \
	"08A00000015141434C010010A00000022020030101010000000000060100" \
	"10A0000002202003010101000000000011010005A0000002480100"

static void
test_samsung_scp11a_kat(void **state)
{
	struct script *s = calloc(1, sizeof(*s));
	uint8_t cert[600], cmd[600], rsp[256], want[64];
	const unsigned char *cp = cert;
	static const uint8_t get_status[] = { 0x4F, 0x00 };
	mic_apdu gs = { 0x80, 0xF2, 0x20, 0x00, get_status, 2, 0, 0 };
	mic_scp_keyref oce = { 0x03, 0x10 };
	EVP_PKEY *sk_oce, *esk_oce, *pk_sd, *epk_check;
	STACK_OF(X509) *chain = sk_X509_new_null();
	uint8_t pt[65], want_pt[65];
	mic_tx_t *tx = NULL;
	size_t n, off, chunk, len, rlen;
	uint16_t sw;
	X509 *x;
	size_t i;

	(void)state;
	assert_non_null(s);
	assert_non_null(chain);
	n = unhex(OCE_CERT, cert, sizeof(cert));
	assert_int_equal(n, 533);
	x = d2i_X509(NULL, &cp, (long)n);
	assert_non_null(x);
	assert_int_equal(sk_X509_push(chain, x), 1);
	sk_oce = der_key(SK_OCE);
	esk_oce = scalar_key(ESK_OCE_SCALAR);
	pk_sd = point_key(PK_SD);
	/* The fixed ephemeral key is the one Samsung lists. */
	assert_int_equal(mici_scp11_point(esk_oce, pt), MIC_OK);
	assert_int_equal(unhex(EPK_OCE, want_pt, sizeof(want_pt)), 65);
	assert_memory_equal(pt, want_pt, 65);
	epk_check = point_key(EPK_OCE);
	EVP_PKEY_free(epk_check);

	/* PSO: the certificate in three ISO chained chunks of 255 bytes. */
	for (off = 0; off < n; off += chunk) {
		chunk = n - off > 255 ? 255 : n - off;
		cmd[0] = n - off > 255 ? 0x90 : 0x80;
		cmd[1] = 0x2A;
		cmd[2] = 0x03;
		cmd[3] = 0x10;
		cmd[4] = (uint8_t)chunk;
		memcpy(cmd + 5, cert + off, chunk);
		script_add(s, cmd, 5 + chunk, "9000");
	}
	len = unhex(MUTUAL_AUTH_CMD, cmd, sizeof(cmd));
	script_add(s, cmd, len, MUTUAL_AUTH_RSP);
	len = unhex(GET_STATUS_CMD, cmd, sizeof(cmd));
	script_add(s, cmd, len, GET_STATUS_RSP);

	assert_int_equal(mic_tx_new(&tx, &script_ops, s), MIC_OK);
	assert_int_equal(mici_scp11_open(tx, MICI_SCP11A, 0x03, pk_sd, &oce,
	    sk_oce, chain, esk_oce), MIC_OK);
	assert_true(mic_scp_is_open(tx));
	assert_int_equal(mic_tx_transmit(tx, &gs, rsp, sizeof(rsp), &rlen, &sw),
	    MIC_OK);
	assert_int_equal(sw, 0x9000);
	n = unhex(GET_STATUS_PLAIN, want, sizeof(want));
	assert_int_equal(rlen, n);
	assert_memory_equal(rsp, want, n);
	assert_int_equal(s->pos, s->n);

	mic_tx_free(&tx);
	for (i = 0; i < s->n; i++) {
		free(s->cmd[i]);
		free(s->rsp[i]);
	}
	free(s);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(sk_oce);
	EVP_PKEY_free(esk_oce);
	EVP_PKEY_free(pk_sd);
}

/* --- a test card on the card half of the core ----------------------------- */

#define INS_ECHO 0xEE   /* answers its data */
#define INS_READ 0xCA   /* answers rsp_len pattern bytes */

struct tcard {
	EVP_PKEY *sk_sd;
	mici_sm *sm;
	STACK_OF(X509) *certs;
	uint8_t pso_p2[8];
	size_t npso;
	uint8_t chain[MIC_APDU_NC_MAX_EXT];
	size_t chain_len;
	uint8_t plain[MIC_APDU_NC_MAX_EXT];
	mic_apdu last;          /* the last plain command the application saw */
	unsigned app_cmds;
	size_t rsp_len;
	uint16_t app_sw;
	int t0;                 /* protected responses come by GET RESPONSE */
	uint8_t pending[BIG];
	size_t pending_len, pending_off;
	uint8_t gr_cla;
	int tamper;             /* flip a bit of the next protected response */
	int drop;               /* drop the channel and answer 6988 */
	int bad_receipt;
	int reset_next;         /* the backend reports a reset */
	int fail_next;          /* the backend loses the next exchange */
	int refuse_chain;       /* answer 6A80 to a chained chunk */
	unsigned reconnects;
	unsigned hook_calls;
	mic_tx_t *tx;           /* for the reset hook */
};

static void
pattern(uint8_t *b, size_t n, uint8_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(seed + i * 13u);
}

static size_t
put_sw(uint8_t *rsp, size_t off, uint16_t sw)
{
	mici_put_u16(rsp + off, sw);
	return off + 2;
}

/* Deliver @p len response bytes (data + SW), by 61xx when T=0-like. */
static size_t
deliver(struct tcard *c, const uint8_t *r, size_t len, uint8_t *rsp)
{
	if (!c->t0 || len <= 2) {
		memcpy(rsp, r, len);
		return len;
	}
	memcpy(c->pending, r, len);
	c->pending_len = len;
	c->pending_off = 0;
	return put_sw(rsp, 0, (uint16_t)(0x6100 | ((len - 2) > 255 ? 0 :
	    (len - 2))));
}

static size_t
get_response(struct tcard *c, const mic_apdu *a, uint8_t *rsp)
{
	size_t left = c->pending_len - 2 - c->pending_off;
	size_t n = a->ne < left ? a->ne : left;

	c->gr_cla = a->cla;
	memcpy(rsp, c->pending + c->pending_off, n);
	c->pending_off += n;
	left -= n;
	if (left == 0)
		return put_sw(rsp, n, mici_get_u16(c->pending +
		    c->pending_len - 2));
	return put_sw(rsp, n, (uint16_t)(0x6100 | (left > 255 ? 0 : left)));
}

static size_t
authenticate(struct tcard *c, const mic_apdu *a, uint8_t *rsp)
{
	mici_scp11_variant v = a->ins == MICI_SCP11_INS_MUTUAL_AUTH ?
	    MICI_SCP11A : MICI_SCP11B;
	EVP_PKEY *pk_oce = NULL;
	size_t len = 0;
	mic_rc rc;

	mici_sm_free(&c->sm);
	if (v == MICI_SCP11A) {
		if (sk_X509_num(c->certs) < 1)
			return put_sw(rsp, 0, 0x6985);
		pk_oce = X509_get0_pubkey(sk_X509_value(c->certs,
		    sk_X509_num(c->certs) - 1));
	}
	rc = mici_scp11_card_session(v, c->sk_sd, pk_oce, NULL, a->data, a->nc,
	    rsp, 256, &len, &c->sm);
	if (rc != MIC_OK)
		return put_sw(rsp, 0, 0x6A80);
	if (c->bad_receipt)
		rsp[len - 1] ^= 0x01;
	return put_sw(rsp, len, 0x9000);
}

static size_t
app(struct tcard *c, const mic_apdu *a, uint8_t *out, uint16_t *sw)
{
	size_t n = 0;

	c->last = *a;
	c->app_cmds++;
	*sw = c->app_sw != 0 ? c->app_sw : 0x9000;
	if (a->ins == INS_ECHO) {
		n = a->nc;
		if (n > 0)
			memcpy(out, a->data, n);
	} else if (a->ins == INS_READ) {
		n = c->rsp_len;
		pattern(out, n, 0x21);
	}
	return n;
}

static mic_rc
card_transmit(void *io, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
    size_t *rsp_len)
{
	static uint8_t r[BIG], data[MIC_APDU_NC_MAX_EXT];
	struct tcard *c = io;
	mic_apdu a, p;
	uint16_t sw;
	size_t n, len;
	mic_rc rc;

	if (c->fail_next) {
		/* Lost on the way back: the card did run the command. */
		c->fail_next = 0;
		return MIC_ERR_TX;
	}
	if (c->reset_next) {
		/* A real reset takes the card's session with it. */
		c->reset_next = 0;
		mici_sm_free(&c->sm);
		return MIC_ERR_CARD_RESET;
	}
	if (mic_apdu_decode(cmd, cmd_len, &a) != MIC_OK) {
		*rsp_len = put_sw(rsp, 0, 0x6700);
		return MIC_OK;
	}
	if (a.ins == 0xC0 && c->pending_len > 0) {
		*rsp_len = get_response(c, &a, rsp);
		if (c->pending_off + 2 >= c->pending_len)
			c->pending_len = 0;
		return MIC_OK;
	}
	/* ISO/IEC 7816-4 5.3.3: collect the chain, then run it whole. */
	if ((a.cla & 0x10) != 0) {
		if (c->refuse_chain) {
			c->refuse_chain = 0;
			c->chain_len = 0;
			*rsp_len = put_sw(rsp, 0, 0x6A80);
			return MIC_OK;
		}
		assert_true(c->chain_len + a.nc <= sizeof(c->chain));
		memcpy(c->chain + c->chain_len, a.data, a.nc);
		c->chain_len += a.nc;
		*rsp_len = put_sw(rsp, 0, 0x9000);
		return MIC_OK;
	}
	if (c->chain_len > 0) {
		assert_true(c->chain_len + a.nc <= sizeof(c->chain));
		memcpy(c->chain + c->chain_len, a.data, a.nc);
		c->chain_len += a.nc;
		memcpy(data, c->chain, c->chain_len);
		a.data = data;
		a.nc = c->chain_len;
		c->chain_len = 0;
	}
	if ((a.cla & MICI_SM_CLA_SM) == 0) {
		if (a.ins == MICI_SCP11_INS_PSO) {
			const unsigned char *q = a.data;
			X509 *x = d2i_X509(NULL, &q, (long)a.nc);

			assert_non_null(x);
			assert_int_equal(sk_X509_push(c->certs, x) > 0, 1);
			assert_true(c->npso < sizeof(c->pso_p2));
			c->pso_p2[c->npso++] = a.p2;
			*rsp_len = put_sw(rsp, 0, 0x9000);
			return MIC_OK;
		}
		if (a.ins == MICI_SCP11_INS_INTERNAL_AUTH ||
		    a.ins == MICI_SCP11_INS_MUTUAL_AUTH) {
			len = authenticate(c, &a, r);
			*rsp_len = deliver(c, r, len, rsp);
			return MIC_OK;
		}
		n = app(c, &a, r, &sw);
		*rsp_len = deliver(c, r, put_sw(r, n, sw), rsp);
		return MIC_OK;
	}
	if (c->sm == NULL) {
		*rsp_len = put_sw(rsp, 0, 0x6982);
		return MIC_OK;
	}
	if (c->drop) {
		c->drop = 0;
		mici_sm_free(&c->sm);
		*rsp_len = put_sw(rsp, 0, 0x6988);
		return MIC_OK;
	}
	rc = mici_sm_unwrap_command(c->sm, &a, &p, c->plain, sizeof(c->plain));
	if (rc != MIC_OK) {
		/* The core closed the session; the card says so. */
		*rsp_len = put_sw(rsp, 0, 0x6988);
		return MIC_OK;
	}
	n = app(c, &p, r, &sw);
	assert_int_equal(mici_sm_wrap_response(c->sm, r, n, sw, r, sizeof(r),
	    &len), MIC_OK);
	if (c->tamper && len > 2) {
		c->tamper = 0;
		r[0] ^= 0x80;
	}
	*rsp_len = deliver(c, r, len, rsp);
	return MIC_OK;
}

static mic_rc
card_reconnect(void *io)
{
	struct tcard *c = io;

	c->reconnects++;
	return MIC_OK;
}

static void
card_close(void *io)
{
	(void)io;
}

static const mic_tx_ops card_ops = {
	.transmit = card_transmit,
	.reconnect = card_reconnect,
	.reset = card_reconnect,
	.close = card_close,
};

struct ctx {
	struct tcard *c;
	mic_tx_t *tx;
	EVP_PKEY *pk_sd;
	EVP_PKEY *sk_oce;
	STACK_OF(X509) *chain;
	uint8_t rsp[BIG];
	size_t rsp_len;
	uint16_t sw;
};

/* Fixed card key: tests/sm/ref_scp.py uses the same scalar. */
#define SK_SD_SCALAR \
	"c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721"

static int
setup(void **state)
{
	struct ctx *x = calloc(1, sizeof(*x));
	EVP_PKEY *root;

	if (x == NULL || (x->c = calloc(1, sizeof(*x->c))) == NULL)
		return -1;
	x->c->sk_sd = scalar_key(SK_SD_SCALAR);
	x->c->certs = sk_X509_new_null();
	/* The card's public key, as the host would read it from BF21. */
	x->pk_sd = EVP_PKEY_dup(x->c->sk_sd);
	x->sk_oce = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	root = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	x->chain = sk_X509_new_null();
	if (x->pk_sd == NULL || x->sk_oce == NULL || root == NULL ||
	    x->chain == NULL || x->c->certs == NULL)
		return -1;
	sk_X509_push(x->chain, make_cert(root, "MIC test OCE CA"));
	sk_X509_push(x->chain, make_cert(x->sk_oce, "MIC test POS"));
	EVP_PKEY_free(root);
	if (mic_tx_new(&x->tx, &card_ops, x->c) != MIC_OK)
		return -1;
	x->c->tx = x->tx;
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct ctx *x = *state;

	mic_tx_free(&x->tx);
	assert_null(x->tx);
	mici_sm_free(&x->c->sm);
	EVP_PKEY_free(x->c->sk_sd);
	sk_X509_pop_free(x->c->certs, X509_free);
	free(x->c);
	EVP_PKEY_free(x->pk_sd);
	EVP_PKEY_free(x->sk_oce);
	sk_X509_pop_free(x->chain, X509_free);
	free(x);
	return 0;
}

static mic_rc
run(struct ctx *x, uint8_t cla, uint8_t ins, const uint8_t *data, size_t nc,
    size_t ne)
{
	mic_apdu a;

	memset(&a, 0, sizeof(a));
	a.cla = cla;
	a.ins = ins;
	a.p1 = 0x01;
	a.p2 = 0x02;
	a.data = data;
	a.nc = nc;
	a.ne = ne;
	return mic_tx_transmit(x->tx, &a, x->rsp, sizeof(x->rsp), &x->rsp_len,
	    &x->sw);
}

static void
echo_ok(struct ctx *x, size_t nc)
{
	static uint8_t data[MIC_APDU_NC_MAX_EXT];
	unsigned before = x->c->app_cmds;

	pattern(data, nc, (uint8_t)nc);
	assert_int_equal(run(x, 0x80, INS_ECHO, data, nc, nc > 0 ? nc : 0),
	    MIC_OK);
	assert_int_equal(x->sw, 0x9000);
	assert_int_equal(x->rsp_len, nc);
	if (nc > 0)
		assert_memory_equal(x->rsp, data, nc);
	/* The card's application saw the plain command. */
	assert_int_equal(x->c->app_cmds, before + 1);
	assert_int_equal(x->c->last.cla, 0x80);
	assert_int_equal(x->c->last.ins, INS_ECHO);
	assert_int_equal(x->c->last.nc, nc);
}

struct trace {
	unsigned cmds;
	unsigned sm_cmds;
	int leaked;
	const uint8_t *secret;
	size_t secret_len;
};

static void
trace_fn(void *arg, int dir, const uint8_t *buf, size_t len)
{
	struct trace *t = arg;
	size_t i;

	if (dir == MIC_TRACE_CMD) {
		t->cmds++;
		if (len > 0 && (buf[0] & MICI_SM_CLA_SM) != 0)
			t->sm_cmds++;
	}
	for (i = 0; t->secret_len > 0 && i + t->secret_len <= len; i++)
		if (memcmp(buf + i, t->secret, t->secret_len) == 0)
			t->leaked = 1;
}

static void
test_scp11b(void **state)
{
	struct ctx *x = *state;
	static const uint8_t secret[] = "a secret that must not be traced";
	struct trace t;
	mic_tx_caps caps;
	size_t n;

	assert_false(mic_scp_is_open(x->tx));
	assert_int_equal(mic_scp11b_open(x->tx, 0x01, x->pk_sd), MIC_OK);
	assert_true(mic_scp_is_open(x->tx));
	assert_int_equal(mic_tx_get_sm_state(x->tx), MIC_TX_SM_ON);
	memset(&t, 0, sizeof(t));
	t.secret = secret;
	t.secret_len = sizeof(secret) - 1;
	mic_tx_set_trace(x->tx, trace_fn, &t);
	for (n = 0; n <= 40; n++)
		echo_ok(x, n);
	/* The trace sees protected APDUs only: CLA 84, ciphertext. */
	assert_int_equal(run(x, 0x80, INS_ECHO, secret, sizeof(secret) - 1,
	    0), MIC_OK);
	assert_int_equal(x->rsp_len, sizeof(secret) - 1);
	assert_int_equal(t.cmds, t.sm_cmds);
	assert_false(t.leaked);
	/* Case 1 and 2, an ISO class, a long read through 61xx on short. */
	assert_int_equal(run(x, 0x00, 0x44, NULL, 0, 0), MIC_OK);
	assert_int_equal(x->sw, 0x9000);
	assert_int_equal(x->c->last.cla, 0x00);
	x->c->rsp_len = 1000;
	assert_int_equal(run(x, 0x00, INS_READ, NULL, 0, 256), MIC_OK);
	assert_int_equal(x->rsp_len, 1000);
	/* Long commands: chained on a short path, extended on a long one. */
	echo_ok(x, 1000);
	mic_tx_get_caps(x->tx, &caps);
	caps.reader_extended = caps.card_extended = 1;
	mic_tx_set_caps(x->tx, &caps);
	echo_ok(x, 4000);
	echo_ok(x, MICI_SM_NC_MAX);
	caps.max_nc = 100;
	mic_tx_set_caps(x->tx, &caps);
	echo_ok(x, 777);
	mic_tx_set_trace(x->tx, NULL, NULL);
	/* An error status word passes, the channel stays. */
	x->c->app_sw = 0x6A82;
	assert_int_equal(run(x, 0x80, INS_ECHO, secret, 4, 0), MIC_OK);
	assert_int_equal(x->sw, 0x6A82);
	assert_int_equal(x->rsp_len, 0);
	x->c->app_sw = 0x6283;  /* a warning is protected like 9000 */
	assert_int_equal(run(x, 0x80, INS_ECHO, secret, 4, 0), MIC_OK);
	assert_int_equal(x->sw, 0x6283);
	assert_int_equal(x->rsp_len, 4);
	x->c->app_sw = 0;
	echo_ok(x, 3);
	/* Too little room: verified, refused, the channel stays. */
	x->c->rsp_len = 100;
	assert_int_equal(mic_tx_transmit(x->tx, &(mic_apdu){ 0x80, INS_READ,
	    0, 0, NULL, 0, 256, 0 }, x->rsp, 10, &x->rsp_len, &x->sw),
	    MIC_ERR_BUFFER_TOO_SMALL);
	assert_true(mic_scp_is_open(x->tx));
	echo_ok(x, 3);
	/* A class the layer cannot protect is refused before anything moves. */
	assert_int_equal(run(x, 0x84, INS_ECHO, secret, 4, 0),
	    MIC_ERR_UNSUPPORTED);
	assert_true(mic_scp_is_open(x->tx));
	echo_ok(x, 3);
	/* Closing goes back to plain APDUs on purpose. */
	mic_scp_close(x->tx);
	assert_false(mic_scp_is_open(x->tx));
	assert_int_equal(mic_tx_get_sm_state(x->tx), MIC_TX_SM_OFF);
	echo_ok(x, 3);
}

static void
test_scp11a(void **state)
{
	struct ctx *x = *state;
	mic_scp_keyref oce = { 0x01, 0x10 };

	assert_int_equal(mic_scp11a_open(x->tx, 0x01, x->pk_sd, &oce,
	    x->sk_oce, x->chain), MIC_OK);
	/* Root first with P2 b8 (more), the OCE's own certificate last. */
	assert_int_equal(x->c->npso, 2);
	assert_int_equal(x->c->pso_p2[0], 0x90);
	assert_int_equal(x->c->pso_p2[1], 0x10);
	echo_ok(x, 0);
	echo_ok(x, 17);
	/* A second open replaces the first channel. */
	assert_int_equal(mic_scp11b_open(x->tx, 0x01, x->pk_sd), MIC_OK);
	echo_ok(x, 5);
}

static void
test_t0_get_response(void **state)
{
	struct ctx *x = *state;

	x->c->t0 = 1;
	assert_int_equal(mic_scp11b_open(x->tx, 0x01, x->pk_sd), MIC_OK);
	echo_ok(x, 20);
	/* GET RESPONSE itself goes unprotected, SM bits cleared. */
	assert_int_equal(x->c->gr_cla, 0x80);
	x->c->rsp_len = 600;
	assert_int_equal(run(x, 0x00, INS_READ, NULL, 0, 256), MIC_OK);
	assert_int_equal(x->rsp_len, 600);
	assert_int_equal(x->c->gr_cla, 0x00);
	echo_ok(x, 300);
}

static void
test_wrong_receipt(void **state)
{
	struct ctx *x = *state;

	x->c->bad_receipt = 1;
	assert_int_equal(mic_scp11b_open(x->tx, 0x01, x->pk_sd),
	    MIC_ERR_SM_AUTH);
	assert_false(mic_scp_is_open(x->tx));
	x->c->bad_receipt = 0;
	assert_int_equal(mic_scp11b_open(x->tx, 0x01, x->pk_sd), MIC_OK);
}

/*
 * A failed re-open must not fall back to plain APDUs: the caller had a
 * channel and would otherwise go on unprotected without knowing it.
 */
static void
test_failed_reopen(void **state)
{
	struct ctx *x = *state;
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	mic_scp_keyref oce = { 0x01, 0x10 };
	unsigned before;

	assert_non_null(other);
	assert_int_equal(mic_scp11b_open(x->tx, 0x01, x->pk_sd), MIC_OK);
	echo_ok(x, 4);
	/* A forged receipt on the second open. */
	x->c->bad_receipt = 1;
	assert_int_equal(mic_scp11b_open(x->tx, 0x01, x->pk_sd),
	    MIC_ERR_SM_AUTH);
	assert_int_equal(mic_tx_get_sm_state(x->tx), MIC_TX_SM_LOST);
	before = x->c->app_cmds;
	assert_int_equal(run(x, 0x80, INS_ECHO, (const uint8_t *)"abcd", 4, 0),
	    MIC_ERR_SM_CLOSED);
	assert_int_equal(run(x, 0x00, 0xB0, NULL, 0, 16), MIC_ERR_SM_CLOSED);
	assert_int_equal(x->c->app_cmds, before);
	/* Lost stays lost through more failed opens, of either kind. */
	assert_int_equal(mic_scp11a_open(x->tx, 0x01, x->pk_sd, &oce,
	    x->sk_oce, x->chain), MIC_ERR_SM_AUTH);
	assert_int_equal(mic_tx_get_sm_state(x->tx), MIC_TX_SM_LOST);
	x->c->bad_receipt = 0;
	assert_int_equal(mic_scp11b_open(x->tx, 0x01, other), MIC_ERR_SM_AUTH);
	assert_int_equal(mic_tx_get_sm_state(x->tx), MIC_TX_SM_LOST);
	assert_int_equal(run(x, 0x80, INS_ECHO, (const uint8_t *)"abcd", 4, 0),
	    MIC_ERR_SM_CLOSED);
	/* Arguments refused before anything moves leave the state alone. */
	assert_int_equal(mic_scp11b_open(x->tx, 0x01, NULL),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_tx_get_sm_state(x->tx), MIC_TX_SM_LOST);
	/* A new channel ends it... */
	assert_int_equal(mic_scp11b_open(x->tx, 0x01, x->pk_sd), MIC_OK);
	echo_ok(x, 4);
	/* ... and an open that fails from an open channel loses it too. */
	assert_int_equal(mic_scp11b_open(x->tx, 0x01, other), MIC_ERR_SM_AUTH);
	assert_int_equal(mic_tx_get_sm_state(x->tx), MIC_TX_SM_LOST);
	/* Only the caller goes back to plain, on purpose. */
	mic_scp_close(x->tx);
	assert_int_equal(mic_tx_get_sm_state(x->tx), MIC_TX_SM_OFF);
	echo_ok(x, 4);
	/* Never had a channel: a failed open leaves plain APDUs plain. */
	assert_int_equal(mic_scp11b_open(x->tx, 0x01, other), MIC_ERR_SM_AUTH);
	assert_int_equal(mic_tx_get_sm_state(x->tx), MIC_TX_SM_OFF);
	EVP_PKEY_free(other);
}

/* The host expects another card's key: the receipt cannot verify. */
static void
test_wrong_card(void **state)
{
	struct ctx *x = *state;
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	mic_scp_keyref oce = { 0x01, 0x10 };

	assert_non_null(other);
	assert_int_equal(mic_scp11b_open(x->tx, 0x01, other), MIC_ERR_SM_AUTH);
	assert_int_equal(mic_scp11a_open(x->tx, 0x01, other, &oce, x->sk_oce,
	    x->chain), MIC_ERR_SM_AUTH);
	assert_false(mic_scp_is_open(x->tx));
	EVP_PKEY_free(other);
}

static void
test_tampered_response(void **state)
{
	struct ctx *x = *state;
	unsigned before;

	assert_int_equal(mic_scp11b_open(x->tx, 0x01, x->pk_sd), MIC_OK);
	echo_ok(x, 8);
	x->c->tamper = 1;
	assert_int_equal(run(x, 0x80, INS_ECHO, (const uint8_t *)"abcd", 4, 0),
	    MIC_ERR_SM_MAC);
	assert_int_equal(x->rsp_len, 0);
	assert_int_equal(mic_tx_get_sm_state(x->tx), MIC_TX_SM_LOST);
	/* Never plain behind the caller's back. */
	before = x->c->app_cmds;
	assert_int_equal(run(x, 0x80, INS_ECHO, (const uint8_t *)"abcd", 4, 0),
	    MIC_ERR_SM_CLOSED);
	assert_int_equal(run(x, 0x00, 0xA4, NULL, 0, 0), MIC_ERR_SM_CLOSED);
	assert_int_equal(x->c->app_cmds, before);
	/* A new channel works. */
	assert_int_equal(mic_scp11b_open(x->tx, 0x01, x->pk_sd), MIC_OK);
	echo_ok(x, 8);
}

static mic_rc
reset_hook(mic_tx_t *tx, void *arg)
{
	struct ctx *x = arg;
	uint8_t rsp[16];
	size_t len;
	uint16_t sw;
	mic_apdu a = { 0x00, INS_ECHO, 0, 0, (const uint8_t *)"id", 2, 2, 0 };

	x->c->hook_calls++;
	/* Inside recovery the channel is already gone: plain APDUs work. */
	assert_int_equal(mic_tx_get_sm_state(tx), MIC_TX_SM_OFF);
	assert_int_equal(mic_tx_transmit(tx, &a, rsp, sizeof(rsp), &len, &sw),
	    MIC_OK);
	assert_int_equal(sw, 0x9000);
	return MIC_OK;
}

static void
test_card_reset(void **state)
{
	struct ctx *x = *state;
	unsigned before;

	mic_tx_set_reset_hook(x->tx, reset_hook, x);
	assert_int_equal(mic_scp11b_open(x->tx, 0x01, x->pk_sd), MIC_OK);
	echo_ok(x, 8);
	before = x->c->app_cmds;
	x->c->reset_next = 1;
	assert_int_equal(run(x, 0x80, INS_ECHO, (const uint8_t *)"abcd", 4, 0),
	    MIC_ERR_CARD_RESET);
	/* Recovered (reconnect, hook) but not resent. */
	assert_int_equal(x->c->reconnects, 1);
	assert_int_equal(x->c->hook_calls, 1);
	assert_int_equal(x->c->app_cmds, before + 1);   /* the hook's APDU */
	assert_int_equal(x->c->last.cla, 0x00);
	assert_int_equal(mic_tx_get_sm_state(x->tx), MIC_TX_SM_LOST);
	assert_int_equal(run(x, 0x80, INS_ECHO, (const uint8_t *)"abcd", 4, 0),
	    MIC_ERR_SM_CLOSED);
	assert_int_equal(x->c->app_cmds, before + 1);
	assert_int_equal(mic_scp11b_open(x->tx, 0x01, x->pk_sd), MIC_OK);
	echo_ok(x, 8);
	/* A reset the caller asks for ends the channel too. */
	assert_int_equal(mic_tx_reset(x->tx), MIC_OK);
	assert_int_equal(mic_tx_get_sm_state(x->tx), MIC_TX_SM_LOST);
	assert_int_equal(run(x, 0x80, INS_ECHO, (const uint8_t *)"a", 1, 0),
	    MIC_ERR_SM_CLOSED);
	mic_scp_close(x->tx);
	echo_ok(x, 1);
}

/* The two ends may be out of step after a failed exchange: end it. */
static void
test_transport_error(void **state)
{
	struct ctx *x = *state;

	assert_int_equal(mic_scp11b_open(x->tx, 0x01, x->pk_sd), MIC_OK);
	echo_ok(x, 2);
	x->c->fail_next = 1;
	assert_int_equal(run(x, 0x80, INS_ECHO, (const uint8_t *)"abcd", 4, 0),
	    MIC_ERR_TX);
	assert_int_equal(mic_tx_get_sm_state(x->tx), MIC_TX_SM_LOST);
	assert_int_equal(run(x, 0x80, INS_ECHO, (const uint8_t *)"abcd", 4, 0),
	    MIC_ERR_SM_CLOSED);
	assert_int_equal(mic_scp11b_open(x->tx, 0x01, x->pk_sd), MIC_OK);
	echo_ok(x, 2);
	/* A chunk refused: the card never checked the command. */
	x->c->refuse_chain = 1;
	assert_int_equal(run(x, 0x80, INS_ECHO, x->rsp, 600, 0), MIC_OK);
	assert_int_equal(x->sw, 0x6A80);
	assert_int_equal(mic_tx_get_sm_state(x->tx), MIC_TX_SM_LOST);
	assert_int_equal(run(x, 0x80, INS_ECHO, x->rsp, 6, 0),
	    MIC_ERR_SM_CLOSED);
}

static void
test_card_drops_channel(void **state)
{
	struct ctx *x = *state;

	assert_int_equal(mic_scp11b_open(x->tx, 0x01, x->pk_sd), MIC_OK);
	x->c->drop = 1;
	assert_int_equal(run(x, 0x80, INS_ECHO, (const uint8_t *)"abcd", 4, 0),
	    MIC_OK);
	assert_int_equal(x->sw, 0x6988);
	assert_int_equal(mic_tx_get_sm_state(x->tx), MIC_TX_SM_LOST);
	assert_int_equal(run(x, 0x80, INS_ECHO, (const uint8_t *)"abcd", 4, 0),
	    MIC_ERR_SM_CLOSED);
	/* A command the card's session refuses ends it the same way. */
	assert_int_equal(mic_scp11b_open(x->tx, 0x01, x->pk_sd), MIC_OK);
	mici_sm_close(x->c->sm);
	assert_int_equal(run(x, 0x80, INS_ECHO, (const uint8_t *)"abcd", 4, 0),
	    MIC_OK);
	assert_int_equal(x->sw, 0x6988);
	assert_int_equal(run(x, 0x80, INS_ECHO, (const uint8_t *)"abcd", 4, 0),
	    MIC_ERR_SM_CLOSED);
}

/* The tx owns the session: freeing the tx frees it (ASan checks leaks). */
static void
test_free_open_channel(void **state)
{
	struct ctx *x = *state;

	assert_int_equal(mic_scp11b_open(x->tx, 0x01, x->pk_sd), MIC_OK);
	echo_ok(x, 1);
	mic_tx_free(&x->tx);
	assert_null(x->tx);
	assert_false(mic_scp_is_open(NULL));
	mic_scp_close(NULL);
}

static void
test_bad_arguments(void **state)
{
	struct ctx *x = *state;
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	STACK_OF(X509) *empty = sk_X509_new_null();
	mic_scp_keyref oce = { 0x01, 0x10 };

	assert_non_null(p384);
	assert_non_null(other);
	assert_int_equal(mic_scp11b_open(NULL, 1, x->pk_sd),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_scp11b_open(x->tx, 1, NULL),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_scp11b_open(x->tx, 1, p384),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_scp11a_open(x->tx, 1, x->pk_sd, NULL, x->sk_oce,
	    x->chain), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_scp11a_open(x->tx, 1, x->pk_sd, &oce, x->sk_oce,
	    empty), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_scp11a_open(x->tx, 1, x->pk_sd, &oce, x->sk_oce,
	    NULL), MIC_ERR_INVALID_ARGUMENT);
	/* The private key must be the last certificate's. */
	assert_int_equal(mic_scp11a_open(x->tx, 1, x->pk_sd, &oce, other,
	    x->chain), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(x->c->npso, 0);
	assert_int_equal(mic_tx_set_sm(x->tx, mici_sm_host_ops(), NULL),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_tx_set_sm(NULL, NULL, NULL),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_tx_get_sm_state(NULL), MIC_TX_SM_OFF);
	sk_X509_free(empty);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(other);
}

/* The card's parser and the host's parser take exactly 7.6.2.3. */
static void
test_parsers(void **state)
{
	struct ctx *x = *state;
	EVP_PKEY *esk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	uint8_t data[100], bad[100], rsp[128], brsp[128];
	size_t len, rlen, i;
	mici_sm *card = NULL, *host = NULL;
	static const struct {
		size_t off;
		uint8_t flip;
		mic_rc want;
	} edits[] = {
		{ 0, 0x01, MIC_ERR_SM_FORMAT },  /* A7: another template */
		{ 5, 0x01, MIC_ERR_SM_FORMAT },  /* 90 02 11 00: 11b, not 11a */
		{ 4, 0x03, MIC_ERR_SM_FORMAT },  /* SCP 12 */
		{ 8, 0x04, MIC_ERR_SM_FORMAT },  /* key usage 38: no C-DEC */
		{ 11, 0x08, MIC_ERR_SM_FORMAT }, /* key type 80 */
		{ 14, 0x30, MIC_ERR_SM_FORMAT }, /* key length 20: AES-256 */
		{ 1, 0x01, MIC_ERR_SM_FORMAT },  /* template length */
		{ 17, 0x01, MIC_ERR_SM_FORMAT }, /* point length 40 */
		{ 18, 0x06, MIC_ERR_SM_AUTH },   /* 02: a compressed point */
		{ 50, 0x55, MIC_ERR_SM_AUTH },   /* not on the curve */
	};

	assert_non_null(esk);
	assert_int_equal(mici_scp11_auth_data(MICI_SCP11A, esk, data,
	    sizeof(data), &len), MIC_OK);
	assert_int_equal(len, MICI_SCP11_AUTH_DATA_LEN);
	for (i = 0; i < MIC_ARRAY_LEN(edits); i++) {
		memcpy(bad, data, len);
		bad[edits[i].off] ^= edits[i].flip;
		assert_int_equal(mici_scp11_card_session(MICI_SCP11A,
		    x->c->sk_sd, x->pk_sd, NULL, bad, len, rsp, sizeof(rsp),
		    &rlen, &card), edits[i].want);
		assert_null(card);
		assert_int_equal(rlen, 0);
	}
	/* Trailing or missing bytes. */
	memcpy(bad, data, len);
	bad[len] = 0;
	assert_int_equal(mici_scp11_card_session(MICI_SCP11A, x->c->sk_sd,
	    x->pk_sd, NULL, bad, len + 1, rsp, sizeof(rsp), &rlen, &card),
	    MIC_ERR_SM_FORMAT);
	assert_int_equal(mici_scp11_card_session(MICI_SCP11A, x->c->sk_sd,
	    x->pk_sd, NULL, bad, len - 1, rsp, sizeof(rsp), &rlen, &card),
	    MIC_ERR_SM_FORMAT);
	/* 11b's data to an 11a authenticate, and the other way. */
	assert_int_equal(mici_scp11_card_session(MICI_SCP11B, x->c->sk_sd,
	    NULL, NULL, data, len, rsp, sizeof(rsp), &rlen, &card),
	    MIC_ERR_SM_FORMAT);
	/* A good answer, then the host's parser against its edits. */
	assert_int_equal(mici_scp11_card_session(MICI_SCP11A, x->c->sk_sd,
	    x->pk_sd, NULL, data, len, rsp, sizeof(rsp), &rlen, &card),
	    MIC_OK);
	assert_int_equal(rlen, MICI_SCP11_AUTH_RSP_LEN);
	/* (Here the "OCE static key" is the card's own: any P-256 key does.) */
	assert_int_equal(mici_scp11_host_session(MICI_SCP11A, esk,
	    x->c->sk_sd, x->pk_sd, data, len, rsp, rlen, &host), MIC_OK);
	mici_sm_free(&host);
	memcpy(brsp, rsp, rlen);
	brsp[rlen] = 0x00;
	assert_int_equal(mici_scp11_host_session(MICI_SCP11A, esk, x->c->sk_sd,
	    x->pk_sd, data, len, brsp, rlen + 1, &host), MIC_ERR_RESPONSE);
	assert_int_equal(mici_scp11_host_session(MICI_SCP11A, esk, x->c->sk_sd,
	    x->pk_sd, data, len, brsp, rlen - 1, &host), MIC_ERR_RESPONSE);
	brsp[68] = 0x87;  /* receipt tag */
	assert_int_equal(mici_scp11_host_session(MICI_SCP11A, esk, x->c->sk_sd,
	    x->pk_sd, data, len, brsp, rlen, &host), MIC_ERR_RESPONSE);
	memcpy(brsp, rsp, rlen);
	brsp[40] ^= 0x01;  /* the card's point, off the curve */
	assert_int_equal(mici_scp11_host_session(MICI_SCP11A, esk, x->c->sk_sd,
	    x->pk_sd, data, len, brsp, rlen, &host), MIC_ERR_SM_AUTH);
	memcpy(brsp, rsp, rlen);
	brsp[rlen - 16] ^= 0x01;  /* the receipt */
	assert_int_equal(mici_scp11_host_session(MICI_SCP11A, esk, x->c->sk_sd,
	    x->pk_sd, data, len, brsp, rlen, &host), MIC_ERR_SM_AUTH);
	memcpy(brsp, data, len);
	brsp[2] = 0x91;  /* the host checks its own command too */
	assert_int_equal(mici_scp11_host_session(MICI_SCP11A, esk, x->c->sk_sd,
	    x->pk_sd, brsp, len, rsp, rlen, &host), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mici_scp11_host_session(MICI_SCP11B, esk, x->c->sk_sd,
	    x->pk_sd, data, len, rsp, rlen, &host), MIC_ERR_INVALID_ARGUMENT);
	assert_null(host);
	mici_sm_free(&card);
	EVP_PKEY_free(esk);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samsung_scp11a_kat),
		cmocka_unit_test_setup_teardown(test_scp11b, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scp11a, setup, teardown),
		cmocka_unit_test_setup_teardown(test_t0_get_response, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_wrong_receipt, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_wrong_card, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_failed_reopen, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tampered_response, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_card_reset, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_card_drops_channel, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_transport_error, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_free_open_channel, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_parsers, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
