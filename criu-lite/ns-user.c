/*
 * The tree's user namespace (namespaces.h): its uid and gid maps and its
 * setgroups setting, in ns.img's user entry.
 *
 * Every id in the images is as cr's user namespace sees it: /proc/PID/
 * status, stat() of the tree's files and /proc/sysvipc all show ids that
 * way to cr, and the maps are read the same way (/proc/PID/uid_map read
 * from cr's namespace gives the ids inside and cr's). Only what a task
 * of the tree passes to the kernel itself needs ids as its namespace sees
 * them: its creds, which the restorer sets from inside; userns_creds()
 * translates them.
 */
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "namespaces.h"
#include "ns.pb-c.h"
#include "proc-parse.h"
#include "restorer-abi.h"

struct userns {
	struct userns_map uid, gid;
	bool setgroups_allow;
	/* dump: the entry's extents, pointing into @pb */
	IdExtent pb[2][USERNS_MAP_MAX];
	IdExtent *pbp[2][USERNS_MAP_MAX];
	/* restore: the root's groups as cr sees them (setgroups denied: every task has them) */
	uint32_t *root_groups;
	unsigned nr_root_groups;
	bool have_root_groups;
};

/* ---- maps: the text of /proc/PID/{uid,gid}_map ------------------------------- */

int userns_map_parse(const char *text, struct userns_map *ret)
{
	struct userns_map m = { 0 };
	const char *p = text;

	while (*p) {
		unsigned long v[3];
		char *end;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\n') {
			p++;
			continue;
		}
		if (!*p)
			break;
		for (int i = 0; i < 3; i++) {
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p < '0' || *p > '9')
				return -EINVAL;
			v[i] = strtoul(p, &end, 10);
			if (v[i] > UINT32_MAX)
				return -ERANGE;
			p = end;
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p && *p != '\n')
			return -EINVAL;
		if (m.nr == USERNS_MAP_MAX)
			return -E2BIG;
		m.e[m.nr++] = (struct userns_extent){ .first = v[0], .lower_first = v[1], .count = v[2] };
	}
	*ret = m;
	return 0;
}

/* Whether [a, a+na) and [b, b+nb) meet. */
static bool ranges_meet(uint64_t a, uint64_t na, uint64_t b, uint64_t nb)
{
	return a < b + nb && b < a + na;
}

int userns_map_check(const struct userns_map *m)
{
	if (!m->nr)
		return -ENOENT;
	if (m->nr > USERNS_MAP_MAX)
		return -E2BIG;
	for (unsigned i = 0; i < m->nr; i++) {
		const struct userns_extent *e = &m->e[i];

		/* What the kernel takes: no empty extent, none past (u32)-1, which is never an id. */
		if (!e->count || (uint64_t)e->first + e->count > UINT32_MAX ||
		    (uint64_t)e->lower_first + e->count > UINT32_MAX)
			return -ERANGE;
		for (unsigned j = 0; j < i; j++)
			if (ranges_meet(e->first, e->count, m->e[j].first, m->e[j].count) ||
			    ranges_meet(e->lower_first, e->count, m->e[j].lower_first, m->e[j].count))
				return -EEXIST;
	}
	return 0;
}

int userns_map_format(const struct userns_map *m, char *buf, size_t size)
{
	size_t len = 0;

	if (size)
		buf[0] = 0;
	for (unsigned i = 0; i < m->nr; i++) {
		int n = snprintf(buf + len, size - len, "%" PRIu32 " %" PRIu32 " %" PRIu32 "\n", m->e[i].first,
				 m->e[i].lower_first, m->e[i].count);

		if (n < 0 || (size_t)n >= size - len)
			return -E2BIG;
		len += n;
	}
	return len;
}

int userns_map_to_inside(const struct userns_map *m, uint32_t outside, uint32_t *ret)
{
	for (unsigned i = 0; i < m->nr; i++) {
		const struct userns_extent *e = &m->e[i];

		if (outside >= e->lower_first && (uint64_t)outside < (uint64_t)e->lower_first + e->count) {
			*ret = e->first + (outside - e->lower_first);
			return 0;
		}
	}
	return -ERANGE;
}

int userns_map_to_outside(const struct userns_map *m, uint32_t in, uint32_t *ret)
{
	for (unsigned i = 0; i < m->nr; i++) {
		const struct userns_extent *e = &m->e[i];

		if (in >= e->first && (uint64_t)in < (uint64_t)e->first + e->count) {
			*ret = e->lower_first + (in - e->first);
			return 0;
		}
	}
	return -ERANGE;
}

