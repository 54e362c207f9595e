/*
 * fuzz-images: mutates the images of a good dump, one case at a time, and
 * checks that `cr restore` either refuses each mutation cleanly or
 * restores the tree exactly.
 *
 * usage: fuzz-images -c CR -e EXE -w TESTDIR -p PID[,PID...] [-r PIDS]
 *                    [-s SEED] [-x OTHER] [-b BITS] [-u CUTS] [-l LABEL]
 *                    [-k KEYFILE] [-v] DUMP
 *
 * DUMP is a good dump of the test program EXE that runs in TESTDIR (its
 * cwd; its outfile is TESTDIR/test.out), the PIDs are its tree's, the
 * root first; -r names other pids to keep free (another fuzzer's tree).
 * OTHER is another dump of the same tree (the same file names, another
 * dump id). With -k, both are signed with KEYFILE and every restore
 * gets --key-file KEYFILE. Every case is a fresh copy of DUMP (hard links but for the
 * changed files) in DUMP.fuzz/:
 *   bit FILE OFF.BIT   one bit flipped, at BITS offsets of every file: the
 *                      header's fields, each record's length and checksum,
 *                      the end marker, and random ones
 *   cut FILE OFF       the file cut at every record boundary and at CUTS
 *                      random offsets (and to nothing)
 *   grow FILE N        N bytes added at its end (a second end marker, or
 *                      one byte)
 *   swap A B           the core, mm, pagemap or fdinfo images of two tasks
 *                      swapped (a few pairs of each kind)
 *   foreign FILE       FILE taken from OTHER
 * The good dump itself is restored first and last ("pristine"): it must
 * restore exactly. Before each restore, `cr show CASE` and `cr show
 * --pages CASE` must end by themselves with exit status 0 or 1 (0 for the
 * good dump): no crash, no hang, whatever the images hold.
 * `cr restore -D CASE -d --pidfile CASE/restore.pid` must then either
 *   - fail: exit status 1, exactly one line on stderr that names a changed
 *     file, no process of the tree left, nothing created in CASE or
 *     TESTDIR; or
 *   - restore: the root's pid in the pid file, and after SIGTERM the test
 *     passes its own verification (a new last line PASS in test.out).
 * Prints "FAIL <label> <case>: reason" (with cr's stderr) for each case
 * that did neither (-v: "ok <label> <case>: <cr's error>" for the others
 * too), then "fuzz-images <label>: N cases, N passed, N failed
 * (seed S, T s)". Exit status 1 if any case failed. Random choices come
 * from SEED, so a run is repeated exactly.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "image.h"

#define MAX_PIDS	64
#define MAX_FILES	256
#define MAX_CHANGES	2
#define CR_TIMEOUT_MS	20000
#define GONE_TIMEOUT_MS	5000		/* a refused restore's tree */
#define TEST_TIMEOUT_MS	30000		/* a restored test's verification */
#define KEEP_FAILED	5		/* case directories kept for a look */
#define SWAP_PAIRS	3		/* per kind of per-task image */

struct file {
	char name[64];
	unsigned char *data;
	size_t len;
	bool raw;
	size_t bounds[4096];		/* record boundaries, see file_parse() */
	unsigned nr_bounds;
};

struct dump {
	char dir[4096];
	struct file *files;
	unsigned nr;
};

/* One file of a case: @name gets @data instead of the good bytes. */
struct change {
	const char *name;
	const unsigned char *data;
	size_t len;
};

static struct {
	const char *cr, *testdir, *label;
	const char *key;		/* -k: restores with --key-file */
	char exe[4096], cr_exe[4096];	/* the test's program, cr: real paths */
	pid_t pid_lo, pid_hi;		/* the lowest and highest pids kept free */
	long pid_max;
	char base[4200];		/* where case directories go */
	pid_t pids[MAX_PIDS];
	unsigned nr_pids;
	struct dump good, other;
	uint64_t rng;
	unsigned nr_cases, nr_failed, nr_kept, nr_restored;
	bool verbose;			/* -v: a line for every case */
	char *listing;			/* TESTDIR's names, before any case */
	char *case_listing;		/* a case directory's: DUMP's */
} fz;

/* ---- small helpers --------------------------------------------------------- */

