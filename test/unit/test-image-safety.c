/*
 * Images that must be refused: cut at a record boundary, with bytes after
 * their end, from another dump, under another name, not regular files.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "cleanup.h"
#include "compiler.h"
#include "image.h"
#include "log.h"
#include "open-file.h"
#include "unit.h"

#include "core.h"
#include "fdinfo.pb-c.h"
#include "pagemap.pb-c.h"
#include "pstree.pb-c.h"

#define NR_RECS		5

/*
 * Writes image @type (id @id) with NR_RECS records (a pagemap gets its
 * head first, counted as a record). bounds[k] is the offset after k
 * records: bounds[0] the end of the header, bounds[nr] the end marker.
 * Returns the file's bytes and sets *len and *nr, or NULL.
 */
static unsigned char *make_image(enum img_type type, unsigned id, size_t *bounds, unsigned *nr, size_t *len)
{
	_cleanup_img_ struct img *img = NULL;
	PagemapHead h = PAGEMAP_HEAD__INIT;
	char name[64];
	unsigned k = 0;

	if (img_open(tmp_dfd, type, id, O_WRONLY, &img))
		return NULL;
	bounds[k++] = img->off;
	if (type == IMG_PAGEMAP) {
		h.pages_id = 1;
		h.page_off = IMG_PAGES_DATA_OFF;
		if (pb_write_one(img, &h, PB_PAGEMAP_HEAD))
			return NULL;
		bounds[k++] = img->off;
	}
	while (k <= NR_RECS) {
		PagemapEntry pe = PAGEMAP_ENTRY__INIT;
		PstreeEntry ps = PSTREE_ENTRY__INIT;
		FdinfoEntry fd = FDINFO_ENTRY__INIT;
		int err;

		pe.vaddr = 0x1000 * k; pe.nr_pages = k; pe.crc = k;
		ps.pid = ps.ppid = ps.pgid = ps.sid = 100 + k;
		fd.fd = k; fd.id = k;
		err = type == IMG_PAGEMAP ? pb_write_one(img, &pe, PB_PAGEMAP) :
		      type == IMG_PSTREE ? pb_write_one(img, &ps, PB_PSTREE) :
					   pb_write_one(img, &fd, PB_FDINFO);
		if (err)
			return NULL;
		bounds[k++] = img->off;
	}
	if (img_close(TAKE_PTR(img)))
		return NULL;
	*nr = k - 1;
	snprintf(name, sizeof(name), img_descs[type].fmt, id);
	return slurp(name, len);
}

/* Opens and reads every record; the number read or the first error. */
static int read_image(enum img_type type, unsigned id)
{
	const struct img_desc *d = &img_descs[type];
	_cleanup_img_ struct img *img = NULL;
	int ret, n = 0;
	void *msg;

	ret = img_open(tmp_dfd, type, id, O_RDONLY, &img);
	if (ret)
		return ret;
	for (;;) {
		enum pb_type t = (n == 0 && d->pb_head != PB_TYPE_MAX) ? d->pb_head : d->pb_entry;

		ret = pb_read_one(img, &msg, t);
		if (ret <= 0)
			break;
		pb_free(msg, t);
		n++;
	}
	return ret ? ret : n;
}

/* ---- the end marker ------------------------------------------------------ */

static void test_cut_at_boundaries(void)
{
	static const enum img_type types[] = { IMG_PAGEMAP, IMG_PSTREE, IMG_FDINFO };

	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		enum img_type type = types[i];
		unsigned id = type == IMG_PSTREE ? 0 : 42, nr;
		size_t bounds[NR_RECS + 2], len;
		_cleanup_free_ unsigned char *b = make_image(type, id, bounds, &nr, &len);
		char name[64], msg[160];

		CU_ASSERT_FATAL(b != NULL);
		snprintf(name, sizeof(name), img_descs[type].fmt, id);
		CU_ASSERT_EQUAL(read_image(type, id), (int)nr);
		CU_ASSERT_EQUAL(len, bounds[nr] + IMG_TRAILER_SIZE);
		for (unsigned k = 0; k <= nr; k++) {
			CU_ASSERT_FATAL(spit(name, b, bounds[k]) == 0);
			CU_ASSERT_EQUAL(read_image(type, id), -EBADMSG);
			if (k)
				snprintf(msg, sizeof(msg), "%s: truncated after record %u (no end marker)", name, k);
			else
				snprintf(msg, sizeof(msg), "%s: truncated after the header (no end marker)", name);
			CU_ASSERT(last_error_has(msg));
			if (!last_error_has(msg))
				fprintf(stderr, "cut after %u records: %s\n", k, log_last_error());
		}
		/* Inside the end marker. */
		for (size_t cut = bounds[nr] + 1; cut < len; cut++) {
			CU_ASSERT_FATAL(spit(name, b, cut) == 0);
			CU_ASSERT_EQUAL(read_image(type, id), -EBADMSG);
			CU_ASSERT(last_error_has("end marker"));
		}
	}
}

