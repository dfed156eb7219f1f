/*
 * The issuance line's host CPU per card, and the APDUs and bytes of one
 * card against the fewest the card profile allows.
 *
 * CPU figures:
 *   - data preparation, the project's requirement: the card's files, its
 *     transport PIN, the card certificate over the key it generated and
 *     EF.SOD, by the two functions mic_perso_card() calls between its card
 *     traffic (mici_perso_prep_files(), mici_perso_prep_signed()), card
 *     after card, as the raw sign rate it is held against is timed; the
 *     bound is the raw ECDSA sign rate / 2, two signatures a card;
 *   - the same preparation inside mic_perso_card(), read by libmic's
 *     internal clock hook (prepclock.h), against the warm bound and
 *     against the two signatures timed in place on every other card;
 *   - the whole card, for reference: all of mic_perso_card()'s host side
 *     (SCP11a, the preparation, STORE DATA, read-back verification,
 *     SCP11b) against all the public-key operations such a card needs.
 * And, to say where the preparation's time goes, its two signed steps
 * (the card certificate, EF.SOD) timed alone through the same internal
 * calls, and its first step (the files and the PIN) inside the flow.
 *
 * Cards are blank in-process cards (vcard) provisioned as the chip factory
 * does it, personalized with mic_perso_card() over mic_tx_new_inproc. The
 * card engine runs in this thread, inside the transmit callback; its CPU
 * time (its own key generation, ECDH, chain checks, commits) is measured
 * around the callback and taken off, so what is left is the host's.
 * bench_perso_pcsc times the preparation with the card in a reader of
 * pcscd instead.
 *
 * Raw OpenSSL rates are measured in the same process, in the same rounds,
 * alternating with the cards, with the PKI's own P-256 keys. All times are
 * this thread's CPU time, so other processes on a noisy machine count less;
 * the figures reported are medians over the rounds.
 *
 * usage: bench_perso [ROUNDS [CARDS_PER_ROUND [OPS_PER_ROUND]]]
 * Prints key=value lines (and "row_*" table rows) for scripts/bench.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <mic/batch.h>
#include <mic/card.h>
#include <mic/perso.h>
#include <mic/pki.h>
#include <mic/profile.h>
#include <mic/sod.h>
#include <mic/tlv.h>
#include <mic/tx.h>

#include "benchutil.h"
#include "mici.h"
#include "perso_int.h"
#include "pkcount.h"
#include "prepclock.h"
#include "trust_int.h"

#define APPS 16
#define EF_SOD_SIZE 2048     /* docs/card-profile.md section 1 */
#define CARD_CMD_MAX 4096    /* profile 3: what the card assembles */
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* --- the in-process link, with the card's CPU time taken apart ----------- */

struct link {
	vc_card *card;
	double card_cpu;
};

static mic_rc
card_transmit(void *arg, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
    size_t *rsp_len)
{
	struct link *l = arg;
	int was = pk_count_on(0);
	double t0 = bu_thread_cpu();
	mic_rc rc = vc_card_transmit(l->card, cmd, cmd_len, rsp, rsp_len);

	l->card_cpu += bu_thread_cpu() - t0;
	pk_count_on(was);
	return rc;
}

/* The card's ATR announces extended Lc/Le (profile 6); a reader that
 * passes them lets the host use them. */
static void
set_extended(mic_tx_t *tx)
{
	mic_tx_caps caps;

	mic_tx_get_caps(tx, &caps);
	caps.reader_extended = 1;
	caps.card_extended = 1;
	mic_tx_set_caps(tx, &caps);
}

/* Over all cards since the last reset: the first step's CPU seconds (the
 * files and the PIN), and the bound's signatures timed in place. */
static double prep_files, cold_sign[2];
static int cold_n, cold_bad;

/* --- the two signed steps alone ------------------------------------------ */

/*
 * The card certificate and EF.SOD as mic_perso_card() makes them
 * (mici_cardcert_issue(), mici_sod_build(), issuers set up once), timed
 * alone and warm, in the rounds with the raw rates: what each costs beyond
 * its one signature, without the card traffic around it.
 */
struct steps {
	mic_keyprov_t *ci_kp, *ds_kp;
	mici_issuer *ci, *ds;
	uint8_t gen[70];
	uint8_t f_card[MIC_EF_CARD_SIZE], f_holder[MIC_EF_HOLDER_SIZE];
	uint8_t f_ins[MIC_EF_INSURANCE_SIZE], f_cert[MIC_EF_CERT_SIZE];
	uint8_t chip[MIC_CHIP_SERIAL_LEN];
	mic_sod_file files[4];
};

static void
steps_free(struct steps *s)
{
	mici_issuer_free(&s->ci);
	mici_issuer_free(&s->ds);
	mic_keyprov_free(&s->ci_kp);
	mic_keyprov_free(&s->ds_kp);
}

