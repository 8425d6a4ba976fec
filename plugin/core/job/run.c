/* SPDX-License-Identifier: GPL-3.0-or-later */
/* run.c -- `run`: the whole job in one call, resumable.
 *
 * [dump ->] create -> upload (HTTPS or SFTP) -> process -> wait -> download
 * [-> restore].  Every step is one of the subcommands' own functions; this
 * file strings them together, records each completed step in
 * DUMP.upgrade.json (runstate.h), and with --continue asks the platform
 * where the request stands and goes on from there.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upgrade/api.h"
#include "upgrade/download.h"
#include "upgrade/files.h"
#include "upgrade/human.h"
#include "upgrade/outcome.h"
#include "upgrade/pg.h"
#include "upgrade/platform.h"
#include "upgrade/progress.h"
#include "upgrade/response.h"
#include "upgrade/rpc_create.h"
#include "upgrade/run.h"
#include "upgrade/run_notes.h"
#include "upgrade/run_pg.h"
#include "upgrade/run_rpc.h"
#include "upgrade/runstate.h"
#include "upgrade/sftp_job.h"
#include "upgrade/upload.h"
#include "upgrade/wait.h"

/* Why a job under rpc is downloaded but not restored (§2.5). */
#define INCOMPATIBLE_WHY                                                                                         \
  "the platform says the database's PostgreSQL version is not compatible with the minimum the target version "  \
  "needs (is_pg_version_compatible false): the upgraded dump is downloaded, not restored; restore it on a newer " \
  "PostgreSQL with `upgrade restore DIR --database NEW`"

/* The steps of this call, one line each on stderr as it begins (the
 * platform's own script logs so), and their times for the document. */
typedef struct run_clock {
  double started, step_started;
  const char *step;  /* the step under way, or NULL */
  jv times;          /* {"upload": seconds, ...}: this call's steps */
} run_clock;

/* The step under way is over: its time goes into the document's list. */
static void
step_end(run_clock *c)
{
  if (!c->step)
    return;
  c->times = jv_object_set(c->times, jv_string(c->step), jv_number(upg_round_ms(upg_now() - c->step_started)));
  c->step = NULL;
}

