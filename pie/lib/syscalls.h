#ifndef CR_PIE_SYSCALLS_H
#define CR_PIE_SYSCALLS_H

/*
 * The syscalls the blobs use, one line each: sys_foo() returns what the
 * kernel returns, -errno on failure. Only what is used is listed.
 */

#include "asm/syscall.h"

#define SC0(nr)			__sc(nr, 0, 0, 0, 0, 0, 0)
#define SC(nr, ...)		__sc_pad(nr, __VA_ARGS__, 0, 0, 0, 0, 0, 0)
#define __sc_pad(nr, a, b, c, d, e, f, ...) __sc(nr, a, b, c, d, e, f)

static inline long sys_read(int fd, void *buf, unsigned long n) { return SC(__NR_read, fd, buf, n); }
static inline long sys_write(int fd, const void *buf, unsigned long n) { return SC(__NR_write, fd, buf, n); }
static inline long sys_close(int fd) { return SC(__NR_close, fd); }
static inline long sys_fcntl(int fd, int cmd, void *arg) { return SC(__NR_fcntl, fd, cmd, arg); }
static inline long sys_close_range(unsigned lo, unsigned hi, unsigned fl) { return SC(__NR_close_range, lo, hi, fl); }
static inline long sys_mmap(unsigned long addr, unsigned long len, long prot, long flags, long fd, unsigned long off)
{ return SC(__NR_mmap, addr, len, prot, flags, fd, off); }
static inline long sys_munmap(unsigned long addr, unsigned long len) { return SC(__NR_munmap, addr, len); }
static inline long sys_mprotect(unsigned long addr, unsigned long len, long prot) { return SC(__NR_mprotect, addr, len, prot); }
static inline long sys_mremap(unsigned long old, unsigned long olen, unsigned long nlen, long fl, unsigned long naddr)
{ return SC(__NR_mremap, old, olen, nlen, fl, naddr); }
static inline long sys_madvise(unsigned long addr, unsigned long len, long advice) { return SC(__NR_madvise, addr, len, advice); }
static inline long sys_mincore(unsigned long addr, unsigned long len, unsigned char *vec) { return SC(__NR_mincore, addr, len, vec); }
static inline long sys_mlock2(unsigned long addr, unsigned long len, int fl) { return SC(__NR_mlock2, addr, len, fl); }
static inline long sys_mlockall(int fl) { return SC(__NR_mlockall, fl); }
static inline long sys_membarrier(int cmd, unsigned fl, int cpu) { return SC(__NR_membarrier, cmd, fl, cpu); }
static inline long sys_socket(int d, int t, int p) { return SC(__NR_socket, d, t, p); }
static inline long sys_connect(int fd, const void *a, int len) { return SC(__NR_connect, fd, a, len); }
static inline long sys_sendmsg(int fd, const void *m, int fl) { return SC(__NR_sendmsg, fd, m, fl); }
static inline long sys_recvmsg(int fd, void *m, int fl) { return SC(__NR_recvmsg, fd, m, fl); }
static inline long sys_getsockopt(int fd, int level, int opt, void *val, unsigned *len)
{ return SC(__NR_getsockopt, fd, level, opt, val, len); }
static inline long sys_nanosleep(const void *req, void *rem) { return SC(__NR_nanosleep, req, rem); }
static inline long sys_vmsplice(int fd, const void *iov, unsigned long n, unsigned fl) { return SC(__NR_vmsplice, fd, iov, n, fl); }
static inline long sys_io_setup(unsigned nr, unsigned long *ctx) { return SC(__NR_io_setup, nr, ctx); }
static inline long sys_io_submit(unsigned long ctx, long nr, void *iocbpp) { return SC(__NR_io_submit, ctx, nr, iocbpp); }
static inline long sys_io_getevents(unsigned long ctx, long min, long nr, void *ev, void *ts)
{ return SC(__NR_io_getevents, ctx, min, nr, ev, ts); }
static inline long sys_preadv(int fd, const void *iov, unsigned long n, unsigned long off)
{ return SC(__NR_preadv, fd, iov, n, off, 0); }
static inline long sys_rt_sigaction(int sig, const void *act, void *old, unsigned long sz)
{ return SC(__NR_rt_sigaction, sig, act, old, sz); }
static inline long sys_rt_sigprocmask(int how, const void *set, void *old, unsigned long sz)
{ return SC(__NR_rt_sigprocmask, how, set, old, sz); }
static inline long sys_rt_sigpending(void *set, unsigned long sz) { return SC(__NR_rt_sigpending, set, sz); }
static inline long sys_rt_sigtimedwait(const void *set, void *info, const void *ts, unsigned long sz)
{ return SC(__NR_rt_sigtimedwait, set, info, ts, sz); }
static inline long sys_rt_sigqueueinfo(int pid, int sig, const void *info) { return SC(__NR_rt_sigqueueinfo, pid, sig, info); }
static inline long sys_rt_tgsigqueueinfo(int tgid, int tid, int sig, const void *info)
{ return SC(__NR_rt_tgsigqueueinfo, tgid, tid, sig, info); }
static inline long sys_getitimer(int which, void *v) { return SC(__NR_getitimer, which, v); }
static inline long sys_setitimer(int which, const void *v, void *old) { return SC(__NR_setitimer, which, v, old); }
static inline long sys_brk(unsigned long b) { return SC(__NR_brk, b); }
static inline long sys_umask(int m) { return SC(__NR_umask, m); }
static inline long sys_getpid(void) { return SC0(__NR_getpid); }
static inline long sys_ioctl(int fd, unsigned long cmd, void *arg) { return SC(__NR_ioctl, fd, cmd, arg); }
static inline long sys_userfaultfd(int flags) { return SC(__NR_userfaultfd, flags); }
static inline long sys_pidfd_open(int pid, unsigned flags) { return SC(__NR_pidfd_open, pid, flags); }
static inline long sys_gettid(void) { return SC0(__NR_gettid); }
static inline long sys_sigaltstack(const void *ss, void *old) { return SC(__NR_sigaltstack, ss, old); }
static inline long sys_arch_prctl(int code, unsigned long addr) { return SC(__NR_arch_prctl, code, addr); }
static inline long sys_prctl(int op, unsigned long a, unsigned long b, unsigned long c, unsigned long d)
{ return SC(__NR_prctl, op, a, b, c, d); }
static inline long sys_prlimit64(int pid, int res, const void *n, void *old) { return SC(__NR_prlimit64, pid, res, n, old); }
static inline long sys_personality(unsigned long p) { return SC(__NR_personality, p); }
static inline long sys_ppoll(void *fds, unsigned n, const void *ts, const void *mask, unsigned long sz)
{ return SC(__NR_ppoll, fds, n, ts, mask, sz); }
static inline long sys_futex(void *uaddr, int op, unsigned val, const void *ts, void *u2, unsigned v3)
{ return SC(__NR_futex, uaddr, op, val, ts, u2, v3); }
static inline long sys_rseq(unsigned long ptr, unsigned len, int flags, unsigned sig) { return SC(__NR_rseq, ptr, len, flags, sig); }
static inline long sys_setgroups(long n, const void *g) { return SC(__NR_setgroups, n, g); }
static inline long sys_setresuid(long r, long e, long s) { return SC(__NR_setresuid, r, e, s); }
static inline long sys_setresgid(long r, long e, long s) { return SC(__NR_setresgid, r, e, s); }
static inline long sys_setfsuid(long u) { return SC(__NR_setfsuid, u); }
static inline long sys_setfsgid(long g) { return SC(__NR_setfsgid, g); }
static inline long sys_capset(void *hdr, const void *data) { return SC(__NR_capset, hdr, data); }
static inline long sys_timer_gettime(long id, void *its) { return SC(__NR_timer_gettime, id, its); }
static inline long sys_timer_create(long clock, void *sev, int *id) { return SC(__NR_timer_create, clock, sev, id); }
static inline long sys_timer_settime(long id, long fl, const void *its, void *old)
{ return SC(__NR_timer_settime, id, fl, its, old); }
static inline long sys_seccomp(long op, long flags, void *args) { return SC(__NR_seccomp, op, flags, args); }
static inline long sys_kill(int pid, int sig) { return SC(__NR_kill, pid, sig); }
static inline long sys_tgkill(int tgid, int tid, int sig) { return SC(__NR_tgkill, tgid, tid, sig); }
static inline long sys_exit_group(int code) { return SC(__NR_exit_group, code); }
static inline long sys_shmat(int id, unsigned long addr, int flags) { return SC(__NR_shmat, id, addr, flags); }
static inline long sys_set_tid_address(unsigned long addr) { return SC(__NR_set_tid_address, addr); }
static inline long sys_set_robust_list(unsigned long head, unsigned long len)
{ return SC(__NR_set_robust_list, head, len); }
static inline long sys_sched_setattr(int tid, void *attr, unsigned flags)
{ return SC(__NR_sched_setattr, tid, attr, flags); }

#endif
