/*
 * The card's file system (ISO/IEC 7816-4 clause 7): a tree of DFs and EFs,
 * transparent, linear fixed and cyclic EFs, file and short file
 * identifiers, DF names, and per file the access classes that the card's
 * access table (card.c) interprets.
 *
 * Everything here is persistent card state and is kept free of pointers and
 * of padding: files refer to their parent by index and to their body by an
 * offset in one data pool, so the whole struct is written to the card image
 * as it is. RAM state (the current DF and EF) lives in the card, not here.
 */
#ifndef VC_FS_H
#define VC_FS_H

#include <stddef.h>
#include <stdint.h>

#define VC_FS_MAX_FILES 16
#define VC_FS_POOL 6144      /* bytes for all EF bodies together */
#define VC_AID_MAX 16        /* DF names are 1 to 16 bytes */
#define VC_FID_MF 0x3F00
#define VC_REC_MAX 254       /* records per record EF (P1 is one byte) */

/* File types; the value is the ISO 7816-4 file descriptor byte (tag 82). */
enum vc_ftype {
	VC_FT_TRANSPARENT = 0x01,
	VC_FT_LINEAR_FIXED = 0x02,
	VC_FT_CYCLIC = 0x06,
	VC_FT_DF = 0x38,
};

/* Life cycle status bytes (ISO 7816-4 clause 7.4.10, tag 8A). */
enum vc_lcs {
	VC_LCS_CREATION = 0x01,
	VC_LCS_INITIALISATION = 0x03,
	VC_LCS_DEACTIVATED = 0x04,
	VC_LCS_ACTIVATED = 0x05,
	VC_LCS_TERMINATED = 0x0C,
};

/* 36 bytes, no padding: the struct is stored as it is. */
struct vc_file {
	uint16_t fid;
	uint8_t type;       /* enum vc_ftype */
	uint8_t sfi;        /* 1..30, 0 = none */
	uint8_t parent;     /* index of the parent DF; the MF is its own parent */
	uint8_t aid_len;    /* DFs: length of the DF name, 0 = none */
	uint8_t acc_read;   /* access class of READ BINARY / READ RECORD */
	uint8_t acc_update; /* access class of UPDATE RECORD */
	uint8_t aid[VC_AID_MAX];
	uint16_t rec_len;   /* record EFs: the fixed record length */
	uint16_t rec_max;   /* record EFs: number of records */
	uint32_t off;       /* EFs: body offset in the pool */
	uint32_t size;      /* EFs: body size in bytes */
};

/*
 * Where a cyclic EF stands: the physical slot the next record goes to and
 * how many records were ever written (at most rec_max). Linear fixed EFs
 * need none: all their records exist from the start.
 */
struct vc_recstate {
	uint8_t next;
	uint8_t count;
};

struct vc_fs {
	struct vc_file file[VC_FS_MAX_FILES]; /* file[0] is the MF */
	uint32_t nfiles;
	uint32_t pool_used;
	struct vc_recstate rec[VC_FS_MAX_FILES];
	uint8_t pool[VC_FS_POOL];
};

/* Start an empty file system holding only the MF. */
void vc_fs_init(struct vc_fs *fs);

/* Add a DF under @p parent. Returns its index, or -1 when full or invalid. */
int vc_fs_add_df(struct vc_fs *fs, int parent, uint16_t fid,
    const uint8_t *aid, size_t aid_len);

/*
 * Add an EF under @p parent with a zeroed body. For transparent EFs @p size
 * is the body size and @p rec_len is 0; for record EFs the body holds
 * @p size / @p rec_len records. Returns its index, or -1.
 */
int vc_fs_add_ef(struct vc_fs *fs, int parent, uint16_t fid, uint8_t sfi,
    enum vc_ftype type, size_t size, size_t rec_len);

const struct vc_file *vc_fs_get(const struct vc_fs *fs, int idx);
uint8_t *vc_fs_body(struct vc_fs *fs, int idx);
const uint8_t *vc_fs_cbody(const struct vc_fs *fs, int idx);
int vc_fs_is_df(const struct vc_fs *fs, int idx);
int vc_fs_is_record(const struct vc_fs *fs, int idx);

/*
 * Record @p recno (1-based) of a record EF as ISO 7816-4 numbers it: for a
 * linear fixed EF the physical record, for a cyclic EF record 1 is the
 * newest. NULL when the EF has no such record (never written, or past the
 * end).
 */
const uint8_t *vc_fs_record(const struct vc_fs *fs, int idx, unsigned recno);

/* Record @p recno of a linear fixed EF, for writing; NULL as above. */
uint8_t *vc_fs_record_w(struct vc_fs *fs, int idx, unsigned recno);

/*
 * Write a new record 1 into a cyclic EF, the oldest record making room
 * once it is full. @p len must be the record length. Returns 0 or -1.
 */
int vc_fs_cyclic_append(struct vc_fs *fs, int idx, const uint8_t *rec,
    size_t len);

/* Number of records that exist: rec_max, or a cyclic EF's count. */
unsigned vc_fs_record_count(const struct vc_fs *fs, int idx);

/*
 * Find a file by FID the way SELECT with P1=00 searches (ISO 7816-4 clause
 * 7.2.2): the current DF itself, its children, its parent, the parent's
 * children. Returns the index or -1.
 */
int vc_fs_find_fid(const struct vc_fs *fs, int cur_df, uint16_t fid);

/* A child of @p df with @p fid; @p want_df 1 = DFs only, 0 = EFs only. */
int vc_fs_find_child(const struct vc_fs *fs, int df, uint16_t fid, int want_df);

/* The EF with @p sfi among the children of @p df, or -1. */
int vc_fs_find_sfi(const struct vc_fs *fs, int df, uint8_t sfi);

/*
 * The first DF after index @p after (-1 = from the start) whose name begins
 * with @p name (right-truncated names match, ISO 7816-4 clause 7.2.2).
 */
int vc_fs_find_name(const struct vc_fs *fs, const uint8_t *name, size_t len,
    int after);

/*
 * The file control parameters of a file as a sequence of BER-TLV data
 * objects, without the enclosing template: 82, 83, 84 (DFs with a name),
 * 80 (EFs), 88 (EFs with an SFI), 8A with @p lcs. The life cycle is the
 * card's to say (it follows the application's state), so it is a parameter.
 * Returns the length written, or 0 if @p cap is too small.
 */
size_t vc_fs_fcp(const struct vc_fs *fs, int idx, uint8_t lcs, uint8_t *buf,
    size_t cap);

/*
 * Is the table of files (not the bodies nor the record positions) of @p a
 * the same as that of @p b? A loaded image must have exactly the layout the
 * card builds, so that no stored index or offset can point astray.
 */
int vc_fs_same_layout(const struct vc_fs *a, const struct vc_fs *b);

/* Are the record positions of @p fs within their files? */
int vc_fs_recstate_valid(const struct vc_fs *fs);

#endif
