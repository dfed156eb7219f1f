/*
 * The profile's data objects as the card checks them (docs/card-profile.md
 * section 2): "a card or terminal shall reject a template with a missing
 * mandatory object or a value of the wrong size or format; it shall ignore
 * unknown context-specific tags".
 *
 * The card checks what STORE DATA and UPDATE RECORD bring, so that what it
 * later relies on (the card identification code it signs, the activation
 * policy, a family member's may-pay flag) is there and well-formed. Each
 * template is a table of fields; parse_template() applies it, and a small
 * function per template adds the rules that tie fields together.
 */
#include <string.h>

#include <mic/tlv.h>

#include "card_internal.h"
#include "internal.h"

enum fmt {
	F_AN,       /* exactly len printable ASCII characters */
	F_DIGITS,   /* exactly len ASCII digits */
	F_N8,       /* a date, 8 BCD digits YYYYMMDD */
	F_B,        /* exactly len bytes */
	F_NAME,     /* UTF-8, 1 to 60 bytes, no NUL, no padding */
	F_SSN,      /* GB 11643 citizen identity number */
};

struct field {
	uint32_t tag;
	uint8_t fmt;
	uint8_t len;
	uint8_t mandatory;
};

#define MAX_FIELDS 8
#define NAME_MAX_LEN 60

/* The values found, at the index of their field. */
struct found {
	const uint8_t *v[MAX_FIELDS];
	size_t len[MAX_FIELDS];
};

/* 66: card data (section 2.1). */
enum { C_ID, C_NUMBER, C_TYPE, C_VERSION, C_IIN, C_ISSUED, C_EXPIRES };
static const struct field card_fields[] = {
	[C_ID] = { 0x80, F_AN, CARD_ID_LEN, 1 },
	[C_NUMBER] = { 0x81, F_AN, 9, 1 },
	[C_TYPE] = { 0x82, F_B, 1, 1 },
	[C_VERSION] = { 0x83, F_B, 2, 1 },
	[C_IIN] = { 0x42, F_DIGITS, 6, 1 },
	[C_ISSUED] = { 0x5F25, F_N8, 4, 1 },
	[C_EXPIRES] = { 0x5F24, F_N8, 4, 1 },
};

/* 65: holder data (section 2.2). */
enum { H_SSN, H_NAME, H_GENDER, H_BIRTH, H_BIRTHPLACE, H_ETHNICITY };
static const struct field holder_fields[] = {
	[H_SSN] = { 0x80, F_SSN, 18, 1 },
	[H_NAME] = { 0x5F20, F_NAME, 0, 1 },
	[H_GENDER] = { 0x5F35, F_AN, 1, 1 },
	[H_BIRTH] = { 0x5F2B, F_N8, 4, 1 },
	[H_BIRTHPLACE] = { 0x81, F_DIGITS, 6, 1 },
	[H_ETHNICITY] = { 0x82, F_DIGITS, 2, 0 },
};

/* E1: insurance data (section 2.3). */
enum { I_SCHEME, I_REGION, I_SINCE, I_POLICY };
static const struct field insurance_fields[] = {
	[I_SCHEME] = { 0x80, F_AN, 1, 1 },
	[I_REGION] = { 0x81, F_DIGITS, 6, 1 },
	[I_SINCE] = { 0x82, F_N8, 4, 1 },
	[I_POLICY] = { 0x83, F_B, 1, 1 },
};

/* E3: a family member (section 2.7). */
enum { M_KINSHIP, M_SSN, M_NAME, M_MAY_PAY, M_BOUND };
static const struct field family_fields[] = {
	[M_KINSHIP] = { 0x80, F_DIGITS, 2, 1 },
	[M_SSN] = { 0x81, F_SSN, 18, 1 },
	[M_NAME] = { 0x5F20, F_NAME, 0, 1 },
	[M_MAY_PAY] = { 0x82, F_B, 1, 1 },
	[M_BOUND] = { 0x83, F_N8, 4, 1 },
};

static int
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

int
vc_fmt_an(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7E)
			return 0;
	return 1;
}

static int
fmt_digits(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit(p[i]))
			return 0;
	return 1;
}

/* One BCD byte as a number 0-99, or -1. */
static int
bcd(uint8_t b)
{
	if ((b >> 4) > 9 || (b & 0x0F) > 9)
		return -1;
	return (b >> 4) * 10 + (b & 0x0F);
}

