/*
 * mic-vcard: a sample card, made the way a real one is. Everything goes
 * through the card engine's APDU interface (vc_card_transmit): with
 * --pki through real SCP11a channels of the PKI's terminals (factory.c),
 * without it with the engine's test hook standing in for them, so a
 * sample card is exactly what the engine itself accepts: the bureau
 * personalizes (GENERATE KEY, STORE DATA), the holder replaces the
 * transport PIN, the bank activates, the agency credits the opening
 * balance. The data is synthetic (docs/card-profile.md section 2; the ID
 * number is a test vector of GB 11643).
 *
 * With a PKI, the card-certificate issuer certifies the key GENERATE KEY
 * returned (EF.CERT) and the document signer signs EF.SOD over the files
 * exactly as the card will hold them, zero padding included. Without one,
 * EF.SOD and EF.CERT hold a marked placeholder: a DER SEQUENCE holding one
 * UTF8String that says so.
 */
#include <stdio.h>
#include <string.h>

#include <mic/apdu.h>
#include <mic/keyprov.h>
#include <mic/pki.h>
#include <mic/profile.h>
#include <mic/sod.h>
#include <mic/tlv.h>

#include "internal.h"
#include "mic-vcard.h"

#define ISSUER "110000"            /* GB/T 2260: Beijing */
#define POOLING_REGION "110000"
#define RID_HEX "D156000001"
#define BUREAU_CODE "001"
#define ETHNICITY "01"             /* GB/T 3304: Han */
#define TERMINAL_ID "SAMPLE01"     /* an8 */
#define CREDIT_REF "MICVCARD-SAMPLE1"  /* b16 */
#define TRANSPORT_PIN "000000"
#define TRANSPORT_PIN_ALT "111111" /* when the holder picked 000000 */
#define SOD_PLACEHOLDER "MIC-VCARD PLACEHOLDER: not a security object; " \
	"the trust step issues EF.SOD"
#define CERT_PLACEHOLDER "MIC-VCARD PLACEHOLDER: no card certificate; " \
	"the trust step issues EF.CERT"

#define SW_OK 0x9000
#define PERSO_DGIS 6

static const uint8_t aid[] = VC_MIC_AID;

static int
is_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int
num(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

static int
days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
		30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* GB 11643: ISO 7064 MOD 11-2 check, and a real birth date not in the
 * future. */
static int
ssn_check(const char *ssn, time_t now, char *why, size_t cap)
{
	static const int w[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10,
		5, 8, 4, 2 };
	static const char check[] = "10X98765432";
	struct tm tm;
	int sum = 0, y, m, d;

	if (strlen(ssn) != 18 || !is_digits(ssn, 17) ||
	    !((ssn[17] >= '0' && ssn[17] <= '9') || ssn[17] == 'X')) {
		mici_why(why, cap, "social security number '%s': 17 digits and "
		    "a digit or X expected", ssn);
		return -1;
	}
	for (int i = 0; i < 17; i++)
		sum += (ssn[i] - '0') * w[i];
	if (check[sum % 11] != ssn[17]) {
		mici_why(why, cap, "social security number '%s': the check "
		    "character should be %c", ssn, check[sum % 11]);
		return -1;
	}
	y = num(ssn + 6, 4);
	m = num(ssn + 10, 2);
	d = num(ssn + 12, 2);
	localtime_r(&now, &tm);
	if (y < 1900 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m) ||
	    y * 10000 + m * 100 + d > (tm.tm_year + 1900) * 10000 +
	    (tm.tm_mon + 1) * 100 + tm.tm_mday) {
		mici_why(why, cap, "social security number '%s': no such birth "
		    "date", ssn);
		return -1;
	}
	return 0;
}

