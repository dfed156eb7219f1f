/*
 * The card image: a card's persistent state (its EEPROM, as vc_card_nv()
 * gives it) in a file, written so that a power cut at any moment leaves
 * either the old image or the new one, never a mix.
 *
 * File format, version 1. Integers are big-endian.
 *
 *   offset  size  field
 *   0       8     magic "MICVCARD" (ASCII, no NUL)
 *   8       2     format version: 00 01
 *   10      2     reserved: 00 00 (a reader refuses anything else)
 *   12      4     N, the length of the nv state: 1 .. VC_IMAGE_NV_MAX
 *   16      N     the nv state, in the card engine's own versioned layout
 *   16+N    32    SHA-256 over bytes 0 .. 16+N-1
 *
 * The file is exactly 48 + N bytes. The checksum catches a damaged or
 * hand-edited file; the engine's own checks (vc_card_load) catch a state
 * from another engine version. The format says nothing about what the nv
 * bytes mean, so the image store never depends on the engine's internals.
 *
 * Saving (vc_image_save, vc_image_commit): the image is written to a new
 * temporary file in the same directory ("<image>.tmp-XXXXXX"), synced,
 * renamed over the image, and the directory is synced. rename() is atomic,
 * so a reader or a crash sees the old file or the new one. A crash before
 * the rename leaves a stale temporary file and the old image untouched;
 * vc_image_clean_temps() removes such leftovers.
 */
#ifndef VC_IMAGE_H
#define VC_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include <mic/err.h>

#include "vcard.h"

#define VC_IMAGE_MAGIC "MICVCARD"
#define VC_IMAGE_MAGIC_LEN 8
#define VC_IMAGE_VERSION 1
#define VC_IMAGE_HEADER_LEN 16
#define VC_IMAGE_HASH_LEN 32
/* Far above any real card's EEPROM; bounds what a hostile file can make
 * the loader allocate. */
#define VC_IMAGE_NV_MAX (1u << 20)
#define VC_IMAGE_MAX (VC_IMAGE_HEADER_LEN + VC_IMAGE_NV_MAX + VC_IMAGE_HASH_LEN)

/** Why an image could not be read or written. vc_image_strerror() says it. */
typedef enum vc_image_rc {
	VC_IMAGE_OK = 0,
	VC_IMAGE_E_SYS,       /**< a system call failed: errno says which */
	VC_IMAGE_E_NOMEM,
	VC_IMAGE_E_ARG,       /**< NULL pointers or an empty nv state */
	VC_IMAGE_E_TRUNCATED, /**< shorter than the header, or than it says */
	VC_IMAGE_E_MAGIC,     /**< not a card image at all */
	VC_IMAGE_E_VERSION,   /**< a format version or reserved bits we do not know */
	VC_IMAGE_E_LENGTH,    /**< nv length 0 or over the limit, or trailing bytes */
	VC_IMAGE_E_CHECKSUM,  /**< the SHA-256 does not match: damaged */
	VC_IMAGE_E_CARD,      /**< the card engine refused the nv state */
	VC_IMAGE_E_EXISTS,    /**< the image exists and overwriting was not allowed */
	VC_IMAGE_E_TORN,      /**< a simulated power cut interrupted the write */
	VC_IMAGE_E_LAYOUT,    /**< a card state of another engine layout version */
} vc_image_rc;

/** A one-line explanation of @p rc (for VC_IMAGE_E_SYS, not errno's text). */
const char *vc_image_strerror(vc_image_rc rc);

/** The size of the image of an nv state of @p nv_len bytes. */
size_t vc_image_size(size_t nv_len);

/**
 * Encode an image of @p nv into @p out.
 * @retval VC_IMAGE_OK        @p *out_len holds vc_image_size(nv_len)
 * @retval VC_IMAGE_E_ARG     NULL pointers, nv_len 0
 * @retval VC_IMAGE_E_LENGTH  nv_len over VC_IMAGE_NV_MAX, or @p cap too small
 */
vc_image_rc vc_image_encode(const uint8_t *nv, size_t nv_len, uint8_t *out,
    size_t cap, size_t *out_len);

