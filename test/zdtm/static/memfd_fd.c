/*
 * memfds held only as fds, never mapped: SEALED (MFD_ALLOW_SEALING, 1 MiB
 * of pattern, F_SEAL_SHRINK | F_SEAL_GROW applied) and PLAIN (no sealing
 * allowed, MFD_CLOEXEC). After restore each has its name
 * (/proc/self/fd/N reads "/memfd:NAME (deleted)"), content, size,
 * position, fd flags and seals (F_GET_SEALS), and the seals still act:
 * SEALED can be written in place but neither shrunk nor grown, PLAIN takes
 * no seal and can grow. Neither shows up in /proc/self/maps.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

#define SEALED_NAME	"zdtm_memfd_sealed"
#define PLAIN_NAME	"zdtm_memfd_plain"
#define SEALED_LEN	(1 << 20)
#define PLAIN_LEN	(64 * 1024)
#define SEALED_POS	300000		/* multiples of 8: pattern words */
#define PLAIN_POS	4000
#define SEALED_SEED	0x3efd000000000001ULL
#define PLAIN_SEED	0x3efd000000000002ULL
#define NEW_SEED	0x3efd000000000003ULL
#define SEALS		(F_SEAL_SHRINK | F_SEAL_GROW)
#define MEMFD_MAPS	"/memfd:zdtm_memfd"

struct mfd {
	const char *name;
	int fd, fdflags, seals;
	off_t len, pos;
	char link[PATH_MAX];
};

static struct mfd sealed = { .name = SEALED_NAME }, plain = { .name = PLAIN_NAME };
static char buf[SEALED_LEN];

static void make_memfd(struct mfd *m, unsigned int flags, off_t len, uint64_t seed, off_t pos)
{
	char path[64], want[PATH_MAX];
	ssize_t n;

	m->fd = memfd_create(m->name, flags);
	if (m->fd < 0)
		fail_errno("memfd_create %s", m->name);
	pattern_fill(buf, len, seed);
	if (write(m->fd, buf, len) != len)
		fail_errno("write %s", m->name);
	if (lseek(m->fd, pos, SEEK_SET) != pos)
		fail_errno("lseek %s", m->name);
	m->len = len;
	m->pos = pos;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", m->fd);
	n = readlink(path, m->link, sizeof(m->link) - 1);
	if (n < 0)
		fail_errno("readlink %s", path);
	m->link[n] = 0;
	snprintf(want, sizeof(want), "/memfd:%s (deleted)", m->name);
	if (strcmp(m->link, want))
		fail("%s: link '%s' before the checkpoint, expected '%s'", m->name,
		     m->link, want);
}

static void record(struct mfd *m)
{
	m->fdflags = fcntl(m->fd, F_GETFD);
	m->seals = fcntl(m->fd, F_GET_SEALS);
	if (m->fdflags < 0 || m->seals < 0)
		fail_errno("fcntl %s", m->name);
}

static void check_memfd(const struct mfd *m, uint64_t seed)
{
	char path[64], link[PATH_MAX];
	struct stat st;
	off_t pos;
	ssize_t n;
	long bad;
	int v;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", m->fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		fail_errno("readlink %s", path);
	link[n] = 0;
	if (strcmp(link, m->link))
		fail("%s: %s is '%s', expected '%s'", m->name, path, link, m->link);

	v = fcntl(m->fd, F_GET_SEALS);
	if (v != m->seals)
		fail("%s: seals %#x, expected %#x", m->name, v, m->seals);
	v = fcntl(m->fd, F_GETFD);
	if (v != m->fdflags)
		fail("%s: fd flags %#x, expected %#x", m->name, v, m->fdflags);
	v = fcntl(m->fd, F_GETFL);
	if (v < 0 || (v & O_ACCMODE) != O_RDWR)
		fail("%s: flags %#o, expected O_RDWR", m->name, v);

	if (fstat(m->fd, &st))
		fail_errno("fstat %s", m->name);
	if (!S_ISREG(st.st_mode) || st.st_size != m->len)
		fail("%s: mode %#o size %ld, expected a regular file of %ld", m->name,
		     st.st_mode, (long)st.st_size, (long)m->len);
	pos = lseek(m->fd, 0, SEEK_CUR);
	if (pos != m->pos)
		fail("%s: position %ld, expected %ld", m->name, (long)pos, (long)m->pos);
	if (pread(m->fd, buf, m->len, 0) != m->len)
		fail_errno("pread %s", m->name);
	bad = pattern_check(buf, m->len, seed);
	if (bad >= 0)
		fail("%s: content differs at offset %ld", m->name, bad);
}

/* Returns -errno of a call expected to fail, 0 if it succeeded. */
static int res(long ret)
{
	return ret < 0 ? -errno : 0;
}

static void check_not_mapped(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		fail_errno("open /proc/self/maps");
	while (fgets(line, sizeof(line), f))
		if (strstr(line, MEMFD_MAPS)) {
			line[strcspn(line, "\n")] = 0;
			fail("a memfd is mapped: %s", line);
		}
	fclose(f);
}

int main(int argc, char **argv)
{
	int r;

	test_init(argc, argv);

	make_memfd(&sealed, MFD_ALLOW_SEALING, SEALED_LEN, SEALED_SEED, SEALED_POS);
	if (fcntl(sealed.fd, F_ADD_SEALS, SEALS))
		fail_errno("F_ADD_SEALS %s", sealed.name);
	make_memfd(&plain, MFD_CLOEXEC, PLAIN_LEN, PLAIN_SEED, PLAIN_POS);
	record(&sealed);
	record(&plain);
	zdtm_check(sealed.seals == SEALS && sealed.fdflags == 0);
	zdtm_check(plain.seals == F_SEAL_SEAL && plain.fdflags == FD_CLOEXEC);
	check_not_mapped();

	test_ready();
	test_wait_checkpoint();

	check_memfd(&sealed, SEALED_SEED);
	check_memfd(&plain, PLAIN_SEED);
	check_not_mapped();

	/* The seals act: in-place writes only. */
	if ((r = res(ftruncate(sealed.fd, SEALED_LEN - 4096))) != -EPERM)
		fail("%s: shrinking gave %d, expected -EPERM", sealed.name, r);
	if ((r = res(ftruncate(sealed.fd, SEALED_LEN + 4096))) != -EPERM)
		fail("%s: growing gave %d, expected -EPERM", sealed.name, r);
	if ((r = res(pwrite(sealed.fd, "x", 1, SEALED_LEN))) != -EPERM)
		fail("%s: writing past the end gave %d, expected -EPERM", sealed.name, r);
	pattern_fill(buf, 4096, NEW_SEED);
	if (write(sealed.fd, buf, 4096) != 4096)
		fail_errno("write %s in place", sealed.name);
	if (pread(sealed.fd, buf, 4096, SEALED_POS) != 4096 ||
	    pattern_check(buf, 4096, NEW_SEED) >= 0)
		fail("%s: a write at the position is not there", sealed.name);

	/* No sealing allowed, and nothing sealed: it grows. */
	if ((r = res(fcntl(plain.fd, F_ADD_SEALS, F_SEAL_WRITE))) != -EPERM)
		fail("%s: F_ADD_SEALS gave %d, expected -EPERM", plain.name, r);
	if (ftruncate(plain.fd, 2 * PLAIN_LEN))
		fail_errno("grow %s", plain.name);
	pass();
}
