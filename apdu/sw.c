/*
 * Status words, ISO/IEC 7816-4:2020 clause 5.6 (Tables 5 and 6).
 */
#include <stddef.h>

#include <mic/err.h>

#include "internal.h"

#define SW_OK 0x9000u

struct sw_range {
	uint16_t lo;
	uint16_t hi;
	const char *name;
};

/*
 * Searched in order, first match wins: exact values first, then the
 * interindustry ranges, then one catch-all per SW1 group so that an SW2 the
 * standard leaves open still says which kind of failure it was.
 */
static const struct sw_range sw_table[] = {
	{ 0x9000, 0x9000, "success" },

	{ 0x6200, 0x6200, "warning: no information given" },
	{ 0x6202, 0x6280, "warning: triggering by the card" },
	{ 0x6281, 0x6281, "part of returned data may be corrupted" },
	{ 0x6282, 0x6282,
	    "end of file or record reached before reading Ne bytes" },
	{ 0x6283, 0x6283, "selected file deactivated" },
	{ 0x6284, 0x6284, "file control information not correctly formatted" },
	{ 0x6285, 0x6285, "selected file in termination state" },
	{ 0x6286, 0x6286, "no input data available from a sensor on the card" },
	{ 0x6287, 0x6287, "at least one referenced record is deactivated" },

	{ 0x6300, 0x6300, "warning: card state changed, no information given" },
	{ 0x6340, 0x6340, "unsuccessful comparison" },
	{ 0x6381, 0x6381, "file filled up by the last write" },

	{ 0x6400, 0x6400, "execution error, card state unchanged" },
	{ 0x6401, 0x6401, "immediate response required by the card" },
	{ 0x6402, 0x6480, "execution error: triggering by the card" },
	{ 0x6481, 0x6481, "logical channel shared access denied" },
	{ 0x6482, 0x6482, "logical channel opening denied" },

	{ 0x6500, 0x6500, "execution error, card state changed" },
	{ 0x6581, 0x6581, "memory failure" },

	{ 0x6700, 0x6700, "wrong length" },

	{ 0x6800, 0x6800, "function in CLA not supported" },
	{ 0x6881, 0x6881, "logical channel not supported" },
	{ 0x6882, 0x6882, "secure messaging not supported" },
	{ 0x6883, 0x6883, "last command of the chain expected" },
	{ 0x6884, 0x6884, "command chaining not supported" },

	{ 0x6900, 0x6900, "command not allowed" },
	{ 0x6981, 0x6981, "command incompatible with file structure" },
	{ 0x6982, 0x6982, "security status not satisfied" },
	{ 0x6983, 0x6983, "authentication method blocked" },
	{ 0x6984, 0x6984, "reference data not usable" },
	{ 0x6985, 0x6985, "conditions of use not satisfied" },
	{ 0x6986, 0x6986, "command not allowed (no current EF)" },
	{ 0x6987, 0x6987, "expected secure messaging data objects missing" },
	{ 0x6988, 0x6988, "incorrect secure messaging data objects" },

	{ 0x6A00, 0x6A00, "wrong parameters P1-P2" },
	{ 0x6A80, 0x6A80, "incorrect parameters in the command data field" },
	{ 0x6A81, 0x6A81, "function not supported" },
	{ 0x6A82, 0x6A82, "file or application not found" },
	{ 0x6A83, 0x6A83, "record not found" },
	{ 0x6A84, 0x6A84, "not enough memory space in the file" },
	{ 0x6A85, 0x6A85, "Nc inconsistent with TLV structure" },
	{ 0x6A86, 0x6A86, "incorrect parameters P1-P2" },
	{ 0x6A87, 0x6A87, "Nc inconsistent with parameters P1-P2" },
	{ 0x6A88, 0x6A88, "referenced data or reference data not found" },
	{ 0x6A89, 0x6A89, "file already exists" },
	{ 0x6A8A, 0x6A8A, "DF name already exists" },

	{ 0x6B00, 0x6B00,
	    "wrong parameters P1-P2 (e.g. offset outside the EF)" },
	{ 0x6D00, 0x6D00, "instruction code not supported or invalid" },
	{ 0x6E00, 0x6E00, "class not supported" },
	{ 0x6F00, 0x6F00, "no precise diagnosis" },

	{ 0x6100, 0x61FF, "response bytes still available" },
	{ 0x6C00, 0x6CFF, "wrong Le field; SW2 gives the exact length" },

	{ 0x6200, 0x62FF, "warning: card state unchanged" },
	{ 0x6300, 0x63FF, "warning: card state changed" },
	{ 0x6400, 0x64FF, "execution error, card state unchanged" },
	{ 0x6500, 0x65FF, "execution error, card state changed" },
	{ 0x6600, 0x66FF, "security-related issue" },
	{ 0x6800, 0x68FF, "function in CLA not supported" },
	{ 0x6900, 0x69FF, "command not allowed" },
	{ 0x6A00, 0x6AFF, "wrong parameters P1-P2" },
};

/* SW2 = Cx: the retry counter of a failed verification is x. */
static const char *const sw_tries[16] = {
	"verification failed, 0 tries left",
	"verification failed, 1 try left",
	"verification failed, 2 tries left",
	"verification failed, 3 tries left",
	"verification failed, 4 tries left",
	"verification failed, 5 tries left",
	"verification failed, 6 tries left",
	"verification failed, 7 tries left",
	"verification failed, 8 tries left",
	"verification failed, 9 tries left",
	"verification failed, 10 tries left",
	"verification failed, 11 tries left",
	"verification failed, 12 tries left",
	"verification failed, 13 tries left",
	"verification failed, 14 tries left",
	"verification failed, 15 tries left",
};

const char *
mic_sw_name(uint16_t sw)
{
	size_t i;

	if ((sw & 0xFFF0u) == 0x63C0u)
		return sw_tries[sw & 0x0Fu];
	for (i = 0; i < MIC_ARRAY_LEN(sw_table); i++) {
		if (sw >= sw_table[i].lo && sw <= sw_table[i].hi)
			return sw_table[i].name;
	}

	return "unknown status word";
}

mic_rc
mic_sw_rc(uint16_t sw)
{
	if (sw == SW_OK)
		return MIC_OK;
	return MIC_RC_SW(sw);
}
