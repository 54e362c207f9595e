/*
 * Shared memory objects, dump and restore side: MAP_SHARED anonymous
 * memory and memfds, dumped once from the object itself and recreated
 * once by cr, so the tasks that shared them share them again.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "image.h"
#include "image-mac.h"
#include "log.h"
#include "mem.h"
#include "memfd.h"
#include "namespaces.h"
#include "page-xfer.h"
#include "proc-parse.h"
#include "shmem.h"
#include "shmem-priv.h"
#include "shmem.pb-c.h"

#define MEMFD_PREFIX	"/memfd:"
#define RUN_MAX_BYTES	SHMEM_RUN_MAX

struct shmem_seen {
	dev_t dev;
	ino_t ino;
	uint64_t id;
	int kept;			/* SysV: its index in shmem_dump.kept, else -1 */
};

static bool is_shmem_vma(const VmaEntry *e)
{
	return e->kind == VMA_KIND__VMA_ANON_SHARED || e->kind == VMA_KIND__VMA_MEMFD_SHARED ||
	       e->kind == VMA_KIND__VMA_SYSV_SHM || e->kind == VMA_KIND__VMA_SHMEM_PRIVATE;
}

static bool all_zero(const char *buf, uint64_t len)
{
	return !buf[0] && !memcmp(buf, buf + 1, len - 1);
}

/*
 * The object's allocated pages (SEEK_DATA/SEEK_HOLE skip what was never
 * touched), in runs of whole pages of RUN_MAX_BYTES at most, each read
 * into @buf and given to @fn. An object whose size is not a multiple of
 * the page size (a SysV segment of 56 bytes) ends in a page whose bytes
 * past the end are zeros: only the object's bytes are read. With
 * @skip_zero, a run of zeros is left out: hugetlbfs knows no holes
 * (SEEK_DATA finds all of it), and reading a huge page never touched
 * gives zeros without allocating it.
 */
int shmem_scan(int obj_fd, uint64_t size, bool skip_zero, char *buf, shmem_run_fn fn, void *arg)
{
	off_t pos = 0;
	int err = 0;

	while (!err && (uint64_t)pos < size) {
		off_t data = lseek(obj_fd, pos, SEEK_DATA), hole;

		if (data < 0) {
			if (errno != ENXIO)
				err = pr_errno(-errno, "shared memory: SEEK_DATA");
			break;
		}
		hole = lseek(obj_fd, data, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > size)
			hole = size;
		hole = ALIGN_UP((uint64_t)hole, PAGE_SIZE);
		for (pos = data & ~(off_t)(PAGE_SIZE - 1); !err && pos < hole;) {
			uint64_t len = min((uint64_t)(hole - pos), RUN_MAX_BYTES);
			uint64_t want = min(len, size - pos);
			ssize_t n = pread(obj_fd, buf, want, pos);

			if (n != (ssize_t)want)
				return pr_errno(n < 0 ? -errno : -EIO, "reading shared memory at offset %lu",
						(unsigned long)pos);
			memset(buf + want, 0, len - want);
			if (!skip_zero || !all_zero(buf, len))
				err = fn(arg, pos, len, buf);
			pos += len;
		}
	}
	return err;
}

struct dump_runs {
	ShmemEntry *e;
	ShmemRun *runs;
	uint8_t (*macs)[IMG_MAC_SIZE];	/* signed dumps: one per run */
	size_t cap;
	struct page_xfer *pages;
	uint64_t *bytes;
};

