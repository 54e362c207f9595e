/*
 * cgroup.img, restore side (cgroup.c reads and checks it): creates the
 * cgroups --manage-cgroups says to, sets their properties, moves the
 * holder into the namespace root and the tree's threads into their
 * cgroups, and removes what it created when the restore fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup-priv.h"
#include "cleanup.h"
#include "compiler.h"
#include "guard.h"
#include "log.h"
#include "proc-parse.h"
#include "pstree.h"

#define CG_EMPTY_TIMEOUT_MS	3000	/* the tasks of an abandoned tree leave its cgroups by then */
#define CG_EMPTY_POLL_MS	10

static bool touches(int mode)
{
	return mode != CG_MODE_NONE && mode != CG_MODE_IGNORE;
}

/*
 * A v1 cpuset made by mkdir has no cpus and no mems, and no task can
 * join it (ENOSPC) until it has some: it takes its parent's, as with
 * cgroup.clone_children. Saved properties are set after, when restored.
 */
static int cpuset_inherit(const char *dir)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	_cleanup_free_ char *parent = NULL;
	int err = 0;

	if (asprintf(&parent, "%s/..", dir) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(files) && !err; i++) {
		_cleanup_free_ char *v = NULL;

		err = cg_read(parent, files[i], &v);
		if (err)
			err = pr_errno(err, "cgroup %s: reading %s", parent, files[i]);
		else if (*v)
			err = cg_write(dir, files[i], v);
	}
	return err;
}

static int ref_host(struct cg_ref *r)
{
	return r->host ? 0 : cg_host_dir(r->controllers, r->path, &r->host);
}

/*
 * mkdir -p of @d's host directory below its hierarchy's mount, each
 * directory made recorded in c->created. *@ret_made: the last one was
 * made here. STRICT refuses any cgroup of the image that exists (its
 * ancestors made by mkdir -p are not the image's).
 */
static int make_dir(struct cgroup_img *c, struct cg_dir *d, bool *ret_made)
{
	_cleanup_free_ char *mnt = NULL, *p = NULL;
	int err = cg_host_dir(d->ref.controllers, "/", &mnt);
	bool made = false;

	if (err)
		return err;
	if (asprintf(&p, "%s%s", mnt, d->ref.path) < 0)
		return -ENOMEM;
	for (char *s = p + strlen(mnt) + 1;; s++) {
		char saved = *s;
		char **n;

		if (saved && saved != '/')
			continue;
		*s = 0;
		made = !mkdir(p, 0755);
		if (!made && errno != EEXIST) {
			err = pr_errno(-errno, "cgroup: mkdir %s", p);
			*s = saved;
			return err;
		}
		if (made) {
			n = xrealloc(c->created, (c->nr_created + 1) * sizeof(*n));
			if (!n || !(n[c->nr_created] = xstrdup(p))) {
				if (n)
					c->created = n;
				rmdir(p);
				return -ENOMEM;
			}
			c->created = n;
			c->nr_created++;
			pr_debug("cgroup: created %s\n", p);
			if (!cg_is_v2(d->ref.controllers) && cg_list_has(d->ref.controllers, "cpuset", 6))
				err = cpuset_inherit(p);
			if (err) {
				*s = saved;
				return err;
			}
		}
		*s = saved;
		if (!saved)
			break;
	}
	if (!made && c->mode == CG_MODE_STRICT)
		return pr_errno(-EEXIST, "cgroup %s exists already (--manage-cgroups=strict)", p);
	*ret_made = made;
	d->ref.host = TAKE_PTR(p);
	return 0;
}

