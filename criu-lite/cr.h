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
	/* Containers (namespaces.h). */
	const char *root;		/* --root DIR: restore: the new mount tree's root */
	const char **externals;		/* --external TYPE[NAME]:VALUE (and --ext-mount-map A:B) */
	unsigned nr_externals;
	int manage_cgroups;		/* --manage-cgroups[=MODE]: enum cg_mode */
	const char **cgroup_roots;	/* --cgroup-root [CONTROLLER:]PATH, may repeat */
	unsigned nr_cgroup_roots;
	const char *freeze_cgroup;	/* --freeze-cgroup PATH: dump */
};

/*
 * --manage-cgroups modes, as criu means them (restore; dump saves
 * properties in PROPS, FULL and STRICT).
 *	CG_MODE_SOFT	(the default, and --manage-cgroups without a mode)
 *			put tasks back, create missing cgroups, set properties
 *			only of cgroups cr created
 *	CG_MODE_NONE	leave the tasks in the cgroups cr runs in
 *	CG_MODE_PROPS	as soft, and set the properties of every cgroup
 *	CG_MODE_FULL	as props, creating every cgroup of the image
 *	CG_MODE_STRICT	as full, and a cgroup that exists already is an error
 *	CG_MODE_IGNORE	do not touch cgroups at all (not even put tasks back)
 */
enum cg_mode { CG_MODE_SOFT, CG_MODE_NONE, CG_MODE_PROPS, CG_MODE_FULL, CG_MODE_STRICT,
	       CG_MODE_IGNORE };

/*
 * The VALUE of --external TYPE[NAME]:VALUE ("mnt", "veth", ...), or NULL
 * when none names it. --ext-mount-map A:B is kept as mnt[A]:B. With
 * @name NULL the first of @type is returned.
 */
const char *cr_external_lookup(const struct cr_options *o, const char *type, const char *name);

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
