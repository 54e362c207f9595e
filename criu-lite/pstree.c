/*
 * The process tree, dump and restore side. Dump: walk /proc from the
 * root, seize every thread, record zombies. Restore: read it back and
 * work out an order of fork(), setsid() and setpgid() the kernel
 * accepts, with helper tasks standing in for group leaders that are gone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "image.h"
#include "infect.h"
#include "cr.h"
#include "log.h"
#include "proc-parse.h"
#include "pstree.h"
#include "pstree.pb-c.h"

#define PSTREE_MAX_TASKS	65536

static int task_add(struct pstree *t, pid_t pid, int parent, int *ret_idx)
{
	struct pstree_task *n;

	if (t->nr >= PSTREE_MAX_TASKS)
		return pr_errno(-E2BIG, "the tree has more than %d processes", PSTREE_MAX_TASKS);
	n = xrealloc(t->tasks, sizeof(*n) * (t->nr + 1));
	if (!n)
		return -ENOMEM;
	t->tasks = n;
	n[t->nr] = (struct pstree_task){ .pid = pid, .parent = parent };
	*ret_idx = t->nr++;
	return 0;
}

static int add_tid(struct pstree_task *task, pid_t tid)
{
	pid_t *n = xrealloc(task->tids, sizeof(*n) * (task->nr_tids + 1));

	if (!n)
		return -ENOMEM;
	task->tids = n;
	n[task->nr_tids++] = tid;
	return 0;
}

pid_t pstree_ns_id(const struct pstree *t, pid_t id)
{
	for (unsigned i = 0; i < t->nr; i++) {
		const struct pstree_task *k = &t->tasks[i];

		if (!k->levels)
			return id;
		if (k->pid == id)
			return pstree_vpid(k);
		if (k->pgid == id)
			return k->ns_pgid;
		if (k->sid == id)
			return k->ns_sid;
	}
	return id;
}

struct pstree_task *pstree_find(const struct pstree *t, pid_t pid)
{
	for (unsigned i = 0; i < t->nr; i++)
		if (t->tasks[i].pid == pid)
			return &t->tasks[i];
	return NULL;
}

static bool has_tid(const struct pstree_task *task, pid_t tid)
{
	for (unsigned i = 0; i < task->nr_tids; i++)
		if (task->tids[i] == tid)
			return true;
	return false;
}

/* What cr refuses to touch, said before touching it. */
static int check_task(pid_t pid, bool root)
{
	struct proc_status st;
	int err = proc_parse_status(pid, &st);

	if (err)
		return err;
	if (st.kthread)
		return pr_errno(-EPERM, "pid %d (%s) is a kernel thread; only user processes can be dumped",
				pid, st.name);
	if (root && st.tgid != pid)
		return pr_errno(-EINVAL, "pid %d is a thread of process %d; dump the process", pid, st.tgid);
	if (st.tracer_pid)
		return pr_errno(-EBUSY, "pid %d (%s) is already traced by pid %d (a debugger?)", pid, st.name,
				st.tracer_pid);
	return 0;
}

static bool thread_gone(pid_t pid, pid_t tid)
{
	_cleanup_free_ char *buf = NULL;
	char path[64];
	struct proc_stat st;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	return read_file_at(AT_FDCWD, path, &buf, NULL) || parse_stat_buf(buf, &st) ||
	       st.state == 'Z' || st.state == 'X';
}

/* Seizes every thread of @task, listing them again until none is new. */
static int seize_threads(struct pstree_task *task, bool nowait)
{
	char path[64];
	bool added = true;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", task->pid);
	while (added && !err) {
		_cleanup_closedir_ DIR *d = opendir(path);
		struct dirent *de;

		if (!d)
			return pr_errno(-errno, "pid %d: opendir %s", task->pid, path);
		added = false;
		while (!err && (de = readdir(d))) {
			pid_t tid = atoi(de->d_name);

			if (tid <= 0 || has_tid(task, tid))
				continue;
			err = nowait ? infect_seize_nowait(tid) : infect_seize(tid);
			if ((err == -ESRCH || err == -EPERM) && tid != task->pid && thread_gone(task->pid, tid)) {
				err = 0;	/* the thread exited meanwhile */
				continue;
			}
			if (!err)
				err = add_tid(task, tid);
			if (!err) {
				task->nr_seized = task->nr_tids;
				added = true;
			}
		}
	}
	return err;
}

