/*
 * The image directory: one cr at a time in it (flock), what a dump may
 * reuse and remove there, and whether a restore may trust what is in it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "image.h"
#include "image-priv.h"
#include "lazy.h"
#include "log.h"
#include "mem-track.h"
#include "stats.h"
#include "open-file.h"

static bool is_log_name(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && !strcmp(name + n - 4, ".log");
}

/*
 * runc writes its descriptors.json (the init's stdio) there before it
 * calls criu; the statistics files of an earlier dump or restore (stats.h).
 */
static bool is_runtime_file(const char *name)
{
	return !strcmp(name, "descriptors.json") || !strcmp(name, STATS_DUMP_FILE) ||
	       !strcmp(name, STATS_RESTORE_FILE) || !strcmp(name, LAZY_PIDFILE_NAME);
}

/*
 * Pre-copy's (predump.c, mem-tracker.c): the link to the parent image,
 * a tracker's socket, the rounds of dump --pre-copy.
 */
static bool precopy_entry(const char *name, const struct stat *st)
{
	unsigned k;
	char end;

	return (S_ISLNK(st->st_mode) && !strcmp(name, "parent")) ||
	       (S_ISSOCK(st->st_mode) && !strcmp(name, MEM_TRACKER_SOCK)) ||
	       (S_ISDIR(st->st_mode) && sscanf(name, "precopy-%u%c", &k, &end) == 1);
}

/*
 * Opens @dir (creating it first when @create) and takes the lock.
 * Returns 0 and *ret_dfd, or -errno (-EBUSY: another cr has it), logged.
 */
static int dir_open_locked(const char *dir, bool create, bool lock, int *ret_dfd)
{
	_cleanup_close_ int dfd = -EBADF;

	if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
		return img_errno(-errno, dir, "cannot create the image directory");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return img_errno(-errno, dir, "cannot open the image directory");
	if (lock && flock(dfd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK)
			return img_errno(-errno, dir, "cannot lock the image directory");
		pr_err("image directory %s is in use by another cr", dir);
		return -EBUSY;
	}
	*ret_dfd = TAKE_FD(dfd);
	return 0;
}

/* A dump may write where there are only our images and logs, all regular files. */
static int dir_check_contents(int dfd, const char *dir)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int ret = open_dir_stream(dfd, dir, &d);

	if (ret)
		return ret;
	errno = 0;
	while ((de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return img_errno(-errno, dir, "cannot stat %s", de->d_name);
		if (precopy_entry(de->d_name, &st))
			continue;
		if (!S_ISREG(st.st_mode) ||
		    !(img_match_name(de->d_name, NULL, NULL) || is_log_name(de->d_name) ||
	      is_runtime_file(de->d_name))) {
			pr_err("image directory %s is not empty and holds %s, which is not a criu-lite image",
			       dir, de->d_name);
			return -EEXIST;
		}
		errno = 0;
	}
	if (errno)
		return img_errno(-errno, dir, "cannot list the image directory");
	return 0;
}

/*
 * Old images go so no stale pages-N or core-N mixes with this dump; the
 * old inventory first, so that a dump killed meanwhile does not leave
 * what looks like a complete one. The new images carry a new dump id
 * anyway.
 */
static int dir_remove_images(int dfd, const char *dir)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int ret;

	if (unlinkat(dfd, img_descs[IMG_INVENTORY].fmt, 0) < 0 && errno != ENOENT)
		return img_errno(-errno, dir, "cannot remove the old image %s", img_descs[IMG_INVENTORY].fmt);
	ret = open_dir_stream(dfd, dir, &d);
	if (ret)
		return ret;
	errno = 0;
	while ((de = readdir(d))) {
		if (!img_match_name(de->d_name, NULL, NULL))
			continue;
		/* The inventory is gone already (a stream may still list it). */
		if (unlinkat(dfd, de->d_name, 0) < 0 && errno != ENOENT)
			return img_errno(-errno, dir, "cannot remove the old image %s", de->d_name);
		pr_info("%s: removed the old image %s", dir, de->d_name);
		errno = 0;
	}
	if (errno)
		return img_errno(-errno, dir, "cannot list the image directory");
	return 0;
}

/* A restore's directory: see img_trust_set(). */
static int dir_check_trust(int dfd, const char *dir)
{
	struct stat st;

	if (fstat(dfd, &st) < 0)
		return img_errno(-errno, dir, "cannot stat the image directory");
	return img_trust_check(dir, &st);
}

int img_dir_lock(const char *dir, enum img_dir_use use, int *ret_dfd)
{
	_cleanup_close_ int dfd = -EBADF;
	int ret = dir_open_locked(dir, use == IMG_DIR_DUMP, use != IMG_DIR_SERVE, &dfd);

	if (!ret)
		ret = use == IMG_DIR_DUMP ? dir_check_contents(dfd, dir) : dir_check_trust(dfd, dir);
	if (ret)
		return ret;
	*ret_dfd = TAKE_FD(dfd);
	return 0;
}

int img_dump_dir_prepare(int dfd, const char *dir)
{
	int ret = dir_remove_images(dfd, dir);

	return ret ? ret : img_dump_id_new();
}

int img_check_dir_for_dump(const char *dir, int *ret_dfd)
{
	_cleanup_close_ int dfd = -EBADF;
	int ret = img_dir_lock(dir, IMG_DIR_DUMP, &dfd);

	if (!ret)
		ret = img_dump_dir_prepare(dfd, dir);
	if (ret)
		return ret;
	*ret_dfd = TAKE_FD(dfd);
	return 0;
}
