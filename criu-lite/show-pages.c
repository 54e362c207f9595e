/*
 * cr show --pages DIR: where each process's pages are. For every
 * pagemap-PID.img, one row per run of its entries: the address range,
 * the VMA that holds it (mm-PID.img), and where its bytes are: which
 * page image, at which offset; a run in_parent is resolved down the
 * chain of parent images as the restore resolves it (mem-parent.c), one
 * row per piece. Only records are read: a page image is opened for its
 * header and end marker, never read.
 *
 * The rows are flat JSON objects, so a new property of a run is one more
 * field ("compressed": whether this dump's page image is; null for runs
 * of parent images).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "cr.h"
#include "image.h"
#include "inventory.pb-c.h"
#include "log.h"
#include "mem.h"
#include "mm.pb-c.h"
#include "open-file.h"
#include "pagemap.pb-c.h"
#include "pagez.h"
#include "show.h"

#define PARENT_PREFIX	"parent/"

/* What the runs of one pagemap are shown against. */
struct pages_ctx {
	FILE *f;
	int dfd;
	struct mem_parents *parents;	/* NULL: no parent chain */
	const MmEntry *mm;		/* NULL: mm-PID.img unreadable */
	pid_t pid;
	char pages_name[64];		/* this dump's page image */
	uint64_t pages_end;		/* where its data ends (compressed: its logical data) */
	bool compressed;		/* it is (IMG_PAGESZ) */
	char pages_err[256];		/* why it cannot be opened; "": it can */
	unsigned nr_rows, nr_bad;	/* rows printed, of them with an error */
};

struct run_row {
	uint64_t start, nr_pages, offset;
	unsigned src;			/* 0: this dump's page image, N: parent image N's */
	bool shared, in_parent;
};

static void row_image(struct pages_ctx *c, const struct run_row *r)
{
	const char *name = r->src ? mem_parents_name(c->parents, r->src) : c->pages_name;

	fputc('"', c->f);
	for (unsigned i = 0; i < r->src; i++)
		fputs(PARENT_PREFIX, c->f);
	fputs(name ? name : "?", c->f);
	fputc('"', c->f);
}

static void print_row(struct pages_ctx *c, const struct run_row *r)
{
	uint64_t end = r->start + r->nr_pages * PAGE_SIZE;
	const VmaEntry *v = c->mm ? mem_find_vma(c->mm, r->start, end) : NULL;
	FILE *f = c->f;

	fprintf(f, "%s\n    {\"pid\": %d, ", c->nr_rows++ ? "," : "", c->pid);
	if (v) {
		const ProtobufCEnumValue *kind = protobuf_c_enum_descriptor_get_value(&vma_kind__descriptor, v->kind);

		fprintf(f, "\"vma_start\": \"0x%llx\", \"vma_end\": \"0x%llx\", \"vma_kind\": \"%s\", ",
			(unsigned long long)v->start, (unsigned long long)v->end, kind ? kind->name : "?");
	} else {
		fputs("\"vma_start\": null, \"vma_end\": null, \"vma_kind\": null, ", f);
	}
	fprintf(f, "\"start\": \"0x%llx\", \"end\": \"0x%llx\", \"nr_pages\": %llu, \"image\": ",
		(unsigned long long)r->start, (unsigned long long)end, (unsigned long long)r->nr_pages);
	row_image(c, r);
	fprintf(f, ", \"offset\": %llu, \"in_parent\": %s, \"shared\": %s, \"compressed\": %s",
		(unsigned long long)r->offset, r->in_parent ? "true" : "false", r->shared ? "true" : "false",
		r->src ? "null" : c->compressed ? "true" : "false");
	if (!r->src && c->pages_err[0]) {
		fputs(", \"error\": ", f);
		show_json_str(f, c->pages_err);
		c->nr_bad++;
	} else if (!r->src && r->offset + r->nr_pages * PAGE_SIZE > c->pages_end) {
		fprintf(f, ", \"error\": \"past the end of %s's data (%llu bytes)\"", c->pages_name,
			(unsigned long long)c->pages_end);
		c->nr_bad++;
	}
	fputc('}', f);
}

