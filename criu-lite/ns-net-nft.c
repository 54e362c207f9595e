/*
 * A net namespace's nftables ruleset: saved as the text `nft list
 * ruleset` prints, checked at dump by `nft -c -f` (what nft cannot read
 * back, a rule of an iptables-nft extension it only shows as a comment,
 * is refused there rather than at restore), and loaded at restore with
 * `nft -f` once the links exist (rules may name them). The network
 * lock's own tables (netlock.c: "cr-" and 8 hex digits) are left out.
 */
#include <ctype.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "log.h"
#include "ns-net-priv.h"
#include "tool.h"

#define RULESET_MAX	(64u << 20)
#define TOOL_MSG_MAX	512

/* "table FAMILY cr-XXXXXXXX {": a network lock's table. */
static bool is_lock_table(const char *line, size_t len)
{
	char buf[128], family[32], name[64], brace[4];
	int end = 0;

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (sscanf(buf, "table %31s %63s %3s%n", family, name, brace, &end) != 3 || end != (int)len ||
	    strcmp(brace, "{") || strlen(name) != 11 || strncmp(name, "cr-", 3))
		return false;
	for (int i = 3; i < 11; i++)
		if (!isxdigit((unsigned char)name[i]))
			return false;
	return true;
}

size_t net_nft_drop_lock_tables(char *text, size_t len)
{
	size_t in = 0, out = 0;
	bool skipping = false;

	while (in < len) {
		char *nl = memchr(text + in, '\n', len - in);
		size_t l = nl ? (size_t)(nl - text - in) : len - in, next = in + l + (nl ? 1 : 0);

		if (!skipping && is_lock_table(text + in, l))
			skipping = true;
		else if (skipping && l == 1 && text[in] == '}')
			skipping = false;
		else if (!skipping) {
			memmove(text + out, text + in, next - in);
			out += next - in;
		}
		in = next;
	}
	return out;
}

static bool blank(const char *s)
{
	for (; *s; s++)
		if (!isspace((unsigned char)*s))
			return false;
	return true;
}

/* The memfd @fd's bytes, NUL-terminated, in *ret. 0 or -errno (logged). */
static int read_all(int fd, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t off = 0;

	if (fstat(fd, &st) < 0)
		return pr_errno(-errno, "net: the size of nft's ruleset");
	if ((uint64_t)st.st_size > RULESET_MAX)
		return pr_errno(-EFBIG, "net: the namespace's nftables ruleset is %lld bytes, more than cr saves (%u)",
				(long long)st.st_size, RULESET_MAX);
	buf = xmalloc(st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	while (off < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + off, st.st_size - off, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return pr_errno(n < 0 ? -errno : -EIO, "net: reading nft's ruleset");
		off += n;
	}
	buf[off] = '\0';
	*ret_len = off;
	*ret = TAKE_PTR(buf);
	return 0;
}

/* Tables of the legacy iptables (x_tables) in cr's net namespace: warned of. */
static void legacy_tables_warn(pid_t root)
{
	static const char *const files[] = { "/proc/net/ip_tables_names", "/proc/net/ip6_tables_names" };
	char names[256];

	for (unsigned i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_close_ int fd = open(files[i], O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, names, sizeof(names) - 1) : 0;

		if (n <= 0)
			continue;
		names[n] = '\0';
		for (char *c = names; *c; c++)
			if (*c == '\n')
				*c = c[1] ? ' ' : '\0';
		pr_warn("pid %d: its net namespace has legacy iptables tables (%s, %s): their rules are not saved",
			root, i ? "IPv6" : "IPv4", names);
	}
}

int net_nft_dump(struct img *img, pid_t root)
{
	char *const list[] = { (char *)"nft", (char *)"list", (char *)"ruleset", NULL };
	char *const check[] = { (char *)"nft", (char *)"-c", (char *)"-f", (char *)"-", NULL };
	_cleanup_close_ int out = -1;
	_cleanup_free_ char *text = NULL;
	char msg[TOOL_MSG_MAX];
	NetNft nft = NET_NFT__INIT;
	size_t len = 0;
	int err;

	legacy_tables_warn(root);
	err = tool_run(-1, list, "", &out, msg, sizeof(msg));
	if (err == -ENOENT) {
		pr_warn("pid %d: nft is not installed: the nftables rules of its net namespace, if it has any, "
			"are not saved", root);
		return 0;
	}
	if (err)
		return pr_errno(err, "pid %d: nft list ruleset in its net namespace failed: %s", root,
				msg[0] ? msg : "no message");
	err = read_all(out, &text, &len);
	if (err)
		return err;
	text[net_nft_drop_lock_tables(text, len)] = '\0';
	if (blank(text))
		return 0;
	err = tool_run(-1, check, text, NULL, msg, sizeof(msg));
	if (err) {
		pr_err("pid %d: the nftables ruleset of its net namespace is refused: nft could not load it "
		       "again (%s)", root, msg[0] ? msg : strerror(-err));
		return -EOPNOTSUPP;
	}
	nft.ruleset = text;
	pr_info("net: nftables ruleset of %zu bytes", strlen(text));
	return net_obj_write(img, NET_OBJ_NFT, &nft);
}

int net_nft_restore(const struct netns_img *n)
{
	char *const load[] = { (char *)"nft", (char *)"-f", (char *)"-", NULL };
	char msg[TOOL_MSG_MAX];
	int err;

	if (!n->nft)
		return 0;
	err = tool_run(-1, load, n->nft->ruleset, NULL, msg, sizeof(msg));
	if (err == -ENOENT)
		return pr_errno(err, "net: the image has an nftables ruleset and nft is not installed");
	if (err)
		return pr_errno(err, "net: loading the namespace's nftables ruleset: %s", msg[0] ? msg : "no message");
	return 0;
}
