/*
 * Writing a compressed page stream (pagez.h): the caller fills blocks
 * (copies from a pipe or a buffer), workers compress them on every core
 * while the next ones fill, and the caller's thread hands the encoded
 * blocks to the output in order.
 *
 * Blocks go through a ring of slots by sequence number: the caller fills
 * slot @fill, workers take slots from @taken up to @fill, the caller
 * outputs slot @written once it is done. A slot is filled again only
 * after it was written, so at most NR_SLOTS blocks are in memory.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "image.h"
#include "log.h"
#include "pagez.h"

#define MAX_WORKERS	16

struct slot {
	unsigned char *in;
	size_t in_len;
	uint64_t loff;
	unsigned char *out;
	ssize_t out_len;	/* encoded size, or -errno */
	bool done;
};

struct pagez_writer {
	int level;
	pagez_out_fn out;
	void *ctx;
	uint64_t loff;		/* logical offset of the block being filled */
	uint64_t stored;
	size_t out_cap;
	unsigned nr_slots;
	struct slot *slots;
	uint64_t fill, taken, written;	/* sequence numbers */
	pthread_mutex_t lock;
	pthread_cond_t work;	/* workers: a slot to take, or stop */
	pthread_cond_t done;	/* the caller: a slot was encoded */
	bool stop;
	unsigned nr_workers;
	pthread_t workers[MAX_WORKERS];
	int err;		/* the first failure; the writer is then unusable */
};

static void *worker(void *arg)
{
	struct pagez_writer *w = arg;
	void *cctx = pagez_cctx_new();

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct slot *s;

		while (!w->stop && w->taken == w->fill)
			pthread_cond_wait(&w->work, &w->lock);
		if (w->stop)
			break;
		s = &w->slots[w->taken++ % w->nr_slots];
		pthread_mutex_unlock(&w->lock);
		s->out_len = cctx ? pagez_encode(cctx, w->level, s->loff, s->in, s->in_len, s->out, w->out_cap) : -ENOMEM;
		pthread_mutex_lock(&w->lock);
		s->done = true;
		pthread_cond_broadcast(&w->done);
	}
	pthread_mutex_unlock(&w->lock);
	pagez_cctx_free(cctx);
	return NULL;
}

/* Waits for the oldest slot encoded and outputs it. 0 or -errno (logged). */
static int write_oldest(struct pagez_writer *w)
{
	struct slot *s = &w->slots[w->written % w->nr_slots];
	int err;

	pthread_mutex_lock(&w->lock);
	while (!s->done)
		pthread_cond_wait(&w->done, &w->lock);
	pthread_mutex_unlock(&w->lock);
	if (s->out_len < 0)
		return pr_errno((int)s->out_len, "zstd: compressing %zu bytes of pages at logical offset %lu",
				s->in_len, (unsigned long)s->loff);
	err = w->out(w->ctx, s->out, s->out_len);
	if (err)
		return err;
	w->stored += s->out_len;
	s->done = false;
	s->in_len = 0;
	w->written++;
	return 0;
}

/* Queues the slot being filled for a worker. */
static void submit(struct pagez_writer *w)
{
	struct slot *s = &w->slots[w->fill % w->nr_slots];

	w->loff += s->in_len;
	pthread_mutex_lock(&w->lock);
	w->fill++;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->lock);
}

/*
 * The slot to fill next, with room: a full one is submitted, and a slot
 * still holding an older block waits for it to be written. 0 or -errno.
 */
static int fill_slot(struct pagez_writer *w, struct slot **ret)
{
	struct slot *s = &w->slots[w->fill % w->nr_slots];
	int err;

	if (s->in_len == PAGEZ_BLOCK_SIZE) {
		submit(w);
		s = &w->slots[w->fill % w->nr_slots];
	}
	while (w->fill - w->written >= w->nr_slots) {
		err = write_oldest(w);
		if (err)
			return err;
	}
	if (!s->in_len)
		s->loff = w->loff;
	*ret = s;
	return 0;
}

static int fail(struct pagez_writer *w, int err)
{
	if (!w->err)
		w->err = err;
	return err;
}

int pagez_write(struct pagez_writer *w, const void *buf, uint64_t len)
{
	const unsigned char *p = buf;

	if (w->err)
		return w->err;
	while (len) {
		struct slot *s;
		size_t n;
		int err = fill_slot(w, &s);

		if (err)
			return fail(w, err);
		n = min(len, (uint64_t)(PAGEZ_BLOCK_SIZE - s->in_len));
		memcpy(s->in + s->in_len, p, n);
		s->in_len += n;
		p += n;
		len -= n;
	}
	return 0;
}

int pagez_write_from(struct pagez_writer *w, int fd, uint64_t len, const char *what)
{
	if (w->err)
		return w->err;
	while (len) {
		struct slot *s;
		ssize_t n;
		int err = fill_slot(w, &s);

		if (err)
			return fail(w, err);
		n = read(fd, s->in + s->in_len, min(len, (uint64_t)(PAGEZ_BLOCK_SIZE - s->in_len)));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail(w, pr_errno(n < 0 ? -errno : -EIO, "%s: reading pages to compress (%lu bytes "
						"missing)", what, (unsigned long)len));
		s->in_len += n;
		len -= n;
	}
	return 0;
}

int pagez_writer_finish(struct pagez_writer *w)
{
	int err = w->err;

	if (!err && w->slots[w->fill % w->nr_slots].in_len)
		submit(w);
	while (!err && w->written < w->fill)
		err = write_oldest(w);
	return err ? fail(w, err) : 0;
}

uint64_t pagez_writer_stored(const struct pagez_writer *w)
{
	return w->stored;
}

static unsigned online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (unsigned)n;
}

int pagez_writer_new(int level, unsigned threads, uint64_t loff, pagez_out_fn out, void *ctx,
		     struct pagez_writer **ret)
{
	struct pagez_writer *w = xzalloc(sizeof(*w));
	int err = 0;

	if (!w)
		return -ENOMEM;
	w->level = level;
	w->out = out;
	w->ctx = ctx;
	w->loff = loff;
	w->out_cap = pagez_encoded_bound(PAGEZ_BLOCK_SIZE);
	threads = threads ? min(threads, (unsigned)MAX_WORKERS) : online_cpus();
	/* Each worker one block ahead while the caller fills the next two. */
	w->nr_slots = threads * 2 + 2;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->done, NULL);
	w->slots = xzalloc(sizeof(*w->slots) * w->nr_slots);
	for (unsigned i = 0; w->slots && i < w->nr_slots && !err; i++) {
		w->slots[i].in = xmalloc(PAGEZ_BLOCK_SIZE);
		w->slots[i].out = xmalloc(w->out_cap);
		if (!w->slots[i].in || !w->slots[i].out)
			err = -ENOMEM;
	}
	if (!w->slots)
		err = -ENOMEM;
	for (unsigned i = 0; i < threads && !err; i++) {
		err = -pthread_create(&w->workers[i], NULL, worker, w);
		if (err)
			pr_errno(err, "zstd: starting compression thread %u", i + 1);
		else
			w->nr_workers++;
	}
	if (err) {
		pagez_writer_free(w);
		return err;
	}
	*ret = w;
	return 0;
}

void pagez_writer_free(struct pagez_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->work);
	pthread_mutex_unlock(&w->lock);
	for (unsigned i = 0; i < w->nr_workers; i++)
		pthread_join(w->workers[i], NULL);
	for (unsigned i = 0; w->slots && i < w->nr_slots; i++) {
		free(w->slots[i].in);
		free(w->slots[i].out);
	}
	free(w->slots);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->done);
	free(w);
}
