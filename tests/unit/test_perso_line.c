/*
 * The issuance line (mic_perso_line_*) end to end, in process: a test PKI
 * in a temporary directory, a journal, and readers that are "hoppers"
 * given through mic_perso_reader_ops. A hopper hands out a new blank card,
 * provisioned as the chip factory does it, each time the line has released
 * the previous one, and can pull a card out in the middle of its
 * personalization or put a card in that is not blank. Every scenario
 * checks what really happened: the journal's counts and states, the events,
 * and the cards themselves, read back as any terminal reads them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <mic/batch.h>
#include <mic/card.h>
#include <mic/idnum.h>
#include <mic/journal.h>
#include <mic/perso.h>
#include <mic/pki.h>
#include <mic/tx.h>

#include "vcard.h"
#include "chipfactory.h"
#include "trust_test.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_CARDS 64
#define MAX_EVENTS 256
#define MAX_PEOPLE 40

/*
 * APDUs a card answers before a pulled card's transport fails. The line
 * reads the card, and mic_perso_card() selects it, reads the factory
 * certificate and opens SCP11a: the 12th APDU generates the key pair and
 * the STORE DATA blocks follow, the transport PIN last (the 24th). After
 * 16 the card holds its key pair and some files but is not personalized;
 * test_pull checks both, so a change of the sequence shows there.
 */
#define PULL_AFTER 16

/* --- the bureau's PKI, shared by the tests ---------------------------- */

struct pki {
	char *dir;
	mic_perso_cfg_t *cfg;
	vcf_factory *factory;   /* blank cards, from reader threads too */
};

static struct pki *P;

static int
group_setup(void **state)
{
	struct pki *p = calloc(1, sizeof(*p));
	char why[256];

	(void)state;
	assert_non_null(p);
	p->dir = tt_pki(MIC_SUITE_P256);
	assert_int_equal(mic_perso_cfg_load(&p->cfg, p->dir, "bureau"),
	    MIC_OK);
	assert_int_equal(mic_perso_cfg_set_bureau_code(p->cfg, "001"), MIC_OK);
	assert_int_equal(vcf_new(&p->factory, p->dir, why, sizeof(why)), 0);
	P = p;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	mic_perso_cfg_free(&P->cfg);
	vcf_free(&P->factory);
	tt_rmrf(P->dir);
	free(P->dir);
	free(P);
	return 0;
}

/* --- the chip factory (from a reader thread: no cmocka asserts) ------- */

/* A blank card named @p serial whose CERT.SD.ECKA comes from the PKI. */
static mic_rc
make_blank(const char *serial, vc_card **out)
{
	char why[256];
	vc_card *card = NULL;
	mic_rc rc;

	*out = NULL;
	if ((rc = vc_card_new(&card, serial, 0)) != MIC_OK)
		return rc;
	if (vcf_card(P->factory, card, NULL, why, sizeof(why)) != 0) {
		fprintf(stderr, "make_blank %s: %s\n", serial, why);
		vc_card_free(&card);
		return MIC_ERR_INTERNAL;
	}
	*out = card;
	return MIC_OK;
}

/* --- the hopper: a reader given by mic_perso_reader_ops --------------- */

/* One card that went through the reader. */
struct slot {
	vc_card *card;
	char chip[17];          /* hex, as the line reports it */
	unsigned apdus;         /* answered, over its whole life */
	unsigned pull_after;    /* 0: never pulled */
	int pulled;             /* its transport failed on purpose */
	unsigned commits;       /* persistent writes, since it was dealt */
	unsigned commits_at_pull;
	unsigned inserted;      /* times it was put in the reader */
	unsigned released;      /* times the line released it */
	enum vc_state final;    /* at its last release */
};

struct hopper {
	char name[16];
	/* Faults, by the number of a card in this hopper (1-based). */
	unsigned pull_card;     /* this card is pulled after PULL_AFTER */
	int pull_all;           /* every new card is */
	int reinsert;           /* a pulled card comes back once */
	unsigned limit;         /* cards it holds (0: MAX_CARDS); then broken */
	vc_card *preset[MAX_CARDS + 1]; /* dealt instead of a new blank */
	/* What happened. */
	struct slot slots[MAX_CARDS];
	unsigned ndealt;        /* distinct cards dealt */
	struct slot *in;        /* the card in the reader, or NULL */
	struct slot *again;     /* to be put in again, next */
	int reinserted;
	unsigned connects, releases, removals;
	mic_rc error;           /* a card could not be made */
};

static mic_rc
slot_commit(void *arg, const uint8_t *nv, size_t len)
{
	struct slot *s = arg;

	(void)nv;
	(void)len;
	s->commits++;
	return MIC_OK;
}

/* The card's contacts, where a pull cuts the line mid-APDU stream. */
static mic_rc
slot_transmit(void *arg, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
    size_t *rsp_len)
{
	struct slot *s = arg;

	if (s->pull_after != 0 && s->apdus >= s->pull_after) {
		if (!s->pulled)
			s->commits_at_pull = s->commits;
		s->pulled = 1;
		return MIC_ERR_CARD_REMOVED;
	}
	s->apdus++;
	return vc_card_transmit(s->card, cmd, cmd_len, rsp, rsp_len);
}

static mic_rc
hopper_connect(void *arg, unsigned timeout_ms, mic_tx_t **tx)
{
	struct hopper *h = arg;
	struct slot *s = h->in;
	char serial[VC_SERIAL_MAX];
	uint8_t chip[8];
	unsigned n, i;
	mic_rc rc;

	(void)timeout_ms;
	h->connects++;
	if (s == NULL && h->again != NULL) {
		/* The pulled card, back in the hopper. */
		s = h->again;
		h->again = NULL;
		s->inserted++;
	} else if (s == NULL) {
		/* The machine is broken: the line takes the reader down. */
		if (h->limit != 0 && h->ndealt == h->limit)
			return MIC_ERR_IO;
		/* Runaway guard: likewise. */
		if (h->ndealt == MAX_CARDS)
			return MIC_ERR_NO_CARD;
		s = &h->slots[h->ndealt];
		n = ++h->ndealt;
		if (h->preset[n] != NULL) {
			s->card = h->preset[n];
			h->preset[n] = NULL;
		} else {
			snprintf(serial, sizeof(serial), "%s-%03u", h->name, n);
			if ((rc = make_blank(serial, &s->card)) != MIC_OK) {
				h->error = rc;
				return rc;
			}
		}
		vc_card_set_commit(s->card, slot_commit, s);
		vc_card_chip_serial(s->card, chip);
		for (i = 0; i < 8; i++)
			snprintf(s->chip + 2 * i, 3, "%02X", chip[i]);
		if (h->pull_all || h->pull_card == n)
			s->pull_after = PULL_AFTER;
		s->inserted = 1;
	}
	/* Else the card the last run left in the reader: connect again. */
	h->in = s;
	return mic_tx_new_inproc(tx, slot_transmit, s);
}

static void
hopper_release(void *arg, mic_tx_t **tx)
{
	struct hopper *h = arg;
	struct slot *s = h->in;

	mic_tx_free(tx);
	h->releases++;
	if (s == NULL) {
		h->error = MIC_ERR_STATE;  /* released without a card */
		return;
	}
	vc_card_power_off(s->card);
	s->final = vc_card_state(s->card);
	s->released++;
	h->in = NULL;
	if (s->pulled && h->reinsert && !h->reinserted) {
		h->reinserted = 1;
		s->pull_after = 0;  /* it is whole again */
		h->again = s;
	}
}

