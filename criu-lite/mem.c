/*
 * Memory: the page contents, dump and restore side, and the files the
 * VMAs map at restore (mem-vma.c reads the layout at dump).
 * The restorer blob does the mapping itself; this file prepares what it
 * needs (the VMA list, the page runs, the opened files).
 */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/auxv.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "asm/tramp.h"
#include "cleanup.h"
#include "compiler.h"
#include "cr.h"
#include "image.h"
#include "image-mac.h"
#include "infect.h"
#include "log.h"
#include "open-file.h"
#include "mem.h"
#include "page-xfer.h"
#include "mem-track.h"
#include "parasite-cmds.h"
#include "pagemap.pb-c.h"
#include "proc-parse.h"
#include "progress.h"
#include "shmem.h"
#include "stats.h"

#define RUN_MAX_PAGES		512		/* one checksum per 2 MiB at most */
#define BATCH_MAX_BYTES		(16ULL << 20)	/* moved per parasite command */
#define PIPE_MAX_SIZE_FILE	"/proc/sys/fs/pipe-max-size"


bool mem_vma_has_pages(const VmaEntry *v)
{
	return v->kind == VMA_KIND__VMA_ANON_PRIVATE || v->kind == VMA_KIND__VMA_FILE_PRIVATE ||
	       v->kind == VMA_KIND__VMA_SHMEM_PRIVATE || v->kind == VMA_KIND__VMA_ZERO_PRIVATE;
}

/*
 * Where the vdso image ends inside its pages, and how large those pages
 * are: the kernel gives every process the same image, so cr's own tells.
 * Past the ELF's last byte (section headers come last) the pages are
 * padding that nothing executes or reads.
 */
static int vdso_geometry(uint64_t *ret_used, uint64_t *ret_size)
{
	const Elf64_Ehdr *eh = (const void *)getauxval(AT_SYSINFO_EHDR);
	uint64_t used, size = 0;

	if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64)
		return -ENOENT;
	used = eh->e_shoff + (uint64_t)eh->e_shnum * eh->e_shentsize;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const void *)((const char *)eh + eh->e_phoff + i * eh->e_phentsize);

		if (ph->p_type == PT_LOAD) {
			used = max(used, ph->p_offset + ph->p_filesz);
			size = max(size, ALIGN_UP(ph->p_offset + ph->p_memsz, PAGE_SIZE));
		}
	}
	if (!size)
		return -ENOENT;
	*ret_used = ALIGN_UP(used, 64);
	*ret_size = size;
	return 0;
}

uint64_t mem_trampoline_place(const MmEntry *mm, unsigned slot)
{
	uint64_t used = 0, size = 0, text = 0, room = ARCH_TRAMP_SLOT * ARCH_TRAMP_SLOTS;
	bool geometry = vdso_geometry(&used, &size) == 0 && used + room <= size;

	for (size_t i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *v = mm->vmas[i];

		if (v->kind == VMA_KIND__VMA_VDSO && geometry && v->end - v->start == size)
			return v->start + used + slot * ARCH_TRAMP_SLOT;
		if (!text && (v->prot & PROT_EXEC) && (v->kind == VMA_KIND__VMA_FILE_PRIVATE ||
						      v->kind == VMA_KIND__VMA_ANON_PRIVATE) &&
		    v->end - v->start >= room)
			text = v->start;
	}
	if (text)
		pr_debug("no room in the vdso: the trampoline goes over code at %lx for a moment",
			 (unsigned long)text);
	return text ? text + slot * ARCH_TRAMP_SLOT : 0;
}

/*
 * The PFN of the kernel's shared zero page, or 0 if pagemap hides PFNs.
 * Anonymous memory that was read but never written maps it: such pages
 * hold nothing, and restoring them as data would turn free reads into
 * resident memory.
 */
