/*
 * Image files: the header, the record codec and the end marker (the
 * image directory is image-dir.c's).
 * Only pb_write_one() and pb_read_one() know the record format, so
 * checksums and versioning live here and nowhere else.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <protobuf-c/protobuf-c.h>

#include "cleanup.h"
#include "compiler.h"
#include "cr.h"
#include "image.h"
#include "image-priv.h"
#include "image-mac.h"
#include "io.h"
#include "log.h"
#include "open-file.h"

#include "core.pb-c.h"
#include "fdinfo.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "pstree.pb-c.h"
#include "shmem.pb-c.h"
#include "ns.pb-c.h"
#include "utsns.pb-c.h"
#include "ipcns.pb-c.h"
#include "netns.pb-c.h"
#include "mnt.pb-c.h"
#include "cgroup.pb-c.h"

#define IMG_WBUF_SIZE	(64u << 10)	/* write buffer; also the first read chunk */

const struct img_desc img_descs[IMG_TYPE_MAX] = {
	[IMG_INVENTORY] = { "inventory.img",  INVENTORY_MAGIC, "inventory", PB_TYPE_MAX,     PB_INVENTORY },
	[IMG_PSTREE]    = { "pstree.img",     PSTREE_MAGIC,    "pstree",    PB_TYPE_MAX,     PB_PSTREE },
	[IMG_CORE]      = { "core-%u.img",    CORE_MAGIC,      "core",      PB_TYPE_MAX,     PB_CORE },
	[IMG_MM]        = { "mm-%u.img",      MM_MAGIC,        "mm",        PB_TYPE_MAX,     PB_MM },
	[IMG_PAGEMAP]   = { "pagemap-%u.img", PAGEMAP_MAGIC,   "pagemap",   PB_PAGEMAP_HEAD, PB_PAGEMAP },
	[IMG_PAGES]     = { "pages-%u.img",   PAGES_MAGIC,     "pages",     PB_TYPE_MAX,     PB_TYPE_MAX },
	[IMG_FILES]     = { "files.img",      FILES_MAGIC,     "files",     PB_TYPE_MAX,     PB_FILE },
	[IMG_FDINFO]    = { "fdinfo-%u.img",  FDINFO_MAGIC,    "fdinfo",    PB_TYPE_MAX,     PB_FDINFO },
	[IMG_SHMEM]     = { "shmem.img",      SHMEM_MAGIC,     "shmem",     PB_TYPE_MAX,     PB_SHMEM },
	[IMG_FDATA]     = { "fdata.img",      FDATA_MAGIC,     "fdata",     PB_TYPE_MAX,     PB_TYPE_MAX },
	[IMG_NS]        = { "ns.img",         NS_MAGIC,        "ns",        PB_TYPE_MAX,     PB_NS },
	[IMG_UTSNS]     = { "utsns.img",      UTSNS_MAGIC,     "utsns",     PB_TYPE_MAX,     PB_UTSNS },
	[IMG_IPCNS]     = { "ipcns.img",      IPCNS_MAGIC,     "ipcns",     PB_IPCNS_HEAD,   PB_IPC_OBJECT },
	[IMG_NETNS]     = { "netns.img",      NETNS_MAGIC,     "netns",     PB_NETNS_HEAD,   PB_NET_OBJECT },
	[IMG_MNTNS]     = { "mountpoints.img", MNTNS_MAGIC,    "mountpoints", PB_MNTNS_HEAD, PB_MOUNT },
	[IMG_CGROUP]    = { "cgroup.img",     CGROUP_MAGIC,    "cgroup",    PB_CGROUP_HEAD,  PB_CGROUP_OBJECT },
	/* After IMG_PAGES: img_match_name() takes the first of the two for the name. */
	[IMG_PAGESZ]    = { "pages-%u.img",   PAGESZ_MAGIC,    "compressed pages", PB_TYPE_MAX, PB_TYPE_MAX },
};

static const ProtobufCMessageDescriptor *const pb_descs[PB_TYPE_MAX] = {
	[PB_INVENTORY]	  = &inventory_entry__descriptor,
	[PB_PSTREE]	  = &pstree_entry__descriptor,
	[PB_CORE]	  = &core_entry__descriptor,
	[PB_MM]		  = &mm_entry__descriptor,
	[PB_PAGEMAP_HEAD] = &pagemap_head__descriptor,
	[PB_PAGEMAP]	  = &pagemap_entry__descriptor,
	[PB_FILE]	  = &file_entry__descriptor,
	[PB_FDINFO]	  = &fdinfo_entry__descriptor,
	[PB_SHMEM]	  = &shmem_entry__descriptor,
	[PB_NS]		  = &ns_entry__descriptor,
	[PB_UTSNS]	  = &utsns_entry__descriptor,
	[PB_IPCNS_HEAD]	  = &ipcns_head__descriptor,
	[PB_IPC_OBJECT]	  = &ipc_object__descriptor,
	[PB_NETNS_HEAD]	  = &netns_head__descriptor,
	[PB_NET_OBJECT]	  = &net_object__descriptor,
	[PB_MNTNS_HEAD]	  = &mntns_head__descriptor,
	[PB_MOUNT]	  = &mount_entry__descriptor,
	[PB_CGROUP_HEAD]  = &cgroup_head__descriptor,
	[PB_CGROUP_OBJECT] = &cgroup_object__descriptor,
};

const struct ProtobufCMessageDescriptor *pb_descriptor(enum pb_type type)
{
	if ((unsigned)type >= PB_TYPE_MAX)
		return NULL;
	return pb_descs[type];
}

