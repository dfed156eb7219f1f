/*
 * The card engine: one command APDU in, one response APDU out.
 *
 * State is split the way a real card splits it. struct vc_nv is what sits in
 * EEPROM and survives a power cycle (the file system, the card life cycle,
 * the serial); struct vc_ram is lost on power off and reset (current DF and
 * EF, security status, the chaining buffer, data waiting for GET RESPONSE).
 *
 * Commands are found by INS in a table; each entry says whether it accepts
 * command chaining. Every file access goes through card->access, the access
 * condition hook, which later steps extend with PINs, secure channel state,
 * terminal roles and file life cycle states.
 *
 * Response data and the status word are handled in one place (respond()),
 * which applies Ne, stores what does not fit for GET RESPONSE and, in T=0
 * quirk mode, answers 61xx and 6Cxx the way a T=0 card does.
 */
#include <stdlib.h>
#include <string.h>

#include <mic/apdu.h>
#include <mic/tlv.h>

#include "fs.h"
#include "internal.h"
#include "vcard.h"

#define SW_OK 0x9000
#define SW_EOF 0x6282
#define SW_WRONG_LENGTH 0x6700
#define SW_CHANNEL 0x6881
#define SW_SM 0x6882
#define SW_LAST_CHAIN 0x6883
#define SW_NO_CHAINING 0x6884
#define SW_FILE_TYPE 0x6981
#define SW_SECURITY 0x6982
#define SW_CONDITIONS 0x6985
#define SW_NO_EF 0x6986
#define SW_NOT_FOUND 0x6A82
#define SW_NO_MEMORY 0x6A84
#define SW_P1P2 0x6A86
#define SW_OFFSET 0x6B00
#define SW_INS 0x6D00
#define SW_CLA 0x6E00
#define SW_UNKNOWN 0x6F00

#define CLA_CHAIN 0x10

/* Step-1 file identifiers, documented with the file system in build_fs(). */
#define FID_DIR 0x2F00
#define FID_APP 0xDF01
#define FID_CARD 0x0101
#define FID_DATA 0x0102
#define FID_LOG 0x0109
#define SFI_DIR 30
#define SFI_CARD 1
#define SFI_DATA 2
#define SFI_LOG 9
#define CARD_SIZE 128
#define DATA_SIZE 1024
#define LOG_RECORDS 30
#define LOG_RECLEN 48

struct vc_chain {
	int active;
	uint8_t cla;       /* of the first part, without the chaining bit */
	uint8_t ins;
	uint8_t p1;
	uint8_t p2;
	size_t len;
	uint8_t buf[VC_CHAIN_MAX];
};

/* Response data kept in card->out for the next command, if GET RESPONSE. */
struct vc_pending {
	int active;
	size_t off;
	size_t len;
	uint16_t sw;       /* the status word once everything has been fetched */
};

struct vc_ram {
	int cur_df;
	int cur_ef;        /* -1: no current EF */
	uint32_t security; /* security status; PINs and secure channel later */
	struct vc_chain chain;
	struct vc_pending pend;
};

struct vc_nv {
	struct vc_fs fs;
	uint8_t lcs;       /* card life cycle, also in the ATR status indicator */
	char serial[VC_SERIAL_MAX + 1];
};

typedef uint16_t vc_access_fn(const struct vc_card *card, int idx,
    enum vc_op op);

struct vc_card {
	struct vc_nv nv;
	struct vc_ram ram;
	unsigned flags;
	vc_access_fn *access;
	uint8_t out[MIC_APDU_NE_MAX_EXT]; /* response data being built */
};

struct vc_req {
	mic_apdu a;
	int ext;                /* sent with extended length fields */
	int le_max;             /* Le was 00 (short) or 0000 (extended) */
	int is_case2;           /* as sent: no data field, an Le field */
	struct vc_pending pend; /* what the previous command left for us */
};

struct vc_rsp {
	uint8_t *buf;
	size_t cap;
	size_t off;   /* the data is buf[off .. off + len) */
	size_t len;
};

typedef uint16_t vc_cmd_fn(struct vc_card *card, struct vc_req *req,
    struct vc_rsp *r);

#define CMD_CHAIN 0x01   /* the command accepts command chaining */

struct vc_cmd {
	uint8_t ins;
	uint8_t flags;
	vc_cmd_fn *fn;
};

