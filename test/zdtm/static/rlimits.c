/* Lowered resource limits survive (soft and hard values). */
#include <sys/resource.h>
#include "zdtm.h"

struct lim {
	int res;
	const char *name;
	struct rlimit want;
};

int main(int argc, char **argv)
{
	struct rlimit cur;
	struct lim lims[] = {
		{ RLIMIT_NOFILE, "RLIMIT_NOFILE", { 0, 0 } },
		{ RLIMIT_CORE, "RLIMIT_CORE", { 12345, 0 } },
		{ RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE", { 4096, 0 } },
	};

	test_init(argc, argv);
	for (unsigned i = 0; i < sizeof(lims) / sizeof(lims[0]); i++) {
		if (getrlimit(lims[i].res, &cur))
			fail_errno("getrlimit %s", lims[i].name);
		/* Only lower, so no privilege is needed; keep the hard limit
		 * for NOFILE (lower it a bit for the others). */
		if (lims[i].res == RLIMIT_NOFILE) {
			lims[i].want.rlim_cur = 200;
			lims[i].want.rlim_max = cur.rlim_max;
		} else {
			lims[i].want.rlim_max = lims[i].want.rlim_cur * 2;
			if (cur.rlim_max != RLIM_INFINITY && cur.rlim_max < lims[i].want.rlim_max) {
				lims[i].want.rlim_max = cur.rlim_max;
				lims[i].want.rlim_cur = cur.rlim_max / 2;
			}
		}
		if (setrlimit(lims[i].res, &lims[i].want))
			fail_errno("setrlimit %s", lims[i].name);
	}

	test_ready();
	test_wait_checkpoint();

	for (unsigned i = 0; i < sizeof(lims) / sizeof(lims[0]); i++) {
		if (getrlimit(lims[i].res, &cur))
			fail_errno("getrlimit %s", lims[i].name);
		if (cur.rlim_cur != lims[i].want.rlim_cur || cur.rlim_max != lims[i].want.rlim_max)
			fail("%s is %lu/%lu, expected %lu/%lu", lims[i].name,
			     (unsigned long)cur.rlim_cur, (unsigned long)cur.rlim_max,
			     (unsigned long)lims[i].want.rlim_cur,
			     (unsigned long)lims[i].want.rlim_max);
	}
	pass();
}
