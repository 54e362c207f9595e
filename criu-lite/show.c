/*
 * cr show DIR|FILE: images as JSON. Messages are rendered generically from
 * the protobuf-c descriptors, so a new field or image kind shows up here
 * without touching this file.
 */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <protobuf-c/protobuf-c.h>

#include "cleanup.h"
#include "compiler.h"
#include "cr.h"
#include "image.h"
#include "log.h"
#include "pagez.h"
#include "open-file.h"
#include "show.h"
#include "stats.h"

#define SHOW_MAX_BYTES	2048	/* bytes fields: 4096 hex chars at most */

static void indent(FILE *f, int level)
{
	fprintf(f, "\n%*s", 2 * level, "");
}

/* Length of the valid UTF-8 sequence at @s, or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;	/* also stops at the terminating NUL */
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Reject overlong forms, surrogates and values past U+10FFFF. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/*
 * Prints @s as a JSON string. Paths and comm may hold any bytes; a byte
 * that is not part of valid UTF-8 is shown as the code point of the same
 * value, so the document stays valid JSON.
 */
static void json_str(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	while (*s) {
		size_t n;

		switch (*s) {
		case '"':  fputs("\\\"", f); s++; continue;
		case '\\': fputs("\\\\", f); s++; continue;
		case '\n': fputs("\\n", f); s++; continue;
		case '\t': fputs("\\t", f); s++; continue;
		case '\r': fputs("\\r", f); s++; continue;
		}
		if (*s < 0x20 || *s == 0x7f) {
			fprintf(f, "\\u%04x", *s++);
			continue;
		}
		n = utf8_len(s);
		if (!n) {
			fprintf(f, "\\u%04x", *s++);
			continue;
		}
		fwrite(s, 1, n, f);
		s += n;
	}
	fputc('"', f);
}

void show_json_str(FILE *f, const char *s)
{
	json_str(f, s);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* Fields that hold addresses read better in hex. */
static bool is_address_field(const char *name)
{
	static const char *const exact[] = {
		"start", "end", "vaddr", "ip", "sp", "handler", "restorer", "brk",
	};
	static const char *const suffixes[] = {
		"_base", "_brk", "_code", "_data", "_stack",
	};

	for (size_t i = 0; i < ARRAY_SIZE(exact); i++)
		if (!strcmp(name, exact[i]))
			return true;
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++)
		if (has_suffix(name, suffixes[i]))
			return true;
	return !strncmp(name, "arg_", 4) || !strncmp(name, "env_", 4);
}

static size_t field_elem_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_ENUM:
		return 4;
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	}
	return 0;
}

static void json_msg(FILE *f, const ProtobufCMessage *m, int level);

static void json_double(FILE *f, double v)
{
	/* JSON has no NaN or infinity. */
	if (isfinite(v))
		fprintf(f, "%.17g", v);
	else
		fputs("null", f);
}

