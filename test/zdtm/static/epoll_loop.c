/*
 * An epoll event loop serving a socketpair and a timerfd: the parent
 * answers each request the child sends over the socketpair (n -> n + 1)
 * and counts the timer's expirations; the child keeps asking. The
 * checkpoint lands anywhere in the exchange (a request or an answer may
 * be queued).
 *
 * After restore the epoll set watches the same fds with the same events
 * and data (fdinfo), and the loop goes on: the child gets answers to
 * further requests, the timer keeps firing through epoll, and the answers
 * are never skipped or repeated.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "zdtm.h"

#define TICK_NS		30000000	/* 30 ms */
#define MORE_REQUESTS	20
#define DATA_SK		0x5c0c
#define DATA_TIMER	0x7133

static int sv[2];

static void xsend_u32(int fd, unsigned v)
{
	while (send(fd, &v, sizeof(v), MSG_NOSIGNAL) != sizeof(v))
		if (errno != EINTR)
			fail_errno("send %u", v);
}

/* 1 and the value, or 0 at EOF. */
static int xrecv_u32(int fd, unsigned *v)
{
	ssize_t n;

	while ((n = recv(fd, v, sizeof(*v), MSG_WAITALL)) < 0)
		if (errno != EINTR)
			fail_errno("recv");
	if (n != 0 && n != sizeof(*v))
		fail("recv: %zd bytes, a u32 expected", n);
	return n != 0;
}

__attribute__((noreturn))
static void child(void)
{
	unsigned next = 1, got;
	int after = 0;

	close(sv[0]);
	tree_send(getppid(), 0);
	for (;;) {
		int term = zdtm_sigterm_seen;

		xsend_u32(sv[1], next);
		if (!xrecv_u32(sv[1], &got))
			fail("EOF from the server");
		if (got != next + 1)
			fail("asked %u, got %u", next, got);
		next += 2;
		if (term && ++after == MORE_REQUESTS)
			break;
		if (!term)
			usleep(5000);
	}
	close(sv[1]);
	tree_exit(0);
}

struct watch {
	int tfd;
	unsigned events;
	unsigned long long data;
};

static int cmp_watch(const void *a, const void *b)
{
	return ((const struct watch *)a)->tfd - ((const struct watch *)b)->tfd;
}

/*
 * The watches in the epoll fd's fdinfo by fd number (the kernel lists
 * them by file address), without the inode fields (new after restore).
 */
static int read_watches(int ep, struct watch *w, int max)
{
	char path[64], line[256];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ep);
	f = fopen(path, "r");
	if (!f)
		fail_errno("open %s", path);
	while (fgets(line, sizeof(line), f))
		if (n < max && sscanf(line, "tfd: %d events: %x data: %llx", &w[n].tfd, &w[n].events, &w[n].data) == 3)
			n++;
	fclose(f);
	qsort(w, n, sizeof(*w), cmp_watch);
	return n;
}

int main(int argc, char **argv)
{
	struct itimerspec its = { { 0, TICK_NS }, { 0, TICK_NS } };
	struct watch before[4], after[4];
	unsigned long long ticks = 0, ticks_at_term = 0;
	unsigned served = 0, served_at_term = 0;
	int ep, tfd, nb, na, ready = 0, term = 0;
	pid_t kid;

	test_init(argc, argv);
	tree_init();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		fail_errno("socketpair");
	kid = fork();
	if (kid < 0)
		fail_errno("fork");
	if (kid == 0)
		child();
	close(sv[1]);
	tree_recv(kid);

	ep = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (ep < 0 || tfd < 0 || timerfd_settime(tfd, 0, &its, NULL))
		fail_errno("epoll/timerfd");
	{
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = DATA_SK };

		if (epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev))
			fail_errno("epoll_ctl socket");
		ev.events = EPOLLIN | EPOLLET;
		ev.data.u64 = DATA_TIMER;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev))
			fail_errno("epoll_ctl timerfd");
	}
	nb = read_watches(ep, before, 4);
	zdtm_check(nb == 2);

	for (;;) {
		struct epoll_event evs[4];
		int n = epoll_wait(ep, evs, 4, 1000);

		if (n < 0 && errno != EINTR)
			fail_errno("epoll_wait");
		if (!ready && served >= 3 && ticks >= 2) {
			test_ready();
			ready = 1;
		}
		if (ready && !term && zdtm_sigterm_seen) {
			term = 1;
			tree_forward(&kid, 1);
			served_at_term = served;
			ticks_at_term = ticks;
			na = read_watches(ep, after, 4);
			if (na != nb || memcmp(before, after, sizeof(before[0]) * nb))
				fail("the epoll set changed: %d watches, %d before (tfd %d events %#x data %#llx)",
				     na, nb, na ? after[0].tfd : -1, na ? after[0].events : 0, na ? after[0].data : 0);
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u64 == DATA_TIMER) {
				unsigned long long exp;

				if (read(tfd, &exp, sizeof(exp)) == sizeof(exp))
					ticks += exp;
			} else if (evs[i].data.u64 == DATA_SK) {
				unsigned v;

				if (!xrecv_u32(sv[0], &v))
					goto done;	/* the child is through */
				xsend_u32(sv[0], v + 1);
				served++;
			} else {
				fail("epoll returned unknown data %#llx", (unsigned long long)evs[i].data.u64);
			}
		}
	}
done:
	if (!term)
		fail("the child finished before the checkpoint");
	if (served - served_at_term < MORE_REQUESTS - 1)
		fail("served %u requests after restore, %d expected", served - served_at_term, MORE_REQUESTS);
	/* Let the timer prove itself through epoll (the socket is at EOF: out). */
	if (epoll_ctl(ep, EPOLL_CTL_DEL, sv[0], NULL))
		fail_errno("epoll_ctl del");
	while (ticks == ticks_at_term) {
		struct epoll_event ev;
		unsigned long long exp;

		if (epoll_wait(ep, &ev, 1, 1000) != 1 || ev.data.u64 != DATA_TIMER)
			fail("the timerfd did not fire through epoll after restore");
		if (read(tfd, &exp, sizeof(exp)) == sizeof(exp))
			ticks += exp;
	}
	tree_exit(tree_collect(&kid, 1));
}
