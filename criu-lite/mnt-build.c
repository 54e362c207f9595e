/*
 * Restore of a mount namespace (namespaces.h): the dumped tree is made
 * again with the new mount API, mount by mount in tree order, each a
 * detached mount (fsmount() of a new instance, or open_tree() clone of
 * what it binds) that is attached under its parent's mount fd. Lookups
 * below a mount fd never cross into other mounts (RESOLVE_NO_XDEV on the
 * clone of a mount without children), so over-mounted paths, binds of
 * hidden parts and mounts stacked on one mount point come out as dumped
 * whatever was mounted since. Nothing propagates while the tree is
 * built: the whole namespace is private first, and the peer groups are
 * made last (MOVE_MOUNT_SET_GROUP, kernel 5.15).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "mnt-priv.h"
#include "namespaces.h"

struct build {
	const struct mntns_img *m;
	struct files_rst *rf;
	int *fd;		/* each mount's fd in this process, -1; then (fd + nr) the covers */
	bool *prop_done;
	bool pidns;		/* mntns_restore_in_pidns(): the deferred mounts */
	int cgns_fd;		/* cr's cgroup namespace, where cgroup mounts are made; -1 */
};

static bool mine(const struct build *b, unsigned i)
{
	return b->m->deferred[i] == b->pidns;
}

/* What follows @top in @path ("" for @top itself); mntns_read() checked @path is under @top. */
static const char *rel_path(const char *path, const char *top)
{
	size_t n = strcmp(top, "/") ? strlen(top) : 0;

	path += n;
	return *path == '/' ? path + 1 : path;
}

/*
 * Mount @j's fd: made here, or (in the root task, for a mount the holder
 * made) its mount point's, looked up from the new root.
 */
