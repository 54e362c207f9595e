/*
 * cr swrk FD: criu's RPC server, as runc, podman (libcriu) and go-criu
 * start it. FD is one end of a SOCK_SEQPACKET socketpair the caller
 * made; every packet is one criu_req, every answer one criu_resp. A
 * request's options become a struct cr_options (rpc-opts.c) and the
 * CLI's cr_dump(), cr_restore() and cr_check() do the work; the
 * notifications go back to the caller as NOTIFY round trips.
 *
 * One dump or restore per process, as in criu's swrk: it ends the
 * session. VERSION, FEATURE_CHECK and CHECK may be followed by more
 * requests (keep_open).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "cleanup.h"
#include "lazy.h"
#include "log.h"
#include "mem-track.h"
#include "rpc.h"
#include "scm.h"

#define VERSION_NAME	"criu-lite " CR_VERSION

struct swrk {
	int sk;
	pid_t peer;		/* the caller: the pid its fds are named by */
	bool forward;		/* notify_scripts: the caller wants the notifications */
	pid_t restored;		/* the root, from the post-restore notification */
};

/*
 * One request from the socket. Returns 1 and *ret_req, 0 when the caller
 * closed its end, -errno otherwise (logged).
 */
static int recv_req(int sk, CriuReq **ret_req)
{
	_cleanup_free_ uint8_t *buf = NULL;
	ssize_t len, n;

	len = recv(sk, NULL, 0, MSG_PEEK | MSG_TRUNC);
	if (len < 0)
		return pr_errno(-errno, "rpc: reading a request");
	if (len == 0)
		return 0;
	buf = xmalloc(len);
	if (!buf)
		return -ENOMEM;
	n = recv(sk, buf, len, MSG_TRUNC);
	if (n < 0)
		return pr_errno(-errno, "rpc: reading a request");
	if (n != len)
		return pr_errno(-EMSGSIZE, "rpc: a request of %zd bytes came as %zd", len, n);
	*ret_req = criu_req__unpack(NULL, len, buf);
	if (!*ret_req)
		return pr_errno(-EBADMSG, "rpc: a request of %zd bytes is not a criu_req", len);
	return 1;
}

/* @fd >= 0 goes along as SCM_RIGHTS (the orphan-pts-master notification's). */
static int send_resp_fd(int sk, const CriuResp *resp, int fd)
{
	size_t len = criu_resp__get_packed_size(resp);
	_cleanup_free_ uint8_t *buf = xmalloc(len ? len : 1);
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	criu_resp__pack(resp, buf);
	/* A caller gone is an error reply, not a SIGPIPE. */
	n = scm_send(sk, buf, len, fd);
	if (n < 0)
		return pr_errno(-errno, "rpc: sending the %s reply", rpc_type_name(resp->type));
	return 0;
}

static int send_resp(int sk, const CriuResp *resp)
{
	return send_resp_fd(sk, resp, -1);
}

/* The failure of @err in @resp: the first error logged is the cause. */
static void set_failure(CriuResp *resp, int err)
{
	const char *first = log_first_error();

	resp->success = false;
	resp->has_cr_errno = true;
	resp->cr_errno = -err;
	resp->cr_errmsg = (char *)(first ? first : strerror(-err));
}

/* One NOTIFY round trip: the caller must answer notify_success. */
static int notify_round_trip(struct swrk *s, const char *script, pid_t pid, int fd)
{
	CriuResp resp = CRIU_RESP__INIT;
	CriuNotify n = CRIU_NOTIFY__INIT;
	CriuReq *req = NULL;
	int err;

	resp.type = CRIU_REQ_TYPE__NOTIFY;
	resp.success = true;
	resp.notify = &n;
	n.script = (char *)script;
	if (pid > 0) {
		n.has_pid = true;
		n.pid = pid;
	}
	err = send_resp_fd(s->sk, &resp, fd);
	if (err)
		return err;
	err = recv_req(s->sk, &req);
	if (err == 0)
		return pr_errno(-ECONNRESET, "rpc: the caller closed the socket instead of answering %s", script);
	if (err < 0)
		return err;
	if (req->type != CRIU_REQ_TYPE__NOTIFY || !req->notify_success)
		err = pr_errno(-ECANCELED, "rpc: the caller answered notification %s with a failure (%s)", script,
			       req->type == CRIU_REQ_TYPE__NOTIFY ? "notify_success not set" : rpc_type_name(req->type));
	else
		err = 0;
	criu_req__free_unpacked(req, NULL);
	return err;
}

