/* SPDX-License-Identifier: GPL-3.0-or-later */
/* provenance.h -- where the bytes of a FILE.part came from.
 *
 * A partial download may be continued only by the transfer that started
 * it: the same origin (the platform, the request and the kind of file; or
 * the SFTP account, the request and the remote path) and the same version
 * of the remote file (its validators).  Anything else would splice the
 * head of one file onto the tail of another.
 *
 * The record is a sidecar, FILE.part.meta, mode 0600, in FILE.part's
 * directory: one JSON object
 *
 *   {"version": 1,
 *    "origin": {...},          compared whole (jv_equal)
 *    "validators": {...}}      "etag", "last_modified", "size" (the whole
 *                              remote file), "mtime" (SFTP); null when the
 *                              server has not answered yet
 *
 * written to a fresh temporary file in the same directory (O_EXCL, 0600)
 * and renamed over the old record, so a reader sees a whole record or the
 * previous one, and a symlink planted at the name is replaced, never
 * followed.  This reader ignores fields it does not know, and refuses a
 * "version" it does not know, which makes the .part one of unknown origin.
 *
 * Two versions, because the size of the .part means two things:
 *
 *   1  a one-stream transfer: the .part is a contiguous prefix of the
 *      remote file, its size is what is held;
 *   2  a parallel transfer: the .part has holes and its size means
 *      nothing; "segments" (segments.h) lists the chunks held, each
 *      claimed only once its bytes were made durable.
 *
 * A version 1 record never describes a .part with holes: a parallel
 * transfer writes its version 2 record before its first byte off the
 * prefix (files.h enforces it), and a one-stream transfer that adopts a
 * version 2 .part cuts it to its done prefix first.
 */
#ifndef UPGRADE_PROVENANCE_H
#define UPGRADE_PROVENANCE_H

#include <stdbool.h>
#include <jv.h>

#define UPG_PROVENANCE_VERSION 1   /* a contiguous prefix */
#define UPG_PROVENANCE_SEGMENTED 2 /* chunks, listed in "segments" */
#define UPG_PROVENANCE_SUFFIX ".meta"

/* PART_PATH + ".meta" (malloc'd), or NULL. */
char *upg_provenance_path(const char *part_path);

/* The record beside PART_PATH: an object with "version" 1 and an object
 * "origin", or "version" 2, an object "origin" and an object "segments",
 * from a regular file owned by us (never through a symlink).  jv_invalid()
 * when there is none or it is not such a record. */
jv upg_provenance_read(const char *part_path);

/* Replace the record beside PART_PATH by RECORD (consumed), atomically.
 * 0, or -1 with errno. */
int upg_provenance_write(const char *part_path, jv record);

/* Remove the record beside PART_PATH (a missing one is fine). */
void upg_provenance_remove(const char *part_path);

/* A new record for ORIGIN with VALIDATORS (both consumed): version 1. */
jv upg_provenance_record(jv origin, jv validators);
/* The same with SEGMENTS (consumed; upg_segments_to_jv): version 2. */
jv upg_provenance_record_segments(jv origin, jv validators, jv segments);
/* The "segments" of a version 2 RECORD (borrowed; the result is a new
 * reference), or jv_null() for a version 1 record. */
jv upg_provenance_segments(jv record);

/* The one rule: do validators A (recorded) and B (just seen) describe the
 * same version of the remote file?  Every field either side has must be in
 * both and equal -- except "last_modified", ignored when both carry an
 * "etag" (a strong ETag decides alone); and at least one field must be
 * known ("size" alone is enough: a server without validators resumes only
 * a file of the same request and the same size).  Non-objects never match. */
bool upg_provenance_same_version(jv a, jv b);

/* FIELD of VALIDATORS (borrowed; the result is a new reference), or
 * jv_invalid() when it has none -- also when VALIDATORS is null, as it is
 * while no answer has named the version (files.h). */
jv upg_provenance_validator(jv validators, const char *field);

#endif
