/*
 * Files the tree maps that have no name any more (deleted, or the name
 * now another file's): each gets a files.img entry of a deleted regular
 * file, its content saved once, as for an fd of a deleted file. Fds of
 * the tree on the same file, dumped before or after, share that content
 * (files-reg.c: the first description of an inode saves it, the others
 * are same_as), so do other mappings of it.
 *
 * The mapping is not an fd of the task: cr opens the file through
 * map_files and keeps that description open for the rest of the dump,
 * so it is one of the tree's open files descriptions that later fds are
 * compared with (kcmp against cr's own fd).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "files-kind.h"
#include "files-priv.h"
#include "image.h"
#include "log.h"

int files_dump_hold(struct files_dump *df, int fd)
{
	int *n = xrealloc(df->held, sizeof(*n) * (df->nr_held + 1));

	if (!n)
		return -ENOMEM;
	df->held = n;
	df->held[df->nr_held++] = fd;
	return 0;
}

int files_dump_mapping(struct files_dump *df, pid_t pid, const char *mf, const char *path, bool writable,
		       uint32_t *ret_id)
{
	_cleanup_close_ int fd = open(mf, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	struct fd_dump d = { .pid = getpid(), .df = df, .cr_fd = -1 };
	FileEntry fe = FILE_ENTRY__INIT;
	uint32_t id;
	int err;

	if (fd < 0 || fstat(fd, &d.st))
		return pr_errno(-errno, "pid %d: mapped file %s: %s", pid, path, mf);
	/* An fd or a mapping seen before has it: its entry has the content. */
	if (!files_dump_find(df, d.st.st_dev, d.st.st_ino, NULL, NULL, ret_id))
		return 0;
	if (asprintf(&d.link, "%s (deleted)", path) < 0)
		return -ENOMEM;
	d.fd = d.cr_fd = fd;
	/* Saved as a deleted file even where another name still leads to it. */
	d.st.st_nlink = 0;
	err = files_ident_get(df->ident, &d, &id);
	if (err == 1) {
		fe.id = id;
		fe.kind = FILE_KIND__FILE_REG;
		fe.flags = writable ? O_RDWR : O_RDONLY;
		err = fd_kind_reg.dump(&d, &fe);
		if (!err)
			err = pb_write_one(df->files, &fe, PB_FILE);
		fd_kind_reg.free_entry(&fe);
	} else if (!err) {
		err = pr_errno(-EEXIST, "pid %d: mapped file %s: cr's own description of it was seen before", pid,
			       path);
	}
	free(d.link);
	if (!err)
		err = files_dump_hold(df, fd);
	if (err)
		return err;
	TAKE_FD(fd);
	*ret_id = id;
	return 0;
}

int files_rst_mapped_fd(struct files_rst *rf, uint32_t id)
{
	const FileEntry *fe = files_rst_entry(rf, id);

	if (!fe || fe->kind != FILE_KIND__FILE_REG || !fe->reg || !fe->reg->deleted)
		return pr_errno(-EBADMSG, "files.img: file id %u, which a mapping names, is not a saved deleted file",
				id);
	return files_rst_get(rf, id);
}
