#ifndef CR_FILES_REMAP_H
#define CR_FILES_REMAP_H

/*
 * --link-remap (criu's): an open file whose path names another file now
 * (renamed over, replaced), but that still has a name elsewhere (another
 * hard link), cannot be reopened by its path, and saving its content
 * would split it from that other link. The dump makes a hard link of its
 * own to it next to its path, PATH's directory/.cr-link-remap.DEV.INO;
 * restore opens the file there and removes that link once the tree is
 * live (a failed restore leaves it for the next one; so does a dump
 * with --leave-running, for a restore of its images). The restored fd then shows that name (deleted) in /proc.
 */
#include "files-kind.h"

/*
 * Dump: @d's file, whose path @path (" (deleted)" removed) names another
 * file: the link made (or found, for another fd of the file), its tree
 * path into r->link_remap. -ENOTSUP (refused, logged) without
 * --link-remap or for a file that cannot be linked; else 0 or -errno.
 */
int link_remap_dump(const struct fd_dump *d, const char *path, const char *why, RegFileEntry *r);

/* The dump is over: its links stay for the restore, or go after a failure (@failed). */
#include <stdbool.h>
void link_remap_dump_end(bool failed);

/*
 * Restore: @fd (cr's) was opened through @r's link; the links go once
 * the tree is live (link_remap_restore_end(true)); after a failed
 * restore they stay, for the next one. 0 or -errno, logged.
 */
int link_remap_opened(const RegFileEntry *r, int fd);
void link_remap_restore_end(bool live);

#endif
