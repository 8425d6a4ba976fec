/* SPDX-License-Identifier: GPL-3.0-or-later */
/* pg_dump.c -- `upgrade dump`: pg_dump --format=custom into FILE.part,
 * renamed when complete (see pg.h). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "upgrade/child.h"
#include "upgrade/files.h"
#include "upgrade/outcome.h"
#include "upgrade/pg.h"
#include "upgrade/pgconn.h"
#include "upgrade/pgtool.h"
#include "upgrade/progress.h"
#include "upgrade/provenance.h"

struct dump_progress {
  const upg_settings *s;
  int fd;
  const char *label;
  double last;
};

/* What pg_dump has written so far, from the size of the part file. */
static void
dump_tick(void *data)
{
  struct dump_progress *d = data;
  double now = upg_now();
  struct stat st;
  if (now - d->last < 0.25 || fstat(d->fd, &st) != 0)
    return;
  d->last = now;
  char size[32];
  upg_format_bytes(size, sizeof size, (double)st.st_size);
  upg_status_line(d->s, "%s  %s written", d->label, size);
}

/* The database exists and we can reach it; its server's version. */
static int
check_source(const char *db, char *version, size_t len, jv *doc)
{
  int status = 0;
  PGconn *c = upg_pg_connect(db, &status, doc);
  if (!c)
    return status;
  upg_pg_server_version(c, version, len);
  PQfinish(c);
  return 0;
}

char *
upg_pg_dump_default_output(const char *db)
{
  size_t len = strlen(db) + sizeof ".dump";
  char *out = malloc(len);
  if (out)
    snprintf(out, len, "%s.dump", db);
  return out;
}

/* The dump's failure: the disk (a file-size limit, a full disk) is a
 * local fault (2, CLIENT:FILE, as for downloads); anything else is the
 * tool's or the server's (3, CLIENT:DATABASE). */
static int
dump_failure(const upg_child *c, const char *part, jv *doc)
{
  char how[64];
  upg_child_describe(c, how, sizeof how);
  char *errors = upg_child_errors(c, 6);
  const char *text = errors && *errors ? errors : "no message";
  int limit = WIFSIGNALED(c->wait_status) && WTERMSIG(c->wait_status) == SIGXFSZ;
  int status = limit || strstr(text, "No space left") || strstr(text, "File too large")
    ? upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "pg_dump could not write %s (%s): %s", part,
                                                 how, limit ? "file size limit reached" : text))
    : upg_fail(doc, UPG_EXIT_TRANSPORT, upg_failure("CLIENT:DATABASE", "pg_dump failed (%s): %s", how, text));
  free(errors);
  return status;
}

static jv
dump_summary(const upg_dump_params *p, const char *file, long long bytes, const char *version, double secs)
{
  return upg_doc_with("dump", JV_OBJECT(jv_string("database"), jv_string(p->database),
                                        jv_string("file"), jv_string(file),
                                        jv_string("bytes"), jv_number((double)bytes),
                                        jv_string("format"), jv_string("pgdmp_custom"),
                                        jv_string("server_version"), jv_string(version),
                                        jv_string("seconds"), jv_number(upg_round_ms(secs))));
}

static int
run_pg_dump(const upg_settings *s, const upg_dump_params *p, upg_partfile *pf, jv *doc)
{
  /* a name, never a connection string */
  char *conninfo = upg_pg_conninfo(p->database, NULL);
  if (!conninfo)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "out of memory"));
  char *argv[] = { "pg_dump", "--format=custom", "--no-owner", "--no-password", "--dbname", conninfo, NULL };
  upg_child c;
  int spawned = upg_child_spawn(&c, argv, NULL, UPG_CHILD_NULL, pf->fd);
  int err = errno;
  free(conninfo);
  if (spawned != 0)
    return upg_pg_tool_missing("pg_dump", err, doc);
  char label[128];
  snprintf(label, sizeof label, "dump %s", p->database);
  struct dump_progress d = { s, pf->fd, label, 0 };
  int rc = upg_child_run(&c, s, NULL, dump_tick, &d);
  upg_status_clear(s);
  if (rc > 0)
    return upg_fail(doc, rc, upg_failure("CLIENT:INTERRUPTED", "interrupted: pg_dump stopped, %s removed",
                                         pf->part_path));
  if (!upg_child_ok(&c))
    return dump_failure(&c, pf->part_path, doc);
  return 0;
}

int
upg_pg_dump(const upg_settings *s, const upg_dump_params *p, jv *doc)
{
  double start = upg_now();
  char version[64];
  int status = check_source(p->database, version, sizeof version, doc);
  if (status)
    return status;

  char *owned = p->output ? NULL : upg_pg_dump_default_output(p->database);
  const char *out = p->output ? p->output : owned;
  upg_partfile pf;
  /* A .part left by a killed dump of DB is ours (its record says so) and
   * started over; pg_dump cannot resume.  Anyone else's is refused. */
  status = out ? upg_partfile_open(&pf, s, out, JV_OBJECT(jv_string("dump"), jv_string(p->database)),
                                   p->force, doc)
               : upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "out of memory"));
  if (!status && upg_partfile_restart(&pf, JV_OBJECT(jv_string("server_version"), jv_string(version))) != 0) {
    status = upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "cannot truncate %s: %s",
                                                        pf.part_path, strerror(errno)));
    unlink(pf.part_path);
    upg_provenance_remove(pf.part_path);
    upg_partfile_abandon(&pf);
  }
  if (status) {
    free(owned);
    return status;
  }
  char *part = strdup(pf.part_path);
  status = run_pg_dump(s, p, &pf, doc);
  struct stat st;
  long long bytes = fstat(pf.fd, &st) == 0 ? (long long)st.st_size : 0;
  if (!status)
    status = upg_partfile_commit(&pf, doc);
  if (status) {
    /* pg_dump cannot resume: a part file would only mislead. */
    if (part) {
      unlink(part);
      upg_provenance_remove(part);
    }
    upg_partfile_abandon(&pf);
  } else {
    *doc = dump_summary(p, out, bytes, version, upg_now() - start);
  }
  free(part);
  free(owned);
  return status;
}
