/*
 * mac-tamper: changes an image as someone without the key could, fixing
 * every checksum so that only a MAC can tell (test/mac/run).
 *   mac-tamper flip FILE N         flips a bit in the payload of record N
 *                                  of a message image; its CRC32C, the end
 *                                  marker's chain and CRC are made to match
 *   mac-tamper poke FILE OFF       flips a bit of the byte at OFF of FILE
 *   mac-tamper graft FROM TO       writes FROM (a file of another dump) to
 *                                  TO with TO's dump id in its header and
 *                                  the header's CRC32C made to match
 * Exit 0 when done, 1 on error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b;
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		return NULL;
	b = malloc(n + 1);
	if (!b || fread(b, 1, n, f) != (size_t)n)
		return NULL;
	fclose(f);
	*len = n;
	return b;
}

static int spit(const char *path, const unsigned char *b, size_t len)
{
	FILE *f = fopen(path, "wb");

	return f && fwrite(b, 1, len, f) == len && !fclose(f) ? 0 : 1;
}

static uint32_t le32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

/*
 * Walks the records of the message image @b, flips a bit in record @want
 * (none if past the last), and sets every CRC after it to match. Prints
 * the offset of the record flipped. 0 or 1 (no such record, not an image).
 */
static int fix(unsigned char *b, size_t len, unsigned want, int must)
{
	size_t pos = IMG_HDR_SIZE;
	uint32_t chain, nr = 0;

	put32(b + IMG_HDR_SIZE - 4, crc32c(0, b, IMG_HDR_SIZE - 4));
	chain = crc32c(0, b + IMG_HDR_SIZE - 4, 4);
	/* A raw image's end marker closes the file; its chain is the header's alone. */
	if (le32(b + 4) == PAGES_MAGIC || le32(b + 4) == FDATA_MAGIC)
		pos = len >= IMG_TRAILER_SIZE ? len - IMG_TRAILER_SIZE : len;
	while (pos + 4 <= len && pos < len - IMG_TRAILER_SIZE + 1) {
		uint32_t w = le32(b + pos), n = w & ~IMG_REC_SIGNED;
		size_t mac = w & IMG_REC_SIGNED ? 16 : 0;

		if (w == IMG_END_MARK || w == IMG_END_MARK_SIGNED)
			break;
		if (nr == want && n) {
			b[pos + IMG_REC_HDR_SIZE + n / 2] ^= 0x01;
			put32(b + pos + 4, crc32c(0, b + pos + IMG_REC_HDR_SIZE, n));
			printf("%zu\n", pos);
		}
		chain = crc32c(chain, b + pos + 4, 4);
		pos += IMG_REC_HDR_SIZE + n + mac;
		nr++;
	}
	if ((must && want >= nr) || pos + IMG_TRAILER_SIZE > len)
		return fprintf(stderr, "no record %u\n", want), 1;
	put32(b + pos + 16, chain);
	put32(b + pos + 20, crc32c(0, b + pos, 20));
	return 0;
}

static int flip(const char *path, unsigned want)
{
	size_t len;
	unsigned char *b = slurp(path, &len);

	if (!b || len < IMG_HDR_SIZE || fix(b, len, want, 1))
		return 1;
	return spit(path, b, len);
}

static int graft(const char *from, const char *to)
{
	size_t flen, tlen;
	unsigned char *f = slurp(from, &flen), *t = slurp(to, &tlen);

	if (!f || !t || flen < IMG_HDR_SIZE || tlen < IMG_HDR_SIZE)
		return 1;
	memcpy(f + 16, t + 16, IMG_DUMP_ID_SIZE);
	if (fix(f, flen, UINT32_MAX, 0))
		return 1;
	return spit(to, f, flen);
}

static int poke(const char *path, long off)
{
	size_t len;
	unsigned char *b = slurp(path, &len);

	if (!b || off < 0 || (size_t)off >= len)
		return 1;
	b[off] ^= 0x10;
	return spit(path, b, len);
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "poke"))
		return poke(argv[2], atol(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "flip"))
		return flip(argv[2], atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "graft"))
		return graft(argv[2], argv[3]);
	fprintf(stderr, "usage: mac-tamper flip FILE N | poke FILE OFF | graft FROM TO\n");
	return 2;
}
