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
 *
 *   subreaper --pty OUTFILE PROG ARGS...
 *	Run PROG as a shell job on a new terminal: a "shell" leads the
 *	terminal's session and puts PROG in its own foreground group;
 *	what the terminal shows is appended to OUTFILE ("\r\n" as "\n").
 *	Exits with PROG's status as soon as PROG exits; the terminal (its
 *	copier and shell) lives on in the background while any other
 *	process of the session does (a tree PROG restored there).
 *
 *   subreaper --kill-after USEC SECS LOG PROG ARGS...
 *	For the fault suite (test/zdtm/fault): run PROG with stdout and
 *	stderr appended to LOG and SIGKILL it USEC microseconds after it
 *	was forked (USEC -1: never, only after SECS seconds, the timeout).
 *	Prints one line, times in microseconds since the fork:
 *	"killed T" (it died of our SIGKILL, sent at T), "exited RC T" or
 *	"signaled SIG T" (it ended by itself at T), "timeout T".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
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

/* Another process of session @sid exists. */
static int session_busy(pid_t sid)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int busy = 0;

	while (d && !busy && (de = readdir(d))) {
		pid_t pid = atoi(de->d_name);

		if (pid > 0 && pid != getpid() && getsid(pid) == sid)
			busy = 1;
	}
	if (d)
		closedir(d);
	return busy;
}

/* The session leader: PROG in the foreground, then wait for the session to empty. */
static void pty_shell(const char *slave, int status_fd, char **argv)
{
	int s, st = 0;
	pid_t job;

	setsid();
	s = open(slave, O_RDWR);	/* no O_NOCTTY: our controlling terminal */
	if (s < 0 || dup2(s, 0) < 0 || dup2(s, 1) < 0 || dup2(s, 2) < 0)
		_exit(127);
	if (s > 2)
		close(s);
	signal(SIGTTOU, SIG_IGN);
	job = fork();
	if (job == 0) {
		close(status_fd);
		setpgid(0, 0);
		tcsetpgrp(0, getpid());
		signal(SIGTTOU, SIG_DFL);
		execv(argv[0], argv);
		perror(argv[0]);
		_exit(127);
	}
	setpgid(job, job);
	tcsetpgrp(0, job);
	close(0);
	close(1);
	close(2);
	while (job > 0 && waitpid(job, &st, 0) < 0)
		;
	st = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (write(status_fd, &st, sizeof(st)) != sizeof(st))
		_exit(1);
	close(status_fd);
	while (session_busy(getpid()))
		usleep(20 * 1000);
	_exit(0);
}

/* Copies the master to @out, "\r\n" as "\n", until the slave side is closed for good. */
static void pty_copy(int m, int out, pid_t shell)
{
	char buf[4096], o[4096];
	int shell_gone = 0;

	for (;;) {
		struct pollfd p = { .fd = m, .events = POLLIN };
		ssize_t n;
		size_t k = 0;

		if (!shell_gone && waitpid(shell, NULL, WNOHANG) == shell)
			shell_gone = 1;
		if (poll(&p, 1, 50) <= 0 || !(p.revents & POLLIN)) {
			if (shell_gone)
				break;
			continue;
		}
		n = read(m, buf, sizeof(buf));
		if (n <= 0) {
			if (shell_gone)
				break;
			usleep(20 * 1000);
			continue;
		}
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != '\r')
				o[k++] = buf[i];
		if (write(out, o, k) != (ssize_t)k)
			break;
	}
}

static int pty_run(const char *outfile, char **argv)
{
	int out, m, p[2], st = 127;
	pid_t copier, shell;

	out = open(outfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (out < 0 || m < 0 || grantpt(m) || unlockpt(m) || pipe2(p, O_CLOEXEC)) {
		perror("pty");
		return 127;
	}
	copier = fork();
	if (copier == 0) {
		close(p[0]);
		shell = fork();
		if (shell == 0) {
			fcntl(p[1], F_SETFD, 0);
			pty_shell(ptsname(m), p[1], argv);
		}
		close(p[1]);
		pty_copy(m, out, shell);
		_exit(0);
	}
	close(p[1]);
	close(m);
	if (copier < 0 || read(p[0], &st, sizeof(st)) != sizeof(st))
		return 127;
	return st;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int kill_after(int64_t usec, int64_t secs, const char *log, char **argv)
{
	int64_t t0, deadline, killed_at = -1;
	int pidfd, st, out;
	pid_t pid;

	out = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (out < 0) {
		perror(log);
		return 2;
	}
	t0 = now_us();
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		if (dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(127);
		execv(argv[0], argv);
		perror(argv[0]);
		_exit(127);
	}
	/* A pidfd: poll() wakes us when PROG ends before its kill time, and
	 * the SIGKILL cannot hit a reused pid. */
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		perror("pidfd_open");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return 2;
	}
	deadline = t0 + (usec >= 0 && usec < secs * 1000000 ? usec : secs * 1000000);
	for (;;) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };
		int64_t left = deadline - now_us();
		struct timespec ts = { left / 1000000, left % 1000000 * 1000 };

		if (left <= 0) {
			syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
			killed_at = now_us() - t0;
			break;
		}
		if (ppoll(&p, 1, &ts, NULL) > 0)
			break;
	}
	while (waitpid(pid, &st, 0) < 0)
		;
	if (killed_at >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
		if (usec < 0 || usec >= secs * 1000000)
			printf("timeout %lld\n", (long long)killed_at);
		else
			printf("killed %lld\n", (long long)killed_at);
	} else if (WIFSIGNALED(st)) {
		printf("signaled %d %lld\n", WTERMSIG(st), (long long)(now_us() - t0));
	} else {
		printf("exited %d %lld\n", WEXITSTATUS(st), (long long)(now_us() - t0));
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 6 && !strcmp(argv[1], "--kill-after"))
		return kill_after(atoll(argv[2]), atoll(argv[3]), argv[4], argv + 5);
	if (argc >= 4 && !strcmp(argv[1], "--pty"))
		return pty_run(argv[2], argv + 3);
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
