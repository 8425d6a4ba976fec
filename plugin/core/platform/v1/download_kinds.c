/* SPDX-License-Identifier: GPL-3.0-or-later */
/* download_kinds.c -- the files `download --what` knows: which status
 * field holds each one's URL, and the default name to save it under. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upgrade/download_kinds.h"

static const struct upg_download_kind kinds[] = {
  { "upgraded-dump", "upgraded_dump_url", "upgraded_", "", false, true },
  { "upgraded-sql", "upgraded_sql_url", "upgraded_", ".sql", false, true },
  { "notes", "notes_url", "upgrade_notes_", ".html", true, true },
  { "modules", "modules_url", "upgrade_modules_", "", true, true },
  { "original-dump", "original_dump_url", "original_", "", false, false },
  { "original-sql", "original_sql_url", "original_", ".sql", false, false },
};

const struct upg_download_kind *
upg_download_kind(const char *what)
{
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (strcmp(kinds[i].what, what) == 0)
      return &kinds[i];
  return NULL;
}

char *
upg_download_default_name(const struct upg_download_kind *k, const char *filename, const char *id)
{
  /* The filename comes from the server: keep only its last component, so
   * that "../x" can never make us write outside the current directory. */
  const char *base = k->by_id ? id : filename;
  if (!base)
    return NULL;
  const char *slash = strrchr(base, '/');
  if (slash)
    base = slash + 1;
  if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
    return NULL;
  char *name = NULL;
  if (asprintf(&name, "%s%s%s", k->prefix, base, k->suffix) < 0)
    return NULL;
  return name;
}

