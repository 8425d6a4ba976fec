/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: the conninfo string that gives PostgreSQL's programs a name
 * as a name (plugin/core/pg/pgtool.c). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "tap.h"
#include "upgrade/pgtool.h"

/* What libpq reads back from INFO as KEY's value (malloc'd), or NULL. */
static char *
parsed(const char *info, const char *key)
{
  char *err = NULL;
  PQconninfoOption *opts = PQconninfoParse(info, &err);
  PQfreemem(err);
  char *value = NULL;
  for (PQconninfoOption *o = opts; o && o->keyword; o++)
    if (strcmp(o->keyword, key) == 0 && o->val)
      value = strdup(o->val);
  PQconninfoFree(opts);
  return value;
}

/* NAME, given as a database name, is read back by libpq as exactly NAME. */
static void
round_trip(const char *name, const char *user)
{
  char *info = upg_pg_conninfo(name, user);
  char *db = parsed(info, "dbname");
  char *u = parsed(info, "user");
  ok(db && strcmp(db, name) == 0 && (user ? u && strcmp(u, user) == 0 : !u), "[%s] as [%s] comes back as itself",
     name, user ? user : "");
  free(info);
  free(db);
  free(u);
}

int
main(void)
{
  char *info = upg_pg_conninfo("prod", NULL);
  is_str(info, "dbname='prod'", "a plain name, quoted");
  free(info);
  info = upg_pg_conninfo("it's\\x", "upgrade_restore");
  is_str(info, "dbname='it\\'s\\\\x' user='upgrade_restore'", "quote and backslash escaped; the user after it");
  free(info);
  round_trip("dbname=prod application_name=", NULL);
  round_trip("postgresql://host/prod", NULL);
  round_trip("a' host='evil", "r' dbname='prod");
  round_trip("\\'\\\\", "x");
  round_trip("", NULL);
  round_trip("d\xc3\xa9j\xc3\xa0 vu", NULL);
  return tap_done();
}
