#ifndef CR_FILES_KIND_H
#define CR_FILES_KIND_H

/*
 * What one kind of open file (regular file, pipe, eventfd, socket, ...)
 * provides to the fd framework in files.c, and what the framework offers
 * it. A kind lives in one file (files-reg.c, pipes.c, ...) with its dump
 * and restore side together, and is listed once in files.c's kinds[].
 *
 * Dump: the framework walks every task's fds, finds which fds of the
 * whole tree share one open file description (kcmp), and calls the
 * kind's dump() once per description with a copy of it in cr (cr_fd,
 * from pidfd_getfd). The generic part of the file_entry (id, kind, status
 * flags, owner) is filled by the framework.
 *
 * Restore: before any task exists, cr creates every open file
 * description once (open()) and keeps it; each task inherits them all
 * at fork and dups its own ones to their numbers. So whatever was shared
 * between tasks or fds is shared again, and nothing is passed around.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "proc-parse.h"
#include "fdinfo.pb-c.h"

struct files_dump;
struct files_rst;

/* One fd at the first sight of its open file description. */
struct fd_dump {
	pid_t pid;
	int fd;				/* its number in the task */
	int cr_fd;			/* the same open file description, in cr */
	char *link;			/* readlink of /proc/PID/fd/FD */
	char *fdinfo;			/* all of /proc/PID/fdinfo/FD */
	struct stat st;			/* of the open file (stat through the link) */
	struct proc_fdinfo fdi;		/* pos, flags, mnt_id, ino */
	struct files_dump *df;
};

/* What the framework offers the kinds: the options of this dump or restore, */
struct cr_options;
const struct cr_options *files_dump_opts(const struct files_dump *df);
const struct cr_options *files_rst_opts(const struct files_rst *rf);
/* and the guard (guard.h) to hand what they change in live objects to, or NULL. */
struct guard;
struct guard *files_dump_guard(const struct files_dump *df);

struct fd_kind {
	FileKind kind;
	const char *name;		/* for messages: "pipe", "eventfd" */

	/* Dump. match() says whether the probed fd is of this kind. */
	bool (*match)(const struct fd_dump *d);
	/*
	 * Fills @fe's kind part (allocations hang off @fe and are freed
	 * with it by files_entry_free_kind()). An fd this kind cannot keep
	 * is refused with files_refuse(). Returns 0 or -errno.
	 */
	int (*dump)(struct fd_dump *d, FileEntry *fe);
	/*
	 * Set for kinds whose entry names other open files (epoll targets,
	 * socket peers): dump() then runs after every task's fds have been
	 * seen, so files_dump_find() knows all ids. The tree is still frozen.
	 */
	bool deferred;
	/*
	 * Deferred kinds: before any deferred entry is dumped, hands every
	 * file in flight in the object (SCM_RIGHTS in a socket's queue) to
	 * files_dump_flight(), so that those are known ids when dump() runs.
	 * May be NULL.
	 */
	int (*dump_flight)(struct fd_dump *d);
	/* Frees what dump() hung off @fe. */
	void (*free_entry)(FileEntry *fe);
	/*
	 * The dump is over, before the tree runs again or right after it
	 * was killed (@tree_killed): put back what dump() changed in the
	 * live objects (TCP repair mode). May be NULL.
	 */
	void (*dump_end)(bool tree_killed);
	/* Once per task before its fds are walked (tasks in tree order, the root first). May be NULL. */
	int (*dump_task)(struct files_dump *df, pid_t pid);
	/* After every task and every deferred entry: checks across the tree. May be NULL. */
	int (*dump_finish)(struct files_dump *df);