static mic_rc
hopper_wait_removal(void *arg, unsigned timeout_ms)
{
	struct hopper *h = arg;

	(void)timeout_ms;
	h->removals++;
	return MIC_OK;
}

static const mic_perso_reader_ops hopper_ops = {
	.connect = hopper_connect,
	.release = hopper_release,
	.wait_removal = hopper_wait_removal,
};

static struct hopper *
hopper_new(const char *name)
{
	struct hopper *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	snprintf(h->name, sizeof(h->name), "%s", name);
	return h;
}

static void
hopper_free(struct hopper *h)
{
	unsigned i;

	for (i = 0; i < h->ndealt; i++)
		vc_card_free(&h->slots[i].card);
	for (i = 0; i < NELEM(h->preset); i++)
		vc_card_free(&h->preset[i]);
	free(h);
}

static struct slot *
slot_by_chip(struct hopper **hs, size_t nh, const char *chip)
{
	size_t i, k;

	for (i = 0; i < nh; i++)
		for (k = 0; k < hs[i]->ndealt; k++)
			if (strcmp(hs[i]->slots[k].chip, chip) == 0)
				return &hs[i]->slots[k];
	return NULL;
}

/* --- events ----------------------------------------------------------- */

struct ev_rec {
	mic_perso_event_kind kind;
	char reader[MIC_READER_NAME_MAX + 1];
	char app_id[MIC_APP_ID_MAX + 1];   /* "" when NULL */
	char chip[20];
	char card_id[40];
	char card_number[16];
	char pin[16];
	char reason[MIC_REASON_MAX + 1];
	mic_rc rc;
	int rejected;
	unsigned attempt_no;
	uint64_t apdus;
};

struct events {
	struct ev_rec ev[MAX_EVENTS];
	size_t n, dropped;
	/* UNTOUCHED, counted apart: how many readers still hold a read card
	 * at the end depends on the threads' timing. */
	size_t untouched;
	mic_perso_line_t *line;
	unsigned stop_at_issued;  /* stop the line at this ISSUED (0: never) */
	unsigned issued;
};

#define COPY(dst, src) snprintf((dst), sizeof(dst), "%s", \
    (src) != NULL ? (src) : "")

/* From the reader threads, one at a time: record only, assert later. */
static void
on_event(const mic_perso_event *e, void *arg)
{
	struct events *evs = arg;
	struct ev_rec *r;

	if (e->kind == MIC_PERSO_EV_UNTOUCHED) {
		evs->untouched++;
		return;
	}
	if (evs->n == MAX_EVENTS) {
		evs->dropped++;
		return;
	}
	r = &evs->ev[evs->n++];
	memset(r, 0, sizeof(*r));
	r->kind = e->kind;
	COPY(r->reader, e->reader);
	COPY(r->app_id, e->app_id);
	COPY(r->chip, e->chip_serial);
	COPY(r->card_id, e->card_id);
	COPY(r->card_number, e->card_number);
	COPY(r->pin, e->transport_pin);
	COPY(r->reason, e->reason);
	r->rc = e->rc;
	r->rejected = e->rejected;
	r->attempt_no = e->attempt_no;
	r->apdus = e->apdus;
	if (e->kind == MIC_PERSO_EV_ISSUED && ++evs->issued ==
	    evs->stop_at_issued)
		mic_perso_line_stop(evs->line);
}

static size_t
count_events(const struct events *evs, mic_perso_event_kind kind,
    const char *app_id)
{
	size_t i, n = 0;

	for (i = 0; i < evs->n; i++)
		if (evs->ev[i].kind == kind && (app_id == NULL ||
		    strcmp(evs->ev[i].app_id, app_id) == 0))
			n++;
	return n;
}

static const struct ev_rec *
find_event(const struct events *evs, mic_perso_event_kind kind,
    const char *app_id)
{
	size_t i;

	for (i = 0; i < evs->n; i++)
		if (evs->ev[i].kind == kind && (app_id == NULL ||
		    strcmp(evs->ev[i].app_id, app_id) == 0))
			return &evs->ev[i];
	return NULL;
}

static void
print_events(const struct events *evs)
{
	size_t i;

	for (i = 0; i < evs->n; i++)
		print_message("  event %zu: kind %d %s app %s chip %s rc %d "
		    "attempt %u rejected %d: %s\n", i, evs->ev[i].kind,
		    evs->ev[i].reader, evs->ev[i].app_id, evs->ev[i].chip,
		    evs->ev[i].rc, evs->ev[i].attempt_no,
		    evs->ev[i].rejected, evs->ev[i].reason);
}

/* No reader went down, and nothing was lost. */
static void
assert_no_reader_down(const struct events *evs)
{
	if (count_events(evs, MIC_PERSO_EV_READER_DOWN, NULL) != 0) {
		print_events(evs);
		fail_msg("a reader went down");
	}
	assert_int_equal(evs->dropped, 0);
}

/* --- applications and batches ----------------------------------------- */

struct person {
	char id[16];
	char name[64];
	char ssn[MIC_IDNUM_LEN + 1];
	char birth[9];
	char gender[2];
	const char *channel;
	const char *employer;   /* NULL unless channel employer */
	const char *ethnicity;  /* NULL: left out */
	int first_use;
	mic_scheme scheme;
};

