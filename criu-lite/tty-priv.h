#ifndef CR_TTY_PRIV_H
#define CR_TTY_PRIV_H

/* Shared by the terminal files: tty.c and tty-hungup.c. */

#include <stdbool.h>

#include "fdinfo.pb-c.h"

/*
 * Dump: whether the pty slave open at @fd (cr's copy) was hung up: its
 * master closed, the kernel gave the file the hung-up operations (every
 * ioctl but TIOCSPGRP fails with EIO) and removed its /dev/pts/N node.
 */
bool tty_hungup(int fd);
/*
 * Restore: a hung-up pty slave (tty_entry.hung_up) with @fe's access
 * mode: the slave of a new pair whose master is closed at once. Returns
 * the fd or -errno (logged).
 */
int tty_hungup_open(const FileEntry *fe);

#endif
