#ifndef CR_SHMEM_H
#define CR_SHMEM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "mm.pb-c.h"

struct img;

/*
 * Memory objects that mappings share: MAP_SHARED anonymous memory,
 * memfds and SysV shared memory segments. Each is dumped once, from the object itself (the map_files
 * link opens it), however many tasks map it; restore recreates it once
 * in cr, and every mapping maps that one object again, so a write in one
 * task is seen in the others.
 */

struct shmem_seen;
struct shmem_kept;
struct shmem_dump {
	struct shmem_seen *objs;
	unsigned nr;
	uint64_t bytes;			/* page bytes written */
	uint64_t scanned;		/* bytes of the objects looked at */
	struct shmem_kept *kept;	/* SysV segments not removed (shmem-kept.c) */
	unsigned nr_kept;
};

/*
 * Dump: for each shared-object VMA of @mm, finds its object (by device
 * and inode), writing its entry to @shmem_img and its pages to @pages the
 * first time the object is seen, and sets the VMA's shmid.
 */
struct page_xfer;
int shmem_dump_task(struct shmem_dump *sd, pid_t pid, MmEntry *mm, struct img *shmem_img,
		    struct page_xfer *pages);
void shmem_dump_free(struct shmem_dump *sd);
/*
 * A SysV segment that is not removed (IPC_RMID) outlives the killed
 * tree, and its key would make the restore fail (unless the restore
 * reuses it, shmem_sysv_adopt()). Once the tree is dead,
 * shmem_dump_remove_kept() removes each segment whose only users were
 * the tree (every attachment at dump was one of its mappings, nothing
 * attached since) and that still holds byte for byte what the images
 * hold; the restore makes it again. Any other is left, said at info
 * level. shmem_dump_kept_removable() says which are left because
 * another process had them attached, and whether any is for
 * shmem_dump_remove_kept() (the caller waits for the tree's death first).
 */
bool shmem_dump_kept_removable(const struct shmem_dump *sd);
void shmem_dump_remove_kept(struct shmem_dump *sd);

/*
 * Restore: reads shmem.img, creates every object and fills it from the
 * page image, checking each run's CRC32C (a mismatch names the file and
 * offset). Runs before any process exists.
 */
struct shmem_table;
int shmem_restore_prepare(int dfd, int pages_fd, struct shmem_table **ret);
/* The object's fd (owned by the table), or -EBADMSG (logged) if unknown. */
int shmem_fd(const struct shmem_table *t, uint64_t id);
/*
 * The fd of the mapped memfd that had inode @ino at dump (an fd of the
 * tree may hold the same memfd), or -ENOENT.
 */
int shmem_memfd_by_ino(const struct shmem_table *t, uint64_t ino);
/* A SysV object's new segment id, or -EBADMSG (logged) if unknown. */
int shmem_sysv_id(const struct shmem_table *t, uint64_t id);
/*
 * Whether a mapping of the tree maps SysV segment @shmid of the tree's
 * ipc namespace (ipcns_restore() makes it; shmem.img has only its id).
 */
bool shmem_sysv_in_ns(const struct shmem_table *t, int shmid);
/*
 * Once every task attached its segments: marks the ones that were
 * removed (IPC_RMID) at dump time removed again.
 */
int shmem_restore_finish(struct shmem_table *t);
/* Unless @restored, removes every SysV segment the restore created. */
void shmem_table_free(struct shmem_table *t, bool restored);

#endif
