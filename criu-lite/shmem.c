/*
 * Shared memory objects, dump and restore side: MAP_SHARED anonymous
 * memory and memfds, dumped once from the object itself and recreated
 * once by cr, so the tasks that shared them share them again.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "image.h"
#include "log.h"
#include "shmem.h"
#include "shmem.pb-c.h"

#define RUN_MAX_BYTES	(2UL << 20)	/* one checksum per 2 MiB at most */

struct shmem_seen {
	dev_t dev;
	ino_t ino;
	uint64_t id;
};

static bool is_shmem_vma(const VmaEntry *e)
{
	return e->kind == VMA_KIND__VMA_ANON_SHARED || e->kind == VMA_KIND__VMA_MEMFD_SHARED;
}

/* Copies one run of the object into the page image, with its checksum. */
static int dump_run(int obj_fd, int pages_fd, uint64_t off, uint64_t len, char *buf, uint32_t *ret_crc)
{
	ssize_t n = pread(obj_fd, buf, len, off);

	if (n != (ssize_t)len)
		return pr_errno(n < 0 ? -errno : -EIO, "reading shared memory at offset %lu", (unsigned long)off);
	*ret_crc = crc32c(0, buf, len);
	if (write(pages_fd, buf, len) != (ssize_t)len)
		return pr_errno(-errno, "writing shared memory pages");
	return 0;
}

/* The object's allocated pages (SEEK_DATA/SEEK_HOLE skip what was never touched). */
static int dump_object(int obj_fd, const struct stat *st, ShmemEntry *e, struct img *pages,
		       uint64_t *ret_bytes)
{
	_cleanup_free_ char *buf = xmalloc(RUN_MAX_BYTES);
	ShmemRun *runs = NULL;
	size_t cap = 0;
	off_t pos = 0;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	e->page_off = lseek(pages->fd, 0, SEEK_CUR);
	while (!err && pos < st->st_size) {
		off_t data = lseek(obj_fd, pos, SEEK_DATA), hole;

		if (data < 0) {
			if (errno != ENXIO)
				err = pr_errno(-errno, "shared memory: SEEK_DATA");
			break;
		}
		hole = lseek(obj_fd, data, SEEK_HOLE);
		if (hole < 0)
			hole = st->st_size;
		hole = ALIGN_UP((uint64_t)hole, PAGE_SIZE);
		for (pos = data & ~(off_t)(PAGE_SIZE - 1); !err && pos < hole;) {
			uint64_t len = min((uint64_t)(hole - pos), RUN_MAX_BYTES);

			if (e->n_runs == cap) {
				ShmemRun *n = xrealloc(runs, sizeof(*n) * (cap = cap ? cap * 2 : 16));

				if (!n) {
					err = -ENOMEM;
					break;
				}
				runs = n;
			}
			shmem_run__init(&runs[e->n_runs]);
			runs[e->n_runs].off = pos;
			runs[e->n_runs].nr_pages = len / PAGE_SIZE;
			err = dump_run(obj_fd, pages->fd, pos, len, buf, &runs[e->n_runs].crc);
			e->n_runs++;
			pos += len;
			*ret_bytes += len;
		}
	}
	if (!err) {
		e->runs = xmalloc(sizeof(*e->runs) * (e->n_runs ? e->n_runs : 1));
		if (!e->runs)
			err = -ENOMEM;
		for (size_t i = 0; !err && i < e->n_runs; i++)
			e->runs[i] = &runs[i];
	}
	if (err)
		free(runs);
	return err;
}

static int dump_new_object(struct shmem_dump *sd, pid_t pid, const VmaEntry *v, int fd,
			   const struct stat *st, struct img *shmem_img, struct img *pages)
{
	ShmemEntry e = SHMEM_ENTRY__INIT;
	struct shmem_seen *n;
	int err;

	n = xrealloc(sd->objs, sizeof(*n) * (sd->nr + 1));
	if (!n)
		return -ENOMEM;
	sd->objs = n;
	n[sd->nr] = (struct shmem_seen){ st->st_dev, st->st_ino, sd->nr + 1 };
	e.id = sd->nr + 1;
	e.kind = v->kind == VMA_KIND__VMA_MEMFD_SHARED ? SHMEM_KIND__SHMEM_MEMFD : SHMEM_KIND__SHMEM_ANON;
	e.size = st->st_size;
	e.name = v->kind == VMA_KIND__VMA_MEMFD_SHARED ? v->path + strlen("/memfd:") : NULL;
	err = dump_object(fd, st, &e, pages, &sd->bytes);
	if (!err)
		err = pb_write_one(shmem_img, &e, PB_SHMEM);
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
		    struct img *pages)
{
	for (size_t i = 0; i < mm->n_vmas; i++) {
		VmaEntry *v = mm->vmas[i];
		_cleanup_close_ int fd = -EBADF;
		struct stat st;
		char path[96];
		unsigned k;
		int err;

		if (!is_shmem_vma(v))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", pid, (unsigned long)v->start,
			 (unsigned long)v->end);
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
}

