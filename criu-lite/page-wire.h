#ifndef CR_PAGE_WIRE_H
#define CR_PAGE_WIRE_H

/*
 * The page server protocol: `cr dump --page-server` (page-xfer.c) sends
 * the page images of a dump over one TCP connection to `cr page-server`
 * (page-server.c), which writes them into its -D. Only pages-N.img
 * travels: the other images stay in the dump's -D, for the user to copy
 * next to them (README, "Migration").
 *
 * Every message is a header of PS_HDR_SIZE bytes, all words
 * little-endian, then @len bytes of payload:
 *	u32 PS_MAGIC ("CRPS"),
 *	u16 command (enum ps_cmd), u16 PS_VERSION,
 *	u32 id: the N of the pages-N.img the message is about,
 *	u32 pid: the task whose bytes these are (0: shared memory; for messages),
 *	u64 off: DATA: the image offset of its first byte, which must be the
 *	    end of what came so far (IMG_PAGES_DATA_OFF first); SUMS: that
 *	    of the first byte its runs cover,
 *	u64 len: bytes of payload,
 *	u32 count: SUMS: runs listed; ACK: 0, or the positive errno of the
 *	    server's failure,
 *	u32 CRC32C of the previous 36 bytes.
 * Commands, in the order a dump sends them (the server answers SYNC
 * and COMMIT):
 *	OPEN	payload: the dump id (IMG_DUMP_ID_SIZE bytes), which the
 *		image's header carries; the server starts an unnamed file.
 *	OPENZ	as OPEN, for a compressed pages-N.img (dump --compress):
 *		DATA and SUMS then carry its blocks as they are stored
 *		(pagez.h), each checked and stored as plain page bytes are.
 *		A server that does not know it refuses it as an unknown
 *		command.
 *	DATA	payload: raw page bytes, appended to the image (splice()d
 *		from the parasite's pipe to the socket, from the socket to a
 *		pipe to the file: no copy through cr on either side).
 *	SUMS	payload: @count runs of {u64 len, u32 CRC32C, u32 0} that
 *		cover the bytes after the last SUMS, in order (the CRC the
 *		parasite computed while it vmspliced them): the server reads
 *		them back and checks each before it accepts more.
 *	SYNC	the server answers ACK once every byte before it came and
 *		was checked: a dump sends it before it cures a task, whose
 *		pages the socket refers to (not copies) until then.
 *	COMMIT	every byte came and was checked: the server adds the end
 *		marker, links the file in as pages-N.img (an image cut short
 *		never has the name) and answers ACK.
 *	ACK	server -> dump: @count 0 (done) or an errno.
 *	CLOSE	the dump is over: the server exits 0 when every image
 *		opened was committed.
 * A connection that ends any other way (cr killed, network down) makes
 * the server exit 1 with a message; the unnamed file of an image not
 * committed goes with it.
 *
 * A lazy restore's page source (lazy-serve.c, lazy-remote.c) speaks the
 * same messages the other way round: `cr lazy-pages --page-server`
 * connects to the source (`cr dump --lazy-pages`, or `cr page-server
 * --lazy-pages` over a dump's images) and asks; the source answers.
 *	LZ_OPEN	pages-@id.img, please: answered by ACK with @len the
 *		image's size in bytes, or @count an errno.
 *	LZ_GET	@len bytes (at most PS_DATA_MAX) at image offset @off:
 *		answered by DATA with those bytes (@off, @len as asked),
 *		or ACK with @count an errno.
 *	LZ_START a restore may run from these bytes from now on (the
 *		source kills its tree: it must not run twice): answered
 *		by ACK once done. Until then, a failure on either side
 *		leaves the source's tree running.
 *	LZ_DONE	every page is in place: answered by ACK; then both close.
 * The bytes are checked on the destination against the pagemaps' CRC32C
 * (lazy-check.c), which it has from the images copied over.
 */

#include <stdbool.h>
#include <stdint.h>

#define PS_MAGIC		0x53505243u	/* "CRPS" little-endian */
#define PS_VERSION		1u
#define PS_HDR_SIZE		40u
#define PS_SUM_SIZE		16u
#define PS_MAX_SUMS		65536u		/* runs in one SUMS */
#define PS_MAX_IMAGES		64u		/* pages-N.img on one connection */
#define PS_DATA_MAX		(4u << 20)	/* bytes a dump puts in one DATA */

enum ps_cmd {
	PS_OPEN = 1,
	PS_DATA,
	PS_SUMS,
	PS_COMMIT,
	PS_ACK,
	PS_CLOSE,
	PS_SYNC,
	PS_LZ_OPEN,
	PS_LZ_GET,
	PS_LZ_DONE,
	PS_LZ_START,
	PS_OPENZ,
	PS_CMD_MAX,
};

struct ps_hdr {
	uint16_t cmd;
	uint32_t id;
	uint32_t pid;
	uint64_t off;
	uint64_t len;
	uint32_t count;
};

const char *ps_cmd_name(unsigned cmd);
/* @h into @buf, its checksum included. */
void ps_hdr_pack(const struct ps_hdr *h, unsigned char buf[PS_HDR_SIZE]);
/* @buf checked (magic, version, command, checksum) into *@ret. 0 or -EBADMSG (logged, naming @peer). */
int ps_hdr_unpack(const unsigned char buf[PS_HDR_SIZE], const char *peer, struct ps_hdr *ret);
void ps_sum_pack(uint64_t len, uint32_t crc, unsigned char buf[PS_SUM_SIZE]);
void ps_sum_unpack(const unsigned char buf[PS_SUM_SIZE], uint64_t *ret_len, uint32_t *ret_crc);

/*
 * Sends the header @h and @len bytes of @payload (@more: data follows,
 * MSG_MORE). Never raises SIGPIPE. 0 or -errno (not logged).
 */
int ps_send(int sk, const struct ps_hdr *h, const void *payload, uint64_t len, int more);
/* Reads exactly @len bytes; -EPIPE when the peer closed first. 0 or -errno (not logged). */
int ps_recv_all(int sk, void *buf, uint64_t len);

/*
 * Moves exactly @len bytes from @in to @out (one of them a pipe) with
 * splice(); -EPIPE when @in ends first. 0 or -errno (not logged).
 */
int ps_splice_all(int in, int out, uint64_t len);

/*
 * A TCP socket of @address:@port: connected, or with @passive bound and
 * listening (@address NULL: every address). The first address
 * getaddrinfo() gives that works. Returns it, or -errno (not logged; a
 * name that does not resolve: -EADDRNOTAVAIL, and *@ret_gai says why).
 */
int ps_socket(const char *address, int port, bool passive, const char **ret_gai);
/*
 * "@who ADDR:PORT" of the peer @ss (@len bytes) into @buf, for messages;
 * @unnamed if it has no numeric name.
 */
struct sockaddr_storage;
void ps_peer_name(const struct sockaddr_storage *ss, unsigned len, const char *who, const char *unnamed,
		  char *buf, size_t size);
/*
 * TCP keepalive probes on @sk, so that a peer whose host is gone ends a
 * wait for it in about half a minute (a lazy page source or its
 * destination can be idle that long). Best effort.
 */
void ps_keepalive(int sk);

#endif
