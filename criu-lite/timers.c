/*
 * POSIX timers: dump and restore side. /proc/PID/timers names them (id,
 * signal, value, notification, clock); only the task can read their
 * times (timer_gettime), so the parasite does. The restorer recreates
 * them with their ids (PR_TIMER_CREATE_RESTORE_IDS, Linux 6.15) and arms
 * them with the time that was left. Overruns are not carried over.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "log.h"
#include "namespaces.h"
#include "parasite-cmds.h"
#include "proc-parse.h"
#include "region.h"
#include "restorer-abi.h"
#include "timers.h"

/*
 * "KIND/WHO.N": KIND the sigev_notify without SIGEV_THREAD_ID ("thread"
 * is SIGEV_THREAD, which the kernel treats as SIGEV_SIGNAL), WHO "tid"
 * with SIGEV_THREAD_ID (N: the thread), else "pid".
 */
static int parse_notify(const char *s, int *ret_notify, int *ret_tid)
{
	static const struct { const char *name; int notify; } kinds[] = {
		{ "signal", SIGEV_SIGNAL }, { "none", SIGEV_NONE }, { "thread", SIGEV_THREAD },
	};
	char kind[16], who[4] = "";
	int tid = 0;

	if (sscanf(s, "%15[a-z]/%3[a-z].%d", kind, who, &tid) < 1)
		return -EINVAL;
	for (unsigned i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(kind, kinds[i].name))
			continue;
		*ret_notify = kinds[i].notify;
		*ret_tid = 0;
		if (!strcmp(who, "tid")) {
			if (tid <= 0)
				return -EINVAL;
			*ret_notify |= SIGEV_THREAD_ID;
			*ret_tid = tid;
		}
		return 0;
	}
	return -EINVAL;
}

int timers_collect(pid_t pid, struct timers_dump *td, struct parasite_dump_misc *m)
{
	_cleanup_free_ char *buf = NULL;
	char path[64], *line, *save = NULL;
	PosixTimerEntry *e = NULL;
	int err;

	memset(td, 0, sizeof(*td));
	m->nr_timers = 0;
	snprintf(path, sizeof(path), "/proc/%d/timers", pid);
	err = read_file_at(AT_FDCWD, path, &buf, NULL);
	if (err)
		return err;

	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long val;
		int id, signo;

		if (sscanf(line, "ID: %d", &id) == 1) {
			if (td->nr == PARASITE_MAX_TIMERS)
				return pr_err("pid %d has more than %d POSIX timers", pid, PARASITE_MAX_TIMERS),
				       -E2BIG;
			if (!(td->nr % 16)) {
				PosixTimerEntry *n = xrealloc(td->entries, sizeof(*n) * (td->nr + 16));

				if (!n)
					return -ENOMEM;
				td->entries = n;
			}
			e = &td->entries[td->nr];
			posix_timer_entry__init(e);
			e->id = id;
			m->timers[td->nr].id = id;
			td->nr++;
		} else if (!e) {
			return pr_err("%s: '%s' before any ID line", path, line), -EINVAL;
		} else if (sscanf(line, "signal: %d/%llx", &signo, &val) == 2) {
			e->signo = signo;
			e->sigval = val;
		} else if (!strncmp(line, "notify: ", 8)) {
			if (parse_notify(line + 8, &e->notify, &e->notify_tid))
				return pr_err("%s: timer %d: notification '%s' not understood", path, e->id,
					      line + 8), -EINVAL;
			/* cr's /proc names the thread by cr's pid; the restorer by the task's own. */
			if ((e->notify & SIGEV_THREAD_ID) && e->notify_tid) {
				err = ns_own_tid(pid, e->notify_tid, &e->notify_tid);
				if (err)
					return err;
			}
		} else if (sscanf(line, "ClockID: %d", &e->clock) != 1) {
			return pr_err("%s: line '%s' not understood", path, line), -EINVAL;
		}
	}
	m->nr_timers = td->nr;
	return 0;
}

void timers_to_core(struct timers_dump *td, const struct parasite_dump_misc *m, CoreEntry *c)
{
	unsigned i;

	if (!td->nr)
		return;
	td->ptrs = xmalloc(sizeof(*td->ptrs) * td->nr);
	if (!td->ptrs)
		return;
	for (i = 0; i < td->nr; i++) {
		PosixTimerEntry *e = &td->entries[i];

		e->isec = m->timers[i].isec;
		e->insec = m->timers[i].insec;
		e->vsec = m->timers[i].vsec;
		e->vnsec = m->timers[i].vnsec;
		td->ptrs[i] = e;
	}
	c->posix_timers = td->ptrs;
	c->n_posix_timers = td->nr;
}

void timers_dump_free(struct timers_dump *td)
{
	free(td->entries);
	free(td->ptrs);
	memset(td, 0, sizeof(*td));
}

int timers_prepare_restore(const CoreEntry *core, pid_t pid, struct restorer_args *a,
			   struct region *rg)
{
	struct restorer_timer *t;
	size_t i;

	if (!core->n_posix_timers)
		return 0;
	t = region_alloc(rg, sizeof(*t) * core->n_posix_timers, 8);
	if (!t)
		return -ENOMEM;
	for (i = 0; i < core->n_posix_timers; i++) {
		const PosixTimerEntry *e = core->posix_timers[i];

		if (e->id < 0 || e->signo < 0 || e->signo > 64)
			return pr_err("core-%d.img: POSIX timer %d is invalid", pid, e->id), -EBADMSG;
		t[i] = (struct restorer_timer){
			.id = e->id, .clock = e->clock, .signo = e->signo, .notify = e->notify,
			.tid = e->notify_tid ? e->notify_tid : pid, .sigval = e->sigval,
			.its = { e->isec, e->insec, e->vsec, e->vnsec },
		};
	}
	a->timers = (uint64_t)t;
	a->nr_timers = core->n_posix_timers;
	return 0;
}
