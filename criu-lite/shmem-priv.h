#ifndef CR_SHMEM_PRIV_H
#define CR_SHMEM_PRIV_H

/* Between the shared memory module's parts (shmem.c, shmem-kept.c). */
#include <stdbool.h>
#include <stdint.h>

#include "shmem.pb-c.h"

/* One run of an object: @len bytes (whole pages) at @off, in @buf. 0 or -errno. */
typedef int (*shmem_run_fn)(void *arg, uint64_t off, uint64_t len, const char *buf);

#define SHMEM_RUN_MAX	(2UL << 20)	/* bytes of a run at most: one checksum per 2 MiB */

/*
 * Every run of pages of the object open as @obj_fd (@size bytes) that
 * is not a hole, in order, through @buf (SHMEM_RUN_MAX bytes): see shmem.c.
 */
int shmem_scan(int obj_fd, uint64_t size, bool skip_zero, char *buf, shmem_run_fn fn, void *arg);

/* A SysV segment's memory as a file (@flags of open()), through an attachment of cr's, detached again. */
int shmem_sysv_open(int id, uint64_t page, int flags);

/*
 * A SysV segment of cr's ipc namespace, not removed, that the tree maps
 * (shmem-kept.c): what the dump saw of it, to remove it once the killed
 * tree is gone if nothing else used it meanwhile.
 */
struct shmem_kept {
	int shmid;
	int key;
	uint64_t size, page;
	bool huge;
	int64_t atime, ctime;		/* shm_atime, shm_ctime at dump */
	unsigned long nattch;		/* at dump: the tree's mappings, or someone else attached */
	unsigned maps;			/* the tree's mappings of it */
	ShmemRun *runs;			/* as the images hold them */
	ShmemRun **rp;			/* pointers to them, as in a ShmemEntry */
	size_t n_runs;
};

/*
 * Whether the object open as @fd (@size bytes) holds the @n runs, and
 * nothing else, that shmem_scan() would find (offsets, lengths,
 * checksums): 1, 0, or -errno of reading it (not logged).
 */
int shmem_runs_match(int fd, uint64_t size, bool huge, const ShmemRun *const *runs, size_t n, char *buf);

struct shmem_dump;
/*
 * @e (a SysV segment just dumped) becomes a candidate: its index in
 * sd->kept, or -errno (logged). A segment cr cannot IPC_STAT is no
 * candidate (-ENOENT, not logged).
 */
int shmem_kept_note(struct shmem_dump *sd, const ShmemEntry *e);
void shmem_kept_free(struct shmem_dump *sd);

/*
 * Restore: the segment with @e's key if it can stand for @e (left by
 * the dumped tree when the dump could not remove it): unattached, of
 * @e's size, mode and owner, holding byte for byte what the images
 * hold. Its id, -ENOENT if there is none such (said at info level), or
 * -errno (logged). @buf: SHMEM_RUN_MAX bytes of scratch.
 */
int shmem_sysv_adopt(const ShmemEntry *e, char *buf);

#endif
