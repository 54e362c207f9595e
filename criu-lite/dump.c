/*
 * cr dump: the phases in order. Seize, collect, infect, drain, cure, then
 * kill or let run. Any failure after the seize cures and detaches, so the
 * task goes on as if nothing happened.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "asm/arch.h"
#include "cleanup.h"
#include "core.h"
#include "cr.h"
#include "files.h"
#include "files-remap.h"
#include "guard.h"
#include "image.h"
#include "infect.h"
#include "inventory.pb-c.h"
#include "lazy-serve.h"
#include "log.h"
#include "mem.h"
#include "mem-track.h"
#include "namespaces.h"
#include "netlock.h"
#include "page-xfer.h"
#include "parasite-cmds.h"
#include "parasite-blob.h"
#include "proc-parse.h"
#include "precopy.h"
#include "progress.h"
#include "pstree.h"
#include "seccomp.h"
#include "shmem.h"
#include "stats.h"
#include "thread.h"

/* What lives for the whole dump. */
struct dump_ctx {
	const struct cr_options *o;
	pid_t root;
	int dfd;
	struct pstree tree;
	struct page_xfer *pages;	/* shared by all tasks: pages-1.img, here or on a page server */
	int lazy_lsk, lazy_fd;		/* --lazy-pages: where the destination connects, the pages it reads */
	bool lazy_killed;		/* --lazy-pages: the destination started its restore, the tree is killed */
	struct img *shmem;
	struct files_dump *files;
	struct shmem_dump shm;
	struct page_dedup *dedup;
	struct guard *guard;
	struct ns_dump *ns;
	struct cgroup_freezer *freezer;	/* --freeze-cgroup */
	struct netlock *net_lock;	/* --network-lock */
	struct precopy *precopy;	/* --prev-images-dir, --track-mem */
	struct mem_dump_stats mem;	/* the whole tree's */
	uint64_t memdump_us;
	uint64_t tasks_us, images_us;	/* dump_tree(), finish_images() */
	struct timespec t_start, t_freeze, t_seize;	/* cr_dump() began, seizing started, every thread seized */
};

/* One process of the tree, while it is being dumped. */
struct task_ctx {
	struct dump_ctx *d;
	const struct pstree_task *task;
	pid_t pid;
	const struct proc_stat *stat;	/* read when the tree was seized */
	struct proc_maps maps;
	MmEntry mm;
	struct parasite_ctl *ctl;
	struct core_pending pending;
	struct thread_dump *threads;	/* one per tid, the main thread first */
	unsigned nr_threads;
	struct img *imgs[IMG_TYPE_MAX];	/* this task's: core, mm, pagemap, fdinfo */
	struct mem_track_task *track;	/* pages the parent image holds */
};

static int open_images(struct task_ctx *t)
{
	static const enum img_type types[] = { IMG_CORE, IMG_MM, IMG_PAGEMAP, IMG_FDINFO };
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(types); i++) {
		int err = img_open(t->d->dfd, types[i], t->pid, O_WRONLY, &t->imgs[types[i]]);

		if (err)
			return err;
	}
	return 0;
}

static int dump_mm(struct task_ctx *t, uint64_t brk)
{
	MmEntry *mm = &t->mm;
	_cleanup_free_ uint64_t *auxv = NULL;
	unsigned nr_auxv;
	char path[64], exe[PATH_MAX + 1];
	ssize_t n;
	int err;

	err = proc_parse_auxv(t->pid, &auxv, &nr_auxv);
	if (err)
		return err;
	snprintf(path, sizeof(path), "/proc/%d/exe", t->pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n < 0)
		return pr_errno(-errno, "readlink %s", path);
	exe[n] = 0;

	mm->start_code = t->stat->start_code;
	mm->end_code = t->stat->end_code;
	mm->start_data = t->stat->start_data;
	mm->end_data = t->stat->end_data;
	mm->start_stack = t->stat->start_stack;
	mm->start_brk = t->stat->start_brk;
	mm->brk = brk;
	mm->arg_start = t->stat->arg_start;
	mm->arg_end = t->stat->arg_end;
	mm->env_start = t->stat->env_start;
	mm->env_end = t->stat->env_end;
	mm->auxv = auxv;
	mm->n_auxv = nr_auxv;
	mm->exe = exe;
	err = pb_write_one(t->imgs[IMG_MM], mm, PB_MM);
	mm->auxv = NULL;
	mm->n_auxv = 0;
	mm->exe = NULL;
	return err;
}