/*
 * cr_options.notify: a NOTIFY round trip when the caller asked for
 * them. Installed for every request: post-restore also tells the
 * RESTORE reply the root's pid.
 */
static int rpc_notify(void *ctx, const char *script, pid_t pid)
{
	struct swrk *s = ctx;

	if (!strcmp(script, "post-restore"))
		s->restored = pid;
	return s->forward ? notify_round_trip(s, script, pid, -1) : 0;
}

/*
 * cr_options.hand_fd: the fd rides on the notification as criu sends it
 * (runc takes the orphan pts master from it). A caller that asked for no
 * notifications cannot be given one.
 */
static int rpc_hand_fd(void *ctx, const char *script, int fd)
{
	struct swrk *s = ctx;

	if (!s->forward)
		return pr_errno(-ENOTCONN, "rpc: %s: the caller did not ask for notifications (notify_scripts), which "
				"carry the fd", script);
	return notify_round_trip(s, script, 0, fd);
}

/*
 * The caller's fd @proc_path (/proc/PID/fd/N) by its own path, when that
 * is the same directory from here: the messages and the log then name
 * what the caller named. Otherwise the /proc path stays.
 */
static int real_dir(struct rpc_opts *r, const char **path)
{
	char buf[PATH_MAX];
	struct stat a, b;
	ssize_t n;
	char *s;

	if (!*path || strncmp(*path, "/proc/", 6))
		return 0;
	n = readlink(*path, buf, sizeof(buf) - 1);
	if (n < 0)
		return pr_errno(-errno, "rpc: the caller's directory %s", *path);
	buf[n] = '\0';
	if (buf[0] != '/' || stat(*path, &a) || stat(buf, &b) || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return 0;
	s = xstrdup(buf);
	if (!s)
		return -ENOMEM;
	*path = rpc_opts_keep(r, s);
	return *path ? 0 : -ENOMEM;
}

/*
 * The directories and the log of a mapped request: the log goes in the
 * work directory (the image directory without one), as criu's. The
 * image directory is taken as the CLI takes -D. Returns 0 and *ret_dfd.
 */
static int open_dirs_and_log(struct rpc_opts *r, int *ret_dfd)
{
	char log_path[PATH_MAX] = "";
	_cleanup_free_ char *abs = NULL;
	int err;

	err = real_dir(r, &r->o.images_dir);
	if (!err)
		err = real_dir(r, &r->work_dir);
	if (err)
		return err;
	r->o.work_dir = r->work_dir;
	if (r->log_name && r->work_dir) {
		if (asprintf(&abs, "%s/%s", r->work_dir, r->log_name) < 0)
			return -ENOMEM;
		r->o.log_file = abs;
	} else {
		r->o.log_file = r->log_name;
	}
	log_set_level(r->o.verbosity);
	err = cr_take_images_dir(&r->o, ret_dfd);
	if (!err)
		err = cr_open_log(&r->o, log_path);
	/* the log is open (or not): the name is not needed again */
	r->o.log_file = NULL;
	return err;
}

/*
 * cr_check() prints its findings on stdout, which is the caller's (for a
 * restore, runc's container's): they go to the log instead, as criu's.
 */
static int check_to_log(void)
{
	int saved = dup(STDOUT_FILENO), err;

	fflush(stdout);
	if (saved < 0 || dup2(log_get_fd(), STDOUT_FILENO) < 0) {
		err = pr_errno(-errno, "rpc: CHECK: sending its output to the log");
		if (saved >= 0)
			close(saved);
		return err;
	}
	err = cr_check();
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	return err;
}

/* Whether the request set field @f of @m (a proto2 message: has_ flags, counts, pointers). */
static bool field_set(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)m;

	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const size_t *)(base + f->quantifier_offset) != 0;
	if (f->label == PROTOBUF_C_LABEL_REQUIRED)
		return true;
	if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
		return *(void *const *)(base + f->offset) != NULL;
	return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
}

