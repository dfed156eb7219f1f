/*
 * The card image store: format round trip, every reason a load is refused,
 * tear-safe saves (an injected partial write, and a writer killed with
 * SIGKILL at random moments), and the commit hook against the real card
 * engine.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <mic/apdu.h>

#include "image.h"
#include "internal.h"
#include "vcard.h"

#define NV_LEN 3000
#define KILL_ROUNDS 200

struct fixture {
	char dir[64];
	char path[128];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/mic-test-image.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/card.img", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	DIR *d = opendir(f->dir);
	struct dirent *e;

	while (d != NULL && (e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' || strlen(e->d_name) > 2)
			(void)unlinkat(dirfd(d), e->d_name, 0);
	if (d != NULL)
		closedir(d);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* nv bytes that say which state they are: a counter, then a pattern
 * derived from it, so a mix of two states is detectable. */
static void
fill_state(uint8_t *nv, size_t len, uint32_t k)
{
	for (size_t i = 0; i < len; i++)
		nv[i] = (uint8_t)((k * 2654435761u) >> (i % 24) ^ i);
	nv[0] = (uint8_t)(k >> 24);
	nv[1] = (uint8_t)(k >> 16);
	nv[2] = (uint8_t)(k >> 8);
	nv[3] = (uint8_t)k;
}

static int
state_of(const uint8_t *nv, size_t len, uint32_t *k)
{
	uint8_t want[NV_LEN];

	if (len != NV_LEN)
		return -1;
	*k = (uint32_t)nv[0] << 24 | (uint32_t)nv[1] << 16 |
	    (uint32_t)nv[2] << 8 | nv[3];
	fill_state(want, len, *k);
	return memcmp(want, nv, len) == 0 ? 0 : -1;
}

