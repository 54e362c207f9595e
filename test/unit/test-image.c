/* Tests of the image codec, CRC32C, the image directory and cr show. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <protobuf-c/protobuf-c.h>

#include "cleanup.h"
#include "compiler.h"
#include "cr.h"
#include "image.h"
#include "log.h"
#include "unit.h"

#include "core.pb-c.h"
#include "fdinfo.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "pstree.pb-c.h"

/* ---- helpers ----------------------------------------------------------- */

/* Packs @m into a malloc'ed buffer: equal packings mean equal messages. */
static unsigned char *pack(const void *m, size_t *len)
{
	unsigned char *b;

	*len = protobuf_c_message_get_packed_size(m);
	b = malloc(*len + 1);
	if (b)
		protobuf_c_message_pack(m, b);
	return b;
}

static bool msg_equal(const void *a, const void *b)
{
	size_t la, lb;
	_cleanup_free_ unsigned char *pa = pack(a, &la);
	_cleanup_free_ unsigned char *pb = pack(b, &lb);

	return pa && pb && la == lb && !memcmp(pa, pb, la);
}

/* ---- crc32c ------------------------------------------------------------ */

static uint32_t crc_bitwise(uint32_t crc, const unsigned char *p, size_t len)
{
	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ ((crc & 1) ? 0x82F63B78u : 0);
	}
	return ~crc;
}

static void test_crc_vectors(void)
{
	unsigned char buf[32];
	uint32_t (*fns[])(uint32_t, const void *, size_t) = { crc32c, crc32c_sw };

	for (size_t i = 0; i < ARRAY_SIZE(fns); i++) {
		CU_ASSERT_EQUAL(fns[i](0, "123456789", 9), 0xE3069283u);
		CU_ASSERT_EQUAL(fns[i](0, "", 0), 0);
		/* RFC 3720, B.4 */
		memset(buf, 0, sizeof(buf));
		CU_ASSERT_EQUAL(fns[i](0, buf, 32), 0x8A9136AAu);
		memset(buf, 0xff, sizeof(buf));
		CU_ASSERT_EQUAL(fns[i](0, buf, 32), 0x62A8AB43u);
		for (int j = 0; j < 32; j++)
			buf[j] = j;
		CU_ASSERT_EQUAL(fns[i](0, buf, 32), 0x46DD794Eu);
		for (int j = 0; j < 32; j++)
			buf[j] = 31 - j;
		CU_ASSERT_EQUAL(fns[i](0, buf, 32), 0x113FDB5Cu);
		/* Chaining. */
		CU_ASSERT_EQUAL(fns[i](fns[i](0, "1234", 4), "56789", 5), 0xE3069283u);
	}
}

static void check_crc_at(const unsigned char *b, size_t off, size_t len, uint32_t seed)
{
	uint32_t hw = crc32c(seed, b + off, len);
	uint32_t sw = crc32c_sw(seed, b + off, len);

	CU_ASSERT_EQUAL(hw, sw);
	if (len <= 4096)
		CU_ASSERT_EQUAL(sw, crc_bitwise(seed, b + off, len));
	if (hw != sw)
		fprintf(stderr, "crc mismatch: off %zu len %zu\n", off, len);
}

static void test_crc_random(void)
{
	const size_t size = 3 * 8192 * 4 + 4096;
	_cleanup_free_ unsigned char *b = malloc(size + 64);
	/* Lengths around every lane boundary of the 3-way path. */
	static const size_t edges[] = { 3 * 8192, 3 * 1360, 3 * 256, 4096, 8192, 16, 8 };

	CU_ASSERT_FATAL(b != NULL);
	srandom(12345);
	for (size_t i = 0; i < size + 64; i++)
		b[i] = random();

	for (int i = 0; i < 3000; i++) {
		size_t off = random() % 64;
		size_t len = random() % (i < 2000 ? 5000 : size);

		check_crc_at(b, off, len, random());
	}
	for (size_t e = 0; e < ARRAY_SIZE(edges); e++)
		for (long d = -17; d <= 17; d++)
			if ((long)edges[e] + d >= 0)
				check_crc_at(b, random() % 64, edges[e] + d, 0);
	/* Chaining across a split in the middle of a lane. */
	CU_ASSERT_EQUAL(crc32c(crc32c(0, b, 30000), b + 30000, size - 30000),
			crc32c(0, b, size));
	printf(" (crc32c %s) ", crc32c_hw_accelerated() ? "hw" : "sw");
}

/* ---- round trips ------------------------------------------------------- */

