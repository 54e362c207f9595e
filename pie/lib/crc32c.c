#include "pie-lib.h"

/*
 * Three independent streams hide the 3-cycle latency of the crc32
 * instruction; each stream's CRC is then shifted into place by running
 * the instruction over zero bytes, which is cheap for our block sizes
 * only when done per block, so blocks stay large (4 KiB multiples).
 * For simplicity and because the parasite computes this on its own core
 * in parallel with cr's splice, a single stream is used here.
 */
__attribute__((target("sse4.2")))
unsigned int pie_crc32c(unsigned int crc, const void *buf, unsigned long len)
{
	const unsigned char *p = buf;
	unsigned long long c = ~crc;

	while (len >= 8) {
		c = __builtin_ia32_crc32di(c, *(const unsigned long long *)p);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = __builtin_ia32_crc32qi((unsigned int)c, *p++);
	return ~(unsigned int)c;
}
