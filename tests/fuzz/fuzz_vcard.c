/*
 * The card engine against arbitrary APDU sequences, from any life cycle
 * state, with any terminal role, with torn commits.
 *
 * Input: two option bytes, then frames of a 2-byte big-endian length and
 * that many bytes. A frame of length 0 is a power cycle; of length 1, the
 * security status becomes role (byte % 8; 6 and 7 are out of range and
 * mean none); longer frames are command APDUs. A length past the end of
 * the input takes what is left.
 *   byte 0 bit 0     T=0 quirk mode
 *   byte 0 bit 1     a response buffer of 258 bytes instead of the largest
 *                    one, to exercise the card's own limit
 *   byte 0 bits 4-2  starting state: 0 blank, 1 personalized with the
 *                    transport PIN 111111, 2 personalized with PIN 123456,
 *                    3 active (balance 100000), 4 blocked, 5 terminated;
 *                    6 active with the chip factory's SCP11 keys and an
 *                    SCP11b channel open: command frames are wrapped by
 *                    the harness's host session (so hostile plain
 *                    commands reach every handler through unwrapping),
 *                    except frames whose CLA already has the SM bit,
 *                    which go raw (hostile cryptograms and MACs); 7 the
 *                    same card without a channel, so PERFORM SECURITY
 *                    OPERATION, the authenticates and GET DATA parse
 *                    hostile bytes. Stage 6 ignores bit 0 (the harness
 *                    wants its handshake answer whole)
 *   byte 0 bits 7-5  starting role, as a role frame
 *   byte 1           the commit that fails (1-255), 0 for none
 *
 * Invariants: every APDU gets MIC_OK and a response of 2 bytes or more that
 * fits the buffer, unless a commit failed: then MIC_ERR_IO, the persistent
 * state is exactly what it was before that command, and the card stays
 * mute until a power cycle. Only 9000, 61xx, 62xx and 63xx carry data; the
 * ATR keeps its shape; whatever the card stored loads again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <mic/apdu.h>

#include "sm_internal.h"
#include "vcard.h"

#define STAGES 8
#define STAGE_SCP 6       /* provisioned, SCP11b open */
#define STAGE_KEYS 7      /* provisioned, no channel */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Valid sample data (docs/card-profile.md section 2). */
static const uint8_t ef_card[] = {
	0x66, 0x4A, 0x80, 0x20, 0x31, 0x31, 0x30, 0x31, 0x30, 0x30,
	0x44, 0x31, 0x35, 0x36, 0x30, 0x30, 0x30, 0x30, 0x30, 0x31,
	0x31, 0x31, 0x30, 0x30, 0x30, 0x31, 0x30, 0x30, 0x30, 0x30,
	0x30, 0x30, 0x30, 0x30, 0x30, 0x31, 0x81, 0x09, 0x41, 0x31,
	0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x82, 0x01, 0x01,
	0x83, 0x02, 0x01, 0x00, 0x42, 0x06, 0x31, 0x31, 0x30, 0x31,
	0x30, 0x30, 0x5F, 0x25, 0x04, 0x20, 0x26, 0x01, 0x15, 0x5F,
	0x24, 0x04, 0x20, 0x36, 0x01, 0x14,
};
static const uint8_t ef_holder[] = {
	0x65, 0x30, 0x80, 0x12, 0x31, 0x31, 0x30, 0x31, 0x30, 0x35,
	0x31, 0x39, 0x38, 0x30, 0x30, 0x31, 0x30, 0x31, 0x30, 0x30,
	0x31, 0x36, 0x5F, 0x20, 0x06, 0xE5, 0xBC, 0xA0, 0xE4, 0xB8,
	0x89, 0x5F, 0x35, 0x01, 0x31, 0x5F, 0x2B, 0x04, 0x19, 0x80,
	0x01, 0x01, 0x81, 0x06, 0x31, 0x31, 0x30, 0x31, 0x30, 0x35,
};
static const uint8_t ef_insurance[] = {
	0xE1, 0x14, 0x80, 0x01, 0x31, 0x81, 0x06, 0x31, 0x31, 0x30,
	0x31, 0x30, 0x30, 0x82, 0x04, 0x20, 0x20, 0x07, 0x01, 0x83,
	0x01, 0x01,
};
static const uint8_t family_1[] = {
	0xE3, 0x2A, 0x80, 0x02, 0x32, 0x30, 0x81, 0x12, 0x31, 0x31,
	0x30, 0x31, 0x30, 0x35, 0x32, 0x30, 0x31, 0x30, 0x30, 0x31,
	0x30, 0x31, 0x30, 0x30, 0x32, 0x39, 0x5F, 0x20, 0x06, 0xE6,
	0x9D, 0x8E, 0xE5, 0x9B, 0x9B, 0x82, 0x01, 0x01, 0x83, 0x04,
	0x20, 0x26, 0x03, 0x01,
};

