/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sql_stream.c -- plain SQL on its way to psql in restricted mode (see
 * sql_stream.h).  Lines are found with memchr; only a line's first and last
 * few bytes are looked at, so the filter costs a copy of the bytes. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "upgrade/sql_stream.h"

void
upg_sql_stream_init(upg_sql_stream *st, const char *key)
{
  memset(st, 0, sizeof *st);
  /* the "\\" ends \restrict's arguments: the dump's first line follows on
   * the same line, and psql's line numbers stay the dump's */
  int n = snprintf(st->prefix, sizeof st->prefix, "\\restrict %.*s \\\\ ", UPG_SQL_KEY_MAX, key);
  st->prefix_len = n > 0 ? (size_t)n : 0;
}

static size_t
put(char *out, const void *src, size_t n)
{
  memcpy(out, src, n);
  return n;
}

/* The current line starts with WORD (ASCII case ignored). */
static bool
starts(const upg_sql_stream *st, const char *word)
{
  size_t n = strlen(word);
  return st->line_len >= n && n <= UPG_SQL_HEAD && strncasecmp(st->head, word, n) == 0;
}

/* The current line ends with WORD, then "\n" or "\r\n". */
static bool
ends(const upg_sql_stream *st, const char *word)
{
  size_t n = strlen(word), t = st->tail_len;
  if (t && st->tail[t - 1] == '\n')
    t--;
  if (t && st->tail[t - 1] == '\r')
    t--;
  return t >= n && strncasecmp(st->tail + t - n, word, n) == 0;
}

/* S (a whole line) is pg_dump's "\restrict KEY" or "\unrestrict KEY". */
static bool
restrict_line(const char *s, size_t n)
{
  while (n && isspace((unsigned char)s[n - 1]))
    n--;
  size_t w;
  if (n > 10 && memcmp(s, "\\restrict ", 10) == 0)
    w = 10;
  else if (n > 12 && memcmp(s, "\\unrestrict ", 12) == 0)
    w = 12;
  else
    return false;
  while (w < n && s[w] == ' ')
    w++;
  if (w == n)
    return false;
  for (; w < n; w++)
    if (!isalnum((unsigned char)s[w]))
      return false;
  return true;
}

/* Keep the line's first UPG_SQL_HEAD and last UPG_SQL_TAIL bytes. */
static void
keep_head_tail(upg_sql_stream *st, const char *seg, size_t n)
{
  if (st->line_len < UPG_SQL_HEAD) {
    size_t k = UPG_SQL_HEAD - st->line_len < n ? UPG_SQL_HEAD - st->line_len : n;
    memcpy(st->head + st->line_len, seg, k);
  }
  st->line_len += n;
  if (n >= UPG_SQL_TAIL) {
    memcpy(st->tail, seg + n - UPG_SQL_TAIL, UPG_SQL_TAIL);
    st->tail_len = UPG_SQL_TAIL;
    return;
  }
  size_t keep = st->tail_len < UPG_SQL_TAIL - n ? st->tail_len : UPG_SQL_TAIL - n;
  memmove(st->tail, st->tail + st->tail_len - keep, keep);
  memcpy(st->tail + keep, seg, n);
  st->tail_len = keep + n;
}

/* A whole line was seen: COPY data starts or ends, a table is declared. */
static void
classify(upg_sql_stream *st)
{
  if (st->in_copy) {
    /* psql's own test (copy.c): "\\.\n" or "\\.\r\n" alone on a line */
    if ((st->line_len == 3 && memcmp(st->head, "\\.\n", 3) == 0)
        || (st->line_len == 4 && memcmp(st->head, "\\.\r\n", 4) == 0))
      st->in_copy = false;
    return;
  }
  if (starts(st, "COPY ") && ends(st, " FROM stdin;"))
    st->in_copy = true;
  else if (starts(st, "CREATE TABLE ") || starts(st, "CREATE UNLOGGED TABLE "))
    st->tables++;
}

/* The held line is complete (NEWLINE: it ended with one): dropped, as an
 * empty line, or let through. */
static size_t
release(upg_sql_stream *st, bool newline, char *out)
{
  size_t o = 0;
  if (st->holding && restrict_line(st->held, st->held_len)) {
    if (newline)
      out[o++] = '\n';
    st->dropped++;
  } else if (st->holding) {
    o = put(out, st->held, st->held_len);
  }
  st->holding = false;
  st->held_len = 0;
  return o;
}

/* N bytes of one line (the last one its newline when ENDS_LINE). */
static size_t
take(upg_sql_stream *st, const char *seg, size_t n, bool ends_line, char *out)
{
  size_t o = 0;
  if (!st->mid_line) {
    st->mid_line = true;
    st->line_len = st->tail_len = 0;
    st->holding = !st->in_copy && seg[0] == '\\';
  }
  keep_head_tail(st, seg, n);
  if (st->holding && st->held_len + n <= UPG_SQL_HOLD) {
    memcpy(st->held + st->held_len, seg, n);
    st->held_len += n;
  } else {
    /* too long for a \restrict line: through, in pieces */
    if (st->holding)
      o = put(out, st->held, st->held_len);
    st->holding = false;
    st->held_len = 0;
    o += put(out + o, seg, n);
  }
  if (ends_line) {
    o += release(st, true, out + o);
    classify(st);
    st->mid_line = false;
  }
  return o;
}

static size_t
take_prefix(upg_sql_stream *st, char *out)
{
  size_t n = put(out, st->prefix, st->prefix_len);
  st->prefix_len = 0;
  return n;
}

size_t
upg_sql_stream_feed(upg_sql_stream *st, const char *in, size_t len, char *out)
{
  size_t o = st->prefix_len ? take_prefix(st, out) : 0;
  while (len) {
    const char *nl = memchr(in, '\n', len);
    size_t n = nl ? (size_t)(nl - in) + 1 : len;
    o += take(st, in, n, nl != NULL, out + o);
    in += n;
    len -= n;
  }
  return o;
}

size_t
upg_sql_stream_end(upg_sql_stream *st, char *out)
{
  size_t o = st->prefix_len ? take_prefix(st, out) : 0;
  if (st->mid_line)
    o += release(st, false, out + o);
  st->mid_line = false;
  return o;
}
