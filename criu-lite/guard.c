/*
 * The guard process (guard.h): a fork of cr on the other end of a
 * SOCK_SEQPACKET pair. cr's messages tell it the stage and hand it fds to
 * undo; the end of file without a stop message means cr died.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "cr.h"
#include "guard.h"
#include "log.h"
#include "scm.h"
#include "task-fd.h"

/* Within cr's RLIMIT_NOFILE (its hard limit: 20000 here); untouched entries cost no memory. */
#define GUARD_MAX_FDS		(1 << 16)
/* Task fds (guard_keep_task_fd()): entries of the shared board, in pages touched only when used. */
#define GUARD_MAX_TASK_FDS	(1 << 18)
#define CR_EXIT_TIMEOUT_MS	5000

enum guard_msg_type {
	GUARD_STAGE = 1,
	GUARD_KEEP_FD,		/* + the fd (SCM_RIGHTS) */
	GUARD_FORGET_FDS,
	GUARD_STOP,
};

struct guard_msg {
	uint32_t type;
	uint32_t stage;		/* GUARD_STAGE; GUARD_KEEP_FD: when */
	guard_undo_fn fn;	/* GUARD_KEEP_FD */
	uint64_t tag;
	uint32_t after;		/* GUARD_KEEP_FD: kept after this many task fds */
};

/* A task's fd to act on, copied only then: no fd held for it. */
struct task_fd {
	pid_t pid;
	int fd;
	ino_t ino;
	unsigned when;
	guard_undo_fn fn;
	uint64_t tag;
};

/*
 * Memory cr and the guard share: the robust mutex cr holds while it
 * lives, and the task fds, which cr writes there rather than sending a
 * message for each (a dump of 10,000 connections keeps 20,000): an entry
 * counts once nr_task_fds (stored last, released) covers it.
 */
struct board {
	pthread_mutex_t lock;
	uint32_t nr_task_fds;
	struct task_fd task_fds[GUARD_MAX_TASK_FDS];
};

struct guard {
	pid_t pid;
	int sock;
	struct board *board;		/* shared; its lock held by cr while it lives */
};

struct kept_fd {
	int fd;
	unsigned when;
	guard_undo_fn fn;
	uint64_t tag;
	uint32_t after;			/* kept after this many task fds */
};

/* ---- in the guard ---------------------------------------------------------- */

static int recv_msg(int sock, struct guard_msg *m, int *ret_fd, int flags)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n;

	do
		n = recvmsg(sock, &h, MSG_CMSG_CLOEXEC | flags);
	while (n < 0 && errno == EINTR);
	if (n != sizeof(*m))
		return -EPIPE;	/* cr is gone (or broke the protocol: the same to us) */
	*ret_fd = -1;
	c = CMSG_FIRSTHDR(&h);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
	return 0;
}

static void forget(struct kept_fd *kept, unsigned *nr)
{
	for (unsigned i = 0; i < *nr; i++)
		close(kept[i].fd);
	*nr = 0;
}

/*
 * cr's end of the channel closes while cr exits, before the kernel has
 * let go of cr's tracees: wait until cr is a zombie (its pidfd is
 * readable), then they can be seized.
 */
static void wait_cr_gone(int cr_pidfd)
{
	struct pollfd p = { .fd = cr_pidfd, .events = POLLIN };

	if (cr_pidfd >= 0 && poll(&p, 1, CR_EXIT_TIMEOUT_MS) != 1)
		pr_warn("cr is not gone %d ms after it closed the guard's channel", CR_EXIT_TIMEOUT_MS);
}

/*
 * The guard's state, shared by its two threads: the main one reads cr's
 * messages, the watcher waits for cr's death on a robust mutex, which the
 * kernel hands over (EOWNERDEAD) at the start of cr's exit, while cr
 * still holds its tracees: the watcher acts at once, ahead of the end of
 * file that comes only at the end of cr's exit.
 */
struct guard_state {
	pthread_mutex_t lock;
	int sock;
	guard_choose_fn choose;
	void *arg;
	struct kept_fd kept[GUARD_MAX_FDS];
	unsigned nr, stage;
	bool stopping, acted;
	unsigned when;			/* what was chosen, once acted */
	int cr_pidfd;
	struct board *board;
};

static struct guard_state gs;

/* One message of cr's; under gs.lock. Returns false for the stop. */
static bool apply_msg(const struct guard_msg *m, int fd)
{
	switch (m->type) {
	case GUARD_STAGE:
		gs.stage = m->stage;
		break;
	case GUARD_KEEP_FD:
		if (fd < 0) {
			/* The kernel drops an fd past the guard's RLIMIT_NOFILE (MSG_CTRUNC). */
			pr_err("guard: an fd cr gave it to keep did not arrive (out of fd numbers?): "
			       "it cannot undo what cr did to that one");
			break;
		}
		if (gs.acted) {		/* it came in while cr died: acted on like the others */
			if (m->stage == gs.when)
				m->fn(fd, m->tag);
			close(fd);
		} else if (gs.nr < GUARD_MAX_FDS) {
			gs.kept[gs.nr++] = (struct kept_fd){ fd, m->stage, m->fn, m->tag, m->after };
		} else {
			pr_err("guard: more than %u fds to keep: it cannot undo what cr did to this one", GUARD_MAX_FDS);
			close(fd);
		}
		break;
	case GUARD_FORGET_FDS:
		forget(gs.kept, &gs.nr);
		break;
	case GUARD_STOP:
		gs.stopping = true;
		return false;
	}
	return true;
}

