/*
 * The block codec of compressed page images (pagez.h): one block's
 * header and payload, zstd or raw, and the --compress option's value.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>
#include <zstd_errors.h>

#include "image.h"
#include "log.h"
#include "pagez.h"

#define HDR_CODEC	4
#define HDR_STORED	8
#define HDR_RAW		12
#define HDR_LOFF	16
#define HDR_CRC		24
#define HDR_HCRC	28

static void put_le16(unsigned char *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	put_le16(p, v);
	put_le16(p + 2, v >> 16);
}

static void put_le64(unsigned char *p, uint64_t v)
{
	put_le32(p, v);
	put_le32(p + 4, v >> 32);
}

static uint16_t get_le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const unsigned char *p)
{
	return get_le16(p) | (uint32_t)get_le16(p + 2) << 16;
}

static uint64_t get_le64(const unsigned char *p)
{
	return get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

int pagez_parse_spec(const char *spec, int *ret_level)
{
	const char *lvl;
	char *end;
	long v;

	if (!spec || !*spec) {
		*ret_level = PAGEZ_LEVEL_DEFAULT;
		return 0;
	}
	if (strncmp(spec, "zstd", 4) || (spec[4] && spec[4] != ':'))
		return -EINVAL;
	if (!spec[4]) {
		*ret_level = PAGEZ_LEVEL_DEFAULT;
		return 0;
	}
	lvl = spec + 5;
	errno = 0;
	v = strtol(lvl, &end, 10);
	if (!*lvl || *end || errno || v < PAGEZ_LEVEL_MIN || v > PAGEZ_LEVEL_MAX)
		return -EINVAL;
	*ret_level = (int)v;
	return 0;
}

size_t pagez_encoded_bound(size_t raw_len)
{
	size_t z = ZSTD_compressBound(raw_len);

	return PAGEZ_HDR_SIZE + (z > raw_len ? z : raw_len);
}

static void hdr_build(unsigned char *h, unsigned codec, uint32_t stored, uint32_t raw, uint64_t loff, uint32_t crc)
{
	put_le32(h, PAGEZ_BLOCK_MAGIC);
	put_le16(h + HDR_CODEC, codec);
	put_le16(h + HDR_CODEC + 2, 0);
	put_le32(h + HDR_STORED, stored);
	put_le32(h + HDR_RAW, raw);
	put_le64(h + HDR_LOFF, loff);
	put_le32(h + HDR_CRC, crc);
	put_le32(h + HDR_HCRC, crc32c(0, h, HDR_HCRC));
}

ssize_t pagez_encode(void *cctx, int level, uint64_t loff, const void *src, size_t len, void *dst, size_t cap)
{
	unsigned char *out = dst;
	unsigned codec = PAGEZ_ZSTD;
	size_t n;

	if (!len || len > PAGEZ_BLOCK_SIZE || !cctx)
		return -EINVAL;
	if (cap <= PAGEZ_HDR_SIZE)
		return -ENOBUFS;
	n = ZSTD_compressCCtx(cctx, out + PAGEZ_HDR_SIZE, cap - PAGEZ_HDR_SIZE, src, len, level);
	if (ZSTD_isError(n) && ZSTD_getErrorCode(n) != ZSTD_error_dstSize_tooSmall)
		return -EIO;
	/* Not smaller: stored as it is, and read back without zstd. */
	if (ZSTD_isError(n) || n >= len) {
		if (cap < PAGEZ_HDR_SIZE + len)
			return -ENOBUFS;
		memcpy(out + PAGEZ_HDR_SIZE, src, len);
		n = len;
		codec = PAGEZ_RAW;
	}
	hdr_build(out, codec, n, len, loff, crc32c(0, out + PAGEZ_HDR_SIZE, n));
	return PAGEZ_HDR_SIZE + n;
}

int pagez_hdr_parse(const unsigned char hdr[PAGEZ_HDR_SIZE], struct pagez_block *ret, const char **ret_why)
{
	struct pagez_block b;
	const char *why = NULL;

	if (get_le32(hdr) != PAGEZ_BLOCK_MAGIC)
		why = "not a block header (bad magic)";
	else if (get_le32(hdr + HDR_HCRC) != crc32c(0, hdr, HDR_HCRC))
		why = "block header checksum mismatch";
	if (why) {
		*ret_why = why;
		return -EBADMSG;
	}
	b.codec = get_le16(hdr + HDR_CODEC);
	b.stored_len = get_le32(hdr + HDR_STORED);
	b.raw_len = get_le32(hdr + HDR_RAW);
	b.loff = get_le64(hdr + HDR_LOFF);
	b.crc = get_le32(hdr + HDR_CRC);
	if (b.codec >= PAGEZ_CODEC_MAX || get_le16(hdr + HDR_CODEC + 2))
		why = "unknown compression method";
	else if (!b.raw_len || b.raw_len > PAGEZ_BLOCK_SIZE)
		why = "block size out of range";
	else if (b.codec == PAGEZ_RAW ? b.stored_len != b.raw_len : !b.stored_len || b.stored_len >= b.raw_len)
		why = "stored size does not fit the block size";
	if (why) {
		*ret_why = why;
		return -EBADMSG;
	}
	*ret = b;
	return 0;
}

int pagez_decode(void *dctx, const struct pagez_block *b, const void *payload, void *dst, const char **ret_why)
{
	size_t n;

	if (crc32c(0, payload, b->stored_len) != b->crc) {
		*ret_why = "checksum mismatch in the compressed bytes";
		return -EBADMSG;
	}
	if (b->codec == PAGEZ_RAW) {
		if (dst)
			memcpy(dst, payload, b->raw_len);
		return 0;
	}
	n = ZSTD_decompressDCtx(dctx, dst, b->raw_len, payload, b->stored_len);
	if (ZSTD_isError(n) || n != b->raw_len) {
		*ret_why = ZSTD_isError(n) ? "zstd cannot decompress the block" :
					     "the block decompresses to another size than its header says";
		return -EBADMSG;
	}
	return 0;
}

void *pagez_cctx_new(void)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();

	if (!c)
		pr_err("zstd: no memory for a compression context");
	return c;
}

void pagez_cctx_free(void *cctx)
{
	ZSTD_freeCCtx(cctx);
}

void *pagez_dctx_new(void)
{
	ZSTD_DCtx *d = ZSTD_createDCtx();

	if (!d)
		pr_err("zstd: no memory for a decompression context");
	return d;
}

void pagez_dctx_free(void *dctx)
{
	ZSTD_freeDCtx(dctx);
}