/* @p pub: a card's point, for the certificate. */
static int
steps_init(struct steps *s, const char *dir, const uint8_t pub[65])
{
	uint8_t cert[MIC_CERT_MAX];
	size_t len = 0;

	memset(s, 0, sizeof(*s));
	if (mic_pki_load(dir, MIC_CERT_CARD_ISSUER, NULL, NULL, NULL, NULL,
	    &s->ci_kp, cert, sizeof(cert), &len) != MIC_OK ||
	    mici_issuer_new(s->ci_kp, cert, len, &s->ci) != MIC_OK ||
	    mic_pki_load(dir, MIC_CERT_DOCUMENT_SIGNER, NULL, NULL, NULL, NULL,
	    &s->ds_kp, cert, sizeof(cert), &len) != MIC_OK ||
	    mici_issuer_new(s->ds_kp, cert, len, &s->ds) != MIC_OK) {
		fprintf(stderr, "bench_perso: cannot set up the issuers\n");
		steps_free(s);
		return -1;
	}
	memcpy(s->gen, "\x7F\x49\x43\x86\x41", 5);
	memcpy(s->gen + 5, pub, 65);
	/* Only the files' sizes change the cost. */
	memset(s->f_card, 0x11, sizeof(s->f_card));
	memset(s->f_holder, 0x22, sizeof(s->f_holder));
	memset(s->f_ins, 0x33, sizeof(s->f_ins));
	memset(s->f_cert, 0x44, sizeof(s->f_cert));
	memset(s->chip, 0x55, sizeof(s->chip));
	s->files[0] = (mic_sod_file){ MIC_SOD_SFI_CARD, s->f_card,
	    sizeof(s->f_card) };
	s->files[1] = (mic_sod_file){ MIC_SOD_SFI_HOLDER, s->f_holder,
	    sizeof(s->f_holder) };
	s->files[2] = (mic_sod_file){ MIC_SOD_SFI_INSURANCE, s->f_ins,
	    sizeof(s->f_ins) };
	s->files[3] = (mic_sod_file){ MIC_SOD_SFI_CERT, s->f_cert,
	    sizeof(s->f_cert) };
	return 0;
}

/* CPU seconds per card certificate, or a negative value. */
static double
step_cardcert(struct steps *s, int n)
{
	static const char cic[] = "110100D1560000011100010000000042";
	uint8_t out[MIC_EF_CERT_SIZE];
	size_t len;
	double t0 = bu_thread_cpu();

	for (int i = 0; i < n; i++)
		if (mici_cardcert_issue(s->ci, s->gen, sizeof(s->gen), cic, 0,
		    0, out, sizeof(out), &len) != MIC_OK)
			return -1;
	return (bu_thread_cpu() - t0) / n;
}

/* CPU seconds per EF.SOD, or a negative value. */
static double
step_sod(struct steps *s, int n)
{
	uint8_t out[EF_SOD_SIZE];
	size_t len;
	double t0 = bu_thread_cpu();

	for (int i = 0; i < n; i++)
		if (mici_sod_build(s->ds, s->files, NELEM(s->files), s->chip,
		    out, sizeof(out), &len) != MIC_OK)
			return -1;
	return (bu_thread_cpu() - t0) / n;
}

/* --- data preparation card after card ---------------------------------- */

/*
 * The whole of a card's data preparation, both of mic_perso_card()'s steps
 * by the functions it calls (mici_perso_prep_files(),
 * mici_perso_prep_signed()), card after card with nothing in between: the
 * way the raw sign rate is timed. The cards' keys and chip serials are
 * made beforehand, as the cards would have made them.
 */
#define STREAM_KEYS 16

struct stream {
	mici_perso *p;
	uint8_t gen[STREAM_KEYS][70];
	uint8_t chip[STREAM_KEYS][MIC_CHIP_SERIAL_LEN];
	uint64_t serial;
};

static void
stream_free(struct stream *ps)
{
	mici_perso_free(&ps->p);
}

static int
stream_init(struct stream *ps, mic_perso_cfg_t *cfg)
{
	EVP_PKEY *k = NULL;
	size_t n;
	int rc = -1;

	memset(ps, 0, sizeof(*ps));
	ps->serial = 900000;
	if (mici_perso_new(cfg, &ps->p) != MIC_OK)
		return -1;
	for (int i = 0; i < STREAM_KEYS; i++) {
		/* 7F49 { 86 41 <the uncompressed point> } (profile 3.9). */
		memcpy(ps->gen[i], "\x7F\x49\x43\x86\x41", 5);
		if ((k = EVP_EC_gen("P-256")) == NULL ||
		    EVP_PKEY_get_octet_string_param(k,
		    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, ps->gen[i] + 5, 65,
		    &n) != 1 || n != 65)
			goto out;
		EVP_PKEY_free(k);
		k = NULL;
		for (int j = 0; j < MIC_CHIP_SERIAL_LEN; j++)
			ps->chip[i][j] = (uint8_t)(0xC0 + i * 8 + j);
	}
	rc = 0;
out:
	EVP_PKEY_free(k);
	if (rc != 0) {
		fprintf(stderr, "bench_perso: cannot set up the stream\n");
		stream_free(ps);
	}
	return rc;
}

/* CPU seconds per card, or a negative value. */
static double
stream_run(struct stream *ps, mic_application_t *const *apps, int n)
{
	double t0 = bu_thread_cpu();

	for (int i = 0; i < n; i++) {
		int k = i % STREAM_KEYS;

		if (mici_perso_prep_files(ps->p, apps[i % APPS],
		    ps->serial++) != MIC_OK ||
		    mici_perso_prep_signed(ps->p, ps->gen[k],
		    sizeof(ps->gen[k]), ps->chip[k]) != MIC_OK)
			return -1;
	}
	return (bu_thread_cpu() - t0) / n;
}

/* --- raw OpenSSL operations ---------------------------------------------- */

static size_t
pem_cert_der_len(const char *dir, const char *rel)
{
	char *path = bu_path(dir, rel);
	FILE *fp = fopen(path, "r");
	X509 *x = NULL;
	int n = -1;

	if (fp != NULL) {
		x = PEM_read_X509(fp, NULL, NULL, NULL);
		fclose(fp);
	}
	if (x != NULL)
		n = i2d_X509(x, NULL);
	X509_free(x);
	free(path);
	return n > 0 ? (size_t)n : 0;
}

/* The public half of @p k alone, as a verifier holds it. */
static EVP_PKEY *
public_of(EVP_PKEY *k)
{
	unsigned char *der = NULL;
	const unsigned char *q;
	EVP_PKEY *pub = NULL;
	int n = i2d_PUBKEY(k, &der);

	if (n > 0) {
		q = der;
		pub = d2i_PUBKEY(NULL, &q, n);
	}
	OPENSSL_free(der);
	return pub;
}