/* Everything read while the task is frozen and infected. */
static int drain(struct task_ctx *t)
{
	uint64_t brk = 0;
	struct timespec t0;
	int err;

	err = core_dump(t->pid, t->ctl, t->stat, &t->pending, t->threads, t->nr_threads,
			t->imgs[IMG_CORE], &brk);
	if (!err)
		err = dump_mm(t, brk);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!err)
		err = mem_dump_pages(t->ctl, t->pid, &t->mm, t->imgs[IMG_PAGEMAP], t->d->pages, t->d->dedup,
				     t->track, &t->d->mem);
	/* The cure writes to the task's memory: a page server must have its pages first. */
	if (!err)
		err = page_xfer_sync(t->d->pages);
	t->d->memdump_us += stats_us_since(&t0);
	return err;
}

enum dump_stage {
	DUMP_FROZEN,		/* the tree runs on if cr dies */
	DUMP_COMMITTING,	/* the inventory may be complete: the tree dies with it */
};

/*
 * In the guard, when cr died. Once the images are complete (a valid
 * inventory) and the tree was to be killed, it is killed (the pidfds cr
 * handed over): a checkpoint with its tree still running could not be
 * restored. Otherwise the tree runs on, and the repaired connections
 * are let out of repair mode.
 */
static unsigned dump_guard_choose(void *arg, unsigned stage)
{
	struct dump_ctx *d = arg;
	_cleanup_img_ struct img *img = NULL;
	void *inv = NULL;

	if (stage != DUMP_COMMITTING || img_open(d->dfd, IMG_INVENTORY, 0, O_RDONLY, &img) ||
	    pb_read_one_required(img, &inv, PB_INVENTORY))
		return GUARD_UNDO;
	pb_free(inv, PB_INVENTORY);
	pr_warn("pid %d: the images are complete: killing the tree cr left", d->root);
	return GUARD_FINISH;
}

static void kill_pidfd(int pidfd, uint64_t pid)
{
	if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) && errno != ESRCH)
		pr_perror("the guard could not kill pid %lu", (unsigned long)pid);
}

/*
 * The tree is to die with the images: the guard gets a pidfd of every
 * task (no pid reuse can make it kill another process) and the stage.
 */
static int guard_commit(struct dump_ctx *d)
{
	int err = 0;

	for (unsigned i = 0; i < d->tree.nr && !err; i++) {
		const struct pstree_task *t = &d->tree.tasks[i];
		int pidfd;

		if (t->kind != TASK_ALIVE)
			continue;
		pidfd = syscall(SYS_pidfd_open, t->pid, 0);
		if (pidfd < 0)
			return pr_errno(-errno, "pid %d: pidfd_open", t->pid);
		err = guard_keep_fd(d->guard, pidfd, kill_pidfd, t->pid, GUARD_FINISH);
		close(pidfd);
	}
	/* --lazy-pages: the images are not complete until the destination has the pages (dump_serve_lazy()). */
	return err || d->o->lazy_pages ? err : guard_stage(d->guard, DUMP_COMMITTING);
}

/*
 * --lazy-pages: the destination got what its restore reads and may run
 * a copy of the tree from now on (criu keeps the tree frozen until the
 * transfer ends; cr serves from its own copy of the pages, so the tree
 * goes now: it never runs twice, and its pids are free for a restore
 * that shares them). The guard finishes the kill if cr dies.
 */
#define DEAD_WAIT_MS	10000

/*
 * Every thread of the killed tree, collected: cr traces them, so a
 * thread's exit is cr's to collect before its parent sees the process
 * end, and its tid stays taken until then (cr serves on for a while).
 * 0, or -ETIMEDOUT (logged) for a task that does not die.
 */
