/*
 * rpc-client: speaks criu's RPC to `cr swrk FD` the way libcriu does (a
 * SOCK_SEQPACKET socketpair, one protobuf message per packet, the
 * image directory passed as an fd of ours) and checks every answer.
 *
 * usage: rpc-client [CR]   (default: $CR, else build/cr)
 *
 * Cases: VERSION, FEATURE_CHECK and CHECK on one socket (keep_open);
 * DUMP of a small counting process with notifications; RESTORE of it as
 * our child (rst_sibling), its pid from post-restore and the reply, the
 * counter going on; DUMP of a pid that does not exist (success false,
 * cr_errno, cr_errmsg); PRE_DUMP, then DUMP with parent_img on the same
 * session (criu's loop); an option cr refuses (leave_stopped); a
 * notification answered with a failure (the dump fails,
 * the process runs on); join_ns: a process in a uts namespace of its own
 * restored into another existing one, whose hostname stays; join_ns of
 * a pid namespace refused, and of an ipc namespace when the dumped one held
 * a SysV segment; orphan_pts_master: a process whose terminal's
 * master we hold, dumped and restored, its new master received with the
 * orphan-pts-master notification (SCM_RIGHTS), and the process answers
 * a line written to it; the same restore refused without notifications;
 * an external pid namespace (runc's pid[INODE]:extRootPidNS) refused at
 * dump, the process running on; PAGE_SERVER and PAGE_SERVER_CHLD with a
 * DUMP to each, then a DUMP with lazy_pages serving its pages to `cr
 * lazy-pages --page-server` for a RESTORE with lazy_pages.
 * One line per case, "ok NAME" or "FAIL NAME:
 * why", then exactly "rpc: N passed, N failed"; exit status 1 if a case
 * failed.
 */
#include <ftw.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rpc.pb-c.h"

#define MAX_PACKET	(64 * 1024)
#define MAX_NOTIFY	16
#define WAIT_MS		10000

static const char *cr_path;

/* What `cr check --feature NAME` says: the answer FEATURE_CHECK must give. */
static bool check_feature(const char *name)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "'%s' check --feature %s >/dev/null 2>&1", cr_path, name);
	return system(cmd) == 0;
}

static char tmp_dir[64];
static unsigned npass, nfail;
static char why[512];

__attribute__((format(printf, 1, 2)))
static bool fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return false;
}

static void report(const char *name, bool ok)
{
	if (ok) {
		printf("ok %s\n", name);
		npass++;
	} else {
		printf("FAIL %s: %s\n", name, why);
		nfail++;
	}
	fflush(stdout);
	why[0] = '\0';
}

/* ---- a session: cr swrk on one end of a socketpair ------------------------ */

struct session {
	int sk;
	pid_t cr;
	char notified[MAX_NOTIFY][32];	/* the notifications, in order */
	int notify_pid[MAX_NOTIFY];
	unsigned nr_notified;
	const char *fail_at;		/* answer this notification with a failure */
	int got_fd;			/* the fd a notification carried (orphan-pts-master), -1 */
};

