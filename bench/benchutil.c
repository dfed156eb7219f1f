#define _XOPEN_SOURCE 700   /* nftw */
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <mic/batch.h>
#include <mic/keyprov.h>
#include <mic/pki.h>

#include "benchutil.h"

double
bu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
bu_thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
bu_median(double *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

char *
bu_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	size_t n;
	char *p;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	n = strlen(base) + strlen(tag) + 16;
	if ((p = malloc(n)) == NULL)
		return NULL;
	snprintf(p, n, "%s/%s-XXXXXX", base, tag);
	if (mkdtemp(p) == NULL) {
		fprintf(stderr, "bench: mkdtemp %s failed\n", p);
		free(p);
		return NULL;
	}
	return p;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
bu_rmrf(const char *path)
{
	if (path != NULL)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *
bu_path(const char *dir, const char *rel)
{
	size_t n = strlen(dir) + strlen(rel) + 2;
	char *p = malloc(n);

	if (p == NULL)
		abort();
	snprintf(p, n, "%s/%s", dir, rel);
	return p;
}

int
bu_pki(const char *dir)
{
	mic_pki_opts o;
	mic_rc rc;

	memset(&o, 0, sizeof(o));
	o.suite = MIC_SUITE_P256;
	if ((rc = mic_pki_init(dir, &o)) != MIC_OK) {
		fprintf(stderr, "bench: mic_pki_init %s: %s\n", dir,
		    mic_strerror(rc));
		return -1;
	}
	return 0;
}

/* --- the chip factory --------------------------------------------------- */

int
bu_factory_new(vcf_factory **f, const char *dir)
{
	char why[256];

	if (vcf_new(f, dir, why, sizeof(why)) != 0) {
		fprintf(stderr, "bench: the chip factory: %s\n", why);
		return -1;
	}
	return 0;
}

int
bu_factory_card(vcf_factory *f, const char *serial, vc_card **out,
    uint8_t pub[65])
{
	char why[256];
	vc_card *card = NULL;
	mic_rc rc;

	*out = NULL;
	if ((rc = vc_card_new(&card, serial, 0)) != MIC_OK) {
		fprintf(stderr, "bench: card %s: %s\n", serial,
		    mic_strerror(rc));
		return -1;
	}
	if (vcf_card(f, card, pub, why, sizeof(why)) != 0) {
		fprintf(stderr, "bench: factory card %s: %s\n", serial, why);
		vc_card_free(&card);
		return -1;
	}
	*out = card;
	return 0;
}

/* --- synthetic batches --------------------------------------------------- */

/* Civil date of a day count since 1970-01-01 (H. Hinnant's algorithm). */
static void
civil(long z, unsigned *y, unsigned *m, unsigned *d)
{
	long era, yy;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (long)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (unsigned)(yy + (*m <= 2));
}

static const char *const surname[10] = { "王", "李", "张", "刘", "陈", "杨",
	"赵", "黄", "周", "吴" };
static const char *const given[10] = { "伟", "芳", "娜", "敏", "静", "丽",
	"强", "磊", "军", "洋" };

size_t
bu_app_line(unsigned i, char *buf, size_t cap)
{
	/* ISO 7064 MOD 11-2: weights 2^(18-k) mod 11, check "10X98765432". */
	static const unsigned w[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9,
		10, 5, 8, 4, 2 };
	unsigned seq = i % 999 + 1, y, m, d, s = 0;
	char birth[9], ssn[19];
	int n;

	/* A born-on date from 1960-01-01 (day -3653) on, one per 999
	 * sequence numbers, so each number is unique. */
	civil(-3653L + (long)(i / 999), &y, &m, &d);
	snprintf(birth, sizeof(birth), "%04u%02u%02u", y % 10000, m % 100,
	    d % 100);
	snprintf(ssn, sizeof(ssn), "110105%s%03u", birth, seq);
	for (int k = 0; k < 17; k++)
		s += (unsigned)(ssn[k] - '0') * w[k];
	ssn[17] = "10X98765432"[s % 11];
	ssn[18] = '\0';
	n = snprintf(buf, cap,
	    "{\"application_id\":\"BENCH%07u\",\"channel\":\"self\","
	    "\"name\":\"%s%s%s\",\"gender\":\"%c\",\"ssn\":\"%s\","
	    "\"birth_date\":\"%s\",\"birthplace\":\"110105\","
	    "\"ethnicity\":\"01\",\"scheme\":\"resident\","
	    "\"pooling_region\":\"110100\",\"insured_since\":\"20200101\"}\n",
	    i, surname[i % 10], given[i / 10 % 10], given[i / 100 % 10],
	    seq % 2 ? '1' : '2', ssn, birth);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

int
bu_batch_file(const char *path, unsigned n)
{
	char line[512];
	FILE *fp = fopen(path, "w");
	size_t len;

	if (fp == NULL) {
		fprintf(stderr, "bench: cannot write %s\n", path);
		return -1;
	}
	for (unsigned i = 0; i < n; i++) {
		if ((len = bu_app_line(i, line, sizeof(line))) == 0 ||
		    fwrite(line, 1, len, fp) != len) {
			fclose(fp);
			return -1;
		}
	}
	return fclose(fp) == 0 ? 0 : -1;
}

long
bu_status_kb(const char *field)
{
	char line[256];
	size_t n = strlen(field);
	long kb = -1;
	FILE *fp = fopen("/proc/self/status", "r");

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			kb = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(fp);
	return kb;
}

EVP_PKEY *
bu_pem_key(const char *dir, const char *rel)
{
	char *path = bu_path(dir, rel);
	FILE *fp = fopen(path, "r");
	EVP_PKEY *k = NULL;

	if (fp != NULL) {
		k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
		fclose(fp);
	}
	if (k == NULL)
		fprintf(stderr, "bench: no key in %s\n", path);
	free(path);
	return k;
}

int
bu_apps(const char *dir, mic_application_t **apps, int n)
{
	char *path = bu_path(dir, "apps.jsonl");
	mic_batch_t *b = NULL;
	mic_batch_error err;
	int rc = -1;

	if (n < 1 || bu_batch_file(path, (unsigned)n) != 0 ||
	    mic_batch_open(&b, path) != MIC_OK)
		goto out;
	for (int i = 0; i < n; i++)
		if (mic_batch_next(b, &apps[i], &err) != MIC_OK) {
			fprintf(stderr, "bench: batch: %s\n", err.message);
			goto out;
		}
	rc = 0;
out:
	mic_batch_free(&b);
	free(path);
	return rc;
}