/* Writes @n messages of @pt into image @it, reads them back, compares. */
static void round_trip(enum img_type it, unsigned id, enum pb_type head_pt,
		       const void *head, enum pb_type pt, void **msgs, int n)
{
	_cleanup_img_ struct img *img = NULL;
	void *got;

	CU_ASSERT_FATAL(img_open(tmp_dfd, it, id, O_WRONLY, &img) == 0);
	if (head)
		CU_ASSERT_EQUAL(pb_write_one(img, head, head_pt), 0);
	for (int i = 0; i < n; i++)
		CU_ASSERT_EQUAL(pb_write_one(img, msgs[i], pt), 0);
	CU_ASSERT_EQUAL(img_close(TAKE_PTR(img)), 0);

	CU_ASSERT_FATAL(img_open(tmp_dfd, it, id, O_RDONLY, &img) == 0);
	CU_ASSERT_EQUAL(img->type, it);
	if (head) {
		CU_ASSERT_EQUAL_FATAL(pb_read_one(img, &got, head_pt), 1);
		CU_ASSERT(msg_equal(got, head));
		pb_free(got, head_pt);
	}
	for (int i = 0; i < n; i++) {
		CU_ASSERT_EQUAL_FATAL(pb_read_one(img, &got, pt), 1);
		CU_ASSERT(msg_equal(got, msgs[i]));
		pb_free(got, pt);
	}
	/* Clean EOF, then again (EOF is sticky), then as "required". */
	CU_ASSERT_EQUAL(pb_read_one(img, &got, pt), 0);
	CU_ASSERT_EQUAL(pb_read_one(img, &got, pt), 0);
	CU_ASSERT_EQUAL(pb_read_one_required(img, &got, pt), -EBADMSG);
	CU_ASSERT(last_error_has("missing record"));
}

static void test_rt_inventory(void)
{
	InventoryEntry a = INVENTORY_ENTRY__INIT, b = INVENTORY_ENTRY__INIT;
	void *msgs[] = { &a, &b };
	_cleanup_img_ struct img *img = NULL;
	InventoryEntry *got;

	a.img_version = 1; a.root_pid = 42; a.tool_version = "0.1";
	a.xfeatures = 0x2e7; a.xsave_size = 2696; a.kernel = "6.18.0"; a.pages_id = 1;
	b.img_version = 1; b.root_pid = 7; b.tool_version = "x\"y\n"; b.pages_id = 3;
	round_trip(IMG_INVENTORY, 0, 0, NULL, PB_INVENTORY, msgs, 2);

	CU_ASSERT_FATAL(img_open(tmp_dfd, IMG_INVENTORY, 0, O_RDONLY, &img) == 0);
	CU_ASSERT_EQUAL_FATAL(pb_read_one(img, (void **)&got, PB_INVENTORY), 1);
	CU_ASSERT_EQUAL(got->root_pid, 42);
	CU_ASSERT_EQUAL(got->xfeatures, 0x2e7);
	CU_ASSERT_STRING_EQUAL(got->kernel, "6.18.0");
	pb_free(got, PB_INVENTORY);
	CU_ASSERT_EQUAL_FATAL(pb_read_one(img, (void **)&got, PB_INVENTORY), 1);
	CU_ASSERT_PTR_NULL(got->kernel);	/* optional, absent */
	CU_ASSERT_STRING_EQUAL(got->tool_version, "x\"y\n");
	pb_free(got, PB_INVENTORY);
}

static void test_rt_pstree(void)
{
	PstreeEntry e[3];
	uint32_t threads[3][4] = { { 10, 11, 12 }, { 20 }, { 30, 31 } };
	size_t nthreads[3] = { 3, 1, 0 };
	void *msgs[3];

	for (int i = 0; i < 3; i++) {
		pstree_entry__init(&e[i]);
		e[i].pid = 10 * (i + 1);
		e[i].ppid = i ? 10 : 1;
		e[i].pgid = e[i].sid = 10;
		e[i].n_threads = nthreads[i];
		e[i].threads = threads[i];
		msgs[i] = &e[i];
	}
	round_trip(IMG_PSTREE, 0, 0, NULL, PB_PSTREE, msgs, 3);
}

