/*
 * ns-ipc*.c and ns-uts.c: a child in fresh ipc and uts namespaces makes a
 * SysV segment with data (and a hole), a semaphore set, a queue with three
 * messages, sets its host and domain names and a sysctl; the test enters
 * its namespaces, dumps them, kills it, and a second child in fresh
 * namespaces restores and checks ids, keys, contents, values, messages in
 * order, names and the sysctl. Also: a refused dump (a message longer
 * than msgmax), broken images. Needs root.
 *
 * POSIX message queues (ns-ipc-mq.c) ride along: two queues with their
 * attributes, modes and messages of several priorities (an empty one), an
 * fs/mqueue sysctl; the dump leaves them as they were; a queue with an
 * mq_notify registration is refused naming it, registration and messages
 * untouched; the status line parser; broken queue records.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "files.h"
#include "image.h"
#include "ipcns.pb-c.h"
#include "log.h"
#include "namespaces.h"
#include "ns-ipc-priv.h"
#include "unit.h"

int unit_register_ipcns(void);

#define SHM_KEY		0x6372a1
#define SEM_KEY		0x6372a2
#define MSG_KEY		0x6372a3
#define SHM_ID		7
#define SEM_ID		3
#define MSG_ID		65540	/* seq 2, index 4 */
#define SHM_SIZE	(3 * 4096 + 100)
#define HOSTNAME	"crut-ipc-host"
#define DOMAIN		"crut-ipc-dom"
#define MSGMNB		"32768"

static const struct { long type; const char *text; } msgs[] = { { 3, "one" }, { 1, "two two" }, { 2, "three" } };
static const unsigned short sem_vals[] = { 1, 5, 9 };

#define MQ_A		"/crut_mq_a"
#define MQ_B		"/crut_mq_b"
#define MQ_N		"/crut_mq_notify"
#define MQ_DEFAULT	"3"		/* fs/mqueue/msg_default */
/* Sent in this order into MQ_A; mq_receive order: 1, 0, 2, 3. */
static const struct { unsigned prio; const char *text; } mq_msgs[] = {
	{ 2, "two" }, { 7, "seven" }, { 2, "" }, { 0, "zero, last" },
};
static const int mq_order[] = { 1, 0, 2, 3 };

enum { STATE_BIG_MSG = 1, STATE_MQ_NOTIFY = 2 };

static int own_ipc = -1, own_uts = -1;

static int saved_level;
static void quiet_begin(void)
{
	saved_level = log_get_level();
	log_set_level(LOG_MSG);
	log_clear_last_error();
}
static void quiet_end(void) { log_set_level(saved_level); }

static int write_sysctl(const char *name, const char *val)
{
	char path[96];
	_cleanup_close_ int fd = -EBADF;

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		return -1;
	return 0;
}

static int read_sysctl(const char *name, char *buf, size_t sz)
{
	char path[96];
	_cleanup_close_ int fd = -EBADF;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (n = read(fd, buf, sz - 1)) < 0)
		return -1;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return 0;
}

static int make_id(const char *which, int id)
{
	char name[32], val[16];

	snprintf(name, sizeof(name), "%s_next_id", which);
	snprintf(val, sizeof(val), "%d", id);
	return write_sysctl(name, val);
}

