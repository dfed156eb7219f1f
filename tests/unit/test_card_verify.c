/*
 * mic_card_verify(): is a card genuine? A test PKI, cards from its chip
 * factory personalized by the real bureau code (mic_perso_card()), and
 * the cards an attacker would build from one of them:
 *   - a keyless replay card: every answer the genuine card gave, recorded
 *     and served again, the chip's own CERT.SD.ECKA and its answer to an
 *     earlier INTERNAL AUTHENTICATE included;
 *   - a genuine chip of another card that claims the victim's serial in
 *     its FCI and serves the victim's files;
 * and chips whose factory certificate names another serial, which the
 * bureau refuses before writing anything.
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

#include <mic/apdu.h>
#include <mic/batch.h>
#include <mic/card.h>
#include <mic/perso.h>
#include <mic/pki.h>
#include <mic/scp.h>
#include <mic/sod.h>
#include <mic/tx.h>

#include "vcard.h"
#include "chipfactory.h"
#include "perso_test.h"
#include "trust_test.h"

struct pki {
	char *dir;
	char *foreign;
	vcf_factory *ours, *theirs;
	mic_perso_cfg_t *cfg;
	mic_application_t *app;
	mic_trust_t *trust;
};

static struct pki *P;

static int
group_setup(void **state)
{
	struct pki *p = calloc(1, sizeof(*p));
	char *trust;

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
	trust = tt_path(p->dir, "trust");
	assert_int_equal(mic_trust_load(&p->trust, trust), MIC_OK);
	free(trust);
	P = p;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	mic_trust_free(&P->trust);
	mic_perso_cfg_free(&P->cfg);
	mic_application_free(&P->app);
	vcf_free(&P->ours);
	vcf_free(&P->theirs);
	tt_rmrf(P->dir);
	tt_rmrf(P->foreign);
	free(P->dir);
	free(P->foreign);
	free(P);
	return 0;
}

static mic_tx_t *
host(mic_inproc_fn *fn, void *card)
{
	mic_tx_t *tx = NULL;

	assert_int_equal(mic_tx_new_inproc(&tx, fn, card), MIC_OK);
	return tx;
}

/* A card of our factory, personalized by the bureau as card @p n. */
static vc_card *
issued_card(const char *serial, uint64_t n)
{
	vc_card *card = pt_factory_card(P->ours, serial);
	mic_tx_t *tx = host(vc_card_transmit, card);
	mic_perso_result_t *res = NULL;

	assert_int_equal(mic_perso_card(P->cfg, tx, P->app, n, &res), MIC_OK);
	mic_perso_result_free(&res);
	mic_tx_free(&tx);
	return card;
}

/* Open and verify; returns the rc, the failed check in @p *check. */
static mic_rc
verify(mic_tx_t *tx, mic_card_check *check, int *channel)
{
	mic_card_t *c = NULL;
	mic_rc rc;

	*check = (mic_card_check)-1;
	assert_int_equal(mic_card_open(&c, tx), MIC_OK);
	rc = mic_card_verify(c, P->trust, check);
	*channel = mic_scp_is_open(tx);
	mic_card_free(&c);
	return rc;
}

/* --- the keyless replay card ------------------------------------------ */

/*
 * What a reader gets out of a genuine card, served again by a card with
 * no key: the FCI, CERT.SD.ECKA, the files, and the answer the chip gave
 * to one INTERNAL AUTHENTICATE. Short APDUs, 61xx and GET RESPONSE for
 * longer answers, as a simple card does.
 */
struct keyless {
	vc_card *card;             /* recording: the genuine card */
	uint8_t fci[256];
	size_t fci_len;            /* data and SW */
	uint8_t bf21[MIC_CERT_MAX + 8];
	size_t bf21_len;
	uint8_t files[10][MIC_SOD_MAX];
	size_t flen[10];
	uint8_t ia[256];
	size_t ia_len;             /* data and SW */
	unsigned cur;              /* current EF */
	uint8_t pend[MIC_CERT_MAX + 8];
	size_t pend_len, pend_off;
	uint8_t override_ins;      /* answer this INS ... */
	uint16_t override_sw;      /* ... with this status word */
};

