/*
 * The tree's mount namespace (namespaces.h): mountpoints.img.
 *
 * Dump: /proc/PID/mountinfo in tree order (parents first, siblings as
 * mounted), each mount classified by how restore makes it again
 * (enum mnt_kind): the root and declared externals are given at restore;
 * in a tree whose root is cr's own, a mount that cr's namespace has too
 * (same place, file system and root: the tree shares it with the host,
 * as after unshare --mount) is bound from cr's at restore, so the tree
 * keeps sharing it; a second mount of a file system is a bind cut from
 * an earlier one;
 * tmpfs, proc, sysfs, devpts, mqueue and cgroup mounts are new instances
 * (a tmpfs with its contents); anything else is refused. The restore is
 * mnt-build.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "cr.h"
#include "image.h"
#include "log.h"
#include "mnt-priv.h"
#include "namespaces.h"
#include "scm.h"

#define MNTNS_VERSION	1

/*
 * File systems a new instance of which is the dumped one again (devtmpfs:
 * the kernel has one; a cgroup: the same hierarchy).
 */
static const char *const fresh_types[] = { "proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2", "devtmpfs" };

static bool is_fresh_type(const char *t)
{
	for (size_t i = 0; i < sizeof(fresh_types) / sizeof(fresh_types[0]); i++)
		if (!strcmp(t, fresh_types[i]))
			return true;
	return false;
}

/* ==== dump: the tree order ============================================== */

static int find_id(const struct mnt_info *mi, unsigned nr, unsigned id)
{
	for (unsigned i = 0; i < nr; i++)
		if (mi[i].id == id)
			return i;
	return -1;
}

/* Depth first from @i, children in mountinfo order (the kernel lists them as mounted). */
static void order_from(const struct mnt_info *mi, unsigned nr, unsigned i, unsigned *order, unsigned *n)
{
	order[(*n)++] = i;
	for (unsigned c = 0; c < nr; c++)
		if (c != i && mi[c].parent_id == mi[i].id)
			order_from(mi, nr, c, order, n);
}

/* The namespace's root: the mount whose parent is not in the list. */
static int find_root(const struct mnt_info *mi, unsigned nr)
{
	for (unsigned i = 0; i < nr; i++)
		if (!strcmp(mi[i].mountpoint, "/") &&
		    (mi[i].parent_id == mi[i].id || find_id(mi, nr, mi[i].parent_id) < 0))
			return i;
	return -1;
}

/* ==== dump: one mount =================================================== */

/* Super options as fsconfig() takes them again: "rw" and "ro" are the sb's flags, kept apart. */
static char *fs_options(const char *super_opts)
{
	char *o = xstrdup(super_opts), *d = o;
	const char *p = super_opts;

	if (!o)
		return NULL;
	while (*p) {
		size_t len = strcspn(p, ",");

		if (!(len == 2 && !strncmp(p, "rw", 2))) {
			if (d != o)
				*d++ = ',';
			memcpy(d, p, len);
			d += len;
		}
		p += len;
		if (*p)
			p++;
	}
	*d = 0;
	return o;
}

static void entry_free(MountEntry *me)
{
	if (!me)
		return;
	mnt_tmpfs_free(me);
	free(me->mountpoint);
	free(me->root);
	free(me->fstype);
	free(me->source);
	free(me->fs_options);
	free(me->ext_key);
	free(me);
}

/*
 * Decides how mount @mi (the @n-th in tree order; @done the entries so
 * far) is made again. Returns 0 with *ret, or -errno (a refusal names the
 * mount point and type).
 */
/* cr's own mount namespace, seen at dump */
struct mnt_host {
	struct mnt_info *mi;
	unsigned nr;
	bool shares_root;	/* the tree's root mount is cr's */
};

static bool is_host_mount(const struct mnt_host *h, const struct mnt_info *mi)
{
	if (!h->shares_root)
		return false;
	for (unsigned i = 0; i < h->nr; i++)
		if (h->mi[i].major == mi->major && h->mi[i].minor == mi->minor && !strcmp(h->mi[i].root, mi->root) &&
		    !strcmp(h->mi[i].mountpoint, mi->mountpoint) && !strcmp(h->mi[i].fstype, mi->fstype))
			return true;
	return false;
}