/* One run into the page image, with its checksum. */
static int dump_run(void *arg, uint64_t off, uint64_t len, const char *buf)
{
	struct dump_runs *dr = arg;
	ShmemRun *r;
	int err;

	if (dr->e->n_runs == dr->cap) {
		size_t cap = dr->cap ? dr->cap * 2 : 16;
		ShmemRun *n = xrealloc(dr->runs, sizeof(*n) * cap);
		void *m = n ? xrealloc(dr->macs, IMG_MAC_SIZE * cap) : NULL;

		if (n)
			dr->runs = n;
		if (!m)
			return -ENOMEM;
		dr->macs = m;
		dr->cap = cap;
	}
	r = &dr->runs[dr->e->n_runs];
	shmem_run__init(r);
	r->off = off;
	r->nr_pages = len / PAGE_SIZE;
	r->crc = crc32c(0, buf, len);
	err = img_key_loaded() ? page_xfer_mac_buf(dr->pages, buf, len, dr->macs[dr->e->n_runs]) : 0;
	if (!err)
		err = page_xfer_write(dr->pages, 0, buf, len);
	if (!err)
		err = page_xfer_sums(dr->pages, &(struct page_xfer_sum){ len, r->crc }, 1);
	if (err)
		return err;
	dr->e->n_runs++;
	*dr->bytes += len;
	return 0;
}

static int dump_object(int obj_fd, const struct stat *st, ShmemEntry *e, struct page_xfer *pages,
		       uint64_t *ret_bytes)
{
	_cleanup_free_ char *buf = xmalloc(RUN_MAX_BYTES);
	struct dump_runs dr = { .e = e, .pages = pages, .bytes = ret_bytes };
	int err;

	if (!buf)
		return -ENOMEM;
	e->page_off = page_xfer_offset(pages);
	err = shmem_scan(obj_fd, st->st_size, e->has_hugetlb_size, buf, dump_run, &dr);
	if (!err && img_key_loaded() && e->n_runs) {
		/* The runs and their MACs in one block, which the caller frees as runs[0]. */
		ShmemRun *all = xmalloc((sizeof(*all) + IMG_MAC_SIZE) * e->n_runs);
		uint8_t *macs = (uint8_t *)(all + e->n_runs);

		if (!all) {
			err = -ENOMEM;
		} else {
			memcpy(all, dr.runs, sizeof(*all) * e->n_runs);
			memcpy(macs, dr.macs, IMG_MAC_SIZE * e->n_runs);
			for (size_t i = 0; i < e->n_runs; i++) {
				all[i].has_mac = true;
				all[i].mac = (ProtobufCBinaryData){ IMG_MAC_SIZE, macs + i * IMG_MAC_SIZE };
			}
			free(dr.runs);
			dr.runs = all;
		}
	}
	free(dr.macs);
	if (!err) {
		e->runs = xmalloc(sizeof(*e->runs) * (e->n_runs ? e->n_runs : 1));
		if (!e->runs)
			err = -ENOMEM;
		for (size_t i = 0; !err && i < e->n_runs; i++)
			e->runs[i] = &dr.runs[i];
	}
	if (err)
		free(dr.runs);
	return err;
}

#define SYSVIPC_SHM	"/proc/sysvipc/shm"

/*
 * A segment's inode number is its id. One removed (IPC_RMID) while
 * attached stays listed in /proc/sysvipc/shm with SHM_DEST in its mode
 * until the last detach.
 */
static int sysv_describe(int shmid, ShmemEntry *e)
{
	_cleanup_free_ char *buf = NULL;
	char *line;
	int err;

	err = read_file_at(AT_FDCWD, SYSVIPC_SHM, &buf, NULL);
	if (err)
		return err;
	e->has_shmid = e->has_key = e->has_mode = e->has_uid = e->has_gid = e->has_removed = true;
	e->shmid = shmid;
	e->removed = true;
	for (line = strchr(buf, '\n'); line; line = strchr(line + 1, '\n')) {
		int key, id;
		unsigned mode, uid, gid;
		unsigned long size;

		if (sscanf(line + 1, "%d %d %o %lu %*d %*d %*u %u %u", &key, &id, &mode, &size, &uid, &gid) == 6 &&
		    id == shmid) {
			e->key = key;
			e->mode = mode & 0777;
			e->uid = uid;
			e->gid = gid;
			e->removed = !!(mode & SHM_DEST);
			return 0;
		}
	}
	e->mode = 0600;
	return 0;
}