/* The names of the fields the caller set, in the log: what a runtime asks for, on record. */
static void log_fields(const CriuOpts *q)
{
	const ProtobufCMessageDescriptor *d = &criu_opts__descriptor;
	char line[2048] = "";
	size_t n = 0;

	if (!q)
		return;
	for (unsigned i = 0; i < d->n_fields && n < sizeof(line); i++)
		if (field_set(&q->base, &d->fields[i]))
			n += snprintf(line + n, sizeof(line) - n, " %s", d->fields[i].name);
	pr_info("rpc: the request sets:%s", line);
}

/*
 * A request's options mapped into *@r (free with rpc_opts_free()
 * whatever this returns), its directories taken (*@ret_dfd) and its log
 * opened; a refusal is logged there. 0 or -errno.
 */
static int take_request(struct swrk *s, const CriuReq *req, struct rpc_opts *r, int *ret_dfd)
{
	char why[512];
	int err;

	log_clear_first_error();
	err = rpc_map_opts(req->opts, req->type, s->peer, r, why, sizeof(why));
	/* Without the directory named there is no log to write a refusal to. */
	if (r->o.images_dir) {
		int e = open_dirs_and_log(r, ret_dfd);

		if (!err)
			err = e;
	}
	if (err && why[0])
		pr_err("rpc: %s refused: %s", rpc_type_name(req->type), why);
	return err;
}

/* The reply @resp to a request take_request() took, whose outcome is @err; returns the first error. */
static int finish_request(struct swrk *s, const CriuResp *resp, struct rpc_opts *r, int err)
{
	int e = send_resp(s->sk, resp);

	rpc_opts_free(r);
	/* What goes on is logged to the next request's log, or nowhere. */
	log_close();
	return err ? err : e;
}

/* DUMP, RESTORE, CHECK: options mapped, directories and log taken, then the command. */
static int handle_command(struct swrk *s, const CriuReq *req)
{
	struct rpc_opts r;
	CriuResp resp = CRIU_RESP__INIT;
	CriuDumpResp dump = CRIU_DUMP_RESP__INIT;
	CriuRestoreResp rst = CRIU_RESTORE_RESP__INIT;
	int err, dfd = -1, exit_status = 0;

	resp.type = req->type;
	err = take_request(s, req, &r, &dfd);
	if (!err && req->keep_open && req->type != CRIU_REQ_TYPE__CHECK)
		err = pr_errno(-EINVAL, "rpc: keep_open: cr serves one %s per swrk process",
			       rpc_type_name(req->type));
	if (!err) {
		pr_info("cr (criu-lite) %s: %s over criu %s's RPC, asked by pid %d", CR_VERSION, r.o.command,
			CR_CRIU_RPC_VERSION, s->peer);
		log_fields(req->opts);
		rpc_opts_log_accepted(req->opts, req->type == CRIU_REQ_TYPE__DUMP);
		s->forward = r.notify;
		s->restored = 0;
		r.o.notify = rpc_notify;
		r.o.notify_ctx = s;
		r.o.hand_fd = rpc_hand_fd;
		r.o.hand_fd_ctx = s;
		/* The commands take the directory over. */
		if (req->type == CRIU_REQ_TYPE__DUMP)
			err = cr_dump(&r.o, TAKE_FD(dfd));
		else if (req->type == CRIU_REQ_TYPE__PRE_DUMP || req->type == CRIU_REQ_TYPE__SINGLE_PRE_DUMP)
			err = cr_pre_dump(&r.o, TAKE_FD(dfd));
		else if (req->type == CRIU_REQ_TYPE__RESTORE)
			err = cr_restore(&r.o, TAKE_FD(dfd), &exit_status);
		else
			err = check_to_log();
	}
	if (dfd >= 0)
		close(dfd);

	resp.success = !err;
	if (err)
		set_failure(&resp, err);
	if (req->type == CRIU_REQ_TYPE__DUMP) {
		resp.dump = &dump;
		dump.has_restored = true;
		dump.restored = false;
	} else if (req->type == CRIU_REQ_TYPE__RESTORE) {
		resp.restore = &rst;
		rst.pid = err || !s->restored ? -1 : s->restored;
	}
	if (err)
		pr_info("rpc: %s failed: %s", rpc_type_name(req->type), resp.cr_errmsg);
	return finish_request(s, &resp, &r, err);
}

