/*
 * The fd framework: which open file descriptions the tree has, which fds
 * name them, and how each task gets them back at the same numbers.
 *
 * Dump: every fd of every task is looked up by (device, inode) and then
 * ordered with kcmp(KCMP_FILE), so one open file description seen from
 * several fds or tasks gets one id in files.img; the kind's dump() runs
 * once per id, on a copy of the description in cr (pidfd_getfd).
 *
 * Restore: cr creates every description once, before the first fork,
 * preferably at the fd number of its first user. Each task inherits all
 * of them and moves its own to their numbers (files_restore()).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <linux/kcmp.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "cr.h"
#include "log.h"
#include "files.h"
#include "files-kind.h"
#include "image.h"
#include "io.h"
#include "proc-parse.h"
#include "pstree.h"
#include "restorer-abi.h"

/* The kernel's O_LARGEFILE (asm-generic/fcntl.h); glibc's is 0 on 64-bit. */
#define KERNEL_O_LARGEFILE	0100000

/* Status flags F_SETFL can change (fs/fcntl.c SETFL_MASK). */
#define SETFL_MASK	(O_APPEND | O_NONBLOCK | O_NDELAY | O_DIRECT | O_NOATIME | O_ASYNC)

/* The tty kinds come before chr (whose short list of devices excludes ttys anyway). */
static const struct fd_kind *const kinds[] = {
	&fd_kind_reg, &fd_kind_dir, &fd_kind_tty, &fd_kind_ptmx, &fd_kind_chr,
	/* inet first: its match is one getxattr, unix's may re-read unix_diag. */
	&fd_kind_inet_sk, &fd_kind_unix,
	&fd_kind_pipe, &fd_kind_fifo,
	&fd_kind_eventfd, &fd_kind_signalfd, &fd_kind_timerfd, &fd_kind_epoll,
	&fd_kind_inotify, &fd_kind_fanotify,
};

static const struct fd_kind *kind_of(FileKind k)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (kinds[i]->kind == k)
			return kinds[i];
	return NULL;
}

/* ==== dump ============================================================== */

/* One fd known to hold an open file of a bucket, ordered by kcmp. */
struct fd_rep {
	pid_t pid;
	int fd;
	uint32_t id;
};

/* All open files of the tree with one (device, inode). */
struct fd_bucket {
	dev_t dev;
	ino_t ino;
	struct fd_rep *reps;
	unsigned nr, cap;
	struct fd_bucket *next;		/* hash chain */
};

/* Locks found in an fdinfo, as written to the image. */
struct lock_list {
	FileLock **v;
	size_t nr;
};

