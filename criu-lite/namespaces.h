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
 * cloned with CLONE_NEWPID and set_tid at every level: inside, every
 * pid is the dumped one; in cr's pid namespace the dumped pid is only
 * wished for: one that is another process's by now (or on another
 * machine) gives way to a new one, as a container's pids do, and each
 * task tells cr its own (restore.c). The root setns()es into
 * the holder's namespaces, and mounts what needs its pid namespace
 * (mntns_restore_in_pidns(): proc). The tree is put back into its cgroups
 * (cgroup_restore_tasks()) before the go.
 *
 * Existing namespaces (--join-ns net/uts/ipc, or a net namespace dumped
 * as external with --external net[INODE]:KEY and given again with
 * --inherit-fd fd[N]:KEY): the holder setns()es into them before it
 * unshares the rest, so the tree and cr are there; their contents are
 * their owner's and are not restored.
 *
 * A tree in a user namespace of its own (ns-user.c): the holder unshares
 * it first, alone, and cr writes its maps; the holder then makes the
 * other namespaces, which so belong to it, from inside. The root is
 * cloned by a creator that entered it (its pid namespace belongs to it
 * too).
 *
 * Every module: functions return 0 or -errno after logging one line
 * (what, which namespace or object, why with the errno text). A dump
 * refuses what it cannot restore, naming it. A restore function that
 * fails leaves nothing in the host (what it made inside the new
 * namespaces goes with them).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#include "cr.h"

enum ns_kind { NS_USER, NS_MNT, NS_PID, NS_NET, NS_UTS, NS_IPC, NS_CGROUP, NS_TIME, NS_KIND_MAX };

struct files_dump;
struct NsEntry;
struct restorer_creds;
struct files_rst;
struct pstree;
struct pstree_task;
struct restorer_args;
struct restorer_thread;

/* ---- the framework (namespaces.c) ------------------------------------------ */
struct ns_dump;
/*
 * Before anything of the dump: which of @root's namespaces are not cr's
 * (a user namespace of its own is refused), and cr enters its net, ipc
 * and uts namespaces.
 */
int ns_dump_begin(pid_t root, struct ns_dump **ret);
/* The tree is seized: every task in the root's namespaces, the pids at every pid namespace level. */
int ns_dump_tree(struct ns_dump *n, struct pstree *tree);
/* While the tree is frozen: ns.img, and each kind's images through its module. */
int ns_dump_write(struct ns_dump *n, const struct cr_options *o, const struct pstree *tree,
		  struct files_dump *df, int dfd);
bool ns_dump_any(const struct ns_dump *n);	/* inventory.img says so */
/* Thread @tid of @pid (cr's pids) as the task's own pid namespace names it. */
int ns_own_tid(pid_t pid, pid_t tid, pid_t *ret);
/* Whether the tree's namespace of kind @k is not cr's. */
bool ns_dump_own(const struct ns_dump *n, enum ns_kind k);
/*
 * Whether /proc/@n as task @viewer's /proc shows it (a /proc of any pid
 * namespace: matched by the NSpid it shows there) is a task of @tree.
 */
bool ns_proc_pid_in_tree(const struct pstree *tree, pid_t viewer, pid_t n);
void ns_dump_free(struct ns_dump *n);

struct ns_rst;
/*
 * With the other images, before anything is created; inventory.img says
 * whether there is ns.img (@has_ns) and cgroup.img (@has_cg).
 */
int ns_restore_read(const struct cr_options *o, int dfd, bool has_ns, bool has_cg, const struct pstree *tree,
		    struct ns_rst **ret);
/*
 * Before cr looks at the tree's files: the holder, cr in the new
 * net/ipc/uts and their content, the tree's paths through the holder's
 * root (rst_path()).
 */
int ns_restore_create(struct ns_rst *n, struct files_rst *rf);
/* cr's fds of the namespaces to @keep_from and above (the task fds are below). */
int ns_restore_fds_high(struct ns_rst *n, int keep_from);
/*
 * The tree's root is the init of a pid namespace of its own: the tree's
 * pids in cr's pid namespace may be new, not the dumped ones.
 */
bool ns_restore_pidns(const struct ns_rst *n);
/* clone3 flags for task @idx: CLONE_NEWPID for the init of a pid namespace. */
unsigned long ns_clone_flags(const struct pstree *tree, unsigned idx);
/* clone3 set_tid of a task or thread: its @levels pids innermost first, then @host unless 0. Returns the count. */
unsigned ns_set_tid(const struct pstree_task *t, const pid_t *levels, pid_t host, pid_t *set_tid);
/*
 * In task @idx once its children are forked: if its new children were born
 * in the pid namespace one of them starts (it had unshared CLONE_NEWPID),
 * that becomes its pid_for_children again.
 */