static size_t
count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
write_bytes(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* --- format -------------------------------------------------------------- */

static void
encode_parse(void **state)
{
	uint8_t nv[NV_LEN], img[NV_LEN + 64];
	const uint8_t *p = NULL;
	size_t len = 0, n = 0;

	(void)state;
	fill_state(nv, sizeof(nv), 7);
	assert_int_equal(vc_image_encode(nv, sizeof(nv), img, sizeof(img),
	    &len), VC_IMAGE_OK);
	assert_int_equal(len, vc_image_size(sizeof(nv)));
	assert_int_equal(len, 16 + NV_LEN + 32);
	assert_memory_equal(img, "MICVCARD\x00\x01\x00\x00", 12);
	assert_int_equal(img[12] << 24 | img[13] << 16 | img[14] << 8 | img[15],
	    NV_LEN);
	assert_int_equal(vc_image_parse(img, len, &p, &n), VC_IMAGE_OK);
	assert_ptr_equal(p, img + 16);
	assert_int_equal(n, NV_LEN);
	assert_memory_equal(p, nv, n);
	/* No room, or nothing to store. */
	assert_int_equal(vc_image_encode(nv, sizeof(nv), img, len - 1, &n),
	    VC_IMAGE_E_LENGTH);
	assert_int_equal(vc_image_encode(nv, 0, img, sizeof(img), &n),
	    VC_IMAGE_E_ARG);
	assert_int_equal(vc_image_encode(NULL, 1, img, sizeof(img), &n),
	    VC_IMAGE_E_ARG);
}

static void
parse_rejects(void **state)
{
	uint8_t nv[64], img[64 + 48], bad[sizeof(img) + 1];
	const uint8_t *p;
	size_t len, n;

	(void)state;
	memset(nv, 0x5A, sizeof(nv));
	assert_int_equal(vc_image_encode(nv, sizeof(nv), img, sizeof(img),
	    &len), VC_IMAGE_OK);

	assert_int_equal(vc_image_parse(img, 0, &p, &n), VC_IMAGE_E_TRUNCATED);
	assert_int_equal(vc_image_parse(img, 5, &p, &n), VC_IMAGE_E_TRUNCATED);
	assert_int_equal(vc_image_parse(img, 15, &p, &n), VC_IMAGE_E_TRUNCATED);
	assert_int_equal(vc_image_parse((const uint8_t *)"MICX", 4, &p, &n),
	    VC_IMAGE_E_MAGIC);
	for (size_t cut = 16; cut < len; cut += 7)
		assert_int_equal(vc_image_parse(img, cut, &p, &n),
		    VC_IMAGE_E_TRUNCATED);
	assert_int_equal(vc_image_parse(img, len - 1, &p, &n),
	    VC_IMAGE_E_TRUNCATED);

	memcpy(bad, img, len);
	bad[0] = 'm';
	assert_int_equal(vc_image_parse(bad, len, &p, &n), VC_IMAGE_E_MAGIC);

	memcpy(bad, img, len);
	bad[9] = 2;   /* version 2 */
	assert_int_equal(vc_image_parse(bad, len, &p, &n), VC_IMAGE_E_VERSION);
	memcpy(bad, img, len);
	bad[11] = 1;  /* reserved bits */
	assert_int_equal(vc_image_parse(bad, len, &p, &n), VC_IMAGE_E_VERSION);

	memcpy(bad, img, len);
	memset(bad + 12, 0, 4);   /* nv length 0 */
	assert_int_equal(vc_image_parse(bad, len, &p, &n), VC_IMAGE_E_LENGTH);
	memcpy(bad, img, len);
	bad[12] = 0x01;           /* 16 MiB + 64: over the limit */
	assert_int_equal(vc_image_parse(bad, len, &p, &n), VC_IMAGE_E_LENGTH);
	memcpy(bad, img, len);
	bad[15]++;                /* says one byte more than there is */
	assert_int_equal(vc_image_parse(bad, len, &p, &n),
	    VC_IMAGE_E_TRUNCATED);
	memcpy(bad, img, len);
	bad[len] = 0;             /* one byte after the checksum */
	assert_int_equal(vc_image_parse(bad, len + 1, &p, &n),
	    VC_IMAGE_E_LENGTH);

	memcpy(bad, img, len);
	bad[40] ^= 0x01;          /* a flipped bit in the state */
	assert_int_equal(vc_image_parse(bad, len, &p, &n),
	    VC_IMAGE_E_CHECKSUM);
	memcpy(bad, img, len);
	bad[len - 1] ^= 0x80;     /* and in the checksum */
	assert_int_equal(vc_image_parse(bad, len, &p, &n),
	    VC_IMAGE_E_CHECKSUM);

	assert_int_equal(vc_image_parse(NULL, 0, &p, &n), VC_IMAGE_E_ARG);
	assert_int_equal(vc_image_parse(img, len, NULL, &n), VC_IMAGE_E_ARG);
	/* Every reason has its own words. */
	assert_string_not_equal(vc_image_strerror(VC_IMAGE_E_CHECKSUM),
	    vc_image_strerror(VC_IMAGE_E_TRUNCATED));
	assert_non_null(strstr(vc_image_strerror(VC_IMAGE_E_MAGIC), "MICVCARD"));
}

/* --- files --------------------------------------------------------------- */

static void
save_read(void **state)
{
	struct fixture *f = *state;
	uint8_t nv[NV_LEN], *back = NULL;
	struct stat st;
	size_t n = 0;

	fill_state(nv, sizeof(nv), 1);
	assert_int_equal(vc_image_save(f->path, nv, sizeof(nv), 0),
	    VC_IMAGE_OK);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, (off_t)vc_image_size(NV_LEN));
	/* The image holds a private key: owner only. */
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(vc_image_read(f->path, &back, &n), VC_IMAGE_OK);
	assert_int_equal(n, NV_LEN);
	assert_memory_equal(back, nv, n);
	vc_image_nv_free(&back, n);
	assert_null(back);

	/* Overwrite: the new state, and no temporary file left. */
	fill_state(nv, sizeof(nv), 2);
	assert_int_equal(vc_image_save(f->path, nv, sizeof(nv), 0),
	    VC_IMAGE_OK);
	assert_int_equal(vc_image_read(f->path, &back, &n), VC_IMAGE_OK);
	assert_memory_equal(back, nv, n);
	vc_image_nv_free(&back, n);
	assert_int_equal(count_files(f->dir), 1);

	/* No clobbering when asked: refused, atomically, old one kept. */
	fill_state(nv, sizeof(nv), 3);
	assert_int_equal(vc_image_save(f->path, nv, sizeof(nv),
	    VC_IMAGE_NOCLOBBER), VC_IMAGE_E_EXISTS);
	assert_int_equal(vc_image_read(f->path, &back, &n), VC_IMAGE_OK);
	assert_int_equal(back[3], 2);
	vc_image_nv_free(&back, n);
	assert_int_equal(count_files(f->dir), 1);
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(vc_image_save(f->path, nv, sizeof(nv),
	    VC_IMAGE_NOCLOBBER), VC_IMAGE_OK);
	assert_int_equal(count_files(f->dir), 1);

	/* Into a directory that is not there. */
	assert_int_equal(vc_image_save("/nonexistent-dir/x.img", nv, sizeof(nv),
	    0), VC_IMAGE_E_SYS);
	assert_int_equal(errno, ENOENT);
}

