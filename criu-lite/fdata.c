/*
 * fdata.img: bytes that belong to open files and live in no other image
 * (pipe buffers, deleted files' content, socket queues). The dump appends
 * them; an entry keeps a data_ref (offset, length, CRC32C) to its bytes,
 * which restore reads back by offset, checking the range and the CRC.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "files-priv.h"
#include "image.h"
#include "io.h"

/* ==== dump ============================================================== */

/*
 * Appends up to this many bytes go through a buffer: a tree of 10,000
 * connections has 40,000 queues of a few bytes, a write() each otherwise.
 */
#define FDATA_BUF_SIZE		(1 << 20)
#define FDATA_BUF_MAX_APPEND	(FDATA_BUF_SIZE / 4)

int fdata_dump_flush(struct files_dump *df)
{
	struct img *img = df->fdata;
	int err = 0;

	if (df->fdata_len)
		err = write_all(img->fd, df->fdata_buf, df->fdata_len);
	df->fdata_len = 0;
	if (err)
		return pr_errno(err, "%s: writing file data", img->name);
	return 0;
}

int fdata_append(struct files_dump *df, const void *buf, size_t len, DataRef *ref)
{
	struct img *img = df->fdata;
	int err = 0;

	data_ref__init(ref);
	ref->off = img->off;
	ref->len = len;
	ref->crc = crc32c(0, buf, len);
	if (!df->fdata_buf && len <= FDATA_BUF_MAX_APPEND)
		df->fdata_buf = xmalloc(FDATA_BUF_SIZE);	/* none: written at once */
	if (df->fdata_len + len > FDATA_BUF_SIZE || len > FDATA_BUF_MAX_APPEND || !df->fdata_buf)
		err = fdata_dump_flush(df);
	if (err)
		return err;
	if (len <= FDATA_BUF_MAX_APPEND && df->fdata_buf) {
		memcpy(df->fdata_buf + df->fdata_len, buf, len);
		df->fdata_len += len;
	} else if ((err = write_all(img->fd, buf, len))) {
		return pr_errno(err, "%s: writing file data", img->name);
	}
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
	err = fdata_dump_flush(df);
	if (err)
		return err;
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

/* ==== restore =========================================================== */

int fdata_rst_open(struct files_rst *rf)
{
	struct img *fdata = NULL;
	/* Its header and end marker checked; data is read by offset. */
	int err = img_open(rf->dfd, IMG_FDATA, 0, O_RDONLY, &fdata);

	if (err)
		return err;
	rf->fdata_fd = TAKE_FD(fdata->fd);
	rf->fdata_end = fdata->data_end;
	img_close(fdata);
	return 0;
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
