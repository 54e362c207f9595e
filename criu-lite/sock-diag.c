/* One sock_diag dump request through libnl-3 (see sock-diag.h). */
#include <errno.h>
#include <linux/sock_diag.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "log.h"
#include "sock-diag.h"

struct diag_walk {
	int (*parse)(struct nlmsghdr *reply, void *arg);
	void *arg;
	int err;
};

static int diag_reply(struct nl_msg *msg, void *arg)
{
	struct diag_walk *w = arg;

	w->err = w->parse(nlmsg_hdr(msg), w->arg);
	return w->err ? NL_STOP : NL_OK;
}

int sock_diag_dump(const void *req, size_t len, const char *what,
		   int (*parse)(struct nlmsghdr *reply, void *arg), void *arg)
{
	struct diag_walk w = { parse, arg, 0 };
	struct nl_sock *sk = nl_socket_alloc();
	int err;

	if (!sk)
		return pr_errno(-ENOMEM, "sock_diag: nl_socket_alloc");
	/* A dump ends with NLMSG_DONE; no ACK is asked for. */
	nl_socket_disable_auto_ack(sk);
	err = nl_connect(sk, NETLINK_SOCK_DIAG);
	if (err < 0) {
		pr_err("sock_diag: connecting a NETLINK_SOCK_DIAG socket: %s", nl_geterror(err));
		nl_socket_free(sk);
		return -EIO;
	}
	err = nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, diag_reply, &w);
	if (err >= 0)
		err = nl_send_simple(sk, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP | NLM_F_REQUEST, (void *)req, len);
	if (err >= 0)
		err = nl_recvmsgs_default(sk);
	nl_socket_free(sk);
	if (w.err)
		return w.err;
	if (err < 0) {
		pr_err("sock_diag: listing %s: %s", what, nl_geterror(err));
		return -EIO;
	}
	return 0;
}