static mic_rc
rec_transmit(void *arg, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
    size_t *rsp_len)
{
	struct keyless *k = arg;
	mic_rc rc;

	if ((rc = vc_card_transmit(k->card, cmd, cmd_len, rsp, rsp_len)) !=
	    MIC_OK || cmd_len < 4)
		return rc;
	if (cmd[1] == 0xA4 && cmd[2] == 0x04 && k->fci_len == 0) {
		memcpy(k->fci, rsp, *rsp_len);
		k->fci_len = *rsp_len;
	}
	if (cmd[1] == 0x88) {
		memcpy(k->ia, rsp, *rsp_len);
		k->ia_len = *rsp_len;
	}
	return MIC_OK;
}

static void
sw_put(uint8_t *rsp, size_t *len, uint16_t sw)
{
	rsp[*len] = (uint8_t)(sw >> 8);
	rsp[*len + 1] = (uint8_t)sw;
	*len += 2;
}

/* @p n bytes of @p data, at most Ne now and the rest for GET RESPONSE. */
static void
answer(struct keyless *k, const uint8_t *data, size_t n, size_t ne,
    uint8_t *rsp, size_t *rsp_len)
{
	size_t now = ne == 0 || ne > 256 ? 256 : ne;

	if (now > n)
		now = n;
	memcpy(rsp, data, now);
	*rsp_len = now;
	if (now < n) {
		k->pend_len = n - now;
		memcpy(k->pend, data + now, k->pend_len);
		k->pend_off = 0;
		sw_put(rsp, rsp_len, (uint16_t)(0x6100 |
		    (k->pend_len > 255 ? 0 : k->pend_len)));
	} else {
		sw_put(rsp, rsp_len, 0x9000);
	}
}

static mic_rc
keyless_transmit(void *arg, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
    size_t *rsp_len)
{
	struct keyless *k = arg;
	size_t off, pend;
	mic_apdu a;

	*rsp_len = 0;
	if (mic_apdu_decode(cmd, cmd_len, &a) != MIC_OK) {
		sw_put(rsp, rsp_len, 0x6700);
		return MIC_OK;
	}
	pend = k->pend_len;
	k->pend_len = 0;
	if (a.ins == k->override_ins) {
		sw_put(rsp, rsp_len, k->override_sw);
	} else if (a.ins == 0xA4 && a.p1 == 0x04) {
		memcpy(rsp, k->fci, k->fci_len);
		*rsp_len = k->fci_len;
	} else if (a.ins == 0xCA) {
		answer(k, k->bf21, k->bf21_len, a.ne, rsp, rsp_len);
	} else if (a.ins == 0x88) {
		memcpy(rsp, k->ia, k->ia_len);
		*rsp_len = k->ia_len;
	} else if (a.ins == 0xC0 && pend > 0) {
		memmove(k->pend, k->pend + k->pend_off, pend);
		answer(k, k->pend, pend, a.ne, rsp, rsp_len);
	} else if (a.ins == 0xB0) {
		if (a.p1 & 0x80) {
			k->cur = a.p1 & 0x1Fu;
			off = a.p2;
		} else {
			off = (size_t)a.p1 << 8 | a.p2;
		}
		if (k->cur >= 10 || off >= k->flen[k->cur])
			sw_put(rsp, rsp_len, 0x6B00);
		else
			answer(k, k->files[k->cur] + off,
			    k->flen[k->cur] - off < (a.ne ? a.ne : 256) ?
			    k->flen[k->cur] - off : (a.ne ? a.ne : 256),
			    a.ne, rsp, rsp_len);
	} else {
		sw_put(rsp, rsp_len, 0x6D00);
	}
	return MIC_OK;
}

/* Dump @p card as an attacker's reader would, through a verify. */
static void
record(vc_card *card, struct keyless *k)
{
	static const size_t size[10] = { 0, MIC_EF_CARD_SIZE,
		MIC_EF_HOLDER_SIZE, MIC_EF_INSURANCE_SIZE, MIC_SOD_MAX,
		MIC_EF_CERT_SIZE };
	mic_apdu gd = { .cla = 0x80, .ins = 0xCA, .p1 = 0xBF, .p2 = 0x21,
		.ne = 256 };
	mic_card_check check;
	mic_tx_t *tx;
	int ch;

