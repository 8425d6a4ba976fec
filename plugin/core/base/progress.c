/* SPDX-License-Identifier: GPL-3.0-or-later */
/* progress.c -- every transfer's meter and wait's line (see progress.h). */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upgrade/human.h"
#include "upgrade/progress.h"

const char *
upg_path_tail(const char *path)
{
  const char *slash = strrchr(path, '/');
  return slash && slash[1] ? slash + 1 : path;
}

void
upg_format_bytes(char *buf, size_t len, double bytes)
{
  static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    u++;
  }
  snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

void
upg_format_duration(char *buf, size_t len, double seconds)
{
  long whole = (long)(seconds + 0.5);
  if (seconds < 59.95)
    snprintf(buf, len, "%.1f s", seconds < 0 ? 0 : seconds);
  else if (whole < 3600)
    snprintf(buf, len, "%ldm%02lds", whole / 60, whole % 60);
  else
    snprintf(buf, len, "%ldh%02ldm", whole / 3600, whole / 60 % 60);
}

/* The meter's parts, widest first: the first that fits is drawn. */
enum { PART_ETA = 1, PART_RATE = 2, PART_TOTAL = 4, PART_PERCENT = 8, PART_HAVE = 16 };

static int
compose(char *buf, size_t len, const char *label, int label_max, const char *have, const char *all,
        int percent, const char *rate, const char *eta, int parts)
{
  int n = snprintf(buf, len, "%.*s", label_max, label);
  if ((parts & PART_HAVE) && n >= 0 && (size_t)n < len)
    n += snprintf(buf + n, len - (size_t)n, "  %s", have);
  if ((parts & PART_TOTAL) && n >= 0 && (size_t)n < len)
    n += snprintf(buf + n, len - (size_t)n, " / %s", all);
  if ((parts & PART_PERCENT) && n >= 0 && (size_t)n < len)
    n += snprintf(buf + n, len - (size_t)n, "  %3d%%", percent);
  if ((parts & PART_RATE) && n >= 0 && (size_t)n < len)
    n += snprintf(buf + n, len - (size_t)n, "  %s/s", rate);
  if ((parts & PART_ETA) && n >= 0 && (size_t)n < len)
    n += snprintf(buf + n, len - (size_t)n, "  eta %s", eta);
  return n;
}

void
upg_meter_text(char *buf, size_t len, const char *label, long long done, long long total,
               long long base, double elapsed, int width)
{
  char have[32], all[32], rate[32], eta[32] = "--:--";
  double speed = elapsed > 0 ? (double)(done - base) / elapsed : 0;
  bool known = total > 0;
  upg_format_bytes(have, sizeof have, (double)done);
  upg_format_bytes(all, sizeof all, (double)total);
  upg_format_bytes(rate, sizeof rate, speed);
  if (speed > 0 && known && total >= done) {
    long secs = (long)((double)(total - done) / speed);
    snprintf(eta, sizeof eta, "%ld:%02ld", secs / 60, secs % 60);
  }
  int percent = known ? (int)(100.0 * (double)done / (double)total) : 0;
  int full = PART_HAVE | (known ? PART_TOTAL | PART_PERCENT | PART_RATE | PART_ETA : PART_RATE);
  /* With a known total the percentage says how far; without, the bytes. */
  int last = known ? PART_PERCENT : PART_HAVE;
  static const int narrower[] = { ~0, ~PART_ETA, ~(PART_ETA | PART_RATE), ~(PART_ETA | PART_RATE | PART_TOTAL) };
  int label_len = (int)strlen(label);
  for (size_t i = 0; i < sizeof narrower / sizeof narrower[0]; i++) {
    int n = compose(buf, len, label, label_len, have, all, percent, rate, eta, full & narrower[i]);
    if (width <= 0 || n <= width)
      return;
  }
  /* Still too wide: what moves and how far, the label cut if need be. */
  int rest = compose(buf, len, "", 0, have, all, percent, rate, eta, last);
  int keep = width - rest;
  compose(buf, len, label, keep > 0 ? keep : 0, have, all, percent, rate, eta, last);
  if ((int)strlen(buf) > width && len > (size_t)width)
    buf[width] = '\0';
}

int
upg_meter_width(const upg_settings *s)
{
  static const int host_prefix = sizeof "upgrade: " - 1;
  int columns = s->columns > 0 ? s->columns : 80;
  int width = columns - host_prefix - 1;
  return width > 8 ? width : 8;
}

void
upg_status_line(const upg_settings *s, const char *fmt, ...)
{
  char line[256];
  va_list ap;
  if (!s->progress || !s->host.status_line)
    return;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  /* A line wider than the terminal would wrap, and each redraw scroll. */
  size_t width = (size_t)upg_meter_width(s);
  if (strlen(line) > width) {
    while (width > 0 && ((unsigned char)line[width] & 0xC0) == 0x80)
      width--; /* not inside a UTF-8 character */
    line[width] = '\0';
  }
  char *safe = upg_human_text(s, line); /* a state name comes from the server */
  if (safe)
    s->host.status_line(s->host.data, safe);
  free(safe);
}

void
upg_status_clear(const upg_settings *s)
{
  if (s->progress && s->host.status_line)
    s->host.status_line(s->host.data, NULL);
}

void
upg_meter_start(upg_meter *m, const upg_settings *s, const char *label, long long base)
{
  m->s = s;
  snprintf(m->label, sizeof m->label, "%s", label);
  m->start = upg_now();
  m->last_draw = 0;
  m->drawn_finished = false;
  m->base = base;
}

void
upg_meter_update(upg_meter *m, long long done, long long total)
{
  double now = upg_now();
  bool finished = total > 0 && done >= total;
  bool due = now - m->last_draw >= 0.25 || (finished && !m->drawn_finished);
  if (!m->s->progress || !due)
    return;
  m->last_draw = now;
  m->drawn_finished = finished;
  char line[256];
  upg_meter_text(line, sizeof line, m->label, done, total, m->base, now - m->start, upg_meter_width(m->s));
  upg_status_line(m->s, "%s", line);
}

void
upg_meter_end(upg_meter *m)
{
  upg_status_clear(m->s);
}
