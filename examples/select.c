/*
 * The smallest useful libmic program: find a card, select the insurance
 * application, and read EF.CARD by its short file identifier.
 *
 *   cc select.c $(pkg-config --cflags --libs libmic) -o select
 */
#include <stdio.h>

#include <mic/mic.h>

int
main(void)
{
	static const uint8_t aid[] = { 0xD1, 0x56, 0x00, 0x00, 0x01, 0x4D, 0x49,
		0x43, 0x01 };
	mic_apdu select = { .cla = 0x00, .ins = 0xA4, .p1 = 0x04, .p2 = 0x0C,
		.data = aid, .nc = sizeof(aid) };
	mic_apdu read = { .cla = 0x00, .ins = 0xB0, .p1 = 0x81, .ne = 256 };
	uint8_t rsp[256];
	mic_tx_t *tx = NULL;
	size_t n = 0;
	mic_rc rc;

	/* NULL: the first reader that holds a card. */
	if ((rc = mic_pcsc_open(&tx, NULL)) != MIC_OK) {
		fprintf(stderr, "open: %s\n", mic_strerror(rc));
		return 1;
	}
	/* Both commands in one PC/SC transaction: nobody can come between. */
	if ((rc = mic_tx_begin(tx)) != MIC_OK)
		goto out;
	if ((rc = mic_tx_command(tx, &select, rsp, sizeof(rsp), &n)) == MIC_OK)
		rc = mic_tx_command(tx, &read, rsp, sizeof(rsp), &n);
	mic_tx_end(tx);
	if (rc == MIC_OK) {
		printf("EF.CARD:");
		for (size_t i = 0; i < n; i++)
			printf(" %02X", rsp[i]);
		printf("\n");
	}
out:
	if (rc != MIC_OK)
		fprintf(stderr, "%s (%s)\n", mic_strerror(rc), mic_strerror_name(rc));
	mic_tx_free(&tx);
	return rc == MIC_OK ? 0 : 1;
}
