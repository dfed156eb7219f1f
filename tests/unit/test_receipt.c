/*
 * Receipts and the settlement file with real receipts: a test PKI, cards
 * of its chip factory personalized by the bureau code (mic_perso_card()),
 * activated, credited, and debited as docs/card-profile.md 3.11 says
 * (VERIFY, then DEBIT), the receipt taken from the card's answer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <mic/batch.h>
#include <mic/keyprov.h>
#include <mic/perso.h>
#include <mic/pki.h>
#include <mic/receipt.h>
#include <mic/sod.h>
#include <mic/tx.h>

#include "vcard.h"
#include "chipfactory.h"
#include "settlement.h"
#include "test_vcard_util.h"
#include "perso_test.h"
#include "trust_test.h"

struct card {
	vc_card *vc;
	char id[MIC_RECEIPT_CARD_ID_LEN + 1];
	uint8_t cert[MIC_CERT_MAX];
	size_t cert_len;
};

struct fix {
	char *dir, *foreign, *tmp;
	vcf_factory *ours, *theirs;
	mic_perso_cfg_t *cfg, *foreign_cfg;
	mic_application_t *app;
	mic_trust_t *trust;
	struct card a, b, twin, alien;
};

static struct fix *F;

/* EF.CERT by SFI 5, to its DER length. */
static void
read_cert(struct card *c)
{
	struct rsp *r = rsp_new();
	size_t n;

	assert_int_equal(send_cmd(c->vc, 0x00, 0xB0, 0x85, 0x00, NULL, 0,
	    CERT_LEN, r), 0x9000);
	assert_int_equal(r->len, CERT_LEN);
	assert_int_equal(r->buf[0], 0x30);
	assert_int_equal(r->buf[1], 0x82);
	n = 4 + ((size_t)r->buf[2] << 8 | r->buf[3]);
	assert_true(n <= r->len);
	memcpy(c->cert, r->buf, n);
	c->cert_len = n;
	free(r);
}

/*
 * A card personalized as card @p n of @p cfg's bureau, its PIN changed
 * from the transport PIN, activated and credited START_BALANCE.
 */
static void
make_card(struct card *c, vcf_factory *f, mic_perso_cfg_t *cfg,
    const char *serial, uint64_t n)
{
	mic_perso_result_t *res = NULL;
	mic_tx_t *tx = NULL;
	char why[256] = "";
	uint8_t data[40];

	assert_int_equal(vc_card_new(&c->vc, serial, 0), MIC_OK);
	if (vcf_card(f, c->vc, NULL, why, sizeof(why)) != 0)
		fail_msg("factory card %s: %s", serial, why);
	assert_int_equal(mic_tx_new_inproc(&tx, vc_card_transmit, c->vc),
	    MIC_OK);
	assert_int_equal(mic_perso_card(cfg, tx, F->app, n, &res), MIC_OK);
	mic_tx_free(&tx);
	assert_int_equal(strlen(mic_perso_result_card_id(res)), 32);
	strcpy(c->id, mic_perso_result_card_id(res));
	vc_card_reset(c->vc);
	select_app(c->vc);
	assert_int_equal(change_pin(c->vc, mic_perso_result_transport_pin(res),
	    HOLDER_PIN), 0x9000);
	mic_perso_result_free(&res);
	{
		static const uint8_t act[] = {
			0x20, 0x26, 0x03, 0x01, 0x09, 0x30, 0x00,
			'B', 'A', 'N', 'K', '0', '0', '0', '1',
		};

		vc_card_test_set_role(c->vc, VC_ROLE_BANK);
		assert_int_equal(send_cmd(c->vc, 0x00, 0x44, 0x00, 0x00, act,
		    sizeof(act), 0, NULL), 0x9000);
	}
	vc_card_test_set_role(c->vc, VC_ROLE_AGENCY);
	tx_data(data, START_BALANCE, 0xC0000001u, 0x00);
	assert_int_equal(credit(c->vc, data, NULL), 0x9000);
	read_cert(c);
}

/* A DEBIT as a POS does it, and the receipt from the card's answer. */
static mic_receipt_t *
debit_receipt(struct card *c, int64_t amount, uint32_t ref)
{
	struct rsp *r = rsp_new();
	mic_receipt_t *rc = NULL;
	uint8_t data[40];

	vc_card_test_set_role(c->vc, VC_ROLE_HOSPITAL);
	assert_int_equal(verify_pin(c->vc, HOLDER_PIN), 0x9000);
	tx_data(data, amount, ref, 0x00);
	assert_int_equal(debit(c->vc, data, r), 0x9000);
	assert_int_equal(mic_receipt_from_card(&rc, c->id, MIC_RECEIPT_DEBIT,
	    data, r->buf, r->len), MIC_OK);
	free(r);
	return rc;
}

