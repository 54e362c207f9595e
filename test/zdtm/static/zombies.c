/*
 * Zombies next to a live child. The root has three dead, unreaped
 * children: Z1 exited with status 42, Z2 was killed by SIGKILL, Z3 died of
 * its own SIGUSR2 (default action). Z1 also leads a process group whose
 * other member, the live child L, outlives it. After restore the zombies
 * are still zombies with the same parent, group and session, and waitpid
 * by pid returns their exact status; L keeps its ids.
 */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "zdtm.h"

#define Z1_STATUS	42

struct zombie {
	const char *name;
	pid_t pid;
	int code, status;	/* expected si_code and si_status */
	struct proc_stat st;
};

static pid_t xfork(void)
{
	pid_t pid = fork();

	if (pid < 0)
		fail_errno("fork");
	return pid;
}

/* Z1: leads its own group, exits when the root says so. */
__attribute__((noreturn))
static void proc_z1(void)
{
	if (setpgid(0, 0))
		fail_errno("setpgid Z1");
	tree_send(tree_root, 0);
	tree_recv(tree_root);
	_exit(Z1_STATUS);
}

__attribute__((noreturn))
static void proc_z2(void)
{
	for (;;)
		pause();
}

__attribute__((noreturn))
static void proc_z3(void)
{
	sigset_t set;

	signal(SIGUSR2, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(SIGUSR2);
	_exit(1);	/* not reached */
}

/* L: moved into Z1's group by the root, lives on. */
__attribute__((noreturn))
static void proc_l(pid_t z1)
{
	struct tree_ids ids;
	int bad;

	tree_recv(tree_root);
	tree_ids_get(&ids);
	if (ids.pgid != z1)
		fail("setup: L is in group %d, expected Z1's %d", ids.pgid, z1);
	tree_send(tree_root, 0);
	test_wait_checkpoint();
	bad = tree_ids_check(&ids);
	tree_exit(bad);
}

/* Block until the child is dead, without reaping it. */
static void wait_dead(struct zombie *z)
{
	siginfo_t si = { 0 };
	int r;

	do
		r = waitid(P_PID, z->pid, &si, WEXITED | WNOWAIT);
	while (r < 0 && errno == EINTR);
	if (r)
		fail_errno("waitid %s", z->name);
	if (si.si_code != z->code || si.si_status != z->status)
		fail("setup: %s died with code %d status %d, expected %d %d", z->name,
		     si.si_code, si.si_status, z->code, z->status);
	if (proc_stat_read(z->pid, &z->st) || z->st.state != 'Z')
		fail("setup: %s is not a zombie (state %c)", z->name, z->st.state);
}

static int check_zombie(const struct zombie *z)
{
	struct proc_stat st;
	int status;
	pid_t r;

	if (proc_stat_read(z->pid, &st)) {
		test_msg("FAIL: %s (pid %d) is gone after restore", z->name, z->pid);
		return 1;
	}
	if (st.state != 'Z') {
		test_msg("FAIL: %s (pid %d) is in state %c, not a zombie", z->name, z->pid, st.state);
		return 1;
	}
	if (st.ppid != z->st.ppid || st.pgrp != z->st.pgrp || st.session != z->st.session) {
		test_msg("FAIL: %s: ppid/pgrp/session %d/%d/%d, were %d/%d/%d", z->name,
			 st.ppid, st.pgrp, st.session, z->st.ppid, z->st.pgrp, z->st.session);
		return 1;
	}
	r = waitpid(z->pid, &status, WNOHANG);
	if (r != z->pid) {
		test_msg("FAIL: waitpid(%s, WNOHANG) returned %d: %m", z->name, r);
		return 1;
	}
	if (z->code == CLD_EXITED ? !WIFEXITED(status) || WEXITSTATUS(status) != z->status
				  : !WIFSIGNALED(status) || WTERMSIG(status) != z->status) {
		test_msg("FAIL: %s: wait status %#x, expected %s %d", z->name, status,
			 z->code == CLD_EXITED ? "exit" : "signal", z->status);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct zombie z[3] = {
		{ "Z1", 0, CLD_EXITED, Z1_STATUS, { 0 } },
		{ "Z2", 0, CLD_KILLED, SIGKILL, { 0 } },
		{ "Z3", 0, CLD_KILLED, SIGUSR2, { 0 } },
	};
	struct tree_ids ids;
	pid_t l;
	int bad;

	test_init(argc, argv);
	tree_init();
	tree_ids_get(&ids);

	z[0].pid = xfork();
	if (z[0].pid == 0)
		proc_z1();
	tree_recv(z[0].pid);
	l = xfork();
	if (l == 0)
		proc_l(z[0].pid);
	if (setpgid(l, z[0].pid))
		fail_errno("setpgid(L, Z1)");
	tree_send(l, 0);
	tree_recv(l);
	tree_send(z[0].pid, 0);		/* Z1 may exit now */

	z[1].pid = xfork();
	if (z[1].pid == 0)
		proc_z2();
	if (kill(z[1].pid, SIGKILL))
		fail_errno("kill Z2");
	z[2].pid = xfork();
	if (z[2].pid == 0)
		proc_z3();
	for (int i = 0; i < 3; i++)
		wait_dead(&z[i]);

	test_ready();
	test_wait_checkpoint();

	tree_forward(&l, 1);
	bad = tree_ids_check(&ids);
	for (int i = 0; i < 3; i++)
		bad += check_zombie(&z[i]);
	bad += tree_collect(&l, 1);
	tree_exit(bad);
}
