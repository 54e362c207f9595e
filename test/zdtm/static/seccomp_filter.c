/*
 * A seccomp filter still works after restore: two stacked filters (one
 * making getppid fail with EPERM, one killing the process on a
 * personality(0xbad) call), with no_new_privs. The kill is checked in a
 * child forked after restore, which inherits the filters.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "zdtm.h"

#define BAD_PERSONALITY	0xbad

static void install_filters(void)
{
	struct sock_filter kill_personality[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_personality, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, BAD_PERSONALITY, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		fail_errno("no_new_privs");
	zdtm_seccomp_eperm(__NR_getppid);
	zdtm_seccomp_install(kill_personality, sizeof(kill_personality) / sizeof(kill_personality[0]));
}

int main(int argc, char **argv)
{
	int status;
	pid_t child;

	test_init(argc, argv);
	install_filters();
	if (syscall(SYS_getppid) != -1 || errno != EPERM)
		fail("setup: getppid not filtered");
	test_ready();
	test_wait_checkpoint();

	if (prctl(PR_GET_SECCOMP) != 2)
		fail("seccomp mode is %d after restore, expected 2 (filter)", prctl(PR_GET_SECCOMP));
	errno = 0;
	if (syscall(SYS_getppid) != -1 || errno != EPERM)
		fail("getppid is no longer filtered after restore");
	child = fork();
	if (child < 0)
		fail_errno("fork");
	if (child == 0) {
		syscall(SYS_personality, BAD_PERSONALITY);
		_exit(0);	/* reached only if the filter did not kill us */
	}
	if (waitpid(child, &status, 0) != child)
		fail_errno("waitpid");
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
		fail("the forbidden syscall did not kill the child (status %#x)", status);
	pass();
}
