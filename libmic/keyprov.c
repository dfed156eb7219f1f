/*
 * Key providers: a PEM file, or a key in a PKCS#11 token reached through
 * libp11's PKCS11_* API. docs/pki.md says why libp11 and not raw PKCS#11:
 * libp11 gives OpenSSL 3.0 an EVP_PKEY whose signatures happen in the
 * token, so X509_sign and CMS_sign work unchanged, and that without the
 * deprecated ENGINE API in this code and without an OpenSSL provider of our
 * own (Debian 12 has no pkcs11-provider).
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#ifdef MIC_HAVE_LIBP11
#include <libp11.h>
#endif

#include <mic/keyprov.h>

#include "mici.h"
#include "trust_int.h"

/* PEM keys are small; a bigger file is not a key. */
#define KEY_FILE_MAX (64 * 1024)
#define PIN_MAX 128
#define PIN_FILE_MAX 256

#ifdef MIC_HAVE_LIBP11
/*
 * One loaded PKCS#11 module with its slot list, shared by the key providers
 * opened through each other (mic_keyprov_open_ex's share). PKCS#11 allows
 * one C_Initialize per process, and libp11 calls C_Finalize when a context
 * is unloaded, so two contexts on one module break each other; sharing one
 * context, counted here, is the way to hold several keys.
 */
struct p11mod {
	unsigned refs;
	char path[MICI_P11_PATH_MAX];
	PKCS11_CTX *ctx;
	PKCS11_SLOT *slots;
	unsigned int nslots;
};
#endif

struct mic_keyprov {
	mic_suite suite;
	EVP_PKEY *pkey;
#ifdef MIC_HAVE_LIBP11
	struct p11mod *mod;   /* NULL for a file: key */
#endif
};

/*
 * Percent-decode @p n bytes of @p s into @p out (RFC 3986 2.1). A decoded
 * NUL is refused: every value here ends up in a C string.
 */
static mic_rc
pct_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *len)
{
	size_t i, k = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		uint8_t c = (uint8_t)s[i];

		if (c == '%') {
			if (n - i < 3)
				goto bad;
			hi = mici_hexval((unsigned char)s[i + 1]);
			lo = mici_hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				goto bad;
			c = (uint8_t)(hi << 4 | lo);
			i += 2;
		}
		if (k >= cap) {
			mici_debug("%s: value too long", __func__);
			return MIC_ERR_KEY_URI;
		}
		out[k++] = c;
	}
	*len = k;
	return MIC_OK;
bad:
	mici_debug("%s: bad percent-escape", __func__);
	return MIC_ERR_KEY_URI;
}

/* Percent-decode into a C string of at most @p cap - 1 characters. */
static mic_rc
pct_decode_str(const char *s, size_t n, char *out, size_t cap)
{
	size_t len;
	mic_rc rc;

	if ((rc = pct_decode(s, n, (uint8_t *)out, cap - 1, &len)) != MIC_OK)
		return rc;
	if (memchr(out, '\0', len) != NULL) {
		mici_debug("%s: NUL in a value", __func__);
		return MIC_ERR_KEY_URI;
	}
	out[len] = '\0';
	return MIC_OK;
}

struct p11attr {
	const char *name;
	size_t off_str;      /* offset of the value (char[]) in mici_p11uri */
	size_t cap;
	size_t off_flag;
};

