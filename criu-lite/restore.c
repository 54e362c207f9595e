/*
 * cr restore: read and verify every image, then recreate the tree: each
 * task is cloned with its PID by its parent, sets up its session, group
 * and files, and jumps into the restorer blob, which rebuilds its memory
 * and state. When every task is ready cr releases them; a failure at any
 * step kills everything created.
 */
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "asm/arch.h"
#include "cleanup.h"
#include "core.h"
#include "cr.h"
#include "files.h"
#include "files-ghost.h"
#include "files-remap.h"
#include "guard.h"
#include "image.h"
#include "image-mac.h"
#include "infect.h"
#include "inventory.pb-c.h"
#include "lazy.h"
#include "log.h"
#include "pagez.h"
#include "mem.h"
#include "mem-cow.h"
#include "namespaces.h"
#include "netlock.h"
#include "open-file.h"
#include "proc-parse.h"
#include "pstree.h"
#include "restore.h"
#include "task-misc.h"
#include "shmem.h"
#include "progress.h"
#include "stats.h"
#include "restorer-abi.h"
#include "restorer-blob.h"

#define READY_TIMEOUT_MS	30000
#define POLL_MS			20
#define REAP_TIMEOUT_MS		5000
#define BARRIER_SLICE_MS	50
/* glibc registers its rseq area with the original 32-byte ABI length
 * even where __rseq_size reports the smaller feature size. */
#define RSEQ_REG_LEN		(__rseq_size > 32 ? __rseq_size : 32)

static const char *const step_names[RSTEP_MAX] = {
	[RSTEP_CHILD_SETUP] = "setting up the new process (namespaces, session, cwd, files)",
	[RSTEP_PARK_VDSO] = "moving the vdso aside",
	[RSTEP_UNMAP] = "unmapping cr's memory",
	[RSTEP_MAP_VMAS] = "mapping the dumped memory",
	[RSTEP_MADVISE] = "madvise() of the dumped memory",
	[RSTEP_READ_PAGES] = "reading pages",
	[RSTEP_PROTECT] = "setting memory protections",
	[RSTEP_MLOCK] = "mlock() of the dumped memory, or mlockall(MCL_FUTURE)",
	[RSTEP_MOVE_VDSO] = "moving the vdso into place",
	[RSTEP_MM_MAP] = "PR_SET_MM_MAP",
	[RSTEP_SIGACTIONS] = "signal actions",
	[RSTEP_ITIMERS] = "interval timers",
	[RSTEP_POSIX_TIMERS] = "POSIX timers (PR_TIMER_CREATE_RESTORE_IDS needs Linux 6.15)",
	[RSTEP_RLIMITS] = "resource limits",
	[RSTEP_TASK_MISC] = "personality and name",
	[RSTEP_SIGNALS] = "queueing pending signals",
	[RSTEP_TLS] = "TLS base registers",
	[RSTEP_RSEQ] = "registering rseq",
	[RSTEP_THREADS] = "creating the threads",
	[RSTEP_THREAD_STATE] = "per-thread state (name, robust list)",
	[RSTEP_CREDS] = "credentials (uids, gids, groups, capabilities)",
	[RSTEP_SECCOMP] = "installing seccomp filters",
	[RSTEP_WAIT] = "waiting to go live",
	[RSTEP_FILE_LOCKS] = "taking POSIX file locks",
	[RSTEP_GUARDS] = "installing guard pages (MADV_GUARD_INSTALL)",
	[RSTEP_AIO] = "making the AIO contexts again (io_setup)",
	[RSTEP_LAZY] = "registering the memory with userfaultfd for the lazy-pages daemon (--lazy-pages)",
};

enum { REP_NONE, REP_BORN, REP_FAILED };

/* What a task reports before its restorer runs (zombies and helpers never do). */
struct rst_report {
	uint32_t state;
	int err;
	uint32_t step;
	pid_t host_pid;			/* a tree in a pid namespace of its own: its pid in cr's */
	uint32_t files_placed;		/* futex: its fds are at their numbers (a shared table's owner) */
};

/*
 * A MAP_SHARED page every task inherits: the barriers that order group
 * changes across the tree, and the reports of the tasks' own setup.
 */
struct rst_shared {
	uint32_t nr_forked;		/* tasks past fork and setsid() */
	uint32_t nr_joined;		/* tasks in their final group */
	struct rst_report rep[];
};

struct page_verifier {
	pthread_t thread;
	bool started;
	int pages_fd;
	struct rst_task *tasks;
	unsigned nr;
	unsigned bad_task, bad_run;
	int ret;
};

struct restore_ctx {
	const struct cr_options *o;
	int dfd;
	InventoryEntry *inv;
	struct pstree tree;
	struct rst_task *tasks;		/* parallel to tree.tasks */
	struct img *pages;
	struct mem_parents *parents;	/* pre-copy: the images the dump's in_parent pages are in */
	struct shmem_table *shm;
	struct cow_plan *cow;		/* memory premapped for the children (mem-cow.h) */
	struct files_rst *files;
	struct ns_rst *ns;
	struct netlock *net_lock;	/* the dump's, in cr's net namespace (netlock.h) */
	struct rst_shared *sh;
	size_t sh_size;
	int keep_from, log_fd;
	int go_rd, go_wr;		/* the go pipe (restorer-abi.h) */
	int pidfile_fd;
	int lazy_sk;			/* --lazy-pages: to the daemon (lazy.h), or -1 */
	bool lazy_verify_all;		/* cr checks the lazy runs too (lazy_mark_runs()) */
	int host_proc;			/* a tree in a pid namespace of its own: cr's /proc, where tasks find their pids */
	bool pidfile_created;
	pid_t creator;			/* in a new task: who cloned it */
	bool forked;			/* the root was cloned */
	bool restored;			/* every task went live */
	struct page_verifier verifier;
};

static int read_one_image(int dfd, enum img_type type, unsigned id, enum pb_type pb, void **ret)
{
	_cleanup_img_ struct img *img = NULL;
	int err = img_open(dfd, type, id, O_RDONLY, &img);

	return err ? err : pb_read_one_required(img, ret, pb);
}

static int read_task_images(struct restore_ctx *r, struct rst_task *t)
{
	int err;

	err = read_one_image(r->dfd, IMG_CORE, t->pid, PB_CORE, (void **)&t->core);
	if (!err)
		err = read_one_image(r->dfd, IMG_MM, t->pid, PB_MM, (void **)&t->mm);
	if (!err)
		err = mem_prepare(r->dfd, t->pid, t->mm, r->pages->fd, r->shm, r->parents, &t->mem);
	if (!err && r->o->lazy_pages) {
		t->lazy = true;
		r->lazy_verify_all |= lazy_mark_runs(t->mm, &t->mem);
	}
	if (!err)
		err = files_prepare(r->files, t->pid, &t->files);
	if (err)
		return err;
	t->exe_fd = rst_open(t->mm->exe, O_RDONLY | O_CLOEXEC);
	if (t->exe_fd < 0)
		return pr_errno(-errno, "pid %d: executable %s", t->pid, t->mm->exe);
	return 0;
}

