/*
 * The issuance journal: the schema and its pragmas, idempotent enqueue,
 * claim order and exclusivity across threads with their own connections,
 * the life of an application, the two-live-cards constraint (through the
 * API and behind its back in raw SQL), and recovery after a process is
 * killed in the middle of an attempt and of a transaction; the
 * application's data kept with it, and what the journal knows of a chip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include <mic/batch.h>
#include <mic/idnum.h>
#include <mic/journal.h>

struct fixture {
	char dir[64];
	char path[96];
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_journal_XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	snprintf(fx->path, sizeof(fx->path), "%s/journal.db", fx->dir);
	*state = fx;

	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	char p[128];

	snprintf(p, sizeof(p), "%s-wal", fx->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", fx->path);
	unlink(p);
	unlink(fx->path);
	rmdir(fx->dir);
	free(fx);

	return 0;
}

/* Person @p i's ID number (valid, distinct for i < 10000). */
static void
ssn_of(unsigned i, char out[MIC_IDNUM_LEN + 1])
{
	char body[32], check;

	snprintf(body, sizeof(body), "110105%04u%02u%02u%03u", 1950 + i / 336,
	    1 + (i / 28) % 12, 1 + i % 28, 100 + i % 800);
	assert_int_equal(mic_idnum_check_char(body, &check), MIC_OK);
	assert_int_equal(strlen(body), 17);
	memcpy(out, body, 17);
	out[17] = check;
	out[18] = '\0';
}

static void
enqueue_n(mic_journal_t *j, unsigned from, unsigned n)
{
	char id[16], ssn[MIC_IDNUM_LEN + 1];
	unsigned i;

	assert_int_equal(mic_journal_bulk_begin(j), MIC_OK);
	for (i = from; i < from + n; i++) {
		snprintf(id, sizeof(id), "APP%05u", i);
		ssn_of(i, ssn);
		assert_int_equal(mic_journal_enqueue(j, id, ssn), MIC_OK);
	}
	assert_int_equal(mic_journal_bulk_end(j, 1), MIC_OK);
}

static const uint8_t chip1[MIC_CHIP_SERIAL_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static const uint8_t chip2[MIC_CHIP_SERIAL_LEN] = { 9, 9, 9, 9, 9, 9, 9, 9 };

static void
chip_n(unsigned n, uint8_t out[MIC_CHIP_SERIAL_LEN])
{
	memset(out, 0xC0, MIC_CHIP_SERIAL_LEN);
	out[6] = (uint8_t)(n >> 8);
	out[7] = (uint8_t)n;
}

static int
sql_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int v;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);

	return v;
}

/* Run @p sql behind the API's back; SQLite's extended result code. */
static int
sql_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int src;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_extended_result_codes(db, 1);
	sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	src = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (src != SQLITE_OK)
		print_message("  sql: %s\n", sqlite3_errmsg(db));
	sqlite3_close(db);

	return src;
}

static void
test_open_schema(void **state)
{
	char why[512];
	struct fixture *fx = *state;
	mic_journal_t *j = NULL;
	char other[128];
	FILE *f;

	assert_int_equal(mic_journal_open(&j, fx->path), MIC_OK);
	mic_journal_free(&j);
	assert_null(j);
	assert_int_equal(sql_int(fx->path, "PRAGMA user_version"),
	    MIC_JOURNAL_VERSION);
	/* WAL is the file's mode, seen from any connection. */
	{
		sqlite3 *db = NULL;
		sqlite3_stmt *st = NULL;

		assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode",
		    -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0),
		    "wal");
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
	assert_int_equal(sql_int(fx->path, "PRAGMA application_id"),
	    0x4D49434A);
	/* Reopen: the schema is there, nothing is created twice. */
	assert_int_equal(mic_journal_open(&j, fx->path), MIC_OK);
	mic_journal_free(&j);
	/* A journal from a newer version of the library. */
	assert_int_equal(sql_exec(fx->path, "PRAGMA user_version = 3"),
	    SQLITE_OK);
	assert_int_equal(mic_journal_open(&j, fx->path), MIC_ERR_UNSUPPORTED);
	assert_null(j);
	assert_int_equal(sql_exec(fx->path, "PRAGMA user_version = 2"),
	    SQLITE_OK);
	/* Another SQLite database, and a file that is no database. */
	snprintf(other, sizeof(other), "%s/other.db", fx->dir);
	assert_int_equal(sql_exec(other, "CREATE TABLE t (x); "
	    "PRAGMA user_version = 1"), SQLITE_OK);
	assert_int_equal(chmod(other, 0600), 0);
	assert_int_equal(mic_journal_open(&j, other), MIC_ERR_JOURNAL);
	unlink(other);
	assert_non_null(f = fopen(other, "w"));
	fputs("this is not a database, not at all, no; padding padding "
	    "padding padding padding padding padding padding\n", f);
	fclose(f);
	assert_int_equal(chmod(other, 0600), 0);
	assert_int_equal(mic_journal_open_ex(&j, other, why, sizeof(why)),
	    MIC_ERR_JOURNAL);
	/* SQLite's own reason, not "see the debug log". */
	assert_non_null(strstr(why, "not a database"));
	unlink(other);
	assert_int_equal(mic_journal_open(&j, NULL), MIC_ERR_INVALID_ARGUMENT);
	mic_journal_free(NULL);
}