/* STEP begins; FMT, when given, is its line ("uploading db.dump (13 MiB)"). */
static void step_begin(run_clock *c, const upg_settings *s, const char *step, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void
step_begin(run_clock *c, const upg_settings *s, const char *step, const char *fmt, ...)
{
  step_end(c);
  c->step = step;
  c->step_started = upg_now();
  if (!fmt || s->silent)
    return;
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  upg_notice(s, "%s", line);
}

/* "done in 5m31s: create 0.3 s, upload 12.3 s, ...": the call's steps. */
static void
say_done(run_clock *c, const upg_settings *s)
{
  step_end(c);
  char total[32], line[512];
  upg_format_duration(total, sizeof total, upg_now() - c->started);
  int n = snprintf(line, sizeof line, "done in %s", total);
  const char *sep = ": ";
  jv_object_foreach(c->times, name, seconds) { /* borrows c->times */
    char took[32];
    upg_format_duration(took, sizeof took, jv_number_value(seconds));
    if (n >= 0 && (size_t)n < sizeof line)
      n += snprintf(line + n, sizeof line - (size_t)n, "%s%s %s", sep, jv_string_value(name), took);
    sep = ", ";
    jv_free(name);
    jv_free(seconds);
  }
  upg_notice(s, "%s", line);
}

/* A step failed or was stopped and the job is still open (its record is
 * there): the failure ends with the command that goes on, DUMP quoted for
 * the shell when it must be. */
static void
hint_continue(const upg_runstate *rs, const char *dump, jv *doc)
{
  jv step = jv_get_kind(*doc) == JV_KIND_OBJECT ? jv_object_get(jv_copy(*doc), jv_string("step")) : jv_null();
  bool open = jv_get_kind(step) == JV_KIND_STRING && rs->path && !rs->closed && access(rs->path, F_OK) == 0;
  jv_free(step);
  if (!open)
    return;
  jv quoted = jv_string("'");
  for (const char *c = dump; *c; c++)
    quoted = *c == '\'' ? jv_string_append_str(quoted, "'\\''") : jv_string_append_buf(quoted, c, 1);
  quoted = jv_string_append_str(quoted, "'");
  bool plain = strspn(dump, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/-+:@,=") == strlen(dump);
  char kept[600] = "", part[620] = "";
  if (upg_download_part_kept(*doc, kept, sizeof kept))
    snprintf(part, sizeof part, " (%s)", kept);
  *doc = upg_doc_hint(*doc, "to go on: upgrade run --continue %s%s", plain ? dump : jv_string_value(quoted), part);
  jv_free(quoted);
}

/* A failed step's document, marked with the step's name and carrying the
 * request (id and key) so that the caller can name it afterwards. */
static int
failed_step(jv *doc, const char *step, const upg_runstate *rs, int status)
{
  jv known = upg_doc_request(*doc);
  bool has_request = jv_get_kind(known) == JV_KIND_OBJECT;
  jv_free(known);
  *doc = jv_object_set(*doc, jv_string("step"), jv_string(step));
  if (!has_request && rs->request && rs->key)
    *doc = jv_object_set(*doc, jv_string("request"),
                         JV_OBJECT(jv_string("id"), upg_request_id(rs->request), jv_string("key"), jv_string(rs->key)));
  else if (!has_request && rs->request && rs->rpc) /* the token is a secret: the record has it */
    *doc = jv_object_set(*doc, jv_string("request"), JV_OBJECT(jv_string("id"), upg_request_id(rs->request)));
  return status;
}

/* "upgraded_<base name of DUMP>" in the current directory, absolute so that
 * a --continue from elsewhere writes the same file. */
static char *
default_output(const char *dump, const char *given)
{
  char *copy = strdup(dump), *path = NULL, cwd[4096];
  if (!copy)
    return NULL;
  if (given && given[0] == '/')
    path = strdup(given);
  else if (getcwd(cwd, sizeof cwd)) {
    if (asprintf(&path, "%s/%s%s", cwd, given ? "" : "upgraded_", given ? given : basename(copy)) < 0)
      path = NULL;
  }
  free(copy);
  return path;
}

/* The job's output must be free before anything is made: found taken at
 * the end, it would cost the whole upgrade.  --force (recorded: a
 * --continue keeps it) lets the download replace it. */
static int
check_output(const upg_runstate *rs, jv *doc)
{
  struct stat st;
  /* rpc downloads into the directory itself: from DONE on it may be
   * this job's, half-made */
  if (rs->force || rs->step >= (rs->rpc ? UPG_STEP_DONE : UPG_STEP_DOWNLOADED) || lstat(rs->output, &st) != 0)
    return 0;
  return upg_fail(doc, UPG_EXIT_USAGE,
                  upg_failure("CLIENT:FILE", "%s already exists: the upgraded dump would be refused there at the "
                              "end; name another with -o FILE, or replace it with --force", rs->output));
}

/* create, with what the record says (the command line's, or for a job
 * from a database what was recorded with its dump); from here on S names
 * the new request, and its key is a secret. */
static int
create_request(upg_settings *s, upg_runstate *rs, const char *dump, run_clock *clk, jv *doc)
{
  step_begin(clk, s, "create", NULL);
  if (rs->rpc) {
    int status = upg_run_rpc_create(s, rs, dump, doc);
    if (!status) {
      rs->step = UPG_STEP_CREATED;
      status = upg_runstate_save(rs, doc);
    }
    if (status)
      return failed_step(doc, "create", rs, status);
    upg_notice(s, "created request %s", rs->request ? rs->request : "?");
    return 0;
  }
  upg_create_params create = { .contract = rs->contract, .email = rs->email, .target = rs->target,
                                .aim = rs->aim, .filename = rs->filename, .timezone = rs->timezone };
  int status = upg_platform_of(s)->create(s, &create, doc);
  if (status)
    return failed_step(doc, "create", rs, status);
  rs->request = upg_request_field(*doc, "id");
  rs->key = upg_request_field(*doc, "key");
  jv_free(*doc);
  if (!rs->request || !rs->key)
    return failed_step(doc, "create", rs, upg_fail(doc, UPG_EXIT_TRANSPORT,
                       upg_failure("CLIENT:BAD_RESPONSE", "create: the answer lacks the request id or key")));
  upg_secret_add(s, rs->key);
  s->request = rs->request;
  s->key = rs->key;
  rs->step = UPG_STEP_CREATED;
  status = upg_runstate_save(rs, doc);
  if (status)
    return failed_step(doc, "create", rs, status);
  upg_notice(s, "created request %s", rs->request);
  return 0;
}

static char *
copy_or_null(const char *text)
{
  return text ? strdup(text) : NULL;
}

/* What create will send, kept in the record: the command line's fields,
 * the file name defaulting to DUMP's base name. */
static void
remember_create(upg_runstate *rs, const upg_run_params *p, const char *dump)
{
  char *copy = strdup(dump);
  rs->contract = copy_or_null(p->create.contract);
  rs->email = copy_or_null(p->create.email);
  rs->target = copy_or_null(p->create.target);
  rs->aim = copy_or_null(p->create.aim);
  rs->timezone = copy_or_null(p->create.timezone);
  rs->filename = copy_or_null(p->create.filename ? p->create.filename : copy ? basename(copy) : NULL);
  free(copy);
}

/* A job from a database: which one, and where it is restored (by default
 * a name no earlier run took, said on stderr). */
static int
remember_database(const upg_settings *s, upg_runstate *rs, const upg_run_params *p, jv *doc)
{
  /* a name that cannot be is refused before any connection */
  int status = p->restore_as ? upg_pg_restore_check_name("--restore-as", p->restore_as, doc) : 0;
  if (status)
    return status;
  rs->database = strdup(p->database);
  rs->no_filestore = p->no_filestore;
  status = p->no_restore ? 0 : upg_run_pg_find_filestore(p->database, p->data_dir, p->no_filestore,
                                                             &rs->data_dir, doc);
  if (status)
    return status;
  if (!rs->data_dir)
    rs->data_dir = copy_or_null(p->data_dir);
  if (!p->no_restore && !p->restore_as) {
    if ((status = upg_run_pg_free_target(p->database, rs->target, rs->data_dir, &rs->restore_as, doc)))
      return status;
    upg_notice(s, "the upgraded database will be %s (--restore-as names another)", rs->restore_as);
  } else if (!p->no_restore) {
    rs->restore_as = strdup(p->restore_as);
  }
  if (!rs->database || (!p->no_restore && !rs->restore_as))
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "out of memory"));
  return 0;
}

