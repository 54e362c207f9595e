/*
 * Nested pid namespaces. The test is pid 1 of its namespace (L1); it
 * forks A, pid 2 (ns_last_pid set to 1 first: ns-init's ip took pid 2).
 * A unshares CLONE_NEWPID and forks B, pid 1 of a nested namespace (L2,
 * pid 3 in L1). B forks C (pid 2 in L2) and D (pid 3), and D forks E
 * (pid 4), which waits for its parent to change.
 *
 * After restore every process has its getpid() and the NSpid line of
 * its /proc/self/status it had before (B: "3 1", C: "4 2", ...), and
 * its parent, group and session. Then D exits: E, orphaned, must be
 * reparented to the nested init B (getppid() 1), and B must reap it:
 * waitpid() on E in B succeeds and E's zombie is gone. A's children
 * still go to B's namespace (its pid_for_children), checked before B
 * is gone.
 *
 * B cannot see A (its parent is outside its namespace): B tells A it is
 * set up through a shared anonymous page, not a signal.
 *
 * zdtm: flavors: ns
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "zdtm.h"

#define READY_TIMEOUT_MS	10000

struct shared {
	volatile int b_ready;		/* B and its tree are set up */
	volatile pid_t e_ppid;		/* E's parent once D is gone */
	volatile pid_t e_pid;		/* E, as B sees it */
};

static struct shared *sh;

static void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void nspid_read(char *buf, size_t len)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		fail_errno("/proc/self/status");
	buf[0] = 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "NSpid:", 6)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(buf, len, "%.100s", line + 6);
			break;
		}
	fclose(f);
	if (!buf[0])
		fail("/proc/self/status has no NSpid line");
}

/* What a process saw before the checkpoint, and what it must have been. */
struct self {
	const char *name;
	pid_t want_pid;			/* getpid() */
	const char *want_nspid;		/* the NSpid line, from L1's /proc */
	struct tree_ids ids;
	char nspid[128];
};

static void self_take(struct self *s, const char *name, pid_t want_pid, const char *want_nspid)
{
	s->name = name;
	s->want_pid = want_pid;
	s->want_nspid = want_nspid;
	tree_ids_get(&s->ids);
	nspid_read(s->nspid, sizeof(s->nspid));
	if (getpid() != want_pid)
		fail("setup: %s is pid %d, expected %d", name, getpid(), want_pid);
	if (strcmp(s->nspid, want_nspid))
		fail("setup: %s's NSpid is '%s', expected '%s'", name, s->nspid, want_nspid);
}

static int self_check(const struct self *s)
{
	char nspid[128];
	int bad = tree_ids_check(&s->ids);

	if (getpid() != s->want_pid) {
		test_msg("FAIL: %s: getpid() is %d, expected %d", s->name, getpid(), s->want_pid);
		bad++;
	}
	nspid_read(nspid, sizeof(nspid));
	if (strcmp(nspid, s->nspid)) {
		test_msg("FAIL: %s: NSpid is '%s', was '%s'", s->name, nspid, s->nspid);
		bad++;
	}
	return bad;
}

/* E: waits for its parent D to go, reports who its parent is then. */
__attribute__((noreturn))
static void proc_e(pid_t d)
{
	struct self s;

	self_take(&s, "E", 4, "\t6\t4");
	tree_send(d, 0);
	/* D exits only after the checkpoint (on SIGTERM). */
	while (getppid() == d)
		msleep(10);
	sh->e_ppid = getppid();
	s.ids.ppid = 1;		/* checked by B, with a message */
	_exit(self_check(&s) || sh->e_ppid != 1 ? 1 : 0);
}

/* D: E's parent; exits once checked, leaving E an orphan. */
__attribute__((noreturn))
static void proc_d(void)
{
	struct self s;
	pid_t e;

	self_take(&s, "D", 3, "\t5\t3");
	e = fork();
	if (e < 0)
		fail_errno("fork E");
	if (e == 0)
		proc_e(getppid());
	tree_recv(e);
	sh->e_pid = e;
	tree_send(getppid(), 0);
	test_wait_checkpoint();
	_exit(self_check(&s) ? 1 : 0);
}

__attribute__((noreturn))
static void proc_c(void)
{
	struct self s;

	self_take(&s, "C", 2, "\t4\t2");
	tree_send(getppid(), 0);
	test_wait_checkpoint();
	_exit(self_check(&s) ? 1 : 0);
}

