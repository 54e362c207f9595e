#ifndef CR_CR_H
#define CR_CR_H

#include <stdbool.h>
#include <sys/types.h>

/* --inherit-fd fd[N]:KEY: cr's fd N stands for the file KEY names. */
struct cr_inherit_fd {
	int fd;
	const char *key;
};

/* Options of the cr commands; names and meanings follow criu's. */
struct cr_options {
	const char *command;		/* dump, restore, check, show */
	pid_t pid;			/* -t */
	const char *images_dir;		/* -D, default "." */
	const char *log_file;		/* -o, relative to -D */
	int verbosity;			/* -v0..-v4 */
	bool leave_running;		/* --leave-running */
	bool restore_detached;		/* -d, --restore-detached */
	bool tcp_established;		/* --tcp-established: keep established TCP connections */
	const char *pidfile;		/* --pidfile */
	const char *show_path;		/* cr show DIR|FILE */
	bool shell_job;			/* --shell-job */
	bool allow_untrusted_images;	/* --allow-untrusted-images: restore as root anyway */
	struct cr_inherit_fd *inherit_fds;	/* --inherit-fd, restore */
	unsigned nr_inherit_fds;
};

/*
 * The commands. @dfd is the image directory img_dir_lock() opened and
 * locked (the only open of -D); they take it over. cr_restore() without
 * -d waits for the tree and puts the root's exit status in
 * *ret_exit_status (as a shell: 128 + signal if it was killed).
 */
int cr_dump(const struct cr_options *o, int dfd);
int cr_restore(const struct cr_options *o, int dfd, int *ret_exit_status);
int cr_check(void);
int cr_show(const char *path);

/*
 * Failure injection for tests: CR_FAIL_AT=<point name> makes cr_fail_point()
 * return -EIO (logged) at that point, so tests can prove a failed dump or
 * restore leaves nothing behind; CR_FAIL_AT=sigkill:<point> makes cr die
 * of SIGKILL there; <point>@N arms the N-th arrival. Returns 0 when not
 * armed.
 */
int cr_fail_point(const char *name);
/* The same for a point whose arrivals the caller counts (1-based). */
int cr_fail_point_nth(const char *name, unsigned nth);
/* No point fires any more (in the guard: a failure injected into cr is cr's). */
void cr_fail_disarm(void);

#endif
