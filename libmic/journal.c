/*
 * The issuance journal, docs/issuance.md section 2.
 *
 * SQLite in WAL mode: readers of the summary never block the issuance
 * line, and each commit appends to the log instead of rewriting pages.
 * synchronous=FULL: every commit is fsynced before the call returns. With
 * NORMAL a power cut may lose the last commits; losing an "issued" record
 * would put a second live card in someone's hands. An fsync costs a few
 * milliseconds, a card takes seconds to personalize, so the price is nil.
 *
 * The schema carries the invariants (see SCHEMA below); this code only
 * sequences statements. Every statement is prepared once at open with
 * parameters; no SQL text is ever built from a caller's string.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include <mic/idnum.h>
#include <mic/journal.h>

#include "internal.h"
#include "mici.h"

#define BUSY_TIMEOUT_MS 10000
/* PRAGMA application_id, "MICJ": marks the file as a journal. */
#define JOURNAL_APP_ID 0x4D49434A
#define NOW "strftime('%Y-%m-%dT%H:%M:%fZ','now')"

/*
 * Version 1. The tables are STRICT, so a value of the wrong type is an
 * error, not a silent conversion.
 */
static const char schema_v1[] =
	"CREATE TABLE application ("
	" app_id TEXT PRIMARY KEY NOT NULL"
	"  CHECK (length(app_id) BETWEEN 1 AND 32),"
	" ssn TEXT NOT NULL CHECK (length(ssn) = 18),"
	" seq INTEGER NOT NULL UNIQUE,"
	" state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued',"
	"  'in_progress','issued','failed_retryable','rejected_invalid')),"
	" attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
	" reader TEXT,"
	" reason TEXT,"
	/* The application as checked (mic_application_json()), so that a
	 * reader in any process, or after a crash, writes the card from
	 * the journal and not from a batch file that may have changed. */
	" data TEXT,"
	" enqueued_at TEXT NOT NULL,"
	" updated_at TEXT NOT NULL,"
	" UNIQUE (app_id, ssn),"
	" CHECK (state <> 'rejected_invalid' OR reason IS NOT NULL),"
	" CHECK (state <> 'in_progress' OR reader IS NOT NULL)"
	") STRICT;"
	"CREATE INDEX application_queue ON application (attempts, seq)"
	" WHERE state IN ('queued','failed_retryable');"
	"CREATE INDEX application_ssn ON application (ssn);"
	"CREATE TABLE attempt ("
	" id INTEGER PRIMARY KEY,"
	" app_id TEXT NOT NULL,"
	" ssn TEXT NOT NULL,"
	" chip_serial TEXT NOT NULL CHECK (length(chip_serial) = 16),"
	" reader TEXT NOT NULL,"
	" started_at TEXT NOT NULL,"
	" finished_at TEXT,"
	" outcome TEXT NOT NULL DEFAULT 'in_progress'"
	"  CHECK (outcome IN ('in_progress','issued','failed')),"
	" reason TEXT,"
	/* The card an issued attempt made: what settlement and the deny
	 * list name a card by. */
	" card_id TEXT CHECK (card_id IS NULL OR"
	"  length(card_id) BETWEEN 1 AND 32),"
	" card_number TEXT CHECK (card_number IS NULL OR"
	"  length(card_number) BETWEEN 1 AND 16),"
	/* The ssn is copied for the index below; the key keeps it honest. */
	" FOREIGN KEY (app_id, ssn) REFERENCES application (app_id, ssn),"
	" CHECK ((outcome = 'in_progress') = (finished_at IS NULL)),"
	" CHECK (outcome <> 'failed' OR reason IS NOT NULL),"
	" CHECK (outcome = 'issued' OR (card_id IS NULL AND"
	"  card_number IS NULL))"
	") STRICT;"
	"CREATE INDEX attempt_app ON attempt (app_id, ssn);"
	/* Nobody has two live cards; no chip carries two issued cards. */
	"CREATE UNIQUE INDEX one_live_card ON attempt (ssn)"
	" WHERE outcome = 'issued';"
	"CREATE UNIQUE INDEX one_card_per_chip ON attempt (chip_serial)"
	" WHERE outcome = 'issued';"
	"CREATE UNIQUE INDEX one_card_id ON attempt (card_id)"
	" WHERE card_id IS NOT NULL;"
	"CREATE UNIQUE INDEX one_running_attempt ON attempt (app_id)"
	" WHERE outcome = 'in_progress';"
	/* Nobody is skipped: nothing disappears, final states stay final. */
	"CREATE TRIGGER application_keep BEFORE DELETE ON application BEGIN"
	" SELECT RAISE(ABORT, 'journal: applications are never deleted'); END;"
	"CREATE TRIGGER attempt_keep BEFORE DELETE ON attempt BEGIN"
	" SELECT RAISE(ABORT, 'journal: attempts are never deleted'); END;"
	"CREATE TRIGGER application_key BEFORE UPDATE OF app_id, ssn, seq"
	" ON application BEGIN"
	" SELECT RAISE(ABORT, 'journal: an application keeps its keys'); END;"
	/* Data, once there, is what was checked and maybe written to a card;
	 * an application enqueued by its keys alone may get it later. */
	"CREATE TRIGGER application_data BEFORE UPDATE OF data ON application"
	" WHEN OLD.data IS NOT NULL BEGIN"
	" SELECT RAISE(ABORT, 'journal: an application keeps its data'); END;"
	"CREATE TRIGGER application_final BEFORE UPDATE ON application"
	" WHEN OLD.state IN ('issued','rejected_invalid') BEGIN"
	" SELECT RAISE(ABORT, 'journal: the application is final'); END;"
	"CREATE TRIGGER application_issued BEFORE UPDATE OF state ON application"
	" WHEN NEW.state = 'issued' AND NOT EXISTS (SELECT 1 FROM attempt"
	"  WHERE app_id = NEW.app_id AND outcome = 'issued') BEGIN"
	" SELECT RAISE(ABORT, 'journal: issued without an issued card'); END;"
	"CREATE TRIGGER attempt_final BEFORE UPDATE ON attempt"
	" WHEN OLD.outcome <> 'in_progress' BEGIN"
	" SELECT RAISE(ABORT, 'journal: the attempt has ended'); END;"
	"CREATE TRIGGER attempt_keys BEFORE UPDATE OF id, app_id, ssn,"
	" chip_serial, reader, started_at ON attempt BEGIN"
	" SELECT RAISE(ABORT, 'journal: an attempt keeps its keys'); END;"
	"CREATE TRIGGER attempt_claimed BEFORE INSERT ON attempt"
	" WHEN NEW.outcome <> 'in_progress' OR (SELECT state FROM application"
	"  WHERE app_id = NEW.app_id) IS NOT 'in_progress' BEGIN"
	" SELECT RAISE(ABORT, 'journal: attempt for an unclaimed application');"
	" END;"
	/* The application follows its attempts, in the same statement. */
	"CREATE TRIGGER attempt_counted AFTER INSERT ON attempt BEGIN"
	" UPDATE application SET attempts = attempts + 1,"
	"  updated_at = NEW.started_at WHERE app_id = NEW.app_id; END;"
	"CREATE TRIGGER attempt_issued AFTER UPDATE OF outcome ON attempt"
	" WHEN NEW.outcome = 'issued' BEGIN"
	" UPDATE application SET state = 'issued', updated_at = NEW.finished_at"
	"  WHERE app_id = NEW.app_id; END;"
	"CREATE TRIGGER attempt_failed AFTER UPDATE OF outcome ON attempt"
	" WHEN NEW.outcome = 'failed' BEGIN"
	" UPDATE application SET state = 'failed_retryable',"
	"  updated_at = NEW.finished_at"
	"  WHERE app_id = NEW.app_id AND state = 'in_progress'; END;";

