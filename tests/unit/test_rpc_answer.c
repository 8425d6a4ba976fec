/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: the rpc platform's answers (plugin/core/platform/rpc/
 * answer.c, result.c). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "upgrade/rpc_answer.h"

#define JSON "application/json"

/* The answer's exit status; *reason and *message copied from the first
 * failure (or "" on success), *code from its "code" (or 0). */
static int
answer(const char *method, long status, const char *ctype, const char *body, char *reason, char *message,
       long *code)
{
  jv doc;
  int st = upg_rpc_answer(method, status, ctype, body, body ? strlen(body) : 0, &doc);
  reason[0] = message[0] = '\0';
  *code = 0;
  if (st) {
    jv f = jv_array_get(jv_object_get(jv_copy(doc), jv_string("failures")), 0);
    jv r = jv_object_get(jv_copy(f), jv_string("reason"));
    jv m = jv_object_get(jv_copy(f), jv_string("message"));
    jv c = jv_object_get(f, jv_string("code"));
    snprintf(reason, 64, "%s", jv_string_value(r));
    snprintf(message, 1024, "%s", jv_string_value(m));
    if (jv_get_kind(c) == JV_KIND_NUMBER)
      *code = (long)jv_number_value(c);
    jv_free(r);
    jv_free(m);
    jv_free(c);
  }
  jv_free(doc);
  return st;
}

static void
expect(const char *what, const char *method, long status, const char *ctype, const char *body, int want_st,
       const char *want_reason)
{
  char reason[64], message[1024];
  long code;
  int st = answer(method, status, ctype, body, reason, message, &code);
  ok(st == want_st && strcmp(reason, want_reason) == 0, "%s: exit %d %s", what, want_st, want_reason);
  if (st != want_st || strcmp(reason, want_reason))
    printf("#   got exit %d reason %s: %s\n", st, reason, message);
}

static void
results(void)
{
  jv doc;
  const char *body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"status\":\"done\",\"host_uri\":\"n1.example\","
                     "\"archived\":false}}";
  int st = upg_rpc_answer("status", 200, "application/json; charset=utf-8", body, strlen(body), &doc);
  ok(st == 0 && jv_get_kind(doc) == JV_KIND_OBJECT, "a status result comes back as the result object");
  jv s = jv_object_get(doc, jv_string("status"));
  is_str(jv_get_kind(s) == JV_KIND_STRING ? jv_string_value(s) : NULL, "done", "its status");
  jv_free(s);

  expect("create", "create", 200, JSON,
         "{\"result\":{\"request_id\":7,\"token\":\"abc_-9\",\"assigned_host_uri\":\"n1.example\"}}", 0, "");
  expect("transfer/stop's empty object", "transfer/stop", 200, JSON, "{\"result\":{}}", 0, "");
  expect("process", "process", 200, JSON, "{\"result\":{\"is_pg_version_compatible\":false}}", 0, "");
  expect("transfer/start for a download", "transfer/start:download", 200, JSON,
         "{\"result\":{\"ssh_port\":\"40022\",\"known_hosts\":\"x\",\"dump_name\":\"upgraded.dump\"}}", 0, "");
  expect("wipe", "wipe", 200, JSON, "{\"result\":{\"wiped\":[1],\"failed\":[]}}", 0, "");
}

static void
refusals(void)
{
  char reason[64], message[1024];
  long code;
  int st = answer("create", 200, JSON, "{\"result\":{\"error\":\"Invalid contract\"}}", reason, message, &code);
  ok(st == 1 && !strcmp(reason, "SERVER:REFUSED") && !strcmp(message, "Invalid contract"),
     "result.error is the platform refusing, its message exact");
  st = answer("status", 200, JSON,
              "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":200,\"message\":\"Odoo Server Error\","
              "\"data\":{\"name\":\"odoo.exceptions.UserError\",\"message\":\"Unknown token\"}}}",
              reason, message, &code);
  ok(st == 1 && !strcmp(reason, "SERVER:ERROR") && !strcmp(message, "Unknown token"),
     "an Odoo error object is the platform refusing, error.data.message its message");
  expect("an error without data.message", "status", 200, JSON, "{\"error\":{\"code\":200,\"message\":\"x\"}}", 3,
         "CLIENT:BAD_RESPONSE");
  expect("neither result nor error", "status", 200, JSON, "{\"jsonrpc\":\"2.0\"}", 3, "CLIENT:BAD_RESPONSE");
  expect("result.error that is not a string still refuses", "create", 200, JSON,
         "{\"result\":{\"error\":{\"x\":1}}}", 1, "SERVER:REFUSED");
}

