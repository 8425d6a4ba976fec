/* progress.h -- the meter of a transfer, and wait's line, on stderr.
 *
 * HTTPS transfers show libcurl's own meter; SFTP transfers (libssh2 has
 * none), a parallel download (libcurl's meter is one transfer's) and
 * `wait` draw one line through the host's status_line callback:
 * redrawn in place at most four times a second, cleared at the end and on
 * Ctrl-C.  Nothing is drawn unless settings.progress (a terminal, or
 * --progress, and never with -s).
 */
#ifndef UPGRADE_PROGRESS_H
#define UPGRADE_PROGRESS_H

#include "upgrade/settings.h"

typedef struct upg_meter {
  const upg_settings *s;
  const char *label;     /* "put db.dump" */
  double start, last_draw;
  long long base;        /* bytes there before this transfer (resume) */
} upg_meter;

void upg_meter_start(upg_meter *m, const upg_settings *s, const char *label, long long base);
/* DONE of TOTAL bytes (both counting BASE); drawn when due. */
void upg_meter_update(upg_meter *m, long long done, long long total);
/* Clear the line. */
void upg_meter_end(upg_meter *m);

/* "1.5 GiB", "12.0 MiB", "900 B" into BUF. */
void upg_format_bytes(char *buf, size_t len, double bytes);
/* The meter's text for DONE of TOTAL after ELAPSED seconds, BASE of which
 * were there before (pure, unit-tested). */
void upg_meter_text(char *buf, size_t len, const char *label, long long done, long long total,
                    long long base, double elapsed);

/* A status line through the host, when progress is on. */
void upg_status_line(const upg_settings *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void upg_status_clear(const upg_settings *s);

#endif
