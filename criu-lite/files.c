/*
 * File descriptors of one process: regular files, directories and a short
 * list of harmless character devices. Dump reads /proc/PID/fd and fdinfo;
 * restore reopens every file by path and moves it to its fd number.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/kcmp.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "log.h"
#include "files.h"
#include "image.h"
#include "proc-parse.h"
#include "fdinfo.pb-c.h"

/*
 * The kernel's O_LARGEFILE bit (asm-generic/fcntl.h). glibc defines
 * O_LARGEFILE as 0 on 64-bit, yet the kernel sets this bit in f_flags of
 * every file opened by a 64-bit task, so fdinfo always shows it.
 */
#define KERNEL_O_LARGEFILE	0100000

/* What the kernel appends to a magic link whose dentry was unlinked. */
#define DELETED_SUFFIX		" (deleted)"

/* Character devices that carry no state worth keeping: reopening is exact. */
static const struct {
	unsigned major, minor;
	const char *name;
} chr_allowed[] = {
	{ 1, 3, "/dev/null" },
	{ 1, 5, "/dev/zero" },
	{ 1, 7, "/dev/full" },
	{ 1, 8, "/dev/random" },
	{ 1, 9, "/dev/urandom" },
};

/* Majors of terminals (Documentation/admin-guide/devices.txt). */
#define TTY_MAJOR		4	/* virtual consoles, serial ports */
#define TTYAUX_MAJOR		5	/* /dev/tty, /dev/console, /dev/ptmx */
#define PTS_MAJOR_FIRST		136	/* Unix98 pty slaves: 136..143 */
#define PTS_MAJOR_LAST		143

/*
 * rdev is 32 bits in the image: the kernel's "new" dev_t encoding (12-bit
 * major, 20-bit minor) covers every device number Linux hands out.
 */
static uint32_t rdev_encode(dev_t dev)
{
	unsigned maj = major(dev), min = minor(dev);

	return (min & 0xff) | (maj << 8) | ((min & ~0xffu) << 12);
}

static dev_t rdev_decode(uint32_t v)
{
	unsigned maj = (v & 0xfff00) >> 8;
	unsigned min = (v & 0xff) | ((v >> 12) & 0xfff00);

	return makedev(maj, min);
}

static bool chr_is_allowed(dev_t rdev)
{
	for (size_t i = 0; i < ARRAY_SIZE(chr_allowed); i++)
		if (major(rdev) == chr_allowed[i].major && minor(rdev) == chr_allowed[i].minor)
			return true;
	return false;
}

static bool chr_is_tty(dev_t rdev)
{
	unsigned maj = major(rdev);

	return maj == TTY_MAJOR || maj == TTYAUX_MAJOR ||
	       (maj >= PTS_MAJOR_FIRST && maj <= PTS_MAJOR_LAST);
}

static const char *kind_name(FileKind kind)
{
	switch (kind) {
	case FILE_KIND__FILE_REG: return "regular file";
	case FILE_KIND__FILE_DIR: return "directory";
	case FILE_KIND__FILE_CHR: return "character device";
	default: return "unknown kind";
	}
}

/* ---- dump ------------------------------------------------------------ */

/*
 * Ids of open file descriptions, unique across the whole dump (several
 * files_dump() calls write into one files.img once the tree is dumped).
 */
static uint32_t files_next_id = 1;

