/* pgconn.h -- the control work of dump and restore, through libpq.
 *
 * Connections take everything from libpq's environment (PGHOST, PGPORT,
 * PGUSER, PGPASSWORD, ~/.pgpass, PGSERVICE…); only the database name is
 * ours.  Identifiers and literals are quoted by libpq
 * (PQescapeIdentifier / PQescapeLiteral), never by hand.
 *
 * Failures are CLIENT:DATABASE: exit 2 when the cause is on the user's side
 * (no such database, authentication refused), 3 when the server could not
 * be reached or failed.
 */
#ifndef UPGRADE_PGCONN_H
#define UPGRADE_PGCONN_H

#include <libpq-fe.h>
#include <jv.h>

/* Connect to DBNAME; NULL DBNAME: the maintenance database ("postgres",
 * else "template1").  NULL with *status and *doc set on failure. */
PGconn *upg_pg_connect(const char *dbname, int *status, jv *doc);

/* The same with libpq's OPTIONS: settings sent at start-up ("-c
 * search_path=pg_catalog,pg_temp"), which win over the database's own
 * ALTER DATABASE … SET.  DBNAME is a name, never read as a conninfo. */
PGconn *upg_pg_connect_options(const char *dbname, const char *options, int *status, jv *doc);

/* "15.18": the server's version without its distributor's suffix, into BUF. */
void upg_pg_server_version(PGconn *c, char *buf, size_t len);

/* Whether database NAME exists: 1 (with its comment in *comment, malloc'd,
 * NULL when none, if COMMENT is not NULL), 0, or -1 with *doc set. */
int upg_pg_db_exists(PGconn *c, const char *name, char **comment, jv *doc);

/* How many sessions (other than ours) are connected to database NAME, or
 * -1 with *doc set. */
int upg_pg_db_sessions(PGconn *c, const char *name, jv *doc);

/* CREATE DATABASE NAME (UTF8, C collation, from template0, as Odoo makes
 * them) then COMMENT ON DATABASE NAME IS MARK.  0 or status with *doc. */
int upg_pg_db_create(PGconn *c, const char *name, const char *mark, jv *doc);
/* COMMENT ON DATABASE NAME IS TEXT (NULL: removes it). */
int upg_pg_db_comment(PGconn *c, const char *name, const char *text, jv *doc);
/* ALTER DATABASE FROM RENAME TO TO, retried for a few seconds while the
 * restore's last sessions are still closing. */
int upg_pg_db_rename(PGconn *c, const char *from, const char *to, jv *doc);
/* DROP DATABASE NAME (WITH (FORCE) from PostgreSQL 13).  Only ever called
 * on a database this program made and marked. */
int upg_pg_db_drop(PGconn *c, const char *name, jv *doc);

#endif
