/* run.c -- `run`: the whole job in one call.
 *
 * create -> upload (HTTPS or SFTP) -> process -> wait -> download.  Every
 * step is one of the subcommands' own functions; this file only strings
 * them together and says which step failed.
 */
#include "config.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upgrade/api.h"
#include "upgrade/outcome.h"
#include "upgrade/response.h"

/* A failed step's document, marked with the step's name and carrying the
 * request (id and key) so that the caller can pick the job up again. */
static int
failed_step(jv *doc, const char *step, jv request, int status)
{
  jv known = upg_doc_request(*doc);
  bool has_request = jv_get_kind(known) == JV_KIND_OBJECT;
  jv_free(known);
  *doc = jv_object_set(*doc, jv_string("step"), jv_string(step));
  if (jv_get_kind(request) == JV_KIND_OBJECT && !has_request)
    *doc = jv_object_set(*doc, jv_string("request"), request);
  else
    jv_free(request);
  return status;
}

static char *
base_name(const char *path)
{
  char *copy = strdup(path);
  char *base = copy ? strdup(basename(copy)) : NULL;
  free(copy);
  return base;
}

/* Create the request and make S name it from now on. */
static int
create_step(upg_settings *s, const upg_run_params *p, char **id, char **key, jv *request, jv *doc)
{
  int status = upg_api_create(s, &p->create, doc);
  if (status)
    return status;
  *id = upg_request_field(*doc, "id");
  *key = upg_request_field(*doc, "key");
  if (!*id || !*key) {
    jv_free(*doc);
    return upg_fail(doc, UPG_EXIT_TRANSPORT,
                    upg_failure("CLIENT:BAD_RESPONSE", "create: the answer lacks the request id or key"));
  }
  *request = upg_doc_request(*doc);
  jv_free(*doc);
  s->request = *id;
  s->key = *key;
  return 0;
}

int
upg_run(upg_settings *s, const upg_run_params *p, jv *doc)
{
  upg_run_params params = *p;
  char *dump_name = base_name(p->dump), *default_out = NULL, *id = NULL, *key = NULL;
  jv request = jv_null();
  int status;

  if (!params.create.filename)
    params.create.filename = dump_name;
  if (!params.output && dump_name && asprintf(&default_out, "upgraded_%s", dump_name) >= 0)
    params.output = default_out;

  status = create_step(s, &params, &id, &key, &request, doc);
  if (status) {
    status = failed_step(doc, "create", jv_null(), status);
    goto out;
  }
  status = params.sftp ? upg_sftp_upload(s, p->dump, doc) : upg_api_upload(s, p->dump, doc);
  if (status) {
    status = failed_step(doc, "upload", jv_copy(request), status);
    goto out;
  }
  jv_free(*doc);
  if ((status = upg_api_process(s, doc))) {
    status = failed_step(doc, "process", jv_copy(request), status);
    goto out;
  }
  jv_free(*doc);
  if ((status = upg_wait(s, params.interval, params.timeout, doc))) {
    status = failed_step(doc, "wait", jv_copy(request), status);
    goto out;
  }
  jv_free(request);
  request = upg_doc_request(*doc);
  jv_free(*doc);
  status = params.sftp ? upg_sftp_download(s, params.output, params.force, doc)
                       : upg_download(s, "upgraded-dump", params.output, params.force, doc);
  if (status) {
    status = failed_step(doc, "download", jv_copy(request), status);
    goto out;
  }
  *doc = jv_object_set(*doc, jv_string("request"), jv_copy(request));
out:
  jv_free(request);
  /* S pointed at id and key: the caller copies them before they go. */
  s->request = NULL;
  s->key = NULL;
  free(id);
  free(key);
  free(dump_name);
  free(default_out);
  return status;
}
