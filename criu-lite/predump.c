/*
 * Pre-copy: cr pre-dump, and the parent image and write tracking that
 * pre-dumps and dumps with --prev-images-dir share (precopy.h).
 *
 * A pre-dump seizes the tree, copies the pages of each task through the
 * parasite as a dump does (with --track-mem and a tracked parent: only
 * those written since), write-protects them again and lets the tree go.
 * Its image directory holds pagemaps, pages and an inventory that says
 * pre_dump: a parent for the next round, never restored itself.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "cr.h"
#include "image.h"
#include "infect.h"
#include "log.h"
#include "mem.h"
#include "mem-track.h"
#include "namespaces.h"
#include "parasite-blob.h"
#include "parasite-cmds.h"
#include "precopy.h"
#include "proc-parse.h"
#include "page-xfer.h"
#include "pstree.h"
#include "progress.h"
#include "stats.h"

#define PARENT_LINK	"parent"

struct precopy {
	bool track;
	bool has_parent;
	int parent_dfd;
	unsigned parent_pages_id;
	uint8_t parent_dump_id[IMG_DUMP_ID_SIZE];
	struct mem_track_set *taken;	/* the parent's tracker's uffds */
	struct mem_track_set *next;	/* this round's, for the next one */
	bool any_unchanged;		/* some page was left in the parent */
};