/* On-disk values are little-endian whatever the host is. */
static inline void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static inline uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 |
	       (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void put_le64(unsigned char *p, uint64_t v)
{
	put_le32(p, v);
	put_le32(p + 4, v >> 32);
}

static inline uint64_t get_le64(const unsigned char *p)
{
	return get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* write_all() of image bytes; a failure is logged with the image's name. */
static int img_write_all(int fd, const void *buf, size_t len, const char *name)
{
	int ret = write_all(fd, buf, len);

	return ret ? img_errno(ret, name, "write failed") : 0;
}

/* Reads up to @len bytes; returns the count (short only at EOF) or -errno. */
static ssize_t read_full(int fd, void *buf, size_t len, const char *name)
{
	unsigned char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return img_errno(-errno, name, "read failed");
		}
		if (n == 0)
			break;
		got += n;
	}
	return got;
}

static struct img *img_alloc(int fd, enum img_type type, const char *name)
{
	struct img *img = xzalloc(sizeof(*img));

	if (!img)
		return NULL;
	img->fd = fd;
	img->type = type;
	snprintf(img->name, sizeof(img->name), "%s", name);
	return img;
}

static void img_free(struct img *img)
{
	if (!img)
		return;
	if (img->fd >= 0)
		close(img->fd);
	free(img->buf);
	free(img);
}

static void img_freep(struct img **p) { img_free(*p); }
#define _cleanup_img_free_ __attribute__((cleanup(img_freep)))

static int buf_reserve(struct img *img, size_t cap)
{
	unsigned char *b;

	if (img->buf_cap >= cap)
		return 0;
	b = xrealloc(img->buf, cap);
	if (!b)
		return -ENOMEM;
	img->buf = b;
	img->buf_cap = cap;
	return 0;
}

static int img_flush(struct img *img)
{
	int ret;

	if (!img->writing || img->buf_len == 0)
		return 0;
	ret = img_write_all(img->fd, img->buf, img->buf_len, img->name);
	img->buf_len = 0;
	return ret;
}

/*
 * Reads the whole file into the buffer, after the @got bytes of @head
 * already read: message images are small (bulk data lives in the raw
 * images) and are checked whole before their first record is used.
 * Returns 0 or -errno (logged).
 */
static int img_read_all(struct img *img, const unsigned char *head, size_t got)
{
	struct stat st;
	size_t cap;

	if (fstat(img->fd, &st) < 0)
		return img_errno(-errno, img->name, "cannot stat");
	if ((uint64_t)st.st_size > IMG_MAX_MSG_FILE) {
		pr_err("%s: %llu bytes, more than an image of records may hold (%u)", img->name,
		       (unsigned long long)st.st_size, IMG_MAX_MSG_FILE);
		return -EFBIG;
	}
	/* One byte more than the size, so that the end of file shows in one pass. */
	cap = max((size_t)st.st_size, got) + 1;
	if (buf_reserve(img, cap))
		return -ENOMEM;
	memcpy(img->buf, head, got);
	img->buf_len = got;
	for (; cap <= IMG_MAX_MSG_FILE + 1ul; cap *= 2) {
		ssize_t n;

		if (buf_reserve(img, cap))
			return -ENOMEM;
		n = read_full(img->fd, img->buf + img->buf_len, img->buf_cap - img->buf_len, img->name);
		if (n < 0)
			return n;
		img->buf_len += n;
		if (img->buf_len < img->buf_cap)
			return 0;
	}
	pr_err("%s: grew past %u bytes while it was read", img->name, IMG_MAX_MSG_FILE);
	return -EFBIG;
}

/* Where the header's fields are (see image.h). */
#define HDR_TYPE	4
#define HDR_VERSION	8
#define HDR_ID		12
#define HDR_DUMP_ID	16
#define HDR_CRC		(IMG_HDR_SIZE - 4)

/* The dump this cr writes or reads (see img_dump_id_new()). */
static struct {
	bool have_id;
	uint8_t dump_id[IMG_DUMP_ID_SIZE];
	char first[sizeof(((struct img *)0)->name)];	/* reading: the image that set it */
} session;

int img_dump_id_new(void)
{
	ssize_t n;

	do
		n = getrandom(session.dump_id, sizeof(session.dump_id), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(session.dump_id))
		return pr_errno(n < 0 ? -errno : -EIO, "getrandom for the dump id");
	session.have_id = true;
	session.first[0] = 0;
	return 0;
}

void img_dump_id_get(uint8_t *ret_id)
{
	memcpy(ret_id, session.dump_id, IMG_DUMP_ID_SIZE);
}

void img_dump_id_set(const uint8_t *id)
{
	memcpy(session.dump_id, id, IMG_DUMP_ID_SIZE);
	session.have_id = true;
	session.first[0] = 0;
}

void img_dump_id_forget(void)
{
	memset(&session, 0, sizeof(session));
}

void img_dump_id_str(const uint8_t *id, char *buf)
{
	for (unsigned i = 0; i < IMG_DUMP_ID_SIZE; i++)
		sprintf(buf + 2 * i, "%02x", id[i]);
}

