#ifndef CR_NAMESPACES_H
#define CR_NAMESPACES_H

/*
 * Trees in their own namespaces.
 *
 * Dump: namespaces.c reads /proc/PID/ns/<kind> of every task. A kind the
 * whole tree shares with cr is not dumped (a tree in cr's namespaces
 * costs nothing more). Otherwise the tree's namespace of that kind is
 * dumped once (ns.img), through its kind's module below. For the whole
 * dump cr itself is setns()ed into the root task's net, ipc and uts
 * namespaces (never mnt, pid, user or cgroup): sock_diag, /proc/sysvipc,
 * uname() and every socket cr makes then see the tree's; paths of the
 * tree's files are looked up through /proc/PID/root.
 *
 * Restore: ns.img and the kinds' images are read and checked with the
 * rest, before anything is created. Then a holder process is forked and
 * unshares the kinds to create (mnt, net, uts, ipc, cgroup, time); it
 * builds the mount tree (mntns_restore()) and stays until the tree is
 * live or the restore failed: while it lives the namespaces do, and
 * killing it (cr's death included) drops them. cr setns()es into the
 * holder's net, ipc and uts namespaces and restores their content there
 * (utsns_restore(), ipcns_restore(), netns_restore()), so the sockets and
 * SysV objects it makes before the fork are the tree's. The root task is
 * cloned with CLONE_NEWPID (and set_tid at every level), setns()es into
 * the holder's namespaces, and mounts what needs its pid namespace
 * (mntns_restore_in_pidns(): proc). The tree is put back into its cgroups
 * (cgroup_restore_tasks()) before the go.
 *
 * Every module: functions return 0 or -errno after logging one line
 * (what, which namespace or object, why with the errno text). A dump
 * refuses what it cannot restore, naming it. A restore function that
 * fails leaves nothing in the host (what it made inside the new
 * namespaces goes with them).
 */
#include <stdbool.h>
#include <sys/types.h>

#include "cr.h"

enum ns_kind { NS_USER, NS_MNT, NS_PID, NS_NET, NS_UTS, NS_IPC, NS_CGROUP, NS_TIME, NS_KIND_MAX };

struct files_dump;
struct files_rst;
struct pstree;

/* ---- uts (ns-uts.c): utsns.img -------------------------------------------- */
struct utsns_img;
/* cr is in the tree's uts namespace. */
int utsns_dump(int dfd);
int utsns_read(int dfd, struct utsns_img **ret);
/* The caller is in the new uts namespace. */
int utsns_restore(const struct utsns_img *u);
void utsns_free(struct utsns_img *u);

/* ---- ipc (ns-ipc.c): ipcns.img; SysV shm, sem, msg, the ipc sysctls ------- */
struct ipcns_img;
/* cr is in the tree's ipc namespace; bulk bytes go to fdata.img through @df. */
int ipcns_dump(struct files_dump *df, int dfd);
int ipcns_read(int dfd, struct ipcns_img **ret);
/* The caller (cr) is in the new ipc namespace, before the tree is forked. */
int ipcns_restore(const struct ipcns_img *n, struct files_rst *rf);
void ipcns_free(struct ipcns_img *n);

/* ---- net (ns-net.c): netns.img; links, addresses, routes, sysctls --------- */
struct netns_img;
/* cr is in the tree's net namespace. */
int netns_dump(const struct cr_options *o, int dfd);
int netns_read(const struct cr_options *o, int dfd, struct netns_img **ret);
/* The caller (cr) is in the new net namespace; @host_netns is cr's own. */
int netns_restore(const struct netns_img *n, int host_netns);
void netns_free(struct netns_img *n);

/* ---- mnt (ns-mnt.c and mnt-*.c): mountpoints.img --------------------------- */
struct mntns_img;
/*
 * @pid: a task of the tree in the mount namespace to dump (cr is in its
 * own); tmpfs contents go to fdata.img through @df.
 */
int mntns_dump(const struct cr_options *o, pid_t pid, struct files_dump *df, int dfd);
int mntns_read(const struct cr_options *o, int dfd, struct mntns_img **ret);
/*
 * mntns_read() checks everything a restore needs before anything is
 * made: the image, --root (none: the dumped root must be cr's own root,
 * same device and root path), every external's --external mnt[KEY]:PATH.
 *
 * In the holder: a new mount namespace, single-threaded, still in cr's
 * pid namespace, and already in the tree's new net, ipc and cgroup
 * namespaces, those it has: a new sysfs shows the net namespace of its
 * mounter (and a sysfs mount may carry mounts the holder must make: the
 * tmpfs of /sys/fs/cgroup), mqueue the ipc namespace, cgroup mounts
 * the cgroup namespace's root. Builds the whole tree (o->root is the new root), then
 * pivot_root()s into it and chdir("/"). The holder's fds of @rf's
 * fdata.img must be open. Mounts that need the tree's pid namespace
 * (proc, and what hangs off it) are left to mntns_restore_in_pidns().
 */
int mntns_restore(const struct mntns_img *m, struct files_rst *rf);
/*
 * In the root task: new pid namespace, already setns()ed into the
 * holder's mount namespace (root and cwd at its root).
 */
int mntns_restore_in_pidns(const struct mntns_img *m);
void mntns_free(struct mntns_img *m);

/* ---- cgroups (cgroup.c): cgroup.img ---------------------------------------- */
struct cgroup_img;
/* Every task's and thread's cgroups, and with --manage-cgroups props/full/strict their properties. */
int cgroup_dump(const struct cr_options *o, const struct pstree *tree, int dfd);
int cgroup_read(const struct cr_options *o, int dfd, struct cgroup_img **ret);
/* In cr, before the holder: creates the cgroups the mode says to create, sets properties. */
int cgroup_restore_prepare(struct cgroup_img *c);
/* In the holder, before it unshares CLONE_NEWCGROUP: joins the dumped cgroup namespace's root. */
int cgroup_join_ns_root(const struct cgroup_img *c);
/* In cr, every thread of @tree exists: puts each into its cgroups. */
int cgroup_restore_tasks(const struct cgroup_img *c, const struct pstree *tree);
/* The restore failed: removes what cgroup_restore_prepare() created. */
void cgroup_restore_undo(struct cgroup_img *c);
void cgroup_free(struct cgroup_img *c);

/* --freeze-cgroup: freezes (v1 freezer.state, v2 cgroup.freeze) and waits until frozen. */
struct cgroup_freezer;
int cgroup_freeze(const char *path, struct cgroup_freezer **ret);
/* Thaws, unless it was frozen before cgroup_freeze(). */
int cgroup_thaw(struct cgroup_freezer *f);
void cgroup_freezer_free(struct cgroup_freezer *f);

#endif
