/* RTLD_NEXT is a GNU extension. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "pkcount.h"

/*
 * The one-shot calls (EVP_DigestSign, EVP_DigestVerify) end in the Final
 * ones for ECDSA; a per-kind depth makes a nested call count once.
 */
static _Thread_local int counting;
static _Thread_local int depth[PK_KINDS];
static _Thread_local unsigned long counts[PK_KINDS];

typedef int ds_fn(EVP_MD_CTX *, unsigned char *, size_t *,
    const unsigned char *, size_t);
typedef int dv_fn(EVP_MD_CTX *, const unsigned char *, size_t,
    const unsigned char *, size_t);
typedef int dsf_fn(EVP_MD_CTX *, unsigned char *, size_t *);
typedef int dvf_fn(EVP_MD_CTX *, const unsigned char *, size_t);
typedef int ps_fn(EVP_PKEY_CTX *, unsigned char *, size_t *,
    const unsigned char *, size_t);
typedef int pv_fn(EVP_PKEY_CTX *, const unsigned char *, size_t,
    const unsigned char *, size_t);
typedef int pd_fn(EVP_PKEY_CTX *, unsigned char *, size_t *);
typedef int pg_fn(EVP_PKEY_CTX *, EVP_PKEY **);
typedef int pc_fn(EVP_PKEY_CTX *);

static ds_fn *real_ds;
static dv_fn *real_dv;
static dsf_fn *real_dsf;
static dvf_fn *real_dvf;
static ps_fn *real_ps;
static pv_fn *real_pv;
static pd_fn *real_pd;
static pg_fn *real_pg;
static pc_fn *real_pc;

/* dlsym gives an object pointer; POSIX guarantees it converts. */
static int
resolve(const char *name, void *fnp, size_t size)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (p == NULL) {
		fprintf(stderr, "pkcount: %s not found\n", name);
		return -1;
	}
	memcpy(fnp, &p, size);
	return 0;
}

int
pk_count_init(void)
{
	static int done;

	if (done)
		return 0;
	if (resolve("EVP_DigestSign", &real_ds, sizeof(real_ds)) != 0 ||
	    resolve("EVP_DigestVerify", &real_dv, sizeof(real_dv)) != 0 ||
	    resolve("EVP_DigestSignFinal", &real_dsf, sizeof(real_dsf)) != 0 ||
	    resolve("EVP_DigestVerifyFinal", &real_dvf,
	    sizeof(real_dvf)) != 0 ||
	    resolve("EVP_PKEY_sign", &real_ps, sizeof(real_ps)) != 0 ||
	    resolve("EVP_PKEY_verify", &real_pv, sizeof(real_pv)) != 0 ||
	    resolve("EVP_PKEY_derive", &real_pd, sizeof(real_pd)) != 0 ||
	    resolve("EVP_PKEY_generate", &real_pg, sizeof(real_pg)) != 0 ||
	    resolve("EVP_PKEY_public_check", &real_pc, sizeof(real_pc)) != 0)
		return -1;
	done = 1;
	return 0;
}

int
pk_count_on(int on)
{
	int was = counting;

	counting = on;
	return was;
}

void
pk_count_reset(void)
{
	memset(counts, 0, sizeof(counts));
}

void
pk_count_get(unsigned long out[PK_KINDS])
{
	memcpy(out, counts, sizeof(counts));
}

/* A size query (no output buffer) does no public-key operation. */
static void
enter(enum pk_kind k, int real_op)
{
	if (depth[k]++ == 0 && counting && real_op)
		counts[k]++;
}

static void
leave(enum pk_kind k)
{
	depth[k]--;
}

/* A call before pk_count_init() (from some library's constructor, say)
 * must still reach libcrypto: resolve then. */
static void
ensure(void)
{
	if (real_pc == NULL && pk_count_init() != 0)
		abort();
}

int
EVP_DigestSign(EVP_MD_CTX *ctx, unsigned char *sig, size_t *siglen,
    const unsigned char *tbs, size_t tbslen)
{
	int r;

	ensure();
	enter(PK_SIGN, sig != NULL);
	r = real_ds(ctx, sig, siglen, tbs, tbslen);
	leave(PK_SIGN);
	return r;
}

int
EVP_DigestSignFinal(EVP_MD_CTX *ctx, unsigned char *sig, size_t *siglen)
{
	int r;

	ensure();
	enter(PK_SIGN, sig != NULL);
	r = real_dsf(ctx, sig, siglen);
	leave(PK_SIGN);
	return r;
}

int
EVP_PKEY_sign(EVP_PKEY_CTX *ctx, unsigned char *sig, size_t *siglen,
    const unsigned char *tbs, size_t tbslen)
{
	int r;

	ensure();
	enter(PK_SIGN, sig != NULL);
	r = real_ps(ctx, sig, siglen, tbs, tbslen);
	leave(PK_SIGN);
	return r;
}

int
EVP_DigestVerify(EVP_MD_CTX *ctx, const unsigned char *sig, size_t siglen,
    const unsigned char *tbs, size_t tbslen)
{
	int r;

	ensure();
	enter(PK_VERIFY, 1);
	r = real_dv(ctx, sig, siglen, tbs, tbslen);
	leave(PK_VERIFY);
	return r;
}

int
EVP_DigestVerifyFinal(EVP_MD_CTX *ctx, const unsigned char *sig,
    size_t siglen)
{
	int r;

	ensure();
	enter(PK_VERIFY, 1);
	r = real_dvf(ctx, sig, siglen);
	leave(PK_VERIFY);
	return r;
}

int
EVP_PKEY_verify(EVP_PKEY_CTX *ctx, const unsigned char *sig, size_t siglen,
    const unsigned char *tbs, size_t tbslen)
{
	int r;

	ensure();
	enter(PK_VERIFY, 1);
	r = real_pv(ctx, sig, siglen, tbs, tbslen);
	leave(PK_VERIFY);
	return r;
}

int
EVP_PKEY_derive(EVP_PKEY_CTX *ctx, unsigned char *key, size_t *keylen)
{
	int r;

	ensure();
	enter(PK_DERIVE, key != NULL);
	r = real_pd(ctx, key, keylen);
	leave(PK_DERIVE);
	return r;
}

int
EVP_PKEY_generate(EVP_PKEY_CTX *ctx, EVP_PKEY **ppkey)
{
	int r;

	ensure();
	enter(PK_KEYGEN, 1);
	r = real_pg(ctx, ppkey);
	leave(PK_KEYGEN);
	return r;
}

int
EVP_PKEY_public_check(EVP_PKEY_CTX *ctx)
{
	int r;

	ensure();
	enter(PK_PUBCHECK, 1);
	r = real_pc(ctx);
	leave(PK_PUBCHECK);
	return r;
}
