/*
 * cgroup.img: the tree's cgroups, dump and restore (namespaces.h).
 *
 * Dump. Every task's and thread's /proc/PID/task/TID/cgroup is read by
 * cr (in its own cgroup namespace, so paths are host paths); distinct
 * sets (one cgroup per hierarchy) are stored once, each thread names its
 * set by its dumped tid. The tree's root cgroup of every hierarchy is
 * recorded too:
 *   - with a cgroup namespace of its own (the root task's differs from
 *     cr's), the namespace's root: a child setns()es into it and reads
 *     the root task's cgroup file, whose paths are then relative to the
 *     namespace root; host path minus relative path is the root;
 *   - without, the root task's cgroup (criu's meaning: --cgroup-root
 *     replaces the root task's cgroup, and every cgroup below it moves
 *     along; cgroups of other tasks outside it stay where they were).
 * With --manage-cgroups props/full/strict the properties (cgroup-props.c)
 * are saved of every cgroup of a set and of its ancestors up to and
 * including the tree's root: that is the subtree a restore may create,
 * and parents come first (a v1 cpuset child needs its parent's cpus, a
 * v2 child's controllers the parent's subtree_control). criu saves the
 * whole subtree under the root; a cgroup without tasks of the tree is
 * not ours to recreate, so it is left out. The hierarchy's own root "/"
 * has no settable properties and is never saved, created or removed.
 *
 * Restore. cgroup_read() checks everything and applies --cgroup-root,
 * cgroup_restore_prepare() (cgroup-restore.c) creates and sets what the mode says (cr.h),
 * remembering each directory it made; cgroup_restore_undo() removes
 * them, deepest first. cgroup_join_ns_root() and cgroup_restore_tasks()
 * move the holder and the tree in.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup-priv.h"
#include "cgroup.pb-c.h"
#include "cleanup.h"
#include "image.h"
#include "log.h"
#include "pstree.h"

#define CGROUP_IMG_VERSION	1u
#define CG_PROC_FILE_MAX	(16u << 10)

/* ---- the model, both sides ---------------------------------------------- */

static void ref_fini(struct cg_ref *r)
{
	free(r->controllers);
	free(r->path);
	free(r->host);
}

static int ref_init(struct cg_ref *r, const char *controllers, const char *path)
{
	r->controllers = xstrdup(controllers);
	r->path = xstrdup(path);
	r->host = NULL;
	if (!r->controllers || !r->path) {
		ref_fini(r);
		return -ENOMEM;
	}
	return 0;
}

/* Grows *@arr (of *@nr elements of @size) by one zeroed element; returns it or NULL. */
static void *grow(void *arr, unsigned nr, size_t size)
{
	void **a = arr;
	char *n = xrealloc(*a, (nr + 1) * size);

	if (!n)
		return NULL;
	memset(n + nr * size, 0, size);
	*a = n;
	return n + nr * size;
}

static void set_fini(struct cg_set *s)
{
	for (unsigned i = 0; i < s->nr; i++)
		ref_fini(&s->m[i]);
	free(s->m);
}

void cgroup_free(struct cgroup_img *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->nr_roots; i++) {
		ref_fini(&c->roots[i]);
		if (c->moved_from)
			free(c->moved_from[i]);
	}
	free(c->moved_from);
	for (unsigned i = 0; i < c->nr_sets; i++)
		set_fini(&c->sets[i]);
	for (unsigned i = 0; i < c->nr_dirs; i++) {
		ref_fini(&c->dirs[i].ref);
		cg_props_free(c->dirs[i].props, c->dirs[i].nr_props);
	}
	for (unsigned i = 0; i < c->nr_created; i++)
		free(c->created[i]);
	free(c->roots);
	free(c->sets);
	free(c->tasks);
	free(c->dirs);
	free(c->created);
	for (unsigned i = 0; i < c->nr_planned; i++)
		free(c->planned[i]);
	free(c->planned);
	free(c);
}

static void cgroup_freep(struct cgroup_img **c) { cgroup_free(*c); }
#define _cleanup_cgroup_ __attribute__((cleanup(cgroup_freep)))