static int read_images(struct restore_ctx *r)
{
	int err;

	err = read_one_image(r->dfd, IMG_INVENTORY, 0, PB_INVENTORY, (void **)&r->inv);
	if (err)
		return err;
	if (r->inv->img_version != IMG_FORMAT_VERSION)
		return pr_errno(-EBADMSG, "inventory.img: image format version %u, this cr reads version %u",
				r->inv->img_version, IMG_FORMAT_VERSION);
	if (r->inv->has_pre_dump && r->inv->pre_dump)
		return pr_errno(-EINVAL, "%s is a pre-dump (memory only): restore the dump made with "
				"--prev-images-dir naming it", r->o->images_dir);
	if (r->inv->xfeatures & ~arch_xfeatures())
		return pr_errno(-EOPNOTSUPP, "inventory.img: dumped on a CPU with features 0x%llx, this one has 0x%llx",
				(unsigned long long)r->inv->xfeatures,
				(unsigned long long)arch_xfeatures());
	err = pstree_read(r->dfd, getsid(0), &r->tree);
	if (err)
		return err;
	if (r->tree.tasks[0].pid != (pid_t)r->inv->root_pid)
		return pr_errno(-EBADMSG, "pstree.img: root pid %d does not match inventory.img (%u)",
				r->tree.tasks[0].pid, r->inv->root_pid);
	/* In cr's own net namespace still, where the dump's lock is. */
	err = netlock_restore_read(r->o, r->inv, &r->net_lock);
	if (!err)
		err = pages_open(r->dfd, r->inv->pages_id, false, NULL, &r->pages);
	if (!err)
		err = mem_parents_open(r->dfd, r->inv, &r->parents);
	/* The lazy-pages daemon serves the dump's own page image only. */
	/* The daemon checks the runs it serves by their CRC32C only. */
	if (!err && r->o->lazy_pages && img_key_loaded())
		err = pr_errno(-EOPNOTSUPP, "--lazy-pages with --key-file: the lazy-pages daemon cannot check the "
			       "pages' MACs yet: restore signed images without --lazy-pages");
	if (!err && r->parents && r->o->lazy_pages)
		err = pr_errno(-EOPNOTSUPP, "--lazy-pages: the images are a pre-copy dump (pages in parent "
			       "images); lazy restore of those is not supported yet: restore without it");
	if (!err)
		err = shmem_restore_prepare(r->dfd, r->pages->fd, &r->shm);
	if (!err)
		err = files_rst_load(r->dfd, r->shm, r->o, &r->files);
	if (!err)
		err = ns_restore_read(r->o, r->dfd, r->inv->has_namespaces && r->inv->namespaces,
				      r->inv->has_cgroups && r->inv->cgroups, &r->tree, &r->ns);
	/*
	 * The tree's files are looked at where it will find them: in its
	 * mount namespace, when it has one of its own, which must exist
	 * first. What the holder made goes with it if a check fails.
	 */
	if (!err)
		err = ns_restore_create(r->ns, r->files);
	if (!err)
		err = files_rst_check(r->files);
	if (err)
		return err;
	r->tasks = xzalloc(sizeof(*r->tasks) * r->tree.nr);
	if (!r->tasks)
		return -ENOMEM;
	for (unsigned i = 0; i < r->tree.nr; i++) {
		r->tasks[i].pid = r->tree.tasks[i].pid;
		r->tasks[i].exe_fd = -1;
	}
	for (unsigned i = 0; i < r->tree.nr && !err; i++)
		if (r->tree.tasks[i].kind == TASK_ALIVE)
			err = read_task_images(r, &r->tasks[i]);
	for (unsigned i = 0; i < r->tree.nr && r->lazy_verify_all; i++)
		r->tasks[i].mem.verify_lazy = true;
	return err;
}

/*
 * The go pipe: every task of the tree inherits the read end and waits on
 * it; cr keeps the only write end. One byte written is the go for the
 * whole tree at once; cr dying before that closes the last write end,
 * and every task sees the end of file and exits. No task lives on half
 * restored, and none goes live unless all do.
 */
static int open_go_pipe(struct restore_ctx *r)
{
	int p[2], err;

	if (pipe2(p, O_CLOEXEC))
		return pr_errno(-errno, "creating the go pipe");
	r->go_rd = p[0];
	r->go_wr = p[1];
	err = move_fd_high(&r->go_rd, r->keep_from);
	if (!err)
		err = move_fd_high(&r->go_wr, r->keep_from);
	return err;
}

/* Each alive task gets its region; cr's fds go above every task's own. */
static int build_regions(struct restore_ctx *r)
{
	unsigned i;
	int err = 0;

	r->keep_from = 3;
	for (i = 0; i < r->tree.nr; i++)
		r->keep_from = max(r->keep_from, files_max_fd(r->tasks[i].files) + 1);
	err = move_fd_high(&r->pages->fd, r->keep_from);
	if (!err)
		err = mem_parents_fds_high(r->parents, r->keep_from);
	if (!err) {
		r->log_fd = log_get_fd() >= 0 ? fcntl(log_get_fd(), F_DUPFD_CLOEXEC, r->keep_from) : -1;
		if (log_get_fd() >= 0 && r->log_fd < 0)
			err = pr_errno(-errno, "moving the log fd above %d", r->keep_from);
	}
	if (!err)
		err = open_go_pipe(r);
	if (!err)
		err = ns_restore_fds_high(r->ns, r->keep_from);
	if (!err && r->lazy_sk >= 0)
		err = move_fd_high(&r->lazy_sk, r->keep_from);
	if (!err && ns_restore_pidns(r->ns)) {
		r->host_proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (r->host_proc < 0)
			err = pr_errno(-errno, "opening cr's /proc");
		else
			err = move_fd_high(&r->host_proc, r->keep_from);
	}
	for (i = 0; i < r->tree.nr && !err; i++) {
		struct rst_task *t = &r->tasks[i];
		struct restorer_args *a;

		if (r->tree.tasks[i].kind != TASK_ALIVE)
			continue;
		err = move_fd_high(&t->exe_fd, r->keep_from);
		if (!err)
			err = region_build(t, r->keep_from);
		if (!err)
			err = ns_restore_args(r->ns, &r->tree.tasks[i], t->args, (void *)t->args->threads,
					      t->args->nr_threads);
		if (err)
			break;
		a = t->args;
		a->pages_fd = r->pages->fd;
		for (unsigned k = 0; k < mem_parents_nr(r->parents); k++)
			a->parent_fds[k] = mem_parents_fd(r->parents, k + 1);
		a->mm_map.exe_fd = t->exe_fd;
		a->helper_fd_from = r->keep_from;
		a->go_fd = r->go_rd;
		a->log_level = log_get_level();
		a->log_fd = r->log_fd;
		a->stopped = r->tree.tasks[i].stopped;
		a->fd_table = r->tree.tasks[i].shares_files ? RESTORER_FDT_SHARER :
			      pstree_files_shared(&r->tree, i) ? RESTORER_FDT_OWNER : RESTORER_FDT_OWN;
		a->lazy_sk = -1;
		a->lazy_img_pid = t->pid;
		for (unsigned k = 0; k < a->nr_vmas; k++)
			if (((struct restorer_vma *)a->vmas)[k].lazy)
				a->lazy_sk = r->lazy_sk;
	}
	if (err)
		return err;
	r->sh_size = ALIGN_UP(sizeof(*r->sh) + sizeof(r->sh->rep[0]) * r->tree.nr, PAGE_SIZE);
	r->sh = mmap(NULL, r->sh_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r->sh == MAP_FAILED) {
		r->sh = NULL;
		return pr_errno(-errno, "mapping the shared control page");
	}
	return 0;
}

/* ---- in the new tasks ------------------------------------------------------ */

/*
 * Task @idx with its pid at every pid namespace level: the dumped ones
 * (cr's only wished for in a pid namespace of the tree's own, not asked
 * for in a user namespace of its own: see namespaces.h).
 */
static pid_t clone_task(const struct restore_ctx *r, unsigned idx, int exit_signal, unsigned long flags)
{
	const struct pstree_task *t = &r->tree.tasks[idx];
	struct clone_args ca = { .exit_signal = exit_signal, .flags = ns_clone_flags(&r->tree, idx) | flags };
	pid_t set_tid[RST_MAX_PID_LEVELS], pid;

	if (t->parent >= 0 && r->tree.tasks[t->parent].levels && !t->levels) {
		errno = EOPNOTSUPP;	/* a group helper: see pstree.c */
		return -1;
	}
	/* rst_sibling: the root is a child of cr's parent (runc waits for it). */
	if (idx == 0 && r->o->restore_sibling) {
		/* clone3 wants no exit_signal with it: the child gets cr's own (SIGCHLD). */
		ca.flags |= CLONE_PARENT;
		ca.exit_signal = 0;
	}
	ca.set_tid = (uint64_t)set_tid;
	ca.set_tid_size = ns_set_tid(t, t->ns_pid, ns_restore_userns(r->ns) ? 0 : t->pid, set_tid);
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	/* In a pid namespace of the tree's own the dumped pid in cr's is only wished for. */
	if (pid < 0 && errno == EEXIST && ns_restore_pidns(r->ns) && ca.set_tid_size > t->levels) {
		pr_debug("pid %d: taken in cr's pid namespace, the task gets another", t->pid);
		ca.set_tid_size = t->levels;
		pid = syscall(SYS_clone3, &ca, sizeof(ca));
	}
	return pid;
}

