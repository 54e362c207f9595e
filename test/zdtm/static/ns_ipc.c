/*
 * The ipc namespace: the test, pid 1 of its own namespaces, makes in its
 * ipc namespace
 *   - two SysV segments with keys of their own, mode 0640 and a non-root
 *     owner (IPC_SET), filled with a pattern: one stays attached (and is
 *     shared with the mapping), the other is detached and lives only in
 *     the namespace;
 *   - a set of 5 semaphores with distinct values, mode 0660, another owner;
 *   - a message queue with a smaller qbytes and 5 messages of different
 *     types and lengths;
 *   - and changes kernel.msgmax, kernel.shmmax and kernel.sem.
 * Before each object it makes and removes a throw-away one of its kind,
 * so no id is the kernel's first. After restore every object has its id,
 * key, mode, owner and size; the contents are the same (the segments'
 * patterns, the semaphore values, the messages in order with their
 * types), the attached segment is still the one its mapping shows, and
 * the sysctls hold the values set.
 *
 * zdtm: flavors: ns
 */
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>
#include "zdtm.h"

#define SHM_KEY_A	0x7a3d0001
#define SHM_KEY_B	0x7a3d0002
#define SEM_KEY		0x7a3d0003
#define MSG_KEY		0x7a3d0004
#define SHM_LEN_A	(5 * 4096 + 123)
#define SHM_LEN_B	(64 * 4096)
#define SEED_A		0x1a2b3c4d00ULL
#define SEED_B		0x5e6f708100ULL
#define SHM_UID		1234
#define SHM_GID		2345
#define SEM_UID		3456
#define SEM_GID		4567
#define MSG_UID		5678
#define MSG_GID		6789
#define NR_SEMS		5
#define MSG_QBYTES	6000
#define NR_MSGS		5

#define MSGMAX		"5000"
#define SHMMAX		"123456789"
#define SEM		"300\t64000\t40\t200"

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

static const unsigned short sem_vals[NR_SEMS] = { 1, 7, 0, 32767, 42 };

struct zmsg {
	long type;
	char text[512];
};

static const struct {
	long type;
	const char *text;
} msgs[NR_MSGS] = {
	{ 3, "third type first" },
	{ 1, "one" },
	{ 7, "a longer message of type seven, ......................................................" },
	{ 3, "type three again" },
	{ 2, "" },		/* an empty one */
};

static int shm_a, shm_b, sem_id, msg_id;
static void *area_a;

static void sysctl_write(const char *name, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	file_put(path, val);
}

static int sysctl_check(const char *name, const char *want)
{
	char path[128];

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	return file_line_check(path, want);
}

/* A throw-away object of each kind first: the next id is not the first. */
static void burn_ids(void)
{
	int id;

	id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	if (id < 0 || shmctl(id, IPC_RMID, NULL))
		fail_errno("throw-away segment");
	id = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
	if (id < 0 || semctl(id, 0, IPC_RMID))
		fail_errno("throw-away semaphore set");
	id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	if (id < 0 || msgctl(id, IPC_RMID, NULL))
		fail_errno("throw-away queue");
}

static int make_shm(key_t key, size_t len, uint64_t seed, void **ret_area)
{
	struct shmid_ds ds;
	void *p;
	int id;

	id = shmget(key, len, IPC_CREAT | IPC_EXCL | 0600);
	if (id < 0)
		fail_errno("shmget key %#x", key);
	p = shmat(id, NULL, 0);
	if (p == (void *)-1)
		fail_errno("shmat %d", id);
	pattern_fill(p, len & ~7UL, seed);
	if (shmctl(id, IPC_STAT, &ds))
		fail_errno("IPC_STAT %d", id);
	ds.shm_perm.uid = SHM_UID;
	ds.shm_perm.gid = SHM_GID;
	ds.shm_perm.mode = 0640;
	if (shmctl(id, IPC_SET, &ds))
		fail_errno("IPC_SET %d", id);
	if (ret_area)
		*ret_area = p;
	else if (shmdt(p))
		fail_errno("shmdt");
	return id;
}

