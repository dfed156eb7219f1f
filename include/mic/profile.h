/*
 * libmic: the card's data layout, docs/card-profile.md section 2.
 *
 * One opaque type per template, each with _new/_free(&p), setters that
 * validate, getters, and an encoder and decoder:
 *
 *   mic_cardinfo_t    EF.CARD, template 66
 *   mic_holder_t      EF.HOLDER, template 65
 *   mic_insurance_t   EF.INSURANCE, template E1
 *   mic_activation_t  EF.ACTIVATION, template E2
 *   mic_member_t      one EF.FAMILY record, template E3
 *   mic_account_t     EF.ACCOUNT, template E4
 *   mic_logrec_t      one EF.LOG record, 48 bytes of fixed layout
 *
 * plus plain values for the SELECT FCI (mic_fci) and the card
 * identification code (mic_cardid), and the national code tables.
 *
 * Conventions shared by every type:
 *   - Text comes and goes as NUL-terminated strings: codes ("1", "10",
 *     "440305"), dates "YYYYMMDD" (n8), date-times "YYYYMMDDhhmmss" (n14),
 *     names in UTF-8. A getter returns NULL for a field never set; the
 *     string stays valid until the field is set again or the object freed.
 *   - Amounts are int64_t fen.
 *   - A setter checks its value the way the decoder checks the card's, and
 *     also against the fields already set (a gender against the social
 *     security number, say); on failure the object is unchanged.
 *   - An encoder writes the template alone, without the file's 00 padding,
 *     after checking that every mandatory field is set and that the fields
 *     agree.
 *   - A decoder takes the whole file or record as read: one template, then
 *     only 00 bytes. It ignores context-specific tags it does not know (room
 *     for later versions of the profile) and rejects everything else that is
 *     not exactly as the profile says. On failure the object is unchanged.
 *     An all-00 file or record is "never written": MIC_ERR_NOT_FOUND.
 *
 * Errors that every setter, encoder and decoder may return besides those
 * listed with each function: MIC_ERR_INVALID_ARGUMENT for NULL pointers.
 * A decoder also returns every error of mic_tlv_parse() for a malformed
 * BER-TLV.
 */
#ifndef MIC_PROFILE_H
#define MIC_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include <mic/err.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --- files ------------------------------------------------------------ */

/** Short file identifiers, card profile section 1. */
enum {
	MIC_SFI_CARD = 1,
	MIC_SFI_HOLDER = 2,
	MIC_SFI_INSURANCE = 3,
	MIC_SFI_SOD = 4,
	MIC_SFI_CERT = 5,
	MIC_SFI_ACTIVATION = 6,
	MIC_SFI_FAMILY = 7,
	MIC_SFI_ACCOUNT = 8,
	MIC_SFI_LOG = 9,
	MIC_SFI_DIR = 30,
};

/** File and record sizes in bytes, card profile section 1. */
#define MIC_EF_CARD_SIZE 128
#define MIC_EF_HOLDER_SIZE 160
#define MIC_EF_INSURANCE_SIZE 64
#define MIC_EF_CERT_SIZE 1024
#define MIC_EF_ACTIVATION_SIZE 48
#define MIC_EF_ACCOUNT_SIZE 32
#define MIC_FAMILY_RECORD_SIZE 128
#define MIC_FAMILY_RECORDS 8
#define MIC_LOG_RECORD_SIZE 48
#define MIC_LOG_RECORDS 30

/** Field sizes. */
#define MIC_CARDID_LEN 32       /**< card identification code, an32 */
#define MIC_CARD_NUMBER_LEN 9   /**< printed card number, an9 */
#define MIC_REGION_LEN 6        /**< GB/T 2260 region code, an6 */
#define MIC_NAME_MAX 60         /**< a name: 1-60 bytes of UTF-8 */
#define MIC_TERMINAL_ID_LEN 8   /**< terminal identifier, an8 */
#define MIC_CHIP_SERIAL_LEN 8   /**< chip serial, b8 */
#define MIC_LOG_REF_LEN 11      /**< transaction reference bytes kept in a log record */
#define MIC_AID_MAX 16          /**< longest AID (ISO/IEC 7816-4) */

/**
 * The MIC application identifier D1 56 00 00 01 4D 49 43 01: the one
 * constant a terminal takes it from (its RID is a placeholder until the
 * issuing authority registers one).
 * @param len  receives the length, 9; may be NULL
 */
