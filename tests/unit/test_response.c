/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: reading the platform's answers (plugin/core/platform/response.c). */
#include "config.h"

#include <stdlib.h>

#include "tap.h"
#include "upgrade/outcome.h"
#include "upgrade/response.h"

static int
parse(const char *body, jv *doc)
{
  return upg_response_parse("status", body, strlen(body), doc);
}

/* The first failure's reason (a buffer per call site is enough here). */
static const char *
first_reason(jv doc)
{
  static char reason[64];
  upg_doc_first_reason(doc, reason, sizeof reason);
  return reason;
}

static void
check_bad(const char *body, const char *why)
{
  jv doc;
  int status = parse(body, &doc);
  ok(status == 3 && strcmp(first_reason(doc), "CLIENT:BAD_RESPONSE") == 0,
     "bad response (%s) -> exit 3 CLIENT:BAD_RESPONSE", why);
  jv_free(doc);
}

int
main(void)
{
  jv doc;
  ok(parse("{\"failures\": [], \"request\": {\"id\": 10534, \"key\": \"k==\", \"state\": \"draft\"}}", &doc) == 0,
     "a good answer is 0");
  char *id = upg_request_field(doc, "id");
  is_str(id, "10534", "numeric id printed as an integer");
  free(id);
  char *state = upg_request_field(doc, "state");
  is_str(state, "draft", "string field");
  free(state);
  ok(upg_request_field(doc, "missing") == NULL, "missing field is NULL");
  jv_free(doc);

  ok(parse("{\"failures\": [{\"reason\": \"TARGET:INVALID\", \"message\": \"Invalid value\", "
           "\"value\": \"5.0\", \"expected\": [\"8.0\"]}]}", &doc) == 1, "platform failures are 1");
  is_str(first_reason(doc), "TARGET:INVALID", "first reason");
  ok(!upg_doc_only_reason(doc, "SERVER:ERROR"), "not only SERVER:ERROR");
  jv_free(doc);

  ok(parse("{\"failures\": [{\"reason\": \"SERVER:ERROR\", \"message\": \"later\"}]}", &doc) == 1,
     "SERVER:ERROR is a failure");
  ok(upg_doc_only_reason(doc, "SERVER:ERROR"), "only SERVER:ERROR");
  jv_free(doc);

  ok(parse("{\"failures\": [], \"request\": null}", &doc) == 0, "null request is fine");
  jv_free(doc);

  check_bad("<html>not json</html>", "html");
  check_bad("{\"failures\": [", "truncated");
  check_bad("", "empty body");
  check_bad("[1,2]", "array");
  check_bad("{\"failures\": {}, \"request\": 5}", "failures an object");
  check_bad("{\"request\": {}}", "failures missing");
  check_bad("{\"failures\": [], \"request\": 5}", "request a number");
  check_bad("{\"failures\": [3]}", "failure not an object");
  check_bad("{\"failures\": [{\"reason\": 1, \"message\": \"m\"}]}", "reason not a string");
  check_bad("{\"failures\": []} {}", "two documents");

  /* The message quotes at most a short excerpt of the body. */
  char big[4096];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  parse(big, &doc);
  jv f = jv_array_get(jv_object_get(jv_copy(doc), jv_string("failures")), 0);
  jv msg = jv_object_get(f, jv_string("message"));
  ok(jv_string_length_bytes(jv_copy(msg)) < 200, "message excerpt is short");
  jv_free(msg);
  jv_free(doc);

  char excerpt[16];
  upg_excerpt("line one\nline two", 17, excerpt, sizeof excerpt);
  is_str(excerpt, "line one", "excerpt stops at newline");
  upg_excerpt("a\tb\x01", 4, excerpt, sizeof excerpt);
  is_str(excerpt, "a?b?", "excerpt hides control characters");
  upg_excerpt("0123456789abcdefghij", 20, excerpt, sizeof excerpt);
  is_str(excerpt, "0123456789ab...", "excerpt is cut with an ellipsis");
  return tap_done();
}
