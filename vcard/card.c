/*
 * The card engine: one command APDU in, one response APDU out.
 *
 * State is split the way a real card splits it. struct vc_nv is what sits in
 * EEPROM and survives a power cycle (file system, life cycle, PIN, key pair,
 * the last transaction); struct vc_ram is lost on power off and reset
 * (current DF and EF, security status, the chaining buffer, data waiting for
 * GET RESPONSE).
 *
 * A command that changes the card works on a copy of the persistent state
 * and hands the whole copy to the commit function once; only when that
 * succeeds does the copy become the card's state (vc_nv_commit()). A failed
 * commit is a card that lost power mid-write: the old state stays and the
 * card is mute until the next power-on. This is what makes a DEBIT all or
 * nothing (docs/card-profile.md section 7).
 *
 * Commands are found by INS in a table that says which class (interindustry
 * or proprietary CLA 80) each belongs to and whether it takes command
 * chaining. Every access decision goes through vc_access(), the table of
 * section 4.3: life cycle first (6985), then security status (6982).
 *
 * Response data and the status word are handled in one place (respond()),
 * which applies Ne, stores what does not fit for GET RESPONSE and, in T=0
 * quirk mode, answers 61xx and 6Cxx the way a T=0 card does.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <mic/apdu.h>
#include <mic/tlv.h>

#include "card_internal.h"
#include "internal.h"

#define NV_FS_OFF (284 + 1 + P256_PRIV_LEN + P256_POINT_LEN + 8 + 2 + 2 + 2 + \
    2 * VC_FACTORY_CERT_MAX)
_Static_assert(offsetof(struct vc_nv, fs) == NV_FS_OFF, "vc_nv has padding");
_Static_assert(NV_FS_OFF % 4 == 0, "vc_fs is not 4-aligned");
_Static_assert(sizeof(struct vc_nv) == NV_FS_OFF + sizeof(struct vc_fs),
    "vc_nv has padding");
_Static_assert(sizeof(struct vc_file) == 36, "vc_file has padding");
_Static_assert(sizeof(struct vc_fs) == VC_FS_MAX_FILES *
    (sizeof(struct vc_file) + sizeof(struct vc_recstate)) + 8 + VC_FS_POOL,
    "vc_fs has padding");

#define CLA_CHAIN 0x10

#define CMD_CHAIN 0x01   /* the command accepts command chaining */
#define CMD_ISO 0x02     /* it is of the interindustry class (00) */
#define CMD_PROP 0x04    /* it is of the proprietary class (80) */
#define CMD_PLAIN 0x08   /* never under secure messaging (the handshake, and
                            GET RESPONSE, ISO/IEC 7816-4 5.3.4) */
#define CMD_TERMINATED 0x10 /* runs on a terminated card (section 3.10) */

struct vc_cmd {
	uint8_t ins;
	uint8_t flags;
	vc_cmd_fn *fn;
};

static vc_cmd_fn cmd_select, cmd_get_response;

/*
 * GET RESPONSE comes in either class: a host may send it with the class of
 * the command whose response it fetches, as GlobalPlatform hosts do.
 */
static const struct vc_cmd cmd_table[] = {
	{ 0x04, CMD_ISO, vc_cmd_deactivate },
	{ 0x20, CMD_ISO, vc_cmd_verify },
	{ 0x24, CMD_ISO, vc_cmd_change_pin },
	{ 0x2A, CMD_PROP | CMD_CHAIN | CMD_PLAIN, vc_cmd_pso },
	{ 0x2C, CMD_ISO, vc_cmd_reset_pin },
	{ 0x44, CMD_ISO, vc_cmd_activate },
	{ 0x47, CMD_ISO, vc_cmd_generate_key },
	{ 0x52, CMD_PROP, vc_cmd_credit },
	{ 0x54, CMD_PROP, vc_cmd_debit },
	{ 0x82, CMD_PROP | CMD_PLAIN, vc_cmd_mutual_auth },
	{ 0x88, CMD_PROP | CMD_PLAIN, vc_cmd_internal_auth },
	{ 0xA4, CMD_ISO | CMD_TERMINATED, cmd_select },
	{ 0xB0, CMD_ISO | CMD_TERMINATED, vc_cmd_read_binary },
	{ 0xB2, CMD_ISO, vc_cmd_read_record },
	{ 0xC0, CMD_ISO | CMD_PROP | CMD_PLAIN | CMD_TERMINATED,
	    cmd_get_response },
	{ 0xCA, CMD_ISO | CMD_PROP, vc_cmd_get_data },
	{ 0xD6, CMD_ISO | CMD_CHAIN, vc_cmd_update_binary },
	{ 0xDC, CMD_ISO | CMD_CHAIN, vc_cmd_update_record },
	{ 0xE2, CMD_PROP | CMD_CHAIN, vc_cmd_store_data },
	{ 0xE6, CMD_ISO, vc_cmd_terminate },
};

