/*
 * cgroup.c's files: where cr sees a hierarchy (its mountinfo), small
 * reads and writes of a cgroup's files, and the properties a dump saves
 * with --manage-cgroups props/full/strict, one table per controller.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-priv.h"
#include "cleanup.h"
#include "io.h"
#include "log.h"

#define CG_FILE_MAX	(64u << 10)	/* devices.list of a busy container is a few KiB */

/*
 * Properties per controller, in the order they must be written: cfs
 * period before quota (a quota above the old period may be refused),
 * subtree_control first in v2 (a child's cpu.max exists only once its
 * parent enables cpu). Hierarchies with several controllers
 * ("cpu,cpuacct") have the union. freezer state is --freeze-cgroup's;
 * counters and usage are not properties.
 */
static const char *const v1_cpu[] = { "cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us", NULL };
static const char *const v1_cpuset[] = { "cpuset.cpus", "cpuset.mems", NULL };
static const char *const v1_memory[] = { "memory.limit_in_bytes", "memory.soft_limit_in_bytes",
					 "memory.swappiness", NULL };
static const char *const v1_pids[] = { "pids.max", NULL };
static const char *const v1_devices[] = { "devices.list", NULL };
static const char *const v1_blkio[] = { "blkio.weight", NULL };
static const char *const v2_all[] = { "cgroup.subtree_control", "cpu.weight", "cpu.max", "cpuset.cpus",
				      "cpuset.mems", "memory.high", "memory.max", "pids.max", NULL };

static const struct {
	const char *controller;		/* "" is cgroup v2 */
	const char *const *props;
} prop_tables[] = {
	{ "cpu", v1_cpu },
	{ "cpuset", v1_cpuset },
	{ "memory", v1_memory },
	{ "pids", v1_pids },
	{ "devices", v1_devices },
	{ "blkio", v1_blkio },
	{ "", v2_all },
};

/* Whether the comma-separated list @list has the token @tok (@len bytes). */
bool cg_list_has(const char *list, const char *tok, size_t len)
{
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");

		if (n == len && !strncmp(p, tok, len))
			return true;
		p += n;
		if (*p)
			p++;
	}
	return false;
}

bool cg_mount_matches(const char *controllers, const char *fstype, const char *opts)
{
	if (cg_is_v2(controllers))
		return !strcmp(fstype, "cgroup2");
	if (strcmp(fstype, "cgroup"))
		return false;
	for (const char *p = controllers; *p;) {
		size_t n = strcspn(p, ",");

		if (!cg_list_has(opts, p, n))
			return false;
		p += n;
		if (*p)
			p++;
	}
	return true;
}

/* cg_host_dir() without the error line: -ENOENT when no mount shows it. */
static int find_host_dir(const char *controllers, const char *path, char **ret)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return pr_errno(-errno, "cgroup: open /proc/self/mountinfo");
	while (getline(&line, &cap, f) > 0) {
		char root[4096], mnt[4096], fstype[64], opts[1024];
		const char *sep = strstr(line, " - ");
		size_t rlen;
		char *dir;

		if (!sep || sscanf(line, "%*d %*d %*s %4095s %4095s", root, mnt) != 2 ||
		    sscanf(sep + 3, "%63s %*s %1023s", fstype, opts) != 2 ||
		    !cg_mount_matches(controllers, fstype, opts))
			continue;
		/* A mount of a sub-cgroup (a cgroup namespace's view) shows only what is below its root. */
		rlen = strcmp(root, "/") ? strlen(root) : 0;
		if (rlen && (strncmp(path, root, rlen) || (path[rlen] && path[rlen] != '/')))
			continue;
		if (asprintf(&dir, "%s%s", mnt, path + rlen) < 0)
			return pr_errno(-ENOMEM, "cgroup: path of %s", path);
		*ret = dir;
		return 0;
	}
	return -ENOENT;
}

int cg_host_dir(const char *controllers, const char *path, char **ret)
{
	int err = find_host_dir(controllers, path, ret);

	if (err == -ENOENT)
		pr_err("cgroup: no mount of cr shows hierarchy '%s' cgroup %s\n",
		       cg_is_v2(controllers) ? "(v2)" : controllers, path);
	return err;
}

bool cg_is_mounted(const char *controllers)
{
	_cleanup_free_ char *dir = NULL;

	return find_host_dir(controllers, "/", &dir) == 0;
}

int cg_read(const char *dir, const char *file, char **ret)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	fd = openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		int dfd = TAKE_FD(fd);

		fd = openat(dfd, file, O_RDONLY | O_CLOEXEC);
		close(dfd);
	}
	if (fd < 0)
		return -errno;
	buf = malloc(CG_FILE_MAX + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf + len, CG_FILE_MAX - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			break;
		len += n;
		if (len == CG_FILE_MAX)
			return -EFBIG;
	}
	while (len && buf[len - 1] == '\n')
		len--;
	buf[len] = 0;
	*ret = TAKE_PTR(buf);
	return 0;
}

