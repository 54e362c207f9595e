/*
 * The lazy-pages daemon (see lazy.h): the server fills the memory of
 * the tasks whose userfaultfds it gets, the keeper (its parent) holds a
 * copy of each and kills the tree if the server dies before it is done.
 *
 * The server keeps, per userfaultfd, the pieces of memory still missing
 * (address, length, where the bytes are in the page image, the run whose
 * checksum covers them). A fault gets the piece it is in (or the zero
 * page where the image has nothing); between faults the next piece is
 * pushed. A run's checksum is checked on its whole bytes before any of
 * them goes in: a bad one kills the tree, which never runs with it.
 * The tree's forks, mremaps, munmaps and MADV_DONTNEEDs come as events
 * (the kernel holds the task until they are read) and change the pieces.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "cr.h"
#include "guard.h"
#include "image.h"
#include "lazy.h"
#include "lazy-priv.h"
#include "log.h"
#include "mem.h"
#include "proc-parse.h"
#include "restorer-abi.h"
#include "scm.h"

#define UFFD_MSG_BATCH	64
#define MAX_KIN		4096	/* tasks the keeper kills at most */

enum { KEEP_ADD = 1, KEEP_DROP };

struct keep_msg {
	uint32_t op, id;
};

struct lazy_piece {
	uint64_t vaddr, len, off;	/* off: in the page image */
	unsigned run;
};

struct lazy_run {
	uint64_t off, len;		/* in the page image; its own bytes or another task's */
	bool checked;			/* lazy_check_range() said so */
};

struct lazy_task {
	int uffd, pidfd, pid;		/* pid: whose images */
	unsigned id;			/* the keeper's name for it */
	struct lazy_run *runs;
	unsigned nr_runs;
	struct lazy_piece *p;		/* in address order; len 0: done */
	unsigned nr, pending, cursor;
	bool readable;			/* poll() says its userfaultfd has messages */
	uint64_t *deferred;		/* faults to answer once the events are read */
	unsigned nr_deferred, cap_deferred;
};

struct lazy_srv {
	int dfd, sk, keeper;
	struct lazy_src src;
	bool has_src;
	struct lazy_task **t;
	unsigned nr, cap, next_id, rr;
	uint64_t copied, faults;
	struct lazy_check *chk;
};

/* ---- pieces --------------------------------------------------------------- */

