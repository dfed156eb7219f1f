/*
 * settle_append: what a terminal does with the answer to a DEBIT it sent
 * (through scp_apdu), for test_settle.sh: read the card identification
 * code (EF.CARD) and the card certificate (EF.CERT) through pcscd, build
 * the receipt from the command data and the card's answer, and append it
 * to the settlement file.
 *
 *   settle_append READER CMD_DATA_HEX RSP_DATA_HEX FILE
 *
 * CMD_DATA_HEX: the 40 bytes of DEBIT data; RSP_DATA_HEX: the card's
 * answer without its status word. Exit status 0 appended, 1 failure.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mic/mic.h>

static int
unhex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = 0;

	while (*s != '\0') {
		unsigned v;

		if (*s == ' ') {
			s++;
			continue;
		}
		if (n == cap || sscanf(s, "%2x", &v) != 1 || s[1] == '\0')
			return -1;
		out[n++] = (uint8_t)v;
		s += 2;
	}
	*len = n;
	return 0;
}

int
main(int argc, char **argv)
{
	uint8_t cmd[64], rsp[256], cert[MIC_CERT_MAX];
	size_t cmd_len, rsp_len, cert_len;
	mic_receipt_t *r = NULL;
	mic_card_t *card = NULL;
	mic_tx_t *tx = NULL;
	char why[256] = "";
	int ret = 1;
	mic_rc rc;

	if (argc != 5 || unhex(argv[2], cmd, sizeof(cmd), &cmd_len) < 0 ||
	    cmd_len != MIC_RECEIPT_CMD_LEN ||
	    unhex(argv[3], rsp, sizeof(rsp), &rsp_len) < 0) {
		fprintf(stderr, "usage: settle_append READER CMD_HEX RSP_HEX "
		    "FILE\n");
		return 2;
	}
	if ((rc = mic_pcsc_open(&tx, argv[1])) != MIC_OK ||
	    (rc = mic_card_open(&card, tx)) != MIC_OK ||
	    (rc = mic_card_read(card, MIC_READ_CARD)) != MIC_OK ||
	    (rc = mic_card_read_der(tx, 5, cert, 1024, &cert_len)) != MIC_OK ||
	    (rc = mic_receipt_from_card(&r,
	    mic_cardinfo_id(mic_card_info(card)), MIC_RECEIPT_DEBIT, cmd, rsp,
	    rsp_len)) != MIC_OK ||
	    (rc = mic_settle_append(argv[4], r, cert, cert_len, why,
	    sizeof(why))) != MIC_OK) {
		fprintf(stderr, "settle_append: %s %s\n", mic_strerror(rc),
		    why);
		goto fail;
	}
	printf("appended card %s counter %u\n", mic_receipt_card_id(r),
	    (unsigned)mic_receipt_counter(r));
	ret = 0;
fail:
	mic_receipt_free(&r);
	mic_card_free(&card);
	mic_tx_free(&tx);
	return ret;
}
