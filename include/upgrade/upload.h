/* SPDX-License-Identifier: GPL-3.0-or-later */
/* upload.h -- the `upload` method (upload.c). */
#ifndef UPGRADE_UPLOAD_H
#define UPGRADE_UPLOAD_H

#include <jv.h>

#include "upgrade/settings.h"

/* Stream PATH (a readable regular file) as application/octet-stream, with
 * its Content-Length; memory stays flat whatever its size.  Retried from
 * the start as --retry says.  On success *doc is the platform's answer
 * plus a "transfer" summary.  Exit 2 for the local file, 3 transport,
 * 5 TLS, 128+sig interrupted. */
int upg_api_upload(const upg_settings *s, const char *path, jv *doc);

/* Whether PATH looks like a dump the platform takes, from its first bytes
 * (pg.h's upg_dump_plausible): checked before anything is sent (upload,
 * sftp-put, run).  0, or exit 2 with *doc (CLIENT:FILE, what it looks
 * like).  An empty file passes: the caller says "empty". */
int upg_upload_check_input(const char *path, jv *doc);
/* The same on FD, already open on PATH (its offset untouched): the bytes
 * checked are those that will be sent. */
int upg_upload_check_fd(int fd, const char *path, jv *doc);

#endif
