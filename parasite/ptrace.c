/* Seizing, stopping and releasing tasks; signal state through ptrace. */
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdlib.h>
#include <sched.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>

#include "cleanup.h"
#include "infect.h"
#include "infect-priv.h"

#define PEEKSIGINFO_SHARED	1
#define SYSCALL_STOP_TIMEOUT_MS	10000
#define FAST_WAIT_US		2000
#define INTERRUPT_WAIT_MS	1000

/* The kernel's struct ptrace_peeksiginfo_args (glibc only declares it). */
struct peeksiginfo_args {
	uint64_t off;
	uint32_t flags;
	int32_t nr;
};

static int wait_stop_timeout(pid_t pid, int *ret_status, int timeout_ms);

int infect_seize(pid_t pid)
{
	int err = infect_seize_nowait(pid);

	return err ? err : infect_seize_wait(pid);
}

int infect_seize_nowait(pid_t pid)
{
	/*
	 * Seccomp filters would also judge the syscalls we run in the task;
	 * suspend them while it is ours (needs CAP_SYS_ADMIN; without it,
	 * seize plainly and hope the filter allows what we need).
	 */
	if (ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_SUSPEND_SECCOMP) &&
	    (errno != EPERM || ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACESYSGOOD))) {
		int err = -errno;

		if (err == -ESRCH)
			return ierrno(err, "pid %d: no such process", pid);
		if (err == -EPERM)
			return ierrno(err, "pid %d: cannot seize it (already traced, or not permitted)", pid);
		return ierrno(err, "pid %d: PTRACE_SEIZE failed", pid);
	}
	if (ptrace(PTRACE_INTERRUPT, pid, 0, 0)) {
		int err = ierrno(-errno, "pid %d: PTRACE_INTERRUPT failed", pid);
		ptrace(PTRACE_DETACH, pid, 0, 0);
		return err;
	}
	return 0;
}

int infect_seize_wait(pid_t pid)
{
	int status;

	/*
	 * Wait for the interrupt stop. A signal arriving first gives a
	 * signal-delivery stop: let it through (it is the task's) and wait
	 * again; the pending interrupt then stops the task.
	 */
	for (;;) {
		if (waitpid(pid, &status, __WALL) != pid)
			return ierrno(-errno, "pid %d: waiting for the seize stop", pid);
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return ierrno(-ESRCH, "pid %d: exited while being seized", pid);
		if (WIFSTOPPED(status) && (status >> 16) == PTRACE_EVENT_STOP)
			return 0;
		if (WIFSTOPPED(status)) {
			idebug("pid %d: passing signal %d through while seizing", pid, WSTOPSIG(status));
			if (ptrace(PTRACE_CONT, pid, 0, WSTOPSIG(status)))
				return ierrno(-errno, "pid %d: PTRACE_CONT", pid);
		}
	}
}

/*
 * A seized task in group stop (job control) reports its stops as
 * PTRACE_EVENT_STOP with the stop signal (SIGSTOP, SIGTSTP, ...) in
 * si_signo; an interrupt stop outside a group stop reports SIGTRAP
 * (ptrace(2), "group-stop" under PTRACE_SEIZE).
 */
int infect_stop_sig(pid_t pid, int *ret_sig)
{
	siginfo_t si = { 0 };

	if (ptrace(PTRACE_GETSIGINFO, pid, 0, &si))
		return ierrno(-errno, "pid %d: PTRACE_GETSIGINFO", pid);
	*ret_sig = (si.si_code >> 8) == PTRACE_EVENT_STOP && si.si_signo != SIGTRAP ? si.si_signo : 0;
	return 0;
}

#define JOIN_STOP_MAX_STOPS	64

