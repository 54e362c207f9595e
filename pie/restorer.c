/* The restorer: filled in below (work in progress in this commit). */
#include "pie-lib.h"

int blob_main(void *args)
{
	return 0;
}
