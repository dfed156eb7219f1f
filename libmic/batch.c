/*
 * The bureau's batch input: JSON Lines of approved applications,
 * docs/issuance.md section 1.
 *
 * One line at a time goes through a fixed buffer of MIC_BATCH_LINE_MAX
 * bytes, so a hostile or broken file (one line of a gigabyte, no newline
 * at all) costs the same memory as a good one. Each line is parsed by
 * jansson, then every value goes through the profile's own setters, which
 * are the same checks a card's data gets on decode: nothing here decides
 * again what a valid ID number, name or region code is.
 *
 * The duplicate check is the one part that grows with the batch: two
 * open-addressing sets, application ids (hash, line, offset of the id in
 * an arena of NUL-terminated ids) and ID numbers (the 18 characters packed
 * exactly into 64 bits, line, offset of the application id that claimed
 * it). About 24 bytes a slot at most 70% full, plus the id itself.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <mic/batch.h>
#include <mic/idnum.h>
#include <mic/profile.h>

#include "internal.h"
#include "mici.h"

#define SET_MIN 1024u          /* slots of a new set, a power of two */
#define ARENA_MIN 4096u

struct slot {
	uint64_t key;   /* 0: empty */
	size_t line;
	size_t off;     /* of an application id in the arena */
};

struct keyset {
	struct slot *slots;
	size_t cap;     /* a power of two, or 0 before the first insert */
	size_t count;
};

struct mic_batch {
	FILE *fp;
	int own_fp;
	int at_eof;
	int bom;                /* the file began with a UTF-8 BOM, skipped */
	size_t lineno;
	char *buf;              /* MIC_BATCH_LINE_MAX + 1 */
	struct keyset ids;
	struct keyset ssns;
	char *arena;            /* the application ids of valid lines */
	size_t arena_len, arena_cap;
};

struct mic_application {
	char id[MIC_APP_ID_MAX + 1];
	char employer[MIC_EMPLOYER_ID_MAX + 1];
	int has_employer;
	size_t line;
	mic_channel channel;
	mic_holder_t *holder;
	mic_insurance_t *ins;
	char *json;             /* the line, compact, for the journal */
};

/* The schema, in the order fields are checked and reported. */
static const char *const known_fields[] = {
	"application_id", "channel", "employer_id", "name", "ssn",
	"birth_date", "gender", "birthplace", "ethnicity", "scheme",
	"pooling_region", "insured_since", "first_use_activation",
};

/* --- error records ----------------------------------------------------- */

static mic_rc line_error(mic_batch_error *err, size_t line, const char *field,
    mic_rc rc, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * Fill @p err (when there is one) and return MIC_ERR_BATCH_LINE. A
 * message too long for the record is cut: the line and field come first.
 */
static mic_rc
line_error(mic_batch_error *err, size_t line, const char *field, mic_rc rc,
    const char *fmt, ...)
{
	char msg[MIC_BATCH_MSG_MAX];
	va_list ap;
	int n;

	/* Line 0: text that is not from a batch (mic_application_parse). */
	if (line == 0)
		n = snprintf(msg, sizeof(msg), *field != '\0' ? "%s: " :
		    "%s", field);
	else
		n = snprintf(msg, sizeof(msg), *field != '\0' ?
		    "line %zu: %s: " : "line %zu: %s", line, field);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	/* The message may quote an ID number or a birth date: the caller
	 * gets it in @p err, MIC_DEBUG only where (docs/privacy.md). */
	mici_debug("batch: line %zu: %s", line, *field != '\0' ? field : "-");
	if (err == NULL)
		return MIC_ERR_BATCH_LINE;
	err->line = line;
	err->rc = rc;
	snprintf(err->field, sizeof(err->field), "%s", field);
	memcpy(err->message, msg, sizeof(msg));

	return MIC_ERR_BATCH_LINE;
}

/* --- the duplicate sets ------------------------------------------------ */

/* FNV-1a, 64 bits: ids are short and the set compares them in full. */
static uint64_t
id_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3u;
	}

	return h == 0 ? 1 : h;
}

