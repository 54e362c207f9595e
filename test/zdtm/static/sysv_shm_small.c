/*
 * A System V segment smaller than a page (56 bytes, as postgres keeps
 * one), attached in the root and, by fork, in a child, removed
 * (IPC_RMID) right after shmat so that nothing outlives the test. After
 * restore both still map it as one page, its 56 bytes hold what was
 * written, it is still 56 bytes long (IPC_STAT) and a write of the
 * child's shows in the root.
 */
#include <stdint.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>
#include "zdtm.h"

#define LEN		56
#define PAGE		4096UL
#define SEED		0x5a5a0056ULL
#define CHILD_POST	0xc0ffee56U

struct seg {
	uint64_t words[LEN / 8 - 1];	/* the pattern */
	uint32_t child_post, pad;
};
_Static_assert(sizeof(struct seg) == LEN, "the segment is 56 bytes");

static struct seg *seg;
static int shmid;

static int check_segment(const char *who)
{
	struct shmid_ds ds;
	struct vma_info v;
	int bad = 0;

	if (vma_find(seg, &v) || v.start != (unsigned long)seg || v.end - v.start != PAGE ||
	    v.perms[3] != 's' || !strstr(v.path, "SYSV")) {
		test_msg("FAIL: %s: the segment at %p is no longer one shared page", who, (void *)seg);
		bad++;
	}
	if (pattern_check(seg->words, sizeof(seg->words), SEED) >= 0) {
		test_msg("FAIL: %s: the segment's bytes differ", who);
		bad++;
	}
	if (shmctl(shmid, IPC_STAT, &ds) || ds.shm_segsz != LEN) {
		test_msg("FAIL: %s: segment %d is not %d bytes long (%zu)", who, shmid, LEN,
			 (size_t)ds.shm_segsz);
		bad++;
	}
	return bad;
}

__attribute__((noreturn))
static void child(void)
{
	int bad;

	tree_send(getppid(), 0);
	test_wait_checkpoint();
	bad = check_segment("child");
	__atomic_store_n(&seg->child_post, CHILD_POST, __ATOMIC_RELEASE);
	tree_exit(bad);
}

int main(int argc, char **argv)
{
	pid_t kid;
	int bad;

	test_init(argc, argv);
	tree_init();
	shmid = shmget(IPC_PRIVATE, LEN, IPC_CREAT | 0600);
	if (shmid < 0)
		fail_errno("shmget");
	seg = shmat(shmid, NULL, 0);
	if (seg == (void *)-1) {
		shmctl(shmid, IPC_RMID, NULL);
		fail_errno("shmat");
	}
	if (shmctl(shmid, IPC_RMID, NULL))
		fail_errno("IPC_RMID");
	pattern_fill(seg->words, sizeof(seg->words), SEED);
	kid = fork();
	if (kid < 0)
		fail_errno("fork");
	if (kid == 0)
		child();
	tree_recv(kid);

	test_ready();
	test_wait_checkpoint();

	tree_forward(&kid, 1);
	bad = check_segment("root");
	bad += tree_collect(&kid, 1);
	if (__atomic_load_n(&seg->child_post, __ATOMIC_ACQUIRE) != CHILD_POST) {
		test_msg("FAIL: the child's write after restore is not visible");
		bad++;
	}
	tree_exit(bad);
}
