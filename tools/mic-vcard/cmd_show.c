/*
 * mic-vcard show: what a card image holds, read the way a terminal reads
 * the card (SELECT, READ BINARY by SFI) through the card engine, so that
 * nothing here depends on the engine's internal layout. The image is
 * never written.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <mic/tlv.h>

#include "image.h"
#include "internal.h"
#include "mic-vcard.h"

#define SW_OK 0x9000

static void
usage_show(FILE *f)
{
	fprintf(f,
	    "usage: mic-vcard show IMAGE\n"
	    "\n"
	    "Print the serial and lifecycle state of the card in IMAGE and, once\n"
	    "it is personalized, its card number, holder, social security number\n"
	    "and balance, one 'key: value' per line. The card is read through\n"
	    "the card engine, as a terminal with the agency's role would read\n"
	    "it; IMAGE is not changed.\n"
	    "Exit status: 0 ok, 1 the image cannot be read, 2 usage.\n");
}

/* SELECT or READ BINARY; returns the SW (0 if the engine failed). */
static uint16_t
xmit(vc_card *card, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap,
    size_t *n)
{
	return vct_xmit(card, cmd, len, rsp, cap, n);
}

static uint16_t
read_sfi(vc_card *card, uint8_t sfi, uint8_t *rsp, size_t cap, size_t *n)
{
	const uint8_t cmd[] = { 0x00, 0xB0, (uint8_t)(0x80 | sfi), 0x00, 0x00 };

	return xmit(card, cmd, sizeof(cmd), rsp, cap, n);
}

static int
find(const uint8_t *buf, size_t len, uint32_t t1, uint32_t t2, mic_tlv *out)
{
	const uint32_t path[2] = { t1, t2 };

	return mic_tlv_find_path(buf, len, path, 2, out) == MIC_OK ? 0 : -1;
}

/* Print an an-field; anything not printable ASCII is shown escaped, as a
 * hand-edited image could hold anything. */
static void
put_text(const char *key, const mic_tlv *t)
{
	printf("%s: ", key);
	for (size_t i = 0; i < t->len; i++) {
		uint8_t c = t->value[i];
		if (c >= 0x20 && c < 0x7F)
			putchar(c);
		else
			printf("\\x%02X", c);
	}
	putchar('\n');
}

/* A name is UTF-8: printed as is when it has no control bytes. */
static void
put_name(const char *key, const mic_tlv *t)
{
	for (size_t i = 0; i < t->len; i++) {
		if (t->value[i] < 0x20 || t->value[i] == 0x7F) {
			put_text(key, t);
			return;
		}
	}
	printf("%s: %.*s\n", key, (int)t->len, (const char *)t->value);
}

static void
put_date(const char *key, const mic_tlv *t)
{
	if (t->len != 4) {
		put_text(key, t);
		return;
	}
	printf("%s: %02X%02X-%02X-%02X\n", key, t->value[0], t->value[1],
	    t->value[2], t->value[3]);
}

static void
show_fci(vc_card *card)
{
	static const uint8_t aid[] = VC_MIC_AID;
	uint8_t cmd[5 + sizeof(aid) + 1] = { 0x00, 0xA4, 0x04, 0x00,
		sizeof(aid) };
	uint8_t rsp[512];
	mic_tlv t;
	const uint32_t path[3] = { 0x6F, 0xA5, 0x81 };
	size_t n;
	uint16_t sw;

	memcpy(cmd + 5, aid, sizeof(aid));
	cmd[sizeof(cmd) - 1] = 0x00;
	sw = xmit(card, cmd, sizeof(cmd), rsp, sizeof(rsp), &n);
	if ((sw != SW_OK && sw != 0x6283 && sw != 0x6285) ||
	    mic_tlv_find_path(rsp, n, path, 3, &t) != MIC_OK) {
		printf("serial: (SELECT says %04X)\n", sw);
		return;
	}
	printf("serial: ");
	for (size_t i = 0; i < t.len; i++)
		printf("%02X", t.value[i]);
	putchar('\n');
}

