/*
 * Names of unix sockets: path names (relative ones with the directory
 * they were bound in), abstract names, and the socket files of path
 * names. Dump: what the name is and whether its file is still the
 * socket's (deleted after bind, replaced by another file). Restore:
 * bind, connect and unlink by name, in the right directory, never over
 * a file that is not a stale socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "open-file.h"
#include "files-ghost.h"
#include "proc-parse.h"
#include "sk-unix-priv.h"

/* Sets name, dir, deleted and mode of a bound socket. */
int unix_dump_name(const struct fd_dump *d, const struct usk *us, UnixSkEntry *u, bool accepted)
{
	char path[PATH_MAX + SUN_PATH_MAX + 2], cwd[PATH_MAX], seen[PATH_MAX + SUN_PATH_MAX + 64];
	struct stat st;
	ssize_t n;

	u->has_name = true;
	u->name.len = us->name_len;
	u->name.data = xmalloc(us->name_len);
	if (!u->name.data)
		return -ENOMEM;
	memcpy(u->name.data, us->name, us->name_len);
	if (!us->name[0] && us->name_len)
		return 0;		/* abstract */
	/*
	 * A chrooted task's names are below its root; restore binds before
	 * the chroot, from the top of the mount namespace.
	 */
	snprintf(path, sizeof(path), "/proc/%d/root", d->pid);
	n = readlink(path, cwd, sizeof(cwd) - 1);
	if (n < 0)
		return pr_errno(-errno, "pid %d: fd %d: readlink %s", d->pid, d->fd, path);
	if (n != 1 || cwd[0] != '/')
		return files_refuse(d, "a unix socket bound to a path", "in a chrooted task");

	snprintf(path, sizeof(path), "%.*s", (int)us->name_len, us->name);
	if (path[0] != '/') {
		char link[64];

		snprintf(link, sizeof(link), "/proc/%d/cwd", d->pid);
		n = readlink(link, cwd, sizeof(cwd) - 1);
		if (n < 0)
			return pr_errno(-errno, "pid %d: fd %d: readlink %s", d->pid, d->fd, link);
		cwd[n] = '\0';
		u->dir = xstrdup(cwd);
		if (!u->dir)
			return -ENOMEM;
		snprintf(path, sizeof(path), "%s/%.*s", cwd, (int)us->name_len, us->name);
	}
	/* The file at the name as the task's mount namespace sees it. */
	if (proc_mnt_path(d->pid, path, seen, sizeof(seen)))
		return -ENAMETOOLONG;
	if (stat(seen, &st) == 0 && us->has_vfs && st.st_ino == us->vfs_ino &&
	    major(st.st_dev) == (us->vfs_dev >> 20) && minor(st.st_dev) == (us->vfs_dev & 0xfffff)) {
		u->has_mode = true;
		u->mode = st.st_mode & 07777;
		u->has_uid = u->has_gid = true;
		u->uid = st.st_uid;
		u->gid = st.st_gid;
		return ghost_attrs_dump(&st, -1, path, &u->file);
	}
	if (accepted)
		return 0;		/* restored through its listener, never bound */
	/* Deleted, or replaced by another file: bound again where the path is hidden (sk-unix-hidden.c). */
	if (stat(seen, &st) == 0)
		pr_info("pid %d: fd %d: unix socket %s: its path names another file now; restore leaves that file alone\n",
			d->pid, d->fd, path);
	/* A relative name may have been bound in another directory, whose file would still lead to it. */
	if (u->dir)
		pr_warn("pid %d: fd %d: unix socket %.*s (relative, not at %s): restored without a file; if it was bound "
			"in another directory than the task's cwd now, its file there no longer leads to it\n",
			d->pid, d->fd, (int)us->name_len, us->name, path);
	u->has_deleted = true;
	u->deleted = true;
	return 0;
}

/* ---- restore ---------------------------------------------------------- */

bool unix_is_path(const UnixSkEntry *u)
{
	return u->has_name && u->name.len && u->name.data[0];
}

/* The name as a C string (a path name) for messages and file operations. */
void unix_name_str(const UnixSkEntry *u, char *buf, size_t size)
{
	if (!u->has_name || !u->name.len)
		snprintf(buf, size, "(unnamed)");
	else if (!u->name.data[0])
		snprintf(buf, size, "@%.*s", (int)u->name.len - 1, (const char *)u->name.data + 1);
	else if (u->dir)
		snprintf(buf, size, "%s/%.*s", u->dir, (int)u->name.len, (const char *)u->name.data);
	else
		snprintf(buf, size, "%.*s", (int)u->name.len, (const char *)u->name.data);
}

