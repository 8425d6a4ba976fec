/* SPDX-License-Identifier: GPL-3.0-or-later */
/* run_rpc.h -- the rpc dialect's ends of `upgrade run` (run_rpc.c): what
 * run does differently when the platform speaks rpc (platform-rpc.md §3,
 * §4), the steps themselves being the platform's (platform.h).
 *
 *   - the dump may be a directory-format dump (run --database makes one:
 *     pg_dump -Fd -j N); it is locked as a file dump is (flock on the
 *     directory itself);
 *   - create binds the request to a key pair that run makes beside the job
 *     record (DUMP.upgrade.key and .pub, 0600: runstate.h), unless
 *     --identity names one; the record keeps the token (a secret: cut out
 *     of every line for a human), the node and the key's path;
 *   - the download is a directory (the upgraded dump, filestore/,
 *     upgrade-report.html, upgrade.log), beside the dump by default;
 *   - a request the platform reports archived cannot be continued: exit 1,
 *     SERVER:ARCHIVED, the record closed.
 */
#ifndef UPGRADE_RUN_RPC_H
#define UPGRADE_RUN_RPC_H

#include <jv.h>

#include "upgrade/runstate.h"
#include "upgrade/settings.h"

/* The job's download directory (malloc'd, absolute): OUTPUT when given
 * (relative to the current directory), else beside DUMP (DIR its
 * directory, resolved): DIR/upgraded_NEW for a job that restores into NEW, else
 * DIR/upgraded_STEM, STEM being DUMP's base name less its .dump, .sql,
 * .sql.gz or .zip.  NULL when out of memory or the current directory is
 * unknown. */
char *upg_run_rpc_output(const char *dump, const char *output, const char *restore_as);

/* Open DUMP, a directory-format dump (a directory holding toc.dat), for
 * the job's lock (O_RDONLY | O_DIRECTORY | O_CLOEXEC, into *fd).  0, or
 * exit 2 CLIENT:FILE with *doc set. */
int upg_run_rpc_open_directory(const char *dump, int *fd, jv *doc);

/* The size of DUMP for the upload's line: a file's, or the sum of a
 * directory's files (one level: a directory dump is flat). */
long long upg_run_rpc_dump_size(const char *dump);

/* create under rpc with what RS records: the key pair is --identity's
 * (S's identity), else one made at upg_runstate_key_path(DUMP) (removed
 * again when create fails).  On success RS holds the request's id, token,
 * node and key path, the token is a secret of S, and S names the request
 * (token, node, identity borrowed from RS).  0, or an exit status with
 * *doc set. */
int upg_run_rpc_create(upg_settings *s, upg_runstate *rs, const char *dump, jv *doc);

/* S names RS's request: token (a secret), node, identity, dialect. */
void upg_run_rpc_name(upg_settings *s, const upg_runstate *rs);

/* A status document of a request to be continued: when the platform says
 * it is archived, exit 1 with *doc a failure (SERVER:ARCHIVED: it cannot
 * be continued; a new `upgrade run` starts another); else 0 (*doc
 * untouched).  STATUS_DOC is borrowed. */
int upg_run_rpc_archived(jv status_doc, jv *doc);

/* Whether process's document says the PostgreSQL versions do not fit
 * (is_pg_version_compatible false).  Borrowed. */
bool upg_run_rpc_incompatible(jv process_doc);

/* --remove-dumps once restored: DUMP (a file or a directory dump) and
 * everything in the download directory OUTPUT but the report and the log
 * (upgrade-report.html, upgrade.log: what the document's "files" names
 * stays).  Each removal, or why it failed, is a notice; nothing follows a
 * link. */
void upg_run_rpc_remove_dumps(const upg_settings *s, const char *dump, const char *output);

/* The files of the download directory OUTPUT for the job's document:
 * {"directory", "report", "log"}, each a path, or null when it is not
 * there. */
jv upg_run_rpc_files(const char *output);

#endif