/* An in_parent entry: the pieces the parent chain holds it in, one row each. */
static int print_parent_rows(struct pages_ctx *c, const PagemapEntry *pe)
{
	struct mem_plan plan = { 0 };
	int err;

	err = mem_parent_resolve(c->parents, c->pid, pe->vaddr, (uint64_t)pe->nr_pages * PAGE_SIZE, &plan);
	for (unsigned i = 0; !err && i < plan.nr_runs; i++) {
		const struct mem_run *m = &plan.runs[i];
		struct run_row r = { .start = m->vaddr, .nr_pages = m->len / PAGE_SIZE, .offset = m->off,
				     .src = m->src, .in_parent = true };

		print_row(c, &r);
	}
	free(plan.runs);
	return err;
}

/* Where the page image's data ends, or why it cannot be opened (c->pages_err): its rows say so. */
static void pages_check(struct pages_ctx *c)
{
	_cleanup_img_ struct img *img = NULL;
	int err;

	c->pages_err[0] = 0;
	c->pages_end = 0;
	c->compressed = false;
	err = img_open_any(c->dfd, c->pages_name, &img);
	if (!err && img->type != IMG_PAGES && img->type != IMG_PAGESZ)
		err = pr_errno(-EBADMSG, "%s: not a page image", c->pages_name);
	if (!err && img->type == IMG_PAGESZ) {
		_cleanup_free_ struct pagez_index_entry *ix = NULL;
		uint64_t logical = 0;
		size_t nr = 0;

		/* The block headers only: what they decompress to, nothing read whole. */
		c->compressed = true;
		err = pagez_index(img, false, &ix, &nr, &logical);
		c->pages_end = IMG_PAGES_DATA_OFF + logical;
	} else if (!err) {
		err = img_raw_data_end(img->fd, c->pages_name, &c->pages_end);
	}
	if (err)
		snprintf(c->pages_err, sizeof(c->pages_err), "%s",
			 log_last_error() ? log_last_error() : strerror(-err));
}

static int print_runs(struct pages_ctx *c, struct img *pm)
{
	PagemapHead *head = NULL;
	uint64_t off;
	int ret;

	ret = pb_read_one_required(pm, (void **)&head, PB_PAGEMAP_HEAD);
	if (ret)
		return ret;
	off = head->page_off;
	snprintf(c->pages_name, sizeof(c->pages_name), img_descs[IMG_PAGES].fmt, head->pages_id);
	pb_free(head, PB_PAGEMAP_HEAD);
	pages_check(c);
	for (;;) {
		PagemapEntry *pe;
		struct run_row r;

		ret = pb_read_one(pm, (void **)&pe, PB_PAGEMAP);
		if (ret <= 0)
			break;
		ret = 0;
		r = (struct run_row){ .start = pe->vaddr, .nr_pages = pe->nr_pages, .offset = off };
		if (pe->has_in_parent && pe->in_parent) {
			ret = print_parent_rows(c, pe);
		} else if (pe->has_shared_off) {
			r.shared = true;
			r.offset = pe->shared_off;
			print_row(c, &r);
		} else {
			print_row(c, &r);
			off += (uint64_t)pe->nr_pages * PAGE_SIZE;
		}
		pb_free(pe, PB_PAGEMAP);
		if (ret)
			break;
	}
	return ret;
}

