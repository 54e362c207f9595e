/*
 * pagez-*.c: the --compress option's value, one block's round trip (zstd,
 * raw when incompressible) and what a damaged block says, then a whole
 * compressed pages-1.img written by the threaded writer and read back by
 * pages_open() byte for byte, a plain reader refusing it, and a flipped
 * byte refused with the file and the block's offset.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "image.h"
#include "io.h"
#include "pagez.h"
#include "unit.h"

/* Text-like bytes: words from a small dictionary, so zstd has something to find. */
static void fill_text(unsigned char *p, size_t len, unsigned seed)
{
	static const char *words[] = { "restore ", "memory ", "page ", "the ", "of ", "checkpoint ", "\n" };
	size_t i = 0;

	while (i < len) {
		const char *w = words[((seed = seed * 1103515245 + 12345) >> 16) % 7];

		for (; *w && i < len; w++)
			p[i++] = *w;
	}
}

static void fill_random(unsigned char *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245 + 12345;
		p[i] = seed >> 16;
	}
}

static void test_spec(void)
{
	int level = 0;

	CU_ASSERT(pagez_parse_spec(NULL, &level) == 0 && level == PAGEZ_LEVEL_DEFAULT);
	CU_ASSERT(pagez_parse_spec("zstd", &level) == 0 && level == PAGEZ_LEVEL_DEFAULT);
	CU_ASSERT(pagez_parse_spec("zstd:7", &level) == 0 && level == 7);
	CU_ASSERT_EQUAL(pagez_parse_spec("zstd:0", &level), -EINVAL);
	CU_ASSERT_EQUAL(pagez_parse_spec("zstd:20", &level), -EINVAL);
	CU_ASSERT_EQUAL(pagez_parse_spec("zstd:3x", &level), -EINVAL);
	CU_ASSERT_EQUAL(pagez_parse_spec("zstd:", &level), -EINVAL);
	CU_ASSERT_EQUAL(pagez_parse_spec("lz4", &level), -EINVAL);
	CU_ASSERT_EQUAL(level, 7);	/* untouched by a refusal */
	CU_ASSERT_EQUAL(pagez_parse_spec("zstdx", &level), -EINVAL);
}

/* Encodes @src, checks the codec chosen, decodes it back. */
static void round_trip(const unsigned char *src, size_t len, unsigned want_codec)
{
	size_t cap = pagez_encoded_bound(len);
	unsigned char *enc = malloc(cap), *dec = malloc(len);
	void *c = pagez_cctx_new(), *d = pagez_dctx_new();
	struct pagez_block b = { 0 };
	const char *why = NULL;
	ssize_t n;

	CU_ASSERT_FATAL(enc && dec && c && d);
	n = pagez_encode(c, 1, 4096 + 3 * PAGEZ_BLOCK_SIZE, src, len, enc, cap);
	CU_ASSERT_FATAL(n > (ssize_t)PAGEZ_HDR_SIZE);
	CU_ASSERT_EQUAL(pagez_hdr_parse(enc, &b, &why), 0);
	CU_ASSERT_EQUAL(b.codec, want_codec);
	CU_ASSERT_EQUAL(b.raw_len, len);
	CU_ASSERT_EQUAL(b.stored_len + PAGEZ_HDR_SIZE, (size_t)n);
	CU_ASSERT_EQUAL(b.loff, 4096 + 3 * PAGEZ_BLOCK_SIZE);
	CU_ASSERT_EQUAL(pagez_decode(d, &b, enc + PAGEZ_HDR_SIZE, dec, &why), 0);
	CU_ASSERT(memcmp(src, dec, len) == 0);

	/* A flipped payload byte: refused before zstd sees it. */
	enc[PAGEZ_HDR_SIZE + b.stored_len / 2] ^= 0x10;
	CU_ASSERT_EQUAL(pagez_decode(d, &b, enc + PAGEZ_HDR_SIZE, dec, &why), -EBADMSG);
	CU_ASSERT(why && strstr(why, "checksum mismatch"));
	/* A flipped header byte. */
	enc[13] ^= 1;
	CU_ASSERT_EQUAL(pagez_hdr_parse(enc, &b, &why), -EBADMSG);
	CU_ASSERT(why && strstr(why, "header checksum"));
	enc[0] ^= 1;
	CU_ASSERT_EQUAL(pagez_hdr_parse(enc, &b, &why), -EBADMSG);
	CU_ASSERT(why && strstr(why, "bad magic"));
	pagez_cctx_free(c);
	pagez_dctx_free(d);
	free(enc);
	free(dec);
}