static int piece_cmp(const void *a, const void *b)
{
	const struct lazy_piece *x = a, *y = b;

	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

/*
 * The piece holding @addr, or -1. Pieces do not overlap, and a done one
 * (len 0) keeps an address inside what it was: the last piece starting
 * at or below @addr is the only one that can hold it.
 */
static int piece_find(const struct lazy_task *t, uint64_t addr)
{
	unsigned lo = 0, hi = t->nr;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (t->p[mid].vaddr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr < t->p[lo - 1].vaddr + t->p[lo - 1].len)
		return lo - 1;
	return -1;
}

/*
 * Rebuilds the pieces: what lies in [@start, @end) moves by @delta, or
 * goes if @drop; the rest stays. Pieces are cut at the bounds.
 */
static int pieces_change(struct lazy_task *t, uint64_t start, uint64_t end, int64_t delta, bool drop)
{
	struct lazy_piece *n = xmalloc(sizeof(*n) * (t->nr * 3 + 1));
	unsigned k = 0;

	if (!n)
		return -ENOMEM;
	t->pending = 0;
	for (unsigned i = 0; i < t->nr; i++) {
		struct lazy_piece p = t->p[i];
		uint64_t pe = p.vaddr + p.len;

		if (!p.len)
			continue;
		if (pe <= start || p.vaddr >= end) {
			n[k++] = p;
			continue;
		}
		if (p.vaddr < start)	/* the part before */
			n[k++] = (struct lazy_piece){ p.vaddr, start - p.vaddr, p.off, p.run };
		if (!drop) {
			uint64_t s = max(p.vaddr, start), e = min(pe, end);

			n[k++] = (struct lazy_piece){ s + delta, e - s, p.off + (s - p.vaddr), p.run };
		}
		if (pe > end)		/* the part after */
			n[k++] = (struct lazy_piece){ end, pe - end, p.off + (end - p.vaddr), p.run };
	}
	qsort(n, k, sizeof(*n), piece_cmp);
	free(t->p);
	t->p = n;
	t->nr = k;
	t->pending = k;
	t->cursor = 0;
	return 0;
}

/* ---- tasks ---------------------------------------------------------------- */

static void task_free(struct lazy_task *t)
{
	if (!t)
		return;
	if (t->uffd >= 0)
		close(t->uffd);
	if (t->pidfd >= 0)
		close(t->pidfd);
	free(t->runs);
	free(t->p);
	free(t->deferred);
	free(t);
}

static int keeper_send(struct lazy_srv *s, uint32_t op, const struct lazy_task *t)
{
	struct keep_msg m = { op, t->id };
	int fds[2] = { t->uffd, t->pidfd };

	if (scm_send_fds(s->keeper, &m, sizeof(m), fds, op != KEEP_ADD ? 0 : t->pidfd >= 0 ? 2 : 1) != sizeof(m))
		return pr_errno(-errno, "lazy-pages: telling the keeper about pid %d", t->pid);
	return 0;
}

/* Kills the tree: every task we know of (the keeper also kills what they forked). */
static void srv_kill_all(struct lazy_srv *s)
{
	for (unsigned i = 0; i < s->nr; i++)
		if (s->t[i] && s->t[i]->pidfd >= 0)
			syscall(SYS_pidfd_send_signal, s->t[i]->pidfd, SIGKILL, NULL, 0);
}

static int srv_add(struct lazy_srv *s, struct lazy_task *t)
{
	int err;

	if (s->nr == s->cap) {
		struct lazy_task **n = xrealloc(s->t, sizeof(*n) * (s->cap = s->cap ? s->cap * 2 : 16));

		if (!n)
			return -ENOMEM;
		s->t = n;
	}
	t->id = ++s->next_id;
	err = keeper_send(s, KEEP_ADD, t);
	if (err)
		return err;
	s->t[s->nr++] = t;
	return 0;
}

/* The pieces of @pid: its runs that lie in lazy VMAs. */
static int task_load(struct lazy_srv *s, struct lazy_task *t)
{
	_cleanup_img_ struct img *img = NULL;
	struct mem_plan plan = { 0 };
	MmEntry *mm = NULL;
	int err;

	err = img_open(s->dfd, IMG_MM, t->pid, O_RDONLY, &img);
	if (!err)
		err = pb_read_one_required(img, (void **)&mm, PB_MM);
	if (!err)
		err = mem_read_runs(s->dfd, t->pid, mm, -1, NULL, &plan);
	if (!err && plan.pages_id != lazy_check_pages_id(s->chk))
		err = pr_errno(-EBADMSG, "lazy-pages: pagemap-%d.img names pages-%u.img, the others pages-%u.img",
			       t->pid, plan.pages_id, lazy_check_pages_id(s->chk));
	if (!err) {
		t->runs = xmalloc(sizeof(*t->runs) * (plan.nr_runs + 1));
		t->p = xmalloc(sizeof(*t->p) * (plan.nr_runs + 1));
		if (!t->runs || !t->p)
			err = -ENOMEM;
	}
	for (unsigned i = 0; !err && i < plan.nr_runs; i++) {
		const struct mem_run *r = &plan.runs[i];

		if (!lazy_vma(mem_find_vma(mm, r->vaddr, r->vaddr + r->len)))
			continue;
		t->runs[t->nr_runs] = (struct lazy_run){ r->off, r->len, false };
		t->p[t->nr++] = (struct lazy_piece){ r->vaddr, r->len, r->off, t->nr_runs };
		t->nr_runs++;
	}
	if (!err) {
		qsort(t->p, t->nr, sizeof(*t->p), piece_cmp);
		t->pending = t->nr;
		pr_info("lazy-pages: pid %d: %u runs to fill", t->pid, t->nr);
	}
	mem_plan_free(&plan);
	if (mm)
		pb_free(mm, PB_MM);
	return err;
}

/* A restorer's hello: its userfaultfd and pidfd. 1: one more task, 0: no more will come, -errno. */
static int srv_accept(struct lazy_srv *s)
{
	struct restorer_lazy_hello hello;
	struct lazy_task *t;
	int fds[2], err;
	ssize_t n = scm_recv_fds(s->sk, &hello, sizeof(hello), fds, 2);

	if (n == 0)
		return 0;
	if (n < 0)
		return pr_errno(-errno, "lazy-pages: receiving from the restore");
	t = xzalloc(sizeof(*t));
	if (!t) {
		close(fds[0]);
		close(fds[1]);
		return -ENOMEM;
	}
	t->uffd = fds[0];
	t->pidfd = fds[1];
	t->pid = hello.pid;
	if (n != sizeof(hello) || hello.magic != RESTORER_LAZY_MAGIC || t->uffd < 0 || t->pidfd < 0)
		err = pr_errno(-EBADMSG, "lazy-pages: a malformed message from the restore (%zd bytes)", n);
	else
		err = task_load(s, t);
	if (err) {
		/* Its restore must not go on without its memory. */
		if (t->pidfd >= 0)
			syscall(SYS_pidfd_send_signal, t->pidfd, SIGKILL, NULL, 0);
		task_free(t);
		return err;
	}
	err = srv_add(s, t);
	if (err)
		task_free(t);
	return err ? err : 1;
}

/* ---- filling ------------------------------------------------------------------ */

/*
 * Copies piece @i in. 0 (done, or its range is gone), -EAGAIN (an event
 * is to be read first; what was copied is taken off the piece), -ESRCH
 * (the task is gone), -EBADMSG (checksum: the tree is killed), -errno.
 */
static int copy_piece(struct lazy_srv *s, struct lazy_task *t, unsigned i)
{
	struct lazy_piece *p = &t->p[i];
	struct lazy_run *r = &t->runs[p->run];
	const unsigned char *buf;
	uint64_t done = 0;
	int err = cr_fail_point("lazy-copy");

	if (err)
		return err;
	err = s->src.ops->get(&s->src, r->off, r->len, (const void **)&buf);
	if (err)
		return err;
	if (!r->checked) {
		err = lazy_check_range(s->chk, &s->src, r->off, r->len, t->pid);
		if (err) {
			s->src.ops->put(&s->src, r->off, r->len);
			if (err == -EBADMSG)
				srv_kill_all(s);
			return err;
		}
		r->checked = true;
	}
	while (done < p->len && !err) {
		struct uffdio_copy c = { .dst = p->vaddr + done, .src = (uint64_t)(buf + (p->off - r->off) + done),
					 .len = p->len - done };

		if (!ioctl(t->uffd, UFFDIO_COPY, &c)) {
			done = p->len;
			break;
		}
		err = -errno;
		if (c.copy > 0)
			done += c.copy;
		if (err == -EEXIST) {		/* that page is in already */
			done += c.copy > 0 ? 0 : PAGE_SIZE;
			err = 0;
		} else if (err == -EAGAIN && c.copy > 0) {
			err = 0;		/* progress: go on */
		} else if (err == -ENOENT) {
			done = p->len;		/* unmapped meanwhile; the event follows */
			err = 0;
		} else if (err != -EAGAIN && err != -ESRCH) {
			pr_errno(err, "lazy-pages: pid %d: UFFDIO_COPY of %lx-%lx", t->pid,
				 (unsigned long)c.dst, (unsigned long)(c.dst + c.len));
		}
	}
	s->src.ops->put(&s->src, r->off, r->len);
	s->copied += min(done, p->len);
	if (done >= p->len) {
		p->len = 0;
		t->pending--;
		return err;
	}
	p->vaddr += done;
	p->off += done;
	p->len -= done;
	return err;
}

static int defer_fault(struct lazy_task *t, uint64_t addr)
{
	if (t->nr_deferred == t->cap_deferred) {
		uint64_t *n = xrealloc(t->deferred, sizeof(*n) * (t->cap_deferred = t->cap_deferred * 2 + 8));

		if (!n)
			return -ENOMEM;
		t->deferred = n;
	}
	t->deferred[t->nr_deferred++] = addr;
	return 0;
}

/* The page at @addr: its piece, or zeros where the image has nothing. 0, -EAGAIN, -errno. */
static int serve_fault(struct lazy_srv *s, struct lazy_task *t, uint64_t addr)
{
	int i = piece_find(t, addr), err;

	if (i >= 0)
		return copy_piece(s, t, i);
	struct uffdio_zeropage z = { .range = { addr, PAGE_SIZE } };

	if (!ioctl(t->uffd, UFFDIO_ZEROPAGE, &z))
		return 0;
	err = -errno;
	if (err == -EEXIST || err == -ENOENT) {
		/* Filled (or gone) meanwhile: make sure the waiter is woken. */
		struct uffdio_range w = { addr, PAGE_SIZE };

		(void)ioctl(t->uffd, UFFDIO_WAKE, &w);
		return 0;
	}
	if (err != -EAGAIN && err != -ESRCH)
		pr_errno(err, "lazy-pages: pid %d: UFFDIO_ZEROPAGE at %lx", t->pid, (unsigned long)addr);
	return err;
}

static int fault(struct lazy_srv *s, struct lazy_task *t, uint64_t addr)
{
	int err = serve_fault(s, t, addr);

	s->faults++;
	return err == -EAGAIN ? defer_fault(t, addr) : err;
}

/* A fork: the child's missing memory is the parent's, on a userfaultfd of its own. */
static int task_forked(struct lazy_srv *s, const struct lazy_task *t, int ufd)
{
	struct lazy_task *c = xzalloc(sizeof(*c));
	int err;

	if (!c) {
		close(ufd);
		return -ENOMEM;
	}
	c->uffd = ufd;
	c->pidfd = -1;
	c->pid = t->pid;
	c->runs = xmalloc(sizeof(*c->runs) * (t->nr_runs + 1));
	c->p = xmalloc(sizeof(*c->p) * (t->nr + 1));
	if (!c->runs || !c->p) {
		task_free(c);
		return -ENOMEM;
	}
	memcpy(c->runs, t->runs, sizeof(*c->runs) * t->nr_runs);
	c->nr_runs = t->nr_runs;
	for (unsigned i = 0; i < t->nr; i++)
		if (t->p[i].len)
			c->p[c->nr++] = t->p[i];
	c->pending = c->nr;
	pr_debug("lazy-pages: pid %d forked: %u pieces missing in the child", t->pid, c->nr);
	err = srv_add(s, c);
	if (err)
		task_free(c);
	return err;
}

static int handle_msg(struct lazy_srv *s, struct lazy_task *t, const struct uffd_msg *m)
{
	switch (m->event) {
	case UFFD_EVENT_PAGEFAULT:
		return fault(s, t, ALIGN_DOWN(m->arg.pagefault.address, PAGE_SIZE));
	case UFFD_EVENT_FORK:
		return task_forked(s, t, m->arg.fork.ufd);
	case UFFD_EVENT_REMAP:
		return pieces_change(t, m->arg.remap.from, m->arg.remap.from + m->arg.remap.len,
				     (int64_t)(m->arg.remap.to - m->arg.remap.from), false);
	case UFFD_EVENT_REMOVE:
	case UFFD_EVENT_UNMAP:
		return pieces_change(t, m->arg.remove.start, m->arg.remove.end, 0, true);
	default:
		return pr_errno(-EBADMSG, "lazy-pages: pid %d: unknown userfaultfd event %u", t->pid, m->event);
	}
}

/* Reads and handles what @t's userfaultfd has, then the faults put off. 0, -ESRCH, -errno. */
static int task_events(struct lazy_srv *s, struct lazy_task *t)
{
	struct uffd_msg msg[UFFD_MSG_BATCH];
	unsigned nr;
	int err = 0;

	for (;;) {
		ssize_t n = read(t->uffd, msg, sizeof(msg));

		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0)
			return n < 0 ? pr_errno(-errno, "lazy-pages: pid %d: reading its userfaultfd", t->pid) : -ESRCH;
		for (unsigned i = 0; i < n / sizeof(msg[0]) && !err; i++)
			err = handle_msg(s, t, &msg[i]);
		if (err)
			return err;
	}
	nr = t->nr_deferred;
	t->nr_deferred = 0;
	for (unsigned i = 0; i < nr && !err; i++)
		err = fault(s, t, t->deferred[i]);
	return err;
}

