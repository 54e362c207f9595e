/*
 * An epoll instance shared by a parent and its child, watching:
 *   a pipe's read end R with data in it, and a dup of R (same file, its
 *   own watch under its own number), an eventfd (EPOLLET), a timerfd
 *   (EPOLLONESHOT), and an eventfd C open only in the child: the parent
 *   closed its fd after adding it.
 *
 * After restore the instance's watches (fd numbers, events, data) are the
 * ones recorded before; only R and its dup are ready; the eventfd
 * becomes ready when written; the child writes to C and adds a watch of
 * its own, and the parent sees both events (one instance, shared); the
 * dup's watch is deleted by its number.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "zdtm.h"

#define D_R	0x1111000000000001ULL
#define D_R2	0x1111000000000002ULL
#define D_EV	0x2222000000000000ULL
#define D_TF	0x3333000000000000ULL
#define D_C	0x5555000000000000ULL
#define D_NEW	0x6666000000000000ULL
#define MAX_EV	16

static int ep, p[2], r2, ev, tf, c;
static char watches[1024];

/* "tfd: N events: E data: D" of every watch, sorted, without the inode fields. */
static void epoll_watches(char *out, size_t len)
{
	fdinfo_lines(ep, "tfd:", " pos:", out, len);
}

static void add(int fd, uint32_t events, uint64_t data)
{
	struct epoll_event e = { .events = events, .data.u64 = data };

	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e))
		fail_errno("EPOLL_CTL_ADD %d", fd);
}

/* The data words of the ready events, as a bit set of the known ones. */
static unsigned ready(int timeout_ms)
{
	static const uint64_t known[] = { D_R, D_R2, D_EV, D_TF, D_C, D_NEW };
	struct epoll_event e[MAX_EV];
	unsigned set = 0;
	int n = epoll_wait(ep, e, MAX_EV, timeout_ms);

	if (n < 0)
		fail_errno("epoll_wait");
	for (int i = 0; i < n; i++) {
		unsigned k;

		for (k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			if (e[i].data.u64 == known[k])
				break;
		if (k == sizeof(known) / sizeof(known[0]))
			fail("epoll_wait: unknown data %#llx", (unsigned long long)e[i].data.u64);
		set |= 1u << k;
	}
	return set;
}

__attribute__((noreturn))
static void child(void)
{
	pid_t parent = getppid();
	uint64_t one = 1;
	int nev;

	tree_send(parent, 0);
	test_wait_checkpoint();
	tree_recv(parent);	/* the parent checked the watches */

	nev = eventfd(0, 0);
	if (nev < 0)
		fail_errno("eventfd");
	add(nev, EPOLLIN, D_NEW);
	if (write(nev, &one, 8) != 8 || write(c, &one, 8) != 8)
		fail_errno("write eventfd");
	tree_send(parent, 0);
	/* Our exit would close C and the new eventfd: their watches would go. */
	tree_recv(parent);
	tree_exit(0);
}

int main(int argc, char **argv)
{
	char now[1024];
	uint64_t one = 1;
	unsigned set;
	pid_t kid;

	test_init(argc, argv);
	tree_init();

	ep = epoll_create1(0);
	ev = eventfd(0, 0);
	c = eventfd(0, 0);
	tf = timerfd_create(CLOCK_MONOTONIC, 0);
	if (ep < 0 || ev < 0 || c < 0 || tf < 0 || pipe(p))
		fail_errno("creating the fds");
	if (timerfd_settime(tf, 0, &(struct itimerspec){ .it_value = { 60, 0 } }, NULL))
		fail_errno("timerfd_settime");
	r2 = dup(p[0]);
	if (r2 < 0 || write(p[1], "x", 1) != 1)
		fail_errno("dup or write");
	add(p[0], EPOLLIN, D_R);
	add(r2, EPOLLIN | EPOLLRDHUP, D_R2);
	add(ev, EPOLLIN | EPOLLET, D_EV);
	add(tf, EPOLLIN | EPOLLONESHOT, D_TF);
	add(c, EPOLLIN, D_C);
	epoll_watches(watches, sizeof(watches));

	kid = fork();
	if (kid < 0)
		fail_errno("fork");
	if (kid == 0)
		child();
	close(c);	/* still watched: the child holds it */
	tree_recv(kid);

	test_ready();
	test_wait_checkpoint();
	tree_forward(&kid, 1);

	epoll_watches(now, sizeof(now));
	if (strcmp(now, watches))
		fail("watches after restore:\n%sexpected:\n%s", now, watches);
	set = ready(0);
	if (set != 3)
		fail("ready: %#x, expected the pipe's two watches only (0x3)", set);
	if (write(ev, &one, 8) != 8)
		fail_errno("write eventfd");
	set = ready(0);
	if (set != 7)
		fail("ready after writing the eventfd: %#x, expected 0x7", set);
	/* EPOLLET: reported once per change. */
	set = ready(0);
	if (set != 3)
		fail("ready again: %#x, expected 0x3 (the eventfd is edge-triggered)", set);

	tree_send(kid, 0);
	tree_recv(kid);		/* the child wrote C and added a watch */
	set = ready(0);
	if (set != (3 | 1u << 4 | 1u << 5))
		fail("ready after the child's writes: %#x, expected 0x33", set);
	tree_send(kid, 0);

	if (epoll_ctl(ep, EPOLL_CTL_DEL, r2, NULL))
		fail_errno("EPOLL_CTL_DEL of the dup's watch");
	if (epoll_ctl(ep, EPOLL_CTL_DEL, r2, NULL) != -1 || errno != ENOENT)
		fail("the dup's watch is still there after EPOLL_CTL_DEL");
	set = ready(0);
	if (set & 2)
		fail("the dup's watch still reports after EPOLL_CTL_DEL");
	tree_exit(tree_collect(&kid, 1));
}
