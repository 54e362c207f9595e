#ifndef CR_OPEN_FILE_H
#define CR_OPEN_FILE_H

#include <sys/stat.h>

/*
 * How cr opens its own files (images and the log), in a directory that
 * someone else may write to as well:
 *
 * open_regular() opens @name (relative to @dfd) for reading: never through
 * a symbolic link in the last component, never blocking on a FIFO or a
 * device (O_NONBLOCK until the fd is checked, then cleared), and only a
 * regular file. Returns the fd and fills *ret_st, or -errno after logging
 * "<name>: <reason>": -ENOENT "missing", -EINVAL "is a FIFO, not a regular
 * file" (likewise a directory, a symbolic link, ...), others "cannot open".
 *
 * open_own_file() opens @name for writing (O_WRONLY | @flags, O_APPEND
 * say): creates it (0600) when missing, and reuses an existing file only
 * if it is cr's own: a regular file owned by cr's effective uid with no
 * other hard link. Only then is it truncated. Anything else is refused
 * untouched: -EINVAL not a regular file, -EPERM "is owned by uid N" or
 * "has N links". Returns the fd or -errno after logging.
 */
int open_regular(int dfd, const char *name, struct stat *ret_st);
int open_own_file(int dfd, const char *name, int flags);

/*
 * Logs to @path from now on: opened as open_own_file() does (created
 * 0600, or cr's own file truncated; anything else refused untouched).
 * Returns 0 or -errno (logged, to stderr: the log is not open).
 */
int log_open_file(const char *path);

/*
 * A stream over a copy of the directory fd @dfd (fdopendir() takes the fd
 * it is given), from the start: the copy shares the position an earlier
 * stream left. Returns 0 or -errno (logged, naming @dir).
 */
#include <dirent.h>
int open_dir_stream(int dfd, const char *dir, DIR **ret);

/* "a FIFO", "a directory", ... for messages about a file of mode @mode. */
const char *file_kind_name(mode_t mode);

#endif
