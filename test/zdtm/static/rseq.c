/*
 * glibc's rseq registration survives restore: the kernel keeps writing the
 * current CPU into the thread's rseq area. The area's cpu_id is poisoned,
 * then a signal is delivered (the kernel refreshes rseq fields on signal
 * delivery to a registered thread); an unregistered thread keeps the
 * poison.
 * zdtm: lazy
 */
#include <signal.h>
#include <sys/rseq.h>
#include "zdtm.h"

#define POISON	0xfffff00u

static void on_usr1(int sig)
{
	(void)sig;
}

static struct rseq *rseq_area(void)
{
	return (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
}

static void check_registered(const char *when)
{
	volatile struct rseq *r = rseq_area();

	r->cpu_id = POISON;
	raise(SIGUSR1);
	if (r->cpu_id == POISON)
		fail("%s: rseq area not updated by the kernel: not registered", when);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (__rseq_size == 0)
		pass();		/* glibc without rseq: nothing to check */
	signal(SIGUSR1, on_usr1);
	check_registered("before checkpoint");
	test_ready();
	test_wait_checkpoint();
	check_registered("after restore");
	pass();
}
