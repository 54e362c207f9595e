/*
 * bench-fds NFDS MIX DIR READY-FILE: the benchmark's many-fds target. One
 * process holds NFDS fds next to stdio (fds 3 .. NFDS + 2), of the kinds
 * in MIX, a comma-separated list of
 *   files    regular files: up to MAX_FILES files of 4 to 8 KiB in DIR
 *            (created here, content unique per file), each opened several
 *            times (read-only, read-write, O_NONBLOCK, O_WRONLY|O_APPEND)
 *            at a position unique to the open file description; a quarter
 *            of the fds are dup()s of these, so descriptions are shared
 *   null     /dev/null, read-write or write-only
 *   pipes    pipes, both ends, every other one with data in it, every
 *            third O_NONBLOCK
 *   unix     unix socketpairs, stream, datagram and seqpacket; every other
 *            pair has data queued, every fourth in both directions (two
 *            messages each way for datagram and seqpacket)
 *   eventfd  eventfds with a count of 1 or more, every other one
 *            EFD_SEMAPHORE, every third EFD_NONBLOCK
 * or "all" for all of them. NFDS is shared out in the proportions of
 * kind_share[] among the kinds in MIX; the fds of all kinds are created in
 * one fixed pseudo-random order, so their numbers interleave. Every fd
 * whose number is a multiple of 3 has FD_CLOEXEC.
 *
 * The soft RLIMIT_NOFILE is raised to the hard limit first. Once every fd
 * is open and has passed the check below, READY-FILE is created and the
 * process waits in sigsuspend(). On SIGUSR1 it checks every fd and writes
 * "ok" or "bad: <the first difference>" to READY-FILE.check.0 (the name
 * bench-tree uses for its root):
 *   - /proc/self/fd lists exactly fds 0 .. NFDS + 2;
 *   - every fd: FD_CLOEXEC, access mode, O_APPEND, O_NONBLOCK, file type;
 *   - files: inode, size, position, the byte at the position (pread), the
 *     same description as the fd it was dup()ed from and not the same as
 *     the previous description of the same file (kcmp);
 *   - /dev/null: the device; pipes: both ends are one pipe, the data in it;
 *   - unix: type, the queued messages with their boundaries, and that the
 *     two ends are connected (a probe byte);
 *   - eventfd: the count, and semaphore mode.
 * Data is read to be compared and then written back in order, so the check
 * leaves every fd as it found it and can be repeated.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define FIRST_FD	3		/* after stdio */
#define MAX_FDS		100000
#define MAX_FILES	500
#define OPENS_PER_FILE	12		/* descriptions per file, about */
#define FILE_MIN	4096		/* file sizes: FILE_MIN .. 2 * FILE_MIN - 1 */
#define MAX_MSG		2048		/* longest queued pipe or socket message */
#define FL_MASK		(O_ACCMODE | O_APPEND | O_NONBLOCK)

enum kind { K_FILE, K_NULL, K_PIPE, K_UNIX, K_EVENTFD, K_MAX, K_DUP = K_MAX };

static const char *const kind_names[K_MAX] = { "files", "null", "pipes", "unix", "eventfd" };
/* Shares of NFDS in the full mix; pipes and unix pairs take two fds each. */
static const int kind_share[K_MAX] = { 50, 2, 20, 20, 8 };
static const int kind_fds[K_MAX] = { 1, 1, 2, 2, 1 };

/* What one fd must be; indexed by fd number. */
struct want {
	unsigned char kind;		/* enum kind, 0 for an unused slot */
	unsigned char used;
	int flags;			/* F_GETFL & FL_MASK */
	long obj;			/* file, pair or eventfd index */
	int end;			/* pipes: 0 read, 1 write; unix: 0 or 1 */
	int leader;			/* files: the fd of the description */
	int prev;			/* files: the previous description of the file, or -1 */
	int peer;			/* pipes, unix: the other end */
	off_t pos;			/* files */
};

static struct want *want;
static int nfds;
static long nfiles;
static ino_t *file_ino;
static char reason[512];
static volatile sig_atomic_t check_requested;

static void on_usr1(int sig)
{
	(void)sig;
	check_requested = 1;
}