/* ---- dump ---------------------------------------------------------------------- */

static int read_map(pid_t pid, const char *name, struct userns_map *m)
{
	_cleanup_free_ char *buf = NULL;
	char path[64];
	int err;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	err = read_file_at(AT_FDCWD, path, &buf, NULL);
	if (err)
		return pr_errno(err, "pid %d: reading its user namespace's %s", pid, name);
	err = userns_map_parse(buf, m);
	if (!err)
		err = userns_map_check(m);
	if (err == -ENOENT)
		return pr_errno(-EOPNOTSUPP, "pid %d: its user namespace has no %s yet; nothing can run as anyone in it",
				pid, name);
	if (err)
		return pr_errno(-EPROTO, "%s: a map the kernel should not have shown", path);
	return 0;
}

int userns_dump_read(pid_t pid, struct userns **ret)
{
	_cleanup_free_ struct userns *u = xzalloc(sizeof(*u));
	_cleanup_free_ char *sg = NULL;
	char path[64];
	int err;

	if (!u)
		return -ENOMEM;
	err = read_map(pid, "uid_map", &u->uid);
	if (!err)
		err = read_map(pid, "gid_map", &u->gid);
	if (err)
		return err;
	snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
	err = read_file_at(AT_FDCWD, path, &sg, NULL);
	if (err)
		return pr_errno(err, "pid %d: reading its user namespace's setgroups", pid);
	if (!strncmp(sg, "allow", 5))
		u->setgroups_allow = true;
	else if (strncmp(sg, "deny", 4))
		return pr_errno(-EPROTO, "%s: neither allow nor deny", path);
	*ret = TAKE_PTR(u);
	return 0;
}

static void fill_map(const struct userns_map *m, IdExtent *pb, IdExtent **pbp, size_t *ret_n, IdExtent ***ret)
{
	for (unsigned i = 0; i < m->nr; i++) {
		id_extent__init(&pb[i]);
		pb[i].first = m->e[i].first;
		pb[i].lower_first = m->e[i].lower_first;
		pb[i].count = m->e[i].count;
		pbp[i] = &pb[i];
	}
	*ret_n = m->nr;
	*ret = pbp;
}

void userns_dump_fill(struct userns *u, struct NsEntry *e)
{
	fill_map(&u->uid, u->pb[0], u->pbp[0], &e->n_uid_map, &e->uid_map);
	fill_map(&u->gid, u->pb[1], u->pbp[1], &e->n_gid_map, &e->gid_map);
	e->has_setgroups_allow = true;
	e->setgroups_allow = u->setgroups_allow;
}

/* ---- restore ------------------------------------------------------------------- */

static int read_pb_map(IdExtent **x, size_t n, const char *what, struct userns_map *m)
{
	int err;

	if (n > USERNS_MAP_MAX)
		return pr_errno(-EBADMSG, "ns.img: the user namespace's %s has %zu extents; the kernel takes %u",
				what, n, USERNS_MAP_MAX);
	m->nr = n;
	for (size_t i = 0; i < n; i++)
		m->e[i] = (struct userns_extent){ .first = x[i]->first, .lower_first = x[i]->lower_first,
						  .count = x[i]->count };
	err = userns_map_check(m);
	if (err == -ENOENT)
		return pr_errno(-EBADMSG, "ns.img: the user namespace has no %s", what);
	if (err == -EEXIST)
		return pr_errno(-EBADMSG, "ns.img: the user namespace's %s has overlapping extents", what);
	if (err)
		return pr_errno(-EBADMSG, "ns.img: the user namespace's %s has an empty or too long extent", what);
	return 0;
}

/* The tree's user namespace, in cr at restore (userns_euid_begin()). */
static const struct userns *tree_ns;
static int saved_dumpable;

void userns_euid_begin(uid_t *ret_saved)
{
	uint32_t root = 0;

	*ret_saved = (uid_t)-1;
	if (!tree_ns || userns_map_to_outside(&tree_ns->uid, 0, &root))
		return;
	/* The raw syscall: this thread only (glibc would change every thread's). */
	*ret_saved = geteuid();
	saved_dumpable = prctl(PR_GET_DUMPABLE);
	if (syscall(SYS_setresuid, -1, root, -1))
		*ret_saved = (uid_t)-1;
}

/*
 * Changing an euid or fsuid makes the process not dumpable (suid_dumpable):
 * what cr forks would then refuse the ptrace-like checks between the
 * tree's tasks (setns() through a pidfd), and cr's own ones.
 */
