#ifndef CR_LAZY_SERVE_H
#define CR_LAZY_SERVE_H

/*
 * The source end of a lazy migration (criu's model): `cr dump
 * --lazy-pages --address A --port P` writes every image but the page
 * data into -D, keeps the tree frozen and serves the page bytes to the
 * destination's `cr lazy-pages --page-server` on request (page-wire.h,
 * LZ_*), from a page image of its own that no name leads to; `cr
 * page-server --lazy-pages` serves a dump's pages-N.img the same way.
 * One destination, one image; over when it says every page is in place.
 */
#include <stdbool.h>

struct cr_options;

/*
 * What is wrong with @o's lazy pages options (CLI or RPC): --lazy-pages
 * of dump and page-server (a page source), of pre-dump, --page-server of
 * lazy-pages. NULL: nothing.
 */
const char *lazy_serve_opts_error(const struct cr_options *o);

/* The listening socket of @o's --address (all if none) and --port. Returns it or -errno (logged). */
int lazy_serve_listen(const struct cr_options *o);

/* Called when the destination says that a restore may run from the bytes from now on (LZ_START). */
typedef int (*lazy_serve_start_fn)(void *arg);

/*
 * Reports ready on --status-fd, accepts one destination on @lsk and
 * serves it pages-@id.img, open at @fd, until it says every page is in
 * place: 0. Otherwise -errno (logged: a destination that went away says
 * so, with what it had got). *@ret_started: whether @start was called
 * (and said 0).
 */
int lazy_serve(const struct cr_options *o, int lsk, int fd, unsigned id, lazy_serve_start_fn start, void *arg,
	       bool *ret_started);

/* `cr page-server --lazy-pages -D DIR`: serves DIR's pages-1.img. 0 or -errno (logged). */
int cr_lazy_page_server(const struct cr_options *o, int dfd);

#endif