static __attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz-images: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* xorshift64*: the same seed gives the same cases. */
static uint64_t rnd(void)
{
	fz.rng ^= fz.rng >> 12;
	fz.rng ^= fz.rng << 25;
	fz.rng ^= fz.rng >> 27;
	return fz.rng * 0x2545F4914F6CDD1DULL;
}

static size_t rnd_below(size_t n)
{
	return n ? rnd() % n : 0;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

static unsigned char *read_whole(int dfd, const char *name, size_t *len)
{
	struct stat st;
	unsigned char *b;
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0)
		die("%s: %s", name, strerror(errno));
	b = malloc(st.st_size + 1);
	if (!b || pread(fd, b, st.st_size, 0) != st.st_size)
		die("%s: cannot read", name);
	close(fd);
	b[st.st_size] = 0;	/* text files are read as strings */
	*len = st.st_size;
	return b;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names in @dir, one per line, two levels deep; malloc'ed. */
static char *list_dir(const char *dir, int depth)
{
	char *names[1024], *out;
	size_t n = 0, len = 1;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return strdup("<gone>\n");
	while ((de = readdir(d)) && n < 1024) {
		char path[8192];
		struct stat st;
		char *sub = NULL;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		/* The cases themselves are not the test's. */
		if (!strcmp(path, fz.base))
			continue;
		if (depth > 1 && !lstat(path, &st) && S_ISDIR(st.st_mode))
			sub = list_dir(path, depth - 1);
		if (asprintf(&names[n], "%s/\n%s", de->d_name, sub ? sub : "") < 0)
			die("out of memory");
		free(sub);
		len += strlen(names[n++]);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	out = calloc(1, len);
	if (!out)
		die("out of memory");
	for (size_t i = 0; i < n; i++) {
		strcat(out, names[i]);
		free(names[i]);
	}
	return out;
}

static void rm_case(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	rmdir(dir);
}

/* ---- the dumps ------------------------------------------------------------- */

/*
 * Record boundaries as the format has them (image.h): a message image's
 * are the end of its header, the end of every record and so the start of
 * its end marker; a raw image's the end of its padded header and the
 * start of its end marker. A file too damaged to walk has fewer.
 */
static void file_parse(struct file *f)
{
	size_t pos = IMG_HDR_SIZE;

	f->raw = !strncmp(f->name, "pages-", 6) || !strcmp(f->name, "fdata.img");
	f->nr_bounds = 0;
	if (f->raw) {
		f->bounds[f->nr_bounds++] = IMG_PAGES_DATA_OFF;
		f->bounds[f->nr_bounds++] = f->len - IMG_TRAILER_SIZE;
		return;
	}
	while (pos + 4 <= f->len && f->nr_bounds < sizeof(f->bounds) / sizeof(f->bounds[0])) {
		uint32_t len = le32(f->data + pos);

		f->bounds[f->nr_bounds++] = pos;
		if (len == IMG_END_MARK)
			break;
		pos += IMG_REC_HDR_SIZE + (size_t)len;
	}
}

static void dump_load(struct dump *d, const char *dir)
{
	struct dirent *de;
	DIR *dd = opendir(dir);

	if (!dd)
		die("%s: %s", dir, strerror(errno));
	snprintf(d->dir, sizeof(d->dir), "%s", dir);
	d->files = calloc(MAX_FILES, sizeof(*d->files));
	if (!d->files)
		die("out of memory");
	while ((de = readdir(dd))) {
		size_t n = strlen(de->d_name);
		struct file *f;

		if (n < 5 || strcmp(de->d_name + n - 4, ".img"))
			continue;
		if (d->nr == MAX_FILES)
			die("%s: more than %d images", dir, MAX_FILES);
		f = &d->files[d->nr++];
		snprintf(f->name, sizeof(f->name), "%s", de->d_name);
		f->data = read_whole(dirfd(dd), f->name, &f->len);
		file_parse(f);
	}
	closedir(dd);
}

static int cmp_files(const void *a, const void *b)
{
	return strcmp(((const struct file *)a)->name, ((const struct file *)b)->name);
}

/* What list_dir() says of a case directory before cr runs: @d's images. */
static char *case_listing(struct dump *d)
{
	char *out = calloc(d->nr, sizeof(d->files[0].name) + 2);

	if (!out)
		die("out of memory");
	qsort(d->files, d->nr, sizeof(*d->files), cmp_files);
	for (unsigned i = 0; i < d->nr; i++) {
		strcat(out, d->files[i].name);
		strcat(out, "/\n");
	}
	return out;
}

static const struct file *dump_find(const struct dump *d, const char *name)
{
	for (unsigned i = 0; i < d->nr; i++)
		if (!strcmp(d->files[i].name, name))
			return &d->files[i];
	return NULL;
}

/* ---- running cr ------------------------------------------------------------ */

/*
 * Is @pid still a process of the tree: the test's program, or cr (a task
 * of a restore is cr until its restorer maps the program)? Zombies of
 * ours are reaped first; a pid someone else has now is not the tree's.
 */
static bool tree_pid_alive(pid_t pid)
{
	char path[64], exe[4096];
	ssize_t n;

	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n < 0)
		return false;
	exe[n] = 0;
	return !strcmp(exe, fz.exe) || !strcmp(exe, fz.cr_exe);
}

/*
 * pid_max is small on these machines (32768) and thousands of restores go
 * round it: a pid of the tree, free between cases, could go to cr itself
 * or to any new process, and the next restore would find it taken. So
 * before each case new pids are steered past the tree's: the kernel hands
 * out the next free pid after ns_last_pid, which root may set.
 */
#define STEER_MARGIN	2000

static void steer_pids(void)
{
	FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "r+");
	long last, ahead;

	if (!f)
		return;
	if (fscanf(f, "%ld", &last) == 1) {
		/* How many new pids until the tree's lowest, going round pid_max. */
		ahead = (fz.pid_lo - last + fz.pid_max) % fz.pid_max;
		if (ahead < STEER_MARGIN || (last >= fz.pid_lo && last <= fz.pid_hi)) {
			rewind(f);
			fprintf(f, "%d", fz.pid_hi);
		}
	}
	fclose(f);
}