static const struct cg_ref *root_of(const struct cgroup_img *c, const char *controllers)
{
	for (unsigned i = 0; i < c->nr_roots; i++)
		if (!strcmp(c->roots[i].controllers, controllers))
			return &c->roots[i];
	return NULL;
}

/* The part of @path below @root ("" for @root itself), or NULL when it is not below. */
static const char *below(const char *path, const char *root)
{
	size_t n = strlen(root);

	if (!strcmp(root, "/"))
		return strcmp(path, "/") ? path : "";
	if (strncmp(path, root, n) || (path[n] && path[n] != '/'))
		return NULL;
	return path + n;
}

static int add_dir(struct cgroup_img *c, const char *controllers, const char *path)
{
	struct cg_dir *d;

	if (!strcmp(path, "/"))
		return 0;
	for (unsigned i = 0; i < c->nr_dirs; i++)
		if (!strcmp(c->dirs[i].ref.controllers, controllers) && !strcmp(c->dirs[i].ref.path, path))
			return 0;
	d = grow(&c->dirs, c->nr_dirs, sizeof(*c->dirs));
	if (!d || ref_init(&d->ref, controllers, path))
		return -ENOMEM;
	c->nr_dirs++;
	return 0;
}

static unsigned depth(const char *p)
{
	unsigned n = 0;

	for (; *p; p++)
		n += *p == '/';
	return n;
}

static int dir_cmp(const void *a, const void *b)
{
	const struct cg_dir *x = a, *y = b;
	unsigned dx = depth(x->ref.path), dy = depth(y->ref.path);

	if (dx != dy)
		return dx < dy ? -1 : 1;
	return strcmp(x->ref.path, y->ref.path);
}

/*
 * Adds every cgroup of a set, and its ancestors up to and including the
 * tree's root of its hierarchy, to the dirs (those missing), parents
 * first.
 */
static int collect_dirs(struct cgroup_img *c)
{
	for (unsigned s = 0; s < c->nr_sets; s++)
		for (unsigned m = 0; m < c->sets[s].nr; m++) {
			const struct cg_ref *r = &c->sets[s].m[m];
			const struct cg_ref *root = root_of(c, r->controllers);
			_cleanup_free_ char *p = xstrdup(r->path);
			const char *rest = root ? below(r->path, root->path) : NULL;

			if (!p)
				return -ENOMEM;
			/* Not below the root (a task moved out): only its own cgroup. */
			if (!rest) {
				if (add_dir(c, r->controllers, p))
					return -ENOMEM;
				continue;
			}
			for (;;) {
				char *slash;

				if (add_dir(c, r->controllers, p))
					return -ENOMEM;
				if (!strcmp(p, root->path) || !(slash = strrchr(p, '/')) || slash == p)
					break;
				*slash = 0;
			}
		}
	qsort(c->dirs, c->nr_dirs, sizeof(*c->dirs), dir_cmp);
	return 0;
}

/* ---- dump --------------------------------------------------------------- */

/*
 * Parses a /proc/PID/cgroup text ("ID:controllers:path" lines) into @s.
 * Returns 0 or -EINVAL (logged, naming @what).
 */
static int parse_cgroup_file(char *text, const char *what, struct cg_set *s)
{
	char *save = NULL;

	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		struct cg_ref *r;

		if (!c2 || c2[1] != '/')
			return pr_errno(-EINVAL, "cgroup: %s: bad line '%s'", what, l);
		*c2 = 0;
		/*
		 * A named hierarchy nobody mounts any more (its mount is gone,
		 * a cgroup below keeps it): every task is in its root, and a
		 * restored one is there too. Nothing to keep.
		 */
		if (!strncmp(c1 + 1, "name=", 5) && !strcmp(c2 + 1, "/") && !cg_is_mounted(c1 + 1)) {
			pr_debug("cgroup: %s: hierarchy %s is mounted nowhere, left out", what, c1 + 1);
			continue;
		}
		r = grow(&s->m, s->nr, sizeof(*s->m));
		if (!r || ref_init(r, c1 + 1, c2 + 1))
			return -ENOMEM;
		s->nr++;
	}
	return 0;
}

