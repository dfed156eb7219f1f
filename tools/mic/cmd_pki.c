/*
 * mic pki: the MIC PKI from the command line. One sub-verb per thing, so
 * that each command does one obvious thing; docs/pki.md is the manual.
 *
 * Token PINs come from the key URI's pin-source, MIC_PKCS11_PIN, or a
 * prompt on the terminal (without echo), never from an argument.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "internal.h"
#include "mic-tool.h"

#define FILE_MAX (64 * 1024)

enum {
	OPT_DIR = 256, OPT_SUITE, OPT_NAME, OPT_ROLE, OPT_KEY, OPT_CSR,
	OPT_DAYS, OPT_FORCE, OPT_PUBKEY, OPT_PUBKEY_FILE, OPT_CIC, OPT_OUT,
	OPT_TRUST, OPT_CERT, OPT_KIND, OPT_CHIP, OPT_FILE, OPT_SOD, OPT_HELP,
};

static const struct option opts[] = {
	{ "dir", required_argument, NULL, OPT_DIR },
	{ "suite", required_argument, NULL, OPT_SUITE },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "role", required_argument, NULL, OPT_ROLE },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "csr", required_argument, NULL, OPT_CSR },
	{ "days", required_argument, NULL, OPT_DAYS },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "pubkey", required_argument, NULL, OPT_PUBKEY },
	{ "pubkey-file", required_argument, NULL, OPT_PUBKEY_FILE },
	{ "cic", required_argument, NULL, OPT_CIC },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "trust", required_argument, NULL, OPT_TRUST },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "kind", required_argument, NULL, OPT_KIND },
	{ "chip", required_argument, NULL, OPT_CHIP },
	{ "file", required_argument, NULL, OPT_FILE },
	{ "sod", required_argument, NULL, OPT_SOD },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

struct args {
	const char *verb;
	const char *dir, *name, *key, *csr, *pubkey, *pubkey_file, *cic;
	const char *out, *trust, *cert, *chip, *sod;
	mic_suite suite;
	mic_role role;
	int kind;
	unsigned days;
	int force;
	const char *files[30];
	size_t nfiles;
	unsigned seen;   /* OPT_* - OPT_DIR bits given */
};

struct subverb {
	const char *name;
	int (*fn)(struct args *);
	unsigned allowed;   /* bits of options it takes */
	unsigned required;
	const char *usage;
	const char *help;
};

#define B(o) (1u << ((o) - OPT_DIR))

static int
fail(const struct args *a, const char *what, mic_rc rc)
{
	char verb[64];

	snprintf(verb, sizeof(verb), "pki %s", a->verb);
	return tool_fail(verb, what, rc);
}

/* The prompt: /dev/tty without echo; no terminal, no PIN. */
static int
prompt_pin(void *arg, const char *label, char *buf, size_t cap)
{
	struct termios old, noecho;
	FILE *tty;
	size_t n;
	int ok = -1;

	(void)arg;
	if ((tty = fopen("/dev/tty", "r+")) == NULL)
		return -1;
	if (tcgetattr(fileno(tty), &old) != 0) {
		fclose(tty);
		return -1;
	}
	noecho = old;
	noecho.c_lflag &= (tcflag_t)~(ECHO | ECHONL);
	fprintf(tty, "PIN for token '%s': ", label ? label : "?");
	fflush(tty);
	if (tcsetattr(fileno(tty), TCSAFLUSH, &noecho) == 0) {
		if (fgets(buf, (int)cap, tty) != NULL) {
			n = strlen(buf);
			if (n > 0 && buf[n - 1] == '\n')
				buf[--n] = '\0';
			ok = n > 0 ? 0 : -1;
		}
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
	}
	fputc('\n', tty);
	fclose(tty);
	if (ok != 0)
		mici_wipe(buf, cap);
	return ok;
}

