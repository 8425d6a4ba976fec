/* SPDX-License-Identifier: GPL-3.0-or-later */
/* api.c -- the platform's form-posted methods (see api.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "upgrade/api.h"
#include "upgrade/form.h"
#include "upgrade/http.h"
#include "upgrade/human.h"
#include "upgrade/outcome.h"
#include "upgrade/response.h"

int
upg_require_request(const upg_settings *s, jv *doc)
{
  if (s->request && *s->request && s->key && *s->key)
    return 0;
  return upg_fail(doc, UPG_EXIT_USAGE,
                  upg_failure("CLIENT:USAGE", "no request: give --request ID --key KEY, set "
                              "UPGRADE_REQUEST and UPGRADE_KEY, or run `upgrade create` first (in this "
                              "shell: a create in a subshell, $(...) or a pipe, sets nothing here)"));
}

/* Classify a completed exchange's body as the platform's answer. */
static int
read_answer(upg_http_call *call, const char *method, bool *retryable, jv *doc)
{
  int status = upg_response_parse(method, call->body ? call->body : "", call->body_len, doc);
  if (status == UPG_EXIT_TRANSPORT)
    *retryable = call->idempotent;
  else if (status == UPG_EXIT_FAILED)
    *retryable = call->idempotent && upg_doc_only_reason(*doc, "SERVER:ERROR");
  return status;
}

/* Run CALL and read its answer; ends the call. */
static int
exchange(upg_http_call *call, const char *method, bool *retryable, jv *doc)
{
  int status = upg_http_perform(call, doc);
  if (status)
    *retryable = call->retryable;
  else
    status = read_answer(call, method, retryable, doc);
  upg_http_end(call);
  return status;
}

struct form_post {
  const upg_settings *s;
  const char *method;
  const char *const *pairs;
  bool idempotent;
};

static int
form_post_once(void *ctx, bool *retryable, jv *doc)
{
  struct form_post *fp = ctx;
  upg_http_call call;
  char *url = upg_url_join(fp->s->base_url, fp->method, NULL);
  char *body = upg_form_encode(fp->pairs);
  int status;

  if (!url || !body) {
    status = upg_fail(doc, UPG_EXIT_TRANSPORT, upg_failure("CLIENT:NETWORK", "%s: out of memory", fp->method));
    goto out;
  }
  status = upg_http_begin(&call, fp->s, fp->method, url, doc);
  if (status)
    goto out;
  call.idempotent = fp->idempotent;
  curl_easy_setopt(call.curl, CURLOPT_POSTFIELDS, body);
  status = exchange(&call, fp->method, retryable, doc);
out:
  free(url);
  free(body);
  return status;
}

static int
form_post(const upg_settings *s, const char *method, const char *const *pairs, bool idempotent, jv *doc)
{
  struct form_post fp = { s, method, pairs, idempotent };
  return upg_retry(s, method, form_post_once, &fp, doc);
}

int
upg_api_create(const upg_settings *s, const upg_create_params *p, jv *doc)
{
  const char *pairs[] = { "contract", p->contract, "email", p->email, "target", p->target,
                          "aim", p->aim, "filename", p->filename, "timezone", p->timezone, NULL };
  int status = form_post(s, "create", pairs, false, doc); /* twice would make two requests */
  char *key = upg_request_field(*doc, "key");
  upg_secret_add(s, key); /* the new request's key: a secret from now on */
  free(key);
  return status;
}

static int
request_method(const upg_settings *s, const char *method, bool idempotent, jv *doc)
{
  int status = upg_require_request(s, doc);
  if (status)
    return status;
  const char *pairs[] = { "request", s->request, "key", s->key, NULL };
  return form_post(s, method, pairs, idempotent, doc);
}

int
upg_api_process(const upg_settings *s, jv *doc)
{
  return request_method(s, "process", false, doc);
}

int
upg_api_skip_test(const upg_settings *s, jv *doc)
{
  return request_method(s, "skip_test", false, doc);
}

int
upg_api_status(const upg_settings *s, jv *doc)
{
  return request_method(s, "status", true, doc);
}

int
upg_api_status_once(const upg_settings *s, bool *transient, jv *doc)
{
  *transient = false;
  int status = upg_require_request(s, doc);
  if (status)
    return status;
  const char *pairs[] = { "request", s->request, "key", s->key, NULL };
  struct form_post fp = { s, "status", pairs, true };
  return form_post_once(&fp, transient, doc);
}

char *
upg_request_url(const upg_settings *s, const char *method)
{
  const char *pairs[] = { "request", s->request, "key", s->key, NULL };
  char *query = upg_form_encode(pairs);
  char *url = query ? upg_url_join(s->base_url, method, query) : NULL;
  free(query);
  return url;
}

struct sftp_access {
  const upg_settings *s;
  const char *keys;
  size_t len;
};

/* As the API doc's own example: request and key in the query, the keys as
 * a multipart file field. */
static int
sftp_access_once(void *ctx, bool *retryable, jv *doc)
{
  struct sftp_access *sa = ctx;
  char *url = upg_request_url(sa->s, "request_sftp_access");
  upg_http_call call;
  curl_mime *mime = NULL;
  int status;

  if (!url) {
    status = upg_fail(doc, UPG_EXIT_TRANSPORT, upg_failure("CLIENT:NETWORK", "sftp-access: out of memory"));
    goto out;
  }
  status = upg_http_begin(&call, sa->s, "request_sftp_access", url, doc);
  if (status)
    goto out;
  call.idempotent = true; /* registering the same keys again changes nothing */
  mime = curl_mime_init(call.curl);
  curl_mimepart *part = curl_mime_addpart(mime);
  curl_mime_name(part, "ssh_keys");
  curl_mime_data(part, sa->keys, sa->len);
  curl_mime_filename(part, "ssh_keys");
  curl_mime_type(part, "text/plain");
  curl_easy_setopt(call.curl, CURLOPT_MIMEPOST, mime);
  status = exchange(&call, "request_sftp_access", retryable, doc);
out:
  curl_mime_free(mime);
  free(url);
  return status;
}

int
upg_api_sftp_access(const upg_settings *s, const char *keys, size_t len, jv *doc)
{
  int status = upg_require_request(s, doc);
  if (status)
    return status;
  struct sftp_access sa = { s, keys, len };
  return upg_retry(s, "request_sftp_access", sftp_access_once, &sa, doc);
}

static const char *const final_states[] = { "done", "delivered", "failed", "invalid", "cancel", "cancelled", NULL };

bool
upg_state_is_final(const char *state)
{
  for (const char *const *f = final_states; *f; f++)
    if (strcmp(state, *f) == 0)
      return true;
  return false;
}

bool
upg_state_is_success(const char *state)
{
  return strcmp(state, "done") == 0 || strcmp(state, "delivered") == 0;
}
