/*
 * The settlement file (docs/settlement.md): one JSON object a line, each
 * a receipt and its card certificate, appended by the terminal and read
 * by the back office.
 *
 * The file is the terminal's proof of the day's payments, so it is a
 * private file (privfile.c's rules) and every line is on disk before the
 * payment is reported done. A line torn by a power cut stays a malformed
 * line of its own: the next append starts on a fresh line.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include <mic/journal.h>
#include <mic/pki.h>
#include <mic/receipt.h>

#include "internal.h"
#include "mici.h"

#define FORMAT_VERSION 1

struct mic_settle {
	FILE *fp;
	char *buf;
	size_t cap;
	size_t line;
};

static char *
hex(const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(2 * n + 1);

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 0x0F];
	}
	s[2 * n] = '\0';
	return s;
}

static int
nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Lower-case hex only, so one byte string has one spelling. */
static int
unhex(const char *s, size_t n, uint8_t *out, size_t cap, size_t *len)
{
	if (n == 0 || n % 2 != 0 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}

/* The DER length of the certificate at the start of @p cert, or 0. */
static size_t
der_len(const uint8_t *cert, size_t len)
{
	size_t n, hdr;

	if (len < 4 || cert[0] != 0x30)
		return 0;
	if (cert[1] == 0x82) {
		n = (size_t)cert[2] << 8 | cert[3];
		hdr = 4;
	} else if (cert[1] == 0x81) {
		n = cert[2];
		hdr = 3;
	} else {
		return 0;
	}
	return hdr + n <= len ? hdr + n : 0;
}

static char *
make_line(const mic_receipt_t *r, const uint8_t *cert, size_t cert_len)
{
	const uint8_t *enc;
	size_t enc_len;
	char *rh = NULL, *ch = NULL, *out = NULL;
	json_t *o = NULL;

	enc = mic_receipt_encoding(r, &enc_len);
	if ((rh = hex(enc, enc_len)) == NULL ||
	    (ch = hex(cert, cert_len)) == NULL)
		goto fail;
	o = json_pack("{s:i, s:s, s:s, s:s, s:s}", "v", FORMAT_VERSION,
	    "card", mic_receipt_card_id(r), "terminal", mic_receipt_terminal(r),
	    "receipt", rh, "cert", ch);
	if (o == NULL)
		goto fail;
	out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
fail:
	json_decref(o);
	free(rh);
	free(ch);
	return out;
}

/* Does the file end in a newline (or is it empty)? */
static mic_rc
ends_clean(const char *path, int wfd, int *clean)
{
	struct stat ws, rs;
	char c = '\n';
	int fd;

	*clean = 1;
	if (fstat(wfd, &ws) != 0)
		return MIC_ERR_IO;
	if (ws.st_size == 0)
		return MIC_OK;
	/* The write side is O_WRONLY; read the last byte through the same
	 * file, checked to be the one just opened. */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return MIC_ERR_IO;
	if (fstat(fd, &rs) != 0 || rs.st_dev != ws.st_dev ||
	    rs.st_ino != ws.st_ino ||
	    pread(fd, &c, 1, ws.st_size - 1) != 1) {
		close(fd);
		return MIC_ERR_IO;
	}
	close(fd);
	*clean = c == '\n';
	return MIC_OK;
}

static mic_rc
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return MIC_ERR_IO;
		p += w;
		n -= (size_t)w;
	}
	return MIC_OK;
}

/* A new file's name is durable only once its directory is. */
static mic_rc
sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, ok;

	if (copy == NULL)
		return MIC_ERR_NOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return MIC_ERR_IO;
	ok = fsync(fd) == 0;
	close(fd);
	return ok ? MIC_OK : MIC_ERR_IO;
}