static uint64_t zero_page_pfn(void)
{
	_cleanup_close_ int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	volatile char *p;
	uint64_t pme = 0;

	if (fd < 0)
		return 0;
	p = mmap(NULL, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	(void)p[0];	/* a read fault maps the zero page */
	if (pread(fd, &pme, sizeof(pme), ((uintptr_t)p / PAGE_SIZE) * 8) != sizeof(pme))
		pme = 0;
	munmap((void *)p, PAGE_SIZE);
	return (pme & PME_PRESENT) ? pme & PME_PFN_MASK : 0;
}

/* A present page that is the kernel's zero page (or a part of its huge one). */
static bool page_is_zero(uint64_t pme, uint64_t zero_pfn, uint64_t huge_zero_pfn)
{
	if (!(pme & PME_PRESENT))
		return false;
	return (zero_pfn && (pme & PME_PFN_MASK) == zero_pfn) || mem_huge_zero_page(pme & PME_PFN_MASK, huge_zero_pfn);
}

/* A page is worth saving if it exists, holds data, and no file holds it. */
static bool page_wanted(const VmaEntry *v, uint64_t pme, uint64_t zero_pfn, uint64_t huge_zero_pfn)
{
	/* A guard has the swap bit but no page (mem_guard_collect() lists it). */
	if (!(pme & (PME_PRESENT | PME_SWAP)) || (pme & PME_GUARD))
		return false;
	/* A marker has the swap bit but is a hole (pagemap shows it so since 5.19). */
	if (!(pme & PME_PRESENT) && (pme & PME_SWP_TYPE_MASK) == PME_SWP_TYPE_MARKER)
		return false;
	/* Private mappings of objects: only the copies the task wrote are its own. */
	if (v->kind == VMA_KIND__VMA_FILE_PRIVATE || v->kind == VMA_KIND__VMA_SHMEM_PRIVATE)
		return !(pme & PME_FILE_SHARED);
	return !page_is_zero(pme, zero_pfn, huge_zero_pfn);
}

/* PFN -> page image offset of its stored copy; open addressing. */
struct page_dedup {
	uint64_t *pfn, *off;
	size_t cap, nr;
	uint64_t saved;			/* bytes not written thanks to it */
};

struct page_dedup *page_dedup_new(void)
{
	return xzalloc(sizeof(struct page_dedup));
}

void page_dedup_free(struct page_dedup *dd)
{
	if (!dd)
		return;
	pr_info("%lu bytes of pages shared copy-on-write were stored once", (unsigned long)dd->saved);
	free(dd->pfn);
	free(dd->off);
	free(dd);
}

static size_t dedup_slot(const struct page_dedup *dd, uint64_t pfn)
{
	size_t i = (pfn * 0x9E3779B97F4A7C15ULL) & (dd->cap - 1);

	while (dd->pfn[i] && dd->pfn[i] != pfn)
		i = (i + 1) & (dd->cap - 1);
	return i;
}

static int dedup_grow(struct page_dedup *dd)
{
	struct page_dedup n = { .cap = dd->cap ? dd->cap * 2 : 4096 };

	n.pfn = xzalloc(sizeof(uint64_t) * n.cap);
	n.off = xmalloc(sizeof(uint64_t) * n.cap);
	if (!n.pfn || !n.off) {
		free(n.pfn);
		free(n.off);
		return -ENOMEM;
	}
	for (size_t i = 0; i < dd->cap; i++)
		if (dd->pfn[i]) {
			size_t k = dedup_slot(&n, dd->pfn[i]);

			n.pfn[k] = dd->pfn[i];
			n.off[k] = dd->off[i];
		}
	free(dd->pfn);
	free(dd->off);
	dd->pfn = n.pfn;
	dd->off = n.off;
	dd->cap = n.cap;
	return 0;
}

/* Stored offset of @pfn, or 0 after recording @off for it. */
static int dedup_lookup_add(struct page_dedup *dd, uint64_t pfn, uint64_t off, uint64_t *ret_found)
{
	size_t k;

	*ret_found = 0;
	if ((dd->nr + 1) * 2 > dd->cap) {
		int err = dedup_grow(dd);

		if (err)
			return err;
	}
	k = dedup_slot(dd, pfn);
	if (dd->pfn[k]) {
		*ret_found = dd->off[k];
		return 0;
	}
	dd->pfn[k] = pfn;
	dd->off[k] = off;
	dd->nr++;
	return 0;
}

struct page_dumper {
	struct parasite_ctl *ctl;
	pid_t pid;
	struct parasite_dump_pages *batch;	/* in the shared area */
	int pipe_r, pipe_w;
	struct img *pagemap;
	struct page_xfer *pages;
	uint64_t page_off;			/* this task's first byte in @pages */
	uint64_t bytes;
	uint64_t write_us;			/* in splice() into @pages */
	uint64_t batch_bytes;
	uint64_t zero_pfn, huge_zero_pfn;
	struct page_dedup *dd;
	uint64_t ref_addr, ref_off;		/* pending run of shared pages */
	uint32_t ref_len;
	struct page_xfer_sum *sums;		/* of a batch, for the page sink */
	uint8_t (*macs)[IMG_MAC_SIZE];		/* of a batch, signed dumps only */
	struct mem_track_task *track;		/* pages the parent image holds; NULL: none */
	uint64_t par_addr;			/* pending run of those */
	uint32_t par_len;
	uint64_t par_bytes;
	uint64_t zero_pages;			/* anonymous pages that are the zero page */
	uint64_t fills;				/* batches sent to the parasite */
};

static int open_pipe(struct page_dumper *d)
{
	_cleanup_free_ char *buf = NULL;
	int p[2], size = 1 << 20;

	if (pipe2(p, O_CLOEXEC))
		return pr_errno(-errno, "pipe for pages");
	d->pipe_r = p[0];
	d->pipe_w = p[1];
	/* A bigger pipe means fewer round trips; root may go up to the limit. */
	if (!read_file_at(AT_FDCWD, PIPE_MAX_SIZE_FILE, &buf, NULL))
		size = atoi(buf);
	if (fcntl(d->pipe_w, F_SETPIPE_SZ, size) < 0)
		pr_debug("F_SETPIPE_SZ %d: %s", size, strerror(errno));
	return 0;
}

/* Sends the batch to the parasite and moves its bytes to the page image. */
static int flush_batch(struct page_dumper *d)
{
	struct parasite_dump_pages *b = d->batch;
	uint64_t left = d->batch_bytes;
	struct timespec t0;
	uint64_t off = page_xfer_offset(d->pages);
	int ret, err = 0;
	uint32_t i;

	if (!b->nr_iovs)
		return 0;
	for (i = 0; i < b->nr_iovs && d->macs; off += (uint64_t)b->iovs[i++].nr_pages * PAGE_SIZE) {
		ret = page_xfer_sign(d->pages, off, (uint64_t)b->iovs[i].nr_pages * PAGE_SIZE, d->macs[i]);
		if (ret)
			return ret;
	}
	ret = infect_cmd_send(d->ctl, PARASITE_CMD_DUMP_PAGES, d->pipe_w);
	if (ret)
		return ret;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = page_xfer_splice(d->pages, d->pid, d->pipe_r, left);
	d->write_us += stats_us_since(&t0);
	ret = infect_cmd_wait(d->ctl, PARASITE_CMD_DUMP_PAGES);
	if (err || ret)
		return err ? err : ret;

	/* Signed by cr from what reached the image: the parasite runs in the task, which must not hold the key. */
	ret = d->macs ? page_xfer_sign_wait(d->pages) : 0;
	if (ret)
		return ret;
	for (i = 0; i < b->nr_iovs; i++)
		d->sums[i] = (struct page_xfer_sum){ (uint64_t)b->iovs[i].nr_pages * PAGE_SIZE, b->iovs[i].crc };
	for (i = 0; i < b->nr_iovs; i++) {
		PagemapEntry pe = PAGEMAP_ENTRY__INIT;

		pe.vaddr = b->iovs[i].addr;
		pe.nr_pages = b->iovs[i].nr_pages;
		pe.crc = b->iovs[i].crc;
		if (d->macs) {
			pe.has_mac = true;
			pe.mac = (ProtobufCBinaryData){ IMG_MAC_SIZE, d->macs[i] };
		}
		ret = pb_write_one(d->pagemap, &pe, PB_PAGEMAP);
		if (ret)
			return ret;
	}
	ret = page_xfer_sums(d->pages, d->sums, b->nr_iovs);
	if (ret)
		return ret;
	d->bytes += d->batch_bytes;
	d->fills++;
	progress_add(d->batch_bytes);
	d->batch_bytes = 0;
	b->nr_iovs = 0;
	return 0;
}

static int add_run(struct page_dumper *d, const VmaEntry *v, uint64_t addr, uint32_t nr)
{
	struct parasite_page_iov *iov;

	/* Bounded batches: a page server checks one while the next travels. */
	if (d->batch->nr_iovs == PARASITE_MAX_IOVS || d->batch_bytes >= BATCH_MAX_BYTES) {
		int ret = flush_batch(d);
		if (ret)
			return ret;
	}
	iov = &d->batch->iovs[d->batch->nr_iovs++];
	iov->addr = addr;
	iov->nr_pages = nr;
	iov->prot = v->prot;
	iov->crc = 0;
	d->batch_bytes += (uint64_t)nr * PAGE_SIZE;
	return 0;
}

/*
 * A pending run of pages stored elsewhere, as one entry: at @shared_off
 * of this image (an earlier task's), or (NULL) in the parent image. Its
 * bytes go to *@counter; *@len is reset.
 */
static int flush_elsewhere(struct page_dumper *d, uint64_t addr, uint32_t *len, const uint64_t *shared_off,
			   uint64_t *counter)
{
	PagemapEntry pe = PAGEMAP_ENTRY__INIT;

	if (!*len)
		return 0;
	pe.vaddr = addr;
	pe.nr_pages = *len;
	if (shared_off) {
		pe.has_shared_off = true;
		pe.shared_off = *shared_off;
	} else {
		pe.has_in_parent = pe.in_parent = true;
	}
	*counter += (uint64_t)*len * PAGE_SIZE;
	*len = 0;
	return pb_write_one(d->pagemap, &pe, PB_PAGEMAP);
}

static int flush_ref(struct page_dumper *d)
{
	return flush_elsewhere(d, d->ref_addr, &d->ref_len, &d->ref_off, &d->dd->saved);
}

/* The pending run of pages the parent image holds, as one in_parent entry. */
static int flush_parent(struct page_dumper *d)
{
	return flush_elsewhere(d, d->par_addr, &d->par_len, NULL, &d->par_bytes);
}

/* Not written since the last round (returns 1): the entry says it is in the parent. */
static int parent_page(struct page_dumper *d, uint64_t addr)
{
	int ret;

	if (!d->track || !mem_track_unchanged(d->track, addr))
		return 0;
	if (d->par_len && (d->par_addr + (uint64_t)d->par_len * PAGE_SIZE != addr || d->par_len >= RUN_MAX_PAGES)) {
		ret = flush_parent(d);
		if (ret)
			return ret;
	}
	if (!d->par_len)
		d->par_addr = addr;
	d->par_len++;
	return 1;
}

/*
 * A page mapped elsewhere too (not exclusive) may be one an earlier task
 * of the tree stored already: then refer to that copy (returns 1).
 * Otherwise remember where this one will be stored (@off) and return 0.
 */
static int dedup_page(struct page_dumper *d, uint64_t addr, uint64_t pme, uint64_t off)
{
	uint64_t found;
	int ret;

	if (!d->dd || !(pme & PME_PRESENT) || (pme & PME_EXCLUSIVE) || !(pme & PME_PFN_MASK))
		return 0;
	ret = dedup_lookup_add(d->dd, pme & PME_PFN_MASK, off, &found);
	/*
	 * Only a copy an earlier task stored (restore checks that): a page
	 * this task maps twice (KSM, the huge zero page) is stored again.
	 */
	if (ret || !found || found >= d->page_off)
		return ret;
	if (d->ref_len && (d->ref_addr + (uint64_t)d->ref_len * PAGE_SIZE != addr ||
			   d->ref_off + (uint64_t)d->ref_len * PAGE_SIZE != found ||
			   d->ref_len >= RUN_MAX_PAGES)) {
		ret = flush_ref(d);
		if (ret)
			return ret;
	}
	if (!d->ref_len) {
		d->ref_addr = addr;
		d->ref_off = found;
	}
	d->ref_len++;
	return 1;
}

static int scan_vma(struct page_dumper *d, int pm_fd, const VmaEntry *v, uint64_t *pme)
{
	uint64_t addr = v->start, run_start = 0;
	uint32_t run_len = 0;
	int ret;

	while (addr < v->end) {
		size_t nr = min((v->end - addr) / PAGE_SIZE, (uint64_t)PAGEMAP_BATCH), i;
		ssize_t n = pread(pm_fd, pme, nr * 8, (addr / PAGE_SIZE) * 8);

		if (n != (ssize_t)(nr * 8))
			return pr_errno(n < 0 ? -errno : -EIO, "reading pagemap at %lx", (unsigned long)addr);
		for (i = 0; i < nr; i++, addr += PAGE_SIZE) {
			if ((pme[i] & PME_GUARD) && !(v->madv & VMF_GUARD))
				return pr_errno(-ENOTSUP, "pid %d: guard page at %lx: this kernel's smaps does not "
						"mark its mapping %lx-%lx \"gu\", so cr cannot list its guards",
						d->pid, (unsigned long)addr, (unsigned long)v->start,
						(unsigned long)v->end);
			if (page_wanted(v, pme[i], d->zero_pfn, d->huge_zero_pfn)) {
				uint64_t off = d->page_off + d->bytes + d->batch_bytes + (uint64_t)run_len * PAGE_SIZE;

				ret = parent_page(d, addr);
				if (!ret)
					ret = dedup_page(d, addr, pme[i], off);
				if (ret < 0)
					return ret;
				if (!ret) {
					if (!run_len)
						run_start = addr;
					if (++run_len < RUN_MAX_PAGES)
						continue;
				}
			} else if (v->kind != VMA_KIND__VMA_FILE_PRIVATE && v->kind != VMA_KIND__VMA_SHMEM_PRIVATE &&
				   page_is_zero(pme[i], d->zero_pfn, d->huge_zero_pfn)) {
				d->zero_pages++;
			}
			if (run_len) {
				ret = add_run(d, v, run_start, run_len);
				if (ret)
					return ret;
				run_len = 0;
				/* a full run ended at a wanted page: it was counted */
			}
		}
	}
	/* A run, own or shared, lies in one VMA. */
	ret = run_len ? add_run(d, v, run_start, run_len) : 0;
	if (!ret)
		ret = flush_parent(d);
	return ret ? ret : flush_ref(d);
}

int mem_dump_pages(struct parasite_ctl *ctl, pid_t pid, const MmEntry *mm,
		   struct img *pagemap, struct page_xfer *pages, struct page_dedup *dd, struct mem_track_task *track,
		   struct mem_dump_stats *st)
{
	_cleanup_free_ struct page_xfer_sum *sums = xmalloc(sizeof(*sums) * PARASITE_MAX_IOVS);
	_cleanup_free_ uint8_t (*macs)[IMG_MAC_SIZE] = img_key_loaded() ? xmalloc(IMG_MAC_SIZE * PARASITE_MAX_IOVS)
								   : NULL;
	struct page_dumper d = { .ctl = ctl, .pid = pid, .batch = infect_data(ctl), .pipe_r = -1, .pipe_w = -1,
				 .pagemap = pagemap, .pages = pages, .dd = dd, .sums = sums, .macs = macs,
				 .track = track };
	PagemapHead head = PAGEMAP_HEAD__INIT;
	_cleanup_free_ uint64_t *pme = xmalloc(PAGEMAP_BATCH * 8);
	uint64_t scanned = 0, shared_before = dd ? dd->saved : 0;
	_cleanup_close_ int pm_fd = -EBADF;
	uint64_t off;
	size_t i;
	int ret;

	if (!pme || !sums || (img_key_loaded() && !macs))
		return -ENOMEM;
	pm_fd = proc_pagemap_open(pid);
	if (pm_fd < 0)
		return pm_fd;
	off = page_xfer_offset(pages);
	head.pages_id = 1;
	head.page_off = off;
	d.page_off = off;
	ret = pb_write_one(pagemap, &head, PB_PAGEMAP_HEAD);
	if (ret)
		return ret;
	ret = open_pipe(&d);
	if (ret)
		return ret;
	d.zero_pfn = zero_page_pfn();
	d.huge_zero_pfn = mem_huge_zero_pfn();

	d.batch->nr_iovs = 0;
	/* Signed: the MAC, which restore checks instead, covers the bytes; the task need not sum them too. */
	d.batch->flags = macs ? PARASITE_PAGES_NO_CRC : 0;
	for (i = 0; i < mm->n_vmas && !ret; i++)
		if (mem_vma_has_pages(mm->vmas[i])) {
			ret = scan_vma(&d, pm_fd, mm->vmas[i], pme);
			scanned += (mm->vmas[i]->end - mm->vmas[i]->start) / PAGE_SIZE;
		}
	if (!ret)
		ret = cr_fail_point("drain-pages");
	if (!ret)
		ret = flush_batch(&d);
	if (!ret)
		ret = flush_ref(&d);
	close(d.pipe_r);
	close(d.pipe_w);
	if (!ret) {
		st->bytes += d.bytes;
		st->pages_scanned += scanned;
		st->write_us += d.write_us;
		st->parent_bytes += d.par_bytes;
		st->zero_pages += d.zero_pages;
		st->shared_bytes += dd ? dd->saved - shared_before : 0;
		st->pipes++;
		st->pipe_fills += d.fills;
	}
	return ret;
}

/*
 * Binary search: the VMAs of an image are in address order (maps lists
 * them so). In an image where they are not, a range may not be found,
 * which refuses it; a VMA returned always holds the range.
 */
const VmaEntry *mem_find_vma(const MmEntry *mm, uint64_t start, uint64_t end)
{
	size_t lo = 0, hi = mm->n_vmas;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mm->vmas[mid]->end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < mm->n_vmas && mm->vmas[lo]->start <= start && end <= mm->vmas[lo]->end)
		return mm->vmas[lo];
	return NULL;
}

