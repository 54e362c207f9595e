/*
 * files.c: dump the fds of a forked child into images in a temp dir,
 * restore them in another forked child and compare fdinfo; check the
 * refusal messages and the restore-time checks.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/fanotify.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "files.h"
#include "image.h"
#include "log.h"

int unit_register_files(void);

/* Restored fds live below this; the restoring child keeps its own above. */
#define KEEP_FROM	64

static char base[64];

static int saved_level;
static void quiet_begin(void)
{
	saved_level = log_get_level();
	log_set_level(LOG_MSG);
	log_clear_last_error();
}
static void quiet_end(void) { log_set_level(saved_level); }

static void path_of(char *buf, size_t sz, const char *name)
{
	snprintf(buf, sz, "%s/%s", base, name);
}

static void write_file(const char *name, const char *content)
{
	char p[256];
	_cleanup_fclose_ FILE *f = NULL;

	path_of(p, sizeof(p), name);
	f = fopen(p, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs(content, f);
}

/* In a child: open @path at fd @target with @flags and seek to @pos, or _exit. */
static void child_open(int target, const char *path, int flags, off_t pos)
{
	int fd = open(path, flags, 0600);

	if (fd < 0 || lseek(fd, pos, SEEK_SET) < 0)
		_exit(10);
	if (fd != target) {
		if (dup3(fd, target, flags & O_CLOEXEC) < 0)
			_exit(11);
		close(fd);
	}
}

typedef void (*setup_fn)(void);

/*
 * Forks a child with only the fds @setup opens (0-2 point to /dev/null),
 * and returns its pid once they are open.
 */
static pid_t spawn(setup_fn setup)
{
	int p[2];
	char c;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		int ready = fcntl(p[1], F_DUPFD_CLOEXEC, 1000);

		if (ready < 0 || close_range(3, 999, 0) < 0)
			_exit(9);
		child_open(0, "/dev/null", O_RDONLY, 0);
		child_open(1, "/dev/null", O_WRONLY, 0);
		child_open(2, "/dev/null", O_WRONLY, 0);
		setup();
		/* Closing the pipe (EOF) is the signal: no stray fd remains. */
		close(ready);
		for (;;)
			pause();
	}
	close(p[1]);
	while (read(p[0], &c, 1) > 0)
		;
	close(p[0]);
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int dump_to(pid_t pid, const char *name)
{
	_cleanup_close_ int dfd = -EBADF;
	struct files_dump *df = NULL;
	struct img *fdinfo = NULL;
	char dir[256];
	int ret, r1, r2;

	path_of(dir, sizeof(dir), name);
	if (mkdir(dir, 0700) < 0)
		return -errno;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;

	ret = files_dump_begin(dfd, NULL, NULL, &df);
	if (!ret)
		ret = img_open(dfd, IMG_FDINFO, pid, O_WRONLY, &fdinfo);
	if (!ret)
		ret = files_dump(df, pid, fdinfo);
	r1 = df && !ret ? files_dump_finish(df) : 0;
	r2 = img_close(fdinfo);
	files_dump_free(df);
	return ret ? ret : r1 ? r1 : r2;
}

static int read_fdinfo(pid_t pid, int fd, char *buf, size_t sz)
{
	char p[64];
	_cleanup_close_ int f = -EBADF;
	ssize_t n;

	snprintf(p, sizeof(p), "/proc/%d/fdinfo/%d", pid, fd);
	f = open(p, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -errno;
	n = read(f, buf, sz - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

/* ---- round trip ----------------------------------------------------------- */

static void setup_round_trip(void)
{
	char p[256];

	path_of(p, sizeof(p), "a.txt");
	child_open(3, p, O_RDWR, 5);
	child_open(7, p, O_RDONLY | O_CLOEXEC | O_NOATIME, 2);
	path_of(p, sizeof(p), "b.txt");
	child_open(4, p, O_WRONLY | O_APPEND, 3);
	child_open(5, base, O_RDONLY | O_DIRECTORY, 0);
	child_open(9, "/dev/zero", O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
	child_open(11, "/dev/urandom", O_RDONLY, 0);
}

static const int round_trip_fds[] = { 0, 1, 2, 3, 4, 5, 7, 9, 11 };

/*
 * Runs in a forked child: restores the plan and compares every fd's
 * fdinfo (pos, flags incl. O_CLOEXEC, mnt_id, ino) with the original's.
 * Exits 0 when all match.
 */
static void __attribute__((noreturn)) restore_and_compare(const char *dir, pid_t orig)
{
	struct files_plan *plan = NULL;
	struct files_rst *rf = NULL;
	int dfd, bad = 0;

	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0 || dup3(dfd, KEEP_FROM + 1, O_CLOEXEC) < 0)
		_exit(20);
	close(dfd);
	dfd = KEEP_FROM + 1;
	/* Junk in a gap: the restore must close it. */
	if (dup2(dfd, 20) < 0)
		_exit(21);
	if (files_rst_read(dfd, NULL, NULL, &rf) < 0 || files_prepare(rf, orig, &plan) < 0)
		_exit(22);
	if (files_max_fd(plan) != 11)
		_exit(23);
	if (files_open_all(rf, KEEP_FROM, false) < 0 || files_restore(plan, rf) < 0)
		_exit(24);
	files_plan_free(plan);

	for (size_t i = 0; i < sizeof(round_trip_fds) / sizeof(round_trip_fds[0]); i++) {
		char a[512], b[512];

		if (read_fdinfo(orig, round_trip_fds[i], a, sizeof(a)) ||
		    read_fdinfo(getpid(), round_trip_fds[i], b, sizeof(b)) || strcmp(a, b))
			bad++;
	}
	if (fcntl(20, F_GETFD) != -1 || fcntl(6, F_GETFD) != -1)
		bad++;
	_exit(bad ? 30 : 0);
}

static void test_round_trip(void)
{
	char dir[256];
	pid_t pid, r;
	int st;

	write_file("a.txt", "0123456789");
	write_file("b.txt", "bbbbbbb");
	pid = spawn(setup_round_trip);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT(dump_to(pid, "img-rt") == 0);

	path_of(dir, sizeof(dir), "img-rt");
	r = fork();
	if (r == 0)
		restore_and_compare(dir, pid);
	CU_ASSERT(waitpid(r, &st, 0) == r);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	reap(pid);
}

/* ---- refusals ------------------------------------------------------------- */

/* A pidfd of the unit test itself: a process outside the dumped tree. */
static void setup_pidfd(void)
{
	if (syscall(SYS_pidfd_open, getppid(), 0) < 0)
		_exit(12);
}

/* fd 3: a file renamed over since it was opened, with a second hard link left (no --link-remap). */
static void setup_renamed_over(void)
{
	char a[256], b[256], c[256];

	path_of(a, sizeof(a), "over.txt");
	path_of(b, sizeof(b), "over.link");
	path_of(c, sizeof(c), "over.new");
	if (open(a, O_RDWR | O_CREAT, 0600) != 3 || link(a, b) < 0 ||
	    close(open(c, O_RDWR | O_CREAT, 0600)) < 0 || rename(c, a) < 0)
		_exit(12);
}

/* fd 4 (the receiving end of a socketpair) holds an fd in flight. */
static void setup_scm_rights(void)
{
	int sv[2], fd;
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { "x", 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || sv[0] != 3)
		_exit(12);
	fd = open("/dev/null", O_RDONLY);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (fd < 0 || sendmsg(sv[0], &mh, 0) != 1 || close(fd) < 0)
		_exit(13);
}

/* An abstract listener in the test process, outside the dumped child. */
static struct sockaddr_un outside_addr;
static socklen_t outside_len;

static void setup_connect_outside(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd != 3 || connect(fd, (struct sockaddr *)&outside_addr, outside_len) < 0)
		_exit(12);
}

static int outside_listener(void)
{
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&outside_addr, 0, sizeof(outside_addr));
	outside_addr.sun_family = AF_UNIX;
	outside_len = offsetof(struct sockaddr_un, sun_path) + 1 +
		      snprintf(outside_addr.sun_path + 1, sizeof(outside_addr.sun_path) - 1,
			       "cr-unit-%d", getpid());
	if (l < 0 || bind(l, (struct sockaddr *)&outside_addr, outside_len) < 0 || listen(l, 4) < 0) {
		if (l >= 0)
			close(l);
		return -1;
	}
	return l;
}

/* A fanotify group with a permission mark on a file of its own. */
static void setup_fanotify(void)
{
	char p[256];
	int fd;

	path_of(p, sizeof(p), "fan-perm.txt");
	fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0 || close(fd) || syscall(SYS_fanotify_init, FAN_CLASS_CONTENT, O_RDONLY) != 3 ||
	    syscall(SYS_fanotify_mark, 3, FAN_MARK_ADD, FAN_OPEN_PERM, AT_FDCWD, p))
		_exit(12);
}

static void setup_packet_pipe(void)
{
	int p[2];

	if (pipe2(p, O_DIRECT) < 0 || p[0] != 3)
		_exit(12);
}

/* An epoll whose only watch is an eventfd held by a process outside the dump. */
static void setup_epoll_orphan(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int e = eventfd(0, 0), ep = epoll_create1(0);
	pid_t keeper;

	if (e != 3 || ep != 4 || epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev) < 0)
		_exit(12);
	keeper = fork();
	if (keeper < 0)
		_exit(12);
	if (keeper == 0) {
		/* Keep the eventfd only: spawn()'s ready pipe must see EOF. */
		close_range(4, ~0U, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	close(e);
}

static void expect_refusal(const char *img, setup_fn setup, const char *needle)
{
	pid_t pid = spawn(setup);
	const char *msg;
	int ret;

	CU_ASSERT_FATAL(pid > 0);
	quiet_begin();
	ret = dump_to(pid, img);
	quiet_end();
	msg = log_last_error();
	CU_ASSERT(ret == -ENOTSUP);
	CU_ASSERT(msg && strstr(msg, needle) && strstr(msg, "which cr cannot dump"));
	reap(pid);
}

static void test_refuse_pidfd(void)
{
	expect_refusal("img-pidfd", setup_pidfd, "fd 3 is a pidfd");
	CU_ASSERT(strstr(log_last_error(), "is not in the dumped tree") != NULL);
}
static void test_refuse_renamed_over(void)
{
	expect_refusal("img-over", setup_renamed_over, "fd 3 is a file");
	CU_ASSERT(strstr(log_last_error(), "--link-remap keeps it") != NULL);
}
/* A file in flight (SCM_RIGHTS) that no task holds is dumped, as an entry of its own. */
static void test_scm_rights_dumped(void)
{
	pid_t pid = spawn(setup_scm_rights);
	int ret;

	CU_ASSERT_FATAL(pid > 0);
	quiet_begin();
	ret = dump_to(pid, "img-scm");
	quiet_end();
	CU_ASSERT(ret == 0);
	reap(pid);
}

static void test_refuse_pending(void)
{
	int l = outside_listener();

	CU_ASSERT_FATAL(l >= 0);
	expect_refusal("img-pending", setup_connect_outside, "its connection was not accepted yet");
	close(l);
}

static void test_refuse_peer_outside(void)
{
	int l = outside_listener();
	pid_t pid;
	int a, ret;

	CU_ASSERT_FATAL(l >= 0);
	pid = spawn(setup_connect_outside);
	CU_ASSERT_FATAL(pid > 0);
	a = accept(l, NULL, NULL);
	CU_ASSERT(a >= 0);
	quiet_begin();
	ret = dump_to(pid, "img-outside");
	quiet_end();
	CU_ASSERT(ret == -ENOTSUP);
	CU_ASSERT(log_last_error() && strstr(log_last_error(), "fd 3 is a unix socket") &&
		  strstr(log_last_error(), "outside the dumped tree"));
	reap(pid);
	close(a);
	close(l);
}

static void test_refuse_fanotify(void) { expect_refusal("img-fan", setup_fanotify, "fd 3 is a fanotify group (anon_inode:[fanotify]), which cr cannot dump: a mark with permission events"); }
static void test_refuse_packet_pipe(void) { expect_refusal("img-ppipe", setup_packet_pipe, "packet mode (O_DIRECT)"); }
static void test_refuse_epoll_orphan(void) { expect_refusal("img-eporph", setup_epoll_orphan, "no process of the tree has open"); }

/* ---- restore-time checks -------------------------------------------------- */

static void setup_size(void)
{
	char p[256];

	path_of(p, sizeof(p), "size.txt");
	child_open(3, p, O_RDONLY, 0);
}

static void test_size_changed(void)
{
	_cleanup_close_ int dfd = -EBADF;
	struct files_rst *rf = NULL;
	char dir[256];
	pid_t pid;
	int ret;

	write_file("size.txt", "12345");
	pid = spawn(setup_size);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_FATAL(dump_to(pid, "img-size") == 0);
	reap(pid);

	path_of(dir, sizeof(dir), "img-size");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CU_ASSERT_FATAL(dfd >= 0);
	CU_ASSERT(files_rst_read(dfd, NULL, NULL, &rf) == 0);
	files_rst_free(rf, false);
	rf = NULL;

	write_file("size.txt", "1234567");
	quiet_begin();
	ret = files_rst_read(dfd, NULL, NULL, &rf);
	quiet_end();
	CU_ASSERT(ret < 0);
	CU_ASSERT(rf == NULL);
	CU_ASSERT(log_last_error() &&
		  strstr(log_last_error(), "size.txt changed size since dump (was 5 bytes, now 7)"));
}

static int suite_init(void)
{
	strcpy(base, "/tmp/cr-unit-files.XXXXXX");
	return mkdtemp(base) ? 0 : -1;
}

static int suite_clean(void)
{
	char cmd[128];

	/* Test scratch only: a leftover dir is harmless, so the result is ignored. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	(void)!system(cmd);
	return 0;
}

/* fd 3: a datagram socket bound to base/sock.path. */
static void setup_bound(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	path_of(sa.sun_path, sizeof(sa.sun_path), "sock.path");
	if (fd != 3 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		_exit(12);
}

/* A stale socket file at a bound path may be replaced; a regular file may not. */
static void test_socket_path_taken(void)
{
	_cleanup_close_ int dfd = -EBADF;
	struct files_rst *rf = NULL;
	char dir[256], p[256];
	pid_t pid;
	int ret;

	path_of(p, sizeof(p), "sock.path");
	unlink(p);
	pid = spawn(setup_bound);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_FATAL(dump_to(pid, "img-sock") == 0);
	reap(pid);

	path_of(dir, sizeof(dir), "img-sock");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CU_ASSERT_FATAL(dfd >= 0);
	CU_ASSERT(files_rst_read(dfd, NULL, NULL, &rf) == 0);	/* the dead socket's file is there */
	files_rst_free(rf, false);
	rf = NULL;

	CU_ASSERT_FATAL(unlink(p) == 0);
	write_file("sock.path", "not a socket");
	quiet_begin();
	ret = files_rst_read(dfd, NULL, NULL, &rf);
	quiet_end();
	CU_ASSERT(ret < 0);
	CU_ASSERT(rf == NULL);
	CU_ASSERT(log_last_error() && strstr(log_last_error(), "sock.path") &&
		  strstr(log_last_error(), "is not a socket"));
	unlink(p);
}

int unit_register_files(void)
{
	CU_pSuite s = CU_add_suite("files", suite_init, suite_clean);

	if (!s ||
	    !CU_add_test(s, "dump+restore round trip", test_round_trip) ||
	    !CU_add_test(s, "refuse a pidfd of a process outside the tree", test_refuse_pidfd) ||
	    !CU_add_test(s, "refuse a file renamed over without --link-remap", test_refuse_renamed_over) ||
	    !CU_add_test(s, "dump SCM_RIGHTS in flight", test_scm_rights_dumped) ||
	    !CU_add_test(s, "refuse a connection not accepted yet", test_refuse_pending) ||
	    !CU_add_test(s, "refuse a peer outside the tree", test_refuse_peer_outside) ||
	    !CU_add_test(s, "size changed since dump", test_size_changed) ||
	    !CU_add_test(s, "refuse fanotify permission events", test_refuse_fanotify) ||
	    !CU_add_test(s, "refuse a packet-mode pipe", test_refuse_packet_pipe) ||
	    !CU_add_test(s, "refuse an epoll watching a file outside the tree", test_refuse_epoll_orphan) ||
	    !CU_add_test(s, "a bound socket's path taken by a regular file", test_socket_path_taken))
		return CU_get_error();
	return 0;
}