static void
ram_reset(struct vc_card *card)
{
	/* The session keys go first: the pointer is about to be wiped. */
	mici_sm_free(&card->ram.sm);
	/* The chaining buffer may hold a PIN block or key material. */
	mici_wipe(&card->ram, sizeof(card->ram));
	mici_wipe(card->smbuf, sizeof(card->smbuf));
	mici_wipe(card->out, sizeof(card->out));
	card->ram.cur_df = 0;   /* the MF is implicitly selected after reset */
	card->ram.cur_ef = -1;
	card->ram.role = VC_ROLE_NONE;
	card->ram.test_role = VC_ROLE_NONE;
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
 *   81 05       status indicator: card life cycle 05 (operational,
 *               activated). This is the card's (the MF's) life cycle, not
 *               the application's: the application's is in its FCI and FCP,
 *               so the ATR is the same in every state (profile section 6).
 *   CE          TCK, exclusive-or of T0 to the last historical byte;
 *               required because a protocol other than T=0 is indicated
 */
size_t
vc_card_atr(const vc_card *card, uint8_t *atr, size_t cap)
{
	static const uint8_t head[] = {
		0x3B, 0x87, 0x81, 0x31, 0xFE, 0x45,
		0x80, 0x73, 0xD4, 0x21, 0xC0, 0x81, VC_LCS_ACTIVATED,
	};
	size_t n = 0;
	uint8_t tck = 0;

	if (card == NULL || atr == NULL || cap < sizeof(head) + 1)
		return 0;
	memcpy(atr, head, sizeof(head));
	n = sizeof(head);
	for (size_t i = 1; i < n; i++)
		tck ^= atr[i];
	atr[n++] = tck;
	return n;
}

/*
 * The profile's file system (docs/card-profile.md section 1), as the chip
 * factory leaves it: EF.DIR written, every EF of DF.MIC all 00.
 */
struct ef_spec {
	uint16_t fid;
	uint8_t sfi;
	uint8_t type;
	uint16_t size;
	uint16_t rec_len;
	uint8_t acc_read;
	uint8_t acc_update;
};

static const struct ef_spec app_efs[] = {
	{ FID_CARD, 1, VC_FT_TRANSPARENT, CARD_SIZE, 0,
	    ACC_READ_PUBLIC, ACC_UPDATE_NEVER },
	{ FID_HOLDER, 2, VC_FT_TRANSPARENT, HOLDER_SIZE, 0,
	    ACC_READ_PERSONAL, ACC_UPDATE_NEVER },
	{ FID_INSURANCE, 3, VC_FT_TRANSPARENT, INSURANCE_SIZE, 0,
	    ACC_READ_PERSONAL, ACC_UPDATE_NEVER },
	{ FID_SOD, 4, VC_FT_TRANSPARENT, SOD_SIZE, 0,
	    ACC_READ_PUBLIC, ACC_UPDATE_NEVER },
	{ FID_CERT, 5, VC_FT_TRANSPARENT, CERT_SIZE, 0,
	    ACC_READ_PUBLIC, ACC_UPDATE_NEVER },
	{ FID_ACTIVATION, 6, VC_FT_TRANSPARENT, ACTIVATION_SIZE, 0,
	    ACC_READ_PERSONAL, ACC_UPDATE_NEVER },
	{ FID_FAMILY, 7, VC_FT_LINEAR_FIXED, FAMILY_RECORDS * FAMILY_RECLEN,
	    FAMILY_RECLEN, ACC_READ_PRIVATE, ACC_UPDATE_FAMILY },
	{ FID_ACCOUNT, 8, VC_FT_TRANSPARENT, ACCOUNT_SIZE, 0,
	    ACC_READ_PRIVATE, ACC_UPDATE_NEVER },
	{ FID_LOG, 9, VC_FT_CYCLIC, LOG_RECORDS * LOG_RECLEN, LOG_RECLEN,
	    ACC_READ_PRIVATE, ACC_UPDATE_NEVER },
};

