/*
 * Tracking between two cr runs: the uffds of a tree (mem-track.c) and the
 * tracker, a small process of cr's that holds them from one round to the
 * next (see mem-track.h).
 *
 * Why a process of cr's and not the fd parked in the task: the task would
 * see an fd it never opened (a close-all loop, /proc/self/fd, a later
 * dump of the tree), and a uffd in its table stays registered when cr is
 * gone. The tracker listens on a SOCK_SEQPACKET unix socket in the image
 * directory of the round that made it (MEM_TRACKER_SOCK), so the next
 * round finds it through --prev-images-dir; it hands the uffds over and
 * exits, and exits alone once every task it tracks is gone. Killing it
 * ends the tracking: the next round copies everything.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "cr.h"
#include "log.h"
#include "mem-track.h"
#include "scm.h"

#define TRACKER_MAGIC	0x6d747263u	/* "crtm" */

struct mem_track_set {
	pid_t *pids;
	int *fds;
	size_t nr, cap;
	bool trusted;			/* the uffds tracked for the parent image */
};

/* The first message: how many uffds follow, one per message, and for which image. */
struct tracker_hello {
	uint32_t magic, count;
	uint8_t dump_id[IMG_DUMP_ID_SIZE];
};

struct tracker_fd_msg {
	uint32_t magic;
	int32_t pid;
};

struct mem_track_set *mem_track_set_new(void)
{
	return xzalloc(sizeof(struct mem_track_set));
}

bool mem_track_set_trusted(const struct mem_track_set *s)
{
	return s && s->trusted;
}

int mem_track_set_add(struct mem_track_set *s, pid_t pid, int fd)
{
	if (s->nr == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		pid_t *p = xrealloc(s->pids, sizeof(*p) * cap);
		int *f = p ? xrealloc(s->fds, sizeof(*f) * cap) : NULL;

		if (p)
			s->pids = p;
		if (!f) {
			close(fd);
			return -ENOMEM;
		}
		s->fds = f;
		s->cap = cap;
	}
	s->pids[s->nr] = pid;
	s->fds[s->nr++] = fd;
	return 0;
}

int mem_track_set_fd(struct mem_track_set *s, pid_t pid)
{
	for (size_t i = 0; s && i < s->nr; i++)
		if (s->pids[i] == pid && s->fds[i] >= 0)
			return TAKE_FD(s->fds[i]);
	return -1;
}

void mem_track_set_free(struct mem_track_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nr; i++)
		if (s->fds[i] >= 0)
			close(s->fds[i]);
	free(s->pids);
	free(s->fds);
	free(s);
}

static int sock_path(int dfd, struct sockaddr_un *sa, socklen_t *ret_len)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	/* Through cr's fd of the directory: whatever the length of its path. */
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s", dfd, MEM_TRACKER_SOCK);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path))
		return pr_errno(-ENAMETOOLONG, "tracker socket path");
	*ret_len = offsetof(struct sockaddr_un, sun_path) + n + 1;
	return 0;
}

static int recv_fd_msg(int sk, void *buf, size_t len, int *ret_fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = ret_fd ? sizeof(cbuf) : 0 };
	struct cmsghdr *c;
	ssize_t n = recvmsg(sk, &mh, MSG_CMSG_CLOEXEC);

	if (n != (ssize_t)len)
		return pr_errno(n < 0 ? -errno : -EPROTO, "the tracker's message (%zd of %zu bytes)", n, len);
	if (!ret_fd)
		return 0;
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
		return pr_errno(-EPROTO, "the tracker sent no uffd");
	memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
	return 0;
}

int mem_tracker_take(int parent_dfd, const uint8_t *parent_dump_id, struct mem_track_set **ret)
{
	struct mem_track_set *s = mem_track_set_new();
	_cleanup_close_ int sk = -EBADF;
	struct tracker_hello h;
	struct sockaddr_un sa;
	socklen_t len;
	int err;

	if (!s)
		return -ENOMEM;
	err = sock_path(parent_dfd, &sa, &len);
	if (!err) {
		sk = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (sk < 0)
			err = pr_errno(-errno, "socket for the tracker");
	}
	if (!err && connect(sk, (struct sockaddr *)&sa, len) < 0) {
		pr_warn("no write tracking from the parent image (its tracker: %s): every page is copied",
			strerror(errno));
		*ret = s;
		return 0;
	}
	if (!err)
		err = recv_fd_msg(sk, &h, sizeof(h), NULL);
	if (!err && h.magic != TRACKER_MAGIC)
		err = pr_errno(-EPROTO, "the tracker's socket answers no tracker's hello");
	for (uint32_t i = 0; !err && i < h.count; i++) {
		struct tracker_fd_msg m;
		int fd;

		err = recv_fd_msg(sk, &m, sizeof(m), &fd);
		if (!err && m.magic != TRACKER_MAGIC) {
			close(fd);
			err = pr_errno(-EPROTO, "the tracker sent a bad message");
		}
		if (!err)
			err = mem_track_set_add(s, m.pid, fd);
	}
	if (err) {
		mem_track_set_free(s);
		return err;
	}
	s->trusted = !memcmp(h.dump_id, parent_dump_id, IMG_DUMP_ID_SIZE);
	if (!s->trusted)
		pr_warn("the tracker in the parent image tracked for another image: every page is copied");
	pr_info("took over the write tracking of %u tasks from the tracker", h.count);
	*ret = s;
	return 0;
}

static int send_fd_msg(int sk, const void *buf, size_t len, int fd)
{
	return scm_send(sk, buf, len, fd) == (ssize_t)len ? 0 : -1;
}

