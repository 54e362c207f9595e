#ifndef CR_PSTREE_H
#define CR_PSTREE_H

#include <stdbool.h>
#include <sys/types.h>

#include "proc-parse.h"

/*
 * The process tree: which tasks, who is whose parent, their groups and
 * sessions, their threads. Dump side: walk and seize it; restore side:
 * read it back and plan the order in which the kernel accepts its
 * sessions and groups.
 */

enum task_kind {
	TASK_ALIVE = 1,
	TASK_ZOMBIE = 2,
	TASK_HELPER = 3,		/* restore only: holds a leaderless group */
};

struct pstree_task {
	pid_t pid, ppid, pgid, sid;
	int kind;
	bool stopped;			/* alive, stopped by job control (state T) */
	bool shares_fs;			/* alive, its fs info (cwd, root, umask) is its parent's (CLONE_FS) */
	bool shares_files;		/* alive, its fd table is its parent's (CLONE_FILES) */
	int exit_code;			/* zombie: the status waitpid() reports */
	pid_t *tids;			/* alive: threads, the main thread first */
	unsigned nr_tids;
	unsigned nr_seized;		/* dump: tids[0..nr_seized) are ours */
	struct proc_stat stat;		/* dump: /proc/PID/stat, read once stopped */
	int parent;			/* index, -1 for the root */
	/*
	 * Pid namespaces below cr's (namespaces.h): @levels of them, the pid
	 * at each (outermost first; the last is what the task's getpid()
	 * says), every thread's the same way (nr_tids * levels), the group
	 * and session in the innermost one. levels 0: cr's pid namespace.
	 */
	unsigned levels;
	pid_t *ns_pid, *ns_tids;
	pid_t ns_pgid, ns_sid;
	/*
	 * Restore of a tree in a pid namespace of its own: pid and tids are the new
	 * ones in cr's pid namespace once the tree exists, these the dumped
	 * (what the images name them by).
	 */
	pid_t img_pid, *img_tids;
	/* The child (cr's pid) in whose pid namespace new children are born; 0: the task's own. */
	pid_t pidns_child;
	/* restore plan */
	bool before_setsid;		/* forked by the parent before its setsid() */
	int *children;			/* indexes, in fork order */
	unsigned nr_children;
};

#define PSTREE_MAX_LEVELS	8	/* pid namespaces below cr's */

/*
 * A pid or tid of the images in cr's pid namespace now: the same, but in
 * a tree restored in a pid namespace of its own (img_pid, img_tids); a pid not of
 * the tree stays as it is.
 */
struct pstree;
pid_t pstree_new_pid(const struct pstree *t, pid_t dumped);

/* The pid the task's own pid namespace gives it. */
static inline pid_t pstree_vpid(const struct pstree_task *t)
{
	return t->levels ? t->ns_pid[t->levels - 1] : t->pid;
}

struct pstree {
	struct pstree_task *tasks;	/* parents before children; the root first */
	unsigned nr;
	unsigned nr_alive;
};

/*
 * Dump: seizes @root and every descendant and thread (PTRACE_SEIZE +
 * INTERRUPT), walking again until a pass finds nothing new, so a fork or
 * clone during the walk is caught. Zombies are recorded, not seized.
 * Refuses (one line, naming the PID) kernel threads and traced tasks.
 * A process stopped by job control (or with a group stop in progress,
 * or a SIGSTOP pending) is left in a complete group stop, @stopped.
 * On failure whatever was seized is detached again.
 */
int pstree_seize(pid_t root, bool frozen, struct pstree *ret);
/*
 * @frozen: the tree is in a frozen cgroup (--freeze-cgroup), so no task
 * can stop yet: every thread is seized and interrupted, and after the
 * thaw pstree_wait_seized() waits for their stops.
 */
int pstree_wait_seized(struct pstree *t);
/*
 * Dump, the tree seized: sets shares_fs (shares_files) of every task
 * whose fs info (fd table) is its parent's; refuses, naming the pids,
 * either shared otherwise: with a process that is not the parent (a
 * sibling made with CLONE_PARENT, an orphan's new parent that does not
 * share it) or the root's with a process outside the tree.
 * pstree-share.c.
 */
int pstree_dump_sharing(struct pstree *t);
/*
 * The index of the task that owns task @idx's fd table: the nearest
 * ancestor (or @idx itself) that does not share its parent's.
 */
unsigned pstree_files_owner(const struct pstree *t, unsigned idx);
/* Whether task @idx's fd table is shared with another process of the tree. */
bool pstree_files_shared(const struct pstree *t, unsigned idx);
/*
 * Whether task @idx is the last, in tree order, of the tasks that share
 * its fd table with another process (false for a table of its own).
 */
bool pstree_files_last_sharer(const struct pstree *t, unsigned idx);
/*
 * Detaches every seized thread: the tree runs on; a stopped process is
 * stopped again (state T) when it returns.
 */
void pstree_detach(struct pstree *t);
/*
 * Until every thread of the released @task is in state T (or gone): a
 * detached thread of a stopped group stops again by itself, soon.
 * -ETIMEDOUT (logged) after 10 s.
 */
int pstree_wait_stopped(const struct pstree_task *task);
/* SIGKILLs every live process of the tree (not waited for). */
int pstree_kill(struct pstree *t);
int pstree_write(int dfd, const struct pstree *t);
void pstree_free(struct pstree *t);
struct pstree_task *pstree_find(const struct pstree *t, pid_t pid);
/*
 * A pid, process group or session id @id of cr's pid namespace as the
 * tree's tasks see it in their own (the task, group or session of the
 * tree it names); @id itself when the tree is in cr's, or names nothing
 * of it.
 */
pid_t pstree_ns_id(const struct pstree *t, pid_t id);

/*
 * Restore: reads pstree.img, checks it is a well-formed tree, adds helper
 * tasks for process groups whose leader is gone and orders every task's
 * children so the kernel accepts the sessions and groups: a task forks
 * the children that keep its inherited session before it calls setsid().
 * @cr_sid: the session the root is born into (cr's); a root that was not
 * a session leader stays in it. An unrestorable arrangement is refused
 * naming the PID.
 */
int pstree_read(int dfd, pid_t cr_sid, struct pstree *ret);
/* Restore: fails naming every PID and TID of the tree that is in use. */
int pstree_check_free(const struct pstree *t);
/*
 * Why @pid cannot be had although no process has it: " (the process
 * group of pid N (COMM))" or " (the session of ...)" into @buf, or "".
 */
void pstree_pid_user(pid_t pid, char *buf, size_t size);

#endif
