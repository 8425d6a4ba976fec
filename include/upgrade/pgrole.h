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

/* Whether LOAD may load an untrusted dump (see above); EXCEPT_DB is the
 * one database it may own (the restore's temporary one, whose mark and
 * owner the restore checks itself).  0 or status with *doc. */
int upg_pg_role_check(PGconn *c, const char *load, const char *except_db, jv *doc);

#endif
