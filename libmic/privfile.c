/*
 * Files that hold personal data or secrets (the journal and its -wal and
 * -shm, PIN files, exports): owner-only from the first byte, and an
 * existing one is used only if it is a regular file of ours that nobody
 * else can read. A symlink planted where such a file goes, or a file
 * another user created world-writable in advance, would otherwise receive
 * names, ID numbers or PINs without anyone noticing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mic/journal.h>

#include "internal.h"
#include "mici.h"

/* Is the file @p st describes (at @p path) one we may trust with secrets? */
static mic_rc
check_stat(const char *path, const struct stat *st, char *why, size_t cap)
{
	if (S_ISLNK(st->st_mode)) {
		mici_why(why, cap, "%s is a symbolic link; refusing to follow it "
		    "for a file of personal data or secrets", path);
		return MIC_ERR_KEY_PERMISSIONS;
	}
	if (!S_ISREG(st->st_mode)) {
		mici_why(why, cap, "%s is not a regular file", path);
		return MIC_ERR_KEY_PERMISSIONS;
	}
	if (st->st_uid != geteuid()) {
		mici_why(why, cap, "%s belongs to user %ld, not to this user (%ld); "
		    "refusing a file of personal data or secrets another user "
		    "controls", path, (long)st->st_uid, (long)geteuid());
		return MIC_ERR_KEY_PERMISSIONS;
	}
	if ((st->st_mode & 077) != 0) {
		mici_why(why, cap, "%s has mode %04lo: group or others may use it; "
		    "it holds personal data or secrets (chmod 600 it, after "
		    "checking nobody changed it)", path,
		    (long)(st->st_mode & 07777));
		return MIC_ERR_KEY_PERMISSIONS;
	}
	return MIC_OK;
}

mic_rc
mic_private_file_check(const char *path, char *why, size_t cap)
{
	struct stat st;

	if (why != NULL && cap > 0)
		*why = '\0';
	if (path == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return MIC_ERR_NOT_FOUND;
		mici_why(why, cap, "%s: %s", path, strerror(errno));
		return MIC_ERR_IO;
	}
	return check_stat(path, &st, why, cap);
}

mic_rc
mic_private_file_open(const char *path, unsigned flags, int *fdp, char *why,
    size_t cap)
{
	struct stat st;
	int fd, oflags, err;
	mic_rc rc;

	if (fdp != NULL)
		*fdp = -1;
	if (why != NULL && cap > 0)
		*why = '\0';
	if (path == NULL || fdp == NULL || (flags & ~(MIC_PRIVATE_NEW |
	    MIC_PRIVATE_READ)) != 0)
		return MIC_ERR_INVALID_ARGUMENT;
	oflags = O_CLOEXEC | O_NOFOLLOW | ((flags & MIC_PRIVATE_READ) ?
	    O_RDONLY : O_WRONLY | O_APPEND | O_CREAT);
	if (flags & MIC_PRIVATE_NEW)
		oflags |= O_EXCL;
	/* 0600 from the first byte; O_NOFOLLOW: a planted symlink fails
	 * (ELOOP) instead of sending the data where it points. */
	if ((fd = open(path, oflags, 0600)) < 0) {
		err = errno;
		if (err == ELOOP) {
			mici_why(why, cap, "%s is a symbolic link; refusing to follow "
			    "it for a file of personal data or secrets", path);
			return MIC_ERR_KEY_PERMISSIONS;
		}
		mici_why(why, cap, "%s: %s%s", path, strerror(err),
		    err == EEXIST ? " (refusing to overwrite it)" : "");
		errno = err;
		return err == EEXIST ? MIC_ERR_EXISTS : err == ENOENT &&
		    (flags & MIC_PRIVATE_READ) ? MIC_ERR_NOT_FOUND : MIC_ERR_IO;
	}
	/* What was opened, not what the name says now. */
	if (fstat(fd, &st) != 0) {
		err = errno;
		close(fd);
		mici_why(why, cap, "%s: %s", path, strerror(err));
		return MIC_ERR_IO;
	}
	if ((rc = check_stat(path, &st, why, cap)) != MIC_OK) {
		close(fd);
		return rc;
	}
	*fdp = fd;
	return MIC_OK;
}
