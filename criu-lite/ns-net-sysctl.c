/*
 * The net namespace's sysctls: the files of /proc/sys/net the table
 * below names, as cr (in the namespace) sees them. Restore writes only
 * those whose value differs, in table order: a write of ip_forward or of
 * conf/all/forwarding sets every link's forwarding too, so "all" comes
 * before "default" and the links.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "cleanup.h"
#include "compiler.h"
#include "log.h"
#include "ns-net-priv.h"

#define SYSCTL_NET	"/proc/sys/net/"
#define SYSCTL_VAL_MAX	4096
/* The per-device folders besides the links'. */
static const char *const conf_all[] = { "all", "default" };

/*
 * Under /proc/sys/net. "%s" stands for all, default and each link; a
 * last "*" for every writable file of that folder.
 */
static const char *const net_sysctls[] = {
	"ipv4/ip_forward",
	"ipv4/conf/%s/*",
	"ipv6/conf/%s/forwarding",
	"ipv6/conf/%s/disable_ipv6",
	"ipv4/ip_local_port_range",
	"ipv4/ping_group_range",
	"core/somaxconn",
	"unix/max_dgram_qlen",
};

/* Reads sysctl @path (under /proc/sys/net) without its newline into @buf. */
static int sysctl_read(const char *path, char *buf, size_t sz)
{
	char full[PATH_MAX];
	_cleanup_close_ int fd = -EBADF;
	ssize_t n;

	snprintf(full, sizeof(full), SYSCTL_NET "%s", path);
	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sz - 1);
	if (n < 0)
		return -errno;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return 0;
}

static int sysctl_dump_file(struct img *img, const char *path)
{
	char val[SYSCTL_VAL_MAX];
	NetSysctl s = NET_SYSCTL__INIT;
	int ret = sysctl_read(path, val, sizeof(val));

	/* A kernel without IPv6, or without the module: nothing to restore. */
	if (ret == -ENOENT) {
		pr_debug("net: no sysctl net/%s here", path);
		return 0;
	}
	if (ret)
		return pr_errno(ret, "net: reading sysctl " SYSCTL_NET "%s", path);
	s.path = (char *)path;
	s.value = val;
	return net_obj_write(img, NET_OBJ_SYSCTL, &s);
}

/* Every writable file of folder @dir (under /proc/sys/net). */
static int sysctl_dump_dir(struct img *img, const char *dir)
{
	char full[PATH_MAX], path[PATH_MAX];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	struct stat st;
	int ret;

	snprintf(full, sizeof(full), SYSCTL_NET "%s", dir);
	d = opendir(full);
	if (!d && errno == ENOENT)
		return 0;
	if (!d)
		return pr_errno(-errno, "net: listing %s", full);
	while ((errno = 0, de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0)
			return pr_errno(-errno, "net: %s/%s", full, de->d_name);
		if (!S_ISREG(st.st_mode) || !(st.st_mode & S_IWUSR))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ret = sysctl_dump_file(img, path);
		if (ret)
			return ret;
	}
	if (errno)
		return pr_errno(-errno, "net: listing %s", full);
	return 0;
}

/* Entry @fmt for the device folder @dev (or without one). */
static int sysctl_dump_entry(struct img *img, const char *fmt, const char *dev)
{
	char path[PATH_MAX];
	size_t len;

	snprintf(path, sizeof(path), fmt, dev);
	len = strlen(path);
	if (len >= 2 && !strcmp(path + len - 2, "/*")) {
		path[len - 2] = '\0';
		return sysctl_dump_dir(img, path);
	}
	return sysctl_dump_file(img, path);
}

int net_sysctls_dump(struct nl_cache *links, struct img *img)
{
	int ret = 0;

	for (size_t i = 0; i < ARRAY_SIZE(net_sysctls) && !ret; i++) {
		const char *fmt = net_sysctls[i];

		if (!strstr(fmt, "%s")) {
			ret = sysctl_dump_file(img, fmt);
			continue;
		}
		for (size_t j = 0; j < ARRAY_SIZE(conf_all) && !ret; j++)
			ret = sysctl_dump_entry(img, fmt, conf_all[j]);
		for (struct nl_object *o = nl_cache_get_first(links); o && !ret;
		     o = nl_cache_get_next(o))
			ret = sysctl_dump_entry(img, fmt, rtnl_link_get_name((struct rtnl_link *)o));
	}
	return ret;
}

/* A single path component: a file or an interface name. */
static bool component_ok(const char *s, size_t len)
{
	return len && len < IFNAMSIZ * 4 && memchr(s, '/', len) == NULL &&
	       !(len == 1 && s[0] == '.') && !(len == 2 && s[0] == '.' && s[1] == '.');
}

/* Whether @path is one the table names: a restore writes nothing else. */
static bool sysctl_match(const char *fmt, const char *path)
{
	const char *pct = strstr(fmt, "%s"), *rest, *slash;
	size_t plen;

	if (!pct)
		return !strcmp(fmt, path);
	plen = pct - fmt;
	if (strncmp(path, fmt, plen))
		return false;
	path += plen;
	slash = strchr(path, '/');
	if (!slash || !component_ok(path, slash - path))
		return false;
	rest = pct + 2;
	if (!strcmp(rest, "/*"))
		return component_ok(slash + 1, strlen(slash + 1));
	return !strcmp(slash, rest);
}

int net_sysctls_check(const struct netns_img *n)
{
	for (size_t i = 0; i < n->nr_sysctls; i++) {
		const NetSysctl *s = n->sysctls[i];
		bool ok = false;

		for (size_t j = 0; j < ARRAY_SIZE(net_sysctls) && !ok; j++)
			ok = sysctl_match(net_sysctls[j], s->path);
		if (!ok || strlen(s->value) >= SYSCTL_VAL_MAX) {
			pr_err("netns.img: sysctl net/%s is not one cr restores", s->path);
			return -EBADMSG;
		}
	}
	return 0;
}

static int sysctl_write(const NetSysctl *s)
{
	char full[PATH_MAX];
	_cleanup_close_ int fd = -EBADF;
	size_t len = strlen(s->value);
	ssize_t w;

	snprintf(full, sizeof(full), SYSCTL_NET "%s", s->path);
	fd = open(full, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno(-errno, "net: opening sysctl %s to write \"%s\"", full, s->value);
	w = write(fd, s->value, len);
	if (w < 0)
		return pr_errno(-errno, "net: writing \"%s\" into sysctl %s", s->value, full);
	if ((size_t)w != len)
		return pr_errno(-EIO, "net: writing \"%s\" into sysctl %s: short write",
				s->value, full);
	return 0;
}

int net_sysctls_restore(const struct netns_img *n)
{
	for (size_t i = 0; i < n->nr_sysctls; i++) {
		const NetSysctl *s = n->sysctls[i];
		char cur[SYSCTL_VAL_MAX];
		int ret = sysctl_read(s->path, cur, sizeof(cur));

		if (ret)
			return pr_errno(ret, "net: reading sysctl " SYSCTL_NET "%s", s->path);
		if (!strcmp(cur, s->value))
			continue;
		ret = sysctl_write(s);
		if (ret)
			return ret;
	}
	return 0;
}
