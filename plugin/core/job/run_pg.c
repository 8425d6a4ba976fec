/* SPDX-License-Identifier: GPL-3.0-or-later */
/* run_pg.c -- the PostgreSQL ends of `upgrade run --database` (run_pg.h). */
#include "config.h"

#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "upgrade/filestore.h"
#include "upgrade/human.h"
#include "upgrade/outcome.h"
#include "upgrade/pg.h"
#include "upgrade/pgconn.h"
#include "upgrade/pgrole.h"
#include "upgrade/run_pg.h"
#include "upgrade/files.h"

/* PostgreSQL's 63 bytes, less the temporary name's suffix (pg.h). */
#define TARGET_MAX_BYTES (63 - (sizeof UPG_RESTORE_TEMP_SUFFIX - 1))

char *
upg_run_pg_default_target(const char *database, const char *target, const struct tm *when, int n)
{
  char tail[128], stamp[32], count[16] = "";
  if (n > 1)
    snprintf(count, sizeof count, "_%d", n);
  strftime(stamp, sizeof stamp, "%Y_%m_%d_%H_%M", when);
  int len = snprintf(tail, sizeof tail, "_test_%s_%s%s", target ? target : "upgraded", stamp, count);
  if (len < 0 || (size_t)len >= TARGET_MAX_BYTES)
    return NULL;
  /* DATABASE cut to what is left, never inside a UTF-8 character. */
  size_t keep = strlen(database), room = TARGET_MAX_BYTES - (size_t)len;
  if (keep > room) {
    keep = room;
    while (keep > 0 && ((unsigned char)database[keep] & 0xC0) == 0x80)
      keep--;
  }
  char *name = NULL;
  return asprintf(&name, "%.*s%s", (int)keep, database, tail) < 0 ? NULL : name;
}

/* Whether NAME is taken on C: the database or its filestore under DATA_DIR.
 * 1, 0, or -1 with *doc. */
static int
target_taken(PGconn *c, const char *name, const char *data_dir, jv *doc)
{
  int found = upg_pg_db_exists(c, name, NULL, doc);
  if (found != 0)
    return found;
  char *dir = upg_filestore_data_dir(data_dir), *path = NULL;
  struct stat st;
  found = dir && asprintf(&path, "%s/filestore/%s", dir, name) >= 0 && lstat(path, &st) == 0;
  free(dir);
  free(path);
  return found;
}

int
upg_run_pg_free_target(const char *database, const char *target, const char *data_dir, char **name, jv *doc)
{
  int status;
  time_t now = time(NULL);
  struct tm when;
  localtime_r(&now, &when);
  *name = NULL;
  PGconn *c = upg_pg_connect(NULL, &status, doc);
  if (!c)
    return status;
  status = 0;
  for (int n = 1; n <= 99 && !status; n++) {
    if (!(*name = upg_run_pg_default_target(database, target, &when, n))) {
      status = upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:USAGE", "--target %s: too long for the new "
                                                         "database's name: name it with --restore-as", target));
      break;
    }
    int taken = target_taken(c, *name, data_dir, doc);
    if (taken == 0)
      break;
    free(*name);
    *name = NULL;
    status = taken < 0 ? UPG_EXIT_TRANSPORT : 0;
  }
  if (!status && !*name)
    status = upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:DATABASE", "no free name for the new database: "
                                                       "name it with --restore-as"));
  PQfinish(c);
  return status;
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
  int status = 0;
  *done = false;
  int found = upg_pg_db_lookup(c, name, &comment, &owner, doc);
  if (found <= 0) {
    status = found < 0 ? UPG_EXIT_TRANSPORT : 0;
    goto out;
  }
  if (!mark || !comment || strcmp(comment, mark) != 0) {
    status = target_exists(name, doc);
    goto out;
  }
  if ((status = upg_pg_roles(c, NULL, &load, &control, doc)))
    goto out;
  if (!owner || strcmp(owner, control) != 0) {
    status = not_the_jobs(name, doc);
    goto out;
  }
  *done = true;
out:
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
  if (status)
    goto out;
  if (asprintf(&temp, "%s%s", restore_as, UPG_RESTORE_TEMP_SUFFIX) < 0) {
    temp = NULL;
    status = upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "out of memory"));
    goto out;
  }
  if ((status = upg_pg_role_control(c, control, load, doc)) || trust_dump)
    goto out;
  status = upg_pg_role_check(c, load, temp, doc);
out:
  free(load);
  free(control);
  free(temp);
  return status;
}

/* NEW's filestore must not be there: the restore would refuse it at the
 * end, after the upgrade. */
static int
check_filestore_target(const char *restore_as, const char *data_dir, jv *doc)
{
  char *dir = upg_filestore_data_dir(data_dir), *target = NULL;
  if (!dir || asprintf(&target, "%s/filestore/%s", dir, restore_as) < 0) {
    free(dir);
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "out of memory"));
  }
  struct stat st;
  int status = 0;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) != 0)
    status = upg_fail(doc, UPG_EXIT_USAGE,
                      upg_failure("CLIENT:FILE", "%s: not a directory this user can write, and the filestore of a "
                                  "new %s goes under it: create it, or name Odoo's data dir with --data-dir DIR",
                                  dir, restore_as));
  else if (lstat(target, &st) == 0)
    status = upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "%s exists: the filestore of a new %s would "
                                                       "go there (choose another name with --restore-as, or "
                                                       "remove it)", target, restore_as));
  free(dir);
  free(target);
  return status;
}

