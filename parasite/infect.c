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
#include "infect-priv.h"
#include "scm.h"
#include "infect-abi.h"
#include "asm/arch.h"
#include "asm/syscall.h"
#include "asm/tramp.h"

#define CMD_TIMEOUT_MS		60000	/* a blob silent this long is stuck */
#define POLL_SLICE_MS		100
#define MAX_CURE_STOPS		64	/* syscall stops of the parasite's way out */
/* A signal handler the task runs first makes syscalls of its own. */
#define MAX_SYSCALL_STOPS	4096

struct parasite_ctl {
	pid_t pid;
	struct infect_regs orig;
	uint64_t orig_sigmask;
	int mem_fd;			/* /proc/PID/mem */

	uint64_t place;			/* the trampoline's copy in the task */
	unsigned char *saved;		/* what was there before */
	bool placed;
	bool left;			/* the blob left by itself (could not connect) */

	uint64_t remote_base;		/* the shared area in the task */
	void *local_base;		/* and in cr */
	size_t area_size;
	size_t data_off, args_off;

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

static int mem_rw(struct parasite_ctl *ctl, bool write, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = write ? pwrite(ctl->mem_fd, buf, len, addr) : pread(ctl->mem_fd, buf, len, addr);

	if (n == (ssize_t)len)
		return 0;
	return ierrno(n < 0 ? -errno : -EIO, "pid %d: %s %zu bytes at 0x%lx", ctl->pid,
		      write ? "writing" : "reading", len, (unsigned long)addr);
}

uint64_t infect_remote_data(const struct parasite_ctl *ctl)
{
	return ctl->remote_base + ctl->data_off;
}

static void ctl_free(struct parasite_ctl *ctl)
{
	if (ctl->mem_fd >= 0)
		close(ctl->mem_fd);
	infect_regs_free(&ctl->orig);
	free(ctl->saved);
	free(ctl);
}

/*
 * The trampoline, filled with this thread's way back, goes to the place;
 * then the thread is parked at its restore entry. From here on, a task
 * let go by cr's death finds its own state again, whatever cr was doing.
 * Only then are its signals blocked: the restore puts the mask back.
 */
/* A hex field "KEY:\t%llx" of @buf (/proc/PID/status); 0 if absent. */
static unsigned long long status_hex(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);

	return p ? strtoull(p + strlen(key), NULL, 16) : 0;
}

/*
 * Whether a signal is pending for thread @tid that @blocked lets through
 * and that has a handler: the kernel runs that handler before the task's
 * own code, and it decides the fate of the syscall the task was in (a
 * task stopped by job control collects such signals). The process's
 * queue counts for the main thread, which the kernel offers it first.
 */
static bool handler_pending(pid_t tid, uint64_t blocked)
{
	char path[64], buf[4096];
	unsigned long long pnd;
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return false;	/* then as before: the syscall restarts */
	buf[n] = 0;
	pnd = status_hex(buf, "SigPnd:");
	if (strtol(strstr(buf, "Tgid:") ? strstr(buf, "Tgid:") + 5 : "0", NULL, 10) == tid)
		pnd |= status_hex(buf, "ShdPnd:");
	return pnd & ~blocked & status_hex(buf, "SigCgt:");
}

/*
 * Registers to put back: the syscall the task was in restarts, or, with
 * a handler about to run, returns -EINTR where the kernel would (its
 * SA_RESTART is not known here: -ERESTARTSYS restarts either way).
 */
static void fixup_restart(const struct parasite_ctl *ctl, struct user_regs *r)
{
	if (handler_pending(ctl->pid, ctl->orig_sigmask))
		arch_fixup_restart_handler(r, 1);
	else
		arch_fixup_restart(r, 1);
}

