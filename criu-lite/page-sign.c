/*
 * The dump's page signer (page-sign.h): the main thread splices a batch
 * of runs into the page image piece by piece and says how far it got;
 * this thread reads each piece back from the page cache and feeds it to
 * its run's MAC meanwhile.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "compiler.h"
#include "image.h"
#include "image-mac.h"
#include "log.h"
#include "page-sign.h"

#define SIGN_BUF	(256u << 10)	/* read back at a time: stays in the L2 cache */

struct sign_run {
	uint64_t off, len;
	uint8_t *mac;
};

struct page_sign {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t more, done_cond;	/* bytes or runs came; the queue ran empty or failed */
	struct sign_run *q;		/* queued runs, [head, nr) not signed yet */
	size_t head, nr, cap;
	uint64_t written;		/* the image holds every byte before it */
	int fd;
	uint8_t dump_id[IMG_DUMP_ID_SIZE];
	char name[64];
	int err;			/* the first failure */
	uint64_t bad_off;		/* where it happened */
	bool stop;
	unsigned char *buf;		/* SIGN_BUF */
	/* The head run's MAC so far: the thread's, or page_sign_data()'s caller's. */
	struct img_mac_data *m;
	uint64_t done;			/* bytes of the head run fed to @m */
};

/*
 * Feeds the bytes [@off, @end) of the image to @m, mapped from the page
 * cache (no copy: the signer's memory traffic is a read of each byte).
 * 0 or -errno.
 */
static int feed(struct page_sign *s, struct img_mac_data *m, uint64_t off, uint64_t end)
{
	uint64_t base = ALIGN_DOWN(off, PAGE_SIZE), len = end - base;
	void *p;
	int err;

	if (off == end)
		return 0;
	p = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, s->fd, base);
	if (p == MAP_FAILED)
		return -errno;
	err = img_mac_data_update(m, (char *)p + (off - base), end - off);
	munmap(p, len);
	return err;
}

/*
 * After @n more bytes of the head run @run were fed (or @err): ends its
 * MAC when it is whole, records a failure. Called with the lock held.
 */
static void head_advance(struct page_sign *s, const struct sign_run *run, uint64_t n, int err)
{
	s->done += n;
	if (!err && s->done == run->len) {
		err = img_mac_data_end(s->m, run->mac);
		s->m = NULL;
	}
	if (err) {
		img_mac_data_free(s->m);
		s->m = NULL;
		s->err = err;
		s->bad_off = run->off;
	}
	if (err || s->done == run->len) {
		s->done = 0;
		s->head++;
		if (s->head == s->nr || err)
			pthread_cond_broadcast(&s->done_cond);
	}
}

static void *signer(void *arg)
{
	struct page_sign *s = arg;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct sign_run run;
		uint64_t from, avail;
		int err = 0;

		while (!s->stop && (s->head == s->nr || s->err ||
				    s->written <= s->q[s->head].off + s->done))
			pthread_cond_wait(&s->more, &s->lock);
		if (s->stop)
			break;
		run = s->q[s->head];
		from = run.off + s->done;
		avail = min(s->written, run.off + run.len);
		/* Only this thread feeds the file's bytes: @m is its own meanwhile. */
		pthread_mutex_unlock(&s->lock);
		if (!s->m)
			err = img_mac_data_start(s->dump_id, s->name, run.off, run.len, &s->m);
		if (!err)
			err = feed(s, s->m, from, avail);
		pthread_mutex_lock(&s->lock);
		head_advance(s, &run, avail - from, err);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int page_sign_data(struct page_sign *s, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	int err = 0;

	pthread_mutex_lock(&s->lock);
	while (len && !s->err) {
		struct sign_run run;
		uint64_t n;

		if (s->head == s->nr) {
			err = -EINVAL;
			pr_err("%s: %zu bytes to sign past the runs queued", s->name, len);
			break;
		}
		run = s->q[s->head];
		n = min((uint64_t)len, run.len - s->done);
		if (!s->m)
			err = img_mac_data_start(s->dump_id, s->name, run.off, run.len, &s->m);
		if (!err)
			err = img_mac_data_update(s->m, p, n);
		head_advance(s, &run, n, err);
		p += n;
		len -= n;
	}
	if (!err)
		err = s->err;
	pthread_mutex_unlock(&s->lock);
	return err;
}

int page_sign_start(int fd, const uint8_t *dump_id, const char *name, struct page_sign **ret_s)
{
	struct page_sign *s = xzalloc(sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	s->buf = xmalloc(SIGN_BUF);
	if (!s->buf) {
		free(s);
		return -ENOMEM;
	}
	s->fd = fd;
	memcpy(s->dump_id, dump_id, IMG_DUMP_ID_SIZE);
	snprintf(s->name, sizeof(s->name), "%s", name);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->more, NULL);
	pthread_cond_init(&s->done_cond, NULL);
	err = -pthread_create(&s->thread, NULL, signer, s);
	if (err) {
		free(s->buf);
		free(s);
		return pr_errno(err, "%s: the page signing thread", name);
	}
	*ret_s = s;
	return 0;
}

int page_sign_queue(struct page_sign *s, uint64_t off, uint64_t len, uint8_t *ret_mac)
{
	int err = 0;

	pthread_mutex_lock(&s->lock);
	if (s->head == s->nr)
		s->head = s->nr = 0;
	if (s->nr == s->cap) {
		struct sign_run *n = realloc(s->q, sizeof(*n) * (s->cap ? s->cap * 2 : 256));

		if (n) {
			s->q = n;
			s->cap = s->cap ? s->cap * 2 : 256;
		} else {
			err = -ENOMEM;
		}
	}
	if (!err) {
		s->q[s->nr++] = (struct sign_run){ off, len, ret_mac };
		pthread_cond_signal(&s->more);
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

void page_sign_written(struct page_sign *s, uint64_t end)
{
	pthread_mutex_lock(&s->lock);
	s->written = end;
	pthread_cond_signal(&s->more);
	pthread_mutex_unlock(&s->lock);
}

int page_sign_wait(struct page_sign *s)
{
	int err;

	pthread_mutex_lock(&s->lock);
	while (!s->err && s->head != s->nr)
		pthread_cond_wait(&s->done_cond, &s->lock);
	err = s->err;
	pthread_mutex_unlock(&s->lock);
	if (err)
		pr_errno(err, "%s: signing the pages at offset %lu", s->name, (unsigned long)s->bad_off);
	return err;
}

void page_sign_stop(struct page_sign *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_signal(&s->more);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->more);
	pthread_cond_destroy(&s->done_cond);
	img_mac_data_free(s->m);
	free(s->q);
	free(s->buf);
	free(s);
}
