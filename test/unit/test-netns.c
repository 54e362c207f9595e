/*
 * ns-net*.c: a child in a fresh net namespace sets up links, addresses,
 * routes and sysctls with ip(8); the test enters its namespace, dumps it,
 * kills the child, restores into a second fresh namespace (held by
 * another child) and checks it there. Also: an external veth (its peer
 * in the test's own namespace), a refused kind of link, broken images.
 * Needs root; the suite is skipped without CAP_NET_ADMIN.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "cr.h"
#include "image.h"
#include "log.h"
#include "namespaces.h"
#include "netns.pb-c.h"
#include "ns-net-priv.h"
#include "unit.h"

int unit_register_netns(void);

/* Host ends of the external veth test: names nobody else uses. */
#define HOST_END_DUMP	"crut-xh0"
#define HOST_END_RST	"crut-xh9"

static int host_netns = -1;

static int saved_level;
static void quiet_begin(void)
{
	saved_level = log_get_level();
	log_set_level(LOG_MSG);
	log_clear_last_error();
}
static void quiet_end(void) { log_set_level(saved_level); }

/*
 * Forks a child that unshares its net namespace, runs @script there with
 * sh (NULL: nothing) and waits to be killed. Returns its pid once the
 * script ran, or -1 if it failed.
 */
static pid_t ns_child(const char *script)
{
	int p[2];
	char c = 'F';
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		char ok = 'F';

		close(p[0]);
		if (!unshare(CLONE_NEWNET) && (!script || !system(script)))
			ok = 'K';
		if (write(p[1], &ok, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &c, 1) != 1 || c != 'K') {
		close(p[0]);
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		return -1;
	}
	close(p[0]);
	return pid;
}

static void reap(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int enter(pid_t pid)
{
	char path[64];
	_cleanup_close_ int fd = -EBADF;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		return -errno;
	return 0;
}

static void leave(void)
{
	CU_ASSERT_FATAL(setns(host_netns, CLONE_NEWNET) == 0);
}

/* Runs @script in the namespace of @pid; 0 if it succeeded. */
static int in_ns(pid_t pid, const char *script)
{
	int ret = enter(pid);

	if (!ret)
		ret = system(script) ? -EIO : 0;
	leave();
	return ret;
}

static int dump_ns(pid_t pid)
{
	struct cr_options o = { 0 };
	int ret;

	if (img_dump_id_new())
		return -EIO;
	ret = enter(pid);
	if (!ret)
		ret = netns_dump(&o, pid, tmp_dfd);
	leave();
	return ret;
}

/* What @cmd prints (in cr's current namespace), malloc'ed; never NULL. */
static char *run(const char *cmd)
{
	char *buf = NULL;
	size_t sz = 0;
	FILE *f = popen(cmd, "r"), *m = open_memstream(&buf, &sz);
	char line[512];

	CU_ASSERT_FATAL(f && m);
	while (fgets(line, sizeof(line), f))
		fputs(line, m);
	pclose(f);
	fclose(m);
	return buf;
}

static bool out_has(const char *cmd, const char *what)
{
	_cleanup_free_ char *out = run(cmd);
	bool ok = strstr(out, what) != NULL;

	if (!ok)
		fprintf(stderr, "\n`%s` has no \"%s\":\n%s", cmd, what, out);
	return ok;
}

static bool out_lacks(const char *cmd, const char *what)
{
	_cleanup_free_ char *out = run(cmd);

	return strstr(out, what) == NULL;
}

static bool sysctl_is(const char *path, const char *val)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "cat /proc/sys/net/%s", path);
	return out_has(cmd, val);
}

/*
 * Reads the image with @o and restores it into a new namespace; the
 * holder's pid in *ret_holder (the caller is back in its own namespace).
 */