static void test_block_round_trip(void)
{
	unsigned char *p = malloc(PAGEZ_BLOCK_SIZE);

	CU_ASSERT_FATAL(p != NULL);
	fill_text(p, PAGEZ_BLOCK_SIZE, 1);
	round_trip(p, PAGEZ_BLOCK_SIZE, PAGEZ_ZSTD);
	fill_random(p, PAGEZ_BLOCK_SIZE, 2);
	round_trip(p, PAGEZ_BLOCK_SIZE, PAGEZ_RAW);
	memset(p, 0, 4096);
	round_trip(p, 4096, PAGEZ_ZSTD);
	fill_random(p, 1, 3);
	round_trip(p, 1, PAGEZ_RAW);
	CU_ASSERT_EQUAL(pagez_encode(p, 1, 0, p, 0, p, 1), -EINVAL);
	CU_ASSERT_EQUAL(pagez_encode(p, 1, 0, p, PAGEZ_BLOCK_SIZE + 1, p, 1), -EINVAL);
	free(p);
}

/* Forged headers: sizes that do not fit, an unknown method. */
static void test_header_refused(void)
{
	unsigned char src[4096], enc[8192];
	void *c = pagez_cctx_new();
	struct pagez_block b;
	const char *why = NULL;

	memset(src, 'a', sizeof(src));
	CU_ASSERT_FATAL(pagez_encode(c, 1, 4096, src, sizeof(src), enc, sizeof(enc)) > 0);
	/* The same bytes claiming a raw block: its sizes disagree (header CRC re-made). */
	enc[4] = PAGEZ_RAW;
	{
		uint32_t h = crc32c(0, enc, 28);

		enc[28] = h, enc[29] = h >> 8, enc[30] = h >> 16, enc[31] = h >> 24;
	}
	CU_ASSERT_EQUAL(pagez_hdr_parse(enc, &b, &why), -EBADMSG);
	CU_ASSERT(why && strstr(why, "stored size"));
	enc[4] = 9;
	{
		uint32_t h = crc32c(0, enc, 28);

		enc[28] = h, enc[29] = h >> 8, enc[30] = h >> 16, enc[31] = h >> 24;
	}
	CU_ASSERT_EQUAL(pagez_hdr_parse(enc, &b, &why), -EBADMSG);
	CU_ASSERT(why && strstr(why, "unknown compression method"));
	pagez_cctx_free(c);
}

static int out_to_fd(void *ctx, const void *block, size_t len)
{
	return write_all(*(int *)ctx, block, len);
}

#define IMAGE_BYTES	(3 * PAGEZ_BLOCK_SIZE + 5 * 4096)

/* pages-1.img compressed from IMAGE_BYTES of @src: half text, a quarter zeros, a quarter random. */
static void write_image(unsigned char *src)
{
	struct pagez_writer *w = NULL;
	struct img *img = NULL;
	int p[2];

	fill_text(src, IMAGE_BYTES / 2, 4);
	memset(src + IMAGE_BYTES / 2, 0, IMAGE_BYTES / 4);
	fill_random(src + IMAGE_BYTES / 4 * 3, IMAGE_BYTES - IMAGE_BYTES / 4 * 3, 5);
	CU_ASSERT_FATAL(img_open(tmp_dfd, IMG_PAGESZ, 1, O_WRONLY, &img) == 0);
	CU_ASSERT_FATAL(pagez_writer_new(1, 2, IMG_PAGES_DATA_OFF, out_to_fd, &img->fd, &w) == 0);
	/* Some from a buffer, the rest through a pipe, as shared memory and task pages go. */
	CU_ASSERT_EQUAL(pagez_write(w, src, 12345), 0);
	CU_ASSERT_FATAL(pipe(p) == 0);
	for (size_t off = 12345; off < IMAGE_BYTES;) {
		size_t n = IMAGE_BYTES - off < 60000 ? IMAGE_BYTES - off : 60000;

		CU_ASSERT_FATAL(write_all(p[1], src + off, n) == 0);
		CU_ASSERT_FATAL(pagez_write_from(w, p[0], n, "test") == 0);
		off += n;
	}
	close(p[0]);
	close(p[1]);
	CU_ASSERT_EQUAL(pagez_writer_finish(w), 0);
	CU_ASSERT(pagez_writer_stored(w) < IMAGE_BYTES * 3 / 4);
	pagez_writer_free(w);
	CU_ASSERT_EQUAL(img_close(img), 0);
}

