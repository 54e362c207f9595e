/*
 * rpc-opts.c: criu_opts as runc 1.1 fills them for checkpoint and
 * restore become the cr_options the CLI would give; what cr does not do
 * is refused naming the field (also a field cr does not know at all);
 * what only one side takes is refused on the other; config_file is
 * fine missing or empty of options.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cr.h"
#include "netlock.h"
#include "rpc.h"
#include "unit.h"

#define PEER	4242

static char why[512];
static struct rpc_opts r;

static CriuExtMountMap mnt_null = { PROTOBUF_C_MESSAGE_INIT(&criu_ext_mount_map__descriptor),
				    (char *)"/proc/keys", (char *)"/dev/null" };
static CriuExtMountMap mnt_dev = { PROTOBUF_C_MESSAGE_INIT(&criu_ext_mount_map__descriptor),
				   (char *)"/dev/zero", (char *)"/dev/zero" };

/* What runc's Checkpoint() sends for a plain container (container_linux.go). */
static void runc_dump(CriuOpts *o)
{
	static CriuExtMountMap *mnts[] = { &mnt_null, &mnt_dev };

	criu_opts__init(o);
	o->has_images_dir_fd = true;
	o->images_dir_fd = 7;
	o->has_log_level = true;
	o->log_level = 4;
	o->log_file = (char *)"dump.log";
	o->root = (char *)"/run/bundle/rootfs";
	o->has_manage_cgroups = o->manage_cgroups = true;
	o->has_notify_scripts = o->notify_scripts = true;
	o->has_pid = true;
	o->pid = 1234;
	o->has_shell_job = o->has_leave_running = o->has_tcp_established = true;
	o->has_ext_unix_sk = o->has_file_locks = o->has_auto_dedup = o->has_lazy_pages = true;
	o->has_empty_ns = true;
	o->empty_ns = CLONE_NEWNET;
	o->has_orphan_pts_master = o->orphan_pts_master = true;
	o->config_file = (char *)"/etc/criu/runc.conf.does-not-exist";
	o->freeze_cgroup = (char *)"/sys/fs/cgroup/freezer/ct";
	o->n_ext_mnt = 2;
	o->ext_mnt = mnts;
}

static int map(const CriuOpts *o, CriuReqType type)
{
	rpc_opts_free(&r);
	return rpc_map_opts(o, type, PEER, &r, why, sizeof(why));
}

static void test_runc_dump(void)
{
	CriuOpts o;

	runc_dump(&o);
	CU_ASSERT_EQUAL_FATAL(map(&o, CRIU_REQ_TYPE__DUMP), 0);
	CU_ASSERT_STRING_EQUAL(r.o.command, "dump");
	CU_ASSERT_STRING_EQUAL(r.o.images_dir, "/proc/4242/fd/7");
	CU_ASSERT_PTR_NULL(r.work_dir);
	CU_ASSERT_STRING_EQUAL(r.log_name, "dump.log");
	CU_ASSERT_EQUAL(r.o.verbosity, 4);
	CU_ASSERT_EQUAL(r.o.pid, 1234);
	CU_ASSERT_TRUE(r.notify);
	CU_ASSERT_TRUE(r.o.wait_killed);
	CU_ASSERT_FALSE(r.o.leave_running);
	CU_ASSERT_EQUAL(r.o.manage_cgroups, CG_MODE_SOFT);
	CU_ASSERT_EQUAL(r.o.empty_ns, (unsigned)CLONE_NEWNET);
	CU_ASSERT_STRING_EQUAL(r.o.freeze_cgroup, "/sys/fs/cgroup/freezer/ct");
	/* a dump takes the tree's root from the tree */
	CU_ASSERT_PTR_NULL(r.o.root);
	CU_ASSERT_EQUAL_FATAL(r.o.nr_externals, 2);
	CU_ASSERT_STRING_EQUAL(r.o.externals[0], "mnt[/proc/keys]:/dev/null");
	CU_ASSERT_STRING_EQUAL(cr_external_lookup(&r.o, "mnt", "/dev/zero"), "/dev/zero");
	CU_ASSERT_PTR_NULL(r.o.notify);		/* installed by the server, not the mapping */
	/* runc asks for no network lock: cr's default */
	CU_ASSERT_EQUAL(r.o.network_lock, NETLOCK_DEFAULT);
}

