/*
 * Mapping flags that only smaps shows survive restore: MAP_NORESERVE,
 * and madvise() state (DONTDUMP, DONTFORK, WIPEONFORK, HUGEPAGE,
 * NOHUGEPAGE, RANDOM), and the "gu" flag a guard page leaves (Linux
 * 6.13's MADV_GUARD_INSTALL; here removed again: guard_regions checks
 * the guards themselves). The VmFlags line of each area must be the same
 * after restore as before.
 * zdtm: lazy
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include "zdtm.h"

#define AREA	(4UL << 20)
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL	102
#define MADV_GUARD_REMOVE	103
#endif

struct area {
	const char *what;
	int flags;
	int advice;
	int undo;		/* advice given afterwards on the area's second page */
	char *addr;
	char vmflags[256];
};

static struct area areas[] = {
	{ .what = "noreserve", .flags = MAP_NORESERVE, .advice = -1 },
	{ .what = "dontdump", .advice = MADV_DONTDUMP },
	{ .what = "dontfork", .advice = MADV_DONTFORK },
	{ .what = "wipeonfork", .advice = MADV_WIPEONFORK },
	{ .what = "hugepage", .advice = MADV_HUGEPAGE },
	{ .what = "nohugepage", .advice = MADV_NOHUGEPAGE },
	{ .what = "random", .advice = MADV_RANDOM },
	{ .what = "guard-removed", .advice = MADV_GUARD_INSTALL, .undo = MADV_GUARD_REMOVE },
};

static void read_vmflags(struct area *a, char *out, size_t len)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int in = 0;

	if (!f)
		fail_errno("open smaps");
	out[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;

		if (sscanf(line, "%lx-%lx ", &s, &e) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = s == (unsigned long)a->addr;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			snprintf(out, len, "%.200s", line + 8);
			break;
		}
	}
	fclose(f);
	if (!out[0])
		fail("%s: area not found in smaps", a->what);
}

int main(int argc, char **argv)
{
	char now[256];
	unsigned i;

	test_init(argc, argv);
	for (i = 0; i < sizeof(areas) / sizeof(areas[0]); i++) {
		struct area *a = &areas[i];

		/* A guard page between areas keeps the kernel from merging them. */
		a->addr = mmap(NULL, AREA + 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | a->flags, -1, 0);
		if (a->addr == MAP_FAILED)
			fail_errno("mmap %s", a->what);
		mprotect(a->addr + AREA, 4096, PROT_NONE);
		if (a->undo) {
			if (madvise(a->addr + 4096, 4096, a->advice) || madvise(a->addr + 4096, 4096, a->undo))
				fail_errno("madvise %s", a->what);
		} else if (a->advice >= 0 && madvise(a->addr, AREA, a->advice)) {
			fail_errno("madvise %s", a->what);
		}
		memset(a->addr, i + 1, 8192);
		read_vmflags(a, a->vmflags, sizeof(a->vmflags));
	}
	test_ready();
	test_wait_checkpoint();
	for (i = 0; i < sizeof(areas) / sizeof(areas[0]); i++) {
		struct area *a = &areas[i];

		read_vmflags(a, now, sizeof(now));
		if (strcmp(now, a->vmflags))
			fail("%s: VmFlags were '%.*s', now '%.*s'", a->what,
			     (int)strcspn(a->vmflags, "\n"), a->vmflags, (int)strcspn(now, "\n"), now);
		if (a->addr[0] != (char)(i + 1) || a->addr[8191] != (char)(i + 1))
			fail("%s: contents lost", a->what);
	}
	pass();
}
