/*
 * FPU/vector state survives: x87 stack and control word, MXCSR, xmm0-15,
 * ymm0-15 and, with AVX-512, zmm0-31 and k0-7. The registers are loaded
 * and read back in one asm block whose wait is a pause loop on the SIGTERM
 * flag: no call can clobber them between the checkpoint and the check.
 * The SIGTERM handler itself runs in between, but the kernel saves and
 * restores the whole xstate around a signal handler.
 */
#include <stdint.h>
#include <string.h>
#include "zdtm.h"

#define NR_X87		8
#define X87_CW		0x0f7f	/* round toward zero, 64-bit precision */
#define X87_CW_DEFAULT	0x037f
#define MXCSR_VAL	0x7f80	/* all exceptions masked, round toward zero */
#define MXCSR_DEFAULT	0x1f80

struct fpstate {
	double x87[NR_X87];
	uint16_t cw;
	uint32_t mxcsr;
	uint8_t vec[32][64] __attribute__((aligned(64)));
	uint64_t k[8];
};

static struct fpstate in, out;

static void make_values(void)
{
	for (int i = 0; i < NR_X87; i++)
		in.x87[i] = 1.5 + i * 1024.25;
	for (int r = 0; r < 32; r++)
		for (int b = 0; b < 64; b++)
			in.vec[r][b] = (uint8_t)(r * 64 + b * 3 + 1);
	for (int i = 0; i < 8; i++)
		in.k[i] = 0x0101010101010101ULL * (i + 1) ^ (0xf0ULL << (i * 4));
}

/* The x87 part is the same in all variants: push 8, pop 8 at the end. */
#define X87_LOAD							\
	"fninit\n\t"							\
	"fldcw %[cw]\n\t"						\
	"ldmxcsr %[mxcsr]\n\t"						\
	"fldl 0+%[x87]\n\t"  "fldl 8+%[x87]\n\t"			\
	"fldl 16+%[x87]\n\t" "fldl 24+%[x87]\n\t"			\
	"fldl 32+%[x87]\n\t" "fldl 40+%[x87]\n\t"			\
	"fldl 48+%[x87]\n\t" "fldl 56+%[x87]\n\t"
#define WAIT_LOOP							\
	"1: pause\n\t"							\
	"cmpl $0, (%[flag])\n\t"					\
	"je 1b\n\t"
/* Popped in reverse order of the pushes: out.x87 matches in.x87. */
#define X87_STORE							\
	"fstpl 56+%[ox87]\n\t" "fstpl 48+%[ox87]\n\t"			\
	"fstpl 40+%[ox87]\n\t" "fstpl 32+%[ox87]\n\t"			\
	"fstpl 24+%[ox87]\n\t" "fstpl 16+%[ox87]\n\t"			\
	"fstpl 8+%[ox87]\n\t"  "fstpl 0+%[ox87]\n\t"			\
	"fnstcw %[ocw]\n\t"						\
	"stmxcsr %[omxcsr]\n\t"

/* Register n lives at byte n*64 of the buffer, whatever its width. */
#define VLD(op, r, n, ptr)	op " " #n "*64(" ptr "), %%" r #n "\n\t"
#define VST(op, r, n, ptr)	op " %%" r #n ", " #n "*64(" ptr ")\n\t"
#define VEC_LO(m, op, r, ptr)						\
	m(op, r, 0, ptr) m(op, r, 1, ptr) m(op, r, 2, ptr) m(op, r, 3, ptr) \
	m(op, r, 4, ptr) m(op, r, 5, ptr) m(op, r, 6, ptr) m(op, r, 7, ptr) \
	m(op, r, 8, ptr) m(op, r, 9, ptr) m(op, r, 10, ptr) m(op, r, 11, ptr) \
	m(op, r, 12, ptr) m(op, r, 13, ptr) m(op, r, 14, ptr) m(op, r, 15, ptr)
#define VEC_HI(m, op, r, ptr)						\
	m(op, r, 16, ptr) m(op, r, 17, ptr) m(op, r, 18, ptr) m(op, r, 19, ptr) \
	m(op, r, 20, ptr) m(op, r, 21, ptr) m(op, r, 22, ptr) m(op, r, 23, ptr) \
	m(op, r, 24, ptr) m(op, r, 25, ptr) m(op, r, 26, ptr) m(op, r, 27, ptr) \
	m(op, r, 28, ptr) m(op, r, 29, ptr) m(op, r, 30, ptr) m(op, r, 31, ptr)

#define COMMON_OPERANDS							\
	: [ox87] "=m"(out.x87), [ocw] "=m"(out.cw), [omxcsr] "=m"(out.mxcsr), \
	  "=m"(out.vec), "=m"(out.k)					\
	: [x87] "m"(in.x87), [cw] "m"(in.cw), [mxcsr] "m"(in.mxcsr),	\
	  [flag] "r"(&zdtm_sigterm_seen), [iv] "r"(in.vec), [ov] "r"(out.vec), \
	  [ik] "r"(in.k), [ok] "r"(out.k)

