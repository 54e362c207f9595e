/*
 * Files in flight (SCM_RIGHTS) at the checkpoint, on a socketpair of each
 * unix type: several queued messages, each carrying fds of another kind,
 * one carrying none:
 *
 *   "reg"   a regular file at an offset, whose description the sender
 *           still holds too (one offset after restore);
 *   "pipe"  the read end of a pipe with data in it (the sender closed it);
 *   "sock"  one end of a socketpair, the sender keeping the other;
 *   "evfd"  an eventfd with a count (closed by the sender);
 *   "none"  no fds (datagram and seqpacket: between the others);
 *   "two"   a second pipe's write end and the regular file again;
 *   "tail"  no fds, last (a stream's fds arrive with the first byte after
 *           the previous send with fds: the test reads each message whole).
 *
 * After restore the receiver gets the messages in order, each with its
 * bytes and its fds, each fd working as the kind it was, then an empty
 * queue.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

#define FNAME		"zdtm_unix_scm_rights.dat"
#define NR_TYPES	3
#define MAX_FDS		2

static const int types[NR_TYPES] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET };
static const char *const tnames[NR_TYPES] = { "stream", "dgram", "seqpacket" };

enum { M_REG, M_PIPE, M_SOCK, M_EVFD, M_NONE, M_TWO, M_TAIL, NR_MSGS };
static const char *const mtext[NR_MSGS] = { "reg", "pipe-msg", "sock", "evfd!", "none", "two-fds", "tail-data" };
static const int mfds[NR_MSGS] = { 1, 1, 1, 1, 0, 2, 0 };

struct pair {
	int sv[2];		/* sv[0] sends, sv[1] receives */
	int reg;		/* the sender's copy of the file */
	int sock_kept;		/* the other end of the socket in flight */
	int pipe2_rd;		/* the read end of the pipe whose write end is in flight */
};

static struct pair pairs[NR_TYPES];

static void send_fds(int t, int k, const int *fds, int nr)
{
	scm_send_fds(pairs[t].sv[0], mtext[k], fds, nr, MSG_DONTWAIT);
}

static off_t reg_off(int t)
{
	return 100 + 10 * t;
}

static void setup(int t)
{
	struct pair *p = &pairs[t];
	int pp[2], pp2[2], sk[2], ev, fds[MAX_FDS];

	if (socketpair(AF_UNIX, types[t], 0, p->sv))
		fail_errno("%s: socketpair", tnames[t]);
	p->reg = open(FNAME, O_RDWR);
	if (p->reg < 0 || lseek(p->reg, reg_off(t), SEEK_SET) != reg_off(t))
		fail_errno("%s: opening %s at its offset", tnames[t], FNAME);
	send_fds(t, M_REG, &p->reg, 1);

	if (pipe(pp))
		fail_errno("pipe");
	write_full(pp[1], "pipedata", 8);
	close(pp[1]);
	send_fds(t, M_PIPE, &pp[0], 1);
	close(pp[0]);

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sk))
		fail_errno("socketpair");
	send_fds(t, M_SOCK, &sk[1], 1);
	close(sk[1]);
	p->sock_kept = sk[0];

	ev = eventfd(7 + t, 0);
	if (ev < 0)
		fail_errno("eventfd");
	send_fds(t, M_EVFD, &ev, 1);
	close(ev);

	if (types[t] != SOCK_STREAM)
		send_fds(t, M_NONE, NULL, 0);

	if (pipe(pp2))
		fail_errno("pipe");
	fds[0] = pp2[1];
	fds[1] = p->reg;
	send_fds(t, M_TWO, fds, 2);
	close(pp2[1]);
	p->pipe2_rd = pp2[0];

	send_fds(t, M_TAIL, NULL, 0);
}

/* The received @fd is the sender's description of the file: one offset. */
static void check_reg(int t, int fd)
{
	struct stat a, b;

	if (fstat(fd, &a) || fstat(pairs[t].reg, &b) || a.st_ino != b.st_ino || a.st_dev != b.st_dev)
		fail("%s: the file in flight is another file", tnames[t]);
	if (lseek(fd, 0, SEEK_CUR) != reg_off(t))
		fail("%s: the file in flight is at %ld, not %ld", tnames[t], (long)lseek(fd, 0, SEEK_CUR),
		     (long)reg_off(t));
	if (lseek(fd, 3, SEEK_SET) != 3 || lseek(pairs[t].reg, 0, SEEK_CUR) != 3)
		fail("%s: the file in flight does not share its offset with the sender's copy", tnames[t]);
	if (lseek(fd, reg_off(t), SEEK_SET) != reg_off(t))
		fail_errno("lseek");
}

static void check_msg(int t, int k, const int *fds, int nr)
{
	char buf[16];
	uint64_t v;

	if (nr != mfds[k])
		fail("%s: message %s came with %d fds, expected %d", tnames[t], mtext[k], nr, mfds[k]);
	switch (k) {
	case M_REG:
		check_reg(t, fds[0]);
		break;
	case M_PIPE:
		if (read(fds[0], buf, sizeof(buf)) != 8 || memcmp(buf, "pipedata", 8))
			fail("%s: the pipe in flight lost its data", tnames[t]);
		if (read(fds[0], buf, 1) != 0)
			fail("%s: the pipe in flight has a writer or more data", tnames[t]);
		break;
	case M_SOCK:
		if (write(fds[0], "hi", 2) != 2 || read(pairs[t].sock_kept, buf, sizeof(buf)) != 2 ||
		    memcmp(buf, "hi", 2))
			fail("%s: the socket in flight is not connected to the kept end", tnames[t]);
		break;
	case M_EVFD:
		if (read(fds[0], &v, sizeof(v)) != sizeof(v) || v != (uint64_t)(7 + t))
			fail("%s: the eventfd in flight does not count %d", tnames[t], 7 + t);
		break;
	case M_TWO:
		if (write(fds[0], "w", 1) != 1 || read(pairs[t].pipe2_rd, buf, 1) != 1 || buf[0] != 'w')
			fail("%s: the pipe write end in flight does not lead to the kept read end", tnames[t]);
		check_reg(t, fds[1]);
		break;
	}
	for (int i = 0; i < nr; i++)
		close(fds[i]);
}

static void recv_all(int t)
{
	for (int k = 0; k < NR_MSGS; k++) {
		int fds[MAX_FDS], nr;

		if (k == M_NONE && types[t] == SOCK_STREAM)
			continue;
		nr = scm_recv_fds(pairs[t].sv[1], mtext[k], types[t] != SOCK_STREAM, fds, MAX_FDS, MSG_DONTWAIT);
		check_msg(t, k, fds, nr);
	}
	{
		char c;

		if (recv(pairs[t].sv[1], &c, 1, MSG_DONTWAIT) != -1 || errno != EAGAIN)
			fail("%s: the queue is not empty after the messages", tnames[t]);
	}
}

int main(int argc, char **argv)
{
	int fd;

	test_init(argc, argv);
	fd = open(FNAME, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		fail_errno("creating %s", FNAME);
	for (int i = 0; i < 64; i++)
		write_full(fd, "0123456789", 10);
	close(fd);
	for (int t = 0; t < NR_TYPES; t++)
		setup(t);

	test_ready();
	test_wait_checkpoint();

	for (int t = 0; t < NR_TYPES; t++)
		recv_all(t);
	unlink(FNAME);
	pass();
}