static int dump_new_object(struct shmem_dump *sd, pid_t pid, const VmaEntry *v, int fd,
			   const struct stat *st, struct img *shmem_img, struct page_xfer *pages)
{
	ShmemEntry e = SHMEM_ENTRY__INIT;
	struct shmem_seen *n;
	int err;

	n = xrealloc(sd->objs, sizeof(*n) * (sd->nr + 1));
	if (!n)
		return -ENOMEM;
	sd->objs = n;
	n[sd->nr] = (struct shmem_seen){ st->st_dev, st->st_ino, sd->nr + 1, -1 };
	e.id = sd->nr + 1;
	/* A private mapping's object: a memfd, or shared anonymous memory. */
	e.kind = v->kind == VMA_KIND__VMA_SYSV_SHM ? SHMEM_KIND__SHMEM_SYSV :
		 v->path && !strncmp(v->path, MEMFD_PREFIX, strlen(MEMFD_PREFIX)) ? SHMEM_KIND__SHMEM_MEMFD :
		 SHMEM_KIND__SHMEM_ANON;
	e.size = st->st_size;
	e.has_hugetlb_size = v->has_hugetlb_size;
	e.hugetlb_size = v->hugetlb_size;
	e.name = e.kind == SHMEM_KIND__SHMEM_MEMFD ? v->path + strlen(MEMFD_PREFIX) : NULL;
	err = 0;
	if (e.kind == SHMEM_KIND__SHMEM_MEMFD) {
		struct memfd_attrs a;
		char what[96];

		snprintf(what, sizeof(what), "pid %d: memfd %s mapped at %lx", pid, v->path, (unsigned long)v->start);
		err = memfd_attrs_read(fd, what, &a);
		e.has_ino = e.has_seals = e.has_mode = e.has_uid = e.has_gid = true;
		e.ino = st->st_ino;
		e.seals = a.seals;
		e.mode = a.mode;
		e.uid = a.uid;
		e.gid = a.gid;
	}
	if (v->kind == VMA_KIND__VMA_SYSV_SHM) {
		if (ALIGN_UP((uint64_t)st->st_size, v->has_hugetlb_size ? v->hugetlb_size : PAGE_SIZE) !=
		    v->end - v->start)
			return pr_errno(-ENOTSUP, "pid %d: mapping %lx-%lx: only whole SysV segments can be dumped",
					pid, (unsigned long)v->start, (unsigned long)v->end);
		err = sysv_describe(st->st_ino, &e);
		e.has_in_ipcns = e.in_ipcns = ipcns_entered();
	}
	if (!err && !e.in_ipcns) {
		sd->scanned += ALIGN_UP((uint64_t)st->st_size, PAGE_SIZE);
		err = dump_object(fd, st, &e, pages, &sd->bytes);
	}
	if (!err)
		err = pb_write_one(shmem_img, &e, PB_SHMEM);
	if (!err && e.kind == SHMEM_KIND__SHMEM_SYSV && !e.in_ipcns && !e.removed) {
		int k = shmem_kept_note(sd, &e);

		if (k >= 0)
			n[sd->nr].kept = k;
		else if (k != -ENOENT)
			err = k;
	}
	if (e.runs && e.n_runs)
		free(e.runs[0]);
	free(e.runs);
	if (!err) {
		sd->nr++;
		pr_debug("pid %d: shared memory object %lu (%lu bytes, %zu runs) at %lx", pid,
			 (unsigned long)e.id, (unsigned long)e.size, e.n_runs, (unsigned long)v->start);
	}
	return err;
}

int shmem_dump_task(struct shmem_dump *sd, pid_t pid, MmEntry *mm, struct img *shmem_img,
		    struct page_xfer *pages)
{
	for (size_t i = 0; i < mm->n_vmas; i++) {
		VmaEntry *v = mm->vmas[i];
		_cleanup_close_ int fd = -EBADF;
		struct stat st;
		char path[MAP_FILES_PATH_MAX];
		unsigned k;
		int err;

		if (!is_shmem_vma(v))
			continue;
		mem_map_files_path(pid, v->start, v->end, path);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st))
			return pr_errno(-errno, "pid %d: shared mapping %lx-%lx: %s", pid,
					(unsigned long)v->start, (unsigned long)v->end, path);
		for (k = 0; k < sd->nr; k++)
			if (sd->objs[k].dev == st.st_dev && sd->objs[k].ino == st.st_ino)
				break;
		if (k == sd->nr) {
			err = dump_new_object(sd, pid, v, fd, &st, shmem_img, pages);
			if (err)
				return err;
		}
		if (sd->objs[k].kept >= 0)
			sd->kept[sd->objs[k].kept].maps++;
		v->has_shmid = true;
		v->shmid = sd->objs[k].id;
	}
	return 0;
}