int ns_restore_pid_for_children(const struct pstree *tree, unsigned idx);
/* In the restored root, in its new pid namespace: joins the holder's namespaces. */
int ns_restore_enter(const struct ns_rst *n);
/* The tree has a user namespace of its own (see ns-user.c's section). */
bool ns_restore_userns(const struct ns_rst *n);
/* In the root's creator, a fork of cr: into the tree's user namespace (userns_enter()). */
int ns_restore_userns_enter(const struct ns_rst *n);
/*
 * The restorer's view of pids: the task's own pid namespace's, threads
 * cloned at every level (in a pid namespace of the tree's own: every
 * level but cr's). Its
 * creds as its user namespace sees them.
 */
int ns_restore_args(const struct ns_rst *n, const struct pstree_task *t, struct restorer_args *a,
		    struct restorer_thread *th, unsigned nr_threads);
/* Every thread exists: into its cgroups. */
int ns_restore_tasks(const struct ns_rst *n, const struct pstree *tree);
/* The tree is live (@ok) or gone: the holder leaves; after a failure cr's cgroups go too. */
void ns_restore_end(struct ns_rst *n, bool ok);
/*
 * The restore's guard is started (release_tree()): it takes over what
 * the namespaces' own guard would undo (ns_restore_guarded()), and if cr
 * dies before the go it calls ns_restore_abandoned().
 */
void ns_restore_guarded(struct ns_rst *n);
void ns_restore_abandoned(const struct ns_rst *n);
/* The new net namespace's network lock (netlock.h), or NULL. */
struct netlock *ns_restore_netlock(const struct ns_rst *n);
void ns_restore_free(struct ns_rst *n);

/* ---- user (ns-user.c): ns.img's user entry, maps and setgroups ------------ */
/*
 * A tree in a user namespace of its own must be in a pid namespace of its
 * own too, and every task in that one user namespace. Restore: the holder
 * unshares the user namespace first and cr writes its maps; every other
 * namespace the holder makes is then owned by it. A pid namespace belongs
 * to the user namespace of its creator, so the root is cloned by a creator
 * that entered the new user namespace (userns_enter()) and makes it cr's
 * child with CLONE_PARENT. From inside the namespace, clone3's set_tid can
 * only set the pids of pid namespaces it owns, which are all but cr's.
 */
#define USERNS_MAP_MAX	340	/* extents the kernel takes in one map */
struct userns_extent {
	uint32_t first, lower_first, count;	/* ids first.. inside are lower_first.. in cr's namespace */
};
struct userns_map {
	unsigned nr;
	struct userns_extent e[USERNS_MAP_MAX];
};
/* The text of /proc/PID/uid_map (or gid_map): 0, -EINVAL, -ERANGE, -E2BIG. Does not log. */
int userns_map_parse(const char *text, struct userns_map *ret);
/* What the kernel would take: -ENOENT (empty), -E2BIG, -ERANGE (an empty or too long extent), -EEXIST (overlap). */
int userns_map_check(const struct userns_map *m);
/* The text to write to /proc/PID/uid_map into @buf: its length, or -E2BIG. */
int userns_map_format(const struct userns_map *m, char *buf, size_t size);
/* An id of cr's namespace as the tree's sees it: 0, or -ERANGE for an unmapped id. */
int userns_map_to_inside(const struct userns_map *m, uint32_t outside, uint32_t *ret);
/* And back: an id of the tree's namespace as cr's sees it. */
int userns_map_to_outside(const struct userns_map *m, uint32_t in, uint32_t *ret);

struct userns;
/* Dump: @pid's user namespace's maps and setgroups. */
int userns_dump_read(pid_t pid, struct userns **ret);
/* Into ns.img's user entry; @e points into @u until it is freed. */
void userns_dump_fill(struct userns *u, struct NsEntry *e);
/* Restore: the user entry of ns.img, checked. */
int userns_read(const struct NsEntry *e, struct userns **ret);
/* From cr: setgroups, uid_map and gid_map of @pid's (new) user namespace. */
int userns_write_maps(const struct userns *u, pid_t pid);
bool userns_setgroups_allowed(const struct userns *u);
/* The holder, maps written: becomes the namespace's uid and gid 0 where those are mapped. */
int userns_holder_ids(const struct userns *u);
/*
 * In the holder: an owner of cr's namespace (@uid, @gid, as the images
 * hold them) as the holder's sees it, in place; -ERANGE if unmapped. A
 * no-op in a process that entered no user namespace.
 */
int userns_to_inside(uint32_t *uid, uint32_t *gid);
/* The same for one uid (or @gid: gid). */
int userns_id_to_inside(bool gid, uint32_t *id);
/*
 * In cr, while restoring a tree in a user namespace: the calling thread
 * acts with the euid of the namespace's root (and so without effective
 * capabilities) until userns_euid_end(): what checks the euid against
 * the owner of the tree's namespace (the ipc sysctls) lets it write.
 * Without a user namespace both do nothing.
 */
