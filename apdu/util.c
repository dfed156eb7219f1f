#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void
mici_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

int
mici_debug_enabled(void)
{
	/* Read on each use instead of cached: no global mutable state. */
	const char *v = getenv("MIC_DEBUG");
	return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}

void
mici_debug(const char *fmt, ...)
{
	va_list ap;

	if (!mici_debug_enabled())
		return;
	fputs("libmic: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
mici_why(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
}

int
mici_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

mic_rc
mici_hex_decode(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = 0;
	int hi = -1;

	if (s == NULL || len == NULL || (out == NULL && cap > 0))
		return MIC_ERR_INVALID_ARGUMENT;
	for (; *s != '\0'; s++) {
		int v;
		if (*s == ' ' || *s == '\t' || *s == ':') {
			/* Separators only between bytes, never inside one. */
			if (hi >= 0)
				return MIC_ERR_INVALID_ARGUMENT;
			continue;
		}
		if ((v = mici_hexval((unsigned char)*s)) < 0)
			return MIC_ERR_INVALID_ARGUMENT;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n >= cap)
			return MIC_ERR_BUFFER_TOO_SMALL;
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	if (hi >= 0)
		return MIC_ERR_INVALID_ARGUMENT;
	*len = n;
	return MIC_OK;
}
