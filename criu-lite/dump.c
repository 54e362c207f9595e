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
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "asm/arch.h"
#include "cleanup.h"
#include "core.h"
#include "cr.h"
#include "files.h"
#include "image.h"
#include "infect.h"
#include "inventory.pb-c.h"
#include "log.h"
#include "mem.h"
#include "parasite-abi.h"
#include "parasite-blob.h"
#include "proc-parse.h"
#include "pstree.pb-c.h"

struct dump_ctx {
	pid_t pid;
	int dfd;
	struct proc_stat stat;
	struct proc_maps maps;
	MmEntry mm;
	struct parasite_ctl *ctl;
	struct core_pending pending;
	struct img *imgs[IMG_TYPE_MAX];
	bool seized;
	uint64_t page_bytes;
	struct timespec t_seize;
};

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Refuses what this version cannot dump, before touching the task. */
static int check_target(pid_t pid)
{
	struct proc_status st;
	_cleanup_free_ char *children = NULL;
	char path[64];
	int err;

	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (access(path, F_OK))
		return pr_err("pid %d: no such process", pid), -ESRCH;
	err = proc_parse_status(pid, &st);
	if (err)
		return err;
	if (st.kthread)
		return pr_err("pid %d (%s) is a kernel thread; only user processes can be dumped",
			      pid, st.name), -EPERM;
	if (st.tgid != pid)
		return pr_err("pid %d is a thread of process %d; dump the process", pid, st.tgid), -EINVAL;
	if (st.state == 'T')
		return pr_err("pid %d is stopped (job control); stopped processes are not supported yet, "
			      "continue it with SIGCONT first", pid), -EOPNOTSUPP;
	if (st.tracer_pid)
		return pr_err("pid %d is already traced by pid %d (a debugger?)", pid, st.tracer_pid), -EBUSY;
	if (st.threads > 1)
		return pr_err("pid %d has %d threads; multi-threaded processes are not supported yet",
			      pid, st.threads), -EOPNOTSUPP;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	err = read_file_at(AT_FDCWD, path, &children, NULL);
	if (err)
		return err;
	children[strcspn(children, "\n")] = 0;
	if (children[0])
		return pr_err("pid %d has child processes (%.40s); process trees are not supported yet",
			      pid, children), -EOPNOTSUPP;
	return 0;
}

static uint64_t find_code_addr(const MmEntry *mm)
{
	size_t i;

	for (i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *v = mm->vmas[i];

		if ((v->prot & PROT_EXEC) && (v->kind == VMA_KIND__VMA_FILE_PRIVATE ||
					      v->kind == VMA_KIND__VMA_ANON_PRIVATE))
			return v->start;
	}
	return 0;
}

static int open_images(struct dump_ctx *d)
{
	static const enum img_type types[] = { IMG_CORE, IMG_MM, IMG_PAGEMAP, IMG_PAGES, IMG_FDINFO, IMG_FILES };
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(types); i++) {
		unsigned id = types[i] == IMG_PAGES ? 1 : (unsigned)d->pid;
		int err = img_open(d->dfd, types[i], id, O_WRONLY, &d->imgs[types[i]]);

		if (err)
			return err;
	}
	return 0;
}

static int dump_mm(struct dump_ctx *d, uint64_t brk)
{
	MmEntry *mm = &d->mm;
	_cleanup_free_ uint64_t *auxv = NULL;
	unsigned nr_auxv;
	char path[64], exe[PATH_MAX + 1];
	ssize_t n;
	int err;

	err = proc_parse_auxv(d->pid, &auxv, &nr_auxv);
	if (err)
		return err;
	snprintf(path, sizeof(path), "/proc/%d/exe", d->pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n < 0)
		return pr_errno(-errno, "readlink %s", path);
	exe[n] = 0;

	mm->start_code = d->stat.start_code;
	mm->end_code = d->stat.end_code;
	mm->start_data = d->stat.start_data;
	mm->end_data = d->stat.end_data;
	mm->start_stack = d->stat.start_stack;
	mm->start_brk = d->stat.start_brk;
	mm->brk = brk;
	mm->arg_start = d->stat.arg_start;
	mm->arg_end = d->stat.arg_end;
	mm->env_start = d->stat.env_start;
	mm->env_end = d->stat.env_end;
	mm->auxv = auxv;
	mm->n_auxv = nr_auxv;
	mm->exe = exe;
	err = pb_write_one(d->imgs[IMG_MM], mm, PB_MM);
	mm->auxv = NULL;
	mm->n_auxv = 0;
	mm->exe = NULL;
	return err;
}

/* Everything read while the task is frozen and infected. */
static int drain(struct dump_ctx *d)
{
	uint64_t brk = 0;
	int err;

	err = core_dump(d->pid, d->ctl, &d->stat, &d->pending, d->imgs[IMG_CORE], &brk);
	if (!err)
		err = dump_mm(d, brk);
	if (!err)
		err = mem_dump_pages(d->ctl, d->pid, &d->mm, d->imgs[IMG_PAGEMAP], d->imgs[IMG_PAGES],
				     &d->page_bytes);
	return err;
}