/* The first image read gives the dump id; every other one must match it. */
static int dump_id_check(const char *name, const uint8_t *id)
{
	char got[IMG_DUMP_ID_SIZE * 2 + 1], want[IMG_DUMP_ID_SIZE * 2 + 1];

	if (!session.have_id) {
		memcpy(session.dump_id, id, IMG_DUMP_ID_SIZE);
		session.have_id = true;
		snprintf(session.first, sizeof(session.first), "%s", name);
		return 0;
	}
	if (!memcmp(session.dump_id, id, IMG_DUMP_ID_SIZE))
		return 0;
	img_dump_id_str(id, got);
	img_dump_id_str(session.dump_id, want);
	if (session.first[0])
		pr_err("%s: is from another dump (dump id %s) than %s (dump id %s)",
		       name, got, session.first, want);
	else
		pr_err("%s: is from another dump (dump id %s, this one is %s)", name, got, want);
	return -EBADMSG;
}

static int hdr_build(unsigned char hdr[IMG_HDR_SIZE], enum img_type type, uint32_t id)
{
	if (!session.have_id) {
		int ret = img_dump_id_new();

		if (ret)
			return ret;
	}
	put_le32(hdr, IMG_MAGIC);
	put_le32(hdr + HDR_TYPE, img_descs[type].magic);
	put_le32(hdr + HDR_VERSION, IMG_FORMAT_VERSION);
	put_le32(hdr + HDR_ID, id);
	memcpy(hdr + HDR_DUMP_ID, session.dump_id, IMG_DUMP_ID_SIZE);
	put_le32(hdr + HDR_CRC, crc32c(0, hdr, HDR_CRC));
	return 0;
}

static int hdr_truncated(const char *name, size_t got)
{
	pr_err("%s: header is truncated (needs %u bytes, %zu left)", name, IMG_HDR_SIZE, got);
	return -EBADMSG;
}

/*
 * Checks the @got bytes of the header of @img: magic, version, checksum,
 * then that its type and id are the ones its file name says (names that
 * are not ours are taken as they are, for cr show) and that it belongs to
 * this dump. Fills img->type, id and dump_id. Returns 0 or -EBADMSG after
 * logging.
 */
static int hdr_check(struct img *img, const unsigned char *hdr, size_t got)
{
	const char *name = img->name;
	enum img_type name_type;
	unsigned name_id;
	uint32_t version, magic, id;
	int t;

	if (got < HDR_VERSION + 4)
		return hdr_truncated(name, got);
	if (get_le32(hdr) != IMG_MAGIC) {
		pr_err("%s: not a criu-lite image (bad magic)", name);
		return -EBADMSG;
	}
	/* Another version may lay its header out differently: no checksum first. */
	version = get_le32(hdr + HDR_VERSION);
	if (version != IMG_FORMAT_VERSION) {
		pr_err("%s: image format version %u, this cr reads version %u",
		       name, version, IMG_FORMAT_VERSION);
		return -EBADMSG;
	}
	if (got < IMG_HDR_SIZE)
		return hdr_truncated(name, got);
	if (get_le32(hdr + HDR_CRC) != crc32c(0, hdr, HDR_CRC)) {
		pr_err("%s: header checksum mismatch", name);
		return -EBADMSG;
	}
	magic = get_le32(hdr + HDR_TYPE);
	for (t = 0; t < IMG_TYPE_MAX; t++)
		if (img_descs[t].magic == magic)
			break;
	if (t == IMG_TYPE_MAX) {
		pr_err("%s: unknown image type (magic 0x%08x)", name, magic);
		return -EBADMSG;
	}
	id = get_le32(hdr + HDR_ID);
	if (img_match_name(name, &name_type, &name_id)) {
		/* pages-N.img is the name of both kinds of pages image. */
		if ((enum img_type)t != name_type && !(name_type == IMG_PAGES && t == IMG_PAGESZ)) {
			pr_err("%s: is a %s image, expected a %s image", name,
			       img_descs[t].name, img_descs[name_type].name);
			return -EBADMSG;
		}
		if (id != name_id) {
			pr_err("%s: is the %s image of %u, not of %u", name, img_descs[t].name, id, name_id);
			return -EBADMSG;
		}
	}
	if (dump_id_check(name, hdr + HDR_DUMP_ID))
		return -EBADMSG;
	img->type = t;
	img->id = id;
	memcpy(img->dump_id, hdr + HDR_DUMP_ID, IMG_DUMP_ID_SIZE);
	memcpy(img->hdr, hdr, IMG_HDR_SIZE);
	return 0;
}

/* The CRC32C chain of the end marker starts from the header's CRC word. */
static uint32_t chain_start(const unsigned char hdr[IMG_HDR_SIZE])
{
	return crc32c(0, hdr + HDR_CRC, 4);
}

static void trailer_build(unsigned char t[IMG_TRAILER_SIZE], uint32_t mark, uint32_t nr, uint64_t bytes,
			  uint32_t chain)
{
	put_le32(t, mark);
	put_le32(t + 4, nr);
	put_le64(t + 8, bytes);
	put_le32(t + 16, chain);
	put_le32(t + 20, crc32c(0, t, 20));
}

static bool trailer_crc_ok(const unsigned char t[IMG_TRAILER_SIZE], uint32_t mark)
{
	return get_le32(t) == mark && get_le32(t + 20) == crc32c(0, t, 20);
}

/* ==== signatures (image-mac.h) ========================================== */

static const char mac_label_rec[] = "criu-lite record";
static const char mac_label_end[] = "criu-lite end";

/* The MAC of the record of @len bytes (length word on) at @rec, at offset @off, the @idx-th. */
static int rec_mac(const struct img *img, const unsigned char *rec, size_t len, uint64_t off, uint32_t idx,
		   uint8_t *ret_mac)
{
	return img_mac_record(img->dump_id, mac_label_rec, img->name, off, idx, rec, len, ret_mac);
}

