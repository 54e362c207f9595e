/*
 * uns-exec: the zdtm uns flavor's user namespace, without newuidmap.
 *
 * usage: uns-exec [-u OUTER,INNER,COUNT]... [-g OUTER,INNER,COUNT]...
 *                 [-s allow|deny] -- CMD [ARGS...]
 *
 * (the map arguments as util-linux unshare's --map-users/--map-groups
 * take them). Unshares a user namespace, has a child of the parent
 * namespace write setgroups, uid_map and gid_map, becomes the namespace's
 * uid and gid 0 (where mapped; groups dropped where setgroups is
 * allowed) and executes CMD, keeping its own pid.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_MAP	4096

static char uid_map[MAX_MAP], gid_map[MAX_MAP];
static int uid_zero, gid_zero;

static int add(char *map, const char *arg, int *zero)
{
	unsigned long outer, inner, count;
	size_t len = strlen(map);

	if (sscanf(arg, "%lu,%lu,%lu", &outer, &inner, &count) != 3 || !count) {
		fprintf(stderr, "uns-exec: bad map %s (OUTER,INNER,COUNT)\n", arg);
		return -1;
	}
	if (inner == 0)
		*zero = 1;
	snprintf(map + len, MAX_MAP - len, "%lu %lu %lu\n", inner, outer, count);
	return 0;
}

static int write_file(pid_t pid, const char *name, const char *text)
{
	char path[64];
	int fd, ok;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "uns-exec: open %s: %s\n", path, strerror(errno));
		return -1;
	}
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	if (!ok)
		fprintf(stderr, "uns-exec: write %s: %s\n", path, strerror(errno));
	close(fd);
	return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *setgroups_mode = "allow";
	int go[2], done[2], opt, status;
	pid_t parent = getpid(), child;
	char c = 0;

	while ((opt = getopt(argc, argv, "+u:g:s:")) != -1) {
		switch (opt) {
		case 'u':
			if (add(uid_map, optarg, &uid_zero))
				return 2;
			break;
		case 'g':
			if (add(gid_map, optarg, &gid_zero))
				return 2;
			break;
		case 's':
			setgroups_mode = optarg;
			break;
		default:
			return 2;
		}
	}
	if (optind >= argc || !*uid_map || !*gid_map) {
		fprintf(stderr, "usage: uns-exec -u OUTER,INNER,COUNT -g OUTER,INNER,COUNT [-s allow|deny] -- CMD...\n");
		return 2;
	}
	if (pipe2(go, O_CLOEXEC) || pipe2(done, O_CLOEXEC)) {
		perror("uns-exec: pipe");
		return 1;
	}
	child = fork();
	if (child < 0) {
		perror("uns-exec: fork");
		return 1;
	}
	if (child == 0) {
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		if (write_file(parent, "setgroups", setgroups_mode) || write_file(parent, "uid_map", uid_map) ||
		    write_file(parent, "gid_map", gid_map))
			_exit(1);
		_exit(0);
	}
	if (unshare(CLONE_NEWUSER)) {
		perror("uns-exec: unshare(CLONE_NEWUSER)");
		return 1;
	}
	if (write(go[1], "g", 1) != 1 || waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "uns-exec: the maps could not be written\n");
		return 1;
	}
	if (gid_zero && setresgid(0, 0, 0)) {
		perror("uns-exec: setresgid(0)");
		return 1;
	}
	if (!strcmp(setgroups_mode, "allow") && setgroups(0, NULL)) {
		perror("uns-exec: setgroups");
		return 1;
	}
	if (uid_zero && setresuid(0, 0, 0)) {
		perror("uns-exec: setresuid(0)");
		return 1;
	}
	execvp(argv[optind], argv + optind);
	fprintf(stderr, "uns-exec: exec %s: %s\n", argv[optind], strerror(errno));
	return 127;
}
