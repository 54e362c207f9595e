#ifndef CR_PAGE_SIGN_H
#define CR_PAGE_SIGN_H

/*
 * Signed dumps (image-mac.h): a thread that computes the MACs of page
 * runs as they reach the page image, reading them back right behind the
 * splice that writes them, so that signing costs the dump (almost) no
 * time on a second core. The thread neither logs nor exits the process.
 */

#include <stdint.h>

struct page_sign;

/*
 * A signer of runs of the image @name of dump @dump_id, read from @fd
 * (open for reading, kept open by the caller until page_sign_stop()).
 * 0 or -errno (logged).
 */
int page_sign_start(int fd, const uint8_t *dump_id, const char *name, struct page_sign **ret_s);
/*
 * Queues the run of @len bytes at offset @off (runs are queued in file
 * order): its MAC goes to @ret_mac (IMG_MAC_SIZE bytes, which must stay
 * valid until page_sign_wait() returned). 0 or -ENOMEM.
 */
int page_sign_queue(struct page_sign *s, uint64_t off, uint64_t len, uint8_t *ret_mac);
/*
 * The runs' bytes come either from the image (page_sign_written(): it
 * holds every byte before offset @end now; the thread reads them back)
 * or, from a sink that holds them in memory anyway (a compressing one,
 * whose image does not hold the runs' bytes as they are), straight from
 * the caller (page_sign_data(): the next @len bytes of the queued runs,
 * in order, fed in the caller's thread; 0 or -errno, logged). Not both
 * for the same signer.
 */
void page_sign_written(struct page_sign *s, uint64_t end);
int page_sign_data(struct page_sign *s, const void *buf, size_t len);
/* Waits until every run queued is signed: 0, or the first failure (-errno, logged here). */
int page_sign_wait(struct page_sign *s);
/* Ends the thread and frees @s; NULL: a no-op. */
void page_sign_stop(struct page_sign *s);

#endif
