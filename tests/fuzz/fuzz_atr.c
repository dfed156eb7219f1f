/* The ATR comes straight from the card: parse anything without harm. */
#include <stdlib.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mici_atr_info info;

	if (mici_atr_parse(data, size, &info) == MIC_OK) {
		/* Accepted ATRs are 2..33 bytes with a valid TS. */
		if (size < 2 || size > 33 || (data[0] != 0x3B && data[0] != 0x3F))
			abort();
	}
	return 0;
}
