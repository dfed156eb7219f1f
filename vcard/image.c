/*
 * The card image file: format, parser and tear-safe save. The format is
 * documented in image.h.
 *
 * Why the save is safe: the new image is complete and fsync'ed in a
 * temporary file before rename() swaps it in, and rename() is atomic. A
 * crash at any point before the rename leaves the old image; after it, the
 * new one. The directory is synced last so that the rename itself survives
 * a crash of the machine, not only of the process.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "image.h"
#include "internal.h"

#define TEMP_TAG ".tmp-"
#define TEMP_X "XXXXXX"

static const struct {
	vc_image_rc rc;
	const char *text;
} messages[] = {
	{ VC_IMAGE_OK, "success" },
	{ VC_IMAGE_E_SYS, "system error" },
	{ VC_IMAGE_E_NOMEM, "out of memory" },
	{ VC_IMAGE_E_ARG, "invalid argument" },
	{ VC_IMAGE_E_TRUNCATED, "truncated: the file is shorter than its "
	    "header says" },
	{ VC_IMAGE_E_MAGIC, "not a card image (no MICVCARD magic)" },
	{ VC_IMAGE_E_VERSION, "unsupported image format version" },
	{ VC_IMAGE_E_LENGTH, "bad length: the card state is empty, too large, "
	    "or followed by extra bytes" },
	{ VC_IMAGE_E_CHECKSUM, "checksum mismatch: the image is damaged" },
	{ VC_IMAGE_E_CARD, "the card engine refused the stored card state "
	    "(another engine version?)" },
	{ VC_IMAGE_E_EXISTS, "the image already exists" },
	{ VC_IMAGE_E_TORN, "the write was torn (simulated power cut)" },
	{ VC_IMAGE_E_LAYOUT, "the card state is of another layout version "
	    "(made by an older mic-vcard, before SCP11): re-create the card "
	    "with mic-vcard new" },
};

const char *
vc_image_strerror(vc_image_rc rc)
{
	for (size_t i = 0; i < MIC_ARRAY_LEN(messages); i++)
		if (messages[i].rc == rc)
			return messages[i].text;
	return "unknown image error";
}



static int
sha256(const uint8_t *buf, size_t len, uint8_t md[VC_IMAGE_HASH_LEN])
{
	unsigned int n = 0;

	if (EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL) != 1 ||
	    n != VC_IMAGE_HASH_LEN) {
		mici_debug("%s: EVP_Digest failed", __func__);
		return -1;
	}
	return 0;
}

size_t
vc_image_size(size_t nv_len)
{
	return VC_IMAGE_HEADER_LEN + nv_len + VC_IMAGE_HASH_LEN;
}

vc_image_rc
vc_image_encode(const uint8_t *nv, size_t nv_len, uint8_t *out, size_t cap,
    size_t *out_len)
{
	size_t body;

	if (nv == NULL || nv_len == 0 || out == NULL || out_len == NULL)
		return VC_IMAGE_E_ARG;
	if (nv_len > VC_IMAGE_NV_MAX || cap < vc_image_size(nv_len)) {
		mici_debug("%s: nv state of %zu bytes does not fit", __func__,
		    nv_len);
		return VC_IMAGE_E_LENGTH;
	}
	body = VC_IMAGE_HEADER_LEN + nv_len;
	memcpy(out, VC_IMAGE_MAGIC, VC_IMAGE_MAGIC_LEN);
	mici_put_u16(out + 8, VC_IMAGE_VERSION);
	mici_put_u16(out + 10, 0);
	mici_put_u32(out + 12, (uint32_t)nv_len);
	memcpy(out + VC_IMAGE_HEADER_LEN, nv, nv_len);
	if (sha256(out, body, out + body) != 0)
		return VC_IMAGE_E_NOMEM;
	*out_len = body + VC_IMAGE_HASH_LEN;
	return VC_IMAGE_OK;
}

vc_image_rc
vc_image_parse(const uint8_t *buf, size_t len, const uint8_t **nv,
    size_t *nv_len)
{
	uint8_t md[VC_IMAGE_HASH_LEN];
	size_t n, body;

	if (buf == NULL || nv == NULL || nv_len == NULL)
		return VC_IMAGE_E_ARG;
	*nv = NULL;
	*nv_len = 0;
	/* The magic first, so a file of another kind is named as such even
	 * when it is shorter than our header. */
	n = len < VC_IMAGE_MAGIC_LEN ? len : VC_IMAGE_MAGIC_LEN;
	if (memcmp(buf, VC_IMAGE_MAGIC, n) != 0) {
		mici_debug("%s: no magic", __func__);
		return VC_IMAGE_E_MAGIC;
	}
	if (len < VC_IMAGE_HEADER_LEN) {
		mici_debug("%s: %zu bytes, no room for the header", __func__,
		    len);
		return VC_IMAGE_E_TRUNCATED;
	}
	if (mici_get_u16(buf + 8) != VC_IMAGE_VERSION ||
	    mici_get_u16(buf + 10) != 0) {
		mici_debug("%s: version %04X, reserved %04X", __func__,
		    mici_get_u16(buf + 8), mici_get_u16(buf + 10));
		return VC_IMAGE_E_VERSION;
	}
	n = mici_get_u32(buf + 12);
	if (n == 0 || n > VC_IMAGE_NV_MAX) {
		mici_debug("%s: nv length %zu", __func__, n);
		return VC_IMAGE_E_LENGTH;
	}
	body = VC_IMAGE_HEADER_LEN + n;
	if (len < body + VC_IMAGE_HASH_LEN) {
		mici_debug("%s: %zu bytes, the header says %zu", __func__, len,
		    body + VC_IMAGE_HASH_LEN);
		return VC_IMAGE_E_TRUNCATED;
	}
	if (len > body + VC_IMAGE_HASH_LEN) {
		mici_debug("%s: %zu bytes after the checksum", __func__,
		    len - body - VC_IMAGE_HASH_LEN);
		return VC_IMAGE_E_LENGTH;
	}
	if (sha256(buf, body, md) != 0)
		return VC_IMAGE_E_NOMEM;
	if (CRYPTO_memcmp(md, buf + body, sizeof(md)) != 0) {
		mici_debug("%s: checksum mismatch", __func__);
		return VC_IMAGE_E_CHECKSUM;
	}
	*nv = buf + VC_IMAGE_HEADER_LEN;
	*nv_len = n;
	return VC_IMAGE_OK;
}

