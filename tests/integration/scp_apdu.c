/*
 * scp_apdu: send APDUs to a MIC card inside a real SCP11a channel, as a
 * terminal of a test PKI does, for the shell tests that used to make the
 * card pretend a channel was open.
 *
 *   scp_apdu pcsc READER PKI TERMINAL [--plain HEX]... [-f FILE] [HEX]...
 *       through pcscd, the card in READER;
 *   scp_apdu vpcd PORT COUNT PIDFILE PKI TERMINAL [--plain HEX]... -f FILE
 *       as a stand-in for vpcd: listens on 127.0.0.1:PORT and, for each of
 *       COUNT cards that connect (a 'mic-vcard hopper'), powers it on, runs
 *       the session, powers it off and waits for the card to leave. Prints
 *       the resident set size of the process in PIDFILE after the first
 *       third of the cards and after the last (rss_kb_first=, rss_kb_last=).
 *
 * A session: SELECT of the application in plain, the --plain APDUs in plain
 * (the card's answer is printed, whatever it is), GET DATA BF21 with the
 * card certificate verified against PKI/trust, SCP11a as PKI's terminal
 * TERMINAL (bank, agency, bureau, hospital-pos, pharmacy-pos; or the word
 * scp11b: an anonymous SCP11b channel instead), then every
 * APDU of FILE (one hex APDU a line, '#' comments) and of the arguments,
 * protected. Prints "handshake: N APDUs" once the channel is open (N counts
 * every APDU sent so far), then "> command" and "< data SW" per APDU.
 *
 * Exit status: 0 every protected APDU answered 9000, 1 otherwise or a
 * failure, 2 usage.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <mic/apdu.h>
#include <mic/keyprov.h>
#include <mic/pcsc.h>
#include <mic/pki.h>
#include <mic/scp.h>
#include <mic/tlv.h>
#include <mic/tx.h>

#define KVN 0x01
#define APDUS_MAX 64
#define LINE_MAX_LEN 16384

static const mic_scp_keyref oce = { 0x01, 0x10 };
static const uint8_t aid[] = { 0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49,
	0x43, 0x01 };

struct apdus {
	uint8_t *buf[APDUS_MAX];
	size_t len[APDUS_MAX];
	size_t n;
};

struct job {
	const char *pki;
	const char *terminal;
	struct apdus plain;
	struct apdus prot;
};

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex digits, spaces between bytes; 0 or -1. */
static int
add_hex(struct apdus *l, const char *s)
{
	uint8_t *b;
	size_t n = 0;
	int hi = -1, v;

	if (l->n >= APDUS_MAX || (b = malloc(strlen(s) / 2 + 1)) == NULL)
		return -1;
	for (; *s != '\0' && *s != '\n' && *s != '#'; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\r')
			continue;
		if ((v = hexval((unsigned char)*s)) < 0) {
			free(b);
			return -1;
		}
		if (hi < 0)
			hi = v;
		else {
			b[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0 || n < 4) {
		free(b);
		return n == 0 && hi < 0 ? 0 : -1;
	}
	l->buf[l->n] = b;
	l->len[l->n++] = n;
	return 0;
}

static int
add_file(struct apdus *l, const char *path)
{
	static char line[LINE_MAX_LEN];
	FILE *f = fopen(path, "r");
	int rc = 0;

	if (f == NULL) {
		fprintf(stderr, "scp_apdu: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL)
		rc = add_hex(l, line);
	fclose(f);
	return rc;
}

static void
free_apdus(struct apdus *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->buf[i]);
	l->n = 0;
}

static void
print_hex(const char *prefix, const uint8_t *p, size_t n)
{
	printf("%s", prefix);
	for (size_t i = 0; i < n; i++)
		printf(" %02X", p[i]);
}

/* One APDU as encoded in @p b; prints it and the answer. */
static int
send_one(mic_tx_t *tx, const uint8_t *b, size_t n, uint16_t *sw)
{
	static uint8_t rsp[MIC_APDU_NE_MAX_EXT];
	mic_apdu a;
	size_t len = 0;
	mic_rc rc;

	*sw = 0;
	print_hex(">", b, n);
	printf("\n");
	if ((rc = mic_apdu_decode(b, n, &a)) != MIC_OK ||
	    (rc = mic_tx_transmit(tx, &a, rsp, sizeof(rsp), &len, sw)) !=
	    MIC_OK) {
		printf("< (%s)\n", mic_strerror(rc));
		fflush(stdout);
		return -1;
	}
	print_hex("<", rsp, len);
	printf(" %04X\n", *sw);
	fflush(stdout);
	return 0;
}

static X509 *
pem_cert(const char *dir, const char *rel)
{
	char path[4096];
	FILE *f;
	X509 *x;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

static mic_rc
open_a(mic_tx_t *tx, EVP_PKEY *pk_sd, const char *pki, const char *name)
{
	uint8_t der[MIC_CERT_MAX];
	const unsigned char *q = der;
	mic_keyprov_t *kp = NULL;
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509 *issuer = pem_cert(pki, "trust/intermediates/issuer.pem");
	X509 *leaf = NULL;
	size_t len = 0;
	mic_rc rc;

	if ((rc = mic_pki_load(pki, MIC_CERT_TERMINAL, name, NULL, NULL, NULL,
	    &kp, der, sizeof(der), &len)) != MIC_OK)
		goto out;
	rc = MIC_ERR_INVALID_ARGUMENT;
	if (chain == NULL || issuer == NULL ||
	    (leaf = d2i_X509(NULL, &q, (long)len)) == NULL ||
	    !sk_X509_push(chain, issuer))
		goto out;
	issuer = NULL;
	if (!sk_X509_push(chain, leaf))
		goto out;
	leaf = NULL;
	rc = mic_scp11a_open(tx, KVN, pk_sd, &oce, mic_keyprov_pkey(kp), chain);
out:
	sk_X509_pop_free(chain, X509_free);
	X509_free(issuer);
	X509_free(leaf);
	mic_keyprov_free(&kp);
	return rc;
}

/* The card's PK.SD.ECKA from BF21, verified against PKI/trust. */
static EVP_PKEY *
card_key(mic_tx_t *tx, const char *pki)
{
	static uint8_t rsp[4096];
	mic_apdu a = { 0x80, 0xCA, 0xBF, 0x21, NULL, 0, 256, 0 };
	mic_trust_t *trust = NULL;
	char path[4096];
	const unsigned char *q;
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	size_t len = 0;
	uint16_t sw = 0;
	mic_tlv t;
	mic_rc rc;

	snprintf(path, sizeof(path), "%s/trust", pki);
	if ((rc = mic_trust_load(&trust, path)) != MIC_OK ||
	    (rc = mic_tx_transmit(tx, &a, rsp, sizeof(rsp), &len, &sw)) !=
	    MIC_OK || sw != 0x9000 ||
	    (rc = mic_tlv_parse(rsp, len, &t)) != MIC_OK || t.tag != 0xBF21 ||
	    (rc = mic_cert_verify(trust, t.value, t.len, MIC_CERT_CARD)) !=
	    MIC_OK) {
		fprintf(stderr, "scp_apdu: the card's key: SW %04X, %s\n", sw,
		    mic_strerror(rc));
		goto out;
	}
	q = t.value;
	if ((x = d2i_X509(NULL, &q, (long)t.len)) != NULL)
		pk = X509_get_pubkey(x);
out:
	X509_free(x);
	mic_trust_free(&trust);
	return pk;
}

/* One card: 0 every protected APDU answered 9000, else 1. */
static int
session(mic_tx_t *tx, const struct job *j)
{
	mic_apdu sel = { 0x00, 0xA4, 0x04, 0x0C, aid, sizeof(aid), 0, 0 };
	mic_tx_stats st;
	EVP_PKEY *pk = NULL;
	uint8_t rsp[64];
	size_t len = 0, i;
	uint16_t sw = 0;
	mic_rc rc;
	int bad = 0;

	if ((rc = mic_tx_transmit(tx, &sel, rsp, sizeof(rsp), &len, &sw)) !=
	    MIC_OK || (sw != 0x9000 && sw != 0x6283)) {
		fprintf(stderr, "scp_apdu: SELECT: SW %04X, %s\n", sw,
		    mic_strerror(rc));
		return 1;
	}
	for (i = 0; i < j->plain.n; i++)
		if (send_one(tx, j->plain.buf[i], j->plain.len[i], &sw) != 0)
			return 1;
	if ((pk = card_key(tx, j->pki)) == NULL)
		return 1;
	if (strcmp(j->terminal, "scp11b") == 0)
		rc = mic_scp11b_open(tx, KVN, pk);
	else
		rc = open_a(tx, pk, j->pki, j->terminal);
	EVP_PKEY_free(pk);
	if (rc != MIC_OK) {
		fprintf(stderr, "scp_apdu: SCP11 as %s: %s\n", j->terminal,
		    mic_strerror(rc));
		return 1;
	}
	mic_tx_get_stats(tx, &st);
	printf("handshake: %llu APDUs\n", (unsigned long long)st.apdus);
	fflush(stdout);
	for (i = 0; i < j->prot.n; i++) {
		if (send_one(tx, j->prot.buf[i], j->prot.len[i], &sw) != 0)
			return 1;
		if (sw != 0x9000)
			bad = 1;
	}
	mic_scp_close(tx);
	return bad;
}

/* --- a stand-in for vpcd ------------------------------------------------- */

static int
recvn(int fd, uint8_t *p, size_t n)
{
	ssize_t k;

	while (n > 0) {
		if ((k = recv(fd, p, n, 0)) <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int
send_msg(int fd, const uint8_t *p, size_t n)
{
	uint8_t hdr[2] = { (uint8_t)(n >> 8), (uint8_t)n };

	if (send(fd, hdr, 2, MSG_NOSIGNAL) != 2 ||
	    (n > 0 && send(fd, p, n, MSG_NOSIGNAL) != (ssize_t)n))
		return -1;
	return 0;
}

/* A framed message into @p p (@p *n: its room, then its length). */
static int
recv_msg(int fd, uint8_t *p, size_t *n)
{
	uint8_t hdr[2];
	size_t len;

	if (recvn(fd, hdr, 2) != 0)
		return -1;
	len = (size_t)hdr[0] << 8 | hdr[1];
	if (len > *n || recvn(fd, p, len) != 0)
		return -1;
	*n = len;
	return 0;
}

static mic_rc
vpcd_transmit(void *io, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
    size_t *rsp_len)
{
	int fd = *(int *)io;

	if (send_msg(fd, cmd, cmd_len) != 0 || recv_msg(fd, rsp, rsp_len) != 0)
		return MIC_ERR_TX;
	return MIC_OK;
}

static void
vpcd_close(void *io)
{
	(void)io;
}

static const mic_tx_ops vpcd_ops = {
	.transmit = vpcd_transmit,
	.close = vpcd_close,
};

static long
rss_kb(const char *pidfile)
{
	char path[64], line[256];
	long pid = 0, kb = -1;
	FILE *f;

	if ((f = fopen(pidfile, "r")) == NULL)
		return -1;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if (pid <= 0 || (f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static int
vpcd_card(int fd, const struct job *j)
{
	static const uint8_t power_on = 0x01, get_atr = 0x04;
	uint8_t atr[64];
	size_t n = sizeof(atr);
	mic_tx_t *tx = NULL;
	int rc;

	if (send_msg(fd, &power_on, 1) != 0 || send_msg(fd, &get_atr, 1) != 0 ||
	    recv_msg(fd, atr, &n) != 0 || n < 2) {
		fprintf(stderr, "scp_apdu: no ATR\n");
		return 1;
	}
	if (mic_tx_new(&tx, &vpcd_ops, &fd) != MIC_OK)
		return 1;
	rc = session(tx, j);
	mic_tx_free(&tx);
	return rc;
}

static int
vpcd_main(int port, unsigned long count, const char *pidfile,
    const struct job *j)
{
	static const uint8_t power_off = 0x00;
	struct sockaddr_in sa;
	struct timeval tv = { 30, 0 };
	char ready[4096];
	long first = -1, last = -1;
	uint8_t b;
	int srv, fd, one = 1, rc = 0;
	FILE *f;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((srv = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(srv, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    bind(srv, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(srv, 1) != 0) {
		perror("scp_apdu: listen");
		return 1;
	}
	snprintf(ready, sizeof(ready), "%s.ready", pidfile);
	if ((f = fopen(ready, "w")) != NULL)
		fclose(f);
	for (unsigned long i = 0; i < count && rc == 0; i++) {
		if ((fd = accept(srv, NULL, NULL)) < 0) {
			perror("scp_apdu: accept");
			rc = 1;
			break;
		}
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if ((rc = vpcd_card(fd, j)) != 0)
			fprintf(stderr, "scp_apdu: card %lu failed\n", i);
		if (i == count / 3)
			first = rss_kb(pidfile);
		if (i + 1 == count)
			last = rss_kb(pidfile);
		/* Powered off, a worked-on card leaves: the peer closes. */
		if (rc == 0 && (send_msg(fd, &power_off, 1) != 0 ||
		    recv(fd, &b, 1, 0) != 0)) {
			fprintf(stderr, "scp_apdu: card %lu did not leave\n", i);
			rc = 1;
		}
		close(fd);
	}
	close(srv);
	printf("rss_kb_first=%ld\nrss_kb_last=%ld\n", first, last);
	return rc;
}

/* --- main ---------------------------------------------------------------- */

static int
usage(void)
{
	fprintf(stderr,
	    "usage: scp_apdu pcsc READER PKI TERMINAL [--plain HEX]... "
	    "[-f FILE] [HEX]...\n"
	    "       scp_apdu vpcd PORT COUNT PIDFILE PKI TERMINAL "
	    "[--plain HEX]... -f FILE\n");
	return 2;
}

/* The arguments after the fixed ones. */
static int
parse_rest(struct job *j, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--plain") == 0 && i + 1 < argc) {
			if (add_hex(&j->plain, argv[++i]) != 0)
				return -1;
		} else if (strcmp(argv[i], "-f") == 0 && i + 1 < argc) {
			if (add_file(&j->prot, argv[++i]) != 0)
				return -1;
		} else if (add_hex(&j->prot, argv[i]) != 0)
			return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct job j;
	mic_tx_t *tx = NULL;
	mic_rc rc;
	int ret;

	memset(&j, 0, sizeof(j));
	if (argc >= 5 && strcmp(argv[1], "pcsc") == 0) {
		j.pki = argv[3];
		j.terminal = argv[4];
		if (parse_rest(&j, argc - 5, argv + 5) != 0)
			ret = usage();
		else if ((rc = mic_pcsc_open(&tx, argv[2])) != MIC_OK) {
			fprintf(stderr, "scp_apdu: %s: %s\n", argv[2],
			    mic_strerror(rc));
			ret = 1;
		} else
			ret = session(tx, &j);
		mic_tx_free(&tx);
	} else if (argc >= 7 && strcmp(argv[1], "vpcd") == 0) {
		j.pki = argv[5];
		j.terminal = argv[6];
		if (parse_rest(&j, argc - 7, argv + 7) != 0 ||
		    atoi(argv[2]) <= 0 || strtoul(argv[3], NULL, 10) == 0)
			ret = usage();
		else
			ret = vpcd_main(atoi(argv[2]),
			    strtoul(argv[3], NULL, 10), argv[4], &j);
	} else
		ret = usage();
	free_apdus(&j.plain);
	free_apdus(&j.prot);
	return ret;
}
