/*
 * Bound unix sockets: a stream listener on a path (relative to the work
 * dir, mode 0600, backlog 7), a seqpacket listener on an abstract name, a
 * datagram socket on a path with messages queued by an unbound sender, a
 * datagram socket whose path was unlinked after bind (a message queued
 * to it before), and an abstract datagram socket connected to the first
 * datagram socket.
 *
 * After restore every socket has the name it had (getsockname), the
 * listeners still listen with their backlog and accept new connections by
 * their names, the queued messages come back with their boundaries and an
 * unnamed sender, the unlinked path is still absent, the socket file
 * mode is kept, and the connected socket still sends to its peer.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "zdtm.h"

#define PATH_LISTEN	"zdtm_unix_bound.listen"
#define PATH_DGRAM	"zdtm_unix_bound.dgram"
#define PATH_GONE	"zdtm_unix_bound.gone"
#define BACKLOG		7
#define NR_DGRAMS	3

enum { S_LISTEN, S_ABSTRACT, S_DGRAM, S_GONE, S_CONN, S_SENDER, NR_SK };

struct sk {
	const char *what;
	int fd;
	struct sockaddr_un addr;
	socklen_t len;
};

static struct sk sks[NR_SK];

static socklen_t make_addr(struct sockaddr_un *sa, const char *name, int abstract)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (abstract) {
		snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "%s.%d", name, getpid());
		return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sa->sun_path + 1);
	}
	snprintf(sa->sun_path, sizeof(sa->sun_path), "%s", name);
	return offsetof(struct sockaddr_un, sun_path) + strlen(name) + 1;
}

static int new_sk(int idx, const char *what, int type, const char *name, int abstract)
{
	struct sk *s = &sks[idx];

	s->what = what;
	s->fd = socket(AF_UNIX, type, 0);
	if (s->fd < 0)
		fail_errno("socket %s", what);
	if (name) {
		s->len = make_addr(&s->addr, name, abstract);
		if (bind(s->fd, (struct sockaddr *)&s->addr, s->len))
			fail_errno("bind %s", what);
	}
	return s->fd;
}

static void check_name(int idx)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);

	if (getsockname(sks[idx].fd, (struct sockaddr *)&sa, &len))
		fail_errno("getsockname %s", sks[idx].what);
	if (!sks[idx].len) {
		if (len != sizeof(sa_family_t))
			fail("%s: has a name (length %u) it never had", sks[idx].what, len);
		return;
	}
	if (len != sks[idx].len || memcmp(&sa, &sks[idx].addr, len))
		fail("%s: name '%s' (length %u), expected '%s' (length %u)", sks[idx].what,
		     sa.sun_path[0] ? sa.sun_path : sa.sun_path + 1, len,
		     sks[idx].addr.sun_path[0] ? sks[idx].addr.sun_path : sks[idx].addr.sun_path + 1,
		     sks[idx].len);
}

/* A new client connects by name, the listener accepts, one byte each way. */
static void check_listener(int idx, int type)
{
	int acc = -1, c = socket(AF_UNIX, type, 0), v = 0;
	socklen_t len = sizeof(v);
	char b = 0;

	if (getsockopt(sks[idx].fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) || !v)
		fail("%s: not listening after restore", sks[idx].what);
	if (c < 0 || connect(c, (struct sockaddr *)&sks[idx].addr, sks[idx].len))
		fail_errno("%s: connecting to it after restore", sks[idx].what);
	acc = accept(sks[idx].fd, NULL, NULL);
	if (acc < 0)
		fail_errno("%s: accept after restore", sks[idx].what);
	if (write(c, "q", 1) != 1 || read(acc, &b, 1) != 1 || b != 'q')
		fail_errno("%s: talking over an accepted connection", sks[idx].what);
	close(acc);
	close(c);
}

static void check_msg(int idx, const char *want, int from_unnamed)
{
	char buf[256];
	struct sockaddr_un from;
	socklen_t flen = sizeof(from);
	ssize_t n = recvfrom(sks[idx].fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);

	if (n < 0)
		fail_errno("%s: expected message '%s'", sks[idx].what, want);
	if ((size_t)n != strlen(want) + 1 || strcmp(buf, want))
		fail("%s: message of %zd bytes '%.*s', expected '%s'", sks[idx].what, n, (int)n, buf, want);
	if (from_unnamed && flen > sizeof(sa_family_t))
		fail("%s: message '%s' comes from a named sender (length %u)", sks[idx].what, want, flen);
}

