/*
 * Terminals: pty pairs inside the tree and, with --shell-job, the
 * caller's terminal shared by the tree.
 *
 * A pty pair is one master (/dev/ptmx, 5:2) and its slave /dev/pts/N
 * (majors 136-143). Restore makes a new pair: the pts index is whatever
 * the kernel hands out now, and every slave fd of the tree is opened on
 * the new /dev/pts/M through TIOCGPTPEER. What the pair carries:
 *  - termios and window size: ioctls on a master act on its slave's
 *    (tty_pair_get_tty), so the master's entry holds them;
 *  - packet mode and the lock (TIOCSPTLCK), on the master;
 *  - bytes waiting to be read on either side, saved by reading them in
 *    cr and writing them back at once (the tree is frozen), so a dump
 *    with --leave-running keeps them;
 *  - the session whose controlling terminal the slave is and its
 *    foreground group (TIOCGSID/TIOCGPGRP answer through the master for
 *    anyone). The session leader sets it (TIOCSCTTY) right after its
 *    setsid(), before it forks the rest of its session, so they inherit
 *    it as they did at dump; it sets the foreground group once every
 *    group of the tree exists.
 *
 * Known limits (documented, not silent): input queued for a reader in
 * canonical mode comes back as one line (the line boundaries inside it
 * are not kept, a partial line becomes readable); a pending packet-mode
 * status byte is not kept; bytes queued towards a slave no task of the
 * tree holds open are not saved; a task of a session with a pty terminal
 * that had none itself (forked before the leader set it) gets it.
 *
 * --orphan-pts-master: a pts whose master is outside the tree (a
 * container runtime's console) is dumped as "orphan": termios, window
 * size, the session and foreground group from the tasks' stat. Restore
 * makes a new pair in the devpts the pts was on (or takes the pts the
 * holder made for a bind mount of it, runc's /dev/console), opens the
 * slaves by path there, and hands the master over (cr_hand_fd(): the
 * RPC's orphan-pts-master notification, or --console-socket).
 *
 * --shell-job: a terminal whose other side is outside the tree (the
 * shell's /dev/pts/N on fds 0-2) is dumped as "external". Restore opens
 * cr's stdin's terminal in its place and sets its termios; a tree whose
 * session used it as controlling terminal stays in cr's session (the
 * root did not lead its session: pstree.c joins it to cr's), so it
 * inherits cr's terminal, and a group of the tree that was in the
 * foreground is put there again where the kernel allows it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <dirent.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "cr.h"
#include "files-kind.h"
#include "io.h"
#include "log.h"
#include "open-file.h"
#include "proc-parse.h"
#include "tty-priv.h"

#define TTYAUX_MAJOR		5
#define PTMX_MINOR		2
#define TTY_MAJOR		4	/* virtual consoles and serial ports */
#define VC_MINOR_END		64	/* minors 0..63 of TTY_MAJOR: /dev/tty0../dev/tty63 */
#define PTS_MAJOR_FIRST		136	/* UNIX98_PTY_SLAVE_MAJOR */
#define PTS_MAJOR_COUNT		8
#define QUEUE_SETTLE_MS		2000	/* pty bytes reach the other side's queue from a work queue */

#ifndef TIOCGPTPEER
#define TIOCGPTPEER		_IO('T', 0x41)
#endif

/* ---- common -------------------------------------------------------------- */

static bool is_ptmx(dev_t rdev)
{
	return major(rdev) == TTYAUX_MAJOR && minor(rdev) == PTMX_MINOR;
}

static bool is_pts(dev_t rdev)
{
	return major(rdev) >= PTS_MAJOR_FIRST && major(rdev) < PTS_MAJOR_FIRST + PTS_MAJOR_COUNT;
}

static unsigned pts_index(dev_t rdev)
{
	return (major(rdev) - PTS_MAJOR_FIRST) * 256 * 1024u + minor(rdev);
}

/* The kernel's "new" dev_t encoding, as files-reg.c stores rdev. */
static uint32_t rdev_encode(dev_t dev)
{
	unsigned maj = major(dev), min = minor(dev);

	return (min & 0xff) | (maj << 8) | ((min & ~0xffu) << 12);
}

/* Waits until @fd's input queue holds @want bytes (FIONREAD). */
static int wait_queued(int fd, int want, const char *what)
{
	for (int waited = 0;; waited++) {
		int n = 0;

		if (ioctl(fd, FIONREAD, &n) < 0)
			return pr_errno(-errno, "%s: FIONREAD", what);
		if (n >= want)
			return 0;
		if (waited >= QUEUE_SETTLE_MS)
			return pr_errno(-ETIMEDOUT, "%s: %d of %d queued bytes arrived", what, n, want);
		usleep(1000);
	}
}

static int queue_write(int fd, const char *buf, size_t len, const char *what)
{
	int err = write_all(fd, buf, len);

	return err ? pr_errno(err, "%s: writing %zu queued bytes back", what, len) : 0;
}

static int set_termios(int fd, const struct termios *t, const char *what)
{
	if (tcsetattr(fd, TCSANOW, t) < 0)
		return pr_errno(-errno, "%s: setting termios", what);
	return 0;
}

/*
 * Puts @len bytes into the input queue of the slave @slave by writing
 * them to its master @master: with no echo, no signals, no input
 * translation (they were processed when they first arrived), then back
 * to @final. Raw meanwhile, so FIONREAD counts them all and says when
 * the work queue delivered them.
 */
static int slave_queue_put(int master, int slave, const char *buf, size_t len,
			   const struct termios *final, const char *what)
{
	struct termios raw = *final;
	int err, queued = 0;

	if (!len)
		return 0;
	raw.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON | IXOFF | IUCLC);
	raw.c_lflag &= ~(ICANON | ECHO | ECHOE | ECHOK | ECHONL | ISIG | IEXTEN);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	err = set_termios(slave, &raw, what);
	if (!err && ioctl(slave, FIONREAD, &queued) < 0)
		err = pr_errno(-errno, "%s: FIONREAD", what);
	if (!err)
		err = queue_write(master, buf, len, what);
	if (!err)
		err = wait_queued(slave, queued + (int)len, what);
	if (set_termios(slave, final, what) && !err)
		err = -EIO;
	return err;
}

