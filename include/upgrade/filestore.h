/* SPDX-License-Identifier: GPL-3.0-or-later */
/* filestore.h -- the Odoo filestore of a restored database.
 *
 * Odoo keeps attachments in DATA_DIR/filestore/<dbname>/ (ir_attachment's
 * store_fname, e.g. "ab/abcdef…", is relative to it).  A restore builds
 * the new database's filestore in DATA_DIR/filestore/NEW.part:
 *   1. a copy of the source database's filestore that shares no inode with
 *      it, so that a later chmod, chown or in-place write under NEW never
 *      changes the source's files: each file a reflink (FICLONE: btrfs,
 *      XFS, bcachefs; as fast as a link, its blocks shared copy-on-write)
 *      where the filesystem has them, else copied (copy_file_range, else
 *      read/write).  Only when the caller asks (--filestore-link) hard
 *      links where the filesystem allows: no space and no time, but the
 *      two filestores then share those files;
 *   2. the archive's files (a zip's, or a download directory's) laid over it: a file that is there already is
 *      unlinked first and written anew, so the source's file behind a hard
 *      link is never written through;
 *   3. renamed to NEW once the database is complete.
 * Files are made mode 0600, directories 0700.  NEW.part holds a marker file
 * (.upgrade-restore) while it is ours: a later restore removes such a
 * leftover, and refuses a NEW.part without it, and any existing NEW.
 */
#ifndef UPGRADE_FILESTORE_H
#define UPGRADE_FILESTORE_H

#include <stdbool.h>
#include <jv.h>

#include "upgrade/settings.h"

typedef struct upg_filestore {
  char *dir;             /* DATA_DIR/filestore/NEW */
  char *part;            /* DATA_DIR/filestore/NEW.part */
  long long copied;      /* files taken from the source filestore */
  long long reflinked;   /* of which reflinks (no inode shared) */
  long long linked;      /* of which hard links (shared: --filestore-link) */
  long long from_archive;/* files written from the archive */
} upg_filestore;

/* The data dir: DATA_DIR, else ~/.local/share/Odoo (malloc'd, or NULL). */
char *upg_filestore_data_dir(const char *data_dir);

/* Check and prepare NEW.part (see above).  0, or exit 2 with *doc set
 * (CLIENT:FILE: NEW exists, a foreign NEW.part, a directory we cannot
 * write).  Call upg_filestore_free in every case. */
int upg_filestore_begin(upg_filestore *fs, const char *data_dir, const char *name, jv *doc);

/* Step 1 from DATA_DIR/filestore/SOURCE (a missing one is a notice, not a
 * failure): copies, or with LINK hard links where the filesystem allows.
 * The files copied or reflinked are new inodes, mode 0600, owned by the
 * caller; the linked ones are the source's inodes (its mode and owner).
 * 0, 128+sig, or an exit status with *doc. */
int upg_filestore_copy_from(upg_filestore *fs, const upg_settings *s, const char *data_dir,
                            const char *source, bool link, jv *doc);

/* Step 2 from a directory SOURCE (the rpc platform's download's
 * filestore/, whose entries dirdump.h checked): each file copied (a new
 * inode: a reflink where the filesystem has them, else a copy; never a
 * link), replacing one step 1 put there; counted in from_archive.  0,
 * 128+sig, or an exit status with *doc. */
int upg_filestore_lay_over(upg_filestore *fs, const upg_settings *s, const char *source, jv *doc);

/* Step 2 for one file: REL (already checked with upg_archive_path_safe)
 * is created anew in NEW.part; *fd is open for writing it.  0 or exit
 * status with *doc. */
int upg_filestore_create(upg_filestore *fs, const char *rel, int *fd, jv *doc);
/* REL is a directory of the archive: make it (0700). */
int upg_filestore_mkdir(upg_filestore *fs, const char *rel, jv *doc);

/* Step 3: NEW.part becomes NEW.  0 or exit status with *doc. */
int upg_filestore_commit(upg_filestore *fs, jv *doc);
/* Undo step 3 (the database could not be renamed after all). */
void upg_filestore_uncommit(upg_filestore *fs);
/* Remove NEW.part (ours: it was made by begin). */
void upg_filestore_discard(upg_filestore *fs);
void upg_filestore_free(upg_filestore *fs);

#endif
