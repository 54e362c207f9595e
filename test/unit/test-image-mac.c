/* Tests of signed images (image-mac.c and its use in image.c): keys, records, raw images, data MACs. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "cleanup.h"
#include "compiler.h"
#include "image.h"
#include "image-mac.h"
#include "log.h"
#include "page-sign.h"
#include "unit.h"

#include "fdinfo.pb-c.h"

/* 32 raw bytes each (not all hex digits, which a key file would decode). */
static const char key_a[] = "key A: 0123456789 abcdefghijklmn";
static const char key_b[] = "key B: 0123456789 abcdefghijklmn";

static void use_key(const char *k)
{
	CU_ASSERT_FATAL(img_key_set(k, strlen(k)) == 0);
}

static void no_key(void)
{
	img_key_forget();
	img_mac_policy_set(IMG_MAC_ANY);
}

/* ---- key files ----------------------------------------------------------- */

static int load(const char *content, size_t len, mode_t mode)
{
	char path[128];
	int ret;

	snprintf(path, sizeof(path), "%s/key", tmp_dir);
	unlinkat(tmp_dfd, "key", 0);
	CU_ASSERT_FATAL(spit("key", content, len) == 0);
	CU_ASSERT_FATAL(chmod(path, mode) == 0);
	ret = img_key_load(path);
	return ret;
}

