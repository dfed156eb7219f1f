/*
 * The card side of trust: GlobalPlatform SCP11 (Card Specification v2.3
 * Amendment F) on the reference card, as docs/secure-messaging.md section
 * 4 asks of it, with the chip factory's keys of docs/card-profile.md 4.4.
 *
 *   GET DATA BF21                  CERT.SD.ECKA, so a terminal finds and
 *                                  verifies PK.SD.ECKA
 *   PERFORM SECURITY OPERATION 2A  SCP11a: the OCE certificate chain, one
 *                                  certificate per command, verified
 *                                  against the root stored at the factory
 *   MUTUAL AUTHENTICATE 82         SCP11a: key agreement with the verified
 *                                  leaf's key; the channel carries its role
 *   INTERNAL AUTHENTICATE 88       SCP11b: the card alone authenticates;
 *                                  the channel carries no role
 *
 * and, for every command with CLA b3 set, unwrapping before and wrapping
 * after the plain command (card.c calls vc_sm_unwrap and vc_sm_wrap). The
 * cryptography is the shared core's (apdu/scp11.c, apdu/sm.c) and
 * OpenSSL's X509_verify_cert; this file decides what the card accepts.
 *
 * The card has no clock. Its time is the factory date, moved forward to
 * the newest notBefore of every certificate chain it has verified (the
 * rule of BSI TR-03110 for chips without a clock). A terminal
 * certificate whose notAfter is before that time is expired; one whose
 * notBefore is after it is accepted, because the card's time can only lag.
 */
#include <limits.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <mic/pki.h>
#include <mic/tlv.h>

#include "card_internal.h"
#include "internal.h"

#define TAG_CERT_STORE 0xBF21u
#define TAG_KEY_CRT 0xA6u
#define TAG_KEY_REF 0x83u
#define SW1(sw) ((uint8_t)((sw) >> 8))

/* --- time ---------------------------------------------------------------- */

