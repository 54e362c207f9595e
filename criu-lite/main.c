/*
 * cr: the command line. Parses criu-compatible options into `opts`, sets
 * up logging and dispatches to one command. Exit status is 0 or 1 only:
 * callers (runtimes, shells) read >= 128 as "killed by a signal".
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler.h"
#include "cr.h"
#include "image.h"
#include "lazy.h"
#include "lazy-serve.h"
#include "log.h"
#include "netlock.h"
#include "pagez.h"
#include "progress.h"
#include "rpc.h"

#define DEFAULT_VERBOSITY	LOG_WARN
#define MAX_VERBOSITY		LOG_DEBUG

/* Long-only options get values above the char range. */
enum {
	OPT_LEAVE_RUNNING = 256,
	OPT_PIDFILE,
	OPT_VERBOSITY,
	OPT_TCP_ESTABLISHED,
	OPT_TCP_SKIP_IN_FLIGHT,
	OPT_TCP_CLOSE,
	OPT_SHELL_JOB,
	OPT_INHERIT_FD,
	OPT_ALLOW_UNTRUSTED,
	OPT_KEY_FILE,
	OPT_ROOT,
	OPT_EXTERNAL,
	OPT_EXT_MOUNT_MAP,
	OPT_MANAGE_CGROUPS,
	OPT_CGROUP_ROOT,
	OPT_FREEZE_CGROUP,
	OPT_RESTORE_SIBLING,
	OPT_ACTION_SCRIPT,
	OPT_FILE_LOCKS,
	OPT_EVASIVE_DEVICES,
	OPT_EXT_UNIX_SK,
	OPT_LINK_REMAP,
	OPT_STATUS_FD,
	OPT_DISPLAY_STATS,
	OPT_ORPHAN_PTS_MASTER,
	OPT_CONSOLE_SOCKET,
	OPT_NETWORK_LOCK,
	OPT_NO_DEFAULT_CONFIG,
	OPT_PAGE_SERVER,
	OPT_ADDRESS,
	OPT_PORT,
	OPT_DAEMON,
	OPT_PREV_IMAGES_DIR,
	OPT_TRACK_MEM,
	OPT_AUTO_DEDUP,
	OPT_PRE_COPY,
	OPT_LAZY_PAGES,
	OPT_FEATURE,
	OPT_COMPRESS,
	OPT_STATS,
	OPT_SHOW_PAGES,
};

#define PRE_COPY_DEFAULT_ROUNDS	4	/* --pre-copy without =N */
#define PRE_COPY_MAX_ROUNDS	64

/* Leading ':' makes getopt report a missing argument as ':'. */
/* This run's command line; passed as a value to the command it runs. */
static struct cr_options opts;
/* --action-script: run at every notification (notify.c). */
static struct cr_action_scripts scripts;
/* cr swrk FD: the FD; every option comes with the requests. */
static const char *swrk_fd_arg;

static const char short_opts[] = ":t:D:o:v::RdhVJ:";