static void
show_files(vc_card *card)
{
	uint8_t rsp[512];
	mic_tlv t;
	size_t n;

	if (read_sfi(card, 1, rsp, sizeof(rsp), &n) == SW_OK) {
		if (find(rsp, n, 0x66, 0x80, &t) == 0)
			put_text("card id", &t);
		if (find(rsp, n, 0x66, 0x81, &t) == 0)
			put_text("card number", &t);
		if (find(rsp, n, 0x66, 0x5F25, &t) == 0)
			put_date("issued", &t);
		if (find(rsp, n, 0x66, 0x5F24, &t) == 0)
			put_date("expires", &t);
	}
	if (read_sfi(card, 2, rsp, sizeof(rsp), &n) == SW_OK) {
		if (find(rsp, n, 0x65, 0x5F20, &t) == 0)
			put_name("name", &t);
		if (find(rsp, n, 0x65, 0x80, &t) == 0)
			put_text("ssn", &t);
		if (find(rsp, n, 0x65, 0x5F35, &t) == 0)
			put_text("gender", &t);
		if (find(rsp, n, 0x65, 0x5F2B, &t) == 0)
			put_date("birth date", &t);
	}
	if (read_sfi(card, 8, rsp, sizeof(rsp), &n) == SW_OK) {
		if (find(rsp, n, 0xE4, 0x80, &t) == 0 && t.len == 8) {
			uint64_t u = 0;
			int64_t fen;
			for (size_t i = 0; i < 8; i++)
				u = u << 8 | t.value[i];
			/* Two's complement, as the profile says. */
			fen = u > (uint64_t)INT64_MAX ?
			    -(int64_t)(~u) - 1 : (int64_t)u;
			printf("balance: %" PRId64 " fen (%s%" PRId64 ".%02d "
			    "CNY)\n", fen, fen < 0 ? "-" : "",
			    fen < 0 ? -(fen / 100) : fen / 100,
			    (int)(fen < 0 ? -(fen % 100) : fen % 100));
		}
		if (find(rsp, n, 0xE4, 0x81, &t) == 0 && t.len == 4)
			printf("counter: %" PRIu32 "\n",
			    mici_get_u32(t.value));
	}
}

int
cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path;
	vc_card *card = NULL;
	uint8_t *nv = NULL;
	size_t len = 0;
	enum vc_state state;
	vc_image_rc rc;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage_show(stdout);
			return 0;
		}
		fprintf(stderr, "mic-vcard show: unknown option '%s'\n",
		    argv[optind - 1]);
		usage_show(stderr);
		return EXIT_USAGE;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "mic-vcard show: one IMAGE expected\n");
		usage_show(stderr);
		return EXIT_USAGE;
	}
	path = argv[optind];
	if ((rc = vc_image_read(path, &nv, &len)) != VC_IMAGE_OK) {
		fprintf(stderr, "mic-vcard: %s: %s\n", path,
		    rc == VC_IMAGE_E_SYS ? strerror(errno) :
		    vc_image_strerror(rc));
		return EXIT_FAILURE;
	}
	if (vc_card_load(&card, nv, len, 0) != MIC_OK) {
		fprintf(stderr, "mic-vcard: %s: %s\n", path,
		    vc_image_strerror(vc_card_nv_layout(nv, len) >= 0 &&
		    vc_card_nv_layout(nv, len) != VC_CARD_NV_LAYOUT ?
		    VC_IMAGE_E_LAYOUT : VC_IMAGE_E_CARD));
		vc_image_nv_free(&nv, len);
		return EXIT_FAILURE;
	}
	vc_image_nv_free(&nv, len);
	state = vc_card_state(card);
	printf("image: %s (format %d, %zu bytes of card state)\n", path,
	    VC_IMAGE_VERSION, len);
	show_fci(card);
	printf("state: %s\n", vct_state_name(state));
	/* Any secure channel may read EF.ACCOUNT without the PIN. No commit
	 * function is set, so nothing here can reach the image. */
	vc_card_test_set_role(card, VC_ROLE_AGENCY);
	if (state != VC_STATE_BLANK && state != VC_STATE_TERMINATED)
		show_files(card);
	vc_card_free(&card);
	return 0;
}