static int restore_ns(const struct cr_options *o, pid_t *ret_holder)
{
	struct netns_img *n = NULL;
	pid_t holder = ns_child(NULL);
	int ret;

	*ret_holder = holder;
	if (holder < 0)
		return -ECHILD;
	img_dump_id_forget();
	ret = enter(holder);
	if (!ret)
		ret = netns_read(o, tmp_dfd, &n);
	if (!ret)
		ret = netns_restore(n, host_netns);
	netns_free(n);
	leave();
	return ret;
}

#define SETUP_VETH \
	"set -e\n" \
	"ip link set lo up\n" \
	"ip link add va index 20 type veth peer name vb index 21\n" \
	"ip link set va address 02:00:00:00:00:0a mtu 1400 txqlen 500\n" \
	"ip link set va up; ip link set vb up\n" \
	"ip addr add 10.7.0.1/24 dev va\n" \
	"ip addr add 10.7.0.9/24 dev va\n" \
	"ip addr add 10.8.0.1/24 dev vb\n" \
	"ip -6 addr add fd00:7::1/64 dev va nodad\n" \
	"ip route add 10.9.0.0/16 via 10.7.0.254 dev va metric 50 mtu 1300\n" \
	"ip -6 route add fd00:9::/48 via fd00:7::fe dev va\n" \
	"ip route add 10.10.0.0/16 dev vb table 100\n" \
	"echo 1 > /proc/sys/net/ipv4/ip_forward\n" \
	"echo 0 > /proc/sys/net/ipv4/conf/vb/forwarding\n" \
	"echo 2 > /proc/sys/net/ipv4/conf/va/rp_filter\n" \
	"echo 1 > /proc/sys/net/ipv6/conf/va/forwarding\n" \
	"echo 1 > /proc/sys/net/ipv6/conf/lo/disable_ipv6\n" \
	"echo 1234 > /proc/sys/net/core/somaxconn\n" \
	"echo '20000 30000' > /proc/sys/net/ipv4/ip_local_port_range\n"

static void test_round_trip(void)
{
	struct cr_options o = { 0 };
	pid_t child = ns_child(SETUP_VETH), holder = -1;
	int ret;

	CU_ASSERT_FATAL(child > 0);
	ret = dump_ns(child);
	reap(child);
	CU_ASSERT_EQUAL_FATAL(ret, 0);

	ret = restore_ns(&o, &holder);
	CU_ASSERT_EQUAL(ret, 0);
	if (ret || enter(holder)) {
		reap(holder);
		return;
	}
	CU_ASSERT_EQUAL(if_nametoindex("va"), 20);
	CU_ASSERT_EQUAL(if_nametoindex("vb"), 21);
	CU_ASSERT(out_has("ip -o link show va", "mtu 1400"));
	CU_ASSERT(out_has("ip -o link show va", "link/ether 02:00:00:00:00:0a"));
	CU_ASSERT(out_has("ip -o link show va", "qlen 500"));
	CU_ASSERT(out_has("ip -o link show va", "state UP"));
	CU_ASSERT(out_has("ip -o link show vb", "vb@va"));
	CU_ASSERT(out_has("ip -o link show lo", "LOOPBACK,UP"));
	CU_ASSERT(out_has("ip -o -4 addr show dev lo", "127.0.0.1/8"));
	CU_ASSERT(out_has("ip -o -4 addr show dev va", "10.7.0.1/24"));
	CU_ASSERT(out_has("ip -o -4 addr show dev va", "10.7.0.9/24 scope global secondary"));
	CU_ASSERT(out_has("ip -o -4 addr show dev vb", "10.8.0.1/24"));
	CU_ASSERT(out_has("ip -o -6 addr show dev va", "fd00:7::1/64"));
	CU_ASSERT(out_has("ip -o -6 addr show dev va", "fe80::ff:fe00:a/64"));
	CU_ASSERT(out_lacks("ip -o -6 addr show dev va tentative", "inet6"));
	CU_ASSERT(out_has("ip route show 10.9.0.0/16", "via 10.7.0.254 dev va"));
	CU_ASSERT(out_has("ip route show 10.9.0.0/16", "metric 50"));
	CU_ASSERT(out_has("ip route show 10.9.0.0/16", "mtu 1300"));
	CU_ASSERT(out_has("ip route show 10.7.0.0/24", "proto kernel"));
	CU_ASSERT(out_has("ip -6 route show fd00:9::/48", "via fd00:7::fe dev va"));
	CU_ASSERT(out_has("ip route show table 100", "10.10.0.0/16 dev vb"));
	CU_ASSERT(sysctl_is("ipv4/ip_forward", "1"));
	CU_ASSERT(sysctl_is("ipv4/conf/va/forwarding", "1"));
	CU_ASSERT(sysctl_is("ipv4/conf/vb/forwarding", "0"));
	CU_ASSERT(sysctl_is("ipv4/conf/va/rp_filter", "2"));
	CU_ASSERT(sysctl_is("ipv6/conf/va/forwarding", "1"));
	CU_ASSERT(sysctl_is("ipv6/conf/vb/forwarding", "0"));
	CU_ASSERT(sysctl_is("ipv6/conf/lo/disable_ipv6", "1"));
	CU_ASSERT(sysctl_is("core/somaxconn", "1234"));
	CU_ASSERT(sysctl_is("ipv4/ip_local_port_range", "20000\t30000"));
	leave();
	reap(holder);
}

