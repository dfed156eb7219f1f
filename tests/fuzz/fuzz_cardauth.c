/*
 * Fuzz chip authentication and the DER-length read against a hostile
 * card: mic_card_open(), mic_card_read_der() of EF.SOD, then
 * mic_card_verify() against an empty trust store (so it can only fail,
 * after parsing whatever the card sends as BF21 and its certificate).
 *
 * Input: one byte choosing mic_card_read_der()'s buffer size, then the
 * card's answers in order, each a 2-byte big-endian length and that many
 * bytes (data and SW). A spent script answers MIC_ERR_TX.
 *
 * Checked: no memory error; mic_card_read_der() never reports more than
 * its buffer, nor a length on failure; mic_card_verify() never accepts,
 * and names one of its checks when it fails on the card's answers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mic/card.h>
#include <mic/pki.h>
#include <mic/tx.h>

#define CHECK(x) do { if (!(x)) abort(); } while (0)

struct script {
	const uint8_t *p;
	size_t left;
};

static mic_rc
card(void *arg, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
    size_t *rsp_len)
{
	struct script *s = arg;
	size_t n;

	(void)cmd;
	(void)cmd_len;
	if (s->left < 2)
		return MIC_ERR_TX;
	n = (size_t)s->p[0] << 8 | s->p[1];
	s->p += 2;
	s->left -= 2;
	if (n > s->left)
		n = s->left;
	if (n > *rsp_len)
		n = *rsp_len;
	memcpy(rsp, s->p, n);
	*rsp_len = n;
	s->p += n;
	s->left -= n;
	return MIC_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[] = { 4, 200, 1100, 2048 };
	struct script s;
	mic_tx_t *tx = NULL;
	mic_card_t *c = NULL;
	mic_trust_t *trust = NULL;
	mic_card_check check = MIC_CHECK_NONE;
	uint8_t *buf = NULL;
	size_t cap, len = 1;
	mic_rc rc;

	if (size < 1)
		return 0;
	cap = caps[data[0] & 3];
	s.p = data + 1;
	s.left = size - 1;
	if ((buf = malloc(cap)) == NULL ||
	    mic_tx_new_inproc(&tx, card, &s) != MIC_OK ||
	    mic_trust_new(&trust) != MIC_OK)
		goto out;
	if (mic_card_open(&c, tx) != MIC_OK)
		goto out;
	rc = mic_card_read_der(tx, 4, buf, cap, &len);
	CHECK(rc == MIC_OK ? len >= 2 && len <= cap : len == 0);
	rc = mic_card_verify(c, trust, &check);
	CHECK(rc != MIC_OK);
	CHECK(rc == MIC_ERR_NOMEM || (check >= MIC_CHECK_CHIP_CERT &&
	    check <= MIC_CHECK_CARD_CERT));
out:
	mic_card_free(&c);
	mic_trust_free(&trust);
	mic_tx_free(&tx);
	free(buf);
	return 0;
}