/* Records the first difference; always -1. */
__attribute__((format(printf, 1, 2)))
static int bad(const char *fmt, ...)
{
	va_list ap;

	if (!reason[0]) {
		va_start(ap, fmt);
		vsnprintf(reason, sizeof(reason), fmt, ap);
		va_end(ap);
	}
	return -1;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* ---- deterministic contents -------------------------------------------- */

static off_t file_size(long f)
{
	return FILE_MIN + (f * 97) % FILE_MIN;
}

static unsigned char file_byte(long f, off_t i)
{
	return (unsigned char)(f * 61 + i * 131 + 7) | 1;
}

/* Messages queued to end @end of pipe or socketpair @obj: count and lengths. */
static int nr_msgs(enum kind k, long obj, int end)
{
	if (k == K_PIPE)
		return end == 0 && obj % 2 == 0;
	/* unix: to end 1 on every other pair, to end 0 too on every fourth */
	if (obj % 2 || (end == 0 && obj % 4))
		return 0;
	return obj % 3 == 0 ? 1 : 2;		/* stream: one write */
}

static size_t msg_len(long obj, int end, int m)
{
	return 1 + (size_t)(obj * 211 + end * 53 + m * 17) % MAX_MSG;
}

static void msg_fill(unsigned char *buf, size_t len, long obj, int end, int m)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(obj * 31 + end * 11 + m * 5 + i * 7 + 3);
}

static int sock_type(long obj)
{
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET };

	return types[obj % 3];
}

static uint64_t efd_count(long obj)
{
	return 1 + obj % 1000;
}

/* ---- setup -------------------------------------------------------------- */

static int set_cloexec_rule(int fd)
{
	return fcntl(fd, F_SETFD, fd % 3 == 0 ? FD_CLOEXEC : 0);
}

/* Marks @fd as created with @w; refuses fds outside FIRST_FD .. FIRST_FD + NFDS - 1. */
static int record(int fd, const struct want *w)
{
	if (fd < FIRST_FD || fd >= FIRST_FD + nfds) {
		fprintf(stderr, "bench-fds: got fd %d, outside %d..%d\n", fd, FIRST_FD, FIRST_FD + nfds - 1);
		return -1;
	}
	want[fd] = *w;
	want[fd].used = 1;
	if (set_cloexec_rule(fd)) {
		perror("bench-fds: F_SETFD");
		return -1;
	}
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += n;
	}
	return 0;
}

static int make_files(const char *dir)
{
	unsigned char buf[2 * FILE_MIN];
	char path[4096];
	struct stat st;

	file_ino = calloc(nfiles, sizeof(*file_ino));
	if (!file_ino)
		return -1;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		perror("bench-fds: mkdir");
		return -1;
	}
	for (long f = 0; f < nfiles; f++) {
		off_t size = file_size(f);
		int fd;

		snprintf(path, sizeof(path), "%s/f%ld", dir, f);
		for (off_t i = 0; i < size; i++)
			buf[i] = file_byte(f, i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write_all(fd, buf, size) || fstat(fd, &st) || close(fd)) {
			fprintf(stderr, "bench-fds: creating %s: %s\n", path, strerror(errno));
			return -1;
		}
		file_ino[f] = st.st_ino;
	}
	return 0;
}

static int open_file(const char *dir, long desc, int *last_desc)
{
	static const int modes[] = { O_RDONLY, O_RDWR, O_RDONLY | O_NONBLOCK, O_WRONLY | O_APPEND };
	long f = desc % nfiles;
	struct want w = { .kind = K_FILE, .obj = f, .prev = last_desc[f] };
	char path[4096];
	int fd;

	w.flags = modes[desc % 4];
	w.pos = (desc * 131 + 7) % file_size(f);
	snprintf(path, sizeof(path), "%s/f%ld", dir, f);
	fd = open(path, w.flags);
	if (fd < 0 || lseek(fd, w.pos, SEEK_SET) != w.pos) {
		fprintf(stderr, "bench-fds: opening %s: %s\n", path, strerror(errno));
		return -1;
	}
	w.leader = fd;
	last_desc[f] = fd;
	return record(fd, &w);
}

static int dup_file(int leader)
{
	struct want w = want[leader];
	int fd = dup(leader);

	if (fd < 0) {
		perror("bench-fds: dup");
		return -1;
	}
	return record(fd, &w);
}

static int open_null(long n)
{
	struct want w = { .kind = K_NULL, .obj = n, .flags = n % 2 ? O_RDWR : O_WRONLY };
	int fd = open("/dev/null", w.flags);

	if (fd < 0) {
		perror("bench-fds: /dev/null");
		return -1;
	}
	return record(fd, &w);
}