static vc_cmd_fn cmd_select, cmd_read_binary, cmd_update_binary,
    cmd_get_response;

/*
 * Later steps add VERIFY, CHANGE REFERENCE DATA, READ/UPDATE/APPEND RECORD,
 * ACTIVATE/DEACTIVATE FILE, TERMINATE DF, GET DATA, the SCP11 commands...
 */
static const struct vc_cmd cmd_table[] = {
	{ 0xA4, 0, cmd_select },
	{ 0xB0, 0, cmd_read_binary },
	{ 0xC0, 0, cmd_get_response },
	{ 0xD6, CMD_CHAIN, cmd_update_binary },
};

static void
ram_reset(struct vc_card *card)
{
	/* The chaining buffer and out may hold secrets in later steps. */
	mici_wipe(&card->ram, sizeof(card->ram));
	mici_wipe(card->out, sizeof(card->out));
	card->ram.cur_df = 0;   /* the MF is implicitly selected after reset */
	card->ram.cur_ef = -1;
}

/*
 * The answer-to-reset, T=1 only (ISO/IEC 7816-3 clause 8):
 *
 *   3B          TS  direct convention
 *   87          T0  TD1 follows; K = 7 historical bytes
 *   81          TD1 TD2 follows; T=1
 *   31          TD2 TA3 and TB3 follow; T=1
 *   FE          TA3 IFSC = 254
 *   45          TB3 BWI = 4, CWI = 5
 *   80          category indicator: compact-TLV objects follow, no status
 *               bytes at the end (ISO/IEC 7816-4 clause 12.1.1)
 *   73 D4 21 C0 card capabilities (12.1.1.10):
 *               D4  selection by full DF name, partial DF name, FID; SFI
 *               21  data coding: proprietary write behaviour, 1-byte units
 *               C0  command chaining, extended Lc and Le; no logical channels
 *   81 05       status indicator: card life cycle 05 (operational, activated)
 *   TCK         exclusive-or of T0 to the last historical byte; required
 *               because a protocol other than T=0 is indicated
 *
 * With LCS 05 this is 3B 87 81 31 FE 45 80 73 D4 21 C0 81 05 CE.
 */
size_t
vc_card_atr(const vc_card *card, uint8_t *atr, size_t cap)
{
	static const uint8_t head[] = {
		0x3B, 0x87, 0x81, 0x31, 0xFE, 0x45,
		0x80, 0x73, 0xD4, 0x21, 0xC0, 0x81,
	};
	size_t n = 0;
	uint8_t tck = 0;

	if (card == NULL || atr == NULL || cap < sizeof(head) + 2)
		return 0;
	memcpy(atr, head, sizeof(head));
	n = sizeof(head);
	atr[n++] = card->nv.lcs;
	for (size_t i = 1; i < n; i++)
		tck ^= atr[i];
	atr[n++] = tck;
	return n;
}

/*
 * The step-1 file system (docs/card-profile.md marks it "step 1"):
 *
 *   MF 3F00
 *   +-- EF.DIR 2F00, SFI 30, transparent: 61 { 4F <AID>, 50 "MIC" };
 *   |           read always, update never
 *   +-- DF.MIC DF01, DF name VC_MIC_AID
 *       +-- EF.CARD 0101, SFI 1, transparent, 128 bytes:
 *       |           66 { 80 <serial, ASCII> }, then 00 up to the file size
 *       |           (the profile's card data template with the card
 *       |           identification code; the other data objects come later)
 *       +-- EF.DATA 0102, SFI 2, transparent, 1024 bytes, byte i = i mod 251
 *       |           (251 is prime to 256, so a read from a wrong offset or
 *       |           block never matches); a test file for long reads
 *       +-- EF.LOG  0109, SFI 9, cyclic, 30 records of 48 zero bytes; the
 *                   transaction log's place, without record commands yet
 *
 * The EFs of DF.MIC allow READ and UPDATE always, in RAM only for now.
 */
static int
put_file(struct vc_fs *fs, int parent, uint16_t fid, uint8_t sfi,
    const uint8_t *data, size_t len, uint8_t ac_update)
{
	int idx;

	if ((idx = vc_fs_add_ef(fs, parent, fid, sfi, VC_FT_TRANSPARENT, len,
	    0)) < 0)
		return -1;
	memcpy(vc_fs_body(fs, idx), data, len);
	fs->file[idx].ac[VC_OP_UPDATE] = ac_update;
	return idx;
}