int mem_read_runs(int dfd, pid_t pid, const MmEntry *mm, int pages_fd, struct mem_parents *parents,
		   struct mem_plan *plan)
{
	_cleanup_img_ struct img *img = NULL;
	PagemapHead *head = NULL;
	uint64_t off, data_end;
	char pages_name[32];
	int ret;

	ret = img_open(dfd, IMG_PAGEMAP, pid, O_RDONLY, &img);
	if (ret)
		return ret;
	ret = pb_read_one_required(img, (void **)&head, PB_PAGEMAP_HEAD);
	if (ret)
		return ret;
	plan->pages_off = off = head->page_off;
	plan->pages_id = head->pages_id;
	pb_free(head, PB_PAGEMAP_HEAD);

	snprintf(pages_name, sizeof(pages_name), img_descs[IMG_PAGES].fmt, plan->pages_id);
	data_end = UINT64_MAX;
	ret = pages_fd >= 0 ? img_raw_data_end(pages_fd, pages_name, &data_end) : 0;
	if (ret)
		return ret;

	for (;;) {
		PagemapEntry *pe;
		const VmaEntry *v;
		uint64_t len;

		ret = pb_read_one(img, (void **)&pe, PB_PAGEMAP);
		if (ret <= 0)
			break;
		ret = 0;
		len = (uint64_t)pe->nr_pages * PAGE_SIZE;
		v = mem_find_vma(mm, pe->vaddr, pe->vaddr + len);
		if (!v || !mem_vma_has_pages(v) || !pe->nr_pages) {
			ret = pr_errno(-EBADMSG, "%s: run of %u pages at %lx lies outside the dumped memory",
				       img->name, pe->nr_pages, (unsigned long)pe->vaddr);
		} else if (pe->has_in_parent && pe->in_parent) {
			ret = mem_parent_resolve(parents, pid, pe->vaddr, len, plan);
			pb_free(pe, PB_PAGEMAP);
			if (ret)
				break;
			continue;
		} else if (pe->has_shared_off && (pe->shared_off % PAGE_SIZE || pe->shared_off < IMG_PAGES_DATA_OFF ||
						  pe->shared_off + len > plan->pages_off)) {
			/* Only bytes stored for an earlier task, which its own checksums cover. */
			ret = pr_errno(-EBADMSG, "%s: run at %lx refers to pages-%u.img bytes %lu-%lu, which no earlier "
				       "task stored", img->name, (unsigned long)pe->vaddr, plan->pages_id,
				       (unsigned long)pe->shared_off, (unsigned long)(pe->shared_off + len));
		} else if (!pe->has_shared_off && off + len > data_end) {
			ret = pr_errno(-EBADMSG, "%s: run at %lx needs bytes up to %lu, the data ends at %lu",
				       pages_name, (unsigned long)pe->vaddr,
				       (unsigned long)(off + len), (unsigned long)data_end);
		} else if (plan->nr_runs == plan->cap_runs) {
			unsigned cap = plan->cap_runs ? plan->cap_runs * 2 : 256;
			struct mem_run *n = xrealloc(plan->runs, sizeof(*n) * cap);

			if (!n) {
				ret = -ENOMEM;
			} else {
				plan->runs = n;
				plan->cap_runs = cap;
			}
		}
		if (!ret) {
			struct mem_run *run = &plan->runs[plan->nr_runs];

			*run = (struct mem_run){ .vaddr = pe->vaddr, .len = len, .crc = pe->crc,
						 .shared = pe->has_shared_off,
						 .off = pe->has_shared_off ? pe->shared_off : off };
			ret = run->shared ? 0 : mem_run_mac(pe, img->name, &run->has_mac, run->mac);
		}
		if (!ret) {
			struct mem_run *run = &plan->runs[plan->nr_runs++];

			/* .lazy: lazy_mark_runs() decides */
			if (!run->shared)
				off += len;
		}
		pb_free(pe, PB_PAGEMAP);
		if (ret)
			break;
	}
	return ret ? ret : mem_parent_checks(parents, plan);
}

