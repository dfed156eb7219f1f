/*
 * Integration tests through the real PC/SC stack: libpcsclite -> pcscd ->
 * the vpcd driver -> mic-vcard, the path a real reader takes.
 *
 * Each scenario runs in its own process (argv[1] names it) with its own
 * private pcscd from scripts/reader-stack, because pcsc-lite reads
 * PCSCLITE_CSOCK_NAME once per process and some scenarios stop pcscd or pull
 * the card. Scenarios get distinct ports, so meson may run them in parallel.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <mic/mic.h>

static const uint8_t aid[] = { 0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43,
	0x01 };

struct stack {
	char dir[512];
	int port;
	int up;
};

/* One scenario per process, so this is the process's only stack. */
static struct stack g_stack;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
	return rc;
}

static const char *
env_or_fail(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0') {
		fprintf(stderr, "%s is not set; run through meson test\n", name);
		exit(1);
	}
	return v;
}

static int
stack_start(const char *name, int port, const char *extra)
{
	struct stack *s = &g_stack;
	char sock[600];

	snprintf(s->dir, sizeof(s->dir), "%s/stack-%s",
	    env_or_fail("MIC_TEST_TMP"), name);
	s->port = port;
	if (sh("%s start --dir %s --port %d --build %s %s >%s.log 2>&1 || "
	    "{ cat %s.log; exit 1; }", env_or_fail("MIC_READER_STACK"), s->dir,
	    port, env_or_fail("MIC_BUILD_DIR"), extra, s->dir, s->dir) != 0)
		return -1;
	s->up = 1;
	/* Before the first PC/SC call of this process. */
	snprintf(sock, sizeof(sock), "%s/pcscd.comm", s->dir);
	setenv("PCSCLITE_CSOCK_NAME", sock, 1);
	return 0;
}

static void
stack_stop(void)
{
	if (g_stack.up) {
		sh("%s stop --dir %s >/dev/null 2>&1", getenv("MIC_READER_STACK"),
		    g_stack.dir);
		g_stack.up = 0;
	}
}

static int
stack_card(const char *verb, int i)
{
	return sh("%s %s %d --dir %s >/dev/null 2>&1",
	    getenv("MIC_READER_STACK"), verb, i, g_stack.dir);
}

static mic_tx_t *
open_card(const char *reader)
{
	mic_tx_t *tx = NULL;

	assert_int_equal(mic_pcsc_open(&tx, reader), MIC_OK);
	assert_non_null(tx);
	return tx;
}

static void
select_app(mic_tx_t *tx)
{
	mic_apdu a = { .cla = 0x00, .ins = 0xA4, .p1 = 0x04, .p2 = 0x0C,
		.data = aid, .nc = sizeof(aid) };
	uint8_t rsp[256];
	size_t n = 0;

	assert_int_equal(mic_tx_command(tx, &a, rsp, sizeof(rsp), &n), MIC_OK);
}