static int open_pipe(long p)
{
	unsigned char buf[MAX_MSG];
	int pfd[2], fl = p % 3 == 0 ? O_NONBLOCK : 0;
	struct want w = { .kind = K_PIPE, .obj = p };

	if (pipe2(pfd, fl)) {
		perror("bench-fds: pipe");
		return -1;
	}
	if (nr_msgs(K_PIPE, p, 0)) {
		size_t len = msg_len(p, 0, 0);

		msg_fill(buf, len, p, 0, 0);
		if (write_all(pfd[1], buf, len)) {
			perror("bench-fds: filling a pipe");
			return -1;
		}
	}
	for (int e = 0; e < 2; e++) {
		w.end = e;
		w.peer = pfd[!e];
		w.flags = (e ? O_WRONLY : O_RDONLY) | fl;
		if (record(pfd[e], &w))
			return -1;
	}
	return 0;
}

static int send_msgs(int from, long u, int to_end)
{
	unsigned char buf[MAX_MSG];

	for (int m = 0; m < nr_msgs(K_UNIX, u, to_end); m++) {
		size_t len = msg_len(u, to_end, m);

		msg_fill(buf, len, u, to_end, m);
		if (send(from, buf, len, MSG_DONTWAIT) != (ssize_t)len)
			return -1;
	}
	return 0;
}

static int open_unix(long u)
{
	struct want w = { .kind = K_UNIX, .obj = u, .flags = O_RDWR };
	int sv[2];

	if (socketpair(AF_UNIX, sock_type(u), 0, sv)) {
		perror("bench-fds: socketpair");
		return -1;
	}
	if (send_msgs(sv[0], u, 1) || send_msgs(sv[1], u, 0)) {
		perror("bench-fds: queueing socket data");
		return -1;
	}
	for (int e = 0; e < 2; e++) {
		w.end = e;
		w.peer = sv[!e];
		if (record(sv[e], &w))
			return -1;
	}
	return 0;
}

static int open_eventfd(long n)
{
	int fl = (n % 2 ? EFD_SEMAPHORE : 0) | (n % 3 == 0 ? EFD_NONBLOCK : 0);
	struct want w = { .kind = K_EVENTFD, .obj = n, .flags = O_RDWR | (n % 3 == 0 ? O_NONBLOCK : 0) };
	int fd = eventfd(efd_count(n), fl);

	if (fd < 0) {
		perror("bench-fds: eventfd");
		return -1;
	}
	return record(fd, &w);
}

/* Parses MIX into @on; 0 or -1. */
static int parse_mix(const char *mix, int on[K_MAX])
{
	char buf[256], *save = NULL, *tok;

	if (snprintf(buf, sizeof(buf), "%s", mix) >= (int)sizeof(buf))
		return -1;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int k;

		if (!strcmp(tok, "all")) {
			for (k = 0; k < K_MAX; k++)
				on[k] = 1;
			continue;
		}
		for (k = 0; k < K_MAX && strcmp(tok, kind_names[k]); k++)
			;
		if (k == K_MAX) {
			fprintf(stderr, "bench-fds: unknown kind '%s' (files, null, pipes, unix, eventfd, all)\n", tok);
			return -1;
		}
		on[k] = 1;
	}
	return 0;
}

/*
 * Splits nfds into units (one description, /dev/null or eventfd, one
 * pipe or socketpair, one dup) of the kinds in @on, shuffled. Returns the
 * number of units, or -1.
 */
static long plan(const int on[K_MAX], unsigned char **ret_units)
{
	long fds[K_MAX] = { 0 }, units = 0, rest = nfds, total = 0, dups = 0;
	unsigned char *u;
	int share = 0, k;

	for (k = 0; k < K_MAX; k++)
		share += on[k] ? kind_share[k] : 0;
	if (!share)
		return -1;
	for (k = 0; k < K_MAX; k++) {
		if (!on[k])
			continue;
		fds[k] = (long)nfds * kind_share[k] / share;
		fds[k] -= fds[k] % kind_fds[k];
		rest -= fds[k];
	}
	/* The rounding rest goes to a kind of one fd per unit. */
	for (k = 0; rest && k < K_MAX; k++)
		if (on[k] && kind_fds[k] == 1) {
			fds[k] += rest;
			rest = 0;
		}
	if (rest) {
		fprintf(stderr, "bench-fds: pipes and unix alone need an even NFDS\n");
		return -1;
	}
	if (fds[K_FILE]) {
		dups = fds[K_FILE] / 4;
		fds[K_FILE] -= dups;
		nfiles = fds[K_FILE] / OPENS_PER_FILE;
		nfiles = nfiles < 1 ? 1 : nfiles > MAX_FILES ? MAX_FILES : nfiles;
	}
	for (k = 0; k < K_MAX; k++)
		total += fds[k] / kind_fds[k];
	total += dups;
	u = malloc(total);
	if (!u)
		return -1;
	for (k = 0; k < K_MAX; k++)
		for (long i = 0; i < fds[k] / kind_fds[k]; i++)
			u[units++] = k;
	for (long i = 0; i < dups; i++)
		u[units++] = K_DUP;
	for (long i = units - 1; i > 0; i--) {
		long j = rng() % (i + 1);
		unsigned char t = u[i];

		u[i] = u[j];
		u[j] = t;
	}
	*ret_units = u;
	return units;
}

