/*
 * A request's criu_opts as a struct cr_options: every field is honoured,
 * accepted for a stated reason, or refused naming it. None is dropped
 * without a word: a caller that asks for something cr does not do gets
 * an error reply instead of a checkpoint it did not ask for.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "lazy-serve.h"
#include "log.h"
#include "netlock.h"
#include "pagez.h"
#include "rpc.h"

#define DEFAULT_LOG_NAME	"criu.log"	/* criu's, when log_file is not given */
#define MAX_LOG_LEVEL		LOG_DEBUG

__attribute__((format(printf, 4, 5)))
static int refuse(int err, char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return err;
}

const char *rpc_opts_keep(struct rpc_opts *r, char *s)
{
	char **n;

	if (!s)
		return NULL;
	n = realloc(r->strs, (r->nr_strs + 1) * sizeof(*n));
	if (!n) {
		free(s);
		return NULL;
	}
	n[r->nr_strs++] = s;
	r->strs = n;
	return s;
}

__attribute__((format(printf, 2, 3)))
static const char *keepf(struct rpc_opts *r, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : rpc_opts_keep(r, s);
}

static int push(const char ***v, unsigned *n, const char *s)
{
	const char **nv;

	if (!s)
		return -ENOMEM;
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = s;
	*v = nv;
	return 0;
}

/* The image directory, the work directory and the log: needed to report anything else. */
static int map_dirs(const CriuOpts *q, CriuReqType type, pid_t peer, struct rpc_opts *r, char *why, size_t len)
{
	struct cr_options *o = &r->o;

	if (q->has_images_dir_fd && q->images_dir_fd >= 0)
		o->images_dir = keepf(r, "/proc/%d/fd/%d", peer, q->images_dir_fd);
	else if (q->images_dir)
		o->images_dir = q->images_dir;
	else if (type != CRIU_REQ_TYPE__CHECK)
		return refuse(-EINVAL, why, len, "images_dir_fd: neither it nor images_dir names the image directory");
	if (q->has_work_dir_fd && q->work_dir_fd >= 0 &&
	    !(r->work_dir = keepf(r, "/proc/%d/fd/%d", peer, q->work_dir_fd)))
		return -ENOMEM;
	if (q->has_log_level)
		o->verbosity = q->log_level < 0 ? 0 : q->log_level > MAX_LOG_LEVEL ? MAX_LOG_LEVEL : q->log_level;
	if (q->log_file && strchr(q->log_file, '/'))
		return refuse(-EINVAL, why, len, "log_file %s: a name in the work directory, without '/' (as criu)",
			      q->log_file);
	if (q->log_file)
		r->log_name = q->log_file;
	else if (!(q->has_log_to_stderr && q->log_to_stderr) && o->images_dir)
		r->log_name = DEFAULT_LOG_NAME;
	return o->images_dir || type == CRIU_REQ_TYPE__CHECK ? 0 : -ENOMEM;
}

/* A bool that asks for something cr does not do: refused when set true. */
struct refused_bool {
	const char *name;
	size_t has, val;	/* offsets in CriuOpts */
	const char *why;
};

#define RB(f, w) { #f, offsetof(CriuOpts, has_##f), offsetof(CriuOpts, f), w }

static const struct refused_bool refused_bools[] = {
	RB(force_irmap, "cr has no inode-to-path map"),
	RB(auto_ext_mnt, "cr takes only the external mounts declared (ext_mnt, external)"),
	RB(ext_sharing, "cr takes only the external mounts declared (ext_mnt, external)"),
	RB(ext_masters, "cr takes only the external mounts declared (ext_mnt, external)"),
	RB(weak_sysctls, "cr restores the sysctls it dumped or fails"),
	RB(tls, "cr's page server has no TLS"),
	RB(tls_no_cn_verify, "cr's page server has no TLS"),
	RB(mntns_compat_mode, "cr has one way of restoring mounts"),
	RB(skip_file_rwx_check, "cr always checks the mode of the files it reopens"),
	RB(unprivileged, "cr runs as root"),
	RB(leave_stopped, "cr cannot leave the tree stopped"),
};