	/*
	 * Restore, in cr. check() runs for every entry before anything is
	 * created: a missing file, another kind of file at the path, a
	 * changed size is an error naming the file. May be NULL.
	 */
	int (*check)(struct files_rst *rf, const FileEntry *fe);
	/*
	 * Creates the open file description and returns its fd in cr
	 * (any number, O_CLOEXEC), or -errno. An entry another one created
	 * and registered (files_rst_set()) meanwhile returns
	 * files_rst_get() of itself. Status flags the kind does
	 * not set at open are set after by the framework (F_SETFL).
	 */
	int (*open)(struct files_rst *rf, const FileEntry *fe);
	/*
	 * Entries that can only be opened once every task exists (files
	 * under /proc/PID/ of the tree): each task that has the entry opens
	 * it with open() itself, after the tree is created. May be NULL.
	 */
	bool (*open_in_task)(const FileEntry *fe);
	/*
	 * Entries the one task that has them may create itself, after the
	 * fork, instead of cr (a kind with many entries: TCP connections
	 * rebuilt in repair mode, tens of thousands in a tree, more than cr's
	 * RLIMIT_NOFILE). Only an entry of one fd table, without an owner
	 * (F_SETOWN) or locks, is; one another entry needs in cr (an epoll's
	 * target, a file in flight) is made by cr after all. open() and
	 * post_open() then run in the task, finish() in cr (and its guard)
	 * on a copy of the task's fd. May be NULL.
	 */
	bool (*open_by_owner)(struct files_rst *rf, const FileEntry *fe);
	/* Once every entry is open: links between them (epoll watches). May be NULL. */
	int (*post_open)(struct files_rst *rf, const FileEntry *fe, int fd);
	/*
	 * In cr, once the tree got the go and before any task runs its own
	 * code again: the last step of an object shared with the running
	 * world (TCP repair mode off). Before the go, a failed restore still
	 * closes the object as it was (in repair mode: no FIN, no RST). Run
	 * again by the guard if cr dies meanwhile: what is done already must
	 * be left alone. May be NULL.
	 */
	int (*finish)(struct files_rst *rf, const FileEntry *fe, int fd);
	/* In a task, once all its fds are at their numbers. May be NULL. */
	int (*task_setup)(const FileEntry *fe, int fd);
	/* A failed restore: undo what open() made outside cr (socket files). May be NULL. */
	void (*abort)(struct files_rst *rf, const FileEntry *fe);
	/*
	 * The name --inherit-fd fd[N]:KEY matches (criu's: "pipe:[INODE]"
	 * for pipes), written to @buf; NULL for none. Default when NULL: the
	 * path of an entry with a reg part.
	 */
	const char *(*key)(const FileEntry *fe, char *buf, size_t size);
	/*
	 * In a task that leads its session: session_new() right after its
	 * setsid(), before it forks the tasks born in the session (they
	 * inherit a controlling terminal set here); session_joined() once
	 * every group of the tree exists. @fd is cr's fd of the entry (every
	 * entry's is still open then). May be NULL.
	 */
	int (*session_new)(const FileEntry *fe, int fd);
	int (*session_joined)(const FileEntry *fe, int fd);
};

/* ---- services for kinds: dump ------------------------------------------ */

/*
 * Refuses @d: logs "pid P: fd N is WHAT (LINK), which cr cannot dump:
 * WHY" and returns -ENOTSUP. @why may be NULL.
 */
int files_refuse(const struct fd_dump *d, const char *what, const char *why);

/*
 * Finds the id of an open file already seen in the tree: among the fds
 * whose file has @dev/@ino, the one for which @same(pid, fd, @arg)
 * returns 0 (kcmp() convention: 0 equal, 1 less, 2 greater, -1 error).
 * @same == NULL gives the lowest id with that inode: the first open file
 * description of it dumped (may be the caller's own; sockets and pipes
 * have one inode per object). Returns 0 and *ret_id, -ENOENT, or -errno.
 */
int files_dump_find(struct files_dump *df, dev_t dev, ino_t ino,
		    int (*same)(pid_t pid, int fd, void *arg), void *arg, uint32_t *ret_id);

/*
 * A file in flight in @via's object (an SCM_RIGHTS fd a peek gave cr, still
 * cr's to close): the id of its open file description, the one a task's fd
 * has too (kcmp) or a new entry dumped now that no task has in its table.
 * Returns 0 and *ret_id, or -errno (logged, naming @via).
 */