/*
 * One piece of one task in the background, round robin; *@ret_task: whose
 * (or -1). A task whose cursor reached the end with pieces left (an
 * event rebuilt them) starts again at the first one (srv_loop()).
 */
static int push_one(struct lazy_srv *s, int *ret_task)
{
	*ret_task = -1;
	for (unsigned k = 0; k < s->nr; k++) {
		unsigned i = (s->rr + k) % s->nr;
		struct lazy_task *t = s->t[i];

		if (!t || !t->pending || t->nr_deferred)
			continue;
		while (t->cursor < t->nr && !t->p[t->cursor].len)
			t->cursor++;
		if (t->cursor >= t->nr)
			continue;
		s->rr = i + 1;
		*ret_task = i;
		return copy_piece(s, t, t->cursor);
	}
	return 0;
}

/* Task @i is done (all in place) or gone: both copies of its userfaultfd close. */
static int task_end(struct lazy_srv *s, unsigned i)
{
	struct lazy_task *t = s->t[i];
	int err = keeper_send(s, KEEP_DROP, t);

	pr_debug("lazy-pages: pid %d (#%u): done", t->pid, t->id);
	task_free(t);
	s->t[i] = NULL;
	return err;
}

static int srv_loop(struct lazy_srv *s)
{
	_cleanup_free_ struct pollfd *pfd = NULL;
	unsigned live;
	int err = 0;

	for (;;) {
		bool more = false, deferred = false;
		int pushed = -1;
		unsigned n = 0;
		struct pollfd *np = xrealloc(pfd, sizeof(*pfd) * (s->nr + 1));

		if (!np)
			return -ENOMEM;
		pfd = np;
		live = 0;
		for (unsigned i = 0; i < s->nr; i++) {
			struct lazy_task *t = s->t[i];

			if (t && t->pending && t->cursor >= t->nr) {
				t->cursor = 0;	/* pieces left behind the cursor */
				while (t->cursor < t->nr && !t->p[t->cursor].len)
					t->cursor++;
				if (t->cursor >= t->nr)
					t->pending = 0;
			}
			if (t && !t->pending && !t->nr_deferred) {
				err = task_end(s, i);
				if (err)
					return err;
				continue;
			}
			if (t) {
				live++;
				more |= !t->nr_deferred;
				deferred |= t->nr_deferred;
			}
		}
		if (!live && s->sk < 0)
			return 0;
		if (s->sk >= 0)
			pfd[n++] = (struct pollfd){ .fd = s->sk, .events = POLLIN };
		for (unsigned i = 0; i < s->nr; i++)
			if (s->t[i])
				pfd[n++] = (struct pollfd){ .fd = s->t[i]->uffd, .events = POLLIN };
		/*
		 * The background push waits for the restore's end of the
		 * socket to close (every restorer ready): on two cores it would
		 * slow the restore down, and the tree runs later. Faults are
		 * served at once.
		 */
		more &= s->sk < 0;
		if (poll(pfd, n, more ? 0 : deferred ? 1 : -1) < 0 && errno != EINTR)
			return pr_errno(-errno, "lazy-pages: poll");
		for (unsigned i = 0, k = s->sk >= 0; i < s->nr; i++)
			if (s->t[i])
				s->t[i]->readable = pfd[k++].revents != 0;
		if (s->sk >= 0 && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			err = srv_accept(s);
			if (err == 0) {
				close(s->sk);
				s->sk = -1;
			}
			if (err < 0)
				return err;
		}
		/* Only what has messages or faults put off: a syscall per task per piece is slow for big trees. */
		for (unsigned i = 0; i < s->nr; i++) {
			if (!s->t[i] || (!s->t[i]->readable && !s->t[i]->nr_deferred))
				continue;
			err = task_events(s, s->t[i]);
			if (err == -ESRCH)
				err = task_end(s, i);
			if (err)
				return err;
		}
		err = more ? push_one(s, &pushed) : 0;
		if (err == -ESRCH)	/* it is gone: the restore failed, or it exited */
			err = task_end(s, pushed);
		if (err && err != -EAGAIN)
			return err;
	}
}