void userns_euid_begin(uid_t *ret_saved);
void userns_euid_end(uid_t saved);
/*
 * The same with the fsuid and fsgid: what creates an inode in a file
 * system of the tree's user namespace (the mqueue one of its ipc
 * namespace) needs them mapped there. The file is then the namespace
 * root's until chown()ed.
 */
void userns_fsid_begin(uint32_t *ret_uid, uint32_t *ret_gid);
void userns_fsid_end(uint32_t uid, uint32_t gid);
/* Whether @u maps both ids of cr's namespace. */
bool userns_ids_mapped(const struct userns *u, uint32_t uid, uint32_t gid);
/*
 * The restorer's creds of task @pid as the tree's namespace sees them;
 * the root's (@is_root) first: a task with the root's groups keeps those
 * userns_enter() set from outside, others (setgroups allowed) are set
 * from inside.
 */
int userns_creds(struct userns *u, pid_t pid, bool is_root, struct restorer_creds *c);
/* The root's creator: the root's groups, then into the user namespace of @fd. */
int userns_enter(const struct userns *u, int fd);
void userns_free(struct userns *u);

/* ---- uts (ns-uts.c): utsns.img -------------------------------------------- */
struct utsns_img;
/* cr is in the tree's uts namespace. */
int utsns_dump(int dfd);
int utsns_read(int dfd, struct utsns_img **ret);
/* The caller is in the new uts namespace. */
int utsns_restore(const struct utsns_img *u);
void utsns_free(struct utsns_img *u);

/* ---- ipc (ns-ipc*.c): ipcns.img; SysV shm, sem, msg, POSIX mqueues, sysctls */
struct ipcns_img;
/* cr is in the tree's ipc namespace; bulk bytes go to fdata.img through @df. */
int ipcns_dump(struct files_dump *df, int dfd);
int ipcns_read(int dfd, struct ipcns_img **ret);
/* The caller (cr) is in the new ipc namespace, before the tree is forked. */
int ipcns_restore(const struct ipcns_img *n, struct files_rst *rf);
/*
 * Whether the calling thread is in another ipc namespace than cr's at
 * start (the tree's, during its dump): shmem.c then keeps only the id of
 * a SysV segment the tree maps, ipcns.img holds the segment.
 */
bool ipcns_entered(void);
/* How many SysV objects and queues the image holds (a joined namespace must have none). */
size_t ipcns_nr_objects(const struct ipcns_img *n);
void ipcns_free(struct ipcns_img *n);

/* ---- net (ns-net.c): netns.img; links, addresses, routes, sysctls --------- */
struct netns_img;
/*
 * cr is in the tree's net namespace, that of @root (for the messages).
 * Links other than the loopback and veths are refused; a veth whose peer
 * is outside is recorded as external; the nftables ruleset is saved.
 */
int netns_dump(const struct cr_options *o, pid_t root, int dfd);
/*
 * Reads and checks netns.img (needs no namespace): an external veth needs
 * --external veth[IFNAME]:HOSTIF in @o, or this fails naming it.
 */
int netns_read(const struct cr_options *o, int dfd, struct netns_img **ret);
/*
 * The caller (cr) is in the new net namespace (only its loopback, down);
 * @host_netns is cr's own: an external veth's host end is made there as
 * HOSTIF, down. A failure removes the external veths, host ends included.
 */
int netns_restore(const struct netns_img *n, int host_netns);
/* Whether the image has a link other than the loopback (packets can come from outside). */
bool netns_has_links(const struct netns_img *n);
void netns_free(struct netns_img *n);

/* ---- mnt (ns-mnt.c and mnt-*.c): mountpoints.img --------------------------- */
struct mntns_img;
struct cgroup_img;
/*
 * @pid: a task of the tree in the mount namespace to dump (cr is in its
 * own); tmpfs contents go to fdata.img through @df.
 */
int mntns_dump(const struct cr_options *o, pid_t pid, struct files_dump *df, int dfd);
/*
 * Dump: whether the file at @link (as /proc/@pid/fd shows it), on mount
 * @mnt_id of a mount namespace not cr's, is hidden at that path by
 * another mount: 0 and *@ret_rel (malloc'ed) its path inside its own
 * mount, which restore opens it through; -ENOENT when not, or -errno.
 */
