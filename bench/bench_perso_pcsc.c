/*
 * The data preparation of mic_perso_card() on a line as it runs: the card
 * in a reader of a real pcscd (the vpcd driver, 'mic-vcard hopper' feeding
 * blank cards), the host's thread waiting on PC/SC while the card works,
 * as it does with a card of its own chip. bench_perso times the same
 * preparation with in-process cards, whose engine runs in the host's
 * thread between the steps; this is the figure without that.
 *
 * Per card: wait for the card, connect, mic_perso_card() with the clock of
 * prepclock.h, power the card down (the hopper takes it out and inserts the
 * next), wait until it is gone. Each round first times the raw signatures
 * of the bound; every other card also times them in place.
 *
 * usage: bench_perso_pcsc PKI_DIR [ROUNDS [CARDS_PER_ROUND [OPS]]]
 * PCSCLITE_CSOCK_NAME must point at the stack (scripts/reader-stack start
 * --hopper OUT --pki PKI_DIR). Prints key=value lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mic/batch.h>
#include <mic/pcsc.h>
#include <mic/perso.h>

#include "benchutil.h"
#include "pkcount.h"
#include "prepclock.h"

#define APPS 16
#define WAIT_MS 30000

/* One card through the first reader; 0, or -1 said on stderr. */
static int
one_card(const char *reader, mic_perso_cfg_t *cfg,
    const mic_application_t *app, uint64_t serial, int signs,
    struct pc_card *pc, double *host)
{
	char name[256];
	mic_tx_t *tx = NULL;
	mic_perso_result_t *res = NULL;
	double t0;
	mic_rc rc;

