/*
 * POSIX message queues of the tree's ipc namespace: the test, pid 1 of
 * its own namespaces, sets the /proc/sys/fs/mqueue limits and makes
 *   - /zdtm_mq_a: maxmsg 20, msgsize 64, mode 0640, owner 1234:2345, six
 *     messages of priorities 0..31 (an empty one, a full 64-byte one,
 *     two pairs of one priority), kept open O_RDWR | O_NONBLOCK;
 *   - /zdtm_mq_b: maxmsg 3, msgsize 8192, mode 0600, a full 8192-byte
 *     message and a 1-byte one, kept open O_WRONLY, blocking;
 *   - /zdtm_mq_c: maxmsg 1, msgsize 128, mode 0604, owner 0:3456, empty,
 *     not open;
 * then lowers msg_max below /zdtm_mq_a's maxmsg (the restore has to raise
 * it while it makes the queue, and set it back). A thread waits in
 * mq_receive on /zdtm_mq_c (a blocking fd of its own): the dump finds no
 * message and no waiter disturbed, and after restore the thread gets the
 * message the test sends then.
 *
 * After restore: the sysctls hold their values; the mqueue file system
 * (a detached mount of it) has these three queues and no other, with
 * their modes and owners; mq_getattr gives their attributes and counts,
 * the fds their O_NONBLOCK; every message comes back in the order of
 * mq_receive (priority, then age) with its priority and bytes; the fds
 * still work (send and receive, EBADF on the access mode they lack,
 * EAGAIN on the empty non-blocking one).
 *
 * With ZDTM_MQ_NOTIFY set (the runner's negative case), /zdtm_mq_c has
 * an mq_notify registration and stays open: the dump is refused naming
 * the queue, and when the runner ends the test after that, every queue
 * is as it was and the registration still the test's.
 *
 * zdtm: flavors: ns
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <mqueue.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "zdtm.h"

#define SYSCTL_DIR	"/proc/sys/fs/mqueue/"
#define A_UID		1234
#define A_GID		2345
#define C_GID		3456
#define MSG_MAX_LOW	"10"	/* below /zdtm_mq_a's maxmsg */

static const struct { const char *name, *val; } sysctls[] = {
	{ "queues_max", "64" }, { "msgsize_max", "16384" }, { "msg_default", "7" },
	{ "msgsize_default", "1000" }, { "msg_max", "20" },
};

struct zmsg {
	unsigned prio;
	size_t len;
	char text[8192];
};

enum { QA, QB, QC, NR_Q };
static const struct {
	const char *name;
	long maxmsg, msgsize;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	int oflag;		/* of the fd kept open; -1: none */
} queues[NR_Q] = {
	[QA] = { "zdtm_mq_a", 20, 64, 0640, A_UID, A_GID, O_RDWR | O_NONBLOCK },
	[QB] = { "zdtm_mq_b", 3, 8192, 0600, 0, 0, O_WRONLY },
	[QC] = { "zdtm_mq_c", 1, 128, 0604, 0, C_GID, -1 },
};

static pthread_t waiter;
static mqd_t waiter_q = (mqd_t)-1;
static struct zmsg waiter_got;
static volatile int waiter_in;

/* Blocks in mq_receive on /zdtm_mq_c until the test sends after restore. */
static void *waiter_fn(void *arg)
{
	ssize_t n;

	(void)arg;
	waiter_in = 1;
	n = mq_receive(waiter_q, waiter_got.text, sizeof(waiter_got.text), &waiter_got.prio);
	waiter_got.len = n < 0 ? 0 : n;
	return (void *)(long)(n < 0 ? errno : 0);
}

/* What was sent, in sending order. */
static struct zmsg sent_a[6], sent_b[2];
static mqd_t mqd[NR_Q];

static void sysctl_write(const char *name, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), SYSCTL_DIR "%s", name);
	file_put(path, val);
}

static int sysctl_check(const char *name, const char *want)
{
	char path[128];

	snprintf(path, sizeof(path), SYSCTL_DIR "%s", name);
	return file_line_check(path, want);
}

static void msg_set(struct zmsg *m, unsigned prio, size_t len, char fill)
{
	m->prio = prio;
	m->len = len;
	for (size_t i = 0; i < len; i++)
		m->text[i] = fill + i % 23;
}

static void send_all(mqd_t q, const char *name, const struct zmsg *m, int nr)
{
	for (int i = 0; i < nr; i++)
		if (mq_send(q, m[i].text, m[i].len, m[i].prio))
			fail_errno("mq_send of message %d to /%s", i, name);
}

