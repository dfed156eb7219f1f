/*
 * SCP11 on the reference card, end to end: the real host side
 * (libmic/scp.c, mic_scp11a_open / mic_scp11b_open) over mic_tx_new_inproc
 * to the card engine, with a test PKI made by the libmic pki API in a
 * temporary directory. The card is provisioned as the chip factory does
 * it (docs/card-profile.md 4.4) and every refusal of
 * docs/secure-messaging.md 4 is checked with its status word.
 *
 * Where a test needs bytes the host side would never send (a bad MAC, a
 * replay, a reordered command), it drives the shared core's host half
 * (apdu/sm_internal.h) itself and sends raw APDUs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include <mic/pki.h>
#include <mic/scp.h>
#include <mic/tlv.h>
#include <mic/tx.h>

#include "internal.h"
#include "sm_internal.h"
#include "test_vcard_util.h"
#include "trust_test.h"

/* docs/card-profile.md 4.4: the key references, checked here on purpose
 * as numbers and not through the engine's own macros. */
#define KVN 0x01
#define OCE_KVN 0x01
#define OCE_KID 0x10
#define DAY 86400

static const mic_scp_keyref oce_ref = { OCE_KVN, OCE_KID };

struct pki {
	char *dir;
	char *foreign;
	uint8_t root[2048];
	size_t root_len;
	uint8_t issuer_der[2048];
	size_t issuer_len;
	X509 *issuer;
	EVP_PKEY *issuer_key;
	X509 *foreign_issuer;
	mic_keyprov_t *card_issuer;
	uint8_t card_issuer_der[2048];
	size_t card_issuer_len;
	mic_trust_t *trust;
};

static struct pki *P;

static const char *const role_names[] = {
	NULL, "hospital-pos", "pharmacy-pos", "bank", "agency", "bureau",
};

/* --- PKI ------------------------------------------------------------------ */

static int
group_setup(void **state)
{
	struct pki *p = calloc(1, sizeof(*p));
	char *path;

	(void)state;
	assert_non_null(p);
	p->dir = tt_pki(MIC_SUITE_P256);
	p->foreign = tt_pki(MIC_SUITE_P256);
	path = tt_path(p->dir, "trust/roots/root.pem");
	tt_cert_der(path, p->root, sizeof(p->root), &p->root_len);
	free(path);
	path = tt_path(p->dir, "issuer/cert.pem");
	p->issuer = tt_cert_x509(path);
	tt_cert_der(path, p->issuer_der, sizeof(p->issuer_der),
	    &p->issuer_len);
	free(path);
	path = tt_path(p->dir, "issuer/key.pem");
	p->issuer_key = tt_key(path);
	free(path);
	path = tt_path(p->foreign, "issuer/cert.pem");
	p->foreign_issuer = tt_cert_x509(path);
	free(path);
	assert_int_equal(mic_pki_load(p->dir, MIC_CERT_CARD_ISSUER, NULL, NULL,
	    NULL, NULL, &p->card_issuer, p->card_issuer_der,
	    sizeof(p->card_issuer_der), &p->card_issuer_len), MIC_OK);
	path = tt_path(p->dir, "trust");
	assert_int_equal(mic_trust_load(&p->trust, path), MIC_OK);
	free(path);
	P = p;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	X509_free(P->issuer);
	X509_free(P->foreign_issuer);
	EVP_PKEY_free(P->issuer_key);
	mic_keyprov_free(&P->card_issuer);
	mic_trust_free(&P->trust);
	tt_rmrf(P->dir);
	tt_rmrf(P->foreign);
	free(P->dir);
	free(P->foreign);
	free(P);
	return 0;
}

/* A terminal of @p pki_dir: its certificate and key. */
struct term {
	X509 *cert;
	EVP_PKEY *key;
	STACK_OF(X509) *chain;   /* issuer CA, then the terminal */
};

static void
term_load(struct term *t, const char *pki_dir, X509 *issuer, int role)
{
	char rel[128], *path;

	snprintf(rel, sizeof(rel), "terminals/%s/cert.pem", role_names[role]);
	path = tt_path(pki_dir, rel);
	t->cert = tt_cert_x509(path);
	free(path);
	snprintf(rel, sizeof(rel), "terminals/%s/key.pem", role_names[role]);
	path = tt_path(pki_dir, rel);
	t->key = tt_key(path);
	free(path);
	t->chain = sk_X509_new_null();
	assert_non_null(t->chain);
	assert_true(sk_X509_push(t->chain, issuer) > 0);
	assert_true(sk_X509_push(t->chain, t->cert) > 0);
}

/* A terminal from raw parts: @p cert takes @p key's place. */
static void
term_make(struct term *t, X509 *cert, EVP_PKEY *key)
{
	t->cert = cert;
	t->key = key;
	t->chain = sk_X509_new_null();
	assert_non_null(t->chain);
	assert_true(sk_X509_push(t->chain, P->issuer) > 0);
	assert_true(sk_X509_push(t->chain, t->cert) > 0);
}

static void
term_free(struct term *t)
{
	sk_X509_free(t->chain);
	X509_free(t->cert);
	EVP_PKEY_free(t->key);
	memset(t, 0, sizeof(*t));
}

static size_t
spki_of(EVP_PKEY *k, uint8_t *out, size_t cap)
{
	unsigned char *p = out;
	int n = i2d_PUBKEY(k, NULL);

	assert_true(n > 0 && (size_t)n <= cap);
	assert_int_equal(i2d_PUBKEY(k, &p), n);
	return (size_t)n;
}

/*
 * A terminal certificate issued by the issuer CA through libmic, with a
 * validity of our choosing.
 */
static void
term_issue(struct term *t, int role, int64_t nb, int64_t na)
{
	mic_cert_params prm;
	mic_keyprov_t *kp = NULL;
	uint8_t spki[256], der[MIC_CERT_MAX], ca[MIC_CERT_MAX];
	const unsigned char *q = der;
	size_t slen, dlen = 0, calen = 0;
	EVP_PKEY *k = tt_genkey(MIC_SUITE_P256);

	assert_int_equal(mic_pki_load(P->dir, MIC_CERT_ISSUER_CA, NULL, NULL,
	    NULL, NULL, &kp, ca, sizeof(ca), &calen), MIC_OK);
	memset(&prm, 0, sizeof(prm));
	prm.kind = MIC_CERT_TERMINAL;
	prm.role = (mic_role)role;
	prm.common_name = "test terminal";
	prm.not_before = nb;
	prm.not_after = na;
	slen = spki_of(k, spki, sizeof(spki));
	assert_int_equal(mic_cert_issue(&prm, spki, slen, ca, calen, kp, der,
	    sizeof(der), &dlen), MIC_OK);
	mic_keyprov_free(&kp);
	term_make(t, d2i_X509(NULL, &q, (long)dlen), k);
	assert_non_null(t->cert);
}