/* Main thread first: clone() callers look for it in tids[0]. */
static int seize_task(struct pstree *t, int idx, bool nowait)
{
	struct pstree_task *task = &t->tasks[idx];
	struct proc_stat st;
	int err;

	err = proc_parse_stat(task->pid, &st);
	if (!err && st.state != 'Z')
		err = check_task(task->pid, idx == 0);
	if (!err && st.state != 'Z') {
		err = nowait ? infect_seize_nowait(task->pid) : infect_seize(task->pid);
		/* An exiting task refuses PTRACE_SEIZE with EPERM, a dead one with ESRCH. */
		if ((err == -ESRCH || err == -EPERM) && !proc_parse_stat(task->pid, &st) && st.state == 'Z')
			err = 0;	/* exited just now: a zombie after all */
		else if (!err)
			err = add_tid(task, task->pid);
		if (!err && st.state != 'Z') {
			task->nr_seized = 1;
			err = seize_threads(task, nowait);
		}
	}
	if (err)
		return err;
	/* Stopped now (or dead): these no longer change. */
	err = proc_parse_stat(task->pid, &st);
	if (err)
		return err;
	task->stat = st;
	task->ppid = st.ppid;
	task->pgid = st.pgid;
	task->sid = st.sid;
	if (st.state == 'Z') {
		if (task->nr_tids > 1)
			return pr_errno(-EOPNOTSUPP, "pid %d: its main thread exited while others run; "
					"not supported", task->pid);
		task->kind = TASK_ZOMBIE;
		task->exit_code = st.exit_code;
		pr_debug("pid %d: zombie, exit code 0x%x", task->pid, st.exit_code);
	} else {
		task->kind = TASK_ALIVE;
		t->nr_alive++;
	}
	return 0;
}

#define SIGSTOP_BIT	(1ULL << (SIGSTOP - 1))

/*
 * After every thread of @task reported its seize stop: whether the
 * process is stopped by job control. It is when a thread reports its
 * part of a group stop, or a SIGSTOP is queued that the task has not
 * taken yet (the interrupt came first): that thread is let take it. A
 * group stop in progress is then completed: every thread still at a
 * plain interrupt stop joins it. No user code runs meanwhile, and the
 * dump sees a task in a group stop with no SIGSTOP pending.
 */
static int settle_stop(struct pstree_task *task)
{
	_cleanup_free_ int *sigs = xzalloc(sizeof(*sigs) * (task->nr_seized ? task->nr_seized : 1));
	struct proc_status st;
	pid_t taker = 0;
	int err;

	if (!sigs)
		return -ENOMEM;
	for (unsigned k = 0; k < task->nr_seized; k++) {
		err = infect_stop_sig(task->tids[k], &sigs[k]);
		if (!err)
			err = proc_parse_status(task->tids[k], &st);
		if (err)
			return err;
		if (sigs[k])
			task->stopped = true;
		else if (!taker && ((st.sig_pnd | st.shd_pnd) & SIGSTOP_BIT))
			taker = task->tids[k];
	}
	if (!task->stopped && !taker)
		return 0;
	if (!task->stopped) {
		pr_debug("pid %d: a SIGSTOP is pending, thread %d takes it", task->pid, taker);
		err = infect_join_group_stop(taker);
		if (err)
			return pr_errno(err, "pid %d: thread %d did not take its pending SIGSTOP", task->pid, taker);
		task->stopped = true;
	}
	for (unsigned k = 0; k < task->nr_seized; k++) {
		if (sigs[k] || task->tids[k] == taker)
			continue;
		err = infect_join_group_stop(task->tids[k]);
		if (err)
			return pr_errno(err, "pid %d: thread %d did not join its process's group stop", task->pid,
					task->tids[k]);
	}
	pr_debug("pid %d: stopped (job control), %u threads", task->pid, task->nr_seized);
	return 0;
}

