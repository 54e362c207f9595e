/*
 * Open POSIX message queue descriptors: one queue, /zdtm_mqfd.PID
 * (maxmsg 4, msgsize 32, mode 0620), open three times: O_RDONLY |
 * O_NONBLOCK, O_WRONLY (blocking) and a dup of the first; two messages
 * wait in it.
 *
 * In the h flavor the test shares cr's ipc namespace: the queue belongs
 * to that namespace, like a file to its file system, not to the tree.
 * cr keeps the tree's fds (reopened by name at restore, the queue is the
 * one that is there then: it outlives the killed test) and not the
 * queue's content: what the test finds after restore is the live
 * queue's, which nobody else touched. In the ns flavor the queue is in
 * the tree's ipc namespace and comes back with its messages (ipcns.img).
 *
 * After restore, either way: the fds name the queue of that name (same
 * inode as a new mq_open of it), the dup is the same open file (a flags
 * change through one shows on the other), O_NONBLOCK and the access
 * modes are kept (EBADF the other way), the two messages come back in
 * order, a message sent through the write fd arrives through the read
 * one, and the empty queue gives EAGAIN.
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

#define MAXMSG	4
#define MSGSIZE	32

static char name[64];
static mqd_t rd, wr, rd2;

static int expect_msg(mqd_t q, const char *text, unsigned prio)
{
	char buf[MSGSIZE];
	unsigned p;
	ssize_t n = mq_receive(q, buf, sizeof(buf), &p);

	if (n < 0) {
		test_msg("FAIL: %s: receiving '%s': %m", name, text);
		return 1;
	}
	if ((size_t)n != strlen(text) || memcmp(buf, text, n) || p != prio) {
		test_msg("FAIL: %s: got '%.*s' priority %u, expected '%s' priority %u", name, (int)n, buf, p, text,
			 prio);
		return 1;
	}
	return 0;
}

static int check_flags(mqd_t q, const char *what, long want)
{
	struct mq_attr a;

	if (mq_getattr(q, &a)) {
		test_msg("FAIL: %s: mq_getattr of the %s fd: %m", name, what);
		return 1;
	}
	if ((a.mq_flags & O_NONBLOCK) != want || a.mq_maxmsg != MAXMSG || a.mq_msgsize != MSGSIZE) {
		test_msg("FAIL: %s: the %s fd: flags %#lx maxmsg %ld msgsize %ld", name, what, a.mq_flags, a.mq_maxmsg,
			 a.mq_msgsize);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct mq_attr a = { .mq_maxmsg = MAXMSG, .mq_msgsize = MSGSIZE };
	struct stat s1, s2;
	char buf[MSGSIZE];
	int bad = 0, fl;
	mqd_t q;

	test_init(argc, argv);
	snprintf(name, sizeof(name), "/zdtm_mqfd.%d", getpid());
	mq_unlink(name);
	rd = mq_open(name, O_RDONLY | O_NONBLOCK | O_CREAT | O_EXCL, 0620, &a);
	if (rd == (mqd_t)-1)
		fail_errno("mq_open %s", name);
	wr = mq_open(name, O_WRONLY);
	rd2 = dup(rd);
	if (wr == (mqd_t)-1 || rd2 < 0)
		fail_errno("second mq_open or dup of %s", name);
	if (mq_send(wr, "second", 6, 1) || mq_send(wr, "first", 5, 3))
		fail_errno("mq_send");

	test_ready();
	test_wait_checkpoint();

	q = mq_open(name, O_RDONLY);
	if (q == (mqd_t)-1) {
		test_msg("FAIL: %s is gone: %m", name);
		bad++;
	} else if (fstat(q, &s1) || fstat(rd, &s2) || s1.st_ino != s2.st_ino || s1.st_dev != s2.st_dev ||
		   fstat(wr, &s2) || s1.st_ino != s2.st_ino) {
		test_msg("FAIL: the fds are not of the queue %s", name);
		bad++;
	}
	bad += check_flags(rd, "read", O_NONBLOCK);
	bad += check_flags(rd2, "dup'ed read", O_NONBLOCK);
	bad += check_flags(wr, "write", 0);
	/* One open file: O_NONBLOCK off through rd2 shows on rd. */
	fl = fcntl(rd2, F_GETFL);
	if (fl < 0 || fcntl(rd2, F_SETFL, fl & ~O_NONBLOCK) || check_flags(rd, "read (after the dup's F_SETFL)", 0)) {
		test_msg("FAIL: %s: the dup is not the same open file", name);
		bad++;
	}
	if (fl >= 0)
		fcntl(rd2, F_SETFL, fl);
	if ((fcntl(rd, F_GETFL) & O_ACCMODE) != O_RDONLY || (fcntl(wr, F_GETFL) & O_ACCMODE) != O_WRONLY) {
		test_msg("FAIL: %s: access modes %#x %#x", name, fcntl(rd, F_GETFL), fcntl(wr, F_GETFL));
		bad++;
	}
	if (mq_send(rd, "x", 1, 0) == 0 || errno != EBADF) {
		test_msg("FAIL: %s: a send on the read-only fd did not fail with EBADF: %m", name);
		bad++;
	}
	if (mq_receive(wr, buf, sizeof(buf), NULL) >= 0 || errno != EBADF) {
		test_msg("FAIL: %s: a receive on the write-only fd did not fail with EBADF: %m", name);
		bad++;
	}
	bad += expect_msg(rd, "first", 3);
	bad += expect_msg(rd2, "second", 1);
	if (mq_receive(rd, buf, sizeof(buf), NULL) >= 0 || errno != EAGAIN) {
		test_msg("FAIL: %s: the empty queue did not give EAGAIN: %m", name);
		bad++;
	}
	if (mq_send(wr, "after", 5, 2)) {
		test_msg("FAIL: %s: mq_send after restore: %m", name);
		bad++;
	} else {
		bad += expect_msg(rd, "after", 2);
	}
	mq_unlink(name);
	if (bad)
		fail("%d message queue fd check(s) failed", bad);
	pass();
}
