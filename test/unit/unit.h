#ifndef CR_UNIT_H
#define CR_UNIT_H

/*
 * Each test/unit/test-<module>.c adds its CUnit suite(s) to the registry
 * through one of these; they return 0 or a CUnit error code.
 */
int unit_register_image(void);
int unit_register_proc_parse(void);
int unit_register_files(void);
int unit_register_arch(void);
int unit_register_vmflags(void);
int unit_register_pstree(void);

#endif