static int settle_stops(struct pstree *t)
{
	int err = 0;

	for (unsigned i = 0; i < t->nr && !err; i++)
		if (t->tasks[i].kind == TASK_ALIVE)
			err = settle_stop(&t->tasks[i]);
	return err;
}

#define STOPPED_WAIT_MS		10000

int pstree_wait_stopped(const struct pstree_task *task)
{
	for (unsigned k = 0; k < task->nr_tids; k++) {
		for (unsigned waited = 0;; waited++) {
			_cleanup_free_ char *buf = NULL;
			char path[64];
			struct proc_stat st;

			snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", task->pid, task->tids[k]);
			if (read_file_at(AT_FDCWD, path, &buf, NULL) || parse_stat_buf(buf, &st) ||
			    st.state == 'T' || st.state == 'Z' || st.state == 'X')
				break;	/* stopped, or gone (whoever killed it is its business) */
			if (waited >= STOPPED_WAIT_MS)
				return pr_errno(-ETIMEDOUT, "pid %d: thread %d is not stopped again (state %c) "
						"%u ms after its release", task->pid, task->tids[k], st.state, waited);
			usleep(1000);
		}
	}
	return 0;
}

static bool task_gone(pid_t pid)
{
	struct proc_stat st;

	return proc_parse_stat(pid, &st) || st.state == 'X';
}

/* Adds the children of every thread of task @idx not seen yet. */
static int walk_children(struct pstree *t, int idx, bool nowait, bool *ret_new)
{
	unsigned i;
	int err = 0;

	for (i = 0; i < t->tasks[idx].nr_tids && !err; i++) {
		_cleanup_free_ char *buf = NULL;
		char path[80], *p, *end;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", t->tasks[idx].pid,
			 t->tasks[idx].tids[i]);
		err = read_file_at(AT_FDCWD, path, &buf, NULL);
		if (err)
			return err;
		for (p = buf; !err; p = end) {
			long pid = strtol(p, &end, 10);
			int child;

			if (end == p)
				break;
			if (pstree_find(t, pid))
				continue;
			err = task_add(t, pid, idx, &child);
			if (!err)
				err = seize_task(t, child, nowait);
			if ((err == -ESRCH || err == -ENOENT || err == -EPERM) && task_gone(pid)) {
				/* Exited and reaped while we looked: it is not part of the tree. */
				pr_debug("pid %ld: gone while seizing the tree", pid);
				while (t->tasks[child].nr_seized)
					infect_detach(t->tasks[child].tids[--t->tasks[child].nr_seized]);
				free(t->tasks[child].tids);
				t->nr--;
				err = 0;
			}
			*ret_new = true;
		}
	}
	return err;
}

int pstree_seize(pid_t root, bool frozen, struct pstree *ret)
{
	struct pstree t = { 0 };
	bool again = true;
	int idx, err;
	unsigned i;

	err = task_add(&t, root, -1, &idx);
	if (!err)
		err = seize_task(&t, 0, frozen);
	if (!err && t.tasks[0].kind == TASK_ZOMBIE)
		err = pr_errno(-ESRCH, "pid %d is a zombie; there is nothing to dump", root);
	/*
	 * A task seized late may have forked or cloned before it stopped:
	 * walk again until a whole pass finds nothing new.
	 */
	while (!err && again) {
		again = false;
		for (i = 0; i < t.nr && !err; i++) {
			if (t.tasks[i].kind != TASK_ALIVE)
				continue;
			err = seize_threads(&t.tasks[i], frozen);
			if (!err)
				err = walk_children(&t, i, frozen, &again);
		}
	}
	if (!err && !frozen)
		err = settle_stops(&t);
	if (!err)
		err = pstree_dump_sharing(&t);
	if (err) {
		pstree_detach(&t);
		pstree_free(&t);
		return err;
	}
	pr_info("tree of pid %d: %u processes (%u alive)", root, t.nr, t.nr_alive);
	*ret = t;
	return 0;
}