static int read_proc(const char *file, char **ret)
{
	_cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	ssize_t n;

	if (fd < 0)
		return pr_errno(-errno, "cgroup: open %s", file);
	buf = xmalloc(CG_PROC_FILE_MAX);
	if (!buf)
		return -ENOMEM;
	n = read(fd, buf, CG_PROC_FILE_MAX - 1);
	if (n < 0)
		return pr_errno(-errno, "cgroup: read %s", file);
	buf[n] = 0;
	*ret = TAKE_PTR(buf);
	return 0;
}

static bool set_eq(const struct cg_set *a, const struct cg_set *b)
{
	if (a->nr != b->nr)
		return false;
	for (unsigned i = 0; i < a->nr; i++)
		if (strcmp(a->m[i].controllers, b->m[i].controllers) || strcmp(a->m[i].path, b->m[i].path))
			return false;
	return true;
}

static int dump_thread(struct cgroup_img *c, pid_t pid, pid_t tid)
{
	char file[64];
	_cleanup_free_ char *text = NULL;
	struct cg_set s = { 0 };
	struct cg_task *t;
	unsigned i;
	int err;

	snprintf(file, sizeof(file), "/proc/%d/task/%d/cgroup", pid, tid);
	err = read_proc(file, &text);
	if (!err)
		err = parse_cgroup_file(text, file, &s);
	if (err)
		goto out;
	for (i = 0; i < c->nr_sets && !set_eq(&c->sets[i], &s); i++)
		;
	if (i == c->nr_sets) {
		struct cg_set *n = grow(&c->sets, c->nr_sets, sizeof(*c->sets));

		if (!n) {
			err = -ENOMEM;
			goto out;
		}
		*n = s;
		n->id = c->nr_sets++;
		memset(&s, 0, sizeof(s));
	}
	t = grow(&c->tasks, c->nr_tasks, sizeof(*c->tasks));
	if (!t) {
		err = -ENOMEM;
		goto out;
	}
	t->tid = tid;
	t->set = i;
	c->nr_tasks++;
out:
	set_fini(&s);
	return err;
}

static int ns_ino(pid_t pid, ino_t *ret)
{
	char p[64];
	struct stat st;

	if (pid)
		snprintf(p, sizeof(p), "/proc/%d/ns/cgroup", pid);
	else
		snprintf(p, sizeof(p), "/proc/self/ns/cgroup");
	if (stat(p, &st) < 0)
		return pr_errno(-errno, "cgroup: stat %s", p);
	*ret = st.st_ino;
	return 0;
}

/*
 * The root task's /proc/PID/cgroup as a task of its cgroup namespace
 * reads it: a child setns()es into the namespace (cr must not: it
 * would see its own paths relative to it) and sends the text back.
 */