static bool session_start(struct session *s)
{
	int sv[2];
	char fd[16];

	memset(s, 0, sizeof(*s));
	s->got_fd = -1;
	/* libcriu's: the server's end is inherited by exec, ours is not */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
		return fail("socketpair: %s", strerror(errno));
	fcntl(sv[0], F_SETFD, FD_CLOEXEC);
	s->cr = fork();
	if (s->cr < 0)
		return fail("fork: %s", strerror(errno));
	if (s->cr == 0) {
		snprintf(fd, sizeof(fd), "%d", sv[1]);
		execl(cr_path, cr_path, "swrk", fd, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	s->sk = sv[0];
	return true;
}

/* Closes our end, waits for cr; true if it exited 0. */
static bool session_end(struct session *s, int *ret_status)
{
	int status = -1;

	close(s->sk);
	if (waitpid(s->cr, &status, 0) != s->cr)
		return fail("waitpid cr: %s", strerror(errno));
	if (ret_status)
		*ret_status = status;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static bool send_req(struct session *s, const CriuReq *req)
{
	size_t len = criu_req__get_packed_size(req);
	uint8_t *buf = malloc(len ? len : 1);
	bool ok;

	if (!buf)
		return fail("out of memory");
	criu_req__pack(req, buf);
	ok = send(s->sk, buf, len, MSG_NOSIGNAL) == (ssize_t)len;
	free(buf);
	return ok || fail("sending the request: %s", strerror(errno));
}

static CriuResp *recv_resp(struct session *s)
{
	static uint8_t buf[MAX_PACKET];
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t n = recvmsg(s->sk, &mh, MSG_CMSG_CLOEXEC);
	struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
	CriuResp *r;

	/* as runc: the fd of a notification comes as SCM_RIGHTS */
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
		if (s->got_fd >= 0)
			close(s->got_fd);
		memcpy(&s->got_fd, CMSG_DATA(c), sizeof(int));
	}

	if (n <= 0) {
		fail(n ? "recv: %s" : "cr closed the socket without an answer", strerror(errno));
		return NULL;
	}
	r = criu_resp__unpack(NULL, n, buf);
	if (!r)
		fail("an answer of %zd bytes is not a criu_resp", n);
	return r;
}

/*
 * Sends @req and answers notifications until the final reply, which it
 * returns (NULL: why says what went wrong).
 */
static CriuResp *call(struct session *s, const CriuReq *req)
{
	CriuResp *r;

	if (!send_req(s, req))
		return NULL;
	while ((r = recv_resp(s)) && r->type == CRIU_REQ_TYPE__NOTIFY && r->success) {
		CriuReq ans = CRIU_REQ__INIT;
		const char *script = r->notify && r->notify->script ? r->notify->script : "?";

		if (s->nr_notified < MAX_NOTIFY) {
			snprintf(s->notified[s->nr_notified], sizeof(s->notified[0]), "%s", script);
			s->notify_pid[s->nr_notified++] = r->notify && r->notify->has_pid ? r->notify->pid : 0;
		}
		ans.type = CRIU_REQ_TYPE__NOTIFY;
		ans.has_notify_success = true;
		ans.notify_success = !(s->fail_at && !strcmp(s->fail_at, script));
		criu_resp__free_unpacked(r, NULL);
		if (!send_req(s, &ans))
			return NULL;
	}
	return r;
}

/* The notifications of @s joined by spaces. */
static const char *notified(const struct session *s)
{
	static char out[MAX_NOTIFY * 32];

	out[0] = '\0';
	for (unsigned i = 0; i < s->nr_notified; i++) {
		strcat(out, i ? " " : "");
		strcat(out, s->notified[i]);
	}
	return out;
}

static int notify_pid(const struct session *s, const char *script)
{
	for (unsigned i = 0; i < s->nr_notified; i++)
		if (!strcmp(s->notified[i], script))
			return s->notify_pid[i];
	return -1;
}

/* ---- the process we dump ------------------------------------------------- */

static char counter_path[96];

static __attribute__((noreturn)) void start_counter_here(void);

/* Counts in a file of the temp dir, 100 times a second; no fd kept open but stdio (/dev/null). */
static pid_t start_counter(void)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	start_counter_here();
}

/* The counting loop of start_counter(), in the calling process; never returns. */
static __attribute__((noreturn)) void start_counter_here(void)
{
	int null = open("/dev/null", O_RDWR);

	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	setsid();
	for (unsigned long n = 1;; n++) {
		char buf[32];
		int fd = open(counter_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int len = snprintf(buf, sizeof(buf), "%lu\n", n);

		if (fd >= 0) {
			(void)!write(fd, buf, len);
			close(fd);
		}
		usleep(10000);
	}
}

static long read_counter(void)
{
	FILE *f = fopen(counter_path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static void msleep(unsigned ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The counter goes past @after within a few seconds. */
static bool counts_past(long after)
{
	for (unsigned waited = 0; waited < WAIT_MS; waited += 10) {
		if (read_counter() > after)
			return true;
		msleep(10);
	}
	return false;
}

/* Waits for our child @pid to end (killed by the dump); true if it did. */
static bool reaped(pid_t pid)
{
	for (unsigned waited = 0; waited < WAIT_MS; waited += 10) {
		pid_t r = waitpid(pid, NULL, WNOHANG);

		if (r == pid)
			return true;
		if (r < 0)
			return false;
		msleep(10);
	}
	return false;
}

static void opts_for(CriuOpts *o, int dir_fd, const char *log)
{
	criu_opts__init(o);
	o->has_images_dir_fd = true;
	o->images_dir_fd = dir_fd;
	o->has_log_level = true;
	o->log_level = 4;
	o->log_file = (char *)log;
}

/* A request of @type for pid @pid, with opts_for()'s options in @o. */
static void req_for(CriuReq *req, CriuReqType type, CriuOpts *o, int dir_fd, const char *log, pid_t pid)
{
	criu_req__init(req);
	opts_for(o, dir_fd, log);
	o->has_pid = true;
	o->pid = pid;
	req->type = type;
	req->opts = o;
}

/* ---- cases ----------------------------------------------------------------- */

static bool case_info(int dir_fd)
{
	struct session s;
	CriuReq req = CRIU_REQ__INIT;
	CriuFeatures ask = CRIU_FEATURES__INIT;
	CriuOpts o;
	CriuResp *r;
	bool ok = true;

	if (!session_start(&s))
		return false;
	req.type = CRIU_REQ_TYPE__VERSION;
	req.has_keep_open = req.keep_open = true;
	r = call(&s, &req);
	if (!r)
		ok = false;
	else if (!r->success || r->type != CRIU_REQ_TYPE__VERSION || !r->version)
		ok = fail("VERSION: success %d type %d", r->success, r->type);
	else if (r->version->major_number * 10000 + r->version->minor_number * 100 < 31100 || r->version->gitid)
		ok = fail("VERSION: %d.%d, podman needs 3.11 at least", r->version->major_number,
			  r->version->minor_number);
	if (r)
		criu_resp__free_unpacked(r, NULL);
	if (!ok)
		goto out;

	/* as runc's pre-dump check asks */
	req.type = CRIU_REQ_TYPE__FEATURE_CHECK;
	ask.has_mem_track = ask.mem_track = true;
	ask.has_lazy_pages = ask.lazy_pages = true;
	ask.has_pidfd_store = ask.pidfd_store = true;
	req.features = &ask;
	r = call(&s, &req);
	req.features = NULL;
	if (!r)
		ok = false;
	else if (!r->success || !r->features)
		ok = fail("FEATURE_CHECK: success %d, features %p", r->success, (void *)r->features);
	else if (!r->features->has_mem_track || r->features->mem_track != check_feature("mem_dirty_track") ||
		 !r->features->has_lazy_pages || !r->features->has_pidfd_store || r->features->pidfd_store)
		ok = fail("FEATURE_CHECK: mem_track %d (cr check --feature mem_dirty_track says %d); cr has no "
			  "pidfd store", r->features->mem_track, check_feature("mem_dirty_track"));
	/* Lazy pages: what `cr check --feature lazy_pages` finds on this kernel. */
	else if (r->features->lazy_pages != check_feature("lazy_pages"))
		ok = fail("FEATURE_CHECK: lazy_pages %d, but cr check --feature lazy_pages says otherwise",
			  r->features->lazy_pages);
	if (r)
		criu_resp__free_unpacked(r, NULL);
	if (!ok)
		goto out;

	/* its findings go to the log named */
	req.type = CRIU_REQ_TYPE__CHECK;
	req.keep_open = false;
	opts_for(&o, dir_fd, "check.log");
	req.opts = &o;
	r = call(&s, &req);
	if (!r)
		ok = false;
	else if (r->type != CRIU_REQ_TYPE__CHECK || !r->success)
		ok = fail("CHECK: success %d (%s)", r->success, r->cr_errmsg ? r->cr_errmsg : "no message");
	if (r)
		criu_resp__free_unpacked(r, NULL);
out:
	if (!session_end(&s, NULL) && ok)
		ok = fail("cr swrk did not exit 0 after VERSION, FEATURE_CHECK and CHECK");
	return ok;
}

/* One request on its own session; the reply (NULL: why says it). */
static CriuResp *one_call(struct session *s, const CriuReq *req, int *ret_status)
{
	CriuResp *r;

	if (!session_start(s))
		return NULL;
	r = call(s, req);
	session_end(s, ret_status);
	return r;
}

static pid_t dumped_pid;
static long dumped_at;

static bool case_dump(int dir_fd)
{
	struct session s;
	CriuReq req = CRIU_REQ__INIT;
	CriuOpts o;
	CriuResp *r;
	bool ok = true;
	int status;

	dumped_pid = start_counter();
	if (dumped_pid < 0)
		return fail("fork: %s", strerror(errno));
	if (!counts_past(5))
		return fail("the process to dump does not count");
	req_for(&req, CRIU_REQ_TYPE__DUMP, &o, dir_fd, "dump.log", dumped_pid);
	o.has_notify_scripts = o.notify_scripts = true;
	dumped_at = read_counter();
	r = one_call(&s, &req, &status);
	if (!r)
		return false;
	if (r->type != CRIU_REQ_TYPE__DUMP || !r->success)
		ok = fail("DUMP: success %d: %s", r->success, r->cr_errmsg ? r->cr_errmsg : "no message");
	else if (strcmp(notified(&s), "pre-dump network-lock post-dump"))
		ok = fail("DUMP notified '%s', not 'pre-dump network-lock post-dump'", notified(&s));
	else if (!WIFEXITED(status) || WEXITSTATUS(status))
		ok = fail("cr swrk exited with status 0x%x after a dump that succeeded", status);
	else if (!reaped(dumped_pid))
		ok = fail("pid %d was not killed by the dump", dumped_pid);
	criu_resp__free_unpacked(r, NULL);
	return ok;
}

static bool case_restore(int dir_fd)
{
	struct session s;
	CriuReq req = CRIU_REQ__INIT;
	CriuOpts o;
	CriuResp *r;
	bool ok = true;
	char path[64];
	int ppid = 0;
	FILE *f;

	opts_for(&o, dir_fd, "restore.log");
	o.has_notify_scripts = o.notify_scripts = true;
	o.has_rst_sibling = o.rst_sibling = true;
	req.type = CRIU_REQ_TYPE__RESTORE;
	req.opts = &o;
	r = one_call(&s, &req, NULL);
	if (!r)
		return false;
	if (r->type != CRIU_REQ_TYPE__RESTORE || !r->success || !r->restore)
		ok = fail("RESTORE: success %d: %s", r->success, r->cr_errmsg ? r->cr_errmsg : "no message");
	else if (r->restore->pid != dumped_pid)
		ok = fail("RESTORE says pid %d, %d was dumped", r->restore->pid, dumped_pid);
	else if (notify_pid(&s, "post-restore") != dumped_pid)
		ok = fail("post-restore came with pid %d, not %d (notified: %s)", notify_pid(&s, "post-restore"),
			  dumped_pid, notified(&s));
	else if (strcmp(notified(&s), "pre-restore post-restore network-unlock pre-resume post-resume"))
		ok = fail("RESTORE notified '%s'", notified(&s));
	criu_resp__free_unpacked(r, NULL);
	if (!ok)
		return false;

	snprintf(path, sizeof(path), "/proc/%d/stat", dumped_pid);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%*d (%*[^)]) %*c %d", &ppid) != 1)
		ok = fail("restored pid %d: no %s", dumped_pid, path);
	if (f)
		fclose(f);
	if (ok && ppid != getpid())
		ok = fail("restored pid %d has parent %d, not us (%d): rst_sibling", dumped_pid, ppid, getpid());
	if (ok && read_counter() < dumped_at)
		ok = fail("counter %ld after the restore, %ld before the dump", read_counter(), dumped_at);
	if (ok && !counts_past(read_counter()))
		ok = fail("the restored process does not count");
	kill(dumped_pid, SIGKILL);
	if (!reaped(dumped_pid) && ok)
		ok = fail("the restored pid %d is not our child to reap", dumped_pid);
	return ok;
}

/* Reply must fail with cr_errno and a cr_errmsg holding @msg. */
static bool expect_failure(const CriuResp *r, CriuReqType type, const char *msg)
{
	if (!r)
		return false;
	if (r->success)
		return fail("%s succeeded", type == CRIU_REQ_TYPE__DUMP ? "DUMP" : "request");
	if (r->type != type)
		return fail("the reply's type is %d, not %d", r->type, type);
	if (!r->has_cr_errno || !r->cr_errno)
		return fail("no cr_errno in the failure reply");
	if (!r->cr_errmsg || !strstr(r->cr_errmsg, msg))
		return fail("cr_errmsg '%s' does not say '%s'", r->cr_errmsg ? r->cr_errmsg : "", msg);
	return true;
}

/* @req in a session of its own must fail as expect_failure() says. */
static bool call_refused(const CriuReq *req, const char *msg)
{
	struct session s;
	CriuResp *r = one_call(&s, req, NULL);
	bool ok = expect_failure(r, req->type, msg);

	if (r)
		criu_resp__free_unpacked(r, NULL);
	return ok;
}

/* A DUMP of @pid with @o must be refused saying @msg, and @pid run on. */
static bool dump_refused(CriuOpts *o, pid_t pid, const char *msg)
{
	CriuReq req = CRIU_REQ__INIT;

	o->has_pid = true;
	o->pid = pid;
	req.type = CRIU_REQ_TYPE__DUMP;
	req.opts = o;
	if (!call_refused(&req, msg))
		return false;
	return kill(pid, 0) == 0 || fail("the process is gone after a refused dump");
}

static bool case_bad_pid(int dir_fd)
{
	struct session s;
	CriuReq req = CRIU_REQ__INIT;
	CriuOpts o;
	CriuResp *r;
	bool ok;

	/* Above pid_max's limit: never a process. */
	req_for(&req, CRIU_REQ_TYPE__DUMP, &o, dir_fd, "bad-pid.log", 0x3ffffff0);
	r = one_call(&s, &req, NULL);
	ok = expect_failure(r, CRIU_REQ_TYPE__DUMP, "no such process");
	if (ok && r->cr_errno != ESRCH)
		ok = fail("cr_errno %d, not ESRCH", r->cr_errno);
	if (r)
		criu_resp__free_unpacked(r, NULL);
	return ok;
}

/*
 * criu's PRE_DUMP loop, as libcriu and go-criu drive it: PRE_DUMP into
 * one directory (the process counts on), then on the same session the
 * DUMP into another with parent_img and track_mem; the image links the
 * pre-dump as its parent. The restore of such images is zdtm's (predump).
 */
static bool case_pre_dump(int pre_fd, int dump_fd)
{
	struct session s;
	CriuReq req = CRIU_REQ__INIT;
	CriuOpts o;
	CriuResp *r;
	char link[64] = "";
	pid_t pid = start_counter();
	bool ok = true;

	if (pid < 0)
		return fail("fork: %s", strerror(errno));
	if (!counts_past(read_counter()) || !session_start(&s))
		ok = fail("the process to pre-dump does not count, or no cr swrk");
	if (ok) {
		req_for(&req, CRIU_REQ_TYPE__PRE_DUMP, &o, pre_fd, "pre-dump.log", pid);
		r = call(&s, &req);
		if (!r || r->type != CRIU_REQ_TYPE__PRE_DUMP || !r->success)
			ok = fail("PRE_DUMP: %s", r && r->cr_errmsg ? r->cr_errmsg : "no success");
		if (r)
			criu_resp__free_unpacked(r, NULL);
	}
	if (ok && !counts_past(read_counter()))
		ok = fail("the process does not count on after PRE_DUMP");
	if (ok) {
		req_for(&req, CRIU_REQ_TYPE__DUMP, &o, dump_fd, "dump.log", pid);
		o.parent_img = (char *)"../pre";
		o.has_track_mem = o.track_mem = true;
		r = call(&s, &req);
		if (!r || r->type != CRIU_REQ_TYPE__DUMP || !r->success)
			ok = fail("DUMP after PRE_DUMP: %s", r && r->cr_errmsg ? r->cr_errmsg : "no success");
		if (r)
			criu_resp__free_unpacked(r, NULL);
	}
	if (ok && (readlinkat(dump_fd, "parent", link, sizeof(link) - 1) < 0 || strcmp(link, "../pre")))
		ok = fail("the dump links '%s' as its parent, not ../pre", link);
	session_end(&s, NULL);
	if (ok && !reaped(pid))
		ok = fail("pid %d was not killed by the dump", pid);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, WNOHANG);
	return ok;
}

static bool case_refused_option(int dir_fd)
{
	CriuOpts o;
	pid_t pid = start_counter();
	bool ok;

	if (pid < 0)
		return fail("fork: %s", strerror(errno));
	opts_for(&o, dir_fd, "refused.log");
	o.has_leave_stopped = o.leave_stopped = true;
	ok = dump_refused(&o, pid, "leave_stopped");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return ok;
}

/*
 * cr_compress (criu-lite's own option, field 1000): a DUMP with
 * "zstd:3" writes pages-1.img compressed (its header's type magic);
 * "lz4" is refused, the process left running.
 */
static bool case_compress(int dir_fd)
{
	struct session s;
	CriuReq req = CRIU_REQ__INIT;
	CriuOpts o;
	CriuResp *r;
	unsigned char hdr[8];
	int fd;
	pid_t pid = start_counter();
	bool ok = true;

	if (pid < 0)
		return fail("fork: %s", strerror(errno));
	opts_for(&o, dir_fd, "compress-refused.log");
	o.cr_compress = (char *)"lz4";
	ok = dump_refused(&o, pid, "cr_compress");
	if (ok && !counts_past(read_counter()))
		ok = fail("the process does not count after the refused dump");
	if (ok) {
		req_for(&req, CRIU_REQ_TYPE__DUMP, &o, dir_fd, "compress.log", pid);
		o.cr_compress = (char *)"zstd:3";
		r = one_call(&s, &req, NULL);
		if (!r || !r->success)
			ok = fail("DUMP with cr_compress: %s", r && r->cr_errmsg ? r->cr_errmsg : "no success");
		if (r)
			criu_resp__free_unpacked(r, NULL);
	}
	fd = ok ? openat(dir_fd, "pages-1.img", O_RDONLY | O_CLOEXEC) : -1;
	if (ok && (fd < 0 || pread(fd, hdr, sizeof(hdr), 0) != sizeof(hdr) ||
		   (hdr[4] | hdr[5] << 8 | hdr[6] << 16 | (unsigned)hdr[7] << 24) != 0x5a475011u))
		ok = fail("pages-1.img is not a compressed pages image");
	if (fd >= 0)
		close(fd);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return ok;
}

static bool case_notify_failure(int dir_fd)
{
	struct session s;
	CriuReq req = CRIU_REQ__INIT;
	CriuOpts o;
	CriuResp *r;
	pid_t pid = start_counter();
	bool ok;

	if (pid < 0)
		return fail("fork: %s", strerror(errno));
	if (!counts_past(2))
		return fail("the process to dump does not count");
	req_for(&req, CRIU_REQ_TYPE__DUMP, &o, dir_fd, "notify-fail.log", pid);
	o.has_notify_scripts = o.notify_scripts = true;
	if (!session_start(&s))
		return false;
	s.fail_at = "post-dump";
	r = call(&s, &req);
	session_end(&s, NULL);
	ok = expect_failure(r, CRIU_REQ_TYPE__DUMP, "post-dump");
	if (r)
		criu_resp__free_unpacked(r, NULL);
	if (ok && strcmp(notified(&s), "pre-dump network-lock post-dump network-unlock"))
		ok = fail("notified '%s' for a dump failed at post-dump", notified(&s));
	if (ok && !counts_past(read_counter()))
		ok = fail("the process does not run on after post-dump failed");
	if (ok && faccessat(dir_fd, "inventory.img", F_OK, 0) == 0)
		ok = fail("inventory.img is there after post-dump failed: it looks like a checkpoint");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return ok;
}

/*
 * A process in a namespace of its own: a uts one with hostname @name, or
 * (@name NULL) an ipc one holding a SysV segment. It counts (@count), or
 * only sleeps.
 */
static pid_t start_in_uts(const char *name, bool count)
{
	int p[2];
	pid_t pid;
	char c = 0;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		if (name ? unshare(CLONE_NEWUTS) || sethostname(name, strlen(name)) :
			   unshare(CLONE_NEWIPC) || shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600) < 0)
			_exit(1);
		(void)!write(p[1], "u", 1);
		if (count) {
			close(p[0]);
			close(p[1]);
			start_counter_here();
		}
		for (;;)
			pause();
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &c, 1) != 1) {
		close(p[0]);
		return -1;
	}
	close(p[0]);
	return pid;
}

