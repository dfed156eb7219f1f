/*
 * Two checkouts at once, one per reader, each in its own thread with its
 * own PC/SC context (mic_pcsc_open() makes one per transport) and its own
 * terminal credentials: both threads hold their reader's transaction and
 * SCP11a channel at the same time (a barrier keeps them there until both
 * have verified the PIN), then each pays and verifies its card's receipt.
 * Nothing in libmic may be shared between them; a mix-up shows as a
 * failed MAC, a receipt that does not verify, or the wrong balance.
 *
 *   pay_parallel TERMDIR AMOUNT_FEN PIN READER1 READER2
 *
 * Prints per reader "READER: CARD_ID paid AMOUNT balance B counter C";
 * exit status 0 when both paid and both receipts verified.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mic/mic.h>

struct checkout {
	const char *term_dir, *reader, *pin, *term_id;
	int64_t amount;
	pthread_barrier_t *met;
	/* Out. */
	mic_rc rc;
	const char *step;
	char card_id[MIC_RECEIPT_CARD_ID_LEN + 1];
	int64_t balance;
	uint32_t counter;
};

static void *
checkout(void *arg)
{
	struct checkout *c = arg;
	uint8_t cert[MIC_CERT_MAX];
	mic_terminal_t *term = NULL;
	mic_card_t *card = NULL;
	mic_receipt_t *r = NULL;
	mic_tx_t *tx = NULL;
	mic_card_check check = MIC_CHECK_NONE;
	mic_payment p;
	size_t cert_len = 0;
	int waited = 0;

	c->step = "loading the terminal";
	if ((c->rc = mic_terminal_load(&term, c->term_dir, NULL, NULL)) !=
	    MIC_OK)
		goto out;
	c->step = "connecting";
	if ((c->rc = mic_pcsc_open(&tx, c->reader)) != MIC_OK)
		goto out;
	c->step = "starting the transaction";
	if ((c->rc = mic_tx_begin(tx)) != MIC_OK)
		goto out;
	c->step = "selecting";
	if ((c->rc = mic_card_open(&card, tx)) != MIC_OK)
		goto end;
	c->step = "verifying the card";
	if ((c->rc = mic_card_verify_terminal(card, NULL, term, &check)) !=
	    MIC_OK)
		goto end;
	c->step = "reading EF.CERT";
	if ((c->rc = mic_card_read_der(tx, MIC_SFI_CERT, cert, 1024,
	    &cert_len)) != MIC_OK)
		goto end;
	c->step = "verifying the PIN";
	if ((c->rc = mic_card_verify_pin(card, c->pin, NULL)) != MIC_OK)
		goto end;
	/* Both channels open and both PINs verified before either pays. */
	pthread_barrier_wait(c->met);
	waited = 1;
	c->step = "preparing the payment";
	if ((c->rc = mic_payment_init(&p, card, c->amount, 0, c->term_id,
	    NULL, NULL)) != MIC_OK)
		goto end;
	c->step = "paying";
	if ((c->rc = mic_card_pay(card, &p, &r)) != MIC_OK)
		goto end;
	c->step = "verifying the receipt";
	if ((c->rc = mic_receipt_verify(r, mic_terminal_trust(term), cert,
	    cert_len)) != MIC_OK)
		goto end;
	snprintf(c->card_id, sizeof(c->card_id), "%s", p.card_id);
	c->balance = mic_receipt_balance(r);
	c->counter = mic_receipt_counter(r);
	c->step = NULL;
end:
	mic_scp_close(tx);
	mic_tx_end(tx);
out:
	/* The other thread must not wait forever for one that failed. */
	if (!waited)
		pthread_barrier_wait(c->met);
	mic_receipt_free(&r);
	mic_card_free(&card);
	mic_tx_free(&tx);
	mic_terminal_free(&term);
	return NULL;
}

int
main(int argc, char **argv)
{
	struct checkout c[2];
	pthread_barrier_t met;
	pthread_t t[2];
	int ret = 0;

	if (argc != 6) {
		fprintf(stderr, "usage: pay_parallel TERMDIR AMOUNT_FEN PIN "
		    "READER1 READER2\n");
		return 2;
	}
	if (pthread_barrier_init(&met, NULL, 2) != 0)
		return 1;
	for (int i = 0; i < 2; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].term_dir = argv[1];
		c[i].amount = strtoll(argv[2], NULL, 10);
		c[i].pin = argv[3];
		c[i].reader = argv[4 + i];
		c[i].term_id = i == 0 ? "POS00001" : "POS00002";
		c[i].met = &met;
		if (pthread_create(&t[i], NULL, checkout, &c[i]) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			return 1;
		}
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&met);
	for (int i = 0; i < 2; i++) {
		if (c[i].step != NULL) {
			fprintf(stderr, "%s: %s: %s (%s)\n", c[i].reader,
			    c[i].step, mic_strerror(c[i].rc),
			    mic_strerror_name(c[i].rc));
			ret = 1;
			continue;
		}
		printf("%s: %s paid %lld balance %lld counter %u\n",
		    c[i].reader, c[i].card_id, (long long)c[i].amount,
		    (long long)c[i].balance, (unsigned)c[i].counter);
	}
	return ret;
}