static void futex_wake_all(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* In a new task: if cr is gone (the go pipe's write end closed), so are we. */
static void exit_if_abandoned(const struct restore_ctx *r)
{
	struct pollfd p = { .fd = r->go_rd, .events = POLLIN };

	if (poll(&p, 1, 0) == 1 && !(p.revents & POLLIN))
		_exit(1);
}

/*
 * Every task of the tree passes here before any goes on. The waits are
 * short slices: a task whose cr died leaves instead of waiting for
 * peers that will never come.
 */
static void barrier_pass(const struct restore_ctx *r, uint32_t *ctr, uint32_t total)
{
	struct timespec slice = { 0, BARRIER_SLICE_MS * 1000000 };
	uint32_t v = __atomic_add_fetch(ctr, 1, __ATOMIC_SEQ_CST);

	if (v == total)
		futex_wake_all(ctr);
	while ((v = __atomic_load_n(ctr, __ATOMIC_SEQ_CST)) < total) {
		syscall(SYS_futex, ctr, FUTEX_WAIT, v, &slice, NULL, 0);
		exit_if_abandoned(r);
	}
}

/* The group as the task's own pid namespace names it (0: a group outside it). */
static pid_t task_vpgid(const struct pstree_task *t)
{
	return t->levels ? t->ns_pgid : t->pgid;
}

static __noreturn void task_fail(struct restore_ctx *r, unsigned idx, int err)
{
	struct rst_report *rep = &r->sh->rep[idx];

	rep->err = err;
	rep->step = RSTEP_CHILD_SETUP;
	__atomic_store_n(&rep->state, REP_FAILED, __ATOMIC_SEQ_CST);
	_exit(1);
}

static __noreturn void task_main(struct restore_ctx *r, unsigned idx);

static int exit_signal_of(const struct restore_ctx *r, unsigned idx)
{
	const CoreEntry *c = r->tasks[idx].core;

	return c && c->exit_signal > 0 && c->exit_signal < NSIG ? (int)c->exit_signal : SIGCHLD;
}

/* Forks the children of @idx born before (1) or after (0) its setsid(). */
static int fork_children(struct restore_ctx *r, unsigned idx, bool before_setsid)
{
	const struct pstree_task *pt = &r->tree.tasks[idx];

	for (unsigned i = 0; i < pt->nr_children; i++) {
		unsigned c = pt->children[i];
		pid_t pid;

		if (r->tree.tasks[c].before_setsid != before_setsid)
			continue;
		r->creator = getpid();
		pid = clone_task(r, c, exit_signal_of(r, c), (r->tree.tasks[c].shares_fs ? CLONE_FS : 0) |
				 (r->tree.tasks[c].shares_files ? CLONE_FILES : 0));
		if (pid < 0) {
			if (errno == EEXIST)
				return pr_errno(-EEXIST, "pid %d is in use; it must be free to restore",
						r->tree.tasks[c].pid);
			return pr_errno(-errno, "clone3 with pid %d (child of %d)", r->tree.tasks[c].pid, pt->pid);
		}
		if (pid == 0)
			task_main(r, c);
	}
	return 0;
}

void become_zombie(int exit_code)
{
	int sig = exit_code & 0x7f;

	if (sig) {
		struct sigaction sa = { .sa_handler = SIG_DFL };
		sigset_t set;

		/* No core file: the dumped process wrote its own, if any. */
		prctl(PR_SET_DUMPABLE, 0);
		sigaction(sig, &sa, NULL);
		kill(getpid(), sig);
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
	}
	_exit((exit_code >> 8) & 0xff);
}

/*
 * Helpers are gone and zombie children dead (not reaped) before the task
 * changes its memory: their SIGCHLDs must come before the restorer drops
 * every pending signal the image does not list.
 */
static int settle_children(struct restore_ctx *r, unsigned idx)
{
	const struct pstree_task *pt = &r->tree.tasks[idx];

	for (unsigned i = 0; i < pt->nr_children; i++) {
		const struct pstree_task *c = &r->tree.tasks[pt->children[i]];
		siginfo_t si;

		if (c->kind == TASK_HELPER && waitpid(pstree_vpid(c), NULL, __WALL) != pstree_vpid(c))
			return pr_errno(-errno, "pid %d: reaping helper %d", pt->pid, c->pid);
		if (c->kind == TASK_ZOMBIE && waitid(P_PID, pstree_vpid(c), &si, WEXITED | WNOWAIT))
			return pr_errno(-errno, "pid %d: waiting for zombie %d", pt->pid, c->pid);
	}
	return 0;
}

/*
 * The task's fds at their numbers. A table shared with its parent
 * (CLONE_FILES) is placed once, by its owner (wait_files_placed()).
 */
static int restore_files(struct restore_ctx *r, unsigned idx)
{
	struct rst_report *rep = &r->sh->rep[idx];
	int err;

	if (r->tree.tasks[idx].shares_files)
		return 0;
	/* A shared table's owner failing here: its sharers wait for it (task-setup kills the task, not cr). */
	err = pstree_files_shared(&r->tree, idx) ? cr_fail_point_nth("fdtable-place", idx + 1) : 0;
	if (!err)
		err = files_restore(r->tasks[idx].files, r->files);
	if (!err) {
		__atomic_store_n(&rep->files_placed, 1, __ATOMIC_SEQ_CST);
		futex_wake_all(&rep->files_placed);
	}
	return err;
}

/*
 * A task that shares its parent's fd table opens nothing until the
 * table's owner placed the fds: a number it took meanwhile could be one
 * the owner puts a file at. An owner that failed has said why: we go.
 */
static void wait_files_placed(const struct restore_ctx *r, unsigned idx)
{
	struct rst_report *rep = &r->sh->rep[pstree_files_owner(&r->tree, idx)];
	struct timespec slice = { 0, BARRIER_SLICE_MS * 1000000 };

	while (!__atomic_load_n(&rep->files_placed, __ATOMIC_SEQ_CST)) {
		if (__atomic_load_n(&rep->state, __ATOMIC_SEQ_CST) == REP_FAILED)
			_exit(1);
		syscall(SYS_futex, &rep->files_placed, FUTEX_WAIT, 0, &slice, NULL, 0);
		exit_if_abandoned(r);
	}
}

/* What needs libc in an alive task, before its restorer takes over. */
static int setup_alive(struct restore_ctx *r, unsigned idx)
{
	const struct rst_task *t = &r->tasks[idx];
	const CoreEntry *c = t->core;
	int err;

	err = task_misc_restore(t->pid, c->misc);
	if (err)
		return err;
	/* Shared with the parent (CLONE_FS): the parent sets it, once. */
	if (r->tree.tasks[idx].shares_fs)
		return restore_files(r, idx);
	umask(c->umask);
	/*
	 * The dumped cwd, root and file paths are all from the top of the
	 * mount namespace, as /proc shows them: a chroot, which leaves the
	 * cwd where it is (also outside the new root), comes last.
	 */
	err = ghost_task_chdir(t->pid, c->cwd, c->cwd_deleted);
	if (!err)
		err = restore_files(r, idx);
	if (!err && strcmp(c->root, "/"))
		err = ghost_task_chroot(t->pid, c->root, c->root_deleted);
	return err;
}

/* A new task, still in cr's code: the tree below it, its ids, then the blob. */
static __noreturn void task_main(struct restore_ctx *r, unsigned idx)
{
	const struct pstree_task *pt = &r->tree.tasks[idx];
	const struct rst_task *t = &r->tasks[idx];
	sigset_t all;
	int err;

	/*
	 * Nothing may be delivered until rt_sigreturn installs the dumped
	 * mask: the restorer sets handlers and queues signals meanwhile.
	 */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/* Only cr may hold the go pipe's write end: its death must show (a shared table: closed there). */
	if (!pt->shares_files)
		close(r->go_wr);
	/* cr's log fd may be one of the numbers the task's files take. */
	log_use_fd(r->log_fd);
	/* Armed only now: if our parent died before, nobody will kill us. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* The init of a new pid namespace sees no parent: the go pipe tells whether cr is there. */
	if (ns_clone_flags(&r->tree, idx))
		exit_if_abandoned(r);
	else if (getppid() != r->creator)
		_exit(1);
	/* In a pid namespace of the tree's own the pid in cr's is new: cr's /proc says which. */
	if (r->host_proc >= 0) {
		char self[24] = "";

		if (readlinkat(r->host_proc, "self", self, sizeof(self) - 1) > 0)
			__atomic_store_n(&r->sh->rep[idx].host_pid, atoi(self), __ATOMIC_SEQ_CST);
	}
	__atomic_store_n(&r->sh->rep[idx].state, REP_BORN, __ATOMIC_SEQ_CST);

	err = cr_fail_point_nth("task-setup", idx + 1);
	/* The root joins the namespaces the holder made. */
	if (!err && idx == 0)
		err = ns_restore_enter(r->ns);
	/* Kills the root task (sigkill:), not cr, as task-setup does. */
	if (!err && idx == 0)
		err = cr_fail_point("ns-enter");
	/* In the tree's mount namespace and root, what the task opens itself is found as it was named. */
	if (!err && idx == 0)
		rst_root_set(NULL);
	/* Before the first child: they inherit what it premaps, copy-on-write. */
	if (!err && pt->kind == TASK_ALIVE)
		err = cow_premap(r->cow, &r->tree, r->tasks, idx, r->pages->fd);
	if (!err)
		err = fork_children(r, idx, true);
	if (!err && pt->sid == pt->pid && setsid() < 0)
		err = pr_errno(-errno, "pid %d: setsid", pt->pid);
	/* A controlling terminal set now is inherited by the session's tasks forked below. */
	else if (!err && pt->sid == pt->pid)
		err = files_session_new(r->files);
	else if (!err && pt->sid != pt->pid && pt->pgid == pt->pid && setpgid(0, 0))
		err = pr_errno(-errno, "pid %d: setpgid to its own group", pt->pid);
	if (!err)
		err = fork_children(r, idx, false);
	if (!err)
		err = ns_restore_pid_for_children(&r->tree, idx);
	if (err)
		task_fail(r, idx, err);

	/* Every group leader exists once all tasks are forked. */
	barrier_pass(r, &r->sh->nr_forked, r->tree.nr);
	if (getpgid(0) != task_vpgid(pt) && setpgid(0, task_vpgid(pt)))
		task_fail(r, idx, pr_errno(-errno, "pid %d: joining group %d", pt->pid, pt->pgid));
	barrier_pass(r, &r->sh->nr_joined, r->tree.nr);
	if (pt->shares_files)
		wait_files_placed(r, idx);
	/* The foreground group of its terminal exists now. */
	if (pt->sid == pt->pid) {
		err = files_session_joined(r->files);
		if (err)
			task_fail(r, idx, err);
	}

	if (pt->kind == TASK_HELPER)
		_exit(0);
	if (pt->kind == TASK_ZOMBIE)
		become_zombie(pt->exit_code);

	err = settle_children(r, idx);
	if (!err)
		err = setup_alive(r, idx);
	/*
	 * glibc registered an rseq area in cr's TLS; the restorer unmaps it,
	 * and the kernel would then kill us with SIGSEGV on the next return
	 * to user space that updates it. Unregister it first.
	 */
	if (!err && __rseq_size &&
	    syscall(SYS_rseq, (char *)__builtin_thread_pointer() + __rseq_offset, RSEQ_REG_LEN,
		    RSEQ_FLAG_UNREGISTER, RSEQ_SIG))
		err = pr_errno(-errno, "pid %d: unregistering cr's rseq area", pt->pid);
	if (err)
		task_fail(r, idx, err);
	arch_jump_to_blob(t->args->region_start + restorer_blob_offset__blob_start,
			  t->args->region_start + t->rg.size + RESTORER_STACK_SIZE - 64, (uint64_t)t->args);
}

/* ---- back in cr -------------------------------------------------------------- */

static const char *step_name(uint32_t step)
{
	return step < RSTEP_MAX && step_names[step] ? step_names[step] : "?";
}

/*
 * Task @i's pid in cr's pid namespace: the dumped one, or in a pid
 * namespace of the tree's own the one it reported (0: none yet).
 */
static pid_t host_pid(const struct restore_ctx *r, unsigned i)
{
	if (!ns_restore_pidns(r->ns))
		return r->tree.tasks[i].pid;
	return r->sh ? __atomic_load_n(&r->sh->rep[i].host_pid, __ATOMIC_SEQ_CST) : 0;
}

/* A created task that is gone or a zombie before it was released died. */
static int check_alive(struct restore_ctx *r, unsigned idx)
{
	pid_t pid = host_pid(r, idx);
	struct proc_stat st;
	int status;

	if (!pid)
		return 0;
	/* A sibling root is not cr's child: it is looked at as the others are. */
	if (idx == 0 && !r->o->restore_sibling) {
		if (waitpid(pid, &status, WNOHANG | __WALL) != pid)
			return 0;
		r->forked = false;
		if (WIFSIGNALED(status))
			return pr_errno(-ECHILD, "restore of pid %d failed: it was killed by signal %d (%s)",
					pid, WTERMSIG(status), strsignal(WTERMSIG(status)));
		return pr_errno(-ECHILD, "restore of pid %d failed: it exited with %d", pid, WEXITSTATUS(status));
	}
	if (__atomic_load_n(&r->sh->rep[idx].state, __ATOMIC_SEQ_CST) == REP_NONE)
		return 0;
	if (proc_parse_stat(pid, &st) == 0 && st.state != 'Z' && st.state != 'X')
		return 0;
	return pr_errno(-ECHILD, "restore of pid %d failed: it died (status 0x%x)", pid,
			st.state == 'Z' ? st.exit_code : 0);
}

/*
 * The first failure any task reported, or the first task that died: a
 * task that died anywhere holds up the whole tree at the next barrier.
 */
static int check_reports(struct restore_ctx *r)
{
	for (unsigned i = 0; i < r->tree.nr; i++) {
		const struct rst_report *rep = &r->sh->rep[i];
		int err;

		if (__atomic_load_n(&rep->state, __ATOMIC_SEQ_CST) == REP_FAILED)
			return pr_errno(rep->err, "restore of pid %d failed at: %s", r->tree.tasks[i].pid,
					step_name(rep->step));
		if (r->tree.tasks[i].kind == TASK_ALIVE && (err = check_alive(r, i)))
			return err;
	}
	return 0;
}

/* Bytes the restorers have read into place so far, for the progress line. */
static uint64_t restore_bytes_read(const struct restore_ctx *r)
{
	uint64_t bytes = 0;

	for (unsigned i = 0; i < r->tree.nr; i++)
		if (r->tasks[i].args)
			bytes += __atomic_load_n(&r->tasks[i].args->bytes_read, __ATOMIC_RELAXED);
	return bytes;
}

/*
 * Waits until task @i's restorer is ready, or (@or_waiting) waits for
 * the rest of its fd table (RESTORER_SHARERS_WAIT); 0, or -errno (logged).
 */
static int wait_task_ready(struct restore_ctx *r, unsigned i, bool or_waiting, int *waited)
{
	struct restorer_args *a = r->tasks[i].args;
	int err;

	for (;;) {
		struct timespec ts = { 0, POLL_MS * 1000000 };
		uint32_t st = __atomic_load_n(&a->status, __ATOMIC_SEQ_CST);

		if (st == RESTORER_READY || (or_waiting && st == RESTORER_SHARERS_WAIT))
			return 0;
		if (st == RESTORER_FAILED)
			return pr_errno(a->err, "restore of pid %d failed at: %s", r->tree.tasks[i].pid,
					step_name(a->step));
		err = check_reports(r);
		if (err)
			return err;
		progress_update(restore_bytes_read(r));
		if (*waited >= READY_TIMEOUT_MS)
			return pr_errno(-ETIMEDOUT, "restore of pid %d: the restorer did not finish",
					r->tree.tasks[i].pid);
		syscall(SYS_futex, &a->status, FUTEX_WAIT, st, &ts, NULL, 0);
		*waited += POLL_MS;
	}
}

/* Lets every task whose fd_table is @fdt on from RESTORER_SHARERS_WAIT and waits until it is ready. */
static int release_fd_tables(struct restore_ctx *r, uint32_t fdt, int *waited)
{
	int err = 0;

	for (unsigned i = 0; i < r->tree.nr && !err; i++) {
		struct restorer_args *a = r->tasks[i].args;

		if (!a || a->fd_table != fdt)
			continue;
		__atomic_store_n(&a->sharers_ready, 1, __ATOMIC_SEQ_CST);
		futex_wake_all((uint32_t *)&a->sharers_ready);
		err = wait_task_ready(r, i, false, waited);
	}
	return err;
}

/*
 * Waits until every alive task's restorer is ready; 0, or -errno
 * (logged). The tasks of a shared fd table wait in their restorers
 * (restorer-abi.h): once every task is ready or waits, the owners close
 * cr's fds, then the other sharers take their locks.
 */
static int wait_ready(struct restore_ctx *r)
{
	int waited = 0, err = 0;
	bool shared = false;

	for (unsigned i = 0; i < r->tree.nr && !err; i++)
		if (r->tree.tasks[i].kind == TASK_ALIVE)
			err = wait_task_ready(r, i, true, &waited);
	for (unsigned i = 0; i < r->tree.nr && !err; i++)
		shared |= r->tasks[i].args && r->tasks[i].args->fd_table != RESTORER_FDT_OWN;
	if (!err && shared)
		err = cr_fail_point("sharers");
	if (!err && shared)
		err = release_fd_tables(r, RESTORER_FDT_OWNER, &waited);
	if (!err && shared)
		err = release_fd_tables(r, RESTORER_FDT_SHARER, &waited);
	return err;
}

/* The tid in cr's pid namespace of the thread whose tid in its own is @vtid, among @host's threads. */
static int host_tid(pid_t host, pid_t vtid, pid_t *ret)
{
	_cleanup_closedir_ DIR *d = NULL;
	char path[300];
	struct dirent *de;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)host);
	d = opendir(path);
	if (!d)
		return pr_errno(-errno, "opening %s", path);
	while ((de = readdir(d))) {
		_cleanup_free_ char *buf = NULL;
		const char *p;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)host, de->d_name);
		if (read_file_at(AT_FDCWD, path, &buf, NULL))
			continue;
		p = strstr(buf, "\nNSpid:");
		if (!p)
			continue;
		p += strcspn(p + 1, "\n") + 1;
		while (p > buf && (p[-1] >= '0' && p[-1] <= '9'))
			p--;
		if (atoi(p) == vtid) {
			*ret = atoi(de->d_name);
			return 0;
		}
	}
	return pr_errno(-ESRCH, "pid %d: no thread with tid %d in its pid namespace", host, vtid);
}