static EVP_PKEY *
point_key(const uint8_t pub[65])
{
	uint8_t der[91] = { 0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86,
		0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06, 0x08, 0x2A, 0x86, 0x48,
		0xCE, 0x3D, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00 };
	const unsigned char *q = der;

	memcpy(der + 26, pub, 65);
	return d2i_PUBKEY(NULL, &q, sizeof(der));
}

/* The digest a signature covers; its content does not change the cost. */
static const uint8_t digest[32] = { 0x5A, 0x17, 0x42 };

/* Each returns CPU seconds per operation, or a negative value. */
static double
raw_verify(EVP_PKEY *priv, EVP_PKEY *pub, int n)
{
	EVP_PKEY_CTX *s = EVP_PKEY_CTX_new(priv, NULL);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pub, NULL);
	uint8_t sig[128];
	size_t len = sizeof(sig);
	double t0, t = -1;

	if (s == NULL || c == NULL || EVP_PKEY_sign_init(s) != 1 ||
	    EVP_PKEY_sign(s, sig, &len, digest, sizeof(digest)) != 1 ||
	    EVP_PKEY_verify_init(c) != 1)
		goto out;
	t0 = bu_thread_cpu();
	for (int i = 0; i < n; i++)
		if (EVP_PKEY_verify(c, sig, len, digest, sizeof(digest)) != 1)
			goto out;
	t = (bu_thread_cpu() - t0) / n;
out:
	EVP_PKEY_CTX_free(s);
	EVP_PKEY_CTX_free(c);
	return t;
}

/* ECDH, the peer set (and validated) once: the derivation alone. */
static double
raw_ecdh(EVP_PKEY *own, EVP_PKEY *peer, int n)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(own, NULL);
	uint8_t z[32];
	size_t len;
	double t0, t = -1;

	if (c == NULL || EVP_PKEY_derive_init(c) != 1 ||
	    EVP_PKEY_derive_set_peer(c, peer) != 1)
		goto out;
	t0 = bu_thread_cpu();
	for (int i = 0; i < n; i++) {
		len = sizeof(z);
		if (EVP_PKEY_derive(c, z, &len) != 1)
			goto out;
	}
	t = (bu_thread_cpu() - t0) / n;
out:
	EVP_PKEY_CTX_free(c);
	return t;
}

static double
raw_keygen(int n)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *k;
	double t0, t = -1;

	if (c == NULL || EVP_PKEY_keygen_init(c) != 1 ||
	    EVP_PKEY_CTX_set_group_name(c, "P-256") != 1)
		goto out;
	t0 = bu_thread_cpu();
	for (int i = 0; i < n; i++) {
		k = NULL;
		if (EVP_PKEY_generate(c, &k) != 1)
			goto out;
		EVP_PKEY_free(k);
	}
	t = (bu_thread_cpu() - t0) / n;
out:
	EVP_PKEY_CTX_free(c);
	return t;
}

/* Full validation of a received public key, as EVP_PKEY_public_check. */
static double
raw_pubcheck(EVP_PKEY *peer, int n)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(peer, NULL);
	double t0, t = -1;

	if (c == NULL)
		goto out;
	t0 = bu_thread_cpu();
	for (int i = 0; i < n; i++)
		if (EVP_PKEY_public_check(c) != 1)
			goto out;
	t = (bu_thread_cpu() - t0) / n;
out:
	EVP_PKEY_CTX_free(c);
	return t;
}

/* --- the APDU exchange of one card, by step -------------------------------- */

enum step {
	ST_SELECT, ST_GETDATA, ST_PSO, ST_MUTUAL, ST_GENKEY, ST_STORE,
	ST_READ, ST_INTERNAL, ST_OTHER, ST_N
};

static const char *const step_name[ST_N] = {
	"SELECT", "GET DATA BF21", "PERFORM SECURITY OPERATION (chain)",
	"MUTUAL AUTHENTICATE", "GENERATE KEY", "STORE DATA", "READ BINARY",
	"INTERNAL AUTHENTICATE", "other",
};

struct tally {
	unsigned long apdus[ST_N], bytes[ST_N];
	enum step cur;
};

static enum step
classify(uint8_t ins)
{
	switch (ins) {
	case 0xA4: return ST_SELECT;
	case 0xCA: return ST_GETDATA;
	case 0x2A: return ST_PSO;
	case 0x82: return ST_MUTUAL;
	case 0x47: return ST_GENKEY;
	case 0xE2: return ST_STORE;
	case 0xB0: return ST_READ;
	case 0x88: return ST_INTERNAL;
	default: return ST_OTHER;
	}
}

/* A GET RESPONSE counts for the command whose answer it continues. */
static void
trace_fn(void *arg, int dir, const uint8_t *buf, size_t len)
{
	struct tally *t = arg;

	if (dir == MIC_TRACE_CMD) {
		if (len >= 2 && buf[1] != 0xC0)
			t->cur = classify(buf[1]);
		t->apdus[t->cur]++;
	}
	t->bytes[t->cur] += len;
}

struct cost {
	unsigned long apdus, bytes;
};

/*
 * Adds the fewest APDUs and bytes (commands and responses, status words
 * included, as mic_tx counts them) for one logical command of @p nc data
 * bytes whose answer has @p nr data bytes, @p le if the command carries
 * an Le, on a path with extended length (@p ext) or short APDUs only.
 */
