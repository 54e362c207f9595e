/*
 * A process that dropped root: uids/gids all different (real, effective,
 * saved), supplementary groups, reduced permitted/effective/inheritable
 * capabilities, an ambient one, a narrower bounding set, securebits and
 * no_new_privs. All must be the same after restore.
 */
#include <linux/capability.h>
#include <linux/securebits.h>
#include <grp.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "zdtm.h"

struct creds {
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	int ngroups;
	gid_t groups[16];
	struct __user_cap_data_struct caps[2];
	unsigned long long bnd, amb;
	int secbits, nnp;
};

static void get_creds(struct creds *c)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };

	getresuid(&c->ruid, &c->euid, &c->suid);
	getresgid(&c->rgid, &c->egid, &c->sgid);
	c->ngroups = getgroups(16, c->groups);
	if (syscall(SYS_capget, &h, c->caps))
		fail_errno("capget");
	c->bnd = c->amb = 0;
	for (int cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
			c->bnd |= 1ULL << cap;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1)
			c->amb |= 1ULL << cap;
	}
	c->secbits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	c->nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
}

static void drop_root(void)
{
	static const gid_t groups[] = { 1001, 1002, 1003 };
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { 0 };
	unsigned keep = 1u << CAP_NET_BIND_SERVICE | 1u << CAP_KILL;

	if (prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0) || prctl(PR_CAPBSET_DROP, CAP_MKNOD, 0, 0, 0))
		fail_errno("PR_CAPBSET_DROP");
	/* Needs CAP_SETPCAP, so while still root; KEEP_CAPS keeps them through setuid. */
	if (prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS | SECBIT_NOROOT, 0, 0, 0))
		fail_errno("PR_SET_SECUREBITS");
	if (setgroups(3, groups))
		fail_errno("setgroups");
	if (setresgid(1000, 1001, 1002))
		fail_errno("setresgid");
	if (setresuid(1000, 1001, 1002))
		fail_errno("setresuid");
	d[0].permitted = d[0].effective = d[0].inheritable = keep;
	if (syscall(SYS_capset, &h, d))
		fail_errno("capset");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0))
		fail_errno("ambient raise");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		fail_errno("no_new_privs");
}

int main(int argc, char **argv)
{
	struct creds before, after;

	test_init(argc, argv);
	/* The runner's work dir is root's; the pidfile goes there. */
	if (chmod(".", 0777))
		fail_errno("chmod work dir");
	drop_root();
	get_creds(&before);
	if (before.euid != 1001 || before.amb == 0)
		fail("setup: euid %u amb %llx", before.euid, before.amb);
	test_ready();
	test_wait_checkpoint();
	get_creds(&after);

	if (after.ruid != before.ruid || after.euid != before.euid || after.suid != before.suid)
		fail("uids %u/%u/%u, were %u/%u/%u", after.ruid, after.euid, after.suid,
		     before.ruid, before.euid, before.suid);
	if (after.rgid != before.rgid || after.egid != before.egid || after.sgid != before.sgid)
		fail("gids %u/%u/%u, were %u/%u/%u", after.rgid, after.egid, after.sgid,
		     before.rgid, before.egid, before.sgid);
	if (after.ngroups != before.ngroups)
		fail("%d groups, were %d", after.ngroups, before.ngroups);
	for (int i = 0; i < after.ngroups; i++)
		if (after.groups[i] != before.groups[i])
			fail("group %d is %u, was %u", i, after.groups[i], before.groups[i]);
	for (int i = 0; i < 2; i++)
		if (after.caps[i].effective != before.caps[i].effective ||
		    after.caps[i].permitted != before.caps[i].permitted ||
		    after.caps[i].inheritable != before.caps[i].inheritable)
			fail("capabilities word %d: eff %x prm %x inh %x, were %x %x %x", i,
			     after.caps[i].effective, after.caps[i].permitted, after.caps[i].inheritable,
			     before.caps[i].effective, before.caps[i].permitted, before.caps[i].inheritable);
	if (after.bnd != before.bnd)
		fail("bounding set %llx, was %llx", after.bnd, before.bnd);
	if (after.amb != before.amb)
		fail("ambient set %llx, was %llx", after.amb, before.amb);
	if (after.secbits != before.secbits)
		fail("securebits %#x, were %#x", after.secbits, before.secbits);
	if (after.nnp != before.nnp)
		fail("no_new_privs %d, was %d", after.nnp, before.nnp);
	pass();
}