static int classify(const struct cr_options *o, const struct mnt_host *host, const struct mnt_info *mi,
		    bool is_root, MountEntry **done, unsigned n, MountEntry **ret)
{
	MountEntry *me = xzalloc(sizeof(*me));
	const char *key;

	if (!me)
		return -ENOMEM;
	mount_entry__init(me);
	me->mnt_id = mi->id;
	me->parent_id = is_root ? mi->id : mi->parent_id;
	me->dev = makedev(mi->major, mi->minor);
	me->attrs = mnt_attrs_parse(mi->opts);
	me->mountpoint = xstrdup(mi->mountpoint);
	me->root = xstrdup(mi->root);
	me->fstype = xstrdup(mi->fstype);
	me->source = xstrdup(mi->source);
	me->shared_id = mi->shared;
	me->has_shared_id = !!mi->shared;
	me->master_id = mi->master;
	me->has_master_id = !!mi->master;
	me->unbindable = mi->unbindable;
	me->has_unbindable = mi->unbindable;
	me->is_dir = true;
	if (!me->mountpoint || !me->root || !me->fstype || !me->source)
		goto nomem;
	if (me->root[0] != '/') {
		/* "net:[4026531840]" and the like: a mount of an nsfs file */
		pr_err("mount %s (%s): its root %s is not a path; cr cannot dump it", mi->mountpoint,
		       mi->fstype, mi->root);
		entry_free(me);
		return -ENOTSUP;
	}

	key = is_root ? NULL : cr_external_lookup(o, "mnt", mi->mountpoint);
	if (is_root) {
		me->kind = MNT_KIND_ROOT;
	} else if (key) {
		me->kind = MNT_KIND_EXTERNAL;
		me->ext_key = xstrdup(key);
		if (!me->ext_key)
			goto nomem;
	} else if (is_host_mount(host, mi)) {
		me->kind = MNT_KIND_HOST;
	} else {
		int part = -1;	/* an earlier mount made of a part of the same file system */

		for (unsigned i = 0; i < n; i++) {
			if (done[i]->dev != me->dev)
				continue;
			if (mnt_path_under(me->root, done[i]->root)) {
				me->kind = MNT_KIND_BIND;
				me->bind_of = done[i]->mnt_id;
				me->has_bind_of = true;
				break;
			}
			/*
			 * An external is bound from the host at restore, not made
			 * of this file system: it does not keep a tmpfs from being
			 * a new instance (runc's masked /proc/keys, a bind of the
			 * container's /dev/null, comes before /dev in tree order).
			 */
			if (done[i]->kind != MNT_KIND_EXTERNAL && part < 0)
				part = i;
		}
		if (!me->has_bind_of) {
			if (!strcmp(mi->fstype, "tmpfs") && part < 0) {
				me->kind = MNT_KIND_TMPFS;
			} else if (is_fresh_type(mi->fstype)) {
				me->kind = MNT_KIND_FRESH;
			} else if (part >= 0 && !strcmp(mi->fstype, "tmpfs")) {
				pr_err("mount %s (tmpfs, %s) cannot be dumped: %s, before it in the tree, is only a part (%s) of the same tmpfs; declare one of them with --external mnt[MOUNTPOINT]:KEY",
				       mi->mountpoint, mi->source, done[part]->mountpoint, done[part]->root);
				entry_free(me);
				return -ENOTSUP;
			} else {
				pr_err("mount %s (%s, %s) cannot be dumped: declare it with --external mnt[%s]:KEY",
				       mi->mountpoint, mi->fstype, mi->source, mi->mountpoint);
				entry_free(me);
				return -ENOTSUP;
			}
			/* devtmpfs: the kernel's one instance, whose options a mount does not change */
			me->fs_options = fs_options(strcmp(mi->fstype, "devtmpfs") ? mi->super_opts : "");
			if (!me->fs_options)
				goto nomem;
		}
	}
	*ret = me;
	return 0;
nomem:
	entry_free(me);
	return -ENOMEM;
}

/* cr's /proc, for mnt_read_mountinfo() */
static int proc_dir_fd(void)
{
	static int fd = -1;

	if (fd < 0)
		fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd;
}

