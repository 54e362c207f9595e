/* The working directory, the umask and the task name (comm) survive. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

#define SUBDIR	"zdtm_cwd.d"
#define UMASK	027
#define COMM	"zdtm-comm-x"

int main(int argc, char **argv)
{
	char cwd[PATH_MAX], now[PATH_MAX], name[16] = { 0 }, comm[64] = { 0 };
	mode_t old;
	FILE *f;

	test_init(argc, argv);
	if (mkdir(SUBDIR, 0755) || chdir(SUBDIR))
		fail_errno("mkdir/chdir " SUBDIR);
	if (!getcwd(cwd, sizeof(cwd)))
		fail_errno("getcwd");
	umask(UMASK);
	if (prctl(PR_SET_NAME, COMM))
		fail_errno("PR_SET_NAME");

	test_ready();
	test_wait_checkpoint();

	if (!getcwd(now, sizeof(now)))
		fail_errno("getcwd after restore");
	if (strcmp(cwd, now))
		fail("cwd is %s, expected %s", now, cwd);
	old = umask(0);
	if (old != UMASK)
		fail("umask is %#o, expected %#o", old, UMASK);
	if (prctl(PR_GET_NAME, name))
		fail_errno("PR_GET_NAME");
	if (strcmp(name, COMM))
		fail("comm is '%s', expected '%s'", name, COMM);
	f = fopen("/proc/self/comm", "r");
	if (!f || !fgets(comm, sizeof(comm), f))
		fail_errno("read /proc/self/comm");
	fclose(f);
	comm[strcspn(comm, "\n")] = 0;
	if (strcmp(comm, COMM))
		fail("/proc/self/comm is '%s'", comm);
	pass();
}
