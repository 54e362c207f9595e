/*
 * Reading compressed page images (pagez.h): the block index from the
 * headers, and the whole image decompressed into a memfd that every
 * reader of plain pages images (the restorer blob's preadv, shared
 * memory, AIO rings, the COW premap, the lazy-pages daemon, pre-copy
 * parents) reads as it reads the file of an uncompressed dump.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "cr.h"
#include "image.h"
#include "io.h"
#include "log.h"
#include "pagez.h"
#include "stats.h"

#define MAX_READERS	16

static int bad_block(const struct img *img, uint64_t off, const char *why)
{
	return pr_errno(-EBADMSG, "%s: compressed block at file offset %lu: %s", img->name, (unsigned long)off, why);
}

int pagez_index(const struct img *img, bool payloads, struct pagez_index_entry **ret_index, size_t *ret_nr,
		uint64_t *ret_logical)
{
	_cleanup_free_ struct pagez_index_entry *ix = NULL;
	_cleanup_free_ unsigned char *buf = NULL;
	uint64_t off = IMG_PAGES_DATA_OFF, loff = IMG_PAGES_DATA_OFF;
	size_t nr = 0, cap = 0;

	if (payloads && !(buf = xmalloc(PAGEZ_BLOCK_SIZE)))
		return -ENOMEM;
	while (off < img->data_end) {
		unsigned char hdr[PAGEZ_HDR_SIZE];
		struct pagez_block b;
		const char *why;
		ssize_t n;

		if (img->data_end - off < PAGEZ_HDR_SIZE)
			return bad_block(img, off, "the header is cut short by the end of the data");
		n = pread(img->fd, hdr, sizeof(hdr), off);
		if (n != (ssize_t)sizeof(hdr))
			return pr_errno(n < 0 ? -errno : -EIO, "%s: reading the block header at offset %lu", img->name,
					(unsigned long)off);
		if (pagez_hdr_parse(hdr, &b, &why))
			return bad_block(img, off, why);
		if (b.loff != loff)
			return bad_block(img, off, "its logical offset does not follow the previous block's");
		if (img->data_end - off - PAGEZ_HDR_SIZE < b.stored_len)
			return bad_block(img, off, "its bytes run past the end of the data");
		/* A short block is the last: the dump filled every other one. */
		if (nr && ix[nr - 1].b.raw_len != PAGEZ_BLOCK_SIZE)
			return bad_block(img, ix[nr - 1].off, "a short block that is not the last");
		if (payloads) {
			n = pread(img->fd, buf, b.stored_len, off + PAGEZ_HDR_SIZE);
			if (n != (ssize_t)b.stored_len)
				return pr_errno(n < 0 ? -errno : -EIO, "%s: reading the block at offset %lu", img->name,
						(unsigned long)off);
			if (crc32c(0, buf, b.stored_len) != b.crc)
				return bad_block(img, off, "checksum mismatch in the compressed bytes");
		}
		if (nr == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct pagez_index_entry *nx = xrealloc(ix, sizeof(*nx) * ncap);

			if (!nx)
				return -ENOMEM;
			ix = nx;
			cap = ncap;
		}
		ix[nr++] = (struct pagez_index_entry){ off, b };
		off += PAGEZ_HDR_SIZE + b.stored_len;
		loff += b.raw_len;
	}
	*ret_index = TAKE_PTR(ix);
	*ret_nr = nr;
	*ret_logical = loff - IMG_PAGES_DATA_OFF;
	return 0;
}

/* Decompression of the blocks by several threads, into @dst (the logical image mapped). */
struct inflate {
	const struct img *img;
	const struct pagez_index_entry *ix;
	size_t nr;
	int dst_fd;		/* the memfd, at the blocks' logical offsets */
	atomic_size_t next;	/* the next block a thread takes */
	atomic_bool failed;	/* one refused a block: the others stop */
	pthread_mutex_t lock;
	size_t bad;		/* the first bad block (lowest index) */
	int err;
	const char *why;
};

static void inflate_fail(struct inflate *z, size_t i, int err, const char *why)
{
	pthread_mutex_lock(&z->lock);
	if (!z->err || i < z->bad) {
		z->err = err;
		z->bad = i;
		z->why = why;
	}
	pthread_mutex_unlock(&z->lock);
	atomic_store(&z->failed, true);
}

static bool page_is_zero(const unsigned char *p, size_t len)
{
	const uint64_t *w = (const void *)p;
	uint64_t acc = 0;

	for (size_t i = 0; i < len / 8; i++)
		acc |= w[i];
	return !acc;
}

/*
 * Writes @len bytes of @buf at @off of the memfd @fd but for the pages of
 * zeros, which stay holes: they read as zeros and take no memory.
 * write() rather than a mapping: the memfd's pages are allocated in the
 * call, without a fault per page. 0 or -errno.
 */
static int write_nonzero(int fd, const unsigned char *buf, size_t len, uint64_t off)
{
	size_t pos = 0;

	while (pos < len) {
		size_t start, end;
		ssize_t n;

		while (pos < len && page_is_zero(buf + pos, min(len - pos, (size_t)PAGE_SIZE)))
			pos += PAGE_SIZE;
		if (pos >= len)
			break;
		start = pos;
		while (pos < len && !page_is_zero(buf + pos, min(len - pos, (size_t)PAGE_SIZE)))
			pos += PAGE_SIZE;
		end = min(pos, len);
		n = pwrite(fd, buf + start, end - start, off + start);
		if (n != (ssize_t)(end - start))
			return n < 0 ? -errno : -ENOSPC;
	}
	return 0;
}