/* Set at all: refused. The offsets are of the has_ flag, n_ count or pointer. */
enum present_kind { PK_HAS, PK_COUNT, PK_PTR };
struct refused_present {
	const char *name;
	enum present_kind kind;
	size_t off;
	const char *why;
};

#define RH(f, w) { #f, PK_HAS, offsetof(CriuOpts, has_##f), w }
#define RN(f, w) { #f, PK_COUNT, offsetof(CriuOpts, n_##f), w }
#define RP(f, w) { #f, PK_PTR, offsetof(CriuOpts, f), w }

static const struct refused_present refused_present[] = {
	RH(cpu_cap, "cr always checks the CPU features the images use; no other check can be chosen"),
	RN(exec_cmd, "cr does not run a command after the restore"),
	RN(skip_mnt, "cr cannot leave a mount out"),
	RN(enable_fs, "cr has no list of file systems to enable"),
	RH(ghost_limit, "cr has no ghost files"),
	RN(irmap_scan_paths, "cr has no inode-to-path map"),
	RP(cgroup_props, "cr saves the cgroup properties it knows; none can be named"),
	RP(cgroup_props_file, "cr saves the cgroup properties it knows; none can be named"),
	RN(cgroup_dump_controller, "cr saves every controller's cgroups"),
	RH(timeout, "cr's timeouts are fixed"),
	RH(status_fd, "cr's lazy-pages daemon reports on no status fd (a restore starts its own)"),
	RP(lsm_profile, "cr does not change LSM profiles"),
	RP(lsm_mount_context, "cr does not change LSM mount contexts"),
	RP(tls_cacert, "cr's page server has no TLS"),
	RP(tls_cacrl, "cr's page server has no TLS"),
	RP(tls_cert, "cr's page server has no TLS"),
	RP(tls_key, "cr's page server has no TLS"),
	RP(cgroup_yard, "cr mounts its cgroup hierarchies itself"),
	RH(pidfd_store_sk, "cr has no pre-dump, so no pidfds to keep between pre-dumps"),
};

static bool present(const CriuOpts *q, const struct refused_present *p)
{
	const char *base = (const char *)q + p->off;

	switch (p->kind) {
	case PK_HAS:
		return *(const protobuf_c_boolean *)base;
	case PK_COUNT:
		return *(const size_t *)base != 0;
	case PK_PTR:
		return *(void *const *)base != NULL;
	}
	return false;
}

static int check_refused(const CriuOpts *q, char *why, size_t len)
{
	for (unsigned i = 0; i < ARRAY_SIZE(refused_bools); i++) {
		const struct refused_bool *b = &refused_bools[i];

		if (*(const protobuf_c_boolean *)((const char *)q + b->has) &&
		    *(const protobuf_c_boolean *)((const char *)q + b->val))
			return refuse(-EOPNOTSUPP, why, len, "%s: %s", b->name, b->why);
	}
	for (unsigned i = 0; i < ARRAY_SIZE(refused_present); i++)
		if (present(q, &refused_present[i]))
			return refuse(-EOPNOTSUPP, why, len, "%s: %s", refused_present[i].name,
				      refused_present[i].why);
	/* runc sends CLONE_NEWNET always: its hooks, not criu, set up the container's network. */
	if (q->has_empty_ns && (q->empty_ns & ~CLONE_NEWNET))
		return refuse(-EOPNOTSUPP, why, len, "empty_ns 0x%x: cr can leave only a net namespace empty (0x%x)",
			      q->empty_ns, CLONE_NEWNET);
	if (q->has_network_lock && !netlock_mode_name(q->network_lock))
		return refuse(-EOPNOTSUPP, why, len, "network_lock %d: not a method criu knows", q->network_lock);
	if (q->base.n_unknown_fields)
		return refuse(-EOPNOTSUPP, why, len, "field %u of criu_opts: not an option cr knows (a newer criu's?)",
			      q->base.unknown_fields[0].tag);
	return 0;
}

