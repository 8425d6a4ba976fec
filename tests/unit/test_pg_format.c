/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: dump kinds, custom-format headers, versions, archive paths
 * (plugin/core/pg/pg_format.c). */
#include "config.h"

#include <string.h>

#include "tap.h"
#include "upgrade/pg.h"

/* A 1.14 header as pg_dump 15 writes it: int size 4, offset size 8,
 * format 1 (custom), compression -1, seven time ints, three strings. */
static size_t
header_1_14(unsigned char *b)
{
  size_t n = 0;
  memcpy(b, "PGDMP\1\16\0\4\10\1", 11);
  n = 11;
#define INT(v) do { int v_ = (v); b[n++] = v_ < 0; unsigned u_ = (unsigned)(v_ < 0 ? -v_ : v_); \
    for (int i_ = 0; i_ < 4; i_++) b[n++] = (unsigned char)(u_ >> (8 * i_)); } while (0)
#define STR(s) do { INT((int)strlen(s)); memcpy(b + n, s, strlen(s)); n += strlen(s); } while (0)
  INT(-1);
  for (int i = 0; i < 7; i++)
    INT(i);
  STR("src");
  STR("15.18 (Debian 15.18-0+deb12u1)");
  STR("15.18 (Debian 15.18-0+deb12u1)");
  return n;
}

