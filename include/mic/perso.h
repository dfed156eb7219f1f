/*
 * libmic: personalization of one card by the card bureau
 * (docs/issuance.md, docs/card-profile.md sections 2, 3.8, 3.9 and 4).
 *
 * A mic_perso_cfg_t holds what the bureau needs from its PKI directory
 * (made by `mic pki init` or mic_pki_init()): its terminal's key and chain
 * for SCP11a, the card-certificate issuer, the document signer and the
 * trust store. mic_perso_card() then turns one blank card into a
 * personalized one for one application:
 *
 *   1. SELECT; the card shall be blank.
 *   2. GET DATA BF21: the card's factory certificate CERT.SD.ECKA is
 *      verified against the trust store before anything is written.
 *   3. SCP11a as the bureau; GENERATE ASYMMETRIC KEY PAIR.
 *   4. EF.CARD, EF.HOLDER, EF.INSURANCE from the application; EF.CERT, the
 *      card certificate over the generated key; EF.SOD over the four files
 *      as the card will hold them (zero padded) and the chip serial; a
 *      random 6-digit transport PIN. The DGIs in as few STORE DATA
 *      blocks as the card assembles (profile 3.8: several to a block,
 *      none split), the transport PIN (DGI 8010) last.
 *   5. Read back and verify before the card counts as issued: SELECT
 *      again, the card shall be personalized; the five files read in plain
 *      shall be the bytes written; passive authentication (mic_sod_verify);
 *      the card certificate's chain and subject (mic_cardcert_verify) and
 *      its key against the generated one (mic_cardcert_check_key); an
 *      SCP11b session shall open.
 *
 * The card identification code (profile 2.1.1) is built from the issuer
 * region (by default the application's pooling region: the agency of the
 * pooling region issues the card), the bureau code and the caller's serial
 * within the bureau. The printed card number is "A" and the serial's last
 * eight digits.
 *
 * A cfg may be shared by the threads of several readers once it is set up
 * (the setters are not thread-safe): the use of its keys is serialized
 * when one of them is on a token. A result belongs to one thread.
 *
 * The issuance line, mic_perso_line_t below, runs mic_perso_card() on
 * several readers at once over the journal (<mic/journal.h>).
 */
#ifndef MIC_PERSO_H
#define MIC_PERSO_H

#include <stddef.h>
#include <stdint.h>

#include <mic/batch.h>
#include <mic/err.h>
#include <mic/journal.h>
#include <mic/keyprov.h>
#include <mic/pki.h>
#include <mic/profile.h>
#include <mic/tx.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Digits of the transport PIN. */
#define MIC_TRANSPORT_PIN_LEN 6
/** Default validity of a card, in years. */
#define MIC_PERSO_YEARS_DEFAULT 10
/** Largest serial within a bureau (ten digits). */
#define MIC_PERSO_SERIAL_MAX 9999999999ull

typedef struct mic_perso_cfg mic_perso_cfg_t;
typedef struct mic_perso_result mic_perso_result_t;

/**
 * Load the bureau's configuration from the PKI directory @p pki_dir: the
 * terminal @p bureau_terminal_name (a terminal of role bureau, e.g.
 * "bureau"), its issuer CA's certificate (DIR/issuer/cert.pem) for the
 * SCP11a chain, the card-certificate issuer and the document signer (key
 * and certificate, through mic_pki_load(); PKCS#11 keys share one module),
 * the trust store DIR/trust, and the PIN mailer's certificate
 * DIR/pin-mailer/cert.pem (mic_pin_mailer_open()), to which the issuance
 * line seals transport PINs. Bureau code "000", issue date today,
 * validity MIC_PERSO_YEARS_DEFAULT years. Token PINs come from the key
 * URI's pin-source or MIC_PKCS11_PIN (there is no prompt here).
 * @retval MIC_OK
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL @p cfg, @p pki_dir or name
 * @retval MIC_ERR_NOMEM
 * @retval MIC_ERR_CERT_PURPOSE      the terminal is not a bureau terminal
 * @retval MIC_ERR_CERT_FORMAT       a certificate does not parse
 * plus the errors of mic_pki_load() and mic_trust_load().
 */
mic_rc mic_perso_cfg_load(mic_perso_cfg_t **cfg, const char *pki_dir,
    const char *bureau_terminal_name);