static void test_rt_core(void)
{
	CoreEntry c = CORE_ENTRY__INIT;
	ThreadCoreEntry t = THREAD_CORE_ENTRY__INIT;
	UserRegsEntry r = USER_REGS_ENTRY__INIT;
	SigactionEntry sa[2] = { SIGACTION_ENTRY__INIT, SIGACTION_ENTRY__INIT };
	SigactionEntry *sap[2] = { &sa[0], &sa[1] };
	RlimitEntry rl = RLIMIT_ENTRY__INIT, *rlp = &rl;
	ItimerEntry it = ITIMER_ENTRY__INIT, *itp = &it;
	/* Larger than the 64 KiB write buffer: exercises the big-record path. */
	const size_t xlen = 100 * 1024;
	_cleanup_free_ unsigned char *xsave = malloc(xlen);
	unsigned char sig1[128] = { 1, 2, 3 };
	ProtobufCBinaryData pend = { sizeof(sig1), sig1 };
	void *msgs[3] = { &c, &c, &c };

	CU_ASSERT_FATAL(xsave != NULL);
	for (size_t i = 0; i < xlen; i++)
		xsave[i] = i * 7;
	r.ip = 0x401000; r.sp = 0x7ffc0000; r.ax = (uint64_t)-4; r.orig_ax = 230;
	r.fs_base = 0x7f0000001000;
	t.tid = 42; t.regs = &r; t.xsave.len = xlen; t.xsave.data = xsave;
	t.blk_sigset = 1 << 9; t.n_pending_sigs = 1; t.pending_sigs = &pend;
	sa[0].sig = 2; sa[0].handler = 0x401234; sa[0].flags = 0x04000000;
	sa[0].restorer = 0x7f0000002000; sa[1].sig = 15;
	rl.resource = 7; rl.cur = 1024; rl.max = 4096;
	it.which = 0; it.isec = 1; it.vusec = 500;
	c.comm = "cat"; c.personality = 0; c.umask = 022; c.cwd = "/tmp"; c.root = "/";
	c.thread = &t; c.n_sigactions = 2; c.sigactions = sap;
	c.n_rlimits = 1; c.rlimits = &rlp; c.n_itimers = 1; c.itimers = &itp;
	c.exit_signal = 17;
	round_trip(IMG_CORE, 42, 0, NULL, PB_CORE, msgs, 3);
}

static void test_rt_mm(void)
{
	MmEntry mm = MM_ENTRY__INIT;
	VmaEntry v[2] = { VMA_ENTRY__INIT, VMA_ENTRY__INIT };
	VmaEntry *vp[2] = { &v[0], &v[1] };
	uint64_t auxv[4] = { 33, 0x7ffd000, 0, 0 };
	void *msgs[1] = { &mm };

	v[0].start = 0x400000; v[0].end = 0x401000; v[0].prot = 5; v[0].flags = 2;
	v[0].kind = VMA_KIND__VMA_FILE_PRIVATE; v[0].path = "/bin/cat";
	v[0].has_dev = 1; v[0].dev = 0x801; v[0].has_ino = 1; v[0].ino = 1234;
	v[1].start = 0x7ffc0000; v[1].end = 0x7ffe0000; v[1].prot = 3;
	v[1].kind = VMA_KIND__VMA_ANON_PRIVATE; v[1].name = "[stack]";
	mm.start_code = 0x400000; mm.brk = 0x600000; mm.exe = "/bin/cat";
	mm.n_auxv = 4; mm.auxv = auxv; mm.n_vmas = 2; mm.vmas = vp;
	round_trip(IMG_MM, 42, 0, NULL, PB_MM, msgs, 1);
}

static void test_rt_pagemap(void)
{
	PagemapHead h = PAGEMAP_HEAD__INIT;
	PagemapEntry e[2000];
	void *msgs[2000];

	h.pages_id = 1;
	h.page_off = 4096 * 17;
	/* Enough records to flush the write buffer several times. */
	for (int i = 0; i < 2000; i++) {
		pagemap_entry__init(&e[i]);
		e[i].vaddr = 0x10000000ull + i * 0x3000ull;
		e[i].nr_pages = i % 7 + 1;
		e[i].crc = crc32c(0, &i, sizeof(i));
		msgs[i] = &e[i];
	}
	round_trip(IMG_PAGEMAP, 42, PB_PAGEMAP_HEAD, &h, PB_PAGEMAP, msgs, 2000);
}

static void test_rt_files(void)
{
	FileEntry f[2] = { FILE_ENTRY__INIT, FILE_ENTRY__INIT };
	RegFileEntry r[2] = { REG_FILE_ENTRY__INIT, REG_FILE_ENTRY__INIT };
	FdinfoEntry fd[2] = { FDINFO_ENTRY__INIT, FDINFO_ENTRY__INIT };
	void *fm[2] = { &f[0], &f[1] }, *dm[2] = { &fd[0], &fd[1] };

	f[0].id = 1; f[0].kind = FILE_KIND__FILE_REG; f[0].reg = &r[0]; r[0].path = "/tmp/a";
	f[0].flags = O_RDWR | O_APPEND; f[0].has_pos = 1; f[0].pos = 99;
	r[0].has_size = 1; r[0].size = 100;
	f[1].id = 2; f[1].kind = FILE_KIND__FILE_CHR; f[1].reg = &r[1]; r[1].path = "/dev/null";
	r[1].has_rdev = 1; r[1].rdev = 0x103;
	fd[0].fd = 0; fd[0].id = 2;
	fd[1].fd = 5; fd[1].id = 1; fd[1].cloexec = 1;
	round_trip(IMG_FILES, 0, 0, NULL, PB_FILE, fm, 2);
	round_trip(IMG_FDINFO, 42, 0, NULL, PB_FDINFO, dm, 2);
}