static void dumpable_back(void)
{
	if (saved_dumpable > 0 && prctl(PR_SET_DUMPABLE, saved_dumpable))
		pr_perror("making cr dumpable again");
}

void userns_euid_end(uid_t saved)
{
	/* Back to euid 0: the effective capabilities come back from the permitted ones. */
	if (saved != (uid_t)-1 && syscall(SYS_setresuid, -1, saved, -1))
		pr_perror("getting cr's euid %u back", saved);
	if (saved != (uid_t)-1)
		dumpable_back();
}

void userns_fsid_begin(uint32_t *ret_uid, uint32_t *ret_gid)
{
	uint32_t uid, gid;

	*ret_uid = *ret_gid = (uint32_t)-1;
	if (!tree_ns || userns_map_to_outside(&tree_ns->uid, 0, &uid) ||
	    userns_map_to_outside(&tree_ns->gid, 0, &gid))
		return;
	/* Raw: this thread only. setfsuid() returns the old id whatever happens. */
	saved_dumpable = prctl(PR_GET_DUMPABLE);
	*ret_gid = syscall(SYS_setfsgid, gid);
	*ret_uid = syscall(SYS_setfsuid, uid);
}

void userns_fsid_end(uint32_t uid, uint32_t gid)
{
	/* Back to fsuid 0: the file system capabilities come back from the permitted ones. */
	if (uid != (uint32_t)-1)
		syscall(SYS_setfsuid, uid);
	if (gid != (uint32_t)-1)
		syscall(SYS_setfsgid, gid);
	if (uid != (uint32_t)-1)
		dumpable_back();
}

int userns_read(const struct NsEntry *e, struct userns **ret)
{
	_cleanup_free_ struct userns *u = xzalloc(sizeof(*u));
	int err;

	if (!u)
		return -ENOMEM;
	if (!e->has_setgroups_allow)
		return pr_errno(-EBADMSG, "ns.img: the user namespace's entry has no setgroups setting");
	err = read_pb_map(e->uid_map, e->n_uid_map, "uid_map", &u->uid);
	if (!err)
		err = read_pb_map(e->gid_map, e->n_gid_map, "gid_map", &u->gid);
	if (err)
		return err;
	u->setgroups_allow = e->setgroups_allow;
	tree_ns = u;
	*ret = TAKE_PTR(u);
	return 0;
}

static int write_proc(pid_t pid, const char *name, const char *buf, size_t len)
{
	_cleanup_close_ int fd = -EBADF;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno(-errno, "opening %s", path);
	/* One write: the kernel takes a map whole, once. */
	if (write(fd, buf, len) != (ssize_t)len)
		return pr_errno(errno ? -errno : -EIO, "writing %s", path);
	return 0;
}

int userns_write_maps(const struct userns *u, pid_t pid)
{
	char buf[USERNS_MAP_MAX * 36 + 1];
	int len, err;

	/* setgroups first: "deny" is refused once gid_map is written. */
	err = write_proc(pid, "setgroups", u->setgroups_allow ? "allow" : "deny", u->setgroups_allow ? 5 : 4);
	len = userns_map_format(&u->uid, buf, sizeof(buf));
	if (!err && len < 0)
		err = pr_errno(len, "formatting the uid_map");
	if (!err)
		err = write_proc(pid, "uid_map", buf, len);
	len = userns_map_format(&u->gid, buf, sizeof(buf));
	if (!err && len < 0)
		err = pr_errno(len, "formatting the gid_map");
	if (!err)
		err = write_proc(pid, "gid_map", buf, len);
	return err;
}

bool userns_setgroups_allowed(const struct userns *u)
{
	return u->setgroups_allow;
}

static int inside(const struct userns_map *m, pid_t pid, const char *what, uint32_t *id)
{
	uint32_t v;

	if (userns_map_to_inside(m, *id, &v))
		return pr_errno(-EOPNOTSUPP, "core-%d.img: its %s %u has no id in the tree's user namespace", pid, what,
				*id);
	*id = v;
	return 0;
}

