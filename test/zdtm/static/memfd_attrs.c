/*
 * What a memfd holds besides its bytes survives restore:
 *   FD: held only as fds, fchmod()ed to 0640 and fchown()ed; one fd with
 *       O_APPEND|O_NONBLOCK set by F_SETFL, one a read-only reopen
 *       through /proc/self/fd: mode, owner and F_GETFL of each;
 *   MAPPED: held as an fd and mapped MAP_SHARED, sealed against
 *       shrinking and growing, mode 0600: seals (and that they act), mode;
 *   MAPONLY: sealed against writes and further seals, then mapped
 *       (read-only, MAP_SHARED), its fd closed: the seals read through
 *       map_files (where the test may open it), and the mapping cannot be
 *       made writable.
 * With ZDTM_MEMFD_SEALED_LATE set (a negative case of the runner): one
 * more memfd, mapped shared and writable, then sealed F_SEAL_FUTURE_WRITE,
 * which cr refuses to dump.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

#define LEN		(64 * 1024)
#define FD_SEED		0x3a77000000000001ULL
#define MAPPED_SEED	0x3a77000000000002ULL
#define MAPONLY_SEED	0x3a77000000000003ULL
#define OWNER_UID	1234
#define OWNER_GID	5678
#define MAPPED_SEALS	(F_SEAL_SHRINK | F_SEAL_GROW)
#define MAPONLY_SEALS	(F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

static char buf[LEN];

static int make(const char *name, unsigned flags, uint64_t seed)
{
	int fd = memfd_create(name, flags);

	if (fd < 0)
		fail_errno("memfd_create %s", name);
	pattern_fill(buf, LEN, seed);
	write_full(fd, buf, LEN);
	return fd;
}

static void check_stat(int fd, const char *what, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st;

	if (fstat(fd, &st))
		fail_errno("fstat %s", what);
	if ((st.st_mode & 07777) != mode || st.st_uid != uid || st.st_gid != gid || st.st_size != LEN)
		fail("%s: mode %o owner %u:%u size %ld, expected %o %u:%u %d", what, st.st_mode & 07777,
		     st.st_uid, st.st_gid, (long)st.st_size, mode, uid, gid, LEN);
}

static void check_fl(int fd, const char *what, int want)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl != want)
		fail("%s: F_GETFL %#o, expected %#o", what, fl, want);
}

static void check_content(int fd, const char *what, uint64_t seed)
{
	if (pread(fd, buf, LEN, 0) != LEN || pattern_check(buf, LEN, seed) >= 0)
		fail("%s: content differs", what);
}

int main(int argc, char **argv)
{
	int fd, fd_ro, mapped, mfd, fl, fl_ro, seals;
	char *map, *maponly, path[96];
	uid_t uid = getuid() ? getuid() : OWNER_UID;
	gid_t gid = getuid() ? getgid() : OWNER_GID;

	test_init(argc, argv);

	fd = make("zdtm_attrs_fd", 0, FD_SEED);
	if (fchmod(fd, 0640) || fchown(fd, uid, gid))
		fail_errno("fchmod/fchown");
	if (fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK))
		fail_errno("F_SETFL");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	fd_ro = open(path, O_RDONLY);
	if (fd_ro < 0)
		fail_errno("reopen %s", path);
	fl = fcntl(fd, F_GETFL);
	fl_ro = fcntl(fd_ro, F_GETFL);
	zdtm_check(fl & O_APPEND && fl & O_NONBLOCK && (fl_ro & O_ACCMODE) == O_RDONLY);

	mapped = make("zdtm_attrs_mapped", MFD_ALLOW_SEALING, MAPPED_SEED);
	map = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, mapped, 0);
	if (map == MAP_FAILED)
		fail_errno("mmap mapped");
	if (fcntl(mapped, F_ADD_SEALS, MAPPED_SEALS) || fchmod(mapped, 0600))
		fail_errno("seal mapped");

	/* Sealed against writes first: then only read-only shared mappings are allowed. */
	mfd = make("zdtm_attrs_maponly", MFD_ALLOW_SEALING, MAPONLY_SEED);
	if (fcntl(mfd, F_ADD_SEALS, MAPONLY_SEALS))
		fail_errno("seal maponly");
	maponly = mmap(NULL, LEN, PROT_READ, MAP_SHARED, mfd, 0);
	if (maponly == MAP_FAILED)
		fail_errno("mmap maponly");
	close(mfd);
	if (getenv("ZDTM_MEMFD_SEALED_LATE")) {
		int late = make("zdtm_attrs_late", MFD_ALLOW_SEALING, MAPPED_SEED);

		if (mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, late, 0) == MAP_FAILED ||
		    fcntl(late, F_ADD_SEALS, F_SEAL_FUTURE_WRITE))
			fail_errno("late seal");
		close(late);
	}
	/* map_files needs CAP_SYS_ADMIN of the first user namespace (not in flavor uns). */
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)maponly,
		 (unsigned long)maponly + LEN);
	mfd = open(path, O_RDONLY);
	if (mfd < 0 && errno != EPERM)
		fail_errno("open %s", path);
	if (mfd >= 0)
		close(mfd);

	test_ready();
	test_wait_checkpoint();

	check_stat(fd, "fd", 0640, uid, gid);
	check_stat(fd_ro, "fd (read-only reopen)", 0640, uid, gid);
	check_fl(fd, "fd", fl);
	check_fl(fd_ro, "fd (read-only reopen)", fl_ro);
	check_content(fd_ro, "fd", FD_SEED);

	seals = fcntl(mapped, F_GET_SEALS);
	if (seals != MAPPED_SEALS)
		fail("mapped: seals %#x, expected %#x", seals, MAPPED_SEALS);
	check_stat(mapped, "mapped", 0600, getuid(), getgid());
	if (ftruncate(mapped, LEN / 2) == 0 || errno != EPERM)
		fail("mapped: shrinking a memfd sealed against it did not give EPERM");
	if (pattern_check(map, LEN, MAPPED_SEED) >= 0)
		fail("mapped: the mapping's content differs");
	map[10] = 0x42;
	if (pread(mapped, buf, 16, 0) != 16 || buf[10] != 0x42)
		fail("mapped: the fd does not see the mapping's write: two objects");

	if (mfd >= 0) {
		mfd = open(path, O_RDONLY);
		if (mfd < 0)
			fail_errno("open %s", path);
		seals = fcntl(mfd, F_GET_SEALS);
		if (seals != MAPONLY_SEALS)
			fail("maponly: seals %#x, expected %#x", seals, MAPONLY_SEALS);
	}
	if (pattern_check(maponly, LEN, MAPONLY_SEED) >= 0)
		fail("maponly: the mapping's content differs");
	if (mprotect(maponly, LEN, PROT_READ | PROT_WRITE) == 0)
		fail("maponly: a mapping of a write-sealed memfd became writable");
	pass();
}
