/* SPDX-License-Identifier: GPL-3.0-or-later */
/* call.c -- one JSON-RPC call to the rpc platform, and status (see
 * rpc_call.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "upgrade/http.h"
#include "upgrade/human.h"
#include "upgrade/outcome.h"
#include "upgrade/rpc_answer.h"
#include "upgrade/rpc_call.h"
#include "upgrade/rpc_fields.h"
#include "upgrade/rpc_request.h"

bool
upg_rpc_selected(const upg_settings *s)
{
  return s->api && strcmp(s->api, "rpc") == 0;
}

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

/* The token the call names: given, and fit to travel. */
static int
require_token(const upg_settings *s, jv *doc)
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

int
upg_rpc_status(const upg_settings *s, jv *doc)
{
  int status = require_token(s, doc);
  if (status)
    return status;
  jv result;
  status = upg_rpc_call(s, s->base_url, "status", "status", upg_rpc_token_params(s->token), true, &result);
  if (status) {
    *doc = result;
    return status;
  }
  *doc = upg_doc_with("request", result);
  return 0;
}
