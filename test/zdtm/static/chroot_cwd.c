/*
 * A child task chrooted into a directory of its work dir, its cwd a directory
 * below that root, with a file opened inside the root by a path relative
 * to it and one opened before the chroot (outside it): all kept. Another
 * child chrooted there without a chdir: its cwd stays outside its root.
 * The root of the tree stays outside (its pid file is there).
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "zdtm.h"

#define ROOT	"zdtm_chroot.d"
#define SUB	"/sub/deeper"
#define INSIDE	"/inside.txt"
#define OUTSIDE	"outside.txt"

static void same_file(int fd, const char *path)
{
	struct stat a, b;

	if (fstat(fd, &a) || stat(path, &b))
		fail_errno("stat %s", path);
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		fail("fd %d is not %s any more", fd, path);
}

static void chrooted(void)
{
	struct stat root_before, root_after, cwd_before, cwd_after;
	char cwd[PATH_MAX];
	int in_fd, out_fd, dir_fd;

	if (mkdir(ROOT, 0755) || mkdir(ROOT "/sub", 0755) || mkdir(ROOT SUB, 0755))
		fail_errno("mkdir " ROOT SUB);
	out_fd = open(OUTSIDE, O_RDWR | O_CREAT, 0644);
	if (out_fd < 0 || write(out_fd, "out", 3) != 3)
		fail_errno("create " OUTSIDE);
	if (stat(ROOT, &root_before))
		fail_errno("stat " ROOT);
	if (chroot(ROOT) || chdir(SUB))
		fail_errno("chroot/chdir");
	in_fd = open(INSIDE, O_RDWR | O_CREAT, 0644);
	if (in_fd < 0 || write(in_fd, "in", 2) != 2)
		fail_errno("create " INSIDE);
	dir_fd = open("..", O_RDONLY | O_DIRECTORY);
	if (dir_fd < 0)
		fail_errno("open ..");
	if (stat(".", &cwd_before))
		fail_errno("stat .");

	tree_send(tree_root, 0);
	test_wait_checkpoint();

	if (!getcwd(cwd, sizeof(cwd)))
		fail_errno("getcwd after restore");
	if (strcmp(cwd, SUB))
		fail("cwd is %s, expected %s (inside the root)", cwd, SUB);
	if (stat(".", &cwd_after) || cwd_after.st_ino != cwd_before.st_ino ||
	    cwd_after.st_dev != cwd_before.st_dev)
		fail("cwd is another directory");
	/* The root: "/.." is "/" itself, and it is the directory made above. */
	if (stat("/", &root_after) || root_after.st_ino != root_before.st_ino ||
	    root_after.st_dev != root_before.st_dev)
		fail("/ is not %s any more", ROOT);
	if (access("/" OUTSIDE, F_OK) == 0 || access("/../" OUTSIDE, F_OK) == 0)
		fail("the work dir is visible: not chrooted");
	same_file(in_fd, INSIDE);
	same_file(dir_fd, "/sub");
	if (pread(out_fd, cwd, 3, 0) != 3 || memcmp(cwd, "out", 3))
		fail("fd of %s lost its content", OUTSIDE);
	tree_exit(0);
}

/* Waits for the first child's root to exist, chroots into it and stays where it is. */
static void cwd_outside(void)
{
	struct stat before, after, root;
	char cwd[PATH_MAX];

	if (tree_recv(tree_root) || stat(".", &before) || chroot(ROOT))
		fail_errno("chroot " ROOT " with the cwd outside");
	tree_send(tree_root, 0);
	test_wait_checkpoint();
	if (stat(".", &after) || after.st_ino != before.st_ino || after.st_dev != before.st_dev)
		fail("the cwd outside the root is another directory after restore");
	if (stat("/", &root) || root.st_ino == before.st_ino)
		fail("not chrooted after restore");
	/* The kernel names a cwd its root cannot reach "(unreachable)...". */
	if (syscall(SYS_getcwd, cwd, sizeof(cwd)) < 0 || cwd[0] == '/')
		fail("getcwd says %s: the cwd is below the root", cwd);
	tree_exit(0);
}

int main(int argc, char **argv)
{
	pid_t kids[2];

	test_init(argc, argv);
	tree_init();
	kids[0] = tree_fork(chrooted);
	kids[1] = tree_fork(cwd_outside);
	tree_recv(kids[0]);
	tree_send(kids[1], 0);
	tree_recv(kids[1]);
	test_ready();
	test_wait_checkpoint();
	tree_forward(kids, 2);
	tree_exit(tree_collect(kids, 2));
}
