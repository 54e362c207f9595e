#include <stdarg.h>

#include "pie-lib.h"

static int log_fd = -1;
static int log_level;
static const char *log_prefix = "";

void pie_log_init(int fd, int level, const char *prefix)
{
	log_fd = fd;
	log_level = level;
	log_prefix = prefix;
}

static char *put_num(char *p, char *end, unsigned long long v, int base, int neg)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg && p < end)
		*p++ = '-';
	while (n && p < end)
		*p++ = tmp[--n];
	return p;
}

void pie_printf(int level, const char *fmt, ...)
{
	char buf[512], *p = buf, *end = buf + sizeof(buf) - 1;
	const char *s;
	va_list ap;

	if (log_fd < 0 || level > log_level)
		return;
	for (s = log_prefix; *s && p < end; s++)
		*p++ = *s;
	va_start(ap, fmt);
	for (; *fmt && p < end; fmt++) {
		int lng = 0;

		if (*fmt != '%') {
			*p++ = *fmt;
			continue;
		}
		fmt++;
		while (*fmt == 'l') {
			lng = 1;
			fmt++;
		}
		switch (*fmt) {
		case 's':
			for (s = va_arg(ap, const char *); *s && p < end; s++)
				*p++ = *s;
			break;
		case 'd': {
			long long v = lng ? va_arg(ap, long) : va_arg(ap, int);
			p = put_num(p, end, v < 0 ? -v : v, 10, v < 0);
			break;
		}
		case 'u':
			p = put_num(p, end, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 10, 0);
			break;
		case 'x':
			p = put_num(p, end, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16, 0);
			break;
		case 'p':
			if (p + 2 < end) {
				*p++ = '0';
				*p++ = 'x';
			}
			p = put_num(p, end, (unsigned long)va_arg(ap, void *), 16, 0);
			break;
		default:
			*p++ = *fmt;
		}
	}
	va_end(ap);
	*p++ = '\n';
	(void)sys_write(log_fd, buf, p - buf);
}
