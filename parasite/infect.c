/*
 * Running code inside a seized task: remote syscalls, the shared area
 * with the blob, the command channel, and the cure that undoes it all.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "infect.h"
#include "infect-log.h"
#include "parasite-abi.h"
#include "asm/arch.h"
#include "asm/syscall.h"

#define CMD_TIMEOUT_MS		60000	/* a blob silent this long is stuck */
#define POLL_SLICE_MS		200

struct parasite_ctl {
	pid_t pid;
	struct infect_regs orig;
	uint64_t orig_sigmask;

	uint64_t code_addr;		/* where we poke a syscall instruction */
	uint64_t saved_code;		/* original word at code_addr */
	bool code_poked;
	uint64_t syscall_ip;		/* a syscall instruction in the task */

	uint64_t remote_base;		/* the shared area in the task */
	void *local_base;		/* and in cr */
	size_t area_size;
	size_t data_off;

	int listen_fd, sock;
	bool blob_running;
};

static int wait_stop(pid_t pid, int *ret_status)
{
	int status;

	if (waitpid(pid, &status, __WALL) != pid)
		return ierrno(-errno, "pid %d: waitpid", pid);
	if (WIFEXITED(status))
		return ierrno(-ESRCH, "pid %d: exited with %d while we worked in it", pid, WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return ierrno(-ESRCH, "pid %d: killed by signal %d while we worked in it", pid, WTERMSIG(status));
	*ret_status = status;
	return 0;
}

int infect_prepare(pid_t pid, uint64_t code_addr, struct parasite_ctl **ret_ctl)
{
	_cleanup_free_ struct parasite_ctl *ctl = xzalloc(sizeof(*ctl));
	int ret;

	if (!ctl)
		return -ENOMEM;
	ctl->pid = pid;
	ctl->code_addr = code_addr;
	ctl->syscall_ip = code_addr;
	ctl->listen_fd = ctl->sock = -1;

	ret = infect_get_regs(pid, &ctl->orig);
	if (ret)
		return ret;
	if (ctl->orig.gpr.cs != USER_CS_64) {
		infect_regs_free(&ctl->orig);
		return ierrno(-EOPNOTSUPP, "pid %d: is a 32-bit process, which cr does not support", pid);
	}
	ret = infect_get_sigmask(pid, &ctl->orig_sigmask);
	if (!ret)	/* nothing may interrupt the code we run in there */
		ret = infect_set_sigmask(pid, ~0ULL);
	if (ret) {
		infect_regs_free(&ctl->orig);
		return ret;
	}
	*ret_ctl = TAKE_PTR(ctl);
	return 0;
}

const struct infect_regs *infect_orig_regs(const struct parasite_ctl *ctl) { return &ctl->orig; }
uint64_t infect_orig_sigmask(const struct parasite_ctl *ctl) { return ctl->orig_sigmask; }
void *infect_data(struct parasite_ctl *ctl) { return (char *)ctl->local_base + ctl->data_off; }

/*
 * Runs one syscall at ctl->syscall_ip with PTRACE_SYSCALL: stop at entry,
 * stop at exit, read rax. Stopping at the exit (not at a trap after the
 * instruction) lets the syscall unmap the code it was issued from.
 */
int infect_syscall(struct parasite_ctl *ctl, long nr, long *ret,
		   long a1, long a2, long a3, long a4, long a5, long a6)
{
	struct infect_regs r = { .gpr = ctl->orig.gpr };
	pid_t pid = ctl->pid;
	int status, err, stops;

	r.gpr.ax = nr;
	r.gpr.di = a1; r.gpr.si = a2; r.gpr.dx = a3;
	r.gpr.r10 = a4; r.gpr.r8 = a5; r.gpr.r9 = a6;
	r.gpr.ip = ctl->syscall_ip;
	r.gpr.orig_ax = (u64)-1;
	err = infect_set_regs(pid, &r);
	if (err)
		return err;

	for (stops = 0; stops < 2; stops++) {
		if (ptrace(PTRACE_SYSCALL, pid, 0, 0))
			return ierrno(-errno, "pid %d: PTRACE_SYSCALL", pid);
		err = wait_stop(pid, &status);
		if (err)
			return err;
		if (!WIFSTOPPED(status) || WSTOPSIG(status) != (SIGTRAP | 0x80))
			return ierrno(-EIO, "pid %d: unexpected stop 0x%x running syscall %ld",
				      pid, status, nr);
	}
	err = infect_get_regs(pid, &r);
	if (err)
		return err;
	*ret = (long)r.gpr.ax;
	infect_regs_free(&r);
	idebug("pid %d: remote syscall %ld = %ld", pid, nr, *ret);
	return 0;
}

static int poke_code(struct parasite_ctl *ctl)
{
	/* "syscall" then the memfd name "crl" right behind it */
	static const unsigned char code[6] = { ARCH_SYSCALL_INSN, 'c', 'r', 'l', 0 };
	uint64_t word;

	errno = 0;
	word = ptrace(PTRACE_PEEKDATA, ctl->pid, ctl->code_addr, 0);
	if (errno)
		return ierrno(-errno, "pid %d: cannot read code at 0x%lx", ctl->pid, (long)ctl->code_addr);
	ctl->saved_code = word;
	memcpy(&word, code, sizeof(code));
	if (ptrace(PTRACE_POKEDATA, ctl->pid, ctl->code_addr, word))
		return ierrno(-errno, "pid %d: cannot write code at 0x%lx", ctl->pid, (long)ctl->code_addr);
	ctl->code_poked = true;
	return 0;
}

static int unpoke_code(struct parasite_ctl *ctl)
{
	if (!ctl->code_poked)
		return 0;
	if (ptrace(PTRACE_POKEDATA, ctl->pid, ctl->code_addr, ctl->saved_code))
		return ierrno(-errno, "pid %d: cannot put back the code at 0x%lx", ctl->pid,
			      (long)ctl->code_addr);
	ctl->code_poked = false;
	return 0;
}

int infect_poke_syscall(struct parasite_ctl *ctl)
{
	return ctl->code_poked ? 0 : poke_code(ctl);
}

static int remote_check(struct parasite_ctl *ctl, const char *what, long nr, long *ret,
			long a1, long a2, long a3, long a4, long a5, long a6)
{
	int err = infect_syscall(ctl, nr, ret, a1, a2, a3, a4, a5, a6);

	if (err)
		return err;
	if (*ret < 0 && *ret > -4096)
		return ierrno((int)*ret, "pid %d: %s inside the task failed", ctl->pid, what);
	return 0;
}

/* Creates a memfd in the task, maps it there and here. */
static int map_shared_area(struct parasite_ctl *ctl, size_t size)
{
	_cleanup_close_ int lfd = -EBADF;
	char path[64];
	long rfd, raddr, ignored;
	void *local;
	int err;

	err = poke_code(ctl);
	if (err)
		return err;
	err = remote_check(ctl, "memfd_create", __NR_memfd_create, &rfd,
			   ctl->code_addr + ARCH_SYSCALL_INSN_LEN, MFD_CLOEXEC, 0, 0, 0, 0);
	if (err)
		return err;

	snprintf(path, sizeof(path), "/proc/%d/fd/%ld", ctl->pid, rfd);
	lfd = open(path, O_RDWR | O_CLOEXEC);
	if (lfd < 0)
		err = ierrno(-errno, "open %s", path);
	else if (ftruncate(lfd, size))
		err = ierrno(-errno, "pid %d: sizing the shared area", ctl->pid);
	if (!err)
		err = remote_check(ctl, "mmap", __NR_mmap, &raddr, 0, size,
				   PROT_READ | PROT_WRITE | PROT_EXEC, MAP_SHARED, rfd, 0);
	/* The mapping keeps the memfd alive: drop the task's fd either way. */
	if (infect_syscall(ctl, __NR_close, &ignored, rfd, 0, 0, 0, 0, 0) && !err)
		err = -EIO;
	if (err)
		return err;
	ctl->remote_base = raddr;
	ctl->area_size = size;

	err = unpoke_code(ctl);
	if (err)
		return err;

	local = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, lfd, 0);
	if (local == MAP_FAILED)
		return ierrno(-errno, "mapping the shared area in cr");
	ctl->local_base = local;
	return 0;
}

