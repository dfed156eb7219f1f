/*
 * What 'mic card read' shows (tools/mic/cardview.c), against an in-process
 * card brought through its own commands to: active, one family member from
 * personalization and one bound by the bank, a credit and a member's debit
 * logged. Every field of both
 * outputs is checked, text and JSON: without credentials (the public
 * EF.CARD only, and what was not shown), with the PIN, and with a
 * terminal's role (the in-process hook standing in for SCP11a).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>

#include <mic/mic.h>

#include "cardview.h"
#include "test_vcard_util.h"

struct fx {
	vc_card *card;
	mic_tx_t *tx;
	mic_card_t *c;
	card_view v;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	uint8_t rec[FAMILY_RECLEN];
	struct rsp *r = rsp_new();

	assert_non_null(f);
	f->card = card_at(ST_ACTIVE, MIC_POLICY_FIRST_USE, NULL);
	/* The bank binds member 1, who may pay; the member pays 12.34. */
	vc_card_test_set_role(f->card, VC_ROLE_BANK);
	select_app(f->card);
	sample_member(rec, 1, 0x01);
	assert_int_equal(send_cmd(f->card, 0x00, 0xDC, 0x01, 0x3C, rec,
	    sizeof(rec), 0, NULL), 0x9000);
	assert_int_equal(pay(f->card, 1234, 0xD0000001u, 0x01, r), 0x9000);
	free(r);
	vc_card_power_off(f->card);
	assert_int_equal(mic_tx_new_inproc(&f->tx, vc_card_transmit, f->card),
	    MIC_OK);
	assert_int_equal(mic_card_open(&f->c, f->tx), MIC_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	card_view_free(&f->v);
	mic_card_free(&f->c);
	mic_tx_free(&f->tx);
	vc_card_free(&f->card);
	free(f);
	return 0;
}

static char *
text(const card_view *v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	card_view_text(m, v);
	fclose(m);
	return buf;
}

static json_t *
json(const card_view *v)
{
	json_t *j = card_view_json(v);
	char *s;
	json_error_t err;
	json_t *back;

	assert_non_null(j);
	/* What the tool prints parses back to the same object. */
	s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	assert_non_null(s);
	back = json_loads(s, 0, &err);
	assert_non_null(back);
	assert_true(json_equal(j, back));
	json_decref(back);
	free(s);
	return j;
}

#define HAS(t, s) do { \
	if (strstr((t), (s)) == NULL) \
		fail_msg("missing \"%s\" in:\n%s", (s), (t)); \
} while (0)

static const char *
jstr(json_t *o, const char *path1, const char *key)
{
	json_t *p = path1 != NULL ? json_object_get(o, path1) : o;
	json_t *v = json_object_get(p, key);

	if (!json_is_string(v))
		fail_msg("%s.%s is not a string", path1 ? path1 : "", key);
	return json_string_value(v);
}

static void
test_public(void **state)
{
	struct fx *f = *state;
	const char *what = NULL;
	char *t;
	json_t *j;

	assert_int_equal(card_view_fetch(&f->v, f->c, CARD_PUBLIC, 0, NULL,
	    &what), MIC_OK);
	t = text(&f->v);
	HAS(t, "state:        active\n");
	HAS(t, "card id:      " CARD_ID "\n");
	HAS(t, "not shown:    the holder's data, insurance, activation, "
	    "account, family and log: they need a terminal certificate "
	    "(--terminal DIR) or the PIN (--pin)\n");
	/* Nothing of the holder's without credentials. */
	assert_null(strstr(t, "name"));
	assert_null(strstr(t, "张三"));
	assert_null(strstr(t, "110105198001010016"));
	assert_null(strstr(t, "activated"));
	assert_null(strstr(t, "balance"));
	free(t);

	j = json(&f->v);
	assert_string_equal(jstr(j, NULL, "state"), "active");
	assert_string_equal(jstr(j, "card", "id"), CARD_ID);
	assert_string_equal(jstr(j, NULL, "access"), "public");
	assert_non_null(strstr(jstr(j, NULL, "not_shown"), "--terminal DIR"));
	assert_null(json_object_get(j, "holder"));
	assert_null(json_object_get(j, "insurance"));
	assert_null(json_object_get(j, "activation"));
	assert_null(json_object_get(j, "account"));
	json_decref(j);
}

