/* SPDX-License-Identifier: GPL-3.0-or-later */
/* pg_dump.c -- `upgrade dump`: pg_dump --format=custom into FILE.part, or
 * --format=directory into the directory FILE.part (dir_part.h), renamed
 * when complete (see pg.h). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "upgrade/fileio.h"
#include "upgrade/child.h"
#include "upgrade/dir_part.h"
#include "upgrade/files.h"
#include "upgrade/outcome.h"
#include "upgrade/pg.h"
#include "upgrade/pgconn.h"
#include "upgrade/pgtool.h"
#include "upgrade/progress.h"
#include "upgrade/provenance.h"

struct dump_progress {
  const upg_settings *s;
  int fd;                 /* the custom dump's .part, or -1 */
  const char *dir;        /* the directory dump's .part, or NULL */
  const char *label;
  double last;
};

/* What pg_dump has written so far, from the size of the part file (or of
 * the files in the part directory). */
static void
dump_tick(void *data)
{
  struct dump_progress *d = data;
  double now = upg_now();
  struct stat st;
  long long bytes = 0, files = 0;
  if (now - d->last < 0.25)
    return;
  if (d->dir)
    upg_dir_files_size(d->dir, &bytes, &files);
  else if (fstat(d->fd, &st) == 0)
    bytes = (long long)st.st_size;
  else
    return;
  d->last = now;
  char size[32];
  upg_format_bytes(size, sizeof size, (double)bytes);
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

/* JOBS and FILES: a directory dump's (0: a custom dump, which has none). */
static jv
dump_summary(const upg_dump_params *p, const char *file, long long bytes, int jobs, long long files,
             const char *version, double secs)
{
  jv dump = JV_OBJECT(jv_string("database"), jv_string(p->database), jv_string("file"), jv_string(file),
                      jv_string("bytes"), jv_number((double)bytes),
                      jv_string("format"), jv_string(p->directory ? "pgdmp_directory" : "pgdmp_custom"),
                      jv_string("server_version"), jv_string(version),
                      jv_string("seconds"), jv_number(upg_round_ms(secs)));
  if (p->directory)
    dump = jv_object_merge(dump, JV_OBJECT(jv_string("jobs"), jv_number(jobs),
                                           jv_string("files"), jv_number((double)files)));
  return upg_doc_with("dump", dump);
}

/* pg_dump with ARGS (after the program's name; the database's conninfo
 * is added), its stdout to OUT, D its meter.  PART names what is removed
 * when it fails. */
static int
run_pg_dump(const upg_settings *s, const upg_dump_params *p, const char *const *args, int out,
            struct dump_progress *d, const char *part, jv *doc)
{
  /* a name, never a connection string */
  char *conninfo = upg_pg_conninfo(p->database, NULL);
  if (!conninfo)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "out of memory"));
  char *argv[16] = { "pg_dump" };
  size_t n = 1;
  while (*args && n < 12)
    argv[n++] = (char *)*args++;
  argv[n++] = "--no-owner";
  argv[n++] = "--no-password";
  argv[n++] = "--dbname";
  argv[n++] = conninfo;
  argv[n] = NULL;
  upg_child c;
  int spawned = upg_child_spawn(&c, argv, NULL, UPG_CHILD_NULL, out);
  int err = errno;
  free(conninfo);
  if (spawned != 0)
    return upg_pg_tool_missing("pg_dump", err, doc);
  char label[128];
  snprintf(label, sizeof label, "dump %s", p->database);
  d->s = s;
  d->label = label;
  int rc = upg_child_run(&c, s, NULL, dump_tick, d);
  upg_status_clear(s);
  if (rc > 0)
    return upg_fail(doc, rc, upg_failure("CLIENT:INTERRUPTED", "interrupted: pg_dump stopped, %s removed", part));
  if (!upg_child_ok(&c))
    return dump_failure(&c, part, doc);
  return 0;
}

static int
dump_custom(const upg_settings *s, const upg_dump_params *p, const char *out, const char *version,
            long long *bytes, jv *doc)
{
  upg_partfile pf;
  /* A .part left by a killed dump of DB is ours (its record says so) and
   * started over; pg_dump cannot resume.  Anyone else's is refused. */
  int status = upg_partfile_open(&pf, s, out, JV_OBJECT(jv_string("dump"), jv_string(p->database)), p->force,
                                 doc);
  if (status)
    return status;
  char *part = strdup(pf.part_path);
  if (upg_partfile_restart(&pf, JV_OBJECT(jv_string("server_version"), jv_string(version))) != 0) {
    status = upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "cannot truncate %s: %s",
                                                        pf.part_path, strerror(errno)));
  } else {
    static const char *const args[] = { "--format=custom", NULL };
    struct dump_progress d = { .fd = pf.fd };
    status = run_pg_dump(s, p, args, pf.fd, &d, pf.part_path, doc);
  }
  struct stat st;
  *bytes = fstat(pf.fd, &st) == 0 ? (long long)st.st_size : 0;
  if (!status)
    status = upg_partfile_commit(&pf, doc);
  if (status) {
    /* pg_dump cannot resume: a part file would only mislead. */
    if (part) {
      unlink(part);
      upg_provenance_remove(part);
    }
    upg_partfile_abandon(&pf);
  }
  free(part);
  return status;
}

/* pg_dump -Fd -j N into OUT.part, renamed to OUT when complete. */
static int
dump_directory(const upg_settings *s, const upg_dump_params *p, const char *out, int njobs,
               const char *version, long long *bytes, long long *files, jv *doc)
{
  upg_dir_part dp;
  int status = upg_dir_part_begin(&dp, s, out, JV_OBJECT(jv_string("dump"), jv_string(p->database),
                                                          jv_string("format"), jv_string("directory"),
                                                          jv_string("server_version"), jv_string(version)),
                                  p->force, doc);
  if (status)
    goto out;
  char jobs[32], file[PATH_MAX + 16];
  snprintf(jobs, sizeof jobs, "--jobs=%d", njobs);
  if ((size_t)snprintf(file, sizeof file, "--file=%s", dp.part) >= sizeof file) {
    status = upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "%s: %s", out, strerror(ENAMETOOLONG)));
    goto out;
  }
  const char *const args[] = { "--format=directory", jobs, file, NULL };
  struct dump_progress d = { .fd = -1, .dir = dp.part };
  if ((status = run_pg_dump(s, p, args, UPG_CHILD_NULL, &d, dp.part, doc)))
    goto out;
  upg_dir_files_size(dp.part, bytes, files);
  status = upg_dir_part_commit(&dp, s, doc);
out:
  if (status)
    upg_dir_part_discard(&dp); /* pg_dump cannot resume */
  upg_dir_part_free(&dp);
  return status;
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
  long long bytes = 0, files = 0;
  int jobs = p->jobs > 0 ? p->jobs : upg_pg_default_jobs();
  if (!out)
    status = upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "out of memory"));
  else if (p->directory)
    status = dump_directory(s, p, out, jobs, version, &bytes, &files, doc);
  else
    status = dump_custom(s, p, out, version, &bytes, doc);
  if (!status)
    *doc = dump_summary(p, out, bytes, jobs, files, version, upg_now() - start);
  free(owned);
  return status;
}
