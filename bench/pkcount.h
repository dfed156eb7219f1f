/*
 * Counting the public-key operations a program makes through OpenSSL.
 *
 * A benchmark that links pkcount.c defines the libcrypto entry points
 * where an EC public-key operation happens (signature, verification,
 * ECDH, key generation, public-key validation); the dynamic linker then
 * binds every call to them, libcrypto's own internal calls included (its
 * PLT, no -Bsymbolic), to these definitions, which count and forward to
 * libcrypto. Reading libmic's source would give the same numbers today;
 * counting them keeps the benchmark right when the library changes.
 *
 * Counts are per thread and only while pk_count_on() is set, so that the
 * card engine's own crypto, which runs in the same thread behind
 * mic_tx_new_inproc, is left out by switching counting off around it.
 */
#ifndef MIC_PKCOUNT_H
#define MIC_PKCOUNT_H

enum pk_kind {
	PK_SIGN = 0,      /* ECDSA signature */
	PK_VERIFY,        /* ECDSA verification */
	PK_DERIVE,        /* ECDH */
	PK_KEYGEN,        /* key pair generation */
	PK_PUBCHECK,      /* full public-key validation (EVP_PKEY_public_check) */
	PK_KINDS
};

/* Resolve libcrypto's functions; 0, or -1 if one is missing. */
int pk_count_init(void);
/* Count (1) or not (0) in this thread; returns the previous setting. */
int pk_count_on(int on);
void pk_count_reset(void);
void pk_count_get(unsigned long out[PK_KINDS]);

#endif