static int64_t
card_time(const struct vc_nv *nv)
{
	uint64_t v = 0;

	for (size_t i = 0; i < sizeof(nv->card_time); i++)
		v = v << 8 | nv->card_time[i];
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

static void
put_time(struct vc_nv *nv, int64_t t)
{
	uint64_t v = (uint64_t)t;

	for (size_t i = sizeof(nv->card_time); i > 0; i--) {
		nv->card_time[i - 1] = (uint8_t)v;
		v >>= 8;
	}
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int
asn1_seconds(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = days_from_civil((int64_t)tm.tm_year + 1900,
	    (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday) * 86400 +
	    tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	return 0;
}

/* --- helpers -------------------------------------------------------------- */

/* Exactly one DER certificate in @p p, nothing after it. */
static X509 *
der_cert(const uint8_t *p, size_t len)
{
	const unsigned char *q = p;
	X509 *x;

	if (p == NULL || len == 0 || len > LONG_MAX)
		return NULL;
	if ((x = d2i_X509(NULL, &q, (long)len)) != NULL && q != p + len) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

/* Is the OID @p o the one whose DER (06 len body) is @p der? */
static int
oid_is(const ASN1_OBJECT *o, const uint8_t *der)
{
	return o != NULL && OBJ_length(o) == der[1] &&
	    memcmp(OBJ_get0_data(o), der + 2, der[1]) == 0;
}

/*
 * Extended key usage of @p x: 1 it lists @p der (or, if @p any_ok,
 * anyExtendedKeyUsage), 0 it lists others, -1 it has none, -2 broken.
 */
static int
eku_allows(X509 *x, const uint8_t *der, int any_ok)
{
	EXTENDED_KEY_USAGE *eku;
	int crit = 0, found = 0;

	if ((eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL)) ==
	    NULL)
		return crit == -1 ? -1 : -2;
	for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
		const ASN1_OBJECT *o = sk_ASN1_OBJECT_value(eku, i);
		if (oid_is(o, der) ||
		    (any_ok && OBJ_obj2nid(o) == NID_anyExtendedKeyUsage))
			found = 1;
	}
	EXTENDED_KEY_USAGE_free(eku);
	return found;
}

/*
 * The role extension (docs/pki.md 2.1): exactly 0A 01 0r, r in 1..5.
 * SW_OK, SW_SECURITY (no role: no rights), SW_WRONG_DATA (malformed).
 */
static uint16_t
leaf_role(X509 *leaf, enum vc_role *role)
{
	static const uint8_t der[] = MIC_OID_TERMINAL_ROLE_DER;
	const ASN1_OCTET_STRING *v = NULL;
	const uint8_t *p;
	int idx = -1, n = X509_get_ext_count(leaf), found = 0;

	for (int i = 0; i < n; i++) {
		X509_EXTENSION *e = X509_get_ext(leaf, i);
		if (oid_is(X509_EXTENSION_get_object(e), der)) {
			found++;
			idx = i;
		}
	}
	if (found == 0) {
		mici_debug("%s: no role extension", __func__);
		return SW_SECURITY;
	}
	if (found > 1 ||
	    (v = X509_EXTENSION_get_data(X509_get_ext(leaf, idx))) == NULL ||
	    ASN1_STRING_length(v) != 3) {
		mici_debug("%s: malformed role extension", __func__);
		return SW_WRONG_DATA;
	}
	p = ASN1_STRING_get0_data(v);
	if (p[0] != 0x0A || p[1] != 0x01 || p[2] < VC_ROLE_HOSPITAL ||
	    p[2] > VC_ROLE_BUREAU) {
		mici_debug("%s: role %02X %02X %02X", __func__, p[0], p[1],
		    p[2]);
		return SW_WRONG_DATA;
	}
	*role = (enum vc_role)p[2];
	return SW_OK;
}

/*
 * The card's clock lags (file comment): a certificate that is not yet
 * valid by it may well be valid; expiry is what it can judge.
 */
static int
verify_cb(int ok, X509_STORE_CTX *ctx)
{
	if (!ok && X509_STORE_CTX_get_error(ctx) ==
	    X509_V_ERR_CERT_NOT_YET_VALID) {
		X509_STORE_CTX_set_error(ctx, X509_V_OK);
		return 1;
	}
	return ok;
}

/* Purpose of the chain: a terminal leaf, and no CA restricting it away. */
static uint16_t
chain_purpose(STACK_OF(X509) *chain, X509 *leaf)
{
	static const uint8_t kp_terminal[] = MIC_OID_KP_TERMINAL_DER;
	const uint32_t need = KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT;

	if (X509_check_ca(leaf) != 0 ||
	    (X509_get_extension_flags(leaf) & EXFLAG_KUSAGE) == 0 ||
	    (X509_get_key_usage(leaf) & need) != need ||
	    eku_allows(leaf, kp_terminal, 0) != 1) {
		mici_debug("%s: the leaf is not a terminal certificate",
		    __func__);
		return SW_SECURITY;
	}
	/* docs/pki.md 3: a CA that lists EKUs may only certify those. */
	for (int i = 1; i < sk_X509_num(chain); i++) {
		int e = eku_allows(sk_X509_value(chain, i), kp_terminal, 1);
		if (e == 0 || e == -2) {
			mici_debug("%s: CA %d may not certify terminals",
			    __func__, i);
			return SW_SECURITY;
		}
	}
	if (!mici_scp11_key_ok(X509_get0_pubkey(leaf))) {
		mici_debug("%s: the leaf's key is not P-256", __func__);
		return SW_SECURITY;
	}
	return SW_OK;
}

/*
 * Verify the collected chain (the leaf last) against the stored root at
 * the card's time. On success the leaf's point and role go to ram.oce and
 * @p newest gets the newest notBefore in the chain.
 */
static uint16_t
oce_verify(struct vc_card *card, int64_t *newest)
{
	struct vc_oce *o = &card->ram.oce;
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *untrusted = NULL, *chain;
	X509 *root = NULL, *leaf = NULL, *x;
	uint16_t sw = SW_SECURITY;
	int64_t nb;
	int err;

	*newest = 0;
	if ((root = der_cert(card->nv.root,
	    mici_get_u16(card->nv.root_len))) == NULL ||
	    (store = X509_STORE_new()) == NULL ||
	    X509_STORE_add_cert(store, root) != 1 ||
	    (untrusted = sk_X509_new_null()) == NULL ||
	    (ctx = X509_STORE_CTX_new()) == NULL) {
		sw = SW_UNKNOWN;
		goto out;
	}
	for (unsigned i = 0; i < o->n; i++) {
		if ((x = der_cert(o->buf + o->off[i],
		    o->off[i + 1] - o->off[i])) == NULL) {
			sw = SW_WRONG_DATA;
			goto out;
		}
		if (i + 1 == o->n)
			leaf = x;
		else if (!sk_X509_push(untrusted, x)) {
			X509_free(x);
			sw = SW_UNKNOWN;
			goto out;
		}
	}
	if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
		sw = SW_UNKNOWN;
		goto out;
	}
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx),
	    (time_t)card_time(&card->nv));
	X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx),
	    X509_V_FLAG_X509_STRICT);
	X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
	if (X509_verify_cert(ctx) != 1) {
		err = X509_STORE_CTX_get_error(ctx);
		mici_debug("%s: %s", __func__, X509_verify_cert_error_string(err));
		goto out;
	}
	chain = X509_STORE_CTX_get0_chain(ctx);
	if ((sw = chain_purpose(chain, leaf)) != SW_OK ||
	    (sw = leaf_role(leaf, &o->role)) != SW_OK)
		goto out;
	if (mici_scp11_point(X509_get0_pubkey(leaf), o->point) != MIC_OK) {
		sw = SW_SECURITY;
		goto out;
	}
	for (int i = 0; i < sk_X509_num(chain); i++)
		if (asn1_seconds(X509_get0_notBefore(sk_X509_value(chain, i)),
		    &nb) == 0 && nb > *newest)
			*newest = nb;
	sw = SW_OK;