/* The signature block of @img whose end marker @t is at @off, with the key id @key_id. */
static int sig_build(const struct img *img, const unsigned char t[IMG_TRAILER_SIZE], uint64_t off,
		     const uint8_t *key_id, unsigned char sig[IMG_SIG_SIZE])
{
	unsigned char what[IMG_HDR_SIZE + IMG_TRAILER_SIZE + IMG_KEY_ID_SIZE];

	memcpy(what, img->hdr, IMG_HDR_SIZE);
	memcpy(what + IMG_HDR_SIZE, t, IMG_TRAILER_SIZE);
	memcpy(what + IMG_HDR_SIZE + IMG_TRAILER_SIZE, key_id, IMG_KEY_ID_SIZE);
	put_le32(sig, IMG_SIG_MAGIC);
	memcpy(sig + 4, key_id, IMG_KEY_ID_SIZE);
	return img_mac_record(img->dump_id, mac_label_end, img->name, off, img->nr_records, what, sizeof(what),
			      sig + 4 + IMG_KEY_ID_SIZE);
}

/*
 * Whether a key lets @img be read: signed (@sig, its block) with the
 * loaded key, or unsigned with none, or (IMG_MAC_ANY) signed and no key
 * to check it. Returns 1 when its MACs are to be checked, 0 when not,
 * -EBADMSG (logged) to refuse it.
 */
static int sig_admit(const struct img *img, const unsigned char *sig)
{
	uint8_t id[IMG_KEY_ID_SIZE];
	char want[IMG_KEY_ID_SIZE * 2 + 1], got[IMG_KEY_ID_SIZE * 2 + 1];

	if (!sig) {
		if (!img_key_loaded())
			return 0;
		pr_err("%s: is not signed, and --key-file says the images must be: refusing an image anyone "
		       "could have written", img->name);
		return -EBADMSG;
	}
	if (!img_key_loaded()) {
		if (img_mac_policy() == IMG_MAC_ANY)
			return 0;
		pr_err("%s: is signed: restoring it needs the --key-file it was signed with", img->name);
		return -EBADMSG;
	}
	img_key_id(id);
	if (memcmp(id, sig + 4, IMG_KEY_ID_SIZE)) {
		img_key_id_str(sig + 4, got);
		img_key_id_str(id, want);
		pr_err("%s: is signed with another key (key id %s; --key-file's is %s)", img->name, got, want);
		return -EBADMSG;
	}
	return 1;
}

/* Checks the signature block @sig of @img, whose end marker @t is at @off. 0 or -EBADMSG (logged). */
static int sig_check(const struct img *img, const unsigned char t[IMG_TRAILER_SIZE], uint64_t off,
		     const unsigned char *sig)
{
	unsigned char want[IMG_SIG_SIZE];
	int ret = sig_build(img, t, off, sig + 4, want);

	if (ret)
		return ret;
	if (!img_mac_equal(want + 4 + IMG_KEY_ID_SIZE, sig + 4 + IMG_KEY_ID_SIZE)) {
		pr_err("%s: the end marker at offset %llu does not match its MAC (the file was cut, extended, "
		       "or its header or end changed)", img->name, (unsigned long long)off);
		return -EBADMSG;
	}
	return 0;
}

/*
 * Checks what the end marker @t (its checksum already checked) says
 * against what precedes it: @nr records (or raw data) of @bytes, whose
 * chain is @chain. Returns 0 or -EBADMSG after logging.
 */
static int trailer_check(const struct img *img, const unsigned char t[IMG_TRAILER_SIZE],
			 uint32_t nr, uint64_t bytes, uint32_t chain)
{
	const char *what = img_type_is_raw(img->type) ? "data" : "records";

	if (get_le32(t + 4) != nr) {
		pr_err("%s: the end marker counts %u records, the file holds %u",
		       img->name, get_le32(t + 4), nr);
		return -EBADMSG;
	}
	if (get_le64(t + 8) != bytes) {
		pr_err("%s: the end marker counts %llu bytes of %s, the file holds %llu", img->name,
		       (unsigned long long)get_le64(t + 8), what, (unsigned long long)bytes);
		return -EBADMSG;
	}
	if (get_le32(t + 16) != chain) {
		pr_err("%s: the %s not match the end marker (checksum chain)", img->name,
		       img_type_is_raw(img->type) ? "header does" : "records do");
		return -EBADMSG;
	}
	return 0;
}