/* TYPE[NAME]:VALUE of a type cr looks up (external.c's users). */
static int map_external(struct rpc_opts *r, const char *e, char *why, size_t len)
{
	const char *lb = strchr(e, '['), *rb = lb ? strchr(lb, ']') : NULL;

	if (!lb || lb == e || !rb || rb == lb + 1 || rb[1] != ':' || !rb[2])
		return refuse(-EINVAL, why, len, "external %s: not TYPE[NAME]:VALUE", e);
	if (strncmp(e, "mnt[", 4) && strncmp(e, "veth[", 5) && strncmp(e, "net[", 4) && strncmp(e, "pid[", 4))
		return refuse(-EOPNOTSUPP, why, len,
			      "external %s: cr knows external mounts (mnt[...]), veth ends (veth[...]) and "
			      "namespaces (net[INODE], pid[INODE]) only", e);
	return push(&r->o.externals, &r->o.nr_externals, e);
}

static int map_cg_mode(CriuCgMode m, int *ret)
{
	switch (m) {
	case CRIU_CG_MODE__IGNORE: *ret = CG_MODE_IGNORE; return 0;
	case CRIU_CG_MODE__CG_NONE: *ret = CG_MODE_NONE; return 0;
	case CRIU_CG_MODE__PROPS: *ret = CG_MODE_PROPS; return 0;
	case CRIU_CG_MODE__SOFT: *ret = CG_MODE_SOFT; return 0;
	case CRIU_CG_MODE__FULL: *ret = CG_MODE_FULL; return 0;
	case CRIU_CG_MODE__STRICT: *ret = CG_MODE_STRICT; return 0;
	case CRIU_CG_MODE__DEFAULT: *ret = CG_MODE_SOFT; return 0;
	default: return -EINVAL;
	}
}

/* Options of one side only, sent to the other: refused, not dropped. */
static int check_sides(const CriuOpts *q, bool dump, char *why, size_t len)
{
	const char *f = NULL;

	if (dump) {
		if (q->has_rst_sibling && q->rst_sibling)
			f = "rst_sibling";
		else if (q->n_inherit_fd)
			f = "inherit_fd";
		else if (q->n_cg_root)
			f = "cg_root";
		else if (q->n_veths)
			f = "veths";
		else if (q->has_evasive_devices && q->evasive_devices)
			f = "evasive_devices";
		else if (q->n_join_ns)
			f = "join_ns";
	} else {
		if (q->has_pid && q->pid)
			f = "pid";
		else if (q->has_leave_running && q->leave_running)
			f = "leave_running";
		else if (q->freeze_cgroup)
			f = "freeze_cgroup";
		else if (q->ps)
			f = "ps (a restore reads the pages from the image directory)";
	}
	if (f)
		return refuse(-EINVAL, why, len, "%s: not an option of %s", f, dump ? "dump" : "restore");
	return 0;
}

