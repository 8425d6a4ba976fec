/* SPDX-License-Identifier: GPL-3.0-or-later */
/* run.h -- `run`: the whole job in one call, resumable (run.c). */
#ifndef UPGRADE_RUN_H
#define UPGRADE_RUN_H

#include <stdbool.h>
#include <jv.h>

#include "upgrade/api.h"
#include "upgrade/settings.h"

typedef struct upg_run_params {
  upg_create_params create;  /* filename defaults to DUMP's base name */
  const char *dump;          /* NULL with a database: "<database>.dump" */
  const char *database;      /* --database: dump it first, restore after */
  const char *restore_as;    /* default run_pg.h's upg_run_pg_free_target */
  bool reuse_dump;           /* --reuse-dump: upload the existing DUMP, no pg_dump */
  bool remove_dumps;         /* --remove-dumps: DUMP and the download go once
                                restored (this call's choice, not recorded) */
  bool no_restore;           /* --no-restore: end with the download */
  const char *data_dir;      /* Odoo's data dir (pg.h); NULL: found
                                (run_pg.h's upg_run_pg_find_filestore) */
  bool no_filestore;         /* --no-filestore: restore without DB's files */
  int jobs;                  /* pg_restore --jobs; 0: 1; under rpc also
                                pg_dump --jobs of the directory dump */
  bool filestore_link;       /* hard links to DB's filestore (pg.h); this
                                call's choice, not recorded */
  const char *restore_role;  /* the load role (pgrole.h); NULL: the connection's */
  bool trust_dump;           /* --trust-dump: the load role unchecked */
  const char *output;        /* default upgraded_<base name of DUMP>; with a
                                restore upgraded_<restore_as>.dump */
  bool log;                  /* --log: the platform's log on stderr while
                                waiting (rpc only: v1 keeps none, exit 2) */
  bool sftp, force;          /* force: the output may be replaced, and only that */
  bool resume;               /* --continue: go on from DUMP.upgrade.json */
  bool new_request;          /* --new: a new request even if a job is open */
  bool url_given;            /* --url was given (not $UPGRADE_URL): with
                                --continue it must match the record's */
  double interval, timeout;
} upg_run_params;

/* create, upload, process, wait, download, recording each step in
 * DUMP.upgrade.json (runstate.h); with a database, first pg_dump it into
 * DUMP and at the end restore the download into a new database (pg.h,
 * run_pg.h), after checking before anything else that this database does
 * not exist.  The platform is S's dialect for a new job, the record's
 * with --continue (platform.h).  Under rpc (run_rpc.h) the dump of a
 * database is a directory-format dump, the download a directory beside
 * the dump holding the upgraded dump, filestore/, the report and the log
 * (*doc's "files" names them), and a request whose process said that
 * PostgreSQL's versions do not fit is downloaded but not restored (*doc's
 * "not_restored" and stderr say why; exit 0); a --continue of a request
 * the platform reports archived is exit 1 (SERVER:ARCHIVED).  *doc ends with what the steps of this call produced: "dump",
 * the last status's "request", the download's "transfer", "restore"; a
 * failed step adds "step": its name, and "request" (id and key) so that a
 * caller can name it.  Holds an
 * exclusive lock on DUMP while it runs: a second run on it is refused at
 * once (exit 2).  With --continue, a --url, -o or --sftp that disagrees with
 * the record is refused (exit 2, CLIENT:USAGE).  S is borrowed; its
 * request, key and URL are the job's during the call and the caller's
 * again afterwards. */
int upg_run(upg_settings *s, const upg_run_params *p, jv *doc);

#endif