static int mq_sysctl(const char *name, const char *val, char *buf, size_t sz)
{
	char path[96];
	_cleanup_close_ int fd = -EBADF;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/sys/fs/mqueue/%s", name);
	fd = open(path, (val ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (val)
		return write(fd, val, strlen(val)) == (ssize_t)strlen(val) ? 0 : -1;
	if ((n = read(fd, buf, sz - 1)) < 0)
		return -1;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return 0;
}

/* The POSIX queues of the state. 0 if made. */
static int make_mq(int how)
{
	struct mq_attr a = { .mq_maxmsg = 5, .mq_msgsize = 16 }, b = { .mq_maxmsg = 1, .mq_msgsize = 200 };
	mqd_t q;

	if (mq_sysctl("msg_default", MQ_DEFAULT, NULL, 0))
		return 20;
	q = mq_open(MQ_A, O_WRONLY | O_CREAT | O_EXCL, 0640, &a);
	if (q == (mqd_t)-1 || fchown(q, 1234, 4321) || fchmod(q, 0640))
		return 21;
	for (unsigned i = 0; i < sizeof(mq_msgs) / sizeof(mq_msgs[0]); i++)
		if (mq_send(q, mq_msgs[i].text, strlen(mq_msgs[i].text), mq_msgs[i].prio))
			return 22;
	mq_close(q);
	q = mq_open(MQ_B, O_WRONLY | O_CREAT | O_EXCL, 0600, &b);
	if (q == (mqd_t)-1)
		return 23;
	mq_close(q);
	if (how & STATE_MQ_NOTIFY) {
		struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1 };

		signal(SIGUSR1, SIG_IGN);
		q = mq_open(MQ_N, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
		if (q == (mqd_t)-1 || mq_notify(q, &ev))
			return 24;
		/* kept open: the registration goes with the last close of this fd */
	}
	return 0;
}

/* Checks MQ_A's messages in order by taking them; 0 or a step number from @base. */
static int check_mq_a(int base)
{
	struct mq_attr at;
	char buf[16];
	unsigned prio;
	mqd_t q = mq_open(MQ_A, O_RDONLY | O_NONBLOCK);
	int ret = 0;

	if (q == (mqd_t)-1 || mq_getattr(q, &at) || at.mq_maxmsg != 5 || at.mq_msgsize != 16 ||
	    at.mq_curmsgs != (long)(sizeof(mq_msgs) / sizeof(mq_msgs[0])))
		ret = base;
	for (unsigned i = 0; !ret && i < sizeof(mq_order) / sizeof(mq_order[0]); i++) {
		ssize_t n = mq_receive(q, buf, sizeof(buf), &prio);
		int k = mq_order[i];

		if (n != (ssize_t)strlen(mq_msgs[k].text) || prio != mq_msgs[k].prio || memcmp(buf, mq_msgs[k].text, n))
			ret = base + 1 + i;
	}
	if (q != (mqd_t)-1)
		mq_close(q);
	return ret;
}

/* In the first child: the state to dump. 0 if all was made. */
static int make_state(int how)
{
	bool big_msg = how & STATE_BIG_MSG;
	int err;

	union semun { int val; struct semid_ds *buf; unsigned short *array; } arg;
	struct { long type; char text[256]; } m;
	char *p;
	int id;

	if (sethostname(HOSTNAME, strlen(HOSTNAME)) || setdomainname(DOMAIN, strlen(DOMAIN)) ||
	    write_sysctl("msgmnb", MSGMNB))
		return 1;
	if (make_id("shm", SHM_ID) || (id = shmget(SHM_KEY, SHM_SIZE, IPC_CREAT | 0640)) != SHM_ID)
		return 2;
	p = shmat(id, NULL, 0);
	if (p == (void *)-1)
		return 3;
	strcpy(p, "page zero");
	strcpy(p + 2 * 4096 + 10, "page two");	/* page 1 stays a hole */
	strcpy(p + 3 * 4096 + 90, "tail");
	shmdt(p);
	if (make_id("sem", SEM_ID) || (id = semget(SEM_KEY, 3, IPC_CREAT | 0600)) != SEM_ID)
		return 4;
	arg.array = (unsigned short *)sem_vals;
	if (semctl(id, 0, SETALL, arg))
		return 5;
	if (make_id("msg", MSG_ID) || (id = msgget(MSG_KEY, IPC_CREAT | 0620)) != MSG_ID)
		return 6;
	for (unsigned i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		m.type = msgs[i].type;
		strcpy(m.text, msgs[i].text);
		if (msgsnd(id, &m, strlen(m.text), IPC_NOWAIT))
			return 7;
	}
	if (big_msg) {
		memset(m.text, 'x', 200);
		if (msgsnd(id, &m, 200, IPC_NOWAIT) || write_sysctl("msgmax", "100"))
			return 8;
	}
	err = make_mq(how);
	return err;
}

/* Forks the child that makes the state in fresh namespaces and waits to be killed. */
static pid_t state_child(int how)
{
	int p[2];
	char c = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		char ok = 1;

		close(p[0]);
		if (!unshare(CLONE_NEWIPC | CLONE_NEWUTS))
			ok = make_state(how) ? 2 : 'K';
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

static int enter(pid_t pid, const char *kind, int flag)
{
	char path[64];
	_cleanup_close_ int fd = -EBADF;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, kind);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, flag) < 0)
		return -errno;
	return 0;
}