static void setup(void)
{
	union semun arg;
	struct semid_ds sds;
	struct msqid_ds mds;
	struct zmsg m;

	sysctl_write("msgmax", MSGMAX);
	sysctl_write("shmmax", SHMMAX);
	sysctl_write("sem", SEM);

	burn_ids();
	shm_a = make_shm(SHM_KEY_A, SHM_LEN_A, SEED_A, &area_a);
	burn_ids();
	shm_b = make_shm(SHM_KEY_B, SHM_LEN_B, SEED_B, NULL);

	burn_ids();
	sem_id = semget(SEM_KEY, NR_SEMS, IPC_CREAT | IPC_EXCL | 0600);
	if (sem_id < 0)
		fail_errno("semget");
	arg.array = (unsigned short *)sem_vals;
	if (semctl(sem_id, 0, SETALL, arg))
		fail_errno("SETALL");
	arg.buf = &sds;
	if (semctl(sem_id, 0, IPC_STAT, arg))
		fail_errno("sem IPC_STAT");
	sds.sem_perm.uid = SEM_UID;
	sds.sem_perm.gid = SEM_GID;
	sds.sem_perm.mode = 0660;
	if (semctl(sem_id, 0, IPC_SET, arg))
		fail_errno("sem IPC_SET");

	burn_ids();
	msg_id = msgget(MSG_KEY, IPC_CREAT | IPC_EXCL | 0600);
	if (msg_id < 0)
		fail_errno("msgget");
	for (int i = 0; i < NR_MSGS; i++) {
		m.type = msgs[i].type;
		strcpy(m.text, msgs[i].text);
		if (msgsnd(msg_id, &m, strlen(msgs[i].text), IPC_NOWAIT))
			fail_errno("msgsnd %d", i);
	}
	if (msgctl(msg_id, IPC_STAT, &mds))
		fail_errno("msg IPC_STAT");
	mds.msg_perm.uid = MSG_UID;
	mds.msg_perm.gid = MSG_GID;
	mds.msg_perm.mode = 0620;
	mds.msg_qbytes = MSG_QBYTES;
	if (msgctl(msg_id, IPC_SET, &mds))
		fail_errno("msg IPC_SET");
	test_msg("shm %d %d, sem %d, msg %d", shm_a, shm_b, sem_id, msg_id);
}

static int check_perm(const char *what, int id, const struct ipc_perm *p, key_t key, unsigned mode,
		      uid_t uid, gid_t gid)
{
	int bad = 0;

	if (p->__key != key) {
		test_msg("FAIL: %s %d: key %#x, expected %#x", what, id, p->__key, key);
		bad++;
	}
	if ((p->mode & 0777) != mode) {
		test_msg("FAIL: %s %d: mode %#o, expected %#o", what, id, p->mode & 0777, mode);
		bad++;
	}
	if (p->uid != uid || p->gid != gid) {
		test_msg("FAIL: %s %d: owner %u:%u, expected %u:%u", what, id, p->uid, p->gid, uid, gid);
		bad++;
	}
	return bad;
}

static int check_shm(int id, key_t key, size_t len, uint64_t seed, void *mapped)
{
	struct shmid_ds ds;
	long off;
	void *p;
	int bad;

	if (shmget(key, 0, 0) != id) {
		test_msg("FAIL: segment key %#x has id %d, expected %d", key, shmget(key, 0, 0), id);
		return 1;
	}
	if (shmctl(id, IPC_STAT, &ds)) {
		test_msg("FAIL: segment %d: IPC_STAT: %m", id);
		return 1;
	}
	bad = check_perm("segment", id, &ds.shm_perm, key, 0640, SHM_UID, SHM_GID);
	if (ds.shm_segsz != len) {
		test_msg("FAIL: segment %d: size %zu, expected %zu", id, (size_t)ds.shm_segsz, len);
		bad++;
	}
	if (ds.shm_nattch != (mapped ? 1 : 0)) {
		test_msg("FAIL: segment %d: %lu attaches, expected %d", id, (unsigned long)ds.shm_nattch,
			 mapped ? 1 : 0);
		bad++;
	}
	p = shmat(id, NULL, SHM_RDONLY);
	if (p == (void *)-1) {
		test_msg("FAIL: segment %d: shmat: %m", id);
		return bad + 1;
	}
	off = pattern_check(p, len & ~7UL, seed);
	if (off >= 0) {
		test_msg("FAIL: segment %d: the pattern differs at offset %#lx", id, off);
		bad++;
	}
	if (mapped) {
		/* The old mapping is still this segment: a write shows here. */
		off = pattern_check(mapped, len & ~7UL, seed);
		if (off >= 0) {
			test_msg("FAIL: segment %d's old mapping: the pattern differs at offset %#lx", id, off);
			bad++;
		}
		((volatile uint64_t *)mapped)[3] = 0x5151515151ULL;
		if (((volatile uint64_t *)p)[3] != 0x5151515151ULL) {
			test_msg("FAIL: segment %d: a write to the old mapping does not show in a new attach", id);
			bad++;
		}
	}
	shmdt(p);
	return bad;
}

