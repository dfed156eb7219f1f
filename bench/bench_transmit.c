/*
 * libmic's transmit path against a raw SCardTransmit loop, through the same
 * pcscd + vpcd + mic-vcard, in the same run.
 *
 * The two loops alternate in short rounds so that machine noise hits both
 * alike; the result is the ratio of their median round times.
 *
 * usage: bench_transmit [ROUNDS [APDUS_PER_ROUND]]
 * PCSCLITE_CSOCK_NAME must point at the stack (scripts/bench sets it up).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mic/mic.h>

static const uint8_t select_aid[] = { 0x00, 0xA4, 0x04, 0x0C, 0x09, 0xD1, 0x56,
	0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01 };
/* READ BINARY 255 bytes of EF.SOD (SFI 4): a 257-byte response, as in the notes. */
static const uint8_t read_cmd[] = { 0x00, 0xB0, 0x84, 0x00, 0xFF };

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int
raw_round(SCARDHANDLE h, DWORD proto, int n, double *secs)
{
	const SCARD_IO_REQUEST *pci = proto == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 :
	    SCARD_PCI_T0;
	uint8_t rsp[MAX_BUFFER_SIZE_EXTENDED];
	double t0 = now_s();

	for (int i = 0; i < n; i++) {
		DWORD len = sizeof(rsp);
		LONG rv = SCardTransmit(h, pci, read_cmd, sizeof(read_cmd), NULL,
		    rsp, &len);
		if (rv != SCARD_S_SUCCESS || len != 257 || rsp[255] != 0x90) {
			fprintf(stderr, "raw: transmit failed: %s\n",
			    pcsc_stringify_error(rv));
			return -1;
		}
	}
	*secs = now_s() - t0;
	return 0;
}

static int
mic_round(mic_tx_t *tx, int n, int explicit_tx, double *secs)
{
	mic_apdu a;
	uint8_t rsp[512];
	size_t len;
	uint16_t sw;
	double t0;

	if (mic_apdu_decode(read_cmd, sizeof(read_cmd), &a) != MIC_OK)
		return -1;
	t0 = now_s();
	/* A library operation holds one transaction across its APDUs. */
	if (explicit_tx && mic_tx_begin(tx) != MIC_OK)
		return -1;
	for (int i = 0; i < n; i++) {
		mic_rc rc = mic_tx_transmit(tx, &a, rsp, sizeof(rsp), &len, &sw);
		if (rc != MIC_OK || len != 255 || sw != 0x9000) {
			fprintf(stderr, "libmic: transmit failed: %s\n",
			    mic_strerror(rc));
			return -1;
		}
	}
	if (explicit_tx && mic_tx_end(tx) != MIC_OK)
		return -1;
	*secs = now_s() - t0;
	return 0;
}

int
main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 15;
	int per = argc > 2 ? atoi(argv[2]) : 2000;
	SCARDCONTEXT ctx;
	SCARDHANDLE h;
	DWORD proto, len;
	mic_tx_t *tx = NULL;
	uint8_t rsp[258];
	double *raw, *lib, *imp;
	double r, l, m;
	mic_rc rc;

	if (rounds < 1 || rounds > 1000 || per < 1 || per > 1000000) {
		fprintf(stderr, "usage: bench_transmit [ROUNDS [APDUS_PER_ROUND]]\n");
		return 2;
	}
	raw = calloc((size_t)rounds, sizeof(*raw));
	lib = calloc((size_t)rounds, sizeof(*lib));
	imp = calloc((size_t)rounds, sizeof(*imp));
	if (raw == NULL || lib == NULL || imp == NULL)
		return 1;
	/* Two independent handles on the same card, as two applications. */
	if ((rc = mic_pcsc_open(&tx, NULL)) != MIC_OK) {
		fprintf(stderr, "bench: %s\n", mic_strerror(rc));
		return 1;
	}
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) !=
	    SCARD_S_SUCCESS) {
		fprintf(stderr, "bench: no PC/SC context\n");
		return 1;
	}
	{
		mic_reader_info *ri = NULL;
		size_t n = 0;
		if (mic_reader_list(&ri, &n) != MIC_OK || n == 0 ||
		    SCardConnect(ctx, ri[0].name, SCARD_SHARE_SHARED,
		    SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h, &proto) !=
		    SCARD_S_SUCCESS) {
			fprintf(stderr, "bench: cannot connect raw handle\n");
			return 1;
		}
		mic_reader_list_free(&ri);
	}
	len = sizeof(rsp);
	if (SCardTransmit(h, proto == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 :
	    SCARD_PCI_T0, select_aid, sizeof(select_aid), NULL, rsp, &len) !=
	    SCARD_S_SUCCESS || len < 2 || rsp[len - 2] != 0x90) {
		fprintf(stderr, "bench: SELECT failed\n");
		return 1;
	}
	/* Warm up both paths. */
	if (raw_round(h, proto, 200, &r) != 0 || mic_round(tx, 200, 1, &l) != 0)
		return 1;
	for (int i = 0; i < rounds; i++) {
		if (raw_round(h, proto, per, &raw[i]) != 0 ||
		    mic_round(tx, per, 1, &lib[i]) != 0 ||
		    mic_round(tx, per, 0, &imp[i]) != 0)
			return 1;
	}
	r = median(raw, rounds);
	l = median(lib, rounds);
	m = median(imp, rounds);
	printf("rounds=%d apdus_per_round=%d\n", rounds, per);
	printf("raw_apdu_per_s=%.0f\n", per / r);
	printf("libmic_apdu_per_s=%.0f\n", per / l);
	printf("libmic_implicit_tx_apdu_per_s=%.0f\n", per / m);
	printf("ratio_libmic_over_raw=%.3f\n", l / r);
	printf("ratio_implicit_over_raw=%.3f\n", m / r);
	mic_tx_free(&tx);
	SCardDisconnect(h, SCARD_LEAVE_CARD);
	SCardReleaseContext(ctx);
	free(raw);
	free(lib);
	free(imp);
	return 0;
}