static int read_in_cgns(pid_t root, char **ret)
{
	_cleanup_close_ int rd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	char ns[64];
	int p[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t child;

	snprintf(ns, sizeof(ns), "/proc/%d/ns/cgroup", root);
	if (pipe2(p, O_CLOEXEC) < 0)
		return pr_errno(-errno, "cgroup: pipe");
	child = fork();
	if (child < 0) {
		close(p[0]);
		close(p[1]);
		return pr_errno(-errno, "cgroup: fork to enter %s", ns);
	}
	if (!child) {
		char file[64], b[CG_PROC_FILE_MAX];
		int fd = open(ns, O_RDONLY | O_CLOEXEC), code = 1;

		close(p[0]);
		snprintf(file, sizeof(file), "/proc/%d/cgroup", root);
		if (fd >= 0 && !setns(fd, CLONE_NEWCGROUP)) {
			int f = open(file, O_RDONLY | O_CLOEXEC);
			ssize_t r = f >= 0 ? read(f, b, sizeof(b)) : -1;

			if (r >= 0 && write(p[1], b, r) == r)
				code = 0;
		}
		_exit(code);
	}
	close(p[1]);
	rd = p[0];
	buf = xmalloc(CG_PROC_FILE_MAX + 1);
	while (buf && (n = read(rd, buf + len, CG_PROC_FILE_MAX - len)) > 0)
		len += n;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (!buf)
		return -ENOMEM;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return pr_errno(-EIO, "cgroup: could not read pid %d's cgroups inside its namespace %s", root, ns);
	buf[len] = 0;
	*ret = TAKE_PTR(buf);
	return 0;
}

/* The roots of a tree in its own cgroup namespace: host path minus the path inside. */
static int dump_ns_roots(struct cgroup_img *c, pid_t root, const struct cg_set *host)
{
	_cleanup_free_ char *text = NULL;
	struct cg_set in = { 0 };
	int err;

	err = read_in_cgns(root, &text);
	if (!err)
		err = parse_cgroup_file(text, "cgroup namespace view", &in);
	if (!err && in.nr != host->nr)
		err = pr_errno(-EINVAL, "cgroup: pid %d: its namespace shows %u hierarchies, cr %u",
			       root, in.nr, host->nr);
	for (unsigned i = 0; !err && i < host->nr; i++) {
		const char *h = host->m[i].path, *r = in.m[i].path;
		size_t hl = strlen(h), rl = strcmp(r, "/") ? strlen(r) : 0;
		_cleanup_free_ char *nsroot = NULL;

		/* r starts with '/', so a matching suffix ends at a component boundary. */
		if (!strncmp(r, "/..", 3) || (rl && (rl > hl || strcmp(h + hl - rl, r)))) {
			err = pr_errno(-EINVAL, "cgroup: pid %d's cgroup %s:%s is outside its cgroup namespace (%s)",
				       root, host->m[i].controllers, h, r);
			break;
		}
		nsroot = hl == rl ? xstrdup("/") : strndup(h, hl - rl);
		if (!nsroot || ref_init(&c->roots[i], host->m[i].controllers, nsroot))
			err = -ENOMEM;
		else
			c->nr_roots++;
	}
	set_fini(&in);
	return err;
}

static int dump_roots(struct cgroup_img *c, const struct pstree *tree)
{
	pid_t root = tree->tasks[0].pid;
	const struct cg_set *s = NULL;
	ino_t mine, theirs;
	int err;

	for (unsigned i = 0; i < c->nr_tasks && !s; i++)
		if (c->tasks[i].tid == root)
			s = &c->sets[c->tasks[i].set];
	if (!s)
		return pr_errno(-EINVAL, "cgroup: root pid %d is not alive", root);
	err = ns_ino(0, &mine);
	if (!err)
		err = ns_ino(root, &theirs);
	if (err)
		return err;
	c->roots = xzalloc(s->nr * sizeof(*c->roots));
	if (!c->roots)
		return -ENOMEM;
	c->has_cgns = mine != theirs;
	if (c->has_cgns)
		return dump_ns_roots(c, root, s);
	for (unsigned i = 0; i < s->nr; i++) {
		if (ref_init(&c->roots[i], s->m[i].controllers, s->m[i].path))
			return -ENOMEM;
		c->nr_roots++;
	}
	return 0;
}

static CgroupRef *ref_pb(const struct cg_ref *r, CgroupRef *pb)
{
	cgroup_ref__init(pb);
	pb->controllers = r->controllers;
	pb->path = r->path;
	return pb;
}

static int write_refs(const struct cg_ref *refs, unsigned nr, CgroupRef ***ret_pp, CgroupRef **ret_p)
{
	*ret_p = xzalloc((nr + 1) * sizeof(**ret_p));
	*ret_pp = xzalloc((nr + 1) * sizeof(**ret_pp));
	if (!*ret_p || !*ret_pp)
		return -ENOMEM;
	for (unsigned i = 0; i < nr; i++)
		(*ret_pp)[i] = ref_pb(&refs[i], &(*ret_p)[i]);
	return 0;
}

static int write_image(const struct cgroup_img *c, int dfd)
{
	_cleanup_img_ struct img *img = NULL;
	_cleanup_free_ CgroupRef **rpp = NULL;
	_cleanup_free_ CgroupRef *rp = NULL;
	CgroupHead h = CGROUP_HEAD__INIT;
	int err;

	err = img_open(dfd, IMG_CGROUP, 0, O_WRONLY, &img);
	if (err)
		return err;
	if (write_refs(c->roots, c->nr_roots, &rpp, &rp))
		return -ENOMEM;
	h.has_version = h.has_has_cgns = true;
	h.version = CGROUP_IMG_VERSION;
	h.has_cgns = c->has_cgns;
	h.n_roots = c->nr_roots;
	h.roots = rpp;
	err = pb_write_one(img, &h, PB_CGROUP_HEAD);
	for (unsigned i = 0; !err && i < c->nr_sets; i++) {
		_cleanup_free_ CgroupRef **mpp = NULL;
		_cleanup_free_ CgroupRef *mp = NULL;
		CgroupObject o = CGROUP_OBJECT__INIT;

		if (write_refs(c->sets[i].m, c->sets[i].nr, &mpp, &mp))
			return -ENOMEM;
		o.kind = CGROUP_OBJ_KIND__CGROUP_OBJ_SET;
		o.has_id = true;
		o.id = c->sets[i].id;
		o.n_members = c->sets[i].nr;
		o.members = mpp;
		err = pb_write_one(img, &o, PB_CGROUP_OBJECT);
	}
	for (unsigned i = 0; !err && i < c->nr_tasks; i++) {
		CgroupObject o = CGROUP_OBJECT__INIT;

		o.kind = CGROUP_OBJ_KIND__CGROUP_OBJ_TASK;
		o.has_tid = o.has_set = true;
		o.tid = c->tasks[i].tid;
		o.set = c->sets[c->tasks[i].set].id;
		err = pb_write_one(img, &o, PB_CGROUP_OBJECT);
	}
	for (unsigned i = 0; !err && i < c->nr_dirs; i++) {
		const struct cg_dir *d = &c->dirs[i];
		_cleanup_free_ CgroupProp **ppp = xzalloc((d->nr_props + 1) * sizeof(*ppp));
		_cleanup_free_ CgroupProp *pp = xzalloc((d->nr_props + 1) * sizeof(*pp));
		CgroupObject o = CGROUP_OBJECT__INIT;
		CgroupRef r;

		if (!ppp || !pp)
			return -ENOMEM;
		for (unsigned j = 0; j < d->nr_props; j++) {
			cgroup_prop__init(&pp[j]);
			pp[j].name = d->props[j].name;
			pp[j].value = d->props[j].value;
			ppp[j] = &pp[j];
		}
		o.kind = CGROUP_OBJ_KIND__CGROUP_OBJ_DIR;
		o.dir = ref_pb(&d->ref, &r);
		o.n_props = d->nr_props;
		o.props = ppp;
		err = pb_write_one(img, &o, PB_CGROUP_OBJECT);
	}
	if (err)
		return err;
	return img_close(TAKE_PTR(img));
}

static bool wants_props(int mode)
{
	return mode == CG_MODE_PROPS || mode == CG_MODE_FULL || mode == CG_MODE_STRICT;
}

int cgroup_dump(const struct cr_options *o, const struct pstree *tree, int dfd)
{
	_cleanup_cgroup_ struct cgroup_img *c = xzalloc(sizeof(*c));
	int err = 0;

	if (!c)
		return -ENOMEM;
	if (!tree->nr || tree->tasks[0].kind != TASK_ALIVE)
		return pr_errno(-EINVAL, "cgroup: the tree's root is not alive");
	for (unsigned i = 0; !err && i < tree->nr; i++) {
		const struct pstree_task *t = &tree->tasks[i];

		if (t->kind != TASK_ALIVE)
			continue;
		for (unsigned j = 0; !err && j < t->nr_tids; j++)
			err = dump_thread(c, t->pid, t->tids[j]);
	}
	if (!err)
		err = dump_roots(c, tree);
	/* A hierarchy cr does not see could be neither read nor restored. */
	for (unsigned i = 0; !err && i < c->nr_roots; i++)
		err = cg_host_dir(c->roots[i].controllers, c->roots[i].path, &c->roots[i].host);
	if (!err && wants_props(o->manage_cgroups)) {
		err = collect_dirs(c);
		for (unsigned i = 0; !err && i < c->nr_dirs; i++) {
			struct cg_dir *d = &c->dirs[i];

			err = cg_host_dir(d->ref.controllers, d->ref.path, &d->ref.host);
			if (!err)
				err = cg_props_dump(d->ref.controllers, d->ref.host, &d->props, &d->nr_props);
		}
	}
	if (!err)
		err = write_image(c, dfd);
	if (!err)
		pr_info("cgroup: %u threads in %u sets, %u cgroups with properties%s\n", c->nr_tasks,
			c->nr_sets, c->nr_dirs, c->has_cgns ? ", own cgroup namespace" : "");
	return err;
}

/* ---- read --------------------------------------------------------------- */

/* An absolute path without "." or ".." components, empty components or a trailing '/'. */
static bool path_ok(const char *p)
{
	if (p[0] != '/' || strstr(p, "//") || (p[1] && p[strlen(p) - 1] == '/'))
		return false;
	for (const char *s = p; s; s = strchr(s + 1, '/'))
		if (!strncmp(s, "/./", 3) || !strcmp(s, "/.") || !strncmp(s, "/../", 4) || !strcmp(s, "/.."))
			return false;
	return true;
}

static int ref_from_pb(const CgroupRef *pb, struct cg_ref *r)
{
	if (!path_ok(pb->path) || strchr(pb->controllers, ':') || strchr(pb->controllers, '/'))
		return pr_errno(-EBADMSG, "cgroup.img: bad cgroup '%s:%s'", pb->controllers, pb->path);
	return ref_init(r, pb->controllers, pb->path);
}

static int read_head(struct img *img, struct cgroup_img *c)
{
	CgroupHead *h = NULL;
	int err;

	err = pb_read_one_required(img, (void **)&h, PB_CGROUP_HEAD);
	if (err)
		return err;
	if (!h->has_version || h->version != CGROUP_IMG_VERSION) {
		err = pr_errno(-EBADMSG, "cgroup.img: version %u, cr reads %u", h->version, CGROUP_IMG_VERSION);
		goto out;
	}
	c->has_cgns = h->has_cgns;
	c->roots = xzalloc((h->n_roots + 1) * sizeof(*c->roots));
	if (!c->roots) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; !err && i < h->n_roots; i++) {
		if (root_of(c, h->roots[i]->controllers))
			err = pr_errno(-EBADMSG, "cgroup.img: hierarchy '%s' twice", h->roots[i]->controllers);
		else if (!(err = ref_from_pb(h->roots[i], &c->roots[i])))
			c->nr_roots++;
	}
out:
	pb_free(h, PB_CGROUP_HEAD);
	return err;
}

