/*
 * The audit loginuid, set by the task itself: the same after restore.
 * The session id cannot be chosen (the kernel gives a new one with each
 * loginuid written): it must still be a valid one, as a set loginuid
 * always has.
 *
 * zdtm: flavors: h ns -uns (a loginuid is set with CAP_AUDIT_CONTROL of the initial user namespace)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "zdtm.h"

#define LOGINUID	4321u
#define UNSET		4294967295u

static unsigned read_u(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY);

	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0)
		fail_errno("read %s", path);
	close(fd);
	return strtoul(buf, NULL, 10);
}

int main(int argc, char **argv)
{
	unsigned uid, sid;
	int fd;

	test_init(argc, argv);
	fd = open("/proc/self/loginuid", O_WRONLY);
	if (fd < 0 || dprintf(fd, "%u", LOGINUID) < 0)
		fail_errno("write /proc/self/loginuid");
	close(fd);
	if (read_u("/proc/self/loginuid") != LOGINUID)
		fail("loginuid is %u, not %u after setting it", read_u("/proc/self/loginuid"), LOGINUID);

	test_ready();
	test_wait_checkpoint();

	uid = read_u("/proc/self/loginuid");
	sid = read_u("/proc/self/sessionid");
	if (uid != LOGINUID)
		fail("loginuid is %u after restore, expected %u", uid, LOGINUID);
	if (sid == UNSET)
		fail("sessionid is unset after restore, with loginuid %u", uid);
	pass();
}