/* Task fd @t's undo, on a copy taken now (through @tasks). */
static void undo_task_fd(const struct task_fd *t, struct task_fds *tasks)
{
	int fd = task_fd_copy(tasks, t->pid, t->fd, t->ino);

	if (fd < 0) {
		/* Gone with its task, or closed: nothing is left to undo on it. */
		pr_warn("guard: pid %d: fd %d: %s", t->pid, t->fd, strerror(-fd));
		return;
	}
	t->fn(fd, t->tag);
	close(fd);
}

/* The task fds from the @*from-th down to the @to-th, last first, that were kept for @when. */
static void undo_task_fds(uint32_t *from, uint32_t to, unsigned when, struct task_fds *tasks)
{
	for (; *from > to; (*from)--)
		if (gs.board->task_fds[*from - 1].when == when)
			undo_task_fd(&gs.board->task_fds[*from - 1], tasks);
}

/* cr died: what is to be undone or finished on the kept fds, once; under gs.lock. */
static void act(void)
{
	struct task_fds tasks = TASK_FDS_INIT;
	struct guard_msg m;
	uint32_t nr_task;
	int fd;

	if (gs.acted || gs.stopping)
		return;
	/* What cr sent before it died and the main thread has not read yet. */
	while (!recv_msg(gs.sock, &m, &fd, MSG_DONTWAIT))
		if (!apply_msg(&m, fd))
			return;
	gs.when = gs.choose(gs.arg, gs.stage);
	gs.acted = true;
	/*
	 * The last kept first, as undoing goes: connections out of repair
	 * mode before the network lock that came before them is taken out
	 * (slow: an nft commit), and both before the freezer thaws.
	 */
	nr_task = __atomic_load_n(&gs.board->nr_task_fds, __ATOMIC_ACQUIRE);
	if (nr_task > GUARD_MAX_TASK_FDS)
		nr_task = GUARD_MAX_TASK_FDS;
	for (unsigned i = gs.nr; i-- > 0 && gs.when;) {
		undo_task_fds(&nr_task, gs.kept[i].after, gs.when, &tasks);
		if (gs.kept[i].when == gs.when)
			gs.kept[i].fn(gs.kept[i].fd, gs.kept[i].tag);
	}
	if (gs.when)
		undo_task_fds(&nr_task, 0, gs.when, &tasks);
	task_fds_close(&tasks);
	forget(gs.kept, &gs.nr);
}

static void *watch_cr(void *board)
{
	int r = pthread_mutex_lock(&((struct board *)board)->lock);

	/* 0: cr let go of it, as it does when it stops the guard. */
	if (r == EOWNERDEAD) {
		pthread_mutex_lock(&gs.lock);
		act();
		pthread_mutex_unlock(&gs.lock);
	}
	return NULL;
}

static __noreturn void guard_main(int sock, int cr_pidfd, struct board *board, guard_choose_fn choose,
				  guard_finish_fn finish, void *arg)
{
	pthread_t watcher;
	bool stop = false;

	pthread_mutex_init(&gs.lock, NULL);
	gs.sock = sock;
	gs.cr_pidfd = cr_pidfd;
	gs.board = board;
	gs.choose = choose;
	gs.arg = arg;
	if (pthread_create(&watcher, NULL, watch_cr, board))
		pr_warn("guard: no watcher thread; it acts at the end of cr's exit only");
	for (;;) {
		struct guard_msg m;
		int fd;

		if (recv_msg(sock, &m, &fd, 0))
			break;
		pthread_mutex_lock(&gs.lock);
		stop = !apply_msg(&m, fd);
		pthread_mutex_unlock(&gs.lock);
		if (stop)
			_exit(0);
	}
	pthread_mutex_lock(&gs.lock);
	act();
	pthread_mutex_unlock(&gs.lock);
	pr_warn("cr died at stage %u: the guard finishes for it", gs.stage);
	if (finish) {
		wait_cr_gone(cr_pidfd);
		finish(arg, gs.stage);
	}
	_exit(0);
}

