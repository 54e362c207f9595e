/*
 * cr check: try, for real, each kernel feature dump and restore rely on,
 * and print one line per feature. A probe that only looked at headers or
 * the kernel version would miss a seccomp filter, a missing capability or
 * a config option turned off; so every probe forks a child or makes the
 * call, and undoes what it did.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "asm/arch.h"
#include "cleanup.h"
#include "infect.h"
#include "proc-parse.h"
#include "compiler.h"
#include "cr.h"
#include "lazy.h"
#include "log.h"
#include "mem-track.h"

#define REASON_LEN	256

/* Each probe returns 0 or -errno and, on failure, says why in @why. */
typedef int (*probe_fn)(char *why, size_t len);

struct probe {
	const char *name;
	probe_fn fn;
	bool optional;		/* reported, but does not fail the check */
};

/* Formats the reason and evaluates to @err, so a probe can `return fail(...)`. */
#define fail(err, fmt, ...)						\
	({ snprintf(why, len, fmt, ##__VA_ARGS__); (err); })
#define fail_errno(err, what)						\
	({ int __e = (err); snprintf(why, len, "%s: %s", what, strerror(-__e)); __e; })

/* ---- helpers ---------------------------------------------------------- */

/* Kills and reaps a helper child; accepts 0 / -1 (nothing to do). */
static void kill_childp(pid_t *pid)
{
	if (*pid > 0) {
		int saved = errno;

		kill(*pid, SIGKILL);
		while (waitpid(*pid, NULL, __WALL) < 0 && errno == EINTR)
			;
		errno = saved;
	}
}
#define _cleanup_child_	_cleanup_(kill_childp)

static void munmap_pagep(void **p)
{
	if (*p && *p != MAP_FAILED)
		munmap(*p, PAGE_SIZE);
}
#define _cleanup_page_	_cleanup_(munmap_pagep)

static void *map_page(void)
{
	void *p = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int read_long_file(const char *path, long *ret)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	long v;

	if (!f)
		return -errno;
	if (fscanf(f, "%ld", &v) != 1)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* A child that waits to be killed, with SIGUSR1 pending and blocked. */
static int spawn_idle_child(pid_t *ret_pid)
{
	sigset_t block, old;
	pid_t pid;

	/* Block before fork so the child can't take SIGUSR1 before it blocks. */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &block, &old))
		return -errno;
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		return -errno;
	*ret_pid = pid;
	return 0;
}

/* ---- ptrace ----------------------------------------------------------- */

/*
 * Seizes and interrupts an idle child; on success *ret_pid is traced and
 * stopped in PTRACE_EVENT_STOP. The child is always left to the caller.
 */
static int seize_child(pid_t *ret_pid, char *why, size_t len)
{
	int status, ret;

	ret = spawn_idle_child(ret_pid);
	if (ret)
		return fail_errno(ret, "fork");
	/* A pending signal gives PEEKSIGINFO something to find. */
	if (kill(*ret_pid, SIGUSR1))
		return fail_errno(-errno, "kill");
	if (ptrace(PTRACE_SEIZE, *ret_pid, NULL, NULL))
		return fail_errno(-errno, "PTRACE_SEIZE");
	if (ptrace(PTRACE_INTERRUPT, *ret_pid, NULL, NULL))
		return fail_errno(-errno, "PTRACE_INTERRUPT");
	if (waitpid(*ret_pid, &status, __WALL) < 0)
		return fail_errno(-errno, "waitpid");
	if (!WIFSTOPPED(status) || (status >> 16) != PTRACE_EVENT_STOP)
		return fail(-EPROTO, "unexpected stop status %#x after PTRACE_INTERRUPT", status);
	return 0;
}

static int probe_ptrace_seize(char *why, size_t len)
{
	_cleanup_child_ pid_t pid = 0;

	return seize_child(&pid, why, len);
}

static int probe_ptrace_xstate(char *why, size_t len)
{
	_cleanup_child_ pid_t pid = 0;
	struct infect_regs regs;
	int ret;

	ret = seize_child(&pid, why, len);
	if (ret)
		return ret;
	ret = infect_get_regs(pid, &regs);
	if (ret)
		return fail(ret, "reading the register sets of a seized child");
	pr_info("ptrace xstate regset: %u bytes", regs.xsave_size);
	infect_regs_free(&regs);
	return 0;
}

static int probe_ptrace_siginfo(char *why, size_t len)
{
	struct __ptrace_peeksiginfo_args args = {
		.off = 0, .flags = PTRACE_PEEKSIGINFO_SHARED, .nr = 1,
	};
	_cleanup_child_ pid_t pid = 0;
	siginfo_t si;
	long n;
	int ret;

	ret = seize_child(&pid, why, len);
	if (ret)
		return ret;
	n = ptrace(PTRACE_PEEKSIGINFO, pid, &args, &si);
	if (n < 0)
		return fail_errno(-errno, "PTRACE_PEEKSIGINFO");
	if (n != 1 || si.si_signo != SIGUSR1)
		return fail(-EPROTO, "PTRACE_PEEKSIGINFO did not return the pending SIGUSR1");
	return 0;
}

static int probe_ptrace_sigmask(char *why, size_t len)
{
	_cleanup_child_ pid_t pid = 0;
	/* The kernel's sigset is 8 bytes on x86-64, not glibc's 128. */
	uint64_t mask, want;
	int ret;

	ret = seize_child(&pid, why, len);
	if (ret)
		return ret;
	if (ptrace(PTRACE_GETSIGMASK, pid, sizeof(mask), &mask))
		return fail_errno(-errno, "PTRACE_GETSIGMASK");
	if (!(mask & (1ULL << (SIGUSR1 - 1))))
		return fail(-EPROTO, "PTRACE_GETSIGMASK lost the blocked SIGUSR1");
	want = mask | (1ULL << (SIGUSR2 - 1));
	if (ptrace(PTRACE_SETSIGMASK, pid, sizeof(want), &want))
		return fail_errno(-errno, "PTRACE_SETSIGMASK");
	if (ptrace(PTRACE_GETSIGMASK, pid, sizeof(mask), &mask))
		return fail_errno(-errno, "PTRACE_GETSIGMASK");
	if (mask != want)
		return fail(-EPROTO, "PTRACE_SETSIGMASK did not take effect");
	return 0;
}

static int probe_ptrace_syscall_info(char *why, size_t len)
{
	_cleanup_child_ pid_t pid = 0;
	struct __ptrace_syscall_info info;
	long n;
	int ret;

	ret = seize_child(&pid, why, len);
	if (ret)
		return ret;
	n = ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof(info), &info);
	if (n < 0)
		return fail_errno(-errno, "PTRACE_GET_SYSCALL_INFO");
	if (n == 0)
		return fail(-EPROTO, "PTRACE_GET_SYSCALL_INFO returned nothing");
	return 0;
}

/* ---- clone3 with set_tid ---------------------------------------------- */

/* The kernel's struct clone_args up to set_tid_size (CLONE_ARGS_SIZE_VER1). */
struct cr_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal;
	uint64_t stack, stack_size, tls, set_tid, set_tid_size;
};
BUILD_BUG_ON(sizeof(struct cr_clone_args) != 80);

