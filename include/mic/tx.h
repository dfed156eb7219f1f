/*
 * libmic: the transport, a channel to one card.
 *
 * A mic_tx_t owns one backend (PC/SC, in-process, or the caller's own) behind
 * a small table of functions, and adds on top of it what every card needs and
 * what OpenSC's history says is easy to get wrong:
 *   - GET RESPONSE after SW 61xx, in a loop bounded by bytes and by rounds;
 *   - one resend with the exact Le after SW 6Cxx;
 *   - command chaining (CLA bit 0x10) when Nc exceeds what the path takes;
 *   - extended length only when both the reader and the card support it;
 *   - recovery after another application reset the card: reconnect,
 *     re-select the last application, let the caller confirm it is the same
 *     card, then resend once;
 *   - a trace hook that never sees PINs or keys, nor (unless the caller
 *     opts in) the holder's files;
 *   - an optional secure messaging layer (mic_tx_set_sm()) that protects
 *     every command and response.
 *
 * A mic_tx_t is not thread-safe; give each thread its own (as PC/SC wants one
 * SCARDCONTEXT per thread).
 */
#ifndef MIC_TX_H
#define MIC_TX_H

#include <stddef.h>
#include <stdint.h>

#include <mic/apdu.h>
#include <mic/err.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mic_tx mic_tx_t;

/**
 * A backend. Every function returns MIC_OK or a library error. transmit
 * exchanges exactly one already-encoded APDU; everything above that is the
 * mic_tx_t's job. Functions other than transmit and close may be NULL.
 */
typedef struct mic_tx_ops {
	/** Send @p cmd; write the response (data + SW) into @p rsp, at most @p *rsp_len bytes. */
	mic_rc (*transmit)(void *io, const uint8_t *cmd, size_t cmd_len,
	    uint8_t *rsp, size_t *rsp_len);
	/** Reset the card (warm reset). */
	mic_rc (*reset)(void *io);
	/**
	 * Re-establish the session after the card was reset by someone else.
	 * Called by mic_tx_t when transmit returned MIC_ERR_CARD_RESET. On
	 * return the backend holds no transaction: if one was open, mic_tx_t
	 * calls begin again before it re-selects the application.
	 */
	mic_rc (*reconnect)(void *io);
	mic_rc (*begin)(void *io);  /**< exclusive access, e.g. SCardBeginTransaction */
	mic_rc (*end)(void *io);
	/** Fill @p atr (up to 33 bytes); MIC_ERR_UNSUPPORTED if the backend has none. */
	mic_rc (*atr)(void *io, uint8_t *atr, size_t *atr_len);
	void (*close)(void *io);    /**< release the backend and free @p io */
	/**
	 * Optional: a reader control request (PC/SC SCardControl), for the
	 * reader's own features such as a PIN pad (mic_tx_has_pinpad()).
	 * @p code is a control code as pcsc-lite numbers them
	 * (SCARD_CTL_CODE(n) = 0x42000000 + n), e.g.
	 * MIC_TX_CTL_GET_FEATURE_REQUEST, or one the reader listed. Write at
	 * most @p *out_len bytes into @p out and set @p *out_len. A backend
	 * without a reader leaves it NULL: no PIN pad.
	 */
	mic_rc (*control)(void *io, uint32_t code, const uint8_t *in,
	    size_t in_len, uint8_t *out, size_t *out_len);
} mic_tx_ops;

/** PC/SC part 10 CM_IOCTL_GET_FEATURE_REQUEST, SCARD_CTL_CODE(3400) in pcsc-lite. */
#define MIC_TX_CTL_GET_FEATURE_REQUEST 0x42000D48u
/** PC/SC part 10 feature tag of a PIN verified on the reader's pad. */
#define MIC_TX_FEATURE_VERIFY_PIN_DIRECT 0x06u

/** What the path to the card can carry. */
typedef struct mic_tx_caps {
	int reader_extended;  /**< the reader/driver passes extended APDUs */
	int card_extended;    /**< the card accepts extended APDUs */
	size_t max_nc;        /**< largest Nc per APDU before chaining; 0 = no limit beyond the form */
	size_t max_ne;        /**< largest Ne per APDU; 0 = no limit beyond the form */
} mic_tx_caps;

/**
 * Wrap a backend. On success the mic_tx_t owns @p io and calls ops->close on
 * it when freed; on failure @p io is untouched and still the caller's.
 * Capabilities start at short APDUs only, no chaining limit.
 */
mic_rc mic_tx_new(mic_tx_t **out, const mic_tx_ops *ops, void *io);

/** Close the backend, wipe buffers, free, and set @p *tx to NULL. NULL-safe. */
void mic_tx_free(mic_tx_t **tx);

void mic_tx_get_caps(const mic_tx_t *tx, mic_tx_caps *caps);
void mic_tx_set_caps(mic_tx_t *tx, const mic_tx_caps *caps);

