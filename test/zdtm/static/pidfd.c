/*
 * pidfds of tasks of the tree: of a live child (pidfd_open, PIDFD_NONBLOCK),
 * of a child made with clone3(CLONE_PIDFD), of a zombie child (only in
 * pidfd_zombie.c, which includes this file: the fault suite wants every
 * task of its workloads alive), of a child
 * that exited and was reaped (moved to fd 42, not close-on-exec), and of
 * the task itself. After restore fdinfo names the same pids (-1 for the
 * reaped one), the flags are kept (the task's own pidfd is a
 * PIDFD_THREAD one, kernel 6.9), pidfd_send_signal() and
 * waitid(P_PIDFD) work, and the reaped one still reports its exit status
 * (PIDFD_GET_INFO with PIDFD_INFO_EXIT, kernel 6.15 and later).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sched.h>
#include "zdtm.h"

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK	O_NONBLOCK
#endif
#ifndef P_PIDFD
#define P_PIDFD		3
#endif
#define PIDFD_INFO_EXIT	(1ULL << 3)
#define PIDFD_THREAD	O_EXCL
#ifndef WITH_ZOMBIE
#define WITH_ZOMBIE	0
#endif
#define REAPED_FD	42
#define NR_FDS		5
#define ZOMBIE_CODE	5
#define REAPED_CODE	3

/* The kernel's struct pidfd_info up to exit_code (PIDFD_INFO_SIZE_VER0). */
struct pidfd_info_v0 {
	uint64_t mask, cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
};
#define PIDFD_GET_INFO	_IOWR(0xFF, 11, struct pidfd_info_v0)

static int pidfd_open(pid_t pid, unsigned flags)
{
	return syscall(SYS_pidfd_open, pid, flags);
}

/* A child that waits to be killed by the SIGTERM sent through its pidfd. */
static __attribute__((noreturn)) void sleep_forever(void)
{
	signal(SIGTERM, SIG_DFL);
	for (;;)
		pause();
}

static pid_t sleeper(void)
{
	pid_t pid = fork();

	if (pid < 0)
		fail_errno("fork");
	if (!pid)
		sleep_forever();
	return pid;
}

static pid_t exiter(int code)
{
	pid_t pid = fork();

	if (pid < 0)
		fail_errno("fork");
	if (!pid)
		_exit(code);
	return pid;
}

/* The "Pid:" of @fd's fdinfo. */
static long fdinfo_pid(int fd)
{
	char buf[1024], *p;

	fdinfo_read(fd, buf, sizeof(buf));
	p = strstr(buf, "\nPid:\t");
	if (!p)
		fail("fd %d: no Pid: in fdinfo:\n%s", fd, buf);
	return strtol(p + 6, NULL, 10);
}

/* The "NSpid:" line of @fd's fdinfo into @out. */
static void fdinfo_nspid(int fd, char *out, size_t len)
{
	fdinfo_lines(fd, "NSpid:", "\n", out, len);
	if (!out[0])
		fail("pidfd %d: no NSpid: in its fdinfo", fd);
}

static void check_pid(int fd, long want)
{
	long got = fdinfo_pid(fd);

	if (got != want)
		fail("pidfd %d names pid %ld, expected %ld", fd, got, want);
}

static void check_flags(int fd, int fl, int fdfl)
{
	int f = fcntl(fd, F_GETFL), d = fcntl(fd, F_GETFD);

	if (f < 0 || d < 0)
		fail_errno("fcntl of pidfd %d", fd);
	if ((f & O_NONBLOCK) != fl || (d & FD_CLOEXEC) != fdfl)
		fail("pidfd %d: status flags %#x, fd flags %#x; expected O_NONBLOCK %#x, FD_CLOEXEC %#x",
		     fd, f, d, fl, fdfl);
}

/* Sends SIGTERM through @fd and reaps its target through it: killed by SIGTERM. */
static void kill_and_wait(int fd, const char *what)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	siginfo_t si = { 0 };

	if (syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0))
		fail_errno("pidfd_send_signal to the %s", what);
	/* A PIDFD_NONBLOCK pidfd's waitid() says EAGAIN until the target has exited. */
	if (poll(&pfd, 1, 10000) != 1)
		fail_errno("poll of the %s's pidfd", what);
	if (waitid(P_PIDFD, fd, &si, WEXITED))
		fail_errno("waitid(P_PIDFD) of the %s", what);
	if (si.si_code != CLD_KILLED || si.si_status != SIGTERM)
		fail("the %s: code %d status %d, expected killed by SIGTERM", what, si.si_code, si.si_status);
}

