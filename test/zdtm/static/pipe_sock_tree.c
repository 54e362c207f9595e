/*
 * A tree of five processes, six threads, with data in flight on pipes and
 * socketpairs at the checkpoint:
 *
 *   root --pipe 1--> copier --pipe 2--> reader
 *   root <==stream socketpair==> peer (main thread)
 *                                peer (second thread) <==seqpacket==> leaf
 *
 * The leaf is the peer's child. Every byte stream is one pattern
 * (pattern_fill) per direction: before the checkpoint each sender queues
 * its first part; after it, each sends the rest and closes or shuts down
 * its end, and each receiver checks the whole stream, then EOF. A byte
 * lost, doubled or reordered anywhere fails the test, as does a pipe or
 * socket that no longer carries data. The seqpacket messages keep their
 * boundaries. The peer's second thread waits on a condition variable
 * over the checkpoint and serves the seqpacket pair after it.
 *
 * The fault suite (test/zdtm/fault) kills cr while it dumps or restores
 * this tree; a tree that was left running must still pass.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

/* Pipes: the root writes PIPE_TOTAL bytes, PIPE_FIRST before the checkpoint; the copier has forwarded PIPE_COPIED. */
#define PIPE_FIRST	40000		/* multiples of 8: pattern words */
#define PIPE_COPIED	16000
#define PIPE_TOTAL	(PIPE_FIRST + 120000)
#define PIPE_SEED	0x5057000000000001ULL

/* Stream pair: each side queues SK_FIRST bytes, sends SK_REST after. */
#define SK_FIRST	24000
#define SK_REST		8000
#define SK_TOTAL	(SK_FIRST + SK_REST)
#define SK_SEED_ROOT	0x534b000000000002ULL
#define SK_SEED_PEER	0x534b000000000003ULL

/* Seqpacket pair: SQ_FIRST messages queued each way, SQ_REST after. */
#define SQ_FIRST	6
#define SQ_REST		4
#define SQ_MAX		2048
#define SQ_SEED_PEER	0x5351000000000004ULL
#define SQ_SEED_LEAF	0x5351000000000005ULL

static int p1[2], p2[2], sk[2], sq[2];

/* Reads what should be the whole stream of @len bytes of pattern @seed, then EOF. */
static void check_stream(const char *name, int fd, size_t len, uint64_t seed)
{
	static char buf[PIPE_TOTAL + 1];
	size_t n = read_full(fd, buf, len + 1);
	long bad;

	if (n != len)
		fail("%s: the stream has %zu bytes, expected %zu", name, n, len);
	bad = pattern_check(buf, len, seed);
	if (bad >= 0)
		fail("%s: wrong data at byte %ld of the stream", name, bad);
}

/* ---- the seqpacket pair: message k has its own length and pattern ---------- */
static size_t sq_len(int k)
{
	return 8 * (1 + (k * 97) % (SQ_MAX / 8));
}

static void sq_send(int fd, uint64_t seed, int from, int to)
{
	static char buf[SQ_MAX];

	for (int k = from; k < to; k++) {
		pattern_fill(buf, sq_len(k), seed + k * 1000);
		if (send(fd, buf, sq_len(k), 0) != (ssize_t)sq_len(k))
			fail_errno("seqpacket: sending message %d", k);
	}
}

/* All SQ_FIRST + SQ_REST messages from the other side, with their boundaries, then EOF. */
static void sq_check(const char *name, int fd, uint64_t seed)
{
	static char buf[SQ_MAX + 8];

	for (int k = 0; k <= SQ_FIRST + SQ_REST; k++) {
		ssize_t n;

		do
			n = recv(fd, buf, sizeof(buf), 0);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			fail_errno("%s: message %d", name, k);
		if (k == SQ_FIRST + SQ_REST) {
			if (n != 0)
				fail("%s: %zd more bytes after the last message", name, n);
			break;
		}
		if ((size_t)n != sq_len(k))
			fail("%s: message %d is %zd bytes, expected %zu", name, k, n, sq_len(k));
		if (pattern_check(buf, n, seed + k * 1000) >= 0)
			fail("%s: message %d has other bytes than were sent", name, k);
	}
}

/* ---- processes ------------------------------------------------------------- */
__attribute__((noreturn))
static void copier(void)
{
	close(p1[1]);
	close(p2[0]);
	close(sk[0]);
	close(sk[1]);
	if (copy_fd(p1[0], p2[1], PIPE_COPIED) != PIPE_COPIED)
		fail("copier: short read before the checkpoint");
	tree_send(tree_root, 0);
	test_wait_checkpoint();

	copy_fd(p1[0], p2[1], SIZE_MAX);
	close(p2[1]);
	tree_exit(0);
}

__attribute__((noreturn))
static void reader(void)
{
	close(p1[0]);
	close(p1[1]);
	close(p2[1]);
	close(sk[0]);
	close(sk[1]);
	tree_send(tree_root, 0);
	test_wait_checkpoint();

	check_stream("reader: pipe 2", p2[0], PIPE_TOTAL, PIPE_SEED);
	tree_exit(0);
}

