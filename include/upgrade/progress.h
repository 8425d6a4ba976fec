/* SPDX-License-Identifier: GPL-3.0-or-later */
/* progress.h -- the meter of a transfer, and wait's line, on stderr.
 *
 * Every transfer (HTTPS, SFTP, a parallel download, dump and restore)
 * and `wait` draw one line of ours through the host's status_line
 * callback -- never libcurl's meter, which is 79 columns wide whatever the
 * terminal and never ends its line.  The line is redrawn in place at most
 * four times a second, fits settings.columns, and is ended (cleared on a
 * terminal, a newline elsewhere) by upg_meter_end, on Ctrl-C and before
 * any other line the host prints.  Nothing is drawn unless
 * settings.progress (a terminal, or --progress, and never with -s).
 */
#ifndef UPGRADE_PROGRESS_H
#define UPGRADE_PROGRESS_H

#include "upgrade/settings.h"

typedef struct upg_meter {
  const upg_settings *s;
  char label[128];       /* what moves: "upload db.dump" (a copy) */
  double start, last_draw;
  bool drawn_finished;   /* the last line drawn showed all of it */
  long long base;        /* bytes there before this transfer (resume) */
} upg_meter;

/* LABEL is copied (cut to fit the meter). */
void upg_meter_start(upg_meter *m, const upg_settings *s, const char *label, long long base);
/* DONE of TOTAL bytes (both counting BASE); drawn when due. */
void upg_meter_update(upg_meter *m, long long done, long long total);
/* Clear the line. */
void upg_meter_end(upg_meter *m);

/* The last component of PATH, for a label ("db.dump"). */
const char *upg_path_tail(const char *path);

/* "1.5 GiB", "12.0 MiB", "900 B" into BUF. */
void upg_format_bytes(char *buf, size_t len, double bytes);
/* SECONDS as a person reads it: "0.3 s", "12.0 s", "5m10s", "2h05m". */
void upg_format_duration(char *buf, size_t len, double seconds);

/* The meter's text for DONE of TOTAL (0 or less: unknown) after ELAPSED
 * seconds, BASE of which were there before, in at most WIDTH characters
 * (0: no limit): the eta, the rate, the total, then the bytes are dropped
 * (the bytes kept when the total is unknown), and the label is cut last
 * (pure, unit-tested). */
void upg_meter_text(char *buf, size_t len, const char *label, long long done, long long total,
                    long long base, double elapsed, int width);
/* The width a meter's text may take on a line of S's terminal: what is
 * left of settings.columns (80 when 0) after the host's "upgrade: " and a
 * last column left empty, so that the line never wraps. */
int upg_meter_width(const upg_settings *s);

/* A status line through the host, when progress is on. */
void upg_status_line(const upg_settings *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void upg_status_clear(const upg_settings *s);

#endif