/* Puts @len bytes into the master's input queue: written by the slave without output processing. */
static int master_queue_put(int master, int slave, const char *buf, size_t len, const char *what)
{
	struct termios t, raw;
	int err, queued = 0;

	if (!len)
		return 0;
	if (tcgetattr(slave, &t) < 0)
		return pr_errno(-errno, "%s: TCGETS", what);
	raw = t;
	raw.c_oflag &= ~OPOST;
	err = set_termios(slave, &raw, what);
	if (!err && ioctl(master, FIONREAD, &queued) < 0)
		err = pr_errno(-errno, "%s: FIONREAD", what);
	if (!err)
		err = queue_write(slave, buf, len, what);
	if (set_termios(slave, &t, what) && !err)
		err = -EIO;
	if (!err)
		err = wait_queued(master, queued + (int)len, what);
	return err;
}

static int open_peer(int master, int flags, const char *what)
{
	int fd = ioctl(master, TIOCGPTPEER, (flags & O_ACCMODE) | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return pr_errno(-errno, "%s: opening the slave (TIOCGPTPEER)", what);
	return fd;
}

/* ---- dump ---------------------------------------------------------------- */

struct tty_task {
	pid_t pid, sid, pgid;
	unsigned tty_nr;
	int tpgid;
};

struct tty_master {
	unsigned index;
	uint32_t id;
	pid_t sid;
	int fd;				/* a copy of the master, for writing back */
	bool slave_queue_taken;
	char what[64];
};

/* --orphan-pts-master: the first entry of each pts index whose master is outside. */
struct tty_orphan {
	unsigned index;
	uint32_t id;
};

/* One dump per cr process: the state lives for it. */
static struct {
	struct tty_task *tasks;
	size_t nr_tasks;
	struct tty_master *masters;
	size_t nr_masters;
	struct tty_orphan *orphans;
	size_t nr_orphans;
	dev_t external;			/* the --shell-job terminal, 0 none yet */
} dst;

static const struct tty_orphan *orphan_by_index(unsigned index)
{
	for (size_t i = 0; i < dst.nr_orphans; i++)
		if (dst.orphans[i].index == index)
			return &dst.orphans[i];
	return NULL;
}

static struct tty_master *master_by_index(unsigned index)
{
	for (size_t i = 0; i < dst.nr_masters; i++)
		if (dst.masters[i].index == index)
			return &dst.masters[i];
	return NULL;
}

static const struct tty_task *task_by_pid(pid_t pid)
{
	for (size_t i = 0; i < dst.nr_tasks; i++)
		if (dst.tasks[i].pid == pid)
			return &dst.tasks[i];
	return NULL;
}

static bool is_tree_pgrp(pid_t pgrp)
{
	for (size_t i = 0; i < dst.nr_tasks; i++)
		if (dst.tasks[i].pgid == pgrp)
			return true;
	return false;
}

static int tty_dump_task(struct files_dump *df, pid_t pid)
{
	struct proc_stat st;
	struct tty_task *n;
	int err;

	(void)df;
	err = proc_parse_stat(pid, &st);
	if (err)
		return pr_errno(err, "pid %d: reading its controlling terminal", pid);
	n = xrealloc(dst.tasks, (dst.nr_tasks + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	dst.tasks = n;
	dst.tasks[dst.nr_tasks++] = (struct tty_task){
		.pid = pid, .sid = st.sid, .pgid = st.pgid, .tty_nr = st.tty_nr, .tpgid = st.tpgid,
	};
	return 0;
}

static int dump_termios(int fd, const struct fd_dump *d, TtyEntry *t)
{
	struct termios tio;
	struct winsize ws;

	if (tcgetattr(fd, &tio) < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): TCGETS", d->pid, d->fd, d->link);
	if (ioctl(fd, TIOCGWINSZ, &ws) < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): TIOCGWINSZ", d->pid, d->fd, d->link);
	t->termios = xmalloc(sizeof(*t->termios));
	t->winsize = xmalloc(sizeof(*t->winsize));
	if (!t->termios || !t->winsize)
		return -ENOMEM;
	termios_entry__init(t->termios);
	t->termios->iflag = tio.c_iflag;
	t->termios->oflag = tio.c_oflag;
	t->termios->cflag = tio.c_cflag;
	t->termios->lflag = tio.c_lflag;
	t->termios->line = tio.c_line;
	t->termios->cc.len = sizeof(tio.c_cc);
	t->termios->cc.data = xmalloc(sizeof(tio.c_cc));
	if (!t->termios->cc.data)
		return -ENOMEM;
	memcpy(t->termios->cc.data, tio.c_cc, sizeof(tio.c_cc));
	winsize_entry__init(t->winsize);
	t->winsize->row = ws.ws_row;
	t->winsize->col = ws.ws_col;
	t->winsize->xpixel = ws.ws_xpixel;
	t->winsize->ypixel = ws.ws_ypixel;
	return 0;
}

/* Reads what waits on @fd (FIONREAD says how much) into a new buffer. */
static int read_queue(int fd, bool packet, char **ret_buf, size_t *ret_len, const struct fd_dump *d)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int avail = 0;
		ssize_t n;

		if (ioctl(fd, FIONREAD, &avail) < 0)
			return pr_errno(-errno, "pid %d: fd %d (%s): FIONREAD", d->pid, d->fd, d->link);
		if (avail <= 0 || poll(&p, 1, 0) != 1 || !(p.revents & POLLIN))
			break;
		if (len + avail + 1 > cap) {
			char *nb;

			cap = len + avail + 1;
			nb = xrealloc(buf, cap);
			if (!nb)
				return -ENOMEM;
			buf = nb;
		}
		n = read(fd, buf + len, avail + (packet ? 1 : 0));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return pr_errno(-errno, "pid %d: fd %d (%s): reading its queued bytes", d->pid, d->fd, d->link);
		if (n == 0)
			break;
		if (packet) {
			/* TIOCPKT: a status byte first; 0 (TIOCPKT_DATA) for data. */
			memmove(buf + len, buf + len + 1, n - 1);
			n--;
		}
		len += n;
	}
	*ret_len = len;
	*ret_buf = TAKE_PTR(buf);
	return 0;
}

/*
 * The slave's node as it is now (mode, owner: chmod and chown of
 * /dev/pts/N) through an O_PATH peer, which opens no slave, and whether
 * the slave side is closed (POLLHUP on the master: its reads give EIO).
 */
static int slave_node_dump(int master, const char *what, TtyEntry *t)
{
	_cleanup_close_ int p = ioctl(master, TIOCGPTPEER, O_PATH | O_NOCTTY | O_CLOEXEC);
	struct pollfd pf = { .fd = master, .events = POLLIN };
	struct stat st;

	if (p < 0 || fstat(p, &st) < 0)
		return pr_errno(-errno, "%s: the slave's node (TIOCGPTPEER O_PATH)", what);
	if (poll(&pf, 1, 0) < 0)
		return pr_errno(-errno, "%s: poll", what);
	t->has_slave_mode = t->has_slave_uid = t->has_slave_gid = t->has_slave_closed = true;
	t->slave_mode = st.st_mode & 07777;
	t->slave_uid = st.st_uid;
	t->slave_gid = st.st_gid;
	t->slave_closed = !!(pf.revents & POLLHUP);
	return 0;
}

/* The dumped mode and owner on the new pair's slave node, through an O_PATH peer. */
static int slave_node_restore(int master, const TtyEntry *t, const char *what)
{
	_cleanup_close_ int p = -EBADF;
	char path[64];

	if (!t->has_slave_mode)
		return 0;
	p = ioctl(master, TIOCGPTPEER, O_PATH | O_NOCTTY | O_CLOEXEC);
	if (p < 0)
		return pr_errno(-errno, "%s: the new slave's node (TIOCGPTPEER O_PATH)", what);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p);
	if (chown(path, t->slave_uid, t->slave_gid) < 0 || chmod(path, t->slave_mode) < 0)
		return pr_errno(-errno, "%s: giving the new slave node mode %o, owner %u:%u", what,
				t->slave_mode, t->slave_uid, t->slave_gid);
	return 0;
}

