#ifndef CR_NETLOCK_H
#define CR_NETLOCK_H

/*
 * The network lock (--network-lock iptables|nftables|skip, criu's).
 *
 * A dump with --tcp-established puts the tree's connections into TCP
 * repair mode and kills the tree: until the restore has them live again,
 * a packet of a peer would find no socket and get a reset, which kills
 * the connection. So cr drops the tree's traffic meanwhile:
 *
 *   - a tree in a net namespace of its own: rules in that namespace drop
 *     everything, the loopback too (a connection with both ends in the
 *     tree must not move between the dumps of its ends), from before the
 *     dump reads the tree
 *     until it ends (the namespace then goes with the killed tree, its
 *     links set down first: a dying namespace loses its rules before its
 *     links, and would answer a peer with resets meanwhile); the
 *     restore locks the new namespace the same way before its links are
 *     made, and unlocks it once the connections are live after the go.
 *     A namespace with no link but the loopback gets no packets from
 *     outside: it is locked only with --tcp-established, and so is its
 *     new one (a connection rebuilt closing answers the segments
 *     replayed into it, before its peer is rebuilt).
 *   - a tree in cr's net namespace: rules there drop the packets of each
 *     established connection of the tree (its 4-tuple, both ways), from
 *     before the connections go into repair mode until the restore has
 *     them live again; the inventory records them (NetlockEntry) for the
 *     restore to remove.
 *
 * Every lock is one table (nftables: "inet cr-XXXXXXXX") or one chain
 * (iptables: "cr-XXXXXXXX", jumped to first from INPUT and OUTPUT) with
 * a random name per lock, put in and taken out in one transaction each
 * (nft -f, iptables-restore --noflush), so nothing of anybody else's is
 * touched. A failed dump and one with --leave-running unlock; a dump
 * that dies (SIGKILL) after the lock has its guard unlock unless the
 * images were complete (the tree is killed then, and the lock stays for
 * the restore). A restore that fails or dies before the go leaves the
 * dump's lock in place (the images still restore) and its own goes with
 * the new namespace; after the go, the guard unlocks for a dead cr.
 *
 * Functions return 0 or -errno after logging one line.
 */
#include <stdbool.h>

#include "cr.h"
#include "inventory.pb-c.h"

struct guard;
struct pstree;
struct netlock;

/*
 * Packets with this mark (SO_MARK) pass every lock: the segments restore
 * injects into a connection it rebuilds (sk-tcp-fin.c), a FIN the peer
 * had sent, an ACK of the connection's own FIN.
 */
#define NETLOCK_PASS_MARK	0x63724c6bu	/* "crLk" */

/* The mode's name, as --network-lock spells it; NULL for no mode. */
const char *netlock_mode_name(int mode);
/* --network-lock MODE: 0 and *@ret (enum netlock_mode), or -EINVAL (not logged). */
int netlock_mode_parse(const char *s, int *ret);

/*
 * Dump, the tree seized (cr in its net namespace, @own_netns if that is
 * not cr's own): locks what the mode and the tree call for (*@ret NULL:
 * nothing). The guard @g unlocks if cr dies before netlock_dump_end()
 * (unless the dump's guard finishes the dump instead).
 */
int netlock_dump_lock(const struct cr_options *o, const struct pstree *tree, bool own_netns,
		      struct guard *g, struct netlock **ret);
/*
 * The lock netlock_dump_lock() makes in a thread (the tree's connections
 * collected, the rules committed) is in place: before the first
 * connection is read. 0 or -errno (logged). One that found nothing to
 * lock is freed (*@l NULL).
 */
int netlock_dump_wait(struct netlock **l);
/*
 * For the inventory: a lock the restore must take out (one in cr's
 * namespace) goes to @e (pointing into @l) and inv->netlock. No-op for NULL.
 */
void netlock_dump_record(const struct netlock *l, InventoryEntry *inv, NetlockEntry *e);
/* The dump ends: the lock stays if @keep (the tree was killed), else is taken out; @l is freed. */
void netlock_dump_end(struct netlock *l, bool keep);

/*
 * Restore: the dump's lock the inventory records, taken out by
 * netlock_release() (*@ret NULL: none, or --network-lock skip, which
 * leaves it to the caller as criu does).
 */
int netlock_restore_read(const struct cr_options *o, const InventoryEntry *inv, struct netlock **ret);
/* The tree's new net namespace @nsfd, before its links are made: locked (*@ret NULL with skip). */
int netlock_netns_new(const struct cr_options *o, int nsfd, struct netlock **ret);
/* The fd of the namespace the lock is in (for the guard to keep), or -1. */
int netlock_fd(const struct netlock *l);
/* Takes the lock out, once (later calls do nothing); a failure is logged. NULL is a no-op. */
void netlock_release(struct netlock *l);
/* Frees, leaving the lock as it is. */
void netlock_free(struct netlock *l);

#endif
