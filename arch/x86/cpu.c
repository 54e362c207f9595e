/* What this CPU offers for saving and loading the extended register state. */
#include <cpuid.h>
#include <inttypes.h>
#include <stdio.h>

#include "asm/arch.h"
#include "asm/regs.h"
#include "compiler.h"

#define CPUID_FEATURES		1
#define CPUID_ECX_XSAVE		(1u << 26)
#define CPUID_ECX_OSXSAVE	(1u << 27)
#define CPUID_XSAVE_LEAF	0xd
#define XSAVE_LEGACY_SIZE	(512 + 64)	/* fxsave area + xsave header */
#define XFEATURE_FIRST_EXT	2		/* x87 and SSE live in the legacy area */
#define CPUID_XSAVE_ECX_XFD	(1u << 2)

static const char *const xfeature_names[] = {
	[0] = "x87", [1] = "sse", [2] = "avx", [3] = "mpx_bndregs",
	[4] = "mpx_bndcsr", [5] = "avx512_opmask", [6] = "avx512_zmm_hi256",
	[7] = "avx512_hi16_zmm", [9] = "pkru", [17] = "amx_tilecfg",
	[18] = "amx_tiledata",
};

uint32_t arch_xsave_size(void)
{
	unsigned a, b, c, d;

	/* CPUID 0xD.0: EBX is the size the features enabled in XCR0 need. */
	if (!__get_cpuid_count(CPUID_XSAVE_LEAF, 0, &a, &b, &c, &d) || b < XSAVE_LEGACY_SIZE)
		return XSAVE_LEGACY_SIZE;
	return b;
}

uint64_t arch_xfeatures(void)
{
	unsigned lo, hi;

	/* xgetbv with ecx=0 reads XCR0; only valid when OSXSAVE is set. */
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

uint64_t arch_xfeatures_dynamic(void)
{
	uint64_t xcr0 = arch_xfeatures(), dyn = 0;
	unsigned a, b, c, d, i;

	/* CPUID 0xD.i ECX bit 2: component i can be armed by XFD (AMX tile data). */
	for (i = XFEATURE_FIRST_EXT; i < 64; i++)
		if ((xcr0 & (1ULL << i)) && __get_cpuid_count(CPUID_XSAVE_LEAF, i, &a, &b, &c, &d) &&
		    (c & CPUID_XSAVE_ECX_XFD))
			dyn |= 1ULL << i;
	return dyn;
}

uint32_t arch_xsave_user_size(uint64_t features)
{
	uint32_t size = XSAVE_LEGACY_SIZE;
	unsigned a, b, c, d, i;

	/* Standard format: component i lives at offset EBX, EAX bytes long. */
	for (i = XFEATURE_FIRST_EXT; i < 64; i++)
		if ((features & (1ULL << i)) && __get_cpuid_count(CPUID_XSAVE_LEAF, i, &a, &b, &c, &d) &&
		    a + b > size)
			size = a + b;
	return size;
}

uint64_t arch_sigframe_xfeatures(const void *xsave, uint64_t permitted)
{
	uint64_t xcr0 = arch_xfeatures(), dyn = arch_xfeatures_dynamic();
	uint64_t in_use = *(const uint64_t *)((const char *)xsave + XSAVE_HDR_OFF);

	return (xcr0 & ~dyn) | ((in_use | permitted) & dyn & xcr0);
}

int arch_cpu_describe(char *buf, size_t len)
{
	unsigned eax, ebx, ecx, edx, i;
	uint64_t xcr0;
	size_t off;

	if (!__get_cpuid(CPUID_FEATURES, &eax, &ebx, &ecx, &edx)) {
		snprintf(buf, len, "CPUID leaf 1 unavailable");
		return -ENOTSUP;
	}
	if (!(ecx & CPUID_ECX_XSAVE) || !(ecx & CPUID_ECX_OSXSAVE)) {
		snprintf(buf, len, "XSAVE not supported or not enabled by the OS");
		return -ENOTSUP;
	}
	xcr0 = arch_xfeatures();
	off = snprintf(buf, len, "size %u bytes, XCR0 %#" PRIx64 ":", arch_xsave_size(), xcr0);
	for (i = 0; i < 64 && off < len; i++) {
		if (!(xcr0 & (1ULL << i)))
			continue;
		if (i < ARRAY_SIZE(xfeature_names) && xfeature_names[i])
			off += snprintf(buf + off, len - off, " %s", xfeature_names[i]);
		else
			off += snprintf(buf + off, len - off, " bit%u", i);
	}
	return 0;
}