static int map_lists(const CriuOpts *q, struct rpc_opts *r, char *why, size_t len)
{
	struct cr_options *o = &r->o;
	int err = 0;

	for (size_t i = 0; i < q->n_ext_mnt && !err; i++)
		err = push(&o->externals, &o->nr_externals,
			   keepf(r, "mnt[%s]:%s", q->ext_mnt[i]->key, q->ext_mnt[i]->val));
	for (size_t i = 0; i < q->n_external && !err; i++)
		err = map_external(r, q->external[i], why, len);
	for (size_t i = 0; i < q->n_veths && !err; i++)
		err = push(&o->externals, &o->nr_externals,
			   keepf(r, "veth[%s]:%s", q->veths[i]->if_in, q->veths[i]->if_out));
	o->link_remap = q->has_link_remap && q->link_remap;
	o->key_file = q->key_file;	/* NULL: unsigned images (a key of an earlier request is forgotten) */
	/* Listed inodes without ext_unix_sk: those sockets only, as criu. */
	o->ext_unix_sk = (q->has_ext_unix_sk && q->ext_unix_sk) || q->n_unix_sk_ino;
	if (!err && q->n_unix_sk_ino) {
		r->ext_inos = calloc(q->n_unix_sk_ino, sizeof(*r->ext_inos));
		if (!r->ext_inos)
			return -ENOMEM;
		for (size_t i = 0; i < q->n_unix_sk_ino; i++)
			r->ext_inos[i] = q->unix_sk_ino[i]->inode;
		o->ext_unix_inos = r->ext_inos;
		o->nr_ext_unix_inos = q->n_unix_sk_ino;
	}
	for (size_t i = 0; i < q->n_cg_root && !err; i++) {
		const CriuCgroupRoot *c = q->cg_root[i];

		err = push(&o->cgroup_roots, &o->nr_cgroup_roots,
			   c->ctrl ? keepf(r, "%s:%s", c->ctrl, c->path) : c->path);
	}
	if (!err && q->n_inherit_fd) {
		o->inherit_fds = calloc(q->n_inherit_fd, sizeof(*o->inherit_fds));
		if (!o->inherit_fds)
			return -ENOMEM;
	}
	if (!err && q->n_join_ns) {
		o->join_ns = calloc(q->n_join_ns, sizeof(*o->join_ns));
		if (!o->join_ns)
			return -ENOMEM;
	}
	for (size_t i = 0; i < q->n_join_ns && !err; i++)
		o->join_ns[o->nr_join_ns++] = (struct cr_join_ns){
			.ns = q->join_ns[i]->ns, .file = q->join_ns[i]->ns_file, .extra = q->join_ns[i]->extra_opt,
		};
	for (size_t i = 0; i < q->n_inherit_fd && !err; i++) {
		/* cr's own fds, as runc passes them (ExtraFiles) */
		if (q->inherit_fd[i]->fd < 0 || fcntl(q->inherit_fd[i]->fd, F_GETFD) < 0)
			return refuse(-EBADF, why, len, "inherit_fd fd[%d]:%s: fd %d is not open in cr swrk",
				      q->inherit_fd[i]->fd, q->inherit_fd[i]->key, q->inherit_fd[i]->fd);
		o->inherit_fds[o->nr_inherit_fds++] =
			(struct cr_inherit_fd){ .fd = q->inherit_fd[i]->fd, .key = q->inherit_fd[i]->key };
	}
	return err;
}

/*
 * criu reads its configuration file over the request; a missing one is
 * fine (runc names /etc/criu/runc.conf whether it exists or not), as is
 * one of comments and blank lines. cr reads no criu configuration, so
 * one that says anything is refused rather than not obeyed.
 */
static int check_config_file(const char *path, char *why, size_t len)
{
	_cleanup_fclose_ FILE *f = NULL;
	char line[512];

	if (!path)
		return 0;
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : refuse(-errno, why, len, "config_file %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		const char *p = line + strspn(line, " \t\r\n");

		if (*p && *p != '#')
			return refuse(-EOPNOTSUPP, why, len,
				      "config_file %s: cr does not read criu configuration files, and this one sets options",
				      path);
	}
	return 0;
}