void files_dump_reset_ids(void)
{
	files_next_id = 1;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Reads the fd numbers of /proc/PID/fd, sorted; returns the count or -errno. */
static int list_fds(pid_t pid, int **ret_fds)
{
	_cleanup_closedir_ DIR *d = NULL;
	_cleanup_free_ int *fds = NULL;
	char dpath[64];
	size_t nr = 0, cap = 0;
	struct dirent *de;

	snprintf(dpath, sizeof(dpath), "/proc/%d/fd", pid);
	d = opendir(dpath);
	if (!d)
		return pr_errno(-errno, "pid %d: can't open %s", pid, dpath);

	for (;;) {
		char *end;
		long fd;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				return pr_errno(-errno, "pid %d: can't read %s", pid, dpath);
			break;
		}
		if (de->d_name[0] == '.')
			continue;
		fd = strtol(de->d_name, &end, 10);
		if (*end || fd < 0 || fd > INT_MAX) {
			pr_err("pid %d: unexpected entry %s in %s", pid, de->d_name, dpath);
			return -EINVAL;
		}
		if (nr == cap) {
			int *n;

			cap = cap ? cap * 2 : 16;
			n = xrealloc(fds, cap * sizeof(*fds));
			if (!n)
				return -ENOMEM;
			fds = n;
		}
		fds[nr++] = fd;
	}

	qsort(fds, nr, sizeof(*fds), cmp_int);
	*ret_fds = TAKE_PTR(fds);
	return nr;
}

/*
 * Everything we learn about one fd of the target before deciding whether
 * we can dump it.
 */
struct fd_probe {
	pid_t pid;
	int fd;
	char link[PATH_MAX + 1];
	struct stat st;			/* of the file the fd refers to */
	struct proc_fdinfo fdi;
};

static int probe_fd(pid_t pid, int fd, struct fd_probe *p)
{
	char lpath[64];
	ssize_t n;
	int ret;

	p->pid = pid;
	p->fd = fd;
	snprintf(lpath, sizeof(lpath), "/proc/%d/fd/%d", pid, fd);

	n = readlink(lpath, p->link, sizeof(p->link));
	if (n < 0)
		return pr_errno(-errno, "pid %d: fd %d: readlink %s", pid, fd, lpath);
	if ((size_t)n >= sizeof(p->link)) {
		pr_err("pid %d: fd %d: link target is longer than PATH_MAX", pid, fd);
		return -ENAMETOOLONG;
	}
	p->link[n] = '\0';

	/* stat() follows the magic link to the open file itself. */
	if (stat(lpath, &p->st) < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): stat %s", pid, fd, p->link, lpath);

	ret = proc_parse_fdinfo(pid, fd, &p->fdi);
	if (ret < 0)
		return ret;
	return 0;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && !strcmp(s + ls - lx, suffix);
}

/*
 * Refuses an fd we can't dump, naming what it is. Always returns -ENOTSUP.
 * @what is the kind with its article ("a pipe").
 */
static int refuse(const struct fd_probe *p, const char *what)
{
	pr_err("pid %d: fd %d is %s (%s), which cr cannot dump yet",
	       p->pid, p->fd, what, p->link);
	return -ENOTSUP;
}

/*
 * Decides the kind of a probed fd. Returns 0 and *ret_kind, or -ENOTSUP
 * (logged) for everything outside regular files, directories and the
 * allowed character devices.
 */
