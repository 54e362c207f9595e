/*
 * A tree of 217 processes: the root forks 10 branches with 19 leaf
 * children each, and 2 chains 8 deep. Every third branch leads its own
 * process group (its leaves are born in it); the second chain's head
 * calls setsid() before forking the rest of its chain. Every process keeps
 * its pid, parent, group and session across the checkpoint; the root,
 * the branches and the chains' ends also keep 64 KiB of private memory
 * with a pattern of their own.
 */
#include <sys/mman.h>
#include <unistd.h>
#include "zdtm.h"

#define NR_BRANCHES	10
#define NR_LEAVES	19
#define NR_CHAINS	2
#define CHAIN_DEPTH	8
#define MEM_SIZE	(64 << 10)
#define MAX_KIDS	(NR_BRANCHES + NR_CHAINS)

struct node {
	struct tree_ids ids;
	pid_t kids[MAX_KIDS];
	int nr_kids;
	void *mem;		/* MEM_SIZE bytes of pattern, or NULL */
	uint64_t seed;
};

static uint64_t seed_of(pid_t pid)
{
	return (uint64_t)pid << 32 | 0x200;
}

/* Private memory that only this process writes, with its own pattern. */
static void own_memory(struct node *n)
{
	n->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (n->mem == MAP_FAILED)
		fail_errno("mmap");
	n->seed = seed_of(getpid());
	pattern_fill(n->mem, MEM_SIZE, n->seed);
}

static int check_memory(const struct node *n)
{
	long off;

	if (!n->mem)
		return 0;
	off = pattern_check(n->mem, MEM_SIZE, n->seed);
	if (off < 0)
		return 0;
	test_msg("FAIL: private memory differs at offset %ld", off);
	return 1;
}

/* Report to the parent (the root publishes the tree instead), wait for
 * SIGTERM, pass it down, check, collect. */
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
	bad += check_memory(n);
	bad += tree_collect(n->kids, n->nr_kids);
	tree_exit(bad);
}

/* Fork a child running FN(ARG); its report is awaited by the caller. */
static pid_t spawn(struct node *n, void (*fn)(int), int arg)
{
	pid_t pid = fork();

	if (pid < 0)
		fail_errno("fork");
	if (pid == 0) {
		fn(arg);
		_exit(1);	/* fn never returns */
	}
	if (n)
		n->kids[n->nr_kids++] = pid;
	return pid;
}

static void wait_kids(const struct node *n)
{
	for (int i = 0; i < n->nr_kids; i++)
		tree_recv(n->kids[i]);
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
static void branch(int nr)
{
	pid_t leaves[NR_LEAVES];	/* more than a node's kids[] holds */
	struct node n = { .nr_kids = 0 };
	int bad;

	if (nr % 3 == 0 && setpgid(0, 0))
		fail_errno("setpgid branch %d", nr);
	tree_ids_get(&n.ids);
	own_memory(&n);
	for (int i = 0; i < NR_LEAVES; i++)
		leaves[i] = spawn(NULL, leaf, 0);
	for (int i = 0; i < NR_LEAVES; i++)
		tree_recv(leaves[i]);
	tree_send(getppid(), NR_LEAVES);
	test_wait_checkpoint();
	tree_forward(leaves, NR_LEAVES);
	bad = tree_ids_check(&n.ids);
	bad += check_memory(&n);
	bad += tree_collect(leaves, NR_LEAVES);
	tree_exit(bad);
}

/* Chain link LEVEL (1..CHAIN_DEPTH) of chain NR: CHAIN_DEPTH * NR + LEVEL. */
__attribute__((noreturn))
static void link_(int id)
{
	int nr = id / CHAIN_DEPTH, level = id % CHAIN_DEPTH + 1;
	struct node n = { .nr_kids = 0 };

	if (nr == 1 && level == 1 && setsid() < 0)
		fail_errno("setsid");
	tree_ids_get(&n.ids);
	if (level < CHAIN_DEPTH) {
		spawn(&n, link_, id + 1);
		wait_kids(&n);
	} else {
		own_memory(&n);
	}
	finish(&n);
}

int main(int argc, char **argv)
{
	struct node n = { .nr_kids = 0 };

	test_init(argc, argv);
	tree_init();
	tree_ids_get(&n.ids);
	own_memory(&n);
	for (int i = 0; i < NR_BRANCHES; i++)
		spawn(&n, branch, i);
	for (int i = 0; i < NR_CHAINS; i++)
		spawn(&n, link_, i * CHAIN_DEPTH);
	wait_kids(&n);
	finish(&n);
}
