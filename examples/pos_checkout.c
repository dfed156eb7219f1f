/*
 * A checkout at a hospital's or pharmacy's counter: wait for the patient's
 * card (PC/SC plug-and-play notification: a reader plugged in during the
 * wait counts too), prove it genuine in chip and data, show the holder,
 * take the PIN, pay, verify the card-signed receipt and print it.
 *
 *   pos_checkout TERMDIR TERMID AMOUNT_FEN STATEFILE [READER]
 *
 * TERMDIR is the terminal's trust store and credentials ('mic pki
 * export-terminal'), TERMID its 8-character id. The PIN comes from MIC_PIN
 * or one line of standard input. The card may be pulled at any moment:
 * the program says so and waits for it again. Once the payment is fixed
 * it is kept in STATEFILE (written and fsync'd before the DEBIT is sent)
 * until the card has answered, so a checkout interrupted by a pulled card,
 * a crash or a power cut is resumed by running the program again: the
 * card gets the same DEBIT and returns the receipt of what it did, never a
 * second debit. A real terminal appends the receipt to its settlement file
 * (docs/settlement.md) before it drops STATEFILE.
 *
 *   cc pos_checkout.c $(pkg-config --cflags --libs libmic libcrypto) \
 *      -o pos_checkout
 *
 * Exit status: 0 paid, 1 refused or failed, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <mic/mic.h>

#define ATTEMPTS 5              /* cards presented before giving up */
#define WAIT_MS 60000           /* for a card to be presented */

enum outcome { PAID, REFUSED, AGAIN };

/* The card went away or stopped answering: nothing it says is known, so
 * the checkout starts over with the card presented again. */
static int
card_gone(mic_rc rc)
{
	return rc == MIC_ERR_CARD_REMOVED || rc == MIC_ERR_NO_CARD ||
	    rc == MIC_ERR_CARD_RESET || rc == MIC_ERR_TX ||
	    rc == MIC_ERR_PCSC || rc == MIC_ERR_TIMEOUT ||
	    rc == MIC_ERR_SM_CLOSED || rc == MIC_ERR_NO_READER;
}

/* Did the card decide the payment (a status word, a rule of the card)?
 * Then it is over, paid or not, and the state file goes. */
static int
card_decided(mic_rc rc)
{
	return mic_rc_is_sw(rc) || (rc <= MIC_ERR_INSUFFICIENT_BALANCE &&
	    rc >= MIC_ERR_REFERENCE_REUSED);
}

static int
state_load(const char *path, mic_payment *p)
{
	FILE *f = fopen(path, "rb");
	size_t n;
	int c;

	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	n = fread(p, 1, sizeof(*p), f);
	c = fgetc(f);
	fclose(f);
	/* Plain data of this very build; anything else is not ours. */
	if (n != sizeof(*p) || c != EOF || p->amount <= 0 ||
	    memchr(p->time, '\0', sizeof(p->time)) == NULL ||
	    memchr(p->terminal, '\0', sizeof(p->terminal)) == NULL ||
	    memchr(p->card_id, '\0', sizeof(p->card_id)) == NULL)
		return -1;
	return 1;
}

/* Written to a temporary file, synced and renamed: a crash leaves the old
 * state or the new one. */
static int
state_save(const char *path, const mic_payment *p)
{
	char tmp[4096];
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		return -1;
	if (write(fd, p, sizeof(*p)) != (ssize_t)sizeof(*p) ||
	    fsync(fd) != 0) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	return rename(tmp, path);
}

static void
print_receipt(const mic_receipt_t *r, const char *holder)
{
	const uint8_t *ref = mic_receipt_reference(r);
	int64_t a = mic_receipt_amount(r), b = mic_receipt_balance(r);

	printf("receipt: card %s, counter %u, holder %s\n",
	    mic_receipt_card_id(r), (unsigned)mic_receipt_counter(r),
	    holder != NULL ? holder : "?");
	printf("receipt: paid %lld.%02lld yuan at %s, terminal %s, balance "
	    "%lld.%02lld yuan\n", (long long)(a / 100), (long long)(a % 100),
	    mic_receipt_time(r), mic_receipt_terminal(r),
	    (long long)(b / 100), (long long)(b % 100));
	printf("receipt: reference ");
	for (size_t i = 0; i < MIC_RECEIPT_REF_LEN; i++)
		printf("%02X", ref[i]);
	printf("\n");
}

static enum outcome
fail(const char *what, mic_rc rc)
{
	if (card_gone(rc)) {
		printf("card removed or not answering (%s); present it again\n",
		    what);
		return AGAIN;
	}
	printf("REFUSED: %s: %s (%s)\n", what, mic_strerror(rc),
	    mic_strerror_name(rc));
	return REFUSED;
}