int main(int argc, char **argv)
{
	char msg[64];
	struct stat st;
	struct sockaddr_un sa;
	socklen_t len;

	test_init(argc, argv);
	unlink(PATH_LISTEN);
	unlink(PATH_DGRAM);
	unlink(PATH_GONE);

	new_sk(S_LISTEN, "path listener", SOCK_STREAM, PATH_LISTEN, 0);
	if (listen(sks[S_LISTEN].fd, BACKLOG) || chmod(PATH_LISTEN, 0600))
		fail_errno("listen/chmod " PATH_LISTEN);
	new_sk(S_ABSTRACT, "abstract seqpacket listener", SOCK_SEQPACKET, "zdtm_unix_bound.abstract", 1);
	if (listen(sks[S_ABSTRACT].fd, BACKLOG))
		fail_errno("listen abstract");
	new_sk(S_DGRAM, "path dgram", SOCK_DGRAM, PATH_DGRAM, 0);
	new_sk(S_GONE, "unlinked dgram", SOCK_DGRAM, PATH_GONE, 0);
	new_sk(S_CONN, "abstract dgram connected", SOCK_DGRAM, "zdtm_unix_bound.conn", 1);
	new_sk(S_SENDER, "unbound sender", SOCK_DGRAM, NULL, 0);

	for (int k = 0; k < NR_DGRAMS; k++) {
		snprintf(msg, sizeof(msg), "message %d%.*s", k, k * 20, "..................................................................");
		if (sendto(sks[S_SENDER].fd, msg, strlen(msg) + 1, 0,
			   (struct sockaddr *)&sks[S_DGRAM].addr, sks[S_DGRAM].len) < 0)
			fail_errno("sendto " PATH_DGRAM);
	}
	if (sendto(sks[S_SENDER].fd, "to the gone one", 16, 0,
		   (struct sockaddr *)&sks[S_GONE].addr, sks[S_GONE].len) < 0)
		fail_errno("sendto " PATH_GONE);
	if (unlink(PATH_GONE))
		fail_errno("unlink " PATH_GONE);
	if (connect(sks[S_CONN].fd, (struct sockaddr *)&sks[S_DGRAM].addr, sks[S_DGRAM].len))
		fail_errno("connect to " PATH_DGRAM);

	test_ready();
	test_wait_checkpoint();

	for (int i = 0; i < NR_SK; i++)
		check_name(i);
	if (stat(PATH_LISTEN, &st) || !S_ISSOCK(st.st_mode) || (st.st_mode & 07777) != 0600)
		fail("%s: not a socket file of mode 0600 after restore", PATH_LISTEN);
	if (stat(PATH_GONE, &st) == 0 || errno != ENOENT)
		fail("%s: exists after restore; it was unlinked", PATH_GONE);
	for (int k = 0; k < NR_DGRAMS; k++) {
		snprintf(msg, sizeof(msg), "message %d%.*s", k, k * 20, "..................................................................");
		check_msg(S_DGRAM, msg, 1);
	}
	check_msg(S_GONE, "to the gone one", 1);
	if (recv(sks[S_DGRAM].fd, msg, sizeof(msg), MSG_DONTWAIT) != -1 || errno != EAGAIN)
		fail("%s: more messages than were queued", sks[S_DGRAM].what);
	check_listener(S_LISTEN, SOCK_STREAM);
	check_listener(S_ABSTRACT, SOCK_SEQPACKET);

	/* The connected one sends to its peer, which sees its name as the sender. */
	if (send(sks[S_CONN].fd, "hi", 3, 0) != 3)
		fail_errno("send on the connected socket");
	len = sizeof(sa);
	if (recvfrom(sks[S_DGRAM].fd, msg, sizeof(msg), 0, (struct sockaddr *)&sa, &len) != 3 ||
	    len != sks[S_CONN].len || memcmp(&sa, &sks[S_CONN].addr, len))
		fail("the connected socket's message did not arrive from its name");
	if (sendto(sks[S_SENDER].fd, "again", 6, 0, (struct sockaddr *)&sks[S_DGRAM].addr, sks[S_DGRAM].len) != 6)
		fail_errno("sendto " PATH_DGRAM " after restore");
	check_msg(S_DGRAM, "again", 1);
	unlink(PATH_LISTEN);
	unlink(PATH_DGRAM);
	pass();
}