int main(int argc, char **argv)
{
	struct clone_args ca = { .flags = CLONE_PIDFD, .exit_signal = SIGCHLD };
	struct pidfd_info_v0 info = { .mask = PIDFD_INFO_EXIT };
	int fd_a, fd_b = -1, fd_z, fd_r, fd_self, status;
	struct pollfd pfd;
	pid_t a, b, z, r;
	siginfo_t si = { 0 };
	int *fds[] = { &fd_a, &fd_b, &fd_z, &fd_r, &fd_self };
	char nspid[NR_FDS][128];

	test_init(argc, argv);
	a = sleeper();
	fd_a = pidfd_open(a, PIDFD_NONBLOCK);
	ca.pidfd = (uintptr_t)&fd_b;
	b = syscall(SYS_clone3, &ca, sizeof(ca));
	if (b < 0)
		fail_errno("clone3(CLONE_PIDFD)");
	if (!b)
		sleep_forever();
	z = WITH_ZOMBIE ? exiter(ZOMBIE_CODE) : getpid();
	fd_z = pidfd_open(z, 0);
	r = exiter(REAPED_CODE);
	fd_r = pidfd_open(r, 0);
	fd_self = pidfd_open(getpid(), PIDFD_THREAD);
	if (fd_a < 0 || fd_z < 0 || fd_r < 0 || fd_self < 0)
		fail_errno("pidfd_open");
	if (dup2(fd_r, REAPED_FD) != REAPED_FD)
		fail_errno("dup2");
	close(fd_r);
	fd_r = REAPED_FD;
	if (waitpid(r, &status, 0) != r)
		fail_errno("waitpid reaped child");
	/* The zombie is one once its pidfd polls readable. */
	pfd = (struct pollfd){ .fd = fd_z, .events = POLLIN };
	if (WITH_ZOMBIE && poll(&pfd, 1, 10000) != 1)
		fail_errno("poll of the zombie's pidfd");
	check_pid(fd_r, -1);
	for (int i = 0; i < NR_FDS; i++)
		fdinfo_nspid(*fds[i], nspid[i], sizeof(nspid[i]));

	test_ready();
	test_wait_checkpoint();

	for (int i = 0; i < NR_FDS; i++) {
		char now[128];

		fdinfo_nspid(*fds[i], now, sizeof(now));
		if (strcmp(now, nspid[i]))
			fail("pidfd %d: fdinfo says %s after restore, %s before", *fds[i], now, nspid[i]);
	}
	check_pid(fd_a, a);
	check_pid(fd_b, b);
	check_pid(fd_z, z);
	check_pid(fd_r, -1);
	check_pid(fd_self, getpid());
	check_flags(fd_a, O_NONBLOCK, FD_CLOEXEC);
	check_flags(fd_b, 0, FD_CLOEXEC);
	check_flags(fd_r, 0, 0);
	if (!(fcntl(fd_self, F_GETFL) & PIDFD_THREAD))
		fail("the task's own pidfd lost PIDFD_THREAD: flags %#x", fcntl(fd_self, F_GETFL));

	/* Alive: nothing to reap yet (a non-blocking pidfd would say EAGAIN without WNOHANG). */
	if (waitid(P_PIDFD, fd_b, &si, WEXITED | WNOHANG) || si.si_pid)
		fail("waitid(P_PIDFD, WNOHANG) of the live child: pid %d: %m", si.si_pid);
	kill_and_wait(fd_a, "pidfd_open()ed child");
	kill_and_wait(fd_b, "CLONE_PIDFD child");
	si.si_pid = 0;
	if (WITH_ZOMBIE && (waitid(P_PIDFD, fd_z, &si, WEXITED) || si.si_pid != z || si.si_code != CLD_EXITED ||
			    si.si_status != ZOMBIE_CODE))
		fail("waitid(P_PIDFD) of the zombie: pid %d code %d status %d: %m", si.si_pid, si.si_code,
		     si.si_status);

	if (waitid(P_PIDFD, fd_r, &si, WEXITED | WNOHANG) == 0 || errno != ECHILD)
		fail("waitid(P_PIDFD) of the reaped child: not ECHILD: %m");
	if (syscall(SYS_pidfd_send_signal, fd_r, 0, NULL, 0) == 0 || errno != ESRCH)
		fail("pidfd_send_signal to the reaped child: not ESRCH: %m");
	pfd = (struct pollfd){ .fd = fd_r, .events = POLLIN };
	if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLIN))
		fail("the reaped child's pidfd does not poll readable");
	if (ioctl(fd_r, PIDFD_GET_INFO, &info) == 0 && (info.mask & PIDFD_INFO_EXIT) &&
	    info.exit_code != REAPED_CODE << 8)
		fail("the reaped child's exit status is %#x, expected %#x", info.exit_code, REAPED_CODE << 8);
	if (syscall(SYS_pidfd_send_signal, fd_self, 0, NULL, 0))
		fail_errno("pidfd_send_signal(0) to itself");
	pass();
}
