/* progress.c -- the SFTP meter and wait's line (see progress.h). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "upgrade/human.h"
#include "upgrade/progress.h"

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
upg_meter_text(char *buf, size_t len, const char *label, long long done, long long total,
               long long base, double elapsed)
{
  char have[32], all[32], rate[32], eta[32] = "--:--";
  double speed = elapsed > 0 ? (double)(done - base) / elapsed : 0;
  upg_format_bytes(have, sizeof have, (double)done);
  upg_format_bytes(all, sizeof all, (double)total);
  upg_format_bytes(rate, sizeof rate, speed);
  if (speed > 0 && total >= done) {
    long secs = (long)((double)(total - done) / speed);
    snprintf(eta, sizeof eta, "%ld:%02ld", secs / 60, secs % 60);
  }
  int percent = total > 0 ? (int)(100.0 * (double)done / (double)total) : 0;
  snprintf(buf, len, "%s  %s / %s  %3d%%  %s/s  eta %s", label, have, all, percent, rate, eta);
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
  m->label = label;
  m->start = upg_now();
  m->last_draw = 0;
  m->base = base;
}

void
upg_meter_update(upg_meter *m, long long done, long long total)
{
  double now = upg_now();
  if (!m->s->progress || (now - m->last_draw < 0.25 && done < total))
    return;
  m->last_draw = now;
  char line[256];
  upg_meter_text(line, sizeof line, m->label, done, total, m->base, now - m->start);
  upg_status_line(m->s, "%s", line);
}

void
upg_meter_end(upg_meter *m)
{
  upg_status_clear(m->s);
}