/*
 * An ID number packed exactly: 17 digits times 11 check values is below
 * 2^63; + 1 keeps 0 for the empty slot. @p n is canonical (X upper case).
 */
static uint64_t
ssn_key(const char *n)
{
	uint64_t k = 0;
	size_t i;

	for (i = 0; i < 17; i++)
		k = k * 10 + (uint64_t)(n[i] - '0');
	k = k * 11 + (n[17] == 'X' ? 10u : (uint64_t)(n[17] - '0'));

	return k + 1;
}

/* A 64-bit mix so that sequential numbers spread over the slots. */
static size_t
slot_of(uint64_t key, size_t cap)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdu;
	key ^= key >> 33;

	return (size_t)key & (cap - 1);
}

/*
 * The slot holding @p key (and, when @p id is not NULL, that id), or the
 * empty slot where it would go.
 */
static struct slot *
set_find(const struct keyset *set, const char *arena, uint64_t key,
    const char *id)
{
	size_t i = slot_of(key, set->cap);

	for (;;) {
		struct slot *s = &set->slots[i];

		if (s->key == 0)
			return s;
		if (s->key == key && (id == NULL || strcmp(arena + s->off,
		    id) == 0))
			return s;
		i = (i + 1) & (set->cap - 1);
	}
}

static mic_rc
set_grow(struct keyset *set)
{
	struct keyset bigger;
	size_t i;

	/* Below 70% full no grow is needed; probes stay short. */
	if (set->cap != 0 && (set->count + 1) * 10 < set->cap * 7)
		return MIC_OK;
	bigger.cap = set->cap == 0 ? SET_MIN : set->cap * 2;
	bigger.count = set->count;
	if (bigger.cap < set->cap ||
	    (bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots))) ==
	    NULL) {
		mici_debug("%s: %zu slots", __func__, bigger.cap);
		return MIC_ERR_NOMEM;
	}
	for (i = 0; i < set->cap; i++) {
		const struct slot *s = &set->slots[i];
		size_t j;

		if (s->key == 0)
			continue;
		/* Keys already unique: place without comparing ids. */
		j = slot_of(s->key, bigger.cap);
		while (bigger.slots[j].key != 0)
			j = (j + 1) & (bigger.cap - 1);
		bigger.slots[j] = *s;
	}
	free(set->slots);
	*set = bigger;

	return MIC_OK;
}

static struct slot *
set_lookup(const struct keyset *set, const char *arena, uint64_t key,
    const char *id)
{
	struct slot *s;

	if (set->cap == 0)
		return NULL;
	s = set_find(set, arena, key, id);

	return s->key == 0 ? NULL : s;
}

/* Keep a copy of @p id; its offset in @p *off. */
static mic_rc
arena_add(mic_batch_t *b, const char *id, size_t *off)
{
	size_t n = strlen(id) + 1;

	if (b->arena_cap - b->arena_len < n) {
		size_t cap = b->arena_cap == 0 ? ARENA_MIN : b->arena_cap * 2;
		char *p;

		if (cap < b->arena_cap || (p = realloc(b->arena, cap)) ==
		    NULL) {
			mici_debug("%s: %zu bytes", __func__, cap);
			return MIC_ERR_NOMEM;
		}
		b->arena = p;
		b->arena_cap = cap;
	}
	memcpy(b->arena + b->arena_len, id, n);
	*off = b->arena_len;
	b->arena_len += n;

	return MIC_OK;
}

/*
 * Is the valid application @p app a duplicate of an earlier line? If not,
 * remember it. Only valid lines are remembered: a line that was rejected
 * will not be issued, and pointing a later line at it would be misleading.
 */