static int listen_socket(struct parasite_ctl *ctl, struct parasite_args *args)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int len, fd;

	/* Abstract name, unique per cr and target: nothing to clean up. */
	len = snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1, "crl-parasite-%d-%d-%lx",
		       getpid(), ctl->pid, (long)ctl->remote_base) + 1;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ierrno(-errno, "parasite socket");
	if (bind(fd, (struct sockaddr *)&addr, offsetof(struct sockaddr_un, sun_path) + len) ||
	    listen(fd, 1)) {
		int err = ierrno(-errno, "parasite socket bind/listen");
		close(fd);
		return err;
	}
	ctl->listen_fd = fd;
	memcpy(args->sun_path, addr.sun_path, len);
	args->sun_len = len;
	return 0;
}

/*
 * Waits until @fd is readable, checking every slice that the task did
 * not stop (the blob crashed or was killed). Returns 0 or -errno.
 */
static int wait_readable(struct parasite_ctl *ctl, int fd, const char *what)
{
	int waited = 0;

	while (waited < CMD_TIMEOUT_MS) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int status, r = poll(&p, 1, POLL_SLICE_MS);

		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return ierrno(-errno, "poll");
		waited += POLL_SLICE_MS;
		r = waitpid(ctl->pid, &status, __WALL | WNOHANG);
		if (r == ctl->pid) {
			ctl->blob_running = false;
			if (WIFSTOPPED(status))
				return ierrno(-EIO, "pid %d: the parasite stopped with signal %d while %s",
					      ctl->pid, WSTOPSIG(status), what);
			return ierrno(-ESRCH, "pid %d: died while %s", ctl->pid, what);
		}
	}
	return ierrno(-ETIMEDOUT, "pid %d: no answer from the parasite while %s", ctl->pid, what);
}

