/* The socket option tables of sk-opts.h: getsockopt at dump, setsockopt at restore. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/xattr.h>

#include <protobuf-c/protobuf-c.h>

#include "files-kind.h"
#include "guard.h"
#include "log.h"
#include "sk-opts.h"

#define USEC_PER_SEC	1000000

/* The message's field at offset @off, as type @T. */
#define MSG_FIELD(T, msg, off)	((T *)((char *)(msg) + (off)))
#define MSG_CFIELD(T, msg, off)	((const T *)((const char *)(msg) + (off)))

int sk_dump_getsockopt(const struct fd_dump *d, int level, int opt, const char *name,
		       void *val, socklen_t len)
{
	if (getsockopt(d->cr_fd, level, opt, val, &len) < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): getsockopt %s", d->pid, d->fd, d->link, name);
	return 0;
}

bool sk_dump_proto_is(const struct fd_dump *d, const char *const *names)
{
	char path[64], name[32];
	ssize_t n;

	if (!S_ISSOCK(d->st.st_mode))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", d->pid, d->fd);
	/* cr's copy when there is one: no path to look up. */
	n = d->cr_fd >= 0 ? fgetxattr(d->cr_fd, "system.sockprotoname", name, sizeof(name) - 1) :
			    getxattr(path, "system.sockprotoname", name, sizeof(name) - 1);
	if (n <= 0)
		return false;
	name[n] = '\0';
	for (; *names; names++)
		if (!strcmp(name, *names))
			return true;
	return false;
}

int sk_dump_set_peek_off(const struct fd_dump *d, int off)
{
	if (setsockopt(d->cr_fd, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)) < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): setting SO_PEEK_OFF to %d",
				d->pid, d->fd, d->link, off);
	return 0;
}

/* The guard's undo, if cr dies while it peeks: the program's SO_PEEK_OFF back. */
static void peek_off_undo(int fd, uint64_t saved)
{
	int v = (int)(int64_t)saved;

	if (setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &v, sizeof(v)) < 0)
		pr_perror("the guard could not put a socket's SO_PEEK_OFF back to %d", v);
}

int sk_dump_peek_from_start(const struct fd_dump *d, int *ret_own)
{
	struct guard *g = files_dump_guard(d->df);
	int err;

	err = sk_dump_getsockopt(d, SOL_SOCKET, SO_PEEK_OFF, "SO_PEEK_OFF", ret_own, sizeof(*ret_own));
	if (!err && g)
		err = guard_keep_fd(g, d->cr_fd, peek_off_undo, (uint64_t)(int64_t)*ret_own, GUARD_UNDO);
	if (!err)
		err = sk_dump_set_peek_off(d, 0);
	return err;
}

static void set_has(void *msg, size_t has)
{
	if (has != SK_OPT_NO_HAS)
		*MSG_FIELD(protobuf_c_boolean, msg, has) = true;
}

/* Room for a name option: an interface or congestion control name. */
#define SK_OPT_STR_MAX	64

static int dump_one(const struct fd_dump *d, const struct sk_opt *o, void *msg)
{
	union {
		int i;
		struct timeval tv;
		struct linger l;
		char s[SK_OPT_STR_MAX];
	} v = { 0 };
	socklen_t len = o->type == SK_OPT_INT ? sizeof(v.i) :
			o->type == SK_OPT_TIMEO ? sizeof(v.tv) :
			o->type == SK_OPT_STR ? sizeof(v.s) - 1 : sizeof(v.l);
	int err = sk_dump_getsockopt(d, o->level, o->opt, o->name, &v, len);

	if (err)
		return err;
	switch (o->type) {
	case SK_OPT_STR:
		if (v.s[0] && !(*MSG_FIELD(char *, msg, o->field) = xstrdup(v.s)))
			return -ENOMEM;
		break;
	case SK_OPT_INT:
		*MSG_FIELD(uint32_t, msg, o->field) = v.i;
		break;
	case SK_OPT_TIMEO:
		*MSG_FIELD(uint64_t, msg, o->field) = (uint64_t)v.tv.tv_sec * USEC_PER_SEC + v.tv.tv_usec;
		break;
	case SK_OPT_LINGER:
		*MSG_FIELD(uint32_t, msg, o->field) = v.l.l_onoff;
		*MSG_FIELD(uint32_t, msg, o->field2) = v.l.l_linger;
		set_has(msg, o->has2);
		break;
	}
	set_has(msg, o->has);
	return 0;
}

