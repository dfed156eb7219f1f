/*
 * mic_perso_card() end to end: a test PKI in a temporary directory, a
 * blank in-process card provisioned as the chip factory does it
 * (docs/card-profile.md 4.4), an application from a batch line, and the
 * real host side over mic_tx_new_inproc. Then the card is read as any
 * terminal reads it, and the bank's channel changes the transport PIN.
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

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <mic/batch.h>
#include <mic/card.h>
#include <mic/perso.h>
#include <mic/pki.h>
#include <mic/scp.h>
#include <mic/tlv.h>
#include <mic/tx.h>

#include "vcard.h"
#include "chipfactory.h"
#include "perso_test.h"
#include "trust_test.h"

#define KVN 0x01
#define HOLDER_PIN "482916"

/* docs/issuance.md's example line. */
struct pki {
	char *dir;
	char *foreign;
	vcf_factory *ours, *theirs;   /* chip factories of dir and foreign */
	mic_perso_cfg_t *cfg;
	mic_application_t *app;
};

static struct pki *P;

/* Counts commits; the one numbered fail_at (1-based) is torn. */
struct nv {
	unsigned commits;
	unsigned fail_at;
};

static mic_rc
nv_commit(void *arg, const uint8_t *nv, size_t len)
{
	struct nv *s = arg;

	(void)nv;
	(void)len;
	s->commits++;
	return s->fail_at != 0 && s->commits == s->fail_at ? MIC_ERR_IO :
	    MIC_OK;
}

static int
group_setup(void **state)
{
	struct pki *p = calloc(1, sizeof(*p));

	(void)state;
	assert_non_null(p);
	p->dir = tt_pki(MIC_SUITE_P256);
	p->foreign = tt_pki(MIC_SUITE_P256);
	assert_int_equal(vcf_new(&p->ours, p->dir, NULL, 0), 0);
	assert_int_equal(vcf_new(&p->theirs, p->foreign, NULL, 0), 0);
	assert_int_equal(mic_perso_cfg_load(&p->cfg, p->dir, "bureau"),
	    MIC_OK);
	assert_int_equal(mic_perso_cfg_set_bureau_code(p->cfg, "001"), MIC_OK);
	p->app = pt_app();
	P = p;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	mic_perso_cfg_free(&P->cfg);
	mic_application_free(&P->app);
	tt_rmrf(P->dir);
	vcf_free(&P->ours);
	vcf_free(&P->theirs);
	tt_rmrf(P->foreign);
	free(P->dir);
	free(P->foreign);
	free(P);
	return 0;
}

/* --- the chip factory ----------------------------------------------------- */

static mic_tx_t *
host(vc_card *card)
{
	mic_tx_t *tx = NULL;

	assert_int_equal(mic_tx_new_inproc(&tx, vc_card_transmit, card),
	    MIC_OK);
	return tx;
}

/* PK.SD.ECKA, as a terminal takes it from GET DATA BF21. */
static EVP_PKEY *
card_key(mic_tx_t *tx)
{
	mic_apdu a = { .cla = 0x80, .ins = 0xCA, .p1 = 0xBF, .p2 = 0x21,
		.ne = 256 };
	uint8_t rsp[2048];
	const unsigned char *q;
	size_t n = 0;
	mic_tlv t;
	X509 *x;
	EVP_PKEY *k;

	assert_int_equal(mic_tx_command(tx, &a, rsp, sizeof(rsp), &n), MIC_OK);
	assert_int_equal(mic_tlv_parse(rsp, n, &t), MIC_OK);
	q = t.value;
	x = d2i_X509(NULL, &q, (long)t.len);
	assert_non_null(x);
	k = X509_get_pubkey(x);
	X509_free(x);
	assert_non_null(k);
	return k;
}

/* SCP11a as the PKI's bank terminal. */
static void
open_bank(mic_tx_t *tx, EVP_PKEY *pk)
{
	static const mic_scp_keyref oce = { 0x01, 0x10 };
	uint8_t der[MIC_CERT_MAX];
	const unsigned char *q = der;
	mic_keyprov_t *kp = NULL;
	STACK_OF(X509) *chain = sk_X509_new_null();
	size_t len = 0;
	char *path = tt_path(P->dir, "issuer/cert.pem");

	assert_non_null(chain);
	assert_true(sk_X509_push(chain, tt_cert_x509(path)) > 0);
	free(path);
	assert_int_equal(mic_pki_load(P->dir, MIC_CERT_TERMINAL, "bank", NULL,
	    NULL, NULL, &kp, der, sizeof(der), &len), MIC_OK);
	assert_true(sk_X509_push(chain, d2i_X509(NULL, &q, (long)len)) > 0);
	assert_int_equal(mic_scp11a_open(tx, KVN, pk, &oce,
	    mic_keyprov_pkey(kp), chain), MIC_OK);
	sk_X509_pop_free(chain, X509_free);
	mic_keyprov_free(&kp);
}

