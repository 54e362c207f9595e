/*
 * The engine on its own: a program that knows infect.h and libinfect.a
 * and nothing of cr. It starts engine-target, seizes it, runs a remote
 * getpid, loads its own blob, sends it commands, cures and detaches,
 * then checks the target runs on as it was: the same maps and bytes at
 * the place the trampoline used, still echoing, exiting by itself with 0.
 * Prints "engine: N passed, N failed"; exits non-zero on a failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "infect.h"
#include "engine-blob.h"
#include "engine-test.h"

#define ECHO_TIMEOUT_MS	5000
#define MAPS_MAX	(64 * 1024)
#define DATA_SIZE	4096

static int passed, failed;
static int expecting_error;		/* the next engine error is the check's point */

/* Counts and reports one check; returns @ok. */
static int check(int ok, const char *what)
{
	if (ok)
		passed++;
	else
		failed++;
	printf("%s: %s\n", ok ? "ok" : "FAIL", what);
	fflush(stdout);
	return ok;
}

/* Errors and warnings of the engine, on stderr; ENGINE_TEST_V=1 for all. */
static void log_stderr(int level, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (level > 2 && !getenv("ENGINE_TEST_V"))
		return;
	fprintf(stderr, "engine-test: %s%s:%d: ", expecting_error ? "(expected) " : "", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

struct target {
	pid_t pid;
	int in, out;			/* its stdin and stdout */
	uint64_t place;
	size_t place_size;
};

/* Reads what the target has to say within ECHO_TIMEOUT_MS: 0 or -errno. */
static int read_target(struct target *t, char *buf, size_t len)
{
	struct pollfd p = { .fd = t->out, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, ECHO_TIMEOUT_MS) != 1)
		return -ETIMEDOUT;
	n = read(t->out, buf, len);
	return n > 0 ? (int)n : -EIO;
}

/*
 * Starts engine-target (beside this program) and reads where its place
 * is; @own_netns puts it in a network namespace of its own.
 */
static int start_target(struct target *t, bool own_netns)
{
	char self[PATH_MAX], path[PATH_MAX + 16], line[64] = { 0 };
	int in[2], out[2], n;
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (len < 0 || pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		return -errno;
	self[len] = '\0';
	snprintf(path, sizeof(path), "%s/engine-target", dirname(self));
	t->pid = fork();
	if (t->pid < 0)
		return -errno;
	if (t->pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		if (own_netns && unshare(CLONE_NEWNET))
			_exit(126);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	t->in = in[1];
	t->out = out[0];
	t->place_size = getpagesize();
	n = read_target(t, line, sizeof(line) - 1);
	if (n < 0)
		return n;
	return sscanf(line, "%" SCNx64, &t->place) == 1 ? 0 : -EIO;
}

/* Sends @c and waits for it to come back: 0 or -errno. */
static int echo(struct target *t, char c)
{
	char back = 0;
	int n;

	if (write(t->in, &c, 1) != 1)
		return -errno;
	n = read_target(t, &back, 1);
	if (n < 0)
		return n;
	return back == c ? 0 : -EIO;
}

/* The whole of /proc/PID/@name (a text file), NUL-terminated; free(). */
static char *read_proc(pid_t pid, const char *name)
{
	char path[64], *buf = calloc(1, MAPS_MAX + 1);
	size_t used = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!buf || fd < 0) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while (used < MAPS_MAX && (n = read(fd, buf + used, MAPS_MAX - used)) > 0)
		used += n;
	close(fd);
	return buf;
}

/* The bytes at the target's place (the trampoline's room); free(). */
static void *read_place(const struct target *t)
{
	char path[64];
	void *buf = malloc(t->place_size);
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", t->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (buf && fd >= 0 && pread(fd, buf, t->place_size, t->place) == (ssize_t)t->place_size) {
		close(fd);
		return buf;
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

/* The target is as it was before it was seized: its maps and its place. */
static void check_unchanged(const struct target *t, const char *maps, const void *place, const char *when)
{
	char *now_maps = read_proc(t->pid, "maps");
	void *now_place = read_place(t);
	char what[128];

	snprintf(what, sizeof(what), "%s: /proc/PID/maps as before", when);
	check(now_maps && maps && !strcmp(now_maps, maps), what);
	snprintf(what, sizeof(what), "%s: the trampoline's place holds its old bytes", when);
	check(now_place && place && !memcmp(now_place, place, t->place_size), what);
	free(now_maps);
	free(now_place);
}

/*
 * Inside the seized target: a remote syscall, then the blob and its
 * commands, then the cure. Returns 1 if the target was cured.
 */
static int infect_target(const struct target *t)
{
	struct parasite_ctl *ctl = NULL;
	long ret = 0;

	if (!check(infect_prepare(t->pid, t->place, &ctl) == 0, "infect_prepare"))
		return 0;
	check(infect_syscall(ctl, __NR_getpid, &ret, 0, 0, 0, 0, 0, 0) == 0 && ret == t->pid,
	      "remote getpid is the target's pid");
	if (check(infect_start_blob(ctl, engine_blob, sizeof(engine_blob), engine_blob_offset__blob_start,
				    DATA_SIZE) == 0, "infect_start_blob")) {
		check(infect_cmd(ctl, ENGINE_CMD_GETPID, -1) == 0 &&
		      *(uint64_t *)infect_data(ctl) == (uint64_t)t->pid,
		      "the blob's getpid, through the command data, is the target's pid");
		expecting_error = 1;
		check(infect_cmd(ctl, ENGINE_CMD_UNKNOWN, -1) == -EINVAL,
		      "the blob's -EINVAL for a command it has not comes back");
		expecting_error = 0;
		*(uint64_t *)infect_data(ctl) = 0;
		check(infect_cmd(ctl, ENGINE_CMD_GETPID, -1) == 0 &&
		      *(uint64_t *)infect_data(ctl) == (uint64_t)t->pid,
		      "the blob still answers after a failed command");
	}
	return check(infect_cure(ctl) == 0, "infect_cure");
}

/*
 * A target in another network namespace cannot reach the engine's socket:
 * the blob says so, the engine stops waiting for it and cures the task,
 * which runs on as before.
 */
static void blob_cannot_connect(void)
{
	struct target t = { .pid = -1 };
	struct parasite_ctl *ctl = NULL;
	int status = 0;

	if (!check(start_target(&t, true) == 0, "a target in its own network namespace starts"))
		goto out;
	if (check(infect_seize(t.pid) == 0, "infect_seize (own network namespace)") &&
	    check(infect_prepare(t.pid, t.place, &ctl) == 0, "infect_prepare (own network namespace)")) {
		expecting_error = 1;
		check(infect_start_blob(ctl, engine_blob, sizeof(engine_blob), engine_blob_offset__blob_start,
					DATA_SIZE) == -ECONNREFUSED,
		      "a blob that cannot reach the engine's socket fails the start with ECONNREFUSED");
		expecting_error = 0;
		check(infect_cure(ctl) == 0, "the task whose blob could not connect is cured");
		check(infect_detach(t.pid) == 0, "infect_detach (own network namespace)");
	}
	check(echo(&t, 'c') == 0, "the target whose blob could not connect still echoes");
	close(t.in);
	t.in = -1;
	check(waitpid(t.pid, &status, 0) == t.pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "that target exits by itself with 0");
	t.pid = -1;
out:
	if (t.pid > 0) {
		kill(t.pid, SIGKILL);
		waitpid(t.pid, NULL, 0);
	}
}

/* The state letter of /proc/PID/stat, once it is @want (5 s at most), or the last one. */
static char wait_state(pid_t pid, char want)
{
	char st = 0;

	for (int i = 0; i < 5000 && st != want; i++) {
		char *s = read_proc(pid, "stat"), *p = s ? strrchr(s, ')') : NULL;

		st = p && p[1] ? p[2] : 0;
		free(s);
		if (st != want)
			usleep(1000);
	}
	return st;
}

/*
 * Job control: a SIGSTOP queued while the task sits in its seize stop is
 * taken by infect_join_group_stop() (the task then reports its group
 * stop), the stopped task is infected and cured like a running one, and
 * once detached it is stopped (T) until SIGCONT.
 */
static void group_stop(void)
{
	struct target t = { .pid = -1 };
	int status = 0, sig = -1;

	if (!check(start_target(&t, false) == 0, "a target for the group stop starts"))
		goto out;
	if (check(infect_seize(t.pid) == 0, "infect_seize (group stop)")) {
		check(kill(t.pid, SIGSTOP) == 0 && infect_stop_sig(t.pid, &sig) == 0 && sig == 0,
		      "a seized task with a SIGSTOP queued reports a plain interrupt stop");
		check(infect_join_group_stop(t.pid) == 0 && infect_stop_sig(t.pid, &sig) == 0 && sig == SIGSTOP,
		      "infect_join_group_stop: the task takes its SIGSTOP into a group stop");
		infect_target(&t);
		check(infect_detach(t.pid) == 0, "infect_detach (group stop)");
		check(wait_state(t.pid, 'T') == 'T', "the detached task is stopped (T)");
	}
	check(kill(t.pid, SIGCONT) == 0 && echo(&t, 'd') == 0, "continued, it echoes");
	close(t.in);
	t.in = -1;
	do
		status = 0;
	while (waitpid(t.pid, &status, 0) == t.pid && !WIFEXITED(status) && !WIFSIGNALED(status));
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "that target exits by itself with 0");
	t.pid = -1;
out:
	if (t.pid > 0) {
		kill(t.pid, SIGKILL);
		waitpid(t.pid, NULL, 0);
	}
}

int main(void)
{
	struct target t = { .pid = -1 };
	char *maps = NULL;
	void *place = NULL;
	int status = 0;

	infect_set_logger(log_stderr);
	if (!check(start_target(&t, false) == 0, "the target starts and lends a place"))
		goto out;
	check(echo(&t, 'a') == 0, "the target echoes before");
	maps = read_proc(t.pid, "maps");
	place = read_place(&t);
	check(maps && place, "the target's maps and place read");

	if (check(infect_seize(t.pid) == 0, "infect_seize")) {
		if (infect_target(&t))
			check_unchanged(&t, maps, place, "cured");
		check(infect_detach(t.pid) == 0, "infect_detach");
	}

	check(echo(&t, 'b') == 0, "the target still echoes after detach");
	check(waitpid(t.pid, &status, WNOHANG) == 0, "the target still runs");
	check_unchanged(&t, maps, place, "detached");
	close(t.in);		/* the target's read() sees EOF: it exits 0 */
	t.in = -1;
	check(waitpid(t.pid, &status, 0) == t.pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the target exits by itself with 0, never killed");
	t.pid = -1;
	blob_cannot_connect();
	group_stop();
out:
	if (t.pid > 0) {
		kill(t.pid, SIGKILL);
		waitpid(t.pid, NULL, 0);
	}
	free(maps);
	free(place);
	printf("engine: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
