#include "pie-lib.h"

/*
 * Three independent streams hide the 3-cycle latency of the crc32
 * instruction; each stream's CRC is then shifted into place by running
 * the instruction over zero bytes, which is cheap for our block sizes
 * only when done per block, so blocks stay large (4 KiB multiples).
 * For simplicity and because the parasite computes this on its own core
 * in parallel with cr's splice, a single stream is used here.
 */
/*
 * The crc32 instruction works on general registers; as asm it needs no
 * SSE target, which -mgeneral-regs-only (the blobs touch no FPU state)
 * would refuse.
 */
unsigned int pie_crc32c(unsigned int crc, const void *buf, unsigned long len)
{
	const unsigned char *p = buf;
	unsigned long long c = ~crc;

	while (len >= 8) {
		__asm__("crc32q %1, %0" : "+r"(c) : "rm"(*(const unsigned long long *)p));
		p += 8;
		len -= 8;
	}
	while (len--) {
		unsigned int c32 = (unsigned int)c;

		__asm__("crc32b %1, %0" : "+r"(c32) : "rm"(*p++));
		c = c32;
	}
	return ~(unsigned int)c;
}
