/*
 * The file of a bound unix socket as postgres leaves its /tmp/.s.PGSQL.N:
 * a stream listener on a path in the work dir, its file given another
 * owner (1234:2345), mode 0751 and fixed access and modification times.
 * After restore the file bind made again has that owner, mode and those
 * times, and the listener accepts a connection by its name; the owner
 * can remove it (the test unlinks it as that user would: the work dir
 * lets anyone).
 */
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "zdtm.h"

#define PATH		"zdtm_unix_file_attrs.sock"
#define UID		1234
#define GID		2345
#define MODE		0751
#define ATIME		1600000000
#define MTIME		1500000000
#define MTIME_NSEC	123456789

static int check_file(void)
{
	struct stat st;

	if (lstat(PATH, &st) || !S_ISSOCK(st.st_mode)) {
		test_msg("FAIL: %s is not a socket file after restore", PATH);
		return 1;
	}
	if (st.st_uid != UID || st.st_gid != GID || (st.st_mode & 07777) != MODE) {
		test_msg("FAIL: %s: owner %u:%u mode 0%o, expected %u:%u 0%o", PATH, st.st_uid, st.st_gid,
			 st.st_mode & 07777, UID, GID, MODE);
		return 1;
	}
	if (st.st_atim.tv_sec != ATIME || st.st_mtim.tv_sec != MTIME || st.st_mtim.tv_nsec != MTIME_NSEC) {
		test_msg("FAIL: %s: atime %ld, mtime %ld.%09ld, expected %d, %d.%09d", PATH, (long)st.st_atim.tv_sec,
			 (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, ATIME, MTIME, MTIME_NSEC);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timespec ts[2] = { { ATIME, 0 }, { MTIME, MTIME_NSEC } };
	int lsk, csk, ask, bad;

	test_init(argc, argv);
	strcpy(sa.sun_path, PATH);
	lsk = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lsk < 0)
		fail_errno("socket");
	if (bind(lsk, (struct sockaddr *)&sa, sizeof(sa)) || listen(lsk, 4))
		fail_errno("bind/listen %s", PATH);
	if (chown(PATH, UID, GID) || chmod(PATH, MODE) || utimensat(AT_FDCWD, PATH, ts, AT_SYMLINK_NOFOLLOW))
		fail_errno("setting the owner, mode and times of %s", PATH);

	test_ready();
	test_wait_checkpoint();

	bad = check_file();
	csk = socket(AF_UNIX, SOCK_STREAM, 0);
	if (csk < 0 || connect(csk, (struct sockaddr *)&sa, sizeof(sa))) {
		test_msg("FAIL: connecting to %s after restore: %m", PATH);
		bad++;
	} else if ((ask = accept(lsk, NULL, NULL)) < 0) {
		test_msg("FAIL: accept after restore: %m");
		bad++;
	} else {
		close(ask);
	}
	if (unlink(PATH)) {
		test_msg("FAIL: unlink %s: %m", PATH);
		bad++;
	}
	if (bad)
		fail("%d checks failed", bad);
	pass();
}
