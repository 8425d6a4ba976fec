/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: running jq programs in-process (plugin/core/base/jqfilter.c). */
#include "config.h"

#include <stdlib.h>
#include <sys/resource.h>

#include "tap.h"
#include "upgrade/jqfilter.h"

static char *
run(const char *filter, const char *input, int *rc)
{
  jv outputs;
  char *message = NULL;
  *rc = upg_jq_run(NULL, filter, jv_parse(input), &outputs, &message);
  if (*rc) {
    return message;
  }
  jv s = jv_dump_string(outputs, 0);
  char *text = strdup(jv_string_value(s));
  jv_free(s);
  return text;
}

static long
max_rss_kb(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

int
main(void)
{
  int rc;
  char *out = run(".request.state", "{\"request\":{\"state\":\"done\"}}", &rc);
  ok(rc == 0, "simple path runs");
  is_str(out, "[\"done\"]", "outputs are collected in an array");
  free(out);

  out = run(".a[]", "{\"a\":[1,2,3]}", &rc);
  is_str(out, "[1,2,3]", "several outputs");
  free(out);

  out = run("empty", "{}", &rc);
  is_str(out, "[]", "no output");
  free(out);

  out = run(".[", "{}", &rc);
  ok(rc == UPG_JQ_COMPILE && out && strstr(out, "compile"), "compile error reported: %s", out ? out : "");
  free(out);

  out = run("error(\"boom\")", "{}", &rc);
  ok(rc == UPG_JQ_RUNTIME && out && strstr(out, "boom"), "runtime error reported: %s", out ? out : "");
  free(out);

  out = run("error({\"a\":1})", "{}", &rc);
  ok(rc == UPG_JQ_RUNTIME && out && strstr(out, "not a string"), "non-string error reported");
  free(out);

  out = run(".a + 1", "{\"a\":\"x\"}", &rc);
  ok(rc == UPG_JQ_RUNTIME, "type error is a runtime error");
  free(out);

  char *message = NULL;
  ok(upg_jq_check(".x | length", &message) == UPG_JQ_OK && !message, "check compiles a good filter");
  ok(upg_jq_check("if", &message) == UPG_JQ_COMPILE && message, "check refuses a bad one");
  free(message);

  /* A cached program runs again and again without growing memory. */
  out = run(".n * 2", "{\"n\":1}", &rc);
  free(out);
  long before = max_rss_kb();
  for (int i = 0; i < 20000; i++) {
    out = run(".n * 2", "{\"n\":21}", &rc);
    free(out);
  }
  long after = max_rss_kb();
  ok(after - before < 1024, "20000 cached runs grow max RSS by %ld KiB (< 1024)", after - before);

  /* More programs than cache slots: eviction keeps results right. */
  char filter[32];
  int all_right = 1;
  for (int i = 0; i < 40; i++) {
    snprintf(filter, sizeof filter, ". + %d", i);
    out = run(filter, "1", &rc);
    char want[32];
    snprintf(want, sizeof want, "[%d]", i + 1);
    all_right &= rc == 0 && strcmp(out, want) == 0;
    free(out);
  }
  ok(all_right, "40 distinct programs through a 16-slot cache");
  upg_jq_cache_clear();
  out = run(".n", "{\"n\":5}", &rc);
  is_str(out, "[5]", "runs after the cache is cleared");
  free(out);
  upg_jq_cache_clear();
  return tap_done();
}
