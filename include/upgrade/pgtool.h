/* SPDX-License-Identifier: GPL-3.0-or-later */
/* pgtool.h -- PostgreSQL's programs (pg_dump, pg_restore, psql) as dump
 * and restore use them: whether they are there, and which version. */
#ifndef UPGRADE_PGTOOL_H
#define UPGRADE_PGTOOL_H

#include <jv.h>

#include "upgrade/settings.h"

/* The failure of a TOOL that could not be started (ERR from the spawn):
 * exit 2, CLIENT:DATABASE, naming the package to install. */
int upg_pg_tool_missing(const char *tool, int err, jv *doc);

/* TOOL --version: its major version in *major, and the whole line in
 * LINE.  0, or an exit status with *doc set. */
int upg_pg_tool_version(const upg_settings *s, const char *tool, int *major, char *line,
                        size_t len, jv *doc);

/* The conninfo string that names database DBNAME, and role USER when not
 * NULL, to psql, pg_restore or pg_dump: "dbname='DBNAME' user='USER'",
 * each value in single quotes with its \ and ' backslash-escaped, as
 * libpq's conninfo syntax wants.  A bare name holding '=' or starting
 * with "postgresql://" would be read as a connection string itself: a
 * name given this way is only ever a name.  Malloc'd; NULL when out of
 * memory. */
char *upg_pg_conninfo(const char *dbname, const char *user);

/* The --jobs of a directory dump or restore when none is given: the
 * online CPUs, at most 4 (the platform's script's -j), at least 1. */
int upg_pg_default_jobs(void);

#endif
