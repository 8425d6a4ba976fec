/* SPDX-License-Identifier: GPL-3.0-or-later */
/* call.c -- one JSON-RPC call to the rpc platform, the request's node, and
 * the subcommands that are one call: status, process, wipe (see
 * rpc_call.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "upgrade/http.h"
#include "upgrade/human.h"
#include "upgrade/outcome.h"
#include "upgrade/response.h"
#include "upgrade/rpc_answer.h"
#include "upgrade/rpc_call.h"
#include "upgrade/rpc_fields.h"
#include "upgrade/rpc_request.h"

int
upg_rpc_call(const upg_settings *s, const char *base, const char *method, const char *check_as, jv params,
             bool idempotent, jv *doc)
{
  upg_http_reply reply;
  char *url = upg_rpc_url(base, method);
  char *body = upg_rpc_body(params, 1);
  int status;
  if (!url || !body) {
    status = upg_fail(doc, UPG_EXIT_TRANSPORT, upg_failure("CLIENT:NETWORK", "%s: out of memory", method));
    goto out;
  }
  status = upg_http_post_json(s, method, url, body, idempotent, &reply, doc);
  if (status)
    goto out;
  status = upg_rpc_answer(check_as, reply.status, reply.content_type, reply.body, reply.len, doc);
  upg_http_reply_free(&reply);
out:
  free(url);
  free(body);
  return status;
}

int
upg_rpc_require_token(const upg_settings *s, jv *doc)
{
  if (!s->token || !*s->token)
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:USAGE", "no request: give --token TOKEN, set UPGRADE_TOKEN, or run "
                                "`upgrade create` first"));
  upg_secret_add(s, s->token);
  const char *why = upg_rpc_bad_token(s->token);
  if (why)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:USAGE", "--token: the token %s", why));
  return 0;
}

/* One status call at BASE, never retried unless RETRY. */
static int
status_at(const upg_settings *s, const char *base, bool retry, jv *doc)
{
  return upg_rpc_call(s, base, "status", "status", upg_rpc_token_params(s->token), retry, doc);
}

int
upg_rpc_node_base(const upg_settings *s, char **base, jv *doc)
{
  *base = NULL;
  if (s->node) {
    const char *why = upg_rpc_bad_host(s->node);
    if (why)
      return upg_fail(doc, UPG_EXIT_USAGE,
                      upg_failure("CLIENT:USAGE", "UPGRADE_HOST: the node '%s' %s (`upgrade create` sets it)",
                                  s->node, why));
    *base = upg_rpc_node_url(s->node);
  } else {
    jv result;
    int status = status_at(s, s->base_url, true, &result);
    if (status) {
      *doc = result;
      return status;
    }
    jv host = jv_object_get(result, jv_string("host_uri")); /* checked bare by upg_rpc_check_result */
    *base = upg_rpc_node_url(jv_string_value(host));
    jv_free(host);
  }
  if (!*base)
    return upg_fail(doc, UPG_EXIT_TRANSPORT, upg_failure("CLIENT:NETWORK", "out of memory"));
  return 0;
}

/* Where status goes: the node when the shell knows it, else the front. */
static int
status_base(const upg_settings *s, char **base, jv *doc)
{
  int status = upg_rpc_require_token(s, doc);
  if (status)
    return status;
  if (s->node)
    return upg_rpc_node_base(s, base, doc);
  *base = strdup(s->base_url);
  return *base ? 0 : upg_fail(doc, UPG_EXIT_TRANSPORT, upg_failure("CLIENT:NETWORK", "out of memory"));
}

int
upg_rpc_status(const upg_settings *s, jv *doc)
{
  char *base;
  int status = status_base(s, &base, doc);
  if (status)
    return status;
  jv result;
  status = status_at(s, base, true, &result);
  free(base);
  *doc = status ? result : upg_doc_with("request", result);
  return status;
}

/* A failure a later poll may not meet: the network, a time-out, a
 * proxy's 5xx/408/429, the platform's own exception. */
static bool
transient_failure(jv doc)
{
  char reason[64];
  upg_doc_first_reason(doc, reason, sizeof reason);
  if (strcmp(reason, "CLIENT:NETWORK") == 0 || strcmp(reason, "CLIENT:TIMEOUT") == 0
      || strcmp(reason, "SERVER:ERROR") == 0)
    return true;
  if (strcmp(reason, "CLIENT:HTTP") != 0)
    return false;
  jv failures = jv_object_get(jv_copy(doc), jv_string("failures"));
  jv code = jv_array_get(failures, 0);
  code = jv_get_kind(code) == JV_KIND_OBJECT ? jv_object_get(code, jv_string("code")) : code;
  double c = jv_get_kind(code) == JV_KIND_NUMBER ? jv_number_value(code) : 0;
  jv_free(code);
  return c >= 500 || c == 408 || c == 429;
}

int
upg_rpc_status_once(const upg_settings *s, bool *transient, jv *doc)
{
  *transient = false;
  char *base;
  int status = status_base(s, &base, doc);
  if (status)
    return status;
  jv result;
  status = status_at(s, base, false, &result);
  free(base);
  if (status) {
    *transient = transient_failure(result);
    *doc = result;
    return status;
  }
  *doc = upg_doc_with("request", result);
  return 0;
}

int
upg_rpc_process(const upg_settings *s, jv *doc)
{
  char *base;
  int status = upg_rpc_require_token(s, doc);
  if (status || (status = upg_rpc_node_base(s, &base, doc)))
    return status;
  jv result;
  status = upg_rpc_call(s, base, "process", "process", upg_rpc_token_params(s->token), true, &result);
  free(base);
  if (status) {
    *doc = result;
    return status;
  }
  if (jv_get_kind(jv_object_get(jv_copy(result), jv_string("is_pg_version_compatible"))) == JV_KIND_FALSE)
    upg_notice(s, "warning: the platform finds the database's PostgreSQL older than the target needs: the "
               "upgraded dump will need a newer PostgreSQL to restore");
  *doc = upg_doc_with("request", result);
  return 0;
}

/* The wipe's verdict: everything wiped, or exit 1 naming what was not. */
static int
judge_wipe(jv result, jv *doc)
{
  jv failed = jv_object_get(jv_copy(result), jv_string("failed"));
  int n = jv_array_length(jv_copy(failed));
  jv text = n ? jv_dump_string(failed, 0) : (jv_free(failed), jv_null());
  *doc = upg_doc_with("wipe", result);
  if (!n)
    return 0;
  char *quoted = upg_human_text(NULL, jv_string_value(text));
  *doc = upg_doc_add_failure(*doc, upg_failure("SERVER:WIPE", "the platform did not wipe %d of the contract's "
                                               "requests: %s", n, quoted ? quoted : "?"));
  free(quoted);
  jv_free(text);
  return UPG_EXIT_FAILED;
}

int
upg_rpc_wipe(const upg_settings *s, const char *contract, bool yes, jv *doc)
{
  if (!yes)
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:USAGE", "wipe deletes every dump of contract %s on the platform, original "
                                "and upgraded, for good (and with them any support on those requests): add --yes",
                                contract));
  int status = upg_rpc_require_token(s, doc);
  if (status)
    return status;
  jv result;
  status = upg_rpc_call(s, s->base_url, "wipe", "wipe", upg_rpc_wipe_params(contract, s->token), false, &result);
  if (status) {
    *doc = result;
    return status;
  }
  return judge_wipe(result, doc);
}
