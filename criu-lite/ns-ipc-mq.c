/*
 * POSIX message queues of the tree's ipc namespace (ipcns.img), and its
 * /proc/sys/fs/mqueue limits.
 *
 * Dump (cr is setns()ed into the tree's ipc namespace, the tree frozen):
 * a detached mount of the namespace's mqueue file system (fsopen() takes
 * the ipc namespace of its caller, nothing is mounted anywhere) lists the
 * queues; each one's file gives mode and owner (fstat) and the status line
 * (QSIZE, NOTIFY, SIGNO, NOTIFY_PID). The kernel has no way to read a
 * message without taking it, so cr takes them all (mq_timedreceive,
 * O_NONBLOCK: highest priority first, oldest first within one) and puts
 * them back in that order with their priorities (mq_timedsend), which
 * gives the same queue again, before it writes anything: the messages
 * are held in memory and sent back on every path, a failed dump included.
 * What cannot be kept the same: the queue's times (atime, mtime, ctime
 * are the dump's), and a task outside the tree blocked on the queue
 * (none of the tree's is: seized tasks left their syscalls).
 *
 * A queue with a registered mq_notify() is refused: the registration
 * (its sigevent, the netlink socket of SIGEV_THREAD) cannot be read back,
 * and putting the first message back into an empty queue would fire it.
 *
 * Restore (cr is in the new ipc namespace): mq_open(O_CREAT | O_EXCL)
 * with the dumped mq_maxmsg and mq_msgsize, fchown() and fchmod(), then
 * the messages in order. Without CAP_SYS_RESOURCE (not in cr's bounding
 * set) mq_open refuses attributes above msg_max / msgsize_max and a queue
 * past queues_max: those limits are raised for the restore where a queue
 * needs it and set back to their dumped values after. The memory of the
 * queues is charged to cr's user (RLIMIT_MSGQUEUE of cr applies), not to
 * the queues' owners.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "cr.h"
#include "files-kind.h"
#include "image.h"
#include "log.h"
#include "namespaces.h"
#include "ns-ipc-priv.h"

#define MQ_PRIO_LIMIT	32768		/* MQ_PRIO_MAX: priorities are below it */
#define MQ_STATUS_MAX	128
#define MQ_PUT_BACK_MS	1000		/* how long a send back may wait for room */

/* The namespace's limits; the first three are what mq_open checks against. */
enum { MQ_QUEUES_MAX, MQ_MSG_MAX, MQ_MSGSIZE_MAX, MQ_NR_LIMITS };
static const char *const mq_sysctls[] = {
	[MQ_QUEUES_MAX] = "queues_max", [MQ_MSG_MAX] = "msg_max", [MQ_MSGSIZE_MAX] = "msgsize_max",
	"msg_default", "msgsize_default",
};

int ipc_mq_parse_status(const char *buf, struct ipc_mq_status *ret)
{
	struct ipc_mq_status s;
	int n = -1;

	if (sscanf(buf, "QSIZE:%llu NOTIFY:%d SIGNO:%d NOTIFY_PID:%d %n", &s.qsize, &s.notify, &s.signo,
		   &s.notify_pid, &n) != 4 || n < 0 || buf[n])
		return -EBADMSG;
	*ret = s;
	return 0;
}

/* ---- dump ---------------------------------------------------------------- */

/*
 * The mqueue file system of cr's ipc namespace, as a detached mount:
 * 0 and *@ret_fd (a directory fd of its root), -ENODEV when the kernel
 * has none, or -errno (logged).
 */
static int mq_fs_open(int *ret_fd)
{
	_cleanup_close_ int fs = -EBADF, mnt = -EBADF;
	int fd;

	fs = syscall(SYS_fsopen, "mqueue", FSOPEN_CLOEXEC);
	if (fs < 0 && errno == ENODEV)
		return -ENODEV;
	if (fs < 0)
		return pr_errno(-errno, "ipc namespace: fsopen(\"mqueue\")");
	if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return pr_errno(-errno, "ipc namespace: creating an mqueue file system instance");
	mnt = syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (mnt < 0)
		return pr_errno(-errno, "ipc namespace: fsmount of the mqueue file system");
	fd = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno(-errno, "ipc namespace: opening the root of the mqueue file system");
	*ret_fd = fd;
	return 0;
}

/* The messages taken out of a queue, in the order they came. */
struct mq_held {
	char **text;
	size_t *len;
	unsigned *prio;
	size_t nr, cap;
};