static mic_rc
check_duplicate(mic_batch_t *b, const mic_application_t *app,
    mic_batch_error *err)
{
	const char *ssn = mic_holder_ssn(app->holder);
	uint64_t idk = id_hash(app->id), snk = ssn_key(ssn);
	const struct slot *s;
	struct slot *slot;
	size_t off;
	mic_rc rc;

	if ((s = set_lookup(&b->ids, b->arena, idk, app->id)) != NULL)
		return line_error(err, app->line, "application_id",
		    MIC_ERR_DUPLICATE, "\"%s\" is already on line %zu",
		    app->id, s->line);
	if ((s = set_lookup(&b->ssns, b->arena, snk, NULL)) != NULL)
		return line_error(err, app->line, "ssn", MIC_ERR_DUPLICATE,
		    "%s is already on line %zu (application %s)", ssn, s->line,
		    b->arena + s->off);
	if ((rc = set_grow(&b->ids)) != MIC_OK ||
	    (rc = set_grow(&b->ssns)) != MIC_OK ||
	    (rc = arena_add(b, app->id, &off)) != MIC_OK)
		return rc;
	slot = set_find(&b->ids, b->arena, idk, app->id);
	slot->key = idk;
	slot->line = app->line;
	slot->off = off;
	b->ids.count++;
	slot = set_find(&b->ssns, b->arena, snk, NULL);
	slot->key = snk;
	slot->line = app->line;
	slot->off = off;
	b->ssns.count++;

	return MIC_OK;
}

/* --- reading lines ----------------------------------------------------- */

/*
 * The next line into b->buf, without its newline (or CR LF).
 * @retval 1   a line, @p *len bytes
 * @retval 0   end of the stream
 * @retval -1  a read error
 * @p *too_long is set when the line was longer than the buffer; the rest
 * of it has been read and dropped.
 */
static int
read_line(mic_batch_t *b, size_t *len, int *too_long)
{
	size_t n = 0;
	int c, any = 0;

	*too_long = 0;
	while ((c = getc_unlocked(b->fp)) != EOF) {
		any = 1;
		if (c == '\n')
			break;
		if (n < MIC_BATCH_LINE_MAX)
			b->buf[n++] = (char)c;
		else
			*too_long = 1;
	}
	if (c == EOF && ferror(b->fp)) {
		mici_debug("%s: read: %s", __func__, strerror(errno));
		return -1;
	}
	if (!any)
		return 0;
	if (n > 0 && b->buf[n - 1] == '\r' && !*too_long)
		n--;
	b->buf[n] = '\0';
	*len = n;

	return 1;
}

static int
blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;

	return 1;
}

/* --- the fields -------------------------------------------------------- */

static const char *
json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
	default:
		return "null";
	}
}

/*
 * The string field @p key: *out is NULL when an optional field is absent
 * or null. A required field must be a string.
 */
static mic_rc
get_string(const json_t *obj, const char *key, int required, size_t line,
    const char **out, mic_batch_error *err)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL || (json_is_null(v) && !required)) {
		if (!required)
			return MIC_OK;
		return line_error(err, line, key, MIC_ERR_MISSING, "missing");
	}
	if (!json_is_string(v))
		return line_error(err, line, key, MIC_ERR_FIELD_TYPE,
		    "is %s, expected a string", json_kind(v));
	*out = json_string_value(v);

	return MIC_OK;
}

int
mici_ident_ok(const char *s, size_t max, size_t *bad_pos)
{
	size_t n, i;

	if (bad_pos != NULL)
		*bad_pos = 0;
	if (s == NULL || (n = strnlen(s, max + 1)) == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7E) {
			if (bad_pos != NULL)
				*bad_pos = i + 1;
			return 0;
		}

	return 1;
}

static mic_rc
check_ident(const char *s, size_t max, size_t line, const char *field,
    mic_batch_error *err)
{
	size_t bad;

	if (mici_ident_ok(s, max, &bad))
		return MIC_OK;
	if (bad == 0)
		return line_error(err, line, field, MIC_ERR_FORMAT,
		    "is %zu characters, expected 1-%zu", strlen(s), max);

	return line_error(err, line, field, MIC_ERR_FORMAT,
	    "character %zu is not printable ASCII (no spaces)", bad);
}

