#ifndef CR_IMAGE_H
#define CR_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Image files. Every file starts with an IMG_HDR_SIZE (36) byte header:
 *	u32 IMG_MAGIC ("CRLT"), u32 type magic, u32 IMG_FORMAT_VERSION,
 *	u32 id: the N of its file name (core-N.img, pages-N.img), 0 for
 *	    names without one; a file read under another name is refused,
 *	u8[16] dump id: random, the same in every file of one dump; images
 *	    of different dumps are refused together (see img_dump_id_new()),
 *	u32 CRC32C of the previous 32 bytes.
 * Message images continue with records:  u32 length, u32 CRC32C(payload),
 * payload (a packed protobuf-c message).
 * The raw images (IMG_PAGES, IMG_FDATA) have the header padded to
 * IMG_PAGES_DATA_OFF bytes and then raw data; their checksums live in the
 * records that refer to them (pagemap entries, data_ref).
 *
 * Every image ends with an end marker of IMG_TRAILER_SIZE bytes, after
 * its last record or its data, so that a file cut anywhere, even between
 * two records, is told from a shorter image:
 *	u32 IMG_END_MARK (longer than any record can be),
 *	u32 number of records (raw images: 0),
 *	u64 bytes between the header and the marker (raw: from
 *	    IMG_PAGES_DATA_OFF),
 *	u32 CRC32C chain: CRC32C of the header's CRC word, continued over
 *	    each record's CRC word in order (raw images: the header's only),
 *	u32 CRC32C of the marker's previous 20 bytes.
 * Nothing may follow the marker. All words are little-endian.
 *
 * Signed images (--key-file, image-mac.h): each record's length word has
 * IMG_REC_SIGNED set and IMG_MAC_SIZE bytes of MAC follow its payload
 * (over the file name, the record's offset and index, its length word,
 * CRC and payload); a message image's end marker starts with
 * IMG_END_MARK_SIGNED and is followed by a signature block, which a raw
 * image keeps at IMG_HDR_SIZE in its header padding instead:
 *	u32 IMG_SIG_MAGIC, u8[16] key id, u8[16] MAC over the file name,
 *	    the header, the end marker and the key id.
 * A file is signed whole or not at all. Raw data is signed run by run
 * in the records that describe it (pagemap, shmem, data_ref).
 */
#define IMG_REC_SIGNED		(1u << 30)	/* in a length word: a MAC follows the payload */
#define IMG_END_MARK_SIGNED	0xfffffffeu	/* end marker of a signed message image */
#define IMG_SIG_MAGIC		0x31474953u	/* "SIG1" */
#define IMG_SIG_SIZE		36u

#define IMG_MAGIC		0x544c5243u	/* "CRLT" little-endian */
#define IMG_FORMAT_VERSION	2u		/* 2: ids in the header, the end marker */
#define IMG_HDR_SIZE		36u
#define IMG_PAGES_DATA_OFF	4096u
#define IMG_MAX_RECORD		(64u << 20)	/* refuse absurd lengths */
#define IMG_REC_HDR_SIZE	8u		/* u32 length, u32 crc32c */
#define IMG_TRAILER_SIZE	24u
#define IMG_END_MARK		0xffffffffu	/* first word of the end marker */
/* A message image is read whole before its first record is used. */
#define IMG_MAX_MSG_FILE	(1u << 30)

