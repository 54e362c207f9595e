/*
 * Locks of several processes on the same files, in the combinations a
 * restore must keep apart (P the root, C its child, each with descriptions
 * of its own unless said otherwise):
 *
 *   FILE_POSIX  POSIX read locks of P on 0..99 and of C on 50..149
 *   FILE_FLOCK  LOCK_SH of P on a description C inherited too, LOCK_SH of C
 *               on its own one
 *   FILE_OFD    OFD read locks on 0..99 of P's and of C's description, an OFD
 *               write lock on 1000..1009 of a description both share
 *   FILE_TWO    two descriptions of P, a POSIX write lock on 0..9 taken
 *               through one and one on 100..109 through the other (each
 *               fd's fdinfo shows only the locks taken through it)
 *   FILE_GONE   a POSIX write lock on 0..9 of P's fd table taken by a
 *               process that shared it (clone(CLONE_FILES)) and is gone:
 *               the lock is P's, restored with P's pid (cr warns)
 *   deleted     a file unlinked after both opened it: a POSIX write lock of
 *               P on 0..9 and a flock LOCK_EX of C on another description
 *
 * After restore each process finds the other's locks with F_GETLK
 * (type, range and pid), F_OFD_GETLK and flock(LOCK_NB) on its own
 * descriptions, and that shared locks stay shared.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>
#include "zdtm.h"

#define FILE_POSIX	"zdtm_locks_multi.posix"
#define FILE_FLOCK	"zdtm_locks_multi.flock"
#define FILE_OFD	"zdtm_locks_multi.ofd"
#define FILE_DEL	"zdtm_locks_multi.deleted"
#define FILE_TWO	"zdtm_locks_multi.two"
#define FILE_GONE	"zdtm_locks_multi.gone"
#define ANY_PID		(-2)

struct fds {
	int posix, flock, ofd, del_posix, del_flock, two, gone;
};

static int fd_flock_shared, fd_ofd_shared;
static pid_t parent, kid;

static void set_lock(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	if (fcntl(fd, cmd, &fl))
		fail_errno("pid %d: fcntl(%d) type %d on %ld+%ld", getpid(), cmd, type, (long)start, (long)len);
}

/* A QTYPE lock on START+LEN would meet WANT_TYPE (F_UNLCK: nothing) of WANT_PID at WANT_START+WANT_LEN. */
static void expect_lock(int fd, int cmd, short qtype, off_t start, off_t len,
			short want_type, off_t want_start, off_t want_len, pid_t want_pid)
{
	struct flock fl = { .l_type = qtype, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	if (fcntl(fd, cmd, &fl))
		fail_errno("pid %d: getlk", getpid());
	if (fl.l_type != want_type)
		fail("pid %d: fd %d: lock type %d on %ld+%ld meets type %d, expected %d", getpid(), fd,
		     qtype, (long)start, (long)len, fl.l_type, want_type);
	if (want_type != F_UNLCK &&
	    (fl.l_start != want_start || fl.l_len != want_len || (want_pid != ANY_PID && fl.l_pid != want_pid)))
		fail("pid %d: fd %d: lock %ld+%ld pid %d, expected %ld+%ld pid %d", getpid(), fd,
		     (long)fl.l_start, (long)fl.l_len, fl.l_pid, (long)want_start, (long)want_len, want_pid);
}

static void expect_flock(int fd, int op, int want_errno)
{
	int ret = flock(fd, op | LOCK_NB);

	if (want_errno ? ret != -1 || errno != want_errno : ret != 0)
		fail("pid %d: flock(%#x) on fd %d: %s, expected %s", getpid(), op, fd,
		     ret ? "fails" : "succeeds", want_errno ? "EWOULDBLOCK" : "success");
}

static void open_all(struct fds *f)
{
	f->posix = file_open_rw(FILE_POSIX);
	f->flock = file_open_rw(FILE_FLOCK);
	f->ofd = file_open_rw(FILE_OFD);
	f->del_posix = file_open_rw(FILE_DEL);
	f->del_flock = file_open_rw(FILE_DEL);
	f->two = file_open_rw(FILE_TWO);
	f->gone = file_open_rw(FILE_GONE);
}

/* What either process sees of both: @me the caller's fds, @other the other's pid. */
static void check_common(const struct fds *me)
{
	int fd;

	/* Both read locks of FILE_POSIX are there; read locks still fit. */
	expect_lock(me->posix, F_GETLK, F_RDLCK, 0, 200, F_UNLCK, 0, 0, 0);
	/* Shared flocks: another LOCK_SH fits, LOCK_EX does not. */
	fd = file_open_rw(FILE_FLOCK);
	expect_flock(fd, LOCK_EX, EWOULDBLOCK);
	expect_flock(fd, LOCK_SH, 0);
	close(fd);
	/* OFD: the read locks of both, the shared description's write lock. */
	fd = file_open_rw(FILE_OFD);
	expect_lock(fd, F_OFD_GETLK, F_WRLCK, 0, 100, F_RDLCK, 0, 100, -1);
	expect_lock(fd, F_OFD_GETLK, F_RDLCK, 0, 100, F_UNLCK, 0, 0, 0);
	expect_lock(fd, F_OFD_GETLK, F_RDLCK, 1000, 10, F_WRLCK, 1000, 10, -1);
	close(fd);
	expect_lock(me->ofd, F_OFD_GETLK, F_WRLCK, 1000, 10, F_WRLCK, 1000, 10, -1);
	expect_lock(fd_ofd_shared, F_OFD_GETLK, F_WRLCK, 1000, 10, F_UNLCK, 0, 0, 0);
}

__attribute__((noreturn))
static void child(void)
{
	struct fds f;

	open_all(&f);
	set_lock(f.posix, F_SETLK, F_RDLCK, 50, 100);
	if (flock(f.flock, LOCK_SH) || flock(f.del_flock, LOCK_EX))
		fail_errno("child: flock");
	set_lock(f.ofd, F_OFD_SETLK, F_RDLCK, 0, 100);
	tree_send(parent, 0);
	test_wait_checkpoint();

	check_common(&f);
	/* P's read lock on 0..99 as C sees it. */
	expect_lock(f.posix, F_GETLK, F_WRLCK, 0, 50, F_RDLCK, 0, 100, parent);
	/* P's write lock on the deleted file, seen through C's own description. */
	expect_lock(f.del_posix, F_GETLK, F_RDLCK, 0, 10, F_WRLCK, 0, 10, parent);
	/* Both of P's locks on FILE_TWO. */
	expect_lock(f.two, F_GETLK, F_RDLCK, 0, 10, F_WRLCK, 0, 10, parent);
	expect_lock(f.two, F_GETLK, F_RDLCK, 100, 10, F_WRLCK, 100, 10, parent);
	/* The lock of P's table that P's gone sharer took. */
	expect_lock(f.gone, F_GETLK, F_RDLCK, 0, 10, F_WRLCK, 0, 10, ANY_PID);
	/* C's locks go with it: it stays until P has seen them. */
	tree_recv(parent);
	tree_exit(0);
}

static int gone_fd;

static int sharer(void *arg)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };

	(void)arg;
	return fcntl(gone_fd, F_SETLK, &fl) ? 1 : 0;
}