/* An "YYYYMMDD" date that is real. */
static mic_rc
check_date(const char *s, size_t line, const char *field,
    mic_batch_error *err)
{
	if (strlen(s) != 8 || !mici_digits(s, 8))
		return line_error(err, line, field, MIC_ERR_FORMAT,
		    "\"%.40s\" is not YYYYMMDD", s);
	if (!mici_date_real(s, 8))
		return line_error(err, line, field, MIC_ERR_DATE,
		    "%s is not a real date", s);

	return MIC_OK;
}

/* Say what mic_holder_set_ssn() refused, with mic_idnum_check()'s detail. */
static mic_rc
ssn_error(const char *ssn, mic_rc rc, size_t line, mic_batch_error *err)
{
	mic_idnum_info info;
	char today[9];

	memset(&info, 0, sizeof(info));
	if (mici_today(today) != MIC_OK ||
	    mic_idnum_check(ssn, today, &info) != rc)
		return line_error(err, line, "ssn", rc, "%s", mic_strerror(rc));
	switch (rc) {
	case MIC_ERR_IDNUM_LENGTH:
		return line_error(err, line, "ssn", rc,
		    "is %zu characters, expected %d", strlen(ssn),
		    MIC_IDNUM_LEN);
	case MIC_ERR_IDNUM_CHAR:
		return line_error(err, line, "ssn", rc,
		    "character %zu is not %s", info.bad_pos,
		    info.bad_pos == MIC_IDNUM_LEN ? "a digit or X" : "a digit");
	case MIC_ERR_IDNUM_CHECK:
		return line_error(err, line, "ssn", rc,
		    "check character is %c, expected %c", info.check_found,
		    info.check_expected);
	case MIC_ERR_IDNUM_DATE:
		return line_error(err, line, "ssn", rc,
		    "birth date %s is not a real date", info.birth_date);
	case MIC_ERR_IDNUM_FUTURE:
		return line_error(err, line, "ssn", rc,
		    "birth date %s is in the future", info.birth_date);
	case MIC_ERR_IDNUM_REGION:
		return line_error(err, line, "ssn", rc,
		    "address code %.6s is of no province", info.number);
	default:
		return line_error(err, line, "ssn", rc, "%s", mic_strerror(rc));
	}
}

/* What a setter of a text field refused, in words. */
static mic_rc
text_error(const char *field, const char *value, const char *table,
    mic_rc rc, size_t line, mic_batch_error *err)
{
	const char *why = NULL;

	switch (rc) {
	case MIC_ERR_CODE:
		return line_error(err, line, field, rc,
		    "\"%.40s\" is not a %s", value, table);
	case MIC_ERR_FORMAT:
		/* Which of the setter's reasons it was, for the message. */
		if (strcmp(field, "name") == 0 && (*value == '\0' ||
		    strlen(value) > MIC_NAME_MAX))
			return line_error(err, line, field, rc,
			    "is %zu bytes, the card holds 1-%d",
			    strlen(value), MIC_NAME_MAX);
		if (strcmp(field, "name") == 0 && mici_name_check(value,
		    strlen(value), &why) != MIC_OK && why != NULL)
			return line_error(err, line, field, rc, "%s", why);
		return line_error(err, line, field, rc,
		    "\"%.40s\" is not %s", value, table);
	case MIC_ERR_UTF8:
		/* Valid UTF-8 refused: what the name rule found in it. */
		if (strcmp(field, "name") == 0 && mici_name_check(value,
		    strlen(value), &why) != MIC_OK && why != NULL)
			return line_error(err, line, field, rc, "%s", why);
		return line_error(err, line, field, rc,
		    "not valid UTF-8, or holds a control character");
	default:
		return line_error(err, line, field, rc, "%s", mic_strerror(rc));
	}
}

static const char *
gender_word(char g)
{
	return g == '1' ? "male" : g == '2' ? "female" : "any";
}