/*
 * A tree in a pid namespace of its own, every restorer ready: cr's view of it (the
 * tree's pids and tids in cr's pid namespace) becomes the new pids each
 * task reported and the tids its threads were given.
 */
static int learn_host_pids(struct restore_ctx *r)
{
	int err = 0;

	for (unsigned i = 0; i < r->tree.nr && !err; i++) {
		struct pstree_task *t = &r->tree.tasks[i];
		pid_t host = host_pid(r, i);

		if (host <= 0)
			return pr_errno(-ESRCH, "pid %d: it did not say its new pid", t->pid);
		pr_debug("pid %d is pid %d in cr's pid namespace now", t->pid, host);
		t->img_pid = t->pid;
		if (t->nr_tids) {
			t->img_tids = xmalloc(sizeof(pid_t) * t->nr_tids);
			if (!t->img_tids)
				return -ENOMEM;
			memcpy(t->img_tids, t->tids, sizeof(pid_t) * t->nr_tids);
		}
		for (unsigned j = 0; j < t->nr_tids && !err; j++) {
			if (t->tids[j] == t->pid)
				t->tids[j] = host;
			else if (t->kind == TASK_ALIVE && t->ns_tids)
				err = host_tid(host, t->ns_tids[j * t->levels + t->levels - 1], &t->tids[j]);
		}
		t->pid = host;
		r->tasks[i].pid = host;
	}
	return err;
}