static int
build_fs(struct vc_fs *fs, const char *serial)
{
	static const uint8_t aid[] = VC_MIC_AID;
	static const uint8_t label[] = { 'M', 'I', 'C' };
	uint8_t buf[DATA_SIZE];
	mic_tlv_writer w;
	size_t len;
	int app;

	vc_fs_init(fs);

	mic_tlv_writer_init(&w, buf, sizeof(buf));
	mic_tlv_open(&w, 0x61);
	mic_tlv_put(&w, 0x4F, aid, sizeof(aid));
	mic_tlv_put(&w, 0x50, label, sizeof(label));
	mic_tlv_close(&w);
	if (mic_tlv_writer_finish(&w, &len) != MIC_OK ||
	    put_file(fs, 0, FID_DIR, SFI_DIR, buf, len, VC_AC_NEVER) < 0)
		return -1;

	if ((app = vc_fs_add_df(fs, 0, FID_APP, aid, sizeof(aid))) < 0)
		return -1;

	memset(buf, 0, CARD_SIZE);
	mic_tlv_writer_init(&w, buf, CARD_SIZE);
	mic_tlv_open(&w, 0x66);
	mic_tlv_put(&w, 0x80, (const uint8_t *)serial, strlen(serial));
	mic_tlv_close(&w);
	if (mic_tlv_writer_finish(&w, &len) != MIC_OK ||
	    put_file(fs, app, FID_CARD, SFI_CARD, buf, CARD_SIZE,
	    VC_AC_ALWAYS) < 0)
		return -1;

	for (size_t i = 0; i < DATA_SIZE; i++)
		buf[i] = (uint8_t)(i % 251);
	if (put_file(fs, app, FID_DATA, SFI_DATA, buf, DATA_SIZE,
	    VC_AC_ALWAYS) < 0)
		return -1;

	if (vc_fs_add_ef(fs, app, FID_LOG, SFI_LOG, VC_FT_CYCLIC,
	    LOG_RECORDS * LOG_RECLEN, LOG_RECLEN) < 0)
		return -1;
	return 0;
}

/*
 * Step 1 knows only ALWAYS and NEVER. Later: the file's life cycle state
 * (a deactivated EF refuses reads and updates, a terminated DF everything)
 * and PIN, secure channel and terminal role conditions against
 * card->ram.security.
 */
static uint16_t
access_default(const struct vc_card *card, int idx, enum vc_op op)
{
	const struct vc_file *f = vc_fs_get(&card->nv.fs, idx);

	if (f == NULL || (unsigned)op >= VC_OP_COUNT)
		return SW_UNKNOWN;
	if (f->ac[op] == VC_AC_ALWAYS)
		return SW_OK;
	return SW_SECURITY;
}

static int
valid_serial(const char *s)
{
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > VC_SERIAL_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7E)
			return 0;
	return 1;
}

mic_rc
vc_card_new(vc_card **out, const char *serial, unsigned flags)
{
	struct vc_card *card = NULL;

	if (out == NULL || !valid_serial(serial) ||
	    (flags & ~VC_CARD_T0_QUIRKS) != 0)
		return MIC_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if ((card = calloc(1, sizeof(*card))) == NULL)
		return MIC_ERR_NOMEM;
	if (build_fs(&card->nv.fs, serial) < 0) {
		mici_debug("%s: step-1 file system does not fit", __func__);
		free(card);
		return MIC_ERR_INTERNAL;
	}
	memcpy(card->nv.serial, serial, strlen(serial) + 1);
	card->nv.lcs = VC_LCS_ACTIVATED;
	card->flags = flags;
	card->access = access_default;
	ram_reset(card);
	*out = card;
	return MIC_OK;
}

void
vc_card_free(vc_card **card)
{
	if (card == NULL || *card == NULL)
		return;
	mici_wipe(*card, sizeof(**card));
	free(*card);
	*card = NULL;
}

void
vc_card_power_off(vc_card *card)
{
	if (card != NULL)
		ram_reset(card);
}

void
vc_card_reset(vc_card *card)
{
	if (card != NULL)
		ram_reset(card);
}

/* Append @p len bytes to the response data. */
static int
rsp_put(struct vc_rsp *r, const uint8_t *p, size_t len)
{
	if (len > r->cap - r->off - r->len)
		return -1;
	memcpy(r->buf + r->off + r->len, p, len);
	r->len += len;
	return 0;
}