#define PATTR(n, f) { n, offsetof(mici_p11uri, f), sizeof(((mici_p11uri *)0)->f), \
	offsetof(mici_p11uri, has_##f) }

static const struct p11attr path_attrs[] = {
	PATTR("token", token),
	PATTR("manufacturer", manufacturer),
	PATTR("model", model),
	PATTR("serial", serial),
	PATTR("object", object),
};

#undef PATTR

static mic_rc
p11_path_attr(mici_p11uri *u, const char *a, size_t n)
{
	const char *eq = memchr(a, '=', n);
	size_t klen, i;
	char type[16];
	mic_rc rc;

	if (eq == NULL) {
		mici_debug("%s: attribute without '='", __func__);
		return MIC_ERR_KEY_URI;
	}
	klen = (size_t)(eq - a);
	eq++;
	n -= klen + 1;
	for (i = 0; i < MIC_ARRAY_LEN(path_attrs); i++) {
		const struct p11attr *pa = &path_attrs[i];
		int *flag = (int *)((char *)u + pa->off_flag);

		if (strlen(pa->name) != klen || memcmp(pa->name, a, klen) != 0)
			continue;
		if (*flag) {
			mici_debug("%s: %s given twice", __func__, pa->name);
			return MIC_ERR_KEY_URI;
		}
		rc = pct_decode_str(eq, n, (char *)u + pa->off_str, pa->cap);
		if (rc != MIC_OK)
			return rc;
		*flag = 1;
		return MIC_OK;
	}
	if (klen == 2 && memcmp(a, "id", 2) == 0) {
		if (u->has_id)
			goto twice;
		if ((rc = pct_decode(eq, n, u->id, sizeof(u->id),
		    &u->id_len)) != MIC_OK)
			return rc;
		if (u->id_len == 0)
			goto empty;
		u->has_id = 1;
		return MIC_OK;
	}
	if (klen == 4 && memcmp(a, "type", 4) == 0) {
		if ((rc = pct_decode_str(eq, n, type, sizeof(type))) != MIC_OK)
			return rc;
		if (strcmp(type, "private") != 0) {
			mici_debug("%s: type=%s; a key provider needs a private "
			    "key", __func__, type);
			return MIC_ERR_KEY_URI;
		}
		return MIC_OK;
	}
	mici_debug("%s: unknown path attribute '%.*s'", __func__, (int)klen, a);
	return MIC_ERR_KEY_URI;
twice:
	mici_debug("%s: id given twice", __func__);
	return MIC_ERR_KEY_URI;
empty:
	mici_debug("%s: empty id", __func__);
	return MIC_ERR_KEY_URI;
}

static mic_rc
p11_query_attr(mici_p11uri *u, const char *a, size_t n)
{
	const char *eq = memchr(a, '=', n);
	size_t klen;
	char *dst;

	if (eq == NULL) {
		mici_debug("%s: attribute without '='", __func__);
		return MIC_ERR_KEY_URI;
	}
	klen = (size_t)(eq - a);
	eq++;
	n -= klen + 1;
	if (klen == 11 && memcmp(a, "module-path", 11) == 0) {
		dst = u->module_path;
	} else if (klen == 10 && memcmp(a, "pin-source", 10) == 0) {
		dst = u->pin_source;
	} else if (klen == 9 && memcmp(a, "pin-value", 9) == 0) {
		/* A PIN in a URI ends up in shell history, ps and logs. */
		mici_debug("%s: pin-value is refused; use pin-source, "
		    "MIC_PKCS11_PIN or the prompt", __func__);
		return MIC_ERR_KEY_URI;
	} else {
		mici_debug("%s: unknown query attribute '%.*s'", __func__,
		    (int)klen, a);
		return MIC_ERR_KEY_URI;
	}
	if (dst[0] != '\0') {
		mici_debug("%s: '%.*s' given twice", __func__, (int)klen, a);
		return MIC_ERR_KEY_URI;
	}
	return pct_decode_str(eq, n, dst, MICI_P11_PATH_MAX);
}

mic_rc
mici_p11uri_parse(const char *uri, mici_p11uri *u)
{
	const char *p, *q, *end, *e;
	mic_rc rc;

	if (uri == NULL || u == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	memset(u, 0, sizeof(*u));
	if (strncmp(uri, "pkcs11:", 7) != 0) {
		mici_debug("%s: not a pkcs11: URI", __func__);
		return MIC_ERR_KEY_URI;
	}
	p = uri + 7;
	q = strchr(p, '?');
	end = q != NULL ? q : p + strlen(p);
	while (p < end) {
		e = memchr(p, ';', (size_t)(end - p));
		if (e == NULL)
			e = end;
		if (e == p) {
			mici_debug("%s: empty path attribute", __func__);
			return MIC_ERR_KEY_URI;
		}
		if ((rc = p11_path_attr(u, p, (size_t)(e - p))) != MIC_OK)
			return rc;
		p = e < end ? e + 1 : e;
	}
	if (q != NULL) {
		p = q + 1;
		end = p + strlen(p);
		while (p < end) {
			e = memchr(p, '&', (size_t)(end - p));
			if (e == NULL)
				e = end;
			if (e == p) {
				mici_debug("%s: empty query attribute",
				    __func__);
				return MIC_ERR_KEY_URI;
			}
			if ((rc = p11_query_attr(u, p, (size_t)(e - p))) !=
			    MIC_OK)
				return rc;
			p = e < end ? e + 1 : e;
		}
	}
	if (!u->has_object && !u->has_id) {
		mici_debug("%s: name the key with object= or id=", __func__);
		return MIC_ERR_KEY_URI;
	}
	return MIC_OK;
}

mic_suite
mici_pkey_suite(const EVP_PKEY *pkey)
{
	char group[64];
	size_t glen = 0;

	if (pkey == NULL)
		return 0;
	if (EVP_PKEY_is_a(pkey, "SM2"))
		return MIC_SUITE_SM2;
	/*
	 * An "EC" key on the SM2 curve would sign ECDSA, not SM2: it is no
	 * key of either suite.
	 */
	if (EVP_PKEY_is_a(pkey, "EC") &&
	    EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen) == 1 &&
	    (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0))
		return MIC_SUITE_P256;
	return 0;
}

/* OpenSSL must never prompt for a passphrase on a library's behalf. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static mic_rc
file_uri_path(const char *uri, char *path, size_t cap)
{
	const char *p = uri + 5;   /* after "file:" */

	/* RFC 8089: file:/p, file:///p and file://localhost/p; no other host. */
	if (strncmp(p, "//", 2) == 0) {
		p += 2;
		if (strncmp(p, "localhost/", 10) == 0)
			p += 9;
		else if (*p != '/') {
			mici_debug("%s: file URI with a host", __func__);
			return MIC_ERR_KEY_URI;
		}
	}
	if (*p == '\0') {
		mici_debug("%s: empty path", __func__);
		return MIC_ERR_KEY_URI;
	}
	return pct_decode_str(p, strlen(p), path, cap);
}

