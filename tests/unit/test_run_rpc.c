/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: where `run` under rpc keeps its record and key pair
 * (plugin/core/job/runstate.c) and where its download directory goes
 * (plugin/core/job/run_rpc.c). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "upgrade/run_rpc.h"
#include "upgrade/runstate.h"

/* F(ARGS) is EXPECTED; the text freed. */
static void
is(char *got, const char *expected, const char *what)
{
  ok(got && strcmp(got, expected) == 0, "%s: %s", what, got ? got : "(null)");
  free(got);
}

static void
record_paths(void)
{
  is(upg_runstate_path("db.dump"), "db.dump.upgrade.json", "a file's record");
  is(upg_runstate_path("db.dump/"), "db.dump.upgrade.json", "a directory dump's record: its slash does not count");
  is(upg_runstate_path("/x/db.dump//"), "/x/db.dump.upgrade.json", "nor two");
  is(upg_runstate_path("/"), "/.upgrade.json", "/ stays /");
  is(upg_runstate_key_path("/x/db.dump/"), "/x/db.dump.upgrade.key", "the key pair beside the record");
}

static void
outputs(void)
{
  is(upg_run_rpc_output("/tmp/db.dump", NULL, NULL), "/tmp/upgraded_db", "beside DUMP, less .dump");
  is(upg_run_rpc_output("/tmp/db.dump/", NULL, NULL), "/tmp/upgraded_db", "a directory dump's slash");
  is(upg_run_rpc_output("/tmp/prod.sql.gz", NULL, NULL), "/tmp/upgraded_prod", "less .sql.gz, not .gz alone");
  is(upg_run_rpc_output("/tmp/prod.zip", NULL, NULL), "/tmp/upgraded_prod", "less .zip");
  is(upg_run_rpc_output("/tmp/prod.backup", NULL, NULL), "/tmp/upgraded_prod.backup", "another suffix kept");
  is(upg_run_rpc_output("/tmp/.dump", NULL, NULL), "/tmp/upgraded_.dump", "a name that is all suffix kept");
  is(upg_run_rpc_output("/tmp/src.dump", NULL, "src_test_17.0"), "/tmp/upgraded_src_test_17.0",
     "a job that restores: named after NEW");
  is(upg_run_rpc_output("/tmp/src.dump", "/srv/out", "new"), "/srv/out", "-o DIR as given");
  char *rel = upg_run_rpc_output("/tmp/src.dump", "out", NULL);
  ok(rel && rel[0] == '/' && strcmp(rel + strlen(rel) - 4, "/out") == 0, "-o DIR relative: made absolute (%s)",
     rel ? rel : "(null)");
  free(rel);
}

int
main(void)
{
  record_paths();
  outputs();
  return tap_done();
}