int mem_run_mac(const PagemapEntry *pe, const char *name, bool *has, uint8_t *mac)
{
	*has = pe->has_mac && pe->mac.len == IMG_MAC_SIZE;
	if (*has)
		memcpy(mac, pe->mac.data, IMG_MAC_SIZE);
	else if (img_key_loaded())
		return pr_errno(-EBADMSG, "%s: the run at %lx has no MAC of its pages", name,
				(unsigned long)pe->vaddr);
	return 0;
}

#define VERIFY_WINDOW	(8UL << 20)

/* The CRC32C of @len bytes at @off of @fd, through a window that moves along (*@win). */
struct verify_win {
	int fd;
	const unsigned char *p;
	uint64_t off, len;
	/*
	 * @fd has holes (fewer blocks than its size: a compressed image's
	 * memfd keeps its zero pages so); then [ext_off, ext_end) is the
	 * extent last looked up, a hole if @ext_hole.
	 */
	bool sparse, ext_hole;
	uint64_t ext_off, ext_end;
};

/*
 * What a run's bytes must give: with a key, the MAC @mac (of the bytes at
 * their offset of the page image @pages); else the CRC32C @crc.
 */
struct run_want {
	uint32_t crc;
	const uint8_t *mac;		/* NULL: no key, @crc */
	const struct img *pages;	/* NULL: the dump's own pages-N.img */
	uint32_t pages_id;
};

