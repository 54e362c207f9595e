#ifndef CR_PAGEZ_H
#define CR_PAGEZ_H

/*
 * Compressed page images (dump --compress[=zstd[:LEVEL]]).
 *
 * The logical layout stays that of a plain pages-N.img: pagemap entries
 * give offsets of uncompressed bytes, their CRC32C is over uncompressed
 * bytes. The file (magic PAGESZ_MAGIC, same name pages-N.img, same
 * header and end marker as every raw image) holds, after its padded
 * header, the logical data cut into blocks of PAGEZ_BLOCK_SIZE
 * uncompressed bytes (the last one shorter), each stored back to back
 * and decodable on its own:
 *	u32 PAGEZ_BLOCK_MAGIC ("PGZB"),
 *	u16 codec (enum pagez_codec), u16 0,
 *	u32 stored length: bytes of payload after this header,
 *	u32 raw length: uncompressed bytes (1..PAGEZ_BLOCK_SIZE),
 *	u64 logical offset of its first uncompressed byte (the first block
 *	    IMG_PAGES_DATA_OFF, each next one where the previous ended),
 *	u32 CRC32C of the payload (checked before it is decompressed),
 *	u32 CRC32C of the previous 28 bytes.
 * A block zstd does not make smaller is stored raw (PAGEZ_RAW). The
 * headers chained through the file are the block index: a reader walks
 * them (one pread each) before it trusts any payload.
 * Holes (pages never written, the zero page) never reach the image, as
 * in a plain one: only present data is compressed.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PAGEZ_BLOCK_MAGIC	0x425a4750u	/* "PGZB" little-endian */
#define PAGEZ_HDR_SIZE		32u
#define PAGEZ_BLOCK_SIZE	(1u << 20)	/* uncompressed bytes of a block */
#define PAGEZ_LEVEL_DEFAULT	1
#define PAGEZ_LEVEL_MIN		1
#define PAGEZ_LEVEL_MAX		19

enum pagez_codec {
	PAGEZ_RAW = 0,
	PAGEZ_ZSTD = 1,
	PAGEZ_CODEC_MAX,
};

struct pagez_block {
	unsigned codec;
	uint32_t stored_len;
	uint32_t raw_len;
	uint64_t loff;		/* logical offset of its first byte */
	uint32_t crc;		/* of the payload */
};

/*
 * Parses "zstd", "zstd:LEVEL" or "" (the default) of --compress[=...]
 * into *ret_level. 0, or -EINVAL (not logged: the caller names the option).
 */
int pagez_parse_spec(const char *spec, int *ret_level);

/* ---- the block codec (pagez-codec.c) ---------------------------------- */

/* The most bytes pagez_encode() writes for @raw_len bytes, header included. */
size_t pagez_encoded_bound(size_t raw_len);

/*
 * Encodes @len (1..PAGEZ_BLOCK_SIZE) bytes at @src, whose logical offset
 * is @loff, as one block (header and payload) into @dst of @cap bytes
 * (pagez_encoded_bound(len) is always enough), compressed with zstd at
 * @level through @cctx (a ZSTD_CCtx, reused), raw if that is no
 * smaller. Returns the block's size, or -errno (not logged: -EINVAL for
 * bad arguments, -ENOBUFS when @cap is short, -EIO when zstd fails).
 */
ssize_t pagez_encode(void *cctx, int level, uint64_t loff, const void *src, size_t len, void *dst, size_t cap);

/*
 * Parses the block header @hdr into *@ret. Returns 0, or -EBADMSG with
 * *@ret_why saying what is wrong (the caller logs it with the file and
 * the offset).
 */
int pagez_hdr_parse(const unsigned char hdr[PAGEZ_HDR_SIZE], struct pagez_block *ret, const char **ret_why);

/*
 * Checks the payload @payload (b->stored_len bytes) against its CRC32C,
 * then decodes it into @dst (b->raw_len bytes) through @dctx (a
 * ZSTD_DCtx, reused); a raw block with @dst NULL is only checked (its
 * bytes are the payload). Returns 0, or -EBADMSG with *@ret_why.
 */
int pagez_decode(void *dctx, const struct pagez_block *b, const void *payload, void *dst, const char **ret_why);

/* ZSTD_CCtx / ZSTD_DCtx of the codec, NULL on failure (logged). */
void *pagez_cctx_new(void);
void pagez_cctx_free(void *cctx);
void *pagez_dctx_new(void);
void pagez_dctx_free(void *dctx);

/* ---- writing: blocks compressed on every core (pagez-write.c) ----------- */

struct pagez_writer;

/*
 * Gets every encoded block in order, in the caller's thread (from
 * pagez_write*() and pagez_writer_finish()). Returns 0 or -errno (logged).
 */
typedef int (*pagez_out_fn)(void *ctx, const void *block, size_t len);

/*
 * A writer of the logical stream starting at logical offset @loff,
 * compressing at @level with @threads workers (0: one per online CPU).
 * 0 and *@ret, or -errno (logged).
 */
int pagez_writer_new(int level, unsigned threads, uint64_t loff, pagez_out_fn out, void *ctx,
		     struct pagez_writer **ret);
/* Appends @len bytes of @buf (copied). 0 or -errno (logged, or the output's). */
int pagez_write(struct pagez_writer *w, const void *buf, uint64_t len);
/*
 * Appends @len bytes read from @fd (a pipe: read() until they all came).
 * @what names the bytes for messages. 0 or -errno (logged; -EIO when @fd
 * ended early).
 */
int pagez_write_from(struct pagez_writer *w, int fd, uint64_t len, const char *what);
/* Encodes and outputs what is left, waiting for the workers. 0 or -errno. */
int pagez_writer_finish(struct pagez_writer *w);
/* Stored bytes output so far (headers included). */
uint64_t pagez_writer_stored(const struct pagez_writer *w);
/* Stops the workers and frees @w; NULL is a no-op. What was not finished is lost. */
void pagez_writer_free(struct pagez_writer *w);

/* ---- reading (pagez-read.c) --------------------------------------------- */

struct img;

/*
 * Opens pages-@id.img of @dfd for reading, as img_open() does (with
 * @other: of another dump, as img_open_other() with @dump_id). A
 * compressed image has every block checked (header, then payload CRC,
 * then its size once decompressed), decompressed on every core into a
 * memfd laid out as the plain image would be (same offsets, an end
 * marker after the data); *@ret_img then reads as a plain pages image
 * (type IMG_PAGES, fd the memfd, name that of the file). The first bad
 * block is refused with -EBADMSG, naming the file and its offset.
 * Returns 0 or -errno (logged).
 */
int pages_open(int dfd, unsigned id, bool other, const uint8_t *dump_id, struct img **ret_img);

/* One block of a compressed image, for cr show: its file offset and header. */
struct pagez_index_entry {
	uint64_t off;
	struct pagez_block b;
};

/*
 * Walks the block headers of the compressed image @img (open, raw data
 * from IMG_PAGES_DATA_OFF to img->data_end), checking each header and
 * that they chain (no gap, no overlap, logical offsets in order). With
 * @payloads also every payload's CRC32C. Fills *@ret_index (malloc'ed)
 * and *@ret_nr, and *@ret_logical the bytes they decompress to. 0 or
 * -EBADMSG naming the file and offset, or -errno (logged).
 */
int pagez_index(const struct img *img, bool payloads, struct pagez_index_entry **ret_index, size_t *ret_nr,
		uint64_t *ret_logical);

#endif