static void
test_enqueue_idempotent(void **state)
{
	struct fixture *fx = *state;
	char ssn[MIC_IDNUM_LEN + 1], lower[MIC_IDNUM_LEN + 1];
	mic_journal_stats st;
	mic_app_state s;
	mic_journal_t *j = NULL;
	unsigned attempts = 9;

	assert_int_equal(mic_journal_open(&j, fx->path), MIC_OK);
	enqueue_n(j, 0, 100);
	/* The same batch again: nothing changes. */
	enqueue_n(j, 0, 100);
	enqueue_n(j, 50, 100);  /* half old, half new */
	assert_int_equal(mic_journal_stats_get(j, &st), MIC_OK);
	assert_int_equal(st.queued, 150);
	assert_int_equal(st.attempts, 0);
	assert_int_equal(mic_journal_state(j, "APP00007", &s, &attempts),
	    MIC_OK);
	assert_int_equal(s, MIC_APP_QUEUED);
	assert_int_equal(attempts, 0);
	/* One id, another person: refused. */
	ssn_of(1, ssn);
	assert_int_equal(mic_journal_enqueue(j, "APP00000", ssn),
	    MIC_ERR_DUPLICATE);
	/* x and X are the same number. */
	assert_int_equal(mic_journal_enqueue(j, "X-1", "32010219881108018X"),
	    MIC_OK);
	strcpy(lower, "32010219881108018x");
	assert_int_equal(mic_journal_enqueue(j, "X-1", lower), MIC_OK);
	/* Garbage never enters. */
	assert_int_equal(mic_journal_enqueue(j, "BAD", "110105198001010017"),
	    MIC_ERR_IDNUM_CHECK);
	assert_int_equal(mic_journal_enqueue(j, "has space", ssn),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_journal_enqueue(j, "", ssn),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_journal_state(j, "BAD", &s, NULL),
	    MIC_ERR_NOT_FOUND);
	/* A rolled-back bulk leaves nothing. */
	assert_int_equal(mic_journal_bulk_begin(j), MIC_OK);
	assert_int_equal(mic_journal_bulk_begin(j), MIC_ERR_STATE);
	assert_int_equal(mic_journal_enqueue(j, "GONE", ssn), MIC_OK);
	assert_int_equal(mic_journal_bulk_end(j, 0), MIC_OK);
	assert_int_equal(mic_journal_bulk_end(j, 0), MIC_ERR_STATE);
	assert_int_equal(mic_journal_state(j, "GONE", &s, NULL),
	    MIC_ERR_NOT_FOUND);
	assert_int_equal(mic_journal_stats_get(j, &st), MIC_OK);
	assert_int_equal(st.queued, 151);
	mic_journal_free(&j);
}

static void
test_lifecycle(void **state)
{
	struct fixture *fx = *state;
	char id[MIC_APP_ID_MAX + 1];
	mic_journal_stats st;
	mic_app_state s;
	mic_journal_t *j = NULL;
	int64_t a1 = 0, a2 = 0;
	unsigned attempts;

	assert_int_equal(mic_journal_open(&j, fx->path), MIC_OK);
	enqueue_n(j, 0, 3);
	/* Claims come in enqueue order. */
	assert_int_equal(mic_journal_claim(j, "reader 1", id), MIC_OK);
	assert_string_equal(id, "APP00000");
	assert_int_equal(mic_journal_state(j, id, &s, NULL), MIC_OK);
	assert_int_equal(s, MIC_APP_IN_PROGRESS);
	/* An attempt only for a claimed application, one at a time. */
	assert_int_equal(mic_journal_attempt_begin(j, "APP00001", chip1,
	    "reader 1", &a1), MIC_ERR_STATE);
	assert_int_equal(mic_journal_attempt_begin(j, "NOPE", chip1,
	    "reader 1", &a1), MIC_ERR_NOT_FOUND);
	assert_int_equal(mic_journal_attempt_begin(j, id, chip1, "reader 1",
	    &a1), MIC_OK);
	assert_true(a1 > 0);
	assert_int_equal(mic_journal_attempt_begin(j, id, chip2, "reader 1",
	    &a2), MIC_ERR_STATE);
	assert_int_equal(mic_journal_release(j, id), MIC_ERR_STATE);
	assert_int_equal(mic_journal_reject(j, id, "no"), MIC_ERR_STATE);
	/* The card fails: the application goes back to the queue... */
	assert_int_equal(mic_journal_attempt_end(j, a1, MIC_OUTCOME_FAILED,
	    NULL), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_journal_attempt_end(j, a1, MIC_OUTCOME_FAILED,
	    "verify after write: EF.HOLDER differs"), MIC_OK);
	assert_int_equal(mic_journal_attempt_end(j, a1, MIC_OUTCOME_ISSUED,
	    NULL), MIC_ERR_STATE);
	assert_int_equal(mic_journal_attempt_end(j, 999, MIC_OUTCOME_ISSUED,
	    NULL), MIC_ERR_NOT_FOUND);
	assert_int_equal(mic_journal_state(j, id, &s, &attempts), MIC_OK);
	assert_int_equal(s, MIC_APP_FAILED_RETRYABLE);
	assert_int_equal(attempts, 1);
	/* ...behind the applications not yet tried. */
	assert_int_equal(mic_journal_claim(j, "reader 2", id), MIC_OK);
	assert_string_equal(id, "APP00001");
	/* Reader 2 has no blank card: it gives the application back. */
	assert_int_equal(mic_journal_release(j, id), MIC_OK);
	assert_int_equal(mic_journal_claim(j, "reader 2", id), MIC_OK);
	assert_string_equal(id, "APP00001");
	assert_int_equal(mic_journal_attempt_begin(j, id, chip2, "reader 2",
	    &a2), MIC_OK);
	assert_int_equal(mic_journal_attempt_end(j, a2, MIC_OUTCOME_ISSUED,
	    NULL), MIC_OK);
	assert_int_equal(mic_journal_state(j, id, &s, NULL), MIC_OK);
	assert_int_equal(s, MIC_APP_ISSUED);
	/* Issued is final. */
	assert_int_equal(mic_journal_reject(j, id, "too late"), MIC_ERR_STATE);
	assert_int_equal(mic_journal_release(j, id), MIC_ERR_STATE);
	assert_int_equal(mic_journal_claim(j, "reader 1", id), MIC_OK);
	assert_string_equal(id, "APP00002");
	assert_int_equal(mic_journal_reject(j, id, "photo missing"), MIC_OK);
	/* The failed one comes round again. */
	assert_int_equal(mic_journal_claim(j, "reader 1", id), MIC_OK);
	assert_string_equal(id, "APP00000");
	assert_int_equal(mic_journal_attempt_begin(j, id, chip1, "reader 1",
	    &a1), MIC_OK);
	assert_int_equal(mic_journal_attempt_end(j, a1, MIC_OUTCOME_ISSUED,
	    NULL), MIC_OK);
	assert_int_equal(mic_journal_claim(j, "reader 1", id),
	    MIC_ERR_NOT_FOUND);
	assert_int_equal(mic_journal_stats_get(j, &st), MIC_OK);
	assert_int_equal(st.issued, 2);
	assert_int_equal(st.rejected, 1);
	assert_int_equal(st.queued + st.in_progress + st.failed_retryable, 0);
	assert_int_equal(st.attempts, 3);
	assert_int_equal(st.attempts_failed, 1);
	assert_int_equal(st.attempts_running, 0);
	assert_string_equal(mic_app_state_name(MIC_APP_REJECTED),
	    "rejected_invalid");
	assert_string_equal(mic_app_state_name(0), "unknown");
	mic_journal_free(&j);
}