/* @proc: a /proc of cr's pid namespace (another mount namespace's may not list us). */
static int read_mountinfo_at(int proc, pid_t pid, struct mnt_info **ret, unsigned *ret_nr)
{
	_cleanup_fclose_ FILE *f = NULL;
	char p[64];
	int fd;

	snprintf(p, sizeof(p), "%d/mountinfo", pid);
	fd = openat(proc, p, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !(f = fdopen(fd, "re"))) {
		if (fd >= 0)
			close(fd);
		return pr_errno(-errno, "open /proc/%s", p);
	}
	return mnt_parse_mountinfo(f, p, ret, ret_nr);
}

int mnt_read_mountinfo(pid_t pid, struct mnt_info **ret, unsigned *ret_nr)
{
	return read_mountinfo_at(proc_dir_fd(), pid ? pid : getpid(), ret, ret_nr);
}

/* ==== dump: private clones of tmpfs mounts ============================== */

/*
 * A tmpfs's contents are read through a private clone of its mount
 * (open_tree(OPEN_TREE_CLONE)): what is mounted over a part of it is not
 * in the clone. The kernel clones only mounts of the caller's namespace,
 * so a child of cr joins the tree's, makes itself a private copy of it
 * (the tree's namespace is never changed) and sends the clones back. In
 * the copy a tmpfs hidden by mounts stacked on its mount point is
 * uncovered by unmounting those (they are the copy's: private).
 */
static int copy_find(const struct mnt_info *ci, unsigned cnr, const MountEntry *me)
{
	for (unsigned c = 0; c < cnr; c++)
		if (!strcmp(ci[c].mountpoint, me->mountpoint) && !strcmp(ci[c].root, me->root) &&
		    makedev(ci[c].major, ci[c].minor) == me->dev)
			return c;
	return -1;
}

/*
 * A tmpfs covered by a mount on its mount point that is locked to it
 * (mount_setattr(2): mounts a mount namespace of another user namespace
 * copied): nothing in that namespace, the tree included, can ever uncover
 * it, nor cr's copy. Its contents are invisible to the tree for good: it
 * is restored empty.
 */
#define HIDDEN_LOCKED	(-ENOTRECOVERABLE)

/*
 * The clone of @me in the copy, or -errno (-EXDEV: hidden by a mount over
 * one of its parents; HIDDEN_LOCKED).
 */
static int copy_clone(const struct mnt_info *ci, unsigned cnr, const MountEntry *me)
{
	int c = copy_find(ci, cnr, me);

	if (c < 0)
		return -ENOENT;
	for (unsigned tries = 0; tries <= cnr; tries++) {
		_cleanup_close_ int fd = open(me->mountpoint, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		struct statx stx;
		int top;

		if (fd < 0 || statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0)
			return -errno;
		if (stx.stx_mnt_id == ci[c].id) {
			int cl = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);

			/*
			 * Mounts on it locked to it (the tree's mount namespace is
			 * another user namespace's): a recursive clone, whose
			 * mounts the walk keeps as empty directories.
			 */
			if (cl < 0 && errno == EINVAL)
				cl = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
			return cl < 0 ? -errno : cl;
		}
		top = find_id(ci, cnr, stx.stx_mnt_id);
		if (top < 0 || strcmp(ci[top].mountpoint, me->mountpoint))
			return -EXDEV;
		if (umount2(me->mountpoint, MNT_DETACH) < 0)
			return errno == EINVAL ? HIDDEN_LOCKED : -EXDEV;
	}
	return -EXDEV;
}

/* Into @pid's user namespace if it is not ours: 0 or -errno (not logged: a child's). */
static int enter_userns_of(pid_t pid)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat self, tree;
	char p[64];

	snprintf(p, sizeof(p), "/proc/%d/ns/user", pid);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &tree) < 0 || stat("/proc/self/ns/user", &self) < 0)
		return -errno;
	if (tree.st_ino == self.st_ino && tree.st_dev == self.st_dev)
		return 0;
	return setns(fd, CLONE_NEWUSER) < 0 ? -errno : 0;
}

