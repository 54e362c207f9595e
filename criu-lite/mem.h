#ifndef CR_MEM_H
#define CR_MEM_H

#include <stdint.h>
#include <sys/types.h>

#include "mm.pb-c.h"

struct img;
struct parasite_ctl;
struct proc_maps;

/* Dump: fills mm->vmas from @maps, checking that every kind is supported. */
int mem_collect_vmas(pid_t pid, const struct proc_maps *maps, MmEntry *mm);
void mem_free_vmas(MmEntry *mm);

/*
 * Dump: finds the pages worth saving with /proc/PID/pagemap, has the
 * parasite vmsplice them into a pipe and splices that into @pages (no
 * copy through cr), writing a pagemap head and one entry per run (with
 * the parasite's CRC32C) to @pagemap. *ret_bytes: page bytes written.
 */
int mem_dump_pages(struct parasite_ctl *ctl, pid_t pid, const MmEntry *mm,
		   struct img *pagemap, struct img *pages, uint64_t *ret_bytes);

/* Restore: what the restorer needs to fill a task's memory. */
struct mem_run {
	uint64_t vaddr;
	uint64_t len;
};

struct mem_plan {
	struct mem_run *runs;		/* in page-image order */
	unsigned nr_runs;
	uint64_t pages_off;		/* file offset of the first run */
	uint32_t pages_id;
	int *vma_fds;			/* per VMA: opened file or -1 */
	unsigned nr_vma_fds;
};

/*
 * Restore: reads pagemap-PID.img, checks each run's CRC32C against the
 * page image @pages_fd (mapped read-only, so nothing is copied), checks
 * that the runs fall in dumped VMAs of a dumpable kind, and opens the
 * files of file-backed VMAs (checking they still have the dumped size).
 */
int mem_prepare(int dfd, pid_t pid, const MmEntry *mm, int pages_fd, struct mem_plan *ret);
void mem_plan_free(struct mem_plan *plan);

#endif