static int find_set(const struct cgroup_img *c, unsigned id, unsigned *ret)
{
	for (unsigned i = 0; i < c->nr_sets; i++)
		if (c->sets[i].id == id) {
			*ret = i;
			return 0;
		}
	return -ENOENT;
}

static int read_set(struct cgroup_img *c, const CgroupObject *o)
{
	struct cg_set *s;
	unsigned dummy;

	if (!o->has_id || !o->n_members || !find_set(c, o->id, &dummy))
		return pr_errno(-EBADMSG, "cgroup.img: set %u: no id, no cgroups or twice", o->id);
	s = grow(&c->sets, c->nr_sets, sizeof(*c->sets));
	if (!s)
		return -ENOMEM;
	c->nr_sets++;
	s->id = o->id;
	s->m = xzalloc(o->n_members * sizeof(*s->m));
	if (!s->m)
		return -ENOMEM;
	for (size_t i = 0; i < o->n_members; i++) {
		int err;

		if (!root_of(c, o->members[i]->controllers))
			return pr_errno(-EBADMSG, "cgroup.img: set %u: hierarchy '%s' has no root", o->id,
					o->members[i]->controllers);
		for (unsigned j = 0; j < s->nr; j++)
			if (!strcmp(s->m[j].controllers, o->members[i]->controllers))
				return pr_errno(-EBADMSG, "cgroup.img: set %u: hierarchy '%s' twice", o->id,
						o->members[i]->controllers);
		err = ref_from_pb(o->members[i], &s->m[s->nr]);
		if (err)
			return err;
		s->nr++;
	}
	return 0;
}

