/*
 * page-wire.c and page-server.c: the page server's message header round
 * trip and what it refuses, then the receiver fed by hand over a
 * socketpair: a whole image is linked in as pages-1.img (and reads back
 * as a pages image of this dump), a run whose checksum does not match
 * is refused and leaves nothing, nor does a connection that ends early.
 * Then a lazy page source (lazy-serve.c) asked by hand: the bytes asked
 * for, and what it refuses (bytes before the image is open or past its
 * end, another image, "done" before "start", a start its caller
 * refuses, a destination gone before it had everything).
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cr.h"
#include "image.h"
#include "lazy-serve.h"
#include "page-wire.h"
#include "unit.h"

static void test_hdr_round_trip(void)
{
	struct ps_hdr h = { .cmd = PS_SUMS, .id = 7, .pid = 42, .off = 1ULL << 40, .len = 32, .count = 2 }, got;
	unsigned char buf[PS_HDR_SIZE];
	uint64_t len;
	uint32_t crc;

	ps_hdr_pack(&h, buf);
	CU_ASSERT_EQUAL(ps_hdr_unpack(buf, "test", &got), 0);
	CU_ASSERT(got.cmd == h.cmd && got.id == 7 && got.pid == 42 && got.off == h.off && got.len == 32 &&
		  got.count == 2);
	ps_sum_pack(1 << 21, 0xdeadbeef, buf);
	ps_sum_unpack(buf, &len, &crc);
	CU_ASSERT(len == 1 << 21 && crc == 0xdeadbeef);
}

static void test_hdr_refused(void)
{
	struct ps_hdr h = { .cmd = PS_DATA, .id = 1, .len = 4096 }, got;
	unsigned char buf[PS_HDR_SIZE], bad[PS_HDR_SIZE];

	ps_hdr_pack(&h, buf);
	memcpy(bad, buf, sizeof(bad));
	bad[24] ^= 1;		/* the length */
	CU_ASSERT_EQUAL(ps_hdr_unpack(bad, "test", &got), -EBADMSG);
	CU_ASSERT(last_error_has("checksum"));
	memcpy(bad, buf, sizeof(bad));
	bad[0] ^= 1;
	CU_ASSERT_EQUAL(ps_hdr_unpack(bad, "test", &got), -EBADMSG);
	CU_ASSERT(last_error_has("bad magic"));
	h.cmd = PS_CMD_MAX;
	ps_hdr_pack(&h, bad);
	CU_ASSERT_EQUAL(ps_hdr_unpack(bad, "test", &got), -EBADMSG);
	CU_ASSERT(last_error_has("unknown command"));
}

/* A page server in a child on one end of a socketpair; our end in *@ret_sk. */
static pid_t start_server(int *ret_sk)
{
	struct cr_options o = { .images_dir = tmp_dir, .ps = { .on = true, .has_fd = true } };
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -1;
	pid = fork();
	if (pid == 0) {
		o.ps.fd = sv[1];
		close(sv[0]);
		_exit(cr_page_server(&o, dup(tmp_dfd)) ? 1 : 0);
	}
	close(sv[1]);
	*ret_sk = sv[0];
	return pid;
}