/* ---- the keeper ------------------------------------------------------------- */

struct kept {
	uint32_t id;
	int uffd, pidfd;
};

static pid_t pidfd_pid(int pidfd)
{
	char path[64];
	_cleanup_free_ char *buf = NULL;
	const char *p;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	if (read_file_at(AT_FDCWD, path, &buf, NULL))
		return -1;
	p = strstr(buf, "\nPid:");
	return p ? atoi(p + 5) : -1;
}

/* @pid and every process below it, into @out (up to MAX_KIN). */
static void collect_kin(pid_t pid, pid_t *out, unsigned *nr)
{
	char path[320];
	_cleanup_free_ char *buf = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	if (pid <= 0 || *nr >= MAX_KIN)
		return;
	out[(*nr)++] = pid;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		char *p, *end;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/children", pid, de->d_name);
		free(buf);
		buf = NULL;
		if (read_file_at(AT_FDCWD, path, &buf, NULL))
			continue;
		for (p = buf; *p; p = end) {
			long c = strtol(p, &end, 10);

			if (end == p)
				break;
			collect_kin(c, out, nr);
		}
	}
}

/* The server died before all was in place: the tree goes before its userfaultfds close. */
static void keeper_kill(struct kept *k, unsigned nr)
{
	_cleanup_free_ pid_t *kin = xmalloc(sizeof(pid_t) * MAX_KIN);
	unsigned nr_kin = 0;

	for (unsigned i = 0; i < nr; i++)
		if (k[i].pidfd >= 0 && kin)
			collect_kin(pidfd_pid(k[i].pidfd), kin, &nr_kin);
	for (unsigned i = 0; i < nr; i++)
		if (k[i].pidfd >= 0)
			syscall(SYS_pidfd_send_signal, k[i].pidfd, SIGKILL, NULL, 0);
	for (unsigned i = 0; i < nr_kin; i++)
		kill(kin[i], SIGKILL);
}

