#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "log.h"
#include "proc-parse.h"

/* Room for "/proc/<pid>/fdinfo/<fd>" with any int pid and fd. */
#define PROC_PATH_MAX		64
/* How much of a bad line an error message quotes. */
#define BAD_LINE_QUOTE		160
#define READ_CHUNK_MIN		4096
#define MAPS_NR_MIN		64

/* ---- reading ----------------------------------------------------------- */

/*
 * /proc files report st_size 0 and are produced as they are read, so read
 * until EOF into a buffer that doubles; one spare byte is kept for the NUL.
 */
int read_file_at(int dfd, const char *path, char **ret_buf, size_t *ret_len)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	size_t cap = READ_CHUNK_MIN, len = 0;
	struct stat st;

	fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno(-errno, "%s", path);

	/* Regular files tell their size: read them in one go. */
	if (fstat(fd, &st) == 0 && st.st_size > 0 &&
	    (size_t)st.st_size >= cap)
		cap = (size_t)st.st_size + 1;

	buf = xmalloc(cap);
	if (!buf)
		return -ENOMEM;

	for (;;) {
		ssize_t n;

		if (cap - len < 2) {
			char *nbuf;

			if (cap > SIZE_MAX / 2)
				return pr_errno(-EFBIG, "%s", path);
			nbuf = xrealloc(buf, cap * 2);
			if (!nbuf)
				return -ENOMEM;
			buf = nbuf;
			cap *= 2;
		}

		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return pr_errno(-errno, "%s: read", path);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}

	buf[len] = '\0';
	*ret_buf = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

static int read_proc_file(pid_t pid, const char *name, char *path,
			  char **ret_buf, size_t *ret_len)
{
	snprintf(path, PROC_PATH_MAX, "/proc/%d/%s", (int)pid, name);
	return read_file_at(AT_FDCWD, path, ret_buf, ret_len);
}

/* ---- number helpers ------------------------------------------------------ */

/*
 * strtoull() accepts a sign, leading blanks and "0x"; the /proc columns
 * never have them, so a hand loop is both stricter and faster on maps
 * files of thousands of lines. Return the first unparsed char, or NULL
 * when there is no digit or the value overflows.
 */
static const char *parse_u64(const char *p, unsigned base, uint64_t *ret)
{
	const char *start = p;
	uint64_t v = 0;

	for (;; p++) {
		unsigned d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			break;
		if (d >= base)
			break;
		if (v > (UINT64_MAX - d) / base)
			return NULL;
		v = v * base + d;
	}
	if (p == start)
		return NULL;
	*ret = v;
	return p;
}

/* Like parse_u64() in base 10 with an optional '-' (tty_nr, tpgid, nice). */
static const char *parse_s64(const char *p, int64_t *ret)
{
	unsigned neg = *p == '-';
	uint64_t v;

	p = parse_u64(p + neg, 10, &v);
	if (!p || v > (uint64_t)INT64_MAX + neg)
		return NULL;
	*ret = neg ? (int64_t)(0 - v) : (int64_t)v;
	return p;
}

static const char *parse_int(const char *p, int *ret)
{
	int64_t v;

	p = parse_s64(p, &v);
	if (!p || v < INT_MIN || v > INT_MAX)
		return NULL;
	*ret = (int)v;
	return p;
}

static const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static const char *line_end(const char *p)
{
	const char *eol = strchr(p, '\n');

	return eol ? eol : p + strlen(p);
}

/* ---- maps ---------------------------------------------------------------- */

/* The kernel escapes '\n' in maps paths (and only it) as octal "\012". */
#define MAPS_NL_ESC		"\\012"
#define DELETED_SUFFIX		" (deleted)"

static int maps_parse_perms(const char *p, struct proc_vma *vma)
{
	uint32_t prot = 0;

	if (p[0] == 'r')
		prot |= PROT_READ;
	else if (p[0] != '-')
		return -EINVAL;
	if (p[1] == 'w')
		prot |= PROT_WRITE;
	else if (p[1] != '-')
		return -EINVAL;
	if (p[2] == 'x')
		prot |= PROT_EXEC;
	else if (p[2] != '-')
		return -EINVAL;
	if (p[3] == 's')
		vma->shared = true;
	else if (p[3] == 'p')
		vma->shared = false;
	else
		return -EINVAL;
	vma->prot = prot;
	return 0;
}