#define SET_TID_TRIES		5
#define SET_TID_DISTANCE	200	/* far enough ahead of ns_last_pid */
#define PID_RESERVED		300	/* the kernel wraps pids above this */

static int probe_clone3_set_tid(char *why, size_t len)
{
	long last, pid_max;
	int ret, i;

	ret = read_long_file("/proc/sys/kernel/ns_last_pid", &last);
	if (ret)
		return fail_errno(ret, "read /proc/sys/kernel/ns_last_pid");
	ret = read_long_file("/proc/sys/kernel/pid_max", &pid_max);
	if (ret)
		return fail_errno(ret, "read /proc/sys/kernel/pid_max");

	for (i = 0; i < SET_TID_TRIES; i++) {
		pid_t want = PID_RESERVED + (last + SET_TID_DISTANCE * (i + 1)) % (pid_max - PID_RESERVED);
		struct cr_clone_args args = {
			.exit_signal = SIGCHLD,
			.set_tid = (uintptr_t)&want,
			.set_tid_size = 1,
		};
		long child;

		child = syscall(SYS_clone3, &args, sizeof(args));
		if (child == 0)
			_exit(0);
		if (child < 0 && errno == EEXIST)
			continue;	/* somebody has that pid: try another */
		if (child < 0) {
			if (errno == EPERM)
				return fail(-EPERM, "clone3 set_tid: needs CAP_CHECKPOINT_RESTORE");
			return fail_errno(-errno, "clone3 set_tid");
		}
		while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
			;
		if (child != want)
			return fail(-EPROTO, "clone3 gave pid %ld, asked for %d", child, want);
		return 0;
	}
	return fail(-EEXIST, "%d candidate pids were all taken", SET_TID_TRIES);
}

