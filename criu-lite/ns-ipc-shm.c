/*
 * SysV shared memory segments of the tree's ipc namespace: every one,
 * attached by the tree or not, with the pages that are not holes (read
 * through a read-only attachment of cr's, its map_files link, with
 * SEEK_DATA/SEEK_HOLE). A segment removed (SHM_DEST) while attached is
 * made again only if a task of the tree maps it (shmem.c removes it once
 * the tree attached it); its other attachers are not in the tree.
 * shmem.c keeps, for a mapping of such a segment, only its id.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "files-kind.h"
#include "image.h"
#include "log.h"
#include "ns-ipc-priv.h"
#include "shmem.h"

/* The segment's memory as a file, through attachment @p of @size bytes. */
static int shm_file(int id, void *p, uint64_t size, int flags)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)p,
		 (unsigned long)p + ALIGN_UP(size, PAGE_SIZE));
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return pr_errno(-errno, "ipc namespace: SysV segment %d: %s", id, path);
	return fd;
}

/* The runs of @fd's pages that are not holes, into o->pages. */
static int shm_dump_pages(struct files_dump *df, int fd, IpcObject *o)
{
	size_t cap = 0;
	off_t pos = 0;

	while ((uint64_t)pos < o->size) {
		off_t data = lseek(fd, pos, SEEK_DATA), hole;
		DataRef *ref;
		int err;

		if (data < 0) {
			if (errno == ENXIO)
				break;
			return pr_errno(-errno, "ipc namespace: SysV segment %d: SEEK_DATA", o->id);
		}
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > o->size)
			hole = o->size;
		if (o->n_pages == cap) {
			DataRef **n = xrealloc(o->pages, sizeof(*n) * (cap = cap ? cap * 2 : 8));

			if (!n)
				return -ENOMEM;
			o->pages = n;
		}
		ref = xmalloc(sizeof(*ref));
		if (!ref)
			return -ENOMEM;
		o->pages[o->n_pages++] = ref;
		err = fdata_append_fd(df, fd, data, hole - data, ref);
		if (err)
			return err;
		ref->has_at = true;
		ref->at = data;
		pos = hole;
	}
	return 0;
}

static int shm_dump_one(struct files_dump *df, struct img *img, int id, const struct shmid_ds *ds)
{
	IpcObject o = IPC_OBJECT__INIT;
	struct statfs sfs;
	void *p;
	int fd, err;

	ipc_object_fill(&o, IPC_KIND__IPC_SHM, id, ds->shm_perm.__key, ds->shm_perm.mode, ds->shm_perm.uid,
			ds->shm_perm.gid, ds->shm_perm.cuid, ds->shm_perm.cgid);
	o.has_size = true;
	o.size = ds->shm_segsz;
	p = shmat(id, NULL, SHM_RDONLY);
	if (p == (void *)-1)
		return pr_errno(-errno, "ipc namespace: SysV segment %d: shmat", id);
	fd = shm_file(id, p, o.size, O_RDONLY);
	shmdt(p);
	if (fd < 0)
		return fd;
	if (fstatfs(fd, &sfs))
		err = pr_errno(-errno, "ipc namespace: SysV segment %d: fstatfs", id);
	else if (sfs.f_type == HUGETLBFS_MAGIC)
		err = pr_errno(-EOPNOTSUPP, "ipc namespace: SysV segment %d (key 0x%x) is SHM_HUGETLB, which cannot "
			       "be dumped yet", id, o.key);
	else
		err = shm_dump_pages(df, fd, &o);
	close(fd);
	if (!err)
		err = pb_write_one(img, &o, PB_IPC_OBJECT);
	for (size_t i = 0; i < o.n_pages; i++)
		free(o.pages[i]);
	free(o.pages);
	return err;
}

int ipc_shm_dump(struct files_dump *df, struct img *img)
{
	struct shm_info info;
	int max, err = 0;

	max = shmctl(0, SHM_INFO, (struct shmid_ds *)&info);
	if (max < 0)
		return pr_errno(-errno, "ipc namespace: SHM_INFO");
	for (int i = 0; i <= max && !err; i++) {
		struct shmid_ds ds;
		int id = shmctl(i, SHM_STAT, &ds);

		if (id < 0) {
			if (errno == EINVAL || errno == EIDRM)
				continue;
			return pr_errno(-errno, "ipc namespace: SHM_STAT of index %d", i);
		}
		err = shm_dump_one(df, img, id, &ds);
	}
	return err;
}

int ipc_shm_check(const IpcObject *o)
{
	uint64_t end = 0;

	if (!o->has_size || !o->size)
		return pr_errno(-EBADMSG, "ipcns.img: SysV segment %d has no size", o->id);
	for (size_t i = 0; i < o->n_pages; i++) {
		const DataRef *r = o->pages[i];

		if (!r->has_at || r->at < end || r->at % PAGE_SIZE || !r->len || r->len > o->size - r->at)
			return pr_errno(-EBADMSG, "ipcns.img: SysV segment %d: page run %zu is out of the segment",
					o->id, i);
		end = r->at + r->len;
	}
	return 0;
}

static int shm_fill(const IpcObject *o, int id, struct files_rst *rf)
{
	void *p;
	int fd, err = 0;

	if (!o->n_pages)
		return 0;
	p = shmat(id, NULL, 0);
	if (p == (void *)-1)
		return pr_errno(-errno, "ipc namespace: SysV segment %d: shmat", id);
	fd = shm_file(id, p, o->size, O_RDWR);
	shmdt(p);
	if (fd < 0)
		return fd;
	for (size_t i = 0; i < o->n_pages && !err; i++) {
		if (lseek(fd, o->pages[i]->at, SEEK_SET) < 0)
			err = pr_errno(-errno, "ipc namespace: SysV segment %d: lseek", id);
		else
			err = fdata_copy_to_fd(rf, o->pages[i], fd);
	}
	close(fd);
	return err;
}

int ipc_shm_restore(const IpcObject *o, struct files_rst *rf, const struct shmem_table *t)
{
	bool removed = o->mode & SHM_DEST;
	struct shmid_ds ds;
	int id, err;

	/* Nothing of the tree attaches it: it would go at once. */
	if (removed && !shmem_sysv_in_ns(t, o->id))
		return 0;
	err = ipc_next_id("shm", o->id);
	if (err)
		return err;
	id = shmget(removed ? IPC_PRIVATE : o->key, o->size, IPC_CREAT | IPC_EXCL | (o->mode & 0777));
	if (id < 0)
		return pr_errno(-errno, "ipc namespace: shmget of segment %d (key 0x%x, %llu bytes)", o->id, o->key,
				(unsigned long long)o->size);
	err = ipc_check_id("segment", o->id, id);
	if (err)
		return err;
	if (shmctl(id, IPC_STAT, &ds))
		return pr_errno(-errno, "ipc namespace: SysV segment %d: IPC_STAT", id);
	ds.shm_perm.uid = o->uid;
	ds.shm_perm.gid = o->gid;
	ds.shm_perm.mode = o->mode & 0777;
	if (shmctl(id, IPC_SET, &ds))
		return pr_errno(-errno, "ipc namespace: SysV segment %d: IPC_SET", id);
	err = shm_fill(o, id, rf);
	if (!err && (o->mode & SHM_LOCKED) && shmctl(id, SHM_LOCK, NULL))
		err = pr_errno(-errno, "ipc namespace: SysV segment %d: SHM_LOCK", id);
	return err;
}
