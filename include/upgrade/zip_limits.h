/* SPDX-License-Identifier: GPL-3.0-or-later */
/* zip_limits.h -- what restore checks of a zip's entries before and while
 * it reads them (zip_limits.c): pure, unit-tested.
 *
 * The platform's zip is untrusted: its central directory is the only
 * promise it makes, and these hold it to that promise.
 *   - every entry's name once: a second "dump.sql" (or filestore file)
 *     would be loaded (or laid over) after the one the scan looked at;
 *   - no entry yields more than it declared: the reader is cut off at the
 *     declared size, not after it has written what a bomb expands to;
 *   - what lands on disk (the declared sizes of the filestore entries)
 *     fits in the free space of the target's filesystem.
 */
#ifndef UPGRADE_ZIP_LIMITS_H
#define UPGRADE_ZIP_LIMITS_H

#include <stdbool.h>
#include <stddef.h>

/* The names of a zip's entries, gathered during the scan. */
typedef struct upg_zip_names {
  char **v;
  size_t n, cap;
} upg_zip_names;

/* Keep a copy of NAME; a trailing '/' is dropped ("a/" and "a" are one
 * path on disk).  0, or -1 (ENOMEM). */
int upg_zip_names_add(upg_zip_names *set, const char *name);
/* The first name (in byte order) that was added twice, or NULL; sorts the
 * set.  The pointer is the set's: valid until upg_zip_names_free. */
const char *upg_zip_names_repeat(upg_zip_names *set);
void upg_zip_names_free(upg_zip_names *set);

/* Whether LEN more bytes of an entry that has yielded DONE keep it within
 * its DECLARED size. */
bool upg_zip_within(long long declared, long long done, size_t len);

/* *TOTAL += SIZE (SIZE >= 0).  0, or -1 when the sum would overflow (a
 * zip that declares that much is refused as more than any disk). */
int upg_zip_add_size(long long *total, long long size);

/* statvfs's free space for an unprivileged writer, f_bavail * f_frsize,
 * saturated at LLONG_MAX. */
long long upg_free_bytes(unsigned long long bavail, unsigned long long frsize);

#endif