/* network_lock: criu's three methods, numbered as enum netlock_mode; the CLI's names. */
static void test_network_lock(void)
{
	static const struct { CriuNetworkLockMethod m; int mode; const char *name; } v[] = {
		{ CRIU_NETWORK_LOCK_METHOD__IPTABLES, NETLOCK_IPTABLES, "iptables" },
		{ CRIU_NETWORK_LOCK_METHOD__NFTABLES, NETLOCK_NFTABLES, "nftables" },
		{ CRIU_NETWORK_LOCK_METHOD__SKIP, NETLOCK_SKIP, "skip" },
	};
	CriuOpts o;
	int mode;

	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		runc_dump(&o);
		o.has_network_lock = true;
		o.network_lock = v[i].m;
		CU_ASSERT_EQUAL_FATAL(map(&o, CRIU_REQ_TYPE__DUMP), 0);
		CU_ASSERT_EQUAL(r.o.network_lock, v[i].mode);
		CU_ASSERT_EQUAL(netlock_mode_parse(v[i].name, &mode), 0);
		CU_ASSERT_EQUAL(mode, v[i].mode);
		CU_ASSERT_STRING_EQUAL(netlock_mode_name(v[i].mode), v[i].name);
	}
	CU_ASSERT_STRING_EQUAL(netlock_mode_name(NETLOCK_DEFAULT), "nftables");
	CU_ASSERT_EQUAL(netlock_mode_parse("nft", &mode), -EINVAL);
	CU_ASSERT_EQUAL(netlock_mode_parse("", &mode), -EINVAL);
}

static void test_runc_restore(void)
{
	CriuCgroupRoot cg1 = CRIU_CGROUP_ROOT__INIT, cg2 = CRIU_CGROUP_ROOT__INIT, cg3 = CRIU_CGROUP_ROOT__INIT;
	CriuCgroupRoot *cgs[] = { &cg1, &cg2, &cg3 };
	CriuInheritFd ifd = CRIU_INHERIT_FD__INIT;
	CriuInheritFd *ifds[] = { &ifd };
	CriuOpts o;

	runc_dump(&o);
	o.has_pid = false;
	o.freeze_cgroup = NULL;
	o.log_file = (char *)"restore.log";
	o.has_work_dir_fd = true;
	o.work_dir_fd = 9;
	o.has_rst_sibling = o.rst_sibling = true;
	o.has_evasive_devices = o.evasive_devices = true;
	o.has_manage_cgroups_mode = true;
	o.manage_cgroups_mode = CRIU_CG_MODE__FULL;
	cg1.ctrl = (char *)"cpu";
	cg1.path = (char *)"/user.slice/ct";
	cg2.ctrl = (char *)"";		/* the v2 line of /proc/PID/cgroup */
	cg2.path = (char *)"/ct";
	cg3.path = (char *)"/all";
	o.n_cg_root = 3;
	o.cg_root = cgs;
	ifd.key = (char *)"pipe:[4711]";
	ifd.fd = STDERR_FILENO;
	o.n_inherit_fd = 1;
	o.inherit_fd = ifds;
	o.lazy_pages = true;		/* podman's restore --lazy-pages */

	CU_ASSERT_EQUAL_FATAL(map(&o, CRIU_REQ_TYPE__RESTORE), 0);
	CU_ASSERT_TRUE(r.o.lazy_pages);
	CU_ASSERT_STRING_EQUAL(r.o.command, "restore");
	CU_ASSERT_STRING_EQUAL(r.work_dir, "/proc/4242/fd/9");
	CU_ASSERT_STRING_EQUAL(r.log_name, "restore.log");
	CU_ASSERT_TRUE(r.o.restore_detached);
	CU_ASSERT_TRUE(r.o.restore_sibling);
	CU_ASSERT_STRING_EQUAL(r.o.root, "/run/bundle/rootfs");
	CU_ASSERT_EQUAL(r.o.manage_cgroups, CG_MODE_FULL);
	CU_ASSERT_EQUAL_FATAL(r.o.nr_cgroup_roots, 3);
	CU_ASSERT_STRING_EQUAL(r.o.cgroup_roots[0], "cpu:/user.slice/ct");
	CU_ASSERT_STRING_EQUAL(r.o.cgroup_roots[1], ":/ct");
	CU_ASSERT_STRING_EQUAL(r.o.cgroup_roots[2], "/all");
	CU_ASSERT_EQUAL_FATAL(r.o.nr_inherit_fds, 1);
	CU_ASSERT_EQUAL(r.o.inherit_fds[0].fd, STDERR_FILENO);
	CU_ASSERT_STRING_EQUAL(r.o.inherit_fds[0].key, "pipe:[4711]");

	/* DEFAULT is soft, as criu */
	o.manage_cgroups_mode = CRIU_CG_MODE__DEFAULT;
	CU_ASSERT_EQUAL_FATAL(map(&o, CRIU_REQ_TYPE__RESTORE), 0);
	CU_ASSERT_EQUAL(r.o.manage_cgroups, CG_MODE_SOFT);

	/* an inherit_fd that is not open in cr */
	ifd.fd = 987;
	CU_ASSERT_EQUAL(map(&o, CRIU_REQ_TYPE__RESTORE), -EBADF);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "inherit_fd fd[987]:pipe:[4711]"));
}

