/*
 * The card's file system: a fixed table of files over one byte pool. See
 * fs.h. Nothing here knows the MIC profile; card.c builds the profile's
 * files with it.
 */
#include <string.h>

#include <mic/tlv.h>

#include "fs.h"

void
vc_fs_init(struct vc_fs *fs)
{
	struct vc_file *mf = &fs->file[0];

	memset(fs, 0, sizeof(*fs));
	mf->fid = VC_FID_MF;
	mf->type = VC_FT_DF;
	mf->parent = 0;
	fs->nfiles = 1;
}

static int
valid_df(const struct vc_fs *fs, int idx)
{
	return idx >= 0 && (uint32_t)idx < fs->nfiles &&
	    fs->file[idx].type == VC_FT_DF;
}

/* FIDs 3FFF and FFFF are reserved (ISO 7816-4 clause 7.1.1). */
static int
valid_fid(uint16_t fid)
{
	return fid != VC_FID_MF && fid != 0x3FFF && fid != 0xFFFF;
}

static struct vc_file *
new_file(struct vc_fs *fs, int parent, uint16_t fid)
{
	struct vc_file *f;

	if (!valid_df(fs, parent) || !valid_fid(fid) ||
	    fs->nfiles >= VC_FS_MAX_FILES ||
	    vc_fs_find_child(fs, parent, fid, -1) >= 0)
		return NULL;
	f = &fs->file[fs->nfiles];
	memset(f, 0, sizeof(*f));
	f->fid = fid;
	f->parent = (uint8_t)parent;
	return f;
}

int
vc_fs_add_df(struct vc_fs *fs, int parent, uint16_t fid, const uint8_t *aid,
    size_t aid_len)
{
	struct vc_file *f;

	if (aid_len > VC_AID_MAX || (aid_len > 0 && aid == NULL))
		return -1;
	if ((f = new_file(fs, parent, fid)) == NULL)
		return -1;
	f->type = VC_FT_DF;
	f->aid_len = (uint8_t)aid_len;
	if (aid_len > 0)
		memcpy(f->aid, aid, aid_len);
	return (int)fs->nfiles++;
}

int
vc_fs_add_ef(struct vc_fs *fs, int parent, uint16_t fid, uint8_t sfi,
    enum vc_ftype type, size_t size, size_t rec_len)
{
	struct vc_file *f;
	int record = type == VC_FT_LINEAR_FIXED || type == VC_FT_CYCLIC;

	if (type == VC_FT_DF || sfi > 30 || size > VC_FS_POOL - fs->pool_used)
		return -1;
	if (record && (rec_len == 0 || rec_len > 0xFFFF || size % rec_len != 0 ||
	    size / rec_len > VC_REC_MAX))
		return -1;
	if (!record && rec_len != 0)
		return -1;
	if (sfi != 0 && vc_fs_find_sfi(fs, parent, sfi) >= 0)
		return -1;
	if ((f = new_file(fs, parent, fid)) == NULL)
		return -1;
	f->type = (uint8_t)type;
	f->sfi = sfi;
	f->off = fs->pool_used;
	f->size = (uint32_t)size;
	if (record) {
		f->rec_len = (uint16_t)rec_len;
		f->rec_max = (uint16_t)(size / rec_len);
	}
	fs->pool_used += (uint32_t)size;
	return (int)fs->nfiles++;
}

const struct vc_file *
vc_fs_get(const struct vc_fs *fs, int idx)
{
	if (idx < 0 || (uint32_t)idx >= fs->nfiles)
		return NULL;
	return &fs->file[idx];
}

uint8_t *
vc_fs_body(struct vc_fs *fs, int idx)
{
	if (idx < 0 || (uint32_t)idx >= fs->nfiles ||
	    fs->file[idx].type == VC_FT_DF)
		return NULL;
	return &fs->pool[fs->file[idx].off];
}

