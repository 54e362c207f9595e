#ifndef CR_CR_H
#define CR_CR_H

#include <stdbool.h>
#include <stdint.h>
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
	const char *work_dir;		/* RPC work_dir_fd: stats-dump/-restore there; NULL: in -D */
	bool display_stats;		/* --display-stats, RPC display_stats: the stats in the log */
	bool stats;			/* --stats: a summary of them on stderr at the end (stats.h) */
	bool show_pages;		/* show --pages: which address ranges are in which image */
	int verbosity;			/* -v0..-v4 */
	bool leave_running;		/* --leave-running */
	bool restore_detached;		/* -d, --restore-detached */
	bool lazy_pages;		/* restore --lazy-pages: anonymous memory filled after the tree runs (lazy.h) */
	const char *check_feature;	/* check --feature NAME */
	bool tcp_established;		/* --tcp-established: keep established TCP connections */
	bool tcp_skip_in_flight;	/* --tcp-skip-in-flight: drop a listener's accept queue */
	bool tcp_close;			/* --tcp-close: connections are restored closed */
	const char *pidfile;		/* --pidfile */
	const char *show_path;		/* cr show DIR|FILE */
	bool shell_job;			/* --shell-job */
	bool allow_untrusted_images;	/* --allow-untrusted-images: restore as root anyway */
	const char *key_file;		/* --key-file: sign (dump) and check (restore, show) images (image-mac.h) */
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
	/* CLONE_NEW* of namespaces made new but not filled (criu's empty_ns; CLONE_NEWNET only) */
	unsigned empty_ns;
	/* dump: return once the killed tree has exited (criu's way; the RPC's) */
	bool wait_killed;
	/* restore: the root becomes a child of cr's parent (CLONE_PARENT); RPC rst_sibling */
	bool restore_sibling;
	/*
	 * dump: --ext-unix-sk[=INO,...]: a unix socket whose peer is outside
	 * the tree is saved with the peer's name and connected to that name
	 * again at restore; every such socket, or those whose inode (or
	 * their peer's) is listed.
	 */
	bool ext_unix_sk;
	/* dump: --link-remap: a file whose path names another file now is kept by a hard link of cr's (files-remap.c) */
	bool link_remap;
	const uint32_t *ext_unix_inos;
	unsigned nr_ext_unix_inos;
	/*
	 * Notifications at the points criu runs its action scripts (the
	 * RPC's NOTIFY): @script is criu's name ("pre-dump", "post-restore",
	 * ...), @pid the restored root where criu gives one, else 0. A
	 * negative return fails the dump or restore there. NULL: nobody is
	 * told (the CLI).
	 */
	int (*notify)(void *ctx, const char *script, pid_t pid);
	void *notify_ctx;
	int network_lock;		/* --network-lock MODE: enum netlock_mode */
	/*
	 * --orphan-pts-master (RPC orphan_pts_master): dump: a terminal
	 * (/dev/pts/N) whose master is outside the tree is saved; restore:
	 * it becomes a new pty pair, the tree gets the slave and the master
	 * goes to the caller through hand_fd (tty.c).
	 */
	bool orphan_pts_master;
	/*
	 * Hands @fd (cr keeps its own copy) to whoever waits for it, at
	 * criu's notification @script ("orphan-pts-master"): the RPC's
	 * NOTIFY with the fd as SCM_RIGHTS, or the CLI's --console-socket
	 * (cr_console_socket_send()). 0 or -errno (logged). NULL: nobody
	 * takes fds.
	 */
	int (*hand_fd)(void *ctx, const char *script, int fd);
	void *hand_fd_ctx;
	/*
	 * dump --page-server --address A --port P (RPC opts.ps): the pages go
	 * to `cr page-server` there (page-xfer.h), or over the connected
	 * socket @fd (with @has_fd; RPC ps.fd); page-server: where it listens
	 * (address NULL: every address; port 0: one the kernel picks), or the
	 * connection @fd it serves.
	 */
	struct { bool on, has_fd; const char *address; int port; int fd; } ps;
	bool daemon;			/* page-server --daemon: returns once it listens */
	bool has_status_fd;		/* --status-fd FD: a '\0' to @status_fd when ready */
	int status_fd;
	/* --join-ns NS:PATH|PID (RPC join_ns), restore: the tree goes into that namespace (namespaces.h). */
	struct cr_join_ns *join_ns;
	unsigned nr_join_ns;
	/* Pre-copy (predump.c): the parent image, relative to -D (the symlink "parent" names it). */
	const char *prev_images_dir;	/* --prev-images-dir DIR, RPC parent_img */
	bool track_mem;			/* --track-mem: copy only what was written since the parent */
	bool auto_dedup;		/* --auto-dedup: punch out of the parent what this image replaces */
	unsigned pre_copy_rounds;	/* dump --pre-copy[=N]: N rounds at most before the dump; 0: none */
	/* dump, pre-dump --compress[=zstd[:LEVEL]] (RPC cr_compress): the zstd level of pages-N.img; 0: plain */
	int compress_level;
};