	if ((rc = mic_pcsc_wait_card(reader, WAIT_MS, name,
	    sizeof(name))) != MIC_OK ||
	    (rc = mic_pcsc_open(&tx, reader)) != MIC_OK) {
		fprintf(stderr, "bench_perso_pcsc: no card: %s\n",
		    mic_strerror(rc));
		return -1;
	}
	pc_card_start(signs);
	pk_count_on(1);
	t0 = bu_thread_cpu();
	rc = mic_perso_card(cfg, tx, app, serial, &res);
	*host = bu_thread_cpu() - t0;
	pk_count_on(0);
	pc_card_stop(pc);
	*host -= pc->signs_cpu;
	mic_perso_result_free(&res);
	mic_pcsc_close_unpower(&tx);
	if (rc != MIC_OK) {
		fprintf(stderr, "bench_perso_pcsc: mic_perso_card: %s\n",
		    mic_strerror(rc));
		return -1;
	}
	if (signs && !pc->signs_ok) {
		fprintf(stderr, "bench_perso_pcsc: a signature in place "
		    "failed\n");
		return -1;
	}
	if ((rc = mic_pcsc_wait_removal(reader, WAIT_MS)) != MIC_OK) {
		fprintf(stderr, "bench_perso_pcsc: the card stays: %s\n",
		    mic_strerror(rc));
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	int cards = argc > 3 ? atoi(argv[3]) : 10;
	int ops = argc > 4 ? atoi(argv[4]) : 200;
	mic_application_t *apps[APPS] = { NULL };
	mic_reader_info *ri = NULL;
	mic_perso_cfg_t *cfg = NULL;
	EVP_PKEY *ci = NULL, *ds = NULL;
	double *sign_ci = NULL, *sign_ds = NULL, *prep = NULL, *files = NULL;
	double *place_ci = NULL, *place_ds = NULL, *host = NULL;
	unsigned long pk0[PK_KINDS], pk1[PK_KINDS];
	char *dir = NULL;
	struct pc_card pc;
	uint64_t serial = 1;
	size_t n = 0;
	double h, t_sign2, d, t_place2;
	long prepared = 0;
	int ret = 1;
	mic_rc rc;

	if (argc < 2 || argc > 5 || rounds < 1 || rounds > 1000 ||
	    cards < 2 || cards > 10000 || ops < 1 || ops > 1000000) {
		fprintf(stderr, "usage: bench_perso_pcsc PKI_DIR [ROUNDS "
		    "[CARDS_PER_ROUND [OPS]]]\n");
		return 2;
	}
	sign_ci = calloc((size_t)rounds, sizeof(double));
	sign_ds = calloc((size_t)rounds, sizeof(double));
	place_ci = calloc((size_t)rounds, sizeof(double));
	place_ds = calloc((size_t)rounds, sizeof(double));
	prep = calloc((size_t)rounds, sizeof(double));
	files = calloc((size_t)rounds, sizeof(double));
	host = calloc((size_t)rounds, sizeof(double));
	if (sign_ci == NULL || sign_ds == NULL || place_ci == NULL ||
	    place_ds == NULL || prep == NULL || files == NULL || host == NULL ||
	    pk_count_init() != 0 ||
	    (dir = bu_tmpdir("bench-perso-pcsc")) == NULL ||
	    bu_apps(dir, apps, APPS) != 0)
		goto out;
	if ((ci = bu_pem_key(argv[1], "card-issuer/key.pem")) == NULL ||
	    (ds = bu_pem_key(argv[1], "ds/key.pem")) == NULL ||
	    pc_init(ci, ds) != 0)
		goto out;
	if ((rc = mic_reader_list(&ri, &n)) != MIC_OK || n < 1 ||
	    (rc = mic_perso_cfg_load(&cfg, argv[1], "bureau")) != MIC_OK ||
	    (rc = mic_perso_cfg_set_bureau_code(cfg, "001")) != MIC_OK) {
		fprintf(stderr, "bench_perso_pcsc: setting up: %s\n",
		    mic_strerror(rc));
		goto out;
	}
	/* Warm up: first-use costs are not per-card costs. */
	if (pc_raw_sign(ci, 20) < 0 || one_card(ri[0].name, cfg, apps[0],
	    serial++, 1, &pc, &h) != 0)
		goto out;
	pc_pk(pk0);
	for (int r = 0; r < rounds; r++) {
		double sp = 0, sf = 0, sci = 0, sds = 0, sh = 0;
		int np = 0, ni = 0;

		sign_ci[r] = pc_raw_sign(ci, ops);
		sign_ds[r] = pc_raw_sign(ds, ops);
		if (sign_ci[r] <= 0 || sign_ds[r] <= 0)
			goto out;
		/* Every other card times the bound where it signs. */
		for (int i = 0; i < cards; i++) {
			int in_place = i % 2;

			if (one_card(ri[0].name, cfg, apps[serial % APPS],
			    serial, in_place, &pc, &h) != 0)
				goto out;
			serial++;
			sh += h;
			sf += pc.files;
			if (pc.reads != 4) {
				fprintf(stderr, "bench_perso_pcsc: %d clock "
				    "reads\n", pc.reads);
				goto out;
			}
			if (in_place) {
				sci += pc.signs[0];
				sds += pc.signs[1];
				ni++;
			} else {
				sp += pc.prep;
				np++;
			}
			prepared++;
		}
		prep[r] = sp / np;
		files[r] = sf / cards;
		place_ci[r] = sci / ni;
		place_ds[r] = sds / ni;
		host[r] = sh / cards;
	}
	pc_pk(pk1);
	t_sign2 = bu_median(sign_ci, (size_t)rounds) +
	    bu_median(sign_ds, (size_t)rounds);
	t_place2 = bu_median(place_ci, (size_t)rounds) +
	    bu_median(place_ds, (size_t)rounds);
	d = bu_median(prep, (size_t)rounds);
	if (d <= 0 || pk1[PK_SIGN] - pk0[PK_SIGN] != 2 * (unsigned long)
	    prepared) {
		fprintf(stderr, "bench_perso_pcsc: %lu signatures in the "
		    "preparation of %ld cards\n", pk1[PK_SIGN] - pk0[PK_SIGN],
		    prepared);
		goto out;
	}
	printf("rounds=%d cards_per_round=%d ops_per_round=%d\n", rounds,
	    cards, ops);
	printf("reader=%s\n", ri[0].name);
	printf("raw_sign_ci_us=%.1f\nraw_sign_ds_us=%.1f\n",
	    bu_median(sign_ci, (size_t)rounds) * 1e6,
	    bu_median(sign_ds, (size_t)rounds) * 1e6);
	printf("place_sign_ci_us=%.1f\nplace_sign_ds_us=%.1f\n",
	    bu_median(place_ci, (size_t)rounds) * 1e6,
	    bu_median(place_ds, (size_t)rounds) * 1e6);
	printf("prep_us=%.1f\n", d * 1e6);
	printf("prep_files_us=%.1f\n",
	    bu_median(files, (size_t)rounds) * 1e6);
	printf("ratio_prep_vs_sign=%.3f\n", t_sign2 / d);
	printf("ratio_prep_vs_place_sign=%.3f\n", t_place2 / d);
	printf("host_cpu_ms_per_card=%.3f\n",
	    bu_median(host, (size_t)rounds) * 1e3);
	ret = 0;
out:
	pc_free();
	EVP_PKEY_free(ci);
	EVP_PKEY_free(ds);
	mic_perso_cfg_free(&cfg);
	mic_reader_list_free(&ri);
	for (int i = 0; i < APPS; i++)
		mic_application_free(&apps[i]);
	if (dir != NULL)
		bu_rmrf(dir);
	free(dir);
	free(sign_ci);
	free(sign_ds);
	free(place_ci);
	free(place_ds);
	free(prep);
	free(files);
	free(host);
	return ret;
}
