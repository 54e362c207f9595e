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
int unit_register_image_safety(void);

/* ---- helpers (unit-util.c) ---------------------------------------------- */
#include <stdbool.h>
#include <stddef.h>

/* A fresh directory per test: tmp_setup() makes it, tmp_teardown() removes it. */
extern char tmp_dir[64];
extern int tmp_dfd;
void tmp_setup(void);
void tmp_teardown(void);
/* Whether the last logged error contains @s. */
bool last_error_has(const char *s);
/* Reads a whole file of the temp dir (malloc'ed); *len gets its size. */
unsigned char *slurp(const char *name, size_t *len);
/* Writes a whole file of the temp dir; 0 or -errno. */
int spit(const char *name, const void *buf, size_t len);

#endif