static int mount_fd(struct build *b, unsigned j)
{
	const char *mp = b->m->mounts[j]->mountpoint;

	if (b->fd[j] >= 0)
		return b->fd[j];
	b->fd[j] = open(mp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (b->fd[j] < 0)
		return pr_errno(-errno, "mount %s: open", mp);
	return b->fd[j];
}

static int openat_beneath(int dirfd, const char *name, int flags)
{
	struct open_how how = { .flags = flags | O_PATH | O_NOFOLLOW | O_CLOEXEC,
				.resolve = RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS };
	int fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

/*
 * The mount point of @i inside its parent's mount, made if missing (a
 * directory, or an empty file for a bind of one file): an O_PATH fd.
 */
static int open_target(struct build *b, unsigned i)
{
	const MountEntry *me = b->m->mounts[i];
	const MountEntry *pe = b->m->mounts[b->m->parent[i]];
	const char *rel = rel_path(me->mountpoint, pe->mountpoint);
	char comp[NAME_MAX + 1];
	int pfd = mount_fd(b, b->m->parent[i]), dir;

	if (pfd < 0)
		return pfd;
	dir = fcntl(pfd, F_DUPFD_CLOEXEC, 0);
	if (dir < 0)
		return pr_errno(-errno, "mount %s: dup", me->mountpoint);
	while (*rel) {
		size_t len = strcspn(rel, "/");
		bool last = !rel[len];
		int next;

		if (len > NAME_MAX) {
			close(dir);
			return pr_errno(-ENAMETOOLONG, "mount point %s", me->mountpoint);
		}
		memcpy(comp, rel, len);
		comp[len] = 0;
		next = openat_beneath(dir, comp, 0);
		if (next == -ENOENT) {
			int err = 0;

			if (!last || me->is_dir) {
				if (mkdirat(dir, comp, 0755) < 0)
					err = -errno;
			} else {
				int f = openat(dir, comp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

				if (f < 0)
					err = -errno;
				else
					close(f);
			}
			if (err) {
				close(dir);
				return pr_errno(err, "mount point %s: making %s", me->mountpoint, comp);
			}
			pr_info("mount point %s: made %s", me->mountpoint, comp);
			next = openat_beneath(dir, comp, 0);
		}
		close(dir);
		if (next < 0)
			return pr_errno(next, "mount point %s: %s", me->mountpoint,
					next == -EXDEV ? "a mount hides it" : "lookup");
		dir = next;
		rel += len + !last;
	}
	return dir;
}

/* The kernel's own words about a failed fsconfig(), if it left any. */
static void log_fs_context(int fsfd, const char *mp)
{
	char msg[256];
	ssize_t n;

	while ((n = read(fsfd, msg, sizeof(msg) - 1)) > 0) {
		msg[n] = 0;
		pr_err("mount %s: the kernel says: %s", mp, msg);
	}
}

/*
 * A new instance of @me's file system with its options: a detached mount
 * fd. With @ret_ro, a read-only super block is made writable and
 * *ret_ro set, for sb_make_ro() once it is filled.
 */
/*
 * fsopen() of @fstype; a cgroup file system from cr's cgroup namespace
 * (@cgns_fd, -1: none of the tree's own): its context keeps that
 * namespace, so the mount's root is the hierarchy's root as cr sees it.
 * Returns the fd or -errno (logged).
 */
static int fsopen_in(const char *fstype, int cgns_fd, const char *mp)
{
	_cleanup_close_ int own = -EBADF, fsfd = -EBADF;
	int err = 0;

	if (cgns_fd >= 0 && (!strcmp(fstype, "cgroup") || !strcmp(fstype, "cgroup2"))) {
		own = open("/proc/self/ns/cgroup", O_RDONLY | O_CLOEXEC);
		if (own < 0 || setns(cgns_fd, CLONE_NEWCGROUP) < 0)
			return pr_errno(-errno, "mount %s: entering cr's cgroup namespace", mp);
	}
	fsfd = fsopen(fstype, FSOPEN_CLOEXEC);
	if (fsfd < 0)
		err = pr_errno(-errno, "mount %s: fsopen(%s)", mp, fstype);
	if (own >= 0 && setns(own, CLONE_NEWCGROUP) < 0)
		return pr_errno(-errno, "mount %s: back into the tree's cgroup namespace", mp);
	return err ? err : TAKE_FD(fsfd);
}

static int fresh_mount(const struct build *b, const MountEntry *me, bool *ret_ro)
{
	_cleanup_close_ int fsfd = fsopen_in(me->fstype, b->cgns_fd, me->mountpoint);
	_cleanup_free_ char *opts = xstrdup(me->fs_options);
	char *save = NULL;
	int mfd;

	if (fsfd < 0)
		return fsfd;
	if (!opts)
		return -ENOMEM;
	/* The source /proc/PID/mountinfo shows ("none" else); devtmpfs's is the kernel's. */
	if (me->source && *me->source && strcmp(me->fstype, "devtmpfs") &&
	    fsconfig(fsfd, FSCONFIG_SET_STRING, "source", me->source, 0) < 0) {
		int err = -errno;

		log_fs_context(fsfd, me->mountpoint);
		return pr_errno(err, "mount %s (%s): source %s", me->mountpoint, me->fstype, me->source);
	}
	for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(o, '=');
		int r;

		if (ret_ro && !strcmp(o, "ro")) {
			*ret_ro = true;
			continue;
		}
		if (eq) {
			char idbuf[16];
			const char *val = eq + 1;
			uint32_t id;

			*eq = 0;
			/* Owners in options are cr's namespace's ids; the holder may be in the tree's. */
			if ((!strcmp(o, "uid") || !strcmp(o, "gid")) && sscanf(eq + 1, "%" SCNu32, &id) == 1) {
				if (userns_id_to_inside(o[0] == 'g', &id))
					return pr_errno(-EOPNOTSUPP, "mount %s (%s): option %s=%s has no id in the "
							"tree's user namespace", me->mountpoint, me->fstype, o, eq + 1);
				snprintf(idbuf, sizeof(idbuf), "%" PRIu32, id);
				val = idbuf;
			}
			r = fsconfig(fsfd, FSCONFIG_SET_STRING, o, val, 0);
		} else {
			r = fsconfig(fsfd, FSCONFIG_SET_FLAG, o, NULL, 0);
		}
		if (r < 0) {
			int err = -errno;

			log_fs_context(fsfd, me->mountpoint);
			return pr_errno(err, "mount %s (%s): option %s", me->mountpoint, me->fstype, o);
		}
	}
	if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		int err = -errno;

		log_fs_context(fsfd, me->mountpoint);
		return pr_errno(err, "mount %s (%s %s): creating it", me->mountpoint, me->fstype, me->fs_options);
	}
	mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, 0);
	if (mfd < 0)
		return pr_errno(-errno, "mount %s (%s): fsmount", me->mountpoint, me->fstype);
	return mfd;
}

static int sb_make_ro(int mfd, const char *mp)
{
	_cleanup_close_ int fsfd = fspick(mfd, "", FSPICK_EMPTY_PATH | FSPICK_CLOEXEC);

	if (fsfd < 0 || fsconfig(fsfd, FSCONFIG_SET_FLAG, "ro", NULL, 0) < 0 ||
	    fsconfig(fsfd, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0) < 0)
		return pr_errno(-errno, "mount %s: making its file system read-only", mp);
	return 0;
}

