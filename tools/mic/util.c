#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "internal.h"
#include "mic-tool.h"

int
tool_fail(const char *verb, const char *what, mic_rc rc)
{
	fprintf(stderr, "mic %s: %s: %s\n", verb, what, mic_strerror(rc));
	return 1;
}

void
tool_hex(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%02X", i ? " " : "", p[i]);
}

int
script_parse_line(const char *line, script_step *step, const char **why)
{
	char buf[2 * MIC_APDU_CMD_MAX + 64];
	size_t n;
	char *s, *e;
	mic_rc rc;

	n = strlen(line);
	if (n >= sizeof(buf)) {
		*why = "line too long";
		return -1;
	}
	memcpy(buf, line, n + 1);
	for (s = buf; isspace((unsigned char)*s); s++)
		;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	if (*s == '\0' || *s == '#')
		return 0;
	if (strcasecmp(s, "reset") == 0) {
		step->kind = STEP_RESET;
		step->len = 0;
		return 1;
	}
	step->kind = STEP_APDU;
	rc = mici_hex_decode(s, step->apdu, sizeof(step->apdu), &step->len);
	if (rc == MIC_ERR_BUFFER_TOO_SMALL) {
		*why = "APDU longer than an extended APDU can be";
		return -1;
	}
	if (rc != MIC_OK) {
		*why = "not hex bytes (write e.g. 00 A4 04 00 07 ...)";
		return -1;
	}
	if (step->len < 4) {
		*why = "an APDU needs at least CLA INS P1 P2";
		return -1;
	}
	return 1;
}

void
tool_trace(void *arg, int dir, const uint8_t *buf, size_t len)
{
	(void)arg;
	fprintf(stderr, "  %s ", dir == MIC_TRACE_CMD ? "=>" : "<=");
	tool_hex(stderr, buf, len);
	fprintf(stderr, "\n");
}

int
tool_get_pin(char *pin, size_t cap)
{
	const char *env = getenv("MIC_PIN");
	size_t n;

	if (env != NULL) {
		if (strlen(env) >= cap)
			return -1;
		memcpy(pin, env, strlen(env) + 1);
		return 0;
	}
	if (isatty(STDIN_FILENO))
		fprintf(stderr, "PIN: ");
	if (fgets(pin, (int)cap, stdin) == NULL)
		return -1;
	n = strcspn(pin, "\r\n");
	pin[n] = '\0';
	return 0;
}
