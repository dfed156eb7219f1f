/*
 * mic settle verify's checks (docs/settlement.md): every receipt of the
 * given settlement files against its card certificate, then the counters
 * of each card across all files, then the totals.
 */
#ifndef MIC_SETTLEMENT_H
#define MIC_SETTLEMENT_H

#include <stddef.h>
#include <stdint.h>

#include <mic/mic.h>

/* One line of a file: a receipt or the reason it is not one. */
struct st_entry {
	const char *file;          /* as given; not owned */
	size_t line;               /* 0: the file could not be opened */
	mic_rc rc;                 /* MIC_OK: a verified receipt */
	char why[160];             /* a malformed line's reason */
	mic_receipt_t *r;          /* NULL for a malformed line */
	int duplicate_of;          /* index of the first copy, or -1 */
};

/* A finding across files: a clone alarm, a gap, or a duplicate. */
enum st_kind { ST_CLONE, ST_GAP, ST_DUPLICATE };
struct st_finding {
	enum st_kind kind;
	size_t a, b;               /* entries: the two receipts involved */
};

/* Totals of the verified receipts, a duplicate counted once. */
struct st_total {
	char key[16];              /* terminal id, or day YYYYMMDD */
	uint64_t debits, credits;  /* how many */
	int64_t debit_fen, credit_fen;
};

typedef struct st_check {
	const mic_trust_t *trust;
	struct st_entry *e;
	size_t n, cap;
	struct st_finding *f;
	size_t nf;
	struct st_total *term, *day;
	size_t nterm, nday;
	size_t failures;           /* lines not verified, unreadable files */
	size_t clones, gaps, duplicates;
} st_check;

void st_init(st_check *c, const mic_trust_t *trust);
void st_clear(st_check *c);
/* Read and verify every line of @p path; MIC_OK unless the file is unreadable. */
mic_rc st_add_file(st_check *c, const char *path);
/* Counters and totals over everything added; MIC_ERR_VALUE when a total
 * exceeds INT64_MAX fen. */
mic_rc st_finish(st_check *c);
/* Did everything verify, with no clone alarm and no gap? */
int st_ok(const st_check *c);

#endif
