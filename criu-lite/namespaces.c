/*
 * The tree's namespaces (namespaces.h): which kinds the tree does not
 * share with cr, the pids at every pid namespace level, ns.img, and at
 * restore the holder that keeps the new namespaces while the tree is
 * built.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "image.h"
#include "log.h"
#include "namespaces.h"
#include "netlock.h"
#include "open-file.h"
#include "ns.pb-c.h"
#include "proc-parse.h"
#include "pstree.h"
#include "restore.h"
#include "restorer-abi.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME	0x00000080
#endif

static const struct {
	const char *name;		/* in /proc/PID/ns/ */
	int flag;			/* CLONE_NEW* */
} kinds[NS_KIND_MAX] = {
	[NS_USER]   = { "user",   CLONE_NEWUSER },
	[NS_MNT]    = { "mnt",    CLONE_NEWNS },
	[NS_PID]    = { "pid",    CLONE_NEWPID },
	[NS_NET]    = { "net",    CLONE_NEWNET },
	[NS_UTS]    = { "uts",    CLONE_NEWUTS },
	[NS_IPC]    = { "ipc",    CLONE_NEWIPC },
	[NS_CGROUP] = { "cgroup", CLONE_NEWCGROUP },
	[NS_TIME]   = { "time",   CLONE_NEWTIME },
};

/* The kinds cr enters for the whole dump or restore: what it reads and makes there is the tree's. */
static const enum ns_kind entered[] = { NS_NET, NS_IPC, NS_UTS };

static int ns_inode(pid_t pid, enum ns_kind k, ino_t *ret)
{
	char path[64];
	struct stat st;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, kinds[k].name);
	else
		snprintf(path, sizeof(path), "/proc/self/ns/%s", kinds[k].name);
	if (stat(path, &st))
		return -errno;
	*ret = st.st_ino;
	return 0;
}

static int ns_open(pid_t pid, const char *name, int *ret_fd)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno(-errno, "pid %d: opening its %s namespace", (int)pid, name);
	*ret_fd = fd;
	return 0;
}

static int ns_enter(int fd, enum ns_kind k, const char *whose)
{
	if (setns(fd, kinds[k].flag))
		return pr_errno(-errno, "entering %s's %s namespace", whose, kinds[k].name);
	return 0;
}

/* ---- dump ------------------------------------------------------------------ */

struct ns_dump {
	pid_t root;
	ino_t cr[NS_KIND_MAX], tree[NS_KIND_MAX];
	bool own[NS_KIND_MAX];		/* the tree's is not cr's */
	struct userns *user;		/* the tree's user namespace, if its own */
};

bool ns_dump_any(const struct ns_dump *n)
{
	for (unsigned k = 0; k < NS_KIND_MAX; k++)
		if (n->own[k])
			return true;
	return false;
}

bool ns_dump_own(const struct ns_dump *n, enum ns_kind k)
{
	return n && n->own[k];
}

int ns_dump_begin(pid_t root, struct ns_dump **ret)
{
	struct ns_dump *n = xzalloc(sizeof(*n));
	int err = 0;

	if (!n)
		return -ENOMEM;
	n->root = root;
	for (unsigned k = 0; k < NS_KIND_MAX && !err; k++) {
		err = ns_inode(0, k, &n->cr[k]);
		if (err == -ENOENT) {		/* a kernel without that kind */
			err = 0;
			continue;
		}
		if (!err)
			err = ns_inode(root, k, &n->tree[k]);
		if (err)
			err = pr_errno(err, "pid %d: reading its %s namespace", root, kinds[k].name);
		n->own[k] = n->cr[k] != n->tree[k];
	}
	/* From inside a user namespace only the pids of its own pid namespaces can be chosen (namespaces.h). */
	if (!err && n->own[NS_USER] && !n->own[NS_PID])
		err = pr_errno(-EOPNOTSUPP, "pid %d lives in a user namespace of its own but in cr's pid namespace; "
			       "its pids could not be restored: only a tree in its own pid namespace too is supported",
			       root);
	if (!err && n->own[NS_USER])
		err = userns_dump_read(root, &n->user);
	for (unsigned i = 0; i < ARRAY_SIZE(entered) && !err; i++) {
		_cleanup_close_ int fd = -EBADF;
		char whose[32];

		if (!n->own[entered[i]])
			continue;
		snprintf(whose, sizeof(whose), "pid %d", root);
		err = ns_open(root, kinds[entered[i]].name, &fd);
		if (!err)
			err = ns_enter(fd, entered[i], whose);
	}
	if (err) {
		ns_dump_free(n);
		return err;
	}
	for (unsigned k = 0; k < NS_KIND_MAX; k++)
		if (n->own[k])
			pr_info("pid %d: has a %s namespace of its own", root, kinds[k].name);
	*ret = n;
	return 0;
}

void ns_dump_free(struct ns_dump *n)
{
	if (!n)
		return;
	userns_free(n->user);
	free(n);
}

/* The numbers of a "Key:\tA\tB..." line of a status file, the outermost first. */
static int status_ids(const char *buf, const char *key, pid_t *ids, unsigned max, unsigned *ret_nr)
{
	const char *p = strstr(buf, key);
	unsigned nr = 0;

	if (!p)
		return -ENOENT;
	for (p += strlen(key); *p && *p != '\n';) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		if (nr == max)
			return -E2BIG;
		ids[nr++] = v;
		p = end;
	}
	*ret_nr = nr;
	return nr ? 0 : -EINVAL;
}