static void __attribute__((noreturn)) clone_child(int sk, pid_t pid, MountEntry **me, unsigned nr)
{
	struct mnt_info *ci = NULL;
	unsigned cnr = 0;
	char p[64];
	int ns, err = 0, *cl;

	int proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);

	/*
	 * A mount namespace of another user namespace is copied from inside
	 * that one: a copy owned by cr's would lock every mount to its parent
	 * (mount_setattr(2)), and a clone of a tmpfs with mounts on it, or
	 * uncovering one, would be refused. Mounts the tree inherited from
	 * outside stay locked as they are (copy_clone()).
	 */
	if (proc >= 0)
		err = enter_userns_of(pid);
	snprintf(p, sizeof(p), "/proc/%d/ns/mnt", pid);
	ns = open(p, O_RDONLY | O_CLOEXEC);
	if (err)
		;
	else if (proc < 0 || ns < 0 || setns(ns, CLONE_NEWNS) < 0 || unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		err = -errno;
	else
		err = read_mountinfo_at(proc, getpid(), &ci, &cnr);
	/*
	 * The clones are all made first, the last mount first: uncovering
	 * one unmounts what is stacked above it, which came later.
	 */
	cl = xmalloc(nr * sizeof(*cl));
	if (!cl)
		_exit(3);
	for (unsigned i = nr; i-- > 0;)
		if (me[i]->kind == MNT_KIND_TMPFS)
			cl[i] = err ? err : copy_clone(ci, cnr, me[i]);
	for (unsigned i = 0; i < nr; i++)
		if (me[i]->kind == MNT_KIND_TMPFS &&
		    scm_send(sk, &(int){ cl[i] < 0 ? cl[i] : 0 }, sizeof(int), cl[i]) < 0)
			_exit(2);
	_exit(0);
}

static int scm_recv_fd(int sk, int *ret_err, int *ret_fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { ret_err, sizeof(*ret_err) };
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n = recvmsg(sk, &h, MSG_CMSG_CLOEXEC);

	if (n != sizeof(*ret_err))
		return n < 0 ? -errno : -EPIPE;
	*ret_fd = -1;
	c = CMSG_FIRSTHDR(&h);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
	return 0;
}

static int dump_tmpfs_contents(pid_t pid, struct files_dump *df, MountEntry **me, unsigned nr)
{
	int sk[2], err = 0, status;
	pid_t child;
	unsigned i;

	for (i = 0; i < nr && me[i]->kind != MNT_KIND_TMPFS; i++)
		;
	if (i == nr)
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sk) < 0)
		return pr_errno(-errno, "mount namespace of pid %d: socketpair", pid);
	child = fork();
	if (child < 0) {
		err = pr_errno(-errno, "mount namespace of pid %d: fork", pid);
		goto out;
	}
	if (!child) {
		close(sk[0]);
		clone_child(sk[1], pid, me, nr);
	}
	close(TAKE_FD(sk[1]));
	for (; i < nr && !err; i++) {
		_cleanup_close_ int fd = -EBADF;
		int cerr = 0;

		if (me[i]->kind != MNT_KIND_TMPFS)
			continue;
		err = scm_recv_fd(sk[0], &cerr, &fd);
		if (err)
			err = pr_errno(err, "mount namespace of pid %d: no answer about tmpfs at %s",
				       pid, me[i]->mountpoint);
		else if (cerr == HIDDEN_LOCKED)
			pr_info("tmpfs at %s: covered by a mount locked on it, which nothing in its namespace can "
				"remove; restored empty", me[i]->mountpoint);
		else if (cerr == -EXDEV)
			err = pr_errno(-ENOTSUP, "tmpfs at %s is hidden by a mount over a directory above it; cr cannot read it",
				       me[i]->mountpoint);
		else if (cerr)
			err = pr_errno(cerr, "tmpfs at %s: cloning it in pid %d's mount namespace",
				       me[i]->mountpoint, pid);
		else
			err = mnt_tmpfs_dump(df, fd, me[i]);
	}
	close(TAKE_FD(sk[0]));
	if (waitpid(child, &status, 0) < 0 && !err)
		err = pr_errno(-errno, "waiting for pid %d", child);
out:
	if (sk[0] >= 0)
		close(sk[0]);
	if (sk[1] >= 0)
		close(sk[1]);
	return err;
}