int userns_creds(struct userns *u, pid_t pid, bool is_root, struct restorer_creds *c)
{
	uint32_t *groups = (uint32_t *)(uintptr_t)c->groups;
	uint32_t *uids[] = { &c->uid, &c->euid, &c->suid, &c->fsuid };
	uint32_t *gids[] = { &c->gid, &c->egid, &c->sgid, &c->fsgid };
	int err = 0;

	/*
	 * Groups the task has as the root had them: the root's creator sets
	 * them from outside (userns_enter()), every task inherits them and
	 * the restorer keeps them. That covers groups inherited from outside,
	 * which may have no id inside, and setgroups denied, where nobody in
	 * the namespace could have changed them. Other groups the task set
	 * itself, from inside: they are mapped.
	 */
	if (is_root && !u->have_root_groups) {
		u->root_groups = xmalloc(sizeof(uint32_t) * (c->nr_groups + 1));
		if (!u->root_groups)
			return -ENOMEM;
		memcpy(u->root_groups, groups, sizeof(uint32_t) * c->nr_groups);
		u->nr_root_groups = c->nr_groups;
		u->have_root_groups = true;
	}
	if (u->have_root_groups && c->nr_groups == u->nr_root_groups &&
	    !memcmp(groups, u->root_groups, sizeof(uint32_t) * c->nr_groups))
		c->keep_groups = 1;
	else if (!u->setgroups_allow)
		return pr_errno(-EOPNOTSUPP, "core-%d.img: its groups are not the root's, and setgroups is "
				"denied in the tree's user namespace", pid);
	for (unsigned i = 0; i < c->nr_groups && !err && !c->keep_groups; i++)
		err = inside(&u->gid, pid, "group", &groups[i]);
	for (unsigned i = 0; i < ARRAY_SIZE(uids) && !err; i++)
		err = inside(&u->uid, pid, "uid", uids[i]);
	for (unsigned i = 0; i < ARRAY_SIZE(gids) && !err; i++)
		err = inside(&u->gid, pid, "gid", gids[i]);
	return err;
}

/* The user namespace this process entered (the holder, the root's creator): ids it passes to the kernel are inside ones. */
static const struct userns *entered;

int userns_enter(const struct userns *u, int fd)
{
	/*
	 * The root's groups, as cr's namespace sees them (the creator still
	 * has CAP_SETGID there). The raw syscall: the creator is a clone3()
	 * of a cr with threads, where glibc's setgroups() would wait for
	 * those threads to follow.
	 */
	if (u->have_root_groups && syscall(SYS_setgroups, u->nr_root_groups, u->root_groups))
		return pr_errno(-errno, "setting the root's groups before entering its user namespace");
	if (setns(fd, CLONE_NEWUSER))
		return pr_errno(-errno, "entering the tree's new user namespace");
	/* The mounts the root makes in its pid namespace take inside ids too. */
	entered = u;
	return 0;
}

int userns_to_inside(uint32_t *uid, uint32_t *gid)
{
	uint32_t u, g;

	if (!entered)
		return 0;
	if (userns_map_to_inside(&entered->uid, *uid, &u) || userns_map_to_inside(&entered->gid, *gid, &g))
		return -ERANGE;
	*uid = u;
	*gid = g;
	return 0;
}

int userns_id_to_inside(bool gid, uint32_t *id)
{
	uint32_t v;

	if (!entered)
		return 0;
	if (userns_map_to_inside(gid ? &entered->gid : &entered->uid, *id, &v))
		return -ERANGE;
	*id = v;
	return 0;
}

bool userns_ids_mapped(const struct userns *u, uint32_t uid, uint32_t gid)
{
	uint32_t v;

	return !userns_map_to_inside(&u->uid, uid, &v) && !userns_map_to_inside(&u->gid, gid, &v);
}

/*
 * The holder in its new user namespace, maps written: it becomes the
 * namespace's root, if there is one, so what it makes (tmpfs files, the
 * mount tree) is owned by a mapped id, and it can reach what that id may.
 */
int userns_holder_ids(const struct userns *u)
{
	for (unsigned i = 0; i < u->gid.nr; i++)
		if (u->gid.e[i].first == 0 && setresgid(0, 0, 0))
			return pr_errno(-errno, "the holder: becoming gid 0 in the new user namespace");
	if (u->setgroups_allow && setgroups(0, NULL))
		return pr_errno(-errno, "the holder: dropping its groups in the new user namespace");
	for (unsigned i = 0; i < u->uid.nr; i++)
		if (u->uid.e[i].first == 0 && setresuid(0, 0, 0))
			return pr_errno(-errno, "the holder: becoming uid 0 in the new user namespace");
	/* The id change made it not dumpable: its /proc/self files would be root's, out of its reach. */
	if (prctl(PR_SET_DUMPABLE, 1))
		return pr_errno(-errno, "the holder: PR_SET_DUMPABLE");
	entered = u;
	return 0;
}

void userns_free(struct userns *u)
{
	if (!u)
		return;
	if (tree_ns == u)
		tree_ns = NULL;
	free(u->root_groups);
	free(u);
}