static int setup(const int on[K_MAX], const char *dir)
{
	unsigned char *units = NULL;
	long n = plan(on, &units), count[K_MAX + 1] = { 0 };
	int *last_desc = NULL, *descs = NULL;
	long ndescs = 0;
	int err = 0;

	if (n < 0)
		return -1;
	if (nfiles && make_files(dir))
		return -1;
	last_desc = malloc((nfiles + 1) * sizeof(*last_desc));
	descs = malloc((n + 1) * sizeof(*descs));
	if (!last_desc || !descs)
		return -1;
	for (long f = 0; f < nfiles; f++)
		last_desc[f] = -1;
	for (long i = 0; i < n && !err; i++) {
		int k = units[i];

		/* A dup before any description opens one instead: same count. */
		if (k == K_DUP && !ndescs)
			k = K_FILE;
		switch (k) {
		case K_FILE:
			err = open_file(dir, count[K_FILE], last_desc);
			if (!err)
				descs[ndescs++] = last_desc[count[K_FILE] % nfiles];
			break;
		case K_DUP:
			err = dup_file(descs[rng() % ndescs]);
			break;
		case K_NULL:
			err = open_null(count[k]);
			break;
		case K_PIPE:
			err = open_pipe(count[k]);
			break;
		case K_UNIX:
			err = open_unix(count[k]);
			break;
		case K_EVENTFD:
			err = open_eventfd(count[k]);
			break;
		}
		count[k]++;
	}
	free(units);
	free(last_desc);
	free(descs);
	return err;
}

/* ---- check -------------------------------------------------------------- */

static int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;		/* opendir's own fd */
}

static int kcmp_file(int a, int b)
{
	pid_t me = getpid();

	return syscall(SYS_kcmp, me, me, KCMP_FILE, a, b);
}

static int check_file(int fd, const struct want *w, const struct stat *st)
{
	unsigned char c;
	off_t pos;
	int r;

	if (!S_ISREG(st->st_mode) || st->st_ino != file_ino[w->obj])
		return bad("fd %d: not file f%ld (inode %lu)", fd, w->obj, (unsigned long)st->st_ino);
	if (st->st_size != file_size(w->obj))
		return bad("fd %d: size %lld, not %lld", fd, (long long)st->st_size,
			   (long long)file_size(w->obj));
	pos = lseek(fd, 0, SEEK_CUR);
	if (pos != w->pos)
		return bad("fd %d: position %lld, not %lld", fd, (long long)pos, (long long)w->pos);
	if ((w->flags & O_ACCMODE) != O_WRONLY &&
	    (pread(fd, &c, 1, pos) != 1 || c != file_byte(w->obj, pos)))
		return bad("fd %d: wrong byte at %lld", fd, (long long)pos);
	if (w->leader != fd && (r = kcmp_file(fd, w->leader)) != 0)
		return bad("fd %d: not a dup of fd %d any more (kcmp %d, %s)", fd, w->leader, r,
			   r < 0 ? strerror(errno) : "differ");
	if (w->leader == fd && w->prev >= 0 && (r = kcmp_file(fd, w->prev)) <= 0)
		return bad("fd %d: shares its description with fd %d (kcmp %d)", fd, w->prev, r);
	return 0;
}

/* Reads exactly @len bytes without blocking; 0 or -1. */
static int read_now(int fd, unsigned char *buf, size_t len, int sock)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = sock ? recv(fd, buf + done, len - done, MSG_DONTWAIT)
				 : read(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += n;
	}
	return 0;
}