static const char *const refused_fields[] = {
	"leave_stopped", "unprivileged", "weak_sysctls", "cpu_cap", "tls", "skip_mnt",
	"lsm_profile", "pidfd_store_sk", "network_lock", "empty_ns 0x60000000",
};

/* Sets the @i-th of refused_fields in @o. */
static void set_refused(CriuOpts *o, unsigned i)
{
	static char *skip[] = { (char *)"/mnt" };

	switch (i) {
	case 0: o->has_leave_stopped = o->leave_stopped = true; break;
	case 1: o->has_unprivileged = o->unprivileged = true; break;
	case 2: o->has_weak_sysctls = o->weak_sysctls = true; break;
	case 3: o->has_cpu_cap = true; o->cpu_cap = 1; break;
	case 4: o->has_tls = o->tls = true; break;
	case 5: o->n_skip_mnt = 1; o->skip_mnt = skip; break;
	case 6: o->lsm_profile = (char *)"apparmor:x"; break;
	case 7: o->has_pidfd_store_sk = true; o->pidfd_store_sk = 5; break;
	/* a method no criu has */
	case 8: o->has_network_lock = true; o->network_lock = (CriuNetworkLockMethod)7; break;
	case 9: o->empty_ns = CLONE_NEWNET | CLONE_NEWPID; break;
	}
}