static void test_trailing_bytes(void)
{
	size_t bounds[NR_RECS + 2], len;
	unsigned nr;
	_cleanup_free_ unsigned char *b = make_image(IMG_FDINFO, 42, bounds, &nr, &len);
	_cleanup_free_ unsigned char *twice = malloc(2 * len);

	CU_ASSERT_FATAL(b != NULL && twice != NULL);
	memcpy(twice, b, len);
	twice[len] = 0;
	CU_ASSERT_FATAL(spit("fdinfo-42.img", twice, len + 1) == 0);
	CU_ASSERT_EQUAL(read_image(IMG_FDINFO, 42), -EBADMSG);
	CU_ASSERT(last_error_has("fdinfo-42.img: 1 byte after the end marker"));

	/* A second end marker, or the whole image again. */
	memcpy(twice + len, b + len - IMG_TRAILER_SIZE, IMG_TRAILER_SIZE);
	CU_ASSERT_FATAL(spit("fdinfo-42.img", twice, len + IMG_TRAILER_SIZE) == 0);
	CU_ASSERT_EQUAL(read_image(IMG_FDINFO, 42), -EBADMSG);
	CU_ASSERT(last_error_has("24 bytes after the end marker"));
	memcpy(twice + len, b, len);
	CU_ASSERT_FATAL(spit("fdinfo-42.img", twice, 2 * len) == 0);
	CU_ASSERT_EQUAL(read_image(IMG_FDINFO, 42), -EBADMSG);
	CU_ASSERT(last_error_has("after the end marker"));
}

/* Records dropped or reordered with the end marker kept. */
static void test_records_vs_marker(void)
{
	size_t bounds[NR_RECS + 2], len, r1, r2, n;
	unsigned nr;
	_cleanup_free_ unsigned char *b = make_image(IMG_FDINFO, 42, bounds, &nr, &len);
	_cleanup_free_ unsigned char *c = malloc(len);

	CU_ASSERT_FATAL(b != NULL && c != NULL);
	/* Record 2 cut out. */
	r1 = bounds[1];
	r2 = bounds[2];
	memcpy(c, b, r1);
	memcpy(c + r1, b + r2, len - r2);
	CU_ASSERT_FATAL(spit("fdinfo-42.img", c, len - (r2 - r1)) == 0);
	CU_ASSERT_EQUAL(read_image(IMG_FDINFO, 42), -EBADMSG);
	CU_ASSERT(last_error_has("fdinfo-42.img: the end marker counts 5 records, the file holds 4"));

	/* Records 1 and 2 swapped (same size: fd and id 1 and 2). */
	CU_ASSERT_EQUAL_FATAL(bounds[2] - bounds[1], bounds[1] - bounds[0]);
	n = bounds[1] - bounds[0];
	memcpy(c, b, len);
	memcpy(c + bounds[0], b + bounds[1], n);
	memcpy(c + bounds[1], b + bounds[0], n);
	CU_ASSERT_FATAL(spit("fdinfo-42.img", c, len) == 0);
	CU_ASSERT_EQUAL(read_image(IMG_FDINFO, 42), -EBADMSG);
	CU_ASSERT(last_error_has("fdinfo-42.img: the records do not match the end marker"));
}

