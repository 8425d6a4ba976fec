/* SPDX-License-Identifier: GPL-3.0-or-later */
/* files.c -- local files of a transfer (see files.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upgrade/fileio.h"
#include "upgrade/files.h"
#include "upgrade/outcome.h"
#include "upgrade/provenance.h"
#include "upgrade/segments.h"

static int
file_error(jv *doc, const char *what, const char *path, int err)
{
  return upg_fail(doc, UPG_EXIT_USAGE,
                  upg_failure("CLIENT:FILE", "%s %s: %s", what, path, strerror(err)));
}

/* The refusal of PART_PATH when open() failed with ERR. */
static int
open_error(jv *doc, const char *part_path, int err)
{
  if (err == ELOOP)
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:FILE", "%s is a symbolic link: refusing to write through it", part_path));
  if (err == ENXIO) /* a FIFO with no reader, under O_NONBLOCK */
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "%s is not a regular file", part_path));
  return file_error(doc, "cannot write", part_path, err);
}

/* Open pf->part_path: a regular file, never through a symlink, without
 * blocking on a FIFO, and not being written by another transfer. */
static int
open_part(upg_partfile *pf, struct stat *st, jv *doc)
{
  /* Segmented: no O_APPEND, under which Linux's pwrite ignores its offset. */
  int append = pf->segmented ? 0 : O_APPEND;
  pf->fd = open(pf->part_path, O_WRONLY | O_CREAT | append | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
  if (pf->fd < 0)
    return open_error(doc, pf->part_path, errno);
  if (fstat(pf->fd, st) != 0 || !S_ISREG(st->st_mode))
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "%s is not a regular file", pf->part_path));
  fcntl(pf->fd, F_SETFL, fcntl(pf->fd, F_GETFL) & ~O_NONBLOCK);
  /* Two transfers appending to one .part would interleave their bytes. */
  if (flock(pf->fd, LOCK_EX | LOCK_NB) != 0)
    return errno == EWOULDBLOCK
      ? upg_fail(doc, UPG_EXIT_USAGE,
                 upg_failure("CLIENT:FILE", "%s is being written by another transfer", pf->part_path))
      : file_error(doc, "cannot lock", pf->part_path, errno);
  return 0;
}

static int
record(upg_partfile *pf)
{
  pf->holes_ok = false;
  return upg_provenance_write(pf->part_path, upg_provenance_record(jv_copy(pf->origin), jv_copy(pf->validators)));
}

int
upg_partfile_record_segments(upg_partfile *pf, jv segments)
{
  jv rec = upg_provenance_record_segments(jv_copy(pf->origin), jv_copy(pf->validators), segments);
  if (upg_provenance_write(pf->part_path, rec) != 0)
    return -1;
  if (!pf->holes_ok) /* parallel streams read it as they write: set once, before they start */
    pf->holes_ok = true;
  return 0;
}

/* A one-stream transfer adopts a segmented .part: only its done prefix
 * (SEGS) is a contiguous prefix.  Each step leaves a true record on disk:
 * first a version 2 record of the prefix alone, then the cut, then the
 * version 1 record the cut file deserves.  The prefix's size, or -1. */
static off_t
cut_to_prefix(upg_partfile *pf, jv segs)
{
  upg_segments sg, only;
  long long prefix = 0; /* a damaged record of ours: nothing in it is trusted */
  int rc = 0;
  if (upg_segments_from_jv(&sg, segs) == 0) {
    prefix = upg_segments_done_prefix(&sg);
    rc = upg_segments_init(&only, sg.size, sg.chunk);
    if (rc == 0) {
      upg_segments_done_before(&only, prefix);
      rc = upg_partfile_record_segments(pf, upg_segments_to_jv(&only));
      upg_segments_free(&only);
    }
    upg_segments_free(&sg);
  }
  if (rc != 0 || ftruncate(pf->fd, prefix) != 0 || record(pf) != 0)
    return -1;
  return prefix;
}