/* Person @p i of test @p tag: a valid GB 11643 number of Beijing Chaoyang. */
static void
person_make(struct person *p, const char *tag, unsigned i)
{
	unsigned seq = 100 + i % 800;
	char body[32], check;

	memset(p, 0, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s-%04u", tag, i);
	snprintf(p->birth, sizeof(p->birth), "%04u%02u%02u",
	    1950 + (i / 336) % 70, 1 + (i / 28) % 12, 1 + i % 28);
	snprintf(body, sizeof(body), "110105%s%03u", p->birth, seq);
	assert_int_equal(strlen(body), 17);
	assert_int_equal(mic_idnum_check_char(body, &check), MIC_OK);
	memcpy(p->ssn, body, 17);
	p->ssn[17] = check;
	p->ssn[18] = '\0';
	assert_int_equal(mic_idnum_check(p->ssn, NULL, NULL), MIC_OK);
	p->gender[0] = seq % 2 ? '1' : '2';
	/* Some CJK names (UTF-8 in the file), some ASCII. */
	if (i % 2)
		snprintf(p->name, sizeof(p->name), "测试%u号", i);
	else
		snprintf(p->name, sizeof(p->name), "Person %u", i);
	p->channel = i % 3 == 0 ? "self" : i % 3 == 1 ? "agent" : "employer";
	if (i % 3 == 2)
		p->employer = "91110000MA00000000";
	if (i % 4 == 1)
		p->ethnicity = i % 8 == 1 ? "01" : "03";
	p->first_use = i % 5 == 0;
	p->scheme = i % 2 ? MIC_SCHEME_EMPLOYEE : MIC_SCHEME_RESIDENT;
}

/* The person's batch line, keys in a shuffled order for odd persons. */
static void
person_write(FILE *f, const struct person *p, unsigned i)
{
	char emp[64] = "", eth[32] = "";

	if (p->employer != NULL)
		snprintf(emp, sizeof(emp), "\"employer_id\":\"%s\",",
		    p->employer);
	if (p->ethnicity != NULL)
		snprintf(eth, sizeof(eth), "\"ethnicity\":\"%s\",",
		    p->ethnicity);
	if (i % 2 == 0)
		fprintf(f, "{\"application_id\":\"%s\",\"channel\":\"%s\",%s"
		    "\"name\":\"%s\",\"gender\":\"%s\",\"ssn\":\"%s\","
		    "\"birth_date\":\"%s\",\"birthplace\":\"110105\",%s"
		    "\"scheme\":\"%s\",\"pooling_region\":\"110100\","
		    "\"insured_since\":\"20200101\","
		    "\"first_use_activation\":%s}\n", p->id, p->channel, emp,
		    p->name, p->gender, p->ssn, p->birth, eth,
		    p->scheme == MIC_SCHEME_EMPLOYEE ? "employee" :
		    "resident", p->first_use ? "true" : "false");
	else
		fprintf(f, "{\"insured_since\":\"20200101\",%s%s%s"
		    "\"pooling_region\":\"110100\",\"scheme\":\"%s\","
		    "\"birthplace\":\"110105\",\"birth_date\":\"%s\","
		    "\"ssn\":\"%s\",\"gender\":\"%s\",\"name\":\"%s\","
		    "\"channel\":\"%s\",\"application_id\":\"%s\"}\n", eth,
		    p->first_use ? "\"first_use_activation\":true," : "", emp,
		    p->scheme == MIC_SCHEME_EMPLOYEE ? "employee" : "resident",
		    p->birth, p->ssn, p->gender, p->name, p->channel, p->id);
}

/* One line's error, as the enqueue's callback reports it. */
struct line_err {
	size_t line;
	char field[MIC_BATCH_FIELD_MAX];
	mic_rc rc;
	char message[MIC_BATCH_MSG_MAX];
};

struct load {
	struct line_err err[32];
	size_t n;
};

static void
on_line_error(const mic_batch_error *e, void *arg)
{
	struct load *ld = arg;

	if (ld->n == NELEM(ld->err))
		return;
	ld->err[ld->n].line = e->line;
	ld->err[ld->n].rc = e->rc;
	COPY(ld->err[ld->n].field, e->field);
	COPY(ld->err[ld->n].message, e->message);
	ld->n++;
}

/* A test's directory, journal, batch and line. */
struct fx {
	char *dir;
	char *journal;
	char *batch;
	mic_perso_line_t *line;
	struct events *evs;
	struct person people[MAX_PEOPLE];
	unsigned npeople;
};

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = tt_tmpdir();
	f->journal = tt_path(f->dir, "journal.db");
	f->batch = tt_path(f->dir, "batch.jsonl");
	assert_non_null(f->evs = calloc(1, sizeof(*f->evs)));
	assert_int_equal(mic_perso_line_new(&f->line, P->cfg, f->journal),
	    MIC_OK);
	f->evs->line = f->line;
	mic_perso_line_set_event_cb(f->line, on_event, f->evs);
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	mic_perso_line_free(&f->line);
	tt_rmrf(f->dir);
	free(f->dir);
	free(f->journal);
	free(f->batch);
	free(f->evs);
	free(f);
	return 0;
}

/* A batch of @p n valid persons and nothing else; enqueue it. */
static void
simple_batch(struct fx *f, const char *tag, unsigned n)
{
	mic_perso_load_stats st;
	struct load ld;
	mic_batch_t *b = NULL;
	FILE *fp;
	unsigned i;

	assert_true(n <= MAX_PEOPLE);
	assert_non_null(fp = fopen(f->batch, "w"));
	for (i = 0; i < n; i++) {
		person_make(&f->people[i], tag, i);
		person_write(fp, &f->people[i], i);
	}
	assert_int_equal(fclose(fp), 0);
	f->npeople = n;
	memset(&ld, 0, sizeof(ld));
	assert_int_equal(mic_batch_open(&b, f->batch), MIC_OK);
	assert_int_equal(mic_perso_line_enqueue(f->line, b, on_line_error, &ld,
	    &st), MIC_OK);
	mic_batch_free(&b);
	assert_int_equal(ld.n, 0);
	assert_int_equal(st.valid, n);
	assert_int_equal(st.queued, n);
}

static void
assert_stats(mic_perso_line_t *line, size_t issued, size_t rejected,
    size_t queued, size_t attempts, size_t failed)
{
	mic_journal_stats st;

	assert_int_equal(mic_perso_line_stats(line, &st), MIC_OK);
	assert_int_equal(st.issued, issued);
	assert_int_equal(st.rejected, rejected);
	assert_int_equal(st.queued + st.failed_retryable, queued);
	assert_int_equal(st.in_progress, 0);
	assert_int_equal(st.attempts, attempts);
	assert_int_equal(st.attempts_failed, failed);
	assert_int_equal(st.attempts_running, 0);
}

/* The card's data as any terminal reads it (in its channel), against
 * the person's. */
static void
assert_card_is(vc_card *card, const struct person *p, const char *card_id,
    const char *card_number)
{
	mic_tx_t *tx = NULL;
	mic_card_t *c = NULL;
	const mic_holder_t *h;
	const mic_insurance_t *ins;

	assert_int_equal(mic_tx_new_inproc(&tx, vc_card_transmit, card),
	    MIC_OK);
	/* The holder's files need a role (card profile 4.3): the
	 * in-process hook stands in for a terminal's channel. */
	vc_card_test_set_role(card, VC_ROLE_HOSPITAL);
	assert_int_equal(mic_card_open(&c, tx), MIC_OK);
	assert_int_equal(mic_card_state(c), MIC_STATE_PERSONALIZED);
	assert_int_equal(mic_card_read(c, MIC_READ_ALL), MIC_OK);
	h = mic_card_holder(c);
	ins = mic_card_insurance(c);
	assert_string_equal(mic_holder_ssn(h), p->ssn);
	assert_string_equal(mic_holder_name(h), p->name);
	assert_string_equal(mic_holder_gender(h), p->gender);
	assert_string_equal(mic_holder_birth_date(h), p->birth);
	assert_string_equal(mic_holder_birthplace(h), "110105");
	if (p->ethnicity == NULL)
		assert_null(mic_holder_ethnicity(h));
	else
		assert_string_equal(mic_holder_ethnicity(h), p->ethnicity);
	assert_int_equal(mic_insurance_scheme(ins), p->scheme);
	assert_string_equal(mic_insurance_region(ins), "110100");
	assert_string_equal(mic_insurance_since(ins), "20200101");
	assert_int_equal(mic_insurance_policy(ins),
	    p->first_use ? MIC_POLICY_FIRST_USE : 0);
	assert_string_equal(mic_cardinfo_id(mic_card_info(c)), card_id);
	assert_string_equal(mic_cardinfo_number(mic_card_info(c)),
	    card_number);
	mic_card_free(&c);
	mic_tx_free(&tx);
}

