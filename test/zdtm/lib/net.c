/*
 * Sockets (zdtm.h): what several tests ask of theirs.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "zdtm.h"

unsigned tcp_state(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, SOL_TCP, TCP_INFO, &ti, &len))
		fail_errno("TCP_INFO of fd %d", fd);
	return ti.tcpi_state;
}