int
upg_partfile_unsegment(upg_partfile *pf, jv segments)
{
  if (!pf->holes_ok) {
    jv_free(segments);
    return 0;
  }
  off_t prefix = cut_to_prefix(pf, segments);
  if (prefix < 0)
    return -1;
  pf->end = pf->flushed = prefix;
  if (pf->resume_from > prefix)
    pf->resume_from = prefix;
  return 0;
}

/* SEGS (borrowed), a record's "segments", can describe a .part of SIZE
 * bytes: sound, and no chunk it calls done ends past SIZE. */
static bool
segments_fit(jv segs, off_t size)
{
  upg_segments sg;
  if (upg_segments_from_jv(&sg, jv_copy(segs)) != 0)
    return false;
  bool fit = upg_segments_done_end(&sg) <= (long long)size;
  upg_segments_free(&sg);
  return fit;
}

/* The bytes of the .part (SIZE of them) that REC, a record of this
 * origin, vouches for: the prefix a one-stream transfer continues; for a
 * segmented one, the record's segments go to pf->segments.  A version 2
 * record of chunks the file cannot hold (cut shorter by something else:
 * reading them back would give a hole's zeros) vouches for nothing.  -1
 * on a write error. */
static off_t
held(upg_partfile *pf, jv rec, off_t size)
{
  jv segs = upg_provenance_segments(rec);
  if (jv_get_kind(segs) != JV_KIND_OBJECT) {
    jv_free(segs);
    return size;
  }
  if (!segments_fit(segs, size)) {
    jv_free(segs);
    upg_notice(pf->s, "%s holds less than its record says; downloading from zero", pf->part_path);
    return ftruncate(pf->fd, 0) == 0 && record(pf) == 0 ? 0 : -1;
  }
  if (pf->segmented) {
    pf->segments = segs;
    pf->holes_ok = true;
    return size;
  }
  return cut_to_prefix(pf, segs);
}

/* Decide what the bytes already in the .part (SIZE of them) are worth:
 * kept when the record says they come from this origin, else dropped --
 * but a .part without a record may be the user's: dropped only if FORCE. */
static int
adopt(upg_partfile *pf, off_t size, bool force, jv *doc)
{
  jv rec = size > 0 ? upg_provenance_read(pf->part_path) : jv_invalid();
  bool ours = jv_is_valid(rec);
  bool same = ours && jv_equal(jv_object_get(jv_copy(rec), jv_string("origin")), jv_copy(pf->origin));

  if (same) {
    jv v = jv_object_get(jv_copy(rec), jv_string("validators"));
    pf->validators = jv_get_kind(v) == JV_KIND_OBJECT ? v : (jv_free(v), jv_null());
    size = held(pf, rec, size);
    jv_free(rec);
    if (size < 0)
      return file_error(doc, "cannot write the record", pf->part_path, errno);
    pf->resume_from = pf->end = pf->flushed = size;
    pf->owned = true;
    return 0;
  }
  jv_free(rec);
  if (size > 0 && !ours && !force)
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:FILE", "%s holds %lld bytes that no download of ours recorded (no %s%s): "
                                "remove it, or use --force to download from zero",
                                pf->part_path, (long long)size, pf->part_path, UPG_PROVENANCE_SUFFIX));
  if (size > 0)
    upg_notice(pf->s, "%s holds the start of %s; downloading from zero", pf->part_path,
               ours ? "another download" : "an unknown file");
  if (size > 0 && ftruncate(pf->fd, 0) != 0)
    return file_error(doc, "cannot truncate", pf->part_path, errno);
  pf->owned = true;
  if (record(pf) != 0)
    return file_error(doc, "cannot write the record", pf->part_path, errno);
  return 0;
}