/* Whether each mount's root is a directory (false: a bind of one file). */
static int dump_is_dir(pid_t pid, MountEntry **me, unsigned nr)
{
	for (unsigned i = 0; i < nr; i++) {
		char p[PATH_MAX];
		struct stat st;

		snprintf(p, sizeof(p), "/proc/%d/root%s", pid, me[i]->mountpoint);
		if (stat(p, &st) < 0)
			return pr_errno(-errno, "mount %s of pid %d: stat", me[i]->mountpoint, pid);
		me[i]->is_dir = S_ISDIR(st.st_mode);
	}
	return 0;
}

static int write_image(int dfd, MountEntry **me, unsigned nr)
{
	_cleanup_img_ struct img *img = NULL;
	MntnsHead head = MNTNS_HEAD__INIT;
	int err;

	head.version = MNTNS_VERSION;
	head.has_version = true;
	head.nr_mounts = nr;
	err = img_open(dfd, IMG_MNTNS, 0, O_WRONLY, &img);
	if (!err)
		err = pb_write_one(img, &head, PB_MNTNS_HEAD);
	for (unsigned i = 0; !err && i < nr; i++)
		err = pb_write_one(img, me[i], PB_MOUNT);
	if (!err) {
		err = img_close(TAKE_PTR(img));
		if (err)
			err = pr_errno(err, "closing mountpoints.img");
	}
	return err;
}

int mntns_dump(const struct cr_options *o, pid_t pid, struct files_dump *df, int dfd)
{
	struct mnt_info *mi = NULL;
	struct mnt_host host = { 0 };
	_cleanup_free_ unsigned *order = NULL;
	MountEntry **me = NULL;
	unsigned nr = 0, n = 0;
	int root, hroot, err;

	err = mnt_read_mountinfo(pid, &mi, &nr);
	if (!err)
		err = mnt_read_mountinfo(0, &host.mi, &host.nr);
	if (err)
		goto out;
	root = find_root(mi, nr);
	if (root < 0) {
		err = pr_errno(-EBADMSG, "/proc/%d/mountinfo: no root mount", pid);
		goto out;
	}
	hroot = find_root(host.mi, host.nr);
	host.shares_root = hroot >= 0 && host.mi[hroot].major == mi[root].major &&
			   host.mi[hroot].minor == mi[root].minor && !strcmp(host.mi[hroot].root, mi[root].root);
	order = xmalloc(nr * sizeof(*order));
	me = xzalloc(nr * sizeof(*me));
	if (!order || !me) {
		err = -ENOMEM;
		goto out;
	}
	order_from(mi, nr, root, order, &n);
	if (n != nr)
		pr_warn("mount namespace of pid %d: %u mounts outside its root are left out", pid, nr - n);
	for (unsigned i = 0; i < n && !err; i++)
		err = classify(o, &host, &mi[order[i]], i == 0, me, i, &me[i]);
	if (!err)
		err = dump_is_dir(pid, me, n);
	if (!err)
		err = dump_tmpfs_contents(pid, df, me, n);
	if (!err)
		err = write_image(dfd, me, n);
out:
	for (unsigned i = 0; me && i < n; i++)
		entry_free(me[i]);
	free(me);
	mnt_info_free(mi, nr);
	mnt_info_free(host.mi, host.nr);
	return err;
}

/* Whether mount @a is @m's parent, or its parent's, ... */
static bool is_ancestor(const struct mnt_info *mi, unsigned nr, unsigned a, unsigned m)
{
	for (unsigned depth = 0; depth < nr; depth++) {
		int p = find_id(mi, nr, mi[m].parent_id);

		if (p < 0 || (unsigned)p == m)
			return false;
		if ((unsigned)p == a)
			return true;
		m = p;
	}
	return false;
}

