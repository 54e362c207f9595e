#ifndef CR_PROC_PARSE_H
#define CR_PROC_PARSE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Parsers for /proc files. Each parse_*_buf() works on a NUL-terminated
 * buffer (so unit tests feed canned text) and the proc_* wrappers read
 * the live file. All return 0 or -errno (-EINVAL for text that does not
 * parse, logged with the file and line).
 */

struct proc_vma {
	uint64_t start, end, pgoff;
	uint32_t prot;		/* PROT_READ|PROT_WRITE|PROT_EXEC */
	bool shared;		/* 's' in the perms column */
	uint32_t dev_major, dev_minor;
	uint64_t ino;
	bool deleted;		/* path ended in " (deleted)" (stripped) */
	uint32_t vmflags;	/* VMF_*, from smaps (proc_parse_vmflags) */
	uint32_t page_kb;	/* smaps KernelPageSize: 4, or a hugetlb page size */
	uint64_t thp_kb;	/* smaps AnonHugePages */
	char *path;		/* NULL for anonymous; "[heap]" etc. kept;
				 * maps' "\012" escapes decoded */
};

struct proc_maps {
	struct proc_vma *vmas;
	unsigned nr;
	/*
	 * Every vma->path points into this one buffer (the maps text,
	 * decoded in place), so a maps of thousands of VMAs costs two
	 * allocations. Paths live until proc_maps_free(): xstrdup() one
	 * to keep it longer, and never free() a path on its own.
	 */
	char *strtab;
};

/*
 * maps can't tell a deleted file from a live one literally named
 * "x (deleted)": both print the same. The parser always strips the suffix
 * and sets deleted; the caller settles it with map_files/START-END and
 * fstat() (st_nlink == 0 means really deleted). Likewise a backslash is
 * not escaped by the kernel, so a name holding the four characters "\012"
 * reads back as a newline; map_files/ is the authority there too.
 *
 * On success *ret is filled (nr may be 0: kernel threads and empty text)
 * and must be released with proc_maps_free(). On failure *ret is untouched.
 */
/* smaps "VmFlags:" mnemonics cr acts on. */
enum {
	VMF_GROWSDOWN	= 1 << 0,	/* gd */
	VMF_NORESERVE	= 1 << 1,	/* nr */
	VMF_DONTDUMP	= 1 << 2,	/* dd */
	VMF_DONTCOPY	= 1 << 3,	/* dc */
	VMF_WIPEONFORK	= 1 << 4,	/* wf */
	VMF_HUGEPAGE	= 1 << 5,	/* hg */
	VMF_NOHUGEPAGE	= 1 << 6,	/* nh */
	VMF_MERGEABLE	= 1 << 7,	/* mg */
	VMF_SEQ_READ	= 1 << 8,	/* sr */
	VMF_RAND_READ	= 1 << 9,	/* rr */
	VMF_LOCKED	= 1 << 10,	/* lo */
	VMF_LOCKONFAULT	= 1 << 11,	/* lf: mlock2(MLOCK_ONFAULT), mlockall(MCL_ONFAULT) */
	VMF_GUARD	= 1 << 12,	/* gu: may hold MADV_GUARD_INSTALL guards (sticky) */
	VMF_MAYWRITE	= 1 << 13,	/* mw: mprotect() may add PROT_WRITE */
	VMF_HUGETLB	= 1 << 14,	/* ht: hugetlb memory, of page_kb pages */
};
/* The flags a restore puts back with madvise(). */
#define VMF_MADVISE_MASK (VMF_DONTDUMP | VMF_DONTCOPY | VMF_WIPEONFORK | VMF_HUGEPAGE | \
			  VMF_NOHUGEPAGE | VMF_MERGEABLE | VMF_SEQ_READ | VMF_RAND_READ | VMF_GUARD)

int parse_maps_buf(const char *buf, struct proc_maps *ret);
int proc_parse_maps(pid_t pid, struct proc_maps *ret);
void proc_maps_free(struct proc_maps *m);

/*
 * Fills vmflags, page_kb and thp_kb of every VMA in @maps from smaps text @buf (or the live
 * /proc/PID/smaps). VMAs are matched by start address; one missing from
 * smaps (the layout changed in between) is -ESTALE.
 */
int parse_vmflags_buf(const char *buf, struct proc_maps *maps);
int proc_parse_vmflags(pid_t pid, struct proc_maps *maps);	/* accepts a zeroed struct */