int infect_join_group_stop(pid_t pid)
{
	int status, err, sig = 0;

	/*
	 * Signals dequeued on the way are passed on: a SIGSTOP that way
	 * starts the group stop; a thread the group stop is pending for
	 * (JOBCTL_STOP_PENDING) joins it as soon as it runs. Either reports
	 * PTRACE_EVENT_STOP with the stop signal, before any user code runs.
	 */
	for (unsigned stops = 0; stops < JOIN_STOP_MAX_STOPS; stops++) {
		if (ptrace(PTRACE_CONT, pid, 0, sig))
			return ierrno(-errno, "pid %d: PTRACE_CONT into the group stop", pid);
		err = wait_stop_timeout(pid, &status, SYSCALL_STOP_TIMEOUT_MS);
		if (err)
			return err;
		if (!WIFSTOPPED(status))
			return ierrno(-ESRCH, "pid %d: died (status 0x%x) on its way to the group stop", pid, status);
		if ((status >> 16) == PTRACE_EVENT_STOP) {
			if (WSTOPSIG(status) != SIGTRAP)
				return 0;
			sig = 0;
			continue;
		}
		sig = WSTOPSIG(status);
		idebug("pid %d: signal %d on its way to the group stop", pid, sig);
	}
	return ierrno(-EIO, "pid %d: not in a group stop within %u stops", pid, JOIN_STOP_MAX_STOPS);
}

int infect_detach(pid_t pid)
{
	if (ptrace(PTRACE_DETACH, pid, 0, 0))
		return ierrno(-errno, "pid %d: PTRACE_DETACH", pid);
	return 0;
}

int infect_get_sigmask(pid_t pid, uint64_t *ret_mask)
{
	uint64_t m;

	if (ptrace(PTRACE_GETSIGMASK, pid, sizeof(m), &m))
		return ierrno(-errno, "pid %d: PTRACE_GETSIGMASK", pid);
	*ret_mask = m;
	return 0;
}

int infect_set_sigmask(pid_t pid, uint64_t mask)
{
	if (ptrace(PTRACE_SETSIGMASK, pid, sizeof(mask), &mask))
		return ierrno(-errno, "pid %d: PTRACE_SETSIGMASK", pid);
	return 0;
}

#define SECCOMP_GET_FILTER_	0x420c
#define SECCOMP_GET_METADATA_	0x420d
#define BPF_INSN_SIZE		8	/* struct sock_filter */

struct seccomp_metadata_ {
	uint64_t filter_off;
	uint64_t flags;
};

int infect_seccomp_filter(pid_t pid, unsigned index, void **ret_insns, unsigned *ret_len,
			  uint64_t *ret_flags)
{
	struct seccomp_metadata_ md = { .filter_off = index };
	_cleanup_free_ void *buf = NULL;
	long n;

	n = ptrace(SECCOMP_GET_FILTER_, pid, index, NULL);
	if (n < 0) {
		/* ENOENT: past the last filter; EINVAL: not in filter mode at all */
		if (errno == ENOENT || errno == EINVAL)
			return 0;
		return ierrno(-errno, "pid %d: PTRACE_SECCOMP_GET_FILTER %u", pid, index);
	}
	buf = imalloc(n * BPF_INSN_SIZE);
	if (!buf)
		return -ENOMEM;
	if (ptrace(SECCOMP_GET_FILTER_, pid, index, buf) != n)
		return ierrno(-EIO, "pid %d: seccomp filter %u changed while read", pid, index);
	if (ptrace(SECCOMP_GET_METADATA_, pid, sizeof(md), &md) < 0)
		return ierrno(-errno, "pid %d: PTRACE_GET_SECCOMP_METADATA %u", pid, index);
	*ret_insns = TAKE_PTR(buf);
	*ret_len = n;
	*ret_flags = md.flags;
	return 1;
}

#define GET_RSEQ_CONFIGURATION	0x420f

struct rseq_configuration {
	uint64_t ptr;
	uint32_t size, sig, flags, pad;
};

int infect_get_rseq(pid_t pid, struct infect_rseq *ret)
{
	struct rseq_configuration c = { 0 };

	if (ptrace(GET_RSEQ_CONFIGURATION, pid, sizeof(c), &c) < 0)
		return ierrno(-errno, "pid %d: PTRACE_GET_RSEQ_CONFIGURATION", pid);
	ret->ptr = c.ptr;
	ret->size = c.size;
	ret->sig = c.sig;
	return 0;
}

#define SIGINFO_SIZE	128
#define PEEK_BATCH	32