/* A process sharing our fd table takes a lock on @fd and exits. */
static void lock_by_gone_sharer(int fd)
{
	static char stack[64 << 10] __attribute__((aligned(16)));
	pid_t pid;
	int st;

	gone_fd = fd;
	pid = clone(sharer, stack + sizeof(stack), CLONE_FILES | SIGCHLD, NULL);
	if (pid < 0)
		fail_errno("clone");
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("the sharer could not take its lock (status %#x)", st);
}

int main(int argc, char **argv)
{
	struct fds f;

	test_init(argc, argv);
	tree_init();
	parent = getpid();

	fd_flock_shared = file_open_rw(FILE_FLOCK);
	if (flock(fd_flock_shared, LOCK_SH))
		fail_errno("flock");
	fd_ofd_shared = file_open_rw(FILE_OFD);
	set_lock(fd_ofd_shared, F_OFD_SETLK, F_WRLCK, 1000, 10);
	kid = tree_fork(child);
	tree_recv(kid);

	open_all(&f);
	set_lock(f.posix, F_SETLK, F_RDLCK, 0, 100);
	set_lock(f.ofd, F_OFD_SETLK, F_RDLCK, 0, 100);
	set_lock(f.del_posix, F_SETLK, F_WRLCK, 0, 10);
	set_lock(f.two, F_SETLK, F_WRLCK, 0, 10);
	set_lock(file_open_rw(FILE_TWO), F_SETLK, F_WRLCK, 100, 10);
	lock_by_gone_sharer(f.gone);
	if (unlink(FILE_DEL))
		fail_errno("unlink");

	test_ready();
	test_wait_checkpoint();
	tree_forward(&kid, 1);

	check_common(&f);
	/* C's read lock on 50..149 as P sees it. */
	expect_lock(f.posix, F_GETLK, F_WRLCK, 100, 100, F_RDLCK, 50, 100, kid);
	/* C's flock on the deleted file, through P's other description of it. */
	expect_flock(f.del_flock, LOCK_SH, EWOULDBLOCK);
	tree_send(kid, 0);
	tree_exit(tree_collect(&kid, 1));
}
