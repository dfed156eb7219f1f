/*
 * The card's one PIN, reference 81 (docs/card-profile.md sections 3.4 to
 * 3.7): VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER, and the
 * transport PIN that STORE DATA brings.
 *
 * The card keeps SHA-256(chip serial || PIN digits as ASCII) and compares
 * hashes in constant time. Every comparison writes the try counter, right
 * or wrong, in the same single commit that carries the outcome: a card
 * whose power is cut as it writes has told nothing yet, and the attacker
 * cannot tell a right guess by a write that does not happen.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "card_internal.h"
#include "internal.h"

#define REF_PIN 0x81
#define NIBBLES 14

struct pin {
	char d[PIN_MAX];
	size_t n;
};

static void
pin_wipe(struct pin *p)
{
	OPENSSL_cleanse(p, sizeof(*p));
}

/*
 * An ISO 9564-1 format 2 PIN block: control nibble 2, the digit count N
 * (6 to 12 here), N digits, F up to the end of the 8 bytes.
 */
static int
pin_parse(const uint8_t *blk, struct pin *p)
{
	size_t n = blk[0] & 0x0F;

	memset(p, 0, sizeof(*p));
	if ((blk[0] >> 4) != 0x2 || n < PIN_MIN || n > PIN_MAX)
		goto fail;
	for (size_t i = 0; i < NIBBLES; i++) {
		uint8_t v = (uint8_t)(blk[1 + i / 2] >> (i % 2 ? 0 : 4)) & 0x0F;
		if (i < n) {
			if (v > 9)
				goto fail;
			p->d[i] = (char)('0' + v);
		} else if (v != 0xF)
			goto fail;
	}
	p->n = n;
	return 0;
fail:
	mici_debug("%s: malformed PIN block", __func__);
	pin_wipe(p);
	return -1;
}

static int
pin_same(const struct pin *a, const struct pin *b)
{
	return a->n == b->n && CRYPTO_memcmp(a->d, b->d, a->n) == 0;
}

static int
pin_hash(const uint8_t *serial, const struct pin *p, uint8_t out[32])
{
	uint8_t buf[8 + PIN_MAX];
	unsigned int len = 0;
	int ok;

	memcpy(buf, serial, 8);
	memcpy(buf + 8, p->d, p->n);
	ok = EVP_Digest(buf, 8 + p->n, out, &len, EVP_sha256(), NULL) &&
	    len == 32;
	OPENSSL_cleanse(buf, sizeof(buf));
	if (!ok)
		mici_debug("%s: SHA-256 failed", __func__);
	return ok ? 0 : -1;
}

/* Make @p p the PIN of @p nv, with a full try counter. */
static int
pin_store(struct vc_nv *nv, const struct pin *p, int transport)
{
	if (pin_hash(nv->serial, p, nv->pin_hash) < 0)
		return -1;
	nv->pin_set = 1;
	nv->pin_tries = PIN_TRIES;
	nv->pin_transport = transport ? 1 : 0;
	return 0;
}

uint16_t
vc_pin_set_block(struct vc_nv *nv, const uint8_t *blk, size_t len)
{
	struct pin p;
	int rc;

	if (len != PIN_BLOCK_LEN || pin_parse(blk, &p) < 0)
		return SW_WRONG_DATA;
	rc = pin_store(nv, &p, 1);
	pin_wipe(&p);
	return rc < 0 ? SW_UNKNOWN : SW_OK;
}

static uint16_t
sw_tries(unsigned left)
{
	return (uint16_t)(SW_TRIES_BASE | (left & 0x0F));
}

/*
 * Compare @p given with the PIN and commit the result: the counter back
 * to full, and @p next as the new PIN if there is one; or one try less.
 */
static uint16_t
pin_check(struct vc_card *card, const struct pin *given,
    const struct pin *next)
{
	uint8_t h[32];
	struct vc_nv *w;
	uint16_t sw;
	int ok;

	if (pin_hash(card->nv.serial, given, h) < 0)
		return SW_UNKNOWN;
	ok = CRYPTO_memcmp(h, card->nv.pin_hash, sizeof(h)) == 0;
	OPENSSL_cleanse(h, sizeof(h));
	w = vc_nv_begin(card);
	if (ok && next != NULL) {
		if (pin_store(w, next, 0) < 0) {
			vc_nv_abort(card);
			return SW_UNKNOWN;
		}
	} else if (ok)
		w->pin_tries = PIN_TRIES;
	else
		w->pin_tries--;
	if ((sw = vc_nv_commit(card)) != SW_OK)
		return sw;
	if (!ok) {
		card->ram.pin_ok = 0;
		return sw_tries(card->nv.pin_tries);
	}
	return SW_OK;
}