/* Waits until no pid of the tree exists; returns the first left, or 0. */
static pid_t wait_tree_gone(long timeout_ms)
{
	long end = now_ms() + timeout_ms;

	for (;;) {
		pid_t left = 0;

		for (unsigned i = 0; i < fz.nr_pids && !left; i++)
			if (tree_pid_alive(fz.pids[i]))
				left = fz.pids[i];
		if (!left || now_ms() > end)
			return left;
		sleep_ms(5);
	}
}

static void kill_tree(void)
{
	for (unsigned i = 0; i < fz.nr_pids; i++)
		kill(fz.pids[i], SIGKILL);
	wait_tree_gone(GONE_TIMEOUT_MS);
}

/*
 * Runs cr with @args (after argv[0]), stdout to /dev/null and stderr
 * into a memfd; returns the wait status (-1: killed after the timeout)
 * and the stderr text in *ret_err (malloc'ed).
 */
static int run_cr(char *const args[], char **ret_err)
{
	int efd = memfd_create("cr-stderr", MFD_CLOEXEC), status = -1;
	long end = now_ms() + CR_TIMEOUT_MS;
	off_t len;
	pid_t pid;

	if (efd < 0)
		die("memfd_create: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		dup2(efd, 2);
		execv(fz.cr, args);
		_exit(127);
	}
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			status = -1;
			break;
		}
		sleep_ms(1);
	}
	len = lseek(efd, 0, SEEK_END);
	*ret_err = calloc(1, len + 1);
	if (!*ret_err || pread(efd, *ret_err, len, 0) != len)
		die("reading cr's stderr");
	close(efd);
	return status;
}

/* `cr restore -D @dir -d --pidfile @pidfile`, as run_cr(). */
static int run_restore(const char *dir, const char *pidfile, char **ret_err)
{
	char *const args[] = { "cr", "restore", "-D", (char *)dir, "-d", "--pidfile", (char *)pidfile,
			       fz.key ? "--key-file" : NULL, (char *)fz.key, NULL };

	return run_cr(args, ret_err);
}

/*
 * `cr show` of the case, whole and --pages, before its restore: whatever
 * the images hold, it ends by itself with exit status 0 or 1 (0 for the
 * good dump), never a crash or a hang. 0, or -1 with the reason in @why.
 */