/* READ BINARY by short file identifier. */
static mic_rc
read_sfi(mic_tx_t *tx, uint8_t sfi, uint16_t off, size_t ne, uint8_t *rsp,
    size_t cap, size_t *n)
{
	mic_apdu a = { .cla = 0x00, .ins = 0xB0, .ne = ne };

	if (off == 0) {
		a.p1 = (uint8_t)(0x80 | sfi);
	} else {
		a.p1 = (uint8_t)(off >> 8);
		a.p2 = (uint8_t)off;
	}
	return mic_tx_command(tx, &a, rsp, cap, n);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/* Wait, bounded, until reader 0 shows (or stops showing) a card. */
static void
wait_card_state(int present)
{
	for (int i = 0; i < 100; i++) {
		mic_reader_info *r = NULL;
		size_t n = 0;
		int now = 0;

		if (mic_reader_list(&r, &n) == MIC_OK && n > 0)
			now = r[0].card_present;
		mic_reader_list_free(&r);
		if (now == present)
			return;
		sleep_ms(50);
	}
	fail_msg("reader 0 never became %s", present ? "present" : "empty");
}

static int
teardown(void **state)
{
	(void)state;
	stack_stop();
	return 0;
}

/* --- scenarios ---------------------------------------------------------- */

static void
list_readers(void **state)
{
	mic_reader_info *r = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(stack_start("list", 36100, "--readers 2 --cards 1"), 0);
	assert_int_equal(mic_reader_list(&r, &n), MIC_OK);
	assert_int_equal(n, 2);
	assert_non_null(strstr(r[0].name, "Virtual PCD"));
	assert_true(r[0].card_present);
	assert_true(r[0].atr_len >= 2);
	assert_int_equal(r[0].atr[0], 0x3B);
	assert_false(r[1].card_present);
	assert_int_equal(r[1].atr_len, 0);
	mic_reader_list_free(&r);
	assert_null(r);
}

static void
transmit(void **state)
{
	uint8_t rsp[MIC_APDU_RSP_MAX], first[256];
	uint64_t before;
	mic_tx_caps caps;
	mic_tx_stats st;
	mic_tx_t *tx;
	size_t n = 0;
	uint8_t atr[MIC_ATR_MAX];
	size_t atr_len = sizeof(atr);

	(void)state;
	assert_int_equal(stack_start("transmit", 36110, "--readers 2 --cards 1"), 0);
	tx = open_card(NULL);
	assert_int_equal(mic_tx_atr(tx, atr, &atr_len), MIC_OK);
	mic_tx_get_caps(tx, &caps);
	/* The reference card says so in its ATR's card capabilities. */
	assert_true(caps.card_extended);
	select_app(tx);
	assert_int_equal(read_sfi(tx, 1, 0, 256, rsp, sizeof(rsp), &n), MIC_OK);
	assert_true(n > 2);
	/* On a short-only path, Le=00 reads at most 256 bytes (ISO 7816-4
	 * 11.3.3); the card does not volunteer more. EF.SOD (SFI 4) is the
	 * profile's largest file. */
	mic_tx_get_caps(tx, &caps);
	caps.reader_extended = 0;
	mic_tx_set_caps(tx, &caps);
	assert_int_equal(read_sfi(tx, 4, 0, 1024, rsp, sizeof(rsp), &n), MIC_OK);
	assert_int_equal(n, 256);
	memcpy(first, rsp, 256);
	/* vpcd passes extended APDUs but does not say so; a caller that knows
	 * its reader says it for it, and one READ BINARY brings 1 KiB. */
	caps.reader_extended = 1;
	mic_tx_set_caps(tx, &caps);
	mic_tx_get_stats(tx, &st);
	before = st.apdus;
	assert_int_equal(read_sfi(tx, 4, 0, 1024, rsp, sizeof(rsp), &n), MIC_OK);
	assert_int_equal(n, 1024);
	assert_memory_equal(rsp, first, 256);
	mic_tx_get_stats(tx, &st);
	assert_int_equal(st.apdus - before, 1);
	/* File not found is the card's status word, not a library error. */
	assert_int_equal(read_sfi(tx, 29, 0, 256, rsp, sizeof(rsp), &n),
	    MIC_SW_FILE_NOT_FOUND);
	mic_tx_get_stats(tx, &st);
	assert_true(st.apdus >= 4);
	mic_tx_free(&tx);
	assert_null(tx);
}

/* A DGI for STORE DATA: a DER SEQUENCE of @p len bytes as EF.SOD's body. */
static size_t
sod_dgi(uint8_t *d, size_t len)
{
	size_t inner = len - 8;

	d[0] = 0x01;
	d[1] = 0x04;
	d[2] = 0xFF;            /* a 2-byte DGI length follows */
	d[3] = (uint8_t)(len >> 8);
	d[4] = (uint8_t)len;
	d[5] = 0x30;
	d[6] = 0x82;
	d[7] = (uint8_t)((len - 4) >> 8);
	d[8] = (uint8_t)(len - 4);
	d[9] = 0x04;
	d[10] = 0x82;
	d[11] = (uint8_t)(inner >> 8);
	d[12] = (uint8_t)inner;
	for (size_t i = 0; i < inner; i++)
		d[13 + i] = (uint8_t)(i * 7 + 3);
	return 5 + len;
}

/* SCP11a as the bureau of the PKI in @p pki, the card's key from BF21. */
static void
open_bureau(mic_tx_t *tx, const char *pki)
{
	static uint8_t rsp[4096];
	uint8_t der[MIC_CERT_MAX];
	const mic_scp_keyref oce = { 0x01, 0x10 };
	mic_apdu bf21 = { .cla = 0x80, .ins = 0xCA, .p1 = 0xBF, .p2 = 0x21,
		.ne = 256 };
	const unsigned char *q;
	STACK_OF(X509) *chain = sk_X509_new_null();
	mic_keyprov_t *kp = NULL;
	EVP_PKEY *pk;
	X509 *x;
	char path[700];
	size_t n = 0;
	mic_tlv t;
	FILE *f;

	assert_non_null(chain);
	assert_int_equal(mic_tx_command(tx, &bf21, rsp, sizeof(rsp), &n),
	    MIC_OK);
	assert_int_equal(mic_tlv_parse(rsp, n, &t), MIC_OK);
	q = t.value;
	assert_non_null(x = d2i_X509(NULL, &q, (long)t.len));
	assert_non_null(pk = X509_get_pubkey(x));
	X509_free(x);
	snprintf(path, sizeof(path), "%s/trust/intermediates/issuer.pem", pki);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(x = PEM_read_X509(f, NULL, NULL, NULL));
	fclose(f);
	assert_true(sk_X509_push(chain, x) > 0);
	assert_int_equal(mic_pki_load(pki, MIC_CERT_TERMINAL, "bureau", NULL,
	    NULL, NULL, &kp, der, sizeof(der), &n), MIC_OK);
	q = der;
	assert_non_null(x = d2i_X509(NULL, &q, (long)n));
	assert_true(sk_X509_push(chain, x) > 0);
	assert_int_equal(mic_scp11a_open(tx, 0x01, pk, &oce,
	    mic_keyprov_pkey(kp), chain), MIC_OK);
	sk_X509_pop_free(chain, X509_free);
	mic_keyprov_free(&kp);
	EVP_PKEY_free(pk);
}

static void
chaining(void **state)
{
	static uint8_t data[5000];
	mic_apdu store = { .cla = 0x80, .ins = 0xE2, .p1 = 0x00, .p2 = 0x00,
		.data = data };
	mic_tx_caps caps;
	mic_tx_stats before, after;
	mic_tx_t *tx;
	char pki[600], extra[700];
	uint16_t sw = 0;
	size_t n = 0;

	(void)state;
	/* A blank card with the chip factory's keys, and the bureau's SCP11a
	 * channel, as the issuance line opens it. */
	snprintf(pki, sizeof(pki), "%s/pki-chain", env_or_fail("MIC_TEST_TMP"));
	assert_int_equal(sh("rm -rf %s && %s/tools/mic pki init --dir %s "
	    ">/dev/null", pki, env_or_fail("MIC_BUILD_DIR"), pki), 0);
	snprintf(extra, sizeof(extra), "--readers 2 --cards 1 --card-kind "
	    "blank --pki %s", pki);
	assert_int_equal(stack_start("chain", 36120, extra), 0);
	tx = open_card(NULL);
	/* Force the short-only path so 605 bytes must travel as a chain. */
	mic_tx_get_caps(tx, &caps);
	caps.reader_extended = 0;
	mic_tx_set_caps(tx, &caps);
	select_app(tx);
	/* Certificates longer than 255 bytes go chained as well. */
	open_bureau(tx, pki);
	store.nc = sod_dgi(data, 600);
	mic_tx_get_stats(tx, &before);
	assert_int_equal(mic_tx_transmit(tx, &store, NULL, 0, &n, &sw), MIC_OK);
	assert_int_equal(sw, 0x9000);
	mic_tx_get_stats(tx, &after);
	/* 605 bytes padded to 608, and the C-MAC: 255 + 255 + 106. */
	assert_int_equal(after.apdus - before.apdus, 3);
	/* More than the card's 4096-byte chain buffer: refused mid-chain,
	 * and the channel with it (the card never checked the command). */
	store.p2 = 0x01;
	store.nc = sod_dgi(data, 4400);
	assert_int_equal(mic_tx_transmit(tx, &store, NULL, 0, &n, &sw), MIC_OK);
	assert_int_equal(sw, 0x6A84);
	assert_int_equal(mic_tx_get_sm_state(tx), MIC_TX_SM_LOST);
	mic_tx_free(&tx);
}

static void
t0_quirks(void **state)
{
	mic_tx_stats before, after;
	uint8_t rsp[2048];
	mic_tx_t *tx;
	size_t n = 0;

	(void)state;
	assert_int_equal(stack_start("quirks", 36130,
	    "--readers 2 --cards 1 --t0-quirks"), 0);
	tx = open_card(NULL);
	select_app(tx);
	/* The card answers 61xx and wants GET RESPONSE. */
	mic_tx_get_stats(tx, &before);
	assert_int_equal(read_sfi(tx, 4, 0, 256, rsp, sizeof(rsp), &n), MIC_OK);
	assert_int_equal(n, 256);
	mic_tx_get_stats(tx, &after);
	assert_true(after.apdus - before.apdus >= 2);
	/* Le beyond the 128-byte EF.CARD gets 6C80 and one resend with it. */
	mic_tx_get_stats(tx, &before);
	assert_int_equal(read_sfi(tx, 1, 0, 256, rsp, sizeof(rsp), &n), MIC_OK);
	assert_int_equal(n, 128);
	mic_tx_get_stats(tx, &after);
	assert_true(after.apdus - before.apdus >= 2);
	mic_tx_free(&tx);
}

static void
card_removed(void **state)
{
	uint8_t rsp[300];
	mic_tx_t *tx;
	size_t n = 0;

	(void)state;
	assert_int_equal(stack_start("removed", 36140, "--readers 2 --cards 1"), 0);
	tx = open_card(NULL);
	select_app(tx);
	assert_int_equal(stack_card("eject", 0), 0);
	wait_card_state(0);
	assert_int_equal(read_sfi(tx, 1, 0, 256, rsp, sizeof(rsp), &n),
	    MIC_ERR_CARD_REMOVED);
	mic_tx_free(&tx);
	/* An empty reader says so, distinctly, and waiting for it times out. */
	assert_int_equal(mic_pcsc_open(&tx, NULL), MIC_ERR_NO_CARD);
	assert_int_equal(mic_pcsc_wait_card(NULL, 300, NULL, 0), MIC_ERR_TIMEOUT);
	/* The card comes back and works again. */
	assert_int_equal(stack_card("insert", 0), 0);
	assert_int_equal(mic_pcsc_wait_card(NULL, 10000, NULL, 0), MIC_OK);
	tx = open_card(NULL);
	select_app(tx);
	assert_int_equal(read_sfi(tx, 1, 0, 256, rsp, sizeof(rsp), &n), MIC_OK);
	mic_tx_free(&tx);
}

struct hook_state {
	int calls;
	uint8_t serial[256];
	size_t serial_len;
	mic_rc verdict;
};

/* The check a real application makes: same serial as before the reset. */
static mic_rc
same_card(mic_tx_t *tx, void *arg)
{
	struct hook_state *h = arg;
	uint8_t rsp[256];
	size_t n = 0;

	h->calls++;
	if (read_sfi(tx, 1, 0, 256, rsp, sizeof(rsp), &n) != MIC_OK)
		return MIC_ERR_CARD_CHANGED;
	if (n != h->serial_len || memcmp(rsp, h->serial, n) != 0)
		return MIC_ERR_CARD_CHANGED;
	return h->verdict;
}

static void
reset_recovery(void **state)
{
	struct hook_state h = { .verdict = MIC_OK };
	uint8_t rsp[300];
	mic_tx_stats st;
	mic_tx_t *tx, *other;
	size_t n = 0;

	(void)state;
	assert_int_equal(stack_start("reset", 36150, "--readers 2 --cards 1"), 0);
	tx = open_card(NULL);
	select_app(tx);
	assert_int_equal(read_sfi(tx, 1, 0, 256, h.serial, sizeof(h.serial),
	    &h.serial_len), MIC_OK);
	mic_tx_set_reset_hook(tx, same_card, &h);

	/* Another application resets the card under us. */
	other = open_card(NULL);
	assert_int_equal(mic_tx_reset(other), MIC_OK);
	mic_tx_free(&other);

	/* Our next command still works: reconnect, re-select, identity check. */
	assert_int_equal(read_sfi(tx, 1, 0, 256, rsp, sizeof(rsp), &n), MIC_OK);
	assert_int_equal(n, h.serial_len);
	assert_memory_equal(rsp, h.serial, n);
	assert_int_equal(h.calls, 1);
	mic_tx_get_stats(tx, &st);
	assert_int_equal(st.recoveries, 1);

	/* A hook that does not recognise the card stops the command. */
	h.verdict = MIC_ERR_CARD_CHANGED;
	other = open_card(NULL);
	assert_int_equal(mic_tx_reset(other), MIC_OK);
	mic_tx_free(&other);
	assert_int_equal(read_sfi(tx, 1, 0, 256, rsp, sizeof(rsp), &n),
	    MIC_ERR_CARD_CHANGED);
	mic_tx_free(&tx);
}

static void
no_service(void **state)
{
	mic_reader_info *r = NULL;
	uint8_t rsp[300];
	mic_tx_t *tx;
	size_t n = 0;
	mic_rc rc;

	(void)state;
	assert_int_equal(stack_start("noservice", 36160, "--readers 2 --cards 1"), 0);
	tx = open_card(NULL);
	select_app(tx);
	stack_stop();
	rc = read_sfi(tx, 1, 0, 256, rsp, sizeof(rsp), &n);
	assert_int_equal(rc, MIC_ERR_NO_SERVICE);
	mic_tx_free(&tx);
	assert_int_equal(mic_reader_list(&r, &n), MIC_ERR_NO_SERVICE);
	assert_null(r);
	assert_int_equal(mic_pcsc_open(&tx, NULL), MIC_ERR_NO_SERVICE);
	assert_null(tx);
	assert_string_equal(mic_strerror_name(MIC_ERR_NO_SERVICE),
	    "MIC_ERR_NO_SERVICE");
}

static void
sharing_and_names(void **state)
{
	SCARDCONTEXT ctx;
	SCARDHANDLE h;
	DWORD proto;
	mic_reader_info *r = NULL;
	mic_tx_t *tx = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(stack_start("sharing", 36170, "--readers 2 --cards 1"), 0);
	assert_int_equal(mic_pcsc_open(&tx, "No Such Reader 00 00"),
	    MIC_ERR_NO_READER);
	assert_int_equal(mic_reader_list(&r, &n), MIC_OK);
	/* The second reader is empty. */
	assert_int_equal(mic_pcsc_open(&tx, r[1].name), MIC_ERR_NO_CARD);

	assert_int_equal(SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL,
	    &ctx), SCARD_S_SUCCESS);
	assert_int_equal(SCardConnect(ctx, r[0].name, SCARD_SHARE_EXCLUSIVE,
	    SCARD_PROTOCOL_T1 | SCARD_PROTOCOL_T0, &h, &proto), SCARD_S_SUCCESS);
	assert_int_equal(mic_pcsc_open(&tx, r[0].name), MIC_ERR_SHARING_VIOLATION);
	assert_null(tx);
	SCardDisconnect(h, SCARD_LEAVE_CARD);
	SCardReleaseContext(ctx);
	mic_reader_list_free(&r);
}

