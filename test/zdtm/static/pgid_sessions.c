/*
 * Process groups and sessions of a tree. The root is a session leader (the
 * runner's launcher did setsid) and a child subreaper:
 *
 *   root            session R, group R
 *   ├─ A            group A (setpgid(0, 0))
 *   │  └─ A1        group A
 *   ├─ B            group A, moved there by the root: a sibling's group
 *   ├─ C            new session C (setsid), group C
 *   │  ├─ C1        own group C1 inside session C
 *   │  └─ C2        group C
 *   ├─ D1           group D, whose leader D exited and was reaped: D1 and
 *   └─ D2           D2 were reparented to the root, the group has no leader
 *
 * Every process keeps pid, parent, group and session; the pid of D stays
 * free.
 */
#include <errno.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "zdtm.h"

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

/* Record the ids, check them against what the setup should have built. */
static void record(struct tree_ids *ids, pid_t ppid, pid_t pgid, pid_t sid)
{
	tree_ids_get(ids);
	if (ids->ppid != ppid || ids->pgid != pgid || ids->sid != sid)
		fail("setup: ppid/pgid/sid %d/%d/%d, expected %d/%d/%d",
		     ids->ppid, ids->pgid, ids->sid, ppid, pgid, sid);
}

static pid_t xfork(void)
{
	pid_t pid = fork();

	if (pid < 0)
		fail_errno("fork");
	return pid;
}

/* A member of the group of its parent; reports to its parent. */
__attribute__((noreturn))
static void member(void)
{
	struct tree_ids ids;

	record(&ids, getppid(), getpgid(getppid()), getsid(getppid()));
	tree_send(getppid(), 0);
	finish(&ids, NULL, 0);
}

__attribute__((noreturn))
static void proc_a(void)
{
	struct tree_ids ids;
	pid_t a1;

	if (setpgid(0, 0))
		fail_errno("setpgid A");
	record(&ids, tree_root, getpid(), tree_root);
	a1 = xfork();
	if (a1 == 0)
		member();
	tree_recv(a1);
	tree_send(getppid(), 0);
	finish(&ids, &a1, 1);
}

/* B waits until the root has moved it into group A. */
__attribute__((noreturn))
static void proc_b(pid_t a)
{
	struct tree_ids ids;

	tree_recv(tree_root);
	record(&ids, tree_root, a, tree_root);
	tree_send(tree_root, 0);
	finish(&ids, NULL, 0);
}

__attribute__((noreturn))
static void proc_c1(void)
{
	struct tree_ids ids;
	pid_t c = getppid();

	if (setpgid(0, 0))
		fail_errno("setpgid C1");
	record(&ids, c, getpid(), c);
	tree_send(c, 0);
	finish(&ids, NULL, 0);
}

__attribute__((noreturn))
static void proc_c(void)
{
	struct tree_ids ids;
	pid_t kids[2];

	if (setsid() < 0)
		fail_errno("setsid C");
	record(&ids, tree_root, getpid(), getpid());
	kids[0] = xfork();
	if (kids[0] == 0)
		proc_c1();
	tree_recv(kids[0]);
	kids[1] = xfork();
	if (kids[1] == 0)
		member();
	tree_recv(kids[1]);
	tree_send(tree_root, 0);
	finish(&ids, kids, 2);
}

/* D1, D2: set up only once the root has reaped D, i.e. once they are the
 * root's children. */
__attribute__((noreturn))
static void proc_d_member(pid_t d)
{
	struct tree_ids ids;

	tree_recv(tree_root);
	record(&ids, tree_root, d, tree_root);
	tree_send(tree_root, 0);
	finish(&ids, NULL, 0);
}

/* D makes group D, forks D1 and D2 into it, tells the root their pids and
 * exits. */
__attribute__((noreturn))
static void proc_d(void)
{
	pid_t d = getpid(), m;

	if (setpgid(0, 0))
		fail_errno("setpgid D");
	for (int i = 0; i < 2; i++) {
		m = xfork();
		if (m == 0)
			proc_d_member(d);
		tree_send(tree_root, m);
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	pid_t a, b, c, d, d1, d2, kids[5];
	struct tree_ids ids;
	int status = 0, reaper = 0, bad;

	test_init(argc, argv);
	tree_init();
	tree_ids_get(&ids);
	if (ids.sid != ids.pid || ids.pgid != ids.pid)
		fail("the root must be a session leader (sid %d, pgid %d, pid %d): run it under setsid",
		     ids.sid, ids.pgid, ids.pid);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		fail_errno("PR_SET_CHILD_SUBREAPER");

	a = xfork();
	if (a == 0)
		proc_a();
	tree_recv(a);

	b = xfork();
	if (b == 0)
		proc_b(a);
	if (setpgid(b, a))
		fail_errno("setpgid(B, A)");
	tree_send(b, 0);
	tree_recv(b);

	c = xfork();
	if (c == 0)
		proc_c();
	tree_recv(c);

	d = xfork();
	if (d == 0)
		proc_d();
	d1 = tree_recv(d);
	d2 = tree_recv(d);
	if (waitpid(d, &status, 0) != d || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("D did not exit cleanly (status %#x)", status);
	/* D is reaped: D1 and D2 are our children now. */
	tree_send(d1, 0);
	tree_send(d2, 0);
	tree_recv(d1);
	tree_recv(d2);

	test_ready();
	test_wait_checkpoint();

	kids[0] = a;
	kids[1] = b;
	kids[2] = c;
	kids[3] = d1;
	kids[4] = d2;
	tree_forward(kids, 5);
	bad = tree_ids_check(&ids);
	if (prctl(PR_GET_CHILD_SUBREAPER, &reaper) || reaper != 1) {
		test_msg("FAIL: child subreaper flag %d, expected 1", reaper);
		bad++;
	}
	if (kill(d, 0) == 0 || errno != ESRCH) {
		test_msg("FAIL: pid %d of the exited group leader D exists after restore", d);
		bad++;
	}
	bad += tree_collect(kids, 5);
	tree_exit(bad);
}
