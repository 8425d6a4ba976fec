/* SPDX-License-Identifier: GPL-3.0-or-later */
/* outcome.c -- failure documents (see outcome.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upgrade/outcome.h"

jv
upg_failure_v(const char *reason, const char *fmt, va_list ap)
{
  char msg[1024];
  vsnprintf(msg, sizeof msg, fmt, ap);
  return JV_OBJECT(jv_string("reason"), jv_string(reason),
                   jv_string("message"), jv_string(msg));
}

jv
upg_failure(const char *reason, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  jv f = upg_failure_v(reason, fmt, ap);
  va_end(ap);
  return f;
}

jv
upg_doc_add_failure(jv doc, jv failure)
{
  if (jv_get_kind(doc) != JV_KIND_OBJECT) {
    jv_free(doc);
    doc = jv_object();
  }
  jv list = jv_object_get(jv_copy(doc), jv_string("failures"));
  if (jv_get_kind(list) != JV_KIND_ARRAY) {
    jv_free(list);
    list = jv_array();
  }
  list = jv_array_append(list, failure);
  return jv_object_set(doc, jv_string("failures"), list);
}

int
upg_fail(jv *doc, int status, jv failure)
{
  *doc = JV_OBJECT(jv_string("failures"), JV_ARRAY(failure));
  return status;
}

jv
upg_doc_with(const char *key, jv value)
{
  return JV_OBJECT(jv_string("failures"), jv_array(), jv_string(key), value);
}

int
upg_doc_has_failures(jv doc)
{
  if (jv_get_kind(doc) != JV_KIND_OBJECT)
    return 0;
  jv list = jv_object_get(jv_copy(doc), jv_string("failures"));
  int has = jv_get_kind(list) == JV_KIND_ARRAY && jv_array_length(jv_copy(list)) > 0;
  jv_free(list);
  return has;
}

jv
upg_doc_hint(jv doc, const char *fmt, ...)
{
  if (!upg_doc_has_failures(doc))
    return doc;
  jv list = jv_object_get(jv_copy(doc), jv_string("failures"));
  int last = jv_array_length(jv_copy(list)) - 1;
  jv failure = jv_array_get(jv_copy(list), last);
  jv message = jv_object_get(jv_copy(failure), jv_string("message"));
  if (jv_get_kind(message) == JV_KIND_STRING) {
    va_list ap;
    va_start(ap, fmt);
    jv hint = jv_string_vfmt(fmt, ap);
    va_end(ap);
    message = jv_string_concat(jv_string_append_str(message, "; "), hint);
    failure = jv_object_set(failure, jv_string("message"), message);
    list = jv_array_set(list, last, failure);
    return jv_object_set(doc, jv_string("failures"), list);
  }
  jv_free(message);
  jv_free(failure);
  jv_free(list);
  return doc;
}