/*
 * SELECT (ISO/IEC 7816-4 clause 11.2.2).
 *
 * P1: 00 MF, DF or EF by FID (no data: the MF), 01 child DF, 02 EF under the
 * current DF, 03 parent DF, 04 by DF name (right-truncated names match).
 * Path selection (08, 09) is not offered; the ATR does not claim it.
 *
 * P2 bits 2-1, only with P1=04: 00 first or only occurrence, 10 next
 * occurrence; last and previous (01, 11) are refused with 6A86.
 *
 * P2 bits 4-3 choose the response data:
 *   00  FCI: template 6F holding the FCP data objects directly
 *   01  FCP: template 62 with 82 descriptor, 83 FID, 84 DF name, 80 size,
 *       88 SFI, 8A life cycle (see vc_fs_fcp())
 *   10  FMD: template 64 holding 84 DF name for a named DF, else empty
 *   11  no response data
 * The data is returned only if the command has an Le field, as ISO 7816-4
 * clause 5.1 says no data is expected when Le is absent; in T=0 quirk mode
 * it waits for GET RESPONSE instead, as on a T=0 card. P2 bits 8-5 must be
 * zero.
 */
static uint16_t
select_response(struct vc_card *card, int idx, uint8_t p2, struct vc_rsp *r)
{
	const struct vc_file *f = vc_fs_get(&card->nv.fs, idx);
	uint8_t fcp[64];
	mic_tlv_writer w;
	uint32_t tag;
	size_t n = 0;

	switch (p2 & 0x0C) {
	case 0x0C:
		return SW_OK;
	case 0x08:
		tag = 0x64;
		if (f->type == VC_FT_DF && f->aid_len > 0) {
			mic_tlv_writer_init(&w, fcp, sizeof(fcp));
			mic_tlv_put(&w, 0x84, f->aid, f->aid_len);
			if (mic_tlv_writer_finish(&w, &n) != MIC_OK)
				return SW_UNKNOWN;
		}
		break;
	case 0x04:
		tag = 0x62;
		if ((n = vc_fs_fcp(&card->nv.fs, idx, fcp, sizeof(fcp))) == 0)
			return SW_UNKNOWN;
		break;
	default:
		tag = 0x6F;
		if ((n = vc_fs_fcp(&card->nv.fs, idx, fcp, sizeof(fcp))) == 0)
			return SW_UNKNOWN;
		break;
	}
	mic_tlv_writer_init(&w, r->buf + r->off, r->cap - r->off);
	mic_tlv_put(&w, tag, fcp, n);
	if (mic_tlv_writer_finish(&w, &r->len) != MIC_OK)
		return SW_UNKNOWN;
	return SW_OK;
}

static uint16_t
select_target(const struct vc_card *card, const mic_apdu *a, int *idx)
{
	const struct vc_fs *fs = &card->nv.fs;
	int cur = card->ram.cur_df;
	uint8_t occ = a->p2 & 0x03;
	uint16_t fid = a->nc == 2 ? mici_get_u16(a->data) : 0;

	if (a->p1 != 0x04 && occ != 0)
		return SW_P1P2;
	switch (a->p1) {
	case 0x00:
		if (a->nc == 0) {
			*idx = 0;
			return SW_OK;
		}
		if (a->nc != 2)
			return SW_WRONG_LENGTH;
		*idx = vc_fs_find_fid(fs, cur, fid);
		break;
	case 0x01:
	case 0x02:
		if (a->nc != 2)
			return SW_WRONG_LENGTH;
		*idx = vc_fs_find_child(fs, cur, fid, a->p1 == 0x01);
		break;
	case 0x03:
		if (a->nc != 0)
			return SW_WRONG_LENGTH;
		*idx = cur == 0 ? -1 : fs->file[cur].parent;
		break;
	case 0x04:
		if (occ != 0x00 && occ != 0x02)
			return SW_P1P2;
		if (a->nc == 0 || a->nc > VC_AID_MAX)
			return SW_WRONG_LENGTH;
		*idx = vc_fs_find_name(fs, a->data, a->nc,
		    occ == 0x02 ? cur : -1);
		break;
	default:
		return SW_P1P2;
	}
	return *idx < 0 ? SW_NOT_FOUND : SW_OK;
}

