/*
 * READ BINARY, UPDATE BINARY, READ RECORD, UPDATE RECORD (ISO/IEC 7816-4
 * clauses 11.2 and 11.3, docs/card-profile.md sections 3.2 and 3.3).
 *
 * The order of checks is the same for all four: parameters (6A86), the
 * file (6986, 6A82), its access class (6985, 6982), its structure (6981),
 * then offsets, record numbers and data.
 */
#include <string.h>

#include "card_internal.h"
#include "internal.h"

/*
 * The EF with @p sfi in the current DF. An application EF asked for while
 * the application is not selected is 6986 (section 3), anything else
 * missing 6A82.
 */
static uint16_t
find_sfi(const struct vc_card *card, uint8_t sfi, int *idx)
{
	const struct vc_fs *fs = &card->nv.fs;

	if ((*idx = vc_fs_find_sfi(fs, card->ram.cur_df, sfi)) >= 0)
		return SW_OK;
	if (card->ram.cur_df != card->app &&
	    vc_fs_find_sfi(fs, card->app, sfi) >= 0)
		return SW_NO_EF;
	return SW_NOT_FOUND;
}

static void
make_current(struct vc_card *card, int idx)
{
	card->ram.cur_df = card->nv.fs.file[idx].parent;
	card->ram.cur_ef = idx;
}

/*
 * The EF that READ BINARY and UPDATE BINARY address: P1 bit 8 set means
 * P1 bits 5-1 are an SFI in the current DF and P2 the offset (0-255), with
 * P1 bits 7-6 zero; otherwise the current EF at the 15-bit offset P1-P2.
 */
static uint16_t
binary_target(const struct vc_card *card, const mic_apdu *a, int update,
    int *idx, size_t *off)
{
	const struct vc_fs *fs = &card->nv.fs;
	enum vc_acc acc;
	uint16_t sw;

	if (a->p1 & 0x80) {
		uint8_t sfi = a->p1 & 0x1F;
		if ((a->p1 & 0x60) != 0 || sfi == 0 || sfi == 31)
			return SW_P1P2;
		if ((sw = find_sfi(card, sfi, idx)) != SW_OK)
			return sw;
		*off = a->p2;
	} else {
		if ((*idx = card->ram.cur_ef) < 0)
			return SW_NO_EF;
		*off = ((size_t)a->p1 << 8) | a->p2;
	}
	acc = update ? ACC_UPDATE_NEVER :
	    (enum vc_acc)fs->file[*idx].acc_read;
	if ((sw = vc_access(card, acc)) != SW_OK)
		return sw;
	if (fs->file[*idx].type != VC_FT_TRANSPARENT)
		return SW_FILE_TYPE;
	return SW_OK;
}

/*
 * READ BINARY (clause 11.3.3). Offset at or beyond the end: 6B00. Le of 00
 * or 0000 reads up to the end of the file within 256 or 65536 bytes, with
 * 9000; any other Le reaching past the end returns what there is, with 6282.
 */
uint16_t
vc_cmd_read_binary(struct vc_card *card, struct vc_req *req, struct vc_rsp *r)
{
	const mic_apdu *a = &req->a;
	size_t off = 0, avail, n;
	uint16_t sw;
	int idx = -1;

	if (a->nc != 0 || a->ne == 0)
		return SW_WRONG_LENGTH;
	if ((sw = binary_target(card, a, 0, &idx, &off)) != SW_OK)
		return sw;
	make_current(card, idx);
	if (off >= card->nv.fs.file[idx].size)
		return SW_OFFSET;
	avail = card->nv.fs.file[idx].size - off;
	n = avail < a->ne ? avail : a->ne;
	if (vc_rsp_put(r, vc_fs_cbody(&card->nv.fs, idx) + off, n) < 0)
		return SW_UNKNOWN;
	return n < a->ne && !req->le_max ? SW_EOF : SW_OK;
}

/*
 * UPDATE BINARY (clause 11.3.5). The profile allows it on no EF (section
 * 4.3): the card writes its transparent EFs itself, from STORE DATA,
 * ACTIVATE FILE and DEBIT/CREDIT. So every path ends in the access check;
 * the length checks before it are the only ones left.
 */
