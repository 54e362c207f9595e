/*
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), iSCSI convention:
 * the running value is inverted on entry and exit, so
 * crc32c(crc32c(0, a), b) == crc32c(0, a || b).
 *
 * It runs over every dumped page, so the hardware path matters. The SSE4.2
 * crc32 instruction has a latency of 3 cycles but a throughput of one per
 * cycle: a single dependent chain uses a third of the unit. We therefore
 * split large blocks into three equal lanes, run three independent chains
 * interleaved, and merge the lane results with a carry-less multiply by a
 * precomputed x^(8*lane) constant.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <immintrin.h>

#include "compiler.h"
#include "image.h"

#define CRC32C_POLY	0x82F63B78u	/* reflected x^32 + ... (Castagnoli) */

/*
 * Lane sizes for the 3-way path. The long lane amortises the merge (about
 * a dozen cycles) over 24 KiB; the middle one fits a single page; the
 * short one picks up smaller tails. All must be multiples of 16 (the loop
 * is unrolled twice).
 */
#define LANE_LONG	8192u
#define LANE_MID	1360u	/* 3 lanes cover a 4 KiB page but 16 bytes */
#define LANE_SHORT	256u

static uint32_t crc_table[8][256];	/* slicing-by-8 tables */
static uint32_t k_long, k_mid, k_short;	/* x^(8*lane - 33) mod P, reflected */
static bool have_hw;			/* sse4.2 crc32 + pclmulqdq */
static bool have_crc_only;		/* sse4.2 without pclmulqdq */
static bool crc_ready;

/* Multiply @v (reflected) by x modulo P. */
static uint32_t xmul(uint32_t v)
{
	return (v >> 1) ^ ((v & 1) ? CRC32C_POLY : 0);
}

/* x^n mod P, reflected: bit 31 stands for x^0. */
static uint32_t xpow_mod(unsigned n)
{
	uint32_t v = 0x80000000u;

	while (n--)
		v = xmul(v);
	return v;
}

__attribute__((constructor))
static void crc32c_init(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ ((c & 1) ? CRC32C_POLY : 0);
		crc_table[0][i] = c;
	}
	for (unsigned i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^
					  crc_table[0][crc_table[t - 1][i] & 0xff];

	/*
	 * clmul of two reflected 32-bit values yields the product shifted
	 * by one bit (times x), and crc32 of a 64-bit word with a zero state
	 * multiplies by x^32: hence the -33 to land on x^(8*lane).
	 */
	k_long = xpow_mod(8 * LANE_LONG - 33);
	k_mid = xpow_mod(8 * LANE_MID - 33);
	k_short = xpow_mod(8 * LANE_SHORT - 33);

	__builtin_cpu_init();
	have_hw = __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("pclmul");
	have_crc_only = !have_hw && __builtin_cpu_supports("sse4.2");
	crc_ready = true;
}

/*
 * The constructor normally runs first; this covers a caller from another
 * constructor that runs before ours (init is idempotent).
 */
static inline void crc32c_ensure_init(void)
{
	if (unlikely(!crc_ready))
		crc32c_init();
}

static inline uint64_t load64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Table-driven CRC on the raw (non-inverted) state. */
static uint32_t crc_sw_raw(uint32_t crc, const unsigned char *p, size_t len)
{
	while (len && ((uintptr_t)p & 7)) {
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
		len--;
	}
	while (len >= 8) {
		/* Little-endian: the low word meets the running CRC. */
		uint64_t w = load64(p) ^ crc;

		crc = crc_table[7][w & 0xff] ^
		      crc_table[6][(w >> 8) & 0xff] ^
		      crc_table[5][(w >> 16) & 0xff] ^
		      crc_table[4][(w >> 24) & 0xff] ^
		      crc_table[3][(w >> 32) & 0xff] ^
		      crc_table[2][(w >> 40) & 0xff] ^
		      crc_table[1][(w >> 48) & 0xff] ^
		      crc_table[0][w >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
	return crc;
}

uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	crc32c_ensure_init();
	return ~crc_sw_raw(~crc, buf, len);
}

__attribute__((target("sse4.2")))
static uint32_t crc_hw1_raw(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t c = crc;

	while (len && ((uintptr_t)p & 7)) {
		c = __builtin_ia32_crc32qi(c, *p++);
		len--;
	}
	while (len >= 8) {
		c = __builtin_ia32_crc32di(c, load64(p));
		p += 8;
		len -= 8;
	}
	while (len--)
		c = __builtin_ia32_crc32qi(c, *p++);
	return c;
}

/* Returns crc * x^(8*lane) mod P, given k = x^(8*lane - 33) mod P. */
__attribute__((target("sse4.2,pclmul")))
static inline uint32_t crc_shift(uint32_t crc, uint32_t k)
{
	__m128i prod = _mm_clmulepi64_si128(_mm_cvtsi32_si128(crc),
					    _mm_cvtsi32_si128(k), 0x00);

	return __builtin_ia32_crc32di(0, _mm_cvtsi128_si64(prod));
}

/*
 * Three interleaved chains over lanes [p, p+lane), [p+lane, p+2*lane),
 * [p+2*lane, p+3*lane); the later lanes start from a zero state and are
 * folded in by shifting the earlier result over one lane and xoring.
 */
#define CRC_3WAY(lane, k)							\
	while (len >= 3 * (lane)) {						\
		uint64_t c0 = crc, c1 = 0, c2 = 0;				\
		const unsigned char *end = p + (lane);				\
									\
		do {								\
			c0 = __builtin_ia32_crc32di(c0, load64(p));		\
			c1 = __builtin_ia32_crc32di(c1, load64(p + (lane)));	\
			c2 = __builtin_ia32_crc32di(c2, load64(p + 2 * (lane))); \
			c0 = __builtin_ia32_crc32di(c0, load64(p + 8));	\
			c1 = __builtin_ia32_crc32di(c1, load64(p + (lane) + 8)); \
			c2 = __builtin_ia32_crc32di(c2, load64(p + 2 * (lane) + 8)); \
			p += 16;						\
		} while (p < end);						\
		crc = crc_shift(c0, k) ^ c1;					\
		crc = crc_shift(crc, k) ^ c2;					\
		p += 2 * (lane);						\
		len -= 3 * (lane);						\
	}

__attribute__((target("sse4.2,pclmul")))
static uint32_t crc_hw3_raw(uint32_t crc, const unsigned char *p, size_t len)
{
	while (len && ((uintptr_t)p & 7)) {
		crc = __builtin_ia32_crc32qi(crc, *p++);
		len--;
	}
	CRC_3WAY(LANE_LONG, k_long)
	CRC_3WAY(LANE_MID, k_mid)
	CRC_3WAY(LANE_SHORT, k_short)
	return crc_hw1_raw(crc, p, len);
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	crc32c_ensure_init();
	if (likely(have_hw))
		return ~crc_hw3_raw(~crc, buf, len);
	if (have_crc_only)
		return ~crc_hw1_raw(~crc, buf, len);
	return ~crc_sw_raw(~crc, buf, len);
}

bool crc32c_hw_accelerated(void)
{
	crc32c_ensure_init();
	return have_hw || have_crc_only;
}
