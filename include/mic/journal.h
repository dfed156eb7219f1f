/*
 * libmic: the issuance journal, docs/issuance.md section 2.
 *
 * An SQLite database in WAL mode that records every application the
 * bureau accepted and every card attempt made for it, so that a line of
 * several readers can share the queue, and a crash loses nothing. The
 * invariants live in the schema (constraints and triggers), not only in
 * this code:
 *   - nobody has two live cards: one issued attempt per ID number, and one
 *     per chip serial (unique partial indexes);
 *   - nobody is skipped: applications and attempts are never deleted,
 *     "issued" and "rejected_invalid" are final, an application is issued
 *     exactly when one of its attempts is.
 *
 * One mic_journal_t is one SQLite connection: use one per thread (as with
 * one PC/SC context per thread). Several handles, in several threads or
 * processes, may share one journal file; mic_journal_claim() hands each
 * application to exactly one of them.
 */
#ifndef MIC_JOURNAL_H
#define MIC_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include <mic/batch.h>
#include <mic/err.h>
#include <mic/profile.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MIC_JOURNAL_VERSION 2   /**< schema version (PRAGMA user_version) */
#define MIC_READER_NAME_MAX 128 /**< longest reader name, bytes */
#define MIC_REASON_MAX 256      /**< longest failure or rejection reason, bytes */
#define MIC_JOURNAL_PIN_MAX 4096 /**< largest sealed PIN the journal keeps, bytes */

/** The state of an application. */
typedef enum mic_app_state {
	MIC_APP_QUEUED = 1,           /**< waiting for a reader */
	MIC_APP_IN_PROGRESS = 2,      /**< claimed by a reader */
	MIC_APP_ISSUED = 3,           /**< a card was issued (final) */
	MIC_APP_FAILED_RETRYABLE = 4, /**< the last attempt failed; queued again */
	MIC_APP_REJECTED = 5,         /**< rejected, with a reason (final) */
} mic_app_state;

/** How a card attempt ended. */
typedef enum mic_outcome {
	MIC_OUTCOME_ISSUED = 1,  /**< written, read back and verified */
	MIC_OUTCOME_FAILED = 2,  /**< the card is void; the application is queued again */
} mic_outcome;

typedef struct mic_journal mic_journal_t;

/** Counts for a summary. */
typedef struct mic_journal_stats {
	size_t queued, in_progress, issued, failed_retryable, rejected;
	size_t attempts;         /**< card attempts of all outcomes */
	size_t attempts_failed;  /**< of which failed (interrupted included) */
	size_t attempts_running; /**< of which in progress now */
} mic_journal_stats;

/** One failed attempt, for mic_journal_failures(); valid during the callback. */
typedef struct mic_journal_failure {
	int64_t attempt;
	const char *app_id;
	const char *chip_serial;  /**< 16 upper-case hex digits */
	const char *reader;
	const char *started;      /**< UTC, "YYYY-MM-DDThh:mm:ss.sssZ" */
	const char *finished;
	const char *reason;       /**< "interrupted" after mic_journal_recover() */
} mic_journal_failure;

/** Return non-zero to stop the walk. */
typedef int mic_journal_failure_cb(const mic_journal_failure *f, void *arg);

/**
 * Open the journal at @p path, creating it (schema version
 * MIC_JOURNAL_VERSION) if the file is new. WAL mode, synchronous=FULL,
 * foreign keys on, and a 10 s wait for another connection's lock.
 *
 * The journal holds names and ID numbers: a new file is created 0600
 * (and SQLite gives its -wal and -shm files the same mode); an existing
 * journal, -wal or -shm that is a symbolic link, not ours, or open to
 * group or others is refused (mic_private_file_check()). A version 1
 * journal is migrated to version 2 (the PIN table) on open.
 * @retval MIC_OK
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL pointers
 * @retval MIC_ERR_KEY_PERMISSIONS   see above
 * @retval MIC_ERR_UNSUPPORTED       the journal has a newer schema version
 * @retval MIC_ERR_JOURNAL           not a journal, or SQLite failed
 * @retval MIC_ERR_IO                the file cannot be created or read
 * @retval MIC_ERR_TIMEOUT           another connection held the lock too long
 * @retval MIC_ERR_NOMEM
 */
mic_rc mic_journal_open(mic_journal_t **j, const char *path);

/**
 * mic_journal_open(), and on failure the reason in words in @p why
 * (SQLite's message, or which file is refused and why), so that a tool
 * can print it without a debug log.
 */
mic_rc mic_journal_open_ex(mic_journal_t **j, const char *path, char *why,
    size_t why_cap);

