/*
 * The MIC application on a card, over a borrowed mic_tx_t.
 *
 * Only the commands of docs/card-profile.md: one SELECT by AID, then READ
 * BINARY and READ RECORD by short file identifier, so no FID is selected
 * and nothing is probed. Operations of several APDUs hold one transaction.
 *
 * The reset hook is what keeps a session honest after another application
 * reset the card: the transport has reconnected and may have replayed the
 * SELECT, but it cannot tell whose card answers, nor that the PIN's
 * verified state is gone. The hook selects again to see the FCI (the
 * transport keeps no response of its replay), compares the chip serial,
 * and reports a lost PIN state instead of carrying on without it.
 */
#include <stdlib.h>
#include <string.h>

#include <mic/card.h>

#include "internal.h"
#include "mici.h"

#define INS_SELECT 0xA4u
#define INS_READ_BINARY 0xB0u
#define READ_CHUNK 256u    /* a short READ BINARY returns at most 256 bytes */
/*
 * In a secure channel the answer grows: padded to 16 bytes (at least one)
 * and an 8-byte MAC (secure-messaging.md 2). 239 plain bytes make 248,
 * which still fit one short response; 256 would make 280 and cost a GET
 * RESPONSE round for every command.
 */
#define READ_CHUNK_SM 239u
#define INS_READ_RECORD 0xB2u
#define INS_VERIFY 0x20u
#define P1_BY_DF_NAME 0x04u
#define P2_FCI 0x00u
#define P1_SFI 0x80u
#define P2_RECORD_SFI(sfi) ((uint8_t)((sfi) << 3 | 0x04u))
#define PIN_REF 0x81u
#define PIN_BLOCK_LEN MICI_PIN_BLOCK_LEN
#define PIN_BLOCK_FORMAT2 0x20u
#define NE_ALL 256u    /* Le 00: the whole file, up to 256 bytes */
#define RSP_MAX 256u

#define SW_OK 0x9000u
#define SW_EOF 0x6282u
#define SW_DEACTIVATED 0x6283u
#define SW_TERMINATED 0x6285u
#define SW_PIN_BLOCKED 0x6983u
#define SW_CONDITIONS 0x6985u
#define SW_TRIES_MASK 0xFFF0u
#define SW_TRIES 0x63C0u

struct mic_card {
	mic_tx_t *tx;               /* borrowed */
	mic_state state;
	uint8_t serial[MIC_CHIP_SERIAL_LEN];
	int pin_verified;
	mic_cardinfo_t *info;
	mic_holder_t *holder;
	mic_insurance_t *insurance;
};

/* --- SELECT and the FCI ------------------------------------------------ */

static mic_rc
select_send(mic_tx_t *tx, uint8_t *rsp, size_t *n, uint16_t *sw)
{
	mic_apdu a;
	size_t aid_len;
	mic_rc rc;

	memset(&a, 0, sizeof(a));
	a.ins = INS_SELECT;
	a.p1 = P1_BY_DF_NAME;
	a.p2 = P2_FCI;
	a.data = mic_aid(&aid_len);
	a.nc = aid_len;
	a.ne = NE_ALL;
	if ((rc = mic_tx_transmit(tx, &a, rsp, RSP_MAX, n, sw)) != MIC_OK)
		mici_debug("%s: transmit: %d", __func__, (int)rc);

	return rc;
}

/* Which states may answer SELECT with @p sw (card profile section 3.1). */
static int
state_fits_sw(mic_state state, uint16_t sw)
{
	switch (state) {
	case MIC_STATE_BLANK:
	case MIC_STATE_ACTIVE:
		return sw == SW_OK;
	case MIC_STATE_PERSONALIZED:
	case MIC_STATE_BLOCKED:
		return sw == SW_DEACTIVATED;
	case MIC_STATE_TERMINATED:
		return sw == SW_TERMINATED;
	}
	return 0;
}

/* Make sense of the card's answer to SELECT. */
static mic_rc
select_parse(const uint8_t *rsp, size_t n, uint16_t sw, mic_fci *fci)
{
	const uint8_t *aid;
	size_t aid_len;
	mic_rc rc;

	if (sw != SW_OK && sw != SW_DEACTIVATED && sw != SW_TERMINATED) {
		mici_debug("%s: SW %04X", __func__, sw);
		return mic_sw_rc(sw);
	}
	if ((rc = mic_fci_decode(fci, rsp, n)) != MIC_OK) {
		mici_debug("%s: FCI: %d", __func__, (int)rc);
		return rc;
	}
	aid = mic_aid(&aid_len);
	if (fci->aid_len != aid_len || memcmp(fci->aid, aid, aid_len) != 0) {
		mici_debug("%s: FCI names another AID", __func__);
		return MIC_ERR_RESPONSE;
	}
	if (!state_fits_sw(fci->state, sw)) {
		mici_debug("%s: state %d with SW %04X", __func__,
		    (int)fci->state, sw);
		return MIC_ERR_RESPONSE;
	}

	return MIC_OK;
}

