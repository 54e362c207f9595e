#ifndef CR_MEM_H
#define CR_MEM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "image-mac.h"

struct img;
struct parasite_ctl;
struct proc_maps;

/* Bits of a /proc/PID/pagemap entry (Documentation/admin-guide/mm/pagemap.rst). */
#define PME_PRESENT		(1ULL << 63)
#define PME_SWAP		(1ULL << 62)	/* also set for guard markers */
#define PME_FILE_SHARED		(1ULL << 61)
#define PME_GUARD		(1ULL << 58)	/* a MADV_GUARD_INSTALL guard (6.15) */
#define PME_EXCLUSIVE		(1ULL << 56)
#define PME_PFN_MASK		((1ULL << 55) - 1)
/*
 * A swap entry's type (root sees it in the PFN bits): the last type is
 * the kernel's pte markers (SWP_PTE_MARKER, 31 whatever the config), a
 * page that is not there: the write-protect marker mem-track.c's scans
 * leave on the holes of tracked VMAs (WP_UNPOPULATED), or a guard.
 */
#define PME_SWP_TYPE_MASK	0x1fULL
#define PME_SWP_TYPE_MARKER	31
#define PAGEMAP_BATCH		(64 * 1024)	/* entries read per pread */

/* /dev/zero, whose private mappings are anonymous memory. */
#define DEV_ZERO_MAJOR		1
#define DEV_ZERO_MINOR		5

/* /proc/PID/map_files/START-END, the link that opens what a mapping maps. */
#define MAP_FILES_PATH_MAX	96
void mem_map_files_path(pid_t pid, uint64_t start, uint64_t end, char *buf);

/* Dump: fills mm->vmas from @maps, checking that every kind is supported. */
int mem_collect_vmas(pid_t pid, struct proc_maps *maps, MmEntry *mm);
/*
 * Dump: the mappings of files that lost their name (deleted) get the
 * files.img entry that saves the content (files_dump_mapping()), shared
 * with the tree's fds and mappings of the same file.
 */
struct files_dump;
int mem_dump_mapped_files(struct files_dump *df, pid_t pid, MmEntry *mm);
void mem_free_vmas(MmEntry *mm);
/* Its pages are in the task's pagemap (not a file's, nor a shared object's). */
bool mem_vma_has_pages(const VmaEntry *v);
/*
 * Where cr may copy the engine's trampoline in a task with layout @mm
 * (see infect_prepare()), slot 0 or 1 (ARCH_TRAMP_SLOTS: the main
 * thread's and another thread's at once): the unused end of its vdso,
 * else the start of its first executable private mapping (put back when
 * cr is done, but not if cr dies meanwhile). 0 if there is neither.
 */
uint64_t mem_trampoline_place(const MmEntry *mm, unsigned slot);

/*
 * Dump: finds the pages worth saving with /proc/PID/pagemap, has the
 * parasite vmsplice them into a pipe and splices that into the sink @pages (no
 * copy through cr), writing a pagemap head and one entry per run (with
 * the parasite's CRC32C) to @pagemap. Adds to *@st what it did.
 * With @dd, pages seen before in the tree are not written again. With
 * @track (mem-track.h), pages not written since the last round of
 * pre-copy get in_parent entries instead: the parent image holds them.
 */
struct mem_dump_stats {
	uint64_t bytes;			/* page bytes written */
	uint64_t pages_scanned;		/* pages of the VMAs looked at */
	uint64_t write_us;		/* splicing them into @pages */
	uint64_t parent_bytes;		/* left in the parent image (in_parent) */
	uint64_t zero_pages;		/* the zero page, not stored */
	uint64_t shared_bytes;		/* stored for an earlier task (dedup) */
	uint64_t pipes;			/* page pipes used (one per task) */
	uint64_t pipe_fills;		/* parasite page commands */
};
struct page_dedup;
struct page_xfer;
struct mem_track_task;
int mem_dump_pages(struct parasite_ctl *ctl, pid_t pid, const MmEntry *mm,
		   struct img *pagemap, struct page_xfer *pages, struct page_dedup *dd, struct mem_track_task *track,
		   struct mem_dump_stats *st);

/*
 * Pages a task shares with an earlier one of the tree (the kernel maps
 * the same physical page in both: copy-on-write after fork, not written
 * since) are stored once; later tasks' pagemaps refer to that copy.
 */
struct page_dedup *page_dedup_new(void);
void page_dedup_free(struct page_dedup *dd);

/* The VMA of @mm that holds all of [@start, @end), or NULL. */
const VmaEntry *mem_find_vma(const MmEntry *mm, uint64_t start, uint64_t end);

/*
 * Guard regions (MADV_GUARD_INSTALL): dump: fills mm->guards from the
 * pagemap of the VMAs smaps marks "gu" (VMF_GUARD in their madv);
 * mem_guard_free() releases what it made. Restore: mem_guard_check()
 * refuses runs that are not in such a VMA, or not in address order.
 */
