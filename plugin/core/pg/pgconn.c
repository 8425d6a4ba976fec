/* SPDX-License-Identifier: GPL-3.0-or-later */
/* pgconn.c -- libpq control work for dump and restore (see pgconn.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "upgrade/outcome.h"
#include "upgrade/pgconn.h"

/* libpq's messages end with a newline, and some go on on a line indented
 * with a tab ("... failed: Connection refused\n\tIs the server running
 * ..."); ours are one line: each run of blanks that holds a line break or
 * a tab becomes one space (none at either end), so that stderr shows
 * whitespace, not an escaped \t. */
static void
one_line(char *buf, size_t len, const char *text)
{
  size_t o = 0;
  const char *p = text ? text : "";
  while (*p && o + 1 < len) {
    size_t blank = strspn(p, " \t\r\n");
    if (blank && strcspn(p, "\t\r\n") < blank) {
      p += blank;
      if (o && *p)
        buf[o++] = ' ';
      continue;
    }
    buf[o++] = *p++;
  }
  buf[o] = '\0';
}

static void
ignore_notice(void *arg, const char *message)
{
  (void)arg;
  (void)message;
}

/* A connection failure on the user's side: the database or role does not
 * exist, or the password was refused (libpq gives no SQLSTATE here). */
static int
user_side(PGconn *c, const char *message)
{
  return PQconnectionNeedsPassword(c) || strstr(message, "does not exist")
      || strstr(message, "authentication failed") || strstr(message, "password")
      || strstr(message, "no pg_hba.conf entry");
}

/* expand_dbname 0: DBNAME is only ever a name.  OPTIONS: the start-up
 * packet's, or NULL (then the environment's PGOPTIONS). */
static PGconn *
connect_to(const char *dbname, const char *options)
{
  const char *keys[] = { "dbname", "fallback_application_name", options ? "options" : NULL, NULL };
  const char *values[] = { dbname, "upgrade", options, NULL };
  return PQconnectdbParams(keys, values, 0);
}

static PGconn *
connect_with(const char *dbname, const char *options, int *status, jv *doc)
{
  PGconn *c = connect_to(dbname ? dbname : "postgres", options);
  if (!dbname && c && PQstatus(c) != CONNECTION_OK && strstr(PQerrorMessage(c), "does not exist")) {
    PQfinish(c);
    c = connect_to("template1", options);
  }
  if (c && PQstatus(c) == CONNECTION_OK) {
    PQsetNoticeProcessor(c, ignore_notice, NULL);
    return c;
  }
  char msg[768];
  one_line(msg, sizeof msg, c ? PQerrorMessage(c) : "out of memory");
  *status = c && user_side(c, msg) ? 2 : 3;
  *doc = JV_OBJECT(jv_string("failures"),
                   JV_ARRAY(upg_failure("CLIENT:DATABASE", "cannot connect to database %s: %s",
                                        dbname ? dbname : "postgres", msg)));
  PQfinish(c);
  return NULL;
}

PGconn *
upg_pg_connect(const char *dbname, int *status, jv *doc)
{
  return connect_with(dbname, NULL, status, doc);
}

PGconn *
upg_pg_connect_catalog(const char *dbname, int *status, jv *doc)
{
  return connect_with(dbname, "-c search_path=pg_catalog,pg_temp", status, doc);
}

void
upg_pg_server_version(PGconn *c, char *buf, size_t len)
{
  const char *v = PQparameterStatus(c, "server_version");
  snprintf(buf, len, "%s", v ? v : "");
  buf[strcspn(buf, " ")] = '\0';
}

/* WHAT failed (R's error, else the connection's): STATUS with *doc. */
static int
sql_failure_as(PGconn *c, PGresult *r, jv *doc, const char *what, int status)
{
  char msg[768];
  one_line(msg, sizeof msg, r ? PQresultErrorMessage(r) : PQerrorMessage(c));
  PQclear(r);
  return upg_fail(doc, status, upg_failure("CLIENT:DATABASE", "%s: %s", what, msg));
}

static int
sql_failure(PGconn *c, PGresult *r, jv *doc, const char *what)
{
  return sql_failure_as(c, r, doc, what, UPG_EXIT_TRANSPORT);
}

/* Column COL of R's first row (malloc'd), NULL when absent or NULL. */
static char *
value_of(PGresult *r, int col)
{
  return PQntuples(r) > 0 && !PQgetisnull(r, 0, col) ? strdup(PQgetvalue(r, 0, col)) : NULL;
}

