/*
 * mic card read's view of a card: fetch once, print as text or JSON.
 * Amounts stay integer fen; yuan appear only in the text, for reading.
 */
#include <inttypes.h>
#include <string.h>

#include "cardview.h"

static const char *
name_of(mic_code_table t, const char *code)
{
	const char *n = mic_code_name(t, code, MIC_LANG_ZH);
	char up[7];

	/* County codes are not in the tables: name the prefecture, then the
	 * province, that contains them. */
	if (n == NULL && t == MIC_CODE_REGION && strlen(code) == 6) {
		memcpy(up, code, 4);
		memcpy(up + 4, "00", 3);
		if ((n = mic_code_name(t, up, MIC_LANG_ZH)) == NULL) {
			memcpy(up + 2, "0000", 5);
			n = mic_code_name(t, up, MIC_LANG_ZH);
		}
	}
	return n != NULL ? n : "?";
}

static const char *
ethnicity(const mic_holder_t *h)
{
	const char *e = mic_holder_ethnicity(h);

	return e != NULL && *e != '\0' ? e : NULL;
}

mic_rc
card_view_fetch(card_view *v, mic_card_t *card, card_access access,
    mic_role role, const char *pin, const char **what)
{
	mic_rc rc;
	int tries;

	memset(v, 0, sizeof(*v));
	v->card = card;
	v->access = CARD_PUBLIC;
	v->role = role;
	if (access == CARD_PIN) {
		*what = "verifying the PIN";
		if (pin == NULL)
			return MIC_ERR_INVALID_ARGUMENT;
		if ((rc = mic_card_verify_pin(card, pin, &tries)) != MIC_OK) {
			v->tries = tries;
			return rc;
		}
	}
	*what = "reading the card";
	if ((rc = mic_card_read(card, access == CARD_PUBLIC ?
	    MIC_READ_PUBLIC : MIC_READ_ALL)) != MIC_OK)
		return rc;
	if (access == CARD_PUBLIC)
		return MIC_OK;
	*what = "reading EF.ACTIVATION";
	if ((v->act = mic_activation_new()) == NULL)
		return MIC_ERR_NOMEM;
	rc = mic_card_read_activation(card, v->act);
	if (rc == MIC_ERR_NOT_FOUND)
		mic_activation_free(&v->act);
	else if (rc != MIC_OK)
		return rc;
	*what = "reading the account";
	if ((v->acct = mic_account_new()) == NULL)
		return MIC_ERR_NOMEM;
	if ((rc = mic_card_read_account(card, v->acct)) != MIC_OK)
		return rc;
	*what = "reading the family members";
	for (unsigned i = 0; i < MIC_FAMILY_RECORDS; i++) {
		if ((v->member[i] = mic_member_new()) == NULL)
			return MIC_ERR_NOMEM;
		rc = mic_card_read_family(card, i + 1, v->member[i]);
		if (rc == MIC_ERR_NOT_FOUND)
			mic_member_free(&v->member[i]);
		else if (rc != MIC_OK)
			return rc;
	}
	*what = "reading the log";
	for (v->nlog = 0; v->nlog < MIC_LOG_RECORDS; v->nlog++) {
		mic_logrec_t **l = &v->log[v->nlog];

		if ((*l = mic_logrec_new()) == NULL)
			return MIC_ERR_NOMEM;
		rc = mic_card_read_log(card, (unsigned)v->nlog + 1, *l);
		if (rc == MIC_SW_RECORD_NOT_FOUND) {
			mic_logrec_free(l);
			break;
		}
		if (rc != MIC_OK)
			return rc;
	}
	v->access = access;
	return MIC_OK;
}

void
card_view_free(card_view *v)
{
	mic_activation_free(&v->act);
	mic_account_free(&v->acct);
	for (size_t i = 0; i < MIC_FAMILY_RECORDS; i++)
		mic_member_free(&v->member[i]);
	for (size_t i = 0; i < MIC_LOG_RECORDS; i++)
		mic_logrec_free(&v->log[i]);
}

