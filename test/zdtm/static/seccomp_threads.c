/*
 * Threads with seccomp filters of their own (each an EPERM filter of one
 * syscall), in process P, a child of the root:
 *   main: F1 (getppid), installed with TSYNC while T1 exists;
 *   T1:   F1, then F2 (getpgrp) of its own;
 *   T2:   cloned by main after that: F1, then F3 (getsid) of its own,
 *         installed with SECCOMP_FILTER_FLAG_LOG.
 * After the restore each thread is filtered as before, and not by the
 * others' filters. The root (unfiltered: ptrace reads no filters
 * otherwise) checks with PTRACE_SECCOMP_GET_METADATA that T2's newest
 * filter logs and F1 does not (index 0 is the oldest) (not in a user namespace, where reading
 * filters needs CAP_SYS_ADMIN of the host).
 */
#include <dirent.h>
#include <errno.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "zdtm.h"

static volatile int stage;		/* 1: F1 in; 2: T1's F2 in; 3: T2's F3 in; 4: go */
static volatile int bad;

static void wait_stage(int s)
{
	while (stage < s)
		sched_yield();
}

/* Thread @name is filtered as @want says: getppid, getpgrp, getsid. */
static int check(const char *name, const char *when, int ppid, int pgrp, int sid)
{
	int got[3] = { zdtm_seccomp_eperm_seen(SYS_getppid), zdtm_seccomp_eperm_seen(SYS_getpgrp), zdtm_seccomp_eperm_seen(SYS_getsid) };
	int want[3] = { ppid, pgrp, sid };
	static const char *const nr[3] = { "getppid", "getpgrp", "getsid" };
	int n = 0;

	for (int i = 0; i < 3; i++)
		if (got[i] != want[i]) {
			test_msg("FAIL: %s %s: %s is %sfiltered\n", name, when, nr[i], got[i] ? "" : "not ");
			n++;
		}
	return n;
}

static void *t1_main(void *arg)
{
	(void)arg;
	zdtm_thread_no_sigterm();
	prctl(PR_SET_NAME, "t1");
	wait_stage(1);
	if (zdtm_seccomp_eperm_flags(SYS_getpgrp, 0))
		fail_errno("T1: seccomp");
	bad += check("T1", "at setup", 1, 1, 0);
	stage = 2;
	wait_stage(4);
	bad += check("T1", "after restore", 1, 1, 0);
	return NULL;
}

static void *t2_main(void *arg)
{
	(void)arg;
	zdtm_thread_no_sigterm();
	prctl(PR_SET_NAME, "t2");
	if (zdtm_seccomp_eperm_flags(SYS_getsid, SECCOMP_FILTER_FLAG_LOG))
		fail_errno("T2: seccomp with LOG");
	bad += check("T2", "at setup", 1, 0, 1);
	stage = 3;
	wait_stage(4);
	bad += check("T2", "after restore", 1, 0, 1);
	return NULL;
}

static void p_main(void)
{
	pthread_t t1, t2;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		fail_errno("no_new_privs");
	if (pthread_create(&t1, NULL, t1_main, NULL))
		fail("pthread_create");
	if (zdtm_seccomp_eperm_flags(SYS_getppid, SECCOMP_FILTER_FLAG_TSYNC))
		fail_errno("seccomp with TSYNC");
	stage = 1;
	wait_stage(2);
	if (pthread_create(&t2, NULL, t2_main, NULL))
		fail("pthread_create");
	wait_stage(3);
	bad += check("main", "at setup", 1, 0, 0);
	tree_send(tree_root, 0);
	test_wait_checkpoint();
	stage = 4;
	if (pthread_join(t1, NULL) || pthread_join(t2, NULL))
		fail("pthread_join");
	bad += check("main", "after restore", 1, 0, 0);
	tree_exit(bad);
}

/* The tid of P's thread named @name. */
static pid_t find_thread(pid_t p, const char *name)
{
	char path[300], comm[32];
	struct dirent *de;
	pid_t tid = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", p);
	d = opendir(path);
	if (!d)
		fail_errno("opendir %s", path);
	while (!tid && (de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", p, de->d_name);
		f = fopen(path, "r");
		if (f && fgets(comm, sizeof(comm), f) && !strcmp(comm, name) )
			tid = atoi(de->d_name);
		if (f)
			fclose(f);
	}
	closedir(d);
	if (!tid)
		fail("no thread %s in pid %d", name, p);
	return tid;
}

/* T2's filters, oldest first: F1 does not log, F3 does. 0, or 1 after a FAIL message. */
static int check_log_flags(pid_t p)
{
	pid_t tid = find_thread(p, "t2\n");
	struct __ptrace_seccomp_metadata md[2] = { { .filter_off = 0 }, { .filter_off = 1 } };
	int ret = 0, st;

	if (ptrace(PTRACE_SEIZE, tid, 0, 0))
		fail_errno("PTRACE_SEIZE %d", tid);
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) || waitpid(tid, &st, __WALL) != tid)
		fail_errno("PTRACE_INTERRUPT %d", tid);
	for (int i = 0; i < 2 && ret >= 0; i++)
		if (ptrace(PTRACE_SECCOMP_GET_METADATA, tid, sizeof(md[i]), &md[i]) < 0)
			ret = errno == EACCES ? -1 : (test_msg("FAIL: GET_METADATA of T2's filter %d: %m\n", i), 1);
	if (ptrace(PTRACE_DETACH, tid, 0, 0))
		fail_errno("PTRACE_DETACH %d", tid);
	if (ret < 0) {
		test_msg("reading filters needs CAP_SYS_ADMIN of the host: LOG not checked\n");
		return 0;
	}
	if (!ret && ((md[0].flags & SECCOMP_FILTER_FLAG_LOG) || !(md[1].flags & SECCOMP_FILTER_FLAG_LOG))) {
		test_msg("FAIL: T2's filters have flags 0x%llx (oldest), 0x%llx; LOG only on the newest expected\n",
			 (unsigned long long)md[0].flags, (unsigned long long)md[1].flags);
		ret = 1;
	}
	return ret;
}

int main(int argc, char **argv)
{
	pid_t p;
	int nr_bad;

	test_init(argc, argv);
	tree_init();
	p = tree_fork(p_main);
	tree_recv(p);
	test_ready();
	test_wait_checkpoint();
	nr_bad = check_log_flags(p);
	tree_forward(&p, 1);
	nr_bad += tree_collect(&p, 1);
	tree_exit(nr_bad);
}
