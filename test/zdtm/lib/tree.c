/*
 * Helpers for tests made of a process tree: a handshake without fds,
 * SIGTERM forwarding, verdict collection and the ids every process checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zdtm.h"

#define RECV_TIMEOUT_MS	10000
#define RECV_TICK_MS	20
#define MAX_QUEUED	256

pid_t tree_root;

/* Messages taken from the signal queue while waiting for another sender. */
static struct {
	pid_t from;
	int value;
} queued[MAX_QUEUED];
static int nr_queued;

void tree_init(void)
{
	sigset_t set;

	tree_root = getpid();
	sigemptyset(&set);
	sigaddset(&set, TREE_SIG);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		fail_errno("block TREE_SIG");
}

pid_t tree_fork(void (*child)(void))
{
	pid_t pid = fork();

	if (pid < 0)
		fail_errno("fork");
	if (!pid) {
		child();
		fail("a child of the tree returned instead of ending with tree_exit()");
	}
	return pid;
}

void tree_send(pid_t to, int value)
{
	union sigval v = { .sival_int = value };

	if (sigqueue(to, TREE_SIG, v))
		fail_errno("sigqueue to %d", to);
}

static int take_queued(pid_t from, int *ret_value)
{
	for (int i = 0; i < nr_queued; i++) {
		if (queued[i].from != from)
			continue;
		*ret_value = queued[i].value;
		memmove(&queued[i], &queued[i + 1], (nr_queued - i - 1) * sizeof(queued[0]));
		nr_queued--;
		return 1;
	}
	return 0;
}

/* Take one pending TREE_SIG into the queue; 0 if none came within TS. */
static int pull_one(const struct timespec *ts)
{
	siginfo_t si;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, TREE_SIG);
	if (sigtimedwait(&set, &si, ts) != TREE_SIG)
		return 0;
	if (nr_queued == MAX_QUEUED)
		fail("tree: more than %d messages queued", MAX_QUEUED);
	queued[nr_queued].from = si.si_pid;
	queued[nr_queued].value = si.si_value.sival_int;
	nr_queued++;
	return 1;
}

static int gone(pid_t pid)
{
	struct proc_stat st;

	return proc_stat_read(pid, &st) || st.state == 'Z' || st.state == 'X';
}

int tree_recv(pid_t from)
{
	const struct timespec tick = { 0, RECV_TICK_MS * 1000000L }, zero = { 0, 0 };
	int value;

	for (int waited = 0;; waited += RECV_TICK_MS) {
		if (take_queued(from, &value))
			return value;
		if (pull_one(&tick))
			continue;
		if (gone(from)) {
			/* It may have sent just before it died. */
			while (pull_one(&zero))
				;
			if (take_queued(from, &value))
				return value;
			fail("pid %d is gone without reporting", from);
		}
		if (waited >= RECV_TIMEOUT_MS)
			fail("no report from pid %d in %d ms", from, RECV_TIMEOUT_MS);
	}
}

void tree_forward(const pid_t *kids, int nr)
{
	for (int i = 0; i < nr; i++)
		if (kill(kids[i], SIGTERM))
			test_msg("forwarding SIGTERM to %d: %m", kids[i]);
}

int tree_collect(const pid_t *kids, int nr)
{
	int bad = 0;

	for (int i = 0; i < nr; i++) {
		int status;
		pid_t r;

		do
			r = waitpid(kids[i], &status, 0);
		while (r < 0 && errno == EINTR);
		if (r != kids[i]) {
			test_msg("FAIL: waitpid(%d): %m", kids[i]);
			bad++;
		} else if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			test_msg("FAIL: child %d ended with status %#x", kids[i], status);
			bad++;
		}
	}
	return bad;
}

void tree_exit(int nr_bad)
{
	if (getpid() != tree_root)
		_exit(nr_bad ? 1 : 0);
	if (nr_bad)
		fail("%d check(s) failed in the tree, see above", nr_bad);
	pass();
}

void tree_ids_get(struct tree_ids *ids)
{
	ids->pid = getpid();
	ids->ppid = getppid();
	ids->pgid = getpgid(0);
	ids->sid = getsid(0);
	ids->root_pgid = getpgid(tree_root);
	ids->root_sid = getsid(tree_root);
}

static int tree_ids_compare(const struct tree_ids *before, const struct tree_ids *now_ids)
{
	struct tree_ids now = *now_ids;
	int bad = 0;

	if (now.pid != before->pid) {
		test_msg("FAIL: getpid() %d, was %d", now.pid, before->pid);
		bad++;
	}
	if (before->pid != tree_root && now.ppid != before->ppid) {
		test_msg("FAIL: getppid() %d, was %d", now.ppid, before->ppid);
		bad++;
	}
	if (now.pgid != before->pgid) {
		test_msg("FAIL: pgid %d, was %d", now.pgid, before->pgid);
		bad++;
	}
	if (now.sid != before->sid) {
		test_msg("FAIL: sid %d, was %d", now.sid, before->sid);
		bad++;
	}
	return bad;
}

int tree_ids_check(const struct tree_ids *before)
{
	struct tree_ids now, was = *before;

	tree_ids_get(&now);
	/*
	 * Started from a shell (ZDTM_KEEP_SESSION): the root led neither its
	 * group nor its session, and the restored tree joins the restoring
	 * cr's. Who shared the root's must share the root's new ones.
	 */
	if (getenv("ZDTM_KEEP_SESSION")) {
		if (was.pgid == was.root_pgid)
			was.pgid = now.root_pgid;
		if (was.sid == was.root_sid)
			was.sid = now.root_sid;
	}
	return tree_ids_compare(&was, &now);
}

int proc_stat_read(pid_t pid, struct proc_stat *ret_st)
{
	char path[64], buf[512], *p;
	int fd, n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	/* comm may hold spaces and parentheses: the last ')' ends it. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %d %d %d", &ret_st->state, &ret_st->ppid,
			 &ret_st->pgrp, &ret_st->session) != 4)
		return -EINVAL;
	return 0;
}
