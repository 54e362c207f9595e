/*
 * ns-ipc*.c and ns-uts.c: a child in fresh ipc and uts namespaces makes a
 * SysV segment with data (and a hole), a semaphore set, a queue with three
 * messages, sets its host and domain names and a sysctl; the test enters
 * its namespaces, dumps them, kills it, and a second child in fresh
 * namespaces restores and checks ids, keys, contents, values, messages in
 * order, names and the sysctl. Also: a refused dump (a message longer
 * than msgmax), broken images. Needs root.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
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

/* In the first child: the state to dump. 0 if all was made. */
static int make_state(bool big_msg)
{
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
	return 0;
}

/* Forks the child that makes the state in fresh namespaces and waits to be killed. */
static pid_t state_child(bool big_msg)
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
			ok = make_state(big_msg) ? 2 : 'K';
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
	return 0;
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

static void test_round_trip(void)
{
	pid_t pid = state_child(false);

	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(dump_ns(pid), 0);
	reap(pid);
	CU_ASSERT_EQUAL(restore_and_check(), 0);
	/* Nothing came into the test's own namespace. */
	CU_ASSERT(shmget(SHM_KEY, 0, 0) < 0 && semget(SEM_KEY, 0, 0) < 0 && msgget(MSG_KEY, 0) < 0);
}

static void test_refuse_long_message(void)
{
	pid_t pid = state_child(true);
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
	    !CU_add_test(s, "broken images", test_bad_images))
		return CU_get_error();
	return 0;
}