static uint16_t
cmd_select(struct vc_card *card, struct vc_req *req, struct vc_rsp *r)
{
	const struct vc_fs *fs = &card->nv.fs;
	int idx = -1;
	uint16_t sw;

	if ((req->a.p2 & 0xF0) != 0)
		return SW_P1P2;
	if ((sw = select_target(card, &req->a, &idx)) != SW_OK)
		return sw;
	/* Later: a deactivated file answers 6283, a terminated DF 6285. */
	if (vc_fs_is_df(fs, idx)) {
		card->ram.cur_df = idx;
		card->ram.cur_ef = -1;
	} else {
		card->ram.cur_df = fs->file[idx].parent;
		card->ram.cur_ef = idx;
	}
	return select_response(card, idx, req->a.p2, r);
}

/*
 * The EF that READ BINARY and UPDATE BINARY address: P1 bit 8 set means
 * P1 bits 5-1 are an SFI in the current DF and P2 the offset (0-255), with
 * P1 bits 7-6 zero; otherwise the current EF at the 15-bit offset P1-P2.
 */
static uint16_t
binary_target(const struct vc_card *card, const mic_apdu *a, enum vc_op op,
    int *idx, size_t *off)
{
	const struct vc_fs *fs = &card->nv.fs;
	uint16_t sw;

	if (a->p1 & 0x80) {
		uint8_t sfi = a->p1 & 0x1F;
		if ((a->p1 & 0x60) != 0 || sfi == 0 || sfi == 31)
			return SW_P1P2;
		if ((*idx = vc_fs_find_sfi(fs, card->ram.cur_df, sfi)) < 0)
			return SW_NOT_FOUND;
		*off = a->p2;
	} else {
		if ((*idx = card->ram.cur_ef) < 0)
			return SW_NO_EF;
		*off = ((size_t)a->p1 << 8) | a->p2;
	}
	if (fs->file[*idx].type != VC_FT_TRANSPARENT)
		return SW_FILE_TYPE;
	if ((sw = card->access(card, *idx, op)) != SW_OK)
		return sw;
	return SW_OK;
}

/*
 * READ BINARY (clause 11.3.3). Offset at or beyond the end: 6B00. Le of 00
 * or 0000 reads up to the end of the file within 256 or 65536 bytes, with
 * 9000; any other Le reaching past the end returns what there is, with 6282.
 */
static uint16_t
cmd_read_binary(struct vc_card *card, struct vc_req *req, struct vc_rsp *r)
{
	const mic_apdu *a = &req->a;
	size_t off = 0, avail, n;
	uint16_t sw;
	int idx = -1;

	if (a->nc != 0 || a->ne == 0)
		return SW_WRONG_LENGTH;
	if ((sw = binary_target(card, a, VC_OP_READ, &idx, &off)) != SW_OK)
		return sw;
	card->ram.cur_df = card->nv.fs.file[idx].parent;
	card->ram.cur_ef = idx;
	if (off >= card->nv.fs.file[idx].size)
		return SW_OFFSET;
	avail = card->nv.fs.file[idx].size - off;
	n = avail < a->ne ? avail : a->ne;
	if (rsp_put(r, vc_fs_body(&card->nv.fs, idx) + off, n) < 0)
		return SW_UNKNOWN;
	return n < a->ne && !req->le_max ? SW_EOF : SW_OK;
}

/*
 * UPDATE BINARY (clause 11.3.5), RAM only in step 1. Offset at or beyond
 * the end: 6B00; data running past the end: 6A84, and nothing is written.
 */
static uint16_t
cmd_update_binary(struct vc_card *card, struct vc_req *req, struct vc_rsp *r)
{
	const mic_apdu *a = &req->a;
	size_t off = 0, size;
	uint16_t sw;
	int idx = -1;

	(void)r;
	if (a->nc == 0 || a->ne != 0)
		return SW_WRONG_LENGTH;
	if ((sw = binary_target(card, a, VC_OP_UPDATE, &idx, &off)) != SW_OK)
		return sw;
	card->ram.cur_df = card->nv.fs.file[idx].parent;
	card->ram.cur_ef = idx;
	size = card->nv.fs.file[idx].size;
	if (off >= size)
		return SW_OFFSET;
	if (a->nc > size - off)
		return SW_NO_MEMORY;
	memcpy(vc_fs_body(&card->nv.fs, idx) + off, a->data, a->nc);
	return SW_OK;
}

