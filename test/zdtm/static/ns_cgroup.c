/*
 * cgroups (v1) of a tree with a cgroup namespace of its own. The test,
 * pid 1 of its namespaces, makes under its own cgroup (from
 * /proc/self/cgroup, through the hierarchies mounted under
 * /sys/fs/cgroup as it sees them) a cgroup zdtm_ns_cgroup.<work dir name>
 * in the pids hierarchy with pids.max 37, and one in the cpu hierarchy
 * with cpu.shares 512 holding "inner" with cpu.shares 333. Child A moves
 * itself into the pids one, child B into cpu's inner.
 *
 * After restore every task's /proc/self/cgroup is what it was (paths
 * relative to the namespace root, so the namespace's root is the same
 * too), each cgroup's cgroup.procs lists exactly its task, and the
 * properties hold. At the end the test removes the cgroups it made
 * (its children gone first); it fails if one cannot be removed.
 *
 * The names hold the work dir's name so that the runner can remove them
 * between dump and restore: then the restore must make them again, with
 * their properties (--manage-cgroups=full).
 *
 * Not in a user namespace: there the test would need cgroups delegated
 * to it (owned by the namespace's root, mounted as its cgroup namespace
 * sees them), which the uns flavor does not set up.
 *
 * zdtm: flavors: ns -uns (see above)
 * zdtm: cr-opts: --manage-cgroups=full
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

#define CG_TEXT_MAX	2048
#define PIDS_MAX	"37"
#define SHARES_OUTER	"512"
#define SHARES_INNER	"333"

static char pids_dir[PATH_MAX], cpu_dir[PATH_MAX], cpu_inner[PATH_MAX];
static pid_t tree_pid;		/* the root, for the atexit cleanup */

static void cg_text(char *buf, size_t len)
{
	int fd = open("/proc/self/cgroup", O_RDONLY);
	size_t n;

	if (fd < 0)
		fail_errno("/proc/self/cgroup");
	n = read_full(fd, buf, len - 1);
	buf[n] = 0;
	close(fd);
}

/* This task's cgroup in the v1 hierarchy of CONTROLLER, as /proc/self/cgroup says. */
static void own_cgroup(const char *controller, char *path, size_t len)
{
	char buf[CG_TEXT_MAX], *line, *save;

	cg_text(buf, sizeof(buf));
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c = strchr(line, ':'), *pth = c ? strchr(c + 1, ':') : NULL;

		if (!pth)
			continue;
		*pth = 0;
		if (!strcmp(c + 1, controller)) {
			snprintf(path, len, "%s", pth + 1);
			return;
		}
	}
	fail("/proc/self/cgroup has no %s hierarchy", controller);
}

/* Where the hierarchy of CONTROLLER is mounted (its root must be ours, "/"). */
static void hierarchy_mount(const char *controller, char *mp, size_t len)
{
	char line[1024];
	FILE *f = fopen("/proc/self/mountinfo", "r");

	if (!f)
		fail_errno("/proc/self/mountinfo");
	while (fgets(line, sizeof(line), f)) {
		char root[512], point[512], type[64], super[256], *dash = strstr(line, " - "), *o;
		size_t n = strlen(controller);

		if (!dash || sscanf(line, "%*d %*d %*s %511s %511s", root, point) != 2 ||
		    sscanf(dash, " - %63s %*s %255s", type, super) != 2 || strcmp(type, "cgroup"))
			continue;
		for (o = super; (o = strstr(o, controller)); o += n)
			if ((o == super || o[-1] == ',') && (o[n] == ',' || o[n] == 0))
				break;
		if (!o)
			continue;
		fclose(f);
		if (strcmp(root, "/"))
			fail("the %s hierarchy is mounted at %s from %s, not from the namespace root", controller,
			     point, root);
		snprintf(mp, len, "%s", point);
		return;
	}
	fail("no cgroup v1 hierarchy with %s is mounted", controller);
}

static void make_cgroup(const char *controller, const char *name, char *dir, size_t len)
{
	char mp[512], own[512];

	hierarchy_mount(controller, mp, sizeof(mp));
	own_cgroup(controller, own, sizeof(own));
	snprintf(dir, len, "%s%s/%s", mp, strcmp(own, "/") ? own : "", name);
	if (mkdir(dir, 0755))
		fail_errno("mkdir %s", dir);
}

static void write_str(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		fail_errno("writing %s to %s", val, path);
	close(fd);
}

static int read_str(const char *dir, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX + 64];
	int fd;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read_full(fd, buf, len - 1);
	close(fd);
	buf[n] = 0;
	return 0;
}

static int check_prop(const char *dir, const char *file, const char *want)
{
	char buf[64] = "";

	if (read_str(dir, file, buf, sizeof(buf))) {
		test_msg("FAIL: %s/%s: %m", dir, file);
		return 1;
	}
	buf[strcspn(buf, "\n")] = 0;
	if (strcmp(buf, want)) {
		test_msg("FAIL: %s/%s is '%s', expected '%s'", dir, file, buf, want);
		return 1;
	}
	return 0;
}

