/*
 * Citizen identity numbers, GB 11643-1999, and the conversion of the
 * 15-digit numbers of GB 11643-1989.
 */
#include <string.h>

#include <mic/idnum.h>

#include "internal.h"
#include "mici.h"

#define BODY_LEN 17

/*
 * ISO 7064 MOD 11-2: weight of position i is 2^(18-i) mod 11, and the
 * check character maps the weighted sum mod 11 so that the full sum, with
 * X as 10 and weight 1 at position 18, is 1 mod 11.
 */
static const unsigned char weight[BODY_LEN] = { 7, 9, 10, 5, 8, 4, 2, 1, 6,
	3, 7, 9, 10, 5, 8, 4, 2 };
static const char check_of[11] = { '1', '0', 'X', '9', '8', '7', '6', '5',
	'4', '3', '2' };

/*
 * Taiwan residents' residence permits, issued since 2018, carry 83 in the
 * place of a province (Taiwan itself is 71 in GB/T 2260). Single-sourced;
 * see libmic/data/id-number.md.
 */
#define PREFIX_TW_PERMIT "83"

static char
mod11_2(const char *body)
{
	unsigned sum = 0;
	size_t i;

	for (i = 0; i < BODY_LEN; i++)
		sum += (unsigned)(body[i] - '0') * weight[i];
	return check_of[sum % 11];
}

int
mici_idnum_prefix_ok(const char *prefix)
{
	char prov[MIC_REGION_LEN + 1];

	if (memcmp(prefix, PREFIX_TW_PERMIT, 2) == 0)
		return 1;
	memcpy(prov, prefix, 2);
	memcpy(prov + 2, "0000", 5);

	return mic_code_valid(MIC_CODE_PROVINCE, prov);
}

/* Length and characters; fills info->len and info->bad_pos. */
static mic_rc
check_chars(const char *s, int allow_lower, mic_idnum_info *info)
{
	size_t i;

	info->len = strnlen(s, MIC_IDNUM_LEN + 1);
	if (info->len != MIC_IDNUM_LEN) {
		mici_debug("%s: %zu characters", __func__, info->len);
		return MIC_ERR_IDNUM_LENGTH;
	}
	for (i = 0; i < MIC_IDNUM_LEN; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			continue;
		if (i == BODY_LEN && (c == 'X' || (allow_lower && c == 'x')))
			continue;
		info->bad_pos = i + 1;
		mici_debug("%s: character %zu", __func__, i + 1);
		return MIC_ERR_IDNUM_CHAR;
	}

	return MIC_OK;
}

static mic_rc
check_today(const char *today)
{
	if (today == NULL)
		return MIC_OK;
	if (strnlen(today, 9) != 8 || !mici_digits(today, 8) ||
	    !mici_date_real(today, 8)) {
		mici_debug("%s: reference date is not YYYYMMDD", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}

	return MIC_OK;
}

mic_rc
mici_idnum_check(const char *s, const char *today, int allow_lower,
    mic_idnum_info *info)
{
	mic_idnum_info scratch;
	mic_rc rc;

	if (info == NULL)
		info = &scratch;
	memset(info, 0, sizeof(*info));
	if (s == NULL) {
		mici_debug("%s: NULL number", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((rc = check_today(today)) != MIC_OK)
		return rc;
	if ((rc = check_chars(s, allow_lower, info)) != MIC_OK)
		return rc;
	/* From here on the detail is known, whatever fails next. */
	memcpy(info->number, s, MIC_IDNUM_LEN);
	if (info->number[BODY_LEN] == 'x')
		info->number[BODY_LEN] = 'X';
	memcpy(info->birth_date, s + 6, 8);
	info->gender = (s[16] - '0') % 2 == 1 ? '1' : '2';
	info->check_expected = mod11_2(s);
	info->check_found = info->number[BODY_LEN];
	if (info->check_found != info->check_expected) {
		mici_debug("%s: check character %c, expected %c", __func__,
		    info->check_found, info->check_expected);
		return MIC_ERR_IDNUM_CHECK;
	}
	if (!mici_date_real(info->birth_date, 8)) {
		mici_debug("%s: birth date %s", __func__, info->birth_date);
		return MIC_ERR_IDNUM_DATE;
	}
	/* Both are 8 digits: text order is date order. */
	if (today != NULL && strcmp(info->birth_date, today) > 0) {
		mici_debug("%s: birth date %s after %s", __func__,
		    info->birth_date, today);
		return MIC_ERR_IDNUM_FUTURE;
	}
	if (!mici_idnum_prefix_ok(s)) {
		mici_debug("%s: address code %.6s", __func__, s);
		return MIC_ERR_IDNUM_REGION;
	}

	return MIC_OK;
}

mic_rc
mic_idnum_check(const char *s, const char *today, mic_idnum_info *info)
{
	return mici_idnum_check(s, today, 1, info);
}

mic_rc
mic_idnum_check_char(const char *body, char *check)
{
	if (body == NULL || check == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (strnlen(body, BODY_LEN) != BODY_LEN) {
		mici_debug("%s: short body", __func__);
		return MIC_ERR_IDNUM_LENGTH;
	}
	if (!mici_digits(body, BODY_LEN)) {
		mici_debug("%s: non-digit", __func__);
		return MIC_ERR_IDNUM_CHAR;
	}
	*check = mod11_2(body);

	return MIC_OK;
}

mic_rc
mic_idnum_from_1989(const char *s, char *out, size_t cap)
{
	char num[MIC_IDNUM_LEN + 1];

	if (s == NULL || out == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (cap < sizeof(num)) {
		mici_debug("%s: cap %zu", __func__, cap);
		return MIC_ERR_BUFFER_TOO_SMALL;
	}
	if (strnlen(s, MIC_IDNUM_LEN_1989 + 1) != MIC_IDNUM_LEN_1989) {
		mici_debug("%s: not 15 characters", __func__);
		return MIC_ERR_IDNUM_LENGTH;
	}
	if (!mici_digits(s, MIC_IDNUM_LEN_1989)) {
		mici_debug("%s: non-digit", __func__);
		return MIC_ERR_IDNUM_CHAR;
	}
	memcpy(num, s, 6);
	memcpy(num + 6, "19", 2);
	memcpy(num + 8, s + 6, 9);
	if (!mici_date_real(num + 6, 8)) {
		mici_debug("%s: birth date 19%.6s", __func__, s + 6);
		return MIC_ERR_IDNUM_DATE;
	}
	if (!mici_idnum_prefix_ok(s)) {
		mici_debug("%s: address code %.6s", __func__, s);
		return MIC_ERR_IDNUM_REGION;
	}
	num[BODY_LEN] = mod11_2(num);
	num[MIC_IDNUM_LEN] = '\0';
	memcpy(out, num, sizeof(num));

	return MIC_OK;
}