static int classify_fd(const struct fd_probe *p, FileKind *ret_kind)
{
	char what[128];
	mode_t fmt = p->st.st_mode & S_IFMT;

	/*
	 * The link text goes first: anonymous inodes report S_IFREG on recent
	 * kernels, so the mode alone would take an eventfd for a file.
	 */
	if (has_prefix(p->link, "pipe:"))
		return refuse(p, "a pipe");
	if (has_prefix(p->link, "socket:"))
		return refuse(p, "a socket");
	if (has_prefix(p->link, "anon_inode:")) {
		const char *type = p->link + strlen("anon_inode:");
		size_t len = strlen(type);

		/* "[eventfd]" -> "eventfd"; "inotify" has no brackets. */
		if (len >= 2 && type[0] == '[' && type[len - 1] == ']') {
			type++;
			len -= 2;
		}
		snprintf(what, sizeof(what), "an anonymous inode (%.*s)", (int)len, type);
		return refuse(p, what);
	}
	if (p->fdi.flags & O_PATH)
		return refuse(p, "an O_PATH descriptor");
	if (has_suffix(p->link, DELETED_SUFFIX) && p->st.st_nlink == 0)
		return refuse(p, "a deleted file");

	switch (fmt) {
	case S_IFREG:
	case S_IFDIR:
		/* nsfs, pidfs and friends are "regular" with a non-path link. */
		if (p->link[0] != '/')
			return refuse(p, "a special file");
		*ret_kind = fmt == S_IFREG ? FILE_KIND__FILE_REG : FILE_KIND__FILE_DIR;
		return 0;
	case S_IFCHR:
		if (chr_is_allowed(p->st.st_rdev)) {
			*ret_kind = FILE_KIND__FILE_CHR;
			return 0;
		}
		if (chr_is_tty(p->st.st_rdev))
			return refuse(p, "a terminal");
		snprintf(what, sizeof(what), "character device %u:%u",
			 major(p->st.st_rdev), minor(p->st.st_rdev));
		return refuse(p, what);
	case S_IFBLK:
		snprintf(what, sizeof(what), "block device %u:%u",
			 major(p->st.st_rdev), minor(p->st.st_rdev));
		return refuse(p, what);
	case S_IFIFO:
		return refuse(p, "a named pipe (FIFO)");
	case S_IFSOCK:
		return refuse(p, "a socket");
	default:
		snprintf(what, sizeof(what), "a file of unknown type (mode 0%o)",
			 (unsigned)p->st.st_mode);
		return refuse(p, what);
	}
}

/*
 * Restore reopens by path, so the path must name the very object the fd
 * refers to now. Returns 0 or -ENOTSUP/-errno (logged).
 */
static int check_path(const struct fd_probe *p, FileKind kind)
{
	struct stat st;

	if (p->link[0] != '/') {
		pr_err("pid %d: fd %d: path %s is not absolute", p->pid, p->fd, p->link);
		return -ENOTSUP;
	}
	if (stat(p->link, &st) < 0) {
		int err = -errno;

		pr_err("pid %d: fd %d: %s no longer exists under that name (renamed or deleted?): %s",
		       p->pid, p->fd, p->link, strerror(-err));
		return err == -ENOENT ? -ENOTSUP : err;
	}
	if (kind == FILE_KIND__FILE_CHR) {
		if (!S_ISCHR(st.st_mode) || st.st_rdev != p->st.st_rdev) {
			pr_err("pid %d: fd %d: %s is not character device %u:%u any more",
			       p->pid, p->fd, p->link, major(p->st.st_rdev), minor(p->st.st_rdev));
			return -ENOTSUP;
		}
		return 0;
	}
	if (st.st_dev != p->st.st_dev || st.st_ino != p->st.st_ino) {
		pr_err("pid %d: fd %d: %s now names another file than the open one (renamed or replaced, or another mount namespace)",
		       p->pid, p->fd, p->link);
		return -ENOTSUP;
	}
	return 0;
}

/*
 * Fds seen so far in this task, to find ones that share an open file
 * description (dup, fork, SCM_RIGHTS): those keep one file_entry, so the
 * restored fds share one position and one set of flags again.
 */
struct seen_fd {
	dev_t dev;
	ino_t ino;
	int fd;
	uint32_t id;
};

struct seen_fds {
	struct seen_fd *v;
	size_t nr, cap;
};

/* The id of an earlier fd of @pid sharing @fd's open file, or 0. */
static uint32_t shared_id(pid_t pid, const struct seen_fds *seen, const struct stat *st, int fd)
{
	for (size_t i = 0; i < seen->nr; i++) {
		const struct seen_fd *s = &seen->v[i];

		if (s->dev == st->st_dev && s->ino == st->st_ino &&
		    syscall(SYS_kcmp, pid, pid, KCMP_FILE, s->fd, fd) == 0)
			return s->id;
	}
	return 0;
}