static void json_value(FILE *f, const ProtobufCFieldDescriptor *fd,
		       const void *p, int level)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		fprintf(f, "%d", *(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
		fprintf(f, "%u", *(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		fprintf(f, "%lld", (long long)*(const int64_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		if (is_address_field(fd->name))
			fprintf(f, "\"0x%llx\"", (unsigned long long)*(const uint64_t *)p);
		else
			fprintf(f, "%llu", (unsigned long long)*(const uint64_t *)p);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		json_double(f, *(const float *)p);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		json_double(f, *(const double *)p);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		fputs(*(const protobuf_c_boolean *)p ? "true" : "false", f);
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		int v = *(const int *)p;
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(fd->descriptor, v);

		if (ev)
			json_str(f, ev->name);
		else
			fprintf(f, "%d", v);	/* a value newer than our schema */
		break;
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;

		if (s)
			json_str(f, s);
		else
			fputs("null", f);
		break;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;
		size_t n = min(b->len, (size_t)SHOW_MAX_BYTES);

		fputc('"', f);
		for (size_t i = 0; i < n; i++)
			fprintf(f, "%02x", b->data[i]);
		if (b->len > n)
			fprintf(f, "...(%zu bytes)", b->len);
		fputc('"', f);
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;

		if (sub)
			json_msg(f, sub, level);
		else
			fputs("null", f);
		break;
	}
	}
}

static bool field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd)
{
	const char *base = (const char *)m;

	if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(base + fd->quantifier_offset) == fd->id;
	switch (fd->label) {
	case PROTOBUF_C_LABEL_REQUIRED:
	case PROTOBUF_C_LABEL_NONE:
		return true;
	case PROTOBUF_C_LABEL_OPTIONAL:
		/* Pointer fields are present when set; scalars have has_*. */
		if (fd->type == PROTOBUF_C_TYPE_STRING || fd->type == PROTOBUF_C_TYPE_MESSAGE)
			return *(void *const *)(base + fd->offset) != NULL;
		return *(const protobuf_c_boolean *)(base + fd->quantifier_offset);
	case PROTOBUF_C_LABEL_REPEATED:
		return true;	/* shown as [] when empty */
	}
	return false;
}

static void json_msg(FILE *f, const ProtobufCMessage *m, int level)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;
	bool first = true;

	fputc('{', f);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];

		if (!field_present(m, fd))
			continue;
		fputs(first ? "" : ",", f);
		first = false;
		indent(f, level + 1);
		json_str(f, fd->name);
		fputs(": ", f);

		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + fd->quantifier_offset);
			const char *arr = *(char *const *)(base + fd->offset);
			size_t sz = field_elem_size(fd->type);
			/* Nested messages get a line each; scalars stay on one. */
			bool multiline = fd->type == PROTOBUF_C_TYPE_MESSAGE;

			fputc('[', f);
			for (size_t j = 0; j < n; j++) {
				fputs(j ? (multiline ? "," : ", ") : "", f);
				if (multiline)
					indent(f, level + 2);
				json_value(f, fd, arr + j * sz, level + 2);
			}
			if (multiline && n)
				indent(f, level + 1);
			fputc(']', f);
		} else {
			json_value(f, fd, base + fd->offset, level + 1);
		}
	}
	if (!first)
		indent(f, level);
	fputc('}', f);
}

static void json_file_head(FILE *f, const char *name, const struct img *img, int level)
{
	char magic[16];

	fputc('{', f);
	indent(f, level + 1);
	fputs("\"file\": ", f);
	json_str(f, name);
	if (img) {
		char dump_id[IMG_DUMP_ID_SIZE * 2 + 1];

		snprintf(magic, sizeof(magic), "0x%08x", img_descs[img->type].magic);
		img_dump_id_str(img->dump_id, dump_id);
		fputs(",", f);
		indent(f, level + 1);
		fprintf(f, "\"type\": \"%s\",", img_descs[img->type].name);
		indent(f, level + 1);
		fprintf(f, "\"magic\": \"%s\",", magic);
		indent(f, level + 1);
		fprintf(f, "\"version\": %u,", IMG_FORMAT_VERSION);
		indent(f, level + 1);
		fprintf(f, "\"id\": %u,", img->id);
		indent(f, level + 1);
		fprintf(f, "\"dump_id\": \"%s\"", dump_id);
		if (!img_type_is_raw(img->type)) {
			fputs(",", f);
			indent(f, level + 1);
			fprintf(f, "\"records\": %u", img->nr_records);
		}
	}
}

/* Closes a file object that failed, with the logged reason in it. */
static void json_file_error(FILE *f, int level)
{
	const char *why = log_last_error();

	fputs(",", f);
	indent(f, level + 1);
	fputs("\"error\": ", f);
	json_str(f, why ? why : "unknown error");
	indent(f, level);
	fputc('}', f);
}

