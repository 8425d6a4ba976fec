/* SPDX-License-Identifier: GPL-3.0-or-later */
/* pgrole.c -- the load role's rights, checked before a restore (pgrole.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upgrade/outcome.h"
#include "upgrade/pgrole.h"

#define WHAT_TO_DO "the dump the platform sends back runs with the rights of the role that loads it: " \
  "name a role made for restores with --restore-role ROLE or UPGRADE_RESTORE_ROLE (e.g. `createuser " \
  "upgrade_restore`; it needs no right of its own), or accept the risk with --trust-dump"

static int
refuse(jv *doc, const char *role, const char *why, const char *other)
{
  return upg_fail(doc, 2, upg_failure("CLIENT:DATABASE", "role %s %s%s: %s", role, why, other ? other : "",
                                      WHAT_TO_DO));
}

/* SQL with parameters PARAMS (N of them) on C: its rows, or NULL with
 * *doc set (exit 3). */
static PGresult *
query(PGconn *c, const char *sql, int n, const char *const *params, jv *doc)
{
  PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(r) == PGRES_TUPLES_OK)
    return r;
  const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c);
  *doc = JV_OBJECT(jv_string("failures"),
                   JV_ARRAY(upg_failure("CLIENT:DATABASE", "cannot read the roles: %.*s",
                                        (int)strcspn(msg, "\n"), msg)));
  PQclear(r);
  return NULL;
}

int
upg_pg_roles(PGconn *c, const char *given, char **load, char **control, jv *doc)
{
  PGresult *r = query(c, "SELECT session_user, current_user", 0, NULL, doc);
  if (!r)
    return 3;
  *load = strdup(given ? given : PQgetvalue(r, 0, 0));
  *control = strdup(PQgetvalue(r, 0, 1));
  PQclear(r);
  if (*load && *control)
    return 0;
  free(*load);
  free(*control);
  *load = *control = NULL;
  return upg_fail(doc, 2, upg_failure("CLIENT:DATABASE", "out of memory"));
}

/* The role exists and can log in. */
static int
check_login(PGconn *c, const char *load, jv *doc)
{
  const char *params[] = { load };
  PGresult *r = query(c, "SELECT rolcanlogin FROM pg_catalog.pg_roles WHERE rolname = $1", 1, params, doc);
  if (!r)
    return 3;
  int rows = PQntuples(r);
  int login = rows && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
  PQclear(r);
  if (!rows)
    return refuse(doc, load, "does not exist", NULL);
  return login ? 0 : refuse(doc, load, "cannot log in", NULL);
}

/* No superuser, CREATEROLE or server-file role among the roles LOAD is a
 * member of (itself first: a superuser is a member of every role). */
static int
check_rights(PGconn *c, const char *load, jv *doc)
{
  const char *params[] = { load };
  PGresult *r = query(c, "SELECT r.rolname, r.rolsuper, r.rolcreaterole FROM pg_catalog.pg_roles r "
                         "WHERE pg_catalog.pg_has_role($1, r.oid, 'MEMBER') AND (r.rolsuper OR r.rolcreaterole "
                         "OR r.rolname IN ('pg_execute_server_program', 'pg_read_server_files', "
                         "'pg_write_server_files')) ORDER BY r.rolname <> $1, r.rolname LIMIT 1", 1, params, doc);
  if (!r)
    return 3;
  if (!PQntuples(r)) {
    PQclear(r);
    return 0;
  }
  const char *name = PQgetvalue(r, 0, 0);
  const char *why = *PQgetvalue(r, 0, 1) == 't' ? "is a superuser" : *PQgetvalue(r, 0, 2) == 't'
                    ? "has CREATEROLE" : "may read, write or run files of the server";
  char other[256] = "";
  if (strcmp(name, load) != 0)
    snprintf(other, sizeof other, " (through its membership of %s)", name);
  int status = refuse(doc, load, why, other);
  PQclear(r);
  return status;
}

/* No database owned by LOAD or a role it is a member of, but EXCEPT_DB:
 * after a COMMIT that ends psql's transaction, the dump could drop or
 * alter any of them. */
static int
check_owned(PGconn *c, const char *load, const char *except_db, jv *doc)
{
  const char *params[] = { load, except_db ? except_db : "" };
  PGresult *r = query(c, "SELECT pg_catalog.string_agg(datname, ', ' ORDER BY datname) "
                         "FROM pg_catalog.pg_database WHERE pg_catalog.pg_has_role($1, datdba, 'MEMBER') "
                         "AND datname <> $2", 2, params, doc);
  if (!r)
    return 3;
  int status = PQgetisnull(r, 0, 0) ? 0 : refuse(doc, load, "owns the databases ", PQgetvalue(r, 0, 0));
  PQclear(r);
  return status;
}

int
upg_pg_role_owns_only(PGconn *c, const char *load, const char *except_db, jv *doc)
{
  return check_owned(c, load, except_db, doc);
}

int
upg_pg_role_no_definers(PGconn *c, const char *load, jv *doc)
{
  const char *params[] = { load };
  PGresult *r = query(c, "SELECT pg_catalog.string_agg(oid::pg_catalog.regprocedure::text, ', ') "
                         "FROM pg_catalog.pg_proc WHERE prosecdef AND proowner = "
                         "(SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1)", 1, params, doc);
  if (!r)
    return 3;
  int status = PQgetisnull(r, 0, 0) ? 0
             : upg_fail(doc, 3, upg_failure("CLIENT:DATABASE", "the dump made SECURITY DEFINER functions (%s): "
                                            "handed over to the connection's role they would run with its "
                                            "rights for whoever calls them; refusing the restore",
                                            PQgetvalue(r, 0, 0)));
  PQclear(r);
  return status;
}

int
upg_pg_role_control(PGconn *c, const char *control, const char *load, jv *doc)
{
  if (strcmp(control, load) == 0)
    return 0;
  int status = check_login(c, load, doc);
  if (status)
    return status;
  const char *params[] = { load };
  PGresult *r = query(c, "SELECT pg_catalog.pg_has_role(current_user, $1, 'MEMBER')", 1, params, doc);
  if (!r)
    return 3;
  int member = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
  PQclear(r);
  return member ? 0 : upg_fail(doc, 2, upg_failure("CLIENT:DATABASE", "role %s (the connection's) cannot make a "
                                                   "database owned by the restore role %s and take it back: "
                                                   "GRANT %s TO %s", control, load, load, control));
}

int
upg_pg_role_check(PGconn *c, const char *load, const char *except_db, jv *doc)
{
  int status;
  if ((status = check_login(c, load, doc)) || (status = check_rights(c, load, doc)))
    return status;
  return check_owned(c, load, except_db, doc);
}
