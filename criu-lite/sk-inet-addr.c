/* The address bytes of the inet socket images (sk-inet-addr.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>

#include "cleanup.h"
#include "log.h"
#include "sk-inet-addr.h"

size_t inet_addr_len(uint32_t family)
{
	return family == AF_INET6 ? sizeof(struct in6_addr) : sizeof(struct in_addr);
}

socklen_t inet_sockaddr(uint32_t family, const ProtobufCBinaryData *addr, uint32_t port,
			struct sockaddr_storage *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ret;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons(port);
		if (addr->len == sizeof(s->sin6_addr))
			memcpy(&s->sin6_addr, addr->data, addr->len);
		return sizeof(*s);
	} else {
		struct sockaddr_in *s = (struct sockaddr_in *)ret;

		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		if (addr->len == sizeof(s->sin_addr))
			memcpy(&s->sin_addr, addr->data, addr->len);
		return sizeof(*s);
	}
}

const char *inet_addr_fmt(struct inet_addr_str *buf, uint32_t family,
			  const ProtobufCBinaryData *addr, uint32_t port)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (addr->len == inet_addr_len(family))
		inet_ntop(family, addr->data, a, sizeof(a));
	snprintf(buf->s, sizeof(buf->s), family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
	return buf->s;
}

int inet_addr_from_sa(const struct sockaddr_storage *ss, ProtobufCBinaryData *addr, uint32_t *port)
{
	const void *src;
	size_t len;

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;

		src = &s->sin6_addr;
		len = sizeof(s->sin6_addr);
		*port = ntohs(s->sin6_port);
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)ss;

		src = &s->sin_addr;
		len = sizeof(s->sin_addr);
		*port = ntohs(s->sin_port);
	} else {
		return -EAFNOSUPPORT;
	}
	addr->data = xmalloc(len);
	if (!addr->data)
		return -ENOMEM;
	memcpy(addr->data, src, len);
	addr->len = len;
	return 0;
}
