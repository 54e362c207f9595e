/*
 * A fanotify group of class FAN_CLASS_CONTENT with a FAN_OPEN_PERM mark
 * on a file. Not supported: a permission request the task has read and
 * not answered yet is visible nowhere (and its answer would go to a
 * group that never asked), so the dump is refused and the tree runs on. Then an open of the file by a child
 * waits for the group's answer: the test reads the request, allows it,
 * and the child's open succeeds.
 *
 * zdtm: refused: permission
 * zdtm: flavors: h ns -uns (FAN_CLASS_CONTENT needs CAP_SYS_ADMIN of the initial user namespace)
 */
#include <fcntl.h>
#include <sys/fanotify.h>
#include <sys/wait.h>
#include <unistd.h>
#include "zdtm.h"

#define FILE_P		"zdtm_fanotify_perm.file"

int main(int argc, char **argv)
{
	char buf[4096] __attribute__((aligned(8)));
	struct fanotify_event_metadata *m = (void *)buf;
	struct fanotify_response r;
	int fan, status;
	pid_t kid;
	ssize_t n;

	test_init(argc, argv);
	if (close(open(FILE_P, O_CREAT | O_WRONLY, 0600)))
		fail_errno("creating %s", FILE_P);
	fan = fanotify_init(FAN_CLASS_CONTENT, O_RDONLY);
	if (fan < 0 || fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN_PERM, AT_FDCWD, FILE_P))
		fail_errno("fanotify_init or fanotify_mark");

	test_ready();
	test_wait_checkpoint();

	kid = fork();
	if (kid < 0)
		fail_errno("fork");
	if (kid == 0)
		_exit(open(FILE_P, O_RDONLY) < 0);
	n = read(fan, buf, sizeof(buf));
	if (n < (ssize_t)sizeof(*m) || !(m->mask & FAN_OPEN_PERM) || m->pid != kid)
		fail_errno("no FAN_OPEN_PERM request from the child (%zd bytes)", n);
	r.fd = m->fd;
	r.response = FAN_ALLOW;
	if (write(fan, &r, sizeof(r)) != sizeof(r))
		fail_errno("answering the request");
	close(m->fd);
	if (waitpid(kid, &status, 0) != kid || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("the child's open failed (status %#x)", status);
	pass();
}
