#ifndef CR_IMAGE_PRIV_H
#define CR_IMAGE_PRIV_H

/* Shared by image.c and image-dir.c only. */

#include <string.h>
#include <sys/stat.h>

#include "log.h"

/*
 * Logs "<file>: <what> (<strerror>)" and evaluates to @err: image errors
 * read as "core-42.img: missing (No such file or directory)".
 */
#define img_errno(err, name, fmt, ...)					\
	({ int __e = (err);						\
	   pr_err("%s: " fmt " (%s)", name, ##__VA_ARGS__, strerror(-__e)); \
	   __e; })

#include "image-trust.h"

#endif