static mic_rc
fill_holder(mic_application_t *app, const json_t *obj, mic_batch_error *err)
{
	const char *name, *ssn, *birth, *gender, *place, *eth;
	size_t line = app->line;
	mic_rc rc;

	if ((rc = get_string(obj, "name", 1, line, &name, err)) != MIC_OK)
		return rc;
	if ((rc = mic_holder_set_name(app->holder, name)) != MIC_OK)
		return text_error("name", name, "", rc, line, err);
	if ((rc = get_string(obj, "ssn", 1, line, &ssn, err)) != MIC_OK)
		return rc;
	if ((rc = mic_holder_set_ssn(app->holder, ssn)) != MIC_OK)
		return ssn_error(ssn, rc, line, err);
	if ((rc = get_string(obj, "birth_date", 1, line, &birth, err)) !=
	    MIC_OK || (rc = check_date(birth, line, "birth_date", err)) !=
	    MIC_OK)
		return rc;
	if (strcmp(birth, mic_holder_birth_date(app->holder)) != 0)
		return line_error(err, line, "birth_date", MIC_ERR_MISMATCH,
		    "%s, the ID number says %s", birth,
		    mic_holder_birth_date(app->holder));
	if ((rc = get_string(obj, "gender", 1, line, &gender, err)) != MIC_OK)
		return rc;
	if ((rc = mic_holder_set_gender(app->holder, gender)) != MIC_OK) {
		if (rc == MIC_ERR_MISMATCH)
			return line_error(err, line, "gender", rc,
			    "%s (%s), the ID number says %s", gender,
			    gender_word(gender[0]),
			    gender_word((ssn[16] - '0') % 2 ? '1' : '2'));
		return text_error("gender", gender,
		    "GB/T 2261.1 gender code (0, 1, 2, 9)", rc, line, err);
	}
	if ((rc = get_string(obj, "birthplace", 1, line, &place, err)) !=
	    MIC_OK)
		return rc;
	if ((rc = mic_holder_set_birthplace(app->holder, place)) != MIC_OK)
		return text_error("birthplace", place,
		    rc == MIC_ERR_FORMAT ? "6 characters" :
		    "GB/T 2260 region code",
		    rc, line, err);
	if ((rc = get_string(obj, "ethnicity", 0, line, &eth, err)) != MIC_OK)
		return rc;
	if (eth != NULL && (rc = mic_holder_set_ethnicity(app->holder,
	    eth)) != MIC_OK)
		return text_error("ethnicity", eth, "GB/T 3304 ethnicity code", rc,
		    line, err);

	return MIC_OK;
}

static mic_rc
fill_insurance(mic_application_t *app, const json_t *obj,
    mic_batch_error *err)
{
	const char *scheme, *region, *since;
	const json_t *v;
	size_t line = app->line;
	uint8_t policy = 0;
	mic_scheme sch;
	mic_rc rc;

	if ((rc = get_string(obj, "scheme", 1, line, &scheme, err)) != MIC_OK)
		return rc;
	if (strcmp(scheme, "employee") == 0)
		sch = MIC_SCHEME_EMPLOYEE;
	else if (strcmp(scheme, "resident") == 0)
		sch = MIC_SCHEME_RESIDENT;
	else
		return line_error(err, line, "scheme", MIC_ERR_VALUE,
		    "\"%.40s\" is not employee or resident", scheme);
	if ((rc = mic_insurance_set_scheme(app->ins, sch)) != MIC_OK)
		return line_error(err, line, "scheme", rc, "%s",
		    mic_strerror(rc));
	if ((rc = get_string(obj, "pooling_region", 1, line, &region, err)) !=
	    MIC_OK)
		return rc;
	if ((rc = mic_insurance_set_region(app->ins, region)) != MIC_OK)
		return text_error("pooling_region", region,
		    rc == MIC_ERR_FORMAT ? "6 characters" :
		    "GB/T 2260 region code",
		    rc, line, err);
	if ((rc = get_string(obj, "insured_since", 1, line, &since, err)) !=
	    MIC_OK || (rc = check_date(since, line, "insured_since", err)) !=
	    MIC_OK)
		return rc;
	if ((rc = mic_insurance_set_since(app->ins, since)) != MIC_OK)
		return line_error(err, line, "insured_since", rc, "%s",
		    mic_strerror(rc));
	/* Dates as YYYYMMDD compare as strings. */
	if (strcmp(since, mic_holder_birth_date(app->holder)) < 0)
		return line_error(err, line, "insured_since", MIC_ERR_MISMATCH,
		    "%s is before the birth date %s", since,
		    mic_holder_birth_date(app->holder));
	v = json_object_get(obj, "first_use_activation");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_boolean(v))
			return line_error(err, line, "first_use_activation",
			    MIC_ERR_FIELD_TYPE, "is %s, expected a boolean",
			    json_kind(v));
		if (json_is_true(v))
			policy |= MIC_POLICY_FIRST_USE;
	}
	if ((rc = mic_insurance_set_policy(app->ins, policy)) != MIC_OK)
		return line_error(err, line, "first_use_activation", rc, "%s",
		    mic_strerror(rc));

	return MIC_OK;
}