/* --- the chip factory ----------------------------------------------------- */

static EVP_PKEY *
point_pkey(const uint8_t pub[65])
{
	OSSL_PARAM params[3];
	char group[] = "prime256v1";
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *k = NULL;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)(uintptr_t)pub, 65);
	params[2] = OSSL_PARAM_construct_end();
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY,
	    params), 1);
	EVP_PKEY_CTX_free(ctx);
	return k;
}

static vc_card *
factory_card(const char *serial, int64_t date)
{
	uint8_t pub[65], chip[8], spki[256], cert[MIC_CERT_MAX];
	char hex[17];
	mic_cert_params prm;
	vc_card *card = NULL;
	EVP_PKEY *k;
	size_t slen, clen = 0;

	assert_int_equal(vc_card_new(&card, serial, 0), MIC_OK);
	assert_int_equal(vc_card_factory_key(card, pub), MIC_OK);
	k = point_pkey(pub);
	slen = spki_of(k, spki, sizeof(spki));
	EVP_PKEY_free(k);
	vc_card_chip_serial(card, chip);
	for (int i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02X", chip[i]);
	memset(&prm, 0, sizeof(prm));
	prm.kind = MIC_CERT_CARD;
	prm.common_name = "MIC chip";
	prm.serial_number = hex;
	assert_int_equal(mic_cert_issue(&prm, spki, slen, P->card_issuer_der,
	    P->card_issuer_len, P->card_issuer, cert, sizeof(cert), &clen),
	    MIC_OK);
	assert_int_equal(vc_card_factory_finish(card, cert, clen, P->root,
	    P->root_len, date), MIC_OK);
	assert_int_equal(vc_card_factory_key(card, pub), MIC_ERR_STATE);
	assert_int_equal(vc_card_factory_finish(card, cert, clen, P->root,
	    P->root_len, date), MIC_ERR_STATE);
	return card;
}

/* --- host helpers --------------------------------------------------------- */

static mic_tx_t *
host(vc_card *card)
{
	mic_tx_t *tx = NULL;

	assert_int_equal(mic_tx_new_inproc(&tx, vc_card_transmit, card),
	    MIC_OK);
	return tx;
}

static uint16_t
xmit(mic_tx_t *tx, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
    const uint8_t *data, size_t nc, size_t ne, uint8_t *rsp, size_t cap,
    size_t *len)
{
	static uint8_t own[MIC_APDU_RSP_MAX];
	mic_apdu a;
	size_t n = 0;
	uint16_t sw = 0;

	memset(&a, 0, sizeof(a));
	a.cla = cla;
	a.ins = ins;
	a.p1 = p1;
	a.p2 = p2;
	a.data = data;
	a.nc = nc;
	a.ne = ne;
	if (rsp == NULL) {
		rsp = own;
		cap = sizeof(own);
	}
	assert_int_equal(mic_tx_transmit(tx, &a, rsp, cap, &n, &sw), MIC_OK);
	if (len != NULL)
		*len = n;
	return sw;
}

static void
host_select(mic_tx_t *tx)
{
	static const uint8_t aid[] = VC_MIC_AID;
	uint16_t sw = xmit(tx, 0x00, 0xA4, 0x04, 0x0C, aid, sizeof(aid), 0,
	    NULL, 0, NULL);

	assert_true(sw == 0x9000 || sw == 0x6283);
}

/*
 * GET DATA BF21, the certificate verified against the terminal's trust
 * store as a card certificate, and its key: what a terminal does first.
 */
static EVP_PKEY *
card_key(mic_tx_t *tx)
{
	uint8_t rsp[2048];
	const unsigned char *q;
	size_t len = 0;
	mic_tlv t;
	X509 *x;
	EVP_PKEY *k;

	assert_int_equal(xmit(tx, 0x80, 0xCA, 0xBF, 0x21, NULL, 0, 256, rsp,
	    sizeof(rsp), &len), 0x9000);
	assert_int_equal(mic_tlv_parse(rsp, len, &t), MIC_OK);
	assert_int_equal(t.tag, 0xBF21);
	assert_int_equal(t.raw_len, len);
	assert_int_equal(mic_cert_verify(P->trust, t.value, t.len,
	    MIC_CERT_CARD), MIC_OK);
	q = t.value;
	x = d2i_X509(NULL, &q, (long)t.len);
	assert_non_null(x);
	k = X509_get_pubkey(x);
	X509_free(x);
	assert_non_null(k);
	return k;
}

static mic_rc
open_a(mic_tx_t *tx, EVP_PKEY *pk, const struct term *t)
{
	return mic_scp11a_open(tx, KVN, pk, &oce_ref, t->key, t->chain);
}

static void
open_role(mic_tx_t *tx, EVP_PKEY *pk, int role)
{
	struct term t;

	term_load(&t, P->dir, P->issuer, role);
	assert_int_equal(open_a(tx, pk, &t), MIC_OK);
	assert_true(mic_scp_is_open(tx));
	sk_X509_free(t.chain);
	X509_free(t.cert);
	EVP_PKEY_free(t.key);
}

/*
 * Personalization by the bureau through SCP11a, as EMV CPS would have it:
 * GENERATE KEY and every STORE DATA block protected.
 */
static void
perso_scp(mic_tx_t *tx, EVP_PKEY *pk)
{
	static uint8_t buf[4096];
	uint8_t tmp[2048], blk[8];
	size_t off = 0, n;

	open_role(tx, pk, 5);
	assert_int_equal(xmit(tx, 0x00, 0x47, 0x80, 0x00, NULL, 0, 256, NULL,
	    0, &n), 0x9000);
	assert_int_equal(n, 70);   /* 7F49 43 { 86 41 point } */
	n = sample_card(tmp, sizeof(tmp));
	put_dgi(buf, sizeof(buf), &off, 0x0101, tmp, n);
	n = sample_holder(tmp, sizeof(tmp));
	put_dgi(buf, sizeof(buf), &off, 0x0102, tmp, n);
	n = sample_insurance(tmp, sizeof(tmp), 0x01);
	put_dgi(buf, sizeof(buf), &off, 0x0103, tmp, n);
	assert_int_equal(xmit(tx, 0x80, 0xE2, 0x00, 0x00, buf, off, 0, NULL,
	    0, NULL), 0x9000);
	off = 0;
	sample_sod(tmp);
	put_dgi(buf, sizeof(buf), &off, 0x0104, tmp, SOD_LEN);
	assert_int_equal(xmit(tx, 0x80, 0xE2, 0x00, 0x01, buf, off, 0, NULL,
	    0, NULL), 0x9000);
	off = 0;
	sample_cert(tmp);
	put_dgi(buf, sizeof(buf), &off, 0x0105, tmp, CERT_LEN);
	pin_block(TRANSPORT_PIN, blk);
	put_dgi(buf, sizeof(buf), &off, 0x8010, blk, sizeof(blk));
	assert_int_equal(xmit(tx, 0x80, 0xE2, 0x80, 0x02, buf, off, 0, NULL,
	    0, NULL), 0x9000);
	mic_scp_close(tx);
}

/* A personalized card, PIN changed; or active with START_BALANCE. */
static vc_card *
scp_card(const char *serial, int active)
{
	vc_card *card = factory_card(serial, (int64_t)time(NULL));
	mic_tx_t *tx = host(card);
	EVP_PKEY *pk;
	uint8_t blk[16], act[15], data[40];

	host_select(tx);
	pk = card_key(tx);
	perso_scp(tx, pk);
	assert_int_equal(vc_card_state(card), VC_STATE_PERSONALIZED);
	/* The holder sets the PIN at the bank, inside its channel. */
	open_role(tx, pk, 3);
	pin_block(TRANSPORT_PIN, blk);
	pin_block(HOLDER_PIN, blk + 8);
	assert_int_equal(xmit(tx, 0x00, 0x24, 0x00, 0x81, blk, 16, 0, NULL, 0,
	    NULL), 0x9000);
	if (active) {
		memcpy(act, BYTES(0x20, 0x26, 0x03, 0x02, 0x10, 0x11, 0x12,
		    'B', 'A', 'N', 'K', '0', '0', '0', '1'), sizeof(act));
		assert_int_equal(xmit(tx, 0x00, 0x44, 0x00, 0x00, act,
		    sizeof(act), 0, NULL, 0, NULL), 0x9000);
		open_role(tx, pk, 4);
		tx_data(data, START_BALANCE, 0xC0000001u, 0x00);
		assert_int_equal(xmit(tx, 0x80, 0x52, 0x00, 0x00, data, 40,
		    256, NULL, 0, NULL), 0x9000);
		assert_int_equal(vc_card_state(card), VC_STATE_ACTIVE);
	}
	EVP_PKEY_free(pk);
	mic_tx_free(&tx);
	vc_card_power_off(card);
	return card;
}

/* --- raw sessions through the shared core's host half --------------------- */

/* SCP11b by hand; the host session goes to @p out. */
static void
raw_open_b(vc_card *card, EVP_PKEY *pk, mici_sm **out)
{
	uint8_t data[MICI_SCP11_AUTH_DATA_LEN], cmd[128];
	struct rsp *r = rsp_new();
	EVP_PKEY *esk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	size_t len = 0;

	assert_non_null(esk);
	assert_int_equal(mici_scp11_auth_data(MICI_SCP11B, esk, data,
	    sizeof(data), &len), MIC_OK);
	memcpy(cmd, BYTES(0x80, 0x88, KVN, 0x13, (uint8_t)len), 5);
	memcpy(cmd + 5, data, len);
	cmd[5 + len] = 0x00;
	raw(card, cmd, 6 + len, r);
	assert_int_equal(r->sw, 0x9000);
	assert_int_equal(mici_scp11_host_session(MICI_SCP11B, esk, NULL, pk,
	    data, len, r->buf, r->len, out), MIC_OK);
	EVP_PKEY_free(esk);
	free(r);
}

/* Wrap READ BINARY of SFI @p sfi into @p cmd; returns its length. */
static size_t
raw_read(mici_sm *sm, uint8_t sfi, uint8_t *cmd, size_t cap)
{
	uint8_t buf[64];
	mic_apdu a = { .cla = 0x00, .ins = 0xB0, .p1 = (uint8_t)(0x80 | sfi),
		.p2 = 0, .ne = 256 }, w;
	size_t len = 0;

	assert_int_equal(mici_sm_wrap_command(sm, &a, &w, buf, sizeof(buf)),
	    MIC_OK);
	assert_int_equal(mic_apdu_encode(&w, MIC_APDU_SHORT, cmd, cap, &len),
	    MIC_OK);
	return len;
}

/* --- tests ---------------------------------------------------------------- */

/* A card from the factory: BF21 gives a certificate the terminal trusts. */
static void
test_factory(void **state)
{
	vc_card *card = factory_card(CHIP_SERIAL, (int64_t)time(NULL));
	vc_card *copy;
	mic_tx_t *tx = host(card);
	EVP_PKEY *pk;
	uint8_t rsp[2048];
	size_t len;

	(void)state;
	/* Not before the application is selected. */
	assert_int_equal(xmit(tx, 0x80, 0xCA, 0xBF, 0x21, NULL, 0, 256, rsp,
	    sizeof(rsp), &len), 0x6986);
	host_select(tx);
	pk = card_key(tx);
	/* With a key reference: KID 11 or 13, KVN 01; another key 6A88. */
	assert_int_equal(xmit(tx, 0x00, 0xCA, 0xBF, 0x21, BYTES(0xA6, 0x04,
	    0x83, 0x02, 0x13, KVN), 6, 256, rsp, sizeof(rsp), &len), 0x9000);
	assert_int_equal(xmit(tx, 0x00, 0xCA, 0xBF, 0x21, BYTES(0xA6, 0x04,
	    0x83, 0x02, 0x11, 0x02), 6, 256, rsp, sizeof(rsp), &len), 0x6A88);
	assert_int_equal(xmit(tx, 0x00, 0xCA, 0xBF, 0x21, BYTES(0xA6, 0x01,
	    0x83), 3, 256, rsp, sizeof(rsp), &len), 0x6A80);
	/* The nv state keeps it all: the reloaded card still does SCP11b. */
	copy = card_clone(card);
	mic_tx_free(&tx);
	tx = host(copy);
	host_select(tx);
	assert_int_equal(mic_scp11b_open(tx, KVN, pk), MIC_OK);
	mic_tx_free(&tx);
	EVP_PKEY_free(pk);
	vc_card_free(&copy);
	vc_card_free(&card);
}

/* A card without factory keys refuses SCP11 with 6A88. */
static void
test_no_keys(void **state)
{
	vc_card *card = NULL;
	mic_tx_t *tx;
	struct term t;
	EVP_PKEY *pk = tt_genkey(MIC_SUITE_P256);

	(void)state;
	assert_int_equal(vc_card_new(&card, CHIP_SERIAL, 0), MIC_OK);
	tx = host(card);
	host_select(tx);
	assert_int_equal(xmit(tx, 0x80, 0xCA, 0xBF, 0x21, NULL, 0, 256, NULL,
	    0, NULL), 0x6A88);
	assert_int_equal(mic_scp11b_open(tx, KVN, pk), MIC_RC_SW(0x6A88));
	term_load(&t, P->dir, P->issuer, 5);
	assert_int_equal(open_a(tx, pk, &t), MIC_RC_SW(0x6A88));
	sk_X509_free(t.chain);
	X509_free(t.cert);
	EVP_PKEY_free(t.key);
	/* Wrong references on a provisioned card: 6A88 too. */
	mic_tx_free(&tx);
	vc_card_free(&card);
	card = factory_card(CHIP_SERIAL, (int64_t)time(NULL));
	tx = host(card);
	host_select(tx);
	EVP_PKEY_free(pk);
	pk = card_key(tx);
	assert_int_equal(mic_scp11b_open(tx, 0x02, pk), MIC_RC_SW(0x6A88));
	EXPECT_SW(card, 0x6A88, 0x80, 0x2A, OCE_KVN, 0x11, 0x02, 0x30, 0x00);
	EXPECT_SW(card, 0x6A88, 0x80, 0x2A, 0x02, OCE_KID, 0x02, 0x30, 0x00);
	mic_tx_free(&tx);
	EVP_PKEY_free(pk);
	vc_card_free(&card);
}

/* SCP11a as the bureau personalizes; SCP11b then reads it back. */
static void
test_perso_and_read(void **state)
{
	vc_card *card = scp_card(CHIP_SERIAL, 0);
	mic_tx_t *tx = host(card);
	uint8_t plain[256], prot[256];
	size_t n1 = 0, n2 = 0;
	EVP_PKEY *pk;

	(void)state;
	host_select(tx);
	pk = card_key(tx);
	assert_int_equal(xmit(tx, 0x00, 0xB0, 0x81, 0x00, NULL, 0, 256, plain,
	    sizeof(plain), &n1), 0x9000);
	assert_int_equal(mic_scp11b_open(tx, KVN, pk), MIC_OK);
	assert_true(vc_card_has_sm(card));
	assert_int_equal(xmit(tx, 0x00, 0xB0, 0x81, 0x00, NULL, 0, 256, prot,
	    sizeof(prot), &n2), 0x9000);
	assert_int_equal(n1, n2);
	assert_memory_equal(plain, prot, n1);
	n2 = sample_card(prot, sizeof(prot));
	assert_memory_equal(plain, prot, n2);
	/* 256 plain bytes are 280 protected: they come through 61xx. */
	{
		uint8_t sod[SOD_LEN];

		assert_int_equal(xmit(tx, 0x00, 0xB0, 0x84, 0x00, NULL, 0,
		    256, prot, sizeof(prot), &n1), 0x9000);
		assert_int_equal(n1, 256);
		sample_sod(sod);
		assert_memory_equal(prot, sod, 256);
	}
	/* SCP11b carries no role: no private file, no write. */
	assert_int_equal(xmit(tx, 0x00, 0xB0, 0x88, 0x00, NULL, 0, 256, NULL,
	    0, NULL), 0x6982);
	assert_int_equal(xmit(tx, 0x00, 0x2C, 0x02, 0x81, BYTES(0x26, 0x12,
	    0x34, 0x56, 0xFF, 0xFF, 0xFF, 0xFF), 8, 0, NULL, 0, NULL), 0x6982);
	assert_true(mic_scp_is_open(tx));
	/* The bank's SCP11a channel reads it. */
	open_role(tx, pk, 3);
	assert_int_equal(xmit(tx, 0x00, 0xB0, 0x88, 0x00, NULL, 0, 256, NULL,
	    0, &n1), 0x9000);
	assert_int_equal(n1, 32);
	EVP_PKEY_free(pk);
	mic_tx_free(&tx);
	vc_card_free(&card);
}

/* Writes need SCP11a with the bureau role, plain or SCP11b get 6982. */
static void
test_perso_needs_bureau(void **state)
{
	vc_card *card = factory_card(CHIP_SERIAL, (int64_t)time(NULL));
	mic_tx_t *tx = host(card);
	EVP_PKEY *pk;

	(void)state;
	host_select(tx);
	pk = card_key(tx);
	assert_int_equal(xmit(tx, 0x00, 0x47, 0x80, 0x00, NULL, 0, 256, NULL,
	    0, NULL), 0x6982);
	assert_int_equal(mic_scp11b_open(tx, KVN, pk), MIC_OK);
	assert_int_equal(xmit(tx, 0x00, 0x47, 0x80, 0x00, NULL, 0, 256, NULL,
	    0, NULL), 0x6982);
	open_role(tx, pk, 3);
	assert_int_equal(xmit(tx, 0x00, 0x47, 0x80, 0x00, NULL, 0, 256, NULL,
	    0, NULL), 0x6982);
	open_role(tx, pk, 5);
	assert_int_equal(xmit(tx, 0x00, 0x47, 0x80, 0x00, NULL, 0, 256, NULL,
	    0, NULL), 0x9000);
	EVP_PKEY_free(pk);
	mic_tx_free(&tx);
	vc_card_free(&card);
}

/* A terminal of another PKI, and a chain that skips the issuer CA. */
static void
test_untrusted(void **state)
{
	vc_card *card = factory_card(CHIP_SERIAL, (int64_t)time(NULL));
	mic_tx_t *tx = host(card);
	struct term t;
	EVP_PKEY *pk;

	(void)state;
	host_select(tx);
	pk = card_key(tx);
	term_load(&t, P->foreign, P->foreign_issuer, 5);
	assert_int_equal(open_a(tx, pk, &t), MIC_RC_SW(0x6982));
	assert_false(vc_card_has_sm(card));
	/* Only the leaf: no path to the root. */
	(void)sk_X509_shift(t.chain);
	assert_int_equal(open_a(tx, pk, &t), MIC_RC_SW(0x6982));
	sk_X509_free(t.chain);
	X509_free(t.cert);
	EVP_PKEY_free(t.key);
	/* MUTUAL AUTHENTICATE without a verified chain. */
	EXPECT_SW(card, 0x6982, 0x80, 0x82, KVN, 0x11, 0x01, 0x00, 0x00);
	EVP_PKEY_free(pk);
	mic_tx_free(&tx);
	vc_card_free(&card);
}

/*
 * Expiry by the card's own time: the factory date, then the newest
 * notBefore of a verified chain.
 */
static void
test_expired(void **state)
{
	int64_t now = (int64_t)time(NULL);
	vc_card *card = factory_card(CHIP_SERIAL, now);
	mic_tx_t *tx = host(card);
	struct term t;
	EVP_PKEY *pk;

	(void)state;
	host_select(tx);
	pk = card_key(tx);
	/* Expired yesterday. */
	term_issue(&t, 5, now - 700 * DAY, now - DAY);
	assert_int_equal(open_a(tx, pk, &t), MIC_RC_SW(0x6982));
	term_free(&t);
	/* Valid for another 5 days: fine. */
	term_issue(&t, 5, now - DAY, now + 5 * DAY);
	assert_int_equal(open_a(tx, pk, &t), MIC_OK);
	/* Not yet valid by the card's lagging clock: accepted, and the
	 * card's time moves to its notBefore. */
	{
		struct term f;

		term_issue(&f, 5, now + 10 * DAY, now + 400 * DAY);
		assert_int_equal(open_a(tx, pk, &f), MIC_OK);
		term_free(&f);
	}
	/* Now the 5-day certificate has expired for the card. */
	assert_int_equal(open_a(tx, pk, &t), MIC_RC_SW(0x6982));
	/* ... for good: the time is persistent. */
	{
		vc_card *copy = card_clone(card);
		mic_tx_t *tx2 = host(copy);

		host_select(tx2);
		assert_int_equal(open_a(tx2, pk, &t), MIC_RC_SW(0x6982));
		mic_tx_free(&tx2);
		vc_card_free(&copy);
	}
	term_free(&t);
	EVP_PKEY_free(pk);
	mic_tx_free(&tx);
	vc_card_free(&card);
}

/* Each role has only its rows of the access table. */
static void
test_wrong_role(void **state)
{
	vc_card *card = scp_card(CHIP_SERIAL, 1);
	mic_tx_t *tx = host(card);
	uint8_t data[40], blk[8];
	EVP_PKEY *pk;

	(void)state;
	host_select(tx);
	pk = card_key(tx);
	tx_data(data, 500, 0xC0000002u, 0x00);
	open_role(tx, pk, 2);
	assert_int_equal(xmit(tx, 0x80, 0x52, 0x00, 0x00, data, 40, 256, NULL,
	    0, NULL), 0x6982);
	/* The pharmacy may debit, with the PIN. */
	pin_block(HOLDER_PIN, blk);
	assert_int_equal(xmit(tx, 0x00, 0x20, 0x00, 0x81, blk, 8, 0, NULL, 0,
	    NULL), 0x9000);
	assert_int_equal(xmit(tx, 0x80, 0x54, 0x00, 0x00, data, 40, 256, NULL,
	    0, NULL), 0x9000);
	/* The role comes only with protected commands: a plain CREDIT of
	 * the agency's channel has none. */
	open_role(tx, pk, 4);
	tx_data(data, 500, 0xC0000003u, 0x00);
	mic_scp_close(tx);
	assert_int_equal(xmit(tx, 0x80, 0x52, 0x00, 0x00, data, 40, 256, NULL,
	    0, NULL), 0x6982);
	open_role(tx, pk, 4);
	assert_int_equal(xmit(tx, 0x80, 0x52, 0x00, 0x00, data, 40, 256, NULL,
	    0, NULL), 0x9000);
	EVP_PKEY_free(pk);
	mic_tx_free(&tx);
	vc_card_free(&card);
}

static X509 *
raw_terminal(EVP_PKEY *key, const char *role_ext, const char *eku)
{
	const char *exts[16];
	size_t n = 0;

	exts[n++] = "basicConstraints";
	exts[n++] = "critical,CA:FALSE";
	exts[n++] = "keyUsage";
	exts[n++] = "critical,digitalSignature,keyAgreement";
	exts[n++] = "subjectKeyIdentifier";
	exts[n++] = "hash";
	exts[n++] = "authorityKeyIdentifier";
	exts[n++] = "keyid";
	if (eku != NULL) {
		exts[n++] = "extendedKeyUsage";
		exts[n++] = eku;
	}
	if (role_ext != NULL) {
		exts[n++] = MIC_OID_TERMINAL_ROLE;
		exts[n++] = role_ext;
	}
	exts[n] = NULL;
	return tt_issue_raw(P->issuer, P->issuer_key, key, "raw terminal",
	    exts);
}

/* Malformed certificates and authenticate data: 6A80; no role: 6982. */
static void
test_malformed(void **state)
{
	vc_card *card = factory_card(CHIP_SERIAL, (int64_t)time(NULL));
	mic_tx_t *tx = host(card);
	struct term t;
	uint8_t der[MIC_CERT_MAX + 1], cmd[MIC_CERT_MAX + 16];
	size_t len = 0;
	struct rsp *r = rsp_new();
	EVP_PKEY *pk;

	(void)state;
	host_select(tx);
	pk = card_key(tx);
	/* Not a certificate; a certificate with a byte after it. */
	EXPECT_SW(card, 0x6A80, 0x80, 0x2A, OCE_KVN, OCE_KID, 0x03,
	    0x30, 0x01, 0x00);
	tt_der(P->issuer, der, sizeof(der), &len);
	der[len++] = 0x00;
	memcpy(cmd, BYTES(0x80, 0x2A, OCE_KVN, OCE_KID, 0x00,
	    (uint8_t)(len >> 8), (uint8_t)len), 7);
	memcpy(cmd + 7, der, len);
	raw(card, cmd, 7 + len, r);
	assert_int_equal(r->sw, 0x6A80);
	/* Four certificates: more than the card collects. */
	tt_der(P->issuer, der, sizeof(der), &len);
	memcpy(cmd, BYTES(0x80, 0x2A, OCE_KVN, OCE_KID | 0x80, 0x00,
	    (uint8_t)(len >> 8), (uint8_t)len), 7);
	memcpy(cmd + 7, der, len);
	for (int i = 0; i < 3; i++) {
		raw(card, cmd, 7 + len, r);
		assert_int_equal(r->sw, 0x9000);
	}
	raw(card, cmd, 7 + len, r);
	assert_int_equal(r->sw, 0x6A84);
	/* A role value outside 1..5, and a role that is not ENUMERATED. */
	{
		EVP_PKEY *k = tt_genkey(MIC_SUITE_P256);

		term_make(&t, raw_terminal(k, "DER:0A:01:09",
		    MIC_OID_KP_TERMINAL), k);
	}
	assert_int_equal(open_a(tx, pk, &t), MIC_RC_SW(0x6A80));
	X509_free(t.cert);
	t.cert = raw_terminal(t.key, "DER:02:01:03", MIC_OID_KP_TERMINAL);
	(void)sk_X509_pop(t.chain);
	assert_true(sk_X509_push(t.chain, t.cert) > 0);
	assert_int_equal(open_a(tx, pk, &t), MIC_RC_SW(0x6A80));
	/* The well-formed raw terminal works: the test certificates are
	 * otherwise right. */
	X509_free(t.cert);
	t.cert = raw_terminal(t.key, "DER:0A:01:05", MIC_OID_KP_TERMINAL);
	(void)sk_X509_pop(t.chain);
	assert_true(sk_X509_push(t.chain, t.cert) > 0);
	assert_int_equal(open_a(tx, pk, &t), MIC_OK);
	/* No role, or not a terminal (EKU): no rights at all, 6982. */
	X509_free(t.cert);
	t.cert = raw_terminal(t.key, NULL, MIC_OID_KP_TERMINAL);
	(void)sk_X509_pop(t.chain);
	assert_true(sk_X509_push(t.chain, t.cert) > 0);
	assert_int_equal(open_a(tx, pk, &t), MIC_RC_SW(0x6982));
	X509_free(t.cert);
	t.cert = raw_terminal(t.key, "DER:0A:01:05", MIC_OID_KP_CARD);
	(void)sk_X509_pop(t.chain);
	assert_true(sk_X509_push(t.chain, t.cert) > 0);
	assert_int_equal(open_a(tx, pk, &t), MIC_RC_SW(0x6982));
	term_free(&t);
	/* Authenticate data that is not Amd F 7.6.2.3's: 6A80. */
	EXPECT_SW(card, 0x6A80, 0x80, 0x88, KVN, 0x13, 0x03, 0xA6, 0x01, 0x00,
	    0x00);
	/* Handshake commands are never protected. */
	EXPECT_SW(card, 0x6882, 0x84, 0x88, KVN, 0x13, 0x01, 0x00);
	free(r);
	EVP_PKEY_free(pk);
	mic_tx_free(&tx);
	vc_card_free(&card);
}

/* A bad C-MAC ends the card's session; the next protected command fails. */
static void
test_bad_mac(void **state)
{
	vc_card *card = factory_card(CHIP_SERIAL, (int64_t)time(NULL));
	mic_tx_t *tx = host(card);
	struct rsp *r = rsp_new();
	mici_sm *sm = NULL;
	uint8_t cmd[64];
	size_t n;
	EVP_PKEY *pk;

	(void)state;
	host_select(tx);
	pk = card_key(tx);
	raw_open_b(card, pk, &sm);
	n = raw_read(sm, 1, cmd, sizeof(cmd));
	cmd[n - 2] ^= 0x01;     /* the last MAC byte (Le follows) */
	raw(card, cmd, n, r);
	assert_int_equal(r->sw, 0x6988);
	assert_int_equal(r->len, 0);
	assert_false(vc_card_has_sm(card));
	n = raw_read(sm, 1, cmd, sizeof(cmd));
	raw(card, cmd, n, r);
	assert_int_equal(r->sw, 0x6882);
	mici_sm_free(&sm);
	free(r);
	EVP_PKEY_free(pk);
	mic_tx_free(&tx);
	vc_card_free(&card);
}

/* "A DEBIT ends the PIN's verified state, whatever its outcome." */
static void
test_debit_bad_mac_ends_pin(void **state)
{
	vc_card *card = scp_card(CHIP_SERIAL, 1);
	mic_tx_t *tx = host(card);
	uint8_t blk[8];
	EVP_PKEY *pk;

	(void)state;
	host_select(tx);
	pk = card_key(tx);
	open_role(tx, pk, 1);
	pin_block(HOLDER_PIN, blk);
	assert_int_equal(xmit(tx, 0x00, 0x20, 0x00, 0x81, blk, 8, 0, NULL, 0,
	    NULL), 0x9000);
	EXPECT_SW(card, 0x9000, 0x00, 0x20, 0x00, 0x81);
	/* A protected DEBIT whose C-MAC fails: the channel and the PIN go. */
	EXPECT_SW(card, 0x6988, 0x84, 0x54, 0x00, 0x00, 0x10, 1, 2, 3, 4, 5,
	    6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0x00);
	assert_false(vc_card_has_sm(card));
	EXPECT_SW(card, 0x63C3, 0x00, 0x20, 0x00, 0x81);
	EVP_PKEY_free(pk);
	mic_tx_free(&tx);
	vc_card_free(&card);
}

/* PERFORM SECURITY OPERATION with certificate @p i of @p t's chain; SW. */
static uint16_t
raw_pso(vc_card *card, const struct term *t, int i)
{
	static uint8_t cmd[MIC_CERT_MAX + 16];
	struct rsp *r = rsp_new();
	int n = sk_X509_num(t->chain), len;
	unsigned char *p = cmd + 7;
	uint16_t sw;

	len = i2d_X509(sk_X509_value(t->chain, i), &p);
	assert_true(len > 0 && len <= MIC_CERT_MAX);
	memcpy(cmd, BYTES(0x80, 0x2A, OCE_KVN,
	    (uint8_t)(OCE_KID | (i + 1 < n ? 0x80 : 0x00)), 0x00,
	    (uint8_t)(len >> 8), (uint8_t)len), 7);
	raw(card, cmd, 7 + (size_t)len, r);
	sw = r->sw;
	free(r);
	return sw;
}

static void
raw_pso_chain(vc_card *card, const struct term *t)
{
	for (int i = 0; i < sk_X509_num(t->chain); i++)
		assert_int_equal(raw_pso(card, t, i), 0x9000);
}

/* MUTUAL AUTHENTICATE with a fresh ephemeral key, raw; its SW. */
static uint16_t
raw_mutual(vc_card *card)
{
	uint8_t data[MICI_SCP11_AUTH_DATA_LEN], cmd[128];
	struct rsp *r = rsp_new();
	EVP_PKEY *esk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	size_t len = 0;
	uint16_t sw;

	assert_non_null(esk);
	assert_int_equal(mici_scp11_auth_data(MICI_SCP11A, esk, data,
	    sizeof(data), &len), MIC_OK);
	memcpy(cmd, BYTES(0x80, 0x82, KVN, 0x11, (uint8_t)len), 5);
	memcpy(cmd + 5, data, len);
	cmd[5 + len] = 0x00;
	raw(card, cmd, 6 + len, r);
	sw = r->sw;
	EVP_PKEY_free(esk);
	free(r);
	return sw;
}

/*
 * MUTUAL AUTHENTICATE takes the verified chain only "just before": any
 * other command in between, whatever its outcome, discards the chain.
 */
static void
test_mutual_auth_just_before(void **state)
{
	static const uint8_t between[][8] = {
		{ 5, 0x00, 0xA4, 0x02, 0x0C, 0x02 },    /* SELECT EF 0101 */
		{ 5, 0x80, 0xCA, 0xBF, 0x21, 0x00 },    /* GET DATA BF21 */
		{ 4, 0x00, 0x20, 0x00, 0x81 },          /* VERIFY, refused */
		{ 4, 0x80, 0x00, 0x00, 0x00 },          /* unknown INS */
		{ 2, 0x80, 0x82 },                      /* not even an APDU */
	};
	static const uint8_t ef[] = { 0x01, 0x01 };
	vc_card *card = factory_card(CHIP_SERIAL, (int64_t)time(NULL));
	struct rsp *r = rsp_new();
	uint8_t cmd[16];
	struct term t;
	size_t i, n;

	(void)state;
	select_app(card);
	term_load(&t, P->dir, P->issuer, 5);
	/* Right after the chain: the channel opens. */
	raw_pso_chain(card, &t);
	assert_int_equal(raw_mutual(card), 0x9000);
	assert_true(vc_card_has_sm(card));
	/* And the chain serves once. */
	assert_int_equal(raw_mutual(card), 0x6982);
	for (i = 0; i < MIC_ARRAY_LEN(between); i++) {
		raw_pso_chain(card, &t);
		n = between[i][0];
		memcpy(cmd, between[i] + 1, n);
		if (i == 0) {
			memcpy(cmd + n, ef, sizeof(ef));
			n += sizeof(ef);
		}
		raw(card, cmd, n, r);
		assert_int_equal(raw_mutual(card), 0x6982);
		assert_false(vc_card_has_sm(card));
	}
	/* A command inside the chain breaks it too: the leaf comes alone. */
	assert_int_equal(raw_pso(card, &t, 0), 0x9000);
	EXPECT_SW(card, 0x9000, 0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x01);
	assert_int_not_equal(raw_pso(card, &t, 1), 0x9000);
	assert_int_equal(raw_mutual(card), 0x6982);
	free(r);
	term_free(&t);
	vc_card_free(&card);
}

/* Replayed and reordered commands fail their MAC. */
static void
test_replay_reorder(void **state)
{
	vc_card *card = factory_card(CHIP_SERIAL, (int64_t)time(NULL));
	mic_tx_t *tx = host(card);
	struct rsp *r = rsp_new();
	mici_sm *sm = NULL;
	uint8_t c1[64], c2[64];
	size_t n1, n2;
	EVP_PKEY *pk;

	(void)state;
	host_select(tx);
	pk = card_key(tx);
	/* Replay. GET DATA works on a blank card (READ BINARY does not). */
	raw_open_b(card, pk, &sm);
	{
		mic_apdu a = { .cla = 0x80, .ins = 0xCA, .p1 = 0xBF,
			.p2 = 0x21, .ne = 256 }, w;
		uint8_t buf[32];

		assert_int_equal(mici_sm_wrap_command(sm, &a, &w, buf,
		    sizeof(buf)), MIC_OK);
		assert_int_equal(mic_apdu_encode(&w, MIC_APDU_SHORT, c1,
		    sizeof(c1), &n1), MIC_OK);
	}
	raw(card, c1, n1, r);
	/* The protected certificate is longer than 256 bytes. */
	assert_int_equal(r->sw & 0xFF00, 0x6100);
	raw(card, c1, n1, r);
	assert_int_equal(r->sw, 0x6988);
	assert_false(vc_card_has_sm(card));
	mici_sm_free(&sm);
	/* Reorder: the second command before the first. */
	raw_open_b(card, pk, &sm);
	n1 = raw_read(sm, 1, c1, sizeof(c1));
	n2 = raw_read(sm, 2, c2, sizeof(c2));
	raw(card, c2, n2, r);
	assert_int_equal(r->sw, 0x6988);
	raw(card, c1, n1, r);
	assert_int_equal(r->sw, 0x6882);
	mici_sm_free(&sm);
	free(r);
	EVP_PKEY_free(pk);
	mic_tx_free(&tx);
	vc_card_free(&card);
}

/* Routes to card a or b, switchable: a card swapped under the host. */
struct swap {
	vc_card *a, *b;
	int use_b;
};

static mic_rc
swap_transmit(void *arg, const uint8_t *cmd, size_t len, uint8_t *rsp,
    size_t *rlen)
{
	struct swap *s = arg;

	return vc_card_transmit(s->use_b ? s->b : s->a, cmd, len, rsp, rlen);
}

/* The host notices a card that is not the one it authenticated. */
static void
test_wrong_card(void **state)
{
	struct swap s;
	mic_tx_t *tx = NULL;
	mici_sm *smb = NULL;
	EVP_PKEY *pka;
	uint8_t rsp[256];
	size_t n;
	uint16_t sw = 0;
	mic_apdu a = { .cla = 0x00, .ins = 0xCA, .p1 = 0xBF, .p2 = 0x21,
		.ne = 256 };
	mic_rc rc;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.a = factory_card("CARDA", (int64_t)time(NULL));
	s.b = factory_card("CARDB", (int64_t)time(NULL));
	assert_int_equal(mic_tx_new_inproc(&tx, swap_transmit, &s), MIC_OK);
	host_select(tx);
	pka = card_key(tx);
	/* Card B answers a handshake meant for A: its receipt fails. */
	s.use_b = 1;
	host_select(tx);
	assert_int_equal(mic_scp11b_open(tx, KVN, pka), MIC_ERR_SM_AUTH);
	assert_false(mic_scp_is_open(tx));
	{
		struct term t;

		term_load(&t, P->dir, P->issuer, 5);
		assert_int_equal(open_a(tx, pka, &t), MIC_ERR_SM_AUTH);
		sk_X509_free(t.chain);
		X509_free(t.cert);
		EVP_PKEY_free(t.key);
	}
	/*
	 * A channel with A, then B, which has a channel of its own, answers:
	 * the MAC fails on B, and the host never takes B's answer.
	 */
	{
		mic_tx_t *txb = host(s.b);
		EVP_PKEY *pkb;

		host_select(txb);
		pkb = card_key(txb);
		raw_open_b(s.b, pkb, &smb);
		EVP_PKEY_free(pkb);
		mic_tx_free(&txb);
	}
	s.use_b = 0;
	host_select(tx);
	assert_int_equal(mic_scp11b_open(tx, KVN, pka), MIC_OK);
	s.use_b = 1;
	rc = mic_tx_transmit(tx, &a, rsp, sizeof(rsp), &n, &sw);
	assert_true(rc != MIC_OK || sw != 0x9000);
	assert_false(vc_card_has_sm(s.b));
	assert_int_equal(mic_tx_transmit(tx, &a, rsp, sizeof(rsp), &n, &sw),
	    MIC_ERR_SM_CLOSED);
	mici_sm_free(&smb);
	EVP_PKEY_free(pka);
	mic_tx_free(&tx);
	vc_card_free(&s.a);
	vc_card_free(&s.b);
}

/* Reset, power-off, SELECT of another DF and a new authenticate end it. */
static void
test_session_end(void **state)
{
	vc_card *card = scp_card(CHIP_SERIAL, 0);
	mic_tx_t *tx = host(card);
	struct rsp *r = rsp_new();
	mici_sm *sm = NULL;
	uint8_t cmd[64];
	size_t n;
	EVP_PKEY *pk;

	(void)state;
	host_select(tx);
	pk = card_key(tx);
	raw_open_b(card, pk, &sm);
	assert_true(vc_card_has_sm(card));
	vc_card_reset(card);
	assert_false(vc_card_has_sm(card));
	select_app(card);
	n = raw_read(sm, 1, cmd, sizeof(cmd));
	raw(card, cmd, n, r);
	assert_int_equal(r->sw, 0x6882);
	mici_sm_free(&sm);

	raw_open_b(card, pk, &sm);
	vc_card_power_off(card);
	assert_false(vc_card_has_sm(card));
	mici_sm_free(&sm);

	/* SELECT of an EF keeps the channel; of the MF it ends it. */
	select_app(card);
	raw_open_b(card, pk, &sm);
	EXPECT_SW(card, 0x6283, 0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x01);
	assert_true(vc_card_has_sm(card));
	select_mf(card);
	assert_false(vc_card_has_sm(card));
	mici_sm_free(&sm);

	/* A new authenticate replaces it (and a failed one leaves none). */
	select_app(card);
	raw_open_b(card, pk, &sm);
	EXPECT_SW(card, 0x6A80, 0x80, 0x88, KVN, 0x13, 0x01, 0x00, 0x00);
	assert_false(vc_card_has_sm(card));
	mici_sm_free(&sm);

	/* Through the host: after a reset the card refuses the old one. */
	assert_int_equal(mic_scp11b_open(tx, KVN, pk), MIC_OK);
	vc_card_reset(card);
	assert_int_equal(xmit(tx, 0x00, 0xB0, 0x81, 0x00, NULL, 0, 256, NULL,
	    0, NULL), 0x6882);
	free(r);
	EVP_PKEY_free(pk);
	mic_tx_free(&tx);
	vc_card_free(&card);
}

/* An image of the layout before SCP11 is refused, and said so. */
static void
test_old_layout(void **state)
{
	vc_card *card = factory_card(CHIP_SERIAL, (int64_t)time(NULL));
	vc_card *out = NULL;
	const uint8_t *nv = NULL;
	uint8_t *old;
	size_t len = 0;

	(void)state;
	vc_card_nv(card, &nv, &len);
	assert_int_equal(vc_card_nv_layout(nv, len), VC_CARD_NV_LAYOUT);
	old = malloc(len);
	assert_non_null(old);
	memcpy(old, nv, len);
	old[5] = 0x01;
	assert_int_equal(vc_card_nv_layout(old, len), 1);
	assert_int_equal(vc_card_load(&out, old, len, 0),
	    MIC_ERR_INVALID_ARGUMENT);
	/* Layout 2 gave EF.HOLDER to anyone (card profile 4.3): refused. */
	old[5] = 0x02;
	assert_int_equal(vc_card_load(&out, old, len, 0),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(vc_card_nv_layout(BYTES('X'), 1), -1);
	free(old);
	vc_card_free(&card);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_factory),
		cmocka_unit_test(test_no_keys),
		cmocka_unit_test(test_perso_and_read),
		cmocka_unit_test(test_perso_needs_bureau),
		cmocka_unit_test(test_untrusted),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_wrong_role),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_bad_mac),
		cmocka_unit_test(test_debit_bad_mac_ends_pin),
		cmocka_unit_test(test_mutual_auth_just_before),
		cmocka_unit_test(test_replay_reorder),
		cmocka_unit_test(test_wrong_card),
		cmocka_unit_test(test_session_end),
		cmocka_unit_test(test_old_layout),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