/* Second header word: which kind of image this is. */
#define INVENTORY_MAGIC		0x564e4901u	/* "\1INV" */
#define PSTREE_MAGIC		0x52545302u	/* "\2STR" */
#define CORE_MAGIC		0x524f4303u	/* "\3COR" */
#define MM_MAGIC		0x4d4d4d04u	/* "\4MMM" */
#define PAGEMAP_MAGIC		0x504d5005u	/* "\5PMP" */
#define PAGES_MAGIC		0x47415006u	/* "\6PAG" */
#define FILES_MAGIC		0x4c494607u	/* "\7FIL" */
#define FDINFO_MAGIC		0x49444608u	/* "\10FDI" */
#define SHMEM_MAGIC		0x4d485309u	/* "\11SHM" */
#define FDATA_MAGIC		0x5441440au	/* "\12DAT" */
#define NS_MAGIC		0x53534e0bu	/* "\13NSS" */
#define UTSNS_MAGIC		0x5354550cu	/* "\14UTS" */
#define IPCNS_MAGIC		0x4350490du	/* "\15IPC" */
#define NETNS_MAGIC		0x54454e0eu	/* "\16NET" */
#define MNTNS_MAGIC		0x544e4d0fu	/* "\17MNT" */
#define CGROUP_MAGIC		0x50524310u	/* "\20CGP" */
#define PAGESZ_MAGIC		0x5a475011u	/* "\21PGZ": pages-N.img compressed (pagez.h) */

enum img_type {
	IMG_INVENTORY,
	IMG_PSTREE,
	IMG_CORE,
	IMG_MM,
	IMG_PAGEMAP,
	IMG_PAGES,
	IMG_FILES,
	IMG_FDINFO,
	IMG_SHMEM,
	IMG_FDATA,	/* raw bytes of files (pipe buffers, deleted files), like IMG_PAGES */
	IMG_NS,		/* the tree's namespaces (namespaces.h) */
	IMG_UTSNS,
	IMG_IPCNS,
	IMG_NETNS,
	IMG_MNTNS,
	IMG_CGROUP,
	/*
	 * pages-N.img of a dump made with --compress: the same name, its own
	 * magic, blocks of compressed page data (pagez.h). img_open() of
	 * IMG_PAGES refuses it by name: readers go through pages_open().
	 */
	IMG_PAGESZ,
	IMG_TYPE_MAX,
};

/* Protobuf message kinds that pb_read_one/pb_write_one handle. */
enum pb_type {
	PB_INVENTORY,
	PB_PSTREE,
	PB_CORE,
	PB_MM,
	PB_PAGEMAP_HEAD,
	PB_PAGEMAP,
	PB_FILE,
	PB_FDINFO,
	PB_SHMEM,
	PB_NS,
	PB_UTSNS,
	PB_IPCNS_HEAD,
	PB_IPC_OBJECT,
	PB_NETNS_HEAD,
	PB_NET_OBJECT,
	PB_MNTNS_HEAD,
	PB_MOUNT,
	PB_CGROUP_HEAD,
	PB_CGROUP_OBJECT,
	PB_TYPE_MAX,
};

struct img_desc {
	const char *fmt;	/* file name, printf format with at most one %u */
	uint32_t magic;
	const char *name;	/* for messages */
	/*
	 * Records the file holds: an optional first record of kind
	 * @pb_head, then any number of @pb_entry. PB_TYPE_MAX means none
	 * (the pages image holds no records at all).
	 */
	enum pb_type pb_head;
	enum pb_type pb_entry;
};
extern const struct img_desc img_descs[IMG_TYPE_MAX];

/*
 * Every image of one dump carries the same random dump id in its header.
 * A dump makes a new one before it writes (img_check_dir_for_dump());
 * reading, the first image opened sets it (restore opens inventory.img
 * first) and every later one must carry it. img_dump_id_forget() starts
 * over, for cr show and tests.
 */
#define IMG_DUMP_ID_SIZE	16
int img_dump_id_new(void);		/* 0 or -errno (logged) */
void img_dump_id_forget(void);
/*
 * The dump id this cr writes (after img_dump_id_new()), and setting it:
 * the page server writes the pages image of a dump another cr makes.
 */
void img_dump_id_get(uint8_t *ret_id);
void img_dump_id_set(const uint8_t *id);
/* @id as hex digits into @buf, which holds IMG_DUMP_ID_SIZE * 2 + 1 bytes. */
void img_dump_id_str(const uint8_t *id, char *buf);