int
upg_pg_db_exists(PGconn *c, const char *name, char **comment, jv *doc)
{
  return upg_pg_db_lookup(c, name, comment, NULL, doc);
}

int
upg_pg_db_lookup(PGconn *c, const char *name, char **comment, char **owner, jv *doc)
{
  const char *params[] = { name };
  PGresult *r = PQexecParams(c, "SELECT pg_catalog.shobj_description(oid, 'pg_database'), "
                                "pg_catalog.pg_get_userbyid(datdba) FROM pg_catalog.pg_database "
                                "WHERE datname = $1", 1, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    sql_failure(c, r, doc, "cannot list the databases");
    return -1;
  }
  int found = PQntuples(r) > 0;
  if (comment)
    *comment = value_of(r, 0);
  if (owner)
    *owner = value_of(r, 1);
  PQclear(r);
  return found;
}

/* SQL with NAME as $1, answering one row: its first value (*R holds it:
 * PQclear it), or NULL with *doc set (WHAT failed). */
static const char *
query_value(PGconn *c, const char *sql, const char *name, const char *what, PGresult **r, jv *doc)
{
  const char *params[] = { name };
  *r = PQexecParams(c, sql, 1, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(*r) == PGRES_TUPLES_OK && PQntuples(*r) == 1)
    return PQgetvalue(*r, 0, 0);
  sql_failure(c, *r, doc, what);
  *r = NULL;
  return NULL;
}

int
upg_pg_db_sessions(PGconn *c, const char *name, jv *doc)
{
  PGresult *r;
  const char *v = query_value(c, "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 "
                              "AND pid <> pg_backend_pid()", name, "cannot list the sessions", &r, doc);
  int n = v ? atoi(v) : -1;
  PQclear(r);
  return n;
}

/* The class of our advisory locks (the first key): "upgr". */
#define CLAIM_CLASS "1970300786"

int
upg_pg_db_claim(PGconn *c, const char *name, jv *doc)
{
  PGresult *r;
  const char *v = query_value(c, "SELECT pg_try_advisory_lock(" CLAIM_CLASS ", hashtext($1))", name,
                           "cannot take the restore's lock", &r, doc);
  int got = v ? strcmp(v, "t") == 0 : -1;
  PQclear(r);
  return got;
}

/* Tenths of a second upg_pg_db_terminate waits for the sessions to go. */
#define TERMINATE_WAIT 50

int
upg_pg_db_terminate(PGconn *c, const char *name, jv *doc)
{
  const char *params[] = { name };
  PGresult *r = PQexecParams(c, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                "WHERE datname = $1 AND pid <> pg_backend_pid()", 1, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    /* 42501: a session of a role ours may not signal (a superuser's) */
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    int denied = state && strcmp(state, "42501") == 0;
    return sql_failure_as(c, r, doc, "cannot end the sessions of the temporary database",
                          denied ? UPG_EXIT_USAGE : UPG_EXIT_TRANSPORT);
  }
  PQclear(r);
  /* A backend ends at its next check for interrupts: soon, not at once. */
  for (int waited = 0;; waited++) {
    int left = upg_pg_db_sessions(c, name, doc);
    if (left <= 0)
      return left < 0 ? UPG_EXIT_TRANSPORT : 0;
    if (waited >= TERMINATE_WAIT)
      return upg_fail(doc, UPG_EXIT_USAGE,
                      upg_failure("CLIENT:DATABASE", "%s still has %d session%s %d s after they were told to end",
                                  name, left, left == 1 ? "" : "s", TERMINATE_WAIT / 10));
    struct timespec ts = { 0, 100 * 1000000L };
    nanosleep(&ts, NULL);
  }
}

enum arg_kind { ARG_NONE, ARG_IDENT, ARG_LITERAL /* NULL: the word NULL */ };

