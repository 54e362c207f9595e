#ifndef CR_FILES_H
#define CR_FILES_H

#include <sys/types.h>

struct img;

/*
 * Dump side: walks /proc/PID/fd, and for every fd writes one file_entry
 * (to @files_img, ids unique across the dump; the same open file
 * description seen twice may share one id later, issue 4) and one
 * fdinfo_entry (to @fdinfo_img). Unsupported kinds (pipes, sockets,
 * anon inodes, ttys, other devices) fail with -ENOTSUP and a message
 * naming the PID, fd number, kind and link target. Returns 0 or -errno.
 */
int files_dump(pid_t pid, struct img *files_img, struct img *fdinfo_img);

/* Restarts file ids at 1, for a new dump in the same process (tests). */
void files_dump_reset_ids(void);

/*
 * Restore side, in two steps so everything that can fail before a
 * process exists fails there:
 *
 * files_prepare() reads files.img and fdinfo-PID.img from @dfd and checks
 * that every path exists with the dumped kind (and, for regular files,
 * the same size: a changed size is an error naming the file). Nothing is
 * created or truncated. Returns 0 and a plan in *ret, or -errno.
 *
 * files_restore() runs inside the new process: it opens every file with
 * its flags, seeks to the position, and places it at its fd number with
 * FD_CLOEXEC as dumped. Fds numbered >= @keep_from belong to cr and are
 * never touched; fds below it that the plan does not name are closed at
 * the end, so nothing of cr's leaks into the task. The caller guarantees
 * keep_from > files_max_fd() (else -EINVAL). Returns 0 or -errno (logged
 * with the fd and path).
 */
struct files_plan;
int files_prepare(int dfd, pid_t pid, struct files_plan **ret);
int files_max_fd(const struct files_plan *plan);	/* -1 if none */
int files_restore(const struct files_plan *plan, int keep_from);
void files_plan_free(struct files_plan *plan);

#endif