static void
read_rejects(void **state)
{
	struct fixture *f = *state;
	uint8_t nv[64], img[64 + 48], *back = NULL;
	size_t len = 0, n = 0;
	char other[160];

	memset(nv, 0xA5, sizeof(nv));
	assert_int_equal(vc_image_read(f->dir, &back, &n), VC_IMAGE_E_SYS);
	assert_int_equal(errno, EISDIR);
	snprintf(other, sizeof(other), "%s/none.img", f->dir);
	assert_int_equal(vc_image_read(other, &back, &n), VC_IMAGE_E_SYS);
	assert_int_equal(errno, ENOENT);
	assert_null(back);

	assert_int_equal(vc_image_encode(nv, sizeof(nv), img, sizeof(img),
	    &len), VC_IMAGE_OK);
	write_bytes(f->path, img, len - 3);
	assert_int_equal(vc_image_read(f->path, &back, &n),
	    VC_IMAGE_E_TRUNCATED);
	img[20] ^= 0xFF;
	write_bytes(f->path, img, len);
	assert_int_equal(vc_image_read(f->path, &back, &n),
	    VC_IMAGE_E_CHECKSUM);
	write_bytes(f->path, (const uint8_t *)"#!/bin/sh\n", 10);
	assert_int_equal(vc_image_read(f->path, &back, &n), VC_IMAGE_E_MAGIC);
	write_bytes(f->path, img, 0);
	assert_int_equal(vc_image_read(f->path, &back, &n),
	    VC_IMAGE_E_TRUNCATED);
	assert_null(back);
}

/* --- tearing ------------------------------------------------------------- */

struct tear_log {
	unsigned long commit;
	int calls;
};

static void
tear_record(void *arg, unsigned long commit)
{
	struct tear_log *t = arg;

	t->commit = commit;
	t->calls++;
}