/*
 * Version 2: each issued card's transport PIN, sealed to the PIN mailer
 * (CMS, pinmail.c), written in the transaction that records the card
 * issued, so that no card counts as issued with its PIN nowhere. Kept
 * apart from attempt so that version 1 journals migrate by adding it.
 */
static const char schema_v2[] =
	"CREATE TABLE pin ("
	" attempt INTEGER PRIMARY KEY REFERENCES attempt (id),"
	" cms BLOB NOT NULL CHECK (length(cms) BETWEEN 1 AND 4096)"
	") STRICT;"
	"CREATE TRIGGER pin_keep BEFORE DELETE ON pin BEGIN"
	" SELECT RAISE(ABORT, 'journal: PINs are never deleted'); END;"
	"CREATE TRIGGER pin_final BEFORE UPDATE ON pin BEGIN"
	" SELECT RAISE(ABORT, 'journal: a PIN record never changes'); END;"
	/* Only an issued card has a PIN to mail. */
	"CREATE TRIGGER pin_issued BEFORE INSERT ON pin"
	" WHEN (SELECT outcome FROM attempt WHERE id = NEW.attempt)"
	"  IS NOT 'issued' BEGIN"
	" SELECT RAISE(ABORT, 'journal: a PIN for a card not issued'); END;";

enum stmt {
	S_APP_GET,
	S_APP_INSERT,
	S_LIVE_CARD,
	S_CLAIM,
	S_RELEASE,
	S_REJECT,
	S_ATTEMPT_INSERT,
	S_ATTEMPT_GET,
	S_ATTEMPT_END,
	S_RECOVER_ATTEMPTS,
	S_RECOVER_CLAIMS,
	S_COUNT_STATES,
	S_COUNT_OUTCOMES,
	S_FAILURES,
	S_APP_DATA,
	S_APP_SET_DATA,
	S_CHIP_HISTORY,
	S_PIN_INSERT,
	S_PINS,
	S_PINS_MISSING,
	S_NSTMT
};

static const char *const stmt_sql[S_NSTMT] = {
	[S_APP_GET] = "SELECT ssn, state, attempts, "
	    "(SELECT count(*) FROM attempt WHERE app_id = ?1 AND "
	    "outcome = 'in_progress') FROM application WHERE app_id = ?1",
	[S_APP_INSERT] = "INSERT INTO application (app_id, ssn, seq, state, "
	    "reason, data, enqueued_at, updated_at) SELECT ?1, ?2, "
	    "coalesce(max(seq), 0) + 1, ?3, ?4, ?5, " NOW ", " NOW
	    " FROM application",
	[S_LIVE_CARD] = "SELECT app_id FROM attempt WHERE ssn = ?1 AND "
	    "outcome = 'issued'",
	[S_CLAIM] = "UPDATE application SET state = 'in_progress', "
	    "reader = ?1, updated_at = " NOW " WHERE app_id = (SELECT app_id "
	    "FROM application WHERE state IN ('queued','failed_retryable') "
	    "ORDER BY attempts, seq LIMIT 1) RETURNING app_id",
	[S_RELEASE] = "UPDATE application SET state = 'queued', "
	    "reader = NULL, updated_at = " NOW " WHERE app_id = ?1",
	[S_REJECT] = "UPDATE application SET state = 'rejected_invalid', "
	    "reason = ?2, updated_at = " NOW " WHERE app_id = ?1",
	[S_ATTEMPT_INSERT] = "INSERT INTO attempt (app_id, ssn, chip_serial, "
	    "reader, started_at) SELECT app_id, ssn, ?2, ?3, " NOW
	    " FROM application WHERE app_id = ?1",
	[S_ATTEMPT_GET] = "SELECT a.app_id, a.ssn, a.outcome FROM attempt a "
	    "WHERE a.id = ?1",
	[S_ATTEMPT_END] = "UPDATE attempt SET outcome = ?2, reason = ?3, "
	    "card_id = ?4, card_number = ?5, finished_at = " NOW
	    " WHERE id = ?1 AND outcome = 'in_progress'",
	[S_RECOVER_ATTEMPTS] = "UPDATE attempt SET outcome = 'failed', "
	    "reason = 'interrupted', finished_at = " NOW
	    " WHERE outcome = 'in_progress'",
	[S_RECOVER_CLAIMS] = "UPDATE application SET state = 'queued', "
	    "reader = NULL, updated_at = " NOW " WHERE state = 'in_progress'",
	[S_COUNT_STATES] = "SELECT state, count(*) FROM application "
	    "GROUP BY state",
	[S_COUNT_OUTCOMES] = "SELECT outcome, count(*) FROM attempt "
	    "GROUP BY outcome",
	[S_FAILURES] = "SELECT id, app_id, chip_serial, reader, started_at, "
	    "finished_at, reason FROM attempt WHERE outcome = 'failed' "
	    "ORDER BY id",
	[S_APP_DATA] = "SELECT data FROM application WHERE app_id = ?1",
	[S_APP_SET_DATA] = "UPDATE application SET data = ?2 WHERE app_id = ?1"
	    " AND data IS NULL AND state NOT IN ('issued','rejected_invalid')",
	[S_CHIP_HISTORY] = "SELECT count(*) FILTER (WHERE outcome = 'failed'),"
	    " count(*) FILTER (WHERE outcome = 'issued') FROM attempt"
	    " WHERE chip_serial = ?1",
	[S_PIN_INSERT] = "INSERT INTO pin (attempt, cms) VALUES (?1, ?2)",
	[S_PINS] = "SELECT a.id, a.app_id, a.chip_serial, a.card_id, "
	    "a.card_number, a.finished_at, p.cms FROM attempt a LEFT JOIN pin p "
	    "ON p.attempt = a.id WHERE a.outcome = 'issued' ORDER BY a.id",
	[S_PINS_MISSING] = "SELECT a.id, a.app_id, a.chip_serial, a.card_id, "
	    "a.card_number, a.finished_at, NULL FROM attempt a WHERE "
	    "a.outcome = 'issued' AND NOT EXISTS (SELECT 1 FROM pin p WHERE "
	    "p.attempt = a.id) ORDER BY a.id",
};