static int
add_ef(struct vc_fs *fs, int parent, const struct ef_spec *e)
{
	int idx;

	if ((idx = vc_fs_add_ef(fs, parent, e->fid, e->sfi,
	    (enum vc_ftype)e->type, e->size, e->rec_len)) < 0)
		return -1;
	fs->file[idx].acc_read = e->acc_read;
	fs->file[idx].acc_update = e->acc_update;
	return idx;
}

/* Returns the index of DF.MIC, or -1. */
static int
build_fs(struct vc_fs *fs)
{
	static const uint8_t aid[] = VC_MIC_AID;
	static const uint8_t label[] = { 'M', 'I', 'C' };
	static const struct ef_spec dir = { FID_DIR, SFI_DIR,
	    VC_FT_TRANSPARENT, DIR_SIZE, 0, ACC_READ_DIR, ACC_UPDATE_NEVER };
	mic_tlv_writer w;
	size_t len;
	int idx, app;

	vc_fs_init(fs);
	if ((idx = add_ef(fs, 0, &dir)) < 0)
		return -1;
	mic_tlv_writer_init(&w, vc_fs_body(fs, idx), DIR_SIZE);
	mic_tlv_open(&w, 0x61);
	mic_tlv_put(&w, 0x4F, aid, sizeof(aid));
	mic_tlv_put(&w, 0x50, label, sizeof(label));
	mic_tlv_close(&w);
	if (mic_tlv_writer_finish(&w, &len) != MIC_OK)
		return -1;
	if ((app = vc_fs_add_df(fs, 0, FID_APP, aid, sizeof(aid))) < 0)
		return -1;
	for (size_t i = 0; i < MIC_ARRAY_LEN(app_efs); i++)
		if (add_ef(fs, app, &app_efs[i]) < 0)
			return -1;
	return app;
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

/* The chip serial for @p s; see vc_card_new() in vcard.h. */
static int
chip_serial(const char *s, uint8_t out[8])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t n = 0;

	if (strlen(s) == 16 && mici_hex_decode(s, out, 8, &n) == MIC_OK &&
	    n == 8)
		return 0;
	if (!EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen < 8) {
		mici_debug("%s: SHA-256 failed", __func__);
		return -1;
	}
	memcpy(out, md, 8);
	return 0;
}

static void
nv_header(struct vc_nv *nv)
{
	memcpy(nv->magic, VC_NV_MAGIC, sizeof(nv->magic));
	mici_put_u16(nv->version, VC_NV_VERSION);
	nv->byte_order = VC_NV_BYTE_ORDER;
	nv->size = (uint32_t)sizeof(*nv);
}

static int
is_bool(uint8_t v)
{
	return v == 0 || v == 1;
}

/*
 * An image is hostile input as much as an APDU: a damaged or forged one
 * must be refused, not trusted to index the file system.
 */
static int
nv_valid(const struct vc_nv *nv, const struct vc_fs *layout)
{
	if (memcmp(nv->magic, VC_NV_MAGIC, sizeof(nv->magic)) != 0 ||
	    mici_get_u16(nv->version) != VC_NV_VERSION ||
	    nv->byte_order != VC_NV_BYTE_ORDER || nv->size != sizeof(*nv))
		return 0;
	if (nv->state < VC_STATE_BLANK || nv->state > VC_STATE_TERMINATED ||
	    (nv->perso & ~PERSO_ALL) != 0 || !is_bool(nv->pin_set) ||
	    !is_bool(nv->pin_transport) || !is_bool(nv->key_set) ||
	    nv->pin_tries > PIN_TRIES || !is_bool(nv->last_valid) ||
	    nv->last_rsp_len > RECEIPT_MAX)
		return 0;
	if (nv->last_valid && (nv->last_ins != 0x52 && nv->last_ins != 0x54))
		return 0;
	if (nv->ecka_set > ECKA_READY || nv->rfu[0] != 0 || nv->rfu[1] != 0 ||
	    mici_get_u16(nv->ecka_cert_len) > VC_FACTORY_CERT_MAX ||
	    mici_get_u16(nv->root_len) > VC_FACTORY_CERT_MAX ||
	    (nv->ecka_set == ECKA_READY &&
	    (mici_get_u16(nv->ecka_cert_len) == 0 ||
	    mici_get_u16(nv->root_len) == 0)))
		return 0;
	/* Between personalization and termination the card has both. */
	if ((nv->state == VC_STATE_PERSONALIZED ||
	    nv->state == VC_STATE_ACTIVE || nv->state == VC_STATE_BLOCKED) &&
	    (!nv->pin_set || !nv->key_set))
		return 0;
	return vc_fs_same_layout(&nv->fs, layout) &&
	    vc_fs_recstate_valid(&nv->fs);
}