static void
pin_block(const char *pin, uint8_t out[8])
{
	size_t n = strlen(pin);

	memset(out, 0xFF, 8);
	out[0] = (uint8_t)(0x20 | n);
	for (size_t i = 0; i < n; i++) {
		uint8_t d = (uint8_t)(pin[i] - '0');
		if (i % 2 == 0)
			out[1 + i / 2] = (uint8_t)(d << 4 | 0x0F);
		else
			out[1 + i / 2] = (uint8_t)((out[1 + i / 2] & 0xF0) | d);
	}
}

static uint16_t
change_pin(mic_tx_t *tx, const char *old, const char *next)
{
	uint8_t data[16], rsp[16];
	mic_apdu a = { .cla = 0x00, .ins = 0x24, .p1 = 0x00, .p2 = 0x81,
		.data = data, .nc = 16 };
	size_t n = 0;
	uint16_t sw = 0;

	pin_block(old, data);
	pin_block(next, data + 8);
	assert_int_equal(mic_tx_transmit(tx, &a, rsp, sizeof(rsp), &n, &sw),
	    MIC_OK);
	return sw;
}

/* --- tests ---------------------------------------------------------------- */

static void
test_perso(void **state)
{
	vc_card *card = pt_factory_card(P->ours, "PERSO-OK-1");
	mic_tx_t *tx = host(card);
	mic_perso_result_t *res = NULL;
	mic_card_t *c = NULL;
	uint8_t chip[8];
	char pin[MIC_TRANSPORT_PIN_LEN + 1], wrong[MIC_TRANSPORT_PIN_LEN + 1];
	EVP_PKEY *pk;

	(void)state;
	assert_int_equal(mic_perso_card(P->cfg, tx, P->app, 4711, &res),
	    MIC_OK);
	assert_non_null(res);
	assert_int_equal(vc_card_state(card), VC_STATE_PERSONALIZED);
	vc_card_chip_serial(card, chip);
	assert_memory_equal(mic_perso_result_chip_serial(res), chip, 8);
	/* 320100 (pooling region), RID, type 1, version 10, bureau 001. */
	assert_string_equal(mic_perso_result_card_id(res),
	    "320100D1560000011100010000004711");
	assert_string_equal(mic_perso_result_card_number(res), "A00004711");
	assert_int_equal(strlen(mic_perso_result_transport_pin(res)),
	    MIC_TRANSPORT_PIN_LEN);
	assert_true(mic_perso_result_apdus(res) > 10);
	assert_true(mic_perso_result_bytes(res) > 2048);
	assert_false(mic_scp_is_open(tx));
	memcpy(pin, mic_perso_result_transport_pin(res), sizeof(pin));
	mic_perso_result_free(&res);
	assert_null(res);

	/* Anyone reads the public file; the holder's need a terminal's
	 * channel (card profile 4.3), and any terminal reads them. */
	assert_int_equal(mic_card_open(&c, tx), MIC_OK);
	assert_int_equal(mic_card_state(c), MIC_STATE_PERSONALIZED);
	assert_int_equal(mic_card_read(c, MIC_READ_PUBLIC), MIC_OK);
	assert_string_equal(mic_cardinfo_id(mic_card_info(c)),
	    "320100D1560000011100010000004711");
	assert_int_equal(mic_card_read(c, MIC_READ_HOLDER),
	    MIC_SW_SECURITY_STATUS);
	assert_int_equal(mic_card_read(c, MIC_READ_INSURANCE),
	    MIC_SW_SECURITY_STATUS);
	assert_null(mic_card_holder(c));
	pk = card_key(tx);
	open_bank(tx, pk);
	assert_int_equal(mic_card_read(c, MIC_READ_ALL), MIC_OK);
	assert_string_equal(mic_holder_name(mic_card_holder(c)), "李四");
	assert_string_equal(mic_holder_ssn(mic_card_holder(c)),
	    "32010219881108018X");
	assert_string_equal(mic_insurance_region(mic_card_insurance(c)),
	    "320100");
	mic_card_free(&c);

	/* The holder replaces the transport PIN at the bank: a wrong one is
	 * refused and costs a try, the returned one works. */
	/* Not inside someone else's channel, and that channel stays. */
	assert_int_equal(mic_perso_card(P->cfg, tx, P->app, 4712, &res),
	    MIC_ERR_STATE);
	assert_null(res);
	assert_true(mic_scp_is_open(tx));
	memcpy(wrong, pin, sizeof(wrong));
	wrong[0] = wrong[0] == '9' ? '0' : (char)(wrong[0] + 1);
	assert_int_equal(change_pin(tx, wrong, HOLDER_PIN), 0x63C2);
	assert_int_equal(change_pin(tx, pin, HOLDER_PIN), 0x9000);
	mic_scp_close(tx);
	EVP_PKEY_free(pk);
	mic_tx_free(&tx);
	vc_card_free(&card);
}