out:
	X509_STORE_CTX_free(ctx);
	sk_X509_pop_free(untrusted, X509_free);
	X509_free(leaf);
	X509_free(root);
	X509_STORE_free(store);
	return sw;
}

static void
oce_clear(struct vc_card *card)
{
	mici_wipe(&card->ram.oce, sizeof(card->ram.oce));
}

static void
session_free(struct vc_card *card)
{
	mici_sm_free(&card->ram.sm);
	card->ram.sm_variant = 0;
	card->ram.sm_role = VC_ROLE_NONE;
	card->ram.sm_drop = 0;
}

void
vc_sm_drop(struct vc_card *card)
{
	session_free(card);
	oce_clear(card);
}

void
vc_sm_forget_chain(struct vc_card *card)
{
	if (card->ram.oce.n != 0 || card->ram.oce.ready)
		oce_clear(card);
}

void
vc_sm_end(struct vc_card *card)
{
	if (card->ram.sm_cmd)
		card->ram.sm_drop = 1;
	else
		vc_sm_drop(card);
}

/* What every SCP11 command needs: the application, alive, provisioned. */
static uint16_t
scp_access(const struct vc_card *card)
{
	if (card->ram.cur_df != card->app)
		return SW_NO_EF;
	if (card->nv.state == VC_STATE_TERMINATED)
		return SW_CONDITIONS;
	if (card->nv.ecka_set != ECKA_READY) {
		mici_debug("scp: the card has no SCP11 keys (no --pki)");
		return SW_NO_REFERENCE;
	}
	return SW_OK;
}

/* --- GET DATA ------------------------------------------------------------- */

/*
 * GET DATA 00|80 CA BF 21 [A6 04 { 83 02 KID KVN }]: the certificate store
 * (Amd F 7.4.1), BF21 { CERT.SD.ECKA }. Without data, the one key.
 */