static int read_task(struct cgroup_img *c, const CgroupObject *o)
{
	struct cg_task *t;
	unsigned set;

	if (!o->has_tid || !o->tid || o->tid > (uint32_t)INT32_MAX || !o->has_set || find_set(c, o->set, &set))
		return pr_errno(-EBADMSG, "cgroup.img: thread %u: bad tid or unknown set %u", o->tid, o->set);
	for (unsigned i = 0; i < c->nr_tasks; i++)
		if (c->tasks[i].tid == (pid_t)o->tid)
			return pr_errno(-EBADMSG, "cgroup.img: thread %u twice", o->tid);
	t = grow(&c->tasks, c->nr_tasks, sizeof(*c->tasks));
	if (!t)
		return -ENOMEM;
	t->tid = o->tid;
	t->set = set;
	c->nr_tasks++;
	return 0;
}

static int read_dir(struct cgroup_img *c, const CgroupObject *o)
{
	struct cg_dir *d;
	int err;

	if (!o->dir || !root_of(c, o->dir->controllers))
		return pr_errno(-EBADMSG, "cgroup.img: a cgroup without a path or of an unknown hierarchy");
	d = grow(&c->dirs, c->nr_dirs, sizeof(*c->dirs));
	if (!d)
		return -ENOMEM;
	err = ref_from_pb(o->dir, &d->ref);
	if (err)
		return err;
	c->nr_dirs++;
	if (!strcmp(d->ref.path, "/"))
		return pr_errno(-EBADMSG, "cgroup.img: properties of a hierarchy's root");
	d->props = xzalloc((o->n_props + 1) * sizeof(*d->props));
	if (!d->props)
		return -ENOMEM;
	for (size_t i = 0; i < o->n_props; i++) {
		const CgroupProp *p = o->props[i];

		if (!cg_prop_known(d->ref.controllers, p->name))
			return pr_errno(-EBADMSG, "cgroup.img: %s:%s: unknown property %s",
					d->ref.controllers, d->ref.path, p->name);
		d->props[i].name = xstrdup(p->name);
		d->props[i].value = xstrdup(p->value);
		d->nr_props++;
		if (!d->props[i].name || !d->props[i].value)
			return -ENOMEM;
	}
	return 0;
}

