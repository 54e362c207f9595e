#ifndef CR_SK_TCP_FIN_H
#define CR_SK_TCP_FIN_H

/*
 * A segment of a connection's peer, made up at restore to replay what the
 * dumped connection had received after it was established: the peer's
 * FIN, the peer's ACK of the connection's own FIN (sk-tcp-fin.c).
 */
#include <stdbool.h>
#include <stdint.h>

#include "sk-inet.pb-c.h"

struct tcp_segment {
	uint32_t seq, ack;	/* host order */
	uint16_t window;	/* as on the wire: scaled down */
	bool fin;
};

/* Sends @seg from @e's peer to the socket @sk of @e. 0 or -errno, logged. */
int tcp_peer_segment(int sk, const InetSkEntry *e, const struct tcp_segment *seg);

#endif
