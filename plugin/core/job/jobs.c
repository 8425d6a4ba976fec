/* SPDX-License-Identifier: GPL-3.0-or-later */
/* jobs.c -- the job records in a directory (jobs.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "upgrade/jobs.h"
#include "upgrade/outcome.h"
#include "upgrade/response.h"
#include "upgrade/runstate.h"

/* A record's file name: something before the suffix. */
static int
is_record(const struct dirent *e)
{
  size_t n = strlen(e->d_name), k = strlen(UPG_RUNSTATE_SUFFIX);
  return n > k && strcmp(e->d_name + n - k, UPG_RUNSTATE_SUFFIX) == 0;
}

static jv
text_or_null(const char *text)
{
  return text ? jv_string(text) : jv_null();
}

/* "2026-12-06T15:45:00Z": when PATH last changed, or null. */
static jv
when_changed(const char *path)
{
  struct stat st;
  struct tm tm;
  char buf[32];
  if (lstat(path, &st) != 0 || !gmtime_r(&st.st_mtime, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm))
    return jv_null();
  return jv_string(buf);
}

/* One record's entry: what the record says, or why it is not believed. */
static jv
entry(const char *dump)
{
  upg_runstate rs;
  jv failed = jv_null(); /* stays null if the record vanished meanwhile */
  int status = upg_runstate_load(&rs, dump, &failed);
  jv e = JV_OBJECT(jv_string("record"), text_or_null(rs.path), jv_string("dump"), jv_string(dump),
                   jv_string("when"), rs.path ? when_changed(rs.path) : jv_null());
  if (status) {
    jv m = jv_getpath(failed, JV_ARRAY(jv_string("failures"), jv_number(0), jv_string("message")));
    e = jv_object_set(e, jv_string("error"), jv_get_kind(m) == JV_KIND_STRING ? m : (jv_free(m), jv_string("?")));
  } else {
    e = jv_object_merge(e, JV_OBJECT(jv_string("request"), rs.request ? upg_request_id(rs.request) : jv_null(), jv_string("platform"),
                                     text_or_null(rs.url), jv_string("step"), jv_string(upg_run_step_name(rs.step)),
                                     jv_string("state"), jv_string(rs.closed ? "closed" : "open"),
                                     jv_string("output"), text_or_null(rs.output), jv_string("dialect"),
                                     jv_string(rs.rpc ? "rpc" : "v1")));
    e = jv_object_merge(e, JV_OBJECT(jv_string("database"), text_or_null(rs.database), jv_string("restore_as"),
                                     text_or_null(rs.restore_as)));
  }
  upg_runstate_free(&rs);
  return e;
}

int
upg_jobs_list(const upg_settings *s, const char *dir, jv *doc)
{
  struct dirent **names = NULL;
  const char *where = dir ? dir : ".";
  int n = scandir(where, &names, is_record, alphasort);
  if (n < 0)
    return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "%s: %s", where, strerror(errno)));
  jv list = jv_array();
  for (int i = 0; i < n; i++) {
    char *dump = NULL;
    size_t len = strlen(names[i]->d_name) - strlen(UPG_RUNSTATE_SUFFIX);
    if (dir ? asprintf(&dump, "%s/%.*s", dir, (int)len, names[i]->d_name) >= 0
            : asprintf(&dump, "%.*s", (int)len, names[i]->d_name) >= 0)
      list = jv_array_append(list, entry(dump));
    free(dump);
    free(names[i]);
  }
  free(names);
  *doc = JV_OBJECT(jv_string("failures"), jv_array(), jv_string("jobs"), list);
  return 0;
}