static void test_empty_has_marker(void)
{
	_cleanup_img_ struct img *img = NULL;
	size_t len;
	_cleanup_free_ unsigned char *b = NULL;

	CU_ASSERT_FATAL(img_open(tmp_dfd, IMG_FDINFO, 3, O_WRONLY, &img) == 0);
	CU_ASSERT_EQUAL(img_close(TAKE_PTR(img)), 0);
	b = slurp("fdinfo-3.img", &len);
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT_EQUAL(len, IMG_HDR_SIZE + IMG_TRAILER_SIZE);
	CU_ASSERT_EQUAL(read_image(IMG_FDINFO, 3), 0);
	CU_ASSERT_FATAL(spit("fdinfo-3.img", b, IMG_HDR_SIZE) == 0);
	CU_ASSERT_EQUAL(read_image(IMG_FDINFO, 3), -EBADMSG);
	CU_ASSERT(last_error_has("fdinfo-3.img: truncated after the header (no end marker)"));
}

/* Raw images: an end marker after the data, which records describe. */
static void test_raw_end(void)
{
	_cleanup_img_ struct img *img = NULL;
	_cleanup_free_ unsigned char *b = NULL;
	unsigned char page[4096];
	size_t len;

	memset(page, 0x5a, sizeof(page));
	CU_ASSERT_FATAL(img_open(tmp_dfd, IMG_PAGES, 1, O_WRONLY, &img) == 0);
	CU_ASSERT_EQUAL(write(img->fd, page, sizeof(page)), (ssize_t)sizeof(page));
	CU_ASSERT_EQUAL(write(img->fd, page, 100), 100);
	CU_ASSERT_EQUAL(img_close(TAKE_PTR(img)), 0);
	b = slurp("pages-1.img", &len);
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT_EQUAL_FATAL(len, IMG_PAGES_DATA_OFF + sizeof(page) + 100 + IMG_TRAILER_SIZE);

	CU_ASSERT_FATAL(img_open(tmp_dfd, IMG_PAGES, 1, O_RDONLY, &img) == 0);
	CU_ASSERT_EQUAL(img->data_end, IMG_PAGES_DATA_OFF + sizeof(page) + 100);
	img_close(TAKE_PTR(img));

	/* Cut anywhere past the header padding, at a page boundary too. */
	for (size_t cut = IMG_PAGES_DATA_OFF; cut < len; cut += cut < len - 64 ? 97 : 1) {
		CU_ASSERT_FATAL(spit("pages-1.img", b, cut) == 0);
		CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_PAGES, 1, O_RDONLY, &img), -EBADMSG);
		CU_ASSERT(last_error_has("pages-1.img: no end marker"));
	}
	CU_ASSERT_FATAL(spit("pages-1.img", b, IMG_PAGES_DATA_OFF + sizeof(page)) == 0);
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_PAGES, 1, O_RDONLY, &img), -EBADMSG);

	/* Data added after the end marker. */
	b = realloc(b, len + 4096);
	CU_ASSERT_FATAL(b != NULL);
	memset(b + len, 0, 4096);
	CU_ASSERT_FATAL(spit("pages-1.img", b, len + 4096) == 0);
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_PAGES, 1, O_RDONLY, &img), -EBADMSG);
	CU_ASSERT(last_error_has("pages-1.img: no end marker"));
	CU_ASSERT_FATAL(spit("pages-1.img", b, len) == 0);
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_PAGES, 1, O_RDONLY, &img), 0);
}

/* ---- the dump id and the id in the name -------------------------------- */

/* Writes image @type of @id with one fdinfo-like record or none. */
static void write_empty(enum img_type type, unsigned id)
{
	_cleanup_img_ struct img *img = NULL;

	CU_ASSERT_FATAL(img_open(tmp_dfd, type, id, O_WRONLY, &img) == 0);
	CU_ASSERT_FATAL(img_close(TAKE_PTR(img)) == 0);
}