static void
test_two_live_cards(void **state)
{
	struct fixture *fx = *state;
	char ssn[MIC_IDNUM_LEN + 1], id1[MIC_APP_ID_MAX + 1];
	char id2[MIC_APP_ID_MAX + 1];
	mic_journal_t *j = NULL;
	mic_app_state s;
	int64_t a1 = 0, a2 = 0;

	assert_int_equal(mic_journal_open(&j, fx->path), MIC_OK);
	ssn_of(7, ssn);
	/* Two applications of one person, both in the queue. */
	assert_int_equal(mic_journal_enqueue(j, "FIRST", ssn), MIC_OK);
	assert_int_equal(mic_journal_enqueue(j, "SECOND", ssn), MIC_OK);
	assert_int_equal(mic_journal_enqueue(j, "THIRD", ssn), MIC_OK);
	/* Two readers take the first two at once. */
	assert_int_equal(mic_journal_claim(j, "r1", id1), MIC_OK);
	assert_int_equal(mic_journal_claim(j, "r2", id2), MIC_OK);
	assert_int_equal(mic_journal_attempt_begin(j, id1, chip1, "r1", &a1),
	    MIC_OK);
	assert_int_equal(mic_journal_attempt_begin(j, id2, chip2, "r2", &a2),
	    MIC_OK);
	assert_int_equal(mic_journal_attempt_end(j, a1, MIC_OUTCOME_ISSUED,
	    NULL), MIC_OK);
	/* The schema refuses the second card; the journal says to void it. */
	assert_int_equal(mic_journal_attempt_end(j, a2, MIC_OUTCOME_ISSUED,
	    NULL), MIC_ERR_LIVE_CARD);
	assert_int_equal(mic_journal_state(j, id2, &s, NULL), MIC_OK);
	assert_int_equal(s, MIC_APP_REJECTED);
	/* The third is stopped before a card is spent. */
	assert_int_equal(mic_journal_claim(j, "r1", id1), MIC_OK);
	assert_string_equal(id1, "THIRD");
	assert_int_equal(mic_journal_attempt_begin(j, id1, chip2, "r1", &a2),
	    MIC_ERR_LIVE_CARD);
	assert_int_equal(mic_journal_state(j, id1, &s, NULL), MIC_OK);
	assert_int_equal(s, MIC_APP_REJECTED);
	/* And a fourth does not even enter the queue. */
	assert_int_equal(mic_journal_enqueue(j, "FOURTH", ssn),
	    MIC_ERR_LIVE_CARD);
	assert_int_equal(mic_journal_state(j, "FOURTH", &s, NULL), MIC_OK);
	assert_int_equal(s, MIC_APP_REJECTED);
	/* ...and re-running that batch changes nothing. */
	assert_int_equal(mic_journal_enqueue(j, "FOURTH", ssn), MIC_OK);
	mic_journal_free(&j);

	/*
	 * Behind the API's back, in raw SQL: the constraints hold by
	 * themselves. A second issued card for the holder:
	 */
	assert_int_equal(sql_exec(fx->path, "INSERT INTO application (app_id, "
	    "ssn, seq, state, reader, enqueued_at, updated_at) SELECT 'RAW', "
	    "ssn, 1000, 'in_progress', 'x', 'now', 'now' FROM application "
	    "WHERE app_id = 'FIRST'"), SQLITE_OK);
	assert_int_equal(sql_exec(fx->path, "INSERT INTO attempt (app_id, ssn, "
	    "chip_serial, reader, started_at) SELECT 'RAW', ssn, "
	    "'AAAAAAAAAAAAAAAA', 'x', 'now' FROM application "
	    "WHERE app_id = 'RAW'"), SQLITE_OK);
	assert_int_equal(sql_exec(fx->path, "UPDATE attempt SET outcome = "
	    "'issued', finished_at = 'now' WHERE app_id = 'RAW'"),
	    SQLITE_CONSTRAINT_UNIQUE);
	/* An application marked issued without an issued card. */
	assert_int_equal(sql_exec(fx->path, "UPDATE application SET state = "
	    "'issued' WHERE app_id = 'RAW'"), SQLITE_CONSTRAINT_TRIGGER);
	/* Nothing is ever deleted; final states stay final. */
	assert_int_equal(sql_exec(fx->path, "DELETE FROM application WHERE "
	    "app_id = 'SECOND'"), SQLITE_CONSTRAINT_TRIGGER);
	assert_int_equal(sql_exec(fx->path, "DELETE FROM attempt"),
	    SQLITE_CONSTRAINT_TRIGGER);
	assert_int_equal(sql_exec(fx->path, "UPDATE application SET state = "
	    "'queued' WHERE app_id = 'FIRST'"), SQLITE_CONSTRAINT_TRIGGER);
	assert_int_equal(sql_exec(fx->path, "UPDATE attempt SET outcome = "
	    "'failed', reason = 'x' WHERE id = 1"), SQLITE_CONSTRAINT_TRIGGER);
	/* A rejection needs its reason; an attempt needs its application. */
	assert_int_equal(sql_exec(fx->path, "UPDATE application SET state = "
	    "'rejected_invalid', reason = NULL WHERE app_id = 'RAW'"),
	    SQLITE_CONSTRAINT_CHECK);
	assert_int_equal(sql_exec(fx->path, "INSERT INTO attempt (app_id, ssn, "
	    "chip_serial, reader, started_at) VALUES ('SECOND', "
	    "'110105198001010016', 'BBBBBBBBBBBBBBBB', 'x', 'now')"),
	    SQLITE_CONSTRAINT_TRIGGER);
}

