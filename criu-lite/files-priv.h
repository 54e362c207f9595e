#ifndef CR_FILES_PRIV_H
#define CR_FILES_PRIV_H

/*
 * Shared by the parts of the fd framework only; the kinds see
 * files-kind.h, the rest of cr files.h. The parts, each with its dump and
 * restore side where it has both:
 *
 *  files.c		the kinds table; the dump's walk over each task's fds;
 *			the kinds' hooks run over every entry at restore
 *  files-ident.c	which fds of the tree name one open file description
 *			(device and inode, then kcmp), and the ids they get
 *  files-refuse.c	the dump's refusals of fds cr cannot keep
 *  fdata.c		fdata.img: raw bytes of pipes, deleted files, socket queues
 *  files-locks.c	flock, OFD and POSIX locks
 *  files-fown.c	owners and their signals (F_SETOWN_EX, F_SETSIG)
 *  files-open.c	restore in cr: files.img read and checked, every open
 *			file description created once before the first fork
 *  files-inherit.c	--inherit-fd: entries that cr's own fds stand for
 *  files-flight.c	files in flight in unix socket queues (SCM_RIGHTS):
 *			entries no task has in its table
 *  files-place.c	restore in each task: its plan (fdinfo-PID.img), its
 *			fds put at their numbers, every other number closed
 *
 * Functions return 0 (or an fd, a count) or -errno, logged where the
 * cause is known.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "files.h"
#include "files-kind.h"

/* ==== dump ============================================================== */

/* Locks found in an fdinfo, as written to the image. */
struct lock_list {
	FileLock **v;
	size_t nr;
};

/*
 * Descriptions whose POSIX locks one task already recorded: an fdinfo
 * shows the task's locks taken through its description (every fd of
 * it), not those taken through another description of the same file.
 */
struct locked_files {
	uint32_t *v;			/* file ids */
	size_t nr;
};

struct fd_ident;
struct fd_deferred;
struct cr_options;

/* Options as a dump or restore without any (unit tests). */
extern const struct cr_options files_no_options;

struct files_dump {
	const struct cr_options *opts;
	const struct pstree *tree;
	struct guard *guard;		/* or NULL */
	struct img *files, *fdata;
	struct fd_ident *ident;
	struct fd_deferred **deferred;	/* files.c's */
	size_t nr_deferred, cap_deferred;
	int *held;			/* files-mapped.c's: files of mappings, kept open */
	size_t nr_held;
	char *fdata_buf;		/* fdata.c's: small appends, written together */
	size_t fdata_len;
	struct fdata_macs *macs;	/* fdata.c's: signed dumps, the data_refs' MACs */
};

/* files.c */
const struct fd_kind *files_kind_of(FileKind k);

/* files.c */
/* Link, stat and fdinfo of fd @fd of @pid into @d (release it with files_fd_release()). */
int files_probe_fd(pid_t pid, int fd, struct fd_dump *d);
/*
 * The first sight of an open file description (files_ident_get() gave it
 * @id): dumps it now, or (a deferred kind) takes @d's link and cr_fd along
 * to dump it once the tree is seen. @pidfd: @d's task.
 */
int files_dump_new(struct files_dump *df, int pidfd, struct fd_dump *d, uint32_t id);
void files_fd_release(struct fd_dump *d);

/* files-mapped.c: keeps cr's @fd open until files_dump_free() (kcmp compares later fds with it). */
int files_dump_hold(struct files_dump *df, int fd);

/* files-refuse.c: refuses @d, an fd no kind matches, naming what it is. -ENOTSUP. */
int files_refuse_unknown(const struct fd_dump *d);

/* files-ident.c: the tree's open file descriptions by (device, inode), ordered by kcmp. */
int files_ident_new(struct fd_ident **ret);
void files_ident_free(struct fd_ident *ids);
/*
 * The id of @d's open file description: 0 and *ret_id for one seen
 * before, 1 and a new *ret_id for the first sight of it, or -errno.
 */
int files_ident_get(struct fd_ident *ids, const struct fd_dump *d, uint32_t *ret_id);

/* files-locks.c */
void files_lock_list_free(struct lock_list *l);
/* The flock and OFD locks of @d's description; a lease is refused. */
int files_locks_dump(const struct fd_dump *d, struct lock_list *out);
/* The task's POSIX locks taken through @d's description @id into @pl, unless @seen has @id. */
int files_posix_locks_dump(const struct fd_dump *d, uint32_t id, struct locked_files *seen,
			   struct lock_list *pl);

