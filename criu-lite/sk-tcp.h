#ifndef CR_SK_TCP_H
#define CR_SK_TCP_H

/*
 * TCP repair mode for established connections (sk-tcp.c), called by the
 * inet socket kind (sk-inet.c) for an InetSkEntry of an established TCP
 * connection.
 */
#include <stdbool.h>

#include "files-kind.h"

/*
 * Dump: puts the connection @d (in TCP state @state, one that
 * tcp_repair_state_kept()) into repair mode (kept until
 * tcp_repair_dump_end()) and reads its queues and state into a new
 * e->tcp. @reuseaddr is SO_REUSEADDR as the program set it; leaving repair
 * mode clears it in the kernel, so it is put back then. 0 or -errno.
 */
int tcp_repair_dump(struct fd_dump *d, InetSkEntry *e, bool reuseaddr, unsigned state);
/* "ESTABLISHED", "FIN_WAIT1", ... of a TCP_* state, "?" for another number. */
const char *tcp_state_name(unsigned state);
/* Established, or closing one way or both with the socket still open: kept in repair mode. */
bool tcp_repair_state_kept(unsigned state);
/* Repair mode off on every socket dumped, or just closed with the killed tree. */
void tcp_repair_dump_end(bool tree_killed);
void tcp_stream_free(TcpStreamEntry *t);

/*
 * Restore: @fd is a new socket in repair mode with its options set;
 * binds, connects without a handshake and fills the queues. The socket
 * stays in repair mode until tcp_repair_finish().
 */
int tcp_repair_restore(struct files_rst *rf, const FileEntry *fe, int fd);
/*
 * Restore, in cr before anything is created: the queue lengths make
 * sense, and the never-sent bytes are kept for tcp_repair_finish() (which
 * may run in cr's guard, with no image to read).
 */
int tcp_repair_check(struct files_rst *rf, const FileEntry *fe);
/* Repair mode off, SO_REUSEADDR back, the never-sent tail of the send queue sent. */
int tcp_repair_finish(struct files_rst *rf, const FileEntry *fe, int fd);

#endif
