/* SPDX-License-Identifier: GPL-3.0-or-later */
/* response.c -- reading the platform's answers (see response.h). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upgrade/outcome.h"
#include "upgrade/response.h"

void
upg_excerpt(const char *body, size_t len, char *out, size_t max)
{
  size_t n = 0;

  for (size_t i = 0; i < len && n + 1 < max; i++) {
    unsigned char c = (unsigned char)body[i];
    if (c == '\n' || c == '\r')
      break;
    out[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
  }
  out[n] = '\0';
  if (n + 1 >= max && max > 4)
    strcpy(out + max - 4, "...");
}

static int
bad_response(jv *doc, const char *method, const char *why, const char *body, size_t len)
{
  char excerpt[80];
  upg_excerpt(body, len, excerpt, sizeof excerpt);
  return upg_fail(doc, UPG_EXIT_TRANSPORT,
                  upg_failure("CLIENT:BAD_RESPONSE", "%s: %s (response begins: %s)",
                              method, why, len ? excerpt : "<empty>"));
}

/* Each failure must carry the two keys the API promises. */
static const char *
check_failures(jv failures)
{
  if (jv_get_kind(failures) != JV_KIND_ARRAY)
    return "\"failures\" is missing or not a list";
  const char *why = NULL;
  jv_array_foreach(failures, i, f) {
    if (!why) {
      if (jv_get_kind(f) != JV_KIND_OBJECT)
        why = "a failure is not an object";
      else {
        jv reason = jv_object_get(jv_copy(f), jv_string("reason"));
        jv message = jv_object_get(jv_copy(f), jv_string("message"));
        if (jv_get_kind(reason) != JV_KIND_STRING || jv_get_kind(message) != JV_KIND_STRING)
          why = "a failure lacks a string \"reason\" or \"message\"";
        jv_free(reason);
        jv_free(message);
      }
    }
    jv_free(f);
  }
  return why;
}

int
upg_response_parse(const char *method, const char *body, size_t len, jv *doc)
{
  if (len > UPG_RESPONSE_MAX)
    return bad_response(doc, method, "response too large", body, len);

  jv parsed = jv_parse_sized(body, (int)len);
  if (!jv_is_valid(parsed)) {
    jv_free(parsed); /* its message quotes the whole body: not for users */
    return bad_response(doc, method, "response is not JSON", body, len);
  }
  if (jv_get_kind(parsed) != JV_KIND_OBJECT) {
    jv_free(parsed);
    return bad_response(doc, method, "response is not a JSON object", body, len);
  }
  jv failures = jv_object_get(jv_copy(parsed), jv_string("failures"));
  const char *why = check_failures(failures);
  int nfailures = jv_get_kind(failures) == JV_KIND_ARRAY ? jv_array_length(jv_copy(failures)) : 0;
  jv_free(failures);
  if (!why) {
    jv request = jv_object_get(jv_copy(parsed), jv_string("request"));
    jv_kind k = jv_get_kind(request);
    if (k != JV_KIND_INVALID && k != JV_KIND_NULL && k != JV_KIND_OBJECT)
      why = "\"request\" is not an object";
    jv_free(request);
  }
  if (why) {
    jv_free(parsed);
    return bad_response(doc, method, why, body, len);
  }
  *doc = parsed;
  return nfailures ? UPG_EXIT_FAILED : UPG_EXIT_OK;
}

jv
upg_doc_request(jv doc)
{
  if (jv_get_kind(doc) != JV_KIND_OBJECT)
    return jv_null();
  jv request = jv_object_get(jv_copy(doc), jv_string("request"));
  if (jv_get_kind(request) != JV_KIND_OBJECT) {
    jv_free(request);
    return jv_null();
  }
  return request;
}

char *
upg_request_field(jv doc, const char *field)
{
  jv request = upg_doc_request(doc);
  if (jv_get_kind(request) != JV_KIND_OBJECT) {
    jv_free(request);
    return NULL;
  }
  jv value = jv_object_get(request, jv_string(field));
  char *text = upg_id_text(value);
  jv_free(value);
  return text;
}

char *
upg_id_text(jv value)
{
  if (jv_get_kind(value) == JV_KIND_STRING)
    return strdup(jv_string_value(value));
  if (jv_get_kind(value) != JV_KIND_NUMBER)
    return NULL;
  double d = jv_number_value(value);
  char buf[64];
  if (d == floor(d) && fabs(d) < 1e17)
    snprintf(buf, sizeof buf, "%.0f", d);
  else
    snprintf(buf, sizeof buf, "%.17g", d);
  return strdup(buf);
}

jv
upg_request_id(const char *id)
{
  size_t n = strlen(id);
  if (n && n <= 15 && strspn(id, "0123456789") == n && (id[0] != '0' || n == 1))
    return jv_number(strtod(id, NULL));
  return jv_string(id);
}

int
upg_doc_only_reason(jv doc, const char *reason)
{
  if (jv_get_kind(doc) != JV_KIND_OBJECT)
    return 0;
  jv failures = jv_object_get(jv_copy(doc), jv_string("failures"));
  int only = jv_get_kind(failures) == JV_KIND_ARRAY && jv_array_length(jv_copy(failures)) > 0;
  jv_array_foreach(failures, i, f) {
    jv r = jv_get_kind(f) == JV_KIND_OBJECT ? jv_object_get(f, jv_string("reason")) : (jv_free(f), jv_null());
    if (jv_get_kind(r) != JV_KIND_STRING || strcmp(jv_string_value(r), reason) != 0)
      only = 0;
    jv_free(r);
  }
  jv_free(failures);
  return only;
}

void
upg_doc_first_reason(jv doc, char *reason, size_t len)
{
  reason[0] = '\0';
  if (jv_get_kind(doc) != JV_KIND_OBJECT)
    return;
  jv failures = jv_object_get(jv_copy(doc), jv_string("failures"));
  if (jv_get_kind(failures) == JV_KIND_ARRAY && jv_array_length(jv_copy(failures)) > 0) {
    jv first = jv_array_get(jv_copy(failures), 0);
    jv r = jv_get_kind(first) == JV_KIND_OBJECT ? jv_object_get(first, jv_string("reason")) : (jv_free(first), jv_null());
    if (jv_get_kind(r) == JV_KIND_STRING)
      snprintf(reason, len, "%s", jv_string_value(r));
    jv_free(r);
  }
  jv_free(failures);
}