static int check_pipe(int fd, const struct want *w, const struct stat *st)
{
	unsigned char buf[MAX_MSG], exp[MAX_MSG];
	struct stat pst;
	size_t len;
	int queued;

	if (!S_ISFIFO(st->st_mode))
		return bad("fd %d: not a pipe (mode 0%o)", fd, st->st_mode);
	if (fstat(w->peer, &pst) || pst.st_ino != st->st_ino || want[w->peer].peer != fd)
		return bad("fd %d: not one pipe with fd %d", fd, w->peer);
	if (w->end)
		return 0;		/* the read end checks the data */
	if (ioctl(fd, FIONREAD, &queued))
		return bad("fd %d: FIONREAD: %s", fd, strerror(errno));
	if (!nr_msgs(K_PIPE, w->obj, 0))
		return queued ? bad("fd %d: %d bytes in a pipe that was empty", fd, queued) : 0;
	len = msg_len(w->obj, 0, 0);
	if ((size_t)queued != len)
		return bad("fd %d: %d bytes in the pipe, not %zu", fd, queued, len);
	msg_fill(exp, len, w->obj, 0, 0);
	if (read_now(fd, buf, len, 0))
		return bad("fd %d: reading the pipe: %s", fd, strerror(errno));
	if (memcmp(buf, exp, len))
		return bad("fd %d: wrong data in the pipe", fd);
	if (write_all(w->peer, buf, len))
		return bad("fd %d: putting the data back: %s", fd, strerror(errno));
	return 0;
}

static int check_unix(int fd, const struct want *w, const struct stat *st)
{
	unsigned char buf[MAX_MSG + 1], exp[MAX_MSG];
	int type, n = nr_msgs(K_UNIX, w->obj, w->end);
	socklen_t tl = sizeof(type);
	char probe = 'p';

	if (!S_ISSOCK(st->st_mode))
		return bad("fd %d: not a socket (mode 0%o)", fd, st->st_mode);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) || type != sock_type(w->obj))
		return bad("fd %d: socket type %d, not %d", fd, type, sock_type(w->obj));
	for (int m = 0; m < n; m++) {
		size_t len = msg_len(w->obj, w->end, m);
		ssize_t got;

		msg_fill(exp, len, w->obj, w->end, m);
		if (type == SOCK_STREAM) {
			if (read_now(fd, buf, len, 1))
				return bad("fd %d: reading %zu queued bytes: %s", fd, len, strerror(errno));
		} else {
			/* One recv per message: its length shows the boundary. */
			got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (got != (ssize_t)len)
				return bad("fd %d: message %d is %zd bytes, not %zu", fd, m, got, len);
		}
		if (memcmp(buf, exp, len))
			return bad("fd %d: wrong data in message %d", fd, m);
	}
	/* Nothing else queued, and the peer's writes arrive here. */
	if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0 || errno != EAGAIN)
		return bad("fd %d: more data queued than was sent", fd);
	if (send(w->peer, &probe, 1, MSG_DONTWAIT) != 1 ||
	    recv(fd, buf, sizeof(buf), MSG_DONTWAIT) != 1 || buf[0] != probe)
		return bad("fd %d: no connection to fd %d", fd, w->peer);
	if (send_msgs(w->peer, w->obj, w->end))
		return bad("fd %d: putting the data back: %s", fd, strerror(errno));
	return 0;
}

static int check_eventfd(int fd, const struct want *w)
{
	uint64_t v, exp = w->obj % 2 ? 1 : efd_count(w->obj);
	char path[64], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0 || (link[n] = '\0', strcmp(link, "anon_inode:[eventfd]")))
		return bad("fd %d: not an eventfd", fd);
	/* A semaphore reads as 1; else the whole count. */
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return bad("fd %d: reading the eventfd: %s", fd, strerror(errno));
	if (write(fd, &v, sizeof(v)) != sizeof(v))
		return bad("fd %d: putting the count back: %s", fd, strerror(errno));
	if (v != exp)
		return bad("fd %d: eventfd read %llu, not %llu", fd, (unsigned long long)v,
			   (unsigned long long)exp);
	return 0;
}