uint16_t
vc_cmd_get_data(struct vc_card *card, struct vc_req *req, struct vc_rsp *r)
{
	static const uint8_t ref_a[] = { TAG_KEY_CRT, 0x04, TAG_KEY_REF, 0x02,
	    MICI_SCP11_KID_A, SD_KVN };
	static const uint8_t ref_b[] = { TAG_KEY_CRT, 0x04, TAG_KEY_REF, 0x02,
	    MICI_SCP11_KID_B, SD_KVN };
	const mic_apdu *a = &req->a;
	mic_tlv_writer w;
	uint16_t sw;

	if (((unsigned)a->p1 << 8 | a->p2) != TAG_CERT_STORE)
		return SW_NO_REFERENCE;
	if ((sw = scp_access(card)) != SW_OK)
		return sw;
	if (a->nc != 0 && (a->nc != sizeof(ref_a) ||
	    (memcmp(a->data, ref_a, sizeof(ref_a)) != 0 &&
	    memcmp(a->data, ref_b, sizeof(ref_b)) != 0))) {
		/* A well-formed reference to a key we do not have: 6A88. */
		if (a->nc == sizeof(ref_a) && memcmp(a->data, ref_a, 4) == 0)
			return SW_NO_REFERENCE;
		return SW_WRONG_DATA;
	}
	mic_tlv_writer_init(&w, r->buf + r->off, r->cap - r->off);
	mic_tlv_put(&w, TAG_CERT_STORE, card->nv.ecka_cert,
	    mici_get_u16(card->nv.ecka_cert_len));
	if (mic_tlv_writer_finish(&w, &r->len) != MIC_OK)
		return SW_UNKNOWN;
	return SW_OK;
}

/* --- PERFORM SECURITY OPERATION ------------------------------------------ */

/*
 * 80 2A KVN KID|80 <certificate> (Amd F 7.5): collect, and verify the
 * chain when the leaf (P2 b8 clear) arrives. Any refusal forgets what was
 * collected: the terminal starts the chain again.
 */
uint16_t
vc_cmd_pso(struct vc_card *card, struct vc_req *req, struct vc_rsp *r)
{
	const mic_apdu *a = &req->a;
	struct vc_oce *o = &card->ram.oce;
	X509 *x;
	struct vc_nv *w;
	int64_t newest = 0;
	uint16_t sw;

	(void)r;
	if ((sw = scp_access(card)) != SW_OK)
		return sw;
	if (a->p1 != OCE_KVN || (a->p2 & (uint8_t)~MICI_SCP11_PSO_MORE) !=
	    OCE_KID)
		return SW_NO_REFERENCE;
	/* A new handshake: the old channel ends here. */
	session_free(card);
	if (o->ready)
		oce_clear(card);
	if (a->nc == 0) {
		oce_clear(card);
		return SW_WRONG_LENGTH;
	}
	if (o->n >= OCE_CERTS_MAX || a->nc > sizeof(o->buf) - o->len) {
		mici_debug("%s: chain longer than %d certificates or %zu bytes",
		    __func__, OCE_CERTS_MAX, sizeof(o->buf));
		oce_clear(card);
		return SW_NO_MEMORY;
	}
	if ((x = der_cert(a->data, a->nc)) == NULL) {
		mici_debug("%s: not one DER certificate", __func__);
		oce_clear(card);
		return SW_WRONG_DATA;
	}
	X509_free(x);
	o->off[o->n] = o->len;
	memcpy(o->buf + o->len, a->data, a->nc);
	o->len += a->nc;
	o->off[++o->n] = o->len;
	if (a->p2 & MICI_SCP11_PSO_MORE)
		return SW_OK;
	if ((sw = oce_verify(card, &newest)) != SW_OK) {
		oce_clear(card);
		return sw;
	}
	/* The certificates and the point are not needed any more. */
	mici_wipe(o->buf, sizeof(o->buf));
	o->ready = 1;
	if (newest > card_time(&card->nv)) {
		w = vc_nv_begin(card);
		put_time(w, newest);
		if ((sw = vc_nv_commit(card)) != SW_OK)
			return sw;
	}
	return SW_OK;
}

/* --- authenticate --------------------------------------------------------- */

