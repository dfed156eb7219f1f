/*
 * Names as people and screens see them (docs/issuance.md 1.1, the name
 * rule): no blank of any Unicode kind at either end, no invisible or
 * direction-changing character anywhere, and Normalization Form C. Two
 * names that look the same must be the same bytes, or one holder could be
 * given two cards under two "different" names, and a name could display
 * reversed (U+202E) or padded on a receipt.
 *
 * The NFC check normalizes the name (canonical decomposition, canonical
 * ordering, canonical composition: UAX #15) and compares. A name is at
 * most MIC_NAME_MAX bytes, so this is a few hundred steps at most; the
 * tables (nfc_table.h) come from the UCD by gen_nfc.py.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mici.h"

struct nfc_ccc {
	uint32_t lo, hi;
	uint8_t ccc;
};

struct nfc_decomp {
	uint32_t cp, a, b;   /* b = 0: a one-code-point (singleton) mapping */
};

struct nfc_comp {
	uint32_t a, b, cp;
};

#include "nfc_table.h"

/* Hangul syllables, Unicode 3.12. */
#define S_BASE 0xAC00u
#define L_BASE 0x1100u
#define V_BASE 0x1161u
#define T_BASE 0x11A7u
#define L_COUNT 19u
#define V_COUNT 21u
#define T_COUNT 28u
#define N_COUNT (V_COUNT * T_COUNT)
#define S_COUNT (L_COUNT * N_COUNT)

/* Code points a name holds at most, decomposed (a byte is at most one
 * code point, and a decomposition at most four: Hangul LVT, or one of
 * the few 4-deep compositions). */
#define CP_MAX (4 * 256)

static unsigned
ccc_of(uint32_t c)
{
	size_t lo = 0, hi = MIC_ARRAY_LEN(nfc_ccc);

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (c < nfc_ccc[mid].lo)
			hi = mid;
		else if (c > nfc_ccc[mid].hi)
			lo = mid + 1;
		else
			return nfc_ccc[mid].ccc;
	}
	return 0;
}

static const struct nfc_decomp *
decomp_of(uint32_t c)
{
	size_t lo = 0, hi = MIC_ARRAY_LEN(nfc_decomp);

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (c < nfc_decomp[mid].cp)
			hi = mid;
		else if (c > nfc_decomp[mid].cp)
			lo = mid + 1;
		else
			return &nfc_decomp[mid];
	}
	return NULL;
}

/* The primary composite of a + b, or 0. */
static uint32_t
compose(uint32_t a, uint32_t b)
{
	size_t lo = 0, hi = MIC_ARRAY_LEN(nfc_comp);

	if (a >= L_BASE && a < L_BASE + L_COUNT && b >= V_BASE &&
	    b < V_BASE + V_COUNT)
		return S_BASE + ((a - L_BASE) * V_COUNT + (b - V_BASE)) *
		    T_COUNT;
	if (a >= S_BASE && a < S_BASE + S_COUNT && (a - S_BASE) % T_COUNT == 0 &&
	    b > T_BASE && b < T_BASE + T_COUNT)
		return a + (b - T_BASE);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (a < nfc_comp[mid].a || (a == nfc_comp[mid].a &&
		    b < nfc_comp[mid].b))
			hi = mid;
		else if (a > nfc_comp[mid].a || b > nfc_comp[mid].b)
			lo = mid + 1;
		else
			return nfc_comp[mid].cp;
	}
	return 0;
}

/* Append the full canonical decomposition of @p c; -1 when full. */
static int
decompose(uint32_t c, uint32_t *out, size_t cap, size_t *n, unsigned depth)
{
	const struct nfc_decomp *d;

	if (c >= S_BASE && c < S_BASE + S_COUNT) {
		uint32_t s = c - S_BASE, t = s % T_COUNT;

		if (*n + 3 > cap)
			return -1;
		out[(*n)++] = L_BASE + s / N_COUNT;
		out[(*n)++] = V_BASE + (s % N_COUNT) / T_COUNT;
		if (t != 0)
			out[(*n)++] = T_BASE + t;
		return 0;
	}
	if ((d = decomp_of(c)) == NULL || depth > 8) {
		if (*n >= cap)
			return -1;
		out[(*n)++] = c;
		return 0;
	}
	if (decompose(d->a, out, cap, n, depth + 1) != 0)
		return -1;
	return d->b == 0 ? 0 : decompose(d->b, out, cap, n, depth + 1);
}