static int read_status(pid_t pid, pid_t tid, char **ret)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	return read_file_at(AT_FDCWD, path, ret, NULL);
}

int ns_own_tid(pid_t pid, pid_t tid, pid_t *ret)
{
	_cleanup_free_ char *buf = NULL;
	pid_t ids[PSTREE_MAX_LEVELS + 1];
	unsigned nr;
	int err = read_status(pid, tid, &buf);

	if (!err)
		err = status_ids(buf, "\nNSpid:", ids, ARRAY_SIZE(ids), &nr);
	if (err)
		return pr_errno(err, "pid %d: thread %d's pid in its own pid namespace (NSpid)", pid, tid);
	*ret = ids[nr - 1];
	return 0;
}

bool ns_proc_pid_in_tree(const struct pstree *tree, pid_t viewer, pid_t n)
{
	_cleanup_free_ char *buf = NULL;
	pid_t ids[PSTREE_MAX_LEVELS + 1];
	char path[PATH_MAX], rel[48];
	unsigned nr;

	if (!tree->nr || !tree->tasks[0].levels)
		return pstree_find(tree, n) != NULL;
	/* That /proc's view of the process: its pids from the /proc's pid namespace down. */
	snprintf(rel, sizeof(rel), "/proc/%d/status", (int)n);
	if (proc_root_path(viewer, rel, path, sizeof(path)) || read_file_at(AT_FDCWD, path, &buf, NULL) ||
	    status_ids(buf, "\nNSpid:", ids, ARRAY_SIZE(ids), &nr))
		return false;
	for (unsigned i = 0; i < tree->nr; i++) {
		const struct pstree_task *t = &tree->tasks[i];
		unsigned k = 0;

		/* the task's pids are t->pid, then t->ns_pid[0 .. levels): the last @nr must match */
		if (nr > t->levels + 1)
			continue;
		for (; k < nr; k++) {
			unsigned at = t->levels + 1 - nr + k;

			if ((at ? t->ns_pid[at - 1] : t->pid) != ids[k])
				break;
		}
		if (k == nr)
			return true;
	}
	return false;
}

/* The task's pids below cr's pid namespace, its group and session there, every thread's tids. */
static int collect_levels(struct pstree_task *t)
{
	_cleanup_free_ char *buf = NULL;
	pid_t ids[PSTREE_MAX_LEVELS + 1];
	unsigned nr, n1;
	int err;

	err = read_status(t->pid, t->pid, &buf);
	if (!err)
		err = status_ids(buf, "\nNSpid:", ids, ARRAY_SIZE(ids), &nr);
	if (!err && nr < 2)
		err = -EPROTO;
	if (err)
		return pr_errno(err, "pid %d: reading its pids in its pid namespaces (NSpid)", t->pid);
	t->levels = nr - 1;
	t->ns_pid = xmalloc(sizeof(pid_t) * t->levels);
	if (!t->ns_pid)
		return -ENOMEM;
	memcpy(t->ns_pid, ids + 1, sizeof(pid_t) * t->levels);
	if (!status_ids(buf, "\nNSpgid:", ids, ARRAY_SIZE(ids), &n1))
		t->ns_pgid = ids[n1 - 1];
	if (!status_ids(buf, "\nNSsid:", ids, ARRAY_SIZE(ids), &n1))
		t->ns_sid = ids[n1 - 1];
	if (t->kind != TASK_ALIVE)
		return 0;
	t->ns_tids = xmalloc(sizeof(pid_t) * t->levels * t->nr_tids);
	if (!t->ns_tids)
		return -ENOMEM;
	for (unsigned i = 0; i < t->nr_tids; i++) {
		_cleanup_free_ char *tb = NULL;

		err = read_status(t->pid, t->tids[i], &tb);
		if (!err)
			err = status_ids(tb, "\nNSpid:", ids, ARRAY_SIZE(ids), &n1);
		if (!err && n1 != nr)
			err = -EPROTO;
		if (err)
			return pr_errno(err, "pid %d: reading the pids of its thread %d (NSpid)", t->pid, t->tids[i]);
		memcpy(t->ns_tids + i * t->levels, ids + 1, sizeof(pid_t) * t->levels);
	}
	return 0;
}

/* A task's pid namespace is its parent's, or a new one it is the init of. */
static int check_pid_level(const struct pstree *tree, const struct pstree_task *t, ino_t ino, ino_t parent_ino)
{
	const struct pstree_task *p = t->parent >= 0 ? &tree->tasks[t->parent] : NULL;
	unsigned plv = p ? p->levels : 0;

	if (t->levels > PSTREE_MAX_LEVELS - 1)
		return pr_errno(-EOPNOTSUPP, "pid %d: its pid namespace is %u levels below cr's; at most %u are supported",
				t->pid, t->levels, PSTREE_MAX_LEVELS - 1);
	if (!p && t->levels > 1)
		return pr_errno(-EOPNOTSUPP, "pid %d: its pid namespace is %u levels below cr's; dump from its parent "
				"pid namespace", t->pid, t->levels);
	if (p && t->levels == plv && ino != parent_ino)
		return pr_errno(-EOPNOTSUPP, "pid %d: its pid namespace is neither its parent's nor a child of it",
				t->pid);
	if (t->levels < plv || t->levels > plv + 1)
		return pr_errno(-EOPNOTSUPP, "pid %d: its pid namespace is neither its parent's nor a child of it",
				t->pid);
	if (t->levels > plv && pstree_vpid(t) != 1)
		return pr_errno(-EOPNOTSUPP, "pid %d is pid %d in its pid namespace, not its init: dump the tree from "
				"the namespace's init", t->pid, pstree_vpid(t));
	return 0;
}