struct worker {
	const char *path;
	char reader[16];
	unsigned claimed;
	char (*ids)[MIC_APP_ID_MAX + 1];
	int rc;
};

/* One reader of the line: its own connection, claim until empty. */
static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	char id[MIC_APP_ID_MAX + 1];
	mic_journal_t *j = NULL;
	mic_rc rc;

	if ((rc = mic_journal_open(&j, w->path)) != MIC_OK) {
		w->rc = rc;
		return NULL;
	}
	while ((rc = mic_journal_claim(j, w->reader, id)) == MIC_OK)
		memcpy(w->ids[w->claimed++], id, sizeof(id));
	w->rc = rc == MIC_ERR_NOT_FOUND ? MIC_OK : rc;
	mic_journal_free(&j);

	return NULL;
}

static void
test_claim_threads(void **state)
{
	enum { APPS = 400, THREADS = 4 };
	struct fixture *fx = *state;
	static char ids[THREADS][APPS][MIC_APP_ID_MAX + 1];
	struct worker w[THREADS];
	pthread_t t[THREADS];
	unsigned char seen[APPS];
	mic_journal_stats st;
	mic_journal_t *j = NULL;
	unsigned i, k, total = 0;

	assert_int_equal(mic_journal_open(&j, fx->path), MIC_OK);
	enqueue_n(j, 0, APPS);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].path = fx->path;
		w[i].ids = ids[i];
		snprintf(w[i].reader, sizeof(w[i].reader), "reader %u", i);
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]),
		    0);
	}
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].rc, MIC_OK);
		total += w[i].claimed;
		for (k = 0; k < w[i].claimed; k++) {
			unsigned n = (unsigned)atoi(ids[i][k] + 3);

			assert_true(n < APPS);
			/* Never the same application twice. */
			assert_int_equal(seen[n], 0);
			seen[n] = 1;
			/* Each reader sees the queue in order. */
			if (k > 0)
				assert_true(strcmp(ids[i][k - 1], ids[i][k]) <
				    0);
		}
		print_message("  %s claimed %u\n", w[i].reader, w[i].claimed);
	}
	assert_int_equal(total, APPS);
	assert_int_equal(mic_journal_stats_get(j, &st), MIC_OK);
	assert_int_equal(st.in_progress, APPS);
	assert_int_equal(st.queued, 0);
	mic_journal_free(&j);
}

/*
 * The child works like an issuance line and is killed: one card being
 * written (an attempt begun), one application claimed without an attempt,
 * one card issued, and an open transaction of enqueues.
 */
static void
child_line(const char *path)
{
	char id[MIC_APP_ID_MAX + 1], ssn[MIC_IDNUM_LEN + 1];
	mic_journal_t *j = NULL;
	int64_t a = 0;

	if (mic_journal_open(&j, path) != MIC_OK)
		_exit(10);
	if (mic_journal_claim(j, "r1", id) != MIC_OK ||
	    mic_journal_attempt_begin(j, id, chip1, "r1", &a) != MIC_OK ||
	    mic_journal_attempt_end(j, a, MIC_OUTCOME_ISSUED, NULL) != MIC_OK)
		_exit(11);
	if (mic_journal_claim(j, "r1", id) != MIC_OK ||
	    mic_journal_attempt_begin(j, id, chip2, "r1", &a) != MIC_OK)
		_exit(12);
	if (mic_journal_claim(j, "r2", id) != MIC_OK)
		_exit(13);
	ssn_of(99, ssn);
	if (mic_journal_bulk_begin(j) != MIC_OK ||
	    mic_journal_enqueue(j, "UNCOMMITTED", ssn) != MIC_OK)
		_exit(14);
	/* Mid-transaction, mid-card: no cleanup of any kind. */
	raise(SIGKILL);
	_exit(15);
}

static int
count_failure(const mic_journal_failure *f, void *arg)
{
	unsigned *n = arg;

	assert_string_equal(f->app_id, "APP00001");
	assert_string_equal(f->reason, "interrupted");
	assert_string_equal(f->chip_serial, "0909090909090909");
	assert_string_equal(f->reader, "r1");
	assert_non_null(f->finished);
	(*n)++;

	return 0;
}

static void
test_crash_recovery(void **state)
{
	struct fixture *fx = *state;
	char id[MIC_APP_ID_MAX + 1];
	mic_journal_stats st;
	mic_journal_t *j = NULL;
	mic_app_state s;
	unsigned attempts, failures = 0;
	size_t interrupted = 0;
	int64_t a = 0;
	uint8_t chip[MIC_CHIP_SERIAL_LEN];
	pid_t pid;
	int status;

	assert_int_equal(mic_journal_open(&j, fx->path), MIC_OK);
	enqueue_n(j, 0, 5);
	mic_journal_free(&j);

	assert_true((pid = fork()) >= 0);
	if (pid == 0)
		child_line(fx->path);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);

	assert_int_equal(mic_journal_open(&j, fx->path), MIC_OK);
	/* The open transaction died with the process. */
	assert_int_equal(mic_journal_state(j, "UNCOMMITTED", &s, NULL),
	    MIC_ERR_NOT_FOUND);
	assert_int_equal(mic_journal_stats_get(j, &st), MIC_OK);
	assert_int_equal(st.issued, 1);
	assert_int_equal(st.in_progress, 2);
	assert_int_equal(st.attempts_running, 1);
	assert_int_equal(mic_journal_recover(j, &interrupted), MIC_OK);
	assert_int_equal(interrupted, 1);
	/* The card being written: failed, its application queued again. */
	assert_int_equal(mic_journal_state(j, "APP00001", &s, &attempts),
	    MIC_OK);
	assert_int_equal(s, MIC_APP_FAILED_RETRYABLE);
	assert_int_equal(attempts, 1);
	/* Claimed, never begun: simply queued. */
	assert_int_equal(mic_journal_state(j, "APP00002", &s, &attempts),
	    MIC_OK);
	assert_int_equal(s, MIC_APP_QUEUED);
	assert_int_equal(attempts, 0);
	/* Issued stays issued. */
	assert_int_equal(mic_journal_state(j, "APP00000", &s, NULL), MIC_OK);
	assert_int_equal(s, MIC_APP_ISSUED);
	assert_int_equal(mic_journal_failures(j, count_failure, &failures),
	    MIC_OK);
	assert_int_equal(failures, 1);
	/* Recovery twice is recovery once. */
	assert_int_equal(mic_journal_recover(j, &interrupted), MIC_OK);
	assert_int_equal(interrupted, 0);
	/* Nobody is skipped: the line finishes every application. */
	while (mic_journal_claim(j, "r1", id) == MIC_OK) {
		chip_n((unsigned)atoi(id + 3) + 100, chip);
		assert_int_equal(mic_journal_attempt_begin(j, id, chip, "r1",
		    &a), MIC_OK);
		assert_int_equal(mic_journal_attempt_end(j, a,
		    MIC_OUTCOME_ISSUED, NULL), MIC_OK);
	}
	assert_int_equal(mic_journal_stats_get(j, &st), MIC_OK);
	assert_int_equal(st.issued, 5);
	assert_int_equal(st.queued + st.in_progress + st.failed_retryable +
	    st.rejected, 0);
	mic_journal_free(&j);
}

