/*
 * Files whose name now points at another file, kept with --link-remap.
 * OLD has a second hard link KEEP; the parent opens OLD O_RDWR at a
 * position, its child shares that description; then NEW is renamed over
 * OLD (OLD names NEW's file now, and /proc shows "OLD (deleted)"). A
 * second file MOVED is opened read-only and renamed to MOVED2 and then
 * NEW2 is renamed over MOVED2 (its only other name is KEEP2).
 *
 * After restore: each fd is still of the file that KEEP (KEEP2) names,
 * same device and inode, content, position and flags; a write through
 * the parent's fd shows at KEEP and in the child's fd (one description
 * still); OLD and MOVED2 still name the files renamed over them, with
 * their own content and unchanged mtime and ctime; a link of cr's left
 * in the work dir (only after --leave-running: the images need it) is
 * one of those two files.
 *
 * zdtm: cr-opts: --link-remap
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

#define OLD	"zdtm_link_remap.old"
#define KEEP	"zdtm_link_remap.keep"
#define NEW	"zdtm_link_remap.new"
#define MOVED	"zdtm_link_remap.moved"
#define MOVED2	"zdtm_link_remap.moved2"
#define KEEP2	"zdtm_link_remap.keep2"
#define NEW2	"zdtm_link_remap.new2"
#define LEN	30000
#define POS	777
#define SEED	0x11e4000000000001ULL
#define SEED2	0x11e4000000000002ULL
#define SEED3	0x11e4000000000003ULL

static char buf[LEN];
static int fd, fd2;
static struct stat st_new, st_new2;

static void make(const char *name, uint64_t seed)
{
	file_pattern_create(name, LEN, seed, 0644);
}

static void same_file(int f, const char *name)
{
	struct stat a, b;

	if (fstat(f, &a) || stat(name, &b))
		fail_errno("stat %s", name);
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		fail("fd %d is not the file %s names (inode %lu, %s's %lu)", f, name, (unsigned long)a.st_ino,
		     name, (unsigned long)b.st_ino);
}

static void untouched(const char *name, const struct stat *b)
{
	struct stat st;

	if (stat(name, &st))
		fail_errno("stat %s", name);
	if (st.st_ino != b->st_ino || st.st_mtim.tv_sec != b->st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != b->st_mtim.tv_nsec || st.st_ctim.tv_sec != b->st_ctim.tv_sec ||
	    st.st_ctim.tv_nsec != b->st_ctim.tv_nsec)
		fail("%s: another inode, mtime or ctime after restore", name);
}

static void no_leftovers(void)
{
	DIR *d = opendir(".");
	struct dirent *de;

	if (!d)
		fail_errno("opendir");
	while ((de = readdir(d))) {
		struct stat st, a, b;

		if (!strstr(de->d_name, "link-remap"))
			continue;
		if (stat(de->d_name, &st) || stat(KEEP, &a) || stat(KEEP2, &b))
			fail_errno("stat %s", de->d_name);
		if (st.st_ino != a.st_ino && st.st_ino != b.st_ino)
			fail("%s in the work dir is no link of the remapped files", de->d_name);
	}
	closedir(d);
}

__attribute__((noreturn))
static void child(void)
{
	close(fd2);
	tree_send(tree_root, 0);
	test_wait_checkpoint();
	same_file(fd, KEEP);
	tree_recv(tree_root);		/* the parent wrote */
	if (lseek(fd, 0, SEEK_CUR) != POS + 100)
		fail("child: the shared position is %ld, expected %d", (long)lseek(fd, 0, SEEK_CUR), POS + 100);
	tree_exit(0);
}

int main(int argc, char **argv)
{
	pid_t kid;

	test_init(argc, argv);
	tree_init();

	make(OLD, SEED);
	make(NEW, SEED2);
	if (link(OLD, KEEP))
		fail_errno("link");
	fd = open(OLD, O_RDWR);
	if (fd < 0 || lseek(fd, POS, SEEK_SET) != POS)
		fail_errno("open %s", OLD);
	if (rename(NEW, OLD) || stat(OLD, &st_new))
		fail_errno("rename %s over %s", NEW, OLD);

	make(MOVED, SEED);
	make(NEW2, SEED3);
	if (link(MOVED, KEEP2))
		fail_errno("link");
	fd2 = open(MOVED, O_RDONLY);
	if (fd2 < 0 || rename(MOVED, MOVED2) || rename(NEW2, MOVED2) || stat(MOVED2, &st_new2))
		fail_errno("renames of %s", MOVED);

	kid = tree_fork(child);
	tree_recv(kid);

	test_ready();
	test_wait_checkpoint();
	tree_forward(&kid, 1);

	same_file(fd, KEEP);
	same_file(fd2, KEEP2);
	if (lseek(fd, 0, SEEK_CUR) != POS)
		fail("%s: position not kept", OLD);
	if ((fcntl(fd2, F_GETFL) & O_ACCMODE) != O_RDONLY)
		fail("%s: not read-only after restore", MOVED);
	if (pread(fd2, buf, LEN, 0) != LEN || pattern_check(buf, LEN, SEED) >= 0)
		fail("%s: content differs", MOVED);
	untouched(OLD, &st_new);
	untouched(MOVED2, &st_new2);
	no_leftovers();

	write_full(fd, "0123456789", 10);
	if (lseek(fd, 90, SEEK_CUR) != POS + 100)
		fail_errno("lseek");
	tree_send(kid, 0);
	fd2 = open(KEEP, O_RDONLY);
	if (fd2 < 0 || pread(fd2, buf, 10, POS) != 10 || memcmp(buf, "0123456789", 10))
		fail("a write through the fd after restore is not in %s", KEEP);
	tree_exit(tree_collect(&kid, 1));
}