/* n14 YYYYMMDDhhmmss as "YYYY-MM-DD hh:mm:ss". */
static void
print_time(FILE *f, const char *t)
{
	if (t == NULL || strlen(t) != 14) {
		fprintf(f, "%s", t != NULL ? t : "?");
		return;
	}
	fprintf(f, "%.4s-%.2s-%.2s %.2s:%.2s:%.2s", t, t + 4, t + 6, t + 8,
	    t + 10, t + 12);
}

static void
print_cny(FILE *f, int64_t fen)
{
	/* Integer fen; yuan only for display. Balances are never negative. */
	fprintf(f, "%s%" PRId64 ".%02" PRId64 " CNY", fen < 0 ? "-" : "",
	    (fen < 0 ? -fen : fen) / 100, (fen < 0 ? -fen : fen) % 100);
}

static const char *
role_name(mic_role r)
{
	const char *n = mic_role_name(r);

	return n != NULL ? n : "?";
}

#define NOT_SHOWN "the holder's data, insurance, activation, account, " \
	"family and log: they need a terminal certificate (--terminal DIR) " \
	"or the PIN (--pin)"

static const char *
access_text(const card_view *v)
{
	static const char *const by_role[] = { "?", "SCP11a, hospital POS",
		"SCP11a, pharmacy POS", "SCP11a, bank", "SCP11a, agency",
		"SCP11a, bureau" };

	if (v->access == CARD_PIN)
		return "the holder's PIN";
	if ((unsigned)v->role < sizeof(by_role) / sizeof(by_role[0]))
		return by_role[v->role];
	return by_role[0];
}

void
card_view_text(FILE *f, const card_view *v)
{
	const mic_cardinfo_t *ci = mic_card_info(v->card);
	const mic_holder_t *h = mic_card_holder(v->card);
	const mic_insurance_t *ins = mic_card_insurance(v->card);
	int first_use = (mic_insurance_policy(ins) & MIC_POLICY_FIRST_USE) != 0;
	int members = 0;

	fprintf(f, "state:        %s\n", mic_state_name(mic_card_state(v->card)));
	fprintf(f, "card id:      %s\n", mic_cardinfo_id(ci));
	fprintf(f, "card number:  %s\n", mic_cardinfo_number(ci));
	fprintf(f, "issuer:       %s (%s)\n", mic_cardinfo_issuer(ci),
	    name_of(MIC_CODE_REGION, mic_cardinfo_issuer(ci)));
	fprintf(f, "valid:        %s to %s\n", mic_cardinfo_issue_date(ci),
	    mic_cardinfo_expiry_date(ci));
	if (v->access == CARD_PUBLIC) {
		fprintf(f, "not shown:    %s\n", NOT_SHOWN);
		return;
	}
	fprintf(f, "read with:    %s\n", access_text(v));
	fprintf(f, "name:         %s\n", mic_holder_name(h));
	fprintf(f, "ssn:          %s\n", mic_holder_ssn(h));
	fprintf(f, "gender:       %s (%s)\n", mic_holder_gender(h),
	    name_of(MIC_CODE_GENDER, mic_holder_gender(h)));
	fprintf(f, "birth date:   %s\n", mic_holder_birth_date(h));
	fprintf(f, "birthplace:   %s (%s)\n", mic_holder_birthplace(h),
	    name_of(MIC_CODE_REGION, mic_holder_birthplace(h)));
	if (ethnicity(h) != NULL)
		fprintf(f, "ethnicity:    %s (%s)\n", ethnicity(h),
		    name_of(MIC_CODE_ETHNICITY, ethnicity(h)));
	else
		fprintf(f, "ethnicity:    not recorded\n");
	fprintf(f, "scheme:       %s\n", mic_insurance_scheme(ins) ==
	    MIC_SCHEME_EMPLOYEE ? "employee" : "resident");
	fprintf(f, "pooling:      %s (%s)\n", mic_insurance_region(ins),
	    name_of(MIC_CODE_REGION, mic_insurance_region(ins)));
	fprintf(f, "insured since: %s\n", mic_insurance_since(ins));
	fprintf(f, "first use:    %s\n", first_use ?
	    "may be activated at a designated hospital or pharmacy" :
	    "activated at the bank only");
	if (v->act != NULL) {
		fprintf(f, "activated:    ");
		print_time(f, mic_activation_time(v->act));
		fprintf(f, ", terminal %s (%s)\n",
		    mic_activation_terminal(v->act),
		    role_name(mic_activation_role(v->act)));
	} else {
		fprintf(f, "activated:    not yet\n");
	}
	fprintf(f, "balance:      ");
	print_cny(f, mic_account_balance(v->acct));
	fprintf(f, "\ntransactions: %" PRIu32 "\n",
	    mic_account_counter(v->acct));
	for (size_t i = 0; i < MIC_FAMILY_RECORDS; i++) {
		const mic_member_t *m = v->member[i];

		if (m == NULL)
			continue;
		members++;
		fprintf(f, "member %zu:     %s (%s) %s %s, %s, bound %s\n", i + 1,
		    mic_member_kinship(m),
		    name_of(MIC_CODE_KINSHIP, mic_member_kinship(m)),
		    mic_member_ssn(m), mic_member_name(m),
		    mic_member_may_pay(m) ? "may pay" : "may not pay",
		    mic_member_bind_date(m));
	}
	if (members == 0)
		fprintf(f, "family:       none bound\n");
	if (v->nlog == 0)
		fprintf(f, "log:          empty\n");
	for (size_t i = 0; i < v->nlog; i++) {
		const mic_logrec_t *l = v->log[i];
		unsigned payer = mic_logrec_payer(l);

		fprintf(f, "log %-2zu        #%" PRIu32 " %s ", i + 1,
		    mic_logrec_counter(l), mic_logrec_type(l) == MIC_LOG_DEBIT ?
		    "debit" : "credit");
		print_cny(f, mic_logrec_amount(l));
		fprintf(f, ", balance ");
		print_cny(f, mic_logrec_balance(l));
		fprintf(f, ", ");
		print_time(f, mic_logrec_time(l));
		fprintf(f, ", terminal %s, ", mic_logrec_terminal(l));
		if (payer == 0)
			fprintf(f, "paid by the holder\n");
		else
			fprintf(f, "paid by member %u\n", payer);
	}
}

