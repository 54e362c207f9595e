/*
 * Failure injection: tests set CR_FAIL_AT=<point> to prove that a dump or
 * restore failing at that point cleans up after itself.
 *
 *   CR_FAIL_AT=<point>		the first arrival at <point> fails (-EIO)
 *   CR_FAIL_AT=<point>@N	the N-th arrival fails (points reached once
 *				per task: the N-th task)
 *   CR_FAIL_AT=sigkill:<point>[@N]	cr dies of SIGKILL there instead
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include "cr.h"
#include "log.h"

static struct {
	bool loaded, sigkill;
	char name[64];
	unsigned nth;			/* 1-based */
	unsigned seen;			/* arrivals counted by cr_fail_point() */
} armed;

static void load(void)
{
	const char *env = getenv("CR_FAIL_AT");
	char *at;

	armed.loaded = true;
	if (!env || !env[0])
		return;
	if (!strncmp(env, "sigkill:", 8)) {
		armed.sigkill = true;
		env += 8;
	}
	snprintf(armed.name, sizeof(armed.name), "%s", env);
	armed.nth = 1;
	at = strchr(armed.name, '@');
	if (at) {
		*at = 0;
		armed.nth = atoi(at + 1) > 0 ? (unsigned)atoi(at + 1) : 1;
	}
}

int cr_fail_point_nth(const char *name, unsigned nth)
{
	if (!armed.loaded)
		load();
	if (!armed.name[0] || !name || strcmp(armed.name, name) || nth != armed.nth)
		return 0;
	if (armed.sigkill) {
		pr_err("killing cr at %s@%u (injected)", name, nth);
		kill(getpid(), SIGKILL);
	}
	pr_err("failure injected at %s@%u", name, nth);
	return -EIO;
}

void cr_fail_disarm(void)
{
	armed.loaded = true;
	armed.name[0] = 0;
}

int cr_fail_point(const char *name)
{
	if (!armed.loaded)
		load();
	if (!armed.name[0] || !name || strcmp(armed.name, name))
		return 0;
	return cr_fail_point_nth(name, ++armed.seen);
}
