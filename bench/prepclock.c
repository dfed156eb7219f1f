/* See prepclock.h. */
#include <string.h>

#include "benchutil.h"
#include "perso_int.h"
#include "prepclock.h"

/* The digest a signature covers; its content does not change the cost. */
static const uint8_t digest[32] = { 0x5A, 0x17, 0x42 };

static unsigned long pk_in[PK_KINDS], pk_at[PK_KINDS];
static int inside;
static EVP_PKEY_CTX *sign_ctx[2];
static int want_signs;
static double t_first;
static struct pc_card cur;

int
pc_init(EVP_PKEY *ci, EVP_PKEY *ds)
{
	EVP_PKEY *k[2] = { ci, ds };

	memset(pk_in, 0, sizeof(pk_in));
	for (int i = 0; i < 2; i++)
		if ((sign_ctx[i] = EVP_PKEY_CTX_new(k[i], NULL)) == NULL ||
		    EVP_PKEY_sign_init(sign_ctx[i]) != 1) {
			pc_free();
			return -1;
		}
	return 0;
}

void
pc_free(void)
{
	for (int i = 0; i < 2; i++) {
		EVP_PKEY_CTX_free(sign_ctx[i]);
		sign_ctx[i] = NULL;
	}
}

static void
signs_in_place(void)
{
	uint8_t sig[128];
	size_t len;
	double t0 = bu_thread_cpu(), start = t0, t;
	int was = pk_count_on(0);

	cur.signs_ok = 1;
	for (int i = 0; i < 2; i++) {
		len = sizeof(sig);
		if (EVP_PKEY_sign(sign_ctx[i], sig, &len, digest,
		    sizeof(digest)) != 1)
			cur.signs_ok = 0;
		t = bu_thread_cpu();
		cur.signs[i] = t - t0;
		t0 = t;
	}
	pk_count_on(was);
	cur.signs_cpu = bu_thread_cpu() - start;
}

/* mic_perso_card() reads it at the start and at the end of each step. */
static double
prep_clock(void)
{
	unsigned long now[PK_KINDS];
	double t;

	if (want_signs && cur.reads == 2)
		signs_in_place();
	pk_count_get(now);
	for (int i = 0; i < PK_KINDS; i++) {
		if (inside)
			pk_in[i] += now[i] - pk_at[i];
		pk_at[i] = now[i];
	}
	inside = !inside;
	t = bu_thread_cpu();
	if (cur.reads == 0)
		t_first = t;
	else if (cur.reads == 1)
		cur.files = t - t_first;
	cur.reads++;
	return t;
}

void
pc_card_start(int signs)
{
	memset(&cur, 0, sizeof(cur));
	inside = 0;
	want_signs = signs;
	mici_perso_set_prep_clock(prep_clock, &cur.prep);
}

void
pc_card_stop(struct pc_card *out)
{
	mici_perso_set_prep_clock(NULL, NULL);
	want_signs = 0;
	*out = cur;
}

void
pc_pk(unsigned long out[PK_KINDS])
{
	memcpy(out, pk_in, sizeof(pk_in));
}

double
pc_raw_sign(EVP_PKEY *k, int n)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
	uint8_t sig[128];
	size_t len;
	double t0, t = -1;

	if (c == NULL || EVP_PKEY_sign_init(c) != 1)
		goto out;
	t0 = bu_thread_cpu();
	for (int i = 0; i < n; i++) {
		len = sizeof(sig);
		if (EVP_PKEY_sign(c, sig, &len, digest, sizeof(digest)) != 1)
			goto out;
	}
	t = (bu_thread_cpu() - t0) / n;
out:
	EVP_PKEY_CTX_free(c);
	return t;
}
