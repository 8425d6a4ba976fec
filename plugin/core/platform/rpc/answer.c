/* SPDX-License-Identifier: GPL-3.0-or-later */
/* answer.c -- the rpc platform's JSON-RPC answers (see rpc_answer.h). */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "upgrade/human.h"
#include "upgrade/outcome.h"
#include "upgrade/response.h"
#include "upgrade/rpc_answer.h"
#include "upgrade/rpc_fields.h"

/* How much of a server's text a client message quotes. */
#define QUOTE_MAX 200

/* TEXT (LEN bytes, server's) cut to QUOTE_MAX and escaped: malloc'd. */
static char *
quote(const char *text, size_t len)
{
  char *cut = strndup(text, len < QUOTE_MAX ? len : QUOTE_MAX);
  char *q = cut ? upg_human_text(NULL, cut) : NULL;
  free(cut);
  return q;
}

static int
bad_answer(jv *doc, const char *method, const char *why, const char *body, size_t len)
{
  char *q = quote(body ? body : "", body ? len : 0);
  int st = upg_fail(doc, UPG_EXIT_TRANSPORT,
                    upg_failure("CLIENT:BAD_RESPONSE", "%s: %s (response begins: %s)", method, why,
                                q && *q ? q : "<empty>"));
  free(q);
  return st;
}

int
upg_rpc_bad_field(jv *doc, const char *method, const char *field, const char *value, const char *why)
{
  char *q = value ? quote(value, strlen(value)) : NULL;
  int st = upg_fail(doc, UPG_EXIT_TRANSPORT,
                    upg_failure("CLIENT:BAD_RESPONSE", "%s: the platform's %s%s%s%s %s", method, field,
                                q ? " \"" : "", q ? q : "", q ? "\"" : "", why));
  free(q);
  return st;
}

static bool
has_type(const char *content_type, const char *type)
{
  return content_type && strcasestr(content_type, type);
}

/* The platform's refusal: TEXT (a string, or any JSON dumped) exact. */
static int
refused(jv *doc, const char *reason, jv text)
{
  if (jv_get_kind(text) != JV_KIND_STRING)
    text = jv_dump_string(text, 0);
  int st = upg_fail(doc, UPG_EXIT_FAILED, upg_failure(reason, "%s", jv_string_value(text)));
  jv_free(text);
  return st;
}

/* An answer without "result": Odoo's error object, or nothing we know. */
static int
error_object(jv *doc, const char *method, jv parsed, const char *body, size_t len)
{
  jv error = jv_object_get(parsed, jv_string("error"));
  jv data = jv_get_kind(error) == JV_KIND_OBJECT ? jv_object_get(jv_copy(error), jv_string("data")) : jv_null();
  jv message = jv_get_kind(data) == JV_KIND_OBJECT ? jv_object_get(jv_copy(data), jv_string("message")) : jv_null();
  jv_free(error);
  jv_free(data);
  if (jv_get_kind(message) == JV_KIND_STRING)
    return refused(doc, "SERVER:ERROR", message);
  jv_free(message);
  return bad_answer(doc, method, "neither a result nor an error with a message", body, len);
}

/* A parsed JSON-RPC answer: the result, the refusal inside it, or the
 * error object.  Consumes PARSED. */
static int
envelope(jv *doc, const char *method, jv parsed, const char *body, size_t len)
{
  if (!jv_object_has(jv_copy(parsed), jv_string("result")))
    return error_object(doc, method, parsed, body, len);
  jv result = jv_object_get(parsed, jv_string("result"));
  if (jv_get_kind(result) != JV_KIND_OBJECT) {
    jv_free(result);
    return bad_answer(doc, method, "the result is not an object", body, len);
  }
  if (jv_object_has(jv_copy(result), jv_string("error")))
    return refused(doc, "SERVER:REFUSED", jv_object_get(result, jv_string("error")));
  int st = upg_rpc_check_result(method, result, doc);
  if (st) {
    jv_free(result);
    return st;
  }
  *doc = result;
  return 0;
}

static int
http_status(jv *doc, const char *method, long status, const char *body, size_t len)
{
  char *q = quote(body ? body : "", body ? len : 0);
  jv f = upg_failure("CLIENT:HTTP", "%s: the server answered HTTP %ld%s%s", method, status,
                     q && *q ? ": " : "", q && *q ? q : "");
  free(q);
  return upg_fail(doc, UPG_EXIT_TRANSPORT, jv_object_set(f, jv_string("code"), jv_number((double)status)));
}

int
upg_rpc_answer(const char *method, long status, const char *content_type, const char *body, size_t len, jv *doc)
{
  if (status < 200 || status > 299)
    return http_status(doc, method, status, body, len);
  if (has_type(content_type, "text/html"))
    return bad_answer(doc, method, "an HTML page, not a JSON-RPC answer (is the platform under maintenance?)",
                      body, len);
  if (!has_type(content_type, "application/json"))
    return bad_answer(doc, method, "the answer is not application/json", body, len);
  if (len > UPG_RESPONSE_MAX || len > 0x7fffffff)
    return bad_answer(doc, method, "the answer is too large", body, len);
  jv parsed = jv_parse_sized(body ? body : "", (int)len);
  if (!jv_is_valid(parsed)) {
    jv_free(parsed); /* its message quotes the body: not for users */
    return bad_answer(doc, method, "the answer is not JSON", body, len);
  }
  if (jv_get_kind(parsed) != JV_KIND_OBJECT) {
    jv_free(parsed);
    return bad_answer(doc, method, "the answer is not a JSON object", body, len);
  }
  return envelope(doc, method, parsed, body, len);
}
