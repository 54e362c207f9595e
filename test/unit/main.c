/*
 * Unit test runner: registers every suite, runs them verbosely and turns
 * CUnit's result into an exit status (CU_basic_run_tests() itself
 * returns success even when assertions failed).
 */
#include <stdio.h>
#include <stdlib.h>

#include <CUnit/Basic.h>

#include "log.h"
#include "unit.h"

/*
 * Test files written by others may not exist yet; a weak reference lets
 * the runner link without them and skip their suites.
 */
extern int unit_register_proc_parse(void) __attribute__((weak));
extern int unit_register_files(void) __attribute__((weak));
extern int unit_register_netns(void) __attribute__((weak));
extern int unit_register_cgroup(void) __attribute__((weak));
extern int unit_register_ipcns(void) __attribute__((weak));
extern int unit_register_mntns(void) __attribute__((weak));
extern int unit_register_userns(void) __attribute__((weak));
extern int unit_register_rpc(void) __attribute__((weak));
extern int unit_register_stats(void) __attribute__((weak));
extern int unit_register_page_wire(void) __attribute__((weak));
extern int unit_register_pagez(void) __attribute__((weak));
extern int unit_register_image_mac(void) __attribute__((weak));

/* Every suite registration; NULL entries are test files not linked in. */
static int (*const registrations[])(void) = {
	unit_register_image,
	unit_register_proc_parse,
	unit_register_files,
	unit_register_arch,
	unit_register_vmflags,
	unit_register_pstree,
	unit_register_image_safety,
	unit_register_netns,
	unit_register_cgroup,
	unit_register_ipcns,
	unit_register_mntns,
	unit_register_userns,
	unit_register_rpc,
	unit_register_stats,
	unit_register_page_wire,
	unit_register_pagez,
	unit_register_image_mac,
};

int main(void)
{
	unsigned run, failed, asserts_failed, suites_failed;
	int ret = 0;

	/*
	 * Error paths are tested on purpose; keep their messages off the
	 * terminal (tests read them back via log_last_error()).
	 * UNIT_VERBOSE=1 shows them.
	 */
	log_set_level(getenv("UNIT_VERBOSE") ? LOG_DEBUG : LOG_MSG);

	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "unit: cannot initialise CUnit: %s\n", CU_get_error_msg());
		return 2;
	}
	for (size_t i = 0; i < sizeof(registrations) / sizeof(registrations[0]); i++)
		if (registrations[i] && registrations[i]())
			ret = 1;
	if (ret) {
		fprintf(stderr, "unit: registering suites failed: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
		return 2;
	}

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();

	run = CU_get_number_of_tests_run();
	failed = CU_get_number_of_tests_failed();
	asserts_failed = CU_get_number_of_failures();
	suites_failed = CU_get_number_of_suites_failed();
	CU_cleanup_registry();

	/* Counts are tests (not asserts). */
	printf("unit: %u passed, %u failed\n", run - failed, failed);
	if (failed || asserts_failed || suites_failed)
		return 1;
	return 0;
}
