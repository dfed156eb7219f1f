/*
 * Internal helpers of libmic/ shared across its files. Not installed; the
 * mici_ prefix keeps them out of the export map.
 */
#ifndef MIC_MICI_H
#define MIC_MICI_H

#include <stddef.h>
#include <stdint.h>

#include <mic/err.h>
#include <mic/idnum.h>
#include <mic/profile.h>

/** The rows of @p table, sorted by code (generated: tables.c). */
const mic_code_entry *mici_code_entries(mic_code_table table, size_t *n);

/** Are the @p n bytes at @p s all ASCII digits? */
int mici_digits(const char *s, size_t n);

/**
 * Is @p s (8 digits YYYYMMDD, or 14 digits YYYYMMDDhhmmss when @p n is 14)
 * a real Gregorian date and time, year 0001-9999? @p s must hold @p n
 * digits (mici_digits()).
 */
int mici_date_real(const char *s, size_t n);

/** Today's local date as "YYYYMMDD". @retval MIC_ERR_INTERNAL  no clock */
mic_rc mici_today(char out[9]);

/**
 * mic_idnum_check() with the choice whether a lower-case x is accepted:
 * card data holds X, a person typing may not.
 */
mic_rc mici_idnum_check(const char *s, const char *today, int allow_lower,
    mic_idnum_info *info);

/** Is @p prefix (2 digits) the address-code prefix of an ID number? */
int mici_idnum_prefix_ok(const char *prefix);

/**
 * Is @p s an identifier of the batch schema (application id, employer id):
 * 1 to @p max printable ASCII characters, no space? 0 when it is not, with
 * the 1-based position of the first bad character in @p *bad_pos (0 for a
 * bad length); @p bad_pos may be NULL.
 */
int mici_ident_ok(const char *s, size_t max, size_t *bad_pos);

/** Bytes of an ISO 9564-1 format 2 PIN block (card profile 3.4). */
#define MICI_PIN_BLOCK_LEN 8

/**
 * Encode a PIN of MIC_PIN_MIN..MIC_PIN_MAX digits as a format 2 block.
 * @retval MIC_ERR_INVALID_ARGUMENT  not 6-12 digits
 */
mic_rc mici_pin_block(const char *pin, uint8_t block[MICI_PIN_BLOCK_LEN]);

/** The transport a card was opened on (borrowed), NULL for NULL. */
struct mic_card;
struct mic_tx;
struct mic_tx *mici_card_tx(const struct mic_card *card);
/* A DEBIT, whatever its outcome, ends the PIN's verified state (profile 3.11). */
void mici_card_pin_spent(struct mic_card *card);
/*
 * The rc of a card refusing a command for its lifecycle state (6985 where
 * profile 4.3 lets only an active card do it): not active, blocked or
 * terminated; MIC_SW_CONDITIONS for an active card.
 */
mic_rc mici_state_rc(mic_state state);

/*
 * Is the key in a PKCS#11 token? Operations on it are serialized: a token
 * session is not to be shared by threads at once, while OpenSSL's own keys
 * are safe to use from several threads.
 */
struct mic_keyprov;
int mici_keyprov_on_token(const struct mic_keyprov *kp);

/*
 * Fault injection for crash tests (fault.c): true when MIC_FAULT names
 * @p point; the caller then calls mici_fault_kill(), which never returns.
 */
int mici_fault(const char *point);
void mici_fault_kill(void) __attribute__((noreturn));

/*
 * The name rule beyond UTF-8 and length (text.c): no blank of any Unicode
 * kind at either end (MIC_ERR_FORMAT), no invisible or bidirectional
 * control character, and NFC (MIC_ERR_UTF8). @p s is strict UTF-8 of @p n
 * bytes; @p why receives the reason in words, or NULL.
 */
mic_rc mici_name_check(const char *s, size_t n, const char **why);

/* Strict UTF-8 without control characters (profile.c). */
int mici_utf8_ok(const uint8_t *s, size_t n);

/* Is the code point sequence in Normalization Form C? */
int mici_text_nfc(const uint32_t *cp, size_t n);

#endif
