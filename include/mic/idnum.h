/*
 * libmic: citizen identity numbers (公民身份号码), GB 11643-1999.
 *
 * On the card the social security number is the holder's citizen identity
 * number: 18 characters, an address code (6 digits), a birth date YYYYMMDD
 * (8), a sequence code (3; the 17th digit is odd for men, even for women)
 * and a check character, ISO 7064 MOD 11-2 over the first 17, a digit or
 * X (for 10).
 *
 * Each way a number can be wrong has its own mic_rc, and mic_idnum_check()
 * fills a mic_idnum_info with the detail, so a batch validator can say
 * "line 12: ID number check character is 7, expected 6".
 */
#ifndef MIC_IDNUM_H
#define MIC_IDNUM_H

#include <stddef.h>

#include <mic/err.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MIC_IDNUM_LEN 18       /**< characters of a GB 11643-1999 number */
#define MIC_IDNUM_LEN_1989 15  /**< characters of a GB 11643-1989 number */

/** What mic_idnum_check() found; fields not reached are zero. */
typedef struct mic_idnum_info {
	/** The number in canonical form (upper-case X), NUL-terminated. */
	char number[MIC_IDNUM_LEN + 1];
	/** Positions 7-14, YYYYMMDD, once positions 1-17 are digits. */
	char birth_date[9];
	/** GB/T 2261.1 gender the 17th digit gives: '1' male, '2' female. */
	char gender;
	/** The check character positions 1-17 call for ('0'-'9' or 'X'). */
	char check_expected;
	/** The check character the number has, upper-cased. */
	char check_found;
	/** MIC_ERR_IDNUM_CHAR: 1-based position of the first bad character. */
	size_t bad_pos;
	/** The length of the input in bytes (up to MIC_IDNUM_LEN + 1). */
	size_t len;
} mic_idnum_info;

/**
 * Validate an 18-character citizen identity number. Checks, in this order:
 * the length, the characters (17 digits, then a digit, 'X' or 'x'), the
 * MOD 11-2 check character, the birth date (a real Gregorian date, year
 * 0001 or later), the birth date against @p today, and the address code's
 * first two digits against the GB/T 2260 provinces (plus 83, the prefix of
 * residence permits of Taiwan residents, see libmic/data/id-number.md).
 * The full address code is not checked: a number keeps the code of a
 * division that has since been abolished.
 *
 * @param s      the number, NUL-terminated; a lower-case x is accepted
 * @param today  the reference date, "YYYYMMDD": the birth date may not be
 *               after it; NULL skips that check
 * @param info   filled with what was found, even on failure; may be NULL
 * @retval MIC_OK                    valid; @p info->number is canonical
 * @retval MIC_ERR_INVALID_ARGUMENT  @p s NULL, or @p today not a real date
 * @retval MIC_ERR_IDNUM_LENGTH      not 18 characters
 * @retval MIC_ERR_IDNUM_CHAR        a character other than the digits and
 *                                   a final X (see @p info->bad_pos)
 * @retval MIC_ERR_IDNUM_CHECK       the check character is @p
 *                                   info->check_found, not @p
 *                                   info->check_expected
 * @retval MIC_ERR_IDNUM_DATE        positions 7-14 are not a real date
 * @retval MIC_ERR_IDNUM_FUTURE      the birth date is after @p today
 * @retval MIC_ERR_IDNUM_REGION      the first two digits are no province
 */
mic_rc mic_idnum_check(const char *s, const char *today, mic_idnum_info *info);

/**
 * The MOD 11-2 check character of the 17 digits at @p body (further
 * characters are ignored).
 * @retval MIC_OK                    @p *check is '0'-'9' or 'X'
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL pointers
 * @retval MIC_ERR_IDNUM_LENGTH      fewer than 17 characters
 * @retval MIC_ERR_IDNUM_CHAR        a non-digit among the 17
 */
mic_rc mic_idnum_check_char(const char *body, char *check);

/**
 * Convert a 15-digit GB 11643-1989 number to 18 characters: the century
 * "19" goes before its YYMMDD and the check character after it. The address
 * code is kept as it is. The 1989 standard gave centenarians special
 * sequence codes, whose holders were born in the 1800s; such a number
 * converts to a 19xx birth date here and needs review by hand.
 *
 * @param s    15 digits, NUL-terminated
 * @param out  receives 18 characters and a NUL
 * @param cap  size of @p out, at least MIC_IDNUM_LEN + 1
 * @retval MIC_OK
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL pointers
 * @retval MIC_ERR_BUFFER_TOO_SMALL  @p cap < MIC_IDNUM_LEN + 1
 * @retval MIC_ERR_IDNUM_LENGTH      not 15 characters
 * @retval MIC_ERR_IDNUM_CHAR        a non-digit
 * @retval MIC_ERR_IDNUM_DATE        19YYMMDD is not a real date
 * @retval MIC_ERR_IDNUM_REGION      the first two digits are no province
 */
mic_rc mic_idnum_from_1989(const char *s, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