/* One --join-ns: @ns "net", "uts", "ipc", ...; @file a path or a pid; @extra criu's ",OPTIONS" (user only). */
struct cr_join_ns {
	const char *ns;
	const char *file;
	const char *extra;
};

/*
 * Calls o->notify, if any; 0, or the error it returned (logged, naming
 * the notification).
 */
int cr_notify(const struct cr_options *o, const char *script, pid_t pid);
/* Calls o->hand_fd: -ENOTCONN (logged) when there is none. */
int cr_hand_fd(const struct cr_options *o, const char *script, int fd);
/*
 * --console-socket PATH: the hand_fd hook of the CLI (@ctx the path).
 * Connects to the unix stream socket PATH and sends @fd as runc sends a
 * console master to its --console-socket (the name in the data, the fd
 * as SCM_RIGHTS), so runc's recvtty or any such receiver takes it.
 */
int cr_console_socket_send(void *ctx, const char *script, int fd);

/* --action-script: criu's shell scripts, as a notify hook (notify.c). */
struct cr_action_scripts {
	const char **paths;
	unsigned nr;
	const char *images_dir;		/* CRTOOLS_IMAGE_DIR */
	pid_t init_pid;			/* CRTOOLS_INIT_PID, once known */
};
/*
 * The notify hook of struct cr_action_scripts @ctx: runs each script
 * with criu's environment; -ECANCELED (logged) when one fails.
 */
int cr_run_action_scripts(void *ctx, const char *script, pid_t pid);

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
 * --network-lock modes (netlock.h), numbered as criu's RPC numbers them.
 * NETLOCK_DEFAULT is nftables: one transaction locks IPv4 and IPv6
 * together, in a table of cr's own.
 */
enum netlock_mode { NETLOCK_DEFAULT, NETLOCK_IPTABLES, NETLOCK_NFTABLES, NETLOCK_SKIP };

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
/* cr pre-dump (predump.c): memory only, the tree runs on, a parent for a later dump. */
int cr_pre_dump(const struct cr_options *o, int dfd);
/* cr dump --pre-copy[=N] (predump.c): pre-dump rounds in -D/precopy-K, then the dump. */
int cr_dump_pre_copy(const struct cr_options *o, int dfd);
int cr_restore(const struct cr_options *o, int dfd, int *ret_exit_status);
int cr_check(void);
/*
 * `cr page-server`: receives the pages of one dump into @dfd (-D)
 * (page-server.c). 0 once every image came whole, else -errno (logged).
 */
int cr_page_server(const struct cr_options *o, int dfd);
/* --status-fd: tells the one waiting that cr is ready ('\0', as criu), closes it. 0 or -errno (logged). */
int cr_status_ready(const struct cr_options *o);
/*
 * cr check --feature NAME: one probe, by criu's name (uffd, lazy_pages,
 * mem_dirty_track, ...). 0 if this kernel has it, -EOPNOTSUPP if not,
 * -EINVAL for a name cr does not know.
 */
int cr_check_feature(const char *name);
int cr_show(const char *path);
/* cr show --pages DIR (show-pages.c): the page runs of each process and where their bytes are. */
int cr_show_pages(const char *dir);
/*
 * `cr swrk FD`: criu's RPC server on the SOCK_SEQPACKET socket FD
 * (rpc.c). Returns 0 when every request it served succeeded.
 */
int cr_swrk(const char *fd_arg);

/*
 * What dump and restore do before the command (session.c): take -D
 * (image.c: locked, checked, created 0700 by a dump, trusted by a
 * restore) and then open -o, relative to -D unless absolute; the log's
 * path goes to @ret_path (PATH_MAX bytes, "" for stderr). Other commands
 * take no directory (*ret_dfd stays -1).
 */
int cr_take_images_dir(const struct cr_options *o, int *ret_dfd);
int cr_open_log(const struct cr_options *o, char *ret_path);

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