const uint8_t *mic_aid(size_t *len);

/* --- enumerations ----------------------------------------------------- */

/** Lifecycle state, the MIC state of the FCI (card profile section 5). */
typedef enum mic_state {
	MIC_STATE_BLANK = 1,
	MIC_STATE_PERSONALIZED = 2,
	MIC_STATE_ACTIVE = 3,
	MIC_STATE_BLOCKED = 4,
	MIC_STATE_TERMINATED = 5,
} mic_state;

/** "blank", "personalized", ...; "unknown" for other values. Never NULL. */
const char *mic_state_name(mic_state state);

/** Terminal roles (card profile section 4.2). */
typedef enum mic_role {
	MIC_ROLE_HOSPITAL = 1,
	MIC_ROLE_PHARMACY = 2,
	MIC_ROLE_BANK = 3,
	MIC_ROLE_AGENCY = 4,
	MIC_ROLE_BUREAU = 5,
} mic_role;

/** Insurance scheme (EF.INSURANCE tag 80). */
typedef enum mic_scheme {
	MIC_SCHEME_EMPLOYEE = 1,  /**< employee basic medical insurance */
	MIC_SCHEME_RESIDENT = 2,  /**< resident basic medical insurance */
} mic_scheme;

/** Activation policy bits (EF.INSURANCE tag 83). */
#define MIC_POLICY_FIRST_USE 0x01u  /**< may be activated on first use at a hospital or pharmacy */

/** Kind of a logged transaction. */
typedef enum mic_logtype {
	MIC_LOG_DEBIT = 1,
	MIC_LOG_CREDIT = 2,
} mic_logtype;

/* --- national code tables --------------------------------------------- */

/**
 * The code tables, generated at build time from public national standards
 * (sources in libmic/data/README.md).
 */
typedef enum mic_code_table {
	MIC_CODE_GENDER = 1,     /**< GB/T 2261.1: "0", "1", "2", "9" */
	MIC_CODE_KINSHIP = 2,    /**< GB/T 4761 two-digit codes, "01"-"99" */
	MIC_CODE_ETHNICITY = 3,  /**< GB/T 3304, "01"-"56" */
	MIC_CODE_PROVINCE = 4,   /**< GB/T 2260 provinces, "110000"-"820000" */
	MIC_CODE_PREFECTURE = 5, /**< GB/T 2260 prefecture-level divisions */
	/**
	 * A GB/T 2260 code of any level. The tables stop at prefectures, so a
	 * code is valid when it is 6 digits and its province exists; county
	 * codes are not checked further. Lookups find provinces and
	 * prefectures.
	 */
	MIC_CODE_REGION = 6,
} mic_code_table;

typedef enum mic_lang {
	MIC_LANG_ZH = 0,  /**< the standard's Chinese name */
	MIC_LANG_EN = 1,  /**< an English name; prefectures have none */
} mic_lang;

/** One row of a code table; the library owns it. */
typedef struct mic_code_entry {
	const char *code;
	const char *name_zh;
	const char *name_en;  /**< NULL for prefectures */
	const char *alpha;    /**< two-letter code (provinces, ethnicities), or NULL */
} mic_code_entry;

/** Is @p code a valid code of @p table? 1 or 0; 0 for NULL. */
int mic_code_valid(mic_code_table table, const char *code);

/** The row of @p code, or NULL; for MIC_CODE_REGION only provinces and prefectures have rows. */
const mic_code_entry *mic_code_find(mic_code_table table, const char *code);

/** The name of @p code in @p lang, or NULL when there is no such row or name. */
const char *mic_code_name(mic_code_table table, const char *code, mic_lang lang);

/** Rows in @p table (0 for an unknown table). */
size_t mic_code_count(mic_code_table table);

/** Row @p i of @p table, by code; NULL past the end. */
const mic_code_entry *mic_code_at(mic_code_table table, size_t i);

/**
 * For display: the names of the province and the prefecture that hold the
 * region @p code. @p *prefecture is NULL when the code is a province, when
 * its prefecture is not in the table (municipalities, counties under a
 * province) or, in English, always.
 * @retval MIC_OK
 * @retval MIC_ERR_CODE  @p code is not a valid MIC_CODE_REGION code
 */