void shmem_dump_free(struct shmem_dump *sd)
{
	free(sd->objs);
	sd->objs = NULL;
	sd->nr = 0;
	shmem_kept_free(sd);
}

/* ---- restore ---------------------------------------------------------------- */

struct shmem_obj {
	uint64_t id;
	int fd;				/* anon, memfd */
	int sysv_id;			/* SysV: the new segment, else -1 */
	bool removed;			/* SysV: IPC_RMID once attached */
	bool gone;			/* SysV: IPC_RMID done */
	bool in_ns;			/* SysV: ipcns_restore() made it in the tree's namespace */
	bool adopted;			/* SysV: found as the image has it, not made (shmem_sysv_adopt) */
	uint64_t ino;			/* memfd: inode at dump, 0 if unknown */
};

struct shmem_table {
	struct shmem_obj *objs;
	unsigned nr;
};

#define SHM_NEXT_ID	"/proc/sys/kernel/shm_next_id"

/*
 * A new segment, with the dumped id where the kernel lets us choose it
 * (shm_next_id, CONFIG_CHECKPOINT_RESTORE): a task may keep the id.
 * Someone else's shmget() racing with ours may take it; then the task
 * gets another id, which is said.
 */
static int create_sysv(const ShmemEntry *e)
{
	key_t key = e->removed ? IPC_PRIVATE : e->key;
	char val[16];
	int fd, id, n;

	fd = open(SHM_NEXT_ID, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = snprintf(val, sizeof(val), "%d", e->shmid);
		if (write(fd, val, n) != n)
			pr_debug("%s: %s", SHM_NEXT_ID, strerror(errno));
		close(fd);
	}
	id = shmget(key, e->size, IPC_CREAT | IPC_EXCL | (e->mode & 0777) |
		    (e->has_hugetlb_size ? mem_huge_shm_flags(e->hugetlb_size) : 0));
	if (id < 0) {
		char what[64];

		if (errno == EEXIST)
			return pr_errno(-EEXIST, "SysV shared memory key 0x%x is in use; it must be free to restore",
					e->key);
		snprintf(what, sizeof(what), "SysV segment %d (SHM_HUGETLB)", e->shmid);
		if (errno == ENOMEM && e->has_hugetlb_size)
			return mem_huge_enomem(e->hugetlb_size, ALIGN_UP(e->size, e->hugetlb_size), what);
		return pr_errno(-errno, "shmget of %lu bytes (SysV segment %d)", (unsigned long)e->size, e->shmid);
	}
	if (id != e->shmid)
		pr_warn("SysV segment %d comes back as %d: that id is taken", e->shmid, id);
	if (e->uid || e->gid) {
		struct shmid_ds ds;

		if (!shmctl(id, IPC_STAT, &ds)) {
			ds.shm_perm.uid = e->uid;
			ds.shm_perm.gid = e->gid;
			if (shmctl(id, IPC_SET, &ds))
				pr_warn("SysV segment %d: owner %u:%u not restored: %s", id, e->uid, e->gid,
					strerror(errno));
		}
	}
	return id;
}

int shmem_sysv_open(int id, uint64_t page, int flags)
{
	char path[96];
	void *p;
	int fd;
	struct shmid_ds ds;

	if (shmctl(id, IPC_STAT, &ds))
		return pr_errno(-errno, "SysV segment %d: IPC_STAT", id);
	p = shmat(id, NULL, 0);
	if (p == (void *)-1)
		return pr_errno(-errno, "SysV segment %d: shmat", id);
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)p,
		 (unsigned long)p + ALIGN_UP(ds.shm_segsz, page));
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		fd = pr_errno(-errno, "SysV segment %d: %s", id, path);
	shmdt(p);
	return fd;
}

