/* run.c -- `run`: the whole job in one call, resumable.
 *
 * create -> upload (HTTPS or SFTP) -> process -> wait -> download.  Every
 * step is one of the subcommands' own functions; this file strings them
 * together, records each completed step in DUMP.upgrade.json
 * (runstate.h), and with --continue asks the platform where the request
 * stands and goes on from there.
 */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "upgrade/api.h"
#include "upgrade/files.h"
#include "upgrade/human.h"
#include "upgrade/outcome.h"
#include "upgrade/response.h"
#include "upgrade/runstate.h"

/* A failed step's document, marked with the step's name and carrying the
 * request (id and key) so that the caller can name it afterwards. */
static int
failed_step(jv *doc, const char *step, const upg_runstate *rs, int status)
{
  jv known = upg_doc_request(*doc);
  bool has_request = jv_get_kind(known) == JV_KIND_OBJECT;
  jv_free(known);
  *doc = jv_object_set(*doc, jv_string("step"), jv_string(step));
  if (!has_request && rs->request)
    *doc = jv_object_set(*doc, jv_string("request"),
                         JV_OBJECT(jv_string("id"), jv_string(rs->request), jv_string("key"), jv_string(rs->key)));
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

static int
create_request(upg_settings *s, const upg_run_params *p, upg_runstate *rs, jv *doc)
{
  upg_create_params create = p->create;
  char *copy = strdup(p->dump);
  if (!create.filename && copy)
    create.filename = basename(copy);
  int status = upg_api_create(s, &create, doc);
  free(copy);
  if (status)
    return status;
  rs->request = upg_request_field(*doc, "id");
  rs->key = upg_request_field(*doc, "key");
  jv_free(*doc);
  if (!rs->request || !rs->key)
    return upg_fail(doc, UPG_EXIT_TRANSPORT,
                    upg_failure("CLIENT:BAD_RESPONSE", "create: the answer lacks the request id or key"));
  rs->step = UPG_STEP_CREATED;
  return upg_runstate_save(rs, doc);
}

/* A new job: refuse to open a second request for a dump whose job is
 * still open, unless --new; then create and record the request. */
static int
start_job(upg_settings *s, const upg_run_params *p, upg_runstate *rs, jv *doc)
{
  int found = upg_runstate_load(rs, p->dump, doc);
  if (found > 0)
    return found;
  if (found == 0 && !p->new_request) {
    int status = upg_fail(doc, UPG_EXIT_USAGE,
                          upg_failure("CLIENT:USAGE", "%s already has an open job: request %s, last step %s "
                                      "(see %s); use --continue to go on, or --new to start another",
                                      p->dump, rs->request, upg_run_step_name(rs->step), rs->path));
    return status;
  }
  char *path = rs->path;
  rs->path = NULL;
  upg_runstate_free(rs);
  rs->path = path ? path : upg_runstate_path(p->dump);
  rs->url = strdup(s->base_url);
  rs->output = default_output(p->dump, p->output);
  rs->target = p->create.target ? strdup(p->create.target) : NULL;
  rs->aim = p->create.aim ? strdup(p->create.aim) : NULL;
  rs->sftp = p->sftp;
  if (!rs->path || !rs->url || !rs->output)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "cannot name the output or the job record"));
  return create_request(s, p, rs, doc);
}

static int
resume_job(const upg_run_params *p, upg_runstate *rs, jv *doc)
{
  int found = upg_runstate_load(rs, p->dump, doc);
  if (found < 0)
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:USAGE", "no open job for %s (no %s%s): nothing to continue", p->dump,
                                p->dump, UPG_RUNSTATE_SUFFIX));
  return found;
}

/* With --continue, the platform says how far the request really got: a
 * request that left draft needs no upload nor process. */
static int
where_are_we(const upg_settings *s, upg_runstate *rs, jv *doc)
{
  int status = upg_api_status(s, doc);
  if (status)
    return status;
  char *state = upg_request_field(*doc, "state");
  if (state && strcmp(state, "draft") != 0 && rs->step < UPG_STEP_PROCESSED)
    rs->step = UPG_STEP_PROCESSED;
  upg_notice(s, "continuing request %s: state %s, last step %s", rs->request, state ? state : "?",
             upg_run_step_name(rs->step));
  free(state);
  jv_free(*doc);
  return 0;
}

/* Run STEP's function and record that it completed. */
static int
step(upg_runstate *rs, enum upg_run_step done, int status, jv *doc)
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

static int
remaining_steps(upg_settings *s, const upg_run_params *p, upg_runstate *rs, jv *doc)
{
  int status;
  if (rs->step < UPG_STEP_UPLOADED) {
    status = rs->sftp ? upg_sftp_upload(s, p->dump, doc) : upg_api_upload(s, p->dump, doc);
    if ((status = step(rs, UPG_STEP_UPLOADED, status, doc)))
      return failed_step(doc, "upload", rs, status);
    jv_free(*doc);
  }
  if (rs->step < UPG_STEP_PROCESSED) {
    if ((status = step(rs, UPG_STEP_PROCESSED, upg_api_process(s, doc), doc)))
      return failed_step(doc, "process", rs, status);
    jv_free(*doc);
  }
  if (rs->step < UPG_STEP_DONE) {
    status = upg_wait(s, p->interval, p->timeout, doc);
    if (status == UPG_EXIT_FAILED && strcmp(upg_doc_first_reason(*doc), "CLIENT:STATE") == 0)
      upg_runstate_remove(rs); /* the request ended badly: the job is closed */
    if ((status = step(rs, UPG_STEP_DONE, status, doc)))
      return failed_step(doc, "wait", rs, status);
    jv_free(*doc);
  }
  jv last;
  if ((status = upg_api_status(s, &last))) {
    *doc = last;
    return failed_step(doc, "download", rs, status);
  }
  status = rs->sftp ? upg_sftp_download(s, rs->output, p->force, doc)
                    : upg_download(s, "upgraded-dump", rs->output, p->force, doc);
  if (status) {
    jv_free(last);
    return failed_step(doc, "download", rs, status);
  }
  upg_runstate_remove(rs);
  jv request = upg_doc_request(last);
  jv_free(last);
  *doc = jv_object_set(*doc, jv_string("request"), request);
  return 0;
}

/* The dump must be there before a request is created for it. */
static int
check_dump(const char *dump, jv *doc)
{
  int fd;
  off_t size;
  int status = upg_input_open(dump, &fd, &size, doc);
  if (status)
    return status;
  close(fd);
  if (size == 0)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "%s is empty: nothing to upgrade", dump));
  return 0;
}

int
upg_run(upg_settings *s, const upg_run_params *p, jv *doc)
{
  upg_runstate rs;
  const char *base_url = s->base_url, *request = s->request, *key = s->key;
  memset(&rs, 0, sizeof rs);
  int status = check_dump(p->dump, doc);
  if (status)
    return status;
  status = p->resume ? resume_job(p, &rs, doc) : start_job(s, p, &rs, doc);
  if (status)
    goto out;
  upg_secret_add(s, rs.key); /* the job's key, as secret as the given one */
  /* From here on the job's own request, on the platform that holds it. */
  s->base_url = rs.url;
  s->request = rs.request;
  s->key = rs.key;
  if (p->resume && (status = where_are_we(s, &rs, doc)))
    status = failed_step(doc, "status", &rs, status);
  else
    status = remaining_steps(s, p, &rs, doc);
out:
  s->base_url = base_url;
  s->request = request;
  s->key = key;
  upg_runstate_free(&rs);
  return status;
}