/*
 * Person @p i's application as a batch line would give it; @p name
 * replaces the name when not NULL (the same application id and holder
 * with other data).
 */
static mic_application_t *
app_of(unsigned i, const char *name)
{
	char ssn[MIC_IDNUM_LEN + 1], text[512], nm[32];
	mic_application_t *app = NULL;
	mic_batch_error err;
	int n;

	ssn_of(i, ssn);
	snprintf(nm, sizeof(nm), "Person %u", i);
	n = snprintf(text, sizeof(text), "{\"application_id\":\"APP%05u\","
	    "\"channel\":\"self\",\"name\":\"%s\",\"gender\":\"9\","
	    "\"ssn\":\"%s\",\"birth_date\":\"%.8s\",\"birthplace\":\"110105\","
	    "\"scheme\":\"resident\",\"pooling_region\":\"110100\","
	    "\"insured_since\":\"20200101\"}", i, name != NULL ? name : nm,
	    ssn, ssn + 6);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	if (mic_application_parse(text, (size_t)n, &app, &err) != MIC_OK)
		fail_msg("%s", err.message);
	return app;
}

static void
enqueue_apps(mic_journal_t *j, unsigned from, unsigned n)
{
	mic_application_t *app;
	unsigned i;

	assert_int_equal(mic_journal_bulk_begin(j), MIC_OK);
	for (i = from; i < from + n; i++) {
		app = app_of(i, NULL);
		assert_int_equal(mic_journal_enqueue_app(j, app), MIC_OK);
		mic_application_free(&app);
	}
	assert_int_equal(mic_journal_bulk_end(j, 1), MIC_OK);
}

static void
test_app_data(void **state)
{
	struct fixture *fx = *state;
	char ssn[MIC_IDNUM_LEN + 1], *json = NULL;
	mic_application_t *app, *back = NULL, *other;
	mic_batch_error err;
	mic_journal_stats st;
	mic_journal_t *j = NULL;
	mic_app_state s;

	assert_int_equal(mic_journal_open(&j, fx->path), MIC_OK);
	/* The data comes back as it went in, and parses to the same. */
	app = app_of(3, NULL);
	assert_int_equal(mic_journal_enqueue_app(j, app), MIC_OK);
	assert_int_equal(mic_journal_app_data(j, "APP00003", &json), MIC_OK);
	assert_non_null(json);
	assert_string_equal(json, mic_application_json(app));
	assert_int_equal(mic_application_parse(json, strlen(json), &back,
	    &err), MIC_OK);
	assert_string_equal(mic_application_id(back), "APP00003");
	assert_string_equal(mic_holder_name(mic_application_holder(back)),
	    "Person 3");
	assert_string_equal(mic_holder_ssn(mic_application_holder(back)),
	    mic_holder_ssn(mic_application_holder(app)));
	free(json);
	json = NULL;
	mic_application_free(&back);

	/* The same batch twice: nothing changes. */
	enqueue_apps(j, 0, 10);
	enqueue_apps(j, 0, 10);
	assert_int_equal(mic_journal_stats_get(j, &st), MIC_OK);
	assert_int_equal(st.queued, 10);
	assert_int_equal(mic_journal_enqueue_app(j, app), MIC_OK);

	/* One id, the same holder, other data: refused, the old data kept. */
	other = app_of(3, "Someone Else");
	assert_int_equal(mic_journal_enqueue_app(j, other), MIC_ERR_DUPLICATE);
	mic_application_free(&other);
	assert_int_equal(mic_journal_app_data(j, "APP00003", &json), MIC_OK);
	assert_string_equal(json, mic_application_json(app));
	free(json);
	json = NULL;
	/* Refused inside a bulk too, without spoiling the rest of it. */
	assert_int_equal(mic_journal_bulk_begin(j), MIC_OK);
	other = app_of(4, "Changed Name");
	assert_int_equal(mic_journal_enqueue_app(j, other), MIC_ERR_DUPLICATE);
	mic_application_free(&other);
	other = app_of(20, NULL);
	assert_int_equal(mic_journal_enqueue_app(j, other), MIC_OK);
	mic_application_free(&other);
	assert_int_equal(mic_journal_bulk_end(j, 1), MIC_OK);
	assert_int_equal(mic_journal_state(j, "APP00020", &s, NULL), MIC_OK);
	assert_int_equal(s, MIC_APP_QUEUED);
	assert_int_equal(mic_journal_app_data(j, "APP00004", &json), MIC_OK);
	assert_non_null(strstr(json, "\"Person 4\""));
	free(json);
	json = NULL;

	/* Enqueued without data: there is none to give. */
	ssn_of(50, ssn);
	assert_int_equal(mic_journal_enqueue(j, "BARE", ssn), MIC_OK);
	assert_int_equal(mic_journal_app_data(j, "BARE", &json),
	    MIC_ERR_NOT_FOUND);
	assert_null(json);
	assert_int_equal(mic_journal_app_data(j, "NOBODY", &json),
	    MIC_ERR_NOT_FOUND);
	assert_null(json);
	/* Enqueued by its keys first, with its data later: it gets it, once. */
	other = app_of(51, NULL);
	assert_int_equal(mic_journal_enqueue(j, "APP00051",
	    mic_holder_ssn(mic_application_holder(other))), MIC_OK);
	assert_int_equal(mic_journal_app_data(j, "APP00051", &json),
	    MIC_ERR_NOT_FOUND);
	assert_int_equal(mic_journal_enqueue_app(j, other), MIC_OK);
	mic_application_free(&other);
	assert_int_equal(mic_journal_app_data(j, "APP00051", &json), MIC_OK);
	assert_non_null(strstr(json, "\"Person 51\""));
	free(json);
	json = NULL;
	other = app_of(51, "Someone Else");
	assert_int_equal(mic_journal_enqueue_app(j, other), MIC_ERR_DUPLICATE);
	mic_application_free(&other);
	assert_int_equal(mic_journal_app_data(NULL, "APP00003", &json),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_journal_app_data(j, NULL, &json),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_journal_app_data(j, "APP00003", NULL),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_journal_enqueue_app(j, NULL),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_journal_enqueue_app(NULL, app),
	    MIC_ERR_INVALID_ARGUMENT);

	/* Ten, APP00003 among them, APP00020, BARE and APP00051. */
	assert_int_equal(mic_journal_stats_get(j, &st), MIC_OK);
	assert_int_equal(st.queued, 13);
	mic_application_free(&app);
	mic_journal_free(&j);
	/* The data never changes behind the journal's back either. */
	assert_int_equal(sql_exec(fx->path, "UPDATE application SET data = "
	    "'{}' WHERE app_id = 'APP00003'"), SQLITE_CONSTRAINT_TRIGGER);
}