/* A private clone of @rel (relative, "" itself) under mount fd @fd. */
static int clone_at(int fd, const char *rel, const char *mp)
{
	int cl = open_tree(fd, rel, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW |
				    (*rel ? 0 : AT_EMPTY_PATH));

	if (cl < 0)
		return pr_errno(-errno, "mount %s: cloning %s", mp, *rel ? rel : "its source");
	return cl;
}

#define PTY_INDEX_TRIES	32	/* ptys opened in search of one index, as criu */

/*
 * A bind of one pts of a new devpts (runc binds the console's /dev/pts/0
 * on /dev/console): the pts exists only while its master is open, so the
 * holder opens ptmx there until it gets that index and keeps the master
 * open for the rest of its life. tty.c takes it from the holder
 * (pidfd_getfd) for the tree's terminal of that pts, if it has one.
 * 0, or -errno (logged).
 */
static int devpts_file(int dev_fd, const MountEntry *src, const char *rel, const char *mp)
{
	int fds[PTY_INDEX_TRIES], nr = 0, err = -ENOENT;
	char *end;
	long want;

	if (strcmp(src->fstype, "devpts") || !*rel)
		return 0;
	want = strtol(rel, &end, 10);
	if (*end || want < 0 || !faccessat(dev_fd, rel, F_OK, AT_SYMLINK_NOFOLLOW))
		return 0;
	while (nr < PTY_INDEX_TRIES) {
		int index = -1;

		fds[nr] = openat(dev_fd, "ptmx", O_RDWR | O_NOCTTY);
		if (fds[nr] < 0) {
			err = pr_errno(-errno, "mount %s: opening ptmx of its devpts for pts %ld", mp, want);
			break;
		}
		if (ioctl(fds[nr], TIOCGPTN, &index) < 0) {
			err = pr_errno(-errno, "mount %s: TIOCGPTN", mp);
			nr++;
			break;
		}
		if (index == want) {
			int unlock = 0;

			/* unlocked: cr opens the slave through it (TIOCGPTPEER) */
			if (ioctl(fds[nr], TIOCSPTLCK, &unlock) < 0) {
				err = pr_errno(-errno, "mount %s: unlocking pts %ld", mp, want);
				nr++;
				break;
			}
			pr_debug("mount %s: pts %ld made for it (master kept by the holder)", mp, want);
			err = 0;
			break;		/* fds[nr] stays open: the pts lives with it */
		}
		nr++;
		if (index > want) {
			err = pr_errno(-EEXIST, "mount %s: pts %ld of its new devpts cannot be made (got %d)", mp,
				       want, index);
			break;
		}
	}
	if (nr == PTY_INDEX_TRIES)
		err = pr_errno(-EEXIST, "mount %s: pts %ld not reached in %d tries", mp, want, PTY_INDEX_TRIES);
	for (int k = 0; k < nr; k++)
		close(fds[k]);
	return err;
}

/* The detached mount @i is made of. */
static int source_mount(struct build *b, unsigned i)
{
	const MountEntry *me = b->m->mounts[i];
	_cleanup_close_ int tmp = -EBADF;
	int src, mfd, err;
	bool ro = false;

	if (b->m->host_clone && b->m->host_clone[i] >= 0) {
		mfd = b->m->host_clone[i];
		b->m->host_clone[i] = -1;
		return mfd;
	}
	switch (me->kind) {
	case MNT_KIND_ROOT:
		return clone_at(AT_FDCWD, b->m->root, me->mountpoint);
	case MNT_KIND_EXTERNAL:
	case MNT_KIND_HOST:
		if (b->pidns) {
			/* cloned by mntns_prepare_in_pidns(): attached once, then build_done() closes it */
			mfd = b->m->ext_fd[i];
			b->m->ext_fd[i] = -1;
			return mfd >= 0 ? mfd : pr_errno(-EBADF, "mount %s: no clone of %s", me->mountpoint,
							 b->m->ext_path[i]);
		}
		return clone_at(AT_FDCWD, b->m->ext_path[i], me->mountpoint);
	case MNT_KIND_BIND:
		src = mount_fd(b, b->m->bind_src[i]);
		if (src < 0)
			return src;
		/* A clone of the source alone: its path to our root crosses no mount. */
		tmp = clone_at(src, "", me->mountpoint);
		if (tmp < 0)
			return tmp;
		err = devpts_file(tmp, b->m->mounts[b->m->bind_src[i]],
				  rel_path(me->root, b->m->mounts[b->m->bind_src[i]]->root), me->mountpoint);
		if (err)
			return err;
		mfd = rel_path(me->root, b->m->mounts[b->m->bind_src[i]]->root)[0] ?
			clone_at(tmp, rel_path(me->root, b->m->mounts[b->m->bind_src[i]]->root), me->mountpoint) :
			TAKE_FD(tmp);
		return mfd;
	default:
		tmp = fresh_mount(b, me, me->kind == MNT_KIND_TMPFS ? &ro : NULL);
		if (tmp < 0)
			return tmp;
		if (me->kind == MNT_KIND_TMPFS) {
			err = mnt_tmpfs_restore(b->rf, tmp, me);
			if (!err && ro)
				err = sb_make_ro(tmp, me->mountpoint);
			if (err)
				return err;
		}
		return strcmp(me->root, "/") ? clone_at(tmp, me->root + 1, me->mountpoint) : TAKE_FD(tmp);
	}
}

