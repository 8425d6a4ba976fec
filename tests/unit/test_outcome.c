/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: failure documents (plugin/core/base/outcome.c). */
#include "config.h"

#include <stdlib.h>

#include "tap.h"
#include "upgrade/outcome.h"

static char *
dump(jv v)
{
  jv s = jv_dump_string(v, JV_PRINT_SORTED);
  char *text = strdup(jv_string_value(s));
  jv_free(s);
  return text;
}

int
main(void)
{
  jv doc;
  int status = upg_fail(&doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "cannot read %s", "x.dump"));
  ok(status == 2, "upg_fail returns the status");
  char *text = dump(jv_copy(doc));
  is_str(text, "{\"failures\":[{\"message\":\"cannot read x.dump\",\"reason\":\"CLIENT:FILE\"}]}",
         "failure document shape");
  free(text);
  ok(upg_doc_has_failures(doc), "has failures");

  doc = upg_doc_add_failure(doc, upg_failure("CLIENT:JQ", "bad"));
  text = dump(jv_copy(doc));
  ok(strstr(text, "CLIENT:FILE") && strstr(text, "CLIENT:JQ"), "add_failure appends: %s", text);
  free(text);
  jv_free(doc);

  doc = upg_doc_add_failure(jv_number(3), upg_failure("CLIENT:X", "y"));
  ok(jv_get_kind(doc) == JV_KIND_OBJECT && upg_doc_has_failures(doc), "add_failure to a non-object makes one");
  jv_free(doc);

  doc = upg_doc_with("transfer", jv_object());
  ok(!upg_doc_has_failures(doc), "doc_with has an empty failures list");
  jv_free(doc);
  ok(!upg_doc_has_failures(jv_null()), "null has no failures");

  return tap_done();
}
