/*
 * Shared anonymous memory (MAP_SHARED | MAP_ANONYMOUS, 2 MiB) between the
 * root and a child stays one object: after restore the child sees the
 * pattern and the root's last write, and what the child writes then (a
 * marker and a whole page) shows in the root.
 */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include "zdtm.h"

#define LEN		(2UL << 20)
#define PAGE		4096UL
#define SEED		0x5a5a0001ULL
#define SEED_CHILD	0x5a5a0002ULL
#define CHILD_PAGE	(LEN / 2)	/* rewritten by the child after restore */
#define CHILD_MARK	0xc0ffee01ULL
#define ROOT_MARK	0xc0ffee02ULL
#define CHILD_POST	0xc0ffee03ULL

/* Page 0 of the area; the pattern fills the rest. */
struct ctl {
	uint64_t child_mark, root_mark, child_post;
};

static uint8_t *area;
static struct ctl *ctl;

static int check_shared_vma(void)
{
	struct vma_info v;

	if (vma_find(area, &v) || v.perms[3] != 's' || v.start != (unsigned long)area ||
	    v.end - v.start != LEN) {
		test_msg("FAIL: the area at %p is no longer one shared mapping of %lu bytes", area, LEN);
		return 1;
	}
	return 0;
}

static int check_range(unsigned long from, unsigned long to)
{
	long off = pattern_check(area + from, to - from, SEED + from / 8);

	if (off < 0)
		return 0;
	test_msg("FAIL: the pattern differs at offset %#lx", from + off);
	return 1;
}

/* The whole pattern, or all of it but the page the child rewrites. */
static int check_pattern(int with_child_page)
{
	if (with_child_page)
		return check_range(PAGE, LEN);
	return check_range(PAGE, CHILD_PAGE) + check_range(CHILD_PAGE + PAGE, LEN);
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
	bad += check_shared_vma();
	if (ctl->root_mark != ROOT_MARK) {
		test_msg("FAIL: the root's mark is %#lx, expected %#llx",
			 (unsigned long)ctl->root_mark, ROOT_MARK);
		bad++;
	}
	bad += check_pattern(1);
	pattern_fill(area + CHILD_PAGE, PAGE, SEED_CHILD);
	__atomic_store_n(&ctl->child_post, CHILD_POST, __ATOMIC_RELEASE);
	tree_exit(bad);
}

int main(int argc, char **argv)
{
	struct tree_ids ids;
	pid_t kid;
	int bad;

	test_init(argc, argv);
	tree_init();
	tree_ids_get(&ids);
	area = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		fail_errno("mmap");
	ctl = (struct ctl *)area;
	pattern_fill(area + PAGE, LEN - PAGE, SEED + PAGE / 8);
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
	bad += check_shared_vma();
	bad += tree_collect(&kid, 1);	/* the child's writes are done */
	if (ctl->child_post != CHILD_POST) {
		test_msg("FAIL: the child's write after restore is not visible (%#lx)",
			 (unsigned long)ctl->child_post);
		bad++;
	}
	if (pattern_check(area + CHILD_PAGE, PAGE, SEED_CHILD) >= 0) {
		test_msg("FAIL: the page the child rewrote after restore is not visible");
		bad++;
	}
	bad += check_pattern(0);
	tree_exit(bad);
}
