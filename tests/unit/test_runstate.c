/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test_runstate.c -- the job record of `upgrade run` (plugin/core/job/runstate.c):
 * what each step keeps, what a record must hold to be believed, and the
 * refusal of a record others could have written. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "upgrade/run_pg.h"
#include "upgrade/runstate.h"

static char dir[] = "/tmp/test_runstate.XXXXXX";
static char dump[256];

/* A record of a job from a database at STEP, saved; 0 or the save's status. */
static int
save_database_job(enum upg_run_step step)
{
  upg_runstate rs = { 0 };
  rs.path = upg_runstate_path(dump);
  rs.url = strdup("https://example.test/database/v1");
  rs.output = strdup("/srv/upgraded_db.dump");
  rs.contract = strdup("M1-a");
  rs.email = strdup("e@x");
  rs.target = strdup("17.0");
  rs.aim = strdup("test");
  rs.filename = strdup("db.dump");
  rs.database = strdup("prod");
  rs.restore_as = strdup("prod_17.0");
  if (step >= UPG_STEP_CREATED) {
    rs.request = strdup("42");
    rs.key = strdup("secret-key");
  }
  rs.step = step;
  jv doc;
  int status = upg_runstate_save(&rs, &doc);
  if (status)
    jv_free(doc);
  upg_runstate_free(&rs);
  return status;
}

/* Write TEXT as the record (mode 0600). */
static void
write_record(const char *text)
{
  char *path = upg_runstate_path(dump);
  FILE *f = fopen(path, "w");
  fputs(text, f);
  fclose(f);
  chmod(path, 0600);
  free(path);
}

static int
load(upg_runstate *rs)
{
  jv doc;
  int status = upg_runstate_load(rs, dump, &doc);
  if (status > 0)
    jv_free(doc);
  return status;
}

/* run --database's default NEW (run_pg.h): the platform script's name,
 * within PostgreSQL's 63 bytes less "__restoring", cut on a character. */
static void
default_names(void)
{
  struct tm when = { .tm_year = 126, .tm_mon = 11, .tm_mday = 6, .tm_hour = 15, .tm_min = 4 };
  char *name = upg_run_pg_default_target("shop", "17.0", &when, 1);
  is_str(name, "shop_test_17.0_2026_12_06_15_04", "DB_test_TARGET_YYYY_MM_DD_HH_MM");
  free(name);
  name = upg_run_pg_default_target("shop", "17.0", &when, 2);
  is_str(name, "shop_test_17.0_2026_12_06_15_04_2", "the same minute's second: _2");
  free(name);
  char longdb[80];
  memset(longdb, 'a', sizeof longdb - 1);
  longdb[sizeof longdb - 1] = '\0';
  name = upg_run_pg_default_target(longdb, "17.0", &when, 12);
  ok(name && strlen(name) == 52 && strstr(name, "_test_17.0_2026_12_06_15_04_12") != NULL,
     "a long DB is cut: 52 bytes, the tail kept (%s)", name ? name : "NULL");
  free(name);
  /* "é" is two bytes: a cut never leaves half of it */
  char accents[80] = "";
  for (int i = 0; i < 30; i++)
    strcat(accents, "\xc3\xa9");
  name = upg_run_pg_default_target(accents, "17.0", &when, 1);
  ok(name && strlen(name) <= 52 && strstr(name, "\xc3_test") == NULL, "a cut falls between characters");
  free(name);
  char longtarget[80];
  memset(longtarget, '1', sizeof longtarget - 1);
  longtarget[sizeof longtarget - 1] = '\0';
  ok(upg_run_pg_default_target("shop", longtarget, &when, 1) == NULL, "a target too long for any name: NULL");
}

