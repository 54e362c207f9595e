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

/*
 * Restore: where the tree's paths are. A tree with a mount namespace of
 * its own names its files from that namespace's root, which cr reaches
 * through the holder's /proc/PID/root (namespaces.c sets it; NULL: cr's
 * own root). rst_path() gives @path as cr opens it: @path itself, or the
 * prefixed one in @buf (RST_PATH_MAX bytes); NULL if that does not fit
 * (logged, errno ENAMETOOLONG).
 */
#include <limits.h>
#define RST_PATH_MAX	(PATH_MAX + 32)
void rst_root_set(const char *prefix);
const char *rst_path(const char *path, char *buf);
/* open(2) of rst_path(@path): the fd, or -1 with errno set. */
int rst_open(const char *path, int flags, ...);
/* stat(2) of rst_path(@path): 0, or -1 with errno set. */
int rst_stat(const char *path, struct stat *st);
/*
 * Files another mount hides at their path are reached through their own
 * mount: the holder keeps open every mount's root and every directory a
 * mount covers, and cr goes through /proc/HOLDER/fd/N (a walk from there
 * crosses no mount on N itself). An entry: the holder's @fd of the path
 * @prefix ("" its root) inside dumped mount @mnt_id. rst_mounts_set(0,
 * NULL, 0) forgets them (the strings are not copied: they must live as
 * long). rst_mnt_path() is rst_path() for @rel inside mount @mnt_id, from
 * the entry of the longest prefix: NULL with errno ENOENT when no such
 * mount was made (or ENAMETOOLONG), logged.
 */
#include <stdint.h>
struct rst_mount {
	uint32_t mnt_id;
	const char *prefix;
	int fd;
};
int rst_mounts_set(pid_t holder, const struct rst_mount *e, unsigned nr);
const char *rst_mnt_path(uint32_t mnt_id, const char *rel, char *buf);
/* The holder of the tree's new mount namespace, 0 if none (its fds: pidfd_getfd()). */
pid_t rst_holder(void);

/* "a FIFO", "a directory", ... for messages about a file of mode @mode. */
const char *file_kind_name(mode_t mode);

#endif
