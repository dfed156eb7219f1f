/*
 * The pending payment file of mic pay and mic credit, read back on
 * --resume. It is the tool's own file (0600), but it is read from disk
 * and what it holds is sent to a card, so every field is checked.
 */
#include <string.h>

#include <jansson.h>

#include "internal.h"
#include "pending.h"

static int
hex16(const char *s, uint8_t out[MIC_RECEIPT_REF_LEN])
{
	size_t n = 0;

	if (strlen(s) != 2 * MIC_RECEIPT_REF_LEN ||
	    mici_hex_decode(s, out, MIC_RECEIPT_REF_LEN, &n) != MIC_OK ||
	    n != MIC_RECEIPT_REF_LEN)
		return -1;
	return 0;
}

static int
printable(const char *s, size_t want)
{
	if (strlen(s) != want)
		return 0;
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7E)
			return 0;
	return 1;
}

int
pending_parse(const char *text, size_t len, mic_payment *p, int *credit)
{
	const char *type, *card, *when, *term, *ref;
	json_int_t amount;
	json_error_t err;
	uint8_t data[MIC_PAYMENT_DATA_LEN];
	json_t *o;
	int payer, ret = -1;

	memset(p, 0, sizeof(*p));
	*credit = 0;
	if ((o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err)) == NULL)
		return -1;
	if (json_unpack(o, "{s:s, s:s, s:I, s:s, s:s, s:s, s:i !}", "type",
	    &type, "card", &card, "amount", &amount, "time", &when,
	    "terminal", &term, "reference", &ref, "payer", &payer) != 0 ||
	    !printable(card, MIC_RECEIPT_CARD_ID_LEN) ||
	    !printable(term, MIC_RECEIPT_TERMINAL_LEN) ||
	    strlen(when) != 14 || payer < 0 || payer > 255 || amount <= 0 ||
	    hex16(ref, p->reference) != 0 ||
	    (strcmp(type, "debit") != 0 && strcmp(type, "credit") != 0))
		goto out;
	*credit = strcmp(type, "credit") == 0;
	p->amount = (int64_t)amount;
	p->payer = (uint8_t)payer;
	memcpy(p->card_id, card, MIC_RECEIPT_CARD_ID_LEN);
	memcpy(p->time, when, 14);
	memcpy(p->terminal, term, MIC_RECEIPT_TERMINAL_LEN);
	/* The time's digits and the rest, as the card would get them. */
	if (mic_payment_encode(p, data) != MIC_OK)
		goto out;
	ret = 0;
out:
	if (ret != 0)
		memset(p, 0, sizeof(*p));
	json_decref(o);
	return ret;
}