/* A card personalized already is refused, before any write. */
static void
test_not_blank(void **state)
{
	vc_card *card = pt_factory_card(P->ours, "PERSO-TWICE");
	mic_tx_t *tx = host(card);
	mic_perso_result_t *res = NULL;
	struct nv nv = { 0, 0 };

	(void)state;
	assert_int_equal(mic_perso_card(P->cfg, tx, P->app, 1, &res), MIC_OK);
	mic_perso_result_free(&res);
	vc_card_set_commit(card, nv_commit, &nv);
	assert_int_equal(mic_perso_card(P->cfg, tx, P->app, 2, &res),
	    MIC_SW_CONDITIONS);
	assert_null(res);
	assert_int_equal(nv.commits, 0);
	assert_false(mic_scp_is_open(tx));
	assert_int_equal(vc_card_state(card), VC_STATE_PERSONALIZED);
	mic_tx_free(&tx);
	vc_card_free(&card);
}

/* A chip certified by another PKI: refused before anything is written. */
static void
test_foreign(void **state)
{
	vc_card *card = pt_factory_card(P->theirs, "PERSO-FOREIGN");
	mic_tx_t *tx = host(card);
	mic_perso_result_t *res = NULL;
	struct nv nv = { 0, 0 };

	(void)state;
	vc_card_set_commit(card, nv_commit, &nv);
	assert_int_equal(mic_perso_card(P->cfg, tx, P->app, 3, &res),
	    MIC_ERR_CERT_UNTRUSTED);
	assert_null(res);
	assert_int_equal(nv.commits, 0);
	assert_int_equal(vc_card_state(card), VC_STATE_BLANK);
	mic_tx_free(&tx);
	vc_card_free(&card);
}

/* Power lost in the middle: every commit from GENERATE KEY (the first)
 * to the last STORE DATA in turn, as many as a whole run makes. The card
 * stays blank, and the same card, powered again, personalizes from the
 * start. */
static void
test_torn(void **state)
{
	unsigned commits;

	(void)state;
	{
		vc_card *card = pt_factory_card(P->ours, "PERSO-TORN");
		mic_tx_t *tx = host(card);
		mic_perso_result_t *res = NULL;
		struct nv nv = { 0, 0 };

		vc_card_set_commit(card, nv_commit, &nv);
		assert_int_equal(mic_perso_card(P->cfg, tx, P->app, 5, &res),
		    MIC_OK);
		/* GENERATE KEY, then at least the last STORE DATA. */
		commits = nv.commits;
		assert_true(commits >= 2);
		mic_perso_result_free(&res);
		mic_tx_free(&tx);
		vc_card_free(&card);
	}
	for (unsigned at = 1; at <= commits; at++) {
		vc_card *card = pt_factory_card(P->ours, "PERSO-TORN");
		mic_tx_t *tx = host(card);
		mic_perso_result_t *res = NULL;
		struct nv nv = { 0, at };
		mic_rc rc;

		vc_card_set_commit(card, nv_commit, &nv);
		rc = mic_perso_card(P->cfg, tx, P->app, 5, &res);
		/* The mute card answers nothing: the transport's error. */
		assert_int_equal(rc, MIC_ERR_IO);
		assert_null(res);
		assert_false(mic_scp_is_open(tx));
		assert_int_equal(nv.commits, at);
		mic_tx_free(&tx);
		vc_card_power_off(card);
		assert_int_equal(vc_card_state(card), VC_STATE_BLANK);
		/* A retry on the same chip. */
		nv.fail_at = 0;
		tx = host(card);
		assert_int_equal(mic_perso_card(P->cfg, tx, P->app, 5, &res),
		    MIC_OK);
		assert_int_equal(vc_card_state(card), VC_STATE_PERSONALIZED);
		mic_perso_result_free(&res);
		mic_tx_free(&tx);
		vc_card_free(&card);
	}
}

/* Commands by INS, as the card sees them (GET RESPONSE its own). */
static void
count_ins(void *arg, int dir, const uint8_t *buf, size_t len)
{
	unsigned *n = arg;

	if (dir == MIC_TRACE_CMD && len >= 2)
		n[buf[1]]++;
}

