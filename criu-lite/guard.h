#ifndef CR_GUARD_H
#define CR_GUARD_H

/*
 * The guard: a small process forked from cr that outlives it. While cr
 * works on a tree it may leave things half done that no task can finish
 * alone (connections in TCP repair mode, a tree to kill once the images
 * are complete, restorer regions to unmap once a restored tree is live).
 * If cr dies (SIGKILL, OOM), the guard sees its channel close, undoes or
 * finishes what cr said, and exits. If cr ends normally it stops the guard,
 * which then does nothing.
 *
 * The guard is a fork: function pointers and memory as they were at
 * guard_start() are valid in it; what changes later is told by messages.
 * It ignores terminal signals and leaves cr's session, so a Ctrl-C or a
 * hangup that kills cr does not take it along. Only one thread may run
 * in cr at guard_start().
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct guard;

/*
 * In a fork of cr that outlives it (the guard, the lazy-pages daemon):
 * ignores terminal signals and SIGPIPE, leaves cr's session, takes
 * @name, and closes every fd but the @nr_keep of @keep (sorted here).
 */
void guard_detach_from_cr(const char *name, int *keep, unsigned nr_keep);

/* What a dump's guard does if cr died (the @when of guard_keep_fd()). */
enum guard_action {
	GUARD_NOTHING,
	GUARD_UNDO,		/* the tree runs on: undo what cr changed in it */
	GUARD_FINISH,		/* the images are complete: finish (kill the tree) */
};

/*
 * Called in the guard as soon as cr's channel closes, with the last stage
 * cr set: says which of the kept fds the guard acts on at once, those
 * kept with that @when (0: none). cr's tracees may still be held: it
 * must be quick (cr's tasks start running any moment) and touch no task.
 */
typedef unsigned (*guard_choose_fn)(void *arg, unsigned stage);
/*
 * Called after that, once cr is gone for good (its tracees let go): what
 * needs the tasks themselves (seizing them). May be NULL.
 */
typedef void (*guard_finish_fn)(void *arg, unsigned stage);
/* Undoes or finishes what cr did to the object behind @fd (the guard's copy of it). */
typedef void (*guard_undo_fn)(int fd, uint64_t tag);

/*
 * Forks the guard. The @nr_keep fds of @keep stay open in it at their
 * numbers for @choose and @finish; every other fd of cr is closed there.
 * Returns 0 and the handle, or -errno (logged).
 */
int guard_start(guard_choose_fn choose, guard_finish_fn finish, void *arg, const int *keep, unsigned nr_keep,
		struct guard **ret);
/* Tells the guard how far cr got; @choose and @finish get the last stage. */
int guard_stage(struct guard *g, unsigned stage);
/*
 * The guard keeps a copy of @fd, to call @fn(copy, @tag) if @choose
 * returns @when; the fds kept last are acted on first.
 */
int guard_keep_fd(struct guard *g, int fd, guard_undo_fn fn, uint64_t tag, unsigned when);
/*
 * As guard_keep_fd() for fd @fd of process @pid (a task cr holds, whose
 * fd numbers stay put), while it is the file of inode @ino: the guard
 * holds no copy, it takes one (pidfd_getfd) when it acts. So the guard
 * needs no fd per object (a tree's tens of thousands of connections).
 */
int guard_keep_task_fd(struct guard *g, pid_t pid, int fd, ino_t ino, guard_undo_fn fn, uint64_t tag,
		       unsigned when);
/*
 * As guard_keep_fd() for fd @fd of process @pid (a task cr holds, whose
 * fd numbers stay put), while it is the file of inode @ino: the guard
 * holds no copy but takes one (pidfd_getfd) when it acts, and cr sends
 * no message (shared memory). So neither needs an fd per object (a
 * tree's tens of thousands of connections).
 */
int guard_keep_task_fd(struct guard *g, pid_t pid, int fd, ino_t ino, guard_undo_fn fn, uint64_t tag,
		       unsigned when);
/*
 * In the guard, from an undo function: waits until cr has exited (its
 * children have had their parent-death signals), for an undo that must
 * come after whatever cr's own children were doing.
 */
void guard_wait_cr(void);
/* cr undid everything itself: the guard drops the fds it keeps. */
int guard_forget_fds(struct guard *g);
/* cr is done: the guard exits without acting. NULL is a no-op. Returns 0 or -errno. */
int guard_stop(struct guard *g);

#endif
