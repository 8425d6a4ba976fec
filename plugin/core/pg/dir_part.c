/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dir_part.c -- a directory written whole or not at all (see dir_part.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upgrade/dir_part.h"
#include "upgrade/fileio.h"
#include "upgrade/outcome.h"
#include "upgrade/provenance.h"

static int __attribute__((format(printf, 3, 4)))
part_fail(jv *doc, int err, const char *fmt, ...)
{
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return upg_fail(doc, UPG_EXIT_USAGE, err ? upg_failure("CLIENT:FILE", "%s: %s", what, strerror(err))
                                           : upg_failure("CLIENT:FILE", "%s", what));
}

/* What --force may replace: a file, a symlink (itself, not what it points
 * at), or a directory-format dump.  Never any other directory. */
static bool
replaceable(const char *path, const struct stat *st)
{
  if (!S_ISDIR(st->st_mode))
    return true;
  char *toc = NULL;
  struct stat t;
  bool dump = asprintf(&toc, "%s/toc.dat", path) >= 0 && lstat(toc, &t) == 0 && S_ISREG(t.st_mode);
  free(toc);
  return dump;
}

static int
check_output(const upg_dir_part *d, bool force, jv *doc)
{
  struct stat st;
  if (lstat(d->path, &st) != 0)
    return errno == ENOENT ? 0 : part_fail(doc, errno, "cannot look at %s", d->path);
  if (!force)
    return part_fail(doc, 0, "%s exists: choose another -o, or --force to replace it", d->path);
  if (!replaceable(d->path, &st))
    return part_fail(doc, 0, "%s is a directory but no directory-format dump (no toc.dat): --force replaces "
                     "only a file or a dump, never another directory", d->path);
  return 0;
}

/* A .part with our record is a killed dump's: removed.  Anyone else's is
 * refused (an empty directory is needed, and it is not ours to empty). */
static int
clear_leftover(const upg_dir_part *d, const upg_settings *s, jv *doc)
{
  struct stat st;
  if (lstat(d->part, &st) != 0)
    return errno == ENOENT ? 0 : part_fail(doc, errno, "cannot look at %s", d->part);
  jv rec = upg_provenance_read(d->part);
  jv origin = jv_is_valid(rec) ? jv_object_get(jv_copy(rec), jv_string("origin")) : jv_invalid();
  jv format = jv_is_valid(origin) && jv_get_kind(origin) == JV_KIND_OBJECT
              ? jv_object_get(jv_copy(origin), jv_string("format")) : jv_invalid();
  bool ours = S_ISDIR(st.st_mode) && jv_get_kind(format) == JV_KIND_STRING
              && strcmp(jv_string_value(format), "directory") == 0;
  jv_free(format);
  jv_free(origin);
  jv_free(rec);
  if (!ours)
    return part_fail(doc, 0, "%s exists and was not left by upgrade dump: move it away first", d->part);
  upg_notice(s, "removing %s, left by an interrupted dump", d->part);
  if (upg_remove_tree(d->part) != 0)
    return part_fail(doc, errno, "cannot remove %s", d->part);
  upg_provenance_remove(d->part);
  return 0;
}

int
upg_dir_part_begin(upg_dir_part *d, const upg_settings *s, const char *output, jv origin, bool force, jv *doc)
{
  memset(d, 0, sizeof *d);
  d->path = strdup(output);
  if (!d->path || asprintf(&d->part, "%s.part", output) < 0) {
    d->part = NULL;
    jv_free(origin);
    return part_fail(doc, ENOMEM, "%s", output);
  }
  int status;
  if ((status = check_output(d, force, doc)) || (status = clear_leftover(d, s, doc))) {
    jv_free(origin);
    return status;
  }
  /* The record first: a .part directory without one is never ours. */
  if (upg_provenance_write(d->part, upg_provenance_record(origin, jv_null())) != 0)
    return part_fail(doc, errno, "cannot write the record of %s", d->part);
  if (mkdir(d->part, 0700) != 0) {
    int err = errno;
    upg_provenance_remove(d->part);
    return part_fail(doc, err, "cannot create the directory %s", d->part);
  }
  d->made = true;
  return 0;
}

int
upg_dir_part_commit(upg_dir_part *d, const upg_settings *s, jv *doc)
{
  if (renameat2(AT_FDCWD, d->part, AT_FDCWD, d->path, RENAME_NOREPLACE) == 0) {
    upg_provenance_remove(d->part);
    d->made = false;
    return 0;
  }
  if (errno != EEXIST)
    return part_fail(doc, errno, "cannot rename %s to %s", d->part, d->path);
  /* --force (checked at the start, and again now): the old OUTPUT leaves
   * by the .part's name, and is removed there. */
  struct stat st;
  if (lstat(d->path, &st) == 0 && !replaceable(d->path, &st))
    return part_fail(doc, 0, "%s became a directory that is no dump while pg_dump ran: refusing to "
                     "replace it", d->path);
  if (renameat2(AT_FDCWD, d->part, AT_FDCWD, d->path, RENAME_EXCHANGE) != 0)
    return part_fail(doc, errno, "cannot put %s in the place of %s", d->part, d->path);
  if (upg_remove_tree(d->part) != 0)
    upg_notice(s, "could not remove the replaced %s (now %s): %s", d->path, d->part, strerror(errno));
  upg_provenance_remove(d->part);
  d->made = false;
  return 0;
}

void
upg_dir_part_discard(upg_dir_part *d)
{
  if (!d->made)
    return;
  /* pg_dump's workers may outlive their leader a moment: a .part that
   * could not be removed keeps its record, for the next dump to remove. */
  if (upg_remove_tree(d->part) == 0)
    upg_provenance_remove(d->part);
  d->made = false;
}

void
upg_dir_part_free(upg_dir_part *d)
{
  free(d->path);
  free(d->part);
  d->path = d->part = NULL;
}