static int keeper_run(int sk, pid_t server)
{
	_cleanup_free_ struct kept *k = NULL;
	unsigned nr = 0, cap = 0, held = 0;
	int status = 0, err = 0;

	for (;;) {
		struct keep_msg m;
		int fds[2];
		ssize_t n = scm_recv_fds(sk, &m, sizeof(m), fds, 2);

		if (n <= 0 && !(n < 0 && errno == EINTR))
			break;
		if (n != sizeof(m) || (m.op != KEEP_ADD && fds[0] >= 0)) {
			if (fds[0] >= 0)
				close(fds[0]);
			if (fds[1] >= 0)
				close(fds[1]);
			continue;
		}
		if (m.op == KEEP_ADD) {
			if (nr == cap) {
				struct kept *nk = xrealloc(k, sizeof(*k) * (cap = cap * 2 + 16));

				if (!nk) {
					err = -ENOMEM;
					break;
				}
				k = nk;
			}
			k[nr++] = (struct kept){ m.id, fds[0], fds[1] };
			held++;
		} else if (m.op == KEEP_DROP) {
			/* Its pidfd stays: what it forks is found below it. */
			for (unsigned i = 0; i < nr; i++)
				if (k[i].id == m.id && k[i].uffd >= 0) {
					close(k[i].uffd);
					k[i].uffd = -1;
					held--;
				}
		}
	}
	if (waitpid(server, &status, 0) != server)
		status = -1;
	if (err || held || !WIFEXITED(status) || WEXITSTATUS(status)) {
		if (held) {
			pr_err("lazy-pages: the server (pid %d) ended with %u tasks' memory not in place (%s %d): "
			       "killing the restored tree", server, held,
			       WIFSIGNALED(status) ? "signal" : "status",
			       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
			keeper_kill(k, nr);
		}
		err = err ? err : -ECHILD;
	}
	for (unsigned i = 0; i < nr; i++) {
		if (k[i].uffd >= 0)
			close(k[i].uffd);
		if (k[i].pidfd >= 0)
			close(k[i].pidfd);
	}
	return err;
}

/* ---- both ------------------------------------------------------------------- */

static void write_pidfile(int dfd, pid_t pid)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%d\n", pid);
	_cleanup_close_ int fd = openat(dfd, LAZY_PIDFILE_NAME, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
					0600);

	if (fd < 0 || write(fd, buf, n) != n)
		pr_warn("lazy-pages: writing %s: %s", LAZY_PIDFILE_NAME, strerror(errno));
}

