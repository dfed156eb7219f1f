/*
 * The card profile's data objects, docs/card-profile.md section 2.
 *
 * Each BER-TLV template is a table of fields. One setter, one encoder and
 * one decoder work from the tables, so every template follows the same
 * rules and a value is checked the same way whether a caller sets it or a
 * card supplies it. The 48-byte log record and the nested FCI do not fit
 * the tables and have their own small codecs, built from the same helpers.
 *
 * Input from a card is hostile: the decoders read it with mic_tlv_*, check
 * every length before touching a value, and build the result in a scratch
 * object that replaces the caller's only when all of it is good.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mic/profile.h>
#include <mic/tlv.h>

#include "internal.h"
#include "mici.h"

#define OBJ_MAX 256         /* largest object, for the undo copy */
#define FIELDS_MAX 8        /* most fields in a template */
#define TEXT_MAX 64         /* longest text value plus its NUL */
#define AID_MIN 5
#define RID_LEN 5
#define TAG_CLASS_MASK 0xC0u
#define TAG_CLASS_CONTEXT 0x80u
#define PAYER_MAX MIC_FAMILY_RECORDS

static const uint8_t mic_aid_bytes[] = { 0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D,
	0x49, 0x43, 0x01 };

enum kind {
	K_AN,    /* exactly len printable ASCII characters */
	K_N8,    /* a date: 4 BCD bytes, kept as "YYYYMMDD" */
	K_N14,   /* a date and time: 7 BCD bytes, kept as 14 digits */
	K_UTF8,  /* 1 to len bytes of UTF-8 */
	K_IDNUM, /* a citizen identity number: its rule checks all of it */
	K_UINT,  /* len bytes, unsigned big-endian */
	K_INT,   /* 8 bytes, two's complement */
};

/* Where a text value comes from: a caller may type a lower-case x. */
enum origin { FROM_CALLER, FROM_CARD };

typedef mic_rc text_rule(char *s, enum origin from);

struct field {
	uint32_t tag;
	enum kind kind;
	size_t len;         /* bytes on the card; the most for K_UTF8 */
	int optional;
	size_t off;         /* of the value in the object */
	size_t cap;         /* of a text value's array */
	text_rule *rule;    /* a further rule for text, or NULL */
	int64_t min, max;   /* the range of a number */
};

struct tmpl {
	const char *name;
	uint32_t tag;
	const struct field *fields;
	size_t nfields;
	size_t size;        /* of the object */
	mic_rc (*agree)(const void *obj);  /* rules across fields, or NULL */
};

/* Every object starts with the set of fields it holds, bit i for field i. */
#define OBJ_HAVE(obj) (*(const uint32_t *)(const void *)(obj))
#define OBJ_HAVE_RW(obj) (*(uint32_t *)(void *)(obj))

#define TEXT(tg, k, n, type, member, r, opt) { .tag = (tg), .kind = (k), \
	.len = (n), .optional = (opt), .off = offsetof(type, member), \
	.cap = sizeof(((type *)0)->member), .rule = (r) }
#define NUM(tg, k, n, type, member, lo, hi) { .tag = (tg), .kind = (k), \
	.len = (n), .off = offsetof(type, member), .min = (lo), .max = (hi) }

struct mic_cardinfo {
	uint32_t have;
	char id[MIC_CARDID_LEN + 1];
	char number[MIC_CARD_NUMBER_LEN + 1];
	int64_t type;
	int64_t version;
	char issuer[MIC_REGION_LEN + 1];
	char issued[9];
	char expires[9];
};

struct mic_holder {
	uint32_t have;
	char ssn[MIC_IDNUM_LEN + 1];
	char name[MIC_NAME_MAX + 1];
	char gender[2];
	char birth[9];
	char birthplace[MIC_REGION_LEN + 1];
	char ethnicity[3];
};

struct mic_insurance {
	uint32_t have;
	char scheme[2];
	char region[MIC_REGION_LEN + 1];
	char since[9];
	int64_t policy;
};

struct mic_activation {
	uint32_t have;
	char when[15];
	char terminal[MIC_TERMINAL_ID_LEN + 1];
	int64_t role;
};

struct mic_member {
	uint32_t have;
	char kinship[3];
	char ssn[MIC_IDNUM_LEN + 1];
	char name[MIC_NAME_MAX + 1];
	int64_t may_pay;
	char bound[9];
};

struct mic_account {
	uint32_t have;
	int64_t balance;
	int64_t counter;
};

struct mic_logrec {
	uint32_t have;
	uint32_t counter;
	int type;
	int64_t amount;
	int64_t balance;
	char when[15];
	char terminal[MIC_TERMINAL_ID_LEN + 1];
	unsigned payer;
	uint8_t ref[MIC_LOG_REF_LEN];
};

_Static_assert(sizeof(struct mic_cardinfo) <= OBJ_MAX, "undo copy");
_Static_assert(sizeof(struct mic_holder) <= OBJ_MAX, "undo copy");
_Static_assert(sizeof(struct mic_member) <= OBJ_MAX, "undo copy");

/* --- small helpers ---------------------------------------------------- */

static int
all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] != 0)
			return 0;
	}
	return 1;
}

static int
printable(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < 0x20 || s[i] > 0x7E)
			return 0;
	}
	return 1;
}

/* 2 * @p nbytes digits and a NUL from BCD; 0 if a nibble is over 9. */
static int
bcd_unpack(const uint8_t *b, size_t nbytes, char *out)
{
	size_t i;

	for (i = 0; i < nbytes; i++) {
		if ((b[i] >> 4) > 9 || (b[i] & 0x0F) > 9)
			return 0;
		out[2 * i] = (char)('0' + (b[i] >> 4));
		out[2 * i + 1] = (char)('0' + (b[i] & 0x0F));
	}
	out[2 * nbytes] = '\0';

	return 1;
}

static void
bcd_pack(const char *digits, size_t nbytes, uint8_t *out)
{
	size_t i;

	for (i = 0; i < nbytes; i++)
		out[i] = (uint8_t)((digits[2 * i] - '0') << 4 |
		    (digits[2 * i + 1] - '0'));
}