/* Well-formed UTF-8 without control characters. */
static int
utf8_ok(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		size_t k;
		if (c < 0x20 || c == 0x7F)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			k = 1;
		else if (c >= 0xE0 && c <= 0xEF)
			k = 2;
		else if (c >= 0xF0 && c <= 0xF4)
			k = 3;
		else
			return 0;
		if (n - i <= k)
			return 0;
		for (size_t j = 1; j <= k; j++)
			if ((s[i + j] & 0xC0) != 0x80)
				return 0;
		/* Overlong and surrogate forms. */
		if ((c == 0xE0 && s[i + 1] < 0xA0) ||
		    (c == 0xED && s[i + 1] >= 0xA0) ||
		    (c == 0xF0 && s[i + 1] < 0x90) ||
		    (c == 0xF4 && s[i + 1] >= 0x90))
			return 0;
		i += k + 1;
	}
	return 1;
}

int
vct_sample_check(const struct vct_sample *s, char *why, size_t cap)
{
	size_t n;

	if (s->serial == NULL || !vct_serial_ok(s->serial)) {
		mici_why(why, cap, "serial '%s': 1-%d of A-Z a-z 0-9 . _ - "
		    "expected", s->serial ? s->serial : "", VC_SERIAL_MAX);
		return -1;
	}
	if (ssn_check(s->ssn, s->now, why, cap) != 0)
		return -1;
	n = strlen(s->name);
	if (n < 1 || n > 60 || !utf8_ok((const uint8_t *)s->name, n)) {
		mici_why(why, cap, "name: 1-60 bytes of UTF-8 expected");
		return -1;
	}
	n = strlen(s->pin);
	if (n < 6 || n > 12 || !is_digits(s->pin, n)) {
		mici_why(why, cap, "PIN: 6-12 digits expected");
		return -1;
	}
	if (s->balance < 0) {
		mici_why(why, cap, "the balance cannot be negative");
		return -1;
	}
	return 0;
}

static uint8_t
bcd(int v)
{
	return (uint8_t)((v / 10) << 4 | (v % 10));
}

/* n8 (4 bytes) or n14 (7 bytes, with time) from a broken-down time. */
static void
put_date(uint8_t *p, const struct tm *tm, int with_time)
{
	int y = tm->tm_year + 1900;

	p[0] = bcd(y / 100);
	p[1] = bcd(y % 100);
	p[2] = bcd(tm->tm_mon + 1);
	p[3] = bcd(tm->tm_mday);
	if (with_time) {
		p[4] = bcd(tm->tm_hour);
		p[5] = bcd(tm->tm_min);
		p[6] = bcd(tm->tm_sec > 59 ? 59 : tm->tm_sec);
	}
}

/* ISO 9564-1 format 2 PIN block. */
static void
pin_block(const char *pin, uint8_t out[8])
{
	size_t n = strlen(pin);

	memset(out, 0xFF, 8);
	out[0] = (uint8_t)(0x20 | n);
	for (size_t i = 0; i < n; i++) {
		uint8_t d = (uint8_t)(pin[i] - '0');
		size_t nib = 2 + i;   /* nibble index in the block */
		if (nib % 2 == 0)
			out[nib / 2] = (uint8_t)(d << 4 | 0x0F);
		else
			out[nib / 2] = (uint8_t)((out[nib / 2] & 0xF0) | d);
	}
}

static const char *
transport_pin(const struct vct_sample *s)
{
	return strcmp(s->pin, TRANSPORT_PIN) == 0 ? TRANSPORT_PIN_ALT :
	    TRANSPORT_PIN;
}

/* The 10-digit serial within the bureau: the serial's last 10 digits. */
static void
serial_digits(const char *serial, char out[11])
{
	size_t k = 10;

	memset(out, '0', 10);
	out[10] = '\0';
	for (size_t i = strlen(serial); i > 0 && k > 0; i--)
		if (serial[i - 1] >= '0' && serial[i - 1] <= '9')
			out[--k] = serial[i - 1];
}

/* The card identification code (profile 2.1.1), an32. */
static void
sample_cic(const struct vct_sample *s, char cic[33])
{
	char digits[11];

	serial_digits(s->serial, digits);
	snprintf(cic, 33, "%s%s1%s%s%s", ISSUER, RID_HEX, "10", BUREAU_CODE,
	    digits);
}

