/*
 * Lazy restore, cr's side (see lazy.h): which memory is filled lazily,
 * the socket the restorers send their userfaultfds over, and the
 * `cr lazy-pages` command. The daemon itself is lazy-daemon.c.
 */
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "cr.h"
#include "guard.h"
#include "image.h"
#include "lazy.h"
#include "lazy-priv.h"
#include "log.h"
#include "mem.h"
#include "proc-parse.h"
#include "restorer-abi.h"

/* What pie/restorer-uffd.c asks for. */
#define LAZY_FEATURES	RESTORER_LAZY_FEATURES

/*
 * Private anonymous memory, as the daemon can fill it with UFFDIO_COPY:
 * not hugetlb (pages of another size), not locked (mlock() fills it in
 * the restorer, before any daemon could answer), no guards (installed
 * in the restorer on the final VMAs), not PROT_NONE, not MADV_WIPEONFORK
 * (a child forked while its pages are missing would get them from the
 * daemon as its parent's, where it must read zeros: the kernel copies the
 * registration of the VMA, not its emptiness).
 */
bool lazy_vma(const VmaEntry *v)
{
	return v && v->kind == VMA_KIND__VMA_ANON_PRIVATE && !v->hugetlb_size && !(v->mlock & VMF_LOCKED) &&
	       !(v->madv & (VMF_GUARD | VMF_WIPEONFORK)) && v->prot != PROT_NONE;
}

bool lazy_mark_runs(const MmEntry *mm, struct mem_plan *plan)
{
	bool eager_shared = false;

	for (unsigned i = 0; i < plan->nr_runs; i++) {
		struct mem_run *r = &plan->runs[i];

		r->lazy = lazy_vma(mem_find_vma(mm, r->vaddr, r->vaddr + r->len));
		eager_shared |= r->shared && !r->lazy;
	}
	return eager_shared;
}

/* A daemon of the restore's own, outside the tree and cr's session: cr does not wait for it. */
static int fork_daemon(int dfd, int *ret_sk)
{
	int sv[2], status;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return pr_errno(-errno, "lazy-pages: socketpair");
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return pr_errno(-errno, "lazy-pages: forking the daemon");
	}
	if (pid == 0) {
		int keep[] = { sv[1], dfd, log_get_fd() };
		pid_t d = fork();

		if (d)
			_exit(d < 0);
		guard_detach_from_cr("cr-lazy-keeper", keep, log_get_fd() >= 0 ? 3 : 2);
		_exit(lazy_daemon_run(dfd, sv[1], NULL) ? 1 : 0);
	}
	close(sv[1]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		close(sv[0]);
		return pr_errno(-ECHILD, "lazy-pages: the daemon could not be started");
	}
	pr_info("lazy-pages: started a daemon of this restore's own");
	*ret_sk = sv[0];
	return 0;
}

/* A socket for DIR/lazy-pages.socket (its address in @sa), where the kernel can do lazy restore. */
static int lazy_socket(int dfd, struct sockaddr_un *sa)
{
	int sk;

	if (!lazy_supported())
		return pr_errno(-EOPNOTSUPP, "lazy-pages: this kernel's userfaultfd cannot do it (see above)");
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s", dfd, LAZY_SOCKET_NAME) >=
	    (int)sizeof(sa->sun_path))
		return pr_errno(-ENAMETOOLONG, "lazy-pages: the socket's path");
	sk = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	return sk < 0 ? pr_errno(-errno, "lazy-pages: socket") : sk;
}

int lazy_restore_connect(int dfd, int *ret_sk)
{
	struct sockaddr_un sa;
	_cleanup_close_ int sk = lazy_socket(dfd, &sa);

	if (sk < 0)
		return sk;
	if (!connect(sk, (struct sockaddr *)&sa, sizeof(sa))) {
		pr_info("lazy-pages: using the daemon listening on %s", LAZY_SOCKET_NAME);
		*ret_sk = TAKE_FD(sk);
		return 0;
	}
	if (errno != ENOENT && errno != ECONNREFUSED)
		return pr_errno(-errno, "lazy-pages: connecting to %s", LAZY_SOCKET_NAME);
	return fork_daemon(dfd, ret_sk);
}

