#ifndef CR_PIE_LIB_H
#define CR_PIE_LIB_H

#ifndef PIE_NOLIBC
#error "pie-lib.h is for the blobs only"
#endif

#include "compiler.h"
#include "syscalls.h"

void *memcpy(void *dst, const void *src, unsigned long n);
void *memset(void *dst, int c, unsigned long n);
int memcmp(const void *a, const void *b, unsigned long n);
unsigned long strlen(const char *s);

/* CRC32C with the SSE4.2 instruction (the dump runs where cr runs). */
unsigned int pie_crc32c(unsigned int crc, const void *buf, unsigned long len);

/*
 * Minimal logging to a file descriptor: %s %d %u %x %lx %lu %ld %p.
 * Messages go to the fd set with pie_log_init (the cr log file), with a
 * prefix naming the blob. Errors are numeric -errno (no strerror here).
 */
void pie_log_init(int fd, int level, const char *prefix);
void pie_printf(int level, const char *fmt, ...);
#define pie_err(fmt, ...)	pie_printf(1, "Error (%s:%d): " fmt, __FILE__, __LINE__, ##__VA_ARGS__)
#define pie_info(fmt, ...)	pie_printf(3, fmt, ##__VA_ARGS__)
#define pie_debug(fmt, ...)	pie_printf(4, fmt, ##__VA_ARGS__)

#endif
