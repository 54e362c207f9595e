/*
 * eventfd, signalfd and timerfd: anonymous inodes whose state is a few
 * numbers, read from /proc/PID/fdinfo (and timerfd_gettime() on cr's copy,
 * which changes nothing) and set again on a new one at restore.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "files-kind.h"
#include "log.h"

/* Sets a timerfd's count of unread expirations (CONFIG_CHECKPOINT_RESTORE). */
#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS	_IOW('T', 0, uint64_t)
#endif

#define NSEC_PER_SEC		1000000000L

static bool anon_is(const struct fd_dump *d, const char *type)
{
	char want[64];

	snprintf(want, sizeof(want), "anon_inode:[%s]", type);
	return !strcmp(d->link, want);
}

static bool eventfd_match(const struct fd_dump *d) { return anon_is(d, "eventfd"); }
static bool signalfd_match(const struct fd_dump *d) { return anon_is(d, "signalfd"); }
static bool timerfd_match(const struct fd_dump *d) { return anon_is(d, "timerfd"); }

/* ---- eventfd ------------------------------------------------------------- */

static int eventfd_dump(struct fd_dump *d, FileEntry *fe)
{
	EventfdEntry *e = xmalloc(sizeof(*e));
	uint64_t count, sem;
	int err;

	if (!e)
		return -ENOMEM;
	eventfd_entry__init(e);
	fe->eventfd = e;
	/* "%16llx": hex, padded with spaces. */
	err = files_fdinfo_u64(d, "eventfd-count:", 16, &count);
	if (!err)
		err = files_fdinfo_u64(d, "eventfd-semaphore:", 10, &sem);
	if (err)
		return err;
	e->counter = count;
	e->semaphore = sem;
	return 0;
}

static int eventfd_open(struct files_rst *rf, const FileEntry *fe)
{
	const EventfdEntry *e = fe->eventfd;
	_cleanup_close_ int fd = -EBADF;

	(void)rf;
	/* eventfd() takes an unsigned int: a larger count is written after. */
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | (e->semaphore ? EFD_SEMAPHORE : 0));
	if (fd < 0)
		return pr_errno(-errno, "eventfd (file id %u): eventfd", fe->id);
	if (e->counter && write(fd, &e->counter, sizeof(e->counter)) != sizeof(e->counter))
		return pr_errno(-errno, "eventfd (file id %u): setting its counter to %" PRIu64,
				fe->id, e->counter);
	return TAKE_FD(fd);
}

static int eventfd_check(struct files_rst *rf, const FileEntry *fe)
{
	(void)rf;
	if (!fe->eventfd)
		return pr_errno(-EBADMSG, "files.img: file id %u: no eventfd record", fe->id);
	/* The kernel's limit: the counter never reaches ULLONG_MAX. */
	if (fe->eventfd->counter == UINT64_MAX)
		return pr_errno(-EBADMSG, "files.img: file id %u: eventfd counter out of range", fe->id);
	return 0;
}

/* ---- signalfd ------------------------------------------------------------ */

static int signalfd_dump(struct fd_dump *d, FileEntry *fe)
{
	SignalfdEntry *s = xmalloc(sizeof(*s));
	uint64_t mask;
	int err;

	if (!s)
		return -ENOMEM;
	signalfd_entry__init(s);
	fe->signalfd = s;
	/* The kernel prints the mask as one hex number, bit N-1 for signal N. */
	err = files_fdinfo_u64(d, "sigmask:", 16, &mask);
	if (err)
		return err;
	s->sigmask = mask;
	return 0;
}

static int signalfd_check(struct files_rst *rf, const FileEntry *fe)
{
	(void)rf;
	if (!fe->signalfd)
		return pr_errno(-EBADMSG, "files.img: file id %u: no signalfd record", fe->id);
	return 0;
}

static int signalfd_open(struct files_rst *rf, const FileEntry *fe)
{
	uint64_t mask = fe->signalfd->sigmask;
	int fd;

	(void)rf;
	/*
	 * The raw syscall: the kernel's sigset is this one word on x86-64,
	 * and glibc's sigaddset() refuses the signals it keeps for itself.
	 */
	fd = syscall(SYS_signalfd4, -1, &mask, sizeof(mask), SFD_CLOEXEC);
	if (fd < 0)
		return pr_errno(-errno, "signalfd (file id %u): signalfd with mask %#" PRIx64,
				fe->id, fe->signalfd->sigmask);
	return fd;
}

/* ---- timerfd ------------------------------------------------------------- */

static bool timespec_zero(const struct timespec *t)
{
	return !t->tv_sec && !t->tv_nsec;
}

