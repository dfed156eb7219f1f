/*
 * The secure channel, host side: the SCP11 handshake over a mic_tx_t, then
 * the SCP03-style layer installed in it (apdu/sm.c does every byte of the
 * protection, apdu/scp11.c the key agreement).
 *
 * SCP11a (GlobalPlatform Amendment F 7.5, 7.6):
 *   80 2A kvn kid|80  DER certificate      (one PSO per certificate, ...)
 *   80 2A kvn kid     DER leaf certificate (... the OCE's own one last)
 *   80 82 kvn 11      A6{..} 5F49{ePK.OCE}  -> 5F49{ePK.SD} 86{receipt}
 * SCP11b (7.6):
 *   80 88 kvn 13      A6{..} 5F49{ePK.OCE}  -> 5F49{ePK.SD} 86{receipt}
 *
 * A certificate longer than one APDU goes in ISO/IEC 7816-4 command
 * chaining (mic_tx_t does it, CLA 90 then 80).
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <mic/scp.h>
#include <mic/tx.h>

#include "internal.h"
#include "scp_int.h"
#include "sm_internal.h"

#define CLA_GP 0x80u
#define SW_OK 0x9000u
/* The card's answer is 86 bytes; anything longer is malformed anyway. */
#define AUTH_RSP_CAP 256u

static mic_rc
send_chain(mic_tx_t *tx, const mic_scp_keyref *oce, STACK_OF(X509) *chain)
{
	uint8_t rsp[16];
	unsigned char *der = NULL;
	mic_apdu a;
	size_t rlen;
	int i, n = sk_X509_num(chain), len;
	mic_rc rc = MIC_OK;

	for (i = 0; i < n; i++) {
		der = NULL;
		if ((len = i2d_X509(sk_X509_value(chain, i), &der)) <= 0) {
			mici_debug("%s: i2d_X509 %d", __func__, i);
			return MIC_ERR_INVALID_ARGUMENT;
		}
		memset(&a, 0, sizeof(a));
		a.cla = CLA_GP;
		a.ins = MICI_SCP11_INS_PSO;
		a.p1 = oce->kvn;
		/* Amd F 7.5: P2 b8 says more certificates follow. */
		a.p2 = (uint8_t)(oce->kid | (i + 1 < n ?
		    MICI_SCP11_PSO_MORE : 0));
		a.data = der;
		a.nc = (size_t)len;
		rc = mic_tx_command(tx, &a, rsp, sizeof(rsp), &rlen);
		OPENSSL_free(der);
		if (rc != MIC_OK) {
			mici_debug("%s: certificate %d: %d", __func__, i,
			    (int)rc);
			return rc;
		}
	}

	return MIC_OK;
}

static int
args_ok(mici_scp11_variant v, mic_tx_t *tx, EVP_PKEY *pk_sd,
    const mic_scp_keyref *oce, EVP_PKEY *sk_oce, STACK_OF(X509) *chain,
    EVP_PKEY *esk_oce)
{
	X509 *leaf;

	if (tx == NULL || !mici_scp11_key_ok(pk_sd) ||
	    (esk_oce != NULL && !mici_scp11_key_ok(esk_oce)))
		return 0;
	if (v == MICI_SCP11B)
		return oce == NULL && sk_oce == NULL && chain == NULL;
	if (v != MICI_SCP11A || oce == NULL || !mici_scp11_key_ok(sk_oce) ||
	    chain == NULL || sk_X509_num(chain) < 1)
		return 0;
	/*
	 * The card would refuse a key that does not match the leaf, but only
	 * after the whole chain went out; say it here, clearly.
	 */
	leaf = sk_X509_value(chain, sk_X509_num(chain) - 1);
	if (leaf == NULL || X509_check_private_key(leaf, sk_oce) != 1) {
		mici_debug("mici_scp11_open: SK.OCE is not the leaf's key");
		return 0;
	}

	return 1;
}

