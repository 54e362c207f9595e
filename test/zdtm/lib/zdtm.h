#ifndef ZDTM_H
#define ZDTM_H

/*
 * Tiny library shared by the zdtm tests.
 *
 * Contract with the runner (test/zdtm/run):
 *   - the test starts in its own session, with only fds 0-2 open, stdout and
 *     stderr appended to an outfile, cwd = a private work dir;
 *   - test_init() installs a SIGTERM handler that only sets a flag;
 *   - test_ready() publishes the pid in $ZDTM_PIDFILE (atomically) once the
 *     state to check exists;
 *   - test_wait_checkpoint() returns after SIGTERM, i.e. after the runner
 *     has dumped and restored the test;
 *   - pass()/fail() print "PASS" or "FAIL: reason" and exit 0 / 1.
 */

#include <signal.h>
#include <stdarg.h>
#include <sys/socket.h>

/* Set by the SIGTERM handler; tests may spin on it directly (see fpu.c). */
extern volatile sig_atomic_t zdtm_sigterm_seen;

void test_init(int argc, char **argv);
void test_ready(void);
void test_wait_checkpoint(void);

/* Informational line on stdout (the outfile), prefixed with the pid. */
void test_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void pass(void) __attribute__((noreturn));
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* fail() with strerror(errno) appended; for failed libc calls. */
#define fail_errno(fmt, ...) \
	fail(fmt ": %m (%s:%d)", ##__VA_ARGS__, __FILE__, __LINE__)

/* Check helper: fail with the expression text and location. */
#define zdtm_check(cond)						\
	do {								\
		if (!(cond))						\
			fail("check failed: %s (%s:%d)", #cond,		\
			     __FILE__, __LINE__);			\
	} while (0)

/* ---- fdinfo (zdtm.c) ----------------------------------------------------- */
#include <stddef.h>

/* Runs the shell command CMD; fails the test ("setup: ...") unless it exits 0. */
void test_sh(const char *cmd);
/* The whole output of the shell command CMD into BUF; -1 when it cannot run or fails. */
int test_sh_capture(const char *cmd, char *buf, size_t len);

/* All of /proc/self/fdinfo/FD into BUF (NUL-terminated); fails the test on error. */
void fdinfo_read(int fd, char *buf, size_t len);
/*
 * The lines of /proc/self/fdinfo/FD that start with PREFIX, each cut where
 * CUT begins (fields a restore changes, such as inodes), sorted (the kernel
 * lists watches in an order a restore changes), one per line into OUT.
 */
void fdinfo_lines(int fd, const char *prefix, const char *cut, char *out, size_t len);

/* ---- inotify (inotify.c) -------------------------------------------------- */
#include <stdint.h>
struct inotify_event;
/* The next event of instance IN (non-blocking), NULL when its queue is empty; fails on a read error. */
struct inotify_event *inotify_next(int in);
/* The next event is WD's MASK (with NAME unless NULL), or the test fails. */
void inotify_expect(int in, int wd, uint32_t mask, const char *name);

/* ---- sockets (net.c) --------------------------------------------------------- */
/* The TCP state of socket FD (TCP_ESTABLISHED, ...), from TCP_INFO, or the test fails. */
unsigned tcp_state(int fd);
/* An int socket option of FD, or the test fails naming WHO. */
int sk_getint(int fd, int level, int opt, const char *who);

/* ---- datagram sockets (dgram.c) -------------------------------------------- */
#include <sys/socket.h>
/* A datagram socket of a test: its name for messages, and its address as its peers see it. */
struct dgram_sk {
	const char *name;
	int fd;
	struct sockaddr_storage addr;
	socklen_t alen;
};
/* Sends MSG from FROM to TO (NULL: FROM's peer), or the test fails. */
void dgram_send(struct dgram_sk *from, const struct dgram_sk *to, const char *msg);
/* The next datagram at R (non-blocking) is MSG from ADDR (ALEN bytes; WHO for messages), or the test fails. */
void dgram_expect_from(struct dgram_sk *r, const struct sockaddr_storage *addr, socklen_t alen, const char *who,
		       const char *msg);
/* The same, from FROM's address. */
void dgram_expect(struct dgram_sk *r, const struct dgram_sk *from, const char *msg);
/* R has no datagram waiting, or the test fails. */
void dgram_expect_empty(struct dgram_sk *r);
/* The loopback address of a family (LOOP_V4 127.0.0.1, LOOP_V6 ::1, LOOP_V4_MAPPED ::ffff:127.0.0.1), port 0. */
enum { LOOP_V4, LOOP_V6, LOOP_V4_MAPPED, NR_LOOP_FAMILIES };
void loopback_addr(int fam, struct sockaddr_storage *ss, socklen_t *len);
/*
 * A loopback TCP connection of family @fam: *@ret_a connects, *@ret_b is
 * accepted from a listener made for it (closed then); @rcvbuf, if not 0,
 * is the listener's SO_RCVBUF (B inherits it). @name for the failure.
 */
void tcp_loopback_pair(int fam, int rcvbuf, int *ret_a, int *ret_b, const char *name);

/* ---- files (files.c) ------------------------------------------------------ */
/* open(NAME, O_RDWR | O_CREAT, 0644), or the test fails. */
int file_open_rw(const char *name);
/* The open fds below MAX, one byte each (1: open), from /proc/self/fd (its own fd left out); fails on error. */
void fd_set_of(unsigned char *set, int max);
/*
 * Waits (10 s at most, again after an EINTR) for the blocked signal SIG;
 * FD >= 0: the si_fd it must carry (an F_SETSIG signal's). Fails the test
 * naming WHO otherwise.
 */
void sig_wait_fd(int sig, int fd, const char *who);

/* ---- whole reads and writes (io.c) ----------------------------------------- */
/* Reads until LEN bytes or EOF; returns how many. Fails the test on error. */
size_t read_full(int fd, void *buf, size_t len);
/* Writes all LEN bytes or fails the test. */
void write_full(int fd, const void *buf, size_t len);
/* Copies LEN bytes (SIZE_MAX: up to EOF) from IN to OUT; returns how many. */
size_t copy_fd(int in, int out, size_t len);
/* A new file PATH (O_EXCL, MODE) holding LEN bytes of pattern_fill(SEED) (mem.c), or the test fails. */
#include <stdint.h>
void file_pattern_create(const char *path, size_t len, uint64_t seed, int mode);
/* A small file such as a sysctl (/proc/sys/...): VAL written into it, or the test fails. */
void file_put(const char *path, const char *val);
/* Whether its first line is WANT: 0, or 1 after a FAIL message naming the file and both values. */
int file_line_check(const char *path, const char *want);

/* ---- fds over unix sockets (scm.c) ----------------------------------------- */
#include <stdbool.h>
/* Sends TEXT with NR fds (SCM_RIGHTS) in one sendmsg, or fails the test. */
void scm_send_fds(int sk, const char *text, const int *fds, int nr, int flags);
/*
 * Receives TEXT (a datagram: WHOLE, the message must be it; else exactly
 * its length is read) and the fds that came with it (at most MAX, into
 * FDS); returns how many. Anything else fails the test.
 */
int scm_recv_fds(int sk, const char *text, bool whole, int *fds, int max, int flags);
/* scm_recv_fds() of TEXT that must come with exactly one fd; returns it. */
int scm_recv_fd(int sk, const char *text, int flags);

/* ---- process trees (tree.c) ---------------------------------------------
 *
 * A tree test forks all its processes before test_ready(). The runner sends
 * SIGTERM to the root only, so, after test_wait_checkpoint():
 *   - every process forwards SIGTERM to its own children (tree_forward),
 *   - checks its own state from inside,
 *   - collects its children's verdicts by pid (tree_collect: exit 0 = ok),
 *   - and ends with tree_exit(): the root prints PASS or FAIL, any other
 *     process exits 0 or 1.
 * fail() in a process other than the root prints "[pid] FAIL: ..." and
 * exits 1 without printing a verdict for the whole test.
 *
 * Processes tell each other that they are set up with tree_send() and
 * tree_recv(): a queued real-time signal (TREE_SIG, blocked by tree_init()
 * in the root and so in every process forked after it) carrying an int.
 * No fds are involved: cr supports none but 0-2 and regular files.
 */
#include <sys/types.h>

#define TREE_SIG	(SIGRTMAX)

extern pid_t tree_root;			/* set by tree_init() */

void tree_init(void);
/* Forks a child that runs @child (which ends with tree_exit()); fails the test if fork() does. */
pid_t tree_fork(void (*child)(void));
void tree_send(pid_t to, int value);
/* Wait (10 s at most) for a tree_send() from FROM, return its value; fails
 * when FROM is gone without sending. */
int tree_recv(pid_t from);
void tree_forward(const pid_t *kids, int nr);
/* waitpid() every kid by pid; returns how many did not exit with 0. */
int tree_collect(const pid_t *kids, int nr);
void tree_exit(int nr_bad) __attribute__((noreturn));

struct tree_ids {
	pid_t pid, ppid, pgid, sid;
	pid_t root_pgid, root_sid;	/* the root's, when these were taken */
};

void tree_ids_get(struct tree_ids *ids);
/* Compare with the current ids, report each difference; returns their
 * number. The root's ppid is not compared (a restored root has a new
 * parent), every other process's is. */
int tree_ids_check(const struct tree_ids *before);

/* Fields of /proc/PID/stat; state 0 when the pid does not exist. */
struct proc_stat {
	char state;
	pid_t ppid, pgrp, session;
};

int proc_stat_read(pid_t pid, struct proc_stat *ret_st);

/* ---- job control (stop.c) -----------------------------------------------
 * stop_wait: waitpid(WUNTRACED) reports PID stopped by SIG, or the test
 * fails (tree_init() first for stop_fork). stop_collect: waits (WUNTRACED | WCONTINUED) until PID exits,
 * counting its stop and continue reports; 0 if it exited with 0, else 1
 * after a FAIL message. A restored stopped child reports its stop again
 * (cr stops it anew), so a stop report after restore is no error.
 */
void stop_wait(pid_t pid, int sig);
/*
 * Forks a child that runs CHILD (it must not return, and tree_send()s
 * to the root once set up), then stops it with SIGSTOP and stop_wait()s.
 */
pid_t stop_fork(void (*child)(void));
int stop_collect(pid_t pid, int *ret_stops, int *ret_conts);
/*
 * A whole test: CHILD forked and stopped (stop_fork), then STOPPED (if
 * not NULL) called with its pid, ready, the child collected after the
 * checkpoint (stop_collect).
 */
void stop_test_child(int argc, char **argv, void (*child)(void), void (*stopped)(pid_t))
	__attribute__((noreturn));

/* ---- memory (mem.c) -----------------------------------------------------
 * A pattern whose 8-byte word k is a hash of SEED + k: any range of it can
 * be checked on its own with pattern_check(p + off, len, seed + off / 8). */
#include <stddef.h>
#include <stdint.h>

void pattern_fill(void *p, size_t len, uint64_t seed);
/* Offset of the first word that differs from the pattern, or -1. */
long pattern_check(const void *p, size_t len, uint64_t seed);

/* The /proc/self/maps line of the mapping that holds ADDR. */
struct vma_info {
	unsigned long start, end, pgoff, inode;
	char perms[5];
	char path[256];
};

int vma_find(const void *addr, struct vma_info *ret_vma);
/*
 * The smaps entry of the mapping that starts at ADDR: vma_smaps_line()
 * copies its first line that starts with PREFIX into BUF (0, or -ENOENT);
 * vma_smaps_kb() gives N of its "FIELD: N kB" line, -1 if absent.
 */
int vma_smaps_line(const void *addr, const char *prefix, char *buf, size_t len);
long vma_smaps_kb(const void *addr, const char *field);

/*
 * Seccomp filters (lib/seccomp.c); fail() if the kernel refuses them.
 * zdtm_seccomp_eperm(): syscall @nr fails with EPERM. The _try and
 * _flags ones take SECCOMP_FILTER_FLAG_* and return what seccomp() did
 * (-1 with errno, or TSYNC's tid that could not sync).
 */
struct sock_filter;
void zdtm_seccomp_install(struct sock_filter *insns, unsigned short len);
void zdtm_seccomp_eperm(int nr);
long zdtm_seccomp_try(struct sock_filter *insns, unsigned short len, unsigned flags);
long zdtm_seccomp_eperm_flags(int nr, unsigned flags);
/* Whether syscall @nr (without arguments) fails with EPERM. */
int zdtm_seccomp_eperm_seen(long nr);
/* In a thread other than main: SIGTERM is main's (test_wait_checkpoint). */
void zdtm_thread_no_sigterm(void);

#endif