static mic_rc
fill_application(mic_application_t *app, json_t *obj, mic_batch_error *err)
{
	const char *id, *channel, *employer, *key;
	uint8_t scratch[MIC_EF_HOLDER_SIZE];
	size_t line = app->line, i, len;
	json_t *v;
	mic_rc rc;

	/* Unknown fields are errors, not warnings: a misspelt optional
	 * field ("ethnicty") would otherwise vanish from the card. */
	json_object_foreach(obj, key, v) {
		for (i = 0; i < MIC_ARRAY_LEN(known_fields); i++)
			if (strcmp(key, known_fields[i]) == 0)
				break;
		if (i == MIC_ARRAY_LEN(known_fields))
			return line_error(err, line, "", MIC_ERR_FIELD_UNKNOWN,
			    "unknown field \"%.40s\"", key);
	}
	if ((rc = get_string(obj, "application_id", 1, line, &id, err)) !=
	    MIC_OK || (rc = check_ident(id, MIC_APP_ID_MAX, line,
	    "application_id", err)) != MIC_OK)
		return rc;
	memcpy(app->id, id, strlen(id) + 1);
	if ((rc = get_string(obj, "channel", 1, line, &channel, err)) != MIC_OK)
		return rc;
	if (strcmp(channel, "self") == 0)
		app->channel = MIC_CHANNEL_SELF;
	else if (strcmp(channel, "agent") == 0)
		app->channel = MIC_CHANNEL_AGENT;
	else if (strcmp(channel, "employer") == 0)
		app->channel = MIC_CHANNEL_EMPLOYER;
	else
		return line_error(err, line, "channel", MIC_ERR_VALUE,
		    "\"%.40s\" is not self, agent or employer", channel);
	if ((rc = get_string(obj, "employer_id", 0, line, &employer, err)) !=
	    MIC_OK)
		return rc;
	if (app->channel == MIC_CHANNEL_EMPLOYER && employer == NULL)
		return line_error(err, line, "employer_id", MIC_ERR_MISSING,
		    "missing; channel employer needs it");
	if (app->channel != MIC_CHANNEL_EMPLOYER && employer != NULL)
		return line_error(err, line, "employer_id", MIC_ERR_MISMATCH,
		    "only goes with channel employer");
	if (employer != NULL) {
		if ((rc = check_ident(employer, MIC_EMPLOYER_ID_MAX, line,
		    "employer_id", err)) != MIC_OK)
			return rc;
		memcpy(app->employer, employer, strlen(employer) + 1);
		app->has_employer = 1;
	}
	if ((rc = fill_holder(app, obj, err)) != MIC_OK ||
	    (rc = fill_insurance(app, obj, err)) != MIC_OK)
		return rc;
	/* The promise of the API: what comes out encodes. */
	if ((rc = mic_holder_encode(app->holder, scratch, sizeof(scratch),
	    &len)) != MIC_OK || (rc = mic_insurance_encode(app->ins, scratch,
	    sizeof(scratch), &len)) != MIC_OK)
		return line_error(err, line, "", rc, "does not encode: %s",
		    mic_strerror(rc));

	return MIC_OK;
}

/* --- the API ----------------------------------------------------------- */