static mic_rc
open_file(mic_keyprov_t *kp, const char *uri)
{
	char path[MICI_P11_PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	mic_rc rc;

	if ((rc = file_uri_path(uri, path, sizeof(path))) != MIC_OK)
		return rc;
	if ((rc = mici_read_file(path, KEY_FILE_MAX, 1, &buf, &len)) !=
	    MIC_OK)
		return rc;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		rc = MIC_ERR_NOMEM;
		goto fail;
	}
	kp->pkey = PEM_read_bio_PrivateKey_ex(bio, NULL, no_passphrase, NULL,
	    NULL, NULL);
	if (kp->pkey == NULL) {
		mici_ossl_debug(__func__, "no unencrypted PEM private key");
		rc = MIC_ERR_CRYPTO;
		goto fail;
	}
	if ((kp->suite = mici_pkey_suite(kp->pkey)) == 0) {
		mici_debug("%s: %s is not a P-256 or SM2 key", __func__,
		    EVP_PKEY_get0_type_name(kp->pkey));
		rc = MIC_ERR_UNSUPPORTED;
		goto fail;
	}
	rc = MIC_OK;
fail:
	BIO_free(bio);
	mici_wipe(buf, len);
	free(buf);
	return rc;
}

#ifdef MIC_HAVE_LIBP11

/*
 * The head of PKCS#11's CK_FUNCTION_LIST, the same in v2.x and v3.0: a
 * CK_VERSION, then C_Initialize, C_Finalize, C_GetInfo. Only C_GetInfo is
 * called, to learn whether someone in this process initialized the module.
 * Declared here so that the build needs no PKCS#11 headers.
 */
typedef unsigned long ck_rv;
struct ck_head {
	struct { unsigned char major, minor; } version;
	ck_rv (*initialize)(void *);
	ck_rv (*finalize)(void *);
	ck_rv (*get_info)(void *);
};
#define CKR_CRYPTOKI_NOT_INITIALIZED 0x190UL

