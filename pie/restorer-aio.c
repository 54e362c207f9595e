/*
 * The restorer's AIO contexts (see criu-lite/mem-aio.c). The kernel keeps
 * a ring's tail itself and moves it only when a request completes; the
 * head is the ring's, moved when events are reaped. So a new context is
 * brought to the dumped state with requests that complete at once (reads
 * of nothing from a regular file): @head of them submitted and reaped
 * (head = tail = @head), then as many as there were unreaped events
 * submitted and left (tail = @tail), whose records then get the dumped
 * events' bytes. The kernel's count of free slots is then what it was.
 */
#include "pie-lib.h"
#include "restorer-aio.h"

#define MREMAP_MAYMOVE_		1
#define MREMAP_FIXED_		2
#define IOCB_CMD_PREAD_		0
#define AIO_BATCH		32

struct aio_ring_hdr_ {			/* the kernel's struct aio_ring */
	u32 id, nr, head, tail, magic, compat_features, incompat_features, header_length;
};

struct io_event_ {
	u64 data, obj;
	long long res, res2;
};

struct iocb_ {				/* linux/aio_abi.h, little endian */
	u64 aio_data;
	u32 aio_key, aio_rw_flags;
	u16 aio_lio_opcode;
	short aio_reqprio;
	u32 aio_fildes;
	u64 aio_buf, aio_nbytes;
	long long aio_offset;
	u64 aio_reserved2;
	u32 aio_flags, aio_resfd;
};

_Static_assert(sizeof(struct iocb_) == 64, "struct iocb");
_Static_assert(sizeof(struct io_event_) == 32, "struct io_event");

/* @n requests that complete inside io_submit(), reaped if @reap. */
static long complete_now(u64 ctx, int fd, u32 n, int reap)
{
	struct iocb_ cb[AIO_BATCH], *p[AIO_BATCH];
	struct io_event_ ev[AIO_BATCH];
	char none;

	while (n) {
		u32 k = n < AIO_BATCH ? n : AIO_BATCH;
		long r;

		memset(cb, 0, sizeof(cb));
		for (u32 i = 0; i < k; i++) {
			cb[i].aio_lio_opcode = IOCB_CMD_PREAD_;
			cb[i].aio_fildes = fd;
			cb[i].aio_buf = (u64)&none;
			p[i] = &cb[i];
		}
		r = sys_io_submit(ctx, k, p);
		if (r >= 0 && (u32)r != k)
			r = -11;	/* EAGAIN: no free slot */
		if (r >= 0 && reap) {
			r = sys_io_getevents(ctx, k, k, ev, 0);
			if (r >= 0 && (u32)r != k)
				r = -5;
		}
		if (r < 0) {
			pie_err("AIO context %lx: a request that completes at once: %ld", ctx, r);
			return r;
		}
		n -= k;
	}
	return 0;
}

static long restore_ring(const struct restorer_aio *a, int fd)
{
	const struct io_event_ *src = (const void *)a->events;
	unsigned long ctx = 0;
	struct aio_ring_hdr_ *ring;
	struct io_event_ *ev;
	u32 unreaped = (a->tail + a->nr - a->head) % a->nr;
	long r;

	r = sys_io_setup(a->nr_req, &ctx);
	if (r < 0) {
		pie_err("io_setup(%u) for the AIO context %lx: %ld", a->nr_req, a->start, r);
		return r;
	}
	ring = (void *)ctx;
	if (ring->nr != a->nr) {
		pie_err("AIO context %lx: io_setup(%u) made a ring of %u events, not %u", a->start, a->nr_req,
			ring->nr, a->nr);
		return -22;
	}
	/* The ring is the context's id: it goes to the dumped address (aio rings may move). */
	if (ctx != a->start) {
		r = sys_mremap(ctx, a->len, a->len, MREMAP_MAYMOVE_ | MREMAP_FIXED_, a->start);
		if (r < 0 || (u64)r != a->start) {
			pie_err("AIO context: moving its ring from %lx to %lx: %ld", ctx, a->start, r);
			return r < 0 ? r : -22;
		}
	}
	ring = (void *)a->start;
	r = complete_now(a->start, fd, a->head, 1);
	if (!r)
		r = complete_now(a->start, fd, unreaped, 0);
	if (r)
		return r;
	ev = (void *)(ring + 1);
	for (u32 i = 0; i < unreaped; i++)
		ev[(a->head + i) % a->nr] = src[i];
	if (ring->head != a->head || ring->tail != a->tail) {
		pie_err("AIO context %lx: head %u tail %u, not %u %u", a->start, ring->head, ring->tail, a->head,
			a->tail);
		return -5;
	}
	return 0;
}

long restorer_aio_rings(const struct restorer_aio *aios, u32 n, int fd)
{
	for (u32 i = 0; i < n; i++) {
		long r = restore_ring(&aios[i], fd);

		if (r)
			return r;
	}
	return 0;
}