/* files-fown.c: the owner and signal of @d's description into @fown, hung off @fe if any. */
int files_fown_dump(const struct fd_dump *d, FileEntry *fe, FownEntry *fown);

/* ==== restore =========================================================== */

struct rst_file {
	FileEntry *fe;
	const struct fd_kind *kind;
	int fd;				/* cr's, -1 until open */
	int want_fd;			/* the number of its first user, -1 none */
	int inherit_fd;			/* --inherit-fd: cr's fd standing for it, -1 none */
	bool opening;
	bool post_opened;		/* post_open() ran in cr */
	/* fd_kind.open_by_owner: made by its task (owner, at want_fd), not by cr */
	bool by_owner;
	pid_t owner;			/* the task of want_fd */
	unsigned nr_tables;		/* how many tasks' plans have it */
	pid_t last_table;
};

/* A task that made entries itself (rst_file.by_owner), for cr's copies of them. */
struct rst_owner {
	pid_t pid;			/* as the images name it */
	int pidfd;
};

struct files_rst {
	const struct cr_options *opts;
	int dfd;
	const struct shmem_table *shm;
	struct rst_file *f;		/* sorted by id */
	size_t nr;
	int fdata_fd;
	uint64_t fdata_end;		/* where its data ends */
	int keep_from;
	/*
	 * at[n] for n < keep_from: 1 + the index of the file whose copy is
	 * at number n in cr, 0 for none. Each task updates its own copy.
	 */
	int *at;
	struct rst_owner *owners;	/* sorted by pid */
	size_t nr_owners;
};

struct files_plan_fd {
	int fd;
	unsigned idx;			/* into files_rst.f */
	bool cloexec;
	bool finish;			/* its kind finishes it after the go (fd_kind.finish) */
};

struct files_plan {
	pid_t pid;
	struct files_plan_fd *fds;	/* sorted by fd */
	unsigned nr;
	struct restorer_lock *locks;	/* POSIX locks, taken by the restorer */
	unsigned nr_locks;
};

/* files-open.c */
/* The index of entry @id in rf->f, or -1. */
long files_rst_index(const struct files_rst *rf, uint32_t id);
/* Whether entry @f is opened in each task that has it, after the fork (fd_kind.open_in_task). */
bool files_rst_in_task(const struct rst_file *f);
/*
 * In a task: creates entry @f (rst_file.by_owner) and sets it up as cr
 * would (post_open(), status flags). f->fd is its fd, at any number.
 */
int files_rst_open_by_owner(struct files_rst *rf, struct rst_file *f);
/* In cr: a copy of entry @f, which its task made (by_owner), from that task; -errno, logged. */
int files_rst_owner_copy(const struct files_rst *rf, const struct rst_file *f);
/* The status flags F_SETFL can set, on f->fd. */
int files_rst_set_flags(const struct rst_file *f);

/* fdata.c: writes what fdata_append() keeps buffered, before fdata.img is closed. */
int fdata_dump_flush(struct files_dump *df);
/* fdata.c: opens fdata.img for fdata_read() and fdata_copy_to_fd(). */
int fdata_rst_open(struct files_rst *rf);

/* files-locks.c */
/* Takes the flock and OFD locks and the lease of entry @f again, on f->fd. */
int files_locks_restore(const struct rst_file *f);
/* In a task: the lease of @f taken again at @fd, the number its break signal names. */
int files_lease_at(const struct rst_file *f, int fd);
/* Adds the POSIX locks of @fdi to the plan, for the restorer. */
int files_plan_add_locks(struct files_plan *plan, const FdinfoEntry *fdi);

/* files-fown.c */
/*
 * O_ASYNC set again on @f at @fd, a number of the task: the signal's
 * si_fd is the number at which O_ASYNC was set (the kernel's fasync
 * entry), not cr's. Only for entries with O_ASYNC.
 */
int files_fown_async_at(const struct rst_file *f, int fd);

/* files-inherit.c */
/* Marks the entries --inherit-fd names (rst_file.inherit_fd). */
int files_inherit_match(struct files_rst *rf);
/* A new fd in cr (O_CLOEXEC) of the --inherit-fd fd that stands for @f. */
int files_inherit_dup(const struct rst_file *f);

#endif
