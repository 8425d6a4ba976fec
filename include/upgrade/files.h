/* SPDX-License-Identifier: GPL-3.0-or-later */
/* files.h -- local files a transfer reads or writes.
 *
 * Downloads (HTTPS and SFTP alike) write FILE.part, created mode 0600 and
 * never through a symlink, append to it when it already holds a prefix of
 * the same remote file, and rename it to FILE only when complete: an
 * interrupted download leaves a .part to resume and never a
 * finished-looking FILE.
 *
 * Which prefix is "of the same remote file" is decided here, for both
 * transports: FILE.part.meta records where its bytes came from (see
 * provenance.h).  A .part is continued only by the same origin and, once
 * the server has answered, the same version (upg_partfile_version); a
 * .part of another origin is started over; a non-empty .part without a
 * record is not ours to destroy: refused unless --force.
 *
 * A parallel transfer opens its .part "segmented": no O_APPEND, bytes
 * written at their offsets (upg_partfile_pwrite), and what is held is
 * told by the record's "segments" (provenance.h version 2), not by the
 * size.  A one-stream transfer that finds a segmented .part keeps only
 * its done prefix.  A record of chunks the .part is too short to hold
 * (cut by something else) vouches for nothing: the .part is emptied.
 */
#ifndef UPGRADE_FILES_H
#define UPGRADE_FILES_H

#include <stdbool.h>
#include <sys/types.h>
#include <jv.h>

#include "upgrade/settings.h"

typedef struct upg_partfile {
  const upg_settings *s; /* for notices */
  char *path;        /* FILE, the name it gets when complete */
  char *part_path;   /* FILE.part */
  int fd;            /* open on part_path, positioned at its end, locked */
  bool owned;        /* part_path is our regular file, recorded beside */
  off_t resume_from; /* bytes kept from an earlier call; 0 once started over */
  off_t end;         /* size of the part file: resume_from + bytes written */
  off_t flushed;     /* bytes before this offset were handed to writeback */
  jv origin;         /* what this transfer fetches (provenance.h) */
  jv validators;     /* the recorded version of the bytes held, or null */
  bool segmented;    /* opened by upg_partfile_open_segmented */
  jv segments;       /* segmented: the recorded "segments", or null */
  bool holes_ok;     /* a version 2 record is on disk: writes may leave holes */
  off_t unhinted;    /* segmented: bytes written since the last writeback hint */
} upg_partfile;

/* Open PATH.part for the transfer ORIGIN (a JSON object, consumed; see
 * provenance.h).  Refuses (exit 2, CLIENT:FILE) a PATH that already exists
 * unless FORCE, a missing directory, a symlink, FIFO or other non-regular
 * file at PATH.part (without blocking), a .part another transfer is
 * writing, and a non-empty .part of unknown origin unless FORCE.  A .part
 * of another origin is emptied (with a notice).  Returns 0 or an exit
 * status with *doc set. */
int upg_partfile_open(upg_partfile *pf, const upg_settings *s, const char *path, jv origin, bool force,
                      jv *doc);

/* The same for a parallel transfer: the .part is opened without
 * O_APPEND; pf->segments is the recorded "segments" of a version 2 record
 * (the caller rebuilds its chunks from it), or null, when pf->end bytes
 * are a contiguous prefix (a version 1 record, or none). */
int upg_partfile_open_segmented(upg_partfile *pf, const upg_settings *s, const char *path, jv origin, bool force,
                                jv *doc);
/* Record SEGMENTS (consumed; upg_segments_to_jv) with the origin and the
 * validators: a version 2 record, which must be on disk before any byte
 * is written off the prefix.  0 or -1 (errno). */
int upg_partfile_record_segments(upg_partfile *pf, jv segments);
/* Write BUF at OFFSET of a segmented part file, whole (EINTR, short
 * writes); pf->end becomes the highest byte written.  EINVAL for a write
 * that would leave a hole unless a version 2 record is on disk.
 * (upg_partfile_write appends to a segmented file too.)  0 or -1. */
int upg_partfile_pwrite(upg_partfile *pf, const void *buf, size_t len, off_t offset);
/* Back to one stream: a .part under a version 2 record keeps the done
 * prefix of SEGMENTS (consumed) and gets a version 1 record; pf->end is
 * then its size.  Nothing to do under a version 1 record.  0 or -1. */
int upg_partfile_unsegment(upg_partfile *pf, jv segments);
/* Make every byte written durable (fdatasync): before chunks are claimed
 * done in the record.  0 or -1 (errno). */
int upg_partfile_sync(upg_partfile *pf);

enum upg_part_version {
  UPG_PART_SAME,      /* the bytes held (maybe none) continue this version */
  UPG_PART_RESTARTED  /* they were of another version: emptied */
};
/* The server describes the remote file with VALIDATORS (consumed): keep
 * the bytes held if they are of that version (upg_provenance_same_version),
 * else empty the file; either way the record now holds VALIDATORS.
 * An enum upg_part_version, or -1 with errno. */
int upg_partfile_version(upg_partfile *pf, jv validators);
/* Start again from zero with the version VALIDATORS (consumed), recorded
 * before any byte of it is written (as a version 1 record: an empty file
 * holds nothing, whatever the transfer).  0 or -1 (errno). */
int upg_partfile_restart(upg_partfile *pf, jv validators);
/* Cut the part file back to SIZE bytes (what an answer found bad had
 * added).  0 or -1 (errno). */
int upg_partfile_truncate(upg_partfile *pf, off_t size);
/* Append BUF to the part file; pf->end counts what reached the file even
 * when a later piece fails (a file-size limit hit part-way).  Every few
 * MiB it also starts the kernel's writeback of what was written, so the
 * fsync of upg_partfile_commit finds little left to do.  0 or -1 (errno). */
int upg_partfile_write(upg_partfile *pf, const void *buf, size_t len);
/* Flush, close, rename to the final name and remove the record.  0 or an
 * exit status with *doc. */
int upg_partfile_commit(upg_partfile *pf, jv *doc);
/* Close, keeping a non-empty .part (and its record) for a later resume; an
 * empty one is removed with its record.  Frees what PF holds. */
void upg_partfile_abandon(upg_partfile *pf);

/* Open PATH for reading: it must be a readable regular file.  Sets *fd and
 * *size; returns 0 or exit 2 with a CLIENT:FILE failure in *doc. */
int upg_input_open(const char *path, int *fd, off_t *size, jv *doc);

/* Small reads, whole writes and atomic replacement are below this unit,
 * in fileio.h (provenance.h builds on them too). */

/* The "transfer" summary printed after an upload or a download:
 * {"file":…, "bytes":…, "resumed_from":…, "size":…, "seconds":…}.
 * Extra fields can be added by the caller with jv_object_set. */
jv upg_transfer_summary(const char *file, long long bytes,
                        long long resumed_from, long long size, double seconds);
/* SUMMARY (consumed) with the streams of a transfer: "streams": {asked,
 * used[, given_up]} and "per_stream", the bytes each of the ASKED streams
 * moved (used: those that moved any). */
jv upg_transfer_streams(jv summary, int asked, const long long *per_stream, int given_up);

/* "$HOME/REL" (the password database's home when HOME is unset), malloc'd;
 * NULL when there is no home. */
char *upg_home_path(const char *rel);

#endif