/* ---- memory and pipes ------------------------------------------------- */

static int probe_memfd(char *why, size_t len)
{
	_cleanup_close_ int fd = memfd_create("cr-check", MFD_CLOEXEC);

	if (fd < 0)
		return fail_errno(-errno, "memfd_create");
	if (ftruncate(fd, PAGE_SIZE))
		return fail_errno(-errno, "ftruncate memfd");
	return 0;
}

/* Pages go target -> pipe (vmsplice) -> image file (splice), no copy. */
static int probe_vmsplice(char *why, size_t len)
{
	_cleanup_page_ void *page = map_page();
	_cleanup_free_ char *back = NULL;
	_cleanup_close_ int p0 = -EBADF, p1 = -EBADF, fd = -EBADF;
	char tmpl[] = "/tmp/cr-check-XXXXXX";
	struct iovec iov;
	loff_t off = 0;
	int p[2];

	if (!page)
		return fail_errno(-errno, "mmap");
	memset(page, 0x5a, PAGE_SIZE);
	back = malloc(PAGE_SIZE);
	if (!back)
		return fail(-ENOMEM, "out of memory");

	if (pipe2(p, O_CLOEXEC))
		return fail_errno(-errno, "pipe");
	p0 = p[0];
	p1 = p[1];
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd < 0)
		return fail_errno(-errno, "mkstemp in /tmp");
	unlink(tmpl);

	iov.iov_base = page;
	iov.iov_len = PAGE_SIZE;
	if (vmsplice(p1, &iov, 1, 0) != (ssize_t)PAGE_SIZE)
		return fail_errno(-errno, "vmsplice");
	if (splice(p0, NULL, fd, &off, PAGE_SIZE, 0) != (ssize_t)PAGE_SIZE)
		return fail_errno(-errno, "splice to a file");
	if (pread(fd, back, PAGE_SIZE, 0) != (ssize_t)PAGE_SIZE)
		return fail_errno(-errno, "read back");
	if (memcmp(back, page, PAGE_SIZE))
		return fail(-EPROTO, "spliced data differs");
	return 0;
}

static int probe_mm_map(char *why, size_t len)
{
	unsigned int size = 0;

	/* Asks for the struct size only: changes nothing in this process. */
	if (prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, &size, 0, 0))
		return fail_errno(-errno, "prctl(PR_SET_MM_MAP_SIZE)");
	if (size == 0)
		return fail(-EPROTO, "prctl(PR_SET_MM_MAP_SIZE) returned size 0");
	pr_info("prctl_mm_map is %u bytes", size);
	return 0;
}

static int probe_map_files(char *why, size_t len)
{
	_cleanup_closedir_ DIR *d = opendir("/proc/self/map_files");
	struct dirent *de;

	if (!d)
		return fail_errno(-errno, "open /proc/self/map_files");
	while ((de = readdir(d))) {
		_cleanup_close_ int fd = -EBADF;

		if (de->d_name[0] == '.')
			continue;
		/* Opening (not just listing) is what needs the capability. */
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return fail(-errno, "open /proc/self/map_files/%s: %s",
				    de->d_name, strerror(errno));
		return 0;
	}
	return fail(-ENOENT, "/proc/self/map_files is empty");
}

#define PM_PRESENT	(1ULL << 63)

static int probe_pagemap(char *why, size_t len)
{
	_cleanup_page_ void *page = map_page();
	_cleanup_close_ int fd = -EBADF;
	uint64_t entry;

	if (!page)
		return fail_errno(-errno, "mmap");
	*(volatile char *)page = 1;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail_errno(-errno, "open /proc/self/pagemap");
	if (pread(fd, &entry, sizeof(entry), ((uintptr_t)page / PAGE_SIZE) * sizeof(entry)) !=
	    sizeof(entry))
		return fail_errno(-errno, "read /proc/self/pagemap");
	if (!(entry & PM_PRESENT))
		return fail(-EPROTO, "a touched page is not reported present");
	return 0;
}

