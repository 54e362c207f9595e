/*
 * Signal state survives: handlers with various SA_ flags and masks,
 * ignored signals, the blocked mask, and pending blocked signals queued
 * with a value. After restore every sigaction() matches, the mask matches,
 * sigpending() shows the queued signals, and unblocking them delivers each
 * with its si_value and sender.
 */
#include <string.h>
#include <unistd.h>
#include "zdtm.h"

#define RT_SIG		(SIGRTMIN + 1)
#define RT_VALUE	0x12345
#define USR1_VALUE	77

static volatile int got_usr1, got_rt, usr1_val, rt_val, usr1_code, rt_code;
static volatile pid_t usr1_pid, rt_pid;

static void usr1_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig; (void)uc;
	got_usr1++;
	usr1_val = si->si_value.sival_int;
	usr1_code = si->si_code;
	usr1_pid = si->si_pid;
}

static void rt_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig; (void)uc;
	got_rt++;
	rt_val = si->si_value.sival_int;
	rt_code = si->si_code;
	rt_pid = si->si_pid;
}

static void plain_handler(int sig)
{
	(void)sig;
}

static void set(int sig, void *handler, int flags, const int *mask_sigs)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	if (flags & SA_SIGINFO)
		sa.sa_sigaction = handler;
	else
		sa.sa_handler = handler;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	for (; mask_sigs && *mask_sigs; mask_sigs++)
		sigaddset(&sa.sa_mask, *mask_sigs);
	if (sigaction(sig, &sa, NULL))
		fail_errno("sigaction %d", sig);
}

static int same_set(const sigset_t *a, const sigset_t *b)
{
	for (int s = 1; s < NSIG; s++)
		if (sigismember(a, s) != sigismember(b, s))
			return 0;
	return 1;
}

/* SIGKILL/SIGSTOP have no action; glibc reserves 32..SIGRTMIN-1. */
static int skip_sig(int s)
{
	return s == SIGKILL || s == SIGSTOP || (s >= 32 && s < SIGRTMIN);
}

static void snapshot(struct sigaction *acts)
{
	for (int s = 1; s < NSIG; s++)
		if (!skip_sig(s) && sigaction(s, NULL, &acts[s]))
			fail_errno("sigaction get %d", s);
}

int main(int argc, char **argv)
{
	static struct sigaction before[NSIG], after[NSIG];
	sigset_t block, mask_before, mask_after, pending;
	union sigval v;

	test_init(argc, argv);

	set(SIGUSR1, usr1_handler, SA_SIGINFO | SA_RESTART, (int[]){ SIGUSR2, SIGHUP, 0 });
	set(SIGUSR2, plain_handler, SA_NODEFER | SA_RESETHAND, NULL);
	set(SIGHUP, plain_handler, SA_ONSTACK, (int[]){ SIGRTMAX, 0 });
	set(SIGCHLD, plain_handler, SA_NOCLDSTOP | SA_NOCLDWAIT | SA_RESTART, NULL);
	set(RT_SIG, rt_handler, SA_SIGINFO, (int[]){ SIGUSR1, SIGRTMIN + 5, 0 });
	set(SIGRTMAX - 1, plain_handler, 0, (int[]){ SIGINT, 0 });
	set(SIGINT, SIG_IGN, 0, NULL);
	set(SIGQUIT, SIG_IGN, 0, NULL);
	set(SIGPIPE, SIG_IGN, 0, NULL);
	set(SIGRTMIN + 3, SIG_IGN, 0, NULL);

	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, RT_SIG);
	sigaddset(&block, SIGWINCH);
	sigaddset(&block, SIGRTMAX);
	if (sigprocmask(SIG_BLOCK, &block, NULL))
		fail_errno("sigprocmask");

	v.sival_int = USR1_VALUE;
	if (sigqueue(getpid(), SIGUSR1, v))
		fail_errno("sigqueue SIGUSR1");
	v.sival_int = RT_VALUE;
	if (sigqueue(getpid(), RT_SIG, v))
		fail_errno("sigqueue rt");

	snapshot(before);
	sigprocmask(SIG_SETMASK, NULL, &mask_before);

	test_ready();
	test_wait_checkpoint();

	snapshot(after);
	sigprocmask(SIG_SETMASK, NULL, &mask_after);
	for (int s = 1; s < NSIG; s++) {
		if (skip_sig(s))
			continue;
		if (before[s].sa_handler != after[s].sa_handler)
			fail("signal %d: handler %p, expected %p", s,
			     (void *)after[s].sa_handler, (void *)before[s].sa_handler);
		if (before[s].sa_flags != after[s].sa_flags)
			fail("signal %d: flags %#x, expected %#x", s,
			     after[s].sa_flags, before[s].sa_flags);
		if (!same_set(&before[s].sa_mask, &after[s].sa_mask))
			fail("signal %d: sa_mask differs", s);
		if (before[s].sa_restorer != after[s].sa_restorer)
			fail("signal %d: sa_restorer %p, expected %p", s,
			     (void *)after[s].sa_restorer, (void *)before[s].sa_restorer);
	}
	if (!same_set(&mask_before, &mask_after))
		fail("blocked mask differs after restore");

	if (sigpending(&pending))
		fail_errno("sigpending");
	if (!sigismember(&pending, SIGUSR1) || !sigismember(&pending, RT_SIG))
		fail("pending signals lost: SIGUSR1 %d, SIGRTMIN+1 %d",
		     sigismember(&pending, SIGUSR1), sigismember(&pending, RT_SIG));
	if (got_usr1 || got_rt)
		fail("a blocked signal was delivered");

	if (sigprocmask(SIG_UNBLOCK, &block, NULL))
		fail_errno("sigprocmask unblock");
	if (got_usr1 != 1 || got_rt != 1)
		fail("after unblocking: SIGUSR1 delivered %d times, SIGRTMIN+1 %d times",
		     got_usr1, got_rt);
	if (usr1_val != USR1_VALUE || rt_val != RT_VALUE)
		fail("si_value: SIGUSR1 %d (want %d), SIGRTMIN+1 %#x (want %#x)",
		     usr1_val, USR1_VALUE, rt_val, RT_VALUE);
	if (usr1_code != SI_QUEUE || rt_code != SI_QUEUE)
		fail("si_code: SIGUSR1 %d, SIGRTMIN+1 %d, want SI_QUEUE", usr1_code, rt_code);
	if (usr1_pid != getpid() || rt_pid != getpid())
		fail("si_pid: %d / %d, want %d", usr1_pid, rt_pid, getpid());
	pass();
}
