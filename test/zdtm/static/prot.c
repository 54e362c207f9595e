/*
 * Protections survive: a PROT_NONE guard, read-only data, an executable
 * area holding a function copied at run time, and one area split into
 * three VMAs by mprotect. After restore, /proc/self/maps shows the same
 * permissions, the data is intact, the function runs, and the guard and
 * the read-only pages still fault.
 * zdtm: lazy
 */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include "zdtm.h"

#define PG	4096UL

/* mov %edi,%eax; add $42,%eax; ret */
static const unsigned char add42_code[] = { 0x89, 0xf8, 0x83, 0xc0, 0x2a, 0xc3 };

static sigjmp_buf fault_jmp;

static void segv_handler(int sig)
{
	(void)sig;
	siglongjmp(fault_jmp, 1);
}

/* 1 if reading (write=0) or writing (write=1) *p faults. */
static int faults(volatile unsigned char *p, int write)
{
	struct sigaction sa = { .sa_handler = segv_handler }, old;
	int ret;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old);
	if (sigsetjmp(fault_jmp, 1) == 0) {
		if (write)
			*p = 1;
		else
			(void)*p;
		ret = 0;
	} else {
		ret = 1;
	}
	sigaction(SIGSEGV, &old, NULL);
	return ret;
}

/* The "rwxp" field of the maps line containing addr, or fail. */
static void perms_of(void *addr, char perms[5])
{
	char line[512];
	unsigned long a = (unsigned long)addr, start, end;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		fail_errno("open maps");
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) != 3)
			continue;
		if (a >= start && a < end) {
			fclose(f);
			return;
		}
	}
	fclose(f);
	fail("no mapping contains %p", addr);
}

static void check_perms(void *addr, const char *want, const char *what)
{
	char perms[5];

	perms_of(addr, perms);
	if (strcmp(perms, want))
		fail("%s at %p: perms %s, expected %s", what, addr, perms, want);
}

static void check_data(unsigned char *p, size_t len, unsigned char seed, const char *what)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (unsigned char)(seed + i * 5))
			fail("%s: byte %zu differs", what, i);
}

static void put_data(unsigned char *p, size_t len, unsigned char seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(seed + i * 5);
}

int main(int argc, char **argv)
{
	unsigned char *base, *guard, *ro, *exec, *split;
	int (*fn)(int);

	test_init(argc, argv);

	/*
	 * One reservation carved up so the pieces are adjacent; adjacent
	 * VMAs with different protections must not be merged by restore.
	 * Layout: guard | ro | guard | exec | split(4 pages: rw r- r- rw).
	 */
	base = mmap(NULL, 8 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		fail_errno("mmap");
	guard = base;
	ro = base + PG;
	exec = base + 3 * PG;
	split = base + 4 * PG;

	if (mprotect(ro, PG, PROT_READ | PROT_WRITE))
		fail_errno("mprotect ro rw");
	put_data(ro, PG, 0x11);
	if (mprotect(ro, PG, PROT_READ))
		fail_errno("mprotect ro");

	if (mprotect(exec, PG, PROT_READ | PROT_WRITE))
		fail_errno("mprotect exec rw");
	memcpy(exec, add42_code, sizeof(add42_code));
	if (mprotect(exec, PG, PROT_READ | PROT_EXEC))
		fail_errno("mprotect exec");
	fn = (int (*)(int))(void *)exec;
	if (fn(1) != 43)
		fail("copied function does not work before the dump");

	if (mprotect(split, 4 * PG, PROT_READ | PROT_WRITE))
		fail_errno("mprotect split");
	put_data(split, 4 * PG, 0x77);
	if (mprotect(split + PG, 2 * PG, PROT_READ))
		fail_errno("mprotect split middle");

	test_ready();
	test_wait_checkpoint();

	check_perms(guard, "---p", "guard");
	check_perms(base + 2 * PG, "---p", "second guard");
	check_perms(ro, "r--p", "read-only");
	check_perms(exec, "r-xp", "exec");
	check_perms(split, "rw-p", "split head");
	check_perms(split + PG, "r--p", "split middle");
	check_perms(split + 3 * PG, "rw-p", "split tail");

	check_data(ro, PG, 0x11, "read-only data");
	check_data(split, 4 * PG, 0x77, "split area data");
	if (fn(100) != 142)
		fail("copied function returns %d after restore", fn(100));

	if (!faults(guard, 0))
		fail("guard page is readable");
	if (!faults(ro, 1))
		fail("read-only page is writable");
	if (!faults(split + PG, 1))
		fail("split middle is writable");
	if (faults(split, 1) || faults(split + 3 * PG, 1))
		fail("split head/tail not writable");
	pass();
}