/* PAGEMAP_SCAN (Linux 6.7); Debian 12's headers predate it. */
struct cr_pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
struct cr_page_region {
	uint64_t start, end, categories;
};
#define CR_PAGEMAP_SCAN		_IOWR('f', 16, struct cr_pm_scan_arg)
#define CR_PAGE_IS_PRESENT	(1 << 3)

static int probe_pagemap_scan(char *why, size_t len)
{
	_cleanup_page_ void *page = map_page();
	_cleanup_close_ int fd = -EBADF;
	struct cr_page_region regs[4];
	struct cr_pm_scan_arg arg;
	int n;

	if (!page)
		return fail_errno(-errno, "mmap");
	*(volatile char *)page = 1;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail_errno(-errno, "open /proc/self/pagemap");
	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.start = (uintptr_t)page;
	arg.end = (uintptr_t)page + PAGE_SIZE;
	arg.vec = (uintptr_t)regs;
	arg.vec_len = ARRAY_SIZE(regs);
	arg.category_mask = CR_PAGE_IS_PRESENT;
	arg.return_mask = CR_PAGE_IS_PRESENT;
	n = ioctl(fd, CR_PAGEMAP_SCAN, &arg);
	if (n < 0)
		return fail_errno(-errno, "ioctl PAGEMAP_SCAN");
	if (n != 1 || regs[0].start != (uintptr_t)page)
		return fail(-EPROTO, "PAGEMAP_SCAN did not report the touched page");
	return 0;
}

/* Lazy restore (lazy.h); write tracking probes its own features (mem-track.c). */
static int probe_userfaultfd(char *why, size_t len)
{
	_cleanup_close_ int fd = -EBADF;
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };

	fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return fail_errno(-errno, "userfaultfd");
	if (ioctl(fd, UFFDIO_API, &api))
		return fail_errno(-errno, "UFFDIO_API");
	pr_info("userfaultfd features %#llx", (unsigned long long)api.features);
	return 0;
}

/* restore --lazy-pages: userfaultfd with the fork, remap, remove and unmap events. */
static int probe_lazy_pages(char *why, size_t len)
{
	return lazy_supported() ? 0 : fail(-EOPNOTSUPP, "userfaultfd lacks what lazy restore needs (see the log)");
}

/* ---- process state ---------------------------------------------------- */

#define CAP_BIT_SYS_ADMIN		21
#define CAP_BIT_CHECKPOINT_RESTORE	40

static int probe_caps(char *why, size_t len)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	uint64_t eff;

	if (!f)
		return fail_errno(-errno, "open /proc/self/status");
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "CapEff: %" SCNx64, &eff) != 1)
			continue;
		if (eff & (1ULL << CAP_BIT_CHECKPOINT_RESTORE))
			return 0;
		if (eff & (1ULL << CAP_BIT_SYS_ADMIN))
			return 0;
		return fail(-EPERM, "neither CAP_CHECKPOINT_RESTORE nor CAP_SYS_ADMIN is effective");
	}
	return fail(-EPROTO, "no CapEff line in /proc/self/status");
}

/*
 * Restore moves [vvar], [vvar_vclock] and [vdso] as one block, so all of
 * them must be found and their relative layout known.
 */
static int probe_vdso(char *why, size_t len)
{
	struct proc_maps maps = { 0 };
	unsigned long vdso = 0, vvar = 0, vclock = 0;
	int ret = proc_parse_maps(getpid(), &maps);

	if (ret)
		return fail(ret, "reading /proc/self/maps");
	for (unsigned i = 0; i < maps.nr; i++) {
		const char *name = maps.vmas[i].path;

		if (!name)
			continue;
		if (!strcmp(name, "[vdso]"))
			vdso = maps.vmas[i].start;
		else if (!strcmp(name, "[vvar]"))
			vvar = maps.vmas[i].start;
		else if (!strcmp(name, "[vvar_vclock]"))
			vclock = maps.vmas[i].start;
	}
	proc_maps_free(&maps);
	if (!vdso)
		return fail(-ENOENT, "no [vdso] in /proc/self/maps");
	if (!vvar)
		return fail(-ENOENT, "no [vvar] in /proc/self/maps");
	pr_info("vdso at %#lx, vvar at vdso%+ld, vvar_vclock %s%+ld", vdso,
		(long)(vvar - vdso), vclock ? "at vdso" : "absent", vclock ? (long)(vclock - vdso) : 0L);
	return 0;
}