/* The starting states, built once through the card's own commands. */
struct snapshot {
	int ready;
	uint8_t *nv[STAGES];
	size_t len;
	EVP_PKEY *pk_sd;   /* PK.SD.ECKA of the provisioned card */
};

struct run {
	vc_card *card;
	unsigned commits;
	unsigned fail_at;
	int torn;          /* the last commit failed */
};

static void
check_response(const uint8_t *rsp, size_t len, size_t cap)
{
	uint8_t sw1;

	if (len < 2 || len > cap)
		abort();
	sw1 = rsp[len - 2];
	if (len > 2 && sw1 != 0x90 && sw1 != 0x61 && sw1 != 0x62 &&
	    sw1 != 0x63)
		abort();
	if (sw1 == 0x90 && rsp[len - 1] != 0x00)
		abort();
}

static void
check_atr(const vc_card *card)
{
	uint8_t atr[VC_ATR_MAX];
	uint8_t x = 0;
	size_t n = vc_card_atr(card, atr, sizeof(atr));

	if (n < 2 || atr[0] != 0x3B)
		abort();
	for (size_t i = 1; i < n; i++)
		x ^= atr[i];
	if (x != 0)
		abort();
}

/* One command while building a state: it must succeed. */
static void
must(vc_card *card, const uint8_t *cmd, size_t len)
{
	static uint8_t rsp[512];
	size_t n = sizeof(rsp);

	if (vc_card_transmit(card, cmd, len, rsp, &n) != MIC_OK || n < 2 ||
	    rsp[n - 2] != 0x90)
		abort();
}

static size_t
put_dgi(uint8_t *p, uint16_t tag, const uint8_t *v, size_t len)
{
	p[0] = (uint8_t)(tag >> 8);
	p[1] = (uint8_t)tag;
	p[2] = (uint8_t)len;
	memcpy(p + 3, v, len);
	return 3 + len;
}

static void
personalize(vc_card *card)
{
	static const uint8_t select[] = { 0x00, 0xA4, 0x04, 0x0C, 0x09,
	    0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01 };
	static const uint8_t genkey[] = { 0x00, 0x47, 0x80, 0x00, 0x00 };
	static const uint8_t der[] = { 0x30, 0x00 };
	static const uint8_t pin[] = { 0x26, 0x11, 0x11, 0x11, 0xFF, 0xFF,
	    0xFF, 0xFF };
	uint8_t cmd[512], rec[128];
	size_t n = 7;

	vc_card_test_set_role(card, VC_ROLE_BUREAU);
	must(card, select, sizeof(select));
	must(card, genkey, sizeof(genkey));
	memset(rec, 0, sizeof(rec));
	memcpy(rec, family_1, sizeof(family_1));
	n += put_dgi(cmd + n, 0x0101, ef_card, sizeof(ef_card));
	n += put_dgi(cmd + n, 0x0102, ef_holder, sizeof(ef_holder));
	n += put_dgi(cmd + n, 0x0103, ef_insurance, sizeof(ef_insurance));
	n += put_dgi(cmd + n, 0x0104, der, sizeof(der));
	n += put_dgi(cmd + n, 0x0105, der, sizeof(der));
	n += put_dgi(cmd + n, 0x0107, rec, sizeof(rec));
	n += put_dgi(cmd + n, 0x8010, pin, sizeof(pin));
	/* STORE DATA, last block 00, extended Lc. */
	cmd[0] = 0x80;
	cmd[1] = 0xE2;
	cmd[2] = 0x80;
	cmd[3] = 0x00;
	cmd[4] = 0x00;
	cmd[5] = (uint8_t)((n - 7) >> 8);
	cmd[6] = (uint8_t)(n - 7);
	must(card, cmd, n);
}

