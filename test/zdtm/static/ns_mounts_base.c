/*
 * ns_mounts without what cr does not restore yet: no fd open on the file
 * hidden by a mount, the mounts' sources not compared (see ns_mounts.c).
 *
 * zdtm: flavors: ns
 */
#define NS_MOUNTS_BASE
#include "ns_mounts.c"