/* Each of these, set, is refused naming the field. */
static void test_refused(void)
{
	CriuPageServerInfo ps = CRIU_PAGE_SERVER_INFO__INIT;
	CriuOpts o;

	for (unsigned i = 0; i < sizeof(refused_fields) / sizeof(refused_fields[0]); i++) {
		runc_dump(&o);
		set_refused(&o, i);
		CU_ASSERT_EQUAL(map(&o, CRIU_REQ_TYPE__DUMP), -EOPNOTSUPP);
		if (!strstr(why, refused_fields[i]))
			fprintf(stderr, "\n  %s: refused as '%s'\n", refused_fields[i], why);
		CU_ASSERT_PTR_NOT_NULL(strstr(why, refused_fields[i]));
	}
	/* ps: the page server's address and port, both needed */
	runc_dump(&o);
	o.ps = &ps;
	CU_ASSERT_EQUAL(map(&o, CRIU_REQ_TYPE__DUMP), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "ps: needs a port"));
	rpc_opts_free(&r);
	ps.address = (char *)"10.0.0.2";
	ps.has_port = true;
	ps.port = 27027;
	runc_dump(&o);
	o.ps = &ps;
	CU_ASSERT_EQUAL(map(&o, CRIU_REQ_TYPE__DUMP), 0);
	CU_ASSERT(r.o.ps.on && !r.o.ps.has_fd && r.o.ps.port == 27027 && !strcmp(r.o.ps.address, "10.0.0.2"));
	/* pre-copy: the parent, tracking and dedup reach the dump */
	runc_dump(&o);
	o.has_track_mem = o.track_mem = true;
	o.auto_dedup = true;
	o.parent_img = (char *)"../pre";
	CU_ASSERT_EQUAL_FATAL(map(&o, CRIU_REQ_TYPE__DUMP), 0);
	CU_ASSERT_TRUE(r.o.track_mem);
	CU_ASSERT_TRUE(r.o.auto_dedup);
	CU_ASSERT_STRING_EQUAL(r.o.prev_images_dir, "../pre");
	CU_ASSERT_EQUAL_FATAL(map(&o, CRIU_REQ_TYPE__PRE_DUMP), 0);
	CU_ASSERT_STRING_EQUAL(r.o.command, "pre-dump");
	rpc_opts_free(&r);
	/* false is what cr does anyway */
	runc_dump(&o);
	o.has_lazy_pages = true;
	o.lazy_pages = false;
	CU_ASSERT_EQUAL(map(&o, CRIU_REQ_TYPE__DUMP), 0);
	CU_ASSERT_FALSE(r.o.display_stats);
	rpc_opts_free(&r);
	/* display_stats: the stats (written anyway) in the log too, as criu */
	runc_dump(&o);
	o.has_display_stats = o.display_stats = true;
	CU_ASSERT_EQUAL(map(&o, CRIU_REQ_TYPE__DUMP), 0);
	CU_ASSERT_TRUE(r.o.display_stats);
	rpc_opts_free(&r);
}

/* lazy_pages in a DUMP: the dump serves its pages on ps's port (criu's lazy migration). */
static void test_lazy_dump(void)
{
	CriuPageServerInfo ps = CRIU_PAGE_SERVER_INFO__INIT;
	CriuOpts o;

	runc_dump(&o);
	o.lazy_pages = true;
	o.ps = &ps;
	ps.has_port = true;
	ps.port = 27028;
	CU_ASSERT_EQUAL_FATAL(map(&o, CRIU_REQ_TYPE__DUMP), 0);
	CU_ASSERT(r.o.lazy_pages && !r.o.ps.on && r.o.ps.port == 27028 && !r.o.ps.address);
	rpc_opts_free(&r);
	ps.address = (char *)"10.0.0.1";
	CU_ASSERT_EQUAL_FATAL(map(&o, CRIU_REQ_TYPE__DUMP), 0);
	CU_ASSERT_STRING_EQUAL(r.o.ps.address, "10.0.0.1");
	rpc_opts_free(&r);
	/* no port to serve on */
	o.ps = NULL;
	CU_ASSERT_EQUAL(map(&o, CRIU_REQ_TYPE__DUMP), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "lazy_pages"));
	/* a socket of the caller's: the dump listens itself */
	o.ps = &ps;
	ps.has_fd = true;
	ps.fd = 0;
	CU_ASSERT_EQUAL(map(&o, CRIU_REQ_TYPE__DUMP), -EOPNOTSUPP);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "ps.fd"));
	ps.has_fd = false;
	/* the tree is killed once the destination starts its restore: not left running */
	o.has_leave_running = o.leave_running = true;
	CU_ASSERT_EQUAL(map(&o, CRIU_REQ_TYPE__DUMP), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "--leave-running"));
	o.has_leave_running = o.leave_running = false;
	/* a pre-dump serves nothing */
	CU_ASSERT_EQUAL(map(&o, CRIU_REQ_TYPE__PRE_DUMP), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "pre-dump"));
}

