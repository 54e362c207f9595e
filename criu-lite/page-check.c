/*
 * The page server's checker (page-check.h): a thread that reads back
 * what came, run by run, and compares each run's CRC32C with the one the
 * dump sent, while the main thread receives the next bytes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "compiler.h"
#include "image.h"
#include "log.h"
#include "page-check.h"

#define CHECK_WINDOW	(8ull << 20)	/* mapped back at a time */

struct page_check {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t more, done;	/* work queued; the queue ran empty or failed */
	struct page_check_run *q;	/* queued runs, [head, nr) not checked yet */
	size_t head, nr, cap;
	int fd;				/* the image the runs are of */
	int err;			/* the first failure */
	struct page_check_run bad;	/* its run */
	bool stop;
};

/* CRC32C of @fd's bytes [@off, @off + @len), through mapped windows of the page cache (no copy). */
static int crc_range(int fd, uint64_t off, uint64_t len, uint32_t *ret_crc)
{
	uint32_t crc = 0;

	while (len) {
		uint64_t base = ALIGN_DOWN(off, PAGE_SIZE), n = min(len, base + CHECK_WINDOW - off);
		void *win = mmap(NULL, off - base + n, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, base);

		if (win == MAP_FAILED)
			return -errno;
		crc = crc32c(crc, (char *)win + (off - base), n);
		munmap(win, off - base + n);
		off += n;
		len -= n;
	}
	*ret_crc = crc;
	return 0;
}

static void *checker(void *arg)
{
	struct page_check *c = arg;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		struct page_check_run run;
		uint32_t crc = 0;
		int err;

		while (!c->stop && (c->head == c->nr || c->err))
			pthread_cond_wait(&c->more, &c->lock);
		if (c->stop)
			break;
		run = c->q[c->head];
		pthread_mutex_unlock(&c->lock);
		err = crc_range(c->fd, run.off, run.len, &crc);
		if (!err && crc != run.crc)
			err = -EBADMSG;
		pthread_mutex_lock(&c->lock);
		if (err) {
			c->err = err;
			c->bad = run;
		}
		if (++c->head == c->nr || err)
			pthread_cond_broadcast(&c->done);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int page_check_start(int fd, struct page_check **ret_c)
{
	struct page_check *c = xzalloc(sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	c->fd = fd;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->more, NULL);
	pthread_cond_init(&c->done, NULL);
	err = -pthread_create(&c->thread, NULL, checker, c);
	if (err) {
		free(c);
		return pr_errno(err, "page server: the checker thread");
	}
	*ret_c = c;
	return 0;
}

int page_check_queue(struct page_check *c, const struct page_check_run *run)
{
	int err = 0;

	pthread_mutex_lock(&c->lock);
	if (c->head == c->nr)
		c->head = c->nr = 0;
	if (c->nr == c->cap) {
		struct page_check_run *n = realloc(c->q, sizeof(*n) * (c->cap = c->cap ? c->cap * 2 : 256));

		if (n)
			c->q = n;
		else
			err = -ENOMEM;
	}
	if (!err) {
		c->q[c->nr++] = *run;
		pthread_cond_signal(&c->more);
	}
	pthread_mutex_unlock(&c->lock);
	return err;
}

int page_check_result(struct page_check *c, bool wait, struct page_check_run *ret_bad)
{
	int err;

	pthread_mutex_lock(&c->lock);
	while (wait && !c->err && c->head != c->nr)
		pthread_cond_wait(&c->done, &c->lock);
	err = c->err;
	*ret_bad = c->bad;
	pthread_mutex_unlock(&c->lock);
	return err;
}

void page_check_stop(struct page_check *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_cond_signal(&c->more);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->more);
	pthread_cond_destroy(&c->done);
	free(c->q);
	free(c);
}
