#ifndef CR_FILES_GHOST_H
#define CR_FILES_GHOST_H

/*
 * Ghost files: files cr creates at restore because they were deleted
 * while open (a regular file, a directory, a FIFO, a device node, a
 * symbolic link), and the attributes of every file cr creates: owner,
 * mode and times as dumped (file_attrs in fattr.proto). Files that exist
 * are reopened and never given attributes.
 */
#include <stdbool.h>
#include <sys/stat.h>

#include "fattr.pb-c.h"

/* " (deleted)" at the end of a /proc/PID/fd link (or cwd, root). */
#define DELETED_SUFFIX	" (deleted)"

/* Device numbers as images keep them (32 bits): the kernel's "new" dev_t encoding. */
#include <stdint.h>
#include <sys/types.h>
uint32_t file_rdev_encode(dev_t dev);
dev_t file_rdev_decode(uint32_t v);

/* Whether @link ends with DELETED_SUFFIX; */
bool ghost_has_deleted_suffix(const char *link);
/* and whether @link ends with DELETED_SUFFIX and @st says the file has no name left. */
bool ghost_is_deleted(const char *link, const struct stat *st);

/*
 * Dump: the attributes of @st into a new *ret (freed with
 * ghost_attrs_free()); a symbolic link's target is read through @fd
 * (an O_PATH fd of the link itself). Returns 0 or -errno (logged, @what
 * naming the file).
 */
int ghost_attrs_dump(const struct stat *st, int fd, const char *what, FileAttrs **ret);
void ghost_attrs_free(FileAttrs *a);

/*
 * Dump: whether the directory of @path, as task @pid sees it, is still
 * there (a deleted file is made again in it): 0, -ENOENT or -ENOTDIR.
 */
int ghost_dir_left(pid_t pid, const char *path);

/* Restore: whether the record can be made (a known type, a link with its target). 0 or -EBADMSG, logged. */
int ghost_attrs_check(const FileAttrs *a, const char *what);

/* Gives the regular file @fd (cr made and filled it) the owner, mode and times of @a. */
int ghost_attrs_apply_fd(int fd, const FileAttrs *a, const char *what);

/*
 * Gives the file at @path (as cr reaches it, rst_path() done) the owner,
 * mode and times of @a, without following a symbolic link there.
 */
int ghost_attrs_apply_path(const char *path, const FileAttrs *a, const char *what);

/*
 * Makes a file that is not a regular one (directory, FIFO, device node,
 * symbolic link) as @a says at @path (the tree's path; a temporary name
 * next to it if that is taken, with a warning), gives it @a's
 * attributes, opens it with @oflags (O_CLOEXEC added) and
 * removes the name again. Returns the fd or -errno (logged; nothing
 * left behind).
 */
int ghost_node_open(const char *path, const FileAttrs *a, int oflags, const char *what);

/*
 * A task's cwd or root (@name "cwd", "root"): its path into *ret_path and,
 * deleted, its attributes into *ret_attrs (else NULL). 0 or -errno, logged.
 */
int ghost_task_dir_dump(pid_t pid, const char *name, char **ret_path, FileAttrs **ret_attrs);
/*
 * Restore, in cr before the first fork: a task's deleted cwd and root,
 * made again (removed, empty; once per path), their fds at or above
 * @keep_from. ghost_task_dirs_close() closes cr's copies once the tree
 * is forked. 0 or -errno, logged naming @pid.
 */
#include "core.pb-c.h"
int ghost_task_dirs_make(pid_t pid, const CoreEntry *c, int keep_from);
void ghost_task_dirs_close(void);
/*
 * In the task: chdir() to @cwd or, @deleted, to the directory made for
 * it. chroot() likewise (after chdir: the cwd stays where it is).
 */
int ghost_task_chdir(pid_t pid, const char *cwd, const FileAttrs *deleted);
int ghost_task_chroot(pid_t pid, const char *root, const FileAttrs *deleted);

#endif
