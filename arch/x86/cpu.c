/* What this CPU offers for saving and loading the extended register state. */
#include <cpuid.h>
#include <inttypes.h>
#include <stdbool.h>
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

/*
 * The xsave layout, read once: CPUID traps to the hypervisor in a VM
 * (microseconds each), and these are asked for every thread of a tree.
 */
static struct {
	bool read;
	uint64_t xcr0, dynamic;
	uint32_t size;			/* CPUID 0xD.0 EBX: for all of XCR0 */
	uint32_t end[64];		/* component i: offset + size in the standard format */
} xs;

static void xsave_layout(void)
{
	unsigned lo, hi, a, b, c, d, i;

	if (xs.read)
		return;
	/* xgetbv with ecx=0 reads XCR0; only valid when OSXSAVE is set. */
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	xs.xcr0 = ((uint64_t)hi << 32) | lo;
	/* CPUID 0xD.0: EBX is the size the features enabled in XCR0 need. */
	xs.size = __get_cpuid_count(CPUID_XSAVE_LEAF, 0, &a, &b, &c, &d) && b >= XSAVE_LEGACY_SIZE
		  ? b : XSAVE_LEGACY_SIZE;
	for (i = XFEATURE_FIRST_EXT; i < 64; i++) {
		if (!(xs.xcr0 & (1ULL << i)) || !__get_cpuid_count(CPUID_XSAVE_LEAF, i, &a, &b, &c, &d))
			continue;
		/* Standard format: component i lives at offset EBX, EAX bytes long. */
		xs.end[i] = a + b;
		/* ECX bit 2: the component can be armed by XFD (AMX tile data). */
		if (c & CPUID_XSAVE_ECX_XFD)
			xs.dynamic |= 1ULL << i;
	}
	xs.read = true;
}

uint32_t arch_xsave_size(void)
{
	xsave_layout();
	return xs.size;
}

uint64_t arch_xfeatures(void)
{
	xsave_layout();
	return xs.xcr0;
}

uint64_t arch_xfeatures_dynamic(void)
{
	xsave_layout();
	return xs.dynamic;
}

uint32_t arch_xsave_user_size(uint64_t features)
{
	uint32_t size = XSAVE_LEGACY_SIZE;

	xsave_layout();
	for (unsigned i = XFEATURE_FIRST_EXT; i < 64; i++)
		if ((features & (1ULL << i)) && xs.end[i] > size)
			size = xs.end[i];
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