/* The holder's files, as the PIN or a terminal gives them. */
static void
check_personal(const card_view *v, const char *read_with)
{
	char *t = text(v);
	json_t *j, *a;

	HAS(t, "state:        active\n");
	HAS(t, "card id:      " CARD_ID "\n");
	HAS(t, read_with);
	HAS(t, "name:         张三\n");
	HAS(t, "ssn:          110105198001010016\n");
	HAS(t, "gender:       1 (男性)\n");
	HAS(t, "birth date:   19800101\n");
	HAS(t, "birthplace:   110105 (北京市)\n");
	HAS(t, "ethnicity:    01 (汉族)\n");
	HAS(t, "scheme:       employee\n");
	HAS(t, "pooling:      110100 (");
	HAS(t, "insured since: 20200701\n");
	HAS(t, "first use:    may be activated at a designated hospital or pharmacy\n");
	HAS(t, "activated:    2026-03-01 09:30:00, terminal BANK0001 (bank)\n");
	assert_null(strstr(t, "not shown"));
	free(t);

	j = json(v);
	assert_string_equal(jstr(j, "holder", "name"), "张三");
	assert_string_equal(jstr(j, "holder", "ethnicity"), "01");
	assert_string_equal(jstr(j, "holder", "birthplace"), "110105");
	assert_string_equal(jstr(j, "insurance", "scheme"), "employee");
	assert_string_equal(jstr(j, "insurance", "insured_since"), "20200701");
	assert_true(json_is_true(json_object_get(json_object_get(j,
	    "insurance"), "first_use_activation")));
	a = json_object_get(j, "activation");
	assert_string_equal(jstr(a, NULL, "time"), "20260301093000");
	assert_string_equal(jstr(a, NULL, "terminal"), "BANK0001");
	assert_string_equal(jstr(a, NULL, "role"), "bank");
	assert_null(json_object_get(j, "not_shown"));
	json_decref(j);
}

static void
test_terminal(void **state)
{
	struct fx *f = *state;
	const char *what = NULL;
	json_t *j;

	vc_card_test_set_role(f->card, VC_ROLE_HOSPITAL);
	assert_int_equal(card_view_fetch(&f->v, f->c, CARD_TERMINAL,
	    MIC_ROLE_HOSPITAL, NULL, &what), MIC_OK);
	check_personal(&f->v, "read with:    SCP11a, hospital POS\n");
	j = json(&f->v);
	assert_string_equal(jstr(j, NULL, "access"), "terminal");
	assert_string_equal(jstr(j, NULL, "terminal_role"), "hospital-pos");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j,
	    "account"), "balance_fen")), 98766);
	json_decref(j);
}

static void
test_with_pin(void **state)
{
	struct fx *f = *state;
	const char *what = NULL;
	char *t;
	json_t *j, *m, *l;

	assert_int_equal(card_view_fetch(&f->v, f->c, CARD_PIN, 0,
	    HOLDER_PIN, &what), MIC_OK);
	check_personal(&f->v, "read with:    the holder's PIN\n");
	t = text(&f->v);
	HAS(t, "balance:      987.66 CNY\n");
	HAS(t, "transactions: 2\n");
	HAS(t, "member 1:     20 (子) 110105201001010029 李四, may pay, "
	    "bound 20260301\n");
	HAS(t, "#2 debit 12.34 CNY, balance 987.66 CNY, 2026-11-23 14:05:59, "
	    "terminal POS00042, paid by member 1\n");
	HAS(t, "#1 credit 1000.00 CNY, balance 1000.00 CNY");
	/* Member 2 came with personalization; records 3-8 are free. */
	HAS(t, "member 2:     20 (子) 110105198202020034 李四, may not pay, "
	    "bound 20260301\n");
	if (strstr(t, "member 3:") != NULL)
		fail_msg("a free record shown:\n%s", t);
	free(t);

	j = json(&f->v);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j,
	    "account"), "balance_fen")), 98766);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j,
	    "account"), "counter")), 2);
	assert_int_equal(json_array_size(json_object_get(j, "family")), 2);
	m = json_array_get(json_object_get(j, "family"), 0);
	assert_int_equal(json_integer_value(json_object_get(m, "record")), 1);
	assert_string_equal(jstr(m, NULL, "kinship"), "20");
	assert_string_equal(jstr(m, NULL, "ssn"), "110105201001010029");
	assert_string_equal(jstr(m, NULL, "name"), "李四");
	assert_true(json_is_true(json_object_get(m, "may_pay")));
	assert_string_equal(jstr(m, NULL, "bind_date"), "20260301");
	assert_int_equal(json_array_size(json_object_get(j, "log")), 2);
	l = json_array_get(json_object_get(j, "log"), 0);
	assert_int_equal(json_integer_value(json_object_get(l, "counter")), 2);
	assert_string_equal(jstr(l, NULL, "type"), "debit");
	assert_int_equal(json_integer_value(json_object_get(l, "amount_fen")),
	    1234);
	assert_int_equal(json_integer_value(json_object_get(l,
	    "balance_fen")), 98766);
	assert_string_equal(jstr(l, NULL, "time"), "20261123140559");
	assert_string_equal(jstr(l, NULL, "terminal"), "POS00042");
	assert_int_equal(json_integer_value(json_object_get(l, "payer")), 1);
	assert_string_equal(jstr(l, NULL, "reference"),
	    "A0A1A2A3A4A5A6A7A8A9AA");
	l = json_array_get(json_object_get(j, "log"), 1);
	assert_string_equal(jstr(l, NULL, "type"), "credit");
	assert_int_equal(json_integer_value(json_object_get(l, "amount_fen")),
	    100000);
	json_decref(j);
}

static void
test_wrong_pin(void **state)
{
	struct fx *f = *state;
	const char *what = NULL;

	assert_int_equal(card_view_fetch(&f->v, f->c, CARD_PIN, 0, OTHER_PIN,
	    &what), MIC_ERR_PIN_WRONG);
	assert_int_equal(f->v.tries, 2);
	assert_string_equal(what, "verifying the PIN");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_public, setup, teardown),
		cmocka_unit_test_setup_teardown(test_with_pin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_terminal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_pin, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