/**
 * Exchange one logical command. Chaining, GET RESPONSE and 6Cxx are handled
 * here; the caller sees the whole response data and the final status word.
 * Outside an explicit transaction, the exchange runs in an implicit one.
 * @retval MIC_OK                    the card answered; see @p *sw
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL pointers, or data NULL with nc > 0
 * @retval MIC_ERR_BUFFER_TOO_SMALL  the response data did not fit @p cap
 * @retval MIC_ERR_APDU_TOO_LONG     Nc/Ne beyond what the path can carry
 * @retval MIC_ERR_RESPONSE          a response without a status word
 * @retval MIC_ERR_RETRY_LIMIT       61xx or 6Cxx loops exceeded their bounds
 * @retval MIC_ERR_CARD_CHANGED      the card was reset and another card answered
 * @retval MIC_ERR_CARD_RESET        the card was reset and recovery was not
 *                                   possible (or the command may have run)
 * @retval MIC_ERR_SM_CLOSED         a secure channel ended earlier (see
 *                                   mic_tx_set_sm()); nothing was sent
 * @retval MIC_ERR_SM_MAC            the response's MAC did not verify; the
 *                                   secure channel is now closed
 * @retval MIC_ERR_SM_FORMAT         the protected response was malformed;
 *                                   the secure channel is now closed
 * plus the backend's errors (MIC_ERR_CARD_REMOVED, MIC_ERR_NO_SERVICE, ...).
 * Inside a secure channel, MIC_ERR_CARD_RESET means the card was reset and
 * the channel is gone: the command was not resent, unprotected or otherwise.
 */
mic_rc mic_tx_transmit(mic_tx_t *tx, const mic_apdu *cmd, uint8_t *rsp,
    size_t cap, size_t *rsp_len, uint16_t *sw);

/**
 * mic_tx_transmit(), then mic_sw_rc() of the status word: MIC_OK only for
 * 9000. For callers that treat every other SW as an error.
 */
mic_rc mic_tx_command(mic_tx_t *tx, const mic_apdu *cmd, uint8_t *rsp,
    size_t cap, size_t *rsp_len);

/**
 * Explicit transaction. Nested calls count; only the outermost pair reaches
 * the backend. Library operations made of several APDUs use this so another
 * application cannot interleave.
 * @retval MIC_ERR_TRANSACTION  mic_tx_end() without a matching begin
 */
mic_rc mic_tx_begin(mic_tx_t *tx);
mic_rc mic_tx_end(mic_tx_t *tx);

/** Warm-reset the card and forget the selected application. */
mic_rc mic_tx_reset(mic_tx_t *tx);

/** The card's ATR. */
mic_rc mic_tx_atr(mic_tx_t *tx, uint8_t *atr, size_t *atr_len);

/**
 * Called after a recovery from a reset by another application, once the last
 * SELECT of an application has been replayed. Return MIC_OK if the card is
 * the same one (e.g. compare its serial), MIC_ERR_CARD_CHANGED otherwise.
 * Security state on the card is gone after a reset; a hook that held a secure
 * channel must report that by returning MIC_ERR_CARD_RESET.
 */
typedef mic_rc mic_tx_reset_hook(mic_tx_t *tx, void *arg);
void mic_tx_set_reset_hook(mic_tx_t *tx, mic_tx_reset_hook *hook, void *arg);

/** Direction of a traced APDU. */
enum { MIC_TRACE_CMD = 0, MIC_TRACE_RSP = 1 };
/**
 * Trace hook: sees each APDU as it crosses the backend. The data field of a
 * sensitive command (MIC_APDU_SENSITIVE, VERIFY, CHANGE REFERENCE DATA,
 * RESET RETRY COUNTER) and of its response is replaced by "*" bytes before the
 * hook sees it, so no hook can leak a PIN or key.
 */
typedef void mic_tx_trace_fn(void *arg, int dir, const uint8_t *buf, size_t len);
void mic_tx_set_trace(mic_tx_t *tx, mic_tx_trace_fn *fn, void *arg);

/**
 * The response data of a command flagged MIC_APDU_PERSONAL (the holder's
 * files, read by libmic) is also replaced by "*" bytes before the trace
 * hook sees it: the hook gets the header, the length and the status word.
 * With @p show nonzero the hook sees it as it crossed the wire (plain after
 * VERIFY, encrypted in a secure channel): an explicit opt-in, for a caller
 * that keeps its traces as carefully as the data (docs/privacy.md). Secrets
 * (MIC_APDU_SENSITIVE) stay masked whatever @p show says. Off by default.
 */
void mic_tx_set_trace_personal(mic_tx_t *tx, int show);

/**
 * A secure messaging layer, e.g. the SCP03-style protection that
 * mic_scp11a_open() and mic_scp11b_open() install. Once installed, every
 * mic_tx_transmit() passes the caller's logical command through wrap before
 * length choice and chaining, and the whole collected response (after GET
 * RESPONSE) through unwrap, so the trace hook sees protected APDUs and the
 * caller plain ones. GET RESPONSE itself is never wrapped.
 */