static int
read_all(const char *path, uint8_t **data, size_t *len)
{
	FILE *f;
	uint8_t *buf;
	size_t n;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "mic pki: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if ((buf = malloc(FILE_MAX + 1)) == NULL) {
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, FILE_MAX + 1, f);
	fclose(f);
	if (n > FILE_MAX) {
		fprintf(stderr, "mic pki: %s: larger than %d bytes\n", path,
		    FILE_MAX);
		free(buf);
		return -1;
	}
	*data = buf;
	*len = n;
	return 0;
}

/* Write a new file; an existing one only with --force. */
static int
write_out(const struct args *a, const char *path, const void *data,
    size_t len)
{
	int fd, flags = O_WRONLY | O_CREAT | O_CLOEXEC;
	ssize_t w;

	flags |= a->force ? O_TRUNC : O_EXCL;
	if ((fd = open(path, flags, 0644)) < 0) {
		if (errno == EEXIST)
			fprintf(stderr, "mic pki %s: %s exists; refusing to "
			    "overwrite it (--force replaces it)\n", a->verb,
			    path);
		else
			fprintf(stderr, "mic pki %s: %s: %s\n", a->verb, path,
			    strerror(errno));
		return 1;
	}
	w = write(fd, data, len);
	if (w < 0 || (size_t)w != len || close(fd) != 0) {
		fprintf(stderr, "mic pki %s: writing %s failed\n", a->verb,
		    path);
		return 1;
	}
	return 0;
}

/* A certificate file, PEM or DER, as DER. */
static int
read_cert_der(const char *path, uint8_t *der, size_t cap, size_t *len)
{
	uint8_t *buf = NULL;
	unsigned char *d = NULL;
	size_t n = 0;
	BIO *bio = NULL;
	X509 *x = NULL;
	int dl, ret = -1;

	if (read_all(path, &buf, &n) != 0)
		return -1;
	if (n >= 10 && memcmp(buf, "-----BEGIN", 10) == 0) {
		if ((bio = BIO_new_mem_buf(buf, (int)n)) == NULL ||
		    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL ||
		    (dl = i2d_X509(x, &d)) <= 0 || (size_t)dl > cap)
			goto out;
		memcpy(der, d, (size_t)dl);
		*len = (size_t)dl;
	} else {
		if (n > cap)
			goto out;
		memcpy(der, buf, n);
		*len = n;
	}
	ret = 0;
out:
	if (ret != 0)
		fprintf(stderr, "mic pki: %s: not a certificate\n", path);
	OPENSSL_free(d);
	X509_free(x);
	BIO_free(bio);
	free(buf);
	return ret;
}

static mic_pki_opts
pki_opts(const struct args *a)
{
	mic_pki_opts o = { 0 };

	o.suite = a->suite;
	o.name = a->name;
	o.role = a->role;
	o.key_uri = a->key;
	o.csr_path = a->csr;
	o.days = a->days;
	o.force = a->force;
	o.pin_cb = prompt_pin;
	return o;
}

static const char *
kind_label(mic_cert_kind k)
{
	switch (k) {
	case MIC_CERT_ROOT: return "root";
	case MIC_CERT_ISSUER_CA: return "issuer";
	case MIC_CERT_DOCUMENT_SIGNER: return "ds";
	case MIC_CERT_CARD_ISSUER: return "card-issuer";
	case MIC_CERT_TERMINAL: return "terminal";
	case MIC_CERT_CARD: return "card";
	}
	return "?";
}

static int
do_init(struct args *a)
{
	mic_pki_opts o = pki_opts(a);
	mic_rc rc;

	if ((rc = mic_pki_init(a->dir, &o)) != MIC_OK)
		return fail(a, a->suite == MIC_SUITE_SM2 &&
		    rc == MIC_ERR_UNSUPPORTED ? "SM2/SM3 (this OpenSSL lacks "
		    "them)" : "creating the PKI", rc);
	printf("%s: root, issuer, ds, card-issuer, terminals/{hospital-pos,"
	    "pharmacy-pos,bank,agency,bureau} and pin-mailer, %s; trust store "
	    "in %s/trust\n",
	    a->dir, a->suite == MIC_SUITE_SM2 ? "SM2/SM3" : "P-256/SHA-256",
	    a->dir);
	return 0;
}

