/* Helpers shared by the unit suites: a fresh temp directory per test, whole-file I/O. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "log.h"
#include "unit.h"

char tmp_dir[64];
int tmp_dfd = -1;

static void rm_rf(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);	/* best effort: only /tmp debris is at stake */
}

void tmp_setup(void)
{
	strcpy(tmp_dir, "/tmp/cr-unit-XXXXXX");
	CU_ASSERT_FATAL(mkdtemp(tmp_dir) != NULL);
	tmp_dfd = open(tmp_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CU_ASSERT_FATAL(tmp_dfd >= 0);
}

void tmp_teardown(void)
{
	if (tmp_dfd >= 0)
		close(tmp_dfd);
	tmp_dfd = -1;
	rm_rf(tmp_dir);
}

bool last_error_has(const char *s)
{
	const char *e = log_last_error();

	return e && strstr(e, s);
}

unsigned char *slurp(const char *name, size_t *len)
{
	struct stat st;
	unsigned char *b;
	int fd = openat(tmp_dfd, name, O_RDONLY);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return NULL;
	}
	b = malloc(st.st_size + 1);
	if (b && pread(fd, b, st.st_size, 0) != st.st_size) {
		free(b);
		b = NULL;
	}
	close(fd);
	*len = st.st_size;
	return b;
}

int spit(const char *name, const void *buf, size_t len)
{
	int fd = openat(tmp_dfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, buf, len) != (ssize_t)len)
		ret = -EIO;
	close(fd);
	return ret;
}
