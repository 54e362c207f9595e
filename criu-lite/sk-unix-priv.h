#ifndef CR_SK_UNIX_PRIV_H
#define CR_SK_UNIX_PRIV_H

/*
 * Shared by the files of the unix socket kind only: sk-unix.c (the kind:
 * its fd_kind hooks), sk-unix-diag.c (what unix_diag says at dump),
 * sk-unix-opts.c (socket options), sk-unix-name.c (names and socket
 * files), sk-unix-queue.c (receive queues and shutdowns) and
 * sk-unix-conn.c (peers, listeners and their connections). Each part
 * holds its dump and its restore side. All int functions return 0 (or
 * an fd) or -errno, and log where the cause is known.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "files-kind.h"

/* Socket states as unix_diag reports them (include/net/tcp_states.h). */
#define SK_ESTABLISHED	1
#define SK_CLOSE	7
#define SK_LISTEN	10

/* sk_shutdown bits (include/net/sock.h). */
#define SK_RCV_SHUTDOWN		1
#define SK_SEND_SHUTDOWN	2

#define SUN_PATH_MAX	sizeof(((struct sockaddr_un *)0)->sun_path)
/* Room for a socket's name as unix_name_str() writes it. */
#define UNIX_NAME_STR_MAX	(SUN_PATH_MAX + PATH_MAX + 8)

static inline const char *unix_type_name(unsigned type)
{
	switch (type) {
	case SOCK_STREAM: return "stream";
	case SOCK_DGRAM: return "datagram";
	case SOCK_SEQPACKET: return "seqpacket";
	default: return "unknown type";
	}
}

/* ---- sk-unix-diag.c: the unix sockets of cr's netns, at dump ------------- */

/* One unix socket of the netns, as unix_diag describes it. */
struct usk {
	uint32_t ino;
	uint8_t type, state, shutdown;
	bool has_vfs, has_peer;
	uint32_t vfs_ino, vfs_dev;	/* the socket file, kernel dev_t encoding */
	uint32_t peer;			/* 0: the peer was closed */
	uint32_t rq, wq;		/* queued bytes; a listener: queued connections, backlog */
	uint32_t nr_icons;		/* a listener: connections not accepted yet */
	uint32_t *icons;
	unsigned name_len;
	char name[SUN_PATH_MAX];
};

/*
 * Makes sure the table is the one of dump @df and lists socket @ino if
 * the kernel does: read at its first use (the tree is frozen by then)
 * and again when it lacks @ino.
 */
int unix_diag_get(const struct files_dump *df, uint32_t ino);
/* The socket with inode @ino in the table, or NULL. */
const struct usk *unix_diag_find(uint32_t ino);
/* The sockets of the table in turn: the first after @prev (NULL: the first), NULL at the end. */
const struct usk *unix_diag_next(const struct usk *prev);
/* The listener @u was accepted from (it carries its name), or NULL. */
const struct usk *unix_diag_listener_of(const struct usk *u);
/* The listener whose queue holds the connection of client @ino, or NULL. */
const struct usk *unix_diag_icon_owner(uint32_t ino);

/* ---- sk-unix-opts.c: socket options --------------------------------------- */

int unix_opts_dump(const struct fd_dump *d, UnixSkOpts *o);
int unix_opts_set(int fd, const UnixSkEntry *u);

/* ---- sk-unix-name.c: names, socket files and their directories ------------ */

/* Dump: name, dir, deleted and mode of bound socket @us (@accepted: it carries its listener's). */
int unix_dump_name(const struct fd_dump *d, const struct usk *us, UnixSkEntry *u, bool accepted);

/* Whether @u has a path name (not unnamed, not abstract). */
bool unix_is_path(const UnixSkEntry *u);
/* The name for messages: a path (with its directory), "@abstract" or "(unnamed)". */
void unix_name_str(const UnixSkEntry *u, char *buf, size_t size);
/* The sockaddr of @u's name; returns its length. */
socklen_t unix_make_addr(const UnixSkEntry *u, struct sockaddr_un *sa);
/*
 * A relative name resolves against the directory it was bound in, an
 * absolute one, in a tree with a mount namespace of its own, against that
 * namespace's root: cr works in the directory (chdir) between
 * unix_enter_dir() and unix_leave_dir(), and uses @rel (the name from
 * there, a C string for a path) and @sa, @len (its sockaddr).
 */
