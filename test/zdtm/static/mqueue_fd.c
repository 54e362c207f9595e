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
 * A second queue (maxmsg 3, msgsize 64, mode 0640), open twice (O_RDWR |
 * O_NONBLOCK and O_WRONLY), is unlinked with three messages in it: it
 * is the tree's in both flavors, only its fds hold it; it comes back
 * unlinked with its messages, both fds on one queue.
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
static mqd_t rd, wr, rd2, ul_rw, ul_wr;

static const struct { const char *text; unsigned prio; } ul_msgs[] = {
	{ "low", 1 }, { "", 9 }, { "sixty-four bytes .............................................!", 4 },
};

static int expect_msg(mqd_t q, const char *text, unsigned prio)
{
	char buf[128];
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
	{
		struct mq_attr ua = { .mq_maxmsg = 3, .mq_msgsize = 64 };
		char uname[64];

		snprintf(uname, sizeof(uname), "/zdtm_mqfd_unl.%d", getpid());
		mq_unlink(uname);
		ul_rw = mq_open(uname, O_RDWR | O_NONBLOCK | O_CREAT | O_EXCL, 0640, &ua);
		ul_wr = mq_open(uname, O_WRONLY);
		if (ul_rw == (mqd_t)-1 || ul_wr == (mqd_t)-1 || mq_unlink(uname))
			fail_errno("the queue to unlink, %s", uname);
		for (int i = 0; i < 3; i++)
			if (mq_send(ul_wr, ul_msgs[i].text, strlen(ul_msgs[i].text), ul_msgs[i].prio))
				fail_errno("mq_send %d to the unlinked queue", i);
	}

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
	/* The unlinked queue: one queue behind both fds, still unlinked, its messages by priority. */
	{
		char link[128], p[64];
		ssize_t n;

		snprintf(p, sizeof(p), "/proc/self/fd/%d", ul_rw);
		n = readlink(p, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = 0;
		if (n < 0 || !strstr(link, " (deleted)")) {
			test_msg("FAIL: the unlinked queue's fd links to '%s'", link);
			bad++;
		}
		if (fstat(ul_rw, &s1) || fstat(ul_wr, &s2) || s1.st_ino != s2.st_ino || (s1.st_mode & 07777) != 0640) {
			test_msg("FAIL: the unlinked queue's fds: inodes %lu %lu, mode 0%o", (unsigned long)s1.st_ino,
				 (unsigned long)s2.st_ino, s1.st_mode & 07777);
			bad++;
		}
		if ((fcntl(ul_rw, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) != (O_RDWR | O_NONBLOCK) ||
		    (fcntl(ul_wr, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) != O_WRONLY) {
			test_msg("FAIL: the unlinked queue's fds: flags %#x %#x", fcntl(ul_rw, F_GETFL),
				 fcntl(ul_wr, F_GETFL));
			bad++;
		}
		bad += expect_msg(ul_rw, ul_msgs[1].text, ul_msgs[1].prio);
		bad += expect_msg(ul_rw, ul_msgs[2].text, ul_msgs[2].prio);
		bad += expect_msg(ul_rw, ul_msgs[0].text, ul_msgs[0].prio);
		if (mq_send(ul_wr, "through wr", 10, 5)) {
			test_msg("FAIL: the unlinked queue: mq_send after restore: %m");
			bad++;
		} else {
			bad += expect_msg(ul_rw, "through wr", 5);
		}
	}
	mq_unlink(name);
	if (bad)
		fail("%d message queue fd check(s) failed", bad);
	pass();
}
