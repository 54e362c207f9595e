/*
 * bench-threads THREADS READY-FILE: the benchmark's multi-threaded target.
 * Starts THREADS pthreads (default stacks), so the process has THREADS + 1
 * tasks with the main thread. Each thread writes 32 KiB of its stack and
 * 4 KiB of thread-local storage with non-zero content unique to the thread,
 * then blocks in FUTEX_WAIT. Once every thread has written its memory, the
 * main thread creates READY-FILE and waits in sigsuspend().
 *
 * On SIGUSR1 the main thread wakes every thread to check its stack and TLS
 * and writes "ok" or "bad" to READY-FILE.check.0 (the name bench-tree uses
 * for its root), so the bench can tell a fast restore from a wrong one.
 * SIGUSR1 is blocked in every thread but the main one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define STACK_BYTES	(32 * 1024)
#define TLS_BYTES	4096
#define MAX_THREADS	4096
#define CHECK_TIMEOUT_S	30

static __thread unsigned char tls_buf[TLS_BYTES];

static int nr_threads;
static int nr_ready;		/* threads that have written their memory */
static int check_gen;		/* bumped by main to ask for a check */
static int nr_checked;		/* threads done with the current check */
static int nr_bad;		/* threads whose memory was wrong */

static volatile sig_atomic_t check_requested;

static void on_usr1(int sig)
{
	(void)sig;
	check_requested = 1;
}

/* FUTEX_WAIT while *addr == val; returns on a wake, a signal or a timeout. */
static void futex_wait(int *addr, int val, const struct timespec *timeout)
{
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, timeout, NULL, 0);
}

static void futex_wake_all(int *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static unsigned char mem_byte(long idx, int which, size_t i)
{
	return (unsigned char)(idx * 61 + which * 17 + i * 131 + 7) | 1;	/* never zero */
}

static void fill(unsigned char *p, size_t len, long idx, int which)
{
	for (size_t i = 0; i < len; i++)
		p[i] = mem_byte(idx, which, i);
}

static int verify(const unsigned char *p, size_t len, long idx, int which)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != mem_byte(idx, which, i))
			return -1;
	return 0;
}

static void *thread_main(void *arg)
{
	long idx = (long)arg;
	unsigned char stack_buf[STACK_BYTES];
	int seen = 0;

	fill(stack_buf, sizeof(stack_buf), idx, 0);
	fill(tls_buf, sizeof(tls_buf), idx, 1);
	/* The buffer is live memory the compiler must really have written. */
	__asm__ volatile("" : : "r"(stack_buf) : "memory");

	__atomic_add_fetch(&nr_ready, 1, __ATOMIC_SEQ_CST);
	futex_wake_all(&nr_ready);

	for (;;) {
		int gen = __atomic_load_n(&check_gen, __ATOMIC_SEQ_CST);

		if (gen == seen) {
			/* Interrupted or restarted after a restore: just wait again. */
			futex_wait(&check_gen, gen, NULL);
			continue;
		}
		seen = gen;
		if (verify(stack_buf, sizeof(stack_buf), idx, 0) ||
		    verify(tls_buf, sizeof(tls_buf), idx, 1))
			__atomic_add_fetch(&nr_bad, 1, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&nr_checked, 1, __ATOMIC_SEQ_CST);
		futex_wake_all(&nr_checked);
	}
	return NULL;
}

/* Waits until *counter reaches want, up to timeout_s seconds (0: forever). */
static int wait_count(int *counter, int want, int timeout_s)
{
	struct timespec tick = { .tv_sec = 0, .tv_nsec = 100 * 1000 * 1000 };
	long waited_ms = 0;

	for (;;) {
		int v = __atomic_load_n(counter, __ATOMIC_SEQ_CST);

		if (v >= want)
			return 0;
		if (timeout_s && waited_ms >= timeout_s * 1000L)
			return -1;
		futex_wait(counter, v, &tick);
		waited_ms += 100;
	}
}

static int write_file(const char *path, const char *tmp, const char *text)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int ret = 0;

	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		ret = -1;
	if (close(fd))
		ret = -1;
	if (!ret && rename(tmp, path))
		ret = -1;
	return ret;
}

/* Wakes every thread for one check; returns "ok", "bad" or "timeout". */
static const char *check_threads(void)
{
	__atomic_store_n(&nr_checked, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&nr_bad, 0, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&check_gen, 1, __ATOMIC_SEQ_CST);
	futex_wake_all(&check_gen);
	if (wait_count(&nr_checked, nr_threads, CHECK_TIMEOUT_S))
		return "timeout\n";
	return __atomic_load_n(&nr_bad, __ATOMIC_SEQ_CST) ? "bad\n" : "ok\n";
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	char check[4096], tmp[4096];
	sigset_t usr1, waitmask;
	char *end;
	long n;

	if (argc != 3 || (n = strtol(argv[1], &end, 10)) < 1 || n > MAX_THREADS || *end) {
		fprintf(stderr, "usage: bench-threads THREADS READY-FILE\n");
		return 2;
	}
	nr_threads = (int)n;
	snprintf(check, sizeof(check), "%s.check.0", argv[2]);
	snprintf(tmp, sizeof(tmp), "%s.tmp.0", argv[2]);
	/* Only stdio may stay open: cr does not dump pipes. */
	close_range(3, ~0U, 0);
	/* Its own session and process group, like the tree and zdtm tests. */
	if (setsid() < 0) {
		perror("bench-threads: setsid");
		return 1;
	}

	/* Blocked before the threads exist, so they inherit the mask. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &waitmask);
	sigdelset(&waitmask, SIGUSR1);
	if (sigaction(SIGUSR1, &sa, NULL)) {
		perror("bench-threads: sigaction");
		return 1;
	}

	for (long i = 0; i < n; i++) {
		pthread_t t;
		int err = pthread_create(&t, NULL, thread_main, (void *)(i + 1));

		if (err) {
			fprintf(stderr, "bench-threads: pthread_create: %s\n", strerror(err));
			return 1;
		}
		pthread_detach(t);
	}
	wait_count(&nr_ready, nr_threads, 0);
	if (write_file(argv[2], tmp, "ready\n")) {
		perror("bench-threads: ready file");
		return 1;
	}

	for (;;) {
		sigsuspend(&waitmask);
		if (check_requested) {
			check_requested = 0;
			write_file(check, tmp, check_threads());
		}
	}
}