/* The hostname of @pid's uts namespace is @name (seen from a child that entered it). */
static bool uts_hostname_is(pid_t pid, const char *name)
{
	char path[64];
	int status, fd;
	pid_t c;

	snprintf(path, sizeof(path), "/proc/%d/ns/uts", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	c = fork();
	if (c == 0) {
		char h[128] = "";

		_exit(setns(fd, CLONE_NEWUTS) || gethostname(h, sizeof(h)) || strcmp(h, name));
	}
	close(fd);
	return c > 0 && waitpid(c, &status, 0) == c && WIFEXITED(status) && !WEXITSTATUS(status);
}

static ino_t ns_ino(pid_t pid, const char *ns)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, ns);
	return stat(path, &st) ? 0 : st.st_ino;
}

/* Dumps @pid (killing it) into @dir_fd with @o's extra options set by @prep; true on success. */
static bool dump_one(int dir_fd, pid_t pid, const char *log, bool orphan)
{
	struct session s;
	CriuReq req = CRIU_REQ__INIT;
	CriuOpts o;
	CriuResp *r;
	bool ok = true;

	req_for(&req, CRIU_REQ_TYPE__DUMP, &o, dir_fd, log, pid);
	o.has_orphan_pts_master = o.orphan_pts_master = orphan;
	r = one_call(&s, &req, NULL);
	if (!r)
		return false;
	if (!r->success)
		ok = fail("DUMP: %s", r->cr_errmsg ? r->cr_errmsg : "no message");
	criu_resp__free_unpacked(r, NULL);
	return ok && (reaped(pid) || fail("pid %d was not killed by the dump", pid));
}