static uint64_t
get_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void
put_be(uint8_t *p, uint64_t v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* Two's complement without implementation-defined conversions. */
static int64_t
from_twos(uint64_t u)
{
	if (u <= INT64_MAX)
		return (int64_t)u;
	return -(int64_t)(~u) - 1;
}

static uint64_t
to_twos(int64_t v)
{
	return v >= 0 ? (uint64_t)v : ~(uint64_t)(-(v + 1));
}

/*
 * Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past
 * U+10FFFF), and no control characters, NUL included: a name goes on
 * screens and receipts, where a control character does harm.
 */
int
mici_utf8_ok(const uint8_t *s, size_t n)
{
	size_t i = 0, j, k;
	uint32_t c;

	while (i < n) {
		if (s[i] < 0x80) {
			c = s[i];
			k = 1;
		} else if (s[i] >= 0xC2 && s[i] <= 0xDF) {
			c = s[i] & 0x1Fu;
			k = 2;
		} else if (s[i] >= 0xE0 && s[i] <= 0xEF) {
			c = s[i] & 0x0Fu;
			k = 3;
		} else if (s[i] >= 0xF0 && s[i] <= 0xF4) {
			c = s[i] & 0x07u;
			k = 4;
		} else
			return 0;
		if (k > n - i)
			return 0;
		for (j = 1; j < k; j++) {
			if ((s[i + j] & 0xC0) != 0x80)
				return 0;
			c = c << 6 | (s[i + j] & 0x3Fu);
		}
		if ((k == 3 && c < 0x800) || (k == 4 && (c < 0x10000 ||
		    c > 0x10FFFF)) || (c >= 0xD800 && c <= 0xDFFF))
			return 0;
		if (c < 0x20 || (c >= 0x7F && c <= 0x9F))
			return 0;
		i += k;
	}

	return 1;
}

/* The first byte of a valid tag tells its class. */
static int
tag_context_specific(uint32_t tag)
{
	size_t n = mic_tlv_tag_size(tag);

	return n > 0 && ((tag >> (8 * (n - 1))) & TAG_CLASS_MASK) ==
	    TAG_CLASS_CONTEXT;
}

/* --- value rules ------------------------------------------------------ */

static mic_rc
rule_cardid(char *s, enum origin from)
{
	mic_cardid id;

	(void)from;
	return mic_cardid_parse(s, &id);
}

static mic_rc
rule_code(mic_code_table table, const char *s, const char *what)
{
	if (!mic_code_valid(table, s)) {
		/* Not the value: a birthplace is the holder's (docs/privacy.md). */
		mici_debug("%s: %s not in its table", __func__, what);
		return MIC_ERR_CODE;
	}
	return MIC_OK;
}

static mic_rc
rule_region(char *s, enum origin from)
{
	(void)from;
	return rule_code(MIC_CODE_REGION, s, "region");
}

static mic_rc
rule_gender(char *s, enum origin from)
{
	(void)from;
	return rule_code(MIC_CODE_GENDER, s, "gender");
}

static mic_rc
rule_kinship(char *s, enum origin from)
{
	(void)from;
	return rule_code(MIC_CODE_KINSHIP, s, "kinship");
}

static mic_rc
rule_ethnicity(char *s, enum origin from)
{
	(void)from;
	return rule_code(MIC_CODE_ETHNICITY, s, "ethnicity");
}

static mic_rc
rule_scheme(char *s, enum origin from)
{
	(void)from;
	if (strcmp(s, "1") != 0 && strcmp(s, "2") != 0) {
		mici_debug("%s: scheme not 1 or 2", __func__);
		return MIC_ERR_VALUE;
	}
	return MIC_OK;
}

/*
 * A caller's number is checked against today and may have a lower-case x,
 * which is stored as X. The card's is not compared with the clock, so a
 * terminal with a wrong clock still reads a good card.
 */
static mic_rc
rule_ssn(char *s, enum origin from)
{
	mic_idnum_info info;
	char today[9];
	mic_rc rc;

	if (from == FROM_CARD)
		return mici_idnum_check(s, NULL, 0, NULL);
	if ((rc = mici_today(today)) != MIC_OK)
		return rc;
	if ((rc = mici_idnum_check(s, today, 1, &info)) != MIC_OK)
		return rc;
	memcpy(s, info.number, MIC_IDNUM_LEN + 1);

	return MIC_OK;
}

/* --- the templates ---------------------------------------------------- */

enum { CI_ID, CI_NUMBER, CI_TYPE, CI_VERSION, CI_ISSUER, CI_ISSUED,
	CI_EXPIRES };
static const struct field cardinfo_fields[] = {
	[CI_ID] = TEXT(0x80, K_AN, MIC_CARDID_LEN, struct mic_cardinfo, id,
	    rule_cardid, 0),
	[CI_NUMBER] = TEXT(0x81, K_AN, MIC_CARD_NUMBER_LEN,
	    struct mic_cardinfo, number, NULL, 0),
	[CI_TYPE] = NUM(0x82, K_UINT, 1, struct mic_cardinfo, type, 1, 1),
	[CI_VERSION] = NUM(0x83, K_UINT, 2, struct mic_cardinfo, version,
	    0x0100, 0x0109),
	[CI_ISSUER] = TEXT(0x42, K_AN, MIC_REGION_LEN, struct mic_cardinfo,
	    issuer, rule_region, 0),
	[CI_ISSUED] = TEXT(0x5F25, K_N8, 4, struct mic_cardinfo, issued, NULL,
	    0),
	[CI_EXPIRES] = TEXT(0x5F24, K_N8, 4, struct mic_cardinfo, expires,
	    NULL, 0),
};

enum { HO_SSN, HO_NAME, HO_GENDER, HO_BIRTH, HO_BIRTHPLACE, HO_ETHNICITY };
static const struct field holder_fields[] = {
	[HO_SSN] = TEXT(0x80, K_IDNUM, MIC_IDNUM_LEN, struct mic_holder, ssn,
	    rule_ssn, 0),
	[HO_NAME] = TEXT(0x5F20, K_UTF8, MIC_NAME_MAX, struct mic_holder, name,
	    NULL, 0),
	[HO_GENDER] = TEXT(0x5F35, K_AN, 1, struct mic_holder, gender,
	    rule_gender, 0),
	[HO_BIRTH] = TEXT(0x5F2B, K_N8, 4, struct mic_holder, birth, NULL, 0),
	[HO_BIRTHPLACE] = TEXT(0x81, K_AN, MIC_REGION_LEN, struct mic_holder,
	    birthplace, rule_region, 0),
	[HO_ETHNICITY] = TEXT(0x82, K_AN, 2, struct mic_holder, ethnicity,
	    rule_ethnicity, 1),
};

enum { IN_SCHEME, IN_REGION, IN_SINCE, IN_POLICY };
static const struct field insurance_fields[] = {
	[IN_SCHEME] = TEXT(0x80, K_AN, 1, struct mic_insurance, scheme,
	    rule_scheme, 0),
	[IN_REGION] = TEXT(0x81, K_AN, MIC_REGION_LEN, struct mic_insurance,
	    region, rule_region, 0),
	[IN_SINCE] = TEXT(0x82, K_N8, 4, struct mic_insurance, since, NULL, 0),
	[IN_POLICY] = NUM(0x83, K_UINT, 1, struct mic_insurance, policy, 0,
	    0xFF),
};

enum { AC_WHEN, AC_TERMINAL, AC_ROLE };
static const struct field activation_fields[] = {
	[AC_WHEN] = TEXT(0x80, K_N14, 7, struct mic_activation, when, NULL, 0),
	[AC_TERMINAL] = TEXT(0x81, K_AN, MIC_TERMINAL_ID_LEN,
	    struct mic_activation, terminal, NULL, 0),
	[AC_ROLE] = NUM(0x82, K_UINT, 1, struct mic_activation, role,
	    MIC_ROLE_HOSPITAL, MIC_ROLE_BUREAU),
};

enum { ME_KINSHIP, ME_SSN, ME_NAME, ME_MAY_PAY, ME_BOUND };
static const struct field member_fields[] = {
	[ME_KINSHIP] = TEXT(0x80, K_AN, 2, struct mic_member, kinship,
	    rule_kinship, 0),
	[ME_SSN] = TEXT(0x81, K_IDNUM, MIC_IDNUM_LEN, struct mic_member, ssn,
	    rule_ssn, 0),
	[ME_NAME] = TEXT(0x5F20, K_UTF8, MIC_NAME_MAX, struct mic_member, name,
	    NULL, 0),
	[ME_MAY_PAY] = NUM(0x82, K_UINT, 1, struct mic_member, may_pay, 0, 1),
	[ME_BOUND] = TEXT(0x83, K_N8, 4, struct mic_member, bound, NULL, 0),
};

enum { AT_BALANCE, AT_COUNTER };
static const struct field account_fields[] = {
	[AT_BALANCE] = NUM(0x80, K_INT, 8, struct mic_account, balance, 0,
	    INT64_MAX),
	[AT_COUNTER] = NUM(0x81, K_UINT, 4, struct mic_account, counter, 0,
	    UINT32_MAX),
};

_Static_assert(MIC_ARRAY_LEN(cardinfo_fields) <= FIELDS_MAX, "fields");
_Static_assert(MIC_ARRAY_LEN(holder_fields) <= FIELDS_MAX, "fields");
_Static_assert(MIC_ARRAY_LEN(insurance_fields) <= FIELDS_MAX, "fields");
_Static_assert(MIC_ARRAY_LEN(activation_fields) <= FIELDS_MAX, "fields");
_Static_assert(MIC_ARRAY_LEN(member_fields) <= FIELDS_MAX, "fields");
_Static_assert(MIC_ARRAY_LEN(account_fields) <= FIELDS_MAX, "fields");
_Static_assert(sizeof(struct mic_insurance) <= OBJ_MAX, "undo copy");
_Static_assert(sizeof(struct mic_activation) <= OBJ_MAX, "undo copy");
_Static_assert(sizeof(struct mic_account) <= OBJ_MAX, "undo copy");

static int
has(const void *obj, size_t i)
{
	return (OBJ_HAVE(obj) >> i) & 1u;
}

static mic_rc
cardinfo_agree(const void *obj)
{
	const struct mic_cardinfo *ci = obj;

	if (has(ci, CI_ID) && has(ci, CI_ISSUER) &&
	    memcmp(ci->id, ci->issuer, MIC_REGION_LEN) != 0) {
		mici_debug("%s: card id and issuer differ", __func__);
		return MIC_ERR_MISMATCH;
	}
	if (has(ci, CI_ID) && has(ci, CI_TYPE) &&
	    ci->id[16] - '0' != ci->type) {
		mici_debug("%s: card id and card type differ", __func__);
		return MIC_ERR_MISMATCH;
	}
	if (has(ci, CI_ID) && has(ci, CI_VERSION) &&
	    (ci->id[17] - '0' != ci->version >> 8 ||
	    ci->id[18] - '0' != (ci->version & 0xFF))) {
		mici_debug("%s: card id and version differ", __func__);
		return MIC_ERR_MISMATCH;
	}
	if (has(ci, CI_ISSUED) && has(ci, CI_EXPIRES) &&
	    strcmp(ci->expires, ci->issued) <= 0) {
		mici_debug("%s: expires %s, issued %s", __func__, ci->expires,
		    ci->issued);
		return MIC_ERR_MISMATCH;
	}

	return MIC_OK;
}

/* The gender and birth date that the social security number implies. */
static mic_rc
holder_agree(const void *obj)
{
	const struct mic_holder *h = obj;
	char implied;

	if (!has(h, HO_SSN))
		return MIC_OK;
	if (has(h, HO_BIRTH) && memcmp(h->ssn + 6, h->birth, 8) != 0) {
		/* Neither value: both are the holder's (docs/privacy.md). */
		mici_debug("%s: birth date and ID number differ", __func__);
		return MIC_ERR_MISMATCH;
	}
	implied = (h->ssn[16] - '0') % 2 == 1 ? '1' : '2';
	if (has(h, HO_GENDER) && (h->gender[0] == '1' ||
	    h->gender[0] == '2') && h->gender[0] != implied) {
		mici_debug("%s: gender and ID number differ", __func__);
		return MIC_ERR_MISMATCH;
	}

	return MIC_OK;
}

#define TMPL(nm, tg, f, type, ag) { .name = (nm), .tag = (tg), \
	.fields = (f), .nfields = MIC_ARRAY_LEN(f), .size = sizeof(type), \
	.agree = (ag) }

