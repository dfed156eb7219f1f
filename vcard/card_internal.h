/*
 * Inside the card engine: the persistent and RAM state, the command
 * interface between card.c (transport, dispatch, access, SELECT) and the
 * command families in their own files (files.c, pin.c, perso.c, life.c,
 * purse.c), and the profile's data-object checks (tmpl.c).
 */
#ifndef VC_CARD_INTERNAL_H
#define VC_CARD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include <mic/apdu.h>

#include "fs.h"
#include "sm_internal.h"
#include "vcard.h"

/* Status words (docs/card-profile.md section 3.13). */
#define SW_OK 0x9000
#define SW_EOF 0x6282
#define SW_DEACTIVATED 0x6283
#define SW_TERMINATED 0x6285
#define SW_TRIES_BASE 0x63C0
#define SW_WRONG_LENGTH 0x6700
#define SW_CHANNEL 0x6881
#define SW_SM 0x6882
#define SW_LAST_CHAIN 0x6883
#define SW_NO_CHAINING 0x6884
#define SW_FILE_TYPE 0x6981
#define SW_SECURITY 0x6982
#define SW_SM_DROPPED 0x6988
#define SW_PIN_BLOCKED 0x6983
#define SW_CONDITIONS 0x6985
#define SW_NO_EF 0x6986
#define SW_WRONG_DATA 0x6A80
#define SW_NOT_FOUND 0x6A82
#define SW_NO_RECORD 0x6A83
#define SW_NO_MEMORY 0x6A84
#define SW_P1P2 0x6A86
#define SW_NO_REFERENCE 0x6A88
#define SW_OFFSET 0x6B00
#define SW_INS 0x6D00
#define SW_CLA 0x6E00
#define SW_UNKNOWN 0x6F00
#define SW_BALANCE 0x9401
/*
 * Not a status word: the commit failed, the card lost power mid-write and
 * answers nothing. vc_card_transmit() turns it into MIC_ERR_IO.
 */
#define SW_MUTE 0x0000

/* DEBIT: it ends the PIN's verified state whatever its outcome. */
#define INS_DEBIT 0x54

/* The profile's files (docs/card-profile.md section 1). */
#define FID_DIR 0x2F00
#define FID_APP 0xDF01
#define FID_CARD 0x0101
#define FID_HOLDER 0x0102
#define FID_INSURANCE 0x0103
#define FID_SOD 0x0104
#define FID_CERT 0x0105
#define FID_ACTIVATION 0x0106
#define FID_FAMILY 0x0107
#define FID_ACCOUNT 0x0108
#define FID_LOG 0x0109

#define SFI_DIR 30
#define DIR_SIZE 32
#define CARD_SIZE 128
#define HOLDER_SIZE 160
#define INSURANCE_SIZE 64
#define SOD_SIZE 2048
#define CERT_SIZE 1024
#define ACTIVATION_SIZE 48
#define FAMILY_RECORDS 8
#define FAMILY_RECLEN 128
#define ACCOUNT_SIZE 32
#define LOG_RECORDS 30
#define LOG_RECLEN 48

#define PIN_TRIES 3
#define PIN_MIN 6
#define PIN_MAX 12
#define PIN_BLOCK_LEN 8

#define P256_PRIV_LEN 32
#define P256_POINT_LEN 65
#define SIG_MAX 72                     /* DER ECDSA P-256, at most */
#define TX_DATA_LEN 40                 /* DEBIT / CREDIT data field */
#define RECEIPT_MAX (4 + 8 + SIG_MAX)
#define CARD_ID_LEN 32

/*
 * The chip factory's keys (docs/card-profile.md 4.4). One key pair serves
 * SCP11a (KID 11) and SCP11b (KID 13), as Amd F 7.1.1 allows; the root is
 * the OCE CA key PK.CA-KLOC.ECDSA (KID 10).
 */
#define SD_KVN 0x01
#define OCE_KVN 0x01
#define OCE_KID 0x10
#define VC_FACTORY_CERT_MAX 1024