int mntns_hidden_file(pid_t pid, int mnt_id, const char *link, char **ret_rel)
{
	struct mnt_info *mi = NULL;
	struct stat mine, theirs;
	unsigned nr = 0;
	char p[64];
	int err, m = -1;
	size_t mlen;

	*ret_rel = NULL;
	snprintf(p, sizeof(p), "/proc/%d/ns/mnt", pid);
	if (stat(p, &theirs) < 0 || stat("/proc/self/ns/mnt", &mine) < 0)
		return -errno;
	if (mine.st_ino == theirs.st_ino)
		return -ENOENT;		/* restore makes no mounts: nothing to open it through */
	err = mnt_read_mountinfo(pid, &mi, &nr);
	if (err)
		return err;
	for (unsigned i = 0; i < nr; i++)
		if ((int)mi[i].id == mnt_id)
			m = i;
	err = -ENOENT;
	if (m < 0 || !mnt_path_under(link, mi[m].mountpoint))
		goto out;
	mlen = strcmp(mi[m].mountpoint, "/") ? strlen(mi[m].mountpoint) : 0;
	/* Hidden: another mount on the path, at the file's mount point or below it, and not under the file's mount. */
	for (unsigned i = 0; i < nr && err; i++)
		if ((int)i != m && mnt_path_under(link, mi[i].mountpoint) &&
		    strlen(mi[i].mountpoint) >= strlen(mi[m].mountpoint) && !is_ancestor(mi, nr, i, m))
			err = 0;
	if (!err) {
		*ret_rel = xstrdup(link[mlen] ? link + mlen + 1 : "");
		if (!*ret_rel)
			err = -ENOMEM;
	}
out:
	mnt_info_free(mi, nr);
	return err;
}

/* ==== read ============================================================== */

static int find_entry(const struct mntns_img *m, unsigned upto, unsigned id)
{
	for (unsigned i = 0; i < upto; i++)
		if (m->mounts[i]->mnt_id == id)
			return i;
	return -1;
}

/* One entry against the ones before it. 0 or -EBADMSG (logged). */
static int check_entry(struct mntns_img *m, unsigned i)
{
	MountEntry *me = m->mounts[i];
	int p = i ? find_entry(m, i, me->parent_id) : 0;

	if (me->kind >= MNT_KIND_MAX || (me->kind == MNT_KIND_ROOT) != (i == 0) || p < 0 ||
	    me->mountpoint[0] != '/' || me->root[0] != '/' || !mnt_path_ok(me->root + 1) ||
	    (me->kind == MNT_KIND_EXTERNAL && !me->ext_key) ||
	    ((me->kind == MNT_KIND_FRESH || me->kind == MNT_KIND_TMPFS) && !me->fs_options) ||
	    (me->kind != MNT_KIND_TMPFS && me->n_files))
		goto bad;
	if (i && (strcmp(me->mountpoint, m->mounts[p]->mountpoint) &&
		  !mnt_path_under(me->mountpoint, m->mounts[p]->mountpoint)))
		goto bad;
	m->parent[i] = p;
	m->bind_src[i] = -1;
	if (me->kind == MNT_KIND_BIND) {
		m->bind_src[i] = me->has_bind_of ? find_entry(m, i, me->bind_of) : -1;
		if (m->bind_src[i] < 0 || !mnt_path_under(me->root, m->mounts[m->bind_src[i]]->root))
			goto bad;
	}
	for (size_t f = 0; f < me->n_files; f++) {
		MntFile *mf = me->files[f];

		if (!mnt_path_ok(mf->path) || (!*mf->path) != (f == 0) ||
		    (mf->has_link_to && (mf->link_to < 1 || mf->link_to > f)) ||
		    (!mf->has_link_to && S_ISREG(mf->mode) && !mf->data) ||
		    (!mf->has_link_to && S_ISLNK(mf->mode) && !mf->target))
			goto bad;
	}
	/*
	 * proc is mounted by the root task, in the tree's pid namespace
	 * (mntns_restore_in_pidns()), and so is what hangs off it or is cut
	 * from it. It has no fdata.img: a tmpfs there may hold no bytes
	 * (runc masks /proc paths with empty read-only ones).
	 */
	m->deferred[i] = i && (m->deferred[p] || (m->bind_src[i] >= 0 && m->deferred[m->bind_src[i]]) ||
			       (me->kind == MNT_KIND_FRESH && !strcmp(me->fstype, "proc")));
	for (size_t f = 0; m->deferred[i] && f < me->n_files; f++)
		if (me->files[f]->data && me->files[f]->data->len)
			return pr_errno(-ENOTSUP, "tmpfs at %s is on a proc mount and holds data: cr does not restore that",
					me->mountpoint);
	return 0;
bad:
	return pr_errno(-EBADMSG, "mountpoints.img: mount %u (%s) is not a mount cr made", me->mnt_id, me->mountpoint);
}