int infect_peek_siginfo(pid_t pid, int shared, void **ret_infos, unsigned *ret_nr)
{
	_cleanup_free_ unsigned char *buf = NULL;
	unsigned nr = 0;

	for (;;) {
		struct peeksiginfo_args a = {
			.off = nr, .flags = shared ? PEEKSIGINFO_SHARED : 0, .nr = PEEK_BATCH,
		};
		unsigned char *nb = irealloc(buf, (size_t)(nr + PEEK_BATCH) * SIGINFO_SIZE);
		long n;

		if (!nb)
			return -ENOMEM;
		buf = nb;
		n = ptrace(PTRACE_PEEKSIGINFO, pid, &a, buf + (size_t)nr * SIGINFO_SIZE);
		if (n < 0)
			return ierrno(-errno, "pid %d: PTRACE_PEEKSIGINFO", pid);
		nr += n;
		if (n < PEEK_BATCH)
			break;
	}
	*ret_nr = nr;
	*ret_infos = TAKE_PTR(buf);
	return 0;
}

/* The kernel's struct ptrace_syscall_info, the parts we read (Linux 5.3+). */
#define PTRACE_GET_SYSCALL_INFO_	0x420e
#define SYSCALL_INFO_ENTRY		1
#define SYSCALL_INFO_EXIT		2
struct syscall_info {
	uint8_t op;
	uint8_t pad[3];
	uint32_t arch;
	uint64_t ip, sp;
	union {
		struct { uint64_t nr, args[6]; } entry;
		struct { int64_t rval; uint8_t is_error; } exit;
	};
};

/*
 * Waits for the next stop of @pid, at most @timeout_ms: a task that blocks
 * in a syscall instead of getting where we wait for it is interrupted,
 * -ETIMEDOUT.
 */
static int64_t now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/*
 * After a timeout: stops the thread again so the caller can detach it,
 * waiting INTERRUPT_WAIT_MS at most. Never a blocking wait: a thread in
 * do_exit may never stop nor become reapable, e.g. a pid namespace's
 * init waiting (zap_pid_ns_processes) for children that are zombies
 * still traced by us.
 */
static void interrupt_reap(pid_t pid, int *status)
{
	const struct timespec nap = { 0, 1000000 };

	if (ptrace(PTRACE_INTERRUPT, pid, 0, 0))
		return;
	for (int i = 0; i < INTERRUPT_WAIT_MS; i++) {
		if (waitpid(pid, status, __WALL | WNOHANG) != 0)
			return;
		nanosleep(&nap, NULL);
	}
}

static int wait_stop_timeout(pid_t pid, int *ret_status, int timeout_ms)
{
	const struct timespec nap = { 0, 1000000 };
	int64_t start = now_us(), waited;

	for (;;) {
		pid_t r = waitpid(pid, ret_status, __WALL | WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0)
			return ierrno(-errno, "pid %d: waitpid", pid);
		waited = now_us() - start;
		if (waited >= (int64_t)timeout_ms * 1000) {
			interrupt_reap(pid, ret_status);
			return ierrno(-ETIMEDOUT, "pid %d: did not get there within %d ms", pid, timeout_ms);
		}
		/*
		 * Stops come within microseconds: yield while they do (a sleep
		 * of any length costs the timer slack, 50 us), then back off.
		 */
		if (waited < FAST_WAIT_US)
			sched_yield();
		else
			nanosleep(&nap, NULL);
	}
}

/*
 * A stop that is not a syscall stop. A signal the task unblocked (a
 * restored task after its rt_sigreturn) is its own: it is delivered with
 * the next resume, its handler returning to where the task was. A signal
 * the task crashed with (in our code) is an error; so is anything else.
 */
static int pass_signal(pid_t pid, int status, int *ret_sig)
{
	siginfo_t si = { 0 };
	int sig = WSTOPSIG(status);

	if ((status >> 16) == PTRACE_EVENT_STOP) {
		*ret_sig = 0;
		return 0;
	}
	ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
	if (si.si_code > 0 && (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGTRAP || sig == SIGFPE))
		return ierrno(-EIO, "pid %d: crashed with signal %d (code %d, address %p)", pid, sig,
			      si.si_code, si.si_addr);
	idebug("pid %d: signal %d on the way, delivered now", pid, sig);
	*ret_sig = sig;
	return 0;
}

