#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtm.h"

volatile sig_atomic_t zdtm_sigterm_seen;

static void sigterm_handler(int sig)
{
	(void)sig;
	zdtm_sigterm_seen = 1;
}

void test_init(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = sigterm_handler };

	(void)argc;
	(void)argv;

	/*
	 * No SA_RESTART: a test blocked in a syscall must see EINTR when the
	 * runner's SIGTERM arrives, or it would never notice it.
	 */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL))
		fail_errno("sigaction(SIGTERM)");

	/*
	 * Line-buffered stdout would still lose lines written before a dump
	 * if the buffer were only flushed at exit; unbuffered keeps the
	 * outfile in the order things happened, across the checkpoint.
	 */
	setvbuf(stdout, NULL, _IONBF, 0);
}

void test_msg(const char *fmt, ...)
{
	va_list ap;

	printf("[%d] ", getpid());
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (fmt[0] && fmt[strlen(fmt) - 1] != '\n')
		putchar('\n');
}

void test_ready(void)
{
	const char *pidfile = getenv("ZDTM_PIDFILE");
	char tmp[4096], buf[32];
	int fd, len;

	if (!pidfile) {
		/* Standalone run: say where to send SIGTERM. */
		test_msg("ready (no ZDTM_PIDFILE), pid %d", getpid());
		return;
	}

	/* tmp + rename: the runner polls for the file and must never read
	 * a half-written pid. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", pidfile);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		fail_errno("open %s", tmp);
	len = snprintf(buf, sizeof(buf), "%d\n", getpid());
	if (write(fd, buf, len) != len)
		fail_errno("write %s", tmp);
	if (close(fd))
		fail_errno("close %s", tmp);
	if (rename(tmp, pidfile))
		fail_errno("rename %s", tmp);
}

void test_wait_checkpoint(void)
{
	sigset_t empty;

	sigemptyset(&empty);
	/*
	 * Wait with the SIGTERM handler as the only way out. Tests may have
	 * blocked other signals; sigsuspend with an empty mask would let
	 * them through, so keep the current mask and only make sure SIGTERM
	 * is deliverable.
	 */
	while (!zdtm_sigterm_seen) {
		sigset_t cur;

		sigprocmask(SIG_SETMASK, NULL, &cur);
		sigdelset(&cur, SIGTERM);
		sigsuspend(&cur);
	}
}

void pass(void)
{
	printf("PASS\n");
	fflush(stdout);
	exit(0);
}

void fail(const char *fmt, ...)
{
	bool child = tree_root && getpid() != tree_root;
	va_list ap;

	/* A child of a tree test only reports its own failure: the root
	 * collects it and gives the verdict of the whole test. */
	if (child)
		printf("[%d] ", getpid());
	printf("FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (child)
		_exit(1);
	exit(1);
}

/* ---- fdinfo ---------------------------------------------------------------- */

void fdinfo_read(int fd, char *buf, size_t len)
{
	char path[64];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		fail_errno("open %s", path);
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void fdinfo_lines(int fd, const char *prefix, const char *cut, char *out, size_t len)
{
	char buf[4096], *lines[64];
	int nr = 0;

	fdinfo_read(fd, buf, sizeof(buf));
	for (char *s = strtok(buf, "\n"); s && nr < 64; s = strtok(NULL, "\n")) {
		char *c = strstr(s, cut);

		if (strncmp(s, prefix, strlen(prefix)))
			continue;
		if (c)
			*c = '\0';
		lines[nr++] = s;
	}
	qsort(lines, nr, sizeof(*lines), cmp_line);
	out[0] = '\0';
	for (int i = 0; i < nr; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s\n", lines[i]);
}

void test_sh(const char *cmd)
{
	int st = system(cmd);

	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("setup: '%s' failed (status %#x)", cmd, st);
}

int test_sh_capture(const char *cmd, char *buf, size_t len)
{
	FILE *f = popen(cmd, "r");
	size_t n;
	int st;

	buf[0] = 0;
	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	st = pclose(f);
	return (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st)) ? -1 : 0;
}
