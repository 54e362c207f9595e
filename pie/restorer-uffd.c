/*
 * The restorer's side of a lazy restore (see criu-lite/lazy.c): the
 * task's private anonymous memory is registered with a userfaultfd and
 * left empty; the lazy-pages daemon gets the userfaultfd and fills it,
 * the pages a fault asks for first. Done right after the VMAs are
 * mapped, before anything the restorer does could touch them: from here
 * on a fault (the kernel's rseq update included) waits for the daemon.
 */
#include <linux/ioctl.h>
#include <linux/userfaultfd.h>
#include <linux/fcntl.h>
#include <linux/socket.h>

#include "pie-lib.h"
#include "restorer-uffd.h"

#define SOL_SOCKET_	1
#define SCM_RIGHTS_	1
#define MSG_NOSIGNAL_	0x4000
/*
 * The daemon follows the tree's own changes: its forks (the child's
 * missing pages are the parent's, on a userfaultfd of its own), mremap()s
 * (the missing pages move), munmap()s and MADV_DONTNEEDs (they are no
 * longer missing data: a later fault there reads zeros, as it would have).
 */
#define LAZY_FEATURES	RESTORER_LAZY_FEATURES

struct iovec_ {
	u64 base, len;
};

struct msghdr_ {
	void *name;
	int namelen;
	struct iovec_ *iov;
	unsigned long iovlen;
	void *control;
	unsigned long controllen;
	unsigned flags;
};

struct cmsg2_ {
	unsigned long len;
	int level, type;
	int fds[2];
};

static long send_fds(int sk, int uffd, int pidfd, int pid)
{
	struct restorer_lazy_hello hello = { RESTORER_LAZY_MAGIC, pid };
	struct iovec_ iov = { (u64)&hello, sizeof(hello) };
	struct cmsg2_ c = { sizeof(c), SOL_SOCKET_, SCM_RIGHTS_, { uffd, pidfd } };
	struct msghdr_ m = { .iov = &iov, .iovlen = 1, .control = &c, .controllen = sizeof(c) };
	long r = sys_sendmsg(sk, &m, MSG_NOSIGNAL_);

	if (r >= 0 && r != sizeof(hello))
		r = -5;	/* EIO */
	return r < 0 ? r : 0;
}

long restorer_uffd_setup(const struct restorer_vma *vmas, u32 nr_vmas, int sk, int pid)
{
	struct uffdio_api api = { .api = UFFD_API, .features = LAZY_FEATURES };
	/* Through variables: the sys_*() macros cannot take _IOWR()'s type argument. */
	const unsigned long api_cmd = UFFDIO_API, reg_cmd = UFFDIO_REGISTER;
	long uffd, pidfd = -1, r;

	if (sk < 0)
		return 0;
	uffd = sys_userfaultfd(O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0) {
		pie_err("pid %d: userfaultfd: %ld", pid, uffd);
		return uffd;
	}
	r = sys_ioctl(uffd, api_cmd, &api);
	if (r < 0)
		pie_err("pid %d: UFFDIO_API with features %lx: %ld", pid, (unsigned long)LAZY_FEATURES, r);
	for (u32 i = 0; i < nr_vmas && r >= 0; i++) {
		struct uffdio_register reg = {
			.range = { vmas[i].start, vmas[i].end - vmas[i].start },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		if (!vmas[i].lazy)
			continue;
		r = sys_ioctl(uffd, reg_cmd, &reg);
		if (r < 0)
			pie_err("pid %d: UFFDIO_REGISTER of %lx-%lx: %ld", pid, vmas[i].start, vmas[i].end, r);
	}
	if (r >= 0) {
		pidfd = sys_pidfd_open(sys_getpid(), 0);
		r = pidfd;
		if (r < 0)
			pie_err("pid %d: pidfd_open: %ld", pid, r);
	}
	if (r >= 0) {
		r = send_fds(sk, uffd, pidfd, pid);
		if (r < 0)
			pie_err("pid %d: sending the userfaultfd to the lazy-pages daemon: %ld", pid, r);
	}
	if (pidfd >= 0)
		sys_close(pidfd);
	sys_close(uffd);
	return r < 0 ? r : 0;
}
