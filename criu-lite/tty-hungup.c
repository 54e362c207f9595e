/*
 * A pty slave whose master was closed: the kernel hung it up (reads give
 * end of file, writes EIO, ioctls EIO) and removed its /dev/pts/N node,
 * so there is no path to open and no master in the tree. Restore makes a
 * new pair, opens its slave and closes the master: the same hang-up. Two
 * descriptions of one hung-up pts come back as slaves of two pairs,
 * which nothing can tell apart any more but their device numbers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "open-file.h"
#include "tty-priv.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER		_IO('T', 0x41)
#endif

bool tty_hungup(int fd)
{
	struct termios tio;

	/* A live slave answers TCGETS, whoever holds its master. */
	return ioctl(fd, TCGETS, &tio) < 0 && errno == EIO;
}

int tty_hungup_open(const FileEntry *fe)
{
	_cleanup_close_ int master = rst_open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	int unlock = 0, slave;

	if (master < 0)
		return pr_errno(-errno, "hung-up pty slave id %u (was /dev/pts/%u): opening /dev/ptmx", fe->id,
				fe->tty->index);
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return pr_errno(-errno, "hung-up pty slave id %u: unlocking the new pty", fe->id);
	slave = ioctl(master, TIOCGPTPEER, (fe->flags & O_ACCMODE) | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return pr_errno(-errno, "hung-up pty slave id %u: opening the new slave (TIOCGPTPEER)", fe->id);
	/* The master's last close hangs the slave up (pty_close(), at once). */
	return slave;
}
