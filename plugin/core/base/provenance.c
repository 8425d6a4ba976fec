/* SPDX-License-Identifier: GPL-3.0-or-later */
/* provenance.c -- the record of where a FILE.part came from (provenance.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upgrade/fileio.h"
#include "upgrade/provenance.h"

/* A record is a few hundred bytes; room for per-segment progress later. */
#define RECORD_MAX (1024 * 1024)

char *
upg_provenance_path(const char *part_path)
{
  char *path = NULL;
  if (asprintf(&path, "%s%s", part_path, UPG_PROVENANCE_SUFFIX) < 0)
    return NULL;
  return path;
}

/* The text of PATH if it is a regular file of ours, else NULL.  O_NONBLOCK:
 * a FIFO planted there must not block the shell. */
static char *
read_record_text(const char *path, size_t *len)
{
  struct stat st;
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  char *text = NULL;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() && st.st_size < RECORD_MAX)
    text = upg_read_small(fd, RECORD_MAX, len);
  close(fd);
  return text;
}

jv
upg_provenance_read(const char *part_path)
{
  char *path = upg_provenance_path(part_path);
  size_t len = 0;
  char *text = path ? read_record_text(path, &len) : NULL;
  free(path);
  if (!text)
    return jv_invalid();
  jv record = jv_parse_sized(text, (int)len);
  free(text);
  if (jv_get_kind(record) != JV_KIND_OBJECT)
    goto refuse;
  jv version = jv_object_get(jv_copy(record), jv_string("version"));
  jv origin = jv_object_get(jv_copy(record), jv_string("origin"));
  jv segments = jv_object_get(jv_copy(record), jv_string("segments"));
  double v = jv_get_kind(version) == JV_KIND_NUMBER ? jv_number_value(version) : 0;
  bool ok = jv_get_kind(origin) == JV_KIND_OBJECT
            && (v == UPG_PROVENANCE_VERSION
                || (v == UPG_PROVENANCE_SEGMENTED && jv_get_kind(segments) == JV_KIND_OBJECT));
  jv_free(version);
  jv_free(origin);
  jv_free(segments);
  if (ok)
    return record;
refuse:
  jv_free(record);
  return jv_invalid();
}

int
upg_provenance_write(const char *part_path, jv record)
{
  jv text = jv_dump_string(record, 0);
  char *path = upg_provenance_path(part_path);
  int rc = path ? upg_replace_file(path, jv_string_value(text), strlen(jv_string_value(text))) : -1;
  int err = path ? errno : ENOMEM;
  jv_free(text);
  free(path);
  errno = err;
  return rc;
}

void
upg_provenance_remove(const char *part_path)
{
  char *path = upg_provenance_path(part_path);
  if (path)
    unlink(path);
  free(path);
}

jv
upg_provenance_record(jv origin, jv validators)
{
  return JV_OBJECT(jv_string("version"), jv_number(UPG_PROVENANCE_VERSION), jv_string("origin"), origin,
                   jv_string("validators"), validators);
}

jv
upg_provenance_record_segments(jv origin, jv validators, jv segments)
{
  return JV_OBJECT(jv_string("version"), jv_number(UPG_PROVENANCE_SEGMENTED), jv_string("origin"), origin,
                   jv_string("validators"), validators, jv_string("segments"), segments);
}

jv
upg_provenance_segments(jv record)
{
  jv version = jv_object_get(jv_copy(record), jv_string("version"));
  bool segmented = jv_get_kind(version) == JV_KIND_NUMBER && jv_number_value(version) == UPG_PROVENANCE_SEGMENTED;
  jv_free(version);
  return segmented ? jv_object_get(jv_copy(record), jv_string("segments")) : jv_null();
}

jv
upg_provenance_validator(jv validators, const char *field)
{
  if (jv_get_kind(validators) != JV_KIND_OBJECT)
    return jv_invalid();
  return jv_object_get(jv_copy(validators), jv_string(field));
}

/* FIELD is in both A and B and equal, or in neither.  *both says whether
 * both had it. */
static bool
field_agrees(jv a, jv b, const char *field, bool *both)
{
  jv x = upg_provenance_validator(a, field);
  jv y = upg_provenance_validator(b, field);
  bool has_x = jv_is_valid(x) && jv_get_kind(x) != JV_KIND_NULL;
  bool has_y = jv_is_valid(y) && jv_get_kind(y) != JV_KIND_NULL;
  *both = has_x && has_y;
  bool agree = has_x == has_y && (!has_x || jv_equal(jv_copy(x), jv_copy(y)));
  jv_free(x);
  jv_free(y);
  return agree;
}

bool
upg_provenance_same_version(jv a, jv b)
{
  if (jv_get_kind(a) != JV_KIND_OBJECT || jv_get_kind(b) != JV_KIND_OBJECT)
    return false;
  bool size, etag, mtime, lm = false;
  if (!field_agrees(a, b, "size", &size) || !field_agrees(a, b, "etag", &etag)
      || !field_agrees(a, b, "mtime", &mtime))
    return false;
  if (!etag && !field_agrees(a, b, "last_modified", &lm))
    return false;
  return size || etag || mtime || lm;
}