static void test_external_veth(void)
{
	const char *ext[] = { "veth[xc0]:" HOST_END_RST };
	struct cr_options o = { 0 };
	pid_t child = ns_child("ip link set lo up"), holder = -1;
	char cmd[256];
	int ret;

	CU_ASSERT_FATAL(child > 0);
	snprintf(cmd, sizeof(cmd), "ip link add " HOST_END_DUMP " type veth peer name xc0 netns %d",
		 child);
	ret = system(cmd);
	if (!ret)
		ret = in_ns(child, "ip link set xc0 up && ip addr add 10.11.0.2/24 dev xc0 && "
			    "ip route add default via 10.11.0.1");
	if (!ret)
		ret = dump_ns(child);
	(void)!system("ip link del " HOST_END_DUMP " 2>/dev/null");
	reap(child);
	CU_ASSERT_EQUAL_FATAL(ret, 0);

	/* Without --external: one clear line, and nothing made. */
	quiet_begin();
	ret = restore_ns(&o, &holder);
	quiet_end();
	CU_ASSERT_EQUAL(ret, -ENOENT);
	CU_ASSERT(last_error_has("veth xc0"));
	CU_ASSERT(last_error_has("--external veth[xc0]:HOSTIF"));
	CU_ASSERT(if_nametoindex(HOST_END_RST) == 0);
	if (holder > 0 && !enter(holder)) {
		CU_ASSERT(if_nametoindex("xc0") == 0);
		leave();
	}
	reap(holder);

	o.externals = ext;
	o.nr_externals = 1;
	ret = restore_ns(&o, &holder);
	CU_ASSERT_EQUAL(ret, 0);
	CU_ASSERT(if_nametoindex(HOST_END_RST) != 0);
	if (!ret && !enter(holder)) {
		CU_ASSERT(out_has("ip -o -4 addr show dev xc0", "10.11.0.2/24"));
		CU_ASSERT(out_has("ip route show default", "via 10.11.0.1 dev xc0"));
		leave();
	}
	(void)!system("ip link del " HOST_END_RST " 2>/dev/null");
	reap(holder);
}

/*
 * A restore that fails after it made an external veth removes it: its
 * host end does not wait for the namespace to go. The image is made by
 * hand: a route through a gateway no address reaches fails.
 */
