#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "log.h"
#include "proc-parse.h"

/*
 * A chrooted task's paths, as /proc shows them, are from the top of the
 * mount namespace: proc_mnt_path() climbs from its root back up there.
 */
static void test_live_mnt_path(void)
{
	char dir[] = "/tmp/cr-unit-mnt-XXXXXX", path[PATH_MAX], want[64];
	struct stat a, b;
	int go[2];
	pid_t pid;

	CU_ASSERT_EQUAL_FATAL(proc_mnt_path(getpid(), "/etc", path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "/proc/%d/root/etc", getpid());
	CU_ASSERT_STRING_EQUAL(path, want);

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	CU_ASSERT_EQUAL_FATAL(pipe(go), 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (!pid) {
		char c;

		close(go[1]);
		if (chroot(dir))
			_exit(1);
		(void)!read(go[0], &c, 1);
		_exit(0);
	}
	close(go[0]);
	/* the child's root reads as the directory once it is chrooted */
	snprintf(want, sizeof(want), "/proc/%d/root", pid);
	for (int i = 0; i < 1000; i++) {
		ssize_t n = readlink(want, path, sizeof(path) - 1);

		if (n > 0 && (path[n] = 0, !strcmp(path, dir)))
			break;
		usleep(1000);
	}
	CU_ASSERT_EQUAL(proc_mnt_path(pid, "/etc", path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "/proc/%d/root/../../etc", pid);
	CU_ASSERT_STRING_EQUAL(path, want);
	CU_ASSERT(stat(path, &a) == 0 && stat("/etc", &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	close(go[1]);
	waitpid(pid, NULL, 0);
	rmdir(dir);
}

int unit_register_proc_parse(void);

/*
 * Expected failures log an error; keep them off the test output but keep
 * log_last_error() so tests can check the message.
 */
static int saved_level;
static void quiet_begin(void)
{
	saved_level = log_get_level();
	log_set_level(LOG_MSG);
	log_clear_last_error();
}
static void quiet_end(void) { log_set_level(saved_level); }

/* ---- maps ---------------------------------------------------------------- */

/* A dynamically linked program on 6.18 plus the odd kinds of VMA. */
static const char maps_typical[] =
"55950b8bd000-55950b8bf000 r--p 00000000 fe:00 247134                     /usr/bin/cat\n"
"55950b8bf000-55950b8c4000 r-xp 00002000 fe:00 247134                     /usr/bin/cat\n"
"55950b8c8000-55950b8c9000 rw-p 0000a000 fe:00 247134                     /usr/bin/cat\n"
"5595206b3000-5595206d4000 rw-p 00000000 00:00 0                          [heap]\n"
"7fb0c5b26000-7fb0c5b48000 rw-p 00000000 00:00 0 \n"
"7fb0c5b48000-7fb0c5b9f000 r--p 00000000 fe:00 320475                     /usr/lib/locale/C.utf8/LC_CTYPE\n"
"7fb0c5bcf000-7fb0c5d25000 r-xp 00026000 fe:00 332835                     /usr/lib/x86_64-linux-gnu/libc.so.6\n"
"7fb0c5d8e000-7fb0c5d95000 r--s 00000000 fe:00 332280                     /usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache\n"
"7fb0c5d96000-7fb0c5d98000 rw-s 00000000 00:01 2051                       /dev/zero (deleted)\n"
"7fb0c5d98000-7fb0c5d9c000 r--p 00000000 00:00 0                          [vvar]\n"
"7fb0c5d9c000-7fb0c5d9e000 r--p 00000000 00:00 0                          [vvar_vclock]\n"
"7fb0c5d9e000-7fb0c5da0000 r-xp 00000000 00:00 0                          [vdso]\n"
"7fb0c5da0000-7fb0c5da1000 rw-p 00000000 00:00 0                          [anon:my arena]\n"
"7fb0c5da1000-7fb0c5da2000 rw-s 00000000 00:01 7                          [anon_shmem:shm name]\n"
"7fb0c5da2000-7fb0c5da3000 rw-s 00000000 00:01 9                          /memfd:buf (deleted)\n"
"7ffc9aad0000-7ffc9aaf1000 rw-p 00000000 00:00 0                          [stack]\n"
"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

static void test_maps_typical(void)
{
	struct proc_maps m = { 0 };
	struct proc_vma *v;

	CU_ASSERT_EQUAL_FATAL(parse_maps_buf(maps_typical, &m), 0);
	CU_ASSERT_EQUAL_FATAL(m.nr, 17);
	v = m.vmas;

	CU_ASSERT_EQUAL(v[0].start, 0x55950b8bd000ULL);
	CU_ASSERT_EQUAL(v[0].end, 0x55950b8bf000ULL);
	CU_ASSERT_EQUAL(v[0].prot, PROT_READ);
	CU_ASSERT_FALSE(v[0].shared);
	CU_ASSERT_EQUAL(v[0].dev_major, 0xfe);
	CU_ASSERT_EQUAL(v[0].dev_minor, 0);
	CU_ASSERT_EQUAL(v[0].ino, 247134);
	CU_ASSERT_STRING_EQUAL(v[0].path, "/usr/bin/cat");
	CU_ASSERT_FALSE(v[0].deleted);

	CU_ASSERT_EQUAL(v[1].prot, PROT_READ | PROT_EXEC);
	CU_ASSERT_EQUAL(v[1].pgoff, 0x2000);
	CU_ASSERT_EQUAL(v[2].prot, PROT_READ | PROT_WRITE);
	CU_ASSERT_EQUAL(v[2].pgoff, 0xa000);

	CU_ASSERT_STRING_EQUAL(v[3].path, "[heap]");

	/* anonymous: the kernel prints "inode " and nothing after */
	CU_ASSERT_PTR_NULL(v[4].path);
	CU_ASSERT_EQUAL(v[4].ino, 0);
	CU_ASSERT_EQUAL(v[4].prot, PROT_READ | PROT_WRITE);

	CU_ASSERT_TRUE(v[7].shared);
	CU_ASSERT_EQUAL(v[7].prot, PROT_READ);
	CU_ASSERT_STRING_EQUAL(v[7].path, "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache");

	/* shared anonymous memory is a deleted /dev/zero on shmem */
	CU_ASSERT_TRUE(v[8].shared);
	CU_ASSERT_TRUE(v[8].deleted);
	CU_ASSERT_STRING_EQUAL(v[8].path, "/dev/zero");
	CU_ASSERT_EQUAL(v[8].dev_minor, 1);
	CU_ASSERT_EQUAL(v[8].ino, 2051);

	CU_ASSERT_STRING_EQUAL(v[9].path, "[vvar]");
	CU_ASSERT_STRING_EQUAL(v[10].path, "[vvar_vclock]");
	CU_ASSERT_STRING_EQUAL(v[11].path, "[vdso]");
	CU_ASSERT_EQUAL(v[11].prot, PROT_READ | PROT_EXEC);
	CU_ASSERT_STRING_EQUAL(v[12].path, "[anon:my arena]");
	CU_ASSERT_STRING_EQUAL(v[13].path, "[anon_shmem:shm name]");
	CU_ASSERT_TRUE(v[13].shared);
	CU_ASSERT_STRING_EQUAL(v[14].path, "/memfd:buf");
	CU_ASSERT_TRUE(v[14].deleted);
	CU_ASSERT_STRING_EQUAL(v[15].path, "[stack]");

	CU_ASSERT_EQUAL(v[16].start, 0xffffffffff600000ULL);
	CU_ASSERT_EQUAL(v[16].end, 0xffffffffff601000ULL);
	CU_ASSERT_EQUAL(v[16].prot, PROT_EXEC);
	CU_ASSERT_STRING_EQUAL(v[16].path, "[vsyscall]");

	proc_maps_free(&m);
	CU_ASSERT_PTR_NULL(m.vmas);
	CU_ASSERT_EQUAL(m.nr, 0);
	proc_maps_free(&m);	/* twice is harmless */
}

static void test_maps_odd_names(void)
{
	static const char buf[] =
	"7f0000000000-7f0000001000 r--p 00000000 fe:00 11                         /tmp/a b  c\n"
	"7f0000001000-7f0000002000 r--p 00000000 fe:00 12                         /tmp/new\\012line\n"
	"7f0000002000-7f0000003000 r--p 00000000 fe:00 13                         /tmp/gone (deleted)\n"
	"7f0000003000-7f0000004000 r--p 00000000 fe:00 14                         /tmp/x (y)\n"
	"7f0000004000-7f0000005000 r--p 00000000 fe:00 15                         /tmp/ \\012 \\012\\012 (deleted)\n"
	"7f0000005000-7f0000006000 r--p 00000000 fe:00 16                         /tmp/trailing \n"
	"7f0000006000-7f0000007000 r--p 00000000 fe:00 17                         /tmp/bs\\01\n"
	"7f0000007000-7f0000008000 r--p 00000000 fe:00 18                         /tmp/(deleted)\n"
	/* no newline at the end of the text */
	"7f0000008000-7f0000009000 r--p 00000000 fe:00 19                         /tmp/last";
	struct proc_maps m = { 0 };
	char *copy = strdup(buf);

	CU_ASSERT_EQUAL_FATAL(parse_maps_buf(buf, &m), 0);
	CU_ASSERT_EQUAL_FATAL(m.nr, 9);
	CU_ASSERT_STRING_EQUAL(m.vmas[0].path, "/tmp/a b  c");
	CU_ASSERT_FALSE(m.vmas[0].deleted);
	CU_ASSERT_STRING_EQUAL(m.vmas[1].path, "/tmp/new\nline");
	CU_ASSERT_STRING_EQUAL(m.vmas[2].path, "/tmp/gone");
	CU_ASSERT_TRUE(m.vmas[2].deleted);
	CU_ASSERT_STRING_EQUAL(m.vmas[3].path, "/tmp/x (y)");
	CU_ASSERT_FALSE(m.vmas[3].deleted);
	CU_ASSERT_STRING_EQUAL(m.vmas[4].path, "/tmp/ \n \n\n");
	CU_ASSERT_TRUE(m.vmas[4].deleted);
	/* a trailing blank is part of the name */
	CU_ASSERT_STRING_EQUAL(m.vmas[5].path, "/tmp/trailing ");
	/* a backslash not followed by "012" stays as it is */
	CU_ASSERT_STRING_EQUAL(m.vmas[6].path, "/tmp/bs\\01");
	/* only " (deleted)" with its blank is the marker */
	CU_ASSERT_STRING_EQUAL(m.vmas[7].path, "/tmp/(deleted)");
	CU_ASSERT_FALSE(m.vmas[7].deleted);
	CU_ASSERT_STRING_EQUAL(m.vmas[8].path, "/tmp/last");
	CU_ASSERT_EQUAL(m.vmas[8].ino, 19);

	/* the caller's text is not touched: parsing works on a copy */
	CU_ASSERT_STRING_EQUAL(buf, copy);
	free(copy);
	proc_maps_free(&m);
}

static void test_maps_empty(void)
{
	struct proc_maps m = { .nr = 99 };

	CU_ASSERT_EQUAL_FATAL(parse_maps_buf("", &m), 0);
	CU_ASSERT_EQUAL(m.nr, 0);
	proc_maps_free(&m);
}

static void test_maps_malformed(void)
{
	static const char *bad[] = {
		"7f00-7f01 r--p 00000000 fe:00 11 /x\nnonsense\n",
		"7f00-7f01 rwzp 00000000 fe:00 11 /x\n",
		"7f00-7f01 r--q 00000000 fe:00 11 /x\n",
		"7f00-7f01 r-- 00000000 fe:00 11 /x\n",
		"7f00 r--p 00000000 fe:00 11 /x\n",
		"7f00-7f01 r--p 00000000 fe00 11 /x\n",
		"7f00-7f01 r--p 00000000 fe:00 /x\n",
		"7f00-7f01 r--p 00000000 fe:00 11/x\n",
		"7f00-7f01 r--p 0000zz00 fe:00 11 /x\n",
		"7f02-7f01 r--p 00000000 fe:00 11 /x\n",
		"17f00000000000000-7f01 r--p 00000000 fe:00 11 /x\n",
		"7f00-7f01 r--p 00000000 fe:00 11 /x\n\n7f02-7f03 r--p 00000000 fe:00 11 /x\n",
		"7f00-7f01 r\n",
	};
	struct proc_maps m = { 0 };
	unsigned i;

	quiet_begin();
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		int ret = parse_maps_buf(bad[i], &m);

		CU_ASSERT_EQUAL(ret, -EINVAL);
		if (ret != -EINVAL)
			fprintf(stderr, "bad maps %u parsed: %d\n", i, ret);
		CU_ASSERT_PTR_NULL(m.vmas);	/* untouched on failure */
	}
	/* the message names the file, the line number and quotes it */
	CU_ASSERT_EQUAL(parse_maps_buf(bad[0], &m), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(log_last_error());
	CU_ASSERT_STRING_EQUAL(log_last_error(),
			       "maps: line 2 does not parse: 'nonsense'");
	quiet_end();
}

/* ---- stat ---------------------------------------------------------------- */

/* fields 3..52 of a real stat line after "PID (COMM)" */
#define STAT_TAIL " S 2970 2971 2318 34816 -1 4194304 100 0 0 0 0 0 0 0 20 0 3 0 27459 " \
	"3133440 380 18446744073709551615 93991849586688 93991849606569 140737013384704 " \
	"0 0 0 65536 0 0 0 0 0 17 1 0 0 0 0 0 93991849622576 93991849624192 " \
	"93992053616640 140737013389952 140737013389972 140737013389972 140737013391339 0\n"

/* fields 1..51 of a zombie's stat: the kernel zeroes what it hides */
#define STAT_ZOMBIE_1_51 "8 (z) Z 1 8 8 0 -1 4227084 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0 " \
	"18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0"

static void test_stat_comm(void)
{
	struct proc_stat st;

	CU_ASSERT_EQUAL_FATAL(parse_stat_buf("2979 (a) b (c)" STAT_TAIL, &st), 0);
	CU_ASSERT_EQUAL(st.pid, 2979);
	CU_ASSERT_STRING_EQUAL(st.comm, "a) b (c");
	CU_ASSERT_EQUAL(st.state, 'S');
	CU_ASSERT_EQUAL(st.ppid, 2970);
	CU_ASSERT_EQUAL(st.pgid, 2971);
	CU_ASSERT_EQUAL(st.sid, 2318);
	CU_ASSERT_EQUAL(st.flags, 4194304);
	CU_ASSERT_EQUAL(st.num_threads, 3);
	CU_ASSERT_EQUAL(st.start_code, 93991849586688ULL);
	CU_ASSERT_EQUAL(st.end_code, 93991849606569ULL);
	CU_ASSERT_EQUAL(st.start_stack, 140737013384704ULL);
	CU_ASSERT_EQUAL(st.exit_signal, 17);
	CU_ASSERT_EQUAL(st.start_data, 93991849622576ULL);
	CU_ASSERT_EQUAL(st.end_data, 93991849624192ULL);
	CU_ASSERT_EQUAL(st.start_brk, 93992053616640ULL);
	CU_ASSERT_EQUAL(st.arg_start, 140737013389952ULL);
	CU_ASSERT_EQUAL(st.arg_end, 140737013389972ULL);
	CU_ASSERT_EQUAL(st.env_start, 140737013389972ULL);
	CU_ASSERT_EQUAL(st.env_end, 140737013391339ULL);
	CU_ASSERT_EQUAL(st.exit_code, 0);

	CU_ASSERT_EQUAL(parse_stat_buf("7 (  sp ace  )" STAT_TAIL, &st), 0);
	CU_ASSERT_STRING_EQUAL(st.comm, "  sp ace  ");
	CU_ASSERT_EQUAL(parse_stat_buf("7 ())" STAT_TAIL, &st), 0);
	CU_ASSERT_STRING_EQUAL(st.comm, ")");
	CU_ASSERT_EQUAL(parse_stat_buf("7 ()" STAT_TAIL, &st), 0);
	CU_ASSERT_STRING_EQUAL(st.comm, "");
	/* PR_SET_NAME takes any byte, a newline included */
	CU_ASSERT_EQUAL(parse_stat_buf("7 (x\ny)" STAT_TAIL, &st), 0);
	CU_ASSERT_STRING_EQUAL(st.comm, "x\ny");
	/* workqueue workers print names longer than TASK_COMM_LEN */
	CU_ASSERT_EQUAL(parse_stat_buf("7 (kworker/u8:1-events_unbound-and-a-very-long-suffix-that-goes-past-64)"
				       STAT_TAIL, &st), 0);
	CU_ASSERT_EQUAL(strlen(st.comm), sizeof(st.comm) - 1);
	CU_ASSERT_EQUAL(strncmp(st.comm, "kworker/u8:1-events", 19), 0);
	/* a zombie: state Z, exit code in field 52 */
	CU_ASSERT_EQUAL(parse_stat_buf(STAT_ZOMBIE_1_51 " 256\n", &st), 0);
	CU_ASSERT_EQUAL(st.state, 'Z');
	CU_ASSERT_EQUAL(st.exit_code, 256);
	/* a later kernel appending fields is fine */
	CU_ASSERT_EQUAL(parse_stat_buf(STAT_ZOMBIE_1_51 " 256 42 43\n", &st), 0);
	CU_ASSERT_EQUAL(st.exit_code, 256);
}

static void test_stat_malformed(void)
{
	static const char *bad[] = {
		"",
		"2979 cat S 1\n",
		"2979 (cat S 1\n",
		"2979 )cat( S 1\n",
		"x (cat)" STAT_TAIL,
		"2979(cat)" STAT_TAIL,
		"2979 (cat)SS 1\n",
		STAT_ZOMBIE_1_51 "\n",		/* truncated before exit_code */
		STAT_ZOMBIE_1_51 " \n",
		STAT_ZOMBIE_1_51 " 256x\n",
		STAT_ZOMBIE_1_51 " 18446744073709551616\n",	/* 2^64 */
		STAT_ZOMBIE_1_51 " --1\n",
	};
	struct proc_stat st = { .pid = 12345 };
	unsigned i;

	quiet_begin();
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		int ret = parse_stat_buf(bad[i], &st);

		CU_ASSERT_EQUAL(ret, -EINVAL);
		if (ret != -EINVAL)
			fprintf(stderr, "bad stat %u parsed: %d\n", i, ret);
	}
	CU_ASSERT_EQUAL(st.pid, 12345);	/* untouched on failure */
	quiet_end();
}

/* ---- status -------------------------------------------------------------- */

static const char status_kthread[] =
	"Name:\tkthreadd\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t2\nNgid:\t0\n"
	"Pid:\t2\nPPid:\t0\nTracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n"
	"FDSize:\t64\nGroups:\t \nNStgid:\t2\nNSpid:\t2\nNSpgid:\t0\nNSsid:\t0\n"
	"Kthread:\t1\nThreads:\t1\nSigQ:\t0/96364\nSigPnd:\t0000000000000000\n"
	"ShdPnd:\t0000000000000000\nSigBlk:\t0000000000000000\n"
	"SigIgn:\tffffffffffffffff\nSigCgt:\t0000000000000000\n"
	"CapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\n"
	"CapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\n"
	"CapAmb:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t0\n"
	"Seccomp_filters:\t0\nSpeculation_Store_Bypass:\tvulnerable\n"
	"Cpus_allowed:\t3\nCpus_allowed_list:\t0-1\n"
	"voluntary_ctxt_switches:\t60\nnonvoluntary_ctxt_switches:\t0\n";

static const char status_user[] =
	"Name:\tmy\\\\pro\\ncess\nUmask:\t0027\nState:\tt (tracing stop)\nTgid:\t2975\n"
	"Ngid:\t0\nPid:\t2976\nPPid:\t2970\nTracerPid:\t4242\n"
	"Uid:\t1000\t1001\t1002\t1003\nGid:\t100\t101\t102\t4294967294\n"
	"FDSize:\t256\nGroups:\t24 25 \nNStgid:\t2975\nNSpid:\t2976\n"
	"NSpgid:\t2970\nNSsid:\t2318\nKthread:\t0\nVmPeak:\t    3060 kB\n"
	"VmSize:\t    3060 kB\nThreads:\t4\nSigQ:\t1/96364\n"
	"SigPnd:\t0000000000000100\nShdPnd:\t0000000000004000\n"
	"SigBlk:\tfffffffe7ffbfeff\nSigIgn:\t0000000000001000\n"
	"SigCgt:\t0000000180004a02\nCapInh:\t0000000000000001\n"
	"CapPrm:\t000001fffeffffff\nCapEff:\t000001fffeffffff\n"
	"CapBnd:\t000001fffeffffff\nCapAmb:\t0000000000000400\n"
	"NoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n"
	"Mems_allowed_list:\t0\n";

static void test_status_kthread(void)
{
	struct proc_status st;

	CU_ASSERT_EQUAL_FATAL(parse_status_buf(status_kthread, &st), 0);
	CU_ASSERT_STRING_EQUAL(st.name, "kthreadd");
	CU_ASSERT_TRUE(st.kthread);
	CU_ASSERT_EQUAL(st.state, 'S');
	CU_ASSERT_EQUAL(st.tgid, 2);
	CU_ASSERT_EQUAL(st.pid, 2);
	CU_ASSERT_EQUAL(st.ppid, 0);
	CU_ASSERT_EQUAL(st.umask, 022);
	CU_ASSERT_EQUAL(st.sig_ign, UINT64_MAX);
	CU_ASSERT_EQUAL(st.cap_bnd, 0x1ffffffffffULL);
	CU_ASSERT_EQUAL(st.threads, 1);
}

static void test_status_user(void)
{
	struct proc_status st;

	CU_ASSERT_EQUAL_FATAL(parse_status_buf(status_user, &st), 0);
	CU_ASSERT_STRING_EQUAL(st.name, "my\\pro\ncess");
	CU_ASSERT_FALSE(st.kthread);
	CU_ASSERT_EQUAL(st.umask, 027);
	CU_ASSERT_EQUAL(st.state, 't');
	CU_ASSERT_EQUAL(st.tgid, 2975);
	CU_ASSERT_EQUAL(st.pid, 2976);
	CU_ASSERT_EQUAL(st.ppid, 2970);
	CU_ASSERT_EQUAL(st.tracer_pid, 4242);
	CU_ASSERT_EQUAL(st.uid[0], 1000);
	CU_ASSERT_EQUAL(st.uid[1], 1001);
	CU_ASSERT_EQUAL(st.uid[2], 1002);
	CU_ASSERT_EQUAL(st.uid[3], 1003);
	CU_ASSERT_EQUAL(st.gid[0], 100);
	CU_ASSERT_EQUAL(st.gid[3], 4294967294U);
	CU_ASSERT_EQUAL(st.threads, 4);
	CU_ASSERT_EQUAL(st.sig_pnd, 0x100);
	CU_ASSERT_EQUAL(st.shd_pnd, 0x4000);
	CU_ASSERT_EQUAL(st.sig_blk, 0xfffffffe7ffbfeffULL);
	CU_ASSERT_EQUAL(st.sig_ign, 0x1000);
	CU_ASSERT_EQUAL(st.sig_cgt, 0x180004a02ULL);
	CU_ASSERT_EQUAL(st.cap_inh, 1);
	CU_ASSERT_EQUAL(st.cap_prm, 0x1fffeffffffULL);
	CU_ASSERT_EQUAL(st.cap_eff, 0x1fffeffffffULL);
	CU_ASSERT_EQUAL(st.cap_amb, 0x400);
	CU_ASSERT_EQUAL(st.no_new_privs, 1);
	CU_ASSERT_EQUAL(st.seccomp, 2);
}

/* An old kernel: no Umask, Kthread, CapAmb, NoNewPrivs, Seccomp. */
static void test_status_old_kernel(void)
{
	static const char buf[] =
		"Name:\tbash\nState:\tS (sleeping)\nTgid:\t10\nPid:\t10\nPPid:\t1\n"
		"TracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nThreads:\t1\n"
		"SigPnd:\t0\nShdPnd:\t0\nSigBlk:\t0\nSigIgn:\t0\nSigCgt:\t0\n"
		"CapInh:\t0\nCapPrm:\t0\nCapEff:\t0\nCapBnd:\tffffffff\n";
	struct proc_status st;

	memset(&st, 0xff, sizeof(st));
	CU_ASSERT_EQUAL_FATAL(parse_status_buf(buf, &st), 0);
	CU_ASSERT_FALSE(st.kthread);
	CU_ASSERT_EQUAL(st.umask, 0);
	CU_ASSERT_EQUAL(st.no_new_privs, 0);
	CU_ASSERT_EQUAL(st.seccomp, 0);
	CU_ASSERT_EQUAL(st.cap_amb, 0);
	CU_ASSERT_EQUAL(st.cap_bnd, 0xffffffffULL);
}

/* status escapes only newline and backslash in Name: blanks are kept */
static void test_status_name_blanks(void)
{
	_cleanup_free_ char *buf = strdup(status_user);
	struct proc_status st;
	char *p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	p = strstr(buf, "my\\\\pro\\ncess");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	/* same length (13) as the name it replaces */
	memcpy(p, " a\tb c \\n   z", 13);
	CU_ASSERT_EQUAL_FATAL(parse_status_buf(buf, &st), 0);
	CU_ASSERT_STRING_EQUAL(st.name, " a\tb c \n   z");
}

static void test_status_malformed(void)
{
	struct proc_status st = { .pid = 12345 };
	_cleanup_free_ char *no_uid = strdup(status_user);
	_cleanup_free_ char *bad_gid = strdup(status_user);
	_cleanup_free_ char *bad_sig = strdup(status_user);

	CU_ASSERT_PTR_NOT_NULL_FATAL(no_uid && bad_gid && bad_sig);
	/* rename the key so the line is skipped and Uid goes missing */
	memcpy(strstr(no_uid, "Uid:"), "Xid:", 4);
	/* three ids only */
	memcpy(strstr(bad_gid, "\t4294967294\n"), "\n\n\n\n\n\n\n\n\n\n\n\n", 12);
	memcpy(strstr(bad_sig, "fffffffe7ffbfeff"), "fffffffe7ffbfefg", 16);

	quiet_begin();
	CU_ASSERT_EQUAL(parse_status_buf(no_uid, &st), -EINVAL);
	CU_ASSERT_STRING_EQUAL(log_last_error(), "status: no 'Uid:' line");
	CU_ASSERT_EQUAL(parse_status_buf(bad_gid, &st), -EINVAL);
	CU_ASSERT_EQUAL(parse_status_buf(bad_sig, &st), -EINVAL);
	CU_ASSERT_EQUAL(parse_status_buf("", &st), -EINVAL);
	CU_ASSERT_EQUAL(st.pid, 12345);
	quiet_end();
}

/* ---- fdinfo -------------------------------------------------------------- */

static void test_fdinfo(void)
{
	struct proc_fdinfo fi;

	CU_ASSERT_EQUAL_FATAL(parse_fdinfo_buf(
		"pos:\t1221\nflags:\t02100002\nmnt_id:\t27\nino:\t861\n"
		"lock:\t1: POSIX  ADVISORY  WRITE 3021 fe:00:861 0 EOF\n", &fi), 0);
	CU_ASSERT_EQUAL(fi.pos, 1221);
	/*
	 * Raw kernel bits: 0100000 is the kernel's O_LARGEFILE, forced on
	 * 64-bit, while glibc's x86-64 O_LARGEFILE is 0.
	 */
	CU_ASSERT_EQUAL(fi.flags, 02100002);
	CU_ASSERT_EQUAL(fi.flags & ~0100000, O_CLOEXEC | O_RDWR);
	CU_ASSERT_EQUAL(fi.mnt_id, 27);
	CU_ASSERT_EQUAL(fi.ino, 861);

	/* eventfd: padded extra keys */
	CU_ASSERT_EQUAL_FATAL(parse_fdinfo_buf(
		"pos:\t0\nflags:\t02004002\nmnt_id:\t17\nino:\t1030\n"
		"eventfd-count:                5\neventfd-id: 1\neventfd-semaphore: 0\n",
		&fi), 0);
	CU_ASSERT_EQUAL(fi.pos, 0);
	CU_ASSERT_EQUAL(fi.flags, O_CLOEXEC | O_NONBLOCK | O_RDWR);
	CU_ASSERT_EQUAL(fi.mnt_id, 17);
	CU_ASSERT_EQUAL(fi.ino, 1030);

	/* older kernel without "ino:"; an inotify line holding "ino:" is not it */
	CU_ASSERT_EQUAL_FATAL(parse_fdinfo_buf(
		"pos:\t0\nflags:\t02000000\nmnt_id:\t15\n"
		"inotify wd:1 ino:99 sdev:800001 mask:fff ignored_mask:0\n"
		"no colon here\n", &fi), 0);
	CU_ASSERT_EQUAL(fi.ino, 0);
	CU_ASSERT_EQUAL(fi.mnt_id, 15);

	quiet_begin();
	CU_ASSERT_EQUAL(parse_fdinfo_buf("pos:\t0\nmnt_id:\t15\n", &fi), -EINVAL);
	CU_ASSERT_STRING_EQUAL(log_last_error(), "fdinfo: no 'flags:' line");
	CU_ASSERT_EQUAL(parse_fdinfo_buf("pos:\t0\nflags:\t02000009\nmnt_id:\t15\n", &fi), -EINVAL);
	CU_ASSERT_EQUAL(parse_fdinfo_buf("pos:\t-1\nflags:\t0\nmnt_id:\t15\n", &fi), -EINVAL);
	CU_ASSERT_EQUAL(parse_fdinfo_buf("pos:\t1 2\nflags:\t0\nmnt_id:\t15\n", &fi), -EINVAL);
	quiet_end();
}

/* ---- live: this very process --------------------------------------------- */

static void test_live_maps(void)
{
	struct proc_maps m = { 0 };
	uintptr_t text = (uintptr_t)&test_live_maps;
	uintptr_t vdso = getauxval(AT_SYSINFO_EHDR);	/* 0 under valgrind */
	char exe[PATH_MAX];
	struct stat sb;
	ssize_t n;
	unsigned i;
	bool found = false, vdso_found = false;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	CU_ASSERT_FATAL(n > 0);
	exe[n] = '\0';

	CU_ASSERT_EQUAL_FATAL(proc_parse_maps(getpid(), &m), 0);
	CU_ASSERT(m.nr > 5);
	for (i = 0; i < m.nr; i++) {
		const struct proc_vma *v = &m.vmas[i];

		if (i)
			CU_ASSERT(v->start >= m.vmas[i - 1].end);
		if (vdso && v->start == vdso) {
			CU_ASSERT_PTR_NOT_NULL_FATAL(v->path);
			CU_ASSERT_STRING_EQUAL(v->path, "[vdso]");
			vdso_found = true;
		}
		if (text < v->start || text >= v->end)
			continue;
		found = true;
		CU_ASSERT(v->prot & PROT_EXEC);
		CU_ASSERT_FALSE(v->shared);
		CU_ASSERT_PTR_NOT_NULL_FATAL(v->path);
		CU_ASSERT_STRING_EQUAL(v->path, exe);
		/* dev and ino columns name the same file */
		CU_ASSERT_EQUAL_FATAL(stat(v->path, &sb), 0);
		CU_ASSERT_EQUAL(v->ino, sb.st_ino);
		CU_ASSERT_EQUAL(v->dev_major, major(sb.st_dev));
		CU_ASSERT_EQUAL(v->dev_minor, minor(sb.st_dev));
	}
	CU_ASSERT_TRUE(found);
	CU_ASSERT_EQUAL(vdso_found, vdso != 0);
	proc_maps_free(&m);
}

/*
 * Thousands of VMAs: checks the growing read buffer and array, and that
 * parsing stays fast (the whole read+parse is timed generously, it takes
 * a few ms).
 */
#define MANY_VMAS	4000

static void test_live_maps_many(void)
{
	struct proc_maps m = { 0 };
	size_t len = 2 * MANY_VMAS * PAGE_SIZE;
	struct timespec t0, t1;
	unsigned i, hits = 0;
	char *area;
	double ms;

	area = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(area != MAP_FAILED);
	/* alternate protections so the kernel can't merge the VMAs */
	for (i = 0; i < 2 * MANY_VMAS; i += 2)
		CU_ASSERT_EQUAL(mprotect(area + i * PAGE_SIZE, PAGE_SIZE,
					 PROT_READ | PROT_WRITE), 0);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	CU_ASSERT_EQUAL_FATAL(proc_parse_maps(getpid(), &m), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;

	CU_ASSERT(m.nr >= 2 * MANY_VMAS);
	for (i = 0; i < m.nr; i++) {
		const struct proc_vma *v = &m.vmas[i];

		if (v->start >= (uintptr_t)area && v->end <= (uintptr_t)area + len) {
			CU_ASSERT_EQUAL(v->end - v->start, PAGE_SIZE);
			CU_ASSERT_PTR_NULL(v->path);
			hits++;
		}
	}
	CU_ASSERT_EQUAL(hits, 2 * MANY_VMAS);
	CU_ASSERT(ms < 500);
	proc_maps_free(&m);
	munmap(area, len);
}

static void test_live_stat_status(void)
{
	struct proc_stat st;
	struct proc_status ss;

	CU_ASSERT_EQUAL_FATAL(proc_parse_stat(getpid(), &st), 0);
	CU_ASSERT_EQUAL(st.pid, getpid());
	CU_ASSERT_EQUAL(st.ppid, getppid());
	CU_ASSERT_EQUAL(st.pgid, getpgrp());
	CU_ASSERT_EQUAL(st.sid, getsid(0));
	CU_ASSERT_EQUAL(st.state, 'R');
	CU_ASSERT(st.num_threads >= 1);
	CU_ASSERT_EQUAL(st.exit_signal, SIGCHLD);
	CU_ASSERT_EQUAL(st.exit_code, 0);
	/*
	 * The mm fields, by their order in the address space (not by our
	 * own addresses: under valgrind they describe valgrind).
	 */
	CU_ASSERT(st.start_code != 0 && st.start_code < st.end_code);
	CU_ASSERT(st.start_data <= st.end_data && st.end_data <= st.start_brk);
	CU_ASSERT(st.start_stack != 0);
	CU_ASSERT(st.arg_start < st.arg_end && st.arg_end <= st.env_start);
	CU_ASSERT(st.env_start <= st.env_end);

	CU_ASSERT_EQUAL_FATAL(proc_parse_status(getpid(), &ss), 0);
	CU_ASSERT_EQUAL(ss.tgid, getpid());
	CU_ASSERT_EQUAL(ss.pid, getpid());
	CU_ASSERT_EQUAL(ss.ppid, getppid());
	CU_ASSERT_EQUAL(ss.uid[0], getuid());
	CU_ASSERT_EQUAL(ss.uid[1], geteuid());
	CU_ASSERT_EQUAL(ss.gid[0], getgid());
	CU_ASSERT_FALSE(ss.kthread);
	CU_ASSERT_EQUAL(ss.threads, st.num_threads);
	/* Name is the same comm, but escaped; plain names agree */
	if (!strpbrk(st.comm, "\\\n"))
		CU_ASSERT_STRING_EQUAL(ss.name, st.comm);
}

static void test_live_fdinfo(void)
{
	char tmpl[] = "/tmp/test-proc-parse-XXXXXX";
	_cleanup_close_ int fd = -EBADF, efd = -EBADF;
	struct proc_fdinfo fi;
	struct stat sb;

	fd = mkostemp(tmpl, O_CLOEXEC | O_APPEND);
	CU_ASSERT_FATAL(fd >= 0);
	unlink(tmpl);
	CU_ASSERT_EQUAL(write(fd, "hello world", 11), 11);
	CU_ASSERT_EQUAL(lseek(fd, 3, SEEK_SET), 3);
	CU_ASSERT_EQUAL_FATAL(fstat(fd, &sb), 0);

	CU_ASSERT_EQUAL_FATAL(proc_parse_fdinfo(getpid(), fd, &fi), 0);
	CU_ASSERT_EQUAL(fi.pos, 3);
	CU_ASSERT(fi.flags & O_CLOEXEC);
	CU_ASSERT(fi.flags & O_APPEND);
	CU_ASSERT_EQUAL(fi.flags & O_ACCMODE, O_RDWR);
	CU_ASSERT_EQUAL(fi.ino, sb.st_ino);
	CU_ASSERT(fi.mnt_id > 0);

	efd = eventfd(5, EFD_NONBLOCK);
	CU_ASSERT_FATAL(efd >= 0);
	CU_ASSERT_EQUAL_FATAL(proc_parse_fdinfo(getpid(), efd, &fi), 0);
	CU_ASSERT(fi.flags & O_NONBLOCK);
	CU_ASSERT_FALSE(fi.flags & O_CLOEXEC);
}

static void test_live_auxv_pagemap(void)
{
	_cleanup_free_ uint64_t *auxv = NULL;
	_cleanup_close_ int pfd = -EBADF;
	unsigned nr = 0, i;
	bool pagesz = false;
	uint64_t entry;

	CU_ASSERT_EQUAL_FATAL(proc_parse_auxv(getpid(), &auxv, &nr), 0);
	CU_ASSERT_FATAL(nr >= 4 && nr % 2 == 0);
	CU_ASSERT_EQUAL(auxv[nr - 2], AT_NULL);
	for (i = 0; i + 2 < nr; i += 2) {
		CU_ASSERT_NOT_EQUAL(auxv[i], AT_NULL);
		if (auxv[i] == AT_PAGESZ) {
			pagesz = true;
			CU_ASSERT_EQUAL(auxv[i + 1], getauxval(AT_PAGESZ));
		}
	}
	CU_ASSERT_TRUE(pagesz);

	/* one pagemap entry per page; a page we just wrote is present */
	pfd = proc_pagemap_open(getpid());
	CU_ASSERT_FATAL(pfd >= 0);
	volatile char page[PAGE_SIZE] __aligned(PAGE_SIZE);
	page[0] = 1;
	CU_ASSERT_EQUAL(pread(pfd, &entry, sizeof(entry),
			      ((uintptr_t)page / PAGE_SIZE) * sizeof(entry)),
			sizeof(entry));
	/* CU_ASSERT() takes an int: test bit 63 (PM_PRESENT) as 0/1 */
	CU_ASSERT_EQUAL(entry >> 63, 1);
}

/* A PID that cannot exist: pid_max is at most 2^22. */
#define NO_SUCH_PID	INT_MAX

static void test_live_errors(void)
{
	struct proc_maps m = { 0 };
	struct proc_stat st;
	struct proc_status ss;
	struct proc_fdinfo fi;
	uint64_t *auxv = NULL;
	unsigned nr;
	char want[128];
	char *buf = NULL;
	size_t len;

	quiet_begin();
	CU_ASSERT_EQUAL(proc_parse_stat(NO_SUCH_PID, &st), -ENOENT);
	snprintf(want, sizeof(want), "/proc/%d/stat: %s", NO_SUCH_PID, strerror(ENOENT));
	CU_ASSERT_STRING_EQUAL(log_last_error(), want);
	CU_ASSERT_EQUAL(proc_parse_maps(NO_SUCH_PID, &m), -ENOENT);
	snprintf(want, sizeof(want), "/proc/%d/maps: %s", NO_SUCH_PID, strerror(ENOENT));
	CU_ASSERT_STRING_EQUAL(log_last_error(), want);
	CU_ASSERT_EQUAL(proc_parse_status(NO_SUCH_PID, &ss), -ENOENT);
	CU_ASSERT_EQUAL(proc_parse_fdinfo(getpid(), 987654, &fi), -ENOENT);
	CU_ASSERT_EQUAL(proc_parse_auxv(NO_SUCH_PID, &auxv, &nr), -ENOENT);
	CU_ASSERT_EQUAL(proc_pagemap_open(NO_SUCH_PID), -ENOENT);
	CU_ASSERT_EQUAL(read_file_at(AT_FDCWD, "/nonexistent/file", &buf, &len), -ENOENT);
	CU_ASSERT_PTR_NULL(buf);
	quiet_end();
}

/* read_file_at: a size-0 proc file longer than one chunk, and a real file. */
static void test_read_file_at(void)
{
	_cleanup_free_ char *buf = NULL, *big = NULL;
	_cleanup_close_ int dfd = -EBADF;
	char tmpl[] = "/tmp/test-proc-parse-XXXXXX";
	_cleanup_close_ int fd = -EBADF;
	const size_t big_len = 100000;
	size_t len = 0, i;

	CU_ASSERT_EQUAL_FATAL(read_file_at(AT_FDCWD, "/proc/self/status", &buf, &len), 0);
	CU_ASSERT_EQUAL(strlen(buf), len);
	CU_ASSERT_EQUAL(strncmp(buf, "Name:", 5), 0);
	free(TAKE_PTR(buf));

	big = malloc(big_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	for (i = 0; i < big_len; i++)
		big[i] = 'a' + i % 26;
	fd = mkstemp(tmpl);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(write(fd, big, big_len), (ssize_t)big_len);

	dfd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CU_ASSERT_FATAL(dfd >= 0);
	CU_ASSERT_EQUAL(read_file_at(dfd, tmpl + strlen("/tmp/"), &buf, &len), 0);
	unlink(tmpl);
	CU_ASSERT_EQUAL_FATAL(len, big_len);
	CU_ASSERT_EQUAL(memcmp(buf, big, big_len), 0);
	CU_ASSERT_EQUAL(buf[big_len], '\0');
	free(TAKE_PTR(buf));

	/* smaps is tens of KB yet reports size 0: the buffer must grow */
	CU_ASSERT_EQUAL_FATAL(read_file_at(AT_FDCWD, "/proc/self/smaps", &buf, &len), 0);
	CU_ASSERT(len > 4096);
	CU_ASSERT_EQUAL(strlen(buf), len);
}

int unit_register_proc_parse(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{ "maps: typical program", test_maps_typical },
		{ "maps: odd file names", test_maps_odd_names },
		{ "maps: empty", test_maps_empty },
		{ "maps: malformed lines", test_maps_malformed },
		{ "stat: comm with ) and blanks", test_stat_comm },
		{ "stat: malformed", test_stat_malformed },
		{ "status: kernel thread", test_status_kthread },
		{ "status: user process", test_status_user },
		{ "status: old kernel", test_status_old_kernel },
		{ "status: blanks in Name", test_status_name_blanks },
		{ "status: malformed", test_status_malformed },
		{ "fdinfo: file, eventfd, inotify", test_fdinfo },
		{ "read_file_at", test_read_file_at },
		{ "live: maps of self", test_live_maps },
		{ "live: maps with thousands of VMAs", test_live_maps_many },
		{ "live: stat and status of self", test_live_stat_status },
		{ "live: fdinfo of self", test_live_fdinfo },
		{ "live: auxv and pagemap of self", test_live_auxv_pagemap },
		{ "live: error messages", test_live_errors },
		{ "live: paths of a chrooted task", test_live_mnt_path },
	};
	CU_pSuite suite;
	unsigned i;

	suite = CU_add_suite("proc-parse", NULL, NULL);
	if (!suite)
		return CU_get_error();
	for (i = 0; i < ARRAY_SIZE(tests); i++)
		if (!CU_add_test(suite, tests[i].name, tests[i].fn))
			return CU_get_error();
	return 0;
}
