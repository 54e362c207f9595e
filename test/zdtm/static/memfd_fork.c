/*
 * A memfd (2 MiB) mapped twice and then closed, so that only the mappings
 * hold it: VIEW1 maps all of it, VIEW2 its second half (offset 1 MiB). A
 * child inherits both. After restore both processes still share the one
 * object: the child's writes through VIEW2 show through the root's VIEW1,
 * and in the root a write through one view shows in the other.
 */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "zdtm.h"

#define LEN		(2UL << 20)
#define HALF		(LEN / 2)
#define PAGE		4096UL
#define SEED		0x3e3e0001ULL
#define SEED_CHILD	0x3e3e0002ULL
#define SEED_ROOT	0x3e3e0003ULL
#define CHILD_PAGE	(HALF + 16 * PAGE)	/* offsets in the memfd */
#define ROOT_PAGE	(HALF + 32 * PAGE)
#define CHILD_MARK	0xfeed0001ULL
#define ROOT_MARK	0xfeed0002ULL
#define CHILD_POST	0xfeed0003ULL

struct ctl {
	uint64_t child_mark, root_mark, child_post;
};

static uint8_t *view1, *view2;
static struct ctl *ctl;

static int check_range(unsigned long from, unsigned long to)
{
	long off = pattern_check(view1 + from, to - from, SEED + from / 8);

	if (off < 0)
		return 0;
	test_msg("FAIL: the pattern differs at offset %#lx", from + off);
	return 1;
}

/* Both views are shared mappings of one file, at the right offsets. */
static int check_views(void)
{
	struct vma_info v1, v2;

	if (vma_find(view1, &v1) || vma_find(view2, &v2)) {
		test_msg("FAIL: a view is no longer mapped");
		return 1;
	}
	if (v1.start != (unsigned long)view1 || v1.end - v1.start != LEN || v1.pgoff ||
	    v2.start != (unsigned long)view2 || v2.end - v2.start != HALF || v2.pgoff != HALF ||
	    v1.perms[3] != 's' || v2.perms[3] != 's' || v1.inode != v2.inode || !v1.inode) {
		test_msg("FAIL: views %lx-%lx %s off %#lx ino %lu '%s' and %lx-%lx %s off %#lx ino %lu '%s'",
			 v1.start, v1.end, v1.perms, v1.pgoff, v1.inode, v1.path,
			 v2.start, v2.end, v2.perms, v2.pgoff, v2.inode, v2.path);
		return 1;
	}
	if (!strstr(v1.path, "memfd:zdtm")) {
		test_msg("FAIL: view1 maps '%s', not the memfd", v1.path);
		return 1;
	}
	return 0;
}

__attribute__((noreturn))
static void child(void)
{
	struct tree_ids ids;
	int bad;

	tree_ids_get(&ids);
	ctl->child_mark = CHILD_MARK;
	tree_send(getppid(), 0);
	test_wait_checkpoint();

	bad = tree_ids_check(&ids);
	bad += check_views();
	if (ctl->root_mark != ROOT_MARK) {
		test_msg("FAIL: the root's mark is %#lx", (unsigned long)ctl->root_mark);
		bad++;
	}
	bad += check_range(PAGE, LEN);
	if (memcmp(view1 + HALF, view2, HALF)) {
		test_msg("FAIL: the child's two views differ");
		bad++;
	}
	/* Through the second view, seen by the root through the first. */
	pattern_fill(view2 + CHILD_PAGE - HALF, PAGE, SEED_CHILD);
	__atomic_store_n(&ctl->child_post, CHILD_POST, __ATOMIC_RELEASE);
	tree_exit(bad);
}

int main(int argc, char **argv)
{
	struct tree_ids ids;
	pid_t kid;
	int fd, bad;

	test_init(argc, argv);
	tree_init();
	tree_ids_get(&ids);
	fd = memfd_create("zdtm", 0);
	if (fd < 0 || ftruncate(fd, LEN))
		fail_errno("memfd");
	view1 = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	view2 = mmap(NULL, HALF, PROT_READ | PROT_WRITE, MAP_SHARED, fd, HALF);
	if (view1 == MAP_FAILED || view2 == MAP_FAILED)
		fail_errno("mmap memfd");
	close(fd);
	ctl = (struct ctl *)view1;
	pattern_fill(view1 + PAGE, LEN - PAGE, SEED + PAGE / 8);
	if (memcmp(view1 + HALF, view2, HALF))
		fail("setup: the two views differ");
	kid = fork();
	if (kid < 0)
		fail_errno("fork");
	if (kid == 0)
		child();
	tree_recv(kid);
	if (ctl->child_mark != CHILD_MARK)
		fail("setup: the child's mark is not visible in the root");
	ctl->root_mark = ROOT_MARK;

	test_ready();
	test_wait_checkpoint();

	tree_forward(&kid, 1);
	bad = tree_ids_check(&ids);
	bad += check_views();
	bad += tree_collect(&kid, 1);	/* the child's writes are done */
	if (ctl->child_post != CHILD_POST) {
		test_msg("FAIL: the child's write after restore is not visible");
		bad++;
	}
	if (pattern_check(view1 + CHILD_PAGE, PAGE, SEED_CHILD) >= 0) {
		test_msg("FAIL: the page the child wrote through view2 is not in view1");
		bad++;
	}
	/* One process, two views: write through view1, read through view2. */
	pattern_fill(view1 + ROOT_PAGE, PAGE, SEED_ROOT);
	if (pattern_check(view2 + ROOT_PAGE - HALF, PAGE, SEED_ROOT) >= 0) {
		test_msg("FAIL: a write through view1 does not show in view2");
		bad++;
	}
	bad += check_range(PAGE, CHILD_PAGE) + check_range(CHILD_PAGE + PAGE, ROOT_PAGE) +
	       check_range(ROOT_PAGE + PAGE, LEN);
	tree_exit(bad);
}