/*
 * A compressed pages image: what its blocks hold, every block checked
 * (header, chain, the CRC32C of its stored bytes), the first bad one
 * refused with its offset.
 */
static int show_pagesz(FILE *f, struct img *img, int level)
{
	_cleanup_free_ struct pagez_index_entry *ix = NULL;
	uint64_t logical = 0;
	size_t nr = 0, raw = 0;
	int ret = pagez_index(img, true, &ix, &nr, &logical);

	if (ret)
		return ret;
	for (size_t i = 0; i < nr; i++)
		raw += ix[i].b.codec == PAGEZ_RAW;
	fputs(",", f);
	indent(f, level + 1);
	fprintf(f, "\"pages_bytes\": %llu,", (unsigned long long)logical);
	indent(f, level + 1);
	fprintf(f, "\"stored_bytes\": %llu,", (unsigned long long)(img->data_end - IMG_PAGES_DATA_OFF));
	indent(f, level + 1);
	fprintf(f, "\"compression\": \"zstd\",");
	indent(f, level + 1);
	fprintf(f, "\"block_size\": %u,", PAGEZ_BLOCK_SIZE);
	indent(f, level + 1);
	fprintf(f, "\"blocks\": %zu,", nr);
	indent(f, level + 1);
	fprintf(f, "\"blocks_stored_raw\": %zu", raw);
	return 0;
}

static int show_pages(FILE *f, struct img *img, int level)
{
	if (img->type == IMG_PAGESZ)
		return show_pagesz(f, img, level);
	fputs(",", f);
	indent(f, level + 1);
	fprintf(f, "\"%s_bytes\": %llu", img_descs[img->type].name,
		(unsigned long long)(img->data_end - IMG_PAGES_DATA_OFF));
	return 0;
}

static int show_records(FILE *f, struct img *img, int level)
{
	const struct img_desc *d = &img_descs[img->type];
	unsigned n = 0;
	int ret;

	fputs(",", f);
	indent(f, level + 1);
	fputs("\"entries\": [", f);
	for (;;) {
		enum pb_type t = (n == 0 && d->pb_head != PB_TYPE_MAX) ? d->pb_head : d->pb_entry;
		void *msg;

		ret = pb_read_one(img, &msg, t);
		if (ret <= 0)
			break;
		fputs(n ? "," : "", f);
		indent(f, level + 2);
		json_msg(f, msg, level + 2);
		pb_free(msg, t);
		n++;
	}
	if (n)
		indent(f, level + 1);
	fputc(']', f);
	return ret;
}

/* stats-dump, stats-restore: criu's layout, not an image (stats.h). */
static int show_stats_file(FILE *f, int dfd, const char *name, int level)
{
	_cleanup_close_ int fd = -EBADF;
	StatsEntry *e = NULL;
	struct stat st;
	int ret;

	fputc('{', f);
	indent(f, level + 1);
	fputs("\"file\": ", f);
	json_str(f, name);
	/* Not a FIFO, nor through a link (open-file.h). */
	fd = open_regular(dfd, name, &st);
	ret = fd < 0 ? fd : stats_read_fd(fd, &e);
	if (ret) {
		json_file_error(f, level);
		return ret;
	}
	fputs(",", f);
	indent(f, level + 1);
	fputs("\"type\": \"stats\",", f);
	indent(f, level + 1);
	fputs("\"entry\": ", f);
	json_msg(f, &e->base, level + 1);
	indent(f, level);
	fputc('}', f);
	stats_entry__free_unpacked(e, NULL);
	return 0;
}

