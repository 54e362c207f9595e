#ifndef CR_IMAGE_MAC_H
#define CR_IMAGE_MAC_H

/*
 * Authenticated images (--key-file): the keyed MACs that sign a dump.
 * image.c signs and checks the records and the end of every image;
 * the page runs and file data carry a MAC of their bytes in the record
 * that describes them (pagemap, shmem, data_ref).
 *
 * Keys (see README, "Trust model"):
 *	K      = HMAC-SHA256("criu-lite key file", bytes of the key file)
 *	key id = HMAC-SHA256(K, "criu-lite key id")[0..16), in every signed
 *	         image, so a wrong key is told from a changed image; it does
 *	         not tell the key
 *	K_dump = HMAC-SHA256(K, "criu-lite dump" || dump id): one per dump,
 *	         so nothing signed for one dump checks out in another
 * Records and ends: HMAC-SHA256(K_dump, label || file name || offset ||
 * index || bytes), cut to IMG_MAC_SIZE. Data runs: Poly1305 (several
 * times faster than HMAC-SHA256 here) under a one-time key
 * HMAC-SHA256(K_dump, "data" || file name || offset || length): every
 * (dump, file, offset) is written once, so no key is used twice.
 * The key stays in cr's memory only, never in a log or an image.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMG_MAC_SIZE		16
#define IMG_KEY_ID_SIZE		16
#define IMG_KEY_MIN		32	/* bytes of key a key file must hold at least */
#define IMG_KEY_FILE_MAX	4096

/*
 * Loads the key of --key-file @path: raw bytes, or hex digits (an even
 * number of them, whitespace around them ignored), at least IMG_KEY_MIN
 * bytes of key. A file that is not regular, or that group or others may
 * read or write, is refused. Returns 0 or -errno (logged, without a byte
 * of the key).
 */
int img_key_load(const char *path);
/* The key from @len bytes at @key (tests; the key file's content). 0 or -EINVAL (logged). */
int img_key_set(const void *key, size_t len);
void img_key_forget(void);
bool img_key_loaded(void);
/* The loaded key's id, and as hex (IMG_KEY_ID_SIZE * 2 + 1 bytes). */
void img_key_id(uint8_t *ret_id);
void img_key_id_str(const uint8_t *id, char *buf);

/*
 * HMAC-SHA256 under the key of dump @dump_id (IMG_DUMP_ID_SIZE bytes) of
 * label @label, the file name @name, @off, @idx and @len bytes at @buf,
 * cut to IMG_MAC_SIZE. 0 or -errno (logged). A key must be loaded.
 */
int img_mac_record(const uint8_t *dump_id, const char *label, const char *name, uint64_t off, uint32_t idx,
		   const void *buf, size_t len, uint8_t *ret_mac);

/* A MAC of a data run, computed as its bytes go by. */
struct img_mac_data;
/*
 * Starts the MAC of the @len bytes at offset @off of file @name of dump
 * @dump_id. Returns 0 and *ret_m, or -errno (logged).
 */
int img_mac_data_start(const uint8_t *dump_id, const char *name, uint64_t off, uint64_t len,
		       struct img_mac_data **ret_m);
int img_mac_data_update(struct img_mac_data *m, const void *buf, size_t len);
/* Ends the MAC into @ret_mac and frees @m (also on failure). 0 or -errno (logged). */
int img_mac_data_end(struct img_mac_data *m, uint8_t *ret_mac);
/* Frees @m without a MAC; NULL: a no-op. */
void img_mac_data_free(struct img_mac_data *m);
/* All of it at once. */
int img_mac_data(const uint8_t *dump_id, const char *name, uint64_t off, const void *buf, uint64_t len,
		 uint8_t *ret_mac);

/*
 * Checks the @len bytes at @buf, stored at offset @off of image @name of
 * the dump being read (its dump id), against what the record describing
 * them keeps: with a key loaded, the MAC @mac of @mac_len bytes (NULL:
 * none, which is refused); without one, the CRC32C @crc. Returns 0 or
 * -EBADMSG (not logged: the caller names the bytes), -errno (logged).
 */
int img_data_check(const char *name, uint64_t off, const void *buf, uint64_t len, uint32_t crc,
		   const uint8_t *mac, size_t mac_len);

/* Constant-time comparison of two MACs. */
bool img_mac_equal(const uint8_t *a, const uint8_t *b);

/*
 * What reading does about signatures. With a key loaded, whatever the
 * policy, every image read must be signed with it and check out.
 * Without one: IMG_MAC_ANY (the default: cr show, tests) reads signed
 * images without checking them; IMG_MAC_NEED_KEY (restore, lazy-pages)
 * refuses them ("is signed: restore needs its --key-file").
 */
enum img_mac_policy { IMG_MAC_ANY, IMG_MAC_NEED_KEY };
void img_mac_policy_set(enum img_mac_policy p);
enum img_mac_policy img_mac_policy(void);

#endif
