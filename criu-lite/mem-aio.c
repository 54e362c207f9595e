/*
 * AIO contexts (io_setup()), dump and restore side. A context's id is the
 * address of its ring, a mapping the kernel makes ("/[aio] (deleted)" in
 * maps) whose header (struct aio_ring) and events user space reads. Dump
 * saves the ring's size, head, tail and the completed events not reaped
 * yet; the restorer (pie/restorer-aio.c) makes a context of the same size,
 * moves its ring to the dumped address and brings head, tail and events
 * back.
 *
 * Requests still in flight (submitted, not completed) are nowhere the
 * kernel shows them: not in the ring (only completions are), not in /proc.
 * cr cannot see them, and they would be lost; the dump says so.
 */
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "cr.h"
#include "infect.h"
#include "log.h"
#include "mem.h"
#include "proc-parse.h"
#include "region.h"
#include "restorer-abi.h"

#define AIO_RING_NAME		"/[aio]"
#define AIO_RING_MAGIC		0xa10a10a1
#define AIO_RING_COMPAT		1
#define AIO_RING_INCOMPAT	0

/* The kernel's struct aio_ring (fs/aio.c): the ring's first bytes. */
struct aio_ring_hdr {
	uint32_t id, nr, head, tail, magic, compat_features, incompat_features, header_length;
};

BUILD_BUG_ON(sizeof(struct aio_ring_hdr) != 32);
BUILD_BUG_ON(sizeof(struct io_event) != 32);

/* Events a ring of @len bytes holds. */
static uint32_t ring_nr(uint64_t len)
{
	return (len - sizeof(struct aio_ring_hdr)) / sizeof(struct io_event);
}

/*
 * io_setup()'s nr_events that gives a ring of @nr events: the kernel
 * makes max(n, 4 * CPUs) * 2 + 2 and rounds the ring up to whole pages.
 */
static uint32_t ring_nr_req(uint32_t nr)
{
	return (nr - 2) / 2;
}

bool mem_aio_is_ring(const struct proc_vma *v)
{
	return v->path && v->deleted && v->shared && !strcmp(v->path, AIO_RING_NAME);
}

int mem_aio_classify(pid_t pid, const struct proc_vma *v, VmaEntry *e)
{
	(void)pid;
	e->kind = VMA_KIND__VMA_AIO_RING;
	e->name = xstrdup(v->path);
	return e->name ? 0 : -ENOMEM;
}

static int read_ring(pid_t pid, int mem_fd, const VmaEntry *v, AioRing *r)
{
	struct aio_ring_hdr h;
	uint64_t len = v->end - v->start;
	uint32_t nr = ring_nr(len), unreaped;
	ssize_t n;

	n = pread(mem_fd, &h, sizeof(h), v->start);
	if (n != sizeof(h))
		return pr_errno(n < 0 ? -errno : -EIO, "pid %d: AIO ring at %lx: reading its header", pid,
				(unsigned long)v->start);
	if (h.magic != AIO_RING_MAGIC || h.compat_features != AIO_RING_COMPAT ||
	    h.incompat_features != AIO_RING_INCOMPAT || h.header_length != sizeof(h) || h.nr != nr ||
	    h.head >= nr || h.tail >= nr)
		return pr_errno(-ENOTSUP, "pid %d: AIO ring at %lx-%lx is not one cr knows (magic %x, nr %u, head %u, "
				"tail %u)", pid, (unsigned long)v->start, (unsigned long)v->end, h.magic, h.nr, h.head,
				h.tail);
	unreaped = (h.tail + nr - h.head) % nr;
	r->start = v->start;
	r->len = len;
	r->nr = nr;
	r->head = h.head;
	r->tail = h.tail;
	r->events.len = (size_t)unreaped * sizeof(struct io_event);
	r->events.data = xmalloc(r->events.len ? r->events.len : 1);
	if (!r->events.data)
		return -ENOMEM;
	/* From head to tail, wrapping at the ring's end. */
	for (uint32_t i = 0; i < unreaped; i++) {
		uint64_t at = v->start + sizeof(h) + (uint64_t)((h.head + i) % nr) * sizeof(struct io_event);

		n = pread(mem_fd, r->events.data + (size_t)i * sizeof(struct io_event), sizeof(struct io_event), at);
		if (n != sizeof(struct io_event))
			return pr_errno(n < 0 ? -errno : -EIO, "pid %d: AIO ring at %lx: reading event %u", pid,
					(unsigned long)v->start, i);
	}
	pr_warn("pid %d: AIO context %lx: %u completed events not reaped are kept; requests still in flight, "
		"which the kernel shows nowhere, would be lost", pid, (unsigned long)v->start, unreaped);
	return 0;
}

