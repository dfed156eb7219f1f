/*
 * libmic: personalization of one card by the card bureau (see perso.h).
 * The APDU sequence is the one of docs/card-profile.md 3.8 and 3.9: SELECT,
 * GENERATE KEY, the DGIs in as few STORE DATA blocks as the card takes (the
 * reference sample card, tools/mic-vcard/sample.c, sends one per DGI), the
 * transport PIN last.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <mic/apdu.h>
#include <mic/card.h>
#include <mic/perso.h>
#include <mic/pki.h>
#include <mic/scp.h>
#include <mic/sod.h>
#include <mic/tlv.h>

#include "cardauth_int.h"
#include "internal.h"
#include "mici.h"
#include "perso_int.h"
#include "trust_int.h"

/* docs/card-profile.md 4.4: the card's SCP11 key version and the OCE's
 * key reference the bureau's certificate chain is stored under. */
#define SD_KVN 0x01
#define OCE_KVN 0x01
#define OCE_KID 0x10

#define EF_SOD_SIZE 2048   /* docs/card-profile.md section 1 */
#define PERSO_DGIS 6
/* Profile 3: the card assembles at most 4096 bytes of a command; under
 * secure messaging (secure-messaging.md 2) the data grows by the padding
 * to a 16-byte block, at least one byte, and the 8-byte MAC. */
#define CARD_CMD_MAX 4096
#define STORE_DATA_MAX (CARD_CMD_MAX - 16 - 8)
#define PIN_BLOCK_LEN MICI_PIN_BLOCK_LEN
#define GEN_RSP_MAX 128    /* 7F49 { 86 point }: 70 bytes for P-256 */
#define PATH_MAX_LEN 4096

struct mic_perso_cfg {
	mic_keyprov_t *term_kp;     /* the bureau terminal's key */
	STACK_OF(X509) *term_chain; /* issuer CA, then the terminal */
	mic_keyprov_t *ci_kp;       /* card-certificate issuer */
	uint8_t ci_cert[MIC_CERT_MAX];
	size_t ci_len;
	mic_keyprov_t *ds_kp;       /* document signer */
	uint8_t ds_cert[MIC_CERT_MAX];
	size_t ds_len;
	/* The two signers with their certificates parsed once: nothing a
	 * card signs depends on more than its own data and these. */
	mici_issuer *ci;
	mici_issuer *ds;
	mic_trust_t *trust;
	X509 *pin_cert;             /* the PIN mailer's: PINs are sealed to it */
	char bureau[4];
	char issue_date[9];         /* "" until set: today at each card */
	char issuer[MIC_REGION_LEN + 1]; /* "" for the pooling region */
	unsigned years;
	/* Held around the use of the keys when one is on a token, so that
	 * the readers of a line can share one configuration. */
	pthread_mutex_t lock;
	int lock_ready;
	int token;
};

struct mic_perso_result {
	uint8_t chip_serial[MIC_CHIP_SERIAL_LEN];
	char cic[MIC_CARDID_LEN + 1];
	char number[MIC_CARD_NUMBER_LEN + 1];
	char pin[MIC_TRANSPORT_PIN_LEN + 1];
	uint64_t apdus;
	uint64_t bytes;
};

/* Everything one card needs on the host side; wiped as a whole. */
struct mici_perso {
	mic_perso_cfg_t *cfg;
	mic_tx_t *tx;
	mic_card_t *card;
	EVP_PKEY *pk_sd;            /* PK.SD.ECKA from the factory certificate */
	uint8_t serial[MIC_CHIP_SERIAL_LEN];
	char cic[MIC_CARDID_LEN + 1];
	char number[MIC_CARD_NUMBER_LEN + 1];
	char pin[MIC_TRANSPORT_PIN_LEN + 1];
	uint8_t gen[GEN_RSP_MAX];
	size_t gen_len;
	/* The four covered files as the card holds them, zero padded, and
	 * the lengths of their templates (the DGI bodies). */
	uint8_t f_card[MIC_EF_CARD_SIZE];
	uint8_t f_holder[MIC_EF_HOLDER_SIZE];
	uint8_t f_ins[MIC_EF_INSURANCE_SIZE];
	uint8_t f_cert[MIC_EF_CERT_SIZE];
	uint8_t f_sod[EF_SOD_SIZE];
	size_t l_card, l_holder, l_ins, l_cert, l_sod;
	uint8_t pin_block[PIN_BLOCK_LEN];
	int64_t not_after;          /* the card certificate's last second */
	/* Read back. */
	uint8_t r_buf[EF_SOD_SIZE];
	uint8_t cmd[STORE_DATA_MAX];
};

/* The data-preparation clock of mici_perso_set_prep_clock(), per thread. */
static _Thread_local double (*prep_clock)(void);
static _Thread_local double *prep_acc;

void
mici_perso_set_prep_clock(double (*clock)(void), double *acc)
{
	prep_clock = acc != NULL ? clock : NULL;
	prep_acc = acc;
}

static double
prep_begin(void)
{
	return prep_clock != NULL ? prep_clock() : 0;
}

static void
prep_end(double t0)
{
	if (prep_clock != NULL)
		*prep_acc += prep_clock() - t0;
}

