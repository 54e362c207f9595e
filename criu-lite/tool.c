/*
 * tool_run() (tool.h): a system tool in a fork of cr, in a net namespace,
 * its stdin and output in memfds (nothing to block on or break).
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "tool.h"

static void exec_tool(const char *tool, char *const argv[])
{
	static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin", "/bin" };
	char path[64];

	execvp(tool, argv);
	/* A caller's PATH without the sbin directories (runc passes its own). */
	for (unsigned i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], tool);
		execv(path, argv);
	}
}

/*
 * What the tool said, into @msg: its first line that says "Error" (nft
 * warns before it errs), else its first line.
 */
static void tool_output(int memfd, char *msg, size_t size)
{
	ssize_t n = pread(memfd, msg, size - 1, 0);
	char *line, *err, *nl;

	msg[n > 0 ? n : 0] = '\0';
	err = strstr(msg, "Error");
	line = msg;
	if (err) {
		while (err > msg && err[-1] != '\n')
			err--;
		line = err;
	}
	nl = strchr(line, '\n');
	if (nl)
		*nl = '\0';
	memmove(msg, line, strlen(line) + 1);
}

/* A memfd holding @text, at offset 0. */
static int text_fd(const char *text)
{
	int fd = memfd_create("cr-tool-in", MFD_CLOEXEC);
	size_t len = strlen(text), off = 0;

	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return n < 0 ? -errno : -EIO;
		}
		off += n;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

int tool_run(int nsfd, char *const argv[], const char *input, int *ret_out, char *msg, size_t size)
{
	_cleanup_close_ int err_fd = memfd_create("cr-tool-err", MFD_CLOEXEC);
	_cleanup_close_ int out = ret_out ? memfd_create("cr-tool-out", MFD_CLOEXEC) : -1;
	_cleanup_close_ int in = text_fd(input);
	int status;
	pid_t pid, parent;

	msg[0] = '\0';
	if (ret_out)
		*ret_out = -1;
	if (err_fd < 0 || (ret_out && out < 0))
		return -errno;
	if (in < 0)
		return in;
	parent = getpid();
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* Nothing is done after cr died (a lock after its guard unlocked). */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(126);
		if ((nsfd >= 0 && setns(nsfd, CLONE_NEWNET)) || dup2(in, 0) < 0 ||
		    dup2(out >= 0 ? out : err_fd, 1) < 0 || dup2(err_fd, 2) < 0)
			_exit(126);
		/* Nothing of cr's (a tree's sockets among them) goes to the tool. */
		close_range(3, ~0U, 0);
		exec_tool(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	tool_output(err_fd, msg, size);
	if (ret_out)
		*ret_out = TAKE_FD(out);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return -ENOENT;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 126)
		snprintf(msg, size, "could not enter the net namespace");
	return -EIO;
}
