/*
 * --freeze-cgroup PATH: freezes the tree through the cgroup freezer
 * before it is seized, so no task forks while the tree is walked.
 *
 * PATH is the freezer cgroup's directory as runc passes it (its
 * cgroupManager.Path("freezer"): /sys/fs/cgroup/freezer/<cg> on v1, the
 * unified directory on v2), or a cgroup path relative to the freezer
 * hierarchy ("/<cg>", as /proc/PID/cgroup shows it). v1 has
 * freezer.state (THAWED, FREEZING, FROZEN); v2 has cgroup.freeze (0/1)
 * and "frozen 0|1" in cgroup.events.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-priv.h"
#include "cleanup.h"
#include "guard.h"
#include "log.h"

#define FREEZE_TIMEOUT_MS	10000	/* a freezer that needs longer is stuck (D state, a vfork) */
#define FREEZE_POLL_US		1000

struct cgroup_freezer {
	char *dir;
	bool v2;
	bool was_frozen;
	bool frozen;		/* cr froze it last (cgroup_thaw_seized() not yet) */
};

static bool is_file(const char *dir, const char *name)
{
	_cleanup_free_ char *p = NULL;
	struct stat st;

	return asprintf(&p, "%s/%s", dir, name) >= 0 && !stat(p, &st) && S_ISREG(st.st_mode);
}

/* The freezer's directory and kind for PATH. */
static int resolve(const char *path, struct cgroup_freezer *f)
{
	if (is_file(path, "freezer.state") || is_file(path, "cgroup.freeze")) {
		f->dir = xstrdup(path);
	} else if (path[0] == '/') {
		/* A cgroup path: below the v1 freezer's mount, else the v2 one's. */
		if (cg_host_dir("freezer", path, &f->dir) && cg_host_dir("", path, &f->dir))
			return pr_errno(-ENOENT, "--freeze-cgroup %s: no freezer cgroup there", path);
	}
	if (!f->dir)
		return pr_errno(-ENOENT, "--freeze-cgroup %s: no freezer cgroup there", path);
	f->v2 = !is_file(f->dir, "freezer.state");
	if (f->v2 && !is_file(f->dir, "cgroup.freeze"))
		return pr_errno(-ENOENT, "--freeze-cgroup %s: %s has neither freezer.state nor cgroup.freeze",
				path, f->dir);
	return 0;
}

/* Whether the cgroup is frozen now: 1, 0, or -errno (logged). */
static int is_frozen(const struct cgroup_freezer *f)
{
	_cleanup_free_ char *s = NULL;
	int err = cg_read(f->dir, f->v2 ? "cgroup.events" : "freezer.state", &s);

	if (err)
		return pr_errno(err, "cgroup %s: read its freezer state", f->dir);
	if (!f->v2)
		return !strcmp(s, "FROZEN");
	for (char *l = s; l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (!strncmp(l, "frozen ", 7))
			return l[7] == '1';
	return pr_errno(-EINVAL, "cgroup %s: no 'frozen' in cgroup.events", f->dir);
}

static int set_state(const struct cgroup_freezer *f, bool frozen)
{
	if (f->v2)
		return cg_write(f->dir, "cgroup.freeze", frozen ? "1" : "0");
	return cg_write(f->dir, "freezer.state", frozen ? "FROZEN" : "THAWED");
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* Freezes and waits until the kernel says frozen; thaws again on failure. */
static int freeze_wait(struct cgroup_freezer *f)
{
	long deadline = now_ms() + FREEZE_TIMEOUT_MS;
	int err;

	for (;;) {
		/* v1: writing FROZEN again retries tasks that were busy (FREEZING). */
		err = set_state(f, true);
		if (err)
			break;
		err = is_frozen(f);
		if (err)
			break;
		if (now_ms() > deadline) {
			err = pr_errno(-ETIMEDOUT, "cgroup %s: not frozen after %d ms", f->dir, FREEZE_TIMEOUT_MS);
			break;
		}
		struct timespec ts = { 0, FREEZE_POLL_US * 1000L };
		nanosleep(&ts, NULL);
	}
	if (err == 1) {
		f->frozen = true;
		return 0;
	}
	if (!f->was_frozen)
		(void)set_state(f, false);	/* logged; the first error is the one reported */
	return err;
}

void cgroup_freezer_free(struct cgroup_freezer *f)
{
	if (!f)
		return;
	free(f->dir);
	free(f);
}

/* In the guard, when cr died: @fd is the freezer's state file (@v2: cgroup.freeze). */
static void thaw_undo(int fd, uint64_t v2)
{
	const char *val = v2 ? "0" : "THAWED";

	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		pr_perror("the guard could not thaw the freezer cgroup");
}

/*
 * The guard thaws the cgroup if cr dies before it did: a tree left
 * frozen would not run on. One frozen before the dump stays so.
 */
static int thaw_guarded(const struct cgroup_freezer *f, struct guard *g)
{
	_cleanup_free_ char *p = NULL;
	_cleanup_close_ int fd = -EBADF;

	if (!g || f->was_frozen)
		return 0;
	if (asprintf(&p, "%s/%s", f->dir, f->v2 ? "cgroup.freeze" : "freezer.state") < 0)
		return -ENOMEM;
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno(-errno, "cgroup %s: open %s", f->dir, p);
	return guard_keep_fd(g, fd, thaw_undo, f->v2, GUARD_UNDO);
}

int cgroup_freeze(const char *path, struct guard *g, struct cgroup_freezer **ret)
{
	struct cgroup_freezer *f = xzalloc(sizeof(*f));
	int err;

	if (!f)
		return -ENOMEM;
	err = resolve(path, f);
	if (!err)
		err = is_frozen(f);
	if (err >= 0) {
		f->was_frozen = err == 1;
		err = thaw_guarded(f, g);
	}
	if (!err)
		err = freeze_wait(f);
	if (err) {
		cgroup_freezer_free(f);
		return err;
	}
	pr_info("cgroup %s: frozen%s\n", f->dir, f->was_frozen ? " (it was already)" : "");
	*ret = f;
	return 0;
}

int cgroup_thaw_seized(struct cgroup_freezer *f)
{
	int err = set_state(f, false);

	if (!err)
		f->frozen = false;
	return err;
}

int cgroup_thaw(struct cgroup_freezer *f)
{
	if (f->was_frozen)
		return f->frozen ? 0 : freeze_wait(f);
	return cgroup_thaw_seized(f);
}