/* A job from a database: an explicit DUMP that exists is only ever
 * uploaded as it is (--reuse-dump), never replaced; --reuse-dump needs
 * one.  (The default DB.dump is run's own: each run dumps it anew.) */
static int
check_dump_file(const upg_run_params *p, const char *dump, jv *doc)
{
  struct stat st;
  bool exists = lstat(dump, &st) == 0;
  if (p->reuse_dump && !exists)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "--reuse-dump: %s does not exist: nothing to "
                                                     "reuse", dump));
  if (p->dump && exists && !p->reuse_dump)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "%s exists: upload it as it is with "
                                                     "--reuse-dump, or name another DUMP", dump));
  if (!p->reuse_dump)
    return 0;
  if (!S_ISDIR(st.st_mode))
    return upg_upload_check_input(dump, doc);
  int fd; /* under rpc (else the lock refuses it): a directory-format dump */
  int status = upg_run_rpc_open_directory(dump, &fd, doc);
  if (!status)
    close(fd);
  return status;
}

/* A job from a database that restores: its download is named after NEW,
 * so that a second run never meets the first's. */
static char *
job_output(const upg_run_params *p, const upg_runstate *rs, const char *dump)
{
  if (rs->rpc)
    return upg_run_rpc_output(dump, p->output, rs->restore_as);
  if (p->output || !rs->restore_as)
    return default_output(dump, p->output);
  char *name = NULL, *path;
  if (asprintf(&name, "upgraded_%s.dump", rs->restore_as) < 0)
    return NULL;
  path = default_output(dump, name);
  free(name);
  return path;
}

/* A new job: refuse to open a second request for a dump whose job is
 * still open, unless --new; then fill the record (not yet written) and
 * make sure it can be written. */
static int
prepare_job(upg_settings *s, const upg_run_params *p, const char *dump, upg_runstate *rs, jv *doc)
{
  int status = upg_runstate_load(rs, dump, doc);
  if (status != 0 && status != UPG_RUNSTATE_NONE)
    return status; /* a record that cannot be trusted */
  if (status == 0 && rs->closed) /* a finished job: its record makes way for the new one */
    upg_notice(s, "%s: the finished job of request %s is replaced by this one", rs->path,
               rs->request ? rs->request : "?");
  else if (status == 0 && !p->new_request) { /* an open job */
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:USAGE", "%s already has an open job: %s%s, last step %s "
                                "(see %s); use --continue to go on, or --new to start another",
                                dump, rs->request ? "request " : "no request yet",
                                rs->request ? rs->request : "", upg_run_step_name(rs->step), rs->path));
  }
  char *path = rs->path;
  rs->path = NULL;
  upg_runstate_free(rs);
  rs->path = path ? path : upg_runstate_path(dump);
  rs->url = strdup(s->base_url);
  rs->rpc = upg_platform_of(s)->dialect == UPG_DIALECT_RPC;
  if (rs->rpc && p->sftp)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:USAGE", "--sftp: the rpc dialect moves the dump by "
                                                     "rsync over ssh; --sftp is v1's (--api v1)"));
  if (!rs->rpc && p->log)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:USAGE", "--log: the v1 platform keeps no log (only "
                                                     "the rpc dialect's does)"));
  rs->sftp = p->sftp;
  rs->force = p->force;
  remember_create(rs, p, dump);
  /* --env and --env-file (rpc only: cli.c) read and checked now, before
   * anything is made, and kept for the create a --continue may make */
  if (rs->rpc && (p->create.env || p->create.env_file) && (status = upg_rpc_env_list(&p->create, &rs->env, doc)))
    return status;
  if (p->database && ((status = check_dump_file(p, dump, doc)) || (status = remember_database(s, rs, p, doc))))
    return status;
  rs->output = job_output(p, rs, dump);
  if (!rs->path || !rs->url || !rs->output || (!rs->rpc && !rs->filename))
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "cannot name the output or the job record"));
  if ((status = check_output(rs, doc)))
    return status;
  return upg_runstate_check_writable(rs, doc);
}

