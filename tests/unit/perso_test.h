/*
 * Helpers shared by the tests that personalize in-process cards
 * (test_perso.c, test_card_verify.c, test_receipt.c, test_pos.c): one
 * approved application, and a blank card of a test PKI's chip factory.
 */
#ifndef MIC_PERSO_TEST_H
#define MIC_PERSO_TEST_H

#include <mic/batch.h>

#include "chipfactory.h"
#include "vcard.h"

/* The sample application (a valid batch line), parsed; asserts on failure. */
mic_application_t *pt_app(void);

/* A blank card of chip factory @p f with chip serial @p serial. */
vc_card *pt_factory_card(vcf_factory *f, const char *serial);

#endif