int pstree_wait_seized(struct pstree *t)
{
	int err = 0;

	for (unsigned i = 0; i < t->nr && !err; i++)
		for (unsigned k = 0; k < t->tasks[i].nr_seized && !err; k++)
			err = infect_seize_wait(t->tasks[i].tids[k]);
	return err ? err : settle_stops(t);
}

void pstree_detach(struct pstree *t)
{
	for (unsigned i = 0; i < t->nr; i++) {
		struct pstree_task *task = &t->tasks[i];

		if (!task->nr_seized)
			continue;
		while (task->nr_seized)
			infect_detach(task->tids[--task->nr_seized]);
		/* A stopped process stops again once detached: cr returns when it has. */
		if (task->stopped)
			(void)pstree_wait_stopped(task);	/* logged; the tree is released either way */
	}
}

int pstree_kill(struct pstree *t)
{
	int err = 0;

	/*
	 * SIGKILL is final even for a stopped, traced task; not waiting for
	 * the kernel to free the memory is what makes a large dump return as
	 * soon as the images are safe.
	 */
	for (unsigned i = 0; i < t->nr; i++) {
		struct pstree_task *task = &t->tasks[i];

		if (task->kind != TASK_ALIVE)
			continue;
		/*
		 * For the tests that kill cr halfway through (the guard must kill
		 * the rest); an injected error means nothing here: the images are
		 * complete, the tree goes.
		 */
		(void)cr_fail_point("kill-tree");
		if (kill(task->pid, SIGKILL) && !err)
			err = pr_errno(-errno, "pid %d: kill", task->pid);
		task->nr_seized = 0;
	}
	return err;
}

pid_t pstree_new_pid(const struct pstree *t, pid_t dumped)
{
	for (unsigned i = 0; i < t->nr; i++) {
		const struct pstree_task *k = &t->tasks[i];

		if (!k->img_pid)
			continue;
		if (k->img_pid == dumped)
			return k->pid;
		for (unsigned j = 0; k->img_tids && j < k->nr_tids; j++)
			if (k->img_tids[j] == dumped)
				return k->tids[j];
	}
	return dumped;
}

void pstree_free(struct pstree *t)
{
	for (unsigned i = 0; i < t->nr; i++) {
		free(t->tasks[i].tids);
		free(t->tasks[i].children);
		free(t->tasks[i].ns_pid);
		free(t->tasks[i].ns_tids);
		free(t->tasks[i].img_tids);
	}
	free(t->tasks);
	t->tasks = NULL;
	t->nr = 0;
}

int pstree_write(int dfd, const struct pstree *t)
{
	_cleanup_img_ struct img *img = NULL;
	int err;

	err = img_open(dfd, IMG_PSTREE, 0, O_WRONLY, &img);
	for (unsigned i = 0; i < t->nr && !err; i++) {
		const struct pstree_task *task = &t->tasks[i];
		PstreeEntry e = PSTREE_ENTRY__INIT;

		e.pid = task->pid;
		e.ppid = task->ppid;
		e.pgid = task->pgid;
		e.sid = task->sid;
		e.threads = (uint32_t *)task->tids;
		e.n_threads = task->nr_tids;
		e.has_state = true;
		e.state = task->kind == TASK_ZOMBIE ? TASK_STATE__TASK_STATE_ZOMBIE
			  : task->stopped	      ? TASK_STATE__TASK_STATE_STOPPED
						      : TASK_STATE__TASK_STATE_ALIVE;
		if (task->kind == TASK_ZOMBIE) {
			e.has_exit_code = true;
			e.exit_code = task->exit_code;
		}
		if (task->levels) {
			e.ns_pid = (uint32_t *)task->ns_pid;
			e.n_ns_pid = task->levels;
			e.ns_tids = (uint32_t *)task->ns_tids;
			e.n_ns_tids = task->ns_tids ? task->nr_tids * task->levels : 0;
			e.has_ns_pgid = e.has_ns_sid = true;
			e.ns_pgid = task->ns_pgid;
			e.ns_sid = task->ns_sid;
		}
		if (task->shares_fs)
			e.has_shares_fs = e.shares_fs = true;
		if (task->shares_files)
			e.has_shares_files = e.shares_files = true;
		if (task->pidns_child) {
			e.has_pidns_child = true;
			e.pidns_child = task->pidns_child;
		}
		err = pb_write_one(img, &e, PB_PSTREE);
	}
	if (!err)
		err = img_close(TAKE_PTR(img));
	return err;
}

