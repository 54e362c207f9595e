/*
 * Namespace files (/proc/PID/ns/TYPE) held open by the tree: the link
 * reads "TYPE:[INODE]". The namespace is one of a task of the tree (its
 * own namespaces, restored with it in the ns flavors) or one of cr's
 * (shared with cr at dump): restore opens /proc/PID/ns/TYPE of that task
 * in the holder once the tree exists (open_in_task), or cr's own
 * /proc/self/ns/TYPE. A namespace that is neither (only an fd keeps it,
 * or another process's outside the tree) is refused, naming it.
 *
 * Other files under /proc/PID/ of the tree (status, maps) are regular
 * files (files-reg.c's in_tree_proc).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "files-kind.h"
#include "log.h"
#include "pstree.h"

static const char *const ns_types[] = {
	"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts",
};

static bool known_type(const char *type, size_t len)
{
	for (size_t i = 0; i < sizeof(ns_types) / sizeof(ns_types[0]); i++)
		if (strlen(ns_types[i]) == len && !strncmp(ns_types[i], type, len))
			return true;
	return false;
}

/* "net:[4026531840]": the length of the type, 0 if @link is no namespace file. */
static size_t type_len(const char *link)
{
	const char *c = strchr(link, ':');
	char *end;

	if (!c || c[1] != '[' || !known_type(link, c - link))
		return 0;
	strtoull(c + 2, &end, 10);
	return end != c + 2 && !strcmp(end, "]") ? (size_t)(c - link) : 0;
}

static bool nsfile_match(const struct fd_dump *d)
{
	return S_ISREG(d->st.st_mode) && type_len(d->link);
}

/* Whether /proc/@pid/ns/@type (cr's /proc) is the namespace @st is of. */
static bool ns_is(const char *pid, const char *type, const struct stat *st)
{
	char p[64];
	struct stat s;

	snprintf(p, sizeof(p), "/proc/%s/ns/%s", pid, type);
	return !stat(p, &s) && s.st_dev == st->st_dev && s.st_ino == st->st_ino;
}

static int nsfile_dump(struct fd_dump *d, FileEntry *fe)
{
	const struct pstree *tree = files_dump_tree(d->df);
	NsfileEntry *n = xmalloc(sizeof(*n));
	char pid[16];

	if (!n)
		return -ENOMEM;
	nsfile_entry__init(n);
	fe->nsfile = n;
	n->type = strndup(d->link, type_len(d->link));
	if (!n->type)
		return -ENOMEM;
	if (ns_is("self", n->type, &d->st))
		return 0;
	for (unsigned i = 0; tree && i < tree->nr; i++) {
		if (tree->tasks[i].kind != TASK_ALIVE)
			continue;
		snprintf(pid, sizeof(pid), "%d", tree->tasks[i].pid);
		if (!ns_is(pid, n->type, &d->st))
			continue;
		n->has_pid = true;
		n->pid = files_dump_ns_id(d->df, tree->tasks[i].pid);
		return 0;
	}
	return files_refuse(d, "a namespace file",
			    "that namespace is neither one of the tree's tasks' nor cr's (only an fd keeps it, "
			    "or a process outside the tree is in it): cr cannot make it again");
}

static void nsfile_free_entry(FileEntry *fe)
{
	if (!fe->nsfile)
		return;
	free(fe->nsfile->type);
	free(fe->nsfile);
	fe->nsfile = NULL;
}

static int nsfile_check(struct files_rst *rf, const FileEntry *fe)
{
	(void)rf;
	if (!fe->nsfile || !known_type(fe->nsfile->type, strlen(fe->nsfile->type)) ||
	    (fe->nsfile->has_pid && fe->nsfile->pid <= 0))
		return pr_errno(-EBADMSG, "files.img: file id %u: not a valid namespace file entry", fe->id);
	return 0;
}

static int nsfile_open(struct files_rst *rf, const FileEntry *fe)
{
	const NsfileEntry *n = fe->nsfile;
	char p[64];
	int fd;

	(void)rf;
	if (n->has_pid)
		snprintf(p, sizeof(p), "/proc/%d/ns/%s", n->pid, n->type);
	else
		snprintf(p, sizeof(p), "/proc/self/ns/%s", n->type);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno(-errno, "file id %u: opening the namespace file %s%s", fe->id, p,
				n->has_pid ? "" : " (cr's)");
	return fd;
}

static bool nsfile_open_in_task(const FileEntry *fe)
{
	return fe->nsfile && fe->nsfile->has_pid;
}

const struct fd_kind fd_kind_nsfile = {
	.kind = FILE_KIND__FILE_NSFILE, .name = "namespace file",
	.match = nsfile_match, .dump = nsfile_dump, .free_entry = nsfile_free_entry,
	.check = nsfile_check, .open = nsfile_open, .open_in_task = nsfile_open_in_task,
};
