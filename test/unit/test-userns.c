/*
 * ns-user.c: the uid_map/gid_map text parser and formatter, the checks
 * the kernel would make, id translation both ways, ns.img's user entry
 * (checked on read), the creds the restorer gets inside the namespace,
 * and (as root) maps written into a real new user namespace read back.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "namespaces.h"
#include "ns.pb-c.h"
#include "restorer-abi.h"
#include "unit.h"

int unit_register_userns(void);

static int saved_level;
static void quiet_begin(void)
{
	saved_level = log_get_level();
	log_set_level(LOG_MSG);
	log_clear_last_error();
}
static void quiet_end(void) { log_set_level(saved_level); }

static struct userns_map map_of(const char *text)
{
	struct userns_map m;

	CU_ASSERT_EQUAL_FATAL(userns_map_parse(text, &m), 0);
	return m;
}

static void test_parse(void)
{
	struct userns_map m;
	char big[341 * 12 + 1] = "";

	/* The kernel's own layout: right-aligned columns. */
	m = map_of("         0     100000      65536\n");
	CU_ASSERT_EQUAL(m.nr, 1);
	CU_ASSERT_EQUAL(m.e[0].first, 0);
	CU_ASSERT_EQUAL(m.e[0].lower_first, 100000);
	CU_ASSERT_EQUAL(m.e[0].count, 65536);
	m = map_of("0 200000 1000\n1000 300000 64536\n");
	CU_ASSERT_EQUAL(m.nr, 2);
	CU_ASSERT_EQUAL(m.e[1].first, 1000);
	CU_ASSERT_EQUAL(m.e[1].lower_first, 300000);
	CU_ASSERT_EQUAL(m.e[1].count, 64536);
	m = map_of("0 0 4294967295");	/* the initial namespace's, no newline */
	CU_ASSERT_EQUAL(m.nr, 1);
	CU_ASSERT_EQUAL(m.e[0].count, 4294967295u);
	m = map_of("");
	CU_ASSERT_EQUAL(m.nr, 0);

	CU_ASSERT_EQUAL(userns_map_parse("0 1\n", &m), -EINVAL);
	CU_ASSERT_EQUAL(userns_map_parse("0 1 2 3\n", &m), -EINVAL);
	CU_ASSERT_EQUAL(userns_map_parse("a 1 2\n", &m), -EINVAL);
	CU_ASSERT_EQUAL(userns_map_parse("-1 1 2\n", &m), -EINVAL);
	CU_ASSERT_EQUAL(userns_map_parse("0 4294967296 1\n", &m), -ERANGE);
	for (int i = 0; i < 341; i++)
		snprintf(big + strlen(big), sizeof(big) - strlen(big), "%d %d 1\n", i, i);
	CU_ASSERT_EQUAL(userns_map_parse(big, &m), -E2BIG);
}

static void test_check(void)
{
	struct userns_map m = { 0 };

	CU_ASSERT_EQUAL(userns_map_check(&m), -ENOENT);
	m = map_of("0 100000 65536\n");
	CU_ASSERT_EQUAL(userns_map_check(&m), 0);
	m = map_of("0 200000 1000\n1000 300000 64536\n");
	CU_ASSERT_EQUAL(userns_map_check(&m), 0);
	m = map_of("0 100000 0\n");
	CU_ASSERT_EQUAL(userns_map_check(&m), -ERANGE);
	m = map_of("4294967290 1 10\n");
	CU_ASSERT_EQUAL(userns_map_check(&m), -ERANGE);
	m = map_of("0 4294967290 10\n");
	CU_ASSERT_EQUAL(userns_map_check(&m), -ERANGE);
	m = map_of("0 0 4294967295\n");
	CU_ASSERT_EQUAL(userns_map_check(&m), 0);
	/* Overlaps inside, outside, and touching ranges (which are fine). */
	m = map_of("0 100000 10\n5 200000 10\n");
	CU_ASSERT_EQUAL(userns_map_check(&m), -EEXIST);
	m = map_of("0 100000 10\n20 100009 10\n");
	CU_ASSERT_EQUAL(userns_map_check(&m), -EEXIST);
	m = map_of("0 100000 10\n10 100010 10\n");
	CU_ASSERT_EQUAL(userns_map_check(&m), 0);
}

