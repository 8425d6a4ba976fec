/* pgconn.c -- libpq control work for dump and restore (see pgconn.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "upgrade/outcome.h"
#include "upgrade/pgconn.h"

/* libpq's messages end with a newline; ours are one line. */
static void
one_line(char *buf, size_t len, const char *text)
{
  snprintf(buf, len, "%s", text ? text : "");
  for (char *p = buf; *p; p++)
    if (*p == '\n' || *p == '\r')
      *p = (p[1] ? ' ' : '\0');
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

static PGconn *
connect_to(const char *dbname, const char *options)
{
  const char *keys[] = { "dbname", "fallback_application_name", options ? "options" : NULL, NULL };
  const char *values[] = { dbname, "upgrade", options, NULL };
  return PQconnectdbParams(keys, values, 0);
}

PGconn *
upg_pg_connect(const char *dbname, int *status, jv *doc)
{
  return upg_pg_connect_options(dbname, NULL, status, doc);
}

PGconn *
upg_pg_connect_options(const char *dbname, const char *options, int *status, jv *doc)
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

void
upg_pg_server_version(PGconn *c, char *buf, size_t len)
{
  const char *v = PQparameterStatus(c, "server_version");
  snprintf(buf, len, "%s", v ? v : "");
  buf[strcspn(buf, " ")] = '\0';
}

static int
sql_failure(PGconn *c, PGresult *r, jv *doc, const char *what)
{
  char msg[768];
  one_line(msg, sizeof msg, r ? PQresultErrorMessage(r) : PQerrorMessage(c));
  PQclear(r);
  return upg_fail(doc, 3, upg_failure("CLIENT:DATABASE", "%s: %s", what, msg));
}

int
upg_pg_db_exists(PGconn *c, const char *name, char **comment, jv *doc)
{
  const char *params[] = { name };
  PGresult *r = PQexecParams(c, "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                                "WHERE datname = $1", 1, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    sql_failure(c, r, doc, "cannot list the databases");
    return -1;
  }
  int found = PQntuples(r) > 0;
  if (comment)
    *comment = found && !PQgetisnull(r, 0, 0) ? strdup(PQgetvalue(r, 0, 0)) : NULL;
  PQclear(r);
  return found;
}

int
upg_pg_db_sessions(PGconn *c, const char *name, jv *doc)
{
  const char *params[] = { name };
  PGresult *r = PQexecParams(c, "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 "
                                "AND pid <> pg_backend_pid()", 1, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    sql_failure(c, r, doc, "cannot list the sessions");
    return -1;
  }
  int n = atoi(PQgetvalue(r, 0, 0));
  PQclear(r);
  return n;
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
upg_pg_db_create(PGconn *c, const char *name, const char *mark, jv *doc)
{
  int status = exec_on(c, "CREATE DATABASE ", name, " ENCODING 'UTF8' LC_COLLATE 'C' TEMPLATE template0",
                       ARG_NONE, NULL, "cannot create the database", doc);
  return status ? status : upg_pg_db_comment(c, name, mark, doc);
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