/*
 * PAGE_SERVER, PAGE_SERVER_CHLD: a child of this process serves the
 * page server (it outlives the request and this process; PAGE_SERVER's
 * in a session of its own, as criu's daemon); the reply, once it
 * listens, names its pid and port. The child ends with the dump's
 * connection: exit status 0 when every image came whole.
 */
static int handle_page_server(struct swrk *s, const CriuReq *req)
{
	CriuResp resp = CRIU_RESP__INIT;
	CriuPageServerInfo ps = CRIU_PAGE_SERVER_INFO__INIT;
	struct rpc_opts r;
	char ready = 1;
	int err, dfd = -1, p[2] = { -1, -1 };
	pid_t pid = -1;

	resp.type = req->type;
	err = take_request(s, req, &r, &dfd);
	if (!err && pipe2(p, O_CLOEXEC))
		err = pr_errno(-errno, "rpc: %s: pipe", rpc_type_name(req->type));
	if (!err) {
		r.o.has_status_fd = true;
		r.o.status_fd = p[1];
		pid = fork();
		if (pid < 0)
			err = pr_errno(-errno, "rpc: %s: fork", rpc_type_name(req->type));
	}
	if (pid == 0) {
		/* The caller's socket is not the server's: the caller sees the swrk's end go. */
		close(s->sk);
		close(p[0]);
		if (req->type == CRIU_REQ_TYPE__PAGE_SERVER)
			setsid();
		err = cr_page_server(&r.o, TAKE_FD(dfd));
		log_close();
		_exit(err ? 1 : 0);
	}
	if (p[1] >= 0)
		close(p[1]);
	if (dfd >= 0)
		close(dfd);
	/* Its '\0' once it listens; nothing (EOF): it failed, and logged why. */
	if (!err && (read(p[0], &ready, 1) != 1 || ready)) {
		waitpid(pid, NULL, 0);
		err = pr_errno(-ECONNREFUSED, "rpc: %s: the page server did not start (see the log)",
			       rpc_type_name(req->type));
	}
	if (p[0] >= 0)
		close(p[0]);
	resp.success = !err;
	if (err) {
		set_failure(&resp, err);
	} else {
		resp.ps = &ps;
		ps.has_pid = ps.has_port = true;
		ps.pid = pid;
		ps.port = r.o.ps.port;
		pr_info("rpc: page server pid %d on port %d", pid, ps.port);
	}
	return finish_request(s, &resp, &r, err);
}

static int handle_version(struct swrk *s, const CriuReq *req)
{
	CriuResp resp = CRIU_RESP__INIT;
	CriuVersion v = CRIU_VERSION__INIT;

	resp.type = req->type;
	resp.success = true;
	resp.version = &v;
	v.major_number = CR_CRIU_RPC_MAJOR;
	v.minor_number = CR_CRIU_RPC_MINOR;
	v.name = VERSION_NAME;
	return send_resp(s->sk, &resp);
}

/*
 * Honest answers: memory tracking as this kernel allows it (mem-track.h),
 * lazy pages where this kernel's userfaultfd allows (lazy.h), and no
 * pidfds kept between pre-dumps (pidfd_store_sk: cr's tracker keeps
 * pidfds of its own). Every one is answered, asked for or not, as criu does.
 */
static int handle_features(struct swrk *s, const CriuReq *req)
{
	CriuResp resp = CRIU_RESP__INIT;
	CriuFeatures f = CRIU_FEATURES__INIT;

	resp.type = req->type;
	resp.success = true;
	resp.features = &f;
	f.has_mem_track = f.has_lazy_pages = f.has_pidfd_store = true;
	f.mem_track = mem_track_method() != MEM_TRACK_NONE;
	f.pidfd_store = false;
	f.lazy_pages = lazy_supported();
	return send_resp(s->sk, &resp);
}

