/* SPDX-License-Identifier: GPL-3.0-or-later */
/* pgtool.c -- PostgreSQL's programs, found and asked their version (see
 * pgtool.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "upgrade/child.h"
#include "upgrade/outcome.h"
#include "upgrade/pg.h"
#include "upgrade/pgtool.h"

int
upg_pg_tool_missing(const char *tool, int err, jv *doc)
{
  if (err == ENOENT)
    return upg_fail(doc, UPG_EXIT_USAGE,
                    upg_failure("CLIENT:DATABASE", "%s is not on the PATH: install PostgreSQL's client "
                                "programs (Debian: apt-get install postgresql-client)", tool));
  return upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:DATABASE", "cannot run %s: %s", tool, strerror(err)));
}

int
upg_pg_tool_version(const upg_settings *s, const char *tool, int *major, char *line, size_t len, jv *doc)
{
  char *argv[] = { (char *)tool, "--version", NULL };
  upg_child c;
  if (upg_child_spawn(&c, argv, NULL, UPG_CHILD_NULL, UPG_CHILD_TO_ERR) != 0)
    return upg_pg_tool_missing(tool, errno, doc);
  int rc = upg_child_run(&c, s, NULL, NULL, NULL);
  if (rc > 0)
    return upg_fail(doc, rc, upg_failure("CLIENT:INTERRUPTED", "interrupted"));
  snprintf(line, len, "%s", c.err);
  line[strcspn(line, "\n")] = '\0';
  *major = upg_pg_major_of(line);
  if (!upg_child_ok(&c) || *major == 0)
    return upg_fail(doc, UPG_EXIT_TRANSPORT,
                    upg_failure("CLIENT:DATABASE", "%s --version did not say its version: %s", tool, line));
  return 0;
}

/* KEY='VALUE' at OUT, VALUE's \ and ' escaped; returns the end. */
static char *
put_value(char *out, const char *key, const char *value)
{
  out += sprintf(out, "%s='", key);
  for (const char *p = value; *p; p++) {
    if (*p == '\\' || *p == '\'')
      *out++ = '\\';
    *out++ = *p;
  }
  *out++ = '\'';
  *out = '\0';
  return out;
}

char *
upg_pg_conninfo(const char *dbname, const char *user)
{
  /* at worst every byte escaped, plus the keys, quotes and the space */
  size_t len = 2 * strlen(dbname) + (user ? 2 * strlen(user) : 0) + sizeof "dbname='' user=''";
  char *info = malloc(len);
  if (!info)
    return NULL;
  char *end = put_value(info, "dbname", dbname);
  if (user) {
    *end++ = ' ';
    put_value(end, "user", user);
  }
  return info;
}

int
upg_pg_default_jobs(void)
{
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  return cpus < 1 ? 1 : cpus > 4 ? 4 : (int)cpus;
}
