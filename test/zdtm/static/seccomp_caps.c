/*
 * A seccomp filter installed without no_new_privs, with CAP_SYS_ADMIN,
 * which the task then drops: what runc does for a container without
 * noNewPrivileges (podman's default). The restored task has its filter
 * (getppid fails with EPERM) and still lacks CAP_SYS_ADMIN, in both its
 * effective and permitted sets, and no_new_privs is still off.
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "zdtm.h"

/* Drops CAP_SYS_ADMIN from the effective and permitted sets. */
static void drop_sys_admin(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &hdr, d))
		fail_errno("capget");
	d[0].effective &= ~(1U << CAP_SYS_ADMIN);
	d[0].permitted &= ~(1U << CAP_SYS_ADMIN);
	if (syscall(SYS_capset, &hdr, d))
		fail_errno("capset");
}

/* The hex value of the /proc/self/status line starting with @key. */
static unsigned long long status_hex(const char *key)
{
	char line[256];
	unsigned long long v = ~0ULL;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		fail_errno("/proc/self/status");
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && sscanf(line + strlen(key), "%llx", &v) == 1)
			break;
	fclose(f);
	return v;
}

static void check_caps(const char *when)
{
	const unsigned long long admin = 1ULL << CAP_SYS_ADMIN;

	if (status_hex("CapEff:") & admin)
		fail("%s: CAP_SYS_ADMIN is effective", when);
	if (status_hex("CapPrm:") & admin)
		fail("%s: CAP_SYS_ADMIN is permitted", when);
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0)
		fail("%s: no_new_privs is set", when);
	if (prctl(PR_GET_SECCOMP) != 2)
		fail("%s: seccomp mode is %d, expected 2 (filter)", when, prctl(PR_GET_SECCOMP));
	errno = 0;
	if (syscall(SYS_getppid) != -1 || errno != EPERM)
		fail("%s: getppid is not filtered", when);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	/* without no_new_privs: needs CAP_SYS_ADMIN */
	zdtm_seccomp_eperm(__NR_getppid);
	drop_sys_admin();
	check_caps("setup");
	test_ready();
	test_wait_checkpoint();
	check_caps("after restore");
	pass();
}