	memset(k, 0, sizeof(*k));
	k->card = card;
	tx = host(rec_transmit, k);
	assert_int_equal(verify(tx, &check, &ch), MIC_OK);
	assert_true(k->ia_len > 2 && k->fci_len > 2);
	mic_scp_close(tx);
	assert_int_equal(mic_tx_command(tx, &gd, k->bf21, sizeof(k->bf21),
	    &k->bf21_len), MIC_OK);
	/* What anyone may read in plain (card profile 4.3): not EF.HOLDER
	 * or EF.INSURANCE, which SCP11b-only verification does not read. */
	for (unsigned sfi = 1; sfi <= 5; sfi++) {
		if (sfi == 2 || sfi == 3)
			continue;
		k->flen[sfi] = size[sfi];
		assert_int_equal(mic_card_read_file(tx, (uint8_t)sfi,
		    k->files[sfi], size[sfi]), MIC_OK);
	}
	mic_tx_free(&tx);
	k->card = NULL;
}

/* --- tests ------------------------------------------------------------ */

static void
count_ins(void *arg, int dir, const uint8_t *buf, size_t len)
{
	unsigned *n = arg;

	if (dir == MIC_TRACE_CMD && len >= 2)
		n[buf[1]]++;
}

static void
test_genuine(void **state)
{
	vc_card *card = issued_card("VERIFY-OK-1", 101);
	mic_tx_t *tx = host(vc_card_transmit, card);
	mic_tx_stats before, after;
	mic_tx_caps caps;
	unsigned n[256] = { 0 };
	uint8_t sod[MIC_SOD_MAX];
	size_t len = 0;
	mic_card_check check;
	int ch;

	(void)state;
	/* Extended length: each file in one READ BINARY, EF.SOD in two. */
	mic_tx_get_caps(tx, &caps);
	caps.reader_extended = 1;
	caps.card_extended = 1;
	mic_tx_set_caps(tx, &caps);
	mic_tx_set_trace(tx, count_ins, n);
	mic_tx_get_stats(tx, &before);
	assert_int_equal(verify(tx, &check, &ch), MIC_OK);
	assert_int_equal(check, MIC_CHECK_NONE);
	mic_tx_get_stats(tx, &after);
	assert_int_equal(n[0xCA], 1);
	assert_int_equal(n[0x88], 1);
	/* EF.CARD, EF.CERT; EF.SOD in two. EF.HOLDER and EF.INSURANCE are
	 * no anonymous channel's to read (card profile 4.3). */
	assert_int_equal(n[0xB0], 2 + 2);
	/* Under 3 KB from the card: EF.SOD's padding (about 1 KB) is not
	 * among them. */
	assert_true(after.bytes_in - before.bytes_in < 3300);
	mic_tx_set_trace(tx, NULL, NULL);
	/* The channel of the chip that proved itself stays for the caller. */
	assert_true(ch);
	assert_true(vc_card_has_sm(card));
	/* EF.SOD to its DER length and no further: the padding after the
	 * object is never read. */
	mic_scp_close(tx);
	mic_tx_get_stats(tx, &before);
	assert_int_equal(mic_card_read_der(tx, 4, sod, sizeof(sod), &len),
	    MIC_OK);
	mic_tx_get_stats(tx, &after);
	assert_true(len > 900 && len < 1400);
	assert_int_equal(sod[0], 0x30);
	assert_int_equal(after.bytes_in - before.bytes_in,
	    len + 2 * (after.apdus - before.apdus));
	/* The first 256 bytes, then the rest in one extended command. */
	assert_int_equal(after.apdus - before.apdus, 2);
	mic_tx_free(&tx);
	vc_card_free(&card);
}