uint16_t
vc_cmd_update_binary(struct vc_card *card, struct vc_req *req,
    struct vc_rsp *r)
{
	const mic_apdu *a = &req->a;
	size_t off = 0;
	int idx = -1;

	(void)r;
	if (a->nc == 0 || a->ne != 0)
		return SW_WRONG_LENGTH;
	return binary_target(card, a, 1, &idx, &off);
}

/*
 * The EF that READ RECORD and UPDATE RECORD address: P2 bits 8-4 an SFI
 * (0: the current EF), bits 3-1 100 (P1 is a record number). Other record
 * selections (first, last, next, previous; ranges) are not offered.
 */
static uint16_t
record_target(const struct vc_card *card, const mic_apdu *a, int update,
    int *idx)
{
	const struct vc_fs *fs = &card->nv.fs;
	uint8_t sfi = a->p2 >> 3;
	enum vc_acc acc;
	uint16_t sw;

	if ((a->p2 & 0x07) != 0x04 || sfi == 31)
		return SW_P1P2;
	if (sfi == 0) {
		if ((*idx = card->ram.cur_ef) < 0)
			return SW_NO_EF;
	} else if ((sw = find_sfi(card, sfi, idx)) != SW_OK)
		return sw;
	acc = (enum vc_acc)(update ? fs->file[*idx].acc_update :
	    fs->file[*idx].acc_read);
	if ((sw = vc_access(card, acc)) != SW_OK)
		return sw;
	if (!vc_fs_is_record(fs, *idx))
		return SW_FILE_TYPE;
	return SW_OK;
}

/*
 * READ RECORD (clause 11.3.3), P2 = SFI<<3 | 04. Record 00, a record past
 * the end, or one of a cyclic EF never written: 6A83. Le as READ BINARY:
 * 00 for the whole record, a longer explicit Le gives the record with 6282.
 */
uint16_t
vc_cmd_read_record(struct vc_card *card, struct vc_req *req, struct vc_rsp *r)
{
	const mic_apdu *a = &req->a;
	const uint8_t *rec;
	size_t len, n;
	uint16_t sw;
	int idx = -1;

	if (a->nc != 0 || a->ne == 0)
		return SW_WRONG_LENGTH;
	if ((sw = record_target(card, a, 0, &idx)) != SW_OK)
		return sw;
	make_current(card, idx);
	if ((rec = vc_fs_record(&card->nv.fs, idx, a->p1)) == NULL)
		return SW_NO_RECORD;
	len = card->nv.fs.file[idx].rec_len;
	n = len < a->ne ? len : a->ne;
	if (vc_rsp_put(r, rec, n) < 0)
		return SW_UNKNOWN;
	return n < a->ne && !req->le_max ? SW_EOF : SW_OK;
}

/*
 * UPDATE RECORD (clause 11.3.5), P2 = SFI<<3 | 04: the whole record,
 * exactly its length (6700). Only EF.FAMILY allows it, and the card keeps
 * it well-formed: a record is free (all 00) or an E3 template (6A80).
 */
uint16_t
vc_cmd_update_record(struct vc_card *card, struct vc_req *req,
    struct vc_rsp *r)
{
	const mic_apdu *a = &req->a;
	struct vc_nv *w;
	uint8_t *rec;
	uint16_t sw;
	int idx = -1;

	(void)r;
	if (a->nc == 0 || a->ne != 0)
		return SW_WRONG_LENGTH;
	if ((sw = record_target(card, a, 1, &idx)) != SW_OK)
		return sw;
	make_current(card, idx);
	if (card->nv.fs.file[idx].type != VC_FT_LINEAR_FIXED)
		return SW_FILE_TYPE;
	if (vc_fs_record(&card->nv.fs, idx, a->p1) == NULL)
		return SW_NO_RECORD;
	if (a->nc != card->nv.fs.file[idx].rec_len)
		return SW_WRONG_LENGTH;
	if (vc_tmpl_check_family(a->data, a->nc) < 0)
		return SW_WRONG_DATA;
	w = vc_nv_begin(card);
	if ((rec = vc_fs_record_w(&w->fs, idx, a->p1)) == NULL) {
		vc_nv_abort(card);
		return SW_UNKNOWN;
	}
	memcpy(rec, a->data, a->nc);
	return vc_nv_commit(card);
}
