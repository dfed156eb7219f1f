/*
 * The back office's checks of settlement files (docs/settlement.md).
 *
 * Counters are compared only between receipts whose signature verified:
 * a forged line is a failure of its own and must not raise or hide a
 * clone alarm. A duplicate (the same receipt, byte for byte, twice) is a
 * counter uploaded twice, counted once; two different receipts under one
 * card and one counter can only come from two chips with one identity.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settlement.h"

void
st_init(st_check *c, const mic_trust_t *trust)
{
	memset(c, 0, sizeof(*c));
	c->trust = trust;
}

void
st_clear(st_check *c)
{
	for (size_t i = 0; i < c->n; i++)
		mic_receipt_free(&c->e[i].r);
	free(c->e);
	free(c->f);
	free(c->term);
	free(c->day);
	memset(c, 0, sizeof(*c));
}

static struct st_entry *
push(st_check *c)
{
	struct st_entry *e;

	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;

		if ((e = realloc(c->e, cap * sizeof(*e))) == NULL)
			return NULL;
		c->e = e;
		c->cap = cap;
	}
	e = &c->e[c->n++];
	memset(e, 0, sizeof(*e));
	e->duplicate_of = -1;
	return e;
}

mic_rc
st_add_file(st_check *c, const char *path)
{
	uint8_t cert[MIC_CERT_MAX];
	mic_settle_t *s = NULL;
	mic_receipt_t *r = NULL;
	size_t cert_len, line;
	struct st_entry *e;
	char why[160];
	mic_rc rc;

	if ((rc = mic_settle_open(&s, path)) != MIC_OK) {
		/* Line 0: the file itself, so every output names it. */
		if ((e = push(c)) == NULL)
			return MIC_ERR_NOMEM;
		e->file = path;
		e->rc = rc;
		snprintf(e->why, sizeof(e->why), "%s",
		    rc == MIC_ERR_NOT_FOUND ? "no such file" :
		    "the file cannot be read");
		c->failures++;
		return rc;
	}
	for (;;) {
		rc = mic_settle_next(s, &r, cert, sizeof(cert), &cert_len,
		    &line, why, sizeof(why));
		if (rc == MIC_ERR_NOT_FOUND)
			break;
		if (rc == MIC_ERR_IO) {
			if ((e = push(c)) != NULL) {
				e->file = path;
				e->line = line + 1;
				e->rc = rc;
				snprintf(e->why, sizeof(e->why), "a read error");
			}
			c->failures++;
			break;
		}
		if ((e = push(c)) == NULL) {
			mic_receipt_free(&r);
			rc = MIC_ERR_NOMEM;
			break;
		}
		e->file = path;
		e->line = line;
		if (rc != MIC_OK) {
			e->rc = rc;
			snprintf(e->why, sizeof(e->why), "%s", why);
			c->failures++;
			continue;
		}
		e->r = r;
		r = NULL;
		if ((e->rc = mic_receipt_verify(e->r, c->trust, cert,
		    cert_len)) != MIC_OK)
			c->failures++;
	}
	mic_settle_free(&s);
	return rc == MIC_ERR_NOT_FOUND ? MIC_OK : rc;
}

/* By card, then counter, then file order (entries are in one array). */
static int
by_card(const void *pa, const void *pb)
{
	const struct st_entry *a = *(const struct st_entry *const *)pa;
	const struct st_entry *b = *(const struct st_entry *const *)pb;
	int d = strcmp(mic_receipt_card_id(a->r), mic_receipt_card_id(b->r));

	if (d != 0)
		return d;
	if (mic_receipt_counter(a->r) != mic_receipt_counter(b->r))
		return mic_receipt_counter(a->r) < mic_receipt_counter(b->r) ?
		    -1 : 1;
	return a < b ? -1 : 1;
}

static mic_rc
find(st_check *c, enum st_kind kind, size_t a, size_t b)
{
	struct st_finding *f;

	if ((f = realloc(c->f, (c->nf + 1) * sizeof(*f))) == NULL)
		return MIC_ERR_NOMEM;
	c->f = f;
	f[c->nf].kind = kind;
	f[c->nf].a = a;
	f[c->nf].b = b;
	c->nf++;
	if (kind == ST_CLONE)
		c->clones++;
	else if (kind == ST_GAP)
		c->gaps++;
	else
		c->duplicates++;
	return MIC_OK;
}