/*
 * Anonymous shared memory comes from an anonymous MAP_SHARED mapping of
 * cr's own, opened through map_files: mapped again, it is the same kind
 * of object ("/dev/zero (deleted)", or "/anon_hugepage (deleted)" for
 * hugetlb memory, whose pages are taken from the pool here, so that
 * filling it cannot fail) the task had.
 */
static int create_anon(const ShmemEntry *e)
{
	uint64_t size = e->size;
	char path[96];
	void *p;
	int fd;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS |
		 (e->has_hugetlb_size ? mem_huge_map_flags(e->hugetlb_size) : MAP_NORESERVE), -1, 0);
	if (p == MAP_FAILED && errno == ENOMEM && e->has_hugetlb_size)
		return mem_huge_enomem(e->hugetlb_size, size, "shared hugetlb memory (MAP_SHARED|MAP_HUGETLB)");
	if (p == MAP_FAILED)
		return pr_errno(-errno, "creating %lu bytes of shared memory", (unsigned long)size);
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)p,
		 (unsigned long)p + size);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fd = pr_errno(-errno, "opening the new shared memory via %s", path);
	munmap(p, size);
	return fd;
}

static int create_memfd(const char *name, uint32_t seals, uint64_t size)
{
	int fd = memfd_new(name, seals);

	if (fd < 0)
		return fd;
	if (ftruncate(fd, size)) {
		int err = pr_errno(-errno, "memfd %s: ftruncate to %lu", name, (unsigned long)size);

		close(fd);
		return err;
	}
	return fd;
}

/* Where objects are filled from: the page image, up to its data's end. */
struct shmem_src {
	int fd;
	uint64_t end;
	char *buf;		/* RUN_MAX_BYTES */
};

/* One run of the object into @buf, checked, then written to the object at its offset if @write. */
static int fill_run(int fd, const struct shmem_src *src, const ShmemEntry *e, const ShmemRun *run, char *buf,
		    bool write, uint64_t off)
{
	uint64_t len = (uint64_t)run->nr_pages * PAGE_SIZE, put;
	ssize_t n;

	/* The last page of an object of a size not page-aligned is padded with zeros. */
	if (!run->nr_pages || len > RUN_MAX_BYTES || run->off + len > ALIGN_UP(e->size, PAGE_SIZE) ||
	    run->off % PAGE_SIZE)
		return pr_errno(-EBADMSG, "shmem.img: object %lu: run at %lu of %u pages is invalid",
				(unsigned long)e->id, (unsigned long)run->off, run->nr_pages);
	if (off + len > src->end)
		return pr_errno(-EBADMSG, "pages-1.img: shared memory object %lu needs bytes up to %lu, "
				"the data ends at %lu", (unsigned long)e->id, (unsigned long)(off + len),
				(unsigned long)src->end);
	n = pread(src->fd, buf, len, off);
	if (n != (ssize_t)len)
		return pr_errno(n < 0 ? -errno : -EBADMSG, "pages-1.img: truncated (shared memory run at offset %lu)",
				(unsigned long)off);
	if (img_data_check("pages-1.img", off, buf, len, run->crc, run->has_mac ? run->mac.data : NULL,
			   run->mac.len))
		return pr_errno(-EBADMSG, "pages-1.img: %s mismatch in shared memory object %lu "
				"(%u pages at file offset %lu)", img_key_loaded() ? "MAC" : "checksum",
				(unsigned long)e->id, run->nr_pages, (unsigned long)off);
	put = min(len, e->size - run->off);
	if (write && pwrite(fd, buf, put, run->off) != (ssize_t)put)
		return pr_errno(-errno, "filling shared memory object %lu", (unsigned long)e->id);
	return 0;
}

/*
 * Fills the object from the page image, checking every run: through
 * pwrite(), or, into hugetlb memory (hugetlbfs has no write()), through
 * a mapping of it.
 */