/**
 * Check an image held in memory and find its nv state. The input is
 * untrusted: every field is checked before use. On success @p *nv points
 * into @p buf.
 * @retval VC_IMAGE_OK
 * @retval VC_IMAGE_E_ARG, VC_IMAGE_E_TRUNCATED, VC_IMAGE_E_MAGIC,
 *         VC_IMAGE_E_VERSION, VC_IMAGE_E_LENGTH, VC_IMAGE_E_CHECKSUM
 */
vc_image_rc vc_image_parse(const uint8_t *buf, size_t len,
    const uint8_t **nv, size_t *nv_len);

/**
 * Read and check the image file at @p path. On success @p *nv is a
 * malloc'ed copy of the nv state; free it with vc_image_nv_free().
 * @retval VC_IMAGE_E_SYS  open/read failed (errno), or not a regular file
 * plus every error of vc_image_parse()
 */
vc_image_rc vc_image_read(const char *path, uint8_t **nv, size_t *nv_len);

/** Wipe and free an nv state from vc_image_read(); NULL-safe. */
void vc_image_nv_free(uint8_t **nv, size_t nv_len);

/**
 * Read the image at @p path and give the card it holds, powered and reset.
 * @retval VC_IMAGE_E_LAYOUT  a card state of another layout (an image
 *                            made before SCP11: re-create the card)
 * @retval VC_IMAGE_E_CARD  the engine refused the nv state (vc_card_load)
 * plus every error of vc_image_read()
 */
vc_image_rc vc_image_load_card(const char *path, unsigned flags,
    vc_card **card);

/** vc_image_save() flags. */
#define VC_IMAGE_NOCLOBBER 0x01u  /**< fail with VC_IMAGE_E_EXISTS if it exists */

/**
 * Write an image of @p nv to @p path atomically (see the top of this
 * file). With VC_IMAGE_NOCLOBBER the new file is linked into place, which
 * fails, atomically, if @p path exists.
 * @retval VC_IMAGE_OK
 * @retval VC_IMAGE_E_SYS     a system call failed (errno); @p path unchanged
 * @retval VC_IMAGE_E_EXISTS  VC_IMAGE_NOCLOBBER and @p path exists
 * @retval VC_IMAGE_E_NOMEM, VC_IMAGE_E_ARG, VC_IMAGE_E_LENGTH
 */
vc_image_rc vc_image_save(const char *path, const uint8_t *nv, size_t nv_len,
    unsigned flags);

/**
 * Called when a simulated tear strikes, after part of the temporary file
 * was written and synced. A tear that ends the process (_exit) is a power
 * cut; if the function returns, the commit fails with VC_IMAGE_E_TORN and
 * the partial temporary file stays behind, as a power cut would leave it.
 */
typedef void vc_tear_fn(void *arg, unsigned long commit);

/**
 * An image a running card commits to: the argument of vc_image_commit().
 * Zero it, set path (and the tear fields to simulate a power cut).
 */
typedef struct vc_image_store {
	const char *path;        /**< the image file */
	unsigned long commits;   /**< commits attempted so far */
	unsigned long tear_at;   /**< tear during this commit (1-based); 0 never */
	vc_tear_fn *tear;        /**< may be NULL: then the commit just fails */
	void *tear_arg;
	vc_image_rc last;        /**< why the last commit failed */
	int last_errno;          /**< errno of that failure, for VC_IMAGE_E_SYS */
} vc_image_store;

/**
 * A vc_commit_fn: save @p nv as the image @p arg (a vc_image_store) names.
 * Give it to vc_card_set_commit() and the card persists every command.
 * @retval MIC_OK                    the image is durable
 * @retval MIC_ERR_IO                it is not: the image holds the previous
 *                                   state (store->last says why)
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL store or path
 */
mic_rc vc_image_commit(void *arg, const uint8_t *nv, size_t len);

/**
 * Remove the temporary files that interrupted saves of @p path left
 * behind. Only for a process that owns the image: a save running
 * elsewhere at the same time would lose its temporary file.
 * @return the number of files removed, or -1 if the directory could not
 *         be read
 */
int vc_image_clean_temps(const char *path);

#endif
