/* What this CPU offers for saving and loading the extended register state. */
#include <cpuid.h>
#include <inttypes.h>
#include <stdio.h>

#include "asm/arch.h"
#include "compiler.h"

#define CPUID_FEATURES		1
#define CPUID_ECX_XSAVE		(1u << 26)
#define CPUID_ECX_OSXSAVE	(1u << 27)
#define CPUID_XSAVE_LEAF	0xd
#define XSAVE_LEGACY_SIZE	(512 + 64)	/* fxsave area + xsave header */

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
