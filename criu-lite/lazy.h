#ifndef CR_LAZY_H
#define CR_LAZY_H

/*
 * Lazy restore (post-copy), CRIU's model: `cr restore --lazy-pages`
 * creates the tree with its private anonymous memory registered with a
 * userfaultfd per task and empty; the lazy-pages daemon gets those
 * userfaultfds (pie/restorer-uffd.c sends them) and fills the memory:
 * the pages a fault asks for at once, every other page in the
 * background, then exits. The restore returns as soon as the tree runs.
 *
 * The daemon is `cr lazy-pages -D DIR`, listening on
 * DIR/lazy-pages.socket for one restore; a restore that finds no daemon
 * there starts its own. It is two processes (lazy-daemon.c): the server,
 * which fills the memory, and its parent, the keeper, which holds a copy
 * of every userfaultfd: if the server dies before all is in place, the
 * keeper kills the tree before the last copy closes (a closed
 * userfaultfd would let the tree fault in zeros where its data was).
 */
#include <stdbool.h>

#include "mm.pb-c.h"

struct cr_options;
struct mem_plan;

#define LAZY_SOCKET_NAME	"lazy-pages.socket"
#define LAZY_PIDFILE_NAME	"lazy-pages.pid"	/* the server's pid, for whoever watches it */

/* A VMA a lazy restore fills through the userfaultfd (the others are filled as always). */
bool lazy_vma(const VmaEntry *v);
/*
 * Restore: marks the runs of @plan that lie in lazy VMAs of @mm (the
 * daemon checks their checksums). Returns true if @plan has a shared run
 * cr fills itself: the bytes it refers to may be another task's lazy
 * run's, which cr's own check must then take too (verify_lazy).
 */
bool lazy_mark_runs(const MmEntry *mm, struct mem_plan *plan);
/*
 * Restore: the socket the restorers send their userfaultfds over: the
 * daemon listening in @dfd (DIR/lazy-pages.socket), or else a daemon of
 * its own (forked, serving the images in @dfd). 0 or -errno (logged).
 */
int lazy_restore_connect(int dfd, int *ret_sk);

/*
 * The daemon on the connected socket @sk, images in @dfd, page bytes
 * from @src (taken; NULL: the page image in @dfd): 0 when all memory is
 * in place, else -errno (logged).
 */
struct lazy_src;
int lazy_daemon_run(int dfd, int sk, struct lazy_src *src);
/* `cr lazy-pages -D DIR [--page-server --address A --port P]` (a remote page source: lazy-serve.h). */
int cr_lazy_pages(const struct cr_options *o, int dfd);

/*
 * A tree in a user namespace of its own makes its userfaultfds there:
 * without vm.unprivileged_userfaultfd the kernel allows it only for
 * faults from user mode (a read() into missing memory would fail with
 * EFAULT). 0, or -EOPNOTSUPP (logged).
 */
int lazy_userns_check(void);
/* Whether this kernel gives what lazy restore needs (userfaultfd with its events); logs why not. */
bool lazy_supported(void);

#endif