/* ---- restore ---------------------------------------------------------------- */

struct shmem_obj {
	uint64_t id;
	int fd;
};

struct shmem_table {
	struct shmem_obj *objs;
	unsigned nr;
};

/*
 * Anonymous shared memory comes from an anonymous MAP_SHARED mapping of
 * cr's own, opened through map_files: mapped again, it is the same kind
 * of object ("/dev/zero (deleted)") the task had.
 */
static int create_anon(uint64_t size)
{
	char path[96];
	void *p;
	int fd;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
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

static int create_memfd(const char *name, uint64_t size)
{
	int fd = memfd_create(name ? name : "", MFD_CLOEXEC);

	if (fd < 0)
		return pr_errno(-errno, "memfd_create(%s)", name ? name : "");
	if (ftruncate(fd, size)) {
		int err = pr_errno(-errno, "memfd %s: ftruncate to %lu", name, (unsigned long)size);

		close(fd);
		return err;
	}
	return fd;
}

/* Fills the object from the page image, checking every run. */
static int fill_object(int fd, int pages_fd, const ShmemEntry *e, char *buf)
{
	uint64_t off = e->page_off;

	for (size_t i = 0; i < e->n_runs; i++) {
		const ShmemRun *run = e->runs[i];
		uint64_t len = (uint64_t)run->nr_pages * PAGE_SIZE;
		ssize_t n;

		if (!run->nr_pages || len > RUN_MAX_BYTES || run->off + len > e->size || run->off % PAGE_SIZE)
			return pr_errno(-EBADMSG, "shmem.img: object %lu: run at %lu of %u pages is invalid",
					(unsigned long)e->id, (unsigned long)run->off, run->nr_pages);
		n = pread(pages_fd, buf, len, off);
		if (n != (ssize_t)len)
			return pr_errno(n < 0 ? -errno : -EBADMSG, "pages-1.img: truncated (shared memory run at offset %lu)",
					(unsigned long)off);
		if (crc32c(0, buf, len) != run->crc)
			return pr_errno(-EBADMSG, "pages-1.img: checksum mismatch in shared memory object %lu "
					"(%u pages at file offset %lu)", (unsigned long)e->id, run->nr_pages,
					(unsigned long)off);
		if (pwrite(fd, buf, len, run->off) != (ssize_t)len)
			return pr_errno(-errno, "filling shared memory object %lu", (unsigned long)e->id);
		off += len;
	}
	return 0;
}

static int restore_object(struct shmem_table *t, int pages_fd, const ShmemEntry *e, char *buf)
{
	struct shmem_obj *n;
	int fd, err;

	if (!e->size || e->size % PAGE_SIZE)
		return pr_errno(-EBADMSG, "shmem.img: object %lu has invalid size %lu", (unsigned long)e->id,
				(unsigned long)e->size);
	for (unsigned i = 0; i < t->nr; i++)
		if (t->objs[i].id == e->id)
			return pr_errno(-EBADMSG, "shmem.img: object %lu appears twice", (unsigned long)e->id);
	n = xrealloc(t->objs, sizeof(*n) * (t->nr + 1));
	if (!n)
		return -ENOMEM;
	t->objs = n;
	fd = e->kind == SHMEM_KIND__SHMEM_MEMFD ? create_memfd(e->name, e->size) : create_anon(e->size);
	if (fd < 0)
		return fd;
	n[t->nr++] = (struct shmem_obj){ e->id, fd };
	err = fill_object(fd, pages_fd, e, buf);
	return err;
}

int shmem_restore_prepare(int dfd, int pages_fd, struct shmem_table **ret)
{
	_cleanup_img_ struct img *img = NULL;
	_cleanup_free_ char *buf = NULL;
	struct shmem_table *t = xzalloc(sizeof(*t));
	int err;

	if (!t)
		return -ENOMEM;
	buf = xmalloc(RUN_MAX_BYTES);
	err = buf ? img_open(dfd, IMG_SHMEM, 0, O_RDONLY, &img) : -ENOMEM;
	while (!err) {
		ShmemEntry *e;

		err = pb_read_one(img, (void **)&e, PB_SHMEM);
		if (err <= 0)
			break;
		err = restore_object(t, pages_fd, e, buf);
		pb_free(e, PB_SHMEM);
	}
	if (err) {
		shmem_table_free(t);
		return err;
	}
	*ret = t;
	return 0;
}

int shmem_fd(const struct shmem_table *t, uint64_t id)
{
	for (unsigned i = 0; t && i < t->nr; i++)
		if (t->objs[i].id == id)
			return t->objs[i].fd;
	return pr_errno(-EBADMSG, "mm image: a mapping refers to shared memory object %lu, which shmem.img lacks",
			(unsigned long)id);
}

void shmem_table_free(struct shmem_table *t)
{
	if (!t)
		return;
	for (unsigned i = 0; i < t->nr; i++)
		close(t->objs[i].fd);
	free(t->objs);
	free(t);
}
