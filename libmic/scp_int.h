/*
 * libmic/scp.c internals reachable from the unit tests. Not installed.
 */
#ifndef MIC_SCP_INT_H
#define MIC_SCP_INT_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <mic/scp.h>

#include "sm_internal.h"

/**
 * mic_scp11a_open() / mic_scp11b_open() with the OCE's ephemeral key given:
 * @p esk_oce NULL generates a fresh one, as the public functions do. Only
 * known-answer tests pass a fixed key; a fixed ephemeral key in production
 * would let anyone who learns it read the session.
 */
mic_rc mici_scp11_open(mic_tx_t *tx, mici_scp11_variant v, uint8_t kvn,
    EVP_PKEY *pk_sd, const mic_scp_keyref *oce, EVP_PKEY *sk_oce,
    STACK_OF(X509) *chain, EVP_PKEY *esk_oce);

#endif