static int server_status(pid_t pid)
{
	int status = -1;

	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* OPEN, DATA of @len bytes of @page, SUMS with @crc; then COMMIT and CLOSE when @commit. */
static int send_image(int sk, const unsigned char *page, size_t len, uint32_t crc, bool commit)
{
	struct ps_hdr h = { .cmd = PS_OPEN, .id = 1, .len = IMG_DUMP_ID_SIZE };
	unsigned char sum[PS_SUM_SIZE], ack[PS_HDR_SIZE];
	uint8_t id[IMG_DUMP_ID_SIZE];
	int err;

	img_dump_id_get(id);
	err = ps_send(sk, &h, id, sizeof(id), 0);
	h = (struct ps_hdr){ .cmd = PS_DATA, .id = 1, .off = IMG_PAGES_DATA_OFF, .len = len };
	if (!err)
		err = ps_send(sk, &h, page, len, 0);
	ps_sum_pack(len, crc, sum);
	h = (struct ps_hdr){ .cmd = PS_SUMS, .id = 1, .off = IMG_PAGES_DATA_OFF, .len = sizeof(sum), .count = 1 };
	if (!err)
		err = ps_send(sk, &h, sum, sizeof(sum), 0);
	if (err || !commit)
		return err;
	h = (struct ps_hdr){ .cmd = PS_COMMIT, .id = 1, .off = IMG_PAGES_DATA_OFF + len };
	err = ps_send(sk, &h, NULL, 0, 0);
	if (!err)
		err = ps_recv_all(sk, ack, sizeof(ack));
	h = (struct ps_hdr){ .cmd = PS_CLOSE, .id = 1 };
	return err ? err : ps_send(sk, &h, NULL, 0, 0);
}

static void test_server_commit(void)
{
	unsigned char page[8192];
	struct img *img = NULL;
	uint64_t end = 0;
	pid_t pid;
	int sk;

	tmp_setup();
	CU_ASSERT_EQUAL(img_dump_id_new(), 0);
	memset(page, 0x5a, sizeof(page));
	pid = start_server(&sk);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(send_image(sk, page, sizeof(page), crc32c(0, page, sizeof(page)), true), 0);
	close(sk);
	CU_ASSERT_EQUAL(server_status(pid), 0);
	CU_ASSERT_EQUAL(img_open(tmp_dfd, IMG_PAGES, 1, O_RDONLY, &img), 0);
	if (img) {
		CU_ASSERT_EQUAL(img_raw_data_end(img->fd, img->name, &end), 0);
		CU_ASSERT_EQUAL(end, IMG_PAGES_DATA_OFF + sizeof(page));
		img_close(img);
	}
	img_dump_id_forget();
	tmp_teardown();
}

static void test_server_refuses(void)
{
	unsigned char page[4096] = { 1 };
	pid_t pid;
	int sk;

	tmp_setup();
	CU_ASSERT_EQUAL(img_dump_id_new(), 0);
	/* a checksum that does not match: the server gives up at once */
	pid = start_server(&sk);
	CU_ASSERT_FATAL(pid > 0);
	send_image(sk, page, sizeof(page), crc32c(0, page, sizeof(page)) ^ 1, true);
	close(sk);
	CU_ASSERT_EQUAL(server_status(pid), 1);
	CU_ASSERT(faccessat(tmp_dfd, "pages-1.img", F_OK, 0) && errno == ENOENT);
	/* the connection ends before COMMIT */
	pid = start_server(&sk);
	CU_ASSERT_FATAL(pid > 0);
	send_image(sk, page, sizeof(page), crc32c(0, page, sizeof(page)), false);
	close(sk);
	CU_ASSERT_EQUAL(server_status(pid), 1);
	CU_ASSERT(faccessat(tmp_dfd, "pages-1.img", F_OK, 0) && errno == ENOENT);
	img_dump_id_forget();
	tmp_teardown();
}

/* ---- the lazy page source ---------------------------------------------------- */

#define LZ_IMAGE_SIZE	(3 * 4096)

static int start_ok(void *arg)
{
	(void)arg;
	return 0;
}

static int start_refused(void *arg)
{
	(void)arg;
	return -EIO;
}

/*
 * A lazy source of a made-up image in a child, listening on an abstract
 * unix socket; our connection to it in *@ret_sk. The child exits 0 when
 * served, 1 when it failed before a start, 2 after one.
 */
static pid_t start_source(lazy_serve_start_fn start, int *ret_sk)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct cr_options o = { .images_dir = "." };
	socklen_t len;
	int lsk, sk;
	pid_t pid;

	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "cr-unit-lazy-%d", getpid());
	len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sa.sun_path + 1);
	lsk = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lsk < 0 || bind(lsk, (struct sockaddr *)&sa, len) || listen(lsk, 1))
		return -1;
	pid = fork();
	if (pid == 0) {
		unsigned char buf[LZ_IMAGE_SIZE];
		int fd = memfd_create("lz-image", MFD_CLOEXEC), err;
		bool started = false;

		for (unsigned i = 0; i < sizeof(buf); i++)
			buf[i] = i * 7;
		err = fd < 0 || write(fd, buf, sizeof(buf)) != sizeof(buf) ? -EIO
									      : lazy_serve(&o, lsk, fd, 1, start, NULL, &started);
		_exit(err ? started ? 2 : 1 : 0);
	}
	sk = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sk < 0 || connect(sk, (struct sockaddr *)&sa, len))
		return -1;
	close(lsk);
	*ret_sk = sk;
	return pid;
}

/* @h, then the answer's header into *@ret. 0 or -errno. */
static int ask(int sk, const struct ps_hdr *h, struct ps_hdr *ret)
{
	unsigned char buf[PS_HDR_SIZE];
	int err = ps_send(sk, h, NULL, 0, 0);

	if (!err)
		err = ps_recv_all(sk, buf, sizeof(buf));
	return err ? err : ps_hdr_unpack(buf, "test", ret);
}