/* The first step of a job from a database: the record says "started"
 * (from here on --continue can take the job up), pg_dump writes DUMP, and
 * the record says "dumped"; a dump that fails or is interrupted removes the
 * record again.  A new job first checks that its restore
 * target is free, before anything is made; a continued one dumps again
 * over what its own killed dump left (pg_dump cannot resume).  *dumped
 * gets the dump's summary. */
static int
dump_database(const upg_settings *s, const upg_run_params *p, const char *dump, upg_runstate *rs,
              run_clock *clk, jv *dumped, jv *doc)
{
  int status = rs->restore_as && !p->resume ? upg_run_pg_check_target(rs->restore_as, rs->data_dir,
                                                                      p->restore_role, p->trust_dump, doc) : 0;
  if (status)
    return status;
  if (p->reuse_dump && !p->resume) {
    upg_notice(s, "reusing %s as it is (--reuse-dump): no new dump of %s", dump, rs->database);
    *dumped = JV_OBJECT(jv_string("file"), jv_string(dump), jv_string("reused"), jv_true());
    rs->step = UPG_STEP_DUMPED;
    return upg_runstate_save(rs, doc);
  }
  rs->step = UPG_STEP_STARTED;
  if ((status = upg_runstate_save(rs, doc)))
    return status;
  /* --force is the output's; the default DB.dump is run's own, made anew */
  upg_dump_params d = { .database = rs->database, .output = dump, .force = p->resume || !p->dump,
                        .directory = rs->rpc, .jobs = rs->rpc ? p->jobs : 0 }; /* rpc: pg_dump -Fd -j N */
  step_begin(clk, s, "dump", "dumping %s into %s", rs->database, dump);
  if ((status = upg_pg_dump(s, &d, doc))) {
    /* No request exists yet: nothing to continue, the next run starts
     * afresh.  (Only a killed shell leaves "started" behind.) */
    upg_runstate_remove(rs);
    return failed_step(doc, "dump", rs, status);
  }
  *dumped = jv_object_get(*doc, jv_string("dump"));
  *doc = jv_null();
  rs->step = UPG_STEP_DUMPED;
  status = upg_runstate_save(rs, doc);
  return status ? failed_step(doc, "dump", rs, status) : 0;
}

/* Two API bases name the same platform (upg_url_join drops trailing
 * slashes). */
static bool
same_base(const char *a, const char *b)
{
  size_t la = strlen(a), lb = strlen(b);
  while (la > 0 && a[la - 1] == '/')
    la--;
  while (lb > 0 && b[lb - 1] == '/')
    lb--;
  return la == lb && strncmp(a, b, la) == 0;
}

/* OPTION (with VALUE, if any) contradicts the record: the job RECORDED. */
static int
disagreement(jv *doc, const upg_runstate *rs, const char *option, const char *value, const char *recorded,
             const char *what)
{
  return upg_fail(doc, UPG_EXIT_USAGE,
                  upg_failure("CLIENT:USAGE", "%s%s%s disagrees with the open job (%s, request %s), which %s %s; "
                              "a job goes on as it started: leave %s out to continue it, or start another job "
                              "with --new", option, value ? " " : "", value ? value : "", rs->path, rs->request,
                              recorded, what, option));
}