static void
test_chip_history(void **state)
{
	struct fixture *fx = *state;
	char id[MIC_APP_ID_MAX + 1];
	uint8_t fresh[MIC_CHIP_SERIAL_LEN];
	mic_journal_t *j = NULL;
	unsigned failed = 99, issued = 99;
	int64_t a = 0;

	assert_int_equal(mic_journal_open(&j, fx->path), MIC_OK);
	enqueue_apps(j, 0, 2);
	chip_n(77, fresh);
	assert_int_equal(mic_journal_chip_history(j, fresh, &failed, &issued),
	    MIC_OK);
	assert_int_equal(failed, 0);
	assert_int_equal(issued, 0);

	/* chip1 fails twice, for two applications; then chip2 issues. */
	assert_int_equal(mic_journal_claim(j, "r1", id), MIC_OK);
	assert_int_equal(mic_journal_attempt_begin(j, id, chip1, "r1", &a),
	    MIC_OK);
	/* Running: neither failed nor issued yet. */
	assert_int_equal(mic_journal_chip_history(j, chip1, &failed, &issued),
	    MIC_OK);
	assert_int_equal(failed, 0);
	assert_int_equal(issued, 0);
	assert_int_equal(mic_journal_attempt_end(j, a, MIC_OUTCOME_FAILED,
	    "card removed"), MIC_OK);
	assert_int_equal(mic_journal_claim(j, "r1", id), MIC_OK);
	assert_int_equal(mic_journal_attempt_begin(j, id, chip1, "r1", &a),
	    MIC_OK);
	assert_int_equal(mic_journal_attempt_end(j, a, MIC_OUTCOME_FAILED,
	    "card removed"), MIC_OK);
	assert_int_equal(mic_journal_chip_history(j, chip1, &failed, &issued),
	    MIC_OK);
	assert_int_equal(failed, 2);
	assert_int_equal(issued, 0);
	assert_int_equal(mic_journal_claim(j, "r2", id), MIC_OK);
	assert_int_equal(mic_journal_attempt_begin(j, id, chip2, "r2", &a),
	    MIC_OK);
	assert_int_equal(mic_journal_attempt_end(j, a, MIC_OUTCOME_ISSUED,
	    NULL), MIC_OK);
	assert_int_equal(mic_journal_chip_history(j, chip2, &failed, &issued),
	    MIC_OK);
	assert_int_equal(failed, 0);
	assert_int_equal(issued, 1);
	/* chip1 is unchanged by chip2's card; other chips know nothing. */
	assert_int_equal(mic_journal_chip_history(j, chip1, &failed, NULL),
	    MIC_OK);
	assert_int_equal(failed, 2);
	assert_int_equal(mic_journal_chip_history(j, fresh, NULL, &issued),
	    MIC_OK);
	assert_int_equal(issued, 0);
	assert_int_equal(mic_journal_chip_history(j, chip1, NULL, NULL),
	    MIC_OK);
	assert_int_equal(mic_journal_chip_history(NULL, chip1, &failed,
	    &issued), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_journal_chip_history(j, NULL, &failed, &issued),
	    MIC_ERR_INVALID_ARGUMENT);
	mic_journal_free(&j);
}

