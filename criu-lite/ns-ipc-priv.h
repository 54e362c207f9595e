#ifndef CR_NS_IPC_PRIV_H
#define CR_NS_IPC_PRIV_H

/* The ipc namespace module's parts (ns-ipc.c, ns-ipc-shm.c, ns-ipc-msg.c, ns-ipc-mq.c). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipcns.pb-c.h"

struct img;
struct files_dump;
struct files_rst;
struct shmem_table;

struct ipcns_img {
	IpcnsHead *head;
	IpcObject **objs;
	size_t nr;
};

/* Every object of the kind in cr's ipc namespace, one ipc_object each into @img. */
int ipc_shm_dump(struct files_dump *df, struct img *img);
int ipc_sem_dump(struct img *img);
/* @msgmax: the namespace's, a longer message cannot be sent again. */
int ipc_msg_dump(struct files_dump *df, struct img *img, uint64_t msgmax);

/* Image checks of one object of the kind (at read, before anything is created). */
int ipc_shm_check(const IpcObject *o);
int ipc_sem_check(const IpcObject *o);
int ipc_msg_check(const IpcObject *o);

/* Creates the object with its id, key, owner, mode and contents in cr's ipc namespace. */
int ipc_shm_restore(const IpcObject *o, struct files_rst *rf, const struct shmem_table *t);
int ipc_sem_restore(const IpcObject *o);
int ipc_msg_restore(const IpcObject *o, struct files_rst *rf);

/* ---- POSIX message queues (ns-ipc-mq.c) ---- */
/*
 * Every queue of cr's ipc namespace (the tree's), read and put back at
 * once, one ipc_object each into @img; a queue with a registered
 * mq_notify is refused (-EOPNOTSUPP, naming it).
 */
int ipc_mq_dump(struct files_dump *df, struct img *img);
/* /proc/sys/fs/mqueue/ into @h->mq_sysctls. */
int ipc_mq_sysctls_dump(IpcnsHead *h);
int ipc_mq_sysctl_check(const IpcSysctl *s);
/* @o against itself and the queues already read into @n. */
int ipc_mq_check(const struct ipcns_img *n, const IpcObject *o);
/*
 * Before the objects (!@late): the dumped limits, raised where a dumped
 * queue needs more (said at info level); after them (@late): the raised
 * ones back to their dumped values.
 */
int ipc_mq_sysctls_restore(const struct ipcns_img *n, bool late);
int ipc_mq_restore(const IpcObject *o, struct files_rst *rf);

/*
 * Also for files-mq.c (a queue unlinked while open). What ipc_mq_copy()
 * read of a queue:
 */
struct ipc_mq_copy {
	unsigned mode;			/* permission bits */
	unsigned uid, gid;
	long maxmsg, msgsize;
	IpcMqMsg **msgs;		/* in mq_receive's order; bytes in fdata.img */
	size_t nr;
};
/*
 * The queue open as @fd (a description of cr's own, O_RDWR | O_NONBLOCK):
 * owner, mode, attributes and every message, taken and put back at once
 * (on every path: a failure in between loses nothing), then appended to
 * fdata.img through @df. A registered mq_notify is -EOPNOTSUPP. @what
 * names the queue in messages. 0 or -errno (logged); *@ret is filled on
 * success only (ipc_mq_copy_free() then).
 */
int ipc_mq_copy(struct files_dump *df, int fd, const char *what, struct ipc_mq_copy *ret);
void ipc_mq_copy_free(struct ipc_mq_copy *c);
/* Sends @nr messages (bytes from fdata.img) into the queue open as @fd (writable). */
int ipc_mq_fill(struct files_rst *rf, int fd, const char *what, IpcMqMsg *const *msgs, size_t nr, uint64_t msgsize);

/* What reading a queue's file in the mqueue file system says. */
struct ipc_mq_status {
	unsigned long long qsize;	/* bytes of messages (and the kernel's per-priority nodes) */
	int notify;			/* sigev_notify of a registration (SIGEV_SIGNAL is 0) */
	int signo;
	int notify_pid;			/* the registered process (cr's pid namespace), 0: none */
};
/* "QSIZE:%-10lu NOTIFY:%-5d SIGNO:%-5d NOTIFY_PID:%-6d\n"; 0 or -EBADMSG (not logged). */
int ipc_mq_parse_status(const char *buf, struct ipc_mq_status *ret);

/* The kernel's bounds of mq_maxmsg and mq_msgsize (HARD_MSGMAX, HARD_MSGSIZEMAX). */
#define IPC_MQ_HARD_MSGMAX	65536
#define IPC_MQ_HARD_MSGSIZEMAX	(16 * 1024 * 1024)

#define SYSCTL_KERNEL	"/proc/sys/kernel/"
#define SYSCTL_MQUEUE	"/proc/sys/fs/mqueue/"
#define SYSCTL_VAL_MAX	128
/* @dir@name: its value without the newline (-errno, not logged); written (-errno, logged). */
int ipc_sysctl_read(const char *dir, const char *name, char *buf, size_t sz);
int ipc_sysctl_write(const char *dir, const char *name, const char *val);

/* Makes the next object of @which ("shm", "sem", "msg") get @id; checks the id it got. */
int ipc_next_id(const char *which, int id);
int ipc_check_id(const char *which, int want, int got);
void ipc_object_fill(IpcObject *o, IpcKind kind, int id, int key, unsigned mode, unsigned uid, unsigned gid,
		     unsigned cuid, unsigned cgid);

#endif