static void
xchg(struct cost *c, size_t nc, size_t nr, int le, int ext)
{
	size_t k, left;

	if (nc <= 255 && nr <= 256) {
		c->apdus++;
		c->bytes += 4 + (nc ? 1 + nc : 0) + (le ? 1 : 0) + nr + 2;
		return;
	}
	if (ext) {
		/* Extended Lc is 00 and two bytes; an extended Le is two
		 * bytes after an Lc and three without. */
		c->apdus++;
		c->bytes += 4 + (nc ? 3 + nc : 0) + (le ? (nc ? 2 : 3) : 0) +
		    nr + 2;
		return;
	}
	/* Short only: data over 255 bytes is chained, 255 a part, each part
	 * answered 9000; an answer over 256 bytes comes 256 at a time,
	 * 61xx and GET RESPONSE (5 bytes). */
	k = nc > 255 ? (nc + 254) / 255 : 1;
	c->apdus += k;
	c->bytes += 5 * k - (nc ? 0 : 1) + nc + (le ? 1 : 0) + 2 * (k - 1);
	if (nr <= 256) {
		c->bytes += nr + 2;
		return;
	}
	c->bytes += 256 + 2;
	for (left = nr - 256; left > 0; left -= left < 256 ? left : 256) {
		c->apdus++;
		c->bytes += 5 + (left < 256 ? left : 256) + 2;
	}
}

/* Sizes under SCP03 secure messaging at level 33 (secure-messaging.md 2):
 * data padded (method 2, at least one byte) to AES blocks, plus an 8-byte
 * MAC; an empty field stays empty but the MAC is always there. */
static size_t
sm_len(size_t n)
{
	return (n ? (n + 1 + 15) / 16 * 16 : 0) + 8;
}

/* What a card needs: the sizes the minimum is computed from. */
struct sizes {
	size_t aid, fci, bf21, chain[2], gen, auth_cmd, auth_rsp;
	size_t dgi[6];      /* bodies of DGIs 0101-0105 and 8010 */
	size_t file[5];     /* to read of EF.CARD, HOLDER, INSURANCE, SOD, CERT */
};

static size_t
dgi_len(size_t body)
{
	return (body < 0xFF ? 3 : 5) + body;   /* profile 3.8 */
}

/*
 * STORE DATA: the fewest commands, then the fewest bytes. A DGI may not
 * span two commands and a command holds at most CARD_CMD_MAX bytes as the
 * card assembles it (protected); every split of the six DGIs is tried.
 */
static void
store_min(const struct sizes *s, int ext, struct cost *best)
{
	unsigned long total = 1;
	size_t n = NELEM(s->dgi);

	best->apdus = best->bytes = (unsigned long)-1;
	for (size_t i = 0; i < n; i++)
		total *= n;
	for (unsigned long code = 0; code < total; code++) {
		size_t cmd[6] = { 0 };
		unsigned long c = code;
		struct cost k = { 0, 0 };
		int ok = 1;

		for (size_t i = 0; i < n; i++, c /= n)
			cmd[c % n] += dgi_len(s->dgi[i]);
		for (size_t j = 0; j < n; j++) {
			if (cmd[j] == 0)
				continue;
			if (sm_len(cmd[j]) > CARD_CMD_MAX)
				ok = 0;
			xchg(&k, sm_len(cmd[j]), sm_len(0), 0, ext);
		}
		if (ok && (k.apdus < best->apdus || (k.apdus == best->apdus &&
		    k.bytes < best->bytes)))
			*best = k;
	}
}

static void
minimum(const struct sizes *s, int ext, struct cost out[ST_N])
{
	memset(out, 0, sizeof(struct cost) * ST_N);
	xchg(&out[ST_SELECT], s->aid, s->fci, 1, ext);
	xchg(&out[ST_GETDATA], 0, s->bf21, 1, ext);
	xchg(&out[ST_PSO], s->chain[0], 0, 0, ext);
	xchg(&out[ST_PSO], s->chain[1], 0, 0, ext);
	xchg(&out[ST_MUTUAL], s->auth_cmd, s->auth_rsp, 1, ext);
	xchg(&out[ST_GENKEY], sm_len(0), sm_len(s->gen), 1, ext);
	store_min(s, ext, &out[ST_STORE]);
	/* Read back inside the bureau's channel (card profile 4.3). */
	for (size_t i = 0; i < NELEM(s->file); i++)
		xchg(&out[ST_READ], sm_len(0), sm_len(s->file[i]), 1, ext);
	xchg(&out[ST_INTERNAL], s->auth_cmd, s->auth_rsp, 1, ext);
}

/* The data of one command's answer, through @p tx; 0 on failure. */
static size_t
answer_len(mic_tx_t *tx, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
    const uint8_t *data, size_t nc)
{
	mic_apdu a = { .cla = cla, .ins = ins, .p1 = p1, .p2 = p2,
		.data = data, .nc = nc, .ne = 256 };
	uint8_t rsp[4096];
	size_t n = 0;
	uint16_t sw = 0;

	if (mic_tx_transmit(tx, &a, rsp, sizeof(rsp), &n, &sw) != MIC_OK ||
	    (sw != 0x9000 && sw != 0x6283))
		return 0;
	return n;
}

/* The length of the template a personalized file starts with. */
static size_t
template_len(mic_tx_t *tx, uint8_t sfi, size_t size)
{
	uint8_t buf[EF_SOD_SIZE];
	mic_apdu a = { .cla = 0x00, .ins = 0xB0, .p1 = (uint8_t)(0x80 | sfi),
		.ne = size };
	size_t n = 0;
	mic_tlv t;

	if (mic_tx_command(tx, &a, buf, sizeof(buf), &n) != MIC_OK ||
	    mic_tlv_parse(buf, n, &t) != MIC_OK)
		return 0;
	return t.raw_len;
}

/* --- main ------------------------------------------------------------------- */

struct ctx {
	char *dir;
	mic_perso_cfg_t *cfg;
	vcf_factory *fac;
	mic_application_t *apps[APPS];
	unsigned serial;
};

/*
 * Personalize one new card; @p host and @p card get the CPU seconds of
 * each side, @p prep the host's for data preparation, @p tl the exchange
 * by step if not NULL.
 */
