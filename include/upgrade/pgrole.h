/* SPDX-License-Identifier: GPL-3.0-or-later */
/* pgrole.h -- the role that loads the platform's dump (pgrole.c).
 *
 * What the platform sends back is run, not read: a plain dump's
 * statements and a custom dump's functions (a CHECK constraint's, a
 * trigger's) run with the rights of the role that loads it, and nothing
 * inside the session (SET ROLE, --single-transaction) contains them.  So
 * the load connects as a role of its own, the LOAD role, whose rights are
 * the boundary: it must not be a superuser, have CREATEROLE (before
 * PostgreSQL 16 it could grant itself pg_execute_server_program), hold
 * pg_execute_server_program / pg_read_server_files /
 * pg_write_server_files, or own any database but the restore's temporary
 * one -- directly or through a role it is a member of.
 *
 * Every check runs on the CONTROL connection (libpq's usual one), names
 * passed as parameters.  Failures: exit 2, CLIENT:DATABASE, naming what is
 * wrong and what to do (--restore-role, UPGRADE_RESTORE_ROLE,
 * --trust-dump); 3 when the server failed.
 */
#ifndef UPGRADE_PGROLE_H
#define UPGRADE_PGROLE_H

#include <libpq-fe.h>
#include <jv.h>

/* The roles of a restore on control connection C: *load = GIVEN, or C's
 * session_user when GIVEN is NULL; *control = C's current_user (the role
 * that owns what C creates).  Both malloc'd.  0 or status with *doc. */
int upg_pg_roles(PGconn *c, const char *given, char **load, char **control, jv *doc);

/* Whether C's role CONTROL can make a database OWNER LOAD and take it
 * back (REASSIGN OWNED): it is LOAD, or a superuser, or a member of LOAD.
 * Checked also with --trust-dump: otherwise CREATE DATABASE would fail
 * with a message that does not say what to do.  0 or status with *doc
 * (exit 2 naming the GRANT to make). */
int upg_pg_role_control(PGconn *c, const char *control, const char *load, jv *doc);

/* Whether LOAD may load an untrusted dump (see above); EXCEPT_DB is the
 * one database it may own (the restore's temporary one, whose mark and
 * owner the restore checks itself).  0 or status with *doc. */
int upg_pg_role_check(PGconn *c, const char *load, const char *except_db, jv *doc);

/* The part of upg_pg_role_check that the hand-over needs even with
 * --trust-dump: LOAD owns no database but EXCEPT_DB (REASSIGN OWNED BY
 * LOAD would give the control role every one of them). */
int upg_pg_role_owns_only(PGconn *c, const char *load, const char *except_db, jv *doc);

/* On C, a connection to the loaded database: no SECURITY DEFINER function
 * is owned by LOAD.  Handed over to the control role (a superuser, often),
 * such a function would run with its rights for whoever calls it -- the
 * load role included.  0, or exit 3 with *doc naming them. */
int upg_pg_role_no_definers(PGconn *c, const char *load, jv *doc);

#endif