/* ext_unix_sk: all outside peers; unix_sk_ino: those sockets only. */
static void test_ext_unix_sk(void)
{
	CriuUnixSk a = CRIU_UNIX_SK__INIT, b = CRIU_UNIX_SK__INIT, *inos[] = { &a, &b };
	CriuOpts o;

	runc_dump(&o);
	CU_ASSERT_EQUAL_FATAL(map(&o, CRIU_REQ_TYPE__DUMP), 0);
	CU_ASSERT_FALSE(r.o.ext_unix_sk);
	o.ext_unix_sk = true;
	CU_ASSERT_EQUAL_FATAL(map(&o, CRIU_REQ_TYPE__DUMP), 0);
	CU_ASSERT_TRUE(r.o.ext_unix_sk);
	CU_ASSERT_EQUAL(r.o.nr_ext_unix_inos, 0);
	o.ext_unix_sk = false;
	a.inode = 4711;
	b.inode = 815;
	o.n_unix_sk_ino = 2;
	o.unix_sk_ino = inos;
	CU_ASSERT_EQUAL_FATAL(map(&o, CRIU_REQ_TYPE__DUMP), 0);
	CU_ASSERT_TRUE(r.o.ext_unix_sk);
	CU_ASSERT_EQUAL_FATAL(r.o.nr_ext_unix_inos, 2);
	CU_ASSERT_EQUAL(r.o.ext_unix_inos[0], 4711);
	CU_ASSERT_EQUAL(r.o.ext_unix_inos[1], 815);
	rpc_opts_free(&r);
}

/* link_remap: what --link-remap does, in a dump. */
static void test_link_remap(void)
{
	CriuOpts o;

	runc_dump(&o);
	CU_ASSERT_EQUAL_FATAL(map(&o, CRIU_REQ_TYPE__DUMP), 0);
	CU_ASSERT_FALSE(r.o.link_remap);
	o.has_link_remap = o.link_remap = true;
	CU_ASSERT_EQUAL_FATAL(map(&o, CRIU_REQ_TYPE__DUMP), 0);
	CU_ASSERT_TRUE(r.o.link_remap);
	rpc_opts_free(&r);
}

