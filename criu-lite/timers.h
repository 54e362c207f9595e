#ifndef CR_TIMERS_H
#define CR_TIMERS_H

#include <sys/types.h>

#include "core.pb-c.h"

struct parasite_dump_misc;
struct restorer_args;
struct region;

/* POSIX timers (timer_create) of one process. */
struct timers_dump {
	unsigned nr;
	PosixTimerEntry *entries;
	PosixTimerEntry **ptrs;
};

/*
 * Dump, before the parasite's DUMP_MISC: reads /proc/PID/timers into @td
 * and asks the parasite (through @m) for each timer's remaining time.
 */
int timers_collect(pid_t pid, struct timers_dump *td, struct parasite_dump_misc *m);
/* Dump, after DUMP_MISC: the entries with their times, into @c. */
void timers_to_core(struct timers_dump *td, const struct parasite_dump_misc *m, CoreEntry *c);
void timers_dump_free(struct timers_dump *td);

/* Restore: the restorer's timer table, recreated with the dumped ids. */
int timers_prepare_restore(const CoreEntry *core, pid_t pid, struct restorer_args *a,
			   struct region *rg);

#endif
