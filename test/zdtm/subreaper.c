/*
 * Helper for the zdtm runner (test/zdtm/run), built by the runner itself.
 *
 *   subreaper SCRIPT ARGS...
 *	Become a child subreaper and exec bash on SCRIPT. Tests restored
 *	with `cr restore -d` get reparented to the nearest subreaper: with
 *	this, that is the runner, which reaps them (bash reaps every child),
 *	instead of PID 1, which here reaps only every second or two and
 *	leaves the PID taken meanwhile. The flag survives execve.
 *
 *   subreaper --launch OUTFILE PROG ARGS...
 *	Start a test the way the lib expects: own session, stdin /dev/null,
 *	stdout+stderr appended to OUTFILE, nothing but fds 0-2 open (an
 *	inherited fd whose other end is outside the test would be state cr
 *	cannot restore).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int launch(const char *outfile, char **argv)
{
	int in, out;

	/* ZDTM_KEEP_SESSION=1: stay in the runner's session and group, as a
	 * process started from a shell does. */
	if (!getenv("ZDTM_KEEP_SESSION") && setsid() < 0) {
		perror("setsid");
		return 127;
	}
	in = open("/dev/null", O_RDONLY);
	out = open(outfile, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (in < 0 || out < 0) {
		perror("open");
		return 127;
	}
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) {
		perror("dup2");
		return 127;
	}
	/* close_range() is 5.9+; this kernel has it. */
	if (syscall(SYS_close_range, 3U, ~0U, 0U)) {
		perror("close_range");
		return 127;
	}
	execv(argv[0], argv);
	perror(argv[0]);
	return 127;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "--launch"))
		return launch(argv[2], argv + 3);
	if (argc < 2) {
		fprintf(stderr, "usage: %s SCRIPT ARGS... | --launch OUTFILE PROG ARGS...\n",
			argv[0]);
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1)) {
		perror("PR_SET_CHILD_SUBREAPER");
		return 2;
	}
	/* Don't leak the caller's fds (a harness pipe) into bash and tests. */
	syscall(SYS_close_range, 3U, ~0U, 0U);
	setenv("ZDTM_SUBREAPER", "1", 1);
	argv[0] = "bash";
	execv("/bin/bash", argv);
	perror("/bin/bash");
	return 2;
}
