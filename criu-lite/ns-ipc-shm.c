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
#include "mem.h"
#include "ns-ipc-priv.h"
#include "shmem.h"

#define SHM_CHUNK		(2UL << 20)	/* hugetlb: the pages are read and kept in chunks of this */

/*
 * The segment's memory as a file, through attachment @p of @size bytes:
 * an attachment of a SHM_HUGETLB segment ends at a huge page boundary,
 * which cr learns from the file only, so the sizes are tried in turn.
 */
static int shm_file(int id, void *p, uint64_t size, int flags)
{
	static const uint64_t ends[] = { PAGE_SIZE, 2UL << 20, 1UL << 30 };
	char path[96];
	int fd = -ENOENT;

	for (unsigned i = 0; i < ARRAY_SIZE(ends) && fd == -ENOENT; i++) {
		snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)p,
			 (unsigned long)p + ALIGN_UP(size, ends[i]));
		fd = open(path, flags | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
	}
	if (fd < 0)
		return pr_errno(fd, "ipc namespace: SysV segment %d: %s", id, path);
	return fd;
}

static int add_page_ref(IpcObject *o, size_t *cap, DataRef **ret)
{
	if (o->n_pages == *cap) {
		DataRef **n = xrealloc(o->pages, sizeof(*n) * (*cap = *cap ? *cap * 2 : 8));

		if (!n)
			return -ENOMEM;
		o->pages = n;
	}
	*ret = xmalloc(sizeof(**ret));
	if (!*ret)
		return -ENOMEM;
	o->pages[o->n_pages++] = *ret;
	return 0;
}

/*
 * A SHM_HUGETLB segment's bytes, in chunks: hugetlbfs has no holes
 * (SEEK_DATA finds all of it), and a huge page never touched reads as
 * zeros without being allocated, so chunks of zeros are left out.
 */
static int shm_dump_huge(struct files_dump *df, int fd, IpcObject *o)
{
	_cleanup_free_ char *buf = xmalloc(SHM_CHUNK);
	size_t cap = 0;

	if (!buf)
		return -ENOMEM;
	for (uint64_t at = 0; at < o->size; at += SHM_CHUNK) {
		uint64_t len = min(SHM_CHUNK, o->size - at);
		ssize_t n = pread(fd, buf, len, at);
		DataRef *ref;
		int err;

		if (n != (ssize_t)len)
			return pr_errno(n < 0 ? -errno : -EIO, "ipc namespace: SysV segment %d: reading at %lu", o->id,
					(unsigned long)at);
		if (!buf[0] && !memcmp(buf, buf + 1, len - 1))
			continue;
		err = add_page_ref(o, &cap, &ref);
		if (!err)
			err = fdata_append(df, buf, len, ref);
		if (err)
			return err;
		ref->has_at = true;
		ref->at = at;
	}
	return 0;
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
		err = add_page_ref(o, &cap, &ref);
		if (!err)
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
	else if (sfs.f_type == HUGETLBFS_MAGIC) {
		/* hugetlbfs's block size is its page size. */
		o.has_hugetlb_size = true;
		o.hugetlb_size = sfs.f_bsize;
		err = shm_dump_huge(df, fd, &o);
	} else {
		err = shm_dump_pages(df, fd, &o);
	}
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
	if (o->has_hugetlb_size && !mem_huge_shm_flags(o->hugetlb_size))
		return pr_errno(-EBADMSG, "ipcns.img: SysV segment %d: no huge page is of %lu bytes", o->id,
				(unsigned long)o->hugetlb_size);
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
	if (o->has_hugetlb_size) {
		/* hugetlbfs has no write(): into the attachment. */
		for (size_t i = 0; i < o->n_pages && !err; i++)
			err = fdata_read(rf, o->pages[i], (char *)p + o->pages[i]->at);
		shmdt(p);
		return err;
	}
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
	id = shmget(removed ? IPC_PRIVATE : o->key, o->size, IPC_CREAT | IPC_EXCL | (o->mode & 0777) |
		    (o->has_hugetlb_size ? mem_huge_shm_flags(o->hugetlb_size) : 0));
	if (id < 0 && errno == ENOMEM && o->has_hugetlb_size) {
		char what[64];

		snprintf(what, sizeof(what), "ipc namespace: SysV segment %d (SHM_HUGETLB)", o->id);
		return mem_huge_enomem(o->hugetlb_size, ALIGN_UP(o->size, o->hugetlb_size), what);
	}
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