int lazy_daemon_run(int dfd, int sk, struct lazy_src *src)
{
	struct lazy_srv s = { .dfd = dfd, .sk = sk };
	int kp[2], err;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, kp))
		return pr_errno(-errno, "lazy-pages: socketpair for the keeper");
	pid = fork();
	if (pid < 0)
		return pr_errno(-errno, "lazy-pages: forking the server");
	if (pid == 0) {
		close(kp[0]);
		prctl(PR_SET_NAME, "cr-lazy-pages");
		s.keeper = kp[1];
		err = lazy_check_start(dfd, &s.chk);
		if (!err && src) {
			s.src = *src;
			s.has_src = true;
		} else if (!err) {
			err = lazy_src_open_file(dfd, lazy_check_pages_id(s.chk), &s.src);
			s.has_src = !err;
		}
		if (!err)
			err = srv_loop(&s);
		/* A restore that failed before any task: the source must not take it for a migration done. */
		if (!err && s.src.ops->finish && !s.next_id)
			err = pr_errno(-ECANCELED, "lazy-pages: the restore ended before it restored any task: the "
				       "page source is not told that all is in place");
		/* All in place: a source that cannot be told so is no harm to the tree. */
		else if (!err && s.src.ops->finish && s.src.ops->finish(&s.src))
			pr_warn("lazy-pages: every page is in place, but the page source did not hear it");
		pr_info("lazy-pages: %lu bytes copied in, %lu faults served%s", (unsigned long)s.copied,
			(unsigned long)s.faults, err ? "; failed" : "");
		for (unsigned i = 0; i < s.nr; i++)
			task_free(s.t[i]);
		if (s.has_src)
			s.src.ops->close(&s.src);
		lazy_check_stop(s.chk);
		_exit(err ? 1 : 0);
	}
	close(kp[1]);
	close(sk);
	/* The server's connection to a page source: its death must close it. */
	if (src)
		src->ops->close(src);
	prctl(PR_SET_NAME, "cr-lazy-keeper");
	write_pidfile(dfd, pid);
	err = keeper_run(kp[0], pid);
	close(kp[0]);
	return err;
}
