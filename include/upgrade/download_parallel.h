/* SPDX-License-Identifier: GPL-3.0-or-later */
/* download_parallel.h -- one download over several range requests at once.
 *
 * download.c learns the file's total size and version from a first
 * answer (or from a parallel .part's record) and hands the rest here: the
 * chunks still to do (segments.h) are fetched by up to N streams, each an
 * easy handle of one libcurl multi handle driven in this thread (no
 * thread, no process), each asking for a run of chunks with Range and
 * If-Range and writing the answer at its offsets of FILE.part.
 *
 * Every answer is checked before a byte of it is written, as download.c
 * checks one: a 206 must cover exactly the bytes asked, of the same total
 * and version (validators) as the record; a lie ends the download (exit
 * 3, nothing of it written); another version (a 200 or 206 with other
 * validators) makes the caller start the file over, never splice.  A 200
 * of the same version means the server ignores ranges.  A stream the
 * server refuses or drops (503, 429, a refused or broken connection) is
 * given up and its chunks go to the others: the download fails only when
 * no stream is left.  Chunks are claimed done in the record only after an
 * fdatasync, every few chunks and when the call ends for any reason, so
 * an interruption (Ctrl-C within a second, a kill at any moment) leaves a
 * .part that resumes with only the missing chunks.
 */
#ifndef UPGRADE_DOWNLOAD_PARALLEL_H
#define UPGRADE_DOWNLOAD_PARALLEL_H

#include <stdbool.h>
#include <jv.h>

#include "upgrade/files.h"
#include "upgrade/segments.h"
#include "upgrade/settings.h"

/* What the summary reports ("streams", "in_flight", "per_stream"). */
typedef struct upg_par_report {
  int asked;                            /* streams asked for */
  int used;                             /* streams that had a range accepted */
  int in_flight;                        /* most requests under way at once */
  int given_up;                         /* streams refused or dropped by the server */
  long long per_stream[UPG_PARALLEL_MAX]; /* bytes each stream wrote */
} upg_par_report;

/* Returned instead of an exit status: */
#define UPG_PAR_CHANGED (-1)   /* the remote file is another version now: PF is
                                  started over (emptied), its validators those
                                  an answer told of the new version (with its
                                  "size") when they suffice for If-Range, else
                                  null */
#define UPG_PAR_NO_RANGES (-2) /* the server answers ranges with the whole file */

/* Fetch the chunks of SG still to do from URL into PF (open segmented;
 * pf->validators describe the version, SG's size is its total) over
 * STREAMS (1 to UPG_PARALLEL_MAX) streams.  CHECKED: an answer of this
 * call's caller has just told the version (else -- a .part resumed from
 * its record -- one stream asks first and the others wait for its 206,
 * so that a changed file is seen from one answer, not N).  0 when every chunk is done
 * and durable (PF is then complete, not yet committed); UPG_PAR_CHANGED
 * or UPG_PAR_NO_RANGES (nothing written that the record does not vouch
 * for); or an exit status with *doc set and *retryable when a new attempt
 * may succeed.  REP accumulates across calls. */
int upg_download_parallel(const upg_settings *s, const char *url, upg_partfile *pf, upg_segments *sg, int streams,
                          bool checked, upg_par_report *rep, bool *retryable, jv *doc);

/* The chunk size, the checkpoint interval and the number of streams are
 * transfer_plan.h's (the same rule for SFTP). */

#endif
