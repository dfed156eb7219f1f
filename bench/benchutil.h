/*
 * Helpers shared by the issuance-line benchmarks: clocks, medians, a test
 * PKI in a temporary directory, the chip factory that makes blank cards for
 * it, synthetic batches, and the process's memory figures.
 *
 * Failures print one line to stderr and return non-zero: a benchmark that
 * cannot run must say so, and scripts/bench then fails.
 */
#ifndef MIC_BENCHUTIL_H
#define MIC_BENCHUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include <mic/batch.h>
#include <mic/err.h>

#include "chipfactory.h"
#include "vcard.h"

/* Monotonic wall clock and this thread's CPU time, in seconds. */
double bu_now(void);
double bu_thread_cpu(void);

/* Median of @p v (sorted in place); 0 for n == 0. */
double bu_median(double *v, size_t n);

/* A new directory under $TMPDIR (or /tmp), NULL on failure; free() it. */
char *bu_tmpdir(const char *tag);
/* rm -rf */
void bu_rmrf(const char *path);
/* "DIR/REL", malloc'ed; aborts on no memory. */
char *bu_path(const char *dir, const char *rel);

/* A complete P-256 test PKI (mic_pki_init) in @p dir. */
int bu_pki(const char *dir);
/* The private key in the PEM file DIR/REL, or NULL (said on stderr). */
EVP_PKEY *bu_pem_key(const char *dir, const char *rel);
/* @p n applications of a synthetic batch, written to DIR/apps.jsonl. */
int bu_apps(const char *dir, mic_application_t **apps, int n);

/* The chip factory (chipfactory.h) of the PKI in @p dir; 0, or -1 said on
 * stderr. */
int bu_factory_new(vcf_factory **f, const char *pki_dir);
/*
 * A blank card named @p serial, provisioned by @p f: its own SK.SD.ECKA,
 * CERT.SD.ECKA from the card-certificate issuer, the root and today.
 * @p pub receives PK.SD.ECKA (65 bytes) if not NULL.
 */
int bu_factory_card(vcf_factory *f, const char *serial, vc_card **out,
    uint8_t pub[65]);

/*
 * Application @p i of a synthetic batch as one JSON line with its LF:
 * unique application id and GB 11643-1999 number (a valid ISO 7064
 * MOD 11-2 check character) for i < 999 * 20000, gender that agrees with
 * the number, a CJK name. Returns the length, or 0 if @p cap is short.
 */
size_t bu_app_line(unsigned i, char *buf, size_t cap);
/* @p n such lines into a new file @p path. */
int bu_batch_file(const char *path, unsigned n);

/* A "VmRSS"-like field of /proc/self/status in kB, or -1. */
long bu_status_kb(const char *field);

#endif
