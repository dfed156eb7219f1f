/*
 * For check_nfc.py: reads lines of hex code points and prints 1 when
 * libmic's NFC check (libmic/text.c) calls the sequence NFC, else 0.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mici.h"

int
main(void)
{
	char line[4096], *p, *end;
	uint32_t cp[256];
	size_t n;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		n = 0;
		for (p = line; n < 256; p = end) {
			unsigned long v = strtoul(p, &end, 16);

			if (end == p)
				break;
			cp[n++] = (uint32_t)v;
		}
		printf("%d\n", mici_text_nfc(cp, n));
	}
	return 0;
}
