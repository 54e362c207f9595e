/*
 * The engine test's blob: what infect-abi.h asks of any blob, and no
 * more. It connects to the engine's socket, answers commands until the
 * channel closes, then leaves through the trampoline with a munmap of its
 * area. Built like pie/'s blobs (pie/pie.lds, arch/x86/pie/head.S,
 * scripts/blob2h), from the engine's headers alone.
 */
#include "infect-abi.h"
#include "asm/pie-arch.h"
#include "asm/syscall.h"
#include "engine-test.h"

#define AF_UNIX_	1
#define SOCK_SEQPACKET_	5
#define MSG_NOSIGNAL_	0x4000
#define EINVAL_		22

struct sockaddr_un_ {
	u16 family;
	char path[PARASITE_SUN_PATH_MAX];
};

static int run_cmd(const struct parasite_args *args, u32 cmd)
{
	switch (cmd) {
	case ENGINE_CMD_GETPID:
		*(u64 *)args->data = __sc(__NR_getpid, 0, 0, 0, 0, 0, 0);
		return 0;
	default:
		return -EINVAL_;
	}
}

/* No channel: tell the engine, then leave. */
static void give_up(struct parasite_args *args, long err)
{
	__atomic_store_n(&args->conn_err, (int)err, __ATOMIC_RELEASE);
}

static void serve(struct parasite_args *args, long sock)
{
	struct sockaddr_un_ addr;
	struct parasite_msg m;
	long err;

	addr.family = AF_UNIX_;
	for (u16 i = 0; i < args->sun_len; i++)
		addr.path[i] = args->sun_path[i];
	err = __sc(__NR_connect, sock, &addr, sizeof(addr.family) + args->sun_len, 0, 0, 0);
	if (err) {
		give_up(args, err);
		return;
	}
	/* A short read is the channel closing: the engine is curing us. */
	while (__sc(__NR_recvfrom, sock, &m, sizeof(m), 0, 0, 0) == sizeof(m)) {
		m.ret = run_cmd(args, m.cmd);
		m.cmd = PARASITE_CMD_ACK;
		if (__sc(__NR_sendto, sock, &m, sizeof(m), MSG_NOSIGNAL_, 0, 0) != sizeof(m))
			return;
	}
}

int blob_main(struct parasite_args *args)
{
	long sock = __sc(__NR_socket, AF_UNIX_, SOCK_SEQPACKET_, 0, 0, 0, 0);

	if (sock >= 0) {
		serve(args, sock);
		__sc(__NR_close, sock, 0, 0, 0, 0, 0);
	} else {
		give_up(args, sock);
	}
	arch_tramp_leave(args->tramp_sys, __NR_munmap, args->area_start, args->area_size);
}
