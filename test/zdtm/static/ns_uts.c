/*
 * The uts namespace: the test, pid 1 of its own namespaces, sets a host
 * name and a domain name of its own (neither is the host's: cr must
 * restore them into the new namespace, not inherit the host's). After
 * restore uname() and gethostname()/getdomainname() give both back,
 * byte for byte, and so does /proc/sys/kernel/{hostname,domainname}.
 *
 * zdtm: flavors: ns
 */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "zdtm.h"

/* Long ones (64 bytes is the most a uts name holds: 63 and a NUL). */
#define HOSTNAME	"zdtm-ns-uts.host-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG"
#define DOMAINNAME	"zdtm.domain.example-9876543210"

int main(int argc, char **argv)
{
	char host[128], domain[128];
	struct utsname u;
	int bad = 0;

	test_init(argc, argv);
	if (getpid() != 1)
		fail("not pid 1 of a pid namespace (pid %d): run in the ns flavor", getpid());
	if (sethostname(HOSTNAME, strlen(HOSTNAME)))
		fail_errno("sethostname");
	if (setdomainname(DOMAINNAME, strlen(DOMAINNAME)))
		fail_errno("setdomainname");
	if (uname(&u) || strcmp(u.nodename, HOSTNAME) || strcmp(u.domainname, DOMAINNAME))
		fail("setup: uname does not show the names just set");

	test_ready();
	test_wait_checkpoint();

	if (uname(&u))
		fail_errno("uname");
	if (strcmp(u.nodename, HOSTNAME)) {
		test_msg("FAIL: uname nodename is '%s', expected '%s'", u.nodename, HOSTNAME);
		bad++;
	}
	if (strcmp(u.domainname, DOMAINNAME)) {
		test_msg("FAIL: uname domainname is '%s', expected '%s'", u.domainname, DOMAINNAME);
		bad++;
	}
	if (gethostname(host, sizeof(host)) || strcmp(host, HOSTNAME)) {
		test_msg("FAIL: gethostname gives '%s', expected '%s'", host, HOSTNAME);
		bad++;
	}
	if (getdomainname(domain, sizeof(domain)) || strcmp(domain, DOMAINNAME)) {
		test_msg("FAIL: getdomainname gives '%s', expected '%s'", domain, DOMAINNAME);
		bad++;
	}
	bad += file_line_check("/proc/sys/kernel/hostname", HOSTNAME);
	bad += file_line_check("/proc/sys/kernel/domainname", DOMAINNAME);
	if (bad)
		fail("%d uts name check(s) failed", bad);
	pass();
}
