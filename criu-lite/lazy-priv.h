#ifndef CR_LAZY_PRIV_H
#define CR_LAZY_PRIV_H

#include <stdint.h>

/*
 * Where the lazy-pages daemon gets page bytes: the page image in the
 * images dir (lazy-src.c), or later a page server. get() gives @len
 * bytes at image offset @off, valid until put() of the same range.
 */
struct lazy_src {
	const struct lazy_src_ops *ops;
	void *priv;
};

struct lazy_src_ops {
	int (*get)(struct lazy_src *s, uint64_t off, uint64_t len, const void **ret);
	void (*put)(struct lazy_src *s, uint64_t off, uint64_t len);
	void (*close)(struct lazy_src *s);
};

/* pages-@pages_id.img of @dfd, mapped read-only. 0 or -errno (logged). */
int lazy_src_open_file(int dfd, unsigned pages_id, struct lazy_src *ret);

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