int files_dump_flight(struct files_dump *df, const struct fd_dump *via, int fd, uint32_t *ret_id);

/* The dumped tree (pstree.h), or NULL (unit tests). */
struct pstree;
const struct pstree *files_dump_tree(const struct files_dump *df);
/* Whether @pid is a process of the dumped tree. */
bool files_dump_pid_in_tree(const struct files_dump *df, pid_t pid);
/* Whether /proc/@pid, as task @viewer's /proc shows it, is a task of the tree (ns_proc_pid_in_tree()). */
/* @id (a pid, group or session of cr's pid namespace) as the tree sees it: pstree_ns_id(). */
pid_t files_dump_ns_id(const struct files_dump *df, pid_t id);
bool files_dump_proc_pid_in_tree(const struct files_dump *df, pid_t viewer, pid_t pid);

/*
 * The value after "@key" at the start of a line of @d's fdinfo, parsed
 * with strtoull in @base ("-1" reads as UINT64_MAX). Returns 0, or
 * -EBADMSG (logged) when the line is missing or malformed.
 */
int files_fdinfo_u64(const struct fd_dump *d, const char *key, int base, uint64_t *ret);

/* fdata.img (fdata.c): appends @len bytes; fills *ref (data_ref__init'ed here). */
int fdata_append(struct files_dump *df, const void *buf, size_t len, DataRef *ref);
/* Appends @len bytes read from @fd at @off (pread) to fdata.img. */
int fdata_append_fd(struct files_dump *df, int fd, uint64_t off, uint64_t len, DataRef *ref);
/* Frees the MACs of @df's data_refs (signed dumps), once its records are written. */
void fdata_macs_free(struct files_dump *df);

/* ---- services for kinds: restore --------------------------------------- */

/* The entry with @id, or NULL. */
const FileEntry *files_rst_entry(const struct files_rst *rf, uint32_t id);
/*
 * cr's fd of entry @id, opening it now if it is not open yet (a kind
 * that needs another entry first, like a socket's peer). -errno on error.
 */
int files_rst_get(struct files_rst *rf, uint32_t id);
/* cr's fd of entry @id, which goes in flight (SCM_RIGHTS) at restore; refuses one only a task can open. */
int files_rst_flight_fd(struct files_rst *rf, uint32_t id);
/* Records @fd as entry @id's open file (socketpair: both ends at once). */
int files_rst_set(struct files_rst *rf, uint32_t id, int fd);
/* The shared memory objects of the restore (shmem.h), for memfds. */
struct shmem_table;
const struct shmem_table *files_rst_shmem(const struct files_rst *rf);
/* fdata.img (fdata.c): reads a data_ref into @buf (ref->len bytes), checking its CRC. */
int fdata_read(struct files_rst *rf, const DataRef *ref, void *buf);
/* Writes a data_ref's bytes to @fd at its position, checking the CRC. */
int fdata_copy_to_fd(struct files_rst *rf, const DataRef *ref, int fd);

/* ---- the kinds ---------------------------------------------------------- */

extern const struct fd_kind fd_kind_reg, fd_kind_dir, fd_kind_chr;
extern const struct fd_kind fd_kind_unix;
extern const struct fd_kind fd_kind_inet_sk;
extern const struct fd_kind fd_kind_tty, fd_kind_ptmx;
extern const struct fd_kind fd_kind_pipe, fd_kind_fifo;
extern const struct fd_kind fd_kind_eventfd, fd_kind_signalfd, fd_kind_timerfd, fd_kind_epoll;
extern const struct fd_kind fd_kind_inotify, fd_kind_fanotify;
extern const struct fd_kind fd_kind_mqueue;
extern const struct fd_kind fd_kind_pidfd;
extern const struct fd_kind fd_kind_nsfile, fd_kind_ttydev;
extern const struct fd_kind fd_kind_netlink, fd_kind_packet;

#endif
