/*
 * The parasite: runs inside the dumped task, in the shared area cr mapped
 * there, with every signal blocked. It serves cr's commands over a unix
 * socket until the socket closes, cr being done or dead alike; then it
 * leaves through the trampoline cr placed outside the area, which unmaps
 * the area and puts the task's own state back. It uses no FPU or vector
 * register (-mgeneral-regs-only): the trampoline restores only the
 * general ones.
 */
#include <linux/mman.h>
#include <linux/net.h>
#include <linux/socket.h>
#include <linux/un.h>
#include <linux/uio.h>
#include <asm/signal.h>

#include "pie-lib.h"
#include "parasite-cmds.h"
#include "asm/pie-arch.h"

#define AF_UNIX_	1
#define SOCK_SEQPACKET_	5
#define SOCK_CLOEXEC_	02000000
#define SCM_RIGHTS_	1
#define SOL_SOCKET_	1
#define PROT_READ_	1
#define PR_GET_DUMPABLE_	3
#define PR_GET_SECUREBITS_	27
#define PR_GET_PDEATHSIG_	2
#define PR_GET_TID_ADDRESS_	40
#define PR_GET_CHILD_SUBREAPER_	37
#define PR_GET_THP_DISABLE_	42
#define MEMBARRIER_CMD_GET_REGISTRATIONS_	(1 << 9)	/* Linux 6.3 */
#define MCL_FUTURE_	2
#define MCL_ONFAULT_	4
#define MADV_COLD_	20
#define PROT_RW_	3
#define MAP_PRIVATE_ANON_	0x22
#define EINVAL_		22
#define EAGAIN_		11
#define PAGE_CHUNK	(256UL << 10)	/* crc + vmsplice granularity: a quarter of the pipe */
#define MSG_NOSIGNAL_	0x4000
#define SIGPIPE_	13
#define SIGSET_SIZE	8

struct msghdr_ {
	void *name;
	int namelen;
	struct iovec *iov;
	unsigned long iovlen;
	void *control;
	unsigned long controllen;
	unsigned flags;
};

struct cmsghdr_ {
	unsigned long len;
	int level;
	int type;
	int fd;
};

static int recv_cmd(int sock, struct parasite_msg *m, int *ret_fd)
{
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	struct cmsghdr_ cm = { 0 };
	struct msghdr_ h = {
		.iov = &iov, .iovlen = 1, .control = &cm, .controllen = sizeof(cm),
	};
	long r = sys_recvmsg(sock, &h, 0);

	if (r <= 0)
		return r ? (int)r : -1;
	*ret_fd = (h.controllen >= sizeof(cm) && cm.type == SCM_RIGHTS_) ? cm.fd : -1;
	return 0;
}

static int send_reply(int sock, int ret)
{
	struct parasite_msg m = { .cmd = PARASITE_CMD_ACK, .ret = ret };
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	struct msghdr_ h = { .iov = &iov, .iovlen = 1 };

	/* cr gone: an error, not a SIGPIPE the task would get later. */
	return sys_sendmsg(sock, &h, MSG_NOSIGNAL_) == sizeof(m) ? 0 : -1;
}

static int splice_all(int pipe_fd, unsigned long addr, unsigned long len)
{
	while (len) {
		struct iovec iov = { .iov_base = (void *)addr, .iov_len = len };
		long r = sys_vmsplice(pipe_fd, &iov, 1, 0);

		if (r < 0)
			return (int)r;
		addr += r;
		len -= r;
	}
	return 0;
}

/*
 * Checksums and vmsplices every run. Runs are cut in PAGE_CHUNK pieces so
 * cr's splice on the other core overlaps our checksumming.
 */