static int handle_unsupported(struct swrk *s, const CriuReq *req)
{
	CriuResp resp = CRIU_RESP__INIT;
	struct rpc_opts r;
	char why[512];
	int err, dfd = -1;

	log_clear_first_error();
	/* The refusal goes to the log the options name, when they name one (a check's takes no directory). */
	if (req->opts && !rpc_map_opts(req->opts, CRIU_REQ_TYPE__CHECK, s->peer, &r, why, sizeof(why)))
		open_dirs_and_log(&r, &dfd);
	else
		r = (struct rpc_opts){ .ps_fd = -1 };
	rpc_opts_free(&r);
	if (req->type == CRIU_REQ_TYPE__NOTIFY)
		err = pr_errno(-EPROTO, "rpc: NOTIFY: an answer when no notification was sent");
	else
		err = pr_errno(-EOPNOTSUPP, "rpc: request type %s (%d): not served by cr", rpc_type_name(req->type),
			       req->type);
	resp.type = req->type;
	set_failure(&resp, err);
	send_resp(s->sk, &resp);
	log_close();
	return err;
}

/* Serves one request; *ret_more: another may follow. */
static int serve(struct swrk *s, const CriuReq *req, bool *ret_more)
{
	*ret_more = false;
	if (req->base.n_unknown_fields) {
		CriuResp resp = CRIU_RESP__INIT;
		int err;

		log_clear_first_error();
		err = pr_errno(-EOPNOTSUPP, "rpc: field %u of criu_req: not one cr knows",
			       req->base.unknown_fields[0].tag);
		resp.type = req->type;
		set_failure(&resp, err);
		send_resp(s->sk, &resp);
		return err;
	}
	switch (req->type) {
	case CRIU_REQ_TYPE__VERSION:
		*ret_more = req->keep_open;
		return handle_version(s, req);
	case CRIU_REQ_TYPE__FEATURE_CHECK:
		*ret_more = req->keep_open;
		return handle_features(s, req);
	case CRIU_REQ_TYPE__CHECK:
		*ret_more = req->keep_open;
		return handle_command(s, req);
	/* criu's PRE_DUMP loop: more pre-dumps, then the DUMP, may follow on the socket. */
	case CRIU_REQ_TYPE__PRE_DUMP:
		*ret_more = true;
		return handle_command(s, req);
	case CRIU_REQ_TYPE__SINGLE_PRE_DUMP:
	case CRIU_REQ_TYPE__DUMP:
	case CRIU_REQ_TYPE__RESTORE:
		return handle_command(s, req);
	case CRIU_REQ_TYPE__PAGE_SERVER:
	case CRIU_REQ_TYPE__PAGE_SERVER_CHLD:
		*ret_more = req->keep_open;
		return handle_page_server(s, req);
	default:
		return handle_unsupported(s, req);
	}
}

static int open_socket(const char *fd_arg, struct swrk *s)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int type;
	char *end;
	long fd;

	errno = 0;
	fd = strtol(fd_arg ? fd_arg : "", &end, 10);
	if (!fd_arg || !*fd_arg || *end || errno || fd < 0 || fd > INT_MAX)
		return pr_errno(-EINVAL, "swrk: '%s' is not an fd number", fd_arg ? fd_arg : "");
	len = sizeof(type);
	if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &len))
		return pr_errno(-errno, "swrk: fd %ld is not a socket", fd);
	if (type != SOCK_SEQPACKET)
		return pr_errno(-EPROTOTYPE, "swrk: fd %ld is a socket, but not SOCK_SEQPACKET", fd);
	len = sizeof(cred);
	/* A socketpair's peer credentials are those of the process that made it: the caller. */
	if (getsockopt((int)fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return pr_errno(-errno, "swrk: SO_PEERCRED of fd %ld", fd);
	s->sk = (int)fd;
	s->peer = cred.pid;
	return 0;
}

int cr_swrk(const char *fd_arg)
{
	struct swrk s;
	bool more = true;
	int err, ret = 0;

	err = open_socket(fd_arg, &s);
	if (err)
		return err;
	while (more) {
		CriuReq *req = NULL;

		err = recv_req(s.sk, &req);
		if (err <= 0) {
			/* the caller closed its end: done */
			if (err < 0)
				ret = err;
			break;
		}
		err = serve(&s, req, &more);
		if (err && !ret)
			ret = err;
		criu_req__free_unpacked(req, NULL);
	}
	close(s.sk);
	return ret;
}