/* The same for a job from a database: which one, and where it goes. */
static int
check_database_agreement(const upg_run_params *p, const upg_runstate *rs, jv *doc)
{
  if (p->database && (!rs->database || strcmp(p->database, rs->database) != 0))
    return disagreement(doc, rs, "--database", p->database, rs->database ? "dumped" : "started from",
                        rs->database ? rs->database : "a dump file");
  if (p->restore_as && (!rs->restore_as || strcmp(p->restore_as, rs->restore_as) != 0))
    return disagreement(doc, rs, "--restore-as", p->restore_as, "restores into",
                        rs->restore_as ? rs->restore_as : "no database");
  if (p->no_restore && rs->restore_as)
    return disagreement(doc, rs, "--no-restore", NULL, "restores into", rs->restore_as);
  if (p->data_dir && (!rs->data_dir || strcmp(p->data_dir, rs->data_dir) != 0))
    return disagreement(doc, rs, "--data-dir", p->data_dir, "keeps the filestore in",
                        rs->data_dir ? rs->data_dir : "Odoo's default data dir");
  return 0;
}

/* --continue -o FILE: a download not yet made goes to FILE instead (the
 * record says so from the next step on); a download made cannot move. */
static int
take_output(const upg_run_params *p, const char *dump, upg_runstate *rs, jv *doc)
{
  char *wanted = default_output(dump, p->output);
  if (!wanted)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "out of memory"));
  if (strcmp(wanted, rs->output) == 0 || rs->step < UPG_STEP_DOWNLOADED) {
    free(rs->output);
    rs->output = wanted;
    return 0;
  }
  int status = disagreement(doc, rs, "-o", wanted, "wrote", rs->output);
  free(wanted);
  return status;
}

/* What the user gave explicitly must agree with the record: --continue
 * never silently sends the dump elsewhere or writes elsewhere than asked.
 * $UPGRADE_URL is only a default: the record's platform wins, said on
 * stderr. */
static int
check_agreement(const upg_settings *s, const upg_run_params *p, const char *dump, upg_runstate *rs, jv *doc)
{
  int status;
  if (!same_base(s->base_url, rs->url)) {
    if (p->url_given)
      return disagreement(doc, rs, "--url", s->base_url, "lives on", rs->url);
    upg_notice(s, "continuing on %s (the job's platform, from %s), not %s", rs->url, rs->path, s->base_url);
  }
  if ((upg_platform_of(s)->dialect == UPG_DIALECT_RPC) != rs->rpc)
    upg_notice(s, "continuing under the %s dialect (the job's, from %s)", rs->rpc ? "rpc" : "v1", rs->path);
  if (p->output && (status = take_output(p, dump, rs, doc)))
    return status;
  rs->force = rs->force || p->force;
  rs->no_filestore = rs->no_filestore || p->no_filestore; /* after the files were found missing */
  if (p->sftp && !rs->sftp)
    return disagreement(doc, rs, "--sftp", NULL, "moves the dump over", "HTTPS");
  return check_database_agreement(p, rs, doc);
}

static int
resume_job(const upg_settings *s, const upg_run_params *p, const char *dump, upg_runstate *rs, jv *doc)
{
  int status = upg_runstate_load(rs, dump, doc);
  if (status == UPG_RUNSTATE_NONE)
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:USAGE", "no open job for %s (no %s%s): nothing to continue", dump,
                                dump, UPG_RUNSTATE_SUFFIX));
  if (status == 0 && rs->closed) /* as when no record was kept: nothing is left to do */
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:USAGE", "the job of %s is finished (request %s, last step %s; see %s or "
                                "`upgrade jobs`): nothing to continue; a new `upgrade run` starts another",
                                dump, rs->request ? rs->request : "?", upg_run_step_name(rs->step), rs->path));
  if (status || (status = check_agreement(s, p, dump, rs, doc)))
    return status;
  return check_output(rs, doc);
}

/* The job is over: its record is kept, closed.  One that cannot be
 * written costs nothing of the job's result: a notice. */
static void
close_job(const upg_settings *s, upg_runstate *rs)
{
  jv failed;
  if (upg_runstate_close(rs, &failed) == 0)
    return;
  jv m = jv_getpath(jv_copy(failed), JV_ARRAY(jv_string("failures"), jv_number(0), jv_string("message")));
  upg_notice(s, "%s", jv_get_kind(m) == JV_KIND_STRING ? jv_string_value(m) : "cannot close the job record");
  jv_free(m);
  jv_free(failed);
}

/* With --continue, the platform says how far the request really got: a
 * request that left draft needs no upload nor process.  (A job with no
 * request yet, or past its download, has nothing to ask.) */