static int dump_pages(struct parasite_dump_pages *dp, int pipe_fd)
{
	u32 i;
	int ret = 0;

	for (i = 0; i < dp->nr_iovs && !ret; i++) {
		struct parasite_page_iov *v = &dp->iovs[i];
		unsigned long addr = v->addr, left = (unsigned long)v->nr_pages * PAGE_SIZE;
		unsigned crc = 0;

		if (!(v->prot & PROT_READ_)) {
			ret = sys_mprotect(v->addr, left, v->prot | PROT_READ_);
			if (ret)
				break;
		}
		while (left && !ret) {
			unsigned long n = left < PAGE_CHUNK ? left : PAGE_CHUNK;

			if (!(dp->flags & PARASITE_PAGES_NO_CRC))
				crc = pie_crc32c(crc, (void *)addr, n);
			ret = splice_all(pipe_fd, addr, n);
			addr += n;
			left -= n;
		}
		v->crc = crc;
		if (!(v->prot & PROT_READ_)) {
			int r = sys_mprotect(v->addr, (unsigned long)v->nr_pages * PAGE_SIZE, v->prot);
			if (!ret)
				ret = r;
		}
	}
	return ret;
}

struct ksigaction {
	u64 handler, flags, restorer, mask;
};

/*
 * mlockall(MCL_FUTURE) shows only on mappings made after it: a probe page
 * of our own. MADV_COLD refuses (EINVAL) a VM_LOCKED area; MCL_FUTURE
 * without MCL_ONFAULT also fills the page at mmap (mincore says resident).
 */
static int probe_mcl_future(u32 *ret)
{
	unsigned char resident = 0;
	long p = sys_mmap(0, PAGE_SIZE, PROT_RW_, MAP_PRIVATE_ANON_, -1, 0), r;

	/* Only a locked mapping over RLIMIT_MEMLOCK fails so: MCL_FUTURE, ONFAULT unknown. */
	if (p == -EAGAIN_) {
		*ret = MCL_FUTURE_;
		return 0;
	}
	if (p < 0 && p > -4096)
		return p;
	r = sys_madvise(p, PAGE_SIZE, MADV_COLD_);
	*ret = 0;
	if (r == -EINVAL_) {
		r = sys_mincore(p, PAGE_SIZE, &resident);
		*ret = MCL_FUTURE_ | ((resident & 1) ? 0 : MCL_ONFAULT_);
	}
	sys_munmap(p, PAGE_SIZE);
	return r < 0 && r != -EINVAL_ ? r : 0;
}

/* The mm's own state: THP disabled, membarrier registrations, MCL_FUTURE. */
static int dump_mm_misc(struct parasite_dump_misc *m)
{
	m->thp_disable = sys_prctl(PR_GET_THP_DISABLE_, 0, 0, 0, 0);
	if (m->thp_disable < 0)
		return m->thp_disable;
	m->membarrier = sys_membarrier(MEMBARRIER_CMD_GET_REGISTRATIONS_, 0, 0);
	return probe_mcl_future(&m->mcl_future);
}

static int dump_misc(struct parasite_dump_misc *m)
{
	int i, ret;

	for (i = 1; i <= PARASITE_NSIG; i++) {
		struct ksigaction ka;

		if (i == SIGKILL || i == SIGSTOP)
			continue;
		ret = sys_rt_sigaction(i, 0, &ka, 8);
		if (ret)
			return ret;
		m->sa[i - 1].handler = ka.handler;
		m->sa[i - 1].flags = ka.flags;
		m->sa[i - 1].restorer = ka.restorer;
		m->sa[i - 1].mask = ka.mask;
	}
	for (i = 0; i < 3; i++) {
		long v[4];

		ret = sys_getitimer(i, v);
		if (ret)
			return ret;
		m->itimers[i].isec = v[0];
		m->itimers[i].iusec = v[1];
		m->itimers[i].vsec = v[2];
		m->itimers[i].vusec = v[3];
	}
	for (i = 0; i < PARASITE_NR_RLIMITS; i++) {
		ret = sys_prlimit64(0, i, 0, m->rlimits[i]);
		if (ret)
			return ret;
	}
	for (i = 0; i < (int)m->nr_timers; i++) {
		struct parasite_timer *t = &m->timers[i];

		ret = sys_timer_gettime(t->id, &t->isec);
		if (ret)
			return ret;
	}
	m->brk = sys_brk(0);
	/* umask can only be read by setting it: put it straight back. */
	m->umask = sys_umask(0);
	sys_umask(m->umask);
	m->pid = sys_getpid();
	ret = sys_prctl(PR_GET_SECUREBITS_, 0, 0, 0, 0);
	if (ret < 0)
		return ret;
	m->secbits = ret;
	ret = sys_prctl(PR_GET_DUMPABLE_, 0, 0, 0, 0);
	if (ret < 0)
		return ret;
	m->dumpable = ret;
	ret = sys_prctl(PR_GET_PDEATHSIG_, (unsigned long)&m->pdeath_sig, 0, 0, 0);
	if (!ret)
		ret = sys_prctl(PR_GET_TID_ADDRESS_, (unsigned long)&m->clear_tid, 0, 0, 0);
	if (!ret)
		ret = sys_prctl(PR_GET_CHILD_SUBREAPER_, (unsigned long)&m->child_subreaper, 0, 0, 0);
	if (ret)
		return ret;
	/* Older kernels do not know it: then nothing is dynamic. */
	if (sys_arch_prctl(ARCH_GET_XCOMP_PERM, (unsigned long)&m->xfeatures_perm) < 0)
		m->xfeatures_perm = 0;
	ret = dump_mm_misc(m);
	if (ret)
		return ret;
	return sys_sigaltstack(0, &m->sigaltstack);
}