/* @path with its prefix @old replaced by @new, malloc'ed; NULL *@ret when not below @old. */
static int rebase(const char *path, const char *old, const char *new, char **ret)
{
	const char *rest = below(path, old);

	*ret = NULL;
	if (!rest)
		return 0;
	if (!strcmp(new, "/"))
		*ret = xstrdup(rest[0] ? rest : "/");
	else if (asprintf(ret, "%s%s", new, rest) < 0)
		*ret = NULL;
	return *ret ? 0 : -ENOMEM;
}

static int rebase_ref(struct cg_ref *r, const char *old, const char *new)
{
	char *n;
	int err = rebase(r->path, old, new, &n);

	if (!err && n) {
		free(r->path);
		r->path = n;
	}
	return err;
}

/*
 * --cgroup-root [CONTROLLER:]PATH: the tree's root of a hierarchy with
 * CONTROLLER among its controllers ("name=systemd" for a named one,
 * "unified", "cgroup2" or "" for v2: runc passes ":PATH", the way
 * /proc/PID/cgroup names it), or of every hierarchy without one
 * named, becomes PATH; every cgroup below the old root moves with it.
 */
static const char *new_root(const struct cr_options *o, const char *controllers)
{
	const char *all = NULL;

	for (unsigned i = 0; i < o->nr_cgroup_roots; i++) {
		const char *a = o->cgroup_roots[i], *colon = strchr(a, ':');
		size_t n = colon ? (size_t)(colon - a) : 0;

		if (a[0] == '/' || !colon)
			all = a;
		else if (cg_is_v2(controllers) ? (!n || !strncmp(a, "unified:", 8) || !strncmp(a, "cgroup2:", 8))
					       : n && cg_list_has(controllers, a, n))
			return colon + 1;
	}
	return all;
}

