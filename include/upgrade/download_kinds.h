/* SPDX-License-Identifier: GPL-3.0-or-later */
/* download_kinds.h -- the files `download --what` knows (pure, shared by
 * the command line, which validates --what, and download.c). */
#ifndef UPGRADE_DOWNLOAD_KINDS_H
#define UPGRADE_DOWNLOAD_KINDS_H

#include <stdbool.h>

struct upg_download_kind {
  const char *what;      /* --what */
  const char *field;     /* status field with its URL */
  const char *prefix;    /* default name: prefix + filename (or id) + suffix */
  const char *suffix;
  bool by_id;            /* the default name is built on the request id */
  bool needs_done;       /* exists only once the upgrade is done */
};

/* The kind called WHAT, or NULL. */
const struct upg_download_kind *upg_download_kind(const char *what);

/* K's default output name for a request with FILENAME and ID (malloc'd),
 * e.g. upgraded-dump -> "upgraded_<filename>".  Only the last component of
 * a server-given name is used; NULL when nothing usable is left. */
char *upg_download_default_name(const struct upg_download_kind *k, const char *filename, const char *id);

#endif
