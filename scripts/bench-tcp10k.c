/*
 * bench-tcp10k NCONNS READY-FILE: the benchmark's many-connections target
 * (scripts/bench, workload tcp). A server listens on 127.0.0.1 (a port the
 * kernel picks) and forks a client, which makes NCONNS loopback TCP
 * connections to it: both ends of every connection are in the tree, the
 * server holds the accepted ends and the listener, the client the
 * connecting ends. On each connection the client sends a record naming
 * it, the server reads it and answers with a record of its own, and the
 * client sends one more: at the dump every connection has unread data in
 * both directions (16 bytes each way). Then READY-FILE is created and both
 * wait in sigsuspend().
 *
 * On SIGUSR1 each process checks every connection it holds: the record
 * the peer had queued before the dump is there, for this connection; then
 * it sends a fresh record on each and reads the peer's (every connection
 * still carries data both ways). It writes "ok" or "bad: <the first
 * difference>" to READY-FILE.check.0 (server) or READY-FILE.check.1
 * (client).
 *
 * The soft RLIMIT_NOFILE is raised to the hard limit first.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CONNS	50000
#define FIRST_FD	3
#define MAGIC		0x74637031u	/* "tcp1" */
#define READ_TIMEOUT_MS	30000

enum rec_kind { REC_HELLO = 'C', REC_ANSWER = 'S', REC_QUEUED = 'c', REC_AFTER = 'x' };

struct rec {
	uint32_t magic;
	uint32_t conn;
	uint32_t kind;
	uint32_t from;		/* 0 server, 1 client */
};

static volatile sig_atomic_t check_requested;
static char reason[256];
static int nconns;
static int *fds;		/* this process's end of each connection, by index */

static void on_usr1(int sig)
{
	(void)sig;
	check_requested = 1;
}

static int bad(const char *fmt, int conn, int err)
{
	int n = snprintf(reason, sizeof(reason), "bad: ");

	snprintf(reason + n, sizeof(reason) - n - 1, fmt, conn, strerror(err));
	strcat(reason, "\n");
	return -1;
}

static int send_rec(int fd, uint32_t conn, enum rec_kind kind, uint32_t from)
{
	struct rec r = { MAGIC, conn, kind, from };

	return send(fd, &r, sizeof(r), MSG_NOSIGNAL) == sizeof(r) ? 0 : -1;
}

/* Reads one whole record within READ_TIMEOUT_MS. 0, or -1 with errno. */
static int recv_rec(int fd, struct rec *r)
{
	size_t got = 0;

	while (got < sizeof(*r)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int pr = poll(&p, 1, READ_TIMEOUT_MS);

		if (pr == 0)
			errno = ETIMEDOUT;
		if (pr <= 0)
			return -1;
		n = recv(fd, (char *)r + got, sizeof(*r) - got, 0);
		if (n == 0)
			errno = ECONNRESET;
		if (n <= 0)
			return -1;
		got += n;
	}
	return 0;
}

static int expect_rec(int fd, uint32_t conn, enum rec_kind kind, uint32_t from)
{
	struct rec r;

	if (recv_rec(fd, &r))
		return bad("connection %d: reading the peer's record: %s", conn, errno);
	if (r.magic != MAGIC || r.conn != conn || r.kind != kind || r.from != from)
		return bad("connection %d: the peer's record is wrong%.0s", conn, 0);
	return 0;
}

/* What the peer queued before the dump, then a round trip. */
static int check(int self)
{
	enum rec_kind queued = self ? REC_ANSWER : REC_QUEUED;

	for (int i = 0; i < nconns; i++)
		if (expect_rec(fds[i], i, queued, !self))
			return -1;
	for (int i = 0; i < nconns; i++)
		if (send_rec(fds[i], i, REC_AFTER, self))
			return bad("connection %d: send: %s", i, errno);
	for (int i = 0; i < nconns; i++)
		if (expect_rec(fds[i], i, REC_AFTER, !self))
			return -1;
	return 0;
}

static int write_file(const char *path, const char *text)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, getpid());
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fputs(text, f);
	if (fclose(f))
		return -1;
	return rename(tmp, path);
}