/* One process's rows; 0 or -errno (logged, and an error row printed). */
static int show_task(struct pages_ctx *c, const char *name, unsigned pid)
{
	_cleanup_img_ struct img *pm = NULL, *mmi = NULL;
	MmEntry *mm = NULL;
	int err;

	c->pid = pid;
	c->mm = NULL;
	/* Without its mm image the rows lack their VMA, nothing else. */
	if (!img_open(c->dfd, IMG_MM, pid, O_RDONLY, &mmi) && !pb_read_one_required(mmi, (void **)&mm, PB_MM))
		c->mm = mm;
	err = img_open(c->dfd, IMG_PAGEMAP, pid, O_RDONLY, &pm);
	if (!err)
		err = print_runs(c, pm);
	if (err) {
		const char *why = log_last_error();

		fprintf(c->f, "%s\n    {\"pid\": %u, \"file\": ", c->nr_rows++ ? "," : "", pid);
		show_json_str(c->f, name);
		fputs(", \"error\": ", c->f);
		show_json_str(c->f, why ? why : "unknown error");
		fputc('}', c->f);
	}
	if (mm)
		pb_free(mm, PB_MM);
	return err;
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return (x > y) - (x < y);
}

/* The pids of the pagemap images in @dfd, sorted; *@ret malloc'ed. */
static int list_pids(int dfd, const char *dir, unsigned **ret, size_t *ret_nr)
{
	_cleanup_closedir_ DIR *d = NULL;
	_cleanup_free_ unsigned *pids = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int err = open_dir_stream(dfd, ".", &d);

	if (err)
		return err;
	while ((errno = 0, de = readdir(d))) {
		enum img_type type;
		unsigned id;

		if (!img_match_name(de->d_name, &type, &id) || type != IMG_PAGEMAP)
			continue;
		if (n == cap) {
			unsigned *np = xrealloc(pids, (cap = cap ? cap * 2 : 64) * sizeof(*pids));

			if (!np)
				return -ENOMEM;
			pids = np;
		}
		pids[n++] = id;
	}
	if (errno)
		return pr_errno(-errno, "cannot list %s", dir);
	if (n)
		qsort(pids, n, sizeof(*pids), cmp_uint);
	*ret = TAKE_PTR(pids);
	*ret_nr = n;
	return 0;
}

/* The inventory's parent chain, if any; a chain that cannot be opened fails only the in_parent rows. */
static void open_parents(struct pages_ctx *c)
{
	_cleanup_img_ struct img *img = NULL;
	InventoryEntry *inv = NULL;

	if (img_open(c->dfd, IMG_INVENTORY, 0, O_RDONLY, &img) ||
	    pb_read_one_required(img, (void **)&inv, PB_INVENTORY))
		return;
	if (mem_parents_open(c->dfd, inv, &c->parents))
		c->parents = NULL;
	pb_free(inv, PB_INVENTORY);
}

int cr_show_pages(const char *dir)
{
	struct pages_ctx c = { .f = stdout };
	_cleanup_free_ unsigned *pids = NULL;
	_cleanup_close_ int dfd = -EBADF;
	size_t n = 0;
	unsigned nbad = 0;
	int ret = 0;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return pr_errno(-errno, "%s: cannot open (show --pages takes an image directory)", dir);
	c.dfd = dfd;
	img_dump_id_forget();
	ret = list_pids(dfd, dir, &pids, &n);
	if (ret)
		return ret;
	open_parents(&c);
	fputs("[", c.f);
	for (size_t i = 0; i < n; i++) {
		char name[64];
		int err;

		snprintf(name, sizeof(name), img_descs[IMG_PAGEMAP].fmt, pids[i]);
		err = show_task(&c, name, pids[i]);
		if (err && !ret)
			ret = err;
		nbad += err != 0;
	}
	fputs(c.nr_rows ? "\n]\n" : "]\n", c.f);
	mem_parents_free(c.parents);
	if (ret)
		pr_err("%s: %u of %zu pagemap images are bad", dir, nbad, n);
	else if (c.nr_bad)
		ret = pr_errno(-EBADMSG, "%s: %u runs are not in their page image (the rows say why)", dir, c.nr_bad);
	if (fflush(c.f) == EOF && !ret)
		ret = pr_errno(-errno, "cannot write the JSON output");
	return ret;
}