/* Syscall stops from the go futex to the end of rt_sigreturn: a few. */
#define GO_LIVE_MAX_STOPS	64

#define UNTRACED_WAIT_MS	5000

/*
 * In the guard, after cr died: the kernel lets go of cr's tracees only
 * after cr's fds are closed, which is how the guard learnt of its death.
 * Until @tid is untraced it cannot be seized (-EPERM).
 */
static int wait_untraced(pid_t tid)
{
	for (unsigned waited = 0;; waited++) {
		struct proc_status st;
		int err = proc_parse_status(tid, &st);

		if (err || !st.tracer_pid)
			return err;
		if (waited >= UNTRACED_WAIT_MS)
			return pr_errno(-EBUSY, "thread %d: still traced by %d %u ms after cr died", tid,
					st.tracer_pid, waited);
		usleep(1000);
	}
}

/*
 * Seizes every thread of task @idx, waiting for the go in its restorer;
 * @dead_tracer: in the guard, each first freed by the dead cr.
 */
static int seize_task(struct restore_ctx *r, unsigned idx, bool dead_tracer)
{
	const struct pstree_task *pt = &r->tree.tasks[idx];
	struct rst_task *t = &r->tasks[idx];
	int err = 0;

	for (unsigned i = 0; i < pt->nr_tids && !err; i++) {
		err = dead_tracer ? wait_untraced(pt->tids[i]) : 0;
		if (!err)
			err = infect_seize(pt->tids[i]);
		if (!err)
			t->nr_seized++;
	}
	return err;
}

static bool in_region(const struct restorer_args *a, pid_t tid)
{
	struct infect_regs regs;
	bool in;

	if (infect_get_regs(tid, &regs))
		return true;	/* then running it to its rt_sigreturn says what is wrong */
	in = regs.gpr.ip >= a->region_start && regs.gpr.ip < a->region_start + a->region_size;
	infect_regs_free(&regs);
	return in;
}

/*
 * Whether every thread of every task that shares task @idx's fd table
 * is out of its restorer: all seized, none in its region. A sharer
 * still in one (the guard could not take it out) would see the go pipe
 * gone and leave: the pipe stays open in the table then, with a warning.
 */
static bool sharers_out(const struct restore_ctx *r, unsigned idx)
{
	unsigned owner = pstree_files_owner(&r->tree, idx);

	for (unsigned i = owner; i < r->tree.nr; i++) {
		const struct pstree_task *pt = &r->tree.tasks[i];

		if (pt->kind != TASK_ALIVE || pstree_files_owner(&r->tree, i) != owner)
			continue;
		for (unsigned k = 0; k < pt->nr_tids; k++)
			if (k >= r->tasks[i].nr_seized || in_region(r->tasks[i].args, pt->tids[k])) {
				pr_warn("pid %d: thread %d of a task sharing its fd table may still be in its "
					"restorer: the go pipe (fd %d) stays open in the table", r->tree.tasks[idx].pid,
					pt->tids[k], r->tasks[idx].args->go_fd);
				return false;
			}
	}
	return true;
}

/*
 * After the go: runs every thread of task @idx to the end of its
 * rt_sigreturn, the other threads first (the main one waits for them to
 * have seen the go), then unmaps the region from inside. The task is
 * then in its dumped state, still seized. @maybe_out: threads may be past
 * their rt_sigreturn already (the guard, after cr died): those are left.
 */