/* One card presented: everything from SELECT to the receipt. */
static enum outcome
checkout(const char *reader, const mic_terminal_t *term, const char *termid,
    int64_t amount, const char *state, const char *pin)
{
	uint8_t cert[MIC_CERT_MAX];
	mic_card_check check = MIC_CHECK_NONE;
	mic_card_t *card = NULL;
	mic_receipt_t *r = NULL;
	mic_tx_t *tx = NULL;
	mic_payment p;
	size_t cert_len = 0;
	enum outcome out = REFUSED;
	int have;
	mic_rc rc;

	if ((rc = mic_pcsc_open(&tx, reader)) != MIC_OK)
		return fail("connecting", rc);
	/* One transaction: no other application comes between the checks,
	 * the PIN and the DEBIT. */
	if ((rc = mic_tx_begin(tx)) != MIC_OK) {
		out = fail("starting a transaction", rc);
		goto out;
	}
	if ((rc = mic_card_open(&card, tx)) != MIC_OK) {
		out = fail("selecting the insurance application", rc);
		goto end;
	}
	if (mic_card_state(card) != MIC_STATE_ACTIVE) {
		printf("REFUSED: the card is not active\n");
		goto end;
	}
	/* Before anything is believed or the PIN is sent: the chip proves
	 * its key, and every file is checked against EF.SOD. */
	if ((rc = mic_card_verify_terminal(card, NULL, term, &check)) !=
	    MIC_OK) {
		out = fail(mic_card_check_name(check), rc);
		if (out == REFUSED)
			printf("the card is not genuine\n");
		goto end;
	}
	if ((rc = mic_card_read(card, MIC_READ_CARD | MIC_READ_HOLDER)) !=
	    MIC_OK) {
		out = fail("reading the card", rc);
		goto end;
	}
	printf("holder: %s\n", mic_holder_name(mic_card_holder(card)));
	if ((rc = mic_card_read_der(tx, MIC_SFI_CERT, cert, 1024,
	    &cert_len)) != MIC_OK) {
		out = fail("reading EF.CERT", rc);
		goto end;
	}
	if ((have = state_load(state, &p)) < 0) {
		printf("%s: not a payment of this program\n", state);
		goto end;
	}
	if (have)
		printf("resuming the interrupted payment of card %s\n",
		    p.card_id);
	else if ((rc = mic_payment_init(&p, card, amount, 0, termid, NULL,
	    NULL)) != MIC_OK) {
		out = fail("preparing the payment", rc);
		goto end;
	}
	if ((rc = mic_card_verify_pin(card, pin, NULL)) != MIC_OK) {
		out = fail("verifying the PIN", rc);
		goto end;
	}
	/* From here only the card may know the outcome: keep the payment
	 * first, so that it is resumed, never made anew. */
	if (!have && state_save(state, &p) != 0) {
		printf("%s: %s\n", state, strerror(errno));
		goto end;
	}
	if ((rc = mic_card_pay(card, &p, &r)) != MIC_OK) {
		if (rc == MIC_ERR_CARD_CHANGED) {
			printf("the interrupted payment is card %s's; present "
			    "that card\n", p.card_id);
			out = AGAIN;
			goto end;
		}
		out = fail("paying", rc);
		if (card_decided(rc))
			unlink(state);
		goto end;
	}
	if ((rc = mic_receipt_verify(r, mic_terminal_trust(term), cert,
	    cert_len)) != MIC_OK) {
		/* Kept: the card did debit; its receipt goes to the back
		 * office, not to the bin. */
		printf("FAILED: the receipt does not verify: %s (%s)\n",
		    mic_strerror(rc), mic_strerror_name(rc));
		goto end;
	}
	print_receipt(r, mic_holder_name(mic_card_holder(card)));
	unlink(state);
	printf("PAID\n");
	out = PAID;
end:
	mic_scp_close(tx);
	mic_tx_end(tx);
out:
	mic_receipt_free(&r);
	mic_card_free(&card);
	mic_tx_free(&tx);
	return out;
}

static int
get_pin(char *pin, size_t cap)
{
	const char *env = getenv("MIC_PIN");
	size_t n;

	if (env != NULL) {
		if (strlen(env) >= cap)
			return -1;
		strcpy(pin, env);
		return 0;
	}
	if (fgets(pin, (int)cap, stdin) == NULL)
		return -1;
	n = strcspn(pin, "\r\n");
	pin[n] = '\0';
	return n > 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	mic_terminal_t *term = NULL;
	char pin[32] = "", name[256];
	enum outcome out = REFUSED;
	long long amount;
	char *end;
	mic_rc rc;

	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: pos_checkout TERMDIR TERMID AMOUNT_FEN "
		    "STATEFILE [READER]\n");
		return 2;
	}
	errno = 0;
	amount = strtoll(argv[3], &end, 10);
	if (errno != 0 || *end != '\0' || amount <= 0) {
		fprintf(stderr, "pos_checkout: AMOUNT_FEN: a number of fen\n");
		return 2;
	}
	if ((rc = mic_terminal_load(&term, argv[1], NULL, NULL)) != MIC_OK) {
		fprintf(stderr, "pos_checkout: %s: %s (%s)\n", argv[1],
		    mic_strerror(rc), mic_strerror_name(rc));
		return 1;
	}
	if (get_pin(pin, sizeof(pin)) != 0) {
		fprintf(stderr, "pos_checkout: no PIN (MIC_PIN or stdin)\n");
		goto done;
	}
	for (int i = 0; i < ATTEMPTS; i++) {
		printf("waiting for a card\n");
		fflush(stdout);
		if ((rc = mic_pcsc_wait_card(argc == 6 ? argv[5] : NULL,
		    WAIT_MS, name, sizeof(name))) != MIC_OK) {
			printf("no card: %s (%s)\n", mic_strerror(rc),
			    mic_strerror_name(rc));
			break;
		}
		out = checkout(name, term, argv[2], amount, argv[4], pin);
		fflush(stdout);
		if (out != AGAIN)
			break;
		/* The card may still be in the reader (it stopped
		 * answering): wait for it to leave before the next one. */
		mic_pcsc_wait_removal(name, WAIT_MS);
	}
done:
	OPENSSL_cleanse(pin, sizeof(pin));
	mic_terminal_free(&term);
	return out == PAID ? 0 : 1;
}