static const struct tmpl cardinfo_tmpl = TMPL("EF.CARD", 0x66,
    cardinfo_fields, struct mic_cardinfo, cardinfo_agree);
static const struct tmpl holder_tmpl = TMPL("EF.HOLDER", 0x65,
    holder_fields, struct mic_holder, holder_agree);
static const struct tmpl insurance_tmpl = TMPL("EF.INSURANCE", 0xE1,
    insurance_fields, struct mic_insurance, NULL);
static const struct tmpl activation_tmpl = TMPL("EF.ACTIVATION", 0xE2,
    activation_fields, struct mic_activation, NULL);
static const struct tmpl member_tmpl = TMPL("EF.FAMILY", 0xE3,
    member_fields, struct mic_member, NULL);
static const struct tmpl account_tmpl = TMPL("EF.ACCOUNT", 0xE4,
    account_fields, struct mic_account, NULL);

/* --- the generic machinery -------------------------------------------- */

static char *
text_at(void *obj, const struct field *f)
{
	return (char *)obj + f->off;
}

static const char *
ctext_at(const void *obj, const struct field *f)
{
	return (const char *)obj + f->off;
}

static int64_t *
num_at(void *obj, const struct field *f)
{
	return (int64_t *)(void *)((char *)obj + f->off);
}

static int64_t
cnum_at(const void *obj, const struct field *f)
{
	return *(const int64_t *)(const void *)((const char *)obj + f->off);
}

/* The digits a date field keeps: 8 for n8, 14 for n14. */
static size_t
date_digits(const struct field *f)
{
	return 2 * f->len;
}

/*
 * Check the @p n characters at @p s (NUL-terminated) as a value of @p f.
 * The rule may rewrite @p s into its canonical form.
 */
static mic_rc
text_check(const struct field *f, char *s, size_t n, enum origin from)
{
	const char *why;
	mic_rc rc;

	switch (f->kind) {
	case K_AN:
		if (n != f->len || !printable(s, n)) {
			mici_debug("%s: tag %" PRIX32 ": not an%zu", __func__,
			    f->tag, f->len);
			return MIC_ERR_FORMAT;
		}
		break;
	case K_N8:
	case K_N14:
		if (n != date_digits(f) || !mici_digits(s, n)) {
			mici_debug("%s: tag %" PRIX32 ": not %zu digits",
			    __func__, f->tag, date_digits(f));
			return MIC_ERR_FORMAT;
		}
		if (!mici_date_real(s, n)) {
			mici_debug("%s: tag %" PRIX32 ": %s is no real date",
			    __func__, f->tag, s);
			return MIC_ERR_DATE;
		}
		break;
	case K_UTF8:
		if (n < 1 || n > f->len) {
			mici_debug("%s: tag %" PRIX32 ": %zu bytes", __func__,
			    f->tag, n);
			return MIC_ERR_FORMAT;
		}
		if (!mici_utf8_ok((const uint8_t *)s, n)) {
			mici_debug("%s: tag %" PRIX32 ": bad UTF-8", __func__,
			    f->tag);
			return MIC_ERR_UTF8;
		}
		/* No padding, nothing invisible, NFC: what a person reads
		 * is what the bytes say (text.c). */
		if ((rc = mici_name_check(s, n, &why)) != MIC_OK) {
			mici_debug("%s: tag %" PRIX32 ": %s", __func__,
			    f->tag, why);
			return rc;
		}
		break;
	case K_IDNUM:
		/* A NUL inside would cut the number short to its checker. */
		if (strlen(s) != n) {
			mici_debug("%s: tag %" PRIX32 ": NUL", __func__, f->tag);
			return MIC_ERR_IDNUM_CHAR;
		}
		break;
	case K_UINT:
	case K_INT:
		mici_debug("%s: tag %" PRIX32 " is a number", __func__, f->tag);
		return MIC_ERR_INTERNAL;
	}
	if (f->rule != NULL)
		return f->rule(s, from);

	return MIC_OK;
}

static mic_rc
num_check(const struct field *f, int64_t v)
{
	if (v < f->min || v > f->max) {
		mici_debug("%s: tag %" PRIX32 ": %" PRId64 " outside %" PRId64
		    "..%" PRId64, __func__, f->tag, v, f->min, f->max);
		return MIC_ERR_VALUE;
	}
	return MIC_OK;
}

/*
 * Store a checked text value. text_check() held it to its field's size;
 * the test here keeps a wrong table from ever writing past the array.
 */
static mic_rc
put_text(void *obj, const struct field *f, size_t i, const char *s)
{
	char *dst = text_at(obj, f);
	size_t n = strlen(s);

	if (n >= f->cap) {
		mici_debug("%s: tag %" PRIX32 ": %zu bytes in %zu", __func__,
		    f->tag, n, f->cap);
		return MIC_ERR_INTERNAL;
	}
	memset(dst, 0, f->cap);
	memcpy(dst, s, n);
	OBJ_HAVE_RW(obj) |= 1u << i;

	return MIC_OK;
}

/* A text longer than any field: the error its kind reports for length. */
static mic_rc
too_long(const struct field *f)
{
	mici_debug("%s: tag %" PRIX32, __func__, f->tag);
	return f->kind == K_IDNUM ? MIC_ERR_IDNUM_LENGTH : MIC_ERR_FORMAT;
}

/* Keep a change only if the fields still agree; else restore @p saved. */
static mic_rc
agree_or_undo(void *obj, const struct tmpl *t, const void *saved)
{
	mic_rc rc;

	if (t->agree == NULL || (rc = t->agree(obj)) == MIC_OK)
		return MIC_OK;
	memcpy(obj, saved, t->size);

	return rc;
}

/*
 * Copy a caller's text into @p buf (TEXT_MAX bytes) and check it.
 * Too long a text is stopped here, before it is ever measured in full.
 */
static mic_rc
caller_text(const struct field *f, const char *s, char *buf)
{
	size_t n = strnlen(s, TEXT_MAX);

	if (n >= TEXT_MAX)
		return too_long(f);
	memcpy(buf, s, n);
	buf[n] = '\0';

	return text_check(f, buf, n, FROM_CALLER);
}