/*
 * Where the path carries extended length, each file comes back in one
 * READ BINARY and CERT.SD.ECKA in one GET DATA; the DGIs go in one STORE
 * DATA either way (profile 3.8: one command may carry several). A path
 * that gives less per answer (max_ne) still gets every byte.
 */
static void
test_extended(void **state)
{
	static const size_t max_ne[] = { 0, 300 };
	unsigned n[256];

	(void)state;
	for (size_t i = 0; i < sizeof(max_ne) / sizeof(max_ne[0]); i++) {
		vc_card *card = pt_factory_card(P->ours, "PERSO-EXT");
		mic_tx_t *tx = host(card);
		mic_perso_result_t *res = NULL;
		mic_tx_caps caps;

		mic_tx_get_caps(tx, &caps);
		caps.reader_extended = 1;
		caps.card_extended = 1;
		caps.max_ne = max_ne[i];
		mic_tx_set_caps(tx, &caps);
		memset(n, 0, sizeof(n));
		mic_tx_set_trace(tx, count_ins, n);
		assert_int_equal(mic_perso_card(P->cfg, tx, P->app, 6, &res),
		    MIC_OK);
		assert_int_equal(vc_card_state(card), VC_STATE_PERSONALIZED);
		assert_int_equal(n[0xE2], 1);
		if (max_ne[i] == 0) {
			assert_int_equal(n[0xB0], 5);
			assert_int_equal(n[0xCA], 1);
			assert_int_equal(n[0xC0], 0);
		} else {
			/* EF.CERT (1024) by 300 bytes, EF.SOD to its DER
			 * length (about 1070) too. */
			assert_int_equal(n[0xB0], 3 + 4 + 4);
		}
		mic_perso_result_free(&res);
		mic_tx_free(&tx);
		vc_card_free(&card);
	}
}

static void
test_cfg(void **state)
{
	mic_perso_cfg_t *cfg = NULL;
	mic_perso_result_t *res = NULL;

	(void)state;
	/* A terminal of another role cannot personalize. */
	assert_int_equal(mic_perso_cfg_load(&cfg, P->dir, "bank"),
	    MIC_ERR_CERT_PURPOSE);
	assert_null(cfg);
	assert_int_not_equal(mic_perso_cfg_load(&cfg, P->dir, "nobody"),
	    MIC_OK);
	assert_null(cfg);
	assert_int_equal(mic_perso_cfg_load(&cfg, P->dir, "bureau"), MIC_OK);
	assert_int_equal(mic_perso_cfg_set_bureau_code(cfg, "01"),
	    MIC_ERR_FORMAT);
	assert_int_equal(mic_perso_cfg_set_bureau_code(cfg, "0a1"),
	    MIC_ERR_FORMAT);
	assert_int_equal(mic_perso_cfg_set_issue_date(cfg, "20260230"),
	    MIC_ERR_DATE);
	assert_int_equal(mic_perso_cfg_set_issue_date(cfg, "20240229"),
	    MIC_OK);
	assert_int_equal(mic_perso_cfg_set_validity_years(cfg, 0),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_perso_cfg_set_issuer(cfg, "99999"),
	    MIC_ERR_CODE);
	assert_int_equal(mic_perso_cfg_set_issuer(cfg, "110000"), MIC_OK);
	assert_int_equal(mic_perso_card(cfg, NULL, P->app, 1, &res),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_null(res);
	{
		vc_card *card = pt_factory_card(P->ours, "PERSO-CFG");
		mic_tx_t *tx = host(card);
		mic_card_t *c = NULL;

		assert_int_equal(mic_perso_card(cfg, tx, P->app,
		    MIC_PERSO_SERIAL_MAX + 1, &res),
		    MIC_ERR_INVALID_ARGUMENT);
		assert_int_equal(mic_perso_card(cfg, tx, P->app, 42, &res),
		    MIC_OK);
		assert_string_equal(mic_perso_result_card_id(res),
		    "110000D1560000011100000000000042");
		mic_perso_result_free(&res);
		assert_int_equal(mic_card_open(&c, tx), MIC_OK);
		assert_int_equal(mic_card_read(c, MIC_READ_CARD), MIC_OK);
		assert_string_equal(mic_cardinfo_issue_date(mic_card_info(c)),
		    "20240229");
		/* 2034 is no leap year. */
		assert_string_equal(mic_cardinfo_expiry_date(mic_card_info(c)),
		    "20340228");
		mic_card_free(&c);
		mic_tx_free(&tx);
		vc_card_free(&card);
	}
	mic_perso_cfg_free(&cfg);
	mic_perso_cfg_free(&cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_perso),
		cmocka_unit_test(test_not_blank),
		cmocka_unit_test(test_foreign),
		cmocka_unit_test(test_torn),
		cmocka_unit_test(test_extended),
		cmocka_unit_test(test_cfg),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
