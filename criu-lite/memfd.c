/*
 * memfd attributes, the same whether a memfd comes back for an fd
 * (files-reg.c) or for a mapping (shmem.c): its seals, mode and owner.
 * Restore creates the memfd, lets the caller fill it, then sets mode and
 * owner before the seals (F_SEAL_EXEC refuses a later chmod).
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "memfd.h"

int memfd_attrs_read(int fd, const char *what, struct memfd_attrs *ret)
{
	struct stat st;
	int seals;

	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return pr_errno(-errno, "%s: F_GET_SEALS", what);
	if (fstat(fd, &st))
		return pr_errno(-errno, "%s: fstat", what);
	*ret = (struct memfd_attrs){ .seals = seals, .mode = st.st_mode & 07777, .uid = st.st_uid,
				     .gid = st.st_gid };
	return 0;
}

int memfd_new(const char *name, uint32_t seals)
{
	unsigned flags = MFD_CLOEXEC;
	int fd;

	/* A memfd without MFD_ALLOW_SEALING reports exactly F_SEAL_SEAL. */
	if (seals != F_SEAL_SEAL)
		flags |= MFD_ALLOW_SEALING;
	fd = memfd_create(name ? name : "", flags);
	if (fd < 0)
		return pr_errno(-errno, "memfd %s: memfd_create", name ? name : "");
	return fd;
}

int memfd_attrs_apply(int fd, const char *name, const struct memfd_attrs *a)
{
	struct stat st;

	if (fstat(fd, &st))
		return pr_errno(-errno, "memfd %s: fstat", name);
	if ((st.st_mode & 07777) != a->mode && fchmod(fd, a->mode))
		return pr_errno(-errno, "memfd %s: chmod to %o", name, a->mode);
	if ((st.st_uid != a->uid || st.st_gid != a->gid) && fchown(fd, a->uid, a->gid))
		return pr_errno(-errno, "memfd %s: chown to %u:%u", name, a->uid, a->gid);
	if (a->seals && a->seals != F_SEAL_SEAL && fcntl(fd, F_ADD_SEALS, a->seals) < 0)
		return pr_errno(-errno, "memfd %s: adding seals 0x%x", name, a->seals);
	return 0;
}

int memfd_check_writable_map(int fd, const char *what)
{
	int seals = fcntl(fd, F_GET_SEALS);

	if (seals < 0)
		return pr_errno(-errno, "%s: F_GET_SEALS", what);
	/*
	 * Restore seals the memfd before any task maps it, and the kernel
	 * refuses a writable shared mapping of a memfd sealed so.
	 */
	if (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))
		return pr_errno(-ENOTSUP, "%s: mapped shared and writable (or may become so) before the memfd "
				"was sealed against writes (seals 0x%x): not supported yet", what, seals);
	return 0;
}