static int
one_card(struct ctx *c, int ext, int signs, double *host, double *card,
    double *prep, struct tally *tl, mic_perso_result_t **keep,
    struct link *keep_link, mic_tx_t **keep_tx)
{
	struct pc_card pc;
	char name[32];
	struct link own = { NULL, 0 };
	/* The tx points at the link: a kept card keeps the caller's. */
	struct link *lp = keep != NULL ? keep_link : &own;
	mic_tx_t *tx = NULL;
	mic_perso_result_t *res = NULL;
	double t0, t1;
	mic_rc rc;

	lp->card = NULL;
	lp->card_cpu = 0;
	snprintf(name, sizeof(name), "BENCH-PERSO-%u", c->serial);
	if (bu_factory_card(c->fac, name, &lp->card, NULL) != 0)
		return -1;
	if ((rc = mic_tx_new_inproc(&tx, card_transmit, lp)) != MIC_OK) {
		vc_card_free(&lp->card);
		return -1;
	}
	if (ext)
		set_extended(tx);
	if (tl != NULL) {
		memset(tl, 0, sizeof(*tl));
		mic_tx_set_trace(tx, trace_fn, tl);
	}
	pc_card_start(signs);
	pk_count_on(1);
	t0 = bu_thread_cpu();
	rc = mic_perso_card(c->cfg, tx, c->apps[c->serial % APPS],
	    c->serial + 1, &res);
	t1 = bu_thread_cpu();
	pk_count_on(0);
	pc_card_stop(&pc);
	*prep = pc.prep;
	prep_files += pc.files;
	if (signs) {
		cold_sign[0] += pc.signs[0];
		cold_sign[1] += pc.signs[1];
		cold_n++;
		cold_bad |= !pc.signs_ok;
	}
	c->serial++;
	if (rc != MIC_OK) {
		fprintf(stderr, "bench_perso: mic_perso_card: %s\n",
		    mic_strerror(rc));
		mic_tx_free(&tx);
		vc_card_free(&lp->card);
		return -1;
	}
	*host = (t1 - t0) - lp->card_cpu - pc.signs_cpu;
	*card = lp->card_cpu;
	mic_tx_set_trace(tx, NULL, NULL);
	if (keep != NULL) {
		/* The caller reads the card further through this link. */
		*keep = res;
		*keep_tx = tx;
		return 0;
	}
	mic_perso_result_free(&res);
	mic_tx_free(&tx);
	vc_card_free(&lp->card);
	return 0;
}

/* The sizes of struct sizes, from a fresh blank card, the PKI and the
 * card @p pcard personalized in @p tx. */
static int
card_sizes(struct ctx *c, vc_card *pcard, mic_tx_t *ptx, struct sizes *s)
{
	static const uint8_t aid[] = VC_MIC_AID;
	static const uint8_t sfi[5] = { MIC_SFI_CARD, MIC_SFI_HOLDER,
		MIC_SFI_INSURANCE, MIC_SFI_SOD, MIC_SFI_CERT };
	static const size_t size[5] = { MIC_EF_CARD_SIZE, MIC_EF_HOLDER_SIZE,
		MIC_EF_INSURANCE_SIZE, EF_SOD_SIZE, MIC_EF_CERT_SIZE };
	struct link l = { NULL, 0 };
	mic_tx_t *tx = NULL;
	int rc = -1;

	memset(s, 0, sizeof(*s));
	s->aid = sizeof(aid);
	if (bu_factory_card(c->fac, "BENCH-SIZES", &l.card, NULL) != 0 ||
	    mic_tx_new_inproc(&tx, card_transmit, &l) != MIC_OK)
		goto out;
	set_extended(tx);
	s->fci = answer_len(tx, 0x00, 0xA4, 0x04, 0x00, aid, sizeof(aid));
	s->bf21 = answer_len(tx, 0x80, 0xCA, 0xBF, 0x21, NULL, 0);
	/* The card holds the root; the bureau sends the rest of its chain
	 * (profile 4.4): the issuer CA, then its own certificate. */
	s->chain[0] = pem_cert_der_len(c->dir, "issuer/cert.pem");
	s->chain[1] = pem_cert_der_len(c->dir, "terminals/bureau/cert.pem");
	/* 7F49 { 86 41 <65-byte point> } (profile 3.9). */
	s->gen = 3 + 2 + 65;
	/* secure-messaging.md 1: A6 0D {90 02, 95 01, 80 01, 81 01} and
	 * 5F49 41 <point>; the answer 5F49 41 <point> and 86 10 <receipt>. */
	s->auth_cmd = 2 + 13 + 3 + 65;
	s->auth_rsp = 3 + 65 + 2 + 16;
	/* The DGI bodies are the templates the personalized files start
	 * with (EF.SOD and EF.CERT: their DER); the PIN block is 8 bytes.
	 * EF.HOLDER and EF.INSURANCE need a role (card profile 4.3): the
	 * in-process hook gives the bureau's, for sizing only. */
	vc_card_test_set_role(pcard, VC_ROLE_BUREAU);
	/*
	 * What a read-back must read: the files EF.SOD's hashes cover whole,
	 * padding included (profile 2.4), and EF.SOD itself only to the end
	 * of its DER, which its first bytes give.
	 */
	for (size_t i = 0; i < 5; i++) {
		if ((s->dgi[i] = template_len(ptx, sfi[i], size[i])) == 0)
			goto out;
		s->file[i] = sfi[i] == MIC_SFI_SOD ? s->dgi[i] : size[i];
	}
	s->dgi[5] = 8;
	rc = s->fci && s->bf21 && s->chain[0] && s->chain[1] ? 0 : -1;
out:
	if (rc != 0)
		fprintf(stderr, "bench_perso: cannot size the card\n");
	mic_tx_free(&tx);
	vc_card_free(&l.card);
	return rc;
}