/*
 * A task that unshared CLONE_NEWPID has its new children born in another
 * pid namespace than its own: one of its children is that namespace's
 * init, the restore makes it the task's pid_for_children again.
 */
static int pidns_for_children(struct pstree *tree, unsigned i, const ino_t *pid_ino)
{
	struct pstree_task *t = &tree->tasks[i];
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid_for_children", (int)t->pid);
	if (stat(path, &st)) {
		if (errno == ENOENT)
			return 0;	/* a kernel without it */
		return pr_errno(-errno, "pid %d: reading %s", t->pid, path);
	}
	if (st.st_ino == pid_ino[i])
		return 0;
	for (unsigned j = i + 1; j < tree->nr; j++) {
		if (tree->tasks[j].parent != (int)i || pid_ino[j] != st.st_ino)
			continue;
		if (t->nr_tids > 1)
			return pr_errno(-EOPNOTSUPP, "pid %d has %u threads and its children go to another pid "
					"namespace than its own (pid_for_children): not supported", t->pid, t->nr_tids);
		t->pidns_child = tree->tasks[j].pid;
		pr_debug("pid %d: its children go to the pid namespace of its child %d", t->pid, t->pidns_child);
		return 0;
	}
	return pr_errno(-EOPNOTSUPP, "pid %d: its children go to a pid namespace (pid_for_children) none of its "
			"children is in: not supported", t->pid);
}

int ns_dump_tree(struct ns_dump *n, struct pstree *tree)
{
	ino_t *pid_ino = xmalloc(sizeof(ino_t) * (tree->nr ? tree->nr : 1));
	int err = 0;

	if (!pid_ino)
		return -ENOMEM;
	for (unsigned i = 0; i < tree->nr && !err; i++) {
		struct pstree_task *t = &tree->tasks[i];

		if (t->kind == TASK_HELPER)
			continue;
		for (unsigned k = 0; k < NS_KIND_MAX && !err; k++) {
			ino_t ino;

			if (!n->cr[k])
				continue;
			err = ns_inode(t->pid, k, &ino);
			/* A zombie keeps its pid namespace only. */
			if (err == -ENOENT && t->kind == TASK_ZOMBIE && k != NS_PID) {
				err = 0;
				continue;
			}
			if (err) {
				err = pr_errno(err, "pid %d: reading its %s namespace", t->pid, kinds[k].name);
				break;
			}
			if (k == NS_PID) {
				pid_ino[i] = ino;
				if (ino != n->cr[k])
					err = collect_levels(t);
				if (!err)
					err = check_pid_level(tree, t, ino, t->parent >= 0 ? pid_ino[t->parent] : 0);
			} else if (ino != n->tree[k] && k == NS_USER) {
				err = pr_errno(-EOPNOTSUPP, "pid %d is in another user namespace than the tree's root %d "
					       "(a nested one?); a tree in several user namespaces is not supported",
					       t->pid, n->root);
			} else if (ino != n->tree[k]) {
				err = pr_errno(-EOPNOTSUPP, "pid %d: its %s namespace is not the one of the tree's root %d; "
					       "a tree in several %s namespaces is not supported yet", t->pid,
					       kinds[k].name, n->root, kinds[k].name);
			}
		}
	}
	for (unsigned i = 0; i < tree->nr && !err; i++)
		if (tree->tasks[i].kind == TASK_ALIVE)
			err = pidns_for_children(tree, i, pid_ino);
	free(pid_ino);
	return err;
}

/* /proc/PID/timens_offsets: "monotonic S NS" and "boottime S NS" lines. */
static int time_offsets(pid_t pid, NsEntry *e)
{
	_cleanup_free_ char *buf = NULL;
	char path[64];
	const char *p;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/timens_offsets", (int)pid);
	err = read_file_at(AT_FDCWD, path, &buf, NULL);
	if (err)
		return pr_errno(err, "pid %d: reading %s", pid, path);
	p = strstr(buf, "monotonic");
	if (!p || sscanf(p, "monotonic %" SCNd64 " %" SCNd64, &e->monotonic_sec, &e->monotonic_nsec) != 2)
		return pr_errno(-EPROTO, "%s: no monotonic line", path);
	p = strstr(buf, "boottime");
	if (!p || sscanf(p, "boottime %" SCNd64 " %" SCNd64, &e->boottime_sec, &e->boottime_nsec) != 2)
		return pr_errno(-EPROTO, "%s: no boottime line", path);
	e->has_monotonic_sec = e->has_monotonic_nsec = e->has_boottime_sec = e->has_boottime_nsec = true;
	return 0;
}

static int dump_kind(struct ns_dump *n, enum ns_kind k, const struct cr_options *o, struct files_dump *df, int dfd)
{
	switch (k) {
	case NS_MNT:
		return mntns_dump(o, n->root, df, dfd);
	case NS_NET:
		return netns_dump(o, n->root, dfd);
	case NS_UTS:
		return utsns_dump(dfd);
	case NS_IPC:
		return ipcns_dump(df, dfd);
	default:
		return 0;	/* pid: pstree.img; time: ns.img; cgroup: cgroup.img */
	}
}

/*
 * --external net[INODE]:KEY (runc's for a network namespace it did not
 * make): the KEY when it names the tree's net namespace, else NULL. An
 * external pid namespace is refused: the tree would have to be restored
 * into an existing pid namespace (with its pids free there). Another
 * inode than the tree's is refused too: what was meant is unclear.
 */
