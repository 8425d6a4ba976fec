/* SPDX-License-Identifier: GPL-3.0-or-later */
/* pg.h -- `upgrade dump` and `upgrade restore`: a PostgreSQL database to an
 * upload-ready dump, and the platform's upgraded archive back into a new
 * database with its Odoo filestore.
 *
 * The connection is libpq's usual one: PGHOST, PGPORT, PGUSER, PGPASSWORD,
 * ~/.pgpass, PGSERVICE…; no password ever goes on a command line.  libpq
 * does the control work (versions, existence, CREATE/ALTER/COMMENT/DROP
 * DATABASE with quoted identifiers); PostgreSQL's own pg_dump, pg_restore
 * and psql move the data, run through child.h.
 *
 * Both functions return an exit status and set *doc (outcome.h); the
 * caller owns *doc.  They use only S's host (interrupts, notices, progress)
 * and can be called by `run` as they are: upg_pg_dump before the upload,
 * upg_pg_restore after the download.  A retry (run --continue) just calls
 * upg_pg_restore again: it drops its own marked leftover (ending the
 * sessions a killed run left in it: while a restore runs, it holds NEW's
 * claim, and a second restore into NEW is refused) and NEW.part, and
 * refuses (exit 2) once NEW exists -- which, for a job record that reached
 * the restore step, means it completed.
 */
#ifndef UPGRADE_PG_H
#define UPGRADE_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <jv.h>

#include "upgrade/settings.h"

typedef struct upg_dump_params {
  const char *database;   /* the database to dump (required) */
  const char *output;     /* default "<database>.dump" in the current directory */
  bool force;             /* replace an existing output */
  bool directory;         /* pg_dump -Fd (the rpc platform's), not -Fc */
  int jobs;               /* directory: pg_dump --jobs; 0 = upg_pg_default_jobs() (pgtool.h) */
} upg_dump_params;

/* "DATABASE.dump" (malloc'd): where a dump of DATABASE goes by default,
 * a file or (directory) a directory, as the platform's script names its
 * directory dump origin.dump. */
char *upg_pg_dump_default_output(const char *database);

/* pg_dump --no-owner DATABASE: --format=custom into OUTPUT.part (mode
 * 0600), or --format=directory --jobs=N into the directory OUTPUT.part
 * (dir_part.h); renamed to OUTPUT when pg_dump succeeded; a failed or
 * interrupted dump removes its .part (pg_dump cannot resume).  doc.dump =
 * {database, file, bytes, format: "pgdmp_custom" | "pgdmp_directory",
 * server_version, seconds}, and for a directory jobs and files (the files
 * pg_dump wrote in it; bytes is their sum). */
int upg_pg_dump(const upg_settings *s, const upg_dump_params *p, jv *doc);

typedef struct upg_restore_params {
  const char *file;            /* zip (dump.sql + filestore/), custom dump, SQL,
                                  or a directory: a directory dump or the
                                  rpc platform's download (dirdump.h) */
  const char *database;        /* NEW: must not exist */
  const char *filestore_from;  /* DB whose filestore NEW's starts from, or NULL */
  bool filestore_link;         /* hard links to DB's files (shared), not copies */
  const char *data_dir;        /* Odoo's data dir; NULL = ~/.local/share/Odoo */
  int jobs;                    /* pg_restore --jobs: a custom dump's, 0 = 1;
                                  a directory dump's, 0 =
                                  upg_pg_default_jobs() */
  const char *final_mark;      /* the comment NEW keeps once renamed (run
                                  --database: which job restored it); NULL:
                                  none */
  const char *restore_role;    /* the load role (pgrole.h); NULL: the
                                  connection's own */
  bool trust_dump;             /* skip the load role's checks */
} upg_restore_params;

/* NEW's temporary database is NEW UPG_RESTORE_TEMP_SUFFIX. */
#define UPG_RESTORE_TEMP_SUFFIX "__restoring"

/* Whether NEW is a name restore can use (PostgreSQL's length, less the
 * temporary name's suffix; a name Odoo's filestore can use).  0, or exit 2
 * with *doc (CLIENT:USAGE) naming the OPTION that gave NEW. */
int upg_pg_restore_check_name(const char *option, const char *database, jv *doc);