static mic_rc
card_reset_hook(mic_tx_t *tx, void *arg)
{
	mic_card_t *card = arg;
	uint8_t rsp[RSP_MAX];
	int held = card->pin_verified;
	size_t n;
	uint16_t sw;
	mic_fci fci;
	mic_rc rc;

	/* Whatever happens next, the card forgot the PIN. */
	card->pin_verified = 0;
	if ((rc = select_send(tx, rsp, &n, &sw)) != MIC_OK)
		return rc;
	if (select_parse(rsp, n, sw, &fci) != MIC_OK) {
		mici_debug("%s: no MIC application now", __func__);
		return MIC_ERR_CARD_CHANGED;
	}
	if (memcmp(fci.chip_serial, card->serial, MIC_CHIP_SERIAL_LEN) != 0) {
		mici_debug("%s: another chip serial", __func__);
		return MIC_ERR_CARD_CHANGED;
	}
	card->state = fci.state;
	if (held) {
		mici_debug("%s: PIN verification lost", __func__);
		return MIC_ERR_CARD_RESET;
	}

	return MIC_OK;
}

mic_rc
mic_card_open(mic_card_t **out, mic_tx_t *tx)
{
	mic_card_t *card = NULL;
	uint8_t rsp[RSP_MAX];
	size_t n;
	uint16_t sw;
	mic_fci fci;
	mic_rc rc;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || tx == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((card = calloc(1, sizeof(*card))) == NULL) {
		mici_debug("%s: calloc", __func__);
		return MIC_ERR_NOMEM;
	}
	if ((rc = select_send(tx, rsp, &n, &sw)) != MIC_OK ||
	    (rc = select_parse(rsp, n, sw, &fci)) != MIC_OK)
		goto fail;
	card->tx = tx;
	card->state = fci.state;
	memcpy(card->serial, fci.chip_serial, MIC_CHIP_SERIAL_LEN);
	mic_tx_set_reset_hook(tx, card_reset_hook, card);
	*out = card;
	card = NULL;
	rc = MIC_OK;
fail:
	free(card);

	return rc;
}

void
mic_card_free(mic_card_t **cardp)
{
	mic_card_t *card;

	if (cardp == NULL || (card = *cardp) == NULL)
		return;
	mic_tx_set_reset_hook(card->tx, NULL, NULL);
	mic_cardinfo_free(&card->info);
	mic_holder_free(&card->holder);
	mic_insurance_free(&card->insurance);
	mici_wipe(card, sizeof(*card));
	free(card);
	*cardp = NULL;
}

mic_state
mic_card_state(const mic_card_t *card)
{
	return card == NULL ? (mic_state)0 : card->state;
}