static int
same(const mic_receipt_t *a, const mic_receipt_t *b)
{
	size_t la, lb;
	const uint8_t *pa = mic_receipt_encoding(a, &la);
	const uint8_t *pb = mic_receipt_encoding(b, &lb);

	return la == lb && memcmp(pa, pb, la) == 0;
}

static mic_rc
add_total(struct st_total **tab, size_t *n, const char *key,
    const mic_receipt_t *r)
{
	struct st_total *t = NULL;

	for (size_t i = 0; i < *n; i++)
		if (strcmp((*tab)[i].key, key) == 0)
			t = &(*tab)[i];
	if (t == NULL) {
		if ((t = realloc(*tab, (*n + 1) * sizeof(*t))) == NULL)
			return MIC_ERR_NOMEM;
		*tab = t;
		t = &t[(*n)++];
		memset(t, 0, sizeof(*t));
		snprintf(t->key, sizeof(t->key), "%s", key);
	}
	/* Amounts are up to 2^63-1 each: a sum may not fit. */
	if (mic_receipt_get_type(r) == MIC_RECEIPT_DEBIT) {
		t->debits++;
		if (__builtin_add_overflow(t->debit_fen, mic_receipt_amount(r),
		    &t->debit_fen))
			return MIC_ERR_VALUE;
	} else {
		t->credits++;
		if (__builtin_add_overflow(t->credit_fen,
		    mic_receipt_amount(r), &t->credit_fen))
			return MIC_ERR_VALUE;
	}
	return MIC_OK;
}

static int
by_key(const void *a, const void *b)
{
	return strcmp(((const struct st_total *)a)->key,
	    ((const struct st_total *)b)->key);
}

mic_rc
st_finish(st_check *c)
{
	struct st_entry **sorted;
	size_t *idx, m = 0, k, run;
	mic_rc rc = MIC_OK;

	idx = calloc(c->n ? c->n : 1, sizeof(*idx));
	sorted = calloc(c->n ? c->n : 1, sizeof(*sorted));
	if (idx == NULL || sorted == NULL) {
		free(idx);
		free(sorted);
		return MIC_ERR_NOMEM;
	}
	for (size_t i = 0; i < c->n; i++)
		if (c->e[i].rc == MIC_OK)
			sorted[m++] = &c->e[i];
	qsort(sorted, m, sizeof(*sorted), by_card);
	for (k = 0; k < m; k++)
		idx[k] = (size_t)(sorted[k] - c->e);
	free(sorted);
	/* run: where the receipts of the current card and counter start. */
	for (k = 1, run = 0; k < m && rc == MIC_OK; k++) {
		struct st_entry *p = &c->e[idx[k - 1]], *e = &c->e[idx[k]];
		uint32_t pc = mic_receipt_counter(p->r);
		uint32_t ec = mic_receipt_counter(e->r);
		size_t j;

		if (strcmp(mic_receipt_card_id(p->r),
		    mic_receipt_card_id(e->r)) != 0 || pc != ec) {
			run = k;
			if (strcmp(mic_receipt_card_id(p->r),
			    mic_receipt_card_id(e->r)) == 0 && ec != pc + 1)
				rc = find(c, ST_GAP, idx[k - 1], idx[k]);
			continue;
		}
		/* A copy of any receipt seen under this counter is a
		 * duplicate; a receipt unlike all of them, a clone. */
		for (j = run; j < k; j++)
			if (c->e[idx[j]].duplicate_of < 0 &&
			    same(c->e[idx[j]].r, e->r))
				break;
		if (j < k) {
			e->duplicate_of = (int)idx[j];
			rc = find(c, ST_DUPLICATE, idx[j], idx[k]);
		} else {
			rc = find(c, ST_CLONE, idx[run], idx[k]);
		}
	}
	for (k = 0; k < m && rc == MIC_OK; k++) {
		const struct st_entry *e = &c->e[idx[k]];
		char day[9];

		if (e->duplicate_of >= 0)
			continue;
		memcpy(day, mic_receipt_time(e->r), 8);
		day[8] = '\0';
		if ((rc = add_total(&c->term, &c->nterm,
		    mic_receipt_terminal(e->r), e->r)) == MIC_OK)
			rc = add_total(&c->day, &c->nday, day, e->r);
	}
	free(idx);
	if (c->nterm > 1)
		qsort(c->term, c->nterm, sizeof(*c->term), by_key);
	if (c->nday > 1)
		qsort(c->day, c->nday, sizeof(*c->day), by_key);
	return rc;
}

int
st_ok(const st_check *c)
{
	return c->failures == 0 && c->clones == 0 && c->gaps == 0;
}
