#ifndef CR_CGROUP_PRIV_H
#define CR_CGROUP_PRIV_H

/*
 * cgroup.c's parts (cgroup.c: dump, read, restore; cgroup-props.c: the
 * property tables and the files of a cgroup; cgroup-freeze.c:
 * --freeze-cgroup). The unit test looks inside struct cgroup_img.
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "namespaces.h"

/* One cgroup: a hierarchy (its controllers, "" for v2) and a host path. */
struct cg_ref {
	char *controllers;
	char *path;
	char *host;		/* restore: where cr sees it, found once */
};

struct cg_prop {
	char *name, *value;
};

/* A set: the cgroup of a task in every hierarchy. */
struct cg_set {
	unsigned id;
	struct cg_ref *m;
	unsigned nr;
};

struct cg_task {
	pid_t tid;		/* the dumped tid, which the restored thread has */
	unsigned set;		/* index into sets[] */
};

/* A cgroup restore creates or sets: parents before children. */
struct cg_dir {
	struct cg_ref ref;
	struct cg_prop *props;
	unsigned nr_props;
};

struct cgroup_img {
	int mode;			/* enum cg_mode */
	bool has_cgns;
	struct cg_ref *roots;		/* per hierarchy: the tree's root cgroup */
	unsigned nr_roots;
	struct cg_set *sets;
	unsigned nr_sets;
	struct cg_task *tasks;
	unsigned nr_tasks;
	struct cg_dir *dirs;
	unsigned nr_dirs;
	char **moved_from;		/* per root: its dumped path if --cgroup-root moved it, else NULL */
	char **created;			/* host directories made, deepest last */
	unsigned nr_created;
	char **planned;			/* those to make, found before the first mkdir */
	unsigned nr_planned;
	struct guard *guard;		/* removes the planned ones if cr dies before the go */
};

/*
 * The directory where cr sees the cgroup @path of the hierarchy
 * @controllers ("/sys/fs/cgroup/cpu" + @path), from cr's mountinfo.
 * Returns 0 and a malloc'ed path, -ENOENT (logged) when no mount of cr
 * shows that hierarchy or that cgroup, or -errno.
 */
int cg_host_dir(const char *controllers, const char *path, char **ret);
/* Whether a mount of cr shows hierarchy @controllers (quietly). */
bool cg_is_mounted(const char *controllers);
/* Whether a mount of @fstype with super options @opts shows the hierarchy @controllers. */
bool cg_mount_matches(const char *controllers, const char *fstype, const char *opts);
/* Whether the comma-separated @list has the token @tok of @len bytes. */
bool cg_list_has(const char *list, const char *tok, size_t len);
static inline bool cg_is_v2(const char *controllers) { return !controllers[0]; }

/* Whole small files: @ret malloc'ed, the trailing newline cut. 0 or -errno (not logged). */
int cg_read(const char *dir, const char *file, char **ret);
/* Writes @val to @dir/@file in one write(); 0 or -errno (logged, naming both). */
int cg_write(const char *dir, const char *file, const char *val);

/*
 * The properties of the cgroup at host directory @dir of hierarchy
 * @controllers, from the tables in cgroup-props.c; files a cgroup does
 * not have (a v2 controller not enabled) are skipped.
 */
int cg_props_dump(const char *controllers, const char *dir, struct cg_prop **ret, unsigned *ret_nr);
/* Sets them again, in table order. 0 or -errno (logged). */
int cg_props_restore(const char *dir, const struct cg_prop *p, unsigned nr);
/* Whether @name is a property of @controllers' table (images are checked with it). */
bool cg_prop_known(const char *controllers, const char *name);
void cg_props_free(struct cg_prop *p, unsigned nr);

#endif