mic_rc
mic_card_chip_serial(const mic_card_t *card, uint8_t *out, size_t cap)
{
	if (card == NULL || out == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (cap < MIC_CHIP_SERIAL_LEN) {
		mici_debug("%s: cap %zu", __func__, cap);
		return MIC_ERR_BUFFER_TOO_SMALL;
	}
	memcpy(out, card->serial, MIC_CHIP_SERIAL_LEN);

	return MIC_OK;
}

/* --- reading ----------------------------------------------------------- */

/*
 * One READ BINARY or READ RECORD for the whole file or record. 6282 is the
 * end of the file before Le bytes: with Le 00 some cards say it, and the
 * data is all there is.
 */
static mic_rc
read_cmd(mic_card_t *card, uint8_t ins, uint8_t p1, uint8_t p2, uint8_t *buf,
    size_t *n)
{
	mic_apdu a;
	uint16_t sw;
	mic_rc rc;

	memset(&a, 0, sizeof(a));
	a.ins = ins;
	a.p1 = p1;
	a.p2 = p2;
	a.ne = NE_ALL;
	/* Every file read here but EF.CARD is the holder's (profile 4.3):
	 * a trace shows its header and length only. */
	if (!(ins == INS_READ_BINARY && p1 == (P1_SFI | MIC_SFI_CARD)))
		a.flags = MIC_APDU_PERSONAL;
	if ((rc = mic_tx_transmit(card->tx, &a, buf, RSP_MAX, n, &sw)) !=
	    MIC_OK) {
		mici_debug("%s: %02X %02X %02X: %d", __func__, ins, p1, p2,
		    (int)rc);
		return rc;
	}
	if (sw != SW_OK && sw != SW_EOF) {
		mici_debug("%s: %02X %02X %02X: SW %04X", __func__, ins, p1,
		    p2, sw);
		return mic_sw_rc(sw);
	}

	return MIC_OK;
}

static mic_rc
read_binary(mic_card_t *card, unsigned sfi, uint8_t *buf, size_t *n)
{
	return read_cmd(card, INS_READ_BINARY, (uint8_t)(P1_SFI | sfi), 0, buf,
	    n);
}

static mic_rc
read_record(mic_card_t *card, unsigned sfi, unsigned rec, uint8_t *buf,
    size_t *n)
{
	return read_cmd(card, INS_READ_RECORD, (uint8_t)rec,
	    P2_RECORD_SFI(sfi), buf, n);
}

/* The public files, read into fresh objects; the card's stay as they were. */
struct public_files {
	mic_cardinfo_t *info;
	mic_holder_t *holder;
	mic_insurance_t *insurance;
};

static mic_rc
read_public(mic_card_t *card, unsigned what, struct public_files *pf)
{
	uint8_t buf[RSP_MAX];
	size_t n;
	mic_rc rc;

	if (what & MIC_READ_CARD) {
		if ((pf->info = mic_cardinfo_new()) == NULL)
			return MIC_ERR_NOMEM;
		if ((rc = read_binary(card, MIC_SFI_CARD, buf, &n)) != MIC_OK ||
		    (rc = mic_cardinfo_decode(pf->info, buf, n)) != MIC_OK)
			return rc;
	}
	if (what & MIC_READ_HOLDER) {
		if ((pf->holder = mic_holder_new()) == NULL)
			return MIC_ERR_NOMEM;
		if ((rc = read_binary(card, MIC_SFI_HOLDER, buf, &n)) !=
		    MIC_OK ||
		    (rc = mic_holder_decode(pf->holder, buf, n)) != MIC_OK)
			return rc;
	}
	if (what & MIC_READ_INSURANCE) {
		if ((pf->insurance = mic_insurance_new()) == NULL)
			return MIC_ERR_NOMEM;
		if ((rc = read_binary(card, MIC_SFI_INSURANCE, buf, &n)) !=
		    MIC_OK ||
		    (rc = mic_insurance_decode(pf->insurance, buf, n)) !=
		    MIC_OK)
			return rc;
	}

	return MIC_OK;
}

mic_rc
mic_card_read(mic_card_t *card, unsigned what)
{
	struct public_files pf;
	mic_rc rc, erc;

	memset(&pf, 0, sizeof(pf));
	if (card == NULL || what == 0 || (what & ~MIC_READ_ALL) != 0) {
		mici_debug("%s: invalid argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((rc = mic_tx_begin(card->tx)) != MIC_OK) {
		mici_debug("%s: begin", __func__);
		return rc;
	}
	rc = read_public(card, what, &pf);
	/* The data is read; a failed release changes nothing about it. */
	if ((erc = mic_tx_end(card->tx)) != MIC_OK)
		mici_debug("%s: end: %d", __func__, (int)erc);
	if (rc != MIC_OK) {
		mici_debug("%s: %d", __func__, (int)rc);
		goto fail;
	}
	if (what & MIC_READ_CARD) {
		mic_cardinfo_free(&card->info);
		card->info = pf.info;
		pf.info = NULL;
	}
	if (what & MIC_READ_HOLDER) {
		mic_holder_free(&card->holder);
		card->holder = pf.holder;
		pf.holder = NULL;
	}
	if (what & MIC_READ_INSURANCE) {
		mic_insurance_free(&card->insurance);
		card->insurance = pf.insurance;
		pf.insurance = NULL;
	}
fail:
	mic_cardinfo_free(&pf.info);
	mic_holder_free(&pf.holder);
	mic_insurance_free(&pf.insurance);

	return rc;
}

const mic_cardinfo_t *
mic_card_info(const mic_card_t *card)
{
	return card == NULL ? NULL : card->info;
}

const mic_holder_t *
mic_card_holder(const mic_card_t *card)
{
	return card == NULL ? NULL : card->holder;
}

const mic_insurance_t *
mic_card_insurance(const mic_card_t *card)
{
	return card == NULL ? NULL : card->insurance;
}

mic_rc
mic_card_read_account(mic_card_t *card, mic_account_t *acct)
{
	uint8_t buf[RSP_MAX];
	size_t n;
	mic_rc rc;

	if (card == NULL || acct == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((rc = read_binary(card, MIC_SFI_ACCOUNT, buf, &n)) != MIC_OK)
		return rc;

	return mic_account_decode(acct, buf, n);
}

mic_rc
mic_card_read_activation(mic_card_t *card, mic_activation_t *act)
{
	uint8_t buf[RSP_MAX];
	size_t n;
	mic_rc rc;

	if (card == NULL || act == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((rc = read_binary(card, MIC_SFI_ACTIVATION, buf, &n)) != MIC_OK)
		return rc;

	return mic_activation_decode(act, buf, n);
}

mic_rc
mic_card_read_log(mic_card_t *card, unsigned index, mic_logrec_t *rec)
{
	uint8_t buf[RSP_MAX];
	size_t n;
	mic_rc rc;

	if (card == NULL || rec == NULL || index < 1 ||
	    index > MIC_LOG_RECORDS) {
		mici_debug("%s: invalid argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((rc = read_record(card, MIC_SFI_LOG, index, buf, &n)) != MIC_OK)
		return rc;

	return mic_logrec_decode(rec, buf, n);
}

mic_rc
mic_card_read_family(mic_card_t *card, unsigned record, mic_member_t *m)
{
	uint8_t buf[RSP_MAX];
	size_t n;
	mic_rc rc;

	if (card == NULL || m == NULL || record < 1 ||
	    record > MIC_FAMILY_RECORDS) {
		mici_debug("%s: invalid argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((rc = read_record(card, MIC_SFI_FAMILY, record, buf, &n)) !=
	    MIC_OK)
		return rc;

	return mic_member_decode(m, buf, n);
}

/* --- PIN ----------------------------------------------------------------- */

/*
 * ISO 9564-1 format 2: control nibble 2, the digit count, the digits, then
 * F nibbles to 8 bytes. The PIN goes from the caller's string straight into
 * the block, so no other copy exists to wipe.
 */
mic_rc
mici_pin_block(const char *pin, uint8_t block[PIN_BLOCK_LEN])
{
	size_t n = strnlen(pin, MIC_PIN_MAX + 1), i;

	if (n < MIC_PIN_MIN || n > MIC_PIN_MAX || !mici_digits(pin, n)) {
		mici_debug("%s: not %d-%d digits", __func__, MIC_PIN_MIN,
		    MIC_PIN_MAX);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	memset(block, 0xFF, PIN_BLOCK_LEN);
	block[0] = (uint8_t)(PIN_BLOCK_FORMAT2 | n);
	for (i = 0; i < n; i++) {
		uint8_t d = (uint8_t)(pin[i] - '0');
		uint8_t *b = &block[1 + i / 2];

		*b = i % 2 == 0 ? (uint8_t)(d << 4 | (*b & 0x0F)) :
		    (uint8_t)((*b & 0xF0) | d);
	}

	return MIC_OK;
}

/*
 * What a refused VERIFY means to the cashier. 6985 is the card's state
 * (profile 4.3: VERIFY only on an active card), which the FCI told; asking
 * without a PIN keeps the bare 63Cx, which is "not verified", not "wrong".
 */
static mic_rc
pin_rc(const mic_card_t *card, int with_pin, uint16_t sw)
{
	if (with_pin && (sw & SW_TRIES_MASK) == SW_TRIES)
		return (sw & 0x0F) == 0 ? MIC_ERR_PIN_BLOCKED :
		    MIC_ERR_PIN_WRONG;
	if (sw == SW_PIN_BLOCKED)
		return MIC_ERR_PIN_BLOCKED;
	if (sw == SW_CONDITIONS)
		return mici_state_rc(card->state);
	return mic_sw_rc(sw);
}

/* VERIFY's status word, typed on the host or on the reader's pad. */
static mic_rc
verify_result(mic_card_t *card, int with_pin, uint16_t sw, int *tries_left)
{
	card->pin_verified = sw == SW_OK;
	if ((sw & SW_TRIES_MASK) == SW_TRIES && tries_left != NULL)
		*tries_left = sw & 0x0F;
	else if (sw == SW_PIN_BLOCKED && tries_left != NULL)
		*tries_left = 0;
	if (sw == SW_OK)
		return MIC_OK;
	mici_debug("%s: SW %04X", __func__, sw);
	return pin_rc(card, with_pin, sw);
}

mic_rc
mici_state_rc(mic_state state)
{
	switch (state) {
	case MIC_STATE_ACTIVE:
		return MIC_SW_CONDITIONS;
	case MIC_STATE_BLOCKED:
		return MIC_ERR_CARD_BLOCKED;
	case MIC_STATE_TERMINATED:
		return MIC_ERR_CARD_TERMINATED;
	case MIC_STATE_BLANK:
	case MIC_STATE_PERSONALIZED:
		break;
	}
	return MIC_ERR_CARD_NOT_ACTIVE;
}

void
mici_card_pin_spent(mic_card_t *card)
{
	if (card != NULL)
		card->pin_verified = 0;
}

mic_rc
mic_card_verify_pin(mic_card_t *card, const char *pin, int *tries_left)
{
	uint8_t block[PIN_BLOCK_LEN];
	uint8_t rsp[RSP_MAX];
	mic_apdu a;
	size_t n = 0;
	uint16_t sw = 0;
	mic_rc rc;

	if (tries_left != NULL)
		*tries_left = -1;
	if (card == NULL) {
		mici_debug("%s: NULL card", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	memset(&a, 0, sizeof(a));
	a.ins = INS_VERIFY;
	a.p2 = PIN_REF;
	if (pin != NULL) {
		if ((rc = mici_pin_block(pin, block)) != MIC_OK)
			goto fail;
		a.data = block;
		a.nc = sizeof(block);
		a.flags = MIC_APDU_SENSITIVE;
	}
	if ((rc = mic_tx_transmit(card->tx, &a, rsp, sizeof(rsp), &n, &sw)) !=
	    MIC_OK) {
		mici_debug("%s: transmit: %d", __func__, (int)rc);
		goto fail;
	}
	rc = verify_result(card, pin != NULL, sw, tries_left);
fail:
	mici_wipe(block, sizeof(block));
	mici_wipe(rsp, n);

	return rc;
}

/* What the pad says of itself (PC/SC part 10 2.5.2, the reader's SW). */
#define SW_PAD_TIMEOUT 0x6400u
#define SW_PAD_CANCELLED 0x6401u
#define SW_PAD_LENGTH 0x6403u
#define PAD_TIMEOUT_S 30u

mic_rc
mic_card_verify_pin_pad(mic_card_t *card, int *tries_left)
{
	uint8_t pvs[MICI_PINPAD_PVS_MAX];
	size_t len = 0;
	uint16_t sw = 0;
	mic_rc rc;

	if (tries_left != NULL)
		*tries_left = -1;
	if (card == NULL) {
		mici_debug("%s: NULL card", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if (!mic_tx_has_pinpad(card->tx)) {
		mici_debug("%s: the reader has no PIN pad", __func__);
		return MIC_ERR_UNSUPPORTED;
	}
	if ((rc = mici_pinpad_verify_fmt2(PIN_REF, MIC_PIN_MIN, MIC_PIN_MAX,
	    PAD_TIMEOUT_S, pvs, sizeof(pvs), &len)) != MIC_OK)
		return rc;
	if ((rc = mici_tx_pinpad_verify(card->tx, pvs, len, &sw)) != MIC_OK) {
		mici_debug("%s: %d", __func__, (int)rc);
		return rc;
	}
	switch (sw) {
	case SW_PAD_TIMEOUT:
		return MIC_ERR_TIMEOUT;
	case SW_PAD_CANCELLED:
		return MIC_ERR_CANCELLED;
	case SW_PAD_LENGTH:
		return MIC_ERR_INVALID_ARGUMENT;
	default:
		return verify_result(card, 1, sw, tries_left);
	}
}

int
mic_card_pin_verified(const mic_card_t *card)
{
	return card != NULL && card->pin_verified;
}

/* Does the path carry extended Lc/Le (the card says so, profile 6)? */
static int
path_extended(mic_tx_t *tx)
{
	mic_tx_caps caps;

	mic_tx_get_caps(tx, &caps);
	return caps.reader_extended && caps.card_extended;
}

/*
 * READ BINARY from @p off to @p size: the first command by SFI when @p off
 * is 0 (the file becomes current), by offset in the current EF otherwise;
 * @p first caps the first command's Ne.
 */
/* The most a short READ BINARY should ask for on @p tx as it is now. */
static size_t
short_chunk(const mic_tx_t *tx)
{
	return mic_tx_get_sm_state(tx) == MIC_TX_SM_ON ? READ_CHUNK_SM :
	    READ_CHUNK;
}

static mic_rc
read_range(mic_tx_t *tx, uint8_t sfi, uint8_t *buf, size_t off, size_t size,
    size_t first)
{
	mic_apdu a = { .cla = 0x00, .ins = INS_READ_BINARY };
	size_t n, chunk;
	mic_rc rc;

	chunk = path_extended(tx) ? MIC_APDU_NE_MAX_EXT : short_chunk(tx);
	if (sfi != MIC_SFI_CARD && sfi != MIC_SFI_SOD && sfi != MIC_SFI_CERT)
		a.flags = MIC_APDU_PERSONAL;
	if (first > chunk)
		first = chunk;
	while (off < size) {
		a.ne = size - off < chunk ? size - off : chunk;
		if (off == 0) {
			a.p1 = (uint8_t)(0x80 | sfi);
			a.p2 = 0;
			if (a.ne > first)
				a.ne = first;
		} else {
			a.p1 = (uint8_t)(off >> 8);
			a.p2 = (uint8_t)off;
		}
		if ((rc = mic_tx_command(tx, &a, buf + off, size - off,
		    &n)) != MIC_OK)
			return rc;
		/* A path that gives less at a time (caps.max_ne) gets the
		 * rest asked for by offset; nothing at all is an error. */
		if (n == 0 || n > a.ne)
			return MIC_ERR_RESPONSE;
		off += n;
	}
	return MIC_OK;
}

mic_rc
mic_card_read_file(mic_tx_t *tx, uint8_t sfi, uint8_t *buf, size_t size)
{
	if (tx == NULL || (buf == NULL && size > 0) || sfi < 1 || sfi > 30 ||
	    size > 0x7FFF + 1)
		return MIC_ERR_INVALID_ARGUMENT;
	return read_range(tx, sfi, buf, 0, size, size);
}

/* The whole length of the DER SEQUENCE starting @p buf (@p n bytes of it
 * there), or 0 when it does not start one with a definite length. */
static size_t
der_total(const uint8_t *buf, size_t n)
{
	size_t hdr, len = 0;

	if (n < 2 || buf[0] != 0x30)
		return 0;
	if (buf[1] < 0x80)
		return 2 + (size_t)buf[1];
	hdr = 2 + (buf[1] & 0x7Fu);
	/* Definite, at most 2 length bytes: EF.SOD ends at 32768 anyway. */
	if (buf[1] == 0x80 || hdr > 4 || n < hdr)
		return 0;
	for (size_t i = 2; i < hdr; i++)
		len = len << 8 | buf[i];
	return hdr + len;
}

mic_rc
mic_card_read_der(mic_tx_t *tx, uint8_t sfi, uint8_t *buf, size_t cap,
    size_t *len)
{
	mic_apdu a = { .cla = 0x00, .ins = INS_READ_BINARY,
		.p1 = (uint8_t)(0x80 | sfi), .p2 = 0 };
	size_t n = 0, total;
	mic_rc rc;

	if (len != NULL)
		*len = 0;
	if (tx == NULL || buf == NULL || len == NULL || sfi < 1 || sfi > 30 ||
	    cap < 4 || cap > 0x7FFF + 1)
		return MIC_ERR_INVALID_ARGUMENT;
	/* The first short READ BINARY's worth: the header and, for a small
	 * object, all of it. */
	a.ne = cap < short_chunk(tx) ? cap : short_chunk(tx);
	if ((rc = mic_tx_command(tx, &a, buf, cap, &n)) != MIC_OK)
		return rc;
	if (n == 0 || n > a.ne)
		return MIC_ERR_RESPONSE;
	if ((total = der_total(buf, n)) == 0 || total > cap) {
		mici_debug("%s: SFI %u: no DER object of at most %zu bytes",
		    __func__, (unsigned)sfi, cap);
		return MIC_ERR_RESPONSE;
	}
	if (total > n && (rc = read_range(tx, sfi, buf, n, total,
	    total)) != MIC_OK)
		return rc;
	*len = total;
	return MIC_OK;
}

mic_tx_t *
mici_card_tx(const mic_card_t *card)
{
	return card == NULL ? NULL : card->tx;
}