/* Read the whole file, bounded by VC_IMAGE_MAX (plus one byte, so that a
 * file that grew past the limit is seen as too long, not cut short). */
static vc_image_rc
read_file(const char *path, uint8_t **out, size_t *out_len)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t cap, got = 0;
	vc_image_rc rc = VC_IMAGE_E_SYS;
	int fd, err = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		err = errno;
		mici_debug("%s: open %s: %s", __func__, path, strerror(err));
		goto fail;
	}
	if (fstat(fd, &st) != 0) {
		err = errno;
		mici_debug("%s: fstat: %s", __func__, strerror(err));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		/* A FIFO or device would block or never end. */
		err = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		mici_debug("%s: %s is not a regular file", __func__, path);
		goto fail;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > VC_IMAGE_MAX) {
		mici_debug("%s: %s is too large to be a card image", __func__,
		    path);
		rc = VC_IMAGE_E_LENGTH;
		goto fail;
	}
	cap = (size_t)st.st_size + 1;
	if ((buf = malloc(cap)) == NULL) {
		rc = VC_IMAGE_E_NOMEM;
		goto fail;
	}
	while (got < cap) {
		ssize_t n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			mici_debug("%s: read: %s", __func__, strerror(err));
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*out = buf;
	*out_len = got;
	return VC_IMAGE_OK;
fail:
	if (fd >= 0)
		close(fd);
	if (buf != NULL) {
		mici_wipe(buf, cap);
		free(buf);
	}
	errno = err;
	return rc;
}