/* ---- restore ------------------------------------------------------------ */

/*
 * The pid namespace levels of an entry: a child is in its parent's pid
 * namespace or is the init (pid 1) of one just below it.
 */
static int entry_levels(const struct pstree *t, struct pstree_task *task, const PstreeEntry *e)
{
	const struct pstree_task *p = task->parent >= 0 ? &t->tasks[task->parent] : NULL;
	unsigned lv = e->n_ns_pid, plv = p ? p->levels : 0;

	if (!lv)
		return p && p->levels ? pr_errno(-EBADMSG, "pstree.img: pid %u is outside its parent's pid namespace",
						 e->pid) : 0;
	if (lv > PSTREE_MAX_LEVELS || (e->n_ns_tids && e->n_ns_tids != e->n_threads * lv) ||
	    (task->kind == TASK_ALIVE && e->n_ns_tids != e->n_threads * lv))
		return pr_errno(-EBADMSG, "pstree.img: pid %u: its pids in pid namespaces do not add up", e->pid);
	if (p ? lv < plv || lv > plv + 1 : lv != 1)
		return pr_errno(-EBADMSG, "pstree.img: pid %u: its pid namespace is neither its parent's nor one below",
				e->pid);
	if (lv > plv && e->ns_pid[lv - 1] != 1)
		return pr_errno(-EBADMSG, "pstree.img: pid %u starts a pid namespace but is not its pid 1", e->pid);
	for (unsigned i = 0; i < lv; i++)
		if (!e->ns_pid[i] || e->ns_pid[i] > (1u << 22))
			return pr_errno(-EBADMSG, "pstree.img: pid %u: invalid pid %u in a pid namespace", e->pid,
					e->ns_pid[i]);
	task->levels = lv;
	task->ns_pid = xmalloc(sizeof(pid_t) * lv);
	task->ns_tids = e->n_ns_tids ? xmalloc(sizeof(pid_t) * e->n_ns_tids) : NULL;
	if (!task->ns_pid || (e->n_ns_tids && !task->ns_tids))
		return -ENOMEM;
	memcpy(task->ns_pid, e->ns_pid, sizeof(pid_t) * lv);
	if (e->n_ns_tids)
		memcpy(task->ns_tids, e->ns_tids, sizeof(pid_t) * e->n_ns_tids);
	task->ns_pgid = e->ns_pgid;
	task->ns_sid = e->ns_sid;
	return 0;
}