static const struct option long_opts[] = {
	{ "tree",		required_argument,	NULL, 't' },
	{ "images-dir",		required_argument,	NULL, 'D' },
	{ "log-file",		required_argument,	NULL, 'o' },
	/*
	 * Required, unlike -v's optional argument, so "--verbosity 4" works
	 * as written in the help text (getopt only attaches an optional
	 * argument given with '=').
	 */
	{ "verbosity",		required_argument,	NULL, OPT_VERBOSITY },
	{ "leave-running",	no_argument,		NULL, OPT_LEAVE_RUNNING },
	{ "restore-detached",	no_argument,		NULL, 'd' },
	{ "pidfile",		required_argument,	NULL, OPT_PIDFILE },
	{ "tcp-established",	no_argument,		NULL, OPT_TCP_ESTABLISHED },
	{ "tcp-skip-in-flight",	no_argument,		NULL, OPT_TCP_SKIP_IN_FLIGHT },
	{ "tcp-close",		no_argument,		NULL, OPT_TCP_CLOSE },
	{ "shell-job",		no_argument,		NULL, OPT_SHELL_JOB },
	{ "display-stats",	no_argument,		NULL, OPT_DISPLAY_STATS },
	{ "inherit-fd",		required_argument,	NULL, OPT_INHERIT_FD },
	{ "allow-untrusted-images", no_argument,	NULL, OPT_ALLOW_UNTRUSTED },
	{ "key-file",		required_argument,	NULL, OPT_KEY_FILE },
	{ "root",		required_argument,	NULL, OPT_ROOT },
	{ "external",		required_argument,	NULL, OPT_EXTERNAL },
	{ "ext-mount-map",	required_argument,	NULL, OPT_EXT_MOUNT_MAP },
	{ "manage-cgroups",	optional_argument,	NULL, OPT_MANAGE_CGROUPS },
	{ "cgroup-root",	required_argument,	NULL, OPT_CGROUP_ROOT },
	{ "freeze-cgroup",	required_argument,	NULL, OPT_FREEZE_CGROUP },
	{ "restore-sibling",	no_argument,		NULL, OPT_RESTORE_SIBLING },
	{ "action-script",	required_argument,	NULL, OPT_ACTION_SCRIPT },
	{ "file-locks",		no_argument,		NULL, OPT_FILE_LOCKS },
	{ "evasive-devices",	no_argument,		NULL, OPT_EVASIVE_DEVICES },
	{ "ext-unix-sk",	optional_argument,	NULL, OPT_EXT_UNIX_SK },
	{ "link-remap",		no_argument,		NULL, OPT_LINK_REMAP },
	{ "status-fd",		required_argument,	NULL, OPT_STATUS_FD },
	{ "orphan-pts-master",	no_argument,		NULL, OPT_ORPHAN_PTS_MASTER },
	{ "console-socket",	required_argument,	NULL, OPT_CONSOLE_SOCKET },
	{ "join-ns",		required_argument,	NULL, 'J' },
	{ "network-lock",	required_argument,	NULL, OPT_NETWORK_LOCK },
	{ "lazy-pages",		no_argument,		NULL, OPT_LAZY_PAGES },
	{ "feature",		required_argument,	NULL, OPT_FEATURE },
	{ "stats",		no_argument,		NULL, OPT_STATS },
	{ "pages",		no_argument,		NULL, OPT_SHOW_PAGES },
	{ "no-default-config",	no_argument,		NULL, OPT_NO_DEFAULT_CONFIG },
	{ "page-server",	no_argument,		NULL, OPT_PAGE_SERVER },
	{ "address",		required_argument,	NULL, OPT_ADDRESS },
	{ "port",		required_argument,	NULL, OPT_PORT },
	{ "daemon",		no_argument,		NULL, OPT_DAEMON },
	{ "prev-images-dir",	required_argument,	NULL, OPT_PREV_IMAGES_DIR },
	{ "track-mem",		no_argument,		NULL, OPT_TRACK_MEM },
	{ "auto-dedup",		no_argument,		NULL, OPT_AUTO_DEDUP },
	{ "pre-copy",		optional_argument,	NULL, OPT_PRE_COPY },
	{ "compress",		optional_argument,	NULL, OPT_COMPRESS },
	{ "help",		no_argument,		NULL, 'h' },
	{ "version",		no_argument,		NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage:\n"
"  cr dump -t PID [-D DIR] [options]   checkpoint the process tree rooted at PID\n"
"  cr pre-dump -t PID [-D DIR] [options]  copy the tree's memory while it runs\n"
"                                      on, and track its writes (pre-copy)\n"
"  cr restore [-D DIR] [options]       restore a tree from the images in DIR\n"
"  cr check [--feature NAME]           probe the kernel features cr needs (NAME:\n"
"                                      one of criu's: uffd, uffd-noncoop, lazy_pages,\n"
"                                      mem_dirty_track)\n"
"  cr show DIR|FILE                    print images as JSON\n"
"  cr page-server -D DIR --port P      receive the pages of a dump --page-server\n"
"  cr swrk FD                          serve criu's RPC on the socket FD (runc, podman)\n"
"  cr lazy-pages [-D DIR]              serve the memory of one restore --lazy-pages\n"
"                                      (listens on DIR/lazy-pages.socket); with\n"
"                                      --page-server --address A --port P from the\n"
"                                      lazy page source there (dump --lazy-pages)\n"
"\n"
"Options:\n"
"  -t, --tree PID           root of the tree to dump\n"
"  -D, --images-dir DIR     image directory (default: .; dump creates it)\n"
"  -o, --log-file FILE      log to FILE, relative to DIR (default: stderr)\n"
"  -v[N], --verbosity N     log level 0..4 (default 2 = warnings);\n"
"                           each extra -v adds one\n"
"  -R, --leave-running      dump: let the tree run on after the dump\n"
"  -d, --restore-detached   restore: return once the tree runs; without -d\n"
"                           cr waits and exits with the tree's exit status\n"
"      --pidfile FILE       restore: write the root's PID to FILE\n"
"      --lazy-pages         restore: the tree runs before its anonymous memory\n"
"                           is in; the lazy-pages daemon (cr lazy-pages on\n"
"                           DIR/lazy-pages.socket, else one of the restore's\n"
"                           own) fills it; its server's pid: DIR/lazy-pages.pid;\n"
"                           dump --port P [--address A]: the page source of such\n"
"                           a restore (every image but the pages in DIR, the tree\n"
"                           frozen until the destination has them, then killed);\n"
"                           page-server --port P: the same from DIR's pages\n"
"      --tcp-established    dump and restore: keep established TCP connections\n"
"                           (TCP repair mode); without it dump refuses them\n"
"      --tcp-skip-in-flight dump: drop (with a warning) the connections still\n"
"                           in a listener's accept queue; without it dump\n"
"                           refuses such a listener\n"
"      --tcp-close          dump and restore: established and closing TCP\n"
"                           connections come back closed (end of file, EPIPE;\n"
"                           dump needs no repair mode for them)\n"
"      --network-lock MODE  dump and restore: nftables (default), iptables or\n"
"                           skip: how the tree's traffic is dropped while its\n"
"                           connections are checkpointed, until restored\n"
"      --shell-job          the tree shares cr's terminal (a tty whose other\n"
"                           side is outside the tree, like a shell's): dump\n"
"                           records it, restore connects it to cr's stdin's\n"
"                           terminal; needed for dump and restore\n"
"      --display-stats      dump and restore: log what stats-dump or\n"
"                           stats-restore (written in DIR, criu's format) says\n"
"      --inherit-fd fd[N]:KEY  restore: cr's fd N replaces the tree's file\n"
"                           KEY (a path as dumped, or pipe:[INODE]); may repeat\n"
"      --allow-untrusted-images  restore as root from a directory or images\n"
"                           that group or others can write, or another user\n"
"                           owns (refused without it; a warning with it)\n"
"      --key-file FILE      dump, pre-dump: sign every image with the key in\n"
"                           FILE (>= 32 bytes, raw or hex, mode 0600); restore,\n"
"                           show: refuse any image not signed with it, naming\n"
"                           the file and offset (README: trust model)\n"
"      --root DIR           restore: build the tree's mount namespace under DIR\n"
"                           (its root file system) and pivot_root into it\n"
"      --external TYPE[NAME]:VALUE  dump: mnt[MOUNTPOINT]:KEY marks a mount as\n"
"                           not saved; restore: mnt[KEY]:PATH binds PATH there,\n"
"                           veth[IFNAME]:HOSTIF names the host end of a veth;\n"
"                           dump: net[INODE]:KEY leaves the tree's net namespace\n"
"                           out (restore: --inherit-fd fd[N]:KEY, N the namespace);\n"
"                           may repeat (--ext-mount-map KEY:PATH is mnt[KEY]:PATH)\n"
"      --manage-cgroups[=MODE]  restore: none, props, soft (default), full,\n"
"                           strict or ignore, as criu means them\n"
"      --cgroup-root [CONTROLLER:]PATH  restore: the tree's cgroups go under PATH\n"
"      --freeze-cgroup PATH dump: freeze the tree with this freezer cgroup first\n"
"      --restore-sibling    restore (with -d): the root becomes a child of cr's parent\n"
"      --action-script FILE run FILE at each of criu's notification points, with\n"
"                           CRTOOLS_SCRIPT_ACTION, CRTOOLS_IMAGE_DIR, CRTOOLS_INIT_PID;\n"
"                           a script failing fails the dump or restore; may repeat\n"
"      --ext-unix-sk[=INO,...]  dump: a unix socket whose peer is outside the\n"
"                           tree (all, or of these inodes) is kept: restore\n"
"                           connects it to the peer's name again\n"
"      --link-remap         dump: an open file whose path now names another file\n"
"                           but that has another hard link is kept by a new hard\n"
"                           link (.cr-link-remap.*) next to its path; restore\n"
"                           opens it there and removes that link\n"
"      --orphan-pts-master  dump: a terminal (/dev/pts/N) whose master is outside\n"
"                           the tree (a container's console) is saved; restore:\n"
"                           it comes back as a new pty pair whose master goes to\n"
"                           the RPC caller, or with --console-socket to PATH\n"
"      --console-socket PATH  restore: send new pty masters to the unix socket\n"
"                           PATH, as runc sends its console (recvtty takes it)\n"
"  -J, --join-ns NS:PATH|PID  restore: put the tree into an existing namespace\n"
"                           (net, uts or ipc) instead of a new one; its dumped\n"
"                           contents are not restored into it; may repeat\n"
"      --file-locks, --evasive-devices  accepted: cr dumps file locks always, and\n"
"                           opens device files at their dumped paths\n"
"      --no-default-config  accepted: cr reads no configuration file (criu's\n"
"                           default ones included)\n"
"      --page-server        dump: send the pages to `cr page-server` at --address\n"
"                           and --port (the other images stay in DIR: copy them\n"
"                           to the page server's DIR to restore there)\n"
"      --address A, --port P  the page server's address and port (page-server:\n"
"                           where it listens; default every address)\n"
"      --daemon             page-server: return once it listens\n"
"      --status-fd FD       page-server, lazy-pages, dump --lazy-pages: write a\n"
"                           '\\0' to FD once it listens\n"
"      --prev-images-dir DIR  pre-dump and dump: DIR (relative to -D) is the\n"
"                           pre-dump before this one, linked as DIR/parent\n"
"      --track-mem          dump: store only the pages written since the\n"
"                           --prev-images-dir pre-dump (pre-dump always tracks)\n"
"      --auto-dedup         dump and pre-dump: punch the pages this image\n"
"                           replaces out of the parent's page image\n"
"      --pre-copy[=N]       dump: up to N (default 4) pre-dump rounds in\n"
"                           DIR/precopy-K while the written set shrinks, then the\n"
"                           dump with the last as its parent\n"
"      --compress[=zstd[:LEVEL]]  dump and pre-dump: pages-N.img in blocks\n"
"                           compressed with zstd (level 1..19, default 1)\n"
"      --feature NAME       check: whether this kernel has feature NAME\n"
"                           (mem_dirty_track: write tracking for pre-dump)\n"
"      --stats              dump, pre-dump, restore: a summary on stderr at the\n"
"                           end (times, pages scanned/written/skipped, bytes,\n"
"                           throughput); the same figures as stats-dump/-restore\n"
"      --pages              show: which address ranges of each process are in\n"
"                           which page image, at which offset\n"
"  -h, --help               this text\n"
"  -V, --version            print the version\n"
"\n"
"Environment: CR_FAIL_AT=<point> injects a failure (for tests);\n"
"CR_PROGRESS_DELAY_MS=N shows the progress line after N ms, not 1000.\n");
}

