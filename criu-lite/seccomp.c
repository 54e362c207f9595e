/*
 * Seccomp filters, dump and restore. The kernel keeps a chain per thread;
 * ptrace reads it (PTRACE_SECCOMP_GET_FILTER, index 0 the oldest: the
 * kernel counts back from the newest to total - index) and says of
 * each filter only whether it logs. Chains are stored oldest first: the
 * main thread's in core_entry, another thread's in its thread_core_entry
 * when it differs from the main one's.
 *
 * The restorer installs them last, after the go: the bottom of the
 * chains that every thread has in common goes in once, from the main
 * thread with TSYNC, so the threads share those filters as they did (a
 * TSYNC install after the restore works as it did before the dump); each
 * thread then installs the rest of its own chain. Filters that only some
 * threads share above that common bottom are installed once per thread.
 * A thread in strict mode enters it last: from then on only read, write,
 * exit and rt_sigreturn (the one that makes it the dumped thread) pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "infect.h"
#include "log.h"
#include "proc-parse.h"
#include "region.h"
#include "restorer-abi.h"
#include "seccomp.h"

#define SECCOMP_MODE_STRICT_		1
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW_	(1ULL << 2)
#define SECCOMP_RET_ACTION_FULL_	0xffff0000U
#define SECCOMP_RET_USER_NOTIF_		0x7fc00000U
#define BPF_INSN_SIZE			8	/* struct sock_filter */
#define BPF_MAXINSNS_			4096
#define BPF_CLASS_(code)		((code) & 0x07)
#define BPF_RVAL_(code)			((code) & 0x18)
#define BPF_RET_			0x06
#define BPF_K_				0x00

struct bpf_insn_ {			/* struct sock_filter */
	uint16_t code;
	uint8_t jt, jf;
	uint32_t k;
};

/* Whether thread @tid runs in strict mode. */
static int is_strict(pid_t tid, bool *ret)
{
	_cleanup_free_ struct proc_status *st = xzalloc(sizeof(*st));
	int err;

	if (!st)
		return -ENOMEM;
	err = proc_parse_status(tid, st);
	if (!err)
		*ret = st->seccomp == SECCOMP_MODE_STRICT_;
	return err;
}

/*
 * A filter whose verdict may be SECCOMP_RET_USER_NOTIF hands syscalls to a
 * listener (SECCOMP_FILTER_FLAG_NEW_LISTENER) that cr cannot dump: the
 * supervisor holding its fd and the notifications in flight. A verdict
 * computed at run time (BPF_RET | BPF_A) may be that one too.
 */
static int check_listener(pid_t tid, unsigned idx, const struct bpf_insn_ *insns, unsigned len)
{
	for (unsigned i = 0; i < len; i++) {
		if (BPF_CLASS_(insns[i].code) != BPF_RET_)
			continue;
		if (BPF_RVAL_(insns[i].code) != BPF_K_)
			return pr_errno(-EOPNOTSUPP, "thread %d: seccomp filter %u returns a computed verdict, which "
					"may hand a syscall to a user-space listener (SECCOMP_RET_USER_NOTIF); "
					"listeners are not supported", tid, idx);
		if ((insns[i].k & SECCOMP_RET_ACTION_FULL_) == SECCOMP_RET_USER_NOTIF_)
			return pr_errno(-EOPNOTSUPP, "thread %d: seccomp filter %u hands syscalls to a user-space "
					"listener (SECCOMP_RET_USER_NOTIF, SECCOMP_FILTER_FLAG_NEW_LISTENER); the "
					"listener's supervisor and its notifications cannot be dumped", tid, idx);
	}
	return 0;
}

/*
 * Installing a filter without SECCOMP_FILTER_FLAG_SPEC_ALLOW force-disables
 * speculative store bypass and indirect branch speculation of the thread
 * where the kernel's mitigation is in seccomp mode. A thread whose
 * speculation is not force-mitigated had its filters with SPEC_ALLOW (or
 * on a kernel that does no such thing): restored with it, they leave its
 * speculation as it was.
 */
static int spec_allowed(pid_t tid, bool *ret)
{
	static const char *const keys[] = { "\nSpeculation_Store_Bypass:", "\nSpeculationIndirectBranch:" };
	_cleanup_free_ char *buf = NULL;
	char path[64];
	int err;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	err = read_file_at(AT_FDCWD, path, &buf, NULL);
	if (err)
		return err;
	*ret = true;
	for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *line = strstr(buf, keys[i]);
		const char *end = line ? strchr(line + 1, '\n') : NULL;
		const char *force = line ? strstr(line, "force") : NULL;

		if (force && (!end || force < end))
			*ret = false;
	}
	return 0;
}

void seccomp_chain_free(struct seccomp_chain *c)
{
	for (unsigned i = 0; i < c->nr; i++)
		free(c->filters[i].insns.data);
	free(c->filters);
	free(c->ptrs);
	*c = (struct seccomp_chain){ 0 };
}

