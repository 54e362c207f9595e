/*
 * A deep and wide tree of 37 processes: a chain of 20 below the root (each
 * link forks the next), the 10th link also has 8 leaf children, and the
 * root has 4 more children with one child each. Every process keeps its
 * pid, parent, process group and session across the checkpoint.
 */
#include <unistd.h>
#include "zdtm.h"

#define CHAIN_DEPTH	20
#define WIDE_LEVEL	10
#define WIDE_KIDS	8
#define ROOT_EXTRA	4
#define MAX_KIDS	(WIDE_KIDS + 1)

struct node {
	struct tree_ids ids;
	pid_t kids[MAX_KIDS];
	int nr_kids;
};

/* Set up (nothing but recording the ids here), report to the parent, wait
 * for SIGTERM, pass it down, check, collect. */
__attribute__((noreturn))
static void finish(struct node *n)
{
	int bad;

	if (getpid() != tree_root)
		tree_send(getppid(), n->nr_kids);
	else
		test_ready();
	test_wait_checkpoint();
	tree_forward(n->kids, n->nr_kids);
	bad = tree_ids_check(&n->ids);
	bad += tree_collect(n->kids, n->nr_kids);
	tree_exit(bad);
}

/* Fork a child running FN(ARG) and wait until its subtree is set up. */
static void spawn(struct node *n, void (*fn)(int), int arg)
{
	pid_t pid = fork();

	if (pid < 0)
		fail_errno("fork");
	if (pid == 0) {
		fn(arg);
		_exit(1);	/* fn never returns */
	}
	n->kids[n->nr_kids++] = pid;
	tree_recv(pid);
}

__attribute__((noreturn))
static void leaf(int unused)
{
	struct node n = { .nr_kids = 0 };

	(void)unused;
	tree_ids_get(&n.ids);
	finish(&n);
}

__attribute__((noreturn))
static void extra(int unused)
{
	struct node n = { .nr_kids = 0 };

	(void)unused;
	tree_ids_get(&n.ids);
	spawn(&n, leaf, 0);
	finish(&n);
}

__attribute__((noreturn))
static void link_(int level)
{
	struct node n = { .nr_kids = 0 };

	tree_ids_get(&n.ids);
	if (level < CHAIN_DEPTH)
		spawn(&n, link_, level + 1);
	if (level == WIDE_LEVEL)
		for (int i = 0; i < WIDE_KIDS; i++)
			spawn(&n, leaf, 0);
	finish(&n);
}

int main(int argc, char **argv)
{
	struct node n = { .nr_kids = 0 };

	test_init(argc, argv);
	tree_init();
	tree_ids_get(&n.ids);
	spawn(&n, link_, 1);
	for (int i = 0; i < ROOT_EXTRA; i++)
		spawn(&n, extra, 0);
	finish(&n);
}