vc_image_rc
vc_image_read(const char *path, uint8_t **nv, size_t *nv_len)
{
	uint8_t *buf = NULL;
	const uint8_t *p;
	size_t len = 0, n;
	vc_image_rc rc;

	if (path == NULL || nv == NULL || nv_len == NULL)
		return VC_IMAGE_E_ARG;
	*nv = NULL;
	*nv_len = 0;
	if ((rc = read_file(path, &buf, &len)) != VC_IMAGE_OK)
		return rc;
	if ((rc = vc_image_parse(buf, len, &p, &n)) != VC_IMAGE_OK)
		goto out;
	if ((*nv = malloc(n)) == NULL) {
		rc = VC_IMAGE_E_NOMEM;
		goto out;
	}
	memcpy(*nv, p, n);
	*nv_len = n;
out:
	/* The nv state holds the card's private key and PIN hash. */
	mici_wipe(buf, len);
	free(buf);
	return rc;
}

void
vc_image_nv_free(uint8_t **nv, size_t nv_len)
{
	if (nv == NULL || *nv == NULL)
		return;
	mici_wipe(*nv, nv_len);
	free(*nv);
	*nv = NULL;
}

vc_image_rc
vc_image_load_card(const char *path, unsigned flags, vc_card **card)
{
	uint8_t *nv = NULL;
	size_t len = 0;
	vc_image_rc rc;
	mic_rc r;

	if (card == NULL)
		return VC_IMAGE_E_ARG;
	*card = NULL;
	if ((rc = vc_image_read(path, &nv, &len)) != VC_IMAGE_OK)
		return rc;
	if ((r = vc_card_load(card, nv, len, flags)) != MIC_OK) {
		mici_debug("%s: vc_card_load: %s", __func__, mic_strerror(r));
		rc = r == MIC_ERR_NOMEM ? VC_IMAGE_E_NOMEM :
		    vc_card_nv_layout(nv, len) >= 0 &&
		    vc_card_nv_layout(nv, len) != VC_CARD_NV_LAYOUT ?
		    VC_IMAGE_E_LAYOUT : VC_IMAGE_E_CARD;
	}
	vc_image_nv_free(&nv, len);
	return rc;
}

static int
write_all(int fd, const uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* A malloc'ed copy of the directory part of @p path ("." if none). */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static int
sync_dir(const char *path)
{
	char *dir;
	int fd, r = 0;

	if ((dir = dir_of(path)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		free(dir);
		return -1;
	}
	/* Some file systems cannot sync a directory and say EINVAL: there
	 * is nothing more we could do for them. */
	if (fsync(fd) != 0 && errno != EINVAL)
		r = -1;
	close(fd);
	free(dir);
	return r;
}

/*
 * Write @p img to a temporary file beside @p path and swap it in. With a
 * tear due (store->tear_at), only half of it is written and synced before
 * the tear function runs, as a power cut in the middle of an EEPROM write.
 */
static vc_image_rc
save_image(const char *path, const uint8_t *img, size_t len, unsigned flags,
    vc_image_store *st, int *errp)
{
	char *tmp = NULL;
	size_t plen = strlen(path);
	vc_image_rc rc = VC_IMAGE_E_SYS;
	int fd = -1, err = 0, tear;

	tear = st != NULL && st->tear_at != 0 && st->commits == st->tear_at;
	if ((tmp = malloc(plen + sizeof(TEMP_TAG TEMP_X))) == NULL) {
		rc = VC_IMAGE_E_NOMEM;
		goto fail;
	}
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, TEMP_TAG TEMP_X, sizeof(TEMP_TAG TEMP_X));
	/* mkstemp: a fresh name, O_EXCL, mode 0600 (the image holds keys). */
	if ((fd = mkstemp(tmp)) < 0) {
		err = errno;
		mici_debug("%s: mkstemp %s: %s", __func__, tmp, strerror(err));
		free(tmp);
		tmp = NULL;
		goto fail;
	}
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (tear) {
		/* Half the bytes, really on disk, then the power goes. */
		if (write_all(fd, img, len / 2) == 0)
			(void)fsync(fd);
		if (st->tear != NULL)
			st->tear(st->tear_arg, st->commits);
		close(fd);
		free(tmp);
		mici_debug("%s: torn in commit %lu", __func__, st->commits);
		*errp = 0;
		return VC_IMAGE_E_TORN;
	}
	if (write_all(fd, img, len) != 0 || fsync(fd) != 0) {
		err = errno;
		mici_debug("%s: write %s: %s", __func__, tmp, strerror(err));
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		err = errno;
		mici_debug("%s: close %s: %s", __func__, tmp, strerror(err));
		goto fail;
	}
	fd = -1;
	if (flags & VC_IMAGE_NOCLOBBER) {
		/* link() refuses an existing name, atomically. */
		if (link(tmp, path) != 0) {
			err = errno;
			if (err == EEXIST)
				rc = VC_IMAGE_E_EXISTS;
			mici_debug("%s: link %s: %s", __func__, path,
			    strerror(err));
			goto fail;
		}
		(void)unlink(tmp);
	} else if (rename(tmp, path) != 0) {
		err = errno;
		mici_debug("%s: rename to %s: %s", __func__, path,
		    strerror(err));
		goto fail;
	}
	free(tmp);
	tmp = NULL;
	/* The new image is in place; only the durability of its name is
	 * left to make sure of. */
	if (sync_dir(path) != 0) {
		err = errno;
		mici_debug("%s: fsync of the directory of %s: %s", __func__,
		    path, strerror(err));
		*errp = err;
		return VC_IMAGE_E_SYS;
	}
	*errp = 0;
	return VC_IMAGE_OK;
fail:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL) {
		(void)unlink(tmp);
		free(tmp);
	}
	*errp = err;
	return rc;
}