/*
 * GET RESPONSE (clause 11.7.1): only right after the command that left
 * data; otherwise 6985.
 */
static uint16_t
cmd_get_response(struct vc_card *card, struct vc_req *req, struct vc_rsp *r)
{
	(void)card;
	if (req->a.p1 != 0 || req->a.p2 != 0)
		return SW_P1P2;
	if (req->a.nc != 0 || req->a.ne == 0)
		return SW_WRONG_LENGTH;
	if (!req->pend.active)
		return SW_CONDITIONS;
	r->off = req->pend.off;
	r->len = req->pend.len;
	return req->pend.sw;
}

/*
 * CLA (ISO/IEC 7816-4 clause 5.4.1). Only the interindustry classes are
 * known; this card has the basic channel only and no secure messaging yet.
 */
static uint16_t
check_cla(uint8_t cla)
{
	unsigned chan, sm;

	if (cla == 0xFF || (cla & 0x80) != 0)
		return SW_CLA;   /* invalid, or proprietary: none yet */
	if ((cla & 0xE0) == 0x00) {
		chan = cla & 0x03;
		sm = (cla >> 2) & 0x03;
	} else if ((cla & 0xC0) == 0x40) {
		chan = 4 + (cla & 0x0F);
		sm = (cla >> 5) & 0x01;
	} else
		return SW_CLA;   /* 001x xxxx is reserved */
	if (chan != 0)
		return SW_CHANNEL;
	if (sm != 0)
		return SW_SM;
	return SW_OK;
}

static const struct vc_cmd *
find_cmd(uint8_t ins)
{
	for (size_t i = 0; i < MIC_ARRAY_LEN(cmd_table); i++)
		if (cmd_table[i].ins == ins)
			return &cmd_table[i];
	return NULL;
}

static void
chain_abort(struct vc_card *card)
{
	mici_wipe(&card->ram.chain, sizeof(card->ram.chain));
}

/*
 * Command chaining (clause 5.3.3), assembled on the card in a buffer of
 * VC_CHAIN_MAX bytes. Each part must repeat the INS, P1 and P2 (and CLA
 * apart from the chaining bit) of the first; a command that does not ends
 * the chain with 6883. A chain that grows beyond the buffer ends with 6A84,
 * the card being out of memory. Commands without chaining support answer a
 * chained part with 6884. The Le of non-final parts is ignored.
 *
 * Returns 0 when @p req now holds the complete command, else the SW to answer.
 */
static uint16_t
chain_step(struct vc_card *card, const struct vc_cmd *c, struct vc_req *req,
    int more)
{
	struct vc_chain *ch = &card->ram.chain;
	mic_apdu *a = &req->a;
	uint8_t cla = a->cla & (uint8_t)~CLA_CHAIN;

	if (more && (c->flags & CMD_CHAIN) == 0) {
		chain_abort(card);
		return SW_NO_CHAINING;
	}
	if (ch->active && (ch->cla != cla || ch->ins != a->ins ||
	    ch->p1 != a->p1 || ch->p2 != a->p2)) {
		chain_abort(card);
		return SW_LAST_CHAIN;
	}
	if (!ch->active) {
		ch->active = 1;
		ch->cla = cla;
		ch->ins = a->ins;
		ch->p1 = a->p1;
		ch->p2 = a->p2;
		ch->len = 0;
	}
	if (a->nc > sizeof(ch->buf) - ch->len) {
		chain_abort(card);
		return SW_NO_MEMORY;
	}
	if (a->nc > 0) {
		memcpy(ch->buf + ch->len, a->data, a->nc);
		ch->len += a->nc;
	}
	if (more)
		return SW_OK;
	ch->active = 0;
	a->data = ch->buf;
	a->nc = ch->len;
	return 0;
}

static uint16_t
dispatch(struct vc_card *card, const uint8_t *cmd, size_t cmd_len,
    struct vc_req *req, struct vc_rsp *r)
{
	const struct vc_cmd *c;
	int more, chained;
	uint16_t sw;

