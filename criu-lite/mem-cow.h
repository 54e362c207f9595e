#ifndef CR_MEM_COW_H
#define CR_MEM_COW_H

/*
 * Copy-on-write sharing rebuilt at restore. A page that parent and child
 * shared at dump time (the same page frame) is stored once (mem.c's
 * dedup); at restore the parent fills its private VMAs at a premap area
 * before it forks, each child inherits them copy-on-write, writes only
 * the pages where its image differs from its parent's and drops the ones
 * it does not have, and each restorer moves its premapped VMAs into
 * place (mremap) instead of mapping and reading them.
 *
 * The premap area (the arena) is reserved in cr (PROT_NONE) before the
 * restorer regions are placed, at addresses free in cr and in every
 * dumped layout of the tree; each VMA premapped anew gets a slot of its
 * own there, at the offset modulo 2 MiB it has in its final place (huge
 * pages stay possible). A child whose VMA matches its parent's premapped
 * one (same place, kind, flags and backing) takes the parent's slot.
 */

#include <stdbool.h>
#include <stdint.h>

struct cow_plan;
struct pstree;
struct rst_task;

/*
 * In cr, once every image is read and before the regions are built:
 * plans the premaps of the tree's alive tasks (@tasks parallel to
 * @tree->tasks; each task's ->cow is set) and reserves the arena.
 * *@ret is NULL when nothing is worth premapping, or when no address
 * range is free for it (then the tree is restored without it, with a
 * warning). 0 or -errno.
 */
int cow_plan_build(const struct pstree *tree, struct rst_task *tasks, struct cow_plan **ret);
/* Unreserves the arena (in cr) and frees the plan; NULL is fine. */
void cow_plan_free(struct cow_plan *plan);

/*
 * In new task @idx, before it forks any child: the arena but the slots it
 * takes over from its parent is cleared, those get its own pages, and its
 * own slots are mapped and filled from @pages_fd. 0 or -errno (logged).
 */
int cow_premap(const struct cow_plan *plan, const struct pstree *tree, const struct rst_task *tasks, unsigned idx,
	       int pages_fd);

/*
 * For the statistics: pages of the children's inherited premaps whose
 * stored copy cr compared with the parent's (*@ret_compared), and of
 * them those it kept shared, the same copy (*@ret_kept: not read).
 */
void cow_plan_counts(const struct pstree *tree, const struct rst_task *tasks, uint64_t *ret_compared,
		     uint64_t *ret_kept);

/* The premap address of VMA @vma of @t's mm image, or 0. */
uint64_t cow_vma_slot(const struct rst_task *t, unsigned vma);
/* Whether run @run of @t's mem plan is filled by the premap. */
bool cow_run_premapped(const struct rst_task *t, unsigned run);
/*
 * The restorer's keep list (restorer_args.keep) into @t's region: the
 * region [@region_start, +@region_size) and @t's slots, in address order.
 */
int cow_fill_keep(struct rst_task *t, uint64_t region_start, uint64_t region_size);

#endif
