/*
 * libmic: BER-TLV as ISO/IEC 7816-4 clause 6.3 uses it (a subset of X.690
 * BER): tags of 1-4 bytes, definite lengths of at most 4 length bytes.
 *
 * The parser is strict because its input comes from cards and files that may
 * be hostile: indefinite lengths, non-minimal tags and lengths, truncation
 * and nesting deeper than MIC_TLV_MAX_DEPTH are all rejected with their own
 * error. Parsing never allocates; results point into the caller's buffer.
 */
#ifndef MIC_TLV_H
#define MIC_TLV_H

#include <stddef.h>
#include <stdint.h>

#include <mic/err.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Deepest nesting of constructed objects that mic_tlv_validate() accepts. */
#define MIC_TLV_MAX_DEPTH 8

typedef struct mic_tlv {
	uint32_t tag;          /**< the tag bytes, big-endian, e.g. 0x5F20 */
	int constructed;       /**< bit 6 of the first tag byte */
	const uint8_t *value;  /**< points into the parsed buffer */
	size_t len;            /**< length of value */
	size_t raw_len;        /**< tag + length + value */
} mic_tlv;

/**
 * Parse the one TLV at the start of @p buf.
 * @retval MIC_OK                 @p out filled, @p out->raw_len bytes consumed
 * @retval MIC_ERR_TLV_TRUNCATED  tag, length or value run past @p len
 * @retval MIC_ERR_TLV_INDEFINITE length byte 0x80
 * @retval MIC_ERR_TLV_NONMINIMAL a tag or length longer than needed
 * @retval MIC_ERR_TLV_TAG        a tag of more than 4 bytes, or first byte 00 or FF
 * @retval MIC_ERR_TLV_LENGTH     more than 4 length bytes, or a length over SIZE_MAX
 */
mic_rc mic_tlv_parse(const uint8_t *buf, size_t len, mic_tlv *out);

/**
 * Check that @p buf is a sequence of well-formed TLVs, recursing into
 * constructed ones up to MIC_TLV_MAX_DEPTH levels.
 * @retval MIC_ERR_TLV_TOO_DEEP   nesting beyond MIC_TLV_MAX_DEPTH
 * plus every error of mic_tlv_parse().
 */
mic_rc mic_tlv_validate(const uint8_t *buf, size_t len);

/** Iterator over a sequence of sibling TLVs. */
typedef struct mic_tlv_iter {
	const uint8_t *p;
	size_t left;
} mic_tlv_iter;

void mic_tlv_iter_init(mic_tlv_iter *it, const uint8_t *buf, size_t len);

/**
 * The next sibling.
 * @retval MIC_OK             @p out filled
 * @retval MIC_ERR_NOT_FOUND  the sequence is exhausted
 * plus every error of mic_tlv_parse(); after an error the iterator stays put.
 */
mic_rc mic_tlv_next(mic_tlv_iter *it, mic_tlv *out);

/**
 * Find the first TLV with @p tag among the siblings in @p buf (no recursion).
 * @retval MIC_ERR_NOT_FOUND  no such tag
 */
mic_rc mic_tlv_find(const uint8_t *buf, size_t len, uint32_t tag, mic_tlv *out);

/**
 * Follow a path of tags through constructed objects: path[0] among the
 * siblings of @p buf, path[1] inside its value, and so on.
 * @retval MIC_ERR_NOT_FOUND     some step is missing
 * @retval MIC_ERR_TLV_TOO_DEEP  @p depth > MIC_TLV_MAX_DEPTH
 */
mic_rc mic_tlv_find_path(const uint8_t *buf, size_t len, const uint32_t *path,
    size_t depth, mic_tlv *out);

/**
 * A TLV writer over a caller-owned buffer. Errors are sticky: after the first
 * failure every later call is a no-op and mic_tlv_writer_finish() reports it,
 * so a builder can write a whole structure and check once.
 */
typedef struct mic_tlv_writer {
	uint8_t *buf;
	size_t cap;
	size_t len;
	mic_rc err;
	size_t open[MIC_TLV_MAX_DEPTH]; /**< offsets of open constructed tags */
	size_t depth;
} mic_tlv_writer;

void mic_tlv_writer_init(mic_tlv_writer *w, uint8_t *buf, size_t cap);
/** Append a primitive (or pre-encoded constructed) TLV. */
void mic_tlv_put(mic_tlv_writer *w, uint32_t tag, const uint8_t *value, size_t len);
/** Append a TLV whose value is an unsigned big-endian integer in @p nbytes bytes. */
void mic_tlv_put_uint(mic_tlv_writer *w, uint32_t tag, uint64_t v, size_t nbytes);
/** Open a constructed TLV; its length is filled in by mic_tlv_close(). */
void mic_tlv_open(mic_tlv_writer *w, uint32_t tag);
void mic_tlv_close(mic_tlv_writer *w);
/**
 * @retval MIC_OK                     @p *len holds the bytes written
 * @retval MIC_ERR_BUFFER_TOO_SMALL   the buffer ran out
 * @retval MIC_ERR_TLV_TAG            an invalid tag was given (to mic_tlv_open(),
 *                                    one that is not constructed)
 * @retval MIC_ERR_TLV_TOO_DEEP       too many open constructed tags
 * @retval MIC_ERR_TLV_LENGTH         a value needs more than 4 length bytes
 * @retval MIC_ERR_INVALID_ARGUMENT   NULL @p w or @p len, a NULL value with a
 *                                    length, or a number that does not fit nbytes
 * @retval MIC_ERR_STATE              a constructed tag is still open, or
 *                                    mic_tlv_close() had none to close
 */
mic_rc mic_tlv_writer_finish(mic_tlv_writer *w, size_t *len);

/** Encoded size of a tag, or 0 if @p tag is invalid. */
size_t mic_tlv_tag_size(uint32_t tag);
/** Encoded size of a length field for @p len, or 0 if it needs over 4 length bytes. */
size_t mic_tlv_len_size(size_t len);

#ifdef __cplusplus
}
#endif
#endif