/*
 * Is the module at @p path loaded and initialized already? RTLD_NOLOAD
 * finds it only if it is loaded; C_GetInfo answers only if it is
 * initialized. Anyone who initialized it would have its sessions closed by
 * libp11's C_Finalize when this key provider is freed.
 */
static int
module_in_use(const char *path)
{
	ck_rv (*get_list)(struct ck_head **) = NULL;
	struct ck_head *fl = NULL;
	unsigned long info[64];   /* CK_INFO is ~90 bytes */
	void *h, *sym;
	int busy = 0;

	if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD)) == NULL)
		return 0;
	if ((sym = dlsym(h, "C_GetFunctionList")) != NULL) {
		memcpy(&get_list, &sym, sizeof(get_list));
		if (get_list(&fl) == 0 && fl != NULL && fl->get_info != NULL)
			busy = fl->get_info(info) != CKR_CRYPTOKI_NOT_INITIALIZED;
	}
	dlclose(h);
	return busy;
}

static void
mod_unref(struct p11mod **mp)
{
	struct p11mod *m = *mp;

	if (m == NULL)
		return;
	*mp = NULL;
	if (--m->refs > 0)
		return;
	if (m->slots != NULL)
		PKCS11_release_all_slots(m->ctx, m->slots, m->nslots);
	if (m->ctx != NULL) {
		PKCS11_CTX_unload(m->ctx);
		PKCS11_CTX_free(m->ctx);
	}
	free(m);
}