static int timerfd_dump(struct fd_dump *d, FileEntry *fe)
{
	TimerfdEntry *t = xmalloc(sizeof(*t));
	struct itimerspec its;
	uint64_t clk, ticks, flags;
	int err;

	if (!t)
		return -ENOMEM;
	timerfd_entry__init(t);
	fe->timerfd = t;
	err = files_fdinfo_u64(d, "clockid:", 10, &clk);
	if (!err)
		err = files_fdinfo_u64(d, "ticks:", 10, &ticks);
	if (!err)
		err = files_fdinfo_u64(d, "settime flags:", 8, &flags);
	if (err)
		return err;
	if (timerfd_gettime(d->cr_fd, &its) < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): timerfd_gettime", d->pid, d->fd, d->link);
	t->clockid = clk;
	t->ticks = ticks;
	t->settime_flags = flags;
	t->interval_sec = its.it_interval.tv_sec;
	t->interval_nsec = its.it_interval.tv_nsec;
	if ((flags & TFD_TIMER_ABSTIME) && !timespec_zero(&its.it_value)) {
		/* it_value is the time left: keep the absolute expiry it stands for. */
		struct timespec now;

		if (clock_gettime(clk, &now) < 0)
			return pr_errno(-errno, "pid %d: fd %d (%s): reading clock %u", d->pid, d->fd,
					d->link, (unsigned)clk);
		its.it_value.tv_sec += now.tv_sec;
		its.it_value.tv_nsec += now.tv_nsec;
		if (its.it_value.tv_nsec >= NSEC_PER_SEC) {
			its.it_value.tv_nsec -= NSEC_PER_SEC;
			its.it_value.tv_sec++;
		}
	}
	t->value_sec = its.it_value.tv_sec;
	t->value_nsec = its.it_value.tv_nsec;
	return 0;
}

static bool clock_is_timerfd(uint32_t clk)
{
	return clk == CLOCK_REALTIME || clk == CLOCK_MONOTONIC || clk == CLOCK_BOOTTIME ||
	       clk == CLOCK_REALTIME_ALARM || clk == CLOCK_BOOTTIME_ALARM;
}

static int timerfd_check(struct files_rst *rf, const FileEntry *fe)
{
	const TimerfdEntry *t = fe->timerfd;

	(void)rf;
	if (!t || !clock_is_timerfd(t->clockid) || t->value_nsec >= NSEC_PER_SEC ||
	    t->interval_nsec >= NSEC_PER_SEC ||
	    (t->settime_flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)) ||
	    t->value_sec > INT64_MAX || t->interval_sec > INT64_MAX)
		return pr_errno(-EBADMSG, "files.img: file id %u: no valid timerfd record", fe->id);
	return 0;
}

static int timerfd_open(struct files_rst *rf, const FileEntry *fe)
{
	const TimerfdEntry *t = fe->timerfd;
	struct itimerspec its = {
		.it_value = { t->value_sec, t->value_nsec },
		.it_interval = { t->interval_sec, t->interval_nsec },
	};
	_cleanup_close_ int fd = -EBADF;

	(void)rf;
	fd = timerfd_create(t->clockid, TFD_CLOEXEC);
	if (fd < 0)
		return pr_errno(-errno, "timerfd (file id %u): timerfd_create on clock %u",
				fe->id, t->clockid);
	/*
	 * A periodic timer with no time left was expiring at dump: let it
	 * fire at once, a zero value would disarm it.
	 */
	if (timespec_zero(&its.it_value) && !timespec_zero(&its.it_interval))
		its.it_value.tv_nsec = 1;
	if (timerfd_settime(fd, t->settime_flags, &its, NULL) < 0)
		return pr_errno(-errno, "timerfd (file id %u): timerfd_settime", fe->id);
	/* After settime, which zeroes the ticks. */
	if (t->ticks && ioctl(fd, TFD_IOC_SET_TICKS, &t->ticks) < 0)
		return pr_errno(-errno, "timerfd (file id %u): setting %" PRIu64 " unread expirations (TFD_IOC_SET_TICKS)",
				fe->id, t->ticks);
	return TAKE_FD(fd);
}

/* ---- kinds --------------------------------------------------------------- */

static void event_free_entry(FileEntry *fe)
{
	free(fe->eventfd);
	free(fe->signalfd);
	free(fe->timerfd);
	fe->eventfd = NULL;
	fe->signalfd = NULL;
	fe->timerfd = NULL;
}

const struct fd_kind fd_kind_eventfd = {
	.kind = FILE_KIND__FILE_EVENTFD, .name = "eventfd",
	.match = eventfd_match, .dump = eventfd_dump, .free_entry = event_free_entry,
	.check = eventfd_check, .open = eventfd_open,
};

const struct fd_kind fd_kind_signalfd = {
	.kind = FILE_KIND__FILE_SIGNALFD, .name = "signalfd",
	.match = signalfd_match, .dump = signalfd_dump, .free_entry = event_free_entry,
	.check = signalfd_check, .open = signalfd_open,
};

const struct fd_kind fd_kind_timerfd = {
	.kind = FILE_KIND__FILE_TIMERFD, .name = "timerfd",
	.match = timerfd_match, .dump = timerfd_dump, .free_entry = event_free_entry,
	.check = timerfd_check, .open = timerfd_open,
};