/*
 * In a mount namespace of a user namespace other than the initial one
 * the kernel makes a new proc only if one is fully visible there already
 * (mount_too_revealing()), and the holder's pivot_root() takes cr's away.
 * So the holder attaches a clone of cr's /proc on the mount point of the
 * tree's first proc, and the root task detaches it once it has made
 * (fsmount()) that proc, before attaching it there.
 */
static int proc_helper_at(const struct mntns_img *m)
{
	if (!m->userns)
		return -1;
	for (unsigned i = 0; i < m->nr; i++)
		if (m->deferred[i] && m->mounts[i]->kind == MNT_KIND_FRESH && !strcmp(m->mounts[i]->fstype, "proc"))
			return i;
	return -1;
}

void mntns_set_userns(struct mntns_img *m)
{
	m->userns = true;
}

/*
 * What the root of the tree's user namespace may mount: not devtmpfs (no
 * FS_USERNS_MOUNT), nor cgroups: those are cut from cr's cgroup
 * namespace's view (fsopen_in()), which only cr's user namespace may join.
 */
static bool userns_mountable(const char *fstype)
{
	return strcmp(fstype, "devtmpfs") && strcmp(fstype, "cgroup") && strcmp(fstype, "cgroup2");
}

/* A tmpfs with a file whose owner @u does not map. */
static bool tmpfs_unmapped(const MountEntry *me, const struct userns *u)
{
	for (size_t f = 0; f < me->n_files; f++)
		if (!userns_ids_mapped(u, me->files[f]->uid, me->files[f]->gid))
			return true;
	return false;
}

int mntns_restore_preclone(struct mntns_img *m, struct files_rst *rf, const struct userns *u)
{
	/* Still in cr's cgroup namespace: cgroup mounts are made as dumped without joining it. */
	struct build b = { .m = m, .rf = rf, .cgns_fd = -1 };

	/*
	 * The new root's path may cross directories the tree's user
	 * namespace cannot search (runc's state dir under /run/runc is
	 * 0700): the holder looks it up now, as its cwd, which its new mount
	 * namespace carries over to the copy of the same directory.
	 */
	if (chdir(m->root) < 0)
		return pr_errno(-errno, "chdir to the tree's root %s", m->root);
	m->root_is_cwd = true;
	m->host_clone = xmalloc(sizeof(int) * (m->nr ? m->nr : 1));
	if (!m->host_clone)
		return -ENOMEM;
	for (unsigned i = 0; i < m->nr; i++)
		m->host_clone[i] = -1;
	for (unsigned i = 0; i < m->nr; i++) {
		const MountEntry *me = m->mounts[i];
		int fd;

		if (m->deferred[i] || (me->kind != MNT_KIND_ROOT && me->kind != MNT_KIND_EXTERNAL &&
				       me->kind != MNT_KIND_HOST &&
				       !(me->kind == MNT_KIND_TMPFS && tmpfs_unmapped(me, u)) &&
				       !(me->kind == MNT_KIND_FRESH && !userns_mountable(me->fstype))))
			continue;
		fd = source_mount(&b, i);
		if (fd < 0)
			return fd;
		m->host_clone[i] = fd;
		if (me->kind == MNT_KIND_TMPFS || me->kind == MNT_KIND_FRESH)
			pr_debug("%s at %s: made in cr's user namespace (a tmpfs of owners the tree's does not "
				 "map, or a kind only it may mount)", me->fstype, me->mountpoint);
	}
	return 0;
}

