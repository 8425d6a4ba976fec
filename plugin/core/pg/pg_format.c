/* SPDX-License-Identifier: GPL-3.0-or-later */
/* pg_format.c -- what a dump file is, and which PostgreSQL reads it (the
 * pure parts of pg.h). */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upgrade/pg.h"

enum upg_dump_format
upg_dump_format_of(const unsigned char *head, size_t len)
{
  if (len >= 4 && memcmp(head, "PK\3\4", 4) == 0)
    return UPG_DUMP_ZIP;
  if (len >= 5 && memcmp(head, "PGDMP", 5) == 0)
    return UPG_DUMP_CUSTOM;
  if (len >= 2 && head[0] == 0x1f && head[1] == 0x8b)
    return UPG_DUMP_GZIP;
  return UPG_DUMP_SQL;
}

const char *
upg_dump_format_name(enum upg_dump_format f)
{
  switch (f) {
  case UPG_DUMP_ZIP: return "zip";
  case UPG_DUMP_CUSTOM: return "pgdmp_custom";
  case UPG_DUMP_GZIP: return "sql.gz";
  case UPG_DUMP_DIRECTORY: return "pgdmp_directory";
  case UPG_DUMP_SQL: break;
  }
  return "sql";
}

/* Whether HEAD is UTF-8 (its last character may be cut off by LEN). */
static bool
is_utf8(const unsigned char *head, size_t len)
{
  for (size_t i = 0; i < len;) {
    size_t n = head[i] < 0x80 ? 1 : (head[i] & 0xE0) == 0xC0 ? 2 : (head[i] & 0xF0) == 0xE0 ? 3
             : (head[i] & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0)
      return false;
    for (size_t k = 1; k < n && i + k < len; k++)
      if ((head[i + k] & 0xC0) != 0x80)
        return false;
    i += n;
  }
  return true;
}

/* Text as a SQL dump is: no NUL, no control character but tab, newline,
 * carriage return, form feed and escape; bytes from 0x80 are letters of
 * the database's encoding: UTF-8, or a single-byte one (then no C1
 * control, 0x80-0x9f, which is what random bytes soon show). */
static bool
looks_like_text(const unsigned char *head, size_t len)
{
  bool c1 = false;
  for (size_t i = 0; i < len; i++) {
    if (head[i] == 0 || head[i] == 0x7f || (head[i] < 0x20 && !strchr("\t\n\r\f\033", head[i])))
      return false;
    c1 = c1 || (head[i] >= 0x80 && head[i] < 0xa0);
  }
  return len > 0 && (!c1 || is_utf8(head, len));
}

/* Magic numbers a user may pick up by mistake, said by name. */
static const struct {
  const char *magic;
  size_t len;
  const char *name;
} known[] = {
  { "\x7f" "ELF", 4, "an ELF executable" },  { "BZh", 3, "bzip2 data" },
  { "\xfd" "7zXZ", 5, "xz data" },          { "\x28\xb5\x2f\xfd", 4, "zstd data" },
  { "7z\xbc\xaf", 4, "a 7-Zip archive" },   { "%PDF", 4, "a PDF document" },
  { "\x89PNG", 4, "a PNG image" },          { "SQLite format 3", 15, "an SQLite database" },
};

bool
upg_dump_plausible(const unsigned char *head, size_t len, char *what, size_t what_len)
{
  if (upg_dump_format_of(head, len) != UPG_DUMP_SQL)
    return true;
  /* before text: "BZh9" and "%PDF" begin in printable bytes */
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (len >= known[i].len && memcmp(head, known[i].magic, known[i].len) == 0) {
      snprintf(what, what_len, "%s", known[i].name);
      return false;
    }
  if (looks_like_text(head, len))
    return true;
  if (len >= 262 && memcmp(head + 257, "ustar", 5) == 0) {
    snprintf(what, what_len, "a tar archive");
    return false;
  }
  int n = snprintf(what, what_len, "binary data starting with");
  for (size_t i = 0; i < len && i < 8 && n > 0 && (size_t)n < what_len; i++)
    n += snprintf(what + n, what_len - (size_t)n, " %02x", head[i]);
  return false;
}

#define ARCHIVE_VERSION UPG_PGDMP_VERSION

/* pg_backup_archiver.h: K_VERS_1_14 (tableam) came with PostgreSQL 12,
 * K_VERS_1_15 (compression algorithm) with 16, K_VERS_1_16 (BLOB
 * METADATA) with 17; each pg_restore reads up to its minor's rev 255. */
int
upg_pgdmp_max_version(int major)
{
  if (major >= 17)
    return ARCHIVE_VERSION(1, 16, 255);
  if (major == 16)
    return ARCHIVE_VERSION(1, 15, 255);
  if (major >= 12)
    return ARCHIVE_VERSION(1, 14, 255);
  if (major >= 10)
    return ARCHIVE_VERSION(1, 13, 255);
  return 0;
}

int
upg_pgdmp_major_for(int version)
{
  if (version > ARCHIVE_VERSION(1, 16, 255))
    return 0; /* newer than any PostgreSQL we know */
  if (version >= ARCHIVE_VERSION(1, 16, 0))
    return 17;
  if (version >= ARCHIVE_VERSION(1, 15, 0))
    return 16;
  if (version >= ARCHIVE_VERSION(1, 14, 0))
    return 12;
  return 10;
}