static void win_drop(struct verify_win *w)
{
	if (w->p)
		munmap((void *)w->p, w->len);
	w->p = NULL;
}

/* CRC32C continued over @len zero bytes. */
static uint32_t crc_zeros(uint32_t crc, uint64_t len)
{
	static const unsigned char zero[PAGE_SIZE];

	for (uint64_t n; len; len -= n) {
		n = min(len, (uint64_t)PAGE_SIZE);
		crc = crc32c(crc, zero, n);
	}
	return crc;
}

/*
 * How many of the @left bytes from @off of @fd are a hole (*@ret_hole,
 * read as zeros) or data (returned): a hole is checked without mapping
 * it, as a mapping would allocate it. Files without holes are all data
 * (no lookup); in a sparse one each extent is looked up once (lseek
 * from where it starts), the verification going forwards.
 */
static uint64_t extent_at(struct verify_win *w, uint64_t off, uint64_t left, bool *ret_hole)
{
	off_t next;

	*ret_hole = false;
	if (!w->sparse)
		return left;
	if (off < w->ext_off || off >= w->ext_end) {
		next = lseek(w->fd, off, SEEK_DATA);
		w->ext_hole = next < 0 || (uint64_t)next > off;
		if (!w->ext_hole)
			next = lseek(w->fd, off, SEEK_HOLE);
		w->ext_off = off;
		/* Past the end (ENXIO): the rest is a hole; lseek failing otherwise: data. */
		w->ext_end = next < 0 ? UINT64_MAX : (uint64_t)next;
		if (next < 0 && errno != ENXIO)
			w->ext_hole = false;
	}
	*ret_hole = w->ext_hole;
	return min(left, w->ext_end - off);
}