static void test_failed_restore_cleans_host(void)
{
	const char *ext[] = { "veth[xc0]:" HOST_END_RST };
	struct cr_options o = { .externals = ext, .nr_externals = 1 };
	_cleanup_img_ struct img *img = NULL;
	NetnsHead head = NETNS_HEAD__INIT;
	NetObject lo = NET_OBJECT__INIT, veth = NET_OBJECT__INIT, rt = NET_OBJECT__INIT;
	NetLink l0 = NET_LINK__INIT, l1 = NET_LINK__INIT;
	NetRoute r = NET_ROUTE__INIT;
	NetNexthop nh = NET_NEXTHOP__INIT, *nhp = &nh;
	uint8_t gw[4] = { 10, 50, 0, 1 };
	pid_t holder = -1;
	int ret;

	head.version = 1;
	lo.kind = 1;
	lo.link = &l0;
	l0.kind = 1;
	l0.name = "lo";
	l0.ifindex = 1;
	l0.flags = IFF_UP | IFF_LOOPBACK;
	l0.mtu = 65536;
	l0.txqlen = 1000;
	veth.kind = 1;
	veth.link = &l1;
	l1.kind = 2;
	l1.name = "xc0";
	l1.ifindex = 7;
	l1.flags = IFF_UP;
	l1.mtu = 1500;
	l1.txqlen = 1000;
	l1.has_external = l1.external = true;
	rt.kind = 3;
	rt.route = &r;
	r.family = AF_INET;
	r.table = 254;
	r.type = 1;		/* RTN_UNICAST */
	r.protocol = 4;		/* RTPROT_STATIC */
	r.n_nexthops = 1;
	r.nexthops = &nhp;
	nh.has_gateway = true;
	nh.gateway.data = gw;
	nh.gateway.len = sizeof(gw);
	nh.oif = "xc0";
	nh.weight = 1;
	CU_ASSERT_FATAL(img_dump_id_new() == 0);
	CU_ASSERT_FATAL(img_open(tmp_dfd, IMG_NETNS, 0, O_WRONLY, &img) == 0);
	CU_ASSERT_FATAL(pb_write_one(img, &head, PB_NETNS_HEAD) == 0);
	CU_ASSERT_FATAL(pb_write_one(img, &lo, PB_NET_OBJECT) == 0);
	CU_ASSERT_FATAL(pb_write_one(img, &veth, PB_NET_OBJECT) == 0);
	CU_ASSERT_FATAL(pb_write_one(img, &rt, PB_NET_OBJECT) == 0);
	CU_ASSERT_FATAL(img_close(TAKE_PTR(img)) == 0);

	quiet_begin();
	ret = restore_ns(&o, &holder);
	quiet_end();
	CU_ASSERT(ret < 0);
	CU_ASSERT(last_error_has("adding route default/0 table 254"));
	/* Still held, yet the host end is gone. */
	CU_ASSERT(if_nametoindex(HOST_END_RST) == 0);
	(void)!system("ip link del " HOST_END_RST " 2>/dev/null");
	reap(holder);
}

static void test_refuse_bridge(void)
{
	pid_t child = ns_child("ip link add crbr0 type bridge");
	int ret;

	CU_ASSERT_FATAL(child > 0);
	quiet_begin();
	ret = dump_ns(child);
	quiet_end();
	reap(child);
	CU_ASSERT_EQUAL(ret, -EOPNOTSUPP);
	CU_ASSERT(last_error_has("link crbr0"));
	CU_ASSERT(last_error_has("kind bridge"));
}

/* Writes netns.img: a head (unless @no_head) and @obj (if any). */
static void write_image(bool no_head, NetObject *obj)
{
	_cleanup_img_ struct img *img = NULL;
	NetnsHead head = NETNS_HEAD__INIT;

	head.version = 1;
	CU_ASSERT_FATAL(img_dump_id_new() == 0);
	CU_ASSERT_FATAL(img_open(tmp_dfd, IMG_NETNS, 0, O_WRONLY, &img) == 0);
	if (!no_head)
		CU_ASSERT_FATAL(pb_write_one(img, &head, PB_NETNS_HEAD) == 0);
	if (obj)
		CU_ASSERT_FATAL(pb_write_one(img, obj, PB_NET_OBJECT) == 0);
	CU_ASSERT_FATAL(img_close(TAKE_PTR(img)) == 0);
}