/* The archive's integers: a sign byte, then INT_SIZE bytes, least first. */
struct reader {
  const unsigned char *p, *end;
  int int_size;
};

static int
read_int(struct reader *r, long *out)
{
  if (r->end - r->p < 1 + r->int_size)
    return -1;
  int negative = *r->p++;
  unsigned long v = 0;
  for (int i = 0; i < r->int_size; i++)
    v |= (unsigned long)*r->p++ << (8 * i);
  *out = negative ? -(long)v : (long)v;
  return 0;
}

static int
read_str(struct reader *r, char *buf, size_t size)
{
  long len;
  if (read_int(r, &len) != 0)
    return -1;
  if (len < 0) {
    buf[0] = '\0';
    return 0;
  }
  if (len > r->end - r->p)
    return -1;
  size_t n = (size_t)len < size - 1 ? (size_t)len : size - 1;
  memcpy(buf, r->p, n);
  buf[n] = '\0';
  for (size_t i = 0; i < n; i++)
    if (!isprint((unsigned char)buf[i]))
      buf[i] = '?';
  r->p += len;
  return 0;
}

/* After the version: int and offset sizes, format, compression, the
 * dump's time, the database name, then (1.10+) the versions we want. */
static void
parse_versions(struct reader *r, upg_pgdmp_header *h)
{
  long ignored;
  char name[256];
  int version = ARCHIVE_VERSION(h->vmaj, h->vmin, h->vrev);

  if (r->end - r->p < 3)
    return;
  r->int_size = r->p[0];
  h->format = r->p[2];
  if (r->int_size < 1 || r->int_size > 8)
    return;
  r->p += 3; /* int size, offset size, format */
  if (version >= ARCHIVE_VERSION(1, 15, 0))
    r->p++; /* compression algorithm: one byte */
  else if (read_int(r, &ignored) != 0)
    return;
  for (int i = 0; i < 7; i++) /* sec, min, hour, mday, mon, year, isdst */
    if (read_int(r, &ignored) != 0)
      return;
  if (version < ARCHIVE_VERSION(1, 10, 0) || read_str(r, name, sizeof name) != 0
      || read_str(r, h->server_version, sizeof h->server_version) != 0
      || read_str(r, h->dump_version, sizeof h->dump_version) != 0)
    return;
}

int
upg_pgdmp_parse(const unsigned char *head, size_t len, upg_pgdmp_header *h)
{
  memset(h, 0, sizeof *h);
  if (len < 8 || memcmp(head, "PGDMP", 5) != 0)
    return -1;
  h->vmaj = head[5];
  h->vmin = head[6];
  h->vrev = head[7];
  h->format = -1;
  struct reader r = { head + 8, head + len, 0 };
  parse_versions(&r, h);
  return 0;
}

/* Where the version starts in TEXT: the first number not inside a word or
 * after a dot; NULL if none. */
static const char *
version_start(const char *text)
{
  for (const char *p = text; *p; p++)
    if (isdigit((unsigned char)*p) && !(p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '.')))
      return p;
  return NULL;
}

int
upg_pg_major_of(const char *text)
{
  const char *p = version_start(text);
  return p ? atoi(p) : 0;
}

/* The first release of each supported major with \restrict (August
 * 2025).  A false "yes" fails closed: psql then stops at an unknown
 * command \restrict. */
int
upg_psql_has_restrict(const char *text)
{
  static const int first_minor[][2] = { { 13, 22 }, { 14, 19 }, { 15, 14 }, { 16, 10 }, { 17, 6 } };
  const char *v = version_start(text);
  if (!v)
    return 0;
  char *end;
  long major = strtol(v, &end, 10);
  long minor = *end == '.' ? strtol(end + 1, NULL, 10) : 0;
  if (major >= 18)
    return 1;
  for (size_t i = 0; i < sizeof first_minor / sizeof *first_minor; i++)
    if (first_minor[i][0] == major)
      return minor >= first_minor[i][1];
  return 0;
}

int
upg_pg_list_is_table(const char *line)
{
  /* "%d; %u %u " then the entry's kind, which may hold spaces */
  const char *p = line;
  for (int field = 0; field < 3; field++) {
    if (!isdigit((unsigned char)*p))
      return 0;
    while (isdigit((unsigned char)*p))
      p++;
    if (field == 0 && *p++ != ';')
      return 0;
    if (*p++ != ' ')
      return 0;
  }
  return strncmp(p, "TABLE ", 6) == 0 && strncmp(p, "TABLE DATA ", 11) != 0
      && strncmp(p, "TABLE ATTACH ", 13) != 0;
}

int
upg_archive_path_safe(const char *path)
{
  if (!*path || path[0] == '/')
    return -1;
  for (const char *p = path; *p;) {
    const char *slash = strchr(p, '/');
    size_t len = slash ? (size_t)(slash - p) : strlen(p);
    if ((len == 0 && slash) || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
      return -1;
    if (memchr(p, '\\', len))
      return -1; /* a Windows separator would hide a ".." */
    p += len + (slash ? 1 : 0);
  }
  return 0;
}