struct img {
	int fd;
	enum img_type type;
	uint32_t id;		/* the N of its file name, 0 for names without one */
	uint8_t dump_id[IMG_DUMP_ID_SIZE];
	char name[64];		/* file name inside the image directory */
	/* buffered I/O for records; a message image read is all in buf */
	unsigned char *buf;
	size_t buf_len, buf_pos, buf_cap;
	bool writing;
	uint64_t off;		/* logical offset of the next record */
	uint32_t nr_records;	/* written so far, or in the file */
	uint32_t chain;		/* the end marker's CRC32C chain so far */
	/* Read: where the records or the raw data end (the end marker's offset). */
	uint64_t data_end;
	bool mac;		/* signed (written with a key, or read so) */
	unsigned char hdr[IMG_HDR_SIZE];	/* the header, which the signature covers */
};

/*
 * Opens image @type (with @id substituted into the name) in directory
 * @dfd. O_WRONLY creates it (0600, O_EXCL is not used: dump checks the
 * directory first) and writes the header; O_RDONLY checks the header.
 * Returns 0 and sets *ret_img, or -errno after logging the file name and
 * the reason (-ENOENT missing, -EBADMSG bad magic/version/header crc).
 */
int img_open(int dfd, enum img_type type, unsigned id, int oflags, struct img **ret_img);
/*
 * img_open(O_WRONLY) of a file already open for writing at @fd (taken
 * over, closed on failure too), to be named @name in messages: the page
 * server writes an unnamed file (O_TMPFILE) it links in when complete.
 */
int img_create_fd(int fd, enum img_type type, unsigned id, const char *name, struct img **ret_img);
/*
 * Opens file @name in @dfd for reading, whatever its type: the type comes
 * from the header's magic (for `cr show` and checks); a name of ours must
 * still say the header's type and id. Same returns as img_open(). For raw
 * images the fd is left at IMG_PAGES_DATA_OFF.
 */
int img_open_any(int dfd, const char *name, struct img **ret_img);
/*
 * Opens image @type of another dump for reading (a parent image
 * directory, mem-parent.c): its header must carry @dump_id, any id when
 * NULL (img->dump_id then tells it); this session's id is left as it was.
 * Same returns as img_open().
 */
int img_open_other(int dfd, enum img_type type, unsigned id, const uint8_t *dump_id, struct img **ret_img);
/*
 * Opens pages-@id.img for reading, compressed (img->type IMG_PAGESZ) or
 * not (IMG_PAGES): pages_open() (pagez.h) reads both. With @other, of
 * another dump as img_open_other() (@dump_id NULL: any). Same returns as
 * img_open().
 */
int img_open_pages(int dfd, unsigned id, bool other, const uint8_t *dump_id, struct img **ret_img);

/*
 * Tells whether @name is a file name of ours (one of the img_descs
 * patterns). Returns true and fills *ret_type and *ret_id (0 for names
 * without an id); either may be NULL.
 */
bool img_match_name(const char *name, enum img_type *ret_type, unsigned *ret_id);

/*
 * One cr at a time in an image directory. img_dir_lock() takes @dir for
 * this cr's dump or restore before anything else happens there (main.c,
 * before the log is opened, and the only place -D is opened): it opens it
 * (a dump creates it, 0700), takes an exclusive flock() on it, refused
 * with -EBUSY as "image directory /x is in use by another cr", and checks
 * it: a dump's must hold only images and logs (see
 * img_check_dir_for_dump()), a restore's must be trustworthy. Returns 0
 * and the directory in *ret_dfd, whose lock ends when it is closed, or
 * -errno (logged).
 */
/* IMG_DIR_SERVE: cr lazy-pages reads a restore's images: checked as for it, not locked (the restore locks it). */
enum img_dir_use { IMG_DIR_DUMP, IMG_DIR_RESTORE, IMG_DIR_SERVE };

