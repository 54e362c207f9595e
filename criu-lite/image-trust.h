#ifndef CR_IMAGE_TRUST_H
#define CR_IMAGE_TRUST_H

#include <sys/stat.h>

/*
 * The trust rule of img_trust_set() (image.h) for @path (a directory or an
 * image), as it was opened (@st). Returns 0, or -EPERM after logging.
 */
int img_trust_check(const char *path, const struct stat *st);

#endif