/* The parent image: a complete pre-dump (its inventory says so); its dump id. */
static int parent_check(int dfd, const char *prev, int *ret_pdfd, unsigned *ret_pages_id, uint8_t *ret_id)
{
	_cleanup_close_ int pdfd = openat(dfd, prev, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_img_ struct img *img = NULL;
	InventoryEntry *inv = NULL;
	bool pre;
	int err;

	if (pdfd < 0)
		return pr_errno(-errno, "--prev-images-dir %s (relative to the image directory)", prev);
	err = img_open_other(pdfd, IMG_INVENTORY, 0, NULL, &img);
	if (!err)
		err = pb_read_one_required(img, (void **)&inv, PB_INVENTORY);
	if (err)
		return pr_errno(err, "--prev-images-dir %s: no complete image there", prev);
	pre = inv->has_pre_dump && inv->pre_dump;
	*ret_pages_id = inv->pages_id;
	pb_free(inv, PB_INVENTORY);
	if (!pre)
		return pr_errno(-EINVAL, "--prev-images-dir %s: not a pre-dump (cr pre-dump makes parents)", prev);
	memcpy(ret_id, img->dump_id, IMG_DUMP_ID_SIZE);
	*ret_pdfd = TAKE_FD(pdfd);
	return 0;
}

int precopy_begin(const struct cr_options *o, int dfd, bool track, struct precopy **ret)
{
	_cleanup_close_ int pdfd = -EBADF;
	struct precopy *pc;
	int err = 0;

	*ret = NULL;
	if (!o->prev_images_dir && !track)
		return 0;
	if (track && mem_track_method() == MEM_TRACK_NONE)
		return pr_errno(-EOPNOTSUPP, "--track-mem: this kernel has no userfaultfd WP_ASYNC with PAGEMAP_SCAN "
				"(Linux 6.7), and cr tracks writes no other way yet");
	pc = xzalloc(sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	pc->track = track;
	pc->parent_dfd = -1;
	if (o->prev_images_dir) {
		err = parent_check(dfd, o->prev_images_dir, &pdfd, &pc->parent_pages_id, pc->parent_dump_id);
		if (!err && unlinkat(dfd, PARENT_LINK, 0) && errno != ENOENT)
			err = pr_errno(-errno, "removing the old link %s", PARENT_LINK);
		if (!err && symlinkat(o->prev_images_dir, dfd, PARENT_LINK))
			err = pr_errno(-errno, "link %s -> %s", PARENT_LINK, o->prev_images_dir);
		pc->has_parent = !err;
	}
	if (!err && track)
		err = pc->has_parent ? mem_tracker_take(pdfd, pc->parent_dump_id, &pc->taken)
				     : ((pc->taken = mem_track_set_new()) ? 0 : -ENOMEM);
	if (!err && !(pc->next = mem_track_set_new()))
		err = -ENOMEM;
	if (err) {
		precopy_end(pc, dfd, false);
		return err;
	}
	if (pc->has_parent)
		pc->parent_dfd = TAKE_FD(pdfd);
	*ret = pc;
	return 0;
}

void precopy_dedup(struct precopy *pc, int dfd, const struct pstree *tree)
{
	uint64_t bytes = 0;
	int err = 0;

	if (!pc || !pc->has_parent)
		return;
	for (unsigned i = 0; i < tree->nr && !err; i++)
		if (tree->tasks[i].kind == TASK_ALIVE)
			err = mem_parent_dedup(dfd, pc->parent_dfd, pc->parent_dump_id, pc->parent_pages_id,
					       tree->tasks[i].pid, &bytes);
	if (err)
		pr_warn("--auto-dedup stopped after %lu bytes: the parent keeps the rest (the images are whole)",
			(unsigned long)bytes);
	else
		pr_info("--auto-dedup: %lu bytes of the parent's pages punched out", (unsigned long)bytes);
}

int precopy_task_begin(struct precopy *pc, struct parasite_ctl *ctl, pid_t pid, const MmEntry *mm,
		       struct mem_track_task **ret)
{
	*ret = NULL;
	if (!pc || !pc->track)
		return 0;
	return mem_track_task_begin(ctl, pid, mm, mem_track_set_fd(pc->taken, pid),
				    pc->has_parent && mem_track_set_trusted(pc->taken), ret);
}

int precopy_task_end(struct precopy *pc, pid_t pid, struct mem_track_task *tt)
{
	uint64_t written, tracked;

	if (!tt)
		return 0;
	int fd = mem_track_task_take_uffd(tt);

	mem_track_task_stats(tt, &written, &tracked);
	if (tracked)
		pc->any_unchanged = true;
	/* A task that may not have a uffd: the next round copies it whole too. */
	return fd < 0 ? 0 : mem_track_set_add(pc->next, pid, fd);
}

void precopy_inventory(struct precopy *pc, InventoryEntry *inv)
{
	/* Only entries in_parent need the parent; a full copy stands alone. */
	if (pc && pc->has_parent && pc->any_unchanged) {
		inv->has_parent_dump_id = true;
		inv->parent_dump_id.len = IMG_DUMP_ID_SIZE;
		inv->parent_dump_id.data = pc->parent_dump_id;
	}
}

int precopy_end(struct precopy *pc, int dfd, bool keep_tracking)
{
	uint8_t id[IMG_DUMP_ID_SIZE];
	int err = 0;

	if (!pc)
		return 0;
	img_dump_id_get(id);
	if (keep_tracking && pc->next)
		err = mem_tracker_leave(pc->next, dfd, id);
	/* cr's copies: the tracker has its own, or the tasks are untracked from now on. */
	mem_track_set_free(pc->taken);
	mem_track_set_free(pc->next);
	if (pc->parent_dfd >= 0)
		close(pc->parent_dfd);
	free(pc);
	return err;
}

/* ---- cr pre-dump ----------------------------------------------------------- */

struct predump {
	const struct cr_options *o;
	int dfd;
	struct pstree tree;
	struct page_xfer *pages;
	struct precopy *pc;
	struct ns_dump *ns;
	struct mem_dump_stats mem;
	uint64_t memdump_us;
};

static int predump_infected(struct predump *p, pid_t pid, struct parasite_ctl *ctl, const MmEntry *mm,
			    struct img *pagemap)
{
	struct mem_track_task *tt = NULL;
	int err;

	/* Remote syscalls: before the blob runs in the task. */
	err = precopy_task_begin(p->pc, ctl, pid, mm, &tt);
	if (!err)
		err = infect_start_blob(ctl, parasite_blob, sizeof(parasite_blob), parasite_blob_offset__blob_start,
					PARASITE_DATA_SIZE);
	if (!err) {
		struct timespec t0;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		err = mem_dump_pages(ctl, pid, mm, pagemap, p->pages, NULL, tt, &p->mem);
		p->memdump_us += stats_us_since(&t0);
	}
	/* The cure writes to the task's memory (its stack): a page server must have its pages first. */
	if (!err)
		err = page_xfer_sync(p->pages);
	if (!err)
		err = cr_fail_point("predump-task");
	if (!err)
		err = precopy_task_end(p->pc, pid, tt);
	mem_track_task_free(tt);
	return err;
}

static int predump_task(struct predump *p, pid_t pid)
{
	_cleanup_img_ struct img *pagemap = NULL;
	struct parasite_ctl *ctl = NULL;
	struct proc_maps maps = { 0 };
	MmEntry mm = MM_ENTRY__INIT;
	uint64_t place;
	int err, e;

	err = proc_parse_maps(pid, &maps);
	if (!err)
		err = mem_collect_vmas(pid, &maps, &mm);
	if (!err)
		err = img_open(p->dfd, IMG_PAGEMAP, pid, O_WRONLY, &pagemap);
	place = err ? 0 : mem_trampoline_place(&mm, 0);
	if (!err && !place)
		err = pr_errno(-ENOEXEC, "pid %d: no vdso and no executable mapping to run the parasite from", pid);
	if (!err)
		err = infect_prepare(pid, place, &ctl);
	if (!err)
		err = predump_infected(p, pid, ctl, &mm, pagemap);
	e = infect_cure(ctl);
	if (!err)
		err = e;
	e = img_close(TAKE_PTR(pagemap));
	if (!err)
		err = e;
	mem_free_vmas(&mm);
	proc_maps_free(&maps);
	return err;
}

static int predump_inventory(struct predump *p)
{
	_cleanup_img_ struct img *img = NULL;
	InventoryEntry inv = INVENTORY_ENTRY__INIT;
	struct utsname u;
	int err;

	dump_inventory_init(&inv, p->o->pid, &u);
	inv.has_pre_dump = true;
	inv.pre_dump = true;
	precopy_inventory(p->pc, &inv);
	err = img_open(p->dfd, IMG_INVENTORY, 0, O_WRONLY, &img);
	if (!err)
		err = pb_write_one(img, &inv, PB_INVENTORY);
	return err ? err : img_close(TAKE_PTR(img));
}

/* The figures of a pre-dump that went through, for stats-dump and --stats. */
static void predump_stats(const struct predump *p, const struct timespec *t, uint64_t frozen_us,
			  struct dump_stats *s)
{
	s->pre_dump = true;
	s->nr_tasks = p->tree.nr_alive;
	s->total_us = stats_us_since(&t[0]);
	s->freezing_us = stats_us_between(&t[1], &t[2]);
	s->frozen_us = frozen_us;
	s->tasks_us = stats_us_between(&t[2], &t[3]);
	s->memdump_us = p->memdump_us;
	s->memwrite_us = p->mem.write_us;
	s->images_us = stats_us_since(&t[4]);
	s->pages_scanned = p->mem.pages_scanned;
	s->pages_written = p->mem.bytes / PAGE_SIZE;
	s->pages_skipped_parent = p->mem.parent_bytes / PAGE_SIZE;
	s->pages_zero = p->mem.zero_pages;
	s->page_pipes = p->mem.pipes;
	s->page_pipe_bufs = p->mem.pipe_fills;
}

enum { PD_START, PD_SEIZE, PD_SEIZED, PD_TASKS_DONE, PD_IMAGES, PD_NR_TIMES };

static int pre_dump(const struct cr_options *o, int dfd, uint64_t *ret_bytes)
{
	struct predump p = { .o = o, .dfd = dfd };
	struct timespec t[PD_NR_TIMES];
	uint64_t frozen_us;
	int err, e;

	clock_gettime(CLOCK_MONOTONIC, &t[PD_START]);
	infect_set_logger(log_line);
	infect_set_fault_hook(cr_fail_point);
	err = img_dump_dir_prepare(dfd, o->images_dir);
	/* A page server's connection from cr's own net namespace. */
	if (!err)
		err = page_xfer_open(o, dfd, 1, &p.pages);
	/* Every round tracks: the next one copies only what is written meanwhile. */
	if (!err)
		err = precopy_begin(o, dfd, true, &p.pc);
	/* Into the tree's net namespace: the parasite connects to cr there. */
	if (!err)
		err = ns_dump_begin(o->pid, &p.ns);
	clock_gettime(CLOCK_MONOTONIC, &t[PD_SEIZE]);
	if (!err)
		err = pstree_seize(o->pid, false, &p.tree);
	clock_gettime(CLOCK_MONOTONIC, &t[PD_SEIZED]);
	if (!err)
		progress_begin_tree("pre-dump", &p.tree);
	for (unsigned i = 0; i < p.tree.nr && !err; i++)
		if (p.tree.tasks[i].kind == TASK_ALIVE)
			err = predump_task(&p, p.tree.tasks[i].pid);
	progress_end();
	/* Spliced pages are the tree's own until the sink has them: before it runs on. */
	if (!err && p.pages)
		err = page_xfer_sync(p.pages);
	clock_gettime(CLOCK_MONOTONIC, &t[PD_TASKS_DONE]);
	/* The tree runs on, whatever happened; the rest is written while it does. */
	pstree_detach(&p.tree);
	frozen_us = stats_us_since(&t[PD_SEIZED]);
	clock_gettime(CLOCK_MONOTONIC, &t[PD_IMAGES]);
	if (!err) {
		err = page_xfer_commit(TAKE_PTR(p.pages));
	} else {
		page_xfer_free(TAKE_PTR(p.pages));
	}
	if (!err)
		err = cr_fail_point("predump-images");
	if (!err)
		err = predump_inventory(&p);
	if (!err && o->auto_dedup)
		precopy_dedup(p.pc, dfd, &p.tree);
	e = precopy_end(TAKE_PTR(p.pc), dfd, !err);
	/* A tracker that did not start: the image is no parent to track from. */
	if (!err && e && unlinkat(dfd, img_descs[IMG_INVENTORY].fmt, 0))
		pr_perror("removing %s after the tracker failed", img_descs[IMG_INVENTORY].fmt);
	if (!err)
		err = e;
	if (!err) {
		struct dump_stats st = { 0 };

		pr_info("pid %d: pre-dumped %u processes, %lu bytes of pages (%lu left in the parent), frozen for "
			"%.6f s", o->pid, p.tree.nr_alive, (unsigned long)p.mem.bytes,
			(unsigned long)p.mem.parent_bytes, frozen_us / 1e6);
		predump_stats(&p, t, frozen_us, &st);
		stats_write_dump(o, dfd, &st);
	} else
		pr_info("pre-dump of pid %d failed: %s", o->pid, strerror(-err));
	pstree_free(&p.tree);
	ns_dump_free(p.ns);
	close(dfd);
	*ret_bytes = p.mem.bytes;
	return err;
}

int cr_pre_dump(const struct cr_options *o, int dfd)
{
	uint64_t bytes;

	return pre_dump(o, dfd, &bytes);
}

#define PRE_COPY_DIR	"precopy-%u"

/*
 * One round in a child of cr's: a pre-dump enters the tree's namespaces,
 * and the dump after it must start from cr's own to see them. Takes @dfd.
 */
static int pre_dump_round(const struct cr_options *o, int dfd, uint64_t *ret_bytes)
{
	int p[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC)) {
		close(dfd);
		return pr_errno(-errno, "pipe for a pre-copy round");
	}
	pid = fork();
	if (pid < 0) {
		close(dfd);
		close(p[0]);
		close(p[1]);
		return pr_errno(-errno, "fork for a pre-copy round");
	}
	if (!pid) {
		uint64_t bytes = 0;
		int err = pre_dump(o, dfd, &bytes);

		_exit(err || write(p[1], &bytes, sizeof(bytes)) != sizeof(bytes));
	}
	close(dfd);
	close(p[1]);
	n = read(p[0], ret_bytes, sizeof(*ret_bytes));
	close(p[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) || n != sizeof(*ret_bytes))
		return pr_errno(-ECANCELED, "pre-copy round in %s failed (its log says why)", o->images_dir);
	return 0;
}

/*
 * dump --pre-copy[=N]: pre-dump rounds in -D/precopy-1, -2, ..., each the
 * parent of the next, while a round writes less than the one before (the
 * first copies everything), N at most; then the dump, the last round its
 * parent. The tree runs meanwhile; only the dump freezes it for long.
 */
int cr_dump_pre_copy(const struct cr_options *o, int dfd)
{
	struct cr_options ro = *o;
	char dir[PATH_MAX], prev[48] = "", sub[32];
	uint64_t last = UINT64_MAX;
	unsigned k;
	int err = 0;

	for (k = 1; k <= o->pre_copy_rounds && !err; k++) {
		uint64_t bytes = 0;
		int rdfd = -1;

		snprintf(sub, sizeof(sub), PRE_COPY_DIR, k);
		if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", o->images_dir, sub) >= sizeof(dir))
			err = pr_errno(-ENAMETOOLONG, "pre-copy directory %s/%s", o->images_dir, sub);
		if (!err)
			err = img_dir_lock(dir, IMG_DIR_DUMP, &rdfd);
		if (err)
			break;
		ro.images_dir = dir;
		ro.prev_images_dir = prev[0] ? prev : NULL;
		err = pre_dump_round(&ro, rdfd, &bytes);
		if (err)
			break;
		pr_info("pre-copy round %u: %lu bytes of pages", k, (unsigned long)bytes);
		snprintf(prev, sizeof(prev), "../%s", sub);
		if (bytes >= last)
			break;		/* the written set stopped shrinking */
		last = bytes;
	}
	if (err) {
		close(dfd);
		return err;
	}
	ro = *o;
	ro.prev_images_dir = prev + 3;	/* relative to -D itself */
	ro.track_mem = true;
	return cr_dump(&ro, dfd);
}
