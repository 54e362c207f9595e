/*
 * pstree.c, restore side: trees built by hand go through pstree_write()
 * and pstree_read() in a temp dir; check what comes back (ids, threads,
 * zombies), the plan (helpers for leaderless groups, children forked
 * before their parent's setsid(), a root that did not lead its session)
 * and the refusals.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pstree.h"
#include "unit.h"

#define CR_SID		7	/* the session cr's restore would run in */
#define MAX_TIDS	4

/* One task as a test writes it: tids end at the first 0; an alive task
 * without any gets its pid as its only thread. */
struct spec {
	pid_t pid, ppid, pgid, sid;
	int kind;
	int exit_code;
	pid_t tids[MAX_TIDS];
	/* In pid namespaces below cr's (one thread): its pid at each level. */
	unsigned levels;
	pid_t ns_pid[2];
	pid_t pidns_child;
};

#define ALIVE(p, pp, g, s, ...) \
	{ .pid = p, .ppid = pp, .pgid = g, .sid = s, .kind = TASK_ALIVE, .tids = { __VA_ARGS__ } }
#define ZOMBIE(p, pp, g, s, code) \
	{ .pid = p, .ppid = pp, .pgid = g, .sid = s, .kind = TASK_ZOMBIE, .exit_code = code }

static char dir[64];
static int dfd = -1;