/* Appends the end marker of an image opened for writing. 0 or -errno. */
static int img_write_trailer(struct img *img)
{
	unsigned char t[IMG_TRAILER_SIZE];
	struct stat st;
	int ret;

	unsigned char sig[IMG_SIG_SIZE];
	uint8_t key_id[IMG_KEY_ID_SIZE];

	img_key_id(key_id);
	if (!img_type_is_raw(img->type)) {
		trailer_build(t, img->mac ? IMG_END_MARK_SIGNED : IMG_END_MARK, img->nr_records,
			      img->off - IMG_HDR_SIZE, img->chain);
		if (img->mac) {
			ret = sig_build(img, t, img->off, key_id, sig);
			if (ret)
				return ret;
		}
		if (img->buf_len + sizeof(t) + sizeof(sig) > img->buf_cap) {
			ret = img_flush(img);
			if (ret)
				return ret;
		}
		memcpy(img->buf + img->buf_len, t, sizeof(t));
		img->buf_len += sizeof(t);
		if (img->mac) {
			memcpy(img->buf + img->buf_len, sig, sizeof(sig));
			img->buf_len += sizeof(sig);
		}
		return 0;
	}
	/* Raw data went straight to the fd (splice, write): the marker follows it. */
	if (fstat(img->fd, &st) < 0)
		return img_errno(-errno, img->name, "cannot stat");
	trailer_build(t, IMG_END_MARK, 0, st.st_size - IMG_PAGES_DATA_OFF, img->chain);
	if (pwrite(img->fd, t, sizeof(t), st.st_size) != (ssize_t)sizeof(t))
		return img_errno(errno ? -errno : -ENOSPC, img->name, "cannot write the end marker");
	/* The signature of a raw image lives in its header's padding. */
	if (img->mac) {
		ret = sig_build(img, t, st.st_size, key_id, sig);
		if (ret)
			return ret;
		if (pwrite(img->fd, sig, sizeof(sig), IMG_HDR_SIZE) != (ssize_t)sizeof(sig))
			return img_errno(errno ? -errno : -ENOSPC, img->name, "cannot write the signature");
	}
	return 0;
}

int img_create_fd(int fd, enum img_type type, unsigned id, const char *name, struct img **ret_img)
{
	_cleanup_img_free_ struct img *img = NULL;
	unsigned char hdr[IMG_HDR_SIZE];
	int ret;

	img = img_alloc(fd, type, name);
	if (!img) {
		close(fd);
		return -ENOMEM;
	}
	img->writing = true;
	img->id = id;
	ret = hdr_build(hdr, type, id);
	if (ret)
		return ret;
	memcpy(img->dump_id, hdr + HDR_DUMP_ID, IMG_DUMP_ID_SIZE);
	memcpy(img->hdr, hdr, IMG_HDR_SIZE);
	img->chain = chain_start(hdr);
	img->mac = img_key_loaded();

	if (img_type_is_raw(type)) {
		/*
		 * Page data is spliced straight into the file and later read
		 * with preadv into place, so it starts page-aligned.
		 */
		unsigned char pad[IMG_PAGES_DATA_OFF] = { 0 };

		memcpy(pad, hdr, sizeof(hdr));
		ret = img_write_all(fd, pad, sizeof(pad), name);
		if (ret)
			return ret;
		img->off = IMG_PAGES_DATA_OFF;
	} else {
		ret = buf_reserve(img, IMG_WBUF_SIZE);
		if (ret)
			return ret;
		memcpy(img->buf, hdr, sizeof(hdr));
		img->buf_len = sizeof(hdr);
		img->off = IMG_HDR_SIZE;
	}
	*ret_img = TAKE_PTR(img);
	return 0;
}

static int img_open_write(int dfd, enum img_type type, unsigned id, const char *name,
			  struct img **ret_img)
{
	int fd = open_own_file(dfd, name, 0);

	return fd < 0 ? fd : img_create_fd(fd, type, id, name, ret_img);
}

/*
 * Checks the records and the end marker of a message image read whole:
 * each record's length and checksum, then the marker's count, size and
 * chain, and that nothing follows it (but a signed image's signature
 * block). Sets data_end to the marker's offset, nr_records and mac.
 * Returns 0 or -EBADMSG after logging the file and the offset.
 */
static int img_check_records(struct img *img)
{
	const unsigned char *b = img->buf;
	size_t pos = IMG_HDR_SIZE, size = img->buf_len, tail;
	uint32_t nr = 0, chain = chain_start(b), mark;
	int sig = -1;	/* signed records: not known yet */

	for (;;) {
		size_t left = size - pos, mac;
		uint32_t len;

		if (!left) {
			if (nr)
				pr_err("%s: truncated after record %u (no end marker)", img->name, nr);
			else
				pr_err("%s: truncated after the header (no end marker)", img->name);
			return -EBADMSG;
		}
		if (left < 4) {
			pr_err("%s: record or end marker at offset %zu is truncated (%zu bytes left)",
			       img->name, pos, left);
			return -EBADMSG;
		}
		len = get_le32(b + pos);
		if (len == IMG_END_MARK || len == IMG_END_MARK_SIGNED)
			break;
		if (left < IMG_REC_HDR_SIZE) {
			pr_err("%s: record at offset %zu is truncated (needs %u bytes, %zu left)",
			       img->name, pos, IMG_REC_HDR_SIZE, left);
			return -EBADMSG;
		}
		if ((len & ~IMG_REC_SIGNED) > IMG_MAX_RECORD) {
			pr_err("%s: record at offset %zu claims %u bytes, over the %u limit",
			       img->name, pos, len & ~IMG_REC_SIGNED, IMG_MAX_RECORD);
			return -EBADMSG;
		}
		if (sig >= 0 && !!(len & IMG_REC_SIGNED) != sig) {
			pr_err("%s: record at offset %zu is %s, the ones before it are %s", img->name, pos,
			       sig ? "not signed" : "signed", sig ? "signed" : "not");
			return -EBADMSG;
		}
		sig = !!(len & IMG_REC_SIGNED);
		mac = sig ? IMG_MAC_SIZE : 0;
		len &= ~IMG_REC_SIGNED;
		if (left < IMG_REC_HDR_SIZE + len + mac) {
			pr_err("%s: record at offset %zu is truncated (needs %zu bytes, %zu left)",
			       img->name, pos, IMG_REC_HDR_SIZE + len + mac, left);
			return -EBADMSG;
		}
		if (crc32c(0, b + pos + IMG_REC_HDR_SIZE, len) != get_le32(b + pos + 4)) {
			pr_err("%s: checksum mismatch in record at offset %zu", img->name, pos);
			return -EBADMSG;
		}
		chain = crc32c(chain, b + pos + 4, 4);
		nr++;
		pos += IMG_REC_HDR_SIZE + len + mac;
	}

	mark = get_le32(b + pos);
	if (sig >= 0 && (mark == IMG_END_MARK_SIGNED) != sig) {
		pr_err("%s: the end marker at offset %zu is %s, the records are %s", img->name, pos,
		       sig ? "not signed" : "signed", sig ? "signed" : "not");
		return -EBADMSG;
	}
	tail = IMG_TRAILER_SIZE + (mark == IMG_END_MARK_SIGNED ? IMG_SIG_SIZE : 0);
	if (size - pos < tail) {
		pr_err("%s: end marker at offset %zu is truncated (needs %zu bytes, %zu left)",
		       img->name, pos, tail, size - pos);
		return -EBADMSG;
	}
	if (!trailer_crc_ok(b + pos, mark)) {
		pr_err("%s: end marker checksum mismatch at offset %zu", img->name, pos);
		return -EBADMSG;
	}
	if (trailer_check(img, b + pos, nr, pos - IMG_HDR_SIZE, chain))
		return -EBADMSG;
	if (mark == IMG_END_MARK_SIGNED && get_le32(b + pos + IMG_TRAILER_SIZE) != IMG_SIG_MAGIC) {
		pr_err("%s: no signature block after the end marker at offset %zu", img->name, pos);
		return -EBADMSG;
	}
	if (size - pos > tail) {
		size_t extra = size - pos - tail;

		pr_err("%s: %zu byte%s after the end marker", img->name, extra, extra == 1 ? "" : "s");
		return -EBADMSG;
	}
	img->nr_records = nr;
	img->data_end = pos;
	img->mac = mark == IMG_END_MARK_SIGNED;
	return 0;
}

