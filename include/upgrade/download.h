/* SPDX-License-Identifier: GPL-3.0-or-later */
/* download.h -- `download`: one of the files status links to (download.c). */
#ifndef UPGRADE_DOWNLOAD_H
#define UPGRADE_DOWNLOAD_H

#include <stdbool.h>
#include <jv.h>

#include "upgrade/settings.h"

/* Ask status for the URL of WHAT (download_kinds.h), then GET it into OUT
 * (default: the kind's default name) through OUT.part (files.h), resuming
 * a partial file.  An existing OUT is refused (exit 2) unless FORCE.  On
 * success *doc is {"failures": [], "transfer": {…, "what"}}.  Exit 1 when
 * the file is not ready, 2 local file or usage, 3 transport or a lying
 * server, 5 TLS, 128+sig interrupted (the .part stays resumable).  A
 * failure that leaves bytes in OUT.part adds "part": {"file", "bytes"}; a
 * call that resumes a part file says so first ("resuming F.part at N"). */
int upg_download(const upg_settings *s, const char *what, const char *out, bool force, jv *doc);

/* When DOC (a failed download's, borrowed) says a part file keeps bytes:
 * "FILE.part keeps 85.0 MiB" into TEXT, and true. */
bool upg_download_part_kept(jv doc, char *text, size_t len);

#endif
