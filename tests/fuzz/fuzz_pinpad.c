/*
 * A reader driver's PC/SC part 10 feature list: whatever it holds, the
 * parser reads inside it, and what it accepts is whole 6-byte entries.
 */
#include <stdlib.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t code = 0;
	mic_rc rc;

	if (size == 0)
		return 0;
	/* The first byte picks the tag looked for. */
	rc = mici_pcsc_feature_find(data + 1, size - 1, data[0], &code);
	if (rc == MIC_OK || rc == MIC_ERR_NOT_FOUND) {
		if ((size - 1) % 6 != 0)
			abort();
		for (size_t i = 1; i < size; i += 6)
			if (data[i + 1] != 4)
				abort();
	} else if (rc != MIC_ERR_RESPONSE) {
		abort();
	}
	if (rc == MIC_OK) {
		size_t i;

		for (i = 1; i < size && data[i] != data[0]; i += 6)
			;
		if (i >= size || code != mici_get_u32(data + i + 2))
			abort();
	}
	return 0;
}
