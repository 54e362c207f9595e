/*
 * Whether a restore may trust an image directory and its images: who
 * can write them decides what a restored process runs (image.h).
 */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "image-trust.h"
#include "log.h"

static enum img_trust trust = IMG_TRUST_ANY;

void img_trust_set(enum img_trust t)
{
	trust = t;
}

/* See image.h: only root or cr's own user may write what is restored. */
int img_trust_check(const char *path, const struct stat *st)
{
	char why[64];

	if (trust == IMG_TRUST_ANY)
		return 0;
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		snprintf(why, sizeof(why), "writable by group or others (mode %04o)",
			 (unsigned)(st->st_mode & 07777));
	else if (st->st_uid != 0 && st->st_uid != geteuid())
		snprintf(why, sizeof(why), "owned by uid %u", (unsigned)st->st_uid);
	else
		return 0;
	if (trust == IMG_TRUST_WARN) {
		pr_warn("%s: is %s: whoever can write it decides what is restored", path, why);
		return 0;
	}
	pr_err("%s: is %s, and cr runs as root: not restoring from it (--allow-untrusted-images would)",
	       path, why);
	return -EPERM;
}
