/*
 * Failure injection: tests set CR_FAIL_AT=<point> to prove that a dump or
 * restore failing at that point cleans up after itself.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include "cr.h"
#include "log.h"

int cr_fail_point(const char *name)
{
	/* Read once: the environment does not change under us. */
	static const char *armed;
	static bool loaded;

	if (!loaded) {
		armed = getenv("CR_FAIL_AT");
		loaded = true;
	}
	if (!armed || !name)
		return 0;
	/* "sigkill:<point>": cr dies there as if killed from outside. */
	if (!strncmp(armed, "sigkill:", 8) && !strcmp(armed + 8, name)) {
		pr_err("killing cr at %s (injected)", name);
		kill(getpid(), SIGKILL);
	}
	if (strcmp(armed, name))
		return 0;

	pr_err("failure injected at %s", name);
	return -EIO;
}
