/*
 * The net namespace: the test, pid 1 of its own namespaces, makes there
 * with ip(8), before it is ready,
 *   - a veth pair zv0/zv1 (both ends in its namespace), mtu 1400 and
 *     1450, zv0 up and zv1 down;
 *   - IPv4 and IPv6 addresses on zv0 and on lo;
 *   - an IPv4 route through a gateway on zv0, another in table 100 with
 *     a metric, an IPv6 route through a gateway with a metric;
 *   - net.ipv4.ip_forward=1, then net.ipv4.conf.zv1.forwarding=0 (so
 *     zv1 differs from "all") and net.ipv6.conf.zv0.forwarding=1.
 * After restore both links are there with their ifindex, MAC, mtu, peer
 * and up state; every address, route and sysctl is as set (read back
 * through `ip -o` and /proc/sys/net).
 *
 * zdtm: flavors: ns
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "zdtm.h"

struct link {
	const char *name, *peer;
	int mtu, up;
	int ifindex;		/* taken before the checkpoint */
	char mac[32];
};

static struct link links[] = {
	{ "zv0", "zv1", 1400, 1, 0, "" },
	{ "zv1", "zv0", 1450, 0, 0, "" },
};

static const char *const setup_cmds[] = {
	"ip link add zv0 mtu 1400 type veth peer name zv1 mtu 1450",
	"ip addr add 10.77.1.1/24 dev zv0",
	"ip addr add fd00:77::1/64 dev zv0 nodad",
	"ip addr add 10.77.9.9/32 dev lo",
	"ip addr add fd00:99::9/128 dev lo",
	"ip link set zv0 up",
	"ip route add 10.88.0.0/16 via 10.77.1.2 dev zv0",
	"ip route add 10.99.0.0/16 dev zv0 table 100 metric 7",
	"ip -6 route add fd00:88::/48 via fd00:77::2 dev zv0 metric 5",
};

/* dev, the `ip -o addr show dev DEV` word pair that must be there. */
static const struct {
	const char *dev, *addr;
} addrs[] = {
	{ "zv0", "inet 10.77.1.1/24 " },
	{ "zv0", "inet6 fd00:77::1/64 " },
	{ "lo", "inet 127.0.0.1/8 " },
	{ "lo", "inet 10.77.9.9/32 " },
	{ "lo", "inet6 fd00:99::9/128 " },
	{ "lo", "inet6 ::1/128 " },
};

/* The command, and what its output must start with. */
static const struct {
	const char *cmd, *want;
} routes[] = {
	{ "ip -4 route show 10.88.0.0/16", "10.88.0.0/16 via 10.77.1.2 dev zv0 " },
	{ "ip -4 route show table 100", "10.99.0.0/16 dev zv0 scope link metric 7 " },
	{ "ip -6 route show fd00:88::/48", "fd00:88::/48 via fd00:77::2 dev zv0 metric 5 " },
};

static const struct {
	const char *path, *val;
} sysctls[] = {
	{ "ipv4/ip_forward", "1" },
	{ "ipv4/conf/all/forwarding", "1" },
	{ "ipv4/conf/zv0/forwarding", "1" },
	{ "ipv4/conf/zv1/forwarding", "0" },
	{ "ipv6/conf/zv0/forwarding", "1" },
	{ "ipv6/conf/zv1/forwarding", "0" },
};

static void sysctl_set(const char *path, const char *val)
{
	char full[256];

	snprintf(full, sizeof(full), "/proc/sys/net/%s", path);
	file_put(full, val);
}

/*
 * `ip -o link show dev NAME`: "3: zv0@zv1: <FLAGS> mtu 1400 ... link/ether MAC brd ...".
 * Returns the ifindex, fills the peer, flags, mtu and MAC; -1 if there is no such link.
 */
static int link_read(const char *name, char *peer, char *flags, int *mtu, char *mac)
{
	char cmd[128], out[1024], *p;
	int idx;

	snprintf(cmd, sizeof(cmd), "ip -o link show dev %s 2>&1", name);
	if (test_sh_capture(cmd, out, sizeof(out))) {
		test_msg("'%s': %s", cmd, out);
		return -1;
	}
	if (sscanf(out, "%d: %*[^@]@%31[^:]: <%127[^>]> mtu %d", &idx, peer, flags, mtu) != 4) {
		test_msg("'%s': cannot parse '%s'", cmd, out);
		return -1;
	}
	p = strstr(out, "link/ether ");
	if (!p || sscanf(p, "link/ether %31s", mac) != 1) {
		test_msg("'%s': no MAC in '%s'", cmd, out);
		return -1;
	}
	return idx;
}

