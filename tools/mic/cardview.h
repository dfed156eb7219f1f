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

/* What the card was read with (card profile 4.3). */
typedef enum card_access {
	CARD_PUBLIC = 0,    /* nothing: EF.CARD only */
	CARD_PIN,           /* the holder's PIN, verified by the fetch */
	CARD_TERMINAL,      /* an SCP11a channel the caller opened */
} card_access;

typedef struct card_view {
	mic_card_t *card;                /* borrowed; mic_card_read() done */
	mic_activation_t *act;           /* NULL: never activated */
	card_access access;
	mic_role role;                   /* CARD_TERMINAL: its role */
	mic_account_t *acct;
	mic_member_t *member[MIC_FAMILY_RECORDS]; /* NULL: a free record */
	mic_logrec_t *log[MIC_LOG_RECORDS];       /* newest first */
	size_t nlog;
	int tries;                       /* after a wrong PIN; -1 unknown */
} card_view;

/*
 * Fill @p v from @p card: EF.CARD; with CARD_PIN, VERIFY with @p pin
 * first; with CARD_PIN or CARD_TERMINAL, also EF.HOLDER, EF.INSURANCE,
 * EF.ACTIVATION, EF.ACCOUNT, every EF.FAMILY record and the EF.LOG records
 * written so far. @p *what names the step that failed; after
 * MIC_ERR_PIN_WRONG, v->tries holds the tries left.
 */
mic_rc card_view_fetch(card_view *v, mic_card_t *card, card_access access,
    mic_role role, const char *pin, const char **what);
void card_view_free(card_view *v);

void card_view_text(FILE *f, const card_view *v);
/* NULL when out of memory. */
json_t *card_view_json(const card_view *v);

#endif