static int client(const struct sockaddr_in *sa, int done_wr)
{
	for (int i = 0; i < nconns; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0 || connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) ||
		    send_rec(fd, i, REC_HELLO, 1) || send_rec(fd, i, REC_QUEUED, 1)) {
			perror("bench-tcp10k: client: connect");
			return 1;
		}
		fds[i] = fd;
	}
	if (write(done_wr, "d", 1) != 1) {
		perror("bench-tcp10k: client: done");
		return 1;
	}
	close(done_wr);
	return 0;
}

static int server(int lsk)
{
	for (int n = 0; n < nconns; n++) {
		struct rec r;
		int fd = accept(lsk, NULL, NULL);

		if (fd < 0 || recv_rec(fd, &r)) {
			perror("bench-tcp10k: server: accept");
			return 1;
		}
		if (r.magic != MAGIC || r.kind != REC_HELLO || r.conn >= (uint32_t)nconns || fds[r.conn] >= 0) {
			fprintf(stderr, "bench-tcp10k: server: a bad hello\n");
			return 1;
		}
		fds[r.conn] = fd;
		if (send_rec(fd, r.conn, REC_ANSWER, 0)) {
			perror("bench-tcp10k: server: send");
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(addr);
	char checkf[4096], c;
	sigset_t usr1, waitmask;
	struct rlimit rl;
	int lsk, pipefd[2], self = 0, one = 1;
	pid_t pid;
	char *end;
	long n;

	if (argc != 3 || (n = strtol(argv[1], &end, 10)) < 1 || n > MAX_CONNS || *end) {
		fprintf(stderr, "usage: bench-tcp10k NCONNS READY-FILE\n");
		return 2;
	}
	nconns = (int)n;
	close_range(FIRST_FD, ~0U, 0);
	if (setsid() < 0 || getrlimit(RLIMIT_NOFILE, &rl)) {
		perror("bench-tcp10k: setsid, getrlimit");
		return 1;
	}
	rl.rlim_cur = rl.rlim_max;
	if ((rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)nconns + FIRST_FD + 4) || setrlimit(RLIMIT_NOFILE, &rl)) {
		fprintf(stderr, "bench-tcp10k: RLIMIT_NOFILE (hard %llu) is too low for %d connections\n",
			(unsigned long long)rl.rlim_max, nconns);
		return 1;
	}
	fds = malloc(nconns * sizeof(*fds));
	if (!fds)
		return 1;
	memset(fds, 0xff, nconns * sizeof(*fds));
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &waitmask);
	sigdelset(&waitmask, SIGUSR1);
	lsk = socket(AF_INET, SOCK_STREAM, 0);
	if (lsk < 0 || sigaction(SIGUSR1, &sa, NULL) || setsockopt(lsk, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lsk, (struct sockaddr *)&addr, sizeof(addr)) || listen(lsk, SOMAXCONN) ||
	    getsockname(lsk, (struct sockaddr *)&addr, &alen) || pipe2(pipefd, O_CLOEXEC)) {
		perror("bench-tcp10k: listener");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("bench-tcp10k: fork");
		return 1;
	}
	if (pid == 0) {
		self = 1;
		close(lsk);
		close(pipefd[0]);
		if (client(&addr, pipefd[1]))
			_exit(1);
	} else {
		close(pipefd[1]);
		if (server(lsk) || read(pipefd[0], &c, 1) != 1) {
			fprintf(stderr, "bench-tcp10k: the client did not finish\n");
			kill(pid, SIGKILL);
			return 1;
		}
		close(pipefd[0]);
		if (write_file(argv[2], "ready\n")) {
			perror("bench-tcp10k: ready file");
			kill(pid, SIGKILL);
			return 1;
		}
	}
	snprintf(checkf, sizeof(checkf), "%s.check.%d", argv[2], self);
	for (;;) {
		sigsuspend(&waitmask);
		if (check_requested) {
			check_requested = 0;
			write_file(checkf, check(self) ? reason : "ok\n");
			/*
			 * Killed next: resets, not FINs, so no 4-tuple is left in
			 * TIME_WAIT (the next run needs 10,000 ports again).
			 */
			for (int i = 0; i < nconns; i++)
				setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &(struct linger){ 1, 0 },
					   sizeof(struct linger));
		}
	}
}