static int place_trampoline(struct parasite_ctl *ctl)
{
	_cleanup_free_ unsigned char *code = imalloc(ARCH_TRAMP_SIZE);
	struct infect_regs r = { .gpr = ctl->orig.gpr };
	int err;

	ctl->saved = imalloc(ARCH_TRAMP_SIZE);
	if (!code || !ctl->saved)
		return -ENOMEM;
	err = mem_rw(ctl, false, ctl->place, ctl->saved, ARCH_TRAMP_SIZE);
	if (err)
		return err;
	memcpy(code, arch_tramp_start, ARCH_TRAMP_SIZE);
	fixup_restart(ctl, &r.gpr);
	arch_tramp_fill(code, &r.gpr, ctl->orig_sigmask);
	err = mem_rw(ctl, true, ctl->place, code, ARCH_TRAMP_SIZE);
	if (err)
		return err;
	ctl->placed = true;

	r.gpr.ip = ctl->place + ARCH_TRAMP_OFF(arch_tramp_restore);
	r.gpr.orig_ax = (u64)-1;	/* the restore entry restarts what needs it */
	err = infect_set_regs(ctl->pid, &r);
	if (!err)
		err = infect_fault_at("infect-parked");
	if (!err)	/* nothing may interrupt the code we run in there */
		err = infect_set_sigmask(ctl->pid, ~0ULL);
	if (!err)
		err = infect_fault_at("infect-masked");
	return err;
}

int infect_prepare(pid_t pid, uint64_t place, struct parasite_ctl **ret_ctl)
{
	struct parasite_ctl *ctl = izalloc(sizeof(*ctl));
	char path[64];
	int ret;

	if (!ctl)
		return -ENOMEM;
	ctl->pid = pid;
	ctl->place = place;
	ctl->listen_fd = ctl->sock = -1;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	ctl->mem_fd = open(path, O_RDWR | O_CLOEXEC);
	if (ctl->mem_fd < 0) {
		ret = ierrno(-errno, "open %s", path);
		goto fail;
	}
	ret = infect_get_regs(pid, &ctl->orig);
	if (!ret && !arch_task_is_64bit(&ctl->orig.gpr))
		ret = ierrno(-EOPNOTSUPP, "pid %d: is a 32-bit process, which cr does not support", pid);
	if (!ret)
		ret = infect_get_sigmask(pid, &ctl->orig_sigmask);
	if (!ret)
		ret = place_trampoline(ctl);
	if (ret)
		goto fail;
	*ret_ctl = ctl;
	return 0;
fail:
	/* Whatever place_trampoline() changed, infect_cure() puts back. */
	if (ctl->placed)
		infect_cure(ctl);
	else
		ctl_free(ctl);
	return ret;
}

const struct infect_regs *infect_orig_regs(const struct parasite_ctl *ctl) { return &ctl->orig; }
uint64_t infect_orig_sigmask(const struct parasite_ctl *ctl) { return ctl->orig_sigmask; }
void *infect_data(struct parasite_ctl *ctl) { return (char *)ctl->local_base + ctl->data_off; }

/*
 * Runs one syscall at trampoline entry @entry with PTRACE_SYSCALL: stop at
 * entry, stop at exit, read rax. Stopping at the exit (not at a trap after
 * the instruction) lets the syscall unmap the code it was issued from.
 */
static int run_at(struct parasite_ctl *ctl, const unsigned char *entry, long nr, long *ret,
		  long a1, long a2, long a3, long a4, long a5, long a6)
{
	struct infect_regs r = { .gpr = ctl->orig.gpr };
	uint64_t ip = ctl->place + ARCH_TRAMP_OFF(entry);
	int err;

	r.gpr.ax = nr;
	r.gpr.di = a1; r.gpr.si = a2; r.gpr.dx = a3;
	r.gpr.r10 = a4; r.gpr.r8 = a5; r.gpr.r9 = a6;
	r.gpr.ip = ip;
	r.gpr.orig_ax = (u64)-1;
	err = infect_set_regs(ctl->pid, &r);
	if (!err)
		err = infect_fault_at("infect-syscall");
	if (!err)
		err = infect_run_to_syscall_exit(ctl->pid, nr, ip + ARCH_SYSCALL_INSN_LEN, MAX_SYSCALL_STOPS, ret);
	if (!err)
		idebug("pid %d: remote syscall %ld = %ld", ctl->pid, nr, *ret);
	return err;
}

int infect_syscall(struct parasite_ctl *ctl, long nr, long *ret,
		   long a1, long a2, long a3, long a4, long a5, long a6)
{
	return run_at(ctl, arch_tramp_sys, nr, ret, a1, a2, a3, a4, a5, a6);
}