static int go_live(struct restore_ctx *r, unsigned idx, bool maybe_out)
{
	const struct pstree_task *pt = &r->tree.tasks[idx];
	const struct restorer_args *a = r->tasks[idx].args;
	_cleanup_free_ pid_t *in = xmalloc(sizeof(*in) * pt->nr_tids);
	struct parasite_ctl *ctl = NULL;
	unsigned nr_in = 0;
	long ret;
	int err = 0;

	/* Each connection a thread waits for is one more syscall on its way. */
	unsigned max_stops = GO_LIVE_MAX_STOPS + 4 * a->nr_finish_fds;

	if (!in)
		return -ENOMEM;
	for (unsigned i = pt->nr_tids; i-- > 0;)
		if (!maybe_out || in_region(a, pt->tids[i]))
			in[nr_in++] = pt->tids[i];
	/* Threads that share seccomp filters wait for each other on the way out (seccomp.c): together. */
	if (a->nr_filters_shared)
		err = infect_run_all_to_syscall_exit(in, nr_in, ARCH_NR_RT_SIGRETURN, max_stops);
	for (unsigned i = 0; i < nr_in && !err && !a->nr_filters_shared; i++)
		err = infect_run_to_syscall_exit(in[i], ARCH_NR_RT_SIGRETURN, 0, max_stops, NULL);
	if (!err)
		err = infect_prepare(pt->pid, mem_trampoline_place(r->tasks[idx].mm, 0), &ctl);
	if (err)
		return err;
	err = infect_syscall(ctl, __NR_munmap, &ret, a->region_start, a->region_size, 0, 0, 0, 0);
	if (!err && ret)
		err = pr_errno((int)ret, "pid %d: unmapping the restorer", pt->pid);
	/*
	 * A shared fd table keeps the go pipe until every sharer is out of
	 * its restorer (restorer-abi.h): the last closes it. The guard may
	 * come after a cr that did.
	 */
	if (!err && pstree_files_last_sharer(&r->tree, idx) && sharers_out(r, idx)) {
		err = infect_syscall(ctl, __NR_close, &ret, a->go_fd, 0, 0, 0, 0, 0);
		if (!err && ret && !(maybe_out && ret == -EBADF))
			err = pr_errno((int)ret, "pid %d: closing the go pipe in the fd table it shares", pt->pid);
	}
	if (!err)
		err = infect_cure(ctl);
	else
		infect_cure(ctl);
	return err;
}

/*
 * Lets every seized thread run; on failure the caller kills the tree
 * anyway. A process dumped stopped took its SIGSTOP on its way out of the
 * restorer (restorer_args.stopped): detached, it stops again, and cr
 * waits until it has. Its parent sees a fresh stop: SIGCHLD with
 * CLD_STOPPED, waitpid(WUNTRACED) reports WIFSTOPPED with SIGSTOP,
 * whichever signal stopped it at the dump.
 */
static int detach_tree(struct restore_ctx *r)
{
	int err = 0;

	for (unsigned i = 0; i < r->tree.nr; i++) {
		const struct pstree_task *pt = &r->tree.tasks[i];
		bool seized = r->tasks[i].nr_seized;

		for (unsigned k = 0; k < r->tasks[i].nr_seized; k++) {
			int e = infect_detach(pt->tids[k]);

			if (!err)
				err = e;
		}
		r->tasks[i].nr_seized = 0;
		if (seized && pt->stopped) {
			int e = pstree_wait_stopped(pt);

			if (!err)
				err = e;
		}
	}
	return err;
}

static void *verify_thread(void *arg)
{
	struct page_verifier *v = arg;

	for (unsigned i = 0; i < v->nr && !v->ret; i++) {
		if (!v->tasks[i].mm)
			continue;	/* not an alive task */
		v->ret = mem_verify_pages(v->pages_fd, &v->tasks[i].mem, &v->bad_run);
		v->bad_task = i;
	}
	return NULL;
}

/*
 * Page checksums are checked on the second core while the restorers read
 * the same pages into place: a full pass before the fork would cost as
 * much again as the restore itself. No task can go live before the
 * check passed (release_tree runs after verifier_join), and a mismatch
 * kills the tree, so a corrupted page never runs.
 */
static int verifier_start(struct restore_ctx *r)
{
	struct page_verifier *v = &r->verifier;
	int err;

	v->pages_fd = r->pages->fd;
	v->tasks = r->tasks;
	v->nr = r->tree.nr;
	err = pthread_create(&v->thread, NULL, verify_thread, v);
	if (err)
		return pr_errno(-err, "starting the page checksum thread");
	v->started = true;
	return 0;
}

static int verifier_join(struct restore_ctx *r)
{
	struct page_verifier *v = &r->verifier;
	const struct mem_plan *plan;

	if (!v->started)
		return 0;
	pthread_join(v->thread, NULL);
	v->started = false;
	plan = &v->tasks[v->bad_task].mem;
	if (v->ret == -EBADMSG)
		mem_log_bad_run(plan, v->bad_run);
	else if (v->ret)
		pr_errno(v->ret, "pages-%u.img: reading for the checksum check", plan->pages_id);
	return v->ret;
}

/*
 * Kills every task of the tree that exists and reaps them: cr is the
 * subreaper, so the orphans come to it. Every PID was free before the
 * restore, so whatever holds one now was created by it.
 */
static void kill_tree(struct restore_ctx *r)
{
	int waited = 0;

	if (!r->forked)
		return;
	for (;;) {
		bool left = false;
		char path[32];

		/*
		 * In a pid namespace of the tree's own the root, its init,
		 * takes every other task with it; their new pids
		 * are not looked at, one may be another process's by now.
		 */
		for (unsigned i = 0; i < (ns_restore_pidns(r->ns) ? 1 : r->tree.nr); i++) {
			pid_t pid = host_pid(r, i);
			struct proc_stat st;

			snprintf(path, sizeof(path), "/proc/%d", pid);
			if (pid <= 0 || access(path, F_OK))
				continue;
			/* A sibling root's zombie is for cr's parent to reap. */
			if (i == 0 && r->o->restore_sibling && !proc_parse_stat(pid, &st) &&
			    (st.state == 'Z' || st.state == 'X'))
				continue;
			left = true;
			kill(pid, SIGKILL);
		}
		while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
			;
		if (!left || waited >= REAP_TIMEOUT_MS)
			break;
		usleep(POLL_MS * 1000);
		waited += POLL_MS;
	}
	r->forked = false;
}

/*
 * --pidfile is opened before anything exists, so a path cr cannot write
 * is refused while nothing needs undoing; the pid goes in once the tree
 * is live (a failed write then kills it).
 */
static int pidfile_open(struct restore_ctx *r)
{
	struct stat st;

	if (!r->o->pidfile)
		return 0;
	/* Like the log: no link followed, no FIFO opened, nobody else's file truncated. */
	r->pidfile_created = lstat(r->o->pidfile, &st) && errno == ENOENT;
	r->pidfile_fd = open_own_file(AT_FDCWD, r->o->pidfile, 0);
	return r->pidfile_fd < 0 ? r->pidfile_fd : 0;
}

static int pidfile_write(struct restore_ctx *r, pid_t pid)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%d", pid);

	if (r->pidfile_fd < 0)
		return 0;
	if (ftruncate(r->pidfile_fd, 0) || pwrite(r->pidfile_fd, buf, n, 0) != n)
		return pr_errno(errno ? -errno : -EIO, "pidfile %s", r->o->pidfile);
	return 0;
}

/* A restore that failed leaves no pidfile it created. */
static void pidfile_close(struct restore_ctx *r)
{
	if (r->pidfile_fd < 0)
		return;
	close(r->pidfile_fd);
	r->pidfile_fd = -1;
	if (r->pidfile_created && !r->restored)
		unlink(r->o->pidfile);
}

static void restore_ctx_release(struct restore_ctx *r)
{
	verifier_join(r);
	kill_tree(r);
	for (unsigned i = 0; r->tasks && i < r->tree.nr; i++) {
		struct rst_task *t = &r->tasks[i];

		region_free(t);
		if (t->exe_fd >= 0)
			close(t->exe_fd);
		files_plan_free(t->files);
		mem_plan_free(&t->mem);
		if (t->core)
			pb_free(t->core, PB_CORE);
		if (t->mm)
			pb_free(t->mm, PB_MM);
	}
	free(r->tasks);
	r->tasks = NULL;
	cow_plan_free(TAKE_PTR(r->cow));
	if (r->sh)
		munmap(r->sh, r->sh_size);
	r->sh = NULL;
	if (r->log_fd >= 0)
		close(r->log_fd);
	r->log_fd = -1;
	if (r->go_rd >= 0)
		close(r->go_rd);
	if (r->go_wr >= 0)
		close(r->go_wr);
	r->go_rd = r->go_wr = -1;
	if (r->host_proc >= 0)
		close(r->host_proc);
	r->host_proc = -1;
	if (r->lazy_sk >= 0)
		close(r->lazy_sk);
	r->lazy_sk = -1;
	pidfile_close(r);
	ns_restore_free(TAKE_PTR(r->ns));
	netlock_free(TAKE_PTR(r->net_lock));
	pstree_free(&r->tree);
	shmem_table_free(r->shm, r->restored);
	files_rst_free(r->files, !r->restored);
	r->files = NULL;
	r->shm = NULL;
	img_close(r->pages);
	r->pages = NULL;
	mem_parents_free(TAKE_PTR(r->parents));
	if (r->inv)
		pb_free(r->inv, PB_INVENTORY);
	r->inv = NULL;
	if (r->dfd >= 0)
		close(r->dfd);
	r->dfd = -1;
}

