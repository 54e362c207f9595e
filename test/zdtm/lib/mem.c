/*
 * Memory helpers for the zdtm tests: a checkable pattern and a lookup of
 * one's own mappings.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "zdtm.h"

static uint64_t mix(uint64_t x)
{
	/* splitmix64's finalizer: neighbouring words differ in every byte. */
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void pattern_fill(void *p, size_t len, uint64_t seed)
{
	uint64_t *w = p;

	for (size_t k = 0; k < len / 8; k++)
		w[k] = mix(seed + k);
}

long pattern_check(const void *p, size_t len, uint64_t seed)
{
	const uint64_t *w = p;

	for (size_t k = 0; k < len / 8; k++)
		if (w[k] != mix(seed + k))
			return k * 8;
	return -1;
}

int vma_find(const void *addr, struct vma_info *ret_vma)
{
	unsigned long a = (unsigned long)addr;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		struct vma_info v = { .path = "" };

		if (sscanf(line, "%lx-%lx %4s %lx %*s %lu %255[^\n]", &v.start, &v.end, v.perms,
			   &v.pgoff, &v.inode, v.path) < 5)
			continue;
		if (a < v.start || a >= v.end)
			continue;
		/* The path starts after the padding spaces. */
		memmove(v.path, v.path + strspn(v.path, " "), strlen(v.path) + 1);
		*ret_vma = v;
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

int vma_smaps_line(const void *addr, const char *prefix, char *buf, size_t len)
{
	char line[512];
	unsigned long s, e;
	int in = 0, ret = -ENOENT;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		fail_errno("smaps");
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &s, &e) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			in = s == (unsigned long)addr;
		} else if (in && !strncmp(line, prefix, strlen(prefix))) {
			snprintf(buf, len, "%s", line);
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

long vma_smaps_kb(const void *addr, const char *field)
{
	char line[512], want[64];
	long kb;

	snprintf(want, sizeof(want), "%s:", field);
	if (vma_smaps_line(addr, want, line, sizeof(line)))
		return -1;
	snprintf(want, sizeof(want), "%s: %%ld kB", field);
	return sscanf(line, want, &kb) == 1 ? kb : -1;
}
