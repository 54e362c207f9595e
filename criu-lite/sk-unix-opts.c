/* The socket options a unix socket keeps, through the table helper of sk-opts.h. */
#include <stdio.h>

#include "compiler.h"
#include "sk-opts.h"
#include "sk-unix-priv.h"

/* The options kept (the same for every unix socket type), in the order restore sets them. */
#define UNIX_OPT(o, when, fl, field)							\
	SK_OPT_INT_ROW(UnixSkOpts, SOL_SOCKET, o, o, when, fl, field, SK_OPT_NO_HAS)
static const struct sk_opt unix_opts[] = {
	/* getsockopt reports the doubled value the kernel keeps; setsockopt doubles. */
	UNIX_OPT(SO_SNDBUF, SK_SET_ALWAYS, SK_OPT_HALF, sndbuf),
	UNIX_OPT(SO_RCVBUF, SK_SET_ALWAYS, SK_OPT_HALF, rcvbuf),
	UNIX_OPT(SO_PASSCRED, SK_SET_NONZERO, 0, passcred),
	UNIX_OPT(SO_PASSSEC, SK_SET_NONZERO, 0, passsec),
	UNIX_OPT(SO_PEEK_OFF, SK_SET_NONNEG, 0, peek_off),
	SK_OPT_TIMEO_ROW(UnixSkOpts, SO_RCVTIMEO, rcvtimeo_us, SK_OPT_NO_HAS),
	SK_OPT_TIMEO_ROW(UnixSkOpts, SO_SNDTIMEO, sndtimeo_us, SK_OPT_NO_HAS),
#undef UNIX_OPT
};

int unix_opts_dump(const struct fd_dump *d, UnixSkOpts *o)
{
	unix_sk_opts__init(o);
	return sk_opts_dump(d, unix_opts, ARRAY_SIZE(unix_opts), 0, o);
}

int unix_opts_set(int fd, const UnixSkEntry *u)
{
	char name[UNIX_NAME_STR_MAX], what[sizeof(name) + 16];

	unix_name_str(u, name, sizeof(name));
	snprintf(what, sizeof(what), "unix socket %s", name);
	return sk_opts_restore(fd, unix_opts, ARRAY_SIZE(unix_opts), 0, u->opts, what);
}