static void test_key_file(void)
{
	uint8_t id_raw[IMG_KEY_ID_SIZE], id_hex[IMG_KEY_ID_SIZE];
	char hex[2 * sizeof(key_a) + 2];

	CU_ASSERT_EQUAL(load(key_a, 32, 0600), 0);
	CU_ASSERT(img_key_loaded());
	img_key_id(id_raw);
	/* The same bytes as hex digits, a newline after them: the same key. */
	for (size_t i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02X", (unsigned char)key_a[i]);
	strcat(hex, "\n");
	CU_ASSERT_EQUAL(load(hex, strlen(hex), 0400), 0);
	img_key_id(id_hex);
	CU_ASSERT(!memcmp(id_raw, id_hex, sizeof(id_raw)));
	/* Another key, another id. */
	CU_ASSERT_EQUAL(load(key_b, 32, 0600), 0);
	img_key_id(id_hex);
	CU_ASSERT(memcmp(id_raw, id_hex, sizeof(id_raw)));

	CU_ASSERT_EQUAL(load(key_a, 32, 0640), -EPERM);
	CU_ASSERT(last_error_has("mode 0640 lets group or others at the key"));
	CU_ASSERT_EQUAL(load(key_a, 32, 0604), -EPERM);
	CU_ASSERT_EQUAL(load(key_a, 31, 0600), -EINVAL);
	CU_ASSERT(last_error_has("31 bytes of key, at least 32 needed"));
	CU_ASSERT_EQUAL(load("", 0, 0600), -EINVAL);
	CU_ASSERT(last_error_has("(it is empty)"));
	/* 62 hex digits: 31 bytes. */
	CU_ASSERT_EQUAL(load(hex, 62, 0600), -EINVAL);
	/* The key never shows in a message. */
	CU_ASSERT(!last_error_has("key A"));
	CU_ASSERT_EQUAL(img_key_load("/nonexistent/key"), -ENOENT);
	no_key();
}

/* ---- signed message images ----------------------------------------------- */

/* Writes fdinfo-9.img with @n records (with the key loaded now) and returns its bytes. */
static unsigned char *write_fdinfo(unsigned n, size_t *len, size_t *offs)
{
	_cleanup_img_ struct img *img = NULL;

	if (img_open(tmp_dfd, IMG_FDINFO, 9, O_WRONLY, &img))
		return NULL;
	for (unsigned i = 0; i < n; i++) {
		FdinfoEntry e = FDINFO_ENTRY__INIT;

		e.fd = 3 + i;
		e.id = 100 + i;	/* same size as every other record */
		if (offs)
			offs[i] = img->off;
		if (pb_write_one(img, &e, PB_FDINFO))
			return NULL;
	}
	if (img_close(TAKE_PTR(img)))
		return NULL;
	return slurp("fdinfo-9.img", len);
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

/*
 * What someone without the key can do after changing records: set the
 * end marker of the @len bytes at @b (@nr records at @offs) to match
 * them (count, size, CRC chain, its own CRC), as a reader checks it.
 */
static void fix_end(unsigned char *b, size_t len, const size_t *offs, unsigned nr)
{
	unsigned char *t = b + len - IMG_TRAILER_SIZE - IMG_SIG_SIZE;
	uint32_t chain = crc32c(0, b + IMG_HDR_SIZE - 4, 4);

	for (unsigned i = 0; i < nr; i++)
		chain = crc32c(chain, b + offs[i] + 4, 4);
	put32(t + 4, nr);
	put32(t + 8, t - b - IMG_HDR_SIZE);
	put32(t + 12, 0);
	put32(t + 16, chain);
	put32(t + 20, crc32c(0, t, 20));
}

/* Reads fdinfo-9.img whole: the number of records, or the first error. */
static int read_fdinfo(void)
{
	_cleanup_img_ struct img *img = NULL;
	int ret, n = 0;
	void *got;

	ret = img_open(tmp_dfd, IMG_FDINFO, 9, O_RDONLY, &img);
	if (ret)
		return ret;
	while ((ret = pb_read_one(img, &got, PB_FDINFO)) == 1) {
		pb_free(got, PB_FDINFO);
		n++;
	}
	return ret ? ret : n;
}

static void test_signed_round_trip(void)
{
	size_t len, plain_len;
	_cleanup_free_ unsigned char *plain = NULL, *b = NULL;

	img_dump_id_new();
	plain = write_fdinfo(3, &plain_len, NULL);
	use_key(key_a);
	b = write_fdinfo(3, &len, NULL);
	CU_ASSERT_FATAL(b && plain);
	CU_ASSERT_EQUAL(len, plain_len + 3 * IMG_MAC_SIZE + IMG_SIG_SIZE);
	CU_ASSERT_EQUAL(read_fdinfo(), 3);
	/* Another key: told as such. */
	use_key(key_b);
	CU_ASSERT_EQUAL(read_fdinfo(), -EBADMSG);
	CU_ASSERT(last_error_has("fdinfo-9.img: is signed with another key"));
	/* No key: read unchecked by cr show, refused by a restore. */
	no_key();
	CU_ASSERT_EQUAL(read_fdinfo(), 3);
	img_mac_policy_set(IMG_MAC_NEED_KEY);
	CU_ASSERT_EQUAL(read_fdinfo(), -EBADMSG);
	CU_ASSERT(last_error_has("fdinfo-9.img: is signed: restoring it needs the --key-file"));
	/* An unsigned image with a key: refused. */
	CU_ASSERT_FATAL(spit("fdinfo-9.img", plain, plain_len) == 0);
	CU_ASSERT_EQUAL(read_fdinfo(), 0 + 3);
	use_key(key_a);
	CU_ASSERT_EQUAL(read_fdinfo(), -EBADMSG);
	CU_ASSERT(last_error_has("fdinfo-9.img: is not signed"));
	no_key();
	/* An empty signed image. */
	use_key(key_a);
	free(b);
	b = write_fdinfo(0, &len, NULL);
	CU_ASSERT_EQUAL(len, IMG_HDR_SIZE + IMG_TRAILER_SIZE + IMG_SIG_SIZE);
	CU_ASSERT_EQUAL(read_fdinfo(), 0);
	no_key();
	img_dump_id_forget();
}

static void test_signed_tampering(void)
{
	size_t len, offs[3], rec_len;
	_cleanup_free_ unsigned char *b = NULL, *c = NULL, *other = NULL;
	char msg[160];

	img_dump_id_new();
	use_key(key_a);
	b = write_fdinfo(3, &len, offs);
	CU_ASSERT_FATAL(b != NULL);
	/* Every single bit changed is refused. */
	for (size_t bit = 0; bit < len * 8; bit++) {
		int ret;

		b[bit / 8] ^= 1 << (bit % 8);
		CU_ASSERT_FATAL(spit("fdinfo-9.img", b, len) == 0);
		ret = read_fdinfo();
		CU_ASSERT_EQUAL(ret, -EBADMSG);
		if (ret != -EBADMSG)
			fprintf(stderr, "bit %zu flipped went unnoticed (%d)\n", bit, ret);
		b[bit / 8] ^= 1 << (bit % 8);
	}
	/* Cut anywhere. */
	for (size_t cut = 0; cut < len; cut++) {
		CU_ASSERT_FATAL(spit("fdinfo-9.img", b, cut) == 0);
		CU_ASSERT_EQUAL(read_fdinfo(), -EBADMSG);
	}
	/* Records 0 and 1 swapped, CRCs and end marker made to match: the MACs tell. */
	rec_len = offs[1] - offs[0];
	CU_ASSERT_EQUAL(offs[2] - offs[1], rec_len);
	c = malloc(len);
	CU_ASSERT_FATAL(c != NULL);
	memcpy(c, b, len);
	memcpy(c + offs[0], b + offs[1], rec_len);
	memcpy(c + offs[1], b + offs[0], rec_len);
	fix_end(c, len, offs, 3);
	CU_ASSERT_FATAL(spit("fdinfo-9.img", c, len) == 0);
	CU_ASSERT_EQUAL(read_fdinfo(), -EBADMSG);
	snprintf(msg, sizeof(msg), "fdinfo-9.img: record 0 at offset %zu does not match its MAC", offs[0]);
	CU_ASSERT(last_error_has(msg));
	/* A payload changed, its CRC and the end marker fixed up. */
	memcpy(c, b, len);
	c[offs[1] + IMG_REC_HDR_SIZE + 1] ^= 1;
	put32(c + offs[1] + 4, crc32c(0, c + offs[1] + IMG_REC_HDR_SIZE, rec_len - IMG_REC_HDR_SIZE - IMG_MAC_SIZE));
	fix_end(c, len, offs, 3);
	CU_ASSERT_FATAL(spit("fdinfo-9.img", c, len) == 0);
	CU_ASSERT_EQUAL(read_fdinfo(), -EBADMSG);
	snprintf(msg, sizeof(msg), "fdinfo-9.img: record 1 at offset %zu does not match its MAC", offs[1]);
	CU_ASSERT(last_error_has(msg));
	/* The last record dropped, the end marker fixed up: the signature block tells. */
	memcpy(c, b, offs[2]);
	memcpy(c + offs[2], b + len - IMG_TRAILER_SIZE - IMG_SIG_SIZE, IMG_TRAILER_SIZE + IMG_SIG_SIZE);
	fix_end(c, offs[2] + IMG_TRAILER_SIZE + IMG_SIG_SIZE, offs, 2);
	CU_ASSERT_FATAL(spit("fdinfo-9.img", c, offs[2] + IMG_TRAILER_SIZE + IMG_SIG_SIZE) == 0);
	CU_ASSERT_EQUAL(read_fdinfo(), -EBADMSG);
	snprintf(msg, sizeof(msg), "fdinfo-9.img: the end marker at offset %zu does not match its MAC", offs[2]);
	CU_ASSERT(last_error_has(msg));

	/* The same record of another dump, same name and place: refused by its MAC. */
	img_dump_id_new();
	other = write_fdinfo(3, &len, NULL);
	CU_ASSERT_FATAL(other != NULL);
	memcpy(other + offs[1], b + offs[1], rec_len);
	CU_ASSERT_FATAL(spit("fdinfo-9.img", other, len) == 0);
	CU_ASSERT_EQUAL(read_fdinfo(), -EBADMSG);
	snprintf(msg, sizeof(msg), "fdinfo-9.img: record 1 at offset %zu does not match its MAC", offs[1]);
	CU_ASSERT(last_error_has(msg));
	no_key();
	img_dump_id_forget();
}

/* ---- raw images and data runs -------------------------------------------- */

static void test_signed_raw(void)
{
	_cleanup_img_ struct img *img = NULL;
	_cleanup_free_ unsigned char *b = NULL;
	unsigned char page[4096];
	size_t len;

	img_dump_id_new();
	use_key(key_a);
	memset(page, 0x5a, sizeof(page));
	CU_ASSERT_FATAL(img_open(tmp_dfd, IMG_PAGES, 2, O_WRONLY, &img) == 0);
	CU_ASSERT_EQUAL(write(img->fd, page, sizeof(page)), (ssize_t)sizeof(page));
	CU_ASSERT_EQUAL(img_close(TAKE_PTR(img)), 0);
	b = slurp("pages-2.img", &len);
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT_EQUAL(len, IMG_PAGES_DATA_OFF + sizeof(page) + IMG_TRAILER_SIZE);

	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_PAGES, 2, O_RDONLY, &img), 0);
	img_close(TAKE_PTR(img));
	/* Cut by a page and the end marker moved up: the signature tells. */
	memmove(b + IMG_PAGES_DATA_OFF, b + IMG_PAGES_DATA_OFF + sizeof(page), IMG_TRAILER_SIZE);
	{
		uint64_t zero = 0;
		uint32_t crc;

		memcpy(b + IMG_PAGES_DATA_OFF + 8, &zero, 8);
		crc = crc32c(0, b + IMG_PAGES_DATA_OFF, 20);
		memcpy(b + IMG_PAGES_DATA_OFF + 20, &crc, 4);
	}
	CU_ASSERT_FATAL(spit("pages-2.img", b, IMG_PAGES_DATA_OFF + IMG_TRAILER_SIZE) == 0);
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_PAGES, 2, O_RDONLY, &img), -EBADMSG);
	CU_ASSERT(last_error_has("pages-2.img: the end marker at offset 4096 does not match its MAC"));
	/* The signature block wiped: an unsigned image, refused with the key. */
	memset(b + IMG_HDR_SIZE, 0, IMG_SIG_SIZE);
	CU_ASSERT_FATAL(spit("pages-2.img", b, IMG_PAGES_DATA_OFF + IMG_TRAILER_SIZE) == 0);
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_PAGES, 2, O_RDONLY, &img), -EBADMSG);
	CU_ASSERT(last_error_has("pages-2.img: is not signed"));
	no_key();
	img_dump_id_forget();
}