static int make_mount(struct build *b, unsigned i)
{
	const MountEntry *me = b->m->mounts[i];
	_cleanup_close_ int mfd = source_mount(b, i), target = -EBADF;
	int r;

	if (mfd < 0)
		return mfd;
	if (b->pidns && (int)i == proc_helper_at(b->m) && umount2(me->mountpoint, MNT_DETACH) < 0)
		return pr_errno(-errno, "mount %s: detaching the holder's clone of cr's /proc", me->mountpoint);
	if (me->kind == MNT_KIND_ROOT && b->m->root_is_cwd) {
		r = move_mount(mfd, "", AT_FDCWD, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
	} else if (me->kind == MNT_KIND_ROOT) {
		r = move_mount(mfd, "", AT_FDCWD, b->m->root, MOVE_MOUNT_F_EMPTY_PATH);
	} else {
		target = open_target(b, i);
		if (target < 0)
			return target;
		r = move_mount(mfd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
	}
	if (r < 0)
		return pr_errno(-errno, "mount %s (%s): attaching it", me->mountpoint, me->fstype);
	pr_debug("mount %s (%s) made", me->mountpoint, me->fstype);
	b->fd[i] = TAKE_FD(mfd);
	/* The directory it covers, still reachable through this fd (its walk does not cross the mount). */
	b->fd[b->m->nr + i] = TAKE_FD(target);
	return 0;
}

static int set_attrs(struct build *b, unsigned i)
{
	const MountEntry *me = b->m->mounts[i];
	struct mount_attr a = { .attr_set = me->attrs, .attr_clr = mnt_attrs_all() };

	if (mount_setattr(b->fd[i], "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
		return pr_errno(-errno, "mount %s: setting its flags %#x", me->mountpoint, me->attrs);
	return 0;
}

/* ==== propagation ======================================================= */

static int set_propagation(struct build *b, unsigned i, unsigned type)
{
	struct mount_attr a = { .propagation = type };

	if (mount_setattr(b->fd[i], "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
		return pr_errno(-errno, "mount %s: making it %s", b->m->mounts[i]->mountpoint,
				type == MS_SHARED ? "shared" : type == MS_SLAVE ? "a slave" : "unbindable");
	return 0;
}

/*
 * The first mount of this process in peer group @group whose root holds
 * @root (the kernel wants the source's root to be at or above the
 * target's), or -1.
 */
static int peer_member(const struct build *b, unsigned group, const char *root)
{
	for (unsigned j = 0; j < b->m->nr; j++) {
		const MountEntry *e = b->m->mounts[j];

		if (mine(b, j) && e->shared_id == group && mnt_path_under(root, e->root))
			return j;
	}
	return -1;
}

static int prop_setup(struct build *b, unsigned i);

/* @i joins the peer group (and master) of @from, set up first. */
static int join_group(struct build *b, unsigned from, unsigned i)
{
	int err = prop_setup(b, from);

	if (err)
		return err;
	if (move_mount(b->fd[from], "", b->fd[i], "",
		       MOVE_MOUNT_SET_GROUP | MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return pr_errno(-errno, "mount %s: joining the peer group of %s", b->m->mounts[i]->mountpoint,
				b->m->mounts[from]->mountpoint);
	return 0;
}

/* As a slave of its dumped master group, if a mount of that group was restored here. */
static int make_slave(struct build *b, unsigned i)
{
	const MountEntry *me = b->m->mounts[i];
	int from = peer_member(b, me->master_id, me->root);
	int err;

	if (from < 0) {
		/* its master is outside the namespace: what it would receive comes from the host */
		pr_warn("mount %s: its master (peer group %u) is not in the namespace; left private",
			me->mountpoint, me->master_id);
		return 0;
	}
	err = join_group(b, from, i);
	return err ? err : set_propagation(b, i, MS_SLAVE);
}

static int prop_setup(struct build *b, unsigned i)
{
	const MountEntry *me = b->m->mounts[i];
	int err = 0, rep;

	if (b->prop_done[i])
		return 0;
	b->prop_done[i] = true;
	if (me->shared_id) {
		rep = peer_member(b, me->shared_id, me->root);
		if (rep >= 0 && (unsigned)rep != i)
			return join_group(b, rep, i);
		if (me->master_id)
			err = make_slave(b, i);
		if (!err)
			err = set_propagation(b, i, MS_SHARED);
	} else if (me->master_id) {
		err = make_slave(b, i);
	}
	if (!err && me->unbindable)
		err = set_propagation(b, i, MS_UNBINDABLE);
	return err;
}

/* ==== the whole tree ==================================================== */

static int build_init(struct build *b, const struct mntns_img *m, struct files_rst *rf, bool pidns)
{
	b->m = m;
	b->rf = rf;
	b->pidns = pidns;
	/* fd[nr + i]: where mount i was attached, in its parent (what it covers), -1 */
	b->fd = xmalloc(2 * m->nr * sizeof(*b->fd));
	b->prop_done = xzalloc(m->nr * sizeof(*b->prop_done));
	if (!b->fd || !b->prop_done)
		return -ENOMEM;
	for (unsigned i = 0; i < 2 * m->nr; i++)
		b->fd[i] = -1;
	return 0;
}

static void build_done(struct build *b)
{
	for (unsigned i = 0; b->fd && i < 2 * b->m->nr; i++)
		if (b->fd[i] >= 0)
			close(b->fd[i]);
	free(b->fd);
	free(b->prop_done);
}

/* Mounts, then their flags (a read-only mount is filled and mounted on first), then @between, then peers. */
static int build(struct build *b, int (*between)(struct build *b))
{
	int err = 0;

	for (unsigned i = 0; i < b->m->nr && !err; i++)
		if (mine(b, i))
			err = make_mount(b, i);
	for (unsigned i = 0; i < b->m->nr && !err; i++)
		if (mine(b, i))
			err = set_attrs(b, i);
	if (!err && between)
		err = between(b);
	for (unsigned i = 0; i < b->m->nr && !err; i++)
		if (mine(b, i))
			err = prop_setup(b, i);
	return err;
}

/*
 * pivot_root(".", ".") stacks the old root on the new one; detaching it
 * leaves the new one (runc's way: no put_old directory is needed). The
 * parent of the new root is private (mntns_restore() made everything
 * so), which pivot_root() requires.
 */
static int pivot(struct build *b)
{
	_cleanup_close_ int proc = -EBADF;
	int at = proc_helper_at(b->m);

	if (at >= 0) {
		proc = open_tree(AT_FDCWD, "/proc", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
		if (proc < 0)
			return pr_errno(-errno, "cloning cr's /proc for the tree's proc mount in its user namespace");
	}
	if (fchdir(b->fd[0]) < 0)
		return pr_errno(-errno, "chdir to the new root %s", b->m->root);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return pr_errno(-errno, "pivot_root into %s", b->m->root);
	if (umount2(".", MNT_DETACH) < 0)
		return pr_errno(-errno, "detaching the old root after pivot_root into %s", b->m->root);
	if (chdir("/") < 0)
		return pr_errno(-errno, "chdir / in the new root");
	if (at >= 0 && move_mount(proc, "", AT_FDCWD, b->m->mounts[at]->mountpoint, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return pr_errno(-errno, "attaching a clone of cr's /proc on %s", b->m->mounts[at]->mountpoint);
	return 0;
}

int mntns_restore(const struct mntns_img *m, struct files_rst *rf, int cgns_fd, int **ret_fds)
{
	struct build b = { .cgns_fd = cgns_fd };
	int err;

	/* Nothing made here may reach cr's namespace, nor anything of it come in. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return pr_errno(-errno, "making the new mount namespace private");
	err = build_init(&b, m, rf, false);
	if (!err)
		err = build(&b, pivot);
	if (!err && ret_fds)
		*ret_fds = TAKE_PTR(b.fd);	/* kept open: the mounts' roots, for files hidden under others */
	build_done(&b);
	return err;
}

int mntns_prepare_in_pidns(struct mntns_img *m)
{
	for (unsigned i = 0; i < m->nr; i++) {
		int fd;

		if (!m->deferred[i] || (m->mounts[i]->kind != MNT_KIND_EXTERNAL && m->mounts[i]->kind != MNT_KIND_HOST))
			continue;
		fd = clone_at(AT_FDCWD, m->ext_path[i], m->mounts[i]->mountpoint);
		if (fd < 0)
			return fd;
		m->ext_fd[i] = fd;
	}
	return 0;
}

int mntns_restore_in_pidns(const struct mntns_img *m)
{
	struct build b = { .cgns_fd = -1 };
	int err;

	/* no fdata.img here: mntns_read() let only tmpfs mounts without bytes through */
	err = build_init(&b, m, NULL, true);
	if (!err)
		err = build(&b, NULL);
	build_done(&b);
	return err;
}
