/*
 * Per-process flags outside memory and signals: parent-death signal,
 * child-subreaper flag, oom_score_adj, dumpable.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>
#include "zdtm.h"

#define OOM_ADJ	567

static void on_usr2(int sig)
{
	(void)sig;	/* the parent-death signal: harmless here */
}

static int read_oom_adj(void)
{
	char buf[32] = "";
	int fd = open("/proc/self/oom_score_adj", O_RDONLY);

	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0)
		fail_errno("read oom_score_adj");
	close(fd);
	return atoi(buf);
}

int main(int argc, char **argv)
{
	int pdeath = 0, reaper = 0, fd;

	test_init(argc, argv);
	signal(SIGUSR2, on_usr2);
	if (prctl(PR_SET_PDEATHSIG, SIGUSR2) || prctl(PR_SET_CHILD_SUBREAPER, 1) ||
	    prctl(PR_SET_DUMPABLE, 0))
		fail_errno("prctl");
	fd = open("/proc/self/oom_score_adj", O_WRONLY);
	if (fd < 0 || dprintf(fd, "%d", OOM_ADJ) < 0)
		fail_errno("write oom_score_adj");
	close(fd);
	test_ready();
	test_wait_checkpoint();

	if (prctl(PR_GET_PDEATHSIG, &pdeath) || pdeath != SIGUSR2)
		fail("pdeath signal %d, expected %d", pdeath, SIGUSR2);
	if (prctl(PR_GET_CHILD_SUBREAPER, &reaper) || reaper != 1)
		fail("child subreaper %d, expected 1", reaper);
	if (prctl(PR_GET_DUMPABLE) != 0)
		fail("dumpable %d, expected 0", prctl(PR_GET_DUMPABLE));
	if (read_oom_adj() != OOM_ADJ)
		fail("oom_score_adj %d, expected %d", read_oom_adj(), OOM_ADJ);
	pass();
}