/* A tree of many tasks keeps many files open in cr at once. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * A tree in a user namespace: its pid namespace must be the user
 * namespace's, so the root is cloned from inside it, by a fork of cr that
 * entered it and makes the root its own parent's child (CLONE_PARENT,
 * whose exit signal is the creator's). The creator is cr's child, or with
 * --restore-sibling cr's parent's (so is the root then), which cr cannot
 * wait for: it says how it went on a pipe. Returns the root's pid, or -1
 * with errno set.
 */
static pid_t clone_root_in_userns(struct restore_ctx *r)
{
	bool sibling = r->o->restore_sibling;
	struct clone_args ca = { .exit_signal = sibling ? 0 : exit_signal_of(r, 0), .flags = sibling ? CLONE_PARENT : 0 };
	pid_t root = r->tree.tasks[0].pid, creator, pid;
	_cleanup_close_ int rd = -EBADF, wr = -EBADF;
	int p[2], status, res = -EIO;

	if (pipe2(p, O_CLOEXEC) < 0)
		return pr_errno(-errno, "pipe for the creator of pid %d", root), -1;
	rd = p[0];
	wr = p[1];
	creator = syscall(SYS_clone3, &ca, sizeof(ca));
	if (creator < 0)
		return pr_errno(-errno, "forking the creator of pid %d", root), -1;
	if (creator == 0) {
		if (!sibling)
			prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(rd);
		res = ns_restore_userns_enter(r->ns);	/* logged */
		if (!res) {
			pid = clone_task(r, 0, 0, CLONE_PARENT);
			if (pid == 0)
				task_main(r, 0);
			if (pid < 0)
				res = pr_errno(-errno, "clone3 of pid %d (pid 1 of a new pid namespace) in its user namespace",
					       root);
			else
				__atomic_store_n(&r->sh->rep[0].host_pid, pid, __ATOMIC_SEQ_CST);
		}
		_exit(write(wr, &res, sizeof(res)) == sizeof(res) && !res ? 0 : 1);
	}
	close(TAKE_FD(wr));
	if (read(rd, &res, sizeof(res)) != sizeof(res))
		res = -ECHILD;	/* it died before it said */
	if (!sibling && waitpid(creator, &status, __WALL) != creator)
		return pr_errno(-errno, "waiting for the creator of pid %d", root), -1;
	if (res) {
		errno = -res;
		return -1;
	}
	return __atomic_load_n(&r->sh->rep[0].host_pid, __ATOMIC_SEQ_CST);
}

static int create_tree(struct restore_ctx *r)
{
	pid_t root = r->tree.tasks[0].pid, pid;

	/* The parent the root will see: cr's own with CLONE_PARENT. */
	r->creator = r->o->restore_sibling ? getppid() : getpid();
	if (ns_restore_userns(r->ns)) {
		/* Whatever the creator got to clone is killed by the pid it reported (host_pid()). */
		r->forked = true;
		pid = clone_root_in_userns(r);
		return pid < 0 ? -errno : 0;	/* logged by the creator or there */
	}
	pid = clone_task(r, 0, exit_signal_of(r, 0), 0);
	if (pid < 0) {
		if (errno == EEXIST) {
			char why[128];

			pstree_pid_user(root, why, sizeof(why));
			return pr_errno(-EEXIST, "pid %d is in use%s; it must be free to restore", root, why);
		}
		return pr_errno(-errno, "clone3 with pid %d", root);
	}
	if (pid == 0)
		task_main(r, 0);
	r->forked = true;
	return 0;
}

/*
 * In the guard, when cr died with the tree seized for the go. Without the
 * go the tree leaves by itself (end of file on the go pipe). With it the
 * tree is live: the guard does what cr did not get to, taking every task
 * out of its restorer and its region away.
 */
/* The restore guard's stage once every task runs on its own (detached). */
#define RESTORE_RELEASED	1

/* The connections are live: the dump's lock and the new namespace's go (after the go only). */
static void network_unlock(struct restore_ctx *r)
{
	netlock_release(r->net_lock);
	netlock_release(ns_restore_netlock(r->ns));
}

/* Every connection is out of repair mode: the restorers need not check each (restorer_args.finished). */
static void tell_finished(struct restore_ctx *r)
{
	for (unsigned i = 0; i < r->tree.nr; i++)
		if (r->tree.tasks[i].kind == TASK_ALIVE)
			__atomic_store_n(&r->tasks[i].args->finished, 1, __ATOMIC_RELEASE);
}

/*
 * At once, when cr died: after the go, the connections leave repair mode
 * (what cr finished already is left alone) before the tasks use them.
 */
static unsigned restore_guard_choose(void *arg, unsigned stage)
{
	struct restore_ctx *r = arg;
	struct pollfd p = { .fd = r->go_rd, .events = POLLIN };

	(void)stage;
	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLIN))
		return GUARD_NOTHING;
	if (files_restore_finish(r->files))
		pr_err("the guard could not finish the tree's connections");
	else
		tell_finished(r);
	network_unlock(r);
	return GUARD_NOTHING;
}

static void restore_guard_finish(void *arg, unsigned stage)
{
	struct restore_ctx *r = arg;
	struct pollfd p = { .fd = r->go_rd, .events = POLLIN };

	if (stage == RESTORE_RELEASED)
		return;
	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLIN)) {
		ns_restore_abandoned(r->ns);	/* the tree leaves by itself: what cr made for it goes */
		return;
	}
	for (unsigned i = 0; i < r->tree.nr; i++) {
		if (r->tree.tasks[i].kind != TASK_ALIVE)
			continue;
		r->tasks[i].nr_seized = 0;	/* cr's seizures went with it */
		if (!seize_task(r, i, true) && !go_live(r, i, true))
			continue;
		/* Let go by cr's death, it may have run on and ended: nothing is left to release. */
		if (kill(r->tree.tasks[i].pid, 0) && errno == ESRCH)
			pr_info("pid %d ended before the guard could release it", r->tree.tasks[i].pid);
		else
			pr_err("pid %d: the guard could not finish its release", r->tree.tasks[i].pid);
	}
	detach_tree(r);
}

/*
 * Every task waits for the go in its restorer. cr seizes every thread of
 * the tree, then writes the go: from that byte on the tree goes live
 * whatever happens to cr (the guard finishes for it); before it, cr's
 * death takes the whole tree. Then each thread runs to the end of its
 * rt_sigreturn and the regions go.
 */
static int release_tree(struct restore_ctx *r)
{
	/* The go pipe, the connections the guard may finish, two network locks. */
	unsigned nr_keep = 1, max_keep = 3 + files_restore_finish_fds(r->files, NULL, UINT_MAX);
	_cleanup_free_ int *keep = xmalloc(max_keep * sizeof(*keep));
	struct guard *g = NULL;
	int err = keep ? 0 : -ENOMEM, e;

	if (keep)
		keep[0] = r->go_rd;
	for (unsigned i = 0; i < r->tree.nr && !err; i++)
		if (r->tree.tasks[i].kind == TASK_ALIVE)
			err = core_restore_oom_score_adj(r->tasks[i].core, r->tasks[i].pid);
	if (!err)
		err = cr_fail_point("restorer");
	for (unsigned i = 0; i < r->tree.nr && !err; i++)
		if (r->tree.tasks[i].kind == TASK_ALIVE)
			err = seize_task(r, i, false);
	if (!err) {
		nr_keep += files_restore_finish_fds(r->files, keep + 1, max_keep - 3);
		keep[nr_keep] = netlock_fd(r->net_lock);
		nr_keep += keep[nr_keep] >= 0;
		keep[nr_keep] = netlock_fd(ns_restore_netlock(r->ns));
		nr_keep += keep[nr_keep] >= 0;
		err = guard_start(restore_guard_choose, restore_guard_finish, r, keep, nr_keep, &g);
	}
	/* This guard undoes what the namespaces' own would: one at a time. */
	if (!err)
		ns_restore_guarded(r->ns);
	if (!err)
		err = cr_fail_point("go");
	if (!err && write(r->go_wr, "g", 1) != 1)
		err = pr_errno(-errno, "writing the go");
	/* The tasks are held (seized): the connections go live first. */
	if (!err)
		err = files_restore_finish(r->files);
	if (!err)
		tell_finished(r);
	if (!err)
		files_close_all(r->files);
	for (unsigned i = 0; i < r->tree.nr && !err; i++) {
		if (r->tree.tasks[i].kind != TASK_ALIVE)
			continue;
		err = go_live(r, i, false);
		if (!err)
			err = cr_fail_point("live");
	}
	e = detach_tree(r);
	if (!err)
		err = e;
	/* Its guard has nothing left to do for the tasks now, only for the network. */
	if (!err)
		err = guard_stage(g, RESTORE_RELEASED);
	/* The tree runs: its packets until now are retransmitted (nft takes ~25 ms to commit). */
	if (!err)
		err = cr_fail_point("network-unlock");
	if (!err)
		network_unlock(r);
	e = guard_stop(g);
	return err ? err : e;
}