/* YYYYMMDD in 4 BCD bytes, month 01-12, day 01-31. */
static int
fmt_n8(const uint8_t *p)
{
	int m, d;

	if (bcd(p[0]) < 0 || bcd(p[1]) < 0)
		return 0;
	m = bcd(p[2]);
	d = bcd(p[3]);
	return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

/* YYYYMMDDhhmmss in 7 BCD bytes. */
int
vc_fmt_n14(const uint8_t *p)
{
	int h = bcd(p[4]), mi = bcd(p[5]), s = bcd(p[6]);

	return fmt_n8(p) && h >= 0 && h < 24 && mi >= 0 && mi < 60 &&
	    s >= 0 && s < 60;
}

/*
 * Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing
 * above U+10FFFF.
 */
static int
fmt_utf8(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = p[i];
		size_t k;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			k = 1;
			cp = c & 0x1F;
			min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			k = 2;
			cp = c & 0x0F;
			min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			k = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else
			return 0;
		if (k > n - i - 1)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((p[i + j] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + j] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += k + 1;
	}
	return 1;
}

static int
fmt_name(const uint8_t *p, size_t n)
{
	if (n < 1 || n > NAME_MAX_LEN || memchr(p, 0, n) != NULL ||
	    p[n - 1] == ' ')
		return 0;
	return fmt_utf8(p, n);
}

/*
 * GB 11643: 17 digits, then a check character, the ISO 7064 MOD 11-2
 * check of the first 17: weights 2^(17-i) mod 11, check value
 * (12 - sum mod 11) mod 11, with 10 written X.
 */
static int
fmt_ssn(const uint8_t *p, size_t n)
{
	static const char check[] = "10X98765432";
	unsigned sum = 0, w = 1;

	if (n != 18 || !fmt_digits(p, 17))
		return 0;
	for (size_t i = 17; i-- > 0;) {
		w = (w * 2) % 11;
		sum += (unsigned)(p[i] - '0') * w;
	}
	return p[17] == (uint8_t)check[sum % 11];
}

static int
field_ok(const struct field *f, const uint8_t *v, size_t n)
{
	switch (f->fmt) {
	case F_AN:
		return n == f->len && vc_fmt_an(v, n);
	case F_DIGITS:
		return n == f->len && fmt_digits(v, n);
	case F_N8:
		return n == 4 && fmt_n8(v);
	case F_B:
		return n == f->len;
	case F_NAME:
		return fmt_name(v, n);
	case F_SSN:
		return fmt_ssn(v, n);
	default:
		return 0;
	}
}

/* Tags 80-9F and A0-BF in their first byte: context-specific class. */
static int
context_specific(uint32_t tag)
{
	while (tag > 0xFF)
		tag >>= 8;
	return (tag & 0xC0) == 0x80;
}

/*
 * The template @p tag at the start of @p p, each child checked against
 * @p f: a known tag at most once and well-formed, an unknown one only if
 * context-specific, every mandatory one present. @p used gets the
 * template's encoded length.
 */
static int
parse_template(const uint8_t *p, size_t n, uint32_t tag,
    const struct field *f, size_t nf, struct found *out, size_t *used)
{
	mic_tlv t, c;
	mic_tlv_iter it;
	mic_rc rc;

	memset(out, 0, sizeof(*out));
	if (mic_tlv_parse(p, n, &t) != MIC_OK || t.tag != tag ||
	    !t.constructed)
		return -1;
	mic_tlv_iter_init(&it, t.value, t.len);
	while ((rc = mic_tlv_next(&it, &c)) == MIC_OK) {
		size_t i;

		for (i = 0; i < nf && f[i].tag != c.tag; i++)
			continue;
		if (i == nf) {
			if (!context_specific(c.tag))
				return -1;
			continue;
		}
		if (out->v[i] != NULL || c.constructed ||
		    !field_ok(&f[i], c.value, c.len))
			return -1;
		out->v[i] = c.value;
		out->len[i] = c.len;
	}
	if (rc != MIC_ERR_NOT_FOUND)
		return -1;
	for (size_t i = 0; i < nf; i++)
		if (f[i].mandatory && out->v[i] == NULL)
			return -1;
	if (used != NULL)
		*used = t.raw_len;
	return 0;
}

/* Section 2.1.1: the parts of the card identification code. */
static int
card_rules(const struct found *x)
{
	static const char rid[] = "D156000001";
	const uint8_t *id = x->v[C_ID], *ver = x->v[C_VERSION];

	if (x->v[C_TYPE][0] != 0x01 || ver[0] != 0x01 || ver[1] > 9)
		return -1;
	if (memcmp(id, x->v[C_IIN], 6) != 0 ||
	    memcmp(id + 6, rid, sizeof(rid) - 1) != 0 || id[16] != '1' ||
	    id[17] != '0' + ver[0] || id[18] != '0' + ver[1] ||
	    !fmt_digits(id + 19, CARD_ID_LEN - 19))
		return -1;
	return 0;
}

/* Section 2.2: birth date and gender agree with the SSN. */
static int
holder_rules(const struct found *x)
{
	const uint8_t *ssn = x->v[H_SSN], *b = x->v[H_BIRTH];
	uint8_t g = x->v[H_GENDER][0];
	int odd = (ssn[16] - '0') % 2;

	for (size_t i = 0; i < 4; i++)
		if ((((ssn[6 + 2 * i] - '0') << 4) | (ssn[7 + 2 * i] - '0')) !=
		    b[i])
			return -1;
	if (g == '1')
		return odd ? 0 : -1;
	if (g == '2')
		return odd ? -1 : 0;
	return g == '0' || g == '9' ? 0 : -1;
}

static int
insurance_rules(const struct found *x)
{
	uint8_t s = x->v[I_SCHEME][0];

	return s == '1' || s == '2' ? 0 : -1;
}

static int
family_rules(const struct found *x)
{
	return x->v[M_MAY_PAY][0] <= 0x01 ? 0 : -1;
}

int
vc_tmpl_is_free(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* One DER value (the SOD's ContentInfo, the certificate): a SEQUENCE. */
static int
der_sequence(const uint8_t *p, size_t n, size_t *used)
{
	mic_tlv t;

	if (mic_tlv_parse(p, n, &t) != MIC_OK || t.tag != 0x30)
		return -1;
	*used = t.raw_len;
	return 0;
}

int
vc_tmpl_check_body(uint16_t fid, const uint8_t *p, size_t n)
{
	struct found x;
	size_t used = 0;
	int rc;

	switch (fid) {
	case FID_CARD:
		rc = parse_template(p, n, 0x66, card_fields,
		    MIC_ARRAY_LEN(card_fields), &x, &used);
		if (rc == 0)
			rc = card_rules(&x);
		break;
	case FID_HOLDER:
		rc = parse_template(p, n, 0x65, holder_fields,
		    MIC_ARRAY_LEN(holder_fields), &x, &used);
		if (rc == 0)
			rc = holder_rules(&x);
		break;
	case FID_INSURANCE:
		rc = parse_template(p, n, 0xE1, insurance_fields,
		    MIC_ARRAY_LEN(insurance_fields), &x, &used);
		if (rc == 0)
			rc = insurance_rules(&x);
		break;
	case FID_SOD:
	case FID_CERT:
		rc = der_sequence(p, n, &used);
		break;
	default:
		rc = -1;
		break;
	}
	if (rc < 0) {
		mici_debug("%s: EF %04X: bad template", __func__, fid);
		return -1;
	}
	/* Section 1: the template, then 00 up to the file size. */
	if (!vc_tmpl_is_free(p + used, n - used)) {
		mici_debug("%s: EF %04X: data after the template", __func__,
		    fid);
		return -1;
	}
	return 0;
}

int
vc_tmpl_check_family(const uint8_t *rec, size_t n)
{
	struct found x;
	size_t used = 0;

	if (vc_tmpl_is_free(rec, n))
		return 0;
	if (parse_template(rec, n, 0xE3, family_fields,
	    MIC_ARRAY_LEN(family_fields), &x, &used) < 0 ||
	    family_rules(&x) < 0 || !vc_tmpl_is_free(rec + used, n - used)) {
		mici_debug("%s: bad family record", __func__);
		return -1;
	}
	return 0;
}

int
vc_tmpl_card_id(const uint8_t *body, size_t n, const uint8_t **id)
{
	struct found x;

	if (parse_template(body, n, 0x66, card_fields,
	    MIC_ARRAY_LEN(card_fields), &x, NULL) < 0)
		return -1;
	*id = x.v[C_ID];
	return 0;
}

int
vc_tmpl_policy(const uint8_t *body, size_t n, uint8_t *policy)
{
	struct found x;

	if (parse_template(body, n, 0xE1, insurance_fields,
	    MIC_ARRAY_LEN(insurance_fields), &x, NULL) < 0)
		return -1;
	*policy = x.v[I_POLICY][0];
	return 0;
}

int
vc_tmpl_may_pay(const uint8_t *rec, size_t n, uint8_t *may_pay)
{
	struct found x;

	if (parse_template(rec, n, 0xE3, family_fields,
	    MIC_ARRAY_LEN(family_fields), &x, NULL) < 0)
		return -1;
	*may_pay = x.v[M_MAY_PAY][0];
	return 0;
}