/**
 * SQLite's reason for the last failure on @p j (e.g. "database or disk is
 * full"), or "" when there was none. Valid until the next call on @p j.
 */
const char *mic_journal_errmsg(const mic_journal_t *j);

/** Close; sets *j to NULL. A bulk enqueue still open is rolled back. */
void mic_journal_free(mic_journal_t **j);

/**
 * Record an application as queued. Idempotent: enqueueing the same
 * application id with the same ID number again changes nothing, whatever
 * its state, so a batch can be run twice.
 *
 * When the holder already has a live card, the application is recorded as
 * rejected (reason "holder already has a live card (application X)") and
 * MIC_ERR_LIVE_CARD returned, so that it shows in the summary.
 * @param ssn  the ID number, checked by mic_idnum_check(); x becomes X
 * @retval MIC_OK
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL pointers, or an application id not
 *                                   of 1-MIC_APP_ID_MAX printable ASCII
 * @retval MIC_ERR_IDNUM_*           @p ssn is not a valid ID number
 * @retval MIC_ERR_DUPLICATE         the id is in the journal with another
 *                                   ID number
 * @retval MIC_ERR_LIVE_CARD         see above
 * @retval MIC_ERR_JOURNAL, MIC_ERR_TIMEOUT
 */
mic_rc mic_journal_enqueue(mic_journal_t *j, const char *app_id,
    const char *ssn);

/**
 * Record a valid application (from mic_batch_next() or
 * mic_application_parse()) as queued, with its data
 * (mic_application_json()) for mic_journal_app_data(). As
 * mic_journal_enqueue(); in addition, the same application id enqueued
 * again with other data is refused (MIC_ERR_DUPLICATE): a corrected
 * application needs a new id. An application enqueued before by
 * mic_journal_enqueue() alone, and not final, gets its data now.
 * @retval MIC_OK, MIC_ERR_LIVE_CARD, MIC_ERR_DUPLICATE,
 *         MIC_ERR_INVALID_ARGUMENT, MIC_ERR_JOURNAL, MIC_ERR_TIMEOUT
 */
mic_rc mic_journal_enqueue_app(mic_journal_t *j, const mic_application_t *app);

/**
 * The data an application was enqueued with, as mic_application_json()
 * gave it; for mic_application_parse().
 * @param json  receives a string the caller frees with free()
 * @retval MIC_OK
 * @retval MIC_ERR_NOT_FOUND  no such application, or it was enqueued
 *                            without data (mic_journal_enqueue())
 * @retval MIC_ERR_INVALID_ARGUMENT, MIC_ERR_NOMEM, MIC_ERR_JOURNAL
 */
mic_rc mic_journal_app_data(mic_journal_t *j, const char *app_id,
    char **json);

/**
 * What the journal knows of a chip: how many attempts on it failed and
 * how many issued a card (0 or 1). A card whose attempt failed was set
 * aside: an issuance line does not use it again.
 * @param failed, issued  may be NULL
 * @retval MIC_OK
 * @retval MIC_ERR_INVALID_ARGUMENT, MIC_ERR_JOURNAL
 */
mic_rc mic_journal_chip_history(mic_journal_t *j,
    const uint8_t chip_serial[MIC_CHIP_SERIAL_LEN], unsigned *failed,
    unsigned *issued);

/**
 * Group the enqueues that follow into one transaction, one fsync for a
 * whole batch instead of one per line. Other handles wait (up to the lock
 * timeout) until mic_journal_bulk_end().
 * @retval MIC_OK
 * @retval MIC_ERR_STATE    a bulk is already open on this handle
 * @retval MIC_ERR_JOURNAL, MIC_ERR_TIMEOUT
 */
mic_rc mic_journal_bulk_begin(mic_journal_t *j);

/**
 * Commit (@p commit non-zero) or roll back the bulk.
 * @retval MIC_OK
 * @retval MIC_ERR_STATE    no bulk is open
 * @retval MIC_ERR_JOURNAL, MIC_ERR_TIMEOUT
 */
mic_rc mic_journal_bulk_end(mic_journal_t *j, int commit);

/**
 * Take the next application for @p reader, atomically: of those queued or
 * failed-retryable, the one with the fewest attempts, then the earliest
 * enqueued. It becomes in progress. Two handles never get the same one.
 * @param app_id  receives the id, NUL-terminated
 * @retval MIC_OK
 * @retval MIC_ERR_NOT_FOUND         nothing to claim
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL pointers, or a reader name empty
 *                                   or over MIC_READER_NAME_MAX bytes
 * @retval MIC_ERR_JOURNAL, MIC_ERR_TIMEOUT
 */