static int
where_are_we(const upg_settings *s, upg_runstate *rs, jv *doc)
{
  if (rs->step < UPG_STEP_CREATED || rs->step >= UPG_STEP_DOWNLOADED) {
    upg_notice(s, "continuing the job of %s: last step %s", rs->path, upg_run_step_name(rs->step));
    return 0;
  }
  const upg_platform *pf = upg_platform_of(s);
  int status = pf->status(s, doc);
  if (status)
    return status;
  jv archived;
  if (rs->rpc && (status = upg_run_rpc_archived(*doc, &archived))) {
    jv_free(*doc);
    *doc = archived;
    close_job(s, rs); /* nothing more can be done with it */
    return status;
  }
  char *state = pf->state(*doc);
  /* rpc: a pending request is processed again (the platform takes a
   * repeat there, §2.5), to learn what process says of PostgreSQL */
  if (state && !pf->is_unstarted(state) && rs->step < UPG_STEP_PROCESSED &&
      !(rs->rpc && strcmp(state, "pending") == 0))
    rs->step = UPG_STEP_PROCESSED;
  upg_notice(s, "continuing request %s: state %s, last step %s", rs->request, state ? state : "?",
             upg_run_step_name(rs->step));
  free(state);
  jv_free(*doc);
  return 0;
}

/* A step's call ended with STATUS: when it succeeded, record that the job
 * reached DONE (a record that cannot be written replaces the step's
 * document with its failure).  Returns STATUS or the record's failure. */
static int
record_step(upg_runstate *rs, enum upg_run_step done, int status, jv *doc)
{
  if (status)
    return status;
  rs->step = done;
  jv record_doc;
  status = upg_runstate_save(rs, &record_doc);
  if (status) {
    jv_free(*doc);
    *doc = record_doc;
  }
  return status;
}

/* The steps up to the platform's final state: create, upload, process,
 * wait. */
static int
platform_steps(upg_settings *s, const upg_run_params *p, const char *dump, upg_runstate *rs, run_clock *clk,
               jv *doc)
{
  int status;
  if (rs->step < UPG_STEP_CREATED && (status = create_request(s, rs, dump, clk, doc)))
    return status;
  if (rs->step < UPG_STEP_UPLOADED) {
    long long bytes = upg_run_rpc_dump_size(dump);
    char size[32] = "?";
    if (bytes >= 0)
      upg_format_bytes(size, sizeof size, (double)bytes);
    step_begin(clk, s, "upload", "uploading %s (%s)%s", dump, size, rs->sftp ? " over SFTP" : "");
    status = rs->sftp ? upg_sftp_upload(s, dump, doc) : upg_platform_of(s)->upload(s, dump, doc);
    if ((status = record_step(rs, UPG_STEP_UPLOADED, status, doc)))
      return failed_step(doc, "upload", rs, status);
    jv_free(*doc);
  }
  if (rs->step < UPG_STEP_PROCESSED) {
    step_begin(clk, s, "process", "processing: request %s goes to the platform's queue", rs->request);
    status = upg_platform_of(s)->process(s, doc);
    if (!status && rs->rpc) /* recorded with the step: a --continue restores nothing either */
      rs->pg_incompatible = upg_run_rpc_incompatible(*doc);
    if ((status = record_step(rs, UPG_STEP_PROCESSED, status, doc)))
      return failed_step(doc, "process", rs, status);
    jv_free(*doc);
  }
  if (rs->step < UPG_STEP_DONE) {
    bool final = false;
    step_begin(clk, s, "wait", "waiting for request %s to be upgraded", rs->request);
    upg_log_tail log = { .print = true }; /* --log: the platform's lines on stderr */
    status = upg_wait(s, p->interval, p->timeout, p->log ? &log : NULL, &final, doc);
    upg_log_tail_free(&log);
    if (status && final)
      close_job(s, rs); /* the request ended badly: the job is over */
    if ((status = record_step(rs, UPG_STEP_DONE, status, doc)))
      return failed_step(doc, "wait", rs, status);
    jv_free(*doc);
  }
  return 0;
}

/* The upgraded dump, fetched to the record's output; *request gets the
 * last status's request.  A job that restores next records the step;
 * otherwise the job is over. */
static int
download_step(upg_settings *s, upg_runstate *rs, run_clock *clk, jv *request, jv *doc)
{
  step_begin(clk, s, "download", "downloading the upgraded dump to %s", rs->output);
  jv last;
  int status = upg_platform_of(s)->status(s, &last);
  if (status) {
    *doc = last;
    return failed_step(doc, "download", rs, status);
  }
  status = rs->sftp ? upg_sftp_download(s, rs->output, rs->force, doc)
                    : upg_platform_of(s)->download(s, "upgraded-dump", rs->output, rs->force, doc);
  if (status) {
    jv_free(last);
    return failed_step(doc, "download", rs, status);
  }
  *request = upg_doc_request(last);
  jv_free(last);
  if (!rs->restore_as || rs->pg_incompatible) {
    close_job(s, rs);
    return 0;
  }
  status = record_step(rs, UPG_STEP_DOWNLOADED, 0, doc);
  return status ? failed_step(doc, "download", rs, status) : 0;
}

