/*
 * Seccomp filters installed with SECCOMP_FILTER_FLAG_TSYNC are one chain
 * that every thread shares, after restore too: the main thread installs
 * one (getppid fails with EPERM) with TSYNC while thread T exists; after
 * the restore T installs another (getpgrp fails) with TSYNC, which the
 * kernel does only if every other thread's chain is part of T's (the
 * same filters, not copies), and the main thread then has it too.
 */
#include <errno.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "zdtm.h"

static volatile int stage;		/* 1: main's filter in; 2: T checked it; 3: go; 4: T's in */
static volatile long t_tsync = -2;

static void wait_stage(int s)
{
	while (stage < s)
		sched_yield();
}

static void *t_main(void *arg)
{
	(void)arg;
	zdtm_thread_no_sigterm();
	wait_stage(1);
	if (!zdtm_seccomp_eperm_seen(SYS_getppid))
		fail("setup: thread T does not have the filter main installed with TSYNC");
	stage = 2;
	wait_stage(3);
	if (!zdtm_seccomp_eperm_seen(SYS_getppid))
		fail("T: getppid is no longer filtered after restore");
	t_tsync = zdtm_seccomp_eperm_flags(SYS_getpgrp, SECCOMP_FILTER_FLAG_TSYNC);
	stage = 4;
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;

	test_init(argc, argv);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		fail_errno("no_new_privs");
	if (pthread_create(&t, NULL, t_main, NULL))
		fail("pthread_create");
	if (zdtm_seccomp_eperm_flags(SYS_getppid, SECCOMP_FILTER_FLAG_TSYNC))
		fail_errno("seccomp with TSYNC");
	stage = 1;
	wait_stage(2);
	test_ready();
	test_wait_checkpoint();

	stage = 3;
	if (pthread_join(t, NULL))
		fail("pthread_join");
	if (t_tsync)
		fail("T's TSYNC install after restore failed: %ld (%s): the threads no longer share their filters",
		     t_tsync, t_tsync > 0 ? "a thread that could not sync" : "error");
	if (!zdtm_seccomp_eperm_seen(SYS_getppid))
		fail("main: getppid is no longer filtered after restore");
	if (!zdtm_seccomp_eperm_seen(SYS_getpgrp))
		fail("main: T's filter, installed with TSYNC, is not main's");
	pass();
}