mic_rc
mici_scp11_open(mic_tx_t *tx, mici_scp11_variant v, uint8_t kvn,
    EVP_PKEY *pk_sd, const mic_scp_keyref *oce, EVP_PKEY *sk_oce,
    STACK_OF(X509) *chain, EVP_PKEY *esk_oce)
{
	uint8_t data[MICI_SCP11_AUTH_DATA_LEN], rsp[AUTH_RSP_CAP];
	EVP_PKEY *own_esk = NULL;
	mici_sm *sm = NULL;
	mic_apdu a;
	size_t len = 0, rlen = 0;
	int began = 0, had;
	mic_rc rc;

	if (!args_ok(v, tx, pk_sd, oce, sk_oce, chain, esk_oce)) {
		mici_debug("%s: invalid argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	/*
	 * A new channel replaces the old one; the handshake is plain. If it
	 * fails, a caller who had a channel must not go on in plain APDUs:
	 * the transport stays lost until a channel opens or mic_scp_close().
	 */
	had = mic_tx_get_sm_state(tx) != MIC_TX_SM_OFF;
	if ((rc = mic_tx_set_sm(tx, NULL, NULL)) != MIC_OK)
		return rc;
	if ((rc = mic_tx_begin(tx)) != MIC_OK) {
		mici_debug("%s: begin: %d", __func__, (int)rc);
		if (had)
			mici_tx_sm_lose(tx);
		return rc;
	}
	began = 1;
	if (v == MICI_SCP11A && (rc = send_chain(tx, oce, chain)) != MIC_OK)
		goto fail;
	if (esk_oce == NULL) {
		if ((own_esk = EVP_PKEY_Q_keygen(NULL, NULL, "EC",
		    "P-256")) == NULL) {
			mici_debug("%s: keygen", __func__);
			rc = MIC_ERR_INTERNAL;
			goto fail;
		}
		esk_oce = own_esk;
	}
	if ((rc = mici_scp11_auth_data(v, esk_oce, data, sizeof(data),
	    &len)) != MIC_OK)
		goto fail;
	memset(&a, 0, sizeof(a));
	a.cla = CLA_GP;
	a.ins = v == MICI_SCP11A ? MICI_SCP11_INS_MUTUAL_AUTH :
	    MICI_SCP11_INS_INTERNAL_AUTH;
	a.p1 = kvn;
	a.p2 = v == MICI_SCP11A ? MICI_SCP11_KID_A : MICI_SCP11_KID_B;
	a.data = data;
	a.nc = len;
	a.ne = MIC_APDU_NE_MAX_SHORT;
	if ((rc = mic_tx_command(tx, &a, rsp, sizeof(rsp), &rlen)) != MIC_OK) {
		mici_debug("%s: authenticate: %d", __func__, (int)rc);
		goto fail;
	}
	if ((rc = mici_scp11_host_session(v, esk_oce, sk_oce, pk_sd, data,
	    len, rsp, rlen, &sm)) != MIC_OK)
		goto fail;
	if ((rc = mic_tx_set_sm(tx, mici_sm_host_ops(), sm)) != MIC_OK) {
		mici_sm_free(&sm);
		goto fail;
	}
	rc = MIC_OK;
fail:
	OPENSSL_cleanse(rsp, sizeof(rsp));
	EVP_PKEY_free(own_esk);
	if (began && mic_tx_end(tx) != MIC_OK)
		mici_debug("%s: end failed", __func__);
	if (rc != MIC_OK && had)
		mici_tx_sm_lose(tx);

	return rc;
}

mic_rc
mic_scp11b_open(mic_tx_t *tx, uint8_t kvn, EVP_PKEY *pk_sd_ecka)
{
	return mici_scp11_open(tx, MICI_SCP11B, kvn, pk_sd_ecka, NULL, NULL,
	    NULL, NULL);
}

mic_rc
mic_scp11a_open(mic_tx_t *tx, uint8_t kvn, EVP_PKEY *pk_sd_ecka,
    const mic_scp_keyref *oce, EVP_PKEY *sk_oce_ecka,
    STACK_OF(X509) *oce_chain)
{
	return mici_scp11_open(tx, MICI_SCP11A, kvn, pk_sd_ecka, oce,
	    sk_oce_ecka, oce_chain, NULL);
}

void
mic_scp_close(mic_tx_t *tx)
{
	if (tx != NULL && mic_tx_set_sm(tx, NULL, NULL) != MIC_OK)
		mici_debug("%s: mic_tx_set_sm", __func__);
}

int
mic_scp_is_open(const mic_tx_t *tx)
{
	return mic_tx_get_sm_state(tx) == MIC_TX_SM_ON;
}