static void test_data_mac(void)
{
	uint8_t id[IMG_DUMP_ID_SIZE] = { 1, 2, 3 }, id2[IMG_DUMP_ID_SIZE] = { 1, 2, 4 };
	uint8_t m1[IMG_MAC_SIZE], m2[IMG_MAC_SIZE];
	static unsigned char buf[3 << 20];
	struct img_mac_data *m;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = i * 7 + (i >> 12);
	use_key(key_a);
	CU_ASSERT_EQUAL(img_mac_data(id, "pages-1.img", 4096, buf, sizeof(buf), m1), 0);
	/* Streamed in odd pieces: the same MAC. */
	CU_ASSERT_FATAL(img_mac_data_start(id, "pages-1.img", 4096, sizeof(buf), &m) == 0);
	for (size_t off = 0, n; off < sizeof(buf); off += n) {
		n = min(sizeof(buf) - off, (size_t)12345);
		CU_ASSERT_EQUAL(img_mac_data_update(m, buf + off, n), 0);
	}
	CU_ASSERT_EQUAL(img_mac_data_end(m, m2), 0);
	CU_ASSERT(img_mac_equal(m1, m2));
	/* Bound to the bytes, the dump, the file, the offset, the key. */
	buf[77777] ^= 1;
	CU_ASSERT_EQUAL(img_mac_data(id, "pages-1.img", 4096, buf, sizeof(buf), m2), 0);
	CU_ASSERT(!img_mac_equal(m1, m2));
	buf[77777] ^= 1;
	CU_ASSERT_EQUAL(img_mac_data(id2, "pages-1.img", 4096, buf, sizeof(buf), m2), 0);
	CU_ASSERT(!img_mac_equal(m1, m2));
	CU_ASSERT_EQUAL(img_mac_data(id, "pages-2.img", 4096, buf, sizeof(buf), m2), 0);
	CU_ASSERT(!img_mac_equal(m1, m2));
	CU_ASSERT_EQUAL(img_mac_data(id, "pages-1.img", 8192, buf, sizeof(buf), m2), 0);
	CU_ASSERT(!img_mac_equal(m1, m2));
	use_key(key_b);
	CU_ASSERT_EQUAL(img_mac_data(id, "pages-1.img", 4096, buf, sizeof(buf), m2), 0);
	CU_ASSERT(!img_mac_equal(m1, m2));
	use_key(key_a);
	CU_ASSERT_EQUAL(img_mac_data(id, "pages-1.img", 4096, buf, sizeof(buf), m2), 0);
	CU_ASSERT(img_mac_equal(m1, m2));
	no_key();
	CU_ASSERT_EQUAL(img_mac_data(id, "pages-1.img", 4096, buf, 1, m2), -EIO);
	CU_ASSERT(last_error_has("no --key-file key"));
}