/* A RESTORE request into @dir_fd with one join_ns NS:FILE; the structures are the caller's. */
struct join_req {
	CriuReq req;
	CriuOpts o;
	CriuJoinNamespace jn, *jns[1];
};

static void join_req_init(struct join_req *j, int dir_fd, const char *log, const char *ns, const char *file)
{
	j->req = (CriuReq)CRIU_REQ__INIT;
	j->jn = (CriuJoinNamespace)CRIU_JOIN_NAMESPACE__INIT;
	opts_for(&j->o, dir_fd, log);
	j->o.has_rst_sibling = j->o.rst_sibling = true;
	j->jn.ns = (char *)ns;
	j->jn.ns_file = (char *)file;
	j->jns[0] = &j->jn;
	j->o.n_join_ns = 1;
	j->o.join_ns = j->jns;
	j->req.type = CRIU_REQ_TYPE__RESTORE;
	j->req.opts = &j->o;
}

/* Kills and reaps our child @pid, if any. */
static void stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

static bool case_join_ns(int dir_fd)
{
	struct session s;
	struct join_req j;
	CriuResp *r;
	char file[64];
	pid_t pid = start_in_uts("rpc-dumped", true), holder = start_in_uts("rpc-joined", false);
	bool ok = true;

	if (pid < 0 || holder < 0)
		ok = fail("starting the processes in uts namespaces of their own failed");
	if (ok && !counts_past(read_counter()))
		ok = fail("the process to dump does not count");
	if (ok)
		ok = dump_one(dir_fd, pid, "join-dump.log", false);
	if (ok) {
		snprintf(file, sizeof(file), "/proc/%d/ns/uts", holder);
		join_req_init(&j, dir_fd, "join-restore.log", "uts", file);
		r = one_call(&s, &j.req, NULL);
		if (!r)
			ok = false;
		else if (!r->success || !r->restore || r->restore->pid != pid)
			ok = fail("RESTORE with join_ns uts: %s", r->cr_errmsg ? r->cr_errmsg : "not pid as dumped");
		if (r)
			criu_resp__free_unpacked(r, NULL);
	}
	if (ok && ns_ino(pid, "uts") != ns_ino(holder, "uts"))
		ok = fail("the restored process is not in the joined uts namespace");
	if (ok && !uts_hostname_is(holder, "rpc-joined"))
		ok = fail("the joined namespace's hostname changed (the dumped one was restored into it)");
	if (ok && !counts_past(read_counter()))
		ok = fail("the restored process does not count");
	stop(pid);
	stop(holder);
	return ok;
}

