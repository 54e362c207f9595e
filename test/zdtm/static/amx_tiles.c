/*
 * AMX tile registers survive: the process asks for AMX (ARCH_REQ_XCOMP_PERM),
 * loads the eight tiles and keeps them loaded over the checkpoint, in one
 * asm block that waits on the SIGTERM flag. Its xstate is larger than a
 * process's without AMX; after restore the tiles hold the same bytes and
 * the permission is still there. On a CPU without AMX it passes with a note.
 * amx_released.c builds this with AMX_RELEASED: the tiles are released
 * before the checkpoint (init state, the permission only) and loaded
 * again after it, which raises SIGILL if the permission was lost.
 */
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "zdtm.h"

#define ARCH_REQ_XCOMP_PERM	0x1023
#define ARCH_GET_XCOMP_PERM	0x1022
#define XFEATURE_XTILEDATA	18
#define NR_TILES		8
#define TILE_ROWS		16
#define TILE_BYTES		64	/* per row */

struct tilecfg {
	uint8_t palette;
	uint8_t start_row;
	uint8_t reserved[14];
	uint16_t colsb[16];
	uint8_t rows[16];
} __attribute__((aligned(64)));

static struct tilecfg cfg;
static uint8_t in[NR_TILES][TILE_ROWS][TILE_BYTES] __attribute__((aligned(64)));
static uint8_t out[NR_TILES][TILE_ROWS][TILE_BYTES] __attribute__((aligned(64)));

/* Tile n is in[n]/out[n], TILE_ROWS rows of TILE_BYTES: 1 KiB apart. */
#define TLD(n) "tileloadd " #n "*1024(%[iv],%%rax,1), %%tmm" #n "\n\t"
#define TST(n) "tilestored %%tmm" #n ", " #n "*1024(%[ov],%%rax,1)\n\t"
#define ALL(m) m(0) m(1) m(2) m(3) m(4) m(5) m(6) m(7)

/* Load all eight, wait for SIGTERM if @wait, store them: nothing runs in between. */
static void tiles_roundtrip(int wait)
{
	asm volatile("ldtilecfg %[cfg]\n\t"
		     "movq %[stride], %%rax\n\t"
		     ALL(TLD)
		     "testl %[wait], %[wait]\n\t"
		     "je 2f\n\t"
		     "1: pause\n\t"
		     "cmpl $0, (%[flag])\n\t"
		     "je 1b\n\t"
		     "2:\n\t"
		     ALL(TST)
		     "tilerelease\n\t"
		     : "=m"(out)
		     : [cfg] "m"(cfg), [stride] "i"(TILE_BYTES), [wait] "r"(wait),
		       [flag] "r"(&zdtm_sigterm_seen), "m"(in), [iv] "r"(in), [ov] "r"(out)
		     : "rax", "cc", "memory");
}

static void check_tiles(const char *when)
{
	for (int t = 0; t < NR_TILES; t++)
		for (int r = 0; r < TILE_ROWS; r++)
			for (int b = 0; b < TILE_BYTES; b++)
				if (out[t][r][b] != in[t][r][b])
					fail("%s: tmm%d row %d byte %d: %#x, expected %#x", when, t, r, b,
					     out[t][r][b], in[t][r][b]);
}

int main(int argc, char **argv)
{
#ifdef AMX_RELEASED
	const int released = 1;
#else
	const int released = 0;
#endif
	uint64_t perm = 0;

	test_init(argc, argv);
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("amx-tile") ||
	    syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)) {
		test_msg("no AMX here: nothing to check");
		test_ready();
		test_wait_checkpoint();
		pass();
	}
	cfg.palette = 1;
	for (int t = 0; t < NR_TILES; t++) {
		cfg.colsb[t] = TILE_BYTES;
		cfg.rows[t] = TILE_ROWS;
		for (int r = 0; r < TILE_ROWS; r++)
			for (int b = 0; b < TILE_BYTES; b++)
				in[t][r][b] = (uint8_t)(t * 37 + r * 11 + b * 3 + 1);
	}
	if (released) {
		tiles_roundtrip(0);
		check_tiles("before the checkpoint");
		memset(out, 0, sizeof(out));
		test_ready();
		test_wait_checkpoint();
		tiles_roundtrip(0);	/* without the permission: SIGILL */
	} else {
		test_ready();
		tiles_roundtrip(1);
	}
	check_tiles("after restore");
	if (syscall(SYS_arch_prctl, ARCH_GET_XCOMP_PERM, &perm) || !(perm & (1ULL << XFEATURE_XTILEDATA)))
		fail("AMX permission lost: %#lx", (unsigned long)perm);
	test_msg("8 tiles checked%s", released ? " (released over the checkpoint)" : "");
	pass();
}
