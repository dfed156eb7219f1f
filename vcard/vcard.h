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
 * host side except the apdu/ codecs and OpenSSL.
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

#define VC_SERIAL_MAX 32   /**< longest serial string, printable ASCII */
#define VC_CHIP_SERIAL_LEN 8 /**< bytes of the chip serial (FCI A5/81) */
#define VC_ATR_MAX 33      /**< ISO/IEC 7816-3 limit */
#define VC_CHAIN_MAX 4096  /**< bytes a command chain may assemble on the card */

/** Behave like a T=0 card: 61xx for outgoing data, 6Cxx for a wrong Le. */
#define VC_CARD_T0_QUIRKS 0x01u

typedef struct vc_card vc_card;

/**
 * A blank card as the chip factory delivers it, powered and reset: the
 * profile's file system with EF.DIR written and every EF of DF.MIC empty,
 * no PIN, no key pair, life cycle blank. The bureau personalizes it with
 * GENERATE ASYMMETRIC KEY PAIR and STORE DATA (docs/card-profile.md 3.8).
 *
 * @p serial names the chip. Exactly 16 hex digits are the 8-byte chip
 * serial itself ("0011223344556677" gives 00 11 .. 77). Any other printable
 * string is hashed: the chip serial is the first 8 bytes of
 * SHA-256(serial), so a name like "MIC0000000001" always gives the same
 * chip. The chip serial is what SELECT returns in FCI A5/81 and what the
 * PIN hash and the security object bind to.
 * @retval MIC_OK
 * @retval MIC_ERR_INVALID_ARGUMENT  serial NULL, empty, too long or not
 *                                   printable ASCII; unknown flags
 * @retval MIC_ERR_NOMEM
 * @retval MIC_ERR_INTERNAL          OpenSSL could not hash the serial
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
 * @retval MIC_ERR_IO                the commit of this command failed, or
 *                                   an earlier one did: the card is mute,
 *                                   nothing was answered, until
 *                                   vc_card_power_off() or vc_card_reset()
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
 * Persistence: the card's EEPROM as bytes. (Phase 1 step 2 contract between
 * the card engine and the image store; see docs/card-profile.md section 7.)
 */

/**
 * Called after every command that changed persistent state, with the whole
 * new persistent state. Returns MIC_OK once it is durable. Any error means
 * power was lost mid-write: the card keeps its previous persistent state and
 * goes mute until the next power-on (vc_card_transmit returns MIC_ERR_IO),
 * as a torn real card would. One command is one commit: a DEBIT's balance,
 * counter, log record and receipt go in the same call.
 */
typedef mic_rc vc_commit_fn(void *arg, const uint8_t *nv, size_t len);
/**
 * Set the commit function; NULL (the default) is a RAM card whose commits
 * always succeed. A command that changes nothing persistent (a read, a
 * VERIFY without data, an error) calls no commit; VERIFY and CHANGE
 * REFERENCE DATA with a PIN always do, right or wrong, because the try
 * counter is written on every comparison.
 */
void vc_card_set_commit(vc_card *card, vc_commit_fn *fn, void *arg);

/**
 * The persistent state, to be stored (the bytes are the card's). The
 * pointer stays valid, with the latest committed state, as long as the
 * card lives. The layout is the engine's (host byte order, versioned,
 * starting with the magic "MICV"); vc_card_load() checks it.
 */
void vc_card_nv(const vc_card *card, const uint8_t **nv, size_t *len);

/**
 * A card from persistent state that vc_card_nv() gave, powered and reset.
 * The state is checked as hostile input: besides its header, the file
 * table must be exactly the engine's and every field within its range.
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL pointers, unknown flags, wrong
 *                                   size, magic, layout version or byte
 *                                   order, or an inconsistent state
 * @retval MIC_ERR_NOMEM
 */
mic_rc vc_card_load(vc_card **out, const uint8_t *nv, size_t len,
    unsigned flags);