static void test_lazy_source_serves(void)
{
	struct ps_hdr a;
	unsigned char got[100];
	pid_t pid;
	int sk = -1;

	pid = start_source(start_ok, &sk);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(ask(sk, &(struct ps_hdr){ .cmd = PS_LZ_OPEN, .id = 1 }, &a), 0);
	CU_ASSERT(a.cmd == PS_ACK && a.count == 0 && a.len == LZ_IMAGE_SIZE);
	CU_ASSERT_EQUAL(ask(sk, &(struct ps_hdr){ .cmd = PS_LZ_GET, .id = 1, .off = 5000, .len = sizeof(got) }, &a), 0);
	CU_ASSERT(a.cmd == PS_DATA && a.off == 5000 && a.len == sizeof(got));
	CU_ASSERT_EQUAL(ps_recv_all(sk, got, sizeof(got)), 0);
	CU_ASSERT(got[0] == (unsigned char)(5000 * 7) && got[99] == (unsigned char)(5099 * 7));
	CU_ASSERT_EQUAL(ask(sk, &(struct ps_hdr){ .cmd = PS_LZ_START, .id = 1 }, &a), 0);
	CU_ASSERT(a.cmd == PS_ACK && a.count == 0);
	CU_ASSERT_EQUAL(ask(sk, &(struct ps_hdr){ .cmd = PS_LZ_DONE, .id = 1 }, &a), 0);
	CU_ASSERT(a.cmd == PS_ACK && a.count == 0);
	close(sk);
	CU_ASSERT_EQUAL(server_status(pid), 0);
}

static void test_lazy_source_refuses(void)
{
	struct ps_hdr a;
	pid_t pid;
	int sk = -1;

	/* bytes before the image is open, past its end; "done" before "start" ends it */
	pid = start_source(start_ok, &sk);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(ask(sk, &(struct ps_hdr){ .cmd = PS_LZ_GET, .id = 1, .off = 0, .len = 10 }, &a), 0);
	CU_ASSERT(a.cmd == PS_ACK && a.count == EINVAL);
	CU_ASSERT_EQUAL(ask(sk, &(struct ps_hdr){ .cmd = PS_LZ_OPEN, .id = 1 }, &a), 0);
	CU_ASSERT_EQUAL(ask(sk, &(struct ps_hdr){ .cmd = PS_LZ_GET, .id = 1, .off = LZ_IMAGE_SIZE - 10,
						  .len = 11 }, &a), 0);
	CU_ASSERT(a.cmd == PS_ACK && a.count == EINVAL);
	CU_ASSERT_EQUAL(ps_send(sk, &(struct ps_hdr){ .cmd = PS_LZ_DONE, .id = 1 }, NULL, 0, 0), 0);
	CU_ASSERT_EQUAL(server_status(pid), 1);
	close(sk);
	/* another image */
	pid = start_source(start_ok, &sk);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(ask(sk, &(struct ps_hdr){ .cmd = PS_LZ_OPEN, .id = 2 }, &a), 0);
	CU_ASSERT(a.cmd == PS_ACK && a.count == ENOENT);
	CU_ASSERT_EQUAL(server_status(pid), 1);
	close(sk);
	/* a start the dump refuses: said so, nothing started */
	pid = start_source(start_refused, &sk);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(ask(sk, &(struct ps_hdr){ .cmd = PS_LZ_OPEN, .id = 1 }, &a), 0);
	CU_ASSERT_EQUAL(ask(sk, &(struct ps_hdr){ .cmd = PS_LZ_START, .id = 1 }, &a), 0);
	CU_ASSERT(a.cmd == PS_ACK && a.count == EIO);
	CU_ASSERT_EQUAL(server_status(pid), 1);
	close(sk);
	/* the destination gone after the start */
	pid = start_source(start_ok, &sk);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(ask(sk, &(struct ps_hdr){ .cmd = PS_LZ_OPEN, .id = 1 }, &a), 0);
	CU_ASSERT_EQUAL(ask(sk, &(struct ps_hdr){ .cmd = PS_LZ_START, .id = 1 }, &a), 0);
	close(sk);
	CU_ASSERT_EQUAL(server_status(pid), 2);
}

int unit_register_page_wire(void)
{
	CU_pSuite s = CU_add_suite("page-wire", NULL, NULL);

	if (!s ||
	    !CU_add_test(s, "header and sums round trip", test_hdr_round_trip) ||
	    !CU_add_test(s, "bad checksum, magic, command: refused", test_hdr_refused) ||
	    !CU_add_test(s, "server: a whole image is linked in", test_server_commit) ||
	    !CU_add_test(s, "server: bad run, early end: nothing left", test_server_refuses) ||
	    !CU_add_test(s, "lazy source: the bytes asked for", test_lazy_source_serves) ||
	    !CU_add_test(s, "lazy source: what it refuses", test_lazy_source_refuses))
		return CU_get_error();
	return 0;
}
