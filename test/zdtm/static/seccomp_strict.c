/*
 * A process in strict seccomp mode (only read, write, exit and
 * sigreturn allowed): the root's child C enters it and blocks in a read.
 * After the restore C is still in strict mode (its status says
 * "Seccomp: 1"), answers the root and exits on its own; a syscall the
 * restore left it making, or strict mode entered too early or not at
 * all, kills it or shows.
 */
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "zdtm.h"

int main(int argc, char **argv)
{
	int to_c[2], from_c[2], status;
	char c = 0, path[64], line[256] = "";
	pid_t pid;
	FILE *f;

	test_init(argc, argv);
	if (pipe(to_c) || pipe(from_c))
		fail_errno("pipe");
	pid = fork();
	if (pid < 0)
		fail_errno("fork");
	if (pid == 0) {
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT))
			_exit(2);
		/* From here only raw read, write and exit (not exit_group). */
		if (syscall(SYS_write, from_c[1], "s", 1) != 1 ||
		    syscall(SYS_read, to_c[0], &c, 1) != 1 || syscall(SYS_write, from_c[1], &c, 1) != 1)
			syscall(SYS_exit, 3);
		syscall(SYS_exit, 0);
	}
	if (read(from_c[0], &c, 1) != 1 || c != 's')
		fail("C did not enter strict mode");
	test_ready();
	test_wait_checkpoint();
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f) && strncmp(line, "Seccomp:", 8))
		;
	if (!f || strcmp(line, "Seccomp:\t1\n"))
		fail("C is not in strict mode after the checkpoint: %s", f ? line : "no status");
	fclose(f);
	if (write(to_c[1], "x", 1) != 1 || read(from_c[0], &c, 1) != 1 || c != 'x')
		fail("C in strict mode did not answer after the checkpoint");
	if (waitpid(pid, &status, 0) != pid)
		fail_errno("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("C in strict mode ended with status 0x%x", status);
	pass();
}