struct mic_journal {
	sqlite3 *db;
	sqlite3_stmt *st[S_NSTMT];
	int bulk;
	char errmsg[256];   /* SQLite's reason for the last failure */
};

static const char *const state_names[] = {
	[MIC_APP_QUEUED] = "queued",
	[MIC_APP_IN_PROGRESS] = "in_progress",
	[MIC_APP_ISSUED] = "issued",
	[MIC_APP_FAILED_RETRYABLE] = "failed_retryable",
	[MIC_APP_REJECTED] = "rejected_invalid",
};

const char *
mic_app_state_name(mic_app_state state)
{
	if ((size_t)state >= MIC_ARRAY_LEN(state_names) ||
	    state_names[state] == NULL)
		return "unknown";

	return state_names[state];
}

static mic_app_state
state_of(const unsigned char *s)
{
	size_t i;

	for (i = 1; s != NULL && i < MIC_ARRAY_LEN(state_names); i++)
		if (strcmp((const char *)s, state_names[i]) == 0)
			return (mic_app_state)i;

	return 0;
}

/*
 * The mic_rc for SQLite's @p src. A constraint of the schema names the
 * invariant it guards; the two that a caller can meet in normal operation
 * get their own codes.
 */
static mic_rc
db_rc(mic_journal_t *j, int src, const char *what)
{
	const char *msg = sqlite3_errmsg(j->db);
	int ext = sqlite3_extended_errcode(j->db);

	mici_debug("journal: %s: %s (%d)", what, msg, ext);
	snprintf(j->errmsg, sizeof(j->errmsg), "%s", msg);
	if (src == SQLITE_NOMEM)
		return MIC_ERR_NOMEM;
	if (src == SQLITE_BUSY || src == SQLITE_LOCKED)
		return MIC_ERR_TIMEOUT;
	if (ext == SQLITE_CONSTRAINT_UNIQUE && strstr(msg, "attempt.ssn"))
		return MIC_ERR_LIVE_CARD;
	if (ext == SQLITE_CONSTRAINT_UNIQUE &&
	    (strstr(msg, "attempt.chip_serial") ||
	    strstr(msg, "attempt.card_id")))
		return MIC_ERR_DUPLICATE;
	if (ext == SQLITE_CONSTRAINT_TRIGGER)
		return MIC_ERR_STATE;

	return MIC_ERR_JOURNAL;
}

static mic_rc
exec(mic_journal_t *j, const char *sql)
{
	int src;

	if ((src = sqlite3_exec(j->db, sql, NULL, NULL, NULL)) != SQLITE_OK)
		return db_rc(j, src, sql);

	return MIC_OK;
}

/* A statement, reset and with its bindings cleared: ready to bind. */
static sqlite3_stmt *
stmt(mic_journal_t *j, enum stmt s)
{
	sqlite3_reset(j->st[s]);
	sqlite3_clear_bindings(j->st[s]);

	return j->st[s];
}

static mic_rc
bind_text(mic_journal_t *j, sqlite3_stmt *st, int i, const char *s)
{
	int src;

	if ((src = s == NULL ? sqlite3_bind_null(st, i) :
	    sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT)) != SQLITE_OK)
		return db_rc(j, src, "bind");

	return MIC_OK;
}

/* Column @p i as text: "" for NULL. */
static const char *
col(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s == NULL ? "" : (const char *)s;
}

/*
 * Step a statement that returns at most one row: MIC_OK with the row to
 * read (the caller resets @p st), MIC_ERR_NOT_FOUND for none, or the
 * error; @p st is reset unless there is a row.
 */
static mic_rc
one_row(mic_journal_t *j, sqlite3_stmt *st, const char *what)
{
	int src = sqlite3_step(st);
	mic_rc rc;

	if (src == SQLITE_ROW)
		return MIC_OK;
	rc = src == SQLITE_DONE ? MIC_ERR_NOT_FOUND : db_rc(j, src, what);
	sqlite3_reset(st);
	return rc;
}

/* Run a statement that returns no row. */
static mic_rc
run(mic_journal_t *j, sqlite3_stmt *st, const char *what)
{
	int src = sqlite3_step(st);

	sqlite3_reset(st);
	if (src != SQLITE_DONE && src != SQLITE_ROW)
		return db_rc(j, src, what);

	return MIC_OK;
}

/*
 * Transactions: BEGIN IMMEDIATE takes the write lock at once, so two
 * connections never both read and then fight to write (a deadlock SQLite
 * can only break by failing one). Inside a bulk, a savepoint.
 */
static mic_rc
txn_begin(mic_journal_t *j)
{
	return exec(j, sqlite3_get_autocommit(j->db) ? "BEGIN IMMEDIATE" :
	    "SAVEPOINT mic");
}

static mic_rc
txn_commit(mic_journal_t *j)
{
	return exec(j, j->bulk ? "RELEASE mic" : "COMMIT");
}

static void
txn_rollback(mic_journal_t *j)
{
	if (j->bulk)
		(void)exec(j, "ROLLBACK TO mic; RELEASE mic");
	else if (!sqlite3_get_autocommit(j->db))
		(void)exec(j, "ROLLBACK");
}

static mic_rc
pragma_int(mic_journal_t *j, const char *sql, int *out)
{
	sqlite3_stmt *st = NULL;
	int src;

	if ((src = sqlite3_prepare_v2(j->db, sql, -1, &st, NULL)) !=
	    SQLITE_OK)
		return db_rc(j, src, sql);
	if ((src = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return db_rc(j, src, sql);
	}
	*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);

	return MIC_OK;
}