/* Run HEAD, NAME quoted as an identifier, MID, then ARG quoted as KIND. */
static int
exec_on(PGconn *c, const char *head, const char *name, const char *mid, enum arg_kind kind,
        const char *arg, const char *what, jv *doc)
{
  char *ident = PQescapeIdentifier(c, name, strlen(name));
  char *quoted = kind == ARG_IDENT ? PQescapeIdentifier(c, arg, strlen(arg))
               : kind == ARG_LITERAL && arg ? PQescapeLiteral(c, arg, strlen(arg)) : NULL;
  const char *tail = quoted ? quoted : kind == ARG_LITERAL ? "NULL" : "";
  size_t len = strlen(head) + (ident ? strlen(ident) : 0) + strlen(mid) + strlen(tail) + 1;
  char *sql = ident && (quoted || kind == ARG_NONE || !arg) ? malloc(len) : NULL;
  if (sql)
    snprintf(sql, len, "%s%s%s%s", head, ident, mid, tail);
  PQfreemem(ident);
  PQfreemem(quoted);
  if (!sql)
    return sql_failure(c, NULL, doc, what);
  PGresult *r = PQexec(c, sql);
  free(sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK)
    return sql_failure(c, r, doc, what);
  PQclear(r);
  return 0;
}

int
upg_pg_db_create(PGconn *c, const char *name, const char *owner, const char *mark, jv *doc)
{
  int status = exec_on(c, "CREATE DATABASE ", name, " ENCODING 'UTF8' LC_COLLATE 'C' TEMPLATE template0 OWNER ",
                       ARG_IDENT, owner, "cannot create the database", doc);
  return status ? status : upg_pg_db_comment(c, name, mark, doc);
}

int
upg_pg_db_hand_over(PGconn *c, const char *name, const char *from, const char *to, jv *doc)
{
  int status;
  if ((status = exec_on(c, "REASSIGN OWNED BY ", from, " TO ", ARG_IDENT, to,
                        "cannot hand the restored database's objects over", doc))
      || (status = exec_on(c, "DROP OWNED BY ", from, "", ARG_NONE, NULL, "cannot revoke the restore role's grants",
                           doc))
      || (status = exec_on(c, "ALTER DATABASE ", name, " OWNER TO ", ARG_IDENT, to,
                           "cannot hand the restored database over", doc)))
    return status;
  return exec_on(c, "ALTER DATABASE ", name, " RESET ALL", ARG_NONE, NULL,
                 "cannot reset the restored database's settings", doc);
}

int
upg_pg_db_comment(PGconn *c, const char *name, const char *text, jv *doc)
{
  return exec_on(c, "COMMENT ON DATABASE ", name, " IS ", ARG_LITERAL, text, "cannot comment on the database", doc);
}

int
upg_pg_db_rename(PGconn *c, const char *from, const char *to, jv *doc)
{
  /* The children's sessions, and the load check's, may still be closing
   * (55006 object in use): a backend ends within milliseconds of its
   * client, so look again soon, for 5 s in all. */
  for (int attempt = 0;; attempt++) {
    jv err = jv_invalid();
    int status = exec_on(c, "ALTER DATABASE ", from, " RENAME TO ", ARG_IDENT, to,
                         "cannot rename the database", &err);
    if (!status || attempt >= 500) {
      if (status)
        *doc = err;
      else
        jv_free(err);
      return status;
    }
    jv_free(err);
    struct timespec ts = { 0, 10 * 1000000L };
    nanosleep(&ts, NULL);
  }
}

int
upg_pg_db_drop(PGconn *c, const char *name, jv *doc)
{
  const char *force = PQserverVersion(c) >= 130000 ? " WITH (FORCE)" : "";
  return exec_on(c, "DROP DATABASE ", name, force, ARG_NONE, NULL, "cannot drop the database", doc);
}

int
upg_pg_stored_files(PGconn *c, PGresult **r, jv *doc)
{
  PGresult *res = PQexec(c, "SELECT pg_catalog.to_regclass('public.ir_attachment') IS NOT NULL");
  if (PQresultStatus(res) != PGRES_TUPLES_OK)
    return sql_failure(c, res, doc, "cannot look for ir_attachment");
  bool odoo = PQntuples(res) > 0 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
  PQclear(res);
  /* Not an Odoo database: no row, as an empty table would answer. */
  res = PQexec(c, odoo ? "SELECT DISTINCT store_fname FROM public.ir_attachment "
                         "WHERE store_fname IS NOT NULL AND store_fname OPERATOR(pg_catalog.<>) ''"
                       : "SELECT NULL::pg_catalog.text WHERE false");
  if (PQresultStatus(res) != PGRES_TUPLES_OK)
    return sql_failure(c, res, doc, "cannot read ir_attachment");
  *r = res;
  return 0;
}