/* Enters @pid's ipc and uts namespaces, dumps them into the temp dir, comes back. */
static int dump_ns(pid_t pid)
{
	struct files_dump *df = NULL;
	int ret;

	if (img_dump_id_new())
		return -EIO;
	ret = enter(pid, "ipc", CLONE_NEWIPC);
	if (!ret)
		ret = enter(pid, "uts", CLONE_NEWUTS);
	if (!ret)
		ret = files_dump_begin(tmp_dfd, NULL, NULL, &df);
	if (!ret)
		ret = utsns_dump(tmp_dfd);
	if (!ret)
		ret = ipcns_dump(df, tmp_dfd);
	if (!ret)
		ret = files_dump_finish(df);
	files_dump_free(df);
	CU_ASSERT_FATAL(setns(own_ipc, CLONE_NEWIPC) == 0);
	CU_ASSERT_FATAL(setns(own_uts, CLONE_NEWUTS) == 0);
	return ret;
}

/* The queues after restore: attributes, owners, modes, messages, the sysctl. 0 or a step number. */
static int check_mq_state(void)
{
	struct mq_attr at;
	struct stat st;
	char buf[32];
	mqd_t q;
	int ret;

	if (mq_sysctl("msg_default", NULL, buf, sizeof(buf)) || strcmp(buf, MQ_DEFAULT))
		return 30;
	q = mq_open(MQ_A, O_RDONLY);
	if (q == (mqd_t)-1 || fstat(q, &st) || st.st_uid != 1234 || st.st_gid != 4321 || (st.st_mode & 07777) != 0640)
		return 31;
	mq_close(q);
	ret = check_mq_a(32);
	if (ret)
		return ret;
	q = mq_open(MQ_B, O_RDONLY);
	if (q == (mqd_t)-1 || fstat(q, &st) || (st.st_mode & 07777) != 0600 || mq_getattr(q, &at) ||
	    at.mq_maxmsg != 1 || at.mq_msgsize != 200 || at.mq_curmsgs)
		return 40;
	mq_close(q);
	return 0;
}

/* In the second child, in the new namespaces: what was dumped is there. 0 if so, else a step number. */
static int check_state(void)
{
	union semun { int val; struct semid_ds *buf; unsigned short *array; } arg;
	struct { long type; char text[256]; } m;
	unsigned short vals[3];
	struct shmid_ds sds;
	struct msqid_ds mds;
	struct utsname u;
	char buf[64], *p, zero[4096] = { 0 };
	ssize_t n;

	if (uname(&u) || strcmp(u.nodename, HOSTNAME) || strcmp(u.domainname, DOMAIN))
		return 10;
	if (read_sysctl("msgmnb", buf, sizeof(buf)) || strcmp(buf, MSGMNB))
		return 11;
	if (shmget(SHM_KEY, 0, 0) != SHM_ID || shmctl(SHM_ID, IPC_STAT, &sds) || sds.shm_segsz != SHM_SIZE ||
	    (sds.shm_perm.mode & 0777) != 0640)
		return 12;
	p = shmat(SHM_ID, NULL, SHM_RDONLY);
	if (p == (void *)-1 || strcmp(p, "page zero") || memcmp(p + 4096, zero, 4096) ||
	    strcmp(p + 2 * 4096 + 10, "page two") || strcmp(p + 3 * 4096 + 90, "tail"))
		return 13;
	shmdt(p);
	if (semget(SEM_KEY, 0, 0) != SEM_ID)
		return 14;
	arg.array = vals;
	if (semctl(SEM_ID, 0, GETALL, arg) || memcmp(vals, sem_vals, sizeof(vals)))
		return 15;
	if (msgget(MSG_KEY, 0) != MSG_ID || msgctl(MSG_ID, IPC_STAT, &mds) || mds.msg_qnum != 3 ||
	    (mds.msg_perm.mode & 0777) != 0620)
		return 16;
	for (unsigned i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		n = msgrcv(MSG_ID, &m, sizeof(m.text), 0, IPC_NOWAIT);
		if (n != (ssize_t)strlen(msgs[i].text) || m.type != msgs[i].type || memcmp(m.text, msgs[i].text, n))
			return 17 + i;
	}
	return check_mq_state();
}