static void test_image_round_trip(void)
{
	unsigned char *src = malloc(IMAGE_BYTES), *back = malloc(IMAGE_BYTES);
	struct pagez_index_entry *ix = NULL;
	struct img *img = NULL;
	uint64_t logical = 0, end = 0;
	size_t nr = 0;

	CU_ASSERT_FATAL(src && back);
	tmp_setup();
	CU_ASSERT_EQUAL(img_dump_id_new(), 0);
	write_image(src);

	/* A reader of plain pages images refuses it by name. */
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_PAGES, 1, O_RDONLY, &img), -EBADMSG);
	CU_ASSERT(last_error_has("pages-1.img: is a compressed pages image"));

	CU_ASSERT_EQUAL(img_open_pages(tmp_dfd, 1, false, NULL, &img), 0);
	CU_ASSERT_FATAL(img != NULL);
	CU_ASSERT_EQUAL(img->type, IMG_PAGESZ);
	CU_ASSERT_EQUAL(pagez_index(img, true, &ix, &nr, &logical), 0);
	CU_ASSERT_EQUAL(nr, 4);
	CU_ASSERT_EQUAL(logical, IMAGE_BYTES);
	free(ix);
	img_close(img);
	img = NULL;

	CU_ASSERT_EQUAL(pages_open(tmp_dfd, 1, false, NULL, &img), 0);
	CU_ASSERT_FATAL(img != NULL);
	CU_ASSERT_EQUAL(img->type, IMG_PAGES);
	CU_ASSERT_EQUAL(img_raw_data_end(img->fd, img->name, &end), 0);
	CU_ASSERT_EQUAL(end, IMG_PAGES_DATA_OFF + IMAGE_BYTES);
	CU_ASSERT_EQUAL(pread(img->fd, back, IMAGE_BYTES, IMG_PAGES_DATA_OFF), IMAGE_BYTES);
	CU_ASSERT(memcmp(src, back, IMAGE_BYTES) == 0);
	img_close(img);
	img_dump_id_forget();
	tmp_teardown();
	free(src);
	free(back);
}