static int
group_setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	char *trust;

	(void)state;
	assert_non_null(f);
	F = f;
	f->dir = tt_pki(MIC_SUITE_P256);
	f->foreign = tt_pki(MIC_SUITE_P256);
	f->tmp = tt_tmpdir();
	assert_int_equal(vcf_new(&f->ours, f->dir, NULL, 0), 0);
	assert_int_equal(vcf_new(&f->theirs, f->foreign, NULL, 0), 0);
	assert_int_equal(mic_perso_cfg_load(&f->cfg, f->dir, "bureau"),
	    MIC_OK);
	assert_int_equal(mic_perso_cfg_set_bureau_code(f->cfg, "001"), MIC_OK);
	assert_int_equal(mic_perso_cfg_load(&f->foreign_cfg, f->foreign,
	    "bureau"), MIC_OK);
	assert_int_equal(mic_perso_cfg_set_bureau_code(f->foreign_cfg, "001"),
	    MIC_OK);
	f->app = pt_app();
	trust = tt_path(f->dir, "trust");
	assert_int_equal(mic_trust_load(&f->trust, trust), MIC_OK);
	free(trust);
	make_card(&f->a, f->ours, f->cfg, "0011223344550001", 1);
	make_card(&f->b, f->ours, f->cfg, "0011223344550002", 2);
	/* Another chip given card 1's identity: same code, its own key. */
	make_card(&f->twin, f->ours, f->cfg, "0011223344550003", 1);
	/* Card 1 of another PKI. */
	make_card(&f->alien, f->theirs, f->foreign_cfg, "0011223344550004", 1);
	assert_string_equal(f->a.id, f->twin.id);
	assert_string_equal(f->a.id, f->alien.id);
	assert_string_not_equal(f->a.id, f->b.id);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	vc_card_free(&F->a.vc);
	vc_card_free(&F->b.vc);
	vc_card_free(&F->twin.vc);
	vc_card_free(&F->alien.vc);
	mic_trust_free(&F->trust);
	mic_perso_cfg_free(&F->cfg);
	mic_perso_cfg_free(&F->foreign_cfg);
	mic_application_free(&F->app);
	vcf_free(&F->ours);
	vcf_free(&F->theirs);
	tt_rmrf(F->dir);
	tt_rmrf(F->foreign);
	tt_rmrf(F->tmp);
	free(F->dir);
	free(F->foreign);
	free(F->tmp);
	free(F);
	return 0;
}