typedef struct mic_tx_sm_ops {
	/**
	 * Protect @p cmd into @p out, whose data points into @p buf (@p cap
	 * bytes). MIC_ERR_APDU_TOO_LONG, MIC_ERR_INVALID_ARGUMENT and
	 * MIC_ERR_UNSUPPORTED must leave the session unchanged (the command
	 * is refused, the channel stays); any other error ends the channel.
	 */
	mic_rc (*wrap)(void *ctx, const mic_apdu *cmd, mic_apdu *out,
	    uint8_t *buf, size_t cap);
	/**
	 * Verify and strip the protection of @p rsp_len response bytes with
	 * status word @p sw into @p out (@p cap bytes). MIC_ERR_BUFFER_TOO_SMALL
	 * means the response verified but does not fit; any other error ends
	 * the channel.
	 */
	mic_rc (*unwrap)(void *ctx, const uint8_t *rsp, size_t rsp_len,
	    uint16_t sw, uint8_t *out, size_t cap, size_t *out_len);
	/** The channel is over: wipe the keys and free @p ctx. */
	void (*close)(void *ctx);
} mic_tx_sm_ops;

/**
 * Install the secure messaging layer @p ops with session @p ctx, or with
 * @p ops NULL go back to plain APDUs. Either way a layer already installed
 * is closed first, and a channel lost earlier is forgotten.
 *
 * On success the mic_tx_t owns @p ctx and calls ops->close(ctx) exactly
 * once: when a later mic_tx_set_sm() replaces it, when mic_tx_free() runs,
 * or when the channel ends on its own. It ends on its own, and then every
 * mic_tx_transmit() fails with MIC_ERR_SM_CLOSED until mic_tx_set_sm() is
 * called again, never silently sending plain APDUs, when:
 *   - a response fails unwrap (MIC_ERR_SM_MAC, MIC_ERR_SM_FORMAT, ...);
 *   - the card answers 6987 or 6988 (it dropped the channel: the caller
 *     gets that status word once);
 *   - the card was reset, by mic_tx_reset() or by another application
 *     (the command in flight fails with MIC_ERR_CARD_RESET);
 *   - the exchange failed after wrap, so the two ends may be out of step.
 * On failure @p ctx is still the caller's and the old layer stays.
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL @p tx, or @p ops with a NULL
 *                                   function or a NULL @p ctx
 * @retval MIC_ERR_NOMEM             the layer's buffers could not be allocated
 */
mic_rc mic_tx_set_sm(mic_tx_t *tx, const mic_tx_sm_ops *ops, void *ctx);

/** Where a mic_tx_t stands with secure messaging. */
typedef enum mic_tx_sm_state {
	MIC_TX_SM_OFF = 0,   /**< plain APDUs */
	MIC_TX_SM_ON = 1,    /**< a layer protects every APDU */
	MIC_TX_SM_LOST = 2,  /**< the channel ended; transmits are refused */
} mic_tx_sm_state;

mic_tx_sm_state mic_tx_get_sm_state(const mic_tx_t *tx);

/**
 * Does the reader have a PIN pad that libmic can use, i.e. does it list
 * FEATURE_VERIFY_PIN_DIRECT in its answer to CM_IOCTL_GET_FEATURE_REQUEST
 * (PC/SC part 10 v2.02.09, 2.2)? The list is asked once per mic_tx_t and
 * kept; a malformed list, or a reader that refuses the request, counts as
 * no pad. 0 for a backend without ops->control (mic_tx_new_inproc() has
 * none), and when the card was pulled or reset, or pcscd stopped, before
 * the reader answered: then the next call asks again. A PIN typed on the
 * pad never passes through the host; mic_card_verify_pin_pad() uses it.
 */
int mic_tx_has_pinpad(mic_tx_t *tx);

/** Counters, for diagnostics and benchmarks. */
typedef struct mic_tx_stats {
	uint64_t apdus;      /**< APDUs exchanged with the backend */
	uint64_t bytes_out;
	uint64_t bytes_in;
	uint64_t recoveries; /**< resets recovered from */
} mic_tx_stats;
void mic_tx_get_stats(const mic_tx_t *tx, mic_tx_stats *st);

/**
 * In-process backend: calls @p fn for each APDU, e.g. a card engine linked
 * into a unit test. @p fn returns MIC_OK with the response (data + SW) in
 * @p rsp, or a library error to simulate a transport failure.
 */
typedef mic_rc mic_inproc_fn(void *card, const uint8_t *cmd, size_t cmd_len,
    uint8_t *rsp, size_t *rsp_len);
mic_rc mic_tx_new_inproc(mic_tx_t **out, mic_inproc_fn *fn, void *card);

#ifdef __cplusplus
}
#endif
#endif