static int reap_killed(const struct pstree *t)
{
	_cleanup_free_ bool *done = NULL;
	unsigned nr = 0;

	for (unsigned i = 0; i < t->nr; i++)
		nr += t->tasks[i].kind == TASK_ALIVE ? t->tasks[i].nr_tids : 0;
	done = xzalloc(sizeof(*done) * (nr + 1));
	if (!done)
		return -ENOMEM;
	for (unsigned waited = 0;; waited++) {
		pid_t left = 0;

		for (unsigned i = 0, n = 0; i < t->nr; i++) {
			const struct pstree_task *task = &t->tasks[i];

			for (unsigned k = 0; task->kind == TASK_ALIVE && k < task->nr_tids; k++, n++) {
				/* Collected, or not ours (any more): either way not to be waited for again. */
				if (!done[n] && waitpid(task->tids[k], NULL, WNOHANG | __WALL))
					done[n] = true;
				if (!done[n])
					left = task->tids[k];
			}
		}
		if (!left)
			return 0;
		if (waited >= DEAD_WAIT_MS)
			return pr_errno(-ETIMEDOUT, "tid %d: still there %u ms after it was killed", left, waited);
		usleep(1000);
	}
}

static int lazy_started(void *arg)
{
	struct dump_ctx *d = arg;
	int err = guard_stage(d->guard, DUMP_COMMITTING);

	if (!err)
		err = pstree_kill(&d->tree);
	d->lazy_killed = !err;
	/* Only then do the parents see the tree end, and its pids come free for a restore. */
	if (!err)
		err = reap_killed(&d->tree);
	/*
	 * What cr holds of the tree goes with it now, not when the serving
	 * ends: its files (cr's copies of its sockets hold their ports, which
	 * are the restore's), connections in repair mode; the network lock
	 * stays for the restore; the guard has nothing left to finish (and
	 * must not hold those ports either).
	 */
	if (!err) {
		files_dump_end(true);
		files_dump_free(TAKE_PTR(d->files));
		netlock_dump_end(TAKE_PTR(d->net_lock), true);
		/* SysV segments only the tree used: their keys are the restore's too. */
		if (shmem_dump_kept_removable(&d->shm))
			shmem_dump_remove_kept(&d->shm);
		err = guard_forget_fds(d->guard);
	}
	if (!err)
		pr_info("pid %d: the destination starts its restore: the tree is killed", d->root);
	return err;
}

/*
 * --lazy-pages: the tree frozen, serves its pages to the destination
 * until it has every one (0). On failure, d->lazy_killed says whether
 * the tree was killed already (the destination had started its
 * restore: the restored copy dies with its page source unless it has
 * every page); otherwise the tree runs on, as after any failed dump.
 */
static int dump_serve_lazy(struct dump_ctx *d)
{
	bool started;
	int err = lazy_serve(d->o, d->lazy_lsk, d->lazy_fd, 1, lazy_started, d, &started);

	if (err && d->lazy_killed)
		pr_err("pid %d: the transfer of its pages failed after the tree was killed: the restore on the "
		       "destination dies with it", d->root);
	else if (err)
		pr_err("pid %d: no restore started from its pages: the tree runs on", d->root);
	return err;
}

/* Writes the tree and then the inventory, which marks a complete dump. */
static int finish_images(struct dump_ctx *d)
{
	_cleanup_img_ struct img *img = NULL;
	InventoryEntry inv = INVENTORY_ENTRY__INIT;
	NetlockEntry lock = NETLOCK_ENTRY__INIT;
	struct utsname u;
	int err, e;

	/* The namespaces' bulk bytes go to fdata.img too: before it is finished. */
	err = ns_dump_write(d->ns, d->o, &d->tree, d->files, d->dfd);
	if (!err)
		err = cr_fail_point("ns-images");
	if (!err && d->o->lazy_pages) {
		d->lazy_fd = page_xfer_dup_fd(d->pages);
		err = d->lazy_fd < 0 ? d->lazy_fd : 0;
	}
	e = page_xfer_commit(TAKE_PTR(d->pages));
	if (!err)
		err = e;
	e = files_dump_finish(d->files);
	if (!err)
		err = e;
	e = img_close(TAKE_PTR(d->shmem));
	if (!err)
		err = e;
	if (!err)
		err = pstree_write(d->dfd, &d->tree);
	if (!err)
		err = cr_fail_point("write-images");
	if (err)
		return err;

	dump_inventory_init(&inv, d->root, &u);
	inv.has_namespaces = true;
	inv.namespaces = ns_dump_any(d->ns);
	inv.has_cgroups = true;
	inv.cgroups = d->o->manage_cgroups != CG_MODE_IGNORE;
	precopy_inventory(d->precopy, &inv);
	if (!d->o->leave_running)
		netlock_dump_record(d->net_lock, &inv, &lock);
	if (!d->o->leave_running)
		err = guard_commit(d);
	if (!err)
		err = img_open(d->dfd, IMG_INVENTORY, 0, O_WRONLY, &img);
	if (!err)
		err = pb_write_one(img, &inv, PB_INVENTORY);
	if (!err)
		err = img_close(TAKE_PTR(img));
	return err;
}

