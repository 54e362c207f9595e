/*
 * cgroup.c against real v1 hierarchies (as root; skipped otherwise):
 * test cgroups named cr-unit-cg-<pid> in cpu, pids, memory and freezer.
 * A child with two threads in different cpu cgroups is dumped with
 * properties, killed, its cgroups removed; the image is restored in FULL
 * mode for a fresh child (its ids mapped by hand onto the dumped ones)
 * and membership and properties are checked; STRICT with a cgroup
 * present fails and leaves nothing; undo removes what was created;
 * --cgroup-root moves the tree; a bad image is refused; the freezer
 * freezes, thaws, and leaves an already frozen cgroup frozen.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup-priv.h"
#include "cgroup.pb-c.h"
#include "image.h"
#include "log.h"
#include "pstree.h"
#include "unit.h"

#define CG	"/sys/fs/cgroup"

static const char *const hier[] = { "cpu", "pids", "memory", "freezer" };
#define NR_HIER		(sizeof(hier) / sizeof(hier[0]))

static char name[64];		/* cr-unit-cg-<pid> */

static bool have_cgroups(void)
{
	struct stat st;

	if (geteuid())
		return false;
	for (size_t i = 0; i < NR_HIER; i++) {
		char p[128];

		snprintf(p, sizeof(p), CG "/%s/tasks", hier[i]);
		if (stat(p, &st))
			return false;
	}
	return true;
}

static int put(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		ret = -errno;
	close(fd);
	return ret;
}

static int putf(const char *val, const char *fmt, const char *h, const char *rel, const char *file)
{
	char p[256];

	snprintf(p, sizeof(p), fmt, h, name, rel, file);
	return put(p, val);
}