static int
do_pin_mailer(struct args *a)
{
	mic_rc rc;

	if ((rc = mic_pki_pin_mailer(a->dir, a->force)) != MIC_OK)
		return fail(a, "creating the PIN mailer's key pair", rc);
	printf("%s/pin-mailer: key.pem (0600) and cert.pem, P-256, for sealing "
	    "transport PINs\n", a->dir);
	return 0;
}

/*
 * After "not found": the first of @p rel (paths under DIR, NULL-ended;
 * "a|b" means either) that is missing, named, so the user knows which
 * file to make. 1 when one was named.
 */
static int
name_missing(const struct args *a, const char *what, const char *const *rel)
{
	char p[4096], alt[256];
	const char *bar;

	for (; *rel != NULL; rel++) {
		snprintf(alt, sizeof(alt), "%s", *rel);
		if ((bar = strchr(*rel, '|')) != NULL)
			alt[bar - *rel] = '\0';
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", a->dir, alt) <
		    sizeof(p) && access(p, F_OK) == 0)
			continue;
		if (bar != NULL && (size_t)snprintf(p, sizeof(p), "%s/%s",
		    a->dir, bar + 1) < sizeof(p) && access(p, F_OK) == 0)
			continue;
		if (bar != NULL)
			fprintf(stderr, "mic pki %s: %s: %s/%s (or %s) is "
			    "missing\n", a->verb, what, a->dir, alt, bar + 1);
		else
			fprintf(stderr, "mic pki %s: %s: %s/%s is missing\n",
			    a->verb, what, a->dir, alt);
		return 1;
	}
	return 0;
}

static int
create(struct args *a, mic_cert_kind kind)
{
	static const char *const need_root[] = { "root/cert.pem",
		"root/key.pem|root/key.uri", NULL };
	static const char *const need_issuer[] = { "issuer/cert.pem",
		"issuer/key.pem|issuer/key.uri", NULL };
	mic_pki_opts o = pki_opts(a);
	mic_rc rc;
	char what[64];

	snprintf(what, sizeof(what), "creating the %s%s", kind_label(kind),
	    a->suite == MIC_SUITE_SM2 ? " (SM2/SM3)" : "");
	if ((rc = mic_pki_create(a->dir, kind, &o)) != MIC_OK) {
		if (rc == MIC_ERR_NOT_FOUND && kind != MIC_CERT_ROOT &&
		    name_missing(a, what, kind == MIC_CERT_ISSUER_CA ?
		    need_root : need_issuer))
			return 1;
		return fail(a, what, rc);
	}
	if (kind == MIC_CERT_TERMINAL)
		printf("%s/terminals/%s/cert.pem (%s)\n", a->dir, a->name,
		    mic_role_name(a->role));
	else
		printf("%s/%s/cert.pem\n", a->dir, kind_label(kind));
	return 0;
}

static int
do_root(struct args *a)
{
	return create(a, MIC_CERT_ROOT);
}

static int
do_issuer(struct args *a)
{
	return create(a, MIC_CERT_ISSUER_CA);
}

static int
do_ds(struct args *a)
{
	return create(a, MIC_CERT_DOCUMENT_SIGNER);
}

static int
do_card_issuer(struct args *a)
{
	return create(a, MIC_CERT_CARD_ISSUER);
}

static int
do_terminal(struct args *a)
{
	return create(a, MIC_CERT_TERMINAL);
}

