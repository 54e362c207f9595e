/*
 * stdout redirected to a file (not O_APPEND, so the file position has to
 * be restored) and a fully buffered stdio stream whose buffer holds
 * unflushed data across the checkpoint: lines written before and after
 * land in the files in order, once each.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "zdtm.h"

#define OUT_NAME	"zdtm_stdio.out"
#define BUF_NAME	"zdtm_stdio_buffered.out"
#define NR_BEFORE	50
#define NR_AFTER	50
#define SAVED_FD	10

static char iobuf[1 << 16];

static void check_lines(const char *path, const char *prefix)
{
	char line[128], want[128];
	FILE *f = fopen(path, "r");
	int n = 0;

	if (!f)
		fail_errno("open %s", path);
	while (fgets(line, sizeof(line), f)) {
		snprintf(want, sizeof(want), "%s %d\n", prefix, n);
		if (strcmp(line, want))
			fail("%s line %d is '%.40s', expected '%s %d'", path, n, line, prefix, n);
		n++;
	}
	fclose(f);
	if (n != NR_BEFORE + NR_AFTER)
		fail("%s has %d lines, expected %d", path, n, NR_BEFORE + NR_AFTER);
}

int main(int argc, char **argv)
{
	FILE *buffered;
	int fd, i;

	test_init(argc, argv);

	/* Keep the outfile at SAVED_FD to report the result there. */
	if (dup2(STDOUT_FILENO, SAVED_FD) != SAVED_FD)
		fail_errno("dup2 save stdout");
	fd = open(OUT_NAME, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || dup2(fd, STDOUT_FILENO) != STDOUT_FILENO)
		fail_errno("redirect stdout");
	close(fd);

	buffered = fopen(BUF_NAME, "w");
	if (!buffered || setvbuf(buffered, iobuf, _IOFBF, sizeof(iobuf)))
		fail_errno("fopen " BUF_NAME);

	for (i = 0; i < NR_BEFORE; i++) {
		printf("stdout %d\n", i);	/* stdout is unbuffered (lib) */
		fprintf(buffered, "buffered %d\n", i);	/* stays in iobuf */
	}

	test_ready();
	test_wait_checkpoint();

	for (; i < NR_BEFORE + NR_AFTER; i++) {
		printf("stdout %d\n", i);
		fprintf(buffered, "buffered %d\n", i);
	}
	if (fclose(buffered))
		fail_errno("fclose " BUF_NAME);

	if (dup2(SAVED_FD, STDOUT_FILENO) != STDOUT_FILENO)
		fail_errno("dup2 restore stdout");
	close(SAVED_FD);

	check_lines(OUT_NAME, "stdout");
	check_lines(BUF_NAME, "buffered");
	pass();
}