/* The first line of CG/<h>/<name><rel>/<file>, or "" */
static const char *get(const char *h, const char *rel, const char *file)
{
	static char buf[256];
	char p[256];
	int fd;
	ssize_t n;

	snprintf(p, sizeof(p), CG "/%s/%s%s/%s", h, name, rel, file);
	buf[0] = 0;
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

static bool exists(const char *h, const char *rel)
{
	char p[256];
	struct stat st;

	snprintf(p, sizeof(p), CG "/%s/%s%s", h, name, rel);
	return !stat(p, &st);
}

static void mk(const char *h, const char *rel)
{
	char p[256];

	snprintf(p, sizeof(p), CG "/%s/%s%s", h, name, rel);
	CU_ASSERT(!mkdir(p, 0755) || errno == EEXIST);
}

/* Removes every test cgroup (deepest first); what is not there is fine. */
static void cleanup_cgroups(void)
{
	static const char *const rels[] = { "/a/b", "/a", "/b", "" };

	for (size_t i = 0; i < NR_HIER; i++)
		for (size_t r = 0; r < 4; r++) {
			char p[256];

			snprintf(p, sizeof(p), CG "/%s/%s%s", hier[i], name, rels[r]);
			(void)rmdir(p);
		}
	{
		char p[256];

		snprintf(p, sizeof(p), CG "/cpu/%s-moved", name);
		(void)rmdir(p);
	}
}

/* ---- a child with a second thread ------------------------------------------ */

static int tid_pipe[2];

static void *thread_fn(void *arg)
{
	pid_t tid = gettid();

	(void)arg;
	if (write(tid_pipe[1], &tid, sizeof(tid)) != sizeof(tid))
		_exit(1);
	for (;;)
		pause();
	return NULL;
}

/*
 * Starts the child; *ret_tid: its second thread. With @cgns_in the
 * child is first moved there (every test hierarchy) and then unshares
 * its cgroup namespace, before its thread starts.
 */
static pid_t start_child_ns(pid_t *ret_tid, const char *cgns_in)
{
	int go[2];
	pid_t pid;

	CU_ASSERT_FATAL(!pipe(tid_pipe));
	CU_ASSERT_FATAL(!pipe(go));
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (!pid) {
		pthread_t t;
		char b;

		close(go[1]);
		if (read(go[0], &b, 1) != 1 || (cgns_in && unshare(CLONE_NEWCGROUP)))
			_exit(1);
		if (pthread_create(&t, NULL, thread_fn, NULL))
			_exit(1);
		for (;;)
			pause();
	}
	close(go[0]);
	if (cgns_in) {
		char id[16];

		snprintf(id, sizeof(id), "%d", pid);
		for (size_t i = 0; i < NR_HIER; i++)
			CU_ASSERT(!putf(id, CG "/%s/%s%s/%s", hier[i], cgns_in, "tasks"));
	}
	CU_ASSERT_FATAL(write(go[1], "g", 1) == 1);
	close(go[1]);
	close(tid_pipe[1]);
	CU_ASSERT_FATAL(read(tid_pipe[0], ret_tid, sizeof(*ret_tid)) == sizeof(*ret_tid));
	close(tid_pipe[0]);
	return pid;
}

static pid_t start_child(pid_t *ret_tid)
{
	return start_child_ns(ret_tid, NULL);
}

static void stop_child(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Whether TID's cgroup file has the line "...:<h>:/<name><rel>". */
static bool in_cgroup(pid_t pid, pid_t tid, const char *h, const char *rel)
{
	char p[64], line[512], want[256];
	bool found = false;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/task/%d/cgroup", pid, tid);
	snprintf(want, sizeof(want), ":%s:/%s%s\n", h, name, rel);
	f = fopen(p, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, want) != NULL;
	fclose(f);
	return found;
}

static void move(const char *h, const char *rel, pid_t tid)
{
	char id[16];

	snprintf(id, sizeof(id), "%d", tid);
	CU_ASSERT(!putf(id, CG "/%s/%s%s/%s", h, rel, "tasks"));
}

/* ---- the round trip ------------------------------------------------------ */

static pid_t dumped_pid, dumped_tid;

/* Dumps a child: main thread in /a of every hierarchy, the second one in cpu /b. */
static void dump_child(int mode)
{
	struct cr_options o = { .manage_cgroups = mode };
	pid_t tids[2];
	struct pstree_task task = { .kind = TASK_ALIVE, .tids = tids, .nr_tids = 2, .parent = -1 };
	struct pstree tree = { .tasks = &task, .nr = 1, .nr_alive = 1 };

	for (size_t i = 0; i < NR_HIER; i++) {
		mk(hier[i], "");
		mk(hier[i], "/a");
	}
	mk("cpu", "/b");
	CU_ASSERT(!putf("512", CG "/%s/%s%s/%s", "cpu", "/a", "cpu.shares"));
	CU_ASSERT(!putf("50000", CG "/%s/%s%s/%s", "cpu", "/b", "cpu.cfs_quota_us"));
	CU_ASSERT(!putf("100", CG "/%s/%s%s/%s", "pids", "/a", "pids.max"));
	CU_ASSERT(!putf("67108864", CG "/%s/%s%s/%s", "memory", "/a", "memory.limit_in_bytes"));

	dumped_pid = start_child(&dumped_tid);
	/* v1 moves one thread per write. */
	for (size_t i = 0; i < NR_HIER; i++) {
		move(hier[i], "/a", dumped_pid);
		move(hier[i], "/a", dumped_tid);
	}
	move("cpu", "/b", dumped_tid);
	task.pid = tids[0] = dumped_pid;
	tids[1] = dumped_tid;
	CU_ASSERT(in_cgroup(dumped_pid, dumped_tid, "cpu", "/b"));
	CU_ASSERT(cgroup_dump(&o, &tree, tmp_dfd) == 0);
	stop_child(dumped_pid);
	cleanup_cgroups();
	CU_ASSERT(!exists("cpu", ""));
}

/* The image's ids become the fresh child's: the framework would restore the same ids. */
static void remap(struct cgroup_img *c, pid_t pid, pid_t tid)
{
	for (unsigned i = 0; i < c->nr_tasks; i++)
		c->tasks[i].tid = c->tasks[i].tid == dumped_pid ? pid : c->tasks[i].tid == dumped_tid ? tid : 0;
}

static void test_full_round_trip(void)
{
	struct cr_options o = { .manage_cgroups = CG_MODE_FULL };
	struct cgroup_img *c = NULL;
	pid_t pid, tid, tids[2];
	struct pstree_task task = { .kind = TASK_ALIVE, .tids = tids, .nr_tids = 2, .parent = -1 };
	struct pstree tree = { .tasks = &task, .nr = 1, .nr_alive = 1 };

	if (!have_cgroups())
		return;
	tmp_setup();
	dump_child(CG_MODE_FULL);
	CU_ASSERT_FATAL(cgroup_read(&o, tmp_dfd, &c) == 0);
	CU_ASSERT(c->nr_tasks == 2);
	CU_ASSERT(c->nr_sets == 2);
	CU_ASSERT(!c->has_cgns);

	CU_ASSERT(cgroup_restore_prepare(c) == 0);
	CU_ASSERT(exists("cpu", "/a") && exists("cpu", "/b") && exists("pids", "/a") && exists("freezer", "/a"));
	CU_ASSERT_STRING_EQUAL(get("cpu", "/a", "cpu.shares"), "512");
	CU_ASSERT_STRING_EQUAL(get("cpu", "/b", "cpu.cfs_quota_us"), "50000");
	CU_ASSERT_STRING_EQUAL(get("pids", "/a", "pids.max"), "100");
	CU_ASSERT_STRING_EQUAL(get("memory", "/a", "memory.limit_in_bytes"), "67108864");

	pid = start_child(&tid);
	remap(c, pid, tid);
	task.pid = tids[0] = pid;
	tids[1] = tid;
	CU_ASSERT(cgroup_restore_tasks(c, &tree) == 0);
	for (size_t i = 0; i < NR_HIER; i++)
		CU_ASSERT(in_cgroup(pid, pid, hier[i], "/a"));
	CU_ASSERT(in_cgroup(pid, tid, "cpu", "/b"));
	CU_ASSERT(in_cgroup(pid, tid, "pids", "/a"));
	stop_child(pid);

	cgroup_restore_undo(c);
	for (size_t i = 0; i < NR_HIER; i++)
		CU_ASSERT(!exists(hier[i], ""));
	cgroup_free(c);
	cleanup_cgroups();
	tmp_teardown();
}

/* STRICT: a cgroup of the image exists already: refused, and nothing cr made is left. */
static void test_strict_refuses(void)
{
	struct cr_options o = { .manage_cgroups = CG_MODE_STRICT };
	struct cgroup_img *c = NULL;

	if (!have_cgroups())
		return;
	tmp_setup();
	dump_child(CG_MODE_STRICT);
	mk("pids", "");
	mk("pids", "/a");
	CU_ASSERT_FATAL(cgroup_read(&o, tmp_dfd, &c) == 0);
	CU_ASSERT(cgroup_restore_prepare(c) == -EEXIST);
	CU_ASSERT(last_error_has("exists already"));
	CU_ASSERT(c->nr_created == 0);
	CU_ASSERT(!exists("freezer", "") && !exists("memory", ""));
	CU_ASSERT(exists("pids", "/a"));	/* not cr's: left alone */
	cgroup_free(c);
	cleanup_cgroups();
	tmp_teardown();
}

/* SOFT: an existing cgroup keeps its properties, a created one gets the image's. */
static void test_soft_props(void)
{
	struct cr_options o = { .manage_cgroups = CG_MODE_SOFT };
	struct cgroup_img *c = NULL;

	if (!have_cgroups())
		return;
	tmp_setup();
	dump_child(CG_MODE_PROPS);
	mk("pids", "");
	mk("pids", "/a");
	CU_ASSERT(!putf("77", CG "/%s/%s%s/%s", "pids", "/a", "pids.max"));
	CU_ASSERT_FATAL(cgroup_read(&o, tmp_dfd, &c) == 0);
	CU_ASSERT(cgroup_restore_prepare(c) == 0);
	CU_ASSERT_STRING_EQUAL(get("pids", "/a", "pids.max"), "77");
	CU_ASSERT_STRING_EQUAL(get("cpu", "/a", "cpu.shares"), "512");
	cgroup_restore_undo(c);
	CU_ASSERT(!exists("cpu", ""));
	CU_ASSERT(exists("pids", "/a"));
	cgroup_free(c);
	cleanup_cgroups();
	tmp_teardown();
}

/* --cgroup-root: the root task's cgroup (no cgroup namespace) becomes PATH. */
static void test_cgroup_root(void)
{
	char moved[96], all[96], v2[96];
	const char *roots[] = { moved, all, v2 };
	struct cr_options o = { .manage_cgroups = CG_MODE_SOFT, .cgroup_roots = roots, .nr_cgroup_roots = 3 };
	struct cgroup_img *c = NULL;
	char want_a[96];
	bool main_moved = false, pids_moved = false, v2_seen = false;

	if (!have_cgroups())
		return;
	tmp_setup();
	dump_child(CG_MODE_SOFT);
	snprintf(moved, sizeof(moved), "cpu:/%s-moved", name);
	snprintf(all, sizeof(all), "/%s/b", name);
	/* the v2 hierarchy as runc names it: an empty controller list, as in /proc/PID/cgroup */
	snprintf(v2, sizeof(v2), ":/%s-v2", name);
	snprintf(want_a, sizeof(want_a), "/%s/a", name);
	CU_ASSERT_FATAL(cgroup_read(&o, tmp_dfd, &c) == 0);
	for (unsigned i = 0; i < c->nr_roots; i++)
		if (cg_is_v2(c->roots[i].controllers)) {
			CU_ASSERT_STRING_EQUAL(c->roots[i].path, v2 + 1);
			v2_seen = true;
		}
	for (unsigned s = 0; s < c->nr_sets; s++)
		for (unsigned m = 0; m < c->sets[s].nr; m++) {
			const struct cg_ref *r = &c->sets[s].m[m];

			if (!strcmp(r->controllers, "cpu") && !strcmp(r->path, moved + 4))
				main_moved = true;
			if (!strcmp(r->controllers, "pids")) {
				CU_ASSERT_STRING_EQUAL(r->path, all);
				pids_moved = true;
			}
		}
	CU_ASSERT(main_moved && pids_moved);
	CU_ASSERT(v2_seen || access(CG "/unified/cgroup.procs", F_OK));
	CU_ASSERT(cgroup_restore_prepare(c) == 0);
	{
		char p[128];
		struct stat st;

		snprintf(p, sizeof(p), CG "/cpu/%s-moved", name);
		CU_ASSERT(!stat(p, &st));
	}
	CU_ASSERT(exists("pids", "/b"));
	CU_ASSERT(!exists("pids", "/a"));
	cgroup_restore_undo(c);
	CU_ASSERT(!exists("pids", ""));
	cgroup_free(c);
	cleanup_cgroups();
	tmp_teardown();
}

/* A missing image, and a property outside the tables (release_agent would run anything as root). */
static void test_bad_images(void)
{
	struct cr_options o = { 0 };
	struct cgroup_img *c = NULL;
	struct img *img = NULL;
	CgroupHead h = CGROUP_HEAD__INIT;
	CgroupRef root = CGROUP_REF__INIT, *roots[] = { &root };
	CgroupObject obj = CGROUP_OBJECT__INIT;
	CgroupProp prop = CGROUP_PROP__INIT, *props[] = { &prop };
	CgroupRef dir = CGROUP_REF__INIT;

	tmp_setup();
	CU_ASSERT(cgroup_read(&o, tmp_dfd, &c) == -ENOENT);

	CU_ASSERT_FATAL(img_open(tmp_dfd, IMG_CGROUP, 0, O_WRONLY, &img) == 0);
	h.has_version = true;
	h.version = 1;
	root.controllers = "cpu";
	root.path = "/";
	h.n_roots = 1;
	h.roots = roots;
	CU_ASSERT(pb_write_one(img, &h, PB_CGROUP_HEAD) == 0);
	dir.controllers = "cpu";
	dir.path = "/x";
	prop.name = "release_agent";
	prop.value = "/bin/sh";
	obj.kind = CGROUP_OBJ_KIND__CGROUP_OBJ_DIR;
	obj.dir = &dir;
	obj.n_props = 1;
	obj.props = props;
	CU_ASSERT(pb_write_one(img, &obj, PB_CGROUP_OBJECT) == 0);
	CU_ASSERT(img_close(img) == 0);
	CU_ASSERT(cgroup_read(&o, tmp_dfd, &c) == -EBADMSG);
	CU_ASSERT(last_error_has("unknown property release_agent"));
	tmp_teardown();
}

/*
 * A tree in its own cgroup namespace rooted at /a, its thread in /a/b:
 * the roots are found from inside, --cgroup-root moves the namespace
 * root, and cgroup_join_ns_root() puts a helper there.
 */
static void test_cgns_roots(void)
{
	char moved[96], want[96], *mroot = NULL;
	const char *roots[] = { moved };
	struct cr_options o = { .manage_cgroups = CG_MODE_SOFT };
	struct cgroup_img *c = NULL;
	pid_t pid, tid, tids[2], helper;
	struct pstree_task task = { .kind = TASK_ALIVE, .tids = tids, .nr_tids = 2, .parent = -1 };
	struct pstree tree = { .tasks = &task, .nr = 1, .nr_alive = 1 };
	int status;

	if (!have_cgroups())
		return;
	tmp_setup();
	for (size_t i = 0; i < NR_HIER; i++) {
		mk(hier[i], "");
		mk(hier[i], "/a");
	}
	mk("cpu", "/a/b");
	pid = start_child_ns(&tid, "/a");
	move("cpu", "/a/b", tid);
	task.pid = tids[0] = pid;
	tids[1] = tid;
	CU_ASSERT(cgroup_dump(&o, &tree, tmp_dfd) == 0);
	stop_child(pid);
	cleanup_cgroups();

	snprintf(moved, sizeof(moved), "cpu:/%s-moved", name);
	o.cgroup_roots = roots;
	o.nr_cgroup_roots = 1;
	CU_ASSERT_FATAL(cgroup_read(&o, tmp_dfd, &c) == 0);
	CU_ASSERT(c->has_cgns);
	snprintf(want, sizeof(want), "/%s/a", name);
	for (unsigned i = 0; i < c->nr_roots; i++) {
		if (!strcmp(c->roots[i].controllers, "cpu"))
			CU_ASSERT_STRING_EQUAL(c->roots[i].path, moved + 4);
		if (!strcmp(c->roots[i].controllers, "pids"))
			CU_ASSERT_STRING_EQUAL(c->roots[i].path, want);
	}
	/* A cgroup mount of the namespace's root, or below it, moves with it; one above it cannot. */
	snprintf(want, sizeof(want), "/%s/a/b", name);
	CU_ASSERT(cgroup_mount_root(c, "cgroup", "cpu", "/sys/fs/cgroup/cpu", want, &mroot) == 0);
	snprintf(want, sizeof(want), "%s/b", moved + 4);
	CU_ASSERT(mroot && !strcmp(mroot, want));
	free(mroot);
	CU_ASSERT(cgroup_mount_root(c, "cgroup", "cpu", "/sys/fs/cgroup/cpu", "/", &mroot) == -EINVAL);
	CU_ASSERT(last_error_has("/sys/fs/cgroup/cpu: it shows the cgroup /, above the tree's root"));
	CU_ASSERT(cgroup_mount_root(c, "cgroup", "pids", "/sys/fs/cgroup/pids", "/", &mroot) == 0 && !mroot);
	CU_ASSERT(cgroup_mount_root(c, "cgroup2", "", "/sys/fs/cgroup/unified", "/", &mroot) == 0 && !mroot);
	CU_ASSERT(cgroup_restore_prepare(c) == 0);
	helper = fork();
	CU_ASSERT_FATAL(helper >= 0);
	if (!helper)
		_exit(cgroup_join_ns_root(c) ? 1 : 0);
	CU_ASSERT(waitpid(helper, &status, 0) == helper && WIFEXITED(status) && !WEXITSTATUS(status));
	cgroup_restore_undo(c);
	CU_ASSERT(!exists("pids", ""));
	cgroup_free(c);
	cleanup_cgroups();
	tmp_teardown();
}

/* ---- freezer -------------------------------------------------------------- */

static void test_freezer(void)
{
	struct cgroup_freezer *f = NULL;
	char path[128], rel[96];
	pid_t pid, tid;

	if (!have_cgroups())
		return;
	mk("freezer", "");
	pid = start_child(&tid);
	move("freezer", "", pid);
	move("freezer", "", tid);
	snprintf(path, sizeof(path), CG "/freezer/%s", name);
	snprintf(rel, sizeof(rel), "/%s", name);

	CU_ASSERT_FATAL(cgroup_freeze(path, &f) == 0);
	CU_ASSERT_STRING_EQUAL(get("freezer", "", "freezer.state"), "FROZEN");
	CU_ASSERT(cgroup_thaw(f) == 0);
	CU_ASSERT_STRING_EQUAL(get("freezer", "", "freezer.state"), "THAWED");
	cgroup_freezer_free(f);

	/* Frozen before: seized tasks get thawed to take their interrupts, then it is frozen again. */
	CU_ASSERT_FATAL(cgroup_freeze(rel, &f) == 0);
	cgroup_freezer_free(f);
	CU_ASSERT_FATAL(cgroup_freeze(rel, &f) == 0);
	CU_ASSERT(cgroup_thaw_seized(f) == 0);
	CU_ASSERT_STRING_EQUAL(get("freezer", "", "freezer.state"), "THAWED");
	CU_ASSERT(cgroup_thaw(f) == 0);
	CU_ASSERT_STRING_EQUAL(get("freezer", "", "freezer.state"), "FROZEN");
	cgroup_freezer_free(f);

	CU_ASSERT(cgroup_freeze("/no-such-cgroup-of-cr", &f) == -ENOENT);
	CU_ASSERT(!putf("THAWED", CG "/%s/%s%s/%s", "freezer", "", "freezer.state"));
	stop_child(pid);
	cleanup_cgroups();
}

int unit_register_cgroup(void)
{
	CU_pSuite s = CU_add_suite("cgroup", NULL, NULL);

	snprintf(name, sizeof(name), "cr-unit-cg-%d", getpid());
	if (!s ||
	    !CU_add_test(s, "FULL round trip: threads, sets, properties, undo", test_full_round_trip) ||
	    !CU_add_test(s, "STRICT refuses an existing cgroup, leaves nothing", test_strict_refuses) ||
	    !CU_add_test(s, "SOFT sets properties of created cgroups only", test_soft_props) ||
	    !CU_add_test(s, "--cgroup-root moves the tree", test_cgroup_root) ||
	    !CU_add_test(s, "cgroup namespace roots, join, --cgroup-root", test_cgns_roots) ||
	    !CU_add_test(s, "missing image, unknown property", test_bad_images) ||
	    !CU_add_test(s, "freezer: freeze, thaw, already frozen", test_freezer))
		return CU_get_error();
	return 0;
}