static void test_dump_id(void)
{
	_cleanup_img_ struct img *img = NULL;
	char a[IMG_DUMP_ID_SIZE * 2 + 1], b[IMG_DUMP_ID_SIZE * 2 + 1];

	CU_ASSERT_FATAL(img_dump_id_new() == 0);
	write_empty(IMG_INVENTORY, 0);
	write_empty(IMG_CORE, 42);
	CU_ASSERT_FATAL(img_open(tmp_dfd, IMG_CORE, 42, O_RDONLY, &img) == 0);
	img_dump_id_str(img->dump_id, a);
	img_close(TAKE_PTR(img));

	/* Another dump writes mm-42.img and, later, core-43.img. */
	CU_ASSERT_FATAL(img_dump_id_new() == 0);
	write_empty(IMG_MM, 42);
	CU_ASSERT_FATAL(img_open(tmp_dfd, IMG_MM, 42, O_RDONLY, &img) == 0);
	img_dump_id_str(img->dump_id, b);
	img_close(TAKE_PTR(img));
	CU_ASSERT(strcmp(a, b) != 0);

	/* A reader takes the first image's id: the inventory's. */
	img_dump_id_forget();
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_INVENTORY, 0, O_RDONLY, &img), 0);
	img_close(TAKE_PTR(img));
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_CORE, 42, O_RDONLY, &img), 0);
	img_close(TAKE_PTR(img));
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_MM, 42, O_RDONLY, &img), -EBADMSG);
	CU_ASSERT(last_error_has("mm-42.img: is from another dump (dump id"));
	CU_ASSERT(last_error_has(b));
	CU_ASSERT(last_error_has("than inventory.img"));
	CU_ASSERT(last_error_has(a));
	CU_ASSERT_PTR_NULL(img);
	/* img_open_any() too. */
	CU_ASSERT_EQUAL(img_open_any(tmp_dfd, "mm-42.img", &img), -EBADMSG);

	/* With mm-42.img first, the others are the foreign ones. */
	img_dump_id_forget();
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_MM, 42, O_RDONLY, &img), 0);
	img_close(TAKE_PTR(img));
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_CORE, 42, O_RDONLY, &img), -EBADMSG);
	CU_ASSERT(last_error_has("core-42.img: is from another dump"));
}

static void test_id_in_name(void)
{
	_cleanup_img_ struct img *img = NULL;

	write_empty(IMG_CORE, 42);
	write_empty(IMG_PAGES, 1);
	CU_ASSERT_EQUAL(renameat(tmp_dfd, "core-42.img", tmp_dfd, "core-43.img"), 0);
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_CORE, 43, O_RDONLY, &img), -EBADMSG);
	CU_ASSERT(last_error_has("core-43.img: is the core image of 42, not of 43"));
	CU_ASSERT_EQUAL(img_open_any(tmp_dfd, "core-43.img", &img), -EBADMSG);
	CU_ASSERT_EQUAL(renameat(tmp_dfd, "pages-1.img", tmp_dfd, "pages-2.img"), 0);
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_PAGES, 2, O_RDONLY, &img), -EBADMSG);
	CU_ASSERT(last_error_has("pages-2.img: is the pages image of 1, not of 2"));

	/* Under a name that is not one of ours, only cr show opens it. */
	CU_ASSERT_EQUAL(renameat(tmp_dfd, "core-43.img", tmp_dfd, "saved-core.img"), 0);
	CU_ASSERT_EQUAL(img_open_any(tmp_dfd, "saved-core.img", &img), 0);
	CU_ASSERT_EQUAL(img->type, IMG_CORE);
	CU_ASSERT_EQUAL(img->id, 42);
}

/* A core record must describe the task its file name says. */
static void test_core_pid(void)
{
	CoreEntry c = CORE_ENTRY__INIT;
	ThreadCoreEntry main_th = THREAD_CORE_ENTRY__INIT, other = THREAD_CORE_ENTRY__INIT;
	ThreadCoreEntry *others[1] = { &other };

	CU_ASSERT_EQUAL(core_check_ids(&c, 42), -EBADMSG);
	CU_ASSERT(last_error_has("core-42.img: no main thread"));
	c.thread = &main_th;
	main_th.tid = 42;
	CU_ASSERT_EQUAL(core_check_ids(&c, 42), 0);
	CU_ASSERT_EQUAL(core_check_ids(&c, 43), -EBADMSG);
	CU_ASSERT(last_error_has("core-43.img: describes pid 42"));
	c.threads = others;
	c.n_threads = 1;
	other.tid = 44;
	CU_ASSERT_EQUAL(core_check_ids(&c, 42), 0);
	other.tid = 42;
	CU_ASSERT_EQUAL(core_check_ids(&c, 42), -EBADMSG);
	CU_ASSERT(last_error_has("core-42.img: thread 1 has the main thread's id 42"));
}

