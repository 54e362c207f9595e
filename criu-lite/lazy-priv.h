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

#endif