/*
 * Checks the MACs of a message image img_check_records() found sound:
 * each record's, then the end's. Returns 0 or -EBADMSG after logging
 * the file and the offset.
 */
static int img_check_macs(struct img *img)
{
	const unsigned char *b = img->buf;
	size_t pos = IMG_HDR_SIZE;
	int ret;

	ret = sig_admit(img, img->mac ? b + img->data_end + IMG_TRAILER_SIZE : NULL);
	if (ret <= 0)
		return ret;
	ret = cr_fail_point("mac-check");
	if (ret)
		return ret;
	for (uint32_t i = 0; i < img->nr_records; i++) {
		size_t len = IMG_REC_HDR_SIZE + (get_le32(b + pos) & ~IMG_REC_SIGNED);
		uint8_t mac[IMG_MAC_SIZE];

		ret = rec_mac(img, b + pos, len, pos, i, mac);
		if (ret)
			return ret;
		if (!img_mac_equal(mac, b + pos + len)) {
			pr_err("%s: record %u at offset %zu does not match its MAC (changed, moved, or from "
			       "another file or dump)", img->name, i, pos);
			return -EBADMSG;
		}
		pos += len + IMG_MAC_SIZE;
	}
	return sig_check(img, b + img->data_end, img->data_end, b + img->data_end + IMG_TRAILER_SIZE);
}

int img_raw_data_end(int fd, const char *name, uint64_t *ret_end)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return img_errno(-errno, name, "cannot stat");
	if (st.st_size < (off_t)(IMG_PAGES_DATA_OFF + IMG_TRAILER_SIZE)) {
		pr_err("%s: no end marker at the end of the file (cut, or bytes added after it)", name);
		return -EBADMSG;
	}
	*ret_end = st.st_size - IMG_TRAILER_SIZE;
	return 0;
}

/*
 * A raw image: the header padding is zero and the end marker closes the
 * data. The fd is left at IMG_PAGES_DATA_OFF. Returns 0 or -errno (logged).
 */
static int img_check_raw(struct img *img, const unsigned char *head, size_t got)
{
	unsigned char t[IMG_TRAILER_SIZE];
	int ret;

	if (got < IMG_PAGES_DATA_OFF) {
		pr_err("%s: header is truncated (needs %u bytes, %zu left)", img->name,
		       IMG_PAGES_DATA_OFF, got);
		return -EBADMSG;
	}
	img->mac = get_le32(head + IMG_HDR_SIZE) == IMG_SIG_MAGIC;
	for (size_t i = IMG_HDR_SIZE + (img->mac ? IMG_SIG_SIZE : 0); i < IMG_PAGES_DATA_OFF; i++) {
		if (head[i]) {
			pr_err("%s: header padding is corrupted at offset %zu", img->name, i);
			return -EBADMSG;
		}
	}
	ret = img_raw_data_end(img->fd, img->name, &img->data_end);
	if (ret)
		return ret;
	if (pread(img->fd, t, sizeof(t), img->data_end) != (ssize_t)sizeof(t) || !trailer_crc_ok(t, IMG_END_MARK)) {
		pr_err("%s: no end marker at the end of the file (cut, or bytes added after it)", img->name);
		return -EBADMSG;
	}
	if (trailer_check(img, t, 0, img->data_end - IMG_PAGES_DATA_OFF, chain_start(head)))
		return -EBADMSG;
	ret = sig_admit(img, img->mac ? head + IMG_HDR_SIZE : NULL);
	if (ret > 0)
		ret = sig_check(img, t, img->data_end, head + IMG_HDR_SIZE);
	if (ret)
		return ret;
	if (lseek(img->fd, IMG_PAGES_DATA_OFF, SEEK_SET) < 0)
		return img_errno(-errno, img->name, "cannot seek to the data");
	img->off = IMG_PAGES_DATA_OFF;
	return 0;
}