int mntns_hidden_file(pid_t pid, int mnt_id, const char *link, char **ret_rel);
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
 * tmpfs of /sys/fs/cgroup), mqueue the ipc namespace. cgroup mounts are
 * made from cr's cgroup namespace (@cgns_fd, -1 if the tree has none of its own) and cut at their dumped
 * root, which is in cr's view too: a cgroup namespace shows mounts made
 * outside it as they are. Builds the whole tree (o->root is the new root), then
 * pivot_root()s into it and chdir("/"). The holder's fds of @rf's
 * fdata.img must be open. Mounts that need the tree's pid namespace
 * (proc, and what hangs off it) are left to mntns_restore_in_pidns().
 * With @ret_fds, *@ret_fds (2 * mntns_nr() of them, malloc'ed) are left
 * open, in image order (-1: not made here): first each mount's root, then
 * the directory each covers in its parent mount (mntns_mount_cover()).
 */
int mntns_restore(const struct mntns_img *m, struct files_rst *rf, int cgns_fd, int **ret_fds);
/*
 * In the root task, before it joins the holder's mount namespace: clones
 * of the externals mntns_restore_in_pidns() attaches, made here, where
 * their paths are the host's (after it, "/" is the tree's root).
 */
int mntns_prepare_in_pidns(struct mntns_img *m);
/*
 * In the root task: new pid namespace, already setns()ed into the
 * holder's mount namespace (root and cwd at its root).
 */
int mntns_restore_in_pidns(const struct mntns_img *m);
/*
 * Before the holder: the mount namespace will be made in a new user
 * namespace. A new proc is then mounted only where a proc is fully
 * visible already: the holder keeps a clone of cr's /proc on the tree's
 * first proc mount point until the root task has made its own.
 */
void mntns_set_userns(struct mntns_img *m);
/*
 * The holder, before it unshares the user namespace @u: clones of what the
 * tree's mounts are cut from in cr's namespace (its root, externals, cr's
 * own mounts), and the kinds it may not mount there (devtmpfs, cgroups). In
 * the new user namespace's mount namespace those would be refused: the
 * mounts on them are locked to them there. And the tmpfs mounts holding
 * files of owners @u does not map: their super blocks were cr's user
 * namespace's (inherited from outside), and only such a one can hold
 * those files.
 */
struct userns;
int mntns_restore_preclone(struct mntns_img *m, struct files_rst *rf, const struct userns *u);
/*
 * After cgroup_read(): the roots of cgroup mounts move with --cgroup-root
 * (cgroup_mount_root()). Returns 0 or -errno (logged).
 */
int mntns_cgroup_roots(struct mntns_img *m, const struct cgroup_img *c);
/* The number of mounts, and the dumped mount id of the @i-th. */
unsigned mntns_nr(const struct mntns_img *m);
uint32_t mntns_mount_id(const struct mntns_img *m, unsigned i);
/* Where the @i-th mount is attached: its parent's mount id, the path inside that (NULL: the root). */
const char *mntns_mount_cover(const struct mntns_img *m, unsigned i, uint32_t *ret_parent_id);
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
/*
 * The root a cgroup mount (@fstype "cgroup" or "cgroup2", super options
 * @super_opts) is cut at when --cgroup-root moved its hierarchy's root:
 * *@ret malloc'ed, NULL when the mount stays where it was. A mount that
 * shows more than the moved root is -EINVAL (logged, naming @mountpoint).
 */
int cgroup_mount_root(const struct cgroup_img *c, const char *fstype, const char *super_opts, const char *mountpoint,
		      const char *root, char **ret);
/* The restore failed: removes what cgroup_restore_prepare() created. */
void cgroup_restore_undo(struct cgroup_img *c);
/*
 * cgroup_restore_prepare() forks a guard that removes what it creates if
 * cr dies; unguard stops it (the restore's own guard took over, or cr
 * ends). In that guard, cr died before the go: abandon removes what was
 * created, once the tree's tasks have left it.
 */
void cgroup_restore_unguard(struct cgroup_img *c);
void cgroup_restore_abandon(const struct cgroup_img *c);
void cgroup_free(struct cgroup_img *c);

/*
 * --freeze-cgroup PATH (cgroup-freeze.c): the freezer cgroup's directory
 * as runc passes it (/sys/fs/cgroup/freezer/<cg>, or the v2 directory),
 * or a path inside the freezer hierarchy ("/<cg>").
 *
 * A frozen task can be PTRACE_SEIZEd, and PTRACE_INTERRUPT on it is
 * queued: it stops for the tracer once it runs again. So a dump does,
 * as criu does:
 *   1. cgroup_freeze(o->freeze_cgroup, guard, &f): frozen, nothing
 *      forks; the guard thaws it if cr dies before step 3 (unless it
 *      was frozen before);
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
struct guard;
int cgroup_freeze(const char *path, struct guard *g, struct cgroup_freezer **ret);
/* Thaws unconditionally: the seized tasks take their interrupts. */
int cgroup_thaw_seized(struct cgroup_freezer *f);
/* Back to the state before cgroup_freeze(): thawed, or frozen if it was frozen before. */
int cgroup_thaw(struct cgroup_freezer *f);
void cgroup_freezer_free(struct cgroup_freezer *f);

#endif