static void lock_list_free(struct lock_list *l)
{
	for (size_t i = 0; i < l->nr; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->nr = 0;
}

/* A description whose kind dumps once the whole tree is seen. */
struct fd_deferred {
	struct fd_dump d;
	const struct fd_kind *kind;
	FileEntry fe;
	FownEntry fown;
	struct lock_list locks;
};

struct files_dump {
	const struct pstree *tree;
	struct guard *guard;		/* or NULL */
	struct img *files, *fdata;
	uint32_t next_id;
	struct fd_bucket **hash;
	size_t hash_size, nr_buckets;
	struct fd_deferred **deferred;
	size_t nr_deferred, cap_deferred;
};

static size_t bucket_hash(const struct files_dump *df, dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev * 0xc2b2ae3d27d4eb4full;

	return (h >> 17) & (df->hash_size - 1);
}

static struct fd_bucket *bucket_find(const struct files_dump *df, dev_t dev, ino_t ino)
{
	struct fd_bucket *b;

	for (b = df->hash[bucket_hash(df, dev, ino)]; b; b = b->next)
		if (b->dev == dev && b->ino == ino)
			return b;
	return NULL;
}

static int hash_grow(struct files_dump *df)
{
	size_t old = df->hash_size, size = old ? old * 2 : 1024;
	struct fd_bucket **n = xzalloc(size * sizeof(*n)), **o = df->hash;

	if (!n)
		return -ENOMEM;
	df->hash = n;
	df->hash_size = size;
	for (size_t i = 0; i < old; i++) {
		while (o[i]) {
			struct fd_bucket *b = o[i];
			size_t h = bucket_hash(df, b->dev, b->ino);

			o[i] = b->next;
			b->next = n[h];
			n[h] = b;
		}
	}
	free(o);
	return 0;
}

static struct fd_bucket *bucket_get(struct files_dump *df, dev_t dev, ino_t ino)
{
	struct fd_bucket *b = bucket_find(df, dev, ino);
	size_t h;

	if (b)
		return b;
	if (df->nr_buckets >= df->hash_size && hash_grow(df))
		return NULL;
	b = xzalloc(sizeof(*b));
	if (!b)
		return NULL;
	b->dev = dev;
	b->ino = ino;
	h = bucket_hash(df, dev, ino);
	b->next = df->hash[h];
	df->hash[h] = b;
	df->nr_buckets++;
	return b;
}

struct kcmp_file_arg {
	pid_t pid;
	int fd;
};

static int kcmp_file(pid_t pid, int fd, void *arg)
{
	const struct kcmp_file_arg *a = arg;

	return syscall(SYS_kcmp, a->pid, pid, KCMP_FILE, a->fd, fd);
}

/*
 * Binary search of @b's reps with @same. Returns the index of the equal
 * rep (>= 0), or -(insertion point) - 1, or -ERANGE-ish via *err.
 */
static long bucket_search(struct fd_bucket *b, int (*same)(pid_t, int, void *), void *arg, int *err)
{
	long lo = 0, hi = (long)b->nr - 1;

	*err = 0;
	while (lo <= hi) {
		long mid = (lo + hi) / 2;
		int r = same(b->reps[mid].pid, b->reps[mid].fd, arg);

		if (r == 0)
			return mid;
		if (r == 1)		/* ours is lower */
			hi = mid - 1;
		else if (r == 2)
			lo = mid + 1;
		else {
			*err = r < 0 ? -errno : -EINVAL;
			return 0;
		}
	}
	return -lo - 1;
}

int files_dump_find(struct files_dump *df, dev_t dev, ino_t ino,
		    int (*same)(pid_t pid, int fd, void *arg), void *arg, uint32_t *ret_id)
{
	struct fd_bucket *b = bucket_find(df, dev, ino);
	long i;
	int err;

	if (!b || !b->nr)
		return -ENOENT;
	if (!same) {
		*ret_id = b->reps[0].id;
		for (unsigned k = 1; k < b->nr; k++)
			if (b->reps[k].id < *ret_id)
				*ret_id = b->reps[k].id;
		return 0;
	}
	i = bucket_search(b, same, arg, &err);
	if (err)
		return pr_errno(err, "comparing open files with kcmp");
	if (i < 0)
		return -ENOENT;
	*ret_id = b->reps[i].id;
	return 0;
}

int files_refuse(const struct fd_dump *d, const char *what, const char *why)
{
	if (why)
		pr_err("pid %d: fd %d is %s (%s), which cr cannot dump: %s",
		       d->pid, d->fd, what, d->link, why);
	else
		pr_err("pid %d: fd %d is %s (%s), which cr cannot dump",
		       d->pid, d->fd, what, d->link);
	return -ENOTSUP;
}

int fdata_append(struct files_dump *df, const void *buf, size_t len, DataRef *ref)
{
	struct img *img = df->fdata;
	int err;

	data_ref__init(ref);
	ref->off = img->off;
	ref->len = len;
	ref->crc = crc32c(0, buf, len);
	err = write_all(img->fd, buf, len);
	if (err)
		return pr_errno(err, "%s: writing file data", img->name);
	img->off += len;
	return 0;
}

int fdata_append_fd(struct files_dump *df, int fd, uint64_t off, uint64_t len, DataRef *ref)
{
	enum { CHUNK = 1 << 20 };
	_cleanup_free_ char *buf = xmalloc(CHUNK);
	struct img *img = df->fdata;
	uint64_t done = 0;
	uint32_t crc = 0;
	int err;

	if (!buf)
		return -ENOMEM;
	data_ref__init(ref);
	ref->off = img->off;
	ref->len = len;
	while (done < len) {
		size_t want = len - done < CHUNK ? len - done : CHUNK;
		ssize_t n = pread(fd, buf, want, off + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pr_errno(-errno, "reading file content at %llu", (unsigned long long)(off + done));
		if (n == 0)
			return pr_errno(-EIO, "file content ends at %llu, %llu bytes expected",
					(unsigned long long)(off + done), (unsigned long long)(off + len));
		err = write_all(img->fd, buf, n);
		if (err)
			return pr_errno(err, "%s: writing file data", img->name);
		crc = crc32c(crc, buf, n);
		done += n;
	}
	ref->crc = crc;
	img->off += len;
	return 0;
}

bool files_dump_pid_in_tree(const struct files_dump *df, pid_t pid)
{
	return df->tree && pstree_find(df->tree, pid);
}

void files_dump_set_guard(struct files_dump *df, struct guard *g)
{
	df->guard = g;
}

struct guard *files_dump_guard(const struct files_dump *df)
{
	return df->guard;
}

int files_dump_begin(int dfd, const struct pstree *tree, struct files_dump **ret)
{
	struct files_dump *df = xzalloc(sizeof(*df));
	int err;

	if (!df)
		return -ENOMEM;
	df->tree = tree;
	df->next_id = 1;
	err = hash_grow(df);
	if (!err)
		err = img_open(dfd, IMG_FILES, 0, O_WRONLY, &df->files);
	if (!err)
		err = img_open(dfd, IMG_FDATA, 0, O_WRONLY, &df->fdata);
	if (err) {
		files_dump_free(df);
		return err;
	}
	*ret = df;
	return 0;
}

static void fd_dump_release(struct fd_dump *d)
{
	if (d->cr_fd >= 0)
		close(d->cr_fd);
	d->cr_fd = -1;
	free(d->link);
	free(d->fdinfo);
	d->link = d->fdinfo = NULL;
}

void files_dump_free(struct files_dump *df)
{
	if (!df)
		return;
	img_close(df->files);
	img_close(df->fdata);
	for (size_t i = 0; i < df->hash_size; i++) {
		while (df->hash[i]) {
			struct fd_bucket *b = df->hash[i];

			df->hash[i] = b->next;
			free(b->reps);
			free(b);
		}
	}
	free(df->hash);
	for (size_t i = 0; i < df->nr_deferred; i++) {
		fd_dump_release(&df->deferred[i]->d);
		lock_list_free(&df->deferred[i]->locks);
		free(df->deferred[i]);
	}
	free(df->deferred);
	free(df);
}

/* Reads the fd numbers of /proc/PID/fd, sorted; returns the count or -errno. */
static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

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

			cap = cap ? cap * 2 : 64;
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

/* Link, stat and fdinfo of one fd. */
static int probe_fd(pid_t pid, int fd, struct fd_dump *d)
{
	char lpath[64], buf[PATH_MAX + 1];
	ssize_t n;
	int err;

	d->pid = pid;
	d->fd = fd;
	d->cr_fd = -1;
	snprintf(lpath, sizeof(lpath), "/proc/%d/fd/%d", pid, fd);
	n = readlink(lpath, buf, sizeof(buf));
	if (n < 0)
		return pr_errno(-errno, "pid %d: fd %d: readlink %s", pid, fd, lpath);
	if ((size_t)n >= sizeof(buf))
		return pr_errno(-ENAMETOOLONG, "pid %d: fd %d: link target is longer than PATH_MAX", pid, fd);
	buf[n] = '\0';
	d->link = xstrdup(buf);
	if (!d->link)
		return -ENOMEM;
	/* stat() follows the magic link to the open file itself. */
	if (stat(lpath, &d->st) < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): stat %s", pid, fd, d->link, lpath);
	snprintf(lpath, sizeof(lpath), "/proc/%d/fdinfo/%d", pid, fd);
	err = read_file_at(AT_FDCWD, lpath, &d->fdinfo, NULL);
	if (!err)
		err = parse_fdinfo_buf(d->fdinfo, &d->fdi);
	if (err)
		return pr_errno(err, "pid %d: fd %d: %s", pid, fd, lpath);
	return 0;
}

static const struct fd_kind *classify(const struct fd_dump *d)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (kinds[i]->match && kinds[i]->match(d))
			return kinds[i];
	return NULL;
}

/* Names what an fd without a kind is, for the refusal. */
static int refuse_unknown(const struct fd_dump *d)
{
	const char *l = d->link;
	char what[128];

	if (!strncmp(l, "anon_inode:", 11)) {
		const char *type = l + 11;
		size_t len = strlen(type);

		if (len >= 2 && type[0] == '[' && type[len - 1] == ']') {
			type++;
			len -= 2;
		}
		snprintf(what, sizeof(what), "an anonymous inode (%.*s)", (int)len, type);
	} else if (!strncmp(l, "pipe:", 5) || S_ISFIFO(d->st.st_mode)) {
		snprintf(what, sizeof(what), "a pipe");
	} else if (!strncmp(l, "socket:", 7) || S_ISSOCK(d->st.st_mode)) {
		snprintf(what, sizeof(what), "a socket");
	} else if (S_ISBLK(d->st.st_mode)) {
		snprintf(what, sizeof(what), "block device %u:%u", major(d->st.st_rdev), minor(d->st.st_rdev));
	} else if (S_ISCHR(d->st.st_mode)) {
		snprintf(what, sizeof(what), "character device %u:%u", major(d->st.st_rdev), minor(d->st.st_rdev));
	} else {
		snprintf(what, sizeof(what), "a file of a kind cr does not know (mode 0%o)",
			 (unsigned)d->st.st_mode);
	}
	return files_refuse(d, what, NULL);
}

/* ---- locks: "lock:\t1: POSIX  ADVISORY  WRITE 1234 00:2a:5678 10 EOF" ---- */

/*
 * Collects the locks in @d's fdinfo: flock and OFD locks when @posix is
 * false, POSIX locks when it is true. A lease is refused.
 */
static int parse_locks(const struct fd_dump *d, bool posix, struct lock_list *out)
{
	for (const char *line = d->fdinfo; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		char kind[16], adv[16], type[16], end[32];
		long long start;
		int pid, n;
		FileLock *l, **v;
		LockKind k;

		if (strncmp(line, "lock:", 5))
			continue;
		n = sscanf(line, "lock:%*[ \t]%*d:%15s %15s %15s %d %*s %lld %31s",
			   kind, adv, type, &pid, &start, end);
		if (n != 6)
			return pr_errno(-EINVAL, "pid %d: fd %d: unexpected lock line in fdinfo: %.80s",
					d->pid, d->fd, line);
		if (!strcmp(kind, "POSIX"))
			k = LOCK_KIND__LOCK_POSIX;
		else if (!strcmp(kind, "FLOCK"))
			k = LOCK_KIND__LOCK_FLOCK;
		else if (!strcmp(kind, "OFDLCK"))
			k = LOCK_KIND__LOCK_OFD;
		else
			return files_refuse(d, "a file with a lease or delegation", kind);
		if ((k == LOCK_KIND__LOCK_POSIX) != posix)
			continue;
		if (strcmp(adv, "ADVISORY"))
			return files_refuse(d, "a file with a mandatory lock", NULL);
		if (k == LOCK_KIND__LOCK_POSIX && pid != d->pid)
			return files_refuse(d, "a file with a POSIX lock of another process", NULL);

		l = xmalloc(sizeof(*l));
		v = l ? xrealloc(out->v, (out->nr + 1) * sizeof(*v)) : NULL;
		if (!v) {
			free(l);
			return -ENOMEM;
		}
		out->v = v;
		file_lock__init(l);
		l->kind = k;
		l->type = !strcmp(type, "WRITE") ? F_WRLCK : F_RDLCK;
		l->start = start;
		l->len = !strcmp(end, "EOF") ? 0 : strtoll(end, NULL, 10) - start + 1;
		out->v[out->nr++] = l;
	}
	return 0;
}

/* The owner (F_SETOWN_EX) and signal (F_SETSIG) of the description. */
static int dump_fown(const struct fd_dump *d, FileEntry *fe, FownEntry *fown)
{
	struct f_owner_ex ex;
	int sig;

	if (fcntl(d->cr_fd, F_GETOWN_EX, &ex) < 0)
		return pr_errno(-errno, "pid %d: fd %d: F_GETOWN_EX", d->pid, d->fd);
	sig = fcntl(d->cr_fd, F_GETSIG);
	if (sig < 0)
		return pr_errno(-errno, "pid %d: fd %d: F_GETSIG", d->pid, d->fd);
	if (!ex.pid && !sig)
		return 0;
	fown_entry__init(fown);
	fown->type = ex.type;
	fown->pid = ex.pid;
	fown->signum = sig;
	fe->fown = fown;
	return 0;
}

static int write_entry(struct files_dump *df, const struct fd_kind *k, struct fd_dump *d,
		       FileEntry *fe)
{
	int err = k->dump(d, fe);

	if (!err)
		err = pb_write_one(df->files, fe, PB_FILE);
	if (k->free_entry)
		k->free_entry(fe);
	if (!err)
		pr_debug("pid %d: fd %d -> file id %u: %s %s flags 0%o", d->pid, d->fd, fe->id,
			 k->name, d->link, fe->flags);
	return err;
}

/* The first sight of an open file description: give it an id and dump it. */
static int dump_new_file(struct files_dump *df, int pidfd, struct fd_dump *d, uint32_t id)
{
	_cleanup_free_ struct fd_deferred *def = NULL;
	const struct fd_kind *k = classify(d);
	int err;

	if (!k)
		return refuse_unknown(d);
	if (d->fdi.flags & O_PATH) {
		/* pidfd_getfd() refuses O_PATH files; a new O_PATH open is as good. */
		char p[64];

		snprintf(p, sizeof(p), "/proc/%d/fd/%d", d->pid, d->fd);
		d->cr_fd = open(p, O_PATH | O_CLOEXEC);
	} else {
		d->cr_fd = syscall(SYS_pidfd_getfd, pidfd, d->fd, 0);
	}
	if (d->cr_fd < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): getting a copy of it", d->pid, d->fd, d->link);

	def = xzalloc(sizeof(*def));
	if (!def)
		return -ENOMEM;
	file_entry__init(&def->fe);
	def->fe.id = id;
	def->fe.kind = k->kind;
	/* O_CLOEXEC belongs to the fd; O_LARGEFILE is forced on 64-bit. */
	def->fe.flags = d->fdi.flags & ~(O_CLOEXEC | KERNEL_O_LARGEFILE);
	/* An O_PATH file has no owner (fcntl refuses F_GETOWN_EX on it). */
	err = d->fdi.flags & O_PATH ? 0 : dump_fown(d, &def->fe, &def->fown);
	if (err)
		return err;
	if (!err)
		err = parse_locks(d, false, &def->locks);
	def->fe.locks = def->locks.v;
	def->fe.n_locks = def->locks.nr;
	if (!k->deferred || err) {
		if (!err)
			err = write_entry(df, k, d, &def->fe);
		lock_list_free(&def->locks);
		return err;
	}

	if (df->nr_deferred == df->cap_deferred) {
		size_t cap = df->cap_deferred ? df->cap_deferred * 2 : 16;
		struct fd_deferred **n = xrealloc(df->deferred, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		df->deferred = n;
		df->cap_deferred = cap;
	}
	def->kind = k;
	def->d = *d;
	if (def->fe.fown)
		def->fe.fown = &def->fown;
	/*
	 * The copy owns link and cr_fd now; fdinfo is copied, the caller
	 * still reads the task's POSIX locks from it.
	 */
	def->d.fdinfo = xstrdup(d->fdinfo);
	if (!def->d.fdinfo)
		return -ENOMEM;
	d->link = NULL;
	d->cr_fd = -1;
	df->deferred[df->nr_deferred++] = TAKE_PTR(def);
	return 0;
}

/* Looks @d up among the tree's open files; returns its id, new or known. */
static int dump_one_fd(struct files_dump *df, int pidfd, struct fd_dump *d, uint32_t *ret_id)
{
	struct kcmp_file_arg arg = { d->pid, d->fd };
	struct fd_bucket *b = bucket_get(df, d->st.st_dev, d->st.st_ino);
	struct fd_rep *rep;
	long i;
	int err;

	if (!b)
		return -ENOMEM;
	i = bucket_search(b, kcmp_file, &arg, &err);
	if (err)
		return pr_errno(err, "pid %d: fd %d: kcmp", d->pid, d->fd);
	if (i >= 0) {
		*ret_id = b->reps[i].id;
		return 0;
	}
	i = -i - 1;
	if (b->nr == b->cap) {
		unsigned cap = b->cap ? b->cap * 2 : 2;
		struct fd_rep *n = xrealloc(b->reps, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		b->reps = n;
		b->cap = cap;
	}
	memmove(&b->reps[i + 1], &b->reps[i], (b->nr - i) * sizeof(*b->reps));
	rep = &b->reps[i];
	rep->pid = d->pid;
	rep->fd = d->fd;
	rep->id = df->next_id++;
	b->nr++;
	*ret_id = rep->id;
	return dump_new_file(df, pidfd, d, rep->id);
}

/* Inodes whose POSIX locks one task already recorded (every fd shows them). */
struct locked_inodes {
	struct { dev_t dev; ino_t ino; } *v;
	size_t nr;
};

/* The task's POSIX locks on @d's file, unless an earlier fd of it had them. */
static int take_posix_locks(const struct fd_dump *d, struct locked_inodes *seen, struct lock_list *pl)
{
	void *n;
	int err;

	for (size_t i = 0; i < seen->nr; i++)
		if (seen->v[i].dev == d->st.st_dev && seen->v[i].ino == d->st.st_ino)
			return 0;
	err = parse_locks(d, true, pl);
	if (err || !pl->nr)
		return err;
	n = xrealloc(seen->v, (seen->nr + 1) * sizeof(*seen->v));
	if (!n)
		return -ENOMEM;
	seen->v = n;
	seen->v[seen->nr].dev = d->st.st_dev;
	seen->v[seen->nr].ino = d->st.st_ino;
	seen->nr++;
	return 0;
}

int files_dump(struct files_dump *df, pid_t pid, struct img *fdinfo_img)
{
	struct locked_inodes seen = { 0 };
	_cleanup_free_ int *fds = NULL;
	_cleanup_close_ int pidfd = -EBADF;
	int nr, err = 0;

	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		err = kinds[k]->dump_task ? kinds[k]->dump_task(df, pid) : 0;
		if (err)
			return err;
	}
	nr = list_fds(pid, &fds);
	if (nr < 0)
		return nr;
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return pr_errno(-errno, "pid %d: pidfd_open", pid);

	for (int i = 0; i < nr && !err; i++) {
		struct fd_dump d = { .df = df, .cr_fd = -1 };
		FdinfoEntry fdi = FDINFO_ENTRY__INIT;

		struct lock_list pl = { 0 };

		err = probe_fd(pid, fds[i], &d);
		if (!err)
			err = dump_one_fd(df, pidfd, &d, &fdi.id);
		/* A deferred description took d.fdinfo along (no locks on those kinds). */
		if (!err && d.fdinfo && strstr(d.fdinfo, "lock:"))
			err = take_posix_locks(&d, &seen, &pl);
		if (!err) {
			fdi.fd = fds[i];
			fdi.cloexec = !!(d.fdi.flags & O_CLOEXEC);
			fdi.posix_locks = pl.v;
			fdi.n_posix_locks = pl.nr;
			err = pb_write_one(fdinfo_img, &fdi, PB_FDINFO);
		}
		lock_list_free(&pl);
		fd_dump_release(&d);
	}
	free(seen.v);
	if (!err)
		pr_info("pid %d: dumped %d file descriptors", pid, nr);
	return err;
}

int files_dump_finish(struct files_dump *df)
{
	int err = 0;

	for (size_t i = 0; i < df->nr_deferred && !err; i++) {
		struct fd_deferred *def = df->deferred[i];

		err = write_entry(df, def->kind, &def->d, &def->fe);
	}
	for (size_t k = 0; k < ARRAY_SIZE(kinds) && !err; k++)
		if (kinds[k]->dump_finish)
			err = kinds[k]->dump_finish(df);
	if (!err)
		err = img_close(TAKE_PTR(df->files));
	if (!err)
		err = img_close(TAKE_PTR(df->fdata));
	return err;
}

void files_dump_end(bool tree_killed)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (kinds[i]->dump_end)
			kinds[i]->dump_end(tree_killed);
}

/* ==== restore =========================================================== */

struct rst_file {
	FileEntry *fe;
	const struct fd_kind *kind;
	int fd;				/* cr's, -1 until open */
	int want_fd;			/* the number of its first user, -1 none */
	int inherit_fd;			/* --inherit-fd: cr's fd standing for it, -1 none */
	bool opening, post_done;
};

struct files_rst {
	int dfd;
	const struct shmem_table *shm;
	struct rst_file *f;		/* sorted by id */
	size_t nr;
	int fdata_fd;
	uint64_t fdata_end;		/* where its data ends */
	int keep_from;
	/*
	 * at[n] for n < keep_from: 1 + the index of the file whose copy is
	 * at number n in cr, 0 for none. Each task updates its own copy.
	 */
	int *at;
};

struct files_plan_fd {
	int fd;
	unsigned idx;			/* into files_rst.f */
	bool cloexec;
};

struct files_plan {
	pid_t pid;
	struct files_plan_fd *fds;	/* sorted by fd */
	unsigned nr;
	struct restorer_lock *locks;	/* POSIX locks, taken by the restorer */
	unsigned nr_locks;
};

const FileEntry *files_rst_entry(const struct files_rst *rf, uint32_t id)
{
	size_t lo = 0, hi = rf->nr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (rf->f[mid].fe->id == id)
			return rf->f[mid].fe;
		if (rf->f[mid].fe->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static long rst_index(const struct files_rst *rf, uint32_t id)
{
	const FileEntry *fe = files_rst_entry(rf, id);

	if (!fe)
		return -1;
	for (size_t lo = 0, hi = rf->nr; lo < hi;) {
		size_t mid = (lo + hi) / 2;

		if (rf->f[mid].fe == fe)
			return mid;
		if (rf->f[mid].fe->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* A data reference must lie in fdata.img's data. 0 or -EBADMSG (logged). */
static int fdata_ref_check(const struct files_rst *rf, const DataRef *ref)
{
	if (ref->off < IMG_PAGES_DATA_OFF || ref->off > rf->fdata_end || ref->len > rf->fdata_end - ref->off)
		return pr_errno(-EBADMSG, "fdata.img: %llu bytes at %llu lie outside its data (%u-%llu)",
				(unsigned long long)ref->len, (unsigned long long)ref->off,
				IMG_PAGES_DATA_OFF, (unsigned long long)rf->fdata_end);
	return 0;
}

int fdata_read(struct files_rst *rf, const DataRef *ref, void *buf)
{
	size_t done = 0;
	int err = fdata_ref_check(rf, ref);

	if (err)
		return err;

	while (done < ref->len) {
		ssize_t n = pread(rf->fdata_fd, (char *)buf + done, ref->len - done,
				  ref->off + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pr_errno(-errno, "fdata.img: reading %llu bytes at %llu",
					(unsigned long long)ref->len, (unsigned long long)ref->off);
		if (n == 0)
			return pr_errno(-EBADMSG, "fdata.img is truncated (%llu bytes at %llu expected)",
					(unsigned long long)ref->len, (unsigned long long)ref->off);
		done += n;
	}
	if (crc32c(0, buf, ref->len) != ref->crc)
		return pr_errno(-EBADMSG, "fdata.img: checksum mismatch in %llu bytes at %llu",
				(unsigned long long)ref->len, (unsigned long long)ref->off);
	return 0;
}

int fdata_copy_to_fd(struct files_rst *rf, const DataRef *ref, int fd)
{
	enum { CHUNK = 1 << 20 };
	_cleanup_free_ char *buf = xmalloc(CHUNK);
	uint64_t done = 0;
	uint32_t crc = 0;
	int err = fdata_ref_check(rf, ref);

	if (err)
		return err;
	if (!buf)
		return -ENOMEM;
	while (done < ref->len) {
		size_t want = ref->len - done < CHUNK ? ref->len - done : CHUNK;
		ssize_t n = pread(rf->fdata_fd, buf, want, ref->off + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pr_errno(-errno, "fdata.img: reading at %llu", (unsigned long long)(ref->off + done));
		if (n == 0)
			return pr_errno(-EBADMSG, "fdata.img is truncated (%llu bytes at %llu expected)",
					(unsigned long long)ref->len, (unsigned long long)ref->off);
		crc = crc32c(crc, buf, n);
		err = write_all(fd, buf, n);
		if (err)
			return pr_errno(err, "writing restored file content");
		done += n;
	}
	if (crc != ref->crc)
		return pr_errno(-EBADMSG, "fdata.img: checksum mismatch in %llu bytes at %llu",
				(unsigned long long)ref->len, (unsigned long long)ref->off);
	return 0;
}

static int cmp_rst_file(const void *a, const void *b)
{
	uint32_t x = ((const struct rst_file *)a)->fe->id, y = ((const struct rst_file *)b)->fe->id;

	return (x > y) - (x < y);
}

void files_rst_free(struct files_rst *rf, bool failed)
{
	if (!rf)
		return;
	for (size_t i = 0; i < rf->nr; i++) {
		struct rst_file *f = &rf->f[i];

		if (failed && f->fd >= 0 && f->kind && f->kind->abort && f->inherit_fd < 0)
			f->kind->abort(rf, f->fe);
		if (f->fd >= 0)
			close(f->fd);
		pb_free(f->fe, PB_FILE);
	}
	free(rf->f);
	free(rf->at);
	if (rf->fdata_fd >= 0)
		close(rf->fdata_fd);
	free(rf);
}

static int rst_read_table(struct files_rst *rf)
{
	_cleanup_img_ struct img *img = NULL;
	size_t cap = 0;
	int err;

	err = img_open(rf->dfd, IMG_FILES, 0, O_RDONLY, &img);
	if (err)
		return err;
	for (;;) {
		FileEntry *fe;
		void *msg;

		err = pb_read_one(img, &msg, PB_FILE);
		if (err <= 0)
			break;
		fe = msg;
		if (rf->nr == cap) {
			struct rst_file *n;

			cap = cap ? cap * 2 : 64;
			n = xrealloc(rf->f, cap * sizeof(*n));
			if (!n) {
				pb_free(msg, PB_FILE);
				return -ENOMEM;
			}
			rf->f = n;
		}
		rf->f[rf->nr++] = (struct rst_file){ .fe = fe, .fd = -1, .want_fd = -1, .inherit_fd = -1 };
		rf->f[rf->nr - 1].kind = kind_of(fe->kind);
		if (!rf->f[rf->nr - 1].kind)
			return pr_errno(-EBADMSG, "files.img: file id %u is of kind %d, which this cr does not know",
					fe->id, fe->kind);
	}
	if (err < 0)
		return err;
	qsort(rf->f, rf->nr, sizeof(*rf->f), cmp_rst_file);
	for (size_t i = 1; i < rf->nr; i++)
		if (rf->f[i].fe->id == rf->f[i - 1].fe->id)
			return pr_errno(-EBADMSG, "files.img: file id %u appears twice", rf->f[i].fe->id);
	return 0;
}

static const char *entry_key(const struct rst_file *f, char *buf, size_t size)
{
	if (f->kind->key)
		return f->kind->key(f->fe, buf, size);
	return f->fe->reg ? f->fe->reg->path : NULL;
}

/*
 * --inherit-fd fd[N]:KEY: every entry whose key is KEY is not created
 * but taken from cr's fd N (dup'd), as criu does for a container's stdio
 * pipes. A KEY that names nothing in the images is only a warning: the
 * caller may pass the same options to every restore.
 */
static int match_inherit_fds(struct files_rst *rf)
{
	for (unsigned j = 0; j < opts.nr_inherit_fds; j++) {
		const struct cr_inherit_fd *in = &opts.inherit_fds[j];
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


const struct shmem_table *files_rst_shmem(const struct files_rst *rf)
{
	return rf->shm;
}

int files_rst_read(int dfd, const struct shmem_table *shm, struct files_rst **ret)
{
	struct files_rst *rf = xzalloc(sizeof(*rf));
	int err;

	if (!rf)
		return -ENOMEM;
	rf->dfd = dfd;
	rf->shm = shm;
	rf->fdata_fd = -1;
	err = rst_read_table(rf);
	if (!err) {
		struct img *fdata = NULL;

		/* Its header and end marker checked; data is read by offset. */
		err = img_open(dfd, IMG_FDATA, 0, O_RDONLY, &fdata);
		if (!err) {
			rf->fdata_fd = TAKE_FD(fdata->fd);
			rf->fdata_end = fdata->data_end;
			img_close(fdata);
		}
	}
	if (!err)
		err = match_inherit_fds(rf);
	for (size_t i = 0; i < rf->nr && !err; i++)
		if (rf->f[i].kind->check && rf->f[i].inherit_fd < 0)
			err = rf->f[i].kind->check(rf, rf->f[i].fe);
	if (err) {
		files_rst_free(rf, false);
		return err;
	}
	*ret = rf;
	return 0;
}

void files_plan_free(struct files_plan *plan)
{
	if (!plan)
		return;
	free(plan->fds);
	free(plan->locks);
	free(plan);
}

static void files_plan_freep(struct files_plan **p)
{
	files_plan_free(*p);
}

static int cmp_plan_fd(const void *a, const void *b)
{
	const struct files_plan_fd *x = a, *y = b;

	return (x->fd > y->fd) - (x->fd < y->fd);
}

static int plan_add_locks(struct files_plan *plan, const FdinfoEntry *fdi)
{
	struct restorer_lock *n = xrealloc(plan->locks,
					   (plan->nr_locks + fdi->n_posix_locks) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	plan->locks = n;
	for (size_t i = 0; i < fdi->n_posix_locks; i++) {
		const FileLock *l = fdi->posix_locks[i];

		if (l->kind != LOCK_KIND__LOCK_POSIX || (l->type != F_RDLCK && l->type != F_WRLCK))
			return pr_errno(-EBADMSG, "pid %d: fd %u: invalid POSIX lock in the image",
					plan->pid, fdi->fd);
		plan->locks[plan->nr_locks++] = (struct restorer_lock){
			.fd = fdi->fd, .type = l->type, .start = l->start, .len = l->len,
		};
	}
	return 0;
}

unsigned files_posix_locks(const struct files_plan *plan, const struct restorer_lock **ret)
{
	*ret = plan ? plan->locks : NULL;
	return plan ? plan->nr_locks : 0;
}

int files_prepare(struct files_rst *rf, pid_t pid, struct files_plan **ret)
{
	_cleanup_(files_plan_freep) struct files_plan *plan = xzalloc(sizeof(*plan));
	_cleanup_img_ struct img *img = NULL;
	size_t cap = 0;
	int err;

	if (!plan)
		return -ENOMEM;
	plan->pid = pid;
	err = img_open(rf->dfd, IMG_FDINFO, pid, O_RDONLY, &img);
	if (err)
		return err;
	for (;;) {
		FdinfoEntry *fdi;
		void *msg;
		long idx;

		err = pb_read_one(img, &msg, PB_FDINFO);
		if (err <= 0)
			break;
		err = 0;
		fdi = msg;
		idx = rst_index(rf, fdi->id);
		if (idx < 0)
			err = pr_errno(-EBADMSG, "pid %d: fd %u refers to file id %u, which files.img lacks",
				       pid, fdi->fd, fdi->id);
		else if (fdi->fd > INT_MAX)
			err = pr_errno(-EBADMSG, "pid %d: fd %u in the image is out of range", pid, fdi->fd);
		if (!err && plan->nr == cap) {
			struct files_plan_fd *n;

			cap = cap ? cap * 2 : 64;
			n = xrealloc(plan->fds, cap * sizeof(*n));
			if (!n)
				err = -ENOMEM;
			else
				plan->fds = n;
		}
		if (!err)
			plan->fds[plan->nr++] = (struct files_plan_fd){ fdi->fd, idx, fdi->cloexec };
		if (!err && fdi->n_posix_locks)
			err = plan_add_locks(plan, fdi);
		pb_free(msg, PB_FDINFO);
		if (err)
			return err;
	}
	if (err < 0)
		return err;

	qsort(plan->fds, plan->nr, sizeof(*plan->fds), cmp_plan_fd);
	for (unsigned i = 0; i < plan->nr; i++) {
		struct rst_file *f = &rf->f[plan->fds[i].idx];

		if (i && plan->fds[i].fd == plan->fds[i - 1].fd)
			return pr_errno(-EBADMSG, "pid %d: fd %d appears twice in %s", pid,
					plan->fds[i].fd, img->name);
		if (f->want_fd < 0)
			f->want_fd = plan->fds[i].fd;
	}
	pr_info("pid %d: %u file descriptors to restore", pid, plan->nr);
	*ret = TAKE_PTR(plan);
	return 0;
}

int files_max_fd(const struct files_plan *plan)
{
	if (!plan || !plan->nr)
		return -1;
	return plan->fds[plan->nr - 1].fd;
}

/*
 * Moves a new description @fd of file @idx to the number of its first
 * user if cr has that number free, else above keep_from.
 */
static int place_file(struct files_rst *rf, size_t idx, int fd)
{
	struct rst_file *f = &rf->f[idx];
	int want = f->want_fd, nfd;

	if (want >= 0 && want < rf->keep_from && !rf->at[want] &&
	    fcntl(want, F_GETFD) < 0 && errno == EBADF) {
		nfd = fd == want ? fd : dup3(fd, want, O_CLOEXEC);
		if (nfd >= 0)
			rf->at[want] = idx + 1;
	} else {
		nfd = fcntl(fd, F_DUPFD_CLOEXEC, rf->keep_from);
	}
	if (nfd < 0) {
		int err = -errno;

		close(fd);
		if (err == -EMFILE)
			return pr_errno(err, "file id %u: cr ran out of fd numbers (RLIMIT_NOFILE %d is too low for this tree)",
					f->fe->id, (int)sysconf(_SC_OPEN_MAX));
		return pr_errno(err, "file id %u: moving it to its fd number", f->fe->id);
	}
	if (nfd != fd)
		close(fd);
	f->fd = nfd;
	return 0;
}

int files_rst_set(struct files_rst *rf, uint32_t id, int fd)
{
	long idx = rst_index(rf, id);

	if (idx < 0) {
		close(fd);
		return pr_errno(-EBADMSG, "files.img: no file id %u", id);
	}
	if (rf->f[idx].fd >= 0) {
		close(fd);
		return pr_errno(-EBADMSG, "files.img: file id %u is created twice", id);
	}
	return place_file(rf, idx, fd);
}

/* The generic part: status flags F_SETFL can set. */
static int set_status_flags(const struct rst_file *f)
{
	int cur, want = f->fe->flags & SETFL_MASK;

	if (f->fe->flags & O_PATH)
		return 0;
	cur = fcntl(f->fd, F_GETFL);
	if (cur < 0)
		return pr_errno(-errno, "file id %u: F_GETFL", f->fe->id);
	if ((cur & SETFL_MASK) == want)
		return 0;
	if (fcntl(f->fd, F_SETFL, (cur & ~SETFL_MASK) | want) < 0)
		return pr_errno(-errno, "file id %u (%s): setting status flags 0%o",
				f->fe->id, f->kind->name, want);
	return 0;
}

static bool in_task(const struct rst_file *f)
{
	/* An inherited file is cr's fd: made before the fork like the rest. */
	return f->inherit_fd < 0 && f->kind->open_in_task && f->kind->open_in_task(f->fe);
}

static int rst_open_idx(struct files_rst *rf, size_t idx)
{
	struct rst_file *f = &rf->f[idx];
	int fd, err;

	if (f->fd >= 0)
		return f->fd;
	if (f->opening)
		return pr_errno(-ELOOP, "file id %u (%s) depends on itself", f->fe->id, f->kind->name);
	f->opening = true;
	if (f->inherit_fd >= 0) {
		fd = fcntl(f->inherit_fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			fd = pr_errno(-errno, "file id %u: dup of --inherit-fd fd %d", f->fe->id, f->inherit_fd);
	} else {
		fd = f->kind->open(rf, f->fe);
	}
	f->opening = false;
	if (fd < 0)
		return fd;
	if (f->fd >= 0) {		/* the kind set it through files_rst_set() */
		/* ... while opening another entry it needs: it returns that fd. */
		if (fd == f->fd)
			return fd;
		close(fd);
		return pr_errno(-EBADMSG, "file id %u (%s) was created twice", f->fe->id, f->kind->name);
	}
	err = place_file(rf, idx, fd);
	return err ? err : f->fd;
}

int files_rst_get(struct files_rst *rf, uint32_t id)
{
	long idx = rst_index(rf, id);

	if (idx < 0)
		return pr_errno(-EBADMSG, "files.img: no file id %u", id);
	return rst_open_idx(rf, idx);
}

/* flock() and OFD locks of a description. */
static int take_locks(const struct rst_file *f)
{
	for (size_t i = 0; i < f->fe->n_locks; i++) {
		const FileLock *l = f->fe->locks[i];
		struct flock fl = {
			.l_type = l->type, .l_whence = SEEK_SET, .l_start = l->start, .l_len = l->len,
		};
		int err = 0;

		if (l->type != F_RDLCK && l->type != F_WRLCK)
			return pr_errno(-EBADMSG, "file id %u: invalid lock type %u in the image",
					f->fe->id, l->type);
		if (l->kind == LOCK_KIND__LOCK_FLOCK)
			err = flock(f->fd, (l->type == F_WRLCK ? LOCK_EX : LOCK_SH) | LOCK_NB);
		else if (l->kind == LOCK_KIND__LOCK_OFD)
			err = fcntl(f->fd, F_OFD_SETLK, &fl);
		else
			return pr_errno(-EBADMSG, "file id %u: a POSIX lock in a file's lock list",
					f->fe->id);
		if (err < 0)
			return pr_errno(-errno, "file id %u (%s): taking its %s lock again (does someone else hold it now?)",
					f->fe->id, f->kind->name,
					l->kind == LOCK_KIND__LOCK_FLOCK ? "flock" : "OFD");
	}
	return 0;
}

int files_open_all(struct files_rst *rf, int keep_from)
{
	int err = 0;

	rf->keep_from = keep_from;
	rf->at = xzalloc(sizeof(*rf->at) * (keep_from + 1));
	if (!rf->at)
		return -ENOMEM;
	for (size_t i = 0; i < rf->nr && !err; i++) {
		int fd = in_task(&rf->f[i]) ? 0 : rst_open_idx(rf, i);

		err = fd < 0 ? fd : 0;
	}
	for (size_t i = 0; i < rf->nr && !err; i++) {
		struct rst_file *f = &rf->f[i];

		/* An inherited file is the caller's as it is: flags, locks and all. */
		if (in_task(f) || f->inherit_fd >= 0)
			continue;
		if (f->kind->post_open)
			err = f->kind->post_open(rf, f->fe, f->fd);
		if (!err)
			err = set_status_flags(f);
		if (!err)
			err = take_locks(f);
	}
	if (!err)
		pr_info("%zu open files created", rf->nr);
	return err;
}

int files_restore_owners(struct files_rst *rf)
{
	for (size_t i = 0; i < rf->nr; i++) {
		const FownEntry *o = rf->f[i].fe->fown;
		struct f_owner_ex ex;

		if (!o || rf->f[i].fd < 0 || rf->f[i].inherit_fd >= 0)
			continue;
		if (o->signum && fcntl(rf->f[i].fd, F_SETSIG, o->signum) < 0)
			return pr_errno(-errno, "file id %u: F_SETSIG %u", rf->f[i].fe->id, o->signum);
		if (!o->pid)
			continue;
		ex.type = o->type;
		ex.pid = o->pid;
		if (fcntl(rf->f[i].fd, F_SETOWN_EX, &ex) < 0) {
			if (errno != ESRCH)
				return pr_errno(-errno, "file id %u: F_SETOWN_EX %d", rf->f[i].fe->id, o->pid);
			pr_warn("file id %u: its owner %d is not in the restored tree; it has none now",
				rf->f[i].fe->id, o->pid);
		}
	}
	return 0;
}

int files_restore_finish(struct files_rst *rf)
{
	for (size_t i = 0; i < rf->nr; i++) {
		struct rst_file *f = &rf->f[i];
		int err;

		if (f->fd < 0 || !f->kind->finish)
			continue;
		err = f->kind->finish(rf, f->fe, f->fd);
		if (err)
			return err;
	}
	return 0;
}

void files_close_all(struct files_rst *rf)
{
	for (size_t i = 0; rf && i < rf->nr; i++) {
		if (rf->f[i].fd >= 0)
			close(rf->f[i].fd);
		rf->f[i].fd = -1;
	}
}

/* Closes every number below @keep_from the plan does not name. */
static int close_unplanned(const struct files_plan *plan, int keep_from)
{
	unsigned next = 0;

	for (unsigned i = 0; i <= plan->nr; i++) {
		unsigned end = i < plan->nr ? (unsigned)plan->fds[i].fd : (unsigned)keep_from;

		if (end > next && close_range(next, end - 1, 0) < 0)
			return pr_errno(-errno, "pid %d: can't close fds %u..%u", plan->pid, next, end - 1);
		next = end + 1;
	}
	return 0;
}

/*
 * In the new task: every file of the tree is open at cr's numbers (see
 * place_file()); put this task's at their numbers. A number that holds
 * another file this task still needs is moved out of the way first.
 * Works on the task's own copy of @rf (copy-on-write after fork).
 */
int files_restore(const struct files_plan *plan, struct files_rst *rf)
{
	int keep_from = rf->keep_from, err;

	if (files_max_fd(plan) >= keep_from)
		return pr_errno(-EINVAL, "pid %d: fd %d collides with cr's own fds (from %d up)",
				plan->pid, files_max_fd(plan), keep_from);

	for (unsigned i = 0; i < plan->nr; i++) {
		const struct files_plan_fd *pf = &plan->fds[i];
		struct rst_file *f = &rf->f[pf->idx];
		int t = pf->fd, occ = rf->at[t] - 1;

		if (f->fd < 0 && in_task(f)) {
			/* Opened here, now that every task exists; placed like the others. */
			int fd = f->kind->open(rf, f->fe);

			if (fd < 0)
				return fd;
			f->fd = fcntl(fd, F_DUPFD_CLOEXEC, keep_from);
			close(fd);
			if (f->fd < 0)
				return pr_errno(-errno, "pid %d: fd %d: moving file id %u", plan->pid, t, f->fe->id);
			err = set_status_flags(f);
			if (err)
				return err;
		}

		if (occ >= 0 && occ != (int)pf->idx && rf->f[occ].fd == t) {
			int n = fcntl(t, F_DUPFD_CLOEXEC, keep_from);

			if (n < 0)
				return pr_errno(-errno, "pid %d: moving a file out of fd %d", plan->pid, t);
			rf->f[occ].fd = n;
		}
		if (f->fd == t)
			err = fcntl(t, F_SETFD, pf->cloexec ? FD_CLOEXEC : 0);
		else
			err = dup3(f->fd, t, pf->cloexec ? O_CLOEXEC : 0);
		if (err < 0)
			return pr_errno(-errno, "pid %d: fd %d: placing file id %u (%s) there",
					plan->pid, t, f->fe->id, f->kind->name);
		f->fd = t;
		rf->at[t] = pf->idx + 1;
	}
	err = close_unplanned(plan, keep_from);
	for (unsigned i = 0; i < plan->nr && !err; i++) {
		const struct rst_file *f = &rf->f[plan->fds[i].idx];

		if (f->kind->task_setup && f->inherit_fd < 0)
			err = f->kind->task_setup(f->fe, plan->fds[i].fd);
	}
	return err;
}

static int session_hook(struct files_rst *rf, bool joined)
{
	for (size_t i = 0; i < rf->nr; i++) {
		const struct rst_file *f = &rf->f[i];
		int (*hook)(const FileEntry *, int) = joined ? f->kind->session_joined : f->kind->session_new;
		int err;

		if (!hook || f->fd < 0 || f->inherit_fd >= 0)
			continue;
		err = hook(f->fe, f->fd);
		if (err)
			return err;
	}
	return 0;
}

int files_session_new(struct files_rst *rf)
{
	return session_hook(rf, false);
}

int files_session_joined(struct files_rst *rf)
{
	return session_hook(rf, true);
}