static int ns_external(const struct ns_dump *n, const struct cr_options *o, enum ns_kind k, const char **ret_key)
{
	char ino[24];
	const char *key;

	*ret_key = NULL;
	snprintf(ino, sizeof(ino), "%llu", (unsigned long long)n->tree[k]);
	key = cr_external_lookup(o, kinds[k].name, ino);
	if (!key && cr_external_lookup(o, kinds[k].name, NULL)) {
		if (!n->own[k]) {
			pr_info("--external %s[...]: the tree is in cr's %s namespace, nothing to leave out", kinds[k].name,
				kinds[k].name);
			return 0;
		}
		return pr_errno(-EINVAL, "--external %s[...]: names another namespace than the tree's (inode %s)",
				kinds[k].name, ino);
	}
	if (key && k == NS_PID && n->own[k])
		return pr_errno(-EOPNOTSUPP, "--external pid[%s]:%s: cr cannot restore a tree into an existing pid "
				"namespace; only its own new one", ino, key);
	if (key && k == NS_NET && n->own[k])
		*ret_key = key;
	return 0;
}

int ns_dump_write(struct ns_dump *n, const struct cr_options *o, const struct pstree *tree,
		  struct files_dump *df, int dfd)
{
	_cleanup_img_ struct img *img = NULL;
	const char *net_key = NULL, *pid_key;
	int err;

	err = ns_external(n, o, NS_NET, &net_key);
	if (!err)
		err = ns_external(n, o, NS_PID, &pid_key);
	if (!err && o->manage_cgroups != CG_MODE_IGNORE)
		err = cgroup_dump(o, tree, dfd);
	if (err || !ns_dump_any(n))
		return err;
	err = img_open(dfd, IMG_NS, 0, O_WRONLY, &img);
	for (unsigned k = 0; k < NS_KIND_MAX && !err; k++) {
		NsEntry e = NS_ENTRY__INIT;

		if (!n->own[k])
			continue;
		e.type = (NsType)k;
		e.inode = n->tree[k];
		e.pid = n->root;
		if (k == NS_TIME)
			err = time_offsets(n->root, &e);
		if (k == NS_USER)
			userns_dump_fill(n->user, &e);
		if (k == NS_NET && net_key) {
			/* the caller's: not dumped, given again at restore */
			e.external_key = (char *)net_key;
			pr_info("net: namespace %llu is external (%s): its links, addresses and routes are not saved",
				(unsigned long long)n->tree[k], net_key);
		}
		if (!err)
			err = pb_write_one(img, &e, PB_NS);
		if (!err && !e.external_key)
			err = dump_kind(n, k, o, df, dfd);
	}
	if (!err)
		err = img_close(TAKE_PTR(img));
	return err;
}

/* ---- restore --------------------------------------------------------------- */

struct ns_rst {
	const struct cr_options *o;
	NsEntry *e[NS_KIND_MAX];	/* the kinds to create */
	struct utsns_img *uts;
	struct ipcns_img *ipc;
	struct netns_img *net;
	struct mntns_img *mnt;
	struct cgroup_img *cg;
	struct userns *user;
	bool cg_prepared;
	pid_t holder;
	int holder_ctl;			/* the holder lives until this closes */
	int fd[NS_KIND_MAX];		/* the holder's (time: time_for_children) */
	int join[NS_KIND_MAX];		/* an existing namespace the tree goes into (--join-ns, external), -1 */
	int cr_net;			/* cr's own network namespace */
	struct netlock *net_lock;	/* the new one's, until the connections are live */
	char root[32];			/* the holder's /proc/PID/root */
};

int ns_restore_fds_high(struct ns_rst *n, int keep_from)
{
	int err = 0;

	/* Above the tree's own fds: the restorer closes them there. */
	for (unsigned k = 0; k < NS_KIND_MAX && !err; k++) {
		if (n->fd[k] >= 0)
			err = move_fd_high(&n->fd[k], keep_from);
		if (!err && n->join[k] >= 0)
			err = move_fd_high(&n->join[k], keep_from);
	}
	if (!err && n->cr_net >= 0)
		err = move_fd_high(&n->cr_net, keep_from);
	return err;
}

bool ns_restore_pidns(const struct ns_rst *n)
{
	return n && n->e[NS_PID];
}

/* The holder makes the kind, or joins it: either way the tree has one not cr's. */
static bool ns_has(const struct ns_rst *n, enum ns_kind k)
{
	return n->e[k] || n->join[k] >= 0;
}

/*
 * --join-ns NS:PATH|PID (RPC join_ns): the namespaces the tree goes into
 * instead of new ones, opened and checked before anything is made. Only
 * net, uts and ipc: their contents are the namespace owner's and are not
 * restored into it (a dumped ipc namespace with objects is refused).
 */