mic_rc
mic_batch_open_fp(mic_batch_t **bp, FILE *fp)
{
	mic_batch_t *b = NULL;

	if (bp == NULL || fp == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	*bp = NULL;
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->buf = malloc(MIC_BATCH_LINE_MAX + 1)) == NULL) {
		mici_debug("%s: calloc", __func__);
		goto fail;
	}
	b->fp = fp;
	*bp = b;

	return MIC_OK;
fail:
	if (b != NULL)
		free(b->buf);
	free(b);

	return MIC_ERR_NOMEM;
}

mic_rc
mic_batch_open(mic_batch_t **bp, const char *path)
{
	FILE *fp;
	mic_rc rc;

	if (bp == NULL || path == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	*bp = NULL;
	if ((fp = fopen(path, "rb")) == NULL) {
		mici_debug("%s: %s: %s", __func__, path, strerror(errno));
		return MIC_ERR_IO;
	}
	if ((rc = mic_batch_open_fp(bp, fp)) != MIC_OK) {
		fclose(fp);
		return rc;
	}
	(*bp)->own_fp = 1;

	return MIC_OK;
}

void
mic_batch_free(mic_batch_t **bp)
{
	mic_batch_t *b;

	if (bp == NULL || (b = *bp) == NULL)
		return;
	if (b->own_fp)
		fclose(b->fp);
	free(b->buf);
	free(b->ids.slots);
	free(b->ssns.slots);
	free(b->arena);
	free(b);
	*bp = NULL;
}

size_t
mic_batch_lines(const mic_batch_t *b)
{
	return b == NULL ? 0 : b->lineno;
}

static mic_application_t *
application_new(size_t line)
{
	mic_application_t *app;

	if ((app = calloc(1, sizeof(*app))) == NULL)
		return NULL;
	app->line = line;
	if ((app->holder = mic_holder_new()) == NULL ||
	    (app->ins = mic_insurance_new()) == NULL)
		mic_application_free(&app);

	return app;
}

/*
 * One meaning, one text. The schema makes an optional field that is null
 * the same as one left out, first_use_activation false the same as left
 * out, and x the same as X in the ID number. Left as they came, the same
 * application exported again by another system would be "other data" to
 * the journal, which refuses it under its old id (MIC_ERR_DUPLICATE),
 * although nothing changed. Called on a valid application only.
 */
static mic_rc
canonicalize(json_t *obj, const mic_application_t *app)
{
	const char *key;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(obj, tmp, key, v) {
		if ((json_is_null(v) || (json_is_false(v) &&
		    strcmp(key, "first_use_activation") == 0)) &&
		    json_object_del(obj, key) != 0)
			return MIC_ERR_INTERNAL;
	}
	if (json_object_set_new(obj, "ssn",
	    json_string(mic_holder_ssn(app->holder))) != 0)
		return MIC_ERR_NOMEM;
	return MIC_OK;
}

/*
 * One line's text to a valid application: the batch reader's check and
 * mic_application_parse()'s, so that the journal's copy is held to the
 * same rules as the batch.
 */
static mic_rc
parse_line(const char *buf, size_t len, size_t line, mic_application_t **appp,
    mic_batch_error *err)
{
	mic_application_t *app = NULL;
	json_error_t jerr;
	json_t *obj = NULL;
	mic_rc rc;

	/* No JSON_DECODE_ANY: a line must be an object or an array. */
	if ((obj = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL)
		return line_error(err, line, "", MIC_ERR_JSON,
		    "not JSON: %s (column %d)", jerr.text, jerr.column);
	if (!json_is_object(obj)) {
		rc = line_error(err, line, "", MIC_ERR_JSON,
		    "%s, expected an object", json_kind(obj));
		goto fail;
	}
	if ((app = application_new(line)) == NULL) {
		mici_debug("%s: application_new", __func__);
		rc = MIC_ERR_NOMEM;
		goto fail;
	}
	if ((rc = fill_application(app, obj, err)) != MIC_OK ||
	    (rc = canonicalize(obj, app)) != MIC_OK)
		goto fail;
	/* Canonical (sorted keys): the same application exported again in
	 * another key order is the same text in the journal. */
	if ((app->json = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_ENSURE_ASCII)) == NULL) {
		rc = MIC_ERR_NOMEM;
		goto fail;
	}
	json_decref(obj);
	*appp = app;
	return MIC_OK;
fail:
	json_decref(obj);
	mic_application_free(&app);
	return rc;
}

mic_rc
mic_batch_next(mic_batch_t *b, mic_application_t **appp, mic_batch_error *err)
{
	size_t len = 0;
	int too_long, r;
	mic_rc rc;

	if (b == NULL || appp == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	*appp = NULL;
	if (err != NULL)
		memset(err, 0, sizeof(*err));
	do {
		if (b->at_eof || (r = read_line(b, &len, &too_long)) == 0) {
			b->at_eof = 1;
			return MIC_ERR_NOT_FOUND;
		}
		if (r < 0)
			return MIC_ERR_IO;
		b->lineno++;
		/* A byte order mark some editors put first: not part of the
		 * JSON, and harmless; the caller can say it was there. */
		if (b->lineno == 1 && len >= 3 && memcmp(b->buf,
		    "\xEF\xBB\xBF", 3) == 0) {
			memmove(b->buf, b->buf + 3, len - 3 + 1);
			len -= 3;
			b->bom = 1;
		}
	} while (!too_long && blank(b->buf, len));
	if (too_long)
		return line_error(err, b->lineno, "", MIC_ERR_JSON,
		    "longer than %d bytes", MIC_BATCH_LINE_MAX);
	if ((rc = parse_line(b->buf, len, b->lineno, appp, err)) != MIC_OK)
		return rc;
	if ((rc = check_duplicate(b, *appp, err)) != MIC_OK)
		mic_application_free(appp);
	return rc;
}

mic_rc
mic_application_parse(const char *json, size_t len, mic_application_t **appp,
    mic_batch_error *err)
{
	if (appp != NULL)
		*appp = NULL;
	if (err != NULL)
		memset(err, 0, sizeof(*err));
	if (json == NULL || appp == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (len > MIC_BATCH_LINE_MAX)
		return line_error(err, 0, "", MIC_ERR_JSON,
		    "longer than %d bytes", MIC_BATCH_LINE_MAX);
	return parse_line(json, len, 0, appp, err);
}

int
mic_batch_bom(const mic_batch_t *b)
{
	return b != NULL && b->bom;
}

const char *
mic_application_json(const mic_application_t *app)
{
	return app == NULL ? NULL : app->json;
}

void
mic_application_free(mic_application_t **appp)
{
	mic_application_t *app;

	if (appp == NULL || (app = *appp) == NULL)
		return;
	mic_holder_free(&app->holder);
	mic_insurance_free(&app->ins);
	if (app->json != NULL) {
		/* Personal data: not left in freed memory. */
		mici_wipe(app->json, strlen(app->json));
		free(app->json);
	}
	free(app);
	*appp = NULL;
}

const char *
mic_application_id(const mic_application_t *app)
{
	return app == NULL ? NULL : app->id;
}

size_t
mic_application_line(const mic_application_t *app)
{
	return app == NULL ? 0 : app->line;
}

mic_channel
mic_application_channel(const mic_application_t *app)
{
	return app == NULL ? 0 : app->channel;
}

const char *
mic_application_employer(const mic_application_t *app)
{
	return app == NULL || !app->has_employer ? NULL : app->employer;
}

const mic_holder_t *
mic_application_holder(const mic_application_t *app)
{
	return app == NULL ? NULL : app->holder;
}

const mic_insurance_t *
mic_application_insurance(const mic_application_t *app)
{
	return app == NULL ? NULL : app->ins;
}

const char *
mic_channel_name(mic_channel channel)
{
	switch (channel) {
	case MIC_CHANNEL_SELF:
		return "self";
	case MIC_CHANNEL_AGENT:
		return "agent";
	case MIC_CHANNEL_EMPLOYER:
		return "employer";
	default:
		return "unknown";
	}
}
