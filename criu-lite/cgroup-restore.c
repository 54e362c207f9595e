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
#include "log.h"
#include "proc-parse.h"
#include "pstree.h"


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

int cgroup_restore_prepare(struct cgroup_img *c)
{
	int err = 0;

	if (!touches(c->mode))
		return 0;
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