/* Opens @name and checks it whole; its type and id come from its name (see hdr_check()). */
static int img_open_read(int dfd, const char *name, struct img **ret_img)
{
	_cleanup_img_free_ struct img *img = NULL;
	/* A raw image's header and padding; a message image is read whole. */
	unsigned char raw_head[IMG_PAGES_DATA_OFF];
	struct stat st;
	ssize_t got;
	int fd, ret;

	fd = open_regular(dfd, name, &st);
	if (fd < 0)
		return fd;
	img = img_alloc(fd, IMG_TYPE_MAX, name);
	if (!img) {
		close(fd);
		return -ENOMEM;
	}
	ret = img_trust_check(name, &st);
	if (ret)
		return ret;
	got = read_full(fd, raw_head, sizeof(raw_head), name);
	if (got < 0)
		return got;
	ret = hdr_check(img, raw_head, got);
	if (ret)
		return ret;
	if (img_type_is_raw(img->type)) {
		ret = img_check_raw(img, raw_head, got);
	} else {
		ret = img_read_all(img, raw_head, got);
		if (!ret)
			ret = img_check_records(img);
		if (!ret)
			ret = img_check_macs(img);
		img->buf_pos = img->off = IMG_HDR_SIZE;
	}
	if (ret)
		return ret;
	*ret_img = TAKE_PTR(img);
	return 0;
}

/*
 * img_open_read() of an image of @type. A compressed pages image where a
 * plain one is read is refused by name, so that no reader takes its
 * blocks for pages (img_open_pages() is for readers of both).
 */
static int img_open_read_type(int dfd, const char *name, enum img_type type, struct img **ret_img)
{
	struct img *img;
	int ret = img_open_read(dfd, name, &img);

	if (ret)
		return ret;
	if (img->type == IMG_PAGESZ && type == IMG_PAGES) {
		pr_err("%s: is a compressed pages image (dump --compress), which this reader of pages cannot read",
		       name);
		img_close(img);
		return -EBADMSG;
	}
	*ret_img = img;
	return 0;
}

int img_open(int dfd, enum img_type type, unsigned id, int oflags, struct img **ret_img)
{
	char name[sizeof(((struct img *)0)->name)];

	if ((unsigned)type >= IMG_TYPE_MAX) {
		pr_err("image type %d is out of range", type);
		return -EINVAL;
	}
	snprintf(name, sizeof(name), img_descs[type].fmt, id);

	switch (oflags & O_ACCMODE) {
	case O_WRONLY:
		return img_open_write(dfd, type, id, name, ret_img);
	case O_RDONLY:
		return img_open_read_type(dfd, name, type, ret_img);
	default:
		pr_err("%s: images are opened either read-only or write-only", name);
		return -EINVAL;
	}
}

int img_open_any(int dfd, const char *name, struct img **ret_img)
{
	return img_open_read(dfd, name, ret_img);
}

int img_open_other(int dfd, enum img_type type, unsigned id, const uint8_t *dump_id, struct img **ret_img)
{
	typeof(session) saved = session;
	int ret;

	/* hdr_check() compares with the session's id: this one, for one open. */
	memset(&session, 0, sizeof(session));
	if (dump_id) {
		memcpy(session.dump_id, dump_id, IMG_DUMP_ID_SIZE);
		session.have_id = true;
	}
	ret = img_open(dfd, type, id, O_RDONLY, ret_img);
	session = saved;
	return ret;
}

int img_open_pages(int dfd, unsigned id, bool other, const uint8_t *dump_id, struct img **ret_img)
{
	typeof(session) saved = session;
	char name[sizeof(((struct img *)0)->name)];
	int ret;

	snprintf(name, sizeof(name), img_descs[IMG_PAGES].fmt, id);
	if (!other)
		return img_open_read(dfd, name, ret_img);
	memset(&session, 0, sizeof(session));
	if (dump_id) {
		memcpy(session.dump_id, dump_id, IMG_DUMP_ID_SIZE);
		session.have_id = true;
	}
	ret = img_open_read(dfd, name, ret_img);
	session = saved;
	return ret;
}

int img_close(struct img *img)
{
	int ret, fd;

	if (!img)
		return 0;
	ret = img->writing ? img_write_trailer(img) : 0;
	if (!ret)
		ret = img_flush(img);
	fd = img->fd;
	img->fd = -1;
	/* close() of a written file can report a deferred write error. */
	if (close(fd) < 0 && img->writing && !ret)
		ret = img_errno(-errno, img->name, "close failed");
	img_free(img);
	return ret;
}

/* Is @type one of the kinds of records this image holds? */
static int pb_type_check(const struct img *img, enum pb_type type)
{
	const struct img_desc *d = &img_descs[img->type];

	if ((unsigned)type >= PB_TYPE_MAX) {
		pr_err("%s: record type %d is out of range", img->name, type);
		return -EINVAL;
	}
	if (type != d->pb_head && type != d->pb_entry) {
		pr_err("%s: %s records do not belong in a %s image", img->name,
		       pb_descs[type]->name, d->name);
		return -EINVAL;
	}
	return 0;
}