/* DGIs stored while blank: bits of vc_nv.perso. */
#define PERSO_CARD 0x01
#define PERSO_HOLDER 0x02
#define PERSO_INSURANCE 0x04
#define PERSO_SOD 0x08
#define PERSO_CERT 0x10
#define PERSO_PIN 0x20
#define PERSO_FAMILY 0x40
#define PERSO_REQUIRED 0x3F            /* all but the optional family */
#define PERSO_ALL 0x7F

/*
 * The persistent state: what a real card keeps in EEPROM. Pointer-free and
 * padding-free, stored byte for byte by the image store. The layout version
 * changes whenever this struct or struct vc_fs changes.
 */
#define VC_NV_MAGIC "MICV"
#define VC_NV_VERSION VC_CARD_NV_LAYOUT
#define VC_NV_BYTE_ORDER 0x01020304u   /* as the host stores it */

struct vc_nv {
	uint8_t magic[4];         /* VC_NV_MAGIC */
	uint8_t version[2];       /* VC_NV_VERSION, big-endian */
	uint8_t state;            /* enum vc_state */
	uint8_t perso;            /* PERSO_* bits */
	uint32_t byte_order;      /* VC_NV_BYTE_ORDER: rejects foreign images */
	uint32_t size;            /* sizeof(struct vc_nv) */
	uint8_t serial[8];        /* chip serial, set by the chip factory */
	uint8_t pin_hash[32];     /* SHA-256(serial || PIN digits in ASCII) */
	uint8_t pin_set;          /* a PIN exists */
	uint8_t pin_tries;        /* 0 (blocked) to PIN_TRIES */
	uint8_t pin_transport;    /* the PIN is still the transport PIN */
	uint8_t key_set;          /* priv and pub hold the card's key pair */
	uint8_t priv[P256_PRIV_LEN];   /* P-256 private scalar */
	uint8_t pub[P256_POINT_LEN];   /* uncompressed public point */
	uint8_t last_valid;       /* last_* describe a DEBIT or CREDIT */
	uint8_t last_ins;         /* its INS: 54 DEBIT, 52 CREDIT */
	uint8_t last_rsp_len;
	uint8_t last_data[TX_DATA_LEN]; /* its data field: reference and all */
	uint8_t last_rsp[RECEIPT_MAX];  /* the receipt it returned */
	/* The chip factory's part (docs/card-profile.md 4.4), layout 2. */
	uint8_t ecka_set;         /* ECKA_NONE, ECKA_KEY or ECKA_READY */
	uint8_t ecka_priv[P256_PRIV_LEN];  /* SK.SD.ECKA */
	uint8_t ecka_pub[P256_POINT_LEN];  /* PK.SD.ECKA */
	uint8_t card_time[8];     /* seconds since the epoch, big-endian */
	uint8_t ecka_cert_len[2]; /* big-endian */
	uint8_t root_len[2];
	uint8_t rfu[2];           /* 00 00 */
	uint8_t ecka_cert[VC_FACTORY_CERT_MAX]; /* CERT.SD.ECKA, DER */
	uint8_t root[VC_FACTORY_CERT_MAX];      /* the OCE trust anchor, DER */
	struct vc_fs fs;          /* 4-aligned */
};

/* vc_nv.ecka_set */
#define ECKA_NONE 0
#define ECKA_KEY 1      /* key generated, certificate not yet stored */
#define ECKA_READY 2    /* key, CERT.SD.ECKA, root and date: SCP11 works */

/* A command chain being assembled (ISO/IEC 7816-4 clause 5.3.3). */
struct vc_chain {
	int active;
	uint8_t cla;       /* of the first part, without the chaining bit */
	uint8_t ins;
	uint8_t p1;
	uint8_t p2;
	size_t len;
	uint8_t buf[VC_CHAIN_MAX];
};

/* Response data kept in card->out for the next command, if GET RESPONSE. */
struct vc_pending {
	int active;
	size_t off;
	size_t len;
	uint16_t sw;       /* the status word once everything has been fetched */
};

/*
 * SCP11a: the OCE certificates PERFORM SECURITY OPERATION brings, DER,
 * bounded in number and bytes, until the leaf arrives and the chain is
 * verified; then only the leaf's point and role are kept, for the MUTUAL
 * AUTHENTICATE that must follow.
 */