mic_rc mic_region_names(const char *code, mic_lang lang, const char **province,
    const char **prefecture);

/* --- card identification code (section 2.1.1) -------------------------- */

/** The parts of the 32-character card identification code. */
typedef struct mic_cardid {
	char issuer[MIC_REGION_LEN + 1]; /**< GB/T 2260 code of the issuing agency's region */
	unsigned card_type;              /**< 1: holder card */
	unsigned version_major;          /**< profile version, 1 */
	unsigned version_minor;          /**< 0-9 */
	unsigned bureau;                 /**< card bureau code, 0-999 */
	uint64_t serial;                 /**< serial within the bureau, 0-9999999999 */
} mic_cardid;

/**
 * Build the 32 characters: issuer, the RID of mic_aid() in upper-case hex,
 * card type digit, version digits, bureau (3 digits), serial (10 digits).
 * @param out  receives 32 characters and a NUL
 * @param cap  at least MIC_CARDID_LEN + 1
 * @retval MIC_OK
 * @retval MIC_ERR_BUFFER_TOO_SMALL  @p cap too small
 * @retval MIC_ERR_CODE              @p id->issuer is not a region code
 * @retval MIC_ERR_VALUE             a card type other than 1, a version
 *                                   other than 1.0-1.9, a bureau over 999
 *                                   or a serial over 10 digits
 */
mic_rc mic_cardid_build(const mic_cardid *id, char *out, size_t cap);

/**
 * Split a card identification code into its parts, checking each.
 * @retval MIC_OK
 * @retval MIC_ERR_FORMAT  not 32 characters, or letters where digits go
 * @retval MIC_ERR_CODE    the issuer is not a region code
 * @retval MIC_ERR_VALUE   a RID other than mic_aid()'s, a card type other
 *                         than 1, or a version other than 1.x
 */
mic_rc mic_cardid_parse(const char *s, mic_cardid *id);

/* --- SELECT FCI (section 3.1) ------------------------------------------ */

/** 6F { 84 AID, A5 { 80 MIC state, 81 chip serial } }. */
typedef struct mic_fci {
	uint8_t aid[MIC_AID_MAX];
	size_t aid_len;          /**< 5-16 */
	mic_state state;
	uint8_t chip_serial[MIC_CHIP_SERIAL_LEN];
} mic_fci;

/**
 * @retval MIC_OK                    @p *len bytes written
 * @retval MIC_ERR_VALUE             an AID not of 5-16 bytes, or a state
 *                                   outside 1-5
 * @retval MIC_ERR_BUFFER_TOO_SMALL  @p cap too small
 */
mic_rc mic_fci_encode(const mic_fci *fci, uint8_t *buf, size_t cap, size_t *len);

/**
 * Decode the FCI a SELECT returned. Any AID of 5-16 bytes is accepted;
 * comparing it with mic_aid() is the caller's business.
 * @retval MIC_OK
 * @retval MIC_ERR_NOT_FOUND   empty or all 00
 * @retval MIC_ERR_TEMPLATE    not a 6F template (or A5 inside it), a
 *                             repeated or foreign object, or non-00 bytes
 *                             after it
 * @retval MIC_ERR_MISSING     no 84, A5, or A5 without 80 or 81
 * @retval MIC_ERR_FORMAT      an AID not of 5-16 bytes, a state not of
 *                             one byte or a serial not of 8
 * @retval MIC_ERR_VALUE       a state outside 1-5
 */
mic_rc mic_fci_decode(mic_fci *fci, const uint8_t *buf, size_t len);

/* --- EF.CARD: template 66 ---------------------------------------------- */

typedef struct mic_cardinfo mic_cardinfo_t;

/** A new EF.CARD with card type 1 and profile version 1.0; NULL if out of memory. */
mic_cardinfo_t *mic_cardinfo_new(void);
/** Free @p *ci and set it to NULL. NULL-safe. */
void mic_cardinfo_free(mic_cardinfo_t **ci);

/**
 * Tag 80, the card identification code.
 * @retval MIC_OK
 * @retval MIC_ERR_FORMAT, MIC_ERR_CODE, MIC_ERR_VALUE  as mic_cardid_parse()
 * @retval MIC_ERR_MISMATCH  its issuer, card type or version differs from
 *                           the one already set
 */
