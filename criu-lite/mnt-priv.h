#ifndef CR_MNT_PRIV_H
#define CR_MNT_PRIV_H

/*
 * The mount namespace module's parts (namespaces.h has its interface):
 *	ns-mnt.c	the dump's classification of mounts, the image
 *	mnt-parse.c	/proc/PID/mountinfo
 *	mnt-tmpfs.c	a tmpfs's contents, both ways
 *	mnt-build.c	the restore: the tree, its flags, propagation, pivot_root
 */
#include <stdbool.h>
#include <stdio.h>

#include "mnt.pb-c.h"

/* How a mount is made again (mount_entry.kind). */
enum mnt_kind {
	MNT_KIND_ROOT,		/* the namespace's root: --root DIR, or cr's own root */
	MNT_KIND_EXTERNAL,	/* --external mnt[MOUNTPOINT]:KEY at dump, mnt[KEY]:PATH at restore */
	MNT_KIND_BIND,		/* cut from an earlier mount of the same file system */
	MNT_KIND_FRESH,		/* a new instance: proc, sysfs, devpts, mqueue, cgroup, devtmpfs */
	MNT_KIND_TMPFS,		/* a new tmpfs, filled with the dumped contents */
	MNT_KIND_HOST,		/* cr's own mount at the same place: the tree shares it with cr's namespace */
	MNT_KIND_MAX,
};

/* One line of /proc/PID/mountinfo (proc(5)); strings unescaped. */
struct mnt_info {
	unsigned id, parent_id;
	unsigned major, minor;
	char *root;
	char *mountpoint;
	char *opts;		/* per-mount options: rw,nosuid,relatime */
	unsigned shared;	/* shared:N, 0 if none */
	unsigned master;	/* master:N, 0 if none */
	bool unbindable;
	char *fstype;
	char *source;
	char *super_opts;
};

/*
 * Parses a whole mountinfo stream into *ret (*ret_nr lines, in the
 * file's order). Returns 0 or -errno (-EBADMSG for a malformed line,
 * logged with its number).
 */
int mnt_parse_mountinfo(FILE *f, const char *name, struct mnt_info **ret, unsigned *ret_nr);
void mnt_info_free(struct mnt_info *mi, unsigned nr);
/* /proc/@pid/mountinfo (@pid 0: cr's own) parsed so. */
#include <sys/types.h>
int mnt_read_mountinfo(pid_t pid, struct mnt_info **ret, unsigned *ret_nr);
/* MOUNT_ATTR_* of per-mount options ("ro,nosuid,noatime"). */
unsigned mnt_attrs_parse(const char *opts);
/* The MOUNT_ATTR_* bits mnt_attrs_parse() knows: what a restore sets or clears. */
unsigned mnt_attrs_all(void);

/* @path (absolute) is @top or lies under it. */
bool mnt_path_under(const char *path, const char *top);

/* What mntns_read() gives: the entries in tree order and what restore needs besides. */
struct mntns_img {
	MntnsHead *head;
	MountEntry **mounts;
	unsigned nr;
	unsigned *parent;	/* index of each mount's parent (the root's: itself) */
	int *bind_src;		/* index of the mount a bind is cut from, -1 */
	bool *deferred;		/* made by mntns_restore_in_pidns(): proc, what hangs off it or is cut from it */
	char **ext_path;	/* externals: the host path to bind */
	int *ext_fd;		/* deferred externals: mntns_prepare_in_pidns()'s clones, -1 */
	char *root;		/* the new root: --root, or "/" (cr's own) */
	bool userns;		/* the mount namespace is made in a new user namespace */
	int *host_clone;	/* then: the holder's clones of cr's paths (root, externals), -1 */
	bool root_is_cwd;	/* then: the holder's cwd is the new root (see mntns_restore_preclone) */
};

/*
 * tmpfs contents. Dump: walks the tree under @rootfd (the root of a
 * private clone of the mount: nothing mounted over a part of it hides
 * it) into me->files, regular files' bytes into fdata.img. Restore:
 * writes me->files under @mntfd (a new tmpfs, its root; me->root is
 * made first). Both return 0 or -errno (logged, naming the mount point).
 */
struct files_dump;
struct files_rst;
int mnt_tmpfs_dump(struct files_dump *df, int rootfd, MountEntry *me);
int mnt_tmpfs_restore(struct files_rst *rf, int mntfd, const MountEntry *me);
/* Frees what mnt_tmpfs_dump() hung off @me. */
void mnt_tmpfs_free(MountEntry *me);
/* A path of the image (relative, no "..", no empty component): true if fine. */
bool mnt_path_ok(const char *path);

#endif
