/*
 * Memory, dump side: the VMA layout. Each mapping of /proc/PID/maps is
 * given its kind (anonymous, a file, a shared memory object, a special
 * mapping), what restore needs to map it again, and its madvise() state
 * from smaps; what cr cannot keep is refused, naming the mapping.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "cr.h"
#include "files.h"
#include "log.h"
#include "mem.h"
#include "memfd.h"
#include "namespaces.h"
#include "proc-parse.h"

static const struct {
	const char *name;
	VmaKind kind;
} special_vmas[] = {
	{ "[vdso]", VMA_KIND__VMA_VDSO },
	{ "[vvar]", VMA_KIND__VMA_VVAR },
	{ "[vvar_vclock]", VMA_KIND__VMA_VVAR_VCLOCK },
	{ "[vsyscall]", VMA_KIND__VMA_VSYSCALL },
};

void mem_map_files_path(pid_t pid, uint64_t start, uint64_t end, char *buf)
{
	snprintf(buf, MAP_FILES_PATH_MAX, "/proc/%d/map_files/%lx-%lx", (int)pid, (unsigned long)start,
		 (unsigned long)end);
}

/*
 * A file mapped under a name that no longer leads to it: deleted, or its
 * name now another file's. Its content is saved as for a deleted open
 * file (mem_dump_mapped_files()). One that still has another name is
 * restored as a copy, which a shared writable mapping cannot do with.
 */
static int check_unnamed_file(pid_t pid, const struct proc_vma *v, const struct stat *st, VmaEntry *e)
{
	unsigned long s = v->start, end = v->end;

	if (v->path[0] != '/')
		return pr_errno(-ENOTSUP, "pid %d: mapping %lx-%lx of %s: a file without a path", pid, s, end,
				v->path);
	if (st->st_nlink && v->shared && e->file_writable)
		return pr_errno(-ENOTSUP, "pid %d: mapping %lx-%lx: file %s no longer has that name but still "
				"has another; a shared writable mapping of it is not supported yet", pid, s, end,
				v->path);
	if (st->st_nlink)
		pr_warn("pid %d: mapping %lx-%lx: file %s no longer has that name; restored as a copy of its "
			"content (deleted), its other names are not followed", pid, s, end, v->path);
	e->has_file_id = true;	/* the entry's id comes with mem_dump_mapped_files() */
	return 0;
}

/* Opens the file behind a mapping and checks it is the one maps names. */
static int check_mapped_file(pid_t pid, const struct proc_vma *v, VmaEntry *e)
{
	char mf[MAP_FILES_PATH_MAX], seen[PATH_MAX + 32];
	struct stat st, pst, lst;
	bool named;

	mem_map_files_path(pid, v->start, v->end, mf);
	if (stat(mf, &st))
		return pr_errno(-errno, "pid %d: %s", pid, mf);
	if (lstat(mf, &lst))
		return pr_errno(-errno, "pid %d: %s", pid, mf);
	if (!S_ISREG(st.st_mode))
		return pr_errno(-ENOTSUP, "pid %d: mapping %lx-%lx of %s: not a regular file%s",
				pid, (unsigned long)v->start, (unsigned long)v->end, v->path,
				S_ISSOCK(st.st_mode) ? " (a packet socket's ring, PACKET_RX_RING or PACKET_TX_RING: "
				"cr keeps no rings)" : "");
	/* The name from the top of the task's mount namespace (maps shows a chrooted task's so). */
	named = st.st_nlink && !v->deleted && v->path[0] == '/' &&
		!proc_mnt_path(pid, v->path, seen, sizeof(seen)) && !stat(seen, &pst) &&
		pst.st_dev == st.st_dev && pst.st_ino == st.st_ino;

	e->path = xstrdup(v->path);
	if (!e->path)
		return -ENOMEM;
	e->has_dev = e->has_ino = e->has_file_size = e->has_file_writable = true;
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	e->file_size = st.st_size;
	/* The map_files link's mode shows how the file was opened. */
	e->file_writable = !!(lst.st_mode & S_IWUSR);
	return named ? 0 : check_unnamed_file(pid, v, &st, e);
}

