/*
 * Device nodes deleted while open: a node of /dev/null's device (1:3)
 * made in the work dir, opened O_WRONLY | O_APPEND, and one of
 * /dev/zero's (1:5) opened O_RDONLY by the parent and, as another
 * description of the same node, O_PATH by its child; then both nodes
 * are unlinked. Owner, mode and times were set before.
 *
 * After restore: each fd is still a character device of its number with
 * nlink 0, "PATH (deleted)" in /proc/self/fd, its owner, mode, times and
 * flags; the null node swallows writes, the zero node reads zeros, the
 * child's O_PATH fd is of the same inode as the parent's. No name is left.
 *
 * zdtm: flavors: h ns -uns (mknod needs CAP_MKNOD of the initial user namespace)
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "zdtm.h"

#define NULL_NODE	"zdtm_ghost_dev.null"
#define ZERO_NODE	"zdtm_ghost_dev.zero"

struct node {
	const char *name;
	int fd, flags;
	struct stat st;
	char link[PATH_MAX];
};

static struct node nul = { .name = NULL_NODE }, zero = { .name = ZERO_NODE }, zero_path = { .name = ZERO_NODE };

static void make(struct node *n, unsigned minor, mode_t mode, int flags)
{
	struct timespec ts[2] = { { 1300000000, 11 }, { 1250000000, 22 + minor } };

	if (mknod(n->name, S_IFCHR | 0600, makedev(1, minor)))
		fail_errno("mknod %s", n->name);
	if (chown(n->name, 4321, 5432) || chmod(n->name, mode) || utimensat(AT_FDCWD, n->name, ts, 0))
		fail_errno("attributes of %s", n->name);
	n->fd = open(n->name, flags);
	if (n->fd < 0)
		fail_errno("open %s", n->name);
}

static void record(struct node *n)
{
	char p[64];
	ssize_t len;

	snprintf(p, sizeof(p), "/proc/self/fd/%d", n->fd);
	len = readlink(p, n->link, sizeof(n->link) - 1);
	if (len < 0 || fstat(n->fd, &n->st))
		fail_errno("record %s", n->name);
	n->link[len] = '\0';
	n->flags = fcntl(n->fd, F_GETFL);
}

static void check(const struct node *n)
{
	char p[64], link[PATH_MAX];
	struct stat st;
	ssize_t len;

	snprintf(p, sizeof(p), "/proc/self/fd/%d", n->fd);
	len = readlink(p, link, sizeof(link) - 1);
	if (len < 0 || fstat(n->fd, &st))
		fail_errno("%s after restore", n->name);
	link[len] = '\0';
	if (strcmp(link, n->link))
		fail("%s: %s is '%s', expected '%s'", n->name, p, link, n->link);
	if (st.st_mode != n->st.st_mode || st.st_rdev != n->st.st_rdev || st.st_nlink != 0 ||
	    st.st_uid != n->st.st_uid || st.st_gid != n->st.st_gid)
		fail("%s: mode %#o rdev %u:%u nlink %lu owner %u:%u, expected %#o %u:%u 0 %u:%u", n->name,
		     st.st_mode, major(st.st_rdev), minor(st.st_rdev), (unsigned long)st.st_nlink,
		     st.st_uid, st.st_gid, n->st.st_mode, major(n->st.st_rdev), minor(n->st.st_rdev),
		     n->st.st_uid, n->st.st_gid);
	if (st.st_mtim.tv_sec != n->st.st_mtim.tv_sec || st.st_mtim.tv_nsec != n->st.st_mtim.tv_nsec ||
	    st.st_atim.tv_sec != n->st.st_atim.tv_sec || st.st_atim.tv_nsec != n->st.st_atim.tv_nsec)
		fail("%s: times differ after restore", n->name);
	if (fcntl(n->fd, F_GETFL) != n->flags)
		fail("%s: flags %#o, expected %#o", n->name, fcntl(n->fd, F_GETFL), n->flags);
	if (access(n->name, F_OK) == 0 || errno != ENOENT)
		fail("%s: the name exists after restore", n->name);
}

__attribute__((noreturn))
static void child(void)
{
	struct stat st;
	unsigned ino;

	close(nul.fd);
	close(zero.fd);
	tree_send(tree_root, 0);
	test_wait_checkpoint();
	check(&zero_path);
	ino = tree_recv(tree_root);	/* the parent's inode of the zero node, now */
	if (fstat(zero_path.fd, &st))
		fail_errno("fstat");
	if ((unsigned)st.st_ino != ino)
		fail("%s: the child's O_PATH fd is of inode %lu, the parent's of %u", ZERO_NODE,
		     (unsigned long)st.st_ino, ino);
	tree_exit(0);
}

int main(int argc, char **argv)
{
	char buf[64];
	pid_t kid;
	char p[64];

	test_init(argc, argv);
	tree_init();

	make(&nul, 3, 0642, O_WRONLY | O_APPEND);
	make(&zero, 5, 0604, O_RDONLY);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", zero.fd);
	zero_path.fd = open(p, O_PATH);
	if (zero_path.fd < 0)
		fail_errno("O_PATH open of %s", ZERO_NODE);
	if (unlink(NULL_NODE) || unlink(ZERO_NODE))
		fail_errno("unlink");
	record(&nul);
	record(&zero);
	record(&zero_path);
	kid = tree_fork(child);
	close(zero_path.fd);
	tree_recv(kid);

	test_ready();
	test_wait_checkpoint();
	tree_forward(&kid, 1);

	check(&nul);
	check(&zero);
	if (fstat(zero.fd, &zero.st))
		fail_errno("fstat");
	tree_send(kid, (int)zero.st.st_ino);
	if (write(nul.fd, "x", 1) != 1)
		fail_errno("write to the null node");
	memset(buf, 0xff, sizeof(buf));
	if (read(zero.fd, buf, sizeof(buf)) != sizeof(buf))
		fail_errno("read the zero node");
	for (size_t i = 0; i < sizeof(buf); i++)
		if (buf[i])
			fail("%s: read non-zero bytes", ZERO_NODE);
	tree_exit(tree_collect(&kid, 1));
}