/* Ten years on; 29 February becomes 28 so that the date exists. */
static void
sample_expiry(const struct tm *tm, struct tm *exp)
{
	*exp = *tm;
	exp->tm_year += 10;
	if (exp->tm_mon == 1 && exp->tm_mday == 29)
		exp->tm_mday = 28;
}

static mic_rc
ef_card(const struct vct_sample *s, const struct tm *tm, uint8_t *buf,
    size_t cap, size_t *len)
{
	mic_tlv_writer w;
	char digits[11], cic[33], number[10];
	uint8_t issued[4], expires[4];
	struct tm exp;
	static const uint8_t type = 0x01, version[2] = { 0x01, 0x00 };

	serial_digits(s->serial, digits);
	sample_cic(s, cic);
	snprintf(number, sizeof(number), "A%s", digits + 2);
	put_date(issued, tm, 0);
	sample_expiry(tm, &exp);
	put_date(expires, &exp, 0);
	mic_tlv_writer_init(&w, buf, cap);
	mic_tlv_open(&w, 0x66);
	mic_tlv_put(&w, 0x80, (const uint8_t *)cic, 32);
	mic_tlv_put(&w, 0x81, (const uint8_t *)number, 9);
	mic_tlv_put(&w, 0x82, &type, 1);
	mic_tlv_put(&w, 0x83, version, 2);
	mic_tlv_put(&w, 0x42, (const uint8_t *)ISSUER, 6);
	mic_tlv_put(&w, 0x5F25, issued, 4);
	mic_tlv_put(&w, 0x5F24, expires, 4);
	mic_tlv_close(&w);
	return mic_tlv_writer_finish(&w, len);
}

static mic_rc
ef_holder(const struct vct_sample *s, uint8_t *buf, size_t cap, size_t *len)
{
	mic_tlv_writer w;
	uint8_t birth[4];
	/* GB/T 2261.1: position 17 odd is male (1), even female (2). */
	char gender = (s->ssn[16] - '0') % 2 ? '1' : '2';

	birth[0] = bcd(num(s->ssn + 6, 2));
	birth[1] = bcd(num(s->ssn + 8, 2));
	birth[2] = bcd(num(s->ssn + 10, 2));
	birth[3] = bcd(num(s->ssn + 12, 2));
	mic_tlv_writer_init(&w, buf, cap);
	mic_tlv_open(&w, 0x65);
	mic_tlv_put(&w, 0x80, (const uint8_t *)s->ssn, 18);
	mic_tlv_put(&w, 0x5F20, (const uint8_t *)s->name, strlen(s->name));
	mic_tlv_put(&w, 0x5F35, (const uint8_t *)&gender, 1);
	mic_tlv_put(&w, 0x5F2B, birth, 4);
	/* Birthplace: the address code the ID number was given under. */
	mic_tlv_put(&w, 0x81, (const uint8_t *)s->ssn, 6);
	mic_tlv_put(&w, 0x82, (const uint8_t *)ETHNICITY, 2);
	mic_tlv_close(&w);
	return mic_tlv_writer_finish(&w, len);
}

static mic_rc
ef_insurance(const struct tm *tm, uint8_t *buf, size_t cap, size_t *len)
{
	mic_tlv_writer w;
	uint8_t since[4];
	/* Activation at the bank only: the sample is activated anyway. */
	static const uint8_t policy = 0x00;

	put_date(since, tm, 0);
	mic_tlv_writer_init(&w, buf, cap);
	mic_tlv_open(&w, 0xE1);
	mic_tlv_put(&w, 0x80, (const uint8_t *)"1", 1);
	mic_tlv_put(&w, 0x81, (const uint8_t *)POOLING_REGION, 6);
	mic_tlv_put(&w, 0x82, since, 4);
	mic_tlv_put(&w, 0x83, &policy, 1);
	mic_tlv_close(&w);
	return mic_tlv_writer_finish(&w, len);
}

static mic_rc
placeholder(const char *text, uint8_t *buf, size_t cap, size_t *len)
{
	mic_tlv_writer w;

	mic_tlv_writer_init(&w, buf, cap);
	mic_tlv_open(&w, 0x30);
	mic_tlv_put(&w, 0x0C, (const uint8_t *)text, strlen(text));
	mic_tlv_close(&w);
	return mic_tlv_writer_finish(&w, len);
}

