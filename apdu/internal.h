/*
 * Internal helpers shared by apdu/, libmic/ and vcard/. Not installed.
 * Cross-file internal functions carry the mici_ prefix so that the
 * export map (mic_*) never leaks them.
 */
#ifndef MIC_INTERNAL_H
#define MIC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <mic/err.h>

#define MIC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/** Wipe memory that held a secret; the compiler may not elide it. */
void mici_wipe(void *p, size_t n);

/**
 * One debug line to stderr, when the environment has MIC_DEBUG set.
 * Failures log in the form mici_debug("%s: what failed", __func__).
 */
void mici_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Is MIC_DEBUG set? */
int mici_debug_enabled(void);

/**
 * A reason in words for the caller's @p why buffer of @p cap bytes
 * (truncated to fit); nothing when @p why is NULL or @p cap is 0.
 */
void mici_why(char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline uint16_t mici_get_u16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline void mici_put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline uint32_t mici_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}
static inline void mici_put_u32(uint8_t *p, uint32_t v)
{
	mici_put_u16(p, (uint16_t)(v >> 16));
	mici_put_u16(p + 2, (uint16_t)v);
}

/** What an ATR's historical bytes say the card can do (ISO 7816-4 12.1.1). */
typedef struct mici_atr_info {
	int protocol_t1;   /**< T=1 offered */
	int chaining;      /**< card capabilities: command chaining */
	int extended;      /**< card capabilities: extended Lc and Le */
} mici_atr_info;

/**
 * Parse an ATR (ISO 7816-3 clause 8) and the card-capabilities object in its
 * historical bytes. Input is hostile: every length is checked.
 * @retval MIC_ERR_RESPONSE  malformed or truncated ATR
 */
mic_rc mici_atr_parse(const uint8_t *atr, size_t len, mici_atr_info *out);

/**
 * Parse hex digits, ignoring spaces, tabs and ':' between bytes.
 * @retval MIC_ERR_INVALID_ARGUMENT  a non-hex character or an odd digit count
 * @retval MIC_ERR_BUFFER_TOO_SMALL  more than @p cap bytes
 */
/* The backend's I/O handle when its close operation is @p close, else NULL:
 * how a backend recognises its own mic_tx_t. */
struct mic_tx;
void *mici_tx_io(struct mic_tx *tx, void (*close)(void *));

/*
 * Mark the secure channel of @p tx lost, as if it had ended on its own:
 * transmits are refused until mic_tx_set_sm(). For a handshake that failed
 * after replacing a channel (scp.c).
 */
void mici_tx_sm_lose(struct mic_tx *tx);

/*
 * Find @p tag in a PC/SC part 10 feature list (the answer to
 * CM_IOCTL_GET_FEATURE_REQUEST: tag, length 4, a big-endian control code,
 * repeated) and store its code. Input is the reader driver's: hostile.
 * MIC_ERR_NOT_FOUND: a well-formed list without the tag; MIC_ERR_RESPONSE:
 * a malformed list (an entry cut short, a length other than 4).
 */
mic_rc mici_pcsc_feature_find(const uint8_t *buf, size_t len, uint8_t tag,
    uint32_t *code);

/* Largest PIN_VERIFY_STRUCTURE of mici_pinpad_verify_fmt2(). */
#define MICI_PINPAD_PVS_MAX 32u

/*
 * A PIN_VERIFY_STRUCTURE (PC/SC part 10) for VERIFY 00 20 00 @p p2 with an
 * ISO 9564-1 format 2 block of @p min_digits to @p max_digits digits typed
 * on the reader's pad, @p timeout_s seconds to type (0: the reader's).
 */
mic_rc mici_pinpad_verify_fmt2(uint8_t p2, unsigned min_digits,
    unsigned max_digits, uint8_t timeout_s, uint8_t *out, size_t cap,
    size_t *len);

/*
 * Send a PIN_VERIFY_STRUCTURE to the reader's FEATURE_VERIFY_PIN_DIRECT
 * in an implicit transaction; *sw is the card's status word, or the
 * reader's own (6400 timeout, 6401 cancelled, 6403 PIN length wrong).
 * The command is not wrapped by a secure messaging layer: the reader sends
 * it in plain. MIC_ERR_UNSUPPORTED without a pad; MIC_ERR_SM_CLOSED when a
 * channel was lost (as mic_tx_transmit() refuses then); MIC_ERR_RESPONSE
 * for an answer that is not exactly a status word.
 */
struct mic_tx;
mic_rc mici_tx_pinpad_verify(struct mic_tx *tx, const uint8_t *pvs,
    size_t pvs_len, uint16_t *sw);

/* The value of one hex digit, either case; -1 for anything else. */
int mici_hexval(int c);

mic_rc mici_hex_decode(const char *s, uint8_t *out, size_t cap, size_t *len);

/*
 * One PC/SC reader watched by one thread for a whole run: one context,
 * one reader state kept between waits (so a wait is one
 * SCardGetStatusChange on this reader alone, and sees a change that came
 * between two waits), and connections that borrow the context. Per card
 * this costs a wait, a connect and a disconnect, and no context, reader
 * list or PnP watch. The object and its mic_tx_t belong to one thread.
 */
typedef struct mici_pcsc_reader mici_pcsc_reader;
struct mic_tx;

/*
 * MIC_ERR_NO_SERVICE when pcscd is not there. @p busy_since, if not NULL,
 * is where each transmit on a connection of this reader stores when it
 * began (CLOCK_MONOTONIC ms), 0 once it returned: another thread reads it
 * to tell a mute card from a slow one. It must outlive the object.
 */
mic_rc mici_pcsc_reader_new(mici_pcsc_reader **out, const char *name,
    _Atomic long long *busy_since);
void mici_pcsc_reader_free(mici_pcsc_reader **r);

/*
 * Wait up to @p timeout_ms for a card (@p want_card) or for the reader to
 * be empty. MIC_OK; MIC_ERR_TIMEOUT; MIC_ERR_TX: a card is wanted and the
 * one present gave no ATR (mute); MIC_ERR_NO_READER (unplugged);
 * MIC_ERR_NO_SERVICE (pcscd stopped).
 */
mic_rc mici_pcsc_reader_wait(mici_pcsc_reader *r, int want_card,
    unsigned timeout_ms);

/* SCardConnect (shared, T=0 or T=1) on the reader's context. */
mic_rc mici_pcsc_reader_connect(mici_pcsc_reader *r, struct mic_tx **tx);

/*
 * Power down a card that cannot be connected to (no protocol, no answer):
 * a direct connection, closed with SCARD_UNPOWER_CARD, which a machine
 * takes as "move it on". Best effort.
 */
void mici_pcsc_reader_unpower(mici_pcsc_reader *r);

/* The CLOCK_MONOTONIC time in ms, as busy_since holds it. */
long long mici_mono_ms(void);

#endif
