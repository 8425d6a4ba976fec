/* SPDX-License-Identifier: GPL-3.0-or-later */
/* run_pg.h -- the PostgreSQL ends of `upgrade run --database DB`
 * (run_pg.c): the target checked before anything starts, and the restore
 * of the downloaded dump told apart from a database that is not the job's.
 *
 * The restored database carries a mark of its job (COMMENT ON DATABASE,
 * "upgrade run: request ID") from the moment it gets its final name until
 * the job record says "restored": so a --continue after a crash between
 * the restore and the record finds the job's own database and does not
 * restore again, while a database of that name made by anyone else is
 * never taken for it.  The mark is removed when the job closes.
 *
 * Unless RS's no_filestore, the restore ends 0 only when every file that
 * NEW's ir_attachment rows name is in NEW's filestore (else exit 2,
 * CLIENT:FILE, the record left at "downloaded": --continue checks again).
 */
#ifndef UPGRADE_RUN_PG_H
#define UPGRADE_RUN_PG_H

#include <stdbool.h>
#include <time.h>
#include <jv.h>

#include "upgrade/runstate.h"
#include "upgrade/settings.h"

/* "DB_test_TARGET_YYYY_MM_DD_HH_MM" (malloc'd), the platform's own
 * script's name for a test database, with "_N" when N > 1: the database run
 * restores into by default.  DB is cut (never inside a UTF-8 character)
 * so that the name keeps within PostgreSQL's 63 bytes less
 * UPG_RESTORE_TEMP_SUFFIX; NULL when TARGET alone is too long.  Pure. */
char *upg_run_pg_default_target(const char *database, const char *target, const struct tm *when, int n);

/* The default name for now (local time) that is free on the server: no
 * database of that name and no DATA_DIR/filestore/NAME; the same minute's
 * second run gets "_2", and so on.  *name malloc'd; 0 or status with *doc. */
int upg_run_pg_free_target(const char *database, const char *target, const char *data_dir, char **name, jv *doc);

/* Before a job starts: NEW must be a name restore accepts and must not
 * exist, nor its filestore DATA_DIR/filestore/NEW (DATA_DIR NULL: the
 * default, filestore.h), and unless TRUST_DUMP the load role ROLE (NULL: the connection's
 * own) must pass pgrole.h's checks (exit 2, CLIENT:USAGE or
 * CLIENT:DATABASE; 3 when the server cannot be reached).  0 or a status
 * with *doc. */
int upg_run_pg_check_target(const char *restore_as, const char *data_dir, const char *role, bool trust_dump,
                            jv *doc);

/* Before a job starts: the data dir that holds DATABASE's filestore
 * (DATA_DIR/filestore/DATABASE) into *found (malloc'd): DATA_DIR when
 * given, else ~/.local/share/Odoo, else the odoo system user's
 * (getpwnam: Debian's /var/lib/odoo/.local/share/Odoo).  None found: NULL,
 * and unless NO_FILESTORE, exit 2 (CLIENT:FILE, naming --data-dir and
 * --no-filestore) when DATABASE's ir_attachment rows keep files in a
 * filestore (asked through libpq).  0 or a status with *doc. */
int upg_run_pg_find_filestore(const char *database, const char *data_dir, bool no_filestore, char **found,
                              jv *doc);

/* How the restore loads the dump (pg.h's upg_restore_params). */
typedef struct upg_run_pg_load {
  int jobs;                 /* pg_restore --jobs; 0: 1 */
  const char *role;         /* --restore-role; NULL: the connection's own */
  bool trust_dump;          /* --trust-dump */
  bool link;                /* the filestore hard-linked to DB's (pg.h's
                               filestore_link) */
} upg_run_pg_load;

/* Restore RS's download into RS's restore_as, with the filestore of RS's
 * database (none with RS's no_filestore), unless the job's own restore is already there (it carries the
 * job's mark and is owned by the connection's role: then *doc says so:
 * restore.already = true).  A database of that name without the job's
 * mark, or with it but another owner, is refused (exit 2). */
int upg_run_pg_restore(const upg_settings *s, const upg_runstate *rs, const upg_run_pg_load *load, jv *doc);

/* The job is closed: remove its mark from the restored database (a
 * failure is only a notice). */
void upg_run_pg_unmark(const upg_settings *s, const upg_runstate *rs);

#endif