/* Adds @p to c->planned unless it is there. */
static int plan_one(struct cgroup_img *c, const char *p)
{
	char **n;

	for (unsigned i = 0; i < c->nr_planned; i++)
		if (!strcmp(c->planned[i], p))
			return 0;
	n = xrealloc(c->planned, (c->nr_planned + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	c->planned = n;
	n[c->nr_planned] = xstrdup(p);
	if (!n[c->nr_planned])
		return -ENOMEM;
	c->nr_planned++;
	return 0;
}

/* c->planned: the directories make_dir() will create, parents first (those missing now). */
static int plan_dirs(struct cgroup_img *c)
{
	int err = 0;

	for (unsigned i = 0; !err && i < c->nr_dirs; i++) {
		_cleanup_free_ char *mnt = NULL, *p = NULL;

		err = cg_host_dir(c->dirs[i].ref.controllers, "/", &mnt);
		if (!err && asprintf(&p, "%s%s", mnt, c->dirs[i].ref.path) < 0)
			err = -ENOMEM;
		for (char *s = err ? NULL : p + strlen(mnt) + 1; s; s++) {
			char saved = *s;

			if (saved && saved != '/')
				continue;
			*s = 0;
			if (access(p, F_OK) && errno == ENOENT)
				err = plan_one(c, p);
			*s = saved;
			if (!saved || err)
				break;
		}
	}
	return err;
}

/* Deepest first, each once its tasks have left it (rmdir says EBUSY until then). */
static void remove_dirs(char *const *dirs, unsigned nr)
{
	int waited = 0;

	for (unsigned i = nr; i-- > 0;) {
		while (rmdir(dirs[i]) < 0 && errno == EBUSY && waited < CG_EMPTY_TIMEOUT_MS) {
			usleep(CG_EMPTY_POLL_MS * 1000);
			waited += CG_EMPTY_POLL_MS;
		}
		if (!access(dirs[i], F_OK))
			pr_warn("cgroup: cannot remove %s, which cr made: %s\n", dirs[i], strerror(errno));
	}
}

static unsigned guard_choose(void *arg, unsigned stage)
{
	(void)arg;
	(void)stage;
	return GUARD_NOTHING;	/* the tree's tasks are still in the cgroups */
}

/* In the guard, once cr is gone: its tree is not live (cr stopped us before the go). */
static void guard_finish(void *arg, unsigned stage)
{
	const struct cgroup_img *c = arg;

	(void)stage;
	remove_dirs(c->planned, c->nr_planned);
}

void cgroup_restore_unguard(struct cgroup_img *c)
{
	if (c)
		guard_stop(TAKE_PTR(c->guard));
}

void cgroup_restore_abandon(const struct cgroup_img *c)
{
	if (c)
		remove_dirs(c->created, c->nr_created);
}

int cgroup_restore_prepare(struct cgroup_img *c)
{
	int err = 0;

	if (!touches(c->mode))
		return 0;
	/* What cr makes must not outlive a cr killed before the tree is live. */
	err = plan_dirs(c);
	if (!err && c->nr_planned && !c->guard)
		err = guard_start(guard_choose, guard_finish, c, NULL, 0, &c->guard);
	for (unsigned i = 0; !err && i < c->nr_dirs; i++) {
		struct cg_dir *d = &c->dirs[i];
		bool made = false;

		free(TAKE_PTR(d->ref.host));
		err = make_dir(c, d, &made);
		/* soft: only what cr made; props, full, strict: all. */
		if (!err && d->nr_props && (made || c->mode != CG_MODE_SOFT))
			err = cg_props_restore(d->ref.host, d->props, d->nr_props);
	}
	if (err)
		cgroup_restore_undo(c);
	return err;
}

void cgroup_restore_undo(struct cgroup_img *c)
{
	if (!c)
		return;
	cgroup_restore_unguard(c);
	while (c->nr_created) {
		char *p = c->created[--c->nr_created];

		if (rmdir(p) < 0)
			pr_warn("cgroup: cannot remove %s, which cr made: %s\n", p, strerror(errno));
		free(p);
	}
}

int cgroup_join_ns_root(const struct cgroup_img *c)
{
	char pid[16];

	if (!c->has_cgns || !touches(c->mode))
		return 0;
	snprintf(pid, sizeof(pid), "%d", getpid());
	for (unsigned i = 0; i < c->nr_roots; i++) {
		_cleanup_free_ char *dir = NULL;
		int err = cg_host_dir(c->roots[i].controllers, c->roots[i].path, &dir);

		if (!err)
			err = cg_write(dir, "cgroup.procs", pid);
		if (err)
			return err;
	}
	return 0;
}

static struct cg_set *set_of(const struct cgroup_img *c, pid_t tid)
{
	for (unsigned i = 0; i < c->nr_tasks; i++)
		if (c->tasks[i].tid == tid)
			return &c->sets[c->tasks[i].set];
	return NULL;
}

static bool same_v2_cgroup(const struct cg_set *s, const char *path)
{
	for (unsigned i = 0; i < s->nr; i++)
		if (cg_is_v2(s->m[i].controllers))
			return !strcmp(s->m[i].path, path);
	return false;
}

/*
 * Whether @r is one of cr's own cgroups (@self: /proc/self/cgroup), where
 * every restored task is born: then nothing is written (the common case
 * of a restore where the dump was made).
 */
static bool is_crs(const struct cg_ref *r, const char *self)
{
	size_t clen = strlen(r->controllers), plen = strlen(r->path);

	for (const char *l = self; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		const char *c = strchr(l, ':');

		if (!c)
			break;
		c++;
		if (!strncmp(c, r->controllers, clen) && c[clen] == ':' && !strncmp(c + clen + 1, r->path, plen) &&
		    (c[clen + 1 + plen] == '\n' || !c[clen + 1 + plen]))
			return true;
	}
	return false;
}

/* @pid and @tid as the images name them, @now the thread's tid now. */
static int restore_thread(const struct cgroup_img *c, pid_t pid, pid_t tid, pid_t now, const char *self)
{
	struct cg_set *s = set_of(c, tid), *main_set = set_of(c, pid);
	char id[16];

	if (!s || !main_set)
		return pr_errno(-ENOENT, "cgroup.img: no cgroups of thread %d of pid %d", tid, pid);
	snprintf(id, sizeof(id), "%d", now);
	for (unsigned i = 0; i < s->nr; i++) {
		struct cg_ref *r = &s->m[i];
		const char *file = "tasks";
		int err;

		if (self && is_crs(r, self))
			continue;

		if (cg_is_v2(r->controllers)) {
			/* v2 moves whole processes; a thread elsewhere is in a threaded cgroup. */
			if (tid == pid)
				file = "cgroup.procs";
			else if (same_v2_cgroup(main_set, r->path))
				continue;
			else
				file = "cgroup.threads";
		}
		err = ref_host(r);
		if (!err)
			err = cg_write(r->host, file, id);
		if (err)
			return err;
	}
	return 0;
}

int cgroup_restore_tasks(const struct cgroup_img *c, const struct pstree *tree)
{
	_cleanup_free_ char *self = NULL;

	if (!touches(c->mode))
		return 0;
	if (read_file_at(AT_FDCWD, "/proc/self/cgroup", &self, NULL))
		self = NULL;	/* then every cgroup is written */
	for (unsigned i = 0; i < tree->nr; i++) {
		const struct pstree_task *t = &tree->tasks[i];

		if (t->kind != TASK_ALIVE)
			continue;
		for (unsigned j = 0; j < t->nr_tids; j++) {
			int err = t->img_tids ? restore_thread(c, t->img_pid, t->img_tids[j], t->tids[j], self) :
						restore_thread(c, t->pid, t->tids[j], t->tids[j], self);

			if (err)
				return err;
		}
	}
	return 0;
}
