/*
 * Open file descriptions shared by fork() and dup() stay shared: a parent
 * and its child hold RW (FD_CLOEXEC), its dup DUP (no FD_CLOEXEC) and AP
 * (O_WRONLY|O_APPEND|O_NONBLOCK, another file). RW carries an owner
 * (F_SETOWN, the parent's pid) and a signal (F_SETSIG).
 *
 * After restore each process finds the flags, fd flags, positions, owner
 * and signal recorded before the checkpoint. Then the parent moves the
 * position of RW and clears O_NONBLOCK on AP, and the child sees both: one
 * offset and one flags word, not copies. The child moves the position and
 * appends to AP in turn, and the parent sees that.
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

#define FILE_RW		"zdtm_fd_shared_ofd.rw"
#define FILE_AP		"zdtm_fd_shared_ofd.ap"
#define DATA_LEN	(64 * 1024)
#define SEED		0x0fd5000000000001ULL
#define POS_DUMP	8000	/* multiples of 8: pattern words */
#define POS_PARENT	16000
#define POS_CHILD	24000
#define AP_LEN		100
#define AP_MORE		10
#define OWNER_SIG	(SIGRTMIN + 2)
/* Status flags we set and expect back; the kernel adds others. */
#define FL_MASK		(O_ACCMODE | O_APPEND | O_NONBLOCK)

struct fd_rec {
	const char *name;
	int fd, flags, fdflags;
};

enum { RW, DUP, AP, NR_FDS };

static struct fd_rec fds[NR_FDS];
static struct f_owner_ex owner_before;
static int sig_before;

static void record(int idx, const char *name, int fd)
{
	fds[idx].name = name;
	fds[idx].fd = fd;
	fds[idx].flags = fcntl(fd, F_GETFL);
	fds[idx].fdflags = fcntl(fd, F_GETFD);
	if (fds[idx].flags < 0 || fds[idx].fdflags < 0)
		fail_errno("fcntl %s", name);
}

static off_t pos_of(int fd)
{
	off_t pos = lseek(fd, 0, SEEK_CUR);

	if (pos < 0)
		fail_errno("lseek fd %d", fd);
	return pos;
}

static void check_pos(int idx, off_t want)
{
	off_t pos = pos_of(fds[idx].fd);

	if (pos != want)
		fail("%s (fd %d): position %ld, expected %ld", fds[idx].name,
		     fds[idx].fd, (long)pos, (long)want);
}

static void check_flags(int idx, int want)
{
	int fl = fcntl(fds[idx].fd, F_GETFL);

	if (fl < 0)
		fail_errno("F_GETFL %s", fds[idx].name);
	if ((fl & FL_MASK) != (want & FL_MASK))
		fail("%s (fd %d): flags %#o, expected %#o", fds[idx].name,
		     fds[idx].fd, fl & FL_MASK, want & FL_MASK);
}

/* Everything recorded before the checkpoint; the same in both processes. */
static void check_recorded(void)
{
	struct f_owner_ex owner;
	int sig;

	for (int i = 0; i < NR_FDS; i++) {
		int fdfl = fcntl(fds[i].fd, F_GETFD);

		check_flags(i, fds[i].flags);
		if (fdfl != fds[i].fdflags)
			fail("%s (fd %d): fd flags %#x, expected %#x", fds[i].name,
			     fds[i].fd, fdfl, fds[i].fdflags);
	}
	check_pos(RW, POS_DUMP);
	check_pos(DUP, POS_DUMP);
	check_pos(AP, AP_LEN);

	/* The owner belongs to the description: the dup and the child's
	 * copy see the parent's pid too. */
	for (int i = RW; i <= DUP; i++) {
		if (fcntl(fds[i].fd, F_GETOWN_EX, &owner))
			fail_errno("F_GETOWN_EX %s", fds[i].name);
		if (owner.type != owner_before.type || owner.pid != owner_before.pid)
			fail("%s: owner type %d pid %d, expected type %d pid %d",
			     fds[i].name, owner.type, owner.pid,
			     owner_before.type, owner_before.pid);
		sig = fcntl(fds[i].fd, F_GETSIG);
		if (sig != sig_before)
			fail("%s: F_GETSIG %d, expected %d", fds[i].name, sig, sig_before);
	}
	if (fcntl(fds[AP].fd, F_GETOWN_EX, &owner) || owner.pid != 0)
		fail("%s: has an owner (pid %d) it never had", fds[AP].name, owner.pid);
}

static void check_data_at(off_t pos)
{
	uint64_t buf[64];

	if (read(fds[RW].fd, buf, sizeof(buf)) != sizeof(buf))
		fail_errno("read %s", fds[RW].name);
	if (pattern_check(buf, sizeof(buf), SEED + pos / 8) >= 0)
		fail("%s: wrong data at %ld", fds[RW].name, (long)pos);
	/* The read moved the one shared position. */
	check_pos(DUP, pos + sizeof(buf));
}

