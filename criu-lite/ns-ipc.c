/*
 * The tree's ipc namespace (ipcns.img): its SysV objects and its ipc
 * sysctls. cr is setns()ed into the namespace for the dump and into the
 * new one for the restore, so the SysV calls and /proc/sys/kernel are the
 * namespace's. The head holds the sysctls, then one ipc_object per
 * segment (ns-ipc-shm.c), semaphore set (here) and message queue
 * (ns-ipc-msg.c), then one per POSIX message queue (ns-ipc-mq.c, which
 * also keeps the /proc/sys/fs/mqueue limits in the head).
 *
 * Every object comes back with its id (written to <kind>_next_id just
 * before it is made), key, mode, owner and contents. Its creator
 * (cuid/cgid) is cr's, its times are the restore's: neither can be set.
 * Semaphore adjustments (semadj, SEM_UNDO) of the tree's tasks and the
 * pids of the last operations are not restored.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "files-kind.h"
#include "image.h"
#include "log.h"
#include "namespaces.h"
#include "ns-ipc-priv.h"

#define IPC_SEMVMX	32767		/* SEMVMX */

/*
 * The namespace's ipc sysctls. The limits are set before the objects are
 * made (a set needs its semmsl, a message its msgmax); the next ids and
 * shm_rmid_forced (which would destroy cr's segments) after them.
 */
static const struct {
	const char *name;
	bool late;
} ipc_sysctls[] = {
	{ "shmmax", false }, { "shmall", false }, { "shmmni", false }, { "msgmax", false },
	{ "msgmnb", false }, { "msgmni", false }, { "sem", false }, { "auto_msgmni", false },
	{ "msg_next_id", true }, { "sem_next_id", true }, { "shm_next_id", true },
	{ "shm_rmid_forced", true },
};

int ipc_sysctl_read(const char *dir, const char *name, char *buf, size_t sz)
{
	char path[PATH_MAX];
	_cleanup_close_ int fd = -EBADF;
	ssize_t n;

	snprintf(path, sizeof(path), "%s%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sz - 1);
	if (n < 0)
		return -errno;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return 0;
}

int ipc_sysctl_write(const char *dir, const char *name, const char *val)
{
	char path[PATH_MAX];
	_cleanup_close_ int fd = -EBADF;
	size_t len = strlen(val);

	uid_t saved;
	int err = 0;

	snprintf(path, sizeof(path), "%s%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	/*
	 * In a user namespace's ipc namespace only its root may write most
	 * of them (the *_next_id ones, whoever may checkpoint/restore there).
	 */
	if (fd < 0 && errno == EACCES) {
		userns_euid_begin(&saved);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, val, len) != (ssize_t)len)
			err = -errno;
		userns_euid_end(saved);
	} else if (fd < 0 || write(fd, val, len) != (ssize_t)len) {
		err = -errno;
	}
	if (err)
		return pr_errno(err, "ipc namespace: writing %s to %s", val, path);
	return 0;
}

int ipc_next_id(const char *which, int id)
{
	char name[16], val[16];

	snprintf(name, sizeof(name), "%s_next_id", which);
	snprintf(val, sizeof(val), "%d", id);
	return ipc_sysctl_write(SYSCTL_KERNEL, name, val);
}

int ipc_check_id(const char *which, int want, int got)
{
	if (got < 0)
		return got;
	if (got != want)
		return pr_errno(-EBUSY, "ipc namespace: SysV %s %d came back as %d", which, want, got);
	return 0;
}

void ipc_object_fill(IpcObject *o, IpcKind kind, int id, int key, unsigned mode, unsigned uid, unsigned gid,
		     unsigned cuid, unsigned cgid)
{
	o->kind = kind;
	o->id = id;
	o->key = key;
	o->mode = mode;
	o->uid = uid;
	o->gid = gid;
	o->cuid = cuid;
	o->cgid = cgid;
}

/* ---- semaphore sets ----------------------------------------------------- */