static void mq_held_free(struct mq_held *h)
{
	/* text[nr] may be the room of the next one. */
	for (size_t i = 0; h->text && i <= h->nr && i < h->cap; i++)
		free(h->text[i]);
	free(h->text);
	free(h->len);
	free(h->prio);
}

/*
 * Takes every message of @mqd (O_NONBLOCK) into @h, at most @maxmsg.
 * What was taken is in @h even when this fails; 0 or -errno (logged).
 */
static int mq_take(mqd_t mqd, const char *what, const struct mq_attr *a, struct mq_held *h)
{
	size_t cap = a->mq_maxmsg > 0 ? a->mq_maxmsg : 1;

	h->text = xzalloc(sizeof(*h->text) * cap);
	h->len = xzalloc(sizeof(*h->len) * cap);
	h->prio = xzalloc(sizeof(*h->prio) * cap);
	if (!h->text || !h->len || !h->prio)
		return -ENOMEM;
	h->cap = cap;
	while (h->nr < cap) {
		unsigned prio;
		ssize_t n;
		char *t;

		/* Room first: a message received is never one cr has nowhere to keep. */
		if (!h->text[h->nr] && !(h->text[h->nr] = xmalloc(a->mq_msgsize)))
			return -ENOMEM;
		n = mq_receive(mqd, h->text[h->nr], a->mq_msgsize, &prio);
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return pr_errno(-errno, "%s: receiving message %zu", what, h->nr);
		t = realloc(h->text[h->nr], n ? n : 1);
		if (t)
			h->text[h->nr] = t;
		h->len[h->nr] = n;
		h->prio[h->nr++] = prio;
	}
	return 0;
}

/*
 * Sends the messages of @h back in order. Each is tried even if one
 * failed (a lost message is logged by its number); 0 or the first -errno.
 */
static int mq_put_back(mqd_t mqd, const char *what, const struct mq_held *h)
{
	struct mq_attr blocking = { .mq_flags = 0 };
	int err = 0;

	/* Blocking, with a deadline: a sender outside the tree may have taken the room meanwhile. */
	if (h->nr && mq_setattr(mqd, &blocking, NULL) < 0)
		pr_warn("%s: clearing O_NONBLOCK: %m", what);
	for (size_t i = 0; i < h->nr; i++) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += MQ_PUT_BACK_MS / 1000;
		if (mq_timedsend(mqd, h->text[i], h->len[i], h->prio[i], &until) < 0) {
			int e = -errno;

			pr_err("%s: message %zu of %zu (priority %u, %zu bytes) could not be put back, it is lost: %s",
			       what, i, h->nr, h->prio[i], h->len[i], strerror(-e));
			err = err ? err : e;
		}
	}
	return err;
}

/* The held messages into fdata.img and @c. */
static int mq_save(struct files_dump *df, const struct mq_held *h, struct ipc_mq_copy *c)
{
	c->msgs = xzalloc(sizeof(*c->msgs) * (h->nr ? h->nr : 1));
	if (!c->msgs)
		return -ENOMEM;
	for (size_t i = 0; i < h->nr; i++) {
		IpcMqMsg *m = xmalloc(sizeof(*m));
		DataRef *r = xmalloc(sizeof(*r));
		int err;

		if (!m || !r) {
			free(m);
			free(r);
			return -ENOMEM;
		}
		ipc_mq_msg__init(m);
		m->text = r;
		c->msgs[c->nr++] = m;
		m->prio = h->prio[i];
		err = fdata_append(df, h->text[i], h->len[i], r);
		if (err)
			return err;
	}
	return 0;
}

void ipc_mq_copy_free(struct ipc_mq_copy *c)
{
	for (size_t i = 0; i < c->nr; i++) {
		free(c->msgs[i]->text);
		free(c->msgs[i]);
	}
	free(c->msgs);
	c->msgs = NULL;
	c->nr = 0;
}