static int apply_cgroup_roots(const struct cr_options *o, struct cgroup_img *c)
{
	for (unsigned i = 0; i < o->nr_cgroup_roots; i++) {
		const char *a = o->cgroup_roots[i], *colon = strchr(a, ':');
		const char *p = a[0] == '/' || !colon ? a : colon + 1;

		if (!path_ok(p))
			return pr_errno(-EINVAL, "--cgroup-root %s: not an absolute cgroup path", a);
	}
	for (unsigned i = 0; i < c->nr_roots; i++) {
		struct cg_ref *root = &c->roots[i];
		const char *nr = new_root(o, root->controllers);
		_cleanup_free_ char *old = NULL;
		int err = 0;

		if (!nr)
			continue;
		if (!c->moved_from) {
			c->moved_from = xzalloc(c->nr_roots * sizeof(*c->moved_from));
			if (!c->moved_from)
				return -ENOMEM;
		}
		old = TAKE_PTR(root->path);
		root->path = xstrdup(nr);
		if (!root->path)
			return -ENOMEM;
		pr_info("cgroup: hierarchy '%s': root %s becomes %s\n", root->controllers, old, nr);
		for (unsigned s = 0; !err && s < c->nr_sets; s++)
			for (unsigned m = 0; !err && m < c->sets[s].nr; m++)
				if (!strcmp(c->sets[s].m[m].controllers, root->controllers))
					err = rebase_ref(&c->sets[s].m[m], old, nr);
		for (unsigned d = 0; !err && d < c->nr_dirs; d++)
			if (!strcmp(c->dirs[d].ref.controllers, root->controllers))
				err = rebase_ref(&c->dirs[d].ref, old, nr);
		if (err)
			return err;
		c->moved_from[i] = TAKE_PTR(old);
	}
	return 0;
}

int cgroup_mount_root(const struct cgroup_img *c, const char *fstype, const char *super_opts, const char *mountpoint,
		      const char *root, char **ret)
{
	*ret = NULL;
	for (unsigned i = 0; c->moved_from && i < c->nr_roots; i++) {
		const char *old = c->moved_from[i];
		int err;

		if (!old || !cg_mount_matches(c->roots[i].controllers, fstype, super_opts))
			continue;
		err = rebase(root, old, c->roots[i].path, ret);
		if (!err && !*ret)
			err = pr_errno(-EINVAL, "mount %s: it shows the cgroup %s, above the tree's root %s, which "
					       "--cgroup-root moves to %s",
				       mountpoint, root, old, c->roots[i].path);
		return err;
	}
	return 0;
}

int cgroup_read(const struct cr_options *o, int dfd, struct cgroup_img **ret)
{
	_cleanup_cgroup_ struct cgroup_img *c = xzalloc(sizeof(*c));
	_cleanup_img_ struct img *img = NULL;
	int err;

	if (!c)
		return -ENOMEM;
	c->mode = o->manage_cgroups;
	err = img_open(dfd, IMG_CGROUP, 0, O_RDONLY, &img);
	if (!err)
		err = read_head(img, c);
	while (!err) {
		CgroupObject *obj = NULL;

		err = pb_read_one(img, (void **)&obj, PB_CGROUP_OBJECT);
		if (err <= 0)
			break;
		switch (obj->kind) {
		case CGROUP_OBJ_KIND__CGROUP_OBJ_SET:
			err = read_set(c, obj);
			break;
		case CGROUP_OBJ_KIND__CGROUP_OBJ_TASK:
			err = read_task(c, obj);
			break;
		case CGROUP_OBJ_KIND__CGROUP_OBJ_DIR:
			err = read_dir(c, obj);
			break;
		default:
			err = pr_errno(-EBADMSG, "cgroup.img: unknown record kind %u", obj->kind);
		}
		pb_free(obj, PB_CGROUP_OBJECT);
	}
	if (err)
		return err;
	if (!c->nr_tasks)
		return pr_errno(-EBADMSG, "cgroup.img: no thread");
	err = apply_cgroup_roots(o, c);
	if (!err)
		err = collect_dirs(c);
	if (err)
		return err;
	*ret = TAKE_PTR(c);
	return 0;
}
