/*
 * The net namespace's nftables ruleset: the test, pid 1 of its own
 * namespaces, loads with nft(8) before it is ready a table with a named
 * set, a counter and a rule dropping UDP to the set's ports on output,
 * and an ip table with a nat chain; one datagram to a blocked port is
 * dropped (counter: 1 packet), one to another port arrives.
 * After restore both tables list exactly as before (counter included),
 * no other table is there (none of cr's network lock),
 * and the rule still acts: a datagram to the blocked port is dropped
 * (counter: 2 packets), one to the other port arrives.
 *
 * zdtm: flavors: ns
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

#define BLOCKED		9901
#define OPEN		9903

static const char ruleset[] =
	"nft -f - <<'EOF'\n"
	"table inet zdtm {\n"
	"	set blocked { type inet_service; elements = { 9901, 9902 }; }\n"
	"	chain out {\n"
	"		type filter hook output priority 0; policy accept;\n"
	"		udp dport @blocked counter drop\n"
	"	}\n"
	"}\n"
	"table ip zdtm4 {\n"
	"	chain pre { type nat hook prerouting priority -100; policy accept; }\n"
	"}\n"
	"EOF";

static const char *const tables[] = { "inet zdtm", "ip zdtm4" };

static char before[2][4096];

static void list_tables(char out[2][4096])
{
	char cmd[64];

	for (int i = 0; i < 2; i++) {
		snprintf(cmd, sizeof(cmd), "nft list table %s", tables[i]);
		if (test_sh_capture(cmd, out[i], sizeof(out[i])))
			fail("'%s' failed: %s", cmd, out[i]);
	}
}

/* Sends one datagram to 127.0.0.1:PORT from a fresh socket; whether it arrives (1) or not (0). */
static int arrives(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);
	struct pollfd p = { .fd = rx, .events = POLLIN };
	int n;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (rx < 0 || tx < 0 || bind(rx, (struct sockaddr *)&a, sizeof(a)))
		fail_errno("a UDP socket on port %d", port);
	if (sendto(tx, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)) != 1 && errno != EPERM)
		fail_errno("sendto port %d", port);
	n = poll(&p, 1, 200);
	close(rx);
	close(tx);
	return n == 1;
}

static int packets(void)
{
	char out[4096], *c;
	int n = -1;

	if (test_sh_capture("nft list chain inet zdtm out", out, sizeof(out)))
		fail("nft list chain: %s", out);
	c = strstr(out, "counter packets ");
	if (!c || sscanf(c, "counter packets %d", &n) != 1)
		fail("no counter in: %s", out);
	return n;
}

int main(int argc, char **argv)
{
	char after[2][4096];

	test_init(argc, argv);
	if (getpid() != 1)
		fail("not pid 1 of a pid namespace (pid %d): run in the ns flavor", getpid());
	test_sh("ip link set lo up");
	test_sh(ruleset);
	if (arrives(BLOCKED) || !arrives(OPEN) || packets() != 1)
		fail("setup: the rule does not act as expected (counter %d)", packets());
	list_tables(before);

	test_ready();
	test_wait_checkpoint();

	list_tables(after);
	for (int i = 0; i < 2; i++)
		if (strcmp(before[i], after[i]))
			fail("table %s lists\n%s\nafter restore, expected\n%s", tables[i], after[i], before[i]);
	/* Nothing else: no network lock table of cr's came along or stayed. */
	if (test_sh_capture("nft list tables", after[0], sizeof(after[0])) ||
	    strcmp(after[0], "table inet zdtm\ntable ip zdtm4\n"))
		fail("nft list tables gives\n%s", after[0]);
	if (arrives(BLOCKED))
		fail("a datagram to port %d arrived: the drop rule is gone", BLOCKED);
	if (!arrives(OPEN))
		fail("a datagram to port %d did not arrive", OPEN);
	if (packets() != 2)
		fail("the counter says %d packets, expected 2", packets());
	pass();
}