mic_rc mic_cardinfo_set_id(mic_cardinfo_t *ci, const char *id);
/**
 * Tag 81, the printed card number.
 * @retval MIC_ERR_FORMAT  not exactly 9 printable ASCII characters
 */
mic_rc mic_cardinfo_set_number(mic_cardinfo_t *ci, const char *number);
/**
 * Tag 82, the card type.
 * @retval MIC_ERR_VALUE     other than 1
 */
mic_rc mic_cardinfo_set_type(mic_cardinfo_t *ci, unsigned type);
/**
 * Tag 83, the profile version.
 * @retval MIC_ERR_VALUE     a major other than 1 or a minor over 9
 * @retval MIC_ERR_MISMATCH  the card identification code says otherwise
 */
mic_rc mic_cardinfo_set_version(mic_cardinfo_t *ci, unsigned major,
    unsigned minor);
/**
 * Tag 42, the issuer identification number: a GB/T 2260 region code.
 * @retval MIC_ERR_FORMAT    not 6 characters
 * @retval MIC_ERR_CODE      not a valid region code
 * @retval MIC_ERR_MISMATCH  the card identification code says otherwise
 */
mic_rc mic_cardinfo_set_issuer(mic_cardinfo_t *ci, const char *region);
/**
 * Tag 5F25, "YYYYMMDD".
 * @retval MIC_ERR_FORMAT    not 8 digits
 * @retval MIC_ERR_DATE      not a real date
 * @retval MIC_ERR_MISMATCH  not before the expiry date
 */
mic_rc mic_cardinfo_set_issue_date(mic_cardinfo_t *ci, const char *date);
/** Tag 5F24, "YYYYMMDD"; errors as mic_cardinfo_set_issue_date(), the expiry after the issue. */
mic_rc mic_cardinfo_set_expiry_date(mic_cardinfo_t *ci, const char *date);

const char *mic_cardinfo_id(const mic_cardinfo_t *ci);
const char *mic_cardinfo_number(const mic_cardinfo_t *ci);
unsigned mic_cardinfo_type(const mic_cardinfo_t *ci);
/** The version as major << 8 | minor, e.g. 0x0100. */
unsigned mic_cardinfo_version(const mic_cardinfo_t *ci);
const char *mic_cardinfo_issuer(const mic_cardinfo_t *ci);
const char *mic_cardinfo_issue_date(const mic_cardinfo_t *ci);
const char *mic_cardinfo_expiry_date(const mic_cardinfo_t *ci);

/**
 * @retval MIC_OK                    @p *len bytes written
 * @retval MIC_ERR_MISSING           a mandatory field is not set
 * @retval MIC_ERR_BUFFER_TOO_SMALL  @p cap too small (MIC_EF_CARD_SIZE is enough)
 */
mic_rc mic_cardinfo_encode(const mic_cardinfo_t *ci, uint8_t *buf, size_t cap,
    size_t *len);
/**
 * @retval MIC_OK
 * @retval MIC_ERR_NOT_FOUND  empty or all 00
 * @retval MIC_ERR_TEMPLATE   not template 66, a repeated or non-context-specific
 *                            unknown object, or non-00 bytes after it
 * @retval MIC_ERR_MISSING    a mandatory object is missing
 * @retval MIC_ERR_FORMAT     an object of the wrong size, or text that is
 *                            not printable ASCII
 * @retval MIC_ERR_DATE       a date that is not BCD or not a real date
 * @retval MIC_ERR_CODE       the issuer is not a region code
 * @retval MIC_ERR_VALUE      a card type, version or RID the profile does not know
 * @retval MIC_ERR_MISMATCH   the card identification code disagrees with
 *                            tags 42, 82 or 83, or the card expires before
 *                            it was issued
 */
mic_rc mic_cardinfo_decode(mic_cardinfo_t *ci, const uint8_t *buf, size_t len);

/* --- EF.HOLDER: template 65 -------------------------------------------- */

typedef struct mic_holder mic_holder_t;

mic_holder_t *mic_holder_new(void);
void mic_holder_free(mic_holder_t **h);

/**
 * Tag 80, the social security number (the GB 11643 citizen identity
 * number), checked as mic_idnum_check() does against today's local date; a
 * lower-case x is stored as X. It also sets the birth date (tag 5F2B),
 * which is positions 7-14 of the number.
 * @retval MIC_OK
 * @retval MIC_ERR_IDNUM_*   as mic_idnum_check()
 * @retval MIC_ERR_MISMATCH  the gender already set is 1 or 2 and disagrees
 * @retval MIC_ERR_INTERNAL  the local date cannot be read
 */