/**
 * mic_perso_cfg_load(), and on failure the reason in words in @p why: a
 * file of the PKI directory that is missing is named (e.g.
 * "terminals/bureau/cert.pem").
 */
mic_rc mic_perso_cfg_load_ex(mic_perso_cfg_t **cfg, const char *pki_dir,
    const char *bureau_terminal_name, char *why, size_t why_cap);

/**
 * Use the key at @p uri (a PEM file path, "file:" or a "pkcs11:" URI, as
 * mic_keyprov_open()) instead of the PKI directory's for the card-
 * certificate issuer (@p kind MIC_CERT_CARD_ISSUER) or the document signer
 * (MIC_CERT_DOCUMENT_SIGNER): a bureau keeps its signing keys in an HSM.
 * The key must be the one of the certificate in the directory.
 * @retval MIC_OK
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL, or another kind
 * @retval MIC_ERR_MISMATCH          the key is not the certificate's
 * plus the errors of mic_keyprov_open_ex().
 */
mic_rc mic_perso_cfg_set_key(mic_perso_cfg_t *cfg, mic_cert_kind kind,
    const char *uri);

/**
 * The card bureau code, three digits (profile 2.1.1).
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL
 * @retval MIC_ERR_FORMAT            not exactly three digits
 */
mic_rc mic_perso_cfg_set_bureau_code(mic_perso_cfg_t *cfg, const char *code);

/**
 * The issue date "YYYYMMDD" (EF.CARD 5F25); the expiry is the same day
 * the validity's years later (29 February becomes 28).
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL
 * @retval MIC_ERR_DATE              not a real date
 */
mic_rc mic_perso_cfg_set_issue_date(mic_perso_cfg_t *cfg, const char *date);

/**
 * The card's validity in years, 1-30.
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL, or out of range
 */
mic_rc mic_perso_cfg_set_validity_years(mic_perso_cfg_t *cfg, unsigned years);

/**
 * The issuer region (EF.CARD 42 and the card identification code's first
 * six characters), a GB/T 2260 code; NULL goes back to the default, the
 * application's pooling region.
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL @p cfg
 * @retval MIC_ERR_CODE              not a region code
 */
mic_rc mic_perso_cfg_set_issuer(mic_perso_cfg_t *cfg, const char *region);

/** Free the keys, certificates and trust store; sets @p *cfg to NULL. NULL-safe. */
void mic_perso_cfg_free(mic_perso_cfg_t **cfg);

/**
 * Personalize the blank card behind @p tx for @p app, with the serial
 * within the bureau @p bureau_serial, and verify it (see the file comment).
 * The whole operation runs in one transaction of @p tx. On failure
 * @p *out is NULL, no secure channel is left open, and the card is either
 * still blank or must be voided (a failure after the last STORE DATA); the
 * caller records the chip serial it read before, as docs/issuance.md asks.
 * @retval MIC_OK                    @p *out holds the result
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL argument, or a serial over
 *                                   MIC_PERSO_SERIAL_MAX
 * @retval MIC_SW_CONDITIONS         the card is not blank (what the card
 *                                   itself answers to STORE DATA then)
 * @retval MIC_ERR_CERT_UNTRUSTED    the factory certificate does not chain to
 *                                   the trust store (nothing was written)
 * @retval MIC_ERR_CERT_CHAIN, MIC_ERR_CERT_EXPIRED, MIC_ERR_CERT_PURPOSE
 *                                   likewise, for the factory certificate
 * @retval MIC_ERR_RESPONSE          a malformed answer (FCI, BF21, 7F49, a file)
 * @retval MIC_ERR_STATE             a secure channel is open on @p tx at the
 *                                   call; or the card is not personalized
 *                                   after the last STORE DATA
 * @retval MIC_ERR_MISMATCH          a file read back differs from what was
 *                                   written
 * @retval MIC_ERR_CARD_KEY_MISMATCH EF.CERT does not hold the generated key
 * @retval MIC_RC_SW(sw)             the card refused a command
 * plus the errors of the profile encoders (a bad application),
 * mic_cardid_build(), mic_scp11a_open(), mic_scp11b_open(),
 * mic_cardcert_issue(), mic_sod_build(), mic_sod_verify(),
 * mic_cardcert_verify() and mic_tx_transmit().
 */
