/*
 * Files that are open but unlinked. RW (O_RDWR, 100 KiB of pattern, the
 * position in the middle) is shared by a parent and its child (one open
 * file description, inherited by fork). RO (O_RDONLY) is open only in the
 * parent.
 *
 * After restore: both files are still unlinked (st_nlink 0, no name in the
 * work dir, /proc/self/fd/N reads "PATH (deleted)" as before), sizes and
 * contents are the same, RW is still shared: the parent moves its position
 * and writes, the child sees the new position and the data, the child
 * extends the file and the parent sees it. RO stays read-only and is not
 * open in the child.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

#define NAME_RW		"zdtm_unlinked_file.rw"
#define NAME_RO		"zdtm_unlinked_file.ro"
#define LEN_RW		(100 * 1024)
#define LEN_RO		(30 * 1024)
#define SEED_RW		0x0de1000000000001ULL
#define SEED_RO		0x0de1000000000002ULL
#define SEED_PARENT	0x0de1000000000003ULL
#define SEED_CHILD	0x0de1000000000004ULL
#define POS_RW		(LEN_RW / 2)	/* multiples of 8: pattern words */
#define POS_RO		1000
#define PARENT_SKIP	4096		/* parent: seek this far, then write */
#define PARENT_LEN	4096
#define CHILD_LEN	8192		/* child: appends this much */
#define DELETED		" (deleted)"

struct ufile {
	const char *name;
	int fd;
	off_t size, pos;
	char link[PATH_MAX];
};

static struct ufile rw = { .name = NAME_RW }, ro = { .name = NAME_RO };
static char buf[LEN_RW + CHILD_LEN];

/* Create NAME with LEN bytes of pattern, reopen it with FLAGS at POS,
 * unlink it. */
static void make_unlinked(struct ufile *f, int flags, size_t len, uint64_t seed, off_t pos)
{
	int fd = open(f->name, O_RDWR | O_CREAT | O_EXCL, 0644);
	ssize_t n;

	if (fd < 0)
		fail_errno("create %s", f->name);
	pattern_fill(buf, len, seed);
	if (write(fd, buf, len) != (ssize_t)len)
		fail_errno("write %s", f->name);
	close(fd);

	f->fd = open(f->name, flags);
	if (f->fd < 0)
		fail_errno("open %s", f->name);
	if (lseek(f->fd, pos, SEEK_SET) != pos)
		fail_errno("lseek %s", f->name);
	if (unlink(f->name))
		fail_errno("unlink %s", f->name);

	f->size = len;
	f->pos = pos;
	snprintf(buf, sizeof(buf), "/proc/self/fd/%d", f->fd);
	n = readlink(buf, f->link, sizeof(f->link) - 1);
	if (n < 0)
		fail_errno("readlink %s", buf);
	f->link[n] = 0;
	/* What the kernel shows for an unlinked file; restore must agree. */
	n -= strlen(DELETED);
	if (n <= 0 || strcmp(f->link + n, DELETED))
		fail("%s: /proc/self/fd/%d is '%s' before the checkpoint", f->name,
		     f->fd, f->link);
}

static void check_pos(const struct ufile *f, off_t want)
{
	off_t pos = lseek(f->fd, 0, SEEK_CUR);

	if (pos != want)
		fail("%s (fd %d): position %ld, expected %ld", f->name, f->fd,
		     (long)pos, (long)want);
}

static void check_data(const struct ufile *f, off_t off, size_t len, uint64_t seed)
{
	long bad;

	if (pread(f->fd, buf, len, off) != (ssize_t)len)
		fail_errno("pread %s at %ld", f->name, (long)off);
	bad = pattern_check(buf, len, seed);
	if (bad >= 0)
		fail("%s: content differs at offset %ld", f->name, (long)off + bad);
}