/* Encode a command into @p st, short when it fits; 0 ok. */
static int
step(struct vct_step *st, const char *what, enum vc_role role,
    const mic_apdu *a)
{
	st->what = what;
	st->role = role;
	return mic_apdu_encode(a, MIC_APDU_AUTO, st->apdu, sizeof(st->apdu),
	    &st->len) == MIC_OK ? 0 : -1;
}

/*
 * One STORE DATA block holding one DGI (EMV CPS: a length of one byte up
 * to FE, else FF and two bytes). EF.SOD and EF.CERT exceed a short APDU:
 * the step is then extended, and the transport chains it.
 */
static int
store_data(struct vct_step *st, const char *what, uint16_t dgi,
    const uint8_t *body, size_t len, uint8_t block, int last)
{
	uint8_t data[5 + MIC_SOD_MAX];
	size_t hdr = len < 0xFF ? 3 : 5;
	mic_apdu a = { .cla = 0x80, .ins = 0xE2, .p1 = last ? 0x80 : 0x00,
		.p2 = block, .data = data };
	int rc;

	if (len > MIC_SOD_MAX)
		return -1;
	mici_put_u16(data, dgi);
	if (hdr == 3)
		data[2] = (uint8_t)len;
	else {
		data[2] = 0xFF;
		mici_put_u16(data + 3, (uint16_t)len);
	}
	memcpy(data + hdr, body, len);
	a.nc = hdr + len;
	rc = step(st, what, VC_ROLE_BUREAU, &a);
	mici_wipe(data, sizeof(data));
	return rc;
}

/* The DGIs the bureau stores, in block order. */
struct perso_dgi {
	uint16_t dgi;
	const char *what;
	uint8_t body[MIC_SOD_MAX];
	size_t len;
};

/* The sample's DGIs, EF.SOD and EF.CERT as placeholders; 0 ok. */
static int
perso_dgis(const struct vct_sample *s, struct perso_dgi dgi[PERSO_DGIS],
    char *why, size_t cap)
{
	struct tm tm;

	localtime_r(&s->now, &tm);
	dgi[0].dgi = 0x0101;
	dgi[0].what = "STORE DATA block 00: DGI 0101, EF.CARD";
	dgi[1].dgi = 0x0102;
	dgi[1].what = "STORE DATA block 01: DGI 0102, EF.HOLDER";
	dgi[2].dgi = 0x0103;
	dgi[2].what = "STORE DATA block 02: DGI 0103, EF.INSURANCE";
	dgi[3].dgi = 0x0104;
	dgi[3].what = "STORE DATA block 03: DGI 0104, EF.SOD (placeholder)";
	dgi[4].dgi = 0x0105;
	dgi[4].what = "STORE DATA block 04: DGI 0105, EF.CERT (placeholder)";
	dgi[5].dgi = 0x8010;
	dgi[5].what = "STORE DATA block 05, last: DGI 8010, transport PIN";
	if (ef_card(s, &tm, dgi[0].body, MIC_EF_CARD_SIZE, &dgi[0].len) ||
	    ef_holder(s, dgi[1].body, MIC_EF_HOLDER_SIZE, &dgi[1].len) ||
	    ef_insurance(&tm, dgi[2].body, MIC_EF_INSURANCE_SIZE,
	    &dgi[2].len) ||
	    placeholder(SOD_PLACEHOLDER, dgi[3].body, sizeof(dgi[3].body),
	    &dgi[3].len) ||
	    placeholder(CERT_PLACEHOLDER, dgi[4].body, MIC_EF_CERT_SIZE,
	    &dgi[4].len)) {
		mici_why(why, cap, "internal: a template does not fit");
		return -1;
	}
	pin_block(transport_pin(s), dgi[5].body);
	dgi[5].len = 8;
	return 0;
}

