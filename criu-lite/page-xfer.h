#ifndef CR_PAGE_XFER_H
#define CR_PAGE_XFER_H

/*
 * Where a dump's page data goes: a page sink. Either the local
 * pages-N.img in -D, or a connection to `cr page-server` on another host
 * (page-wire.h says what travels). mem_dump_pages() and the shared
 * memory dump write through it; a pre-dump round gets a sink of its own
 * the same way (its pages-N.img id).
 *
 * Offsets are those of the page image the bytes end up in: the first
 * byte written is at IMG_PAGES_DATA_OFF, whatever the sink. With
 * --compress (o->compress_level) the bytes are compressed in blocks on
 * their way (pagez.h) and the offsets stay those of the uncompressed
 * bytes, as the pagemap keeps them.
 */

#include <stdint.h>
#include <sys/types.h>

#include "image-mac.h"

struct page_xfer;
struct cr_options;

/* One run of bytes just written, with the CRC32C the dump keeps for it. */
struct page_xfer_sum {
	uint64_t len;
	uint32_t crc;
};

/*
 * Opens the sink of pages-@id.img for the dump @o describes: with
 * o->ps.on (--page-server) a connection to o->ps.address:o->ps.port (or
 * the connected socket o->ps.fd); with o->lazy_pages (a dump that serves
 * its pages itself, lazy-serve.h) an unnamed file in @dfd, which no name
 * leads to (page_xfer_dup_fd()); else the file in @dfd. Returns 0 and
 * *ret_x, or -errno (logged). The dump id must be made already.
 */
int page_xfer_open(const struct cr_options *o, int dfd, unsigned id, struct page_xfer **ret_x);

/* A local sink's file, for reading (a new fd, close-on-exec), or -errno (logged). */
int page_xfer_dup_fd(const struct page_xfer *x);

/* The page image offset the next byte written lands at. */
uint64_t page_xfer_offset(const struct page_xfer *x);

/*
 * Moves @len bytes from the pipe @pipe_r into the sink, without a copy
 * through cr (splice), for task @pid (for the receiver's messages).
 * Returns 0 or -errno (logged; -EIO when the pipe ran dry early).
 */
int page_xfer_splice(struct page_xfer *x, pid_t pid, int pipe_r, uint64_t len);
/* Writes @len bytes of @buf (shared memory, read by cr). 0 or -errno (logged). */
int page_xfer_write(struct page_xfer *x, pid_t pid, const void *buf, uint64_t len);
/*
 * The checksums of the bytes written since the last call, run by run in
 * order: a page server checks them on receipt (the local file keeps them
 * in the pagemap only). 0 or -errno (logged).
 */
int page_xfer_sums(struct page_xfer *x, const struct page_xfer_sum *sums, unsigned nr);

/*
 * Signed dumps (--key-file, image-mac.h). page_xfer_sign(): the run of
 * @len bytes that page_xfer_splice() is to write at image offset @off is
 * signed as it is written (page-sign.h), its MAC into @ret_mac once
 * page_xfer_sign_wait() returned 0. Local files only: a page server
 * cannot sign (page_xfer_open() refuses it with a key).
 * page_xfer_mac_buf(): the MAC of @len bytes at @buf that
 * page_xfer_write() is to write next. All 0 or -errno (logged).
 */
int page_xfer_sign(struct page_xfer *x, uint64_t off, uint64_t len, uint8_t *ret_mac);
int page_xfer_sign_wait(struct page_xfer *x);
int page_xfer_mac_buf(struct page_xfer *x, const void *buf, uint64_t len, uint8_t *ret_mac);

/*
 * Returns once everything written so far has reached the sink and, on a
 * page server, matched its checksums. Call it before the pages spliced
 * may change (the task is cured or resumed): a socket holds references
 * to the task's own pages until the peer has them, not copies, so a byte
 * changed before that would travel changed. 0 or -errno (logged).
 */
int page_xfer_sync(struct page_xfer *x);

/*
 * Completes the image: the local file gets its end marker; a page server
 * checks that every byte came and matched, makes the image complete
 * under its name and says so before this returns. Frees @x (NULL: a
 * no-op). 0 or -errno (logged).
 */
int page_xfer_commit(struct page_xfer *x);
/* Drops @x without completing it (a page server discards what it got). NULL: a no-op. */
void page_xfer_free(struct page_xfer *x);

#endif