/* The fields are the card's: as sent, and as EF.ACCOUNT says after. */
static void
test_real_receipt(void **state)
{
	mic_receipt_t *r, *d = NULL;
	const uint8_t *enc, *enc2;
	size_t len, len2, sig_len;
	int64_t balance;
	uint32_t counter;

	(void)state;
	r = debit_receipt(&F->a, 500, 0x100);
	read_account(F->a.vc, &balance, &counter);
	assert_int_equal(mic_receipt_get_type(r), MIC_RECEIPT_DEBIT);
	assert_string_equal(mic_receipt_card_id(r), F->a.id);
	assert_int_equal(mic_receipt_counter(r), counter);
	assert_int_equal(mic_receipt_amount(r), 500);
	assert_int_equal(mic_receipt_balance(r), balance);
	assert_int_equal(mic_receipt_balance(r), START_BALANCE - 500);
	assert_string_equal(mic_receipt_time(r), "20261123140559");
	assert_string_equal(mic_receipt_terminal(r), "POS00042");
	assert_int_equal(mic_receipt_payer(r), 0);
	assert_memory_equal(mic_receipt_reference(r),
	    BYTES(0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9,
	    0xAA, 0xAB, 0x00, 0x00, 0x01, 0x00), 16);
	mic_receipt_signature(r, &sig_len);
	assert_true(sig_len >= 8 && sig_len <= 72);
	assert_int_equal(mic_receipt_verify(r, F->trust, F->a.cert,
	    F->a.cert_len), MIC_OK);
	/* EF.CERT as read, padding and all, verifies too. */
	{
		uint8_t padded[CERT_LEN] = { 0 };

		memcpy(padded, F->a.cert, F->a.cert_len);
		assert_int_equal(mic_receipt_verify(r, F->trust, padded,
		    sizeof(padded)), MIC_OK);
	}
	/* The encoding decodes to the same receipt. */
	enc = mic_receipt_encoding(r, &len);
	assert_int_equal(len, MIC_RECEIPT_MSG_LEN + sig_len);
	assert_int_equal(mic_receipt_decode(&d, enc, len), MIC_OK);
	enc2 = mic_receipt_encoding(d, &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(enc, enc2, len);
	assert_int_equal(mic_receipt_verify(d, F->trust, F->a.cert,
	    F->a.cert_len), MIC_OK);
	mic_receipt_free(&d);
	assert_null(d);
	mic_receipt_free(&r);
	assert_null(r);
}

/* Each bit of the message and the signature flipped: never accepted. */
static void
test_forged(void **state)
{
	mic_receipt_t *r, *f = NULL;
	uint8_t buf[MIC_RECEIPT_MAX + 1];
	const uint8_t *enc;
	size_t len, sig_failures = 0;
	mic_rc rc;

	(void)state;
	r = debit_receipt(&F->a, 700, 0x101);
	enc = mic_receipt_encoding(r, &len);
	memcpy(buf, enc, len);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			buf[i] ^= (uint8_t)(1u << bit);
			rc = mic_receipt_decode(&f, buf, len);
			if (rc == MIC_OK) {
				rc = mic_receipt_verify(f, F->trust, F->a.cert,
				    F->a.cert_len);
				mic_receipt_free(&f);
				if (rc == MIC_ERR_RECEIPT_SIGNATURE)
					sig_failures++;
				else if (i >= 4 && i < 36)
					/* The card id: the certificate names
					 * another card. */
					assert_int_equal(rc,
					    MIC_ERR_CERT_SUBJECT);
				else
					fail_msg("byte %zu bit %d: %s", i,
					    bit, mic_strerror(rc));
			} else {
				assert_int_equal(rc, MIC_ERR_RECEIPT_FORMAT);
			}
			buf[i] ^= (uint8_t)(1u << bit);
		}
	}
	/* Most flips leave a well-formed receipt the signature refuses. */
	if (sig_failures <= 8 * 50)
		fail_msg("only %zu signature failures", sig_failures);
	/* The amount a forger wants: 700 fen read as 7. */
	buf[41 + 7] = 7;
	buf[41 + 6] = 0;
	assert_int_equal(mic_receipt_decode(&f, buf, len), MIC_OK);
	assert_int_equal(mic_receipt_amount(f), 7);
	assert_int_equal(mic_receipt_verify(f, F->trust, F->a.cert,
	    F->a.cert_len), MIC_ERR_RECEIPT_SIGNATURE);
	mic_receipt_free(&f);
	/* A truncated or extended receipt is not one. */
	enc = mic_receipt_encoding(r, &len);
	memcpy(buf, enc, len);
	assert_int_equal(mic_receipt_decode(&f, buf, len - 1),
	    MIC_ERR_RECEIPT_FORMAT);
	buf[len] = 0;
	assert_int_equal(mic_receipt_decode(&f, buf, len + 1),
	    MIC_ERR_RECEIPT_FORMAT);
	assert_null(f);
	mic_receipt_free(&r);
}

/* Another card's certificate, a clone's, and another PKI's. */
static void
test_wrong_cert(void **state)
{
	mic_receipt_t *r;
	uint8_t bad[MIC_CERT_MAX];

	(void)state;
	r = debit_receipt(&F->a, 300, 0x102);
	assert_int_equal(mic_receipt_verify(r, F->trust, F->b.cert,
	    F->b.cert_len), MIC_ERR_CERT_SUBJECT);
	/* A genuine certificate of the same card code, another chip's key. */
	assert_int_equal(mic_receipt_verify(r, F->trust, F->twin.cert,
	    F->twin.cert_len), MIC_ERR_RECEIPT_SIGNATURE);
	assert_int_equal(mic_receipt_verify(r, F->trust, F->alien.cert,
	    F->alien.cert_len), MIC_ERR_CERT_UNTRUSTED);
	memcpy(bad, F->a.cert, F->a.cert_len);
	bad[F->a.cert_len / 2] ^= 0x01;
	assert_int_not_equal(mic_receipt_verify(r, F->trust, bad,
	    F->a.cert_len), MIC_OK);
	assert_int_equal(mic_receipt_verify(r, F->trust, bad, 3),
	    MIC_ERR_CERT_FORMAT);
	mic_receipt_free(&r);
}

/* A card certificate of the SM2 suite: refused as unsupported, not as a
 * forgery (the reference card, and so the receipts, are P-256). */