static mic_rc
mod_load(const char *path, struct p11mod **out)
{
	struct p11mod *m = NULL;
	mic_rc rc;

	if (strlen(path) >= sizeof(m->path))
		return MIC_ERR_KEY_URI;
	if (module_in_use(path)) {
		mici_debug("%s: %s is already initialized in this process",
		    __func__, path);
		return MIC_ERR_PKCS11_IN_USE;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return MIC_ERR_NOMEM;
	m->refs = 1;
	strcpy(m->path, path);
	if ((m->ctx = PKCS11_CTX_new()) == NULL) {
		rc = MIC_ERR_NOMEM;
		goto fail;
	}
	if (PKCS11_CTX_load(m->ctx, path) != 0) {
		mici_ossl_debug(__func__, path);
		PKCS11_CTX_free(m->ctx);
		m->ctx = NULL;
		rc = MIC_ERR_PKCS11;
		goto fail;
	}
	if (PKCS11_enumerate_slots(m->ctx, &m->slots, &m->nslots) != 0) {
		mici_ossl_debug(__func__, "C_GetSlotList");
		m->slots = NULL;
		rc = MIC_ERR_PKCS11;
		goto fail;
	}
	*out = m;
	return MIC_OK;
fail:
	mod_unref(&m);
	return rc;
}

static int
token_matches(const PKCS11_TOKEN *t, const mici_p11uri *u)
{
	if (t == NULL || !t->initialized)
		return 0;
	if (u->has_token && (t->label == NULL || strcmp(t->label, u->token)))
		return 0;
	if (u->has_manufacturer && (t->manufacturer == NULL ||
	    strcmp(t->manufacturer, u->manufacturer)))
		return 0;
	if (u->has_model && (t->model == NULL || strcmp(t->model, u->model)))
		return 0;
	if (u->has_serial && (t->serialnr == NULL ||
	    strcmp(t->serialnr, u->serial)))
		return 0;
	return 1;
}

/* Strip one trailing newline (and a CR before it) from a PIN file. */
static void
chomp(char *s)
{
	size_t n = strlen(s);

	if (n > 0 && s[n - 1] == '\n')
		s[--n] = '\0';
	if (n > 0 && s[n - 1] == '\r')
		s[--n] = '\0';
}

/* The PIN: pin-source file, MIC_PKCS11_PIN, then the callback. */
static mic_rc
get_pin(const mici_p11uri *u, mic_pin_cb *cb, void *arg, const char *label,
    char *pin, size_t cap)
{
	const char *src = u->pin_source, *env;
	uint8_t *buf = NULL;
	size_t len = 0;
	mic_rc rc;

	if (src[0] != '\0') {
		if (strncmp(src, "file:", 5) == 0)
			src += 5;
		if (src[0] == '|') {
			mici_debug("%s: pin-source programs are not run",
			    __func__);
			return MIC_ERR_KEY_URI;
		}
		if ((rc = mici_read_file(src, PIN_FILE_MAX, 1, &buf, &len)) !=
		    MIC_OK)
			return rc;
		if (len >= cap || memchr(buf, '\0', len) != NULL) {
			mici_debug("%s: PIN file too long or binary", __func__);
			rc = MIC_ERR_TOKEN_NO_PIN;
			goto out;
		}
		memcpy(pin, buf, len);
		pin[len] = '\0';
		chomp(pin);
		rc = pin[0] != '\0' ? MIC_OK : MIC_ERR_TOKEN_NO_PIN;
		goto out;
	}
	if ((env = getenv("MIC_PKCS11_PIN")) != NULL && env[0] != '\0') {
		if (strlen(env) >= cap) {
			mici_debug("%s: MIC_PKCS11_PIN too long", __func__);
			return MIC_ERR_TOKEN_NO_PIN;
		}
		strcpy(pin, env);
		return MIC_OK;
	}
	if (cb != NULL && cb(arg, label, pin, cap) == 0 && pin[0] != '\0' &&
	    memchr(pin, '\0', cap) != NULL)
		return MIC_OK;
	mici_wipe(pin, cap);
	mici_debug("%s: token '%s' needs a PIN and none was given", __func__,
	    label);
	return MIC_ERR_TOKEN_NO_PIN;
out:
	mici_wipe(buf, len);
	free(buf);
	if (rc != MIC_OK)
		mici_wipe(pin, cap);
	return rc;
}

static mic_rc
p11_login(PKCS11_SLOT *slot, const mici_p11uri *u, mic_pin_cb *cb,
    void *arg)
{
	char pin[PIN_MAX];
	int logged_in = 0, r;
	mic_rc rc;

	if (!slot->token->loginRequired)
		return MIC_OK;
	if (PKCS11_is_logged_in(slot, 0, &logged_in) == 0 && logged_in)
		return MIC_OK;
	if (PKCS11_open_session(slot, 0) != 0) {
		mici_ossl_debug(__func__, "C_OpenSession");
		return MIC_ERR_PKCS11;
	}
	if (slot->token->secureLogin) {
		/* A PIN pad: the token asks the PIN itself. */
		r = PKCS11_login(slot, 0, NULL);
	} else {
		if ((rc = get_pin(u, cb, arg, slot->token->label, pin,
		    sizeof(pin))) != MIC_OK)
			return rc;
		r = PKCS11_login(slot, 0, pin);
		mici_wipe(pin, sizeof(pin));
	}
	if (r != 0) {
		mici_ossl_debug(__func__, "C_Login");
		return MIC_ERR_TOKEN_LOGIN;
	}
	return MIC_OK;
}

/* A provider-native copy of a libp11 key's public half, to read its curve. */
static mic_suite
p11_key_suite(EVP_PKEY *pkey)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pub = NULL;
	mic_suite s = 0;
	int n;

	if ((n = i2d_PUBKEY(pkey, &der)) <= 0)
		return 0;
	p = der;
	if ((pub = d2i_PUBKEY(NULL, &p, n)) != NULL)
		s = mici_pkey_suite(pub);
	EVP_PKEY_free(pub);
	OPENSSL_free(der);
	return s;
}