struct run_state {
	long entered;			/* the syscall it is in, -1: none seen */
	int sig;			/* to deliver with the next resume */
	unsigned stops;
};

/* One stop of @pid on its way to the exit of @nr (see below): 1 there, 0 to go on, or -errno. */
static int run_stop(pid_t pid, int status, long nr, uint64_t ip, struct run_state *s, long *ret)
{
	struct syscall_info info;

	if (!WIFSTOPPED(status))
		return ierrno(-ESRCH, "pid %d: died (status 0x%x)", pid, status);
	if (WSTOPSIG(status) != (SIGTRAP | 0x80))
		return pass_signal(pid, status, &s->sig);
	s->sig = 0;
	if (ptrace(PTRACE_GET_SYSCALL_INFO_, pid, sizeof(info), &info) <= 0)
		return ierrno(-errno, "pid %d: PTRACE_GET_SYSCALL_INFO", pid);
	if (info.op == SYSCALL_INFO_ENTRY)
		s->entered = (long)info.entry.nr;
	else if (info.op == SYSCALL_INFO_EXIT && s->entered == nr && (!ip || info.ip == ip)) {
		if (ret)
			*ret = info.exit.rval;
		return 1;
	}
	return 0;
}

int infect_run_to_syscall_exit(pid_t pid, long nr, uint64_t ip, unsigned max_stops, long *ret)
{
	struct run_state s = { .entered = -1 };
	int status, err;

	for (; s.stops < max_stops; s.stops++) {
		if (ptrace(PTRACE_SYSCALL, pid, 0, s.sig))
			return ierrno(-errno, "pid %d: PTRACE_SYSCALL", pid);
		err = wait_stop_timeout(pid, &status, SYSCALL_STOP_TIMEOUT_MS);
		if (!err)
			err = run_stop(pid, status, nr, ip, &s, ret);
		if (err)
			return err < 0 ? err : 0;
	}
	return ierrno(-EIO, "pid %d: no syscall %ld within %u stops", pid, nr, max_stops);
}

int infect_run_all_to_syscall_exit(const pid_t *tids, unsigned n, long nr, unsigned max_stops)
{
	const struct timespec nap = { 0, 1000000 };
	_cleanup_free_ struct run_state *st = imalloc(sizeof(*st) * (n ? n : 1));
	_cleanup_free_ bool *done = imalloc(sizeof(*done) * (n ? n : 1));
	int64_t last = now_us();
	unsigned left = n;

	if (!st || !done)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		st[i] = (struct run_state){ .entered = -1 };
		done[i] = false;
		if (ptrace(PTRACE_SYSCALL, tids[i], 0, 0))
			return ierrno(-errno, "pid %d: PTRACE_SYSCALL", tids[i]);
	}
	while (left) {
		bool moved = false;

		for (unsigned i = 0; i < n; i++) {
			int status, r;

			if (done[i])
				continue;
			r = waitpid(tids[i], &status, __WALL | WNOHANG);
			if (r < 0)
				return ierrno(-errno, "pid %d: waitpid", tids[i]);
			if (!r)
				continue;
			moved = true;
			r = run_stop(tids[i], status, nr, 0, &st[i], NULL);
			if (r < 0)
				return r;
			if (r) {
				done[i] = true;
				left--;
			} else if (++st[i].stops >= max_stops) {
				return ierrno(-EIO, "pid %d: no syscall %ld within %u stops", tids[i], nr, max_stops);
			} else if (ptrace(PTRACE_SYSCALL, tids[i], 0, st[i].sig)) {
				return ierrno(-errno, "pid %d: PTRACE_SYSCALL", tids[i]);
			}
		}
		if (moved)
			last = now_us();
		else if (now_us() - last >= (int64_t)SYSCALL_STOP_TIMEOUT_MS * 1000)
			return ierrno(-ETIMEDOUT, "%u of %u threads (pid %d first) did not get to syscall %ld within %d ms",
				      left, n, tids[0], nr, SYSCALL_STOP_TIMEOUT_MS);
		else
			nanosleep(&nap, NULL);
	}
	return 0;
}