static void setup(void)
{
	char path[64];

	for (size_t i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++)
		sysctl_write(sysctls[i].name, sysctls[i].val);
	for (int q = 0; q < NR_Q; q++) {
		struct mq_attr a = { .mq_maxmsg = queues[q].maxmsg, .mq_msgsize = queues[q].msgsize };
		int oflag = queues[q].oflag < 0 ? O_RDONLY : queues[q].oflag;

		snprintf(path, sizeof(path), "/%s", queues[q].name);
		mqd[q] = mq_open(path, oflag | O_CREAT | O_EXCL, 0600, &a);
		if (mqd[q] == (mqd_t)-1)
			fail_errno("mq_open %s", path);
		if (fchown(mqd[q], queues[q].uid, queues[q].gid) || fchmod(mqd[q], queues[q].mode))
			fail_errno("owner or mode of %s", path);
	}
	msg_set(&sent_a[0], 5, 6, 'a');
	msg_set(&sent_a[1], 0, 0, 0);		/* empty */
	msg_set(&sent_a[2], 5, 9, 'k');
	msg_set(&sent_a[3], 31, 3, 't');
	msg_set(&sent_a[4], 1, 64, 'F');	/* full size */
	msg_set(&sent_a[5], 0, 17, 'z');
	send_all(mqd[QA], queues[QA].name, sent_a, 6);
	msg_set(&sent_b[0], 7, 8192, 'B');	/* full size */
	msg_set(&sent_b[1], 0, 1, '!');
	send_all(mqd[QB], queues[QB].name, sent_b, 2);
	if (getenv("ZDTM_MQ_NOTIFY")) {
		struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2 };

		/* Kept open: closing it drops the registration. */
		signal(SIGUSR2, SIG_IGN);
		if (mq_notify(mqd[QC], &ev))
			fail_errno("mq_notify on /zdtm_mq_c");
	} else {
		if (mq_close(mqd[QC]))
			fail_errno("mq_close");
		mqd[QC] = (mqd_t)-1;
		waiter_q = mq_open("/zdtm_mq_c", O_RDONLY);
		if (waiter_q == (mqd_t)-1 || pthread_create(&waiter, NULL, waiter_fn, NULL))
			fail_errno("the thread waiting on /zdtm_mq_c");
		while (!waiter_in)
			usleep(1000);
		usleep(20000);	/* in mq_receive by now, most likely */
	}
	sysctl_write("msg_max", MSG_MAX_LOW);
}

