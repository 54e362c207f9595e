/*
 * The page server protocol's codec and byte movers, both ends'
 * (page-wire.h describes the messages).
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "compiler.h"
#include "image.h"
#include "log.h"
#include "page-wire.h"

/* Where the header's fields are. */
#define H_MAGIC		0
#define H_CMD		4
#define H_VERSION	6
#define H_ID		8
#define H_PID		12
#define H_OFF		16
#define H_LEN		24
#define H_COUNT		32
#define H_CRC		36

static const char *const cmd_names[PS_CMD_MAX] = {
	[PS_OPEN] = "OPEN", [PS_DATA] = "DATA", [PS_SUMS] = "SUMS",
	[PS_COMMIT] = "COMMIT", [PS_ACK] = "ACK", [PS_CLOSE] = "CLOSE", [PS_SYNC] = "SYNC",
	[PS_LZ_OPEN] = "LZ_OPEN", [PS_LZ_GET] = "LZ_GET", [PS_LZ_DONE] = "LZ_DONE",
	[PS_LZ_START] = "LZ_START",
	[PS_OPENZ] = "OPENZ",
};

const char *ps_cmd_name(unsigned cmd)
{
	return cmd && cmd < PS_CMD_MAX ? cmd_names[cmd] : "unknown";
}

static void put16(unsigned char *p, uint16_t v) { v = htole16(v); memcpy(p, &v, 2); }
static void put32(unsigned char *p, uint32_t v) { v = htole32(v); memcpy(p, &v, 4); }
static void put64(unsigned char *p, uint64_t v) { v = htole64(v); memcpy(p, &v, 8); }
static uint16_t get16(const unsigned char *p) { uint16_t v; memcpy(&v, p, 2); return le16toh(v); }
static uint32_t get32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return le32toh(v); }
static uint64_t get64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return le64toh(v); }

void ps_hdr_pack(const struct ps_hdr *h, unsigned char buf[PS_HDR_SIZE])
{
	put32(buf + H_MAGIC, PS_MAGIC);
	put16(buf + H_CMD, h->cmd);
	put16(buf + H_VERSION, PS_VERSION);
	put32(buf + H_ID, h->id);
	put32(buf + H_PID, h->pid);
	put64(buf + H_OFF, h->off);
	put64(buf + H_LEN, h->len);
	put32(buf + H_COUNT, h->count);
	put32(buf + H_CRC, crc32c(0, buf, H_CRC));
}

int ps_hdr_unpack(const unsigned char buf[PS_HDR_SIZE], const char *peer, struct ps_hdr *ret)
{
	if (get32(buf + H_MAGIC) != PS_MAGIC)
		return pr_errno(-EBADMSG, "%s: not a cr page server message (bad magic)", peer);
	if (get16(buf + H_VERSION) != PS_VERSION)
		return pr_errno(-EBADMSG, "%s: page server protocol version %u, this cr speaks %u", peer,
				get16(buf + H_VERSION), PS_VERSION);
	if (get32(buf + H_CRC) != crc32c(0, buf, H_CRC))
		return pr_errno(-EBADMSG, "%s: message header checksum mismatch", peer);
	ret->cmd = get16(buf + H_CMD);
	if (!ret->cmd || ret->cmd >= PS_CMD_MAX)
		return pr_errno(-EBADMSG, "%s: unknown command %u", peer, ret->cmd);
	ret->id = get32(buf + H_ID);
	ret->pid = get32(buf + H_PID);
	ret->off = get64(buf + H_OFF);
	ret->len = get64(buf + H_LEN);
	ret->count = get32(buf + H_COUNT);
	return 0;
}

void ps_sum_pack(uint64_t len, uint32_t crc, unsigned char buf[PS_SUM_SIZE])
{
	put64(buf, len);
	put32(buf + 8, crc);
	put32(buf + 12, 0);
}

void ps_sum_unpack(const unsigned char buf[PS_SUM_SIZE], uint64_t *ret_len, uint32_t *ret_crc)
{
	*ret_len = get64(buf);
	*ret_crc = get32(buf + 8);
}

int ps_send(int sk, const struct ps_hdr *h, const void *payload, uint64_t len, int more)
{
	unsigned char hdr[PS_HDR_SIZE];
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)payload, payload ? len : 0 } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };

	ps_hdr_pack(h, hdr);
	while (iov[0].iov_len + iov[1].iov_len) {
		ssize_t n = sendmsg(sk, &m, MSG_NOSIGNAL | (more ? MSG_MORE : 0));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (unsigned i = 0; i < 2; i++) {
			size_t k = min((size_t)n, iov[i].iov_len);

			iov[i].iov_base = (char *)iov[i].iov_base + k;
			iov[i].iov_len -= k;
			n -= k;
		}
	}
	return 0;
}

/* One step of a loop that moves bytes: counts @n off *@left; -errno, -EPIPE at the end of the input. */
static int moved(ssize_t n, uint64_t *left)
{
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (n == 0)
		return -EPIPE;
	*left -= n;
	return 0;
}

int ps_recv_all(int sk, void *buf, uint64_t len)
{
	char *end = (char *)buf + len;
	int err = 0;

	while (len && !err)
		err = moved(recv(sk, end - len, len, MSG_WAITALL), &len);
	return err;
}

int ps_splice_all(int in, int out, uint64_t len)
{
	int err = 0;

	while (len && !err)
		err = moved(splice(in, NULL, out, NULL, len, SPLICE_F_MOVE | SPLICE_F_MORE), &len);
	return err;
}

int ps_socket(const char *address, int port, bool passive, const char **ret_gai)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = passive ? AI_PASSIVE : 0 };
	struct addrinfo *res = NULL, *ai;
	char service[16];
	int err, sk = -1, one = 1;

	*ret_gai = NULL;
	snprintf(service, sizeof(service), "%d", port);
	err = getaddrinfo(address, service, &hints, &res);
	if (err) {
		*ret_gai = gai_strerror(err);
		return -EADDRNOTAVAIL;
	}
	err = -EADDRNOTAVAIL;
	for (ai = res; ai && sk < 0; ai = ai->ai_next) {
		sk = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (sk < 0) {
			err = -errno;
			continue;
		}
		if (passive)
			setsockopt(sk, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (passive ? bind(sk, ai->ai_addr, ai->ai_addrlen) < 0 || listen(sk, 1) < 0
			    : connect(sk, ai->ai_addr, ai->ai_addrlen) < 0) {
			err = -errno;
			close(sk);
			sk = -1;
		}
	}
	freeaddrinfo(res);
	return sk < 0 ? err : sk;
}

#define KEEPALIVE_IDLE		10	/* seconds without traffic before the first probe */
#define KEEPALIVE_INTVL		5
#define KEEPALIVE_CNT		4

void ps_keepalive(int sk)
{
	int one = 1, idle = KEEPALIVE_IDLE, intvl = KEEPALIVE_INTVL, cnt = KEEPALIVE_CNT;

	/* (void): without them a dead host is noticed later, not wrongly. */
	(void)setsockopt(sk, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	(void)setsockopt(sk, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	(void)setsockopt(sk, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	(void)setsockopt(sk, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	(void)setsockopt(sk, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void ps_peer_name(const struct sockaddr_storage *ss, unsigned len, const char *who, const char *unnamed,
		  char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN], serv[8];

	if (getnameinfo((const struct sockaddr *)ss, len, host, sizeof(host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV))
		snprintf(buf, size, "%s", unnamed);
	else
		snprintf(buf, size, "%s %s:%s", who, host, serv);
}