static void test_sides_and_shape(void)
{
	char *ext[] = { (char *)"ipc[4026531839]:extRootIpcNS" };
	char *ok_ext[] = { (char *)"veth[eth0]:vethhost" };
	char *ns_ext[] = { (char *)"net[4026531992]:extRootNetNS" };
	CriuOpts o;

	runc_dump(&o);
	o.has_rst_sibling = o.rst_sibling = true;
	CU_ASSERT_EQUAL(map(&o, CRIU_REQ_TYPE__DUMP), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "rst_sibling: not an option of dump"));

	runc_dump(&o);		/* has pid and freeze_cgroup */
	CU_ASSERT_EQUAL(map(&o, CRIU_REQ_TYPE__RESTORE), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "not an option of restore"));

	runc_dump(&o);
	o.has_pid = false;
	CU_ASSERT_EQUAL(map(&o, CRIU_REQ_TYPE__DUMP), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "pid"));

	runc_dump(&o);
	o.log_file = (char *)"../dump.log";
	CU_ASSERT_EQUAL(map(&o, CRIU_REQ_TYPE__DUMP), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "log_file"));

	runc_dump(&o);
	o.has_images_dir_fd = false;
	CU_ASSERT_EQUAL(map(&o, CRIU_REQ_TYPE__DUMP), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "images_dir"));
	o.images_dir = (char *)"/var/lib/ckpt";
	CU_ASSERT_EQUAL(map(&o, CRIU_REQ_TYPE__DUMP), 0);
	CU_ASSERT_STRING_EQUAL(r.o.images_dir, "/var/lib/ckpt");

	/* an external of a kind cr does not look up would be dropped: refused */
	runc_dump(&o);
	o.n_external = 1;
	o.external = ext;
	CU_ASSERT_EQUAL(map(&o, CRIU_REQ_TYPE__DUMP), -EOPNOTSUPP);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "ipc[4026531839]:extRootIpcNS"));
	o.external = ok_ext;
	CU_ASSERT_EQUAL(map(&o, CRIU_REQ_TYPE__DUMP), 0);
	CU_ASSERT_STRING_EQUAL(cr_external_lookup(&r.o, "veth", "eth0"), "vethhost");
	/* runc's external net namespace: namespaces.c looks it up by inode */
	o.external = ns_ext;
	CU_ASSERT_EQUAL(map(&o, CRIU_REQ_TYPE__DUMP), 0);
	CU_ASSERT_STRING_EQUAL(cr_external_lookup(&r.o, "net", "4026531992"), "extRootNetNS");

	/* orphan_pts_master and join_ns reach the options */
	runc_dump(&o);
	CU_ASSERT_EQUAL(map(&o, CRIU_REQ_TYPE__DUMP), 0);
	CU_ASSERT_TRUE(r.o.orphan_pts_master);
	{
		CriuJoinNamespace jn = CRIU_JOIN_NAMESPACE__INIT, *jns[] = { &jn };

		jn.ns = (char *)"uts";
		jn.ns_file = (char *)"/proc/1/ns/uts";
		o.n_join_ns = 1;
		o.join_ns = jns;
		CU_ASSERT_EQUAL(map(&o, CRIU_REQ_TYPE__DUMP), -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(why, "join_ns: not an option of dump"));
		o.has_pid = false;
		o.freeze_cgroup = NULL;
		CU_ASSERT_EQUAL(map(&o, CRIU_REQ_TYPE__RESTORE), 0);
		CU_ASSERT_EQUAL(r.o.nr_join_ns, 1);
		CU_ASSERT_STRING_EQUAL(r.o.join_ns[0].ns, "uts");
		CU_ASSERT_STRING_EQUAL(r.o.join_ns[0].file, "/proc/1/ns/uts");
		o.n_join_ns = 0;
		o.join_ns = NULL;
	}

	/* a check needs no directory; no options at all are the defaults */
	CU_ASSERT_EQUAL(map(NULL, CRIU_REQ_TYPE__CHECK), 0);
	CU_ASSERT_STRING_EQUAL(r.o.command, "check");
	CU_ASSERT_PTR_NULL(r.log_name);
	CU_ASSERT_EQUAL(map(NULL, CRIU_REQ_TYPE__DUMP), -EINVAL);
}

/* A field this schema does not have: as a newer criu's caller would send it. */
static void test_unknown_field(void)
{
	CriuOpts o, *back;
	uint8_t buf[512];
	size_t n;

	runc_dump(&o);
	o.n_ext_mnt = 0;
	n = criu_opts__pack(&o, buf);
	/* field 200, varint 1: tag (200 << 3 | 0) = 1600 = 0xc0 0x0c */
	buf[n++] = 0xc0;
	buf[n++] = 0x0c;
	buf[n++] = 0x01;
	back = criu_opts__unpack(NULL, n, buf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(back);
	CU_ASSERT_EQUAL(map(back, CRIU_REQ_TYPE__DUMP), -EOPNOTSUPP);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "field 200"));
	rpc_opts_free(&r);
	criu_opts__free_unpacked(back, NULL);
}

static void test_config_file(void)
{
	char path[128];
	CriuOpts o;

	tmp_setup();
	snprintf(path, sizeof(path), "%s/runc.conf", tmp_dir);
	runc_dump(&o);
	o.config_file = path;
	CU_ASSERT_EQUAL(spit("runc.conf", "# nothing\n\n   \n", 15), 0);
	CU_ASSERT_EQUAL(map(&o, CRIU_REQ_TYPE__DUMP), 0);
	CU_ASSERT_EQUAL(spit("runc.conf", "tcp-established\n", 16), 0);
	CU_ASSERT_EQUAL(map(&o, CRIU_REQ_TYPE__DUMP), -EOPNOTSUPP);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "config_file"));
	rpc_opts_free(&r);
	tmp_teardown();
}