/* The dumped root is cr's own root: the same device and root inside it. */
static int root_is_crs(const MountEntry *root)
{
	struct mnt_info *mi = NULL;
	unsigned nr = 0;
	int err, r;

	err = mnt_read_mountinfo(0, &mi, &nr);
	if (err)
		return err;
	r = find_root(mi, nr);
	if (r < 0 || makedev(mi[r].major, mi[r].minor) != root->dev || strcmp(mi[r].root, root->root))
		err = pr_errno(-EINVAL, "the dumped root mount (%s %u:%u%s) is not cr's root: --root DIR is needed",
			       root->fstype, major(root->dev), minor(root->dev), root->root);
	mnt_info_free(mi, nr);
	return err;
}

/* A mount of cr's namespace that mount @me (kind host) can be bound from: the same place, type and root. */
static int resolve_host(const struct mnt_info *mi, unsigned nr, const MountEntry *me, char **ret)
{
	for (unsigned i = 0; i < nr; i++)
		if (!strcmp(mi[i].mountpoint, me->mountpoint) && !strcmp(mi[i].fstype, me->fstype) &&
		    !strcmp(mi[i].root, me->root)) {
			if (makedev(mi[i].major, mi[i].minor) != me->dev)
				pr_info("mount %s (%s): cr's is another file system than at dump; bound all the same\n",
					me->mountpoint, me->fstype);
			*ret = xstrdup(me->mountpoint);
			return *ret ? 0 : -ENOMEM;
		}
	return pr_errno(-ENOENT, "mount %s (%s, root %s) was shared with cr's mount namespace at dump, and cr "
				 "has no such mount now",
			me->mountpoint, me->fstype, me->root);
}

/* Host paths of the externals and of the mounts shared with cr's namespace, all checked before anything is made. */
static int resolve_externals(const struct cr_options *o, struct mntns_img *m)
{
	struct mnt_info *mi = NULL;
	unsigned nr = 0;
	int err = 0;

	for (unsigned i = 0; i < m->nr && !err; i++)
		if (m->mounts[i]->kind == MNT_KIND_HOST) {
			if (!mi)
				err = mnt_read_mountinfo(0, &mi, &nr);
			if (!err)
				err = resolve_host(mi, nr, m->mounts[i], &m->ext_path[i]);
		}
	mnt_info_free(mi, nr);
	if (err)
		return err;
	for (unsigned i = 0; i < m->nr; i++) {
		const MountEntry *me = m->mounts[i];
		const char *path;
		struct stat st;

		if (me->kind != MNT_KIND_EXTERNAL)
			continue;
		path = o ? cr_external_lookup(o, "mnt", me->ext_key) : NULL;
		if (!path)
			return pr_errno(-ENOENT, "external mount %s (at %s) is not given: --external mnt[%s]:PATH",
					me->ext_key, me->mountpoint, me->ext_key);
		if (stat(path, &st) < 0)
			return pr_errno(-errno, "external mount %s (at %s): %s", me->ext_key, me->mountpoint, path);
		if ((bool)S_ISDIR(st.st_mode) != me->is_dir)
			return pr_errno(-ENOTDIR, "external mount %s (at %s): %s is not a %s", me->ext_key,
					me->mountpoint, path, me->is_dir ? "directory" : "file");
		/* absolute: the holder resolves it, wherever its cwd is */
		m->ext_path[i] = realpath(path, NULL);
		if (!m->ext_path[i])
			return pr_errno(-errno, "external mount %s (at %s): %s", me->ext_key, me->mountpoint, path);
	}
	return 0;
}

