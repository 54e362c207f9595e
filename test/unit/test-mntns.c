/*
 * ns-mnt.c, mnt-*.c: a child in its own mount namespace builds a tree
 * (a tmpfs with files, binds of a directory and of a file, a read-only
 * bind, a shared mount and its slave, an over-mounted directory, devpts,
 * mqueue, proc, an external bind) under a tmpfs root it pivot_root()s
 * into; it is dumped, killed, and a second child in a fresh mount
 * namespace restores the tree under another root and checks it through
 * /proc/self/mountinfo and the files. Negative cases: an undeclared fuse
 * mount, a missing external key, a missing --root, a missing image.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "cr.h"
#include "files.h"
#include "image.h"
#include "log.h"
#include "mnt-priv.h"
#include "namespaces.h"
#include "unit.h"

int unit_register_mntns(void);

static char base[64];

static void pathf(char *buf, size_t sz, const char *name)
{
	snprintf(buf, sz, "%s/%s", base, name);
}

/* ---- helpers in children: a failed step exits with its line number ---- */

#define TRY(x) do { if ((x) < 0) _exit(__LINE__ % 200 + 1); } while (0)

static void put(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	TRY(fd);
	TRY(write(fd, content, strlen(content)));
	close(fd);
}

static bool has(const char *path, const char *content)
{
	char buf[256];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = 0;
	return !strcmp(buf, content);
}

static void bind(const char *from, const char *to)
{
	TRY(mount(from, to, NULL, MS_BIND, NULL));
}

/* Into a fresh mount namespace with a tmpfs root at @r, where @build adds mounts. */
static void enter_root(const char *r)
{
	TRY(unshare(CLONE_NEWNS));
	TRY(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	TRY(mount("rootfs", r, "tmpfs", 0, "size=4m"));
}

static void pivot_here(const char *r)
{
	TRY(chdir(r));
	TRY(syscall(SYS_pivot_root, ".", "."));
	TRY(umount2(".", MNT_DETACH));
	TRY(chdir("/"));
}

typedef void (*build_fn)(const char *r);

/* Forks a child that runs @build under root @r and pivots there; returns once it is set up. */
static pid_t spawn(build_fn fn, const char *r)
{
	int p[2];
	char c = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		enter_root(r);
		fn(r);
		pivot_here(r);
		c = 'k';
		TRY(write(p[1], &c, 1));
		for (;;)
			pause();
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1 || c != 'k') {
		int st;

		waitpid(pid, &st, 0);
		fprintf(stderr, "mntns: setup child failed: status %d\n", WEXITSTATUS(st));
		pid = -1;
	}
	close(p[0]);
	return pid;
}