/* --remove-dumps: the job is restored, its two dumps are not needed
 * (under rpc: run_rpc.h). */
static void
remove_dumps(const upg_settings *s, const char *dump, const char *output)
{
  const char *files[] = { dump, output };
  for (size_t i = 0; i < 2; i++) {
    if (unlink(files[i]) == 0)
      upg_notice(s, "removed %s (--remove-dumps)", files[i]);
    else if (errno != ENOENT)
      upg_notice(s, "could not remove %s: %s", files[i], strerror(errno));
  }
}

/* The download restored into the job's new database; then the job is
 * over: its record goes, and with it the mark on the database. */
static int
restore_step(const upg_settings *s, const upg_run_params *p, const char *dump, upg_runstate *rs, run_clock *clk,
             jv *doc)
{
  upg_run_pg_load load = { .jobs = p->jobs, .role = p->restore_role, .trust_dump = p->trust_dump,
                           .link = p->filestore_link };
  if (rs->step < UPG_STEP_RESTORED)
    step_begin(clk, s, "restore", "restoring into %s", rs->restore_as);
  int status = rs->step < UPG_STEP_RESTORED ? upg_run_pg_restore(s, rs, &load, doc) : 0;
  if (status || (status = record_step(rs, UPG_STEP_RESTORED, 0, doc)))
    return failed_step(doc, "restore", rs, status);
  close_job(s, rs);
  upg_run_pg_unmark(s, rs);
  if (p->remove_dumps && rs->rpc)
    upg_run_rpc_remove_dumps(s, dump, rs->output);
  else if (p->remove_dumps)
    remove_dumps(s, dump, rs->output);
  return 0;
}

/* Add FIELD = VALUE (consumed) to *doc when VALUE is there. */
static void
add_field(jv *doc, const char *field, jv value)
{
  if (jv_is_valid(value) && jv_get_kind(value) != JV_KIND_NULL)
    *doc = jv_object_set(*doc, jv_string(field), value);
  else
    jv_free(value);
}

static int
remaining_steps(upg_settings *s, const upg_run_params *p, const char *dump, upg_runstate *rs, run_clock *clk,
                jv *doc)
{
  int status = platform_steps(s, p, dump, rs, clk, doc);
  if (status)
    return status;
  jv transfer = jv_invalid(), request = jv_invalid(), restored = jv_invalid(), notes = jv_invalid();
  if (rs->step < UPG_STEP_DOWNLOADED) {
    if ((status = download_step(s, rs, clk, &request, doc)))
      return status;
    transfer = jv_object_get(*doc, jv_string("transfer"));
    *doc = jv_null();
    notes = rs->rpc ? jv_invalid() : upg_run_notes_fetch(s, rs); /* rpc: the report and log came with it */
  }
  if (rs->restore_as && rs->pg_incompatible)
    upg_notice(s, "not restored into %s: %s", rs->restore_as, INCOMPATIBLE_WHY);
  else if (rs->restore_as) {
    if ((status = restore_step(s, p, dump, rs, clk, doc))) {
      jv_free(transfer);
      jv_free(request);
      jv_free(notes);
      return status;
    }
    restored = jv_object_get(*doc, jv_string("restore"));
    *doc = jv_null();
  }
  *doc = JV_OBJECT(jv_string("failures"), jv_array());
  add_field(doc, "transfer", transfer);
  add_field(doc, "request", request);
  add_field(doc, "notes", notes);
  add_field(doc, "restore", restored);
  if (rs->rpc) { /* the report and log, wherever this job's download was made */
    add_field(doc, "files", upg_run_rpc_files(rs->output));
    if (rs->pg_incompatible)
      add_field(doc, "pg_version_compatible", jv_false());
    if (rs->pg_incompatible && rs->restore_as)
      add_field(doc, "not_restored", jv_string(INCOMPATIBLE_WHY));
  }
  return 0;
}

/* The dump must be there before a request is created for it, and one
 * `run` at a time works on it: an exclusive flock on the dump itself
 * (never replaced, unlike the record; no lock file to leave behind), taken
 * without waiting and held on *lock_fd (O_CLOEXEC) until upg_run returns,
 * whatever the path -- Ctrl-C included, which returns like any failure. */