static void test_empty_image(void)
{
	_cleanup_img_ struct img *img = NULL;
	void *got;

	CU_ASSERT_FATAL(img_open(tmp_dfd, IMG_FDINFO, 3, O_WRONLY, &img) == 0);
	CU_ASSERT_EQUAL(img_close(TAKE_PTR(img)), 0);
	CU_ASSERT_FATAL(img_open(tmp_dfd, IMG_FDINFO, 3, O_RDONLY, &img) == 0);
	CU_ASSERT_EQUAL(pb_read_one(img, &got, PB_FDINFO), 0);
}

static void test_wrong_kind(void)
{
	_cleanup_img_ struct img *img = NULL;
	FdinfoEntry fd = FDINFO_ENTRY__INIT;
	void *got;

	CU_ASSERT_FATAL(img_open(tmp_dfd, IMG_MM, 1, O_WRONLY, &img) == 0);
	CU_ASSERT_EQUAL(pb_write_one(img, &fd, PB_FDINFO), -EINVAL);
	/* Descriptor of the message must match the declared kind too. */
	CU_ASSERT_EQUAL(pb_write_one(img, &fd, PB_MM), -EINVAL);
	CU_ASSERT_EQUAL(img_close(TAKE_PTR(img)), 0);

	/* An mm image opened as a core image is refused. */
	CU_ASSERT_EQUAL(renameat(tmp_dfd, "mm-1.img", tmp_dfd, "core-1.img"), 0);
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_CORE, 1, O_RDONLY, &img), -EBADMSG);
	CU_ASSERT(last_error_has("core-1.img: is a mm image"));
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_CORE, 1, O_RDWR, &img), -EINVAL);
	CU_ASSERT_EQUAL(img_open_any(tmp_dfd, "core-1.img", &img), -EBADMSG);
	/* Under a name of no type, the header tells. */
	CU_ASSERT_EQUAL(renameat(tmp_dfd, "core-1.img", tmp_dfd, "some-mm.img"), 0);
	CU_ASSERT_FATAL(img_open_any(tmp_dfd, "some-mm.img", &img) == 0);
	CU_ASSERT_EQUAL(img->type, IMG_MM);
	CU_ASSERT_EQUAL(pb_read_one(img, &got, PB_CORE), -EINVAL);
}

static void test_missing(void)
{
	struct img *img = NULL;

	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_PAGEMAP, 42, O_RDONLY, &img), -ENOENT);
	CU_ASSERT(last_error_has("pagemap-42.img: missing (No such file or directory)"));
	CU_ASSERT_PTR_NULL(img);
}

/* ---- corruption -------------------------------------------------------- */

/* An fdinfo image with two records; returns its bytes and record offsets. */
static unsigned char *make_two_records(size_t *len, size_t *rec2)
{
	_cleanup_img_ struct img *img = NULL;
	FdinfoEntry a = FDINFO_ENTRY__INIT, b = FDINFO_ENTRY__INIT;

	a.fd = 3; a.id = 1;
	b.fd = 4; b.id = 300000; b.cloexec = 1;
	if (img_open(tmp_dfd, IMG_FDINFO, 9, O_WRONLY, &img))
		return NULL;
	pb_write_one(img, &a, PB_FDINFO);
	*rec2 = img->off;
	pb_write_one(img, &b, PB_FDINFO);
	if (img_close(TAKE_PTR(img)))
		return NULL;
	return slurp("fdinfo-9.img", len);
}

/*
 * Opens fdinfo-9.img and reads everything: returns the number of records
 * read, or the first error.
 */
static int read_all(void)
{
	_cleanup_img_ struct img *img = NULL;
	int ret, n = 0;
	void *got;

	ret = img_open(tmp_dfd, IMG_FDINFO, 9, O_RDONLY, &img);
	if (ret)
		return ret;
	while ((ret = pb_read_one(img, &got, PB_FDINFO)) == 1) {
		pb_free(got, PB_FDINFO);
		n++;
	}
	return ret ? ret : n;
}