/* SELECT, GENERATE KEY and the STORE DATA blocks into @p steps. */
static size_t
perso_encode(const struct perso_dgi dgi[PERSO_DGIS], struct vct_step *steps,
    char *why, size_t cap)
{
	mic_apdu sel = { .cla = 0x00, .ins = 0xA4, .p1 = 0x04, .p2 = 0x0C,
		.data = aid, .nc = sizeof(aid) };
	mic_apdu gen = { .cla = 0x00, .ins = 0x47, .p1 = 0x80, .p2 = 0x00,
		.ne = 256 };
	size_t n = 0;

	if (step(&steps[n++], "SELECT the MIC application", VC_ROLE_NONE,
	    &sel) != 0 ||
	    step(&steps[n++], "GENERATE ASYMMETRIC KEY PAIR", VC_ROLE_BUREAU,
	    &gen) != 0) {
		mici_why(why, cap, "internal: cannot encode an APDU");
		return 0;
	}
	for (size_t i = 0; i < PERSO_DGIS; i++) {
		if (store_data(&steps[n++], dgi[i].what, dgi[i].dgi,
		    dgi[i].body, dgi[i].len, (uint8_t)i,
		    i + 1 == PERSO_DGIS) != 0) {
			mici_why(why, cap, "internal: cannot encode STORE DATA");
			return 0;
		}
	}
	return n;
}

size_t
vct_sample_perso(const struct vct_sample *s, struct vct_step *steps,
    size_t max, char *why, size_t cap)
{
	struct perso_dgi dgi[PERSO_DGIS];
	size_t n = 0;

	if (max < VCT_PERSO_STEPS || vct_sample_check(s, why, cap) != 0) {
		if (max < VCT_PERSO_STEPS)
			mici_why(why, cap, "internal: too few steps");
		return 0;
	}
	if (perso_dgis(s, dgi, why, cap) == 0)
		n = perso_encode(dgi, steps, why, cap);
	mici_wipe(dgi, sizeof(dgi));
	return n;
}

/*
 * Send one step; 0 if the card answered 9000. Through @p link the step
 * travels in an SCP11a channel of its role; without, the test hook plays
 * the role.
 */
static int
run_step(vc_card *card, struct vct_scp *link, const struct vct_step *st,
    char *why, size_t cap)
{
	uint8_t rsp[MIC_APDU_RSP_MAX];
	size_t n;
	uint16_t sw;

	if (link != NULL) {
		if ((sw = vct_scp_xmit(link, st->role, st->apdu, st->len, why,
		    cap)) == SW_OK)
			return 0;
		if (sw != 0)
			mici_why(why, cap, "%s: the card says %04X (%s)",
			    st->what, sw, mic_sw_name(sw));
		return -1;
	}
	if (st->role != VC_ROLE_NONE)
		vc_card_test_set_role(card, st->role);
	sw = vct_xmit(card, st->apdu, st->len, rsp, sizeof(rsp), &n);
	mici_wipe(rsp, sizeof(rsp));
	if (sw == SW_OK)
		return 0;
	if (sw == 0)
		mici_why(why, cap, "%s: the card engine failed", st->what);
	else
		mici_why(why, cap, "%s: the card says %04X (%s)", st->what, sw,
		    mic_sw_name(sw));
	return -1;
}

/* @p body zero-padded to @p size: the whole file as the card holds it. */
static void
padded(uint8_t *out, size_t size, const struct perso_dgi *d)
{
	memset(out, 0, size);
	memcpy(out, d->body, d->len);
}

/*
 * The trust step of the bureau, through @p link: SELECT, GENERATE KEY, the
 * card certificate over the key the card returned (dgi[4]), and EF.SOD
 * over the four files as the card will hold them and the chip serial
 * (dgi[3]). 0 ok; the key pair is then generated, and the STORE DATA
 * blocks must follow without another SELECT.
 */