static void
bad_answers(void)
{
  char reason[64], message[1024];
  long code;
  int st = answer("status", 502, "text/html", "<html>Bad Gateway</html>", reason, message, &code);
  ok(st == 3 && !strcmp(reason, "CLIENT:HTTP") && code == 502, "a non-2xx status: CLIENT:HTTP with its code");
  st = answer("status", 302, JSON, "", reason, message, &code);
  ok(st == 3 && !strcmp(reason, "CLIENT:HTTP") && code == 302, "a redirect not followed: CLIENT:HTTP");
  expect("an HTML maintenance page", "status", 200, "text/html; charset=utf-8",
         "<html><body>Maintenance</body></html>", 3, "CLIENT:BAD_RESPONSE");
  expect("no content type", "status", 200, NULL, "{\"result\":{}}", 3, "CLIENT:BAD_RESPONSE");
  expect("text/plain", "status", 200, "text/plain", "{\"result\":{}}", 3, "CLIENT:BAD_RESPONSE");
  expect("not JSON", "status", 200, JSON, "{\"result\":", 3, "CLIENT:BAD_RESPONSE");
  expect("empty body", "status", 200, JSON, "", 3, "CLIENT:BAD_RESPONSE");
  expect("an array", "status", 200, JSON, "[]", 3, "CLIENT:BAD_RESPONSE");
  expect("a null result", "transfer/stop", 200, JSON, "{\"result\":null}", 3, "CLIENT:BAD_RESPONSE");
  expect("a true result", "transfer/stop", 200, JSON, "{\"result\":true}", 3, "CLIENT:BAD_RESPONSE");
  expect("create without token", "create", 200, JSON, "{\"result\":{\"request_id\":7,\"assigned_host_uri\":\"h\"}}",
         3, "CLIENT:BAD_RESPONSE");
  expect("create with a host that is a URL", "create", 200, JSON,
         "{\"result\":{\"request_id\":7,\"token\":\"t\",\"assigned_host_uri\":\"https://evil.example/\"}}", 3,
         "CLIENT:BAD_RESPONSE");
  expect("create with a token that is not URL-safe", "create", 200, JSON,
         "{\"result\":{\"request_id\":7,\"token\":\"a&b=c\",\"assigned_host_uri\":\"h\"}}", 3, "CLIENT:BAD_RESPONSE");
  expect("status with an unknown state", "status", 200, JSON, "{\"result\":{\"status\":\"lost\",\"host_uri\":\"h\"}}",
         3, "CLIENT:BAD_RESPONSE");
  expect("status without host_uri", "status", 200, JSON, "{\"result\":{\"status\":\"done\"}}", 3,
         "CLIENT:BAD_RESPONSE");
  expect("status with archived not a bool", "status", 200, JSON,
         "{\"result\":{\"status\":\"done\",\"host_uri\":\"h\",\"archived\":\"no\"}}", 3, "CLIENT:BAD_RESPONSE");
  expect("process without is_pg_version_compatible", "process", 200, JSON, "{\"result\":{}}", 3,
         "CLIENT:BAD_RESPONSE");
  expect("transfer/start with port 0", "transfer/start", 200, JSON,
         "{\"result\":{\"ssh_port\":0,\"known_hosts\":\"\"}}", 3, "CLIENT:BAD_RESPONSE");
  expect("a download without dump_name", "transfer/start:download", 200, JSON,
         "{\"result\":{\"ssh_port\":22,\"known_hosts\":\"\"}}", 3, "CLIENT:BAD_RESPONSE");
  expect("a dump_name with ..", "transfer/start:download", 200, JSON,
         "{\"result\":{\"ssh_port\":22,\"known_hosts\":\"\",\"dump_name\":\"..\"}}", 3, "CLIENT:BAD_RESPONSE");
  expect("a dump_name with a /", "transfer/start:download", 200, JSON,
         "{\"result\":{\"ssh_port\":22,\"known_hosts\":\"\",\"dump_name\":\"../../.bashrc\"}}", 3,
         "CLIENT:BAD_RESPONSE");
  expect("wipe without failed", "wipe", 200, JSON, "{\"result\":{\"wiped\":[]}}", 3, "CLIENT:BAD_RESPONSE");
}

static void
escaping(void)
{
  char reason[64], message[1024];
  long code;
  answer("status", 200, JSON, "{\"result\":{\"status\":\"done\",\"host_uri\":\"h\\u001b]0;pwned\\u0007\"}}", reason,
         message, &code);
  ok(!strchr(message, '\x1b') && !strchr(message, '\x07') && strstr(message, "host_uri"),
     "a hostile host is quoted escaped: %s", message);
  answer("status", 200, "text/html", "<html>\x1b[2J\xff</html>", reason, message, &code);
  ok(!strchr(message, '\x1b') && !strchr(message, '\xff'), "an HTML page's excerpt is escaped: %s", message);
  answer("create", 200, JSON, "{\"result\":{\"request_id\":1,\"token\":\"secret value\",\"assigned_host_uri\":\"h\"}}",
         reason, message, &code);
  ok(!strstr(message, "secret value"), "a refused token is not quoted: %s", message);
}

int
main(void)
{
  results();
  refusals();
  bad_answers();
  escaping();
  return tap_done();
}