static void
test_sm2_cert(void **state)
{
	char *dir = tt_pki(MIC_SUITE_SM2), *path, uri[4200];
	uint8_t ci_cert[MIC_CERT_MAX], gen[160], cert[MIC_CERT_MAX];
	size_t ci_len, gen_len, cert_len;
	mic_keyprov_t *ci = NULL;
	mic_trust_t *trust = NULL;
	mic_receipt_t *r;
	EVP_PKEY *key;

	(void)state;
	path = tt_path(dir, "trust");
	assert_int_equal(mic_trust_load(&trust, path), MIC_OK);
	free(path);
	path = tt_path(dir, "card-issuer/cert.pem");
	tt_cert_der(path, ci_cert, sizeof(ci_cert), &ci_len);
	free(path);
	path = tt_path(dir, "card-issuer/key.pem");
	snprintf(uri, sizeof(uri), "file:%s", path);
	free(path);
	assert_int_equal(mic_keyprov_open(&ci, uri), MIC_OK);
	key = tt_genkey(MIC_SUITE_SM2);
	gen_len = tt_gen_rsp(key, gen, sizeof(gen));
	assert_int_equal(mic_cardcert_issue(ci, ci_cert, ci_len, gen, gen_len,
	    F->a.id, 0, 0, cert, sizeof(cert), &cert_len), MIC_OK);
	assert_int_equal(mic_cardcert_verify(trust, cert, cert_len, F->a.id),
	    MIC_OK);
	r = debit_receipt(&F->a, 42, 0x600);
	assert_int_equal(mic_receipt_verify(r, trust, cert, cert_len),
	    MIC_ERR_UNSUPPORTED);
	mic_receipt_free(&r);
	EVP_PKEY_free(key);
	mic_keyprov_free(&ci);
	mic_trust_free(&trust);
	tt_rmrf(dir);
	free(dir);
}

/* What the card answers is checked before anything is built from it. */
static void
test_from_card_form(void **state)
{
	uint8_t data[40], rsp[12 + 72];
	mic_receipt_t *r = NULL;

	(void)state;
	memset(rsp, 0, sizeof(rsp));
	rsp[3] = 1;
	rsp[12] = 0x30;
	rsp[13] = 6;
	tx_data(data, 100, 1, 0);
	assert_int_equal(mic_receipt_from_card(&r, F->a.id, MIC_RECEIPT_DEBIT,
	    data, rsp, 20), MIC_OK);
	mic_receipt_free(&r);
	assert_int_equal(mic_receipt_from_card(&r, F->a.id, 3, data, rsp, 20),
	    MIC_ERR_RECEIPT_FORMAT);
	assert_int_equal(mic_receipt_from_card(&r, "short", MIC_RECEIPT_DEBIT,
	    data, rsp, 20), MIC_ERR_RECEIPT_FORMAT);
	/* The signature is cut short. */
	assert_int_equal(mic_receipt_from_card(&r, F->a.id, MIC_RECEIPT_DEBIT,
	    data, rsp, 19), MIC_ERR_RECEIPT_FORMAT);
	/* Amount 0. */
	tx_data(data, 0, 1, 0);
	assert_int_equal(mic_receipt_from_card(&r, F->a.id, MIC_RECEIPT_DEBIT,
	    data, rsp, 20), MIC_ERR_RECEIPT_FORMAT);
	/* 2026-02-30 is no date. */
	tx_data(data, 100, 1, 0);
	data[10] = 0x02;
	data[11] = 0x30;
	assert_int_equal(mic_receipt_from_card(&r, F->a.id, MIC_RECEIPT_DEBIT,
	    data, rsp, 20), MIC_ERR_RECEIPT_FORMAT);
	assert_null(r);
}

static char *
tmpfile_path(const char *name)
{
	char *p = tt_path(F->tmp, name);

	unlink(p);
	return p;
}