static mic_rc
set_text(void *obj, const struct tmpl *t, size_t i, const char *s)
{
	const struct field *f = &t->fields[i];
	unsigned char saved[OBJ_MAX];
	char buf[TEXT_MAX];
	mic_rc rc;

	if (obj == NULL || (s == NULL && !f->optional)) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	memcpy(saved, obj, t->size);
	if (s == NULL) {
		memset(text_at(obj, f), 0, f->cap);
		OBJ_HAVE_RW(obj) &= ~(1u << i);
		return agree_or_undo(obj, t, saved);
	}
	if ((rc = caller_text(f, s, buf)) != MIC_OK ||
	    (rc = put_text(obj, f, i, buf)) != MIC_OK) {
		memcpy(obj, saved, t->size);
		return rc;
	}

	return agree_or_undo(obj, t, saved);
}

static mic_rc
set_num(void *obj, const struct tmpl *t, size_t i, int64_t v)
{
	const struct field *f = &t->fields[i];
	unsigned char saved[OBJ_MAX];
	mic_rc rc;

	if (obj == NULL) {
		mici_debug("%s: NULL object", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((rc = num_check(f, v)) != MIC_OK)
		return rc;
	memcpy(saved, obj, t->size);
	*num_at(obj, f) = v;
	OBJ_HAVE_RW(obj) |= 1u << i;

	return agree_or_undo(obj, t, saved);
}

static const char *
get_text(const void *obj, const struct tmpl *t, size_t i)
{
	if (obj == NULL || !has(obj, i))
		return NULL;
	return ctext_at(obj, &t->fields[i]);
}

static int64_t
get_num(const void *obj, const struct tmpl *t, size_t i)
{
	if (obj == NULL || !has(obj, i))
		return 0;
	return cnum_at(obj, &t->fields[i]);
}

static void
write_field(mic_tlv_writer *w, const void *obj, const struct field *f)
{
	const char *s = ctext_at(obj, f);
	uint8_t bcd[7];

	switch (f->kind) {
	case K_AN:
	case K_UTF8:
	case K_IDNUM:
		mic_tlv_put(w, f->tag, (const uint8_t *)s, strlen(s));
		break;
	case K_N8:
	case K_N14:
		/* n14 is the longest BCD field; a table entry that says more is
		 * a bug, and the writer's sticky error reports it. */
		if (f->len > sizeof(bcd)) {
			if (w->err == MIC_OK)
				w->err = MIC_ERR_INTERNAL;
			break;
		}
		bcd_pack(s, f->len, bcd);
		mic_tlv_put(w, f->tag, bcd, f->len);
		break;
	case K_UINT:
		mic_tlv_put_uint(w, f->tag, (uint64_t)cnum_at(obj, f), f->len);
		break;
	case K_INT:
		mic_tlv_put_uint(w, f->tag, to_twos(cnum_at(obj, f)), f->len);
		break;
	}
}

static mic_rc
check_complete(const void *obj, const struct tmpl *t)
{
	size_t i;

	for (i = 0; i < t->nfields; i++) {
		if (!t->fields[i].optional && !has(obj, i)) {
			mici_debug("%s: %s: tag %" PRIX32 " missing", __func__,
			    t->name, t->fields[i].tag);
			return MIC_ERR_MISSING;
		}
	}
	return t->agree != NULL ? t->agree(obj) : MIC_OK;
}

static mic_rc
tmpl_encode(const void *obj, const struct tmpl *t, uint8_t *buf, size_t cap,
    size_t *len)
{
	mic_tlv_writer w;
	size_t i;
	mic_rc rc;

	if (len != NULL)
		*len = 0;
	if (obj == NULL || len == NULL || (buf == NULL && cap > 0)) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((rc = check_complete(obj, t)) != MIC_OK)
		return rc;
	mic_tlv_writer_init(&w, buf, cap);
	mic_tlv_open(&w, t->tag);
	for (i = 0; i < t->nfields; i++) {
		if (has(obj, i))
			write_field(&w, obj, &t->fields[i]);
	}
	mic_tlv_close(&w);
	if ((rc = mic_tlv_writer_finish(&w, len)) != MIC_OK)
		mici_debug("%s: %s: writer", __func__, t->name);

	return rc;
}

/*
 * The one template at the start of a file or record: its tag must be
 * @p tag and only 00 bytes may follow it.
 */
static mic_rc
open_template(const uint8_t *buf, size_t len, uint32_t tag, mic_tlv *out)
{
	mic_rc rc;

	if (all_zero(buf, len)) {
		mici_debug("%s: empty", __func__);
		return MIC_ERR_NOT_FOUND;
	}
	if ((rc = mic_tlv_parse(buf, len, out)) != MIC_OK)
		return rc;
	if (out->tag != tag) {
		mici_debug("%s: tag %" PRIX32 ", expected %" PRIX32, __func__,
		    out->tag, tag);
		return MIC_ERR_TEMPLATE;
	}
	if (!all_zero(buf + out->raw_len, len - out->raw_len)) {
		mici_debug("%s: data after the template", __func__);
		return MIC_ERR_TEMPLATE;
	}

	return MIC_OK;
}

/*
 * Sort the children of a template onto @p tags: each known tag at most
 * once, unknown context-specific tags skipped, anything else refused.
 */
static mic_rc
collect(const uint8_t *v, size_t n, const uint32_t *tags, size_t ntags,
    mic_tlv *found, uint32_t *have)
{
	mic_tlv_iter it;
	mic_tlv c;
	size_t i;
	mic_rc rc;

	*have = 0;
	mic_tlv_iter_init(&it, v, n);
	while ((rc = mic_tlv_next(&it, &c)) == MIC_OK) {
		for (i = 0; i < ntags && tags[i] != c.tag; i++)
			continue;
		if (i == ntags) {
			if (tag_context_specific(c.tag))
				continue;
			mici_debug("%s: foreign tag %" PRIX32, __func__,
			    c.tag);
			return MIC_ERR_TEMPLATE;
		}
		if ((*have >> i) & 1u) {
			mici_debug("%s: tag %" PRIX32 " repeated", __func__,
			    c.tag);
			return MIC_ERR_TEMPLATE;
		}
		*have |= 1u << i;
		found[i] = c;
	}

	return rc == MIC_ERR_NOT_FOUND ? MIC_OK : rc;
}

/* One value from the card into the scratch object. */
static mic_rc
read_field(void *obj, const struct field *f, size_t i, const mic_tlv *c)
{
	char buf[TEXT_MAX];
	mic_rc rc;

	if (f->kind == K_UINT || f->kind == K_INT) {
		int64_t v;

		if (c->len != f->len) {
			mici_debug("%s: tag %" PRIX32 ": %zu bytes", __func__,
			    f->tag, c->len);
			return MIC_ERR_FORMAT;
		}
		v = f->kind == K_INT ? from_twos(get_be(c->value, c->len)) :
		    (int64_t)get_be(c->value, c->len);
		if ((rc = num_check(f, v)) != MIC_OK)
			return rc;
		*num_at(obj, f) = v;
		OBJ_HAVE_RW(obj) |= 1u << i;
		return MIC_OK;
	}
	if (f->kind == K_N8 || f->kind == K_N14) {
		if (c->len != f->len) {
			mici_debug("%s: tag %" PRIX32 ": %zu bytes", __func__,
			    f->tag, c->len);
			return MIC_ERR_FORMAT;
		}
		if (!bcd_unpack(c->value, c->len, buf)) {
			mici_debug("%s: tag %" PRIX32 ": not BCD", __func__,
			    f->tag);
			return MIC_ERR_DATE;
		}
	} else {
		/* Text: bounded before the copy, checked to size after. */
		if (c->len >= TEXT_MAX)
			return too_long(f);
		memcpy(buf, c->value, c->len);
		buf[c->len] = '\0';
	}
	if ((rc = text_check(f, buf, f->kind == K_N8 || f->kind == K_N14 ?
	    date_digits(f) : c->len, FROM_CARD)) != MIC_OK)
		return rc;

	return put_text(obj, f, i, buf);
}

static mic_rc
tmpl_decode(void *obj, const struct tmpl *t, const uint8_t *buf, size_t len)
{
	unsigned char scratch[OBJ_MAX];
	uint32_t tags[FIELDS_MAX];
	mic_tlv found[FIELDS_MAX];
	mic_tlv tpl;
	uint32_t have;
	size_t i;
	mic_rc rc;

	if (obj == NULL || (buf == NULL && len > 0)) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((rc = open_template(buf, len, t->tag, &tpl)) != MIC_OK)
		goto fail;
	for (i = 0; i < t->nfields; i++)
		tags[i] = t->fields[i].tag;
	if ((rc = collect(tpl.value, tpl.len, tags, t->nfields, found,
	    &have)) != MIC_OK)
		goto fail;
	memset(scratch, 0, t->size);
	for (i = 0; i < t->nfields; i++) {
		if (((have >> i) & 1u) && (rc = read_field(scratch,
		    &t->fields[i], i, &found[i])) != MIC_OK)
			goto fail;
	}
	if ((rc = check_complete(scratch, t)) != MIC_OK)
		goto fail;
	memcpy(obj, scratch, t->size);
	rc = MIC_OK;
fail:
	if (rc != MIC_OK)
		mici_debug("%s: %s: %d", __func__, t->name, (int)rc);
	mici_wipe(scratch, sizeof(scratch));

	return rc;
}

static void *
obj_new(const struct tmpl *t)
{
	void *obj;

	if ((obj = calloc(1, t->size)) == NULL)
		mici_debug("%s: %s: calloc", __func__, t->name);
	return obj;
}

/* Personal data: wiped before the memory goes back. */
static void
obj_free(void *obj, size_t size)
{
	if (obj == NULL)
		return;
	mici_wipe(obj, size);
	free(obj);
}

/* --- plain values: AID, state, card identification code ---------------- */

const uint8_t *
mic_aid(size_t *len)
{
	if (len != NULL)
		*len = sizeof(mic_aid_bytes);
	return mic_aid_bytes;
}

const char *
mic_state_name(mic_state state)
{
	switch (state) {
	case MIC_STATE_BLANK:
		return "blank";
	case MIC_STATE_PERSONALIZED:
		return "personalized";
	case MIC_STATE_ACTIVE:
		return "active";
	case MIC_STATE_BLOCKED:
		return "blocked";
	case MIC_STATE_TERMINATED:
		return "terminated";
	}
	return "unknown";
}

/* The RID of the AID as the 10 upper-case hex digits of a card id. */
static void
rid_hex(char out[2 * RID_LEN + 1])
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < RID_LEN; i++) {
		out[2 * i] = hex[mic_aid_bytes[i] >> 4];
		out[2 * i + 1] = hex[mic_aid_bytes[i] & 0x0F];
	}
	out[2 * RID_LEN] = '\0';
}

