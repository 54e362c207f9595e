/*
 * File locks held by a process: flock(LOCK_EX) on FILE_FLOCK, POSIX record
 * locks on FILE_POSIX (write lock on bytes 10..19, read lock on 100..199)
 * and an OFD write lock on bytes 0..49 of FILE_OFD. A child forked before
 * any of it holds no lock and no fd of these files.
 *
 * After restore the child opens the files anew and sees exactly these
 * locks (type, range, owner pid for the POSIX ones, no more, no less).
 * Then the parent shows they are its own: it unlocks the flock and the OFD
 * lock, upgrades the read lock to a write lock and drops the write lock on
 * 10..19, and the child sees each change.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include "zdtm.h"

#define FILE_FLOCK	"zdtm_file_locks.flock"
#define FILE_POSIX	"zdtm_file_locks.posix"
#define FILE_OFD	"zdtm_file_locks.ofd"
#define WR_START	10
#define WR_LEN		10
#define RD_START	100
#define RD_LEN		100
#define OFD_START	0
#define OFD_LEN		50
#define TO_EOF		0	/* l_len 0: up to the end of file and beyond */

static void set_lock(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET,
			    .l_start = start, .l_len = len };

	if (fcntl(fd, cmd, &fl))
		fail_errno("fcntl(%s) type %d on %ld+%ld",
			   cmd == F_SETLK ? "F_SETLK" : "F_OFD_SETLK", type,
			   (long)start, (long)len);
}

/*
 * Ask (F_GETLK or F_OFD_GETLK) whether a QTYPE lock on START+LEN would
 * conflict; expect WANT_TYPE back and, unless that is F_UNLCK, the range and
 * pid of the lock in the way (-1 for an OFD lock).
 */
static void expect_lock(int fd, int cmd, short qtype, off_t start, off_t len,
			short want_type, off_t want_start, off_t want_len, pid_t want_pid)
{
	struct flock fl = { .l_type = qtype, .l_whence = SEEK_SET,
			    .l_start = start, .l_len = len };
	const char *what = cmd == F_GETLK ? "F_GETLK" : "F_OFD_GETLK";

	if (fcntl(fd, cmd, &fl))
		fail_errno("%s type %d on %ld+%ld", what, qtype, (long)start, (long)len);
	if (fl.l_type != want_type)
		fail("%s type %d on %ld+%ld: got type %d, expected %d", what, qtype,
		     (long)start, (long)len, fl.l_type, want_type);
	if (want_type == F_UNLCK)
		return;
	if (fl.l_start != want_start || fl.l_len != want_len || fl.l_pid != want_pid)
		fail("%s type %d on %ld+%ld: lock %ld+%ld pid %d, expected %ld+%ld pid %d",
		     what, qtype, (long)start, (long)len, (long)fl.l_start,
		     (long)fl.l_len, fl.l_pid, (long)want_start, (long)want_len, want_pid);
}

static void expect_flock(int fd, int op, int want_errno)
{
	int ret = flock(fd, op | LOCK_NB);

	if (want_errno ? ret != -1 || errno != want_errno : ret != 0)
		fail("flock(%#x) on %s: %s, expected %s", op, FILE_FLOCK,
		     ret ? "fails" : "succeeds", want_errno ? "EWOULDBLOCK" : "success");
}