/**
 * The layout version of an nv state (its bytes 4-5 after the magic
 * "MICV"), or -1 if @p nv does not even start like one. vc_card_load()
 * takes only VC_CARD_NV_LAYOUT; tools use this to say why an older image
 * is refused. Layout 3 stores the personal files' own access class
 * (docs/card-profile.md 4.3): a layout 2 image would still hand EF.HOLDER
 * to anyone, so it is refused rather than read.
 */
int vc_card_nv_layout(const uint8_t *nv, size_t len);
#define VC_CARD_NV_LAYOUT 3

/** The 8-byte chip serial (FCI A5/81). */
void vc_card_chip_serial(const vc_card *card,
    uint8_t serial[VC_CHIP_SERIAL_LEN]);

/*
 * The chip factory (docs/card-profile.md 4.4). Internal calls, not APDUs:
 * a real chip gets this in a protected factory environment before it is
 * ever in a reader.
 */

/**
 * Step 1: the card generates its static key agreement key pair
 * SK.SD.ECKA / PK.SD.ECKA (P-256) and gives the public point (65 bytes,
 * uncompressed) to be certified. The private key never leaves the engine.
 * @retval MIC_ERR_STATE             not a blank card, or already provisioned
 * @retval MIC_ERR_IO                the commit failed (the card is mute)
 * @retval MIC_ERR_INTERNAL          OpenSSL failed
 */
mic_rc vc_card_factory_key(vc_card *card, uint8_t pub[65]);

/**
 * Step 2: store CERT.SD.ECKA (DER X.509 over the key of step 1), the root
 * CA certificate that terminal chains must end at (DER, self-signed), and
 * the factory date @p date (seconds since the epoch), the card's first
 * notion of time. One commit.
 * @retval MIC_ERR_STATE             step 1 has not run, or step 2 has
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL, too long (1024 bytes each), not
 *                                   exactly one DER certificate, a
 *                                   certificate of another key, a root
 *                                   that is not a self-signed CA, date <= 0
 * @retval MIC_ERR_IO                the commit failed (the card is mute)
 */
mic_rc vc_card_factory_finish(vc_card *card, const uint8_t *cert,
    size_t cert_len, const uint8_t *root, size_t root_len, int64_t date);

/** Is a secure channel (SCP11a or b) open on the card right now? */
int vc_card_has_sm(const vc_card *card);

/** Lifecycle states, docs/card-profile.md section 5. */
enum vc_state {
	VC_STATE_BLANK = 1,
	VC_STATE_PERSONALIZED = 2,
	VC_STATE_ACTIVE = 3,
	VC_STATE_BLOCKED = 4,
	VC_STATE_TERMINATED = 5,
};
/** The card's life cycle state; 0 for a NULL card. */
enum vc_state vc_card_state(const vc_card *card);

/** Terminal roles, docs/card-profile.md section 4.2. */
enum vc_role {
	VC_ROLE_NONE = 0,
	VC_ROLE_HOSPITAL = 1,
	VC_ROLE_PHARMACY = 2,
	VC_ROLE_BANK = 3,
	VC_ROLE_AGENCY = 4,
	VC_ROLE_BUREAU = 5,
};

/**
 * The test hook: plain (unprotected) commands run with @p role as if an
 * SCP11a channel with that role were open. It is lost on reset and
 * power-off. Real terminals get their role from SCP11a (a verified
 * terminal certificate); this internal call exists for unit tests of the
 * access matrix and is never reachable by an APDU. A value outside the
 * enum means no role.
 */
void vc_card_test_set_role(vc_card *card, enum vc_role role);
/** The role vc_card_test_set_role() set, VC_ROLE_NONE if none. */
enum vc_role vc_card_test_role(const vc_card *card);

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

/** What happened to the card, for vc_event_fn. */
enum vc_vpcd_event {
	VC_EV_POWER_ON = 1,   /**< contacts powered: the card was reset */
	VC_EV_RESET = 2,      /**< warm reset: RAM state lost */
	VC_EV_POWER_OFF = 3,  /**< contacts off (pcscd idles an unused card) */
	VC_EV_WRITE_LOST = 4, /**< a commit failed: the card lost power in a
	                           write and is mute until the next power-on */
	VC_EV_LEFT = 5,       /**< the card left the reader: vpcd closed the
	                           connection, or the card was ejected */
};