/* A dumped ipc namespace with a SysV segment cannot go into an existing one. */
static bool case_join_ipc_objects(int dir_fd)
{
	struct join_req j;
	char file[64];
	pid_t pid = start_in_uts(NULL, true), holder = start_in_uts("rpc-ipc-holder", false);
	bool ok = true;

	if (pid < 0 || holder < 0)
		ok = fail("starting the processes in namespaces of their own failed");
	if (ok)
		ok = dump_one(dir_fd, pid, "join-ipc-dump.log", false);
	if (ok) {
		snprintf(file, sizeof(file), "%d", holder);	/* criu's NS:PID spelling */
		join_req_init(&j, dir_fd, "join-ipc-restore.log", "ipc", file);
		ok = call_refused(&j.req, "held 1 SysV objects or message queues");
	}
	if (ok && kill(pid, 0) == 0)
		ok = fail("pid %d exists after a refused restore", pid);
	stop(holder);
	return ok;
}

static bool case_join_ns_refused(int dir_fd)
{
	struct join_req j;

	/* the images of case_join_ns: refused before anything is read */
	join_req_init(&j, dir_fd, "join-pid.log", "pid", "/proc/1/ns/pid");
	return call_refused(&j.req, "joins existing net, uts and ipc namespaces only");
}

/* A counter that is pid 1 of a pid namespace of its own; *ret_init its pid. Returns the forker (reaps it). */
static pid_t start_pidns_init(pid_t *ret_init)
{
	int p[2];
	pid_t forker, init = -1;

	if (pipe(p))
		return -1;
	forker = fork();
	if (forker == 0) {
		pid_t c;

		if (unshare(CLONE_NEWPID))
			_exit(1);
		c = fork();
		if (c == 0) {
			close(p[0]);
			close(p[1]);
			start_counter_here();
		}
		(void)!write(p[1], &c, sizeof(c));
		waitpid(c, NULL, 0);
		_exit(0);
	}
	close(p[1]);
	if (forker < 0 || read(p[0], &init, sizeof(init)) != sizeof(init))
		init = -1;
	close(p[0]);
	*ret_init = init;
	return forker;
}

