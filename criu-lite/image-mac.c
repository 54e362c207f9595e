/*
 * Authenticated images: the key, the per-dump keys derived from it and
 * the MACs (image-mac.h says the construction). OpenSSL 3's EVP_MAC
 * gives HMAC-SHA256 (SHA-NI) and Poly1305 (AVX-512).
 */
#include <ctype.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "cleanup.h"
#include "image.h"
#include "image-mac.h"
#include "log.h"

#define HMAC_SIZE	32
#define DUMP_KEYS	32	/* per-dump keys kept: a dump and its pre-copy parents */

static const char label_key[] = "criu-lite key file";
static const char label_key_id[] = "criu-lite key id";
static const char label_dump[] = "criu-lite dump";
static const char label_data[] = "criu-lite data";

struct dump_key {
	uint8_t dump_id[IMG_DUMP_ID_SIZE];
	EVP_MAC_CTX *ctx;	/* HMAC keyed with K_dump; re-initialised for each MAC */
};

static struct {
	bool loaded;
	uint8_t key[HMAC_SIZE];
	uint8_t id[IMG_KEY_ID_SIZE];
	EVP_MAC *hmac, *poly;
	struct dump_key dumps[DUMP_KEYS];
	unsigned nr_dumps, next;
	enum img_mac_policy policy;
} mk;

struct img_mac_data {
	EVP_MAC_CTX *ctx;	/* Poly1305 */
};

static int ossl_err(const char *what)
{
	pr_err("OpenSSL: %s failed", what);
	return -EIO;
}

static const OSSL_PARAM *hmac_params(void)
{
	static char digest[] = "SHA256";
	static OSSL_PARAM p[] = {
		OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, sizeof(digest) - 1),
		OSSL_PARAM_END,
	};

	return p;
}

static int macs_fetch(void)
{
	if (!mk.hmac)
		mk.hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!mk.poly)
		mk.poly = EVP_MAC_fetch(NULL, "POLY1305", NULL);
	return mk.hmac && mk.poly ? 0 : ossl_err("fetching HMAC and Poly1305");
}

/* A fresh HMAC-SHA256 context keyed with @key. NULL after logging. */
static EVP_MAC_CTX *hmac_new(const uint8_t *key, size_t len)
{
	EVP_MAC_CTX *c = EVP_MAC_CTX_new(mk.hmac);

	if (!c || !EVP_MAC_init(c, key, len, hmac_params())) {
		EVP_MAC_CTX_free(c);
		ossl_err("HMAC init");
		return NULL;
	}
	return c;
}

/* HMAC-SHA256(@key, @a || @b) into @out (HMAC_SIZE bytes). */
static int hmac2(const uint8_t *key, size_t klen, const void *a, size_t alen, const void *b, size_t blen,
		 uint8_t *out)
{
	EVP_MAC_CTX *c = hmac_new(key, klen);
	size_t olen = 0;
	int ret = 0;

	if (!c)
		return -EIO;
	if (!EVP_MAC_update(c, a, alen) || !EVP_MAC_update(c, b, blen) ||
	    !EVP_MAC_final(c, out, &olen, HMAC_SIZE) || olen != HMAC_SIZE)
		ret = ossl_err("HMAC");
	EVP_MAC_CTX_free(c);
	return ret;
}

void img_key_forget(void)
{
	for (unsigned i = 0; i < mk.nr_dumps; i++)
		EVP_MAC_CTX_free(mk.dumps[i].ctx);
	EVP_MAC_free(mk.hmac);
	EVP_MAC_free(mk.poly);
	OPENSSL_cleanse(&mk, sizeof(mk));
	memset(&mk, 0, sizeof(mk));
}

int img_key_set(const void *key, size_t len)
{
	enum img_mac_policy policy = mk.policy;
	int ret;

	img_key_forget();
	mk.policy = policy;
	if (len < IMG_KEY_MIN) {
		pr_err("the key has %zu bytes, a key needs at least %u", len, IMG_KEY_MIN);
		return -EINVAL;
	}
	ret = macs_fetch();
	if (!ret)
		ret = hmac2((const uint8_t *)label_key, sizeof(label_key) - 1, key, len, NULL, 0, mk.key);
	if (!ret) {
		uint8_t id[HMAC_SIZE];

		ret = hmac2(mk.key, sizeof(mk.key), label_key_id, sizeof(label_key_id) - 1, NULL, 0, id);
		memcpy(mk.id, id, sizeof(mk.id));
	}
	if (ret) {
		img_key_forget();
		mk.policy = policy;
		return ret;
	}
	mk.loaded = true;
	return 0;
}

bool img_key_loaded(void)
{
	return mk.loaded;
}