mic_rc mic_holder_set_ssn(mic_holder_t *h, const char *ssn);
/**
 * Tag 5F20, the name.
 * @retval MIC_ERR_FORMAT  empty, over 60 bytes, or with a leading or
 *                         trailing space (padding)
 * @retval MIC_ERR_UTF8    invalid UTF-8 (overlong forms and surrogates
 *                         included), or a control character
 */
mic_rc mic_holder_set_name(mic_holder_t *h, const char *name);
/**
 * Tag 5F35, the GB/T 2261.1 gender code. "1" and "2" must agree with the
 * social security number; "0" and "9" go with either.
 * @retval MIC_ERR_CODE      not "0", "1", "2" or "9"
 * @retval MIC_ERR_MISMATCH  disagrees with the social security number
 */
mic_rc mic_holder_set_gender(mic_holder_t *h, const char *gender);
/**
 * Tag 81, the birthplace, a GB/T 2260 region code.
 * @retval MIC_ERR_FORMAT  not 6 characters
 * @retval MIC_ERR_CODE    not a valid region code
 */
mic_rc mic_holder_set_birthplace(mic_holder_t *h, const char *region);
/**
 * Tag 82, the GB/T 3304 ethnicity code (optional); NULL removes it.
 * @retval MIC_ERR_CODE  not a code of the table
 */
mic_rc mic_holder_set_ethnicity(mic_holder_t *h, const char *code);

const char *mic_holder_ssn(const mic_holder_t *h);
const char *mic_holder_name(const mic_holder_t *h);
const char *mic_holder_gender(const mic_holder_t *h);
/** "YYYYMMDD", from the number or from the card's tag 5F2B (they agree). */
const char *mic_holder_birth_date(const mic_holder_t *h);
const char *mic_holder_birthplace(const mic_holder_t *h);
/** NULL when the card has none. */
const char *mic_holder_ethnicity(const mic_holder_t *h);

/**
 * @retval MIC_OK
 * @retval MIC_ERR_MISSING           ssn, name, gender or birthplace not set
 * @retval MIC_ERR_BUFFER_TOO_SMALL  @p cap too small (MIC_EF_HOLDER_SIZE is enough)
 */
mic_rc mic_holder_encode(const mic_holder_t *h, uint8_t *buf, size_t cap,
    size_t *len);
/**
 * The birth date is not compared with the clock here: a terminal whose
 * clock is wrong must still read a good card.
 * @retval MIC_OK
 * @retval MIC_ERR_NOT_FOUND, MIC_ERR_TEMPLATE, MIC_ERR_MISSING,
 *         MIC_ERR_FORMAT, MIC_ERR_DATE  as mic_cardinfo_decode()
 * @retval MIC_ERR_IDNUM_*    the social security number is invalid (a
 *                            lower-case x included: the card holds X)
 * @retval MIC_ERR_UTF8       the name is not valid UTF-8
 * @retval MIC_ERR_CODE       gender, birthplace or ethnicity not in its table
 * @retval MIC_ERR_MISMATCH   gender or birth date disagree with the number
 */
mic_rc mic_holder_decode(mic_holder_t *h, const uint8_t *buf, size_t len);

/* --- EF.INSURANCE: template E1 ----------------------------------------- */

typedef struct mic_insurance mic_insurance_t;

mic_insurance_t *mic_insurance_new(void);
void mic_insurance_free(mic_insurance_t **ins);

/**
 * Tag 80.
 * @retval MIC_ERR_VALUE  not a mic_scheme
 */
mic_rc mic_insurance_set_scheme(mic_insurance_t *ins, mic_scheme scheme);
/**
 * Tag 81, the pooling region (GB/T 2260).
 * @retval MIC_ERR_FORMAT, MIC_ERR_CODE  as mic_holder_set_birthplace()
 */
mic_rc mic_insurance_set_region(mic_insurance_t *ins, const char *region);
/**
 * Tag 82, insured since "YYYYMMDD".
 * @retval MIC_ERR_FORMAT, MIC_ERR_DATE  as mic_cardinfo_set_issue_date()
 */