static int map_dump_restore(const CriuOpts *q, bool dump, struct rpc_opts *r, char *why, size_t len)
{
	struct cr_options *o = &r->o;
	int err;

	err = check_refused(q, why, len);
	if (!err)
		err = check_sides(q, dump, why, len);
	if (!err)
		err = check_config_file(q->config_file, why, len);
	if (err)
		return err;
	r->notify = q->has_notify_scripts && q->notify_scripts;
	if (dump) {
		/* criu dumps the caller itself without a pid: cr does not dump its own parent. */
		if (!q->has_pid || q->pid <= 0)
			return refuse(-EINVAL, why, len, "pid: not given (cr does not dump the calling process)");
		o->pid = q->pid;
		/* A dump for a lazy restore: it serves the pages on ps's port (lazy-serve.h). */
		o->lazy_pages = q->has_lazy_pages && q->lazy_pages;
		o->leave_running = q->has_leave_running && q->leave_running;
		o->freeze_cgroup = q->freeze_cgroup;
		/* as criu's: callers look at the tree right after the reply */
		o->wait_killed = true;
		/*
		 * Pre-copy (runc --parent-path ../PREV: relative to the images, as
		 * criu's). pre_dump_mode: SPLICE and VM_READ copy the same pages;
		 * cr always splices.
		 */
		o->prev_images_dir = q->parent_img;
		o->track_mem = q->has_track_mem && q->track_mem;
		o->auto_dedup = q->has_auto_dedup && q->auto_dedup;
		if (q->cr_compress && pagez_parse_spec(q->cr_compress, &o->compress_level))
			return refuse(-EINVAL, why, len, "cr_compress '%s': not zstd or zstd:LEVEL (1..%d)",
				      q->cr_compress, PAGEZ_LEVEL_MAX);
	} else {
		/* As criu's service: the tree outlives the request. */
		o->restore_detached = true;
		o->lazy_pages = q->has_lazy_pages && q->lazy_pages;
		o->restore_sibling = q->has_rst_sibling && q->rst_sibling;
		/* Restore only: a dump takes the tree's root from the tree, as criu. */
		o->root = q->root;
	}
	o->empty_ns = q->has_empty_ns ? q->empty_ns : 0;
	o->tcp_established = q->has_tcp_established && q->tcp_established;
	o->tcp_skip_in_flight = q->has_tcp_skip_in_flight && q->tcp_skip_in_flight;
	o->tcp_close = q->has_tcp_close && q->tcp_close;
	/* enum netlock_mode numbers its modes as criu's RPC. */
	o->network_lock = q->has_network_lock ? (int)q->network_lock : NETLOCK_DEFAULT;
	o->shell_job = q->has_shell_job && q->shell_job;
	o->display_stats = q->has_display_stats && q->display_stats;
	o->orphan_pts_master = q->has_orphan_pts_master && q->orphan_pts_master;
	if (q->has_manage_cgroups_mode && map_cg_mode(q->manage_cgroups_mode, &o->manage_cgroups))
		return refuse(-EINVAL, why, len, "manage_cgroups_mode %d: not a mode criu knows",
			      q->manage_cgroups_mode);
	else if (!q->has_manage_cgroups_mode && q->has_manage_cgroups && q->manage_cgroups)
		o->manage_cgroups = CG_MODE_SOFT;
	return map_lists(q, r, why, len);
}

/*
 * opts.ps of DUMP and PAGE_SERVER: the page server's address and port,
 * or a connected socket of the caller's (its fd, taken with pidfd_getfd).
 */
static int map_page_server(const CriuPageServerInfo *ps, pid_t peer, struct rpc_opts *r, char *why, size_t len)
{
	struct cr_options *o = &r->o;
	int pidfd;

	o->ps.on = true;
	o->ps.address = ps->address;
	o->ps.port = ps->has_port ? ps->port : 0;
	if (!ps->has_fd) {
		if (ps->has_port && ps->port > 0 && ps->port <= 65535 && (ps->address || !strcmp(o->command, "page-server")))
			return 0;
		return refuse(-EINVAL, why, len, "ps: needs a port (1..65535)%s, or the fd of a connected socket",
			      strcmp(o->command, "page-server") ? " and an address" : "");
	}
	pidfd = syscall(SYS_pidfd_open, peer, 0);
	r->ps_fd = pidfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, ps->fd, 0);
	if (r->ps_fd < 0)
		return refuse(-errno, why, len, "ps: fd %d of pid %d: %s", ps->fd, peer, strerror(errno));
	if (pidfd >= 0)
		close(pidfd);
	o->ps.has_fd = true;
	o->ps.fd = r->ps_fd;
	return 0;
}