static mic_rc
open_p11(mic_keyprov_t *kp, const char *uri, mic_keyprov_t *share,
    mic_pin_cb *cb, void *arg)
{
	mici_p11uri u;
	const char *module;
	PKCS11_SLOT *slot = NULL;
	PKCS11_KEY *keys = NULL, *key = NULL;
	unsigned int nkeys = 0, i, nmatch = 0;
	mic_rc rc;

	if ((rc = mici_p11uri_parse(uri, &u)) != MIC_OK)
		return rc;
	module = u.module_path[0] != '\0' ? u.module_path :
	    getenv("MIC_PKCS11_MODULE");
	/* Share the module when @p share has this one loaded already. */
	if (share != NULL && share->mod != NULL && (module == NULL ||
	    module[0] == '\0' || strcmp(module, share->mod->path) == 0)) {
		kp->mod = share->mod;
		kp->mod->refs++;
	} else {
		if (module == NULL || module[0] == '\0') {
			mici_debug("%s: no PKCS#11 module: give module-path "
			    "or set MIC_PKCS11_MODULE", __func__);
			rc = MIC_ERR_KEY_URI;
			goto out;
		}
		if ((rc = mod_load(module, &kp->mod)) != MIC_OK)
			goto out;
	}
	for (i = 0; i < kp->mod->nslots; i++) {
		if (!token_matches(kp->mod->slots[i].token, &u))
			continue;
		if (slot != NULL) {
			mici_debug("%s: several tokens match; add token= or "
			    "serial=", __func__);
			rc = MIC_ERR_KEY_URI;
			goto out;
		}
		slot = &kp->mod->slots[i];
	}
	if (slot == NULL) {
		mici_debug("%s: no such token", __func__);
		rc = MIC_ERR_NOT_FOUND;
		goto out;
	}
	if ((rc = p11_login(slot, &u, cb, arg)) != MIC_OK)
		goto out;
	if (PKCS11_enumerate_keys(slot->token, &keys, &nkeys) != 0) {
		mici_ossl_debug(__func__, "C_FindObjects");
		rc = MIC_ERR_PKCS11;
		goto out;
	}
	for (i = 0; i < nkeys; i++) {
		if (u.has_object && (keys[i].label == NULL ||
		    strcmp(keys[i].label, u.object) != 0))
			continue;
		if (u.has_id && (keys[i].id_len != u.id_len ||
		    memcmp(keys[i].id, u.id, u.id_len) != 0))
			continue;
		key = &keys[i];
		nmatch++;
	}
	if (nmatch != 1) {
		mici_debug("%s: %u private keys match", __func__, nmatch);
		rc = nmatch == 0 ? MIC_ERR_NOT_FOUND : MIC_ERR_KEY_URI;
		goto out;
	}
	if ((kp->pkey = PKCS11_get_private_key(key)) == NULL) {
		mici_ossl_debug(__func__, "PKCS11_get_private_key");
		rc = MIC_ERR_PKCS11;
		goto out;
	}
	if ((kp->suite = p11_key_suite(kp->pkey)) != MIC_SUITE_P256) {
		/*
		 * libp11 0.4.12 would sign with an SM2-curve key as ECDSA:
		 * refuse rather than make signatures no verifier accepts.
		 */
		mici_debug("%s: only P-256 keys are supported in tokens",
		    __func__);
		rc = MIC_ERR_UNSUPPORTED;
		goto out;
	}
	rc = MIC_OK;
out:
	mici_wipe(&u, sizeof(u));
	return rc;
}

#endif /* MIC_HAVE_LIBP11 */

