/*
 * A two-level tree: the root forks 4 children, each of them forks 2
 * grandchildren (13 processes). Every process keeps its pid, parent,
 * process group and session across the checkpoint.
 */
#include <unistd.h>
#include "zdtm.h"

#define NR_CHILDREN	4
#define NR_GRANDCHILDREN 2

/* Wait for SIGTERM, pass it down, check this process, collect the kids. */
__attribute__((noreturn))
static void finish(const struct tree_ids *ids, const pid_t *kids, int nr)
{
	int bad;

	test_wait_checkpoint();
	tree_forward(kids, nr);
	bad = tree_ids_check(ids);
	bad += tree_collect(kids, nr);
	tree_exit(bad);
}

__attribute__((noreturn))
static void grandchild(void)
{
	struct tree_ids ids;

	tree_ids_get(&ids);
	tree_send(getppid(), 0);
	finish(&ids, NULL, 0);
}

__attribute__((noreturn))
static void child(void)
{
	pid_t kids[NR_GRANDCHILDREN];
	struct tree_ids ids;

	tree_ids_get(&ids);
	for (int i = 0; i < NR_GRANDCHILDREN; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			fail_errno("fork");
		if (kids[i] == 0)
			grandchild();
		tree_recv(kids[i]);
	}
	tree_send(getppid(), 0);
	finish(&ids, kids, NR_GRANDCHILDREN);
}

int main(int argc, char **argv)
{
	pid_t kids[NR_CHILDREN];
	struct tree_ids ids;

	test_init(argc, argv);
	tree_init();
	tree_ids_get(&ids);
	for (int i = 0; i < NR_CHILDREN; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			fail_errno("fork");
		if (kids[i] == 0)
			child();
	}
	for (int i = 0; i < NR_CHILDREN; i++)
		tree_recv(kids[i]);
	test_ready();
	finish(&ids, kids, NR_CHILDREN);
}