void dump_inventory_init(InventoryEntry *inv, pid_t root, struct utsname *u)
{
	uname(u);
	inv->img_version = IMG_FORMAT_VERSION;
	inv->root_pid = root;
	inv->tool_version = CR_VERSION;
	inv->xfeatures = arch_xfeatures();
	inv->xsave_size = arch_xsave_size();
	inv->kernel = u->release;
	inv->pages_id = 1;
}

/*
 * o->wait_killed (the RPC's: criu's own behaviour, which runtimes rely
 * on; runc looks at its init and removes the cgroups right after): every
 * killed task has exited, a zombie or gone. Its memory is freed by then.
 */
static int wait_tree_dead(const struct pstree *t)
{
	for (unsigned waited = 0;; waited++) {
		pid_t left = 0;

		for (unsigned i = 0; i < t->nr; i++) {
			const struct pstree_task *task = &t->tasks[i];
			struct proc_stat st;
			char path[32];

			if (task->kind != TASK_ALIVE)
				continue;
			/*
			 * cr still traces what died stopped (PTRACE_DETACH needs a
			 * stopped tracee): each thread's exit is cr's to collect
			 * before the parent sees it, and the init of a pid
			 * namespace waits for its children that long.
			 */
			for (unsigned k = 0; k < task->nr_tids; k++)
				waitpid(task->tids[k], NULL, WNOHANG | __WALL);
			/* Gone already: nothing to read (and no error to log). */
			snprintf(path, sizeof(path), "/proc/%d", task->pid);
			if (access(path, F_OK))
				continue;
			if (!proc_parse_stat(task->pid, &st) && st.state != 'Z' && st.state != 'X')
				left = task->pid;
		}
		if (!left)
			return 0;
		if (waited >= DEAD_WAIT_MS)
			return pr_errno(-ETIMEDOUT, "pid %d: still there %u ms after it was killed", left, waited);
		usleep(1000);
	}
}

/*
 * The caller refused the dump after it was complete (post-dump): the
 * tree runs on, so the images must not look like a checkpoint of it.
 */
static void drop_inventory(struct dump_ctx *d)
{
	if (unlinkat(d->dfd, img_descs[IMG_INVENTORY].fmt, 0) && errno != ENOENT)
		pr_perror("%s: removing %s after post-dump failed", d->o->images_dir, img_descs[IMG_INVENTORY].fmt);
}

static int task_ctx_release(struct task_ctx *t)
{
	int err = 0;

	for (unsigned i = 0; i < IMG_TYPE_MAX; i++) {
		int e = img_close(TAKE_PTR(t->imgs[i]));

		if (!err)
			err = e;
	}
	for (unsigned i = 0; i < t->nr_threads; i++)
		thread_dump_free(&t->threads[i]);
	free(t->threads);
	mem_track_task_free(TAKE_PTR(t->track));
	mem_free_vmas(&t->mm);
	core_pending_free(&t->pending);
	proc_maps_free(&t->maps);
	return err;
}

static int collect_threads(struct task_ctx *t, uint64_t place)
{
	int err = 0;

	t->threads = xzalloc(sizeof(*t->threads) * t->task->nr_tids);
	if (!t->threads)
		return -ENOMEM;
	for (unsigned i = 0; i < t->task->nr_tids && !err; i++) {
		err = thread_dump(t->pid, t->task->tids[i], place, t->ctl, &t->threads[i]);
		t->nr_threads = i + 1;
		if (!err && i)
			err = seccomp_dump_thread(t->task->tids[i], &t->pending.seccomp, &t->threads[i].seccomp,
						  &t->threads[i].te);
	}
	return err;
}