/* runc's external pid namespace: refused at dump, the process runs on. */
static bool case_external_pidns(int dir_fd)
{
	CriuOpts o;
	char ext[64], *exts[] = { ext };
	pid_t init, forker = start_pidns_init(&init);
	bool ok = true;

	if (forker < 0 || init <= 0)
		return fail("starting a process in a pid namespace of its own failed");
	snprintf(ext, sizeof(ext), "pid[%lu]:extRootPidNS", (unsigned long)ns_ino(init, "pid"));
	opts_for(&o, dir_fd, "ext-pid.log");
	o.n_external = 1;
	o.external = exts;
	ok = dump_refused(&o, init, "cannot restore a tree into an existing pid namespace");
	kill(init, SIGKILL);
	waitpid(forker, NULL, 0);
	return ok;
}

/* A session leader whose controlling terminal is the slave of @master (ours): answers each line. */
static pid_t start_on_pty(int master)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	int slave = -1;
	char line[256];
	size_t n = 0;

	setsid();
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (slave < 0 || ioctl(slave, TIOCSCTTY, 0))
		_exit(1);
	dup2(slave, 0);
	dup2(slave, 1);
	dup2(slave, 2);
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	for (;;) {
		ssize_t r = read(0, line + n, sizeof(line) - n - 1);

		if (r <= 0)
			_exit(r < 0);
		n += r;
		if (memchr(line, '\n', n)) {
			(void)!write(1, "got:", 4);
			(void)!write(1, line, n);
			n = 0;
		}
	}
}

/* Reads @master until @want shows up (true) or the wait is over. */
static bool master_says(int master, const char *want)
{
	char buf[1024];
	size_t n = 0;

	fcntl(master, F_SETFL, O_NONBLOCK);
	for (unsigned waited = 0; waited < WAIT_MS; waited += 10) {
		ssize_t r = read(master, buf + n, sizeof(buf) - n - 1);

		if (r > 0) {
			n += r;
			buf[n] = '\0';
			if (strstr(buf, want))
				return true;
			if (n > sizeof(buf) / 2)
				n = 0;
		}
		msleep(10);
	}
	return false;
}

static CriuResp *restore_orphan(int dir_fd, struct session *s, bool notify, const char *log)
{
	CriuReq req = CRIU_REQ__INIT;
	CriuOpts o;
	CriuResp *r;

	opts_for(&o, dir_fd, log);
	o.has_rst_sibling = o.rst_sibling = true;
	o.has_orphan_pts_master = o.orphan_pts_master = true;
	o.has_notify_scripts = o.notify_scripts = notify;
	req.type = CRIU_REQ_TYPE__RESTORE;
	req.opts = &o;
	if (!session_start(s))
		return NULL;
	r = call(s, &req);
	session_end(s, NULL);
	return r;
}

static bool case_orphan_pts(int dir_fd)
{
	struct session s;
	CriuResp *r;
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	pid_t pid = -1;
	bool ok = true;

	if (master < 0 || unlockpt(master))
		return fail("posix_openpt: %s", strerror(errno));
	pid = start_on_pty(master);
	if (pid < 0 || write(master, "one\n", 4) != 4 || !master_says(master, "got:one"))
		ok = fail("the process on our pty does not answer");
	if (ok)
		ok = dump_one(dir_fd, pid, "orphan-dump.log", true);
	close(master);

	/* without notifications nobody can be given the new master */
	if (ok) {
		r = restore_orphan(dir_fd, &s, false, "orphan-nonotify.log");
		ok = expect_failure(r, CRIU_REQ_TYPE__RESTORE, "notify_scripts");
		if (r)
			criu_resp__free_unpacked(r, NULL);
		if (ok && kill(pid, 0) == 0)
			ok = fail("pid %d exists after a refused restore", pid);
		if (s.got_fd >= 0)
			close(s.got_fd);
	}
	if (ok) {
		r = restore_orphan(dir_fd, &s, true, "orphan-restore.log");
		if (!r)
			ok = false;
		else if (!r->success || !r->restore || r->restore->pid != pid)
			ok = fail("RESTORE with orphan_pts_master: %s", r->cr_errmsg ? r->cr_errmsg : "not pid as dumped");
		else if (!strstr(notified(&s), "orphan-pts-master"))
			ok = fail("no orphan-pts-master notification (notified: %s)", notified(&s));
		else if (s.got_fd < 0)
			ok = fail("the orphan-pts-master notification carried no fd");
		if (r)
			criu_resp__free_unpacked(r, NULL);
	}
	if (ok && (write(s.got_fd, "two\n", 4) != 4 || !master_says(s.got_fd, "got:two")))
		ok = fail("the restored process does not answer on the new master");
	if (s.got_fd >= 0)
		close(s.got_fd);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return ok;
}

