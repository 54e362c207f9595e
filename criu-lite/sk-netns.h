#ifndef CR_SK_NETNS_H
#define CR_SK_NETNS_H

/*
 * The net namespace a socket belongs to (sk-netns.c), for the socket
 * kinds whose state is the namespace's: inet, packet and netlink sockets.
 */
#include "files-kind.h"

/*
 * Refuses @d (@what: "an inet socket", ...) when its socket belongs to
 * another net namespace than its task: it was made before the task moved
 * (unshare(), setns()), and cr reads and makes sockets in the task's
 * only. 0 when it is the task's, or when the kernel does not tell
 * (SIOCGSKNS); the refusal's -errno otherwise.
 */
int sk_dump_netns_check(const struct fd_dump *d, const char *what);
/* The dump is over: what sk_dump_netns_check() remembers of the tasks is forgotten. */
void sk_dump_netns_end(void);

#endif