#define XMM_CLOBBERS							\
	"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",	\
	"xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", \
	"st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)", \
	"cc", "memory"

static void run_sse(void)
{
	asm volatile(X87_LOAD
		     VEC_LO(VLD, "movdqu", "xmm", "%[iv]")
		     WAIT_LOOP
		     VEC_LO(VST, "movdqu", "xmm", "%[ov]")
		     X87_STORE
		     COMMON_OPERANDS : XMM_CLOBBERS);
}

__attribute__((target("avx")))
static void run_avx(void)
{
	asm volatile(X87_LOAD
		     VEC_LO(VLD, "vmovdqu", "ymm", "%[iv]")
		     WAIT_LOOP
		     VEC_LO(VST, "vmovdqu", "ymm", "%[ov]")
		     X87_STORE
		     "vzeroupper\n\t"
		     COMMON_OPERANDS : XMM_CLOBBERS);
}

__attribute__((target("avx512f,avx512bw")))
static void run_avx512(void)
{
	asm volatile(X87_LOAD
		     VEC_LO(VLD, "vmovdqu64", "zmm", "%[iv]")
		     VEC_HI(VLD, "vmovdqu64", "zmm", "%[iv]")
		     "kmovq 0(%[ik]), %%k0\n\t" "kmovq 8(%[ik]), %%k1\n\t"
		     "kmovq 16(%[ik]), %%k2\n\t" "kmovq 24(%[ik]), %%k3\n\t"
		     "kmovq 32(%[ik]), %%k4\n\t" "kmovq 40(%[ik]), %%k5\n\t"
		     "kmovq 48(%[ik]), %%k6\n\t" "kmovq 56(%[ik]), %%k7\n\t"
		     WAIT_LOOP
		     VEC_LO(VST, "vmovdqu64", "zmm", "%[ov]")
		     VEC_HI(VST, "vmovdqu64", "zmm", "%[ov]")
		     "kmovq %%k0, 0(%[ok])\n\t" "kmovq %%k1, 8(%[ok])\n\t"
		     "kmovq %%k2, 16(%[ok])\n\t" "kmovq %%k3, 24(%[ok])\n\t"
		     "kmovq %%k4, 32(%[ok])\n\t" "kmovq %%k5, 40(%[ok])\n\t"
		     "kmovq %%k6, 48(%[ok])\n\t" "kmovq %%k7, 56(%[ok])\n\t"
		     X87_STORE
		     "vzeroupper\n\t"
		     COMMON_OPERANDS
		     : XMM_CLOBBERS,
		       "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21",
		       "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27",
		       "xmm28", "xmm29", "xmm30", "xmm31",
		       "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7");
}

int main(int argc, char **argv)
{
	int nvec, vbytes;
	const char *kind;

	test_init(argc, argv);
	make_values();
	in.cw = X87_CW;
	in.mxcsr = MXCSR_VAL;

	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")) {
		kind = "avx512"; nvec = 32; vbytes = 64;
	} else if (__builtin_cpu_supports("avx")) {
		kind = "avx"; nvec = 16; vbytes = 32;
	} else {
		kind = "sse"; nvec = 16; vbytes = 16;
	}

	test_ready();
	if (nvec == 32)
		run_avx512();
	else if (vbytes == 32)
		run_avx();
	else
		run_sse();

	/* Back to defaults before any libc code runs with them. */
	asm volatile("fldcw %0\n\tldmxcsr %1" ::
		     "m"((uint16_t){ X87_CW_DEFAULT }), "m"((uint32_t){ MXCSR_DEFAULT }));

	if (out.cw != X87_CW)
		fail("x87 control word %#x, expected %#x", out.cw, X87_CW);
	if (out.mxcsr != MXCSR_VAL)
		fail("MXCSR %#x, expected %#x", out.mxcsr, MXCSR_VAL);
	for (int i = 0; i < NR_X87; i++)
		if (memcmp(&out.x87[i], &in.x87[i], sizeof(double)))
			fail("x87 st slot %d: %f, expected %f", i, out.x87[i], in.x87[i]);
	for (int r = 0; r < nvec; r++)
		for (int b = 0; b < vbytes; b++)
			if (out.vec[r][b] != in.vec[r][b])
				fail("%s register %d byte %d: %#x, expected %#x",
				     kind, r, b, out.vec[r][b], in.vec[r][b]);
	if (nvec == 32)
		for (int i = 0; i < 8; i++)
			if (out.k[i] != in.k[i])
				fail("k%d: %#lx, expected %#lx", i, out.k[i], in.k[i]);
	test_msg("%s state checked", kind);
	pass();
}
