#ifndef CR_PIE_RESTORER_AIO_H
#define CR_PIE_RESTORER_AIO_H

#include "restorer-abi.h"

/*
 * Makes the @n AIO contexts of @aios again (pie/restorer-aio.c), each
 * ring at its dumped address with its head, tail and unreaped events;
 * @fd is a regular file the dummy requests read nothing from. Returns 0
 * or -errno (logged).
 */
long restorer_aio_rings(const struct restorer_aio *aios, u32 n, int fd);

#endif
