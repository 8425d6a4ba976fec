/* SPDX-License-Identifier: GPL-3.0-or-later */
/* download_answer.h -- what an HTTP answer to a download says about the
 * file, read from its header lines (download.c, download_parallel.c).
 *
 * Only the fields a range download decides on: the status, Content-Range
 * (parsed strictly: "bytes START-LAST/TOTAL", "bytes START-LAST/ *",
 * "bytes * /TOTAL"), Content-Length, a strong ETag and Last-Modified --
 * the last two kept only when printable and short enough to send back in
 * an If-Range.  Every status line (a followed redirect has its own
 * headers) starts the answer afresh.
 */
#ifndef UPGRADE_DOWNLOAD_ANSWER_H
#define UPGRADE_DOWNLOAD_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <jv.h>

struct upg_answer {
  long code;
  bool has_range, range_ok;   /* a Content-Range, and of a form we know */
  long long start, last;      /* bytes START-LAST, or -1 for "bytes *" */
  long long total;            /* /TOTAL, or -1 for "/ *" */
  long long length;           /* Content-Length, or -1 */
  char range[80];             /* the Content-Range as sent, for messages */
  char etag[200];             /* a strong ETag, or "" */
  char last_modified[64];
};

/* Read one header line (LINE, N bytes, CRLF included) into A.  True when
 * it is the blank line that ends a header block: the caller then decides,
 * before any byte of the body, whether the body may be written. */
bool upg_answer_line(struct upg_answer *a, const char *line, size_t n);

/* What A says about the remote file of TOTAL bytes (-1: unknown), as
 * provenance validators (provenance.h): a new object. */
jv upg_answer_validators(const struct upg_answer *a, long long total);

/* The If-Range header that asks for a range only of the version VALIDATORS
 * describe (borrowed): "If-Range: ETAG", else "If-Range: LAST-MODIFIED",
 * into OUT.  False (OUT empty) when they name neither. */
bool upg_answer_if_range(jv validators, char *out, size_t max);

#endif