int ipc_mq_copy(struct files_dump *df, int fd, const char *what, struct ipc_mq_copy *ret)
{
	char status[MQ_STATUS_MAX];
	struct mq_held held = { 0 };
	struct ipc_mq_status s;
	struct mq_attr a;
	struct stat st;
	ssize_t n;
	int err, put;

	if (fstat(fd, &st) < 0)
		return pr_errno(-errno, "%s: fstat", what);
	/* pread: the status line is the file's content, at offset 0 of this description of cr's. */
	n = pread(fd, status, sizeof(status) - 1, 0);
	if (n < 0)
		return pr_errno(-errno, "%s: reading its status", what);
	status[n] = '\0';
	if (ipc_mq_parse_status(status, &s))
		return pr_errno(-EBADMSG, "%s: cannot parse its status '%.*s'", what, (int)strcspn(status, "\n"),
				status);
	if (s.notify_pid || s.notify || s.signo)
		return pr_errno(-EOPNOTSUPP, "%s has an mq_notify registration (pid %d, sigev_notify %d, signal %d), "
				"which cr cannot restore", what, s.notify_pid, s.notify, s.signo);
	if (mq_getattr(fd, &a) < 0)
		return pr_errno(-errno, "%s: mq_getattr", what);

	err = mq_take(fd, what, &a, &held);
	/* Tests: a failure while cr holds a queue's messages (they must go back all the same). */
	if (!err && held.nr)
		err = cr_fail_point("mqueue-held");
	put = mq_put_back(fd, what, &held);
	err = err ? err : put;
	if (!err)
		err = mq_save(df, &held, ret);
	if (!err) {
		ret->mode = st.st_mode & 07777;
		ret->uid = st.st_uid;
		ret->gid = st.st_gid;
		ret->maxmsg = a.mq_maxmsg;
		ret->msgsize = a.mq_msgsize;
	} else {
		ipc_mq_copy_free(ret);
	}
	mq_held_free(&held);
	return err;
}

/* One queue, @name in the mqueue root @root; its record into @img as object @idx. */
static int mq_dump_one(struct files_dump *df, struct img *img, int root, const char *name, int idx)
{
	_cleanup_close_ int fd = -EBADF;
	struct ipc_mq_copy c = { 0 };
	IpcObject o = IPC_OBJECT__INIT;
	char what[NAME_MAX + 64];
	int err;

	snprintf(what, sizeof(what), "ipc namespace: POSIX message queue /%s", name);
	/* A file of the mqueue file system opened O_RDWR is a queue descriptor like mq_open's. */
	fd = openat(root, name, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return pr_errno(-errno, "%s: opening its file", what);
	err = ipc_mq_copy(df, fd, what, &c);
	if (err)
		return err;
	ipc_object_fill(&o, IPC_KIND__IPC_MQUEUE, idx, 0, c.mode, c.uid, c.gid, c.uid, c.gid);
	o.mq_name = (char *)name;
	o.has_mq_maxmsg = o.has_mq_msgsize = true;
	o.mq_maxmsg = c.maxmsg;
	o.mq_msgsize = c.msgsize;
	o.n_mq_msgs = c.nr;
	o.mq_msgs = c.msgs;
	err = pb_write_one(img, &o, PB_IPC_OBJECT);
	if (!err)
		pr_info("%s: mode 0%o, owner %u:%u, maxmsg %ld, msgsize %ld, %zu messages", what, c.mode, c.uid,
			c.gid, c.maxmsg, c.msgsize, c.nr);
	ipc_mq_copy_free(&c);
	return err;
}

int ipc_mq_dump(struct files_dump *df, struct img *img)
{
	_cleanup_closedir_ DIR *dir = NULL;
	int root = -EBADF, err, idx = 0;
	struct dirent *de;

	err = mq_fs_open(&root);
	if (err == -ENODEV)
		return 0;		/* no CONFIG_POSIX_MQUEUE: no queues */
	if (err)
		return err;
	dir = fdopendir(root);
	if (!dir) {
		err = pr_errno(-errno, "ipc namespace: listing the mqueue file system");
		close(root);
		return err;
	}
	while (!err) {
		errno = 0;
		de = readdir(dir);
		if (!de) {
			if (errno)
				err = pr_errno(-errno, "ipc namespace: listing the mqueue file system");
			break;
		}
		if (de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, "..")))
			continue;
		err = mq_dump_one(df, img, dirfd(dir), de->d_name, idx++);
	}
	return err;
}

int ipc_mq_sysctls_dump(IpcnsHead *h)
{
	h->mq_sysctls = xzalloc(sizeof(*h->mq_sysctls) * ARRAY_SIZE(mq_sysctls));
	if (!h->mq_sysctls)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(mq_sysctls); i++) {
		char val[SYSCTL_VAL_MAX];
		IpcSysctl *s;
		int err = ipc_sysctl_read(SYSCTL_MQUEUE, mq_sysctls[i], val, sizeof(val));

		if (err == -ENOENT)
			continue;
		if (err)
			return pr_errno(err, "ipc namespace: reading " SYSCTL_MQUEUE "%s", mq_sysctls[i]);
		s = xzalloc(sizeof(*s));
		if (!s)
			return -ENOMEM;
		ipc_sysctl__init(s);
		h->mq_sysctls[h->n_mq_sysctls++] = s;
		s->value = xstrdup(val);
		if (!s->value)
			return -ENOMEM;
		s->name = (char *)mq_sysctls[i];
	}
	return 0;
}