/* An issued card's id and number are recorded, once per card id. */
static void
test_attempt_issued(void **state)
{
	struct fixture *fx = *state;
	char id[MIC_APP_ID_MAX + 1];
	uint8_t chip3[MIC_CHIP_SERIAL_LEN];
	mic_journal_t *j = NULL;
	mic_app_state st;
	int64_t a = 0, b = 0;
	static const char cid[] = "320100D1560000011100000000000001";

	assert_int_equal(mic_journal_open(&j, fx->path), MIC_OK);
	enqueue_apps(j, 0, 2);
	assert_int_equal(mic_journal_claim(j, "r1", id), MIC_OK);
	assert_int_equal(mic_journal_attempt_begin(j, id, chip1, "r1", &a),
	    MIC_OK);
	assert_int_equal(mic_journal_attempt_issued(j, a, NULL, "A00000001"),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_journal_attempt_issued(j, a, cid, ""),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_journal_attempt_issued(j, a,
	    "320100D15600000111000000000000011", "A00000001"),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_journal_attempt_issued(j, a, cid, "A00000001"),
	    MIC_OK);
	assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM attempt WHERE "
	    "card_id = '320100D1560000011100000000000001' AND "
	    "card_number = 'A00000001' AND outcome = 'issued'"), 1);
	/* A second card under the same id: refused, that card is void and
	 * its application goes back to the queue. */
	assert_int_equal(mic_journal_claim(j, "r2", id), MIC_OK);
	chip_n(3, chip3);
	assert_int_equal(mic_journal_attempt_begin(j, id, chip3, "r2", &b),
	    MIC_OK);
	assert_int_equal(mic_journal_attempt_issued(j, b, cid, "A00000002"),
	    MIC_ERR_DUPLICATE);
	assert_int_equal(mic_journal_state(j, id, &st, NULL), MIC_OK);
	assert_int_equal(st, MIC_APP_FAILED_RETRYABLE);
	assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM attempt WHERE "
	    "card_id IS NOT NULL"), 1);
	/* The schema keeps ids off attempts that did not issue a card. */
	assert_int_not_equal(sql_exec(fx->path, "UPDATE attempt SET card_id = "
	    "'X' WHERE outcome = 'failed'"), SQLITE_OK);
	mic_journal_free(&j);
}

static int
mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return (int)(st.st_mode & 07777);
}

/*
 * The journal holds names and ID numbers: it and its -wal and -shm are
 * 0600 whatever the umask, and one that others can use, another user's,
 * or a symlink is refused with a message that names it.
 */
static void
test_private_files(void **state)
{
	struct fixture *fx = *state;
	char p[160], why[512];
	mic_journal_t *j = NULL;
	mode_t old = umask(022);
	int fd;

	assert_int_equal(mic_journal_open(&j, fx->path), MIC_OK);
	enqueue_n(j, 0, 1);
	assert_int_equal(mode_of(fx->path), 0600);
	snprintf(p, sizeof(p), "%s-wal", fx->path);
	assert_int_equal(mode_of(p), 0600);
	snprintf(p, sizeof(p), "%s-shm", fx->path);
	assert_int_equal(mode_of(p), 0600);
	mic_journal_free(&j);
	umask(old);
	/* Open to others: refused, and said how to fix it. */
	assert_int_equal(chmod(fx->path, 0644), 0);
	assert_int_equal(mic_journal_open_ex(&j, fx->path, why, sizeof(why)),
	    MIC_ERR_KEY_PERMISSIONS);
	assert_null(j);
	assert_non_null(strstr(why, fx->path));
	assert_non_null(strstr(why, "0644"));
	assert_int_equal(chmod(fx->path, 0600), 0);
	/* A -wal open to others (left by another tool): refused too. */
	snprintf(p, sizeof(p), "%s-wal", fx->path);
	if (access(p, F_OK) == 0) {
		assert_int_equal(chmod(p, 0666), 0);
		assert_int_equal(mic_journal_open_ex(&j, fx->path, why,
		    sizeof(why)), MIC_ERR_KEY_PERMISSIONS);
		assert_non_null(strstr(why, "-wal"));
		assert_int_equal(chmod(p, 0600), 0);
	}
	/* Another user's (root can make one). */
	if (geteuid() == 0) {
		assert_int_equal(chown(fx->path, 65534, 65534), 0);
		assert_int_equal(mic_journal_open_ex(&j, fx->path, why,
		    sizeof(why)), MIC_ERR_KEY_PERMISSIONS);
		assert_non_null(strstr(why, "belongs to user 65534"));
		assert_int_equal(chown(fx->path, 0, 0), 0);
	}
	/* A symlink where the journal goes, even to a good file. */
	snprintf(p, sizeof(p), "%s/link.db", fx->dir);
	assert_int_equal(symlink(fx->path, p), 0);
	assert_int_equal(mic_journal_open_ex(&j, p, why, sizeof(why)),
	    MIC_ERR_KEY_PERMISSIONS);
	assert_non_null(strstr(why, "symbolic link"));
	unlink(p);
	assert_int_equal(mic_journal_open(&j, fx->path), MIC_OK);
	mic_journal_free(&j);
	/* The file helper: a new file is 0600 and never an existing one;
	 * appending refuses a pre-created world-writable file. */
	snprintf(p, sizeof(p), "%s/pins", fx->dir);
	assert_int_equal(mic_private_file_open(p, MIC_PRIVATE_NEW, &fd, why,
	    sizeof(why)), MIC_OK);
	close(fd);
	assert_int_equal(mode_of(p), 0600);
	assert_int_equal(mic_private_file_open(p, MIC_PRIVATE_NEW, &fd, why,
	    sizeof(why)), MIC_ERR_EXISTS);
	assert_int_equal(fd, -1);
	assert_int_equal(chmod(p, 0666), 0);
	assert_int_equal(mic_private_file_open(p, 0, &fd, why, sizeof(why)),
	    MIC_ERR_KEY_PERMISSIONS);
	assert_int_equal(fd, -1);
	unlink(p);
	assert_int_equal(symlink("/dev/null", p), 0);
	assert_int_equal(mic_private_file_open(p, 0, &fd, why, sizeof(why)),
	    MIC_ERR_KEY_PERMISSIONS);
	assert_non_null(strstr(why, "symbolic link"));
	unlink(p);
}

struct pin_walk {
	size_t n, with_pin;
	int64_t last;
};

static int
on_pin(const mic_journal_pin *p, void *arg)
{
	struct pin_walk *w = arg;

	w->n++;
	w->with_pin += p->pin_cms != NULL;
	w->last = p->attempt;
	return 0;
}

/*
 * The sealed PIN is written with the issued record or not at all; a
 * refused card keeps none; the schema refuses a PIN for a card not
 * issued, and any change or deletion of one; issued cards without one
 * are listed.
 */