void img_key_id(uint8_t *ret_id)
{
	memcpy(ret_id, mk.id, IMG_KEY_ID_SIZE);
}

void img_key_id_str(const uint8_t *id, char *buf)
{
	for (unsigned i = 0; i < IMG_KEY_ID_SIZE; i++)
		sprintf(buf + 2 * i, "%02x", id[i]);
}

static int hex_val(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * The key of a key file's @len bytes @buf: hex digits (whitespace
 * around them ignored) decode in place, anything else is raw bytes.
 * Returns the key's length.
 */
static size_t key_decode(unsigned char *buf, size_t len)
{
	size_t s = 0, e = len, n;

	while (s < e && isspace(buf[s]))
		s++;
	while (e > s && isspace(buf[e - 1]))
		e--;
	if (e == s || (e - s) % 2)
		return len;
	for (size_t i = s; i < e; i++)
		if (hex_val(buf[i]) < 0)
			return len;
	n = (e - s) / 2;
	for (size_t i = 0; i < n; i++)
		buf[i] = hex_val(buf[s + 2 * i]) << 4 | hex_val(buf[s + 2 * i + 1]);
	return n;
}

int img_key_load(const char *path)
{
	unsigned char buf[IMG_KEY_FILE_MAX + 1];
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	size_t got = 0;
	int ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return pr_errno(-errno, "--key-file %s", path);
	if (fstat(fd, &st) < 0)
		return pr_errno(-errno, "--key-file %s: fstat", path);
	if (!S_ISREG(st.st_mode))
		return pr_errno(-EINVAL, "--key-file %s: not a regular file", path);
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return pr_errno(-EPERM, "--key-file %s: mode %04o lets group or others at the key "
				"(chmod 600 it)", path, (unsigned)(st.st_mode & 07777));
	while (got < sizeof(buf)) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = pr_errno(-errno, "--key-file %s: read", path);
			break;
		}
		if (n == 0)
			break;
		got += n;
	}
	if (!ret && got > IMG_KEY_FILE_MAX)
		ret = pr_errno(-EFBIG, "--key-file %s: more than %u bytes", path, IMG_KEY_FILE_MAX);
	if (!ret) {
		size_t len = key_decode(buf, got);

		if (len < IMG_KEY_MIN)
			ret = pr_errno(-EINVAL, "--key-file %s: %zu bytes of key, at least %u needed%s", path, len,
				       IMG_KEY_MIN, len ? "" : " (it is empty)");
		else
			ret = img_key_set(buf, len);
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return ret;
}

/* The HMAC context of K_dump for @dump_id; NULL after logging. */
static EVP_MAC_CTX *dump_ctx(const uint8_t *dump_id)
{
	struct dump_key *d;
	uint8_t k[HMAC_SIZE];
	EVP_MAC_CTX *c;

	if (!mk.loaded) {
		pr_err("no --key-file key to sign or check images with");
		return NULL;
	}
	for (unsigned i = 0; i < mk.nr_dumps; i++)
		if (!memcmp(mk.dumps[i].dump_id, dump_id, IMG_DUMP_ID_SIZE))
			return mk.dumps[i].ctx;
	if (hmac2(mk.key, sizeof(mk.key), label_dump, sizeof(label_dump) - 1, dump_id, IMG_DUMP_ID_SIZE, k))
		return NULL;
	c = hmac_new(k, sizeof(k));
	OPENSSL_cleanse(k, sizeof(k));
	if (!c)
		return NULL;
	if (mk.nr_dumps < DUMP_KEYS) {
		d = &mk.dumps[mk.nr_dumps++];
	} else {
		d = &mk.dumps[mk.next];
		mk.next = (mk.next + 1) % DUMP_KEYS;
		EVP_MAC_CTX_free(d->ctx);
	}
	memcpy(d->dump_id, dump_id, IMG_DUMP_ID_SIZE);
	d->ctx = c;
	return c;
}

static void le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = v >> (8 * i);
}

/*
 * HMAC-SHA256 under K_dump of: label, 0, name, 0, u64 @off, u32 @idx,
 * u64 @len, then @len bytes of @buf. Full HMAC_SIZE bytes into @out.
 */