int mem_dump_mapped_files(struct files_dump *df, pid_t pid, MmEntry *mm)
{
	for (size_t i = 0; i < mm->n_vmas; i++) {
		VmaEntry *v = mm->vmas[i];
		char mf[MAP_FILES_PATH_MAX];
		int err;

		if (!v->has_file_id)
			continue;
		mem_map_files_path(pid, v->start, v->end, mf);
		err = files_dump_mapping(df, pid, mf, v->path, v->file_writable, &v->file_id);
		if (err)
			return err;
		pr_debug("pid %d: mapping %lx-%lx of deleted %s: its content is file id %u", pid,
			 (unsigned long)v->start, (unsigned long)v->end, v->path, v->file_id);
	}
	return 0;
}

static int check_memfd_writable_map(pid_t pid, const struct proc_vma *v)
{
	_cleanup_close_ int fd = -EBADF;
	char mf[MAP_FILES_PATH_MAX], what[PATH_MAX + 96];

	mem_map_files_path(pid, v->start, v->end, mf);
	fd = open(mf, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno(-errno, "pid %d: %s", pid, mf);
	snprintf(what, sizeof(what), "pid %d: mapping %lx-%lx of memfd %s", pid, (unsigned long)v->start,
		 (unsigned long)v->end, v->path);
	return memfd_check_writable_map(fd, what);
}

/* A private mapping of /dev/zero is anonymous memory; the VMA still names the device. */
static int check_zero_mapping(pid_t pid, const struct proc_vma *v, VmaEntry *e)
{
	char mf[MAP_FILES_PATH_MAX];
	struct stat st;

	mem_map_files_path(pid, v->start, v->end, mf);
	if (stat(mf, &st))
		return pr_errno(-errno, "pid %d: %s", pid, mf);
	if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(DEV_ZERO_MAJOR, DEV_ZERO_MINOR))
		return pr_errno(-ENOTSUP, "pid %d: mapping %lx-%lx of %s: not a regular file", pid,
				(unsigned long)v->start, (unsigned long)v->end, v->path);
	e->kind = VMA_KIND__VMA_ZERO_PRIVATE;
	e->path = xstrdup(v->path);
	return e->path ? 0 : -ENOMEM;
}