__attribute__((noreturn))
static void leaf(pid_t peer)
{
	close(sq[0]);
	close(sk[1]);
	sq_send(sq[1], SQ_SEED_LEAF, 0, SQ_FIRST);
	tree_send(peer, 0);
	test_wait_checkpoint();

	sq_send(sq[1], SQ_SEED_LEAF, SQ_FIRST, SQ_FIRST + SQ_REST);
	if (shutdown(sq[1], SHUT_WR))
		fail_errno("leaf: shutdown");
	sq_check("leaf: seqpacket", sq[1], SQ_SEED_PEER);
	tree_exit(0);
}

static pthread_mutex_t go_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go_cond = PTHREAD_COND_INITIALIZER;
static int go;

/* The peer's second thread: the seqpacket side, after the checkpoint. */
static void *sq_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&go_lock);
	while (!go)
		pthread_cond_wait(&go_cond, &go_lock);
	pthread_mutex_unlock(&go_lock);

	sq_send(sq[0], SQ_SEED_PEER, SQ_FIRST, SQ_FIRST + SQ_REST);
	if (shutdown(sq[0], SHUT_WR))
		fail_errno("peer thread: shutdown");
	sq_check("peer thread: seqpacket", sq[0], SQ_SEED_LEAF);
	return NULL;
}

/* Stream pair: send the rest of our stream, shut down, check the other's. */
static void sk_finish(const char *name, int fd, uint64_t own, uint64_t other)
{
	static char buf[SK_TOTAL];

	pattern_fill(buf, SK_TOTAL, own);
	write_full(fd, buf + SK_FIRST, SK_REST);
	if (shutdown(fd, SHUT_WR))
		fail_errno("%s: shutdown", name);
	check_stream(name, fd, SK_TOTAL, other);
}

__attribute__((noreturn))
static void peer(void)
{
	static char buf[SK_TOTAL];
	pthread_t th;
	sigset_t term;
	pid_t kid;

	close(p1[0]);
	close(p1[1]);
	close(p2[0]);
	close(p2[1]);
	close(sk[0]);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sq))
		fail_errno("socketpair seqpacket");
	kid = fork();
	if (kid < 0)
		fail_errno("fork");
	if (kid == 0)
		leaf(getppid());
	close(sq[1]);
	sq_send(sq[0], SQ_SEED_PEER, 0, SQ_FIRST);
	pattern_fill(buf, SK_TOTAL, SK_SEED_PEER);
	write_full(sk[1], buf, SK_FIRST);

	/* SIGTERM is for the main thread: test_wait_checkpoint() waits for it. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term, NULL);
	if (pthread_create(&th, NULL, sq_thread, NULL))
		fail("pthread_create failed");
	pthread_sigmask(SIG_UNBLOCK, &term, NULL);
	tree_recv(kid);
	tree_send(tree_root, 0);
	test_wait_checkpoint();
	tree_forward(&kid, 1);

	pthread_mutex_lock(&go_lock);
	go = 1;
	pthread_cond_signal(&go_cond);
	pthread_mutex_unlock(&go_lock);
	sk_finish("peer: stream", sk[1], SK_SEED_PEER, SK_SEED_ROOT);
	if (pthread_join(th, NULL))
		fail("pthread_join failed");
	tree_exit(tree_collect(&kid, 1));
}

typedef void (*child_fn)(void);

static pid_t spawn(child_fn fn)
{
	pid_t pid = fork();

	if (pid < 0)
		fail_errno("fork");
	if (pid == 0)
		fn();
	return pid;
}

int main(int argc, char **argv)
{
	static char buf[PIPE_TOTAL], skbuf[SK_TOTAL];
	pid_t kids[3];

	test_init(argc, argv);
	tree_init();
	pattern_fill(buf, PIPE_TOTAL, PIPE_SEED);
	pattern_fill(skbuf, SK_TOTAL, SK_SEED_ROOT);

	if (pipe(p1) || pipe(p2))
		fail_errno("pipe");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sk))
		fail_errno("socketpair stream");
	kids[0] = spawn(copier);
	kids[1] = spawn(reader);
	kids[2] = spawn(peer);
	close(p1[0]);
	close(p2[0]);
	close(p2[1]);
	close(sk[1]);

	write_full(p1[1], buf, PIPE_FIRST);
	write_full(sk[0], skbuf, SK_FIRST);
	for (int i = 0; i < 3; i++)
		tree_recv(kids[i]);

	test_ready();
	test_wait_checkpoint();
	tree_forward(kids, 3);

	write_full(p1[1], buf + PIPE_FIRST, PIPE_TOTAL - PIPE_FIRST);
	close(p1[1]);
	sk_finish("root: stream", sk[0], SK_SEED_ROOT, SK_SEED_PEER);
	tree_exit(tree_collect(kids, 3));
}