static int master_dump(struct fd_dump *d, FileEntry *fe, TtyEntry *t)
{
	char what[64];
	_cleanup_free_ char *q = NULL;
	_cleanup_close_ int slave = -EBADF;
	struct tty_master *m;
	unsigned index;
	int locked = 0, packet = 0, err;
	pid_t sid = 0, pgrp = 0;
	size_t qlen = 0;

	if (ioctl(d->cr_fd, TIOCGPTN, &index) < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): TIOCGPTN", d->pid, d->fd, d->link);
	snprintf(what, sizeof(what), "pid %d: fd %d (pty master of /dev/pts/%u)", d->pid, d->fd, index);
	if (ioctl(d->cr_fd, TIOCGPTLCK, &locked) < 0)
		return pr_errno(-errno, "%s: TIOCGPTLCK", what);
	if (ioctl(d->cr_fd, TIOCGPKT, &packet) < 0)
		return pr_errno(-errno, "%s: TIOCGPKT", what);
	t->index = index;
	t->has_locked = true;
	t->locked = locked;
	t->has_packet_mode = true;
	t->packet_mode = packet;
	err = dump_termios(d->cr_fd, d, t);
	if (!err)
		err = slave_node_dump(d->cr_fd, what, t);
	if (err)
		return err;
	/* Through the master these answer whoever asks; ENOTTY: no session has it. */
	if (ioctl(d->cr_fd, TIOCGSID, &sid) < 0) {
		if (errno != ENOTTY)
			return pr_errno(-errno, "%s: TIOCGSID", what);
		sid = 0;
	}
	if (sid > 0) {
		if (ioctl(d->cr_fd, TIOCGPGRP, &pgrp) < 0)
			return pr_errno(-errno, "%s: TIOCGPGRP", what);
		/* The image has them as the tree's tasks see them (in its pid namespace). */
		t->has_sid = true;
		t->sid = files_dump_ns_id(d->df, sid);
		if (pgrp > 0) {
			t->has_fg_pgrp = true;
			t->fg_pgrp = files_dump_ns_id(d->df, pgrp);
		}
	}

	/* What the slave wrote and nobody read yet: read it, write it back. */
	err = read_queue(d->cr_fd, packet, &q, &qlen, d);
	if (!err && qlen) {
		t->input = xmalloc(sizeof(*t->input));
		if (!t->input)
			return -ENOMEM;
		err = fdata_append(d->df, q, qlen, t->input);
		slave = open_peer(d->cr_fd, O_RDWR, what);
		if (slave < 0)
			return pr_errno(slave, "%s: %zu bytes read from its queue could not be put back", what, qlen);
		if (master_queue_put(d->cr_fd, slave, q, qlen, what) && !err)
			err = pr_errno(-EIO, "%s: putting %zu queued bytes back failed", what, qlen);
	}
	if (err)
		return err;

	m = xrealloc(dst.masters, (dst.nr_masters + 1) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	dst.masters = m;
	m = &dst.masters[dst.nr_masters];
	*m = (struct tty_master){ .index = index, .id = fe->id, .sid = sid };
	snprintf(m->what, sizeof(m->what), "%s", what);
	m->fd = fcntl(d->cr_fd, F_DUPFD_CLOEXEC, 0);
	if (m->fd < 0)
		return pr_errno(-errno, "%s: dup", what);
	dst.nr_masters++;
	return 0;
}

/* What the master wrote to this slave and nobody read: once per pair. */
static int slave_queue_dump(struct fd_dump *d, struct tty_master *m, TtyEntry *t)
{
	_cleanup_free_ char *q = NULL;
	struct termios saved, raw;
	size_t qlen = 0;
	int err, e;

	if (m->slave_queue_taken)
		return 0;
	m->slave_queue_taken = true;
	if (tcgetattr(d->cr_fd, &saved) < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): TCGETS", d->pid, d->fd, d->link);
	/* A partial canonical line is readable only in raw mode. */
	raw = saved;
	raw.c_lflag &= ~(ICANON | ECHO | ECHONL | ISIG | IEXTEN);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	err = set_termios(d->cr_fd, &raw, m->what);
	if (!err)
		err = read_queue(d->cr_fd, false, &q, &qlen, d);
	if (!err && qlen) {
		t->input = xmalloc(sizeof(*t->input));
		err = t->input ? fdata_append(d->df, q, qlen, t->input) : -ENOMEM;
		e = slave_queue_put(m->fd, d->cr_fd, q, qlen, &saved, m->what);
		if (e && !err)
			err = pr_errno(e, "pid %d: fd %d (%s): putting %zu queued bytes back failed",
				       d->pid, d->fd, d->link, qlen);
	} else if (set_termios(d->cr_fd, &saved, m->what) && !err) {
		err = -EIO;
	}
	return err;
}

static int external_dump(struct fd_dump *d, TtyEntry *t)
{
	if (!files_dump_opts(d->df)->shell_job)
		return files_refuse(d, "a terminal whose other side is outside the tree",
				    "if it is the terminal cr runs on (a shell job), dump with --shell-job; if its "
				    "master is held outside (a container's console), with --orphan-pts-master");
	if (dst.external && dst.external != d->st.st_rdev)
		return files_refuse(d, "a second terminal outside the tree",
				    "--shell-job connects one terminal, cr's own");
	dst.external = d->st.st_rdev;
	t->type = TTY_TYPE__TTY_EXTERNAL;
	t->path = xstrdup(d->link);
	if (!t->path)
		return -ENOMEM;
	/* Its foreground group, as a task of the tree whose terminal it is sees it. */
	for (size_t i = 0; i < dst.nr_tasks; i++) {
		const struct tty_task *k = &dst.tasks[i];

		if (k->tty_nr == rdev_encode(d->st.st_rdev) && k->tpgid > 0 && is_tree_pgrp(k->tpgid)) {
			t->has_fg_pgrp = true;
			t->fg_pgrp = files_dump_ns_id(d->df, k->tpgid);
			break;
		}
	}
	return dump_termios(d->cr_fd, d, t);
}

/*
 * --orphan-pts-master: a pts whose master is outside (a runtime's
 * console). Its termios and window size are read through the slave; its
 * session and foreground group from the tasks whose controlling
 * terminal it is (TIOCGSID answers through a slave only to its own
 * session). Bytes queued on it are not saved: reading them would take
 * them from the tree, and without the master they cannot be put back.
 */
static int orphan_dump(struct fd_dump *d, FileEntry *fe, TtyEntry *t)
{
	const struct tty_orphan *first = orphan_by_index(t->index);
	struct tty_orphan *n;

	t->type = TTY_TYPE__TTY_PTY_ORPHAN;
	t->path = xstrdup(d->link);
	if (!t->path)
		return -ENOMEM;
	if (first) {
		t->has_master_id = true;
		t->master_id = first->id;
		return 0;
	}
	for (size_t i = 0; i < dst.nr_tasks; i++) {
		const struct tty_task *k = &dst.tasks[i];

		if (k->tty_nr != t->rdev)
			continue;
		if (!task_by_pid(k->sid))
			return files_refuse(d, "the controlling terminal of a session whose leader is outside the tree",
					    "--orphan-pts-master restores a terminal for a session the tree leads");
		t->has_sid = true;
		t->sid = files_dump_ns_id(d->df, k->sid);
		if (k->tpgid > 0 && is_tree_pgrp(k->tpgid)) {
			t->has_fg_pgrp = true;
			t->fg_pgrp = files_dump_ns_id(d->df, k->tpgid);
		}
		break;
	}
	n = xrealloc(dst.orphans, (dst.nr_orphans + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	dst.orphans = n;
	dst.orphans[dst.nr_orphans++] = (struct tty_orphan){ .index = t->index, .id = fe->id };
	pr_info("pid %d: fd %d: %s, whose master is outside the tree, is saved (--orphan-pts-master)", d->pid, d->fd,
		d->link);
	return dump_termios(d->cr_fd, d, t);
}

static int tty_dump(struct fd_dump *d, FileEntry *fe)
{
	TtyEntry *t = xmalloc(sizeof(*t));
	struct tty_master *m;

	if (!t)
		return -ENOMEM;
	tty_entry__init(t);
	fe->tty = t;
	t->rdev = rdev_encode(d->st.st_rdev);
	if (is_ptmx(d->st.st_rdev)) {
		t->type = TTY_TYPE__TTY_PTY_MASTER;
		return master_dump(d, fe, t);
	}
	t->index = is_pts(d->st.st_rdev) ? pts_index(d->st.st_rdev) : minor(d->st.st_rdev);
	m = is_pts(d->st.st_rdev) ? master_by_index(t->index) : NULL;
	/* Its master closed: no other side anywhere (tty-hungup.c). */
	if (!m && is_pts(d->st.st_rdev) && tty_hungup(d->cr_fd)) {
		t->type = TTY_TYPE__TTY_PTY_SLAVE;
		t->has_hung_up = t->hung_up = true;
		return 0;
	}
	if (!m && is_pts(d->st.st_rdev) && files_dump_opts(d->df)->orphan_pts_master)
		return orphan_dump(d, fe, t);
	if (!m && major(d->st.st_rdev) == TTY_MAJOR && !files_dump_opts(d->df)->shell_job)
		return files_refuse(d, minor(d->st.st_rdev) < VC_MINOR_END ? "a virtual console" : "a serial port",
				    "cr keeps such a terminal only as the one it runs on (--shell-job); "
				    "its VT, keyboard and line state are not saved");
	if (!m)
		return external_dump(d, t);
	t->type = TTY_TYPE__TTY_PTY_SLAVE;
	t->has_master_id = true;
	t->master_id = m->id;
	return slave_queue_dump(d, m, t);
}

static void tty_free_entry(FileEntry *fe)
{
	TtyEntry *t = fe->tty;

	if (!t)
		return;
	if (t->termios)
		free(t->termios->cc.data);
	free(t->termios);
	free(t->winsize);
	free(t->input);
	free(t->path);
	free(t);
	fe->tty = NULL;
}

/*
 * Every task's controlling terminal must come back: a pty of the tree
 * (its session leader sets it), or with --shell-job cr's terminal, which
 * the tree inherits if it stays in cr's session.
 */
static int tty_dump_finish(struct files_dump *df)
{
	const struct tty_task *root = dst.nr_tasks ? &dst.tasks[0] : NULL;
	int err = 0;

	(void)df;
	for (size_t i = 0; i < dst.nr_masters && !err; i++) {
		const struct tty_master *m = &dst.masters[i];
		const struct tty_task *leader = m->sid ? task_by_pid(m->sid) : NULL;

		if (m->sid && !leader)
			err = pr_errno(-ENOTSUP, "%s: /dev/pts/%u is the controlling terminal of session %d, whose leader is not in the tree",
				       m->what, m->index, m->sid);
	}
	for (size_t i = 0; i < dst.nr_tasks && !err; i++) {
		const struct tty_task *k = &dst.tasks[i];
		dev_t dev = makedev((k->tty_nr >> 8) & 0xfff, (k->tty_nr & 0xff) | ((k->tty_nr >> 12) & 0xfff00));

		if (!k->tty_nr || (is_pts(dev) && (master_by_index(pts_index(dev)) || orphan_by_index(pts_index(dev)))))
			continue;
		if (!files_dump_opts(df)->shell_job)
			err = pr_errno(-ENOTSUP, "pid %d: its controlling terminal (device %u:%u) is outside the tree; "
				       "if it is the terminal cr runs on (a shell job), dump with --shell-job; if it is a "
				       "runtime's console (its master held outside), with --orphan-pts-master",
				       k->pid, major(dev), minor(dev));
		else if (dst.external && dst.external != dev)
			err = pr_errno(-ENOTSUP, "pid %d: its controlling terminal (device %u:%u) is not the one its fds use (%u:%u)",
				       k->pid, major(dev), minor(dev), major(dst.external), minor(dst.external));
		else if (k->sid == k->pid || k->sid != root->sid || root->sid == root->pid)
			err = pr_errno(-ENOTSUP, "pid %d: its controlling terminal (device %u:%u) is outside the tree and its session %d "
				       "is led by a task of the tree; --shell-job restores a tree in cr's session only",
				       k->pid, major(dev), minor(dev), k->sid);
	}
	for (size_t i = 0; i < dst.nr_masters; i++)
		if (dst.masters[i].fd >= 0)
			close(dst.masters[i].fd);
	free(dst.masters);
	free(dst.tasks);
	free(dst.orphans);
	memset(&dst, 0, sizeof(dst));
	return err;
}

static bool ptmx_match(const struct fd_dump *d)
{
	return S_ISCHR(d->st.st_mode) && !(d->fdi.flags & O_PATH) && is_ptmx(d->st.st_rdev);
}

static bool tty_match(const struct fd_dump *d)
{
	dev_t r = d->st.st_rdev;

	if (!S_ISCHR(d->st.st_mode) || (d->fdi.flags & O_PATH))
		return false;
	return is_pts(r) || major(r) == TTY_MAJOR;
}

static const char *tty_key(const FileEntry *fe, char *buf, size_t size)
{
	(void)buf;
	(void)size;
	return fe->tty && fe->tty->type == TTY_TYPE__TTY_EXTERNAL ? fe->tty->path : NULL;
}

/* ---- restore ------------------------------------------------------------- */

static int termios_of(const TtyEntry *t, struct termios *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (!t->termios || t->termios->cc.len != sizeof(ret->c_cc))
		return -EBADMSG;
	ret->c_iflag = t->termios->iflag;
	ret->c_oflag = t->termios->oflag;
	ret->c_cflag = t->termios->cflag;
	ret->c_lflag = t->termios->lflag;
	ret->c_line = t->termios->line;
	memcpy(ret->c_cc, t->termios->cc.data, sizeof(ret->c_cc));
	/* glibc's tcsetattr takes the speed from c_cflag (CBAUD), and these. */
	ret->c_ispeed = cfgetispeed(ret);
	ret->c_ospeed = cfgetospeed(ret);
	return 0;
}

/* ---- restore: --orphan-pts-master ---------------------------------------- */

/* The new masters of the orphan terminals, from their open until every entry is open. */
static struct {
	struct { uint32_t id; int fd; } *v;
	size_t nr;
} rorph;

static int orphan_kept(uint32_t id)
{
	for (size_t i = 0; i < rorph.nr; i++)
		if (rorph.v[i].id == id)
			return rorph.v[i].fd;
	return -1;
}

static void orphan_forget(uint32_t id)
{
	for (size_t i = 0; i < rorph.nr; i++)
		if (rorph.v[i].id == id && rorph.v[i].fd >= 0) {
			close(rorph.v[i].fd);
			rorph.v[i].fd = -1;
		}
}

static int orphan_check(struct files_rst *rf, const FileEntry *fe)
{
	const struct cr_options *o = files_rst_opts(rf);
	const TtyEntry *t = fe->tty;
	struct termios tio;

	if (t->has_master_id) {
		const FileEntry *m = files_rst_entry(rf, t->master_id);

		if (!m || !m->tty || m->tty->type != TTY_TYPE__TTY_PTY_ORPHAN || m->tty->has_master_id)
			return pr_errno(-EBADMSG, "files.img: orphan pty slave id %u names no first orphan entry (id %u)",
					fe->id, t->master_id);
		return 0;
	}
	if (termios_of(t, &tio) || !t->winsize || !t->path || t->path[0] != '/')
		return pr_errno(-EBADMSG, "files.img: orphan pty slave id %u lacks its termios, window size or path",
				fe->id);
	if (!o->orphan_pts_master)
		return pr_errno(-ENOTSUP, "the tree's terminal %s (file id %u) had its master outside the tree: restore "
				"with --orphan-pts-master (RPC orphan_pts_master), which hands a new master over",
				t->path, fe->id);
	if (!o->hand_fd)
		return pr_errno(-ENOTSUP, "--orphan-pts-master: the tree's terminal %s (file id %u) gets a new master and "
				"nobody takes it: name a console socket (--console-socket PATH), or restore over the RPC",
				t->path, fe->id);
	return 0;
}

/*
 * The master of the pts the holder made for a bind mount of it
 * (mnt-build.c: runc binds /dev/pts/0 on /dev/console), which is then
 * the tree's terminal again: the ptmx fd of the holder whose slave is
 * @st. -ENOENT if none.
 */
static int holder_master(const struct stat *st, const char *what)
{
	_cleanup_closedir_ DIR *dir = NULL;
	_cleanup_close_ int pidfd = -EBADF;
	pid_t holder = rst_holder();
	char path[64];
	struct dirent *de;

	if (holder <= 0)
		return -ENOENT;
	snprintf(path, sizeof(path), "/proc/%d/fd", holder);
	dir = opendir(path);
	pidfd = syscall(SYS_pidfd_open, holder, 0);
	if (!dir || pidfd < 0)
		return pr_errno(-errno, "%s: looking at the fds of the namespaces' holder %d", what, holder);
	while ((de = readdir(dir))) {
		_cleanup_close_ int fd = -EBADF, peer = -EBADF;
		struct stat fst, pst;

		if (de->d_name[0] == '.')
			continue;
		fd = syscall(SYS_pidfd_getfd, pidfd, atoi(de->d_name), 0);
		if (fd < 0 || fstat(fd, &fst) || !S_ISCHR(fst.st_mode) || !is_ptmx(fst.st_rdev))
			continue;
		peer = ioctl(fd, TIOCGPTPEER, O_RDONLY | O_NOCTTY | O_CLOEXEC);
		if (peer >= 0 && !fstat(peer, &pst) && pst.st_dev == st->st_dev && pst.st_rdev == st->st_rdev)
			return TAKE_FD(fd);
	}
	return -ENOENT;
}

/* A new master for the orphan pts of @t: in the devpts its path was on, or the holder's one of that pts. */
static int orphan_new_master(const TtyEntry *t, const char *what)
{
	char ptmx[PATH_MAX];
	const char *slash = strrchr(t->path, '/');
	struct stat st;
	int fd, unlock = 0;

	if (!rst_stat(t->path, &st) && S_ISCHR(st.st_mode) && is_pts(st.st_rdev)) {
		fd = holder_master(&st, what);
		if (fd >= 0) {
			pr_debug("%s: the pty the holder made for a bind mount of %s", what, t->path);
			return fd;
		}
		if (fd != -ENOENT)
			return fd;
	}
	snprintf(ptmx, sizeof(ptmx), "%.*s/ptmx", (int)(slash - t->path), t->path);
	fd = rst_open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno(-errno, "%s: opening %s", what, ptmx);
	if (ioctl(fd, TIOCSPTLCK, &unlock) < 0) {
		int err = pr_errno(-errno, "%s: unlocking the new pty", what);

		close(fd);
		return err;
	}
	return fd;
}

/*
 * A slave of the orphan's new @master, opened by its path in the tree's
 * devpts (where @t's was): a peer of a master the holder opened on its
 * own clone of the devpts would name that clone's path ("/0"), and the
 * tree would not find its terminal's name (ttyname()).
 */
static int orphan_peer(const TtyEntry *t, int master, int flags, const char *what)
{
	const char *slash = strrchr(t->path, '/');
	char path[PATH_MAX];
	unsigned index;
	int fd;

	if (ioctl(master, TIOCGPTN, &index) < 0)
		return pr_errno(-errno, "%s: TIOCGPTN", what);
	snprintf(path, sizeof(path), "%.*s/%u", (int)(slash - t->path), t->path, index);
	fd = rst_open(path, (flags & O_ACCMODE) | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno(-errno, "%s: opening %s", what, path);
	return fd;
}

static int orphan_open(struct files_rst *rf, const FileEntry *fe)
{
	const TtyEntry *t = fe->tty;
	struct winsize ws;
	struct termios tio;
	_cleanup_close_ int master = -EBADF, slave = -EBADF;
	char what[96];
	void *n;
	int err;

	snprintf(what, sizeof(what), "orphan pty slave id %u (was %s)", fe->id, t->path);
	if (t->has_master_id) {
		int first = files_rst_get(rf, t->master_id);

		if (first < 0)
			return first;
		if (orphan_kept(t->master_id) < 0)
			return pr_errno(-EBADMSG, "%s: its first entry %u kept no master", what, t->master_id);
		return orphan_peer(t, orphan_kept(t->master_id), fe->flags, what);
	}
	master = orphan_new_master(t, what);
	if (master < 0)
		return master;
	slave = orphan_peer(t, master, O_RDWR, what);
	if (slave < 0)
		return slave;
	err = termios_of(t, &tio);
	if (!err)
		err = set_termios(slave, &tio, what);
	if (err)
		return err;
	ws = (struct winsize){ .ws_row = t->winsize->row, .ws_col = t->winsize->col,
			       .ws_xpixel = t->winsize->xpixel, .ws_ypixel = t->winsize->ypixel };
	if (ioctl(master, TIOCSWINSZ, &ws) < 0)
		return pr_errno(-errno, "%s: TIOCSWINSZ", what);
	err = cr_fail_point("orphan-pts-master");
	if (!err)
		err = cr_hand_fd(files_rst_opts(rf), "orphan-pts-master", master);
	if (err)
		return err;
	n = xrealloc(rorph.v, (rorph.nr + 1) * sizeof(*rorph.v));
	if (!n)
		return -ENOMEM;
	rorph.v = n;
	rorph.v[rorph.nr].id = fe->id;
	rorph.v[rorph.nr++].fd = TAKE_FD(master);
	pr_info("%s: a new pty pair, its master handed over (orphan-pts-master)", what);
	if ((fe->flags & O_ACCMODE) == O_RDWR)
		return TAKE_FD(slave);
	return orphan_peer(t, rorph.v[rorph.nr - 1].fd, fe->flags, what);
}

static int tty_check(struct files_rst *rf, const FileEntry *fe)
{
	const TtyEntry *t = fe->tty;
	struct termios tio;

	if (!t)
		return pr_errno(-EBADMSG, "files.img: file id %u has no terminal record", fe->id);
	switch (t->type) {
	case TTY_TYPE__TTY_PTY_MASTER:
		if (termios_of(t, &tio) || !t->winsize)
			return pr_errno(-EBADMSG, "files.img: pty master id %u lacks its termios or window size", fe->id);
		return 0;
	case TTY_TYPE__TTY_PTY_SLAVE: {
		const FileEntry *m = t->has_master_id ? files_rst_entry(rf, t->master_id) : NULL;

		if (t->hung_up && !t->has_master_id && !t->input)
			return 0;
		if (!m || !m->tty || m->tty->type != TTY_TYPE__TTY_PTY_MASTER)
			return pr_errno(-EBADMSG, "files.img: pty slave id %u names no pty master (id %u)",
					fe->id, t->master_id);
		return 0;
	}
	case TTY_TYPE__TTY_PTY_ORPHAN:
		return orphan_check(rf, fe);
	case TTY_TYPE__TTY_EXTERNAL:
		if (!files_rst_opts(rf)->shell_job)
			return pr_errno(-ENOTSUP, "the tree used the terminal %s of its caller (file id %u): restore with --shell-job",
					t->path ? t->path : "?", fe->id);
		if (!isatty(STDIN_FILENO))
			return pr_errno(-ENOTTY, "--shell-job: the tree used the terminal %s (file id %u), and cr's stdin is not a terminal to put in its place",
					t->path ? t->path : "?", fe->id);
		if (termios_of(t, &tio))
			return pr_errno(-EBADMSG, "files.img: terminal id %u lacks its termios", fe->id);
		return 0;
	default:
		break;
	}
	return pr_errno(-EBADMSG, "files.img: file id %u is a terminal of unknown type %d", fe->id, t->type);
}

static int master_open(struct files_rst *rf, const FileEntry *fe)
{
	const TtyEntry *t = fe->tty;
	_cleanup_close_ int fd = -EBADF, slave = -EBADF;
	_cleanup_free_ char *q = NULL;
	struct winsize ws = {
		.ws_row = t->winsize->row, .ws_col = t->winsize->col,
		.ws_xpixel = t->winsize->xpixel, .ws_ypixel = t->winsize->ypixel,
	};
	struct termios tio;
	char what[64];
	int unlock = 0, err;

	snprintf(what, sizeof(what), "pty master id %u (was /dev/pts/%u)", fe->id, t->index);
	fd = rst_open("/dev/ptmx", (fe->flags & O_ACCMODE) | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno(-errno, "%s: opening /dev/ptmx", what);
	if (ioctl(fd, TIOCSPTLCK, &unlock) < 0)
		return pr_errno(-errno, "%s: unlocking the new pty", what);
	err = termios_of(t, &tio);
	if (err)
		return pr_errno(err, "%s: bad termios in the image", what);
	/*
	 * The slave opened and closed here leaves the master as one whose
	 * slave side is closed (reads give EIO): right for a master whose
	 * slave was, or is held by the tree (which opens its own), not for
	 * one whose slave was never opened. TCSETS through the master sets
	 * the slave's termios.
	 */
	if (t->has_slave_closed && !t->slave_closed && !t->input) {
		err = set_termios(fd, &tio, what);
	} else {
		slave = open_peer(fd, O_RDWR, what);
		err = slave < 0 ? slave : set_termios(slave, &tio, what);
	}
	if (!err)
		err = slave_node_restore(fd, t, what);
	if (err)
		return err;
	if (ioctl(fd, TIOCSWINSZ, &ws) < 0)
		return pr_errno(-errno, "%s: TIOCSWINSZ", what);
	if (t->input) {
		q = xmalloc(t->input->len ? t->input->len : 1);
		if (!q)
			return -ENOMEM;
		err = fdata_read(rf, t->input, q);
		if (!err)
			err = master_queue_put(fd, slave, q, t->input->len, what);
		if (err)
			return err;
	}
	if (t->packet_mode) {
		int on = 1;

		if (ioctl(fd, TIOCPKT, &on) < 0)
			return pr_errno(-errno, "%s: TIOCPKT", what);
	}
	pr_debug("%s: restored as a new pty pair", what);
	return TAKE_FD(fd);
}

static int slave_open(struct files_rst *rf, const FileEntry *fe)
{
	const TtyEntry *t = fe->tty;
	const FileEntry *mfe = files_rst_entry(rf, t->master_id);
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *q = NULL;
	struct termios tio;
	char what[64];
	int master, err;

	snprintf(what, sizeof(what), "pty slave id %u (was /dev/pts/%u)", fe->id, t->index);
	master = files_rst_get(rf, t->master_id);
	if (master < 0)
		return master;
	fd = open_peer(master, fe->flags, what);
	if (fd < 0)
		return fd;
	if (!t->input)
		return TAKE_FD(fd);
	if ((fe->flags & O_ACCMODE) == O_WRONLY || termios_of(mfe->tty, &tio))
		return pr_errno(-EBADMSG, "%s: queued bytes on a slave that cannot hold them", what);
	q = xmalloc(t->input->len ? t->input->len : 1);
	if (!q)
		return -ENOMEM;
	err = fdata_read(rf, t->input, q);
	if (!err)
		err = slave_queue_put(master, fd, q, t->input->len, &tio, what);
	return err ? err : TAKE_FD(fd);
}

static int external_open(const FileEntry *fe)
{
	const TtyEntry *t = fe->tty;
	struct termios tio;
	int fd, err;

	/* A new open file of cr's terminal: the caller's own flags stay as they are. */
	fd = open("/proc/self/fd/0", (fe->flags & O_ACCMODE) | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno(-errno, "--shell-job: opening cr's terminal (its stdin) for %s", t->path);
	err = termios_of(t, &tio);
	if (!err)
		err = set_termios(fd, &tio, "--shell-job: cr's terminal");
	if (err) {
		close(fd);
		return err;
	}
	pr_info("--shell-job: %s of the tree is cr's terminal now", t->path);
	return fd;
}

static int tty_open(struct files_rst *rf, const FileEntry *fe)
{
	switch (fe->tty->type) {
	case TTY_TYPE__TTY_PTY_MASTER:
		return master_open(rf, fe);
	case TTY_TYPE__TTY_PTY_SLAVE:
		return fe->tty->hung_up ? tty_hungup_open(fe) : slave_open(rf, fe);
	case TTY_TYPE__TTY_EXTERNAL:
		return external_open(fe);
	case TTY_TYPE__TTY_PTY_ORPHAN:
		return orphan_open(rf, fe);
	default:
		return -EBADMSG;	/* tty_check() refused it */
	}
}

/* Locked last: every slave of the tree is open by now (TIOCGPTPEER needs it unlocked). */
static int tty_post_open(struct files_rst *rf, const FileEntry *fe, int fd)
{
	int on = 1;

	(void)rf;
	/* The caller has the orphan's master: cr's copy goes (every slave is open). */
	if (fe->tty->type == TTY_TYPE__TTY_PTY_ORPHAN)
		orphan_forget(fe->id);
	if (fe->tty->type != TTY_TYPE__TTY_PTY_MASTER || !fe->tty->locked)
		return 0;
	if (ioctl(fd, TIOCSPTLCK, &on) < 0)
		return pr_errno(-errno, "pty master id %u: TIOCSPTLCK", fe->id);
	return 0;
}

/* A slave of master @fd for a moment, unlocked if needed. */
static int leader_peer(const FileEntry *fe, int fd, const char *what)
{
	int off = 0, on = 1, slave;

	if (fe->tty->locked && ioctl(fd, TIOCSPTLCK, &off) < 0)
		return pr_errno(-errno, "%s: unlocking", what);
	slave = open_peer(fd, O_RDWR, what);
	if (fe->tty->locked && ioctl(fd, TIOCSPTLCK, &on) < 0) {
		if (slave >= 0)
			close(slave);
		return pr_errno(-errno, "%s: locking again", what);
	}
	return slave;
}

static bool leads_its_session(const FileEntry *fe)
{
	return (fe->tty->type == TTY_TYPE__TTY_PTY_MASTER || fe->tty->type == TTY_TYPE__TTY_PTY_ORPHAN) &&
	       fe->tty->has_sid && (pid_t)fe->tty->sid == getpid();
}

/* A slave of the entry's terminal for the session calls: an orphan's fd is one already. */
static int session_peer(const FileEntry *fe, int fd, const char *what)
{
	if (fe->tty->type == TTY_TYPE__TTY_PTY_ORPHAN) {
		int slave = fcntl(fd, F_DUPFD_CLOEXEC, 0);

		return slave < 0 ? pr_errno(-errno, "%s: dup", what) : slave;
	}
	return leader_peer(fe, fd, what);
}

static int tty_session_new(const FileEntry *fe, int fd)
{
	_cleanup_close_ int slave = -EBADF;
	char what[96];

	if (!leads_its_session(fe))
		return 0;
	snprintf(what, sizeof(what), "pid %d: the pty that was /dev/pts/%u", getpid(), fe->tty->index);
	slave = session_peer(fe, fd, what);
	if (slave < 0)
		return slave;
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return pr_errno(-errno, "%s: making it the controlling terminal of session %d", what, getpid());
	return 0;
}

static int tty_session_joined(const FileEntry *fe, int fd)
{
	_cleanup_close_ int slave = -EBADF;
	pid_t pgrp;
	char what[96];

	if (!leads_its_session(fe) || !fe->tty->has_fg_pgrp)
		return 0;
	pgrp = fe->tty->fg_pgrp;
	snprintf(what, sizeof(what), "pid %d: the pty that was /dev/pts/%u", getpid(), fe->tty->index);
	slave = session_peer(fe, fd, what);
	if (slave < 0)
		return slave;
	/* Every signal is blocked here, so SIGTTOU does not stop a background leader. */
	if (ioctl(slave, TIOCSPGRP, &pgrp) < 0)
		return pr_errno(-errno, "%s: making group %d its foreground group", what, pgrp);
	return 0;
}

/* --shell-job: a group of the tree that was in the foreground is again, where allowed. */
static int tty_task_setup(const FileEntry *fe, int fd)
{
	pid_t pgrp;

	if (fe->tty->type != TTY_TYPE__TTY_EXTERNAL || !fe->tty->has_fg_pgrp)
		return 0;
	pgrp = fe->tty->fg_pgrp;
	if (getpgrp() != pgrp || tcgetsid(fd) != getsid(0) || tcgetpgrp(fd) == pgrp)
		return 0;
	if (ioctl(fd, TIOCSPGRP, &pgrp) < 0)
		pr_warn("pid %d: --shell-job: cannot put group %d in the foreground of cr's terminal: %s",
			getpid(), pgrp, strerror(errno));
	return 0;
}

/* A failed restore: cr's copy of an orphan's new master goes (the caller may have one). */
static void tty_abort(struct files_rst *rf, const FileEntry *fe)
{
	(void)rf;
	if (fe->tty && fe->tty->type == TTY_TYPE__TTY_PTY_ORPHAN)
		orphan_forget(fe->id);
}

/*
 * Two kinds share FILE_TTY and the restore side: masters dump at once,
 * slaves and other terminals once every master of the tree is known
 * (deferred). Restore finds fd_kind_tty first for FILE_TTY.
 */
#define TTY_RESTORE_OPS							\
	.check = tty_check, .open = tty_open, .post_open = tty_post_open,	\
	.abort = tty_abort,							\
	.task_setup = tty_task_setup, .key = tty_key,			\
	.session_new = tty_session_new, .session_joined = tty_session_joined

const struct fd_kind fd_kind_tty = {
	.kind = FILE_KIND__FILE_TTY, .name = "terminal",
	.match = tty_match, .dump = tty_dump, .deferred = true, .free_entry = tty_free_entry,
	.dump_task = tty_dump_task, .dump_finish = tty_dump_finish,
	TTY_RESTORE_OPS,
};

const struct fd_kind fd_kind_ptmx = {
	.kind = FILE_KIND__FILE_TTY, .name = "pty master",
	.match = ptmx_match, .dump = tty_dump, .free_entry = tty_free_entry,
	TTY_RESTORE_OPS,
};