void guard_wait_cr(void)
{
	wait_cr_gone(gs.cr_pidfd);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Terminal signals and the session are cr's: a Ctrl-C must leave us standing. */
void guard_detach_from_cr(const char *name, int *keep, unsigned nr_keep)
{
	static const int sigs[] = { SIGINT, SIGQUIT, SIGHUP, SIGTERM, SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU };
	struct sigaction ign = { .sa_handler = SIG_IGN };
	unsigned from = 3;

	for (unsigned i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &ign, NULL);
	setsid();
	prctl(PR_SET_NAME, name);
	prctl(PR_SET_PDEATHSIG, 0);
	/* Nothing else of cr's stays open: a pipe end held here would hide cr's death from others. */
	qsort(keep, nr_keep, sizeof(*keep), cmp_int);
	for (unsigned i = 0; i < nr_keep; i++) {
		if (keep[i] < (int)from)
			continue;
		if (keep[i] > (int)from)
			close_range(from, keep[i] - 1, 0);
		from = keep[i] + 1;
	}
	close_range(from, ~0U, 0);
}

/* ---- in cr ------------------------------------------------------------------- */

/* The board (struct board), with its robust mutex locked by cr. */
static int board_new(struct board **ret)
{
	pthread_mutexattr_t a;
	struct board *b = mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE,
			       -1, 0);
	pthread_mutex_t *m = &b->lock;
	int err;

	if (b == MAP_FAILED)
		return pr_errno(-errno, "guard: mapping its shared memory");
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	err = -pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
	if (!err)
		err = -pthread_mutex_lock(m);
	if (err) {
		munmap(b, sizeof(*b));
		return pr_errno(err, "guard: its robust mutex");
	}
	*ret = b;
	return 0;
}

static void board_free(struct board *b)
{
	munmap(b, sizeof(*b));
}

int guard_start(guard_choose_fn choose, guard_finish_fn finish, void *arg, const int *keep, unsigned nr_keep,
		struct guard **ret)
{
	_cleanup_free_ struct guard *g = xzalloc(sizeof(*g));
	int sv[2], cr_pidfd, err;
	pid_t pid;

	if (!g)
		return -ENOMEM;
	err = board_new(&g->board);
	if (err)
		return err;
	/* cr's own pidfd, taken here: after the fork, cr may already be gone. */
	cr_pidfd = syscall(SYS_pidfd_open, getpid(), 0);
	if (cr_pidfd < 0) {
		board_free(g->board);
		return pr_errno(-errno, "guard: pidfd_open");
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		err = pr_errno(-errno, "guard: socketpair");
		close(cr_pidfd);
		board_free(g->board);
		return err;
	}
	pid = fork();
	if (pid < 0) {
		err = pr_errno(-errno, "guard: fork");
		close(sv[0]);
		close(sv[1]);
		close(cr_pidfd);
		board_free(g->board);
		return err;
	}
	if (pid == 0) {
		int own[3 + nr_keep];

		own[0] = sv[1];
		own[1] = log_get_fd();
		own[2] = cr_pidfd;
		memcpy(own + 3, keep, sizeof(*keep) * nr_keep);
		close(sv[0]);
		cr_fail_disarm();
		guard_detach_from_cr("cr-guard", own, ARRAY_SIZE(own));
		guard_main(sv[1], cr_pidfd, g->board, choose, finish, arg);
	}
	close(sv[1]);
	close(cr_pidfd);
	g->pid = pid;
	g->sock = sv[0];
	pr_debug("guard %d started", pid);
	*ret = TAKE_PTR(g);
	return 0;
}

static int send_msg(struct guard *g, const struct guard_msg *m, int fd)
{
	if (scm_send(g->sock, m, sizeof(*m), fd) != sizeof(*m))
		return pr_errno(-errno, "guard %d: cannot reach it", g->pid);
	return 0;
}

int guard_stage(struct guard *g, unsigned stage)
{
	return send_msg(g, &(struct guard_msg){ .type = GUARD_STAGE, .stage = stage }, -1);
}

int guard_keep_fd(struct guard *g, int fd, guard_undo_fn fn, uint64_t tag, unsigned when)
{
	return send_msg(g, &(struct guard_msg){ .type = GUARD_KEEP_FD, .stage = when, .fn = fn, .tag = tag,
						 .after = g->board->nr_task_fds }, fd);
}

int guard_keep_task_fd(struct guard *g, pid_t pid, int fd, ino_t ino, guard_undo_fn fn, uint64_t tag,
		       unsigned when)
{
	uint32_t n = g->board->nr_task_fds;

	if (n == GUARD_MAX_TASK_FDS)
		return pr_errno(-ENOSPC, "guard %d: more than %u task fds to keep", g->pid, GUARD_MAX_TASK_FDS);
	g->board->task_fds[n] = (struct task_fd){ pid, fd, ino, when, fn, tag };
	__atomic_store_n(&g->board->nr_task_fds, n + 1, __ATOMIC_RELEASE);
	return 0;
}

int guard_forget_fds(struct guard *g)
{
	__atomic_store_n(&g->board->nr_task_fds, 0, __ATOMIC_RELEASE);
	return send_msg(g, &(struct guard_msg){ .type = GUARD_FORGET_FDS }, -1);
}

int guard_stop(struct guard *g)
{
	int err;

	if (!g)
		return 0;
	pr_debug("guard %d: stopping", g->pid);
	err = send_msg(g, &(struct guard_msg){ .type = GUARD_STOP }, -1);
	pthread_mutex_unlock(&g->board->lock);	/* its watcher then knows cr is not dead */
	close(g->sock);
	if (waitpid(g->pid, NULL, 0) != g->pid && !err)
		err = pr_errno(-errno, "guard %d: waitpid", g->pid);
	pr_debug("guard %d: stopped", g->pid);
	board_free(g->board);
	free(g);
	return err;
}