static int join_open(struct ns_rst *n)
{
	static const enum ns_kind ok[] = { NS_NET, NS_UTS, NS_IPC };

	for (unsigned i = 0; i < n->o->nr_join_ns; i++) {
		const struct cr_join_ns *j = &n->o->join_ns[i];
		char path[PATH_MAX];
		int k, fd;

		for (k = 0; k < NS_KIND_MAX && strcmp(kinds[k].name, j->ns); k++)
			;
		if (k == NS_KIND_MAX)
			return pr_errno(-EINVAL, "--join-ns %s:%s: %s is not a namespace kind", j->ns, j->file, j->ns);
		for (unsigned x = 0; x < ARRAY_SIZE(ok); x++)
			if (ok[x] == (enum ns_kind)k)
				goto supported;
		return pr_errno(-EOPNOTSUPP, "--join-ns %s:%s: cr joins existing net, uts and ipc namespaces only "
				"(a %s namespace's contents would have to match the dump)", j->ns, j->file, j->ns);
supported:
		if (j->extra)
			return pr_errno(-EINVAL, "--join-ns %s:%s,%s: options are for user namespaces", j->ns, j->file,
					j->extra);
		if (n->join[k] >= 0)
			return pr_errno(-EINVAL, "--join-ns %s: given twice", j->ns);
		if (k == NS_NET && (n->o->empty_ns & CLONE_NEWNET))
			return pr_errno(-EINVAL, "--join-ns net and empty_ns net: a joined namespace is not made empty");
		if (j->file[0] && strspn(j->file, "0123456789") == strlen(j->file))
			snprintf(path, sizeof(path), "/proc/%s/ns/%s", j->file, j->ns);
		else
			snprintf(path, sizeof(path), "%s", j->file);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return pr_errno(-errno, "--join-ns %s:%s: opening %s", j->ns, j->file, path);
		n->join[k] = fd;
		if (ioctl(fd, NS_GET_NSTYPE) != kinds[k].flag)
			return pr_errno(-EINVAL, "--join-ns %s:%s: %s is not a %s namespace", j->ns, j->file, path,
					j->ns);
		pr_info("the tree goes into the existing %s namespace %s (--join-ns)", j->ns, path);
	}
	return 0;
}

/* A net namespace dumped as external: the fd its key names (--inherit-fd), unless joined. */
static int join_external(struct ns_rst *n, const NsEntry *e)
{
	int fd = -1;

	if (!e->external_key)
		return 0;
	if (e->type != NS_TYPE__NS_TYPE_NET)
		return pr_errno(-EBADMSG, "ns.img: a %s namespace marked external", kinds[e->type].name);
	if (n->join[NS_NET] >= 0)
		return 0;
	for (unsigned i = 0; i < n->o->nr_inherit_fds; i++)
		if (!strcmp(n->o->inherit_fds[i].key, e->external_key))
			fd = n->o->inherit_fds[i].fd;
	if (fd < 0)
		return pr_errno(-ENOENT, "the tree's net namespace was external (%s): restore with --inherit-fd "
				"fd[N]:%s, N an fd of the namespace, or --join-ns net:PATH", e->external_key,
				e->external_key);
	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET)
		return pr_errno(-EINVAL, "--inherit-fd fd[%d]:%s: not a net namespace", fd, e->external_key);
	n->join[NS_NET] = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (n->join[NS_NET] < 0)
		return pr_errno(-errno, "--inherit-fd fd[%d]:%s: dup", fd, e->external_key);
	pr_info("net: the tree goes into the external namespace of fd %d (%s)", fd, e->external_key);
	return 0;
}

static int read_kind(struct ns_rst *n, enum ns_kind k, int dfd)
{
	/* A joined namespace keeps what it has: only ipc is read, to refuse objects it cannot take. */
	if (n->join[k] >= 0 && k != NS_IPC)
		return 0;
	switch (k) {
	case NS_MNT: {
		int err = mntns_read(n->o, dfd, &n->mnt);

		return err || !n->cg ? err : mntns_cgroup_roots(n->mnt, n->cg);
	}
	case NS_NET:
		return netns_read(n->o, dfd, &n->net);
	case NS_UTS:
		return utsns_read(dfd, &n->uts);
	case NS_IPC:
		return ipcns_read(dfd, &n->ipc);
	case NS_USER:
		return userns_read(n->e[NS_USER], &n->user);
	default:
		return 0;
	}
}

int ns_restore_read(const struct cr_options *o, int dfd, bool has_ns, bool has_cg, const struct pstree *tree,
		    struct ns_rst **ret)
{
	_cleanup_img_ struct img *img = NULL;
	struct ns_rst *n = xzalloc(sizeof(*n));
	int err = 0;

	if (!n)
		return -ENOMEM;
	n->o = o;
	n->holder = -1;
	n->holder_ctl = n->cr_net = -1;
	for (unsigned k = 0; k < NS_KIND_MAX; k++)
		n->fd[k] = n->join[k] = -1;
	*ret = n;
	err = join_open(n);
	if (err)
		return err;
	if (has_cg && o->manage_cgroups != CG_MODE_IGNORE)
		err = cgroup_read(o, dfd, &n->cg);
	if (err || !has_ns)
		return err;
	err = img_open(dfd, IMG_NS, 0, O_RDONLY, &img);
	while (!err) {
		NsEntry *e;

		err = pb_read_one(img, (void **)&e, PB_NS);
		if (err <= 0)
			break;
		if ((unsigned)e->type >= NS_KIND_MAX || n->e[e->type]) {
			err = pr_errno(-EBADMSG, "ns.img: namespace kind %d invalid or twice", e->type);
			pb_free(e, PB_NS);
			break;
		}
		n->e[e->type] = e;
		err = join_external(n, e);
		if (!err)
			err = read_kind(n, (enum ns_kind)e->type, dfd);
	}
	if (!err && n->ipc && n->join[NS_IPC] >= 0 && ipcns_nr_objects(n->ipc))
		err = pr_errno(-EOPNOTSUPP, "--join-ns ipc: the dumped ipc namespace held %zu SysV objects or message "
			       "queues, which cr cannot put into an existing one; restore it into a new one",
			       ipcns_nr_objects(n->ipc));
	if (!err && !!n->e[NS_PID] != (tree->tasks[0].levels > 0))
		err = pr_errno(-EBADMSG, "ns.img and pstree.img disagree on the root's pid namespace");
	if (!err && n->e[NS_USER] && !n->e[NS_PID])
		err = pr_errno(-EBADMSG, "ns.img: a user namespace of the tree's own without a pid namespace of its own");
	if (!err && n->e[NS_USER] && n->e[NS_MNT])
		mntns_set_userns(n->mnt);
	return err;
}

