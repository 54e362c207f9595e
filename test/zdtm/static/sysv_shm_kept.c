/*
 * A System V segment with a key, never removed (IPC_RMID), as postgres
 * keeps its own: 3 pages and 100 bytes, the second page never touched,
 * attached in the root and, by fork, in a child. The dump that kills the
 * tree removes it (its only users were the tree, it holds what the
 * images hold), so that the restore can make it again; a restore that
 * found it would refuse ("key ... is in use"). After restore the key
 * still finds the segment both processes map, with its size, mode and
 * bytes, attached twice; the test removes it when it ends.
 *
 * With ZDTM_SHM_ATTACHER=1 in its environment, in the test's work dir,
 * the program is instead a process outside the tree that attaches the
 * segment (read-only) until SIGTERM, having made zdtm_shm_attacher.ready
 * (the runner's dump-kept-attached case: the dump leaves the segment).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>
#include "zdtm.h"

#define PAGE		4096UL
#define LEN		(3 * PAGE + 100)
#define SEED		0x4b455054ULL
#define MODE		0640
#define CHILD_POST	0xc0ffee57U

static uint8_t *area;
static key_t key;

/* The pattern, but page 1 (never touched: zeros), and the child's word at the end. */
static int check_bytes(const char *who)
{
	static const uint8_t zero[PAGE];

	if (pattern_check(area, PAGE, SEED) >= 0 ||
	    pattern_check(area + 2 * PAGE, LEN - 2 * PAGE - 4, SEED + 2 * PAGE / 8) >= 0) {
		test_msg("FAIL: %s: the segment's bytes differ", who);
		return 1;
	}
	if (memcmp(area + PAGE, zero, PAGE)) {
		test_msg("FAIL: %s: the page never touched is not zeros", who);
		return 1;
	}
	return 0;
}

static int check_segment(const char *who, unsigned nattch)
{
	struct shmid_ds ds;
	struct vma_info v;
	int id = shmget(key, 0, 0);

	if (vma_find(area, &v) || v.start != (unsigned long)area || v.end - v.start != 4 * PAGE ||
	    !strstr(v.path, "SYSV")) {
		test_msg("FAIL: %s: the segment at %p is no longer one mapping of 4 pages", who, (void *)area);
		return 1;
	}
	if (id < 0 || (unsigned long)id != v.inode) {
		test_msg("FAIL: %s: key %#x finds segment %d, the mapping is of segment %lu", who, key, id,
			 v.inode);
		return 1;
	}
	if (shmctl(id, IPC_STAT, &ds) || ds.shm_segsz != LEN || (ds.shm_perm.mode & 0777) != MODE ||
	    (ds.shm_perm.mode & SHM_DEST) || (nattch && ds.shm_nattch != nattch)) {
		test_msg("FAIL: %s: segment %d: size %zu, mode 0%o, %lu attached; expected %lu, 0%o, %u", who, id,
			 (size_t)ds.shm_segsz, ds.shm_perm.mode, (unsigned long)ds.shm_nattch, LEN, MODE, nattch);
		return 1;
	}
	return check_bytes(who);
}

__attribute__((noreturn))
static void child(void)
{
	int bad;

	tree_send(getppid(), 0);
	test_wait_checkpoint();
	bad = check_segment("child", 0);
	__atomic_store_n((uint32_t *)(area + LEN - 4), CHILD_POST, __ATOMIC_RELEASE);
	tree_exit(bad);
}

__attribute__((noreturn))
static void attacher(void)
{
	sigset_t set;
	int id, fd, sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	key = ftok(".", 'k');
	id = shmget(key, 0, 0);
	if (key == -1 || id < 0 || shmat(id, NULL, SHM_RDONLY) == (void *)-1)
		fail_errno("attacher: the segment of key %#x", key);
	fd = open("zdtm_shm_attacher.ready", O_WRONLY | O_CREAT, 0644);
	if (fd < 0)
		fail_errno("attacher: zdtm_shm_attacher.ready");
	close(fd);
	sigwait(&set, &sig);
	exit(0);
}

int main(int argc, char **argv)
{
	pid_t kid;
	int id, bad;

	if (getenv("ZDTM_SHM_ATTACHER"))
		attacher();
	test_init(argc, argv);
	tree_init();
	/* The work dir is the test's own: so is the key. */
	key = ftok(".", 'k');
	if (key == -1)
		fail_errno("ftok");
	id = shmget(key, LEN, IPC_CREAT | IPC_EXCL | MODE);
	if (id < 0)
		fail_errno("shmget of key %#x", key);
	area = shmat(id, NULL, 0);
	if (area == (void *)-1) {
		shmctl(id, IPC_RMID, NULL);
		fail_errno("shmat");
	}
	pattern_fill(area, PAGE, SEED);
	pattern_fill(area + 2 * PAGE, LEN - 2 * PAGE - 4, SEED + 2 * PAGE / 8);
	kid = fork();
	if (kid < 0) {
		shmctl(id, IPC_RMID, NULL);
		fail_errno("fork");
	}
	if (kid == 0)
		child();
	tree_recv(kid);

	test_ready();
	test_wait_checkpoint();

	bad = check_segment("root", 2);
	tree_forward(&kid, 1);
	bad += tree_collect(&kid, 1);
	if (__atomic_load_n((uint32_t *)(area + LEN - 4), __ATOMIC_ACQUIRE) != CHILD_POST) {
		test_msg("FAIL: the child's write after restore is not visible");
		bad++;
	}
	id = shmget(key, 0, 0);
	if (id < 0 || shmctl(id, IPC_RMID, NULL)) {
		test_msg("FAIL: removing the segment of key %#x: %m", key);
		bad++;
	}
	tree_exit(bad);
}