static void
test_pin_record(void **state)
{
	struct fixture *fx = *state;
	char id[MIC_APP_ID_MAX + 1], id2[MIC_APP_ID_MAX + 1];
	uint8_t chip3[MIC_CHIP_SERIAL_LEN];
	static const uint8_t blob[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };
	struct pin_walk w = { 0, 0, 0 };
	mic_journal_t *j = NULL;
	int64_t a = 0, b = 0, c = 0;

	assert_int_equal(mic_journal_open(&j, fx->path), MIC_OK);
	enqueue_apps(j, 0, 3);
	assert_int_equal(mic_journal_claim(j, "r1", id), MIC_OK);
	assert_int_equal(mic_journal_attempt_begin(j, id, chip1, "r1", &a),
	    MIC_OK);
	assert_int_equal(mic_journal_attempt_issued_pin(j, a,
	    "320100D1560000011100000000000001", "A00000001", NULL, 0),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_journal_attempt_issued_pin(j, a,
	    "320100D1560000011100000000000001", "A00000001", blob,
	    sizeof(blob)), MIC_OK);
	assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM pin p JOIN "
	    "attempt a ON a.id = p.attempt WHERE a.outcome = 'issued'"), 1);
	/* A second card under the same card id: refused, and no PIN kept
	 * for the void card. */
	assert_int_equal(mic_journal_claim(j, "r2", id2), MIC_OK);
	chip_n(3, chip3);
	assert_int_equal(mic_journal_attempt_begin(j, id2, chip3, "r2", &b),
	    MIC_OK);
	assert_int_equal(mic_journal_attempt_issued_pin(j, b,
	    "320100D1560000011100000000000001", "A00000002", blob,
	    sizeof(blob)), MIC_ERR_DUPLICATE);
	assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM pin"), 1);
	/* Issued the old way, without a PIN: listed as missing. */
	assert_int_equal(mic_journal_claim(j, "r2", id2), MIC_OK);
	assert_int_equal(mic_journal_attempt_begin(j, id2, chip2, "r2", &c),
	    MIC_OK);
	assert_int_equal(mic_journal_attempt_issued(j, c,
	    "320100D1560000011100000000000003", "A00000003"), MIC_OK);
	assert_int_equal(mic_journal_pins(j, 0, on_pin, &w), MIC_OK);
	assert_int_equal(w.n, 2);
	assert_int_equal(w.with_pin, 1);
	memset(&w, 0, sizeof(w));
	assert_int_equal(mic_journal_pins(j, 1, on_pin, &w), MIC_OK);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.with_pin, 0);
	assert_int_equal(w.last, c);
	/* Behind the API's back: no PIN for a failed attempt, no second
	 * PIN, no change, no deletion. */
	assert_int_not_equal(sql_exec(fx->path, "INSERT INTO pin VALUES "
	    "(2, x'01')"), SQLITE_OK);
	assert_int_not_equal(sql_exec(fx->path, "INSERT INTO pin VALUES "
	    "(1, x'01')"), SQLITE_OK);
	assert_int_not_equal(sql_exec(fx->path, "UPDATE pin SET cms = x'02'"),
	    SQLITE_OK);
	assert_int_not_equal(sql_exec(fx->path, "DELETE FROM pin"), SQLITE_OK);
	mic_journal_free(&j);
}

/*
 * Killed (MIC_FAULT) with the issued record and the PIN written but not
 * committed: neither is there; the attempt is recovered as interrupted,
 * so the card is voided and no card is issued without its PIN.
 */
static void
test_pin_kill_before_commit(void **state)
{
	struct fixture *fx = *state;
	static const uint8_t blob[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };
	char id[MIC_APP_ID_MAX + 1];
	mic_journal_t *j = NULL;
	size_t interrupted = 0;
	int64_t a = 0;
	int status;
	pid_t pid;

	assert_int_equal(mic_journal_open(&j, fx->path), MIC_OK);
	enqueue_apps(j, 0, 1);
	assert_int_equal(mic_journal_claim(j, "r1", id), MIC_OK);
	assert_int_equal(mic_journal_attempt_begin(j, id, chip1, "r1", &a),
	    MIC_OK);
	mic_journal_free(&j);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		setenv("MIC_FAULT", "journal-before-commit", 1);
		if (mic_journal_open(&j, fx->path) == MIC_OK)
			(void)mic_journal_attempt_issued_pin(j, a,
			    "320100D1560000011100000000000001", "A00000001",
			    blob, sizeof(blob));
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM pin"), 0);
	assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM attempt "
	    "WHERE outcome = 'issued'"), 0);
	assert_int_equal(mic_journal_open(&j, fx->path), MIC_OK);
	assert_int_equal(mic_journal_recover(j, &interrupted), MIC_OK);
	assert_int_equal(interrupted, 1);
	mic_journal_free(&j);
}

/* A version 1 journal migrates; its issued cards show without a PIN. */
static void
test_migrate_v1(void **state)
{
	struct fixture *fx = *state;
	char id[MIC_APP_ID_MAX + 1];
	struct pin_walk w = { 0, 0, 0 };
	mic_journal_t *j = NULL;
	int64_t a = 0;

	assert_int_equal(mic_journal_open(&j, fx->path), MIC_OK);
	enqueue_apps(j, 0, 2);
	assert_int_equal(mic_journal_claim(j, "r1", id), MIC_OK);
	assert_int_equal(mic_journal_attempt_begin(j, id, chip1, "r1", &a),
	    MIC_OK);
	assert_int_equal(mic_journal_attempt_issued(j, a,
	    "320100D1560000011100000000000001", "A00000001"), MIC_OK);
	mic_journal_free(&j);
	/* What version 1 had: no pin table. */
	assert_int_equal(sql_exec(fx->path, "DROP TRIGGER pin_keep; "
	    "DROP TRIGGER pin_final; DROP TRIGGER pin_issued; DROP TABLE pin; "
	    "PRAGMA user_version = 1"), SQLITE_OK);
	assert_int_equal(mic_journal_open(&j, fx->path), MIC_OK);
	assert_int_equal(sql_int(fx->path, "PRAGMA user_version"),
	    MIC_JOURNAL_VERSION);
	assert_int_equal(mic_journal_pins(j, 1, on_pin, &w), MIC_OK);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.last, a);
	mic_journal_free(&j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_schema, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_enqueue_idempotent, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_lifecycle, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_two_live_cards, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_claim_threads, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_crash_recovery, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_app_data, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_attempt_issued, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_chip_history, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_private_files, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pin_record, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v1, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pin_kill_before_commit,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
