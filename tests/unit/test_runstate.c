/* test_runstate.c -- the job record of `upgrade run` (plugin/core/runstate.c):
 * what each step keeps, what a record must hold to be believed, and the
 * refusal of a record others could have written. */
#include "config.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
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
  write_record("{\"url\": \"u\", \"output\": \"/o\", \"step\": \"done\", \"request\": \"1\", \"key\": \"k\", "
               "\"state\": \"open\"}");
  ok(load(&rs) == 0 && !rs.closed, "\"state\": \"open\" is open");
  upg_runstate_free(&rs);

  for (int step = UPG_STEP_STARTED; step <= UPG_STEP_RESTORED; step++)
    ok(strcmp(upg_run_step_name((enum upg_run_step)step), "none") != 0, "step %d has a name: %s", step,
       upg_run_step_name((enum upg_run_step)step));

  unlink(path);
  free(path);
  rmdir(dir);
  return tap_done();
}