static int classify_vma(pid_t pid, const struct proc_vma *v, VmaEntry *e)
{
	unsigned i;
	int ret;

	e->start = v->start;
	e->end = v->end;
	e->pgoff = v->pgoff;
	e->prot = v->prot;
	e->flags = v->shared ? MAP_SHARED : MAP_PRIVATE;
	if (v->vmflags & VMF_NORESERVE)
		e->flags |= MAP_NORESERVE;
	if (v->vmflags & VMF_GROWSDOWN)
		e->flags |= MAP_GROWSDOWN;
	e->has_madv = true;
	e->madv = v->vmflags & VMF_MADVISE_MASK;
	if (v->vmflags & VMF_LOCKED) {
		e->has_mlock = true;
		e->mlock = v->vmflags & (VMF_LOCKED | VMF_LOCKONFAULT);
	}

	if (v->vmflags & VMF_HUGETLB) {
		ret = mem_huge_classify(pid, v, e);
		if (ret <= 0)
			return ret;
	}
	if (mem_aio_is_ring(v))
		return mem_aio_classify(pid, v, e);
	if (v->path) {
		for (i = 0; i < ARRAY_SIZE(special_vmas); i++) {
			if (!strcmp(v->path, special_vmas[i].name)) {
				e->kind = special_vmas[i].kind;
				e->name = xstrdup(v->path);
				return e->name ? 0 : -ENOMEM;
			}
		}
	}

	if (!v->path || v->path[0] == '[') {
		if (v->path && strncmp(v->path, "[anon:", 6) && strcmp(v->path, "[heap]") &&
		    strcmp(v->path, "[stack]") && strncmp(v->path, "[anon_shmem:", 12))
			return pr_errno(-ENOTSUP, "pid %d: mapping %lx-%lx %s is of a kind cr cannot dump",
					pid, (unsigned long)v->start, (unsigned long)v->end, v->path);
		e->kind = v->shared ? VMA_KIND__VMA_ANON_SHARED : VMA_KIND__VMA_ANON_PRIVATE;
		e->flags |= MAP_ANONYMOUS;
		if (v->path) {
			e->name = xstrdup(v->path);
			if (!e->name)
				return -ENOMEM;
		}
		return 0;
	}

	/*
	 * MAP_SHARED|MAP_ANONYMOUS memory shows as a deleted /dev/zero (also
	 * where a task mapped that object privately, through map_files).
	 */
	if (v->deleted && !strcmp(v->path, "/dev/zero")) {
		e->kind = v->shared ? VMA_KIND__VMA_ANON_SHARED : VMA_KIND__VMA_SHMEM_PRIVATE;
		if (v->shared)
			e->flags |= MAP_ANONYMOUS;
		return 0;
	}
	if (!v->shared && !v->deleted && !strcmp(v->path, "/dev/zero"))
		return check_zero_mapping(pid, v, e);
	if (v->deleted && !strncmp(v->path, "/SYSV", 5)) {
		if (!v->shared || v->pgoff)
			return pr_errno(-ENOTSUP, "pid %d: mapping %lx-%lx: only whole SysV segments can be dumped",
					pid, (unsigned long)v->start, (unsigned long)v->end);
		e->kind = VMA_KIND__VMA_SYSV_SHM;
		e->path = xstrdup(v->path);
		return e->path ? 0 : -ENOMEM;
	}
	if (v->deleted && !strncmp(v->path, "/memfd:", 7)) {
		e->kind = v->shared ? VMA_KIND__VMA_MEMFD_SHARED : VMA_KIND__VMA_SHMEM_PRIVATE;
		e->path = xstrdup(v->path);
		if (!e->path)
			return -ENOMEM;
		return (v->shared && (v->vmflags & VMF_MAYWRITE)) ? check_memfd_writable_map(pid, v) : 0;
	}

	e->kind = v->shared ? VMA_KIND__VMA_FILE_SHARED : VMA_KIND__VMA_FILE_PRIVATE;
	ret = check_mapped_file(pid, v, e);
	return ret ? ret : mem_huge_check_file(pid, e);
}

int mem_collect_vmas(pid_t pid, struct proc_maps *maps, MmEntry *mm)
{
	VmaEntry *entries;
	unsigned i;
	int ret;

	/* MAP_NORESERVE, MAP_GROWSDOWN and madvise() state show only in smaps. */
	ret = proc_parse_vmflags(pid, maps);
	if (ret)
		return ret;
	entries = xzalloc(sizeof(*entries) * (maps->nr ? maps->nr : 1));
	mm->vmas = xzalloc(sizeof(*mm->vmas) * (maps->nr ? maps->nr : 1));
	if (!entries || !mm->vmas) {
		free(entries);
		return -ENOMEM;
	}
	for (i = 0; i < maps->nr; i++) {
		vma_entry__init(&entries[i]);
		mm->vmas[i] = &entries[i];
		mm->n_vmas = i + 1;
		ret = classify_vma(pid, &maps->vmas[i], &entries[i]);
		if (ret)
			return ret;
	}
	ret = mem_aio_collect(pid, mm);
	if (!ret)
		ret = mem_thp_collect(pid, maps, mm);
	return ret ? ret : mem_guard_collect(pid, mm);
}

void mem_free_vmas(MmEntry *mm)
{
	size_t i;

	mem_guard_free(mm);
	mem_aio_free(mm);
	mem_thp_free(mm);
	if (!mm->vmas)
		return;
	for (i = 0; i < mm->n_vmas; i++) {
		free(mm->vmas[i]->path);
		free(mm->vmas[i]->name);
	}
	free(mm->vmas[0]);
	free(mm->vmas);
	mm->vmas = NULL;
	mm->n_vmas = 0;
}