const uint8_t *
vc_fs_cbody(const struct vc_fs *fs, int idx)
{
	if (idx < 0 || (uint32_t)idx >= fs->nfiles ||
	    fs->file[idx].type == VC_FT_DF)
		return NULL;
	return &fs->pool[fs->file[idx].off];
}

int
vc_fs_is_df(const struct vc_fs *fs, int idx)
{
	return valid_df(fs, idx);
}

int
vc_fs_is_record(const struct vc_fs *fs, int idx)
{
	const struct vc_file *f = vc_fs_get(fs, idx);

	return f != NULL && (f->type == VC_FT_LINEAR_FIXED ||
	    f->type == VC_FT_CYCLIC);
}

unsigned
vc_fs_record_count(const struct vc_fs *fs, int idx)
{
	const struct vc_file *f = vc_fs_get(fs, idx);

	if (f == NULL)
		return 0;
	if (f->type == VC_FT_LINEAR_FIXED)
		return f->rec_max;
	if (f->type == VC_FT_CYCLIC)
		return fs->rec[idx].count;
	return 0;
}

/*
 * The physical slot of record @p recno. A cyclic EF writes slots in order;
 * the newest record sits just before the next slot to write.
 */
static int
record_slot(const struct vc_fs *fs, int idx, unsigned recno, unsigned *slot)
{
	const struct vc_file *f = vc_fs_get(fs, idx);

	if (f == NULL || recno == 0 || recno > vc_fs_record_count(fs, idx))
		return -1;
	if (f->type == VC_FT_LINEAR_FIXED)
		*slot = recno - 1;
	else
		*slot = (fs->rec[idx].next + f->rec_max - recno) % f->rec_max;
	return 0;
}

const uint8_t *
vc_fs_record(const struct vc_fs *fs, int idx, unsigned recno)
{
	unsigned slot;

	if (record_slot(fs, idx, recno, &slot) < 0)
		return NULL;
	return vc_fs_cbody(fs, idx) + (size_t)slot * fs->file[idx].rec_len;
}

uint8_t *
vc_fs_record_w(struct vc_fs *fs, int idx, unsigned recno)
{
	unsigned slot;

	if (!vc_fs_is_record(fs, idx) ||
	    fs->file[idx].type != VC_FT_LINEAR_FIXED ||
	    record_slot(fs, idx, recno, &slot) < 0)
		return NULL;
	return vc_fs_body(fs, idx) + (size_t)slot * fs->file[idx].rec_len;
}

int
vc_fs_cyclic_append(struct vc_fs *fs, int idx, const uint8_t *rec,
    size_t len)
{
	const struct vc_file *f = vc_fs_get(fs, idx);
	struct vc_recstate *rs;

	if (f == NULL || f->type != VC_FT_CYCLIC || len != f->rec_len)
		return -1;
	rs = &fs->rec[idx];
	memcpy(vc_fs_body(fs, idx) + (size_t)rs->next * f->rec_len, rec, len);
	rs->next = (uint8_t)((rs->next + 1u) % f->rec_max);
	if (rs->count < f->rec_max)
		rs->count++;
	return 0;
}

int
vc_fs_find_child(const struct vc_fs *fs, int df, uint16_t fid, int want_df)
{
	if (!valid_df(fs, df))
		return -1;
	/* Index 0 is the MF, which is nobody's child. */
	for (uint32_t i = 1; i < fs->nfiles; i++) {
		const struct vc_file *f = &fs->file[i];
		if (f->parent != df || f->fid != fid)
			continue;
		if (want_df >= 0 && (f->type == VC_FT_DF) != (want_df != 0))
			continue;
		return (int)i;
	}
	return -1;
}

int
vc_fs_find_fid(const struct vc_fs *fs, int cur_df, uint16_t fid)
{
	int parent, idx;

	if (!valid_df(fs, cur_df))
		return -1;
	if (fid == VC_FID_MF)
		return 0;
	if (fs->file[cur_df].fid == fid)
		return cur_df;
	if ((idx = vc_fs_find_child(fs, cur_df, fid, -1)) >= 0)
		return idx;
	parent = fs->file[cur_df].parent;
	if (fs->file[parent].fid == fid)
		return parent;
	return vc_fs_find_child(fs, parent, fid, -1);
}