/*
 * The pages of the tree's tasks (their own and shared runs): put into
 * place by the restorers, before the fork by the premap, or left to the
 * lazy-pages daemon; and what the premap compared and kept shared.
 */
static void restore_stats_pages(const struct restore_ctx *r, struct restore_stats *s)
{
	uint64_t read = 0, premapped = 0, lazy = 0;

	for (unsigned i = 0; i < r->tree.nr; i++) {
		const struct rst_task *t = &r->tasks[i];

		if (r->tree.tasks[i].kind != TASK_ALIVE)
			continue;
		for (unsigned k = 0; k < t->mem.nr_runs; k++) {
			uint64_t len = t->mem.runs[k].len;

			if (t->mem.runs[k].lazy)
				lazy += len;
			else if (cow_run_premapped(t, k))
				premapped += len;
			else
				read += len;
		}
	}
	s->nr_tasks = r->tree.nr_alive;
	s->pages_read = read / PAGE_SIZE;
	s->pages_premapped = premapped / PAGE_SIZE;
	s->pages_lazy = lazy / PAGE_SIZE;
	s->pages_restored = s->pages_read + s->pages_premapped;
	if (r->cow)
		cow_plan_counts(&r->tree, r->tasks, &s->pages_compared, &s->pages_skipped_cow);
}

int cr_restore(const struct cr_options *o, int dfd, int *ret_exit_status)
{
	struct restore_ctx r = { .o = o, .dfd = dfd, .log_fd = -1, .go_rd = -1, .go_wr = -1, .pidfile_fd = -1,
				 .host_proc = -1, .lazy_sk = -1 };
	struct restore_stats stats = { 0 };
	struct timespec t_start, t_fork;
	bool has_ns;
	pid_t root;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &t_start);
	infect_set_logger(log_line);
	infect_set_fault_hook(cr_fail_point);
	raise_nofile();
	/* Notification points, criu's: pre-restore before any image is read. */
	err = cr_notify(o, "pre-restore", 0);
	if (!err)
		err = pidfile_open(&r);
	if (!err)
		err = read_images(&r);
	/* As criu: the namespace notifications only for a tree with namespaces of its own. */
	has_ns = !err && r.inv->has_namespaces && r.inv->namespaces;
	/* In a pid namespace of its own the tree gets new pids in cr's. */
	if (!err && !ns_restore_pidns(r.ns))
		err = pstree_check_free(&r.tree);
	/*
	 * Before the regions, which are placed around its premap area. Not
	 * for a pre-copy dump: the premap compares where runs are stored, and
	 * its pages come from several images (a tree of forks restores
	 * without sharing its copy-on-write pages). Not with --lazy-pages:
	 * what the parents premap is filled before the fork.
	 */
	if (!err && !r.parents && !o->lazy_pages)
		err = cow_plan_build(&r.tree, r.tasks, &r.cow);
	if (!err && o->lazy_pages && ns_restore_userns(r.ns))
		err = lazy_userns_check();
	/* Before cr's fds are moved high: the daemon keeps none of them. */
	if (!err && o->lazy_pages)
		err = lazy_restore_connect(dfd, &r.lazy_sk);
	if (!err)
		err = build_regions(&r);
	if (!err)
		err = files_open_all(r.files, r.keep_from, !ns_restore_userns(r.ns));
	for (unsigned i = 0; i < r.tree.nr && !err; i++)
		if (r.tree.tasks[i].kind == TASK_ALIVE)
			err = region_bind_files(&r.tasks[i], r.files, r.keep_from);
	for (unsigned i = 0; i < r.tree.nr && !err; i++)
		if (r.tree.tasks[i].kind == TASK_ALIVE)
			err = ghost_task_dirs_make(r.tasks[i].pid, r.tasks[i].core, r.keep_from);
	/* Orphans of a failed restore come to cr, which reaps them. */
	if (!err && prctl(PR_SET_CHILD_SUBREAPER, 1))
		err = pr_errno(-errno, "PR_SET_CHILD_SUBREAPER");
	if (!err)
		err = cr_fail_point("fork");
	if (!err)
		err = verifier_start(&r);
	if (!err) {
		restore_stats_pages(&r, &stats);
		progress_begin("restore", stats.pages_read * PAGE_SIZE, false);
	}
	clock_gettime(CLOCK_MONOTONIC, &t_fork);
	stats.images_us = stats_us_between(&t_start, &t_fork);
	if (!err)
		err = create_tree(&r);
	/* Every task has the directories made for deleted cwds and roots. */
	ghost_task_dirs_close();
	stats.forking_us = stats_us_since(&t_fork);
	if (!err)
		err = wait_ready(&r);
	progress_end();
	stats.ready_us = stats_us_since(&t_fork);
	/* Every restorer sent its userfaultfd: the daemon sees the end of them. */
	if (r.lazy_sk >= 0) {
		close(r.lazy_sk);
		r.lazy_sk = -1;
	}
	if (!err && ns_restore_pidns(r.ns))
		err = learn_host_pids(&r);
	/* Every task is in its namespaces, the root's pid the one their hooks look at. */
	if (!err && has_ns)
		err = cr_notify(o, "setup-namespaces", r.tree.tasks[0].pid);
	if (!err)
		err = verifier_join(&r);
	if (!err)
		err = ns_restore_tasks(r.ns, &r.tree);
	if (!err && has_ns)
		err = cr_notify(o, "post-setup-namespaces", 0);
	if (!err)
		err = cr_fail_point("ns-cgroups");
	if (!err)
		err = shmem_restore_finish(r.shm);
	if (!err)
		err = files_restore_owners(r.files, &r.tree);
	if (!err)
		err = files_restore_owner_pidfds(r.files, &r.tree);
	/* Restored and held: the caller learns the root here; then the go. */
	if (!err)
		err = cr_notify(o, "post-restore", r.tree.tasks[0].pid);
	if (!err)
		err = cr_notify(o, "network-unlock", 0);
	if (!err)
		err = cr_notify(o, "pre-resume", 0);
	if (!err)
		err = release_tree(&r);
	/* The pid file says the tree is live; if it cannot be written, the tree goes. */
	if (!err)
		err = pidfile_write(&r, r.tree.tasks[0].pid);
	if (err)
		goto out;
	/* The tree holds its namespaces now. */
	ns_restore_end(r.ns, true);
	/* Its files are open: the links --link-remap made at dump go. */
	link_remap_restore_end(true);
	stats.restore_us = stats_us_since(&t_start);
	stats_write_restore(o, dfd, &stats);

	root = r.tree.tasks[0].pid;
	r.forked = false;		/* it is the tree's own life from here */
	r.restored = true;
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	pr_info("pid %d: restored %u processes", root, r.tree.nr_alive);
	/* The tree is live: a failure here is the caller's to report, not the restore's. */
	cr_notify(o, "post-resume", 0);
	/* A sibling root is not cr's child to wait for. */
	if (!o->restore_detached && !o->restore_sibling) {
		int status;

		restore_ctx_release(&r);
		if (waitpid(root, &status, 0) != root)
			return pr_errno(-errno, "waiting for pid %d", root);
		*ret_exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		return 0;
	}
out:
	link_remap_restore_end(false);
	restore_ctx_release(&r);
	return err;
}