static int write_pstree(struct dump_ctx *d)
{
	_cleanup_img_ struct img *img = NULL;
	PstreeEntry e = PSTREE_ENTRY__INIT;
	uint32_t tid = d->pid;
	int err;

	err = img_open(d->dfd, IMG_PSTREE, 0, O_WRONLY, &img);
	if (err)
		return err;
	e.pid = d->pid;
	e.ppid = d->stat.ppid;
	e.pgid = d->stat.pgid;
	e.sid = d->stat.sid;
	e.threads = &tid;
	e.n_threads = 1;
	err = pb_write_one(img, &e, PB_PSTREE);
	if (!err)
		err = img_close(TAKE_PTR(img));
	return err;
}

/* Flushes every image, then writes the inventory that marks a complete dump. */
static int finish_images(struct dump_ctx *d)
{
	_cleanup_img_ struct img *img = NULL;
	InventoryEntry inv = INVENTORY_ENTRY__INIT;
	struct utsname u;
	unsigned i;
	int err = 0;

	for (i = 0; i < IMG_TYPE_MAX; i++) {
		int e = img_close(d->imgs[i]);

		d->imgs[i] = NULL;
		if (!err)
			err = e;
	}
	if (!err)
		err = write_pstree(d);
	if (!err)
		err = cr_fail_point("write-images");
	if (err)
		return err;

	uname(&u);
	inv.img_version = IMG_FORMAT_VERSION;
	inv.root_pid = d->pid;
	inv.tool_version = CR_VERSION;
	inv.xfeatures = arch_xfeatures();
	inv.xsave_size = arch_xsave_size();
	inv.kernel = u.release;
	inv.pages_id = 1;
	err = img_open(d->dfd, IMG_INVENTORY, 0, O_WRONLY, &img);
	if (!err)
		err = pb_write_one(img, &inv, PB_INVENTORY);
	if (!err)
		err = img_close(TAKE_PTR(img));
	return err;
}

/*
 * SIGKILL is final even for a stopped, traced task; not waiting for the
 * kernel to free its memory (tens of ms per GiB) is what makes a large
 * dump return as soon as the images are safe. Its parent reaps it.
 */
static int kill_task(pid_t pid)
{
	if (kill(pid, SIGKILL))
		return pr_errno(-errno, "pid %d: kill", pid);
	return 0;
}

static void dump_ctx_release(struct dump_ctx *d)
{
	unsigned i;

	for (i = 0; i < IMG_TYPE_MAX; i++)
		img_close(d->imgs[i]);
	mem_free_vmas(&d->mm);
	core_pending_free(&d->pending);
	proc_maps_free(&d->maps);
	if (d->dfd >= 0)
		close(d->dfd);
}

static int seize_and_dump(struct dump_ctx *d)
{
	uint64_t code;
	int err;

	err = proc_parse_stat(d->pid, &d->stat);
	if (!err)
		err = proc_parse_maps(d->pid, &d->maps);
	if (!err)
		err = mem_collect_vmas(d->pid, &d->maps, &d->mm);
	if (err)
		return err;
	code = find_code_addr(&d->mm);
	if (!code)
		return pr_errno(-ENOEXEC, "pid %d: no executable mapping to run the parasite from", d->pid);

	/*
	 * What needs a stopped task (ptrace reads) or must not see the
	 * parasite's socket (the fd table) comes before the parasite runs.
	 */
	err = open_images(d);
	if (!err)
		err = core_collect_pending(d->pid, &d->pending);
	if (!err)
		err = files_dump(d->pid, d->imgs[IMG_FILES], d->imgs[IMG_FDINFO]);
	if (!err)
		err = infect_prepare(d->pid, code, &d->ctl);
	if (!err)
		err = cr_fail_point("infect");
	if (!err)
		err = infect_start_blob(d->ctl, parasite_blob, sizeof(parasite_blob),
					parasite_blob_offset__blob_start,
					parasite_blob_offset__syscall_insn, PARASITE_DATA_SIZE);
	if (!err)
		err = drain(d);
	if (!err)
		err = cr_fail_point("cure");
	return err;
}

int cr_dump(void)
{
	struct dump_ctx d = { .pid = opts.pid, .dfd = -1, .mm = MM_ENTRY__INIT };
	int err, e;

	infect_set_logger(log_line);
	err = check_target(d.pid);
	if (!err)
		err = img_check_dir_for_dump(opts.images_dir, &d.dfd);
	if (!err)
		err = cr_fail_point("seize");
	if (!err)
		err = infect_seize(d.pid);
	if (err)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &d.t_seize);
	pr_info("pid %d: seized", d.pid);

	err = seize_and_dump(&d);

	/* Put the task back as it was, whatever happened. */
	e = infect_cure(d.ctl);
	d.ctl = NULL;
	if (!err)
		err = e;

	if (!err && opts.leave_running) {
		err = infect_detach(d.pid);
		pr_info("frozen for %.6f s", since(&d.t_seize));
		if (!err)
			err = finish_images(&d);
	} else if (!err) {
		err = finish_images(&d);
		if (err) {
			infect_detach(d.pid);
		} else {
			err = kill_task(d.pid);
			pr_info("frozen for %.6f s", since(&d.t_seize));
		}
	} else {
		infect_detach(d.pid);
	}
	if (!err)
		pr_info("pid %d: dumped, %lu bytes of pages", d.pid, (unsigned long)d.page_bytes);
out:
	/* The cause was logged where it happened; main() repeats it on stderr. */
	if (err)
		pr_info("dump of pid %d failed: %s", d.pid, strerror(-err));
	dump_ctx_release(&d);
	return err;
}
