/* pidfd.c with a pidfd of a zombie child too. */
#define WITH_ZOMBIE	1
#include "pidfd.c"