/* ---- the page signer ------------------------------------------------------ */

/* Runs of 3, 1 and 700 pages from offset 4096, signed from a file as it is written, or fed from memory. */
static void sign_runs(bool from_file)
{
	static const uint64_t pages[] = { 3, 1, 700 };
	uint8_t id[IMG_DUMP_ID_SIZE] = { 9 }, got[3][IMG_MAC_SIZE], want[IMG_MAC_SIZE];
	size_t total = (3 + 1 + 700) * 4096;
	_cleanup_free_ unsigned char *buf = malloc(total);
	_cleanup_close_ int fd = -EBADF;
	struct page_sign *s = NULL;
	uint64_t off = 4096;

	CU_ASSERT_FATAL(buf != NULL);
	for (size_t i = 0; i < total; i++)
		buf[i] = i * 13 + (i >> 9);
	fd = openat(tmp_dfd, "pages-1.img", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	use_key(key_a);
	CU_ASSERT_FATAL(page_sign_start(fd, id, "pages-1.img", &s) == 0);
	for (size_t i = 0; i < ARRAY_SIZE(pages); off += pages[i++] * 4096)
		CU_ASSERT_EQUAL(page_sign_queue(s, off, pages[i] * 4096, got[i]), 0);
	/* In odd pieces, across run boundaries. */
	for (size_t done = 0, n; done < total; done += n) {
		n = min(total - done, (size_t)100000);
		if (from_file) {
			CU_ASSERT_EQUAL_FATAL(pwrite(fd, buf + done, n, 4096 + done), (ssize_t)n);
			page_sign_written(s, 4096 + done + n);
		} else {
			CU_ASSERT_EQUAL(page_sign_data(s, buf + done, n), 0);
		}
	}
	CU_ASSERT_EQUAL(page_sign_wait(s), 0);
	off = 4096;
	for (size_t i = 0; i < ARRAY_SIZE(pages); off += pages[i++] * 4096) {
		CU_ASSERT_EQUAL(img_mac_data(id, "pages-1.img", off, buf + (off - 4096), pages[i] * 4096, want), 0);
		CU_ASSERT(img_mac_equal(got[i], want));
	}
	/* Again, for the next batch: bytes past what was queued are refused. */
	if (!from_file) {
		CU_ASSERT_EQUAL(page_sign_queue(s, off, 4096, got[0]), 0);
		CU_ASSERT_EQUAL(page_sign_data(s, buf, 8192), -EINVAL);
		CU_ASSERT(last_error_has("bytes to sign past the runs queued"));
	}
	page_sign_stop(s);
	no_key();
}

static void test_page_sign_file(void) { sign_runs(true); }
static void test_page_sign_data(void) { sign_runs(false); }

#define TMP_TEST(fn)						\
	static void fn##_tmp(void) { tmp_setup(); fn(); tmp_teardown(); }
TMP_TEST(test_key_file)
TMP_TEST(test_signed_round_trip)
TMP_TEST(test_signed_tampering)
TMP_TEST(test_signed_raw)
TMP_TEST(test_page_sign_file)
TMP_TEST(test_page_sign_data)

int unit_register_image_mac(void)
{
	static const struct { const char *name; CU_TestFunc fn; } tests[] = {
		{ "key files", test_key_file_tmp },
		{ "signed records round trip, wrong and missing keys", test_signed_round_trip_tmp },
		{ "signed records: flips, cuts, swaps, other dumps", test_signed_tampering_tmp },
		{ "signed raw image", test_signed_raw_tmp },
		{ "data run MACs", test_data_mac },
		{ "page signer, from the file as it is written", test_page_sign_file_tmp },
		{ "page signer, fed from memory", test_page_sign_data_tmp },
	};
	CU_pSuite s = CU_add_suite("image-mac", NULL, NULL);

	if (!s)
		return CU_get_error();
	for (size_t i = 0; i < ARRAY_SIZE(tests); i++)
		if (!CU_add_test(s, tests[i].name, tests[i].fn))
			return CU_get_error();
	return 0;
}
