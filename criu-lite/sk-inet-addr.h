#ifndef CR_SK_INET_ADDR_H
#define CR_SK_INET_ADDR_H

/*
 * IPv4 and IPv6 addresses as the inet socket images keep them: the
 * address bytes in network order (4 or 16) and a port. Used by the inet
 * kind (sk-inet.c) and the parts it calls (sk-tcp.c, sk-udp.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <protobuf-c/protobuf-c.h>

/* The length of an address of @family in the image: 16 for AF_INET6, else 4. */
size_t inet_addr_len(uint32_t family);

/* The sockaddr of the image's address bytes and port; returns its length. */
socklen_t inet_sockaddr(uint32_t family, const ProtobufCBinaryData *addr, uint32_t port,
			struct sockaddr_storage *ret);

/* Fills @addr (allocated) and @port from a sockaddr. 0, -EAFNOSUPPORT or -ENOMEM. */
int inet_addr_from_sa(const struct sockaddr_storage *ss, ProtobufCBinaryData *addr, uint32_t *port);

/* "127.0.0.1:80" or "[::1]:80" of the image's address bytes, for messages. */
struct inet_addr_str {
	char s[64];
};
const char *inet_addr_fmt(struct inet_addr_str *buf, uint32_t family,
			  const ProtobufCBinaryData *addr, uint32_t port);

#endif