/* The mqueue file system of this ipc namespace, as a detached mount's root. */
static int mqueue_root(void)
{
	int fs, mnt, root;

	fs = syscall(SYS_fsopen, "mqueue", FSOPEN_CLOEXEC);
	if (fs < 0 || syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		fail_errno("an mqueue file system instance");
	mnt = syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
	if (mnt < 0)
		fail_errno("fsmount of mqueue");
	root = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		fail_errno("the mqueue root");
	close(mnt);
	close(fs);
	return root;
}

/* The names, modes and owners in the mqueue file system. */
static int check_fs(void)
{
	int root = mqueue_root(), bad = 0, seen = 0;
	DIR *d = fdopendir(root);
	struct dirent *de;

	if (!d)
		fail_errno("fdopendir");
	while ((de = readdir(d))) {
		struct stat st;
		int q;

		if (de->d_name[0] == '.')
			continue;
		for (q = 0; q < NR_Q && strcmp(de->d_name, queues[q].name); q++)
			;
		if (q == NR_Q) {
			test_msg("FAIL: a queue /%s that was not made", de->d_name);
			bad++;
			continue;
		}
		seen |= 1 << q;
		if (fstatat(dirfd(d), de->d_name, &st, 0)) {
			test_msg("FAIL: stat of /%s: %m", de->d_name);
			bad++;
			continue;
		}
		if ((st.st_mode & 07777) != queues[q].mode || st.st_uid != queues[q].uid ||
		    st.st_gid != queues[q].gid) {
			test_msg("FAIL: /%s: mode 0%o owner %u:%u, expected 0%o %u:%u", de->d_name,
				 st.st_mode & 07777, st.st_uid, st.st_gid, queues[q].mode, queues[q].uid,
				 queues[q].gid);
			bad++;
		}
	}
	closedir(d);
	if (seen != (1 << NR_Q) - 1) {
		test_msg("FAIL: queues missing from the mqueue file system (seen mask %#x)", seen);
		bad++;
	}
	return bad;
}

static int check_attr(mqd_t q, int idx, long curmsgs, long flags)
{
	struct mq_attr a;

	if (mq_getattr(q, &a)) {
		test_msg("FAIL: /%s: mq_getattr: %m", queues[idx].name);
		return 1;
	}
	if (a.mq_maxmsg != queues[idx].maxmsg || a.mq_msgsize != queues[idx].msgsize || a.mq_curmsgs != curmsgs ||
	    (a.mq_flags & O_NONBLOCK) != flags) {
		test_msg("FAIL: /%s: maxmsg %ld msgsize %ld curmsgs %ld flags %#lx, expected %ld %ld %ld %#lx",
			 queues[idx].name, a.mq_maxmsg, a.mq_msgsize, a.mq_curmsgs, a.mq_flags, queues[idx].maxmsg,
			 queues[idx].msgsize, curmsgs, flags);
		return 1;
	}
	return 0;
}

/* Receives @nr messages from @q: @sent in mq_receive's order (priority down, then sending order). */
static int check_msgs(mqd_t q, const char *name, const struct zmsg *sent, int nr)
{
	bool taken[8] = { false };
	static struct zmsg m;
	int bad = 0;

	for (int k = 0; k < nr; k++) {
		int want = -1;
		ssize_t n;

		for (int i = 0; i < nr; i++)
			if (!taken[i] && (want < 0 || sent[i].prio > sent[want].prio))
				want = i;
		taken[want] = true;
		n = mq_receive(q, m.text, sizeof(m.text), &m.prio);
		if (n < 0) {
			test_msg("FAIL: /%s: receiving message %d: %m", name, k);
			return bad + 1;
		}
		if ((size_t)n != sent[want].len || m.prio != sent[want].prio || memcmp(m.text, sent[want].text, n)) {
			test_msg("FAIL: /%s: message %d is %zd bytes of priority %u, expected message %d: %zu bytes "
				 "of priority %u", name, k, n, m.prio, want, sent[want].len, sent[want].prio);
			bad++;
		}
	}
	return bad;
}

int main(int argc, char **argv)
{
	struct zmsg m;
	mqd_t rb;
	int bad = 0;

	test_init(argc, argv);
	if (getpid() != 1)
		fail("not pid 1 of a pid namespace (pid %d): run in the ns flavor", getpid());
	setup();

	test_ready();
	test_wait_checkpoint();

	if (mqd[QC] != (mqd_t)-1) {
		struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2 };

		/* EBUSY: the queue has a registration already, ours. */
		if (!mq_notify(mqd[QC], &ev) || errno != EBUSY) {
			test_msg("FAIL: /zdtm_mq_c: the mq_notify registration is gone (%m)");
			bad++;
		}
	}

	for (size_t i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++)
		bad += sysctl_check(sysctls[i].name, strcmp(sysctls[i].name, "msg_max") ? sysctls[i].val : MSG_MAX_LOW);
	bad += check_fs();
	bad += check_attr(mqd[QA], QA, 6, O_NONBLOCK);
	bad += check_attr(mqd[QB], QB, 2, 0);
	rb = mq_open("/zdtm_mq_b", O_RDONLY | O_NONBLOCK);
	if (rb == (mqd_t)-1)
		fail_errno("mq_open /zdtm_mq_b");
	bad += check_msgs(mqd[QA], queues[QA].name, sent_a, 6);
	bad += check_msgs(rb, queues[QB].name, sent_b, 2);
	/* /zdtm_mq_c is there, empty. */
	mqd[QC] = mq_open("/zdtm_mq_c", O_RDONLY | O_NONBLOCK);
	if (mqd[QC] == (mqd_t)-1) {
		test_msg("FAIL: mq_open /zdtm_mq_c: %m");
		bad++;
	} else {
		bad += check_attr(mqd[QC], QC, 0, O_NONBLOCK);
	}
	if (waiter_q != (mqd_t)-1) {
		mqd_t w = mq_open("/zdtm_mq_c", O_WRONLY);
		void *ret;

		if (w == (mqd_t)-1 || mq_send(w, "wake up", 7, 4))
			fail_errno("sending to the waiting thread");
		pthread_join(waiter, &ret);
		if (ret || waiter_got.len != 7 || memcmp(waiter_got.text, "wake up", 7) || waiter_got.prio != 4) {
			test_msg("FAIL: /zdtm_mq_c: the waiting thread got %zu bytes of priority %u (error %ld)",
				 waiter_got.len, waiter_got.prio, (long)ret);
			bad++;
		}
		mq_close(w);
	}

	/* The fds work: A both ways, non-blocking; B write-only. */
	if (mq_receive(mqd[QA], m.text, sizeof(m.text), NULL) >= 0 || errno != EAGAIN) {
		test_msg("FAIL: /zdtm_mq_a: a receive on the empty non-blocking fd did not fail with EAGAIN: %m");
		bad++;
	}
	msg_set(&m, 9, 40, 'x');
	if (mq_send(mqd[QA], m.text, m.len, m.prio)) {
		test_msg("FAIL: /zdtm_mq_a: mq_send after restore: %m");
		bad++;
	} else {
		bad += check_msgs(mqd[QA], queues[QA].name, &m, 1);
	}
	if (mq_receive(mqd[QB], m.text, sizeof(m.text), NULL) >= 0 || errno != EBADF) {
		test_msg("FAIL: /zdtm_mq_b: receive on the write-only fd did not fail with EBADF: %m");
		bad++;
	}
	msg_set(&m, 3, 100, 'y');
	if (mq_send(mqd[QB], m.text, m.len, m.prio)) {
		test_msg("FAIL: /zdtm_mq_b: mq_send after restore: %m");
		bad++;
	} else {
		bad += check_msgs(rb, queues[QB].name, &m, 1);
	}
	for (int q = 0; q < NR_Q; q++) {
		char path[64];

		snprintf(path, sizeof(path), "/%s", queues[q].name);
		mq_unlink(path);
	}
	if (bad)
		fail("%d message queue check(s) failed", bad);
	pass();
}