mic_rc mic_journal_claim(mic_journal_t *j, const char *reader,
    char app_id[MIC_APP_ID_MAX + 1]);

/**
 * Put a claimed application back in the queue without an attempt (the
 * reader had no blank card, say).
 * @retval MIC_OK
 * @retval MIC_ERR_NOT_FOUND  no such application
 * @retval MIC_ERR_STATE      not in progress, or an attempt is running
 * @retval MIC_ERR_JOURNAL, MIC_ERR_TIMEOUT
 */
mic_rc mic_journal_release(mic_journal_t *j, const char *app_id);

/**
 * Record the start of a card attempt for a claimed application: call it
 * before the first write to the card. If meanwhile another application
 * gave the holder a live card, the application is rejected and
 * MIC_ERR_LIVE_CARD returned: do not write the card.
 * @param chip_serial  the chip serial from the card's FCI
 * @param attempt      receives the attempt's id
 * @retval MIC_OK
 * @retval MIC_ERR_NOT_FOUND   no such application
 * @retval MIC_ERR_STATE       the application is not in progress, or has
 *                             an attempt running already
 * @retval MIC_ERR_LIVE_CARD   see above
 * @retval MIC_ERR_INVALID_ARGUMENT, MIC_ERR_JOURNAL, MIC_ERR_TIMEOUT
 */
mic_rc mic_journal_attempt_begin(mic_journal_t *j, const char *app_id,
    const uint8_t chip_serial[MIC_CHIP_SERIAL_LEN], const char *reader,
    int64_t *attempt);

/**
 * Record the end of an attempt. MIC_OUTCOME_ISSUED makes the application
 * issued; MIC_OUTCOME_FAILED makes it failed-retryable (queued again).
 *
 * Should the schema refuse an issued card because the holder or the chip
 * already has one (two readers raced), the attempt is recorded failed
 * (the card must be voided) and the error returned; for the holder, the
 * application is also rejected.
 * @param reason  why it failed: required for MIC_OUTCOME_FAILED, ignored
 *                otherwise; at most MIC_REASON_MAX bytes
 * @retval MIC_OK
 * @retval MIC_ERR_NOT_FOUND    no such attempt
 * @retval MIC_ERR_STATE        the attempt has ended already
 * @retval MIC_ERR_LIVE_CARD    the holder has a live card already
 * @retval MIC_ERR_DUPLICATE    the chip was issued a card already
 * @retval MIC_ERR_INVALID_ARGUMENT, MIC_ERR_JOURNAL, MIC_ERR_TIMEOUT
 */
mic_rc mic_journal_attempt_end(mic_journal_t *j, int64_t attempt,
    mic_outcome outcome, const char *reason);

/**
 * mic_journal_attempt_end() with MIC_OUTCOME_ISSUED, recording the card
 * it made: its identification code and printed number (from
 * mic_perso_result_card_id() and _card_number()), by which settlement
 * and the deny list name it. A card id is issued once (MIC_ERR_DUPLICATE
 * otherwise, handled as for a chip).
 * @retval as mic_journal_attempt_end()
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL, empty or too long an id or number
 */
mic_rc mic_journal_attempt_issued(mic_journal_t *j, int64_t attempt,
    const char *card_id, const char *card_number);

/**
 * mic_journal_attempt_issued() and the card's transport PIN, encrypted
 * for the PIN mailer (@p pin_cms, a DER CMS message from
 * mic_pin_seal()), in one transaction: the card never counts as issued
 * without its PIN on disk. A refused card (MIC_ERR_LIVE_CARD,
 * MIC_ERR_DUPLICATE) keeps no PIN.
 * @retval as mic_journal_attempt_issued()
 * @retval MIC_ERR_INVALID_ARGUMENT  also: no @p pin_cms, or over
 *                                  MIC_JOURNAL_PIN_MAX bytes
 */
mic_rc mic_journal_attempt_issued_pin(mic_journal_t *j, int64_t attempt,
    const char *card_id, const char *card_number, const uint8_t *pin_cms,
    size_t pin_cms_len);

/** One issued card and its sealed PIN, for mic_journal_pins(). */
typedef struct mic_journal_pin {
	int64_t attempt;
	const char *app_id;
	const char *chip_serial;  /**< 16 upper-case hex digits */
	const char *card_id;
	const char *card_number;
	const char *finished;     /**< when it was issued, UTC */
	const uint8_t *pin_cms;   /**< NULL: an issued card without a PIN record */
	size_t pin_cms_len;
} mic_journal_pin;

/** Return non-zero to stop the walk. */
typedef int mic_journal_pin_cb(const mic_journal_pin *p, void *arg);