static void *inflate_thread(void *arg)
{
	struct inflate *z = arg;
	void *dctx = pagez_dctx_new();
	unsigned char *buf = xmalloc(PAGEZ_BLOCK_SIZE), *out = xmalloc(PAGEZ_BLOCK_SIZE);

	if (!dctx || !buf || !out)
		inflate_fail(z, 0, -ENOMEM, NULL);
	while (!atomic_load(&z->failed)) {
		size_t i = atomic_fetch_add(&z->next, 1);
		const struct pagez_index_entry *e;
		const char *why = NULL;
		ssize_t n;

		if (i >= z->nr)
			break;
		e = &z->ix[i];
		n = pread(z->img->fd, buf, e->b.stored_len, e->off + PAGEZ_HDR_SIZE);
		if (n != (ssize_t)e->b.stored_len) {
			inflate_fail(z, i, n < 0 ? -errno : -EIO, NULL);
			break;
		}
		/* A raw block is checked where it was read, and written from there. */
		if (pagez_decode(dctx, &e->b, buf, e->b.codec == PAGEZ_RAW ? NULL : out, &why)) {
			inflate_fail(z, i, -EBADMSG, why);
			break;
		}
		n = write_nonzero(z->dst_fd, e->b.codec == PAGEZ_RAW ? buf : out, e->b.raw_len, e->b.loff);
		if (n) {
			inflate_fail(z, i, n, "writing the memfd");
			break;
		}
	}
	free(out);
	free(buf);
	pagez_dctx_free(dctx);
	return NULL;
}

/* The blocks of @ix decompressed into @dst_fd on every core. 0 or -errno (logged: the first bad block). */
static int inflate_all(const struct img *img, const struct pagez_index_entry *ix, size_t nr, int dst_fd)
{
	struct inflate z = { .img = img, .ix = ix, .nr = nr, .dst_fd = dst_fd, .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t th[MAX_READERS];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = 0, want = cpus < 1 ? 1 : cpus > MAX_READERS ? MAX_READERS : (unsigned)cpus;

	want = min((size_t)want, max(nr, (size_t)1));
	for (unsigned i = 1; i < want; i++)
		if (!pthread_create(&th[n], NULL, inflate_thread, &z))
			n++;
	inflate_thread(&z);
	for (unsigned i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	if (z.err == -EBADMSG)
		return bad_block(img, ix[z.bad].off, z.why);
	if (z.err && z.why)
		return pr_errno(z.err, "%s: the block at offset %lu: %s", img->name, (unsigned long)ix[z.bad].off,
				z.why);
	if (z.err)
		return pr_errno(z.err, "%s: reading the block at offset %lu", img->name, (unsigned long)ix[z.bad].off);
	return 0;
}

/*
 * A memfd holding the logical image of @img: its padded header, the
 * @logical bytes the blocks decompress to, an end marker's room (readers
 * take the data's end from the size). Returns the fd, or -errno (logged).
 */
static int inflate_to_memfd(const struct img *img, const struct pagez_index_entry *ix, size_t nr, uint64_t logical)
{
	_cleanup_close_ int fd = -EBADF;
	uint64_t size = IMG_PAGES_DATA_OFF + logical + IMG_TRAILER_SIZE;
	struct sysinfo si;
	char name[96];
	int err;

	/* A crafted image may claim far more than any dump held: refused before the memfd grows. */
	if (!sysinfo(&si) && logical / si.mem_unit > (uint64_t)si.totalram + si.totalswap)
		return pr_errno(-EFBIG, "%s: its blocks decompress to %lu bytes, more than this machine's memory",
				img->name, (unsigned long)logical);
	snprintf(name, sizeof(name), "cr:%s (decompressed)", img->name);
	fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		return pr_errno(-errno, "%s: a memfd for its %lu decompressed bytes", img->name, (unsigned long)logical);
	if (ftruncate(fd, size))
		return pr_errno(-errno, "%s: %lu bytes of memfd for its pages", img->name, (unsigned long)size);
	err = cr_fail_point("pagez-inflate");
	if (!err)
		err = inflate_all(img, ix, nr, fd);
	return err ? err : TAKE_FD(fd);
}

int pages_open(int dfd, unsigned id, bool other, const uint8_t *dump_id, struct img **ret_img)
{
	_cleanup_img_ struct img *img = NULL;
	_cleanup_free_ struct pagez_index_entry *ix = NULL;
	struct timespec t0;
	size_t nr = 0;
	uint64_t logical = 0;
	int err, fd;

	err = img_open_pages(dfd, id, other, dump_id, &img);
	if (err)
		return err;
	if (img->type == IMG_PAGESZ) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		err = pagez_index(img, false, &ix, &nr, &logical);
		if (err)
			return err;
		fd = inflate_to_memfd(img, ix, nr, logical);
		if (fd < 0)
			return fd;
		pr_info("%s: %lu bytes of pages from %zu compressed blocks (%lu bytes) in %.3f s", img->name,
			(unsigned long)logical, nr, (unsigned long)(img->data_end - IMG_PAGES_DATA_OFF),
			stats_us_since(&t0) / 1e6);
		close(img->fd);
		img->fd = fd;
		img->type = IMG_PAGES;
		img->data_end = IMG_PAGES_DATA_OFF + logical;
		img->off = IMG_PAGES_DATA_OFF;
		if (lseek(fd, IMG_PAGES_DATA_OFF, SEEK_SET) < 0)
			return pr_errno(-errno, "%s: memfd seek", img->name);
	}
	*ret_img = TAKE_PTR(img);
	return 0;
}
