/*
 * /proc/PID/mountinfo (proc(5)):
 *	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *	id parent major:minor root mountpoint options [optional fields...] - fstype source super-options
 * Paths escape space, tab, newline and backslash as \ooo.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "cleanup.h"
#include "log.h"
#include "mnt-priv.h"

/* Undoes the kernel's \ooo escapes in place. */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = 0;
}

static const struct {
	const char *name;
	unsigned attr;
} mnt_attr_names[] = {
	{ "ro", MOUNT_ATTR_RDONLY },
	{ "nosuid", MOUNT_ATTR_NOSUID },
	{ "nodev", MOUNT_ATTR_NODEV },
	{ "noexec", MOUNT_ATTR_NOEXEC },
	{ "noatime", MOUNT_ATTR_NOATIME },
	{ "strictatime", MOUNT_ATTR_STRICTATIME },
	{ "relatime", MOUNT_ATTR_RELATIME },
	{ "nodiratime", MOUNT_ATTR_NODIRATIME },
	{ "nosymfollow", MOUNT_ATTR_NOSYMFOLLOW },
};

unsigned mnt_attrs_parse(const char *opts)
{
	unsigned attrs = 0;
	const char *p = opts;

	while (*p) {
		size_t len = strcspn(p, ",");

		for (size_t i = 0; i < sizeof(mnt_attr_names) / sizeof(mnt_attr_names[0]); i++)
			if (strlen(mnt_attr_names[i].name) == len && !strncmp(p, mnt_attr_names[i].name, len))
				attrs |= mnt_attr_names[i].attr;
		p += len;
		if (*p)
			p++;
	}
	return attrs;
}

unsigned mnt_attrs_all(void)
{
	return MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |
	       MOUNT_ATTR__ATIME | MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW;
}

bool mnt_path_under(const char *path, const char *top)
{
	size_t n = strlen(top);

	if (!strcmp(top, "/"))
		return true;
	return !strncmp(path, top, n) && (path[n] == 0 || path[n] == '/');
}

/* The next space-separated field of *@s, NUL-terminated in place, or NULL. */
static char *field(char **s)
{
	char *b = *s, *e;

	if (!b || !*b)
		return NULL;
	e = strchr(b, ' ');
	if (e) {
		*e = 0;
		*s = e + 1;
	} else {
		*s = b + strlen(b);
	}
	return b;
}

static int parse_line(char *line, struct mnt_info *mi)
{
	char *s = line, *f, *root, *mp, *opts, *type, *src, *sopts;
	int n = 0;

	if (sscanf(line, "%u %u %u:%u %n", &mi->id, &mi->parent_id, &mi->major, &mi->minor, &n) < 4 || !n)
		return -EBADMSG;
	s = line + n;
	root = field(&s);
	mp = field(&s);
	opts = field(&s);
	if (!opts)
		return -EBADMSG;
	while ((f = field(&s)) && strcmp(f, "-")) {
		if (!strncmp(f, "shared:", 7))
			mi->shared = strtoul(f + 7, NULL, 10);
		else if (!strncmp(f, "master:", 7))
			mi->master = strtoul(f + 7, NULL, 10);
		else if (!strcmp(f, "unbindable"))
			mi->unbindable = true;
		/* propagate_from:N only says what is visible from here; nothing to restore */
	}
	if (!f)
		return -EBADMSG;
	type = field(&s);
	src = field(&s);
	sopts = field(&s);
	if (!sopts)
		return -EBADMSG;
	unescape(root);
	unescape(mp);
	unescape(src);
	mi->root = xstrdup(root);
	mi->mountpoint = xstrdup(mp);
	mi->opts = xstrdup(opts);
	mi->fstype = xstrdup(type);
	mi->source = xstrdup(src);
	mi->super_opts = xstrdup(sopts);
	if (!mi->root || !mi->mountpoint || !mi->opts || !mi->fstype || !mi->source || !mi->super_opts)
		return -ENOMEM;
	return 0;
}

int mnt_parse_mountinfo(FILE *f, const char *name, struct mnt_info **ret, unsigned *ret_nr)
{
	_cleanup_free_ char *line = NULL;
	struct mnt_info *mi = NULL;
	unsigned nr = 0, cap = 0;
	size_t lsz = 0;
	ssize_t len;
	int err = 0;

	while ((len = getline(&line, &lsz, f)) > 0) {
		if (line[len - 1] == '\n')
			line[len - 1] = 0;
		if (nr == cap) {
			struct mnt_info *n = xrealloc(mi, (cap = cap ? 2 * cap : 32) * sizeof(*mi));

			if (!n) {
				err = -ENOMEM;
				break;
			}
			mi = n;
		}
		memset(&mi[nr], 0, sizeof(*mi));
		err = parse_line(line, &mi[nr++]);
		if (err) {
			if (err == -EBADMSG)
				pr_err("%s: line %u is not a mountinfo line", name, nr);
			break;
		}
	}
	if (!err && ferror(f))
		err = pr_errno(-EIO, "reading %s", name);
	if (err) {
		mnt_info_free(mi, nr);
		return err;
	}
	*ret = mi;
	*ret_nr = nr;
	return 0;
}

void mnt_info_free(struct mnt_info *mi, unsigned nr)
{
	for (unsigned i = 0; mi && i < nr; i++) {
		free(mi[i].root);
		free(mi[i].mountpoint);
		free(mi[i].opts);
		free(mi[i].fstype);
		free(mi[i].source);
		free(mi[i].super_opts);
	}
	free(mi);
}