static void
advance(vc_card *card, int stage)
{
	static const uint8_t change[] = { 0x00, 0x24, 0x00, 0x81, 0x10,
	    0x26, 0x11, 0x11, 0x11, 0xFF, 0xFF, 0xFF, 0xFF,
	    0x26, 0x12, 0x34, 0x56, 0xFF, 0xFF, 0xFF, 0xFF };
	static const uint8_t activate[] = { 0x00, 0x44, 0x00, 0x00, 0x0F,
	    0x20, 0x26, 0x03, 0x02, 0x10, 0x11, 0x12,
	    'B', 'A', 'N', 'K', '0', '0', '0', '1' };
	static const uint8_t credit[] = { 0x80, 0x52, 0x00, 0x00, 0x28,
	    0, 0, 0, 0, 0, 0x01, 0x86, 0xA0,
	    0x20, 0x26, 0x11, 0x23, 0x14, 0x05, 0x59,
	    'A', 'G', 'E', 'N', 'C', 'Y', '0', '1',
	    0xC0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
	    0x00, 0x00 };
	static const uint8_t block[] = { 0x00, 0x04, 0x00, 0x00, 0x01, 0x01 };
	static const uint8_t terminate[] = { 0x00, 0xE6, 0x00, 0x00, 0x01,
	    0x02 };

	if (stage >= 2) {
		/* The PIN change is a write: the bank's channel (4.3). */
		vc_card_test_set_role(card, VC_ROLE_BANK);
		must(card, change, sizeof(change));
		vc_card_test_set_role(card, VC_ROLE_NONE);
	}
	if (stage >= 3) {
		vc_card_test_set_role(card, VC_ROLE_BANK);
		must(card, activate, sizeof(activate));
		vc_card_test_set_role(card, VC_ROLE_AGENCY);
		must(card, credit, sizeof(credit));
	}
	if (stage >= 4)
		must(card, block, sizeof(block));
	if (stage >= 5)
		must(card, terminate, sizeof(terminate));
}

/* A certificate over @p key signed by @p ca_key (NULL: self, a CA). */
static int
der_cert(EVP_PKEY *key, EVP_PKEY *ca_key, X509 *ca, uint8_t *out, size_t cap,
    size_t *len)
{
	X509 *x = X509_new();
	X509_EXTENSION *e = NULL;
	unsigned char *p = out;
	int n, rc = -1;

	if (x == NULL || X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365) == NULL ||
	    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)(ca ? "card" : "root"), -1,
	    -1, 0) != 1 ||
	    X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) :
	    X509_get_subject_name(x)) != 1 ||
	    X509_set_pubkey(x, key) != 1)
		goto out;
	if (ca == NULL && ((e = X509V3_EXT_conf_nid(NULL, NULL,
	    NID_basic_constraints, "critical,CA:TRUE")) == NULL ||
	    X509_add_ext(x, e, -1) != 1))
		goto out;
	if (X509_sign(x, ca_key ? ca_key : key, EVP_sha256()) <= 0 ||
	    (n = i2d_X509(x, NULL)) <= 0 || (size_t)n > cap ||
	    i2d_X509(x, &p) != n)
		goto out;
	*len = (size_t)n;
	rc = 0;
out:
	X509_EXTENSION_free(e);
	X509_free(x);
	return rc;
}