/* cgroup.procs of DIR lists PID and nothing else. */
static int check_procs(const char *dir, pid_t pid)
{
	char buf[256] = "", want[32];

	if (read_str(dir, "cgroup.procs", buf, sizeof(buf))) {
		test_msg("FAIL: %s/cgroup.procs: %m", dir);
		return 1;
	}
	snprintf(want, sizeof(want), "%d\n", pid);
	if (strcmp(buf, want)) {
		test_msg("FAIL: %s/cgroup.procs lists '%s', expected only %d", dir, buf, pid);
		return 1;
	}
	return 0;
}

static int check_self(const char *who, const char *before)
{
	char now[CG_TEXT_MAX];

	cg_text(now, sizeof(now));
	if (strcmp(now, before)) {
		test_msg("FAIL: %s: /proc/self/cgroup is\n%swas\n%s", who, now, before);
		return 1;
	}
	return 0;
}

/* A child: moves itself into DIR, then waits for the checkpoint. */
__attribute__((noreturn))
static void child(const char *who, const char *dir, const char *controller, const char *want_path)
{
	char before[CG_TEXT_MAX], path[512];

	write_str(dir, "cgroup.procs", "0");
	own_cgroup(controller, path, sizeof(path));
	if (strcmp(path, want_path))
		fail("setup: %s is in %s:%s, expected %s", who, controller, path, want_path);
	cg_text(before, sizeof(before));
	tree_send(getppid(), 0);
	test_wait_checkpoint();
	tree_exit(check_self(who, before));
}

static void remove_cgroups(void)
{
	if (getpid() != tree_pid)
		return;
	/* Deepest first; what was never made is not there. */
	if (cpu_inner[0])
		rmdir(cpu_inner);
	if (cpu_dir[0])
		rmdir(cpu_dir);
	if (pids_dir[0])
		rmdir(pids_dir);
}

static int remove_checked(const char *dir)
{
	if (rmdir(dir) && errno != ENOENT) {
		test_msg("FAIL: cannot remove %s: %m", dir);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char name[128], cwd[PATH_MAX], before[CG_TEXT_MAX], own[512], want[1024], *base;
	pid_t kids[2];
	int bad;

	test_init(argc, argv);
	tree_init();
	if (getpid() != 1)
		fail("not pid 1 of a pid namespace (pid %d): run in the ns flavor", getpid());
	if (!getcwd(cwd, sizeof(cwd)))
		fail_errno("getcwd");
	base = strrchr(cwd, '/');
	snprintf(name, sizeof(name), "zdtm_ns_cgroup.%.100s", base ? base + 1 : cwd);
	tree_pid = getpid();
	atexit(remove_cgroups);

	make_cgroup("pids", name, pids_dir, sizeof(pids_dir));
	write_str(pids_dir, "pids.max", PIDS_MAX);
	make_cgroup("cpu", name, cpu_dir, sizeof(cpu_dir));
	write_str(cpu_dir, "cpu.shares", SHARES_OUTER);
	snprintf(cpu_inner, sizeof(cpu_inner), "%.*s/inner", PATH_MAX - 8, cpu_dir);
	if (mkdir(cpu_inner, 0755))
		fail_errno("mkdir %s", cpu_inner);
	write_str(cpu_inner, "cpu.shares", SHARES_INNER);
	test_msg("cgroups %s, %s", pids_dir, cpu_inner);

	for (int i = 0; i < 2; i++) {
		const char *ctl = i ? "cpu" : "pids";

		own_cgroup(ctl, own, sizeof(own));
		snprintf(want, sizeof(want), "%s/%s%s", strcmp(own, "/") ? own : "", name, i ? "/inner" : "");
		kids[i] = fork();
		if (kids[i] < 0)
			fail_errno("fork");
		if (kids[i] == 0)
			child(i ? "B" : "A", i ? cpu_inner : pids_dir, ctl, want);
		tree_recv(kids[i]);
	}
	cg_text(before, sizeof(before));

	test_ready();
	test_wait_checkpoint();

	/* While the children are there. */
	bad = check_procs(pids_dir, kids[0]);
	bad += check_procs(cpu_inner, kids[1]);
	tree_forward(kids, 2);
	bad += check_self("the root", before);
	bad += check_prop(pids_dir, "pids.max", PIDS_MAX);
	bad += check_prop(cpu_dir, "cpu.shares", SHARES_OUTER);
	bad += check_prop(cpu_inner, "cpu.shares", SHARES_INNER);
	bad += tree_collect(kids, 2);
	bad += remove_checked(cpu_inner);
	bad += remove_checked(cpu_dir);
	bad += remove_checked(pids_dir);
	tree_exit(bad);
}