int
vc_fs_find_sfi(const struct vc_fs *fs, int df, uint8_t sfi)
{
	if (!valid_df(fs, df) || sfi == 0)
		return -1;
	for (uint32_t i = 1; i < fs->nfiles; i++) {
		const struct vc_file *f = &fs->file[i];
		if (f->parent == df && f->type != VC_FT_DF && f->sfi == sfi)
			return (int)i;
	}
	return -1;
}

int
vc_fs_find_name(const struct vc_fs *fs, const uint8_t *name, size_t len,
    int after)
{
	if (len == 0 || len > VC_AID_MAX)
		return -1;
	for (uint32_t i = after < 0 ? 0 : (uint32_t)after + 1; i < fs->nfiles;
	    i++) {
		const struct vc_file *f = &fs->file[i];
		if (f->type == VC_FT_DF && f->aid_len >= len &&
		    memcmp(f->aid, name, len) == 0)
			return (int)i;
	}
	return -1;
}

static void
put_descriptor(mic_tlv_writer *w, const struct vc_file *f)
{
	uint8_t d[5];

	d[0] = f->type;
	if (f->type == VC_FT_LINEAR_FIXED || f->type == VC_FT_CYCLIC) {
		/*
		 * Data coding byte 0x21 as in the ATR, then the record length
		 * and number of records (ISO 7816-4 Table 12).
		 */
		d[1] = 0x21;
		d[2] = (uint8_t)(f->rec_len >> 8);
		d[3] = (uint8_t)f->rec_len;
		d[4] = (uint8_t)f->rec_max;
		mic_tlv_put(w, 0x82, d, 5);
	} else
		mic_tlv_put(w, 0x82, d, 1);
}

size_t
vc_fs_fcp(const struct vc_fs *fs, int idx, uint8_t lcs, uint8_t *buf,
    size_t cap)
{
	const struct vc_file *f = vc_fs_get(fs, idx);
	mic_tlv_writer w;
	size_t len;

	if (f == NULL)
		return 0;
	mic_tlv_writer_init(&w, buf, cap);
	put_descriptor(&w, f);
	mic_tlv_put_uint(&w, 0x83, f->fid, 2);
	if (f->type == VC_FT_DF) {
		if (f->aid_len > 0)
			mic_tlv_put(&w, 0x84, f->aid, f->aid_len);
	} else {
		mic_tlv_put_uint(&w, 0x80, f->size, 2);
		/* Tag 88 carries the SFI in bits 8 to 4. */
		if (f->sfi != 0)
			mic_tlv_put_uint(&w, 0x88, (uint64_t)f->sfi << 3, 1);
	}
	mic_tlv_put_uint(&w, 0x8A, lcs, 1);
	if (mic_tlv_writer_finish(&w, &len) != MIC_OK)
		return 0;
	return len;
}

int
vc_fs_same_layout(const struct vc_fs *a, const struct vc_fs *b)
{
	return a->nfiles == b->nfiles && a->pool_used == b->pool_used &&
	    memcmp(a->file, b->file, sizeof(a->file)) == 0;
}

int
vc_fs_recstate_valid(const struct vc_fs *fs)
{
	for (size_t i = 0; i < VC_FS_MAX_FILES; i++) {
		const struct vc_recstate *rs = &fs->rec[i];
		if (i >= fs->nfiles || fs->file[i].type != VC_FT_CYCLIC) {
			if (rs->next != 0 || rs->count != 0)
				return 0;
			continue;
		}
		if (rs->next >= fs->file[i].rec_max ||
		    rs->count > fs->file[i].rec_max)
			return 0;
		/* Until the EF is full, the next slot is the count. */
		if (rs->count < fs->file[i].rec_max && rs->next != rs->count)
			return 0;
	}
	return 1;
}