/*
 * Images a restore may trust: the image directory and every image read
 * are owned by root or cr's effective user and writable by neither group
 * nor others (or anyone who can write there decides what is restored).
 * IMG_TRUST_REFUSE (a restore as root) refuses anything else naming the
 * path (-EPERM), IMG_TRUST_WARN (another user, or --allow-untrusted-images)
 * warns and goes on; IMG_TRUST_ANY (the default: cr show, tests) checks
 * nothing. img_dir_lock(IMG_DIR_RESTORE) checks the directory, every
 * image open for reading checks its file.
 */
enum img_trust { IMG_TRUST_ANY, IMG_TRUST_WARN, IMG_TRUST_REFUSE };
void img_trust_set(enum img_trust trust);
int img_dir_lock(const char *dir, enum img_dir_use use, int *ret_dfd);

/*
 * Prepares @dir for a dump: creates it (0700) if missing. An existing
 * non-empty directory is refused with -EEXIST unless everything in it is
 * a criu-lite image or a *.log file; then it is reused and the old images
 * are removed (logs are kept: ours may be open in there). The directory
 * is locked (img_dir_lock()), and a new dump id is made. Returns 0 and a
 * directory fd in *ret_dfd, or -errno after logging.
 * img_dump_dir_prepare() is its second half, for the directory @dfd
 * img_dir_lock(IMG_DIR_DUMP) gave.
 */
int img_check_dir_for_dump(const char *dir, int *ret_dfd);
int img_dump_dir_prepare(int dfd, const char *dir);

/*
 * Where the data of the raw image open at @fd (named @name) ends: its end
 * marker, checked when the image was opened, follows. Records pointing
 * past it are refused with it. Returns 0 or -errno (logged).
 */
int img_raw_data_end(int fd, const char *name, uint64_t *ret_end);

/* True for images of raw data after a padded header (no records). */
static inline bool img_type_is_raw(enum img_type type)
{
	return type == IMG_PAGES || type == IMG_PAGESZ || type == IMG_FDATA;
}

/*
 * When writing, appends the end marker and flushes; closes. Returns 0 or
 * -errno. NULL is a no-op.
 */
int img_close(struct img *img);
static inline void img_closep(struct img **p) { if (*p) img_close(*p); }
#define _cleanup_img_	__attribute__((cleanup(img_closep)))

/*
 * pb_write_one() packs @msg (a protobuf-c message of kind @type) as one
 * record. Returns 0 or -errno.
 *
 * pb_read_one() reads the next record and unpacks it into *ret_msg (free
 * with pb_free()). Returns 1 for a message, 0 at the end marker (the file
 * was checked whole when it was opened), -EBADMSG for an unpackable
 * payload (logged with the file name and the record offset).
 */
int pb_write_one(struct img *img, const void *msg, enum pb_type type);
int pb_read_one(struct img *img, void **ret_msg, enum pb_type type);
void pb_free(void *msg, enum pb_type type);

/* The protobuf-c descriptor of @type, or NULL if out of range. */
struct ProtobufCMessageDescriptor;
const struct ProtobufCMessageDescriptor *pb_descriptor(enum pb_type type);

/* pb_read_one() that treats EOF as an error (-EBADMSG, "missing record"). */
/* Returns 0 with a message, -EBADMSG (logged) at end of file, or -errno. */
int pb_read_one_required(struct img *img, void **ret_msg, enum pb_type type);

/*
 * CRC32C (Castagnoli), iSCSI convention: crc32c(0, "123456789", 9) ==
 * 0xE3069283, and crc32c(crc32c(0, a), b) == crc32c(0, a || b).
 * Hardware-accelerated (SSE4.2 + PCLMULQDQ) where the CPU allows.
 */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
/* The table-driven implementation, same results; for tests. */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);
/* True when crc32c() uses the crc32 instruction. */
bool crc32c_hw_accelerated(void);

#endif
