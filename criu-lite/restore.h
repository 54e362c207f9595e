#ifndef CR_RESTORE_H
#define CR_RESTORE_H

/* Shared by the parts of cr restore: the per-task state cr builds. */

#include <stdint.h>
#include <sys/types.h>

#include "compiler.h"
#include "core.pb-c.h"
#include "mem.h"
#include "mm.pb-c.h"
#include "region.h"

struct cow_task;
struct files_plan;
struct proc_maps;
struct restorer_args;

struct rst_task {
	pid_t pid;
	CoreEntry *core;
	MmEntry *mm;
	struct mem_plan mem;
	struct files_plan *files;
	int exe_fd;
	struct region rg;
	struct restorer_args *args;	/* in rg */
	unsigned nr_seized;		/* its first threads cr holds for the go */
	struct cow_task *cow;		/* its memory premapped for its children (mem-cow.h), or NULL */
	bool lazy;			/* --lazy-pages: lazy_vma()s are registered, not filled (lazy.h) */
};

/*
 * Maps @t's restorer region (blob, arguments, stack) at an address free
 * in cr's layout, which holds every region made so far, and in the
 * task's dumped one, and fills the arguments. cr's fds the restorer
 * uses are moved to @keep_from and above.
 */
int region_build(struct rst_task *t, int keep_from);
void region_free(struct rst_task *t);
/*
 * An address range of @size bytes (above 256 MiB) free in @self and in
 * each dumped layout of @mms (NULL entries skipped): 0, or -ENOMEM
 * (not logged) when there is none.
 */
int region_find_free(const MmEntry *const *mms, unsigned nr_mms, const struct proc_maps *self, size_t size,
		     uint64_t *ret);
/*
 * Once files_open_all() made the tree's files: the mappings of deleted
 * files get their recreated file (a description of their own, at
 * @keep_from or above).
 */
struct files_rst;
int region_bind_files(struct rst_task *t, struct files_rst *rf, int keep_from);

/*
 * Ends the calling process the way @exit_code (a wait status) says: exit
 * code or signal (no core file), so its parent's wait() says the same.
 */
__noreturn void become_zombie(int exit_code);

/* Moves @fd to a number >= @from, where the task's own fds cannot be. */
int move_fd_high(int *fd, int from);

#endif
