/*
 * Lookups in the national code tables, and the date rules every part of
 * the profile shares. The tables themselves are generated (tables.c).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "mici.h"

static int
entry_cmp(const void *key, const void *elem)
{
	const mic_code_entry *e = elem;

	return strcmp(key, e->code);
}

static const mic_code_entry *
find_exact(mic_code_table table, const char *code)
{
	const mic_code_entry *rows;
	size_t n;

	if (code == NULL || (rows = mici_code_entries(table, &n)) == NULL)
		return NULL;
	return bsearch(code, rows, n, sizeof(*rows), entry_cmp);
}

/* The province row of a 6-digit region code: its first two digits, 0000. */
static const mic_code_entry *
province_of(const char *code)
{
	char prov[MIC_REGION_LEN + 1];

	memcpy(prov, code, 2);
	memcpy(prov + 2, "0000", 5);

	return find_exact(MIC_CODE_PROVINCE, prov);
}

static int
region_valid(const char *code)
{
	return strlen(code) == MIC_REGION_LEN &&
	    mici_digits(code, MIC_REGION_LEN) && province_of(code) != NULL;
}

int
mic_code_valid(mic_code_table table, const char *code)
{
	if (code == NULL)
		return 0;
	if (table == MIC_CODE_REGION)
		return region_valid(code);

	return find_exact(table, code) != NULL;
}

const mic_code_entry *
mic_code_find(mic_code_table table, const char *code)
{
	return find_exact(table, code);
}

const char *
mic_code_name(mic_code_table table, const char *code, mic_lang lang)
{
	const mic_code_entry *e;

	if ((e = find_exact(table, code)) == NULL)
		return NULL;
	switch (lang) {
	case MIC_LANG_ZH:
		return e->name_zh;
	case MIC_LANG_EN:
		return e->name_en;
	}

	return NULL;
}

size_t
mic_code_count(mic_code_table table)
{
	size_t n = 0;

	mici_code_entries(table, &n);
	return n;
}

const mic_code_entry *
mic_code_at(mic_code_table table, size_t i)
{
	const mic_code_entry *rows;
	size_t n;

	if ((rows = mici_code_entries(table, &n)) == NULL || i >= n)
		return NULL;
	return &rows[i];
}

mic_rc
mic_region_names(const char *code, mic_lang lang, const char **province,
    const char **prefecture)
{
	char pref[MIC_REGION_LEN + 1];

	if (province != NULL)
		*province = NULL;
	if (prefecture != NULL)
		*prefecture = NULL;
	if (province == NULL || prefecture == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (code == NULL || !region_valid(code)) {
		mici_debug("%s: not a region code", __func__);
		return MIC_ERR_CODE;
	}
	*province = mic_code_name(MIC_CODE_PROVINCE, province_of(code)->code,
	    lang);
	if (memcmp(code + 2, "0000", 4) == 0)
		return MIC_OK;
	memcpy(pref, code, 4);
	memcpy(pref + 4, "00", 3);
	*prefecture = mic_code_name(MIC_CODE_PREFECTURE, pref, lang);

	return MIC_OK;
}

int
mici_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
	}
	return 1;
}

static unsigned
num(const char *s, size_t n)
{
	unsigned v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	return v;
}

static unsigned
days_in_month(unsigned y, unsigned m)
{
	static const unsigned char days[12] = { 31, 28, 31, 30, 31, 30, 31,
		31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

int
mici_date_real(const char *s, size_t n)
{
	unsigned y, m, d;

	if (n != 8 && n != 14)
		return 0;
	y = num(s, 4);
	m = num(s + 4, 2);
	d = num(s + 6, 2);
	/* Year 0000 is no year of the Gregorian calendar as cards use it. */
	if (y == 0 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return 0;
	if (n == 14 && (num(s + 8, 2) > 23 || num(s + 10, 2) > 59 ||
	    num(s + 12, 2) > 59))
		return 0;

	return 1;
}

mic_rc
mici_today(char out[9])
{
	struct tm tm;
	time_t now = time(NULL);

	if (now == (time_t)-1 || localtime_r(&now, &tm) == NULL ||
	    strftime(out, 9, "%Y%m%d", &tm) != 8) {
		mici_debug("%s: no local date", __func__);
		return MIC_ERR_INTERNAL;
	}

	return MIC_OK;
}
