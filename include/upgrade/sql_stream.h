/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sql_stream.h -- the platform's plain SQL on its way to psql in restricted
 * mode (psql 15.14+: `\restrict KEY`), and what it declares.
 *
 * The output starts with our own `\restrict KEY`: from there on psql runs
 * no backslash command but `\unrestrict KEY`, and the dump cannot know KEY.
 * The dump's own `\restrict X` / `\unrestrict X` lines (pg_dump 15.14+
 * writes them) would stop psql: they are dropped -- but only outside the
 * data of a `COPY … FROM stdin;`, whose rows may begin with a backslash
 * (`\N`, `\\`, …) and which ends at a line `\.`, as psql reads it.  A
 * dropped line becomes an empty one, and our `\restrict KEY \\ ` is
 * spliced in front of the dump's first line (psql's `\\` ends the command's
 * arguments), so that psql's "psql:<stdin>:N:" names the dump's own line N.
 *
 * Pure and bounded: input comes in buffers as they arrive, a line may
 * straddle them; the filter holds back at most UPG_SQL_HOLD bytes (a line
 * that may be a `\restrict` line); a longer line is passed through in
 * pieces, never dropped in part.
 *
 * It also counts what the dump declares: `CREATE TABLE` / `CREATE UNLOGGED
 * TABLE` at the start of a line outside COPY data, as pg_dump writes them.
 * A multi-line string or function body whose line looks like one of these
 * is taken for it (pg_dump writes data as COPY, not as such literals).
 */
#ifndef UPGRADE_SQL_STREAM_H
#define UPGRADE_SQL_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#define UPG_SQL_KEY_MAX 64     /* our key's length at most */
#define UPG_SQL_HOLD 256       /* bytes of a possible \restrict line held back */
#define UPG_SQL_HEAD 32        /* bytes of a line's start kept to classify it */
#define UPG_SQL_TAIL 16        /* bytes of a line's end kept to classify it */
/* The output of one call is at most its input plus this. */
#define UPG_SQL_OUT_EXTRA (UPG_SQL_KEY_MAX + 16 + UPG_SQL_HOLD)

typedef struct upg_sql_stream {
  char prefix[UPG_SQL_KEY_MAX + 16];  /* "\restrict KEY \\ " until emitted */
  size_t prefix_len;
  bool in_copy;        /* inside COPY … FROM stdin data */
  bool mid_line;       /* the next byte continues the current line */
  bool holding;        /* the line so far is in held, not yet emitted */
  char held[UPG_SQL_HOLD];
  size_t held_len;
  char head[UPG_SQL_HEAD];
  size_t line_len;     /* bytes of the current line so far */
  char tail[UPG_SQL_TAIL];
  size_t tail_len;
  long long tables;    /* CREATE TABLE lines outside COPY data */
  long long dropped;   /* \restrict / \unrestrict lines dropped */
} upg_sql_stream;

/* Start a stream whose output opens with `\restrict KEY` (KEY: letters and
 * digits, at most UPG_SQL_KEY_MAX). */
void upg_sql_stream_init(upg_sql_stream *st, const char *key);

/* Filter LEN bytes of IN into OUT, which has room for LEN +
 * UPG_SQL_OUT_EXTRA bytes.  Returns the bytes written (0 when everything
 * was held back). */
size_t upg_sql_stream_feed(upg_sql_stream *st, const char *in, size_t len, char *out);

/* The end of the input: what is still held back, into OUT (room for
 * UPG_SQL_OUT_EXTRA bytes).  Returns the bytes written. */
size_t upg_sql_stream_end(upg_sql_stream *st, char *out);

#endif