static int fill_object(int fd, const struct shmem_src *src, const ShmemEntry *e)
{
	uint64_t off = e->page_off, map_len = 0;
	char *buf = src->buf, *map = NULL;
	int err = 0;

	if (e->has_hugetlb_size && e->n_runs) {
		map_len = ALIGN_UP(e->size, e->hugetlb_size);
		map = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED)
			return pr_errno(-errno, "mapping shared hugetlb memory object %lu to fill it", (unsigned long)e->id);
	}
	for (size_t i = 0; i < e->n_runs && !err; i++) {
		const ShmemRun *run = e->runs[i];

		if (map)
			buf = map + run->off;
		err = fill_run(fd, src, e, run, buf, !map, off);
		off += (uint64_t)run->nr_pages * PAGE_SIZE;
	}
	if (map)
		munmap(map, map_len);
	return err;
}


static int restore_object(struct shmem_table *t, const struct shmem_src *src, const ShmemEntry *e)
{
	struct shmem_obj *n;
	int fd, err;

	if (!e->size || (e->kind == SHMEM_KIND__SHMEM_ANON && e->size % PAGE_SIZE))
		return pr_errno(-EBADMSG, "shmem.img: object %lu has invalid size %lu", (unsigned long)e->id,
				(unsigned long)e->size);
	for (unsigned i = 0; i < t->nr; i++)
		if (t->objs[i].id == e->id)
			return pr_errno(-EBADMSG, "shmem.img: object %lu appears twice", (unsigned long)e->id);
	n = xrealloc(t->objs, sizeof(*n) * (t->nr + 1));
	if (!n)
		return -ENOMEM;
	t->objs = n;
	if (e->kind == SHMEM_KIND__SHMEM_SYSV && e->in_ipcns) {
		if (!e->has_shmid || e->shmid < 0 || e->n_runs)
			return pr_errno(-EBADMSG, "shmem.img: object %lu: a SysV segment of the ipc namespace "
					"needs its id and no pages", (unsigned long)e->id);
		n[t->nr++] = (struct shmem_obj){ .id = e->id, .fd = -1, .sysv_id = e->shmid,
						 .removed = e->removed, .in_ns = true };
		return 0;
	}
	if (e->kind == SHMEM_KIND__SHMEM_SYSV) {
		int id = shmem_sysv_adopt(e, src->buf);
		bool adopted = id >= 0;

		if (id == -ENOENT)
			id = create_sysv(e);
		if (id < 0)
			return id;
		n[t->nr++] = (struct shmem_obj){ .id = e->id, .fd = -1, .sysv_id = id, .removed = e->removed,
						 .adopted = adopted };
		if (adopted)
			return 0;
		fd = shmem_sysv_open(id, e->has_hugetlb_size ? e->hugetlb_size : PAGE_SIZE, O_RDWR);
		if (fd < 0)
			return fd;
		err = fill_object(fd, src, e);
		close(fd);
		return err;
	}
	fd = e->kind == SHMEM_KIND__SHMEM_MEMFD ? create_memfd(e->name, e->has_seals ? e->seals : F_SEAL_SEAL, e->size) : create_anon(e);
	if (fd < 0)
		return fd;
	n[t->nr++] = (struct shmem_obj){ .id = e->id, .fd = fd, .sysv_id = -1,
					 .ino = e->has_ino ? e->ino : 0 };
	err = fill_object(fd, src, e);
	if (!err && e->kind == SHMEM_KIND__SHMEM_MEMFD) {
		/* Images from before these were kept: what memfd_create() gave. */
		struct memfd_attrs a = { .seals = e->has_seals ? e->seals : F_SEAL_SEAL,
					 .mode = e->has_mode ? e->mode : 0777,
					 .uid = e->has_uid ? e->uid : geteuid(), .gid = e->has_gid ? e->gid : getegid() };

		err = memfd_attrs_apply(fd, e->name ? e->name : "", &a);
	}
	return err;
}

