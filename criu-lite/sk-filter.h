#ifndef CR_SK_FILTER_H
#define CR_SK_FILTER_H

/* Classic BPF socket filters, for every socket kind (sk-filter.c). */
#include "files-kind.h"
#include "sk-filter.pb-c.h"

/*
 * Dump: @d's filter into *@ret (NULL: none); an eBPF one is refused
 * (files_refuse()). 0 or -errno, logged.
 */
int sk_filter_dump(const struct fd_dump *d, SkFilter **ret);
void sk_filter_free(SkFilter *f);
/* Restore: -EBADMSG if @f (NULL: none) is no program SO_ATTACH_FILTER takes. */
int sk_filter_check(const SkFilter *f);
/* Attaches @f (NULL: nothing) to @fd and locks it as it was; @what names the socket. */
int sk_filter_restore(int fd, const SkFilter *f, const char *what);

#endif
