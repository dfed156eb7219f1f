/*
 * Personalization (docs/card-profile.md sections 3.8 and 3.9): GENERATE
 * ASYMMETRIC KEY PAIR and STORE DATA, both for the bureau on a blank card.
 *
 * STORE DATA brings DGIs in blocks numbered from 00. Each command is all or
 * nothing: an unknown DGI, a bad template or a failed finalization leaves
 * the card as it was, the block number included, so the bureau can send
 * the block again. The block number lives in RAM and restarts at 00 after
 * a reset or a SELECT, the start of a new personalization session; what
 * was stored stays stored.
 */
#include <string.h>

#include <mic/tlv.h>

#include "card_internal.h"
#include "internal.h"

#define DGI_FAMILY 0x0107
#define DGI_PIN 0x8010
#define P1_LAST 0x80

/*
 * GENERATE ASYMMETRIC KEY PAIR 00 47 80 00: a new P-256 key pair, replacing
 * any earlier one, and 7F49 { 86 point } in answer.
 */
uint16_t
vc_cmd_generate_key(struct vc_card *card, struct vc_req *req,
    struct vc_rsp *r)
{
	const mic_apdu *a = &req->a;
	mic_tlv_writer tw;
	struct vc_nv *w;
	uint16_t sw;

	if (a->p1 != 0x80 || a->p2 != 0x00)
		return SW_P1P2;
	if ((sw = vc_app_access(card, ACC_PERSO)) != SW_OK)
		return sw;
	if (a->nc != 0)
		return SW_WRONG_LENGTH;
	w = vc_nv_begin(card);
	if (vc_key_generate(w->priv, w->pub) < 0) {
		vc_nv_abort(card);
		return SW_UNKNOWN;
	}
	w->key_set = 1;
	if ((sw = vc_nv_commit(card)) != SW_OK)
		return sw;
	mic_tlv_writer_init(&tw, r->buf + r->off, r->cap - r->off);
	mic_tlv_open(&tw, 0x7F49);
	mic_tlv_put(&tw, 0x86, card->nv.pub, sizeof(card->nv.pub));
	mic_tlv_close(&tw);
	if (mic_tlv_writer_finish(&tw, &r->len) != MIC_OK)
		return SW_UNKNOWN;
	return SW_OK;
}

/* DGIs 0101-0105: the whole body of the EF of the same number. */
static uint16_t
store_body(struct vc_card *card, struct vc_nv *w, uint16_t dgi,
    const uint8_t *p, size_t len)
{
	int idx = vc_app_file(card, dgi);
	const struct vc_file *f = vc_fs_get(&w->fs, idx);

	if (f == NULL || len > f->size ||
	    vc_tmpl_check_body(dgi, p, len) < 0)
		return SW_WRONG_DATA;
	memset(vc_fs_body(&w->fs, idx), 0, f->size);
	memcpy(vc_fs_body(&w->fs, idx), p, len);
	w->perso |= (uint8_t)(PERSO_CARD << (dgi - FID_CARD));
	return SW_OK;
}

/* DGI 0107: EF.FAMILY from record 1; the records after them are free. */
static uint16_t
store_family(struct vc_card *card, struct vc_nv *w, const uint8_t *p,
    size_t len)
{
	int idx = vc_app_file(card, FID_FAMILY);
	size_t size = FAMILY_RECORDS * FAMILY_RECLEN;

	if (idx < 0 || len % FAMILY_RECLEN != 0 || len > size)
		return SW_WRONG_DATA;
	for (size_t off = 0; off < len; off += FAMILY_RECLEN)
		if (vc_tmpl_check_family(p + off, FAMILY_RECLEN) < 0)
			return SW_WRONG_DATA;
	memset(vc_fs_body(&w->fs, idx), 0, size);
	if (len > 0)
		memcpy(vc_fs_body(&w->fs, idx), p, len);
	w->perso |= PERSO_FAMILY;
	return SW_OK;
}

static uint16_t
store_dgi(struct vc_card *card, struct vc_nv *w, uint16_t dgi,
    const uint8_t *p, size_t len)
{
	if (dgi >= FID_CARD && dgi <= FID_CERT)
		return store_body(card, w, dgi, p, len);
	if (dgi == DGI_FAMILY)
		return store_family(card, w, p, len);
	if (dgi == DGI_PIN) {
		uint16_t sw = vc_pin_set_block(w, p, len);
		if (sw == SW_OK)
			w->perso |= PERSO_PIN;
		return sw;
	}
	mici_debug("%s: unknown DGI %04X", __func__, dgi);
	return SW_WRONG_DATA;
}

/*
 * The DGIs of one command (EMV CPS): a 2-byte tag, a length of 1 byte
 * (00-FE) or FF and 2 bytes, the data; none may run past the command.
 */
static uint16_t
store_all(struct vc_card *card, struct vc_nv *w, const uint8_t *p,
    size_t left)
{
	uint16_t sw;

	while (left > 0) {
		size_t hdr = 3, len;
		uint16_t dgi;

		if (left < hdr)
			return SW_WRONG_DATA;
		dgi = mici_get_u16(p);
		len = p[2];
		if (len == 0xFF) {
			hdr = 5;
			if (left < hdr)
				return SW_WRONG_DATA;
			len = mici_get_u16(p + 3);
		}
		if (len > left - hdr) {
			mici_debug("%s: DGI %04X runs past the command",
			    __func__, dgi);
			return SW_WRONG_DATA;
		}
		if ((sw = store_dgi(card, w, dgi, p + hdr, len)) != SW_OK)
			return sw;
		p += hdr + len;
		left -= hdr + len;
	}
	return SW_OK;
}

/*
 * The last block: everything the card needs is there, so EF.ACCOUNT gets
 * balance 0 and counter 0 and the card is personalized.
 */
static uint16_t
finalize(struct vc_card *card, struct vc_nv *w)
{
	int idx = vc_app_file(card, FID_ACCOUNT);

	if ((w->perso & PERSO_REQUIRED) != PERSO_REQUIRED || !w->key_set) {
		mici_debug("%s: DGIs %02X stored, key %d: not complete",
		    __func__, w->perso, w->key_set);
		return SW_CONDITIONS;
	}
	if (idx < 0)
		return SW_UNKNOWN;
	vc_account_put(vc_fs_body(&w->fs, idx), 0, 0);
	w->state = VC_STATE_PERSONALIZED;
	return SW_OK;
}

/* STORE DATA 80 E2, P1 b8 last block, P2 block number (section 3.8). */
uint16_t
vc_cmd_store_data(struct vc_card *card, struct vc_req *req, struct vc_rsp *r)
{
	const mic_apdu *a = &req->a;
	struct vc_nv *w;
	uint16_t sw;

	(void)r;
	/* P1 b7-b6 would announce encrypted DGIs: not without SCP11. */
	if ((a->p1 & (uint8_t)~P1_LAST) != 0)
		return SW_P1P2;
	if ((sw = vc_app_access(card, ACC_PERSO)) != SW_OK)
		return sw;
	if (a->p2 != card->ram.perso_block)
		return SW_P1P2;
	w = vc_nv_begin(card);
	if ((sw = store_all(card, w, a->data, a->nc)) != SW_OK ||
	    ((a->p1 & P1_LAST) && (sw = finalize(card, w)) != SW_OK)) {
		vc_nv_abort(card);
		return sw;
	}
	if ((sw = vc_nv_commit(card)) != SW_OK)
		return sw;
	card->ram.perso_block++;
	return SW_OK;
}