static int check_show(const char *dir, bool pristine, char *why, size_t size)
{
	char *const whole[] = { "cr", "show", (char *)dir, fz.key ? "--key-file" : NULL, (char *)fz.key, NULL };
	char *const pages[] = { "cr", "show", "--pages", (char *)dir, fz.key ? "--key-file" : NULL, (char *)fz.key,
				NULL };
	char *const *runs[] = { whole, pages };

	for (unsigned i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		char *err = NULL;
		int status = run_cr(runs[i], &err);
		bool ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) <= (pristine ? 0 : 1);

		if (!ok)
			snprintf(why, size, "cr show%s %s, not exit status %s: %.120s", i ? " --pages" : "",
				 status == -1 ? "did not end in time" : "ended with another status",
				 pristine ? "0" : "0 or 1", err ? err : "");
		free(err);
		if (!ok)
			return -1;
	}
	return 0;
}

static size_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (size_t)st.st_size;
}

static bool last_line_is_pass(const char *path)
{
	size_t len;
	int dfd = open(fz.testdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	unsigned char *b = read_whole(dfd, path, &len);
	bool ok;

	close(dfd);
	while (len && b[len - 1] == '\n')
		len--;
	ok = len >= 4 && !memcmp(b + len - 4, "PASS", 4) && (len == 4 || b[len - 5] == '\n');
	free(b);
	return ok;
}

/* What a restored test wrote to its outfile, for a failure report. */
static void print_outfile_tail(size_t from)
{
	size_t len;
	int dfd = open(fz.testdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	unsigned char *b = read_whole(dfd, "test.out", &len);

	close(dfd);
	printf("  --- test.out after the restore:\n");
	for (char *l = strtok((char *)b + (from < len ? from : len), "\n"); l; l = strtok(NULL, "\n"))
		printf("  | %s\n", l);
	free(b);
}

/* A restore that went ahead must have brought the tree back exactly. */
static int check_restored(const char *pidfile, size_t out_before, char *why, size_t size)
{
	char buf[32] = "";
	FILE *f = fopen(pidfile, "r");
	pid_t left;

	fz.nr_restored++;
	if (!f || !fgets(buf, sizeof(buf), f) || atoi(buf) != fz.pids[0]) {
		snprintf(why, size, "restored, but the pid file says '%s', not %d", buf, fz.pids[0]);
		if (f)
			fclose(f);
		kill_tree();
		return -1;
	}
	fclose(f);
	kill(fz.pids[0], SIGTERM);
	left = wait_tree_gone(TEST_TIMEOUT_MS);
	if (left) {
		snprintf(why, size, "restored, but pid %d is still there after SIGTERM", left);
		kill_tree();
		return -1;
	}
	if (file_size("test.out") <= out_before || !last_line_is_pass("test.out")) {
		snprintf(why, size, "restored, but the test did not pass its verification");
		return -1;
	}
	return 0;
}

/* A refusal: status 1, one line naming a changed file, nothing left or made. */
static int check_refused(int status, const char *err, const char *dir, const char *pidfile,
			 const struct change *ch, unsigned nr, char *why, size_t size)
{
	const char *nl = strchr(err, '\n');
	bool named = false;
	char *listing;
	pid_t left;

	if (status == -1) {
		snprintf(why, size, "cr restore did not end within %d ms", CR_TIMEOUT_MS);
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 1) {
		snprintf(why, size, "cr restore ended with status 0x%x, not exit status 1", status);
		return -1;
	}
	if (!nl || nl[1] || nl == err) {
		snprintf(why, size, "cr printed %s on stderr, not one line", nl ? "several lines" : "no line");
		return -1;
	}
	for (unsigned i = 0; i < nr; i++)
		named |= strstr(err, ch[i].name) != NULL;
	if (!nr) {
		snprintf(why, size, "the good dump was refused");
		return -1;
	}
	if (!named) {
		snprintf(why, size, "the error does not name %s%s%s", ch[0].name, nr > 1 ? " or " : "",
			 nr > 1 ? ch[1].name : "");
		return -1;
	}
	left = wait_tree_gone(GONE_TIMEOUT_MS);
	if (left) {
		snprintf(why, size, "pid %d of the tree exists after the refused restore", left);
		kill_tree();
		return -1;
	}
	if (!access(pidfile, F_OK)) {
		snprintf(why, size, "the refused restore wrote its pid file");
		return -1;
	}
	listing = list_dir(dir, 1);
	if (strcmp(listing, fz.case_listing)) {
		snprintf(why, size, "the refused restore changed the case directory");
		free(listing);
		return -1;
	}
	free(listing);
	listing = list_dir(fz.testdir, 2);
	if (strcmp(listing, fz.listing)) {
		snprintf(why, size, "the refused restore changed the test's directory %s", fz.testdir);
		free(listing);
		return -1;
	}
	free(listing);
	return 0;
}

/*
 * One case: DUMP with the files of @ch changed, restored. Returns 0 if
 * it was refused cleanly or restored exactly; prints a FAIL line if not.
 */
static void run_case(const char *what, const struct change *ch, unsigned nr)
{
	char dir[4300], pidfile[4400], why[256] = "";
	int gfd, cfd, status, ret;
	size_t out_before;
	char *err = NULL;

	fz.nr_cases++;
	snprintf(dir, sizeof(dir), "%s/caseXXXXXX", fz.base);
	if (!mkdtemp(dir))
		die("mkdtemp %s: %s", dir, strerror(errno));
	gfd = open(fz.good.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (gfd < 0 || cfd < 0)
		die("%s: %s", dir, strerror(errno));
	for (unsigned i = 0; i < fz.good.nr; i++) {
		const char *name = fz.good.files[i].name;
		const struct change *c = NULL;

		for (unsigned k = 0; k < nr; k++)
			if (!strcmp(ch[k].name, name))
				c = &ch[k];
		if (!c) {
			if (linkat(gfd, name, cfd, name, 0))
				die("link %s: %s", name, strerror(errno));
			continue;
		}
		int fd = openat(cfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

		if (fd < 0 || write(fd, c->data, c->len) != (ssize_t)c->len)
			die("writing %s/%s: %s", dir, name, strerror(errno));
		close(fd);
	}
	close(gfd);
	close(cfd);

	snprintf(pidfile, sizeof(pidfile), "%s/restore.pid", dir);
	out_before = file_size("test.out");
	steer_pids();
	if (check_show(dir, !nr, why, sizeof(why))) {
		/* Reported as the case's failure; the restore is not tried. */
		status = 1;
		ret = -1;
		err = strdup("");
	} else if ((status = run_restore(dir, pidfile, &err)) == 0) {
		ret = check_restored(pidfile, out_before, why, sizeof(why));
		/*
		 * The outfile as it was dumped (a restored test only adds to
		 * it): later restores refuse an open file whose size changed.
		 */
		if (truncate("test.out", out_before))
			die("truncating test.out: %s", strerror(errno));
	} else
		ret = check_refused(status, err, dir, pidfile, ch, nr, why, sizeof(why));
	if (ret) {
		fz.nr_failed++;
		printf("FAIL %s %s: %s\n", fz.label, what, why);
		for (char *l = strtok(err, "\n"); l; l = strtok(NULL, "\n"))
			printf("  | %s\n", l);
		if (status == 0)
			print_outfile_tail(out_before);
		if (fz.nr_kept++ < KEEP_FAILED)
			printf("  --- case directory kept: %s\n", dir);
		else
			rm_case(dir);
		fflush(stdout);
	} else {
		if (fz.verbose)
			printf("ok %s %s: %s", fz.label, what, status ? err : "restored\n");
		rm_case(dir);
	}
	free(err);
}

/* ---- the cases ------------------------------------------------------------- */

static void case_bit(const struct file *f, size_t off, unsigned bit)
{
	unsigned char *b = malloc(f->len);
	struct change c = { f->name, b, f->len };
	char what[128];

	if (!b)
		die("out of memory");
	memcpy(b, f->data, f->len);
	b[off] ^= 1u << bit;
	snprintf(what, sizeof(what), "bit %s %zu.%u", f->name, off, bit);
	run_case(what, &c, 1);
	free(b);
}

static void case_cut(const struct file *f, size_t at)
{
	struct change c = { f->name, f->data, at };
	char what[128];

	snprintf(what, sizeof(what), "cut %s %zu", f->name, at);
	run_case(what, &c, 1);
}

static void case_grow(const struct file *f, const unsigned char *tail, size_t n)
{
	unsigned char *b = malloc(f->len + n);
	struct change c = { f->name, b, f->len + n };
	char what[128];

	if (!b)
		die("out of memory");
	memcpy(b, f->data, f->len);
	memcpy(b + f->len, tail, n);
	snprintf(what, sizeof(what), "grow %s %zu", f->name, n);
	run_case(what, &c, 1);
	free(b);
}

/* Offsets worth a flip: header fields, record lengths and checksums, the end marker. */
static unsigned structural_offsets(const struct file *f, size_t *offs, unsigned max)
{
	static const size_t hdr[] = { 0, 4, 8, 12, 16, 31, IMG_HDR_SIZE - 4 };
	unsigned n = 0;

	for (unsigned i = 0; i < sizeof(hdr) / sizeof(hdr[0]) && n < max; i++)
		offs[n++] = hdr[i];
	for (unsigned i = 0; i < f->nr_bounds && n + 2 <= max; i++) {
		offs[n++] = f->bounds[i];
		offs[n++] = f->bounds[i] + 4;
	}
	for (size_t t = 0; t < IMG_TRAILER_SIZE && n < max; t += 4)
		offs[n++] = f->len - IMG_TRAILER_SIZE + t;
	return n;
}

static void cases_of_file(const struct file *f, unsigned bits, unsigned cuts)
{
	size_t offs[64];
	unsigned n = structural_offsets(f, offs, bits / 2 < 64 ? bits / 2 : 64);

	/* Flips: the structural offsets (in random order of bits), then random ones. */
	for (unsigned i = 0; i < bits; i++) {
		size_t off = i < n ? offs[i] : rnd_below(f->len);

		if (off < f->len)
			case_bit(f, off, rnd_below(8));
	}
	/* Cuts: to nothing, at every boundary, at random offsets. */
	case_cut(f, 0);
	for (unsigned i = 0; i < f->nr_bounds; i++)
		case_cut(f, f->bounds[i]);
	for (unsigned i = 0; i < cuts; i++)
		case_cut(f, 1 + rnd_below(f->len - 1));
	/* Grown: one byte, or a second end marker. */
	case_grow(f, (const unsigned char *)"", 1);
	case_grow(f, f->data + f->len - IMG_TRAILER_SIZE, IMG_TRAILER_SIZE);
}

static void case_swap(const char *kind, pid_t a, pid_t b)
{
	char na[64], nb[64], what[160];
	const struct file *fa, *fb;
	struct change c[MAX_CHANGES];

	snprintf(na, sizeof(na), "%s-%d.img", kind, a);
	snprintf(nb, sizeof(nb), "%s-%d.img", kind, b);
	fa = dump_find(&fz.good, na);
	fb = dump_find(&fz.good, nb);
	if (!fa || !fb)
		return;
	c[0] = (struct change){ fa->name, fb->data, fb->len };
	c[1] = (struct change){ fb->name, fa->data, fa->len };
	snprintf(what, sizeof(what), "swap %s %s", na, nb);
	run_case(what, c, 2);
}

static void cases_swap(void)
{
	static const char *const kinds[] = { "core", "mm", "pagemap", "fdinfo" };

	if (fz.nr_pids < 2)
		return;
	for (unsigned k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		for (unsigned i = 0; i < SWAP_PAIRS; i++) {
			unsigned a = rnd_below(fz.nr_pids), b = rnd_below(fz.nr_pids - 1);

			/* The root with a child at least once: they differ most. */
			if (i == 0)
				a = 0;
			if (b >= a)
				b++;
			case_swap(kinds[k], fz.pids[a], fz.pids[b]);
		}
	}
}

static void cases_foreign(void)
{
	for (unsigned i = 0; i < fz.good.nr; i++) {
		const struct file *o = dump_find(&fz.other, fz.good.files[i].name);
		struct change c;
		char what[128];

		if (!o)
			continue;
		c = (struct change){ o->name, o->data, o->len };
		snprintf(what, sizeof(what), "foreign %s", o->name);
		run_case(what, &c, 1);
	}
}

/* "PID,PID,...": the tree's pids (@tree) or others to keep free; both widen the steered range. */
static void parse_pids(const char *s, bool tree)
{
	char *copy = strdup(s), *save = NULL;

	for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		pid_t pid = atoi(p);

		if (pid <= 0)
			die("'%s' is not a pid", p);
		if (tree && fz.nr_pids == MAX_PIDS)
			die("more than %d pids", MAX_PIDS);
		if (tree)
			fz.pids[fz.nr_pids++] = pid;
		if (!fz.pid_lo || pid < fz.pid_lo)
			fz.pid_lo = pid;
		if (pid > fz.pid_hi)
			fz.pid_hi = pid;
	}
	free(copy);
}

static long read_pid_max(void)
{
	FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
	long v = 32768;

	if (f && fscanf(f, "%ld", &v) != 1)
		v = 32768;
	if (f)
		fclose(f);
	return v;
}

int main(int argc, char **argv)
{
	static char path[4096], testdir[4096];
	const char *other = NULL, *exe = NULL;
	unsigned long seed = 1;
	unsigned bits = 16, cuts = 4;
	long t0 = now_ms();
	int c;

	fz.label = "images";
	while ((c = getopt(argc, argv, "c:e:w:p:r:s:x:b:u:l:k:v")) != -1) {
		switch (c) {
		case 'c': fz.cr = optarg; break;
		case 'e': exe = optarg; break;
		case 'w': fz.testdir = optarg; break;
		case 'p': parse_pids(optarg, true); break;
		case 'r': parse_pids(optarg, false); break;
		case 's': seed = strtoul(optarg, NULL, 0); break;
		case 'x': other = optarg; break;
		case 'b': bits = atoi(optarg); break;
		case 'u': cuts = atoi(optarg); break;
		case 'l': fz.label = optarg; break;
		case 'k': fz.key = optarg; break;
		case 'v': fz.verbose = true; break;
		default: die("usage: see the comment at the top of fuzz-images.c");
		}
	}
	if (optind != argc - 1 || !fz.cr || !exe || !fz.testdir || !fz.nr_pids || fz.pids[0] <= 0)
		die("usage: fuzz-images -c CR -e EXE -w TESTDIR -p PIDS [-r PIDS] [-s SEED] [-x OTHER] "
		    "[-b N] [-u N] [-l LABEL] [-k KEYFILE] [-v] DUMP");
	if (!realpath(fz.cr, fz.cr_exe) || !realpath(exe, fz.exe))
		die("%s or %s: %s", fz.cr, exe, strerror(errno));
	fz.pid_max = read_pid_max();
	/* Restored trees whose cr is gone are reparented here and reaped. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		die("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	/* The test's outfile is read relative to its directory. */
	if (!realpath(fz.testdir, testdir) || chdir(testdir))
		die("%s: %s", fz.testdir, strerror(errno));
	fz.testdir = testdir;
	fz.rng = seed * 0x9E3779B97F4A7C15ULL + 1;
	if (!realpath(argv[optind], path))
		die("%s: %s", argv[optind], strerror(errno));
	dump_load(&fz.good, path);
	if (other)
		dump_load(&fz.other, other);
	snprintf(fz.base, sizeof(fz.base), "%s.fuzz", fz.good.dir);
	if (mkdir(fz.base, 0700) && errno != EEXIST)
		die("%s: %s", fz.base, strerror(errno));
	fz.listing = list_dir(fz.testdir, 2);
	fz.case_listing = case_listing(&fz.good);

	/*
	 * The good dump restores, before the cases and after them: the
	 * check of a restore works, and no case changed the good files its
	 * copies link to.
	 */
	run_case("pristine", NULL, 0);
	for (unsigned i = 0; i < fz.good.nr; i++)
		cases_of_file(&fz.good.files[i], bits, cuts);
	cases_swap();
	cases_foreign();
	run_case("pristine-after", NULL, 0);

	rmdir(fz.base);		/* empty unless failed cases were kept */
	printf("fuzz-images %s: %u cases, %u passed, %u failed (%u restored; seed %lu, %.1f s)\n",
	       fz.label, fz.nr_cases, fz.nr_cases - fz.nr_failed, fz.nr_failed, fz.nr_restored, seed,
	       (now_ms() - t0) / 1000.0);
	return fz.nr_failed ? 1 : 0;
}