static const struct person *
person_by_id(const struct fx *f, const char *id)
{
	unsigned i;

	for (i = 0; i < f->npeople; i++)
		if (strcmp(f->people[i].id, id) == 0)
			return &f->people[i];
	return NULL;
}

/*
 * Every person of @p f issued exactly once, on a card personalized with
 * their data, read back from the card; chips and card numbers distinct.
 */
static void
assert_all_issued(struct fx *f, struct hopper **hs, size_t nh)
{
	const struct events *evs = f->evs;
	char seen_chips[MAX_EVENTS][20], seen_numbers[MAX_EVENTS][16];
	size_t i, k, n = 0;

	for (i = 0; i < f->npeople; i++)
		if (count_events(evs, MIC_PERSO_EV_ISSUED, f->people[i].id) !=
		    1) {
			print_events(evs);
			fail_msg("%s: not issued exactly once",
			    f->people[i].id);
		}
	for (i = 0; i < evs->n; i++) {
		const struct ev_rec *e = &evs->ev[i];
		const struct person *p;
		struct slot *s;

		if (e->kind != MIC_PERSO_EV_ISSUED)
			continue;
		assert_non_null(p = person_by_id(f, e->app_id));
		assert_non_null(s = slot_by_chip(hs, nh, e->chip));
		/* Written, verified, released to the output stack. */
		assert_int_equal(s->final, VC_STATE_PERSONALIZED);
		assert_int_equal(vc_card_state(s->card), VC_STATE_PERSONALIZED);
		assert_true(s->released >= 1);
		assert_card_is(s->card, p, e->card_id, e->card_number);
		/* The transport PIN for the mailer: six digits. */
		assert_int_equal(strlen(e->pin), MIC_TRANSPORT_PIN_LEN);
		assert_int_equal(strspn(e->pin, "0123456789"),
		    MIC_TRANSPORT_PIN_LEN);
		assert_true(e->apdus > 10);
		assert_int_equal(strlen(e->card_id), 32);
		for (k = 0; k < n; k++) {
			assert_string_not_equal(seen_chips[k], e->chip);
			assert_string_not_equal(seen_numbers[k],
			    e->card_number);
		}
		COPY(seen_chips[n], e->chip);
		COPY(seen_numbers[n], e->card_number);
		n++;
	}
	assert_int_equal(n, f->npeople);
}

/* --- tests ------------------------------------------------------------ */