static void
partial_write(void **state)
{
	struct fixture *f = *state;
	struct tear_log tl = { 0, 0 };
	vc_image_store st = { .path = f->path, .tear_at = 2,
		.tear = tear_record, .tear_arg = &tl };
	uint8_t nv[NV_LEN], *back = NULL;
	size_t n = 0;
	uint32_t k;

	fill_state(nv, sizeof(nv), 10);
	assert_int_equal(vc_image_commit(&st, nv, sizeof(nv)), MIC_OK);
	fill_state(nv, sizeof(nv), 11);
	/* The second commit is torn: half a temp file, then "power off". */
	assert_int_equal(vc_image_commit(&st, nv, sizeof(nv)), MIC_ERR_IO);
	assert_int_equal(st.last, VC_IMAGE_E_TORN);
	assert_int_equal(st.commits, 2);
	assert_int_equal(tl.calls, 1);
	assert_int_equal(tl.commit, 2);
	assert_int_equal(vc_image_read(f->path, &back, &n), VC_IMAGE_OK);
	assert_int_equal(state_of(back, n, &k), 0);
	assert_int_equal(k, 10);
	vc_image_nv_free(&back, n);
	/* The torn temporary file is what a power cut leaves behind. */
	assert_int_equal(count_files(f->dir), 2);
	assert_int_equal(vc_image_clean_temps(f->path), 1);
	assert_int_equal(count_files(f->dir), 1);
	/* The next commit goes through. */
	fill_state(nv, sizeof(nv), 12);
	assert_int_equal(vc_image_commit(&st, nv, sizeof(nv)), MIC_OK);
	assert_int_equal(vc_image_read(f->path, &back, &n), VC_IMAGE_OK);
	assert_int_equal(state_of(back, n, &k), 0);
	assert_int_equal(k, 12);
	vc_image_nv_free(&back, n);
	assert_int_equal(vc_image_commit(NULL, nv, sizeof(nv)),
	    MIC_ERR_INVALID_ARGUMENT);
}

static long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * The child: save states first, first + 1, ... as fast as it can, until
 * killed, and say on @p fd after each save that it is done.
 */
static void
saver(const char *path, uint32_t first, int fd)
{
	uint8_t nv[NV_LEN];

	for (uint32_t k = first;; k++) {
		fill_state(nv, sizeof(nv), k);
		if (vc_image_save(path, nv, sizeof(nv), 0) != VC_IMAGE_OK ||
		    write(fd, "s", 1) != 1)
			_exit(1);
	}
}

static void
kill_during_save(void **state)
{
	struct fixture *f = *state;
	uint8_t nv[NV_LEN], *back = NULL;
	uint32_t last = 0, k;
	size_t n = 0;
	unsigned seed = (unsigned)now_us();
	int torn;

	fill_state(nv, sizeof(nv), 0);
	assert_int_equal(vc_image_save(f->path, nv, sizeof(nv), 0),
	    VC_IMAGE_OK);
	for (int round = 0; round < KILL_ROUNDS; round++) {
		struct timespec ts = { 0, 0 };
		int status = 0, fds[2];
		char c;
		pid_t pid;

		assert_int_equal(pipe(fds), 0);
		assert_true((pid = fork()) >= 0);
		if (pid == 0) {
			close(fds[0]);
			saver(f->path, last + 1, fds[1]);
		}
		close(fds[1]);
		/* Once one save is done, somewhere in the middle of a later
		 * one or between two: the machine's load decides which. */
		assert_int_equal(read(fds[0], &c, 1), 1);
		ts.tv_nsec = (long)(rand_r(&seed) % 2000) * 1000L;
		nanosleep(&ts, NULL);
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		close(fds[0]);
		/* Always a whole image, and one that was written: a later
		 * state than the last round's, never a mix. */
		assert_int_equal(vc_image_read(f->path, &back, &n),
		    VC_IMAGE_OK);
		assert_int_equal(state_of(back, n, &k), 0);
		assert_true(k > last);
		last = k;
		vc_image_nv_free(&back, n);
	}
	/* Kills in the middle of a save leave temporary files behind. */
	torn = vc_image_clean_temps(f->path);
	assert_true(torn >= 0);
	print_message("%d of %d kills landed in the middle of a save\n", torn,
	    KILL_ROUNDS);
	assert_int_equal(count_files(f->dir), 1);
}

/* --- with the card engine ------------------------------------------------ */

static uint16_t
xmit(vc_card *card, const uint8_t *cmd, size_t len)
{
	uint8_t rsp[MIC_APDU_RSP_MAX];
	size_t n = sizeof(rsp);

	if (vc_card_transmit(card, cmd, len, rsp, &n) != MIC_OK || n < 2)
		return 0;
	return mici_get_u16(rsp + n - 2);
}

