#ifndef CR_SK_UDP_H
#define CR_SK_UDP_H

/*
 * The receive queue of a UDP socket (sk-udp.c), for the inet socket kind
 * (sk-inet.c): InetSkEntry.dgrams.
 */
#include "files-kind.h"

/* Dump: peeks every queued datagram of @d with its sender into e->dgrams. 0 or -errno. */
int udp_queue_dump(struct fd_dump *d, InetSkEntry *e);
/* Frees what udp_queue_dump() hung off @e. */
void udp_queue_free(InetSkEntry *e);
/*
 * Restore: puts fe's datagrams back into the queue of @fd, bound and not
 * connected yet (a connected socket takes only its peer's). 0 or -errno.
 */
int udp_queue_restore(struct files_rst *rf, const FileEntry *fe, int fd);

#endif