int ipc_sem_dump(struct img *img)
{
	struct seminfo info;
	union semun { int val; struct semid_ds *buf; unsigned short *array; struct seminfo *__buf; } arg;
	int max, err = 0;

	arg.__buf = &info;
	max = semctl(0, 0, SEM_INFO, arg);
	if (max < 0)
		return pr_errno(-errno, "ipc namespace: SEM_INFO");
	for (int i = 0; i <= max && !err; i++) {
		IpcObject o = IPC_OBJECT__INIT;
		_cleanup_free_ unsigned short *vals = NULL;
		struct semid_ds ds;
		int id;

		arg.buf = &ds;
		id = semctl(i, 0, SEM_STAT, arg);
		if (id < 0) {
			if (errno == EINVAL || errno == EIDRM)
				continue;
			return pr_errno(-errno, "ipc namespace: SEM_STAT of index %d", i);
		}
		ipc_object_fill(&o, IPC_KIND__IPC_SEM, id, ds.sem_perm.__key, ds.sem_perm.mode, ds.sem_perm.uid,
				ds.sem_perm.gid, ds.sem_perm.cuid, ds.sem_perm.cgid);
		vals = xmalloc(sizeof(*vals) * ds.sem_nsems);
		o.sem_values = xmalloc(sizeof(*o.sem_values) * ds.sem_nsems);
		if (!vals || !o.sem_values) {
			free(o.sem_values);
			return -ENOMEM;
		}
		arg.array = vals;
		if (semctl(id, 0, GETALL, arg) < 0)
			err = pr_errno(-errno, "ipc namespace: semaphore set %d: GETALL", id);
		o.n_sem_values = ds.sem_nsems;
		for (size_t k = 0; k < o.n_sem_values; k++)
			o.sem_values[k] = vals[k];
		if (!err)
			err = pb_write_one(img, &o, PB_IPC_OBJECT);
		free(o.sem_values);
	}
	return err;
}

int ipc_sem_check(const IpcObject *o)
{
	if (!o->n_sem_values)
		return pr_errno(-EBADMSG, "ipcns.img: semaphore set %d has no semaphores", o->id);
	for (size_t k = 0; k < o->n_sem_values; k++)
		if (o->sem_values[k] > IPC_SEMVMX)
			return pr_errno(-EBADMSG, "ipcns.img: semaphore set %d: value %u of semaphore %zu is out of range",
					o->id, o->sem_values[k], k);
	return 0;
}

int ipc_sem_restore(const IpcObject *o)
{
	union semun { int val; struct semid_ds *buf; unsigned short *array; } arg;
	_cleanup_free_ unsigned short *vals = xmalloc(sizeof(*vals) * o->n_sem_values);
	struct semid_ds ds;
	int id, err;

	if (!vals)
		return -ENOMEM;
	err = ipc_next_id("sem", o->id);
	if (err)
		return err;
	id = semget(o->key, o->n_sem_values, IPC_CREAT | IPC_EXCL | (o->mode & 0777));
	if (id < 0)
		return pr_errno(-errno, "ipc namespace: semget of set %d (key 0x%x, %zu semaphores)", o->id, o->key,
				o->n_sem_values);
	err = ipc_check_id("semaphore set", o->id, id);
	if (err)
		return err;
	arg.buf = &ds;
	if (semctl(id, 0, IPC_STAT, arg))
		return pr_errno(-errno, "ipc namespace: semaphore set %d: IPC_STAT", id);
	ds.sem_perm.uid = o->uid;
	ds.sem_perm.gid = o->gid;
	ds.sem_perm.mode = o->mode & 0777;
	for (size_t k = 0; k < o->n_sem_values; k++)
		vals[k] = o->sem_values[k];
	if (semctl(id, 0, IPC_SET, arg))
		return pr_errno(-errno, "ipc namespace: semaphore set %d: IPC_SET", id);
	arg.array = vals;
	if (semctl(id, 0, SETALL, arg))
		return pr_errno(-errno, "ipc namespace: semaphore set %d: SETALL", id);
	return 0;
}

/* ---- the namespace ------------------------------------------------------ */

/* cr's own ipc namespace, noted before anything can setns(). */
static ino_t cr_ipc_ino;

