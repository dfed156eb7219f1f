/*
 * mic-vcard: the reference MIC card, seen from outside.
 *
 * A vc_card is one card: its persistent image (what a real card keeps in
 * EEPROM) and its RAM state (selected files, security status, chaining
 * buffer, pending response). It knows nothing of sockets; vc_card_transmit()
 * is the whole card as a function, so a unit test can plug it straight into
 * mic_tx_new_inproc() and the vpcd client (vpcd.c) can put it behind pcscd.
 *
 * Card-side names carry the vc_ prefix. The card shares no code with the
 * host side except the apdu/ codecs.
 */
#ifndef VC_VCARD_H
#define VC_VCARD_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <mic/err.h>

/*
 * The MIC application identifier: proprietary RID D1 56 00 00 01 (ISO/IEC
 * 7816-5 category D, country code 156 = China), then PIX "MIC" 01. One
 * definition so the profile can change it in one place.
 */
#define VC_MIC_AID { 0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01 }

#define VC_SERIAL_MAX 32   /**< longest card serial, printable ASCII */
#define VC_ATR_MAX 33      /**< ISO/IEC 7816-3 limit */
#define VC_CHAIN_MAX 4096  /**< bytes a command chain may assemble on the card */

/** Behave like a T=0 card: 61xx for outgoing data, 6Cxx for a wrong Le. */
#define VC_CARD_T0_QUIRKS 0x01u

typedef struct vc_card vc_card;

/**
 * A fresh card, powered and reset, with the step-1 file system built in.
 * @retval MIC_OK
 * @retval MIC_ERR_INVALID_ARGUMENT  serial NULL, empty, too long or not
 *                                   printable ASCII; unknown flags
 * @retval MIC_ERR_NOMEM
 */
mic_rc vc_card_new(vc_card **out, const char *serial, unsigned flags);

/** Wipe and free the card, set @p *card to NULL. NULL-safe. */
void vc_card_free(vc_card **card);

/**
 * One command APDU in, one response APDU (data + SW1 SW2) out. This has the
 * mic_inproc_fn signature. Every input, however malformed, gets a status
 * word; the response never exceeds @p *rsp_len on entry.
 * @retval MIC_OK                    @p *rsp_len holds the response length
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL pointers
 * @retval MIC_ERR_BUFFER_TOO_SMALL  @p *rsp_len < 2, no room for a SW
 */
mic_rc vc_card_transmit(void *card, const uint8_t *cmd, size_t cmd_len,
    uint8_t *rsp, size_t *rsp_len);

/** Contacts deactivated: RAM state is lost, the persistent image stays. */
void vc_card_power_off(vc_card *card);

/** Warm or cold reset: the same loss of RAM state as a power cycle. */
void vc_card_reset(vc_card *card);

/**
 * The answer-to-reset. Writes at most @p cap bytes.
 * @return the ATR length, or 0 if @p cap is too small
 */
size_t vc_card_atr(const vc_card *card, uint8_t *atr, size_t cap);

/*
 * The vpcd client: connects out to a vpcd reader slot and serves the card
 * until told to stop.
 */

/** Direction of a traced APDU. */
enum { VC_TRACE_CMD = 0, VC_TRACE_RSP = 1 };

/** A one-line status message (connected, powered on, removed, ...). */
typedef void vc_log_fn(void *arg, const char *msg);
/** Every APDU and response crossing the socket. */
typedef void vc_trace_fn(void *arg, int dir, const uint8_t *buf, size_t len);

typedef struct vc_vpcd_cfg {
	const char *host;        /**< where vpcd listens, e.g. "127.0.0.1" */
	const char *port;        /**< its port, e.g. "35963" */
	unsigned connect_tries;  /**< connection attempts before giving up; 0 = 1 */
	unsigned retry_ms;       /**< pause between attempts */
	vc_log_fn *log;          /**< may be NULL */
	vc_trace_fn *trace;      /**< may be NULL */
	void *arg;               /**< for log and trace */
	volatile sig_atomic_t *stop; /**< set by a signal handler to end the run */
} vc_vpcd_cfg;

/**
 * Serve @p card to vpcd. When vpcd closes the connection the card tries to
 * reconnect, with the same bounds as the first connection.
 * @retval MIC_OK                    *cfg->stop became non-zero
 * @retval MIC_ERR_INVALID_ARGUMENT  bad configuration
 * @retval MIC_ERR_IO                no connection within the bounds, or a
 *                                   socket error; the log said which
 * @retval MIC_ERR_NOMEM
 */
mic_rc vc_vpcd_run(vc_card *card, const vc_vpcd_cfg *cfg);

#endif
