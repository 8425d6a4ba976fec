/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dir_part.h -- a directory written whole or not at all: where
 * `upgrade dump --format directory` has pg_dump -Fd write.
 *
 * pg_dump writes into OUTPUT.part (made empty, mode 0700: pg_dump -Fd
 * takes an empty directory), renamed to OUTPUT only once it succeeded, so
 * that a killed or failed dump never leaves a directory that looks
 * complete under OUTPUT.  OUTPUT.part.meta (provenance.h's record, written
 * before the directory is made) says the .part is a dump's: a later dump
 * removes such a leftover, and refuses a .part without it.  An existing
 * OUTPUT is refused unless FORCE; even then only a regular file or a
 * directory-format dump (a directory holding toc.dat) is replaced -- never
 * another directory -- by exchanging it with the finished .part
 * (renameat2 RENAME_EXCHANGE) and removing it after.
 */
#ifndef UPGRADE_DIR_PART_H
#define UPGRADE_DIR_PART_H

#include <stdbool.h>
#include <jv.h>

#include "upgrade/settings.h"

typedef struct upg_dir_part {
  char *path;   /* OUTPUT */
  char *part;   /* OUTPUT.part: the directory to write */
  bool made;    /* part (and its record) are ours to remove */
} upg_dir_part;

/* Check OUTPUT, clear our leftover OUTPUT.part, record ORIGIN (consumed)
 * and make OUTPUT.part.  0, or exit 2 with *doc (CLIENT:FILE).  Call
 * upg_dir_part_free in every case. */
int upg_dir_part_begin(upg_dir_part *d, const upg_settings *s, const char *output, jv origin, bool force,
                       jv *doc);
/* OUTPUT.part becomes OUTPUT (see above); the record goes.  0 or exit 2
 * with *doc. */
int upg_dir_part_commit(upg_dir_part *d, const upg_settings *s, jv *doc);
/* Remove OUTPUT.part and its record, when ours. */
void upg_dir_part_discard(upg_dir_part *d);
void upg_dir_part_free(upg_dir_part *d);

#endif