/* Still unlinked, same size, content and link as recorded. */
static void check_file(const struct ufile *f, uint64_t seed)
{
	char path[64], link[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (fstat(f->fd, &st))
		fail_errno("fstat %s", f->name);
	if (!S_ISREG(st.st_mode) || st.st_nlink != 0 || st.st_size != f->size)
		fail("%s (fd %d): mode %#o nlink %lu size %ld, expected a regular file, nlink 0, size %ld",
		     f->name, f->fd, st.st_mode, (unsigned long)st.st_nlink,
		     (long)st.st_size, (long)f->size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", f->fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		fail_errno("readlink %s", path);
	link[n] = 0;
	if (strcmp(link, f->link))
		fail("%s: %s is '%s', expected '%s'", f->name, path, link, f->link);
	/* Restore must not leave a name behind. */
	if (access(f->name, F_OK) == 0 || errno != ENOENT)
		fail("%s: the name exists after restore", f->name);
	check_data(f, 0, f->size, seed);
}

__attribute__((noreturn))
static void child(void)
{
	pid_t parent = getppid();

	close(ro.fd);		/* RO is the parent's only */
	tree_send(parent, 0);
	test_wait_checkpoint();

	check_file(&rw, SEED_RW);
	check_pos(&rw, POS_RW);
	if (fcntl(ro.fd, F_GETFD) != -1 || errno != EBADF)
		fail("fd %d (%s, the parent's only) is open in the child", ro.fd, ro.name);
	tree_send(parent, 0);

	/* The parent skipped PARENT_SKIP and wrote PARENT_LEN bytes. */
	tree_recv(parent);
	check_pos(&rw, POS_RW + PARENT_SKIP + PARENT_LEN);
	check_data(&rw, POS_RW + PARENT_SKIP, PARENT_LEN, SEED_PARENT);

	pattern_fill(buf, CHILD_LEN, SEED_CHILD);
	if (pwrite(rw.fd, buf, CHILD_LEN, rw.size) != CHILD_LEN)
		fail_errno("pwrite %s", rw.name);
	tree_send(parent, 0);
	tree_exit(0);
}

int main(int argc, char **argv)
{
	struct stat st;
	pid_t kid;

	test_init(argc, argv);
	tree_init();

	make_unlinked(&rw, O_RDWR, LEN_RW, SEED_RW, POS_RW);
	make_unlinked(&ro, O_RDONLY, LEN_RO, SEED_RO, POS_RO);
	kid = fork();
	if (kid < 0)
		fail_errno("fork");
	if (kid == 0)
		child();
	tree_recv(kid);

	test_ready();
	test_wait_checkpoint();
	tree_forward(&kid, 1);

	check_file(&rw, SEED_RW);
	check_file(&ro, SEED_RO);
	check_pos(&rw, POS_RW);
	check_pos(&ro, POS_RO);
	if ((fcntl(ro.fd, F_GETFL) & O_ACCMODE) != O_RDONLY)
		fail("%s: not O_RDONLY after restore", ro.name);
	if (write(ro.fd, "x", 1) != -1 || errno != EBADF)
		fail("%s: write did not fail with EBADF", ro.name);

	tree_recv(kid);		/* the child checked RW too: now change it */
	if (lseek(rw.fd, PARENT_SKIP, SEEK_CUR) != POS_RW + PARENT_SKIP)
		fail_errno("lseek %s", rw.name);
	pattern_fill(buf, PARENT_LEN, SEED_PARENT);
	if (write(rw.fd, buf, PARENT_LEN) != PARENT_LEN)
		fail_errno("write %s", rw.name);
	tree_send(kid, 0);

	/* The child appended CHILD_LEN bytes. */
	tree_recv(kid);
	if (fstat(rw.fd, &st))
		fail_errno("fstat %s", rw.name);
	if (st.st_size != rw.size + CHILD_LEN)
		fail("%s: size %ld after the child's write, expected %ld", rw.name,
		     (long)st.st_size, (long)rw.size + CHILD_LEN);
	check_data(&rw, rw.size, CHILD_LEN, SEED_CHILD);
	check_pos(&rw, POS_RW + PARENT_SKIP + PARENT_LEN);

	tree_exit(tree_collect(&kid, 1));
}
