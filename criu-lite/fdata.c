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
#include "image-mac.h"
#include "io.h"

/* ==== dump ============================================================== */

/*
 * Signed dumps: the data_refs' MACs live here until the dump's records
 * are written (a DataRef points to its MAC), freed with the files_dump.
 */
#define MACS_PER_BLOCK	256
struct fdata_macs {
	struct fdata_macs *next;
	unsigned used;
	uint8_t mac[MACS_PER_BLOCK][IMG_MAC_SIZE];
};

void fdata_macs_free(struct files_dump *df)
{
	while (df->macs) {
		struct fdata_macs *m = df->macs;

		df->macs = m->next;
		free(m);
	}
}

/* Room for the MAC of @ref, which it then points to. NULL if out of memory. */
static uint8_t *ref_mac(struct files_dump *df, DataRef *ref)
{
	struct fdata_macs *m = df->macs;

	if (!m || m->used == MACS_PER_BLOCK) {
		m = xzalloc(sizeof(*m));
		if (!m)
			return NULL;
		m->next = df->macs;
		df->macs = m;
	}
	ref->has_mac = true;
	ref->mac = (ProtobufCBinaryData){ IMG_MAC_SIZE, m->mac[m->used] };
	return m->mac[m->used++];
}

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
	uint8_t *mac;
	int err = 0;

	data_ref__init(ref);
	ref->off = img->off;
	ref->len = len;
	ref->crc = crc32c(0, buf, len);
	if (img_key_loaded()) {
		mac = ref_mac(df, ref);
		if (!mac)
			return -ENOMEM;
		err = img_mac_data(img->dump_id, img->name, ref->off, buf, len, mac);
		if (err)
			return err;
	}
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

/* Copies @len bytes at @off of @fd to the end of @img through @buf (@chunk bytes), summing them. 0 or -errno (logged). */
static int fdata_copy_in(struct img *img, int fd, uint64_t off, uint64_t len, char *buf, size_t chunk,
			 uint32_t *ret_crc, struct img_mac_data *m)
{
	uint64_t done = 0;
	uint32_t crc = 0;
	int err;

	while (done < len) {
		size_t want = len - done < chunk ? len - done : chunk;
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
		err = m ? img_mac_data_update(m, buf, n) : 0;
		if (err)
			return err;
		done += n;
	}
	*ret_crc = crc;
	return 0;
}

int fdata_append_fd(struct files_dump *df, int fd, uint64_t off, uint64_t len, DataRef *ref)
{
	enum { CHUNK = 1 << 20 };
	_cleanup_free_ char *buf = xmalloc(CHUNK);
	struct img *img = df->fdata;
	struct img_mac_data *m = NULL;
	uint8_t *mac = NULL;
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
	if (img_key_loaded()) {
		mac = ref_mac(df, ref);
		if (!mac)
			return -ENOMEM;
		err = img_mac_data_start(img->dump_id, img->name, ref->off, len, &m);
		if (err)
			return err;
	}
	err = fdata_copy_in(img, fd, off, len, buf, CHUNK, &crc, m);
	if (!err && m)
		err = img_mac_data_end(TAKE_PTR(m), mac);
	img_mac_data_free(m);
	if (err)
		return err;
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
	if (img_data_check("fdata.img", ref->off, buf, ref->len, ref->crc, ref->has_mac ? ref->mac.data : NULL,
			   ref->mac.len))
		return pr_errno(-EBADMSG, "fdata.img: %s mismatch in %llu bytes at %llu",
				img_key_loaded() ? "MAC" : "checksum",
				(unsigned long long)ref->len, (unsigned long long)ref->off);
	return 0;
}

int fdata_copy_to_fd(struct files_rst *rf, const DataRef *ref, int fd)
{
	enum { CHUNK = 1 << 20 };
	_cleanup_free_ char *buf = xmalloc(CHUNK);
	struct img_mac_data *m = NULL;
	uint8_t id[IMG_DUMP_ID_SIZE], mac[IMG_MAC_SIZE];
	uint64_t done = 0;
	uint32_t crc = 0;
	int err = fdata_ref_check(rf, ref);

	if (err)
		return err;
	if (!buf)
		return -ENOMEM;
	if (img_key_loaded()) {
		if (!ref->has_mac || ref->mac.len != IMG_MAC_SIZE)
			return pr_errno(-EBADMSG, "fdata.img: %llu bytes at %llu have no MAC",
					(unsigned long long)ref->len, (unsigned long long)ref->off);
		img_dump_id_get(id);
		err = img_mac_data_start(id, "fdata.img", ref->off, ref->len, &m);
		if (err)
			return err;
	}
	while (done < ref->len) {
		size_t want = ref->len - done < CHUNK ? ref->len - done : CHUNK;
		ssize_t n = pread(rf->fdata_fd, buf, want, ref->off + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? pr_errno(-errno, "fdata.img: reading at %llu", (unsigned long long)(ref->off + done))
				    : pr_errno(-EBADMSG, "fdata.img is truncated (%llu bytes at %llu expected)",
					       (unsigned long long)ref->len, (unsigned long long)ref->off);
			break;
		}
		crc = crc32c(crc, buf, n);
		err = m ? img_mac_data_update(m, buf, n) : 0;
		if (!err) {
			err = write_all(fd, buf, n);
			if (err)
				pr_errno(err, "writing restored file content");
		}
		if (err)
			break;
		done += n;
	}
	if (!err && m)
		err = img_mac_data_end(TAKE_PTR(m), mac);
	img_mac_data_free(m);
	if (err)
		return err;
	if (img_key_loaded() ? !img_mac_equal(mac, ref->mac.data) : crc != ref->crc)
		return pr_errno(-EBADMSG, "fdata.img: %s mismatch in %llu bytes at %llu",
				img_key_loaded() ? "MAC" : "checksum",
				(unsigned long long)ref->len, (unsigned long long)ref->off);
	return 0;
}
