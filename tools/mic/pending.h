/* The pending payment of mic pay / mic credit: one JSON object. */
#ifndef MIC_TOOL_PENDING_H
#define MIC_TOOL_PENDING_H

#include <stddef.h>

#include <mic/card.h>

/* A pending file is one short line; anything longer is not ours. */
#define PENDING_MAX 1024

/*
 * Parse the pending file's text (@p len bytes, no NUL needed) into @p p;
 * @p credit says whether it is a CREDIT rather than a DEBIT. Every field
 * is checked for its form (the card id, the time, the terminal id, the
 * reference in hex, the payer 0-255, the amount > 0), and no other field
 * is allowed. 0 parsed, -1 not a pending payment.
 */
int pending_parse(const char *text, size_t len, mic_payment *p, int *credit);

#endif