/* The GENERATE ASYMMETRIC KEY PAIR response, from hex or a binary file. */
static int
read_pubkey(const struct args *a, uint8_t *buf, size_t cap, size_t *len)
{
	uint8_t *data = NULL;
	size_t n = 0;

	if (a->pubkey != NULL) {
		if (mici_hex_decode(a->pubkey, buf, cap, len) != MIC_OK) {
			fprintf(stderr, "mic pki %s: --pubkey takes hex bytes "
			    "(7F49 41 86 41 04 ...)\n", a->verb);
			return -1;
		}
		return 0;
	}
	if (read_all(a->pubkey_file, &data, &n) != 0)
		return -1;
	if (n > cap) {
		free(data);
		return -1;
	}
	memcpy(buf, data, n);
	*len = n;
	free(data);
	return 0;
}

static int
do_issue_card(struct args *a)
{
	uint8_t gen[256], icert[MIC_CERT_MAX], cert[MIC_CERT_MAX];
	size_t glen = 0, ilen = 0, clen = 0;
	mic_keyprov_t *kp = NULL;
	int64_t na = 0;
	mic_rc rc;
	int ret;

	if ((a->pubkey == NULL) == (a->pubkey_file == NULL)) {
		fprintf(stderr, "mic pki issue-card: give --pubkey or "
		    "--pubkey-file\n");
		return EXIT_USAGE;
	}
	if (read_pubkey(a, gen, sizeof(gen), &glen) != 0)
		return EXIT_USAGE;
	if (a->days != 0)
		na = (int64_t)time(NULL) + (int64_t)a->days * 86400;
	if ((rc = mic_pki_load(a->dir, MIC_CERT_CARD_ISSUER, NULL, NULL,
	    prompt_pin, NULL, &kp, icert, sizeof(icert), &ilen)) != MIC_OK)
		return fail(a, "opening the card issuer", rc);
	rc = mic_cardcert_issue(kp, icert, ilen, gen, glen, a->cic, 0, na,
	    cert, sizeof(cert), &clen);
	mic_keyprov_free(&kp);
	if (rc != MIC_OK)
		return fail(a, "issuing the card certificate", rc);
	if ((ret = write_out(a, a->out, cert, clen)) == 0)
		printf("%s: card certificate, %zu bytes DER (EF.CERT)\n",
		    a->out, clen);
	return ret;
}

static int
do_csr(struct args *a)
{
	mic_keyprov_t *kp = NULL;
	mic_rc rc;

	if ((rc = mic_keyprov_open_ex(&kp, a->key, NULL, prompt_pin,
	    NULL)) != MIC_OK)
		return fail(a, "opening the key", rc);
	rc = mic_pki_csr(kp, a->name, a->out, a->force);
	mic_keyprov_free(&kp);
	if (rc != MIC_OK)
		return fail(a, "writing the request", rc);
	printf("%s\n", a->out);
	return 0;
}

static int
do_export(struct args *a)
{
	mic_rc rc;

	if ((rc = mic_pki_export_terminal(a->dir, a->name, a->out,
	    a->force)) != MIC_OK) {
		const char *need[] = { "trust/roots/root.pem", NULL, NULL };
		char term[128];

		snprintf(term, sizeof(term), "terminals/%s/cert.pem", a->name);
		need[1] = term;
		if (rc == MIC_ERR_NOT_FOUND && name_missing(a,
		    "exporting the trust store", need))
			return 1;
		return fail(a, "exporting the trust store", rc);
	}
	printf("%s: roots/, intermediates/, terminal/\n", a->out);
	return 0;
}