/*
 * VERIFY 00 20 00 81 (section 3.5). Without data it tells the state and
 * costs nothing: 9000 verified, else 63Cx; 6983 blocked. The transport PIN
 * cannot be verified (section 3.4).
 */
uint16_t
vc_cmd_verify(struct vc_card *card, struct vc_req *req, struct vc_rsp *r)
{
	const mic_apdu *a = &req->a;
	struct pin p;
	uint16_t sw;

	(void)r;
	if (a->p1 != 0x00 || a->p2 != REF_PIN)
		return SW_P1P2;
	if ((sw = vc_app_access(card, ACC_VERIFY)) != SW_OK)
		return sw;
	if (!card->nv.pin_set || card->nv.pin_transport)
		return SW_CONDITIONS;
	/*
	 * Le is ignored: section 8 asks with "00 20 00 81 00", which ISO
	 * reads as Le = 00 and no data.
	 */
	if (a->nc != 0 && a->nc != PIN_BLOCK_LEN)
		return SW_WRONG_LENGTH;
	if (card->nv.pin_tries == 0)
		return SW_PIN_BLOCKED;
	if (a->nc == 0)
		return card->ram.pin_ok ? SW_OK : sw_tries(card->nv.pin_tries);
	if (pin_parse(a->data, &p) < 0)
		return SW_WRONG_DATA;
	sw = pin_check(card, &p, NULL);
	pin_wipe(&p);
	if (sw == SW_OK)
		card->ram.pin_ok = 1;
	return sw;
}

/*
 * CHANGE REFERENCE DATA 00 24 00 81, old block || new block (section 3.6).
 * A wrong old PIN costs a try like VERIFY; a new PIN equal to the old one
 * is 6A80 and costs nothing. Changing the transport PIN ends the transport
 * state. The verified state is left as it was.
 */
uint16_t
vc_cmd_change_pin(struct vc_card *card, struct vc_req *req, struct vc_rsp *r)
{
	const mic_apdu *a = &req->a;
	struct pin old, next;
	uint16_t sw;

	(void)r;
	if (a->p1 != 0x00 || a->p2 != REF_PIN)
		return SW_P1P2;
	if ((sw = vc_app_access(card, ACC_CHANGE)) != SW_OK)
		return sw;
	if (!card->nv.pin_set)
		return SW_CONDITIONS;
	if (a->ne != 0 || a->nc != 2 * PIN_BLOCK_LEN)
		return SW_WRONG_LENGTH;
	if (card->nv.pin_tries == 0)
		return SW_PIN_BLOCKED;
	memset(&next, 0, sizeof(next));
	if (pin_parse(a->data, &old) < 0 ||
	    pin_parse(a->data + PIN_BLOCK_LEN, &next) < 0 ||
	    pin_same(&old, &next)) {
		sw = SW_WRONG_DATA;
		goto out;
	}
	sw = pin_check(card, &old, &next);
out:
	pin_wipe(&old);
	pin_wipe(&next);
	return sw;
}

/*
 * RESET RETRY COUNTER 00 2C 02 81, the new PIN block (section 3.7): the
 * bank sets a PIN the holder chose after checking who they are, so it is
 * the holder's PIN, not a transport PIN, blocked or not before.
 */
uint16_t
vc_cmd_reset_pin(struct vc_card *card, struct vc_req *req, struct vc_rsp *r)
{
	const mic_apdu *a = &req->a;
	struct vc_nv *w;
	struct pin p;
	uint16_t sw;
	int rc;

	(void)r;
	if (a->p1 != 0x02 || a->p2 != REF_PIN)
		return SW_P1P2;
	if ((sw = vc_app_access(card, ACC_RESET_PIN)) != SW_OK)
		return sw;
	if (a->ne != 0 || a->nc != PIN_BLOCK_LEN)
		return SW_WRONG_LENGTH;
	if (pin_parse(a->data, &p) < 0)
		return SW_WRONG_DATA;
	w = vc_nv_begin(card);
	rc = pin_store(w, &p, 0);
	pin_wipe(&p);
	if (rc < 0) {
		vc_nv_abort(card);
		return SW_UNKNOWN;
	}
	if ((sw = vc_nv_commit(card)) != SW_OK)
		return sw;
	card->ram.pin_ok = 0;
	return SW_OK;
}