static void test_format(void)
{
	struct userns_map m = map_of("0 200000 1000\n1000 300000 64536\n"), back;
	char buf[128], tiny[10];
	int len;

	len = userns_map_format(&m, buf, sizeof(buf));
	CU_ASSERT_EQUAL(len, (int)strlen("0 200000 1000\n1000 300000 64536\n"));
	CU_ASSERT_STRING_EQUAL(buf, "0 200000 1000\n1000 300000 64536\n");
	back = map_of(buf);
	CU_ASSERT_EQUAL(back.nr, m.nr);
	CU_ASSERT_EQUAL(memcmp(back.e, m.e, sizeof(m.e[0]) * m.nr), 0);
	CU_ASSERT_EQUAL(userns_map_format(&m, tiny, sizeof(tiny)), -E2BIG);
	m.nr = 0;
	CU_ASSERT_EQUAL(userns_map_format(&m, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "");
}

static void test_translate(void)
{
	struct userns_map m = map_of("0 200000 1000\n1000 300000 64536\n");
	uint32_t v;

	CU_ASSERT_EQUAL(userns_map_to_inside(&m, 200000, &v), 0);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(userns_map_to_inside(&m, 200999, &v), 0);
	CU_ASSERT_EQUAL(v, 999);
	CU_ASSERT_EQUAL(userns_map_to_inside(&m, 301500, &v), 0);
	CU_ASSERT_EQUAL(v, 2500);
	CU_ASSERT_EQUAL(userns_map_to_inside(&m, 201000, &v), -ERANGE);
	CU_ASSERT_EQUAL(userns_map_to_inside(&m, 0, &v), -ERANGE);
	CU_ASSERT_EQUAL(userns_map_to_inside(&m, 364536, &v), -ERANGE);
	CU_ASSERT_EQUAL(userns_map_to_outside(&m, 0, &v), 0);
	CU_ASSERT_EQUAL(v, 200000);
	CU_ASSERT_EQUAL(userns_map_to_outside(&m, 65535, &v), 0);
	CU_ASSERT_EQUAL(v, 364535);
	CU_ASSERT_EQUAL(userns_map_to_outside(&m, 65536, &v), -ERANGE);
	for (uint32_t in = 0; in < 65536; in += 997) {
		uint32_t out, again;

		CU_ASSERT_EQUAL(userns_map_to_outside(&m, in, &out), 0);
		CU_ASSERT_EQUAL(userns_map_to_inside(&m, out, &again), 0);
		CU_ASSERT_EQUAL(again, in);
	}
}

/* ns.img's user entry with @uid and @gid maps (one extent each, or none for count 0). */
struct entry {
	NsEntry e;
	IdExtent x[4];
	IdExtent *px[4];
};

static void entry_init(struct entry *en, uint32_t lower, uint32_t count, bool has_setgroups, bool allow)
{
	ns_entry__init(&en->e);
	en->e.type = NS_TYPE__NS_TYPE_USER;
	for (int i = 0; i < 4; i++) {
		id_extent__init(&en->x[i]);
		en->px[i] = &en->x[i];
	}
	en->x[0] = (IdExtent)ID_EXTENT__INIT;
	en->x[0].first = 0;
	en->x[0].lower_first = lower;
	en->x[0].count = count;
	en->x[1] = en->x[0];
	en->e.uid_map = &en->px[0];
	en->e.n_uid_map = 1;
	en->e.gid_map = &en->px[1];
	en->e.n_gid_map = 1;
	en->e.has_setgroups_allow = has_setgroups;
	en->e.setgroups_allow = allow;
}

static void test_read_entry(void)
{
	struct userns *u = NULL;
	struct entry en;

	entry_init(&en, 100000, 65536, true, true);
	CU_ASSERT_EQUAL(userns_read(&en.e, &u), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(u);
	CU_ASSERT_TRUE(userns_setgroups_allowed(u));
	CU_ASSERT_TRUE(userns_ids_mapped(u, 100000, 165535));
	CU_ASSERT_FALSE(userns_ids_mapped(u, 0, 100000));
	userns_free(u);

	quiet_begin();
	entry_init(&en, 100000, 65536, false, true);
	CU_ASSERT_EQUAL(userns_read(&en.e, &u), -EBADMSG);
	CU_ASSERT_TRUE(last_error_has("setgroups"));
	entry_init(&en, 100000, 0, true, true);
	CU_ASSERT_EQUAL(userns_read(&en.e, &u), -EBADMSG);
	CU_ASSERT_TRUE(last_error_has("uid_map"));
	entry_init(&en, 100000, 65536, true, true);
	en.e.n_gid_map = 0;
	CU_ASSERT_EQUAL(userns_read(&en.e, &u), -EBADMSG);
	CU_ASSERT_TRUE(last_error_has("no gid_map"));
	entry_init(&en, 100000, 65536, true, true);
	en.x[2] = en.x[1];
	en.x[2].first = 10;	/* inside 10.. again */
	en.x[2].lower_first = 500000;
	en.e.gid_map = &en.px[1];
	en.e.n_gid_map = 2;
	CU_ASSERT_EQUAL(userns_read(&en.e, &u), -EBADMSG);
	CU_ASSERT_TRUE(last_error_has("overlapping"));
	quiet_end();
}

static void creds_init(struct restorer_creds *c, uint32_t *groups, unsigned nr, uint32_t uid, uint32_t gid)
{
	memset(c, 0, sizeof(*c));
	c->uid = c->euid = c->suid = c->fsuid = uid;
	c->gid = c->egid = c->sgid = c->fsgid = gid;
	c->groups = (uint64_t)(uintptr_t)groups;
	c->nr_groups = nr;
}

static void test_creds(void)
{
	struct userns *u = NULL;
	struct restorer_creds c;
	uint32_t root_groups[] = { 0, 100005 }, same[] = { 0, 100005 }, other[] = { 100007, 100008 }, bad[] = { 7 };
	struct entry en;

	entry_init(&en, 100000, 65536, true, true);
	CU_ASSERT_EQUAL_FATAL(userns_read(&en.e, &u), 0);
	/* The root first: groups inherited from outside (0 unmapped) are kept. */
	creds_init(&c, root_groups, 2, 100000, 100000);
	CU_ASSERT_EQUAL(userns_creds(u, 1, true, &c), 0);
	CU_ASSERT_EQUAL(c.uid, 0);
	CU_ASSERT_EQUAL(c.fsuid, 0);
	CU_ASSERT_EQUAL(c.sgid, 0);
	CU_ASSERT_EQUAL(c.keep_groups, 1);
	CU_ASSERT_EQUAL(root_groups[0], 0);	/* untouched: set from outside */
	creds_init(&c, same, 2, 101500, 101200);
	CU_ASSERT_EQUAL(userns_creds(u, 2, false, &c), 0);
	CU_ASSERT_EQUAL(c.euid, 1500);
	CU_ASSERT_EQUAL(c.egid, 1200);
	CU_ASSERT_EQUAL(c.keep_groups, 1);
	/* Groups a task set itself, from inside: translated. */
	creds_init(&c, other, 2, 100000, 100000);
	CU_ASSERT_EQUAL(userns_creds(u, 3, false, &c), 0);
	CU_ASSERT_EQUAL(c.keep_groups, 0);
	CU_ASSERT_EQUAL(other[0], 7);
	CU_ASSERT_EQUAL(other[1], 8);
	quiet_begin();
	creds_init(&c, bad, 1, 100000, 100000);
	CU_ASSERT_EQUAL(userns_creds(u, 4, false, &c), -EOPNOTSUPP);
	CU_ASSERT_TRUE(last_error_has("core-4.img: its group 7"));
	creds_init(&c, same, 2, 42, 100000);
	CU_ASSERT_EQUAL(userns_creds(u, 5, false, &c), -EOPNOTSUPP);
	CU_ASSERT_TRUE(last_error_has("core-5.img: its uid 42"));
	quiet_end();
	userns_free(u);

	/* setgroups denied: only the root's groups can be had. */
	entry_init(&en, 100000, 65536, true, false);
	CU_ASSERT_EQUAL_FATAL(userns_read(&en.e, &u), 0);
	creds_init(&c, root_groups, 2, 100000, 100000);
	CU_ASSERT_EQUAL(userns_creds(u, 1, true, &c), 0);
	quiet_begin();
	other[0] = 100007;
	other[1] = 100008;
	creds_init(&c, other, 2, 100000, 100000);
	CU_ASSERT_EQUAL(userns_creds(u, 3, false, &c), -EOPNOTSUPP);
	CU_ASSERT_TRUE(last_error_has("setgroups is denied"));
	quiet_end();
	userns_free(u);
}

/* As root: the restore's map writer into a real new user namespace, read back by the dump's reader. */
static void test_live(void)
{
	struct userns *w = NULL, *r = NULL;
	struct entry en;
	NsEntry back = NS_ENTRY__INIT;
	int go[2], done[2];
	pid_t child;
	char c;

	entry_init(&en, 200000, 1000, true, false);
	en.x[2] = en.x[0];
	en.x[2].first = 1000;
	en.x[2].lower_first = 300000;
	en.x[2].count = 64536;
	en.px[1] = &en.x[2];	/* uid_map: both extents */
	en.px[2] = &en.x[1];
	en.e.n_uid_map = 2;
	en.e.gid_map = &en.px[2];
	CU_ASSERT_EQUAL_FATAL(userns_read(&en.e, &w), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(go), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(done), 0);
	child = fork();
	CU_ASSERT_FATAL(child >= 0);
	if (child == 0) {
		int ok = !unshare(CLONE_NEWUSER);

		if (write(go[1], &ok, sizeof(ok)) != sizeof(ok) || read(done[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	int ok = 0;

	CU_ASSERT_EQUAL(read(go[0], &ok, sizeof(ok)), (ssize_t)sizeof(ok));
	CU_ASSERT_TRUE(ok);
	if (ok) {
		CU_ASSERT_EQUAL(userns_write_maps(w, child), 0);
		CU_ASSERT_EQUAL(userns_dump_read(child, &r), 0);
	}
	if (r) {
		userns_dump_fill(r, &back);
		CU_ASSERT_EQUAL(back.n_uid_map, 2);
		CU_ASSERT_EQUAL(back.n_gid_map, 1);
		CU_ASSERT_TRUE(back.has_setgroups_allow && !back.setgroups_allow);
		if (back.n_uid_map == 2) {
			CU_ASSERT_EQUAL(back.uid_map[1]->first, 1000);
			CU_ASSERT_EQUAL(back.uid_map[1]->lower_first, 300000);
			CU_ASSERT_EQUAL(back.uid_map[1]->count, 64536);
		}
		if (back.n_gid_map == 1)
			CU_ASSERT_EQUAL(back.gid_map[0]->lower_first, 200000);
	}
	CU_ASSERT_EQUAL(write(done[1], "x", 1), 1);
	waitpid(child, NULL, 0);
	close(go[0]);
	close(go[1]);
	close(done[0]);
	close(done[1]);
	userns_free(r);
	userns_free(w);
}

int unit_register_userns(void)
{
	CU_pSuite s = CU_add_suite("userns", NULL, NULL);

	if (!s || !CU_add_test(s, "uid_map text parsing", test_parse) ||
	    !CU_add_test(s, "the kernel's map rules", test_check) ||
	    !CU_add_test(s, "map text formatting round trip", test_format) ||
	    !CU_add_test(s, "ids inside and outside", test_translate) ||
	    !CU_add_test(s, "ns.img user entry checks", test_read_entry) ||
	    !CU_add_test(s, "creds inside the namespace", test_creds))
		return CU_get_error();
	if (geteuid() == 0 && !CU_add_test(s, "maps written into a new user namespace read back", test_live))
		return CU_get_error();
	return 0;
}
