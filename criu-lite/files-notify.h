#ifndef CR_FILES_NOTIFY_H
#define CR_FILES_NOTIFY_H

/*
 * The inodes inotify watches and fanotify inode marks name
 * (files-notify.c): fdinfo gives each by device, inode number and file
 * handle; the image says where restore finds it again (a notify_inode:
 * a path, a path inside a hidden mount, an open file of the tree, or the
 * handle itself).
 */
#include <fcntl.h>
#include <stdint.h>
#include <sys/types.h>

#include "files-kind.h"

#define NOTIFY_HANDLE_MAX	128	/* MAX_HANDLE_SZ */

struct notify_handle {
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + NOTIFY_HANDLE_MAX];
	};
};

/* The dev_t of fdinfo's "sdev:" (the kernel's encoding, 20 minor bits). */
dev_t notify_kdev(uint32_t sdev);

/*
 * Parses "fhandle-bytes:%x fhandle-type:%x f_handle:HEX" at @s into @h.
 * Returns 0 or -EBADMSG (not logged).
 */
int notify_parse_handle(const char *s, struct notify_handle *h);

/*
 * Dump: where restore finds inode @ino on @sdev with handle @h, which
 * @what (say "inotify watch 3") of @d names. Tried in this order: its
 * path in the task's mount namespace; its path inside its own mount when
 * another mount hides it there (a mount namespace of the tree's own);
 * a deleted file: an open file of the tree on it (@d's kind must be
 * deferred); else its handle, when cr has its file system mounted too
 * (restore opens it there). A refusal calls @d @kind ("an inotify
 * instance"). Fills @ret (notify_inode__init'ed here;
 * free with notify_inode_free()). Returns 0, -ENOTSUP after
 * files_refuse(), or -errno (logged).
 */
int notify_inode_dump(struct fd_dump *d, const char *kind, const char *what, uint32_t sdev, uint64_t ino,
		      const struct notify_handle *h, NotifyInode *ret);
void notify_inode_free(NotifyInode *n);

/*
 * Dump: refuses @d (@kind) when events wait in its queue (FIONREAD):
 * reading them would take them from the task, and nothing can queue them
 * in a new instance. Returns 0 or -ENOTSUP after files_refuse().
 */
int notify_refuse_queued(const struct fd_dump *d, const char *kind);

/* Restore, before anything is made: a well-formed entry, its path there. 0 or -errno (logged). */
int notify_inode_check(const NotifyInode *n, const char *what);
/*
 * Restore: an O_PATH fd (O_CLOEXEC) of the inode, in cr; name it by
 * /proc/self/fd/N. Returns the fd, or -errno logged naming @what.
 */
int notify_inode_open(struct files_rst *rf, const NotifyInode *n, const char *what);

#endif