/* The chip factory (docs/card-profile.md 4.4), with a throwaway PKI. */
static void
factory(vc_card *card, struct snapshot *s)
{
	uint8_t pub[65], root[1024], cert[1024];
	const unsigned char *q = root;
	size_t rlen = 0, clen = 0;
	EVP_PKEY *ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	OSSL_PARAM params[3];
	char group[] = "prime256v1";
	EVP_PKEY *pk = NULL;
	X509 *rx;

	if (ca == NULL || ctx == NULL ||
	    vc_card_factory_key(card, pub) != MIC_OK)
		abort();
	params[0] = OSSL_PARAM_construct_utf8_string("group", group, 0);
	params[1] = OSSL_PARAM_construct_octet_string("pub", pub, sizeof(pub));
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		abort();
	if (der_cert(ca, NULL, NULL, root, sizeof(root), &rlen) != 0 ||
	    (rx = d2i_X509(NULL, &q, (long)rlen)) == NULL)
		abort();
	if (der_cert(pk, ca, rx, cert, sizeof(cert), &clen) != 0 ||
	    vc_card_factory_finish(card, cert, clen, root, rlen, 1800000000) !=
	    MIC_OK)
		abort();
	X509_free(rx);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(ca);
	/* The channel of the SCP stage is opened with this card's key. */
	if (s->pk_sd == NULL)
		s->pk_sd = pk;
	else
		EVP_PKEY_free(pk);
}

/* SCP11b with the harness's host half; NULL if the card refused. */
static mici_sm *
open_b(vc_card *card, EVP_PKEY *pk_sd)
{
	static const uint8_t select[] = { 0x00, 0xA4, 0x04, 0x0C, 0x09,
	    0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01 };
	uint8_t data[MICI_SCP11_AUTH_DATA_LEN], cmd[128], rsp[256];
	EVP_PKEY *esk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	mici_sm *sm = NULL;
	size_t len = 0, n = sizeof(rsp);

	must(card, select, sizeof(select));
	if (esk == NULL || mici_scp11_auth_data(MICI_SCP11B, esk, data,
	    sizeof(data), &len) != MIC_OK)
		abort();
	memcpy(cmd, (const uint8_t[]){ 0x80, 0x88, 0x01, 0x13,
	    (uint8_t)len }, 5);
	memcpy(cmd + 5, data, len);
	cmd[5 + len] = 0x00;
	if (vc_card_transmit(card, cmd, 6 + len, rsp, &n) != MIC_OK || n < 2 ||
	    rsp[n - 2] != 0x90 || mici_scp11_host_session(MICI_SCP11B, esk,
	    NULL, pk_sd, data, len, rsp, n - 2, &sm) != MIC_OK)
		abort();
	EVP_PKEY_free(esk);
	return sm;
}

static void
build(struct snapshot *s)
{
	for (int stage = 0; stage < STAGES; stage++) {
		vc_card *card = NULL;
		const uint8_t *nv = NULL;

		if (vc_card_new(&card, "FUZZ0001", 0) != MIC_OK)
			abort();
		if (stage >= STAGE_SCP)
			factory(card, s);
		if (stage >= 1) {
			personalize(card);
			advance(card, stage >= STAGE_SCP ? 3 : stage);
		}
		vc_card_nv(card, &nv, &s->len);
		if ((s->nv[stage] = malloc(s->len)) == NULL)
			abort();
		memcpy(s->nv[stage], nv, s->len);
		vc_card_free(&card);
	}
	s->ready = 1;
}

static mic_rc
commit(void *arg, const uint8_t *nv, size_t len)
{
	struct run *run = arg;

	(void)nv;
	(void)len;
	run->torn = ++run->commits == run->fail_at;
	return run->torn ? MIC_ERR_IO : MIC_OK;
}

static enum vc_role
role_of(uint8_t b)
{
	/* 6 and 7 are outside the enum: the card must treat them as none. */
	return (enum vc_role)(b % 8);
}

/*
 * Wrap a frame with the host session when it decodes as a command the
 * host could send; frames that already carry SM go raw. Returns the bytes
 * to send (in @p buf or @p cmd).
 */
static const uint8_t *
maybe_wrap(mici_sm *sm, const uint8_t *cmd, size_t *len, uint8_t *buf,
    size_t cap)
{
	static uint8_t data[MICI_SM_NC_MAX + 32];
	mic_apdu a, w;
	size_t n = 0;

	if (sm == NULL || !mici_sm_is_open(sm) ||
	    mic_apdu_decode(cmd, *len, &a) != MIC_OK || (a.cla & 0x1C) != 0 ||
	    mici_sm_wrap_command(sm, &a, &w, data, sizeof(data)) != MIC_OK ||
	    mic_apdu_encode(&w, MIC_APDU_AUTO, buf, cap, &n) != MIC_OK)
		return cmd;
	*len = n;
	return buf;
}