/* --page-server: the remote source, and the local page image the restore reads (lazy-remote.c). */
static int open_remote(const struct cr_options *o, int dfd, struct lazy_src *ret, unsigned *ret_id)
{
	struct lazy_check *c = NULL;
	int err = lazy_check_start(dfd, &c);

	if (err)
		return err;
	*ret_id = lazy_check_pages_id(c);
	lazy_check_stop(c);
	return lazy_src_open_remote(o, dfd, *ret_id, ret);
}

int cr_lazy_pages(const struct cr_options *o, int dfd)
{
	struct sockaddr_un sa;
	_cleanup_close_ int lsk = lazy_socket(dfd, &sa), sk = -EBADF;
	struct lazy_src src = { 0 };
	unsigned pages_id = 0;
	int err = lsk < 0 ? lsk : 0;

	/* The restore reads the local page image: it is whole before anybody can connect. */
	if (!err && o->ps.on)
		err = open_remote(o, dfd, &src, &pages_id);
	if (!err && unlinkat(dfd, LAZY_SOCKET_NAME, 0) && errno != ENOENT)
		err = pr_errno(-errno, "lazy-pages: removing an old %s", LAZY_SOCKET_NAME);
	if (!err && (bind(lsk, (struct sockaddr *)&sa, sizeof(sa)) || listen(lsk, 1)))
		err = pr_errno(-errno, "lazy-pages: listening on %s", LAZY_SOCKET_NAME);
	/* The point of no return: the source's tree dies, a restore may start. */
	if (!err && src.ops)
		err = src.ops->start(&src);
	if (!err)
		err = cr_status_ready(o);
	if (!err) {
		pr_info("lazy-pages: waiting for cr restore --lazy-pages on %s", LAZY_SOCKET_NAME);
		sk = accept4(lsk, NULL, NULL, SOCK_CLOEXEC);
		if (sk < 0)
			err = pr_errno(-errno, "lazy-pages: accept on %s", LAZY_SOCKET_NAME);
	}
	/* One restore: nobody else connects (and a failure leaves no socket to find). */
	if (lsk >= 0)
		unlinkat(dfd, LAZY_SOCKET_NAME, 0);
	if (!err)
		err = lazy_daemon_run(dfd, TAKE_FD(sk), src.ops ? &src : NULL);
	else if (src.ops)
		src.ops->close(&src);
	/* Its holes would read as zeros: the local page image is the restore's only. */
	if (src.ops) {
		char name[32];

		snprintf(name, sizeof(name), img_descs[IMG_PAGES].fmt, pages_id);
		unlinkat(dfd, name, 0);
	}
	return err;
}

#define UNPRIV_UFFD_SYSCTL	"/proc/sys/vm/unprivileged_userfaultfd"

int lazy_userns_check(void)
{
	_cleanup_free_ char *buf = NULL;

	if (!read_file_at(AT_FDCWD, UNPRIV_UFFD_SYSCTL, &buf, NULL) && atoi(buf) == 1)
		return 0;
	return pr_errno(-EOPNOTSUPP, "--lazy-pages: the tree has a user namespace of its own, where userfaultfd "
			"serves faults of the kernel only with %s = 1 (it is not)", UNPRIV_UFFD_SYSCTL);
}

bool lazy_supported(void)
{
	struct uffdio_api api = { .api = UFFD_API, .features = LAZY_FEATURES };
	_cleanup_close_ int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		pr_info("lazy-pages: userfaultfd: %s", strerror(errno));
		return false;
	}
	if (ioctl(fd, UFFDIO_API, &api)) {
		pr_info("lazy-pages: UFFDIO_API with fork, remap, remove and unmap events: %s", strerror(errno));
		return false;
	}
	if ((api.features & LAZY_FEATURES) != LAZY_FEATURES ||
	    !(api.ioctls & (1ULL << _UFFDIO_REGISTER))) {
		pr_info("lazy-pages: userfaultfd lacks features %llx",
			(unsigned long long)(LAZY_FEATURES & ~api.features));
		return false;
	}
	return true;
}