int
upg_run_pg_check_target(const char *restore_as, const char *data_dir, const char *role, bool trust_dump, jv *doc)
{
  bool done = false;
  int status = upg_pg_restore_check_name("--restore-as", restore_as, doc);
  if (status || (status = check_filestore_target(restore_as, data_dir, doc)))
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

/* DIR/filestore/NAME[/REL] (malloc'd), or NULL. */
static char *
filestore_path(const char *dir, const char *name, const char *rel)
{
  char *path = NULL;
  return asprintf(&path, "%s/filestore/%s%s%s", dir, name, rel ? "/" : "", rel ? rel : "") < 0 ? NULL : path;
}

static bool
is_dir(const char *path)
{
  struct stat st;
  return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Where Odoo may keep DATABASE's filestore: DATA_DIR when given; else
 * ~/.local/share/Odoo, then the odoo system user's (Debian's odoo package
 * runs as "odoo", HOME /var/lib/odoo: root's HOME is not its).  Fills
 * DIRS (malloc'd, NULL ends), returns how many. */
static int
data_dir_candidates(const char *data_dir, char *dirs[3])
{
  int n = 0;
  dirs[n] = upg_filestore_data_dir(data_dir);
  n += dirs[n] != NULL;
  const struct passwd *odoo = data_dir ? NULL : getpwnam("odoo");
  if (odoo && odoo->pw_dir && asprintf(&dirs[n], "%s/.local/share/Odoo", odoo->pw_dir) >= 0)
    n++;
  dirs[n] = NULL;
  return n;
}

/* How many of DATABASE's attachments keep their data in a filestore
 * (*count), on a catalog-only connection.  0 or status with *doc. */
static int
count_stored(const char *database, int *count, jv *doc)
{
  int status;
  PGconn *c = upg_pg_connect_catalog(database, &status, doc);
  if (!c)
    return status;
  PGresult *r = NULL;
  if (!(status = upg_pg_stored_files(c, &r, doc))) {
    *count = PQntuples(r);
    PQclear(r);
  }
  PQfinish(c);
  return status;
}

static int
no_filestore_found(const char *database, int count, char *const *dirs, jv *doc)
{
  return upg_fail(doc, UPG_EXIT_USAGE,
                  upg_failure("CLIENT:FILE", "database %s keeps %d attachment file%s in a filestore, and there is "
                              "no %s/filestore/%s%s%s%s: name Odoo's data dir with --data-dir DIR, or restore "
                              "without the files with --no-filestore", database, count, count == 1 ? "" : "s",
                              dirs[0] ? dirs[0] : "~/.local/share/Odoo", database, dirs[1] ? " nor " : "",
                              dirs[1] ? dirs[1] : "", dirs[1] ? "/filestore/..." : ""));
}

int
upg_run_pg_find_filestore(const char *database, const char *data_dir, bool no_filestore, char **found,
                          jv *doc)
{
  char *dirs[3];
  int n = data_dir_candidates(data_dir, dirs), status = 0, count = 0;
  *found = NULL;
  for (int i = 0; i < n && !*found; i++) {
    char *path = filestore_path(dirs[i], database, NULL);
    if (is_dir(path)) {
      *found = dirs[i];
      dirs[i] = NULL;
    }
    free(path);
  }
  if (!*found && !no_filestore && !(status = count_stored(database, &count, doc)) && count > 0)
    status = no_filestore_found(database, count, dirs, doc);
  for (int i = 0; i < n; i++)
    free(dirs[i]);
  return status;
}

/* After the restore: every file NEW's ir_attachment rows name is in its
 * filestore, or the job does not end with 0.  0 or status with *doc. */
static int
check_restored_files(const upg_runstate *rs, jv *doc)
{
  int status, missing = 0;
  PGconn *c = upg_pg_connect_catalog(rs->restore_as, &status, doc);
  if (!c)
    return status;
  PGresult *r = NULL;
  char *dir = upg_filestore_data_dir(rs->data_dir), *first = NULL;
  if (!(status = upg_pg_stored_files(c, &r, doc))) {
    for (int i = 0; i < PQntuples(r); i++) {
      char *path = dir ? filestore_path(dir, rs->restore_as, PQgetvalue(r, i, 0)) : NULL;
      struct stat st;
      if (!path || stat(path, &st) != 0) {
        missing++;
        if (!first)
          first = path, path = NULL;
      }
      free(path);
    }
    if (missing)
      status = upg_fail(doc, UPG_EXIT_USAGE,
                        upg_failure("CLIENT:FILE", "%s is restored, but %d of its %d attachment files are not in "
                                    "its filestore (first: %s): copy them there, then run --continue", rs->restore_as,
                                    missing, PQntuples(r), first ? first : "?"));
    PQclear(r);
  }
  PQfinish(c);
  free(dir);
  free(first);
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
    upg_restore_params p = { .file = rs->output, .database = rs->restore_as,
                             .filestore_from = rs->no_filestore ? NULL : rs->database,
                             .data_dir = rs->data_dir, .jobs = load->jobs, .final_mark = mark,
                             .restore_role = load->role, .trust_dump = load->trust_dump,
                             .filestore_link = load->link };
    status = upg_pg_restore(s, &p, doc);
  }
  free(mark);
  if (status || rs->no_filestore)
    return status;
  jv restored = *doc;
  if ((status = check_restored_files(rs, doc)))
    jv_free(restored);
  else
    *doc = restored;
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