mic_rc mic_insurance_set_since(mic_insurance_t *ins, const char *date);
/** Tag 83, MIC_POLICY_* bits; bits this version does not know are kept. */
mic_rc mic_insurance_set_policy(mic_insurance_t *ins, uint8_t policy);

/** 0 when not set. */
mic_scheme mic_insurance_scheme(const mic_insurance_t *ins);
const char *mic_insurance_region(const mic_insurance_t *ins);
const char *mic_insurance_since(const mic_insurance_t *ins);
uint8_t mic_insurance_policy(const mic_insurance_t *ins);

/** As mic_cardinfo_encode(); every field is mandatory. */
mic_rc mic_insurance_encode(const mic_insurance_t *ins, uint8_t *buf,
    size_t cap, size_t *len);
/** As mic_cardinfo_decode(); MIC_ERR_VALUE for a scheme other than 1 or 2. */
mic_rc mic_insurance_decode(mic_insurance_t *ins, const uint8_t *buf,
    size_t len);

/* --- EF.ACTIVATION: template E2 ---------------------------------------- */

typedef struct mic_activation mic_activation_t;

mic_activation_t *mic_activation_new(void);
void mic_activation_free(mic_activation_t **act);

/**
 * Tag 80, activated at "YYYYMMDDhhmmss".
 * @retval MIC_ERR_FORMAT  not 14 digits
 * @retval MIC_ERR_DATE    not a real date and time
 */
mic_rc mic_activation_set_time(mic_activation_t *act, const char *when);
/**
 * Tag 81, the terminal identifier.
 * @retval MIC_ERR_FORMAT  not exactly 8 printable ASCII characters
 */
mic_rc mic_activation_set_terminal(mic_activation_t *act, const char *id);
/**
 * Tag 82, the role of the activating terminal.
 * @retval MIC_ERR_VALUE  not a mic_role
 */
mic_rc mic_activation_set_role(mic_activation_t *act, mic_role role);

const char *mic_activation_time(const mic_activation_t *act);
const char *mic_activation_terminal(const mic_activation_t *act);
/** 0 when not set. */
mic_role mic_activation_role(const mic_activation_t *act);

/** As mic_cardinfo_encode(); every field is mandatory. */
mic_rc mic_activation_encode(const mic_activation_t *act, uint8_t *buf,
    size_t cap, size_t *len);
/** As mic_cardinfo_decode(); MIC_ERR_VALUE for a role outside 1-5. */
mic_rc mic_activation_decode(mic_activation_t *act, const uint8_t *buf,
    size_t len);

/* --- EF.FAMILY record: template E3 ------------------------------------- */

typedef struct mic_member mic_member_t;

mic_member_t *mic_member_new(void);
void mic_member_free(mic_member_t **m);

/**
 * Tag 80, the GB/T 4761 kinship code.
 * @retval MIC_ERR_CODE  not a code of the table
 */
mic_rc mic_member_set_kinship(mic_member_t *m, const char *code);
/** Tag 81, the member's social security number; as mic_holder_set_ssn(). */
mic_rc mic_member_set_ssn(mic_member_t *m, const char *ssn);
/** Tag 5F20; as mic_holder_set_name(). */
mic_rc mic_member_set_name(mic_member_t *m, const char *name);
/** Tag 82: may the member pay from the holder's account (0 or 1). */
mic_rc mic_member_set_may_pay(mic_member_t *m, int may_pay);
/** Tag 83, the bind date "YYYYMMDD"; as mic_cardinfo_set_issue_date(). */
mic_rc mic_member_set_bind_date(mic_member_t *m, const char *date);

const char *mic_member_kinship(const mic_member_t *m);
const char *mic_member_ssn(const mic_member_t *m);
const char *mic_member_name(const mic_member_t *m);
int mic_member_may_pay(const mic_member_t *m);
const char *mic_member_bind_date(const mic_member_t *m);

/**
 * The template alone; an UPDATE RECORD pads it with 00 to
 * MIC_FAMILY_RECORD_SIZE. As mic_cardinfo_encode(); every field is mandatory.
 */
mic_rc mic_member_encode(const mic_member_t *m, uint8_t *buf, size_t cap,
    size_t *len);
/**
 * As mic_holder_decode(). A free record (all 00) gives MIC_ERR_NOT_FOUND;
 * a may-pay byte other than 00 or 01 gives MIC_ERR_VALUE.
 */
