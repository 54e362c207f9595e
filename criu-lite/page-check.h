#ifndef CR_PAGE_CHECK_H
#define CR_PAGE_CHECK_H

/*
 * The page server checks every run that came against the CRC32C the
 * dump sent with it, in a thread of its own (page-check.c), so that
 * reading the bytes back overlaps receiving the next ones. The thread
 * neither logs nor exits the process: the server asks for the outcome.
 */

#include <stdbool.h>
#include <stdint.h>

struct page_check;

struct page_check_run {
	uint64_t off, len;	/* in the image */
	uint32_t crc;
	uint32_t pid;		/* whose (for the message) */
};

/* A checker of the image open at @fd (which must stay open until page_check_stop()). 0 or -errno (logged). */
int page_check_start(int fd, struct page_check **ret_c);
/* Queues @run, whose bytes are in the file already. 0 or -ENOMEM. */
int page_check_queue(struct page_check *c, const struct page_check_run *run);
/*
 * 0 when every run checked so far matched (with @wait: every run queued,
 * once checked); else -EBADMSG (a mismatch) or -errno (reading it back),
 * with the run in *@ret_bad.
 */
int page_check_result(struct page_check *c, bool wait, struct page_check_run *ret_bad);
/* Ends the thread (a run being checked is finished first) and frees @c. NULL: a no-op. */
void page_check_stop(struct page_check *c);

#endif