/* B: the nested namespace's init. Not the tree's root, though its pid is 1. */
__attribute__((noreturn))
static void proc_b(void)
{
	struct proc_stat st;
	pid_t kids[2], e, r;
	struct self s;
	int bad, status;

	self_take(&s, "B", 1, "\t3\t1");
	if (getppid() != 0)
		fail("setup: B's parent is visible to it as %d", getppid());
	for (int i = 0; i < 2; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			fail_errno("fork");
		if (kids[i] == 0) {
			if (i == 0)
				proc_c();
			proc_d();
		}
		tree_recv(kids[i]);
	}
	e = sh->e_pid;
	sh->b_ready = 1;
	test_wait_checkpoint();

	tree_forward(kids, 2);
	bad = self_check(&s);
	bad += tree_collect(kids, 2);	/* C, then D: E is an orphan now */
	/* The orphan is ours (we are its namespace's init): reap it. */
	do
		r = waitpid(e, &status, 0);
	while (r < 0 && errno == EINTR);
	if (r != e) {
		test_msg("FAIL: B (nested init) cannot reap the orphan E (pid %d): %m; E's parent was %d", e,
			 sh->e_ppid);
		bad++;
	} else {
		if (sh->e_ppid != 1) {
			test_msg("FAIL: the orphan E was reparented to %d, not to the nested init 1", sh->e_ppid);
			bad++;
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			test_msg("FAIL: E ended with status %#x", status);
			bad++;
		}
		if (!proc_stat_read(e, &st)) {
			test_msg("FAIL: E (pid %d) still exists (state %c) after B reaped it", e, st.state);
			bad++;
		}
	}
	_exit(bad ? 1 : 0);
}

/* A's children go to B's pid namespace (A unshared it): 0 if so. */
static int a_forks_into(pid_t b)
{
	char mine[64], path[64], bs[64];
	ssize_t n, m;

	n = readlink("/proc/self/ns/pid_for_children", mine, sizeof(mine) - 1);
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", b);
	m = readlink(path, bs, sizeof(bs) - 1);
	if (n < 0 || m < 0) {
		test_msg("FAIL: A: reading its pid_for_children or %s: %m", path);
		return 1;
	}
	mine[n] = bs[m] = 0;
	if (strcmp(mine, bs)) {
		test_msg("FAIL: A's pid_for_children is %s, not B's pid namespace %s", mine, bs);
		return 1;
	}
	return 0;
}

/* A: unshares a pid namespace for its children, forks its init B. */
__attribute__((noreturn))
static void proc_a(void)
{
	struct self s;
	pid_t b;
	int bad;

	self_take(&s, "A", 2, "\t2");
	if (unshare(CLONE_NEWPID))
		fail_errno("unshare(CLONE_NEWPID)");
	b = fork();
	if (b < 0)
		fail_errno("fork B");
	if (b == 0)
		proc_b();
	if (b != 3)
		fail("setup: B is pid %d in the outer namespace, expected 3", b);
	for (int waited = 0; !sh->b_ready; waited += 10) {
		struct proc_stat st;

		if (waited >= READY_TIMEOUT_MS || proc_stat_read(b, &st) || st.state == 'Z')
			fail("setup: B (pid %d) did not get ready", b);
		msleep(10);
	}
	if (a_forks_into(b))
		fail("setup: A's children do not go to B's namespace");
	tree_send(getppid(), 0);
	test_wait_checkpoint();

	tree_forward(&b, 1);
	bad = self_check(&s);
	bad += a_forks_into(b);
	bad += tree_collect(&b, 1);
	_exit(bad ? 1 : 0);
}

int main(int argc, char **argv)
{
	struct self s;
	FILE *f;
	pid_t a;
	int bad;

	test_init(argc, argv);
	tree_init();
	if (getpid() != 1)
		fail("not pid 1 of a pid namespace (pid %d): run in the ns flavor", getpid());
	self_take(&s, "the root", 1, "\t1");
	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		fail_errno("mmap");
	/* ns-init's ip took pid 2: the next fork is pid 2 again. */
	f = fopen("/proc/sys/kernel/ns_last_pid", "w");
	if (!f || fprintf(f, "1") < 0 || fclose(f))
		fail_errno("writing 1 to /proc/sys/kernel/ns_last_pid");
	a = fork();
	if (a < 0)
		fail_errno("fork A");
	if (a == 0)
		proc_a();
	tree_recv(a);

	test_ready();
	test_wait_checkpoint();

	tree_forward(&a, 1);
	bad = self_check(&s);
	bad += tree_collect(&a, 1);
	tree_exit(bad);
}
