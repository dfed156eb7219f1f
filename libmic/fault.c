/*
 * Fault injection for crash tests: MIC_FAULT=NAME makes the process die
 * by SIGKILL at the point of that name, exactly where a power cut or
 * kill -9 could land, instead of hoping a timed kill lands there. It
 * only ever ends the process; it decides nothing and skips no check.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "mici.h"

int
mici_fault(const char *point)
{
	const char *f = getenv("MIC_FAULT");

	return f != NULL && strcmp(f, point) == 0;
}

void
mici_fault_kill(void)
{
	raise(SIGKILL);
	abort();
}
