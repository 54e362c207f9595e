/*
 * The engine test's target: lends the engine a page of code that nothing
 * runs (the place infect_prepare() needs), says where it is, then echoes
 * every byte of stdin to stdout until stdin closes, and exits 0.
 */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
	void *place = mmap(NULL, getpagesize(), PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char c;

	if (place == MAP_FAILED || dprintf(STDOUT_FILENO, "%p\n", place) < 0)
		return 1;
	while (read(STDIN_FILENO, &c, 1) == 1)
		if (write(STDOUT_FILENO, &c, 1) != 1)
			return 1;
	return 0;
}