static void
external_handle(void **state)
{
	SCARDCONTEXT ctx;
	SCARDHANDLE h;
	DWORD proto, st, alen = 33, nlen = 0;
	uint8_t atr[33], rsp[300];
	mic_reader_info *r = NULL;
	mic_tx_t *tx = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(stack_start("external", 36180, "--readers 2 --cards 1"), 0);
	assert_int_equal(mic_reader_list(&r, &n), MIC_OK);
	assert_int_equal(SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL,
	    &ctx), SCARD_S_SUCCESS);
	assert_int_equal(SCardConnect(ctx, r[0].name, SCARD_SHARE_SHARED,
	    SCARD_PROTOCOL_T1 | SCARD_PROTOCOL_T0, &h, &proto), SCARD_S_SUCCESS);
	assert_int_equal(mic_pcsc_open_external(&tx, ctx, h), MIC_OK);
	select_app(tx);
	assert_int_equal(read_sfi(tx, 1, 0, 256, rsp, sizeof(rsp), &n), MIC_OK);
	mic_tx_free(&tx);
	/* libmic only borrowed them: the host's handle still works. */
	assert_int_equal(SCardStatus(h, NULL, &nlen, &st, &proto, atr, &alen),
	    SCARD_S_SUCCESS);
	assert_int_equal(SCardDisconnect(h, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
	assert_int_equal(SCardReleaseContext(ctx), SCARD_S_SUCCESS);
	mic_reader_list_free(&r);
}

/*
 * vpcd has no PIN pad: SCardControl's feature request through pcscd says
 * so, mic_card_verify_pin_pad() sends nothing, and the connection carries
 * on as before.
 */
static void
no_pinpad(void **state)
{
	uint8_t rsp[256];
	mic_card_t *card = NULL;
	mic_tx_stats st;
	mic_tx_t *tx;
	uint64_t before;
	size_t n = 0;
	int tries = 7;

	(void)state;
	assert_int_equal(stack_start("pinpad", 36190, "--readers 1 --cards 1"), 0);
	tx = open_card(NULL);
	assert_int_equal(mic_card_open(&card, tx), MIC_OK);
	assert_false(mic_tx_has_pinpad(tx));
	mic_tx_get_stats(tx, &st);
	before = st.apdus;
	assert_int_equal(mic_card_verify_pin_pad(card, &tries),
	    MIC_ERR_UNSUPPORTED);
	assert_int_equal(tries, -1);
	mic_tx_get_stats(tx, &st);
	assert_int_equal(st.apdus, before);
	assert_int_equal(read_sfi(tx, 1, 0, 256, rsp, sizeof(rsp), &n), MIC_OK);
	assert_true(n > 2);
	mic_card_free(&card);
	mic_tx_free(&tx);
}

static const struct {
	const char *name;
	void (*fn)(void **);
} scenarios[] = {
	{ "list", list_readers },
	{ "transmit", transmit },
	{ "chaining", chaining },
	{ "quirks", t0_quirks },
	{ "removed", card_removed },
	{ "reset", reset_recovery },
	{ "noservice", no_service },
	{ "sharing", sharing_and_names },
	{ "external", external_handle },
	{ "pinpad", no_pinpad },
};

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s SCENARIO\n", argv[0]);
		return 2;
	}
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (strcmp(argv[1], scenarios[i].name) == 0) {
			const struct CMUnitTest t[] = {
				{ scenarios[i].name, scenarios[i].fn, NULL,
				    teardown, NULL },
			};
			return _cmocka_run_group_tests(scenarios[i].name, t, 1,
			    NULL, NULL);
		}
	}
	fprintf(stderr, "unknown scenario %s\n", argv[1]);
	return 2;
}