#define RSEQ_FLAG_UNREGISTER_	1

static void rseq_pause(const struct parasite_args *args, int resume)
{
	if (args->rseq_ptr)
		sys_rseq(args->rseq_ptr, args->rseq_size, resume ? 0 : RSEQ_FLAG_UNREGISTER_, args->rseq_sig);
}

static int sigpipe_pending(void)
{
	u64 pending = 0;

	return sys_rt_sigpending(&pending, SIGSET_SIZE) == 0 && (pending & (1ULL << (SIGPIPE_ - 1)));
}

/*
 * A vmsplice into cr's pipe after cr died raised SIGPIPE, held back by the
 * blocked mask: take it back, unless the task had one pending already.
 */
static void drop_own_sigpipe(int had_sigpipe)
{
	u64 set = 1ULL << (SIGPIPE_ - 1);
	struct { long sec, nsec; } now = { 0, 0 };

	if (!had_sigpipe)
		sys_rt_sigtimedwait(&set, 0, &now, SIGSET_SIZE);
}

/* Leaves for good: the trampoline unmaps the area and restores the task. */
static __noreturn void leave(struct parasite_args *args, int sock, int had_sigpipe)
{
	if (sock >= 0)
		sys_close(sock);
	drop_own_sigpipe(had_sigpipe);
	rseq_pause(args, 1);
	arch_tramp_leave(args->tramp_sys, __NR_munmap, args->area_start, args->area_size);
}

/*
 * No channel: says why in the args, where the host looks while it waits,
 * and leaves at once, as it would if the host had died (it may have).
 */
static __noreturn void give_up(struct parasite_args *args, int sock, int had_sigpipe, int err)
{
	__atomic_store_n(&args->conn_err, err, __ATOMIC_RELEASE);
	leave(args, sock, had_sigpipe);
}

int blob_main(struct parasite_args *args)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX_ };
	int had_sigpipe = sigpipe_pending();
	int sock, fd = -1, ret;

	rseq_pause(args, 0);
	sock = sys_socket(AF_UNIX_, SOCK_SEQPACKET_ | SOCK_CLOEXEC_, 0);
	if (sock < 0)
		give_up(args, -1, had_sigpipe, sock);
	memcpy(addr.sun_path, args->sun_path, args->sun_len);
	ret = sys_connect(sock, &addr, 2 + args->sun_len);
	if (ret)
		give_up(args, sock, had_sigpipe, ret);

	for (;;) {
		struct parasite_msg m;

		fd = -1;
		if (recv_cmd(sock, &m, &fd))
			break;
		switch (m.cmd) {
		case PARASITE_CMD_DUMP_PAGES:
			ret = fd < 0 ? -9 : dump_pages((void *)args->data, fd);
			break;
		case PARASITE_CMD_DUMP_MISC:
			ret = dump_misc((void *)args->data);
			break;
		default:
			ret = -22;
		}
		if (fd >= 0)
			sys_close(fd);
		if (send_reply(sock, ret))
			break;
	}
	leave(args, sock, had_sigpipe);
}
