/*
 * A seccomp filter that hands a syscall to a user-space listener
 * (SECCOMP_RET_USER_NOTIF, installed with SECCOMP_FILTER_FLAG_NEW_LISTENER)
 * cannot be dumped: neither the listener's supervisor nor notifications in
 * flight would come back. The dump is refused, naming the listener, and
 * the process then still has its filter and its listener fd.
 * zdtm: refused: listener
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "zdtm.h"

#define NOTIFIED_PERSONALITY	0xbad

int main(int argc, char **argv)
{
	struct sock_filter notify[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_personality, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NOTIFIED_PERSONALITY, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	long fd;

	test_init(argc, argv);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		fail_errno("no_new_privs");
	fd = zdtm_seccomp_try(notify, sizeof(notify) / sizeof(notify[0]), SECCOMP_FILTER_FLAG_NEW_LISTENER);
	if (fd < 0)
		fail_errno("seccomp with NEW_LISTENER");
	test_ready();
	test_wait_checkpoint();
	if (prctl(PR_GET_SECCOMP) != 2)
		fail("seccomp mode is %d after the checkpoint, expected 2 (filter)", prctl(PR_GET_SECCOMP));
	if (fcntl((int)fd, F_GETFD) < 0)
		fail_errno("the listener fd %ld is gone", fd);
	pass();
}
