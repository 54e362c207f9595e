/*
 * Unix sockets bound to a path whose file is no longer theirs: deleted
 * after bind, or replaced by another file since. The socket must come
 * back with the name getsockname() gave, but without a file at that path
 * (deleted) and without touching the file there now (replaced).
 *
 * A helper process of cr's, in a mount namespace of its own (a copy of
 * the tree's), puts an empty tmpfs over the socket file's directory
 * (over its nearest existing ancestor, the rest made inside, if the
 * directory is gone too) and binds cr's socket there by its name: the
 * bind resolves the name, and the name is what the socket keeps. Until
 * every file of the restore is open, the helper keeps the socket file,
 * so that cr can connect other sockets to it (and send it its queue)
 * through /proc/HELPER/cwd; then it removes the file and exits. The
 * tmpfs lives on with the socket that is bound in it, seen by nobody.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "cr.h"
#include "log.h"
#include "open-file.h"
#include "sk-unix-priv.h"

struct hidden {
	uint64_t ino;		/* the socket's, at dump */
	pid_t helper;
	int go;			/* cr's end: closing it (or a byte) lets the helper finish */
};

static struct hidden *hidden;
static size_t nr_hidden;

static struct hidden *hidden_of(const UnixSkEntry *u)
{
	for (size_t i = 0; i < nr_hidden; i++)
		if (hidden[i].ino == u->ino && hidden[i].helper > 0)
			return &hidden[i];
	return NULL;
}

/* The socket file's full path (@full) and its directory (@dir), as the tree names them. */
static int split_name(const UnixSkEntry *u, char *full, char *dir, const char **ret_base)
{
	char *slash;

	if (u->name.data[0] == '/')
		snprintf(full, PATH_MAX, "%.*s", (int)u->name.len, (const char *)u->name.data);
	else if (snprintf(full, PATH_MAX, "%s/%.*s", u->dir ? u->dir : "", (int)u->name.len,
			  (const char *)u->name.data) >= PATH_MAX)
		return -ENAMETOOLONG;
	snprintf(dir, PATH_MAX, "%s", full);
	slash = strrchr(dir, '/');
	if (!slash || full[0] != '/')
		return -EINVAL;
	*slash = '\0';
	*ret_base = full + (slash - dir) + 1;
	if (!dir[0])
		snprintf(dir, PATH_MAX, "/");
	return 0;
}