/* ---- files that are not regular files of ours ---------------------------- */

static void on_alarm(int sig)
{
	(void)sig;
	fprintf(stderr, "blocked opening a FIFO\n");
	_exit(1);
}

/* Whether the file @name of the temp dir still holds exactly @want. */
static bool holds(const char *name, const char *want)
{
	size_t len;
	_cleanup_free_ unsigned char *b = slurp(name, &len);

	return b && len == strlen(want) && !memcmp(b, want, len);
}

static void test_not_regular(void)
{
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	_cleanup_img_ struct img *img = NULL;

	/* Blocking in open() would hang the whole run: fail it instead. */
	sigaction(SIGALRM, &sa, &old);
	alarm(10);
	CU_ASSERT_FATAL(mkfifoat(tmp_dfd, "core-42.img", 0600) == 0);
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_CORE, 42, O_RDONLY, &img), -EINVAL);
	CU_ASSERT(last_error_has("core-42.img: is a FIFO, not a regular file"));
	CU_ASSERT_EQUAL(img_open_any(tmp_dfd, "core-42.img", &img), -EINVAL);
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_CORE, 42, O_WRONLY, &img), -EINVAL);
	CU_ASSERT(last_error_has("core-42.img: is a FIFO, not a regular file"));
	alarm(0);
	sigaction(SIGALRM, &old, NULL);

	CU_ASSERT_FATAL(mkdirat(tmp_dfd, "mm-42.img", 0700) == 0);
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_MM, 42, O_RDONLY, &img), -EINVAL);
	CU_ASSERT(last_error_has("mm-42.img: is a directory, not a regular file"));

	/* A symbolic link is not followed, even to a good image. */
	write_empty(IMG_FDINFO, 42);
	CU_ASSERT_FATAL(symlinkat("fdinfo-42.img", tmp_dfd, "fdinfo-43.img") == 0);
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_FDINFO, 43, O_RDONLY, &img), -EINVAL);
	CU_ASSERT(last_error_has("fdinfo-43.img: is a symbolic link, not a regular file"));
}

/* An image written over a file that is not cr's own: refused, the file untouched. */
static void test_write_not_ours(void)
{
	_cleanup_img_ struct img *img = NULL;

	CU_ASSERT_FATAL(spit("victim", "precious", 8) == 0);
	CU_ASSERT_FATAL(linkat(tmp_dfd, "victim", tmp_dfd, "core-42.img", 0) == 0);
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_CORE, 42, O_WRONLY, &img), -EPERM);
	CU_ASSERT(last_error_has("core-42.img: has 2 links"));
	CU_ASSERT(holds("victim", "precious"));
	CU_ASSERT_FATAL(symlinkat("victim", tmp_dfd, "mm-42.img") == 0);
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_MM, 42, O_WRONLY, &img), -EINVAL);
	CU_ASSERT(last_error_has("mm-42.img: is a symbolic link, not a regular file"));
	CU_ASSERT(holds("victim", "precious"));
	CU_ASSERT_FATAL(spit("fdinfo-42.img", "theirs", 6) == 0);
	CU_ASSERT_FATAL(fchownat(tmp_dfd, "fdinfo-42.img", 65534, 65534, 0) == 0);
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_FDINFO, 42, O_WRONLY, &img), -EPERM);
	CU_ASSERT(last_error_has("fdinfo-42.img: is owned by uid 65534"));
	CU_ASSERT(holds("fdinfo-42.img", "theirs"));
	/* An old image of ours is written over. */
	CU_ASSERT_FATAL(spit("pstree.img", "old", 3) == 0);
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_PSTREE, 0, O_WRONLY, &img), 0);
	CU_ASSERT_EQUAL(img_close(TAKE_PTR(img)), 0);
	CU_ASSERT_EQUAL(read_image(IMG_PSTREE, 0), 0);
}

