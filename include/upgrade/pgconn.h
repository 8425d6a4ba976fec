/* SPDX-License-Identifier: GPL-3.0-or-later */
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

/* The same, as a connection that can only run our fixed statements in a
 * database whose content is not ours: its search_path is pg_catalog,
 * pg_temp from start-up (the start-up packet's options), so that nothing
 * the database's owner set (ALTER DATABASE ... SET search_path) decides
 * which function a name means. */
PGconn *upg_pg_connect_catalog(const char *dbname, int *status, jv *doc);

/* "15.18": the server's version without its distributor's suffix, into BUF. */
void upg_pg_server_version(PGconn *c, char *buf, size_t len);

/* Whether database NAME exists: 1 (with its comment in *comment, malloc'd,
 * NULL when none, if COMMENT is not NULL), 0, or -1 with *doc set. */
int upg_pg_db_exists(PGconn *c, const char *name, char **comment, jv *doc);

/* The same, with the name of its owner in *owner (malloc'd; NULL when
 * not found) too. */
int upg_pg_db_lookup(PGconn *c, const char *name, char **comment, char **owner, jv *doc);

/* How many sessions (other than ours) are connected to database NAME, or
 * -1 with *doc set. */
int upg_pg_db_sessions(PGconn *c, const char *name, jv *doc);

/* Claim NAME for this connection's session: a session-level advisory lock
 * (class "upgr", key hashtext(NAME)), released when the connection closes
 * -- also when the process holding it is killed.  1 claimed, 0 another
 * session holds it, -1 with *doc set. */
int upg_pg_db_claim(PGconn *c, const char *name, jv *doc);

/* End every session (other than ours) connected to database NAME, and only
 * those, with pg_terminate_backend, then wait until they are gone, at most
 * 5 s.  Only for a database this program made and marked, whose sessions
 * are a dead run's.  0, or a status with *doc: 2 when a session may not be
 * ended by our role or outlives the wait, 3 when the server failed. */
int upg_pg_db_terminate(PGconn *c, const char *name, jv *doc);

/* CREATE DATABASE NAME OWNER OWNER (UTF8, C collation, from template0,
 * as Odoo makes them) then COMMENT ON DATABASE NAME IS MARK.  0 or status
 * with *doc. */
int upg_pg_db_create(PGconn *c, const char *name, const char *owner, const char *mark, jv *doc);
/* On C, a connection to database NAME (upg_pg_connect_catalog): REASSIGN
 * OWNED BY FROM TO TO, DROP OWNED BY FROM (what FROM was granted there),
 * ALTER DATABASE NAME OWNER TO TO, and RESET ALL of NAME's own settings
 * (the loaded content could have set them for every later session).  The
 * caller made sure FROM owns no other database: REASSIGN OWNED moves them
 * all.  0 or status with *doc. */
int upg_pg_db_hand_over(PGconn *c, const char *name, const char *from, const char *to, jv *doc);
/* COMMENT ON DATABASE NAME IS TEXT (NULL: removes it). */
int upg_pg_db_comment(PGconn *c, const char *name, const char *text, jv *doc);
/* ALTER DATABASE FROM RENAME TO TO, retried for a few seconds while the
 * restore's last sessions are still closing. */
int upg_pg_db_rename(PGconn *c, const char *from, const char *to, jv *doc);
/* DROP DATABASE NAME (WITH (FORCE) from PostgreSQL 13).  Only ever called
 * on a database this program made and marked. */
int upg_pg_db_drop(PGconn *c, const char *name, jv *doc);

/* On C (upg_pg_connect_catalog to an Odoo database): the distinct
 * store_fname of its ir_attachment rows that keep their data in the
 * filestore, one per row of *R (PQclear it); no row when the database has
 * no public.ir_attachment.  0, or status with *doc (*R cleared). */
int upg_pg_stored_files(PGconn *c, PGresult **r, jv *doc);

#endif