mic_rc
mic_keyprov_open_ex(mic_keyprov_t **out, const char *uri,
    mic_keyprov_t *share, mic_pin_cb *pin_cb, void *pin_arg)
{
	mic_keyprov_t *kp = NULL;
	mic_rc rc;

	if (out == NULL || uri == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if ((kp = calloc(1, sizeof(*kp))) == NULL)
		return MIC_ERR_NOMEM;
	if (strncmp(uri, "file:", 5) == 0) {
		rc = open_file(kp, uri);
	} else if (strncmp(uri, "pkcs11:", 7) == 0) {
#ifdef MIC_HAVE_LIBP11
		rc = open_p11(kp, uri, share, pin_cb, pin_arg);
#else
		(void)share;
		(void)pin_cb;
		(void)pin_arg;
		mici_debug("%s: built without libp11", __func__);
		rc = MIC_ERR_UNSUPPORTED;
#endif
	} else {
		mici_debug("%s: unknown key URI scheme", __func__);
		rc = MIC_ERR_KEY_URI;
	}
	if (rc != MIC_OK)
		goto fail;
	*out = kp;
	return MIC_OK;
fail:
	mic_keyprov_free(&kp);
	return rc;
}

mic_rc
mici_keyprov_wrap(EVP_PKEY *pkey, mic_keyprov_t **out)
{
	mic_keyprov_t *kp;

	if ((kp = calloc(1, sizeof(*kp))) == NULL)
		return MIC_ERR_NOMEM;
	if ((kp->suite = mici_pkey_suite(pkey)) == 0) {
		free(kp);
		return MIC_ERR_UNSUPPORTED;
	}
	kp->pkey = pkey;
	*out = kp;
	return MIC_OK;
}

mic_rc
mic_keyprov_open(mic_keyprov_t **kp, const char *uri)
{
	return mic_keyprov_open_ex(kp, uri, NULL, NULL, NULL);
}

void
mic_keyprov_free(mic_keyprov_t **kpp)
{
	mic_keyprov_t *kp;

	if (kpp == NULL || (kp = *kpp) == NULL)
		return;
	*kpp = NULL;
	/* EVP_PKEY_free clears private scalars; the key object goes first,
	 * before the module it may call into. */
	EVP_PKEY_free(kp->pkey);
#ifdef MIC_HAVE_LIBP11
	mod_unref(&kp->mod);
#endif
	free(kp);
}

struct evp_pkey_st *
mic_keyprov_pkey(mic_keyprov_t *kp)
{
	return kp != NULL ? kp->pkey : NULL;
}

mic_suite
mic_keyprov_suite(const mic_keyprov_t *kp)
{
	return kp != NULL ? kp->suite : 0;
}

int
mici_keyprov_on_token(const mic_keyprov_t *kp)
{
#ifdef MIC_HAVE_LIBP11
	return kp != NULL && kp->mod != NULL;
#else
	(void)kp;
	return 0;
#endif
}

mic_rc
mic_keyprov_spki(mic_keyprov_t *kp, uint8_t *out, size_t cap, size_t *len)
{
	unsigned char *der = NULL;
	int n;

	if (kp == NULL || len == NULL || (out == NULL && cap > 0))
		return MIC_ERR_INVALID_ARGUMENT;
	if ((n = i2d_PUBKEY(kp->pkey, &der)) <= 0) {
		mici_ossl_debug(__func__, "i2d_PUBKEY");
		return MIC_ERR_CRYPTO;
	}
	if ((size_t)n > cap) {
		OPENSSL_free(der);
		return MIC_ERR_BUFFER_TOO_SMALL;
	}
	memcpy(out, der, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(der);
	return MIC_OK;
}

mic_rc
mic_keyprov_sign_digest(mic_keyprov_t *kp, const uint8_t *digest, size_t dlen,
    uint8_t *sig, size_t *sig_len)
{
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t tmp[128];
	size_t n = sizeof(tmp);
	mic_rc rc;

	if (kp == NULL || digest == NULL || sig == NULL || sig_len == NULL)
		return MIC_ERR_INVALID_ARGUMENT;
	if (dlen != 32) {
		mici_debug("%s: a %zu-byte digest; both suites use 32",
		    __func__, dlen);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	/*
	 * EVP_PKEY_sign signs the digest as given: ECDSA over the hash, and
	 * for SM2 over e = SM3(Z || M) the caller computed. A pkcs11: key
	 * reaches C_Sign with CKM_ECDSA here.
	 */
	if ((ctx = EVP_PKEY_CTX_new(kp->pkey, NULL)) == NULL ||
	    EVP_PKEY_sign_init(ctx) <= 0 ||
	    EVP_PKEY_sign(ctx, tmp, &n, digest, dlen) <= 0) {
		mici_ossl_debug(__func__, "EVP_PKEY_sign");
		rc = MIC_ERR_CRYPTO;
		goto out;
	}
	if (n > *sig_len) {
		rc = MIC_ERR_BUFFER_TOO_SMALL;
		goto out;
	}
	memcpy(sig, tmp, n);
	*sig_len = n;
	rc = MIC_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	return rc;
}
