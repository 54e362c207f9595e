/*
 * An nftables rule that nft(8) cannot load again: made by iptables-nft
 * with the "recent" match, which nft lists only as an xtables compat
 * expression. Not supported: the dump is refused, naming the root's pid
 * and nftables, and the tree runs on with its rule.
 *
 * zdtm: flavors: ns
 * zdtm: refused: nftables
 */
#include <string.h>
#include <unistd.h>
#include "zdtm.h"

static const char rule[] = "iptables -A OUTPUT -m recent --name zdtm --set -j ACCEPT";

int main(int argc, char **argv)
{
	char out[4096];

	test_init(argc, argv);
	if (getpid() != 1)
		fail("not pid 1 of a pid namespace (pid %d): run in the ns flavor", getpid());
	test_sh(rule);

	test_ready();
	test_wait_checkpoint();

	if (test_sh_capture("iptables -S OUTPUT", out, sizeof(out)) || !strstr(out, "-m recent"))
		fail("the rule is gone: iptables -S OUTPUT gives\n%s", out);
	pass();
}
