/*
 * The application's life cycle (docs/card-profile.md sections 3.10 and 5):
 *
 *   blank --STORE DATA (last)--> personalized --ACTIVATE FILE--> active
 *   active --DEACTIVATE FILE--> blocked --ACTIVATE FILE--> active
 *   {personalized, active, blocked} --TERMINATE DF--> terminated
 *
 * Who may move the card, and from where, is the access table's to say
 * (card.c); these commands check their data and write the new state in one
 * commit. A change of state ends the PIN's verified state.
 */
#include <string.h>

#include <mic/tlv.h>

#include "card_internal.h"
#include "internal.h"

#define N14_LEN 7
#define TERMINAL_ID_LEN 8

/* EF.ACTIVATION: E2 { 80 n14, 81 terminal id, 82 terminal role }. */
static int
write_activation(struct vc_card *card, struct vc_nv *w, const uint8_t *data)
{
	int idx = vc_app_file(card, FID_ACTIVATION);
	uint8_t *body = vc_fs_body(&w->fs, idx);
	mic_tlv_writer tw;
	size_t len;

	if (body == NULL)
		return -1;
	memset(body, 0, ACTIVATION_SIZE);
	mic_tlv_writer_init(&tw, body, ACTIVATION_SIZE);
	mic_tlv_open(&tw, 0xE2);
	mic_tlv_put(&tw, 0x80, data, N14_LEN);
	mic_tlv_put(&tw, 0x81, data + N14_LEN, TERMINAL_ID_LEN);
	mic_tlv_put_uint(&tw, 0x82, (uint64_t)card->ram.role, 1);
	mic_tlv_close(&tw);
	return mic_tlv_writer_finish(&tw, &len) == MIC_OK ? 0 : -1;
}

static uint16_t
set_state(struct vc_card *card, struct vc_nv *w, enum vc_state state)
{
	uint16_t sw;

	w->state = (uint8_t)state;
	if ((sw = vc_nv_commit(card)) != SW_OK)
		return sw;
	card->ram.pin_ok = 0;
	return SW_OK;
}

/*
 * ACTIVATE FILE 00 44 00 00, n14 || terminal id an8. From personalized only
 * once the transport PIN was changed, writing EF.ACTIVATION; from blocked
 * (unblock) with EF.ACTIVATION left as it is.
 */
uint16_t
vc_cmd_activate(struct vc_card *card, struct vc_req *req, struct vc_rsp *r)
{
	const mic_apdu *a = &req->a;
	int first = card->nv.state == VC_STATE_PERSONALIZED;
	struct vc_nv *w;
	uint16_t sw;

	(void)r;
	if (a->p1 != 0x00 || a->p2 != 0x00)
		return SW_P1P2;
	if ((sw = vc_app_access(card, ACC_ACTIVATE)) != SW_OK)
		return sw;
	if (a->ne != 0 || a->nc != N14_LEN + TERMINAL_ID_LEN)
		return SW_WRONG_LENGTH;
	if (first && card->nv.pin_transport)
		return SW_CONDITIONS;
	if (!vc_fmt_n14(a->data) ||
	    !vc_fmt_an(a->data + N14_LEN, TERMINAL_ID_LEN))
		return SW_WRONG_DATA;
	w = vc_nv_begin(card);
	if (first && write_activation(card, w, a->data) < 0) {
		vc_nv_abort(card);
		return SW_UNKNOWN;
	}
	return set_state(card, w, VC_STATE_ACTIVE);
}

/* The one-byte reason of DEACTIVATE FILE and TERMINATE DF. */
static uint16_t
check_reason(const mic_apdu *a, uint8_t max)
{
	if (a->ne != 0 || a->nc != 1)
		return SW_WRONG_LENGTH;
	if (a->data[0] < 0x01 || a->data[0] > max)
		return SW_WRONG_DATA;
	return SW_OK;
}

/*
 * DEACTIVATE FILE 00 04 00 00, reason 01 lost, 02 deny list, 03 other:
 * active to blocked. The reason is checked, not kept.
 */
uint16_t
vc_cmd_deactivate(struct vc_card *card, struct vc_req *req, struct vc_rsp *r)
{
	const mic_apdu *a = &req->a;
	uint16_t sw;

	(void)r;
	if (a->p1 != 0x00 || a->p2 != 0x00)
		return SW_P1P2;
	if ((sw = vc_app_access(card, ACC_DEACTIVATE)) != SW_OK)
		return sw;
	if ((sw = check_reason(a, 0x03)) != SW_OK)
		return sw;
	return set_state(card, vc_nv_begin(card), VC_STATE_BLOCKED);
}

/*
 * TERMINATE DF 00 E6 00 00, reason 01-04: terminated for good. Nothing can
 * use the private key or the PIN again, so the card erases both.
 */
uint16_t
vc_cmd_terminate(struct vc_card *card, struct vc_req *req, struct vc_rsp *r)
{
	const mic_apdu *a = &req->a;
	struct vc_nv *w;
	uint16_t sw;

	(void)r;
	if (a->p1 != 0x00 || a->p2 != 0x00)
		return SW_P1P2;
	if ((sw = vc_app_access(card, ACC_TERMINATE)) != SW_OK)
		return sw;
	if ((sw = check_reason(a, 0x04)) != SW_OK)
		return sw;
	w = vc_nv_begin(card);
	mici_wipe(w->priv, sizeof(w->priv));
	mici_wipe(w->pin_hash, sizeof(w->pin_hash));
	w->key_set = 0;
	w->pin_set = 0;
	w->pin_tries = 0;
	w->pin_transport = 0;
	return set_state(card, w, VC_STATE_TERMINATED);
}