/* Create the schema in a new file, or check an existing file's version. */
static mic_rc
schema(mic_journal_t *j)
{
	int version = 0, appid = 0;
	char sql[64];
	mic_rc rc;

	/* Under the write lock, so two first openers cannot both create. */
	if ((rc = exec(j, "BEGIN IMMEDIATE")) != MIC_OK)
		return rc;
	if ((rc = pragma_int(j, "PRAGMA user_version", &version)) != MIC_OK ||
	    (rc = pragma_int(j, "PRAGMA application_id", &appid)) != MIC_OK)
		goto fail;
	if (version == 0 && appid == 0) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d; "
		    "PRAGMA application_id = %d", MIC_JOURNAL_VERSION,
		    JOURNAL_APP_ID);
		if ((rc = exec(j, schema_v1)) != MIC_OK ||
		    (rc = exec(j, schema_v2)) != MIC_OK ||
		    (rc = exec(j, sql)) != MIC_OK)
			goto fail;
	} else if (appid != JOURNAL_APP_ID) {
		mici_debug("%s: application_id %08X: not a journal", __func__,
		    (unsigned)appid);
		rc = MIC_ERR_JOURNAL;
		goto fail;
	} else if (version > MIC_JOURNAL_VERSION) {
		mici_debug("%s: schema version %d is newer than %d", __func__,
		    version, MIC_JOURNAL_VERSION);
		rc = MIC_ERR_UNSUPPORTED;
		goto fail;
	} else if (version == 1) {
		/* Its issued cards keep no PIN record: mic_journal_pins()
		 * lists them as missing. */
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		    MIC_JOURNAL_VERSION);
		if ((rc = exec(j, schema_v2)) != MIC_OK ||
		    (rc = exec(j, sql)) != MIC_OK)
			goto fail;
	} else if (version != MIC_JOURNAL_VERSION) {
		mici_debug("%s: schema version %d", __func__, version);
		rc = MIC_ERR_JOURNAL;
		goto fail;
	}

	return exec(j, "COMMIT");
fail:
	(void)exec(j, "ROLLBACK");

	return rc;
}

/*
 * The journal and its -wal and -shm are the holders' personal data: an
 * existing one must be ours and owner-only, and a new journal is made
 * 0600 before SQLite opens it, since SQLite creates -wal and -shm with
 * the mode of the database file.
 */
static mic_rc
private_files(const char *path, char *why, size_t cap)
{
	static const char *const sfx[] = { "-wal", "-shm" };
	char p[4096];
	size_t i;
	int fd;
	mic_rc rc;

	rc = mic_private_file_check(path, why, cap);
	if (rc == MIC_ERR_NOT_FOUND) {
		if ((rc = mic_private_file_open(path, MIC_PRIVATE_NEW, &fd, why,
		    cap)) == MIC_ERR_EXISTS)
			rc = mic_private_file_check(path, why, cap);
		else if (rc == MIC_OK)
			close(fd);
	}
	if (rc != MIC_OK)
		return rc;
	for (i = 0; i < MIC_ARRAY_LEN(sfx); i++) {
		if (snprintf(p, sizeof(p), "%s%s", path, sfx[i]) >=
		    (int)sizeof(p))
			return MIC_ERR_INVALID_ARGUMENT;
		rc = mic_private_file_check(p, why, cap);
		if (rc != MIC_OK && rc != MIC_ERR_NOT_FOUND)
			return rc;
	}
	return MIC_OK;
}

mic_rc
mic_journal_open(mic_journal_t **jp, const char *path)
{
	return mic_journal_open_ex(jp, path, NULL, 0);
}

const char *
mic_journal_errmsg(const mic_journal_t *j)
{
	return j == NULL ? "" : j->errmsg;
}

