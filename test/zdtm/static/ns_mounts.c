/*
 * The mount namespace: the test, pid 1 of its own namespaces, builds
 * under its work dir (m/) before it is ready
 *   t      a tmpfs (size, mode) holding files with contents, one with its
 *          own mode, owner and mtime, and ov/under;
 *   t/ov   a tmpfs mounted over t's ov/, which hides ov/under (an fd to
 *          it stays open) and holds ov/over;
 *   b      a bind of the directory t/dir;
 *   f      a bind of the single file t/onefile onto a file of the work dir;
 *   ro     a bind of t/dir remounted read-only;
 *   x      a tmpfs mounted nosuid,nodev,noexec;
 *   sh     a tmpfs made shared, and sl, a bind of it made its slave;
 * and keeps an fd open on t/data, at an offset.
 *
 * After restore the mounts under m/ (from /proc/self/mountinfo: mount
 * point, root, file system type, mount and super options, propagation
 * with the peer group numbers compared as relations) are what they were,
 * and as set up: ro is read-only (a write fails with EROFS), x has the
 * three flags, sl is the slave of sh's peer group. Propagation works: a
 * mount made in sh after restore shows in sl, one made in sl not in sh.
 * The contents, the mode, owner and mtime are the same, both binds show
 * the tmpfs' files (a write through one shows in t), the fd on t/data is
 * at its offset on that very file, and the fd on ov/under still reads
 * the hidden file, which a new bind of t (without what is mounted in it)
 * shows too. Every mount has the source it was mounted with.
 *
 * ns_mounts_base.c builds this with NS_MOUNTS_BASE: without the fd on
 * the hidden file and without comparing the sources, the two things cr
 * does not restore yet (the dump refuses the fd, "its path no longer
 * names it"; restored mounts have the source "none").
 *
 * zdtm: flavors: ns
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

#define DATA_LEN	(3 * 4096 + 17)
#define DATA_SEED	0xd47a000ULL
#define DATA_OFF	1234
#define OWNED_UID	1234
#define OWNED_GID	5678
#define OWNED_MODE	0604
#define OWNED_MTIME	1600000000
#define OWNED_MTIME_NS	123456789
#define MAX_MOUNTS	64
#define LINE_MAX_LEN	1024

static char base[512];		/* <work dir>/m */
static int data_fd;
#ifndef NS_MOUNTS_BASE
static int under_fd = -1;	/* on t/ov/under, hidden by the mount on t/ov */
#endif
static char before[MAX_MOUNTS][LINE_MAX_LEN], before_src[MAX_MOUNTS][LINE_MAX_LEN];
static int nr_before;

static const char *p(const char *rel)
{
	static char bufs[4][PATH_MAX];
	static int n;
	char *b = bufs[n++ % 4];

	snprintf(b, PATH_MAX, "%.511s/%.200s", base, rel);
	return b;
}

static void mkdir_p(const char *rel)
{
	if (mkdir(p(rel), 0755) && errno != EEXIST)
		fail_errno("mkdir %s", p(rel));
}