/* Append, read back; the file's rules. */
static void
test_settle_file(void **state)
{
	mic_receipt_t *r[3], *got = NULL;
	uint8_t cert[MIC_CERT_MAX];
	size_t cert_len, line, len, glen;
	char *path = tmpfile_path("day.jsonl"), *link, why[256];
	mic_settle_t *s = NULL;
	struct stat st;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		uint8_t padded[CERT_LEN] = { 0 };

		r[i] = debit_receipt(&F->a, 100 + i, 0x200 + (uint32_t)i);
		memcpy(padded, F->a.cert, F->a.cert_len);
		assert_int_equal(mic_settle_append(path, r[i], padded,
		    sizeof(padded), why, sizeof(why)), MIC_OK);
	}
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(mic_settle_open(&s, path), MIC_OK);
	for (i = 0; i < 3; i++) {
		assert_int_equal(mic_settle_next(s, &got, cert, sizeof(cert),
		    &cert_len, &line, why, sizeof(why)), MIC_OK);
		assert_int_equal(line, i + 1);
		mic_receipt_encoding(r[i], &len);
		assert_memory_equal(mic_receipt_encoding(got, &glen),
		    mic_receipt_encoding(r[i], &len), len);
		assert_int_equal(len, glen);
		assert_int_equal(cert_len, F->a.cert_len);
		assert_memory_equal(cert, F->a.cert, cert_len);
		assert_int_equal(mic_receipt_verify(got, F->trust, cert,
		    cert_len), MIC_OK);
		mic_receipt_free(&got);
	}
	assert_int_equal(mic_settle_next(s, &got, cert, sizeof(cert),
	    &cert_len, &line, why, sizeof(why)), MIC_ERR_NOT_FOUND);
	mic_settle_free(&s);
	assert_null(s);

	/* A line torn mid-append stays alone; the next one is whole. */
	{
		FILE *fp = fopen(path, "a");

		assert_non_null(fp);
		fputs("{\"v\":1,\"card\":\"", fp);
		fclose(fp);
	}
	assert_int_equal(mic_settle_append(path, r[0], F->a.cert,
	    F->a.cert_len, why, sizeof(why)), MIC_OK);
	assert_int_equal(mic_settle_open(&s, path), MIC_OK);
	for (i = 0; i < 3; i++) {
		assert_int_equal(mic_settle_next(s, &got, cert, sizeof(cert),
		    &cert_len, &line, why, sizeof(why)), MIC_OK);
		mic_receipt_free(&got);
	}
	assert_int_equal(mic_settle_next(s, &got, cert, sizeof(cert),
	    &cert_len, &line, why, sizeof(why)), MIC_ERR_SETTLE_LINE);
	assert_int_equal(line, 4);
	assert_int_equal(mic_settle_next(s, &got, cert, sizeof(cert),
	    &cert_len, &line, why, sizeof(why)), MIC_OK);
	assert_int_equal(line, 5);
	mic_receipt_free(&got);
	mic_settle_free(&s);

	/* A wider mode, a symlink: refused, the file unchanged. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(mic_settle_append(path, r[1], F->a.cert,
	    F->a.cert_len, why, sizeof(why)), MIC_ERR_KEY_PERMISSIONS);
	assert_non_null(strstr(why, "0644"));
	assert_int_equal(chmod(path, 0600), 0);
	link = tmpfile_path("link.jsonl");
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(mic_settle_append(link, r[1], F->a.cert,
	    F->a.cert_len, why, sizeof(why)), MIC_ERR_KEY_PERMISSIONS);
	assert_int_equal(stat(path, &st), 0);
	{
		size_t n;
		uint8_t *all = tt_read(path, &n);

		assert_int_equal((off_t)n, st.st_size);
		/* 3 lines, the torn one, and the 4th receipt. */
		len = 0;
		for (size_t k = 0; k < n; k++)
			len += all[k] == '\n';
		assert_int_equal(len, 5);
		free(all);
	}
	/* Not a certificate. */
	assert_int_equal(mic_settle_append(path, r[1], BYTES(1, 2, 3, 4), 4,
	    why, sizeof(why)), MIC_ERR_CERT_FORMAT);
	for (i = 0; i < 3; i++)
		mic_receipt_free(&r[i]);
	free(link);
	free(path);
}

/* One line from a good line with @p from replaced by @p to. */
static char *
edit(const char *line, const char *from, const char *to)
{
	const char *at = strstr(line, from);
	char *out;

	assert_non_null(at);
	out = malloc(strlen(line) + strlen(to) + 1);
	assert_non_null(out);
	memcpy(out, line, (size_t)(at - line));
	strcpy(out + (at - line), to);
	strcat(out, at + strlen(from));
	return out;
}