/* Every json_object_set_new() result in one flag: any failure is NOMEM. */
static void
set(json_t *o, const char *k, json_t *v, int *bad)
{
	if (v == NULL || json_object_set_new(o, k, v) != 0)
		*bad = 1;
}

static json_t *
str(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *
j_public(const card_view *v, int *bad)
{
	const mic_cardinfo_t *ci = mic_card_info(v->card);
	const mic_holder_t *h = mic_card_holder(v->card);
	const mic_insurance_t *ins = mic_card_insurance(v->card);
	json_t *o = json_object(), *c = json_object(), *ho = json_object(),
	    *io = json_object();

	if (o == NULL || c == NULL || ho == NULL || io == NULL) {
		*bad = 1;
		json_decref(c);
		json_decref(ho);
		json_decref(io);
		return o;
	}
	set(o, "state", str(mic_state_name(mic_card_state(v->card))), bad);
	set(c, "id", str(mic_cardinfo_id(ci)), bad);
	set(c, "number", str(mic_cardinfo_number(ci)), bad);
	set(c, "issuer", str(mic_cardinfo_issuer(ci)), bad);
	set(c, "issue_date", str(mic_cardinfo_issue_date(ci)), bad);
	set(c, "expiry_date", str(mic_cardinfo_expiry_date(ci)), bad);
	set(o, "card", c, bad);
	if (v->access == CARD_PUBLIC) {
		set(o, "access", json_string("public"), bad);
		set(o, "not_shown", json_string(NOT_SHOWN), bad);
		json_decref(ho);
		json_decref(io);
		return o;
	}
	set(o, "access", json_string(v->access == CARD_PIN ? "pin" :
	    "terminal"), bad);
	if (v->access == CARD_TERMINAL)
		set(o, "terminal_role", str(mic_role_name(v->role)), bad);
	set(ho, "name", str(mic_holder_name(h)), bad);
	set(ho, "ssn", str(mic_holder_ssn(h)), bad);
	set(ho, "gender", str(mic_holder_gender(h)), bad);
	set(ho, "birth_date", str(mic_holder_birth_date(h)), bad);
	set(ho, "birthplace", str(mic_holder_birthplace(h)), bad);
	set(ho, "ethnicity", str(ethnicity(h)), bad);
	set(o, "holder", ho, bad);
	set(io, "scheme", str(mic_insurance_scheme(ins) == MIC_SCHEME_EMPLOYEE ?
	    "employee" : "resident"), bad);
	set(io, "pooling_region", str(mic_insurance_region(ins)), bad);
	set(io, "insured_since", str(mic_insurance_since(ins)), bad);
	set(io, "first_use_activation", json_boolean(
	    (mic_insurance_policy(ins) & MIC_POLICY_FIRST_USE) != 0), bad);
	set(o, "insurance", io, bad);
	return o;
}

static json_t *
j_activation(const card_view *v, int *bad)
{
	json_t *a;

	if (v->act == NULL)
		return json_null();
	if ((a = json_object()) == NULL)
		return NULL;
	set(a, "time", str(mic_activation_time(v->act)), bad);
	set(a, "terminal", str(mic_activation_terminal(v->act)), bad);
	set(a, "role", str(mic_role_name(mic_activation_role(v->act))), bad);
	return a;
}

static json_t *
j_private(const card_view *v, json_t *o, int *bad)
{
	json_t *acct = json_object(), *fam = json_array(), *log = json_array();
	char ref[2 * MIC_LOG_REF_LEN + 1];

	if (acct == NULL || fam == NULL || log == NULL) {
		*bad = 1;
		json_decref(acct);
		json_decref(fam);
		json_decref(log);
		return o;
	}
	set(acct, "balance_fen", json_integer(mic_account_balance(v->acct)),
	    bad);
	set(acct, "counter", json_integer(mic_account_counter(v->acct)), bad);
	set(o, "account", acct, bad);
	for (size_t i = 0; i < MIC_FAMILY_RECORDS; i++) {
		const mic_member_t *m = v->member[i];
		json_t *e;

		if (m == NULL)
			continue;
		if ((e = json_object()) == NULL || json_array_append_new(fam,
		    e) != 0) {
			*bad = 1;
			continue;
		}
		set(e, "record", json_integer((json_int_t)i + 1), bad);
		set(e, "kinship", str(mic_member_kinship(m)), bad);
		set(e, "ssn", str(mic_member_ssn(m)), bad);
		set(e, "name", str(mic_member_name(m)), bad);
		set(e, "may_pay", json_boolean(mic_member_may_pay(m)), bad);
		set(e, "bind_date", str(mic_member_bind_date(m)), bad);
	}
	set(o, "family", fam, bad);
	for (size_t i = 0; i < v->nlog; i++) {
		const mic_logrec_t *l = v->log[i];
		const uint8_t *r = mic_logrec_reference(l);
		json_t *e;

		if ((e = json_object()) == NULL || json_array_append_new(log,
		    e) != 0) {
			*bad = 1;
			continue;
		}
		for (size_t k = 0; k < MIC_LOG_REF_LEN; k++)
			snprintf(ref + 2 * k, 3, "%02X", r != NULL ? r[k] : 0);
		set(e, "record", json_integer((json_int_t)i + 1), bad);
		set(e, "counter", json_integer(mic_logrec_counter(l)), bad);
		set(e, "type", str(mic_logrec_type(l) == MIC_LOG_DEBIT ?
		    "debit" : "credit"), bad);
		set(e, "amount_fen", json_integer(mic_logrec_amount(l)), bad);
		set(e, "balance_fen", json_integer(mic_logrec_balance(l)), bad);
		set(e, "time", str(mic_logrec_time(l)), bad);
		set(e, "terminal", str(mic_logrec_terminal(l)), bad);
		set(e, "payer", json_integer(mic_logrec_payer(l)), bad);
		set(e, "reference", str(ref), bad);
	}
	set(o, "log", log, bad);
	return o;
}

json_t *
card_view_json(const card_view *v)
{
	int bad = 0;
	json_t *o = j_public(v, &bad);

	if (o == NULL)
		return NULL;
	if (v->access != CARD_PUBLIC) {
		set(o, "activation", j_activation(v, &bad), &bad);
		j_private(v, o, &bad);
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}