static int
sign_files(vc_card *card, const struct vct_sample *s, struct vct_scp *link,
    struct perso_dgi dgi[PERSO_DGIS], char *why, size_t cap)
{
	uint8_t gen_rsp[MIC_APDU_RSP_MAX], ci_cert[MIC_CERT_MAX];
	uint8_t ds_cert[MIC_CERT_MAX], serial[VC_CHIP_SERIAL_LEN];
	uint8_t f_card[MIC_EF_CARD_SIZE], f_holder[MIC_EF_HOLDER_SIZE];
	uint8_t f_ins[MIC_EF_INSURANCE_SIZE], f_cert[MIC_EF_CERT_SIZE];
	mic_sod_file files[4] = {
		{ MIC_SOD_SFI_CARD, f_card, sizeof(f_card) },
		{ MIC_SOD_SFI_HOLDER, f_holder, sizeof(f_holder) },
		{ MIC_SOD_SFI_INSURANCE, f_ins, sizeof(f_ins) },
		{ MIC_SOD_SFI_CERT, f_cert, sizeof(f_cert) },
	};
	struct vct_step steps[VCT_PERSO_STEPS];
	mic_keyprov_t *ci_kp = NULL, *ds_kp = NULL;
	size_t gen_len = 0, ci_len = 0, ds_len = 0;
	char cic[33];
	struct tm tm, exp;
	int64_t not_after;
	uint16_t sw;
	mic_rc r;
	int rc = -1;

	if (perso_encode(dgi, steps, why, cap) == 0)
		goto out;
	if ((sw = vct_scp_xmit(link, steps[0].role, steps[0].apdu,
	    steps[0].len, why, cap)) != SW_OK ||
	    (sw = vct_scp_xmit_rsp(link, steps[1].role, steps[1].apdu,
	    steps[1].len, gen_rsp, sizeof(gen_rsp), &gen_len, why,
	    cap)) != SW_OK) {
		if (sw != 0)
			mici_why(why, cap, "SELECT or GENERATE KEY: the card "
			    "says %04X (%s)", sw, mic_sw_name(sw));
		goto out;
	}
	/* The certificate lasts as long as the card: to its expiry day's end. */
	localtime_r(&s->now, &tm);
	sample_expiry(&tm, &exp);
	exp.tm_hour = 23;
	exp.tm_min = 59;
	exp.tm_sec = 59;
	exp.tm_isdst = -1;
	not_after = (int64_t)mktime(&exp);
	sample_cic(s, cic);
	if ((r = mic_pki_load(s->pki, MIC_CERT_CARD_ISSUER, NULL, NULL, NULL,
	    NULL, &ci_kp, ci_cert, sizeof(ci_cert), &ci_len)) != MIC_OK) {
		mici_why(why, cap, "%s: the card-certificate issuer: %s",
		    s->pki, mic_strerror(r));
		goto out;
	}
	if ((r = mic_cardcert_issue(ci_kp, ci_cert, ci_len, gen_rsp, gen_len,
	    cic, (int64_t)s->now, not_after, dgi[4].body, MIC_EF_CERT_SIZE,
	    &dgi[4].len)) != MIC_OK) {
		mici_why(why, cap, "issuing the card certificate: %s",
		    mic_strerror(r));
		goto out;
	}
	dgi[4].what = "STORE DATA block 04: DGI 0105, EF.CERT";
	padded(f_card, sizeof(f_card), &dgi[0]);
	padded(f_holder, sizeof(f_holder), &dgi[1]);
	padded(f_ins, sizeof(f_ins), &dgi[2]);
	padded(f_cert, sizeof(f_cert), &dgi[4]);
	vc_card_chip_serial(card, serial);
	if ((r = mic_pki_load(s->pki, MIC_CERT_DOCUMENT_SIGNER, NULL, NULL,
	    NULL, NULL, &ds_kp, ds_cert, sizeof(ds_cert), &ds_len)) !=
	    MIC_OK) {
		mici_why(why, cap, "%s: the document signer: %s", s->pki,
		    mic_strerror(r));
		goto out;
	}
	if ((r = mic_sod_build(ds_kp, ds_cert, ds_len, files,
	    MIC_ARRAY_LEN(files), serial, dgi[3].body, sizeof(dgi[3].body),
	    &dgi[3].len)) != MIC_OK) {
		mici_why(why, cap, "signing EF.SOD: %s", mic_strerror(r));
		goto out;
	}
	dgi[3].what = "STORE DATA block 03: DGI 0104, EF.SOD";
	rc = 0;
out:
	mic_keyprov_free(&ci_kp);
	mic_keyprov_free(&ds_kp);
	mici_wipe(steps, sizeof(steps));
	mici_wipe(gen_rsp, sizeof(gen_rsp));
	return rc;
}