int mem_guard_collect(pid_t pid, MmEntry *mm);
void mem_guard_free(MmEntry *mm);
int mem_guard_check(const MmEntry *mm);

/*
 * hugetlb memory (mem-huge.c). Dump: mem_huge_classify() gives a VMA
 * smaps marks "ht" its kind and page size: 0, or 1 if it is a file or
 * SysV segment for the generic code, or -errno (a kind cr refuses,
 * logged); mem_huge_check_file() refuses a hugetlbfs file whose content
 * would have to be saved. Restore: mem_huge_check() refuses a task whose
 * private hugetlb mappings need more huge pages than are free;
 * mem_huge_enomem() logs that @what needs @len bytes of pages of @size,
 * with how many are free, and returns -ENOMEM. mem_huge_map_flags(): the
 * MAP_HUGETLB | MAP_HUGE_* flags of pages of @size.
 */
struct proc_vma;
int mem_huge_classify(pid_t pid, const struct proc_vma *v, VmaEntry *e);
int mem_huge_check_file(pid_t pid, const VmaEntry *e);
int mem_huge_check(pid_t pid, const MmEntry *mm);
int mem_huge_enomem(uint64_t size, uint64_t len, const char *what);
uint32_t mem_huge_map_flags(uint64_t size);
/* shmget()'s SHM_HUGETLB | SHM_HUGE_* flags of pages of @size; 0 if no huge page has that size. */
int mem_huge_shm_flags(uint64_t size);
/*
 * The huge zero page: mem_huge_zero_pfn() finds its first PFN (0 if THP
 * or its zero page is off); mem_huge_zero_page() says whether @pfn is one
 * of its pages.
 */
uint64_t mem_huge_zero_pfn(void);
bool mem_huge_zero_page(uint64_t pfn, uint64_t zero_pfn);
/*
 * Transparent huge pages of anonymous mappings advised neither way, which
 * a restore's fill would make small pages: mem_thp_collect() lists their
 * 2 MiB ranges in mm->thp_runs (/proc/kpageflags tells a huge page's
 * PFN), mem_thp_free() releases them. Restore: mem_thp_check() refuses
 * runs outside anonymous mappings; mem_thp_fill_args() gives them to the
 * restorer, which MADV_COLLAPSEs them.
 */
struct region;
struct restorer_args;
int mem_thp_collect(pid_t pid, const struct proc_maps *maps, MmEntry *mm);
void mem_thp_free(MmEntry *mm);
int mem_thp_check(pid_t pid, const MmEntry *mm);
int mem_thp_fill_args(const MmEntry *mm, struct region *rg, struct restorer_args *a);

/*
 * AIO contexts (mem-aio.c). Dump: mem_aio_is_ring() tells the ring of an
 * io_setup() context, mem_aio_classify() makes its VMA entry,
 * mem_aio_collect() reads each ring's head, tail and unreaped events into
 * mm->aios (mem_aio_free() releases them); mem_aio_check_owner() below. Restore: mem_aio_check()
 * refuses rings that do not match their VMA or that this kernel cannot
 * make; mem_aio_fill_args() gives them to the restorer.
 */
struct region;
struct restorer_args;
bool mem_aio_is_ring(const struct proc_vma *v);
int mem_aio_classify(pid_t pid, const struct proc_vma *v, VmaEntry *e);
int mem_aio_collect(pid_t pid, MmEntry *mm);
/* Dump, infected but before the blob runs (a remote syscall): refuses rings of contexts not the task's own. */
int mem_aio_check_owner(struct parasite_ctl *ctl, pid_t pid, const MmEntry *mm);
void mem_aio_free(MmEntry *mm);
int mem_aio_check(pid_t pid, const MmEntry *mm);
int mem_aio_fill_args(const MmEntry *mm, struct region *rg, struct restorer_args *a);

/* Restore: what the restorer needs to fill a task's memory. */
struct mem_run {
	uint64_t vaddr;
	uint64_t len;
	uint64_t off;			/* where its bytes are in the page image */
	uint32_t crc;			/* CRC32C the dump recorded */
	bool has_mac;			/* signed: @mac, checked instead of @crc with a key */
	uint8_t mac[IMG_MAC_SIZE];
	bool shared;			/* bytes stored (and checked) for another task, or by a check */
	uint8_t src;			/* 0: the dump's page image; N: parent image N's (mem-parent.c) */
	bool lazy;			/* --lazy-pages: the daemon fills it and checks it (lazy.h) */
};

/* A whole run of a parent image some runs read from: its checksum covers it all. */
struct mem_check {
	uint8_t src;
	uint64_t off, len;
	uint32_t crc;
	bool has_mac;
	uint8_t mac[IMG_MAC_SIZE];
};

#define MEM_MAX_PARENTS		16	/* images in a pre-copy chain above a dump */