/* A byte flipped inside the second block: refused naming the file and that block's offset. */
static void test_image_corrupt(void)
{
	unsigned char *src = malloc(IMAGE_BYTES);
	struct pagez_index_entry *ix = NULL;
	struct img *img = NULL;
	uint64_t logical = 0;
	char want[96];
	size_t nr = 0;
	unsigned char c;
	int fd;

	CU_ASSERT_FATAL(src != NULL);
	tmp_setup();
	CU_ASSERT_EQUAL(img_dump_id_new(), 0);
	write_image(src);
	CU_ASSERT_FATAL(img_open_pages(tmp_dfd, 1, false, NULL, &img) == 0);
	CU_ASSERT_FATAL(pagez_index(img, false, &ix, &nr, &logical) == 0 && nr == 4);
	img_close(img);
	img = NULL;

	fd = openat(tmp_dfd, "pages-1.img", O_RDWR);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(pread(fd, &c, 1, ix[1].off + PAGEZ_HDR_SIZE + 100) == 1);
	c ^= 0x40;
	CU_ASSERT_FATAL(pwrite(fd, &c, 1, ix[1].off + PAGEZ_HDR_SIZE + 100) == 1);
	CU_ASSERT_EQUAL(pages_open(tmp_dfd, 1, false, NULL, &img), -EBADMSG);
	CU_ASSERT(img == NULL);
	snprintf(want, sizeof(want), "pages-1.img: compressed block at file offset %lu: checksum mismatch",
		 (unsigned long)ix[1].off);
	CU_ASSERT(last_error_has(want));

	/* The header of the third block: the walk stops there. */
	c ^= 0x40;
	CU_ASSERT_FATAL(pwrite(fd, &c, 1, ix[1].off + PAGEZ_HDR_SIZE + 100) == 1);
	CU_ASSERT_FATAL(pread(fd, &c, 1, ix[2].off + 9) == 1);
	c ^= 1;
	CU_ASSERT_FATAL(pwrite(fd, &c, 1, ix[2].off + 9) == 1);
	CU_ASSERT_EQUAL(pages_open(tmp_dfd, 1, false, NULL, &img), -EBADMSG);
	snprintf(want, sizeof(want), "pages-1.img: compressed block at file offset %lu: block header checksum",
		 (unsigned long)ix[2].off);
	CU_ASSERT(last_error_has(want));
	close(fd);
	free(ix);
	img_dump_id_forget();
	tmp_teardown();
	free(src);
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = v, p[1] = v >> 8, p[2] = v >> 16, p[3] = v >> 24;
}

/*
 * A crafted image of small blocks that would decompress to more than
 * the machine's memory: refused before any memfd grows.
 */
static void test_image_bomb(void)
{
	unsigned char *src = malloc(PAGEZ_BLOCK_SIZE), enc[4096];
	struct sysinfo si;
	struct img *img = NULL;
	void *c = pagez_cctx_new();
	uint64_t nr;
	ssize_t len;

	CU_ASSERT_FATAL(src && c && sysinfo(&si) == 0);
	memset(src, 'a', PAGEZ_BLOCK_SIZE);
	len = pagez_encode(c, 1, 0, src, PAGEZ_BLOCK_SIZE, enc, sizeof(enc));
	CU_ASSERT_FATAL(len > 0 && len < (ssize_t)sizeof(enc));
	nr = ((uint64_t)si.totalram + si.totalswap) * si.mem_unit / PAGEZ_BLOCK_SIZE + 1;
	tmp_setup();
	CU_ASSERT_EQUAL(img_dump_id_new(), 0);
	CU_ASSERT_FATAL(img_open(tmp_dfd, IMG_PAGESZ, 1, O_WRONLY, &img) == 0);
	for (uint64_t i = 0; i < nr; i++) {
		uint64_t loff = IMG_PAGES_DATA_OFF + i * PAGEZ_BLOCK_SIZE;

		put32(enc + 16, loff);
		put32(enc + 20, loff >> 32);
		put32(enc + 28, crc32c(0, enc, 28));
		CU_ASSERT_FATAL(write_all(img->fd, enc, len) == 0);
	}
	CU_ASSERT_EQUAL(img_close(img), 0);
	img = NULL;
	CU_ASSERT_EQUAL(pages_open(tmp_dfd, 1, false, NULL, &img), -EFBIG);
	CU_ASSERT(last_error_has("more than this machine's memory"));
	img_dump_id_forget();
	tmp_teardown();
	pagez_cctx_free(c);
	free(src);
}

int unit_register_pagez(void)
{
	CU_pSuite s = CU_add_suite("pagez", NULL, NULL);

	if (!s ||
	    !CU_add_test(s, "--compress values", test_spec) ||
	    !CU_add_test(s, "block round trip, raw when incompressible", test_block_round_trip) ||
	    !CU_add_test(s, "forged block headers refused", test_header_refused) ||
	    !CU_add_test(s, "image: threaded writer, pages_open() reads it back", test_image_round_trip) ||
	    !CU_add_test(s, "image: a flipped byte names the file and the block", test_image_corrupt) ||
	    !CU_add_test(s, "image: more than the machine's memory refused", test_image_bomb))
		return CU_get_error();
	return 0;
}
