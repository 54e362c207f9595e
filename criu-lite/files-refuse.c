/*
 * Refusals at dump: an fd cr cannot keep fails the dump with one line
 * naming the task, the fd, what it is and why.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "log.h"
#include "files-priv.h"

int files_refuse(const struct fd_dump *d, const char *what, const char *why)
{
	if (why)
		pr_err("pid %d: fd %d is %s (%s), which cr cannot dump: %s",
		       d->pid, d->fd, what, d->link, why);
	else
		pr_err("pid %d: fd %d is %s (%s), which cr cannot dump",
		       d->pid, d->fd, what, d->link);
	return -ENOTSUP;
}

int files_refuse_unknown(const struct fd_dump *d)
{
	const char *l = d->link;
	char what[128];

	if (!strncmp(l, "anon_inode:", 11)) {
		const char *type = l + 11;
		size_t len = strlen(type);

		if (len >= 2 && type[0] == '[' && type[len - 1] == ']') {
			type++;
			len -= 2;
		}
		snprintf(what, sizeof(what), "an anonymous inode (%.*s)", (int)len, type);
	} else if (!strncmp(l, "pipe:", 5) || S_ISFIFO(d->st.st_mode)) {
		snprintf(what, sizeof(what), "a pipe");
	} else if (!strncmp(l, "socket:", 7) || S_ISSOCK(d->st.st_mode)) {
		snprintf(what, sizeof(what), "a socket");
	} else if (S_ISBLK(d->st.st_mode)) {
		snprintf(what, sizeof(what), "block device %u:%u", major(d->st.st_rdev), minor(d->st.st_rdev));
	} else if (S_ISCHR(d->st.st_mode)) {
		snprintf(what, sizeof(what), "character device %u:%u", major(d->st.st_rdev), minor(d->st.st_rdev));
	} else {
		snprintf(what, sizeof(what), "a file of a kind cr does not know (mode 0%o)",
			 (unsigned)d->st.st_mode);
	}
	return files_refuse(d, what, NULL);
}
