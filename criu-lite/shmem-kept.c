/*
 * SysV segments that outlive the dumped tree: a segment nobody removed
 * (IPC_RMID) stays when the dump kills its users (postgres keeps one),
 * and its key makes the restore fail ("key ... is in use"). The dump
 * removes it once the tree is dead, if
 *   - every attachment at dump time was a mapping of the tree
 *     (shm_nattch was the number of the tree's mappings of it),
 *   - nothing attached or changed it since (shm_atime, shm_ctime are
 *     those of the dump, nothing is attached), and
 *   - its bytes are those of the images (the same runs, checksums).
 * The restore then makes it again with its key, id, owner and bytes.
 * A segment of the tree's own ipc namespace goes with the namespace;
 * one another process attached stays for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "cr.h"
#include "image.h"
#include "log.h"
#include "mem.h"
#include "shmem.h"
#include "shmem-priv.h"

int shmem_kept_note(struct shmem_dump *sd, const ShmemEntry *e)
{
	struct shmem_kept *n, *k;
	struct shmid_ds ds;

	if (shmctl(e->shmid, IPC_STAT, &ds)) {
		pr_info("SysV segment %d: IPC_STAT: %s; left alone after the dump", e->shmid, strerror(errno));
		return -ENOENT;
	}
	n = xrealloc(sd->kept, sizeof(*n) * (sd->nr_kept + 1));
	if (!n)
		return -ENOMEM;
	sd->kept = n;
	k = &n[sd->nr_kept];
	*k = (struct shmem_kept){ .shmid = e->shmid, .key = e->key, .size = e->size,
				  .huge = e->has_hugetlb_size,
				  .page = e->has_hugetlb_size ? e->hugetlb_size : PAGE_SIZE,
				  .atime = ds.shm_atime, .ctime = ds.shm_ctime, .nattch = ds.shm_nattch };
	if (e->n_runs) {
		k->runs = xmalloc(sizeof(*k->runs) * e->n_runs);
		k->rp = xmalloc(sizeof(*k->rp) * e->n_runs);
		if (!k->runs || !k->rp)
			return -ENOMEM;
		for (size_t i = 0; i < e->n_runs; i++) {
			k->runs[i] = *e->runs[i];
			k->rp[i] = &k->runs[i];
		}
		k->n_runs = e->n_runs;
	}
	return sd->nr_kept++;
}

void shmem_kept_free(struct shmem_dump *sd)
{
	for (unsigned i = 0; i < sd->nr_kept; i++) {
		free(sd->kept[i].runs);
		free(sd->kept[i].rp);
	}
	free(sd->kept);
	sd->kept = NULL;
	sd->nr_kept = 0;
}

static bool only_the_tree(const struct shmem_kept *k)
{
	return k->nattch == k->maps;
}

bool shmem_dump_kept_removable(const struct shmem_dump *sd)
{
	bool any = false;

	for (unsigned i = 0; i < sd->nr_kept; i++) {
		const struct shmem_kept *k = &sd->kept[i];

		if (only_the_tree(k))
			any = true;
		else
			pr_info("SysV segment %d (key 0x%x): attached outside the tree at dump, left", k->shmid,
				k->key);
	}
	return any;
}

struct run_cmp {
	const ShmemRun *const *runs;
	size_t n, next;
};

/* -ESTALE (not logged) where the object's runs are not the images'. */
static int cmp_run(void *arg, uint64_t off, uint64_t len, const char *buf)
{
	struct run_cmp *c = arg;
	const ShmemRun *r = c->next < c->n ? c->runs[c->next] : NULL;

	if (!r || r->off != off || (uint64_t)r->nr_pages * PAGE_SIZE != len || r->crc != crc32c(0, buf, len))
		return -ESTALE;
	c->next++;
	return 0;
}

int shmem_runs_match(int fd, uint64_t size, bool huge, const ShmemRun *const *runs, size_t n, char *buf)
{
	struct run_cmp c = { .runs = runs, .n = n };
	int err = shmem_scan(fd, size, huge, buf, cmp_run, &c);

	if (err == -ESTALE)
		return 0;
	return err ? err : c.next == n;
}

/* Whether segment @k is as the dump left it: @ds its state now, unattached, of the same key and size. */
static bool unchanged(const struct shmem_kept *k, const struct shmid_ds *ds, int64_t atime)
{
	return ds->shm_perm.__key == k->key && ds->shm_segsz == k->size && !ds->shm_nattch &&
	       !(ds->shm_perm.mode & SHM_DEST) && ds->shm_atime == atime && ds->shm_ctime == k->ctime;
}