static void write_file(const char *rel, const char *s)
{
	int fd = open(p(rel), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		fail_errno("create %s", p(rel));
	write_full(fd, s, strlen(s));
	close(fd);
}

static void do_mount(const char *src, const char *rel, const char *type, unsigned long flags, const char *data)
{
	if (mount(src, p(rel), type, flags, data))
		fail_errno("mount %s on %s (%s, %#lx, %s)", src ? src : "-", p(rel), type ? type : "-", flags,
			   data ? data : "-");
}

static void setup(void)
{
	char *buf = malloc(DATA_LEN + 8);
	struct timespec ts[2] = { { OWNED_MTIME, OWNED_MTIME_NS }, { OWNED_MTIME, OWNED_MTIME_NS } };
	int fd;

	if (!getcwd(base, sizeof(base) - 8))
		fail_errno("getcwd");
	strcat(base, "/m");
	if (mkdir(base, 0755))
		fail_errno("mkdir %s", base);
	for (const char *const *d = (const char *const[]){ "t", "b", "ro", "x", "sh", "sl", "peek", NULL }; *d; d++)
		mkdir_p(*d);
	write_file("f", "the file under the bind of f\n");

	do_mount("zdtm_t", "t", "tmpfs", 0, "size=2m,mode=751");
	mkdir_p("t/dir");
	mkdir_p("t/ov");
	write_file("t/dir/in_dir", "a file in t/dir\n");
	write_file("t/onefile", "the single file bound onto f\n");
	write_file("t/owned", "owned by someone else\n");
	if (chown(p("t/owned"), OWNED_UID, OWNED_GID) || chmod(p("t/owned"), OWNED_MODE) ||
	    utimensat(AT_FDCWD, p("t/owned"), ts, 0))
		fail_errno("chown/chmod/utimensat %s", p("t/owned"));
	write_file("t/ov/under", "hidden under the mount on t/ov\n");
#ifndef NS_MOUNTS_BASE
	under_fd = open(p("t/ov/under"), O_RDONLY);
	if (under_fd < 0)
		fail_errno("open t/ov/under");
#endif
	if (!buf)
		fail("malloc");
	pattern_fill(buf, DATA_LEN & ~7UL, DATA_SEED);
	data_fd = open(p("t/data"), O_RDWR | O_CREAT, 0640);
	if (data_fd < 0)
		fail_errno("create t/data");
	write_full(data_fd, buf, DATA_LEN & ~7UL);
	if (lseek(data_fd, DATA_OFF, SEEK_SET) != DATA_OFF)
		fail_errno("lseek");
	free(buf);
	do_mount("zdtm_ov", "t/ov", "tmpfs", 0, "size=64k");
	write_file("t/ov/over", "on the mount over t/ov\n");

	do_mount(p("t/dir"), "b", NULL, MS_BIND, NULL);
	do_mount(p("t/onefile"), "f", NULL, MS_BIND, NULL);
	do_mount(p("t/dir"), "ro", NULL, MS_BIND, NULL);
	do_mount(NULL, "ro", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
	do_mount("zdtm_x", "x", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k");
	do_mount("zdtm_sh", "sh", "tmpfs", 0, "size=64k");
	do_mount(NULL, "sh", NULL, MS_SHARED, NULL);
	write_file("sh/in_shared", "in the shared tmpfs\n");
	mkdir_p("sh/prop");
	do_mount(p("sh"), "sl", NULL, MS_BIND, NULL);
	do_mount(NULL, "sl", NULL, MS_SLAVE, NULL);
	fd = open(p("x/file"), O_WRONLY | O_CREAT, 0755);
	if (fd < 0)
		fail_errno("create x/file");
	close(fd);
}

/* ---- mountinfo, normalized ---------------------------------------------- */

/* Peer group numbers, renamed to their order of first appearance. */
struct groups {
	int ids[MAX_MOUNTS];
	int nr;
};

static int group_label(struct groups *g, int id)
{
	for (int i = 0; i < g->nr; i++)
		if (g->ids[i] == id)
			return i;
	if (g->nr == MAX_MOUNTS)
		fail("too many peer groups");
	g->ids[g->nr] = id;
	return g->nr++;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

/*
 * The mounts under base as "mountpoint root fstype opts prop=propagation super",
 * sorted; their peer groups as g0, g1, ... in mountinfo order. Their sources
 * apart, as "mountpoint src=source", in SRCS (may be NULL).
 */
static int mounts_read(char out[][LINE_MAX_LEN], char srcs[][LINE_MAX_LEN])
{
	char line[LINE_MAX_LEN * 2];
	struct groups g = { .nr = 0 };
	size_t blen = strlen(base);
	FILE *f = fopen("/proc/self/mountinfo", "r");
	int nr = 0;

	if (!f)
		fail_errno("/proc/self/mountinfo");
	while (fgets(line, sizeof(line), f)) {
		char root[PATH_MAX], mp[PATH_MAX], opts[256], prop[256] = "", type[64], src[128], super[256];
		char *s = line, *tok, *save;
		int field = 0, after_dash = 0;

		line[strcspn(line, "\n")] = 0;
		super[0] = 0;
		for (tok = strtok_r(s, " ", &save); tok; tok = strtok_r(NULL, " ", &save), field++) {
			int id;

			if (field == 3)
				snprintf(root, sizeof(root), "%s", tok);
			else if (field == 4)
				snprintf(mp, sizeof(mp), "%s", tok);
			else if (field == 5)
				snprintf(opts, sizeof(opts), "%s", tok);
			else if (field > 5 && !after_dash) {
				char one[32];

				if (!strcmp(tok, "-")) {
					after_dash = field;
					continue;
				}
				/* Only the test's own mounts number the groups: others come and go with the host's. */
				if (strncmp(mp, base, blen))
					continue;
				if (sscanf(tok, "shared:%d", &id) == 1)
					snprintf(one, sizeof(one), "shared:g%d", group_label(&g, id));
				else if (sscanf(tok, "master:%d", &id) == 1)
					snprintf(one, sizeof(one), "master:g%d", group_label(&g, id));
				else if (sscanf(tok, "propagate_from:%d", &id) == 1)
					snprintf(one, sizeof(one), "propagate_from:g%d", group_label(&g, id));
				else
					snprintf(one, sizeof(one), "%.30s", tok);
				if (strlen(prop) + strlen(one) + 2 < sizeof(prop)) {
					strcat(prop, prop[0] ? "," : "");
					strcat(prop, one);
				}
			} else if (after_dash && field == after_dash + 1)
				snprintf(type, sizeof(type), "%s", tok);
			else if (after_dash && field == after_dash + 2)
				snprintf(src, sizeof(src), "%s", tok);
			else if (after_dash && field == after_dash + 3)
				snprintf(super, sizeof(super), "%s", tok);
		}
		if (strncmp(mp, base, blen) || (mp[blen] && mp[blen] != '/'))
			continue;
		if (nr == MAX_MOUNTS)
			fail("too many mounts under %s", base);
		if (srcs)
			snprintf(srcs[nr], LINE_MAX_LEN, "m%.200s src=%.200s", mp + blen, src);
		snprintf(out[nr++], LINE_MAX_LEN, "m%.200s root=%.200s %.60s %.200s prop=%.100s %.150s", mp + blen,
			 root, type, opts, prop[0] ? prop : "private", super);
	}
	fclose(f);
	qsort(out, nr, LINE_MAX_LEN, cmp_str);
	if (srcs)
		qsort(srcs, nr, LINE_MAX_LEN, cmp_str);
	return nr;
}

/* The normalized line of mount point m/REL, or NULL. */
static const char *mount_of(char lines[][LINE_MAX_LEN], int nr, const char *rel)
{
	char pre[PATH_MAX];

	snprintf(pre, sizeof(pre), "m/%s root=", rel);
	for (int i = 0; i < nr; i++)
		if (!strncmp(lines[i], pre, strlen(pre)))
			return lines[i];
	return NULL;
}

static int has_opt(const char *line, const char *opt)
{
	char word[64];
	const char *o;

	/* The fourth field: the mount options. */
	o = strchr(line, ' ');
	o = o ? strchr(o + 1, ' ') : NULL;
	o = o ? strchr(o + 1, ' ') : NULL;
	if (!o)
		return 0;
	o++;
	snprintf(word, sizeof(word), "%s", opt);
	for (const char *q = o; (q = strstr(q, word)) && q < o + strcspn(o, " "); q += strlen(word))
		if ((q == o || q[-1] == ',') && (q[strlen(word)] == ',' || q[strlen(word)] == ' '))
			return 1;
	return 0;
}

static int prop_group(const char *line, const char *kind)
{
	const char *q = strstr(line, " prop=");
	char key[32];
	int g;

	if (!q)
		return -1;
	snprintf(key, sizeof(key), "%s:g", kind);
	q = strstr(q, key);
	if (!q || sscanf(q + strlen(key), "%d", &g) != 1)
		return -1;
	return g;
}

/* What the setup must have made: checked before and after. */
static int check_mount_table(char lines[][LINE_MAX_LEN], int nr, const char *when)
{
	static const char *const rels[] = { "t", "t/ov", "b", "f", "ro", "x", "sh", "sl" };
	const char *l;
	int bad = 0;

	for (size_t i = 0; i < sizeof(rels) / sizeof(rels[0]); i++)
		if (!mount_of(lines, nr, rels[i])) {
			test_msg("FAIL: %s: no mount on m/%s", when, rels[i]);
			bad++;
		}
	if (bad)
		return bad;
	if (!strstr(mount_of(lines, nr, "b"), " root=/dir tmpfs ") ||
	    !strstr(mount_of(lines, nr, "f"), " root=/onefile tmpfs ")) {
		test_msg("FAIL: %s: the binds are not of t/dir and t/onefile:\n%s\n%s", when, mount_of(lines, nr, "b"),
			 mount_of(lines, nr, "f"));
		bad++;
	}
	l = mount_of(lines, nr, "ro");
	if (!has_opt(l, "ro") || !strstr(l, " root=/dir tmpfs ")) {
		test_msg("FAIL: %s: m/ro is not a read-only bind of t/dir: %s", when, l);
		bad++;
	}
	if (!has_opt(mount_of(lines, nr, "b"), "rw")) {
		test_msg("FAIL: %s: m/b is not read-write: %s", when, mount_of(lines, nr, "b"));
		bad++;
	}
	l = mount_of(lines, nr, "x");
	if (!has_opt(l, "nosuid") || !has_opt(l, "nodev") || !has_opt(l, "noexec")) {
		test_msg("FAIL: %s: m/x is not nosuid,nodev,noexec: %s", when, l);
		bad++;
	}
	if (has_opt(mount_of(lines, nr, "t"), "noexec") || !strstr(mount_of(lines, nr, "t"), "mode=751")) {
		test_msg("FAIL: %s: m/t has other options than set: %s", when, mount_of(lines, nr, "t"));
		bad++;
	}
	{
		int sh = prop_group(mount_of(lines, nr, "sh"), "shared");
		int sl_master = prop_group(mount_of(lines, nr, "sl"), "master");
		int sl_shared = prop_group(mount_of(lines, nr, "sl"), "shared");

		if (sh < 0 || sl_master != sh || sl_shared >= 0) {
			test_msg("FAIL: %s: m/sl is not a slave of m/sh's peer group:\n%s\n%s", when,
				 mount_of(lines, nr, "sh"), mount_of(lines, nr, "sl"));
			bad++;
		}
		if (prop_group(mount_of(lines, nr, "t"), "shared") >= 0 ||
		    prop_group(mount_of(lines, nr, "b"), "shared") >= 0) {
			test_msg("FAIL: %s: m/t or m/b is shared:\n%s\n%s", when, mount_of(lines, nr, "t"),
				 mount_of(lines, nr, "b"));
			bad++;
		}
	}
	return bad;
}

/* ---- contents --------------------------------------------------------------- */

static int check_content(const char *rel, const char *want)
{
	char buf[256] = "";
	int fd = open(p(rel), O_RDONLY);
	ssize_t n;

	if (fd < 0) {
		test_msg("FAIL: open %s: %m", p(rel));
		return 1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	if (strcmp(buf, want)) {
		test_msg("FAIL: %s holds '%s', expected '%s'", p(rel), buf, want);
		return 1;
	}
	return 0;
}

static int check_contents(void)
{
	char *buf = malloc(DATA_LEN);
	struct stat st, fst;
	char ubuf[128] = "";
	int bad = 0, fd;
	long off;

	bad += check_content("t/dir/in_dir", "a file in t/dir\n");
	bad += check_content("b/in_dir", "a file in t/dir\n");
	bad += check_content("ro/in_dir", "a file in t/dir\n");
	bad += check_content("f", "the single file bound onto f\n");
	bad += check_content("t/ov/over", "on the mount over t/ov\n");
	bad += check_content("sh/in_shared", "in the shared tmpfs\n");
	bad += check_content("sl/in_shared", "in the shared tmpfs\n");
	if (!access(p("t/ov/under"), F_OK)) {
		test_msg("FAIL: t/ov/under is visible: the mount over t/ov is gone");
		bad++;
	}
	if (stat(p("t/owned"), &st)) {
		test_msg("FAIL: stat t/owned: %m");
		bad++;
	} else if ((st.st_mode & 07777) != OWNED_MODE || st.st_uid != OWNED_UID || st.st_gid != OWNED_GID ||
		   st.st_mtim.tv_sec != OWNED_MTIME || st.st_mtim.tv_nsec != OWNED_MTIME_NS) {
		test_msg("FAIL: t/owned: mode %#o, owner %u:%u, mtime %ld.%09ld; expected %#o, %u:%u, %d.%09d",
			 st.st_mode & 07777, st.st_uid, st.st_gid, (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
			 OWNED_MODE, OWNED_UID, OWNED_GID, OWNED_MTIME, OWNED_MTIME_NS);
		bad++;
	}
	/* A write through a bind shows in the tmpfs. */
	fd = open(p("b/written_after"), O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0) {
		test_msg("FAIL: creating b/written_after: %m");
		bad++;
	} else {
		write_full(fd, "through b\n", 10);
		close(fd);
		bad += check_content("t/dir/written_after", "through b\n");
	}
	/* The read-only bind refuses writes. */
	fd = open(p("ro/nope"), O_WRONLY | O_CREAT, 0644);
	if (fd >= 0 || errno != EROFS) {
		test_msg("FAIL: creating ro/nope: %s, expected EROFS", fd >= 0 ? "it worked" : strerror(errno));
		bad++;
		if (fd >= 0)
			close(fd);
	}

	/* The fd on t/data: its offset, its file, its contents. */
	off = lseek(data_fd, 0, SEEK_CUR);
	if (off != DATA_OFF) {
		test_msg("FAIL: the fd on t/data is at %ld, expected %d", off, DATA_OFF);
		bad++;
	}
	if (fstat(data_fd, &fst) || stat(p("t/data"), &st) || fst.st_ino != st.st_ino || fst.st_dev != st.st_dev) {
		test_msg("FAIL: the fd on t/data is not on the file t/data");
		bad++;
	}
	if (!buf || pread(data_fd, buf, DATA_LEN & ~7UL, 0) != (ssize_t)(DATA_LEN & ~7UL) ||
	    pattern_check(buf, DATA_LEN & ~7UL, DATA_SEED) >= 0) {
		test_msg("FAIL: t/data read through its fd does not hold the pattern");
		bad++;
	}
	free(buf);
#ifndef NS_MOUNTS_BASE
	if (pread(under_fd, ubuf, sizeof(ubuf) - 1, 0) < 0 || strcmp(ubuf, "hidden under the mount on t/ov\n")) {
		test_msg("FAIL: the fd on the hidden t/ov/under reads '%s'", ubuf);
		bad++;
	}
#endif
	/* The hidden file is in the tmpfs: a bind of t alone (not what is on it) shows it. */
	if (mount(p("t"), p("peek"), NULL, MS_BIND, NULL)) {
		test_msg("FAIL: bind of t on peek: %m");
		return bad + 1;
	}
	bad += check_content("peek/ov/under", "hidden under the mount on t/ov\n");
	umount2(p("peek"), MNT_DETACH);
	(void)ubuf;
	return bad;
}

/* After restore, the propagation between sh and sl still works, one way. */
static int check_propagation(void)
{
	char lines[MAX_MOUNTS][LINE_MAX_LEN];
	int bad = 0, nr;

	if (mount("zdtm_prop", p("sh/prop"), "tmpfs", 0, "size=16k")) {
		test_msg("FAIL: mount on sh/prop: %m");
		return 1;
	}
	nr = mounts_read(lines, NULL);
	if (!mount_of(lines, nr, "sl/prop")) {
		test_msg("FAIL: a mount on m/sh/prop does not propagate to m/sl/prop");
		bad++;
	}
	umount2(p("sh/prop"), MNT_DETACH);
	if (mount("zdtm_back", p("sl/prop"), "tmpfs", 0, "size=16k")) {
		test_msg("FAIL: mount on sl/prop: %m");
		return bad + 1;
	}
	nr = mounts_read(lines, NULL);
	if (mount_of(lines, nr, "sh/prop")) {
		test_msg("FAIL: a mount on the slave m/sl/prop propagates back to m/sh/prop");
		bad++;
	}
	umount2(p("sl/prop"), MNT_DETACH);
	return bad;
}

int main(int argc, char **argv)
{
	char after[MAX_MOUNTS][LINE_MAX_LEN], after_src[MAX_MOUNTS][LINE_MAX_LEN];
	int bad, nr_after;

	test_init(argc, argv);
	if (getpid() != 1)
		fail("not pid 1 of a pid namespace (pid %d): run in the ns flavor", getpid());
	setup();
	nr_before = mounts_read(before, before_src);
	for (int i = 0; i < nr_before; i++)
		test_msg("mount: %s", before[i]);
	if (check_mount_table(before, nr_before, "setup") || check_contents())
		fail("setup: the mounts are not as the test expects");
	unlink(p("t/dir/written_after"));

	test_ready();
	test_wait_checkpoint();

	nr_after = mounts_read(after, after_src);
	bad = check_mount_table(after, nr_after, "after restore");
	for (int i = 0, j = 0; i < nr_before || j < nr_after;) {
		int c = i == nr_before ? 1 : j == nr_after ? -1 : strcmp(before[i], after[j]);

		if (c < 0)
			test_msg("FAIL: mount gone or changed, before: %s", before[i++]);
		else if (c > 0)
			test_msg("FAIL: mount new or changed, after:  %s", after[j++]);
		else {
			i++;
			j++;
			continue;
		}
		bad++;
	}
#ifndef NS_MOUNTS_BASE
	for (int i = 0; i < nr_before && nr_after == nr_before; i++)
		if (strcmp(before_src[i], after_src[i])) {
			test_msg("FAIL: mount source changed: before %s, after %s", before_src[i], after_src[i]);
			bad++;
		}
#else
	(void)after_src;
#endif
	bad += check_contents();
	bad += check_propagation();
	if (bad)
		fail("%d mount check(s) failed", bad);
	pass();
}