static int infect_and_drain(struct task_ctx *t)
{
	uint64_t place;
	int err;

	err = proc_parse_maps(t->pid, &t->maps);
	if (!err)
		err = mem_collect_vmas(t->pid, &t->maps, &t->mm);
	if (!err)
		err = shmem_dump_task(&t->d->shm, t->pid, &t->mm, t->d->shmem, t->d->pages);
	if (!err)
		err = mem_dump_mapped_files(t->d->files, t->pid, &t->mm);
	if (err)
		return err;
	place = mem_trampoline_place(&t->mm, 0);
	if (!place)
		return pr_errno(-ENOEXEC, "pid %d: no vdso and no executable mapping to run the parasite from",
				t->pid);

	/*
	 * What must not see the parasite's socket (the fd table) comes before
	 * the parasite runs. The other threads come after it: their remote
	 * syscalls answer into its data area, through the second slot.
	 */
	err = open_images(t);
	if (!err)
		err = core_collect_pending(t->pid, &t->pending);
	if (!err)
		err = files_dump(t->d->files, t->pid, t->imgs[IMG_FDINFO]);
	if (!err)
		err = infect_prepare(t->pid, place, &t->ctl);
	if (!err)
		err = cr_fail_point("infect");
	/* A remote syscall: before the blob runs in the task. */
	if (!err)
		err = mem_aio_check_owner(t->ctl, t->pid, &t->mm);
	if (!err)
		err = precopy_task_begin(t->d->precopy, t->ctl, t->pid, &t->mm, &t->track);
	if (!err)
		err = infect_start_blob(t->ctl, parasite_blob, sizeof(parasite_blob),
					parasite_blob_offset__blob_start, PARASITE_DATA_SIZE);
	if (!err)
		err = collect_threads(t, mem_trampoline_place(&t->mm, 1));
	if (!err)
		err = drain(t);
	if (!err)
		err = cr_fail_point("cure");
	if (!err)
		err = precopy_task_end(t->d->precopy, t->pid, t->track);
	return err;
}

/*
 * One process: infect, drain, cure. It stays seized and stopped until
 * the whole tree is dumped; only one task's parasite and buffers exist
 * at a time, so cr's memory does not grow with the tree.
 */
static int dump_task(struct dump_ctx *d, const struct pstree_task *task)
{
	struct task_ctx t = { .d = d, .task = task, .pid = task->pid, .stat = &task->stat,
			      .mm = MM_ENTRY__INIT };
	int err, e;

	err = infect_and_drain(&t);
	/* Put the task back as it was, whatever happened. */
	e = infect_cure(TAKE_PTR(t.ctl));
	if (!err)
		err = e;
	e = task_ctx_release(&t);
	if (!err)
		err = e;
	return err;
}

static int dump_tree(struct dump_ctx *d)
{
	struct timespec t0;
	int err = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	progress_begin_tree("dump", &d->tree);
	for (unsigned i = 0; i < d->tree.nr && !err; i++)
		if (d->tree.tasks[i].kind == TASK_ALIVE)
			err = dump_task(d, &d->tree.tasks[i]);
	progress_end();
	d->tasks_us = stats_us_since(&t0);
	return err;
}

/* The figures of a dump that went through, for stats-dump and --stats. */
static void dump_stats_fill(const struct dump_ctx *d, struct dump_stats *s)
{
	s->nr_tasks = d->tree.nr_alive;
	s->total_us = stats_us_since(&d->t_start);
	s->freezing_us = stats_us_between(&d->t_freeze, &d->t_seize);
	s->tasks_us = d->tasks_us;
	s->memdump_us = d->memdump_us;
	s->memwrite_us = d->mem.write_us;
	s->images_us = d->images_us;
	s->pages_scanned = d->mem.pages_scanned;
	s->pages_written = d->mem.bytes / PAGE_SIZE;
	s->pages_skipped_parent = d->mem.parent_bytes / PAGE_SIZE;
	s->pages_zero = d->mem.zero_pages;
	s->pages_shared = d->mem.shared_bytes / PAGE_SIZE;
	s->page_pipes = d->mem.pipes;
	s->page_pipe_bufs = d->mem.pipe_fills;
	s->shpages_scanned = d->shm.scanned / PAGE_SIZE;
	s->shpages_written = d->shm.bytes / PAGE_SIZE;
}

