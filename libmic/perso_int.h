/*
 * libmic internal: mic_perso_card()'s data preparation on its own, for
 * the benchmark of the project's requirement (bench/bench_perso.c).
 */
#ifndef MIC_PERSO_INT_H
#define MIC_PERSO_INT_H

#include <stddef.h>
#include <stdint.h>

#include <mic/batch.h>
#include <mic/perso.h>

/**
 * Data preparation timed inside mic_perso_card(): while a clock is set in
 * a thread, each mic_perso_card() call of that thread reads it at the
 * start and at the end of its two preparation steps (below) and adds to
 * @p *acc the @p clock seconds between, and nothing of its card traffic or
 * checks. A NULL @p clock turns it off. For bench/prepclock.c.
 */
void mici_perso_set_prep_clock(double (*clock)(void), double *acc);

/**
 * What mic_perso_card() prepares for a card, in the two steps it takes
 * between its card traffic, by the very functions it calls: so that the
 * benchmark can also time data preparation card after card, the way the
 * raw sign rate it is held against is timed. mici_perso_prep_files():
 * EF.CARD, EF.HOLDER, EF.INSURANCE and the transport PIN of @p app, before
 * any card traffic; mici_perso_prep_signed(): the card certificate over
 * the key of @p gen (the card's answer to GENERATE KEY) and EF.SOD over
 * the files and @p chip_serial. A mici_perso is wiped when freed.
 */
typedef struct mici_perso mici_perso;
mic_rc mici_perso_new(mic_perso_cfg_t *cfg, mici_perso **out);
void mici_perso_free(mici_perso **p);
mic_rc mici_perso_prep_files(mici_perso *p, const mic_application_t *app,
    uint64_t serial);
mic_rc mici_perso_prep_signed(mici_perso *p, const uint8_t *gen,
    size_t gen_len, const uint8_t chip_serial[MIC_CHIP_SERIAL_LEN]);

struct x509_st;

/**
 * Seal "<card_id> <pin>" for the PIN mailer's certificate @p cert: a DER
 * CMS AuthEnvelopedData in a buffer the caller frees (pinmail.c).
 */
mic_rc mici_pin_seal(struct x509_st *cert, const char *card_id,
    const char *pin, uint8_t **der, size_t *der_len);

/** Read and check the PIN mailer's certificate (P-256, keyAgreement). */
mic_rc mici_pin_mailer_cert(const char *path, struct x509_st **out);

/** mici_pin_seal() with the configuration's PIN mailer certificate. */
mic_rc mici_perso_cfg_seal_pin(mic_perso_cfg_t *cfg, const char *card_id,
    const char *pin, uint8_t **der, size_t *der_len);

#endif
