/* Seccomp filters the tests install (zdtm.h). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtm.h"

long zdtm_seccomp_try(struct sock_filter *insns, unsigned short len, unsigned flags)
{
	struct sock_fprog prog = { .len = len, .filter = insns };

	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

void zdtm_seccomp_install(struct sock_filter *insns, unsigned short len)
{
	if (zdtm_seccomp_try(insns, len, 0))
		fail_errno("seccomp");
}

long zdtm_seccomp_eperm_flags(int nr, unsigned flags)
{
	struct sock_filter eperm[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};

	return zdtm_seccomp_try(eperm, sizeof(eperm) / sizeof(eperm[0]), flags);
}

void zdtm_seccomp_eperm(int nr)
{
	if (zdtm_seccomp_eperm_flags(nr, 0))
		fail_errno("seccomp");
}

int zdtm_seccomp_eperm_seen(long nr)
{
	errno = 0;
	return syscall(nr) == -1 && errno == EPERM;
}

void zdtm_thread_no_sigterm(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}
