/*
 * Register sets of stopped tasks through ptrace: the general registers
 * (NT_PRSTATUS) and the arch's extended state (asm/arch.h), whose size
 * the arch says.
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

#include "asm/arch.h"
#include "cleanup.h"
#include "infect.h"
#include "infect-priv.h"

int infect_get_regs(pid_t pid, struct infect_regs *ret)
{
	uint32_t size = arch_xsave_size();
	_cleanup_free_ unsigned char *xs = NULL;
	struct user_regs gpr;
	struct iovec iov = { &gpr, sizeof(gpr) };

	if (ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, &iov))
		return ierrno(-errno, "pid %d: cannot read registers", pid);

	xs = izalloc(size);
	if (!xs)
		return -ENOMEM;
	iov.iov_base = xs;
	iov.iov_len = size;
	if (ptrace(PTRACE_GETREGSET, pid, ARCH_NT_XSTATE, &iov))
		return ierrno(-errno, "pid %d: cannot read the xsave state", pid);
	if (iov.iov_len != size)
		iwarn("pid %d: xsave state is %zu bytes, CPUID says %u", pid, iov.iov_len, size);

	ret->gpr = gpr;
	ret->xsave_size = size;
	ret->xsave = TAKE_PTR(xs);
	return 0;
}

int infect_set_regs(pid_t pid, const struct infect_regs *r)
{
	struct iovec iov = { (void *)&r->gpr, sizeof(r->gpr) };

	if (ptrace(PTRACE_SETREGSET, pid, NT_PRSTATUS, &iov))
		return ierrno(-errno, "pid %d: cannot set registers", pid);
	if (r->xsave) {
		iov.iov_base = r->xsave;
		iov.iov_len = r->xsave_size;
		if (ptrace(PTRACE_SETREGSET, pid, ARCH_NT_XSTATE, &iov))
			return ierrno(-errno, "pid %d: cannot set the xsave state", pid);
	}
	return 0;
}

void infect_regs_free(struct infect_regs *r)
{
	free(r->xsave);
	r->xsave = NULL;
}
