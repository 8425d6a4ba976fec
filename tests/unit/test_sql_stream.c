/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: the restricted-mode filter of plain SQL
 * (plugin/core/pg/sql_stream.c), fed whole and in every small piece size, so
 * that lines straddle the buffers. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "upgrade/sql_stream.h"

#define PREFIX "\\restrict K3y \\\\ "

/* IN through a stream in pieces of PIECE bytes (0: whole); the output,
 * malloc'd, and the stream's counts in *st. */
static char *
filter(const char *in, size_t piece, upg_sql_stream *st)
{
  size_t len = strlen(in);
  char *out = malloc(len + UPG_SQL_OUT_EXTRA * (len + 2) + 1);
  size_t o = 0;
  upg_sql_stream_init(st, "K3y");
  for (size_t at = 0; at < len;) {
    size_t n = piece && len - at > piece ? piece : len - at;
    o += upg_sql_stream_feed(st, in + at, n, out + o);
    at += n;
  }
  o += upg_sql_stream_end(st, out + o);
  out[o] = '\0';
  return out;
}

/* IN gives WANT whole and in pieces of 1..9 and 255..257 bytes. */
static void
check(const char *what, const char *in, const char *want, long long tables)
{
  static const size_t pieces[] = { 0, 1, 2, 3, 5, 7, 9, 255, 256, 257 };
  int same = 1;
  for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) {
    upg_sql_stream st;
    char *got = filter(in, pieces[i], &st);
    if (strcmp(got, want) != 0 || st.tables != tables) {
      printf("#   pieces of %zu: got %lld tables and:\n%s\n", pieces[i], st.tables, got);
      same = 0;
    }
    free(got);
  }
  ok(same, "%s", what);
}

static char *
repeat(char c, size_t n)
{
  char *s = malloc(n + 1);
  memset(s, c, n);
  s[n] = '\0';
  return s;
}

int
main(void)
{
  check("plain SQL passes unchanged after our \\restrict, spliced before the first line",
        "SET x = 1;\nSELECT 1;\n", PREFIX "SET x = 1;\nSELECT 1;\n", 0);
  check("an empty input is our \\restrict alone", "", PREFIX, 0);
  check("pg_dump's own \\restrict/\\unrestrict lines become empty lines (line numbers kept)",
        "--\n\\restrict abcXYZ09\n\nSELECT 1;\n\\unrestrict abcXYZ09\n",
        PREFIX "--\n\n\nSELECT 1;\n\n", 0);
  check("a \\restrict first line leaves our prefix on a line of its own",
        "\\restrict abc\nSELECT 1;\n", PREFIX "\nSELECT 1;\n", 0);
  check("COPY rows that look like \\restrict lines survive byte-exact; after \\. they are dropped again",
        "COPY public.t (a) FROM stdin;\n\\restrict abc\n\\unrestrict abc\n\\N\n\\\\x\n\\.\n\\unrestrict abc\n",
        PREFIX "COPY public.t (a) FROM stdin;\n\\restrict abc\n\\unrestrict abc\n\\N\n\\\\x\n\\.\n\n", 0);
  check("COPY data ends only at a line \\. alone (\\.x and \\. inside a row do not)",
        "COPY t FROM stdin;\n\\.x\na\\.\n\\restrict k\n\\.\r\n\\restrict k\n",
        PREFIX "COPY t FROM stdin;\n\\.x\na\\.\n\\restrict k\n\\.\r\n\n", 0);
  check("a COPY line ending in CRLF starts COPY data",
        "copy t from STDIN;\r\n\\restrict k\n\\.\n",
        PREFIX "copy t from STDIN;\r\n\\restrict k\n\\.\n", 0);
  check("other backslash commands are let through (psql refuses them)",
        "\\! id\n\\set ON_ERROR_STOP off\n\\restrict a b\n\\restrict\n\\unrestrict a;b\n",
        PREFIX "\\! id\n\\set ON_ERROR_STOP off\n\\restrict a b\n\\restrict\n\\unrestrict a;b\n", 0);
  check("a last line without newline is dropped whole, or let through",
        "SELECT 1;\n\\unrestrict abc", PREFIX "SELECT 1;\n", 0);
  check("a last \\! without newline is let through", "\\! id", PREFIX "\\! id", 0);
  check("CREATE TABLE and CREATE UNLOGGED TABLE at a line's start outside COPY data are counted",
        "CREATE TABLE public.a (\n x int\n);\ncreate unlogged table b ();\n  CREATE TABLE c ();\n"
        "CREATE TEMP TABLE d ();\nCOPY a FROM stdin;\nCREATE TABLE e ();\n\\.\nCREATE TABLE f ();\n",
        PREFIX "CREATE TABLE public.a (\n x int\n);\ncreate unlogged table b ();\n  CREATE TABLE c ();\n"
        "CREATE TEMP TABLE d ();\nCOPY a FROM stdin;\nCREATE TABLE e ();\n\\.\nCREATE TABLE f ();\n", 3);

  /* a \restrict line longer than the hold is passed through whole */
  char *key = repeat('k', UPG_SQL_HOLD * 3);
  char *in = malloc(strlen(key) + 64), *want = malloc(strlen(key) + 128);
  sprintf(in, "\\restrict %s\nSELECT 1;\n", key);
  sprintf(want, PREFIX "%s", in);
  check("a line longer than the hold is passed through in pieces, never dropped in part", in, want, 0);
  /* a long COPY line still starts COPY data */
  char *cols = repeat('c', 5000);
  in = realloc(in, 2 * strlen(cols) + 128);
  want = realloc(want, 2 * strlen(cols) + 160);
  sprintf(in, "COPY t (%s) FROM stdin;\n\\restrict k\n\\.\n\\restrict k\n", cols);
  sprintf(want, PREFIX "COPY t (%s) FROM stdin;\n\\restrict k\n\\.\n\n", cols);
  check("a COPY line of 5000 bytes starts COPY data", in, want, 0);
  free(key);
  free(cols);
  free(in);
  free(want);

  upg_sql_stream st;
  char *out = filter("\\restrict a\n\\unrestrict a\n", 0, &st);
  ok(st.dropped == 2, "dropped lines are counted");
  free(out);
  return tap_done();
}