/** What the run does after a hook. */
enum vc_vpcd_action {
	VC_ACT_CONTINUE = 0, /**< carry on */
	VC_ACT_REINSERT = 1, /**< leave the reader (pcscd sees the card go)
	                          and come back with *card, maybe a new one */
	VC_ACT_STOP = 2,     /**< leave the reader and end the run at once */
	VC_ACT_MUTE = 3,     /**< from the APDU hook: the card stays in the
	                          reader and never answers again, as a chip
	                          that hung does (vpcd waits for ever) */
};

/**
 * Told of every event, with the card being served. The hook may replace
 * @p *card (freeing the old one itself): a hopper swaps in the next blank
 * card, a torn card is reloaded from its image. Returns a vc_vpcd_action;
 * on VC_EV_LEFT, VC_ACT_REINSERT is the same as VC_ACT_CONTINUE.
 */
typedef int vc_event_fn(void *arg, int event, vc_card **card);

/** Phases of a command APDU, for vc_apdu_fn. */
enum { VC_APDU_BEFORE = 0, VC_APDU_AFTER = 1 };

/**
 * Called for command APDU number @p seq (from 1, counted over the whole
 * run) before the card sees it and again after it was processed, before
 * the response is sent. VC_ACT_STOP cuts the power there: the socket
 * closes without a response (pcscd sees the card removed) and the run
 * ends. Tear simulation is built on this.
 */
typedef int vc_apdu_fn(void *arg, int phase, unsigned long seq);

/**
 * Asked for the ATR at every ATR request: writes at most @p cap bytes to
 * @p atr and returns their number, or 0 to let the card answer with its
 * own. A fault hook: a chip whose ATR is garbage.
 */
typedef size_t vc_atr_fn(void *arg, uint8_t *atr, size_t cap);

typedef struct vc_vpcd_cfg {
	const char *host;        /**< where vpcd listens, e.g. "127.0.0.1" */
	const char *port;        /**< its port, e.g. "35963" */
	unsigned connect_tries;  /**< connection attempts before giving up; 0 = 1 */
	unsigned retry_ms;       /**< pause between attempts */
	vc_log_fn *log;          /**< may be NULL */
	vc_trace_fn *trace;      /**< may be NULL */
	vc_event_fn *event;      /**< may be NULL */
	vc_apdu_fn *apdu;        /**< may be NULL */
	vc_atr_fn *atr;          /**< may be NULL */
	void *arg;               /**< for log, trace, event, apdu and atr */
	volatile sig_atomic_t *stop; /**< set by a signal handler to end the run */
	/**
	 * May be NULL. While non-zero the card is out of the reader: the
	 * connection is closed (pcscd sees a removal) and the run waits,
	 * keeping the card's state, until it is zero again and then
	 * reconnects (pcscd sees the card inserted). A signal handler
	 * toggles it.
	 */
	volatile sig_atomic_t *removed;
} vc_vpcd_cfg;

/**
 * Serve @p *card to vpcd. When vpcd closes the connection the card tries
 * to reconnect, with the same bounds as the first connection. The event
 * hook may replace @p *card; the caller owns whatever card @p *card holds
 * when the run returns. A command for which vc_card_transmit() fails with
 * MIC_ERR_IO (a lost write) is a power cut: VC_EV_WRITE_LOST, and unless
 * the hook stops the run the card leaves the reader without answering and
 * comes back a second later (long enough for pcscd to see it gone).
 * @retval MIC_OK                    *cfg->stop became non-zero, or a hook
 *                                   returned VC_ACT_STOP
 * @retval MIC_ERR_INVALID_ARGUMENT  bad configuration
 * @retval MIC_ERR_IO                no connection within the bounds, or a
 *                                   socket error; the log said which
 * @retval MIC_ERR_NOMEM
 */
mic_rc vc_vpcd_run(vc_card **card, const vc_vpcd_cfg *cfg);

#endif
