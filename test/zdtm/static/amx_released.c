/* amx_tiles with the tiles released over the checkpoint: the permission alone must survive. */
#define AMX_RELEASED
#include "amx_tiles.c"