/*
 * Appends one record: u32 length, u32 CRC32C(payload), payload, all
 * little-endian. Returns 0 or -errno (logged).
 */
int pb_write_one(struct img *img, const void *msg, enum pb_type type)
{
	const ProtobufCMessage *m = msg;
	unsigned char *rec;
	size_t len, mac;
	int ret;

	if (!img->writing) {
		pr_err("%s: not opened for writing", img->name);
		return -EBADF;
	}
	ret = pb_type_check(img, type);
	if (ret)
		return ret;
	if (m->descriptor != pb_descs[type]) {
		pr_err("%s: message is a %s, not a %s", img->name,
		       m->descriptor->name, pb_descs[type]->name);
		return -EINVAL;
	}
	len = protobuf_c_message_get_packed_size(m);
	if (len > IMG_MAX_RECORD) {
		pr_err("%s: %s record of %zu bytes is over the %u limit",
		       img->name, pb_descs[type]->name, len, IMG_MAX_RECORD);
		return -EFBIG;
	}
	mac = img->mac ? IMG_MAC_SIZE : 0;
	if (img->buf_len + IMG_REC_HDR_SIZE + len + mac > img->buf_cap) {
		ret = img_flush(img);
		if (ret)
			return ret;
		/* A record larger than the buffer grows it once. */
		ret = buf_reserve(img, IMG_REC_HDR_SIZE + len + mac);
		if (ret)
			return ret;
	}
	rec = img->buf + img->buf_len;
	if (protobuf_c_message_pack(m, rec + IMG_REC_HDR_SIZE) != len) {
		pr_err("%s: packing a %s gave an unexpected size", img->name,
		       pb_descs[type]->name);
		return -EINVAL;
	}
	put_le32(rec, len | (mac ? IMG_REC_SIGNED : 0));
	put_le32(rec + 4, crc32c(0, rec + IMG_REC_HDR_SIZE, len));
	if (mac) {
		ret = rec_mac(img, rec, IMG_REC_HDR_SIZE + len, img->off, img->nr_records,
			      rec + IMG_REC_HDR_SIZE + len);
		if (ret)
			return ret;
	}
	img->chain = crc32c(img->chain, rec + 4, 4);
	img->nr_records++;
	img->buf_len += IMG_REC_HDR_SIZE + len + mac;
	img->off += IMG_REC_HDR_SIZE + len + mac;
	return 0;
}

/*
 * Unpacks the next record, checked with the whole file when it was
 * opened. Returns 1 and sets *ret_msg (free it with pb_free()), 0 at the
 * end marker (and again after it), -EBADMSG for a payload that is not a
 * valid message of @type (logged with file and offset).
 */
int pb_read_one(struct img *img, void **ret_msg, enum pb_type type)
{
	const unsigned char *rec;
	ProtobufCMessage *m;
	uint32_t len;
	int ret;

	if (img->writing || img_type_is_raw(img->type)) {
		pr_err("%s: not opened for reading records", img->name);
		return -EBADF;
	}
	ret = pb_type_check(img, type);
	if (ret)
		return ret;
	if (img->buf_pos >= img->data_end)
		return 0;
	rec = img->buf + img->buf_pos;
	len = get_le32(rec) & ~IMG_REC_SIGNED;
	m = protobuf_c_message_unpack(pb_descs[type], NULL, len, rec + IMG_REC_HDR_SIZE);
	if (!m) {
		pr_err("%s: record at offset %llu is not a valid %s",
		       img->name, (unsigned long long)img->off, pb_descs[type]->name);
		return -EBADMSG;
	}
	if (img->mac)
		len += IMG_MAC_SIZE;
	img->buf_pos += IMG_REC_HDR_SIZE + len;
	img->off += IMG_REC_HDR_SIZE + len;
	*ret_msg = m;
	return 1;
}

int pb_read_one_required(struct img *img, void **ret_msg, enum pb_type type)
{
	int ret = pb_read_one(img, ret_msg, type);

	if (ret == 0) {
		pr_err("%s: missing record (expected a %s at offset %llu)",
		       img->name, pb_descs[type]->name, (unsigned long long)img->off);
		return -EBADMSG;
	}
	return ret < 0 ? ret : 0;
}

void pb_free(void *msg, enum pb_type type)
{
	(void)type;	/* the message carries its own descriptor */
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
}

bool img_match_name(const char *name, enum img_type *ret_type, unsigned *ret_id)
{
	for (int t = 0; t < IMG_TYPE_MAX; t++) {
		const char *fmt = img_descs[t].fmt;
		const char *pct = strstr(fmt, "%u");
		size_t plen, slen, nlen = strlen(name);
		unsigned long id = 0;
		const char *p, *end;

		if (!pct) {
			if (strcmp(name, fmt))
				continue;
			goto found;
		}
		plen = pct - fmt;
		slen = strlen(pct + 2);
		if (nlen <= plen + slen || strncmp(name, fmt, plen) ||
		    strcmp(name + nlen - slen, pct + 2))
			continue;
		/* Only what "%u" prints: digits, no leading zero, fits. */
		p = name + plen;
		end = name + nlen - slen;
		if (end - p > 10 || (*p == '0' && end - p > 1))
			continue;
		for (; p < end; p++) {
			if (*p < '0' || *p > '9')
				break;
			id = id * 10 + (*p - '0');
		}
		if (p != end || id > UINT32_MAX)
			continue;
found:
		if (ret_type)
			*ret_type = t;
		if (ret_id)
			*ret_id = id;
		return true;
	}
	return false;
}
