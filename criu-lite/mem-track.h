#ifndef CR_MEM_TRACK_H
#define CR_MEM_TRACK_H

/*
 * Pre-copy: which pages a task wrote since the last round (mem-track.c),
 * and who keeps the tracking alive between two cr runs (mem-tracker.c).
 *
 * The method is userfaultfd write-protect in async mode: a uffd made in
 * the task (a remote syscall), every private VMA registered
 * UFFDIO_REGISTER_MODE_WP, and PAGEMAP_SCAN on /proc/PID/pagemap finds the
 * pages written since (PAGE_IS_WRITTEN) and write-protects them again in
 * the same call (PM_SCAN_WP_MATCHING). A write to a protected page costs
 * the task one minor fault, resolved by the kernel alone; no thread of
 * cr's reads the uffd. The registration lasts as long as the uffd is
 * open: between rounds a small tracker process of cr's holds it.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "image.h"
#include "mm.pb-c.h"

enum mem_track_method {
	MEM_TRACK_NONE,		/* no way to track: every round copies everything */
	MEM_TRACK_UFFD_WP,	/* userfaultfd WP_ASYNC + PAGEMAP_SCAN */
};
/* Probed once (on cr itself). */
enum mem_track_method mem_track_method(void);
const char *mem_track_method_name(enum mem_track_method m);
/* Whether this kernel has soft-dirty bits (CONFIG_MEM_SOFT_DIRTY), for cr check. */
bool mem_track_soft_dirty(void);

/*
 * One task during a round. mem_track_task_begin(), in the frozen task
 * that @ctl infects (before its blob runs: remote syscalls): with @uffd
 * (the tracker's, taken over; -1: none) the VMAs registered with it since
 * the last round are the tracked ones, their pages not written since are
 * unchanged; then every private VMA not registered yet is registered,
 * and every page write-protected again. Without @uffd a new one is made
 * in the task (and closed there: cr holds the only reference) and
 * nothing counts as unchanged. @trust_parent false: nothing counts as
 * unchanged either (the parent is not the image of the last round).
 * A VMA that cannot be registered is copied whole in every round.
 */
struct parasite_ctl;
struct mem_track_task;
int mem_track_task_begin(struct parasite_ctl *ctl, pid_t pid, const MmEntry *mm, int uffd, bool trust_parent,
			 struct mem_track_task **ret);
/*
 * The page at @addr holds what it held at the last round (the parent
 * image has it). Calls come in ascending address order.
 */
bool mem_track_unchanged(struct mem_track_task *tt, uint64_t addr);
/* The task's uffd, which the caller owns from now on. */
int mem_track_task_take_uffd(struct mem_track_task *tt);
/* Counters for the log: pages found written, pages tracked. */
void mem_track_task_stats(const struct mem_track_task *tt, uint64_t *ret_written, uint64_t *ret_tracked);
void mem_track_task_free(struct mem_track_task *tt);

/*
 * The uffds of a tree between the tasks of a round and to the tracker
 * (mem-tracker.c). mem_tracker_take(): connects to the tracker the round
 * that wrote @parent_dfd left (its socket there), checks that it tracked
 * for that image (@parent_dump_id) and takes its uffds over (it exits).
 * No tracker, or one of another image: an empty set, with a warning (the
 * round copies everything). mem_track_set_fd(): the uffd of @pid (-1:
 * none), which the caller then owns. mem_track_set_add(): keeps @fd (taken
 * over) for @pid. mem_tracker_leave(): forks the tracker, which holds the
 * set's uffds for the next round, listening in @dfd (the image of this
 * round, @dump_id). mem_track_set_free(): closes what is left: those
 * tasks are untracked from then on.
 */
struct mem_track_set;
int mem_tracker_take(int parent_dfd, const uint8_t *parent_dump_id, struct mem_track_set **ret);
struct mem_track_set *mem_track_set_new(void);
bool mem_track_set_trusted(const struct mem_track_set *s);
int mem_track_set_fd(struct mem_track_set *s, pid_t pid);
int mem_track_set_add(struct mem_track_set *s, pid_t pid, int fd);
int mem_tracker_leave(struct mem_track_set *s, int dfd, const uint8_t *dump_id);
void mem_track_set_free(struct mem_track_set *s);

/* The socket of the tracker in the image directory of the round that left it. */
#define MEM_TRACKER_SOCK	"mem-track.sock"

#endif
