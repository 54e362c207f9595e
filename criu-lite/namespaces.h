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
 * In the holder: a new mount namespace, single-threaded, still in cr's
 * pid namespace. Builds the whole tree (o->root is the new root), then
 * pivot_root()s into it. Mounts that need the tree's pid namespace are
 * left to mntns_restore_in_pidns().
 */
int mntns_restore(const struct mntns_img *m, struct files_rst *rf);
/* In the root task: new pid namespace, already in the new mount namespace. */
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

/*
 * --freeze-cgroup PATH (cgroup-freeze.c): the freezer cgroup's directory
 * as runc passes it (/sys/fs/cgroup/freezer/<cg>, or the v2 directory),
 * or a path inside the freezer hierarchy ("/<cg>").
 *
 * A frozen task can be PTRACE_SEIZEd, and PTRACE_INTERRUPT on it is
 * queued: it stops for the tracer once it runs again. So a dump does,
 * as criu does:
 *   1. cgroup_freeze(o->freeze_cgroup, &f): frozen, nothing forks;
 *   2. pstree_seize(): SEIZE + INTERRUPT every thread of the tree (the
 *      walk finds nothing new: the tree cannot change);
 *   3. cgroup_thaw_seized(f): the interrupts land, every thread enters
 *      its ptrace stop (wait for them) instead of running;
 *   4. dump; then cgroup_thaw(f) *before* pstree_detach() (or the kill):
 *      a cgroup that was frozen before step 1 is frozen again while the
 *      tasks are still stopped (with --leave-running it stays frozen),
 *      any other one is left thawed;
 *   5. cgroup_freezer_free(f).
 * On a failure at any step: cgroup_thaw(f) (if step 1 succeeded), then
 * detach. cgroup_freeze() itself thaws again when it fails (a freezer
 * not FROZEN within 10 s is -ETIMEDOUT, naming the cgroup).
 */
struct cgroup_freezer;
int cgroup_freeze(const char *path, struct cgroup_freezer **ret);
/* Thaws unconditionally: the seized tasks take their interrupts. */
int cgroup_thaw_seized(struct cgroup_freezer *f);
/* Back to the state before cgroup_freeze(): thawed, or frozen if it was frozen before. */
int cgroup_thaw(struct cgroup_freezer *f);
void cgroup_freezer_free(struct cgroup_freezer *f);

#endif