static int entry_to_task(struct pstree *t, const PstreeEntry *e)
{
	struct pstree_task *task;
	int idx, parent = -1, err;
	size_t i;

	if (e->pid == 0 || e->pid > (1u << 22))
		return pr_errno(-EBADMSG, "pstree.img: invalid pid %u", e->pid);
	if (pstree_find(t, e->pid))
		return pr_errno(-EBADMSG, "pstree.img: pid %u appears twice", e->pid);
	if (t->nr) {
		struct pstree_task *p = pstree_find(t, e->ppid);

		if (!p)
			return pr_errno(-EBADMSG, "pstree.img: the parent %u of pid %u comes after it or is missing",
					e->ppid, e->pid);
		parent = p - t->tasks;
	}
	err = task_add(t, e->pid, parent, &idx);
	if (err)
		return err;
	task = &t->tasks[idx];
	task->ppid = e->ppid;
	task->pgid = e->pgid;
	task->sid = e->sid;
	task->kind = e->has_state && e->state == TASK_STATE__TASK_STATE_ZOMBIE ? TASK_ZOMBIE : TASK_ALIVE;
	task->stopped = e->has_state && e->state == TASK_STATE__TASK_STATE_STOPPED;
	task->shares_fs = e->has_shares_fs && e->shares_fs;
	task->shares_files = e->has_shares_files && e->shares_files;
	if ((task->shares_fs || task->shares_files) &&
	    (task->kind != TASK_ALIVE || parent < 0 || t->tasks[parent].kind != TASK_ALIVE))
		return pr_errno(-EBADMSG, "pstree.img: pid %u shares the %s of a parent that is not alive",
				e->pid, task->shares_fs ? "fs info" : "fd table");
	task->exit_code = e->exit_code;
	task->pidns_child = e->has_pidns_child ? (pid_t)e->pidns_child : 0;
	if (task->kind == TASK_ALIVE) {
		if (!e->n_threads || e->threads[0] != e->pid)
			return pr_errno(-EBADMSG, "pstree.img: pid %u: its main thread is not listed first", e->pid);
		t->nr_alive++;
	}
	for (i = 0; i < e->n_threads && !err; i++)
		err = add_tid(task, e->threads[i]);
	return err ? err : entry_levels(t, task, e);
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * A task whose children go to another pid namespace names one of its
 * children that is the init of it, and has one thread (a thread cannot
 * be made once the namespaces differ: the restorer makes them after).
 */
static int check_pidns_child(const struct pstree *t)
{
	for (unsigned i = 0; i < t->nr; i++) {
		const struct pstree_task *task = &t->tasks[i], *c;

		if (!task->pidns_child)
			continue;
		c = pstree_find(t, task->pidns_child);
		if (task->kind != TASK_ALIVE || task->nr_tids != 1 || !c || c->parent != (int)i ||
		    c->levels != task->levels + 1)
			return pr_errno(-EBADMSG, "pstree.img: pid %d: its children's pid namespace is not one its "
					"child %d starts", task->pid, task->pidns_child);
	}
	return 0;
}

/* Every id once in the whole tree: PIDs, and the TIDs of other threads. */
static int check_unique_ids(const struct pstree *t)
{
	_cleanup_free_ pid_t *ids = NULL;
	size_t nr = 0, i;

	for (i = 0; i < t->nr; i++)
		nr += 1 + t->tasks[i].nr_tids;
	ids = xmalloc(sizeof(*ids) * nr);
	if (!ids)
		return -ENOMEM;
	nr = 0;
	for (i = 0; i < t->nr; i++) {
		ids[nr++] = t->tasks[i].pid;
		for (unsigned k = 1; k < t->tasks[i].nr_tids; k++)
			ids[nr++] = t->tasks[i].tids[k];
	}
	qsort(ids, nr, sizeof(*ids), cmp_pid);
	for (i = 1; i < nr; i++)
		if (ids[i] == ids[i - 1])
			return pr_errno(-EBADMSG, "pstree.img: pid or tid %d appears twice", ids[i]);
	return 0;
}

static int add_child(struct pstree_task *p, int child)
{
	int *n = xrealloc(p->children, sizeof(*n) * (p->nr_children + 1));

	if (!n)
		return -ENOMEM;
	p->children = n;
	n[p->nr_children++] = child;
	return 0;
}

/* The session a task is born into, i.e. its parent's at fork time. */
static pid_t born_sid(const struct pstree *t, int idx, pid_t cr_sid)
{
	const struct pstree_task *task = &t->tasks[idx];

	if (task->parent < 0)
		return cr_sid;
	if (task->before_setsid)
		return born_sid(t, task->parent, cr_sid);
	return t->tasks[task->parent].sid;
}

/*
 * A helper lives in its members' pid namespace, where its pid is their
 * group's: known for the namespace the members see, so only one below cr's.
 */
static int helper_levels(struct pstree_task *h, const struct pstree_task *m, const struct pstree_task *parent)
{
	if (!m->levels)
		return 0;
	if (m->levels != 1 || parent->levels != 1 || !m->ns_pgid)
		return pr_errno(-EOPNOTSUPP, "pid %d: its group %d has no leader in the tree, and a helper for it "
				"can be made only one pid namespace below cr's", m->pid, m->pgid);
	h->levels = 1;
	h->ns_pid = xmalloc(sizeof(pid_t));
	if (!h->ns_pid)
		return -ENOMEM;
	h->ns_pid[0] = h->ns_pgid = m->ns_pgid;
	h->ns_sid = m->ns_sid;
	return 0;
}

/*
 * A group whose leader is no longer in the tree gets a helper with the
 * leader's PID: it creates the group, waits until the members joined,
 * and exits. Its parent is a member's parent in the same session, or
 * the session leader.
 */
static int add_group_helpers(struct pstree *t, pid_t cr_pgid)
{
	unsigned i, nr = t->nr;
	int err = 0;

	for (i = 0; i < nr && !err; i++) {
		struct pstree_task *m = &t->tasks[i], *h, *p;
		int parent = -1, idx;

		/* cr's own group, which the root did not lead, exists already. */
		if (pstree_find(t, m->pgid) || (m->pgid == cr_pgid && t->tasks[0].pgid == cr_pgid))
			continue;
		if (m->parent >= 0 && t->tasks[m->parent].sid == m->sid)
			parent = m->parent;
		else if ((p = pstree_find(t, m->sid)))
			parent = p - t->tasks;
		if (parent < 0)
			return pr_errno(-EOPNOTSUPP, "pid %d: neither the leader of its group %d nor of its session %d "
					"is in the tree; cannot recreate the group", m->pid, m->pgid, m->sid);
		err = task_add(t, m->pgid, parent, &idx);
		if (err)
			return err;
		m = &t->tasks[i];
		h = &t->tasks[idx];
		h->kind = TASK_HELPER;
		h->ppid = t->tasks[parent].pid;
		h->pgid = m->pgid;
		h->sid = m->sid;
		err = helper_levels(h, m, &t->tasks[parent]);
		if (err)
			return err;
		pr_debug("pid %d: helper for group %d (session %d), child of %d", h->pid, h->pgid, h->sid, h->ppid);
	}
	return err;
}

static int plan_sessions(struct pstree *t, pid_t cr_sid)
{
	unsigned i;
	int err = 0;

	for (i = 1; i < t->nr; i++) {
		struct pstree_task *c = &t->tasks[i], *p = &t->tasks[c->parent];
		const struct pstree_task *leader = pstree_find(t, c->pgid);

		if (c->sid == c->pid && c->pgid != c->pid)
			return pr_errno(-EBADMSG, "pstree.img: pid %d leads session %d but not its group %d",
					c->pid, c->sid, c->pgid);
		if (leader && leader->sid != c->sid)
			return pr_errno(-EBADMSG, "pstree.img: pid %d: its group %d lives in another session",
					c->pid, c->pgid);
		if (c->sid == c->pid || c->sid == p->sid)
			continue;
		if (p->sid == p->pid && c->sid == born_sid(t, c->parent, cr_sid)) {
			c->before_setsid = true;
			continue;
		}
		return pr_errno(-EOPNOTSUPP, "pid %d: its session %d cannot be recreated from its parent %d "
				"(session %d)", c->pid, c->sid, p->pid, p->sid);
	}
	/* Children born before the parent's setsid() come first. */
	for (int pass = 1; pass >= 0 && !err; pass--)
		for (i = 1; i < t->nr && !err; i++)
			if (t->tasks[i].before_setsid == pass)
				err = add_child(&t->tasks[t->tasks[i].parent], i);
	return err;
}

/*
 * The root is born in cr's session and group; where it led neither, the
 * ids it had stand for cr's in the whole tree.
 */
static void map_root_ids(struct pstree *t, pid_t cr_sid, pid_t cr_pgid)
{
	pid_t sid = t->tasks[0].sid, pgid = t->tasks[0].pgid, pid = t->tasks[0].pid;

	for (unsigned i = 0; i < t->nr; i++) {
		if (sid != pid && t->tasks[i].sid == sid)
			t->tasks[i].sid = cr_sid;
		if (pgid != pid && t->tasks[i].pgid == pgid)
			t->tasks[i].pgid = cr_pgid;
	}
	if (sid != pid)
		pr_info("pid %d did not lead its session %d: it joins cr's (%d)", pid, sid, cr_sid);
}

int pstree_read(int dfd, pid_t cr_sid, struct pstree *ret)
{
	_cleanup_img_ struct img *img = NULL;
	struct pstree t = { 0 };
	int err;

	err = img_open(dfd, IMG_PSTREE, 0, O_RDONLY, &img);
	while (!err) {
		PstreeEntry *e;

		err = pb_read_one(img, (void **)&e, PB_PSTREE);
		if (err <= 0)
			break;
		err = entry_to_task(&t, e);
		pb_free(e, PB_PSTREE);
	}
	if (!err && !t.nr)
		err = pr_errno(-EBADMSG, "pstree.img: no processes");
	if (!err && t.tasks[0].kind != TASK_ALIVE)
		err = pr_errno(-EBADMSG, "pstree.img: the root %d is not alive", t.tasks[0].pid);
	if (!err)
		err = check_unique_ids(&t);
	if (!err)
		err = check_pidns_child(&t);
	if (!err) {
		map_root_ids(&t, cr_sid, getpgrp());
		err = add_group_helpers(&t, getpgrp());
	}
	if (!err)
		err = plan_sessions(&t, cr_sid);
	if (err) {
		pstree_free(&t);
		return err;
	}
	*ret = t;
	return 0;
}

void pstree_pid_user(pid_t pid, char *buf, size_t size)
{
	_cleanup_closedir_ DIR *d = opendir("/proc");
	struct dirent *de;

	buf[0] = '\0';
	while (d && (de = readdir(d))) {
		struct proc_stat st;
		int n = atoi(de->d_name);

		if (n <= 0 || proc_parse_stat(n, &st))
			continue;
		if (st.pgid == pid || st.sid == pid) {
			snprintf(buf, size, " (the %s of pid %d (%s))", st.sid == pid ? "session" : "process group",
				 n, st.comm);
			return;
		}
	}
}

int pstree_check_free(const struct pstree *t)
{
	char list[256] = "";
	size_t len = 0;
	unsigned nr = 0;

	for (unsigned i = 0; i < t->nr; i++) {
		const struct pstree_task *task = &t->tasks[i];

		for (unsigned k = 0; k < (task->nr_tids ? task->nr_tids : 1); k++) {
			pid_t id = task->nr_tids ? task->tids[k] : task->pid;
			char path[32];

			snprintf(path, sizeof(path), "/proc/%d", id);
			if (access(path, F_OK))
				continue;
			if (!nr++) {
				_cleanup_free_ char *comm = NULL;

				snprintf(path, sizeof(path), "/proc/%d/comm", id);
				if (!read_file_at(AT_FDCWD, path, &comm, NULL)) {
					comm[strcspn(comm, "\n")] = 0;
					len += snprintf(list + len, sizeof(list) - len, "%d (%s)", id, comm);
				} else {
					len += snprintf(list + len, sizeof(list) - len, "%d", id);
				}
			} else if (len < sizeof(list) - 16) {
				len += snprintf(list + len, sizeof(list) - len, ", %d", id);
			}
		}
	}
	if (nr)
		return pr_errno(-EEXIST, "%s %s in use; %s must be free to restore",
				nr == 1 ? "pid" : "pids", list, nr == 1 ? "it" : "they");
	return 0;
}