static int
report_apdus(struct ctx *c)
{
	struct tally tl[2];
	struct cost min[2][ST_N];
	struct sizes s;
	mic_perso_result_t *res = NULL;
	struct link l = { NULL, 0 };
	mic_tx_t *tx = NULL;
	double h, k, d;
	unsigned long tot_a[2] = { 0, 0 }, tot_b[2] = { 0, 0 };
	unsigned long min_a[2] = { 0, 0 }, min_b[2] = { 0, 0 };
	const char *path[2] = { "short", "ext" };
	int rc = -1;

	/* The extended path first: its card is kept to take the sizes. */
	if (one_card(c, 1, 0, &h, &k, &d, &tl[1], &res, &l, &tx) != 0)
		return -1;
	if (card_sizes(c, l.card, tx, &s) != 0)
		goto out;
	mic_perso_result_free(&res);
	mic_tx_free(&tx);
	vc_card_free(&l.card);
	if (one_card(c, 0, 0, &h, &k, &d, &tl[0], &res, &l, &tx) != 0)
		return -1;
	for (int p = 0; p < 2; p++) {
		minimum(&s, p, min[p]);
		for (int i = 0; i < ST_N; i++) {
			tot_a[p] += tl[p].apdus[i];
			tot_b[p] += tl[p].bytes[i];
			min_a[p] += min[p][i].apdus;
			min_b[p] += min[p][i].bytes;
		}
	}
	/* The trace saw what mic_tx counted. */
	if (tot_a[0] != mic_perso_result_apdus(res) ||
	    tot_b[0] != mic_perso_result_bytes(res)) {
		fprintf(stderr, "bench_perso: trace %lu/%lu, result %llu/%llu\n",
		    tot_a[0], tot_b[0],
		    (unsigned long long)mic_perso_result_apdus(res),
		    (unsigned long long)mic_perso_result_bytes(res));
		goto out;
	}
	printf("sizes_fci=%zu\nsizes_bf21=%zu\nsizes_chain=%zu+%zu\n", s.fci,
	    s.bf21, s.chain[0], s.chain[1]);
	printf("sizes_dgi=%zu,%zu,%zu,%zu,%zu,%zu\n", s.dgi[0], s.dgi[1],
	    s.dgi[2], s.dgi[3], s.dgi[4], s.dgi[5]);
	printf("sod_der_len=%zu\nsod_file_size=%d\n", s.dgi[3],
	    (int)EF_SOD_SIZE);
	for (int p = 0; p < 2; p++) {
		printf("apdus_%s_libmic=%lu\napdus_%s_min=%lu\n", path[p],
		    tot_a[p], path[p], min_a[p]);
		printf("bytes_%s_libmic=%lu\nbytes_%s_min=%lu\n", path[p],
		    tot_b[p], path[p], min_b[p]);
		printf("ratio_apdus_%s=%.2f\nratio_bytes_%s=%.2f\n", path[p],
		    (double)tot_a[p] / (double)min_a[p], path[p],
		    (double)tot_b[p] / (double)min_b[p]);
		for (int i = 0; i < ST_N; i++) {
			if (tl[p].apdus[i] == 0 && min[p][i].apdus == 0)
				continue;
			printf("row_%s=| %s | %lu | %lu | %lu | %lu |\n",
			    path[p], step_name[i], tl[p].apdus[i],
			    min[p][i].apdus, tl[p].bytes[i], min[p][i].bytes);
		}
		printf("row_%s=| **card** | **%lu** | **%lu** | **%lu** | "
		    "**%lu** |\n", path[p], tot_a[p], min_a[p], tot_b[p],
		    min_b[p]);
	}
	rc = 0;
out:
	mic_perso_result_free(&res);
	mic_tx_free(&tx);
	vc_card_free(&l.card);
	return rc;
}

enum raw { R_SIGN_CI, R_SIGN_DS, R_VER_CI, R_VER_DS, R_ECDH, R_KEYGEN,
	R_PUBCHECK, R_CARDCERT, R_SOD, R_STREAM, R_COLD_CI, R_COLD_DS, R_N };

