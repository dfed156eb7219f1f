/* The mic command line: one front, a file per verb. */
#ifndef MIC_TOOL_H
#define MIC_TOOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <mic/mic.h>

/* Exit codes: 0 success, 1 the operation failed, 2 bad usage. */
#define EXIT_USAGE 2

int cmd_readers(int argc, char **argv);
int cmd_apdu(int argc, char **argv);
int cmd_card(int argc, char **argv);
int cmd_pki(int argc, char **argv);
int cmd_perso(int argc, char **argv);
int cmd_settle(int argc, char **argv);
int cmd_receipt(int argc, char **argv);
int cmd_pay(int argc, char **argv);
int cmd_credit(int argc, char **argv);
int cmd_log(int argc, char **argv);

/* Print "mic VERB: what: mic_strerror(rc)" to stderr; returns 1. */
int tool_fail(const char *verb, const char *what, mic_rc rc);
void tool_hex(FILE *f, const uint8_t *p, size_t n);
/* The PIN from MIC_PIN or, when unset, one line of stdin (never argv);
 * 0 read, -1 none. The caller wipes @p pin. */
int tool_get_pin(char *pin, size_t cap);

/* A mic_tx_trace_fn: each APDU on the wire to stderr, "=>" and "<=". */
void tool_trace(void *arg, int dir, const uint8_t *buf, size_t len);
/*
 * Connect to READER, given by name or by its index in "mic readers", or to
 * the first reader with a card when NULL. Prints why and returns NULL on
 * failure.
 */
mic_tx_t *tool_open_reader(const char *verb, const char *reader);

/*
 * mic_trust_load() of DIR, or of DIR/trust when DIR is a PKI directory; on
 * failure prints which path is missing or empty (DIR/roots, its *.pem
 * files) and returns NULL.
 */
mic_trust_t *tool_trust_load(const char *verb, const char *dir);
/* mic_terminal_load() of DIR, likewise naming what is missing. */
mic_terminal_t *tool_terminal_load(const char *verb, const char *dir);

/*
 * One step of an APDU script (a scriptor-like text format): an APDU in hex,
 * or the word "reset". Blank lines and lines starting with '#' are skipped.
 */
typedef enum { STEP_APDU, STEP_RESET } script_kind;
typedef struct script_step {
	script_kind kind;
	uint8_t apdu[MIC_APDU_CMD_MAX];
	size_t len;
} script_step;

/*
 * Parse one line of a script.
 * @retval 1 a step was parsed into @p step
 * @retval 0 the line holds nothing (blank or comment)
 * @retval -1 the line is malformed; @p why says how
 */
int script_parse_line(const char *line, script_step *step, const char **why);

#endif
