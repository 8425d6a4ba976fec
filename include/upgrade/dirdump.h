/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dirdump.h -- what `upgrade restore DIR` reads when DIR is a directory:
 * a directory-format dump (pg_dump -Fd: toc.dat and its data files), or
 * the rpc platform's download directory holding one beside filestore/,
 * upgrade-report.html and upgrade.log.
 *
 * The download is the platform's: every entry under DIR is looked at
 * (lstat, never followed) before anything is made, and a symbolic link,
 * a FIFO, a socket or a device anywhere under it is refused -- a link in
 * the dump would have pg_restore load a file from elsewhere, one in
 * filestore/ would copy a file from elsewhere into the attachments Odoo
 * serves.  The dump is found by its toc.dat: DIR itself, or one directory
 * directly inside DIR; none, or two or more, are refused (only one can be
 * what the platform meant).  DIR itself may be a symlink: the user named
 * it.
 */
#ifndef UPGRADE_DIRDUMP_H
#define UPGRADE_DIRDUMP_H

#include <jv.h>

typedef struct upg_dirdump {
  char *dump;              /* the directory dump: DIR, or DIR/NAME */
  char *toc;               /* its toc.dat */
  char *filestore;         /* DIR/filestore when DIR holds the dump and a
                              filestore/ directory, else NULL */
  long long filestore_files; /* regular files under it */
  char *report;            /* DIR/upgrade-report.html, when a regular file */
  char *log;               /* DIR/upgrade.log, when a regular file */
} upg_dirdump;

/* Read DIR as above into D (its strings malloc'd; upg_dirdump_free in
 * every case).  0, or exit 2 with *doc (CLIENT:FILE) naming what is
 * refused. */
int upg_dirdump_read(const char *dir, upg_dirdump *d, jv *doc);
void upg_dirdump_free(upg_dirdump *d);

#endif
