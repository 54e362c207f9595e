#ifndef CR_SK_OPTS_H
#define CR_SK_OPTS_H

/*
 * Socket options kept in a socket kind's image message, as a table: a
 * row names one option and the message fields that hold it. The dump
 * reads every row with getsockopt() into the fields; the restore sets
 * them with setsockopt() on the new socket. Unix and inet sockets keep
 * their options this way (their tables are in sk-unix.c and sk-inet.c).
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "files-kind.h"

enum sk_opt_type {
	SK_OPT_INT,		/* an int, in a 32-bit field (uint32, int32 or bool) */
	SK_OPT_TIMEO,		/* a struct timeval, in a uint64 field of microseconds */
	SK_OPT_LINGER,		/* a struct linger: l_onoff in field, l_linger in field2 */
	SK_OPT_STR,		/* a name (SO_BINDTODEVICE), in a string field; "" kept as none */
};

/* Which kept values restore sets (a new socket has the kernel's defaults). */
enum sk_opt_set {
	SK_SET_ALWAYS,
	SK_SET_NONZERO,		/* all but 0 (a linger: all that are on) */
	SK_SET_NONNEG,		/* all but negative ones (SO_PEEK_OFF -1: off) */
	SK_SET_CHANGED,		/* those that differ from the new socket's (getsockopt) */
};

/* Row flags. Bits from SK_OPT_CALLER up are the table owner's, for @skip. */
enum {
	/* A buffer size: the kernel doubles what it is given (socket(7)), so half is set. */
	SK_OPT_HALF = 1 << 0,
	SK_OPT_CALLER = 1 << 8,
};

/* A field that is required in the message: it has no has_ field. */
#define SK_OPT_NO_HAS	((size_t)-1)

struct sk_opt {
	const char *name;		/* "SO_RCVBUF", for messages */
	int level, opt;
	int set_opt;			/* what restore sets: opt, or its *FORCE variant */
	enum sk_opt_type type;
	enum sk_opt_set set;
	unsigned flags;
	size_t field, field2;		/* offsets of the value(s) in the message */
	size_t has, has2;		/* of their protobuf has_ fields, or SK_OPT_NO_HAS */
};

/* The offset of @msg's @field, checked at build time to be @size bytes. */
#define SK_OPT_OFF(msg, field, size)						\
	(offsetof(msg, field) + 0 * sizeof(char[sizeof(((msg *)0)->field) == (size) ? 1 : -1]))
/* The offset of @msg's has_@field. */
#define SK_OPT_HAS(msg, field)	offsetof(msg, has_##field)

/* An int option @o of level @lvl in @msg.@field; @has: SK_OPT_HAS() or SK_OPT_NO_HAS. */
#define SK_OPT_INT_ROW(msg, lvl, o, set_o, when, fl, field, has)			\
	{ #o, lvl, o, set_o, SK_OPT_INT, when, fl, SK_OPT_OFF(msg, field, 4), 0, has, SK_OPT_NO_HAS }
/* SO_RCVTIMEO or SO_SNDTIMEO in microseconds; set unless 0. */
#define SK_OPT_TIMEO_ROW(msg, o, field, has)						\
	{ #o, SOL_SOCKET, o, o, SK_OPT_TIMEO, SK_SET_NONZERO, 0, SK_OPT_OFF(msg, field, 8), 0,	\
	  has, SK_OPT_NO_HAS }
/* A name option @o of level @lvl in the string field @field (no has_ field: NULL is none). */
#define SK_OPT_STR_ROW(msg, lvl, o, when, fl, field)					\
	{ #o, lvl, o, o, SK_OPT_STR, when, fl, SK_OPT_OFF(msg, field, sizeof(char *)), 0,	\
	  SK_OPT_NO_HAS, SK_OPT_NO_HAS }
/* SO_LINGER in @onoff and @secs; set when on. */
#define SK_OPT_LINGER_ROW(msg, onoff, secs, has, has2)					\
	{ "SO_LINGER", SOL_SOCKET, SO_LINGER, SO_LINGER, SK_OPT_LINGER, SK_SET_NONZERO, 0,	\
	  SK_OPT_OFF(msg, onoff, 4), SK_OPT_OFF(msg, secs, 4), has, has2 }

/*
 * Dump: reads every row of @t (@n rows) whose flags have no bit of @skip
 * from @d's socket (cr's copy) into @msg, setting its has_ fields.
 * Returns 0, or -errno after logging the option that failed.
 */
int sk_opts_dump(const struct fd_dump *d, const struct sk_opt *t, size_t n, unsigned skip, void *msg);

/*
 * Restore: sets on @fd (a new socket) the rows of @t whose flags have no
 * bit of @skip, whose has_ field is set and whose value the row's
 * enum sk_opt_set asks for. @what names the socket in messages ("file
 * id 7 (inet socket)"). Returns 0, or -errno after logging.
 */
int sk_opts_restore(int fd, const struct sk_opt *t, size_t n, unsigned skip, const void *msg,
		    const char *what);

/* Frees what sk_opts_dump() allocated in @msg (the strings of SK_OPT_STR rows). */
void sk_opts_free(const struct sk_opt *t, size_t n, void *msg);

/*
 * Whether @d is a socket of a protocol named in @names (NULL-ended: "TCP",
 * "NETLINK", ...: the kernel's name, through the socket inode's
 * system.sockprotoname; one syscall, no copy of the fd).
 */
bool sk_dump_proto_is(const struct fd_dump *d, const char *const *names);

/* getsockopt() of one option of @d's socket into @val (@len bytes). 0 or -errno (logged). */
int sk_dump_getsockopt(const struct fd_dump *d, int level, int opt, const char *name,
		       void *val, socklen_t len);
/* Sets SO_PEEK_OFF of @d's socket (the task's own: cr's copy shares it). 0 or -errno (logged). */
int sk_dump_set_peek_off(const struct fd_dump *d, int off);
/*
 * Before cr peeks at @d's queue: the task's own SO_PEEK_OFF in *@ret_own
 * (put it back with sk_dump_set_peek_off() when done), kept by the dump's
 * guard to put back if cr dies meanwhile, and the offset set to 0. 0 or
 * -errno (logged).
 */
int sk_dump_peek_from_start(const struct fd_dump *d, int *ret_own);

#endif