static int accept_blob(struct parasite_ctl *ctl)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int err, fd;

	err = wait_readable(ctl, ctl->listen_fd, "connecting");
	if (err)
		return err;
	fd = accept4(ctl->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return ierrno(-errno, "accepting the parasite");
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || cred.pid != ctl->pid) {
		close(fd);
		return ierrno(-EPERM, "parasite socket: peer is not pid %d", ctl->pid);
	}
	ctl->sock = fd;
	return 0;
}

int infect_start_blob(struct parasite_ctl *ctl, const void *blob, size_t blob_size,
		      size_t entry_off, size_t syscall_off, size_t data_size)
{
	size_t args_off = ALIGN_UP(blob_size, 64);
	size_t frame_off = ALIGN_UP(args_off + sizeof(struct parasite_args), 64);
	size_t frame_size = ARCH_SIGFRAME_SIZE(ctl->orig.xsave_size);
	size_t data_off = ALIGN_UP(frame_off + frame_size, 64);
	size_t size = ALIGN_UP(data_off + data_size + PARASITE_STACK_SIZE, PAGE_SIZE);
	struct arch_stack no_ss = { .ss_flags = ARCH_SS_DISABLE };
	struct infect_rseq rs;
	struct parasite_args *args;
	uint64_t features;
	struct infect_regs r = { .gpr = ctl->orig.gpr };
	int err;

	err = map_shared_area(ctl, size);
	if (err)
		return err;
	ctl->syscall_ip = ctl->remote_base + syscall_off;
	ctl->data_off = data_off;

	memcpy(ctl->local_base, blob, blob_size);
	args = (void *)((char *)ctl->local_base + args_off);
	args->cure_frame = ctl->remote_base + frame_off;
	args->data = ctl->remote_base + data_off;
	err = infect_get_rseq(ctl->pid, &rs);
	if (err)
		return err;
	args->rseq_ptr = rs.ptr;
	args->rseq_size = rs.size;
	args->rseq_sig = rs.sig;

	/* The way back if cr dies: the original state, restart fixed up. */
	r.gpr.orig_ax = ctl->orig.gpr.orig_ax;
	arch_fixup_restart(&r.gpr, 1);
	features = arch_sigframe_xfeatures(ctl->orig.xsave, 0);
	arch_build_sigframe((char *)ctl->local_base + frame_off, args->cure_frame, &r.gpr,
			    ctl->orig.xsave, arch_xsave_user_size(features), features, ctl->orig_sigmask,
			    &no_ss);

	err = listen_socket(ctl, args);
	if (err)
		return err;

	r.gpr = ctl->orig.gpr;
	r.gpr.ip = ctl->remote_base + entry_off;
	r.gpr.sp = ctl->remote_base + size - 64;
	r.gpr.di = ctl->remote_base + args_off;
	r.gpr.orig_ax = (u64)-1;
	err = infect_set_regs(ctl->pid, &r);
	if (err)
		return err;
	if (ptrace(PTRACE_CONT, ctl->pid, 0, 0))
		return ierrno(-errno, "pid %d: starting the parasite", ctl->pid);
	ctl->blob_running = true;
	return accept_blob(ctl);
}

