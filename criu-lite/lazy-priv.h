#ifndef CR_LAZY_PRIV_H
#define CR_LAZY_PRIV_H

#include <stdint.h>

#include "mm.pb-c.h"

struct cr_options;

/*
 * Where the lazy-pages daemon gets page bytes: the page image in the
 * images dir (lazy-src.c), or a page source on another host
 * (lazy-remote.c). get() gives @len bytes at image offset @off, valid
 * until put() of the same range. start() and finish() (may be NULL) tell
 * the source that a restore may run from its bytes from now on, and
 * that every page is in place; 0 or -errno (logged).
 */
struct lazy_src {
	const struct lazy_src_ops *ops;
	void *priv;
};

struct lazy_src_ops {
	int (*get)(struct lazy_src *s, uint64_t off, uint64_t len, const void **ret);
	void (*put)(struct lazy_src *s, uint64_t off, uint64_t len);
	void (*close)(struct lazy_src *s);
	int (*start)(struct lazy_src *s);
	int (*finish)(struct lazy_src *s);
};

/* pages-@pages_id.img of @dfd, mapped read-only. 0 or -errno (logged). */
int lazy_src_open_file(int dfd, unsigned pages_id, struct lazy_src *ret);

/*
 * `cr lazy-pages --page-server`: connects to the page source at
 * @o->ps.address:port (lazy-serve.h), opens its pages-@pages_id.img, and
 * makes the local pages-@pages_id.img in @dfd that a restore reads:
 * every byte but those the daemon fills lazily, which are holes there.
 * Returns 0 and the source in *@ret, or -errno (logged).
 */
int lazy_src_open_remote(const struct cr_options *o, int dfd, unsigned pages_id, struct lazy_src *ret);

/*
 * Calls @fn with every task of the images in @dfd (its pagemap-PID.img):
 * its pid, mm and runs, until @fn returns non-zero. 0, or the first
 * non-zero, or -errno (logged; no pagemap at all: -ENOENT).
 */
struct mem_plan;
typedef int (*lazy_task_fn)(void *arg, int pid, const MmEntry *mm, const struct mem_plan *plan);
int lazy_for_each_task(int dfd, lazy_task_fn fn, void *arg);

/*
 * The checksums of the page image's runs (lazy-check.c), loaded from
 * every pagemap-*.img of @dfd. lazy_check_range(): 0 when the runs
 * holding image bytes [@off, @off + @len) are right (each checked once,
 * whole, with @src), -EBADMSG (logged, naming @pid) or -errno.
 */
struct lazy_check;
int lazy_check_start(int dfd, struct lazy_check **ret);
unsigned lazy_check_pages_id(const struct lazy_check *c);
int lazy_check_range(struct lazy_check *c, struct lazy_src *src, uint64_t off, uint64_t len, int pid);
void lazy_check_stop(struct lazy_check *c);

#endif
