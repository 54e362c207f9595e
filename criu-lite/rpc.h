#ifndef CR_RPC_H
#define CR_RPC_H

/*
 * `cr swrk FD`: criu's RPC (proto/rpc.proto) for runc, podman and
 * libcriu. The request's options become a struct cr_options value
 * (rpc_map_opts()), then the CLI's paths run: cr_dump(), cr_restore(),
 * cr_check().
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cr.h"
#include "rpc.pb-c.h"

/*
 * The criu release whose RPC cr speaks, reported to VERSION requests
 * (callers compute major * 10000 + minor * 100 + sublevel): 3.19, the
 * last 3.x, whose request fields and notifications cr follows. runc
 * 1.1 asks for >= 3.0 (and changes what it sends at 3.11, 3.14, 3.15
 * and 3.16: all of it is handled here), podman for >= 3.11, crun for
 * >= 3.15. No gitid: callers would add 100 for one.
 */
#define CR_CRIU_RPC_MAJOR	3
#define CR_CRIU_RPC_MINOR	19
#define CR_CRIU_RPC_VERSION	"3.19"

/* What a request's options become; the strings point into the request or into @strs. */
struct rpc_opts {
	struct cr_options o;
	const char *work_dir;	/* work_dir_fd's directory, NULL: the image directory */
	const char *log_name;	/* log_file, in the work directory; NULL: stderr */
	bool notify;		/* notify_scripts: NOTIFY round trips */
	uint32_t *ext_inos;	/* unix_sk_ino, for o.ext_unix_inos */
	int ps_fd;		/* ps.fd: our copy of the caller's socket, or -1 */
	char **strs;		/* what was made from the request, freed with it */
	unsigned nr_strs;
};

/*
 * Maps the options of a request of @type (DUMP, RESTORE, CHECK,
 * PAGE_SERVER or PAGE_SERVER_CHLD) into
 * @ret (to be freed with rpc_opts_free() whatever is returned). @peer
 * is the caller: its fds (images_dir_fd, work_dir_fd) are named
 * /proc/@peer/fd/N. @opts may be NULL (no options: the defaults).
 * Returns 0, or -EINVAL / -EOPNOTSUPP with the reason, naming the field,
 * in @why (nothing logged: the log is not open yet). The image
 * directory, the work directory and the log are mapped first, so @ret
 * has them even after a refusal of another field.
 */
int rpc_map_opts(const CriuOpts *opts, CriuReqType type, pid_t peer, struct rpc_opts *ret, char *why,
		 size_t why_len);
void rpc_opts_free(struct rpc_opts *r);
/* Keeps @s (malloc'ed; NULL: returns NULL) until rpc_opts_free(); returns it. */
const char *rpc_opts_keep(struct rpc_opts *r, char *s);
/* Logs (info) the options accepted without changing what cr does, and why. */
void rpc_opts_log_accepted(const CriuOpts *opts, bool dump);

/* criu's name of a request type ("DUMP"), or "UNKNOWN". */
const char *rpc_type_name(CriuReqType type);

#endif
