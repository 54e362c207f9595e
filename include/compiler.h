#ifndef CR_COMPILER_H
#define CR_COMPILER_H

/* Compiler helpers shared by host and PIE code: no libc here. */

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define __must_check		__attribute__((warn_unused_result))
#define __packed		__attribute__((packed))
#define __aligned(x)		__attribute__((aligned(x)))
#define __used			__attribute__((used))
#define __unused		__attribute__((unused))
#define __noreturn		__attribute__((noreturn))
#define __export_		__attribute__((visibility("default"), used))
#define likely(x)		__builtin_expect(!!(x), 1)
#define unlikely(x)		__builtin_expect(!!(x), 0)
#define BUILD_BUG_ON(c)		_Static_assert(!(c), #c)

#define min(a, b)		((a) < (b) ? (a) : (b))
#define max(a, b)		((a) > (b) ? (a) : (b))
#define ALIGN_UP(x, a)		(((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a)	((x) & ~((__typeof__(x))(a) - 1))

#define PAGE_SIZE		4096UL
#define PAGE_SHIFT		12

#define READ_ONCE(x)		(*(volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v)	(*(volatile __typeof__(x) *)&(x) = (v))

#endif