static off_t size_of(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		fail_errno("fstat fd %d", fd);
	return st.st_size;
}

__attribute__((noreturn))
static void child(void)
{
	pid_t parent = getppid();

	tree_send(parent, 0);
	test_wait_checkpoint();

	check_recorded();
	tree_send(parent, 0);

	/* The parent moved RW to POS_PARENT and cleared O_NONBLOCK on AP. */
	tree_recv(parent);
	check_pos(RW, POS_PARENT);
	check_pos(DUP, POS_PARENT);
	check_flags(AP, O_WRONLY | O_APPEND);
	check_data_at(POS_PARENT);

	if (lseek(fds[DUP].fd, POS_CHILD, SEEK_SET) != POS_CHILD)
		fail_errno("lseek %s", fds[DUP].name);
	if (write(fds[AP].fd, "0123456789", AP_MORE) != AP_MORE)
		fail_errno("write %s", fds[AP].name);
	tree_send(parent, 0);
	tree_exit(0);
}

int main(int argc, char **argv)
{
	char data[DATA_LEN];
	int fd;
	pid_t kid;

	test_init(argc, argv);
	tree_init();

	fd = open(FILE_RW, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		fail_errno("open %s", FILE_RW);
	pattern_fill(data, DATA_LEN, SEED);
	if (write(fd, data, DATA_LEN) != DATA_LEN)
		fail_errno("write %s", FILE_RW);
	if (lseek(fd, POS_DUMP, SEEK_SET) != POS_DUMP)
		fail_errno("lseek %s", FILE_RW);
	if (fcntl(fd, F_SETFD, FD_CLOEXEC))
		fail_errno("F_SETFD");
	if (fcntl(fd, F_SETOWN, getpid()))
		fail_errno("F_SETOWN");
	if (fcntl(fd, F_SETSIG, OWNER_SIG))
		fail_errno("F_SETSIG");
	record(RW, "rw", fd);

	fd = dup(fd);	/* dup() clears FD_CLOEXEC on the new fd */
	if (fd < 0)
		fail_errno("dup");
	record(DUP, "dup of rw", fd);

	fd = open(FILE_AP, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NONBLOCK, 0644);
	if (fd < 0)
		fail_errno("open %s", FILE_AP);
	if (write(fd, data, AP_LEN) != AP_LEN)
		fail_errno("write %s", FILE_AP);
	record(AP, "append", fd);

	if (fcntl(fds[RW].fd, F_GETOWN_EX, &owner_before))
		fail_errno("F_GETOWN_EX");
	sig_before = fcntl(fds[RW].fd, F_GETSIG);
	zdtm_check(owner_before.pid == getpid());
	zdtm_check(sig_before == OWNER_SIG);
	zdtm_check(fds[RW].fdflags == FD_CLOEXEC && fds[DUP].fdflags == 0);
	zdtm_check((fds[AP].flags & FL_MASK) == (O_WRONLY | O_APPEND | O_NONBLOCK));

	kid = fork();
	if (kid < 0)
		fail_errno("fork");
	if (kid == 0)
		child();
	tree_recv(kid);

	test_ready();
	test_wait_checkpoint();
	tree_forward(&kid, 1);

	check_recorded();
	tree_recv(kid);		/* the child checked them too: now change them */
	check_data_at(POS_DUMP);

	/* Move what the child must see: one position, one flags word. */
	if (lseek(fds[RW].fd, POS_PARENT, SEEK_SET) != POS_PARENT)
		fail_errno("lseek %s", fds[RW].name);
	if (fcntl(fds[AP].fd, F_SETFL, O_APPEND))
		fail_errno("F_SETFL %s", fds[AP].name);
	tree_send(kid, 0);

	/* The child moved the position and appended to AP. */
	tree_recv(kid);
	check_pos(RW, POS_CHILD);
	check_pos(AP, AP_LEN + AP_MORE);
	/* O_APPEND: a write after seeking to 0 still goes to the end. */
	if (lseek(fds[AP].fd, 0, SEEK_SET) != 0)
		fail_errno("lseek %s", fds[AP].name);
	if (write(fds[AP].fd, "x", 1) != 1)
		fail_errno("write %s", fds[AP].name);
	check_pos(AP, AP_LEN + AP_MORE + 1);
	if (size_of(fds[AP].fd) != AP_LEN + AP_MORE + 1)
		fail("%s: size %ld, expected %d", fds[AP].name,
		     (long)size_of(fds[AP].fd), AP_LEN + AP_MORE + 1);

	tree_exit(tree_collect(&kid, 1));
}