int sk_opts_dump(const struct fd_dump *d, const struct sk_opt *t, size_t n, unsigned skip, void *msg)
{
	for (size_t i = 0; i < n; i++) {
		int err = t[i].flags & skip ? 0 : dump_one(d, &t[i], msg);

		if (err)
			return err;
	}
	return 0;
}

/*
 * 1 if restore sets row @o, whose kept value is @kept, on @fd; 0 if not;
 * or -errno (logged). SK_SET_CHANGED is for int rows.
 */
static int wanted(int fd, const struct sk_opt *o, int64_t kept, const char *what)
{
	socklen_t len;
	int cur;

	switch (o->set) {
	case SK_SET_ALWAYS:
		return 1;
	case SK_SET_NONZERO:
		return kept != 0;
	case SK_SET_NONNEG:
		return kept >= 0;
	case SK_SET_CHANGED:
		len = sizeof(cur);
		if (getsockopt(fd, o->level, o->opt, &cur, &len) < 0)
			return pr_errno(-errno, "%s: getsockopt %s", what, o->name);
		return (uint32_t)cur != (uint32_t)kept;
	}
	return 1;
}

/* A name option: set if kept (and, SK_SET_CHANGED, other than @fd's). */
static int restore_str(int fd, const struct sk_opt *o, const char *kept, const char *what)
{
	char cur[SK_OPT_STR_MAX] = "";
	socklen_t len = sizeof(cur) - 1;

	if (!kept || !kept[0])
		return 0;
	if (o->set == SK_SET_CHANGED) {
		if (getsockopt(fd, o->level, o->opt, cur, &len) < 0)
			return pr_errno(-errno, "%s: getsockopt %s", what, o->name);
		if (!strcmp(cur, kept))
			return 0;
	}
	if (setsockopt(fd, o->level, o->set_opt, kept, strlen(kept)) < 0)
		return pr_errno(-errno, "%s: setting %s to %s", what, o->name, kept);
	return 0;
}

static int restore_one(int fd, const struct sk_opt *o, const void *msg, const char *what)
{
	union {
		int i;
		struct timeval tv;
		struct linger l;
	} v;
	socklen_t len = 0;
	int64_t kept = 0;
	uint64_t us;
	int set;

	switch (o->type) {
	case SK_OPT_STR:
		return restore_str(fd, o, *MSG_CFIELD(char *, msg, o->field), what);
	case SK_OPT_INT:
		kept = *MSG_CFIELD(int32_t, msg, o->field);
		v.i = o->flags & SK_OPT_HALF ? (int)((uint32_t)kept / 2) : (int)kept;
		len = sizeof(v.i);
		break;
	case SK_OPT_TIMEO:
		us = *MSG_CFIELD(uint64_t, msg, o->field);
		kept = us;
		v.tv = (struct timeval){ .tv_sec = us / USEC_PER_SEC, .tv_usec = us % USEC_PER_SEC };
		len = sizeof(v.tv);
		break;
	case SK_OPT_LINGER:
		kept = *MSG_CFIELD(uint32_t, msg, o->field);
		v.l = (struct linger){ .l_onoff = 1, .l_linger = *MSG_CFIELD(uint32_t, msg, o->field2) };
		len = sizeof(v.l);
		break;
	}
	set = wanted(fd, o, kept, what);
	if (set <= 0)
		return set;
	if (setsockopt(fd, o->level, o->set_opt, &v, len) < 0)
		return pr_errno(-errno, "%s: setting %s to %lld%s", what, o->name,
				o->type == SK_OPT_LINGER ? (long long)v.l.l_linger : (long long)kept,
				o->type == SK_OPT_TIMEO ? " us" : o->type == SK_OPT_LINGER ? " s" : "");
	return 0;
}

void sk_opts_free(const struct sk_opt *t, size_t n, void *msg)
{
	for (size_t i = 0; i < n; i++) {
		if (t[i].type != SK_OPT_STR)
			continue;
		free(*MSG_FIELD(char *, msg, t[i].field));
		*MSG_FIELD(char *, msg, t[i].field) = NULL;
	}
}

int sk_opts_restore(int fd, const struct sk_opt *t, size_t n, unsigned skip, const void *msg,
		    const char *what)
{
	for (size_t i = 0; i < n; i++) {
		const struct sk_opt *o = &t[i];
		int err;

		if ((o->flags & skip) ||
		    (o->has != SK_OPT_NO_HAS && !*MSG_CFIELD(protobuf_c_boolean, msg, o->has)))
			continue;
		err = restore_one(fd, o, msg, what);
		if (err)
			return err;
	}
	return 0;
}