#define OCE_CERTS_MAX 3
#define OCE_BUF_MAX VC_CHAIN_MAX
struct vc_oce {
	unsigned n;
	size_t len;
	size_t off[OCE_CERTS_MAX + 1];
	uint8_t buf[OCE_BUF_MAX];
	int ready;                    /* verified: point and role hold */
	uint8_t point[P256_POINT_LEN];
	enum vc_role role;
};

/* RAM: lost on power-off and reset. */
struct vc_ram {
	int cur_df;
	int cur_ef;              /* -1: no current EF */
	enum vc_role role;       /* the role the current command runs with */
	enum vc_role test_role;  /* vc_card_test_set_role(): plain commands */
	int pin_ok;              /* VERIFY succeeded in this session */
	unsigned perso_block;    /* the STORE DATA block number expected next */
	int mute;                /* a commit failed: silent until power-off */
	struct vc_chain chain;
	struct vc_pending pend;
	struct vc_oce oce;
	mici_sm *sm;             /* the secure channel; NULL: none */
	int sm_variant;          /* MICI_SCP11A or MICI_SCP11B */
	enum vc_role sm_role;    /* SCP11a: the verified leaf's role */
	int sm_cmd;              /* this command came protected and unwrapped */
	int sm_drop;             /* end the session once this response is wrapped */
};

struct vc_card {
	struct vc_nv nv;         /* the committed state */
	struct vc_nv work;       /* a write command's copy; zero otherwise */
	int app;                 /* index of DF.MIC in the file system */
	unsigned flags;
	vc_commit_fn *commit;
	void *commit_arg;
	struct vc_ram ram;
	uint8_t out[MIC_APDU_NE_MAX_EXT]; /* response data being built */
	/* Plain data of a protected command, then the protected response. */
	uint8_t smbuf[MIC_APDU_NE_MAX_EXT + 2 * MICI_SM_BLOCK];
};

struct vc_req {
	mic_apdu a;
	int ext;                /* sent with extended length fields */
	int le_max;             /* Le was 00 (short) or 0000 (extended) */
	int is_case2;           /* as sent: no data field, an Le field */
	struct vc_pending pend; /* what the previous command left for us */
};

struct vc_rsp {
	uint8_t *buf;
	size_t cap;
	size_t off;   /* the data is buf[off .. off + len) */
	size_t len;
};

typedef uint16_t vc_cmd_fn(struct vc_card *card, struct vc_req *req,
    struct vc_rsp *r);

/*
 * Access classes: the rows of the table in docs/card-profile.md section
 * 4.3. Files carry a read class and an update class; commands name theirs.
 */
enum vc_acc {
	ACC_READ_DIR = 0,
	ACC_READ_PUBLIC,     /* EF.CARD, EF.SOD, EF.CERT */
	ACC_READ_PRIVATE,    /* EF.FAMILY, EF.ACCOUNT, EF.LOG */
	ACC_UPDATE_NEVER,    /* UPDATE BINARY, any EF; UPDATE RECORD but family */
	ACC_UPDATE_FAMILY,   /* UPDATE RECORD EF.FAMILY */
	ACC_PERSO,           /* GENERATE ASYMMETRIC KEY PAIR, STORE DATA */
	ACC_VERIFY,
	ACC_CHANGE,
	ACC_RESET_PIN,
	ACC_ACTIVATE,
	ACC_DEACTIVATE,
	ACC_TERMINATE,
	ACC_DEBIT,
	ACC_CREDIT,
	ACC_READ_PERSONAL,   /* EF.HOLDER, EF.INSURANCE, EF.ACTIVATION */
	ACC_COUNT
};

/* card.c */
uint16_t vc_access(const struct vc_card *card, enum vc_acc acc);
/* 6986 unless DF.MIC is the current DF, then vc_access(). */
uint16_t vc_app_access(const struct vc_card *card, enum vc_acc acc);
int vc_in_app(const struct vc_card *card, int idx);
int vc_app_file(const struct vc_card *card, uint16_t fid);
int vc_rsp_put(struct vc_rsp *r, const uint8_t *p, size_t len);

/*
 * A write command takes the copy, changes it, and commits it once:
 * vc_nv_commit() answers SW_OK (the copy is now the card's state) or
 * SW_MUTE (the commit failed, the card keeps its old state and goes mute).
 * vc_nv_abort() drops the copy. No two copies are open at a time.
 */
