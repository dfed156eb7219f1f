/*
 * BER-TLV, ISO/IEC 7816-4:2020 clause 6.3, in its strict DER-like subset:
 * every tag and length must be in its shortest form, so that each value has
 * exactly one encoding and the writer reproduces what the parser accepted.
 */
#include <string.h>

#include <mic/tlv.h>

#include "internal.h"

#define TAG_MAX_BYTES 4
#define LEN_MAX_BYTES 4

/* First tag byte: bit 6 marks a constructed object, 0x1F a multi-byte tag. */
#define TAG_CONSTRUCTED 0x20u
#define TAG_NUMBER_MASK 0x1Fu
#define TAG_MORE 0x80u

/*
 * 7816-4 reserves 00 and FF as padding between objects, so neither may open
 * a tag; accepting them would let padding masquerade as data.
 */
static int
tag_first_ok(uint8_t b)
{
	return b != 0x00 && b != 0xFF;
}

/*
 * The tag at @p p, without logging: mic_tlv_tag_size() uses it too, and a
 * writer given a bad tag should log one line, not two. @p why says what
 * was wrong.
 */
static mic_rc
scan_tag(const uint8_t *p, size_t n, uint32_t *tag, size_t *used,
    const char **why)
{
	uint32_t t;
	size_t i;

	if (n < 1) {
		*why = "empty input";
		return MIC_ERR_TLV_TRUNCATED;
	}
	if (!tag_first_ok(p[0])) {
		*why = "first tag byte 00 or FF";
		return MIC_ERR_TLV_TAG;
	}
	t = p[0];
	if ((p[0] & TAG_NUMBER_MASK) != TAG_NUMBER_MASK) {
		*tag = t;
		*used = 1;
		return MIC_OK;
	}
	for (i = 1; ; i++) {
		if (i >= n) {
			*why = "tag runs past the end";
			return MIC_ERR_TLV_TRUNCATED;
		}
		/*
		 * Tag numbers below 31 fit the first byte, and a leading 0x80
		 * is a zero group of seven bits: both have a shorter form.
		 */
		if (i == 1 && (p[1] < 0x1F || p[1] == TAG_MORE)) {
			*why = "non-minimal tag";
			return MIC_ERR_TLV_NONMINIMAL;
		}
		t = (t << 8) | p[i];
		if ((p[i] & TAG_MORE) == 0)
			break;
		if (i + 1 >= TAG_MAX_BYTES) {
			*why = "tag longer than 4 bytes";
			return MIC_ERR_TLV_TAG;
		}
	}
	*tag = t;
	*used = i + 1;

	return MIC_OK;
}

static mic_rc
parse_tag(const uint8_t *p, size_t n, uint32_t *tag, size_t *used)
{
	const char *why = NULL;
	mic_rc rc;

	if ((rc = scan_tag(p, n, tag, used, &why)) != MIC_OK)
		mici_debug("%s: %s", __func__, why);
	return rc;
}

static mic_rc
parse_len(const uint8_t *p, size_t n, size_t *vlen, size_t *used)
{
	uint32_t v = 0;
	size_t k, i;

	if (n < 1) {
		mici_debug("%s: missing length", __func__);
		return MIC_ERR_TLV_TRUNCATED;
	}
	if (p[0] < 0x80) {
		*vlen = p[0];
		*used = 1;
		return MIC_OK;
	}
	if (p[0] == 0x80) {
		mici_debug("%s: indefinite length", __func__);
		return MIC_ERR_TLV_INDEFINITE;
	}
	k = p[0] & 0x7Fu;
	if (k > LEN_MAX_BYTES) {
		mici_debug("%s: %zu length bytes", __func__, k);
		return MIC_ERR_TLV_LENGTH;
	}
	if (n < 1 + k) {
		mici_debug("%s: length runs past %zu bytes", __func__, n);
		return MIC_ERR_TLV_TRUNCATED;
	}
	for (i = 1; i <= k; i++)
		v = (v << 8) | p[i];
	/* A leading zero byte, or 81 with a value that fits one byte. */
	if (p[1] == 0x00 || (k == 1 && v < 0x80)) {
		mici_debug("%s: non-minimal length %02x %02x", __func__, p[0],
		    p[1]);
		return MIC_ERR_TLV_NONMINIMAL;
	}
#if SIZE_MAX < UINT32_MAX
	if (v > SIZE_MAX) {
		mici_debug("%s: length %lu over SIZE_MAX", __func__,
		    (unsigned long)v);
		return MIC_ERR_TLV_LENGTH;
	}
#endif
	*vlen = (size_t)v;
	*used = 1 + k;

	return MIC_OK;
}

