/*
 * Unix sockets whose bound path no longer leads to them.
 *   A	a datagram socket bound to the relative name A_NAME, a message
 *	queued to it; then its file is removed and a regular file made at
 *	A_NAME (replaced), with known content and times;
 *   L	a stream listener bound to an absolute name in the directory
 *	L_DIR, with one connection accepted (C is the client, S the
 *	accepted end); then its file and L_DIR are removed (deleted, its
 *	directory too);
 *   D	a datagram socket bound to D_NAME, and E a datagram socket
 *	connected to it by name; then D's file is removed and F, another
 *	socket of the test, is bound to D_NAME (replaced by a socket file);
 *   B	a datagram socket bound to B_NAME whose file still is its own,
 *	with owner, mode and times set (cr binds it again: a new file).
 *
 * After restore: every socket has the name getsockname() gave before;
 * A_NAME is still the same regular file (inode, content, mtime, ctime);
 * L_DIR does not exist; A receives its queued message; C and S still talk;
 * E still sends to D (not to F), and a new socket connecting to D_NAME
 * reaches F; B_NAME has the owner, mode, mtime and atime it had.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "zdtm.h"

#define A_NAME	"zdtm_unix_hidden.a"
#define L_DIR	"zdtm_unix_hidden.dir"
#define D_NAME	"zdtm_unix_hidden.d"
#define B_NAME	"zdtm_unix_hidden.b"
#define MSG_A	"queued for A"
#define CONTENT	"the file that replaced A's"

enum { A, L, C, S, D, E, F, B, NR };

static int sk[NR];
static struct sockaddr_un names[NR];
static socklen_t lens[NR];
static struct stat a_file, b_file;

static socklen_t addr_of(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	snprintf(sa->sun_path, sizeof(sa->sun_path), "%s", path);
	return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

static int bound(int type, const char *path)
{
	struct sockaddr_un sa;
	socklen_t len = addr_of(path, &sa);
	int fd = socket(AF_UNIX, type, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len))
		fail_errno("bind %s", path);
	return fd;
}

static void connect_to(int fd, const char *path)
{
	struct sockaddr_un sa;
	socklen_t len = addr_of(path, &sa);

	if (connect(fd, (struct sockaddr *)&sa, len))
		fail_errno("connect to %s", path);
}

static void check_names(void)
{
	for (int i = 0; i < NR; i++) {
		struct sockaddr_un sa;
		socklen_t len = sizeof(sa);

		if (getsockname(sk[i], (struct sockaddr *)&sa, &len))
			fail_errno("getsockname %d", i);
		if (len != lens[i] || memcmp(&sa, &names[i], len))
			fail("socket %d: getsockname '%s' (%u), expected '%s' (%u)", i, sa.sun_path, len,
			     names[i].sun_path, lens[i]);
	}
}

static void expect(int fd, const char *what, const char *want)
{
	char buf[64] = "";
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	if (n != (ssize_t)strlen(want) || memcmp(buf, want, n))
		fail("%s: received '%.*s' (%zd), expected '%s'", what, (int)(n > 0 ? n : 0), buf, n, want);
}

int main(int argc, char **argv)
{
	char cwd[PATH_MAX - 64], lpath[PATH_MAX], buf[64];
	struct stat st;
	int fd, probe;

	test_init(argc, argv);
	if (!getcwd(cwd, sizeof(cwd)))
		fail_errno("getcwd");

	sk[A] = bound(SOCK_DGRAM, A_NAME);
	probe = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (probe < 0)
		fail_errno("socket");
	connect_to(probe, A_NAME);
	if (send(probe, MSG_A, strlen(MSG_A), 0) != (ssize_t)strlen(MSG_A))
		fail_errno("send to A");
	close(probe);
	if (unlink(A_NAME))
		fail_errno("unlink %s", A_NAME);
	fd = open(A_NAME, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		fail_errno("create %s", A_NAME);
	write_full(fd, CONTENT, strlen(CONTENT));
	close(fd);
	if (utimensat(AT_FDCWD, A_NAME, (struct timespec[2]){ { 1000, 1 }, { 2000, 2 } }, 0) ||
	    stat(A_NAME, &a_file))
		fail_errno("times of %s", A_NAME);

	if (mkdir(L_DIR, 0755))
		fail_errno("mkdir %s", L_DIR);
	snprintf(lpath, sizeof(lpath), "%s/%s/l.sock", cwd, L_DIR);
	if (strlen(lpath) >= sizeof(names[0].sun_path))
		fail("work dir path too long for a socket name: %s", lpath);
	sk[L] = bound(SOCK_STREAM, lpath);
	if (listen(sk[L], 4))
		fail_errno("listen");
	sk[C] = socket(AF_UNIX, SOCK_STREAM, 0);
	connect_to(sk[C], lpath);
	sk[S] = accept(sk[L], NULL, NULL);
	if (sk[S] < 0)
		fail_errno("accept");
	if (unlink(lpath) || rmdir(L_DIR))
		fail_errno("removing %s", L_DIR);

	sk[D] = bound(SOCK_DGRAM, D_NAME);
	sk[E] = socket(AF_UNIX, SOCK_DGRAM, 0);
	connect_to(sk[E], D_NAME);
	if (unlink(D_NAME))
		fail_errno("unlink %s", D_NAME);
	sk[F] = bound(SOCK_DGRAM, D_NAME);

	sk[B] = bound(SOCK_DGRAM, B_NAME);
	if (chown(B_NAME, 1111, 2222) || chmod(B_NAME, 0640) ||
	    utimensat(AT_FDCWD, B_NAME, (struct timespec[2]){ { 3000, 3 }, { 4000, 4 } }, 0) ||
	    lstat(B_NAME, &b_file))
		fail_errno("attributes of %s", B_NAME);

	for (int i = 0; i < NR; i++) {
		lens[i] = sizeof(names[i]);
		if (getsockname(sk[i], (struct sockaddr *)&names[i], &lens[i]))
			fail_errno("getsockname %d", i);
	}

	test_ready();
	test_wait_checkpoint();

	check_names();
	if (stat(A_NAME, &st))
		fail_errno("stat %s", A_NAME);
	if (st.st_ino != a_file.st_ino || !S_ISREG(st.st_mode) || st.st_size != (off_t)strlen(CONTENT) ||
	    st.st_mtim.tv_sec != a_file.st_mtim.tv_sec || st.st_ctim.tv_sec != a_file.st_ctim.tv_sec ||
	    st.st_ctim.tv_nsec != a_file.st_ctim.tv_nsec)
		fail("%s: the file that replaced A's socket file was touched", A_NAME);
	fd = open(A_NAME, O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf)) != (ssize_t)strlen(CONTENT) || memcmp(buf, CONTENT, strlen(CONTENT)))
		fail("%s: its content changed", A_NAME);
	close(fd);
	if (access(L_DIR, F_OK) == 0 || errno != ENOENT)
		fail("%s exists after restore", L_DIR);
	expect(sk[A], "A", MSG_A);

	if (send(sk[C], "c2s", 3, 0) != 3 || send(sk[S], "s2c", 3, 0) != 3)
		fail_errno("send between C and S");
	expect(sk[S], "S", "c2s");
	expect(sk[C], "C", "s2c");

	if (send(sk[E], "e2d", 3, 0) != 3)
		fail_errno("send from E");
	expect(sk[D], "D", "e2d");
	probe = socket(AF_UNIX, SOCK_DGRAM, 0);
	connect_to(probe, D_NAME);
	if (send(probe, "to-f", 4, 0) != 4)
		fail_errno("send to %s", D_NAME);
	expect(sk[F], "F", "to-f");
	if (recv(sk[D], buf, sizeof(buf), MSG_DONTWAIT) != -1 || errno != EAGAIN)
		fail("D got what was sent to %s, F's name now", D_NAME);
	if (lstat(B_NAME, &st))
		fail_errno("lstat %s", B_NAME);
	if (st.st_mode != b_file.st_mode || st.st_uid != b_file.st_uid || st.st_gid != b_file.st_gid ||
	    st.st_mtim.tv_sec != b_file.st_mtim.tv_sec || st.st_mtim.tv_nsec != b_file.st_mtim.tv_nsec ||
	    st.st_atim.tv_sec != b_file.st_atim.tv_sec || st.st_atim.tv_nsec != b_file.st_atim.tv_nsec)
		fail("%s: mode %#o owner %u:%u mtime %ld atime %ld, expected %#o %u:%u %ld %ld", B_NAME,
		     st.st_mode, st.st_uid, st.st_gid, (long)st.st_mtim.tv_sec, (long)st.st_atim.tv_sec,
		     b_file.st_mode, b_file.st_uid, b_file.st_gid, (long)b_file.st_mtim.tv_sec,
		     (long)b_file.st_atim.tv_sec);
	pass();
}
