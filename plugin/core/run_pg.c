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
#include "upgrade/pgrole.h"
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

static int
not_the_jobs(const char *name, jv *doc)
{
  return upg_fail(doc, UPG_EXIT_USAGE,
                  upg_failure("CLIENT:DATABASE", "database %s exists and is not this job's (it carries the "
                              "job's mark but another role owns it): run never touches it (choose another "
                              "name with --restore-as)", name));
}

/* Whether NAME, on C, is the job's own restore: it holds MARK and is
 * owned by C's role (restore hands it over before the rename; a mark
 * anyone with CREATEDB can copy, the owner they cannot choose): *done =
 * true; no such database: false.  0, or a status with *doc (a database
 * of that name that is someone else's -- any, when MARK is NULL). */
static int
restored_already(PGconn *c, const char *name, const char *mark, bool *done, jv *doc)
{
  char *comment = NULL, *owner = NULL, *load = NULL, *control = NULL;
  int found = upg_pg_db_lookup(c, name, &comment, &owner, doc);
  int status = found < 0 ? UPG_EXIT_TRANSPORT : 0;
  bool marked = mark && comment && strcmp(comment, mark) == 0;
  if (!status && found && marked && !(status = upg_pg_roles(c, NULL, &load, &control, doc)))
    status = owner && strcmp(owner, control) == 0 ? 0 : not_the_jobs(name, doc);
  else if (!status && found && !marked)
    status = target_exists(name, doc);
  *done = !status && found;
  free(comment);
  free(owner);
  free(load);
  free(control);
  return status;
}

/* The same on a connection of its own. */
static int
restored_already_on_server(const char *name, const char *mark, bool *done, jv *doc)
{
  int status;
  PGconn *c = upg_pg_connect(NULL, &status, doc);
  if (!c)
    return status;
  status = restored_already(c, name, mark, done, doc);
  PQfinish(c);
  return status;
}

/* The load role may load the platform's dump (pgrole.h), checked now
 * rather than hours later, after the upgrade. */
static int
check_load_role(PGconn *c, const char *restore_as, const char *role, bool trust_dump, jv *doc)
{
  char *load = NULL, *control = NULL, *temp = NULL;
  int status = upg_pg_roles(c, role, &load, &control, doc);
  if (!status && asprintf(&temp, "%s%s", restore_as, UPG_RESTORE_TEMP_SUFFIX) < 0) {
    temp = NULL;
    status = upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "out of memory"));
  }
  if (!status)
    status = upg_pg_role_control(c, control, load, doc);
  if (!status && !trust_dump)
    status = upg_pg_role_check(c, load, temp, doc);
  free(load);
  free(control);
  free(temp);
  return status;
}

int
upg_run_pg_check_target(const char *restore_as, const char *role, bool trust_dump, jv *doc)
{
  bool done = false;
  int status = upg_pg_restore_check_name("--restore-as", restore_as, doc);
  if (status)
    return status;
  PGconn *c = upg_pg_connect(NULL, &status, doc);
  if (!c)
    return status;
  status = restored_already(c, restore_as, NULL, &done, doc);
  if (!status)
    status = check_load_role(c, restore_as, role, trust_dump, doc);
  PQfinish(c);
  return status;
}

int
upg_run_pg_restore(const upg_settings *s, const upg_runstate *rs, const upg_run_pg_load *load, jv *doc)
{
  char *mark = job_mark(rs);
  if (!mark)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "out of memory"));
  bool done = false;
  int status = restored_already_on_server(rs->restore_as, mark, &done, doc);
  if (!status && done) {
    upg_notice(s, "database %s is already this job's restore of %s", rs->restore_as, rs->output);
    *doc = upg_doc_with("restore", JV_OBJECT(jv_string("database"), jv_string(rs->restore_as),
                                             jv_string("from"), jv_string(rs->output),
                                             jv_string("already"), jv_true()));
  } else if (!status) {
    upg_restore_params p = { .file = rs->output, .database = rs->restore_as, .filestore_from = rs->database,
                             .data_dir = rs->data_dir, .jobs = load->jobs, .final_mark = mark,
                             .restore_role = load->role, .trust_dump = load->trust_dump,
                             .filestore_link = load->link };
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