#define SERIAL_MAX UINT64_C(9999999999)
#define BUREAU_MAX 999u

static mic_rc
cardid_check(const mic_cardid *id)
{
	if (strnlen(id->issuer, sizeof(id->issuer)) != MIC_REGION_LEN ||
	    !mic_code_valid(MIC_CODE_REGION, id->issuer)) {
		mici_debug("%s: issuer not a region code", __func__);
		return MIC_ERR_CODE;
	}
	if (id->card_type != 1 || id->version_major != 1 ||
	    id->version_minor > 9 || id->bureau > BUREAU_MAX ||
	    id->serial > SERIAL_MAX) {
		mici_debug("%s: type %u, version %u.%u, bureau %u or serial",
		    __func__, id->card_type, id->version_major,
		    id->version_minor, id->bureau);
		return MIC_ERR_VALUE;
	}

	return MIC_OK;
}

mic_rc
mic_cardid_build(const mic_cardid *id, char *out, size_t cap)
{
	char rid[2 * RID_LEN + 1];
	mic_rc rc;

	if (id == NULL || out == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (cap < MIC_CARDID_LEN + 1) {
		mici_debug("%s: cap %zu", __func__, cap);
		return MIC_ERR_BUFFER_TOO_SMALL;
	}
	if ((rc = cardid_check(id)) != MIC_OK)
		return rc;
	rid_hex(rid);
	if (snprintf(out, cap, "%.6s%s%u%u%u%03u%010" PRIu64, id->issuer, rid,
	    id->card_type, id->version_major, id->version_minor, id->bureau,
	    id->serial) != MIC_CARDID_LEN) {
		mici_debug("%s: snprintf", __func__);
		return MIC_ERR_INTERNAL;
	}

	return MIC_OK;
}

static unsigned
digits_value(const char *s, size_t n)
{
	unsigned v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	return v;
}

mic_rc
mic_cardid_parse(const char *s, mic_cardid *id)
{
	char rid[2 * RID_LEN + 1];
	mic_cardid c;
	size_t i;

	if (s == NULL || id == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (strnlen(s, MIC_CARDID_LEN + 1) != MIC_CARDID_LEN ||
	    !mici_digits(s, 6) || !mici_digits(s + 16, 16) ||
	    !printable(s + 6, 2 * RID_LEN)) {
		mici_debug("%s: not 6 + 10 + 16 characters", __func__);
		return MIC_ERR_FORMAT;
	}
	rid_hex(rid);
	if (memcmp(s + 6, rid, 2 * RID_LEN) != 0) {
		mici_debug("%s: RID %.10s", __func__, s + 6);
		return MIC_ERR_VALUE;
	}
	memset(&c, 0, sizeof(c));
	memcpy(c.issuer, s, MIC_REGION_LEN);
	c.card_type = digits_value(s + 16, 1);
	c.version_major = digits_value(s + 17, 1);
	c.version_minor = digits_value(s + 18, 1);
	c.bureau = digits_value(s + 19, 3);
	for (i = 22; i < MIC_CARDID_LEN; i++)
		c.serial = c.serial * 10 + (uint64_t)(s[i] - '0');
	if (!mic_code_valid(MIC_CODE_REGION, c.issuer)) {
		mici_debug("%s: issuer %s", __func__, c.issuer);
		return MIC_ERR_CODE;
	}
	if (c.card_type != 1 || c.version_major != 1) {
		mici_debug("%s: type %u, version %u", __func__, c.card_type,
		    c.version_major);
		return MIC_ERR_VALUE;
	}
	*id = c;

	return MIC_OK;
}

/* --- FCI --------------------------------------------------------------- */

#define TAG_FCI 0x6Fu
#define TAG_DF_NAME 0x84u
#define TAG_PROPRIETARY 0xA5u
#define TAG_STATE 0x80u
#define TAG_SERIAL 0x81u

static int
state_ok(int64_t s)
{
	return s >= MIC_STATE_BLANK && s <= MIC_STATE_TERMINATED;
}

mic_rc
mic_fci_encode(const mic_fci *fci, uint8_t *buf, size_t cap, size_t *len)
{
	mic_tlv_writer w;
	mic_rc rc;

	if (len != NULL)
		*len = 0;
	if (fci == NULL || len == NULL || (buf == NULL && cap > 0)) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (fci->aid_len < AID_MIN || fci->aid_len > MIC_AID_MAX ||
	    !state_ok(fci->state)) {
		mici_debug("%s: AID of %zu bytes, state %d", __func__,
		    fci->aid_len, (int)fci->state);
		return MIC_ERR_VALUE;
	}
	mic_tlv_writer_init(&w, buf, cap);
	mic_tlv_open(&w, TAG_FCI);
	mic_tlv_put(&w, TAG_DF_NAME, fci->aid, fci->aid_len);
	mic_tlv_open(&w, TAG_PROPRIETARY);
	mic_tlv_put_uint(&w, TAG_STATE, (uint64_t)fci->state, 1);
	mic_tlv_put(&w, TAG_SERIAL, fci->chip_serial, MIC_CHIP_SERIAL_LEN);
	mic_tlv_close(&w);
	mic_tlv_close(&w);
	if ((rc = mic_tlv_writer_finish(&w, len)) != MIC_OK)
		mici_debug("%s: writer", __func__);

	return rc;
}

static mic_rc
fci_proprietary(const mic_tlv *a5, mic_fci *out)
{
	static const uint32_t tags[] = { TAG_STATE, TAG_SERIAL };
	mic_tlv found[2];
	uint32_t have;
	mic_rc rc;

	if ((rc = collect(a5->value, a5->len, tags, 2, found, &have)) !=
	    MIC_OK)
		return rc;
	if (have != 3) {
		mici_debug("%s: state or serial missing", __func__);
		return MIC_ERR_MISSING;
	}
	if (found[0].len != 1 || found[1].len != MIC_CHIP_SERIAL_LEN) {
		mici_debug("%s: state of %zu, serial of %zu bytes", __func__,
		    found[0].len, found[1].len);
		return MIC_ERR_FORMAT;
	}
	if (!state_ok(found[0].value[0])) {
		mici_debug("%s: state %02X", __func__, found[0].value[0]);
		return MIC_ERR_VALUE;
	}
	out->state = (mic_state)found[0].value[0];
	memcpy(out->chip_serial, found[1].value, MIC_CHIP_SERIAL_LEN);

	return MIC_OK;
}

mic_rc
mic_fci_decode(mic_fci *fci, const uint8_t *buf, size_t len)
{
	static const uint32_t tags[] = { TAG_DF_NAME, TAG_PROPRIETARY };
	mic_tlv tpl, found[2];
	uint32_t have;
	mic_fci f;
	mic_rc rc;

	if (fci == NULL || (buf == NULL && len > 0)) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((rc = open_template(buf, len, TAG_FCI, &tpl)) != MIC_OK ||
	    (rc = collect(tpl.value, tpl.len, tags, 2, found, &have)) !=
	    MIC_OK)
		return rc;
	if (have != 3) {
		mici_debug("%s: AID or A5 missing", __func__);
		return MIC_ERR_MISSING;
	}
	if (found[0].len < AID_MIN || found[0].len > MIC_AID_MAX) {
		mici_debug("%s: AID of %zu bytes", __func__, found[0].len);
		return MIC_ERR_FORMAT;
	}
	memset(&f, 0, sizeof(f));
	memcpy(f.aid, found[0].value, found[0].len);
	f.aid_len = found[0].len;
	if ((rc = fci_proprietary(&found[1], &f)) != MIC_OK)
		return rc;
	*fci = f;

	return MIC_OK;
}

/* --- EF.CARD ----------------------------------------------------------- */

mic_cardinfo_t *
mic_cardinfo_new(void)
{
	mic_cardinfo_t *ci;

	if ((ci = obj_new(&cardinfo_tmpl)) == NULL)
		return NULL;
	ci->type = 1;
	ci->version = 0x0100;
	ci->have = 1u << CI_TYPE | 1u << CI_VERSION;

	return ci;
}

void
mic_cardinfo_free(mic_cardinfo_t **ci)
{
	if (ci == NULL)
		return;
	obj_free(*ci, sizeof(**ci));
	*ci = NULL;
}

mic_rc
mic_cardinfo_set_id(mic_cardinfo_t *ci, const char *id)
{
	return set_text(ci, &cardinfo_tmpl, CI_ID, id);
}

mic_rc
mic_cardinfo_set_number(mic_cardinfo_t *ci, const char *number)
{
	return set_text(ci, &cardinfo_tmpl, CI_NUMBER, number);
}

mic_rc
mic_cardinfo_set_type(mic_cardinfo_t *ci, unsigned type)
{
	return set_num(ci, &cardinfo_tmpl, CI_TYPE, type);
}

mic_rc
mic_cardinfo_set_version(mic_cardinfo_t *ci, unsigned major, unsigned minor)
{
	if (major > 0xFF || minor > 0xFF) {
		mici_debug("%s: version %u.%u", __func__, major, minor);
		return MIC_ERR_VALUE;
	}
	return set_num(ci, &cardinfo_tmpl, CI_VERSION,
	    (int64_t)(major << 8 | minor));
}

mic_rc
mic_cardinfo_set_issuer(mic_cardinfo_t *ci, const char *region)
{
	return set_text(ci, &cardinfo_tmpl, CI_ISSUER, region);
}

mic_rc
mic_cardinfo_set_issue_date(mic_cardinfo_t *ci, const char *date)
{
	return set_text(ci, &cardinfo_tmpl, CI_ISSUED, date);
}

mic_rc
mic_cardinfo_set_expiry_date(mic_cardinfo_t *ci, const char *date)
{
	return set_text(ci, &cardinfo_tmpl, CI_EXPIRES, date);
}

const char *
mic_cardinfo_id(const mic_cardinfo_t *ci)
{
	return get_text(ci, &cardinfo_tmpl, CI_ID);
}

const char *
mic_cardinfo_number(const mic_cardinfo_t *ci)
{
	return get_text(ci, &cardinfo_tmpl, CI_NUMBER);
}

unsigned
mic_cardinfo_type(const mic_cardinfo_t *ci)
{
	return (unsigned)get_num(ci, &cardinfo_tmpl, CI_TYPE);
}

unsigned
mic_cardinfo_version(const mic_cardinfo_t *ci)
{
	return (unsigned)get_num(ci, &cardinfo_tmpl, CI_VERSION);
}

const char *
mic_cardinfo_issuer(const mic_cardinfo_t *ci)
{
	return get_text(ci, &cardinfo_tmpl, CI_ISSUER);
}

const char *
mic_cardinfo_issue_date(const mic_cardinfo_t *ci)
{
	return get_text(ci, &cardinfo_tmpl, CI_ISSUED);
}

const char *
mic_cardinfo_expiry_date(const mic_cardinfo_t *ci)
{
	return get_text(ci, &cardinfo_tmpl, CI_EXPIRES);
}

mic_rc
mic_cardinfo_encode(const mic_cardinfo_t *ci, uint8_t *buf, size_t cap,
    size_t *len)
{
	return tmpl_encode(ci, &cardinfo_tmpl, buf, cap, len);
}

mic_rc
mic_cardinfo_decode(mic_cardinfo_t *ci, const uint8_t *buf, size_t len)
{
	return tmpl_decode(ci, &cardinfo_tmpl, buf, len);
}

/* --- EF.HOLDER --------------------------------------------------------- */

mic_holder_t *
mic_holder_new(void)
{
	return obj_new(&holder_tmpl);
}

void
mic_holder_free(mic_holder_t **h)
{
	if (h == NULL)
		return;
	obj_free(*h, sizeof(**h));
	*h = NULL;
}

/* The number brings its birth date along: the card keeps both. */
mic_rc
mic_holder_set_ssn(mic_holder_t *h, const char *ssn)
{
	const struct field *f = &holder_fields[HO_SSN];
	unsigned char saved[OBJ_MAX];
	char buf[TEXT_MAX], birth[9];
	mic_rc rc;

	if (h == NULL || ssn == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((rc = caller_text(f, ssn, buf)) != MIC_OK)
		return rc;
	memcpy(saved, h, sizeof(*h));
	memcpy(birth, buf + 6, 8);
	birth[8] = '\0';
	if ((rc = put_text(h, f, HO_SSN, buf)) != MIC_OK ||
	    (rc = put_text(h, &holder_fields[HO_BIRTH], HO_BIRTH, birth)) !=
	    MIC_OK) {
		memcpy(h, saved, sizeof(*h));
		return rc;
	}

	return agree_or_undo(h, &holder_tmpl, saved);
}

mic_rc
mic_holder_set_name(mic_holder_t *h, const char *name)
{
	return set_text(h, &holder_tmpl, HO_NAME, name);
}

mic_rc
mic_holder_set_gender(mic_holder_t *h, const char *gender)
{
	return set_text(h, &holder_tmpl, HO_GENDER, gender);
}

mic_rc
mic_holder_set_birthplace(mic_holder_t *h, const char *region)
{
	return set_text(h, &holder_tmpl, HO_BIRTHPLACE, region);
}

mic_rc
mic_holder_set_ethnicity(mic_holder_t *h, const char *code)
{
	return set_text(h, &holder_tmpl, HO_ETHNICITY, code);
}

const char *
mic_holder_ssn(const mic_holder_t *h)
{
	return get_text(h, &holder_tmpl, HO_SSN);
}

const char *
mic_holder_name(const mic_holder_t *h)
{
	return get_text(h, &holder_tmpl, HO_NAME);
}

const char *
mic_holder_gender(const mic_holder_t *h)
{
	return get_text(h, &holder_tmpl, HO_GENDER);
}

const char *
mic_holder_birth_date(const mic_holder_t *h)
{
	return get_text(h, &holder_tmpl, HO_BIRTH);
}

const char *
mic_holder_birthplace(const mic_holder_t *h)
{
	return get_text(h, &holder_tmpl, HO_BIRTHPLACE);
}

const char *
mic_holder_ethnicity(const mic_holder_t *h)
{
	return get_text(h, &holder_tmpl, HO_ETHNICITY);
}

mic_rc
mic_holder_encode(const mic_holder_t *h, uint8_t *buf, size_t cap,
    size_t *len)
{
	return tmpl_encode(h, &holder_tmpl, buf, cap, len);
}

mic_rc
mic_holder_decode(mic_holder_t *h, const uint8_t *buf, size_t len)
{
	return tmpl_decode(h, &holder_tmpl, buf, len);
}

/* --- EF.INSURANCE ------------------------------------------------------ */

mic_insurance_t *
mic_insurance_new(void)
{
	return obj_new(&insurance_tmpl);
}

void
mic_insurance_free(mic_insurance_t **ins)
{
	if (ins == NULL)
		return;
	obj_free(*ins, sizeof(**ins));
	*ins = NULL;
}

mic_rc
mic_insurance_set_scheme(mic_insurance_t *ins, mic_scheme scheme)
{
	char s[2];

	if (scheme != MIC_SCHEME_EMPLOYEE && scheme != MIC_SCHEME_RESIDENT) {
		mici_debug("%s: scheme %d", __func__, (int)scheme);
		return MIC_ERR_VALUE;
	}
	s[0] = (char)('0' + scheme);
	s[1] = '\0';

	return set_text(ins, &insurance_tmpl, IN_SCHEME, s);
}

mic_rc
mic_insurance_set_region(mic_insurance_t *ins, const char *region)
{
	return set_text(ins, &insurance_tmpl, IN_REGION, region);
}

mic_rc
mic_insurance_set_since(mic_insurance_t *ins, const char *date)
{
	return set_text(ins, &insurance_tmpl, IN_SINCE, date);
}

mic_rc
mic_insurance_set_policy(mic_insurance_t *ins, uint8_t policy)
{
	return set_num(ins, &insurance_tmpl, IN_POLICY, policy);
}

mic_scheme
mic_insurance_scheme(const mic_insurance_t *ins)
{
	const char *s = get_text(ins, &insurance_tmpl, IN_SCHEME);

	return s == NULL ? (mic_scheme)0 : (mic_scheme)(s[0] - '0');
}

const char *
mic_insurance_region(const mic_insurance_t *ins)
{
	return get_text(ins, &insurance_tmpl, IN_REGION);
}

const char *
mic_insurance_since(const mic_insurance_t *ins)
{
	return get_text(ins, &insurance_tmpl, IN_SINCE);
}

uint8_t
mic_insurance_policy(const mic_insurance_t *ins)
{
	return (uint8_t)get_num(ins, &insurance_tmpl, IN_POLICY);
}

mic_rc
mic_insurance_encode(const mic_insurance_t *ins, uint8_t *buf, size_t cap,
    size_t *len)
{
	return tmpl_encode(ins, &insurance_tmpl, buf, cap, len);
}

mic_rc
mic_insurance_decode(mic_insurance_t *ins, const uint8_t *buf, size_t len)
{
	return tmpl_decode(ins, &insurance_tmpl, buf, len);
}

/* --- EF.ACTIVATION ----------------------------------------------------- */

mic_activation_t *
mic_activation_new(void)
{
	return obj_new(&activation_tmpl);
}

void
mic_activation_free(mic_activation_t **act)
{
	if (act == NULL)
		return;
	obj_free(*act, sizeof(**act));
	*act = NULL;
}

mic_rc
mic_activation_set_time(mic_activation_t *act, const char *when)
{
	return set_text(act, &activation_tmpl, AC_WHEN, when);
}

mic_rc
mic_activation_set_terminal(mic_activation_t *act, const char *id)
{
	return set_text(act, &activation_tmpl, AC_TERMINAL, id);
}

mic_rc
mic_activation_set_role(mic_activation_t *act, mic_role role)
{
	return set_num(act, &activation_tmpl, AC_ROLE, (int64_t)role);
}

const char *
mic_activation_time(const mic_activation_t *act)
{
	return get_text(act, &activation_tmpl, AC_WHEN);
}

const char *
mic_activation_terminal(const mic_activation_t *act)
{
	return get_text(act, &activation_tmpl, AC_TERMINAL);
}

mic_role
mic_activation_role(const mic_activation_t *act)
{
	return (mic_role)get_num(act, &activation_tmpl, AC_ROLE);
}

mic_rc
mic_activation_encode(const mic_activation_t *act, uint8_t *buf, size_t cap,
    size_t *len)
{
	return tmpl_encode(act, &activation_tmpl, buf, cap, len);
}

mic_rc
mic_activation_decode(mic_activation_t *act, const uint8_t *buf, size_t len)
{
	return tmpl_decode(act, &activation_tmpl, buf, len);
}

/* --- EF.FAMILY record -------------------------------------------------- */

mic_member_t *
mic_member_new(void)
{
	return obj_new(&member_tmpl);
}

void
mic_member_free(mic_member_t **m)
{
	if (m == NULL)
		return;
	obj_free(*m, sizeof(**m));
	*m = NULL;
}

mic_rc
mic_member_set_kinship(mic_member_t *m, const char *code)
{
	return set_text(m, &member_tmpl, ME_KINSHIP, code);
}

mic_rc
mic_member_set_ssn(mic_member_t *m, const char *ssn)
{
	return set_text(m, &member_tmpl, ME_SSN, ssn);
}

mic_rc
mic_member_set_name(mic_member_t *m, const char *name)
{
	return set_text(m, &member_tmpl, ME_NAME, name);
}

mic_rc
mic_member_set_may_pay(mic_member_t *m, int may_pay)
{
	return set_num(m, &member_tmpl, ME_MAY_PAY, may_pay);
}

mic_rc
mic_member_set_bind_date(mic_member_t *m, const char *date)
{
	return set_text(m, &member_tmpl, ME_BOUND, date);
}

const char *
mic_member_kinship(const mic_member_t *m)
{
	return get_text(m, &member_tmpl, ME_KINSHIP);
}

const char *
mic_member_ssn(const mic_member_t *m)
{
	return get_text(m, &member_tmpl, ME_SSN);
}

const char *
mic_member_name(const mic_member_t *m)
{
	return get_text(m, &member_tmpl, ME_NAME);
}

int
mic_member_may_pay(const mic_member_t *m)
{
	return (int)get_num(m, &member_tmpl, ME_MAY_PAY);
}

const char *
mic_member_bind_date(const mic_member_t *m)
{
	return get_text(m, &member_tmpl, ME_BOUND);
}

mic_rc
mic_member_encode(const mic_member_t *m, uint8_t *buf, size_t cap,
    size_t *len)
{
	return tmpl_encode(m, &member_tmpl, buf, cap, len);
}

mic_rc
mic_member_decode(mic_member_t *m, const uint8_t *buf, size_t len)
{
	return tmpl_decode(m, &member_tmpl, buf, len);
}

/* --- EF.ACCOUNT -------------------------------------------------------- */

mic_account_t *
mic_account_new(void)
{
	return obj_new(&account_tmpl);
}

void
mic_account_free(mic_account_t **acct)
{
	if (acct == NULL)
		return;
	obj_free(*acct, sizeof(**acct));
	*acct = NULL;
}

mic_rc
mic_account_set_balance(mic_account_t *acct, int64_t fen)
{
	return set_num(acct, &account_tmpl, AT_BALANCE, fen);
}

mic_rc
mic_account_set_counter(mic_account_t *acct, uint32_t counter)
{
	return set_num(acct, &account_tmpl, AT_COUNTER, counter);
}

int64_t
mic_account_balance(const mic_account_t *acct)
{
	return get_num(acct, &account_tmpl, AT_BALANCE);
}

uint32_t
mic_account_counter(const mic_account_t *acct)
{
	return (uint32_t)get_num(acct, &account_tmpl, AT_COUNTER);
}

mic_rc
mic_account_encode(const mic_account_t *acct, uint8_t *buf, size_t cap,
    size_t *len)
{
	return tmpl_encode(acct, &account_tmpl, buf, cap, len);
}

mic_rc
mic_account_decode(mic_account_t *acct, const uint8_t *buf, size_t len)
{
	return tmpl_decode(acct, &account_tmpl, buf, len);
}

/* --- EF.LOG record ------------------------------------------------------ */

/* Offsets of section 2.9. */
#define LOG_COUNTER 0
#define LOG_TYPE 4
#define LOG_AMOUNT 5
#define LOG_BALANCE 13
#define LOG_TIME 21
#define LOG_TERMINAL 28
#define LOG_PAYER 36
#define LOG_REF 37

enum { LG_COUNTER, LG_TYPE, LG_AMOUNT, LG_BALANCE, LG_TIME, LG_TERMINAL,
	LG_PAYER, LG_REF, LG_ALL };

static int
logtype_ok(int64_t t)
{
	return t == MIC_LOG_DEBIT || t == MIC_LOG_CREDIT;
}

static mic_rc
log_check(mic_logrec_t *l, size_t i, int ok)
{
	if (l == NULL) {
		mici_debug("%s: NULL record", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (!ok) {
		mici_debug("%s: field %zu out of range", __func__, i);
		return MIC_ERR_VALUE;
	}
	l->have |= 1u << i;

	return MIC_OK;
}

mic_logrec_t *
mic_logrec_new(void)
{
	mic_logrec_t *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		mici_debug("%s: calloc", __func__);
	return l;
}

void
mic_logrec_free(mic_logrec_t **l)
{
	if (l == NULL)
		return;
	obj_free(*l, sizeof(**l));
	*l = NULL;
}

mic_rc
mic_logrec_set_counter(mic_logrec_t *l, uint32_t counter)
{
	mic_rc rc;

	if ((rc = log_check(l, LG_COUNTER, 1)) == MIC_OK)
		l->counter = counter;
	return rc;
}

mic_rc
mic_logrec_set_type(mic_logrec_t *l, mic_logtype type)
{
	mic_rc rc;

	if ((rc = log_check(l, LG_TYPE, logtype_ok(type))) == MIC_OK)
		l->type = type;
	return rc;
}

mic_rc
mic_logrec_set_amount(mic_logrec_t *l, int64_t fen)
{
	mic_rc rc;

	if ((rc = log_check(l, LG_AMOUNT, fen > 0)) == MIC_OK)
		l->amount = fen;
	return rc;
}

mic_rc
mic_logrec_set_balance(mic_logrec_t *l, int64_t fen)
{
	mic_rc rc;

	if ((rc = log_check(l, LG_BALANCE, fen >= 0)) == MIC_OK)
		l->balance = fen;
	return rc;
}

/* The log's n14 and an8 follow the activation record's rules. */
mic_rc
mic_logrec_set_time(mic_logrec_t *l, const char *when)
{
	char buf[TEXT_MAX];
	mic_rc rc;

	if (l == NULL || when == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((rc = caller_text(&activation_fields[AC_WHEN], when, buf)) !=
	    MIC_OK)
		return rc;
	memcpy(l->when, buf, sizeof(l->when));
	l->have |= 1u << LG_TIME;

	return MIC_OK;
}

mic_rc
mic_logrec_set_terminal(mic_logrec_t *l, const char *id)
{
	char buf[TEXT_MAX];
	mic_rc rc;

	if (l == NULL || id == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((rc = caller_text(&activation_fields[AC_TERMINAL], id, buf)) !=
	    MIC_OK)
		return rc;
	memcpy(l->terminal, buf, sizeof(l->terminal));
	l->have |= 1u << LG_TERMINAL;

	return MIC_OK;
}

mic_rc
mic_logrec_set_payer(mic_logrec_t *l, unsigned payer)
{
	mic_rc rc;

	if ((rc = log_check(l, LG_PAYER, payer <= PAYER_MAX)) == MIC_OK)
		l->payer = payer;
	return rc;
}

mic_rc
mic_logrec_set_reference(mic_logrec_t *l, const uint8_t *ref, size_t len)
{
	if (l == NULL || ref == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (len != MIC_LOG_REF_LEN) {
		mici_debug("%s: %zu bytes", __func__, len);
		return MIC_ERR_FORMAT;
	}
	memcpy(l->ref, ref, MIC_LOG_REF_LEN);
	l->have |= 1u << LG_REF;

	return MIC_OK;
}

static int
log_has(const mic_logrec_t *l, size_t i)
{
	return l != NULL && ((l->have >> i) & 1u);
}

uint32_t
mic_logrec_counter(const mic_logrec_t *l)
{
	return log_has(l, LG_COUNTER) ? l->counter : 0;
}

mic_logtype
mic_logrec_type(const mic_logrec_t *l)
{
	return log_has(l, LG_TYPE) ? (mic_logtype)l->type : (mic_logtype)0;
}

int64_t
mic_logrec_amount(const mic_logrec_t *l)
{
	return log_has(l, LG_AMOUNT) ? l->amount : 0;
}

int64_t
mic_logrec_balance(const mic_logrec_t *l)
{
	return log_has(l, LG_BALANCE) ? l->balance : 0;
}

const char *
mic_logrec_time(const mic_logrec_t *l)
{
	return log_has(l, LG_TIME) ? l->when : NULL;
}

const char *
mic_logrec_terminal(const mic_logrec_t *l)
{
	return log_has(l, LG_TERMINAL) ? l->terminal : NULL;
}

unsigned
mic_logrec_payer(const mic_logrec_t *l)
{
	return log_has(l, LG_PAYER) ? l->payer : 0;
}

const uint8_t *
mic_logrec_reference(const mic_logrec_t *l)
{
	return log_has(l, LG_REF) ? l->ref : NULL;
}

mic_rc
mic_logrec_encode(const mic_logrec_t *l, uint8_t *buf, size_t cap,
    size_t *len)
{
	if (len != NULL)
		*len = 0;
	if (l == NULL || len == NULL || (buf == NULL && cap > 0)) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (l->have != (1u << LG_ALL) - 1) {
		mici_debug("%s: fields %02X of %02X set", __func__,
		    (unsigned)l->have, (1u << LG_ALL) - 1);
		return MIC_ERR_MISSING;
	}
	if (cap < MIC_LOG_RECORD_SIZE) {
		mici_debug("%s: cap %zu", __func__, cap);
		return MIC_ERR_BUFFER_TOO_SMALL;
	}
	put_be(buf + LOG_COUNTER, l->counter, 4);
	buf[LOG_TYPE] = (uint8_t)l->type;
	put_be(buf + LOG_AMOUNT, to_twos(l->amount), 8);
	put_be(buf + LOG_BALANCE, to_twos(l->balance), 8);
	bcd_pack(l->when, 7, buf + LOG_TIME);
	memcpy(buf + LOG_TERMINAL, l->terminal, MIC_TERMINAL_ID_LEN);
	buf[LOG_PAYER] = (uint8_t)l->payer;
	memcpy(buf + LOG_REF, l->ref, MIC_LOG_REF_LEN);
	*len = MIC_LOG_RECORD_SIZE;

	return MIC_OK;
}

mic_rc
mic_logrec_decode(mic_logrec_t *l, const uint8_t *buf, size_t len)
{
	mic_logrec_t r;

	if (l == NULL || buf == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (len != MIC_LOG_RECORD_SIZE) {
		mici_debug("%s: %zu bytes", __func__, len);
		return MIC_ERR_FORMAT;
	}
	memset(&r, 0, sizeof(r));
	r.counter = (uint32_t)get_be(buf + LOG_COUNTER, 4);
	r.type = buf[LOG_TYPE];
	r.amount = from_twos(get_be(buf + LOG_AMOUNT, 8));
	r.balance = from_twos(get_be(buf + LOG_BALANCE, 8));
	r.payer = buf[LOG_PAYER];
	if (!logtype_ok(r.type) || r.amount <= 0 || r.balance < 0 ||
	    r.payer > PAYER_MAX) {
		mici_debug("%s: type %02X, amount, balance or payer %u",
		    __func__, (unsigned)r.type, r.payer);
		return MIC_ERR_VALUE;
	}
	if (!bcd_unpack(buf + LOG_TIME, 7, r.when) ||
	    !mici_date_real(r.when, 14)) {
		mici_debug("%s: date and time", __func__);
		return MIC_ERR_DATE;
	}
	memcpy(r.terminal, buf + LOG_TERMINAL, MIC_TERMINAL_ID_LEN);
	if (!printable(r.terminal, MIC_TERMINAL_ID_LEN)) {
		mici_debug("%s: terminal identifier", __func__);
		return MIC_ERR_FORMAT;
	}
	memcpy(r.ref, buf + LOG_REF, MIC_LOG_REF_LEN);
	r.have = (1u << LG_ALL) - 1;
	*l = r;

	return MIC_OK;
}