static int write_time_offsets(const NsEntry *e)
{
	_cleanup_close_ int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	char buf[128];
	int len;

	if (fd < 0)
		return pr_errno(-errno, "opening /proc/self/timens_offsets");
	len = snprintf(buf, sizeof(buf), "monotonic %" PRId64 " %" PRId64 "\nboottime %" PRId64 " %" PRId64 "\n",
		       e->monotonic_sec, e->monotonic_nsec, e->boottime_sec, e->boottime_nsec);
	if (write(fd, buf, len) != len)
		return pr_errno(-errno, "setting the time namespace's offsets");
	return 0;
}

/*
 * The holder: makes the namespaces, builds the mounts, then waits for the
 * end of @ctl. A user namespace comes first, alone (every other is then
 * its): the holder reports, cr writes the maps and says so on @ctl.
 */
static __noreturn void holder_main(struct ns_rst *n, struct files_rst *rf, int ctl, int report)
{
	_cleanup_close_ int cgns_fd = -EBADF;
	int flags = 0, err = 0, *mfds = NULL;
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* While still in cr's user namespace, which owns the cgroup files. */
	if (n->e[NS_CGROUP] && n->cg)
		err = cgroup_join_ns_root(n->cg);
	/* cgroup mounts are cut from cr's view of the hierarchies, as they were dumped. */
	if (!err && n->e[NS_CGROUP] && n->e[NS_MNT]) {
		cgns_fd = open("/proc/self/ns/cgroup", O_RDONLY | O_CLOEXEC);
		if (cgns_fd < 0)
			err = pr_errno(-errno, "opening cr's cgroup namespace");
	}
	if (!err && n->e[NS_USER] && n->e[NS_MNT])
		err = mntns_restore_preclone(n->mnt, rf, n->user);
	if (!err && n->e[NS_USER] && unshare(CLONE_NEWUSER))
		err = pr_errno(-errno, "unsharing the tree's new user namespace");
	if (n->e[NS_USER]) {
		if (write(report, &err, sizeof(err)) != sizeof(err) || err)
			_exit(1);
		if (read(ctl, &c, 1) != 1)
			_exit(1);	/* cr is gone, or could not write the maps */
		err = userns_holder_ids(n->user);
	}
	/* Joined ones first: the mounts of the others (sysfs, mqueue) show their mounter's. */
	for (unsigned k = 0; k < NS_KIND_MAX && !err; k++)
		if (n->join[k] >= 0)
			err = ns_enter(n->join[k], k, "--join-ns");
	for (unsigned k = 0; k < NS_KIND_MAX; k++)
		if (n->e[k] && n->join[k] < 0 && k != NS_PID && k != NS_TIME && k != NS_USER)
			flags |= kinds[k].flag;
	if (!err && flags && unshare(flags))
		err = pr_errno(-errno, "unsharing the tree's new namespaces (flags 0x%x)", flags);
	/*
	 * The time namespace before the mounts: its offsets are written
	 * through /proc/self, which a tree's own root (--root) has not
	 * mounted yet (its proc is made in the tree's pid namespace).
	 */
	if (!err && n->e[NS_TIME] && unshare(CLONE_NEWTIME))
		err = pr_errno(-errno, "unsharing a time namespace");
	if (!err && n->e[NS_TIME])
		err = write_time_offsets(n->e[NS_TIME]);
	if (!err && n->e[NS_MNT])
		err = mntns_restore(n->mnt, rf, cgns_fd, &mfds);
	if (write(report, &err, sizeof(err)) != sizeof(err))
		_exit(1);
	/* Then the fds of the mounts made, which it keeps open (rst_mnt_path()). */
	if (!err && mfds) {
		size_t len = 2 * mntns_nr(n->mnt) * sizeof(*mfds);

		if (write(report, mfds, len) != (ssize_t)len)
			_exit(1);
	}
	close(report);
	if (err)
		_exit(1);
	while (read(ctl, &c, 1) < 0)
		;
	_exit(0);
}

/* The holder's fds of the mounts it made, after its report: for files hidden under other mounts. */
static int holder_mounts(const struct ns_rst *n, int rep)
{
	unsigned nr = mntns_nr(n->mnt), k = 0;
	_cleanup_free_ int *fds = xmalloc(2 * nr * sizeof(*fds));
	_cleanup_free_ struct rst_mount *e = xmalloc(2 * nr * sizeof(*e));
	size_t len = 2 * nr * sizeof(*fds), got = 0;

	if (!fds || !e)
		return -ENOMEM;
	while (got < len) {
		ssize_t r = read(rep, (char *)fds + got, len - got);

		if (r <= 0)
			return pr_errno(r < 0 ? -errno : -EIO, "the holder of the new namespaces (pid %d): its mounts' fds",
					n->holder);
		got += r;
	}
	if (!fds || !e)
		return -ENOMEM;
	for (unsigned i = 0; i < nr; i++) {
		const char *cover;
		uint32_t parent;

		if (fds[i] >= 0)
			e[k++] = (struct rst_mount){ .mnt_id = mntns_mount_id(n->mnt, i), .prefix = "", .fd = fds[i] };
		cover = mntns_mount_cover(n->mnt, i, &parent);
		if (cover && *cover && fds[nr + i] >= 0)
			e[k++] = (struct rst_mount){ .mnt_id = parent, .prefix = cover, .fd = fds[nr + i] };
	}
	return rst_mounts_set(n->holder, e, k);
}