/* Complains on stderr: logging is not set up while options are parsed. */
__attribute__((format(printf, 1, 2)))
static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("cr: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'cr --help' for more information.\n", stderr);
}

/*
 * Strict integer parsing: the whole string must be a decimal number in
 * [min, max]. Returns 0 and sets *ret, or -EINVAL / -ERANGE.
 */
static int parse_long(const char *s, long min, long max, long *ret)
{
	char *end;
	long v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

static int parse_pid(const char *s, pid_t *ret)
{
	long v;

	if (parse_long(s, 1, INT_MAX, &v)) {
		usage_error("option -t: '%s' is not a PID", s);
		return -EINVAL;
	}
	*ret = (pid_t)v;
	return 0;
}

/* -v, -vN, -vvv (getopt hands "vv" as the argument of the first v). */
static int parse_v(const char *arg, int *level)
{
	long v;

	if (!arg) {
		(*level)++;
	} else if (arg[strspn(arg, "v")] == '\0') {
		*level += strlen(arg) + 1;
	} else if (!parse_long(arg, 0, MAX_VERBOSITY, &v)) {
		*level = (int)v;
	} else {
		usage_error("option -v: '%s' is not a level 0..%d", arg, MAX_VERBOSITY);
		return -EINVAL;
	}
	if (*level > MAX_VERBOSITY)
		*level = MAX_VERBOSITY;
	return 0;
}

/* Appends @s to the string list *@v of *@n entries. */
static int push_str(const char ***v, unsigned *n, const char *s)
{
	const char **nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (!nv) {
		usage_error("out of memory");
		return -ENOMEM;
	}
	nv[(*n)++] = s;
	*v = nv;
	return 0;
}

/* --ext-unix-sk[=INO,...]: inodes, decimal, comma-separated; none: every socket. */
static int parse_ext_unix_sk(const char *arg)
{
	static uint32_t *inos;
	const char *p = arg;

	opts.ext_unix_sk = true;
	while (p && *p) {
		char *end;
		unsigned long v;
		uint32_t *n;

		errno = 0;
		v = strtoul(p, &end, 10);
		if (end == p || errno || v == 0 || v > UINT32_MAX || (*end && *end != ',')) {
			usage_error("option --ext-unix-sk: '%s' is not a list of socket inodes (INO,INO,...)", arg);
			return -EINVAL;
		}
		n = realloc(inos, (opts.nr_ext_unix_inos + 1) * sizeof(*n));
		if (!n) {
			usage_error("out of memory");
			return -ENOMEM;
		}
		inos = n;
		inos[opts.nr_ext_unix_inos++] = v;
		opts.ext_unix_inos = inos;
		p = *end ? end + 1 : end;
	}
	return 0;
}

/* TYPE[NAME]:VALUE, NAME and VALUE not empty. */
static int parse_external(const char *arg)
{
	const char *lb = strchr(arg, '['), *rb = lb ? strchr(lb, ']') : NULL;

	if (!lb || lb == arg || !rb || rb == lb + 1 || rb[1] != ':' || !rb[2]) {
		usage_error("option --external: '%s' is not TYPE[NAME]:VALUE", arg);
		return -EINVAL;
	}
	return push_str(&opts.externals, &opts.nr_externals, arg);
}

/* criu's older spelling: --ext-mount-map KEY:PATH is --external mnt[KEY]:PATH. */
static int parse_ext_mount_map(const char *arg)
{
	const char *colon = strchr(arg, ':');
	char *ext;

	if (!colon || colon == arg || !colon[1]) {
		usage_error("option --ext-mount-map: '%s' is not KEY:PATH", arg);
		return -EINVAL;
	}
	if (asprintf(&ext, "mnt[%.*s]:%s", (int)(colon - arg), arg, colon + 1) < 0) {
		usage_error("out of memory");
		return -ENOMEM;
	}
	return push_str(&opts.externals, &opts.nr_externals, ext);
}

static int parse_manage_cgroups(const char *arg)
{
	static const char *const modes[] = {
		[CG_MODE_SOFT] = "soft", [CG_MODE_NONE] = "none", [CG_MODE_PROPS] = "props",
		[CG_MODE_FULL] = "full", [CG_MODE_STRICT] = "strict", [CG_MODE_IGNORE] = "ignore",
	};

	if (!arg) {
		opts.manage_cgroups = CG_MODE_SOFT;
		return 0;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(modes); i++)
		if (!strcmp(arg, modes[i])) {
			opts.manage_cgroups = i;
			return 0;
		}
	usage_error("option --manage-cgroups: '%s' is not none, props, soft, full, strict or ignore", arg);
	return -EINVAL;
}

/* criu's NS:{PID|NS_FILE}[,EXTRA]: namespaces.c checks NS and opens the file. */
static int parse_join_ns(char *arg)
{
	char *colon = strchr(arg, ':'), *comma;
	struct cr_join_ns *n;

	if (!colon || colon == arg || !colon[1]) {
		usage_error("option --join-ns: '%s' is not NS:PATH or NS:PID", arg);
		return -EINVAL;
	}
	*colon = '\0';
	comma = strchr(colon + 1, ',');
	if (comma)
		*comma = '\0';
	n = realloc(opts.join_ns, (opts.nr_join_ns + 1) * sizeof(*n));
	if (!n) {
		usage_error("out of memory");
		return -ENOMEM;
	}
	opts.join_ns = n;
	n[opts.nr_join_ns++] = (struct cr_join_ns){ .ns = arg, .file = colon + 1, .extra = comma ? comma + 1 : NULL };
	return 0;
}

/* "fd[N]:KEY" as criu spells it; N must be open in cr. */
static int parse_inherit_fd(const char *arg)
{
	struct cr_inherit_fd *n;
	const char *key;
	char *end;
	long fd;

	if (strncmp(arg, "fd[", 3))
		goto bad;
	errno = 0;
	fd = strtol(arg + 3, &end, 10);
	if (end == arg + 3 || errno || fd < 0 || fd > INT_MAX || strncmp(end, "]:", 2))
		goto bad;
	key = end + 2;
	if (!*key)
		goto bad;
	if (fcntl((int)fd, F_GETFD) < 0) {
		usage_error("option --inherit-fd %s: fd %ld is not open in cr", arg, fd);
		return -EBADF;
	}
	n = realloc(opts.inherit_fds, (opts.nr_inherit_fds + 1) * sizeof(*n));
	if (!n) {
		usage_error("out of memory");
		return -ENOMEM;
	}
	opts.inherit_fds = n;
	n[opts.nr_inherit_fds++] = (struct cr_inherit_fd){ .fd = (int)fd, .key = key };
	return 0;
bad:
	usage_error("option --inherit-fd: '%s' is not fd[N]:KEY", arg);
	return -EINVAL;
}

static int parse_verbosity(const char *arg, int *level)
{
	long v;

	if (parse_long(arg, 0, MAX_VERBOSITY, &v)) {
		usage_error("option --verbosity: '%s' is not a level 0..%d",
			    arg, MAX_VERBOSITY);
		return -EINVAL;
	}
	*level = (int)v;
	return 0;
}

/* An fd cr was given open (--status-fd). */
static int parse_fd_option(const char *opt, const char *arg, int *ret)
{
	long v;

	if (parse_long(arg, 0, INT_MAX, &v)) {
		usage_error("option %s: '%s' is not an fd number", opt, arg);
		return -EINVAL;
	}
	if (fcntl((int)v, F_GETFD) < 0) {
		usage_error("option %s: fd %ld is not open in cr", opt, v);
		return -EBADF;
	}
	*ret = (int)v;
	return 0;
}

static int parse_port(const char *arg, int *ret)
{
	long v;

	if (parse_long(arg, 0, 65535, &v)) {
		usage_error("option --port: '%s' is not a port (0..65535)", arg);
		return -EINVAL;
	}
	*ret = (int)v;
	return 0;
}

enum parse_result {
	PARSE_RUN,
	PARSE_EXIT_OK,		/* --help, --version */
	PARSE_EXIT_FAIL,
};

static enum parse_result parse_options(int argc, char **argv)
{
	int c;

	opts.images_dir = ".";
	opts.verbosity = DEFAULT_VERBOSITY;

	/* We print our own messages with the usage hint. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (parse_pid(optarg, &opts.pid))
				return PARSE_EXIT_FAIL;
			break;
		case 'D':
			opts.images_dir = optarg;
			break;
		case 'o':
			opts.log_file = optarg;
			break;
		case 'v':
			if (parse_v(optarg, &opts.verbosity))
				return PARSE_EXIT_FAIL;
			break;
		case OPT_VERBOSITY:
			if (parse_verbosity(optarg, &opts.verbosity))
				return PARSE_EXIT_FAIL;
			break;
		case 'R':
		case OPT_LEAVE_RUNNING:
			opts.leave_running = true;
			break;
		case 'd':
			opts.restore_detached = true;
			break;
		case OPT_PIDFILE:
			opts.pidfile = optarg;
			break;
		case OPT_TCP_ESTABLISHED:
			opts.tcp_established = true;
			break;
		case OPT_TCP_SKIP_IN_FLIGHT:
			opts.tcp_skip_in_flight = true;
			break;
		case OPT_TCP_CLOSE:
			opts.tcp_close = true;
			break;
		case OPT_SHELL_JOB:
			opts.shell_job = true;
			break;
		case OPT_DISPLAY_STATS:
			opts.display_stats = true;
			break;
		case OPT_INHERIT_FD:
			if (parse_inherit_fd(optarg))
				return PARSE_EXIT_FAIL;
			break;
		case OPT_ALLOW_UNTRUSTED:
			opts.allow_untrusted_images = true;
			break;
		case OPT_KEY_FILE:
			opts.key_file = optarg;
			break;
		case OPT_ROOT:
			opts.root = optarg;
			break;
		case OPT_EXTERNAL:
			if (parse_external(optarg))
				return PARSE_EXIT_FAIL;
			break;
		case OPT_EXT_MOUNT_MAP:
			if (parse_ext_mount_map(optarg))
				return PARSE_EXIT_FAIL;
			break;
		case OPT_MANAGE_CGROUPS:
			if (parse_manage_cgroups(optarg))
				return PARSE_EXIT_FAIL;
			break;
		case OPT_CGROUP_ROOT:
			if (push_str(&opts.cgroup_roots, &opts.nr_cgroup_roots, optarg))
				return PARSE_EXIT_FAIL;
			break;
		case OPT_FREEZE_CGROUP:
			opts.freeze_cgroup = optarg;
			break;
		case OPT_RESTORE_SIBLING:
			opts.restore_sibling = true;
			break;
		case OPT_ACTION_SCRIPT:
			if (push_str(&scripts.paths, &scripts.nr, optarg))
				return PARSE_EXIT_FAIL;
			break;
		case OPT_FILE_LOCKS:
		case OPT_EVASIVE_DEVICES:
			/* criu's permissions that cr does not need (README) */
			break;
		case OPT_LINK_REMAP:
			opts.link_remap = true;
			break;
		case OPT_NO_DEFAULT_CONFIG:
			/* criu's "read no config file": cr reads none ever */
			break;
		case OPT_EXT_UNIX_SK:
			if (parse_ext_unix_sk(optarg))
				return PARSE_EXIT_FAIL;
			break;
		case OPT_ORPHAN_PTS_MASTER:
			opts.orphan_pts_master = true;
			break;
		case OPT_CONSOLE_SOCKET:
			opts.hand_fd = cr_console_socket_send;
			opts.hand_fd_ctx = optarg;
			break;
		case 'J':
			if (parse_join_ns(optarg))
				return PARSE_EXIT_FAIL;
			break;
		case OPT_NETWORK_LOCK:
			if (netlock_mode_parse(optarg, &opts.network_lock)) {
				usage_error("option --network-lock: '%s' is not a mode (iptables, nftables or skip)",
					    optarg);
				return PARSE_EXIT_FAIL;
			}
			break;
		case OPT_LAZY_PAGES:
			opts.lazy_pages = true;
			break;
		case OPT_FEATURE:
			opts.check_feature = optarg;
			break;
		case OPT_STATS:
			opts.stats = true;
			break;
		case OPT_SHOW_PAGES:
			opts.show_pages = true;
			break;
		case OPT_PREV_IMAGES_DIR:
			opts.prev_images_dir = optarg;
			break;
		case OPT_TRACK_MEM:
			opts.track_mem = true;
			break;
		case OPT_AUTO_DEDUP:
			opts.auto_dedup = true;
			break;
		case OPT_PRE_COPY: {
			long n = PRE_COPY_DEFAULT_ROUNDS;

			if (optarg && parse_long(optarg, 1, PRE_COPY_MAX_ROUNDS, &n)) {
				usage_error("option --pre-copy: '%s' is not a number of rounds 1..%d", optarg,
					    PRE_COPY_MAX_ROUNDS);
				return PARSE_EXIT_FAIL;
			}
			opts.pre_copy_rounds = (unsigned)n;
			break;
		}
		case OPT_COMPRESS:
			if (pagez_parse_spec(optarg, &opts.compress_level)) {
				usage_error("option --compress: '%s' is not zstd or zstd:LEVEL (level %d..%d)", optarg,
					    PAGEZ_LEVEL_MIN, PAGEZ_LEVEL_MAX);
				return PARSE_EXIT_FAIL;
			}
			break;
		case OPT_STATUS_FD:
			if (parse_fd_option("--status-fd", optarg, &opts.status_fd))
				return PARSE_EXIT_FAIL;
			opts.has_status_fd = true;
			break;
		case OPT_PAGE_SERVER:
			opts.ps.on = true;
			break;
		case OPT_ADDRESS:
			opts.ps.address = optarg;
			break;
		case OPT_PORT:
			if (parse_port(optarg, &opts.ps.port))
				return PARSE_EXIT_FAIL;
			break;
		case OPT_DAEMON:
			opts.daemon = true;
			break;
		case 'h':
			usage(stdout);
			return PARSE_EXIT_OK;
		case 'V':
			printf("cr (criu-lite) %s\n", CR_VERSION);
			printf("swrk: criu %s's RPC (what runc, podman and libcriu see as its version)\n",
			       CR_CRIU_RPC_VERSION);
			return PARSE_EXIT_OK;
		case ':':
			usage_error("option '%s' needs an argument", argv[optind - 1]);
			return PARSE_EXIT_FAIL;
		case '?':
		default:
			/* optopt is the character for a short option, 0 for a long one. */
			if (optopt)
				usage_error("unknown option '-%c'", optopt);
			else
				usage_error("unknown option '%s'", argv[optind - 1]);
			return PARSE_EXIT_FAIL;
		}
	}

	if (optind >= argc) {
		usage_error("no command given");
		return PARSE_EXIT_FAIL;
	}
	opts.command = argv[optind++];

	if (!strcmp(opts.command, "show")) {
		if (optind >= argc) {
			usage_error("show needs a directory or an image file");
			return PARSE_EXIT_FAIL;
		}
		opts.show_path = argv[optind++];
	} else if (!strcmp(opts.command, "swrk")) {
		/* the socket's fd number; the requests carry the options */
		if (optind >= argc) {
			usage_error("swrk needs the fd of its socket");
			return PARSE_EXIT_FAIL;
		}
		swrk_fd_arg = argv[optind++];
	} else if (strcmp(opts.command, "dump") && strcmp(opts.command, "pre-dump") && strcmp(opts.command, "restore") &&
		   strcmp(opts.command, "check") && strcmp(opts.command, "page-server") &&
		   strcmp(opts.command, "lazy-pages")) {
		usage_error("unknown command '%s'", opts.command);
		return PARSE_EXIT_FAIL;
	}

	if (optind < argc) {
		usage_error("unexpected argument '%s'", argv[optind]);
		return PARSE_EXIT_FAIL;
	}

	if ((!strcmp(opts.command, "dump") || !strcmp(opts.command, "pre-dump")) && opts.pid <= 0) {
		usage_error("%s needs -t PID", opts.command);
		return PARSE_EXIT_FAIL;
	}
	if (opts.pre_copy_rounds && (strcmp(opts.command, "dump") || opts.prev_images_dir)) {
		usage_error("--pre-copy is for dump, without --prev-images-dir (it makes its own)");
		return PARSE_EXIT_FAIL;
	}
	if ((!strcmp(opts.command, "dump") || !strcmp(opts.command, "pre-dump")) && opts.ps.on &&
	    (!opts.ps.address || !opts.ps.port)) {
		usage_error("%s --page-server needs --address and --port of the page server", opts.command);
		return PARSE_EXIT_FAIL;
	}
	/* One cr page-server takes one image set: the rounds would each need one. */
	if (opts.ps.on && opts.pre_copy_rounds) {
		usage_error("--pre-copy does not go through --page-server (one page server per image set): "
			    "pre-dump to each server in turn");
		return PARSE_EXIT_FAIL;
	}
	if (!strcmp(opts.command, "page-server") && !opts.ps.port) {
		usage_error("page-server needs --port");
		return PARSE_EXIT_FAIL;
	}
	if (lazy_serve_opts_error(&opts)) {
		usage_error("%s", lazy_serve_opts_error(&opts));
		return PARSE_EXIT_FAIL;
	}
	/* as criu: without -d cr would wait for a root that is not its child */
	if (opts.restore_sibling && !opts.restore_detached) {
		usage_error("--restore-sibling needs -d (--restore-detached)");
		return PARSE_EXIT_FAIL;
	}
	if (scripts.nr) {
		scripts.images_dir = opts.images_dir;
		scripts.init_pid = opts.pid;	/* a restore's comes with setup-namespaces or post-restore */
		opts.notify = cr_run_action_scripts;
		opts.notify_ctx = &scripts;
	}
	return PARSE_RUN;
}