static int
lock_dump(const upg_settings *s, bool rpc, const char *dump, int *lock_fd, jv *doc)
{
  off_t size;
  struct stat st;
  int status;
  if (rpc && stat(dump, &st) == 0 && S_ISDIR(st.st_mode)) { /* a directory-format dump */
    if ((status = upg_run_rpc_open_directory(dump, lock_fd, doc)))
      return status;
  } else {
    if ((status = upg_input_open(dump, lock_fd, &size, doc)))
      return status;
    /* before a request is made for it: something to upgrade, that looks
     * like a dump */
    status = size == 0 ? upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "%s is empty: nothing to "
                                                                     "upgrade", dump))
                       : upg_upload_check_fd(*lock_fd, dump, doc);
  }
  if (!status && flock(*lock_fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      status = upg_fail(doc, UPG_EXIT_USAGE,
                        upg_failure("CLIENT:USAGE", "another `upgrade run` is working on %s right now (it holds "
                                    "the lock on it): let it finish, or stop it and use --continue", dump));
    else /* a file system without locks: go on, as before locks existed */
      upg_notice(s, "%s: cannot lock it (%s); make sure no other run works on it", dump, strerror(errno));
  }
  if (status) {
    close(*lock_fd);
    *lock_fd = -1;
  }
  return status;
}

/* Where the job stands when this call starts.  A job from a database is
 * dumped first if it has not been (then DUMP exists and is locked); any
 * other job locks DUMP, then starts its record or reads it.  *dumped: the
 * dump's summary. */
static int
open_job(upg_settings *s, const upg_run_params *p, const char *dump, upg_runstate *rs, int *lock_fd,
         run_clock *clk, jv *dumped, jv *doc)
{
  int status;
  if (p->resume) {
    if ((status = resume_job(s, p, dump, rs, doc)))
      return status;
    if (rs->step < UPG_STEP_DUMPED && (status = dump_database(s, p, dump, rs, clk, dumped, doc)))
      return status;
    return lock_dump(s, rs->rpc, dump, lock_fd, doc);
  }
  if (p->database) {
    if ((status = prepare_job(s, p, dump, rs, doc)) || (status = dump_database(s, p, dump, rs, clk, dumped, doc)))
      return status;
    return lock_dump(s, rs->rpc, dump, lock_fd, doc);
  }
  if ((status = lock_dump(s, upg_platform_of(s)->dialect == UPG_DIALECT_RPC, dump, lock_fd, doc)))
    return status;
  return prepare_job(s, p, dump, rs, doc);
}

int
upg_run(upg_settings *s, const upg_run_params *p, jv *doc)
{
  upg_runstate rs;
  const char *base_url = s->base_url, *request = s->request, *key = s->key;
  const char *api = s->api, *token = s->token, *node = s->node, *identity = s->identity;
  memset(&rs, 0, sizeof rs);
  char *owned = p->dump ? NULL : upg_pg_dump_default_output(p->database ? p->database : "");
  const char *dump = p->dump ? p->dump : owned;
  int lock_fd = -1;
  jv dumped = jv_invalid();
  run_clock clk = { .started = upg_now(), .times = jv_object() };
  int status = dump ? open_job(s, p, dump, &rs, &lock_fd, &clk, &dumped, doc)
                    : upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "out of memory"));
  if (status)
    goto out;
  upg_secret_add(s, rs.key); /* the job's key, as secret as the given one */
  /* From here on the job's own request, on the platform that holds it. */
  s->base_url = rs.url;
  s->request = rs.request;
  s->key = rs.key;
  s->api = rs.rpc ? "rpc" : "v1"; /* the job's dialect, whatever the shell's */
  if (rs.rpc && rs.token)
    upg_run_rpc_name(s, &rs);
  if (p->resume && (status = where_are_we(s, &rs, doc)))
    status = failed_step(doc, "status", &rs, status);
  else
    status = remaining_steps(s, p, dump, &rs, &clk, doc);
  if (!status) {
    add_field(doc, "dump", jv_copy(dumped));
    say_done(&clk, s);
  } else {
    hint_continue(&rs, dump, doc);
  }
out:
  step_end(&clk);
  if (jv_get_kind(*doc) == JV_KIND_OBJECT) { /* failed or not: what this call's steps took */
    *doc = jv_object_set(*doc, jv_string("steps"), clk.times);
    *doc = jv_object_set(*doc, jv_string("seconds"), jv_number(upg_round_ms(upg_now() - clk.started)));
  } else {
    jv_free(clk.times);
  }
  jv_free(dumped);
  s->base_url = base_url;
  s->request = request;
  s->key = key;
  s->api = api;
  s->token = token;
  s->node = node;
  s->identity = identity;
  upg_runstate_free(&rs);
  if (lock_fd >= 0)
    close(lock_fd);
  free(owned);
  return status;
}