static int dump_hmac_locked(const uint8_t *dump_id, const char *label, const char *name, uint64_t off,
			    uint32_t idx, const void *buf, uint64_t len, uint8_t *out)
{
	EVP_MAC_CTX *c = dump_ctx(dump_id);
	uint8_t pos[20];
	size_t olen = 0;

	if (!c)
		return -EIO;
	le64(pos, off);
	for (int i = 0; i < 4; i++)
		pos[8 + i] = idx >> (8 * i);
	le64(pos + 12, len);
	/* NULL key: the same key again (OpenSSL 3's HMAC keeps it). */
	if (!EVP_MAC_init(c, NULL, 0, NULL) || !EVP_MAC_update(c, (const uint8_t *)label, strlen(label) + 1) ||
	    !EVP_MAC_update(c, (const uint8_t *)name, strlen(name) + 1) || !EVP_MAC_update(c, pos, sizeof(pos)) ||
	    (buf && len && !EVP_MAC_update(c, buf, len)) || !EVP_MAC_final(c, out, &olen, HMAC_SIZE) || olen != HMAC_SIZE)
		return ossl_err("HMAC of an image record");
	return 0;
}

/* The per-dump contexts are shared: restore checks pages in a thread of its own meanwhile. */
static int dump_hmac(const uint8_t *dump_id, const char *label, const char *name, uint64_t off, uint32_t idx,
		     const void *buf, uint64_t len, uint8_t *out)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	int ret;

	pthread_mutex_lock(&lock);
	ret = dump_hmac_locked(dump_id, label, name, off, idx, buf, len, out);
	pthread_mutex_unlock(&lock);
	return ret;
}

int img_mac_record(const uint8_t *dump_id, const char *label, const char *name, uint64_t off, uint32_t idx,
		   const void *buf, size_t len, uint8_t *ret_mac)
{
	uint8_t out[HMAC_SIZE];
	int ret = dump_hmac(dump_id, label, name, off, idx, buf, len, out);

	if (!ret)
		memcpy(ret_mac, out, IMG_MAC_SIZE);
	return ret;
}

void img_mac_data_free(struct img_mac_data *m)
{
	if (!m)
		return;
	EVP_MAC_CTX_free(m->ctx);
	free(m);
}

int img_mac_data_start(const uint8_t *dump_id, const char *name, uint64_t off, uint64_t len,
		       struct img_mac_data **ret_m)
{
	struct img_mac_data *m;
	uint8_t k[HMAC_SIZE];
	int ret;

	ret = dump_hmac(dump_id, label_data, name, off, 0, NULL, len, k);
	if (ret)
		return ret;
	m = xzalloc(sizeof(*m));
	if (!m) {
		OPENSSL_cleanse(k, sizeof(k));
		return -ENOMEM;
	}
	m->ctx = EVP_MAC_CTX_new(mk.poly);
	if (!m->ctx || !EVP_MAC_init(m->ctx, k, sizeof(k), NULL))
		ret = ossl_err("Poly1305 init");
	OPENSSL_cleanse(k, sizeof(k));
	if (ret) {
		img_mac_data_free(m);
		return ret;
	}
	*ret_m = m;
	return 0;
}

int img_mac_data_update(struct img_mac_data *m, const void *buf, size_t len)
{
	return EVP_MAC_update(m->ctx, buf, len) ? 0 : ossl_err("Poly1305");
}

int img_mac_data_end(struct img_mac_data *m, uint8_t *ret_mac)
{
	size_t olen = 0;
	int ret = 0;

	if (!EVP_MAC_final(m->ctx, ret_mac, &olen, IMG_MAC_SIZE) || olen != IMG_MAC_SIZE)
		ret = ossl_err("Poly1305 final");
	img_mac_data_free(m);
	return ret;
}

int img_mac_data(const uint8_t *dump_id, const char *name, uint64_t off, const void *buf, uint64_t len,
		 uint8_t *ret_mac)
{
	struct img_mac_data *m;
	int ret = img_mac_data_start(dump_id, name, off, len, &m);

	if (ret)
		return ret;
	ret = img_mac_data_update(m, buf, len);
	if (ret) {
		img_mac_data_free(m);
		return ret;
	}
	return img_mac_data_end(m, ret_mac);
}

int img_data_check(const char *name, uint64_t off, const void *buf, uint64_t len, uint32_t crc,
		   const uint8_t *mac, size_t mac_len)
{
	uint8_t id[IMG_DUMP_ID_SIZE], got[IMG_MAC_SIZE];
	int ret;

	if (!mk.loaded)
		return crc32c(0, buf, len) == crc ? 0 : -EBADMSG;
	if (!mac || mac_len != IMG_MAC_SIZE)
		return -EBADMSG;
	img_dump_id_get(id);
	ret = img_mac_data(id, name, off, buf, len, got);
	if (ret)
		return ret;
	return img_mac_equal(got, mac) ? 0 : -EBADMSG;
}

bool img_mac_equal(const uint8_t *a, const uint8_t *b)
{
	return CRYPTO_memcmp(a, b, IMG_MAC_SIZE) == 0;
}

void img_mac_policy_set(enum img_mac_policy p)
{
	mk.policy = p;
}

enum img_mac_policy img_mac_policy(void)
{
	return mk.policy;
}