static int read_image(void)
{
	struct cr_options o = { 0 };
	struct netns_img *n = NULL;
	int ret;

	img_dump_id_forget();
	quiet_begin();
	ret = netns_read(&o, tmp_dfd, &n);
	quiet_end();
	netns_free(n);
	return ret;
}

/* The network lock's tables (cr-XXXXXXXX) leave a ruleset; others stay whole. */
static void test_nft_lock_tables(void)
{
	char text[] = "table inet cr-6349d86f {\n\tchain in {\n\t\tct state established accept\n\t}\n}\n"
		      "table ip filter {\n\tchain OUTPUT {\n\t}\n}\n"
		      "table inet cr-12345678x {\n}\n"
		      "table ip6 cr-abcdef01 {\n\tchain x {\n\t}\n}\n"
		      "table inet crx-6349d86f {\n}";
	const char *want = "table ip filter {\n\tchain OUTPUT {\n\t}\n}\n"
			   "table inet cr-12345678x {\n}\n"
			   "table inet crx-6349d86f {\n}";
	size_t n = net_nft_drop_lock_tables(text, strlen(text));

	text[n] = '\0';
	CU_ASSERT_STRING_EQUAL(text, want);
	CU_ASSERT_EQUAL(net_nft_drop_lock_tables(text, 0), 0);
}

static void test_bad_images(void)
{
	NetObject obj = NET_OBJECT__INIT;
	NetSysctl s = NET_SYSCTL__INIT;
	NetAddr a = NET_ADDR__INIT;
	uint8_t ip[4] = { 10, 0, 0, 1 };

	CU_ASSERT_EQUAL(read_image(), -ENOENT);	/* no netns.img at all */

	write_image(true, NULL);
	CU_ASSERT_EQUAL(read_image(), -EBADMSG);
	CU_ASSERT(last_error_has("missing record"));

	obj.kind = 1;	/* a link, without its record */
	write_image(false, &obj);
	CU_ASSERT_EQUAL(read_image(), -EBADMSG);
	CU_ASSERT(last_error_has("without its record"));

	obj.kind = 4;
	obj.sysctl = &s;
	s.path = "ipv4/conf/../../../kernel/core_pattern";
	s.value = "|/bin/evil";
	write_image(false, &obj);
	CU_ASSERT_EQUAL(read_image(), -EBADMSG);
	CU_ASSERT(last_error_has("not one cr restores"));

	obj.kind = 2;
	obj.sysctl = NULL;
	obj.addr = &a;
	a.family = AF_INET;
	a.ifname = "eth9";
	a.local.data = ip;
	a.local.len = sizeof(ip);
	a.prefixlen = 24;
	write_image(false, &obj);
	CU_ASSERT_EQUAL(read_image(), -EBADMSG);
	CU_ASSERT(last_error_has("link eth9, which the image does not have"));
}

static int suite_init(void)
{
	host_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	return host_netns < 0;
}

static int suite_clean(void)
{
	(void)!system("ip link del " HOST_END_DUMP " 2>/dev/null; ip link del " HOST_END_RST
		      " 2>/dev/null");
	if (host_netns >= 0)
		close(host_netns);
	host_netns = -1;
	return 0;
}

int unit_register_netns(void)
{
	CU_pSuite s;

	if (geteuid() != 0)
		return 0;	/* needs root: nothing registered */
	s = CU_add_suite_with_setup_and_teardown("netns", suite_init, suite_clean,
						 tmp_setup, tmp_teardown);
	if (!s ||
	    !CU_add_test(s, "veth pair, addresses, routes, sysctls round trip", test_round_trip) ||
	    !CU_add_test(s, "external veth: refused without --external, made with it",
			 test_external_veth) ||
	    !CU_add_test(s, "a failed restore removes the host end", test_failed_restore_cleans_host) ||
	    !CU_add_test(s, "refuse a bridge", test_refuse_bridge) ||
	    !CU_add_test(s, "the network lock's nft tables are not saved", test_nft_lock_tables) ||
	    !CU_add_test(s, "broken images", test_bad_images))
		return CU_get_error();
	return 0;
}