mic_rc mic_perso_card(mic_perso_cfg_t *cfg, mic_tx_t *tx,
    const mic_application_t *app, uint64_t bureau_serial,
    mic_perso_result_t **out);

/** Wipe (the transport PIN) and free; sets @p *res to NULL. NULL-safe. */
void mic_perso_result_free(mic_perso_result_t **res);

/** The 8-byte chip serial. */
const uint8_t *mic_perso_result_chip_serial(const mic_perso_result_t *res);
/** The card identification code, 32 characters. */
const char *mic_perso_result_card_id(const mic_perso_result_t *res);
/** The printed card number, 9 characters. */
const char *mic_perso_result_card_number(const mic_perso_result_t *res);
/**
 * The transport PIN, MIC_TRANSPORT_PIN_LEN digits, for the PIN mailer.
 * Sensitive: valid until mic_perso_result_free(), which wipes it.
 */
const char *mic_perso_result_transport_pin(const mic_perso_result_t *res);
/** APDUs exchanged with the card for this card (mic_tx_get_stats()). */
uint64_t mic_perso_result_apdus(const mic_perso_result_t *res);
/** Bytes sent plus bytes received for this card. */
uint64_t mic_perso_result_bytes(const mic_perso_result_t *res);

/* --- the PIN mailer ---------------------------------------------------- */

/**
 * The PIN mailer's key pair (docs/pki.md 6.1): the issuance line seals
 * each card's transport PIN, with the card's id, to its certificate (a
 * CMS AuthEnvelopedData, AES-256-GCM, with a KeyAgreeRecipientInfo) and
 * keeps it in the journal
 * (mic_journal_attempt_issued_pin()); whoever prints the PIN letters
 * unseals them with the private key.
 */
typedef struct mic_pin_mailer mic_pin_mailer_t;

/** Largest sealed PIN the journal takes, bytes. */
#define MIC_PIN_CMS_MAX MIC_JOURNAL_PIN_MAX

/**
 * Load the PIN mailer's certificate (PEM, a P-256 key with keyAgreement;
 * "DIR/pin-mailer/cert.pem" of 'mic pki init'), and with @p key_uri
 * (file: or pkcs11:, as mic_keyprov_open()) its private key, to unseal.
 * @retval MIC_OK
 * @retval MIC_ERR_NOT_FOUND     no such certificate file
 * @retval MIC_ERR_CERT_FORMAT   not a PEM certificate
 * @retval MIC_ERR_CERT_PURPOSE  not a P-256 key-agreement certificate
 * @retval MIC_ERR_MISMATCH      the key is not the certificate's
 * plus the errors of mic_keyprov_open().
 */
mic_rc mic_pin_mailer_open(mic_pin_mailer_t **pm, const char *cert_path,
    const char *key_uri);

/** Free; sets @p *pm to NULL. NULL-safe. */
void mic_pin_mailer_free(mic_pin_mailer_t **pm);

/**
 * Seal @p pin (MIC_TRANSPORT_PIN_LEN digits) of the card @p card_id (its
 * identification code) to the PIN mailer: the content is
 * "<card_id> <pin>".
 * @param cms  receives DER the caller frees with free()
 * @retval MIC_OK, MIC_ERR_INVALID_ARGUMENT, MIC_ERR_CRYPTO, MIC_ERR_NOMEM
 */
mic_rc mic_pin_mailer_seal(mic_pin_mailer_t *pm, const char *card_id,
    const char *pin, uint8_t **cms, size_t *cms_len);

/**
 * Unseal the PIN of the card @p card_id sealed to this PIN mailer.
 * Sensitive: wipe @p pin after use. On failure @p pin is all NULs.
 * @retval MIC_OK
 * @retval MIC_ERR_STATE      opened without the private key
 * @retval MIC_ERR_RESPONSE   not one CMS message, or not a card id and a
 *                            PIN inside
 * @retval MIC_ERR_MISMATCH   the PIN of another card (moved between rows)
 * @retval MIC_ERR_CRYPTO     not sealed to this key, or changed (GCM)
 * @retval MIC_ERR_INVALID_ARGUMENT
 */
