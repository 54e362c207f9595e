/*
 * The lazy-pages daemon's page source: the page image, mapped. Bytes
 * are copied from the mapping into the task (UFFDIO_COPY) without a
 * copy through a buffer, then the daemon's view of them is dropped, so
 * its memory stays small whatever the image size.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "image.h"
#include "lazy-priv.h"
#include "log.h"
#include "pagez.h"

#define MADV_POPULATE_READ_	22	/* Linux 5.14; an older kernel faults them in one by one */
#define POPULATE_MIN		(64 * 1024)

struct file_src {
	int fd;
	const unsigned char *map;
	uint64_t size;
	char name[64];
};

static int file_get(struct lazy_src *s, uint64_t off, uint64_t len, const void **ret)
{
	struct file_src *f = s->priv;

	if (off + len < off || off + len > f->size)
		return pr_errno(-EBADMSG, "%s: bytes %lu-%lu are past its end (%lu)", f->name, (unsigned long)off,
				(unsigned long)(off + len), (unsigned long)f->size);
	/*
	 * One call maps the run's pages, not a fault per page (or per
	 * fault-around block) while the checksum reads them.
	 */
	if (len >= POPULATE_MIN) {
		uint64_t start = ALIGN_DOWN(off, PAGE_SIZE);

		(void)madvise((void *)(f->map + start), ALIGN_UP(off + len, PAGE_SIZE) - start, MADV_POPULATE_READ_);
	}
	*ret = f->map + off;
	return 0;
}

static void file_put(struct lazy_src *s, uint64_t off, uint64_t len)
{
	struct file_src *f = s->priv;
	uint64_t start = ALIGN_DOWN(off, PAGE_SIZE), end = ALIGN_UP(off + len, PAGE_SIZE);

	/* Only our mapping of the page cache goes; read again, it comes back. */
	(void)madvise((void *)(f->map + start), min(end, ALIGN_UP(f->size, PAGE_SIZE)) - start, MADV_DONTNEED);
}

static void file_close(struct lazy_src *s)
{
	struct file_src *f = s->priv;

	if (!f)
		return;
	if (f->map)
		munmap((void *)f->map, f->size);
	if (f->fd >= 0)
		close(f->fd);
	free(f);
	s->priv = NULL;
}

static const struct lazy_src_ops file_ops = { file_get, file_put, file_close, NULL, NULL };

int lazy_src_open_file(int dfd, unsigned pages_id, struct lazy_src *ret)
{
	_cleanup_img_ struct img *img = NULL;
	_cleanup_free_ struct file_src *f = xzalloc(sizeof(*f));
	struct stat st;
	void *map;
	int err;

	if (!f)
		return -ENOMEM;
	/* A compressed image: its pages decompressed, mapped as the file would be. */
	err = pages_open(dfd, pages_id, false, NULL, &img);
	if (err)
		return err;
	snprintf(f->name, sizeof(f->name), "%s", img->name);
	if (fstat(img->fd, &st))
		return pr_errno(-errno, "%s: fstat", f->name);
	f->size = st.st_size;
	map = f->size ? mmap(NULL, f->size, PROT_READ, MAP_SHARED, img->fd, 0) : NULL;
	if (map == MAP_FAILED)
		return pr_errno(-errno, "%s: mapping %lu bytes", f->name, (unsigned long)f->size);
	f->map = map;
	f->fd = img->fd;
	img->fd = -1;
	ret->ops = &file_ops;
	ret->priv = TAKE_PTR(f);
	return 0;
}