/* Strict UTF-8 (the caller checked it) to code points. */
static size_t
utf8_decode(const uint8_t *s, size_t n, uint32_t *out, size_t cap)
{
	size_t i = 0, k = 0, len, j;
	uint32_t c;

	while (i < n && k < cap) {
		len = s[i] < 0x80 ? 1 : s[i] < 0xE0 ? 2 : s[i] < 0xF0 ? 3 : 4;
		c = len == 1 ? s[i] : len == 2 ? s[i] & 0x1Fu : len == 3 ?
		    s[i] & 0x0Fu : s[i] & 0x07u;
		for (j = 1; j < len && i + j < n; j++)
			c = c << 6 | (s[i + j] & 0x3Fu);
		out[k++] = c;
		i += len;
	}
	return k;
}

int
mici_text_nfc(const uint32_t *cp, size_t n)
{
	uint32_t buf[CP_MAX], starter, c;
	size_t m = 0, i, j, spos, out;
	unsigned last, cc;

	for (i = 0; i < n; i++)
		if (decompose(cp[i], buf, CP_MAX, &m, 0) != 0)
			return 0;
	/* Canonical ordering: a stable sort of each run of non-starters. */
	for (i = 1; i < m; i++) {
		cc = ccc_of(buf[i]);
		if (cc == 0)
			continue;
		for (j = i; j > 0 && ccc_of(buf[j - 1]) > cc; j--) {
			c = buf[j];
			buf[j] = buf[j - 1];
			buf[j - 1] = c;
		}
	}
	/* Canonical composition. */
	if (m == 0)
		return n == 0;
	starter = buf[0];
	spos = 0;
	last = ccc_of(starter) != 0 ? 256 : 0;
	out = 1;
	for (i = 1; i < m; i++) {
		c = buf[i];
		cc = ccc_of(c);
		if ((last < cc || last == 0) && (starter = compose(buf[spos],
		    c)) != 0) {
			buf[spos] = starter;
			continue;
		}
		if (cc == 0)
			spos = out;
		last = cc;
		buf[out++] = c;
	}
	if (out != n)
		return 0;
	for (i = 0; i < n; i++)
		if (buf[i] != cp[i])
			return 0;
	return 1;
}

/* White_Space (PropList.txt), every kind of blank a name could end in. */
static int
is_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 ||
	    c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
	    c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
	    c == 0x3000;
}

/*
 * Characters that show nothing or change the direction of what follows:
 * zero-width spaces and joiners, the word joiner and invisible operators,
 * the bidirectional marks, embeddings, overrides and isolates, the
 * byte-order mark, the soft hyphen, the Mongolian vowel separator.
 */
static int
is_invisible(uint32_t c)
{
	return c == 0x00AD || c == 0x061C || c == 0x180E ||
	    (c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) ||
	    (c >= 0x2060 && c <= 0x2064) || (c >= 0x2066 && c <= 0x2069) ||
	    c == 0xFEFF;
}

mic_rc
mici_name_check(const char *s, size_t n, const char **why)
{
	uint32_t cp[256];
	size_t k, i;

	*why = NULL;
	/* Too long, or not UTF-8: the length and UTF-8 rules refuse it. */
	if (n > sizeof(cp) / sizeof(cp[0]) ||
	    !mici_utf8_ok((const uint8_t *)s, n))
		return MIC_OK;
	k = utf8_decode((const uint8_t *)s, n, cp, sizeof(cp) / sizeof(cp[0]));
	if (k > 0 && (is_space(cp[0]) || is_space(cp[k - 1]))) {
		*why = "has a leading or trailing blank";
		return MIC_ERR_FORMAT;
	}
	for (i = 0; i < k; i++)
		if (is_invisible(cp[i])) {
			*why = "holds an invisible or direction-changing "
			    "character";
			return MIC_ERR_UTF8;
		}
	if (!mici_text_nfc(cp, k)) {
		*why = "is not in Unicode Normalization Form C (NFC)";
		return MIC_ERR_UTF8;
	}
	return MIC_OK;
}
