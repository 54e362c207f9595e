#ifndef CR_ENGINE_TEST_H
#define CR_ENGINE_TEST_H

/* The engine test's commands, shared by engine-test.c and its blob. */

#include "infect-abi.h"

enum engine_test_cmd {
	ENGINE_CMD_GETPID = PARASITE_USER_CMDS,	/* the blob's getpid() as a u64 in the data */
	ENGINE_CMD_UNKNOWN,			/* the blob has none: it answers -EINVAL */
};

#endif
