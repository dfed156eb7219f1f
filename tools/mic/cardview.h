/*
 * What 'mic card read' shows of a card, fetched once and printed as text
 * or as JSON: every field of the public files, the activation record, and
 * with the PIN the account, the family members and the log. Separate from
 * cmd_card.c so that a unit test drives it against an in-process card.
 */
#ifndef MIC_CARDVIEW_H
#define MIC_CARDVIEW_H

#include <stdio.h>

#include <jansson.h>

#include <mic/mic.h>

typedef struct card_view {
	mic_card_t *card;                /* borrowed; mic_card_read() done */
	mic_activation_t *act;           /* NULL: never activated */
	int with_pin;                    /* the PIN was verified */
	mic_account_t *acct;
	mic_member_t *member[MIC_FAMILY_RECORDS]; /* NULL: a free record */
	mic_logrec_t *log[MIC_LOG_RECORDS];       /* newest first */
	size_t nlog;
} card_view;

/*
 * Fill @p v from @p card, whose public files mic_card_read() has read:
 * EF.ACTIVATION, and when @p pin is not NULL VERIFY with it, then
 * EF.ACCOUNT, every EF.FAMILY record and the EF.LOG records written so
 * far. @p *what names the step that failed.
 */
mic_rc card_view_fetch(card_view *v, mic_card_t *card, const char *pin,
    const char **what);
void card_view_free(card_view *v);

void card_view_text(FILE *f, const card_view *v);
/* NULL when out of memory. */
json_t *card_view_json(const card_view *v);

#endif