mic_rc mic_member_decode(mic_member_t *m, const uint8_t *buf, size_t len);

/* --- EF.ACCOUNT: template E4 ------------------------------------------- */

typedef struct mic_account mic_account_t;

mic_account_t *mic_account_new(void);
void mic_account_free(mic_account_t **acct);

/**
 * Tag 80, the balance in fen.
 * @retval MIC_ERR_VALUE  negative
 */
mic_rc mic_account_set_balance(mic_account_t *acct, int64_t fen);
/** Tag 81, the transaction counter. */
mic_rc mic_account_set_counter(mic_account_t *acct, uint32_t counter);

int64_t mic_account_balance(const mic_account_t *acct);
uint32_t mic_account_counter(const mic_account_t *acct);

/** As mic_cardinfo_encode(); both fields are mandatory. */
mic_rc mic_account_encode(const mic_account_t *acct, uint8_t *buf, size_t cap,
    size_t *len);
/** As mic_cardinfo_decode(); MIC_ERR_VALUE for a negative balance. */
mic_rc mic_account_decode(mic_account_t *acct, const uint8_t *buf, size_t len);

/* --- EF.LOG record: 48 bytes (section 2.9) ----------------------------- */

typedef struct mic_logrec mic_logrec_t;

mic_logrec_t *mic_logrec_new(void);
void mic_logrec_free(mic_logrec_t **l);

/** The transaction counter after the operation. */
mic_rc mic_logrec_set_counter(mic_logrec_t *l, uint32_t counter);
/** @retval MIC_ERR_VALUE  not a mic_logtype */
mic_rc mic_logrec_set_type(mic_logrec_t *l, mic_logtype type);
/** @retval MIC_ERR_VALUE  zero or negative */
mic_rc mic_logrec_set_amount(mic_logrec_t *l, int64_t fen);
/** @retval MIC_ERR_VALUE  negative */
mic_rc mic_logrec_set_balance(mic_logrec_t *l, int64_t fen);
/** "YYYYMMDDhhmmss"; as mic_activation_set_time(). */
mic_rc mic_logrec_set_time(mic_logrec_t *l, const char *when);
/** As mic_activation_set_terminal(). */
mic_rc mic_logrec_set_terminal(mic_logrec_t *l, const char *id);
/** 0 the holder, 1-8 an EF.FAMILY record. @retval MIC_ERR_VALUE  over 8 */
mic_rc mic_logrec_set_payer(mic_logrec_t *l, unsigned payer);
/**
 * The first MIC_LOG_REF_LEN bytes of the transaction reference.
 * @retval MIC_ERR_FORMAT  @p len is not MIC_LOG_REF_LEN
 */
mic_rc mic_logrec_set_reference(mic_logrec_t *l, const uint8_t *ref,
    size_t len);

uint32_t mic_logrec_counter(const mic_logrec_t *l);
/** 0 when not set. */
mic_logtype mic_logrec_type(const mic_logrec_t *l);
int64_t mic_logrec_amount(const mic_logrec_t *l);
int64_t mic_logrec_balance(const mic_logrec_t *l);
const char *mic_logrec_time(const mic_logrec_t *l);
const char *mic_logrec_terminal(const mic_logrec_t *l);
unsigned mic_logrec_payer(const mic_logrec_t *l);
/** MIC_LOG_REF_LEN bytes, or NULL when not set. */
const uint8_t *mic_logrec_reference(const mic_logrec_t *l);

/**
 * Exactly MIC_LOG_RECORD_SIZE bytes.
 * @retval MIC_OK
 * @retval MIC_ERR_MISSING           a field is not set
 * @retval MIC_ERR_BUFFER_TOO_SMALL  @p cap < MIC_LOG_RECORD_SIZE
 */
mic_rc mic_logrec_encode(const mic_logrec_t *l, uint8_t *buf, size_t cap,
    size_t *len);
/**
 * @retval MIC_OK
 * @retval MIC_ERR_FORMAT  @p len is not MIC_LOG_RECORD_SIZE, or the
 *                         terminal identifier is not printable ASCII
 * @retval MIC_ERR_VALUE   a type other than 01/02, an amount <= 0, a
 *                         negative balance or a payer over 8
 * @retval MIC_ERR_DATE    the date and time is not BCD or not real
 */
mic_rc mic_logrec_decode(mic_logrec_t *l, const uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