static int restore_and_check(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		struct utsns_img *u = NULL;
		struct ipcns_img *n = NULL;
		struct files_rst *rf = NULL;

		img_dump_id_forget();
		if (unshare(CLONE_NEWIPC | CLONE_NEWUTS))
			_exit(2);
		if (utsns_read(tmp_dfd, &u) || ipcns_read(tmp_dfd, &n) || files_rst_load(tmp_dfd, NULL, NULL, &rf))
			_exit(3);
		if (utsns_restore(u) || ipcns_restore(n, rf))
			_exit(4);
		_exit(check_state());
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

/* In the ipc namespace of @pid, in a child: check_mq_a(), or the status line of MQ_N has a registration. */
static int in_child_ns(pid_t pid, bool notify)
{
	int status;
	pid_t c = fork();

	if (c == 0) {
		char buf[128] = "";
		struct ipc_mq_status s;
		_cleanup_close_ int fd = -EBADF;
		ssize_t n;

		if (enter(pid, "ipc", CLONE_NEWIPC))
			_exit(2);
		if (!notify)
			_exit(check_mq_a(50));
		/* The mqueue file of the queue, through a detached mount of this namespace's. */
		fd = mq_open(MQ_N, O_RDONLY);
		if (fd < 0)
			_exit(60);
		{
			char p[64];
			_cleanup_close_ int f = -EBADF;

			snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
			f = open(p, O_RDONLY | O_CLOEXEC);
			if (f < 0 || (n = read(f, buf, sizeof(buf) - 1)) <= 0)
				_exit(61);
		}
		if (ipc_mq_parse_status(buf, &s) || s.notify_pid != pid)
			_exit(62);
		_exit(0);
	}
	if (c < 0 || waitpid(c, &status, 0) != c)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

static void test_round_trip(void)
{
	pid_t pid = state_child(0);

	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(dump_ns(pid), 0);
	/* The dump took the queue's messages and put them back as they were. */
	CU_ASSERT_EQUAL(in_child_ns(pid, false), 0);
	reap(pid);
	CU_ASSERT_EQUAL(restore_and_check(), 0);
	/* Nothing came into the test's own namespace. */
	CU_ASSERT(shmget(SHM_KEY, 0, 0) < 0 && semget(SEM_KEY, 0, 0) < 0 && msgget(MSG_KEY, 0) < 0);
	CU_ASSERT(mq_open(MQ_A, O_RDONLY) == (mqd_t)-1 && errno == ENOENT);
}

/* A queue with an mq_notify registration: refused naming it; registration and other queues untouched. */
static void test_refuse_mq_notify(void)
{
	pid_t pid = state_child(STATE_MQ_NOTIFY);
	int ret;

	CU_ASSERT_FATAL(pid > 0);
	quiet_begin();
	ret = dump_ns(pid);
	quiet_end();
	CU_ASSERT_EQUAL(ret, -EOPNOTSUPP);
	CU_ASSERT(last_error_has("POSIX message queue " MQ_N " has an mq_notify registration"));
	CU_ASSERT_EQUAL(in_child_ns(pid, true), 0);
	CU_ASSERT_EQUAL(in_child_ns(pid, false), 0);
	reap(pid);
}

static void test_mq_status(void)
{
	struct ipc_mq_status s;

	/* As the kernel prints it: "QSIZE:%-10lu NOTIFY:%-5d SIGNO:%-5d NOTIFY_PID:%-6d\n". */
	CU_ASSERT_EQUAL(ipc_mq_parse_status("QSIZE:129        NOTIFY:0     SIGNO:0     NOTIFY_PID:0     \n", &s), 0);
	CU_ASSERT(s.qsize == 129 && !s.notify && !s.signo && !s.notify_pid);
	CU_ASSERT_EQUAL(ipc_mq_parse_status("QSIZE:0          NOTIFY:0     SIGNO:10    NOTIFY_PID:4242  \n", &s), 0);
	CU_ASSERT(s.qsize == 0 && s.signo == 10 && s.notify_pid == 4242);
	CU_ASSERT_EQUAL(ipc_mq_parse_status("QSIZE:18446744073709551615 NOTIFY:2     SIGNO:0     NOTIFY_PID:1\n", &s), 0);
	CU_ASSERT(s.qsize == 18446744073709551615ULL && s.notify == 2 && s.notify_pid == 1);
	CU_ASSERT_EQUAL(ipc_mq_parse_status("", &s), -EBADMSG);
	CU_ASSERT_EQUAL(ipc_mq_parse_status("QSIZE:12 NOTIFY:0 SIGNO:0\n", &s), -EBADMSG);
	CU_ASSERT_EQUAL(ipc_mq_parse_status("QSIZE:x NOTIFY:0 SIGNO:0 NOTIFY_PID:0\n", &s), -EBADMSG);
	CU_ASSERT_EQUAL(ipc_mq_parse_status("QSIZE:1 NOTIFY:0 SIGNO:0 NOTIFY_PID:0 extra\n", &s), -EBADMSG);
	CU_ASSERT_EQUAL(ipc_mq_parse_status("SIZE:1 NOTIFY:0 SIGNO:0 NOTIFY_PID:0\n", &s), -EBADMSG);
}

static void test_refuse_long_message(void)
{
	pid_t pid = state_child(STATE_BIG_MSG);
	int ret;

	CU_ASSERT_FATAL(pid > 0);
	quiet_begin();
	ret = dump_ns(pid);
	quiet_end();
	reap(pid);
	CU_ASSERT_EQUAL(ret, -EOPNOTSUPP);
	CU_ASSERT(last_error_has("message 3 is longer than msgmax"));
}

/* Writes ipcns.img: a head with @sc (if any) and @obj (if any). */
static void write_image(IpcSysctl *sc, IpcObject *obj)
{
	_cleanup_img_ struct img *img = NULL;
	IpcnsHead head = IPCNS_HEAD__INIT;

	if (sc) {
		head.n_sysctls = 1;
		head.sysctls = &sc;
	}
	CU_ASSERT_FATAL(img_dump_id_new() == 0);
	CU_ASSERT_FATAL(img_open(tmp_dfd, IMG_IPCNS, 0, O_WRONLY, &img) == 0);
	CU_ASSERT_FATAL(pb_write_one(img, &head, PB_IPCNS_HEAD) == 0);
	if (obj)
		CU_ASSERT_FATAL(pb_write_one(img, obj, PB_IPC_OBJECT) == 0);
	CU_ASSERT_FATAL(img_close(TAKE_PTR(img)) == 0);
}

static int read_image(void)
{
	struct ipcns_img *n = NULL;
	int ret;

	img_dump_id_forget();
	quiet_begin();
	ret = ipcns_read(tmp_dfd, &n);
	quiet_end();
	ipcns_free(n);
	return ret;
}

static void test_bad_images(void)
{
	IpcSysctl sc = IPC_SYSCTL__INIT;
	IpcObject o = IPC_OBJECT__INIT;
	DataRef r = DATA_REF__INIT, *rp = &r;
	uint32_t vals[2] = { 1, 40000 };
	struct stat st;

	CU_ASSERT_EQUAL(read_image(), -ENOENT);

	sc.name = "../../fs/suid_dumpable";
	sc.value = "2";
	write_image(&sc, NULL);
	CU_ASSERT_EQUAL(read_image(), -EBADMSG);
	CU_ASSERT(last_error_has("not an ipc sysctl"));

	o.kind = 9;
	o.id = 1;
	write_image(NULL, &o);
	CU_ASSERT_EQUAL(read_image(), -EBADMSG);
	CU_ASSERT(last_error_has("unknown kind"));

	{
		IpcObject q = IPC_OBJECT__INIT;
		IpcMqMsg mm = IPC_MQ_MSG__INIT, *mmp = &mm;
		DataRef t = DATA_REF__INIT;

		q.kind = IPC_KIND__IPC_MQUEUE;
		q.mq_name = "a/b";
		q.has_mq_maxmsg = q.has_mq_msgsize = true;
		q.mq_maxmsg = 2;
		q.mq_msgsize = 8;
		write_image(NULL, &q);
		CU_ASSERT_EQUAL(read_image(), -EBADMSG);
		CU_ASSERT(last_error_has("no valid name"));

		q.mq_name = "q";
		q.n_mq_msgs = 1;
		q.mq_msgs = &mmp;
		mm.text = &t;
		t.len = 9;
		write_image(NULL, &q);
		CU_ASSERT_EQUAL(read_image(), -EBADMSG);
		CU_ASSERT(last_error_has("message 0 has priority 0 and 9 bytes (msgsize 8)"));

		t.len = 8;
		mm.prio = 32768;
		write_image(NULL, &q);
		CU_ASSERT_EQUAL(read_image(), -EBADMSG);

		q.has_mq_maxmsg = false;
		write_image(NULL, &q);
		CU_ASSERT_EQUAL(read_image(), -EBADMSG);
		CU_ASSERT(last_error_has("no valid attributes"));
	}
	{
		IpcSysctl ms = IPC_SYSCTL__INIT, *msp = &ms;
		_cleanup_img_ struct img *img = NULL;
		IpcnsHead head = IPCNS_HEAD__INIT;

		ms.name = "../../kernel/core_pattern";
		ms.value = "10";
		head.n_mq_sysctls = 1;
		head.mq_sysctls = &msp;
		CU_ASSERT_FATAL(img_dump_id_new() == 0);
		CU_ASSERT_FATAL(img_open(tmp_dfd, IMG_IPCNS, 0, O_WRONLY, &img) == 0);
		CU_ASSERT_FATAL(pb_write_one(img, &head, PB_IPCNS_HEAD) == 0);
		CU_ASSERT_FATAL(img_close(TAKE_PTR(img)) == 0);
		CU_ASSERT_EQUAL(read_image(), -EBADMSG);
		CU_ASSERT(last_error_has("not an mqueue sysctl"));
	}

	o.kind = IPC_KIND__IPC_SHM;
	o.has_size = true;
	o.size = 4096;
	o.n_pages = 1;
	o.pages = &rp;
	r.has_at = true;
	r.at = 4096;
	r.len = 4096;
	write_image(NULL, &o);
	CU_ASSERT_EQUAL(read_image(), -EBADMSG);
	CU_ASSERT(last_error_has("out of the segment"));

	o.kind = IPC_KIND__IPC_SEM;
	o.n_pages = 0;
	o.n_sem_values = 2;
	o.sem_values = vals;
	write_image(NULL, &o);
	CU_ASSERT_EQUAL(read_image(), -EBADMSG);
	CU_ASSERT(last_error_has("out of range"));

	/* A good record, truncated. */
	vals[1] = 2;
	write_image(NULL, &o);
	CU_ASSERT_EQUAL(read_image(), 0);
	CU_ASSERT_FATAL(fstatat(tmp_dfd, "ipcns.img", &st, 0) == 0);
	{
		_cleanup_close_ int fd = openat(tmp_dfd, "ipcns.img", O_WRONLY | O_CLOEXEC);

		CU_ASSERT_FATAL(fd >= 0 && ftruncate(fd, st.st_size - 3) == 0);
	}
	CU_ASSERT(read_image() < 0);
}

static int suite_init(void)
{
	own_ipc = open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC);
	own_uts = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
	return own_ipc < 0 || own_uts < 0;
}

static int suite_clean(void)
{
	if (own_ipc >= 0)
		close(own_ipc);
	if (own_uts >= 0)
		close(own_uts);
	own_ipc = own_uts = -1;
	return 0;
}

int unit_register_ipcns(void)
{
	CU_pSuite s;

	if (geteuid() != 0)
		return 0;	/* needs root: nothing registered */
	s = CU_add_suite_with_setup_and_teardown("ipcns", suite_init, suite_clean, tmp_setup, tmp_teardown);
	if (!s || !CU_add_test(s, "shm, sem, msg, sysctl, uts names round trip", test_round_trip) ||
	    !CU_add_test(s, "refuse a message longer than msgmax", test_refuse_long_message) ||
	    !CU_add_test(s, "refuse a POSIX queue with mq_notify registered", test_refuse_mq_notify) ||
	    !CU_add_test(s, "mqueue status lines", test_mq_status) ||
	    !CU_add_test(s, "broken images", test_bad_images))
		return CU_get_error();
	return 0;
}