static void win_use(struct verify_win *w, int fd)
{
	struct stat st;

	if (w->fd == fd)
		return;
	win_drop(w);
	w->fd = fd;
	w->ext_off = w->ext_end = 0;
	w->sparse = !fstat(fd, &st) && (uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size;
}

/* The MAC continued over @len zero bytes (a hole of the image). 0 or -errno. */
static int mac_zeros(struct img_mac_data *m, uint64_t len)
{
	static const unsigned char zero[PAGE_SIZE];
	int ret = 0;

	for (uint64_t n; len && !ret; len -= n) {
		n = min(len, (uint64_t)PAGE_SIZE);
		ret = img_mac_data_update(m, zero, n);
	}
	return ret;
}

/* Checks @left bytes at @off of @fd against @want: 0, -EBADMSG, or -errno. */
static int win_check(struct verify_win *w, int fd, uint64_t off, uint64_t left, const struct run_want *want)
{
	struct img_mac_data *m = NULL;
	uint8_t mac[IMG_MAC_SIZE];
	uint32_t crc = 0;
	int ret = 0;

	if (want->mac) {
		uint8_t id[IMG_DUMP_ID_SIZE];
		char name[32];

		if (!want->pages) {
			img_dump_id_get(id);
			snprintf(name, sizeof(name), img_descs[IMG_PAGES].fmt, want->pages_id);
		}
		ret = img_mac_data_start(want->pages ? want->pages->dump_id : id,
					 want->pages ? want->pages->name : name, off, left, &m);
		if (ret)
			return ret;
	}
	win_use(w, fd);
	while (left) {
		bool hole;
		uint64_t n = extent_at(w, off, left, &hole);

		if (hole) {
			if (m)
				ret = mac_zeros(m, n);
			else
				crc = crc_zeros(crc, n);
			if (ret) {
				img_mac_data_free(m);
				return ret;
			}
			off += n;
			left -= n;
			continue;
		}
		if (!w->p || off < w->off || off >= w->off + w->len) {
			win_drop(w);
			w->off = ALIGN_DOWN(off, PAGE_SIZE);
			w->len = VERIFY_WINDOW;
			/* Populate: one call maps the window, no per-page faults (sparse: what is read, below). */
			w->p = mmap(NULL, w->len, PROT_READ, MAP_SHARED | (w->sparse ? 0 : MAP_POPULATE), fd, w->off);
			if (w->p == MAP_FAILED) {
				w->p = NULL;
				img_mac_data_free(m);
				return -errno;
			}
		}
		n = min(n, w->off + w->len - off);
		if (w->sparse)
			(void)madvise((void *)ALIGN_DOWN((uintptr_t)(w->p + (off - w->off)), PAGE_SIZE),
				      ALIGN_UP(n + off % PAGE_SIZE, PAGE_SIZE), MADV_POPULATE_READ);
		if (m)
			ret = img_mac_data_update(m, w->p + (off - w->off), n);
		else
			crc = crc32c(crc, w->p + (off - w->off), n);
		if (ret) {
			img_mac_data_free(m);
			return ret;
		}
		off += n;
		left -= n;
	}
	if (!m)
		return crc == want->crc ? 0 : -EBADMSG;
	ret = img_mac_data_end(m, mac);
	return ret ? ret : img_mac_equal(mac, want->mac) ? 0 : -EBADMSG;
}

/* The whole parent runs this task reads from: checked as the dump's own are (indices past nr_runs). */
static int verify_checks(struct verify_win *w, const struct mem_plan *plan, unsigned *ret_bad)
{
	for (unsigned i = 0; i < plan->nr_checks; i++) {
		const struct mem_check *c = &plan->checks[i];
		struct run_want want = { .crc = c->crc, .mac = c->has_mac && img_key_loaded() ? c->mac : NULL,
					 .pages = mem_parents_img(plan->parents, c->src) };
		int ret = win_check(w, mem_parents_fd(plan->parents, c->src), c->off, c->len, &want);

		if (ret) {
			*ret_bad = plan->nr_runs + i;
			return ret;
		}
	}
	return 0;
}

int mem_verify_pages(int pages_fd, const struct mem_plan *plan, unsigned *ret_bad)
{
	struct verify_win w = { .fd = -1 };
	unsigned i;
	int ret = verify_checks(&w, plan, ret_bad);

	if (ret) {
		win_drop(&w);
		return ret;
	}
	for (i = 0; i < plan->nr_runs && !ret; i++) {
		const struct mem_run *r = &plan->runs[i];
		struct run_want want = { .crc = r->crc, .mac = r->has_mac && img_key_loaded() ? r->mac : NULL,
					 .pages_id = plan->pages_id };

		if (r->shared || (r->lazy && !plan->verify_lazy))
			continue;
		ret = win_check(&w, pages_fd, r->off, r->len, &want);
	}
	win_drop(&w);
	if (ret)
		*ret_bad = i - 1;
	return ret;
}

void mem_log_bad_run(const struct mem_plan *plan, unsigned bad)
{
	if (bad >= plan->nr_runs && bad - plan->nr_runs < plan->nr_checks)
		pr_err("parent image %u: pages-N.img: %s mismatch in the %lu pages at file offset %lu",
		       plan->checks[bad - plan->nr_runs].src, img_key_loaded() ? "MAC" : "checksum",
		       (unsigned long)(plan->checks[bad - plan->nr_runs].len / PAGE_SIZE),
		       (unsigned long)plan->checks[bad - plan->nr_runs].off);
	else if (bad < plan->nr_runs)
		pr_err("pages-%u.img: %s mismatch in the %lu pages at file offset %lu (address %lx)",
		       plan->pages_id, img_key_loaded() ? "MAC" : "checksum", (unsigned long)(plan->runs[bad].len / PAGE_SIZE),
		       (unsigned long)plan->runs[bad].off, (unsigned long)plan->runs[bad].vaddr);
}

/* /dev/zero as the tree sees it: the restored VMA names the same device. */
static int open_zero(const VmaEntry *v)
{
	_cleanup_close_ int fd = rst_open(v->path ? v->path : "/dev/zero", O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return pr_errno(-errno, "%s (mapped privately at %lx)", v->path, (unsigned long)v->start);
	if (fstat(fd, &st) || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(DEV_ZERO_MAJOR, DEV_ZERO_MINOR))
		return pr_errno(-ESTALE, "%s (mapped privately at %lx) is not /dev/zero now", v->path,
				(unsigned long)v->start);
	return TAKE_FD(fd);
}

/* Opens the files of file-backed VMAs, refusing files that changed. */
static int open_vma_files(const MmEntry *mm, const struct shmem_table *shm, struct mem_plan *plan)
{
	size_t i;

	plan->vma_fds = xmalloc(sizeof(int) * (mm->n_vmas ? mm->n_vmas : 1));
	plan->vma_sysv = xmalloc(sizeof(int) * (mm->n_vmas ? mm->n_vmas : 1));
	if (!plan->vma_fds || !plan->vma_sysv)
		return -ENOMEM;
	for (i = 0; i < mm->n_vmas; i++)
		plan->vma_fds[i] = plan->vma_sysv[i] = -1;
	plan->nr_vma_fds = mm->n_vmas;

	for (i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *v = mm->vmas[i];
		bool rw = v->kind == VMA_KIND__VMA_FILE_SHARED && v->file_writable;
		struct stat st;
		int fd;

		if ((v->kind == VMA_KIND__VMA_SYSV_SHM || v->kind == VMA_KIND__VMA_ANON_SHARED ||
		     v->kind == VMA_KIND__VMA_MEMFD_SHARED || v->kind == VMA_KIND__VMA_SHMEM_PRIVATE) &&
		    !v->has_shmid)
			return pr_errno(-EBADMSG, "mm image: shared mapping at %lx names no object",
					(unsigned long)v->start);
		if (v->kind == VMA_KIND__VMA_SYSV_SHM) {
			int id = shmem_sysv_id(shm, v->shmid);

			if (id < 0)
				return id;
			plan->vma_sysv[i] = id;
			continue;
		}
		if (v->kind == VMA_KIND__VMA_ANON_SHARED || v->kind == VMA_KIND__VMA_MEMFD_SHARED ||
		    v->kind == VMA_KIND__VMA_SHMEM_PRIVATE) {
			fd = shmem_fd(shm, v->shmid);
			if (fd < 0)
				return fd;
			plan->vma_fds[i] = fcntl(fd, F_DUPFD_CLOEXEC, 0);
			if (plan->vma_fds[i] < 0)
				return pr_errno(-errno, "dup of a shared memory object");
			continue;
		}
		if (v->kind == VMA_KIND__VMA_ZERO_PRIVATE) {
			fd = open_zero(v);
			if (fd < 0)
				return fd;
			plan->vma_fds[i] = fd;
			continue;
		}
		/* A deleted file: files.img recreates it, region_bind_files() maps it. */
		if ((v->kind != VMA_KIND__VMA_FILE_PRIVATE && v->kind != VMA_KIND__VMA_FILE_SHARED) ||
		    v->has_file_id)
			continue;
		if (!v->path)
			return pr_errno(-EBADMSG, "mm image: file mapping at %lx has no path",
					(unsigned long)v->start);
		fd = rst_open(v->path, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
		if (fd < 0)
			return pr_errno(-errno, "mapped file %s", v->path);
		plan->vma_fds[i] = fd;
		if (fstat(fd, &st))
			return pr_errno(-errno, "mapped file %s: fstat", v->path);
		if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != v->file_size)
			return pr_errno(-ESTALE, "mapped file %s changed since dump (size was %lu, now %lu)",
					v->path, (unsigned long)v->file_size, (unsigned long)st.st_size);
	}
	return 0;
}

int mem_prepare(int dfd, pid_t pid, const MmEntry *mm, int pages_fd, const struct shmem_table *shm,
		struct mem_parents *parents, struct mem_plan *ret)
{
	struct mem_plan plan = { 0 };
	int err;

	err = mem_guard_check(mm);
	if (!err)
		err = mem_huge_check(pid, mm);
	if (!err)
		err = mem_aio_check(pid, mm);
	if (!err)
		err = mem_thp_check(pid, mm);
	if (!err)
		err = mem_read_runs(dfd, pid, mm, pages_fd, parents, &plan);
	if (!err)
		err = open_vma_files(mm, shm, &plan);
	if (!err)
		mem_guard_warn(pid, mm, &plan);
	if (err) {
		mem_plan_free(&plan);
		return err;
	}
	*ret = plan;
	return 0;
}

void mem_plan_free(struct mem_plan *plan)
{
	unsigned i;

	if (plan->vma_fds)
		for (i = 0; i < plan->nr_vma_fds; i++)
			if (plan->vma_fds[i] >= 0)
				close(plan->vma_fds[i]);
	free(plan->vma_fds);
	free(plan->vma_sysv);
	free(plan->runs);
	free(plan->checks);
	memset(plan, 0, sizeof(*plan));
}