static void
test_malformed_lines(void **state)
{
	char *path = tmpfile_path("one.jsonl"), *good, why[256];
	mic_receipt_t *r, *got = NULL;
	uint8_t cert[MIC_CERT_MAX];
	size_t n, cert_len;
	struct {
		const char *from, *to;
		mic_rc want;
		const char *says;
	} cases[] = {
		{ "{\"v\":1", "{\"v\":2", MIC_ERR_SETTLE_LINE, "\"v\"" },
		{ "{\"v\":1", "{\"x\":0,\"v\":1", MIC_ERR_SETTLE_LINE,
		  "unknown field" },
		{ "{\"v\":1", "{\"v\":1,\"v\":1", MIC_ERR_SETTLE_LINE,
		  "not JSON" },
		{ "\"terminal\":\"POS00042\"", "\"terminal\":\"POS00043\"",
		  MIC_ERR_SETTLE_LINE, "differs" },
		{ "\"card\":\"", "\"card\":\"X", MIC_ERR_SETTLE_LINE,
		  "differs" },
		{ "\"receipt\":\"4d494352", "\"receipt\":\"4D494352",
		  MIC_ERR_SETTLE_LINE, "lower-case hex" },
		{ "\"receipt\":\"4d494352", "\"receipt\":\"4d494353",
		  MIC_ERR_RECEIPT_FORMAT, "malformed" },
		{ "\"cert\":\"30", "\"cert\":\"31", MIC_ERR_SETTLE_LINE,
		  "DER" },
		{ "\"cert\":\"", "\"cert\":1,\"c\":\"", MIC_ERR_SETTLE_LINE,
		  "" },
		{ "}", "", MIC_ERR_SETTLE_LINE, "not JSON" },
	};

	(void)state;
	r = debit_receipt(&F->a, 900, 0x300);
	assert_int_equal(mic_settle_append(path, r, F->a.cert, F->a.cert_len,
	    why, sizeof(why)), MIC_OK);
	good = (char *)tt_read(path, &n);
	good = realloc(good, n + 1);
	good[n - 1] = '\0';
	n--;
	assert_int_equal(mic_settle_parse_line(good, n, &got, cert,
	    sizeof(cert), &cert_len, why, sizeof(why)), MIC_OK);
	mic_receipt_free(&got);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *bad = edit(good, cases[i].from, cases[i].to);

		assert_int_equal(mic_settle_parse_line(bad, strlen(bad), &got,
		    cert, sizeof(cert), &cert_len, why, sizeof(why)),
		    cases[i].want);
		assert_null(got);
		if (strstr(why, cases[i].says) == NULL)
			fail_msg("case %zu: \"%s\"", i, why);
		free(bad);
	}
	/* Too long, and a NUL inside. */
	{
		size_t big = MIC_SETTLE_LINE_MAX + 1;
		char *b = malloc(big);

		assert_non_null(b);
		memset(b, ' ', big);
		assert_int_equal(mic_settle_parse_line(b, big, &got, cert,
		    sizeof(cert), &cert_len, why, sizeof(why)),
		    MIC_ERR_SETTLE_LINE);
		free(b);
		good[10] = '\0';
		assert_int_equal(mic_settle_parse_line(good, n, &got, cert,
		    sizeof(cert), &cert_len, why, sizeof(why)),
		    MIC_ERR_SETTLE_LINE);
	}
	free(good);
	free(path);
	mic_receipt_free(&r);
}

/* The chip of @p src copied whole, keys included: a perfect clone. */
static void
clone_card(struct card *dst, const struct card *src)
{
	*dst = *src;
	dst->vc = card_clone(src->vc);
	select_app(dst->vc);
}

static void
append(const char *path, const mic_receipt_t *r, const struct card *c)
{
	char why[256];

	assert_int_equal(mic_settle_append(path, r, c->cert, c->cert_len,
	    why, sizeof(why)), MIC_OK);
}