static void
test_invalid(void **state)
{
	vc_card *card = issued_card("VERIFY-ARGS", 102);
	mic_tx_t *tx = host(vc_card_transmit, card);
	mic_card_t *c = NULL;
	mic_card_check check = MIC_CHECK_SOD;

	(void)state;
	assert_int_equal(mic_card_verify(NULL, P->trust, &check),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(check, MIC_CHECK_NONE);
	assert_int_equal(mic_card_open(&c, tx), MIC_OK);
	assert_int_equal(mic_card_verify(c, NULL, NULL),
	    MIC_ERR_INVALID_ARGUMENT);
	mic_card_free(&c);
	assert_string_equal(mic_card_check_name(MIC_CHECK_CHIP_KEY), "the chip's key (SCP11)");
	assert_string_equal(mic_card_check_name(MIC_CHECK_SOD), "EF.SOD");
	assert_string_equal(mic_card_check_name((mic_card_check)99), "?");
	mic_tx_free(&tx);
	vc_card_free(&card);
}

/* The clone of issue 10: a keyless card that replays the genuine card's
 * FCI, files, CERT.SD.ECKA and even an earlier INTERNAL AUTHENTICATE. */
static void
test_keyless_replay(void **state)
{
	vc_card *card = issued_card("VERIFY-VICTIM", 103);
	struct keyless *r = calloc(1, sizeof(*r));
	mic_card_check check;
	mic_tx_t *tx;
	int ch;

	(void)state;
	assert_non_null(r);
	record(card, r);
	tx = host(keyless_transmit, r);
	assert_int_equal(verify(tx, &check, &ch), MIC_ERR_SM_AUTH);
	assert_int_equal(check, MIC_CHECK_CHIP_KEY);
	assert_false(ch);

	/* One that admits it has no key: still the chip's check. */
	r->override_ins = 0x88;
	r->override_sw = 0x6A88;
	assert_int_equal(verify(tx, &check, &ch), MIC_SW_REFDATA_NOT_FOUND);
	assert_int_equal(check, MIC_CHECK_CHIP_KEY);
	assert_false(ch);

	/* One without the chip's certificate at all. */
	r->override_ins = 0xCA;
	assert_int_equal(verify(tx, &check, &ch), MIC_SW_REFDATA_NOT_FOUND);
	assert_int_equal(check, MIC_CHECK_CHIP_CERT);
	mic_tx_free(&tx);
	free(r);
	vc_card_free(&card);
}

/* A genuine chip (ours, with its own key and certificate) that claims
 * another chip's serial in its FCI. */
struct liar {
	vc_card *chip;
	uint8_t serial[MIC_CHIP_SERIAL_LEN];
};

static mic_rc
liar_transmit(void *arg, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
    size_t *rsp_len)
{
	struct liar *l = arg;
	uint8_t own[MIC_CHIP_SERIAL_LEN];
	mic_rc rc;

	if ((rc = vc_card_transmit(l->chip, cmd, cmd_len, rsp, rsp_len)) !=
	    MIC_OK)
		return rc;
	vc_card_chip_serial(l->chip, own);
	/* The FCI of SELECT by AID: 81 08 <serial> under A5. */
	if (cmd_len > 4 && cmd[1] == 0xA4 && cmd[2] == 0x04) {
		for (size_t i = 0; i + 2 + sizeof(own) <= *rsp_len; i++) {
			if (rsp[i] == 0x81 && rsp[i + 1] == 0x08 &&
			    memcmp(rsp + i + 2, own, sizeof(own)) == 0)
				memcpy(rsp + i + 2, l->serial, sizeof(own));
		}
	}
	return MIC_OK;
}

static void
test_serial_lie(void **state)
{
	vc_card *victim = issued_card("VERIFY-VICTIM-2", 104);
	struct liar l;
	mic_card_check check;
	mic_tx_t *tx;
	int ch;

	(void)state;
	l.chip = issued_card("VERIFY-ATTACKER", 105);
	vc_card_chip_serial(victim, l.serial);
	tx = host(liar_transmit, &l);
	assert_int_equal(verify(tx, &check, &ch), MIC_ERR_CERT_SUBJECT);
	assert_int_equal(check, MIC_CHECK_CHIP_SERIAL);
	assert_false(ch);
	mic_tx_free(&tx);
	vc_card_free(&l.chip);
	vc_card_free(&victim);
}

/*
 * With a terminal's credentials (a trust store of 'mic pki
 * export-terminal'): SCP11a, and every file's hash. An SCP11b channel
 * alone does not open the holder's files.
 */
static void
test_terminal(void **state)
{
	vc_card *card = issued_card("VERIFY-TERM-1", 106);
	mic_tx_t *tx = host(vc_card_transmit, card);
	char *dir = tt_tmpdir(), *out = tt_path(dir, "pos");
	mic_terminal_t *term = NULL;
	mic_card_t *c = NULL;
	mic_card_check check;
	mic_tx_caps caps;
	unsigned n[256] = { 0 };

	(void)state;
	assert_int_equal(mic_pki_export_terminal(P->dir, "pharmacy-pos", out,
	    0), MIC_OK);
	assert_int_equal(mic_terminal_load(&term, out, NULL, NULL), MIC_OK);
	assert_int_equal(mic_terminal_role(term), MIC_ROLE_PHARMACY);
	assert_non_null(mic_terminal_trust(term));

	/* Anonymous: the chip and the public files, not the holder's. */
	assert_int_equal(mic_card_open(&c, tx), MIC_OK);
	assert_int_equal(mic_card_verify(c, P->trust, &check), MIC_OK);
	assert_true(mic_scp_is_open(tx));
	assert_int_equal(mic_card_read(c, MIC_READ_HOLDER),
	    MIC_SW_SECURITY_STATUS);
	mic_scp_close(tx);
	mic_card_free(&c);

	/* As the pharmacy's terminal: every file, in its channel; each in
	 * one READ BINARY with extended length, EF.SOD in two. */
	mic_tx_get_caps(tx, &caps);
	caps.reader_extended = 1;
	caps.card_extended = 1;
	mic_tx_set_caps(tx, &caps);
	mic_tx_set_trace(tx, count_ins, n);
	assert_int_equal(mic_card_open(&c, tx), MIC_OK);
	assert_int_equal(mic_card_verify_terminal(c, NULL, term, &check),
	    MIC_OK);
	assert_int_equal(check, MIC_CHECK_NONE);
	assert_int_equal(n[0x82], 1);
	assert_int_equal(n[0x88], 0);
	assert_int_equal(n[0xB0], 4 + 2);
	assert_true(mic_scp_is_open(tx));
	assert_int_equal(mic_card_read(c, MIC_READ_ALL), MIC_OK);
	assert_string_equal(mic_holder_name(mic_card_holder(c)), "李四");
	mic_scp_close(tx);
	mic_card_free(&c);

	/* mic_card_authenticate(): the channel only, for the caller. */
	assert_int_equal(mic_card_open(&c, tx), MIC_OK);
	assert_int_equal(mic_card_authenticate(c, NULL, term, &check),
	    MIC_OK);
	assert_int_equal(mic_card_read(c, MIC_READ_ALL), MIC_OK);
	mic_scp_close(tx);
	mic_card_free(&c);
	assert_int_equal(mic_card_open(&c, tx), MIC_OK);
	assert_int_equal(mic_card_authenticate(c, P->trust, NULL, &check),
	    MIC_OK);
	assert_int_equal(mic_card_read(c, MIC_READ_INSURANCE),
	    MIC_SW_SECURITY_STATUS);
	mic_scp_close(tx);
	assert_int_equal(mic_card_verify_terminal(c, P->trust, NULL, &check),
	    MIC_ERR_INVALID_ARGUMENT);
	mic_card_free(&c);

	mic_terminal_free(&term);
	assert_null(term);
	/* No trust store there, or a trust store without a terminal. */
	assert_int_not_equal(mic_terminal_load(&term, dir, NULL, NULL),
	    MIC_OK);
	assert_null(term);
	free(out);
	out = tt_path(P->dir, "trust");
	assert_int_equal(mic_terminal_load(&term, out, NULL, NULL),
	    MIC_ERR_NOT_FOUND);
	assert_null(term);
	mic_tx_free(&tx);
	vc_card_free(&card);
	tt_rmrf(dir);
	free(out);
	free(dir);
}

/* A chip of another PKI's factory: its certificate does not chain. */
static void
test_foreign_chip(void **state)
{
	vc_card *card = pt_factory_card(P->theirs, "VERIFY-FOREIGN");
	mic_tx_t *tx = host(vc_card_transmit, card);
	mic_card_check check;
	int ch;

	(void)state;
	assert_int_equal(verify(tx, &check, &ch), MIC_ERR_CERT_UNTRUSTED);
	assert_int_equal(check, MIC_CHECK_CHIP_CERT);
	mic_tx_free(&tx);
	vc_card_free(&card);
}

/* A blank chip of ours: the chip is genuine, but it holds no security
 * object yet (reading its files is refused). */
static void
test_blank(void **state)
{
	vc_card *card = pt_factory_card(P->ours, "VERIFY-BLANK");
	mic_tx_t *tx = host(vc_card_transmit, card);
	mic_card_check check;
	int ch;

	(void)state;
	assert_int_equal(verify(tx, &check, &ch), MIC_SW_CONDITIONS);
	assert_int_equal(check, MIC_CHECK_READ);
	assert_false(ch);
	mic_tx_free(&tx);
	vc_card_free(&card);
}

/* --- the factory certificate at personalization ----------------------- */

/* A blank chip whose CERT.SD.ECKA, signed by our card issuer over its
 * own key, has subject serialNumber @p sn. */
static vc_card *
chip_naming(const char *serial, const char *sn)
{
	static const uint8_t spki_p256[] = {
		0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE,
		0x3D, 0x02, 0x01, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D,
		0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
	};
	uint8_t pub[65], spki[sizeof(spki_p256) + 65];
	uint8_t ci[MIC_CERT_MAX], cert[MIC_CERT_MAX], root[MIC_CERT_MAX];
	size_t ci_len = 0, cert_len = 0, root_len = 0;
	mic_keyprov_t *kp = NULL;
	mic_cert_params prm;
	vc_card *card = NULL;
	char *path;

	assert_int_equal(vc_card_new(&card, serial, 0), MIC_OK);
	assert_int_equal(vc_card_factory_key(card, pub), MIC_OK);
	memcpy(spki, spki_p256, sizeof(spki_p256));
	memcpy(spki + sizeof(spki_p256), pub, sizeof(pub));
	assert_int_equal(mic_pki_load(P->dir, MIC_CERT_CARD_ISSUER, NULL,
	    NULL, NULL, NULL, &kp, ci, sizeof(ci), &ci_len), MIC_OK);
	memset(&prm, 0, sizeof(prm));
	prm.kind = MIC_CERT_CARD;
	prm.common_name = "MIC chip SD.ECKA";
	prm.serial_number = sn;
	assert_int_equal(mic_cert_issue(&prm, spki, sizeof(spki), ci, ci_len,
	    kp, cert, sizeof(cert), &cert_len), MIC_OK);
	mic_keyprov_free(&kp);
	path = tt_path(P->dir, "root/cert.pem");
	tt_cert_der(path, root, sizeof(root), &root_len);
	free(path);
	assert_int_equal(vc_card_factory_finish(card, cert, cert_len, root,
	    root_len, (int64_t)time(NULL)), MIC_OK);
	return card;
}

static void
hex_serial(vc_card *card, char out[17], int lower)
{
	uint8_t s[MIC_CHIP_SERIAL_LEN];

	vc_card_chip_serial(card, s);
	for (size_t i = 0; i < sizeof(s); i++)
		snprintf(out + 2 * i, 3, lower ? "%02x" : "%02X", s[i]);
}

/* Personalization: the blank chip's certificate shall name the FCI's
 * serial, spelled as the profile says; else nothing is written. */
static void
perso_refused(vc_card *card)
{
	mic_tx_t *tx = host(vc_card_transmit, card);
	mic_perso_result_t *res = NULL;

	assert_int_equal(mic_perso_card(P->cfg, tx, P->app, 200, &res),
	    MIC_ERR_CERT_SUBJECT);
	assert_null(res);
	assert_int_equal(vc_card_state(card), VC_STATE_BLANK);
	mic_tx_free(&tx);
}

static void
test_perso_factory_serial(void **state)
{
	vc_card *other = NULL, *card;
	mic_perso_result_t *res = NULL;
	char sn[17];
	mic_tx_t *tx;

	(void)state;
	/* Another chip's serial. */
	assert_int_equal(vc_card_new(&other, "PERSO-SN-OTHER", 0), MIC_OK);
	hex_serial(other, sn, 0);
	vc_card_free(&other);
	card = chip_naming("PERSO-SN-1", sn);
	perso_refused(card);
	vc_card_free(&card);

	/* Its own serial in lower case (the serial has a hex letter). */
	assert_int_equal(vc_card_new(&other, "PERSO-SN-SELF", 0), MIC_OK);
	hex_serial(other, sn, 1);
	vc_card_free(&other);
	assert_true(strcspn(sn, "abcdef") < 16);
	card = chip_naming("PERSO-SN-SELF", sn);
	perso_refused(card);
	vc_card_free(&card);

	/* The same chip with its serial as the profile spells it. */
	for (char *c = sn; *c != '\0'; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	card = chip_naming("PERSO-SN-SELF", sn);
	tx = host(vc_card_transmit, card);
	assert_int_equal(mic_perso_card(P->cfg, tx, P->app, 201, &res),
	    MIC_OK);
	mic_perso_result_free(&res);
	mic_tx_free(&tx);
	vc_card_free(&card);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_genuine),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_terminal),
		cmocka_unit_test(test_keyless_replay),
		cmocka_unit_test(test_serial_lie),
		cmocka_unit_test(test_foreign_chip),
		cmocka_unit_test(test_blank),
		cmocka_unit_test(test_perso_factory_serial),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
