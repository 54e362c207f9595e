#ifndef CR_SOCK_DIAG_H
#define CR_SOCK_DIAG_H

/*
 * The kernel's sock_diag (NETLINK_SOCK_DIAG): one dump request, every
 * reply handed to the caller. Shared by the socket kinds (sk-unix-diag.c,
 * sk-inet.c), which know their family's request and reply formats.
 */
#include <stddef.h>
#include <linux/netlink.h>

/*
 * Sends @req (@len bytes: the family's *_diag_req) as a
 * SOCK_DIAG_BY_FAMILY dump request and calls @parse(reply, @arg) for
 * every reply message until the dump is done. @parse returns 0 to go on,
 * or -errno to stop (having logged why). @what names the listing in
 * messages: "sock_diag: listing @what: ...".
 * Returns 0, @parse's error, or -EIO or -ENOMEM (logged) when netlink fails.
 */
int sock_diag_dump(const void *req, size_t len, const char *what,
		   int (*parse)(struct nlmsghdr *reply, void *arg), void *arg);

#endif