static int
open_mode(upg_partfile *pf, const upg_settings *s, const char *path, jv origin, bool force, bool segmented,
          jv *doc)
{
  struct stat st;

  memset(pf, 0, sizeof *pf);
  pf->s = s;
  pf->fd = -1;
  pf->origin = origin;
  pf->validators = jv_null();
  pf->segments = jv_null();
  pf->segmented = segmented;
  if (lstat(path, &st) == 0) {
    if (!force) {
      upg_partfile_abandon(pf);
      return upg_fail(doc, UPG_EXIT_USAGE,
                      upg_failure("CLIENT:FILE", "%s already exists (use --force to replace it)", path));
    }
    if (S_ISDIR(st.st_mode)) {
      upg_partfile_abandon(pf);
      return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "%s is a directory", path));
    }
  }
  pf->path = strdup(path);
  if (pf->path)
    pf->part_path = malloc(strlen(path) + sizeof ".part");
  if (!pf->part_path) {
    upg_partfile_abandon(pf);
    return file_error(doc, "cannot open", path, ENOMEM);
  }
  strcat(strcpy(pf->part_path, path), ".part");
  int status = open_part(pf, &st, doc);
  if (status || (status = adopt(pf, st.st_size, force, doc)))
    upg_partfile_abandon(pf);
  return status;
}

int
upg_partfile_open(upg_partfile *pf, const upg_settings *s, const char *path, jv origin, bool force, jv *doc)
{
  return open_mode(pf, s, path, origin, force, false, doc);
}

int
upg_partfile_open_segmented(upg_partfile *pf, const upg_settings *s, const char *path, jv origin, bool force,
                            jv *doc)
{
  return open_mode(pf, s, path, origin, force, true, doc);
}

int
upg_partfile_truncate(upg_partfile *pf, off_t size)
{
  if (size >= pf->end)
    return 0;
  if (ftruncate(pf->fd, size) != 0)
    return -1;
  pf->end = pf->flushed = size;
  if (pf->resume_from > size)
    pf->resume_from = size;
  return 0;
}

int
upg_partfile_restart(upg_partfile *pf, jv validators)
{
  jv_free(pf->validators);
  pf->validators = validators;
  if (upg_partfile_truncate(pf, 0) != 0)
    return -1;
  return record(pf);
}

int
upg_partfile_version(upg_partfile *pf, jv validators)
{
  if (upg_provenance_same_version(pf->validators, validators)) {
    jv_free(validators);
    return UPG_PART_SAME;
  }
  bool had = pf->end > 0;
  if (had)
    upg_notice(pf->s, "the remote file changed since %s was started; downloading from zero", pf->part_path);
  if (upg_partfile_restart(pf, validators) != 0)
    return -1;
  return had ? UPG_PART_RESTARTED : UPG_PART_SAME;
}

/* Dirty bytes allowed to pile up before their writeback is started. */
#define WRITE_BEHIND (8L * 1024 * 1024)

int
upg_partfile_write(upg_partfile *pf, const void *buf, size_t len)
{
  /* Segmented: no O_APPEND, so at the end explicitly. */
  if (upg_write_counting(pf->fd, buf, len, pf->segmented ? pf->end : -1, &pf->end) != 0)
    return -1;
#ifdef SYNC_FILE_RANGE_WRITE
  /* The commit must fsync (a renamed dump has to be complete even after a
   * crash).  Left alone, the kernel writes back late and that fsync waits
   * for hundreds of MiB at the end; starting it as we go overlaps the disk
   * with the network.  Only a hint: a failure here changes nothing. */
  if (pf->end - pf->flushed >= WRITE_BEHIND) {
    (void)sync_file_range(pf->fd, pf->flushed, pf->end - pf->flushed, SYNC_FILE_RANGE_WRITE);
    pf->flushed = pf->end;
  }
#endif
  return 0;
}