int
main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 9;
	int cards = argc > 2 ? atoi(argv[2]) : 30;
	int ops = argc > 3 ? atoi(argv[3]) : 200;
	struct ctx c;
	struct steps st;
	struct stream ps;
	int have_steps = 0, have_stream = 0;
	EVP_PKEY *ci = NULL, *ds = NULL, *term = NULL, *ci_pub = NULL;
	EVP_PKEY *ds_pub = NULL, *sd = NULL;
	vc_card *probe = NULL;
	uint8_t pub[65];
	double *raw[R_N], *host, *card, *prep, t[R_N], h, k, d, clk;
	unsigned long pk[PK_KINDS], prep_pk[PK_KINDS], prep_pk0[PK_KINDS];
	double per[PK_KINDS], t_min, t_sign2, t_lib;
	long total = 0;
	int ret = 1;

	if (rounds < 1 || rounds > 1000 || cards < 1 || cards > 100000 ||
	    ops < 1 || ops > 1000000) {
		fprintf(stderr, "usage: bench_perso [ROUNDS [CARDS_PER_ROUND "
		    "[OPS_PER_ROUND]]]\n");
		return 2;
	}
	memset(&c, 0, sizeof(c));
	if (pk_count_init() != 0)
		return 1;
	for (int i = 0; i < R_N; i++)
		if ((raw[i] = calloc((size_t)rounds, sizeof(double))) == NULL)
			return 1;
	host = calloc((size_t)rounds, sizeof(double));
	card = calloc((size_t)rounds, sizeof(double));
	prep = calloc((size_t)rounds, sizeof(double));
	if (host == NULL || card == NULL || prep == NULL ||
	    (c.dir = bu_tmpdir("bench-perso")) == NULL ||
	    bu_pki(c.dir) != 0 || bu_apps(c.dir, c.apps, APPS) != 0 ||
	    bu_factory_new(&c.fac, c.dir) != 0)
		goto out;
	if (mic_perso_cfg_load(&c.cfg, c.dir, "bureau") != MIC_OK ||
	    mic_perso_cfg_set_bureau_code(c.cfg, "001") != MIC_OK) {
		fprintf(stderr, "bench_perso: cannot load the bureau\n");
		goto out;
	}
	/* The keys of the PKI, and a card's PK.SD.ECKA as the ECDH peer. */
	if ((ci = bu_pem_key(c.dir, "card-issuer/key.pem")) == NULL ||
	    (ds = bu_pem_key(c.dir, "ds/key.pem")) == NULL ||
	    (term = bu_pem_key(c.dir, "terminals/bureau/key.pem")) == NULL ||
	    (ci_pub = public_of(ci)) == NULL ||
	    (ds_pub = public_of(ds)) == NULL ||
	    bu_factory_card(c.fac, "BENCH-PEER", &probe, pub) != 0 ||
	    (sd = point_key(pub)) == NULL)
		goto out;
	if (steps_init(&st, c.dir, pub) != 0)
		goto out;
	have_steps = 1;
	if (stream_init(&ps, c.cfg) != 0)
		goto out;
	have_stream = 1;
	if (pc_init(ci, ds) != 0)
		goto out;

	/* The counter must see one of each raw operation, or the linker
	 * did not route libcrypto's calls through pkcount.c. */
	pk_count_reset();
	pk_count_on(1);
	(void)pc_raw_sign(ci, 1);
	(void)raw_ecdh(term, sd, 1);
	(void)raw_keygen(1);
	(void)raw_pubcheck(sd, 1);
	pk_count_on(0);
	pk_count_get(pk);
	{
		/* ECDH: EVP_PKEY_derive_set_peer validates the peer in full
		 * (the second check) before the derivation. */
		unsigned long want[PK_KINDS] = { 1, 0, 1, 1, 2 };

		if (memcmp(pk, want, sizeof(want)) != 0) {
			fprintf(stderr, "bench_perso: counted %lu %lu %lu %lu "
			    "%lu public-key operations, not 1 1 1 1 2\n",
			    pk[0], pk[1], pk[2], pk[3], pk[4]);
			goto out;
		}
	}
	pk_count_reset();
	pk_count_on(1);
	(void)raw_verify(ci, ci_pub, 1);
	pk_count_on(0);
	pk_count_get(pk);
	if (pk[PK_SIGN] != 1 || pk[PK_VERIFY] != 1) {
		fprintf(stderr, "bench_perso: verification not counted\n");
		goto out;
	}

	/* Warm up both sides: first-use costs are not per-card costs. */
	if (one_card(&c, 0, 1, &h, &k, &d, NULL, NULL, NULL, NULL) != 0 ||
	    pc_raw_sign(ci, 20) < 0 || step_cardcert(&st, 20) < 0 ||
	    step_sod(&st, 20) < 0)
		goto out;
	pk_count_reset();
	pc_pk(prep_pk0);
	prep_files = 0;
	for (int r = 0; r < rounds; r++) {
		double sh = 0, sk = 0, sp = 0;
		int np = 0;

		raw[R_SIGN_CI][r] = pc_raw_sign(ci, ops);
		raw[R_SIGN_DS][r] = pc_raw_sign(ds, ops);
		raw[R_VER_CI][r] = raw_verify(ci, ci_pub, ops);
		raw[R_VER_DS][r] = raw_verify(ds, ds_pub, ops);
		raw[R_ECDH][r] = raw_ecdh(term, sd, ops);
		raw[R_KEYGEN][r] = raw_keygen(ops);
		raw[R_PUBCHECK][r] = raw_pubcheck(sd, ops);
		raw[R_CARDCERT][r] = step_cardcert(&st, ops);
		raw[R_SOD][r] = step_sod(&st, ops);
		raw[R_STREAM][r] = stream_run(&ps, c.apps, ops);
		/* Filled in by the cards below. */
		raw[R_COLD_CI][r] = raw[R_COLD_DS][r] = 1;
		for (int i = 0; i < R_N; i++)
			if (raw[i][r] <= 0) {
				fprintf(stderr, "bench_perso: raw operation "
				    "%d failed\n", i);
				goto out;
			}
		cold_sign[0] = cold_sign[1] = 0;
		cold_n = 0;
		/* Every other card times the bound where it signs. */
		for (int i = 0; i < cards; i++) {
			int in_place = i % 2;

			if (one_card(&c, 0, in_place, &h, &k, &d, NULL, NULL,
			    NULL, NULL) != 0)
				goto out;
			sh += h;
			sk += k;
			if (!in_place) {
				sp += d;
				np++;
			}
			total++;
		}
		host[r] = sh / cards;
		card[r] = sk / cards;
		prep[r] = sp / np;
		raw[R_COLD_CI][r] = cold_sign[0] / cold_n;
		raw[R_COLD_DS][r] = cold_sign[1] / cold_n;
		if (cold_bad || cold_n == 0) {
			fprintf(stderr, "bench_perso: a signature in place "
			    "failed\n");
			goto out;
		}
	}
	pk_count_get(pk);
	pc_pk(prep_pk);
	for (int i = 0; i < PK_KINDS; i++)
		prep_pk[i] -= prep_pk0[i];
	for (int i = 0; i < R_N; i++)
		t[i] = bu_median(raw[i], (size_t)rounds);
	h = bu_median(host, (size_t)rounds);
	k = bu_median(card, (size_t)rounds);
	d = bu_median(prep, (size_t)rounds);
	/* A hook that no longer reads the clock would pass for infinitely
	 * fast preparation. */
	if (d <= 0 || prep_pk[PK_SIGN] == 0) {
		fprintf(stderr, "bench_perso: mic_perso_card() reported no "
		    "data preparation\n");
		goto out;
	}
	/* What one timer read costs: each APDU adds two around the card. */
	clk = bu_thread_cpu();
	for (int i = 0; i < 10000; i++)
		(void)bu_thread_cpu();
	clk = (bu_thread_cpu() - clk) / 10001;

	/* The inherent public-key work of one card (docs/benchmarks.md):
	 * signatures: card certificate (card issuer), EF.SOD (document
	 * signer); verifications: CERT.SD.ECKA and EF.CERT (card issuer's
	 * key), EF.SOD (document signer's); SCP11a and SCP11b: one
	 * ephemeral key and two ECDH each. */
	t_sign2 = t[R_SIGN_CI] + t[R_SIGN_DS];
	t_min = t_sign2 + 2 * t[R_VER_CI] + t[R_VER_DS] + 2 * t[R_KEYGEN] +
	    4 * t[R_ECDH];
	for (int i = 0; i < PK_KINDS; i++)
		per[i] = (double)pk[i] / (double)total;
	t_lib = per[PK_SIGN] * t_sign2 / 2 +
	    per[PK_VERIFY] * (t[R_VER_CI] + t[R_VER_DS]) / 2 +
	    per[PK_DERIVE] * t[R_ECDH] + per[PK_KEYGEN] * t[R_KEYGEN] +
	    per[PK_PUBCHECK] * t[R_PUBCHECK];

	printf("rounds=%d cards_per_round=%d ops_per_round=%d\n", rounds,
	    cards, ops);
	printf("raw_sign_ci_us=%.1f\nraw_sign_ds_us=%.1f\n",
	    t[R_SIGN_CI] * 1e6, t[R_SIGN_DS] * 1e6);
	printf("raw_verify_ci_us=%.1f\nraw_verify_ds_us=%.1f\n",
	    t[R_VER_CI] * 1e6, t[R_VER_DS] * 1e6);
	printf("raw_ecdh_us=%.1f\nraw_keygen_us=%.1f\nraw_pubcheck_us=%.1f\n",
	    t[R_ECDH] * 1e6, t[R_KEYGEN] * 1e6, t[R_PUBCHECK] * 1e6);
	printf("sign_rate_per_s=%.0f\n", 2 / t_sign2);
	printf("bound_cards_per_s_sign_only=%.0f\n", 1 / t_sign2);
	printf("bound_cards_per_s_all_pk=%.0f\n", 1 / t_min);
	printf("bound_all_pk_ms_per_card=%.3f\n", t_min * 1e3);
	/* Data preparation against sign rate / 2: two signatures a card. */
	printf("prep_cpu_ms_per_card=%.4f\n", d * 1e3);
	printf("prep_cards_per_s=%.0f\n", 1 / d);
	printf("ratio_prep_vs_sign=%.3f\n", t_sign2 / d);
	/* Like for like: card after card against the rate, and inside
	 * mic_perso_card() against the signatures timed where it signs. */
	printf("prep_stream_us=%.1f\n", t[R_STREAM] * 1e6);
	printf("ratio_stream_vs_sign=%.3f\n", t_sign2 / t[R_STREAM]);
	printf("cold_sign_ci_us=%.1f\ncold_sign_ds_us=%.1f\n",
	    t[R_COLD_CI] * 1e6, t[R_COLD_DS] * 1e6);
	printf("ratio_prep_vs_cold_sign=%.3f\n",
	    (t[R_COLD_CI] + t[R_COLD_DS]) / d);
	printf("prep_pk_sign=%.4g\nprep_pk_verify=%.4g\n",
	    (double)prep_pk[PK_SIGN] / (double)total,
	    (double)prep_pk[PK_VERIFY] / (double)total);
	printf("prep_pk_pubcheck=%.4g\n",
	    (double)prep_pk[PK_PUBCHECK] / (double)total);
	/* The two signed steps alone, warm: each is one signature and
	 * OpenSSL's X.509 or CMS code around it. */
	printf("step_cardcert_us=%.1f\nstep_sod_us=%.1f\n",
	    t[R_CARDCERT] * 1e6, t[R_SOD] * 1e6);
	/* Of the data preparation, the files and the PIN (a mean). */
	printf("prep_files_us=%.1f\n", prep_files / (double)total * 1e6);
	printf("host_cpu_ms_per_card=%.3f\n", h * 1e3);
	printf("card_cpu_ms_per_card=%.3f\n", k * 1e3);
	printf("libmic_host_cards_per_s=%.0f\n", 1 / h);
	printf("ratio_vs_sign_only=%.3f\n", (1 / h) / (1 / t_sign2));
	printf("ratio_vs_all_pk=%.3f\n", (1 / h) / (1 / t_min));
	printf("libmic_pk_sign=%.4g\nlibmic_pk_verify=%.4g\n",
	    per[PK_SIGN], per[PK_VERIFY]);
	printf("libmic_pk_ecdh=%.4g\nlibmic_pk_keygen=%.4g\n",
	    per[PK_DERIVE], per[PK_KEYGEN]);
	printf("libmic_pk_pubcheck=%.4g\n", per[PK_PUBCHECK]);
	printf("libmic_pk_ms_per_card=%.3f\n", t_lib * 1e3);
	printf("timer_ns=%.0f\n", clk * 1e9);
	if (report_apdus(&c) != 0)
		goto out;
	ret = 0;
out:
	EVP_PKEY_free(ci);
	EVP_PKEY_free(ds);
	EVP_PKEY_free(term);
	EVP_PKEY_free(ci_pub);
	EVP_PKEY_free(ds_pub);
	EVP_PKEY_free(sd);
	vc_card_free(&probe);
	if (have_steps)
		steps_free(&st);
	if (have_stream)
		stream_free(&ps);
	pc_free();
	for (int i = 0; i < APPS; i++)
		mic_application_free(&c.apps[i]);
	mic_perso_cfg_free(&c.cfg);
	vcf_free(&c.fac);
	if (c.dir != NULL)
		bu_rmrf(c.dir);
	free(c.dir);
	for (int i = 0; i < R_N; i++)
		free(raw[i]);
	free(host);
	free(card);
	free(prep);
	return ret;
}