int cg_write(const char *dir, const char *file, const char *val)
{
	_cleanup_free_ char *p = NULL;
	_cleanup_close_ int fd = -EBADF;
	size_t len = strlen(val);
	ssize_t n;

	if (asprintf(&p, "%s/%s", dir, file) < 0)
		return pr_errno(-ENOMEM, "cgroup: path of %s", dir);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno(-errno, "cgroup %s: open %s", dir, file);
	/* One write: cgroup files take a value per write() call. */
	n = write(fd, val, len);
	if (n < 0)
		return pr_errno(-errno, "cgroup %s: write '%s' to %s", dir, val, file);
	if ((size_t)n != len)
		return pr_errno(-EIO, "cgroup %s: short write of '%s' to %s", dir, val, file);
	return 0;
}

/* Calls @fn for every property name of @controllers' hierarchy, in table order. */
#define for_each_prop(controllers, name)							\
	for (size_t __t = 0; __t < sizeof(prop_tables) / sizeof(prop_tables[0]); __t++)	\
		if (cg_is_v2(controllers) ? !prop_tables[__t].controller[0] :			\
		    (prop_tables[__t].controller[0] &&						\
		     cg_list_has(controllers, prop_tables[__t].controller,				\
			      strlen(prop_tables[__t].controller))))				\
			for (const char *const *__p = prop_tables[__t].props; (name = *__p); __p++)

bool cg_prop_known(const char *controllers, const char *name)
{
	const char *n;

	for_each_prop(controllers, n)
		if (!strcmp(n, name))
			return true;
	return false;
}

void cg_props_free(struct cg_prop *p, unsigned nr)
{
	for (unsigned i = 0; i < nr; i++) {
		free(p[i].name);
		free(p[i].value);
	}
	free(p);
}

int cg_props_dump(const char *controllers, const char *dir, struct cg_prop **ret, unsigned *ret_nr)
{
	struct cg_prop *props = NULL;
	unsigned nr = 0;
	const char *name;
	int err = 0;

	for_each_prop(controllers, name) {
		char *val = NULL;
		struct cg_prop *np;

		err = cg_read(dir, name, &val);
		if (err == -ENOENT) {	/* v2: that controller is not enabled here */
			err = 0;
			continue;
		}
		if (err) {
			pr_errno(err, "cgroup %s: read %s", dir, name);
			goto fail;
		}
		np = xrealloc(props, (nr + 1) * sizeof(*props));
		if (!np) {
			free(val);
			err = -ENOMEM;
			goto fail;
		}
		props = np;
		props[nr].value = val;
		props[nr].name = xstrdup(name);
		if (!props[nr++].name) {
			err = -ENOMEM;
			goto fail;
		}
	}
	*ret = props;
	*ret_nr = nr;
	return 0;
fail:
	cg_props_free(props, nr);
	return err;
}

/* devices.list: deny everything, then allow each line again (the kernel takes one rule per write). */
static int devices_restore(const char *dir, const char *list)
{
	_cleanup_free_ char *copy = xstrdup(list);
	char *save = NULL;
	int err;

	if (!copy)
		return -ENOMEM;
	err = cg_write(dir, "devices.deny", "a");
	for (char *l = strtok_r(copy, "\n", &save); !err && l; l = strtok_r(NULL, "\n", &save))
		err = cg_write(dir, "devices.allow", l);
	return err;
}

/* cgroup.subtree_control reads "cpu memory" and is written "+cpu +memory". */
static int subtree_restore(const char *dir, const char *list)
{
	_cleanup_free_ char *buf = xmalloc(2 * strlen(list) + 2);
	char *o = buf;

	if (!buf)
		return -ENOMEM;
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, " ");

		if (n) {
			o += sprintf(o, "%s+%.*s", o == buf ? "" : " ", (int)n, p);
		}
		p += n;
		if (*p)
			p++;
	}
	*o = 0;
	return cg_write(dir, "cgroup.subtree_control", buf);
}

int cg_props_restore(const char *dir, const struct cg_prop *p, unsigned nr)
{
	int err = 0;

	for (unsigned i = 0; !err && i < nr; i++) {
		/* An empty cpuset.cpus/mems or subtree_control is a fresh cgroup's state already. */
		if (!p[i].value[0])
			continue;
		if (!strcmp(p[i].name, "devices.list"))
			err = devices_restore(dir, p[i].value);
		else if (!strcmp(p[i].name, "cgroup.subtree_control"))
			err = subtree_restore(dir, p[i].value);
		else
			err = cg_write(dir, p[i].name, p[i].value);
	}
	return err;
}