mic_rc
mic_tlv_parse(const uint8_t *buf, size_t len, mic_tlv *out)
{
	size_t tlen, llen, vlen;
	uint32_t tag;
	mic_rc rc;

	if (out == NULL || (buf == NULL && len > 0)) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	memset(out, 0, sizeof(*out));
	if ((rc = parse_tag(buf, len, &tag, &tlen)) != MIC_OK)
		return rc;
	if ((rc = parse_len(buf + tlen, len - tlen, &vlen, &llen)) != MIC_OK)
		return rc;
	if (vlen > len - tlen - llen) {
		mici_debug("%s: value of %zu bytes, %zu left", __func__, vlen,
		    len - tlen - llen);
		return MIC_ERR_TLV_TRUNCATED;
	}
	out->tag = tag;
	out->constructed = (buf[0] & TAG_CONSTRUCTED) != 0;
	out->value = buf + tlen + llen;
	out->len = vlen;
	out->raw_len = tlen + llen + vlen;

	return MIC_OK;
}

mic_rc
mic_tlv_validate(const uint8_t *buf, size_t len)
{
	/* One frame per open constructed object, plus the top level. */
	mic_tlv_iter stack[MIC_TLV_MAX_DEPTH + 1];
	size_t top = 0;
	mic_tlv t;
	mic_rc rc;

	if (buf == NULL && len > 0) {
		mici_debug("%s: NULL buffer", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	mic_tlv_iter_init(&stack[0], buf, len);
	for (;;) {
		rc = mic_tlv_next(&stack[top], &t);
		if (rc == MIC_ERR_NOT_FOUND) {
			if (top == 0)
				return MIC_OK;
			top--;
			continue;
		}
		if (rc != MIC_OK)
			return rc;
		if (!t.constructed)
			continue;
		if (top + 1 > MIC_TLV_MAX_DEPTH) {
			mici_debug("%s: nesting beyond %d", __func__,
			    MIC_TLV_MAX_DEPTH);
			return MIC_ERR_TLV_TOO_DEEP;
		}
		mic_tlv_iter_init(&stack[++top], t.value, t.len);
	}
}

void
mic_tlv_iter_init(mic_tlv_iter *it, const uint8_t *buf, size_t len)
{
	if (it == NULL)
		return;
	it->p = buf;
	it->left = buf == NULL ? 0 : len;
}

mic_rc
mic_tlv_next(mic_tlv_iter *it, mic_tlv *out)
{
	mic_rc rc;

	if (it == NULL || out == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (it->left == 0)
		return MIC_ERR_NOT_FOUND;
	if ((rc = mic_tlv_parse(it->p, it->left, out)) != MIC_OK)
		return rc;
	it->p += out->raw_len;
	it->left -= out->raw_len;

	return MIC_OK;
}

mic_rc
mic_tlv_find(const uint8_t *buf, size_t len, uint32_t tag, mic_tlv *out)
{
	mic_tlv_iter it;
	mic_tlv t;
	mic_rc rc;

	if (out == NULL || (buf == NULL && len > 0)) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	mic_tlv_iter_init(&it, buf, len);
	while ((rc = mic_tlv_next(&it, &t)) == MIC_OK) {
		if (t.tag == tag) {
			*out = t;
			return MIC_OK;
		}
	}

	return rc;
}

mic_rc
mic_tlv_find_path(const uint8_t *buf, size_t len, const uint32_t *path,
    size_t depth, mic_tlv *out)
{
	mic_tlv t;
	mic_rc rc;
	size_t i;

	if (out == NULL || path == NULL || depth == 0 ||
	    (buf == NULL && len > 0)) {
		mici_debug("%s: NULL argument or empty path", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (depth > MIC_TLV_MAX_DEPTH) {
		mici_debug("%s: path of %zu tags", __func__, depth);
		return MIC_ERR_TLV_TOO_DEEP;
	}
	for (i = 0; i < depth; i++) {
		if ((rc = mic_tlv_find(buf, len, path[i], &t)) != MIC_OK)
			return rc;
		/* A primitive's value is opaque bytes, not TLVs to descend. */
		if (i + 1 < depth && !t.constructed) {
			mici_debug("%s: tag %x is primitive", __func__,
			    (unsigned)path[i]);
			return MIC_ERR_NOT_FOUND;
		}
		buf = t.value;
		len = t.len;
	}
	*out = t;

	return MIC_OK;
}

size_t
mic_tlv_tag_size(uint32_t tag)
{
	uint8_t b[TAG_MAX_BYTES];
	const char *why;
	size_t n, i, used;
	uint32_t parsed;

	if (tag == 0)
		return 0;
	for (n = TAG_MAX_BYTES; (tag >> (8 * (n - 1))) == 0; n--)
		continue;
	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(tag >> (8 * (n - 1 - i)));
	/* The parser is the one definition of a valid tag. */
	if (scan_tag(b, n, &parsed, &used, &why) != MIC_OK || used != n)
		return 0;

	return n;
}

size_t
mic_tlv_len_size(size_t len)
{
	if (len < 0x80)
		return 1;
	if (len <= 0xFF)
		return 2;
	if (len <= 0xFFFF)
		return 3;
	if (len <= 0xFFFFFF)
		return 4;
	if ((uint64_t)len <= UINT32_MAX)
		return 5;
	/* Beyond four length bytes the parser would refuse it. */
	return 0;
}

void
mic_tlv_writer_init(mic_tlv_writer *w, uint8_t *buf, size_t cap)
{
	if (w == NULL)
		return;
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = buf == NULL ? 0 : cap;
	w->err = MIC_OK;
}

static void
writer_fail(mic_tlv_writer *w, mic_rc rc)
{
	if (w->err == MIC_OK)
		w->err = rc;
}

static int
writer_room(mic_tlv_writer *w, size_t n)
{
	if (n > w->cap - w->len) {
		mici_debug("%s: need %zu bytes, %zu left", __func__, n,
		    w->cap - w->len);
		writer_fail(w, MIC_ERR_BUFFER_TOO_SMALL);
		return 0;
	}
	return 1;
}

static void
write_tag(uint8_t *p, uint32_t tag, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(tag >> (8 * (n - 1 - i)));
}

/* Writes exactly mic_tlv_len_size(len) bytes. */
static void
write_len(uint8_t *p, size_t len, size_t n)
{
	size_t i;

	if (n == 1) {
		p[0] = (uint8_t)len;
		return;
	}
	p[0] = (uint8_t)(0x80u | (n - 1));
	for (i = 1; i < n; i++)
		p[i] = (uint8_t)((uint64_t)len >> (8 * (n - 1 - i)));
}

void
mic_tlv_put(mic_tlv_writer *w, uint32_t tag, const uint8_t *value, size_t len)
{
	size_t tn, ln;

	if (w == NULL || w->err != MIC_OK)
		return;
	if ((tn = mic_tlv_tag_size(tag)) == 0) {
		mici_debug("%s: invalid tag %x", __func__, (unsigned)tag);
		writer_fail(w, MIC_ERR_TLV_TAG);
		return;
	}
	if (value == NULL && len > 0) {
		mici_debug("%s: NULL value of %zu bytes", __func__, len);
		writer_fail(w, MIC_ERR_INVALID_ARGUMENT);
		return;
	}
	if ((ln = mic_tlv_len_size(len)) == 0) {
		mici_debug("%s: value of %zu bytes", __func__, len);
		writer_fail(w, MIC_ERR_TLV_LENGTH);
		return;
	}
	if (len > SIZE_MAX - tn - ln) {
		mici_debug("%s: value of %zu bytes", __func__, len);
		writer_fail(w, MIC_ERR_BUFFER_TOO_SMALL);
		return;
	}
	if (!writer_room(w, tn + ln + len))
		return;
	write_tag(w->buf + w->len, tag, tn);
	write_len(w->buf + w->len + tn, len, ln);
	/* The value may be an earlier part of this very buffer. */
	if (len > 0)
		memmove(w->buf + w->len + tn + ln, value, len);
	w->len += tn + ln + len;
}

void
mic_tlv_put_uint(mic_tlv_writer *w, uint32_t tag, uint64_t v, size_t nbytes)
{
	uint8_t b[sizeof(uint64_t)];
	size_t i;

	if (w == NULL || w->err != MIC_OK)
		return;
	if (nbytes == 0 || nbytes > sizeof(b) ||
	    (nbytes < sizeof(b) && (v >> (8 * nbytes)) != 0)) {
		mici_debug("%s: %llu does not fit %zu bytes", __func__,
		    (unsigned long long)v, nbytes);
		writer_fail(w, MIC_ERR_INVALID_ARGUMENT);
		return;
	}
	for (i = 0; i < nbytes; i++)
		b[i] = (uint8_t)(v >> (8 * (nbytes - 1 - i)));
	mic_tlv_put(w, tag, b, nbytes);
}

void
mic_tlv_open(mic_tlv_writer *w, uint32_t tag)
{
	size_t tn;

	if (w == NULL || w->err != MIC_OK)
		return;
	tn = mic_tlv_tag_size(tag);
	/* A primitive tag here would hide the children from every reader. */
	if (tn == 0 || ((tag >> (8 * (tn - 1))) & TAG_CONSTRUCTED) == 0) {
		mici_debug("%s: tag %x is not a constructed tag", __func__,
		    (unsigned)tag);
		writer_fail(w, MIC_ERR_TLV_TAG);
		return;
	}
	if (w->depth >= MIC_TLV_MAX_DEPTH) {
		mici_debug("%s: more than %d open tags", __func__,
		    MIC_TLV_MAX_DEPTH);
		writer_fail(w, MIC_ERR_TLV_TOO_DEEP);
		return;
	}
	/* One length byte now; mic_tlv_close() widens it if the value grows. */
	if (!writer_room(w, tn + 1))
		return;
	w->open[w->depth++] = w->len;
	write_tag(w->buf + w->len, tag, tn);
	w->buf[w->len + tn] = 0x00;
	w->len += tn + 1;
}

/* Size of the tag already written at @p p, which the writer made valid. */
static size_t
written_tag_size(const uint8_t *p)
{
	size_t n = 1;

	if ((p[0] & TAG_NUMBER_MASK) != TAG_NUMBER_MASK)
		return 1;
	while (p[n] & TAG_MORE)
		n++;
	return n + 1;
}

void
mic_tlv_close(mic_tlv_writer *w)
{
	size_t start, lpos, vlen, ln;

	if (w == NULL || w->err != MIC_OK)
		return;
	if (w->depth == 0) {
		mici_debug("%s: nothing open", __func__);
		writer_fail(w, MIC_ERR_STATE);
		return;
	}
	start = w->open[w->depth - 1];
	lpos = start + written_tag_size(w->buf + start);
	vlen = w->len - lpos - 1;
	if ((ln = mic_tlv_len_size(vlen)) == 0) {
		mici_debug("%s: value of %zu bytes", __func__, vlen);
		writer_fail(w, MIC_ERR_TLV_LENGTH);
		return;
	}
	if (ln > 1) {
		if (!writer_room(w, ln - 1))
			return;
		memmove(w->buf + lpos + ln, w->buf + lpos + 1, vlen);
		w->len += ln - 1;
	}
	write_len(w->buf + lpos, vlen, ln);
	w->depth--;
}

mic_rc
mic_tlv_writer_finish(mic_tlv_writer *w, size_t *len)
{
	if (len != NULL)
		*len = 0;
	if (w == NULL || len == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (w->err != MIC_OK)
		return w->err;
	if (w->depth != 0) {
		mici_debug("%s: %zu constructed tags still open", __func__,
		    w->depth);
		return MIC_ERR_STATE;
	}
	*len = w->len;

	return MIC_OK;
}
