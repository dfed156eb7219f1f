/*
 * libmic: ISO/IEC 7816-4 command APDUs (clause 5.1), short and extended.
 *
 * A mic_apdu is a plain value: the caller owns it and the bytes its data
 * pointer borrows. Encoding never allocates.
 */
#ifndef MIC_APDU_H
#define MIC_APDU_H

#include <stddef.h>
#include <stdint.h>

#include <mic/err.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MIC_APDU_NC_MAX_SHORT 255u    /**< largest Nc of a short APDU */
#define MIC_APDU_NC_MAX_EXT 65535u    /**< largest Nc of an extended APDU */
#define MIC_APDU_NE_MAX_SHORT 256u    /**< Le=00 in a short APDU */
#define MIC_APDU_NE_MAX_EXT 65536u    /**< Le=0000 in an extended APDU */
/** Room for any encoded command APDU: header, 3-byte Lc, data, 2-byte Le. */
#define MIC_APDU_CMD_MAX (4u + 3u + 65535u + 2u)
/** Room for any response APDU: 65536 data bytes and SW1 SW2. */
#define MIC_APDU_RSP_MAX (65536u + 2u)

/** The data field holds a PIN, a key or other secret: never trace it. */
#define MIC_APDU_SENSITIVE 0x01u
/**
 * The response holds the holder's personal data (docs/privacy.md): a trace
 * shows its status word and length, its data as "*" bytes, unless the
 * caller opted in with mic_tx_set_trace_personal().
 */
#define MIC_APDU_PERSONAL 0x02u

typedef struct mic_apdu {
	uint8_t cla;
	uint8_t ins;
	uint8_t p1;
	uint8_t p2;
	const uint8_t *data; /**< Nc bytes; borrowed, may be NULL when nc == 0 */
	size_t nc;           /**< number of data bytes, Nc */
	size_t ne;           /**< expected response bytes, Ne; 0 means no Le field */
	unsigned flags;      /**< MIC_APDU_SENSITIVE, MIC_APDU_PERSONAL */
} mic_apdu;

/** How to encode Lc/Le. */
typedef enum mic_apdu_form {
	MIC_APDU_AUTO = 0,  /**< short if Nc <= 255 and Ne <= 256, else extended */
	MIC_APDU_SHORT = 1, /**< short only; fails with MIC_ERR_APDU_TOO_LONG otherwise */
	MIC_APDU_EXTENDED = 2, /**< extended length fields even when short would do */
} mic_apdu_form;

/** The ISO case of an APDU: 1 (no data, no Le) .. 4 (data and Le). */
int mic_apdu_case(const mic_apdu *apdu);

/** Does @p apdu need extended length fields? */
int mic_apdu_needs_extended(const mic_apdu *apdu);

/**
 * Encode @p apdu into @p buf.
 * @retval MIC_OK                    @p *len holds the encoded length
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL pointers, or data NULL with nc > 0
 * @retval MIC_ERR_APDU_TOO_LONG     Nc or Ne beyond what @p form allows
 * @retval MIC_ERR_BUFFER_TOO_SMALL  @p cap cannot hold the encoding
 */
mic_rc mic_apdu_encode(const mic_apdu *apdu, mic_apdu_form form, uint8_t *buf,
    size_t cap, size_t *len);

/**
 * Decode a command APDU (the card's side). On success @p out->data points
 * into @p buf, so @p buf must outlive @p out. Every case 1-4, short and
 * extended, is recognised; anything else is rejected.
 * @retval MIC_OK
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL pointers
 * @retval MIC_ERR_APDU_FORMAT       the length fields do not match @p len
 */
mic_rc mic_apdu_decode(const uint8_t *buf, size_t len, mic_apdu *out);

/**
 * Does @p apdu carry a secret (a PIN or a key)? True when it is flagged
 * MIC_APDU_SENSITIVE or is VERIFY (20, 21), CHANGE REFERENCE DATA (24, 25)
 * or RESET RETRY COUNTER (2C, 2D). Traces and logs mask such data.
 */
int mic_apdu_is_sensitive(const mic_apdu *apdu);

/**
 * Was @p buf encoded with extended length fields? Only meaningful for an
 * APDU that mic_apdu_decode() accepted.
 */
int mic_apdu_is_extended(const uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
