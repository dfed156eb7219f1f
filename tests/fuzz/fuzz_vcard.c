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
 *                    6, 7 blank
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

#include <mic/apdu.h>

#include "vcard.h"

#define STAGES 6

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

	if (stage >= 2)
		must(card, change, sizeof(change));
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

static void
build(struct snapshot *s)
{
	for (int stage = 0; stage < STAGES; stage++) {
		vc_card *card = NULL;
		const uint8_t *nv = NULL;

		if (vc_card_new(&card, "FUZZ0001", 0) != MIC_OK)
			abort();
		if (stage >= 1) {
			personalize(card);
			advance(card, stage);
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

/* One command APDU with every invariant checked. */
static void
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
		return;
	}
	if (run->torn) {
		if (rc != MIC_ERR_IO || memcmp(before, nv, nvlen) != 0)
			abort();
		*mute = 1;
		return;
	}
	if (rc != MIC_OK)
		abort();
	check_response(rsp, n, cap);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct snapshot snap;
	static uint8_t rsp[MIC_APDU_RSP_MAX];
	static uint8_t *before;
	struct run run;
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
	memset(&run, 0, sizeof(run));
	run.fail_at = data[1];
	if (vc_card_load(&run.card, snap.nv[stage], snap.len, flags) != MIC_OK)
		abort();
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
		else
			command(&run, data, len, rsp, cap, before, &mute);
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
	return 0;
}