/* 0 if every fd is as set up, else -1 with the first difference in reason[]. */
static int check(void)
{
	int n = count_open_fds();

	reason[0] = '\0';
	if (n != FIRST_FD + nfds)
		return bad("%d fds open, not %d", n, FIRST_FD + nfds);
	for (int fd = FIRST_FD; fd < FIRST_FD + nfds; fd++) {
		const struct want *w = &want[fd];
		int fdfl = fcntl(fd, F_GETFD), fl = fcntl(fd, F_GETFL);
		struct stat st;
		int err = 0;

		if (!w->used)
			return bad("fd %d: was never opened", fd);
		if (fdfl < 0 || fl < 0 || fstat(fd, &st))
			return bad("fd %d: %s", fd, strerror(errno));
		if (!(fdfl & FD_CLOEXEC) != !(fd % 3 == 0))
			return bad("fd %d: FD_CLOEXEC is %s", fd, fdfl & FD_CLOEXEC ? "set" : "clear");
		if ((fl & FL_MASK) != w->flags)
			return bad("fd %d (%s): flags 0%o, not 0%o", fd, kind_names[w->kind],
				   fl & FL_MASK, w->flags);
		switch (w->kind) {
		case K_FILE:
			err = check_file(fd, w, &st);
			break;
		case K_NULL:
			if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
				err = bad("fd %d: not /dev/null", fd);
			break;
		case K_PIPE:
			err = check_pipe(fd, w, &st);
			break;
		case K_UNIX:
			err = check_unix(fd, w, &st);
			break;
		case K_EVENTFD:
			err = check_eventfd(fd, w);
			break;
		}
		if (err)
			return err;
	}
	return 0;
}

/* ---- main --------------------------------------------------------------- */

/* Written under a temporary name and renamed: a reader never sees it half done. */
static int write_file(const char *path, const char *tmp, const char *text)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int ret = 0;

	if (fd < 0)
		return -1;
	if (write_all(fd, text, strlen(text)))
		ret = -1;
	if (close(fd))
		ret = -1;
	if (!ret && rename(tmp, path))
		ret = -1;
	return ret;
}

static const char *check_text(void)
{
	static char text[sizeof(reason) + 16];

	if (!check())
		return "ok\n";
	snprintf(text, sizeof(text), "bad: %s\n", reason);
	return text;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	char checkf[4096], tmp[4096];
	int on[K_MAX] = { 0 };
	sigset_t usr1, waitmask;
	struct rlimit rl;
	char *end;
	long n;

	if (argc != 5 || (n = strtol(argv[1], &end, 10)) < 1 || n > MAX_FDS || *end ||
	    parse_mix(argv[2], on)) {
		fprintf(stderr, "usage: bench-fds NFDS files,null,pipes,unix,eventfd|all DIR READY-FILE\n");
		return 2;
	}
	nfds = (int)n;
	snprintf(checkf, sizeof(checkf), "%s.check.0", argv[4]);
	snprintf(tmp, sizeof(tmp), "%s.tmp.0", argv[4]);
	/* Only the fds set up here may be open, at known numbers. */
	close_range(FIRST_FD, ~0U, 0);
	/* Its own session and process group, like the tree and zdtm tests. */
	if (setsid() < 0) {
		perror("bench-fds: setsid");
		return 1;
	}
	/* fds up to nfds + 2, plus one for opendir() and the check file. */
	if (getrlimit(RLIMIT_NOFILE, &rl)) {
		perror("bench-fds: getrlimit");
		return 1;
	}
	rl.rlim_cur = rl.rlim_max;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)nfds + FIRST_FD + 2) {
		fprintf(stderr, "bench-fds: RLIMIT_NOFILE hard limit %llu is too low for %d fds\n",
			(unsigned long long)rl.rlim_max, nfds);
		return 1;
	}
	if (setrlimit(RLIMIT_NOFILE, &rl)) {
		perror("bench-fds: setrlimit");
		return 1;
	}

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &waitmask);
	sigdelset(&waitmask, SIGUSR1);
	if (sigaction(SIGUSR1, &sa, NULL)) {
		perror("bench-fds: sigaction");
		return 1;
	}

	want = calloc(FIRST_FD + nfds, sizeof(*want));
	if (!want) {
		perror("bench-fds: calloc");
		return 1;
	}
	if (setup(on, argv[3]))
		return 1;
	if (check()) {
		fprintf(stderr, "bench-fds: check before the dump: %s\n", reason);
		return 1;
	}
	if (write_file(argv[4], tmp, "ready\n")) {
		perror("bench-fds: ready file");
		return 1;
	}

	for (;;) {
		sigsuspend(&waitmask);
		if (check_requested) {
			check_requested = 0;
			write_file(checkf, tmp, check_text());
		}
	}
}