int
upg_partfile_pwrite(upg_partfile *pf, const void *buf, size_t len, off_t offset)
{
  /* Under a version 1 record, only the prefix may grow: it would call
   * holes part of it. */
  if (!pf->segmented || (!pf->holes_ok && offset != pf->end)) {
    errno = EINVAL;
    return -1;
  }
  off_t done = 0;
  int rc = upg_write_counting(pf->fd, buf, len, offset, &done);
  pf->unhinted += done;
  if (offset + done > pf->end)
    pf->end = offset + done;
  if (rc != 0)
    return -1;
#ifdef SYNC_FILE_RANGE_WRITE
  /* As upg_partfile_write: start the writeback as we go (a hint). */
  if (pf->unhinted >= WRITE_BEHIND) {
    (void)sync_file_range(pf->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    pf->unhinted = 0;
  }
#endif
  return 0;
}

int
upg_partfile_sync(upg_partfile *pf)
{
  return fdatasync(pf->fd) != 0 && errno != EINVAL ? -1 : 0;
}

int
upg_partfile_commit(upg_partfile *pf, jv *doc)
{
  int status = 0;

  /* fsync before the rename: a file under its final name is on disk. */
  if (fsync(pf->fd) != 0 && errno != EINVAL)
    status = file_error(doc, "cannot write", pf->part_path, errno);
  if (close(pf->fd) != 0 && !status)
    status = file_error(doc, "cannot write", pf->part_path, errno);
  pf->fd = -1;
  if (status)
    goto out;
  if (rename(pf->part_path, pf->path) != 0) {
    status = file_error(doc, "cannot rename to", pf->path, errno);
    goto out;
  }
  upg_provenance_remove(pf->part_path);
out:
  upg_partfile_abandon(pf);
  return status;
}

/* An empty .part has nothing to resume: remove it and its record, if the
 * name still leads to the file we hold. */
static void
remove_if_empty(upg_partfile *pf)
{
  struct stat held, named;
  if (!pf->owned || pf->end != 0 || fstat(pf->fd, &held) != 0 || lstat(pf->part_path, &named) != 0
      || held.st_dev != named.st_dev || held.st_ino != named.st_ino || named.st_size != 0)
    return;
  unlink(pf->part_path);
  upg_provenance_remove(pf->part_path);
}

void
upg_partfile_abandon(upg_partfile *pf)
{
  if (pf->fd >= 0) {
    remove_if_empty(pf);
    close(pf->fd);
  }
  pf->fd = -1;
  free(pf->path);
  free(pf->part_path);
  pf->path = pf->part_path = NULL;
  jv_free(pf->origin);
  jv_free(pf->validators);
  jv_free(pf->segments);
  pf->origin = pf->validators = pf->segments = jv_null();
}

int
upg_input_open(const char *path, int *fd, off_t *size, jv *doc)
{
  struct stat st;

  /* O_NONBLOCK: opening a FIFO would otherwise wait for a writer. */
  *fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (*fd < 0)
    return file_error(doc, "cannot read", path, errno);
  fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) & ~O_NONBLOCK);
  if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(*fd);
    *fd = -1;
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:FILE", "%s is not a regular file", path));
  }
  *size = st.st_size;
  return 0;
}

jv
upg_transfer_summary(const char *file, long long bytes, long long resumed_from,
                     long long size, double seconds)
{
  return JV_OBJECT(jv_string("file"), jv_string(file),
                   jv_string("bytes"), jv_number((double)bytes),
                   jv_string("resumed_from"), jv_number((double)resumed_from),
                   jv_string("size"), jv_number((double)size),
                   jv_string("seconds"), jv_number(upg_round_ms(seconds)));
}

jv
upg_transfer_streams(jv summary, int asked, const long long *per_stream, int given_up)
{
  jv per = jv_array();
  int used = 0;
  for (int i = 0; i < asked; i++) {
    per = jv_array_append(per, jv_number((double)per_stream[i]));
    used += per_stream[i] > 0;
  }
  jv streams = JV_OBJECT(jv_string("asked"), jv_number(asked), jv_string("used"), jv_number(used));
  if (given_up > 0)
    streams = jv_object_set(streams, jv_string("given_up"), jv_number(given_up));
  summary = jv_object_set(summary, jv_string("streams"), streams);
  return jv_object_set(summary, jv_string("per_stream"), per);
}

/* $HOME, or the password database's idea of it when HOME is unset. */
static const char *
home_dir(void)
{
  const char *h = getenv("HOME");
  if (h && *h)
    return h;
  struct passwd *pw = getpwuid(getuid());
  return pw ? pw->pw_dir : NULL;
}

/* Malloc'd "HOME/REL", or NULL when there is no home. */
char *
upg_home_path(const char *rel)
{
  const char *h = home_dir();
  char *p = NULL;
  if (h && asprintf(&p, "%s/%s", h, rel) < 0)
    p = NULL;
  return p;
}