static uint16_t
authenticate(struct vc_card *card, struct vc_req *req, struct vc_rsp *r,
    mici_scp11_variant v)
{
	const mic_apdu *a = &req->a;
	EVP_PKEY *sk = NULL, *pk_oce = NULL;
	mici_sm *sm = NULL;
	enum vc_role role = card->ram.oce.role;
	int ready = card->ram.oce.ready;
	uint8_t point[P256_POINT_LEN];
	size_t len = 0;
	uint16_t sw;
	mic_rc rc;

	if ((sw = scp_access(card)) != SW_OK)
		return sw;
	if (a->p1 != SD_KVN || a->p2 != (v == MICI_SCP11A ?
	    MICI_SCP11_KID_A : MICI_SCP11_KID_B))
		return SW_NO_REFERENCE;
	/* A new authenticate ends the old channel, and uses the chain once. */
	memcpy(point, card->ram.oce.point, sizeof(point));
	vc_sm_drop(card);
	if (v == MICI_SCP11A && !ready) {
		mici_debug("%s: no verified OCE certificate", __func__);
		sw = SW_SECURITY;
		goto out;
	}
	if ((sk = vc_key_pkey(card->nv.ecka_priv, card->nv.ecka_pub)) ==
	    NULL || (v == MICI_SCP11A &&
	    (pk_oce = vc_key_public(point)) == NULL)) {
		sw = SW_UNKNOWN;
		goto out;
	}
	rc = mici_scp11_card_session(v, sk, pk_oce, NULL, a->data, a->nc,
	    r->buf + r->off, r->cap - r->off, &len, &sm);
	if (rc == MIC_ERR_SM_FORMAT || rc == MIC_ERR_SM_AUTH) {
		sw = SW_WRONG_DATA;
		goto out;
	}
	if (rc != MIC_OK) {
		sw = SW_UNKNOWN;
		goto out;
	}
	card->ram.sm = sm;
	card->ram.sm_variant = v;
	card->ram.sm_role = v == MICI_SCP11A ? role : VC_ROLE_NONE;
	r->len = len;
	sw = SW_OK;
out:
	OPENSSL_cleanse(point, sizeof(point));
	EVP_PKEY_free(sk);
	EVP_PKEY_free(pk_oce);
	return sw;
}

/* 80 82 KVN 11: SCP11a, after the OCE chain. */
uint16_t
vc_cmd_mutual_auth(struct vc_card *card, struct vc_req *req,
    struct vc_rsp *r)
{
	return authenticate(card, req, r, MICI_SCP11A);
}

/* 80 88 KVN 13: SCP11b. */
uint16_t
vc_cmd_internal_auth(struct vc_card *card, struct vc_req *req,
    struct vc_rsp *r)
{
	return authenticate(card, req, r, MICI_SCP11B);
}

/* --- secure messaging on every protected command ------------------------- */

uint16_t
vc_sm_unwrap(struct vc_card *card, struct vc_req *req)
{
	mic_apdu out;
	mic_rc rc;

	if (card->ram.sm == NULL || !mici_sm_is_open(card->ram.sm)) {
		/* ISO/IEC 7816-4: SM "not supported as sent": no channel. */
		mici_debug("%s: protected command without a channel",
		    __func__);
		vc_sm_drop(card);
		return SW_SM;
	}
	memset(&out, 0, sizeof(out));
	rc = mici_sm_unwrap_command(card->ram.sm, &req->a, &out,
	    card->smbuf, sizeof(card->smbuf));
	if (rc == MIC_OK) {
		req->a = out;
		card->ram.sm_cmd = 1;
		return SW_OK;
	}
	if (rc == MIC_ERR_BUFFER_TOO_SMALL) {
		/* It counted: the answer is protected. */
		card->ram.sm_cmd = 1;
		return SW_NO_MEMORY;
	}
	/* MAC, format, replay, reorder: the channel is over (SM doc 3). */
	mici_debug("%s: %s; the channel ends", __func__, mic_strerror(rc));
	vc_sm_drop(card);
	return SW_SM_DROPPED;
}

