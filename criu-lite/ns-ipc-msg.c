/*
 * SysV message queues of the tree's ipc namespace: every message, in
 * order, read without taking it (msgrcv MSG_COPY by index), sent again
 * in that order at restore.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#include "cleanup.h"
#include "files-kind.h"
#include "image.h"
#include "log.h"
#include "ns-ipc-priv.h"

#ifndef MSG_COPY
#define MSG_COPY	040000
#endif

struct msgbuf_any {
	long mtype;
	char mtext[];
};

static void msgs_free(IpcObject *o)
{
	for (size_t i = 0; i < o->n_msgs; i++) {
		free(o->msgs[i]->text);
		free(o->msgs[i]);
	}
	free(o->msgs);
}

static int msg_dump_texts(struct files_dump *df, IpcObject *o, size_t qnum, size_t cbytes, uint64_t msgmax)
{
	_cleanup_free_ struct msgbuf_any *buf = xmalloc(sizeof(*buf) + cbytes + 1);

	if (!buf)
		return -ENOMEM;
	o->msgs = xzalloc(sizeof(*o->msgs) * (qnum ? qnum : 1));
	if (!o->msgs)
		return -ENOMEM;
	for (size_t i = 0; i < qnum; i++) {
		ssize_t n = msgrcv(o->id, buf, cbytes + 1, i, IPC_NOWAIT | MSG_COPY);
		IpcMsg *m;
		int err;

		/* The kernel's copy holds msgmax bytes at most: EINVAL for a longer message. */
		if (n < 0 && errno != EINVAL)
			return pr_errno(-errno, "ipc namespace: message queue %d: copying message %zu of %zu", o->id,
					i, qnum);
		if (n < 0 || (uint64_t)n > msgmax)
			return pr_errno(-EOPNOTSUPP, "ipc namespace: message queue %d: message %zu is longer than "
					"msgmax (%llu): it could not be sent again", o->id, i,
					(unsigned long long)msgmax);
		m = xmalloc(sizeof(*m));
		if (m)
			ipc_msg__init(m);
		if (m && !(m->text = xmalloc(sizeof(*m->text)))) {
			free(m);
			m = NULL;
		}
		if (!m)
			return -ENOMEM;
		o->msgs[o->n_msgs++] = m;
		m->mtype = buf->mtype;
		err = fdata_append(df, buf->mtext, n, m->text);
		if (err)
			return err;
	}
	return 0;
}

int ipc_msg_dump(struct files_dump *df, struct img *img, uint64_t msgmax)
{
	struct msginfo info;
	int max, err = 0;

	max = msgctl(0, MSG_INFO, (struct msqid_ds *)&info);
	if (max < 0)
		return pr_errno(-errno, "ipc namespace: MSG_INFO");
	for (int i = 0; i <= max && !err; i++) {
		IpcObject o = IPC_OBJECT__INIT;
		struct msqid_ds ds;
		int id = msgctl(i, MSG_STAT, &ds);

		if (id < 0) {
			if (errno == EINVAL || errno == EIDRM)
				continue;
			return pr_errno(-errno, "ipc namespace: MSG_STAT of index %d", i);
		}
		ipc_object_fill(&o, IPC_KIND__IPC_MSG, id, ds.msg_perm.__key, ds.msg_perm.mode, ds.msg_perm.uid,
				ds.msg_perm.gid, ds.msg_perm.cuid, ds.msg_perm.cgid);
		o.has_qbytes = true;
		o.qbytes = ds.msg_qbytes;
		err = msg_dump_texts(df, &o, ds.msg_qnum, ds.__msg_cbytes, msgmax);
		if (!err)
			err = pb_write_one(img, &o, PB_IPC_OBJECT);
		msgs_free(&o);
	}
	return err;
}

int ipc_msg_check(const IpcObject *o)
{
	uint64_t bytes = 0;

	if (!o->has_qbytes)
		return pr_errno(-EBADMSG, "ipcns.img: message queue %d has no qbytes", o->id);
	for (size_t i = 0; i < o->n_msgs; i++) {
		if (o->msgs[i]->mtype <= 0)
			return pr_errno(-EBADMSG, "ipcns.img: message queue %d: message %zu has type %lld", o->id, i,
					(long long)o->msgs[i]->mtype);
		bytes += o->msgs[i]->text->len;
	}
	if (bytes > o->qbytes)
		return pr_errno(-EBADMSG, "ipcns.img: message queue %d holds %llu bytes, more than its qbytes %llu",
				o->id, (unsigned long long)bytes, (unsigned long long)o->qbytes);
	return 0;
}

int ipc_msg_restore(const IpcObject *o, struct files_rst *rf)
{
	struct msqid_ds ds;
	int id, err;

	err = ipc_next_id("msg", o->id);
	if (err)
		return err;
	id = msgget(o->key, IPC_CREAT | IPC_EXCL | (o->mode & 0777));
	if (id < 0)
		return pr_errno(-errno, "ipc namespace: msgget of queue %d (key 0x%x)", o->id, o->key);
	err = ipc_check_id("message queue", o->id, id);
	if (err)
		return err;
	if (msgctl(id, IPC_STAT, &ds))
		return pr_errno(-errno, "ipc namespace: message queue %d: IPC_STAT", id);
	ds.msg_perm.uid = o->uid;
	ds.msg_perm.gid = o->gid;
	ds.msg_perm.mode = o->mode & 0777;
	ds.msg_qbytes = o->qbytes;
	if (msgctl(id, IPC_SET, &ds))
		return pr_errno(-errno, "ipc namespace: message queue %d: IPC_SET", id);
	for (size_t i = 0; i < o->n_msgs && !err; i++) {
		const IpcMsg *m = o->msgs[i];
		struct msgbuf_any *buf = xmalloc(sizeof(*buf) + m->text->len + 1);

		if (!buf)
			return -ENOMEM;
		buf->mtype = m->mtype;
		err = fdata_read(rf, m->text, buf->mtext);
		if (!err && msgsnd(id, buf, m->text->len, IPC_NOWAIT))
			err = pr_errno(-errno, "ipc namespace: message queue %d: sending message %zu (%llu bytes)", id,
				       i, (unsigned long long)m->text->len);
		free(buf);
	}
	return err;
}
