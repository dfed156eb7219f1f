/*
 * Fuzz every decoder of the card profile (and the text parsers behind the
 * setters) against its encoder.
 *
 * The input goes to each decoder as it is, and once more with its first
 * byte turned into that decoder's template tag, so every input reaches
 * every template's insides. Whatever decodes must encode, decode again to
 * the same thing and encode to the same bytes; the encoding can only be as
 * long as the template read or shorter (unknown objects are dropped). A
 * 48-byte log record that decodes must encode to exactly its input. A text
 * a setter accepts must read back unchanged (an ID number's x as X).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mic/idnum.h>
#include <mic/profile.h>
#include <mic/tlv.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_MAX 512

typedef void *new_fn(void);
typedef mic_rc dec_fn(void *obj, const uint8_t *buf, size_t len);
typedef mic_rc enc_fn(const void *obj, uint8_t *buf, size_t cap,
    size_t *len);
typedef void free_fn(void *obj);

struct codec {
	uint8_t tag;
	new_fn *make;
	dec_fn *dec;
	enc_fn *enc;
	free_fn *drop;
};

/* Adapters: the public API is typed; the harness loops over all of them. */
#define ADAPT(T, name) \
	static void *name##_make(void) { return mic_##name##_new(); } \
	static mic_rc name##_dec(void *o, const uint8_t *b, size_t n) \
	{ return mic_##name##_decode((T *)o, b, n); } \
	static mic_rc name##_enc(const void *o, uint8_t *b, size_t c, \
	    size_t *n) { return mic_##name##_encode((const T *)o, b, c, n); } \
	static void name##_drop(void *o) { T *p = o; mic_##name##_free(&p); }

ADAPT(mic_cardinfo_t, cardinfo)
ADAPT(mic_holder_t, holder)
ADAPT(mic_insurance_t, insurance)
ADAPT(mic_activation_t, activation)
ADAPT(mic_member_t, member)
ADAPT(mic_account_t, account)

#define CODEC(tag, name) { tag, name##_make, name##_dec, name##_enc, \
	name##_drop }

static const struct codec codecs[] = {
	CODEC(0x66, cardinfo),
	CODEC(0x65, holder),
	CODEC(0xE1, insurance),
	CODEC(0xE2, activation),
	CODEC(0xE3, member),
	CODEC(0xE4, account),
};

static void
check_codec(const struct codec *c, const uint8_t *data, size_t size)
{
	uint8_t out1[OUT_MAX], out2[OUT_MAX];
	size_t n1, n2;
	mic_tlv tpl;
	void *a, *b;

	if ((a = c->make()) == NULL || (b = c->make()) == NULL)
		abort();
	if (c->dec(a, data, size) != MIC_OK)
		goto done;
	/* It decoded, so its template parses and its tag is ours. */
	if (mic_tlv_parse(data, size, &tpl) != MIC_OK || tpl.tag != c->tag)
		abort();
	if (c->enc(a, out1, sizeof(out1), &n1) != MIC_OK || n1 > tpl.raw_len)
		abort();
	if (c->dec(b, out1, n1) != MIC_OK ||
	    c->enc(b, out2, sizeof(out2), &n2) != MIC_OK || n1 != n2 ||
	    memcmp(out1, out2, n1) != 0)
		abort();
	/* One byte less does not fit, and says so. */
	if (c->enc(a, out2, n1 - 1, &n2) != MIC_ERR_BUFFER_TOO_SMALL)
		abort();
done:
	c->drop(a);
	c->drop(b);
}

static void
check_log(const uint8_t *data, size_t size)
{
	uint8_t out[MIC_LOG_RECORD_SIZE];
	mic_logrec_t *l = mic_logrec_new();
	size_t n;

	if (l == NULL)
		abort();
	if (mic_logrec_decode(l, data, size) == MIC_OK &&
	    (mic_logrec_encode(l, out, sizeof(out), &n) != MIC_OK ||
	    n != size || memcmp(out, data, n) != 0))
		abort();
	mic_logrec_free(&l);
}

static void
check_fci(const uint8_t *data, size_t size)
{
	uint8_t out1[64], out2[64];
	size_t n1, n2;
	mic_fci a, b;

	if (mic_fci_decode(&a, data, size) != MIC_OK)
		return;
	if (mic_fci_encode(&a, out1, sizeof(out1), &n1) != MIC_OK ||
	    mic_fci_decode(&b, out1, n1) != MIC_OK ||
	    mic_fci_encode(&b, out2, sizeof(out2), &n2) != MIC_OK ||
	    n1 != n2 || memcmp(out1, out2, n1) != 0 || a.state != b.state ||
	    a.aid_len != b.aid_len || memcmp(a.aid, b.aid, a.aid_len) != 0 ||
	    memcmp(a.chip_serial, b.chip_serial, MIC_CHIP_SERIAL_LEN) != 0)
		abort();
}

/* Text parsers: what they accept reads back as given. */
static void
check_text(const uint8_t *data, size_t size)
{
	char s[80], out[MIC_CARDID_LEN + 1];
	mic_idnum_info info;
	mic_holder_t *h;
	mic_cardid id;
	char check;

	if (size >= sizeof(s))
		size = sizeof(s) - 1;
	memcpy(s, data, size);
	s[size] = '\0';
	if (mic_idnum_check(s, NULL, &info) == MIC_OK &&
	    (mic_idnum_check_char(info.number, &check) != MIC_OK ||
	    check != info.number[17] || strlen(info.number) != 18))
		abort();
	if (mic_cardid_parse(s, &id) == MIC_OK &&
	    (mic_cardid_build(&id, out, sizeof(out)) != MIC_OK ||
	    strcmp(out, s) != 0))
		abort();
	if ((h = mic_holder_new()) == NULL)
		abort();
	if (mic_holder_set_name(h, s) == MIC_OK &&
	    strcmp(mic_holder_name(h), s) != 0)
		abort();
	if (mic_holder_set_ssn(h, s) == MIC_OK &&
	    (strcmp(mic_holder_ssn(h), info.number) != 0 ||
	    strncmp(mic_holder_birth_date(h), s + 6, 8) != 0))
		abort();
	mic_holder_free(&h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	size_t i;

	for (i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++)
		check_codec(&codecs[i], data, size);
	check_log(data, size);
	check_fci(data, size);
	check_text(data, size);
	if (size == 0 || (copy = malloc(size)) == NULL)
		return 0;
	memcpy(copy, data, size);
	for (i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
		copy[0] = codecs[i].tag;
		check_codec(&codecs[i], copy, size);
	}
	copy[0] = 0x6F;
	check_fci(copy, size);
	free(copy);

	return 0;
}
