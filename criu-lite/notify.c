/*
 * Notifications: the points of a dump and a restore where criu runs its
 * action scripts. cr calls the hook the options carry: the RPC's NOTIFY
 * round trip (rpc.c) or, from the CLI, --action-script's scripts (here).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "cr.h"
#include "log.h"
#include "scm.h"

int cr_notify(const struct cr_options *o, const char *script, pid_t pid)
{
	int err;

	if (!o->notify)
		return 0;
	pr_info("notify %s (pid %d)", script, pid);
	err = o->notify(o->notify_ctx, script, pid);
	if (err)
		return pr_errno(err, "notification %s failed", script);
	return 0;
}

int cr_hand_fd(const struct cr_options *o, const char *script, int fd)
{
	int err;

	if (!o->hand_fd)
		return pr_errno(-ENOTCONN, "%s: nobody to hand the fd to (the RPC's notifications, or --console-socket)",
				script);
	pr_info("notify %s (an fd)", script);
	err = o->hand_fd(o->hand_fd_ctx, script, fd);
	if (err)
		return pr_errno(err, "notification %s (handing an fd over) failed", script);
	return 0;
}

int cr_console_socket_send(void *ctx, const char *script, int fd)
{
	const char *path = ctx;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int sk = -EBADF;

	if (strlen(path) >= sizeof(sa.sun_path))
		return pr_errno(-ENAMETOOLONG, "--console-socket %s: the path is too long for a unix socket", path);
	strcpy(sa.sun_path, path);
	sk = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sk < 0)
		return pr_errno(-errno, "--console-socket %s: socket", path);
	if (connect(sk, (struct sockaddr *)&sa, sizeof(sa)))
		return pr_errno(-errno, "--console-socket %s: connect", path);
	/* runc's utils.SendFd: the fd's name as the data */
	if (scm_send(sk, script, strlen(script), fd) < 0)
		return pr_errno(-errno, "--console-socket %s: sending the %s fd", path, script);
	return 0;
}

/* In the child: criu's environment, then the script, with cr's fds above stdio closed. */
static __attribute__((noreturn)) void exec_script(const struct cr_action_scripts *a, const char *path,
						  const char *action)
{
	char pid[16], dir[PATH_MAX];

	setenv("CRTOOLS_SCRIPT_ACTION", action, 1);
	if (realpath(a->images_dir, dir))
		setenv("CRTOOLS_IMAGE_DIR", dir, 1);
	if (a->init_pid > 0) {
		snprintf(pid, sizeof(pid), "%d", a->init_pid);
		setenv("CRTOOLS_INIT_PID", pid, 1);
	}
	/* the images, the tree's files being restored, the log: not the script's */
	closefrom(STDERR_FILENO + 1);
	execl(path, path, (char *)NULL);
	_exit(127);
}

int cr_run_action_scripts(void *ctx, const char *action, pid_t pid)
{
	struct cr_action_scripts *a = ctx;
	int err = 0;

	if (pid > 0)
		a->init_pid = pid;
	for (unsigned i = 0; i < a->nr && !err; i++) {
		int status;
		pid_t child;

		fflush(NULL);
		child = fork();
		if (child < 0)
			return pr_errno(-errno, "--action-script %s: fork", a->paths[i]);
		if (child == 0)
			exec_script(a, a->paths[i], action);
		while (waitpid(child, &status, 0) < 0) {
			if (errno != EINTR)
				return pr_errno(-errno, "--action-script %s: waitpid", a->paths[i]);
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			err = pr_errno(-ECANCELED, "--action-script %s (%s) %s %d", a->paths[i], action,
				       WIFEXITED(status) ? "exited with" : "was killed by signal",
				       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	return err;
}