/**
 * Call @p cb for every issued card, oldest first, with its sealed PIN;
 * with @p missing_only, only for the issued cards that have no PIN record
 * (issued by mic_journal_attempt_issued(), or by a version 1 journal):
 * their holders need a PIN set at the bank.
 * @retval MIC_OK
 * @retval MIC_ERR_INVALID_ARGUMENT, MIC_ERR_JOURNAL
 */
mic_rc mic_journal_pins(mic_journal_t *j, int missing_only,
    mic_journal_pin_cb *cb, void *arg);

/**
 * Reject an application for good, e.g. data that fails card encoding, or
 * an operator's decision after repeated failures.
 * @retval MIC_OK
 * @retval MIC_ERR_NOT_FOUND  no such application
 * @retval MIC_ERR_STATE      issued already, or an attempt is running
 * @retval MIC_ERR_INVALID_ARGUMENT, MIC_ERR_JOURNAL, MIC_ERR_TIMEOUT
 */
mic_rc mic_journal_reject(mic_journal_t *j, const char *app_id,
    const char *reason);

/**
 * After a crash, before any reader starts: every attempt still in progress
 * becomes failed ("interrupted"; its card, if written, must be voided) and
 * its application failed-retryable; every application claimed without an
 * attempt goes back to queued. Issued applications stay issued. Run it
 * while no other process works on the journal: it cannot tell their live
 * attempts from dead ones.
 * @param interrupted  receives the number of attempts it ended; may be NULL
 * @retval MIC_OK
 * @retval MIC_ERR_JOURNAL, MIC_ERR_TIMEOUT, MIC_ERR_INVALID_ARGUMENT
 */
mic_rc mic_journal_recover(mic_journal_t *j, size_t *interrupted);

/**
 * The state of one application and the number of its attempts.
 * @param attempts  may be NULL
 * @retval MIC_OK
 * @retval MIC_ERR_NOT_FOUND  no such application
 * @retval MIC_ERR_INVALID_ARGUMENT, MIC_ERR_JOURNAL
 */
mic_rc mic_journal_state(mic_journal_t *j, const char *app_id,
    mic_app_state *state, unsigned *attempts);

/**
 * Counts by application state and by attempt outcome.
 * @retval MIC_OK
 * @retval MIC_ERR_INVALID_ARGUMENT, MIC_ERR_JOURNAL
 */
mic_rc mic_journal_stats_get(mic_journal_t *j, mic_journal_stats *stats);

/**
 * Call @p cb for every failed attempt, oldest first.
 * @retval MIC_OK
 * @retval MIC_ERR_INVALID_ARGUMENT, MIC_ERR_JOURNAL
 */
mic_rc mic_journal_failures(mic_journal_t *j, mic_journal_failure_cb *cb,
    void *arg);

/** mic_private_file_open(): create it; refuse one that exists (O_EXCL). */
#define MIC_PRIVATE_NEW 0x1u
/** mic_private_file_open(): open an existing file for reading. */
#define MIC_PRIVATE_READ 0x2u

/**
 * Open a file that holds personal data or secrets: for appending (created
 * 0600 if missing), or with MIC_PRIVATE_NEW created 0600 and never an
 * existing one, or with MIC_PRIVATE_READ for reading. Never through a
 * symbolic link (O_NOFOLLOW). The file opened must be a regular file of
 * this user with no access for group or others.
 * @param fd   receives the descriptor (O_CLOEXEC); the caller closes it
 * @param why  receives the reason of a failure in words, path first; may
 *             be NULL
 * @retval MIC_OK
 * @retval MIC_ERR_KEY_PERMISSIONS  a symlink, not a regular file, another
 *                                  user's, or a mode open to others
 * @retval MIC_ERR_EXISTS           MIC_PRIVATE_NEW and the file exists
 * @retval MIC_ERR_NOT_FOUND        MIC_PRIVATE_READ and no such file
 * @retval MIC_ERR_IO               open(2) failed (errno is kept)
 * @retval MIC_ERR_INVALID_ARGUMENT
 */
mic_rc mic_private_file_open(const char *path, unsigned flags, int *fd,
    char *why, size_t why_cap);

/**
 * Check an existing file as mic_private_file_open() does, without opening
 * it. MIC_ERR_NOT_FOUND when there is no such file.
 */
mic_rc mic_private_file_check(const char *path, char *why, size_t why_cap);

/** "queued", "in_progress", "issued", "failed_retryable", "rejected_invalid"; "unknown" otherwise. */
const char *mic_app_state_name(mic_app_state state);

#ifdef __cplusplus
}
#endif
#endif