__attribute__((constructor)) static void ipc_note_own_ns(void)
{
	struct stat st;

	if (!stat("/proc/self/ns/ipc", &st))
		cr_ipc_ino = st.st_ino;
}

bool ipcns_entered(void)
{
	struct stat st;

	return cr_ipc_ino && !stat("/proc/thread-self/ns/ipc", &st) && st.st_ino != cr_ipc_ino;
}

static void sysctls_free(IpcSysctl **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i]->value);
		free(v[i]);
	}
	free(v);
}

static void head_free(IpcnsHead *h)
{
	sysctls_free(h->sysctls, h->n_sysctls);
	sysctls_free(h->mq_sysctls, h->n_mq_sysctls);
}

/* The sysctls present in this kernel into @h; *msgmax gets msgmax. */
static int sysctls_dump(IpcnsHead *h, uint64_t *msgmax)
{
	h->sysctls = xzalloc(sizeof(*h->sysctls) * ARRAY_SIZE(ipc_sysctls));
	if (!h->sysctls)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(ipc_sysctls); i++) {
		char val[SYSCTL_VAL_MAX];
		IpcSysctl *s;
		int err = ipc_sysctl_read(SYSCTL_KERNEL, ipc_sysctls[i].name, val, sizeof(val));

		if (err == -ENOENT)
			continue;
		if (err)
			return pr_errno(err, "ipc namespace: reading " SYSCTL_KERNEL "%s", ipc_sysctls[i].name);
		s = xzalloc(sizeof(*s));
		if (!s)
			return -ENOMEM;
		ipc_sysctl__init(s);
		h->sysctls[h->n_sysctls++] = s;
		s->value = xstrdup(val);
		if (!s->value)
			return -ENOMEM;
		s->name = (char *)ipc_sysctls[i].name;
		if (!strcmp(s->name, "msgmax"))
			*msgmax = strtoull(val, NULL, 10);
	}
	return 0;
}

int ipcns_dump(struct files_dump *df, int dfd)
{
	_cleanup_img_ struct img *img = NULL;
	IpcnsHead h = IPCNS_HEAD__INIT;
	uint64_t msgmax = UINT64_MAX;
	int err;

	h.has_version = true;
	h.version = 1;
	err = sysctls_dump(&h, &msgmax);
	if (!err)
		err = ipc_mq_sysctls_dump(&h);
	if (!err)
		err = img_open(dfd, IMG_IPCNS, 0, O_WRONLY, &img);
	if (!err)
		err = pb_write_one(img, &h, PB_IPCNS_HEAD);
	if (!err)
		err = ipc_shm_dump(df, img);
	if (!err)
		err = ipc_sem_dump(img);
	if (!err)
		err = ipc_msg_dump(df, img, msgmax);
	if (!err)
		err = ipc_mq_dump(df, img);
	if (!err)
		err = img_close(TAKE_PTR(img));
	head_free(&h);
	return err;
}

static int sysctl_check(const IpcSysctl *s)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ipc_sysctls) && strcmp(ipc_sysctls[i].name, s->name); i++)
		;
	if (i == ARRAY_SIZE(ipc_sysctls))
		return pr_errno(-EBADMSG, "ipcns.img: %s is not an ipc sysctl", s->name);
	if (!*s->value || strlen(s->value) >= SYSCTL_VAL_MAX || strspn(s->value, "-0123456789 \t") != strlen(s->value))
		return pr_errno(-EBADMSG, "ipcns.img: sysctl %s has an invalid value", s->name);
	return 0;
}

static int object_check(const struct ipcns_img *n, const IpcObject *o)
{
	for (size_t i = 0; i < n->nr; i++)
		if (n->objs[i]->kind == o->kind && n->objs[i]->id == o->id)
			return pr_errno(-EBADMSG, "ipcns.img: SysV object %d appears twice", o->id);
	if (o->id < 0)
		return pr_errno(-EBADMSG, "ipcns.img: SysV object id %d", o->id);
	switch (o->kind) {
	case IPC_KIND__IPC_SHM:
		return ipc_shm_check(o);
	case IPC_KIND__IPC_SEM:
		return ipc_sem_check(o);
	case IPC_KIND__IPC_MSG:
		return ipc_msg_check(o);
	case IPC_KIND__IPC_MQUEUE:
		return ipc_mq_check(n, o);
	default:
		return pr_errno(-EBADMSG, "ipcns.img: SysV object %d of unknown kind %d", o->id, o->kind);
	}
}

