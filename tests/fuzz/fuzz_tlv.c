/*
 * Fuzz the BER-TLV parser against the writer.
 *
 * The parser accepts only minimal encodings, so every object it accepts has
 * exactly one encoding and the writer must reproduce it byte for byte:
 * each top-level object on its own, and a whole valid input rebuilt node by
 * node with mic_tlv_open()/mic_tlv_close(). Iteration, mic_tlv_find() and
 * mic_tlv_find_path() must agree with what the walk saw.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mic/tlv.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Bound the quadratic find_path cross-check on large inputs. */
#define PATH_CHECKS_MAX 64

struct walk {
	const uint8_t *data;
	size_t size;
	mic_tlv_writer w;
	uint32_t path[MIC_TLV_MAX_DEPTH + 1];
	size_t path_checks;
};

static void
check_header(const uint8_t *raw, const mic_tlv *t)
{
	size_t tn = mic_tlv_tag_size(t->tag);
	size_t ln = mic_tlv_len_size(t->len);

	if (tn == 0 || ln == 0 || tn + ln + t->len != t->raw_len ||
	    t->value != raw + tn + ln ||
	    t->constructed != ((raw[0] & 0x20) != 0))
		abort();
}

/* One object, written back on its own, gives its raw bytes. */
static void
check_rewrite_one(const uint8_t *raw, const mic_tlv *t)
{
	mic_tlv_writer w;
	uint8_t *buf;
	size_t len;

	if ((buf = malloc(t->raw_len)) == NULL)
		return;
	mic_tlv_writer_init(&w, buf, t->raw_len);
	mic_tlv_put(&w, t->tag, t->value, t->len);
	if (mic_tlv_writer_finish(&w, &len) != MIC_OK || len != t->raw_len ||
	    memcmp(buf, raw, len) != 0)
		abort();
	/* One byte less must not fit. */
	mic_tlv_writer_init(&w, buf, t->raw_len - 1);
	mic_tlv_put(&w, t->tag, t->value, t->len);
	if (mic_tlv_writer_finish(&w, &len) != MIC_ERR_BUFFER_TOO_SMALL)
		abort();
	free(buf);
}

/* Walk the top-level objects; returns the iterator's final code. */
static mic_rc
check_top_level(const uint8_t *data, size_t size)
{
	mic_tlv_iter it;
	mic_tlv t, found;
	mic_rc rc;
	int first = 1;

	mic_tlv_iter_init(&it, data, size);
	while ((rc = mic_tlv_next(&it, &t)) == MIC_OK) {
		const uint8_t *raw = t.value - (t.raw_len - t.len);

		check_header(raw, &t);
		check_rewrite_one(raw, &t);
		if (first) {
			if (mic_tlv_find(data, size, t.tag, &found) != MIC_OK ||
			    found.value != t.value || found.len != t.len)
				abort();
			first = 0;
		}
	}
	if (rc == MIC_ERR_NOT_FOUND && it.left != 0)
		abort();
	return rc;
}

/*
 * find_path takes the first match at each level, so it must land on this
 * very node when each step of the path is its tag's first occurrence.
 */
static void
check_path(struct walk *wk, size_t depth, const mic_tlv *t)
{
	mic_tlv found;

	/*
	 * find_path reaches MIC_TLV_MAX_DEPTH levels, not the primitives
	 * inside the deepest constructed object the validator allows.
	 */
	if (wk->path_checks >= PATH_CHECKS_MAX || depth > MIC_TLV_MAX_DEPTH)
		return;
	wk->path_checks++;
	if (mic_tlv_find_path(wk->data, wk->size, wk->path, depth,
	    &found) != MIC_OK || found.value != t->value ||
	    found.raw_len != t->raw_len)
		abort();
}

/*
 * Rebuild a validated tree: at most MIC_TLV_MAX_DEPTH constructed levels,
 * so objects sit at most one level below that.
 */
static void
rebuild(struct walk *wk, const uint8_t *buf, size_t len, size_t depth,
    int first_path)
{
	mic_tlv_iter it;
	mic_tlv t, f;
	mic_rc rc;
	int first;

	mic_tlv_iter_init(&it, buf, len);
	while ((rc = mic_tlv_next(&it, &t)) == MIC_OK) {
		if (depth > MIC_TLV_MAX_DEPTH ||
		    (t.constructed && depth >= MIC_TLV_MAX_DEPTH))
			abort();
		first = 0;
		if (first_path && wk->path_checks < PATH_CHECKS_MAX) {
			if (mic_tlv_find(buf, len, t.tag, &f) != MIC_OK)
				abort();
			first = f.value == t.value;
		}
		wk->path[depth] = t.tag;
		if (first)
			check_path(wk, depth + 1, &t);
		if (t.constructed) {
			mic_tlv_open(&wk->w, t.tag);
			rebuild(wk, t.value, t.len, depth + 1, first);
			mic_tlv_close(&wk->w);
		} else
			mic_tlv_put(&wk->w, t.tag, t.value, t.len);
	}
	if (rc != MIC_ERR_NOT_FOUND)
		abort();
}

static void
check_valid(const uint8_t *data, size_t size)
{
	struct walk wk;
	uint8_t *buf;
	size_t len;

	if (size == 0 || (buf = malloc(size)) == NULL)
		return;
	memset(&wk, 0, sizeof(wk));
	wk.data = data;
	wk.size = size;
	mic_tlv_writer_init(&wk.w, buf, size);
	rebuild(&wk, data, size, 0, 1);
	if (mic_tlv_writer_finish(&wk.w, &len) != MIC_OK || len != size ||
	    memcmp(buf, data, size) != 0)
		abort();
	free(buf);
}

/* Any path at all, taken from the input: must not crash or lie. */
static void
check_any_path(const uint8_t *data, size_t size)
{
	uint32_t path[MIC_TLV_MAX_DEPTH + 1];
	size_t depth, i;
	mic_tlv t;
	mic_rc rc;

	if (size < 1)
		return;
	depth = (size_t)(data[0] % (MIC_TLV_MAX_DEPTH + 1)) + 1;
	for (i = 0; i < depth; i++) {
		size_t off = 1 + 2 * i;

		path[i] = off + 1 < size ?
		    (uint32_t)((data[off] << 8) | data[off + 1]) : 0x6F;
		if (mic_tlv_tag_size(path[i]) != 2)
			path[i] &= 0xFF;
	}
	rc = mic_tlv_find_path(data, size, path, depth, &t);
	if (depth > MIC_TLV_MAX_DEPTH) {
		if (rc != MIC_ERR_TLV_TOO_DEEP)
			abort();
		return;
	}
	if (rc == MIC_OK && (t.tag != path[depth - 1] || t.value < data ||
	    t.len > size || t.value > data + size - t.len))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mic_rc valid, top;

	valid = mic_tlv_validate(data, size);
	top = check_top_level(data, size);
	/* A flaw at the top level is a flaw of the whole. */
	if (top != MIC_ERR_NOT_FOUND && valid == MIC_OK)
		abort();
	if (valid == MIC_OK)
		check_valid(data, size);
	check_any_path(data, size);

	return 0;
}