/* ---- the page server ------------------------------------------------------ */

#define PS_PORT		27028

/* A TCP connection to 127.0.0.1:@port, or -1. */
static int connect_local(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int sk = socket(AF_INET, SOCK_STREAM, 0);

	if (sk >= 0 && connect(sk, (struct sockaddr *)&a, sizeof(a))) {
		close(sk);
		sk = -1;
	}
	return sk;
}

/*
 * @type (PAGE_SERVER or PAGE_SERVER_CHLD), then a DUMP that sends its
 * pages there, by address and port or (@by_fd) over a connection of
 * ours (ps.fd); in the caller's net namespace.
 */
static bool page_server_and_dump(CriuReqType type, bool by_fd, int ps_dir, int dump_dir)
{
	struct session s;
	CriuReq req = CRIU_REQ__INIT;
	CriuOpts o;
	CriuPageServerInfo ps = CRIU_PAGE_SERVER_INFO__INIT;
	CriuResp *r;
	bool ok = true;
	int sk = -1;
	pid_t pid;

	ps.address = "127.0.0.1";
	ps.has_port = true;
	ps.port = PS_PORT;
	opts_for(&o, ps_dir, "ps.log");
	o.ps = &ps;
	req.type = type;
	req.opts = &o;
	r = one_call(&s, &req, NULL);
	if (!r)
		return false;
	if (!r->success || !r->ps || !r->ps->has_pid || r->ps->pid <= 0 || r->ps->port != PS_PORT)
		ok = fail("PAGE_SERVER: success %d, pid %d, port %d: %s", r->success, r->ps ? r->ps->pid : 0,
			  r->ps ? r->ps->port : 0, r->cr_errmsg ? r->cr_errmsg : "");
	criu_resp__free_unpacked(r, NULL);
	if (!ok)
		return false;

	if (by_fd) {
		sk = connect_local(PS_PORT);
		if (sk < 0)
			return fail("connecting to the page server: %s", strerror(errno));
		ps = (CriuPageServerInfo)CRIU_PAGE_SERVER_INFO__INIT;
		ps.has_fd = true;
		ps.fd = sk;
	}
	pid = start_counter();
	if (pid < 0 || !counts_past(5))
		return fail("the process to dump does not count");
	req_for(&req, CRIU_REQ_TYPE__DUMP, &o, dump_dir, "dump.log", pid);
	o.ps = &ps;
	r = one_call(&s, &req, NULL);
	if (!r)
		return false;
	if (!r->success)
		ok = fail("DUMP to the page server: %s", r->cr_errmsg ? r->cr_errmsg : "no message");
	else if (faccessat(ps_dir, "pages-1.img", F_OK, 0))
		ok = fail("no pages-1.img in the page server's directory");
	else if (!faccessat(dump_dir, "pages-1.img", F_OK, 0))
		ok = fail("pages-1.img in the dump's own directory");
	else if (!reaped(pid))
		ok = fail("pid %d was not killed by the dump", pid);
	criu_resp__free_unpacked(r, NULL);
	kill(pid, SIGKILL);
	if (sk >= 0)
		close(sk);
	return ok;
}

#define LAZY_PORT	(PS_PORT + 1)

