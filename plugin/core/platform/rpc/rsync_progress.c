/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rsync_progress.c -- reading rsync's --info=progress2 output (see
 * rpc_rsync.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "upgrade/rpc_rsync.h"

void
upg_rsync_progress_init(upg_rsync_progress *p)
{
  memset(p, 0, sizeof *p);
  p->percent = -1;
}

/* Digits at *P (moved past them) into *V; false when there are none. */
static bool
number(const char **p, const char *end, uint64_t *v)
{
  const char *s = *p;
  uint64_t n = 0;
  while (*p < end && **p >= '0' && **p <= '9' && n < UINT64_MAX / 10 - 9)
    n = n * 10 + (uint64_t)(*(*p)++ - '0');
  *v = n;
  return *p > s;
}

static void
spaces(const char **p, const char *end)
{
  while (*p < end && **p == ' ')
    (*p)++;
}

/* Is LIT next at *P?  Then move past it. */
static bool
literal(const char **p, const char *end, const char *lit)
{
  size_t n = strlen(lit);
  if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
    return false;
  *p += n;
  return true;
}

/* "(xfr#N, to-chk=L/T)" or "(xfr#N, ir-chk=L/T)" at *P. */
static bool
counts(const char **p, const char *end, uint64_t *done, uint64_t *left, uint64_t *total, bool *listing)
{
  if (!literal(p, end, "(xfr#") || !number(p, end, done) || !literal(p, end, ", "))
    return false;
  if (literal(p, end, "to-chk="))
    *listing = false;
  else if (literal(p, end, "ir-chk="))
    *listing = true;
  else
    return false;
  return number(p, end, left) && literal(p, end, "/") && number(p, end, total) && literal(p, end, ")");
}

bool
upg_rsync_progress_parse(upg_rsync_progress *pr, const char *rec, size_t len)
{
  const char *p = rec, *end = rec + len;
  uint64_t bytes, percent, done = 0, left = 0, total = 0;
  bool listing = false, has_counts = false;

  spaces(&p, end);
  if (!number(&p, end, &bytes) || !literal(&p, end, " "))
    return false;
  spaces(&p, end);
  if (!number(&p, end, &percent) || !literal(&p, end, "%") || percent > 100)
    return false;
  /* the rate and the time ("998.96MB/s    0:00:00"): skipped, up to the
   * counts if any */
  const char *paren = memchr(p, '(', (size_t)(end - p));
  const char *rate_end = paren ? paren : end;
  for (; p < rate_end; p++)
    if (!*p || !strchr("0123456789.:/ kKMGTPBbs", *p))
      return false;
  if (paren) {
    if (!counts(&p, end, &done, &left, &total, &listing))
      return false;
    has_counts = true;
  }
  spaces(&p, end);
  if (p != end)
    return false;
  pr->bytes = bytes;
  pr->percent = (int)percent;
  if (has_counts) {
    pr->files_done = (long)done;
    pr->files_left = (long)left;
    pr->files_total = (long)total;
    pr->listing = listing;
  }
  pr->seen = true;
  return true;
}

/* Keep REC among the other lines, dropping the oldest whole lines when
 * full. */
static void
keep_other(upg_rsync_progress *pr, const char *rec, size_t len)
{
  if (len >= UPG_RSYNC_OTHER_MAX - 1)
    len = UPG_RSYNC_OTHER_MAX - 2;
  while (pr->other_len && pr->other_len + len + 2 > UPG_RSYNC_OTHER_MAX) {
    char *nl = memchr(pr->other, '\n', pr->other_len);
    size_t drop = nl ? (size_t)(nl - pr->other) + 1 : pr->other_len;
    memmove(pr->other, pr->other + drop, pr->other_len - drop);
    pr->other_len -= drop;
  }
  if (pr->other_len)
    pr->other[pr->other_len++] = '\n';
  memcpy(pr->other + pr->other_len, rec, len);
  pr->other_len += len;
  pr->other[pr->other_len] = '\0';
}

static bool
end_record(upg_rsync_progress *pr)
{
  bool progress = false;
  size_t lead = 0;
  while (lead < pr->line_len && pr->line[lead] == ' ')
    lead++;
  if (lead < pr->line_len) {
    progress = !pr->line_cut && upg_rsync_progress_parse(pr, pr->line, pr->line_len);
    if (!progress)
      keep_other(pr, pr->line + lead, pr->line_len - lead);
  }
  pr->line_len = 0;
  pr->line_cut = false;
  return progress;
}

bool
upg_rsync_progress_feed(upg_rsync_progress *pr, const char *data, size_t len)
{
  bool progress = false;
  for (size_t i = 0; i < len; i++) {
    char c = data[i];
    if (c == '\r' || c == '\n') {
      progress |= end_record(pr);
    } else if (pr->line_len < sizeof pr->line) {
      pr->line[pr->line_len++] = c;
    } else {
      pr->line_cut = true;
    }
  }
  return progress;
}
