/* SPDX-License-Identifier: GPL-3.0-or-later */
/* run_notes.c -- the upgrade notes beside the upgraded dump (run_notes.h). */
#include "config.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upgrade/download.h"
#include "upgrade/download_kinds.h"
#include "upgrade/human.h"
#include "upgrade/outcome.h"
#include "upgrade/run_notes.h"

/* DIR-of-OUTPUT/upgrade_notes_<request>.html (malloc'd), or NULL. */
static char *
notes_path(const upg_runstate *rs)
{
  char *name = upg_download_default_name(upg_download_kind("notes"), NULL, rs->request);
  char *copy = strdup(rs->output), *path = NULL;
  if (name && copy && asprintf(&path, "%s/%s", dirname(copy), name) < 0)
    path = NULL;
  free(name);
  free(copy);
  return path;
}

/* The first failure's message of DOC (borrowed), for the notice. */
static const char *
first_message(jv doc, char *buf, size_t len)
{
  jv m = jv_getpath(jv_copy(doc), JV_ARRAY(jv_string("failures"), jv_number(0), jv_string("message")));
  snprintf(buf, len, "%s", jv_get_kind(m) == JV_KIND_STRING ? jv_string_value(m) : "unknown failure");
  jv_free(m);
  return buf;
}

jv
upg_run_notes_fetch(const upg_settings *s, const upg_runstate *rs)
{
  char *path = notes_path(rs);
  if (!path)
    return jv_null();
  jv doc;
  int status = upg_download(s, "notes", path, true, &doc);
  jv named = jv_null();
  if (status) {
    char why[512];
    upg_notice(s, "the upgrade notes could not be fetched (%s); the job goes on: `upgrade download --what notes "
               "--request %s` fetches them later", first_message(doc, why, sizeof why), rs->request);
  } else {
    named = jv_string(path);
  }
  jv_free(doc);
  free(path);
  return named;
}