/* ---- xsave ------------------------------------------------------------ */

static char xsave_info[512];

static int probe_xsave(char *why, size_t len)
{
	int ret = arch_cpu_describe(xsave_info, sizeof(xsave_info));

	if (ret)
		return fail(ret, "%s", xsave_info);
	return 0;
}

/* ---- the command ------------------------------------------------------ */

static const struct probe probes[] = {
	{ "capabilities",		probe_caps,			false },
	{ "ptrace seize+interrupt",	probe_ptrace_seize,		false },
	{ "ptrace xstate regset",	probe_ptrace_xstate,		false },
	{ "ptrace peeksiginfo",		probe_ptrace_siginfo,		false },
	{ "ptrace get/set sigmask",	probe_ptrace_sigmask,		false },
	{ "ptrace get_syscall_info",	probe_ptrace_syscall_info,	false },
	{ "clone3 set_tid",		probe_clone3_set_tid,		false },
	{ "memfd_create",		probe_memfd,			false },
	{ "vmsplice+splice",		probe_vmsplice,			false },
	{ "prctl PR_SET_MM_MAP",	probe_mm_map,			false },
	{ "/proc/PID/map_files",	probe_map_files,		false },
	{ "/proc/PID/pagemap",		probe_pagemap,			false },
	{ "vdso/vvar layout",		probe_vdso,			false },
	{ "xsave",			probe_xsave,			false },
	{ "PAGEMAP_SCAN (optional)",	probe_pagemap_scan,		true },
	{ "userfaultfd (optional)",	probe_userfaultfd,		true },
	{ "lazy pages (optional)",	probe_lazy_pages,		true },
};

static int probe_mem_track(char *why, size_t len)
{
	if (mem_track_method() != MEM_TRACK_NONE)
		return 0;
	snprintf(why, len, "no userfaultfd write-protect with PAGEMAP_SCAN");
	return -EOPNOTSUPP;
}

/* criu's `check --feature` names, for the probes a caller may ask about one by one. */
static const struct {
	const char *name;
	probe_fn fn;
} features[] = {
	{ "uffd", probe_userfaultfd },
	{ "uffd-noncoop", probe_lazy_pages },
	{ "lazy_pages", probe_lazy_pages },
	{ "lazy-pages", probe_lazy_pages },
	{ "mem_dirty_track", probe_mem_track },
};

int cr_check_feature(const char *name)
{
	char why[REASON_LEN] = "";

	for (unsigned i = 0; i < ARRAY_SIZE(features); i++) {
		int ret;

		if (strcmp(features[i].name, name))
			continue;
		ret = features[i].fn(why, sizeof(why));
		if (!ret) {
			printf("%s is supported\n", name);
			return 0;
		}
		printf("%s is NOT supported (%s)\n", name, why[0] ? why : strerror(-ret));
		fflush(stdout);
		return pr_errno(-EOPNOTSUPP, "feature %s is not supported", name);
	}
	return pr_errno(-EINVAL, "check --feature: unknown feature %s (known: uffd, uffd-noncoop, lazy_pages, "
			"mem_dirty_track)", name);
}

int cr_check(void)
{
	char why[REASON_LEN];
	unsigned i, missing = 0;

	for (i = 0; i < ARRAY_SIZE(probes); i++) {
		const struct probe *p = &probes[i];
		int ret;

		why[0] = '\0';
		ret = p->fn(why, sizeof(why));
		if (ret == 0 && p->fn == probe_xsave)
			printf("%s: ok (%s)\n", p->name, xsave_info);
		else if (ret == 0)
			printf("%s: ok\n", p->name);
		else
			printf("%s: missing (%s)\n", p->name, why[0] ? why : strerror(-ret));
		if (ret && !p->optional)
			missing++;
	}
	printf("memory write tracking (pre-dump --track-mem): %s; soft-dirty %s\n",
	       mem_track_method_name(mem_track_method()),
	       mem_track_soft_dirty() ? "present (not used: cr tracks with userfaultfd only)" : "absent");
	/* Results are on stdout; flush so they come before a final error. */
	fflush(stdout);

	if (missing) {
		pr_err("%u required kernel feature%s missing", missing,
		       missing == 1 ? " is" : "s are");
		return -ENOTSUP;
	}
	return 0;
}