static void test_truncated(void)
{
	char msg[160];
	size_t len, rec2;
	_cleanup_free_ unsigned char *b = make_two_records(&len, &rec2);

	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT(rec2 > IMG_HDR_SIZE + IMG_REC_HDR_SIZE);
	size_t end = len - IMG_TRAILER_SIZE;	/* where the end marker starts */

	CU_ASSERT_EQUAL(read_all(), 2);
	/* Even a cut between records: the end marker is missing. */
	for (size_t cut = 0; cut < len; cut++) {
		CU_ASSERT_FATAL(spit("fdinfo-9.img", b, cut) == 0);
		CU_ASSERT_EQUAL(read_all(), -EBADMSG);
	}
	CU_ASSERT_FATAL(spit("fdinfo-9.img", b, rec2 + 5) == 0);
	CU_ASSERT_EQUAL(read_all(), -EBADMSG);
	snprintf(msg, sizeof(msg),
		 "fdinfo-9.img: record at offset %zu is truncated (needs 8 bytes, 5 left)", rec2);
	CU_ASSERT(last_error_has(msg));
	CU_ASSERT_FATAL(spit("fdinfo-9.img", b, end - 1) == 0);
	CU_ASSERT_EQUAL(read_all(), -EBADMSG);
	snprintf(msg, sizeof(msg), "fdinfo-9.img: record at offset %zu is truncated (needs %zu bytes, %zu left)",
		 rec2, end - rec2, end - 1 - rec2);
	CU_ASSERT(last_error_has(msg));
	CU_ASSERT_FATAL(spit("fdinfo-9.img", b, 5) == 0);
	CU_ASSERT_EQUAL(read_all(), -EBADMSG);
	CU_ASSERT(last_error_has("header is truncated"));
}

static void test_bitflips(void)
{
	char msg[160];
	size_t len, rec2;
	_cleanup_free_ unsigned char *b = make_two_records(&len, &rec2);

	CU_ASSERT_FATAL(b != NULL);
	/* CRC32C catches every single-bit error, wherever it lands. */
	for (size_t bit = 0; bit < len * 8; bit++) {
		int ret;

		b[bit / 8] ^= 1 << (bit % 8);
		CU_ASSERT_FATAL(spit("fdinfo-9.img", b, len) == 0);
		ret = read_all();
		CU_ASSERT_EQUAL(ret, -EBADMSG);
		if (ret != -EBADMSG)
			fprintf(stderr, "bit %zu flipped went unnoticed (%d)\n", bit, ret);
		b[bit / 8] ^= 1 << (bit % 8);
	}
	/* The messages name what was wrong. */
	b[IMG_HDR_SIZE + IMG_REC_HDR_SIZE] ^= 0x10;	/* payload */
	CU_ASSERT_FATAL(spit("fdinfo-9.img", b, len) == 0);
	CU_ASSERT_EQUAL(read_all(), -EBADMSG);
	snprintf(msg, sizeof(msg), "fdinfo-9.img: checksum mismatch in record at offset %u", IMG_HDR_SIZE);
	CU_ASSERT(last_error_has(msg));
	b[IMG_HDR_SIZE + IMG_REC_HDR_SIZE] ^= 0x10;
	b[rec2 + 5] ^= 0x01;				/* crc of record 2 */
	CU_ASSERT_FATAL(spit("fdinfo-9.img", b, len) == 0);
	CU_ASSERT_EQUAL(read_all(), -EBADMSG);
	snprintf(msg, sizeof(msg), "checksum mismatch in record at offset %zu", rec2);
	CU_ASSERT(last_error_has(msg));
	b[rec2 + 5] ^= 0x01;
	b[IMG_HDR_SIZE - 3] ^= 0x80;			/* header crc */
	CU_ASSERT_FATAL(spit("fdinfo-9.img", b, len) == 0);
	CU_ASSERT_EQUAL(read_all(), -EBADMSG);
	CU_ASSERT(last_error_has("fdinfo-9.img: header checksum mismatch"));
	b[IMG_HDR_SIZE - 3] ^= 0x80;
	CU_ASSERT_FATAL(spit("fdinfo-9.img", b, len) == 0);
	CU_ASSERT_EQUAL(read_all(), 2);
}

/*
 * Writes @name as a real image without records, then sets its type magic
 * and version words and its header checksum again.
 */
static void patch_header(const char *name, enum img_type type, uint32_t magic, uint32_t version)
{
	_cleanup_img_ struct img *img = NULL;
	_cleanup_free_ unsigned char *b = NULL;
	uint32_t crc;
	size_t len;

	CU_ASSERT_FATAL(img_open(tmp_dfd, type, 0, O_WRONLY, &img) == 0);
	CU_ASSERT_FATAL(img_close(TAKE_PTR(img)) == 0);
	b = slurp(name, &len);
	CU_ASSERT_FATAL(b != NULL);
	/* x86 is little-endian, so the words go in as they are. */
	memcpy(b + 4, &magic, 4);
	memcpy(b + 8, &version, 4);
	crc = crc32c(0, b, IMG_HDR_SIZE - 4);
	memcpy(b + IMG_HDR_SIZE - 4, &crc, 4);
	CU_ASSERT_FATAL(spit(name, b, len) == 0);
}