static int
do_verify(struct args *a)
{
	uint8_t cert[MIC_CERT_MAX], gen[256];
	size_t clen = 0, glen = 0;
	mic_trust_t *t = NULL;
	mic_role role;
	mic_rc rc;

	if (read_cert_der(a->cert, cert, sizeof(cert), &clen) != 0)
		return 1;
	if ((a->pubkey != NULL || a->pubkey_file != NULL) &&
	    read_pubkey(a, gen, sizeof(gen), &glen) != 0)
		return EXIT_USAGE;
	if ((t = tool_trust_load("pki", a->trust)) == NULL)
		return 1;
	if (a->kind == MIC_CERT_CARD)
		rc = mic_cardcert_verify(t, cert, clen, a->cic);
	else
		rc = mic_cert_verify(t, cert, clen, (mic_cert_kind)a->kind);
	mic_trust_free(&t);
	if (rc != MIC_OK)
		return fail(a, a->cert, rc);
	if (glen > 0 && (rc = mic_cardcert_check_key(cert, clen, gen,
	    glen)) != MIC_OK)
		return fail(a, "the card's key", rc);
	printf("%s: valid %s certificate", a->cert,
	    kind_label((mic_cert_kind)a->kind));
	if (a->kind == MIC_CERT_TERMINAL &&
	    mic_cert_role(cert, clen, &role) == MIC_OK)
		printf(", role %s", mic_role_name(role));
	printf("\n");
	return 0;
}

/* --file SFI=PATH arguments, read into @p f. */
static int
read_files(const struct args *a, mic_sod_file *f, uint8_t **bufs)
{
	size_t i;
	char *end;
	long sfi;

	for (i = 0; i < a->nfiles; i++) {
		sfi = strtol(a->files[i], &end, 10);
		if (end == a->files[i] || *end != '=' || sfi < 1 || sfi > 30) {
			fprintf(stderr, "mic pki %s: --file takes SFI=PATH, SFI "
			    "1-30\n", a->verb);
			return -1;
		}
		if (read_all(end + 1, &bufs[i], &f[i].len) != 0)
			return -1;
		f[i].sfi = (uint8_t)sfi;
		f[i].data = bufs[i];
	}
	return 0;
}

static int
read_chip(const struct args *a, uint8_t chip[MIC_CHIP_SERIAL_LEN])
{
	size_t n = 0;

	if (mici_hex_decode(a->chip, chip, MIC_CHIP_SERIAL_LEN, &n) !=
	    MIC_OK || n != MIC_CHIP_SERIAL_LEN) {
		fprintf(stderr, "mic pki %s: --chip takes the 8-byte chip "
		    "serial in hex\n", a->verb);
		return -1;
	}
	return 0;
}

/* SFIs 1, 2, 3 and 5 each exactly once (profile 2.4). */
static int
has_required(const mic_sod_file *f, size_t n)
{
	static const uint8_t req[] = { 1, 2, 3, 5 };
	unsigned seen[31] = { 0 };
	size_t i;

	for (i = 0; i < n; i++) {
		if (seen[f[i].sfi]++)
			return 0;
	}
	for (i = 0; i < sizeof(req); i++) {
		if (!seen[req[i]])
			return 0;
	}
	return 1;
}

static int
do_sign_sod(struct args *a)
{
	uint8_t chip[MIC_CHIP_SERIAL_LEN], cert[MIC_CERT_MAX], sod[MIC_SOD_MAX];
	uint8_t *bufs[30] = { NULL };
	mic_sod_file files[30];
	size_t clen = 0, slen = 0, i;
	mic_keyprov_t *kp = NULL;
	mic_rc rc;
	int ret = 1;

	if (read_chip(a, chip) != 0 || read_files(a, files, bufs) != 0) {
		ret = EXIT_USAGE;
		goto out;
	}
	if (!has_required(files, a->nfiles)) {
		fprintf(stderr, "mic pki sign-sod: the security object covers "
		    "SFIs 1, 2, 3 and 5, once each: give each with --file\n");
		ret = EXIT_USAGE;
		goto out;
	}
	if ((rc = mic_pki_load(a->dir, MIC_CERT_DOCUMENT_SIGNER, NULL, NULL,
	    prompt_pin, NULL, &kp, cert, sizeof(cert), &clen)) != MIC_OK) {
		ret = fail(a, "opening the document signer", rc);
		goto out;
	}
	if ((rc = mic_sod_build(kp, cert, clen, files, a->nfiles, chip, sod,
	    sizeof(sod), &slen)) != MIC_OK) {
		ret = fail(a, "signing", rc);
		goto out;
	}
	if ((ret = write_out(a, a->out, sod, slen)) == 0)
		printf("%s: security object, %zu bytes (EF.SOD)\n", a->out,
		    slen);
out:
	mic_keyprov_free(&kp);
	for (i = 0; i < a->nfiles; i++)
		free(bufs[i]);
	return ret;
}

