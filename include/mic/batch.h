/*
 * libmic: the card bureau's batch input, docs/issuance.md section 1.
 *
 * Approved applications reach the bureau as JSON Lines, one object per
 * line. mic_batch_next() streams them: each call reads one line and hands
 * back either a validated application, holding the mic_holder_t and
 * mic_insurance_t the card's files are encoded from, or an error record
 * naming the line, the field and the cause. A bad line never stops the
 * batch and is never skipped silently.
 *
 * Memory does not grow with the batch except for the duplicate check,
 * which keeps each valid line's application id and ID number in a compact
 * set (about 60 bytes a line).
 *
 * Every value is checked by the setters of profile.h and by idnum.h; the
 * batch reader adds only what the card does not know (the JSON schema,
 * the channel, cross-field rules and duplicates).
 */
#ifndef MIC_BATCH_H
#define MIC_BATCH_H

#include <stddef.h>
#include <stdio.h>

#include <mic/err.h>
#include <mic/profile.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MIC_APP_ID_MAX 32        /**< longest application id, bytes */
#define MIC_EMPLOYER_ID_MAX 32   /**< longest employer id, bytes */
#define MIC_BATCH_LINE_MAX 65536 /**< longest line, bytes, its newline excluded */
#define MIC_BATCH_FIELD_MAX 32   /**< room for a field name in an error record */
#define MIC_BATCH_MSG_MAX 256    /**< room for an error record's message */

/** How the application reached the agency (field "channel"). */
typedef enum mic_channel {
	MIC_CHANNEL_SELF = 1,     /**< "self": the holder applied */
	MIC_CHANNEL_AGENT = 2,    /**< "agent": through an agency counter or agent */
	MIC_CHANNEL_EMPLOYER = 3, /**< "employer": the employer applied in bulk */
} mic_channel;

typedef struct mic_batch mic_batch_t;
typedef struct mic_application mic_application_t;

/** What is wrong with one line. */
typedef struct mic_batch_error {
	size_t line;   /**< 1-based line number */
	/** The field at fault, "" for the line as a whole. */
	char field[MIC_BATCH_FIELD_MAX];
	/** The cause, e.g. MIC_ERR_IDNUM_CHECK or MIC_ERR_FIELD_TYPE. */
	mic_rc rc;
	/**
	 * The whole report, ready to print, e.g.
	 * "line 12: ssn: check character is 7, expected 6".
	 */
	char message[MIC_BATCH_MSG_MAX];
} mic_batch_error;

/**
 * Open the batch file at @p path.
 * @param b  receives the handle; free it with mic_batch_free()
 * @retval MIC_OK
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL pointers
 * @retval MIC_ERR_IO                the file cannot be opened
 * @retval MIC_ERR_NOMEM
 */
mic_rc mic_batch_open(mic_batch_t **b, const char *path);

/**
 * Read a batch from an open stream (standard input, a pipe). The stream
 * stays the caller's: mic_batch_free() does not close it.
 * @retval MIC_OK
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL pointers
 * @retval MIC_ERR_NOMEM
 */
mic_rc mic_batch_open_fp(mic_batch_t **b, FILE *fp);

/** Close the batch (and its file, if mic_batch_open() opened it); sets *b to NULL. */
void mic_batch_free(mic_batch_t **b);

/**
 * The next line's application. Blank lines (only spaces, tabs and a CR)
 * are counted but not reported. Each line gets at most one error record:
 * the first fault found, in the field order of docs/issuance.md.
 *
 * @param app  receives a new application on MIC_OK (free it with
 *             mic_application_free()), NULL otherwise
 * @param err  filled on MIC_ERR_BATCH_LINE; may be NULL
 * @retval MIC_OK                    @p *app is a valid application
 * @retval MIC_ERR_BATCH_LINE        the line is invalid: @p err says why;
 *                                   call again for the next line
 * @retval MIC_ERR_NOT_FOUND         the batch is at its end
 * @retval MIC_ERR_IO                the stream failed; the batch cannot go on
 * @retval MIC_ERR_NOMEM
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL pointers
 *
 * The causes an error record may carry: MIC_ERR_JSON (not one JSON object,
 * or a line over MIC_BATCH_LINE_MAX bytes), MIC_ERR_FIELD_UNKNOWN,
 * MIC_ERR_FIELD_TYPE, MIC_ERR_MISSING, MIC_ERR_FORMAT, MIC_ERR_VALUE,
 * MIC_ERR_CODE, MIC_ERR_DATE, MIC_ERR_UTF8, MIC_ERR_IDNUM_* (as
 * mic_idnum_check()), MIC_ERR_MISMATCH (fields that disagree),
 * MIC_ERR_DUPLICATE (an application id or ID number of an earlier valid
 * line, which the message names).
 */
mic_rc mic_batch_next(mic_batch_t *b, mic_application_t **app,
    mic_batch_error *err);

/** Lines read so far, blank ones included. */
size_t mic_batch_lines(const mic_batch_t *b);

/**
 * Non-zero when the file began with a UTF-8 byte order mark (EF BB BF).
 * It is skipped: line 1 is read without it. A tool may warn about it.
 */
int mic_batch_bom(const mic_batch_t *b);

/** Free an application; sets *app to NULL. */
void mic_application_free(mic_application_t **app);

/** The application id, 1-32 printable ASCII characters. */
const char *mic_application_id(const mic_application_t *app);
/** The batch line it came from. */
size_t mic_application_line(const mic_application_t *app);
mic_channel mic_application_channel(const mic_application_t *app);
/** The employer's id, or NULL when the channel is not "employer". */
const char *mic_application_employer(const mic_application_t *app);
/** The holder's data, every mandatory field set: ready for mic_holder_encode(). */
const mic_holder_t *mic_application_holder(const mic_application_t *app);
/** The insurance data, every field set: ready for mic_insurance_encode(). */
const mic_insurance_t *mic_application_insurance(const mic_application_t *app);

/**
 * The application as one compact JSON object (ASCII, no line end): what
 * the journal stores, so that a reader taking the application later, in
 * another process or after a crash, gets the very data that was checked.
 */
const char *mic_application_json(const mic_application_t *app);

/**
 * Check one application given as JSON text, by the rules of a batch line
 * (the duplicate check aside, which needs the batch). The error record's
 * line is 0 and its message has no "line N:" prefix.
 * @param json  @p len bytes, at most MIC_BATCH_LINE_MAX; need not end in NUL
 * @retval MIC_OK                    @p *app is a valid application
 * @retval MIC_ERR_BATCH_LINE        @p err says what is wrong
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL pointers
 * @retval MIC_ERR_NOMEM
 */
mic_rc mic_application_parse(const char *json, size_t len,
    mic_application_t **app, mic_batch_error *err);

/** "self", "agent", "employer"; "unknown" for other values. Never NULL. */
const char *mic_channel_name(mic_channel channel);

#ifdef __cplusplus
}
#endif
#endif