uint16_t
vc_sm_wrap(struct vc_card *card, struct vc_req *req, struct vc_rsp *r,
    uint16_t sw)
{
	size_t n = 0, len = r->len;
	uint8_t sw1 = SW1(sw);
	mic_rc rc;

	if (sw1 != 0x90 && sw1 != 0x62 && sw1 != 0x63)
		len = 0;
	rc = mici_sm_wrap_response(card->ram.sm, r->buf + r->off, len, sw,
	    card->smbuf, sizeof(card->smbuf), &n);
	if (rc != MIC_OK || n < 2) {
		mici_debug("%s: %s", __func__, mic_strerror(rc));
		mici_wipe(card->smbuf, sizeof(card->smbuf));
		vc_sm_drop(card);
		r->len = 0;
		return SW_UNKNOWN;
	}
	memcpy(r->buf, card->smbuf, n - 2);
	r->off = 0;
	r->len = n - 2;
	sw = mici_get_u16(card->smbuf + n - 2);
	/* The plain command data (a PIN block, DGIs) and the response. */
	mici_wipe(card->smbuf, sizeof(card->smbuf));
	/*
	 * Le covers the plain data; the protected bytes go whole as far as
	 * one response carries them, the rest behind 61xx (SM doc 2).
	 */
	req->a.ne = req->ext ? MIC_APDU_NE_MAX_EXT : MIC_APDU_NE_MAX_SHORT;
	if (card->ram.sm_drop)
		vc_sm_drop(card);
	return sw;
}

/* --- the chip factory ----------------------------------------------------- */

mic_rc
vc_card_factory_key(vc_card *card, uint8_t pub[65])
{
	struct vc_nv *w;

	if (card == NULL || pub == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if (card->nv.state != VC_STATE_BLANK ||
	    card->nv.ecka_set == ECKA_READY)
		return MIC_ERR_STATE;
	w = vc_nv_begin(card);
	if (vc_key_generate(w->ecka_priv, w->ecka_pub) < 0) {
		vc_nv_abort(card);
		return MIC_ERR_INTERNAL;
	}
	w->ecka_set = ECKA_KEY;
	if (vc_nv_commit(card) != SW_OK)
		return MIC_ERR_IO;
	memcpy(pub, card->nv.ecka_pub, P256_POINT_LEN);
	return MIC_OK;
}

mic_rc
vc_card_factory_finish(vc_card *card, const uint8_t *cert, size_t cert_len,
    const uint8_t *root, size_t root_len, int64_t date)
{
	uint8_t point[P256_POINT_LEN];
	X509 *c = NULL, *rt = NULL;
	struct vc_nv *w;
	mic_rc rc = MIC_ERR_INVALID_ARGUMENT;

	if (card == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if (card->nv.ecka_set != ECKA_KEY)
		return MIC_ERR_STATE;
	if (cert_len > VC_FACTORY_CERT_MAX || root_len > VC_FACTORY_CERT_MAX ||
	    date <= 0 || (c = der_cert(cert, cert_len)) == NULL ||
	    (rt = der_cert(root, root_len)) == NULL) {
		mici_debug("%s: bad certificate, root or date", __func__);
		goto out;
	}
	if (mici_scp11_point(X509_get0_pubkey(c), point) != MIC_OK ||
	    memcmp(point, card->nv.ecka_pub, sizeof(point)) != 0) {
		mici_debug("%s: the certificate is not of PK.SD.ECKA",
		    __func__);
		goto out;
	}
	if (X509_check_ca(rt) <= 0 || X509_check_issued(rt, rt) !=
	    X509_V_OK) {
		mici_debug("%s: the root is not a self-signed CA", __func__);
		goto out;
	}
	w = vc_nv_begin(card);
	memcpy(w->ecka_cert, cert, cert_len);
	mici_put_u16(w->ecka_cert_len, (uint16_t)cert_len);
	memcpy(w->root, root, root_len);
	mici_put_u16(w->root_len, (uint16_t)root_len);
	put_time(w, date);
	w->ecka_set = ECKA_READY;
	rc = vc_nv_commit(card) == SW_OK ? MIC_OK : MIC_ERR_IO;
out:
	X509_free(c);
	X509_free(rt);
	return rc;
}