int
main(void)
{
  if (!mkdtemp(dir))
    return 1;
  snprintf(dump, sizeof dump, "%s/db.dump", dir);
  upg_runstate rs;

  ok(load(&rs) == UPG_RUNSTATE_NONE, "no record: UPG_RUNSTATE_NONE");
  upg_runstate_free(&rs);

  ok(save_database_job(UPG_STEP_STARTED) == 0 && load(&rs) == 0 && rs.step == UPG_STEP_STARTED && !rs.request
     && strcmp(rs.contract, "M1-a") == 0 && strcmp(rs.database, "prod") == 0
     && strcmp(rs.restore_as, "prod_17.0") == 0,
     "started: no request yet, what create sends and the database are kept");
  upg_runstate_free(&rs);

  ok(save_database_job(UPG_STEP_DOWNLOADED) == 0 && load(&rs) == 0 && rs.step == UPG_STEP_DOWNLOADED
     && strcmp(rs.key, "secret-key") == 0 && !rs.contract && strcmp(rs.restore_as, "prod_17.0") == 0,
     "downloaded: the request and the restore target; create's fields are no longer written");
  upg_runstate_free(&rs);

  ok(save_database_job(UPG_STEP_RESTORED) == 0 && load(&rs) == 0 && rs.step == UPG_STEP_RESTORED,
     "restored round-trips");
  upg_runstate_free(&rs);

  write_record("{\"url\": \"u\", \"output\": \"/o\", \"step\": \"dumped\", \"database\": \"prod\"}");
  ok(load(&rs) == 2, "dumped without what create sends: refused");
  upg_runstate_free(&rs);

  write_record("{\"url\": \"u\", \"output\": \"/o\", \"step\": \"downloaded\", \"request\": \"1\", \"key\": \"k\"}");
  ok(load(&rs) == 2, "downloaded without a database: refused");
  upg_runstate_free(&rs);

  write_record("{\"url\": \"u\", \"output\": \"/o\", \"step\": \"processed\"}");
  ok(load(&rs) == 2, "a step after created without the request: refused");
  upg_runstate_free(&rs);

  write_record("{\"url\": \"u\", \"output\": \"/o\", \"step\": \"teleported\", \"request\": \"1\", \"key\": \"k\"}");
  ok(load(&rs) == 2, "an unknown step: refused");
  upg_runstate_free(&rs);

  write_record("{\"url\": \"u\", \"output\": \"/o\", \"step\": \"done\", \"request\": \"1\", \"key\": \"k\"}");
  char *path = upg_runstate_path(dump);
  chmod(path, 0644);
  ok(load(&rs) == 2, "mode 0644: refused");
  upg_runstate_free(&rs);
  chmod(path, 0600);
  ok(load(&rs) == 0 && rs.step == UPG_STEP_DONE && !rs.database && !rs.closed,
     "a file job's record (no database) loads; without a state it is open (a record from before closing)");
  upg_runstate_free(&rs);

  /* closing keeps the record: the same fields, "state": "closed", 0600 */
  ok(save_database_job(UPG_STEP_RESTORED) == 0 && load(&rs) == 0 && !rs.closed, "a saved job is open");
  jv closed_doc;
  ok(upg_runstate_close(&rs, &closed_doc) == 0, "close");
  upg_runstate_free(&rs);
  struct stat st;
  ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "the closed record is kept, mode 0600");
  ok(load(&rs) == 0 && rs.closed && rs.step == UPG_STEP_RESTORED && strcmp(rs.request, "42") == 0
     && strcmp(rs.key, "secret-key") == 0 && strcmp(rs.restore_as, "prod_17.0") == 0,
     "a closed record loads closed, with its request, key and restore");
  upg_runstate_free(&rs);
  jv saved = jv_load_file(path, 0); /* [the record] */
  jv id = jv_getpath(jv_copy(saved), JV_ARRAY(jv_number(0), jv_string("request")));
  ok(jv_get_kind(id) == JV_KIND_NUMBER && jv_number_value(id) == 42,
     "the record holds the request id as the platform's number");
  jv_free(id);
  jv_free(saved);
  write_record("{\"url\": \"u\", \"output\": \"/o\", \"step\": \"done\", \"request\": 10534, \"key\": \"k\"}");
  ok(load(&rs) == 0 && rs.request && strcmp(rs.request, "10534") == 0, "a number as the request loads (\"1\" did before)");
  upg_runstate_free(&rs);
  write_record("{\"url\": \"u\", \"output\": \"/o\", \"step\": \"done\", \"request\": \"1\", \"key\": \"k\", "
               "\"state\": \"open\"}");
  ok(load(&rs) == 0 && !rs.closed, "\"state\": \"open\" is open");
  upg_runstate_free(&rs);

  /* rpc: the dialect, token, node and key path; no email; v1's records
   * gain none of them */
  write_record("{\"url\": \"u\", \"output\": \"/o\", \"step\": \"processed\", \"request\": 7, "
               "\"dialect\": \"rpc\", \"token\": \"T0k\", \"node\": \"n1\", \"identity\": \"/k\", "
               "\"pg_version_compatible\": false}");
  ok(load(&rs) == 0 && rs.rpc && strcmp(rs.token, "T0k") == 0 && strcmp(rs.node, "n1") == 0
     && strcmp(rs.identity, "/k") == 0 && rs.pg_incompatible && !rs.key, "an rpc record: token, node, key path");
  ok(upg_runstate_save(&rs, &closed_doc) == 0, "saved again");
  upg_runstate_free(&rs);
  saved = jv_load_file(path, 0);
  ok(jv_equal(jv_getpath(jv_copy(saved), JV_ARRAY(jv_number(0), jv_string("dialect"))), jv_string("rpc"))
     && jv_equal(jv_getpath(jv_copy(saved), JV_ARRAY(jv_number(0), jv_string("token"))), jv_string("T0k"))
     && jv_equal(jv_getpath(jv_copy(saved), JV_ARRAY(jv_number(0), jv_string("pg_version_compatible"))),
                 jv_false()),
     "written back with its dialect, token and what process said");
  jv_free(saved);
  write_record("{\"url\": \"u\", \"output\": \"/o\", \"step\": \"processed\", \"request\": 7, "
               "\"dialect\": \"rpc\", \"node\": \"n1\", \"identity\": \"/k\"}");
  ok(load(&rs) == 2, "an rpc record past created without its token: refused");
  upg_runstate_free(&rs);
  /* rpc's env: kept until the request exists, a list of texts or refused */
  write_record("{\"url\": \"u\", \"output\": \"/o\", \"step\": \"started\", \"dialect\": \"rpc\", "
               "\"database\": \"prod\", \"contract\": \"M1-a\", \"target\": \"17.0\", \"aim\": \"test\", "
               "\"env\": [\"A=1\", \"B=x=y\"]}");
  ok(load(&rs) == 0 && rs.env && strcmp(rs.env[0], "A=1") == 0 && strcmp(rs.env[1], "B=x=y") == 0 && !rs.env[2],
     "an rpc record before create: its env");
  ok(upg_runstate_save(&rs, &closed_doc) == 0, "saved again");
  upg_runstate_free(&rs);
  saved = jv_load_file(path, 0);
  ok(jv_equal(jv_getpath(jv_copy(saved), JV_ARRAY(jv_number(0), jv_string("env"))),
              JV_ARRAY(jv_string("A=1"), jv_string("B=x=y"))),
     "written back with its env");
  jv_free(saved);
  write_record("{\"url\": \"u\", \"output\": \"/o\", \"step\": \"started\", \"dialect\": \"rpc\", "
               "\"database\": \"prod\", \"contract\": \"M1-a\", \"target\": \"17.0\", \"aim\": \"test\", "
               "\"env\": [\"A=1\", 2]}");
  ok(load(&rs) == 2, "an env that is not a list of texts: refused");
  upg_runstate_free(&rs);
  write_record("{\"url\": \"u\", \"output\": \"/o\", \"step\": \"done\", \"request\": 1, \"key\": \"k\", "
               "\"dialect\": \"v2\"}");
  ok(load(&rs) == 2, "an unknown dialect: refused");
  upg_runstate_free(&rs);
  ok(save_database_job(UPG_STEP_DONE) == 0, "a v1 job saved");
  saved = jv_load_file(path, 0);
  jv fields = jv_keys(jv_array_get(jv_copy(saved), 0));
  jv_free(saved);
  bool clean = true;
  jv_array_foreach(fields, i, name) {
    const char *n = jv_string_value(name);
    clean = clean && strcmp(n, "dialect") != 0 && strcmp(n, "token") != 0 && strcmp(n, "node") != 0
            && strcmp(n, "identity") != 0 && strcmp(n, "pg_version_compatible") != 0;
    jv_free(name);
  }
  jv_free(fields);
  ok(clean, "a v1 record holds none of rpc's fields");

  for (int step = UPG_STEP_STARTED; step <= UPG_STEP_RESTORED; step++)
    ok(strcmp(upg_run_step_name((enum upg_run_step)step), "none") != 0, "step %d has a name: %s", step,
       upg_run_step_name((enum upg_run_step)step));

  default_names();

  unlink(path);
  free(path);
  rmdir(dir);
  return tap_done();
}
