/*
 * The clock a benchmark gives mic_perso_card() through the internal
 * mici_perso_set_prep_clock(): this thread's CPU time around each of its
 * two data-preparation steps, the public-key operations counted inside
 * them (pkcount.h), and, on the cards that ask for it, the bound timed in
 * place.
 *
 * The bound in place: the clock read that opens the second step (the card
 * certificate and EF.SOD, right after the card generated its key) first
 * times the two raw signatures of the bound (EVP_PKEY_sign on a digest,
 * a context set up once per key), in the state the caches are in when
 * mic_perso_card() signs. That card's own preparation then runs after
 * them, warmer than it would, so a benchmark counts the preparation of
 * the other cards only.
 *
 * One card at a time per process: the hook takes no argument, so its
 * state is this module's.
 */
#ifndef MIC_PREPCLOCK_H
#define MIC_PREPCLOCK_H

#include <openssl/evp.h>

#include "pkcount.h"

struct pc_card {
	double prep;              /* CPU seconds of both steps */
	double files;             /* of them, the first: files and PIN */
	double signs[2];          /* in place: card issuer, document signer */
	double signs_cpu;         /* all the CPU the signatures took */
	int reads;                /* clock reads: 4 for a card prepared */
	int signs_ok;             /* both signatures made */
};

/* The keys of the bound: the card-certificate issuer's, the document
 * signer's. 0, or -1. */
int pc_init(EVP_PKEY *ci, EVP_PKEY *ds);
void pc_free(void);
/* Around one mic_perso_card() call of this thread; @p signs: time the
 * bound in place on this card. */
void pc_card_start(int signs);
void pc_card_stop(struct pc_card *out);
/* The public-key operations inside the steps, all cards since pc_init(). */
void pc_pk(unsigned long out[PK_KINDS]);

/* The bound's raw rate: CPU seconds per EVP_PKEY_sign() of a 32-byte
 * digest by @p k over @p n signatures with one context, or a negative
 * value. */
double pc_raw_sign(EVP_PKEY *k, int n);

#endif