socklen_t unix_make_addr(const UnixSkEntry *u, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, u->name.data, u->name.len);
	return offsetof(struct sockaddr_un, sun_path) + u->name.len + (unix_is_path(u) ? 1 : 0);
}

/* chdir() to @dir as the tree sees it, cr's cwd saved in @s. */
static int enter(const UnixSkEntry *u, const char *dir, struct unix_in_dir *s)
{
	char buf[RST_PATH_MAX];
	const char *at;

	s->saved = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->saved < 0)
		return pr_errno(-errno, "unix socket: opening cr's working directory");
	if (!(at = rst_path(dir, buf)) || chdir(at) < 0) {
		int err = pr_errno(-errno, "unix socket %.*s: entering %s, the directory it was bound in",
				   (int)u->name.len, (const char *)u->name.data, dir);

		close(s->saved);
		s->saved = -1;
		return err;
	}
	return 0;
}

int unix_enter_dir(const UnixSkEntry *u, struct unix_in_dir *s)
{
	char buf[RST_PATH_MAX], dir[SUN_PATH_MAX + 1];
	const char *slash;

	s->saved = -1;
	s->len = unix_make_addr(u, &s->sa);
	snprintf(s->rel, sizeof(s->rel), "%.*s", (int)u->name.len, (const char *)u->name.data);
	if (!unix_is_path(u))
		return 0;
	if (u->dir)
		return enter(u, u->dir, s);
	/* An absolute name: from the tree's root, if it is not cr's. */
	if (s->rel[0] != '/' || rst_path(s->rel, buf) == s->rel)
		return 0;
	slash = strrchr(s->rel, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash == s->rel ? 1 : (int)(slash - s->rel), s->rel);
	memmove(s->rel, slash + 1, strlen(slash + 1) + 1);
	memset(&s->sa, 0, sizeof(s->sa));
	s->sa.sun_family = AF_UNIX;
	memcpy(s->sa.sun_path, s->rel, strlen(s->rel));
	s->len = offsetof(struct sockaddr_un, sun_path) + strlen(s->rel) + 1;
	return enter(u, dir, s);
}

void unix_leave_dir(struct unix_in_dir *s)
{
	if (s->saved < 0)
		return;
	if (fchdir(s->saved) < 0)
		pr_perror("unix socket: going back to cr's working directory");
	close(s->saved);
	s->saved = -1;
}

/*
 * What is at a path name now: nothing, or a socket file (the original's,
 * left when it died: replaced) is fine; anything else is an error naming it.
 */
int unix_check_path_free(const UnixSkEntry *u, bool remove)
{
	char what[UNIX_NAME_STR_MAX];
	struct unix_in_dir s;
	struct stat st;
	int err;

	unix_name_str(u, what, sizeof(what));
	err = unix_enter_dir(u, &s);
	if (err)
		return err;
	if (lstat(s.rel, &st) < 0) {
		err = errno == ENOENT ? 0 : pr_errno(-errno, "unix socket %s: stat", what);
	} else if (!S_ISSOCK(st.st_mode)) {
		err = pr_errno(-EEXIST, "unix socket %s: the path exists and is not a socket (mode 0%o); cr will not replace it",
			       what, (unsigned)st.st_mode);
	} else if (remove) {
		if (unlink(s.rel) < 0)
			err = pr_errno(-errno, "unix socket %s: removing the stale socket file", what);
		else
			pr_info("unix socket %s: replaced the stale socket file", what);
	}
	unix_leave_dir(&s);
	return err;
}

