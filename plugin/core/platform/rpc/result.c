/* SPDX-License-Identifier: GPL-3.0-or-later */
/* result.c -- the fields each rpc method's result must carry
 * (upg_rpc_check_result, see rpc_answer.h). */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "upgrade/rpc_answer.h"
#include "upgrade/rpc_fields.h"

enum shape { ANY, STRING, TOKEN, HOST, STATE, BOOL, PORT, TEXT_OR_NULL, DUMP_NAME, ARRAY };

struct field {
  const char *method;
  const char *name;
  enum shape shape;
  bool required;
};

/* platform-rpc.md §2.2-2.8.  transfer/start's dump_name is required for
 * a download, which its callers name "transfer/start:download". */
static const struct field fields[] = {
  { "create", "request_id", ANY, true },
  { "create", "token", TOKEN, true },
  { "create", "assigned_host_uri", HOST, true },
  { "create", "info", STRING, false },
  { "status", "status", STATE, true },
  { "status", "host_uri", HOST, true },
  { "status", "reason", TEXT_OR_NULL, false },
  { "status", "archived", BOOL, false },
  { "process", "is_pg_version_compatible", BOOL, true },
  { "transfer/start", "ssh_port", PORT, true },
  { "transfer/start", "known_hosts", TEXT_OR_NULL, true },
  { "transfer/start", "dump_name", DUMP_NAME, false },
  { "transfer/start:download", "ssh_port", PORT, true },
  { "transfer/start:download", "known_hosts", TEXT_OR_NULL, true },
  { "transfer/start:download", "dump_name", DUMP_NAME, true },
  { "wipe", "wiped", ARRAY, true },
  { "wipe", "failed", ARRAY, true },
};

/* Why VALUE does not have SHAPE, or NULL. */
static const char *
bad_shape(jv value, enum shape shape)
{
  jv_kind k = jv_get_kind(value);
  const char *s = k == JV_KIND_STRING ? jv_string_value(value) : NULL;
  int port;
  switch (shape) {
  case ANY:
    return NULL;
  case BOOL:
    return k == JV_KIND_TRUE || k == JV_KIND_FALSE ? NULL : "is not true or false";
  case ARRAY:
    return k == JV_KIND_ARRAY ? NULL : "is not a list";
  case PORT:
    return upg_rpc_port(value, &port);
  case TEXT_OR_NULL:
    return s || k == JV_KIND_NULL ? NULL : "is not a string";
  default:
    break;
  }
  if (!s)
    return "is not a string";
  switch (shape) {
  case TOKEN:
    return upg_rpc_bad_token(s);
  case HOST:
    return upg_rpc_bad_host(s);
  case STATE:
    return upg_rpc_bad_state(s);
  case DUMP_NAME:
    return upg_rpc_bad_dump_name(s);
  default:
    return NULL;
  }
}

/* Check one field of RESULT (not consumed): 0, or 3 with *doc set. */
static int
check_field(const char *method, const struct field *f, jv result, jv *doc)
{
  if (!jv_object_has(jv_copy(result), jv_string(f->name)))
    return f->required ? upg_rpc_bad_field(doc, method, f->name, NULL, "is missing") : 0;
  jv value = jv_object_get(jv_copy(result), jv_string(f->name));
  const char *why = bad_shape(value, f->shape);
  int st = 0;
  if (why) {
    /* Quote what came (a secret token is not quoted: it is refused for its
     * characters, and a message must not carry it). */
    const char *shown = f->shape != TOKEN && jv_get_kind(value) == JV_KIND_STRING ? jv_string_value(value) : NULL;
    st = upg_rpc_bad_field(doc, method, f->name, shown, why);
  }
  jv_free(value);
  return st;
}

int
upg_rpc_check_result(const char *method, jv result, jv *doc)
{
  for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
    if (strcmp(fields[i].method, method) != 0)
      continue;
    int st = check_field(method, &fields[i], result, doc);
    if (st)
      return st;
  }
  return 0;
}
