/*
 * timerfds of every sort:
 *   REL   CLOCK_MONOTONIC, one-shot, 30 s
 *   PER   CLOCK_MONOTONIC, periodic every 200 ms
 *   ABS   CLOCK_REALTIME, TFD_TIMER_ABSTIME, one minute ahead
 *   FIRED CLOCK_BOOTTIME, one-shot that expired before the checkpoint and
 *         was not read (one unread tick), O_NONBLOCK
 *   TICKS disarmed, with 5 unread ticks set by TFD_IOC_SET_TICKS
 *
 * After restore each has its clock, settime flags, interval and unread
 * ticks as before. REL has no more time left than before, and no less
 * than before minus the time that passed outside the checkpoint; ABS
 * still expires at the same wall-clock time; PER fires again; FIRED
 * and TICKS read their ticks once and are empty then.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "zdtm.h"

#define TFD_IOC_SET_TICKS	_IOW('T', 0, uint64_t)
#define NSEC			1000000000LL
#define SLACK_NS		(50 * 1000000LL)	/* clock reads around the checks */

enum { REL, PER, ABS, FIRED, TICKS, NR };
static const char *names[NR] = { "REL", "PER", "ABS", "FIRED", "TICKS" };
static int fds[NR], flags[NR];
static char info[NR][256];
static struct itimerspec its[NR];
static int64_t abs_target, rel_left, rel_taken_mono;

static int64_t ts_ns(const struct timespec *t)
{
	return t->tv_sec * NSEC + t->tv_nsec;
}

static int64_t now_ns(clockid_t c)
{
	struct timespec t;

	if (clock_gettime(c, &t))
		fail_errno("clock_gettime");
	return ts_ns(&t);
}

/*
 * clockid, ticks and settime flags lines of the fdinfo; not ticks for PER,
 * which may fire any time.
 */
static void tfd_info(int i, char *out, size_t len)
{
	char buf[1024];

	fdinfo_read(fds[i], buf, sizeof(buf));
	out[0] = '\0';
	for (char *s = strtok(buf, "\n"); s; s = strtok(NULL, "\n"))
		if (!strncmp(s, "clockid:", 8) || (i != PER && !strncmp(s, "ticks:", 6)) ||
		    !strncmp(s, "settime flags:", 14))
			snprintf(out + strlen(out), len - strlen(out), "%s;", s);
	if (!strstr(out, "clockid"))
		fail("%s: no timerfd lines in fdinfo", names[i]);
}

static void gettime(int i, struct itimerspec *t)
{
	if (timerfd_gettime(fds[i], t))
		fail_errno("timerfd_gettime %s", names[i]);
}

static void make(int i, clockid_t c, int tflags, int sflags, const struct itimerspec *t)
{
	fds[i] = timerfd_create(c, tflags);
	if (fds[i] < 0)
		fail_errno("timerfd_create %s", names[i]);
	if (timerfd_settime(fds[i], sflags, t, NULL))
		fail_errno("timerfd_settime %s", names[i]);
}

static uint64_t ticks_read(int i)
{
	uint64_t v;

	if (read(fds[i], &v, sizeof(v)) != sizeof(v))
		fail_errno("read %s", names[i]);
	return v;
}

int main(int argc, char **argv)
{
	struct itimerspec t;
	uint64_t five = 5, v;
	char now[256];

	test_init(argc, argv);

	make(REL, CLOCK_MONOTONIC, 0, 0, &(struct itimerspec){ .it_value = { 30, 0 } });
	make(PER, CLOCK_MONOTONIC, 0, 0,
	     &(struct itimerspec){ { 0, 200000000 }, { 0, 200000000 } });
	abs_target = now_ns(CLOCK_REALTIME) + 60 * NSEC;
	make(ABS, CLOCK_REALTIME, 0, TFD_TIMER_ABSTIME,
	     &(struct itimerspec){ .it_value = { abs_target / NSEC, abs_target % NSEC } });
	make(FIRED, CLOCK_BOOTTIME, TFD_NONBLOCK, 0,
	     &(struct itimerspec){ .it_value = { 0, 1000000 } });
	make(TICKS, CLOCK_MONOTONIC, TFD_NONBLOCK, 0, &(struct itimerspec){ 0 });
	if (ioctl(fds[TICKS], TFD_IOC_SET_TICKS, &five))
		fail_errno("TFD_IOC_SET_TICKS");
	usleep(20000);		/* FIRED expires */

	for (int i = 0; i < NR; i++) {
		flags[i] = fcntl(fds[i], F_GETFL);
		tfd_info(i, info[i], sizeof(info[i]));
		gettime(i, &its[i]);
	}
	zdtm_check(strstr(info[FIRED], "ticks: 1;") && strstr(info[TICKS], "ticks: 5;"));
	zdtm_check(strstr(info[ABS], "settime flags: 01;"));
	rel_left = ts_ns(&its[REL].it_value);
	rel_taken_mono = now_ns(CLOCK_MONOTONIC);

	test_ready();
	test_wait_checkpoint();

	for (int i = 0; i < NR; i++) {
		int fl = fcntl(fds[i], F_GETFL);

		tfd_info(i, now, sizeof(now));
		if (strcmp(now, info[i]))
			fail("%s: fdinfo '%s', expected '%s'", names[i], now, info[i]);
		if (fl != flags[i])
			fail("%s: flags %#o, expected %#o", names[i], fl, flags[i]);
		gettime(i, &t);
		if (ts_ns(&t.it_interval) != ts_ns(&its[i].it_interval))
			fail("%s: interval %" PRId64 " ns, expected %" PRId64, names[i],
			     ts_ns(&t.it_interval), ts_ns(&its[i].it_interval));
	}

	gettime(REL, &t);
	if (ts_ns(&t.it_value) <= 0 || ts_ns(&t.it_value) > rel_left ||
	    ts_ns(&t.it_value) < rel_left - (now_ns(CLOCK_MONOTONIC) - rel_taken_mono) - SLACK_NS)
		fail("REL: %" PRId64 " ns left, %" PRId64 " ns before the checkpoint",
		     ts_ns(&t.it_value), rel_left);

	gettime(ABS, &t);
	v = now_ns(CLOCK_REALTIME) + ts_ns(&t.it_value);
	if (ts_ns(&t.it_value) <= 0 || (int64_t)v < abs_target - SLACK_NS || (int64_t)v > abs_target + SLACK_NS)
		fail("ABS: expires at %" PRIu64 ", expected %" PRId64, v, abs_target);

	gettime(PER, &t);
	if (ts_ns(&t.it_value) <= 0 || ts_ns(&t.it_value) > 200000000)
		fail("PER: %" PRId64 " ns to the next expiry, period 200 ms", ts_ns(&t.it_value));
	if ((v = ticks_read(PER)) < 1)
		fail("PER: read %" PRIu64 " ticks", v);

	if ((v = ticks_read(FIRED)) != 1)
		fail("FIRED: read %" PRIu64 " ticks, expected 1", v);
	if ((v = ticks_read(TICKS)) != 5)
		fail("TICKS: read %" PRIu64 " ticks, expected 5", v);
	for (int i = FIRED; i <= TICKS; i++)
		if (read(fds[i], &v, sizeof(v)) != -1 || errno != EAGAIN)
			fail("%s: more ticks after reading them all", names[i]);
	pass();
}
