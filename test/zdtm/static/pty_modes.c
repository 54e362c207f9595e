/*
 * pty pairs in states a new pair does not have by itself:
 *
 *   A  the slave (held at SLAVE_FD) chmod'ed to 0604 and chown'ed to
 *      OWNER_UID:OWNER_GID: after restore the slave fd and the new
 *      /dev/pts/N node of the master have that mode and owner;
 *   B  master only, its slave opened and closed;
 *   C  master only, its slave never opened.
 *
 * For B and C a non-blocking read of the master gives after restore what
 * it gave before (EIO once the slave side is closed, else EAGAIN).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

#define SLAVE_FD	10
#define SLAVE_MODE	0604
#define OWNER_UID	1234
#define OWNER_GID	5678

static int new_master(void)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);

	if (m < 0 || unlockpt(m))
		fail_errno("posix_openpt");
	return m;
}

/* The errno of a non-blocking read of master @m (0: it read something). */
static int read_errno(int m)
{
	char c;

	return read(m, &c, 1) < 0 ? errno : 0;
}

static void check_node(const struct stat *st, const char *what)
{
	if ((st->st_mode & 07777) != SLAVE_MODE || st->st_uid != OWNER_UID || st->st_gid != OWNER_GID)
		fail("%s: mode %o owner %d:%d, expected %o %d:%d", what, st->st_mode & 07777,
		     st->st_uid, st->st_gid, SLAVE_MODE, OWNER_UID, OWNER_GID);
}

int main(int argc, char **argv)
{
	int a, b, c, s, eb, ec;
	struct stat st;

	test_init(argc, argv);
	a = new_master();
	s = open(ptsname(a), O_RDWR | O_NOCTTY);
	if (s < 0 || dup2(s, SLAVE_FD) != SLAVE_FD)
		fail_errno("open slave");
	close(s);
	if (fchmod(SLAVE_FD, SLAVE_MODE) || fchown(SLAVE_FD, OWNER_UID, OWNER_GID))
		fail_errno("chmod/chown the slave");

	b = new_master();
	s = open(ptsname(b), O_RDWR | O_NOCTTY);
	if (s < 0)
		fail_errno("open slave B");
	close(s);
	c = new_master();
	eb = read_errno(b);
	ec = read_errno(c);
	test_msg("before: master B reads %s, master C %s\n", strerror(eb), strerror(ec));

	test_ready();
	test_wait_checkpoint();

	if (fstat(SLAVE_FD, &st))
		fail_errno("fstat slave");
	check_node(&st, "the slave fd");
	if (stat(ptsname(a), &st))
		fail_errno("stat %s", ptsname(a));
	check_node(&st, ptsname(a));
	if (read_errno(b) != eb)
		fail("master B (slave closed) reads %s, before: %s", strerror(read_errno(b)), strerror(eb));
	if (read_errno(c) != ec)
		fail("master C (slave never opened) reads %s, before: %s", strerror(read_errno(c)), strerror(ec));
	pass();
}