int unix_bind(int fd, const UnixSkEntry *u)
{
	char what[UNIX_NAME_STR_MAX];
	struct unix_in_dir s;
	int err;

	if (!u->has_name || !u->name.len)
		return 0;
	if (unix_is_path(u) && u->deleted)
		return unix_hidden_bind(fd, u);
	unix_name_str(u, what, sizeof(what));
	if (unix_is_path(u)) {
		err = unix_check_path_free(u, true);
		if (err)
			return err;
	}
	err = unix_enter_dir(u, &s);
	if (err)
		return err;
	if (bind(fd, (struct sockaddr *)&s.sa, s.len) < 0)
		err = pr_errno(-errno, "unix socket %s: bind", what);
	/*
	 * Its owner: bind() made it cr's, which a tree in a user namespace
	 * may not map (it could not connect). chown() first: it clears set-id bits.
	 */
	else if (unix_is_path(u) && u->file)
		err = ghost_attrs_apply_path(s.rel, u->file, what);
	else if (unix_is_path(u) && u->has_uid && u->has_gid &&
		 fchownat(AT_FDCWD, s.rel, u->uid, u->gid, AT_SYMLINK_NOFOLLOW) < 0)
		err = pr_errno(-errno, "unix socket %s: chown %u:%u", what, u->uid, u->gid);
	else if (unix_is_path(u) && u->has_mode && fchmodat(AT_FDCWD, s.rel, u->mode, 0) < 0)
		err = pr_errno(-errno, "unix socket %s: chmod 0%o", what, u->mode);
	/* After a failed chmod the file is ours; EADDRINUSE means it is someone else's. */
	if (err && unix_is_path(u) && err != -EADDRINUSE)
		(void)unlink(s.rel);
	unix_leave_dir(&s);
	return err;
}

int unix_connect(int fd, const UnixSkEntry *to)
{
	char what[UNIX_NAME_STR_MAX];
	struct unix_in_dir s;
	int err;

	unix_name_str(to, what, sizeof(what));
	if (!to->has_name || !to->name.len)
		return pr_errno(-EBADMSG, "unix socket: connecting to an unnamed socket other than through socketpair");
	if (unix_is_path(to) && to->deleted)
		return unix_hidden_connect(fd, to);
	err = unix_enter_dir(to, &s);
	if (err)
		return err;
	if (connect(fd, (struct sockaddr *)&s.sa, s.len) < 0)
		err = pr_errno(-errno, "unix socket: connecting to %s", what);
	unix_leave_dir(&s);
	return err;
}

int unix_connect_ext(int fd, const UnixSkEntry *u)
{
	const char *name = (const char *)u->ext_peer.data;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = u->ext_peer.len;
	char buf[RST_PATH_MAX];

	if (name[0]) {
		/* A path: as the tree's mount namespace sees it. */
		char path[SUN_PATH_MAX + 1];
		const char *at;

		memcpy(path, name, len);
		path[len] = '\0';
		at = rst_path(path, buf);
		if (!at || strlen(at) >= SUN_PATH_MAX)
			return pr_errno(-ENAMETOOLONG, "unix socket %s, its peer outside the tree: the path is too long here",
					path);
		len = strlen(at) + 1;
		memcpy(sa.sun_path, at, len);
	} else {
		memcpy(sa.sun_path, name, len);
	}
	if (connect(fd, (struct sockaddr *)&sa, offsetof(struct sockaddr_un, sun_path) + len) < 0)
		return pr_errno(-errno, "unix socket: connecting again to %s%.*s, its peer outside the tree",
				name[0] ? "" : "@", (int)(name[0] ? u->ext_peer.len : u->ext_peer.len - 1),
				name[0] ? name : name + 1);
	return 0;
}

int unix_unlink_name(const UnixSkEntry *u)
{
	char what[UNIX_NAME_STR_MAX];
	struct unix_in_dir s;
	int err;

	if (u->deleted)
		return unix_hidden_finish(u);
	unix_name_str(u, what, sizeof(what));
	err = unix_enter_dir(u, &s);
	if (err)
		return err;
	if (unlink(s.rel) < 0)
		err = pr_errno(-errno, "unix socket %s: unlinking it after bind, as it was at dump", what);
	unix_leave_dir(&s);
	return err;
}

void unix_remove_name(const UnixSkEntry *u)
{
	struct unix_in_dir s;
	struct stat st;

	/* Its file is the helper's, in a tmpfs of its own: the path is not cr's. */
	if (u->deleted) {
		(void)unix_hidden_finish(u);
		return;
	}
	if (unix_enter_dir(u, &s))
		return;
	if (lstat(s.rel, &st) == 0 && S_ISSOCK(st.st_mode) && unlink(s.rel) < 0)
		pr_perror("unix socket %s: removing it after the failed restore", s.rel);
	unix_leave_dir(&s);
}