int ns_restore_create(struct ns_rst *n, struct files_rst *rf)
{
	int ctl[2], rep[2], err = 0, herr;
	ssize_t got;

	if (n->cg && !n->cg_prepared) {
		err = cgroup_restore_prepare(n->cg);
		if (err)
			return err;
		n->cg_prepared = true;
	}
	for (unsigned k = 0; k < NS_KIND_MAX; k++)
		if (ns_has(n, k) && k != NS_PID)
			break;
		else if (k == NS_KIND_MAX - 1)
			return 0;	/* a pid namespace alone needs no holder */
	if (pipe2(ctl, O_CLOEXEC))
		return pr_errno(-errno, "the holder's pipe");
	if (pipe2(rep, O_CLOEXEC)) {
		err = pr_errno(-errno, "the holder's pipe");
		close(ctl[0]);
		close(ctl[1]);
		return err;
	}
	n->holder = fork();
	if (n->holder == 0) {
		close(ctl[1]);
		close(rep[0]);
		holder_main(n, rf, ctl[0], rep[1]);
	}
	close(ctl[0]);
	close(rep[1]);
	n->holder_ctl = ctl[1];
	if (n->holder < 0) {
		close(rep[0]);
		return pr_errno(-errno, "forking the holder of the namespaces");
	}
	if (n->e[NS_USER]) {
		got = read(rep[0], &herr, sizeof(herr));
		if (got == sizeof(herr) && !herr)
			err = userns_write_maps(n->user, n->holder);
		if (!err && got == sizeof(herr) && !herr && write(n->holder_ctl, "m", 1) != 1)
			err = pr_errno(-errno, "telling the holder (pid %d) its maps are written", n->holder);
		if (err || got != sizeof(herr) || herr) {
			close(rep[0]);
			if (err)
				return err;
			if (got != sizeof(herr))
				return pr_errno(-EIO, "the holder of the new namespaces (pid %d) died", n->holder);
			return herr;	/* logged by the holder */
		}
	}
	got = read(rep[0], &herr, sizeof(herr));
	if (got == sizeof(herr) && !herr && n->e[NS_MNT])
		err = holder_mounts(n, rep[0]);
	close(rep[0]);
	if (got != sizeof(herr))
		return pr_errno(-EIO, "the holder of the new namespaces (pid %d) died", n->holder);
	if (herr)
		return herr;	/* logged by the holder */
	if (!err)
		err = cr_fail_point("ns-holder");
	if (err)
		return err;

	for (unsigned k = 0; k < NS_KIND_MAX && !err; k++)
		if (ns_has(n, k) && k != NS_PID)
			err = ns_open(n->holder, k == NS_TIME ? "time_for_children" : kinds[k].name, &n->fd[k]);
	if (!err && n->e[NS_NET]) {
		n->cr_net = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (n->cr_net < 0)
			err = pr_errno(-errno, "opening cr's network namespace");
	}
	/* cr names the tree's files from the holder's root (it pivoted into the new one). */
	if (!err && n->e[NS_MNT]) {
		snprintf(n->root, sizeof(n->root), "/proc/%d/root", n->holder);
		rst_root_set(n->root);
	}
	for (unsigned i = 0; i < ARRAY_SIZE(entered) && !err; i++)
		if (ns_has(n, entered[i]))
			err = ns_enter(n->fd[entered[i]], entered[i], "the holder");
	if (!err)
		err = cr_fail_point("ns-join");
	/* A joined namespace's contents are its owner's. */
	if (!err && n->e[NS_UTS] && n->join[NS_UTS] < 0)
		err = utsns_restore(n->uts);
	if (!err && n->e[NS_IPC] && n->join[NS_IPC] < 0)
		err = ipcns_restore(n->ipc, rf);
	/*
	 * Locked before a link exists: no packet can come in before the
	 * sockets are there. With connections to rebuild, also without a
	 * link: a closing one answers the segments replayed into it, and its
	 * peer in the tree may not be rebuilt yet (a reset would kill it).
	 */
	if (!err && n->e[NS_NET] && n->join[NS_NET] < 0 && (netns_has_links(n->net) || n->o->tcp_established))
		err = netlock_netns_new(n->o, n->fd[NS_NET], &n->net_lock);
	if (!err && n->net_lock)
		err = cr_fail_point("netns-locked");
	if (!err && n->e[NS_NET] && n->join[NS_NET] < 0)
		err = netns_restore(n->net, n->cr_net);
	return err;
}

unsigned long ns_clone_flags(const struct pstree *tree, unsigned idx)
{
	const struct pstree_task *t = &tree->tasks[idx];
	unsigned plv = t->parent >= 0 ? tree->tasks[t->parent].levels : 0;

	return t->levels > plv ? CLONE_NEWPID : 0;
}

unsigned ns_set_tid(const struct pstree_task *t, const pid_t *levels, pid_t host, pid_t *set_tid)
{
	unsigned nr = 0;

	for (unsigned i = t->levels; i > 0; i--)
		set_tid[nr++] = levels[i - 1];
	if (host > 0)
		set_tid[nr++] = host;
	return nr;
}

struct netlock *ns_restore_netlock(const struct ns_rst *n)
{
	return n ? n->net_lock : NULL;
}

bool ns_restore_userns(const struct ns_rst *n)
{
	return n && n->e[NS_USER];
}