static void test_foreign_and_newer(void)
{
	static const char junk[] = "#!/bin/sh\necho this is not an image\n";
	uint32_t v1[4] = { IMG_MAGIC, INVENTORY_MAGIC, 1, 0 };
	char msg[128];
	struct img *img = NULL;
	void *got;

	CU_ASSERT_FATAL(spit("pstree.img", junk, sizeof(junk)) == 0);
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_PSTREE, 0, O_RDONLY, &img), -EBADMSG);
	CU_ASSERT(last_error_has("pstree.img: not a criu-lite image (bad magic)"));

	patch_header("inventory.img", IMG_INVENTORY, INVENTORY_MAGIC, 7);
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_INVENTORY, 0, O_RDONLY, &img), -EBADMSG);
	snprintf(msg, sizeof(msg), "inventory.img: image format version 7, this cr reads version %u",
		 IMG_FORMAT_VERSION);
	CU_ASSERT(last_error_has(msg));

	/* A version 1 image: 16 bytes of header, no end marker. */
	v1[3] = crc32c(0, v1, 12);
	CU_ASSERT_FATAL(spit("inventory.img", v1, sizeof(v1)) == 0);
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_INVENTORY, 0, O_RDONLY, &img), -EBADMSG);
	snprintf(msg, sizeof(msg), "inventory.img: image format version 1, this cr reads version %u",
		 IMG_FORMAT_VERSION);
	CU_ASSERT(last_error_has(msg));

	/* The same header with our version is fine. */
	patch_header("inventory.img", IMG_INVENTORY, INVENTORY_MAGIC, IMG_FORMAT_VERSION);
	CU_ASSERT_EQUAL_FATAL(img_open(tmp_dfd, IMG_INVENTORY, 0, O_RDONLY, &img), 0);
	CU_ASSERT_EQUAL(pb_read_one(img, &got, PB_INVENTORY), 0);
	CU_ASSERT_EQUAL(img_close(img), 0);

	/* Unknown type magic. */
	patch_header("files.img", IMG_FILES, 0xdeadbeef, IMG_FORMAT_VERSION);
	img = NULL;
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_FILES, 0, O_RDONLY, &img), -EBADMSG);
	CU_ASSERT(last_error_has("files.img: unknown image type"));
}

static void test_absurd_length(void)
{
	size_t len, rec2;
	_cleanup_free_ unsigned char *b = make_two_records(&len, &rec2);

	CU_ASSERT_FATAL(b != NULL);
	b[rec2 + 3] = 0x7f;	/* length ~2 GiB */
	CU_ASSERT_FATAL(spit("fdinfo-9.img", b, len) == 0);
	CU_ASSERT_EQUAL(read_all(), -EBADMSG);
	CU_ASSERT(last_error_has("over the"));
}

/* ---- pages image ------------------------------------------------------- */

static void test_pages(void)
{
	_cleanup_img_ struct img *img = NULL;
	_cleanup_free_ unsigned char *b = NULL;
	unsigned char page[4096];
	FdinfoEntry fd = FDINFO_ENTRY__INIT;
	size_t len;

	memset(page, 0xab, sizeof(page));
	CU_ASSERT_FATAL(img_open(tmp_dfd, IMG_PAGES, 2, O_WRONLY, &img) == 0);
	CU_ASSERT_EQUAL(lseek(img->fd, 0, SEEK_CUR), IMG_PAGES_DATA_OFF);
	CU_ASSERT_EQUAL(pb_write_one(img, &fd, PB_FDINFO), -EINVAL);
	CU_ASSERT_EQUAL(write(img->fd, page, sizeof(page)), (ssize_t)sizeof(page));
	CU_ASSERT_EQUAL(img_close(TAKE_PTR(img)), 0);

	b = slurp("pages-2.img", &len);
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT_EQUAL(len, IMG_PAGES_DATA_OFF + sizeof(page) + IMG_TRAILER_SIZE);
	for (size_t i = IMG_HDR_SIZE; i < IMG_PAGES_DATA_OFF; i++)
		if (b[i]) {
			CU_FAIL("header padding is not zero");
			break;
		}
	CU_ASSERT(!memcmp(b + IMG_PAGES_DATA_OFF, page, sizeof(page)));

	CU_ASSERT_FATAL(img_open(tmp_dfd, IMG_PAGES, 2, O_RDONLY, &img) == 0);
	CU_ASSERT_EQUAL(lseek(img->fd, 0, SEEK_CUR), IMG_PAGES_DATA_OFF);
}

/* ---- names and the image directory -------------------------------------- */

static void test_match_name(void)
{
	enum img_type t;
	unsigned id;

	CU_ASSERT(img_match_name("core-42.img", &t, &id) && t == IMG_CORE && id == 42);
	CU_ASSERT(img_match_name("pages-1.img", &t, &id) && t == IMG_PAGES && id == 1);
	CU_ASSERT(img_match_name("inventory.img", &t, &id) && t == IMG_INVENTORY);
	CU_ASSERT(img_match_name("fdinfo-4294967295.img", &t, &id) && id == 4294967295u);
	CU_ASSERT(!img_match_name("fdinfo-4294967296.img", NULL, NULL));
	CU_ASSERT(!img_match_name("core-.img", NULL, NULL));
	CU_ASSERT(!img_match_name("core-01.img", NULL, NULL));
	CU_ASSERT(!img_match_name("core-1x.img", NULL, NULL));
	CU_ASSERT(!img_match_name("core-1.img.bak", NULL, NULL));
	CU_ASSERT(!img_match_name("files.img~", NULL, NULL));
	CU_ASSERT(!img_match_name("dump.log", NULL, NULL));
}