/* Restore FILE into NEW by way of the marked temporary database
 * NEW__restoring, renamed to NEW once complete.  The control connection
 * (libpq's usual one) checks the load role (pgrole.h; unless trust_dump),
 * creates NEW__restoring OWNER the load role, and after the load hands it
 * and what is in it over to its own role; psql / pg_restore connect as the
 * load role.  A leftover NEW__restoring counts as ours only with our mark
 * and owned by the load or the control role. NEW's filestore is built in
 * DATA_DIR/filestore/NEW.part and renamed at the end.  doc.restore =
 * {database, from, format, server_version, role (the load role), trusted,
 * filestore: {dir, copied, reflinked, linked, from_archive} | null,
 * seconds}.  A zip is held to its central directory (zip_limits.h): an
 * entry name twice, or a file entry without a size, is refused by the
 * scan; what its filestore/ declares must fit in the free space of
 * DATA_DIR's filesystem, checked before anything is made; an entry that
 * yields more than it declared is cut off there (exit 2, CLIENT:FILE,
 * nothing left). */
int upg_pg_restore(const upg_settings *s, const upg_restore_params *p, jv *doc);

/* ---- pure parts, unit-tested ---- */

enum upg_dump_format { UPG_DUMP_SQL = 0, UPG_DUMP_CUSTOM, UPG_DUMP_ZIP, UPG_DUMP_GZIP, UPG_DUMP_DIRECTORY };

/* What the first LEN bytes of a file say it is: "PK\3\4" a zip, "PGDMP" a
 * custom-format dump, 1f 8b gzip (SQL, gunzipped by restore), anything else
 * SQL.  A directory-format dump is a directory, not a file: restore tells
 * it by its toc.dat (dirdump.h), whose header says UPG_PGDMP_DIRECTORY. */
enum upg_dump_format upg_dump_format_of(const unsigned char *head, size_t len);
const char *upg_dump_format_name(enum upg_dump_format f);

/* Whether the file's first LEN bytes can begin a dump the platform or
 * restore takes: a custom-format dump, a zip, gzip, or SQL text (no NUL or
 * control bytes but whitespace).  false: WHAT (WHAT_LEN bytes) says what it
 * looks like instead ("an ELF executable", "binary data starting with 9c
 * 4e ..."). */
bool upg_dump_plausible(const unsigned char *head, size_t len, char *what, size_t what_len);

/* A pg_dump archive's header (a custom dump, or a directory dump's
 * toc.dat): archive version, format and, when readable, who made it. */
typedef struct upg_pgdmp_header {
  int vmaj, vmin, vrev;
  int format;               /* pg_dump's ArchiveFormat: UPG_PGDMP_CUSTOM,
                               UPG_PGDMP_DIRECTORY, ...; -1 if cut off */
  char server_version[64];  /* of the dumped server, "" if unknown */
  char dump_version[64];    /* of the pg_dump that wrote it, "" if unknown */
} upg_pgdmp_header;

/* Parse HEAD (the file's first LEN bytes): 0, or -1 when not a header. */
int upg_pgdmp_parse(const unsigned char *head, size_t len, upg_pgdmp_header *h);

/* The format byte of the header (pg_backup.h's ArchiveFormat): a custom
 * dump's says custom; a directory dump's toc.dat says tar (3: "the
 * directory is compatible with 'tar'", pg_backup_directory.c), never 5. */
#define UPG_PGDMP_CUSTOM 1
#define UPG_PGDMP_DIRECTORY 3

/* An archive version as one number, ordered as pg_dump's own. */
#define UPG_PGDMP_VERSION(maj, min, rev) ((maj) << 16 | (min) << 8 | (rev))
/* The newest archive version that the pg_restore of PostgreSQL MAJOR reads
 * (1.14.255 for 15); 0 if unknown. */
int upg_pgdmp_max_version(int major);
/* The oldest PostgreSQL major whose pg_restore reads VERSION (same
 * encoding); 0 if unknown. */
int upg_pgdmp_major_for(int version);

/* The major version in a version string ("pg_restore (PostgreSQL) 15.18
 * (Debian…)", "16.2", "9.6.24"): 15, 16, 9; 0 if none. */
int upg_pg_major_of(const char *text);

/* Whether the psql that said TEXT ("psql (PostgreSQL) 15.20 (Debian…)")
 * has restricted mode (\restrict, CVE-2025-8714): 13.22, 14.19, 15.14,
 * 16.10, 17.6 and any 18+.  1 or 0. */
int upg_psql_has_restrict(const char *text);

/* Whether LINE of `pg_restore --list` is a table's entry ("215; 1259 16386
 * TABLE public res_partner odoo"), not TABLE DATA, TABLE ATTACH or a
 * comment.  1 or 0. */
int upg_pg_list_is_table(const char *line);

/* A path inside an archive that may be written under a directory: relative,
 * no "..", no empty or "." component; 0 if safe, -1 if not. */
int upg_archive_path_safe(const char *path);

#endif