int ns_restore_userns_enter(const struct ns_rst *n)
{
	/*
	 * The external mounts proc's hide (runc's masked paths) are cloned
	 * from cr's mount namespace, which only cr's user namespace may do:
	 * now, by the root's creator; the root inherits the clones.
	 */
	int err = n->e[NS_MNT] ? mntns_prepare_in_pidns(n->mnt) : 0;

	return err ? err : userns_enter(n->user, n->fd[NS_USER]);
}

int ns_restore_pid_for_children(const struct pstree *tree, unsigned idx)
{
	const struct pstree_task *t = &tree->tasks[idx], *c;
	_cleanup_close_ int fd = -EBADF;
	pid_t vpid;

	if (!t->pidns_child)
		return 0;
	c = pstree_find(tree, t->pidns_child);	/* checked by pstree_read */
	/* The child's pid in the task's own pid namespace. */
	vpid = t->levels ? c->ns_pid[t->levels - 1] : c->pid;
	fd = syscall(SYS_pidfd_open, vpid, 0);
	if (fd < 0)
		return pr_errno(-errno, "pid %d: pidfd_open of its child %d", t->pid, c->pid);
	if (setns(fd, CLONE_NEWPID))
		return pr_errno(-errno, "pid %d: making the pid namespace of its child %d its children's", t->pid,
				c->pid);
	return 0;
}

int ns_restore_enter(const struct ns_rst *n)
{
	static const enum ns_kind order[] = { NS_MNT, NS_NET, NS_UTS, NS_IPC, NS_CGROUP, NS_TIME };
	int err = 0;

	/* In a user namespace of the tree's own its creator did (ns_restore_userns_enter()). */
	if (n->e[NS_MNT] && !n->e[NS_USER])
		err = mntns_prepare_in_pidns(n->mnt);
	for (unsigned i = 0; i < ARRAY_SIZE(order) && !err; i++)
		if (ns_has(n, order[i]))
			err = ns_enter(n->fd[order[i]], order[i], "the holder");
	if (!err && n->e[NS_MNT])
		err = mntns_restore_in_pidns(n->mnt);
	return err;
}

int ns_restore_tasks(const struct ns_rst *n, const struct pstree *tree)
{
	if (!n->cg || n->o->manage_cgroups == CG_MODE_NONE || n->o->manage_cgroups == CG_MODE_IGNORE)
		return 0;
	return cgroup_restore_tasks(n->cg, tree);
}

int ns_restore_args(const struct ns_rst *n, const struct pstree_task *t, struct restorer_args *a,
		    struct restorer_thread *th, unsigned nr_threads)
{
	/*
	 * The tids in cr's pid namespace: the dumped ones, which in a pid
	 * namespace of the tree's own are only wished for (another's
	 * already: any does); in a user namespace of its own they cannot be
	 * chosen.
	 */
	bool host = !ns_restore_userns(n), wish = ns_restore_pidns(n);
	int err;

	if (ns_restore_userns(n) && a->has_creds) {
		err = userns_creds(n->user, t->pid, t->parent < 0, &a->creds);
		if (err)
			return err;
	}
	if (!t->levels)
		return 0;
	a->pid = pstree_vpid(t);
	for (unsigned i = 0; i < nr_threads; i++) {
		unsigned j;

		for (j = 0; j < t->nr_tids && t->tids[j] != th[i].tid; j++)
			;
		if (j == t->nr_tids || !t->ns_tids)
			return pr_errno(-EBADMSG, "pid %d: thread %d has no pids in its pid namespaces", t->pid,
					th[i].tid);
		th[i].set_tid_size = ns_set_tid(t, t->ns_tids + j * t->levels, host ? th[i].tid : 0, th[i].set_tid);
		th[i].set_tid_min = wish ? t->levels : th[i].set_tid_size;
		th[i].tid = t->ns_tids[j * t->levels + t->levels - 1];
	}
	return 0;
}

void ns_restore_guarded(struct ns_rst *n)
{
	if (n)
		cgroup_restore_unguard(n->cg);
}

void ns_restore_abandoned(const struct ns_rst *n)
{
	if (n && n->cg_prepared)
		cgroup_restore_abandon(n->cg);
}

void ns_restore_end(struct ns_rst *n, bool ok)
{
	if (!n)
		return;
	cgroup_restore_unguard(n->cg);
	rst_root_set(NULL);
	rst_mounts_set(0, NULL, 0);
	if (n->holder_ctl >= 0)
		close(n->holder_ctl);
	if (n->holder > 0 && !ok)
		kill(n->holder, SIGKILL);
	if (n->holder > 0)
		waitpid(n->holder, NULL, 0);
	n->holder = -1;
	n->holder_ctl = -1;
	if (!ok && n->cg_prepared)
		cgroup_restore_undo(n->cg);
	n->cg_prepared = false;
}

void ns_restore_free(struct ns_rst *n)
{
	if (!n)
		return;
	ns_restore_end(n, false);
	for (unsigned k = 0; k < NS_KIND_MAX; k++) {
		if (n->fd[k] >= 0)
			close(n->fd[k]);
		if (n->join[k] >= 0)
			close(n->join[k]);
		pb_free(n->e[k], PB_NS);
	}
	if (n->cr_net >= 0)
		close(n->cr_net);
	netlock_free(n->net_lock);
	utsns_free(n->uts);
	ipcns_free(n->ipc);
	netns_free(n->net);
	mntns_free(n->mnt);
	cgroup_free(n->cg);
	userns_free(n->user);
	free(n);
}