int mntns_read(const struct cr_options *o, int dfd, struct mntns_img **ret)
{
	_cleanup_img_ struct img *img = NULL;
	struct mntns_img *m = xzalloc(sizeof(*m));
	MountEntry *extra = NULL;
	int err;

	if (!m)
		return -ENOMEM;
	err = img_open(dfd, IMG_MNTNS, 0, O_RDONLY, &img);
	if (!err)
		err = pb_read_one_required(img, (void **)&m->head, PB_MNTNS_HEAD);
	if (err)
		goto out;
	if (!m->head->nr_mounts || m->head->nr_mounts > (1u << 20)) {
		err = pr_errno(-EBADMSG, "mountpoints.img: %u mounts", m->head->nr_mounts);
		goto out;
	}
	m->mounts = xzalloc(m->head->nr_mounts * sizeof(*m->mounts));
	m->parent = xzalloc(m->head->nr_mounts * sizeof(*m->parent));
	m->bind_src = xzalloc(m->head->nr_mounts * sizeof(*m->bind_src));
	m->deferred = xzalloc(m->head->nr_mounts * sizeof(*m->deferred));
	m->ext_path = xzalloc(m->head->nr_mounts * sizeof(*m->ext_path));
	m->ext_fd = xmalloc(m->head->nr_mounts * sizeof(*m->ext_fd));
	if (!m->mounts || !m->parent || !m->bind_src || !m->deferred || !m->ext_path || !m->ext_fd) {
		err = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < m->head->nr_mounts; i++)
		m->ext_fd[i] = -1;
	for (; m->nr < m->head->nr_mounts; m->nr++) {
		err = pb_read_one_required(img, (void **)&m->mounts[m->nr], PB_MOUNT);
		if (!err)
			err = check_entry(m, m->nr);
		if (err) {
			if (m->mounts[m->nr])
				m->nr++;
			goto out;
		}
	}
	err = pb_read_one(img, (void **)&extra, PB_MOUNT);
	if (err > 0) {
		pb_free(extra, PB_MOUNT);
		err = pr_errno(-EBADMSG, "mountpoints.img: more mounts than its head's %u", m->head->nr_mounts);
	}
	if (err)
		goto out;
	m->root = realpath(o && o->root ? o->root : "/", NULL);
	if (!m->root) {
		err = pr_errno(-errno, "--root %s", o && o->root ? o->root : "/");
		goto out;
	}
	if (!o || !o->root)
		err = root_is_crs(m->mounts[0]);
	if (!err)
		err = resolve_externals(o, m);
out:
	if (err) {
		mntns_free(m);
		return err;
	}
	*ret = m;
	return 0;
}

unsigned mntns_nr(const struct mntns_img *m)
{
	return m->nr;
}

uint32_t mntns_mount_id(const struct mntns_img *m, unsigned i)
{
	return m->mounts[i]->mnt_id;
}

const char *mntns_mount_cover(const struct mntns_img *m, unsigned i, uint32_t *ret_parent_id)
{
	const MountEntry *pe = m->mounts[m->parent[i]];
	const char *mp = m->mounts[i]->mountpoint;
	size_t n = strcmp(pe->mountpoint, "/") ? strlen(pe->mountpoint) : 0;

	*ret_parent_id = pe->mnt_id;
	if (!i)
		return NULL;
	mp += n;
	return *mp == '/' ? mp + 1 : mp;
}

int mntns_cgroup_roots(struct mntns_img *m, const struct cgroup_img *c)
{
	for (unsigned i = 0; i < m->nr; i++) {
		MountEntry *me = m->mounts[i];
		char *root;
		int err;

		if (strcmp(me->fstype, "cgroup") && strcmp(me->fstype, "cgroup2"))
			continue;
		err = cgroup_mount_root(c, me->fstype, me->fs_options ? me->fs_options : "", me->mountpoint, me->root,
					&root);
		if (err)
			return err;
		if (root) {
			free(me->root);	/* protobuf-c's default allocator is malloc's */
			me->root = root;
		}
	}
	return 0;
}

void mntns_free(struct mntns_img *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < m->nr; i++) {
		pb_free(m->mounts[i], PB_MOUNT);
		if (m->ext_path)
			free(m->ext_path[i]);
		if (m->ext_fd && m->ext_fd[i] >= 0)
			close(m->ext_fd[i]);
	}
	if (m->head)
		pb_free(m->head, PB_MNTNS_HEAD);
	free(m->mounts);
	free(m->parent);
	free(m->bind_src);
	free(m->deferred);
	free(m->ext_path);
	free(m->ext_fd);
	free(m->root);
	free(m);
}