/*
 * Maps the shared area in the task (anonymous MAP_SHARED: no fd to leave
 * behind) and here, through map_files. The mmap runs at the trampoline
 * entry that unmaps it again if the task is let go before cr took it.
 */
static int map_shared_area(struct parasite_ctl *ctl, size_t size)
{
	_cleanup_close_ int lfd = -EBADF;
	char path[96];
	long raddr;
	void *local;
	int err;

	err = run_at(ctl, arch_tramp_map, __NR_mmap, &raddr, 0, size, PROT_READ | PROT_WRITE | PROT_EXEC,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (err)
		return err;
	if (raddr < 0 && raddr > -4096)
		return ierrno((int)raddr, "pid %d: mmap inside the task failed", ctl->pid);
	ctl->remote_base = raddr;
	ctl->area_size = size;
	err = infect_fault_at("infect-mapped");
	if (err)
		return err;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", ctl->pid, (unsigned long)raddr,
		 (unsigned long)(raddr + size));
	lfd = open(path, O_RDWR | O_CLOEXEC);
	if (lfd < 0)
		return ierrno(-errno, "open %s", path);
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
static int wait_readable(struct parasite_ctl *ctl, int fd, const char *what,
			 const struct parasite_args *args)
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
		r = args ? __atomic_load_n(&args->conn_err, __ATOMIC_ACQUIRE) : 0;
		if (r) {
			/* It waits to be cured, as a parasite whose channel closed. */
			return ierrno(r, "pid %d: the parasite could not connect to cr (is cr in the task's network namespace?)",
				      ctl->pid);
		}
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

	err = wait_readable(ctl, ctl->listen_fd, "connecting",
			    (void *)((char *)ctl->local_base + ctl->args_off));
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
		      size_t entry_off, size_t data_size)
{
	size_t args_off = ALIGN_UP(blob_size, 64);
	size_t data_off = ALIGN_UP(args_off + sizeof(struct parasite_args), 64);
	size_t size = ALIGN_UP(data_off + data_size + PARASITE_STACK_SIZE, PAGE_SIZE);
	struct infect_rseq rs;
	struct parasite_args *args;
	struct infect_regs r = { .gpr = ctl->orig.gpr };
	int err;

	err = map_shared_area(ctl, size);
	if (err)
		return err;
	ctl->data_off = data_off;
	ctl->args_off = args_off;

	memcpy(ctl->local_base, blob, blob_size);
	args = (void *)((char *)ctl->local_base + args_off);
	args->data = ctl->remote_base + data_off;
	args->area_start = ctl->remote_base;
	args->area_size = size;
	args->tramp_sys = ctl->place + ARCH_TRAMP_OFF(arch_tramp_sys);
	err = infect_get_rseq(ctl->pid, &rs);
	if (err)
		return err;
	args->rseq_ptr = rs.ptr;
	args->rseq_size = rs.size;
	args->rseq_sig = rs.sig;

	err = listen_socket(ctl, args);
	if (err)
		return err;

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
	err = infect_fault_at("blob-started");
	return err ? err : accept_blob(ctl);
}

int infect_cmd_send(struct parasite_ctl *ctl, unsigned cmd, int fd)
{
	struct parasite_msg m = { .cmd = cmd };

	if (scm_send(ctl->sock, &m, sizeof(m), fd) != sizeof(m))
		return ierrno(-errno, "pid %d: sending command %u to the parasite", ctl->pid, cmd);
	return 0;
}