/* /proc/PID/stat fields we use (man 5 proc numbering in comments). */
struct proc_stat {
	int pid;			/* 1 */
	char comm[64];			/* 2, parentheses removed; may hold ) and spaces */
	char state;			/* 3 */
	int ppid, pgid, sid;		/* 4, 5, 6 */
	unsigned tty_nr;		/* 7: the controlling terminal's device, 0 none */
	int tpgid;			/* 8: its foreground group, -1 none */
	unsigned long flags;		/* 9 */
	long num_threads;		/* 20 */
	uint64_t start_code, end_code, start_stack;	/* 26, 27, 28 */
	int exit_signal;		/* 38 */
	uint64_t start_data, end_data, start_brk;	/* 45, 46, 47 */
	uint64_t arg_start, arg_end, env_start, env_end;	/* 48-51 */
	int exit_code;			/* 52 */
};

int parse_stat_buf(const char *buf, struct proc_stat *ret);
int proc_parse_stat(pid_t pid, struct proc_stat *ret);

/*
 * /proc/PID/status fields we use. Umask, CapAmb, NoNewPrivs, Seccomp and
 * Kthread are optional (older kernels lack them) and read as 0/false when
 * absent; every other field is required.
 */
#define PROC_MAX_GROUPS	256		/* more are refused with -E2BIG */

struct proc_status {
	char name[64];			/* "\n" and "\\" escapes decoded */
	uint32_t umask;
	char state;
	int tgid, pid, ppid, tracer_pid;
	uint32_t uid[4], gid[4];	/* real, effective, saved, fs */
	int threads;
	uint64_t sig_pnd, shd_pnd, sig_blk, sig_ign, sig_cgt;
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	int no_new_privs;
	int seccomp;
	bool kthread;			/* "Kthread: 1" (6.x) */
	unsigned nr_groups;		/* supplementary groups */
	uint32_t groups[PROC_MAX_GROUPS];
};

int parse_status_buf(const char *buf, struct proc_status *ret);
int proc_parse_status(pid_t pid, struct proc_status *ret);

/*
 * /proc/PID/fdinfo/FD. pos, flags and mnt_id are required; ino (recent kernels only)
 * reads as 0 when absent. Lines of other keys (eventfd-count, tfd,
 * inotify, lock, ...) are skipped.
 */
struct proc_fdinfo {
	uint64_t pos;
	uint32_t flags;		/* octal "flags:" field, includes O_CLOEXEC */
	int mnt_id;
	uint64_t ino;
};

int parse_fdinfo_buf(const char *buf, struct proc_fdinfo *ret);
int proc_parse_fdinfo(pid_t pid, int fd, struct proc_fdinfo *ret);

/*
 * Reads a whole /proc (or any) file into a malloc'ed NUL-terminated
 * buffer; *ret_len excludes the NUL. Returns 0 or -errno.
 */
int read_file_at(int dfd, const char *path, char **ret_buf, size_t *ret_len);
/* The number a file such as /proc/PID/oom_score_adj holds, in @base. Returns 0 or -errno (logged). */
int read_number_file(const char *path, int base, long *ret);
/*
 * @path as task @pid names it (from its own root, in its own mount
 * namespace), for cr to open: /proc/PID/root@path, into @buf of @len
 * bytes. Returns 0 or -ENAMETOOLONG (logged).
 */
int proc_root_path(pid_t pid, const char *path, char *buf, size_t len);
/*
 * @path as /proc shows task @pid's files (its fds, maps, cwd): from the
 * root of its mount namespace, which a chrooted task's own root is below.
 * For cr to open: /proc/PID/root, ".." up to that root, @path. Returns 0,
 * -ENAMETOOLONG (logged) or the error of reading /proc/PID/root (logged).
 */
int proc_mnt_path(pid_t pid, const char *path, char *buf, size_t len);

/*
 * /proc/PID/auxv as raw u64 words: type, value, type, value, ... up to and
 * including the AT_NULL pair. *ret_nr counts u64 words (2 per pair), as
 * mm_entry.auxv stores them. An empty auxv (kernel thread) gives
 * *ret_auxv = NULL, *ret_nr = 0. Returns 0 or -errno.
 */
int proc_parse_auxv(pid_t pid, uint64_t **ret_auxv, unsigned *ret_nr);

/* Opens /proc/PID/pagemap read-only, O_CLOEXEC: an fd or -errno (logged). */
int proc_pagemap_open(pid_t pid);

/*
 * Bytes of anonymous memory task @pid has, in memory or swapped out
 * (/proc/PID/smaps_rollup's Anonymous and Swap): about what a dump
 * writes of it, for a progress line. 0 if it cannot be read.
 */
uint64_t proc_anon_bytes(pid_t pid);

#endif