mic_rc
mic_settle_append(const char *path, const mic_receipt_t *r,
    const uint8_t *cert, size_t cert_len, char *why, size_t cap)
{
	struct stat st;
	char *line = NULL;
	size_t n;
	int fd = -1, fresh, clean;
	mic_rc rc;

	if (why != NULL && cap > 0)
		*why = '\0';
	if (path == NULL || r == NULL || cert == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if ((n = der_len(cert, cert_len)) == 0 || n > MIC_CERT_MAX) {
		mici_why(why, cap, "the card certificate is not one DER "
		    "certificate");
		return MIC_ERR_CERT_FORMAT;
	}
	if ((line = make_line(r, cert, n)) == NULL)
		return MIC_ERR_NOMEM;
	fresh = lstat(path, &st) != 0 && errno == ENOENT;
	if ((rc = mic_private_file_open(path, 0, &fd, why, cap)) != MIC_OK)
		goto fail;
	if ((rc = ends_clean(path, fd, &clean)) != MIC_OK) {
		mici_why(why, cap, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if ((!clean && (rc = write_all(fd, "\n", 1)) != MIC_OK) ||
	    (rc = write_all(fd, line, strlen(line))) != MIC_OK ||
	    (rc = write_all(fd, "\n", 1)) != MIC_OK) {
		mici_why(why, cap, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (fsync(fd) != 0 || (fresh && sync_dir(path) != MIC_OK)) {
		mici_why(why, cap, "%s: fsync: %s", path, strerror(errno));
		rc = MIC_ERR_IO;
		goto fail;
	}
	rc = MIC_OK;
fail:
	if (fd >= 0)
		close(fd);
	free(line);
	return rc;
}

/* A string member @p key of @p o, or NULL with @p why said. */
static const char *
member(json_t *o, const char *key, size_t *len, char *why, size_t cap)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL) {
		mici_why(why, cap, "field \"%s\" is missing", key);
		return NULL;
	}
	if (!json_is_string(v)) {
		mici_why(why, cap, "field \"%s\" is not a string", key);
		return NULL;
	}
	*len = json_string_length(v);
	return json_string_value(v);
}

static mic_rc
parse_obj(json_t *o, mic_receipt_t **r, uint8_t *cert, size_t cap,
    size_t *cert_len, char *why, size_t why_cap)
{
	static const char *const known[] = { "v", "card", "terminal",
	    "receipt", "cert" };
	uint8_t enc[MIC_RECEIPT_MAX];
	const char *key, *s, *card, *term;
	size_t n, enc_len, card_len, term_len;
	json_t *v;
	mic_rc rc;

	if (!json_is_object(o)) {
		mici_why(why, why_cap, "not a JSON object");
		return MIC_ERR_SETTLE_LINE;
	}
	json_object_foreach(o, key, v) {
		size_t i;

		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (i == sizeof(known) / sizeof(known[0])) {
			mici_why(why, why_cap, "unknown field \"%.40s\"", key);
			return MIC_ERR_SETTLE_LINE;
		}
	}
	v = json_object_get(o, "v");
	if (v == NULL || !json_is_integer(v) ||
	    json_integer_value(v) != FORMAT_VERSION) {
		mici_why(why, why_cap, "field \"v\" is missing or not 1");
		return MIC_ERR_SETTLE_LINE;
	}
	if ((card = member(o, "card", &card_len, why, why_cap)) == NULL ||
	    (term = member(o, "terminal", &term_len, why, why_cap)) == NULL)
		return MIC_ERR_SETTLE_LINE;
	if ((s = member(o, "receipt", &n, why, why_cap)) == NULL)
		return MIC_ERR_SETTLE_LINE;
	if (unhex(s, n, enc, sizeof(enc), &enc_len) < 0) {
		mici_why(why, why_cap, "field \"receipt\" is not lower-case hex of "
		    "at most %d bytes", MIC_RECEIPT_MAX);
		return MIC_ERR_SETTLE_LINE;
	}
	if ((s = member(o, "cert", &n, why, why_cap)) == NULL)
		return MIC_ERR_SETTLE_LINE;
	if (unhex(s, n, cert, cap, cert_len) < 0 ||
	    der_len(cert, *cert_len) != *cert_len) {
		mici_why(why, why_cap, "field \"cert\" is not lower-case hex of one "
		    "DER certificate");
		return MIC_ERR_SETTLE_LINE;
	}
	if ((rc = mic_receipt_decode(r, enc, enc_len)) != MIC_OK) {
		mici_why(why, why_cap, "field \"receipt\": %s", mic_strerror(rc));
		return rc;
	}
	/* The readable copies must say what the signed receipt says. */
	if (card_len != strlen(mic_receipt_card_id(*r)) ||
	    memcmp(card, mic_receipt_card_id(*r), card_len) != 0 ||
	    term_len != strlen(mic_receipt_terminal(*r)) ||
	    memcmp(term, mic_receipt_terminal(*r), term_len) != 0) {
		mici_why(why, why_cap, "field \"card\" or \"terminal\" differs from "
		    "the receipt's");
		mic_receipt_free(r);
		return MIC_ERR_SETTLE_LINE;
	}
	return MIC_OK;
}

mic_rc
mic_settle_parse_line(const char *line, size_t len, mic_receipt_t **r,
    uint8_t *cert, size_t cap, size_t *cert_len, char *why, size_t why_cap)
{
	json_error_t jerr;
	json_t *o;
	mic_rc rc;

	if (why != NULL && why_cap > 0)
		*why = '\0';
	if (r == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	*r = NULL;
	if (line == NULL || cert == NULL || cert_len == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	*cert_len = 0;
	if (len > MIC_SETTLE_LINE_MAX) {
		mici_why(why, why_cap, "longer than %d bytes", MIC_SETTLE_LINE_MAX);
		return MIC_ERR_SETTLE_LINE;
	}
	if ((o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		mici_why(why, why_cap, "not JSON: %s", jerr.text);
		return MIC_ERR_SETTLE_LINE;
	}
	rc = parse_obj(o, r, cert, cap, cert_len, why, why_cap);
	json_decref(o);
	return rc;
}

mic_rc
mic_settle_open(mic_settle_t **out, const char *path)
{
	struct mic_settle *s;

	if (out == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if (path == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return MIC_ERR_NOMEM;
	if ((s->fp = fopen(path, "re")) == NULL) {
		int err = errno;

		free(s);
		return err == ENOENT ? MIC_ERR_NOT_FOUND : MIC_ERR_IO;
	}
	*out = s;
	return MIC_OK;
}

mic_rc
mic_settle_next(mic_settle_t *s, mic_receipt_t **r, uint8_t *cert,
    size_t cap, size_t *cert_len, size_t *line, char *why, size_t why_cap)
{
	ssize_t n;

	if (r != NULL)
		*r = NULL;
	if (s == NULL || r == NULL || line == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	errno = 0;
	if ((n = getline(&s->buf, &s->cap, s->fp)) < 0)
		return errno != 0 && ferror(s->fp) ? MIC_ERR_IO :
		    MIC_ERR_NOT_FOUND;
	*line = ++s->line;
	if (n > 0 && s->buf[n - 1] == '\n')
		n--;
	else {
		/* The last line of a file torn mid-append. */
		if (why != NULL && why_cap > 0)
			mici_why(why, why_cap, "no newline at the end: a line "
			    "torn while it was written");
		return MIC_ERR_SETTLE_LINE;
	}
	return mic_settle_parse_line(s->buf, (size_t)n, r, cert, cap,
	    cert_len, why, why_cap);
}

void
mic_settle_free(mic_settle_t **s)
{
	if (s == NULL || *s == NULL)
		return;
	if ((*s)->fp != NULL)
		fclose((*s)->fp);
	free((*s)->buf);
	free(*s);
	*s = NULL;
}