mic_rc mic_pin_mailer_unseal(mic_pin_mailer_t *pm, const uint8_t *cms,
    size_t cms_len, const char *card_id, char pin[MIC_TRANSPORT_PIN_LEN + 1]);

/* --- the issuance line ------------------------------------------------ */

/**
 * An issuance line: several PC/SC readers personalizing cards in parallel,
 * taking applications from one journal (docs/issuance.md section 3). Each
 * reader has its own thread, PC/SC context and journal connection; they
 * share the mic_perso_cfg_t. For each reader, over and over:
 *
 *   1. wait for a card; SELECT it and read its chip serial and state. A
 *      card that is not blank, or whose chip failed an attempt before (in
 *      this journal), is set aside: powered down, reported, and the reader
 *      waits for it to be taken out;
 *   2. mic_journal_claim() the next application; load it from the journal
 *      (mic_journal_app_data(), mic_application_parse());
 *   3. mic_journal_attempt_begin() with the chip serial, before anything
 *      is written; the bureau serial of the card is the serial base plus
 *      the attempt's id, so no two cards of one journal share one;
 *   4. mic_perso_card(); mic_journal_attempt_end() issued or failed. The
 *      card is then powered down (a machine moves it on, to the output or
 *      the reject stack) and the reader waits for it to leave;
 *   5. a failed application goes back to the queue, until it has failed
 *      on the line's maximum of attempts: then it is rejected. An
 *      application whose data the card cannot take is rejected at once.
 *
 * A line's functions are called from one thread; the event callback is
 * called from the reader threads, one call at a time.
 */
typedef struct mic_perso_line mic_perso_line_t;

/** What happened, for mic_perso_event. */
typedef enum mic_perso_event_kind {
	/** A card was issued: written, verified, recorded. */
	MIC_PERSO_EV_ISSUED = 1,
	/**
	 * A card attempt failed (rc, reason); the card was set aside. The
	 * application went back to the queue, unless @c rejected is set.
	 */
	MIC_PERSO_EV_FAILED = 2,
	/** An application was rejected without a card attempt (reason). */
	MIC_PERSO_EV_REJECTED = 3,
	/**
	 * A card cannot be used (reason): take it out of the reader. It is
	 * not blank, or failed an attempt before, or (@c unusable) it cannot
	 * be connected to or read at all: a garbage ATR, no answer. The line
	 * powers it down and goes on with the next card.
	 */
	MIC_PERSO_EV_SET_ASIDE = 4,
	/**
	 * The reader failed (rc) and its thread stopped. With rc
	 * MIC_ERR_TIMEOUT (and a reason), the run was stopped while the card
	 * in the reader did not answer: its attempt ended as interrupted.
	 */
	MIC_PERSO_EV_READER_DOWN = 5,
	/**
	 * At the end of a run, a blank card that was read but not used stays
	 * in the reader untouched (powered, not set aside): it is good for
	 * the next run.
	 */
	MIC_PERSO_EV_UNTOUCHED = 6,
} mic_perso_event_kind;

/** One event; the pointers are valid during the callback only. */
typedef struct mic_perso_event {
	mic_perso_event_kind kind;
	const char *reader;
	const char *app_id;       /**< NULL for SET_ASIDE and READER_DOWN */
	/** Hex, 16 digits, when known (not for REJECTED, READER_DOWN). */
	const char *chip_serial;
	const char *card_id;      /**< ISSUED: card identification code */
	const char *card_number;  /**< ISSUED: the printed card number */
	/** ISSUED: the transport PIN for the PIN mailer. Sensitive: wiped
	 * after the callback. */
	const char *transport_pin;
	mic_rc rc;                /**< FAILED, REJECTED, READER_DOWN */
	/** FAILED, REJECTED, SET_ASIDE; READER_DOWN: SQLite's reason after
	 * MIC_ERR_JOURNAL, what became of the attempt after MIC_ERR_TIMEOUT,
	 * else NULL */
	const char *reason;
	int rejected;             /**< FAILED: the application was rejected */
	unsigned attempt_no;      /**< FAILED, ISSUED: the application's attempts so far */
	uint64_t apdus, bytes;    /**< ISSUED: exchanged with the card */
	double seconds;           /**< ISSUED, FAILED: the card attempt's time */
	/** SET_ASIDE: the card cannot be connected to or read at all. */
	int unusable;
	/** SET_ASIDE: a reminder for a card already reported, still in the
	 * reader (not another card). */
	int reminder;
} mic_perso_event;

