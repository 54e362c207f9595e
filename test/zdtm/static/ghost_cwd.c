/*
 * Deleted directories as a task's cwd and root. The root of the tree
 * stays in the work dir (its pid file is there). Its child C sits in a
 * directory of the work dir that was then removed (its cwd, deleted).
 * Child R chroots into another one, chdirs to its "/", and the directory
 * is removed: its root and cwd are one deleted directory. Child S
 * chroots into a third one that is removed, its cwd left in the work
 * dir (outside its root). Each removed directory had its owner, mode
 * and times set.
 *
 * After restore: C's cwd, R's root and cwd, S's root are still removed
 * directories (nlink 0) with their owner, mode and times; a file cannot
 * be made in them (ENOENT); C's /proc/self/cwd reads the same
 * "PATH (deleted)"; S's cwd is still the work dir (it can open a file of
 * it relative to "."), and "/" is still its removed root.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

#define CWD_DIR		"zdtm_ghost_cwd.cwd"
#define ROOT_DIR	"zdtm_ghost_cwd.root"
#define ROOT2_DIR	"zdtm_ghost_cwd.root2"
#define MARK		"zdtm_ghost_cwd.mark"

static void set_attrs(const char *name, int i)
{
	struct timespec ts[2] = { { 1200000000 + i, 5 + i }, { 1100000000 + i, 9 + i } };

	if (chown(name, 3000 + i, 4000 + i) || chmod(name, 0750 - i) ||
	    utimensat(AT_FDCWD, name, ts, 0))
		fail_errno("attributes of %s", name);
}

static void same_dir(const char *name, const char *path, const struct stat *b)
{
	struct stat st;

	if (stat(path, &st))
		fail_errno("%s: stat %s", name, path);
	if (st.st_nlink != 0 || st.st_mode != b->st_mode || st.st_uid != b->st_uid ||
	    st.st_gid != b->st_gid || st.st_mtim.tv_sec != b->st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != b->st_mtim.tv_nsec || st.st_atim.tv_sec != b->st_atim.tv_sec ||
	    st.st_atim.tv_nsec != b->st_atim.tv_nsec)
		fail("%s (%s): nlink %lu mode %#o owner %u:%u mtime %ld, expected 0 %#o %u:%u %ld", name, path,
		     (unsigned long)st.st_nlink, st.st_mode, st.st_uid, st.st_gid, (long)st.st_mtim.tv_sec,
		     b->st_mode, b->st_uid, b->st_gid, (long)b->st_mtim.tv_sec);
	if (open(path[0] == '/' ? "/new" : "new", O_RDWR | O_CREAT, 0600) != -1 || errno != ENOENT)
		fail("%s: creating a file in the removed directory did not fail with ENOENT", name);
}

__attribute__((noreturn))
static void child_cwd(void)
{
	char before[PATH_MAX], after[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (mkdir(CWD_DIR, 0700) || chdir(CWD_DIR))
		fail_errno("mkdir/chdir %s", CWD_DIR);
	set_attrs(".", 0);
	if (rmdir("../" CWD_DIR) || stat(".", &st))
		fail_errno("rmdir %s", CWD_DIR);
	n = readlink("/proc/self/cwd", before, sizeof(before) - 1);
	if (n < 0)
		fail_errno("readlink /proc/self/cwd");
	before[n] = '\0';
	tree_send(tree_root, 0);
	test_wait_checkpoint();
	same_dir("C's cwd", ".", &st);
	n = readlink("/proc/self/cwd", after, sizeof(after) - 1);
	if (n < 0)
		fail_errno("readlink /proc/self/cwd");
	after[n] = '\0';
	if (strcmp(before, after))
		fail("C: /proc/self/cwd is '%s', expected '%s'", after, before);
	tree_exit(0);
}

/* Chroots into @dir, removed then; @to_root: chdir to "/" too. */
static void chroot_removed(const char *dir, int i, bool to_root, struct stat *st)
{
	int work = open(".", O_PATH | O_DIRECTORY);

	if (work < 0 || mkdir(dir, 0700))
		fail_errno("mkdir %s", dir);
	set_attrs(dir, i);
	if (chroot(dir) || (to_root && chdir("/")))
		fail_errno("chroot %s", dir);
	if (unlinkat(work, dir, AT_REMOVEDIR) || stat("/", st))
		fail_errno("rmdir %s", dir);
	close(work);
}

__attribute__((noreturn))
static void child_root(void)
{
	struct stat st;

	chroot_removed(ROOT_DIR, 1, true, &st);
	tree_send(tree_root, 0);
	test_wait_checkpoint();
	same_dir("R's root", "/", &st);
	same_dir("R's cwd", ".", &st);
	tree_exit(0);
}

__attribute__((noreturn))
static void child_root_outside(void)
{
	struct stat st;
	int fd;

	chroot_removed(ROOT2_DIR, 2, false, &st);
	tree_send(tree_root, 0);
	test_wait_checkpoint();
	same_dir("S's root", "/", &st);
	fd = open(MARK, O_RDONLY);
	if (fd < 0)
		fail_errno("S: opening %s in its cwd, the work dir", MARK);
	close(fd);
	tree_exit(0);
}

int main(int argc, char **argv)
{
	pid_t kids[3];

	test_init(argc, argv);
	tree_init();
	if (close(open(MARK, O_RDWR | O_CREAT, 0600)))
		fail_errno("create %s", MARK);

	kids[0] = tree_fork(child_cwd);
	tree_recv(kids[0]);
	kids[1] = tree_fork(child_root);
	tree_recv(kids[1]);
	kids[2] = tree_fork(child_root_outside);
	tree_recv(kids[2]);

	test_ready();
	test_wait_checkpoint();
	tree_forward(kids, 3);
	tree_exit(tree_collect(kids, 3));
}