/* The log file (-o): the same rule; an own log is truncated. */
static void test_log_file(void)
{
	char path[128];

	CU_ASSERT_FATAL(spit("victim", "precious", 8) == 0);
	CU_ASSERT_FATAL(symlinkat("victim", tmp_dfd, "link.log") == 0);
	snprintf(path, sizeof(path), "%s/link.log", tmp_dir);
	CU_ASSERT_EQUAL(log_open_file(path), -EINVAL);
	CU_ASSERT(last_error_has("link.log: is a symbolic link, not a regular file"));
	CU_ASSERT_FATAL(linkat(tmp_dfd, "victim", tmp_dfd, "hard.log", 0) == 0);
	snprintf(path, sizeof(path), "%s/hard.log", tmp_dir);
	CU_ASSERT_EQUAL(log_open_file(path), -EPERM);
	CU_ASSERT(last_error_has("hard.log: has 2 links"));
	CU_ASSERT(holds("victim", "precious"));
	CU_ASSERT_FATAL(mkfifoat(tmp_dfd, "fifo.log", 0600) == 0);
	snprintf(path, sizeof(path), "%s/fifo.log", tmp_dir);
	CU_ASSERT_EQUAL(log_open_file(path), -EINVAL);
	CU_ASSERT(last_error_has("fifo.log: is a FIFO, not a regular file"));

	CU_ASSERT_FATAL(spit("own.log", "old lines", 9) == 0);
	snprintf(path, sizeof(path), "%s/own.log", tmp_dir);
	CU_ASSERT_EQUAL(log_open_file(path), 0);
	log_close();
	CU_ASSERT(holds("own.log", ""));
	snprintf(path, sizeof(path), "%s/new.log", tmp_dir);
	CU_ASSERT_EQUAL(log_open_file(path), 0);
	log_close();
	CU_ASSERT(holds("new.log", ""));
}

/* ---- one cr at a time in a directory ------------------------------------ */

static void test_dir_lock(void)
{
	char dir[128];
	int dfd = -1, dfd2 = -1, other;

	snprintf(dir, sizeof(dir), "%s/d", tmp_dir);
	CU_ASSERT_EQUAL_FATAL(img_dir_lock(dir, IMG_DIR_DUMP, &dfd), 0);	/* creates it */
	/* Held by this dump; nobody else gets it. */
	CU_ASSERT_EQUAL(img_dump_dir_prepare(dfd, dir), 0);
	CU_ASSERT_EQUAL(img_dir_lock(dir, IMG_DIR_RESTORE, &dfd2), -EBUSY);
	CU_ASSERT(last_error_has("image directory "));
	CU_ASSERT(last_error_has("/d is in use by another cr"));
	CU_ASSERT_EQUAL(img_check_dir_for_dump(dir, &dfd2), -EBUSY);
	/* Closing its fd lets it go. */
	close(dfd);
	CU_ASSERT_EQUAL_FATAL(img_dir_lock(dir, IMG_DIR_RESTORE, &dfd2), 0);
	close(dfd2);

	/* Held by another process (another open file description here). */
	other = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CU_ASSERT_FATAL(other >= 0);
	CU_ASSERT_FATAL(flock(other, LOCK_EX | LOCK_NB) == 0);
	CU_ASSERT_EQUAL(img_dir_lock(dir, IMG_DIR_DUMP, &dfd), -EBUSY);
	CU_ASSERT_EQUAL(img_check_dir_for_dump(dir, &dfd), -EBUSY);
	close(other);
	CU_ASSERT_EQUAL_FATAL(img_dir_lock(dir, IMG_DIR_RESTORE, &dfd), 0);
	close(dfd);
}

/* A dump refuses a directory before anything is written or truncated. */
static void test_dir_lock_refused(void)
{
	int dfd = -1;

	CU_ASSERT_FATAL(spit("notes.txt", "mine", 4) == 0);
	CU_ASSERT_EQUAL(img_dir_lock(tmp_dir, IMG_DIR_DUMP, &dfd), -EEXIST);
	CU_ASSERT(last_error_has("notes.txt, which is not a criu-lite image"));
	CU_ASSERT_EQUAL(img_dir_lock("/nonexistent/x", IMG_DIR_RESTORE, &dfd), -ENOENT);
	CU_ASSERT(last_error_has("/nonexistent/x"));
}

/* ---- images someone else could have written ------------------------------ */