/* `cr lazy-pages --page-server` from the lazy dump on LAZY_PORT into tmp_dir/@dst; ready (its --status-fd). */
static pid_t start_lazy_pages(const char *dst)
{
	char dir[160], port[16], fd[16], c;
	int p[2];
	pid_t pid;

	snprintf(dir, sizeof(dir), "%s/%s", tmp_dir, dst);
	snprintf(port, sizeof(port), "%d", LAZY_PORT);
	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		snprintf(fd, sizeof(fd), "%d", p[1]);
		execl(cr_path, cr_path, "lazy-pages", "-D", dir, "-o", "lazy.log", "-v4", "--page-server", "--address",
		      "127.0.0.1", "--port", port, "--status-fd", fd, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	if (pid > 0 && read(p[0], &c, 1) != 1) {
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(p[0]);
	return pid;
}

/*
 * A DUMP with lazy_pages (criu's lazy migration): it serves the pages on
 * ps's port; once its images are there, they are copied (all but the
 * pages: none is there), `cr lazy-pages --page-server` gets ready, and a
 * RESTORE with lazy_pages brings the process back from them; the DUMP
 * answers once every page is in.
 */
static bool lazy_dump_and_restore(int src_dir, int dst_dir)
{
	struct session s, rs;
	CriuReq req = CRIU_REQ__INIT;
	CriuOpts o;
	CriuPageServerInfo ps = CRIU_PAGE_SERVER_INFO__INIT;
	CriuResp *r = NULL;
	char cmd[400];
	bool ok = true;
	pid_t pid = start_counter(), lazy = -1;
	int status;

	if (pid < 0 || !counts_past(5))
		return fail("the process to dump lazily does not count");
	ps.address = "127.0.0.1";
	ps.has_port = true;
	ps.port = LAZY_PORT;
	req_for(&req, CRIU_REQ_TYPE__DUMP, &o, src_dir, "dump.log", pid);
	o.has_lazy_pages = o.lazy_pages = true;
	o.ps = &ps;
	if (!session_start(&s) || !send_req(&s, &req))
		ok = false;
	for (unsigned waited = 0; ok && faccessat(src_dir, "inventory.img", F_OK, 0); waited += 10) {
		if (waited >= WAIT_MS)
			ok = fail("DUMP with lazy_pages: no inventory.img after %u ms", waited);
		msleep(10);
	}
	if (ok && !faccessat(src_dir, "pages-1.img", F_OK, 0))
		ok = fail("DUMP with lazy_pages left pages-1.img in its directory");
	snprintf(cmd, sizeof(cmd), "cp %s/lz-src/*.img %s/lz-dst/", tmp_dir, tmp_dir);
	if (ok && system(cmd))
		ok = fail("copying the images");
	if (ok && (lazy = start_lazy_pages("lz-dst")) < 0)
		ok = fail("cr lazy-pages --page-server did not get ready (see lz-dst/lazy.log)");
	/* the dump killed it when lazy-pages started: its pid is free */
	if (ok && !reaped(pid))
		ok = fail("pid %d was not killed by the lazy dump", pid);
	if (ok) {
		req_for(&req, CRIU_REQ_TYPE__RESTORE, &o, dst_dir, "restore.log", 0);
		o.has_pid = false;
		o.has_lazy_pages = o.lazy_pages = true;
		o.has_rst_sibling = o.rst_sibling = true;
		r = one_call(&rs, &req, NULL);
		if (!r)
			ok = false;
		else if (!r->success || !r->restore || r->restore->pid != pid)
			ok = fail("RESTORE with lazy_pages: %s", r->cr_errmsg ? r->cr_errmsg : "not pid as dumped");
		if (r)
			criu_resp__free_unpacked(r, NULL);
	}
	if (ok && !counts_past(read_counter()))
		ok = fail("the process restored lazily does not count");
	r = ok ? recv_resp(&s) : NULL;
	if (ok && !r)
		ok = false;
	else if (ok && !r->success)
		ok = fail("DUMP with lazy_pages: %s", r->cr_errmsg ? r->cr_errmsg : "no message");
	if (r)
		criu_resp__free_unpacked(r, NULL);
	if (s.cr > 0)
		session_end(&s, NULL);
	if (lazy > 0 && (waitpid(lazy, &status, 0) != lazy || !WIFEXITED(status) || WEXITSTATUS(status)) && ok)
		ok = fail("cr lazy-pages --page-server did not exit 0");
	stop(pid);
	return ok;
}

/* Both request types, by address and by fd, one after the other: each server serves one dump. */
static bool page_server_cases(int ps_dir, int dump_dir, int ps_dir2, int dump_dir2, int lz_src, int lz_dst)
{
	if (unshare(CLONE_NEWNET) || system("ip link set lo up"))
		return fail("a net namespace with lo up: %s", strerror(errno));
	return page_server_and_dump(CRIU_REQ_TYPE__PAGE_SERVER, false, ps_dir, dump_dir) &&
	       page_server_and_dump(CRIU_REQ_TYPE__PAGE_SERVER_CHLD, true, ps_dir2, dump_dir2) &&
	       lazy_dump_and_restore(lz_src, lz_dst);
}

/* In a child, which leaves the net namespace behind with it. */
static bool case_page_server(int ps_dir, int dump_dir, int ps_dir2, int dump_dir2, int lz_src, int lz_dst)
{
	int p[2], status = 0;
	ssize_t n;
	pid_t child;

	if (pipe(p))
		return fail("pipe: %s", strerror(errno));
	child = fork();
	if (child == 0) {
		bool ok = page_server_cases(ps_dir, dump_dir, ps_dir2, dump_dir2, lz_src, lz_dst);

		if (!ok)
			(void)!write(p[1], why, strlen(why));
		_exit(ok ? 0 : 1);
	}
	close(p[1]);
	n = read(p[0], why, sizeof(why) - 1);
	why[n > 0 ? n : 0] = '\0';
	close(p[0]);
	if (child < 0 || waitpid(child, &status, 0) != child)
		return fail("fork or wait: %s", strerror(errno));
	return (WIFEXITED(status) && !WEXITSTATUS(status)) || (why[0] ? false : fail("exit status 0x%x", status));
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tmp(void)
{
	nftw(tmp_dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

static int open_dir(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
	if (mkdir(path, 0700))
		return -1;
	return open(path, O_RDONLY | O_DIRECTORY);
}

int main(int argc, char **argv)
{
	int img, other, join;

	cr_path = argc > 1 ? argv[1] : getenv("CR") ? getenv("CR") : "build/cr";
	if (access(cr_path, X_OK)) {
		printf("FAIL setup: %s is not an executable\nrpc: 0 passed, 1 failed\n", cr_path);
		return 1;
	}
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/rpc-client.XXXXXX");
	if (!mkdtemp(tmp_dir)) {
		printf("FAIL setup: mkdtemp: %s\nrpc: 0 passed, 1 failed\n", strerror(errno));
		return 1;
	}
	snprintf(counter_path, sizeof(counter_path), "%s/counter", tmp_dir);
	img = open_dir("img");
	other = open_dir("other");
	if (img < 0 || other < 0) {
		printf("FAIL setup: image directories in %s: %s\nrpc: 0 passed, 1 failed\n", tmp_dir, strerror(errno));
		return 1;
	}

	report("version-features-check", case_info(other));
	report("dump", case_dump(img));
	report("restore", case_restore(img));
	report("bad-pid", case_bad_pid(other));
	report("pre-dump", case_pre_dump(open_dir("pre"), open_dir("pre-final")));
	report("refused-option", case_refused_option(other));
	report("compress", case_compress(open_dir("compress")));
	report("notify-failure", case_notify_failure(other));
	join = open_dir("join");
	report("join-ns", case_join_ns(join));
	report("join-ns-refused", case_join_ns_refused(join));
	report("join-ipc-objects", case_join_ipc_objects(open_dir("join-ipc")));
	report("orphan-pts", case_orphan_pts(open_dir("orphan")));
	report("external-pidns", case_external_pidns(open_dir("ext-pid")));
	report("page-server", case_page_server(open_dir("ps"), open_dir("ps-dump"), open_dir("ps2"),
					       open_dir("ps-dump2"), open_dir("lz-src"), open_dir("lz-dst")));

	printf("rpc: %u passed, %u failed\n", npass, nfail);
	if (nfail)
		printf("  --- logs kept in %s\n", tmp_dir);
	else
		remove_tmp();
	return nfail ? 1 : 0;
}
