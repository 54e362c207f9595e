/*
 * An AIO context (io_setup) whose completed requests were not all
 * reaped: after enough reads submitted and reaped that the ring's tail
 * wraps around its end in what follows, four reads of a file submitted,
 * all done, two reaped (the two left lie across the wrap). After
 * restore the context has the same id (the ring's address, "/[aio]" in
 * maps), its ring the same head, tail and size, io_getevents() returns
 * the two left with their data, and new requests work in it.
 */
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "zdtm.h"

#define NR_EVENTS	16
#define NR_READS	4
#define NR_REAPED	2
#define CHUNK		4096
#define FILE_SEED	0xa10a0001ULL

/* The kernel's struct aio_ring header, which user space may read (libaio does). */
struct ring {
	unsigned id, nr, head, tail, magic, compat_features, incompat_features, header_length;
	struct io_event events[];
};

static uint8_t bufs[NR_READS + 1][CHUNK] __attribute__((aligned(4096)));
static struct iocb cbs[NR_READS + 1];

static long io_submit1(aio_context_t ctx, struct iocb *cb)
{
	return syscall(SYS_io_submit, ctx, 1, &cb);
}

static long io_getevents_(aio_context_t ctx, long min, long nr, struct io_event *ev)
{
	struct timespec ts = { 10, 0 };

	return syscall(SYS_io_getevents, ctx, min, nr, ev, &ts);
}

static void prep_read(struct iocb *cb, int fd, unsigned k)
{
	memset(cb, 0, sizeof(*cb));
	cb->aio_data = 100 + k;
	cb->aio_lio_opcode = IOCB_CMD_PREAD;
	cb->aio_fildes = fd;
	cb->aio_buf = (uintptr_t)bufs[k];
	cb->aio_nbytes = CHUNK;
	cb->aio_offset = (uint64_t)k * CHUNK;
}

static int check_event(const struct io_event *ev, unsigned k)
{
	if (ev->data != 100 + k || ev->obj != (uintptr_t)&cbs[k] || ev->res != CHUNK) {
		test_msg("FAIL: event of read %u: data %llu obj %#llx res %lld", k, (unsigned long long)ev->data,
			 (unsigned long long)ev->obj, (long long)ev->res);
		return 1;
	}
	if (pattern_check(bufs[k], CHUNK, FILE_SEED + (uint64_t)k * CHUNK / 8) >= 0) {
		test_msg("FAIL: the buffer of read %u does not hold the file's bytes", k);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static uint8_t file[(NR_READS + 1) * CHUNK];
	struct io_event ev[NR_READS];
	aio_context_t ctx = 0;
	struct ring *ring;
	struct vma_info v;
	unsigned nr, head, tail;
	int fd, bad = 0;

	test_init(argc, argv);
	fd = open("aio.data", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		fail_errno("open aio.data");
	pattern_fill(file, sizeof(file), FILE_SEED);
	write_full(fd, file, sizeof(file));
	if (syscall(SYS_io_setup, NR_EVENTS, &ctx))
		fail_errno("io_setup");
	ring = (struct ring *)ctx;
	nr = ring->nr;
	/* Up to 3 slots before the ring's end: tail wraps, the unreaped two straddle it. */
	for (unsigned k = 0; k + 3 < nr; k++) {
		prep_read(&cbs[0], fd, 0);
		if (io_submit1(ctx, &cbs[0]) != 1 || io_getevents_(ctx, 1, 1, ev) != 1)
			fail_errno("warming read %u", k);
	}
	head = (nr - 3 + NR_REAPED) % nr;
	tail = (nr - 3 + NR_READS) % nr;
	for (unsigned k = 0; k < NR_READS; k++) {
		prep_read(&cbs[k], fd, k);
		if (io_submit1(ctx, &cbs[k]) != 1)
			fail_errno("io_submit of read %u", k);
	}
	if (io_getevents_(ctx, NR_REAPED, NR_REAPED, ev) != NR_REAPED)
		fail_errno("io_getevents before the dump");
	/* Buffered reads of a regular file complete inside io_submit: nothing is in flight. */
	if (ring->head != head || ring->tail != tail || head < tail)
		fail("setup: ring head %u tail %u, expected %u %u across the ring's end", ring->head, ring->tail, head,
		     tail);

	test_ready();
	test_wait_checkpoint();

	if (vma_find(ring, &v) || v.start != (unsigned long)ring || !strstr(v.path, "[aio]"))
		fail("the ring at %p (the context id) is no longer an /[aio] mapping", ring);
	if (ring->nr != nr || ring->head != head || ring->tail != tail)
		fail("ring nr %u head %u tail %u after restore, expected %u %u %u", ring->nr, ring->head, ring->tail,
		     nr, head, tail);
	if (io_getevents_(ctx, NR_READS - NR_REAPED, NR_READS, ev) != NR_READS - NR_REAPED)
		fail_errno("io_getevents of the two completed reads after restore");
	for (unsigned k = NR_REAPED; k < NR_READS; k++)
		bad += check_event(&ev[k - NR_REAPED], k);
	prep_read(&cbs[NR_READS], fd, NR_READS);
	if (io_submit1(ctx, &cbs[NR_READS]) != 1)
		fail_errno("io_submit after restore");
	if (io_getevents_(ctx, 1, 1, ev) != 1)
		fail_errno("io_getevents of the read submitted after restore");
	bad += check_event(&ev[0], NR_READS);
	if (syscall(SYS_io_destroy, ctx))
		fail_errno("io_destroy after restore");
	if (bad)
		fail("%d check(s) failed", bad);
	pass();
}
