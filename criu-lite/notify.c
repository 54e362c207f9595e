/*
 * Notifications: the points of a dump and a restore where criu runs its
 * action scripts. cr calls the hook the options carry (the RPC's NOTIFY
 * round trip); the CLI has none.
 */
#include "cr.h"
#include "log.h"

int cr_notify(const struct cr_options *o, const char *script, pid_t pid)
{
	int err;

	if (!o->notify)
		return 0;
	pr_info("notify %s (pid %d)", script, pid);
	err = o->notify(o->notify_ctx, script, pid);
	if (err)
		return pr_errno(err, "notification %s failed", script);
	return 0;
}
