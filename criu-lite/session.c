/*
 * What a dump or restore does before the command itself, for the CLI
 * (main.c) and the RPC (rpc.c) alike: take the image directory, then
 * open the log in it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cr.h"
#include "image.h"
#include "image-mac.h"
#include "log.h"
#include "open-file.h"

/*
 * dump and restore take -D for themselves (image.c: locked, checked, a
 * dump's created 0700: images hold the memory of the process; a
 * restore's trusted) before the log is opened there, so that a directory
 * refused, or in use by another cr, has nothing in it created or
 * truncated.
 */
int cr_take_images_dir(const struct cr_options *o, int *ret_dfd)
{
	/*
	 * The key first: a bad one is refused before the directory is
	 * touched. None: the key of an earlier RPC request is forgotten.
	 */
	img_key_forget();
	img_mac_policy_set(IMG_MAC_ANY);
	if (o->key_file) {
		int ret = img_key_load(o->key_file);

		if (ret)
			return ret;
	}
	/* The page server writes pages-N.img into -D: a directory a dump could write. */
	if (!strcmp(o->command, "dump") || !strcmp(o->command, "pre-dump") || !strcmp(o->command, "page-server"))
		return img_dir_lock(o->images_dir, IMG_DIR_DUMP, ret_dfd);
	if (!strcmp(o->command, "restore") || !strcmp(o->command, "lazy-pages")) {
		/* Root restores what another user could have written only when told to. */
		img_trust_set(geteuid() == 0 && !o->allow_untrusted_images ? IMG_TRUST_REFUSE
									  : IMG_TRUST_WARN);
		/* A signed dump is restored with its key or not at all. */
		img_mac_policy_set(IMG_MAC_NEED_KEY);
		return img_dir_lock(o->images_dir, strcmp(o->command, "restore") ? IMG_DIR_SERVE : IMG_DIR_RESTORE,
				    ret_dfd);
	}
	return 0;
}

/* A failure was logged (to stderr) by log_open_file(). */
int cr_open_log(const struct cr_options *o, char *ret_path)
{
	char path[PATH_MAX];
	int ret;

	if (!o->log_file)
		return 0;
	if (o->log_file[0] == '/')
		ret = snprintf(path, sizeof(path), "%s", o->log_file);
	else
		ret = snprintf(path, sizeof(path), "%s/%s", o->images_dir, o->log_file);
	if (ret < 0 || (size_t)ret >= sizeof(path))
		return pr_errno(-ENAMETOOLONG, "log file %s/%s", o->images_dir, o->log_file);
	ret = log_open_file(path);
	if (!ret)
		strcpy(ret_path, path);
	return ret;
}

int cr_status_ready(const struct cr_options *o)
{
	int err = 0;

	if (!o->has_status_fd)
		return 0;
	/* criu's: one '\0' byte, then the fd is closed (the reader sees EOF after it). */
	if (write(o->status_fd, "", 1) != 1)
		err = pr_errno(-errno, "--status-fd %d: telling that cr is ready", o->status_fd);
	close(o->status_fd);
	return err;
}