static struct vc_card *
card_alloc(unsigned flags)
{
	struct vc_card *card;

	if ((card = calloc(1, sizeof(*card))) == NULL)
		return NULL;
	card->flags = flags;
	ram_reset(card);
	return card;
}

mic_rc
vc_card_new(vc_card **out, const char *serial, unsigned flags)
{
	struct vc_card *card = NULL;
	mic_rc rc = MIC_ERR_INTERNAL;

	if (out == NULL || !valid_serial(serial) ||
	    (flags & ~VC_CARD_T0_QUIRKS) != 0)
		return MIC_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if ((card = card_alloc(flags)) == NULL)
		return MIC_ERR_NOMEM;
	if ((card->app = build_fs(&card->nv.fs)) < 0) {
		mici_debug("%s: the file system does not fit", __func__);
		goto fail;
	}
	if (chip_serial(serial, card->nv.serial) < 0)
		goto fail;
	nv_header(&card->nv);
	card->nv.state = VC_STATE_BLANK;
	*out = card;
	return MIC_OK;
fail:
	vc_card_free(&card);
	return rc;
}

mic_rc
vc_card_load(vc_card **out, const uint8_t *nv, size_t len, unsigned flags)
{
	struct vc_card *card = NULL;
	mic_rc rc = MIC_ERR_INVALID_ARGUMENT;

	if (out == NULL || nv == NULL || (flags & ~VC_CARD_T0_QUIRKS) != 0)
		return MIC_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if (vc_card_nv_layout(nv, len) != VC_NV_VERSION) {
		mici_debug("%s: layout %d, this engine reads only layout %d",
		    __func__, vc_card_nv_layout(nv, len), VC_NV_VERSION);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (len != sizeof(struct vc_nv)) {
		mici_debug("%s: %zu bytes, want %zu", __func__, len,
		    sizeof(struct vc_nv));
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((card = card_alloc(flags)) == NULL)
		return MIC_ERR_NOMEM;
	/* The layout the image must have, built where the copy will go. */
	if ((card->app = build_fs(&card->work.fs)) < 0) {
		rc = MIC_ERR_INTERNAL;
		goto fail;
	}
	memcpy(&card->nv, nv, len);
	if (!nv_valid(&card->nv, &card->work.fs)) {
		mici_debug("%s: not a card image of layout %d", __func__,
		    VC_NV_VERSION);
		goto fail;
	}
	mici_wipe(&card->work, sizeof(card->work));
	*out = card;
	return MIC_OK;
fail:
	vc_card_free(&card);
	return rc;
}

int
vc_card_nv_layout(const uint8_t *nv, size_t len)
{
	if (nv == NULL || len < 6 || memcmp(nv, VC_NV_MAGIC, 4) != 0)
		return -1;
	return mici_get_u16(nv + 4);
}

void
vc_card_free(vc_card **card)
{
	if (card == NULL || *card == NULL)
		return;
	mici_sm_free(&(*card)->ram.sm);
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

void
vc_card_set_commit(vc_card *card, vc_commit_fn *fn, void *arg)
{
	if (card == NULL)
		return;
	card->commit = fn;
	card->commit_arg = arg;
}

void
vc_card_nv(const vc_card *card, const uint8_t **nv, size_t *len)
{
	if (nv != NULL)
		*nv = card != NULL ? (const uint8_t *)&card->nv : NULL;
	if (len != NULL)
		*len = card != NULL ? sizeof(card->nv) : 0;
}

enum vc_state
vc_card_state(const vc_card *card)
{
	if (card == NULL)
		return (enum vc_state)0;
	return (enum vc_state)card->nv.state;
}

void
vc_card_test_set_role(vc_card *card, enum vc_role role)
{
	if (card == NULL)
		return;
	if (role < VC_ROLE_NONE || role > VC_ROLE_BUREAU)
		role = VC_ROLE_NONE;
	card->ram.test_role = role;
	card->ram.role = role;
}

enum vc_role
vc_card_test_role(const vc_card *card)
{
	return card == NULL ? VC_ROLE_NONE : card->ram.test_role;
}

void
vc_card_chip_serial(const vc_card *card, uint8_t serial[VC_CHIP_SERIAL_LEN])
{
	if (card != NULL && serial != NULL)
		memcpy(serial, card->nv.serial, VC_CHIP_SERIAL_LEN);
}

int
vc_card_has_sm(const vc_card *card)
{
	return card != NULL && card->ram.sm != NULL &&
	    mici_sm_is_open(card->ram.sm);
}

/* --- persistence --------------------------------------------------------- */

struct vc_nv *
vc_nv_begin(struct vc_card *card)
{
	memcpy(&card->work, &card->nv, sizeof(card->work));
	return &card->work;
}

void
vc_nv_abort(struct vc_card *card)
{
	/* The copy holds the same secrets as the state. */
	mici_wipe(&card->work, sizeof(card->work));
}

uint16_t
vc_nv_commit(struct vc_card *card)
{
	mic_rc rc = MIC_OK;

	if (card->commit != NULL)
		rc = card->commit(card->commit_arg,
		    (const uint8_t *)&card->work, sizeof(card->work));
	if (rc != MIC_OK) {
		mici_debug("%s: %s; the card keeps its state and goes mute",
		    __func__, mic_strerror(rc));
		vc_nv_abort(card);
		card->ram.mute = 1;
		return SW_MUTE;
	}
	/*
	 * A copy, not a pointer swap: what vc_card_nv() handed out stays
	 * where it was.
	 */
	memcpy(&card->nv, &card->work, sizeof(card->nv));
	vc_nv_abort(card);
	return SW_OK;
}

/* --- access conditions --------------------------------------------------- */

enum {
	AK_YES,          /* allowed */
	AK_STATE,        /* 6985: wrong life cycle state */
	AK_DENY,         /* 6982: never, whoever asks */
	AK_ROLE,         /* a secure channel with one of the roles */
	AK_ROLE_PIN,     /* one of the roles, and the PIN verified */
	AK_PIN_OR_ROLE,  /* the PIN verified, or one of the roles */
	AK_POLICY,       /* the roles, or hospital/pharmacy by EF.INSURANCE */
};

struct acl {
	uint8_t kind;
	uint8_t roles;   /* bit r: role r */
};

#define RB(r) (1u << (r))
#define R_POS (RB(VC_ROLE_HOSPITAL) | RB(VC_ROLE_PHARMACY))
#define R_BANK RB(VC_ROLE_BANK)
#define R_AGENCY RB(VC_ROLE_AGENCY)
#define R_ANY (R_POS | R_BANK | R_AGENCY | RB(VC_ROLE_BUREAU))
#define YES { AK_YES, 0 }
#define STA { AK_STATE, 0 }
#define DNY { AK_DENY, 0 }

/* docs/card-profile.md section 4.3; columns blank .. terminated. */
static const struct acl acl_table[ACC_COUNT][5] = {
	[ACC_READ_DIR] = { YES, YES, YES, YES, YES },
	[ACC_READ_PUBLIC] = { STA, YES, YES, YES, STA },
	[ACC_READ_PERSONAL] = { STA, { AK_ROLE, R_ANY },
	    { AK_PIN_OR_ROLE, R_ANY }, { AK_ROLE, R_ANY }, STA },
	[ACC_READ_PRIVATE] = { STA, { AK_ROLE, R_ANY },
	    { AK_PIN_OR_ROLE, R_ANY }, { AK_ROLE, R_ANY }, STA },
	[ACC_UPDATE_NEVER] = { DNY, DNY, DNY, DNY, STA },
	[ACC_UPDATE_FAMILY] = { STA, STA, { AK_ROLE, R_BANK }, STA, STA },
	[ACC_PERSO] = { { AK_ROLE, RB(VC_ROLE_BUREAU) }, STA, STA, STA, STA },
	[ACC_VERIFY] = { STA, STA, YES, STA, STA },
	[ACC_CHANGE] = { STA, { AK_ROLE, R_BANK | R_POS },
	    { AK_ROLE, R_BANK | R_POS }, STA, STA },
	[ACC_RESET_PIN] = { STA, { AK_ROLE, R_BANK }, { AK_ROLE, R_BANK },
	    STA, STA },
	[ACC_ACTIVATE] = { STA, { AK_POLICY, R_BANK }, STA,
	    { AK_ROLE, R_BANK | R_AGENCY }, STA },
	[ACC_DEACTIVATE] = { STA, STA,
	    { AK_ROLE, R_BANK | R_AGENCY | R_POS }, STA, STA },
	[ACC_TERMINATE] = { STA, { AK_ROLE, R_BANK | R_AGENCY },
	    { AK_ROLE, R_BANK | R_AGENCY }, { AK_ROLE, R_BANK | R_AGENCY },
	    STA },
	[ACC_DEBIT] = { STA, STA, { AK_ROLE_PIN, R_POS }, STA, STA },
	[ACC_CREDIT] = { STA, STA, { AK_ROLE, R_AGENCY }, STA, STA },
};

#undef YES
#undef STA
#undef DNY

/* Bit 1 of EF.INSURANCE tag 83: activation on first use is allowed. */
static int
first_use_policy(const struct vc_card *card)
{
	int idx = vc_app_file(card, FID_INSURANCE);
	uint8_t policy = 0;

	if (idx < 0 || vc_tmpl_policy(vc_fs_cbody(&card->nv.fs, idx),
	    INSURANCE_SIZE, &policy) < 0)
		return 0;
	return (policy & 0x01) != 0;
}

uint16_t
vc_access(const struct vc_card *card, enum vc_acc acc)
{
	const struct acl *e;
	unsigned role = RB(card->ram.role) & R_ANY;
	int has_role;

	if ((unsigned)acc >= ACC_COUNT || card->nv.state < VC_STATE_BLANK ||
	    card->nv.state > VC_STATE_TERMINATED)
		return SW_UNKNOWN;
	e = &acl_table[acc][card->nv.state - VC_STATE_BLANK];
	has_role = (role & e->roles) != 0;
	switch (e->kind) {
	case AK_YES:
		return SW_OK;
	case AK_STATE:
		return SW_CONDITIONS;
	case AK_DENY:
		return SW_SECURITY;
	case AK_ROLE:
		return has_role ? SW_OK : SW_SECURITY;
	case AK_ROLE_PIN:
		return has_role && card->ram.pin_ok ? SW_OK : SW_SECURITY;
	case AK_PIN_OR_ROLE:
		return has_role || card->ram.pin_ok ? SW_OK : SW_SECURITY;
	case AK_POLICY:
		if (has_role || ((role & R_POS) && first_use_policy(card)))
			return SW_OK;
		return SW_SECURITY;
	default:
		return SW_UNKNOWN;
	}
}

uint16_t
vc_app_access(const struct vc_card *card, enum vc_acc acc)
{
	if (card->ram.cur_df != card->app)
		return SW_NO_EF;
	return vc_access(card, acc);
}

/* Is file @p idx the application DF or one of its EFs? */
int
vc_in_app(const struct vc_card *card, int idx)
{
	const struct vc_file *f = vc_fs_get(&card->nv.fs, idx);

	return f != NULL && idx != 0 &&
	    (idx == card->app || f->parent == card->app);
}

int
vc_app_file(const struct vc_card *card, uint16_t fid)
{
	return vc_fs_find_child(&card->nv.fs, card->app, fid, 0);
}

/* Append @p len bytes to the response data. */
int
vc_rsp_put(struct vc_rsp *r, const uint8_t *p, size_t len)
{
	if (len > r->cap - r->off - r->len)
		return -1;
	memcpy(r->buf + r->off + r->len, p, len);
	r->len += len;
	return 0;
}

/* --- SELECT -------------------------------------------------------------- */

/* Section 5: the application's files follow its life cycle. */
static uint8_t
file_lcs(const struct vc_card *card, int idx)
{
	if (!vc_in_app(card, idx))
		return VC_LCS_ACTIVATED;
	switch (card->nv.state) {
	case VC_STATE_BLANK:
		return VC_LCS_INITIALISATION;
	case VC_STATE_ACTIVE:
		return VC_LCS_ACTIVATED;
	case VC_STATE_TERMINATED:
		return VC_LCS_TERMINATED;
	default:
		return VC_LCS_DEACTIVATED;
	}
}

/* Section 3.1: 6F { 84 AID, A5 { 80 MIC state, 81 chip serial } }. */
static uint16_t
app_fci(const struct vc_card *card, struct vc_rsp *r)
{
	const struct vc_file *f = vc_fs_get(&card->nv.fs, card->app);
	mic_tlv_writer w;

	mic_tlv_writer_init(&w, r->buf + r->off, r->cap - r->off);
	mic_tlv_open(&w, 0x6F);
	mic_tlv_put(&w, 0x84, f->aid, f->aid_len);
	mic_tlv_open(&w, 0xA5);
	mic_tlv_put_uint(&w, 0x80, card->nv.state, 1);
	mic_tlv_put(&w, 0x81, card->nv.serial, sizeof(card->nv.serial));
	mic_tlv_close(&w);
	mic_tlv_close(&w);
	if (mic_tlv_writer_finish(&w, &r->len) != MIC_OK)
		return SW_UNKNOWN;
	return SW_OK;
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
 *   00  FCI: for DF.MIC the profile's 6F { 84, A5 }; for other files
 *       template 6F holding the FCP data objects directly
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
		if ((n = vc_fs_fcp(&card->nv.fs, idx, file_lcs(card, idx), fcp,
		    sizeof(fcp))) == 0)
			return SW_UNKNOWN;
		break;
	default:
		if (idx == card->app)
			return app_fci(card, r);
		tag = 0x6F;
		if ((n = vc_fs_fcp(&card->nv.fs, idx, file_lcs(card, idx), fcp,
		    sizeof(fcp))) == 0)
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

/* Section 3.1: the application says whether it is usable. */
static uint16_t
select_status(const struct vc_card *card, int idx)
{
	if (!vc_in_app(card, idx))
		return SW_OK;
	switch (card->nv.state) {
	case VC_STATE_PERSONALIZED:
	case VC_STATE_BLOCKED:
		return SW_DEACTIVATED;
	case VC_STATE_TERMINATED:
		return SW_TERMINATED;
	default:
		return SW_OK;
	}
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
	if (vc_fs_is_df(fs, idx)) {
		/*
		 * docs/secure-messaging.md 4: selecting an application (or
		 * the MF) ends the secure channel; an EF of DF.MIC keeps it.
		 */
		vc_sm_end(card);
		card->ram.cur_df = idx;
		card->ram.cur_ef = -1;
	} else {
		card->ram.cur_df = fs->file[idx].parent;
		card->ram.cur_ef = idx;
	}
	/*
	 * Section 3.5: a SELECT ends the PIN's verified state. It also starts
	 * a new STORE DATA sequence (blocks from 00 again).
	 */
	card->ram.pin_ok = 0;
	card->ram.perso_block = 0;
	if ((sw = select_response(card, idx, req->a.p2, r)) != SW_OK)
		return sw;
	return select_status(card, idx);
}

/*
 * GET RESPONSE (clause 11.7.1): only right after the command that left
 * data; otherwise 6985. It is part of the transport, so it works in every
 * life cycle state: a terminated card's FCI may need it.
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

/* --- dispatch ------------------------------------------------------------ */

/*
 * CLA (ISO/IEC 7816-4 clause 5.4.1). The interindustry classes, and the
 * proprietary class 80-9F coded like the first interindustry range (bit 10
 * chaining, bits 0C secure messaging, bits 03 channel), as GlobalPlatform
 * does. This card has the basic channel only; its secure messaging is
 * GlobalPlatform's (b3, scp.c).
 */
static uint16_t
check_cla(uint8_t cla, int *prop, int *protected)
{
	unsigned chan, sm;

	*protected = 0;
	*prop = (cla & 0xE0) == 0x80;
	if ((cla & 0xE0) == 0x00 || *prop) {
		chan = cla & 0x03;
		sm = (cla >> 2) & 0x03;
	} else if ((cla & 0xC0) == 0x40) {
		chan = 4 + (cla & 0x0F);
		sm = (cla >> 5) & 0x01 ? 2 : 0;
	} else
		return SW_CLA;   /* 001x xxxx reserved, A0-FF proprietary */
	if (chan != 0)
		return SW_CHANNEL;
	/*
	 * b3 alone (04): GlobalPlatform secure messaging, the only SM this
	 * card speaks (docs/secure-messaging.md 2). ISO SM (08, 0C): no.
	 */
	if (sm == 1) {
		*protected = 1;
		return SW_OK;
	}
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
	int more, chained, prop = 0, protected = 0;
	uint8_t ins;
	uint16_t sw;

	/*
	 * By the INS byte, before anything can refuse the command: MUTUAL
	 * AUTHENTICATE takes the verified chain only right after it (section
	 * 4.2), so any other command discards the chain.
	 */
	ins = cmd_len >= 4 ? cmd[1] : 0;
	if (ins != MICI_SCP11_INS_PSO && ins != MICI_SCP11_INS_MUTUAL_AUTH)
		vc_sm_forget_chain(card);
	if (cmd_len < 4 || mic_apdu_decode(cmd, cmd_len, &req->a) != MIC_OK) {
		chain_abort(card);
		return SW_WRONG_LENGTH;
	}
	req->ext = mic_apdu_is_extended(cmd, cmd_len);
	req->le_max = req->a.ne == (req->ext ? MIC_APDU_NE_MAX_EXT :
	    MIC_APDU_NE_MAX_SHORT);
	req->is_case2 = req->a.nc == 0 && req->a.ne > 0;
	if ((sw = check_cla(req->a.cla, &prop, &protected)) != SW_OK) {
		chain_abort(card);
		return sw;
	}
	if ((c = find_cmd(req->a.ins)) == NULL ||
	    (c->flags & (prop ? CMD_PROP : CMD_ISO)) == 0) {
		chain_abort(card);
		return c == NULL ? SW_INS : SW_CLA;
	}
	if (protected && (c->flags & CMD_PLAIN)) {
		chain_abort(card);
		return SW_SM;
	}
	more = (req->a.cla & CLA_CHAIN) != 0;
	chained = more || card->ram.chain.active;
	/* The whole chain first, then the MAC over the whole (SM doc 2). */
	if (chained && (sw = chain_step(card, c, req, more)) != 0)
		return sw;
	if (protected && (sw = vc_sm_unwrap(card, req)) != SW_OK) {
		if (chained)
			chain_abort(card);
		return sw;
	}
	/*
	 * The security status of this command: a protected command carries
	 * the role of its SCP11a channel (SCP11b has none); a plain one only
	 * what the test hook set.
	 */
	if (card->ram.sm_cmd)
		card->ram.role = card->ram.sm_variant == MICI_SCP11A ?
		    card->ram.sm_role : VC_ROLE_NONE;
	else
		card->ram.role = card->ram.test_role;
	/*
	 * Section 3.10, one rule: a terminated card runs SELECT, GET RESPONSE
	 * and READ BINARY (whose table allows EF.DIR only) and refuses every
	 * other command before looking at its parameters.
	 */
	if (card->nv.state == VC_STATE_TERMINATED &&
	    (c->flags & CMD_TERMINATED) == 0)
		sw = SW_CONDITIONS;
	else
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
	if (card->ram.mute)
		return MIC_ERR_IO;
	memset(&req, 0, sizeof(req));
	/* Data left for GET RESPONSE lasts exactly one command. */
	req.pend = card->ram.pend;
	memset(&card->ram.pend, 0, sizeof(card->ram.pend));
	r.buf = card->out;
	r.cap = sizeof(card->out);
	r.off = 0;
	r.len = 0;
	card->ram.sm_cmd = 0;
	card->ram.sm_drop = 0;
	sw = dispatch(card, cmd, cmd_len, &req, &r);
	/*
	 * Section 3.11: a DEBIT ends the PIN's verified state whatever its
	 * outcome, refused for its class, P1-P2 or MAC alike; by the INS
	 * byte, once the command has used the PIN.
	 */
	if (cmd_len >= 4 && cmd[1] == INS_DEBIT)
		card->ram.pin_ok = 0;
	if (card->ram.mute) {
		mici_debug("%s: torn write, no answer", __func__);
		return MIC_ERR_IO;
	}
	if (card->ram.sm_cmd)
		sw = vc_sm_wrap(card, &req, &r, sw);
	return respond(card, &req, req.a.ins == 0xC0 && cmd_len >= 4, &r, sw,
	    rsp, rsp_len);
}
