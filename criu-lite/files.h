#ifndef CR_FILES_H
#define CR_FILES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Open files of the tree (files.c and the parts files-priv.h lists; the
 * kinds are in files-kind.h).
 *
 * Dump: files_dump_begin() opens files.img and fdata.img in @dfd;
 * files_dump() walks one task's fds (call it for every task, the tree
 * frozen), writing fdinfo-PID.img into @fdinfo_img and each open file
 * description once into files.img; files_dump_finish() completes the
 * kinds that refer to other files and closes the images. An fd cr cannot
 * keep fails with -ENOTSUP and a line naming the PID, fd, kind and path.
 * All return 0 or -errno.
 */
struct img;
struct files_dump;
struct files_rst;

struct pstree;
/* @tree: the seized tree, for files under /proc/PID/ of its tasks. */
struct cr_options;
/* @o: the dump's options (NULL: none set), for the kinds (files_dump_opts()). */
int files_dump_begin(int dfd, const struct pstree *tree, const struct cr_options *o, struct files_dump **ret);
int files_dump(struct files_dump *df, pid_t pid, struct img *fdinfo_img);
/*
 * A regular file @pid maps that has no name (deleted, or its name now
 * another file's; @mf its map_files link, @path the name maps shows): the
 * id of a files.img entry that holds its content, saved once whether fds
 * or other mappings of the tree hold the file too. Restore recreates it
 * unlinked (files_rst_get()). cr keeps the file open until
 * files_dump_free() (later fds of the tree are compared with it).
 */
int files_dump_mapping(struct files_dump *df, pid_t pid, const char *mf, const char *path, bool writable,
		       uint32_t *ret_id);
int files_dump_finish(struct files_dump *df);
/*
 * Before the tree runs again, or once it is killed (@tree_killed): the
 * kinds undo what they changed in live objects. Also after a failure.
 */
void files_dump_end(bool tree_killed);
void files_dump_free(struct files_dump *df);
/*
 * The guard (guard.h) kinds hand what they change in live objects to, so
 * that it is undone if cr dies; NULL: none.
 */
struct guard;
void files_dump_set_guard(struct files_dump *df, struct guard *g);


/*
 * Restore, in this order:
 *  files_rst_read()	reads files.img and checks every entry (paths
 *			exist with the dumped kind and size); creates nothing.
 *			files_rst_load() and files_rst_check() are its halves,
 *			for a restore that makes the tree's mount namespace
 *			(open-file.h's rst_path()) in between;
 *			@shm: the shared memory objects already made (a
 *			memfd an fd holds may be mapped too);
 *			an entry named by --inherit-fd is not checked: cr's
 *			fd stands for it;
 *  files_prepare()	reads one task's fdinfo-PID.img into a plan;
 *  files_open_all()	in cr, before the first fork: creates every open
 *			file description once. Task fd numbers are below
 *			@keep_from; cr's own fds are at or above it;
 *  files_restore()	in each new task: its fds at their numbers, every
 *			other number below keep_from closed;
 *  files_restore_owners()	in cr once every task exists (F_SETOWN_EX);
 *  files_restore_finish()	in cr once the tree got the go, before any task
 *			runs its own code again (and by the guard, if cr
 *			dies then);
 *  files_close_all()	in cr after that: the tasks have their copies;
 *  files_rst_free()	@failed: undo what was created outside cr.
 */
struct files_rst;
struct files_plan;

struct shmem_table;
int files_rst_read(int dfd, const struct shmem_table *shm, const struct cr_options *o, struct files_rst **ret);
int files_rst_load(int dfd, const struct shmem_table *shm, const struct cr_options *o, struct files_rst **ret);
int files_rst_check(struct files_rst *rf);
int files_prepare(struct files_rst *rf, pid_t pid, struct files_plan **ret);
int files_max_fd(const struct files_plan *plan);	/* -1 if none */
/*
 * @by_tasks: the tasks may make entries of their own (fd_kind.open_by_owner):
 * they have cr's privileges over the net namespace (not in a user namespace
 * of the tree's own, where TCP_REPAIR and SO_RCVBUFFORCE would be refused).
 */
int files_open_all(struct files_rst *rf, int keep_from, bool by_tasks);
int files_restore(const struct files_plan *plan, struct files_rst *rf);
/* In a session leader: see fd_kind.session_new/session_joined. */
int files_session_new(struct files_rst *rf);
int files_session_joined(struct files_rst *rf);
struct pstree;
/* @tree: the restored tree, whose pids may be new (pstree_new_pid()). */
int files_restore_owners(struct files_rst *rf, const struct pstree *tree);
/*
 * In cr once every task exists: a pidfd of each task that made files
 * itself (fd_kind.open_by_owner), for files_restore_finish() to copy
 * them from (files_restore_finish_fds() lists them too).
 */
int files_restore_owner_pidfds(struct files_rst *rf, const struct pstree *tree);
int files_restore_finish(struct files_rst *rf);
/* The fds files_restore_finish() works on (at most @max into @fds; @fds NULL: counts them): the guard keeps them. */
unsigned files_restore_finish_fds(const struct files_rst *rf, int *fds, unsigned max);
/*
 * A task's fd numbers whose objects files_restore_finish() finishes: its
 * restorer waits for them after the go. Returns how many there are; at
 * most @max go to @fds.
 */
unsigned files_plan_finish_fds(const struct files_plan *plan, int *fds, unsigned max);
void files_close_all(struct files_rst *rf);
void files_plan_free(struct files_plan *plan);
/* The task's POSIX locks, for the restorer (taken once cr's fds are closed). */
struct restorer_lock;
unsigned files_posix_locks(const struct files_plan *plan, const struct restorer_lock **ret);
void files_rst_free(struct files_rst *rf, bool failed);
/*
 * After files_open_all(): cr's fd of the deleted file entry @id that a
 * mapping names (files_dump_mapping()), owned by @rf; -EBADMSG (logged)
 * if @id is no such entry.
 */
int files_rst_mapped_fd(struct files_rst *rf, uint32_t id);

#endif
