/*
 * Per-process state of the audit and mm kinds.
 *
 * loginuid: /proc/PID/loginuid, which only the task itself may write
 * (with CAP_AUDIT_CONTROL), so the new task writes its own while it still
 * has cr's creds; a restore that cannot (a user namespace, an immutable
 * loginuid) fails naming it. sessionid: no interface sets it; the kernel
 * hands out a new one each time a loginuid is written, so a restored
 * task whose loginuid had to be written has another one: cr warns
 * saying so.
 *
 * THP (PR_SET_THP_DISABLE, with PR_THP_DISABLE_EXCEPT_ADVISED), membarrier
 * registrations (MEMBARRIER_CMD_GET_REGISTRATIONS, Linux 6.3: each bit is
 * the REGISTER_* command that was done) and mlockall(MCL_FUTURE) belong to
 * the mm: the parasite reads them, the new task sets the first two on its
 * mm, which the restorer keeps (it unmaps, never replaces it); MCL_FUTURE
 * waits in the restorer until the dumped mappings are made, or every one
 * of them would be locked.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "parasite-cmds.h"
#include "proc-parse.h"
#include "restorer-abi.h"
#include "task-misc.h"

#ifndef PR_THP_DISABLE_EXCEPT_ADVISED
#define PR_THP_DISABLE_EXCEPT_ADVISED	(1 << 1)
#endif
#define THP_DISABLED			1	/* PR_GET_THP_DISABLE: bit 0, and bit 1 for EXCEPT_ADVISED */
#define THP_EXCEPT_ADVISED		2

/* MEMBARRIER_CMD_REGISTER_*: GLOBAL_EXPEDITED, PRIVATE_EXPEDITED, its SYNC_CORE and RSEQ flavors. */
#define MEMBARRIER_REGISTER_MASK	((1 << 2) | (1 << 4) | (1 << 6) | (1 << 8))

/* A number from /proc/@pid/@name. */
static int read_u32(const char *pid, const char *name, uint32_t *ret)
{
	char path[64];
	long v;
	int err;

	snprintf(path, sizeof(path), "/proc/%s/%s", pid, name);
	err = read_number_file(path, 10, &v);
	if (!err && (v < 0 || v > UINT32_MAX))
		err = pr_errno(-EBADMSG, "%s: %ld is out of range", path, v);
	if (!err)
		*ret = v;
	return err;
}

/* Whether the kernel has audit's /proc/@pid/loginuid (CONFIG_AUDIT). */
static bool has_audit(const char *pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%s/loginuid", pid);
	return access(path, F_OK) == 0;
}

int task_misc_dump(pid_t pid, const struct parasite_dump_misc *m, TaskMiscEntry *e)
{
	char p[16];
	int err;

	snprintf(p, sizeof(p), "%d", (int)pid);
	if (has_audit(p)) {
		err = read_u32(p, "loginuid", &e->loginuid);
		if (!err)
			err = read_u32(p, "sessionid", &e->sessionid);
		if (err)
			return err;
		e->has_loginuid = e->has_sessionid = true;
	}
	e->has_thp_disable = e->has_mcl_future = true;
	e->thp_disable = m->thp_disable;
	e->mcl_future = m->mcl_future;
	if (m->membarrier >= 0) {
		e->has_membarrier = true;
		e->membarrier = m->membarrier;
	} else {
		pr_warn("pid %d: membarrier registrations cannot be read (MEMBARRIER_CMD_GET_REGISTRATIONS: %s); "
			"none are restored", (int)pid, strerror(-m->membarrier));
	}
	return 0;
}

int task_misc_check(pid_t pid, const TaskMiscEntry *e)
{
	if (!e)
		return 0;
	if ((e->membarrier & ~MEMBARRIER_REGISTER_MASK) ||
	    (e->thp_disable & ~(THP_DISABLED | THP_EXCEPT_ADVISED)) ||
	    (e->mcl_future & ~(MCL_FUTURE | MCL_ONFAULT)))
		return pr_errno(-EBADMSG, "core-%d.img: task misc state out of range (membarrier %#x, thp %#x, mcl %#x)",
				(int)pid, e->membarrier, e->thp_disable, e->mcl_future);
	return 0;
}

/* The loginuid as dumped; the sessionid the kernel gives along, compared. */
static int restore_audit(pid_t pid, const TaskMiscEntry *e)
{
	uint32_t now = 0;
	int err, fd;

	if (!e->has_loginuid)
		return 0;
	if (!has_audit("self"))
		return pr_errno(-ENOTSUP, "pid %d: its loginuid %u cannot be set: this kernel has no audit (/proc/self/loginuid)",
				(int)pid, e->loginuid);
	err = read_u32("self", "loginuid", &now);
	if (err)
		return err;
	if (now != e->loginuid) {
		fd = open("/proc/self/loginuid", O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return pr_errno(-errno, "pid %d: opening /proc/self/loginuid", (int)pid);
		if (dprintf(fd, "%u", e->loginuid) < 0)
			err = pr_errno(-errno, "pid %d: setting its loginuid to %u (it has %u; needs CAP_AUDIT_CONTROL, "
				       "and an immutable loginuid is never changed)", (int)pid, e->loginuid, now);
		close(fd);
		if (err)
			return err;
	}
	if (e->has_sessionid && !read_u32("self", "sessionid", &now) && now != e->sessionid)
		pr_warn("pid %d: its audit session id is %u, was %u: the kernel gives a new one with each loginuid and none can be chosen",
			(int)pid, now, e->sessionid);
	return 0;
}

int task_misc_restore(pid_t pid, const TaskMiscEntry *e)
{
	int err;

	if (!e)
		return 0;
	err = restore_audit(pid, e);
	if (err)
		return err;
	if (e->has_thp_disable &&
	    prctl(PR_SET_THP_DISABLE, e->thp_disable & THP_DISABLED,
		  (e->thp_disable & THP_EXCEPT_ADVISED) ? PR_THP_DISABLE_EXCEPT_ADVISED : 0, 0, 0))
		return pr_errno(-errno, "pid %d: PR_SET_THP_DISABLE %#x", (int)pid, e->thp_disable);
	for (unsigned bit = 0; bit < 32; bit++) {
		int cmd = 1 << bit;

		if ((e->membarrier & cmd) && syscall(SYS_membarrier, cmd, 0, 0))
			return pr_errno(-errno, "pid %d: membarrier registration %#x", (int)pid, cmd);
	}
	return 0;
}

void task_misc_prepare(const TaskMiscEntry *e, struct restorer_args *a)
{
	a->mcl_future = e ? e->mcl_future : 0;
}
