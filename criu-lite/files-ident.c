/*
 * Which fds of the tree name one open file description, at dump. Every
 * fd is looked up by the (device, inode) of its file, then ordered with
 * kcmp(KCMP_FILE) among the fds already seen with that inode: one
 * description seen from several fds or tasks gets one id in files.img.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <linux/kcmp.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "files-priv.h"

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

struct fd_ident {
	uint32_t next_id;
	struct fd_bucket **hash;
	size_t hash_size, nr_buckets;
};

static size_t bucket_hash(const struct fd_ident *ids, dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev * 0xc2b2ae3d27d4eb4full;

	return (h >> 17) & (ids->hash_size - 1);
}

static struct fd_bucket *bucket_find(const struct fd_ident *ids, dev_t dev, ino_t ino)
{
	struct fd_bucket *b;

	for (b = ids->hash[bucket_hash(ids, dev, ino)]; b; b = b->next)
		if (b->dev == dev && b->ino == ino)
			return b;
	return NULL;
}

static int hash_grow(struct fd_ident *ids)
{
	size_t old = ids->hash_size, size = old ? old * 2 : 1024;
	struct fd_bucket **n = xzalloc(size * sizeof(*n)), **o = ids->hash;

	if (!n)
		return -ENOMEM;
	ids->hash = n;
	ids->hash_size = size;
	for (size_t i = 0; i < old; i++) {
		while (o[i]) {
			struct fd_bucket *b = o[i];
			size_t h = bucket_hash(ids, b->dev, b->ino);

			o[i] = b->next;
			b->next = n[h];
			n[h] = b;
		}
	}
	free(o);
	return 0;
}

static struct fd_bucket *bucket_get(struct fd_ident *ids, dev_t dev, ino_t ino)
{
	struct fd_bucket *b = bucket_find(ids, dev, ino);
	size_t h;

	if (b)
		return b;
	if (ids->nr_buckets >= ids->hash_size && hash_grow(ids))
		return NULL;
	b = xzalloc(sizeof(*b));
	if (!b)
		return NULL;
	b->dev = dev;
	b->ino = ino;
	h = bucket_hash(ids, dev, ino);
	b->next = ids->hash[h];
	ids->hash[h] = b;
	ids->nr_buckets++;
	return b;
}

int files_ident_new(struct fd_ident **ret)
{
	struct fd_ident *ids = xzalloc(sizeof(*ids));
	int err;

	if (!ids)
		return -ENOMEM;
	ids->next_id = 1;
	err = hash_grow(ids);
	if (err) {
		free(ids);
		return err;
	}
	*ret = ids;
	return 0;
}

void files_ident_free(struct fd_ident *ids)
{
	if (!ids)
		return;
	for (size_t i = 0; i < ids->hash_size; i++) {
		while (ids->hash[i]) {
			struct fd_bucket *b = ids->hash[i];

			ids->hash[i] = b->next;
			free(b->reps);
			free(b);
		}
	}
	free(ids->hash);
	free(ids);
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
	struct fd_bucket *b = bucket_find(df->ident, dev, ino);
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

int files_ident_get(struct fd_ident *ids, const struct fd_dump *d, uint32_t *ret_id)
{
	struct kcmp_file_arg arg = { d->pid, d->fd };
	struct fd_bucket *b = bucket_get(ids, d->st.st_dev, d->st.st_ino);
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
	rep->id = ids->next_id++;
	b->nr++;
	*ret_id = rep->id;
	return 1;
}