mic_rc
mic_journal_open_ex(mic_journal_t **jp, const char *path, char *why,
    size_t cap)
{
	mic_journal_t *j = NULL;
	char mode[16] = "";
	sqlite3_stmt *st = NULL;
	size_t i;
	int src;
	mic_rc rc;

	if (why != NULL && cap > 0)
		*why = '\0';
	if (jp == NULL || path == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	*jp = NULL;
	if ((rc = private_files(path, why, cap)) != MIC_OK) {
		mici_debug("%s: %s", __func__, why != NULL ? why : path);
		return rc;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		mici_debug("%s: calloc", __func__);
		return MIC_ERR_NOMEM;
	}
	/* One connection per handle and per thread: no SQLite mutex. */
	if ((src = sqlite3_open_v2(path, &j->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL)) != SQLITE_OK) {
		rc = j->db == NULL ? MIC_ERR_NOMEM : db_rc(j, src, path);
		goto fail;
	}
	sqlite3_extended_result_codes(j->db, 1);
	sqlite3_busy_timeout(j->db, BUSY_TIMEOUT_MS);
	/* WAL first: it is the file's mode, and it must hold before any
	 * schema change. A file system without shared memory refuses it. */
	if ((src = sqlite3_prepare_v2(j->db, "PRAGMA journal_mode = WAL", -1,
	    &st, NULL)) != SQLITE_OK || (src = sqlite3_step(st)) !=
	    SQLITE_ROW) {
		rc = db_rc(j, src, "journal_mode");
		goto fail;
	}
	snprintf(mode, sizeof(mode), "%s",
	    (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	st = NULL;
	if (strcmp(mode, "wal") != 0) {
		mici_debug("%s: journal_mode is %s, not wal", __func__, mode);
		rc = MIC_ERR_JOURNAL;
		goto fail;
	}
	/* A bounded page cache (256 KiB, SQLite's default is 2 MiB): a line
	 * holds one connection per reader for days, and its memory must not
	 * grow with the journal. Every query is by index, so the cache
	 * needs only the hot pages of the queue. */
	if ((rc = exec(j, "PRAGMA synchronous = FULL; "
	    "PRAGMA foreign_keys = ON; PRAGMA cache_size = -256")) != MIC_OK || (rc = schema(j)) !=
	    MIC_OK)
		goto fail;
	for (i = 0; i < S_NSTMT; i++)
		if ((src = sqlite3_prepare_v3(j->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &j->st[i], NULL)) != SQLITE_OK) {
			rc = db_rc(j, src, stmt_sql[i]);
			goto fail;
		}
	*jp = j;

	return MIC_OK;
fail:
	if (why != NULL && cap > 0 && j != NULL)
		snprintf(why, cap, "%s: %s", path, j->errmsg[0] != '\0' ?
		    j->errmsg : mic_strerror(rc));
	sqlite3_finalize(st);
	mic_journal_free(&j);

	return rc;
}

void
mic_journal_free(mic_journal_t **jp)
{
	mic_journal_t *j;
	size_t i;

	if (jp == NULL || (j = *jp) == NULL)
		return;
	for (i = 0; i < S_NSTMT; i++)
		sqlite3_finalize(j->st[i]);
	if (j->db != NULL) {
		if (!sqlite3_get_autocommit(j->db))
			(void)sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(j->db);
	}
	free(j);
	*jp = NULL;
}

static int
text_ok(const char *s, size_t max)
{
	size_t n;

	return s != NULL && (n = strnlen(s, max + 1)) > 0 && n <= max;
}

/* The application's ssn (canonical), state and running attempts. */
static mic_rc
app_get(mic_journal_t *j, const char *app_id, char ssn[MIC_IDNUM_LEN + 1],
    mic_app_state *state, unsigned *attempts, int *running)
{
	sqlite3_stmt *st = stmt(j, S_APP_GET);
	mic_rc rc;

	if ((rc = bind_text(j, st, 1, app_id)) != MIC_OK ||
	    (rc = one_row(j, st, "app_get")) != MIC_OK)
		return rc;
	if (ssn != NULL)
		snprintf(ssn, MIC_IDNUM_LEN + 1, "%s", col(st, 0));
	if (state != NULL)
		*state = state_of(sqlite3_column_text(st, 1));
	if (attempts != NULL)
		*attempts = (unsigned)sqlite3_column_int(st, 2);
	if (running != NULL)
		*running = sqlite3_column_int(st, 3);
	sqlite3_reset(st);

	return MIC_OK;
}

/* The application that gave @p ssn a live card, or MIC_ERR_NOT_FOUND. */
static mic_rc
live_card(mic_journal_t *j, const char *ssn, char owner[MIC_APP_ID_MAX + 1])
{
	sqlite3_stmt *st = stmt(j, S_LIVE_CARD);
	mic_rc rc;

	if ((rc = bind_text(j, st, 1, ssn)) != MIC_OK ||
	    (rc = one_row(j, st, "live_card")) != MIC_OK)
		return rc;
	snprintf(owner, MIC_APP_ID_MAX + 1, "%s", col(st, 0));
	sqlite3_reset(st);

	return MIC_OK;
}

static mic_rc
reject(mic_journal_t *j, const char *app_id, const char *reason)
{
	sqlite3_stmt *st = stmt(j, S_REJECT);
	mic_rc rc;

	if ((rc = bind_text(j, st, 1, app_id)) != MIC_OK ||
	    (rc = bind_text(j, st, 2, reason)) != MIC_OK)
		return rc;

	return run(j, st, "reject");
}

/*
 * An application id enqueued again must bring the data it came with: the
 * same batch run twice is fine, a changed application under an old id is
 * a mistake that would otherwise be dropped without a word. Without data
 * (mic_journal_enqueue) there is nothing to compare; an application that
 * had none gets this data.
 */
static mic_rc
same_data(mic_journal_t *j, const char *app_id, const char *data)
{
	sqlite3_stmt *st;
	const unsigned char *have;
	mic_rc rc;
	int src, st_null;

	if (data == NULL)
		return MIC_OK;
	st = stmt(j, S_APP_DATA);
	if ((rc = bind_text(j, st, 1, app_id)) != MIC_OK)
		return rc;
	if ((src = sqlite3_step(st)) != SQLITE_ROW)
		return db_rc(j, src, "app_data");
	have = sqlite3_column_text(st, 0);
	rc = have != NULL && strcmp((const char *)have, data) != 0 ?
	    MIC_ERR_DUPLICATE : MIC_OK;
	st_null = have == NULL;
	sqlite3_reset(st);
	if (rc != MIC_OK) {
		mici_debug("journal: %s is in the journal with other data",
		    app_id);
		return rc;
	}
	/* Enqueued by its keys alone before: the data comes now. A final
	 * application needs none. */
	if (st_null) {
		st = stmt(j, S_APP_SET_DATA);
		if ((rc = bind_text(j, st, 1, app_id)) != MIC_OK ||
		    (rc = bind_text(j, st, 2, data)) != MIC_OK)
			return rc;
		rc = run(j, st, "app_set_data");
	}
	return rc;
}

static mic_rc
enqueue(mic_journal_t *j, const char *app_id, const char *ssn,
    const char *data)
{
	char have[MIC_IDNUM_LEN + 1], owner[MIC_APP_ID_MAX + 1];
	char reason[MIC_REASON_MAX];
	mic_idnum_info info;
	sqlite3_stmt *st;
	mic_rc rc, result = MIC_OK;

	if (j == NULL || ssn == NULL || !mici_ident_ok(app_id, MIC_APP_ID_MAX,
	    NULL)) {
		mici_debug("%s: bad argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	/* No reference date: the batch checked it; the journal only needs
	 * a well-formed number, so a rerun next year still matches. */
	if ((rc = mic_idnum_check(ssn, NULL, &info)) != MIC_OK) {
		mici_debug("%s: %s: bad ID number", __func__, app_id);
		return rc;
	}
	if ((rc = txn_begin(j)) != MIC_OK)
		return rc;
	if ((rc = app_get(j, app_id, have, NULL, NULL, NULL)) == MIC_OK) {
		if (strcmp(have, info.number) != 0) {
			mici_debug("%s: %s is in the journal with another "
			    "ID number", __func__, app_id);
			rc = MIC_ERR_DUPLICATE;
			goto fail;
		}
		if ((rc = same_data(j, app_id, data)) != MIC_OK)
			goto fail;
		return txn_commit(j);
	}
	if (rc != MIC_ERR_NOT_FOUND)
		goto fail;
	st = stmt(j, S_APP_INSERT);
	if ((rc = live_card(j, info.number, owner)) == MIC_OK) {
		snprintf(reason, sizeof(reason), "holder already has a live "
		    "card (application %s)", owner);
		if ((rc = bind_text(j, st, 3, "rejected_invalid")) != MIC_OK ||
		    (rc = bind_text(j, st, 4, reason)) != MIC_OK)
			goto fail;
		result = MIC_ERR_LIVE_CARD;
	} else if (rc == MIC_ERR_NOT_FOUND) {
		if ((rc = bind_text(j, st, 3, "queued")) != MIC_OK)
			goto fail;
	} else
		goto fail;
	if ((rc = bind_text(j, st, 1, app_id)) != MIC_OK ||
	    (rc = bind_text(j, st, 2, info.number)) != MIC_OK ||
	    (rc = bind_text(j, st, 5, data)) != MIC_OK ||
	    (rc = run(j, st, "enqueue")) != MIC_OK ||
	    (rc = txn_commit(j)) != MIC_OK)
		goto fail;

	return result;
fail:
	txn_rollback(j);

	return rc;
}

mic_rc
mic_journal_enqueue(mic_journal_t *j, const char *app_id, const char *ssn)
{
	return enqueue(j, app_id, ssn, NULL);
}

mic_rc
mic_journal_enqueue_app(mic_journal_t *j, const mic_application_t *app)
{
	const char *json = mic_application_json(app);

	if (j == NULL || app == NULL || json == NULL) {
		mici_debug("%s: bad argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	return enqueue(j, mic_application_id(app),
	    mic_holder_ssn(mic_application_holder(app)), json);
}

mic_rc
mic_journal_app_data(mic_journal_t *j, const char *app_id, char **json)
{
	sqlite3_stmt *st;
	const unsigned char *s;
	mic_rc rc;

	if (json != NULL)
		*json = NULL;
	if (j == NULL || app_id == NULL || json == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	st = stmt(j, S_APP_DATA);
	if ((rc = bind_text(j, st, 1, app_id)) != MIC_OK ||
	    (rc = one_row(j, st, "app_data")) != MIC_OK)
		return rc;
	if ((s = sqlite3_column_text(st, 0)) == NULL)
		rc = MIC_ERR_NOT_FOUND;
	else if ((*json = strdup((const char *)s)) == NULL)
		rc = MIC_ERR_NOMEM;
	sqlite3_reset(st);
	return rc;
}

mic_rc
mic_journal_chip_history(mic_journal_t *j,
    const uint8_t chip_serial[MIC_CHIP_SERIAL_LEN], unsigned *failed,
    unsigned *issued)
{
	char hex[2 * MIC_CHIP_SERIAL_LEN + 1];
	sqlite3_stmt *st;
	mic_rc rc;
	size_t i;
	int src;

	if (j == NULL || chip_serial == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	for (i = 0; i < MIC_CHIP_SERIAL_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02X", chip_serial[i]);
	st = stmt(j, S_CHIP_HISTORY);
	if ((rc = bind_text(j, st, 1, hex)) != MIC_OK)
		return rc;
	if ((src = sqlite3_step(st)) != SQLITE_ROW)
		return db_rc(j, src, "chip_history");
	if (failed != NULL)
		*failed = (unsigned)sqlite3_column_int(st, 0);
	if (issued != NULL)
		*issued = (unsigned)sqlite3_column_int(st, 1);
	sqlite3_reset(st);
	return MIC_OK;
}

mic_rc
mic_journal_bulk_begin(mic_journal_t *j)
{
	mic_rc rc;

	if (j == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if (j->bulk || !sqlite3_get_autocommit(j->db)) {
		mici_debug("%s: a transaction is open", __func__);
		return MIC_ERR_STATE;
	}
	if ((rc = exec(j, "BEGIN IMMEDIATE")) != MIC_OK)
		return rc;
	j->bulk = 1;

	return MIC_OK;
}

mic_rc
mic_journal_bulk_end(mic_journal_t *j, int commit)
{
	mic_rc rc;

	if (j == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if (!j->bulk) {
		mici_debug("%s: no bulk", __func__);
		return MIC_ERR_STATE;
	}
	if (!commit) {
		j->bulk = 0;
		return exec(j, "ROLLBACK");
	}
	/* A busy COMMIT leaves the transaction open: the caller may retry. */
	rc = exec(j, "COMMIT");
	j->bulk = !sqlite3_get_autocommit(j->db);

	return rc;
}

mic_rc
mic_journal_claim(mic_journal_t *j, const char *reader,
    char app_id[MIC_APP_ID_MAX + 1])
{
	sqlite3_stmt *st;
	mic_rc rc;
	int src;

	if (j == NULL || app_id == NULL || !text_ok(reader,
	    MIC_READER_NAME_MAX)) {
		mici_debug("%s: bad argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	*app_id = '\0';
	/* One statement: the pick and the update are one write transaction,
	 * so two connections cannot take the same row. */
	st = stmt(j, S_CLAIM);
	if ((rc = bind_text(j, st, 1, reader)) != MIC_OK ||
	    (rc = one_row(j, st, "claim")) != MIC_OK)
		return rc;
	snprintf(app_id, MIC_APP_ID_MAX + 1, "%s", col(st, 0));
	/* RETURNING: the change commits when the statement is reset. */
	if ((src = sqlite3_step(st)) != SQLITE_DONE) {
		rc = db_rc(j, src, "claim");
		sqlite3_reset(st);
		*app_id = '\0';
		return rc;
	}
	if ((src = sqlite3_reset(st)) != SQLITE_OK) {
		*app_id = '\0';
		return db_rc(j, src, "claim");
	}

	return MIC_OK;
}

mic_rc
mic_journal_release(mic_journal_t *j, const char *app_id)
{
	mic_app_state state;
	sqlite3_stmt *st;
	int running;
	mic_rc rc;

	if (j == NULL || app_id == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if ((rc = txn_begin(j)) != MIC_OK)
		return rc;
	if ((rc = app_get(j, app_id, NULL, &state, NULL, &running)) != MIC_OK)
		goto fail;
	if (state != MIC_APP_IN_PROGRESS || running) {
		mici_debug("%s: %s is %s, %d running", __func__, app_id,
		    mic_app_state_name(state), running);
		rc = MIC_ERR_STATE;
		goto fail;
	}
	st = stmt(j, S_RELEASE);
	if ((rc = bind_text(j, st, 1, app_id)) != MIC_OK ||
	    (rc = run(j, st, "release")) != MIC_OK ||
	    (rc = txn_commit(j)) != MIC_OK)
		goto fail;

	return MIC_OK;
fail:
	txn_rollback(j);

	return rc;
}

mic_rc
mic_journal_attempt_begin(mic_journal_t *j, const char *app_id,
    const uint8_t chip_serial[MIC_CHIP_SERIAL_LEN], const char *reader,
    int64_t *attempt)
{
	char ssn[MIC_IDNUM_LEN + 1], owner[MIC_APP_ID_MAX + 1];
	char hex[2 * MIC_CHIP_SERIAL_LEN + 1], reason[MIC_REASON_MAX];
	mic_app_state state;
	sqlite3_stmt *st;
	int running;
	size_t i;
	mic_rc rc;

	if (j == NULL || app_id == NULL || chip_serial == NULL ||
	    attempt == NULL || !text_ok(reader, MIC_READER_NAME_MAX)) {
		mici_debug("%s: bad argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	*attempt = 0;
	for (i = 0; i < MIC_CHIP_SERIAL_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02X", chip_serial[i]);
	if ((rc = txn_begin(j)) != MIC_OK)
		return rc;
	if ((rc = app_get(j, app_id, ssn, &state, NULL, &running)) != MIC_OK)
		goto fail;
	if (state != MIC_APP_IN_PROGRESS || running) {
		mici_debug("%s: %s is %s, %d running", __func__, app_id,
		    mic_app_state_name(state), running);
		rc = MIC_ERR_STATE;
		goto fail;
	}
	if ((rc = live_card(j, ssn, owner)) == MIC_OK) {
		/* Another application of the same holder won the race: say
		 * so before a blank card is spent. */
		snprintf(reason, sizeof(reason), "holder already has a live "
		    "card (application %s)", owner);
		if ((rc = reject(j, app_id, reason)) != MIC_OK ||
		    (rc = txn_commit(j)) != MIC_OK)
			goto fail;
		return MIC_ERR_LIVE_CARD;
	}
	if (rc != MIC_ERR_NOT_FOUND)
		goto fail;
	st = stmt(j, S_ATTEMPT_INSERT);
	if ((rc = bind_text(j, st, 1, app_id)) != MIC_OK ||
	    (rc = bind_text(j, st, 2, hex)) != MIC_OK ||
	    (rc = bind_text(j, st, 3, reader)) != MIC_OK ||
	    (rc = run(j, st, "attempt_begin")) != MIC_OK)
		goto fail;
	*attempt = sqlite3_last_insert_rowid(j->db);
	if ((rc = txn_commit(j)) != MIC_OK) {
		*attempt = 0;
		goto fail;
	}

	return MIC_OK;
fail:
	txn_rollback(j);

	return rc;
}

/* Set the outcome of a running attempt; its triggers move the application. */
static mic_rc
attempt_set(mic_journal_t *j, int64_t attempt, const char *outcome,
    const char *reason, const char *card_id, const char *card_number)
{
	sqlite3_stmt *st = stmt(j, S_ATTEMPT_END);
	mic_rc rc;
	int src;

	if ((src = sqlite3_bind_int64(st, 1, attempt)) != SQLITE_OK)
		return db_rc(j, src, "bind");
	if ((rc = bind_text(j, st, 2, outcome)) != MIC_OK ||
	    (rc = bind_text(j, st, 3, reason)) != MIC_OK ||
	    (rc = bind_text(j, st, 4, card_id)) != MIC_OK ||
	    (rc = bind_text(j, st, 5, card_number)) != MIC_OK ||
	    (rc = run(j, st, "attempt_end")) != MIC_OK)
		return rc;
	if (sqlite3_changes(j->db) != 1)
		return MIC_ERR_STATE;

	return MIC_OK;
}

/* The sealed PIN of an attempt just made issued. */
static mic_rc
pin_insert(mic_journal_t *j, int64_t attempt, const uint8_t *cms, size_t len)
{
	sqlite3_stmt *st = stmt(j, S_PIN_INSERT);
	int src;

	if ((src = sqlite3_bind_int64(st, 1, attempt)) != SQLITE_OK ||
	    (src = sqlite3_bind_blob(st, 2, cms, (int)len,
	    SQLITE_TRANSIENT)) != SQLITE_OK)
		return db_rc(j, src, "bind");
	return run(j, st, "pin_insert");
}

static mic_rc
attempt_end(mic_journal_t *j, int64_t attempt, mic_outcome outcome,
    const char *reason, const char *card_id, const char *card_number,
    const uint8_t *pin_cms, size_t pin_len)
{
	char app_id[MIC_APP_ID_MAX + 1] = "";
	sqlite3_stmt *st;
	mic_rc rc, why;
	int src;

	if ((rc = txn_begin(j)) != MIC_OK)
		return rc;
	st = stmt(j, S_ATTEMPT_GET);
	if ((src = sqlite3_bind_int64(st, 1, attempt)) != SQLITE_OK) {
		rc = db_rc(j, src, "bind");
		goto fail;
	}
	if ((rc = one_row(j, st, "attempt_get")) != MIC_OK)
		goto fail;
	snprintf(app_id, sizeof(app_id), "%s", col(st, 0));
	sqlite3_reset(st);
	if (outcome == MIC_OUTCOME_FAILED)
		rc = attempt_set(j, attempt, "failed", reason, NULL, NULL);
	else
		rc = attempt_set(j, attempt, "issued", NULL, card_id,
		    card_number);
	/* The PIN in the transaction that makes the card issued: both are
	 * on disk at the commit, or neither. */
	if (rc == MIC_OK && pin_cms != NULL)
		rc = pin_insert(j, attempt, pin_cms, pin_len);
	if (rc == MIC_OK && mici_fault("journal-before-commit"))
		mici_fault_kill();
	if (rc == MIC_OK) {
		if ((rc = txn_commit(j)) != MIC_OK)
			goto fail;
		return MIC_OK;
	}
	if (outcome != MIC_OUTCOME_ISSUED || (rc != MIC_ERR_LIVE_CARD &&
	    rc != MIC_ERR_DUPLICATE))
		goto fail;
	/*
	 * The schema refused a second live card for the holder or the chip:
	 * the card in the reader is void. Record that, in the same
	 * transaction, so the application does not hang in progress.
	 */
	why = rc;
	if ((rc = attempt_set(j, attempt, "failed", why == MIC_ERR_LIVE_CARD ?
	    "second live card for the holder refused; void the card" :
	    "the chip or the card id already has an issued card; void the "
	    "card", NULL, NULL)) != MIC_OK)
		goto fail;
	if (why == MIC_ERR_LIVE_CARD && (rc = reject(j, app_id,
	    "holder already has a live card")) != MIC_OK)
		goto fail;
	if ((rc = txn_commit(j)) != MIC_OK)
		goto fail;

	return why;
fail:
	txn_rollback(j);

	return rc;
}

mic_rc
mic_journal_attempt_end(mic_journal_t *j, int64_t attempt,
    mic_outcome outcome, const char *reason)
{
	if (j == NULL || (outcome != MIC_OUTCOME_ISSUED &&
	    outcome != MIC_OUTCOME_FAILED) || (outcome == MIC_OUTCOME_FAILED &&
	    !text_ok(reason, MIC_REASON_MAX))) {
		mici_debug("%s: bad argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	return attempt_end(j, attempt, outcome, reason, NULL, NULL, NULL, 0);
}

mic_rc
mic_journal_attempt_issued(mic_journal_t *j, int64_t attempt,
    const char *card_id, const char *card_number)
{
	if (j == NULL || !text_ok(card_id, MIC_CARDID_LEN) ||
	    !text_ok(card_number, MIC_CARD_NUMBER_LEN)) {
		mici_debug("%s: bad argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	return attempt_end(j, attempt, MIC_OUTCOME_ISSUED, NULL, card_id,
	    card_number, NULL, 0);
}

mic_rc
mic_journal_attempt_issued_pin(mic_journal_t *j, int64_t attempt,
    const char *card_id, const char *card_number, const uint8_t *pin_cms,
    size_t pin_cms_len)
{
	if (j == NULL || !text_ok(card_id, MIC_CARDID_LEN) ||
	    !text_ok(card_number, MIC_CARD_NUMBER_LEN) || pin_cms == NULL ||
	    pin_cms_len == 0 || pin_cms_len > MIC_JOURNAL_PIN_MAX) {
		mici_debug("%s: bad argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	return attempt_end(j, attempt, MIC_OUTCOME_ISSUED, NULL, card_id,
	    card_number, pin_cms, pin_cms_len);
}

mic_rc
mic_journal_pins(mic_journal_t *j, int missing_only, mic_journal_pin_cb *cb,
    void *arg)
{
	mic_journal_pin p;
	sqlite3_stmt *st;
	int src;

	if (j == NULL || cb == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	st = stmt(j, missing_only ? S_PINS_MISSING : S_PINS);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		p.attempt = sqlite3_column_int64(st, 0);
		p.app_id = col(st, 1);
		p.chip_serial = col(st, 2);
		p.card_id = col(st, 3);
		p.card_number = col(st, 4);
		p.finished = col(st, 5);
		p.pin_cms = sqlite3_column_blob(st, 6);
		p.pin_cms_len = (size_t)sqlite3_column_bytes(st, 6);
		if (p.pin_cms_len == 0)
			p.pin_cms = NULL;
		if (cb(&p, arg) != 0) {
			src = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	if (src != SQLITE_DONE)
		return db_rc(j, src, "pins");

	return MIC_OK;
}

mic_rc
mic_journal_reject(mic_journal_t *j, const char *app_id, const char *reason)
{
	mic_app_state state;
	int running;
	mic_rc rc;

	if (j == NULL || app_id == NULL || !text_ok(reason, MIC_REASON_MAX)) {
		mici_debug("%s: bad argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((rc = txn_begin(j)) != MIC_OK)
		return rc;
	if ((rc = app_get(j, app_id, NULL, &state, NULL, &running)) != MIC_OK)
		goto fail;
	if (state == MIC_APP_ISSUED || running) {
		mici_debug("%s: %s is %s, %d running", __func__, app_id,
		    mic_app_state_name(state), running);
		rc = MIC_ERR_STATE;
		goto fail;
	}
	if (state == MIC_APP_REJECTED)
		return txn_commit(j);
	if ((rc = reject(j, app_id, reason)) != MIC_OK ||
	    (rc = txn_commit(j)) != MIC_OK)
		goto fail;

	return MIC_OK;
fail:
	txn_rollback(j);

	return rc;
}

mic_rc
mic_journal_recover(mic_journal_t *j, size_t *interrupted)
{
	int n;
	mic_rc rc;

	if (interrupted != NULL)
		*interrupted = 0;
	if (j == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if ((rc = txn_begin(j)) != MIC_OK)
		return rc;
	if ((rc = run(j, stmt(j, S_RECOVER_ATTEMPTS), "recover")) != MIC_OK)
		goto fail;
	n = sqlite3_changes(j->db);
	if ((rc = run(j, stmt(j, S_RECOVER_CLAIMS), "recover")) != MIC_OK ||
	    (rc = txn_commit(j)) != MIC_OK)
		goto fail;
	if (n > 0)
		mici_debug("%s: %d interrupted attempts", __func__, n);
	if (interrupted != NULL)
		*interrupted = (size_t)n;

	return MIC_OK;
fail:
	txn_rollback(j);

	return rc;
}

mic_rc
mic_journal_state(mic_journal_t *j, const char *app_id, mic_app_state *state,
    unsigned *attempts)
{
	if (j == NULL || app_id == NULL || state == NULL)
		return MIC_ERR_INVALID_ARGUMENT;

	return app_get(j, app_id, NULL, state, attempts, NULL);
}

mic_rc
mic_journal_stats_get(mic_journal_t *j, mic_journal_stats *stats)
{
	sqlite3_stmt *st;
	int src;

	if (j == NULL || stats == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	memset(stats, 0, sizeof(*stats));
	st = stmt(j, S_COUNT_STATES);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_int64(st, 1);

		switch (state_of(sqlite3_column_text(st, 0))) {
		case MIC_APP_QUEUED:
			stats->queued = n;
			break;
		case MIC_APP_IN_PROGRESS:
			stats->in_progress = n;
			break;
		case MIC_APP_ISSUED:
			stats->issued = n;
			break;
		case MIC_APP_FAILED_RETRYABLE:
			stats->failed_retryable = n;
			break;
		case MIC_APP_REJECTED:
			stats->rejected = n;
			break;
		default:
			break;
		}
	}
	sqlite3_reset(st);
	if (src != SQLITE_DONE)
		return db_rc(j, src, "stats");
	st = stmt(j, S_COUNT_OUTCOMES);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *o = (const char *)sqlite3_column_text(st, 0);
		size_t n = (size_t)sqlite3_column_int64(st, 1);

		stats->attempts += n;
		if (o != NULL && strcmp(o, "failed") == 0)
			stats->attempts_failed = n;
		else if (o != NULL && strcmp(o, "in_progress") == 0)
			stats->attempts_running = n;
	}
	sqlite3_reset(st);
	if (src != SQLITE_DONE)
		return db_rc(j, src, "stats");

	return MIC_OK;
}

mic_rc
mic_journal_failures(mic_journal_t *j, mic_journal_failure_cb *cb, void *arg)
{
	mic_journal_failure f;
	sqlite3_stmt *st;
	int src;

	if (j == NULL || cb == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	st = stmt(j, S_FAILURES);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		f.attempt = sqlite3_column_int64(st, 0);
		f.app_id = col(st, 1);
		f.chip_serial = col(st, 2);
		f.reader = col(st, 3);
		f.started = col(st, 4);
		f.finished = col(st, 5);
		f.reason = col(st, 6);
		if (cb(&f, arg) != 0) {
			src = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	if (src != SQLITE_DONE)
		return db_rc(j, src, "failures");

	return MIC_OK;
}