int
main(void)
{
  is_str(upg_dump_format_name(upg_dump_format_of((const unsigned char *)"PK\3\4rest", 8)), "zip", "zip magic");
  is_str(upg_dump_format_name(upg_dump_format_of((const unsigned char *)"PGDMP\1\16\0", 8)), "pgdmp_custom",
         "custom magic");
  is_str(upg_dump_format_name(upg_dump_format_of((const unsigned char *)"--\n-- PostgreSQL", 16)), "sql",
         "anything else is SQL");
  is_str(upg_dump_format_name(upg_dump_format_of((const unsigned char *)"PK", 2)), "sql", "short file");
  is_str(upg_dump_format_name(upg_dump_format_of((const unsigned char *)"\x1f\x8b\x08\0", 4)), "sql.gz",
         "gzip magic: SQL, gunzipped");

  /* what upload, sftp-put and run take (issue 18, item 5) */
  char what[128] = "";
  ok(upg_dump_plausible((const unsigned char *)"PGDMP\1\16\0\xff", 9, what, sizeof what), "a custom dump");
  ok(upg_dump_plausible((const unsigned char *)"PK\3\4\0\0", 6, what, sizeof what), "a zip");
  ok(upg_dump_plausible((const unsigned char *)"\x1f\x8b\x08\0\0", 5, what, sizeof what), "gzip");
  ok(upg_dump_plausible((const unsigned char *)"--\n-- PostgreSQL d\xc3\xa9j\xe0\r\n\tSET x;\f", 28, what,
                        sizeof what), "SQL text, in any encoding, with tabs and CRLF");
  ok(!upg_dump_plausible((const unsigned char *)"CREATE\0TABLE", 12, what, sizeof what)
     && strcmp(what, "binary data starting with 43 52 45 41 54 45 00 54") == 0, "a NUL: binary, its first bytes (%s)", what);
  ok(!upg_dump_plausible((const unsigned char *)"\x7f" "ELF\2\1\1", 7, what, sizeof what)
     && strcmp(what, "an ELF executable") == 0, "an executable, by name");
  ok(!upg_dump_plausible((const unsigned char *)"BZh91AY", 7, what, sizeof what) && strstr(what, "bzip2"),
     "bzip2: not taken (only gzip is)");
  ok(!upg_dump_plausible((const unsigned char *)"\x9c\x4e", 2, what, sizeof what)
     && strcmp(what, "binary data starting with 9c 4e") == 0, "a short binary head");

  unsigned char b[512];
  size_t n = header_1_14(b);
  upg_pgdmp_header h;
  ok(upg_pgdmp_parse(b, n, &h) == 0 && h.vmaj == 1 && h.vmin == 14 && h.vrev == 0, "1.14.0 parsed");
  is_str(h.server_version, "15.18 (Debian 15.18-0+deb12u1)", "server version from the header");
  ok(h.format == UPG_PGDMP_CUSTOM, "a custom dump's format byte");
  b[10] = UPG_PGDMP_DIRECTORY;
  ok(upg_pgdmp_parse(b, n, &h) == 0 && h.format == UPG_PGDMP_DIRECTORY && !strcmp(h.dump_version, h.server_version),
     "a directory dump's toc.dat: its format, the rest read as a custom header");
  ok(upg_pgdmp_parse(b, 12, &h) == 0 && h.vmin == 14 && !*h.dump_version, "a cut header keeps the version");
  ok(upg_pgdmp_parse(b, 9, &h) == 0 && h.format == -1, "a header cut before its format: unknown");
  is_str(upg_dump_format_name(UPG_DUMP_DIRECTORY), "pgdmp_directory", "the directory kind's name");
  ok(upg_pgdmp_parse((const unsigned char *)"PGDMX\1\16\0", 8, &h) != 0, "not a header");

  ok(upg_pgdmp_max_version(15) == UPG_PGDMP_VERSION(1, 14, 255), "PostgreSQL 15 reads up to 1.14");
  ok(upg_pgdmp_max_version(16) == UPG_PGDMP_VERSION(1, 15, 255), "16 reads 1.15");
  ok(upg_pgdmp_max_version(17) == UPG_PGDMP_VERSION(1, 16, 255), "17 reads 1.16");
  ok(upg_pgdmp_major_for(UPG_PGDMP_VERSION(1, 15, 0)) == 16 && upg_pgdmp_major_for(UPG_PGDMP_VERSION(1, 16, 0)) == 17
     && upg_pgdmp_major_for(UPG_PGDMP_VERSION(1, 14, 0)) == 12,
     "which major reads which version");
  ok(upg_pgdmp_major_for(UPG_PGDMP_VERSION(1, 17, 0)) == 0, "a version newer than any known");

  ok(upg_pg_major_of("pg_restore (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)") == 15, "major of --version");
  ok(upg_pg_major_of("9.6.24") == 9 && upg_pg_major_of("none") == 0, "old and missing majors");

  ok(upg_psql_has_restrict("psql (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"), "Debian 12's psql 15.20 has \\restrict");
  ok(upg_psql_has_restrict("psql (PostgreSQL) 15.14") && !upg_psql_has_restrict("psql (PostgreSQL) 15.13 (Debian 15.13-0+deb12u1)"),
     "15.14 has it, 15.13 not");
  ok(upg_psql_has_restrict("psql (PostgreSQL) 16.10") && !upg_psql_has_restrict("psql (PostgreSQL) 16.9"),
     "16.10 has it, 16.9 not");
  ok(upg_psql_has_restrict("psql (PostgreSQL) 17.6") && !upg_psql_has_restrict("psql (PostgreSQL) 17.5"),
     "17.6 has it, 17.5 not");
  ok(upg_psql_has_restrict("psql (PostgreSQL) 14.19") && !upg_psql_has_restrict("psql (PostgreSQL) 14.18")
     && upg_psql_has_restrict("psql (PostgreSQL) 13.22") && !upg_psql_has_restrict("psql (PostgreSQL) 13.21"),
     "14.19 and 13.22 have it, 14.18 and 13.21 not");
  ok(upg_psql_has_restrict("psql (PostgreSQL) 18.1") && upg_psql_has_restrict("psql (PostgreSQL) 19devel"),
     "18 and later have it");
  ok(!upg_psql_has_restrict("psql (PostgreSQL) 12.22") && !upg_psql_has_restrict("psql (PostgreSQL) 9.6.24")
     && !upg_psql_has_restrict("psql (PostgreSQL) 17devel") && !upg_psql_has_restrict("no version"),
     "12 and older, a 17 before 17.6, no version: not");

  ok(upg_pg_list_is_table("215; 1259 16386 TABLE public res_partner odoo"), "a TABLE entry of pg_restore --list");
  ok(!upg_pg_list_is_table("3423; 0 16386 TABLE DATA public res_partner odoo")
     && !upg_pg_list_is_table("3300; 0 0 TABLE ATTACH public p_1 odoo")
     && !upg_pg_list_is_table("214; 1259 16385 SEQUENCE public res_partner_id_seq odoo")
     && !upg_pg_list_is_table("; TABLE public x") && !upg_pg_list_is_table("TABLE public x y")
     && !upg_pg_list_is_table("") && !upg_pg_list_is_table("12 1259 1 TABLE public x y"),
     "TABLE DATA, TABLE ATTACH, other kinds, comments and malformed lines are not tables");

  ok(upg_archive_path_safe("ab/abcdef") == 0 && upg_archive_path_safe("ab/") == 0, "plain paths are safe");
  ok(upg_archive_path_safe("/etc/passwd") != 0, "absolute refused");
  ok(upg_archive_path_safe("ab/../../x") != 0 && upg_archive_path_safe("..") != 0, ".. refused");
  ok(upg_archive_path_safe("a//b") != 0 && upg_archive_path_safe("./a") != 0, "empty and . refused");
  ok(upg_archive_path_safe("a\\..\\b") != 0, "backslashes refused");
  ok(upg_archive_path_safe("") != 0, "empty refused");
  return tap_done();
}