/* ---- image checks -------------------------------------------------------- */

static int mq_sysctl_index(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(mq_sysctls); i++)
		if (!strcmp(mq_sysctls[i], name))
			return i;
	return -1;
}

int ipc_mq_sysctl_check(const IpcSysctl *s)
{
	if (mq_sysctl_index(s->name) < 0)
		return pr_errno(-EBADMSG, "ipcns.img: %s is not an mqueue sysctl", s->name);
	if (!*s->value || strlen(s->value) > 10 || strspn(s->value, "0123456789") != strlen(s->value))
		return pr_errno(-EBADMSG, "ipcns.img: mqueue sysctl %s has an invalid value", s->name);
	return 0;
}

int ipc_mq_check(const struct ipcns_img *n, const IpcObject *o)
{
	const char *name = o->mq_name;

	if (!name || !*name || strlen(name) > NAME_MAX || strchr(name, '/') || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return pr_errno(-EBADMSG, "ipcns.img: POSIX message queue %d has no valid name", o->id);
	if (!o->has_mq_maxmsg || !o->has_mq_msgsize || !o->mq_maxmsg || !o->mq_msgsize ||
	    o->mq_maxmsg > IPC_MQ_HARD_MSGMAX || o->mq_msgsize > IPC_MQ_HARD_MSGSIZEMAX)
		return pr_errno(-EBADMSG, "ipcns.img: POSIX message queue /%s has no valid attributes", name);
	if (o->mode & ~07777u)
		return pr_errno(-EBADMSG, "ipcns.img: POSIX message queue /%s: mode 0%o", name, o->mode);
	if (o->n_mq_msgs > o->mq_maxmsg)
		return pr_errno(-EBADMSG, "ipcns.img: POSIX message queue /%s holds %zu messages, more than its "
				"maxmsg %llu", name, o->n_mq_msgs, (unsigned long long)o->mq_maxmsg);
	for (size_t i = 0; i < o->n_mq_msgs; i++)
		if (o->mq_msgs[i]->prio >= MQ_PRIO_LIMIT || o->mq_msgs[i]->text->len > o->mq_msgsize)
			return pr_errno(-EBADMSG, "ipcns.img: POSIX message queue /%s: message %zu has priority %u "
					"and %llu bytes (msgsize %llu)", name, i, o->mq_msgs[i]->prio,
					(unsigned long long)o->mq_msgs[i]->text->len,
					(unsigned long long)o->mq_msgsize);
	for (size_t i = 0; i < n->nr; i++)
		if (n->objs[i]->kind == IPC_KIND__IPC_MQUEUE && !strcmp(n->objs[i]->mq_name, name))
			return pr_errno(-EBADMSG, "ipcns.img: POSIX message queue /%s appears twice", name);
	return 0;
}

/* ---- restore ------------------------------------------------------------- */

/* What the dumped queues need of each limit. */
static void mq_needs(const struct ipcns_img *n, unsigned long long need[MQ_NR_LIMITS])
{
	need[MQ_QUEUES_MAX] = need[MQ_MSG_MAX] = need[MQ_MSGSIZE_MAX] = 0;
	for (size_t i = 0; i < n->nr; i++) {
		const IpcObject *o = n->objs[i];

		if (o->kind != IPC_KIND__IPC_MQUEUE)
			continue;
		need[MQ_QUEUES_MAX]++;
		if (o->mq_maxmsg > need[MQ_MSG_MAX])
			need[MQ_MSG_MAX] = o->mq_maxmsg;
		if (o->mq_msgsize > need[MQ_MSGSIZE_MAX])
			need[MQ_MSGSIZE_MAX] = o->mq_msgsize;
	}
}

static const char *mq_sysctl_dumped(const struct ipcns_img *n, const char *name)
{
	for (size_t k = 0; k < n->head->n_mq_sysctls; k++)
		if (!strcmp(n->head->mq_sysctls[k]->name, name))
			return n->head->mq_sysctls[k]->value;
	return NULL;
}

/*
 * Early: every limit to its dumped value, or to what the queues need if
 * more (a limit the image lacks is raised from the new namespace's
 * value, and stays raised). Late: the raised ones back to their dumped
 * values.
 */
int ipc_mq_sysctls_restore(const struct ipcns_img *n, bool late)
{
	unsigned long long need[MQ_NR_LIMITS];
	int err = 0;

	mq_needs(n, need);
	for (size_t i = 0; i < ARRAY_SIZE(mq_sysctls) && !err; i++) {
		const char *dumped = mq_sysctl_dumped(n, mq_sysctls[i]), *want = dumped;
		bool limit = i < MQ_NR_LIMITS && need[i];
		char cur[SYSCTL_VAL_MAX], buf[32];

		if (late) {
			if (limit && dumped && strtoull(dumped, NULL, 10) < need[i]) {
				err = ipc_sysctl_write(SYSCTL_MQUEUE, mq_sysctls[i], dumped);
				if (!err)
					pr_info("ipc namespace: " SYSCTL_MQUEUE "%s back to %s", mq_sysctls[i], dumped);
			}
			continue;
		}
		if (limit && !want && !ipc_sysctl_read(SYSCTL_MQUEUE, mq_sysctls[i], cur, sizeof(cur)))
			want = cur;
		if (limit && want && strtoull(want, NULL, 10) < need[i]) {
			snprintf(buf, sizeof(buf), "%llu", need[i]);
			pr_info("ipc namespace: " SYSCTL_MQUEUE "%s raised from %s to %s while the queues are made",
				mq_sysctls[i], want, buf);
			want = buf;
		}
		if (want)
			err = ipc_sysctl_write(SYSCTL_MQUEUE, mq_sysctls[i], want);
	}
	return err;
}

int ipc_mq_restore(const IpcObject *o, struct files_rst *rf)
{
	struct mq_attr a = { .mq_maxmsg = o->mq_maxmsg, .mq_msgsize = o->mq_msgsize };
	char path[NAME_MAX + 2];
	uint32_t fsuid, fsgid;
	int err = 0;
	mqd_t mqd;

	snprintf(path, sizeof(path), "/%s", o->mq_name);
	/* A queue of a user namespace's ipc namespace is made by a mapped fsuid (then chowned). */
	userns_fsid_begin(&fsuid, &fsgid);
	mqd = mq_open(path, O_WRONLY | O_CREAT | O_EXCL | O_NONBLOCK, 0600, &a);
	err = mqd == (mqd_t)-1 ? -errno : 0;
	userns_fsid_end(fsuid, fsgid);
	if (mqd == (mqd_t)-1) {
		return pr_errno(err, "ipc namespace: POSIX message queue %s: mq_open(O_CREAT) with maxmsg %ld, "
				"msgsize %ld%s", path, a.mq_maxmsg, a.mq_msgsize,
				err == -EMFILE ? " (RLIMIT_MSGQUEUE of cr's user)" : "");
	}
	/* chown first: it would clear set-id bits fchmod set. */
	if (fchown(mqd, o->uid, o->gid) < 0)
		err = pr_errno(-errno, "ipc namespace: POSIX message queue %s: owner %u:%u", path, o->uid, o->gid);
	if (!err && fchmod(mqd, o->mode) < 0)
		err = pr_errno(-errno, "ipc namespace: POSIX message queue %s: mode 0%o", path, o->mode);
	if (!err) {
		char what[NAME_MAX + 64];

		snprintf(what, sizeof(what), "ipc namespace: POSIX message queue %s", path);
		err = ipc_mq_fill(rf, mqd, what, o->mq_msgs, o->n_mq_msgs, o->mq_msgsize);
	}
	mq_close(mqd);
	return err;
}

int ipc_mq_fill(struct files_rst *rf, int fd, const char *what, IpcMqMsg *const *msgs, size_t nr, uint64_t msgsize)
{
	_cleanup_free_ char *buf = xmalloc(msgsize ? msgsize : 1);
	int err = 0;

	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < nr && !err; i++) {
		const IpcMqMsg *m = msgs[i];

		if (m->text->len > msgsize)
			return pr_errno(-EBADMSG, "%s: message %zu is longer than msgsize %llu", what, i,
					(unsigned long long)msgsize);
		err = fdata_read(rf, m->text, buf);
		if (!err && mq_send(fd, buf, m->text->len, m->prio) < 0)
			err = pr_errno(-errno, "%s: sending message %zu (priority %u, %llu bytes)", what, i, m->prio,
				       (unsigned long long)m->text->len);
	}
	return err;
}
