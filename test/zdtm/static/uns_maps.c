/*
 * A tree in a user namespace of its own with a shifted map in two uid
 * extents and setgroups denied: after restore the maps and setgroups read
 * the same, the ids inside are the same (the root's, and a child's that
 * changed its uids and gids to a second extent's), a file keeps its owner,
 * the test is still the namespace's root (sethostname, a tmpfs mount), and
 * every namespace it has belongs to its user namespace.
 *
 * zdtm: flavors: uns
 * zdtm: unshare: --user --map-users=200000,0,1000 --map-users=300000,1000,64536 --map-groups=200000,0,65536 --setgroups=deny --pid --mount --net --uts --ipc --cgroup --mount-proc
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtm.h"

#define CHILD_UID	1500	/* in the second extent: 301500 outside */
#define CHILD_GID	1200
#define FILE_UID	1234
#define FILE_GID	4321
#define HOST_AFTER	"uns-maps-after"

static const char *const owned[] = { "net", "uts", "ipc", "mnt", "pid", "cgroup" };

static void slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n;

	if (fd < 0)
		fail_errno("open %s", path);
	n = read_full(fd, buf, len - 1);
	buf[n] = 0;
	close(fd);
}

/* Each of the test's namespaces belongs to its user namespace. */
static void check_owners(void)
{
	struct stat user, st;

	if (stat("/proc/self/ns/user", &user))
		fail_errno("stat /proc/self/ns/user");
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
		char path[64];
		int fd, ufd;

		snprintf(path, sizeof(path), "/proc/self/ns/%s", owned[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fail_errno("open %s", path);
		ufd = ioctl(fd, NS_GET_USERNS);
		if (ufd < 0)
			fail_errno("NS_GET_USERNS of %s", path);
		if (fstat(ufd, &st))
			fail_errno("fstat the owner of %s", path);
		if (st.st_ino != user.st_ino || st.st_dev != user.st_dev)
			fail("the %s namespace belongs to user namespace %lu, not the test's %lu", owned[i],
			     (unsigned long)st.st_ino, (unsigned long)user.st_ino);
		close(ufd);
		close(fd);
	}
}

/* What the namespace's root may do there: set the host name, mount a tmpfs. */
static void check_root(const char *name)
{
	char got[64];

	if (sethostname(name, strlen(name)))
		fail_errno("sethostname %s", name);
	if (gethostname(got, sizeof(got)) || strcmp(got, name))
		fail("host name is %s, not %s", got, name);
	if (mkdir("mnt", 0700) && errno != EEXIST)
		fail_errno("mkdir mnt");
	if (mount("uns_maps", "mnt", "tmpfs", 0, "size=64k"))
		fail_errno("mount a tmpfs");
	if (umount("mnt"))
		fail_errno("umount the tmpfs");
}

static void check_ids(uid_t uid, gid_t gid)
{
	uid_t r, e, s;
	gid_t gr, ge, gs;

	if (getresuid(&r, &e, &s) || getresgid(&gr, &ge, &gs))
		fail_errno("getresuid");
	if (r != uid || e != uid || s != uid || gr != gid || ge != gid || gs != gid)
		fail("pid %d: ids %u/%u/%u %u/%u/%u, not %u and %u", getpid(), r, e, s, gr, ge, gs, uid, gid);
}

int main(int argc, char **argv)
{
	char uid_map[4096], gid_map[4096], setgroups[32], buf[4096];
	gid_t groups[64], groups2[64];
	int ngroups, ngroups2, fd, to_child[2], status;
	struct stat st;
	pid_t child;

	test_init(argc, argv);
	if (getpid() != 1)
		fail("not pid 1 of a pid namespace (pid %d): run in the uns flavor", getpid());
	slurp("/proc/self/uid_map", uid_map, sizeof(uid_map));
	slurp("/proc/self/gid_map", gid_map, sizeof(gid_map));
	slurp("/proc/self/setgroups", setgroups, sizeof(setgroups));
	if (!strstr(uid_map, "300000") || strncmp(setgroups, "deny", 4))
		fail("not the user namespace of this test's unshare line: uid_map %s, setgroups %s", uid_map,
		     setgroups);
	check_ids(0, 0);
	ngroups = getgroups(64, groups);
	if (ngroups < 0)
		fail_errno("getgroups");
	check_owners();
	check_root("uns-maps-before");

	fd = open("uns_maps.file", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		fail_errno("create uns_maps.file");
	if (fchown(fd, FILE_UID, FILE_GID))
		fail_errno("chown uns_maps.file");

	if (pipe(to_child))
		fail_errno("pipe");
	child = fork();
	if (child < 0)
		fail_errno("fork");
	if (child == 0) {
		char c;

		close(to_child[1]);
		if (setresgid(CHILD_GID, CHILD_GID, CHILD_GID) || setresuid(CHILD_UID, CHILD_UID, CHILD_UID))
			fail_errno("child: becoming %d:%d", CHILD_UID, CHILD_GID);
		if (read(to_child[0], &c, 1) != 1)
			fail("child: no word from the parent");
		check_ids(CHILD_UID, CHILD_GID);
		_exit(0);
	}
	close(to_child[0]);

	test_ready();
	test_wait_checkpoint();

	slurp("/proc/self/uid_map", buf, sizeof(buf));
	if (strcmp(buf, uid_map))
		fail("uid_map is\n%s, was\n%s", buf, uid_map);
	slurp("/proc/self/gid_map", buf, sizeof(buf));
	if (strcmp(buf, gid_map))
		fail("gid_map is\n%s, was\n%s", buf, gid_map);
	slurp("/proc/self/setgroups", buf, sizeof(buf));
	if (strcmp(buf, setgroups))
		fail("setgroups is %s, was %s", buf, setgroups);
	check_ids(0, 0);
	ngroups2 = getgroups(64, groups2);
	if (ngroups2 != ngroups || memcmp(groups, groups2, sizeof(gid_t) * ngroups))
		fail("groups changed: %d of them, were %d", ngroups2, ngroups);
	if (fstat(fd, &st) || st.st_uid != FILE_UID || st.st_gid != FILE_GID)
		fail("uns_maps.file (fd) is owned by %u:%u, not %u:%u", st.st_uid, st.st_gid, FILE_UID, FILE_GID);
	if (stat("uns_maps.file", &st) || st.st_uid != FILE_UID || st.st_gid != FILE_GID)
		fail("uns_maps.file is owned by %u:%u, not %u:%u", st.st_uid, st.st_gid, FILE_UID, FILE_GID);
	check_owners();
	check_root(HOST_AFTER);

	if (write(to_child[1], "c", 1) != 1)
		fail_errno("waking the child");
	if (waitpid(child, &status, 0) != child)
		fail_errno("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("the child's ids were wrong after restore (status 0x%x, see its line above)", status);
	pass();
}
