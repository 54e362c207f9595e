#ifndef CR_NS_IPC_PRIV_H
#define CR_NS_IPC_PRIV_H

/* The ipc namespace module's parts (ns-ipc.c, ns-ipc-shm.c, ns-ipc-msg.c). */
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

/* Makes the next object of @which ("shm", "sem", "msg") get @id; checks the id it got. */
int ipc_next_id(const char *which, int id);
int ipc_check_id(const char *which, int want, int got);
void ipc_object_fill(IpcObject *o, IpcKind kind, int id, int key, unsigned mode, unsigned uid, unsigned gid,
		     unsigned cuid, unsigned cgid);

#endif
