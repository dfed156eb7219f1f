/*
 * mic settle verify: the back office's check of the day's settlement
 * files (docs/settlement.md). mic receipt verify: one receipt.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "mic-tool.h"
#include "settlement.h"

static void
settle_usage(FILE *f)
{
	fprintf(f, "usage: mic settle verify --trust DIR [--json] FILE...\n"
	    "  Every receipt of the settlement files FILE... against its card\n"
	    "  certificate, whose chain is verified against the trust store\n"
	    "  DIR (a PKI directory's trust/, or the PKI directory itself).\n"
	    "  Then the counters of each card across all the files: two\n"
	    "  different receipts with one card and one counter are a clone\n"
	    "  alarm (two chips with one identity), counters that skip a value\n"
	    "  are a gap (a receipt is missing). The same receipt twice is a\n"
	    "  duplicate upload, counted once and not an alarm. Totals per\n"
	    "  terminal and per day follow, in fen.\n"
	    "  Exit status 0 when every line verified with no clone alarm and\n"
	    "  no gap, 1 otherwise, 2 for bad usage.\n");
}

static void
receipt_usage(FILE *f)
{
	fprintf(f, "usage: mic receipt verify --trust DIR [--json] FILE [LINE]\n"
	    "       mic receipt verify --trust DIR [--json] --cert CERT HEX\n"
	    "  One receipt: line LINE (default 1) of the settlement file FILE,\n"
	    "  or the receipt HEX (the encoding of docs/settlement.md) with the\n"
	    "  card certificate CERT (PEM or DER). Prints the receipt and a\n"
	    "  verdict. Exit status 0 when it verifies, 1 otherwise.\n");
}

static const char *
type_name(const mic_receipt_t *r)
{
	return mic_receipt_get_type(r) == MIC_RECEIPT_DEBIT ? "debit" :
	    "credit";
}

static void
print_fen(FILE *f, int64_t fen)
{
	fprintf(f, "%lld.%02lld yuan", (long long)(fen / 100),
	    (long long)(fen % 100));
}

static void
print_receipt(const mic_receipt_t *r)
{
	printf("card %s counter %u: %s of ", mic_receipt_card_id(r),
	    (unsigned)mic_receipt_counter(r), type_name(r));
	print_fen(stdout, mic_receipt_amount(r));
	printf(", balance after ");
	print_fen(stdout, mic_receipt_balance(r));
	printf(", %s, terminal %s, payer %u, reference ",
	    mic_receipt_time(r), mic_receipt_terminal(r),
	    (unsigned)mic_receipt_payer(r));
	tool_hex(stdout, mic_receipt_reference(r), MIC_RECEIPT_REF_LEN);
	printf("\n");
}

/* Every failure of json_object_set_new() in one flag: NOMEM. */
static void
set(int *bad, json_t *o, const char *k, json_t *v)
{
	if (v == NULL || json_object_set_new(o, k, v) != 0)
		*bad = 1;
}

static json_t *
receipt_json(const mic_receipt_t *r, int *bad)
{
	char ref[2 * MIC_RECEIPT_REF_LEN + 1];
	const uint8_t *p = mic_receipt_reference(r);
	json_t *o = json_object();

	for (size_t i = 0; i < MIC_RECEIPT_REF_LEN; i++)
		snprintf(ref + 2 * i, 3, "%02x", p[i]);
	if (o == NULL)
		return NULL;
	set(bad, o, "card", json_string(mic_receipt_card_id(r)));
	set(bad, o, "counter", json_integer(mic_receipt_counter(r)));
	set(bad, o, "type", json_string(type_name(r)));
	set(bad, o, "amount", json_integer(mic_receipt_amount(r)));
	set(bad, o, "balance", json_integer(mic_receipt_balance(r)));
	set(bad, o, "time", json_string(mic_receipt_time(r)));
	set(bad, o, "terminal", json_string(mic_receipt_terminal(r)));
	set(bad, o, "payer", json_integer(mic_receipt_payer(r)));
	set(bad, o, "reference", json_string(ref));
	return o;
}

static json_t *
where(const struct st_entry *e, int *bad)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	set(bad, o, "file", json_string(e->file));
	set(bad, o, "line", json_integer((json_int_t)e->line));
	return o;
}