struct mem_parents;
struct mem_plan {
	struct mem_run *runs;		/* this task's own in page-image order */
	unsigned nr_runs, cap_runs;
	struct mem_parents *parents;	/* where runs with src read, NULL: none do */
	struct mem_check *checks;
	unsigned nr_checks;
	uint64_t pages_off;		/* file offset of the first run */
	uint32_t pages_id;
	int *vma_fds;			/* per VMA: opened file or -1 */
	int *vma_sysv;			/* per VMA: SysV segment id or -1 */
	unsigned nr_vma_fds;
	bool verify_lazy;		/* the checksum check takes the lazy runs too (lazy_mark_runs()) */
};

/*
 * Restore: reads pagemap-PID.img, checks that the runs fall in dumped
 * VMAs of a dumpable kind and inside the page image @pages_fd (a
 * truncated image fails here), and opens the files of file-backed VMAs
 * (checking they still have the dumped size); shared memory mappings
 * get a dup of their object's fd from @shm.
 */
struct shmem_table;
/*
 * The runs of pagemap-PID.img into @plan (runs, pages_off, pages_id),
 * each checked to lie in a dumped VMA of @mm with pages and, with
 * @pages_fd >= 0, inside that page image's data.
 */
int mem_read_runs(int dfd, pid_t pid, const MmEntry *mm, int pages_fd, struct mem_parents *parents,
		  struct mem_plan *plan);
int mem_prepare(int dfd, pid_t pid, const MmEntry *mm, int pages_fd, const struct shmem_table *shm,
		struct mem_parents *parents, struct mem_plan *ret);

/*
 * The parent images of a pre-copy dump (mem-parent.c). mem_parents_open():
 * the chain the inventory's parent_dump_id starts (*ret NULL: none), each
 * checked to be the pre-dump its child was made against.
 * mem_parent_resolve(): the in_parent entry [@vaddr, +@len) of @pid into
 * runs of @plan with their src; mem_parent_checks(): after a task's
 * entries, the parent runs it reads go to plan->checks.
 * mem_parents_fd(): the page image fd of parent @src (1-based).
 */
int mem_parents_open(int dfd, const InventoryEntry *inv, struct mem_parents **ret);
int mem_parent_resolve(struct mem_parents *ps, pid_t pid, uint64_t vaddr, uint64_t len, struct mem_plan *plan);
int mem_parent_checks(struct mem_parents *ps, struct mem_plan *plan);
int mem_parents_fd(const struct mem_parents *ps, unsigned src);
/* The page image of parent @src (1-based), for its name and dump id (MACs); NULL if none. */
const struct img *mem_parents_img(const struct mem_parents *ps, unsigned src);
/*
 * Signed dumps: copies the MAC of @pe into @has/@mac; with a key loaded, a
 * run of bytes stored without one is refused (-EBADMSG, logged naming @name).
 */
struct PagemapEntry;
int mem_run_mac(const struct PagemapEntry *pe, const char *name, bool *has, uint8_t *mac);
int mem_parents_fds_high(struct mem_parents *ps, int from);
unsigned mem_parents_nr(const struct mem_parents *ps);
/* The file name of parent @src's page image (1-based), NULL if there is no such parent. */
const char *mem_parents_name(const struct mem_parents *ps, unsigned src);
void mem_parents_free(struct mem_parents *ps);
/*
 * Dump --auto-dedup: punches (FALLOC_FL_PUNCH_HOLE) out of the parent's
 * pages-@pages_id.img the runs of @pid that the image in @dfd replaced
 * whole (none of their pages in_parent), adding their bytes to *@ret_bytes.
 */
int mem_parent_dedup(int dfd, int parent_dfd, const uint8_t *parent_id, unsigned pages_id, pid_t pid,
		     uint64_t *ret_bytes);

/*
 * Restore: checks every run's CRC32C against the page image, streaming
 * it through a small window (cr's memory stays small whatever the image
 * size). Meant to run on a second core while the restorer reads the same
 * pages into place. It neither logs nor allocates (it may run while the
 * main thread forks); on a mismatch it returns -EBADMSG and the index of
 * the bad run in *ret_bad; mem_log_bad_run() then says which.
 */
int mem_verify_pages(int pages_fd, const struct mem_plan *plan, unsigned *ret_bad);
void mem_log_bad_run(const struct mem_plan *plan, unsigned bad);
void mem_plan_free(struct mem_plan *plan);

/*
 * Restore: the MADV_GUARD_INSTALL calls the restorer makes, into @out
 * (NULL: only counted); returns how many. The guard runs of mm->guards,
 * and a guard installed and removed at an empty page of each "gu" VMA
 * left without guards (the flag stays, as in the dumped task).
 * mem_guard_warn() says which VMAs of task @pid have no empty page and
 * lose the flag.
 */
struct restorer_guard;
unsigned mem_guard_ops(const MmEntry *mm, const struct mem_plan *plan, struct restorer_guard *out);
void mem_guard_warn(pid_t pid, const MmEntry *mm, const struct mem_plan *plan);

#endif
