/*
 * --link-remap: hard links cr makes at dump to files whose path names
 * another file now (see files-remap.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cr.h"
#include "files-remap.h"
#include "log.h"
#include "open-file.h"
#include "proc-parse.h"

#define REMAP_PREFIX	".cr-link-remap."

/* The links this dump made (cr's paths to them), removed again if it fails. */
static char **made;
static size_t nr_made;

static int remember(const char *at)
{
	char **n = xrealloc(made, (nr_made + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	made = n;
	made[nr_made] = xstrdup(at);
	return made[nr_made++] ? 0 : -ENOMEM;
}

void link_remap_dump_end(bool failed)
{
	for (size_t i = 0; i < nr_made; i++) {
		if (failed && made[i] && unlink(made[i]) < 0)
			pr_perror("removing %s, a link --link-remap made, after the failed dump", made[i]);
		free(made[i]);
	}
	free(made);
	made = NULL;
	nr_made = 0;
}

int link_remap_dump(const struct fd_dump *d, const char *path, const char *why, RegFileEntry *r)
{
	char name[PATH_MAX], at[PATH_MAX + 32], fdp[64], reason[PATH_MAX + 256];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (d->st.st_nlink == 0 || S_ISDIR(d->st.st_mode) || !slash)
		return files_refuse(d, "a file", why);
	if (!files_dump_opts(d->df)->link_remap) {
		snprintf(reason, sizeof(reason), "%s; it has %lu other hard link(s): --link-remap keeps it", why,
			 (unsigned long)d->st.st_nlink);
		return files_refuse(d, "a file", reason);
	}
	if (snprintf(name, sizeof(name), "%.*s/" REMAP_PREFIX "%llx.%llx", (int)(slash - path), path,
		     (unsigned long long)d->st.st_dev, (unsigned long long)d->st.st_ino) >= (int)sizeof(name))
		return pr_errno(-ENAMETOOLONG, "pid %d: fd %d (%s): the name of a link next to it", d->pid, d->fd,
				path);
	/* The name as the task's mount namespace resolves it; the file through cr's fd of it. */
	if (proc_mnt_path(d->pid, name, at, sizeof(at)))
		return -ENAMETOOLONG;
	snprintf(fdp, sizeof(fdp), "/proc/self/fd/%d", d->cr_fd);
	if (linkat(AT_FDCWD, fdp, AT_FDCWD, at, AT_SYMLINK_FOLLOW) < 0) {
		/* Another fd of the file made it already, or it is another file's. */
		if (errno != EEXIST || lstat(at, &st) < 0 || st.st_dev != d->st.st_dev ||
		    st.st_ino != d->st.st_ino) {
			snprintf(reason, sizeof(reason), "%s; --link-remap: linking it as %s: %s", why, name,
				 strerror(errno == EEXIST ? EEXIST : errno));
			return files_refuse(d, "a file", reason);
		}
	} else {
		int err = remember(at);

		if (err) {
			(void)unlink(at);
			return err;
		}
		pr_warn("pid %d: fd %d (%s): %s; kept by the hard link %s (--link-remap), which the restore removes\n",
			d->pid, d->fd, path, why, name);
	}
	r->link_remap = xstrdup(name);
	return r->link_remap ? 0 : -ENOMEM;
}

/* The links this restore opened files through, removed once the tree is live. */
static struct opened {
	char *at;			/* cr's path to it */
	dev_t dev;
	ino_t ino;
} *opened;
static size_t nr_opened;

int link_remap_opened(const RegFileEntry *r, int fd)
{
	char buf[RST_PATH_MAX];
	const char *at = rst_path(r->link_remap, buf);
	struct opened *n;
	struct stat st;

	if (!at)
		return -ENAMETOOLONG;
	if (fstat(fd, &st) < 0)
		return pr_errno(-errno, "file %s: fstat", r->link_remap);
	for (size_t i = 0; i < nr_opened; i++)
		if (!strcmp(opened[i].at, at))
			return 0;
	n = xrealloc(opened, (nr_opened + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	opened = n;
	opened[nr_opened] = (struct opened){ .at = xstrdup(at), .dev = st.st_dev, .ino = st.st_ino };
	return opened[nr_opened++].at ? 0 : -ENOMEM;
}

void link_remap_restore_end(bool live)
{
	for (size_t i = 0; i < nr_opened; i++) {
		struct stat st;

		/* Still the link cr made (nobody put another file there): it goes. */
		if (live && opened[i].at && lstat(opened[i].at, &st) == 0 && st.st_dev == opened[i].dev &&
		    st.st_ino == opened[i].ino && unlink(opened[i].at) < 0)
			pr_perror("removing %s, the link --link-remap made at dump", opened[i].at);
		free(opened[i].at);
	}
	free(opened);
	opened = NULL;
	nr_opened = 0;
}
