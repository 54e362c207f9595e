/*
 * eventfds: a counter above 2^32 shared with a child, an EFD_SEMAPHORE
 * one (O_NONBLOCK), and an empty blocking one.
 *
 * After restore each fd's fdinfo shows the counter and semaphore mode
 * recorded before the checkpoint, and its status flags are the same.
 * Then the child adds to the shared counter and the parent reads the
 * sum (one eventfd, not two), the semaphore one counts down one by one
 * to EAGAIN, and the empty one is not readable.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "zdtm.h"

#define BIG		((1ULL << 40) + 5)
#define SEM		3
#define CHILD_ADD	7

enum { SHARED, SEMA, EMPTY, NR };
static const char *names[NR] = { "shared", "semaphore", "empty" };
static int fds[NR], flags[NR];
static char info[NR][256];

/* The eventfd lines of the fd's fdinfo. */
static void efd_info(int fd, char *out, size_t len)
{
	char buf[1024], *l;

	fdinfo_read(fd, buf, sizeof(buf));
	l = strstr(buf, "eventfd-count:");
	if (!l)
		fail("fd %d: no eventfd-count in fdinfo", fd);
	/* count and semaphore mode, not eventfd-id (a new one is another) */
	out[0] = '\0';
	for (char *s = strtok(l, "\n"); s; s = strtok(NULL, "\n"))
		if (strncmp(s, "eventfd-id:", 11))
			snprintf(out + strlen(out), len - strlen(out), "%s;", s);
}

static void record(void)
{
	for (int i = 0; i < NR; i++) {
		flags[i] = fcntl(fds[i], F_GETFL);
		efd_info(fds[i], info[i], sizeof(info[i]));
	}
}

static void check_recorded(void)
{
	char now[256];

	for (int i = 0; i < NR; i++) {
		int fl = fcntl(fds[i], F_GETFL);

		efd_info(fds[i], now, sizeof(now));
		if (strcmp(now, info[i]))
			fail("%s eventfd: fdinfo '%s', expected '%s'", names[i], now, info[i]);
		if (fl != flags[i])
			fail("%s eventfd: flags %#o, expected %#o", names[i], fl, flags[i]);
	}
}

static uint64_t rd(int i)
{
	uint64_t v;

	if (read(fds[i], &v, sizeof(v)) != sizeof(v))
		fail_errno("read %s eventfd", names[i]);
	return v;
}

__attribute__((noreturn))
static void child(void)
{
	uint64_t v = CHILD_ADD;
	pid_t parent = getppid();

	tree_send(parent, 0);
	test_wait_checkpoint();
	check_recorded();
	if (write(fds[SHARED], &v, sizeof(v)) != sizeof(v))
		fail_errno("write shared eventfd");
	tree_send(parent, 0);
	tree_exit(0);
}

int main(int argc, char **argv)
{
	uint64_t big = BIG - 5, v;
	struct pollfd pfd;
	pid_t kid;

	test_init(argc, argv);
	tree_init();

	fds[SHARED] = eventfd(5, 0);
	fds[SEMA] = eventfd(SEM, EFD_SEMAPHORE | EFD_NONBLOCK);
	fds[EMPTY] = eventfd(0, 0);
	if (fds[SHARED] < 0 || fds[SEMA] < 0 || fds[EMPTY] < 0)
		fail_errno("eventfd");
	if (write(fds[SHARED], &big, sizeof(big)) != sizeof(big))
		fail_errno("write");
	record();

	kid = fork();
	if (kid < 0)
		fail_errno("fork");
	if (kid == 0)
		child();
	tree_recv(kid);

	test_ready();
	test_wait_checkpoint();
	/* Before the child hears SIGTERM: it then adds to the shared counter. */
	check_recorded();
	tree_forward(&kid, 1);
	tree_recv(kid);
	v = rd(SHARED);
	if (v != BIG + CHILD_ADD)
		fail("shared eventfd: read %" PRIu64 ", expected %llu", v, BIG + CHILD_ADD);
	for (int i = 0; i < SEM; i++)
		if ((v = rd(SEMA)) != 1)
			fail("semaphore eventfd: read %" PRIu64 ", expected 1", v);
	if (read(fds[SEMA], &v, sizeof(v)) != -1 || errno != EAGAIN)
		fail("semaphore eventfd: not empty after %d reads", SEM);
	pfd = (struct pollfd){ .fd = fds[EMPTY], .events = POLLIN };
	if (poll(&pfd, 1, 0) != 0)
		fail("empty eventfd is readable");
	tree_exit(tree_collect(&kid, 1));
}