int infect_cmd_wait(struct parasite_ctl *ctl, unsigned cmd)
{
	struct parasite_msg m;
	ssize_t n;
	int err;

	err = wait_readable(ctl, ctl->sock, "waiting for a command's answer", NULL);
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

/*
 * A blob that could not connect left by itself: the trampoline put the
 * task back and it runs its own code (stopped now), with the area gone.
 * Its registers are its own again: the cure must not set them.
 */
static bool blob_has_left(struct parasite_ctl *ctl)
{
	struct infect_regs r;
	uint64_t ip;

	if (!__atomic_load_n(&((struct parasite_args *)((char *)ctl->local_base + ctl->args_off))->conn_err,
			     __ATOMIC_ACQUIRE) || infect_get_regs(ctl->pid, &r))
		return false;
	ip = r.gpr.ip;
	infect_regs_free(&r);
	if ((ip >= ctl->remote_base && ip < ctl->remote_base + ctl->area_size) ||
	    (ip >= ctl->place && ip < ctl->place + ARCH_TRAMP_SLOT * ARCH_TRAMP_SLOTS))
		return false;
	ctl->remote_base = 0;
	ctl->left = true;
	return true;
}

/*
 * The parasite leaves the way it would if cr had died: its socket closes,
 * it unmaps its area through the trampoline and would restore the task.
 * cr follows it syscall by syscall and takes the task over at the exit of
 * that munmap, so the restart block and the whole xstate stay as they
 * were. Returns 0 with the area gone, or -errno: then the caller unmaps
 * it itself (the parasite crashed or is stuck).
 */
static int finish_blob(struct parasite_ctl *ctl)
{
	uint64_t exit_ip = ctl->place + ARCH_TRAMP_OFF(arch_tramp_sys) + ARCH_SYSCALL_INSN_LEN;
	int status = 0, err;
	long ret;

	ctl->blob_running = false;
	if (ptrace(PTRACE_INTERRUPT, ctl->pid, 0, 0))
		return ierrno(-errno, "pid %d: PTRACE_INTERRUPT", ctl->pid);
	err = wait_stop(ctl->pid, &status);
	if (err)
		return err;
	if (!WIFSTOPPED(status) || (status >> 16) != PTRACE_EVENT_STOP)
		return ierrno(-EIO, "pid %d: the parasite stopped with signal %d", ctl->pid, WSTOPSIG(status));
	if (blob_has_left(ctl))
		return 0;
	err = infect_fault_at("cure-stopped");
	if (err)
		return err;
	/* The listener too: a parasite not accepted yet then sees a reset. */
	close(ctl->sock);
	close(ctl->listen_fd);
	ctl->sock = ctl->listen_fd = -1;
	err = infect_run_to_syscall_exit(ctl->pid, __NR_munmap, exit_ip, MAX_CURE_STOPS, &ret);
	if (!err && ret)
		err = ierrno((int)ret, "pid %d: the parasite could not unmap its area", ctl->pid);
	if (!err)
		ctl->remote_base = 0;
	return err ? err : infect_fault_at("cure-unmapped");
}

int infect_cure(struct parasite_ctl *ctl)
{
	struct infect_regs r;
	long ret;
	int err = 0, e;

	if (!ctl)
		return 0;
	if (ctl->blob_running && finish_blob(ctl))
		iwarn("pid %d: unmapping the parasite's area from cr", ctl->pid);
	if (ctl->sock >= 0)
		close(ctl->sock);
	if (ctl->listen_fd >= 0)
		close(ctl->listen_fd);
	if (ctl->remote_base) {
		e = infect_syscall(ctl, __NR_munmap, &ret, ctl->remote_base, ctl->area_size, 0, 0, 0, 0);
		if (e || ret)
			err = e ? e : ierrno((int)ret, "pid %d: unmapping the parasite", ctl->pid);
	}
	if (ctl->local_base)
		munmap(ctl->local_base, ctl->area_size);

	/*
	 * The mask before the registers: until these are back the task sits
	 * in the trampoline, which sets the mask again on its own.
	 */
	e = ctl->left ? 0 : infect_set_sigmask(ctl->pid, ctl->orig_sigmask);
	if (!err)
		err = e;
	infect_fault_at("cure-unmasked");	/* a cure goes on whatever happens */
	r = ctl->orig;
	fixup_restart(ctl, &r.gpr);
	e = ctl->left ? 0 : infect_set_regs(ctl->pid, &r);
	if (!err)
		err = e;
	infect_fault_at("cure-regs");
	/* The task runs its own code again: the trampoline's place can go back. */
	if (!e && ctl->placed) {
		e = mem_rw(ctl, true, ctl->place, ctl->saved, ARCH_TRAMP_SIZE);
		if (!err)
			err = e;
	}
	ctl_free(ctl);
	return err;
}