/*
 * One command APDU with every invariant checked; returns the response
 * length (0 if the card went mute).
 */
static size_t
command(struct run *run, const uint8_t *cmd, size_t len, uint8_t *rsp,
    size_t cap, uint8_t *before, int *mute)
{
	const uint8_t *nv = NULL;
	size_t n = cap, nvlen = 0;
	mic_rc rc;

	vc_card_nv(run->card, &nv, &nvlen);
	memcpy(before, nv, nvlen);
	run->torn = 0;
	rc = vc_card_transmit(run->card, cmd, len, rsp, &n);
	if (*mute) {
		if (rc != MIC_ERR_IO)
			abort();
		return 0;
	}
	if (run->torn) {
		if (rc != MIC_ERR_IO || memcmp(before, nv, nvlen) != 0)
			abort();
		*mute = 1;
		return 0;
	}
	if (rc != MIC_OK)
		abort();
	check_response(rsp, n, cap);
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct snapshot snap;
	static uint8_t rsp[MIC_APDU_RSP_MAX];
	static uint8_t *before;
	static uint8_t wrapped[MIC_APDU_CMD_MAX];
	struct run run;
	mici_sm *sm = NULL;
	const uint8_t *nv = NULL;
	vc_card *again = NULL;
	unsigned flags, stage;
	size_t cap, nvlen = 0;
	int mute = 0;

	if (size < 2)
		return 0;
	if (!snap.ready) {
		build(&snap);
		if ((before = malloc(snap.len)) == NULL)
			abort();
	}
	flags = (data[0] & 0x01) ? VC_CARD_T0_QUIRKS : 0;
	cap = (data[0] & 0x02) ? 258 : sizeof(rsp);
	stage = (data[0] >> 2) & 0x07;
	if (stage >= STAGES)
		stage = 0;
	/* The harness's handshake expects the whole answer at once. */
	if (stage == STAGE_SCP)
		flags = 0;
	memset(&run, 0, sizeof(run));
	run.fail_at = data[1];
	if (vc_card_load(&run.card, snap.nv[stage], snap.len, flags) != MIC_OK)
		abort();
	if (stage == STAGE_SCP)
		sm = open_b(run.card, snap.pk_sd);
	vc_card_set_commit(run.card, commit, &run);
	vc_card_test_set_role(run.card, role_of(data[0] >> 5));
	data += 2;
	size -= 2;
	while (size >= 2) {
		size_t len = (size_t)data[0] << 8 | data[1];

		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		if (len == 0) {
			vc_card_power_off(run.card);
			mute = 0;
			continue;
		}
		if (len == 1)
			vc_card_test_set_role(run.card, role_of(data[0]));
		else {
			size_t n = len;
			const uint8_t *c = maybe_wrap(sm, data, &n, wrapped,
			    sizeof(wrapped));

			n = command(&run, c, n, rsp, cap, before, &mute);
			/* Keep the host in step; a failure closes it. */
			if (c == wrapped && n >= 2) {
				static uint8_t plain[MIC_APDU_RSP_MAX];
				size_t pl = 0;

				(void)mici_sm_unwrap_response(sm, rsp, n - 2,
				    (uint16_t)(rsp[n - 2] << 8 | rsp[n - 1]),
				    plain, sizeof(plain), &pl);
			}
		}
		data += len;
		size -= len;
	}
	check_atr(run.card);
	/* Whatever the card committed, it can start from again. */
	vc_card_nv(run.card, &nv, &nvlen);
	if (vc_card_load(&again, nv, nvlen, flags) != MIC_OK ||
	    vc_card_state(again) != vc_card_state(run.card))
		abort();
	vc_card_free(&again);
	vc_card_free(&run.card);
	mici_sm_free(&sm);
	return 0;
}