/* Adds filter @idx of @tid (0: its oldest) on top of @c; 0 when there is none. */
static int collect_one(pid_t tid, unsigned idx, struct seccomp_chain *c)
{
	SeccompFilterEntry *n;
	void *insns;
	unsigned len;
	uint64_t flags;
	int r = infect_seccomp_filter(tid, idx, &insns, &len, &flags);

	if (r <= 0)
		return r;
	r = check_listener(tid, idx, insns, len);
	n = r ? NULL : xrealloc(c->filters, sizeof(*n) * (c->nr + 1));
	if (!n) {
		free(insns);
		return r ? r : -ENOMEM;
	}
	c->filters = n;
	n += c->nr++;
	seccomp_filter_entry__init(n);
	n->insns.data = insns;
	n->insns.len = (size_t)len * BPF_INSN_SIZE;
	n->flags = flags;
	return 1;
}

int seccomp_collect(pid_t tid, struct seccomp_chain *ret)
{
	struct seccomp_chain c = { 0 };
	bool spec_allow = true;
	int r;

	r = is_strict(tid, &c.strict);
	if (!r && !c.strict)
		for (unsigned idx = 0; (r = collect_one(tid, idx, &c)) > 0; idx++)
			;
	if (!r && c.nr)
		r = spec_allowed(tid, &spec_allow);
	if (!r && c.nr) {
		c.ptrs = xmalloc(sizeof(*c.ptrs) * c.nr);
		if (!c.ptrs)
			r = -ENOMEM;
	}
	if (r) {
		seccomp_chain_free(&c);
		return r;
	}
	for (unsigned i = 0; i < c.nr; i++) {
		if (spec_allow)
			c.filters[i].flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW_;
		c.ptrs[i] = &c.filters[i];
	}
	*ret = c;
	return 0;
}

static bool same_filter(const SeccompFilterEntry *a, const SeccompFilterEntry *b)
{
	return a->flags == b->flags && a->insns.len == b->insns.len &&
	       !memcmp(a->insns.data, b->insns.data, a->insns.len);
}

/* How many filters at the bottom of two chains are the same. */
static size_t common_bottom(SeccompFilterEntry *const *a, size_t na, SeccompFilterEntry *const *b, size_t nb)
{
	size_t i = 0;

	while (i < na && i < nb && same_filter(a[i], b[i]))
		i++;
	return i;
}

int seccomp_dump_thread(pid_t tid, const struct seccomp_chain *main_chain, struct seccomp_chain *own,
			ThreadCoreEntry *te)
{
	int err = seccomp_collect(tid, own);

	if (err)
		return err;
	te->has_seccomp_strict = te->seccomp_strict = own->strict;
	if (own->nr == main_chain->nr && common_bottom(own->ptrs, own->nr, main_chain->ptrs, main_chain->nr) == own->nr)
		return 0;
	pr_debug("thread %d: a chain of %u seccomp filters of its own", tid, own->nr);
	te->has_seccomp_own = te->seccomp_own = true;
	te->seccomp_filters = own->ptrs;
	te->n_seccomp_filters = own->nr;
	return 0;
}

/* @n filters of core-@pid.img for the restorer, from @rg. */
static int prepare_chain(SeccompFilterEntry *const *e, size_t n, pid_t pid, struct region *rg,
			 struct restorer_filter **ret)
{
	struct restorer_filter *f = region_alloc(rg, sizeof(*f) * (n ? n : 1), 8);

	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		void *insns;

		if (!e[i]->insns.len || e[i]->insns.len % BPF_INSN_SIZE ||
		    e[i]->insns.len / BPF_INSN_SIZE > BPF_MAXINSNS_)
			return pr_errno(-EBADMSG, "core-%d.img: seccomp filter %zu is invalid", pid, i);
		insns = region_alloc(rg, e[i]->insns.len, 8);
		if (!insns)
			return -ENOMEM;
		memcpy(insns, e[i]->insns.data, e[i]->insns.len);
		f[i] = (struct restorer_filter){ .len = e[i]->insns.len / BPF_INSN_SIZE,
						 .insns = (uint64_t)insns, .flags = e[i]->flags };
	}
	*ret = f;
	return 0;
}

int seccomp_prepare_restore(const CoreEntry *core, pid_t pid, struct restorer_args *a,
			    struct restorer_thread *th, struct region *rg)
{
	size_t n = core->n_seccomp_filters, shared = n;
	struct restorer_filter *main_f;
	int err = prepare_chain(core->seccomp_filters, n, pid, rg, &main_f);

	for (size_t i = 0; !err && i < core->n_threads; i++) {
		const ThreadCoreEntry *te = core->threads[i];
		struct restorer_thread *t = &th[i + 1];
		struct restorer_filter *f = main_f;

		if (te->has_seccomp_own && te->seccomp_own) {
			err = prepare_chain(te->seccomp_filters, te->n_seccomp_filters, pid, rg, &f);
			shared = min(shared, common_bottom(te->seccomp_filters, te->n_seccomp_filters,
							   core->seccomp_filters, n));
			t->nr_filters = te->n_seccomp_filters;
		} else {
			t->nr_filters = n;
		}
		t->filters = (uint64_t)f;
		t->seccomp_strict = te->has_seccomp_strict && te->seccomp_strict;
		a->has_filters |= t->nr_filters != 0;
	}
	if (err)
		return err;
	th[0].filters = (uint64_t)main_f;
	th[0].nr_filters = n;
	th[0].seccomp_strict = core->thread->has_seccomp_strict && core->thread->seccomp_strict;
	a->has_filters |= n != 0;
	/* A process of one thread has nothing to share them with. */
	a->nr_filters_shared = core->n_threads ? shared : 0;
	return 0;
}