typedef void mic_perso_event_cb(const mic_perso_event *ev, void *arg);

/** What mic_perso_line_enqueue() did with a batch. */
typedef struct mic_perso_load_stats {
	size_t lines;       /**< lines read, blank ones included */
	size_t valid;       /**< valid applications */
	size_t bad;         /**< invalid lines (each reported) */
	size_t queued;      /**< valid and queued (again, for a rerun) */
	size_t refused;     /**< valid but refused by the journal (reported) */
} mic_perso_load_stats;

/**
 * A report on one batch line that is not queued: the line's error, or the
 * journal's refusal (rc MIC_ERR_LIVE_CARD or MIC_ERR_DUPLICATE, line and
 * message filled in the same way).
 */
typedef void mic_perso_line_error_cb(const mic_batch_error *err, void *arg);

/**
 * A line over the journal at @p journal_path (created if new) with the
 * configuration @p cfg, which stays the caller's and must outlive the line.
 * @retval MIC_OK
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL argument
 * @retval MIC_ERR_NOMEM
 * plus the errors of mic_journal_open().
 */
mic_rc mic_perso_line_new(mic_perso_line_t **line, mic_perso_cfg_t *cfg,
    const char *journal_path);

/** Free; sets @p *line to NULL. Not while mic_perso_line_run() runs. */
void mic_perso_line_free(mic_perso_line_t **line);

/**
 * Add the PC/SC reader @p reader to the line (up to MIC_PERSO_READERS_MAX).
 * @retval MIC_OK
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL, empty or too long a name
 * @retval MIC_ERR_DUPLICATE         the reader is on the line already
 * @retval MIC_ERR_BUFFER_TOO_SMALL  the line is full
 */
mic_rc mic_perso_line_add_reader(mic_perso_line_t *line, const char *reader);

/**
 * A reader of the line other than a PC/SC one: an in-process card for tests
 * and benchmarks, or a machine with its own card transport. Each function
 * is called from the reader's thread only.
 */
typedef struct mic_perso_reader_ops {
	/**
	 * Wait at most @p timeout_ms for a card and connect to it.
	 * @retval MIC_OK           @p *tx is the card's; the line frees it
	 *                          through release
	 * @retval MIC_ERR_TIMEOUT  no card yet
	 * @retval MIC_ERR_TX, MIC_ERR_PCSC, MIC_ERR_RESPONSE, MIC_ERR_CARD_RESET
	 *                          the card in the reader cannot be used (no
	 *                          answer, a garbage ATR): it is set aside
	 *                          (SET_ASIDE, unusable) and the line waits
	 *                          for it to leave, then for the next one
	 * Any other code takes the reader down.
	 */
	mic_rc (*connect)(void *arg, unsigned timeout_ms, mic_tx_t **tx);
	/** Done with the card: power it down, free @p *tx, set it to NULL. */
	void (*release)(void *arg, mic_tx_t **tx);
	/**
	 * Wait at most @p timeout_ms until the card released last is out.
	 * @retval MIC_OK, MIC_ERR_TIMEOUT; anything else takes the reader down.
	 */
	mic_rc (*wait_removal)(void *arg, unsigned timeout_ms);
} mic_perso_reader_ops;

/**
 * Add a reader given by its functions; @p ops and @p arg must outlive the
 * line's runs. As mic_perso_line_add_reader() otherwise.
 */
mic_rc mic_perso_line_add_reader_ops(mic_perso_line_t *line,
    const char *name, const mic_perso_reader_ops *ops, void *arg);

/** Most readers on one line. */
#define MIC_PERSO_READERS_MAX 64
/** Default of mic_perso_line_set_max_attempts(). */
#define MIC_PERSO_ATTEMPTS_DEFAULT 3

/**
 * Card attempts an application gets before it is rejected (1-100).
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL or out of range
 */
mic_rc mic_perso_line_set_max_attempts(mic_perso_line_t *line, unsigned n);

