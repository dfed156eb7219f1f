/*
 * libmic: the PC/SC backend (pcsc-lite on Unix).
 *
 * Each mic_tx_t opened here owns its own SCARDCONTEXT, unless the host
 * application hands in its own context and card handle, which libmic then
 * borrows and never releases.
 */
#ifndef MIC_PCSC_H
#define MIC_PCSC_H

#include <stddef.h>
#include <stdint.h>

#include <PCSC/winscard.h>

#include <mic/err.h>
#include <mic/tx.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MIC_READER_NAME_MAX 128  /**< as pcsc-lite's MAX_READERNAME */
#define MIC_ATR_MAX 33

typedef struct mic_reader_info {
	char name[MIC_READER_NAME_MAX];
	int card_present;
	uint8_t atr[MIC_ATR_MAX];
	size_t atr_len;
} mic_reader_info;

/**
 * List the readers and whether each holds a card. @p *out is an array of
 * @p *n entries that the caller frees with mic_reader_list_free().
 * @retval MIC_OK
 * @retval MIC_ERR_NO_SERVICE  pcscd is not running
 * @retval MIC_ERR_NO_READER   pcscd runs but has no reader
 * @retval MIC_ERR_PCSC        another PC/SC failure
 */
mic_rc mic_reader_list(mic_reader_info **out, size_t *n);
void mic_reader_list_free(mic_reader_info **list);

/**
 * Connect in shared mode to @p reader, or, when @p reader is NULL, to the first
 * reader that holds a card.
 * @retval MIC_OK
 * @retval MIC_ERR_NO_SERVICE         pcscd is not running
 * @retval MIC_ERR_NO_READER          no such reader
 * @retval MIC_ERR_NO_CARD            the reader is empty (or, for NULL, all are)
 * @retval MIC_ERR_SHARING_VIOLATION  another application holds the card exclusively
 */
mic_rc mic_pcsc_open(mic_tx_t **out, const char *reader);

/**
 * Use the host application's own PC/SC context and card handle (as
 * ykpiv_connect_with_external_card does). libmic borrows both: it never calls
 * SCardDisconnect or SCardReleaseContext on them. After a reset it reconnects
 * the borrowed handle with SCardReconnect.
 */
mic_rc mic_pcsc_open_external(mic_tx_t **out, SCARDCONTEXT ctx, SCARDHANDLE card);

/**
 * Wait until a card is present in @p reader (NULL: any reader), at most
 * @p timeout_ms. On success the reader's name is copied to @p name.
 * @retval MIC_ERR_TIMEOUT  no card within the time
 */
mic_rc mic_pcsc_wait_card(const char *reader, unsigned timeout_ms, char *name,
    size_t name_cap);

/**
 * Wait until @p reader holds no card, at most @p timeout_ms: the card an
 * issuance line set aside was taken out (by the operator, or by the
 * machine's hopper).
 * @retval MIC_OK                    the reader is empty
 * @retval MIC_ERR_TIMEOUT           a card is still in it
 * @retval MIC_ERR_NO_READER         no such reader (it was unplugged)
 * @retval MIC_ERR_INVALID_ARGUMENT  NULL @p reader
 * @retval MIC_ERR_NO_SERVICE, MIC_ERR_PCSC
 */
mic_rc mic_pcsc_wait_removal(const char *reader, unsigned timeout_ms);

/**
 * Close a mic_tx_t of mic_pcsc_open() and power the card down
 * (SCARD_UNPOWER_CARD) instead of leaving it powered: the card's session
 * state is gone, and a machine that feeds cards moves it on. Sets *tx to
 * NULL. For a mic_tx_t of another backend (or a borrowed card handle) it is
 * mic_tx_free().
 */
void mic_pcsc_close_unpower(mic_tx_t **tx);

/** The mic_rc for a PC/SC return code. */
mic_rc mic_pcsc_rc(LONG pcsc_rv);

#ifdef __cplusplus
}
#endif
#endif
