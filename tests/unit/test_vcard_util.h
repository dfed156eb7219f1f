/*
 * Helpers shared by the card tests: raw APDUs with exact status words,
 * the profile's sample data, and cards brought to each life cycle state
 * through the card's own commands (the security status from the test
 * hook, as the profile says until SCP11).
 */
#ifndef TEST_VCARD_UTIL_H
#define TEST_VCARD_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <mic/apdu.h>

#include "vcard.h"

#define CHIP_SERIAL "0011223344556677"
#define TRANSPORT_PIN "111111"
#define HOLDER_PIN "123456"
#define OTHER_PIN "654321"
#define START_BALANCE 100000  /* fen, credited into the active card */

#define CARD_ID "110100D1560000011100010000000001"
#define SOD_LEN 2048
#define CERT_LEN 1024
#define LOG_RECORDS 30
#define LOG_RECLEN 48
#define FAMILY_RECLEN 128

struct rsp {
	uint8_t buf[MIC_APDU_RSP_MAX];
	size_t len;       /* data only */
	uint16_t sw;
};

struct rsp *rsp_new(void);

/* One raw APDU with a response buffer of @p cap bytes. */
void raw_cap(vc_card *card, const uint8_t *cmd, size_t len, size_t cap,
    struct rsp *r);
void raw(vc_card *card, const uint8_t *cmd, size_t len, struct rsp *r);

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ })
#define NBYTES(...) sizeof((const uint8_t[]){ __VA_ARGS__ })
/* Send the listed bytes as one APDU. */
#define RAW(card, r, ...) raw((card), BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__), (r))

/* Send an APDU, expect status word @p sw and no data. */
#define EXPECT_SW(card, want_sw, ...) do {                              \
	struct rsp *r_ = rsp_new();                                     \
	RAW((card), r_, __VA_ARGS__);                                   \
	assert_int_equal(r_->sw, (want_sw));                            \
	assert_int_equal(r_->len, 0);                                   \
	free(r_);                                                       \
} while (0)

/*
 * Encode and send one command (short when it fits, else extended; no
 * chaining). @p ne 0 means no Le. Returns the SW; @p r may be NULL.
 */
uint16_t send_cmd(vc_card *card, uint8_t cla, uint8_t ins, uint8_t p1,
    uint8_t p2, const uint8_t *data, size_t nc, size_t ne, struct rsp *r);

void select_app(vc_card *card);   /* expects 9000, 6283 or 6285 */
void select_mf(vc_card *card);

/* ISO 9564 format 2 block of @p digits. */
void pin_block(const char *digits, uint8_t out[8]);
uint16_t verify_pin(vc_card *card, const char *digits);
uint16_t change_pin(vc_card *card, const char *old, const char *next);

/* The profile's sample data (valid per docs/card-profile.md section 2). */
size_t sample_card(uint8_t *buf, size_t cap);
size_t sample_holder(uint8_t *buf, size_t cap);
size_t sample_insurance(uint8_t *buf, size_t cap, uint8_t policy);
/* EF.SOD and EF.CERT: a DER SEQUENCE filling the file, body byte i is
 * sample_byte(i) after the 4-byte header. */
void sample_sod(uint8_t buf[SOD_LEN]);
void sample_cert(uint8_t buf[CERT_LEN]);
uint8_t sample_byte(size_t i);
/* Family member @p n (1-3) as an EF.FAMILY record. */
void sample_member(uint8_t rec[FAMILY_RECLEN], int n, uint8_t may_pay);

/* Append one DGI to @p out at @p *off. */
void put_dgi(uint8_t *out, size_t cap, size_t *off, uint16_t tag,
    const uint8_t *data, size_t len);
/* STORE DATA, chained in 255-byte parts when longer. Returns the SW. */
uint16_t store_data(vc_card *card, uint8_t p1, uint8_t p2,
    const uint8_t *data, size_t len);

/* The stages a test starts from. */
enum stage {
	ST_BLANK,
	ST_PERSO_TRANSPORT,   /* personalized, transport PIN */
	ST_PERSO,             /* personalized, holder PIN set */
	ST_ACTIVE,            /* active, START_BALANCE credited */
	ST_BLOCKED,
	ST_TERMINATED,
	ST_COUNT
};

/*
 * A card at @p stage, powered off and on again (no role, nothing
 * selected). @p pub gets the card's public key if not NULL. @p policy is
 * the activation policy byte of EF.INSURANCE.
 */
vc_card *card_at(enum stage stage, uint8_t policy, uint8_t pub[65]);
/* An independent copy of @p card's persistent state, powered on. */
vc_card *card_clone(const vc_card *card);

/*
 * The 40-byte DEBIT / CREDIT data: amount, 2026-11-23 14:05:59, terminal
 * "POS00042", reference A0 A1 .. AB || @p ref, payer.
 */
void tx_data(uint8_t out[40], int64_t amount, uint32_t ref, uint8_t payer);
uint16_t debit(vc_card *card, const uint8_t data[40], struct rsp *r);
uint16_t credit(vc_card *card, const uint8_t data[40], struct rsp *r);
/* A DEBIT as a POS does it: hospital role, VERIFY, DEBIT. */
uint16_t pay(vc_card *card, int64_t amount, uint32_t ref, uint8_t payer,
    struct rsp *r);

/*
 * Does @p rsp (counter || balance || DER signature) carry a valid receipt
 * signature by @p pub for this operation (section 3.11)?
 */
int receipt_ok(const uint8_t pub[65], uint8_t type, const uint8_t data[40],
    const uint8_t *rsp, size_t len);

/* EF.ACCOUNT read as balance and counter (needs an SM role or PIN). */
void read_account(vc_card *card, int64_t *balance, uint32_t *counter);

uint32_t be32(const uint8_t *p);
uint64_t be64(const uint8_t *p);

#endif
