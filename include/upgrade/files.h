/* files.h -- local files a transfer reads or writes.
 *
 * Downloads (HTTPS and SFTP alike) write FILE.part, created mode 0600 and
 * never through a symlink, append to it when it already holds a prefix, and
 * rename it to FILE only when complete: an interrupted download leaves a
 * .part to resume and never a finished-looking FILE.
 */
#ifndef UPGRADE_FILES_H
#define UPGRADE_FILES_H

#include <stdbool.h>
#include <sys/types.h>
#include <jv.h>

typedef struct upg_partfile {
  char *path;        /* FILE, the name it gets when complete */
  char *part_path;   /* FILE.part */
  int fd;            /* open on part_path, positioned at its end */
  off_t resume_from; /* bytes already there when opened */
  off_t end;         /* size of the part file: resume_from + bytes written */
  off_t flushed;     /* bytes before this offset were handed to writeback */
} upg_partfile;

/* Open PATH.part for appending.  Refuses (exit 2, CLIENT:FILE) a PATH that
 * already exists unless FORCE, a missing directory, and a symlink at either
 * name.  Returns 0 or an exit status with *doc set. */
int upg_partfile_open(upg_partfile *pf, const char *path, bool force, jv *doc);
/* Start again from zero (the server cannot resume). 0 or -1 (errno). */
int upg_partfile_truncate(upg_partfile *pf);
/* Append BUF to the part file.  Every few MiB it also starts the kernel's
 * writeback of what was written, so the fsync of upg_partfile_commit finds
 * little left to do.  0 or -1 (errno). */
int upg_partfile_write(upg_partfile *pf, const void *buf, size_t len);
/* Flush, close and rename to the final name.  0 or exit status with *doc. */
int upg_partfile_commit(upg_partfile *pf, jv *doc);
/* Close, keeping the .part for a later resume; frees the names. */
void upg_partfile_abandon(upg_partfile *pf);

/* Open PATH for reading: it must be a readable regular file.  Sets *fd and
 * *size; returns 0 or exit 2 with a CLIENT:FILE failure in *doc. */
int upg_input_open(const char *path, int *fd, off_t *size, jv *doc);

/* Read FD up to its end or MAX bytes, retrying on EINTR and short reads,
 * into a new NUL-terminated buffer; *len gets the byte count (MAX when the
 * file may hold more).  NULL with errno on failure. */
char *upg_read_small(int fd, size_t max, size_t *len);

/* Write all of BUF to FD, retrying on EINTR and short writes: 0 or -1. */
int upg_write_all(int fd, const void *buf, size_t len);

/* The "transfer" summary printed after an upload or a download:
 * {"file":…, "bytes":…, "resumed_from":…, "size":…, "seconds":…}.
 * Extra fields can be added by the caller with jv_object_set. */
jv upg_transfer_summary(const char *file, long long bytes,
                        long long resumed_from, long long size, double seconds);

/* "$HOME/REL" (the password database's home when HOME is unset), malloc'd;
 * NULL when there is no home. */
char *upg_home_path(const char *rel);

#endif