static bool exists(int dfd, const char *name)
{
	return faccessat(dfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static void test_dir_for_dump(void)
{
	char path[128];
	struct stat st;
	int dfd = -1;

	/* Missing: created with 0700. */
	snprintf(path, sizeof(path), "%s/new", tmp_dir);
	CU_ASSERT_EQUAL_FATAL(img_check_dir_for_dump(path, &dfd), 0);
	CU_ASSERT(dfd >= 0);
	CU_ASSERT(stat(path, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700);
	close(dfd);
	/* Existing and empty: fine. */
	CU_ASSERT_EQUAL(img_check_dir_for_dump(path, &dfd), 0);
	close(dfd);

	/* A subdirectory, even with our kind of name, is not ours. */
	CU_ASSERT_FATAL(spit("core-1.img", "x", 1) == 0);
	CU_ASSERT_FATAL(spit("pages-3.img", "x", 1) == 0);
	CU_ASSERT_FATAL(spit("dump.log", "x", 1) == 0);
	CU_ASSERT_EQUAL(img_check_dir_for_dump(tmp_dir, &dfd), -EEXIST);
	CU_ASSERT(last_error_has("holds new,"));
	CU_ASSERT(exists(tmp_dfd, "core-1.img"));

	/* Ours only: reused, images removed, logs kept. */
	CU_ASSERT_EQUAL(rmdir(path), 0);
	CU_ASSERT_EQUAL_FATAL(img_check_dir_for_dump(tmp_dir, &dfd), 0);
	CU_ASSERT(!exists(dfd, "core-1.img"));
	CU_ASSERT(!exists(dfd, "pages-3.img"));
	CU_ASSERT(exists(dfd, "dump.log"));
	close(dfd);

	/* Foreign file: refused, nothing removed. */
	CU_ASSERT_FATAL(spit("core-2.img", "x", 1) == 0);
	CU_ASSERT_FATAL(spit("notes.txt", "x", 1) == 0);
	dfd = -1;
	CU_ASSERT_EQUAL(img_check_dir_for_dump(tmp_dir, &dfd), -EEXIST);
	CU_ASSERT_EQUAL(dfd, -1);
	CU_ASSERT(last_error_has(tmp_dir));
	CU_ASSERT(last_error_has("notes.txt"));
	CU_ASSERT(exists(tmp_dfd, "core-2.img"));
}

/* ---- cr show ----------------------------------------------------------- */

/* Runs cr_show() with stdout captured into a malloc'ed string. */
static int show_capture(const char *path, char **ret_out)
{
	int saved, fd, ret;
	size_t len;
	char name[128];

	snprintf(name, sizeof(name), "/tmp/cr-unit-show-%d", getpid());
	fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	ret = cr_show(path);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	len = lseek(fd, 0, SEEK_END);
	*ret_out = calloc(1, len + 1);
	if (*ret_out)
		(void)!pread(fd, *ret_out, len, 0);
	close(fd);
	unlink(name);
	return ret;
}

/* Brackets balance outside strings: a cheap check that JSON is closed. */
static bool json_balanced(const char *s)
{
	int depth = 0;
	bool in_str = false;

	for (; *s; s++) {
		if (in_str) {
			if (*s == '\\')
				s++;
			else if (*s == '"')
				in_str = false;
			else if ((unsigned char)*s < 0x20)
				return false;
			continue;
		}
		if (*s == '"')
			in_str = true;
		else if (*s == '{' || *s == '[')
			depth++;
		else if (*s == '}' || *s == ']')
			if (--depth < 0)
				return false;
	}
	return depth == 0 && !in_str;
}

static void test_show(void)
{
	_cleanup_free_ char *out = NULL, *out2 = NULL, *out3 = NULL;
	char path[128];
	size_t len, rec2;
	unsigned char *b;

	test_rt_mm();
	test_rt_core();
	test_rt_pagemap();
	test_pages();
	CU_ASSERT_FATAL(spit("notes.txt", "x", 1) == 0);	/* skipped */

	CU_ASSERT_EQUAL(show_capture(tmp_dir, &out), 0);
	CU_ASSERT_FATAL(out != NULL);
	CU_ASSERT(json_balanced(out));
	CU_ASSERT(out[0] == '[');
	CU_ASSERT(strstr(out, "\"file\": \"core-42.img\"") != NULL);
	CU_ASSERT(strstr(out, "\"pages_bytes\": 4096") != NULL);
	CU_ASSERT(strstr(out, "\"kind\": \"VMA_FILE_PRIVATE\"") != NULL);
	CU_ASSERT(strstr(out, "\"start\": \"0x400000\"") != NULL);
	CU_ASSERT(strstr(out, "\"fs_base\": \"0x7f0000001000\"") != NULL);
	CU_ASSERT(strstr(out, "(102400 bytes)\"") != NULL);
	CU_ASSERT(strstr(out, "\"page_off\": 69632") != NULL);
	CU_ASSERT(strstr(out, "notes.txt") == NULL);
	CU_ASSERT(strstr(out, "\"id\": 42,") != NULL);
	CU_ASSERT(strstr(out, "\"dump_id\": \"") != NULL);
	CU_ASSERT(strstr(out, "\"records\": 3") != NULL);	/* core-42.img */

	/* One file; then a corrupt one: error returned, output still closed. */
	snprintf(path, sizeof(path), "%s/mm-42.img", tmp_dir);
	CU_ASSERT_EQUAL(show_capture(path, &out2), 0);
	CU_ASSERT(out2 && out2[0] == '{' && json_balanced(out2));

	b = make_two_records(&len, &rec2);
	CU_ASSERT_FATAL(b != NULL);
	b[len - IMG_TRAILER_SIZE - 1] ^= 1;	/* the last record's payload */
	CU_ASSERT_FATAL(spit("fdinfo-9.img", b, len) == 0);
	free(b);
	CU_ASSERT_EQUAL(show_capture(tmp_dir, &out3), -EBADMSG);
	CU_ASSERT(last_error_has("1 of 5 images are bad, the first is fdinfo-9.img"));
	CU_ASSERT(out3 && strstr(out3, "fdinfo-9.img: checksum mismatch") != NULL);
	CU_ASSERT(out3 && json_balanced(out3));
	CU_ASSERT(out3 && strstr(out3, "\"error\": ") != NULL);
	CU_ASSERT(out3 && strstr(out3, "core-42.img") != NULL);

	/* An image of another dump is shown with the reason it is refused. */
	CU_ASSERT_FATAL(img_dump_id_new() == 0);
	test_empty_image();
	free(out3);
	CU_ASSERT_EQUAL(show_capture(tmp_dir, &out3), -EBADMSG);
	CU_ASSERT(out3 && strstr(out3, "fdinfo-3.img: is from another dump") != NULL);
	CU_ASSERT(out3 && json_balanced(out3));
}

/* ---- registration ------------------------------------------------------ */

#define TMP_TEST(fn)						\
	static void fn##_tmp(void) { tmp_setup(); fn(); tmp_teardown(); }

TMP_TEST(test_rt_inventory)
TMP_TEST(test_rt_pstree)
TMP_TEST(test_rt_core)
TMP_TEST(test_rt_mm)
TMP_TEST(test_rt_pagemap)
TMP_TEST(test_rt_files)
TMP_TEST(test_empty_image)
TMP_TEST(test_wrong_kind)
TMP_TEST(test_missing)
TMP_TEST(test_truncated)
TMP_TEST(test_bitflips)
TMP_TEST(test_foreign_and_newer)
TMP_TEST(test_absurd_length)
TMP_TEST(test_pages)
TMP_TEST(test_dir_for_dump)
TMP_TEST(test_show)

int unit_register_image(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{ "crc32c known vectors", test_crc_vectors },
		{ "crc32c fast path vs table vs bitwise", test_crc_random },
		{ "round trip inventory", test_rt_inventory_tmp },
		{ "round trip pstree", test_rt_pstree_tmp },
		{ "round trip core (record > buffer)", test_rt_core_tmp },
		{ "round trip mm", test_rt_mm_tmp },
		{ "round trip pagemap head + 2000 entries", test_rt_pagemap_tmp },
		{ "round trip files and fdinfo", test_rt_files_tmp },
		{ "image without records", test_empty_image_tmp },
		{ "wrong record or image kind", test_wrong_kind_tmp },
		{ "missing image", test_missing_tmp },
		{ "truncated at every offset", test_truncated_tmp },
		{ "every single-bit flip detected", test_bitflips_tmp },
		{ "foreign magic and newer version", test_foreign_and_newer_tmp },
		{ "absurd record length", test_absurd_length_tmp },
		{ "pages image layout", test_pages_tmp },
		{ "image file names", test_match_name },
		{ "image directory for dump", test_dir_for_dump_tmp },
		{ "cr show JSON", test_show_tmp },
	};
	CU_pSuite s = CU_add_suite("image", NULL, NULL);

	if (!s)
		return CU_get_error();
	for (size_t i = 0; i < ARRAY_SIZE(tests); i++)
		if (!CU_add_test(s, tests[i].name, tests[i].fn))
			return CU_get_error();
	return 0;
}