/* opts.ps of a DUMP with lazy_pages (criu's): where the dump serves its pages. */
static int map_lazy_source(const CriuPageServerInfo *ps, struct cr_options *o, char *why, size_t len)
{
	if (ps->has_fd)
		return refuse(-EOPNOTSUPP, why, len, "ps.fd with lazy_pages: the dump serves its pages on ps.port");
	if (!ps->has_port || ps->port <= 0 || ps->port > 65535)
		return refuse(-EINVAL, why, len, "ps: lazy_pages needs the port (1..65535) to serve the pages on");
	o->ps.address = ps->address;
	o->ps.port = ps->port;
	return 0;
}

int rpc_map_opts(const CriuOpts *opts, CriuReqType type, pid_t peer, struct rpc_opts *ret, char *why,
		 size_t why_len)
{
	static const CriuOpts defaults = CRIU_OPTS__INIT;
	const CriuOpts *q = opts ? opts : &defaults;
	struct cr_options *o = &ret->o;
	int err;

	*ret = (struct rpc_opts){ .o = { .verbosity = LOG_WARN }, .ps_fd = -1 };
	why[0] = '\0';
	switch (type) {
	case CRIU_REQ_TYPE__DUMP:
		o->command = "dump";
		break;
	case CRIU_REQ_TYPE__RESTORE:
		o->command = "restore";
		break;
	case CRIU_REQ_TYPE__CHECK:
		o->command = "check";
		break;
	case CRIU_REQ_TYPE__PAGE_SERVER:
	case CRIU_REQ_TYPE__PAGE_SERVER_CHLD:
		o->command = "page-server";
		break;
	case CRIU_REQ_TYPE__PRE_DUMP:
	case CRIU_REQ_TYPE__SINGLE_PRE_DUMP:
		o->command = "pre-dump";
		break;
	default:
		return refuse(-EINVAL, why, why_len, "%s: no options to map", rpc_type_name(type));
	}
	err = map_dirs(q, type, peer, ret, why, why_len);
	if (!err && !o->images_dir)
		o->images_dir = ".";	/* a check's: it takes none */
	/* A check uses the log's options alone, as criu's. */
	if (err || type == CRIU_REQ_TYPE__CHECK)
		return err;
	if (!strcmp(o->command, "page-server"))
		return q->ps ? map_page_server(q->ps, peer, ret, why, why_len)
			     : refuse(-EINVAL, why, why_len, "ps: a page server needs its port");
	err = map_dump_restore(q, type != CRIU_REQ_TYPE__RESTORE, ret, why, why_len);
	if (!err && q->ps && type != CRIU_REQ_TYPE__RESTORE)
		err = o->lazy_pages ? map_lazy_source(q->ps, o, why, why_len) : map_page_server(q->ps, peer, ret, why,
												 why_len);
	if (!err && lazy_serve_opts_error(o))
		err = refuse(-EINVAL, why, why_len, "lazy_pages: %s", lazy_serve_opts_error(o));
	return err;
}

void rpc_opts_log_accepted(const CriuOpts *q, bool dump)
{
	if (!q)
		return;
	if (dump && q->root)
		pr_info("rpc: root %s: a dump takes the tree's root from the tree (as criu)", q->root);
	if (q->has_evasive_devices && q->evasive_devices)
		pr_info("rpc: evasive_devices: cr opens device files at their dumped paths");
	if (q->has_file_locks && q->file_locks)
		pr_info("rpc: file_locks: cr dumps the tree's file locks always");
	if (q->config_file)
		pr_info("rpc: config_file %s: none, or nothing set in it", q->config_file);
}

void rpc_opts_free(struct rpc_opts *r)
{
	for (unsigned i = 0; i < r->nr_strs; i++)
		free(r->strs[i]);
	free(r->strs);
	free(r->o.externals);
	free(r->o.cgroup_roots);
	free(r->o.inherit_fds);
	free(r->ext_inos);
	free(r->o.join_ns);
	if (r->ps_fd >= 0)
		close(r->ps_fd);
	*r = (struct rpc_opts){ .ps_fd = -1 };
}

const char *rpc_type_name(CriuReqType type)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(&criu_req_type__descriptor, type);

	return v ? v->name : "UNKNOWN";
}