static int
do_verify_sod(struct args *a)
{
	uint8_t chip[MIC_CHIP_SERIAL_LEN];
	uint8_t *bufs[30] = { NULL }, *sod = NULL;
	mic_sod_file files[30];
	mic_trust_t *t = NULL;
	size_t slen = 0, i;
	mic_rc rc;
	int ret = 1;

	if (read_chip(a, chip) != 0 || read_files(a, files, bufs) != 0) {
		ret = EXIT_USAGE;
		goto out;
	}
	if (read_all(a->sod, &sod, &slen) != 0)
		goto out;
	if ((t = tool_trust_load("pki", a->trust)) == NULL)
		goto out;
	if ((rc = mic_sod_verify(t, sod, slen, files, a->nfiles, chip)) !=
	    MIC_OK) {
		ret = fail(a, a->sod, rc);
		goto out;
	}
	printf("%s: genuine: signature, document signer chain and %zu file "
	    "hash%s verified\n", a->sod, a->nfiles, a->nfiles == 1 ? "" : "es");
	ret = 0;
out:
	mic_trust_free(&t);
	free(sod);
	for (i = 0; i < a->nfiles; i++)
		free(bufs[i]);
	return ret;
}

#define COMMON (B(OPT_DIR) | B(OPT_NAME) | B(OPT_KEY) | B(OPT_CSR) | \
	B(OPT_DAYS) | B(OPT_FORCE))

