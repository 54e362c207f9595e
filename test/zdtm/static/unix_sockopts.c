/*
 * Socket options of unix sockets: SO_RCVBUF and SO_SNDBUF (odd sizes),
 * SO_PASSCRED, SO_RCVTIMEO and SO_SNDTIMEO, SO_PEEK_OFF, and O_NONBLOCK on
 * one end of a pair; the other end keeps the defaults.
 *
 * After restore every option reads back as recorded before the
 * checkpoint, and they act: the receive timeout expires after about its
 * time, a message received with SO_PASSCRED carries credentials, a peek
 * starts at the peek offset, the non-blocking end says EAGAIN.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "zdtm.h"

#define RCVTIMEO_US	150000
#define SNDTIMEO_US	2500000
#define PEEK_OFF	3

struct opts {
	int rcvbuf, sndbuf, passcred, peek_off, fl;
	struct timeval rcvtimeo, sndtimeo;
};

static void get_opts(int fd, struct opts *o)
{
	socklen_t len;

#define GET(opt, field) do {						\
		len = sizeof(o->field);					\
		if (getsockopt(fd, SOL_SOCKET, opt, &o->field, &len))	\
			fail_errno("getsockopt " #opt);			\
	} while (0)
	GET(SO_RCVBUF, rcvbuf);
	GET(SO_SNDBUF, sndbuf);
	GET(SO_PASSCRED, passcred);
	GET(SO_PEEK_OFF, peek_off);
	GET(SO_RCVTIMEO, rcvtimeo);
	GET(SO_SNDTIMEO, sndtimeo);
#undef GET
	o->fl = fcntl(fd, F_GETFL);
}

static void cmp_opts(const char *what, const struct opts *a, const struct opts *b)
{
#define CMP(field) do {							\
		if (a->field != b->field)				\
			fail("%s: " #field " %d, expected %d", what, (int)a->field, (int)b->field); \
	} while (0)
	CMP(rcvbuf);
	CMP(sndbuf);
	CMP(passcred);
	CMP(peek_off);
	CMP(fl);
	CMP(rcvtimeo.tv_sec);
	CMP(rcvtimeo.tv_usec);
	CMP(sndtimeo.tv_sec);
	CMP(sndtimeo.tv_usec);
#undef CMP
}

static void set_int(int fd, int opt, int v, const char *name)
{
	if (setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v)))
		fail_errno("setsockopt %s", name);
}

int main(int argc, char **argv)
{
	struct timeval rt = { 0, RCVTIMEO_US }, st = { SNDTIMEO_US / 1000000, SNDTIMEO_US % 1000000 };
	struct opts before[2], after[2];
	struct timespec t0, t1;
	int sv[2];
	char buf[64];

	test_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv))
		fail_errno("socketpair");
	set_int(sv[0], SO_RCVBUF, 33333, "SO_RCVBUF");
	set_int(sv[0], SO_SNDBUF, 44445, "SO_SNDBUF");
	set_int(sv[0], SO_PASSCRED, 1, "SO_PASSCRED");
	set_int(sv[0], SO_PEEK_OFF, PEEK_OFF, "SO_PEEK_OFF");
	if (setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &rt, sizeof(rt)) ||
	    setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &st, sizeof(st)))
		fail_errno("timeouts");
	if (fcntl(sv[1], F_SETFL, O_NONBLOCK | O_RDWR))
		fail_errno("O_NONBLOCK");
	get_opts(sv[0], &before[0]);
	get_opts(sv[1], &before[1]);
	zdtm_check(before[0].passcred == 1 && before[0].peek_off == PEEK_OFF);

	test_ready();
	test_wait_checkpoint();

	get_opts(sv[0], &after[0]);
	get_opts(sv[1], &after[1]);
	cmp_opts("tuned end", &after[0], &before[0]);
	cmp_opts("default end", &after[1], &before[1]);

	/* The receive timeout acts: an empty queue waits about that long. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (recv(sv[0], buf, sizeof(buf), 0) != -1 || (errno != EAGAIN && errno != EWOULDBLOCK))
		fail("recv on an empty queue did not time out (%m)");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	{
		long us = (t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000;

		if (us < RCVTIMEO_US - 20000 || us > RCVTIMEO_US * 10)
			fail("recv timed out after %ld us, SO_RCVTIMEO is %d", us, RCVTIMEO_US);
	}
	/* The non-blocking end says EAGAIN at once. */
	if (recv(sv[1], buf, sizeof(buf), 0) != -1 || errno != EAGAIN)
		fail("the O_NONBLOCK end did not say EAGAIN (%m)");

	/* SO_PASSCRED: credentials come with a message; SO_PEEK_OFF: the peek starts at 3. */
	if (send(sv[1], "abcdefgh", 8, 0) != 8)
		fail_errno("send");
	{
		char cbuf[CMSG_SPACE(sizeof(struct ucred))];
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *c;
		ssize_t n = recvmsg(sv[0], &mh, MSG_PEEK);

		if (n != 8 - PEEK_OFF || memcmp(buf, "defgh", 5))
			fail("peek returned %zd bytes '%.*s', expected 'defgh' from SO_PEEK_OFF %d",
			     n, (int)(n > 0 ? n : 0), buf, PEEK_OFF);
		c = CMSG_FIRSTHDR(&mh);
		if (!c || c->cmsg_type != SCM_CREDENTIALS)
			fail("no SCM_CREDENTIALS with SO_PASSCRED set");
		if (((struct ucred *)CMSG_DATA(c))->pid != getpid())
			fail("SCM_CREDENTIALS names pid %d", ((struct ucred *)CMSG_DATA(c))->pid);
	}
	pass();
}