static json_t *
totals_json(const struct st_total *t, size_t n, const char *key,
    int *bad)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++) {
		json_t *o = json_object();

		if (o == NULL || json_array_append_new(a, o) != 0) {
			*bad = 1;
			break;
		}
		set(bad, o, key, json_string(t[i].key));
		set(bad, o, "debits", json_integer((json_int_t)t[i].debits));
		set(bad, o, "debit_total", json_integer(t[i].debit_fen));
		set(bad, o, "credits", json_integer((json_int_t)t[i].credits));
		set(bad, o, "credit_total", json_integer(t[i].credit_fen));
	}
	return a;
}

static const char *const kind_name[] = { "clone", "gap", "duplicate" };

static int
settle_json(const st_check *c)
{
	json_t *root = json_object(), *lines = json_array(),
	    *finds = json_array();
	int bad_json = 0, *bad = &bad_json;

	if (root == NULL || lines == NULL || finds == NULL) {
		json_decref(root);
		json_decref(lines);
		json_decref(finds);
		return tool_fail("settle verify", "JSON", MIC_ERR_NOMEM);
	}
	set(bad, root, "ok", json_boolean(st_ok(c)));
	set(bad, root, "lines", lines);
	for (size_t i = 0; i < c->n; i++) {
		const struct st_entry *e = &c->e[i];
		json_t *o = e->r != NULL ? receipt_json(e->r, bad) : json_object();

		if (o == NULL || json_array_append_new(lines, o) != 0) {
			*bad = 1;
			break;
		}
		set(bad, o, "file", json_string(e->file));
		set(bad, o, "line", json_integer((json_int_t)e->line));
		set(bad, o, "result", json_string(e->rc == MIC_OK ? "ok" :
		    mic_strerror_name(e->rc)));
		if (e->rc != MIC_OK)
			set(bad, o, "error", json_string(e->why[0] ? e->why :
			    mic_strerror(e->rc)));
		if (e->duplicate_of >= 0)
			set(bad, o, "duplicate", json_true());
	}
	set(bad, root, "findings", finds);
	for (size_t i = 0; i < c->nf; i++) {
		const struct st_finding *f = &c->f[i];
		json_t *o = json_object();

		if (o == NULL || json_array_append_new(finds, o) != 0) {
			*bad = 1;
			break;
		}
		set(bad, o, "kind", json_string(kind_name[f->kind]));
		if (f->kind != ST_DUPLICATE)
			set(bad, o, "result", json_string(mic_strerror_name(
			    f->kind == ST_CLONE ? MIC_ERR_CLONE :
			    MIC_ERR_COUNTER_GAP)));
		set(bad, o, "card", json_string(mic_receipt_card_id(c->e[f->a].r)));
		set(bad, o, "counter", json_integer(mic_receipt_counter(
		    c->e[f->a].r)));
		if (f->kind == ST_GAP)
			set(bad, o, "next_counter", json_integer(mic_receipt_counter(
			    c->e[f->b].r)));
		set(bad, o, "first", where(&c->e[f->a], bad));
		set(bad, o, "second", where(&c->e[f->b], bad));
	}
	set(bad, root, "clones", json_integer((json_int_t)c->clones));
	set(bad, root, "gaps", json_integer((json_int_t)c->gaps));
	set(bad, root, "duplicates", json_integer((json_int_t)c->duplicates));
	set(bad, root, "failures", json_integer((json_int_t)c->failures));
	set(bad, root, "terminals", totals_json(c->term, c->nterm, "terminal", bad));
	set(bad, root, "days", totals_json(c->day, c->nday, "day", bad));
	if (bad_json || json_dumpf(root, stdout, JSON_INDENT(2) |
	    JSON_PRESERVE_ORDER) != 0) {
		json_decref(root);
		return tool_fail("settle verify", "JSON", MIC_ERR_NOMEM);
	}
	printf("\n");
	json_decref(root);
	return st_ok(c) ? 0 : 1;
}

static void
print_totals(const char *title, const struct st_total *t, size_t n)
{
	printf("totals per %s:\n", title);
	for (size_t i = 0; i < n; i++) {
		printf("  %-14s %llu debits ", t[i].key,
		    (unsigned long long)t[i].debits);
		print_fen(stdout, t[i].debit_fen);
		printf(", %llu credits ", (unsigned long long)t[i].credits);
		print_fen(stdout, t[i].credit_fen);
		printf("\n");
	}
}