/* --action-script through the notify hook: criu's environment, a failing script fails. */
static void test_action_scripts(void)
{
	static const char script[] =
		"#!/bin/sh\n"
		"echo \"$CRTOOLS_SCRIPT_ACTION ${CRTOOLS_INIT_PID:-none} $CRTOOLS_IMAGE_DIR\" >> \"$CRTOOLS_IMAGE_DIR/out\"\n"
		"[ \"$CRTOOLS_SCRIPT_ACTION\" != post-dump ]\n";
	struct cr_action_scripts a = { 0 };
	struct cr_options o = { .notify = cr_run_action_scripts, .notify_ctx = &a };
	char path[128], want[512];
	const char *paths[1] = { path };
	unsigned char *out;
	size_t len;

	tmp_setup();
	snprintf(path, sizeof(path), "%s/script", tmp_dir);
	CU_ASSERT_EQUAL_FATAL(spit("script", script, sizeof(script) - 1), 0);
	CU_ASSERT_EQUAL_FATAL(chmod(path, 0700), 0);
	a.paths = paths;
	a.nr = 1;
	a.images_dir = tmp_dir;
	CU_ASSERT_EQUAL(cr_notify(&o, "pre-restore", 0), 0);
	CU_ASSERT_EQUAL(cr_notify(&o, "post-restore", 4711), 0);
	CU_ASSERT_EQUAL(cr_notify(&o, "post-dump", 0), -ECANCELED);
	CU_ASSERT_TRUE(last_error_has("notification post-dump failed"));
	out = slurp("out", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	snprintf(want, sizeof(want), "pre-restore none %s\npost-restore 4711 %s\npost-dump 4711 %s\n", tmp_dir,
		 tmp_dir, tmp_dir);
	CU_ASSERT_EQUAL(len, strlen(want));
	CU_ASSERT_NSTRING_EQUAL(out, want, strlen(want));
	free(out);
	/* no hook: nothing to tell, nothing fails */
	o.notify = NULL;
	CU_ASSERT_EQUAL(cr_notify(&o, "pre-dump", 0), 0);
	tmp_teardown();
}

static void test_type_names(void)
{
	CU_ASSERT_STRING_EQUAL(rpc_type_name(CRIU_REQ_TYPE__PRE_DUMP), "PRE_DUMP");
	CU_ASSERT_STRING_EQUAL(rpc_type_name(CRIU_REQ_TYPE__VERSION), "VERSION");
	CU_ASSERT_STRING_EQUAL(rpc_type_name((CriuReqType)99), "UNKNOWN");
}

int unit_register_rpc(void)
{
	CU_pSuite s = CU_add_suite("rpc", NULL, NULL);

	if (!s ||
	    !CU_add_test(s, "runc's checkpoint options", test_runc_dump) ||
	    !CU_add_test(s, "runc's restore options", test_runc_restore) ||
	    !CU_add_test(s, "network_lock's methods", test_network_lock) ||
	    !CU_add_test(s, "what cr does not do is refused, named", test_refused) ||
	    !CU_add_test(s, "a dump with lazy_pages serves on ps's port", test_lazy_dump) ||
	    !CU_add_test(s, "one side's options, directories, externals", test_sides_and_shape) ||
	    !CU_add_test(s, "ext_unix_sk and unix_sk_ino", test_ext_unix_sk) ||
	    !CU_add_test(s, "link_remap as --link-remap", test_link_remap) ||
	    !CU_add_test(s, "a field cr does not know", test_unknown_field) ||
	    !CU_add_test(s, "config_file: missing, empty, setting options", test_config_file) ||
	    !CU_add_test(s, "--action-script as the notify hook", test_action_scripts) ||
	    !CU_add_test(s, "request type names", test_type_names))
		return CU_get_error();
	return 0;
}