/* The tracker's answer to a cr of the same user: everything, then it is done. */
static void tracker_serve(int sk, const struct mem_track_set *s, const uint8_t *dump_id)
{
	struct tracker_hello h = { .magic = TRACKER_MAGIC, .count = s->nr };
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(sk, SOL_SOCKET, SO_PEERCRED, &cred, &len) || cred.uid != geteuid())
		return;
	memcpy(h.dump_id, dump_id, IMG_DUMP_ID_SIZE);
	if (send_fd_msg(sk, &h, sizeof(h), -1))
		return;
	for (size_t i = 0; i < s->nr; i++) {
		struct tracker_fd_msg m = { .magic = TRACKER_MAGIC, .pid = s->pids[i] };

		if (send_fd_msg(sk, &m, sizeof(m), s->fds[i]))
			return;
	}
}

static bool keep_fd(int fd, int lsk, const int *pidfds, const struct mem_track_set *s)
{
	if (fd == lsk)
		return true;
	for (size_t i = 0; i < s->nr; i++)
		if (fd == s->fds[i] || fd == pidfds[i])
			return true;
	return false;
}

/* In the tracker: only its socket, the uffds and the pidfds stay open (no pipe of a caller, no image lock). */
static void tracker_close_others(int lsk, const int *pidfds, const struct mem_track_set *s)
{
	int max = (int)sysconf(_SC_OPEN_MAX);
	int null = open("/dev/null", O_RDWR);

	for (int fd = 0; fd < 3; fd++)
		if (null >= 0 && !keep_fd(fd, lsk, pidfds, s))
			dup2(null, fd);
	for (int fd = 3; fd < max && fd < 65536; fd++)
		if (!keep_fd(fd, lsk, pidfds, s))
			close(fd);
}

static _Noreturn void tracker_main(int lsk, const int *pidfds, const struct mem_track_set *s,
				   const uint8_t *dump_id)
{
	struct pollfd *p = calloc(s->nr + 1, sizeof(*p));
	size_t alive = s->nr;

	tracker_close_others(lsk, pidfds, s);
	if (chdir("/"))
		_exit(1);
	if (!p)
		_exit(1);
	p[0] = (struct pollfd){ .fd = lsk, .events = POLLIN };
	for (size_t i = 0; i < s->nr; i++)
		p[i + 1] = (struct pollfd){ .fd = pidfds[i], .events = POLLIN };
	while (alive) {
		if (poll(p, s->nr + 1, -1) < 0)
			continue;
		if (p[0].revents & POLLIN) {
			int sk = accept4(lsk, NULL, NULL, SOCK_CLOEXEC);

			if (sk >= 0) {
				tracker_serve(sk, s, dump_id);
				_exit(0);
			}
		}
		/* A pidfd is readable once its task exited: its uffd tracks nothing. */
		for (size_t i = 0; i < s->nr; i++)
			if (p[i + 1].fd >= 0 && (p[i + 1].revents & (POLLIN | POLLHUP))) {
				p[i + 1].fd = -1;
				alive--;
			}
	}
	_exit(0);
}

int mem_tracker_leave(struct mem_track_set *s, int dfd, const uint8_t *dump_id)
{
	_cleanup_free_ int *pidfds = NULL;
	_cleanup_close_ int lsk = -EBADF;
	struct sockaddr_un sa;
	socklen_t len;
	pid_t pid;
	int err, status;

	if (!s->nr)
		return 0;
	pidfds = xmalloc(sizeof(int) * s->nr);
	if (!pidfds)
		return -ENOMEM;
	for (size_t i = 0; i < s->nr; i++)
		pidfds[i] = -1;
	err = sock_path(dfd, &sa, &len);
	for (size_t i = 0; i < s->nr && !err; i++) {
		pidfds[i] = syscall(SYS_pidfd_open, s->pids[i], 0);
		if (pidfds[i] < 0)
			err = pr_errno(-errno, "pid %d: pidfd_open for the tracker", s->pids[i]);
	}
	if (!err && unlinkat(dfd, MEM_TRACKER_SOCK, 0) && errno != ENOENT)
		err = pr_errno(-errno, "removing the old %s", MEM_TRACKER_SOCK);
	if (!err) {
		lsk = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (lsk < 0)
			err = pr_errno(-errno, "socket for the tracker");
	}
	if (!err && (bind(lsk, (struct sockaddr *)&sa, len) || listen(lsk, 1)))
		err = pr_errno(-errno, "binding the tracker's socket %s", MEM_TRACKER_SOCK);
	if (!err)
		err = cr_fail_point("tracker");
	if (!err) {
		/* Twice: the tracker is nobody's child of ours, in a session of its own. */
		pid = fork();
		if (pid < 0)
			err = pr_errno(-errno, "fork of the tracker");
		else if (!pid) {
			signal(SIGPIPE, SIG_IGN);
			if (setsid() < 0 || (pid = fork()) < 0)
				_exit(1);
			if (pid)
				_exit(0);
			tracker_main(lsk, pidfds, s, dump_id);
		}
	}
	if (!err && (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)))
		err = pr_errno(-ECHILD, "the tracker did not start");
	for (size_t i = 0; i < s->nr; i++)
		if (pidfds[i] >= 0)
			close(pidfds[i]);
	if (err)
		unlinkat(dfd, MEM_TRACKER_SOCK, 0);
	else
		pr_info("a tracker holds the write tracking of %zu tasks, at %s in the image directory", s->nr,
			MEM_TRACKER_SOCK);
	return err;
}