static int
settle_text(const st_check *c)
{
	size_t ok = 0;

	for (size_t i = 0; i < c->n; i++) {
		const struct st_entry *e = &c->e[i];

		if (e->rc == MIC_OK) {
			ok++;
			continue;
		}
		if (e->line == 0)
			printf("%s: FAILED: ", e->file);
		else
			printf("%s:%zu: FAILED: ", e->file, e->line);
		if (e->r != NULL)
			printf("card %s counter %u: ",
			    mic_receipt_card_id(e->r),
			    (unsigned)mic_receipt_counter(e->r));
		printf("%s (%s)\n", e->why[0] ? e->why : mic_strerror(e->rc),
		    mic_strerror_name(e->rc));
	}
	for (size_t i = 0; i < c->nf; i++) {
		const struct st_finding *f = &c->f[i];
		const struct st_entry *a = &c->e[f->a], *b = &c->e[f->b];

		switch (f->kind) {
		case ST_CLONE:
			printf("CLONE ALARM: card %s counter %u: %s:%zu and "
			    "%s:%zu are two different receipts: two chips "
			    "with one identity; put the card on the deny list "
			    "(MIC_ERR_CLONE)\n",
			    mic_receipt_card_id(a->r),
			    (unsigned)mic_receipt_counter(a->r), a->file,
			    a->line, b->file, b->line);
			break;
		case ST_GAP:
			printf("GAP: card %s: counter %u (%s:%zu) is followed "
			    "by %u (%s:%zu): receipts missing "
			    "(MIC_ERR_COUNTER_GAP)\n",
			    mic_receipt_card_id(a->r),
			    (unsigned)mic_receipt_counter(a->r), a->file,
			    a->line, (unsigned)mic_receipt_counter(b->r),
			    b->file, b->line);
			break;
		case ST_DUPLICATE:
			printf("duplicate: card %s counter %u: %s:%zu is the "
			    "same receipt as %s:%zu, uploaded twice; counted "
			    "once, not an alarm\n", mic_receipt_card_id(a->r),
			    (unsigned)mic_receipt_counter(a->r), b->file,
			    b->line, a->file, a->line);
			break;
		}
	}
	print_totals("terminal", c->term, c->nterm);
	print_totals("day", c->day, c->nday);
	if (st_ok(c))
		printf("settlement: OK: %zu receipts verified, %zu duplicates\n",
		    ok, c->duplicates);
	else
		printf("settlement: FAILED: %zu lines read, failed: %zu, clone "
		    "alarms: %zu, gaps: %zu, duplicates: %zu\n", c->n,
		    c->failures, c->clones, c->gaps, c->duplicates);
	return st_ok(c) ? 0 : 1;
}

static int
settle_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "trust", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *trust_dir = NULL;
	mic_trust_t *trust = NULL;
	int c, json = 0, ret;
	st_check chk;
	mic_rc rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			trust_dir = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			settle_usage(stdout);
			return 0;
		default:
			settle_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (trust_dir == NULL || optind >= argc) {
		settle_usage(stderr);
		return EXIT_USAGE;
	}
	if ((trust = tool_trust_load("settle verify", trust_dir)) == NULL)
		return 1;
	st_init(&chk, trust);
	/* A file that cannot be read is one failed entry of the output. */
	for (int i = optind; i < argc; i++)
		if ((rc = st_add_file(&chk, argv[i])) == MIC_ERR_NOMEM)
			goto fail;
	if ((rc = st_finish(&chk)) != MIC_OK) {
fail:
		ret = tool_fail("settle verify", "check", rc);
	} else {
		ret = json ? settle_json(&chk) : settle_text(&chk);
	}
	st_clear(&chk);
	mic_trust_free(&trust);
	return ret;
}

int
cmd_settle(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return settle_verify(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		settle_usage(stdout);
		return 0;
	}
	settle_usage(stderr);
	return EXIT_USAGE;
}

/* A certificate file, PEM or DER, as DER. */
static mic_rc
read_cert(const char *path, uint8_t *out, size_t cap, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	X509 *x = NULL;
	unsigned char *p = out;
	int n;

	if (fp == NULL)
		return MIC_ERR_IO;
	if ((x = PEM_read_X509(fp, NULL, NULL, NULL)) == NULL) {
		rewind(fp);
		x = d2i_X509_fp(fp, NULL);
	}
	fclose(fp);
	if (x == NULL || (n = i2d_X509(x, NULL)) <= 0 || (size_t)n > cap) {
		X509_free(x);
		return MIC_ERR_CERT_FORMAT;
	}
	*len = (size_t)i2d_X509(x, &p);
	X509_free(x);
	return MIC_OK;
}

