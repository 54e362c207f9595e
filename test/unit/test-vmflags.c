/* smaps VmFlags and KernelPageSize parsing: flags land on the right VMA, a changed layout is refused. */
#include <errno.h>
#include <string.h>
#include <CUnit/CUnit.h>

#include "proc-parse.h"
#include "unit.h"

static const char maps_txt[] =
	"7f0000000000-7f0000100000 rw-p 00000000 00:00 0 \n"
	"7f0000200000-7f0000300000 rw-p 00000000 00:00 0 \n"
	"7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]\n";

static const char smaps_txt[] =
	"7f0000000000-7f0000100000 rw-p 00000000 00:00 0 \n"
	"Size:               1024 kB\n"
	"KernelPageSize:        4 kB\n"
	"AnonHugePages:         0 kB\n"
	"FilePmdMapped:         0 kB\n"
	"VmFlags: rd wr mr mw me nr dd \n"
	"7f0000200000-7f0000300000 rw-p 00000000 00:00 0 \n"
	"Size:               1024 kB\n"
	"KernelPageSize:     2048 kB\n"
	"VmFlags: rd wr mr mw me ac hg dc wf gu ht\n"
	"7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]\n"
	"VmFlags: rd wr mr mw me gd ac lo lf\n";

static void test_vmflags(void)
{
	struct proc_maps m = { 0 };

	CU_ASSERT_EQUAL_FATAL(parse_maps_buf(maps_txt, &m), 0);
	CU_ASSERT_EQUAL(parse_vmflags_buf(smaps_txt, &m), 0);
	CU_ASSERT_EQUAL(m.vmas[0].vmflags, VMF_NORESERVE | VMF_DONTDUMP | VMF_MAYWRITE);
	CU_ASSERT_EQUAL(m.vmas[1].vmflags,
			VMF_HUGEPAGE | VMF_DONTCOPY | VMF_WIPEONFORK | VMF_GUARD | VMF_MAYWRITE | VMF_HUGETLB);
	CU_ASSERT_EQUAL(m.vmas[0].page_kb, 4);
	CU_ASSERT_EQUAL(m.vmas[1].page_kb, 2048);
	CU_ASSERT_EQUAL(m.vmas[2].page_kb, 0);	/* no such line */
	CU_ASSERT_EQUAL(m.vmas[2].vmflags, VMF_GROWSDOWN | VMF_LOCKED | VMF_LOCKONFAULT | VMF_MAYWRITE);
	proc_maps_free(&m);
}

static void test_vmflags_layout_changed(void)
{
	static const char other[] =
		"7f0000000000-7f0000100000 rw-p 00000000 00:00 0 \n"
		"VmFlags: rd wr\n"
		"7f0000150000-7f0000160000 rw-p 00000000 00:00 0 \n"
		"VmFlags: rd wr\n";
	struct proc_maps m = { 0 };

	CU_ASSERT_EQUAL_FATAL(parse_maps_buf(maps_txt, &m), 0);
	CU_ASSERT_EQUAL(parse_vmflags_buf(other, &m), -ESTALE);
	proc_maps_free(&m);
}

int unit_register_vmflags(void)
{
	CU_pSuite s = CU_add_suite("vmflags", NULL, NULL);

	if (!s || !CU_add_test(s, "VmFlags mnemonics per VMA", test_vmflags) ||
	    !CU_add_test(s, "a mapping missing from maps is refused", test_vmflags_layout_changed))
		return CU_get_error();
	return 0;
}