/* Encode and save; errno-style detail in *errp. */
static vc_image_rc
encode_and_save(const char *path, const uint8_t *nv, size_t nv_len,
    unsigned flags, vc_image_store *st, int *errp)
{
	uint8_t *img = NULL;
	size_t cap, len = 0;
	vc_image_rc rc;

	*errp = 0;
	if (path == NULL || nv == NULL || nv_len == 0)
		return VC_IMAGE_E_ARG;
	if (nv_len > VC_IMAGE_NV_MAX) {
		mici_debug("%s: nv state of %zu bytes", __func__, nv_len);
		return VC_IMAGE_E_LENGTH;
	}
	cap = vc_image_size(nv_len);
	if ((img = malloc(cap)) == NULL)
		return VC_IMAGE_E_NOMEM;
	if ((rc = vc_image_encode(nv, nv_len, img, cap, &len)) == VC_IMAGE_OK)
		rc = save_image(path, img, len, flags, st, errp);
	mici_wipe(img, cap);
	free(img);
	return rc;
}

vc_image_rc
vc_image_save(const char *path, const uint8_t *nv, size_t nv_len,
    unsigned flags)
{
	vc_image_rc rc;
	int err = 0;

	rc = encode_and_save(path, nv, nv_len, flags, NULL, &err);
	errno = err;
	return rc;
}

mic_rc
vc_image_commit(void *arg, const uint8_t *nv, size_t len)
{
	vc_image_store *st = arg;
	vc_image_rc rc;
	int err = 0;

	if (st == NULL || st->path == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	st->commits++;
	rc = encode_and_save(st->path, nv, len, 0, st, &err);
	st->last = rc;
	st->last_errno = err;
	if (rc != VC_IMAGE_OK) {
		mici_debug("%s: commit %lu to %s: %s", __func__, st->commits,
		    st->path, vc_image_strerror(rc));
		return MIC_ERR_IO;
	}
	return MIC_OK;
}

/* Is @p name "<base>.tmp-" followed by exactly the six mkstemp letters? */
static int
is_temp_of(const char *name, const char *base, size_t blen)
{
	size_t tlen = sizeof(TEMP_TAG) - 1, xlen = sizeof(TEMP_X) - 1;

	return strlen(name) == blen + tlen + xlen &&
	    strncmp(name, base, blen) == 0 &&
	    strncmp(name + blen, TEMP_TAG, tlen) == 0;
}

int
vc_image_clean_temps(const char *path)
{
	const char *base;
	char *dir;
	DIR *d;
	struct dirent *e;
	size_t blen;
	int n = 0;

	if (path == NULL || (dir = dir_of(path)) == NULL)
		return -1;
	base = strrchr(path, '/');
	base = base == NULL ? path : base + 1;
	blen = strlen(base);
	if ((d = opendir(dir)) == NULL) {
		mici_debug("%s: opendir %s: %s", __func__, dir,
		    strerror(errno));
		free(dir);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (!is_temp_of(e->d_name, base, blen))
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	free(dir);
	return n;
}
