/*
 * zdtm: cr-opts: --tcp-established
 * zdtm: flavors: h
 *
 * An established TCP connection to a peer outside the tree that keeps
 * sending through the dump and the restore: it survives (the network
 * lock, netlock.h). Without the lock the peer's packets reach a host
 * with no socket between the dump's kill and the restore, the peer gets
 * a reset and the connection is dead: the runner shows that with
 * --network-lock skip (the case tcp_peer no-network-lock).
 *
 * The test listens on 127.0.0.1 (a port the kernel picks) and forks a
 * launcher that forks the peer and exits: the peer, an orphan, is the
 * runner's child, not in the tree, in a session of its own (the test's
 * session and group ids are the test's pid), and names itself in
 * zdtm_helper.pid (the runner's no_strays). The peer connects and writes PEER_CHUNK
 * bytes of a counted pattern each time its socket is quiet for
 * PEER_PERIOD_MS, until the test sends it a byte; then it shuts its side
 * down and waits for the test to close. It exits on any error (a reset
 * among them), and after PEER_LIFETIME_S in any case.
 *
 * With ZDTM_TCP_PEER_LISTEN=PORT the test listens on PORT of every
 * address and forks no peer: the runner's ns case (ns/peer-over-veth)
 * gives its net namespace a veth to the host and starts the peer there
 * (this program with ZDTM_TCP_PEER_CONNECT=ADDR:PORT); the test says it
 * has the connection in zdtm_peer.ready.
 *
 * Before the checkpoint the test reads some of the stream; after it, it
 * sends the byte and reads to the end of the stream, checking every byte:
 * a byte lost, doubled or reordered, or a reset, fails the test.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "zdtm.h"

#define PEER_CHUNK		64
#define PEER_PERIOD_MS		5
#define PEER_LIFETIME_S		300
#define BEFORE_LEN		(PEER_CHUNK * 4)

static uint8_t p_byte(uint64_t i) { return (uint8_t)(i * 131 + 7); }

/* The peer is not the test: it says why it stops on its stderr (zdtm_peer.err, or the runner's file). */
static void __attribute__((noreturn)) peer_fail(const char *what)
{
	fprintf(stderr, "tcp_peer's peer: %s: %s\n", what, strerror(errno));
	_exit(1);
}

static void peer(const struct sockaddr_in *srv)
{
	uint8_t buf[PEER_CHUNK];
	uint64_t sent = 0;
	int fd, one = 1;
	FILE *f;

	/* The test's session and group ids are pids that the restore must have free. */
	if (getsid(0) != getpid() && setsid() < 0)
		peer_fail("setsid");
	/* The runner's no_strays: a helper of the test's, not a process a restore left. */
	f = fopen("zdtm_helper.pid", "w");
	if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f))
		peer_fail("zdtm_helper.pid");
	alarm(PEER_LIFETIME_S);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)srv, sizeof(*srv)))
		peer_fail("connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, PEER_PERIOD_MS);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			peer_fail("poll");
		if (n > 0)
			break;	/* the test's byte, or an error */
		for (size_t k = 0; k < sizeof(buf); k++)
			buf[k] = p_byte(sent + k);
		/* A full socket (the lock holds the stream back) waits. */
		ssize_t w = send(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN)
			peer_fail("send");	/* a reset */
		if (w > 0)
			sent += w;
	}
	if (recv(fd, buf, 1, 0) != 1)
		peer_fail("reading the test's byte");
	if (shutdown(fd, SHUT_WR))
		peer_fail("shutdown");
	/* Until the test has read everything and closed. */
	while (recv(fd, buf, sizeof(buf), 0) > 0)
		;
	_exit(0);
}

/* Reads @len bytes (0: to the end of the stream) from stream offset @off; returns how many. */
static uint64_t read_check(int fd, uint64_t off, uint64_t len)
{
	uint8_t buf[4096];
	uint64_t got = 0;

	while (!len || got < len) {
		size_t want = len && len - got < sizeof(buf) ? len - got : sizeof(buf);
		ssize_t n = read(fd, buf, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail_errno("read at stream offset %llu", (unsigned long long)(off + got));
		if (n == 0) {
			if (len)
				fail("the peer closed after %llu bytes", (unsigned long long)(off + got));
			break;
		}
		for (ssize_t k = 0; k < n; k++)
			if (buf[k] != p_byte(off + got + k))
				fail("byte %llu is 0x%02x, expected 0x%02x", (unsigned long long)(off + got + k),
				     buf[k], p_byte(off + got + k));
		got += n;
	}
	return got;
}

/* Our own peer, forked twice so that it is not in the tree; @lfd listens on @srv. */
static void fork_peer(int lfd, const struct sockaddr_in *srv)
{
	pid_t launcher = fork();
	int status;

	if (launcher < 0)
		fail_errno("fork");
	if (launcher == 0) {
		pid_t p = fork();

		if (p == 0) {
			/* Not the test's outfile: a file the tree has open must keep its size. */
			int err = open("zdtm_peer.err", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

			if (err < 0 || dup2(err, 1) < 0 || dup2(err, 2) < 0)
				_exit(1);
			close(lfd);
			peer(srv);
		}
		_exit(p < 0);
	}
	if (waitpid(launcher, &status, 0) != launcher || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("the peer's launcher failed");
}

/* "ADDR:PORT" into @sa; 0 or -1. */
static int parse_addr(const char *s, struct sockaddr_in *sa)
{
	char buf[64];
	char *colon;

	snprintf(buf, sizeof(buf), "%s", s);
	colon = strrchr(buf, ':');
	if (!colon)
		return -1;
	*colon = '\0';
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, buf, &sa->sin_addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in srv = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	const char *connect_to = getenv("ZDTM_TCP_PEER_CONNECT"), *port = getenv("ZDTM_TCP_PEER_LISTEN");
	socklen_t len = sizeof(srv);
	uint64_t after;
	int lfd, fd;

	if (connect_to) {
		if (parse_addr(connect_to, &srv))
			_exit(2);
		peer(&srv);
	}
	test_init(argc, argv);
	if (port) {
		srv.sin_addr.s_addr = htonl(INADDR_ANY);
		srv.sin_port = htons((uint16_t)atoi(port));
	}
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&srv, sizeof(srv)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&srv, &len))
		fail_errno("listen");
	if (port)
		test_ready();	/* the runner then gives us a link and starts the peer */
	else
		fork_peer(lfd, &srv);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		fail_errno("accept");
	close(lfd);
	read_check(fd, 0, BEFORE_LEN);
	if (port)
		close(open("zdtm_peer.ready", O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	else
		test_ready();
	test_wait_checkpoint();

	if (write(fd, "x", 1) != 1)
		fail_errno("telling the peer to stop");
	after = read_check(fd, BEFORE_LEN, 0);
	test_msg("read %llu bytes after the checkpoint\n", (unsigned long long)after);
	close(fd);
	pass();
}