static void dump_ctx_release(struct dump_ctx *d)
{
	/* The tree is detached or dead, the repaired connections let out: nothing left to guard. */
	guard_stop(TAKE_PTR(d->guard));
	page_xfer_free(d->pages);
	if (d->lazy_fd >= 0)
		close(d->lazy_fd);
	if (d->lazy_lsk >= 0)
		close(d->lazy_lsk);
	files_dump_free(d->files);
	img_close(d->shmem);
	shmem_dump_free(&d->shm);
	page_dedup_free(d->dedup);
	/* The tracking of the last round ends with the dump (the tree dies or runs on untracked). */
	precopy_end(TAKE_PTR(d->precopy), d->dfd, false);
	pstree_free(&d->tree);
	ns_dump_free(d->ns);
	if (d->dfd >= 0)
		close(d->dfd);
}

int cr_dump(const struct cr_options *o, int dfd)
{
	struct dump_ctx d = { .o = o, .root = o->pid, .dfd = dfd, .lazy_lsk = -1, .lazy_fd = -1 };
	struct dump_stats stats = { 0 };
	bool net_locked = false;
	char path[32];
	int err, lazy_err = 0;

	clock_gettime(CLOCK_MONOTONIC, &d.t_start);
	infect_set_logger(log_line);
	infect_set_fault_hook(cr_fail_point);
	snprintf(path, sizeof(path), "/proc/%d", d.root);
	if (d.root <= 0 || access(path, F_OK)) {
		err = pr_errno(-ESRCH, "pid %d: no such process", d.root);
		goto out;
	}
	/* Notification points, criu's: pre-dump before anything is touched. */
	err = cr_notify(o, "pre-dump", 0);
	if (!err)
		err = img_dump_dir_prepare(d.dfd, o->images_dir);
	/* A page server's connection from cr's own net namespace. */
	if (!err)
		err = page_xfer_open(o, d.dfd, 1, &d.pages);
	/* --lazy-pages: the port taken or the address wrong fails the dump before the tree is touched. */
	if (!err && o->lazy_pages) {
		d.lazy_lsk = lazy_serve_listen(o);
		err = d.lazy_lsk < 0 ? d.lazy_lsk : 0;
	}
	/*
	 * Through -D (a relative parent path), before cr changes its
	 * namespaces. --track-mem without a parent has nothing to track
	 * against: a dump leaves no tracking behind.
	 */
	if (!err)
		err = precopy_begin(o, d.dfd, o->track_mem && o->prev_images_dir, &d.precopy);
	/* cr in the tree's net, ipc and uts namespaces before it makes a socket. */
	if (!err)
		err = ns_dump_begin(d.root, &d.ns);
	if (!err)
		err = cr_fail_point("ns-begin");
	if (!err)
		err = files_dump_begin(d.dfd, &d.tree, o, &d.files);
	if (!err)
		err = img_open(d.dfd, IMG_SHMEM, 0, O_WRONLY, &d.shmem);
	if (!err && !(d.dedup = page_dedup_new()))
		err = -ENOMEM;
	/* Before the tree is frozen: forking the guard costs it nothing. */
	if (!err)
		err = guard_start(dump_guard_choose, NULL, &d, &d.dfd, 1, &d.guard);
	if (!err)
		files_dump_set_guard(d.files, d.guard);
	if (!err)
		err = cr_fail_point("seize");
	clock_gettime(CLOCK_MONOTONIC, &d.t_freeze);
	/* A frozen cgroup cannot fork while the tree is walked; thawed once every thread is seized. */
	if (!err && o->freeze_cgroup)
		err = cgroup_freeze(o->freeze_cgroup, d.guard, &d.freezer);
	if (!err && d.freezer)
		err = cr_fail_point("frozen");
	if (!err)
		err = pstree_seize(d.root, d.freezer, &d.tree);
	if (err)
		goto out;
	if (d.freezer) {
		err = cgroup_thaw_seized(d.freezer);
		if (!err)
			err = pstree_wait_seized(&d.tree);
	}
	clock_gettime(CLOCK_MONOTONIC, &d.t_seize);
	pr_info("pid %d: seized %u processes", d.root, d.tree.nr_alive);

	/* network-lock once the tree is stopped, before anything of it is read. */
	if (!err) {
		err = cr_notify(o, "network-lock", 0);
		net_locked = !err;
	}
	/* Before any connection goes into repair mode. */
	if (!err)
		err = netlock_dump_lock(o, &d.tree, ns_dump_own(d.ns, NS_NET), d.guard, &d.net_lock);
	if (!err)
		err = cr_fail_point("network-locked");
	if (!err)
		err = ns_dump_tree(d.ns, &d.tree);
	if (!err)
		err = dump_tree(&d);
	/* The connections are read from here on (deferred: files_dump_finish()). */
	if (!err)
		err = netlock_dump_wait(&d.net_lock);
	if (!err) {
		struct timespec t0;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		err = finish_images(&d);
		d.images_us = stats_us_since(&t0);
	}
	if (!err && o->auto_dedup)
		precopy_dedup(d.precopy, d.dfd, &d.tree);
	/* post-dump: the images are complete, the tree not killed yet. */
	if (!err) {
		err = cr_notify(o, "post-dump", 0);
		if (err)
			drop_inventory(&d);
	}
	if (!err && o->lazy_pages) {
		lazy_err = dump_serve_lazy(&d);
		if (lazy_err && !d.lazy_killed) {
			err = lazy_err;
			drop_inventory(&d);
		}
	}
	if (!err && !o->leave_running && !d.lazy_killed)
		err = pstree_kill(&d.tree);
	/* Live objects (TCP repair mode) back as they were, or closed with the killed tree. */
	files_dump_end(!err && !o->leave_running);
	/* Kept for the restore when the tree is gone; otherwise it runs on, unlocked. */
	netlock_dump_end(TAKE_PTR(d.net_lock), !err && !o->leave_running);
	/* The tree runs on (a failure, --leave-running): its network first, as criu. */
	if (net_locked && (err || o->leave_running))
		cr_notify(o, "network-unlock", 0);
	/* After a failure, or with --leave-running: the tree runs on, frozen again if it was. */
	if (d.freezer && (err || o->leave_running))
		cgroup_thaw(d.freezer);
	pstree_detach(&d.tree);
	stats.frozen_us = stats_us_since(&d.t_seize);
	pr_info("frozen for %.6f s", stats.frozen_us / 1e6);
	/* A lazy dump's tree is long dead: its pids may be the restored tree's by now. */
	if (!err && !o->leave_running && o->wait_killed && !d.lazy_killed)
		err = wait_tree_dead(&d.tree);
	/* SysV segments only the killed tree used: once it is gone, its mappings with it. */
	if (!err && !o->leave_running && !d.lazy_killed && shmem_dump_kept_removable(&d.shm) &&
	    (o->wait_killed || !wait_tree_dead(&d.tree)))
		shmem_dump_remove_kept(&d.shm);
	if (!err)
		err = lazy_err;
	if (!err) {
		pr_info("pid %d: dumped %u processes, %lu bytes of pages, %lu of shared memory", d.root,
			d.tree.nr_alive, (unsigned long)d.mem.bytes, (unsigned long)d.shm.bytes);
		dump_stats_fill(&d, &stats);
		stats_write_dump(o, d.dfd, &stats);
	}
out:
	/* The links --link-remap made stay for the restore, unless the dump failed. */
	link_remap_dump_end(err != 0);
	/* A failure before the tree was seized: the cgroup as it was. */
	if (d.freezer && !d.tree.nr)
		cgroup_thaw(d.freezer);
	cgroup_freezer_free(d.freezer);
	/* The cause was logged where it happened; main() repeats it on stderr. */
	if (err)
		pr_info("dump of pid %d failed: %s", d.root, strerror(-err));
	dump_ctx_release(&d);
	return err;
}