static int run_command(int dfd, int *ret_exit_status)
{
	if (!strcmp(opts.command, "dump"))
		return opts.pre_copy_rounds ? cr_dump_pre_copy(&opts, dfd) : cr_dump(&opts, dfd);
	if (!strcmp(opts.command, "pre-dump"))
		return cr_pre_dump(&opts, dfd);
	if (!strcmp(opts.command, "restore"))
		return cr_restore(&opts, dfd, ret_exit_status);
	if (!strcmp(opts.command, "check"))
		return opts.check_feature ? cr_check_feature(opts.check_feature) : cr_check();
	if (!strcmp(opts.command, "page-server"))
		return opts.lazy_pages ? cr_lazy_page_server(&opts, dfd) : cr_page_server(&opts, dfd);
	if (!strcmp(opts.command, "swrk"))
		return cr_swrk(swrk_fd_arg);
	if (!strcmp(opts.command, "lazy-pages"))
		return cr_lazy_pages(&opts, dfd);
	return opts.show_pages ? cr_show_pages(opts.show_path) : cr_show(opts.show_path);
}

/*
 * Makes the failure visible on stderr exactly once: log.c already wrote
 * errors to stderr when it logs there at level >= 1, and to the file
 * (not stderr) otherwise.
 */
static void report_failure(int ret, const char *log_path)
{
	const char *last = log_last_error();
	bool to_file = log_path[0] != '\0';
	bool already_on_stderr = !to_file && opts.verbosity >= LOG_ERROR && last;

	if (!already_on_stderr) {
		if (last)
			fprintf(stderr, "cr: %s\n", last);
		else
			fprintf(stderr, "cr: %s failed: %s\n", opts.command, strerror(-ret));
	}
	if (to_file)
		fprintf(stderr, "cr: %s failed, see the log %s\n", opts.command, log_path);
}

