/*
 * The tree's uts namespace: its host and domain names (utsns.img).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cleanup.h"
#include "image.h"
#include "log.h"
#include "namespaces.h"
#include "utsns.pb-c.h"

struct utsns_img {
	UtsnsEntry *e;
};

int utsns_dump(int dfd)
{
	_cleanup_img_ struct img *img = NULL;
	UtsnsEntry e = UTSNS_ENTRY__INIT;
	struct utsname u;
	int err;

	if (uname(&u))
		return pr_errno(-errno, "uts namespace: uname");
	e.nodename = u.nodename;
	e.domainname = u.domainname;
	err = img_open(dfd, IMG_UTSNS, 0, O_WRONLY, &img);
	if (!err)
		err = pb_write_one(img, &e, PB_UTSNS);
	if (!err)
		err = img_close(TAKE_PTR(img));
	return err;
}

int utsns_read(int dfd, struct utsns_img **ret)
{
	_cleanup_img_ struct img *img = NULL;
	struct utsns_img *u;
	UtsnsEntry *e = NULL;
	int err;

	err = img_open(dfd, IMG_UTSNS, 0, O_RDONLY, &img);
	if (!err)
		err = pb_read_one_required(img, (void **)&e, PB_UTSNS);
	if (err)
		return err;
	/* What uname() can hold: __NEW_UTS_LEN (64) bytes and the NUL. */
	if (strlen(e->nodename) > 64 || strlen(e->domainname) > 64) {
		pb_free(e, PB_UTSNS);
		return pr_errno(-EBADMSG, "utsns.img: a name longer than 64 bytes");
	}
	u = xzalloc(sizeof(*u));
	if (!u) {
		pb_free(e, PB_UTSNS);
		return -ENOMEM;
	}
	u->e = e;
	*ret = u;
	return 0;
}

int utsns_restore(const struct utsns_img *u)
{
	if (sethostname(u->e->nodename, strlen(u->e->nodename)))
		return pr_errno(-errno, "uts namespace: setting the host name %s", u->e->nodename);
	if (setdomainname(u->e->domainname, strlen(u->e->domainname)))
		return pr_errno(-errno, "uts namespace: setting the domain name %s", u->e->domainname);
	return 0;
}

void utsns_free(struct utsns_img *u)
{
	if (!u)
		return;
	pb_free(u->e, PB_UTSNS);
	free(u);
}