static void test_untrusted(void)
{
	_cleanup_img_ struct img *img = NULL;
	int dfd = -1;
	char dir[128];

	snprintf(dir, sizeof(dir), "%s", tmp_dir);
	write_empty(IMG_CORE, 42);
	img_trust_set(IMG_TRUST_REFUSE);

	CU_ASSERT_FATAL(chmod(dir, 0777) == 0);
	CU_ASSERT_EQUAL(img_dir_lock(dir, IMG_DIR_RESTORE, &dfd), -EPERM);
	CU_ASSERT(last_error_has(dir));
	CU_ASSERT(last_error_has("is writable by group or others (mode 0777)"));
	CU_ASSERT(last_error_has("--allow-untrusted-images"));
	CU_ASSERT_FATAL(chmod(dir, 01770) == 0);
	CU_ASSERT_EQUAL(img_dir_lock(dir, IMG_DIR_RESTORE, &dfd), -EPERM);
	CU_ASSERT_FATAL(chmod(dir, 0755) == 0);
	CU_ASSERT_FATAL(chown(dir, 65534, 65534) == 0);
	CU_ASSERT_EQUAL(img_dir_lock(dir, IMG_DIR_RESTORE, &dfd), -EPERM);
	CU_ASSERT(last_error_has("is owned by uid 65534"));
	CU_ASSERT_FATAL(chown(dir, 0, 0) == 0);
	CU_ASSERT_EQUAL(img_dir_lock(dir, IMG_DIR_RESTORE, &dfd), 0);
	close(dfd);

	CU_ASSERT_FATAL(fchmodat(tmp_dfd, "core-42.img", 0620, 0) == 0);
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_CORE, 42, O_RDONLY, &img), -EPERM);
	CU_ASSERT(last_error_has("core-42.img: is writable by group or others (mode 0620)"));
	CU_ASSERT_FATAL(fchmodat(tmp_dfd, "core-42.img", 0644, 0) == 0);
	CU_ASSERT_FATAL(fchownat(tmp_dfd, "core-42.img", 1000, 0, 0) == 0);
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_CORE, 42, O_RDONLY, &img), -EPERM);
	CU_ASSERT(last_error_has("core-42.img: is owned by uid 1000"));

	/* Overridden (or not root): a warning, and it goes on. */
	img_trust_set(IMG_TRUST_WARN);
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_CORE, 42, O_RDONLY, &img), 0);
	img_close(TAKE_PTR(img));
	CU_ASSERT_FATAL(chmod(dir, 0777) == 0);
	CU_ASSERT_EQUAL(img_dir_lock(dir, IMG_DIR_RESTORE, &dfd), 0);
	close(dfd);
	CU_ASSERT_FATAL(chmod(dir, 0700) == 0);
	img_trust_set(IMG_TRUST_ANY);
}

/* ---- registration ------------------------------------------------------ */

int unit_register_image_safety(void)
{
	/* Every test gets a fresh temp directory. */
	CU_pSuite s = CU_add_suite_with_setup_and_teardown("image safety", NULL, NULL,
							   tmp_setup, tmp_teardown);

	if (!s ||
	    !CU_add_test(s, "cut at every record boundary", test_cut_at_boundaries) ||
	    !CU_add_test(s, "bytes after the end marker", test_trailing_bytes) ||
	    !CU_add_test(s, "records dropped or swapped under the end marker", test_records_vs_marker) ||
	    !CU_add_test(s, "an image without records has an end marker", test_empty_has_marker) ||
	    !CU_add_test(s, "raw image: cut or grown", test_raw_end) ||
	    !CU_add_test(s, "images of another dump", test_dump_id) ||
	    !CU_add_test(s, "the id in the header is the one in the name", test_id_in_name) ||
	    !CU_add_test(s, "a core record describes its file's pid", test_core_pid) ||
	    !CU_add_test(s, "a FIFO, a directory or a link named like an image", test_not_regular) ||
	    !CU_add_test(s, "an image is not written over a file of someone else", test_write_not_ours) ||
	    !CU_add_test(s, "the log file is ours or refused", test_log_file) ||
	    !CU_add_test(s, "one cr at a time in an image directory", test_dir_lock) ||
	    !CU_add_test(s, "a refused directory is refused before the log", test_dir_lock_refused) ||
	    !CU_add_test(s, "untrusted directory or images: refused as root, else a warning", test_untrusted))
		return CU_get_error();
	return 0;
}
