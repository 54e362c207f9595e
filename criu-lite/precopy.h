#ifndef CR_PRECOPY_H
#define CR_PRECOPY_H

/*
 * Pre-copy rounds (predump.c): the parent image of a pre-dump or dump
 * (--prev-images-dir, the symlink "parent" in -D) and the write tracking
 * from one round to the next (--track-mem, mem-track.h).
 *
 * precopy_begin(): with o->prev_images_dir, checks that it is a pre-dump
 * image, links it as "parent" and, with @track, takes over the tracker it
 * left. *ret is NULL when there is nothing to do (no parent, no tracking).
 * precopy_task_begin(): in the frozen task @ctl infects, before its blob
 * starts: the pages not written since the parent image (*ret NULL: none,
 * every page is copied). precopy_task_end(): keeps the task's uffd for
 * the next round. precopy_inventory(): the inventory's pre-copy fields.
 * precopy_end(): @keep_tracking (a pre-dump that succeeded) hands the
 * uffds to a tracker in -D; otherwise they are closed, the tree untracked.
 */

#include <stdbool.h>
#include <sys/types.h>

#include "inventory.pb-c.h"
#include "mm.pb-c.h"

struct cr_options;
struct parasite_ctl;
struct mem_track_task;
struct precopy;

int precopy_begin(const struct cr_options *o, int dfd, bool track, struct precopy **ret);
int precopy_task_begin(struct precopy *pc, struct parasite_ctl *ctl, pid_t pid, const MmEntry *mm,
		       struct mem_track_task **ret);
int precopy_task_end(struct precopy *pc, pid_t pid, struct mem_track_task *tt);
void precopy_inventory(struct precopy *pc, InventoryEntry *inv);
int precopy_end(struct precopy *pc, int dfd, bool keep_tracking);
/*
 * --auto-dedup, once the image in @dfd is complete: the parent's runs of
 * @tree's tasks that it replaced whole are punched out of the parent's
 * page image. A failure is a warning: the images are whole either way.
 */
struct pstree;
void precopy_dedup(struct precopy *pc, int dfd, const struct pstree *tree);

/* dump.c: the inventory's fields every image directory has (root @root, this cr, CPU, kernel @u). */
struct utsname;
void dump_inventory_init(InventoryEntry *inv, pid_t root, struct utsname *u);

#endif
