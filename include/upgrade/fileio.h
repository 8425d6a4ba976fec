/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fileio.h -- the file primitives under every unit that reads or writes a
 * local file: small reads, whole writes, atomic replacement.
 *
 * The bottom of the file layer: it includes no other header of the core
 * and knows nothing of part files or their records, so that files.h (the
 * .part of a transfer) and provenance.h (the record beside it) both build
 * on it without needing each other's.  No function here keeps a
 * descriptor or a pointer past the call; a returned buffer is malloc'd
 * (the caller frees it); errors are errno, never a failure document.
 */
#ifndef UPGRADE_FILEIO_H
#define UPGRADE_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Read FD up to its end or MAX bytes, retrying on EINTR and short reads,
 * into a new NUL-terminated buffer (malloc'd); *len gets the byte count
 * (MAX when the file may hold more).  NULL with errno on failure. */
char *upg_read_small(int fd, size_t max, size_t *len);

/* Write all of BUF to FD -- at its position, or at offset AT when AT >= 0
 * (pwrite) -- retrying on EINTR and short writes; *done counts what was
 * written, also when a later piece fails.  0 or -1 (errno). */
int upg_write_counting(int fd, const void *buf, size_t len, off_t at, off_t *done);

/* Write all of BUF to FD, retrying on EINTR and short writes: 0 or -1. */
int upg_write_all(int fd, const void *buf, size_t len);

/* Replace PATH by a file holding TEXT (LEN bytes), mode 0600: written to a
 * new temporary file in the same directory (O_EXCL), fsynced, renamed over
 * PATH, the directory fsynced -- readers see the old or the new whole, and
 * a symlink at PATH is replaced, never followed.  0, or -1 with errno. */
int upg_replace_file(const char *path, const char *text, size_t len);

/* Remove PATH and, when it is a directory, everything under it, never
 * following a symlink (one is removed, not what it points at); a missing
 * PATH is no error.  0, or -1 with errno. */
int upg_remove_tree(const char *path);

/* The regular files directly in DIR (a directory-format dump is flat:
 * toc.dat and one file per table), symlinks not followed: their bytes in
 * *BYTES and their number in *FILES (FILES may be NULL).  0, or -1 with
 * errno when DIR cannot be read (both then 0). */
int upg_dir_files_size(const char *dir, long long *bytes, long long *files);

/* Is NAME one component of a path (non-empty, no '/', not "." nor "..")?
 * What a name must be before it is joined to a directory. */
bool upg_one_component(const char *name);

#endif