	if (cmd_len < 4 || mic_apdu_decode(cmd, cmd_len, &req->a) != MIC_OK) {
		chain_abort(card);
		return SW_WRONG_LENGTH;
	}
	req->ext = mic_apdu_is_extended(cmd, cmd_len);
	req->le_max = req->a.ne == (req->ext ? MIC_APDU_NE_MAX_EXT :
	    MIC_APDU_NE_MAX_SHORT);
	req->is_case2 = req->a.nc == 0 && req->a.ne > 0;
	if ((sw = check_cla(req->a.cla)) != SW_OK ||
	    (c = find_cmd(req->a.ins)) == NULL) {
		chain_abort(card);
		return sw != SW_OK ? sw : SW_INS;
	}
	more = (req->a.cla & CLA_CHAIN) != 0;
	chained = more || card->ram.chain.active;
	if (chained && (sw = chain_step(card, c, req, more)) != 0)
		return sw;
	sw = c->fn(card, req, r);
	if (chained)
		chain_abort(card);
	return sw;
}

static void
pend(struct vc_card *card, size_t off, size_t len, uint16_t sw)
{
	card->ram.pend.active = 1;
	card->ram.pend.off = off;
	card->ram.pend.len = len;
	card->ram.pend.sw = sw;
}

static uint16_t
sw_more(size_t left)
{
	return (uint16_t)(0x6100 | (left >= 256 ? 0 : left));
}

/*
 * T=0 behaviour: a case 2 command whose short Le does not match the data
 * gets 6Cxx with the exact length (the host resends); otherwise the data
 * waits for GET RESPONSE behind 61xx. GET RESPONSE itself with a short Le
 * beyond the data gets 6Cxx and keeps the data. Returns 0 when the normal
 * path should answer.
 */
static uint16_t
t0_quirk(struct vc_card *card, const struct vc_req *req, int getresp,
    const struct vc_rsp *r, uint16_t sw)
{
	int short_le = !req->ext && req->a.ne > 0;

	if (getresp) {
		if (short_le && req->a.ne > r->len) {
			pend(card, r->off, r->len, sw);
			return (uint16_t)(0x6C00 | r->len);
		}
		return 0;
	}
	if (req->is_case2 && short_le && r->len != req->a.ne &&
	    r->len <= MIC_APDU_NE_MAX_SHORT)
		return (uint16_t)(0x6C00 | (r->len & 0xFF));
	pend(card, r->off, r->len, sw);
	return sw_more(r->len);
}

static mic_rc
respond(struct vc_card *card, const struct vc_req *req, int getresp,
    struct vc_rsp *r, uint16_t sw, uint8_t *rsp, size_t *rsp_len)
{
	size_t room = *rsp_len - 2, give;
	uint8_t sw1 = (uint8_t)(sw >> 8);
	uint16_t qsw;

	/* Only normal processing and warnings carry data. */
	if (sw1 != 0x90 && sw1 != 0x62 && sw1 != 0x63)
		r->len = 0;
	if (r->len > 0 && (card->flags & VC_CARD_T0_QUIRKS) &&
	    (qsw = t0_quirk(card, req, getresp, r, sw)) != 0) {
		r->len = 0;
		sw = qsw;
	}
	give = r->len;
	if (give > req->a.ne)
		give = req->a.ne;
	if (give > room)
		give = room;
	/* Without Le the host expects no data: drop it. */
	if (give < r->len && req->a.ne > 0) {
		pend(card, r->off + give, r->len - give, sw);
		sw = sw_more(r->len - give);
	}
	if (give > 0)
		memcpy(rsp, r->buf + r->off, give);
	mici_put_u16(rsp + give, sw);
	*rsp_len = give + 2;
	return MIC_OK;
}

mic_rc
vc_card_transmit(void *arg, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
    size_t *rsp_len)
{
	struct vc_card *card = arg;
	struct vc_req req;
	struct vc_rsp r;
	uint16_t sw;

	if (card == NULL || cmd == NULL || rsp == NULL || rsp_len == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if (*rsp_len < 2)
		return MIC_ERR_BUFFER_TOO_SMALL;
	memset(&req, 0, sizeof(req));
	/* Data left for GET RESPONSE lasts exactly one command. */
	req.pend = card->ram.pend;
	memset(&card->ram.pend, 0, sizeof(card->ram.pend));
	r.buf = card->out;
	r.cap = sizeof(card->out);
	r.off = 0;
	r.len = 0;
	sw = dispatch(card, cmd, cmd_len, &req, &r);
	return respond(card, &req, req.a.ins == 0xC0 && cmd_len >= 4, &r, sw,
	    rsp, rsp_len);
}