static int remember_fd(struct seen_fds *seen, const struct stat *st, int fd, uint32_t id)
{
	if (seen->nr == seen->cap) {
		size_t cap = seen->cap ? seen->cap * 2 : 16;
		struct seen_fd *n = xrealloc(seen->v, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		seen->v = n;
		seen->cap = cap;
	}
	seen->v[seen->nr++] = (struct seen_fd){ st->st_dev, st->st_ino, fd, id };
	return 0;
}

static int dump_one_fd(pid_t pid, int fd, struct img *files_img, struct img *fdinfo_img,
		       struct seen_fds *seen)
{
	FileEntry fe = FILE_ENTRY__INIT;
	FdinfoEntry fdi = FDINFO_ENTRY__INIT;
	_cleanup_free_ struct fd_probe *p = NULL;
	FileKind kind = FILE_KIND__FILE_REG;	/* set by classify_fd() */
	uint32_t flags;
	int ret;

	/* PATH_MAX-sized: keep it off the stack. */
	p = xzalloc(sizeof(*p));
	if (!p)
		return -ENOMEM;

	ret = probe_fd(pid, fd, p);
	if (ret < 0)
		return ret;
	ret = classify_fd(p, &kind);
	if (ret < 0)
		return ret;
	ret = check_path(p, kind);
	if (ret < 0)
		return ret;

	fdi.fd = fd;
	fdi.cloexec = !!(p->fdi.flags & O_CLOEXEC);
	fdi.id = shared_id(pid, seen, &p->st, fd);
	if (fdi.id) {
		pr_debug("pid %d: fd %d shares file id %u", pid, fd, fdi.id);
		return pb_write_one(fdinfo_img, &fdi, PB_FDINFO);
	}

	/*
	 * fdinfo's flags are f_flags plus O_CLOEXEC from the fd table;
	 * O_CLOEXEC belongs to the fd, not the file, and O_LARGEFILE is
	 * forced by open() on 64-bit anyway.
	 */
	flags = p->fdi.flags & ~(O_CLOEXEC | KERNEL_O_LARGEFILE);
	if (flags & O_ASYNC)
		pr_warn("pid %d: fd %d (%s): O_ASYNC will not be restored (no owner/signal yet)",
			pid, fd, p->link);

	fe.id = files_next_id;
	fe.kind = kind;
	fe.path = p->link;
	fe.flags = flags;
	fe.pos = p->fdi.pos;
	fe.has_mode = true;
	fe.mode = p->st.st_mode;
	if (kind == FILE_KIND__FILE_REG) {
		fe.has_size = true;
		fe.size = p->st.st_size;
	} else if (kind == FILE_KIND__FILE_CHR) {
		fe.has_rdev = true;
		fe.rdev = rdev_encode(p->st.st_rdev);
	}

	fdi.id = fe.id;
	ret = remember_fd(seen, &p->st, fd, fe.id);
	if (ret < 0)
		return ret;

	ret = pb_write_one(files_img, &fe, PB_FILE);
	if (ret < 0)
		return ret;
	ret = pb_write_one(fdinfo_img, &fdi, PB_FDINFO);
	if (ret < 0)
		return ret;

	files_next_id++;
	pr_debug("pid %d: fd %d -> file id %u: %s %s flags 0%o pos %llu%s",
		 pid, fd, fe.id, kind_name(kind), fe.path, fe.flags,
		 (unsigned long long)fe.pos, fdi.cloexec ? " cloexec" : "");
	return 0;
}

int files_dump(pid_t pid, struct img *files_img, struct img *fdinfo_img)
{
	_cleanup_free_ int *fds = NULL;
	struct seen_fds seen = { 0 };
	int nr, ret = 0;

	nr = list_fds(pid, &fds);
	if (nr < 0)
		return nr;

	for (int i = 0; i < nr && !ret; i++)
		ret = dump_one_fd(pid, fds[i], files_img, fdinfo_img, &seen);
	free(seen.v);
	if (ret < 0)
		return ret;
	pr_info("pid %d: dumped %d file descriptors", pid, nr);
	return 0;
}

/* ---- restore --------------------------------------------------------- */

struct files_plan_fd {
	int fd;
	uint32_t id;			/* fds with one id share one open file */
	bool cloexec;
	FileKind kind;
	char *path;
	uint32_t flags;
	uint64_t pos;
};

struct files_plan {
	pid_t pid;
	struct files_plan_fd *fds;	/* sorted by fd */
	unsigned nr;
};

void files_plan_free(struct files_plan *plan)
{
	if (!plan)
		return;
	for (unsigned i = 0; i < plan->nr; i++)
		free(plan->fds[i].path);
	free(plan->fds);
	free(plan);
}

static void files_plan_freep(struct files_plan **p)
{
	files_plan_free(*p);
}

/* All of files.img in memory, looked up by id. */
struct file_table {
	FileEntry **e;
	size_t nr;
};

static void file_table_release(struct file_table *t)
{
	for (size_t i = 0; i < t->nr; i++)
		pb_free(t->e[i], PB_FILE);
	free(t->e);
	t->e = NULL;
	t->nr = 0;
}

static int file_table_read(int dfd, struct file_table *t)
{
	_cleanup_img_ struct img *img = NULL;
	size_t cap = 0;
	int ret;

	ret = img_open(dfd, IMG_FILES, 0, O_RDONLY, &img);
	if (ret < 0)
		return ret;

	for (;;) {
		void *msg;

		ret = pb_read_one(img, &msg, PB_FILE);
		if (ret < 0)
			return ret;
		if (ret == 0)
			break;
		if (t->nr == cap) {
			FileEntry **n;

			cap = cap ? cap * 2 : 16;
			n = xrealloc(t->e, cap * sizeof(*n));
			if (!n) {
				pb_free(msg, PB_FILE);
				return -ENOMEM;
			}
			t->e = n;
		}
		t->e[t->nr++] = msg;
	}
	return 0;
}

static FileEntry *file_table_find(const struct file_table *t, uint32_t id)
{
	for (size_t i = 0; i < t->nr; i++)
		if (t->e[i]->id == id)
			return t->e[i];
	return NULL;
}

/*
 * Checks that @fe can be reopened as dumped, without touching anything.
 * Returns 0 or -errno (logged with the path).
 */
static int validate_file(const FileEntry *fe)
{
	struct stat st;
	bool ok;

	if (fe->path[0] != '/') {
		pr_err("file id %u: path %s in the image is not absolute", fe->id, fe->path);
		return -EBADMSG;
	}
	if (stat(fe->path, &st) < 0)
		return pr_errno(-errno, "file %s (open at dump) can't be found", fe->path);

	switch (fe->kind) {
	case FILE_KIND__FILE_REG:
		ok = S_ISREG(st.st_mode);
		break;
	case FILE_KIND__FILE_DIR:
		ok = S_ISDIR(st.st_mode);
		break;
	case FILE_KIND__FILE_CHR:
		ok = S_ISCHR(st.st_mode);
		break;
	default:
		pr_err("file %s: unknown kind %d in the image", fe->path, fe->kind);
		return -EBADMSG;
	}
	if (!ok) {
		pr_err("file %s was a %s at dump, it is not one now", fe->path, kind_name(fe->kind));
		return -ESTALE;
	}

	if (fe->kind == FILE_KIND__FILE_REG) {
		if (!fe->has_size) {
			pr_err("file %s: regular file without a size in the image", fe->path);
			return -EBADMSG;
		}
		if ((uint64_t)st.st_size != fe->size) {
			pr_err("file %s changed size since dump (was %llu bytes, now %llu)",
			       fe->path, (unsigned long long)fe->size,
			       (unsigned long long)st.st_size);
			return -ESTALE;
		}
	}
	if (fe->kind == FILE_KIND__FILE_CHR) {
		dev_t want;

		if (!fe->has_rdev) {
			pr_err("file %s: character device without rdev in the image", fe->path);
			return -EBADMSG;
		}
		want = rdev_decode(fe->rdev);
		if (!chr_is_allowed(want)) {
			pr_err("file %s: character device %u:%u in the image is not one cr restores",
			       fe->path, major(want), minor(want));
			return -EBADMSG;
		}
		if (st.st_rdev != want) {
			pr_err("file %s was character device %u:%u at dump, now %u:%u",
			       fe->path, major(want), minor(want),
			       major(st.st_rdev), minor(st.st_rdev));
			return -ESTALE;
		}
	}
	return 0;
}

static int cmp_plan_fd(const void *a, const void *b)
{
	const struct files_plan_fd *x = a, *y = b;

	return (x->fd > y->fd) - (x->fd < y->fd);
}

/* Appends the fd described by @fdi to @plan. Returns 0 or -errno. */
static int plan_add(struct files_plan *plan, size_t *cap, const FdinfoEntry *fdi,
		    const FileEntry *fe)
{
	struct files_plan_fd *pf;

	if (fdi->fd > INT_MAX) {
		pr_err("pid %d: fd %u in the image is out of range", plan->pid, fdi->fd);
		return -EBADMSG;
	}
	if (plan->nr == *cap) {
		struct files_plan_fd *n;

		*cap = *cap ? *cap * 2 : 16;
		n = xrealloc(plan->fds, *cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		plan->fds = n;
	}
	pf = &plan->fds[plan->nr];
	pf->path = xstrdup(fe->path);
	if (!pf->path)
		return -ENOMEM;
	pf->fd = fdi->fd;
	pf->id = fdi->id;
	pf->cloexec = fdi->cloexec;
	pf->kind = fe->kind;
	pf->flags = fe->flags;
	pf->pos = fe->pos;
	plan->nr++;
	return 0;
}

int files_prepare(int dfd, pid_t pid, struct files_plan **ret)
{
	_cleanup_(files_plan_freep) struct files_plan *plan = NULL;
	_cleanup_img_ struct img *img = NULL;
	struct file_table table = { 0 };
	size_t cap = 0;
	int r;

	plan = xzalloc(sizeof(*plan));
	if (!plan)
		return -ENOMEM;
	plan->pid = pid;

	r = file_table_read(dfd, &table);
	if (r < 0)
		goto out;

	r = img_open(dfd, IMG_FDINFO, pid, O_RDONLY, &img);
	if (r < 0)
		goto out;

	for (;;) {
		FdinfoEntry *fdi;
		FileEntry *fe;
		void *msg;

		r = pb_read_one(img, &msg, PB_FDINFO);
		if (r <= 0)
			break;
		fdi = msg;

		fe = file_table_find(&table, fdi->id);
		if (!fe) {
			pr_err("pid %d: fd %u refers to file id %u, which files.img lacks",
			       pid, fdi->fd, fdi->id);
			r = -EBADMSG;
		} else {
			r = validate_file(fe);
			if (r == 0)
				r = plan_add(plan, &cap, fdi, fe);
		}
		pb_free(msg, PB_FDINFO);
		if (r < 0)
			goto out;
	}
	if (r < 0)
		goto out;

	qsort(plan->fds, plan->nr, sizeof(*plan->fds), cmp_plan_fd);
	for (unsigned i = 1; i < plan->nr; i++) {
		if (plan->fds[i].fd == plan->fds[i - 1].fd) {
			pr_err("pid %d: fd %d appears twice in %s", pid, plan->fds[i].fd, img->name);
			r = -EBADMSG;
			goto out;
		}
	}

	pr_info("pid %d: %u file descriptors to restore", pid, plan->nr);
	*ret = TAKE_PTR(plan);
	r = 0;
out:
	file_table_release(&table);
	return r;
}

int files_max_fd(const struct files_plan *plan)
{
	if (!plan || !plan->nr)
		return -1;
	return plan->fds[plan->nr - 1].fd;
}

/* Opens one planned fd at a free number (O_CLOEXEC) and seeks it. */
static int open_one(const struct files_plan *plan, const struct files_plan_fd *pf)
{
	_cleanup_close_ int tmp = -EBADF;
	/* Reopening must never create, truncate or fail on an existing file. */
	int oflags = (pf->flags & ~(O_CREAT | O_TRUNC | O_EXCL)) | O_CLOEXEC;

	tmp = open(pf->path, oflags);
	if (tmp < 0)
		return pr_errno(-errno, "pid %d: fd %d: can't reopen %s (flags 0%o)",
				plan->pid, pf->fd, pf->path, oflags);

	/*
	 * Positions matter for directories too (getdents resumes from it).
	 * Character devices ignore or refuse seeks; the position has no
	 * meaning for the allowed ones, so an error there is harmless.
	 */
	if (lseek(tmp, pf->pos, SEEK_SET) < 0 && pf->kind != FILE_KIND__FILE_CHR)
		return pr_errno(-errno, "pid %d: fd %d: can't seek %s to %llu",
				plan->pid, pf->fd, pf->path, (unsigned long long)pf->pos);

	return TAKE_FD(tmp);
}

/* Moves @tmp to number @fd with the dumped close-on-exec flag; consumes @tmp. */
static int place_fd(const struct files_plan *plan, const struct files_plan_fd *pf, int tmp)
{
	_cleanup_close_ int src = tmp;

	if (src == pf->fd) {
		/* dup3() refuses equal numbers; only the flag needs fixing. */
		if (fcntl(src, F_SETFD, pf->cloexec ? FD_CLOEXEC : 0) < 0)
			return pr_errno(-errno, "pid %d: fd %d: can't set FD_CLOEXEC on %s",
					plan->pid, pf->fd, pf->path);
		TAKE_FD(src);
		return 0;
	}
	if (dup3(src, pf->fd, pf->cloexec ? O_CLOEXEC : 0) < 0)
		return pr_errno(-errno, "pid %d: fd %d: can't move %s there from fd %d",
				plan->pid, pf->fd, pf->path, src);
	return 0;
}

/*
 * Closes every fd below @keep_from that the plan does not name, so the
 * restored task does not inherit cr's (or its harness's) descriptors.
 */
static int close_unplanned(const struct files_plan *plan, int keep_from)
{
	unsigned next = 0;

	for (unsigned i = 0; i <= plan->nr; i++) {
		unsigned end = i < plan->nr ? (unsigned)plan->fds[i].fd : (unsigned)keep_from;

		if (end > next && close_range(next, end - 1, 0) < 0)
			return pr_errno(-errno, "pid %d: can't close fds %u..%u",
					plan->pid, next, end - 1);
		next = end + 1;
	}
	return 0;
}

int files_restore(const struct files_plan *plan, int keep_from)
{
	int ret;

	if (files_max_fd(plan) >= keep_from) {
		pr_err("pid %d: fd %d collides with cr's own fds (from %d up)",
		       plan->pid, files_max_fd(plan), keep_from);
		return -EINVAL;
	}

	for (unsigned i = 0; i < plan->nr; i++) {
		const struct files_plan_fd *pf = &plan->fds[i];
		int tmp = -1;

		/* A file an earlier fd already opened is shared, not reopened. */
		for (unsigned j = 0; j < i; j++) {
			if (plan->fds[j].id != pf->id)
				continue;
			tmp = fcntl(plan->fds[j].fd, F_DUPFD_CLOEXEC, 0);
			if (tmp < 0)
				return pr_errno(-errno, "pid %d: fd %d: can't dup fd %d", plan->pid,
						pf->fd, plan->fds[j].fd);
			break;
		}
		if (tmp < 0)
			tmp = open_one(plan, pf);
		if (tmp < 0)
			return tmp;
		/*
		 * The temporary number may be one a later entry needs; that
		 * is fine since place_fd() frees it before the next open.
		 * It can't be an earlier entry's: those are in use.
		 */
		ret = place_fd(plan, pf, tmp);
		if (ret < 0)
			return ret;
		pr_debug("pid %d: restored fd %d: %s %s flags 0%o pos %llu%s",
			 plan->pid, pf->fd, kind_name(pf->kind), pf->path, pf->flags,
			 (unsigned long long)pf->pos, pf->cloexec ? " cloexec" : "");
	}

	return close_unplanned(plan, keep_from);
}