static void
card_round_trip(void **state)
{
	struct fixture *f = *state;
	vc_card *card = NULL, *back = NULL;
	const uint8_t *a, *b;
	size_t alen, blen;
	uint8_t img[64];
	size_t len = 0;

	assert_int_equal(vc_card_new(&card, "IMG0001", 0), MIC_OK);
	vc_card_nv(card, &a, &alen);
	assert_int_equal(vc_image_save(f->path, a, alen, 0), VC_IMAGE_OK);
	assert_int_equal(vc_image_load_card(f->path, 0, &back), VC_IMAGE_OK);
	vc_card_nv(back, &b, &blen);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	assert_int_equal(vc_card_state(back), VC_STATE_BLANK);
	vc_card_free(&back);
	vc_card_free(&card);

	/* A sound image of a state the engine does not know. */
	memset(img, 0x11, 16);
	assert_int_equal(vc_image_save(f->path, img, 16, 0), VC_IMAGE_OK);
	assert_int_equal(vc_image_load_card(f->path, 0, &back),
	    VC_IMAGE_E_CARD);
	assert_null(back);
	(void)len;
}

static void
card_commits(void **state)
{
	static const uint8_t select[] = { 0x00, 0xA4, 0x04, 0x0C, 0x09, 0xD1,
		0x56, 0x00, 0x00, 0x01, 0x4D, 0x49, 0x43, 0x01 };
	static const uint8_t genkey[] = { 0x00, 0x47, 0x80, 0x00, 0x00 };
	struct fixture *f = *state;
	vc_image_store st = { .path = f->path, .tear_at = 2 };
	vc_card *card = NULL, *back = NULL;
	uint8_t *first = NULL, *nv = NULL;
	const uint8_t *cur;
	size_t flen = 0, n = 0, clen;

	assert_int_equal(vc_card_new(&card, "IMG0002", 0), MIC_OK);
	vc_card_nv(card, &cur, &clen);
	assert_int_equal(vc_image_save(f->path, cur, clen, 0), VC_IMAGE_OK);
	vc_card_set_commit(card, vc_image_commit, &st);
	assert_int_equal(xmit(card, select, sizeof(select)), 0x9000);
	assert_int_equal(st.commits, 0);   /* SELECT changes nothing */
	vc_card_test_set_role(card, VC_ROLE_BUREAU);
	/* A key pair is persistent state: one commit. */
	assert_int_equal(xmit(card, genkey, sizeof(genkey)), 0x9000);
	assert_int_equal(st.commits, 1);
	assert_int_equal(vc_image_read(f->path, &first, &flen), VC_IMAGE_OK);
	vc_card_nv(card, &cur, &clen);
	assert_int_equal(flen, clen);
	assert_memory_equal(first, cur, clen);
	/* The second key pair's write is torn: the card goes mute and the
	 * image keeps the first key. */
	assert_int_equal(xmit(card, genkey, sizeof(genkey)), 0);
	assert_int_equal(st.commits, 2);
	assert_int_equal(st.last, VC_IMAGE_E_TORN);
	assert_int_equal(vc_image_read(f->path, &nv, &n), VC_IMAGE_OK);
	assert_int_equal(n, flen);
	assert_memory_equal(nv, first, n);
	vc_card_nv(card, &cur, &clen);
	assert_memory_equal(cur, first, clen);
	assert_int_equal(vc_image_load_card(f->path, 0, &back), VC_IMAGE_OK);
	vc_card_free(&back);
	vc_image_nv_free(&nv, n);
	vc_image_nv_free(&first, flen);
	vc_card_free(&card);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(encode_parse),
		cmocka_unit_test(parse_rejects),
		cmocka_unit_test_setup_teardown(save_read, setup, teardown),
		cmocka_unit_test_setup_teardown(read_rejects, setup, teardown),
		cmocka_unit_test_setup_teardown(partial_write, setup, teardown),
		cmocka_unit_test_setup_teardown(kill_during_save, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(card_round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(card_commits, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