/* 0 and removed, 1 left (said why), or -errno (logged). */
static int remove_one(const struct shmem_kept *k, char *buf)
{
	struct shmid_ds ds;
	int64_t atime;
	int fd, err;

	if (shmctl(k->shmid, IPC_STAT, &ds) || !unchanged(k, &ds, k->atime)) {
		pr_info("SysV segment %d (key 0x%x): used since the dump, left", k->shmid, k->key);
		return 1;
	}
	/* cr's own attachment sets shm_atime: nothing else may attach after it. */
	fd = shmem_sysv_open(k->shmid, k->page, O_RDONLY);
	if (fd < 0)
		return fd;
	err = shmctl(k->shmid, IPC_STAT, &ds) ? -errno : 0;
	atime = ds.shm_atime;
	if (!err)
		err = shmem_runs_match(fd, k->size, k->huge, (const ShmemRun *const *)k->rp, k->n_runs, buf);
	close(fd);
	if (err < 0)
		return pr_errno(err, "SysV segment %d: reading it back", k->shmid);
	if (!err) {
		pr_info("SysV segment %d (key 0x%x): its bytes are not the images' any more, left", k->shmid, k->key);
		return 1;
	}
	if (shmctl(k->shmid, IPC_STAT, &ds) || !unchanged(k, &ds, atime)) {
		pr_info("SysV segment %d (key 0x%x): used since the dump, left", k->shmid, k->key);
		return 1;
	}
	err = cr_fail_point("shm-remove");
	if (err)
		return err;
	if (shmctl(k->shmid, IPC_RMID, NULL))
		return pr_errno(-errno, "SysV segment %d: IPC_RMID", k->shmid);
	pr_info("SysV segment %d (key 0x%x): removed, its only users were the dumped tree; restore makes it again",
		k->shmid, k->key);
	return 0;
}

void shmem_dump_remove_kept(struct shmem_dump *sd)
{
	_cleanup_free_ char *buf = xmalloc(SHMEM_RUN_MAX);

	if (!buf)
		return;
	for (unsigned i = 0; i < sd->nr_kept; i++) {
		const struct shmem_kept *k = &sd->kept[i];

		if (only_the_tree(k) && remove_one(k, buf) < 0)
			pr_warn("SysV segment %d (key 0x%x) outlives the dumped tree: a restore here needs it removed "
				"(ipcrm -m %d)", k->shmid, k->key, k->shmid);
	}
}

/* ---- restore ---------------------------------------------------------------- */

/* Whether segment @ds could be the one of @e: unattached, its size, mode and owner. */
static bool may_be(const ShmemEntry *e, const struct shmid_ds *ds)
{
	return !ds->shm_nattch && !(ds->shm_perm.mode & SHM_DEST) && ds->shm_segsz == e->size &&
	       (ds->shm_perm.mode & 0777) == (e->mode & 0777) && ds->shm_perm.uid == e->uid &&
	       ds->shm_perm.gid == e->gid;
}

int shmem_sysv_adopt(const ShmemEntry *e, char *buf)
{
	bool huge = e->has_hugetlb_size;
	struct shmid_ds ds;
	int id, fd, ret;

	if (e->removed || e->key == IPC_PRIVATE)
		return -ENOENT;
	id = shmget(e->key, 0, 0);
	if (id < 0)
		return -ENOENT;
	if (shmctl(id, IPC_STAT, &ds) || !may_be(e, &ds)) {
		pr_info("SysV segment %d (key 0x%x): attached, or of another size, mode or owner than the image's",
			id, e->key);
		return -ENOENT;
	}
	fd = shmem_sysv_open(id, huge ? e->hugetlb_size : PAGE_SIZE, O_RDONLY);
	if (fd < 0)
		return fd;
	ret = shmem_runs_match(fd, e->size, huge, (const ShmemRun *const *)e->runs, e->n_runs, buf);
	close(fd);
	if (ret < 0)
		return pr_errno(ret, "SysV segment %d: reading it", id);
	if (!ret) {
		pr_info("SysV segment %d (key 0x%x): its bytes are not the image's", id, e->key);
		return -ENOENT;
	}
	if (id != e->shmid)
		pr_warn("SysV segment %d comes back as %d: that id is taken", e->shmid, id);
	pr_info("SysV segment %d (key 0x%x): unattached and holding what the images hold (left by the dumped tree): "
		"reused", id, e->key);
	return id;
}