struct vc_nv *vc_nv_begin(struct vc_card *card);
uint16_t vc_nv_commit(struct vc_card *card);
void vc_nv_abort(struct vc_card *card);

/* Command handlers, one per INS. */
vc_cmd_fn vc_cmd_get_data, vc_cmd_pso, vc_cmd_mutual_auth,
    vc_cmd_internal_auth;
vc_cmd_fn vc_cmd_read_binary, vc_cmd_update_binary, vc_cmd_read_record,
    vc_cmd_update_record, vc_cmd_verify, vc_cmd_change_pin,
    vc_cmd_reset_pin, vc_cmd_generate_key, vc_cmd_store_data,
    vc_cmd_activate, vc_cmd_deactivate, vc_cmd_terminate, vc_cmd_debit,
    vc_cmd_credit;

/*
 * scp.c: end the secure channel (keys wiped). If the command being
 * answered came protected, its response is still wrapped first.
 */
void vc_sm_end(struct vc_card *card);
/* End it at once, and forget any OCE certificates collected. */
void vc_sm_drop(struct vc_card *card);
/* Forget the OCE certificates collected, verified or not; the channel stays. */
void vc_sm_forget_chain(struct vc_card *card);
/* Unwrap the complete protected command in @p req; SW_OK or the SW. */
uint16_t vc_sm_unwrap(struct vc_card *card, struct vc_req *req);
/* Wrap the response; returns the SW to send, r now protected. */
uint16_t vc_sm_wrap(struct vc_card *card, struct vc_req *req,
    struct vc_rsp *r, uint16_t sw);

/* pin.c: the PIN of DGI 8010 into @p nv; SW_OK or SW_WRONG_DATA. */
uint16_t vc_pin_set_block(struct vc_nv *nv, const uint8_t *blk, size_t len);

/* key.c: the card's P-256 key pair; 0 or -1. */
int vc_key_generate(uint8_t priv[P256_PRIV_LEN],
    uint8_t pub[P256_POINT_LEN]);
int vc_key_sign(const uint8_t priv[P256_PRIV_LEN],
    const uint8_t pub[P256_POINT_LEN], const uint8_t *msg, size_t len,
    uint8_t sig[SIG_MAX], size_t *sig_len);
/* An EVP_PKEY of a key pair (private scalar and point), or of a point. */
EVP_PKEY *vc_key_pkey(const uint8_t priv[P256_PRIV_LEN],
    const uint8_t pub[P256_POINT_LEN]);
EVP_PKEY *vc_key_public(const uint8_t pub[P256_POINT_LEN]);

/*
 * purse.c: EF.ACCOUNT, E4 { 80 balance b8, 81 counter b4 }, kept in this
 * one fixed layout so the card reads and writes it in place.
 */
void vc_account_put(uint8_t body[ACCOUNT_SIZE], uint64_t balance,
    uint32_t counter);
int vc_account_get(const uint8_t body[ACCOUNT_SIZE], uint64_t *balance,
    uint32_t *counter);

/* tmpl.c: checks of the profile's data objects (section 2). */
int vc_fmt_an(const uint8_t *p, size_t n);
int vc_fmt_n14(const uint8_t *p);
/*
 * The body that STORE DATA brings for EF @p fid (0101-0105): the file's
 * template, complete and well-formed, then nothing but 00 padding.
 */
int vc_tmpl_check_body(uint16_t fid, const uint8_t *p, size_t n);
/* An EF.FAMILY record: all 00 (free) or an E3 template and 00 padding. */
int vc_tmpl_check_family(const uint8_t *rec, size_t n);
int vc_tmpl_is_free(const uint8_t *rec, size_t n);
/* The card identification code in an EF.CARD body. */
int vc_tmpl_card_id(const uint8_t *body, size_t n, const uint8_t **id);
/* The activation policy byte in an EF.INSURANCE body. */
int vc_tmpl_policy(const uint8_t *body, size_t n, uint8_t *policy);
/* The may-pay flag of a non-free EF.FAMILY record. */
int vc_tmpl_may_pay(const uint8_t *rec, size_t n, uint8_t *may_pay);

#endif