static int check_sem(void)
{
	unsigned short vals[NR_SEMS + 1];
	struct semid_ds ds;
	union semun arg;
	int bad;

	if (semget(SEM_KEY, 0, 0) != sem_id) {
		test_msg("FAIL: semaphore key %#x has id %d, expected %d", SEM_KEY, semget(SEM_KEY, 0, 0), sem_id);
		return 1;
	}
	arg.buf = &ds;
	if (semctl(sem_id, 0, IPC_STAT, arg)) {
		test_msg("FAIL: semaphore set %d: IPC_STAT: %m", sem_id);
		return 1;
	}
	bad = check_perm("semaphore set", sem_id, &ds.sem_perm, SEM_KEY, 0660, SEM_UID, SEM_GID);
	if (ds.sem_nsems != NR_SEMS) {
		test_msg("FAIL: semaphore set %d: %lu semaphores, expected %d", sem_id,
			 (unsigned long)ds.sem_nsems, NR_SEMS);
		return bad + 1;
	}
	arg.array = vals;
	if (semctl(sem_id, 0, GETALL, arg)) {
		test_msg("FAIL: semaphore set %d: GETALL: %m", sem_id);
		return bad + 1;
	}
	for (int i = 0; i < NR_SEMS; i++)
		if (vals[i] != sem_vals[i]) {
			test_msg("FAIL: semaphore %d of set %d is %u, expected %u", i, sem_id, vals[i], sem_vals[i]);
			bad++;
		}
	return bad;
}

static int check_msg(void)
{
	size_t bytes = 0;
	struct msqid_ds ds;
	struct zmsg m;
	ssize_t n;
	int bad;

	if (msgget(MSG_KEY, 0) != msg_id) {
		test_msg("FAIL: queue key %#x has id %d, expected %d", MSG_KEY, msgget(MSG_KEY, 0), msg_id);
		return 1;
	}
	if (msgctl(msg_id, IPC_STAT, &ds)) {
		test_msg("FAIL: queue %d: IPC_STAT: %m", msg_id);
		return 1;
	}
	bad = check_perm("queue", msg_id, &ds.msg_perm, MSG_KEY, 0620, MSG_UID, MSG_GID);
	for (int i = 0; i < NR_MSGS; i++)
		bytes += strlen(msgs[i].text);
	if (ds.msg_qbytes != MSG_QBYTES) {
		test_msg("FAIL: queue %d: qbytes %lu, expected %d", msg_id, (unsigned long)ds.msg_qbytes, MSG_QBYTES);
		bad++;
	}
	if (ds.msg_qnum != NR_MSGS || ds.__msg_cbytes != bytes) {
		test_msg("FAIL: queue %d: %lu messages of %lu bytes, expected %d of %zu", msg_id,
			 (unsigned long)ds.msg_qnum, (unsigned long)ds.__msg_cbytes, NR_MSGS, bytes);
		bad++;
	}
	/* By type first (the third message, type 7), then the rest in order. */
	n = msgrcv(msg_id, &m, sizeof(m.text), 7, IPC_NOWAIT);
	if (n != (ssize_t)strlen(msgs[2].text) || m.type != 7 || memcmp(m.text, msgs[2].text, n)) {
		test_msg("FAIL: queue %d: the message of type 7 is not there or differs (%zd bytes)", msg_id, n);
		bad++;
	}
	for (int i = 0; i < NR_MSGS; i++) {
		if (i == 2)
			continue;
		memset(&m, 0, sizeof(m));
		n = msgrcv(msg_id, &m, sizeof(m.text), 0, IPC_NOWAIT);
		if (n < 0) {
			test_msg("FAIL: queue %d: message %d: msgrcv: %m", msg_id, i);
			return bad + 1;
		}
		if (m.type != msgs[i].type || n != (ssize_t)strlen(msgs[i].text) || memcmp(m.text, msgs[i].text, n)) {
			test_msg("FAIL: queue %d: message %d is type %ld '%.*s', expected type %ld '%s'", msg_id, i,
				 m.type, (int)n, m.text, msgs[i].type, msgs[i].text);
			bad++;
		}
	}
	if (msgrcv(msg_id, &m, sizeof(m.text), 0, IPC_NOWAIT) >= 0) {
		test_msg("FAIL: queue %d: holds a message more than was sent", msg_id);
		bad++;
	}
	return bad;
}

int main(int argc, char **argv)
{
	int bad = 0;

	test_init(argc, argv);
	if (getpid() != 1)
		fail("not pid 1 of a pid namespace (pid %d): run in the ns flavor", getpid());
	setup();

	test_ready();
	test_wait_checkpoint();

	bad += sysctl_check("msgmax", MSGMAX);
	bad += sysctl_check("shmmax", SHMMAX);
	bad += sysctl_check("sem", SEM);
	bad += check_shm(shm_a, SHM_KEY_A, SHM_LEN_A, SEED_A, area_a);
	bad += check_shm(shm_b, SHM_KEY_B, SHM_LEN_B, SEED_B, NULL);
	bad += check_sem();
	bad += check_msg();
	shmctl(shm_a, IPC_RMID, NULL);
	shmctl(shm_b, IPC_RMID, NULL);
	semctl(sem_id, 0, IPC_RMID);
	msgctl(msg_id, IPC_RMID, NULL);
	if (bad)
		fail("%d ipc check(s) failed", bad);
	pass();
}
