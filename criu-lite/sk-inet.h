#ifndef CR_SK_INET_H
#define CR_SK_INET_H

/*
 * Shared by sk-inet.c (IPv4/IPv6 TCP and UDP sockets) and sk-tcp.c (TCP
 * repair mode for established connections).
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "files-kind.h"

/* "127.0.0.1:80" or "[::1]:80" of the image's address bytes. */
struct inet_addr_str {
	char s[64];
};
/* The sockaddr of the image's address bytes and port; returns its length. */
struct sockaddr_storage;
socklen_t inet_sockaddr(uint32_t family, const ProtobufCBinaryData *addr, uint32_t port,
			struct sockaddr_storage *ret);
const char *inet_addr_fmt(struct inet_addr_str *buf, uint32_t family,
			  const ProtobufCBinaryData *addr, uint32_t port);

/*
 * Dump: puts the established connection @d into repair mode (kept until
 * tcp_repair_dump_end()) and reads its queues and state into a new
 * e->tcp. @reuseaddr is SO_REUSEADDR as the program set it; leaving repair
 * mode clears it in the kernel, so it is put back then. 0 or -errno.
 */
int tcp_repair_dump(struct fd_dump *d, InetSkEntry *e, bool reuseaddr);
/* Repair mode off on every socket dumped, or just closed with the killed tree. */
void tcp_repair_dump_end(bool tree_killed);
void tcp_stream_free(TcpStreamEntry *t);

/*
 * Restore: @fd is a new socket in repair mode with its options set;
 * binds, connects without a handshake and fills the queues. The socket
 * stays in repair mode until tcp_repair_finish().
 */
int tcp_repair_restore(struct files_rst *rf, const FileEntry *fe, int fd);
/* Repair mode off, SO_REUSEADDR back, the never-sent tail of the send queue sent. */
int tcp_repair_finish(struct files_rst *rf, const FileEntry *fe, int fd);

#endif