/**
 * The bureau serial of a card is @p base plus its attempt's id in the
 * journal (default 0): give each journal of one bureau its own range.
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL, or over MIC_PERSO_SERIAL_MAX
 */
mic_rc mic_perso_line_set_serial_base(mic_perso_line_t *line, uint64_t base);

/** The callback for events (may be NULL). */
void mic_perso_line_set_event_cb(mic_perso_line_t *line,
    mic_perso_event_cb *cb, void *arg);

/**
 * Stream @p batch into the journal, in one journal transaction:
 * mic_journal_enqueue_app() for each valid line, @p cb for each line that
 * is invalid or refused. Running the same batch again changes nothing.
 * @param st  receives the counts; may be NULL
 * @retval MIC_OK                    the whole batch was read (bad lines
 *                                   included: they are in @p st and @p cb)
 * @retval MIC_ERR_IO                the batch could not be read to its
 *                                   end; nothing was queued
 * @retval MIC_ERR_INVALID_ARGUMENT, MIC_ERR_NOMEM, MIC_ERR_JOURNAL,
 *         MIC_ERR_TIMEOUT
 */
mic_rc mic_perso_line_enqueue(mic_perso_line_t *line, mic_batch_t *batch,
    mic_perso_line_error_cb *cb, void *arg, mic_perso_load_stats *st);

/**
 * Recover the journal after a crash (mic_journal_recover()). Call it
 * before mic_perso_line_run(), while no other process works on the
 * journal.
 */
mic_rc mic_perso_line_recover(mic_perso_line_t *line, size_t *interrupted);

/**
 * Run the readers until every application of the journal is issued or
 * rejected, or mic_perso_line_stop(), or every reader is down. Returns
 * when all reader threads have ended; a card being written is finished
 * first.
 *
 * A mute card (one that never answers a command) holds its reader's
 * thread in SCardTransmit, which has no timeout; with vpcd it waits for
 * ever, where a CCID reader's driver times out. After a stop, a reader
 * whose card has not answered one command for 5 s is left behind: its
 * attempt ends as interrupted (READER_DOWN, rc MIC_ERR_TIMEOUT), the
 * other readers end as usual, and the run returns MIC_ERR_TIMEOUT. The
 * stuck thread still holds the line and @p cfg: neither may be freed
 * (mic_perso_line_free() then leaves the line alone, and it can no longer
 * run); end the process.
 * @retval MIC_OK           the queue is empty, or the line was stopped
 * @retval MIC_ERR_NO_READER  no reader was added, or all went down with
 *                          applications left
 * @retval MIC_ERR_NO_SERVICE  every reader went down, pcscd having stopped
 * @retval MIC_ERR_TIMEOUT  stopped, with readers left stuck on mute cards
 * @retval MIC_ERR_STATE    the line is running already, or an earlier run
 *                          left a reader stuck
 * @retval MIC_ERR_NOMEM, MIC_ERR_INTERNAL (a thread could not start)
 */
mic_rc mic_perso_line_run(mic_perso_line_t *line);

/**
 * Ask a running line to stop after the cards in the readers. Safe from a
 * signal handler and from any thread.
 */
void mic_perso_line_stop(mic_perso_line_t *line);

/**
 * The journal's counts (mic_journal_stats_get()), through the line's own
 * connection; safe while the line runs.
 */
mic_rc mic_perso_line_stats(mic_perso_line_t *line, mic_journal_stats *st);

/**
 * How many readers went down (MIC_PERSO_EV_READER_DOWN) in the last
 * mic_perso_line_run(): the run may still have finished the queue on the
 * others, but a reader that stopped mid-run needs a person. 0 while a
 * run is going on.
 */
size_t mic_perso_line_readers_down(const mic_perso_line_t *line);

/**
 * SQLite's reason for the last journal failure on the line's own
 * connection (mic_journal_errmsg()), for a message after
 * MIC_ERR_JOURNAL; "" when there was none.
 */
const char *mic_perso_line_journal_errmsg(mic_perso_line_t *line);

/**
 * Every failed card attempt in the journal (mic_journal_failures()),
 * through the line's own connection: the cards to void.
 */
mic_rc mic_perso_line_failures(mic_perso_line_t *line,
    mic_journal_failure_cb *cb, void *arg);

#ifdef __cplusplus
}
#endif
#endif