/* In the helper: an empty tmpfs where @dir is, @dir made in it if it was gone. */
static int cover_dir(const char *dir, const char *what)
{
	char top[PATH_MAX], *slash;
	struct stat st;

	snprintf(top, sizeof(top), "%s", dir);
	while (stat(top, &st) < 0 || !S_ISDIR(st.st_mode)) {
		slash = strrchr(top, '/');
		if (!slash || slash == top)
			return pr_errno(-ENOENT, "unix socket %s: no directory of its path is left", what);
		*slash = '\0';
	}
	/* A mount over "/" would not be seen from the helper's own root. */
	if (!strcmp(top, "/"))
		return pr_errno(-ENOENT, "unix socket %s: no directory of its path but / is left", what);
	if (mount("cr-unix-hidden", top, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") < 0)
		return pr_errno(-errno, "unix socket %s: mounting a tmpfs on %s", what, top);
	for (char *p = (char *)dir + strlen(top); *p; ) {
		char *next = strchr(p + 1, '/');
		char sub[PATH_MAX];

		snprintf(sub, sizeof(sub), "%.*s", next ? (int)(next - dir) : (int)strlen(dir), dir);
		if (mkdir(sub, 0700) < 0 && errno != EEXIST)
			return pr_errno(-errno, "unix socket %s: making %s in the tmpfs", what, sub);
		if (!next)
			break;
		p = next;
	}
	return 0;
}

static int helper_bind(int fd, int mntns, const UnixSkEntry *u, const char *dir, const char *what)
{
	struct sockaddr_un sa;
	socklen_t len = unix_make_addr(u, &sa);
	int err;

	if (mntns >= 0 && setns(mntns, CLONE_NEWNS) < 0)
		return pr_errno(-errno, "unix socket %s: entering the tree's mount namespace", what);
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return pr_errno(-errno, "unix socket %s: a mount namespace of cr's own", what);
	err = cover_dir(dir, what);
	if (err)
		return err;
	/* A relative name is bound from the directory it was bound in. */
	if (u->name.data[0] != '/' && chdir(u->dir) < 0)
		return pr_errno(-errno, "unix socket %s: entering %s", what, u->dir);
	if (bind(fd, (struct sockaddr *)&sa, len) < 0)
		return pr_errno(-errno, "unix socket %s: bind where its path is hidden", what);
	if (chdir(dir) < 0)
		return pr_errno(-errno, "unix socket %s: entering %s", what, dir);
	return 0;
}

static __attribute__((noreturn)) void helper_main(int fd, int mntns, const UnixSkEntry *u, const char *dir,
						  const char *base, pid_t cr, int ready, int go)
{
	char what[UNIX_NAME_STR_MAX], c;
	int err;

	unix_name_str(u, what, sizeof(what));
	/* cr gone: so is the helper (its tmpfs with it). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != cr)
		_exit(1);
	err = helper_bind(fd, mntns, u, dir, what);
	if (write(ready, &err, sizeof(err)) != sizeof(err) || err)
		_exit(1);
	/* Every file is open (a byte), or cr closed its end (failed): the name goes. */
	while (read(go, &c, 1) < 0 && errno == EINTR)
		;
	if (unlink(base) < 0)
		_exit(1);
	_exit(0);
}

int unix_hidden_bind(int fd, const UnixSkEntry *u)
{
	char full[PATH_MAX], dir[PATH_MAX], what[UNIX_NAME_STR_MAX], ns[64];
	_cleanup_close_ int mntns = -EBADF, rd = -EBADF, go_rd = -EBADF, go_wr = -EBADF;
	const char *base;
	struct hidden *n;
	int p[2], g[2], err = 0;
	pid_t holder = rst_holder(), cr = getpid(), pid;
	ssize_t got;

	unix_name_str(u, what, sizeof(what));
	if (split_name(u, full, dir, &base))
		return pr_errno(-ENAMETOOLONG, "unix socket %s: its path is too long", what);
	n = xrealloc(hidden, (nr_hidden + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	hidden = n;
	if (holder > 0) {
		snprintf(ns, sizeof(ns), "/proc/%d/ns/mnt", holder);
		mntns = open(ns, O_RDONLY | O_CLOEXEC);
		if (mntns < 0)
			return pr_errno(-errno, "unix socket %s: opening %s", what, ns);
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return pr_errno(-errno, "unix socket %s: pipe2", what);
	rd = p[0];
	if (pipe2(g, O_CLOEXEC) < 0) {
		close(p[1]);
		return pr_errno(-errno, "unix socket %s: pipe2", what);
	}
	go_rd = g[0];
	go_wr = g[1];
	pid = fork();
	if (pid < 0) {
		close(p[1]);
		return pr_errno(-errno, "unix socket %s: fork of a helper", what);
	}
	if (pid == 0) {
		close(rd);
		close(go_wr);
		helper_main(fd, mntns, u, dir, base, cr, p[1], go_rd);
	}
	close(p[1]);
	got = read(rd, &err, sizeof(err));
	if (got != sizeof(err) || err) {
		(void)waitpid(pid, NULL, 0);
		return err ? err : pr_errno(-EIO, "unix socket %s: its helper %d died", what, pid);
	}
	hidden[nr_hidden++] = (struct hidden){ .ino = u->ino, .helper = pid, .go = TAKE_FD(go_wr) };
	err = cr_fail_point("unix-hidden");
	if (err) {
		(void)unix_hidden_finish(u);
		return err;
	}
	pr_info("unix socket %s: bound where its path is hidden (helper %d): the path is left as it is\n",
		what, pid);
	return 0;
}

int unix_hidden_connect(int fd, const UnixSkEntry *to)
{
	struct hidden *h = hidden_of(to);
	char what[UNIX_NAME_STR_MAX], full[PATH_MAX], dir[PATH_MAX], cwd[64];
	_cleanup_close_ int saved = -EBADF;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *base;
	int err = 0;

	unix_name_str(to, what, sizeof(what));
	if (!h)
		return pr_errno(-ENOENT, "unix socket: connecting to %s, which is not bound yet", what);
	if (split_name(to, full, dir, &base) || strlen(base) >= sizeof(sa.sun_path))
		return pr_errno(-ENAMETOOLONG, "unix socket %s: its name is too long", what);
	memcpy(sa.sun_path, base, strlen(base) + 1);
	saved = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (saved < 0)
		return pr_errno(-errno, "unix socket: opening cr's working directory");
	/* The socket file, in the helper's tmpfs. */
	snprintf(cwd, sizeof(cwd), "/proc/%d/cwd", h->helper);
	if (chdir(cwd) < 0)
		return pr_errno(-errno, "unix socket %s: entering %s", what, cwd);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		err = pr_errno(-errno, "unix socket: connecting to %s (its path hidden)", what);
	if (fchdir(saved) < 0)
		err = pr_errno(-errno, "unix socket: going back to cr's working directory");
	return err;
}

int unix_hidden_finish(const UnixSkEntry *u)
{
	struct hidden *h = hidden_of(u);
	char what[UNIX_NAME_STR_MAX];
	int status;

	if (!h)
		return 0;
	unix_name_str(u, what, sizeof(what));
	if (write(h->go, "u", 1) != 1)
		pr_perror("unix socket %s: telling its helper %d to finish", what, h->helper);
	close(h->go);
	if (waitpid(h->helper, &status, 0) != h->helper)
		return pr_errno(-errno, "unix socket %s: waiting for its helper %d", what, h->helper);
	h->helper = -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return pr_errno(-EIO, "unix socket %s: its helper failed to remove the socket file it bound", what);
	return 0;
}
