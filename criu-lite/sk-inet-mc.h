#ifndef CR_SK_INET_MC_H
#define CR_SK_INET_MC_H

/*
 * Multicast group memberships of UDP and raw sockets, with their source
 * filters (sk-inet-mc.c). No interface lists a socket's groups: the
 * candidates are the groups joined on the socket's net namespace's
 * interfaces (/proc/PID/net/igmp, igmp6), and MCAST_MSFILTER says for
 * each whether this socket is a member, and its filter.
 */
#include "files-kind.h"

int inet_mc_dump(const struct fd_dump *d, InetSkEntry *e);
/* Joins @fd (a new socket, bound if it was) to the groups of @fe. */
int inet_mc_restore(const FileEntry *fe, int fd);
/* The memberships of @e are well formed. */
bool inet_mc_valid(const InetSkEntry *e);
void inet_mc_free(InetSkEntry *e);

#endif