int
vct_sample_build(vc_card *card, const struct vct_sample *s,
    struct vct_scp *link, char *why, size_t cap)
{
	struct vct_step steps[VCT_PERSO_STEPS];
	struct perso_dgi dgi[PERSO_DGIS];
	struct vct_step st;
	uint8_t data[40];
	struct tm tm;
	size_t n, first = 0;
	int rc = -1;
	mic_apdu crd = { .cla = 0x00, .ins = 0x24, .p1 = 0x00, .p2 = 0x81,
		.data = data, .nc = 16 };
	mic_apdu act = { .cla = 0x00, .ins = 0x44, .p1 = 0x00, .p2 = 0x00,
		.data = data, .nc = 15 };
	mic_apdu credit = { .cla = 0x80, .ins = 0x52, .p1 = 0x00, .p2 = 0x00,
		.data = data, .nc = 40, .ne = 256 };

	if (vct_sample_check(s, why, cap) != 0 ||
	    perso_dgis(s, dgi, why, cap) != 0)
		goto out;
	if (s->pki != NULL) {
		/* Real certificates need the real bureau: no test hook. */
		if (link == NULL) {
			mici_why(why, cap, "internal: a PKI without a link");
			goto out;
		}
		if (sign_files(card, s, link, dgi, why, cap) != 0)
			goto out;
		/* SELECT and GENERATE KEY are done: a second key would not
		 * be the certified one. */
		first = 2;
	}
	if ((n = perso_encode(dgi, steps, why, cap)) == 0)
		goto out;
	for (size_t i = first; i < n; i++)
		if (run_step(card, link, &steps[i], why, cap) != 0)
			goto out;
	if (vc_card_state(card) != VC_STATE_PERSONALIZED) {
		mici_why(why, cap, "the card is %s after personalization",
		    vct_state_name(vc_card_state(card)));
		goto out;
	}
	/* The holder sets the PIN at the bank; that ends the transport state. */
	pin_block(transport_pin(s), data);
	pin_block(s->pin, data + 8);
	if (step(&st, "CHANGE REFERENCE DATA", VC_ROLE_BANK, &crd) != 0 ||
	    run_step(card, link, &st, why, cap) != 0)
		goto out;
	localtime_r(&s->now, &tm);
	put_date(data, &tm, 1);
	memcpy(data + 7, TERMINAL_ID, 8);
	if (step(&st, "ACTIVATE FILE", VC_ROLE_BANK, &act) != 0 ||
	    run_step(card, link, &st, why, cap) != 0)
		goto out;
	if (s->balance > 0) {
		for (int i = 0; i < 8; i++)
			data[i] = (uint8_t)((uint64_t)s->balance >> (56 - 8 * i));
		put_date(data + 8, &tm, 1);
		memcpy(data + 15, TERMINAL_ID, 8);
		memcpy(data + 23, CREDIT_REF, 16);
		data[39] = 0x00;   /* payer: the holder */
		if (step(&st, "CREDIT of the opening balance", VC_ROLE_AGENCY,
		    &credit) != 0 || run_step(card, link, &st, why, cap) != 0)
			goto out;
	}
	if (vc_card_state(card) != VC_STATE_ACTIVE) {
		mici_why(why, cap, "the card is %s at the end",
		    vct_state_name(vc_card_state(card)));
		goto out;
	}
	rc = 0;
out:
	mici_wipe(steps, sizeof(steps));
	mici_wipe(dgi, sizeof(dgi));
	mici_wipe(&st, sizeof(st));
	mici_wipe(data, sizeof(data));
	return rc;
}