static void reap(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* ---- the tree ------------------------------------------------------------- */

static void build_tree(const char *r)
{
	char p[256], q[256], hostdir[256];

	TRY(chdir(r));
	const char *dirs[] = { "t", "b", "ro", "sh", "sl", "proc", "pts", "mq", "ext", "ub", "rootdir", "rb" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		TRY(mkdir(dirs[i], 0755));
	put("bf", "");
	TRY(mount("none", "t", "tmpfs", 0, "size=1m,mode=751"));
	put("t/file", "hello\n");
	TRY(mkdir("t/sub", 0755));
	put("t/sub/inner", "inner");
	TRY(chown("t/sub/inner", 1234, 5678));
	TRY(chmod("t/sub/inner", 0640));
	TRY(symlink("file", "t/link"));
	TRY(mkfifo("t/fifo", 0600));
	TRY(link("t/file", "t/hard"));
	TRY(mkdir("t/ov", 0700));
	put("t/ov/below", "hidden");
	put("t/f2", "file bind");
	TRY(utimensat(AT_FDCWD, "t/sub", (struct timespec[2]){ { 1000000000, 5 }, { 1000000001, 7 } }, 0));
	TRY(mount("none", "ub", "tmpfs", 0, "size=64k"));
	TRY(mount(NULL, "ub", NULL, MS_UNBINDABLE, NULL));
	bind("rootdir", "rb");	/* a part of the root file system */
	bind("t/sub", "b");
	bind("t/f2", "bf");
	bind("t", "ro");
	TRY(mount(NULL, "ro", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID, NULL));
	TRY(mount("none", "sh", "tmpfs", 0, "size=64k"));
	TRY(mount(NULL, "sh", NULL, MS_SHARED, NULL));
	bind("sh", "sl");
	TRY(mount(NULL, "sl", NULL, MS_SLAVE, NULL));
	TRY(mount("none", "t/ov", "tmpfs", 0, "size=64k"));
	put("t/ov/top", "top");
	TRY(mount("devpts", "pts", "devpts", 0, "newinstance,ptmxmode=0666,mode=620"));
	TRY(mount("mqueue", "mq", "mqueue", MS_NOEXEC, NULL));
	TRY(mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV, NULL));
	pathf(hostdir, sizeof(hostdir), "hostdir");
	bind(hostdir, "ext");
	(void)p;
	(void)q;
}

static const char *dump_externals[] = { "mnt[/ext]:extkey" };

static int dump_to(pid_t pid, const char *dir, const char **ext, unsigned nr_ext)
{
	struct cr_options o = { .externals = ext, .nr_externals = nr_ext };
	_cleanup_close_ int dfd = -EBADF;
	struct files_dump *df = NULL;
	int err, r;

	if (mkdir(dir, 0700) < 0)
		return -errno;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	err = files_dump_begin(dfd, NULL, NULL, &df);
	if (!err)
		err = mntns_dump(&o, pid, df, dfd);
	r = df ? files_dump_finish(df) : 0;
	files_dump_free(df);
	return err ? err : r;
}

/* ---- checks in the restored namespace ------------------------------------ */

static int strcmp_p(const char **a, const char **b)
{
	return strcmp(*a ? *a : "", *b ? *b : "");
}

static struct mnt_info *mi;
static unsigned nr_mi;

static const struct mnt_info *find(const char *mp)
{
	const struct mnt_info *last = NULL;

	for (unsigned i = 0; i < nr_mi; i++)
		if (!strcmp(mi[i].mountpoint, mp))
			last = &mi[i];
	return last;	/* the top one */
}

static bool opt(const char *opts, const char *o)
{
	size_t n = strlen(o);

	for (const char *p = opts; (p = strstr(p, o)); p += n)
		if ((p == opts || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

/* 0 if everything is as dumped, else the number of the first failed check. */
static int check_tree(void)
{
	const struct mnt_info *t, *b, *bf, *ro, *sh, *sl, *ov, *pts, *mq, *pr, *ext;
	struct stat s1, s2;
	char buf[64];
	ssize_t n;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f || mnt_parse_mountinfo(f, "mountinfo", &mi, &nr_mi))
		return 1;
	fclose(f);
	t = find("/t");
	b = find("/b");
	bf = find("/bf");
	ro = find("/ro");
	sh = find("/sh");
	sl = find("/sl");
	ov = find("/t/ov");
	pts = find("/pts");
	mq = find("/mq");
	pr = find("/proc");
	ext = find("/ext");
	if (!t || !b || !bf || !ro || !sh || !sl || !ov || !pts || !mq || !pr || !ext)
		return 2;
	if (strcmp(t->fstype, "tmpfs") || !opt(t->super_opts, "mode=751") || !opt(t->super_opts, "size=1024k"))
		return 3;
	if (!has("/t/file", "hello\n") || !has("/t/sub/inner", "inner") || !has("/t/f2", "file bind"))
		return 4;
	n = readlink("/t/link", buf, sizeof(buf) - 1);
	if (n != 4 || strncmp(buf, "file", 4))
		return 5;
	if (stat("/t/file", &s1) || stat("/t/hard", &s2) || s1.st_ino != s2.st_ino || s1.st_nlink != 2)
		return 6;
	if (stat("/t/fifo", &s1) || !S_ISFIFO(s1.st_mode) || stat("/t/sub/inner", &s2) ||
	    s2.st_uid != 1234 || s2.st_gid != 5678 || (s2.st_mode & 07777) != 0640)
		return 7;
	if (stat("/t", &s1) || (s1.st_mode & 07777) != 0751)
		return 8;
	if (stat("/t/sub", &s1) || s1.st_mtim.tv_sec != 1000000001 || s1.st_mtim.tv_nsec != 7 ||
	    s1.st_atim.tv_sec != 1000000000)
		return 22;
	if (!find("/ub") || !find("/ub")->unbindable)
		return 23;
	/* its root inside the file system of --root */
	if (!find("/rb") || strcmp(find("/rb")->root + strlen(find("/rb")->root) - 16, "/newroot/rootdir") ||
	    !has("/rb/in-new-root", "root content"))
		return 24;
	if (strcmp(b->root, "/sub") || b->major != t->major || b->minor != t->minor || !has("/b/inner", "inner"))
		return 9;
	if (strcmp(bf->root, "/f2") || !has("/bf", "file bind"))
		return 10;
	if (!opt(ro->opts, "ro") || !opt(ro->opts, "nosuid") || !opt(t->opts, "rw") || opt(t->opts, "nosuid") ||
	    ro->major != t->major || ro->minor != t->minor)
		return 11;
	if (!sh->shared || sh->master || sl->master != sh->shared || sl->shared)
		return 12;
	if (strcmp(ov->fstype, "tmpfs") || !has("/t/ov/top", "top") || access("/t/ov/below", F_OK) == 0)
		return 13;
	if (strcmp(pts->fstype, "devpts") || !opt(pts->super_opts, "ptmxmode=666") ||
	    !opt(pts->super_opts, "mode=620"))
		return 14;
	if (strcmp(mq->fstype, "mqueue") || !opt(mq->opts, "noexec") || strcmp(pr->fstype, "proc") ||
	    !opt(pr->opts, "nosuid") || !opt(pr->opts, "nodev"))
		return 15;
	if (!has("/ext/ext2.txt", "restore side") || access("/ext/ext.txt", F_OK) == 0)
		return 16;
	/* the over-mounted directory kept what lay below */
	if (umount2("/t/ov", MNT_DETACH) || !has("/t/ov/below", "hidden"))
		return 17;
	/* propagation works: a mount on the shared one shows on its slave */
	if (mkdir("/sh/new", 0755) || mount("none", "/sh/new", "tmpfs", 0, NULL) ||
	    (f = fopen("/proc/self/mountinfo", "re"), mnt_info_free(mi, nr_mi), mnt_parse_mountinfo(f, "mi", &mi, &nr_mi)))
		return 18;
	fclose(f);
	if (!find("/sl/new"))
		return 19;
	/* ... and not the other way */
	if (mkdir("/sl/back", 0755) || mount("none", "/sl/back", "tmpfs", 0, NULL) || access("/sh/back", F_OK) ||
	    (f = fopen("/proc/self/mountinfo", "re"), mnt_info_free(mi, nr_mi), mnt_parse_mountinfo(f, "mi", &mi, &nr_mi)))
		return 20;
	fclose(f);
	if (find("/sh/back"))
		return 21;
	return 0;
}

static int restore_child(const char *dir, const struct cr_options *o, bool check)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		struct files_rst *rf = NULL;
		struct mntns_img *m = NULL;
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd < 0 || unshare(CLONE_NEWNS))
			_exit(100);
		if (files_rst_read(dfd, NULL, o, &rf) || mntns_read(o, dfd, &m))
			_exit(101);
		if (mntns_restore(m, rf, -1, NULL))
			_exit(102);
		if (mntns_restore_in_pidns(m))
			_exit(103);
		_exit(check ? check_tree() : 0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char *host_mounts(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	int c;

	while (f && m && (c = fgetc(f)) != EOF)
		fputc(c, m);
	if (m)
		fclose(m);
	return buf;
}

static void test_round_trip(void)
{
	char r[256], img[256], newroot[256], p[512], ext2[256];
	const char *ext[1];
	struct cr_options o = { 0 };
	_cleanup_free_ char *before = NULL, *after = NULL;
	pid_t pid;
	int ret;

	pathf(r, sizeof(r), "r");
	pathf(img, sizeof(img), "img");
	pathf(newroot, sizeof(newroot), "newroot");
	CU_ASSERT_FATAL(mkdir(r, 0755) == 0 && mkdir(newroot, 0755) == 0);
	pathf(p, sizeof(p), "hostdir");
	CU_ASSERT_FATAL(mkdir(p, 0755) == 0);
	pathf(p, sizeof(p), "hostdir/ext.txt");
	put(p, "dump side");
	pathf(p, sizeof(p), "hostdir2");
	CU_ASSERT_FATAL(mkdir(p, 0755) == 0);
	pathf(p, sizeof(p), "hostdir2/ext2.txt");
	put(p, "restore side");

	pathf(p, sizeof(p), "newroot/rootdir");
	CU_ASSERT_FATAL(mkdir(p, 0755) == 0);
	pathf(p, sizeof(p), "newroot/rootdir/in-new-root");
	put(p, "root content");

	pid = spawn(build_tree, r);
	CU_ASSERT_FATAL(pid > 0);
	ret = dump_to(pid, img, dump_externals, 1);
	reap(pid);
	CU_ASSERT_FATAL(ret == 0);

	before = host_mounts();
	/* the external's key not given: refused before anything is made */
	o.root = newroot;
	log_clear_last_error();
	ret = restore_child(img, &o, false);
	CU_ASSERT(ret == 101);
	{
		_cleanup_close_ int dfd = open(img, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct mntns_img *m = NULL;
		int saved = log_get_level();

		log_set_level(LOG_MSG);
		CU_ASSERT(mntns_read(&o, dfd, &m) == -ENOENT);
		CU_ASSERT(last_error_has("extkey") && last_error_has("/ext"));
		/* no --root, and the dumped root is not cr's */
		o.root = NULL;
		CU_ASSERT(mntns_read(&o, dfd, &m) == -EINVAL);
		CU_ASSERT(last_error_has("--root"));
		log_set_level(saved);
		CU_ASSERT(m == NULL);
	}
	after = host_mounts();
	CU_ASSERT(before && after && !strcmp(before, after));

	pathf(ext2, sizeof(ext2), "hostdir2");
	snprintf(p, sizeof(p), "mnt[extkey]:%s", ext2);
	ext[0] = p;
	o.root = newroot;
	o.externals = ext;
	o.nr_externals = 1;
	ret = restore_child(img, &o, true);
	CU_ASSERT_EQUAL(ret, 0);
	if (ret)
		fprintf(stderr, "mntns: restore child exited %d\n", ret);
	free(after);
	after = host_mounts();
	CU_ASSERT(before && after && !strcmp(before, after));

	/* a missing image */
	pathf(p, sizeof(p), "img/mountpoints.img");
	CU_ASSERT(unlink(p) == 0);
	{
		_cleanup_close_ int dfd = open(img, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct mntns_img *m = NULL;
		int saved = log_get_level();

		log_set_level(LOG_MSG);
		CU_ASSERT(mntns_read(&o, dfd, &m) == -ENOENT);
		log_set_level(saved);
	}
}

/* ---- a namespace on cr's own root (the ns flavor: no --root) -------------- */

static void build_host_copy(void)
{
	char p[256];

	pathf(p, sizeof(p), "hx");
	TRY(mount("none", p, "tmpfs", MS_NODEV, "size=64k,mode=700"));
	pathf(p, sizeof(p), "hx/marker");
	put(p, "on cr's root");
}

/* "mountpoint fstype root opts" of every mount, sorted, one per line. */
static char *mount_list(pid_t pid)
{
	char p[64], *buf = NULL;
	size_t len = 0;
	struct mnt_info *l = NULL;
	unsigned nr = 0;
	FILE *f, *m;
	char **lines;

	snprintf(p, sizeof(p), "/proc/%d/mountinfo", pid);
	f = fopen(p, "re");
	if (!f || mnt_parse_mountinfo(f, p, &l, &nr)) {
		if (f)
			fclose(f);
		return NULL;
	}
	fclose(f);
	lines = calloc(nr, sizeof(*lines));
	for (unsigned i = 0; lines && i < nr; i++)
		if (asprintf(&lines[i], "%s %s %s %s", l[i].mountpoint, l[i].fstype, l[i].root, l[i].opts) < 0)
			lines[i] = NULL;
	qsort(lines, nr, sizeof(*lines), (int (*)(const void *, const void *))strcmp_p);
	m = open_memstream(&buf, &len);
	for (unsigned i = 0; lines && m && i < nr; i++)
		fprintf(m, "%s\n", lines[i] ? lines[i] : "?");
	if (m)
		fclose(m);
	for (unsigned i = 0; lines && i < nr; i++)
		free(lines[i]);
	free(lines);
	mnt_info_free(l, nr);
	return buf;
}

static void test_on_crs_root(void)
{
	_cleanup_free_ char *dumped = NULL;
	char img[256], p[PATH_MAX], shared[200];
	struct cr_options o = { 0 };
	int sync[2], ret, st;
	pid_t pid, rpid;
	char c;

	pathf(p, sizeof(p), "hx");
	pathf(img, sizeof(img), "img-host");
	CU_ASSERT_FATAL(mkdir(p, 0755) == 0 && pipe(sync) == 0);
	/* A tmpfs of cr's own namespace, which the tree inherits: it is bound again, not copied. */
	pathf(shared, sizeof(shared), "hs");
	CU_ASSERT_FATAL(mkdir(shared, 0755) == 0 && mount("none", shared, "tmpfs", 0, "size=64k") == 0);
	pid = fork();
	if (pid == 0) {
		close(sync[0]);
		TRY(unshare(CLONE_NEWNS));
		TRY(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
		build_host_copy();
		TRY(write(sync[1], "k", 1));
		for (;;)
			pause();
	}
	close(sync[1]);
	CU_ASSERT_FATAL(read(sync[0], &c, 1) == 1);
	close(sync[0]);
	dumped = mount_list(pid);
	ret = dump_to(pid, img, NULL, 0);
	reap(pid);
	if (ret || !dumped)
		umount2(shared, MNT_DETACH);
	CU_ASSERT_FATAL(ret == 0 && dumped);
	snprintf(p, sizeof(p), "%s/later", shared);
	put(p, "written after the dump");

	/* restored without --root: cr's root is the dumped one; the same mounts come back */
	CU_ASSERT_FATAL(pipe(sync) == 0);
	rpid = fork();
	if (rpid == 0) {
		struct files_rst *rf = NULL;
		struct mntns_img *m = NULL;
		int dfd = open(img, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		close(sync[0]);
		if (dfd < 0 || unshare(CLONE_NEWNS) || files_rst_read(dfd, NULL, &o, &rf) ||
		    mntns_read(&o, dfd, &m) || mntns_restore(m, rf, -1, NULL) || mntns_restore_in_pidns(m))
			_exit(100);
		pathf(p, sizeof(p), "hx/marker");
		TRY(write(sync[1], has(p, "on cr's root") ? "k" : "m", 1));
		for (;;)
			pause();
	}
	close(sync[1]);
	ret = read(sync[0], &c, 1);
	close(sync[0]);
	CU_ASSERT(ret == 1 && c == 'k');
	if (ret == 1) {
		_cleanup_free_ char *restored = mount_list(rpid);

		CU_ASSERT(restored && !strcmp(dumped, restored));
		if (restored && strcmp(dumped, restored))
			fprintf(stderr, "dumped:\n%s\nrestored:\n%s", dumped, restored);
		/* the restored tree sees cr's tmpfs itself: a file made there after the dump */
		snprintf(p, sizeof(p), "/proc/%d/root%s/later", rpid, shared);
		CU_ASSERT(has(p, "written after the dump"));
	}
	kill(rpid, SIGKILL);
	waitpid(rpid, &st, 0);
	CU_ASSERT(umount2(shared, MNT_DETACH) == 0);
}

/* Records cr never writes are refused: a path out of the tmpfs, a parent after its child, a flipped byte. */
static void test_bad_records(void)
{
	char dir[256], p[300];
	struct cr_options o = { .root = "/" };
	int saved = log_get_level();

	pathf(dir, sizeof(dir), "img-bad");
	CU_ASSERT_FATAL(mkdir(dir, 0700) == 0);
	for (int variant = 0; variant < 3; variant++) {
		_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct img *img = NULL;
		MntnsHead head = MNTNS_HEAD__INIT;
		MountEntry root = MOUNT_ENTRY__INIT, t = MOUNT_ENTRY__INIT;
		MntFile f0 = MNT_FILE__INIT, f1 = MNT_FILE__INIT, *files[2] = { &f0, &f1 };
		struct mntns_img *m = NULL;
		int ret;

		img_dump_id_forget();
		CU_ASSERT_FATAL(img_dump_id_new() == 0);
		head.nr_mounts = 2;
		root.mnt_id = 1;
		root.parent_id = 1;
		root.kind = MNT_KIND_ROOT;
		root.mountpoint = root.root = root.fstype = "/";
		t.mnt_id = 2;
		t.parent_id = variant == 1 ? 3 : 1;
		t.kind = MNT_KIND_TMPFS;
		t.mountpoint = "/t";
		t.root = "/";
		t.fstype = "tmpfs";
		t.fs_options = "";
		t.is_dir = root.is_dir = true;
		f0.path = "";
		f0.mode = S_IFDIR | 0755;
		f1.path = variant == 0 ? "a/../../etc" : "a";
		f1.mode = S_IFDIR | 0755;
		t.files = files;
		t.n_files = 2;
		CU_ASSERT_FATAL(img_open(dfd, IMG_MNTNS, 0, O_WRONLY, &img) == 0);
		CU_ASSERT(pb_write_one(img, &head, PB_MNTNS_HEAD) == 0);
		CU_ASSERT(pb_write_one(img, &root, PB_MOUNT) == 0);
		CU_ASSERT(pb_write_one(img, &t, PB_MOUNT) == 0);
		CU_ASSERT(img_close(img) == 0);
		if (variant == 2) {
			int fd;
			char c;

			snprintf(p, sizeof(p), "%s/mountpoints.img", dir);
			fd = open(p, O_RDWR);
			CU_ASSERT_FATAL(fd >= 0);
			CU_ASSERT(pread(fd, &c, 1, 50) == 1);
			c ^= 0x40;
			CU_ASSERT(pwrite(fd, &c, 1, 50) == 1);
			close(fd);
		}
		img_dump_id_forget();
		log_set_level(LOG_MSG);
		ret = mntns_read(&o, dfd, &m);
		log_set_level(saved);
		CU_ASSERT(ret == -EBADMSG);
		CU_ASSERT(m == NULL);
		if (variant < 2)
			CU_ASSERT(last_error_has("mountpoints.img") && last_error_has("/t"));
	}
	img_dump_id_forget();
}

static void build_fuse(const char *r)
{
	char opts[128], p[256];
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);

	TRY(fd);
	snprintf(p, sizeof(p), "%s/fz", r);
	TRY(mkdir(p, 0755));
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0", fd);
	TRY(mount("fakefuse", p, "fuse", 0, opts));
}

static void test_refuse_fuse(void)
{
	char r[256], img[256];
	int saved = log_get_level();
	pid_t pid;
	int ret;

	pathf(r, sizeof(r), "rf");
	pathf(img, sizeof(img), "img-fuse");
	CU_ASSERT_FATAL(mkdir(r, 0755) == 0);
	pid = spawn(build_fuse, r);
	CU_ASSERT_FATAL(pid > 0);
	log_set_level(LOG_MSG);
	log_clear_last_error();
	ret = dump_to(pid, img, NULL, 0);
	log_set_level(saved);
	reap(pid);
	CU_ASSERT(ret == -ENOTSUP);
	CU_ASSERT(last_error_has("/fz") && last_error_has("fuse") && last_error_has("--external"));
}

static void test_parse(void)
{
	static const char text[] =
		"27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n"
		"40 27 0:37 /a\\040b /mnt/x\\011y ro,nosuid,noatime shared:3 master:7 - tmpfs none rw,size=4k\n"
		"41 40 0:38 / /u rw unbindable - proc proc rw\n";
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");
	struct mnt_info *m = NULL;
	unsigned nr = 0;

	CU_ASSERT_FATAL(f && mnt_parse_mountinfo(f, "text", &m, &nr) == 0);
	fclose(f);
	CU_ASSERT_FATAL(nr == 3);
	CU_ASSERT(m[1].id == 40 && m[1].parent_id == 27 && m[1].major == 0 && m[1].minor == 37);
	CU_ASSERT_STRING_EQUAL(m[1].root, "/a b");
	CU_ASSERT_STRING_EQUAL(m[1].mountpoint, "/mnt/x\ty");
	CU_ASSERT(m[1].shared == 3 && m[1].master == 7 && !m[1].unbindable);
	CU_ASSERT(mnt_attrs_parse(m[1].opts) == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME));
	CU_ASSERT_STRING_EQUAL(m[1].super_opts, "rw,size=4k");
	CU_ASSERT(m[2].unbindable && !m[2].shared);
	mnt_info_free(m, nr);
}

static int suite_init(void)
{
	strcpy(base, "/tmp/cr-mntns-XXXXXX");
	return mkdtemp(base) ? 0 : -1;
}

static int suite_clean(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) ? -1 : 0;
}

int unit_register_mntns(void)
{
	CU_pSuite s = CU_add_suite("mntns", suite_init, suite_clean);

	if (!s ||
	    !CU_add_test(s, "mountinfo parser", test_parse) ||
	    !CU_add_test(s, "dump+restore of a mount tree", test_round_trip) ||
	    !CU_add_test(s, "a namespace on cr's root, restored without --root", test_on_crs_root) ||
	    !CU_add_test(s, "refuse an undeclared fuse mount", test_refuse_fuse) ||
	    !CU_add_test(s, "refuse records cr never writes", test_bad_records))
		return CU_get_error();
	return 0;
}
