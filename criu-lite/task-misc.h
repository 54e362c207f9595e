#ifndef CR_TASK_MISC_H
#define CR_TASK_MISC_H

/*
 * Per-process state of the audit and mm kinds: loginuid and sessionid,
 * PR_SET_THP_DISABLE, membarrier registrations, mlockall(MCL_FUTURE).
 */

#include <sys/types.h>

#include "core.pb-c.h"

struct parasite_dump_misc;
struct restorer_args;

/* Fills @e from /proc/PID and what the parasite read (@m). Returns 0 or -errno (logged). */
int task_misc_dump(pid_t pid, const struct parasite_dump_misc *m, TaskMiscEntry *e);
/* Checks an image's entry before anything is made. Returns 0 or -EBADMSG (logged). */
int task_misc_check(pid_t pid, const TaskMiscEntry *e);
/*
 * In the new task @pid, still in cr's code and with cr's creds, before
 * its files: loginuid (what cannot be set, the sessionid, is warned
 * about), THP, membarrier. Returns 0 or -errno (logged).
 */
int task_misc_restore(pid_t pid, const TaskMiscEntry *e);
/* What the restorer sets once the dumped mappings are made: MCL_FUTURE. */
void task_misc_prepare(const TaskMiscEntry *e, struct restorer_args *a);

#endif