static const struct subverb subverbs[] = {
	{ "init", do_init, B(OPT_DIR) | B(OPT_SUITE) | B(OPT_FORCE),
	    B(OPT_DIR), "--dir DIR [--suite p256|sm2] [--force]",
	    "create a complete test PKI: root, issuer CA, document signer, "
	    "card issuer, a terminal per role, the PIN mailer's key pair" },
	{ "pin-mailer", do_pin_mailer, B(OPT_DIR) | B(OPT_FORCE), B(OPT_DIR),
	    "--dir DIR [--force]",
	    "create the PIN mailer's key pair (transport PINs are sealed to "
	    "it in the journal)" },
	{ "root", do_root, (COMMON & ~B(OPT_CSR)) | B(OPT_SUITE), B(OPT_DIR),
	    "--dir DIR [--suite p256|sm2] [--name CN] [--key URI] [--days N] "
	    "[--force]", "create the root CA (self-signed)" },
	{ "issue-ca", do_issuer, COMMON, B(OPT_DIR),
	    "--dir DIR [--name CN] [--key URI | --csr FILE] [--days N] "
	    "[--force]", "issue the issuer CA, signed by the root" },
	{ "issue-ds", do_ds, COMMON, B(OPT_DIR),
	    "--dir DIR [--name CN] [--key URI | --csr FILE] [--days N] "
	    "[--force]", "issue the document signer, signed by the issuer CA" },
	{ "issue-card-issuer", do_card_issuer, COMMON, B(OPT_DIR),
	    "--dir DIR [--name CN] [--key URI | --csr FILE] [--days N] "
	    "[--force]",
	    "issue the card-certificate issuer, signed by the issuer CA" },
	{ "issue-terminal", do_terminal, COMMON | B(OPT_ROLE),
	    B(OPT_DIR) | B(OPT_ROLE) | B(OPT_NAME),
	    "--dir DIR --role ROLE --name NAME [--key URI | --csr FILE] "
	    "[--days N] [--force]",
	    "issue a terminal certificate (roles: hospital-pos, pharmacy-pos, "
	    "bank, agency, bureau)" },
	{ "issue-card", do_issue_card, B(OPT_DIR) | B(OPT_PUBKEY) |
	    B(OPT_PUBKEY_FILE) | B(OPT_CIC) | B(OPT_OUT) | B(OPT_DAYS) |
	    B(OPT_FORCE), B(OPT_DIR) | B(OPT_CIC) | B(OPT_OUT),
	    "--dir DIR --pubkey HEX|--pubkey-file FILE --cic CODE --out FILE "
	    "[--days N] [--force]",
	    "issue a card certificate over GENERATE ASYMMETRIC KEY PAIR's "
	    "7F49 response" },
	{ "csr", do_csr, B(OPT_KEY) | B(OPT_NAME) | B(OPT_OUT) | B(OPT_FORCE),
	    B(OPT_KEY) | B(OPT_NAME) | B(OPT_OUT),
	    "--key URI --name CN --out FILE [--force]",
	    "write a PKCS#10 request for a key (e.g. in an HSM)" },
	{ "export-terminal", do_export, B(OPT_DIR) | B(OPT_NAME) | B(OPT_OUT) |
	    B(OPT_FORCE), B(OPT_DIR) | B(OPT_NAME) | B(OPT_OUT),
	    "--dir DIR --name NAME --out TRUSTDIR [--force]",
	    "write a terminal's trust store" },
	{ "verify", do_verify, B(OPT_TRUST) | B(OPT_CERT) | B(OPT_KIND) |
	    B(OPT_CIC) | B(OPT_PUBKEY) | B(OPT_PUBKEY_FILE),
	    B(OPT_TRUST) | B(OPT_CERT) | B(OPT_KIND),
	    "--trust TRUSTDIR --cert FILE --kind KIND [--cic CODE] "
	    "[--pubkey HEX|--pubkey-file FILE]",
	    "verify a certificate (kinds: root, issuer, ds, card-issuer, "
	    "terminal, card)" },
	{ "sign-sod", do_sign_sod, B(OPT_DIR) | B(OPT_CHIP) | B(OPT_FILE) |
	    B(OPT_OUT) | B(OPT_FORCE), B(OPT_DIR) | B(OPT_CHIP) | B(OPT_FILE) |
	    B(OPT_OUT), "--dir DIR --chip HEX --file SFI=PATH... --out FILE "
	    "[--force]", "sign a security object (EF.SOD) over card files" },
	{ "verify-sod", do_verify_sod, B(OPT_TRUST) | B(OPT_SOD) | B(OPT_CHIP) |
	    B(OPT_FILE), B(OPT_TRUST) | B(OPT_SOD) | B(OPT_CHIP),
	    "--trust TRUSTDIR --sod FILE --chip HEX [--file SFI=PATH...]",
	    "passive authentication of card files against EF.SOD" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: mic pki VERB [options]\n\n");
	for (i = 0; i < MIC_ARRAY_LEN(subverbs); i++)
		fprintf(f, "  %s %s\n      %s\n", subverbs[i].name,
		    subverbs[i].usage, subverbs[i].help);
	fprintf(f, "\nKey URIs: file:/path/key.pem, or pkcs11:token=LABEL;"
	    "object=LABEL[?module-path=/path/module.so&pin-source=/path/pin].\n"
	    "Token PINs: pin-source, MIC_PKCS11_PIN, or a prompt; never an "
	    "argument.\nNothing is overwritten without --force. See "
	    "docs/pki.md.\n");
}

static int
parse_kind(const char *s)
{
	static const struct { const char *n; mic_cert_kind k; } kinds[] = {
		{ "root", MIC_CERT_ROOT }, { "issuer", MIC_CERT_ISSUER_CA },
		{ "ds", MIC_CERT_DOCUMENT_SIGNER },
		{ "card-issuer", MIC_CERT_CARD_ISSUER },
		{ "terminal", MIC_CERT_TERMINAL }, { "card", MIC_CERT_CARD },
	};
	size_t i;

	for (i = 0; i < MIC_ARRAY_LEN(kinds); i++) {
		if (strcmp(s, kinds[i].n) == 0)
			return (int)kinds[i].k;
	}
	return -1;
}

static int
bad_opt(const char *why)
{
	fprintf(stderr, "mic pki: %s\n", why);
	return -1;
}

static int
parse_opt(struct args *a, int c, const char *v)
{
	char *end;
	unsigned long n;

	switch (c) {
	case OPT_DIR: a->dir = v; break;
	case OPT_NAME: a->name = v; break;
	case OPT_KEY: a->key = v; break;
	case OPT_CSR: a->csr = v; break;
	case OPT_PUBKEY: a->pubkey = v; break;
	case OPT_PUBKEY_FILE: a->pubkey_file = v; break;
	case OPT_CIC: a->cic = v; break;
	case OPT_OUT: a->out = v; break;
	case OPT_TRUST: a->trust = v; break;
	case OPT_CERT: a->cert = v; break;
	case OPT_CHIP: a->chip = v; break;
	case OPT_SOD: a->sod = v; break;
	case OPT_FORCE: a->force = 1; break;
	case OPT_SUITE:
		if (strcmp(v, "p256") == 0)
			a->suite = MIC_SUITE_P256;
		else if (strcmp(v, "sm2") == 0)
			a->suite = MIC_SUITE_SM2;
		else
			return bad_opt("--suite is p256 or sm2");
		break;
	case OPT_ROLE:
		if (mic_role_from_name(v, &a->role) != MIC_OK)
			return bad_opt("--role is one of hospital-pos, "
			    "pharmacy-pos, bank, agency, bureau");
		break;
	case OPT_KIND:
		if ((a->kind = parse_kind(v)) < 0)
			return bad_opt("--kind is one of root, issuer, ds, "
			    "card-issuer, terminal, card");
		break;
	case OPT_DAYS:
		n = strtoul(v, &end, 10);
		if (*end != '\0' || n < 1 || n > 36525)
			return bad_opt("--days takes 1-36525");
		a->days = (unsigned)n;
		break;
	case OPT_FILE:
		if (a->nfiles >= MIC_ARRAY_LEN(a->files))
			return bad_opt("at most 30 --file");
		a->files[a->nfiles++] = v;
		break;
	default:
		return -1;
	}
	return 0;
}

int
cmd_pki(int argc, char **argv)
{
	const struct subverb *sv = NULL;
	struct args a;
	size_t i;
	int c;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	for (i = 0; i < MIC_ARRAY_LEN(subverbs); i++) {
		if (strcmp(argv[1], subverbs[i].name) == 0)
			sv = &subverbs[i];
	}
	if (sv == NULL) {
		fprintf(stderr, "mic pki: unknown verb '%s'\n", argv[1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	memset(&a, 0, sizeof(a));
	a.verb = sv->name;
	a.kind = -1;
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
		if (c == OPT_HELP) {
			printf("usage: mic pki %s %s\n  %s\n", sv->name,
			    sv->usage, sv->help);
			return 0;
		}
		if (c == '?' || !(sv->allowed & B(c))) {
			for (i = 0; c != '?' && opts[i].name != NULL; i++) {
				if (opts[i].val == c)
					fprintf(stderr, "mic pki %s: --%s is not "
					    "an option of this verb\n", sv->name,
					    opts[i].name);
			}
			fprintf(stderr, "usage: mic pki %s %s\n", sv->name,
			    sv->usage);
			return EXIT_USAGE;
		}
		if (parse_opt(&a, c, optarg) != 0)
			return EXIT_USAGE;
		a.seen |= B(c);
	}
	if (optind != argc - 1 || (a.seen & sv->required) != sv->required) {
		fprintf(stderr, "usage: mic pki %s %s\n", sv->name, sv->usage);
		return EXIT_USAGE;
	}
	return sv->fn(&a);
}