__attribute__((noreturn))
static void child(void)
{
	pid_t parent = getppid();
	int ffl, fpx, fofd;

	tree_send(parent, 0);
	test_wait_checkpoint();

	ffl = file_open_rw(FILE_FLOCK);
	fpx = file_open_rw(FILE_POSIX);
	fofd = file_open_rw(FILE_OFD);

	/* The parent's locks as set before the checkpoint, and no others. */
	expect_flock(ffl, LOCK_EX, EWOULDBLOCK);
	expect_flock(ffl, LOCK_SH, EWOULDBLOCK);
	expect_lock(fpx, F_GETLK, F_WRLCK, WR_START, WR_LEN, F_WRLCK, WR_START, WR_LEN, parent);
	expect_lock(fpx, F_GETLK, F_WRLCK, RD_START, RD_LEN, F_RDLCK, RD_START, RD_LEN, parent);
	expect_lock(fpx, F_GETLK, F_RDLCK, RD_START, RD_LEN, F_UNLCK, 0, 0, 0);
	expect_lock(fpx, F_GETLK, F_WRLCK, 0, WR_START, F_UNLCK, 0, 0, 0);
	expect_lock(fpx, F_GETLK, F_WRLCK, WR_START + WR_LEN,
		    RD_START - WR_START - WR_LEN, F_UNLCK, 0, 0, 0);
	expect_lock(fpx, F_GETLK, F_WRLCK, RD_START + RD_LEN, TO_EOF, F_UNLCK, 0, 0, 0);
	expect_lock(fofd, F_OFD_GETLK, F_RDLCK, 0, TO_EOF, F_WRLCK, OFD_START, OFD_LEN, -1);
	expect_lock(fofd, F_OFD_GETLK, F_WRLCK, OFD_START + OFD_LEN, TO_EOF, F_UNLCK, 0, 0, 0);
	tree_send(parent, 0);

	/* The parent dropped the flock, the OFD lock and 10..19, and
	 * upgraded 100..199 to a write lock. */
	tree_recv(parent);
	expect_flock(ffl, LOCK_EX, 0);
	expect_lock(fpx, F_GETLK, F_WRLCK, WR_START, WR_LEN, F_UNLCK, 0, 0, 0);
	expect_lock(fpx, F_GETLK, F_RDLCK, RD_START, RD_LEN, F_WRLCK, RD_START, RD_LEN, parent);
	expect_lock(fofd, F_OFD_GETLK, F_WRLCK, 0, TO_EOF, F_UNLCK, 0, 0, 0);
	tree_exit(0);
}

int main(int argc, char **argv)
{
	int ffl, fpx, fofd, fd;
	pid_t kid;

	test_init(argc, argv);
	tree_init();

	/* First the child: it must inherit neither fds nor locks. */
	kid = fork();
	if (kid < 0)
		fail_errno("fork");
	if (kid == 0)
		child();
	tree_recv(kid);

	ffl = file_open_rw(FILE_FLOCK);
	if (flock(ffl, LOCK_EX))
		fail_errno("flock %s", FILE_FLOCK);
	fpx = file_open_rw(FILE_POSIX);
	set_lock(fpx, F_SETLK, F_WRLCK, WR_START, WR_LEN);
	set_lock(fpx, F_SETLK, F_RDLCK, RD_START, RD_LEN);
	fofd = file_open_rw(FILE_OFD);
	set_lock(fofd, F_OFD_SETLK, F_WRLCK, OFD_START, OFD_LEN);

	test_ready();
	test_wait_checkpoint();
	tree_forward(&kid, 1);

	tree_recv(kid);		/* the child saw the locks: now change them */

	/* The flock is held by the description of FFL and no other. */
	fd = file_open_rw(FILE_FLOCK);
	expect_flock(fd, LOCK_EX, EWOULDBLOCK);
	expect_flock(ffl, LOCK_EX, 0);	/* converting one's own lock */
	if (flock(ffl, LOCK_UN))
		fail_errno("flock(LOCK_UN)");
	expect_flock(fd, LOCK_EX, 0);
	close(fd);		/* drops that flock again */

	/* Likewise the OFD lock. */
	fd = file_open_rw(FILE_OFD);
	expect_lock(fd, F_OFD_GETLK, F_WRLCK, 0, TO_EOF, F_WRLCK, OFD_START, OFD_LEN, -1);
	set_lock(fofd, F_OFD_SETLK, F_UNLCK, OFD_START, OFD_LEN);
	expect_lock(fd, F_OFD_GETLK, F_WRLCK, 0, TO_EOF, F_UNLCK, 0, 0, 0);
	close(fd);

	/* POSIX locks: the parent's own F_GETLK never reports them, changing
	 * them does; the child checks the result. */
	set_lock(fpx, F_SETLK, F_WRLCK, RD_START, RD_LEN);
	set_lock(fpx, F_SETLK, F_UNLCK, WR_START, WR_LEN);
	tree_send(kid, 0);

	tree_exit(tree_collect(&kid, 1));
}