int infect_cmd_send(struct parasite_ctl *ctl, unsigned cmd, int fd)
{
	struct parasite_msg m = { .cmd = cmd };
	struct iovec iov = { &m, sizeof(m) };
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *c;

		h.msg_control = cbuf;
		h.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&h);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	if (sendmsg(ctl->sock, &h, MSG_NOSIGNAL) != sizeof(m))
		return ierrno(-errno, "pid %d: sending command %u to the parasite", ctl->pid, cmd);
	return 0;
}

int infect_cmd_wait(struct parasite_ctl *ctl, unsigned cmd)
{
	struct parasite_msg m;
	ssize_t n;
	int err;

	err = wait_readable(ctl, ctl->sock, "waiting for a command's answer");
	if (err)
		return err;
	n = recv(ctl->sock, &m, sizeof(m), 0);
	if (n != sizeof(m) || m.cmd != PARASITE_CMD_ACK)
		return ierrno(n < 0 ? -errno : -EIO, "pid %d: bad answer from the parasite", ctl->pid);
	if (m.ret)
		return ierrno(m.ret, "pid %d: parasite command %u failed", ctl->pid, cmd);
	return 0;
}

int infect_cmd(struct parasite_ctl *ctl, unsigned cmd, int fd)
{
	int err = infect_cmd_send(ctl, cmd, fd);

	return err ? err : infect_cmd_wait(ctl, cmd);
}

/* Brings a task that runs the blob (or ran off) back to a ptrace stop. */
static int stop_blob(struct parasite_ctl *ctl)
{
	int status, err;

	if (!ctl->blob_running)
		return 0;
	ctl->blob_running = false;
	if (ctl->sock >= 0 && !infect_cmd_send(ctl, PARASITE_CMD_FINI, -1)) {
		err = wait_stop(ctl->pid, &status);
		if (err)
			return err;
		if (WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP)
			return 0;
		iwarn("pid %d: parasite ended with stop 0x%x", ctl->pid, status);
		return 0;
	}
	if (ptrace(PTRACE_INTERRUPT, ctl->pid, 0, 0))
		return ierrno(-errno, "pid %d: PTRACE_INTERRUPT", ctl->pid);
	return wait_stop(ctl->pid, &status);
}

int infect_cure(struct parasite_ctl *ctl)
{
	struct infect_regs r;
	long ret;
	int err = 0, e;

	if (!ctl)
		return 0;
	if (ctl->sock >= 0)
		err = stop_blob(ctl);
	else if (ctl->blob_running)
		err = stop_blob(ctl);
	if (ctl->sock >= 0)
		close(ctl->sock);
	if (ctl->listen_fd >= 0)
		close(ctl->listen_fd);

	if (!err && ctl->remote_base) {
		e = infect_syscall(ctl, __NR_munmap, &ret, ctl->remote_base, ctl->area_size, 0, 0, 0, 0);
		if (e || ret)
			err = e ? e : ierrno((int)ret, "pid %d: unmapping the parasite", ctl->pid);
	}
	if (ctl->local_base)
		munmap(ctl->local_base, ctl->area_size);
	e = unpoke_code(ctl);
	if (!err)
		err = e;

	/* Back to the original state; a syscall it sat in restarts. */
	r = ctl->orig;
	arch_fixup_restart(&r.gpr, 1);
	e = infect_set_regs(ctl->pid, &r);
	if (!err)
		err = e;
	e = infect_set_sigmask(ctl->pid, ctl->orig_sigmask);
	if (!err)
		err = e;

	infect_regs_free(&ctl->orig);
	free(ctl);
	return err;
}