/*
 * Decodes the path in [p, eol) in place, NUL-terminates it and strips
 * " (deleted)". Decoding only shrinks the text, so it fits where it is.
 */
static char *maps_decode_path(char *p, char *eol, bool *ret_deleted)
{
	size_t esc_len = strlen(MAPS_NL_ESC), del_len = strlen(DELETED_SUFFIX);
	char *r = p, *w = p;

	while (r < eol) {
		if (*r == '\\' && (size_t)(eol - r) >= esc_len &&
		    !memcmp(r, MAPS_NL_ESC, esc_len)) {
			*w++ = '\n';
			r += esc_len;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';

	*ret_deleted = false;
	if ((size_t)(w - p) > del_len && !strcmp(w - del_len, DELETED_SUFFIX)) {
		w[-del_len] = '\0';
		*ret_deleted = true;
	}
	return p;
}

/*
 * One maps line: "start-end perms offset major:minor inode[ pad path]".
 * The path starts after the blanks that follow the inode (paths of files
 * begin with '/', pseudo names with '[' or a prefix like "anon_inode:",
 * so no path starts with a blank) and runs to the end of the line.
 */
static int maps_parse_line(char *line, char *eol, struct proc_vma *vma)
{
	const char *p = line;
	uint64_t v;

	memset(vma, 0, sizeof(*vma));

	if (!(p = parse_u64(p, 16, &vma->start)) || *p++ != '-')
		return -EINVAL;
	if (!(p = parse_u64(p, 16, &vma->end)) || *p++ != ' ')
		return -EINVAL;
	if (vma->end < vma->start)
		return -EINVAL;
	if (eol - p < 5 || maps_parse_perms(p, vma) || p[4] != ' ')
		return -EINVAL;
	p += 5;
	if (!(p = parse_u64(p, 16, &vma->pgoff)) || *p++ != ' ')
		return -EINVAL;
	if (!(p = parse_u64(p, 16, &v)) || v > UINT32_MAX || *p++ != ':')
		return -EINVAL;
	vma->dev_major = (uint32_t)v;
	if (!(p = parse_u64(p, 16, &v)) || v > UINT32_MAX)
		return -EINVAL;
	vma->dev_minor = (uint32_t)v;
	if (*p++ != ' ')
		return -EINVAL;
	if (!(p = parse_u64(p, 10, &vma->ino)))
		return -EINVAL;

	if (p == eol)
		return 0;
	if (*p != ' ')
		return -EINVAL;
	p = skip_blanks(p);
	if (p == eol)
		return 0;	/* anonymous: the kernel leaves "inode " */

	vma->path = maps_decode_path(line + (p - line), eol, &vma->deleted);
	return 0;
}

/*
 * Parses maps text it owns (buf is decoded in place and becomes
 * ret->strtab); frees buf on failure. what names the file in messages.
 */
static int maps_parse_owned(char *buf, const char *what, struct proc_maps *ret)
{
	_cleanup_free_ char *text = buf;
	_cleanup_free_ struct proc_vma *vmas = NULL;
	unsigned nr = 0, cap = 0, lineno = 0;
	char *line = text;

	while (*line) {
		char *eol = (char *)line_end(line);
		char *next = *eol ? eol + 1 : eol;
		int ret_line;

		lineno++;
		if (nr == cap) {
			unsigned ncap = cap ? cap * 2 : MAPS_NR_MIN;
			struct proc_vma *n;

			if (ncap < cap)
				return pr_errno(-EFBIG, "%s: too many lines", what);
			n = xrealloc(vmas, ncap * sizeof(*vmas));
			if (!n)
				return -ENOMEM;
			vmas = n;
			cap = ncap;
		}

		ret_line = maps_parse_line(line, eol, &vmas[nr]);
		if (ret_line) {
			int len = (int)min(eol - line, (ptrdiff_t)BAD_LINE_QUOTE);

			pr_err("%s: line %u does not parse: '%.*s'",
			       what, lineno, len, line);
			return ret_line;
		}
		nr++;
		line = next;
	}

	ret->vmas = TAKE_PTR(vmas);
	ret->nr = nr;
	ret->strtab = TAKE_PTR(text);
	return 0;
}

int parse_maps_buf(const char *buf, struct proc_maps *ret)
{
	char *copy = xstrdup(buf);

	if (!copy)
		return -ENOMEM;
	return maps_parse_owned(copy, "maps", ret);
}

int proc_parse_maps(pid_t pid, struct proc_maps *ret)
{
	char path[PROC_PATH_MAX];
	char *buf;
	int err;

	err = read_proc_file(pid, "maps", path, &buf, NULL);
	if (err)
		return err;
	return maps_parse_owned(buf, path, ret);
}

static const struct {
	char name[3];
	uint32_t flag;
} vmflag_names[] = {
	{ "gd", VMF_GROWSDOWN }, { "nr", VMF_NORESERVE }, { "dd", VMF_DONTDUMP },
	{ "dc", VMF_DONTCOPY }, { "wf", VMF_WIPEONFORK }, { "hg", VMF_HUGEPAGE },
	{ "nh", VMF_NOHUGEPAGE }, { "mg", VMF_MERGEABLE }, { "sr", VMF_SEQ_READ },
	{ "rr", VMF_RAND_READ }, { "lo", VMF_LOCKED },
	{ "lf", VMF_LOCKONFAULT }, { "gu", VMF_GUARD }, { "mw", VMF_MAYWRITE },
	{ "ht", VMF_HUGETLB },
};

static uint32_t parse_vmflags_line(const char *p)
{
	uint32_t flags = 0;

	while (*p && *p != '\n') {
		while (*p == ' ')
			p++;
		if (p[0] && p[1] && (p[2] == ' ' || p[2] == '\n' || !p[2])) {
			for (unsigned i = 0; i < ARRAY_SIZE(vmflag_names); i++)
				if (p[0] == vmflag_names[i].name[0] && p[1] == vmflag_names[i].name[1])
					flags |= vmflag_names[i].flag;
		}
		while (*p && *p != ' ' && *p != '\n')
			p++;
	}
	return flags;
}

/* The number of a "Name:   N kB" line of smaps, whose name is @skip long. */
static int parse_kb_line(const char *line, size_t skip, bool have, uint64_t *ret)
{
	const char *p = line + skip;

	while (*p == ' ')
		p++;
	if (!have || !parse_u64(p, 10, ret))
		return pr_errno(-EINVAL, "smaps: a line that does not parse: '%.*s'", (int)(line_end(line) - line), line);
	return 0;
}

int parse_vmflags_buf(const char *buf, struct proc_maps *maps)
{
	const char *line = buf;
	unsigned idx = 0;
	bool have = false;

	while (*line) {
		const char *next = strchr(line, '\n'), *p;
		uint64_t start;

		/*
		 * No sscanf() here: it measures the rest of the buffer on each
		 * call, which made smaps of 30000 VMAs (30 MB) take minutes.
		 */
		if (!strncmp(line, "VmFlags:", 8)) {
			if (!have)
				return pr_errno(-EINVAL, "smaps: VmFlags line before any mapping");
			maps->vmas[idx].vmflags = parse_vmflags_line(line + 8);
		} else if (!strncmp(line, "KernelPageSize:", 15)) {
			uint64_t kb;
			int err = parse_kb_line(line, 15, have, &kb);

			if (err)
				return err;
			maps->vmas[idx].page_kb = kb;
		} else if (!strncmp(line, "AnonHugePages:", 14)) {
			int err = parse_kb_line(line, 14, have, &maps->vmas[idx].thp_kb);

			if (err)
				return err;
		} else if ((p = parse_u64(line, 16, &start)) && p > line && *p == '-') {
			/* Same order as maps: look forward from the last match. */
			while (idx < maps->nr && maps->vmas[idx].start < start)
				idx++;
			have = idx < maps->nr && maps->vmas[idx].start == start;
			if (!have)
				return pr_errno(-ESTALE, "smaps: mapping at %llx is not in maps (layout changed)",
						(unsigned long long)start);
		}
		if (!next)
			break;
		line = next + 1;
	}
	return 0;
}

int proc_parse_vmflags(pid_t pid, struct proc_maps *maps)
{
	char path[PROC_PATH_MAX];
	char *buf;
	int err;

	err = read_proc_file(pid, "smaps", path, &buf, NULL);
	if (err)
		return err;
	err = parse_vmflags_buf(buf, maps);
	free(buf);
	return err;
}

void proc_maps_free(struct proc_maps *m)
{
	if (!m)
		return;
	free(m->vmas);
	free(m->strtab);
	m->vmas = NULL;
	m->strtab = NULL;
	m->nr = 0;
}

/* ---- stat ---------------------------------------------------------------- */

/* Fields 4..52 of stat (man 5 proc), all numeric; 52 is exit_code (3.5+). */
#define STAT_FIRST_NUM		4
#define STAT_LAST_USED		52

static int stat_bad(const char *what, const char *buf)
{
	int len = (int)min(line_end(buf) - buf, (ptrdiff_t)BAD_LINE_QUOTE);

	pr_err("%s: does not parse: '%.*s'", what, len, buf);
	return -EINVAL;
}

/*
 * comm sits between the first '(' and the LAST ')': it may hold ')',
 * blanks and even a newline (PR_SET_NAME takes any byte), while nothing
 * after it can hold a ')'. The numbers are kept raw and signed ones
 * (tty_nr, tpgid, priority, nice) parsed as such; unused fields are
 * checked for shape only.
 */
static int stat_parse(const char *buf, const char *what, struct proc_stat *ret)
{
	uint64_t f[STAT_LAST_USED + 1] = { 0 };
	const char *open = strchr(buf, '('), *close = strrchr(buf, ')');
	struct proc_stat st = { 0 };
	const char *p;
	size_t comm_len;
	unsigned i;

	if (!open || !close || close < open)
		return stat_bad(what, buf);

	p = parse_int(buf, &st.pid);
	if (!p || p + 1 != open || *p != ' ')
		return stat_bad(what, buf);

	comm_len = min((size_t)(close - open - 1), sizeof(st.comm) - 1);
	memcpy(st.comm, open + 1, comm_len);
	st.comm[comm_len] = '\0';

	p = close + 1;
	if (p[0] != ' ' || !p[1] || p[2] != ' ')
		return stat_bad(what, buf);
	st.state = p[1];
	p += 2;

	for (i = STAT_FIRST_NUM; i <= STAT_LAST_USED; i++) {
		int64_t v;

		if (*p++ != ' ')
			return stat_bad(what, buf);
		if (*p == '-') {
			p = parse_s64(p, &v);
			f[i] = (uint64_t)v;
		} else {
			/* Unsigned: rsslim is printed as 2^64-1. */
			p = parse_u64(p, 10, &f[i]);
		}
		if (!p)
			return stat_bad(what, buf);
	}
	/* Newer kernels may append fields: ignore them, but not junk. */
	if (*p != ' ' && *p != '\n' && *p != '\0')
		return stat_bad(what, buf);

	st.ppid = (int)f[4];
	st.pgid = (int)f[5];
	st.sid = (int)f[6];
	st.tty_nr = (unsigned)f[7];
	st.tpgid = (int)f[8];
	st.flags = (unsigned long)f[9];
	st.num_threads = (long)f[20];
	st.start_code = f[26];
	st.end_code = f[27];
	st.start_stack = f[28];
	st.exit_signal = (int)f[38];
	st.start_data = f[45];
	st.end_data = f[46];
	st.start_brk = f[47];
	st.arg_start = f[48];
	st.arg_end = f[49];
	st.env_start = f[50];
	st.env_end = f[51];
	st.exit_code = (int)f[52];

	*ret = st;
	return 0;
}

int parse_stat_buf(const char *buf, struct proc_stat *ret)
{
	return stat_parse(buf, "stat", ret);
}

int proc_parse_stat(pid_t pid, struct proc_stat *ret)
{
	_cleanup_free_ char *buf = NULL;
	char path[PROC_PATH_MAX];
	int err;

	err = read_proc_file(pid, "stat", path, &buf, NULL);
	if (err)
		return err;
	return stat_parse(buf, path, ret);
}

/* ---- "Key:\tvalue" files: status and fdinfo ------------------------------ */

enum kv_type {
	KV_NAME,	/* char[size], status escapes "\n" and "\\" decoded */
	KV_STATE,	/* char: first letter of "R (running)" */
	KV_INT,		/* int, decimal */
	KV_BOOL,	/* bool, "0" or "1" */
	KV_U32_OCT,	/* uint32_t, octal */
	KV_U64_DEC,	/* uint64_t, decimal */
	KV_U64_HEX,	/* uint64_t, hex */
	KV_ID4,		/* uint32_t[4], decimal, blank separated */
};

struct kv_field {
	const char *key;
	enum kv_type type;
	size_t off, size;
	bool required;
};

#define KV(st, k, t, member, req)					\
	{ .key = k, .type = t, .off = offsetof(st, member),		\
	  .size = sizeof(((st *)0)->member), .required = req }

/* The status "Name:" value escapes newline as "\n" and '\' as "\\". */
static int kv_parse_name(const char *p, const char *eol, char *dst, size_t size)
{
	size_t n = 0;

	while (p < eol) {
		char c = *p++;

		if (c == '\\' && p < eol) {
			c = *p++;
			if (c == 'n')
				c = '\n';
			else if (c != '\\')
				return -EINVAL;
		}
		if (n + 1 < size)
			dst[n++] = c;
	}
	dst[n] = '\0';
	return 0;
}

static int kv_parse_value(const struct kv_field *f, const char *p,
			  const char *eol, void *base)
{
	void *dst = (char *)base + f->off;
	uint64_t v;
	unsigned i;

	/*
	 * The kernel writes "Key:\t" (fdinfo pads some keys with spaces).
	 * A name keeps its own blanks, which status does not escape: drop
	 * only the tab there.
	 */
	if (f->type == KV_NAME)
		return kv_parse_name(p + (*p == '\t'), eol, dst, f->size);
	p = skip_blanks(p);

	switch (f->type) {
	case KV_NAME:
		break;
	case KV_STATE:
		if (p == eol || *p == ' ')
			return -EINVAL;
		*(char *)dst = *p;
		return 0;	/* the "(running)" that follows is for humans */
	case KV_INT:
		p = parse_int(p, dst);
		break;
	case KV_BOOL:
		p = parse_u64(p, 10, &v);
		if (!p || v > 1)
			return -EINVAL;
		*(bool *)dst = v;
		break;
	case KV_U32_OCT:
		p = parse_u64(p, 8, &v);
		if (!p || v > UINT32_MAX)
			return -EINVAL;
		*(uint32_t *)dst = (uint32_t)v;
		break;
	case KV_U64_DEC:
	case KV_U64_HEX:
		p = parse_u64(p, f->type == KV_U64_HEX ? 16 : 10, dst);
		break;
	case KV_ID4:
		for (i = 0; i < 4; i++) {
			/* Ids are separated by at least one blank. */
			if (i && (*p != ' ' && *p != '\t'))
				return -EINVAL;
			p = parse_u64(skip_blanks(p), 10, &v);
			if (!p || v > UINT32_MAX)
				return -EINVAL;
			((uint32_t *)dst)[i] = (uint32_t)v;
		}
		break;
	}
	if (!p)
		return -EINVAL;
	return skip_blanks(p) == eol ? 0 : -EINVAL;
}

/*
 * Fills the fields of table that appear in buf into base. Lines with
 * other keys or without a ':' are skipped (fdinfo grows per file type).
 * The first line of a key wins. Returns -EINVAL, logged, for a value that
 * does not parse or a missing required key.
 */
static int kv_parse(const char *buf, const char *what,
		    const struct kv_field *table, unsigned nr, void *base)
{
	bool seen[nr];
	const char *line = buf;
	unsigned lineno = 0, i;

	memset(seen, 0, sizeof(seen));

	while (*line) {
		const char *eol = line_end(line), *colon;
		size_t key_len;

		lineno++;
		colon = memchr(line, ':', eol - line);
		if (colon) {
			key_len = colon - line;
			for (i = 0; i < nr; i++) {
				if (seen[i] || strlen(table[i].key) != key_len ||
				    memcmp(table[i].key, line, key_len))
					continue;
				if (kv_parse_value(&table[i], colon + 1, eol, base)) {
					int len = (int)min(eol - line, (ptrdiff_t)BAD_LINE_QUOTE);

					pr_err("%s: line %u does not parse: '%.*s'",
					       what, lineno, len, line);
					return -EINVAL;
				}
				seen[i] = true;
				break;
			}
		}
		line = *eol ? eol + 1 : eol;
	}

	for (i = 0; i < nr; i++)
		if (table[i].required && !seen[i]) {
			pr_err("%s: no '%s:' line", what, table[i].key);
			return -EINVAL;
		}
	return 0;
}

/* ---- status -------------------------------------------------------------- */

#define ST(k, t, m, req)	KV(struct proc_status, k, t, m, req)

static const struct kv_field status_fields[] = {
	ST("Name",	 KV_NAME,	name,		true),
	ST("Umask",	 KV_U32_OCT,	umask,		false),	/* 4.7+ */
	ST("State",	 KV_STATE,	state,		true),
	ST("Tgid",	 KV_INT,	tgid,		true),
	ST("Pid",	 KV_INT,	pid,		true),
	ST("PPid",	 KV_INT,	ppid,		true),
	ST("TracerPid",	 KV_INT,	tracer_pid,	true),
	ST("Uid",	 KV_ID4,	uid,		true),
	ST("Gid",	 KV_ID4,	gid,		true),
	ST("Kthread",	 KV_BOOL,	kthread,	false),	/* 6.x */
	ST("Threads",	 KV_INT,	threads,	true),
	ST("SigPnd",	 KV_U64_HEX,	sig_pnd,	true),
	ST("ShdPnd",	 KV_U64_HEX,	shd_pnd,	true),
	ST("SigBlk",	 KV_U64_HEX,	sig_blk,	true),
	ST("SigIgn",	 KV_U64_HEX,	sig_ign,	true),
	ST("SigCgt",	 KV_U64_HEX,	sig_cgt,	true),
	ST("CapInh",	 KV_U64_HEX,	cap_inh,	true),
	ST("CapPrm",	 KV_U64_HEX,	cap_prm,	true),
	ST("CapEff",	 KV_U64_HEX,	cap_eff,	true),
	ST("CapBnd",	 KV_U64_HEX,	cap_bnd,	true),
	ST("CapAmb",	 KV_U64_HEX,	cap_amb,	false),	/* 4.3+ */
	ST("NoNewPrivs", KV_INT,	no_new_privs,	false),	/* 4.10+ */
	ST("Seccomp",	 KV_INT,	seccomp,	false),	/* CONFIG_SECCOMP */
};

/* "Groups:\t1000 1001 \n": a list, which the key/value table does not do. */
static int groups_parse(const char *buf, const char *what, struct proc_status *st)
{
	const char *p = strstr(buf, "\nGroups:");
	char *end;

	if (!p)
		return 0;
	for (p += 8; *p && *p != '\n'; p = end) {
		unsigned long g;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\n' || !*p)
			break;
		errno = 0;
		g = strtoul(p, &end, 10);
		if (end == p || errno || g > UINT32_MAX) {
			pr_err("%s: Groups line does not parse", what);
			return -EINVAL;
		}
		if (st->nr_groups == PROC_MAX_GROUPS) {
			pr_err("%s: more than %d supplementary groups", what, PROC_MAX_GROUPS);
			return -E2BIG;
		}
		st->groups[st->nr_groups++] = g;
	}
	return 0;
}

static int status_parse(const char *buf, const char *what, struct proc_status *ret)
{
	struct proc_status st = { 0 };
	int err;

	err = kv_parse(buf, what, status_fields, ARRAY_SIZE(status_fields), &st);
	if (!err)
		err = groups_parse(buf, what, &st);
	if (err)
		return err;
	*ret = st;
	return 0;
}

int proc_root_path(pid_t pid, const char *path, char *buf, size_t len)
{
	int n = snprintf(buf, len, "/proc/%d/root%s", (int)pid, path);

	if (n < 0 || (size_t)n >= len)
		return pr_errno(-ENAMETOOLONG, "pid %d: path %s", (int)pid, path);
	return 0;
}

int read_number_file(const char *path, int base, long *ret)
{
	_cleanup_free_ char *buf = NULL;
	char *end;
	int err;

	err = read_file_at(AT_FDCWD, path, &buf, NULL);
	if (err)
		return err;
	errno = 0;
	*ret = strtol(buf, &end, base);
	if (errno || end == buf)
		return pr_err("%s: '%s' is not a number", path, buf), -EINVAL;
	return 0;
}

int proc_mnt_path(pid_t pid, const char *path, char *buf, size_t len)
{
	char link[PROC_PATH_MAX], root[PATH_MAX];
	size_t at;
	ssize_t n;

	/*
	 * A lookup of ".." stops only at cr's own root (or the top of a mount
	 * namespace): from the task's root it climbs as many levels as that
	 * root's path has components.
	 */
	snprintf(link, sizeof(link), "/proc/%d/root", (int)pid);
	n = readlink(link, root, sizeof(root) - 1);
	if (n < 0)
		return pr_errno(-errno, "readlink %s", link);
	root[n] = '\0';
	at = snprintf(buf, len, "%s", link);
	for (const char *c = root; *c && at < len; c++)
		if (*c == '/' && c[1] && c[1] != '/')
			at += snprintf(buf + at, len - at, "/..");
	if (at < len)
		at += snprintf(buf + at, len - at, "%s", path);
	if (at >= len)
		return pr_errno(-ENAMETOOLONG, "pid %d: path %s", (int)pid, path);
	return 0;
}

int parse_status_buf(const char *buf, struct proc_status *ret)
{
	return status_parse(buf, "status", ret);
}

int proc_parse_status(pid_t pid, struct proc_status *ret)
{
	_cleanup_free_ char *buf = NULL;
	char path[PROC_PATH_MAX];
	int err;

	err = read_proc_file(pid, "status", path, &buf, NULL);
	if (err)
		return err;
	return status_parse(buf, path, ret);
}

/* ---- fdinfo -------------------------------------------------------------- */

#define FI(k, t, m, req)	KV(struct proc_fdinfo, k, t, m, req)

static const struct kv_field fdinfo_fields[] = {
	FI("pos",	KV_U64_DEC,	pos,	true),
	FI("flags",	KV_U32_OCT,	flags,	true),
	FI("mnt_id",	KV_INT,		mnt_id,	true),
	FI("ino",	KV_U64_DEC,	ino,	false),
};

static int fdinfo_parse(const char *buf, const char *what, struct proc_fdinfo *ret)
{
	struct proc_fdinfo fi = { 0 };
	int err;

	err = kv_parse(buf, what, fdinfo_fields, ARRAY_SIZE(fdinfo_fields), &fi);
	if (err)
		return err;
	*ret = fi;
	return 0;
}

int parse_fdinfo_buf(const char *buf, struct proc_fdinfo *ret)
{
	return fdinfo_parse(buf, "fdinfo", ret);
}

int proc_parse_fdinfo(pid_t pid, int fd, struct proc_fdinfo *ret)
{
	_cleanup_free_ char *buf = NULL;
	char path[PROC_PATH_MAX];
	int err;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
	err = read_file_at(AT_FDCWD, path, &buf, NULL);
	if (err)
		return err;
	return fdinfo_parse(buf, path, ret);
}

/* ---- auxv and pagemap ---------------------------------------------------- */

#define AUXV_AT_NULL		0

int proc_parse_auxv(pid_t pid, uint64_t **ret_auxv, unsigned *ret_nr)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_free_ uint64_t *auxv = NULL;
	char path[PROC_PATH_MAX];
	size_t len, nr_words, i;
	int err;

	err = read_proc_file(pid, "auxv", path, &buf, &len);
	if (err)
		return err;

	if (len % (2 * sizeof(uint64_t)))
		return pr_errno(-EINVAL, "%s: size %zu is not whole pairs", path, len);

	nr_words = len / sizeof(uint64_t);
	if (!nr_words) {
		*ret_auxv = NULL;
		*ret_nr = 0;
		return 0;
	}

	auxv = xmalloc(len);
	if (!auxv)
		return -ENOMEM;
	/* buf is only byte aligned for all we know: copy, don't cast. */
	memcpy(auxv, buf, len);

	/* The kernel stops at AT_NULL; anything later would be stale. */
	for (i = 0; i < nr_words; i += 2)
		if (auxv[i] == AUXV_AT_NULL)
			break;
	if (i == nr_words)
		return pr_errno(-EINVAL, "%s: no AT_NULL entry", path);

	*ret_nr = (unsigned)(i + 2);
	*ret_auxv = TAKE_PTR(auxv);
	return 0;
}

int proc_pagemap_open(pid_t pid)
{
	char path[PROC_PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno(-errno, "%s", path);
	return fd;
}

uint64_t proc_anon_bytes(pid_t pid)
{
	static const char *const keys[] = { "\nAnonymous:", "\nSwap:" };
	_cleanup_free_ char *buf = NULL;
	char path[64];
	uint64_t kb = 0;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
	if (read_file_at(AT_FDCWD, path, &buf, NULL))
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const char *p = strstr(buf, keys[i]);

		if (p)
			kb += strtoull(p + strlen(keys[i]), NULL, 10);
	}
	return kb * 1024;
}