static int
unhex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(s);

	if (n % 2 != 0 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

/* Line @p want of @p path: the receipt and its certificate. */
static mic_rc
file_line(const char *path, size_t want, mic_receipt_t **r, uint8_t *cert,
    size_t cap, size_t *cert_len)
{
	mic_settle_t *s = NULL;
	size_t line = 0;
	char why[160] = "";
	mic_rc rc;

	if ((rc = mic_settle_open(&s, path)) != MIC_OK)
		return rc;
	do {
		mic_receipt_free(r);
		rc = mic_settle_next(s, r, cert, cap, cert_len, &line, why,
		    sizeof(why));
	} while (line < want && (rc == MIC_OK || rc == MIC_ERR_SETTLE_LINE ||
	    rc == MIC_ERR_RECEIPT_FORMAT));
	mic_settle_free(&s);
	if (rc != MIC_OK && rc != MIC_ERR_NOT_FOUND && why[0] != '\0')
		fprintf(stderr, "mic receipt verify: %s:%zu: %s\n", path, line,
		    why);
	return rc;
}

static int
receipt_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "trust", required_argument, NULL, 't' },
		{ "cert", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *trust_dir = NULL, *cert_path = NULL;
	uint8_t cert[MIC_CERT_MAX], enc[MIC_RECEIPT_MAX];
	size_t cert_len = 0, enc_len, want = 1;
	mic_trust_t *trust = NULL;
	mic_receipt_t *r = NULL;
	int c, json = 0, ret = 1, bad_json = 0;
	mic_rc rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			trust_dir = optarg;
			break;
		case 'c':
			cert_path = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			receipt_usage(stdout);
			return 0;
		default:
			receipt_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (trust_dir == NULL || optind >= argc || argc - optind > 2 ||
	    (cert_path != NULL && argc - optind != 1)) {
		receipt_usage(stderr);
		return EXIT_USAGE;
	}
	if (cert_path == NULL && argc - optind == 2) {
		char *end;

		want = strtoul(argv[optind + 1], &end, 10);
		if (*end != '\0' || want == 0) {
			receipt_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (cert_path != NULL) {
		if (unhex(argv[optind], enc, sizeof(enc), &enc_len) < 0) {
			fprintf(stderr, "mic receipt verify: the receipt is "
			    "not hex of at most %d bytes\n", MIC_RECEIPT_MAX);
			return EXIT_USAGE;
		}
		if ((rc = read_cert(cert_path, cert, sizeof(cert),
		    &cert_len)) != MIC_OK)
			return tool_fail("receipt verify", cert_path, rc);
		rc = mic_receipt_decode(&r, enc, enc_len);
	} else {
		rc = file_line(argv[optind], want, &r, cert, sizeof(cert),
		    &cert_len);
		if (rc == MIC_ERR_NOT_FOUND)
			fprintf(stderr, "mic receipt verify: %s has no line "
			    "%zu\n", argv[optind], want);
	}
	if (rc != MIC_OK)
		return tool_fail("receipt verify", "receipt", rc);
	if ((trust = tool_trust_load("receipt verify", trust_dir)) == NULL) {
		mic_receipt_free(&r);
		return 1;
	}
	rc = mic_receipt_verify(r, trust, cert, cert_len);
	if (json) {
		json_t *o = receipt_json(r, &bad_json);

		if (o != NULL) {
			set(&bad_json, o, "result", json_string(rc == MIC_OK ?
			    "ok" : mic_strerror_name(rc)));
			if (rc != MIC_OK)
				set(&bad_json, o, "error",
				    json_string(mic_strerror(rc)));
		}
		if (o == NULL || bad_json || json_dumpf(o, stdout,
		    JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
			ret = tool_fail("receipt verify", "JSON", MIC_ERR_NOMEM);
		else
			ret = rc == MIC_OK ? 0 : 1;
		printf("\n");
		json_decref(o);
	} else {
		print_receipt(r);
		if (rc == MIC_OK)
			printf("receipt: OK: signed by card %s, whose "
			    "certificate is trusted\n", mic_receipt_card_id(r));
		else
			printf("receipt: FAILED: %s (%s)\n", mic_strerror(rc),
			    mic_strerror_name(rc));
		ret = rc == MIC_OK ? 0 : 1;
	}
	mic_receipt_free(&r);
	mic_trust_free(&trust);
	return ret;
}

int
cmd_receipt(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return receipt_verify(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		receipt_usage(stdout);
		return 0;
	}
	receipt_usage(stderr);
	return EXIT_USAGE;
}