static void
cfg_lock(mic_perso_cfg_t *cfg)
{
	if (cfg->token)
		pthread_mutex_lock(&cfg->lock);
}

static void
cfg_unlock(mic_perso_cfg_t *cfg)
{
	if (cfg->token)
		pthread_mutex_unlock(&cfg->lock);
}

/*
 * The key provider a new key shares its PKCS#11 module with: one already
 * on a token, since a process initializes a module once.
 */
static mic_keyprov_t *
share_of(const mic_perso_cfg_t *cfg)
{
	if (mici_keyprov_on_token(cfg->ci_kp))
		return cfg->ci_kp;
	if (mici_keyprov_on_token(cfg->ds_kp))
		return cfg->ds_kp;
	return cfg->term_kp;
}

/* --- configuration ---------------------------------------------------- */

static mic_rc
read_pem_cert(const char *path, X509 **out)
{
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		mici_debug("%s: %s: cannot open", __func__, path);
		return MIC_ERR_NOT_FOUND;
	}
	*out = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (*out == NULL) {
		mici_debug("%s: %s: no PEM certificate", __func__, path);
		return MIC_ERR_CERT_FORMAT;
	}
	return MIC_OK;
}

mic_rc
mic_perso_cfg_load(mic_perso_cfg_t **out, const char *dir, const char *name)
{
	mic_perso_cfg_t *cfg = NULL;
	uint8_t cert[MIC_CERT_MAX];
	char path[PATH_MAX_LEN];
	const unsigned char *q;
	X509 *ca = NULL, *term = NULL;
	size_t len = 0;
	mic_role role;
	mic_rc rc;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || dir == NULL || name == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
		return MIC_ERR_NOMEM;
	if (pthread_mutex_init(&cfg->lock, NULL) != 0) {
		free(cfg);
		return MIC_ERR_NOMEM;
	}
	cfg->lock_ready = 1;
	memcpy(cfg->bureau, "000", 4);
	cfg->years = MIC_PERSO_YEARS_DEFAULT;
	if ((rc = mic_pki_load(dir, MIC_CERT_TERMINAL, name, NULL, NULL, NULL,
	    &cfg->term_kp, cert, sizeof(cert), &len)) != MIC_OK)
		goto fail;
	/* A hospital's terminal would open SCP11a fine and then be refused
	 * at GENERATE KEY: say so here, once, instead of at every card. */
	if ((rc = mic_cert_role(cert, len, &role)) != MIC_OK)
		goto fail;
	if (role != MIC_ROLE_BUREAU) {
		mici_debug("%s: %s is a %s terminal", __func__, name,
		    mic_role_name(role) ? mic_role_name(role) : "?");
		rc = MIC_ERR_CERT_PURPOSE;
		goto fail;
	}
	q = cert;
	if ((term = d2i_X509(NULL, &q, (long)len)) == NULL) {
		rc = MIC_ERR_CERT_FORMAT;
		goto fail;
	}
	/* Only the issuer CA's certificate: its key is not the bureau's. */
	if (snprintf(path, sizeof(path), "%s/issuer/cert.pem", dir) >=
	    (int)sizeof(path)) {
		rc = MIC_ERR_INVALID_ARGUMENT;
		goto fail;
	}
	if ((rc = read_pem_cert(path, &ca)) != MIC_OK)
		goto fail;
	if ((cfg->term_chain = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(cfg->term_chain, ca)) {
		rc = MIC_ERR_NOMEM;
		goto fail;
	}
	ca = NULL;
	if (!sk_X509_push(cfg->term_chain, term)) {
		rc = MIC_ERR_NOMEM;
		goto fail;
	}
	term = NULL;
	if ((rc = mic_pki_load(dir, MIC_CERT_CARD_ISSUER, NULL, cfg->term_kp,
	    NULL, NULL, &cfg->ci_kp, cfg->ci_cert, sizeof(cfg->ci_cert),
	    &cfg->ci_len)) != MIC_OK ||
	    (rc = mic_pki_load(dir, MIC_CERT_DOCUMENT_SIGNER, NULL,
	    share_of(cfg), NULL, NULL, &cfg->ds_kp, cfg->ds_cert,
	    sizeof(cfg->ds_cert), &cfg->ds_len)) != MIC_OK ||
	    (rc = mici_issuer_new(cfg->ci_kp, cfg->ci_cert, cfg->ci_len,
	    &cfg->ci)) != MIC_OK ||
	    (rc = mici_issuer_new(cfg->ds_kp, cfg->ds_cert, cfg->ds_len,
	    &cfg->ds)) != MIC_OK)
		goto fail;
	if (snprintf(path, sizeof(path), "%s/trust", dir) >=
	    (int)sizeof(path)) {
		rc = MIC_ERR_INVALID_ARGUMENT;
		goto fail;
	}
	if ((rc = mic_trust_load(&cfg->trust, path)) != MIC_OK)
		goto fail;
	if (snprintf(path, sizeof(path), "%s/pin-mailer/cert.pem", dir) >=
	    (int)sizeof(path)) {
		rc = MIC_ERR_INVALID_ARGUMENT;
		goto fail;
	}
	if ((rc = mici_pin_mailer_cert(path, &cfg->pin_cert)) != MIC_OK)
		goto fail;
	cfg->token = mici_keyprov_on_token(cfg->term_kp) ||
	    mici_keyprov_on_token(cfg->ci_kp) ||
	    mici_keyprov_on_token(cfg->ds_kp);
	*out = cfg;
	cfg = NULL;
	rc = MIC_OK;
fail:
	X509_free(ca);
	X509_free(term);
	mic_perso_cfg_free(&cfg);
	return rc;
}

/*
 * The first file of the PKI directory's layout (docs/pki.md 6) that is not
 * there, so that "not found" names it.
 */
static void
missing_file(const char *dir, const char *name, char *why, size_t cap)
{
	/* A leading "@" stands for "terminals/NAME/". */
	static const char *const need[][2] = {
		{ "@cert.pem", NULL },
		{ "@key.pem", "@key.uri" },
		{ "issuer/cert.pem", NULL },
		{ "card-issuer/cert.pem", NULL },
		{ "card-issuer/key.pem", "card-issuer/key.uri" },
		{ "ds/cert.pem", NULL },
		{ "ds/key.pem", "ds/key.uri" },
		{ "trust", NULL },
		{ "pin-mailer/cert.pem", NULL },
	};
	char rel[2][PATH_MAX_LEN], path[PATH_MAX_LEN];
	size_t i, k;
	int found;

	for (i = 0; i < MIC_ARRAY_LEN(need); i++) {
		found = 0;
		for (k = 0; k < 2 && need[i][k] != NULL; k++) {
			if ((need[i][k][0] == '@' ? snprintf(rel[k],
			    sizeof(rel[k]), "terminals/%s/%s", name,
			    need[i][k] + 1) : snprintf(rel[k], sizeof(rel[k]),
			    "%s", need[i][k])) >= (int)sizeof(rel[k]) ||
			    snprintf(path, sizeof(path), "%s/%s", dir, rel[k]) >=
			    (int)sizeof(path))
				return;
			found |= access(path, F_OK) == 0;
		}
		if (found)
			continue;
		if ((need[i][1] != NULL ? snprintf(why, cap, "%s/%s (or %s) "
		    "is missing", dir, rel[0], rel[1]) : snprintf(why, cap,
		    "%s/%s is missing", dir, rel[0])) >= (int)cap)
			mici_debug("%s: message truncated", __func__);
		return;
	}
}

mic_rc
mic_perso_cfg_load_ex(mic_perso_cfg_t **cfg, const char *dir,
    const char *name, char *why, size_t cap)
{
	mic_rc rc;

	if (why != NULL && cap > 0)
		*why = '\0';
	rc = mic_perso_cfg_load(cfg, dir, name);
	if (rc == MIC_OK || why == NULL || cap == 0 || dir == NULL ||
	    name == NULL)
		return rc;
	if (rc == MIC_ERR_NOT_FOUND || rc == MIC_ERR_IO)
		missing_file(dir, name, why, cap);
	if (*why == '\0')
		snprintf(why, cap, "%s", mic_strerror(rc));
	return rc;
}

mic_rc
mici_perso_cfg_seal_pin(mic_perso_cfg_t *cfg, const char *card_id,
    const char *pin, uint8_t **der, size_t *der_len)
{
	if (cfg == NULL || cfg->pin_cert == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	return mici_pin_seal(cfg->pin_cert, card_id, pin, der, der_len);
}

void
mic_perso_cfg_free(mic_perso_cfg_t **cfgp)
{
	mic_perso_cfg_t *cfg;

	if (cfgp == NULL || (cfg = *cfgp) == NULL)
		return;
	sk_X509_pop_free(cfg->term_chain, X509_free);
	X509_free(cfg->pin_cert);
	/* Before the keys they hold contexts of (a token's module). */
	mici_issuer_free(&cfg->ci);
	mici_issuer_free(&cfg->ds);
	mic_keyprov_free(&cfg->term_kp);
	mic_keyprov_free(&cfg->ci_kp);
	mic_keyprov_free(&cfg->ds_kp);
	mic_trust_free(&cfg->trust);
	if (cfg->lock_ready)
		pthread_mutex_destroy(&cfg->lock);
	mici_wipe(cfg, sizeof(*cfg));
	free(cfg);
	*cfgp = NULL;
}

/* Does @p kp hold the key of the certificate @p cert? */
static mic_rc
key_matches(mic_keyprov_t *kp, const uint8_t *cert, size_t len)
{
	uint8_t spki[512];
	size_t spki_len = 0;
	const unsigned char *q = cert;
	unsigned char *der = NULL;
	X509 *x;
	int n;
	mic_rc rc;

	if ((rc = mic_keyprov_spki(kp, spki, sizeof(spki), &spki_len)) !=
	    MIC_OK)
		return rc;
	if ((x = d2i_X509(NULL, &q, (long)len)) == NULL)
		return MIC_ERR_CERT_FORMAT;
	n = i2d_PUBKEY(X509_get0_pubkey(x), &der);
	rc = n > 0 && (size_t)n == spki_len && memcmp(der, spki, spki_len) ==
	    0 ? MIC_OK : MIC_ERR_MISMATCH;
	OPENSSL_free(der);
	X509_free(x);
	return rc;
}

mic_rc
mic_perso_cfg_set_key(mic_perso_cfg_t *cfg, mic_cert_kind kind,
    const char *uri)
{
	mic_keyprov_t *kp = NULL, **slot;
	mici_issuer *is = NULL, **is_slot;
	const uint8_t *cert;
	size_t len;
	mic_rc rc;

	if (cfg == NULL || uri == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if (kind == MIC_CERT_CARD_ISSUER) {
		slot = &cfg->ci_kp;
		is_slot = &cfg->ci;
		cert = cfg->ci_cert;
		len = cfg->ci_len;
	} else if (kind == MIC_CERT_DOCUMENT_SIGNER) {
		slot = &cfg->ds_kp;
		is_slot = &cfg->ds;
		cert = cfg->ds_cert;
		len = cfg->ds_len;
	} else {
		return MIC_ERR_INVALID_ARGUMENT;
	}
	/* Share a module with the keys already open: one C_Initialize. */
	if ((rc = mic_keyprov_open_ex(&kp, uri, share_of(cfg), NULL, NULL)) !=
	    MIC_OK)
		return rc;
	if ((rc = key_matches(kp, cert, len)) != MIC_OK ||
	    (rc = mici_issuer_new(kp, cert, len, &is)) != MIC_OK) {
		mici_debug("%s: the key is not the certificate's", __func__);
		mic_keyprov_free(&kp);
		return rc;
	}
	mici_issuer_free(is_slot);
	*is_slot = is;
	mic_keyprov_free(slot);
	*slot = kp;
	cfg->token = mici_keyprov_on_token(cfg->term_kp) ||
	    mici_keyprov_on_token(cfg->ci_kp) ||
	    mici_keyprov_on_token(cfg->ds_kp);
	return MIC_OK;
}

mic_rc
mic_perso_cfg_set_bureau_code(mic_perso_cfg_t *cfg, const char *code)
{
	if (cfg == NULL || code == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if (strlen(code) != 3 || !mici_digits(code, 3))
		return MIC_ERR_FORMAT;
	memcpy(cfg->bureau, code, 4);
	return MIC_OK;
}

mic_rc
mic_perso_cfg_set_issue_date(mic_perso_cfg_t *cfg, const char *date)
{
	if (cfg == NULL || date == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if (strlen(date) != 8 || !mici_digits(date, 8) ||
	    !mici_date_real(date, 8))
		return MIC_ERR_DATE;
	memcpy(cfg->issue_date, date, 9);
	return MIC_OK;
}

mic_rc
mic_perso_cfg_set_validity_years(mic_perso_cfg_t *cfg, unsigned years)
{
	if (cfg == NULL || years < 1 || years > 30)
		return MIC_ERR_INVALID_ARGUMENT;
	cfg->years = years;
	return MIC_OK;
}

mic_rc
mic_perso_cfg_set_issuer(mic_perso_cfg_t *cfg, const char *region)
{
	if (cfg == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if (region == NULL) {
		cfg->issuer[0] = '\0';
		return MIC_OK;
	}
	if (!mic_code_valid(MIC_CODE_REGION, region))
		return MIC_ERR_CODE;
	memcpy(cfg->issuer, region, MIC_REGION_LEN + 1);
	return MIC_OK;
}

/* --- result ----------------------------------------------------------- */

void
mic_perso_result_free(mic_perso_result_t **resp)
{
	if (resp == NULL || *resp == NULL)
		return;
	/* The transport PIN is in here. */
	OPENSSL_cleanse(*resp, sizeof(**resp));
	free(*resp);
	*resp = NULL;
}

const uint8_t *
mic_perso_result_chip_serial(const mic_perso_result_t *res)
{
	return res == NULL ? NULL : res->chip_serial;
}

const char *
mic_perso_result_card_id(const mic_perso_result_t *res)
{
	return res == NULL ? NULL : res->cic;
}

const char *
mic_perso_result_card_number(const mic_perso_result_t *res)
{
	return res == NULL ? NULL : res->number;
}

const char *
mic_perso_result_transport_pin(const mic_perso_result_t *res)
{
	return res == NULL ? NULL : res->pin;
}

uint64_t
mic_perso_result_apdus(const mic_perso_result_t *res)
{
	return res == NULL ? 0 : res->apdus;
}

uint64_t
mic_perso_result_bytes(const mic_perso_result_t *res)
{
	return res == NULL ? 0 : res->bytes;
}

/* --- building the files ----------------------------------------------- */

static unsigned
num(const char *s, size_t n)
{
	unsigned v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	return v;
}

/* The expiry "YYYYMMDD" @p years after @p issued; 29 February becomes
 * 28 so that the date exists. Also the certificate's notAfter: the end of
 * that day, UTC. */
static void
expiry(const char *issued, unsigned years, char out[9], int64_t *not_after)
{
	unsigned y = num(issued, 4) + years, m = num(issued + 4, 2);
	unsigned d = num(issued + 6, 2);

	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) ||
	    y % 400 == 0))
		d = 28;
	snprintf(out, 9, "%04u%02u%02u", y % 10000, m % 100, d % 100);
	*not_after = mici_days_from_civil(y, m, d) * 86400 + 86399;
}

/* Uniform random digits: bytes of 250 and over are drawn again, so that
 * no digit is likelier than another. */
static mic_rc
random_pin(char pin[MIC_TRANSPORT_PIN_LEN + 1])
{
	uint8_t b[32];
	size_t k = 0;
	mic_rc rc = MIC_ERR_CRYPTO;

	while (k < MIC_TRANSPORT_PIN_LEN) {
		if (RAND_bytes(b, sizeof(b)) != 1) {
			mici_debug("%s: RAND_bytes", __func__);
			goto out;
		}
		for (size_t i = 0; i < sizeof(b) && k < MIC_TRANSPORT_PIN_LEN;
		    i++)
			if (b[i] < 250)
				pin[k++] = (char)('0' + b[i] % 10);
	}
	pin[k] = '\0';
	rc = MIC_OK;
out:
	OPENSSL_cleanse(b, sizeof(b));
	return rc;
}

/* EF.CARD, EF.HOLDER, EF.INSURANCE into the padded buffers, the card
 * identification code and number into @p p; before any card traffic, so
 * that a bad application costs no card. */
static mic_rc
build_public(struct mici_perso *p, const mic_application_t *app,
    uint64_t serial)
{
	const mic_insurance_t *ins = mic_application_insurance(app);
	const mic_holder_t *holder = mic_application_holder(app);
	mic_perso_cfg_t *cfg = p->cfg;
	mic_cardinfo_t *ci = NULL;
	char issued[9], expires[9];
	const char *region;
	mic_cardid id;
	mic_rc rc;

	if (ins == NULL || holder == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	region = cfg->issuer[0] != '\0' ? cfg->issuer :
	    mic_insurance_region(ins);
	if (region == NULL || strlen(region) != MIC_REGION_LEN)
		return MIC_ERR_MISSING;
	memset(&id, 0, sizeof(id));
	memcpy(id.issuer, region, MIC_REGION_LEN + 1);
	id.card_type = 1;
	id.version_major = 1;
	id.version_minor = 0;
	id.bureau = num(cfg->bureau, 3);
	id.serial = serial;
	if ((rc = mic_cardid_build(&id, p->cic, sizeof(p->cic))) != MIC_OK)
		return rc;
	snprintf(p->number, sizeof(p->number), "A%08llu",
	    (unsigned long long)(serial % 100000000ull));
	if (cfg->issue_date[0] != '\0')
		memcpy(issued, cfg->issue_date, 9);
	else if ((rc = mici_today(issued)) != MIC_OK)
		return rc;
	expiry(issued, cfg->years, expires, &p->not_after);
	if ((ci = mic_cardinfo_new()) == NULL)
		return MIC_ERR_NOMEM;
	if ((rc = mic_cardinfo_set_id(ci, p->cic)) != MIC_OK ||
	    (rc = mic_cardinfo_set_number(ci, p->number)) != MIC_OK ||
	    (rc = mic_cardinfo_set_issuer(ci, region)) != MIC_OK ||
	    (rc = mic_cardinfo_set_issue_date(ci, issued)) != MIC_OK ||
	    (rc = mic_cardinfo_set_expiry_date(ci, expires)) != MIC_OK ||
	    (rc = mic_cardinfo_encode(ci, p->f_card, sizeof(p->f_card),
	    &p->l_card)) != MIC_OK ||
	    (rc = mic_holder_encode(holder, p->f_holder, sizeof(p->f_holder),
	    &p->l_holder)) != MIC_OK ||
	    (rc = mic_insurance_encode(ins, p->f_ins, sizeof(p->f_ins),
	    &p->l_ins)) != MIC_OK)
		goto out;
	rc = MIC_OK;
out:
	mic_cardinfo_free(&ci);
	return rc;
}

/* EF.CERT over the generated key, then EF.SOD over the four files as the
 * card will hold them and the chip serial. */
static mic_rc
build_signed(struct mici_perso *p)
{
	mic_perso_cfg_t *cfg = p->cfg;
	mic_sod_file files[4] = {
		{ MIC_SOD_SFI_CARD, p->f_card, sizeof(p->f_card) },
		{ MIC_SOD_SFI_HOLDER, p->f_holder, sizeof(p->f_holder) },
		{ MIC_SOD_SFI_INSURANCE, p->f_ins, sizeof(p->f_ins) },
		{ MIC_SOD_SFI_CERT, p->f_cert, sizeof(p->f_cert) },
	};
	mic_rc rc;

	/* Neither signature is verified here: verify_card() verifies both,
	 * as a terminal does, before the card counts. */
	cfg_lock(cfg);
	if ((rc = mici_cardcert_issue(cfg->ci, p->gen, p->gen_len, p->cic, 0,
	    p->not_after, p->f_cert, sizeof(p->f_cert), &p->l_cert)) == MIC_OK)
		rc = mici_sod_build(cfg->ds, files, MIC_ARRAY_LEN(files),
		    p->serial, p->f_sod, sizeof(p->f_sod), &p->l_sod);
	cfg_unlock(cfg);
	return rc;
}

/* --- card traffic ----------------------------------------------------- */

/* GET DATA BF21: CERT.SD.ECKA, verified as a card certificate of our
 * PKI and naming the FCI's chip serial, as a terminal checks it
 * (mic_card_verify()), before the bureau trusts the key it agrees a
 * session key with. */
static mic_rc
factory_key(struct mici_perso *p)
{
	X509 *x = NULL;
	mic_rc rc;

	/* Parsed once, and PK.SD.ECKA taken from the certificate verified. */
	if ((rc = mici_chipcert_get(p->tx, p->r_buf, sizeof(p->r_buf),
	    &x)) != MIC_OK ||
	    (rc = mici_cert_verify(p->cfg->trust, x, NULL,
	    MIC_CERT_CARD)) != MIC_OK ||
	    (rc = mici_chipcert_serial_check(x, p->serial)) != MIC_OK) {
		mici_debug("%s: factory certificate: %d", __func__, (int)rc);
		X509_free(x);
		return rc;
	}
	if ((p->pk_sd = X509_get_pubkey(x)) == NULL)
		rc = MIC_ERR_CERT_FORMAT;
	X509_free(x);
	return rc;
}

static mic_rc
generate_key(struct mici_perso *p)
{
	mic_apdu a = { .cla = 0x00, .ins = 0x47, .p1 = 0x80, .p2 = 0x00,
		.ne = 256 };
	mic_tlv t;
	mic_rc rc;

	if ((rc = mic_tx_command(p->tx, &a, p->gen, sizeof(p->gen),
	    &p->gen_len)) != MIC_OK)
		return rc;
	if (mic_tlv_parse(p->gen, p->gen_len, &t) != MIC_OK ||
	    t.tag != 0x7F49 || t.raw_len != p->gen_len) {
		mici_debug("%s: not one 7F49", __func__);
		return MIC_ERR_RESPONSE;
	}
	return MIC_OK;
}

/*
 * One STORE DATA block of the @p len bytes of DGIs in p->cmd (profile
 * 3.8). Over 255 bytes the transport chains or extends as the path
 * allows.
 */
static mic_rc
store_data(struct mici_perso *p, size_t len, uint8_t block, int last,
    int sensitive)
{
	mic_apdu a = { .cla = 0x80, .ins = 0xE2, .p1 = last ? 0x80 : 0x00,
		.p2 = block, .data = p->cmd, .nc = len,
		.flags = sensitive ? MIC_APDU_SENSITIVE : 0 };
	size_t n = 0;
	uint8_t rsp[16];
	mic_rc rc;

	rc = mic_tx_command(p->tx, &a, rsp, sizeof(rsp), &n);
	/* The last block holds the transport PIN. */
	mici_wipe(p->cmd, len);
	if (rc != MIC_OK)
		mici_debug("%s: block %u: %d", __func__, (unsigned)block,
		    (int)rc);
	return rc;
}

/*
 * The DGIs in as few STORE DATA commands as the card takes: profile 3.8
 * lets a command carry several, none may span two, and the card assembles
 * at most CARD_CMD_MAX bytes of a (protected) command. The order stays
 * the profile's, the transport PIN last. Fewer commands change nothing
 * on the card: each one is all or nothing (profile 7), every block but
 * the last leaves it blank, and the last one, with the PIN, is the one
 * that personalizes it, as before.
 */
static mic_rc
store_all(struct mici_perso *p)
{
	const struct {
		uint16_t dgi;
		const uint8_t *body;
		size_t len;
	} d[PERSO_DGIS] = {
		{ 0x0101, p->f_card, p->l_card },
		{ 0x0102, p->f_holder, p->l_holder },
		{ 0x0103, p->f_ins, p->l_ins },
		{ 0x0104, p->f_sod, p->l_sod },
		{ 0x0105, p->f_cert, p->l_cert },
		{ 0x8010, p->pin_block, sizeof(p->pin_block) },
	};
	size_t i = 0, first, len, hdr;
	uint8_t block = 0;
	int sensitive;
	mic_rc rc;

	while (i < PERSO_DGIS) {
		first = i;
		len = 0;
		sensitive = 0;
		for (; i < PERSO_DGIS; i++) {
			/* 2-byte identifier, a 1-byte length or FF and 2. */
			hdr = d[i].len < 0xFF ? 3 : 5;
			if (hdr + d[i].len > STORE_DATA_MAX - len)
				break;
			mici_put_u16(p->cmd + len, d[i].dgi);
			if (hdr == 3)
				p->cmd[len + 2] = (uint8_t)d[i].len;
			else {
				p->cmd[len + 2] = 0xFF;
				mici_put_u16(p->cmd + len + 3,
				    (uint16_t)d[i].len);
			}
			memcpy(p->cmd + len + hdr, d[i].body, d[i].len);
			len += hdr + d[i].len;
			sensitive |= d[i].dgi == 0x8010;
		}
		if (i == first) {
			mici_debug("%s: DGI %04X fits no command", __func__,
			    (unsigned)d[i].dgi);
			return MIC_ERR_INTERNAL;
		}
		if ((rc = store_data(p, len, block++, i == PERSO_DGIS,
		    sensitive)) != MIC_OK)
			return rc;
	}
	return MIC_OK;
}

/* Read file @p sfi back; it shall be exactly what was written. */
static mic_rc
read_same(struct mici_perso *p, uint8_t sfi, const uint8_t *want, size_t size)
{
	mic_rc rc;

	if ((rc = mic_card_read_file(p->tx, sfi, p->r_buf, size)) != MIC_OK)
		return rc;
	if (CRYPTO_memcmp(p->r_buf, want, size) != 0) {
		mici_debug("%s: SFI %u differs", __func__, (unsigned)sfi);
		return MIC_ERR_MISMATCH;
	}
	return MIC_OK;
}

/*
 * Read every file back inside the bureau's channel, before it closes:
 * EF.HOLDER and EF.INSURANCE are personal (card profile 4.3), and the
 * channel's encrypted answers keep them off the reader's line. The files
 * the terminal trusts are the ones it reads: compare what the card gives
 * back, then verify_card() verifies exactly those bytes.
 */
static mic_rc
read_back(struct mici_perso *p)
{
	mic_rc rc;

	if ((rc = read_same(p, MIC_SFI_CARD, p->f_card,
	    sizeof(p->f_card))) != MIC_OK ||
	    (rc = read_same(p, MIC_SFI_HOLDER, p->f_holder,
	    sizeof(p->f_holder))) != MIC_OK ||
	    (rc = read_same(p, MIC_SFI_INSURANCE, p->f_ins,
	    sizeof(p->f_ins))) != MIC_OK ||
	    (rc = read_same(p, MIC_SFI_CERT, p->f_cert,
	    sizeof(p->f_cert))) != MIC_OK ||
	    (rc = read_same(p, MIC_SFI_SOD, p->f_sod, p->l_sod)) != MIC_OK)
		mici_debug("%s: %d", __func__, (int)rc);
	return rc;
}

/*
 * The card counts as issued only if a terminal would accept it: the
 * files read back are the bytes written, passive authentication and the
 * card certificate verify as a terminal checks them, and the card proves
 * its key in SCP11b.
 */
static mic_rc
verify_card(struct mici_perso *p)
{
	mic_sod_file files[4] = {
		{ MIC_SOD_SFI_CARD, p->f_card, sizeof(p->f_card) },
		{ MIC_SOD_SFI_HOLDER, p->f_holder, sizeof(p->f_holder) },
		{ MIC_SOD_SFI_INSURANCE, p->f_ins, sizeof(p->f_ins) },
		{ MIC_SOD_SFI_CERT, p->f_cert, sizeof(p->f_cert) },
	};
	uint8_t serial[MIC_CHIP_SERIAL_LEN];
	mic_rc rc;

	mic_card_free(&p->card);
	if ((rc = mic_card_open(&p->card, p->tx)) != MIC_OK ||
	    (rc = mic_card_chip_serial(p->card, serial, sizeof(serial))) !=
	    MIC_OK)
		return rc;
	if (memcmp(serial, p->serial, sizeof(serial)) != 0)
		return MIC_ERR_CARD_CHANGED;
	if (mic_card_state(p->card) != MIC_STATE_PERSONALIZED) {
		mici_debug("%s: the card is %s", __func__,
		    mic_state_name(mic_card_state(p->card)));
		return MIC_ERR_STATE;
	}
	/* EF.SOD to its DER length only: the padding after the object is
	 * no part of it, and reading it cost 3 APDUs and 1 KB a card. */
	if ((rc = mic_sod_verify(p->cfg->trust, p->f_sod, p->l_sod,
	    files, MIC_ARRAY_LEN(files), serial)) != MIC_OK) {
		mici_debug("%s: passive authentication: %d", __func__,
		    (int)rc);
		return rc;
	}
	if ((rc = mici_cardcert_check(p->cfg->trust, p->f_cert,
	    sizeof(p->f_cert), p->cic, p->gen, p->gen_len)) != MIC_OK) {
		mici_debug("%s: card certificate: %d", __func__, (int)rc);
		return rc;
	}
	if ((rc = mic_scp11b_open(p->tx, SD_KVN, p->pk_sd)) != MIC_OK) {
		mici_debug("%s: SCP11b: %d", __func__, (int)rc);
		return rc;
	}
	mic_scp_close(p->tx);
	return MIC_OK;
}

mic_rc
mici_perso_new(mic_perso_cfg_t *cfg, mici_perso **out)
{
	mici_perso *p;

	if (out != NULL)
		*out = NULL;
	if (cfg == NULL || out == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	/* Large buffers: the heap, not the stack of a reader thread. */
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return MIC_ERR_NOMEM;
	p->cfg = cfg;
	*out = p;
	return MIC_OK;
}

void
mici_perso_free(mici_perso **pp)
{
	mici_perso *p;

	if (pp == NULL || (p = *pp) == NULL)
		return;
	*pp = NULL;
	mic_card_free(&p->card);
	EVP_PKEY_free(p->pk_sd);
	OPENSSL_cleanse(p, sizeof(*p));
	free(p);
}

mic_rc
mici_perso_prep_files(mici_perso *p, const mic_application_t *app,
    uint64_t serial)
{
	mic_rc rc;

	if (p == NULL || app == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if ((rc = build_public(p, app, serial)) != MIC_OK) {
		mici_debug("%s: the application: %d", __func__, (int)rc);
		return rc;
	}
	if ((rc = random_pin(p->pin)) != MIC_OK)
		return rc;
	return mici_pin_block(p->pin, p->pin_block);
}

mic_rc
mici_perso_prep_signed(mici_perso *p, const uint8_t *gen, size_t gen_len,
    const uint8_t chip_serial[MIC_CHIP_SERIAL_LEN])
{
	if (p == NULL || gen == NULL || chip_serial == NULL ||
	    gen_len > sizeof(p->gen))
		return MIC_ERR_INVALID_ARGUMENT;
	memcpy(p->gen, gen, gen_len);
	p->gen_len = gen_len;
	memcpy(p->serial, chip_serial, sizeof(p->serial));
	return build_signed(p);
}

static mic_rc
perso_run(struct mici_perso *p, const mic_application_t *app, uint64_t serial)
{
	mic_perso_cfg_t *cfg = p->cfg;
	mic_scp_keyref oce = { OCE_KVN, OCE_KID };
	double t0;
	mic_rc rc;

	t0 = prep_begin();
	rc = mici_perso_prep_files(p, app, serial);
	prep_end(t0);
	if (rc != MIC_OK)
		return rc;
	if ((rc = mic_card_open(&p->card, p->tx)) != MIC_OK ||
	    (rc = mic_card_chip_serial(p->card, p->serial,
	    sizeof(p->serial))) != MIC_OK)
		return rc;
	/* The card would refuse the last STORE DATA with 6985; refuse with
	 * the same code before the first write. */
	if (mic_card_state(p->card) != MIC_STATE_BLANK) {
		mici_debug("%s: the card is %s", __func__,
		    mic_state_name(mic_card_state(p->card)));
		return MIC_SW_CONDITIONS;
	}
	if ((rc = factory_key(p)) != MIC_OK)
		return rc;
	cfg_lock(cfg);
	rc = mic_scp11a_open(p->tx, SD_KVN, p->pk_sd, &oce,
	    mic_keyprov_pkey(cfg->term_kp), cfg->term_chain);
	cfg_unlock(cfg);
	if (rc != MIC_OK) {
		mici_debug("%s: SCP11a: %d", __func__, (int)rc);
		return rc;
	}
	if ((rc = generate_key(p)) != MIC_OK)
		return rc;
	t0 = prep_begin();
	rc = build_signed(p);
	prep_end(t0);
	if (rc != MIC_OK || (rc = store_all(p)) != MIC_OK ||
	    (rc = read_back(p)) != MIC_OK)
		return rc;
	mic_scp_close(p->tx);
	return verify_card(p);
}

mic_rc
mic_perso_card(mic_perso_cfg_t *cfg, mic_tx_t *tx,
    const mic_application_t *app, uint64_t bureau_serial,
    mic_perso_result_t **out)
{
	mici_perso *p = NULL;
	mic_perso_result_t *res = NULL;
	mic_tx_stats st0, st1;
	int began = 0;
	mic_rc rc;

	if (out != NULL)
		*out = NULL;
	if (cfg == NULL || tx == NULL || app == NULL || out == NULL ||
	    bureau_serial > MIC_PERSO_SERIAL_MAX) {
		mici_debug("%s: bad argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((rc = mici_perso_new(cfg, &p)) != MIC_OK)
		goto out;
	if ((res = calloc(1, sizeof(*res))) == NULL) {
		rc = MIC_ERR_NOMEM;
		goto out;
	}
	p->tx = tx;
	/* The bureau's channel is ours to open and close; a caller's would
	 * carry the SELECT and then be closed under it. */
	if (mic_tx_get_sm_state(tx) == MIC_TX_SM_ON) {
		mici_debug("%s: a secure channel is open", __func__);
		rc = MIC_ERR_STATE;
		goto out;
	}
	mic_tx_get_stats(tx, &st0);
	/* One transaction: no other application interleaves, and the card
	 * verified is the card written. */
	if ((rc = mic_tx_begin(tx)) != MIC_OK)
		goto out;
	began = 1;
	if ((rc = perso_run(p, app, bureau_serial)) != MIC_OK)
		goto out;
	mic_tx_get_stats(tx, &st1);
	memcpy(res->chip_serial, p->serial, sizeof(res->chip_serial));
	memcpy(res->cic, p->cic, sizeof(res->cic));
	memcpy(res->number, p->number, sizeof(res->number));
	memcpy(res->pin, p->pin, sizeof(res->pin));
	res->apdus = st1.apdus - st0.apdus;
	res->bytes = (st1.bytes_out - st0.bytes_out) +
	    (st1.bytes_in - st0.bytes_in);
	*out = res;
	res = NULL;
	rc = MIC_OK;
out:
	/* Never leave a channel behind, open or lost. */
	if (began && mic_tx_get_sm_state(tx) != MIC_TX_SM_OFF)
		mic_scp_close(tx);
	if (began)
		mic_tx_end(tx);
	mici_perso_free(&p);
	mic_perso_result_free(&res);
	return rc;
}