int ipcns_read(int dfd, struct ipcns_img **ret)
{
	_cleanup_img_ struct img *img = NULL;
	struct ipcns_img *n = xzalloc(sizeof(*n));
	int err;

	if (!n)
		return -ENOMEM;
	err = img_open(dfd, IMG_IPCNS, 0, O_RDONLY, &img);
	if (!err)
		err = pb_read_one_required(img, (void **)&n->head, PB_IPCNS_HEAD);
	for (size_t i = 0; !err && i < n->head->n_sysctls; i++)
		err = sysctl_check(n->head->sysctls[i]);
	for (size_t i = 0; !err && i < n->head->n_mq_sysctls; i++)
		err = ipc_mq_sysctl_check(n->head->mq_sysctls[i]);
	while (!err) {
		IpcObject *o, **objs;

		err = pb_read_one(img, (void **)&o, PB_IPC_OBJECT);
		if (err <= 0)
			break;
		err = object_check(n, o);
		objs = err ? NULL : xrealloc(n->objs, sizeof(*objs) * (n->nr + 1));
		if (!objs) {
			pb_free(o, PB_IPC_OBJECT);
			err = err ? err : -ENOMEM;
			break;
		}
		n->objs = objs;
		n->objs[n->nr++] = o;
	}
	if (err) {
		ipcns_free(n);
		return err;
	}
	*ret = n;
	return 0;
}

static int sysctls_restore(const struct ipcns_img *n, bool late)
{
	for (size_t i = 0; i < ARRAY_SIZE(ipc_sysctls); i++) {
		if (ipc_sysctls[i].late != late)
			continue;
		for (size_t k = 0; k < n->head->n_sysctls; k++) {
			const IpcSysctl *s = n->head->sysctls[k];
			int err;

			if (strcmp(s->name, ipc_sysctls[i].name))
				continue;
			/* -1: no id asked for, what the kernel leaves after each object (it refuses a write of it). */
			if (strstr(s->name, "_next_id") && !strcmp(s->value, "-1"))
				continue;
			err = ipc_sysctl_write(SYSCTL_KERNEL, s->name, s->value);
			if (err)
				return err;
		}
	}
	return 0;
}

int ipcns_restore(const struct ipcns_img *n, struct files_rst *rf)
{
	const struct shmem_table *t = rf ? files_rst_shmem(rf) : NULL;
	size_t nr_mq = 0;
	int err = sysctls_restore(n, false);

	if (!err)
		err = ipc_mq_sysctls_restore(n, false);
	for (size_t i = 0; i < n->nr && !err; i++) {
		const IpcObject *o = n->objs[i];

		if (o->kind == IPC_KIND__IPC_SHM)
			err = ipc_shm_restore(o, rf, t);
		else if (o->kind == IPC_KIND__IPC_SEM)
			err = ipc_sem_restore(o);
		else if (o->kind == IPC_KIND__IPC_MSG)
			err = ipc_msg_restore(o, rf);
		else {
			err = ipc_mq_restore(o, rf);
			nr_mq++;
		}
	}
	if (!err)
		err = ipc_mq_sysctls_restore(n, true);
	if (!err)
		err = sysctls_restore(n, true);
	if (!err)
		pr_info("ipc namespace: %zu SysV objects and %zu POSIX message queues restored", n->nr - nr_mq, nr_mq);
	return err;
}

void ipcns_free(struct ipcns_img *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nr; i++)
		pb_free(n->objs[i], PB_IPC_OBJECT);
	free(n->objs);
	if (n->head)
		pb_free(n->head, PB_IPCNS_HEAD);
	free(n);
}

size_t ipcns_nr_objects(const struct ipcns_img *n)
{
	return n ? n->nr : 0;
}
