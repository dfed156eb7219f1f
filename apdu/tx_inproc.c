/*
 * In-process backend: each APDU goes to a function, e.g. the reference card
 * engine linked into a unit test. There is no reader, so no reset, no
 * reconnect, no transaction and no ATR.
 */
#include <stdlib.h>

#include <mic/tx.h>

#include "internal.h"

struct inproc_io {
	mic_inproc_fn *fn;
	void *card;
};

static mic_rc
inproc_transmit(void *arg, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
    size_t *rsp_len)
{
	struct inproc_io *io = arg;

	return io->fn(io->card, cmd, cmd_len, rsp, rsp_len);
}

/* The card belongs to the caller; only the link goes. */
static void
inproc_close(void *arg)
{
	free(arg);
}

static const mic_tx_ops inproc_ops = {
	.transmit = inproc_transmit,
	.close = inproc_close,
};

mic_rc
mic_tx_new_inproc(mic_tx_t **out, mic_inproc_fn *fn, void *card)
{
	struct inproc_io *io;
	mic_rc rc;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || fn == NULL) {
		mici_debug("%s: NULL argument", __func__);
		return MIC_ERR_INVALID_ARGUMENT;
	}
	if ((io = calloc(1, sizeof(*io))) == NULL) {
		mici_debug("%s: calloc", __func__);
		return MIC_ERR_NOMEM;
	}
	io->fn = fn;
	io->card = card;
	if ((rc = mic_tx_new(out, &inproc_ops, io)) != MIC_OK) {
		mici_debug("%s: mic_tx_new", __func__);
		free(io);
		return rc;
	}

	return MIC_OK;
}
