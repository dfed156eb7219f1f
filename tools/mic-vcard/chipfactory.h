/*
 * The chip factory of docs/card-profile.md 4.4 for a test PKI (a directory
 * made by 'mic pki init'): the card engine generates SK.SD.ECKA, the PKI's
 * card-certificate issuer certifies PK.SD.ECKA as CERT.SD.ECKA, and the
 * card stores it with the PKI's root, the anchor of every terminal chain,
 * and the date.
 *
 * The PKI is read once, when the factory is made; a factory then serves
 * card after card, from several threads (the issuer's key is used under a
 * lock: a key on a token need not be thread-safe). Shared by mic-vcard
 * (new --pki, hopper --pki), the unit tests that need provisioned cards and
 * the issuance-line benchmarks.
 */
#ifndef MIC_CHIPFACTORY_H
#define MIC_CHIPFACTORY_H

#include <stddef.h>
#include <stdint.h>

#include "vcard.h"

typedef struct vcf_factory vcf_factory;

/* 0, or -1 with the reason in @p why. */
int vcf_new(vcf_factory **out, const char *pki, char *why, size_t cap);
void vcf_free(vcf_factory **f);

/*
 * Provision @p card, new from vc_card_new(). @p pub, if not NULL, receives
 * PK.SD.ECKA, the uncompressed point. 0, or -1 with the reason in @p why.
 */
int vcf_card(vcf_factory *f, vc_card *card, uint8_t pub[65], char *why,
    size_t cap);

#endif