static int suite_init(void)
{
	strcpy(dir, "/tmp/cr-unit-pstree-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return dfd < 0 ? -1 : 0;
}

static int suite_cleanup(void)
{
	if (dfd >= 0) {
		unlinkat(dfd, "pstree.img", 0);
		close(dfd);
	}
	return rmdir(dir) ? -1 : 0;
}

/* Writes the tree of SPECS as pstree.img, reads it back into RET. */
static int write_read(const struct spec *specs, unsigned nr, struct pstree *ret)
{
	struct pstree_task tasks[16] = { 0 };
	struct pstree t = { .tasks = tasks, .nr = nr };
	int saved = log_get_level(), err;

	CU_ASSERT_FATAL(nr <= 16);
	for (unsigned i = 0; i < nr; i++) {
		const struct spec *s = &specs[i];
		struct pstree_task *task = &tasks[i];

		task->pid = s->pid;
		task->ppid = s->ppid;
		task->pgid = s->pgid;
		task->sid = s->sid;
		task->kind = s->kind;
		task->exit_code = s->exit_code;
		task->tids = (pid_t *)s->tids;
		while (task->nr_tids < MAX_TIDS && s->tids[task->nr_tids])
			task->nr_tids++;
		if (task->kind == TASK_ALIVE && !task->nr_tids) {
			task->tids = (pid_t *)&s->pid;
			task->nr_tids = 1;
		}
		task->levels = s->levels;
		task->ns_pid = (pid_t *)s->ns_pid;
		task->ns_tids = s->levels ? (pid_t *)s->ns_pid : NULL;
		task->pidns_child = s->pidns_child;
	}
	CU_ASSERT_EQUAL_FATAL(pstree_write(dfd, &t), 0);

	/* Refusals are tested on purpose: keep them off the terminal. */
	log_set_level(LOG_MSG);
	log_clear_last_error();
	err = pstree_read(dfd, CR_SID, ret);
	log_set_level(saved);
	return err;
}

static int index_of(const struct pstree *t, pid_t pid)
{
	const struct pstree_task *task = pstree_find(t, pid);

	return task ? task - t->tasks : -1;
}

static int refused(const struct spec *specs, unsigned nr, const char *words)
{
	struct pstree t = { 0 };
	const char *msg;
	int err = write_read(specs, nr, &t);

	CU_ASSERT_PTR_NULL(t.tasks);
	pstree_free(&t);
	msg = log_last_error();
	CU_ASSERT_PTR_NOT_NULL(msg);
	if (msg && !strstr(msg, words)) {
		fprintf(stderr, "\n  refusal '%s' does not say '%s'\n", msg, words);
		CU_FAIL("the refusal names the wrong cause");
	}
	return err;
}

#define N(a)	(sizeof(a) / sizeof((a)[0]))

/* (a) ids, threads, zombies and the order of children come back. */
static void test_round_trip(void)
{
	static const struct spec s[] = {
		ALIVE(100, 1, 100, 100, 100, 101, 102),
		ALIVE(110, 100, 100, 100, 110),
		ZOMBIE(120, 100, 100, 100, 42 << 8),
		ALIVE(111, 110, 111, 100, 111, 115, 113),
		ZOMBIE(130, 100, 111, 100, 9),
	};
	struct pstree t = { 0 };

	CU_ASSERT_EQUAL_FATAL(write_read(s, N(s), &t), 0);
	CU_ASSERT_EQUAL_FATAL(t.nr, N(s));
	CU_ASSERT_EQUAL(t.nr_alive, 3);
	for (unsigned i = 0; i < N(s); i++) {
		const struct pstree_task *task = &t.tasks[i];

		CU_ASSERT_EQUAL(task->pid, s[i].pid);
		CU_ASSERT_EQUAL(task->pgid, s[i].pgid);
		CU_ASSERT_EQUAL(task->sid, s[i].sid);
		CU_ASSERT_FALSE(task->before_setsid);
		if (i) {
			CU_ASSERT_EQUAL(task->ppid, s[i].ppid);
			CU_ASSERT_EQUAL(task->parent, index_of(&t, s[i].ppid));
		}
		if (s[i].kind == TASK_ZOMBIE) {
			CU_ASSERT_EQUAL(task->kind, TASK_ZOMBIE);
			CU_ASSERT_EQUAL(task->exit_code, s[i].exit_code);
			CU_ASSERT_EQUAL(task->nr_tids, 0);
		} else {
			CU_ASSERT_EQUAL(task->kind, TASK_ALIVE);
		}
	}
	CU_ASSERT_EQUAL(t.tasks[0].parent, -1);
	CU_ASSERT_EQUAL_FATAL(t.tasks[0].nr_tids, 3);
	CU_ASSERT_EQUAL(t.tasks[0].tids[1], 101);
	CU_ASSERT_EQUAL(t.tasks[0].tids[2], 102);
	CU_ASSERT_EQUAL_FATAL(t.tasks[3].nr_tids, 3);
	CU_ASSERT_EQUAL(t.tasks[3].tids[0], 111);
	CU_ASSERT_EQUAL(t.tasks[3].tids[1], 115);
	CU_ASSERT_EQUAL(t.tasks[3].tids[2], 113);
	/* Children in image order: 110, 120, 130 under the root. */
	CU_ASSERT_EQUAL_FATAL(t.tasks[0].nr_children, 3);
	CU_ASSERT_EQUAL(t.tasks[0].children[0], 1);
	CU_ASSERT_EQUAL(t.tasks[0].children[1], 2);
	CU_ASSERT_EQUAL(t.tasks[0].children[2], 4);
	CU_ASSERT_EQUAL_FATAL(t.tasks[1].nr_children, 1);
	CU_ASSERT_EQUAL(t.tasks[1].children[0], 3);
	CU_ASSERT_EQUAL(t.tasks[2].nr_children, 0);
	pstree_free(&t);
}

/* (b) group 130 lost its leader: one helper with its pid, a child of
 * the members' parent, in their session. */
static void test_group_helper(void)
{
	static const struct spec s[] = {
		ALIVE(100, 1, 100, 100),
		ALIVE(110, 100, 100, 100),
		ALIVE(111, 110, 130, 100),
		ALIVE(112, 110, 130, 100),
	};
	struct pstree t = { 0 };
	const struct pstree_task *h;

	CU_ASSERT_EQUAL_FATAL(write_read(s, N(s), &t), 0);
	CU_ASSERT_EQUAL_FATAL(t.nr, N(s) + 1);
	CU_ASSERT_EQUAL(t.nr_alive, N(s));
	h = pstree_find(&t, 130);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(h->kind, TASK_HELPER);
	CU_ASSERT_EQUAL(h->parent, index_of(&t, 110));
	CU_ASSERT_EQUAL(h->ppid, 110);
	CU_ASSERT_EQUAL(h->pgid, 130);
	CU_ASSERT_EQUAL(h->sid, 100);
	CU_ASSERT_EQUAL(h->nr_tids, 0);
	CU_ASSERT_EQUAL(t.tasks[index_of(&t, 110)].nr_children, 3);
	pstree_free(&t);
}

/*
 * (b) and (c): 110 called setsid() after forking 112, which stayed in
 * the root's session 100, and 111 after it. 112 is forked first; 113,
 * born before the setsid() too, is in group 130 whose leader is gone,
 * and its parent is in another session: the helper is the session
 * leader's (the root's) child.
 */
static void test_before_setsid(void)
{
	static const struct spec s[] = {
		ALIVE(100, 1, 100, 100),
		ALIVE(110, 100, 110, 110),
		ALIVE(111, 110, 110, 110),
		ALIVE(112, 110, 100, 100),
		ALIVE(113, 110, 130, 100),
		ALIVE(114, 110, 110, 110),
	};
	struct pstree t = { 0 };
	const struct pstree_task *p, *h;
	int i112 = 3, i113 = 4;

	CU_ASSERT_EQUAL_FATAL(write_read(s, N(s), &t), 0);
	CU_ASSERT_TRUE(t.tasks[i112].before_setsid);
	CU_ASSERT_TRUE(t.tasks[i113].before_setsid);
	CU_ASSERT_FALSE(t.tasks[1].before_setsid);
	CU_ASSERT_FALSE(t.tasks[2].before_setsid);
	CU_ASSERT_FALSE(t.tasks[5].before_setsid);
	p = &t.tasks[1];
	CU_ASSERT_EQUAL_FATAL(p->nr_children, 4);
	CU_ASSERT_EQUAL(p->children[0], i112);
	CU_ASSERT_EQUAL(p->children[1], i113);
	CU_ASSERT_EQUAL(p->children[2], 2);
	CU_ASSERT_EQUAL(p->children[3], 5);

	h = pstree_find(&t, 130);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(h->kind, TASK_HELPER);
	CU_ASSERT_EQUAL(h->parent, 0);
	CU_ASSERT_EQUAL(h->ppid, 100);
	CU_ASSERT_EQUAL(h->sid, 100);
	CU_ASSERT_FALSE(h->before_setsid);
	pstree_free(&t);
}

/*
 * (c) two levels: the root called setsid() after forking 110, which
 * stayed in the session the root was born in (cr's) and made a group of
 * its own there; 120 called setsid() after forking 121, which stayed in
 * 110's session and group.
 */
static void test_before_setsid_nested(void)
{
	static const struct spec s[] = {
		ALIVE(100, 1, 100, 100),
		ALIVE(110, 100, 110, CR_SID),
		ALIVE(120, 110, 120, 120),
		ALIVE(121, 120, 110, CR_SID),
	};
	struct pstree t = { 0 };

	CU_ASSERT_EQUAL_FATAL(write_read(s, N(s), &t), 0);
	CU_ASSERT_EQUAL(t.nr, N(s));
	CU_ASSERT_TRUE(t.tasks[1].before_setsid);
	CU_ASSERT_FALSE(t.tasks[2].before_setsid);
	CU_ASSERT_TRUE(t.tasks[3].before_setsid);
	pstree_free(&t);
}

/* (d) refusals. */
static void test_parent_after_child(void)
{
	static const struct spec s[] = {
		ALIVE(100, 1, 100, 100),
		ALIVE(111, 110, 100, 100),
		ALIVE(110, 100, 100, 100),
	};

	CU_ASSERT_EQUAL(refused(s, N(s), "parent 110 of pid 111 comes after it"), -EBADMSG);
}

static void test_duplicate_pid(void)
{
	static const struct spec s[] = {
		ALIVE(100, 1, 100, 100),
		ALIVE(110, 100, 100, 100),
		ALIVE(110, 100, 100, 100),
	};

	CU_ASSERT_EQUAL(refused(s, N(s), "pid 110 appears twice"), -EBADMSG);
}

static void test_duplicate_tid(void)
{
	static const struct spec s[] = {
		ALIVE(100, 1, 100, 100, 100, 101),
		ALIVE(110, 100, 100, 100, 110, 111, 101),
	};
	static const struct spec s2[] = {
		ALIVE(100, 1, 100, 100, 100, 101),
		ALIVE(110, 100, 100, 100, 110, 112, 112),
	};
	/* A zombie's pid is a thread's tid of a task after it. */
	static const struct spec s3[] = {
		ALIVE(100, 1, 100, 100),
		ZOMBIE(120, 100, 100, 100, 0),
		ALIVE(110, 100, 100, 100, 110, 120),
	};
	/* A thread's tid is a process's pid. */
	static const struct spec s4[] = {
		ALIVE(100, 1, 100, 100, 100, 120),
		ALIVE(110, 100, 100, 100),
		ALIVE(120, 100, 100, 100),
	};

	CU_ASSERT_EQUAL(refused(s, N(s), "tid 101 appears twice"), -EBADMSG);
	CU_ASSERT_EQUAL(refused(s2, N(s2), "tid 112 appears twice"), -EBADMSG);
	CU_ASSERT_EQUAL(refused(s3, N(s3), "tid 120 appears twice"), -EBADMSG);
	CU_ASSERT_EQUAL(refused(s4, N(s4), "tid 120"), -EBADMSG);
}

static void test_zombie_root(void)
{
	static const struct spec s[] = {
		ZOMBIE(100, 1, 100, 100, 0),
		ALIVE(110, 100, 100, 100),
	};

	CU_ASSERT_EQUAL(refused(s, N(s), "root 100 is not alive"), -EBADMSG);
}

static void test_no_leaders(void)
{
	/* 110 is in session 200 and group 300, neither led by anyone here. */
	static const struct spec s[] = {
		ALIVE(100, 1, 100, 100),
		ALIVE(110, 100, 300, 200),
	};

	CU_ASSERT_EQUAL(refused(s, N(s), "pid 110"), -EOPNOTSUPP);
}

static void test_session_leader_not_group_leader(void)
{
	static const struct spec s[] = {
		ALIVE(100, 1, 100, 100),
		ALIVE(110, 100, 100, 110),
	};

	CU_ASSERT_EQUAL(refused(s, N(s), "pid 110 leads session 110 but not its group 100"), -EBADMSG);
}

/* (e) the root was in a session (and group) it did not lead: they become
 * cr's for the root and whoever shared them; other sessions stay. */
static void test_root_not_session_leader(void)
{
	static const struct spec s[] = {
		ALIVE(100, 1, 40, 40),
		ALIVE(110, 100, 40, 40),
		ALIVE(120, 100, 120, 40),
		ALIVE(130, 100, 130, 130),
		ALIVE(131, 130, 130, 130),
	};
	static const struct spec s2[] = {
		ALIVE(100, 1, 100, 40),
		ALIVE(110, 100, 100, 40),
	};
	struct pstree t = { 0 };
	pid_t cr_pgid = getpgrp();

	CU_ASSERT_EQUAL_FATAL(write_read(s, N(s), &t), 0);
	CU_ASSERT_EQUAL(t.nr, N(s));	/* no helper for group 40 */
	for (unsigned i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(t.tasks[i].sid, CR_SID);
	CU_ASSERT_EQUAL(t.tasks[0].pgid, cr_pgid);
	CU_ASSERT_EQUAL(t.tasks[1].pgid, cr_pgid);
	CU_ASSERT_EQUAL(t.tasks[2].pgid, 120);
	CU_ASSERT_EQUAL(t.tasks[3].sid, 130);
	CU_ASSERT_EQUAL(t.tasks[4].sid, 130);
	CU_ASSERT_EQUAL(t.tasks[4].pgid, 130);
	for (unsigned i = 0; i < t.nr; i++)
		CU_ASSERT_FALSE(t.tasks[i].before_setsid);
	pstree_free(&t);

	/* It led its group: the group stays its own, the session is cr's. */
	CU_ASSERT_EQUAL_FATAL(write_read(s2, N(s2), &t), 0);
	CU_ASSERT_EQUAL(t.nr, N(s2));
	CU_ASSERT_EQUAL(t.tasks[0].sid, CR_SID);
	CU_ASSERT_EQUAL(t.tasks[1].sid, CR_SID);
	CU_ASSERT_EQUAL(t.tasks[0].pgid, 100);
	CU_ASSERT_EQUAL(t.tasks[1].pgid, 100);
	pstree_free(&t);
}

/*
 * A task that unshared CLONE_NEWPID: its children's pid namespace is the
 * one its child 120 is the init of. Refused: a child in the task's own
 * namespace, or a task that is not its parent.
 */
#define IN_NS(p, pp, lv, a, b, child) \
	{ .pid = p, .ppid = pp, .pgid = 100, .sid = 100, .kind = TASK_ALIVE, .levels = lv, .ns_pid = { a, b }, \
	  .pidns_child = child }

static void test_pidns_child(void)
{
	static const struct spec ok[] = {
		IN_NS(100, 1, 1, 1, 0, 0),
		IN_NS(110, 100, 1, 2, 0, 120),
		IN_NS(120, 110, 2, 3, 1, 0),
	};
	static const struct spec same_ns[] = {
		IN_NS(100, 1, 1, 1, 0, 0),
		IN_NS(110, 100, 1, 2, 0, 120),
		IN_NS(120, 110, 1, 3, 0, 0),
	};
	static const struct spec not_parent[] = {
		IN_NS(100, 1, 1, 1, 0, 120),
		IN_NS(110, 100, 1, 2, 0, 0),
		IN_NS(120, 110, 2, 3, 1, 0),
	};
	struct pstree t = { 0 };

	CU_ASSERT_EQUAL_FATAL(write_read(ok, N(ok), &t), 0);
	CU_ASSERT_EQUAL(t.tasks[index_of(&t, 110)].pidns_child, 120);
	CU_ASSERT_EQUAL(t.tasks[index_of(&t, 100)].pidns_child, 0);
	CU_ASSERT_EQUAL(t.tasks[index_of(&t, 120)].pidns_child, 0);
	pstree_free(&t);
	CU_ASSERT_EQUAL(refused(same_ns, N(same_ns), "pid 110: its children's pid namespace is not one its child 120"),
			-EBADMSG);
	CU_ASSERT_EQUAL(refused(not_parent, N(not_parent), "pid 100: its children's pid namespace"), -EBADMSG);
}

int unit_register_pstree(void)
{
	CU_pSuite s = CU_add_suite("pstree", suite_init, suite_cleanup);

	if (!s ||
	    !CU_add_test(s, "a tree round-trips: ids, threads, zombies, children", test_round_trip) ||
	    !CU_add_test(s, "a group without its leader gets a helper", test_group_helper) ||
	    !CU_add_test(s, "children forked before the parent's setsid() come first",
			 test_before_setsid) ||
	    !CU_add_test(s, "born sessions two levels up", test_before_setsid_nested) ||
	    !CU_add_test(s, "refused: a parent after its child", test_parent_after_child) ||
	    !CU_add_test(s, "refused: a pid twice", test_duplicate_pid) ||
	    !CU_add_test(s, "refused: a tid twice, or a tid that is a pid", test_duplicate_tid) ||
	    !CU_add_test(s, "refused: a zombie root", test_zombie_root) ||
	    !CU_add_test(s, "refused: neither group nor session leader", test_no_leaders) ||
	    !CU_add_test(s, "refused: a session leader in another's group",
			 test_session_leader_not_group_leader) ||
	    !CU_add_test(s, "a root that did not lead its session joins cr's",
			 test_root_not_session_leader) ||
	    !CU_add_test(s, "pid_for_children: the pid namespace a child starts", test_pidns_child))
		return CU_get_error();
	return 0;
}