int main(int argc, char **argv)
{
	char log_path[PATH_MAX] = "";
	int ret, dfd = -1, exit_status = 0;

	switch (parse_options(argc, argv)) {
	case PARSE_EXIT_OK:
		return 0;
	case PARSE_EXIT_FAIL:
		return 1;
	case PARSE_RUN:
		break;
	}

	log_set_level(opts.verbosity);
	ret = cr_take_images_dir(&opts, &dfd);
	if (!ret)
		ret = cr_open_log(&opts, log_path);
	if (ret) {
		report_failure(ret, log_path);
		return 1;
	}

	if (!strcmp(opts.command, "dump") && opts.restore_detached)
		pr_warn("-d/--restore-detached has no meaning for dump; ignored");
	if (strcmp(opts.command, "restore") && opts.nr_inherit_fds)
		pr_warn("--inherit-fd is only used by restore; ignored");
	if (strcmp(opts.command, "dump") && strcmp(opts.command, "pre-dump") && opts.pid)
		pr_warn("-t is only used by dump; ignored");
	if ((!strcmp(opts.command, "dump") || !strcmp(opts.command, "pre-dump")) && !opts.ps.on &&
	    !opts.lazy_pages && (opts.ps.address || opts.ps.port))
		pr_warn("--address and --port are used by dump and pre-dump with --page-server only; ignored");
	if (strcmp(opts.command, "page-server") && opts.daemon)
		pr_warn("--daemon is used by page-server only; ignored");
	if (strcmp(opts.command, "page-server") && strcmp(opts.command, "lazy-pages") &&
	    !(opts.lazy_pages && !strcmp(opts.command, "dump")) && opts.has_status_fd)
		pr_warn("--status-fd is used by page-server, lazy-pages and dump --lazy-pages only; ignored");
	if (strcmp(opts.command, "restore") && opts.allow_untrusted_images)
		pr_warn("--allow-untrusted-images is only used by restore; ignored");

	/* A progress line for a person watching: on a terminal, not with -v0 (progress.h). */
	progress_setup(isatty(STDERR_FILENO) && opts.verbosity > LOG_MSG &&
		       (!strcmp(opts.command, "dump") || !strcmp(opts.command, "pre-dump") ||
			!strcmp(opts.command, "restore")));
	pr_debug("cr (criu-lite) %s: %s", CR_VERSION, opts.command);
	ret = run_command(dfd, &exit_status);
	if (ret < 0)
		report_failure(ret, log_path);
	/* Flush pending output before the log file goes away. */
	fflush(stdout);
	log_close();
	if (ret < 0)
		return 1;
	/* restore without -d exits with the restored task's status, as criu */
	return exit_status;
}
