#ifndef CR_SK_INET_RAW_H
#define CR_SK_INET_RAW_H

/*
 * Raw IPv4 and IPv6 sockets (SOCK_RAW: ping's ICMP socket, a routing
 * daemon's) and ping sockets (SOCK_DGRAM of ICMP or ICMPv6, the
 * unprivileged ping's: their port is their echo id), the parts the inet kind (sk-inet.c) does not share with
 * TCP and UDP: the address they are bound to (no port: the protocol), a
 * peer, the ICMPv6 filter, and the packets queued (dropped with a
 * warning: raw packets may be lost anyway, and the kernel cannot put
 * them back with their headers as they came).
 */
#include "files-kind.h"

/* After the options (sk-inet.c): binding, peer, ICMPv6 filter, queue. 0 or -errno. */
int inet_raw_dump(struct fd_dump *d, InetSkEntry *e);
/* @fd is a new raw socket with its options set: its filter, binding and peer. */
int inet_raw_open(const FileEntry *fe, int fd);

#endif