struct unix_in_dir {
	int saved;
	char rel[SUN_PATH_MAX + 1];
	struct sockaddr_un sa;
	socklen_t len;
};
int unix_enter_dir(const UnixSkEntry *u, struct unix_in_dir *s);
void unix_leave_dir(struct unix_in_dir *s);
/* Nothing or a stale socket file at @u's path (removed if @remove); else -EEXIST. */
int unix_check_path_free(const UnixSkEntry *u, bool remove);
int unix_bind(int fd, const UnixSkEntry *u);
int unix_connect(int fd, const UnixSkEntry *to);
/* --ext-unix-sk: connects @fd to @u's peer outside the tree by the name it had (ext_peer). */
int unix_connect_ext(int fd, const UnixSkEntry *u);
/* Unlinks the socket file, as it was at dump (deleted after bind). */
int unix_unlink_name(const UnixSkEntry *u);
/* A failed restore: removes the socket file at @u's path, if it is a socket. */
void unix_remove_name(const UnixSkEntry *u);
/*
 * sk-unix-hidden.c: a path name whose file is not the socket's (deleted
 * or replaced, u->deleted): bound in a helper's mount namespace, the path
 * left as it is. unix_hidden_connect() connects @fd to such a socket;
 * unix_hidden_finish() removes the socket file once every file is open
 * (or the restore failed). 0 or -errno, logged.
 */
int unix_hidden_bind(int fd, const UnixSkEntry *u);
int unix_hidden_connect(int fd, const UnixSkEntry *to);
int unix_hidden_finish(const UnixSkEntry *u);

/* ---- sk-unix-scm.c: files in flight in the queues (SCM_RIGHTS) ----------- */

/* The most fds one message carries (the kernel's SCM_MAX_FD). */
#define SCM_FDS_MAX	253

/* The fds a peek installed in cr, in the order they were sent. */
struct scm_fds {
	int fd[SCM_FDS_MAX];
	unsigned nr;
};

/* Takes the SCM_RIGHTS fds of a peek into @ret; fds cr could not all take are refused (closed). */
int unix_scm_take(const struct fd_dump *d, struct msghdr *mh, struct scm_fds *ret);
void unix_scm_close(struct scm_fds *f);
/* The first peek at the queue of @d (a socket of @type): its files in flight become open files of the dump. */
int unix_scm_flight(const struct fd_dump *d, unsigned type);
/* The queue's dump: the ids of @f as the files run @run of u->queue came with. */
int unix_scm_record(const struct fd_dump *d, UnixSkEntry *u, size_t run, const struct scm_fds *f);
void unix_scm_free(UnixSkEntry *u);

/* Restore: whether @fe's rights name runs of its queue and entries that exist. */
int unix_scm_check(struct files_rst *rf, const FileEntry *fe);
struct scm_cbuf {
	char buf[CMSG_SPACE(SCM_FDS_MAX * sizeof(int))] __attribute__((aligned(8)));
};
/* Sets @mh's control part to the SCM_RIGHTS of run @run of @u's queue (none: empty), in @cb. */
int unix_scm_cmsg(struct files_rst *rf, const UnixSkEntry *u, size_t run, struct scm_cbuf *cb, struct msghdr *mh);

/* ---- sk-unix-queue.c: receive queues and shutdowns ------------------------ */

/*
 * Walks the receive queue of @d (a socket of @type) with peeks, calling
 * @fn for each run of it: a datagram or seqpacket message, or a part of
 * a stream that ends where a send with fds ended (@fds: those; NULL for
 * none) or at the end. The fds are cr's, closed after @fn. SO_PEEK_OFF
 * is the socket's again afterwards.
 */
typedef int (*unix_run_fn)(const struct fd_dump *d, const void *buf, size_t len,
			   const struct scm_fds *fds, void *arg);
int unix_queue_walk(const struct fd_dump *d, unsigned type, unix_run_fn fn, void *arg);
/* Dump: the receive queue of @d into u->queue and u->rights (peeked: it stays queued). */
int unix_queue_dump(const struct fd_dump *d, UnixSkEntry *u);
/* Restore: sends @u's saved queue from @from, connected to it or (@to_addr) to its name. */
int unix_queue_fill(struct files_rst *rf, const UnixSkEntry *u, int from, bool to_addr);
int unix_shutdown_apply(int fd, const UnixSkEntry *u);

/* ---- sk-unix-conn.c: peers, listeners and their connections --------------- */

/* Dump: peer, listener and accepted or pending connections of @us, as file ids. */
int unix_links_dump(const struct fd_dump *d, const struct usk *us, UnixSkEntry *u);
/* Restore: whether the links of entry @fe agree with the entries they name. */
int unix_links_check(struct files_rst *rf, const FileEntry *fe);

/* The unix socket entry of file id @id, or NULL. */
const UnixSkEntry *unix_entry_of(struct files_rst *rf, uint32_t id);
/* Whether @fe and its peer (another socket) are connected to each other. */
bool unix_mutual(struct files_rst *rf, const FileEntry *fe);
/* Whether @fe binds its path name itself (an accepted socket carries its listener's). */
bool unix_binds_path(struct files_rst *rf, const FileEntry *fe);
/* A new socket of @u's type with its options and name; returns its fd. */
int unix_new_socket(const UnixSkEntry *u);
/* The listener with every connection accepted from it or waiting in it; its fd. */
int unix_open_listener(struct files_rst *rf, const FileEntry *fe);
/* A connected pair (socketpair), or one end whose peer was closed; its fd. */
int unix_open_pair(struct files_rst *rf, const FileEntry *fe);

#endif