static int has_flag(const char *flags, const char *f)
{
	size_t n = strlen(f);

	for (const char *p = flags; (p = strstr(p, f)); p += n)
		if ((p == flags || p[-1] == ',') && (p[n] == ',' || p[n] == 0))
			return 1;
	return 0;
}

static int check_link(const struct link *l)
{
	char peer[32] = "", flags[128] = "", mac[32] = "";
	int mtu = 0, idx, bad = 0;

	idx = link_read(l->name, peer, flags, &mtu, mac);
	if (idx < 0) {
		test_msg("FAIL: link %s is not there", l->name);
		return 1;
	}
	if (idx != l->ifindex) {
		test_msg("FAIL: link %s has ifindex %d, expected %d", l->name, idx, l->ifindex);
		bad++;
	}
	if (strcmp(peer, l->peer)) {
		test_msg("FAIL: link %s's peer is '%s', expected %s", l->name, peer, l->peer);
		bad++;
	}
	if (mtu != l->mtu) {
		test_msg("FAIL: link %s has mtu %d, expected %d", l->name, mtu, l->mtu);
		bad++;
	}
	if (has_flag(flags, "UP") != l->up) {
		test_msg("FAIL: link %s is %s (flags %s), expected %s", l->name, l->up ? "down" : "up", flags,
			 l->up ? "up" : "down");
		bad++;
	}
	if (strcmp(mac, l->mac)) {
		test_msg("FAIL: link %s has MAC %s, expected %s", l->name, mac, l->mac);
		bad++;
	}
	return bad;
}

static int check_addrs(void)
{
	char cmd[128], out[4096];
	int bad = 0;

	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		snprintf(cmd, sizeof(cmd), "ip -o addr show dev %s", addrs[i].dev);
		if (test_sh_capture(cmd, out, sizeof(out)) || !strstr(out, addrs[i].addr)) {
			test_msg("FAIL: %s has no address '%s'; '%s' gives:\n%s", addrs[i].dev, addrs[i].addr, cmd, out);
			bad++;
		}
	}
	return bad;
}

static int check_routes(void)
{
	char out[4096];
	int bad = 0;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (test_sh_capture(routes[i].cmd, out, sizeof(out)) || strncmp(out, routes[i].want, strlen(routes[i].want)) ||
		    strchr(out, '\n') != out + strlen(out) - 1) {
			test_msg("FAIL: '%s' gives '%s', expected one route '%s...'", routes[i].cmd, out,
				 routes[i].want);
			bad++;
		}
	}
	return bad;
}

static int check_sysctls(void)
{
	char full[256];
	int bad = 0;

	for (size_t i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++) {
		snprintf(full, sizeof(full), "/proc/sys/net/%s", sysctls[i].path);
		bad += file_line_check(full, sysctls[i].val);
	}
	return bad;
}

static int check_all(void)
{
	int bad = 0;

	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		bad += check_link(&links[i]);
	bad += check_addrs();
	bad += check_routes();
	bad += check_sysctls();
	return bad;
}

int main(int argc, char **argv)
{
	char peer[32], flags[128];
	int mtu, bad;

	test_init(argc, argv);
	if (getpid() != 1)
		fail("not pid 1 of a pid namespace (pid %d): run in the ns flavor", getpid());
	for (size_t i = 0; i < sizeof(setup_cmds) / sizeof(setup_cmds[0]); i++)
		test_sh(setup_cmds[i]);
	sysctl_set("ipv4/ip_forward", "1");
	sysctl_set("ipv4/conf/zv1/forwarding", "0");
	sysctl_set("ipv6/conf/zv0/forwarding", "1");
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		links[i].ifindex = link_read(links[i].name, peer, flags, &mtu, links[i].mac);
		if (links[i].ifindex < 0)
			fail("setup: link %s not made", links[i].name);
	}
	/* The state to check is exactly the one set up. */
	if (check_all())
		fail("setup: the state set up is not the one the checks expect");

	test_ready();
	test_wait_checkpoint();

	bad = check_all();
	if (bad)
		fail("%d network check(s) failed", bad);
	pass();
}
