/*
 * --inherit-fd fd[N]:KEY at restore: the entries whose key is KEY are not
 * created but taken from cr's fd N, as criu does for a container's stdio
 * pipes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>

#include "cr.h"
#include "log.h"
#include "files-priv.h"

static const char *entry_key(const struct rst_file *f, char *buf, size_t size)
{
	if (f->kind->key)
		return f->kind->key(f->fe, buf, size);
	return f->fe->reg ? f->fe->reg->path : NULL;
}

/*
 * A KEY that names nothing in the images is only a warning: the caller
 * may pass the same options to every restore.
 */
int files_inherit_match(struct files_rst *rf)
{
	for (unsigned j = 0; j < rf->opts->nr_inherit_fds; j++) {
		const struct cr_inherit_fd *in = &rf->opts->inherit_fds[j];
		bool used = false;

		for (size_t i = 0; i < rf->nr; i++) {
			struct rst_file *f = &rf->f[i];
			char buf[PATH_MAX];
			const char *key = entry_key(f, buf, sizeof(buf));

			if (!key || strcmp(key, in->key))
				continue;
			if (f->inherit_fd >= 0 && f->inherit_fd != in->fd)
				return pr_errno(-EINVAL, "--inherit-fd: file %s is given twice (fd %d and fd %d)",
						in->key, f->inherit_fd, in->fd);
			f->inherit_fd = in->fd;
			used = true;
			pr_info("file id %u (%s %s) comes from cr's fd %d (--inherit-fd)",
				f->fe->id, f->kind->name, key, in->fd);
		}
		if (!used)
			pr_warn("--inherit-fd fd[%d]:%s: no file of the images has that name", in->fd, in->key);
	}
	return 0;
}

int files_inherit_dup(const struct rst_file *f)
{
	int fd = fcntl(f->inherit_fd, F_DUPFD_CLOEXEC, 0);

	if (fd < 0)
		return pr_errno(-errno, "file id %u: dup of --inherit-fd fd %d", f->fe->id, f->inherit_fd);
	return fd;
}
