/* run_pg.c -- the PostgreSQL ends of `upgrade run --database` (run_pg.h). */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upgrade/human.h"
#include "upgrade/outcome.h"
#include "upgrade/pg.h"
#include "upgrade/pgconn.h"
#include "upgrade/run_pg.h"

char *
upg_run_pg_default_target(const char *database, const char *target)
{
  char *name = NULL;
  return asprintf(&name, "%s_%s", database, target ? target : "upgraded") < 0 ? NULL : name;
}

/* "upgrade run: request ID" (malloc'd). */
static char *
job_mark(const upg_runstate *rs)
{
  char *mark = NULL;
  return asprintf(&mark, "upgrade run: request %s", rs->request) < 0 ? NULL : mark;
}

static int
target_exists(const char *name, jv *doc)
{
  return upg_fail(doc, UPG_EXIT_USAGE,
                  upg_failure("CLIENT:DATABASE", "database %s exists: run never restores into an existing "
                              "database (choose another name with --restore-as, or --no-restore)", name));
}

/* Whether NAME is the job's own restore (it holds MARK): *done = true; no
 * such database: false.  0, or a status with *doc (a database of that
 * name that is someone else's -- any, when MARK is NULL --, or no
 * server). */
static int
restored_already(const char *name, const char *mark, bool *done, jv *doc)
{
  int status;
  PGconn *c = upg_pg_connect(NULL, &status, doc);
  if (!c)
    return status;
  char *comment = NULL;
  int found = upg_pg_db_exists(c, name, mark ? &comment : NULL, doc);
  PQfinish(c);
  bool ours = mark && comment && strcmp(comment, mark) == 0;
  free(comment);
  if (found < 0)
    return UPG_EXIT_TRANSPORT;
  if (found && !ours)
    return target_exists(name, doc);
  *done = found;
  return 0;
}

int
upg_run_pg_check_target(const char *restore_as, jv *doc)
{
  bool done = false;
  int status = upg_pg_restore_check_name("--restore-as", restore_as, doc);
  return status ? status : restored_already(restore_as, NULL, &done, doc);
}

int
upg_run_pg_restore(const upg_settings *s, const upg_runstate *rs, int jobs, bool link, jv *doc)
{
  char *mark = job_mark(rs);
  if (!mark)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "out of memory"));
  bool done = false;
  int status = restored_already(rs->restore_as, mark, &done, doc);
  if (!status && done) {
    upg_notice(s, "database %s is already this job's restore of %s", rs->restore_as, rs->output);
    *doc = upg_doc_with("restore", JV_OBJECT(jv_string("database"), jv_string(rs->restore_as),
                                             jv_string("from"), jv_string(rs->output),
                                             jv_string("already"), jv_true()));
  } else if (!status) {
    upg_restore_params p = { .file = rs->output, .database = rs->restore_as, .filestore_from = rs->database,
                             .data_dir = rs->data_dir, .jobs = jobs, .final_mark = mark,
                             .filestore_link = link };
    status = upg_pg_restore(s, &p, doc);
  }
  free(mark);
  return status;
}

void
upg_run_pg_unmark(const upg_settings *s, const upg_runstate *rs)
{
  int status;
  jv doc = jv_invalid();
  char *mark = job_mark(rs);
  PGconn *c = mark ? upg_pg_connect(NULL, &status, &doc) : NULL;
  char *comment = NULL;
  /* Only the job's own mark goes: a comment someone set since stays. */
  if (c && upg_pg_db_exists(c, rs->restore_as, &comment, &doc) == 1 && comment && strcmp(comment, mark) == 0)
    status = upg_pg_db_comment(c, rs->restore_as, NULL, &doc);
  else
    status = c ? 0 : 1;
  if (status)
    upg_notice(s, "could not remove the job's mark (COMMENT ON DATABASE) from %s", rs->restore_as);
  if (c)
    PQfinish(c);
  free(comment);
  free(mark);
  jv_free(doc);
}