int mem_aio_check_owner(struct parasite_ctl *ctl, pid_t pid, const MmEntry *mm)
{
	for (size_t i = 0; i < mm->n_aios; i++) {
		const AioRing *r = mm->aios[i];
		long ret;
		int err;

		/*
		 * Reaping nothing: 0 in the context's own process, EINVAL in
		 * one that only maps its ring (a child forked after io_setup()).
		 */
		err = infect_syscall(ctl, __NR_io_getevents, &ret, r->start, 0, 0, 0, 0, 0);
		if (err)
			return err;
		if (ret == -EINVAL)
			return pr_errno(-ENOTSUP, "pid %d: mapping %lx-%lx of /[aio]: the ring of another process's AIO "
					"context (inherited over fork), which cr cannot restore yet", pid,
					(unsigned long)r->start, (unsigned long)(r->start + r->len));
		if (ret)
			return pr_errno((int)ret, "pid %d: AIO context %lx: io_getevents", pid, (unsigned long)r->start);
	}
	return 0;
}

int mem_aio_collect(pid_t pid, MmEntry *mm)
{
	_cleanup_close_ int mem_fd = -EBADF;
	size_t nr = 0;
	char path[64];
	int err;

	for (size_t i = 0; i < mm->n_vmas; i++)
		nr += mm->vmas[i]->kind == VMA_KIND__VMA_AIO_RING;
	if (!nr)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (mem_fd < 0)
		return pr_errno(-errno, "pid %d: %s", pid, path);
	mm->aios = xzalloc(sizeof(*mm->aios) * nr);
	if (!mm->aios)
		return -ENOMEM;
	for (size_t i = 0; i < mm->n_vmas; i++) {
		AioRing *r;

		if (mm->vmas[i]->kind != VMA_KIND__VMA_AIO_RING)
			continue;
		r = xmalloc(sizeof(*r));
		if (!r)
			return -ENOMEM;
		aio_ring__init(r);
		mm->aios[mm->n_aios++] = r;
		err = read_ring(pid, mem_fd, mm->vmas[i], r);
		if (err)
			return err;
	}
	return 0;
}

void mem_aio_free(MmEntry *mm)
{
	for (size_t i = 0; i < mm->n_aios; i++) {
		free(mm->aios[i]->events.data);
		free(mm->aios[i]);
	}
	free(mm->aios);
	mm->aios = NULL;
	mm->n_aios = 0;
}

/* Whether this kernel makes a ring of @nr events for io_setup(ring_nr_req(@nr)). */
static int probe_ring(uint32_t nr)
{
	aio_context_t ctx = 0;
	uint32_t got;

	if (syscall(SYS_io_setup, ring_nr_req(nr), &ctx))
		return -errno;
	got = ((const struct aio_ring_hdr *)ctx)->nr;
	syscall(SYS_io_destroy, ctx);
	return got == nr ? 0 : -ERANGE;
}

int mem_aio_check(pid_t pid, const MmEntry *mm)
{
	size_t k = 0;

	for (size_t i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *v = mm->vmas[i];
		const AioRing *r;
		int err;

		if (v->kind != VMA_KIND__VMA_AIO_RING)
			continue;
		r = k < mm->n_aios ? mm->aios[k++] : NULL;
		if (!r || r->start != v->start || r->len != v->end - v->start || r->nr != ring_nr(r->len) ||
		    r->nr < 3 || r->head >= r->nr || r->tail >= r->nr ||
		    r->events.len != (size_t)((r->tail + r->nr - r->head) % r->nr) * sizeof(struct io_event))
			return pr_errno(-EBADMSG, "mm-%d.img: the AIO ring at %lx does not match its mapping", pid,
					(unsigned long)v->start);
		err = probe_ring(r->nr);
		if (err == -ERANGE)
			return pr_errno(-ENOTSUP, "pid %d: AIO context %lx: this kernel makes no ring of %u events "
					"(another CPU count than at dump?)", pid, (unsigned long)r->start, r->nr);
		if (err)
			return pr_errno(err, "pid %d: AIO context %lx: io_setup(%u)", pid, (unsigned long)r->start,
					ring_nr_req(r->nr));
	}
	if (k != mm->n_aios)
		return pr_errno(-EBADMSG, "mm-%d.img: %zu AIO rings for %zu ring mappings", pid, mm->n_aios, k);
	return 0;
}

int mem_aio_fill_args(const MmEntry *mm, struct region *rg, struct restorer_args *a)
{
	struct restorer_aio *ra;

	if (!mm->n_aios)
		return 0;
	ra = region_alloc(rg, sizeof(*ra) * mm->n_aios, 8);
	if (!ra)
		return -ENOMEM;
	for (size_t i = 0; i < mm->n_aios; i++) {
		const AioRing *r = mm->aios[i];
		void *ev = region_alloc(rg, r->events.len ? r->events.len : 1, 8);

		if (!ev)
			return -ENOMEM;
		memcpy(ev, r->events.data, r->events.len);
		ra[i] = (struct restorer_aio){ .start = r->start, .len = r->len, .nr_req = ring_nr_req(r->nr),
					       .nr = r->nr, .head = r->head, .tail = r->tail, .events = (uint64_t)ev };
	}
	a->aios = (uint64_t)ra;
	a->nr_aios = mm->n_aios;
	return 0;
}