/* Prints one image file as a JSON object. Returns 0 or -errno (logged). */
static int show_file(FILE *f, int dfd, const char *name, int level)
{
	_cleanup_img_ struct img *img = NULL;
	int ret;

	if (!strcmp(name, STATS_DUMP_FILE) || !strcmp(name, STATS_RESTORE_FILE))
		return show_stats_file(f, dfd, name, level);
	ret = img_open_any(dfd, name, &img);
	json_file_head(f, name, img, level);
	if (ret) {
		json_file_error(f, level);
		return ret;
	}
	if (img_type_is_raw(img->type))
		ret = show_pages(f, img, level);
	else
		ret = show_records(f, img, level);
	if (ret) {
		json_file_error(f, level);
		return ret;
	}
	indent(f, level);
	fputc('}', f);
	return 0;
}

/* inventory.img first: its dump id is the one the others must carry. */
static int name_cmp(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	const char *inv = img_descs[IMG_INVENTORY].fmt;

	if (strcmp(x, inv) == 0 || strcmp(y, inv) == 0)
		return (strcmp(y, inv) == 0) - (strcmp(x, inv) == 0);
	return strcmp(x, y);
}

/*
 * Shows every image of ours in @dir as a JSON array: inventory.img, then
 * the others in name order. An image of another dump than the first is
 * shown with the reason it would be refused.
 */
static int show_dir(FILE *f, const char *dir, int dfd)
{
	_cleanup_closedir_ DIR *d = NULL;
	char **names = NULL;
	size_t n = 0, cap = 0;
	const char *first_bad = NULL;
	unsigned nbad = 0;
	struct dirent *de;
	int ret = open_dir_stream(dfd, dir, &d);

	if (ret)
		return ret;
	while ((errno = 0, de = readdir(d))) {
		if (!img_match_name(de->d_name, NULL, NULL))
			continue;
		if (n == cap) {
			char **nn = xrealloc(names, (cap = cap ? 2 * cap : 16) * sizeof(*names));

			if (!nn) {
				ret = -ENOMEM;
				goto out;
			}
			names = nn;
		}
		names[n] = xstrdup(de->d_name);
		if (!names[n]) {
			ret = -ENOMEM;
			goto out;
		}
		n++;
	}
	if (errno) {
		ret = pr_errno(-errno, "cannot list %s", dir);
		goto out;
	}
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	img_dump_id_forget();

	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		int r;

		fputs(i ? "," : "", f);
		indent(f, 1);
		/* Go on after a bad file: the others may tell what happened. */
		r = show_file(f, dfd, names[i], 1);
		if (r) {
			nbad++;
			if (!ret) {
				ret = r;
				first_bad = names[i];
			}
		}
	}
	fputs(n ? "\n]\n" : "]\n", f);
	/* Later files overwrote the last error; the summary names the first. */
	if (ret)
		pr_err("%s: %u of %zu images are bad, the first is %s",
		       dir, nbad, n, first_bad);
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return ret;
}

int cr_show(const char *path)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int ret;

	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return pr_errno(-errno, "%s: cannot open", path);
	if (fstat(fd, &st) < 0)
		return pr_errno(-errno, "%s: cannot stat", path);

	if (S_ISDIR(st.st_mode)) {
		_cleanup_close_ int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd < 0)
			return pr_errno(-errno, "%s: cannot open", path);
		ret = show_dir(stdout, path, dfd);
	} else {
		_cleanup_free_ char *copy = xstrdup(path);
		_cleanup_close_ int pdfd = -EBADF;
		char *slash, *base;

		if (!copy)
			return -ENOMEM;
		/* Open by parent dir + base name so errors name the file. */
		slash = strrchr(copy, '/');
		if (slash) {
			*slash = 0;
			base = slash + 1;
			pdfd = open(slash == copy ? "/" : copy, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (pdfd < 0)
				return pr_errno(-errno, "%s: cannot open its directory", path);
		} else {
			base = copy;
		}
		ret = show_file(stdout, slash ? pdfd : AT_FDCWD, base, 0);
		fputc('\n', stdout);
	}
	if (fflush(stdout) == EOF && !ret)
		ret = pr_errno(-errno, "cannot write the JSON output");
	return ret;
}