int shmem_restore_prepare(int dfd, int pages_fd, struct shmem_table **ret)
{
	_cleanup_img_ struct img *img = NULL;
	_cleanup_free_ char *buf = NULL;
	struct shmem_table *t = xzalloc(sizeof(*t));
	struct shmem_src src = { .fd = pages_fd };
	int err;

	if (!t)
		return -ENOMEM;
	src.buf = buf = xmalloc(RUN_MAX_BYTES);
	err = buf ? img_raw_data_end(pages_fd, "pages-1.img", &src.end) : -ENOMEM;
	if (!err)
		err = img_open(dfd, IMG_SHMEM, 0, O_RDONLY, &img);
	while (!err) {
		ShmemEntry *e;

		err = pb_read_one(img, (void **)&e, PB_SHMEM);
		if (err <= 0)
			break;
		err = restore_object(t, &src, e);
		pb_free(e, PB_SHMEM);
	}
	if (err) {
		shmem_table_free(t, false);
		return err;
	}
	*ret = t;
	return 0;
}

/* A segment of the tree's ipc namespace: cr is in the new one, ipcns_restore() made it. */
static int sysv_in_ns_check(int shmid)
{
	struct shmid_ds ds;

	if (!ipcns_entered())
		return pr_errno(-EBADMSG, "shmem.img: SysV segment %d is of the tree's ipc namespace, which is "
				"not restored (ns.img)", shmid);
	if (shmctl(shmid, IPC_STAT, &ds))
		return pr_errno(-EBADMSG, "shmem.img: SysV segment %d of the tree's ipc namespace is not in "
				"ipcns.img", shmid);
	return shmid;
}

int shmem_sysv_id(const struct shmem_table *t, uint64_t id)
{
	for (unsigned i = 0; t && i < t->nr; i++)
		if (t->objs[i].id == id && t->objs[i].sysv_id >= 0)
			return t->objs[i].in_ns ? sysv_in_ns_check(t->objs[i].sysv_id) : t->objs[i].sysv_id;
	return pr_errno(-EBADMSG, "mm image: a mapping refers to SysV segment object %lu, which shmem.img lacks",
			(unsigned long)id);
}

bool shmem_sysv_in_ns(const struct shmem_table *t, int shmid)
{
	for (unsigned i = 0; t && i < t->nr; i++)
		if (t->objs[i].in_ns && t->objs[i].sysv_id == shmid)
			return true;
	return false;
}

int shmem_restore_finish(struct shmem_table *t)
{
	for (unsigned i = 0; i < t->nr; i++)
		if (t->objs[i].sysv_id >= 0 && t->objs[i].removed) {
			if (shmctl(t->objs[i].sysv_id, IPC_RMID, NULL))
				return pr_errno(-errno, "SysV segment %d: IPC_RMID", t->objs[i].sysv_id);
			t->objs[i].gone = true;
		}
	return 0;
}

int shmem_fd(const struct shmem_table *t, uint64_t id)
{
	for (unsigned i = 0; t && i < t->nr; i++)
		if (t->objs[i].id == id && t->objs[i].fd >= 0)
			return t->objs[i].fd;
	return pr_errno(-EBADMSG, "mm image: a mapping refers to shared memory object %lu, which shmem.img lacks",
			(unsigned long)id);
}

int shmem_memfd_by_ino(const struct shmem_table *t, uint64_t ino)
{
	for (unsigned i = 0; t && ino && i < t->nr; i++)
		if (t->objs[i].ino == ino && t->objs[i].fd >= 0)
			return t->objs[i].fd;
	return -ENOENT;
}

void shmem_table_free(struct shmem_table *t, bool restored)
{
	if (!t)
		return;
	for (unsigned i = 0; i < t->nr; i++) {
		if (t->objs[i].fd >= 0)
			close(t->objs[i].fd);
		/* A failed restore leaves no segment behind (one it reused stays, as it was). */
		if (t->objs[i].sysv_id >= 0 && !t->objs[i].gone && !t->objs[i].in_ns && !t->objs[i].adopted &&
		    !restored)
			shmctl(t->objs[i].sysv_id, IPC_RMID, NULL);
	}
	free(t->objs);
	free(t);
}