static void
append_raw(const char *path, const char *text)
{
	FILE *fp = fopen(path, "a");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void
check(st_check *c, const char *const *files, size_t n)
{
	st_init(c, F->trust);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(st_add_file(c, files[i]), MIC_OK);
	assert_int_equal(st_finish(c), MIC_OK);
}

/* Two chips with one identity: one counter, two receipts, two files. */
static void
test_settle_clone(void **state)
{
	char *p1 = tmpfile_path("t1.jsonl"), *p2 = tmpfile_path("t2.jsonl");
	const char *files[] = { p1, p2 };
	struct card copy;
	mic_receipt_t *r1, *r2, *r3;
	st_check c;

	(void)state;
	clone_card(&copy, &F->a);
	r1 = debit_receipt(&F->a, 1000, 0x400);
	r2 = debit_receipt(&copy, 2500, 0x401);
	r3 = debit_receipt(&F->a, 300, 0x402);
	assert_int_equal(mic_receipt_counter(r1), mic_receipt_counter(r2));
	/* Each receipt on its own is genuine. */
	assert_int_equal(mic_receipt_verify(r2, F->trust, copy.cert,
	    copy.cert_len), MIC_OK);
	append(p1, r1, &F->a);
	append(p1, r3, &F->a);
	append(p2, r2, &copy);
	check(&c, files, 2);
	assert_int_equal(c.failures, 0);
	assert_int_equal(c.clones, 1);
	assert_int_equal(c.gaps, 0);
	assert_int_equal(c.duplicates, 0);
	assert_false(st_ok(&c));
	assert_int_equal(c.nf, 1);
	assert_int_equal(c.f[0].kind, ST_CLONE);
	assert_int_equal(c.e[c.f[0].a].line, 1);
	assert_string_equal(c.e[c.f[0].b].file, p2);
	st_clear(&c);
	/* The original's receipt uploaded again after the clone's: one
	 * clone alarm still, and a duplicate of the first copy. */
	append(p2, r1, &F->a);
	check(&c, files, 2);
	assert_int_equal(c.clones, 1);
	assert_int_equal(c.duplicates, 1);
	for (size_t i = 0; i < c.nf; i++)
		if (c.f[i].kind == ST_DUPLICATE) {
			assert_string_equal(c.e[c.f[i].a].file, p1);
			assert_int_equal(c.e[c.f[i].a].line, 1);
			assert_string_equal(c.e[c.f[i].b].file, p2);
			assert_int_equal(c.e[c.f[i].b].line, 2);
		}
	assert_int_equal(c.term[0].debits, 3);
	assert_int_equal(c.term[0].debit_fen, 1000 + 2500 + 300);
	st_clear(&c);
	/* Without the clone's file, the day is clean. */
	check(&c, files, 1);
	assert_true(st_ok(&c));
	assert_int_equal(c.nterm, 1);
	assert_string_equal(c.term[0].key, "POS00042");
	assert_int_equal(c.term[0].debits, 2);
	assert_int_equal(c.term[0].debit_fen, 1300);
	assert_int_equal(c.nday, 1);
	assert_string_equal(c.day[0].key, "20261123");
	st_clear(&c);
	vc_card_free(&copy.vc);
	mic_receipt_free(&r1);
	mic_receipt_free(&r2);
	mic_receipt_free(&r3);
	free(p1);
	free(p2);
}

/* A missing receipt, a duplicate upload, a forged and malformed lines. */
static void
test_settle_gap_dup_bad(void **state)
{
	char *p = tmpfile_path("gap.jsonl");
	const char *files[] = { p };
	mic_receipt_t *r[4];
	st_check c;
	char *line;
	size_t n;

	(void)state;
	for (int i = 0; i < 4; i++)
		r[i] = debit_receipt(&F->b, 10 + i, 0x500 + (uint32_t)i);
	append(p, r[0], &F->b);
	append(p, r[1], &F->b);
	append(p, r[1], &F->b);         /* line 3: a duplicate */
	append(p, r[3], &F->b);         /* r[2] is missing: a gap */
	check(&c, files, 1);
	assert_int_equal(c.failures, 0);
	assert_int_equal(c.clones, 0);
	assert_int_equal(c.duplicates, 1);
	assert_int_equal(c.gaps, 1);
	assert_false(st_ok(&c));
	for (size_t i = 0; i < c.nf; i++) {
		if (c.f[i].kind == ST_DUPLICATE) {
			assert_int_equal(c.e[c.f[i].a].line, 2);
			assert_int_equal(c.e[c.f[i].b].line, 3);
		} else {
			assert_int_equal(c.f[i].kind, ST_GAP);
			assert_int_equal(mic_receipt_counter(c.e[c.f[i].b].r),
			    mic_receipt_counter(c.e[c.f[i].a].r) + 2);
		}
	}
	/* The duplicate is counted once. */
	assert_int_equal(c.term[0].debits, 3);
	assert_int_equal(c.term[0].debit_fen, 10 + 11 + 13);
	st_clear(&c);

	/* The missing receipt supplied: a duplicate alone is no failure. */
	append(p, r[2], &F->b);         /* line 5 */
	check(&c, files, 1);
	assert_int_equal(c.gaps, 0);
	assert_int_equal(c.duplicates, 1);
	assert_true(st_ok(&c));
	st_clear(&c);

	/* A forged copy of r[3] (another amount), malformed lines. */
	line = (char *)tt_read(p, &n);
	line[n - 1] = '\0';
	{
		char *last = strrchr(line, '\n') + 1;
		char *forged = edit(last, "\"receipt\":\"4d494352",
		    "\"receipt\":\"4d494352");
		char *amt = strstr(forged, "\"receipt\":\"") + 11 + 2 * 48;

		/* The amount's last byte (message offset 48). */
		*amt = *amt == '0' ? '1' : '0';
		append_raw(p, forged);   /* line 6 */
		append_raw(p, "\n");
		free(forged);
	}
	free(line);
	append_raw(p, "not json\n");                       /* line 7 */
	append_raw(p, "{\"v\":1}\n");                      /* line 8 */
	append_raw(p, "\n");                               /* line 9 */
	check(&c, files, 1);
	assert_int_equal(c.n, 9);
	assert_int_equal(c.failures, 4);
	assert_int_equal(c.e[5].rc, MIC_ERR_RECEIPT_SIGNATURE);
	assert_int_equal(c.e[6].rc, MIC_ERR_SETTLE_LINE);
	assert_int_equal(c.e[6].line, 7);
	assert_int_equal(c.e[7].rc, MIC_ERR_SETTLE_LINE);
	assert_non_null(strstr(c.e[7].why, "\"card\""));
	assert_int_equal(c.e[8].line, 9);
	/* The forged receipt raises no clone alarm: it is not the card's. */
	assert_int_equal(c.clones, 0);
	assert_false(st_ok(&c));
	st_clear(&c);
	/* A file that is not there is a failure of its own, named. */
	{
		char *none = tmpfile_path("none.jsonl");

		st_init(&c, F->trust);
		assert_int_equal(st_add_file(&c, none), MIC_ERR_NOT_FOUND);
		assert_int_equal(st_finish(&c), MIC_OK);
		assert_int_equal(c.n, 1);
		assert_int_equal(c.e[0].line, 0);
		assert_string_equal(c.e[0].file, none);
		assert_int_equal(c.failures, 1);
		assert_false(st_ok(&c));
		st_clear(&c);
		free(none);
	}
	for (int i = 0; i < 4; i++)
		mic_receipt_free(&r[i]);
	free(p);
}

/* Two genuine debits whose sum passes INT64_MAX fen: refused, never a
 * wrapped total. */
static void
test_settle_total_overflow(void **state)
{
	char *p = tmpfile_path("big.jsonl");
	const int64_t big = 6000000000000000000;
	mic_receipt_t *r1, *r2;
	struct card copy;
	uint8_t data[40];
	int64_t balance;
	uint32_t counter;
	st_check c;

	(void)state;
	clone_card(&copy, &F->b);
	vc_card_test_set_role(copy.vc, VC_ROLE_AGENCY);
	read_account(copy.vc, &balance, &counter);
	tx_data(data, INT64_MAX - balance, 0x700, 0x00);
	assert_int_equal(credit(copy.vc, data, NULL), 0x9000);
	r1 = debit_receipt(&copy, big, 0x701);
	vc_card_test_set_role(copy.vc, VC_ROLE_AGENCY);
	tx_data(data, big, 0x702, 0x00);
	assert_int_equal(credit(copy.vc, data, NULL), 0x9000);
	r2 = debit_receipt(&copy, big, 0x703);
	append(p, r1, &copy);
	append(p, r2, &copy);
	st_init(&c, F->trust);
	assert_int_equal(st_add_file(&c, p), MIC_OK);
	assert_int_equal(c.failures, 0);
	assert_int_equal(st_finish(&c), MIC_ERR_VALUE);
	st_clear(&c);
	vc_card_free(&copy.vc);
	mic_receipt_free(&r1);
	mic_receipt_free(&r2);
	free(p);
}

/* A CREDIT's receipt carries type 02, signed: read as a DEBIT it fails. */
static void
test_credit_receipt(void **state)
{
	struct rsp *rsp = rsp_new();
	mic_receipt_t *r = NULL;
	struct card copy;
	uint8_t data[40];

	(void)state;
	clone_card(&copy, &F->b);
	vc_card_test_set_role(copy.vc, VC_ROLE_AGENCY);
	tx_data(data, 777, 0x800, 0x00);
	assert_int_equal(credit(copy.vc, data, rsp), 0x9000);
	assert_int_equal(mic_receipt_from_card(&r, copy.id, MIC_RECEIPT_CREDIT,
	    data, rsp->buf, rsp->len), MIC_OK);
	assert_int_equal(mic_receipt_get_type(r), MIC_RECEIPT_CREDIT);
	assert_int_equal(mic_receipt_amount(r), 777);
	assert_int_equal(mic_receipt_verify(r, F->trust, copy.cert,
	    copy.cert_len), MIC_OK);
	mic_receipt_free(&r);
	assert_int_equal(mic_receipt_from_card(&r, copy.id, MIC_RECEIPT_DEBIT,
	    data, rsp->buf, rsp->len), MIC_OK);
	assert_int_equal(mic_receipt_verify(r, F->trust, copy.cert,
	    copy.cert_len), MIC_ERR_RECEIPT_SIGNATURE);
	mic_receipt_free(&r);
	vc_card_free(&copy.vc);
	free(rsp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_receipt),
		cmocka_unit_test(test_forged),
		cmocka_unit_test(test_wrong_cert),
		cmocka_unit_test(test_sm2_cert),
		cmocka_unit_test(test_from_card_form),
		cmocka_unit_test(test_settle_file),
		cmocka_unit_test(test_malformed_lines),
		cmocka_unit_test(test_settle_clone),
		cmocka_unit_test(test_settle_gap_dup_bad),
		cmocka_unit_test(test_settle_total_overflow),
		cmocka_unit_test(test_credit_receipt),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