static void
test_line_args(void **state)
{
	struct fx *f = *state;
	mic_perso_line_t *line = NULL;
	struct hopper *h = hopper_new("args");
	mic_perso_reader_ops bad = hopper_ops;
	char longname[MIC_READER_NAME_MAX + 2];

	assert_int_equal(mic_perso_line_new(NULL, P->cfg, f->journal),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_perso_line_new(&line, NULL, f->journal),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_null(line);
	assert_int_equal(mic_perso_line_new(&line, P->cfg, NULL),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_null(line);
	/* No reader: nothing to run. */
	assert_int_equal(mic_perso_line_run(f->line), MIC_ERR_NO_READER);
	bad.release = NULL;
	assert_int_equal(mic_perso_line_add_reader_ops(f->line, "r", &bad, h),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_perso_line_add_reader_ops(f->line, "r", NULL, h),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_perso_line_add_reader_ops(f->line, "", &hopper_ops,
	    h), MIC_ERR_INVALID_ARGUMENT);
	memset(longname, 'r', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(mic_perso_line_add_reader_ops(f->line, longname,
	    &hopper_ops, h), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_perso_line_add_reader_ops(f->line, "r",
	    &hopper_ops, h), MIC_OK);
	assert_int_equal(mic_perso_line_add_reader_ops(f->line, "r",
	    &hopper_ops, h), MIC_ERR_DUPLICATE);
	assert_int_equal(mic_perso_line_set_max_attempts(f->line, 0),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_perso_line_set_max_attempts(f->line, 101),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_perso_line_set_max_attempts(NULL, 3),
	    MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_perso_line_set_serial_base(f->line,
	    MIC_PERSO_SERIAL_MAX + 1), MIC_ERR_INVALID_ARGUMENT);
	assert_int_equal(mic_perso_line_enqueue(f->line, NULL, NULL, NULL,
	    NULL), MIC_ERR_INVALID_ARGUMENT);
	/* An empty journal: the line has nothing to do and says so at once,
	 * without touching a card. */
	assert_int_equal(mic_perso_line_run(f->line), MIC_OK);
	assert_int_equal(h->ndealt, 0);
	assert_int_equal(h->connects, 0);
	assert_int_equal(h->releases, 0);
	assert_int_equal(f->evs->n, 0);
	mic_perso_line_free(&f->line);
	hopper_free(h);
}

/*
 * (a) A batch with bad lines, on two readers: every valid application
 * issued once, on its own card, with its own data.
 */
static void
test_batch_two_readers(void **state)
{
	enum { VALID = 22 };
	struct fx *f = *state;
	struct hopper *hs[2] = { hopper_new("a0"), hopper_new("a1") };
	struct bad_line {
		size_t line;
		const char *field;
		mic_rc rc;
	} bad[5];
	mic_perso_load_stats ls;
	struct load ld;
	mic_batch_t *b = NULL;
	struct person dup;
	unsigned i, line = 0, nbad = 0, issued_by[2] = { 0, 0 };
	size_t k;
	char head[32];
	FILE *fp;

	assert_non_null(fp = fopen(f->batch, "w"));
	for (i = 0; i < VALID; i++) {
		person_make(&f->people[i], "A", i);
		person_write(fp, &f->people[i], i);
		line++;
		/* Bad lines between the good ones. */
		if (i == 2) {
			struct person p;

			person_make(&p, "A", 900);
			p.ssn[17] = p.ssn[17] == '0' ? '1' : '0';
			person_write(fp, &p, 900);
			bad[nbad++] = (struct bad_line){ ++line, "ssn",
			    MIC_ERR_IDNUM_CHECK };
		} else if (i == 7) {
			fputs("this is not json\n", fp);
			bad[nbad++] = (struct bad_line){ ++line, "",
			    MIC_ERR_JSON };
			fputs("  \t\n", fp);  /* blank: counted, not reported */
			line++;
		} else if (i == 12) {
			fputs("{\"application_id\":\"A-X\","
			    "\"nickname\":\"x\"}\n", fp);
			bad[nbad++] = (struct bad_line){ ++line, "",
			    MIC_ERR_FIELD_UNKNOWN };
		} else if (i == 17) {
			/* Person 0's application id for someone else. */
			person_make(&dup, "A", 901);
			memcpy(dup.id, f->people[0].id, sizeof(dup.id));
			person_write(fp, &dup, 901);
			bad[nbad++] = (struct bad_line){ ++line,
			    "application_id", MIC_ERR_DUPLICATE };
		}
	}
	assert_int_equal(fclose(fp), 0);
	f->npeople = VALID;

	memset(&ld, 0, sizeof(ld));
	assert_int_equal(mic_batch_open(&b, f->batch), MIC_OK);
	assert_int_equal(mic_perso_line_enqueue(f->line, b, on_line_error, &ld,
	    &ls), MIC_OK);
	mic_batch_free(&b);
	assert_int_equal(ls.lines, line);
	assert_int_equal(ls.valid, VALID);
	assert_int_equal(ls.queued, VALID);
	assert_int_equal(ls.bad, nbad);
	assert_int_equal(ls.refused, 0);
	/* Each bad line reported once, in order, by its number. */
	assert_int_equal(ld.n, nbad);
	for (k = 0; k < nbad; k++) {
		assert_int_equal(ld.err[k].line, bad[k].line);
		assert_string_equal(ld.err[k].field, bad[k].field);
		assert_int_equal(ld.err[k].rc, bad[k].rc);
		snprintf(head, sizeof(head), "line %zu: ", bad[k].line);
		assert_memory_equal(ld.err[k].message, head, strlen(head));
	}
	assert_stats(f->line, 0, 0, VALID, 0, 0);

	assert_int_equal(mic_perso_line_set_serial_base(f->line, 5000),
	    MIC_OK);
	assert_int_equal(mic_perso_line_add_reader_ops(f->line, "reader 0",
	    &hopper_ops, hs[0]), MIC_OK);
	assert_int_equal(mic_perso_line_add_reader_ops(f->line, "reader 1",
	    &hopper_ops, hs[1]), MIC_OK);
	assert_int_equal(mic_perso_line_run(f->line), MIC_OK);
	assert_no_reader_down(f->evs);
	assert_int_equal(hs[0]->error, MIC_OK);
	assert_int_equal(hs[1]->error, MIC_OK);

	assert_stats(f->line, VALID, 0, 0, VALID, 0);
	assert_int_equal(f->evs->n, VALID);  /* nothing but ISSUED */
	assert_all_issued(f, hs, 2);
	for (k = 0; k < f->evs->n; k++) {
		const struct ev_rec *e = &f->evs->ev[k];
		unsigned long long serial;

		issued_by[strcmp(e->reader, "reader 1") == 0]++;
		assert_int_equal(e->attempt_no, 1);
		/* Serial base + the attempt's id: 5001-5022. */
		serial = strtoull(e->card_id + 22, NULL, 10);
		assert_true(serial > 5000 && serial <= 5000 + VALID);
	}
	/* Both readers worked. */
	assert_true(issued_by[0] > 0);
	assert_true(issued_by[1] > 0);
	assert_int_equal(issued_by[0] + issued_by[1], VALID);
	/* Each reader: one card per application it issued, released, and
	 * (at most) a blank it read while the other reader finished the
	 * last card, untouched. */
	for (i = 0; i < 2; i++) {
		assert_int_equal(hs[i]->releases, issued_by[i]);
		assert_in_range(hs[i]->ndealt, issued_by[i],
		    issued_by[i] + 1);
		assert_true(hs[i]->in == NULL || (vc_card_state(
		    hs[i]->in->card) == VC_STATE_BLANK &&
		    hs[i]->in->commits == 0));
	}
	hopper_free(hs[0]);
	hopper_free(hs[1]);
}

/*
 * (b) A card pulled out in the middle of its personalization: the attempt
 * fails, the application is issued on another card, and the chip, put in
 * again, is set aside without a write.
 */
static void
test_pull(void **state)
{
	struct fx *f = *state;
	struct hopper *hs[2] = { hopper_new("b0"), hopper_new("b1") };
	const struct ev_rec *failed, *issued, *aside;
	struct slot *pulled;
	mic_journal_t *j = NULL;
	uint8_t chip[8];
	unsigned nfail = 99, nissued = 99, i;

	simple_batch(f, "B", 6);
	hs[0]->pull_card = 2;
	hs[0]->reinsert = 1;
	assert_int_equal(mic_perso_line_add_reader_ops(f->line, "reader 0",
	    &hopper_ops, hs[0]), MIC_OK);
	assert_int_equal(mic_perso_line_add_reader_ops(f->line, "reader 1",
	    &hopper_ops, hs[1]), MIC_OK);
	assert_int_equal(mic_perso_line_run(f->line), MIC_OK);
	assert_no_reader_down(f->evs);

	pulled = &hs[0]->slots[1];
	assert_true(pulled->pulled);
	/* It was pulled mid-personalization: written to, not finished. */
	assert_true(pulled->commits_at_pull > 0);
	assert_int_not_equal(vc_card_state(pulled->card),
	    VC_STATE_PERSONALIZED);
	/* Put in again, it was not written again. */
	assert_int_equal(pulled->inserted, 2);
	assert_int_equal(pulled->commits, pulled->commits_at_pull);
	assert_int_equal(pulled->released, 2);

	assert_int_equal(count_events(f->evs, MIC_PERSO_EV_FAILED, NULL), 1);
	assert_non_null(failed = find_event(f->evs, MIC_PERSO_EV_FAILED,
	    NULL));
	assert_string_equal(failed->chip, pulled->chip);
	assert_string_equal(failed->reader, "reader 0");
	assert_int_equal(failed->rc, MIC_ERR_CARD_REMOVED);
	assert_int_equal(failed->rejected, 0);
	assert_int_equal(failed->attempt_no, 1);
	/* Its application, on another card, at its second attempt. */
	assert_int_equal(count_events(f->evs, MIC_PERSO_EV_ISSUED,
	    failed->app_id), 1);
	assert_non_null(issued = find_event(f->evs, MIC_PERSO_EV_ISSUED,
	    failed->app_id));
	assert_string_not_equal(issued->chip, failed->chip);
	assert_int_equal(issued->attempt_no, 2);
	assert_true(issued > failed);
	/* The chip that failed once is not used again. */
	assert_int_equal(count_events(f->evs, MIC_PERSO_EV_SET_ASIDE, NULL),
	    1);
	assert_non_null(aside = find_event(f->evs, MIC_PERSO_EV_SET_ASIDE,
	    NULL));
	assert_string_equal(aside->chip, pulled->chip);
	assert_string_equal(aside->app_id, "");
	assert_non_null(strstr(aside->reason, "failed an attempt before"));

	assert_stats(f->line, 6, 0, 0, 7, 1);
	assert_all_issued(f, hs, 2);
	assert_int_equal(f->evs->n, 8);
	/* What the journal says of the chips. */
	assert_int_equal(mic_journal_open(&j, f->journal), MIC_OK);
	vc_card_chip_serial(pulled->card, chip);
	assert_int_equal(mic_journal_chip_history(j, chip, &nfail, &nissued),
	    MIC_OK);
	assert_int_equal(nfail, 1);
	assert_int_equal(nissued, 0);
	for (i = 0; i < hs[1]->ndealt; i++) {
		if (hs[1]->slots[i].final != VC_STATE_PERSONALIZED)
			continue;
		vc_card_chip_serial(hs[1]->slots[i].card, chip);
		assert_int_equal(mic_journal_chip_history(j, chip, &nfail,
		    &nissued), MIC_OK);
		assert_int_equal(nfail, 0);
		assert_int_equal(nissued, 1);
	}
	mic_journal_free(&j);
	hopper_free(hs[0]);
	hopper_free(hs[1]);
}

/* A card personalized for someone who is not in any batch. */
static vc_card *
personalized_card(const char *serial)
{
	static const char text[] =
	    "{\"application_id\":\"OLD-1\",\"channel\":\"self\","
	    "\"name\":\"Old Card\",\"gender\":\"2\","
	    "\"ssn\":\"32010219881108018X\",\"birth_date\":\"19881108\","
	    "\"birthplace\":\"320102\",\"scheme\":\"resident\","
	    "\"pooling_region\":\"320100\",\"insured_since\":\"20100301\"}";
	mic_application_t *app = NULL;
	mic_perso_result_t *res = NULL;
	mic_tx_t *tx = NULL;
	vc_card *card = NULL;

	assert_int_equal(mic_application_parse(text, strlen(text), &app,
	    NULL), MIC_OK);
	assert_int_equal(make_blank(serial, &card), MIC_OK);
	assert_int_equal(mic_tx_new_inproc(&tx, vc_card_transmit, card),
	    MIC_OK);
	assert_int_equal(mic_perso_card(P->cfg, tx, app, 777, &res), MIC_OK);
	mic_perso_result_free(&res);
	mic_tx_free(&tx);
	mic_application_free(&app);
	vc_card_power_off(card);
	assert_int_equal(vc_card_state(card), VC_STATE_PERSONALIZED);
	return card;
}

/* (c) A card that is not blank is set aside, and not written. */
static void
test_not_blank(void **state)
{
	struct fx *f = *state;
	struct hopper *h = hopper_new("c0");
	struct hopper *hs[1] = { h };
	const struct ev_rec *aside;
	struct slot *old;
	mic_journal_t *j = NULL;
	mic_tx_t *tx = NULL;
	mic_card_t *c = NULL;
	uint8_t chip[8];
	unsigned nfail = 9, nissued = 9;

	simple_batch(f, "C", 3);
	h->preset[2] = personalized_card("c0-old");
	assert_int_equal(mic_perso_line_add_reader_ops(f->line, "reader 0",
	    &hopper_ops, h), MIC_OK);
	assert_int_equal(mic_perso_line_run(f->line), MIC_OK);
	assert_no_reader_down(f->evs);

	old = &h->slots[1];
	assert_int_equal(count_events(f->evs, MIC_PERSO_EV_SET_ASIDE, NULL), 1);
	assert_non_null(aside = find_event(f->evs, MIC_PERSO_EV_SET_ASIDE,
	    NULL));
	assert_string_equal(aside->chip, old->chip);
	assert_non_null(strstr(aside->reason, "not blank"));
	/* Set aside between the first and the second card issued. */
	assert_int_equal(f->evs->ev[0].kind, MIC_PERSO_EV_ISSUED);
	assert_int_equal(f->evs->ev[1].kind, MIC_PERSO_EV_SET_ASIDE);
	/* Not written: no commit, the old holder still on it. */
	assert_int_equal(old->commits, 0);
	assert_int_equal(old->released, 1);
	assert_int_equal(old->final, VC_STATE_PERSONALIZED);
	assert_int_equal(mic_tx_new_inproc(&tx, vc_card_transmit, old->card),
	    MIC_OK);
	vc_card_test_set_role(old->card, VC_ROLE_HOSPITAL);
	assert_int_equal(mic_card_open(&c, tx), MIC_OK);
	assert_int_equal(mic_card_read(c, MIC_READ_HOLDER), MIC_OK);
	assert_string_equal(mic_holder_name(mic_card_holder(c)), "Old Card");
	mic_card_free(&c);
	mic_tx_free(&tx);
	/* No attempt on it in the journal. */
	assert_int_equal(mic_journal_open(&j, f->journal), MIC_OK);
	vc_card_chip_serial(old->card, chip);
	assert_int_equal(mic_journal_chip_history(j, chip, &nfail, &nissued),
	    MIC_OK);
	assert_int_equal(nfail, 0);
	assert_int_equal(nissued, 0);
	mic_journal_free(&j);

	assert_stats(f->line, 3, 0, 0, 3, 0);
	assert_all_issued(f, hs, 1);
	/* Three issued and the old one; no blank taken once all is done. */
	assert_int_equal(h->ndealt, 4);
	assert_int_equal(f->evs->n, 4);
	hopper_free(h);
}

/*
 * (d) Every card fails: after the line's maximum of attempts each
 * application is rejected, and the run ends.
 */
static void
test_max_attempts(void **state)
{
	enum { APPS = 3, MAX = 2 };
	struct fx *f = *state;
	struct hopper *hs[2] = { hopper_new("d0"), hopper_new("d1") };
	mic_journal_t *j = NULL;
	mic_app_state s;
	unsigned i, k, attempts, rejected_ev = 0;

	simple_batch(f, "D", APPS);
	hs[0]->pull_all = 1;
	hs[1]->pull_all = 1;
	assert_int_equal(mic_perso_line_set_max_attempts(f->line, MAX), MIC_OK);
	assert_int_equal(mic_perso_line_add_reader_ops(f->line, "reader 0",
	    &hopper_ops, hs[0]), MIC_OK);
	assert_int_equal(mic_perso_line_add_reader_ops(f->line, "reader 1",
	    &hopper_ops, hs[1]), MIC_OK);
	assert_int_equal(mic_perso_line_run(f->line), MIC_OK);
	assert_no_reader_down(f->evs);

	assert_stats(f->line, 0, APPS, 0, APPS * MAX, APPS * MAX);
	assert_int_equal(count_events(f->evs, MIC_PERSO_EV_ISSUED, NULL), 0);
	assert_int_equal(count_events(f->evs, MIC_PERSO_EV_FAILED, NULL),
	    APPS * MAX);
	assert_int_equal(mic_journal_open(&j, f->journal), MIC_OK);
	for (i = 0; i < APPS; i++) {
		const char *id = f->people[i].id;
		unsigned seen = 0;

		assert_int_equal(mic_journal_state(j, id, &s, &attempts),
		    MIC_OK);
		assert_int_equal(s, MIC_APP_REJECTED);
		assert_int_equal(attempts, MAX);
		assert_int_equal(count_events(f->evs, MIC_PERSO_EV_FAILED, id),
		    MAX);
		/* Its attempts in order; only the last one rejects. */
		for (k = 0; k < f->evs->n; k++) {
			const struct ev_rec *e = &f->evs->ev[k];

			if (e->kind != MIC_PERSO_EV_FAILED ||
			    strcmp(e->app_id, id) != 0)
				continue;
			seen++;
			assert_int_equal(e->attempt_no, seen);
			assert_int_equal(e->rejected, seen == MAX);
			assert_int_equal(e->rc, MIC_ERR_CARD_REMOVED);
			rejected_ev += e->rejected;
		}
	}
	assert_int_equal(rejected_ev, APPS);
	/* Each failed card was a new chip, and each is set aside. */
	for (i = 0; i < 2; i++)
		for (k = 0; k < hs[i]->ndealt; k++) {
			struct slot *sl = &hs[i]->slots[k];
			unsigned nfail = 9, nissued = 9;
			uint8_t chip[8];

			vc_card_chip_serial(sl->card, chip);
			assert_int_equal(mic_journal_chip_history(j, chip,
			    &nfail, &nissued), MIC_OK);
			assert_int_equal(nfail, sl->released);
			assert_true(sl->released <= 1);
			assert_int_equal(nissued, 0);
			assert_int_not_equal(vc_card_state(sl->card),
			    VC_STATE_PERSONALIZED);
		}
	assert_int_equal(hs[0]->releases + hs[1]->releases, APPS * MAX);
	mic_journal_free(&j);
	hopper_free(hs[0]);
	hopper_free(hs[1]);
}

/*
 * (e) A stop from the event callback ends the run after the card in the
 * reader, with the rest queued; the next run finishes the batch, and the
 * same batch again issues nothing.
 */
static void
test_stop_and_rerun(void **state)
{
	enum { APPS = 5 };
	struct fx *f = *state;
	struct hopper *h = hopper_new("e0");
	struct hopper *hs[1] = { h };
	mic_perso_load_stats ls;
	struct load ld;
	mic_batch_t *b = NULL;
	struct person changed;
	unsigned dealt;
	FILE *fp;

	simple_batch(f, "E", APPS);
	assert_int_equal(mic_perso_line_add_reader_ops(f->line, "reader 0",
	    &hopper_ops, h), MIC_OK);
	f->evs->stop_at_issued = 1;
	assert_int_equal(mic_perso_line_run(f->line), MIC_OK);
	assert_no_reader_down(f->evs);
	assert_int_equal(f->evs->n, 1);
	assert_int_equal(f->evs->ev[0].kind, MIC_PERSO_EV_ISSUED);
	assert_stats(f->line, 1, 0, APPS - 1, 1, 0);
	/* The issued card went out; no other was taken. */
	assert_int_equal(h->ndealt, 1);
	assert_int_equal(h->releases, 1);
	assert_null(h->in);

	/* The next run goes on with what is left. */
	assert_int_equal(mic_perso_line_run(f->line), MIC_OK);
	assert_no_reader_down(f->evs);
	assert_stats(f->line, APPS, 0, 0, APPS, 0);
	assert_all_issued(f, hs, 1);
	assert_int_equal(f->evs->n, APPS);

	/* The same batch again: queued again means nothing new to do. */
	memset(&ld, 0, sizeof(ld));
	assert_int_equal(mic_batch_open(&b, f->batch), MIC_OK);
	assert_int_equal(mic_perso_line_enqueue(f->line, b, on_line_error, &ld,
	    &ls), MIC_OK);
	mic_batch_free(&b);
	assert_int_equal(ld.n, 0);
	assert_int_equal(ls.valid, APPS);
	assert_int_equal(ls.refused, 0);
	dealt = h->ndealt;
	assert_int_equal(mic_perso_line_run(f->line), MIC_OK);
	assert_stats(f->line, APPS, 0, 0, APPS, 0);
	assert_int_equal(f->evs->n, APPS);
	/* Nothing to do: no card was taken. */
	assert_int_equal(h->ndealt, dealt);
	assert_null(h->in);

	/* An application changed under its old id is refused, by line. */
	changed = f->people[3];
	snprintf(changed.name, sizeof(changed.name), "Renamed");
	assert_non_null(fp = fopen(f->batch, "w"));
	person_write(fp, &f->people[0], 0);
	person_write(fp, &changed, 3);
	assert_int_equal(fclose(fp), 0);
	memset(&ld, 0, sizeof(ld));
	assert_int_equal(mic_batch_open(&b, f->batch), MIC_OK);
	assert_int_equal(mic_perso_line_enqueue(f->line, b, on_line_error, &ld,
	    &ls), MIC_OK);
	mic_batch_free(&b);
	assert_int_equal(ls.valid, 2);
	assert_int_equal(ls.queued, 1);
	assert_int_equal(ls.refused, 1);
	assert_int_equal(ld.n, 1);
	assert_int_equal(ld.err[0].line, 2);
	assert_int_equal(ld.err[0].rc, MIC_ERR_DUPLICATE);
	assert_memory_equal(ld.err[0].message, "line 2: ", 8);
	assert_stats(f->line, APPS, 0, 0, APPS, 0);
	hopper_free(h);
}

/*
 * Applications rejected without a card attempt: one whose holder got a
 * live card meanwhile (from another batch), and one enqueued without its
 * data. The card in the reader is not spent on them.
 */
static void
test_rejected_without_card(void **state)
{
	struct fx *f = *state;
	struct hopper *h = hopper_new("f0");
	struct hopper *hs[1] = { h };
	const struct ev_rec *e;
	mic_perso_load_stats ls;
	struct person twin, bare;
	mic_journal_t *j = NULL;
	mic_batch_t *b = NULL;
	mic_app_state s;
	FILE *fp;

	simple_batch(f, "F", 2);
	/* A later batch: person 0 again, under another id. The journal
	 * cannot refuse it yet: the first card is not issued. */
	twin = f->people[0];
	snprintf(twin.id, sizeof(twin.id), "F-TWIN");
	assert_non_null(fp = fopen(f->batch, "w"));
	person_write(fp, &twin, 0);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(mic_batch_open(&b, f->batch), MIC_OK);
	assert_int_equal(mic_perso_line_enqueue(f->line, b, NULL, NULL, &ls),
	    MIC_OK);
	mic_batch_free(&b);
	assert_int_equal(ls.queued, 1);
	/* And one by id and number only. */
	person_make(&bare, "F", 5);
	assert_int_equal(mic_journal_open(&j, f->journal), MIC_OK);
	assert_int_equal(mic_journal_enqueue(j, "F-BARE", bare.ssn), MIC_OK);
	mic_journal_free(&j);

	assert_int_equal(mic_perso_line_add_reader_ops(f->line, "reader 0",
	    &hopper_ops, h), MIC_OK);
	assert_int_equal(mic_perso_line_run(f->line), MIC_OK);
	assert_no_reader_down(f->evs);
	assert_int_equal(f->evs->n, 4);
	assert_all_issued(f, hs, 1);
	assert_non_null(e = find_event(f->evs, MIC_PERSO_EV_REJECTED,
	    "F-TWIN"));
	assert_int_equal(e->rc, MIC_ERR_LIVE_CARD);
	assert_non_null(strstr(e->reason, "live card"));
	assert_non_null(e = find_event(f->evs, MIC_PERSO_EV_REJECTED,
	    "F-BARE"));
	assert_int_equal(e->rc, MIC_ERR_NOT_FOUND);
	assert_non_null(strstr(e->reason, "without data"));
	assert_stats(f->line, 2, 2, 0, 2, 0);
	assert_int_equal(mic_journal_open(&j, f->journal), MIC_OK);
	assert_int_equal(mic_journal_state(j, "F-TWIN", &s, NULL), MIC_OK);
	assert_int_equal(s, MIC_APP_REJECTED);
	assert_int_equal(mic_journal_state(j, "F-BARE", &s, NULL), MIC_OK);
	assert_int_equal(s, MIC_APP_REJECTED);
	mic_journal_free(&j);
	/* Two cards issued; the third saw both rejections and is blank,
	 * and the summary hears that it stays in the reader. */
	assert_int_equal(f->evs->untouched, 1);
	assert_int_equal(h->ndealt, 3);
	assert_int_equal(h->releases, 2);
	assert_non_null(h->in);
	assert_int_equal(vc_card_state(h->in->card), VC_STATE_BLANK);
	assert_int_equal(h->in->commits, 0);
	hopper_free(h);
}

/* A reader that fails goes down; with work left, the run says so. */
static void
test_reader_down(void **state)
{
	struct fx *f = *state;
	struct hopper *h = hopper_new("g0");
	const struct ev_rec *e;

	simple_batch(f, "G", 3);
	h->limit = 1;
	assert_int_equal(mic_perso_line_add_reader_ops(f->line, "reader 0",
	    &hopper_ops, h), MIC_OK);
	assert_int_equal(mic_perso_line_run(f->line), MIC_ERR_NO_READER);
	assert_int_equal(f->evs->n, 2);
	assert_int_equal(f->evs->ev[0].kind, MIC_PERSO_EV_ISSUED);
	assert_non_null(e = find_event(f->evs, MIC_PERSO_EV_READER_DOWN,
	    NULL));
	assert_string_equal(e->reader, "reader 0");
	assert_int_equal(e->rc, MIC_ERR_IO);
	/* Nothing hangs in progress: the rest waits for a working reader. */
	assert_stats(f->line, 1, 0, 2, 1, 0);
	h->limit = 0;
	assert_int_equal(mic_perso_line_run(f->line), MIC_OK);
	assert_stats(f->line, 3, 0, 0, 3, 0);
	hopper_free(h);
}

/*
 * One reader of two stops mid-run: the other finishes the queue, so the
 * run ends MIC_OK, but the line says a reader went down (mic perso exits
 * 1 on it, issue 10).
 */
static void
test_one_reader_down(void **state)
{
	struct fx *f = *state;
	struct hopper *h0 = hopper_new("d0"), *h1 = hopper_new("d1");

	simple_batch(f, "D", 4);
	h0->limit = 1;
	assert_int_equal(mic_perso_line_add_reader_ops(f->line, "reader 0",
	    &hopper_ops, h0), MIC_OK);
	assert_int_equal(mic_perso_line_add_reader_ops(f->line, "reader 1",
	    &hopper_ops, h1), MIC_OK);
	assert_int_equal(mic_perso_line_readers_down(f->line), 0);
	assert_int_equal(mic_perso_line_run(f->line), MIC_OK);
	assert_int_equal(count_events(f->evs, MIC_PERSO_EV_ISSUED, NULL), 4);
	assert_int_equal(count_events(f->evs, MIC_PERSO_EV_READER_DOWN, NULL),
	    1);
	assert_int_equal(mic_perso_line_readers_down(f->line), 1);
	/* A run where all goes well clears it. */
	h0->limit = 0;
	assert_int_equal(mic_perso_line_run(f->line), MIC_OK);
	assert_int_equal(mic_perso_line_readers_down(f->line), 0);
	hopper_free(h0);
	hopper_free(h1);
}

struct sealed {
	const struct events *evs;
	mic_pin_mailer_t *pm;
	size_t n, matched;
};

static int
on_sealed(const mic_journal_pin *p, void *arg)
{
	struct sealed *w = arg;
	char pin[MIC_TRANSPORT_PIN_LEN + 1];
	size_t i;

	w->n++;
	if (p->pin_cms == NULL || mic_pin_mailer_unseal(w->pm, p->pin_cms,
	    p->pin_cms_len, p->card_id, pin) != MIC_OK)
		return 0;
	for (i = 0; i < w->evs->n; i++)
		if (w->evs->ev[i].kind == MIC_PERSO_EV_ISSUED &&
		    strcmp(w->evs->ev[i].card_id, p->card_id) == 0 &&
		    strcmp(w->evs->ev[i].pin, pin) == 0)
			w->matched++;
	return 0;
}

/*
 * Every issued card's transport PIN is in the journal, sealed to the PIN
 * mailer: it opens with the PIN mailer's key to the PIN the event gave,
 * and not with another key.
 */
static void
test_pins_sealed(void **state)
{
	struct fx *f = *state;
	struct hopper *h = hopper_new("s0");
	struct sealed w = { f->evs, NULL, 0, 0 };
	mic_journal_t *j = NULL;
	char cert[512], key[512], other[512];
	char pin[MIC_TRANSPORT_PIN_LEN + 1];
	uint8_t *cms = NULL;
	size_t len = 0, i;

	simple_batch(f, "S", 3);
	assert_int_equal(mic_perso_line_add_reader_ops(f->line, "reader 0",
	    &hopper_ops, h), MIC_OK);
	assert_int_equal(mic_perso_line_run(f->line), MIC_OK);
	snprintf(cert, sizeof(cert), "%s/pin-mailer/cert.pem", P->dir);
	snprintf(key, sizeof(key), "file:%s/pin-mailer/key.pem", P->dir);
	snprintf(other, sizeof(other), "file:%s/ds/key.pem", P->dir);
	assert_int_equal(mic_pin_mailer_open(&w.pm, cert, other),
	    MIC_ERR_MISMATCH);
	assert_int_equal(mic_pin_mailer_open(&w.pm, cert, key), MIC_OK);
	assert_int_equal(mic_journal_open(&j, f->journal), MIC_OK);
	assert_int_equal(mic_journal_pins(j, 0, on_sealed, &w), MIC_OK);
	assert_int_equal(w.n, 3);
	assert_int_equal(w.matched, 3);
	w.n = 0;
	assert_int_equal(mic_journal_pins(j, 1, on_sealed, &w), MIC_OK);
	assert_int_equal(w.n, 0);
	/* Another card's PIN (moved between rows): refused. A changed
	 * byte: refused, or (in the few fields CMS does not authenticate,
	 * such as the inner content type) the right PIN; never a wrong
	 * one. */
	assert_int_equal(mic_pin_mailer_seal(w.pm, "CARD-A", "123456", &cms,
	    &len), MIC_OK);
	assert_int_equal(mic_pin_mailer_unseal(w.pm, cms, len, "CARD-A", pin),
	    MIC_OK);
	assert_string_equal(pin, "123456");
	assert_int_equal(mic_pin_mailer_unseal(w.pm, cms, len, "CARD-B", pin),
	    MIC_ERR_MISMATCH);
	assert_int_equal(pin[0], '\0');
	for (i = 0; i < len; i++) {
		cms[i] ^= 0x01;
		if (mic_pin_mailer_unseal(w.pm, cms, len, "CARD-A", pin) ==
		    MIC_OK)
			assert_string_equal(pin, "123456");
		else
			assert_int_equal(pin[0], '\0');
		cms[i] ^= 0x01;
		/* The ciphertext ("CARD-A 123456", 13 bytes) and the
		 * GCM tag (16) end the message: a change there is always
		 * refused. */
		if (i + 13 + 2 + 16 >= len) {
			cms[i] ^= 0x80;
			assert_int_not_equal(mic_pin_mailer_unseal(w.pm, cms,
			    len, "CARD-A", pin), MIC_OK);
			cms[i] ^= 0x80;
		}
	}
	free(cms);
	assert_int_equal(mic_pin_mailer_seal(w.pm, "CARD-A", "12345", &cms,
	    &len), MIC_ERR_INVALID_ARGUMENT);
	assert_null(cms);
	mic_journal_free(&j);
	mic_pin_mailer_free(&w.pm);
	hopper_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_line_args, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_batch_two_readers,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_pull, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_not_blank, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_max_attempts, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_stop_and_rerun, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_rejected_without_card,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_one_reader_down, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_pins_sealed, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_reader_down, fx_setup,
		    fx_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
