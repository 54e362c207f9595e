/*
 * Locked memory: an mlock()ed area (filled), an mlock2(MLOCK_ONFAULT)
 * one with one page touched, an unlocked one, and mlockall(MCL_FUTURE |
 * MCL_ONFAULT) made after them: after restore the same VmFlags ("lo",
 * "lf"), the same VmLck, the unlocked area still unlocked, and a new
 * mapping locked on fault. A child has MCL_FUTURE alone: its new
 * mappings are locked and filled at once. Another locked an area as root,
 * then took RLIMIT_MEMLOCK 0 and uid 65534: the area stays locked.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "zdtm.h"

#define AREA	(16 * 4096UL)

static char smaps[1 << 20];

/* Reads /proc/self/@name into smaps[] without malloc (which could map, and lock, memory). */
static void read_self(const char *name)
{
	char path[64];
	size_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		fail_errno("open %s", path);
	n = read_full(fd, smaps, sizeof(smaps) - 1);
	smaps[n] = 0;
	close(fd);
}

/* "lo" and "lf" of the area at @addr: bit 0 and bit 1. */
static int lock_flags(void *addr)
{
	char head[32], *p, *end;
	int f = 0;

	read_self("smaps");
	snprintf(head, sizeof(head), "\n%lx-", (unsigned long)addr);
	p = strstr(smaps, head);
	if (!p || !(p = strstr(p, "\nVmFlags:")))
		fail("no smaps entry with VmFlags for %p", addr);
	end = strchr(p + 1, '\n');
	if (end)
		*end = 0;
	if (strstr(p, " lo"))
		f |= 1;
	if (strstr(p, " lf"))
		f |= 2;
	return f;
}

static long vmlck(void)
{
	char *p;

	read_self("status");
	p = strstr(smaps, "\nVmLck:");
	if (!p)
		fail("no VmLck in /proc/self/status");
	return strtol(p + 7, NULL, 10);
}

static int resident(void *addr, size_t len)
{
	unsigned char vec[AREA / 4096];
	int n = 0;

	if (mincore(addr, len, vec))
		fail_errno("mincore");
	for (size_t i = 0; i < len / 4096; i++)
		n += vec[i] & 1;
	return n;
}

static char *map(void)
{
	char *p = mmap(NULL, AREA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fail_errno("mmap");
	return p;
}

static void check(const char *what, void *addr, int want)
{
	int got = lock_flags(addr);

	if (got != want)
		fail("%s: lock flags %d (1 lo, 2 lf), expected %d", what, got, want);
}

static void child(void)
{
	char *p;

	if (mlockall(MCL_FUTURE))
		fail_errno("mlockall(MCL_FUTURE)");
	tree_send(tree_root, 0);
	test_wait_checkpoint();
	p = map();
	check("child: new mapping", p, 1);
	if (resident(p, AREA) != AREA / 4096)
		fail("child: new mapping under MCL_FUTURE has %d pages resident", resident(p, AREA));
	tree_exit(0);
}

#define NOBODY	65534

/* The setuid child cannot signal the root any more: it says it is set up here. */
static int setuid_ready[2];

static void setuid_child(void)
{
	struct rlimit none = { 0, 0 };
	char *p = map();
	long lck;

	memset(p, 4, AREA);
	if (mlock(p, AREA) || setrlimit(RLIMIT_MEMLOCK, &none) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY) || prctl(PR_SET_DUMPABLE, 1))
		fail_errno("mlock, then RLIMIT_MEMLOCK 0 and uid %d", NOBODY);
	lck = vmlck();
	close(setuid_ready[0]);
	write_full(setuid_ready[1], "", 1);
	close(setuid_ready[1]);
	test_wait_checkpoint();
	check("setuid child: mlock()ed as root", p, 1);
	if (vmlck() != lck || getuid() != NOBODY || p[AREA - 1] != 4)
		fail("setuid child: VmLck %ld kB (was %ld), uid %d, content %d", vmlck(), lck, getuid(), p[AREA - 1]);
	tree_exit(0);
}

int main(int argc, char **argv)
{
	char *locked, *onfault, *plain, *fresh;
	pid_t kids[2];
	long lck;

	test_init(argc, argv);
	tree_init();
	kids[0] = tree_fork(child);
	if (pipe(setuid_ready))
		fail_errno("pipe");
	kids[1] = tree_fork(setuid_child);
	close(setuid_ready[1]);
	locked = map();
	onfault = map();
	plain = map();
	memset(locked, 1, AREA);
	memset(plain, 2, AREA);
	if (mlock(locked, AREA) || mlock2(onfault, AREA, MLOCK_ONFAULT))
		fail_errno("mlock");
	onfault[0] = 3;
	if (mlockall(MCL_FUTURE | MCL_ONFAULT))
		fail_errno("mlockall(MCL_FUTURE | MCL_ONFAULT)");
	check("mlock()ed", locked, 1);
	check("MLOCK_ONFAULT", onfault, 3);
	check("unlocked", plain, 0);
	tree_recv(kids[0]);
	if (read_full(setuid_ready[0], &fresh, 1) != 1)
		fail("the setuid child did not set up");
	close(setuid_ready[0]);
	lck = vmlck();

	test_ready();
	test_wait_checkpoint();

	if (vmlck() != lck)
		fail("VmLck is %ld kB after restore, was %ld kB", vmlck(), lck);
	tree_forward(kids, 2);
	check("mlock()ed", locked, 1);
	check("MLOCK_ONFAULT", onfault, 3);
	check("unlocked (mapped before MCL_FUTURE)", plain, 0);
	if (resident(locked, AREA) != AREA / 4096)
		fail("mlock()ed: %d pages resident", resident(locked, AREA));
	if (resident(onfault, AREA) != 1)
		fail("MLOCK_ONFAULT: %d pages resident, expected the one touched", resident(onfault, AREA));
	if (locked[AREA - 1] != 1 || plain[0] != 2 || onfault[0] != 3)
		fail("memory content lost");
	fresh = map();
	check("new mapping (MCL_FUTURE | MCL_ONFAULT)", fresh, 3);
	tree_exit(tree_collect(kids, 2));
}
