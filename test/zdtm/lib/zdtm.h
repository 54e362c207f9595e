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

#endif
