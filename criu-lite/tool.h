#ifndef CR_TOOL_H
#define CR_TOOL_H

/*
 * Running one of the system's tools (nft, iptables-restore): the network
 * lock's rules, a net namespace's ruleset.
 */
#include <stddef.h>

/*
 * Runs @tool (@argv, argv[0] its name; found in PATH, else in the sbin
 * and bin directories) in the net namespace @nsfd (-1: cr's own), with
 * @input on its stdin and nothing of cr's open in it. It dies with cr.
 * With @ret_out its stdout goes to a memfd returned there (at offset 0,
 * also on failure: close it); its stderr, and its stdout without
 * @ret_out, go to @msg (the first line, @size bytes at most).
 * Returns 0, or -ENOENT (not installed), -EIO (it failed: @msg says what
 * it said), -errno. Does not log: the callers know what it was for.
 */
int tool_run(int nsfd, char *const argv[], const char *input, int *ret_out, char *msg, size_t size);

#endif
