/* The personality (ADDR_NO_RANDOMIZE set at run time) survives. */
#include <sys/personality.h>
#include "zdtm.h"

/* personality(0xffffffff) queries without changing anything. */
#define PER_QUERY	0xffffffff

int main(int argc, char **argv)
{
	int before, after;

	test_init(argc, argv);
	before = personality(PER_QUERY);
	if (before < 0)
		fail_errno("personality query");
	if (personality(before | ADDR_NO_RANDOMIZE) < 0)
		fail_errno("personality set");
	before = personality(PER_QUERY);
	if (!(before & ADDR_NO_RANDOMIZE))
		fail("ADDR_NO_RANDOMIZE did not stick");

	test_ready();
	test_wait_checkpoint();

	after = personality(PER_QUERY);
	if (after != before)
		fail("personality is %#x, expected %#x", after, before);
	pass();
}
